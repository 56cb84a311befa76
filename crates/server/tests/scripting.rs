//! Scripting on real processes: EVAL/EVALSHA and the script cache, FUNCTION libraries and
//! FCALL, busy scripts (`-BUSY`, SCRIPT KILL / FUNCTION KILL, UNKILLABLE), the replication of
//! scripts' effects (checked on a Redwing replica and by reading the primary's stream),
//! libraries in every RDB (DEBUG RELOAD, restart, full syncs to Redwing, Valkey and Redis 7.0
//! replicas and from a Valkey primary, `--functions-rdb`), FUNCTION DUMP/RESTORE payloads exchanged with
//! Valkey, OOM rules, and two client recipes written the way their libraries write them
//! (redis-py's `Lock`, a sliding-window rate limiter).

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::interop::ok;
use common::*;
use resp::frame::{parse_frame, Frame};
use testkit::{wait_for, Conn, ServerProc};

fn bulk(f: &Frame) -> String {
    String::from_utf8_lossy(f.as_bytes().unwrap_or_default()).into_owned()
}

fn err_text(f: &Frame) -> String {
    match f {
        Frame::Error(e) => e.clone(),
        other => panic!("expected an error, got {other:?}"),
    }
}

fn int(f: &Frame) -> i64 {
    match f {
        Frame::Int(i) => *i,
        other => panic!("expected an integer, got {other:?}"),
    }
}

fn info_int(c: &mut Conn, section: &str, name: &str) -> i64 {
    field(c, section, name).parse().unwrap_or(-1)
}

/// A library in the API all three servers know (`redis.*`: Redis 7.0 has no `server` alias).
const LIB: &str = "#!lua name=mylib\n\
    local function hset(keys, args) return redis.call('HSET', keys[1], args[1], args[2]) end\n\
    redis.register_function('myhset', hset)\n\
    redis.register_function{function_name='myget', callback=function(keys) return redis.call('GET', keys[1]) end, flags={'no-writes'}}";

#[test]
fn eval_evalsha_and_the_script_cache() {
    let p = redwing(&[]);
    let mut c = p.conn();
    let r = c.cmd(&[
        "EVAL",
        "return {KEYS[1], ARGV[1], 3, redis.call('SET', KEYS[1], ARGV[1])}",
        "1",
        "k",
        "v",
    ]);
    assert_eq!(
        r,
        Frame::Array(vec![
            Frame::Bulk("k".into()),
            Frame::Bulk("v".into()),
            Frame::Int(3),
            Frame::Simple("OK".into()),
        ])
    );
    assert_eq!(bulk(&c.cmd(&["GET", "k"])), "v");
    // EVAL caches the script: EVALSHA finds it (any case), SCRIPT EXISTS sees it.
    let body = "return redis.call('GET', KEYS[1])";
    let sha = bulk(&c.cmd(&["SCRIPT", "LOAD", body]));
    assert_eq!(sha.len(), 40);
    assert_eq!(bulk(&c.cmd(&["EVALSHA", &sha, "1", "k"])), "v");
    assert_eq!(
        bulk(&c.cmd(&["EVALSHA", &sha.to_uppercase(), "1", "k"])),
        "v"
    );
    assert_eq!(bulk(&c.cmd(&["SCRIPT", "SHOW", &sha])), body);
    assert_eq!(
        c.cmd(&["SCRIPT", "EXISTS", &sha, &"0".repeat(40)]),
        Frame::Array(vec![Frame::Int(1), Frame::Int(0)])
    );
    assert_eq!(info_int(&mut c, "memory", "number_of_cached_scripts"), 2);
    ok(&mut c, &["SCRIPT", "FLUSH", "ASYNC"]);
    assert_eq!(
        err_text(&c.cmd(&["EVALSHA", &sha, "1", "k"])),
        "NOSCRIPT No matching script."
    );
    assert_eq!(info_int(&mut c, "memory", "number_of_cached_scripts"), 0);
    assert_eq!(
        err_text(&c.cmd(&["SCRIPT", "FLUSH", "LATER"])),
        "ERR SCRIPT FLUSH only support SYNC|ASYNC option"
    );
    // Argument errors, compile errors and run-time errors, worded as Valkey's.
    assert_eq!(
        err_text(&c.cmd(&["EVAL", "return 1", "2", "a"])),
        "ERR Number of keys can't be greater than number of args"
    );
    assert_eq!(
        err_text(&c.cmd(&["EVAL", "return 1", "-1"])),
        "ERR Number of keys can't be negative"
    );
    assert!(err_text(&c.cmd(&["EVAL", "return +", "0"]))
        .starts_with("ERR Error compiling script (new function): user_script:1:"));
    let e = err_text(&c.cmd(&["EVAL", "return redis.call('INCR', 'k')", "0"]));
    assert!(
        e.starts_with("ERR value is not an integer or out of range script:"),
        "{e}"
    );
    let nested = "return redis.call('EVAL', 'return 1', 0)";
    assert_eq!(
        err_text(&c.cmd(&["EVAL", nested, "0"])),
        format!(
            "ERR This Redis command is not allowed from script script: {}, on @user_script:1.",
            sha1(nested)
        )
    );
    // The script's SELECT is its own: the caller stays in its database.
    ok(&mut c, &["SET", "where", "db0"]);
    let r = c.cmd(&[
        "EVAL",
        "redis.call('SELECT', 9); redis.call('SET', 'where', 'db9'); return redis.call('GET', 'where')",
        "0",
    ]);
    assert_eq!(bulk(&r), "db9");
    assert_eq!(bulk(&c.cmd(&["GET", "where"])), "db0");
    // EVAL_RO refuses writes; a no-writes shebang declares a read-only script.
    let e = err_text(&c.cmd(&["EVAL_RO", "return redis.call('SET', 'x', 1)", "0"]));
    assert!(
        e.starts_with("ERR Write commands are not allowed from read-only scripts."),
        "{e}"
    );
    assert_eq!(
        bulk(&c.cmd(&[
            "EVAL_RO",
            "#!lua flags=no-writes\nreturn redis.call('GET', 'where')",
            "0"
        ])),
        "db0"
    );
    // RESP3 from inside the script, and the caller's protocol for the reply.
    let r = c.cmd(&[
        "EVAL",
        "redis.setresp(3); return redis.call('HGETALL', 'nohash')",
        "0",
    ]);
    assert_eq!(r, Frame::Array(vec![]));
    // Statistics: the script's commands count as commands, errors are counted once.
    ok(&mut c, &["CONFIG", "RESETSTAT"]);
    let _ = c.cmd(&["EVAL", "return redis.call('INCR', 'k')", "0"]);
    assert_eq!(field(&mut c, "errorstats", "errorstat_ERR"), "count=1");
    let calls = field(&mut c, "commandstats", "cmdstat_incr");
    assert!(calls.starts_with("calls=1,"), "{calls}");
    assert!(calls.contains("failed_calls=1"), "{calls}");
}

/// SHA1 of a script body in hex (as SCRIPT LOAD returns it).
fn sha1(body: &str) -> String {
    use std::fmt::Write as _;
    let mut hex = String::new();
    for b in sha1_bytes(body.as_bytes()) {
        let _ = write!(hex, "{b:02x}");
    }
    hex
}

#[test]
fn function_libraries_and_fcall() {
    let p = redwing(&[]);
    let mut c = p.conn();
    assert_eq!(bulk(&c.cmd(&["FUNCTION", "LOAD", LIB])), "mylib");
    assert_eq!(
        err_text(&c.cmd(&["FUNCTION", "LOAD", LIB])),
        "ERR Library 'mylib' already exists"
    );
    assert_eq!(bulk(&c.cmd(&["FUNCTION", "LOAD", "REPLACE", LIB])), "mylib");
    assert_eq!(int(&c.cmd(&["FCALL", "myhset", "1", "h", "f", "v"])), 1);
    assert_eq!(c.cmd(&["FCALL_RO", "myget", "1", "nokey"]), Frame::Null);
    let e = err_text(&c.cmd(&["FCALL_RO", "myhset", "1", "h", "f", "v"]));
    assert_eq!(
        e,
        "ERR Can not execute a script with write flag using *_ro command."
    );
    assert_eq!(
        err_text(&c.cmd(&["FCALL", "nosuch", "0"])),
        "ERR Function not found"
    );
    let list = c.cmd(&["FUNCTION", "LIST", "WITHCODE"]);
    let Frame::Array(libs) = list else {
        panic!("FUNCTION LIST: {list:?}")
    };
    assert_eq!(libs.len(), 1);
    let stats = c.cmd(&["FUNCTION", "STATS"]);
    assert_eq!(
        stats,
        Frame::Array(vec![
            Frame::Bulk("running_script".into()),
            Frame::Null,
            Frame::Bulk("engines".into()),
            Frame::Array(vec![
                Frame::Bulk("LUA".into()),
                Frame::Array(vec![
                    Frame::Bulk("libraries_count".into()),
                    Frame::Int(1),
                    Frame::Bulk("functions_count".into()),
                    Frame::Int(2),
                ]),
            ]),
        ])
    );
    assert_eq!(info_int(&mut c, "memory", "number_of_functions"), 2);
    assert_eq!(info_int(&mut c, "memory", "number_of_libraries"), 1);
    // DUMP / FLUSH / RESTORE.
    let dump = c.cmd(&["FUNCTION", "DUMP"]);
    let payload = dump.as_bytes().expect("payload").to_vec();
    ok(&mut c, &["FUNCTION", "FLUSH", "SYNC"]);
    assert_eq!(
        err_text(&c.cmd(&["FCALL", "myget", "1", "h"])),
        "ERR Function not found"
    );
    assert_eq!(
        c.cmd_bytes(&[b"FUNCTION", b"RESTORE", &payload]),
        Frame::Simple("OK".into())
    );
    let e = c.cmd_bytes(&[b"FUNCTION", b"RESTORE", &payload]);
    assert_eq!(err_text(&e), "ERR Library mylib already exists");
    ok(&mut c, &["FUNCTION", "DELETE", "mylib"]);
    assert_eq!(
        err_text(&c.cmd(&["FUNCTION", "DELETE", "mylib"])),
        "ERR Library not found"
    );
    // FLUSHALL keeps libraries.
    assert_eq!(
        c.cmd_bytes(&[b"FUNCTION", b"RESTORE", &payload, b"FLUSH"]),
        Frame::Simple("OK".into())
    );
    ok(&mut c, &["FLUSHALL"]);
    assert_eq!(info_int(&mut c, "memory", "number_of_libraries"), 1);
}

/// Sends EVAL/FCALL on a new connection without waiting, then waits until another client is
/// answered -BUSY.
fn start_busy(p: &ServerProc, args: &[&str]) -> Conn {
    let mut runner = p.conn();
    let argv: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
    runner.send(&argv);
    let mut other = p.conn();
    wait_for(
        "the script to be busy",
        T,
        || matches!(other.cmd(&["PING"]), Frame::Error(e) if e.starts_with("BUSY ")),
    );
    runner
}

#[test]
fn busy_scripts_answer_busy_and_can_be_killed_before_they_write() {
    let p = redwing(&["--busy-reply-threshold", "50"]);
    let mut c = p.conn();
    let mut runner = start_busy(
        &p,
        &["EVAL", "local i = 0 while true do i = i + 1 end", "0"],
    );
    assert_eq!(
        err_text(&c.cmd(&["GET", "x"])),
        "BUSY Redwing is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."
    );
    // Commands allowed while busy still run; FUNCTION STATS refuses during an EVAL.
    assert_eq!(c.cmd(&["MULTI"]), Frame::Simple("OK".into()));
    assert!(err_text(&c.cmd(&["SET", "x", "1"])).starts_with("BUSY "));
    assert!(err_text(&c.cmd(&["EXEC"])).starts_with("EXECABORT "));
    assert!(err_text(&c.cmd(&["FUNCTION", "STATS"])).starts_with("BUSY "));
    assert!(err_text(&c.cmd(&["FUNCTION", "KILL"])).starts_with("BUSY "));
    ok(&mut c, &["SCRIPT", "KILL"]);
    let e = err_text(&runner.read_frame());
    assert!(
        e.starts_with("ERR Script killed by user with SCRIPT KILL..."),
        "{e}"
    );
    assert_eq!(c.cmd(&["PING"]), Frame::Simple("PONG".into()));
    assert_eq!(
        err_text(&c.cmd(&["SCRIPT", "KILL"])),
        "NOTBUSY No scripts in execution right now."
    );
    // A busy function: FUNCTION STATS shows it, FUNCTION KILL stops it.
    ok(
        &mut c,
        &[
            "FUNCTION",
            "LOAD",
            "#!lua name=spin\nserver.register_function{function_name='spin', callback=function() while true do end end, flags={'no-writes'}}",
        ],
    );
    let mut runner = start_busy(&p, &["FCALL", "spin", "0"]);
    let stats = c.cmd(&["FUNCTION", "STATS"]);
    let Frame::Array(fields) = &stats else {
        panic!("{stats:?}")
    };
    let Frame::Array(running) = &fields[1] else {
        panic!("{stats:?}")
    };
    assert_eq!(bulk(&running[1]), "spin");
    assert_eq!(
        running[3],
        Frame::Array(vec![
            Frame::Bulk("FCALL".into()),
            Frame::Bulk("spin".into()),
            Frame::Bulk("0".into()),
        ])
    );
    assert_eq!(
        err_text(&c.cmd(&["SCRIPT", "KILL"])),
        "BUSY Redwing is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE."
    );
    ok(&mut c, &["FUNCTION", "KILL"]);
    assert!(err_text(&runner.read_frame()).contains("Script killed by user"));
    assert!(p
        .log()
        .contains("Slow script detected: still in execution after"));
}

#[test]
fn a_busy_script_that_wrote_is_unkillable_and_shutdown_nosave_stops_the_server() {
    let mut p = redwing(&["--busy-reply-threshold", "50"]);
    let mut c = p.conn();
    // Writes, then spins until a client named `stop` shows up (HELLO is served while busy;
    // CLIENT LIST is callable from scripts once the deny-script flag is lifted for tests).
    ok(&mut c, &["DEBUG", "SET-DISABLE-DENY-SCRIPTS", "1"]);
    let mut runner = start_busy(
        &p,
        &[
            "EVAL",
            "redis.call('SET', 'w', 1)\n\
             while not string.find(redis.call('CLIENT', 'LIST'), 'name=stop') do end\n\
             return 'done'",
            "0",
        ],
    );
    assert!(err_text(&c.cmd(&["SCRIPT", "KILL"])).starts_with(
        "UNKILLABLE Sorry the script already executed write commands against the dataset."
    ));
    assert!(err_text(&c.cmd(&["SHUTDOWN"])).starts_with("BUSY "));
    assert!(!c.cmd(&["HELLO", "2", "SETNAME", "stop"]).is_error());
    assert_eq!(bulk(&runner.read_frame()), "done");
    assert_eq!(bulk(&c.cmd(&["GET", "w"])), "1");
    // Stuck for good: only SHUTDOWN NOSAVE gets out.
    let _runner = start_busy(
        &p,
        &["EVAL", "redis.call('SET', 'w', 2) while true do end", "0"],
    );
    let _ = c.try_cmd(&["SHUTDOWN", "NOSAVE"]);
    wait_for("the server to exit", T, || !p.alive());
}

/// A fake replica: SYNC, skip the payload, then read the commands of the stream.
struct StreamReader {
    s: TcpStream,
    buf: Vec<u8>,
}

impl StreamReader {
    fn attach(port: u16) -> StreamReader {
        let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(30))).ok();
        s.write_all(b"*1\r\n$4\r\nSYNC\r\n").expect("SYNC");
        let mut r = StreamReader { s, buf: Vec::new() };
        // `$<len>\r\n<payload>` (newlines before it are keepalives).
        loop {
            while r.buf.first() == Some(&b'\n') {
                r.buf.remove(0);
            }
            if let Some(end) = r.buf.windows(2).position(|w| w == b"\r\n") {
                let len: usize = String::from_utf8_lossy(&r.buf[1..end])
                    .parse()
                    .expect("payload length");
                while r.buf.len() < end + 2 + len {
                    r.fill();
                }
                r.buf.drain(..end + 2 + len);
                return r;
            }
            r.fill();
        }
    }

    fn fill(&mut self) {
        let mut chunk = [0u8; 16384];
        let n = self.s.read(&mut chunk).expect("read the stream");
        assert!(n > 0, "the primary closed the stream");
        self.buf.extend_from_slice(&chunk[..n]);
    }

    /// The next command of the stream, PINGs skipped.
    fn next(&mut self) -> Vec<String> {
        loop {
            if let Ok(Some((f, used))) = parse_frame(&self.buf) {
                self.buf.drain(..used);
                let Frame::Array(items) = f else {
                    panic!("not a command: {f:?}")
                };
                let cmd: Vec<String> = items.iter().map(bulk).collect();
                if cmd.first().is_some_and(|c| c.eq_ignore_ascii_case("PING")) {
                    continue;
                }
                return cmd;
            }
            self.fill();
        }
    }
}

fn words(s: &str) -> Vec<String> {
    s.split(' ').map(str::to_string).collect()
}

#[test]
fn script_effects_replicate_as_multi_exec_and_never_as_the_script() {
    let p = redwing(&[]);
    let mut c = p.conn();
    let mut stream = StreamReader::attach(p.port);
    let r = redwing(&[]);
    replicaof(&r, &p);
    wait_synced(&p, &r);

    // Two writes: MULTI, the writes in order (the script's database), EXEC.
    ok(
        &mut c,
        &[
            "EVAL",
            "redis.call('SET', KEYS[1], 'a'); redis.call('SELECT', 3); redis.call('LPUSH', KEYS[2], 'x'); return 1",
            "2",
            "k1",
            "l1",
        ],
    );
    assert_eq!(stream.next(), words("MULTI"));
    assert_eq!(stream.next(), words("SELECT 0"));
    assert_eq!(stream.next(), words("SET k1 a"));
    assert_eq!(stream.next(), words("SELECT 3"));
    assert_eq!(stream.next(), words("LPUSH l1 x"));
    assert_eq!(stream.next(), words("EXEC"));
    // One write: alone. Reads only: nothing.
    ok(&mut c, &["EVAL", "redis.call('GET', 'k1'); return 1", "0"]);
    ok(&mut c, &["EVAL", "return redis.call('INCR', 'n')", "0"]);
    assert_eq!(stream.next(), words("SELECT 0"));
    assert_eq!(stream.next(), words("INCR n"));
    // A script that wrote and then failed propagates what it wrote.
    let e = c.cmd(&[
        "EVAL",
        "redis.call('SET', 'before', 1); redis.call('SET', 'also', 2); error('boom')",
        "0",
    ]);
    assert!(e.is_error());
    assert_eq!(stream.next(), words("MULTI"));
    assert_eq!(stream.next(), words("SET before 1"));
    assert_eq!(stream.next(), words("SET also 2"));
    assert_eq!(stream.next(), words("EXEC"));
    // server.set_repl: a call kept out of the stream.
    ok(
        &mut c,
        &[
            "EVAL",
            "redis.set_repl(redis.REPL_NONE); redis.call('SET', 'local', 1); \
             redis.set_repl(redis.REPL_ALL); redis.call('SET', 'replicated', 1); return 1",
            "0",
        ],
    );
    assert_eq!(stream.next(), words("SET replicated 1"));
    // Functions: FCALL's effects as EVAL's; FUNCTION LOAD / DELETE as sent.
    ok(&mut c, &["FUNCTION", "LOAD", LIB]);
    let load = stream.next();
    assert_eq!(load[..2], words("FUNCTION LOAD"));
    ok(&mut c, &["FCALL", "myhset", "1", "h", "f", "v"]);
    assert_eq!(stream.next(), words("HSET h f v"));
    ok(&mut c, &["FUNCTION", "DELETE", "mylib"]);
    assert_eq!(stream.next(), words("FUNCTION DELETE mylib"));
    // WAIT counts the script's writes.
    ok(
        &mut c,
        &["EVAL", "return redis.call('SET', 'waited', 1)", "0"],
    );
    assert_eq!(int(&c.cmd(&["WAIT", "1", "5000"])), 1);

    wait_synced(&p, &r);
    let mut rc = r.conn();
    assert_eq!(rc.cmd(&["GET", "local"]), Frame::Null);
    assert_eq!(bulk(&rc.cmd(&["GET", "before"])), "1");
    ok(&mut c, &["DEL", "local"]);
    wait_synced(&p, &r);
    assert_eq!(digest(&p), digest(&r));
    assert_eq!(info_int(&mut rc, "memory", "number_of_libraries"), 0);
}

#[test]
fn libraries_survive_debug_reload_and_restart() {
    let mut p = redwing(&[]);
    let mut c = p.conn();
    ok(&mut c, &["FUNCTION", "LOAD", LIB]);
    ok(&mut c, &["SET", "k", "v"]);
    ok(&mut c, &["DEBUG", "RELOAD"]);
    assert_eq!(bulk(&c.cmd(&["FCALL", "myget", "1", "k"])), "v");
    // NOFLUSH: the same library twice fails the reload, nothing changes; MERGE replaces.
    let e = err_text(&c.cmd(&["DEBUG", "RELOAD", "NOSAVE", "NOFLUSH"]));
    assert!(e.contains("Error trying to load the RDB"), "{e}");
    ok(&mut c, &["DEBUG", "RELOAD", "NOSAVE", "NOFLUSH", "MERGE"]);
    assert_eq!(info_int(&mut c, "memory", "number_of_libraries"), 1);
    assert_eq!(
        err_text(&c.cmd(&["DEBUG", "RELOAD", "BOGUS"])),
        "ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options."
    );
    ok(&mut c, &["SAVE"]);
    drop(c);
    p.restart();
    let mut c = p.conn();
    wait_for("the load", T, || {
        field(&mut c, "persistence", "loading") == "0"
    });
    assert_eq!(bulk(&c.cmd(&["FCALL", "myget", "1", "k"])), "v");
}

#[test]
fn libraries_and_script_effects_follow_full_syncs_with_valkey_and_redis() {
    // Redwing primary → Redwing and Valkey replicas (one- and dual-channel).
    let p = redwing(&[]);
    let mut c = p.conn();
    ok(&mut c, &["FUNCTION", "LOAD", LIB]);
    ok(&mut c, &["SET", "k", "v"]);
    for r in [
        redwing(&[]),
        redwing(&["--dual-channel-replication-enabled", "yes"]),
        valkey(&[]),
    ] {
        // A library the primary does not have is dropped by the full sync.
        ok(
            &mut r.conn(),
            &[
                "FUNCTION",
                "LOAD",
                "#!lua name=stale\nserver.register_function('stale', function() return 1 end)",
            ],
        );
        replicaof(&r, &p);
        wait_synced(&p, &r);
        let mut rc = r.conn();
        assert_eq!(bulk(&rc.cmd(&["FCALL_RO", "myget", "1", "k"])), "v");
        assert_eq!(info_int(&mut rc, "memory", "number_of_libraries"), 1);
        // Scripts' effects stream to it like any writes.
        ok(
            &mut c,
            &[
                "EVAL",
                "redis.call('INCR', KEYS[1]); redis.call('SELECT', 2); \
                 redis.call('RPUSH', KEYS[2], ARGV[1]); return 1",
                "2",
                "counter",
                "list",
                "x",
            ],
        );
        ok(&mut c, &["FCALL", "myhset", "1", "h", "f", "v"]);
        wait_synced(&p, &r);
        assert_eq!(digest(&p), digest(&r));
    }
    // A Redis 7.0 replica loads the libraries of a Redwing primary too.
    let r = redis(&[]);
    replicaof(&r, &p);
    wait_synced(&p, &r);
    assert_eq!(bulk(&r.conn().cmd(&["FCALL_RO", "myget", "1", "k"])), "v");
    assert_eq!(digest(&p), digest(&r));
    // Valkey primary → Redwing replica, and a library loaded on the primary afterwards.
    let vp = valkey(&[]);
    let mut vc = vp.conn();
    ok(&mut vc, &["FUNCTION", "LOAD", LIB]);
    ok(&mut vc, &["SET", "k", "from-valkey"]);
    let r = redwing(&[]);
    replicaof(&r, &vp);
    wait_synced(&vp, &r);
    let mut rc = r.conn();
    assert_eq!(
        bulk(&rc.cmd(&["FCALL_RO", "myget", "1", "k"])),
        "from-valkey"
    );
    ok(
        &mut vc,
        &[
            "FUNCTION",
            "LOAD",
            "#!lua name=later\nserver.register_function('later', function(keys) return server.call('INCR', keys[1]) end)",
        ],
    );
    ok(&mut vc, &["FCALL", "later", "1", "n"]);
    ok(&mut vc, &["FCALL", "later", "1", "n"]);
    wait_synced(&vp, &r);
    assert_eq!(bulk(&rc.cmd(&["GET", "n"])), "2");
    assert_eq!(info_int(&mut rc, "memory", "number_of_libraries"), 2);
    assert_eq!(digest(&vp), digest(&r));
}

#[test]
fn function_dump_payloads_interoperate_with_valkey() {
    let rw = redwing(&[]);
    let vk = valkey(&[]);
    let mut rc = rw.conn();
    let mut vc = vk.conn();
    ok(&mut rc, &["FUNCTION", "LOAD", LIB]);
    let ours = rc
        .cmd(&["FUNCTION", "DUMP"])
        .as_bytes()
        .expect("dump")
        .to_vec();
    // RDB version 10 in Redwing's payloads, 11 in Valkey's; each restores the other's.
    assert_eq!(ours[ours.len() - 10..ours.len() - 8], [10, 0]);
    assert_eq!(
        vc.cmd_bytes(&[b"FUNCTION", b"RESTORE", &ours]),
        Frame::Simple("OK".into())
    );
    ok(&mut vc, &["SET", "k", "v"]);
    assert_eq!(bulk(&vc.cmd(&["FCALL", "myget", "1", "k"])), "v");
    let theirs = vc
        .cmd(&["FUNCTION", "DUMP"])
        .as_bytes()
        .expect("dump")
        .to_vec();
    assert_eq!(theirs[theirs.len() - 10..theirs.len() - 8], [11, 0]);
    assert_eq!(
        rc.cmd_bytes(&[b"FUNCTION", b"RESTORE", &theirs, b"REPLACE"]),
        Frame::Simple("OK".into())
    );
    assert_eq!(info_int(&mut rc, "memory", "number_of_libraries"), 1);
}

#[test]
fn functions_rdb_from_the_cli_holds_only_the_libraries() {
    let p = redwing(&[]);
    let mut c = p.conn();
    ok(&mut c, &["FUNCTION", "LOAD", LIB]);
    ok(&mut c, &["SET", "k", "v"]);
    let dir = std::env::temp_dir().join(format!("rw-functions-rdb-{}", p.port));
    std::fs::create_dir_all(&dir).expect("dir");
    let file = dir.join("functions.rdb");
    let cli = testkit::valkey_server_bin().with_file_name("valkey-cli");
    let out = std::process::Command::new(cli)
        .args(["-p", &p.port.to_string(), "--functions-rdb"])
        .arg(&file)
        .output()
        .expect("valkey-cli");
    assert!(out.status.success(), "{:?}", out);
    let copy = dir.join("dump.rdb");
    std::fs::copy(&file, &copy).expect("copy");
    let loaded = redwing(&[
        "--dir",
        dir.to_str().unwrap_or("."),
        "--dbfilename",
        "dump.rdb",
    ]);
    let mut lc = loaded.conn();
    wait_for("the load", T, || {
        field(&mut lc, "persistence", "loading") == "0"
    });
    assert_eq!(int(&lc.cmd(&["DBSIZE"])), 0);
    assert_eq!(info_int(&mut lc, "memory", "number_of_libraries"), 1);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn oom_rules_for_scripts() {
    let p = redwing(&[]);
    let mut c = p.conn();
    ok(&mut c, &["SET", "k", "v"]);
    ok(&mut c, &["CONFIG", "SET", "maxmemory", "1"]);
    // Shebang scripts are checked before they run; no-writes and allow-oom may run.
    assert_eq!(
        err_text(&c.cmd(&["EVAL", "#!lua\nreturn 1", "0"])),
        "OOM command not allowed when used memory > 'maxmemory'."
    );
    assert_eq!(
        bulk(&c.cmd(&[
            "EVAL",
            "#!lua flags=no-writes\nreturn redis.call('GET', 'k')",
            "0"
        ])),
        "v"
    );
    assert_eq!(
        c.cmd(&[
            "EVAL",
            "#!lua flags=allow-oom\nreturn redis.call('SET', 'k', 'w')",
            "0"
        ]),
        Frame::Simple("OK".into())
    );
    // Without a shebang the first deny-oom call fails inside the script.
    let e = err_text(&c.cmd(&["EVAL", "return redis.call('SET', 'k', 'x')", "0"]));
    assert!(
        e.starts_with("OOM command not allowed when used memory > 'maxmemory'."),
        "{e}"
    );
    ok(&mut c, &["CONFIG", "SET", "maxmemory", "0"]);
    assert_eq!(bulk(&c.cmd(&["GET", "k"])), "w");
}

/// redis-py's `Lock` scripts (`redis/lock.py`), run the way redis-py runs registered scripts:
/// EVALSHA first, SCRIPT LOAD + EVALSHA on NOSCRIPT.
const LOCK_RELEASE: &str = "\
local token = redis.call('get', KEYS[1])
if not token or token ~= ARGV[1] then
    return 0
end
redis.call('del', KEYS[1])
return 1
";
const LOCK_EXTEND: &str = "\
local token = redis.call('get', KEYS[1])
if not token or token ~= ARGV[1] then
    return 0
end
local expiration = redis.call('pttl', KEYS[1])
if not expiration then
    expiration = 0
end
if expiration < 0 then
    return 0
end

local newttl = ARGV[2]
if ARGV[3] == \"0\" then
    newttl = ARGV[2] + expiration
end
redis.call('pexpire', KEYS[1], newttl)
return 1
";

fn run_script(c: &mut Conn, body: &str, keys: &[&str], args: &[&str]) -> Frame {
    let sha = sha1(body);
    let n = keys.len().to_string();
    let mut argv = vec!["EVALSHA", sha.as_str(), n.as_str()];
    argv.extend_from_slice(keys);
    argv.extend_from_slice(args);
    let r = c.cmd(&argv);
    if matches!(&r, Frame::Error(e) if e.starts_with("NOSCRIPT")) {
        assert_eq!(bulk(&c.cmd(&["SCRIPT", "LOAD", body])), sha);
        return c.cmd(&argv);
    }
    r
}

/// SHA1 (FIPS 180-4), enough for a test to compute a script's digest as a client library does.
fn sha1_bytes(data: &[u8]) -> [u8; 20] {
    let mut h: [u32; 5] = [0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0];
    let mut msg = data.to_vec();
    let bits = (data.len() as u64).wrapping_mul(8);
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&bits.to_be_bytes());
    for block in msg.chunks(64) {
        let mut w = [0u32; 80];
        for (i, word) in block.chunks(4).enumerate() {
            w[i] = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
        }
        for i in 16..80 {
            w[i] = (w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16]).rotate_left(1);
        }
        let [mut a, mut b, mut c, mut d, mut e] = h;
        for (i, wi) in w.iter().enumerate() {
            let (f, k) = match i {
                0..=19 => ((b & c) | (!b & d), 0x5A827999),
                20..=39 => (b ^ c ^ d, 0x6ED9EBA1),
                40..=59 => ((b & c) | (b & d) | (c & d), 0x8F1BBCDC),
                _ => (b ^ c ^ d, 0xCA62C1D6),
            };
            let t = a
                .rotate_left(5)
                .wrapping_add(f)
                .wrapping_add(e)
                .wrapping_add(k)
                .wrapping_add(*wi);
            e = d;
            d = c;
            c = b.rotate_left(30);
            b = a;
            a = t;
        }
        for (x, y) in h.iter_mut().zip([a, b, c, d, e]) {
            *x = x.wrapping_add(y);
        }
    }
    let mut out = [0u8; 20];
    for (i, x) in h.iter().enumerate() {
        out[i * 4..i * 4 + 4].copy_from_slice(&x.to_be_bytes());
    }
    out
}

#[test]
fn redis_py_lock_scripts() {
    let p = redwing(&[]);
    let mut c = p.conn();
    // Acquire as redis-py does (SET NX PX), then release with the wrong and the right token.
    ok(&mut c, &["SET", "lock:res", "token-a", "NX", "PX", "10000"]);
    assert_eq!(
        c.cmd(&["SET", "lock:res", "token-b", "NX", "PX", "10000"]),
        Frame::Null
    );
    assert_eq!(
        int(&run_script(
            &mut c,
            LOCK_RELEASE,
            &["lock:res"],
            &["token-b"]
        )),
        0
    );
    assert_eq!(bulk(&c.cmd(&["GET", "lock:res"])), "token-a");
    // extend(additional_time=5000): the TTL grows; replace_ttl=True sets it.
    assert_eq!(
        int(&run_script(
            &mut c,
            LOCK_EXTEND,
            &["lock:res"],
            &["token-a", "5000", "0"]
        )),
        1
    );
    let ttl = int(&c.cmd(&["PTTL", "lock:res"]));
    assert!(ttl > 10_000 && ttl <= 15_000, "{ttl}");
    assert_eq!(
        int(&run_script(
            &mut c,
            LOCK_EXTEND,
            &["lock:res"],
            &["token-a", "2000", "1"]
        )),
        1
    );
    assert!(int(&c.cmd(&["PTTL", "lock:res"])) <= 2000);
    assert_eq!(
        int(&run_script(
            &mut c,
            LOCK_RELEASE,
            &["lock:res"],
            &["token-a"]
        )),
        1
    );
    assert_eq!(c.cmd(&["GET", "lock:res"]), Frame::Null);
    assert_eq!(
        int(&run_script(
            &mut c,
            LOCK_RELEASE,
            &["lock:res"],
            &["token-a"]
        )),
        0
    );
    // After SCRIPT FLUSH the client's EVALSHA falls back to SCRIPT LOAD.
    ok(&mut c, &["SCRIPT", "FLUSH"]);
    assert_eq!(
        int(&run_script(&mut c, LOCK_RELEASE, &["lock:res"], &["x"])),
        0
    );
}

/// A sliding-window rate limiter over a sorted set, as rate-limiting libraries write it:
/// drop the entries older than the window, count, admit and record if under the limit.
const SLIDING_WINDOW: &str = "\
local key = KEYS[1]
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
local member = ARGV[4]
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
local count = redis.call('ZCARD', key)
if count < limit then
  redis.call('ZADD', key, now, member)
  redis.call('PEXPIRE', key, window)
  return {1, limit - count - 1}
end
local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
return {0, tonumber(oldest[2]) + window - now}
";

#[test]
fn sliding_window_rate_limiter() {
    let p = redwing(&[]);
    let mut c = p.conn();
    let r = redwing(&[]);
    replicaof(&r, &p);
    wait_synced(&p, &r);
    let mut admit = |now: i64, id: &str| -> (i64, i64) {
        let reply = run_script(
            &mut c,
            SLIDING_WINDOW,
            &["rl:user1"],
            &[&now.to_string(), "1000", "3", id],
        );
        let Frame::Array(v) = reply else {
            panic!("{reply:?}")
        };
        (int(&v[0]), int(&v[1]))
    };
    assert_eq!(admit(10_000, "r1"), (1, 2));
    assert_eq!(admit(10_100, "r2"), (1, 1));
    assert_eq!(admit(10_200, "r3"), (1, 0));
    // The fourth request in the window is refused, told when the oldest leaves it.
    assert_eq!(admit(10_300, "r4"), (0, 700));
    // After the first request leaves the window, one more is admitted.
    assert_eq!(admit(11_001, "r5"), (1, 0));
    assert_eq!(admit(11_050, "r6"), (0, 50));
    let mut pc = p.conn();
    assert_eq!(int(&pc.cmd(&["ZCARD", "rl:user1"])), 3);
    assert!(int(&pc.cmd(&["PTTL", "rl:user1"])) > 0);
    // The replica got the same window through the scripts' effects.
    wait_synced(&p, &r);
    assert_eq!(digest(&p), digest(&r));
}
