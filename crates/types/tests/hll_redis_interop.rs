//! Interop test: our HyperLogLog bytes and counts against a real
//! `redis-server` 7.0 started on a free loopback port.
//!
//! Every scenario drives the same operations into Redis and into a small
//! keyspace mirror built on the `hll` module, then compares the replies and
//! the raw string values (`GET`).  A missing `redis-server` binary fails the
//! test: run `scripts/setup-test-deps.sh`.

use types::hll;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

// ------------------------------------------------------------------------
// redis-server process and a tiny RESP client
// ------------------------------------------------------------------------

/// The private redis-server 7.0 (testkit starts it on a free port, checks it is the process
/// it started, and kills it by pid when dropped, on every path out of the test).
struct RedisServer(testkit::proc::ServerProc);

impl RedisServer {
    fn start() -> RedisServer {
        RedisServer(testkit::proc::ServerProc::redis_7_0(&[
            "--appendonly",
            "no",
        ]))
    }

    fn conn(&self) -> Conn {
        Conn::connect(self.0.port).expect("connect to redis-server")
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Reply {
    Simple(String),
    Error(String),
    Int(i64),
    Bulk(Option<Vec<u8>>),
    Array(Option<Vec<Reply>>),
}

struct Conn {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Conn {
    fn connect(port: u16) -> std::io::Result<Conn> {
        let stream = TcpStream::connect(("127.0.0.1", port))?;
        stream.set_read_timeout(Some(Duration::from_secs(60)))?;
        stream.set_nodelay(true)?;
        Ok(Conn {
            writer: stream.try_clone()?,
            reader: BufReader::new(stream),
        })
    }

    fn cmd(&mut self, args: &[&[u8]]) -> Reply {
        let mut out = Vec::new();
        out.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
        for a in args {
            out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            out.extend_from_slice(a);
            out.extend_from_slice(b"\r\n");
        }
        self.writer.write_all(&out).expect("write to redis");
        self.read_reply()
    }

    fn cmd_vec(&mut self, args: &[Vec<u8>]) -> Reply {
        let refs: Vec<&[u8]> = args.iter().map(|a| a.as_slice()).collect();
        self.cmd(&refs)
    }

    fn line(&mut self) -> String {
        let mut line = Vec::new();
        self.reader
            .read_until(b'\n', &mut line)
            .expect("read from redis");
        assert!(line.ends_with(b"\r\n"), "bad RESP line {line:?}");
        line.truncate(line.len() - 2);
        String::from_utf8(line).expect("utf8 line")
    }

    fn read_reply(&mut self) -> Reply {
        let line = self.line();
        let (kind, rest) = line.split_at(1);
        match kind {
            "+" => Reply::Simple(rest.to_string()),
            "-" => Reply::Error(rest.to_string()),
            ":" => Reply::Int(rest.parse().expect("integer reply")),
            "$" => {
                let n: i64 = rest.parse().expect("bulk length");
                if n < 0 {
                    return Reply::Bulk(None);
                }
                let mut buf = vec![0u8; n as usize + 2];
                self.reader.read_exact(&mut buf).expect("bulk body");
                buf.truncate(n as usize);
                Reply::Bulk(Some(buf))
            }
            "*" => {
                let n: i64 = rest.parse().expect("array length");
                if n < 0 {
                    return Reply::Array(None);
                }
                Reply::Array(Some((0..n).map(|_| self.read_reply()).collect()))
            }
            _ => panic!("unexpected RESP line {line:?}"),
        }
    }

    fn ok(&mut self, args: &[&[u8]]) {
        let r = self.cmd(args);
        assert_eq!(r, Reply::Simple("OK".into()), "{:?}", show_args(args));
    }

    fn get(&mut self, key: &str) -> Option<Vec<u8>> {
        match self.cmd(&[b"GET", key.as_bytes()]) {
            Reply::Bulk(v) => v,
            other => panic!("GET {key}: {other:?}"),
        }
    }
}

fn show_args(args: &[&[u8]]) -> String {
    args.iter()
        .take(6)
        .map(|a| String::from_utf8_lossy(&a[..a.len().min(40)]).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

// ------------------------------------------------------------------------
// Our side: a keyspace of string values driven through the hll module the
// way the server is meant to use it.
// ------------------------------------------------------------------------

struct Mirror {
    keys: BTreeMap<String, Vec<u8>>,
    max_bytes: usize,
}

fn err_reply(e: hll::HllError) -> Reply {
    Reply::Error(e.message().to_string())
}

impl Mirror {
    fn new() -> Mirror {
        Mirror {
            keys: BTreeMap::new(),
            max_bytes: hll::HLL_SPARSE_MAX_BYTES_DEFAULT,
        }
    }

    fn pfadd(&mut self, key: &str, elements: &[Vec<u8>]) -> Reply {
        let max = self.max_bytes;
        let Some(value) = self.keys.get_mut(key) else {
            let mut value = hll::new_empty();
            hll::add_many(&mut value, elements, max).expect("add to a fresh HLL");
            self.keys.insert(key.to_string(), value);
            return Reply::Int(1);
        };
        match hll::add_many(value, elements, max) {
            Ok(updated) => Reply::Int(i64::from(updated)),
            Err(e) => err_reply(e),
        }
    }

    fn pfcount(&mut self, keys: &[String]) -> Reply {
        if keys.len() == 1 {
            return match self.keys.get_mut(&keys[0]) {
                None => Reply::Int(0),
                Some(v) => match hll::count(v) {
                    Ok((c, _)) => Reply::Int(c as i64),
                    Err(e) => err_reply(e),
                },
            };
        }
        let values: Vec<&[u8]> = keys
            .iter()
            .filter_map(|k| self.keys.get(k).map(|v| v.as_slice()))
            .collect();
        match hll::count_union(&values) {
            Ok(c) => Reply::Int(c as i64),
            Err(e) => err_reply(e),
        }
    }

    fn pfmerge(&mut self, dest: &str, sources: &[String]) -> Reply {
        let srcs: Vec<&[u8]> = sources
            .iter()
            .filter_map(|k| self.keys.get(k).map(|v| v.as_slice()))
            .collect();
        let current = self.keys.get(dest).map(|v| v.as_slice());
        match hll::merge(current, &srcs, self.max_bytes) {
            Ok(v) => {
                self.keys.insert(dest.to_string(), v);
                Reply::Simple("OK".into())
            }
            Err(e) => err_reply(e),
        }
    }

    fn pfdebug(&mut self, sub: &str, key: &str) -> Reply {
        let Some(value) = self.keys.get_mut(key) else {
            return Reply::Error("ERR The specified key does not exist".into());
        };
        if let Err(e) = hll::validate(value) {
            return err_reply(e);
        }
        match sub {
            "GETREG" => {
                if let Err(e) = hll::to_dense(value) {
                    return err_reply(e);
                }
                let regs = hll::registers(value).expect("dense registers");
                Reply::Array(Some(
                    regs.iter().map(|&r| Reply::Int(i64::from(r))).collect(),
                ))
            }
            "TODENSE" => match hll::to_dense(value) {
                Ok(conv) => Reply::Int(i64::from(conv)),
                Err(e) => err_reply(e),
            },
            "ENCODING" => Reply::Simple(hll::encoding(value).unwrap().name().to_string()),
            "DECODE" => match hll::decode_sparse(value).unwrap() {
                Some(s) => Reply::Bulk(Some(s.into_bytes())),
                None => Reply::Error("ERR HLL encoding is not sparse".into()),
            },
            _ => unreachable!(),
        }
    }
}

/// Runs the same commands against Redis and the mirror and compares.
struct Harness {
    conn: Conn,
    mirror: Mirror,
    ops: usize,
    context: String,
}

impl Harness {
    fn new(server: &RedisServer, context: &str) -> Harness {
        let mut conn = server.conn();
        conn.ok(&[b"FLUSHALL"]);
        conn.ok(&[b"CONFIG", b"SET", b"hll-sparse-max-bytes", b"3000"]);
        Harness {
            conn,
            mirror: Mirror::new(),
            ops: 0,
            context: context.to_string(),
        }
    }

    fn set_max_bytes(&mut self, max: usize) {
        let v = max.to_string();
        self.conn
            .ok(&[b"CONFIG", b"SET", b"hll-sparse-max-bytes", v.as_bytes()]);
        self.mirror.max_bytes = max;
    }

    fn set_raw(&mut self, key: &str, value: Vec<u8>) {
        self.conn.ok(&[b"SET", key.as_bytes(), &value]);
        self.mirror.keys.insert(key.to_string(), value);
    }

    /// Replace the value in Redis by a fresh copy of itself.  Redis may
    /// leave a stray byte just past the end of a corrupted sparse string
    /// (see `interop_truncated_trailing_xzero`); a fresh string has the
    /// zero terminator our implementation assumes.
    fn refresh(&mut self, key: &str) {
        if let Some(v) = self.mirror.keys.get(key).cloned() {
            self.check_key(key);
            self.conn.ok(&[b"SET", key.as_bytes(), &v]);
        }
    }

    fn del(&mut self, key: &str) {
        self.conn.cmd(&[b"DEL", key.as_bytes()]);
        self.mirror.keys.remove(key);
    }

    fn check(&mut self, what: &str, redis: Reply, ours: Reply) {
        self.ops += 1;
        if ours != redis {
            let dump: Vec<String> = self
                .mirror
                .keys
                .iter()
                .map(|(k, v)| {
                    let hex: String = v.iter().take(600).map(|b| format!("{b:02x}")).collect();
                    format!("  {k} (len {}): {hex}", v.len())
                })
                .collect();
            panic!(
                "[{}] reply mismatch after {} ops on {what}\n  ours: {ours:?}\n redis: {redis:?}\nour values after the command:\n{}",
                self.context,
                self.ops,
                dump.join("\n")
            );
        }
    }

    fn check_key(&mut self, key: &str) {
        let theirs = self.conn.get(key);
        let ours = self.mirror.keys.get(key).cloned();
        if theirs != ours {
            let show = |v: &Option<Vec<u8>>| match v {
                None => "<missing>".to_string(),
                Some(v) => {
                    let hex: String = v.iter().take(96).map(|b| format!("{b:02x}")).collect();
                    format!("len {} {hex}", v.len())
                }
            };
            let first_diff = match (&theirs, &ours) {
                (Some(a), Some(b)) => a.iter().zip(b.iter()).position(|(x, y)| x != y),
                _ => None,
            };
            panic!(
                "[{}] bytes of {key} differ after {} ops (first differing byte {first_diff:?})\n redis: {}\n  ours: {}",
                self.context,
                self.ops,
                show(&theirs),
                show(&ours)
            );
        }
    }

    fn check_all(&mut self) {
        let keys: Vec<String> = self.mirror.keys.keys().cloned().collect();
        for k in keys {
            self.check_key(&k);
        }
    }

    fn pfadd(&mut self, key: &str, elements: &[Vec<u8>]) -> Reply {
        let mut args: Vec<Vec<u8>> = vec![b"PFADD".to_vec(), key.as_bytes().to_vec()];
        args.extend(elements.iter().cloned());
        let theirs = self.conn.cmd_vec(&args);
        let ours = self.mirror.pfadd(key, elements);
        self.check(
            &format!("PFADD {key} (+{})", elements.len()),
            theirs,
            ours.clone(),
        );
        self.check_key(key);
        ours
    }

    fn pfcount(&mut self, keys: &[String]) -> Reply {
        let mut args: Vec<Vec<u8>> = vec![b"PFCOUNT".to_vec()];
        args.extend(keys.iter().map(|k| k.as_bytes().to_vec()));
        let theirs = self.conn.cmd_vec(&args);
        let ours = self.mirror.pfcount(keys);
        self.check(&format!("PFCOUNT {keys:?}"), theirs, ours.clone());
        if keys.len() == 1 && self.mirror.keys.contains_key(&keys[0]) {
            self.check_key(&keys[0]);
        }
        ours
    }

    fn pfmerge(&mut self, dest: &str, sources: &[String]) -> Reply {
        let mut args: Vec<Vec<u8>> = vec![b"PFMERGE".to_vec(), dest.as_bytes().to_vec()];
        args.extend(sources.iter().map(|k| k.as_bytes().to_vec()));
        let theirs = self.conn.cmd_vec(&args);
        let ours = self.mirror.pfmerge(dest, sources);
        self.check(&format!("PFMERGE {dest} {sources:?}"), theirs, ours.clone());
        if self.mirror.keys.contains_key(dest) {
            self.check_key(dest);
        }
        ours
    }

    fn pfdebug(&mut self, sub: &str, key: &str) {
        let theirs = self.conn.cmd(&[b"PFDEBUG", sub.as_bytes(), key.as_bytes()]);
        let ours = self.mirror.pfdebug(sub, key);
        self.check(&format!("PFDEBUG {sub} {key}"), theirs, ours);
        if self.mirror.keys.contains_key(key) {
            self.check_key(key);
        }
    }
}

// ------------------------------------------------------------------------
// Random inputs
// ------------------------------------------------------------------------

/// splitmix64: small deterministic generator.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, one_in: u64) -> bool {
        self.below(one_in) == 0
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

fn random_element(rng: &mut Rng, counter: &mut u64) -> Vec<u8> {
    match rng.below(4) {
        // A small pool: repeats, so PFADD often changes nothing.
        0 => format!("pool-{}", rng.below(64)).into_bytes(),
        // Binary of every length class (tail handling of the hash).
        1 => {
            let len = rng.below(40) as usize;
            (0..len).map(|_| rng.next() as u8).collect()
        }
        _ => {
            *counter += 1;
            format!("el:{counter}").into_bytes()
        }
    }
}

fn random_batch(rng: &mut Rng, counter: &mut u64, big: bool) -> Vec<Vec<u8>> {
    let n = match rng.below(10) {
        0 => 0,
        1..=6 => 1 + rng.below(8),
        7 | 8 => 1 + rng.below(120),
        _ if big => 500 + rng.below(3000),
        _ => 1 + rng.below(400),
    };
    (0..n).map(|_| random_element(rng, counter)).collect()
}

const KEYS: [&str; 5] = ["h0", "h1", "h2", "h3", "h4"];

fn random_keys(rng: &mut Rng, min: usize) -> Vec<String> {
    let n = min + rng.below(4) as usize;
    (0..n).map(|_| rng.pick(&KEYS).to_string()).collect()
}

/// A valid but arbitrary (not necessarily canonical) sparse payload.
fn random_sparse(rng: &mut Rng, vals_per_1000: u64) -> Vec<u8> {
    let mut out = b"HYLL\x01".to_vec();
    // Unused bytes and cache: random, sometimes fresh.
    for _ in 0..11 {
        out.push(if rng.chance(2) { rng.next() as u8 } else { 0 });
    }
    if rng.chance(2) {
        out[15] |= 0x80;
    }
    let mut remaining = hll::HLL_REGISTERS;
    while remaining > 0 {
        if rng.below(1000) < vals_per_1000 {
            let len = 1 + rng.below(4.min(remaining as u64)) as usize;
            // Small values make neighbouring VAL opcodes that could fuse.
            let top = if rng.chance(2) { 3 } else { 32 };
            let value = 1 + rng.below(top) as u8;
            out.push(0x80 | ((value - 1) << 2) | (len - 1) as u8);
            remaining -= len;
        } else if rng.chance(2) {
            let len = 1 + rng.below(64.min(remaining as u64)) as usize;
            out.push((len - 1) as u8);
            remaining -= len;
        } else {
            let cap = if rng.chance(3) {
                remaining
            } else {
                300.min(remaining)
            };
            let len = 1 + rng.below(cap as u64) as usize;
            out.push(0x40 | ((len - 1) >> 8) as u8);
            out.push(((len - 1) & 0xff) as u8);
            remaining -= len;
        }
    }
    out
}

/// A dense value whose registers follow some distribution.
fn crafted_dense(rng: &mut Rng, shape: u64) -> Vec<u8> {
    let mut v = hll::new_empty();
    hll::to_dense(&mut v).unwrap();
    let constant = rng.below(64) as u8;
    let scale = rng.below(45) as u32;
    for i in 0..hll::HLL_REGISTERS {
        let r: u8 = match shape {
            0 => rng.below(64) as u8,
            1 => constant,
            2 => {
                // Roughly what 2^scale * m elements would give.
                let bits = rng.next() | (1 << 63);
                (bits.trailing_zeros() + scale).min(63) as u8
            }
            3 => {
                if rng.chance(500) {
                    rng.below(51) as u8
                } else {
                    63
                }
            }
            4 => {
                if rng.chance(50) {
                    rng.below(64) as u8
                } else {
                    51
                }
            }
            _ => {
                if rng.chance(20) {
                    1 + rng.below(50) as u8
                } else {
                    0
                }
            }
        };
        if r > 0 {
            hll::set_register(&mut v, i, r, 3000).unwrap();
        }
    }
    // Random stale cache (keep the fresh-cache case too).
    if rng.chance(4) {
        v[8..16].copy_from_slice(&(rng.next() >> 1).to_le_bytes());
    }
    v
}

fn mutate(rng: &mut Rng, mut v: Vec<u8>) -> Vec<u8> {
    for _ in 0..1 + rng.below(3) {
        match rng.below(5) {
            0 | 1 => {
                let i = 16 + rng.below((v.len() - 16) as u64) as usize;
                v[i] = rng.next() as u8;
            }
            2 if v.len() > 17 => {
                let cut = 1 + rng.below(3.min(v.len() as u64 - 17)) as usize;
                v.truncate(v.len() - cut);
            }
            3 => {
                let i = 16 + rng.below((v.len() - 16) as u64) as usize;
                v.insert(i, rng.next() as u8);
            }
            _ => {
                let i = 16 + rng.below((v.len() - 16) as u64) as usize;
                v.remove(i);
                if v.len() == 16 {
                    v.push(0x7f);
                }
            }
        }
    }
    // Make sure PFCOUNT has to look at the payload.
    v[15] |= 0x80;
    v
}

// ------------------------------------------------------------------------
// Scenarios
// ------------------------------------------------------------------------

/// `HLL_INTEROP_SCALE=N` multiplies the number of random rounds (default 1),
/// for longer soak runs.
fn scale() -> u64 {
    std::env::var("HLL_INTEROP_SCALE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
}

fn random_ops(h: &mut Harness, rng: &mut Rng, steps: usize, big: bool) {
    let mut counter = rng.next() % 1_000_000;
    for step in 0..steps {
        match rng.below(100) {
            0..=44 => {
                let key = rng.pick(&KEYS).to_string();
                let batch = random_batch(rng, &mut counter, big);
                h.pfadd(&key, &batch);
            }
            45..=59 => {
                let key = rng.pick(&KEYS).to_string();
                h.pfcount(&[key]);
            }
            60..=69 => {
                let keys = random_keys(rng, 2);
                h.pfcount(&keys);
            }
            70..=84 => {
                let dest = rng.pick(&KEYS).to_string();
                let sources = random_keys(rng, 0);
                h.pfmerge(&dest, &sources);
            }
            85..=89 => {
                let key = rng.pick(&KEYS).to_string();
                let sub = *rng.pick(&["GETREG", "TODENSE", "ENCODING", "DECODE"]);
                if h.mirror.keys.contains_key(&key) {
                    h.pfdebug(sub, &key);
                }
            }
            90..=92 => {
                let key = rng.pick(&KEYS).to_string();
                h.del(&key);
            }
            93..=95 => {
                let max = *rng.pick(&[0usize, 1, 20, 50, 200, 1000, 3000, 3000, 6000, 20_000]);
                h.set_max_bytes(max);
            }
            _ => {
                let key = rng.pick(&KEYS).to_string();
                h.pfadd(&key, &[]);
            }
        }
        if step % 25 == 24 {
            h.check_all();
        }
    }
    h.check_all();
}

#[test]
fn interop_random_sequences() {
    let server = RedisServer::start();
    let mut total = 0;
    for seed in 0..80 * scale() {
        let mut rng = Rng(seed);
        let mut h = Harness::new(&server, &format!("random seed {seed}"));
        let big = seed % 4 == 3;
        random_ops(&mut h, &mut rng, if big { 150 } else { 250 }, big);
        total += h.ops;
    }
    assert!(total > 5000, "only {total} operations compared");
    eprintln!("interop_random_sequences: {total} operations compared");
}

#[test]
fn interop_large_cardinalities() {
    let server = RedisServer::start();
    let mut h = Harness::new(&server, "large cardinalities");
    let mut rng = Rng(1234);
    let sizes = [10u64, 100, 1_000, 3_000, 10_000, 50_000, 200_000];
    let mut next = 0u64;
    for (i, &target) in sizes.iter().enumerate() {
        let key = format!("big{i}");
        let mut added = 0;
        while added < target {
            let n = (target - added).min(1 + rng.below(2000));
            let batch: Vec<Vec<u8>> = (0..n)
                .map(|_| {
                    next += 1;
                    format!("member:{next}").into_bytes()
                })
                .collect();
            h.pfadd(&key, &batch);
            added += n;
            if rng.chance(3) {
                h.pfcount(std::slice::from_ref(&key));
            }
        }
        h.pfcount(std::slice::from_ref(&key));
    }
    let all: Vec<String> = (0..sizes.len()).map(|i| format!("big{i}")).collect();
    h.pfcount(&all);
    h.pfcount(&all[..3]);
    h.pfmerge("union-all", &all);
    h.pfmerge("union-small", &all[..3]);
    h.pfmerge("big0", &all[1..3]);
    h.pfcount(&["union-all".to_string()]);
    h.pfcount(&["union-small".to_string()]);
    h.check_all();
    // The estimates must also be sane.
    let Reply::Int(c) = h.pfcount(&[format!("big{}", sizes.len() - 1)]) else {
        panic!()
    };
    assert!((c - 200_000).abs() < 200_000 / 20, "estimate {c}");
}

#[test]
fn interop_crafted_registers() {
    let server = RedisServer::start();
    let mut h = Harness::new(&server, "crafted dense registers");
    let mut rng = Rng(77);
    for round in 0..150 * scale() {
        let shape = round % 6;
        let a = crafted_dense(&mut rng, shape);
        let shape_b = rng.below(6);
        let b = crafted_dense(&mut rng, shape_b);
        h.set_raw("d0", a);
        h.set_raw("d1", b);
        h.pfcount(&["d0".to_string()]);
        h.pfcount(&["d0".to_string()]);
        h.pfcount(&["d0".to_string(), "d1".to_string()]);
        h.pfcount(&["d1".to_string()]);
        if round % 5 == 0 {
            h.pfmerge("d2", &["d0".to_string(), "d1".to_string()]);
            h.pfcount(&["d2".to_string()]);
            h.del("d2");
        }
    }
    // Every constant register value.
    for value in 0..64u8 {
        let mut v = hll::new_empty();
        hll::to_dense(&mut v).unwrap();
        if value > 0 {
            for i in 0..hll::HLL_REGISTERS {
                hll::set_register(&mut v, i, value, 3000).unwrap();
            }
        }
        h.set_raw("c", v);
        h.pfcount(&["c".to_string()]);
        h.pfcount(&["c".to_string(), "none".to_string()]);
    }
    h.check_all();
}

#[test]
fn interop_crafted_sparse() {
    let server = RedisServer::start();
    let mut h = Harness::new(&server, "crafted sparse");
    let mut rng = Rng(4242);
    let mut counter = 0u64;
    for round in 0..300 * scale() {
        let max = *rng.pick(&[3000usize, 3000, 100, 400, 1000, 20_000]);
        h.set_max_bytes(max);
        let density = *rng.pick(&[0u64, 5, 50, 200, 600]);
        let s = random_sparse(&mut rng, density);
        h.set_raw("s0", s);
        let s1 = random_sparse(&mut rng, 20);
        h.set_raw("s1", s1);
        for _ in 0..10 {
            match rng.below(7) {
                0..=2 => {
                    let batch = random_batch(&mut rng, &mut counter, false);
                    h.pfadd("s0", &batch);
                }
                3 => {
                    h.pfcount(&["s0".to_string()]);
                }
                4 => {
                    h.pfmerge("s0", &["s1".to_string()]);
                }
                _ => {
                    h.pfmerge("s1", &["s0".to_string(), "s1".to_string()]);
                }
            }
        }
        h.pfcount(&["s0".to_string(), "s1".to_string()]);
        h.pfdebug("DECODE", "s0");
        if round % 3 == 0 {
            h.pfdebug("GETREG", "s1");
        }
        h.check_all();
    }
}

#[test]
fn interop_corrupted_values() {
    let server = RedisServer::start();
    let mut h = Harness::new(&server, "corrupted values");
    let mut rng = Rng(999);
    let mut counter = 0u64;
    let mut errors = 0;
    for round in 0..800 * scale() {
        // Start from a genuine value (mostly sparse, sometimes dense).
        let mut base = hll::new_empty();
        let n = if round % 5 == 0 { 3000 } else { rng.below(300) };
        for _ in 0..n {
            let e = random_element(&mut rng, &mut counter);
            hll::add(&mut base, &e, 3000).unwrap();
        }
        let bad = if rng.chance(6) {
            random_sparse(&mut rng, 100)
        } else {
            base
        };
        let bad = mutate(&mut rng, bad);
        h.set_raw("x", bad.clone());
        let r = match rng.below(5) {
            0 | 1 => {
                let batch = random_batch(&mut rng, &mut counter, false);
                h.pfadd("x", &batch)
            }
            2 => h.pfcount(&["x".to_string()]),
            3 => h.pfcount(&["ok".to_string(), "x".to_string()]),
            _ => h.pfmerge("m", &["x".to_string()]),
        };
        if matches!(r, Reply::Error(_)) {
            errors += 1;
        }
        // More operations on the (possibly partially updated) value.
        for _ in 0..3 {
            h.refresh("x");
            let batch = random_batch(&mut rng, &mut counter, false);
            h.pfadd("x", &batch);
        }
        h.refresh("x");
        h.pfcount(&["x".to_string()]);
        h.refresh("x");
        if rng.chance(4) {
            h.pfdebug("TODENSE", "x");
        }
        h.check_all();
        h.del("m");
    }
    // Hand-made payloads around the register count: exact, short, long,
    // runs crossing the end, garbage after exactly 16384 registers.
    let xz = |n: usize| vec![0x40 | ((n - 1) >> 8) as u8, ((n - 1) & 0xff) as u8];
    let z = |n: usize| vec![(n - 1) as u8];
    let val = |v: u8, n: usize| vec![0x80 | ((v - 1) << 2) | (n - 1) as u8];
    let payloads: Vec<Vec<u8>> = vec![
        [xz(16384), val(1, 1)].concat(),
        [xz(16383), val(1, 2)].concat(),
        [xz(16384), z(1)].concat(),
        [xz(16384), z(5), val(2, 1)].concat(),
        [xz(16383), val(1, 1)].concat(),
        xz(16000),
        [xz(16000), xz(1000)].concat(),
        [xz(16000), xz(384), z(10)].concat(),
        [xz(16100), val(3, 4), val(2, 4), xz(1000)].concat(),
        [xz(16380), val(3, 4), val(2, 4)].concat(),
        [val(5, 4), xz(16380)].concat(),
        [xz(8192), xz(8192)].concat(),
        [xz(8192), xz(8192), xz(8192)].concat(),
        vec![],
    ];
    let straddlers: Vec<Vec<u8>> = ["s:34", "s:44", "s:61", "a", "hello", "t:119"]
        .iter()
        .map(|e| e.as_bytes().to_vec())
        .collect();
    for (n, payload) in payloads.iter().enumerate() {
        let mut v = b"HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80".to_vec();
        v.extend_from_slice(payload);
        for &max in &[3000usize, 0] {
            h.set_max_bytes(max);
            h.context = format!("hand-made payload #{n}, max {max}");
            for op in 0..6 {
                h.set_raw("x", v.clone());
                match op {
                    0 => drop(h.pfcount(&["x".to_string()])),
                    1 => drop(h.pfcount(&["x".to_string(), "nokey".to_string()])),
                    2 => drop(h.pfmerge("m", &["x".to_string()])),
                    3 => h.pfdebug("TODENSE", "x"),
                    4 => h.pfdebug("GETREG", "x"),
                    _ => {
                        for e in &straddlers {
                            h.set_raw("x", v.clone());
                            h.pfadd("x", std::slice::from_ref(e));
                        }
                        h.set_raw("x", v.clone());
                        h.pfadd("x", &straddlers);
                    }
                }
                h.check_all();
                h.del("m");
            }
        }
    }
    h.set_max_bytes(3000);
    // Non-HLL strings.
    for v in [
        &b""[..],
        b"hello",
        b"HYLL",
        b"HYLL\x02\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x7f\xff",
        b"HYLL\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x7f\xff",
        b"HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80",
    ] {
        h.set_raw("y", v.to_vec());
        h.pfadd("y", &[b"a".to_vec()]);
        h.pfadd("y", &[]);
        h.pfcount(&["y".to_string()]);
        h.pfcount(&["y".to_string(), "x".to_string()]);
        h.pfmerge("y", &["x".to_string()]);
        h.pfmerge("z", &["x".to_string(), "y".to_string()]);
        h.check_all();
    }
    assert!(errors > 50, "only {errors} corrupt values were rejected");
}

#[test]
fn interop_truncated_trailing_xzero() {
    // A sparse payload whose last opcode is the first byte of an XZERO:
    // Redis reads the string terminator as its second byte, and updates
    // inside it write past the logical end of the string.
    let server = RedisServer::start();
    let mut h = Harness::new(&server, "truncated trailing XZERO");
    let mut rng = Rng(31337);
    let mut changed_any = 0;
    for &first_byte in &[0x40u8, 0x41, 0x45, 0x60, 0x7e, 0x7f] {
        for &prefix in &[0usize, 1, 64, 100, 255, 3000, 16000, 16383] {
            for &max in &[3000usize, 20] {
                h.set_max_bytes(max);
                h.context = format!("truncated XZERO {first_byte:#x} after {prefix}, max {max}");
                let mut v = b"HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80".to_vec();
                let mut rest = prefix;
                while rest > 0 {
                    let run = rest.min(16384);
                    v.push(0x40 | ((run - 1) >> 8) as u8);
                    v.push(((run - 1) & 0xff) as u8);
                    rest -= run;
                }
                v.push(first_byte);
                let span = ((usize::from(first_byte) & 0x3f) << 8) + 1;
                h.set_raw("t", v.clone());
                // Elements landing inside the truncated opcode first, then
                // anywhere.
                let mut inside = Vec::new();
                let mut i = 0u64;
                while inside.len() < 8 && i < 200_000 {
                    let e = format!("t:{i}").into_bytes();
                    let (reg, _) = hll::pat_len(&e);
                    if reg >= prefix && reg < prefix + span {
                        inside.push(e);
                    }
                    i += 1;
                }
                // All in one command: the stray byte carries from one
                // element to the next.
                h.pfadd("t", &inside);
                h.set_raw("t", v);
                // One per command, on a fresh copy each time.
                for e in &inside {
                    if h.pfadd("t", std::slice::from_ref(e)) == Reply::Int(1) {
                        changed_any += 1;
                    }
                    h.refresh("t");
                    h.pfdebug("ENCODING", "t");
                }
                let mut counter = rng.next() % 1000;
                let batch = random_batch(&mut rng, &mut counter, false);
                h.pfadd("t", &batch);
                h.refresh("t");
                h.pfcount(&["t".to_string()]);
                h.refresh("t");
                h.pfmerge("u", &["t".to_string()]);
                h.pfdebug("DECODE", "t");
                h.check_all();
                h.del("u");
            }
        }
    }
    // Values that Redis accepts as valid because the terminator completes
    // the last XZERO, merged into: every register written by PFMERGE goes
    // through the same truncated opcode.
    for &tail in &[0x40u8, 0x41, 0x43, 0x50] {
        for &max in &[3000usize, 60] {
            h.set_max_bytes(max);
            h.context = format!("valid truncated XZERO {tail:#x}, max {max}");
            let span = ((usize::from(tail) & 0x3f) << 8) + 1;
            let mut v = b"HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80".to_vec();
            let head = hll::HLL_REGISTERS - span;
            v.push(0x40 | ((head - 1) >> 8) as u8);
            v.push(((head - 1) & 0xff) as u8);
            v.push(tail);
            h.set_raw("v", v);
            h.pfcount(&["v".to_string()]);
            h.refresh("v");
            let mut tail_elements = Vec::new();
            let mut i = 0u64;
            while tail_elements.len() < 12 && i < 1_000_000 {
                let e = format!("tail:{i}").into_bytes();
                if hll::pat_len(&e).0 >= head {
                    tail_elements.push(e);
                }
                i += 1;
            }
            h.pfadd("src", &tail_elements);
            h.pfmerge("v", &["src".to_string()]);
            h.refresh("v");
            h.pfcount(&["v".to_string()]);
            h.del("src");
            h.check_all();
        }
    }
    // Several updates of the truncated opcode in one PFADD, with a sparse
    // limit that makes the later ones promote to dense (the conversion reads
    // the stray byte too).
    for &tail in &[0x41u8, 0x43, 0x50] {
        let span = ((usize::from(tail) & 0x3f) << 8) + 1;
        let head = hll::HLL_REGISTERS - span;
        let mut tail_elements = Vec::new();
        let mut i = 0u64;
        while tail_elements.len() < 10 && i < 1_000_000 {
            let e = format!("in:{i}").into_bytes();
            if hll::pat_len(&e).0 >= head {
                tail_elements.push(e);
            }
            i += 1;
        }
        for &max in &[3000usize, 21, 22, 23, 24] {
            h.set_max_bytes(max);
            h.context = format!("one PFADD into truncated XZERO {tail:#x}, max {max}");
            let mut v = b"HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80".to_vec();
            v.push(0x40 | ((head - 1) >> 8) as u8);
            v.push(((head - 1) & 0xff) as u8);
            v.push(tail);
            for n in [2, 3, 5, 10] {
                h.set_raw("w", v.clone());
                h.pfadd("w", &tail_elements[..n]);
                h.pfdebug("ENCODING", "w");
            }
        }
    }
    // A VAL just before the truncated opcode that fuses with the new VAL:
    // the fusion shortens the string and Redis writes a fresh terminator.
    h.set_max_bytes(3000);
    let mut fused = 0;
    for i in 0..3000u64 {
        let e = format!("fuse:{i}").into_bytes();
        let (k, val) = hll::pat_len(&e);
        if k < 2 || k + 300 > hll::HLL_REGISTERS || val > 32 {
            continue;
        }
        h.context = format!("fusion before truncated XZERO at {k}");
        let mut v = b"HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80".to_vec();
        let zeros = k - 1;
        v.push(0x40 | ((zeros - 1) >> 8) as u8);
        v.push(((zeros - 1) & 0xff) as u8);
        v.push(0x80 | ((val - 1) << 2));
        v.push(0x41);
        let mut batch = vec![e];
        let mut j = 0u64;
        while batch.len() < 6 && j < 100_000 {
            let e2 = format!("after:{i}:{j}").into_bytes();
            let r = hll::pat_len(&e2).0;
            if r > k && r < k + 257 {
                batch.push(e2);
            }
            j += 1;
        }
        h.set_raw("f", v);
        h.pfadd("f", &batch);
        fused += 1;
        if fused == 40 {
            break;
        }
    }
    h.check_all();
    assert!(
        changed_any > 20,
        "only {changed_any} updates hit the truncated opcode"
    );
}
