//! Replication between Redwing and the reference valkey-server 8.0.1, real processes in both
//! roles, Valkey's dual-channel full sync included:
//! - the same commands on both servers give the same DEBUG DIGEST (full-precision zset scores);
//! - single-channel full sync each way; dual-channel full sync each way under writes, with the
//!   primary's INFO sampled during the sync showing both connections;
//! - partial resyncs after CLIENT KILL TYPE replica / master each way, dual-channel off and on;
//! - failovers with mixed nodes: only partial resyncs;
//! - disk-based sync of several databases, big values and short TTLs, then a backlog overflow
//!   that must cost a full sync;
//! - mixed dual-channel / diskless settings fall back to one channel.
//!
//! Convergence is checked after the replication offsets match: key counts, DEBUG DIGEST (the
//! same algorithm on both servers; on a mismatch the message names the keys that differ) and
//! expiry times; full and partial syncs are counted from INFO stats.
//!
//! The binary is `$VALKEY_SERVER`, else `.cache/valkey-8.0.1/src/valkey-server`, which
//! `scripts/build-valkey.sh` builds (scripts/test.sh runs it first). Without it these tests
//! fail; they never skip.

mod common;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::interop::*;
use common::*;
use resp::frame::Frame;
use testkit::{wait_for, Conn, Rng, ServerProc};

const NO_DUAL: [&str; 2] = ["--dual-channel-replication-enabled", "no"];
const DUAL: [&str; 2] = ["--dual-channel-replication-enabled", "yes"];

/// Starts a server of one kind ([`valkey`] or [`redwing`]) with extra arguments.
type Start = fn(&[&str]) -> ServerProc;

fn with<'a>(base: &[&'a str], extra: &[&'a str]) -> Vec<&'a str> {
    base.iter().chain(extra).copied().collect()
}

// ------------------------------------------------------------------------------------------
// Data: deterministic mixed data sets (every type in its compact and large encodings, binary
// values, full-precision scores, expiries), follow-up writes, and the extras of the disk-based
// case (several databases, MULTI/EXEC, SWAPDB, FLUSHDB, big values, short TTLs).

/// One command argument.
trait Arg {
    fn arg(self) -> Vec<u8>;
}

impl Arg for &str {
    fn arg(self) -> Vec<u8> {
        self.as_bytes().to_vec()
    }
}

impl Arg for String {
    fn arg(self) -> Vec<u8> {
        self.into_bytes()
    }
}

impl Arg for Vec<u8> {
    fn arg(self) -> Vec<u8> {
        self
    }
}

impl Arg for i64 {
    fn arg(self) -> Vec<u8> {
        self.to_string().into_bytes()
    }
}

impl Arg for i32 {
    fn arg(self) -> Vec<u8> {
        self.to_string().into_bytes()
    }
}

/// `argv!["SET", key, value]`: a command line of mixed argument types.
macro_rules! argv {
    ($($a:expr),+ $(,)?) => { vec![$(Arg::arg($a)),+] };
}

/// A seeded random source per data set (FNV-1a of its name): the same data on every run.
fn rng(name: &str) -> Rng {
    Rng(name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    }))
}

/// Uniform in `lo..=hi`.
fn int(r: &mut Rng, lo: i64, hi: i64) -> i64 {
    lo + r.below((hi - lo + 1) as u64) as i64
}

/// Uniform in `[lo, hi)` with all 53 bits of mantissa.
fn uniform(r: &mut Rng, lo: f64, hi: f64) -> f64 {
    lo + (r.next_u64() >> 11) as f64 / (1u64 << 53) as f64 * (hi - lo)
}

/// Scores whose shortest round-trip text is easy to get wrong, as a client may send them.
const EDGE_SCORES: [&str; 16] = [
    "-1.169947207959808",
    "0.1",
    "0.30000000000000004",
    "1e-7",
    "2.5e-8",
    "5e-324",
    "2.2250738585072014e-308",
    "1.7976931348623157e308",
    "123456789.12345679",
    "1e15",
    "1e16",
    "1e21",
    "-0",
    "4503599627370497",
    "+inf",
    "-inf",
];

/// A mixed data set of about `n` keys named `<prefix>:...` in db 0.
struct Mixed {
    prefix: String,
    n: i64,
}

impl Mixed {
    fn new(prefix: &str, n: i64) -> Mixed {
        Mixed {
            prefix: prefix.to_string(),
            n,
        }
    }

    fn strings(&self) -> i64 {
        self.n * 60 / 100
    }

    /// Writes the data set: 60% strings (integers, short, long, binary, with a TTL, appended
    /// and float-incremented), 10% each hashes, lists and sets, the rest sorted sets; every
    /// type has some members past its compact encoding.
    fn load(&self, c: &mut Conn) {
        let p = &self.prefix;
        let mut r = rng(p);
        let mut b = Batch::new(c);
        let (nh, nl, nset) = (self.n / 10, self.n / 10, self.n / 10);
        let nz = self.n - self.strings() - nh - nl - nset;
        for i in 0..self.strings() {
            let k = format!("{p}:str:{i}");
            match i % 6 {
                0 => b.push(argv![
                    "SET",
                    k,
                    int(&mut r, -1_000_000_000_000, 1_000_000_000_000)
                ]),
                1 => b.push(argv!["SET", k, format!("v{i}")]),
                2 => b.push(argv!["SET", k, "x".repeat(int(&mut r, 45, 300) as usize)]),
                3 => {
                    let len = int(&mut r, 20, 200);
                    let v: Vec<u8> = (0..len).map(|_| r.below(256) as u8).collect();
                    b.push(argv!["SET", k, v]);
                }
                4 => b.push(argv!["SET", k, format!("ttl{i}"), "EX", 100_000 + i]),
                _ => {
                    b.push(argv!["APPEND", k, "a".repeat(10)]);
                    b.push(argv!["INCRBYFLOAT", format!("{p}:flt:{i}"), "1.5"]);
                }
            }
        }
        for i in 0..nh {
            let fields = if i % 50 == 0 { 300 } else { int(&mut r, 1, 20) };
            let mut cmd = argv!["HSET", format!("{p}:hash:{i}")];
            for f in 0..fields {
                cmd.push(format!("f{f}").into_bytes());
                cmd.push(if r.chance(500) {
                    int(&mut r, 0, 1_000_000).to_string().into_bytes()
                } else {
                    "val".repeat(int(&mut r, 1, 30) as usize).into_bytes()
                });
            }
            b.push(cmd);
        }
        for i in 0..nl {
            let len = if i % 100 == 0 {
                1000
            } else {
                int(&mut r, 1, 30)
            };
            let mut cmd = argv!["RPUSH", format!("{p}:list:{i}")];
            for _ in 0..len {
                cmd.push(if r.chance(500) {
                    int(&mut r, 0, 1_000_000_000).to_string().into_bytes()
                } else {
                    "e".repeat(int(&mut r, 1, 80) as usize).into_bytes()
                });
            }
            b.push(cmd);
        }
        for i in 0..nset {
            let mut cmd = argv!["SADD", format!("{p}:set:{i}")];
            let (len, ints) = match i % 3 {
                0 => (int(&mut r, 1, 40), true),
                1 => (int(&mut r, 1, 40), false),
                _ => (300, false),
            };
            for _ in 0..len {
                let m = int(&mut r, 0, 1_000_000);
                cmd.push(if ints { m.to_string() } else { format!("m{m}") }.into_bytes());
            }
            b.push(cmd);
        }
        for i in 0..nz {
            let members = if i % 40 == 0 { 300 } else { int(&mut r, 1, 30) };
            let mut cmd = argv!["ZADD", format!("{p}:zset:{i}")];
            for m in 0..members {
                let score = if m % 3 == 0 {
                    int(&mut r, -50, 50).to_string()
                } else {
                    format!("{:?}", uniform(&mut r, -1000.0, 1000.0))
                };
                cmd.push(score.into_bytes());
                cmd.push(format!("zm{m}").into_bytes());
            }
            b.push(cmd);
        }
        let mut edge = argv!["ZADD", format!("{p}:zset:edge")];
        for (i, s) in EDGE_SCORES.iter().enumerate() {
            edge.push(s.as_bytes().to_vec());
            edge.push(format!("e{i}").into_bytes());
        }
        b.push(edge);
        b.finish();
    }

    /// 2000 follow-up writes (new keys, modifications, deletes, expiries), different for each
    /// `seed`.
    fn more(&self, c: &mut Conn, seed: i64) {
        let p = &self.prefix;
        let mut r = rng(&format!("{p}-{seed}"));
        let mut b = Batch::new(c);
        let strings = self.strings();
        for i in 0..2000 {
            let k = int(&mut r, 0, 999);
            let cmd = match i % 14 {
                0 => argv![
                    "SET",
                    format!("{p}:new{seed}:{i}"),
                    int(&mut r, 0, 1_000_000_000)
                ],
                1 => argv!["INCRBY", format!("{p}:cnt:{}", k % 50), int(&mut r, 1, 100)],
                2 => argv![
                    "HSET",
                    format!("{p}:hash:{k}"),
                    format!("nf{seed}"),
                    "newval",
                    "f0",
                    i
                ],
                3 => argv!["LPUSH", format!("{p}:list:{k}"), format!("lp{seed}-{i}")],
                4 => argv!["RPOP", format!("{p}:list:{k}")],
                5 => argv!["SADD", format!("{p}:set:{k}"), format!("s{seed}-{i}")],
                6 => argv!["SREM", format!("{p}:set:{k}"), format!("m{k}")],
                7 => argv!["ZINCRBY", format!("{p}:zset:{k}"), "2.5", "zm0"],
                8 => argv!["DEL", format!("{p}:str:{}", int(&mut r, 0, strings))],
                9 => argv![
                    "EXPIRE",
                    format!("{p}:str:{}", int(&mut r, 0, strings)),
                    500_000
                ],
                10 => argv!["SET", format!("{p}:px{seed}:{i}"), "v", "PX", 900_000_000],
                11 => argv!["HINCRBY", format!("{p}:hash:{k}"), "ctr", 3],
                12 => argv![
                    "ZADD",
                    format!("{p}:zset:{k}"),
                    "1.25",
                    format!("new{seed}")
                ],
                _ => argv![
                    "MSET",
                    format!("{p}:ms{seed}:{i}a"),
                    "1",
                    format!("{p}:ms{seed}:{i}b"),
                    "2"
                ],
            };
            b.push(cmd);
        }
        b.finish();
    }
}

/// Several databases, MULTI/EXEC in each, FLUSHDB, SWAPDB, big values (a 3 MB string and its
/// copy, a 100,000-element list, 20,000-field hash and set) and 500 keys living 200-700 ms.
/// Leaves the connection on db 0.
fn extras(c: &mut Conn, p: &str, seed: i64) {
    let mut b = Batch::new(c);
    for db in [1, 3, 15] {
        b.push(argv!["SELECT", db]);
        for i in 0..300 {
            b.push(argv![
                "SET",
                format!("{p}:db{db}:{i}"),
                format!("v{seed}-{i}")
            ]);
            b.push(argv![
                "HSET",
                format!("{p}:db{db}:h{}", i % 20),
                format!("f{i}"),
                i
            ]);
        }
        b.push(argv!["MULTI"]);
        b.push(argv!["INCR", format!("{p}:db{db}:ctr")]);
        b.push(argv!["LPUSH", format!("{p}:db{db}:tx"), seed]);
        b.push(argv![
            "ZADD",
            format!("{p}:db{db}:z"),
            "1.5",
            format!("m{seed}")
        ]);
        b.push(argv!["EXEC"]);
    }
    b.push(argv!["SELECT", 3]);
    b.push(argv!["FLUSHDB"]);
    for i in 0..50 {
        b.push(argv!["SET", format!("{p}:db3after:{i}"), i]);
    }
    b.push(argv!["SWAPDB", 1, 2]);
    b.push(argv!["SELECT", 0]);
    b.push(argv![
        "SET",
        format!("{p}:big:{seed}"),
        "B".repeat(3 * 1024 * 1024 + 7)
    ]);
    let mut list = argv!["RPUSH", format!("{p}:biglist:{seed}")];
    list.extend((0..100_000).map(|i: i64| i.to_string().into_bytes()));
    b.push(list);
    let mut hash = argv!["HSET", format!("{p}:bighash:{seed}")];
    hash.extend(
        (0..20_000).flat_map(|i| [format!("f{i}").into_bytes(), format!("v{i}").into_bytes()]),
    );
    b.push(hash);
    let mut set = argv!["SADD", format!("{p}:bigset:{seed}")];
    set.extend((0..20_000).map(|i| format!("m{i}").into_bytes()));
    b.push(set);
    let mut intset = argv!["SADD", format!("{p}:bigintset:{seed}")];
    intset.extend((0..500i64).map(|i| (i * 7).to_string().into_bytes()));
    b.push(intset);
    for i in 0..500 {
        b.push(argv![
            "SET",
            format!("{p}:short:{seed}:{i}"),
            "x",
            "PX",
            200 + i
        ]);
    }
    b.push(argv!["SETRANGE", format!("{p}:sr:{seed}"), 100, "tail"]);
    b.push(argv![
        "COPY",
        format!("{p}:big:{seed}"),
        format!("{p}:bigcopy:{seed}")
    ]);
    b.push(argv![
        "RENAME",
        format!("{p}:bigcopy:{seed}"),
        format!("{p}:bigcopy2:{seed}")
    ]);
    b.finish();
}

/// Waits until the primary has deleted every short-lived key of [`extras`] (SCAN deletes the
/// expired keys it meets, active expiry the rest; the DELs reach the replica).
fn wait_short_keys_gone(p: &ServerProc) {
    let mut c = p.conn();
    wait_for("the short-TTL keys to expire on the primary", T, || {
        scan_keys(&mut c, "*:short:*").is_empty()
    });
}

// ------------------------------------------------------------------------------------------
// Case helpers.

/// INFO replication of `p`.
fn info_replication(c: &mut Conn) -> String {
    c.text(&["INFO", "replication"])
}

/// Both connections of a dual-channel sync listed at once by a primary.
fn shows_both_channels(info: &str) -> bool {
    info.contains("type=rdb-channel") && info.contains("type=main-channel")
}

/// A client writing on the primary in pipelined batches of 100 SETs (1,000 keys, so the
/// snapshot stays small) until stopped, at most 60 s.
struct Writer {
    stop: Arc<AtomicBool>,
    written: Arc<AtomicU64>,
    handle: JoinHandle<()>,
}

impl Writer {
    fn start(port: u16) -> Writer {
        let stop = Arc::new(AtomicBool::new(false));
        let written = Arc::new(AtomicU64::new(0));
        let (s, w) = (stop.clone(), written.clone());
        let handle = std::thread::spawn(move || {
            let mut c = match Conn::connect(port) {
                Ok(c) => c,
                Err(e) => panic!("writer: connect to :{port}: {e}"),
            };
            let start = Instant::now();
            let mut n = 0u64;
            while !s.load(Ordering::Relaxed) && start.elapsed() < Duration::from_secs(60) {
                let cmds: Vec<Vec<Vec<u8>>> = (0..100)
                    .map(|i| argv!["SET", format!("w:{}", (n + i) % 1000), format!("{}", n + i)])
                    .collect();
                for f in c.pipeline(&cmds) {
                    assert!(!f.is_error(), "writer: {f:?}");
                }
                n += 100;
                w.store(n, Ordering::Relaxed);
            }
        });
        Writer {
            stop,
            written,
            handle,
        }
    }

    fn written(&self) -> u64 {
        self.written.load(Ordering::Relaxed)
    }

    /// Stops the writer; returns how many commands it wrote.
    fn finish(self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        if self.handle.join().is_err() {
            panic!("the writer thread failed");
        }
        self.written.load(Ordering::Relaxed)
    }
}

// ------------------------------------------------------------------------------------------
// Case 0: the same commands on two standalone servers.

/// ZSCORE text and DEBUG DIGEST-VALUE of one-member sorted sets with the edge scores, then
/// whole-database digests after the same mixed data and follow-up writes on both servers.
#[test]
fn same_commands_give_the_same_digest() {
    let v = valkey(&[]);
    let w = redwing(&[]);
    for (i, score) in EDGE_SCORES.iter().enumerate() {
        let key = format!("edge:{i}");
        let mut seen = Vec::new();
        for s in [&v, &w] {
            let mut c = s.conn();
            assert_eq!(
                c.int(&["ZADD", &key, score, "m"]),
                1,
                "ZADD {score} on :{}",
                s.port
            );
            seen.push((
                c.text(&["ZSCORE", &key, "m"]),
                c.text(&["DEBUG", "DIGEST-VALUE", &key]),
            ));
        }
        assert_eq!(
            seen[0], seen[1],
            "score {score}: Valkey vs Redwing (ZSCORE, DIGEST-VALUE)"
        );
    }
    let data = Mixed::new("c0", 3000);
    for s in [&v, &w] {
        let mut c = s.conn();
        data.load(&mut c);
        data.more(&mut c, 1);
        fill(&mut c, 100);
    }
    // Relative expiries give different absolute times on two servers: DEBUG DIGEST only sees
    // that a key has one, so it compares; the expiry times themselves are not compared here.
    let (dv, dw) = (digest(&v), digest(&w));
    assert_ne!(dv, "0".repeat(40), "no data");
    assert_eq!(keyspace(&v), keyspace(&w), "INFO keyspace");
    assert!(
        dv == dw,
        "DEBUG DIGEST after the same commands: Valkey {dv}, Redwing {dw}; keys:\n{}",
        differing_keys(&v, &w).join("\n")
    );
}

// ------------------------------------------------------------------------------------------
// Cases 1 and 2: single-channel full sync each way.

fn single_channel(primary: Start, replica: Start, p_is_valkey: bool, what: &str) {
    let p = primary(&NO_DUAL);
    let r = replica(&NO_DUAL);
    let data = Mixed::new("c1", 3000);
    data.load(&mut p.conn());
    full_sync_then_stream(&p, &r, p_is_valkey, what);
    data.more(&mut p.conn(), 1);
    wait_synced(&p, &r);
    assert_same_data(&format!("{what}: after more writes"), &p, &[&r]);
    assert_eq!(stat(&p, "sync_full"), 1, "{what}: one full sync");
    assert_eq!(
        stat(&p, "sync_partial_ok"),
        0,
        "{what}: no main-channel PSYNC: one channel"
    );
    assert!(
        p.log().contains(sync_target_line("yes")),
        "{what}: diskless transfer: {}",
        p.log()
    );
}

#[test]
fn valkey_primary_to_redwing_replica_single_channel() {
    single_channel(
        valkey,
        redwing,
        true,
        "Valkey primary -> Redwing replica, one channel",
    );
}

#[test]
fn redwing_primary_to_valkey_replica_single_channel() {
    single_channel(
        redwing,
        valkey,
        false,
        "Redwing primary -> Valkey replica, one channel",
    );
}

// ------------------------------------------------------------------------------------------
// Cases 3 and 4: dual-channel full sync each way, under writes.

/// A slow snapshot (rdb-key-save-delay) while a client keeps writing: INFO of the primary
/// shows the RDB channel and the main channel at once, writes land while both exist, and the
/// replica ends with the primary's data after one snapshot and one main-channel PSYNC.
fn dual_channel(primary: Start, replica: Start, what: &str) {
    let p = primary(&with(&DUAL, &["--repl-diskless-sync", "yes"]));
    let r = replica(&DUAL);
    let data = Mixed::new("c3", 2000);
    let mut pc = p.conn();
    data.load(&mut pc);
    fill(&mut pc, 100);
    assert_eq!(
        pc.text(&["CONFIG", "SET", "rdb-key-save-delay", "500"]),
        "OK"
    );
    let writer = Writer::start(p.port);
    wait_for("the writer to start", T, || writer.written() > 0);
    replicaof(&r, &p);

    let mut rc = r.conn();
    let mut both_seen: Option<u64> = None;
    let mut replica_syncing = false;
    wait_for(
        &format!("{what}: the replica's link up"),
        Duration::from_secs(60),
        || {
            if both_seen.is_none() && shows_both_channels(&info_replication(&mut pc)) {
                both_seen = Some(writer.written());
            }
            let replica = info_replication(&mut rc);
            replica_syncing |= replica.contains("master_sync_in_progress:1");
            replica.contains("master_link_status:up")
        },
    );
    let written_at_up = writer.written();
    let written = writer.finish();
    let Some(written_at_both) = both_seen else {
        panic!("{what}: INFO replication of the primary never showed both connections at once");
    };
    assert!(
        replica_syncing,
        "{what}: the replica reported master_sync_in_progress:1 during the sync"
    );
    assert!(
        written_at_up > written_at_both,
        "{what}: writes while both connections were open ({written_at_both} then {written_at_up} of {written})"
    );

    assert_eq!(pc.text(&["CONFIG", "SET", "rdb-key-save-delay", "0"]), "OK");
    wait_synced(&p, &r);
    assert_same_data(&format!("{what}: after the sync"), &p, &[&r]);
    assert_eq!(
        stat(&p, "sync_full"),
        1,
        "{what}: one snapshot (the RDB channel's SYNC)"
    );
    assert_eq!(
        stat(&p, "sync_partial_ok"),
        1,
        "{what}: the main channel's PSYNC"
    );
    data.more(&mut pc, 1);
    workload(&mut pc, 0);
    wait_synced(&p, &r);
    assert_same_data(&format!("{what}: after more writes"), &p, &[&r]);
    assert_eq!(
        stat(&p, "sync_full"),
        1,
        "{what}: streaming needed no new sync"
    );
    assert_eq!(
        replid(&p),
        replid(&r),
        "{what}: replica adopted the history"
    );
}

#[test]
fn valkey_primary_to_redwing_replica_dual_channel_under_writes() {
    let what = "Valkey primary -> Redwing replica, dual channel";
    dual_channel(valkey, redwing, what);
}

#[test]
fn redwing_primary_to_valkey_replica_dual_channel_under_writes() {
    let what = "Redwing primary -> Valkey replica, dual channel";
    dual_channel(redwing, valkey, what);
}

// ------------------------------------------------------------------------------------------
// Case 5: partial resync after a killed link, each way, dual-channel off and on.

fn link_kills(dual: &str) {
    let args = ["--dual-channel-replication-enabled", dual];
    {
        let p = valkey(&args);
        let r = redwing(&args);
        Mixed::new("c5", 1000).load(&mut p.conn());
        link_kill_case(
            &p,
            &r,
            &format!("Valkey primary -> Redwing replica (dual {dual})"),
        );
    }
    {
        let p = redwing(&args);
        let r = valkey(&args);
        Mixed::new("c5", 1000).load(&mut p.conn());
        link_kill_case(
            &p,
            &r,
            &format!("Redwing primary -> Valkey replica (dual {dual})"),
        );
    }
}

#[test]
fn partial_resync_after_link_kill_single_channel() {
    link_kills("no");
}

#[test]
fn partial_resync_after_link_kill_dual_channel() {
    link_kills("yes");
}

// ------------------------------------------------------------------------------------------
// Case 6: failover with mixed nodes.

/// Two failovers in a row in each set of three nodes `p`, `r1`, `r2` (`r1` of the other kind):
/// `r1` is promoted and the two nodes of the other kind follow it, then `r2` is promoted and
/// `r1` (the old primary) and `p` follow it. Only partial resyncs.
#[test]
fn mixed_failover_partial_resyncs_only() {
    {
        let p = valkey(&NO_DUAL);
        let r1 = redwing(&NO_DUAL);
        let r2 = valkey(&NO_DUAL);
        Mixed::new("c6", 1000).load(&mut p.conn());
        failover_case(
            &p,
            &r1,
            &r2,
            "Valkey primary, Redwing promoted, Valkey sibling",
        );
        promote(
            &r2,
            &r1,
            &[&p],
            2,
            "then Valkey promoted, Redwing old primary, Valkey sibling",
        );
    }
    {
        let p = redwing(&NO_DUAL);
        let r1 = valkey(&NO_DUAL);
        let r2 = redwing(&NO_DUAL);
        Mixed::new("c6", 1000).load(&mut p.conn());
        failover_case(
            &p,
            &r1,
            &r2,
            "Redwing primary, Valkey promoted, Redwing sibling",
        );
        promote(
            &r2,
            &r1,
            &[&p],
            2,
            "then Redwing promoted, Valkey old primary, Redwing sibling",
        );
    }
}

// ------------------------------------------------------------------------------------------
// Case 7: disk-based sync, several databases, big values, TTLs, backlog overflow.

fn disk_sync_and_overflow(primary: Start, replica: Start, replica_args: &[&str], what: &str) {
    let p = primary(&with(
        &NO_DUAL,
        &["--repl-diskless-sync", "no", "--repl-backlog-size", "1mb"],
    ));
    let r = replica(&with(&NO_DUAL, replica_args));
    let mut pc = p.conn();
    Mixed::new("c7", 2000).load(&mut pc);
    extras(&mut pc, "c7", 1);
    replicaof(&r, &p);
    wait_synced(&p, &r);
    assert!(
        p.log().contains(sync_target_line("no")),
        "{what}: disk-based transfer: {}",
        p.log()
    );
    wait_short_keys_gone(&p);
    wait_synced(&p, &r);
    assert_same_data(&format!("{what}: after the disk-based sync"), &p, &[&r]);

    extras(&mut pc, "c7", 2);
    wait_short_keys_gone(&p);
    wait_synced(&p, &r);
    assert_same_data(&format!("{what}: after streaming the extras"), &p, &[&r]);
    assert_eq!(stat(&p, "sync_full"), 1, "{what}: one full sync so far");

    // The replica cannot reconnect while stopped: 2 MB written meanwhile overflow the 1 MB
    // backlog, so its PSYNC must be refused.
    r.pause();
    assert_eq!(
        pc.int(&["CLIENT", "KILL", "TYPE", "replica"]),
        1,
        "{what}: link killed"
    );
    assert_eq!(pc.text(&["SET", "c7:overflow", &"O".repeat(2 << 20)]), "OK");
    r.resume();
    wait_synced(&p, &r);
    assert_same_data(&format!("{what}: after the backlog overflow"), &p, &[&r]);
    assert_eq!(
        stat(&p, "sync_full"),
        2,
        "{what}: the overflow cost a full sync"
    );
    assert_eq!(stat(&p, "sync_partial_ok"), 0, "{what}: no partial resync");
    assert!(
        stat(&p, "sync_partial_err") >= 1,
        "{what}: the PSYNC was refused"
    );
}

#[test]
fn valkey_primary_to_redwing_replica_disk_sync_and_backlog_overflow() {
    let what = "Valkey primary (disk) -> Redwing replica";
    disk_sync_and_overflow(valkey, redwing, &[], what);
}

#[test]
fn redwing_primary_to_valkey_replica_disk_sync_and_backlog_overflow() {
    let what = "Redwing primary (disk) -> Valkey replica (repl-diskless-load swapdb)";
    disk_sync_and_overflow(redwing, valkey, &["--repl-diskless-load", "swapdb"], what);
}

// ------------------------------------------------------------------------------------------
// Case 8: mixed dual-channel / diskless settings use one channel.

/// `(primary dual-channel, primary diskless, replica dual-channel)`: dual-channel needs both
/// sides enabled and a diskless primary.
const ONE_CHANNEL_SETTINGS: [(&str, &str, &str); 3] = [
    ("no", "yes", "yes"),
    ("yes", "no", "yes"),
    ("yes", "yes", "no"),
];

fn one_channel(primary: Start, replica: Start, names: &str) {
    for (p_dual, p_diskless, r_dual) in ONE_CHANNEL_SETTINGS {
        let what =
            format!("{names}: primary dual {p_dual} diskless {p_diskless}, replica dual {r_dual}");
        let p = primary(&[
            "--dual-channel-replication-enabled",
            p_dual,
            "--repl-diskless-sync",
            p_diskless,
        ]);
        let r = replica(&["--dual-channel-replication-enabled", r_dual]);
        let data = Mixed::new("c8", 1000);
        let mut pc = p.conn();
        data.load(&mut pc);
        replicaof(&r, &p);
        let mut rc = r.conn();
        let mut rdb_channel_seen = false;
        wait_for(&format!("{what}: the replica's link up"), T, || {
            rdb_channel_seen |= info_replication(&mut pc).contains("type=rdb-channel");
            field(&mut rc, "replication", "master_link_status") == "up"
        });
        assert!(!rdb_channel_seen, "{what}: no RDB channel");
        wait_synced(&p, &r);
        data.more(&mut pc, 1);
        wait_synced(&p, &r);
        assert_same_data(&what, &p, &[&r]);
        assert_eq!(stat(&p, "sync_full"), 1, "{what}: one full sync");
        assert_eq!(
            stat(&p, "sync_partial_ok"),
            0,
            "{what}: no main-channel PSYNC"
        );
        assert!(
            p.log().contains(sync_target_line(p_diskless)),
            "{what}: the intended transfer: {}",
            p.log()
        );
    }
}

#[test]
fn valkey_primary_to_redwing_replica_mixed_settings_use_one_channel() {
    one_channel(valkey, redwing, "Valkey primary -> Redwing replica");
}

#[test]
fn redwing_primary_to_valkey_replica_mixed_settings_use_one_channel() {
    one_channel(redwing, valkey, "Redwing primary -> Valkey replica");
}

// ------------------------------------------------------------------------------------------
// MIGRATE between the two servers, each way.

/// Moves a mixed data set from `src` to `dst` (which requires a password) with MIGRATE
/// ... AUTH ... KEYS in batches: `dst` ends with the data `src` had (DEBUG DIGEST), `src`
/// and its replica end empty (the moves propagate as DELs); then COPY, REPLACE, NOKEY and an
/// error from the target (a key that exists there, without REPLACE: the key stays).
fn migrate_case(src_kind: Start, dst_kind: Start, what: &str) {
    let src = src_kind(&[]);
    let replica = redwing(&[]);
    replicaof(&replica, &src);
    let dst = dst_kind(&["--requirepass", "pw"]);
    let port = dst.port.to_string();
    let mut s = src.conn();
    Mixed::new("mig", 600).load(&mut s);
    let before = digest(&src);
    let keys = scan_keys(&mut s, "*");
    assert!(keys.len() > 500, "{what}: keys to move: {}", keys.len());
    for batch in keys.chunks(100) {
        let mut cmd: Vec<&[u8]> = vec![b"MIGRATE", b"127.0.0.1", port.as_bytes(), b"", b"0"];
        cmd.extend([b"5000".as_slice(), b"AUTH", b"pw", b"KEYS"]);
        cmd.extend(batch.iter().map(|k| k.as_slice()));
        let r = s.cmd_bytes(&cmd);
        assert_eq!(r.text(), "OK", "{what}: MIGRATE of a batch: {r:?}");
    }
    assert_eq!(s.int(&["DBSIZE"]), 0, "{what}: the source keeps nothing");
    let mut d = dst.conn();
    ok(&mut d, &["AUTH", "pw"]);
    assert_eq!(
        d.text(&["DEBUG", "DIGEST"]),
        before,
        "{what}: the target has the data"
    );
    wait_synced(&src, &replica);
    assert_eq!(
        replica.conn().int(&["DBSIZE"]),
        0,
        "{what}: the replica applied the DELs"
    );
    // COPY keeps the source key; REPLACE overwrites the target's; without it the target's
    // BUSYKEY comes back and the key stays; a missing key answers NOKEY.
    ok(&mut s, &["SET", "k", "v1"]);
    ok(&mut d, &["SET", "k", "old"]);
    let busy = s.cmd(&[
        "MIGRATE",
        "127.0.0.1",
        &port,
        "k",
        "0",
        "5000",
        "AUTH",
        "pw",
    ]);
    assert!(
        busy.is_error()
            && busy
                .text()
                .contains("Target instance replied with error: BUSYKEY"),
        "{what}: {busy:?}"
    );
    assert_eq!(s.text(&["GET", "k"]), "v1", "{what}: kept after the error");
    let args = [
        "MIGRATE",
        "127.0.0.1",
        &port,
        "k",
        "0",
        "5000",
        "COPY",
        "REPLACE",
    ];
    let r = s.cmd(&[&args[..], &["AUTH", "pw"]].concat());
    assert_eq!(r.text(), "OK", "{what}: COPY REPLACE: {r:?}");
    assert_eq!(s.text(&["GET", "k"]), "v1", "{what}: COPY keeps the key");
    assert_eq!(d.text(&["GET", "k"]), "v1", "{what}: REPLACE overwrote");
    let r = s.cmd(&["MIGRATE", "127.0.0.1", &port, "nokey", "0", "5000"]);
    assert_eq!(r.text(), "NOKEY", "{what}: {r:?}");
    let wrong = s.cmd(&[
        "MIGRATE",
        "127.0.0.1",
        &port,
        "k",
        "0",
        "5000",
        "AUTH",
        "no",
    ]);
    assert!(
        wrong.is_error() && wrong.text().contains("WRONGPASS"),
        "{what}: {wrong:?}"
    );
}

#[test]
fn migrate_from_redwing_to_valkey() {
    migrate_case(redwing, valkey, "MIGRATE Redwing -> Valkey");
}

#[test]
fn migrate_from_valkey_to_redwing() {
    migrate_case(valkey, redwing, "MIGRATE Valkey -> Redwing");
}

// ------------------------------------------------------------------------------------------
// COMMAND INFO, command by command, against Valkey's.

/// A reply as text, with sets sorted and simple and bulk strings alike (COMMAND INFO's flag
/// sets have no order; Valkey sends some names as simple strings, some as bulk).
fn canon(f: &Frame) -> String {
    match f {
        Frame::Array(v) | Frame::Push(v) => {
            format!("[{}]", v.iter().map(canon).collect::<Vec<_>>().join(", "))
        }
        Frame::Set(v) => {
            let mut items: Vec<String> = v.iter().map(canon).collect();
            items.sort();
            format!("{{{}}}", items.join(", "))
        }
        Frame::Map(v) => {
            let items: Vec<String> = v
                .iter()
                .map(|(k, v)| format!("{}: {}", canon(k), canon(v)))
                .collect();
            format!("<{}>", items.join(", "))
        }
        other => other.text(),
    }
}

/// Commands Valkey 8.0.1 has and Redwing does not (README, not implemented): they must be
/// unknown to COMMAND INFO, not described wrongly.
const NOT_BUILT: [&str; 3] = ["module", "restore-asking", "script|debug"];

/// Every command and subcommand name Valkey knows (`get`, `config|get`), sorted by command.
fn every_command_name(vc: &mut Conn) -> Vec<String> {
    let (Frame::Set(list) | Frame::Array(list)) = vc.cmd(&["COMMAND", "LIST"]) else {
        panic!("COMMAND LIST");
    };
    let mut names: Vec<String> = list.iter().map(|n| n.text()).collect();
    names.sort();
    let mut all = Vec::new();
    for n in &names {
        all.push(n.clone());
        if let Frame::Array(info) = vc.cmd(&["COMMAND", "INFO", n]) {
            if let Some(Frame::Array(entry)) = info.first() {
                if let Some(Frame::Array(subs) | Frame::Set(subs)) = entry.get(9) {
                    for s in subs {
                        if let Frame::Array(se) = s {
                            all.push(se[0].text());
                        }
                    }
                }
            }
        }
    }
    assert!(
        all.len() > 450,
        "Valkey's commands and subcommands: {}",
        all.len()
    );
    all
}

/// Whether Redwing leaves the command out on purpose ([`NOT_BUILT`]).
fn not_built(n: &str) -> bool {
    NOT_BUILT
        .iter()
        .any(|nb| n == *nb || n.starts_with(&format!("{nb}|")))
}

/// Every command and subcommand of Valkey's COMMAND LIST: name, arity, flags, first/last/step,
/// ACL categories, tips and key specs as Valkey 8.0.1 reports them (RESP3).
#[test]
fn command_info_matches_valkey() {
    let v = valkey(&[]);
    let w = redwing(&[]);
    let (mut vc, mut wc) = (v.conn(), w.conn());
    for c in [&mut vc, &mut wc] {
        assert!(!c.cmd(&["HELLO", "3"]).is_error());
    }
    let all = every_command_name(&mut vc);
    let mut differ = Vec::new();
    for n in &all {
        let entry = |c: &mut Conn| match c.cmd(&["COMMAND", "INFO", n]) {
            Frame::Array(mut v) if v.len() == 1 => v.remove(0),
            other => panic!("COMMAND INFO {n}: {other:?}"),
        };
        let (ve, we) = (entry(&mut vc), entry(&mut wc));
        if not_built(n) {
            assert_eq!(we, Frame::Null, "{n} is not built: unknown to COMMAND INFO");
            continue;
        }
        let (Frame::Array(ve), Frame::Array(we)) = (&ve, &we) else {
            differ.push(format!("{n}: Valkey {ve:?}, Redwing {we:?}"));
            continue;
        };
        // Fields 0-8; subcommands (9) are compared as commands of their own.
        for (i, field) in [
            "name",
            "arity",
            "flags",
            "first",
            "last",
            "step",
            "acl",
            "tips",
            "key specs",
        ]
        .iter()
        .enumerate()
        {
            let (a, b) = (canon(&ve[i]), canon(&we[i]));
            if a != b {
                differ.push(format!("{n} {field}:\n  Valkey  {a}\n  Redwing {b}"));
            }
        }
    }
    assert!(
        differ.is_empty(),
        "COMMAND INFO differs:\n{}",
        differ.join("\n")
    );
}

/// Every command and subcommand's COMMAND DOCS (summary, version, group, complexity, doc
/// flags, deprecation, history, arguments) as Valkey 8.0.1 reports it (RESP3); a container's
/// subcommands are compared as commands of their own.
#[test]
fn command_docs_match_valkey() {
    let v = valkey(&[]);
    let w = redwing(&[]);
    let (mut vc, mut wc) = (v.conn(), w.conn());
    for c in [&mut vc, &mut wc] {
        assert!(!c.cmd(&["HELLO", "3"]).is_error());
    }
    let mut differ = Vec::new();
    for n in every_command_name(&mut vc) {
        if not_built(&n) {
            continue;
        }
        let docs = |c: &mut Conn| match c.cmd(&["COMMAND", "DOCS", &n]) {
            Frame::Map(mut m) if m.len() == 1 => match m.remove(0).1 {
                Frame::Map(fields) => fields
                    .into_iter()
                    .filter(|(k, _)| k.text() != "subcommands")
                    .collect::<Vec<_>>(),
                other => panic!("COMMAND DOCS {n}: {other:?}"),
            },
            other => panic!("COMMAND DOCS {n}: {other:?}"),
        };
        let (a, b) = (
            canon(&Frame::Map(docs(&mut vc))),
            canon(&Frame::Map(docs(&mut wc))),
        );
        if a != b {
            differ.push(format!("{n}:\n  Valkey  {a}\n  Redwing {b}"));
        }
    }
    assert!(
        differ.is_empty(),
        "COMMAND DOCS differs:\n{}",
        differ.join("\n")
    );
}
