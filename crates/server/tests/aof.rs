//! The append-only file: what a restart loads, rewrites without fork, a truncated or corrupt
//! tail, runtime CONFIG SET appendonly, crash safety under `appendfsync always`, and AOF
//! directories exchanged with redis-server 7.0 in both directions.

mod common;

use std::path::Path;
use std::time::Duration;

use common::*;
use testkit::{wait_for, Conn, ServerProc};

fn manifest(p: &ServerProc) -> String {
    std::fs::read_to_string(p.dir.join("appendonlydir/appendonly.aof.manifest"))
        .unwrap_or_else(|e| panic!("no manifest: {e}\nlog:\n{}", p.log()))
}

fn digest(c: &mut Conn) -> String {
    c.text(&["DEBUG", "DIGEST"])
}

fn wait_rewrite_done(c: &mut Conn) {
    wait_for("the AOF rewrite to finish", T, || {
        field(c, "persistence", "aof_rewrite_in_progress") == "0"
            && field(c, "persistence", "aof_rewrite_scheduled") == "0"
    });
}

/// Keys of every type, with and without TTLs, in two databases, and a function library.
fn write_dataset(c: &mut Conn, tag: &str) {
    for i in 0..200 {
        let k = format!("{tag}:s:{i}");
        c.cmd(&["SET", &k, &format!("v{i}")]);
        if i % 3 == 0 {
            c.cmd(&["EXPIRE", &k, "1000"]);
        }
    }
    c.cmd(&["RPUSH", &format!("{tag}:l"), "a", "b", "c", "12345"]);
    c.cmd(&["SADD", &format!("{tag}:set"), "x", "y", "1", "2"]);
    c.cmd(&["ZADD", &format!("{tag}:z"), "1.5", "m1", "2", "m2"]);
    c.cmd(&["HSET", &format!("{tag}:h"), "f1", "v1", "f2", "v2"]);
    c.cmd(&["XADD", &format!("{tag}:x"), "1-1", "a", "1"]);
    c.cmd(&["XGROUP", "CREATE", &format!("{tag}:x"), "g", "0"]);
    c.cmd(&["INCRBY", &format!("{tag}:n"), "41"]);
    c.cmd(&["SELECT", "3"]);
    c.cmd(&["SET", &format!("{tag}:db3"), "three"]);
    c.cmd(&["MULTI"]);
    c.cmd(&["INCR", &format!("{tag}:db3:n")]);
    c.cmd(&["LPUSH", &format!("{tag}:db3:l"), "q"]);
    c.cmd(&["EXEC"]);
    c.cmd(&["SELECT", "0"]);
}

fn load_library(c: &mut Conn) {
    let r = c.cmd(&[
        "FUNCTION",
        "LOAD",
        "REPLACE",
        "#!lua name=aoflib\nserver.register_function('aofget', function(keys) return server.call('get', keys[1]) end)",
    ]);
    assert!(!r.is_error(), "{r:?}");
}

#[test]
fn a_restart_loads_what_was_appended_and_rewrites_keep_it() {
    let mut p = redwing(&["--appendonly", "yes"]);
    let mut c = p.conn();
    assert_eq!(
        manifest(&p),
        "file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n"
    );
    load_library(&mut c);
    write_dataset(&mut c, "a");
    let before = digest(&mut c);
    p.restart();
    let mut c = p.conn();
    assert_eq!(digest(&mut c), before, "after a restart from base + incr");
    assert_eq!(c.text(&["FCALL", "aofget", "1", "a:s:1"]), "v1");
    assert!(p.log().contains("DB loaded from append only file"));

    // A rewrite: a new base and a new incr; the old files are deleted.
    assert_eq!(
        c.text(&["BGREWRITEAOF"]),
        "Background append only file rewriting started"
    );
    c.cmd(&["SET", "after-rewrite-start", "1"]);
    wait_rewrite_done(&mut c);
    write_dataset(&mut c, "b");
    assert_eq!(
        manifest(&p),
        "file appendonly.aof.2.base.rdb seq 2 type b\nfile appendonly.aof.2.incr.aof seq 2 type i\n"
    );
    wait_for("the history files to be deleted", T, || {
        !p.dir
            .join("appendonlydir/appendonly.aof.1.incr.aof")
            .exists()
            && !p
                .dir
                .join("appendonlydir/appendonly.aof.1.base.rdb")
                .exists()
    });
    let before = digest(&mut c);
    assert_eq!(c.text(&["DEBUG", "LOADAOF"]), "OK");
    assert_eq!(digest(&mut c), before, "after DEBUG LOADAOF");
    p.restart();
    let mut c = p.conn();
    assert_eq!(
        digest(&mut c),
        before,
        "after a restart from the rewritten AOF"
    );
    assert_eq!(c.text(&["GET", "after-rewrite-start"]), "1");

    // Without the RDB preamble the base is commands (RESTORE per key), and loads the same.
    c.cmd(&["CONFIG", "SET", "aof-use-rdb-preamble", "no"]);
    c.cmd(&["BGREWRITEAOF"]);
    wait_rewrite_done(&mut c);
    assert!(manifest(&p).starts_with("file appendonly.aof.3.base.aof seq 3 type b\n"));
    p.restart();
    let mut c = p.conn();
    assert_eq!(
        digest(&mut c),
        before,
        "after a restart from a command base"
    );
}

#[test]
fn appendonly_turned_on_at_run_time_writes_a_base_first() {
    let mut p = redwing(&[]);
    let mut c = p.conn();
    write_dataset(&mut c, "r");
    assert_eq!(field(&mut c, "persistence", "aof_enabled"), "0");
    c.cmd(&["CONFIG", "SET", "appendonly", "yes"]);
    assert_eq!(field(&mut c, "persistence", "aof_enabled"), "1");
    wait_rewrite_done(&mut c);
    assert_eq!(
        manifest(&p),
        "file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n"
    );
    c.cmd(&["SET", "later", "x"]);
    let before = digest(&mut c);
    p.set_args(&["--appendonly", "yes"]);
    p.restart();
    let mut c = p.conn();
    assert_eq!(digest(&mut c), before);
    // Turned off: nothing more is appended; the files stay.
    c.cmd(&["CONFIG", "SET", "appendonly", "no"]);
    c.cmd(&["SET", "not-in-aof", "1"]);
    p.restart();
    let mut c = p.conn();
    assert_eq!(c.int(&["EXISTS", "not-in-aof"]), 0);
    assert_eq!(digest(&mut c), before);
}

fn incr_path(p: &ServerProc) -> std::path::PathBuf {
    let m = manifest(p);
    let line = m
        .lines()
        .rfind(|l| l.ends_with("type i"))
        .unwrap_or_else(|| panic!("no incr file in {m}"));
    let name = line.split(' ').nth(1).unwrap_or_default();
    p.dir.join("appendonlydir").join(name)
}

fn append(path: &Path, bytes: &[u8]) {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    f.write_all(bytes).expect("append to the AOF");
}

#[test]
fn a_truncated_tail_is_cut_and_corruption_in_the_middle_is_refused() {
    let mut p = redwing(&["--appendonly", "yes", "--appendfsync", "always"]);
    let mut c = p.conn();
    c.cmd(&["SET", "foo", "1"]);
    c.cmd(&["INCR", "foo"]);
    p.kill();
    let incr = incr_path(&p);
    let good_len = std::fs::metadata(&incr).map(|m| m.len()).unwrap_or(0);
    // Half a command, then an unfinished MULTI: both are a truncated tail.
    append(&incr, b"*2\r\n$4\r\nINCR\r\n$3\r\nfo");
    p.restart();
    let mut c = p.conn();
    assert_eq!(c.text(&["GET", "foo"]), "2");
    assert!(p
        .log()
        .contains("!!! Warning: short read while loading the AOF file"));
    assert_eq!(
        std::fs::metadata(&incr).map(|m| m.len()).unwrap_or(0),
        good_len
    );
    c.cmd(&["INCR", "foo"]);
    p.kill();
    append(
        &incr,
        b"*1\r\n$5\r\nMULTI\r\n*2\r\n$4\r\nINCR\r\n$3\r\nfoo\r\n",
    );
    p.restart();
    let mut c = p.conn();
    assert_eq!(
        c.text(&["GET", "foo"]),
        "3",
        "the unfinished MULTI is reverted"
    );
    assert!(p
        .log()
        .contains("Revert incomplete MULTI/EXEC transaction in AOF file"));

    // With aof-load-truncated no, the same tail stops the server with Valkey's message.
    p.kill();
    let whole = std::fs::metadata(&incr).map(|m| m.len()).unwrap_or(0);
    append(&incr, b"*2\r\n$4\r\nINCR\r\n$3\r\nfo");
    assert_start_fails(
        &p,
        &["--aof-load-truncated", "no"],
        "Unexpected end of file reading the append only file",
    );

    // Garbage followed by whole commands: corruption, never loaded, whatever the setting.
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(&incr)
        .expect("open");
    f.set_len(whole).expect("truncate");
    append(&incr, b"!garbage\r\n*1\r\n$4\r\nPING\r\n");
    assert_start_fails(&p, &[], "Bad file format reading the append only file");
    assert_start_fails(&p, &[], &format!("is corrupt at offset {whole}"));
}

/// Runs the server on `p`'s directory with `appendonly yes` and `extra`, and expects it to
/// exit with `needle` in its log.
fn assert_start_fails(p: &ServerProc, extra: &[&str], needle: &str) {
    let bin = testkit::redwing_bin();
    let out = std::process::Command::new(bin)
        .current_dir(&p.dir)
        .args([
            "--port",
            &p.port.to_string(),
            "--bind",
            "127.0.0.1",
            "--dir",
            &p.dir.display().to_string(),
            "--save",
            "",
            "--appendonly",
            "yes",
        ])
        .args(extra)
        .output()
        .expect("run redwing-server");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "the server started:\n{text}");
    assert!(text.contains(needle), "no {needle:?} in:\n{text}");
}

#[test]
fn kill_9_under_load_with_appendfsync_always_loses_no_acknowledged_write() {
    let mut p = redwing(&["--appendonly", "yes", "--appendfsync", "always"]);
    let mut acked: u64 = 0;
    for round in 0..4 {
        // A writer pipelining INCRs; every reply it got is an acknowledged write.
        let port = p.port;
        let writer = std::thread::spawn(move || {
            let mut c = match Conn::connect(port) {
                Ok(c) => c,
                Err(_) => return 0u64,
            };
            c.set_timeout(Duration::from_secs(5));
            let mut got = 0u64;
            loop {
                let cmds: Vec<Vec<&str>> = (0..16).map(|_| vec!["INCR", "counter"]).collect();
                let Ok(()) = c.try_write_raw(&encode(&cmds)) else {
                    return got;
                };
                for _ in 0..16 {
                    match c.try_read_frame() {
                        Ok(f) if !f.is_error() => got += 1,
                        _ => return got,
                    }
                }
            }
        });
        std::thread::sleep(Duration::from_millis(300 + 100 * round));
        p.kill();
        acked += writer.join().unwrap_or(0);
        p.restart();
        let mut c = p.conn();
        let have: u64 = c.text(&["GET", "counter"]).parse().unwrap_or(0);
        assert!(
            have >= acked,
            "round {round}: {acked} INCRs acknowledged, the AOF holds {have}"
        );
        // Writes the server made but whose replies were lost in the kill count too.
        acked = have;
        // A rewrite in one of the rounds: the crash may land during it.
        if round == 1 {
            c.cmd(&["BGREWRITEAOF"]);
        }
    }
    assert!(acked > 0, "the writer never got a reply");
}

fn encode(cmds: &[Vec<&str>]) -> Vec<u8> {
    let mut out = Vec::new();
    for c in cmds {
        resp::reply::encode_command(&mut out, c);
    }
    out
}

/// A new server of one kind ([`redwing`], [`redis`], [`valkey`]) started on a copy of the AOF
/// directory of `from` (already stopped), with `appendonly yes`.
fn started_from_aof(from: &ServerProc, kind: fn(&[&str]) -> ServerProc) -> ServerProc {
    let mut to = kind(&[]);
    to.kill();
    copy_aof_dir(from, &to);
    to.set_args(&["--appendonly", "yes"]);
    to.restart();
    to
}

/// Copies `from`'s AOF directory into `to`'s working directory.
fn copy_aof_dir(from: &ServerProc, to: &ServerProc) {
    let src = from.dir.join("appendonlydir");
    let dst = to.dir.join("appendonlydir");
    let _ = std::fs::remove_dir_all(&dst);
    std::fs::create_dir_all(&dst).expect("create appendonlydir");
    for e in std::fs::read_dir(&src)
        .expect("read appendonlydir")
        .flatten()
    {
        std::fs::copy(e.path(), dst.join(e.file_name())).expect("copy an AOF file");
    }
}

#[test]
fn aof_directories_move_between_redwing_and_redis_7_both_ways() {
    for preamble in ["yes", "no"] {
        // Redwing → redis-server.
        let mut w = redwing(&["--appendonly", "yes", "--aof-use-rdb-preamble", preamble]);
        let mut c = w.conn();
        write_dataset(&mut c, "w");
        c.cmd(&["BGREWRITEAOF"]);
        wait_rewrite_done(&mut c);
        c.cmd(&["SET", "after", "rewrite"]);
        c.cmd(&["SELECT", "5"]);
        c.cmd(&["HSET", "h5", "f", "v"]);
        let want = digest(&mut c);
        w.kill();
        let mut r = started_from_aof(&w, redis);
        let mut rc = r.conn();
        assert_eq!(
            digest(&mut rc),
            want,
            "redis-server loading Redwing's AOF (preamble {preamble})"
        );
        // And Valkey 8.0.1; both check tools accept the files.
        let mut v = started_from_aof(&w, valkey);
        assert_eq!(
            digest(&mut v.conn()),
            want,
            "Valkey loading Redwing's AOF (preamble {preamble})"
        );
        // Valkey → Redwing: its own rewrite and writes after it.
        let mut vc = v.conn();
        vc.cmd(&["CONFIG", "SET", "aof-use-rdb-preamble", preamble]);
        vc.cmd(&["BGREWRITEAOF"]);
        wait_rewrite_done(&mut vc);
        vc.cmd(&["SET", "from-valkey", "1"]);
        vc.cmd(&["ZADD", "vz", "1", "a", "2", "b"]);
        let from_valkey = digest(&mut vc);
        v.kill();
        let w3 = started_from_aof(&v, redwing);
        assert_eq!(
            digest(&mut w3.conn()),
            from_valkey,
            "Redwing loading Valkey's AOF (preamble {preamble})"
        );
        let manifest = w.dir.join("appendonlydir/appendonly.aof.manifest");
        let valkey_check = testkit::valkey_server_bin().with_file_name("valkey-check-aof");
        for tool in [std::path::PathBuf::from("redis-check-aof"), valkey_check] {
            let out = std::process::Command::new(&tool)
                .arg(&manifest)
                .output()
                .unwrap_or_else(|e| {
                    panic!(
                        "{}: {e} (scripts/setup-test-deps.sh installs redis-tools, \
                         scripts/build-valkey.sh Valkey's tools)",
                        tool.display()
                    )
                });
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(
                out.status.success() && text.contains("is valid"),
                "{} on Redwing's AOF (preamble {preamble}):\n{text}",
                tool.display()
            );
        }

        // redis-server → Redwing (its base from a rewrite, plus writes after it).
        rc.cmd(&["CONFIG", "SET", "aof-use-rdb-preamble", preamble]);
        rc.cmd(&["BGREWRITEAOF"]);
        wait_rewrite_done(&mut rc);
        rc.cmd(&["SET", "from-redis", "1"]);
        rc.cmd(&["RPUSH", "rl", "1", "2"]);
        let want = digest(&mut rc);
        // SIGTERM, not SIGKILL: with `appendfsync everysec` redis-server postpones its AOF
        // write (up to 2 s) while a background fsync runs, and replies meanwhile; its shutdown
        // writes and fsyncs what is pending.
        r.stop();
        let w2 = started_from_aof(&r, redwing);
        let mut wc = w2.conn();
        assert_eq!(
            digest(&mut wc),
            want,
            "Redwing loading redis-server's AOF (preamble {preamble})"
        );
    }
}

/// WAITAOF's reply as (local, replicas).
fn waitaof(c: &mut Conn, numlocal: u32, numreplicas: u32, timeout_ms: u32) -> (i64, i64) {
    let f = c.cmd(&[
        "WAITAOF",
        &numlocal.to_string(),
        &numreplicas.to_string(),
        &timeout_ms.to_string(),
    ]);
    match f {
        resp::frame::Frame::Array(v) => match v.as_slice() {
            [resp::frame::Frame::Int(l), resp::frame::Frame::Int(r)] => (*l, *r),
            _ => panic!("WAITAOF replied {v:?}"),
        },
        other => panic!("WAITAOF replied {other:?}"),
    }
}

#[test]
fn waitaof_counts_the_local_fsync_and_the_replicas_fack() {
    let p = redwing(&["--appendonly", "yes", "--appendfsync", "always"]);
    let r = redwing(&["--appendonly", "yes", "--appendfsync", "everysec"]);
    let mut c = p.conn();
    c.cmd(&["SET", "a", "1"]);
    assert_eq!(
        waitaof(&mut c, 1, 0, 0),
        (1, 0),
        "always: fsynced before the reply"
    );

    // A replica with an AOF reports it in `REPLCONF ACK .. FACK ..`; after its full sync it
    // rewrites its AOF from the new data first.
    replicaof(&r, &p);
    wait_synced(&p, &r);
    c.cmd(&["INCR", "n"]);
    assert_eq!(waitaof(&mut c, 1, 1, 20_000), (1, 1));
    let mut rc = r.conn();
    wait_rewrite_done(&mut rc);
    assert!(
        manifest(&r).contains("type b"),
        "the replica rewrote its AOF"
    );

    // `appendfsync no`: never known to be on disk, so WAITAOF times out with 0 local copies.
    c.cmd(&["CONFIG", "SET", "appendfsync", "no"]);
    c.cmd(&["INCR", "n"]);
    assert_eq!(waitaof(&mut c, 1, 0, 100).0, 0);
    c.cmd(&["CONFIG", "SET", "appendfsync", "everysec"]);
    c.cmd(&["INCR", "n"]);
    assert_eq!(
        waitaof(&mut c, 1, 0, 0),
        (1, 0),
        "everysec: within a second"
    );

    // Errors as Valkey's.
    let e = c.cmd(&["WAITAOF", "2", "0", "0"]);
    assert!(
        e.text()
            .contains("value is out of range, value must between 0 and 1"),
        "{e:?}"
    );
    let e = rc.cmd(&["WAITAOF", "0", "0", "0"]);
    assert!(
        e.text().contains("cannot be used with replica instances"),
        "{e:?}"
    );
    c.cmd(&["CONFIG", "SET", "appendonly", "no"]);
    let e = c.cmd(&["WAITAOF", "1", "0", "0"]);
    assert_eq!(
        e.text(),
        "ERR WAITAOF cannot be used when numlocal is set but appendonly is disabled."
    );
}

#[test]
fn clients_get_loading_while_the_aof_loads() {
    let mut p = redwing(&["--appendonly", "yes"]);
    let mut c = p.conn();
    let cmds: Vec<Vec<String>> = (0..30_000)
        .map(|i| vec!["SET".into(), format!("k{i}"), "v".into()])
        .collect();
    for chunk in cmds.chunks(5_000) {
        c.pipeline(chunk);
    }
    // 30,000 commands at 100 µs each: a load of about 3 s.
    p.set_args(&["--appendonly", "yes", "--key-load-delay", "100"]);
    p.kill();
    let port = p.port;
    let watcher = std::thread::spawn(move || {
        let (mut loading, mut info_loading) = (false, false);
        let start = std::time::Instant::now();
        while start.elapsed() < Duration::from_secs(60) && !(loading && info_loading) {
            let Ok(mut c) = Conn::connect(port) else {
                std::thread::sleep(Duration::from_millis(20));
                continue;
            };
            c.set_timeout(Duration::from_secs(5));
            match c.try_cmd(&["GET", "k1"]) {
                Ok(f) if f.is_error() && f.text().starts_with("LOADING") => loading = true,
                Ok(f) if f.text() == "v" => break,
                _ => {}
            }
            if let Ok(f) = c.try_cmd(&["INFO", "persistence"]) {
                let t = f.text();
                info_loading |= t.contains("loading:1") && t.contains("loading_loaded_perc:");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        (loading, info_loading)
    });
    p.restart();
    let (loading, info_loading) = watcher.join().unwrap_or((false, false));
    assert!(loading, "no client was answered -LOADING during the load");
    assert!(info_loading, "INFO never showed the load in progress");
    let mut c = p.conn();
    assert_eq!(c.int(&["DBSIZE"]), 30_000);
}

/// Sets the server's file-size limit (RLIMIT_FSIZE): past it, writes fail with EFBIG as they
/// would with ENOSPC on a full disk.
fn set_file_size_limit(p: &ServerProc, bytes: Option<u64>) {
    let pid = p.pid().expect("server pid") as libc::pid_t;
    let v = bytes.unwrap_or(libc::RLIM_INFINITY);
    let lim = libc::rlimit {
        rlim_cur: v,
        rlim_max: libc::RLIM_INFINITY,
    };
    // SAFETY: prlimit on a child process we started, with a valid rlimit and no old value.
    let rc = unsafe { libc::prlimit(pid, libc::RLIMIT_FSIZE, &lim, std::ptr::null_mut()) };
    assert_eq!(rc, 0, "prlimit: {}", std::io::Error::last_os_error());
}

#[test]
fn a_disk_that_refuses_writes_stops_writes_until_it_accepts_them_again() {
    let mut p = redwing(&["--appendonly", "yes", "--appendfsync", "everysec"]);
    let mut c = p.conn();
    c.cmd(&["SET", "before", "1"]);
    wait_for("the first write to reach the file", T, || {
        field(&mut c, "persistence", "aof_buffer_length") == "0"
    });
    let size = std::fs::metadata(incr_path(&p))
        .map(|m| m.len())
        .unwrap_or(0);
    set_file_size_limit(&p, Some(size + 2_000));
    let value = "x".repeat(500);
    let mut acked = Vec::new();
    let mut refused = None;
    for i in 0..100 {
        let k = format!("k{i}");
        let r = c.cmd(&["SET", &k, &value]);
        if r.is_error() {
            refused = Some(r.text());
            break;
        }
        acked.push(k);
    }
    let refused = refused.expect("no write was refused past the limit");
    assert!(
        refused.starts_with("MISCONF Errors writing to the AOF file: File too large"),
        "{refused}"
    );
    assert_eq!(field(&mut c, "persistence", "aof_last_write_status"), "err");
    assert!(c.cmd(&["GET", "before"]).text() == "1", "reads go on");
    // Room again: the buffered writes go out at the next retry and writes are accepted.
    set_file_size_limit(&p, None);
    wait_for("the AOF to be writable again", T, || {
        field(&mut c, "persistence", "aof_last_write_status") == "ok"
    });
    c.cmd(&["SET", "after", "1"]);
    assert!(p.log().contains("AOF write error looks solved"));
    p.restart();
    let mut c = p.conn();
    for k in &acked {
        assert_eq!(c.text(&["GET", k]), value, "acknowledged write {k} lost");
    }
    assert_eq!(c.text(&["GET", "after"]), "1");
}

/// A node whose own history reached a high offset, then made a replica of a primary with a
/// shorter one, must not report its old fsynced offset as FACK: with `appendfsync no` a new
/// write is acknowledged by its copy, not by an fsync (Valkey's "WAITAOF replica copy before
/// fsync", which failed here when the old offset happened to be the higher one).
#[test]
fn a_full_sync_resets_the_fsynced_offset_a_replica_reports() {
    let p = redwing(&["--appendonly", "yes", "--appendfsync", "always"]);
    let r = redwing(&["--appendonly", "yes", "--appendfsync", "always"]);
    let mut rc = r.conn();
    // The future replica's own stream (it has a replica of its own, so it keeps a backlog and
    // an offset) grows far beyond the primary's.
    let d = redwing(&[]);
    replicaof(&d, &r);
    wait_synced(&r, &d);
    let big = "x".repeat(100_000);
    for i in 0..50 {
        rc.cmd(&["SET", &format!("own{i}"), &big]);
    }
    wait_for("the replica's own writes fsynced", T, || {
        waitaof(&mut rc, 1, 0, 100).0 == 1
    });
    d.conn().cmd(&["REPLICAOF", "NO", "ONE"]);
    rc.cmd(&["CONFIG", "SET", "appendfsync", "no"]);
    replicaof(&r, &p);
    wait_synced(&p, &r);
    wait_for("the replica's first rewrite after its full sync", T, || {
        field(&mut rc, "persistence", "aof_rewrite_in_progress") == "0"
            && field(&mut rc, "persistence", "aof_rewrite_scheduled") == "0"
    });
    let mut pc = p.conn();
    pc.cmd(&["INCR", "foo"]);
    assert_eq!(
        waitaof(&mut pc, 0, 1, 200),
        (1, 0),
        "the replica has the write but has not fsynced it"
    );
}
