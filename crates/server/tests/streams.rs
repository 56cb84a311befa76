//! Blocking stream reads on a real server: XREAD `$` waits for entries added after it blocked,
//! XREADGROUP clients are served in the order they blocked and fail with NOGROUP when their
//! key or group goes, and what a served XREADGROUP did reaches a replica.

mod common;

use common::*;
use resp::frame::Frame;
use testkit::{wait_for, Conn, ServerProc};

fn blocked(c: &mut Conn, n: usize) {
    wait_for(&format!("{n} blocked clients"), T, || {
        field(c, "clients", "blocked_clients") == n.to_string()
    });
}

/// The entry IDs of a one-stream XREAD/XREADGROUP reply.
fn ids(f: &Frame) -> Vec<String> {
    let Frame::Array(streams) = f else {
        panic!("not an array: {f:?}")
    };
    let Some(Frame::Array(pair)) = streams.first() else {
        panic!("{f:?}")
    };
    let Some(Frame::Array(entries)) = pair.get(1) else {
        panic!("{f:?}")
    };
    entries
        .iter()
        .map(|e| match e {
            Frame::Array(p) => p[0].text(),
            x => panic!("{x:?}"),
        })
        .collect()
}

fn start() -> ServerProc {
    redwing(&[])
}

#[test]
fn xread_dollar_serves_only_later_entries() {
    let srv = start();
    let mut c = srv.conn();
    c.cmd(&["XADD", "s", "1-0", "f", "old"]);
    let mut waiter = srv.conn();
    waiter.send(&[b"XREAD", b"BLOCK", b"0", b"STREAMS", b"s", b"$"]);
    blocked(&mut c, 1);
    // Unrelated writes and deleting the key do not wake it with a wrong answer.
    c.cmd(&["DEL", "s"]);
    c.cmd(&["SET", "s", "string"]);
    c.cmd(&["DEL", "s"]);
    blocked(&mut c, 1);
    c.cmd(&["XADD", "s", "2-0", "f", "new"]);
    assert_eq!(ids(&waiter.read_frame()), ["2-0"]);
    blocked(&mut c, 0);
    // A timeout answers a null array.
    let r = waiter.cmd(&["XREAD", "BLOCK", "50", "STREAMS", "s", "$"]);
    assert_eq!(r, Frame::Null);
}

#[test]
fn xreadgroup_clients_are_served_in_blocking_order() {
    let srv = start();
    let mut c = srv.conn();
    c.cmd(&["XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"]);
    let mut a = srv.conn();
    let mut b = srv.conn();
    a.send(&[
        b"XREADGROUP",
        b"GROUP",
        b"g",
        b"alice",
        b"BLOCK",
        b"0",
        b"STREAMS",
        b"s",
        b">",
    ]);
    blocked(&mut c, 1);
    b.send(&[
        b"XREADGROUP",
        b"GROUP",
        b"g",
        b"bob",
        b"BLOCK",
        b"0",
        b"STREAMS",
        b"s",
        b">",
    ]);
    blocked(&mut c, 2);
    c.cmd(&["XADD", "s", "1-0", "f", "v"]);
    assert_eq!(ids(&a.read_frame()), ["1-0"]);
    blocked(&mut c, 1);
    c.cmd(&["XADD", "s", "2-0", "f", "v"]);
    assert_eq!(ids(&b.read_frame()), ["2-0"]);
    let pending = format!("{:?}", c.cmd(&["XPENDING", "s", "g"]));
    assert_eq!(pending.matches("alice").count(), 1, "{pending}");
}

#[test]
fn xreadgroup_fails_with_nogroup_when_the_key_or_group_goes() {
    let srv = start();
    let mut c = srv.conn();
    let mut w = srv.conn();
    for (setup, action, want) in [
        (
            &["XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"][..],
            &["DEL", "s"][..],
            "NOGROUP",
        ),
        (
            &["XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"][..],
            &["XGROUP", "DESTROY", "s", "g"][..],
            "NOGROUP",
        ),
        (
            &["XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"][..],
            &["SET", "s", "v"][..],
            "WRONGTYPE",
        ),
    ] {
        c.cmd(&["DEL", "s"]);
        c.cmd(setup);
        w.send(&[
            b"XREADGROUP",
            b"GROUP",
            b"g",
            b"c",
            b"BLOCK",
            b"0",
            b"STREAMS",
            b"s",
            b">",
        ]);
        blocked(&mut c, 1);
        c.cmd(action);
        let r = w.read_frame();
        match &r {
            Frame::Error(e) => assert!(e.starts_with(want), "{action:?}: {e}"),
            other => panic!("{action:?}: {other:?}"),
        }
        blocked(&mut c, 0);
    }
}

#[test]
fn a_served_xreadgroup_reaches_the_replica() {
    let p = start();
    let r = start();
    replicaof(&r, &p);
    wait_synced(&p, &r);
    let mut c = p.conn();
    c.cmd(&["XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"]);
    let mut w = p.conn();
    w.send(&[
        b"XREADGROUP",
        b"GROUP",
        b"g",
        b"alice",
        b"BLOCK",
        b"0",
        b"STREAMS",
        b"s",
        b">",
    ]);
    blocked(&mut c, 1);
    c.cmd(&["XADD", "s", "1-0", "f", "v"]);
    assert_eq!(ids(&w.read_frame()), ["1-0"]);
    wait_synced(&p, &r);
    let mut rc = r.conn();
    // Group state and PEL (times aside: the replica stamps its own seen times).
    for cmd in [&["XINFO", "GROUPS", "s"][..], &["XPENDING", "s", "g"]] {
        assert_eq!(rc.cmd(cmd), c.cmd(cmd), "{cmd:?}");
    }
    assert_eq!(digest(&p), digest(&r));
}

#[test]
fn parked_reads_are_counted_when_they_end_and_their_keys_are_reported() {
    let srv = start();
    let mut c = srv.conn();
    c.cmd(&["XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"]);
    c.cmd(&["CONFIG", "RESETSTAT"]);
    let mut w = srv.conn();
    let mut l = srv.conn();
    l.send(&[b"BLPOP", b"q", b"0"]);
    blocked(&mut c, 1);
    w.send(&[
        b"XREADGROUP",
        b"GROUP",
        b"g",
        b"c",
        b"BLOCK",
        b"0",
        b"STREAMS",
        b"s",
        b">",
    ]);
    blocked(&mut c, 2);
    assert_eq!(field(&mut c, "clients", "total_blocking_keys"), "2");
    assert_eq!(
        field(&mut c, "clients", "total_blocking_keys_on_nokey"),
        "1"
    );
    c.cmd(&["XGROUP", "DESTROY", "s", "g"]);
    assert!(w.read_frame().is_error());
    blocked(&mut c, 1);
    assert_eq!(
        field(&mut c, "clients", "total_blocking_keys_on_nokey"),
        "0"
    );
    let stats = format!("{:?}", c.cmd(&["INFO", "commandstats"]));
    assert!(stats.contains("cmdstat_xreadgroup:calls=1,"), "{stats}");
    assert!(stats.contains("failed_calls=1"), "{stats}");
    let errors = format!("{:?}", c.cmd(&["INFO", "errorstats"]));
    assert!(errors.contains("errorstat_NOGROUP:count=1"), "{errors}");
    // A parked client that disconnects is no longer counted.
    drop(l);
    blocked(&mut c, 0);
    assert_eq!(field(&mut c, "clients", "total_blocking_keys"), "0");
}

#[test]
fn a_consumer_created_by_a_parked_noack_read_reaches_the_replica() {
    let p = start();
    let r = start();
    replicaof(&r, &p);
    wait_synced(&p, &r);
    let mut c = p.conn();
    c.cmd(&["XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"]);
    let mut w = p.conn();
    w.send(&[
        b"XREADGROUP",
        b"GROUP",
        b"g",
        b"bob",
        b"NOACK",
        b"BLOCK",
        b"0",
        b"STREAMS",
        b"s",
        b">",
    ]);
    blocked(&mut c, 1);
    wait_synced(&p, &r);
    let consumers = format!("{:?}", r.conn().cmd(&["XINFO", "CONSUMERS", "s", "g"]));
    assert!(consumers.contains("bob"), "{consumers}");
    c.cmd(&["XADD", "s", "1-0", "f", "v"]);
    assert_eq!(ids(&w.read_frame()), ["1-0"]);
    wait_synced(&p, &r);
    let mut rc = r.conn();
    assert_eq!(
        rc.cmd(&["XINFO", "GROUPS", "s"]),
        c.cmd(&["XINFO", "GROUPS", "s"])
    );
}
