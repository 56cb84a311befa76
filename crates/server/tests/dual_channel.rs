//! Dual-channel full sync (Valkey's protocol, PROTOCOL.md §C) between real processes: the
//! happy path under writes, the primary's buffering, the replica's local buffer limit, and
//! each failure path ending in a consistent node and a retried sync.

mod common;

use common::*;
use testkit::{wait_for, Conn, ServerProc};

const DUAL: [&str; 2] = ["--dual-channel-replication-enabled", "yes"];

fn dual(extra: &[&str]) -> ServerProc {
    let mut args = DUAL.to_vec();
    args.extend_from_slice(extra);
    redwing(&args)
}

fn fill(c: &mut Conn, n: usize) {
    for i in 0..n {
        c.cmd(&["SET", &format!("key:{i}"), &format!("value:{i}")]);
    }
    c.cmd(&["HSET", "h", "a", "1", "b", "2"]);
    c.cmd(&["ZADD", "z", "1.5", "m1", "2", "m2"]);
}

#[test]
fn dual_channel_sync_under_writes() {
    let p = dual(&["--rdb-key-save-delay", "100"]);
    let r = dual(&[]);
    fill(&mut p.conn(), 3000);
    replicaof(&r, &p);
    let mut pc = p.conn();
    wait_for("the primary to show both connections", T, || {
        let info = pc.text(&["INFO", "replication"]);
        info.contains("type=rdb-channel") && info.contains("type=main-channel")
    });
    let mut rc = r.conn();
    // As in Valkey: ROLE `sync` once the main channel's PSYNC is answered.
    wait_for("the replica in the transfer", T, || {
        field(&mut rc, "replication", "master_sync_in_progress") == "1"
    });
    for i in 0..500 {
        pc.cmd(&["SET", &format!("during:{i}"), "v"]);
        pc.cmd(&["INCR", "counter"]);
    }
    wait_synced(&p, &r);
    assert_eq!(digest(&p), digest(&r));
    assert_eq!(
        stat(&p, "sync_full"),
        1,
        "one snapshot (the RDB channel's SYNC)"
    );
    assert_eq!(stat(&p, "sync_partial_ok"), 1, "the main channel's PSYNC");
    let info = pc.text(&["INFO", "replication"]);
    assert!(info.contains("connected_slaves:1"), "{info}");
    assert!(info.contains("state=online"), "{info}");
    assert!(info.contains("replicas_waiting_psync:0"), "{info}");
    assert!(
        field(&mut rc, "replication", "replicas_repl_buffer_peak")
            .parse::<u64>()
            .unwrap_or(0)
            > 0,
        "the stream was buffered locally during the load"
    );
    pc.cmd(&["SET", "after", "1"]);
    wait_synced(&p, &r);
    assert_eq!(digest(&p), digest(&r));
}

/// The id of the primary's client whose last command was `cmd` (`sync` = the RDB channel,
/// `psync` = the main channel during the sync).
fn client_id_by_cmd(c: &mut Conn, cmd: &str) -> Option<String> {
    let list = c.text(&["CLIENT", "LIST"]);
    list.lines()
        .find(|l| l.split(' ').any(|f| f == format!("cmd={cmd}")))
        .and_then(|l| l.split(' ').find_map(|f| f.strip_prefix("id=")))
        .map(str::to_string)
}

/// A primary that is slow to produce its snapshot, with data, and a dual-channel replica
/// holding other data; returns once the replica is in the middle of the sync.
fn slow_sync() -> (ServerProc, ServerProc) {
    let p = dual(&["--rdb-key-save-delay", "300"]);
    let r = dual(&[]);
    fill(&mut p.conn(), 5000);
    r.conn().cmd(&["SET", "old", "data"]);
    replicaof(&r, &p);
    let mut pc = p.conn();
    wait_for("the main channel's PSYNC", T, || {
        client_id_by_cmd(&mut pc, "psync").is_some() && client_id_by_cmd(&mut pc, "sync").is_some()
    });
    (p, r)
}

/// After a failure: the replica kept its old data meanwhile and the retried sync converges.
fn converges_after_retry(p: &ServerProc, r: &ServerProc) {
    p.conn().cmd(&["CONFIG", "SET", "rdb-key-save-delay", "0"]);
    wait_synced(p, r);
    assert_eq!(digest(p), digest(r));
    let info = p.conn().text(&["INFO", "replication"]);
    assert!(
        info.contains("connected_slaves:1"),
        "no leftover connection: {info}"
    );
}

#[test]
fn rdb_channel_dropped_mid_transfer() {
    let (p, r) = slow_sync();
    let mut pc = p.conn();
    let id = client_id_by_cmd(&mut pc, "sync").expect("RDB channel");
    pc.cmd(&["CLIENT", "KILL", "ID", &id]);
    r.wait_log("RDB channel lost", T);
    assert_eq!(r.conn().text(&["GET", "old"]), "data", "old data kept");
    converges_after_retry(&p, &r);
    assert!(stat(&p, "sync_full") >= 2, "the sync was retried");
}

#[test]
fn main_channel_dropped_during_load() {
    let (p, r) = slow_sync();
    let mut pc = p.conn();
    let id = client_id_by_cmd(&mut pc, "psync").expect("main channel");
    pc.cmd(&["CLIENT", "KILL", "ID", &id]);
    let mut rc = r.conn();
    wait_for("the replica to abandon the sync", T, || {
        stat(&p, "sync_full") >= 2
    });
    assert_eq!(rc.text(&["GET", "old"]), "data", "old data kept");
    converges_after_retry(&p, &r);
}

#[test]
fn primary_killed_during_sync() {
    let (mut p, r) = slow_sync();
    p.kill();
    let mut rc = r.conn();
    wait_for("the replica to notice", T, || {
        field(&mut rc, "replication", "master_sync_in_progress") == "0"
    });
    assert_eq!(rc.text(&["GET", "old"]), "data", "old data kept");
    p.set_args(&[
        "--dual-channel-replication-enabled",
        "yes",
        "--repl-diskless-sync-delay",
        "0",
    ]);
    p.restart();
    p.conn().cmd(&["SET", "fresh", "start"]);
    wait_synced(&p, &r);
    assert_eq!(digest(&p), digest(&r));
    assert_eq!(rc.text(&["GET", "fresh"]), "start");
}

#[test]
fn replicaof_no_one_during_sync() {
    let (p, r) = slow_sync();
    let mut pc = p.conn();
    assert_eq!(
        pc.text(&["DEBUG", "DELAY-RDB-CLIENT-FREE-SECONDS", "0"]),
        "OK"
    );
    let mut rc = r.conn();
    assert_eq!(rc.text(&["REPLICAOF", "NO", "ONE"]), "OK");
    assert_eq!(field(&mut rc, "replication", "role"), "master");
    assert_eq!(rc.text(&["GET", "old"]), "data", "the dataset is untouched");
    assert_eq!(rc.int(&["DBSIZE"]), 1);
    wait_for(
        "the primary to drop both connections and the pin",
        T,
        || {
            let info = pc.text(&["INFO", "replication"]);
            info.contains("connected_slaves:0") && info.contains("replicas_waiting_psync:0")
        },
    );
    assert_eq!(field(&mut rc, "memory", "mem_replicas_repl_buffer"), "0");
}

#[test]
fn replicaof_elsewhere_during_sync() {
    let (p, r) = slow_sync();
    let other = dual(&[]);
    other.conn().cmd(&["SET", "from", "other"]);
    replicaof(&r, &other);
    wait_synced(&other, &r);
    assert_eq!(digest(&other), digest(&r));
    let mut pc = p.conn();
    wait_for("the first primary to drop the abandoned sync", T, || {
        field(&mut pc, "replication", "connected_slaves") == "0"
    });
}

#[test]
fn sub_replica_of_a_syncing_replica() {
    let (p, r) = slow_sync();
    let sub = dual(&[]);
    replicaof(&sub, &r);
    let mut sc = sub.conn();
    // A syncing replica refuses to serve a sync (-NOMASTERLINK): the sub-replica, a replica
    // at once with its link down, keeps its data and retries.
    wait_for("the sub-replica's attempt to be refused", T, || {
        field(&mut sc, "replication", "master_last_error").contains("NOMASTERLINK")
    });
    assert_eq!(field(&mut sc, "replication", "role"), "slave");
    assert_eq!(field(&mut sc, "replication", "master_link_status"), "down");
    p.conn().cmd(&["CONFIG", "SET", "rdb-key-save-delay", "0"]);
    wait_synced(&p, &r);
    wait_synced(&r, &sub);
    assert_eq!(digest(&p), digest(&sub));
}

/// The replica's local buffer stops at the replica output-buffer hard limit: it stops reading
/// the main channel (the primary buffers), then resumes; the sync completes, once.
#[test]
fn local_buffer_limit_pauses_reading() {
    let p = dual(&["--rdb-key-save-delay", "500"]);
    let r = dual(&["--client-output-buffer-limit", "replica 1mb 0 0"]);
    fill(&mut p.conn(), 3000);
    replicaof(&r, &p);
    let mut pc = p.conn();
    wait_for("the main channel's PSYNC", T, || {
        client_id_by_cmd(&mut pc, "psync").is_some()
    });
    let value = "v".repeat(1024);
    for i in 0..4000 {
        pc.cmd(&["SET", &format!("big:{i}"), &value]);
    }
    r.wait_log("Replication buffer limit reached, stopping buffering.", T);
    pc.cmd(&["CONFIG", "SET", "rdb-key-save-delay", "0"]);
    wait_synced(&p, &r);
    assert_eq!(digest(&p), digest(&r));
    assert_eq!(stat(&p, "sync_full"), 1, "no disconnect loop");
    let peak: u64 = field(&mut r.conn(), "replication", "replicas_repl_buffer_peak")
        .parse()
        .unwrap_or(0);
    assert!(
        peak < 4 << 20,
        "local buffer peak {peak} should stay near the 1mb limit"
    );
}

/// The point of dual-channel: the primary does not accumulate the writes made during the
/// snapshot; the replica drains them into its local buffer as they come.
#[test]
fn primary_buffering_stays_small_under_writes() {
    let p = dual(&["--rdb-key-save-delay", "500"]);
    let r = dual(&[]);
    fill(&mut p.conn(), 3000);
    replicaof(&r, &p);
    let mut pc = p.conn();
    wait_for("the main channel's PSYNC", T, || {
        client_id_by_cmd(&mut pc, "psync").is_some()
    });
    let value = "w".repeat(4096);
    let mut peak = 0u64;
    for i in 0..5000 {
        pc.cmd(&["SET", &format!("w:{i}"), &value]);
        if i % 250 == 0 {
            let m: u64 = field(&mut pc, "memory", "mem_clients_slaves")
                .parse()
                .unwrap_or(0);
            peak = peak.max(m);
        }
    }
    let mut rc = r.conn();
    assert_eq!(
        field(&mut rc, "replication", "master_sync_in_progress"),
        "1",
        "the writes happened during the sync"
    );
    // ~20 MB written during the sync; the primary's per-replica buffering stays small.
    assert!(
        peak < 4 << 20,
        "primary buffered {peak} bytes for the replica"
    );
    pc.cmd(&["CONFIG", "SET", "rdb-key-save-delay", "0"]);
    wait_synced(&p, &r);
    assert_eq!(digest(&p), digest(&r));
}

/// A sync abandoned with a large local buffer frees it and leaves a working node.
#[test]
fn aborted_sync_with_a_large_buffer() {
    let p = dual(&["--rdb-key-save-delay", "1000"]);
    let r = dual(&[]);
    fill(&mut p.conn(), 3000);
    replicaof(&r, &p);
    let mut pc = p.conn();
    wait_for("the main channel's PSYNC", T, || {
        client_id_by_cmd(&mut pc, "psync").is_some()
    });
    let value = "x".repeat(16 * 1024);
    for i in 0..3000 {
        pc.cmd(&["SET", &format!("x:{i}"), &value]);
    }
    let mut rc = r.conn();
    wait_for("~40 MB buffered on the replica", T, || {
        field(&mut rc, "replication", "replicas_repl_buffer_size")
            .parse::<u64>()
            .unwrap_or(0)
            > 40 << 20
    });
    assert_eq!(rc.text(&["REPLICAOF", "NO", "ONE"]), "OK");
    assert_eq!(rc.text(&["PING"]), "PONG");
    assert_eq!(field(&mut rc, "memory", "mem_replicas_repl_buffer"), "0");
    assert_eq!(rc.int(&["DBSIZE"]), 0);
}

/// Against Redis 7.0 (no dual-channel), the replica's offer is ignored and it syncs on one
/// connection.
#[test]
fn falls_back_to_one_channel_with_redis() {
    let p = redis(&[]);
    let r = dual(&[]);
    fill(&mut p.conn(), 200);
    replicaof(&r, &p);
    wait_synced(&p, &r);
    assert_eq!(digest(&p), digest(&r));
    assert_eq!(stat(&p, "sync_full"), 1);
}

/// Dual-channel needs diskless sync on the primary (Valkey's rule): otherwise one channel.
#[test]
fn disk_based_primary_uses_one_channel() {
    let p = dual(&["--repl-diskless-sync", "no"]);
    let r = dual(&[]);
    fill(&mut p.conn(), 200);
    replicaof(&r, &p);
    wait_synced(&p, &r);
    assert_eq!(digest(&p), digest(&r));
    assert_eq!(stat(&p, "sync_partial_ok"), 0, "no main-channel PSYNC");
}

/// The main connection's PSYNC is refused (the primary's history changed between `$ENDOFF`
/// and the PSYNC): the replica abandons the sync, keeps its data, and the retry converges.
#[test]
fn main_channel_psync_rejected() {
    let p = dual(&[]);
    let r = dual(&[]);
    fill(&mut p.conn(), 500);
    r.conn().cmd(&["SET", "old", "data"]);
    assert_eq!(r.conn().text(&["DEBUG", "PAUSE-AFTER-FORK", "1"]), "OK");
    replicaof(&r, &p);
    let pid = r.pid().expect("replica pid");
    wait_for("the replica to stop before its PSYNC", T, || {
        process_stopped(pid)
    });
    let mut pc = p.conn();
    assert_eq!(pc.text(&["DEBUG", "CHANGE-REPL-ID"]), "OK");
    r.resume();
    let mut rc = r.conn();
    assert_eq!(rc.text(&["DEBUG", "PAUSE-AFTER-FORK", "0"]), "OK");
    r.wait_log("Unexpected reply to the dual-channel PSYNC", T);
    wait_synced(&p, &r);
    assert_eq!(digest(&p), digest(&r));
    assert!(stat(&p, "sync_partial_err") >= 1, "the PSYNC was refused");
}

/// True if the process is stopped (SIGSTOP): state `T` in /proc/<pid>/stat.
fn process_stopped(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|st| {
            st.rsplit_once(')')
                .map(|(_, rest)| rest.trim_start().starts_with('T'))
        })
        .unwrap_or(false)
}
