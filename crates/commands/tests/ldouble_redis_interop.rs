//! Interop test: INCRBYFLOAT and HINCRBYFLOAT against a real `redis-server` 7.0.
//!
//! Redis computes both commands in x87 `long double` (`string2ld`, `+=`, `%.17Lf` trimmed).
//! Thousands of random sequences of increments are sent to a private redis-server (started on
//! a free 127.0.0.1 port, killed by pid when the test ends, however it ends) and, command by
//! command, its raw reply bytes are compared with:
//!
//! * the reply predicted by a small model built directly on `commands::ldouble::LongDouble`
//!   (parse, add, `to_human_string`, and the error texts of Redis's `t_string.c`/`t_hash.c`);
//! * the reply of our own command handlers, run in process through the command table.
//!
//! A missing `redis-server` fails the test: run `scripts/setup-test-deps.sh`. `LDOUBLE_INTEROP_SEED` replays another random seed.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use bytes::Bytes;
use commands::ldouble::LongDouble;
use commands::testing::Harness;
use resp::RespVersion;

// ------------------------------------------------------------------------------------------
// redis-server process and a tiny RESP client
// ------------------------------------------------------------------------------------------

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

struct Conn {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

fn encode_command(out: &mut Vec<u8>, args: &[&[u8]]) {
    out.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
}

impl Conn {
    fn connect(port: u16) -> std::io::Result<Conn> {
        let stream = TcpStream::connect(("127.0.0.1", port))?;
        // Every read and write is bounded: a stuck server fails the test instead of hanging it.
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        stream.set_write_timeout(Some(Duration::from_secs(30)))?;
        stream.set_nodelay(true)?;
        Ok(Conn {
            writer: stream.try_clone()?,
            reader: BufReader::new(stream),
        })
    }

    /// One command, its raw reply bytes.
    fn cmd(&mut self, args: &[&[u8]]) -> Vec<u8> {
        let mut out = Vec::new();
        encode_command(&mut out, args);
        self.writer.write_all(&out).expect("write to redis");
        self.read_raw()
    }

    /// Sends all commands (from a second thread, so neither side's socket buffer can fill up
    /// and stall the other) and reads one raw reply per command.
    fn pipeline(&mut self, cmds: &[Vec<Vec<u8>>]) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        for c in cmds {
            let refs: Vec<&[u8]> = c.iter().map(Vec::as_slice).collect();
            encode_command(&mut out, &refs);
        }
        let mut writer = self.writer.try_clone().expect("clone socket");
        std::thread::scope(|s| {
            let sender = s.spawn(move || writer.write_all(&out));
            let replies = (0..cmds.len()).map(|_| self.read_raw()).collect();
            sender
                .join()
                .expect("writer thread")
                .expect("write to redis");
            replies
        })
    }

    fn line(&mut self, raw: &mut Vec<u8>) -> String {
        let start = raw.len();
        self.reader.read_until(b'\n', raw).expect("read from redis");
        assert!(raw.ends_with(b"\r\n"), "bad RESP line {:?}", &raw[start..]);
        String::from_utf8_lossy(&raw[start..raw.len() - 2]).into_owned()
    }

    /// One reply exactly as sent (RESP2), whatever its type.
    fn read_raw(&mut self) -> Vec<u8> {
        let mut raw = Vec::new();
        self.read_into(&mut raw);
        raw
    }

    fn read_into(&mut self, raw: &mut Vec<u8>) {
        let line = self.line(raw);
        let n: i64 = match line.as_bytes().first() {
            Some(b'+' | b'-' | b':') => return,
            Some(b'$' | b'*') => line[1..].parse().expect("length"),
            _ => panic!("unexpected RESP line {line:?}"),
        };
        if n < 0 {
            return;
        }
        if line.starts_with('$') {
            let start = raw.len();
            raw.resize(start + n as usize + 2, 0);
            self.reader
                .read_exact(&mut raw[start..])
                .expect("bulk body");
        } else {
            for _ in 0..n {
                self.read_into(raw);
            }
        }
    }
}

// ------------------------------------------------------------------------------------------
// Random inputs
// ------------------------------------------------------------------------------------------

/// splitmix64: small, deterministic, good enough for test inputs.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next() % (hi - lo + 1) as u64) as i64
    }

    fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.next() as usize % items.len()]
    }

    fn digits(&mut self, n: usize, nonzero_first: bool) -> String {
        (0..n)
            .map(|i| {
                let d = if i == 0 && nonzero_first {
                    1 + self.next() % 9
                } else {
                    self.next() % 10
                };
                char::from(b'0' + d as u8)
            })
            .collect()
    }

    fn sign(&mut self) -> &'static str {
        ["", "", "-", "+"][self.next() as usize % 4]
    }
}

/// A decimal number with 1 to 20 significant digits, mostly with exponents from -30 to +30,
/// some with huge ones.
fn decimal(r: &mut Rng) -> String {
    let nd = r.range(1, 20) as usize;
    let digits = r.digits(nd, true);
    let point = r.range(0, nd as i64) as usize;
    let mut m = String::new();
    if r.chance(0.15) {
        m.push_str(&"0".repeat(r.range(1, 4) as usize));
    }
    m.push_str(&digits[..point]);
    if r.chance(0.7) {
        m.push('.');
    }
    m.push_str(&digits[point..]);
    if m.contains('.') && r.chance(0.15) {
        m.push_str(&"0".repeat(r.range(1, 4) as usize));
    }
    let e = r.next() % 100;
    let exp = if e < 50 {
        format!(
            "{}{}{}",
            r.pick(&["e", "E"]),
            r.pick(&["", "+", "-"]),
            r.range(0, 30)
        )
    } else if e < 58 {
        format!("e{}{}", r.pick(&["", "-"]), r.range(300, 5000))
    } else if e < 63 {
        format!("e{}{}", r.pick(&["", "-"]), r.range(4920, 4960))
    } else if e < 65 {
        let n = r.range(6, 25) as usize;
        format!("e{}{}", r.pick(&["", "-"]), r.digits(n, true))
    } else {
        String::new()
    };
    format!("{}{m}{exp}", r.sign())
}

/// A C99 hexadecimal float.
fn hex(r: &mut Rng) -> String {
    let nd = r.range(1, 20) as usize;
    let h: String = (0..nd)
        .map(|_| char::from(b"0123456789abcdefABCDEF"[r.next() as usize % 22]))
        .collect();
    let point = r.range(0, nd as i64) as usize;
    let dot = if r.chance(0.5) { "." } else { "" };
    let exp = match r.next() % 10 {
        0..=4 => format!(
            "{}{}{}",
            r.pick(&["p", "P"]),
            r.pick(&["", "+", "-"]),
            r.range(0, 100)
        ),
        5 | 6 => format!("p{}{}", r.pick(&["", "-"]), r.range(16300, 16500)),
        _ => String::new(),
    };
    format!(
        "{}0{}{}{dot}{}{exp}",
        r.sign(),
        r.pick(&["x", "X"]),
        &h[..point],
        &h[point..]
    )
}

/// Decimal digits (most significant first) of `n`.
fn dec_digits(mut n: u128) -> Vec<u8> {
    let mut d = Vec::new();
    while n > 0 {
        d.push((n % 10) as u8);
        n /= 10;
    }
    d.reverse();
    if d.is_empty() {
        d.push(0);
    }
    d
}

fn mul_small(digits: &mut Vec<u8>, k: u32) {
    let mut carry = 0u32;
    for d in digits.iter_mut().rev() {
        let v = u32::from(*d) * k + carry;
        *d = (v % 10) as u8;
        carry = v / 10;
    }
    while carry > 0 {
        digits.insert(0, (carry % 10) as u8);
        carry /= 10;
    }
}

/// The exact decimal text of `n * 2^e`.
fn exact_decimal(n: u128, e: i32) -> String {
    let mut d = dec_digits(n);
    let frac = if e >= 0 {
        for _ in 0..e {
            mul_small(&mut d, 2);
        }
        0
    } else {
        // n / 2^k = n * 5^k / 10^k
        for _ in 0..-e {
            mul_small(&mut d, 5);
        }
        (-e) as usize
    };
    if d.len() <= frac {
        let mut z = vec![0u8; frac + 1 - d.len()];
        z.extend_from_slice(&d);
        d = z;
    }
    let text: String = d.iter().map(|&x| char::from(b'0' + x)).collect();
    let (int, fr) = text.split_at(text.len() - frac);
    if fr.is_empty() {
        int.to_string()
    } else {
        format!("{int}.{fr}")
    }
}

/// A value at, just above or just below the midpoint of two neighbouring 64-bit-mantissa
/// values: the hard cases of correct rounding in `strtold`.
fn midpoint(r: &mut Rng) -> String {
    let m = u128::from(r.next() | (1 << 63));
    let e = r.range(-140, 40) as i32;
    let mut s = exact_decimal(2 * m + 1, e - 1);
    match r.next() % 3 {
        0 => {} // the exact tie: rounds to even
        1 => {
            if !s.contains('.') {
                s.push('.');
            }
            s.push_str("000000000001");
        }
        _ => {
            if let Some(dot) = s.find('.') {
                let cut = r.range(1, (s.len() - dot - 1).min(30) as i64) as usize;
                s.truncate(s.len() - cut);
                if s.ends_with('.') {
                    s.pop();
                }
            }
        }
    }
    format!("{}{s}", r.pick(&["", "-"]))
}

/// `m / 2^k` written out exactly: sums of these hit the half-even rounding of `%.17Lf`.
fn dyadic(r: &mut Rng) -> String {
    let k = r.range(1, 30) as i32;
    let bits = r.range(1, 50);
    let m = u128::from(r.next() >> (64 - bits)).max(1);
    format!("{}{}", r.pick(&["", "-"]), exact_decimal(m, -k))
}

fn special(r: &mut Rng) -> String {
    r.pick(&[
        "inf",
        "-inf",
        "+inf",
        "Infinity",
        "-INFINITY",
        "iNf",
        "nan",
        "-nan",
        "NaN",
        "nan(1)",
        "infinit",
        "0",
        "-0",
        "+0",
        "0.0",
        "-0e99999999",
        "1e-99999",
        "1e99999",
        "0x",
        "0x.",
        "0x.8",
        "0x1p",
        "0x1e",
        "1e",
        "1e+",
        ".",
        "-.",
        ".e1",
        "1.",
        ".5",
        "00",
        "1e0x1",
        "",
        " 1",
        "1 ",
        "\t1",
        "1\t",
        "\r5",
        "\x0b3",
        "\x0c3",
        "\n3",
        "1\n",
        "1\0",
        "abc",
        "1.2.3",
        "1,5",
        "1.8e-4951",
        "1.9e-4951",
        "3.6451995318824746025e-4951",
        "1.18973149535723176502e4932",
        "1.18973149535723176508e4932",
        "1.189731495357231765e4932",
        "-1.189731495357231765e4932",
        "3.3621031431120935063e-4932",
        "0x1.fffffffffffffffep16383",
        "0x1.ffffffffffffffffp16383",
        "0x1p-16446",
        "0x1.00001p-16446",
        "0x1p-16445",
        "9223372036854775807",
        "-9223372036854775808",
        "18446744073709551615",
        "18446744073709551616",
        "1e308",
        "0.1",
        "0.2",
        "1.1",
        "10.5",
        "1000",
        "5.0e3",
        "0.000003814697265625",
        "0.000011444091796875",
    ])
    .to_string()
}

/// Long digit strings around the 5 KiB limit (5119 bytes accepted, 5120 rejected).
fn long_digits(r: &mut Rng) -> String {
    let n = [60, 500, 4000, 5119, 5120, 5500][r.next() as usize % 6];
    let d = r.digits(n, true);
    match r.next() % 4 {
        0 => {
            let p = r.range(1, n as i64 - 1) as usize;
            format!("{}.{}", &d[..p], &d[p + 1..])
        }
        1 => format!("0.{}", &d[..n - 2]),
        2 => format!("{}e-{}", &d[..n - 6], r.range(4000, 9999)),
        _ => format!("0.{}{}", "0".repeat(n - 22), &d[..20]),
    }
}

fn junk(r: &mut Rng) -> String {
    let n = r.range(0, 8) as usize;
    (0..n)
        .map(|_| char::from(b"0123456789.eEpPxX+-aAfFinINtyY \t"[r.next() as usize % 32]))
        .collect()
}

fn token(r: &mut Rng) -> String {
    match r.next() % 100 {
        0..=44 => decimal(r),
        45..=52 => hex(r),
        53..=64 => midpoint(r),
        65..=76 => dyadic(r),
        77..=81 => junk(r),
        82..=92 => special(r),
        93..=94 => long_digits(r),
        _ => {
            let v = r.next() as i64 >> r.range(0, 63);
            v.to_string()
        }
    }
}

// ------------------------------------------------------------------------------------------
// The model: what Redis answers, computed with LongDouble
// ------------------------------------------------------------------------------------------

fn bulk(s: &[u8]) -> Vec<u8> {
    let mut out = format!("${}\r\n", s.len()).into_bytes();
    out.extend_from_slice(s);
    out.extend_from_slice(b"\r\n");
    out
}

fn error(msg: &str) -> Vec<u8> {
    format!("-{msg}\r\n").into_bytes()
}

/// `t_string.c` incrbyfloatCommand: the stored value first, then the increment.
fn model_incrbyfloat(stored: &mut Option<Vec<u8>>, incr: &[u8]) -> Vec<u8> {
    let cur = match stored.as_deref() {
        None => LongDouble::ZERO,
        Some(s) => match LongDouble::parse(s) {
            Some(v) => v,
            None => return error("ERR value is not a valid float"),
        },
    };
    let Some(incr) = LongDouble::parse(incr) else {
        return error("ERR value is not a valid float");
    };
    let new = cur.add(incr);
    if new.is_nan() || !new.is_finite() {
        return error("ERR increment would produce NaN or Infinity");
    }
    let text = new.to_human_string().into_bytes();
    let reply = bulk(&text);
    *stored = Some(text);
    reply
}

/// `t_hash.c` hincrbyfloatCommand: the increment first (NaN/Inf refused), then the field.
fn model_hincrbyfloat(stored: &mut Option<Vec<u8>>, incr: &[u8]) -> Vec<u8> {
    let Some(incr) = LongDouble::parse(incr) else {
        return error("ERR value is not a valid float");
    };
    if incr.is_nan() || !incr.is_finite() {
        return error("ERR value is NaN or Infinity");
    }
    let cur = match stored.as_deref() {
        None => LongDouble::ZERO,
        Some(s) => match LongDouble::parse(s) {
            Some(v) => v,
            None => return error("ERR hash value is not a float"),
        },
    };
    let new = cur.add(incr);
    if new.is_nan() || !new.is_finite() {
        return error("ERR increment would produce NaN or Infinity");
    }
    let text = new.to_human_string().into_bytes();
    let reply = bulk(&text);
    *stored = Some(text);
    reply
}

// ------------------------------------------------------------------------------------------
// The test
// ------------------------------------------------------------------------------------------

/// One command with what the model and our handlers expect.
struct Step {
    cmd: Vec<Vec<u8>>,
    model: Vec<u8>,
    ours: Vec<u8>,
    /// For successful increments: the propagation our handler must have produced.
    propagation_ok: bool,
}

fn show(bytes: &[u8]) -> String {
    let s = String::from_utf8_lossy(bytes);
    if s.chars().count() > 120 {
        let head: String = s.chars().take(100).collect();
        format!("{head:?}... ({} bytes)", bytes.len())
    } else {
        format!("{s:?}")
    }
}

fn run_ours(h: &mut Harness, cmd: &[Vec<u8>]) -> Vec<u8> {
    let argv: Vec<Bytes> = cmd.iter().map(|a| Bytes::copy_from_slice(a)).collect();
    h.run_argv(&argv).to_bytes(RespVersion::Resp2).to_vec()
}

#[test]
fn incrbyfloat_and_hincrbyfloat_match_redis() {
    let seed = std::env::var("LDOUBLE_INTEROP_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_1d0b_2024);
    let sequences: usize = 4000;
    eprintln!("ldouble interop: seed {seed}, {sequences} sequences");

    let server = RedisServer::start();
    let mut conn = server.conn();
    assert_eq!(conn.cmd(&[b"FLUSHALL"]), b"+OK\r\n");

    let mut r = Rng(seed);
    let mut h = Harness::new();
    let mut steps: Vec<Step> = Vec::new();
    for j in 0..sequences {
        let hash = j % 2 == 1;
        let key = format!("{}:{j}", if hash { "h" } else { "s" }).into_bytes();
        let field = format!("f{}", j % 3).into_bytes();
        let mut stored: Option<Vec<u8>> = None;
        let mut push = |h: &mut Harness, cmd: Vec<Vec<u8>>, model: Vec<u8>, prop: bool| {
            let ours = run_ours(h, &cmd);
            let propagation_ok = !prop || {
                let text = &model[model.iter().position(|&c| c == b'\n').unwrap_or(0) + 1..];
                let text = text.strip_suffix(b"\r\n").unwrap_or(text);
                let want: Vec<Vec<u8>> = if hash {
                    vec![b"HSET".to_vec(), key.clone(), field.clone(), text.to_vec()]
                } else {
                    vec![
                        b"SET".to_vec(),
                        key.clone(),
                        text.to_vec(),
                        b"KEEPTTL".to_vec(),
                    ]
                };
                let got: Vec<Vec<Vec<u8>>> = h
                    .last
                    .propagated
                    .iter()
                    .map(|c| c.iter().map(|a| a.to_vec()).collect())
                    .collect();
                got == vec![want]
            };
            steps.push(Step {
                cmd,
                model,
                ours,
                propagation_ok,
            });
        };
        if r.chance(0.3) {
            let init = token(&mut r).into_bytes();
            let (cmd, reply) = if hash {
                let cmd = vec![b"HSET".to_vec(), key.clone(), field.clone(), init.clone()];
                (cmd, b":1\r\n".to_vec())
            } else {
                let cmd = vec![b"SET".to_vec(), key.clone(), init.clone()];
                (cmd, b"+OK\r\n".to_vec())
            };
            stored = Some(init);
            push(&mut h, cmd, reply, false);
        }
        for _ in 0..r.range(1, 8) {
            let incr = token(&mut r).into_bytes();
            let (cmd, model) = if hash {
                let cmd = vec![
                    b"HINCRBYFLOAT".to_vec(),
                    key.clone(),
                    field.clone(),
                    incr.clone(),
                ];
                (cmd, model_hincrbyfloat(&mut stored, &incr))
            } else {
                let cmd = vec![b"INCRBYFLOAT".to_vec(), key.clone(), incr.clone()];
                (cmd, model_incrbyfloat(&mut stored, &incr))
            };
            let ok = model.starts_with(b"$");
            push(&mut h, cmd, model, ok);
        }
        let (cmd, model) = if hash {
            let cmd = vec![b"HGET".to_vec(), key.clone(), field.clone()];
            (cmd, stored.as_deref().map_or(b"$-1\r\n".to_vec(), bulk))
        } else {
            let cmd = vec![b"GET".to_vec(), key.clone()];
            (cmd, stored.as_deref().map_or(b"$-1\r\n".to_vec(), bulk))
        };
        push(&mut h, cmd, model, false);
    }

    let mut redis_replies = Vec::with_capacity(steps.len());
    for chunk in steps.chunks(500) {
        let cmds: Vec<Vec<Vec<u8>>> = chunk.iter().map(|s| s.cmd.clone()).collect();
        redis_replies.extend(conn.pipeline(&cmds));
    }

    let (mut matched, mut values, mut errors) = (0usize, 0usize, 0usize);
    let mut failures = Vec::new();
    for (step, redis) in steps.iter().zip(&redis_replies) {
        let is_incr = step.cmd[0].ends_with(b"FLOAT");
        let ok = *redis == step.model && *redis == step.ours && step.propagation_ok;
        if ok {
            if is_incr {
                matched += 1;
                if redis.starts_with(b"$") {
                    values += 1;
                } else {
                    errors += 1;
                }
            }
        } else if failures.len() < 20 {
            let args: Vec<String> = step.cmd.iter().map(|a| show(a)).collect();
            failures.push(format!(
                "{}\n    redis: {}\n    model: {}\n    ours:  {}{}",
                args.join(" "),
                show(redis),
                show(&step.model),
                show(&step.ours),
                if step.propagation_ok {
                    ""
                } else {
                    "\n    (wrong propagation)"
                }
            ));
        }
    }
    let total_failed = steps
        .iter()
        .zip(&redis_replies)
        .filter(|(s, r)| **r != s.model || **r != s.ours || !s.propagation_ok)
        .count();
    eprintln!(
        "ldouble interop: {} commands, {matched} INCRBYFLOAT/HINCRBYFLOAT replies matched \
         byte for byte ({values} values, {errors} errors), {total_failed} mismatches",
        steps.len()
    );
    assert!(
        failures.is_empty(),
        "seed {seed}: {total_failed} replies differ from redis-server:\n{}",
        failures.join("\n")
    );
    assert!(values > 5000 && errors > 500, "too few cases exercised");
    drop(server);
}
