//! Replication between Redwing and the reference redis-server 7.0, real processes in both
//! roles: full syncs (disk-based and diskless) each way, a mixed chain, failovers that must not
//! cause any full sync, partial resyncs after a dropped link, and a restarted Redwing replica
//! resuming from its RDB. Convergence is always checked after the replication offsets match:
//! key counts, DEBUG DIGEST (same algorithm on both servers) and expiry times. The data sets
//! and the scenarios shared with `interop_valkey.rs` live in `common/interop.rs`.

mod common;

use common::interop::*;
use common::*;
use testkit::ServerProc;

#[test]
fn redis_primary_to_redwing_replica() {
    for diskless in ["yes", "no"] {
        let what = format!("Redis primary (diskless {diskless}) -> Redwing replica");
        let p = redis(&["--repl-diskless-sync", diskless]);
        let r = redwing(&[]);
        full_sync_then_stream(&p, &r, true, &what);
        assert!(
            p.log().contains(sync_target_line(diskless)),
            "{what}: the primary used the intended transfer: {}",
            p.log()
        );
    }
}

#[test]
fn redwing_primary_to_redis_replica_disk_and_diskless() {
    for diskless in ["yes", "no"] {
        let what = format!("Redwing primary (diskless {diskless}) -> Redis replica");
        let p = redwing(&["--repl-diskless-sync", diskless]);
        let r = redis(&[]);
        full_sync_then_stream(&p, &r, false, &what);
        assert!(
            p.log().contains(sync_target_line(diskless)),
            "{what}: the primary used the intended transfer: {}",
            p.log()
        );
    }
}

#[test]
fn redis_redwing_redis_chain() {
    let a = redis(&[]);
    let b = redwing(&[]);
    let c = redis(&[]);
    let mut ac = a.conn();
    fill(&mut ac, 200);
    replicaof(&b, &a);
    wait_synced(&a, &b);
    replicaof(&c, &b);
    wait_synced(&b, &c);
    for round in 0..3 {
        workload(&mut ac, round);
        script_workload(&mut ac, round);
    }
    wait_synced(&a, &b);
    wait_synced(&b, &c);
    // The chain stays in sync: B forwards A's stream byte for byte, so every node reaches the
    // same offset (C checked against A directly, not only against B).
    wait_synced(&a, &c);
    assert_same_data("chain A -> B -> C", &a, &[&b, &c]);
    let (oa, ob, oc) = (offset(&a), offset(&b), offset(&c));
    assert!(
        oa == ob && ob == oc,
        "master_repl_offset A={oa} B={ob} C={oc}"
    );
    let id = replid(&a);
    assert_eq!(replid(&b), id, "B shares A's history");
    assert_eq!(replid(&c), id, "C shares A's history");
    assert_eq!(stat(&a, "sync_full"), 1, "A served one full sync (to B)");
    assert_eq!(stat(&b, "sync_full"), 1, "B served one full sync (to C)");
}

#[test]
fn mixed_failover_without_full_sync() {
    {
        let p = redis(&[]);
        let r1 = redwing(&[]);
        let r2 = redis(&[]);
        failover_case(
            &p,
            &r1,
            &r2,
            "Redis primary, Redwing promoted, Redis sibling",
        );
    }
    {
        let p = redwing(&[]);
        let r1 = redis(&[]);
        let r2 = redwing(&[]);
        failover_case(
            &p,
            &r1,
            &r2,
            "Redwing primary, Redis promoted, Redwing sibling",
        );
    }
}

#[test]
fn partial_resync_after_link_kill_both_directions() {
    {
        let p = redis(&[]);
        let r = redwing(&[]);
        link_kill_case(&p, &r, "Redis primary -> Redwing replica");
    }
    {
        let p = redwing(&[]);
        let r = redis(&[]);
        link_kill_case(&p, &r, "Redwing primary -> Redis replica");
    }
}

/// A replica stopped with SIGTERM (the shutdown save records repl-id / repl-offset) and
/// restarted from its RDB with `--replicaof` resumes with a partial resync.
fn restart_resumes_partially(
    p: &ServerProc,
    primary_is_redis: bool,
    mut r: ServerProc,
    what: &str,
) {
    let mut pc = p.conn();
    fill(&mut pc, 200);
    replicaof(&r, p);
    wait_synced(p, &r);
    workload(&mut pc, 0);
    wait_synced(p, &r);
    assert_eq!(stat(p, "sync_full"), 1, "initial full sync");
    let partial = stat(p, "sync_partial_ok");

    r.stop();
    let rdb = r.dir.join("dump.rdb");
    assert!(
        rdb.exists(),
        "shutdown saved {}: {}",
        rdb.display(),
        r.log()
    );
    workload(&mut pc, 1);
    if primary_is_redis {
        script_workload(&mut pc, 1);
    }
    let port = p.port.to_string();
    r.set_args(&["--save", "3600 1", "--replicaof", "127.0.0.1", &port]);
    r.restart();
    wait_synced(p, &r);
    assert_same_data(what, p, &[&r]);
    assert_eq!(
        stat(p, "sync_partial_ok"),
        partial + 1,
        "the restarted replica resumed with a partial resync"
    );
    assert_eq!(stat(p, "sync_full"), 1, "no new full sync");
    assert_eq!(replid(&r), replid(p));
}

#[test]
fn redwing_replica_restart_partial_resync_from_redis() {
    let p = redis(&[]);
    restart_resumes_partially(
        &p,
        true,
        redwing(&["--save", "3600 1"]),
        "Redwing replica restarted",
    );
}

/// The mirror case: a Redis replica restarted from its RDB resumes from a Redwing primary.
#[test]
fn redis_replica_restart_partial_resync_from_redwing() {
    let p = redwing(&[]);
    restart_resumes_partially(
        &p,
        false,
        redis(&["--save", "3600 1"]),
        "Redis replica restarted",
    );
}
