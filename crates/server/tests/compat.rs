//! Compatibility suite: the same command scripts sent to Redwing and to the reference
//! `redis-server` 7.0, started side by side with the same configuration; every reply is compared
//! byte for byte, once over RESP2 and once over RESP3 (`HELLO 3`).
//!
//! # Script format (`tests/compat/*.txt`)
//!
//! One command per line, split with the rules of inline commands and config files
//! (`resp::request::split_args`): blanks separate arguments, `"..."` takes `\n`, `\r`, `\t`,
//! `\xHH` and `\"` escapes, `'...'` is literal. Blank lines and lines starting with `#` are
//! comments. A line may end with annotations, each starting with `#!` after a blank (outside
//! quotes):
//!
//! | annotation | meaning |
//! | --- | --- |
//! | `#!unordered: <reason>` | compare aggregates as multisets, at every level (hash-table order) |
//! | `#!unordered-pairs: <reason>` | as `unordered`, but flat arrays of scalars are first read as (field, value) pairs (RESP2 `HGETALL`, `HSCAN`) |
//! | `#!type-only: <reason>` | compare only the shape: reply types and aggregate lengths (random or clock-dependent results) |
//! | `#!accepted-difference: <reason>` | a documented Redis 7.0 vs Valkey 8 difference: not compared; every reason must appear verbatim in `tests/compat/README.md` |
//! | `#!replies <n>` | the command produces `n` replies (e.g. `SUBSCRIBE a b`) |
//! | `#!reconnect` | open fresh connections after this line (e.g. after `QUIT`, `RESET`); RESP3 passes send `HELLO 3` again |
//! | `#!only resp2`, `#!only resp3` | run the line in one pass only (e.g. `PUBLISH` while subscribed, which RESP2 forbids) |
//!
//! The reasons are not decoration: a line that needs any of the comparison annotations says why.
//!
//! # Running
//!
//! Every script runs twice on one pair of servers: over RESP2, then `FLUSHALL` and fresh
//! connections that start with `HELLO 3`. Scripts that change configuration restore it at their
//! end. `COMPAT_ONLY=lists,hashes` runs only those scripts; `COMPAT_SHOW=1` prints every line
//! with both replies (to check a script against redis-server by eye); `COMPAT_SELF_CHECK=1` puts
//! a second redis-server in Redwing's place, which checks that the scripts are deterministic
//! (each redis-server seeds its hash tables differently). The test fails if any line
//! differs without an annotation that allows it; it prints the script, line, protocol, command
//! and both replies for each mismatch, then a per-script summary.
//!
//! `COMPAT_REDWING_BIN=/path/to/redwing-server` compares another Redwing build.
//!
//! The reference is redis-server 7.0 (Debian's package, installed by `scripts/setup-test-deps.sh`);
//! a missing or different redis-server fails the test. `COMPAT_ANY_REDIS=1` accepts another
//! version (expect differences).

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use resp::frame::{parse_frame, Frame};
use testkit::{Conn, ServerProc};

/// Configuration passed to both servers, so neither runs on its own defaults where Redis 7.0 and
/// Valkey 8 (Redwing's model) differ.
const SHARED_CONFIG: &[&str] = &[
    "--appendonly",
    "no",
    "--lazyfree-lazy-eviction",
    "no",
    "--lazyfree-lazy-expire",
    "no",
    "--lazyfree-lazy-server-del",
    "no",
    "--lazyfree-lazy-user-del",
    "no",
    "--lazyfree-lazy-user-flush",
    "no",
    "--repl-backlog-size",
    "1mb",
    "--hz",
    "10",
    "--maxmemory-policy",
    "noeviction",
    "--protected-mode",
    "no",
];

/// The mismatch report stops growing past this size (the summary still counts everything);
/// narrow the run with `COMPAT_ONLY` to see the rest.
const MAX_REPORT_BYTES: usize = 256 * 1024;

/// How long one reply may take (blocking commands in the scripts use tiny timeouts).
const REPLY_TIMEOUT: Duration = Duration::from_secs(5);

/// How a line's replies are compared.
#[derive(Clone, Debug, PartialEq)]
enum Check {
    Exact,
    Unordered,
    UnorderedPairs,
    TypeOnly,
    Accepted(String),
}

/// One command line of a script.
#[derive(Clone, Debug)]
struct Line {
    no: usize,
    text: String,
    args: Vec<Vec<u8>>,
    check: Check,
    replies: usize,
    reconnect: bool,
    /// `Some(true)`: RESP3 pass only; `Some(false)`: RESP2 pass only.
    only_resp3: Option<bool>,
}

struct Script {
    name: String,
    lines: Vec<Line>,
}

/// Index of the first `#!` outside quotes that follows a blank, if any.
fn annotation_start(line: &str) -> Option<usize> {
    let b = line.as_bytes();
    let (mut in_dq, mut in_sq) = (false, false);
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if in_dq {
            if c == b'\\' {
                i += 1;
            } else if c == b'"' {
                in_dq = false;
            }
        } else if in_sq {
            if c == b'\\' && b.get(i + 1) == Some(&b'\'') {
                i += 1;
            } else if c == b'\'' {
                in_sq = false;
            }
        } else if c == b'"' {
            in_dq = true;
        } else if c == b'\'' {
            in_sq = true;
        } else if c == b'#'
            && b.get(i + 1) == Some(&b'!')
            && i > 0
            && b[i - 1].is_ascii_whitespace()
        {
            return Some(i);
        }
        i += 1;
    }
    None
}

/// Parses the annotations of one line into `line`.
fn apply_annotations(line: &mut Line, tail: &str) -> Result<(), String> {
    for ann in tail.split("#!").map(str::trim).filter(|a| !a.is_empty()) {
        let (name, reason) = match ann.split_once(':') {
            Some((n, r)) => (n.trim(), r.trim()),
            None => (ann, ""),
        };
        let needs_reason = |check: Check| {
            if reason.is_empty() {
                Err(format!("`#!{name}` needs a reason: `#!{name}: <why>`"))
            } else {
                Ok(check)
            }
        };
        let check = match name {
            "unordered" => needs_reason(Check::Unordered)?,
            "unordered-pairs" => needs_reason(Check::UnorderedPairs)?,
            "type-only" => needs_reason(Check::TypeOnly)?,
            "accepted-difference" => needs_reason(Check::Accepted(reason.to_string()))?,
            "reconnect" => {
                line.reconnect = true;
                continue;
            }
            "only resp2" | "only resp3" => {
                line.only_resp3 = Some(name == "only resp3");
                continue;
            }
            _ => match name.strip_prefix("replies ").map(|n| n.trim().parse()) {
                Some(Ok(n)) if n >= 1 => {
                    line.replies = n;
                    continue;
                }
                _ => return Err(format!("unknown annotation `#!{ann}`")),
            },
        };
        if line.check != Check::Exact {
            return Err("more than one comparison annotation".into());
        }
        line.check = check;
    }
    Ok(())
}

fn parse_script(name: &str, text: &str) -> Result<Script, String> {
    let mut lines = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let no = i + 1;
        let trimmed = raw.trim();
        if trimmed.is_empty() || (trimmed.starts_with('#') && !trimmed.starts_with("#!")) {
            continue;
        }
        let (cmd, tail) = match annotation_start(raw) {
            Some(at) => (&raw[..at], &raw[at..]),
            None => (raw, ""),
        };
        let args = resp::request::split_args(cmd.as_bytes())
            .ok_or_else(|| format!("{name}:{no}: unbalanced quotes"))?;
        if args.is_empty() {
            return Err(format!("{name}:{no}: annotation without a command"));
        }
        let mut line = Line {
            no,
            text: cmd.trim().to_string(),
            args,
            check: Check::Exact,
            replies: 1,
            reconnect: false,
            only_resp3: None,
        };
        apply_annotations(&mut line, tail).map_err(|e| format!("{name}:{no}: {e}"))?;
        lines.push(line);
    }
    Ok(Script {
        name: name.to_string(),
        lines,
    })
}

fn scripts_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/compat")
}

/// All scripts, sorted by name, filtered by `COMPAT_ONLY`.
fn load_scripts() -> Vec<Script> {
    let only: Option<BTreeSet<String>> = std::env::var("COMPAT_ONLY").ok().map(|v| {
        v.split(',')
            .map(|s| s.trim().trim_end_matches(".txt").to_string())
            .filter(|s| !s.is_empty())
            .collect()
    });
    let mut paths: Vec<PathBuf> = match std::fs::read_dir(scripts_dir()) {
        Ok(rd) => rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "txt"))
            .collect(),
        Err(e) => panic!("cannot read {}: {e}", scripts_dir().display()),
    };
    paths.sort();
    let mut out = Vec::new();
    for p in paths {
        let name = p
            .file_stem()
            .unwrap_or_default()
            .to_string_lossy()
            .to_string();
        if only.as_ref().is_some_and(|o| !o.contains(&name)) {
            continue;
        }
        let text = std::fs::read_to_string(&p)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", p.display()));
        out.push(parse_script(&name, &text).unwrap_or_else(|e| panic!("bad script: {e}")));
    }
    if let Some(o) = only {
        let found: BTreeSet<String> = out.iter().map(|s| s.name.clone()).collect();
        let missing: Vec<_> = o.difference(&found).collect();
        assert!(
            missing.is_empty(),
            "COMPAT_ONLY names unknown scripts: {missing:?}"
        );
    }
    out
}

/// Fails (never skips) unless the reference redis-server 7.0 is installed.
fn check_reference_server() {
    let bin = testkit::redis_server_bin();
    let out = std::process::Command::new(&bin)
        .arg("--version")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {} --version: {e}", bin.display()));
    let text = String::from_utf8_lossy(&out.stdout);
    let is_70 = text.contains("v=7.0.");
    if !is_70 && std::env::var_os("COMPAT_ANY_REDIS").is_none() {
        panic!(
            "the compatibility suite is calibrated against redis-server 7.0, found: {}\n\
             run scripts/setup-test-deps.sh, or set COMPAT_ANY_REDIS=1 to compare anyway",
            text.trim()
        );
    }
}

/// Human-readable bytes: printable ASCII as is, the rest escaped, long replies cut.
fn escape(bytes: &[u8]) -> String {
    let mut s = String::new();
    for &b in bytes.iter().take(2000) {
        match b {
            b'\r' => s.push_str("\\r"),
            b'\n' => s.push_str("\\n"),
            b'\\' => s.push_str("\\\\"),
            0x20..=0x7e => s.push(b as char),
            _ => {
                let _ = write!(s, "\\x{b:02x}");
            }
        }
    }
    if bytes.len() > 2000 {
        let _ = write!(s, "... ({} bytes)", bytes.len());
    }
    s
}

/// Canonical text of a frame in which aggregates are sorted (multiset comparison).
fn canonical(f: &Frame, pairs: bool) -> String {
    let sorted = |items: Vec<String>| {
        let mut items = items;
        items.sort();
        items.join(",")
    };
    match f {
        Frame::Array(items) | Frame::Set(items) | Frame::Push(items) => {
            let flat = items
                .iter()
                .all(|i| !matches!(i, Frame::Array(_) | Frame::Set(_) | Frame::Map(_)));
            if pairs && flat && items.len() % 2 == 0 {
                let mut groups = Vec::new();
                for pair in items.chunks(2) {
                    groups.push(format!(
                        "({}={})",
                        canonical(&pair[0], pairs),
                        canonical(&pair[1], pairs)
                    ));
                }
                format!("agg[{}]", sorted(groups))
            } else {
                format!(
                    "agg[{}]",
                    sorted(items.iter().map(|i| canonical(i, pairs)).collect())
                )
            }
        }
        Frame::Map(kv) => format!(
            "map[{}]",
            sorted(
                kv.iter()
                    .map(|(k, v)| format!("({}={})", canonical(k, pairs), canonical(v, pairs)))
                    .collect()
            )
        ),
        other => format!("{other:?}"),
    }
}

/// Shape of a frame: its type and, for aggregates, the shapes of the elements.
fn shape(f: &Frame) -> String {
    let agg = |tag: &str, items: &[Frame]| {
        let inner: Vec<String> = items.iter().map(shape).collect();
        format!("{tag}{}[{}]", items.len(), inner.join(","))
    };
    match f {
        Frame::Array(i) => agg("array", i),
        Frame::Set(i) => agg("set", i),
        Frame::Push(i) => agg("push", i),
        Frame::Map(kv) => {
            let inner: Vec<String> = kv
                .iter()
                .map(|(k, v)| format!("{}={}", shape(k), shape(v)))
                .collect();
            format!("map{}[{}]", kv.len(), inner.join(","))
        }
        Frame::Simple(_) => "simple".into(),
        Frame::Error(_) => "error".into(),
        Frame::Int(_) => "int".into(),
        Frame::Bulk(_) => "bulk".into(),
        Frame::Null => "null".into(),
        Frame::Double(_) => "double".into(),
        Frame::Bool(_) => "bool".into(),
        Frame::Verbatim(_) => "verbatim".into(),
        Frame::BigNumber(_) => "bignum".into(),
    }
}

/// Parses the frames of concatenated raw replies.
fn frames(raw: &[u8]) -> Vec<Frame> {
    let mut out = Vec::new();
    let mut rest = raw;
    while let Ok(Some((f, used))) = parse_frame(rest) {
        out.push(f);
        rest = &rest[used..];
    }
    out
}

/// True when the replies are equal under the line's rule (accepted differences always pass).
fn replies_match(check: &Check, redis: &[u8], redwing: &[u8]) -> bool {
    let view = |raw: &[u8], f: &dyn Fn(&Frame) -> String| -> Vec<String> {
        frames(raw).iter().map(f).collect()
    };
    match check {
        Check::Exact => redis == redwing,
        Check::Unordered => {
            view(redis, &|f| canonical(f, false)) == view(redwing, &|f| canonical(f, false))
        }
        Check::UnorderedPairs => {
            view(redis, &|f| canonical(f, true)) == view(redwing, &|f| canonical(f, true))
        }
        Check::TypeOnly => view(redis, &shape) == view(redwing, &shape),
        Check::Accepted(_) => true,
    }
}

/// One side of the comparison: a server and a connection to it.
struct Side {
    name: &'static str,
    server: ServerProc,
    conn: Option<Conn>,
}

impl Side {
    fn connect(&mut self, resp3: bool) -> Result<(), String> {
        let mut c =
            Conn::connect(self.server.port).map_err(|e| format!("{}: connect: {e}", self.name))?;
        c.set_timeout(REPLY_TIMEOUT);
        if resp3 {
            c.send(&[b"HELLO", b"3"]);
            match c.try_read_frame() {
                Ok(Frame::Map(_)) => {}
                Ok(other) => return Err(format!("{}: HELLO 3 replied {other:?}", self.name)),
                Err(e) => return Err(format!("{}: HELLO 3: {e}", self.name)),
            }
        }
        self.conn = Some(c);
        Ok(())
    }

    /// Sends one line and reads its replies, concatenated. Errors (timeout, closed connection)
    /// come back as text, and the connection is dropped so the next line reconnects.
    fn run(&mut self, line: &Line, resp3: bool) -> Vec<u8> {
        if self.conn.is_none() {
            if let Err(e) = self.connect(resp3) {
                return format!("<{e}>").into_bytes();
            }
        }
        let Some(conn) = self.conn.as_mut() else {
            return b"<no connection>".to_vec();
        };
        let argv: Vec<&[u8]> = line.args.iter().map(Vec::as_slice).collect();
        conn.send(&argv);
        let mut out = Vec::new();
        for _ in 0..line.replies {
            match conn.read_raw_reply() {
                Ok(r) => out.extend_from_slice(&r),
                Err(e) => {
                    self.conn = None;
                    out.extend_from_slice(format!("<{e}>").as_bytes());
                    break;
                }
            }
        }
        out
    }

    /// Fresh state for the next pass: FLUSHALL on a new connection.
    fn reset(&mut self, resp3: bool) -> Result<(), String> {
        self.connect(false)?;
        if let Some(c) = self.conn.as_mut() {
            c.send(&[b"FLUSHALL"]);
            let r = c
                .read_raw_reply()
                .map_err(|e| format!("{}: FLUSHALL: {e}", self.name))?;
            if r != b"+OK\r\n" {
                return Err(format!("{}: FLUSHALL replied {}", self.name, escape(&r)));
            }
        }
        self.connect(resp3)
    }
}

/// Outcome of one script.
#[derive(Default)]
struct Tally {
    lines: usize,
    compared: usize,
    mismatches: usize,
    /// Mismatches where Redwing answered "unknown command" (a family not merged yet).
    unknown: usize,
    accepted: usize,
    accepted_equal: Vec<String>,
}

fn run_pass(
    script: &Script,
    sides: &mut [Side; 2],
    resp3: bool,
    tally: &mut Tally,
    report: &mut String,
) {
    let proto = if resp3 { "RESP3" } else { "RESP2" };
    let show = std::env::var_os("COMPAT_SHOW").is_some();
    for side in sides.iter_mut() {
        if let Err(e) = side.reset(resp3) {
            let _ = writeln!(
                report,
                "{}: cannot start the {proto} pass: {e}",
                script.name
            );
            tally.mismatches += 1;
            return;
        }
    }
    for line in &script.lines {
        if line.only_resp3.is_some_and(|only3| only3 != resp3) {
            continue;
        }
        let redis = sides[0].run(line, resp3);
        let redwing = sides[1].run(line, resp3);
        tally.compared += 1;
        let ok = replies_match(&line.check, &redis, &redwing);
        if show {
            println!(
                "{}:{} [{proto}] {}\n    redis:   {}\n    redwing: {}{}",
                script.name,
                line.no,
                line.text,
                escape(&redis),
                escape(&redwing),
                if ok { "" } else { "    <-- MISMATCH" }
            );
        }
        if let Check::Accepted(_) = line.check {
            tally.accepted += 1;
            if redis == redwing {
                tally
                    .accepted_equal
                    .push(format!("{}:{} [{proto}]", script.name, line.no));
            }
        }
        if !ok {
            tally.mismatches += 1;
            if redwing.starts_with(b"-ERR unknown command") {
                tally.unknown += 1;
            }
            if report.len() <= MAX_REPORT_BYTES {
                let _ = writeln!(
                    report,
                    "{}.txt:{} [{proto}] {}{}\n    redis:   {}\n    redwing: {}",
                    script.name,
                    line.no,
                    line.text,
                    match line.check {
                        Check::Exact => String::new(),
                        ref c => format!("   ({c:?})"),
                    },
                    escape(&redis),
                    escape(&redwing)
                );
            }
        }
        if line.reconnect {
            for side in sides.iter_mut() {
                side.conn = None;
            }
        }
    }
}

fn run_script(script: &Script, report: &mut String) -> Tally {
    let redis = ServerProc::redis(SHARED_CONFIG);
    let redwing = if std::env::var_os("COMPAT_SELF_CHECK").is_some() {
        ServerProc::redis(SHARED_CONFIG)
    } else {
        ServerProc::redwing(SHARED_CONFIG)
    };
    let mut sides = [
        Side {
            name: "redis",
            server: redis,
            conn: None,
        },
        Side {
            name: "redwing",
            server: redwing,
            conn: None,
        },
    ];
    let mut tally = Tally {
        lines: script.lines.len(),
        ..Tally::default()
    };
    run_pass(script, &mut sides, false, &mut tally, report);
    run_pass(script, &mut sides, true, &mut tally, report);
    for side in sides.iter_mut() {
        if !side.server.alive() {
            let _ = writeln!(
                report,
                "{}: {} died during the script; log:\n{}",
                script.name,
                side.name,
                side.server.log()
            );
            tally.mismatches += 1;
        }
    }
    tally
}

#[test]
fn compat_scripts_match_redis_7_0() {
    check_reference_server();
    // `COMPAT_REDWING_BIN` runs the scripts against another build (e.g. a family's work tree).
    let bin = std::env::var("COMPAT_REDWING_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_redwing-server").to_string());
    std::env::set_var("REDWING_BIN", bin);
    let scripts = load_scripts();
    assert!(
        !scripts.is_empty(),
        "no scripts in {}",
        scripts_dir().display()
    );
    let mut report = String::new();
    let mut summary = String::from(
        "\nscript              lines  compared  mismatches (unknown command)  accepted\n",
    );
    let mut total_mismatches = 0;
    for script in &scripts {
        let t = run_script(script, &mut report);
        total_mismatches += t.mismatches;
        let _ = writeln!(
            summary,
            "{:<18} {:>6} {:>9} {:>11} {:>18} {:>9}   {}",
            script.name,
            t.lines,
            t.compared,
            t.mismatches,
            t.unknown,
            t.accepted,
            if t.mismatches == 0 { "PASS" } else { "FAIL" }
        );
        for at in t.accepted_equal {
            let _ = writeln!(
                summary,
                "    note: {at} is annotated as a difference but replied the same"
            );
        }
    }
    println!("{summary}");
    if report.len() > MAX_REPORT_BYTES {
        report.push_str("... (report truncated: run fewer scripts with COMPAT_ONLY)\n");
    }
    assert!(
        total_mismatches == 0,
        "{total_mismatches} replies differ from redis-server:\n{report}{summary}"
    );
}

/// Every accepted difference must be explained in the README, word for word.
#[test]
fn accepted_differences_are_listed_in_the_readme() {
    let readme_path = scripts_dir().join("README.md");
    let readme = std::fs::read_to_string(&readme_path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", readme_path.display()));
    let mut missing = Vec::new();
    for script in load_scripts() {
        for line in &script.lines {
            if let Check::Accepted(reason) = &line.check {
                if !readme.contains(reason.as_str()) {
                    missing.push(format!("{}.txt:{}: {reason}", script.name, line.no));
                }
            }
        }
    }
    assert!(
        missing.is_empty(),
        "accepted differences not listed in {}:\n{}",
        readme_path.display(),
        missing.join("\n")
    );
}

#[test]
fn script_annotations_parse() {
    let s = parse_script(
        "t",
        "# comment\n\nSET k \"a #!b\" #!accepted-difference: why\nSUBSCRIBE a b #!replies 2\nQUIT #!reconnect\nSMEMBERS s #!unordered: hash order\n",
    )
    .unwrap();
    assert_eq!(s.lines.len(), 4);
    assert_eq!(s.lines[0].args[2], b"a #!b");
    assert_eq!(s.lines[0].check, Check::Accepted("why".into()));
    assert_eq!(s.lines[1].replies, 2);
    assert!(s.lines[2].reconnect);
    assert_eq!(s.lines[3].check, Check::Unordered);
    assert!(parse_script("t", "GET k #!type-only\n").is_err());
    assert!(parse_script("t", "GET k #!bogus: x\n").is_err());
    assert!(replies_match(
        &Check::Unordered,
        b"*2\r\n$1\r\na\r\n$1\r\nb\r\n",
        b"*2\r\n$1\r\nb\r\n$1\r\na\r\n"
    ));
    assert!(replies_match(
        &Check::UnorderedPairs,
        b"*4\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n",
        b"*4\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\na\r\n$1\r\n1\r\n"
    ));
    assert!(!replies_match(
        &Check::UnorderedPairs,
        b"*4\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n",
        b"*4\r\n$1\r\na\r\n$1\r\n2\r\n$1\r\nb\r\n$1\r\n1\r\n"
    ));
    assert!(replies_match(
        &Check::TypeOnly,
        b"$1\r\na\r\n",
        b"$2\r\nbb\r\n"
    ));
    assert!(!replies_match(&Check::TypeOnly, b"$1\r\na\r\n", b"$-1\r\n"));
}
