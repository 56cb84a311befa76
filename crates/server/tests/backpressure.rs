//! Backpressure (`repl-backpressure`): writers are slowed while a replica nears its
//! output-buffer limit, reads never are, the replica is kept, and INFO and the log say so.
//!
//! A replica stopped with SIGSTOP stands for one that cannot keep up: the stream queues for
//! it on the primary (after the kernel's socket buffers fill).

mod common;

use std::time::Duration;

use common::*;
use testkit::wait::wait_value;
use testkit::{wait_for, Conn, ServerProc};

/// A primary whose replica limit is 4 MB (the soft limit, tighter than the hard one), and a
/// replica in sync with it, then stopped.
fn stopped_replica() -> (ServerProc, ServerProc) {
    let p = redwing(&["--client-output-buffer-limit", "replica 64mb 4mb 60"]);
    let r = redwing(&[]);
    replicaof(&r, &p);
    wait_synced(&p, &r);
    r.pause();
    (p, r)
}

fn level(c: &mut Conn) -> u64 {
    field(c, "replication", "repl_backpressure_level_perc")
        .parse()
        .unwrap_or(0)
}

/// Writes 512 KB values (writes do not wait: max delay 0) until the stopped replica holds at
/// least `perc` % of its limit.
fn fill_to(p: &ServerProc, perc: u64) {
    let mut c = p.conn();
    c.cmd(&["CONFIG", "SET", "repl-backpressure-max-delay", "0"]);
    let value = "x".repeat(512 * 1024);
    let mut i = 0;
    wait_for(
        &format!("the stopped replica holding {perc}% of its limit"),
        Duration::from_secs(60),
        || {
            i += 1;
            c.cmd(&["SET", &format!("big:{i}"), &value]);
            level(&mut c) >= perc
        },
    );
}

#[test]
fn writes_wait_for_a_replica_near_its_limit_and_reads_do_not() {
    let (p, r) = stopped_replica();
    fill_to(&p, 80);
    let mut admin = p.conn();
    // With a maximum delay of 0 writes are not slowed: no episode, though the level is read.
    assert_eq!(
        field(&mut admin, "replication", "repl_backpressure_active"),
        "0"
    );
    admin.cmd(&["CONFIG", "SET", "repl-backpressure-max-delay", "60000"]);
    assert_eq!(
        field(&mut admin, "replication", "repl_backpressure_active"),
        "1"
    );
    let replica = format!("127.0.0.1:{}", r.port);
    assert_eq!(
        field(&mut admin, "replication", "repl_backpressure_replica"),
        replica
    );

    // A write waits (at 80% the delay is 36 s of the 60 s maximum) ...
    let mut writer = p.conn();
    writer.send(&[b"SET", b"held", b"1"]);
    wait_for("the write to be held", T, || {
        field(&mut admin, "clients", "blocked_clients") == "1"
    });
    // ... a read and a PUBLISH do not.
    let mut reader = p.conn();
    assert_eq!(reader.text(&["GET", "big:1"]).len(), 512 * 1024);
    assert_eq!(reader.int(&["PUBLISH", "ch", "m"]), 0);
    assert_eq!(reader.int(&["EXISTS", "held"]), 0);
    assert_eq!(
        field(
            &mut admin,
            "replication",
            "repl_backpressure_delayed_commands"
        ),
        "1"
    );

    // The replica reads again: the level falls and the write runs long before its delay.
    r.resume();
    writer.set_timeout(Duration::from_secs(20));
    let reply = writer
        .try_read_frame()
        .expect("the held write answered once the replica drained");
    assert!(!reply.is_error(), "{reply:?}");
    assert_eq!(reader.int(&["EXISTS", "held"]), 1);
    wait_for("the episode to end", T, || {
        field(&mut admin, "replication", "repl_backpressure_active") == "0"
    });
    let waited: u64 = field(
        &mut admin,
        "replication",
        "repl_backpressure_delay_total_ms",
    )
    .parse()
    .unwrap_or(0);
    assert!(
        waited < 30_000,
        "released early, not at its deadline: {waited} ms"
    );
    assert!(field(&mut admin, "replication", "repl_backpressure_time_ms") != "0");
    // The replica was never dropped: no second full sync, and it converges.
    wait_synced(&p, &r);
    assert_eq!(stat(&p, "sync_full"), 1);
    assert_eq!(stat(&p, "client_output_buffer_limit_disconnections"), 0);
    assert_eq!(digest(&p), digest(&r));
    p.wait_log("Slowing writes: replica", T);
    p.wait_log("Writes no longer slowed for replica", T);
}

#[test]
fn a_write_waits_at_most_the_maximum_delay() {
    let (p, r) = stopped_replica();
    fill_to(&p, 60);
    let mut c = p.conn();
    c.cmd(&["CONFIG", "SET", "repl-backpressure-max-delay", "300"]);
    // The replica stays stopped: each write runs at its deadline.
    for i in 0..3 {
        assert!(!c.cmd(&["SET", &format!("k{i}"), "v"]).is_error());
    }
    let delayed: u64 = field(&mut c, "replication", "repl_backpressure_delayed_commands")
        .parse()
        .unwrap_or(0);
    assert_eq!(delayed, 3);
    let waited: u64 = wait_value("the delay total", T, || {
        field(&mut c, "replication", "repl_backpressure_delay_total_ms")
            .parse()
            .ok()
    });
    assert!(
        waited <= 3 * 300 + 300,
        "at most the maximum each: {waited} ms"
    );
    // Off: writes run at once even at this level.
    c.cmd(&["CONFIG", "SET", "repl-backpressure", "no"]);
    c.cmd(&["SET", "free", "v"]);
    assert_eq!(
        field(&mut c, "replication", "repl_backpressure_delayed_commands"),
        "3"
    );
    r.resume();
    wait_synced(&p, &r);
    assert_eq!(digest(&p), digest(&r));
}
