//! Data sets and replication scenarios shared by the interop tests (`interop_redis.rs` against
//! redis-server 7.0, `interop_valkey.rs` against valkey-server 8.0.1): writes of every type
//! and write path, the data comparison (key counts, DEBUG DIGEST, expiry times, and on a
//! mismatch the keys that differ), and the scenarios both files run with a different reference
//! server: full sync then streaming, a failover with mixed nodes, partial resyncs after a
//! dropped link. Nothing here knows which reference server it talks to.

use std::time::{SystemTime, UNIX_EPOCH};

use resp::frame::Frame;
use testkit::{Conn, ServerProc};

use super::{digest, field, replicaof, stat, wait_synced};

/// Sends one command and fails on an error reply (that would be a mistake in the test data,
/// the primary is the one answering).
pub fn ok(c: &mut Conn, args: &[&str]) -> Frame {
    let f = c.cmd(args);
    assert!(!f.is_error(), "{args:?} -> {f:?}");
    f
}

/// [`ok`] with owned arguments (long variadic commands).
pub fn okv(c: &mut Conn, args: &[String]) -> Frame {
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    ok(c, &a)
}

/// `cmd key` followed by the given tail arguments.
pub fn variadic(cmd: &str, key: &str, tail: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut v = vec![cmd.to_string(), key.to_string()];
    v.extend(tail);
    v
}

pub fn unix_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Data of every supported type in several databases: strings (short, integer-encoded,
/// negative, extreme integers, floats, a long value), hashes, lists, sets (integers and
/// strings) and sorted sets, each small and large (both encodings), and keys with a TTL far in
/// the future. Leaves the connection on db 0.
pub fn fill(c: &mut Conn, n: usize) {
    let long = "L".repeat(50_000);
    for db in [0usize, 1, 2, 9] {
        ok(c, &["SELECT", &db.to_string()]);
        for i in 0..n {
            ok(c, &["SET", &format!("str:{i}"), &format!("value:{db}:{i}")]);
            let n = (i as i64) * 7919 - 1_000_000;
            ok(c, &["SET", &format!("int:{i}"), &n.to_string()]);
        }
        ok(c, &["SET", "long", &long]);
        ok(c, &["SET", "max", &i64::MAX.to_string()]);
        ok(c, &["SET", "min", &i64::MIN.to_string()]);
        ok(c, &["SET", "float", "3.14159"]);
        ok(c, &["SET", "counter", "0"]);
        ok(c, &["HSET", "hash:small", "a", "1", "b", "two", "c", "-3"]);
        okv(
            c,
            &variadic(
                "HSET",
                "hash:big",
                (0..300).flat_map(|i| [format!("field:{i}"), format!("v{}", i * db)]),
            ),
        );
        ok(c, &["RPUSH", "list:small", "a", "b", "c", "1", "2"]);
        okv(
            c,
            &variadic("RPUSH", "list:big", (0..1000).map(|i| format!("item:{i}"))),
        );
        okv(
            c,
            &variadic(
                "SADD",
                "set:int",
                (0..100).map(|i| (i * 3 - 50).to_string()),
            ),
        );
        ok(c, &["SADD", "set:small", "x", "y", "z"]);
        okv(
            c,
            &variadic("SADD", "set:big", (0..600).map(|i| format!("member:{i}"))),
        );
        ok(
            c,
            &[
                "ZADD",
                "zset:small",
                "1.5",
                "m1",
                "-2",
                "m2",
                "0",
                "m3",
                "+inf",
                "top",
            ],
        );
        okv(
            c,
            &variadic(
                "ZADD",
                "zset:big",
                (0..300).flat_map(|i| [format!("{}.25", i as i64 - 150), format!("z:{i}")]),
            ),
        );
        // Keys with a TTL in the future, set in each of the ways a client can.
        for i in 0..20 {
            ok(c, &["SET", &format!("ttl:{i}"), "v", "EX", "3600"]);
        }
        ok(c, &["SETEX", "ttl:setex", "7200", "v"]);
        ok(c, &["PSETEX", "ttl:psetex", "7200000", "v"]);
        ok(c, &["EXPIRE", "hash:small", "7200"]);
        let at = (unix_secs() + 5000).to_string();
        ok(c, &["EXPIREAT", "list:small", &at]);
        ok(c, &["PEXPIRE", "zset:small", "9000000"]);
    }
    ok(c, &["SELECT", "0"]);
}

/// Streaming writes touching every type, most write paths (including the forms a primary
/// rewrites before propagating: EXPIRE, INCRBYFLOAT, SPOP, GETEX, blocking pops), MULTI/EXEC
/// spanning databases, MOVE/SWAPDB/FLUSHDB. `round` keeps keys of repeated calls apart.
/// Leaves the connection on db 0.
pub fn workload(c: &mut Conn, round: usize) {
    let r = round.to_string();
    let k = |name: &str| format!("{name}:r{round}");
    ok(c, &["SELECT", "0"]);
    // Strings.
    ok(c, &["SET", &k("s"), "hello"]);
    ok(c, &["APPEND", &k("s"), " world"]);
    ok(c, &["SETRANGE", &k("s"), "0", "J"]);
    ok(c, &["INCR", "counter"]);
    ok(c, &["INCRBY", "int:5", "1000"]);
    ok(c, &["DECRBY", "int:6", "77"]);
    ok(c, &["DECR", "int:7"]);
    ok(c, &["INCRBYFLOAT", "float", "1.5"]);
    ok(c, &["INCRBYFLOAT", &k("f"), "-0.25"]);
    ok(c, &["GETSET", "str:1", &k("getset")]);
    ok(c, &["GETDEL", "str:2"]);
    ok(c, &["SETNX", &k("nx"), "1"]);
    ok(c, &["MSET", &k("m1"), "a", &k("m2"), "12345"]);
    ok(c, &["MSETNX", &k("mnx1"), "a", &k("mnx2"), "b"]);
    ok(c, &["SET", &k("big"), &"B".repeat(20_000 + round)]);
    ok(c, &["SET", &k("ex"), "v", "EX", "3600"]);
    ok(c, &["SET", &k("ex"), "w", "KEEPTTL"]);
    ok(c, &["PSETEX", &k("px"), "3600000", "v"]);
    ok(c, &["GETEX", "str:3", "EX", "4000"]);
    ok(c, &["GETEX", "ttl:0", "PERSIST"]);
    // Hashes.
    ok(c, &["HSET", "hash:big", &k("f"), "1", "field:0", "changed"]);
    ok(c, &["HINCRBY", "hash:big", "counter", "5"]);
    ok(c, &["HINCRBYFLOAT", "hash:big", "fcounter", "2.5"]);
    ok(c, &["HDEL", "hash:big", &format!("field:{}", 10 + round)]);
    ok(c, &["HSETNX", &k("h"), "a", "1"]);
    // Lists.
    ok(c, &["LPUSH", "list:big", &k("head")]);
    ok(c, &["RPUSH", "list:big", &k("tail"), "x", "y"]);
    ok(c, &["LPOP", "list:big"]);
    ok(c, &["RPOP", "list:big"]);
    ok(c, &["LSET", "list:big", "3", &k("set")]);
    ok(c, &["LINSERT", "list:big", "BEFORE", "item:500", &k("ins")]);
    ok(c, &["LREM", "list:big", "1", "x"]);
    ok(c, &["LMOVE", "list:big", &k("moved"), "LEFT", "RIGHT"]);
    ok(c, &["RPOPLPUSH", "list:big", &k("moved")]);
    ok(c, &["BLPOP", "list:big", "1"]);
    ok(c, &["RPUSH", &k("trim"), "1", "2", "3", "4", "5"]);
    ok(c, &["LTRIM", &k("trim"), "1", "-2"]);
    // Sets.
    ok(c, &["SADD", "set:big", &k("m"), "extra"]);
    ok(c, &["SREM", "set:big", &format!("member:{}", 20 + round)]);
    ok(c, &["SPOP", "set:big"]);
    ok(c, &["SPOP", "set:big", "3"]);
    ok(c, &["SPOP", "set:int"]);
    ok(c, &["SMOVE", "set:big", &k("dst"), "member:100"]);
    ok(c, &["SINTERSTORE", &k("inter"), "set:big", "set:small"]);
    ok(c, &["SUNIONSTORE", &k("union"), "set:small", "set:int"]);
    ok(c, &["SDIFFSTORE", &k("diff"), "set:int", "set:small"]);
    // Sorted sets.
    ok(c, &["ZADD", "zset:big", "7.5", &k("z"), "-1e3", &k("neg")]);
    ok(c, &["ZINCRBY", "zset:big", "2.5", "z:10"]);
    ok(c, &["ZREM", "zset:big", &format!("z:{}", 100 + round)]);
    ok(c, &["ZPOPMIN", "zset:big"]);
    ok(c, &["ZPOPMAX", "zset:big", "2"]);
    ok(c, &["ZREMRANGEBYSCORE", "zset:big", "20", "21"]);
    ok(c, &["ZUNIONSTORE", &k("zu"), "2", "zset:small", "zset:big"]);
    ok(c, &["ZINTERSTORE", &k("zi"), "2", "zset:small", "zset:big"]);
    ok(c, &["ZRANGESTORE", &k("zr"), "zset:big", "0", "9"]);
    // Expiry (EXPIRE and friends become PEXPIREAT on the wire).
    ok(c, &["EXPIRE", "str:10", "3600"]);
    ok(c, &["PEXPIRE", "str:11", "3600000"]);
    ok(
        c,
        &["EXPIREAT", "hash:big", &(unix_secs() + 3600).to_string()],
    );
    ok(
        c,
        &[
            "PEXPIREAT",
            "set:big",
            &((unix_secs() + 3600) * 1000).to_string(),
        ],
    );
    ok(c, &["PERSIST", "ttl:1"]);
    // Keyspace.
    ok(c, &["DEL", "str:4", &k("nothing")]);
    ok(c, &["UNLINK", "str:5"]);
    ok(c, &["SET", &k("ren"), "v"]);
    ok(c, &["RENAME", &k("ren"), &k("renamed")]);
    ok(c, &["COPY", "hash:small", &k("copy"), "REPLACE"]);
    ok(c, &["MOVE", &k("s"), "1"]);
    ok(c, &["SORT", "set:int", "STORE", &k("sorted")]);
    // A transaction spanning two databases and several types.
    ok(c, &["MULTI"]);
    ok(c, &["SET", &k("tx"), "1"]);
    ok(c, &["INCR", "counter"]);
    ok(c, &["HSET", &k("txh"), "f", "v"]);
    ok(c, &["SADD", &k("txs"), "a", "b", "c"]);
    ok(c, &["SPOP", &k("txs")]);
    ok(c, &["EXPIRE", &k("tx"), "3600"]);
    ok(c, &["INCRBYFLOAT", "float", "0.1"]);
    ok(c, &["SELECT", "2"]);
    ok(c, &["RPUSH", &k("txl"), "a", "b"]);
    ok(c, &["ZADD", &k("txz"), "1", "a"]);
    let exec = ok(c, &["EXEC"]);
    assert!(
        matches!(exec, Frame::Array(ref v) if v.len() == 10),
        "{exec:?}"
    );
    // The connection is on db 2 now (SELECT inside EXEC sticks).
    ok(c, &["SET", &k("db2"), &r]);
    ok(c, &["SELECT", "1"]);
    ok(c, &["HSET", &k("db1"), "round", &r]);
    ok(c, &["INCR", "counter"]);
    ok(c, &["SWAPDB", "1", "2"]);
    ok(c, &["SELECT", "4"]);
    ok(c, &["SET", &k("gone"), "v"]);
    ok(c, &["SADD", &k("gone-set"), "v"]);
    ok(c, &["FLUSHDB"]);
    ok(c, &["SELECT", "9"]);
    ok(c, &["LPUSH", &k("db9"), "v"]);
    ok(c, &["SELECT", "0"]);
}

/// Writes through a Lua script (run on a reference primary): its effects are propagated
/// wrapped in MULTI/EXEC.
pub fn script_workload(c: &mut Conn, round: usize) {
    ok(
        c,
        &[
            "EVAL",
            "redis.call('SET', KEYS[1], ARGV[1]); redis.call('INCR', KEYS[2]); \
             redis.call('HSET', KEYS[3], 'f', ARGV[1]); return 1",
            "3",
            &format!("lua:r{round}"),
            "counter",
            &format!("luah:r{round}"),
            "v",
        ],
    );
}

/// Commands queued on a connection and sent in pipelined batches; every reply must be a
/// non-error (the primary answers: an error is a mistake in the test data).
pub struct Batch<'a> {
    conn: &'a mut Conn,
    queued: Vec<Vec<Vec<u8>>>,
}

impl<'a> Batch<'a> {
    const SIZE: usize = 256;

    pub fn new(conn: &'a mut Conn) -> Batch<'a> {
        Batch {
            conn,
            queued: Vec::new(),
        }
    }

    /// Queues one command (sent when the batch is full or on [`Batch::finish`]).
    pub fn push(&mut self, argv: Vec<Vec<u8>>) {
        self.queued.push(argv);
        if self.queued.len() >= Self::SIZE {
            self.flush();
        }
    }

    fn flush(&mut self) {
        let cmds = std::mem::take(&mut self.queued);
        for (argv, reply) in cmds.iter().zip(self.conn.pipeline(&cmds)) {
            if reply.is_error() {
                let shown: Vec<String> = argv
                    .iter()
                    .take(4)
                    .map(|a| String::from_utf8_lossy(&a[..a.len().min(60)]).into_owned())
                    .collect();
                panic!("{shown:?}... -> {reply:?}");
            }
        }
    }

    /// Sends what is still queued and checks the replies.
    pub fn finish(mut self) {
        self.flush();
    }
}

/// `(db, keys, expires)` per non-empty database from INFO keyspace, for readable failures.
pub fn keyspace(p: &ServerProc) -> Vec<(String, String, String)> {
    let info = p.conn().text(&["INFO", "keyspace"]);
    info.lines()
        .filter_map(|l| {
            let (db, rest) = l.split_once(':')?;
            if !db.starts_with("db") {
                return None;
            }
            let mut keys = String::new();
            let mut expires = String::new();
            for kv in rest.trim().split(',') {
                if let Some(v) = kv.strip_prefix("keys=") {
                    keys = v.to_string();
                } else if let Some(v) = kv.strip_prefix("expires=") {
                    expires = v.to_string();
                }
            }
            Some((db.to_string(), keys, expires))
        })
        .collect()
}

/// Every key of the connection's current database matching `pattern` (SCAN to the end),
/// sorted. On a primary, SCAN deletes the expired keys it meets (and propagates the DELs).
pub fn scan_keys(c: &mut Conn, pattern: &str) -> Vec<Vec<u8>> {
    let mut cursor = "0".to_string();
    let mut keys = Vec::new();
    loop {
        match c.cmd(&["SCAN", &cursor, "MATCH", pattern, "COUNT", "1000"]) {
            Frame::Array(v) => match v.as_slice() {
                [next, Frame::Array(batch)] => {
                    cursor = next.text();
                    keys.extend(
                        batch
                            .iter()
                            .filter_map(|k| k.as_bytes().map(<[u8]>::to_vec)),
                    );
                }
                other => panic!("SCAN reply: {other:?}"),
            },
            other => panic!("SCAN reply: {other:?}"),
        }
        if cursor == "0" {
            break;
        }
    }
    keys.sort();
    keys.dedup();
    keys
}

/// `cmd key` for each key, pipelined; the replies in key order.
fn per_key(c: &mut Conn, cmd: &[&str], keys: &[Vec<u8>]) -> Vec<Frame> {
    let mut out = Vec::with_capacity(keys.len());
    for chunk in keys.chunks(500) {
        let cmds: Vec<Vec<Vec<u8>>> = chunk
            .iter()
            .map(|k| {
                let mut argv: Vec<Vec<u8>> = cmd.iter().map(|a| a.as_bytes().to_vec()).collect();
                argv.push(k.clone());
                argv
            })
            .collect();
        out.extend(c.pipeline(&cmds));
    }
    out
}

/// The text of a reply, or of the first element of an array reply (DEBUG DIGEST-VALUE).
fn first_text(f: &Frame) -> String {
    match f {
        Frame::Array(v) => v.first().map(Frame::text).unwrap_or_default(),
        other => other.text(),
    }
}

fn db_number(db: &str) -> &str {
    db.trim_start_matches("db")
}

/// Up to ten keys whose presence, type or DEBUG DIGEST-VALUE differs between `a` and `b`, for
/// the message of a failed digest comparison.
pub fn differing_keys(a: &ServerProc, b: &ServerProc) -> Vec<String> {
    let mut dbs: Vec<String> = keyspace(a)
        .into_iter()
        .chain(keyspace(b))
        .map(|(db, _, _)| db)
        .collect();
    dbs.sort();
    dbs.dedup();
    let (mut ac, mut bc) = (a.conn(), b.conn());
    let mut out = Vec::new();
    for db in dbs {
        ok(&mut ac, &["SELECT", db_number(&db)]);
        ok(&mut bc, &["SELECT", db_number(&db)]);
        let (ka, kb) = (scan_keys(&mut ac, "*"), scan_keys(&mut bc, "*"));
        let show = |k: &[u8]| String::from_utf8_lossy(k).into_owned();
        for k in ka.iter().filter(|k| kb.binary_search(k).is_err()) {
            out.push(format!("{db} {}: only on :{}", show(k), a.port));
        }
        for k in kb.iter().filter(|k| ka.binary_search(k).is_err()) {
            out.push(format!("{db} {}: only on :{}", show(k), b.port));
        }
        let both: Vec<Vec<u8>> = ka
            .into_iter()
            .filter(|k| kb.binary_search(k).is_ok())
            .collect();
        let types = per_key(&mut ac, &["TYPE"], &both);
        let (da, db_) = (
            per_key(&mut ac, &["DEBUG", "DIGEST-VALUE"], &both),
            per_key(&mut bc, &["DEBUG", "DIGEST-VALUE"], &both),
        );
        for (((k, t), x), y) in both.iter().zip(&types).zip(&da).zip(&db_) {
            if x != y {
                out.push(format!(
                    "{db} {} ({}): DEBUG DIGEST-VALUE {} on :{} vs {} on :{}",
                    show(k),
                    t.text(),
                    first_text(x),
                    a.port,
                    first_text(y),
                    b.port
                ));
            }
        }
        if out.len() >= 10 {
            break;
        }
    }
    out.truncate(10);
    out
}

/// Every key with an expiry has the same PEXPIRETIME on `a` and `b` (DEBUG DIGEST only sees
/// whether a key has one).
fn assert_same_expiry_times(what: &str, a: &ServerProc, b: &ServerProc) {
    let (mut ac, mut bc) = (a.conn(), b.conn());
    for (db, _, expires) in keyspace(a) {
        if expires == "0" {
            continue;
        }
        ok(&mut ac, &["SELECT", db_number(&db)]);
        ok(&mut bc, &["SELECT", db_number(&db)]);
        let keys = scan_keys(&mut ac, "*");
        let ta = per_key(&mut ac, &["PEXPIRETIME"], &keys);
        let tb = per_key(&mut bc, &["PEXPIRETIME"], &keys);
        let diff: Vec<String> = keys
            .iter()
            .zip(ta.iter().zip(&tb))
            .filter(|(_, (x, y))| x != y)
            .take(10)
            .map(|(k, (x, y))| format!("{db} {}: {x:?} vs {y:?}", String::from_utf8_lossy(k)))
            .collect();
        assert!(
            diff.is_empty(),
            "{what}: PEXPIRETIME on :{} vs :{} differs:\n{}",
            a.port,
            b.port,
            diff.join("\n")
        );
    }
}

/// Every node holds the same dataset as `a` (key counts first, for a readable message, then
/// DEBUG DIGEST, then the expiry times), and the dataset is not empty. On a digest mismatch the
/// message names the keys that differ.
pub fn assert_same_data(what: &str, a: &ServerProc, others: &[&ServerProc]) {
    let da = digest(a);
    assert_ne!(da, "0".repeat(40), "{what}: no data on :{}", a.port);
    let ka = keyspace(a);
    for o in others {
        assert_eq!(
            keyspace(o),
            ka,
            "{what}: INFO keyspace of :{} differs from :{}",
            o.port,
            a.port
        );
        let d = digest(o);
        if d != da {
            panic!(
                "{what}: DEBUG DIGEST of :{} ({d}) differs from :{} ({da}); keys:\n{}",
                o.port,
                a.port,
                differing_keys(a, o).join("\n")
            );
        }
        assert_same_expiry_times(what, a, o);
    }
}

pub fn offset(p: &ServerProc) -> String {
    field(&mut p.conn(), "replication", "master_repl_offset")
}

pub fn replid(p: &ServerProc) -> String {
    field(&mut p.conn(), "replication", "master_replid")
}

/// The start of the line a primary logs when it starts a snapshot for a replica (the same in
/// Redwing, Redis and Valkey; Valkey adds `using: normal sync` or `using: dual-channel`).
pub fn sync_target_line(diskless: &str) -> &'static str {
    if diskless == "yes" {
        "Starting BGSAVE for SYNC with target: replicas sockets"
    } else {
        "Starting BGSAVE for SYNC with target: disk"
    }
}

/// Full sync from `p` to `r` (data written before and right after REPLICAOF), then streaming;
/// `p_runs_scripts` adds writes through Lua scripts (reference primaries only).
pub fn full_sync_then_stream(p: &ServerProc, r: &ServerProc, p_runs_scripts: bool, what: &str) {
    let mut pc = p.conn();
    fill(&mut pc, 300);
    replicaof(r, p);
    // Writes racing the start of the sync: before the snapshot or in the buffered stream.
    for i in 0..50 {
        ok(&mut pc, &["SET", &format!("racing:{i}"), "v"]);
        ok(&mut pc, &["RPUSH", "racing:list", &i.to_string()]);
    }
    wait_synced(p, r);
    assert_same_data(&format!("{what}: after full sync"), p, &[r]);
    assert_eq!(stat(p, "sync_full"), 1, "{what}: one full sync");
    for round in 0..3 {
        workload(&mut pc, round);
        if p_runs_scripts {
            script_workload(&mut pc, round);
        }
    }
    wait_synced(p, r);
    assert_same_data(&format!("{what}: after streaming"), p, &[r]);
    assert_eq!(
        stat(p, "sync_full"),
        1,
        "{what}: streaming needed no new sync"
    );
    assert_eq!(replid(p), replid(r), "{what}: replica adopted the history");
}

/// Primary `p` with replicas `r1` and `r2`: promote `r1`, repoint `r2` and then `p` to it
/// ([`promote`]). Both must continue with a partial resync; no full sync anywhere.
pub fn failover_case(p: &ServerProc, r1: &ServerProc, r2: &ServerProc, what: &str) {
    let mut pc = p.conn();
    fill(&mut pc, 200);
    replicaof(r1, p);
    replicaof(r2, p);
    workload(&mut pc, 0);
    wait_synced(p, r1);
    wait_synced(p, r2);
    let full: Vec<i64> = [p, r1, r2].iter().map(|n| stat(n, "sync_full")).collect();
    assert_eq!(full, [2, 0, 0], "{what}: the two initial full syncs");
    promote(r1, p, &[r2], 1, what);
}

/// Failover from `old` (the primary of `new` and of each of `siblings`) to `new`: `new` is
/// promoted and takes writes, then the siblings and `old` follow it, and `round` of
/// [`workload`] runs on it. Every repointed node must continue with a partial resync (no full
/// sync on any node) and end with `new`'s data and history.
pub fn promote(
    new: &ServerProc,
    old: &ServerProc,
    siblings: &[&ServerProc],
    round: usize,
    what: &str,
) {
    // The old primary's periodic PING would extend its history past what `new` saw at its
    // promotion; a real failover has the same race, the test avoids it.
    ok(
        &mut old.conn(),
        &["CONFIG", "SET", "repl-ping-replica-period", "3600"],
    );
    wait_synced(old, new);
    for s in siblings {
        wait_synced(old, s);
    }
    let followers: Vec<&ServerProc> = [new].into_iter().chain(siblings.iter().copied()).collect();
    assert_same_data(&format!("{what}: before failover"), old, &followers);
    let mut nodes = vec![new, old];
    nodes.extend_from_slice(siblings);
    let full_before: Vec<i64> = nodes.iter().map(|n| stat(n, "sync_full")).collect();
    let partial_before = stat(new, "sync_partial_ok");

    let promoted = new.conn().cmd(&["REPLICAOF", "NO", "ONE"]);
    assert!(!promoted.is_error(), "{what}: promotion: {promoted:?}");
    let mut nc = new.conn();
    assert_eq!(field(&mut nc, "replication", "role"), "master");
    // Writes on the new primary before the others follow it.
    ok(&mut nc, &["SET", "promoted", &round.to_string()]);
    ok(
        &mut nc,
        &["HSET", "hash:small", "promoted", &round.to_string()],
    );
    let repointed: Vec<&ServerProc> = siblings.iter().copied().chain([old]).collect();
    for n in &repointed {
        replicaof(n, new);
    }
    workload(&mut nc, round);
    for n in &repointed {
        wait_synced(new, n);
    }
    assert_same_data(&format!("{what}: after failover"), new, &repointed);
    let full_after: Vec<i64> = nodes.iter().map(|n| stat(n, "sync_full")).collect();
    assert_eq!(
        full_after, full_before,
        "{what}: no full sync anywhere (promoted, old primary, siblings)"
    );
    assert_eq!(
        stat(new, "sync_partial_ok"),
        partial_before + repointed.len() as i64,
        "{what}: every repointed node continued with a partial resync"
    );
    let id = replid(new);
    for n in &repointed {
        assert_eq!(replid(n), id, "{what}: :{} follows the new history", n.port);
    }
}

/// Drops the link three ways, with writes meanwhile; each time the replica must come back with
/// a partial resync: the primary kills it, the replica kills its primary, and the primary kills
/// it while the replica is stopped (so the writes are surely in the backlog before it asks).
pub fn link_kill_case(p: &ServerProc, r: &ServerProc, what: &str) {
    let mut pc = p.conn();
    fill(&mut pc, 200);
    replicaof(r, p);
    wait_synced(p, r);
    let full = stat(p, "sync_full");
    assert_eq!(full, 1, "{what}: initial full sync");
    let partial = stat(p, "sync_partial_ok");

    let resumed = |step: i64, how: &str| {
        wait_synced(p, r);
        assert_same_data(&format!("{what}: after {how}"), p, &[r]);
        assert_eq!(
            stat(p, "sync_partial_ok"),
            partial + step,
            "{what}: partial resync after {how}"
        );
        assert_eq!(
            stat(p, "sync_full"),
            full,
            "{what}: no new full sync after {how}"
        );
    };

    assert_eq!(
        pc.int(&["CLIENT", "KILL", "TYPE", "replica"]),
        1,
        "{what}: one replica link killed on the primary"
    );
    workload(&mut pc, 0);
    resumed(1, "CLIENT KILL TYPE replica");

    assert_eq!(
        r.conn().int(&["CLIENT", "KILL", "TYPE", "master"]),
        1,
        "{what}: the primary link killed on the replica"
    );
    workload(&mut pc, 1);
    resumed(2, "CLIENT KILL TYPE master");

    r.pause();
    assert_eq!(
        pc.int(&["CLIENT", "KILL", "TYPE", "replica"]),
        1,
        "{what}: the stopped replica's link killed on the primary"
    );
    workload(&mut pc, 2);
    r.resume();
    resumed(3, "CLIENT KILL TYPE replica while the replica was stopped");
}
