//! What operators see of replication beyond Valkey's fields: per replica the lag in bytes and
//! in time (meaningful during a full sync), the sync's phase, progress and ETA, PSYNC
//! headroom; the backlog's reach and the stream's rate; on the replica the phase, the ETA and
//! `last_successful_sync_duration_ms`; progress lines in both logs.

mod common;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use common::*;
use testkit::{wait_for, Conn, ServerProc};

/// The `slave0` line of INFO replication as a map (empty when there is none).
fn replica_line(c: &mut Conn) -> HashMap<String, String> {
    field(c, "replication", "slave0")
        .split(',')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn num(m: &HashMap<String, String>, k: &str) -> f64 {
    m.get(k)
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no numeric {k} in {m:?}"))
}

/// A primary holding `keys` keys whose snapshot takes `keys` × 200 µs to produce.
fn slow_primary(keys: usize, diskless: bool) -> ServerProc {
    let p = redwing(&[
        "--rdb-key-save-delay",
        "200",
        "--repl-diskless-sync",
        if diskless { "yes" } else { "no" },
    ]);
    let mut c = p.conn();
    c.cmd(&["DEBUG", "POPULATE", &keys.to_string()]);
    p
}

#[test]
fn a_full_sync_shows_its_phase_progress_and_eta_on_both_sides() {
    // About 7 s of snapshot: long enough for a progress line (every 5 s) on both sides.
    let p = slow_primary(35_000, true);
    let r = redwing(&[]);
    let mut pc = p.conn();
    let mut rc = r.conn();
    assert_eq!(
        field(&mut rc, "replication", "master_sync_phase"),
        "",
        "a primary has no sync phase"
    );
    replicaof(&r, &p);

    let mut seen = HashMap::new();
    wait_for("the primary to report the transfer under way", T, || {
        seen = replica_line(&mut pc);
        seen.get("phase").map(String::as_str) == Some("transfer") && num(&seen, "sync_perc") > 0.0
    });
    assert!(num(&seen, "sync_sent_bytes") > 0.0, "{seen:?}");
    assert!(
        num(&seen, "sync_eta_sec") >= 0.0,
        "an ETA once keys are done: {seen:?}"
    );
    assert_eq!(
        num(&seen, "psync_headroom_sec"),
        0.0,
        "a disconnection now means a full sync"
    );
    assert_eq!(seen.get("state").map(String::as_str), Some("wait_bgsave"));
    // The replica sees `snapshot` until payload bytes arrive (the primary sends the snapshot
    // in large blocks), then `transfer`.
    let phase = field(&mut rc, "replication", "master_sync_phase");
    assert!(phase == "snapshot" || phase == "transfer", "{phase}");
    // A diskless payload does not announce its length: no ETA on the replica.
    assert_eq!(
        field(&mut rc, "replication", "master_sync_eta_seconds"),
        "-1"
    );

    // Writes during the sync: the replica's lag in bytes and in time is measured from the
    // snapshot's offset.
    let started = Instant::now();
    let mut i = 0;
    wait_for(
        "the replica's lag in time to pass 1 s during the sync",
        T,
        || {
            i += 1;
            pc.cmd(&["SET", &format!("during:{i}"), "v"]);
            std::thread::sleep(Duration::from_millis(20));
            let m = replica_line(&mut pc);
            m.get("phase").map(String::as_str) == Some("transfer") && num(&m, "lag_ms") >= 1000.0
        },
    );
    let m = replica_line(&mut pc);
    assert!(num(&m, "lag_bytes") > 0.0, "{m:?}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "lag_ms tracks time"
    );

    p.wait_log("Full sync to 127.0.0.1:", T);
    r.wait_log("MASTER <-> REPLICA sync: transfer", T);

    wait_synced(&p, &r);
    wait_for("the replica to have caught up", T, || {
        let m = replica_line(&mut pc);
        m.get("phase").map(String::as_str) == Some("streaming") && num(&m, "lag_bytes") == 0.0
    });
    assert_eq!(
        field(&mut rc, "replication", "master_sync_phase"),
        "streaming"
    );
    let took: i64 = field(&mut rc, "replication", "last_successful_sync_duration_ms")
        .parse()
        .unwrap_or(0);
    assert!(
        (3_000..60_000).contains(&took),
        "the sync took about 7 s, INFO says {took} ms"
    );
    assert_eq!(digest(&p), digest(&r));
}

#[test]
fn lag_headroom_and_rate_while_streaming() {
    let p = redwing(&["--repl-backlog-size", "512kb"]);
    let r = redwing(&[]);
    replicaof(&r, &p);
    wait_synced(&p, &r);
    let mut pc = p.conn();
    let m = replica_line(&mut pc);
    assert_eq!(
        num(&m, "psync_headroom_sec"),
        -1.0,
        "nothing written: nothing pushes it out of the backlog"
    );

    // A steady writer: at most 100 KB/s (one 1 KB SET per 10 ms), so 512 KB of backlog
    // covers at least 5 s: the headroom is seen counting down before it runs out.
    let value = "x".repeat(1000);
    let deadline = Instant::now() + Duration::from_secs(3);
    let mut i = 0;
    while Instant::now() < deadline {
        i += 1;
        pc.cmd(&["SET", &format!("k{}", i % 100), &value]);
        std::thread::sleep(Duration::from_millis(10));
    }
    let rate: f64 = field(&mut pc, "replication", "repl_stream_bytes_per_second")
        .parse()
        .unwrap_or(0.0);
    assert!(rate > 10_000.0, "write rate {rate}");
    let covers: i64 = field(&mut pc, "replication", "repl_backlog_covers_seconds")
        .parse()
        .unwrap_or(-1);
    assert!(covers > 0, "the backlog covers {covers} s");
    let m = replica_line(&mut pc);
    let headroom = num(&m, "psync_headroom_sec");
    assert!(headroom > 0.0, "{m:?}");

    // A stopped replica: its lag in bytes and time grows, its headroom shrinks.
    r.pause();
    let stopped = Instant::now();
    let mut last = HashMap::new();
    wait_for("a stopped replica's lag to pass 1.5 s", T, || {
        i += 1;
        pc.cmd(&["SET", &format!("k{}", i % 100), &value]);
        std::thread::sleep(Duration::from_millis(10));
        last = replica_line(&mut pc);
        num(&last, "lag_ms") >= 1500.0
    });
    assert!(num(&last, "lag_bytes") > 0.0, "{last:?}");
    assert!(
        num(&last, "lag_ms") <= stopped.elapsed().as_millis() as f64 + 1500.0,
        "lag_ms is the age of its first missing write: {last:?}"
    );
    // Its headroom shrinks as writes go on, to 0: from then on, a disconnection would force
    // a full sync (its next byte has left the backlog). (In seconds at the current rate, so
    // it may move up a little when the rate dips.)
    let mut seen = Vec::new();
    wait_for(
        "the stopped replica's PSYNC headroom to run out",
        Duration::from_secs(90),
        || {
            i += 1;
            pc.cmd(&["SET", &format!("k{}", i % 100), &value]);
            std::thread::sleep(Duration::from_millis(10));
            let h = num(&replica_line(&mut pc), "psync_headroom_sec");
            if seen.last() != Some(&h) {
                seen.push(h);
            }
            h == 0.0
        },
    );
    assert!(seen.len() > 1, "it counted down: {headroom} then {seen:?}");
    let reach: i64 = field(&mut pc, "replication", "repl_backlog_history_seconds")
        .parse()
        .unwrap_or(-1);
    assert!(reach >= 1, "the backlog reaches back {reach} s");
    r.resume();
    wait_for("the resumed replica to catch up", T, || {
        let m = replica_line(&mut pc);
        num(&m, "lag_bytes") == 0.0 && num(&m, "lag_ms") == 0.0
    });
}
