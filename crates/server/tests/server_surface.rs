//! The rest of the server-side surface against real Redwing processes: sharded pub/sub
//! (SSUBSCRIBE / SPUBLISH / SUNSUBSCRIBE, PUBSUB SHARDCHANNELS / SHARDNUMSUB, replication of
//! SPUBLISH), the per-command latency histograms (LATENCY HISTOGRAM, INFO latencystats), the
//! latency monitor's GRAPH and DOCTOR, the DEBUG subcommands added for the test suite, and
//! `rename-command`.

mod common;

use common::*;
use resp::frame::Frame;
use testkit::{wait_for, Conn};

fn bulk(b: &[u8]) -> Frame {
    Frame::Bulk(bytes::Bytes::copy_from_slice(b))
}

fn confirm(kind: &str, name: Option<&str>, n: i64) -> Frame {
    Frame::Array(vec![
        bulk(kind.as_bytes()),
        name.map_or(Frame::Null, |n| bulk(n.as_bytes())),
        Frame::Int(n),
    ])
}

#[test]
fn sharded_pubsub_is_its_own_namespace() {
    let s = redwing(&[]);
    let mut sub = s.conn();
    let mut chan = s.conn();
    let mut p = s.conn();
    sub.send(&[b"SSUBSCRIBE", b"c1", b"c2", b"c1"]);
    assert_eq!(sub.read_frame(), confirm("ssubscribe", Some("c1"), 1));
    assert_eq!(sub.read_frame(), confirm("ssubscribe", Some("c2"), 2));
    assert_eq!(sub.read_frame(), confirm("ssubscribe", Some("c1"), 2));
    assert_eq!(
        chan.cmd(&["SUBSCRIBE", "c1"]),
        confirm("subscribe", Some("c1"), 1)
    );
    // Each kind of publish reaches its own subscribers only.
    assert_eq!(p.int(&["SPUBLISH", "c1", "hello"]), 1);
    assert_eq!(
        sub.read_frame(),
        Frame::Array(vec![bulk(b"smessage"), bulk(b"c1"), bulk(b"hello")])
    );
    assert_eq!(p.int(&["PUBLISH", "c1", "world"]), 1);
    assert_eq!(
        chan.read_frame(),
        Frame::Array(vec![bulk(b"message"), bulk(b"c1"), bulk(b"world")])
    );
    let mut channels = match p.cmd(&["PUBSUB", "SHARDCHANNELS"]) {
        Frame::Array(v) => v.into_iter().map(|f| f.text()).collect::<Vec<_>>(),
        other => panic!("{other:?}"),
    };
    channels.sort();
    assert_eq!(channels, ["c1", "c2"]);
    assert_eq!(
        p.cmd(&["PUBSUB", "SHARDCHANNELS", "*2"]),
        Frame::Array(vec![bulk(b"c2")])
    );
    assert_eq!(
        p.cmd(&["PUBSUB", "SHARDNUMSUB", "c1", "nope"]),
        Frame::Array(vec![
            bulk(b"c1"),
            Frame::Int(1),
            bulk(b"nope"),
            Frame::Int(0)
        ])
    );
    assert_eq!(field(&mut p, "stats", "pubsubshard_channels"), "2");
    assert_eq!(field(&mut p, "stats", "pubsub_channels"), "1");
    assert_eq!(field(&mut p, "clients", "pubsub_clients"), "2");
    let list = p.text(&["CLIENT", "LIST"]);
    assert!(list.contains(" sub=0 psub=0 ssub=2 "), "{list}");
    assert_eq!(
        p.cmd(&["PUBSUB", "CHANNELS", "a", "b"]),
        Frame::Error(
            "ERR unknown subcommand or wrong number of arguments for 'CHANNELS'. Try PUBSUB HELP."
                .into()
        )
    );
    // RESP2 subscribers may only (un)subscribe and ping.
    let err = sub.cmd(&["GET", "x"]);
    assert!(err.is_error(), "{err:?}");
    sub.send(&[b"SUNSUBSCRIBE"]);
    let mut got = [sub.read_frame(), sub.read_frame()];
    got.sort_by_key(|f| format!("{f:?}"));
    assert_eq!(
        got.iter()
            .map(|f| match f {
                Frame::Array(v) => v[0].text(),
                _ => String::new(),
            })
            .collect::<Vec<_>>(),
        ["sunsubscribe", "sunsubscribe"]
    );
    assert_eq!(p.int(&["SPUBLISH", "c1", "gone"]), 0);
    // Not subscribed at all: NOSUB.
    assert_eq!(
        sub.cmd(&["SUNSUBSCRIBE", "x"]),
        Frame::Error("NOSUB 'sunsubscribe' command executed not in subscribed mode".into())
    );
}

#[test]
fn resp3_smessage_push_and_reply_off() {
    let s = redwing(&[]);
    let mut sub = s.conn();
    let mut p = s.conn();
    sub.cmd(&["HELLO", "3"]);
    // Subscription confirmations and messages are pushes: CLIENT REPLY OFF does not stop them.
    sub.send(&[b"CLIENT", b"REPLY", b"OFF"]);
    sub.send(&[b"SSUBSCRIBE", b"ch"]);
    assert_eq!(
        sub.read_raw_reply().unwrap(),
        b">3\r\n$10\r\nssubscribe\r\n$2\r\nch\r\n:1\r\n"
    );
    assert_eq!(p.int(&["SPUBLISH", "ch", "m"]), 1);
    assert_eq!(
        sub.read_raw_reply().unwrap(),
        b">3\r\n$8\r\nsmessage\r\n$2\r\nch\r\n$1\r\nm\r\n"
    );
    // Inside MULTI, SSUBSCRIBE is refused (the transaction denies blocking).
    let mut m = s.conn();
    m.cmd(&["MULTI"]);
    m.cmd(&["SSUBSCRIBE", "x"]);
    assert_eq!(
        m.cmd(&["EXEC"]),
        Frame::Array(vec![Frame::Error(
            "ERR SSUBSCRIBE isn't allowed for a DENY BLOCKING client".into()
        )])
    );
}

#[test]
fn publish_to_self_arrives_after_the_reply() {
    let s = redwing(&[]);
    let mut c = s.conn();
    c.cmd(&["HELLO", "3"]);
    c.cmd(&["SUBSCRIBE", "foo"]);
    c.send(&[b"PUBLISH", b"foo", b"bar"]);
    assert_eq!(c.read_raw_reply().unwrap(), b":1\r\n");
    assert_eq!(
        c.read_raw_reply().unwrap(),
        b">3\r\n$7\r\nmessage\r\n$3\r\nfoo\r\n$3\r\nbar\r\n"
    );
}

#[test]
fn spublish_reaches_a_replicas_subscribers() {
    let p = redwing(&[]);
    let r = redwing(&[]);
    replicaof(&r, &p);
    wait_synced(&p, &r);
    let mut sub = r.conn();
    sub.cmd(&["SSUBSCRIBE", "news"]);
    assert_eq!(p.conn().int(&["SPUBLISH", "news", "hi"]), 0);
    assert_eq!(
        sub.read_frame(),
        Frame::Array(vec![bulk(b"smessage"), bulk(b"news"), bulk(b"hi")])
    );
}

/// `{calls, histogram_usec}` of one command in a LATENCY HISTOGRAM reply.
fn histogram_of<'a>(reply: &'a Frame, name: &str) -> Option<&'a Vec<Frame>> {
    let Frame::Array(items) = reply else {
        panic!("{reply:?}")
    };
    items
        .chunks(2)
        .find(|kv| kv[0].text() == name)
        .and_then(|kv| match &kv[1] {
            Frame::Array(v) => Some(v),
            _ => None,
        })
}

#[test]
fn latency_histograms_and_latencystats() {
    let s = redwing(&[]);
    let mut c = s.conn();
    c.cmd(&["CONFIG", "RESETSTAT"]);
    c.cmd(&["SET", "a", "b"]);
    c.cmd(&["SET", "c", "d"]);
    c.cmd(&["CLIENT", "ID"]);
    let all = c.cmd(&["LATENCY", "HISTOGRAM"]);
    let set = histogram_of(&all, "set").expect("set histogram");
    assert_eq!(set[0].text(), "calls");
    assert_eq!(set[1], Frame::Int(2));
    assert_eq!(set[2].text(), "histogram_usec");
    let Frame::Array(buckets) = &set[3] else {
        panic!("{set:?}")
    };
    // Bucket bounds are the top of the slot holding each power of two of ns (1024 ns → 1 µs,
    // 2048 → 2, ... 32768 → 33, 65536 → 66); counts are cumulative.
    const BOUNDS: [i64; 12] = [1, 2, 4, 8, 16, 33, 66, 132, 264, 528, 1056, 2113];
    let (mut last, mut last_us) = (0, 0);
    for kv in buckets.chunks(2) {
        let (Frame::Int(us), Frame::Int(n)) = (&kv[0], &kv[1]) else {
            panic!("{buckets:?}")
        };
        assert!(BOUNDS.contains(us) || *us > 2113, "bucket {us}");
        assert!(*us > last_us && *n > last && *n <= 2, "{buckets:?}");
        (last, last_us) = (*n, *us);
    }
    assert_eq!(last, 2);
    assert!(histogram_of(&all, "config|resetstat").is_some());
    // A container names its subcommands; unknown names are skipped.
    let sub = c.cmd(&["LATENCY", "HISTOGRAM", "client", "nosuchcommand"]);
    let Frame::Array(items) = &sub else {
        panic!("{sub:?}")
    };
    assert_eq!(items.len(), 2);
    assert_eq!(items[0].text(), "client|id");

    let stats = c.text(&["INFO", "latencystats"]);
    let line = stats
        .lines()
        .find(|l| l.starts_with("latency_percentiles_usec_set:"))
        .expect("set line");
    assert!(
        line.contains(":p50=") && line.contains(",p99=") && line.contains(",p99.9="),
        "{line}"
    );
    c.cmd(&[
        "CONFIG",
        "SET",
        "latency-tracking-info-percentiles",
        "0 100",
    ]);
    let stats = c.text(&["INFO", "latencystats"]);
    assert!(
        stats
            .lines()
            .any(|l| l.starts_with("latency_percentiles_usec_set:p0=") && l.contains(",p100=")),
        "{stats}"
    );
    c.cmd(&["CONFIG", "SET", "latency-tracking", "no"]);
    assert_eq!(c.text(&["INFO", "latencystats"]).trim(), "# Latencystats");
}

#[test]
fn latency_graph_and_doctor() {
    let s = redwing(&["--latency-monitor-threshold", "50"]);
    let mut c = s.conn();
    assert_eq!(
        c.cmd(&["LATENCY", "GRAPH", "command"]),
        Frame::Error("ERR No samples available for event 'command'".into())
    );
    c.cmd(&["DEBUG", "SLEEP", "0.06"]);
    let graph = c.text(&["LATENCY", "GRAPH", "command"]);
    assert!(graph.starts_with("command - high "), "{graph}");
    assert!(graph.contains(" ms (all time high "), "{graph}");
    let doctor = c.text(&["LATENCY", "DOCTOR"]);
    assert!(doctor.contains("1. command: 1 latency spikes"), "{doctor}");
    assert_eq!(c.int(&["LATENCY", "RESET", "COMMAND"]), 1);
}

#[test]
fn debug_subcommands() {
    let s = redwing(&[]);
    let mut c = s.conn();
    c.send(&[b"DEBUG", b"ERROR", b"MYERR some\ntext"]);
    assert_eq!(c.read_raw_reply().unwrap(), b"-MYERR some text\r\n");
    assert_eq!(c.text(&["DEBUG", "PAUSE-CRON", "1"]), "OK");
    // With the cron paused, a key past its TTL stays until it is looked up.
    c.cmd(&["DEBUG", "SET-ACTIVE-EXPIRE", "1"]);
    c.cmd(&["SET", "k", "v", "PX", "1"]);
    std::thread::sleep(std::time::Duration::from_millis(250));
    assert_eq!(c.int(&["DBSIZE"]), 1);
    c.cmd(&["DEBUG", "PAUSE-CRON", "0"]);
    wait_for("expired by the cron", T, || c.int(&["DBSIZE"]) == 0);
    c.cmd(&["SET", "x", "1"]);
    let obj = c.text(&["DEBUG", "OBJECT", "x", "fast"]);
    assert!(obj.contains(" encoding:int "), "{obj}");
    assert!(!obj.contains("serializedlength"), "{obj}");
    assert!(obj.contains(" lfu_freq:"), "{obj}");
    // A corrupted DUMP payload is refused, unless checksums are skipped.
    let Frame::Bulk(mut payload) = c.cmd(&["DUMP", "x"]) else {
        panic!("dump")
    };
    let mut bad = payload.to_vec();
    let last = bad.len() - 1;
    bad[last] ^= 0xff;
    payload = bytes::Bytes::from(bad);
    let restore =
        |c: &mut Conn, p: &bytes::Bytes| c.cmd_bytes(&[b"RESTORE", b"y", b"0", p, b"REPLACE"]);
    assert_eq!(
        restore(&mut c, &payload),
        Frame::Error("ERR DUMP payload version or checksum are wrong".into())
    );
    c.cmd(&["DEBUG", "SET-SKIP-CHECKSUM-VALIDATION", "1"]);
    assert_eq!(restore(&mut c, &payload).text(), "OK");
    assert_eq!(
        c.text(&["DEBUG", "STRINGMATCH-TEST"]),
        "Apparently the server did not crash: test passed"
    );
    let stats = c.text(&["MEMORY", "MALLOC-STATS"]);
    assert!(
        stats.contains("jemalloc"),
        "{}",
        &stats[..stats.len().min(200)]
    );
    let art = c.text(&["LOLWUT", "VERSION", "5", "10", "2", "2"]);
    assert!(art.ends_with("Redis ver. 7.2.4\n"), "{art}");
}

/// `oom-score-adj` writes the configured score for the node's role into
/// `/proc/<pid>/oom_score_adj` (relative to the score found at first, or absolute), follows
/// REPLICAOF, and restores the original score when turned off.
#[test]
fn oom_score_adj_follows_the_role() {
    let s = redwing(&[]);
    let pid = s.pid().expect("the server's pid");
    let read = || -> i64 {
        let text = std::fs::read_to_string(format!("/proc/{pid}/oom_score_adj"))
            .expect("read oom_score_adj");
        text.trim().parse().expect("a number")
    };
    let base = read();
    let mut c = s.conn();
    let ok = |c: &mut Conn, args: &[&str]| {
        let r = c.cmd(args);
        assert!(!r.is_error(), "{args:?}: {r:?}");
    };
    ok(
        &mut c,
        &["CONFIG", "SET", "oom-score-adj-values", "10 20 30"],
    );
    ok(&mut c, &["CONFIG", "SET", "oom-score-adj", "yes"]);
    assert_eq!(read(), (base + 10).min(1000));
    ok(&mut c, &["REPLICAOF", "127.0.0.1", "1"]);
    assert_eq!(read(), (base + 20).min(1000), "the replica's value");
    ok(&mut c, &["REPLICAOF", "NO", "ONE"]);
    assert_eq!(read(), (base + 10).min(1000));
    ok(
        &mut c,
        &["CONFIG", "SET", "oom-score-adj-values", "500 600 700"],
    );
    ok(&mut c, &["CONFIG", "SET", "oom-score-adj", "absolute"]);
    assert_eq!(read(), 500);
    ok(&mut c, &["CONFIG", "SET", "oom-score-adj", "no"]);
    assert_eq!(read(), base, "the original score is restored");
}

/// `lazyfree-lazy-expire`: with `yes` an expired large value is freed on the background thread
/// (INFO `lazyfreed_objects` counts it), with `no` inline, as Valkey.
#[test]
fn lazyfree_lazy_expire_decides_where_an_expired_value_is_freed() {
    let s = redwing(&[]);
    let mut c = s.conn();
    let lazyfreed = |c: &mut Conn| -> i64 {
        field(c, "memory", "lazyfreed_objects")
            .parse()
            .expect("lazyfreed_objects")
    };
    for (lazy, expect_background) in [("no", false), ("yes", true)] {
        assert_eq!(
            c.cmd(&["CONFIG", "SET", "lazyfree-lazy-expire", lazy])
                .text(),
            "OK"
        );
        let before = lazyfreed(&mut c);
        let members: Vec<String> = (0..1000).map(|i| format!("m{i}")).collect();
        let mut argv = vec!["SADD", "big"];
        argv.extend(members.iter().map(String::as_str));
        c.cmd(&argv);
        c.cmd(&["PEXPIRE", "big", "1"]);
        wait_for("the key expired", T, || c.int(&["EXISTS", "big"]) == 0);
        if expect_background {
            wait_for("the value freed in the background", T, || {
                lazyfreed(&mut c) > before
            });
        } else {
            assert_eq!(lazyfreed(&mut c), before, "freed inline with {lazy}");
        }
    }
}

/// `rename-command`: clients (and scripts) know FLUSHDB as BADGER only, CONFIG as CFG and
/// DEBUG not at all;
/// the renamed command reaches a replica (which renames nothing) under its original name;
/// CONFIG REWRITE keeps the directives and a restart still applies them.
#[test]
fn rename_command_renames_for_clients_only() {
    let mut p = redwing_with_config(
        "rename-command flushdb badger\nrename-command config cfg\nrename-command debug \"\"\n",
        &[],
    );
    let r = redwing(&[]);
    replicaof(&r, &p);
    wait_synced(&p, &r);
    let mut c = p.conn();
    let unknown = c.cmd(&["FLUSHDB"]);
    assert!(
        unknown.is_error() && unknown.text().starts_with("ERR unknown command 'FLUSHDB'"),
        "{unknown:?}"
    );
    assert!(c.cmd(&["CONFIG", "GET", "port"]).is_error());
    assert!(c.cmd(&["DEBUG", "SLEEP", "0"]).is_error());
    c.cmd(&["SET", "k", "v"]);
    wait_synced(&p, &r);
    assert_eq!(r.conn().int(&["DBSIZE"]), 1);
    assert_eq!(c.text(&["BADGER"]), "OK");
    wait_synced(&p, &r);
    assert_eq!(r.conn().int(&["DBSIZE"]), 0, "the replica applied FLUSHDB");
    let script = c.cmd(&["EVAL", "return redis.call('flushdb')", "0"]);
    assert!(
        script.is_error(),
        "a script cannot call the old name: {script:?}"
    );
    assert_eq!(c.text(&["EVAL", "return redis.call('badger')", "0"]), "OK");
    assert_eq!(c.text(&["CFG", "REWRITE"]), "OK");
    drop(c);
    p.restart();
    let mut c = p.conn();
    assert!(
        c.cmd(&["FLUSHDB"]).is_error(),
        "still renamed after a restart"
    );
    assert!(c.cmd(&["DEBUG", "SLEEP", "0"]).is_error());
    assert_eq!(c.text(&["BADGER"]), "OK");
    let port = p.port.to_string();
    assert_eq!(
        c.cmd(&["CFG", "GET", "port"]),
        Frame::Array(vec![bulk(b"port"), bulk(port.as_bytes())])
    );
}
