//! FAILOVER: a Redwing primary hands its role to a replica — Redwing or Valkey 8.0.1 — with
//! a partial resync on both sides and no write lost; the waits, timeouts and aborts as
//! Valkey's. (Valkey's own integration/failover unit runs in the conformance suite.)

mod common;

use std::time::Duration;

use common::*;
use resp::Frame;
use testkit::{wait_for, Conn, ServerProc};

trait ErrorText {
    fn error_text(&self) -> Option<&str>;
}

impl ErrorText for Frame {
    fn error_text(&self) -> Option<&str> {
        match self {
            Frame::Error(e) => Some(e),
            _ => None,
        }
    }
}

fn role(c: &mut Conn) -> String {
    field(c, "replication", "role")
}

fn failover_state(c: &mut Conn) -> String {
    field(c, "replication", "master_failover_state")
}

/// Writes on `p`, FAILOVER TO `r` (a replica of `p`), and checks the swap.
fn hand_over(p: &ServerProc, r: &ServerProc) {
    fill_some(p);
    wait_synced(p, r);
    let mut pc = p.conn();
    let before = stat(r, "sync_partial_ok");
    let reply = pc.cmd(&["FAILOVER", "TO", "127.0.0.1", &r.port.to_string()]);
    assert!(!reply.is_error(), "{reply:?}");
    wait_for("the FAILOVER to end", T, || {
        failover_state(&mut pc) == "no-failover"
    });
    let mut rc = r.conn();
    assert_eq!(role(&mut rc), "master");
    assert_eq!(role(&mut pc), "slave");
    // The old primary continued from the target (PSYNC ... FAILOVER, +CONTINUE).
    wait_synced(r, p);
    assert_eq!(stat(r, "sync_partial_ok"), before + 1);
    assert_eq!(stat(r, "sync_full"), 0);
    assert_eq!(digest(p), digest(r));
    // Writes now go to the new primary and reach the old one.
    let e = pc.cmd(&["SET", "k", "v"]);
    assert!(e.is_error(), "the old primary is read-only: {e:?}");
    rc.cmd(&["SET", "after", "failover"]);
    wait_synced(r, p);
    assert_eq!(pc.text(&["GET", "after"]), "failover");
}

fn fill_some(p: &ServerProc) {
    let mut c = p.conn();
    for i in 0..200 {
        c.cmd(&["SET", &format!("key:{i}"), &format!("value:{i}")]);
    }
    c.cmd(&["RPUSH", "list", "a", "b", "c"]);
}

#[test]
fn failover_to_a_redwing_replica() {
    let p = redwing(&[]);
    let r = redwing(&[]);
    replicaof(&r, &p);
    hand_over(&p, &r);
    p.wait_log("Failover target 127.0.0.1:", T);
}

#[test]
fn failover_to_a_valkey_replica() {
    let p = redwing(&[]);
    let r = valkey(&[]);
    replicaof(&r, &p);
    hand_over(&p, &r);
}

#[test]
fn failover_to_any_replica_picks_the_one_that_caught_up() {
    let p = redwing(&[]);
    let stuck = redwing(&[]);
    let good = redwing(&[]);
    replicaof(&stuck, &p);
    replicaof(&good, &p);
    wait_synced(&p, &stuck);
    wait_synced(&p, &good);
    stuck.pause();
    let mut pc = p.conn();
    pc.cmd(&["SET", "only", "good"]);
    wait_synced(&p, &good);
    assert!(!pc.cmd(&["FAILOVER"]).is_error());
    wait_for("the FAILOVER to end", T, || {
        failover_state(&mut pc) == "no-failover"
    });
    assert_eq!(role(&mut good.conn()), "master");
    stuck.resume();
    wait_synced(&good, &p);
    assert_eq!(digest(&p), digest(&good));
}

#[test]
fn failover_refusals_timeouts_and_abort() {
    let p = redwing(&[]);
    let mut pc = p.conn();
    let e = pc.cmd(&["FAILOVER"]);
    assert_eq!(
        e.error_text(),
        Some("ERR FAILOVER requires connected replicas.")
    );
    let r = redwing(&[]);
    replicaof(&r, &p);
    wait_synced(&p, &r);
    let port = r.port.to_string();
    for (args, text) in [
        (
            vec!["FAILOVER", "TO", "127.0.0.1", "1"],
            "ERR FAILOVER target HOST and PORT is not a replica.",
        ),
        (
            vec!["FAILOVER", "FORCE", "TIMEOUT", "100"],
            "ERR FAILOVER with force option requires both a timeout and target HOST and IP.",
        ),
        (
            vec!["FAILOVER", "TIMEOUT", "0"],
            "ERR FAILOVER timeout must be greater than 0",
        ),
        (vec!["FAILOVER", "TO", "127.0.0.1"], "ERR syntax error"),
        (vec!["FAILOVER", "ABORT"], "ERR No failover in progress."),
    ] {
        assert_eq!(pc.cmd(&args).error_text(), Some(text), "{args:?}");
    }
    let e = r.conn().cmd(&["FAILOVER"]);
    assert_eq!(
        e.error_text(),
        Some("ERR FAILOVER is not valid when server is a replica.")
    );

    // A replica that never catches up: the timeout aborts, writes resume.
    r.pause();
    pc.cmd(&["SET", "unacked", "1"]);
    assert!(!pc
        .cmd(&["FAILOVER", "TO", "127.0.0.1", &port, "TIMEOUT", "300"])
        .is_error());
    assert_eq!(failover_state(&mut pc), "waiting-for-sync");
    assert_eq!(
        pc.cmd(&["REPLICAOF", "NO", "ONE"]).error_text(),
        Some("ERR REPLICAOF not allowed while failing over.")
    );
    // A write waits for the FAILOVER's end; a read does not.
    let mut writer = p.conn();
    writer.send(&[b"SET", b"during", b"1"]);
    assert_eq!(pc.text(&["GET", "unacked"]), "1");
    wait_for("the timeout to abort it", T, || {
        failover_state(&mut pc) == "no-failover"
    });
    writer.set_timeout(Duration::from_secs(10));
    let reply = writer
        .try_read_frame()
        .expect("the held write runs after the abort");
    assert!(!reply.is_error(), "{reply:?}");
    assert_eq!(role(&mut pc), "master");
    p.wait_log("aborted: Replica never caught up before timeout", T);

    // FAILOVER ABORT while waiting.
    assert!(!pc
        .cmd(&["FAILOVER", "TO", "127.0.0.1", &port, "TIMEOUT", "60000"])
        .is_error());
    assert!(!pc.cmd(&["FAILOVER", "ABORT"]).is_error());
    assert_eq!(failover_state(&mut pc), "no-failover");
    r.resume();
    wait_synced(&p, &r);
    assert_eq!(stat(&p, "sync_full"), 1);
    assert_eq!(digest(&p), digest(&r));
}

#[test]
fn a_target_that_refuses_psync_failover_leaves_the_primary_in_place() {
    let p = redwing(&[]);
    let r = redwing(&[]);
    replicaof(&r, &p);
    wait_synced(&p, &r);
    r.conn().cmd(&["ACL", "SETUSER", "default", "-psync"]);
    let mut pc = p.conn();
    pc.cmd(&["SET", "k", "v"]);
    wait_synced(&p, &r);
    assert!(!pc
        .cmd(&["FAILOVER", "TO", "127.0.0.1", &r.port.to_string()])
        .is_error());
    wait_for("the FAILOVER to end", T, || {
        failover_state(&mut pc) == "no-failover"
    });
    p.wait_log("aborted: Failover target rejected psync request", T);
    assert_eq!(role(&mut pc), "master");
    assert!(!pc.cmd(&["SET", "k2", "v2"]).is_error());
    r.conn().cmd(&["ACL", "SETUSER", "default", "+psync"]);
    wait_synced(&p, &r);
    assert_eq!(stat(&p, "sync_full"), 1);
    assert_eq!(digest(&p), digest(&r));
}
