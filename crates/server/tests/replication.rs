//! Redwing → Redwing replication through real processes: full syncs in every form, partial
//! resyncs, backlog overflow, chains, failover without full syncs, restarts, WAIT,
//! min-replicas, read-only replicas, primary-driven expiry, and REPLICAOF without disruption
//! (the revised contract of DESIGN.md: a replica at once, nothing held, the old stream applied
//! until the new primary answers).

mod common;

use common::*;
use testkit::{wait_for, Conn, ServerProc};

fn fill(c: &mut Conn, n: usize) {
    for i in 0..n {
        c.cmd(&["SET", &format!("key:{i}"), &format!("value:{i}")]);
    }
    c.cmd(&["HSET", "h", "a", "1", "b", "2"]);
    c.cmd(&["ZADD", "z", "1.5", "m1", "2", "m2"]);
    c.cmd(&["SADD", "s", "1", "2", "x"]);
    c.cmd(&["RPUSH", "l", "a", "b", "c"]);
}

fn full_sync_case(primary_args: &[&str], replica_args: &[&str]) {
    let p = redwing(primary_args);
    let r = redwing(replica_args);
    fill(&mut p.conn(), 500);
    replicaof(&r, &p);
    wait_synced(&p, &r);
    let mut pc = p.conn();
    pc.cmd(&["SET", "after", "sync"]);
    pc.cmd(&["INCR", "counter"]);
    wait_synced(&p, &r);
    assert_eq!(digest(&p), digest(&r));
    assert_eq!(stat(&p, "sync_full"), 1);
}

#[test]
fn diskless_full_sync_and_streaming() {
    full_sync_case(&[], &[]);
}

#[test]
fn disk_based_full_sync() {
    full_sync_case(&["--repl-diskless-sync", "no"], &[]);
}

/// Replicas arriving together at a primary with disk-based sync each get a snapshot of their
/// own offset: concurrent disk jobs rename their files over the same `dbfilename`, and each
/// sends the file it wrote (it used to reopen the path and could send another job's file,
/// leaving a replica with data that does not match its offset).
#[test]
fn disk_syncs_started_together_send_their_own_files() {
    let p = redwing(&["--repl-diskless-sync", "no"]);
    fill(&mut p.conn(), 20_000);
    let replicas: Vec<_> = (0..3).map(|_| redwing(&[])).collect();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let (stop, mut c) = (stop.clone(), p.conn());
        std::thread::spawn(move || {
            let mut i = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                c.cmd(&["INCR", "counter"]);
                c.cmd(&["SET", &format!("w:{}", i % 5000), &i.to_string()]);
                i += 1;
            }
        })
    };
    for r in &replicas {
        replicaof(r, &p);
    }
    for r in &replicas {
        wait_synced(&p, r);
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let _ = writer.join();
    for r in &replicas {
        wait_synced(&p, r);
        assert_eq!(digest(&p), digest(r), "{}", p.log());
    }
}

#[test]
fn diskless_load_modes() {
    full_sync_case(&[], &["--repl-diskless-load", "swapdb"]);
    full_sync_case(&[], &["--repl-diskless-load", "on-empty-db"]);
}

#[test]
fn writes_during_a_slow_full_sync_arrive() {
    let p = redwing(&["--rdb-key-save-delay", "200"]);
    let r = redwing(&[]);
    fill(&mut p.conn(), 2000);
    replicaof(&r, &p);
    let mut pc = p.conn();
    wait_for("transfer started", T, || {
        field(&mut pc, "replication", "slave0").contains("wait_bgsave")
    });
    for i in 0..300 {
        pc.cmd(&["SET", &format!("during:{i}"), "v"]);
        pc.cmd(&["LPUSH", "dl", &i.to_string()]);
        pc.cmd(&["HINCRBY", "dh", "f", "1"]);
        pc.cmd(&["ZINCRBY", "dz", "1", "m"]);
        pc.cmd(&["SADD", "ds", &i.to_string()]);
    }
    wait_synced(&p, &r);
    assert_eq!(digest(&p), digest(&r));
}

#[test]
fn replica_serves_old_data_while_loading() {
    let p = redwing(&["--rdb-key-save-delay", "1000"]);
    let r = redwing(&["--repl-diskless-load", "swapdb"]);
    fill(&mut p.conn(), 1000);
    r.conn().cmd(&["SET", "old", "data"]);
    replicaof(&r, &p);
    let mut rc = r.conn();
    wait_for("replica loading", T, || {
        field(&mut rc, "replication", "master_sync_in_progress") == "1"
    });
    assert_eq!(
        rc.text(&["GET", "old"]),
        "data",
        "old data must stay readable during the sync"
    );
    wait_synced(&p, &r);
    assert_eq!(rc.cmd(&["GET", "old"]).text(), "(nil)");
    assert_eq!(digest(&p), digest(&r));
}

/// Commands arrive split across reads; the replica must count each command's exact size (a
/// miscount looks like a desync and forces a full sync).
#[test]
fn commands_split_across_reads() {
    let p = redwing(&[]);
    let r = redwing(&[]);
    replicaof(&r, &p);
    wait_synced(&p, &r);
    let mut pc = p.conn();
    // A few MB pipelined in one go: the stream reaches the replica in reads that end at
    // arbitrary points inside commands.
    let mut out = Vec::new();
    for i in 0..3000 {
        let v = format!("{i}-").repeat(200 + i % 1000);
        resp::reply::encode_command(&mut out, &["SET", &format!("k:{i}"), &v]);
    }
    for i in 0..20 {
        resp::reply::encode_command(
            &mut out,
            &["SET", &format!("big:{i}"), &"b".repeat(150_000)],
        );
    }
    pc.write_raw(&out);
    for _ in 0..3020 {
        assert_eq!(pc.read_frame().text(), "OK");
    }
    wait_synced(&p, &r);
    assert_eq!(digest(&p), digest(&r));
    assert_eq!(stat(&p, "sync_full"), 1, "no resync: {}", r.log());
}

/// A link that times out (`MASTER timeout`) is cached like a lost connection: the replica
/// resyncs partially once the primary answers again.
#[test]
fn partial_resync_after_a_master_timeout() {
    let p = redwing(&[]);
    let r = redwing(&["--repl-timeout", "1"]);
    fill(&mut p.conn(), 100);
    replicaof(&r, &p);
    wait_synced(&p, &r);
    p.pause();
    r.wait_log("MASTER timeout", T);
    p.resume();
    p.conn().cmd(&["SET", "after", "timeout"]);
    wait_synced(&p, &r);
    assert_eq!(digest(&p), digest(&r));
    assert_eq!(
        stat(&p, "sync_full"),
        1,
        "no full sync after a timeout: {}",
        r.log()
    );
    assert!(stat(&p, "sync_partial_ok") >= 1);
}

/// The old primary, killed and restarted from its RDB, then pointed at the replica promoted
/// in its place, resyncs partially: its restarted history is the previous one up to its save,
/// which the promoted replica knows as its secondary id.
#[test]
fn restarted_old_primary_resyncs_partially_with_the_promoted_replica() {
    let mut p = redwing(&[]);
    let r = redwing(&[]);
    fill(&mut p.conn(), 300);
    replicaof(&r, &p);
    wait_synced(&p, &r);
    assert_eq!(p.conn().text(&["SAVE"]), "OK");
    wait_synced(&p, &r);
    p.kill();
    let mut rc = r.conn();
    assert_eq!(rc.text(&["REPLICAOF", "NO", "ONE"]), "OK");
    rc.cmd(&["SET", "written", "after-promotion"]);
    p.restart();
    replicaof(&p, &r);
    wait_synced(&r, &p);
    assert_eq!(digest(&p), digest(&r));
    assert_eq!(p.conn().text(&["GET", "written"]), "after-promotion");
    assert_eq!(stat(&r, "sync_full"), 0, "no full sync: {}", p.log());
    assert_eq!(stat(&r, "sync_partial_ok"), 1);
}

/// A connected replica is never dropped because the stream outruns the backlog size: one
/// command larger than the backlog, and a long load on the replica while writes continue,
/// keep the replica (only the output-buffer limits can drop it, as in Valkey).
#[test]
fn a_stream_larger_than_the_backlog_keeps_connected_replicas() {
    let p = redwing(&["--repl-backlog-size", "16384"]);
    let r = redwing(&["--key-load-delay", "100"]);
    fill(&mut p.conn(), 5000);
    replicaof(&r, &p);
    let mut rc = r.conn();
    let mut pc = p.conn();
    wait_for("the replica to load", T, || {
        field(&mut rc, "replication", "master_sync_in_progress") == "1"
    });
    // Written while the replica loads (0.5 s): far more than the 16 KB backlog.
    let value = "x".repeat(4096);
    for i in 0..200 {
        pc.cmd(&["SET", &format!("during-load:{i}"), &value]);
    }
    wait_synced(&p, &r);
    pc.cmd(&["SET", "huge", &"h".repeat(200_000)]);
    wait_synced(&p, &r);
    assert_eq!(digest(&p), digest(&r));
    assert_eq!(
        stat(&p, "sync_full"),
        1,
        "the replica was never dropped: {}",
        p.log()
    );
}

/// `replica` follows `primary` through a fault-injecting proxy; returns the proxy and a
/// connection to the replica.
fn follow_through_proxy(replica: &ServerProc, primary: &ServerProc) -> (testkit::Proxy, Conn) {
    let proxy = testkit::Proxy::start(primary.port).expect("proxy");
    let mut rc = replica.conn();
    assert_eq!(
        rc.text(&["REPLICAOF", "127.0.0.1", &proxy.port.to_string()]),
        "OK"
    );
    (proxy, rc)
}

/// A replica applies `SET ... PXAT` even when that time has passed by the time the command
/// arrives (a lagging link): the key stays until the primary says otherwise (here a PERSIST
/// made it permanent). Redis's checkAlreadyExpired rule.
#[test]
fn a_lagging_replica_keeps_keys_whose_expiry_passed_in_transit() {
    let p = redwing(&[]);
    let r = redwing(&[]);
    let (proxy, mut rc) = follow_through_proxy(&r, &p);
    wait_for("replica link up", T, || {
        field(&mut rc, "replication", "master_link_status") == "up"
    });
    proxy.set_delay(std::time::Duration::from_millis(800));
    let mut pc = p.conn();
    for i in 0..5 {
        pc.cmd(&["SET", &format!("k{i}"), "v", "PX", "300"]);
    }
    for i in 0..5 {
        assert_eq!(pc.int(&["PERSIST", &format!("k{i}")]), 1);
    }
    proxy.heal();
    wait_synced(&p, &r);
    for i in 0..5 {
        assert_eq!(
            rc.text(&["GET", &format!("k{i}")]),
            "v",
            "k{i} on the replica"
        );
    }
    assert_eq!(digest(&p), digest(&r));
}

/// The receiving end of Valkey's FAILOVER: `PSYNC <our replid> <offset> FAILOVER` from the
/// primary makes the replica a primary, which then continues the old primary's PSYNC.
#[test]
fn psync_failover_promotes_the_replica() {
    let p = redwing(&[]);
    let r = redwing(&[]);
    fill(&mut p.conn(), 50);
    replicaof(&r, &p);
    wait_synced(&p, &r);
    let mut rc = r.conn();
    let replid = field(&mut rc, "replication", "master_replid");
    let offset: i64 = field(&mut rc, "replication", "master_repl_offset")
        .parse()
        .unwrap_or(0);
    let mut other = r.conn();
    let e = other.cmd(&["PSYNC", &"f".repeat(40), "1", "FAILOVER"]);
    assert_eq!(e.text(), "ERR PSYNC FAILOVER replid must match my replid.");
    let mut old = r.conn();
    assert_eq!(
        old.text(&["REPLCONF", "capa", "eof", "capa", "psync2"]),
        "OK"
    );
    old.send(&[
        b"PSYNC",
        replid.as_bytes(),
        (offset + 1).to_string().as_bytes(),
        b"FAILOVER",
    ]);
    let reply = old.read_raw_reply().unwrap_or_default();
    let line = String::from_utf8_lossy(&reply).into_owned();
    assert!(line.starts_with("+CONTINUE "), "{line}");
    assert_eq!(field(&mut rc, "replication", "role"), "master");
    assert_eq!(field(&mut rc, "replication", "master_replid2"), replid);
    assert_eq!(stat(&r, "sync_partial_ok"), 1);
}

#[test]
fn partial_resync_after_link_kill() {
    let p = redwing(&[]);
    let r = redwing(&[]);
    fill(&mut p.conn(), 100);
    replicaof(&r, &p);
    wait_synced(&p, &r);
    let mut pc = p.conn();
    pc.cmd(&["CLIENT", "KILL", "TYPE", "replica"]);
    for i in 0..50 {
        pc.cmd(&["SET", &format!("gap:{i}"), "x"]);
    }
    wait_synced(&p, &r);
    r.conn().cmd(&["CLIENT", "KILL", "TYPE", "master"]);
    pc.cmd(&["SET", "more", "1"]);
    wait_synced(&p, &r);
    assert_eq!(digest(&p), digest(&r));
    assert_eq!(stat(&p, "sync_full"), 1, "no new full sync");
    assert!(stat(&p, "sync_partial_ok") >= 2);
}

/// CLIENT PAUSE WRITE on a replica: it keeps reading its primary's stream but applies none of
/// its writes until the pause ends (Valkey postpones its primary client like any writer).
#[test]
fn a_paused_replica_reads_the_stream_and_applies_it_after_the_pause() {
    let p = redwing(&[]);
    let r = redwing(&[]);
    replicaof(&r, &p);
    wait_synced(&p, &r);
    // A write after the sync puts the stream's SELECT behind us (not a write: never held).
    let mut pc = p.conn();
    pc.cmd(&["SET", "before", "1"]);
    wait_synced(&p, &r);
    let mut rc = r.conn();
    let applied = field(&mut rc, "replication", "slave_repl_offset");
    assert_eq!(rc.text(&["CLIENT", "PAUSE", "100000", "WRITE"]), "OK");
    pc.cmd(&["SET", "during", "2"]);
    let target = field(&mut pc, "replication", "master_repl_offset");
    wait_for("the replica reads the paused write", T, || {
        field(&mut rc, "replication", "slave_read_repl_offset") == target
    });
    assert_eq!(
        field(&mut rc, "replication", "slave_repl_offset"),
        applied,
        "nothing applied during the pause"
    );
    assert_eq!(
        rc.cmd(&["GET", "during"]),
        resp::Frame::Null,
        "reads are served"
    );
    assert_eq!(rc.text(&["CLIENT", "UNPAUSE"]), "OK");
    wait_synced(&p, &r);
    assert_eq!(rc.text(&["GET", "during"]), "2");
    assert_eq!(digest(&p), digest(&r));
}

#[test]
fn backlog_overflow_forces_full_sync() {
    let p = redwing(&["--repl-backlog-size", "16384"]);
    let r = redwing(&[]);
    replicaof(&r, &p);
    wait_synced(&p, &r);
    let mut rc = r.conn();
    rc.cmd(&["CONFIG", "SET", "repl-timeout", "1"]);
    r.pause();
    let mut pc = p.conn();
    // Disconnected first: the writes reach only the backlog, which they overrun. (Bytes
    // already in the replica's socket would still be applied after the close.)
    pc.cmd(&["CLIENT", "KILL", "TYPE", "replica"]);
    let big = "x".repeat(1000);
    for i in 0..100 {
        pc.cmd(&["SET", &format!("k{i}"), &big]);
    }
    r.resume();
    wait_synced(&p, &r);
    assert_eq!(digest(&p), digest(&r));
    assert_eq!(
        stat(&p, "sync_full"),
        2,
        "backlog overrun needs a full sync"
    );
}

#[test]
fn chain_of_three_keeps_the_same_stream() {
    let a = redwing(&[]);
    let b = redwing(&[]);
    let c = redwing(&[]);
    fill(&mut a.conn(), 200);
    replicaof(&b, &a);
    wait_synced(&a, &b);
    replicaof(&c, &b);
    wait_synced(&b, &c);
    let mut ac = a.conn();
    for i in 0..100 {
        ac.cmd(&["MSET", &format!("c{i}"), "v", &format!("d{i}"), "w"]);
    }
    ac.cmd(&["MULTI"]);
    ac.cmd(&["SET", "tx1", "a"]);
    ac.cmd(&["SET", "tx2", "b"]);
    ac.cmd(&["EXEC"]);
    wait_synced(&a, &b);
    wait_synced(&b, &c);
    assert_eq!(digest(&a), digest(&c));
    let replid = |s: &testkit::ServerProc| field(&mut s.conn(), "replication", "master_replid");
    assert_eq!(replid(&a), replid(&c), "the whole chain shares one history");
}

#[test]
fn failover_without_any_new_full_sync() {
    let a = redwing(&[]);
    let b = redwing(&[]);
    let c = redwing(&[]);
    fill(&mut a.conn(), 200);
    replicaof(&b, &a);
    replicaof(&c, &a);
    wait_synced(&a, &b);
    wait_synced(&a, &c);
    let fulls = stat(&a, "sync_full");
    // Promote b, repoint c and the old primary a to it.
    b.conn().cmd(&["REPLICAOF", "NO", "ONE"]);
    replicaof(&c, &b);
    replicaof(&a, &b);
    wait_synced(&b, &c);
    wait_synced(&b, &a);
    b.conn().cmd(&["SET", "after-failover", "1"]);
    wait_synced(&b, &c);
    wait_synced(&b, &a);
    assert_eq!(digest(&a), digest(&b));
    assert_eq!(digest(&c), digest(&b));
    assert_eq!(
        stat(&b, "sync_full"),
        0,
        "siblings and the demoted primary resync partially"
    );
    assert_eq!(stat(&a, "sync_full"), fulls);
    assert_eq!(stat(&b, "sync_partial_ok"), 2);
}

#[test]
fn restarted_replica_resyncs_partially() {
    let p = redwing(&[]);
    let mut r = redwing(&["--save", "3600 1"]);
    fill(&mut p.conn(), 100);
    replicaof(&r, &p);
    wait_synced(&p, &r);
    // SIGTERM with save points: the shutdown save records repl-id / repl-offset.
    r.stop();
    p.conn().cmd(&["SET", "while-down", "1"]);
    r.set_args(&[
        "--save",
        "3600 1",
        "--replicaof",
        "127.0.0.1",
        &p.port.to_string(),
    ]);
    r.restart();
    wait_synced(&p, &r);
    assert_eq!(digest(&p), digest(&r));
    assert_eq!(
        stat(&p, "sync_full"),
        1,
        "restart resumes with a partial resync"
    );
}

#[test]
fn restarted_replica_that_served_its_own_replica_first_resyncs_partially() {
    // A replica restarted without `replicaof` comes back as a primary whose new id names the
    // same history; its own replica reconnects first and continues under that new id. When
    // it is then told to follow its primary again, it still asks for the history the primary
    // knows, and its replica continues under the id it was given: no full sync anywhere.
    let p = redwing(&[]);
    let mut a = redwing(&["--save", "3600 1"]);
    let c = redwing(&[]);
    fill(&mut p.conn(), 100);
    replicaof(&a, &p);
    wait_synced(&p, &a);
    replicaof(&c, &a);
    wait_synced(&a, &c);
    a.stop();
    p.conn().cmd(&["SET", "while-down", "1"]);
    a.restart();
    let mut cc = c.conn();
    wait_for(
        "the sub-replica continued with the restarted node",
        T,
        || field(&mut cc, "replication", "master_link_status") == "up",
    );
    replicaof(&a, &p);
    wait_synced(&p, &a);
    wait_synced(&a, &c);
    assert_eq!(digest(&p), digest(&c));
    assert_eq!(stat(&p, "sync_full"), 1, "the restarted node full-synced");
    assert_eq!(stat(&a, "sync_full"), 0, "its replica full-synced");
}

#[test]
fn wait_and_min_replicas() {
    let p = redwing(&[]);
    let r = redwing(&[]);
    replicaof(&r, &p);
    wait_synced(&p, &r);
    let mut pc = p.conn();
    pc.cmd(&["SET", "k", "v"]);
    assert_eq!(pc.int(&["WAIT", "1", "5000"]), 1);
    assert_eq!(
        pc.int(&["WAIT", "2", "100"]),
        1,
        "times out with the count reached"
    );
    pc.cmd(&["CONFIG", "SET", "min-replicas-to-write", "2"]);
    wait_for("min-replicas applied", T, || {
        pc.cmd(&["SET", "x", "1"]).text().starts_with("NOREPLICAS")
    });
    pc.cmd(&["CONFIG", "SET", "min-replicas-to-write", "1"]);
    wait_for("writes allowed again", T, || {
        pc.cmd(&["SET", "x", "1"]).text() == "OK"
    });
}

#[test]
fn replica_is_read_only_and_expiry_is_primary_driven() {
    let p = redwing(&[]);
    let r = redwing(&[]);
    replicaof(&r, &p);
    wait_synced(&p, &r);
    let mut rc = r.conn();
    assert!(rc.cmd(&["SET", "x", "1"]).text().starts_with("READONLY"));
    let mut pc = p.conn();
    pc.cmd(&["DEBUG", "SET-ACTIVE-EXPIRE", "0"]);
    pc.cmd(&["SET", "short", "v", "PX", "200"]);
    wait_synced(&p, &r);
    wait_for("key logically expired on the replica", T, || {
        rc.cmd(&["GET", "short"]).text() == "(nil)"
    });
    assert_eq!(
        rc.int(&["DBSIZE"]),
        1,
        "the replica keeps it until the primary deletes it"
    );
    assert_eq!(
        pc.cmd(&["GET", "short"]).text(),
        "(nil)",
        "the primary expires it on access"
    );
    wait_synced(&p, &r);
    wait_for("DEL propagated", T, || rc.int(&["DBSIZE"]) == 0);
}

/// A primary that completes the handshake and never answers PSYNC (what a node sees of a new
/// primary slow to answer); the connections stay open. Returns its port.
fn silent_primary() -> u16 {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut sock) = conn else { return };
            std::thread::spawn(move || {
                let mut parser = resp::RequestParser::new(1 << 20);
                let mut inbuf = bytes::BytesMut::new();
                let mut buf = [0u8; 4096];
                loop {
                    let n = match sock.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => n,
                    };
                    inbuf.extend_from_slice(&buf[..n]);
                    while let Ok(resp::Parsed::Command(argv)) = parser.parse(&mut inbuf) {
                        let reply: &[u8] = match argv[0].to_ascii_lowercase().as_slice() {
                            b"ping" => b"+PONG\r\n",
                            b"psync" | b"sync" => b"",
                            _ => b"+OK\r\n",
                        };
                        if sock.write_all(reply).is_err() {
                            return;
                        }
                    }
                }
            });
        }
    });
    port
}

fn role(c: &mut Conn) -> Vec<String> {
    match c.cmd(&["ROLE"]) {
        resp::frame::Frame::Array(items) => items.iter().map(|f| f.text()).collect(),
        other => panic!("ROLE: {other:?}"),
    }
}

/// The revised REPLICAOF contract (DESIGN.md): ROLE and INFO show the new primary at once with
/// the link down, writes are refused with READONLY from that moment, reads, PING and PUBLISH
/// answer at once; REPLICAOF NO ONE makes the node a primary again with its data.
#[test]
fn replicaof_unreachable_host_is_a_replica_at_once() {
    let p = redwing(&[]);
    let dead_port = testkit::proc::free_port().to_string();
    let mut pc = p.conn();
    pc.cmd(&["SET", "k", "v"]);
    assert_eq!(pc.text(&["REPLICAOF", "127.0.0.1", &dead_port]), "OK");
    let r = role(&mut pc);
    assert_eq!(r[..3], ["slave", "127.0.0.1", dead_port.as_str()]);
    assert!(["connect", "connecting"].contains(&r[3].as_str()), "{r:?}");
    assert_eq!(r[4], "-1");
    assert_eq!(field(&mut pc, "replication", "role"), "slave");
    assert_eq!(field(&mut pc, "replication", "master_host"), "127.0.0.1");
    assert_eq!(field(&mut pc, "replication", "master_port"), dead_port);
    assert_eq!(field(&mut pc, "replication", "master_link_status"), "down");
    assert_eq!(field(&mut pc, "replication", "replicaof_pending_host"), "");
    let e = pc.cmd(&["SET", "still", "writable"]);
    assert!(e.text().starts_with("READONLY"), "{e:?}");
    assert_eq!(pc.text(&["GET", "k"]), "v");
    assert_eq!(pc.text(&["PING"]), "PONG");
    assert_eq!(pc.int(&["PUBLISH", "ch", "m"]), 0);
    wait_for("the attempt failed and is retried", T, || {
        !field(&mut pc, "replication", "master_last_error").is_empty()
    });
    let cfg = format!("{:?}", pc.cmd(&["CONFIG", "GET", "replicaof"]));
    assert!(cfg.contains(&format!("127.0.0.1 {dead_port}")), "{cfg}");
    assert_eq!(pc.text(&["REPLICAOF", "NO", "ONE"]), "OK");
    assert_eq!(role(&mut pc)[0], "master");
    assert_eq!(pc.text(&["SET", "writable", "again"]), "OK");
    assert_eq!(pc.text(&["GET", "k"]), "v");
}

/// While the new primary has not answered PSYNC nothing is held: writes are refused at once,
/// reads, PING and PUBLISH answer, INFO and ROLE show the handshake.
#[test]
fn nothing_is_held_while_the_new_primary_has_not_answered_psync() {
    let r = redwing(&[]);
    let silent = silent_primary().to_string();
    let mut rc = r.conn();
    rc.cmd(&["SET", "k", "v"]);
    assert_eq!(rc.text(&["REPLICAOF", "127.0.0.1", &silent]), "OK");
    r.wait_log("Trying a partial resynchronization", T);
    assert_eq!(
        role(&mut rc),
        ["slave", "127.0.0.1", silent.as_str(), "handshake", "-1"]
    );
    assert_eq!(field(&mut rc, "replication", "master_link_status"), "down");
    assert_eq!(
        field(&mut rc, "replication", "master_sync_in_progress"),
        "0"
    );
    rc.set_timeout(std::time::Duration::from_secs(2));
    assert!(rc.cmd(&["SET", "x", "1"]).text().starts_with("READONLY"));
    assert!(rc.cmd(&["INCR", "n"]).text().starts_with("READONLY"));
    assert_eq!(rc.text(&["GET", "k"]), "v");
    assert_eq!(rc.text(&["PING"]), "PONG");
    assert_eq!(rc.int(&["PUBLISH", "ch", "m"]), 0);
    let mut other = r.conn();
    other.set_timeout(std::time::Duration::from_secs(2));
    assert!(other.cmd(&["DEL", "k"]).text().starts_with("READONLY"));
    assert_eq!(rc.text(&["REPLICAOF", "NO", "ONE"]), "OK");
    assert_eq!(rc.text(&["SET", "x", "1"]), "OK");
}

/// A replica told to follow a sibling keeps applying its old primary's stream until the
/// sibling answers, then asks it with the exact offset: a partial resync, without LOADING.
#[test]
fn a_replica_applies_the_old_stream_until_the_new_primary_answers() {
    let a = redwing(&[]);
    let b = redwing(&[]);
    let c = redwing(&[]);
    fill(&mut a.conn(), 100);
    replicaof(&b, &a);
    replicaof(&c, &a);
    wait_synced(&a, &b);
    wait_synced(&a, &c);
    let proxy = testkit::Proxy::start(c.port).expect("proxy");
    proxy.set_stalled(true);
    let mut bc = b.conn();
    let to = proxy.port.to_string();
    assert_eq!(bc.text(&["REPLICAOF", "127.0.0.1", &to]), "OK");
    assert_eq!(field(&mut bc, "replication", "master_port"), to);
    assert_eq!(field(&mut bc, "replication", "master_link_status"), "down");
    let mut ac = a.conn();
    for i in 0..50 {
        ac.cmd(&["INCR", "counter"]);
        ac.cmd(&["SET", &format!("while-switching:{i}"), "v"]);
    }
    wait_for("the old primary's stream applied meanwhile", T, || {
        bc.cmd(&["GET", "counter"]).text() == "50"
    });
    assert!(bc.cmd(&["SET", "x", "1"]).text().starts_with("READONLY"));
    wait_synced(&a, &c);
    let log_before = b.log().len();
    proxy.heal();
    wait_synced(&c, &b);
    ac.cmd(&["INCR", "counter"]);
    wait_synced(&a, &c);
    wait_synced(&c, &b);
    assert_eq!(bc.text(&["GET", "counter"]), "51");
    assert_eq!(digest(&a), digest(&b));
    assert_eq!(stat(&c, "sync_full"), 0, "no full sync: {}", b.log());
    assert_eq!(stat(&c, "sync_partial_ok"), 1);
    let log = b.log();
    let since = &log[log_before..];
    assert!(
        since.contains("Master accepted a Partial Resynchronization"),
        "{since}"
    );
    assert!(!since.contains("Loading DB in memory"), "{since}");
}

/// REPLICAOF naming the primary already followed (or being connected to) changes nothing.
#[test]
fn replicaof_the_same_primary_again_changes_nothing() {
    let p = redwing(&[]);
    let r = redwing(&[]);
    fill(&mut p.conn(), 50);
    replicaof(&r, &p);
    wait_synced(&p, &r);
    let mut rc = r.conn();
    let port = p.port.to_string();
    assert_eq!(
        rc.text(&["REPLICAOF", "127.0.0.1", &port]),
        "OK Already connected to specified master"
    );
    assert_eq!(role(&mut rc)[3], "connected");
    p.conn().cmd(&["SET", "after", "1"]);
    wait_synced(&p, &r);
    assert_eq!((stat(&p, "sync_full"), stat(&p, "sync_partial_ok")), (1, 0));
    assert_eq!(r.log().matches("Connecting to MASTER").count(), 1);
    // Also while the first attempt is still under way.
    let dead = testkit::proc::free_port().to_string();
    assert_eq!(rc.text(&["REPLICAOF", "127.0.0.1", &dead]), "OK");
    assert_eq!(
        rc.text(&["REPLICAOF", "127.0.0.1", &dead]),
        "OK Already connected to specified master"
    );
    let enabled = format!("REPLICAOF 127.0.0.1:{dead} enabled");
    assert_eq!(r.log().matches(&enabled).count(), 1);
}

/// REPLICAOF NO ONE cancels a REPLICAOF under way: the node is a primary again with its data
/// and history (the old id valid for its replicas), and never syncs from the other node.
#[test]
fn replicaof_no_one_cancels_a_pending_replicaof() {
    let p = redwing(&[]);
    let r = redwing(&[]);
    let other = redwing(&[]);
    fill(&mut p.conn(), 50);
    replicaof(&r, &p);
    wait_synced(&p, &r);
    other.pause();
    let mut rc = r.conn();
    let replid = field(&mut rc, "replication", "master_replid");
    assert_eq!(
        rc.text(&["REPLICAOF", "127.0.0.1", &other.port.to_string()]),
        "OK"
    );
    assert_eq!(rc.text(&["REPLICAOF", "NO", "ONE"]), "OK");
    assert_eq!(role(&mut rc)[0], "master");
    assert_eq!(field(&mut rc, "replication", "master_replid2"), replid);
    assert_eq!(rc.text(&["SET", "mine", "1"]), "OK");
    other.resume();
    let mut oc = other.conn();
    assert_eq!(field(&mut oc, "replication", "connected_slaves"), "0");
    assert_eq!(stat(&other, "sync_full"), 0);
    assert_eq!(rc.text(&["GET", "key:1"]), "value:1");
}

/// A primary told to follow an unreachable node is a replica whose link is down: like Valkey,
/// it answers any sync with -NOMASTERLINK; once a primary again (REPLICAOF NO ONE) its
/// replicas continue partially and a new one is served a full sync.
#[test]
fn a_replica_with_its_link_down_refuses_syncs_until_promoted() {
    let p = redwing(&[]);
    let r1 = redwing(&[]);
    fill(&mut p.conn(), 50);
    replicaof(&r1, &p);
    wait_synced(&p, &r1);
    let mut pc = p.conn();
    let dead = testkit::proc::free_port().to_string();
    assert_eq!(pc.text(&["REPLICAOF", "127.0.0.1", &dead]), "OK");
    pc.cmd(&["CLIENT", "KILL", "TYPE", "replica"]);
    let r2 = redwing(&[]);
    replicaof(&r2, &p);
    let refused = "Can't SYNC while not connected with my master";
    wait_for("both replicas refused", T, || {
        r1.log().contains(refused) && r2.log().contains(refused)
    });
    assert_eq!(stat(&p, "sync_full"), 1, "only r1's first sync");
    assert_eq!(stat(&p, "sync_partial_ok"), 0);
    pc.cmd(&["REPLICAOF", "NO", "ONE"]);
    pc.cmd(&["SET", "after-promotion", "1"]);
    wait_synced(&p, &r1);
    wait_synced(&p, &r2);
    assert_eq!(digest(&p), digest(&r1));
    assert_eq!(digest(&p), digest(&r2));
    assert_eq!(stat(&p, "sync_partial_ok"), 1, "r1 continued");
    assert_eq!(stat(&p, "sync_full"), 2, "r2's full sync");
}

#[test]
fn replicaof_does_not_reconnect_the_primary_being_left() {
    // A replica whose link to its primary is down is told to follow an unreachable node;
    // the old primary comes back empty (a fresh history). The replica must not reconnect to
    // the primary it is leaving and full-sync its empty dataset: it keeps its data and
    // keeps trying the new primary.
    let mut p = redwing(&[]);
    let r = redwing(&[]);
    fill(&mut p.conn(), 100);
    replicaof(&r, &p);
    wait_synced(&p, &r);
    let mut rc = r.conn();
    let keys = rc.int(&["DBSIZE"]);
    p.kill();
    wait_for("link down", T, || {
        field(&mut rc, "replication", "master_link_status") == "down"
    });
    let dead = testkit::proc::free_port().to_string();
    assert_eq!(rc.text(&["REPLICAOF", "127.0.0.1", &dead]), "OK");
    p.restart();
    let to_dead = format!("Connecting to MASTER 127.0.0.1:{dead}\n");
    let after_restart = r.log().matches(&to_dead).count();
    wait_for("three more attempts at the new primary", T, || {
        r.log().matches(&to_dead).count() >= after_restart + 3
    });
    assert_eq!(
        stat(&p, "sync_full"),
        0,
        "the old primary served a full sync"
    );
    assert_eq!(rc.int(&["DBSIZE"]), keys, "the replica lost its data");
    let log = r.log();
    let since = log.rfind("REPLICAOF 127.0.0.1:").unwrap_or(0);
    let to_old = format!("Connecting to MASTER 127.0.0.1:{}\n", p.port);
    assert!(
        !log[since..].contains(&to_old),
        "reconnected to the old primary while leaving it"
    );
}

#[test]
fn replicaof_racing_replicaof_last_wins() {
    let a = redwing(&[]);
    let b = redwing(&[]);
    let r = redwing(&[]);
    a.conn().cmd(&["SET", "from", "a"]);
    b.conn().cmd(&["SET", "from", "b"]);
    let mut rc = r.conn();
    for _ in 0..5 {
        rc.cmd(&["REPLICAOF", "127.0.0.1", &a.port.to_string()]);
        rc.cmd(&["REPLICAOF", "127.0.0.1", &b.port.to_string()]);
    }
    wait_synced(&b, &r);
    assert_eq!(
        field(&mut rc, "replication", "master_port"),
        b.port.to_string()
    );
    assert_eq!(rc.text(&["GET", "from"]), "b");
}

/// A sub-replica that full-syncs from a replica continues in the database its primary's
/// stream selected last: the snapshot's `repl-stream-db` (and, dual-channel, `$ENDOFF`'s)
/// is that database, not 0. The top primary writes no new SELECT after the sub-replica's
/// sync, so a wrong one puts every later write in the wrong database (a flake of Valkey's
/// psync2-pingoff unit under load: INCR applied to db 0 on two sub-replicas).
#[test]
fn a_sub_replica_synced_from_a_replica_continues_in_the_streams_database() {
    for dual in ["no", "yes"] {
        let args = ["--dual-channel-replication-enabled", dual];
        let a = redwing(&args);
        let b = redwing(&args);
        let c = redwing(&args);
        replicaof(&b, &a);
        wait_synced(&a, &b);
        let mut ac = a.conn();
        ac.cmd(&["SELECT", "9"]);
        ac.cmd(&["SET", "x", "1"]);
        wait_synced(&a, &b);
        replicaof(&c, &b);
        wait_synced(&b, &c);
        ac.cmd(&["INCR", "x"]);
        wait_synced(&a, &b);
        wait_synced(&b, &c);
        let mut cc = c.conn();
        cc.cmd(&["SELECT", "9"]);
        assert_eq!(
            cc.text(&["GET", "x"]),
            "2",
            "dual-channel {dual}: INCR in db 9"
        );
        cc.cmd(&["SELECT", "0"]);
        assert_eq!(
            cc.int(&["EXISTS", "x"]),
            0,
            "dual-channel {dual}: nothing in db 0"
        );
        assert_eq!(digest(&a), digest(&c), "dual-channel {dual}");
    }
}

/// A command the replica does not know is never skipped (DESIGN: the stream never diverges
/// in silence): nothing after it is applied, INFO names it and its offset, the link is closed
/// and the cached primary discarded, and streaming resumes only after a full sync (which
/// clears the halt), backing off when it halts again soon after.
#[test]
fn an_unknown_command_in_the_stream_halts_it_until_a_full_sync() {
    let p = redwing(&[]);
    let r = redwing(&[]);
    let mut pc = p.conn();
    pc.cmd(&["DEBUG", "POPULATE", "20000"]);
    replicaof(&r, &p);
    wait_synced(&p, &r);
    let mut rc = r.conn();
    // The full sync that ends the halt takes about 2 s: the halted state can be watched.
    pc.cmd(&["CONFIG", "SET", "rdb-key-save-delay", "100"]);
    pc.cmd(&["SET", "before", "1"]); // the stream's SELECT comes before this
    wait_synced(&p, &r);
    let offset: i64 = field(&mut rc, "replication", "master_repl_offset")
        .parse()
        .unwrap_or(-1);
    pc.cmd(&["DEBUG", "REPLICATE", "no-such-command", "x"]);
    pc.cmd(&["SET", "after", "2"]);
    wait_for("the replica to halt", T, || {
        field(&mut rc, "replication", "master_stream_halted") == "1"
    });
    assert_eq!(
        field(&mut rc, "replication", "master_stream_halted_command"),
        "no-such-command"
    );
    assert_eq!(
        field(&mut rc, "replication", "master_stream_halted_offset"),
        (offset + 1).to_string(),
        "the offset of its first byte"
    );
    assert_eq!(rc.int(&["EXISTS", "after"]), 0, "nothing after it applied");
    assert_eq!(rc.int(&["DBSIZE"]), 20001, "the old data is still served");
    let log = r.log();
    let critical = log
        .lines()
        .find(|l| l.contains("does not know"))
        .unwrap_or_else(|| panic!("no halt line in the replica's log:\n{log}"));
    assert!(critical.contains("== CRITICAL =="), "{critical}");

    wait_for("the replica to resume after a full sync", T, || {
        stat(&p, "sync_full") == 2 && field(&mut rc, "replication", "master_link_status") == "up"
    });
    wait_synced(&p, &r);
    assert_eq!(field(&mut rc, "replication", "master_stream_halted"), "0");
    assert!(r
        .log()
        .contains("is no longer pending: a full sync brought the primary's dataset"));
    assert_eq!(rc.text(&["GET", "after"]), "2", "the full sync brought it");
    assert_eq!(digest(&p), digest(&r));

    // Halting again soon after: the full sync that resumes it backs off (1 s, then 2 s...),
    // so that a primary that keeps sending the command is not asked for one each time.
    pc.cmd(&["DEBUG", "REPLICATE", "no-such-command", "y"]);
    pc.cmd(&["SET", "after2", "3"]);
    wait_for("the replica to halt a second time", T, || {
        field(&mut rc, "replication", "master_stream_halted") == "1"
    });
    assert_eq!(
        field(&mut rc, "replication", "master_stream_halts_in_a_row"),
        "2"
    );
    let wait: i64 = field(&mut rc, "replication", "master_stream_resync_in_seconds")
        .parse()
        .unwrap_or(-1);
    assert!(
        (0..=1).contains(&wait),
        "the second halt waits up to 1 s, not {wait}"
    );
    assert!(r
        .log()
        .contains("halt 2 in a row: the full sync that resumes it starts in 1 s"));
    wait_for("the replica to resume after the second halt", T, || {
        stat(&p, "sync_full") == 3 && field(&mut rc, "replication", "master_link_status") == "up"
    });
    wait_synced(&p, &r);
    assert_eq!(rc.text(&["GET", "after2"]), "3");
    assert_eq!(digest(&p), digest(&r));
}

fn mem(c: &mut Conn, name: &str) -> i64 {
    field(c, "memory", name).parse().unwrap_or(-1)
}

/// The stream handed to a replica every event-loop pass is not cut into one block per pass:
/// with unpipelined writes (one command per pass) each command used to keep a 16 KiB block
/// alive in the backlog (a 1 MB backlog of 40-byte commands held hundreds of MB).
#[test]
fn a_streaming_replica_does_not_multiply_the_backlogs_memory() {
    let p = redwing(&["--repl-backlog-size", "1mb"]);
    let r = redwing(&[]);
    replicaof(&r, &p);
    wait_synced(&p, &r);
    let mut pc = p.conn();
    let before = mem(&mut pc, "used_memory");
    for i in 0..20_000 {
        pc.cmd(&["SET", &format!("k{}", i % 100), "v"]);
    }
    wait_synced(&p, &r);
    let grown = mem(&mut pc, "used_memory") - before;
    assert!(
        grown < 8 << 20,
        "20,000 small writes with a 1 MB backlog grew used_memory by {grown} bytes"
    );
}

/// What waits for a stalled replica is counted as Valkey counts it: INFO
/// `mem_clients_slaves` / `mem_not_counted_for_evict` cover it, so `used_memory` minus them
/// stays flat (Valkey's unit/maxmemory "slave buffer are counted correctly").
#[test]
fn what_waits_for_a_stalled_replica_is_counted() {
    let p = redwing(&[
        "--client-output-buffer-limit",
        "replica 0 0 0",
        "--repl-backlog-size",
        "16kb",
    ]);
    let r = redwing(&[]);
    replicaof(&r, &p);
    wait_synced(&p, &r);
    let mut pc = p.conn();
    pc.cmd(&["SET", "key", "x"]);
    wait_synced(&p, &r);
    let flat = |c: &mut Conn| {
        mem(c, "used_memory") - mem(c, "mem_not_counted_for_evict") - mem(c, "mem_clients_normal")
    };
    let before = flat(&mut pc);
    r.pause();
    let cmds: Vec<Vec<&str>> = (0..1000)
        .map(|_| vec!["SETRANGE", "key", "0", "0123456789"])
        .collect();
    for _ in 0..200 {
        pc.pipeline(&cmds);
    }
    let held = mem(&mut pc, "mem_clients_slaves");
    let delta = flat(&mut pc) - before;
    r.resume();
    assert!(held > 2 << 20, "the stalled replica holds {held} bytes");
    assert!(
        delta.abs() < 1 << 20,
        "used_memory minus what INFO counts for clients moved by {delta} bytes while the replica held {held}"
    );
}

/// The stream the backlog keeps past its size for a replica in a full sync counts as that
/// replica's memory (`mem_clients_slaves`, not against maxmemory), as Valkey counts its shared
/// replication buffer beyond the backlog size; `mem_replication_backlog` stays near its size.
#[test]
fn the_stream_pinned_for_a_syncing_replica_counts_as_the_replicas_memory() {
    let p = redwing(&["--repl-backlog-size", "64kb", "--rdb-key-save-delay", "200"]);
    let mut pc = p.conn();
    pc.cmd(&["DEBUG", "POPULATE", "30000"]); // a snapshot of about 6 s
    let r = redwing(&[]);
    replicaof(&r, &p);
    let mut rc = r.conn();
    wait_for("the full sync to start", T, || {
        field(&mut rc, "replication", "master_sync_in_progress") == "1"
    });
    let value = "x".repeat(1000);
    for i in 0..3000 {
        pc.cmd(&["SET", &format!("w{i}"), &value]);
    }
    let in_sync = field(&mut pc, "replication", "slave0");
    assert!(in_sync.contains("state=wait_bgsave"), "{in_sync}");
    let held = mem(&mut pc, "mem_clients_slaves");
    let not_counted = mem(&mut pc, "mem_not_counted_for_evict");
    let backlog = mem(&mut pc, "mem_replication_backlog");
    assert!(
        held > 2 << 20,
        "3 MB written during the sync, replicas hold {held}"
    );
    assert_eq!(not_counted, held);
    assert!(
        backlog < 256 << 10,
        "mem_replication_backlog {backlog} for a 64 KB backlog"
    );
    wait_synced(&p, &r);
}

/// A primary `p` with one replica, which stopped (SIGSTOP) after `k`=1 and before the
/// INCR that follows, and a client that sent SHUTDOWN: returns the replica, a connection to
/// the primary and the SHUTDOWN client.
fn lagging_shutdown(p: &ServerProc) -> (ServerProc, Conn, Conn) {
    let r = redwing(&[]);
    replicaof(&r, p);
    let mut pc = p.conn();
    pc.cmd(&["SET", "k", "1"]);
    wait_synced(p, &r);
    r.pause();
    pc.cmd(&["INCR", "k"]);
    let mut sd = p.conn();
    sd.send(&[b"SHUTDOWN"]);
    (r, pc, sd)
}

/// A primary told to SHUTDOWN while its replica lags waits for it (`shutdown-timeout`):
/// INFO counts down, the SHUTDOWN client blocks, and the write the replica had not
/// acknowledged reaches it before the primary exits.
#[test]
fn shutdown_waits_for_a_lagging_replica() {
    let mut p = redwing(&["--shutdown-timeout", "60"]);
    let (r, mut pc, _sd) = lagging_shutdown(&p);
    wait_for("the primary to wait for its replica", T, || {
        field(&mut pc, "server", "shutdown_in_milliseconds")
            .parse::<i64>()
            .is_ok_and(|ms| ms > 0)
    });
    assert!(p.alive(), "the primary waits while its replica lags");
    r.resume();
    wait_for("the primary to exit", T, || !p.alive());
    assert_eq!(r.conn().text(&["GET", "k"]), "2");
    let log = p.log();
    assert!(
        log.contains("1 of 1 replicas are in sync when shutting down."),
        "{log}"
    );
}

/// SHUTDOWN ABORT cancels a shutdown that waits for replicas: the SHUTDOWN client gets
/// Valkey's error, writes resume.
#[test]
fn shutdown_abort_cancels_the_wait() {
    let p = redwing(&["--shutdown-timeout", "60"]);
    let (r, mut pc, mut sd) = lagging_shutdown(&p);
    wait_for("the SHUTDOWN client to block", T, || {
        field(&mut pc, "clients", "blocked_clients") == "1"
    });
    assert_eq!(pc.text(&["SHUTDOWN", "ABORT"]), "OK");
    assert_eq!(
        sd.read_frame(),
        resp::Frame::Error("ERR Errors trying to SHUTDOWN. Check logs.".into())
    );
    assert_eq!(pc.int(&["INCR", "k"]), 3, "writes resume");
    r.resume();
    assert!(
        pc.cmd(&["SHUTDOWN", "ABORT"]).is_error(),
        "nothing to abort any more"
    );
}

/// The disk backlog (`repl-backlog-disk-size`): a replica cut off while 40 MB are written,
/// forty times its primary's 1 MB memory backlog, comes back with a partial resync whose
/// start is read from the disk backlog; the data converge; INFO shows how far back the disk
/// history reaches. Without it the same absence costs a full sync (checked first).
#[test]
fn a_replica_away_longer_than_the_memory_backlog_resyncs_from_the_disk_backlog() {
    for disk in [false, true] {
        let size = if disk { "200mb" } else { "0" };
        let p = redwing(&[
            "--repl-backlog-size",
            "1mb",
            "--repl-backlog-disk-size",
            size,
        ]);
        let r = redwing(&[]);
        let (proxy, mut rc) = follow_through_proxy(&r, &p);
        let mut pc = p.conn();
        pc.cmd(&["SET", "before", "1"]);
        wait_synced(&p, &r);
        away_while_written(&proxy, &mut rc, &mut pc);
        if disk {
            let held: i64 = field(&mut pc, "replication", "repl_backlog_disk_histlen")
                .parse()
                .unwrap_or(0);
            assert!(
                held > 30_000_000,
                "the disk backlog holds the absence: {held}"
            );
        }
        proxy.heal();
        wait_synced(&p, &r);
        assert_eq!(digest(&p), digest(&r), "disk={disk}: the data converge");
        assert_eq!(stat(&p, "sync_partial_disk"), disk as i64, "disk={disk}");
        assert_eq!(
            stat(&p, "sync_full"),
            if disk { 1 } else { 2 },
            "disk={disk}: only the first sync is full with the disk backlog"
        );
    }
}
