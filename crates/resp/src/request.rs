//! Server-side request parsing: RESP multibulk (`*<n>\r\n$<len>\r\n...`) and inline commands.
//!
//! The parser keeps its position between calls, so a command that arrives over many reads is
//! parsed incrementally: a bulk header is parsed once, and the bulk body is taken out of the
//! buffer as one `Bytes` slice when it is complete (no re-parsing, no quadratic copying). For a
//! large bulk the parser reports how many bytes it is waiting for, so the caller can reserve the
//! whole argument at once.

use bytes::{Buf, Bytes, BytesMut};

use crate::error::ProtocolError;

/// Longest inline request, or multibulk/bulk header line, before a protocol error (64 KiB).
pub const INLINE_MAX_SIZE: usize = 64 * 1024;
/// Bulk arguments at least this large are read straight into a buffer sized for them.
pub const BIG_ARG: usize = 32 * 1024;

/// Result of one parse step.
#[derive(Debug, PartialEq, Eq)]
pub enum Parsed {
    /// A complete command (never empty).
    Command(Vec<Bytes>),
    /// An empty inline line or a `*0`/`*-1` multibulk: consumed, nothing to execute. Replicas
    /// send bare newlines as keepalives, so the caller may want to know.
    Empty,
    /// More bytes are needed. `want` is the total number of buffered bytes that would let the
    /// current bulk argument complete, when known (for sizing reads of large arguments).
    NeedMore { want: Option<usize> },
}

/// Incremental parser state for one connection.
#[derive(Debug)]
pub struct RequestParser {
    /// Arguments still expected by the multibulk being parsed (0: between commands).
    multibulk_left: usize,
    /// Length of the bulk whose header was parsed and whose body is awaited.
    bulk_len: Option<usize>,
    args: Vec<Bytes>,
    /// Bytes in `args` (kept as they are added: a client's memory is read every loop pass).
    args_bytes: usize,
    /// `proto-max-bulk-len`.
    pub max_bulk_len: usize,
    /// Stricter limits before authentication, as Redis applies them.
    pub auth_required: bool,
    /// Input from our primary: no bulk limit, and inline data is a desync.
    pub from_primary: bool,
}

impl Default for RequestParser {
    fn default() -> Self {
        Self::new(512 * 1024 * 1024)
    }
}

impl RequestParser {
    pub fn new(max_bulk_len: usize) -> Self {
        RequestParser {
            multibulk_left: 0,
            bulk_len: None,
            args: Vec::new(),
            args_bytes: 0,
            max_bulk_len,
            auth_required: false,
            from_primary: false,
        }
    }

    /// True when the parser holds a partially parsed command.
    pub fn in_progress(&self) -> bool {
        self.multibulk_left > 0
    }

    /// Memory of the arguments of the command being parsed received so far, as Valkey counts
    /// a partial `argv` (their bytes and a pointer each).
    pub fn partial_args_memory(&self) -> usize {
        self.args_bytes + self.args.len() * std::mem::size_of::<Bytes>()
    }

    /// The length of the bulk argument whose header was parsed and whose body is awaited.
    pub fn awaited_bulk(&self) -> Option<usize> {
        self.bulk_len
    }

    /// Forget any partial command (used when a cached primary is resurrected).
    pub fn reset(&mut self) {
        self.multibulk_left = 0;
        self.bulk_len = None;
        self.args.clear();
        self.args_bytes = 0;
    }

    /// Parses the next command from `buf`, consuming the bytes it used.
    pub fn parse(&mut self, buf: &mut BytesMut) -> Result<Parsed, ProtocolError> {
        if self.multibulk_left == 0 {
            match buf.first() {
                None => return Ok(Parsed::NeedMore { want: None }),
                Some(b'*') => {
                    if let Some(done) = self.parse_multibulk_header(buf)? {
                        return Ok(done);
                    }
                }
                Some(_) => return self.parse_inline(buf),
            }
        }
        self.parse_bulks(buf)
    }

    /// Returns `Some` when parsing ended at the header (need more, or an empty multibulk).
    fn parse_multibulk_header(
        &mut self,
        buf: &mut BytesMut,
    ) -> Result<Option<Parsed>, ProtocolError> {
        let Some(line_end) = find_cr_line(buf) else {
            if buf.len() > INLINE_MAX_SIZE {
                return Err(ProtocolError::new(
                    "Protocol error: too big mbulk count string",
                    "too big mbulk count string",
                ));
            }
            return Ok(Some(Parsed::NeedMore { want: None }));
        };
        let count = parse_i64(&buf[1..line_end])
            .filter(|n| *n <= i32::MAX as i64)
            .ok_or_else(|| {
                ProtocolError::new(
                    "Protocol error: invalid multibulk length",
                    "invalid mbulk count",
                )
            })?;
        if count > 10 && self.auth_required {
            return Err(ProtocolError::new(
                "Protocol error: unauthenticated multibulk length",
                "unauth mbulk count",
            ));
        }
        buf.advance(line_end + 2);
        if count <= 0 {
            return Ok(Some(Parsed::Empty));
        }
        self.multibulk_left = count as usize;
        self.args = Vec::with_capacity((count as usize).min(1024));
        self.args_bytes = 0;
        Ok(None)
    }

    fn parse_bulks(&mut self, buf: &mut BytesMut) -> Result<Parsed, ProtocolError> {
        while self.multibulk_left > 0 {
            let len = match self.bulk_len {
                Some(len) => len,
                None => match self.parse_bulk_header(buf)? {
                    Some(len) => len,
                    None => return Ok(Parsed::NeedMore { want: None }),
                },
            };
            if buf.len() < len + 2 {
                return Ok(Parsed::NeedMore {
                    want: Some(len + 2),
                });
            }
            // Like Redis, the two bytes after the body are skipped without being checked.
            let arg = buf.split_to(len).freeze();
            buf.advance(2);
            self.args_bytes += arg.len();
            self.args.push(arg);
            self.bulk_len = None;
            self.multibulk_left -= 1;
        }
        self.args_bytes = 0;
        Ok(Parsed::Command(std::mem::take(&mut self.args)))
    }

    fn parse_bulk_header(&mut self, buf: &mut BytesMut) -> Result<Option<usize>, ProtocolError> {
        let Some(line_end) = find_cr_line(buf) else {
            if buf.len() > INLINE_MAX_SIZE {
                return Err(ProtocolError::new(
                    "Protocol error: too big bulk count string",
                    "too big bulk count string",
                ));
            }
            return Ok(None);
        };
        if buf[0] != b'$' {
            return Err(ProtocolError::new(
                format!("Protocol error: expected '$', got '{}'", buf[0] as char),
                "expected $ but got something else",
            ));
        }
        let len = parse_i64(&buf[1..line_end])
            .filter(|n| *n >= 0 && (self.from_primary || *n as u64 <= self.max_bulk_len as u64))
            .ok_or_else(|| {
                ProtocolError::new("Protocol error: invalid bulk length", "invalid bulk length")
            })?;
        if len > 16384 && self.auth_required {
            return Err(ProtocolError::new(
                "Protocol error: unauthenticated bulk length",
                "unauth bulk length",
            ));
        }
        buf.advance(line_end + 2);
        let len = len as usize;
        self.bulk_len = Some(len);
        if len >= BIG_ARG && buf.capacity() < len + 2 {
            // Make the whole argument fit in one allocation so it is never copied again.
            buf.reserve(len + 2 - buf.len());
        }
        Ok(Some(len))
    }

    fn parse_inline(&mut self, buf: &mut BytesMut) -> Result<Parsed, ProtocolError> {
        let Some(nl) = memchr::memchr(b'\n', buf) else {
            if buf.len() > INLINE_MAX_SIZE {
                return Err(ProtocolError::new(
                    "Protocol error: too big inline request",
                    "too big inline request",
                ));
            }
            return Ok(Parsed::NeedMore { want: None });
        };
        let line_len = if nl > 0 && buf[nl - 1] == b'\r' {
            nl - 1
        } else {
            nl
        };
        if line_len > 0 && self.from_primary {
            return Err(ProtocolError::new(
                "Protocol error: master using the inline protocol",
                "Master using the inline protocol. Desync?",
            ));
        }
        let parsed = split_args(&buf[..line_len]);
        buf.advance(nl + 1);
        match parsed {
            None => Err(ProtocolError::new(
                "Protocol error: unbalanced quotes in request",
                "unbalanced quotes in inline request",
            )),
            Some(args) if args.is_empty() => Ok(Parsed::Empty),
            Some(args) => Ok(Parsed::Command(args.into_iter().map(Bytes::from).collect())),
        }
    }
}

/// Finds a `\r\n`-terminated line at the start of `buf`; returns the index of the `\r`.
/// Like Redis, the line ends at the first `\r`, and the `\n` must already be buffered.
fn find_cr_line(buf: &[u8]) -> Option<usize> {
    let cr = memchr::memchr(b'\r', buf)?;
    (cr + 1 < buf.len()).then_some(cr)
}

/// Parses a decimal integer exactly as Redis's `string2ll`: optional `-`, no `+`, no leading
/// zeros (except `0` itself), no spaces, no overflow.
pub fn parse_i64(s: &[u8]) -> Option<i64> {
    let (neg, digits) = match s {
        [b'-', rest @ ..] => (true, rest),
        _ => (false, s),
    };
    if digits.is_empty() || digits.len() > 19 || (digits[0] == b'0' && (digits.len() > 1 || neg)) {
        return None;
    }
    let mut v: u64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add((c - b'0') as u64)?;
    }
    if neg {
        if v > i64::MAX as u64 + 1 {
            None
        } else {
            Some((v as i64).wrapping_neg())
        }
    } else {
        i64::try_from(v).ok()
    }
}

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// Quotes bytes as Redis's `sdscatrepr`: inside double quotes, `\\`, `\"`, `\n`, `\r`, `\t`,
/// `\a`, `\b` escaped, printable ASCII as is, every other byte as `\xHH`. [`split_args`] reads
/// the result back to the same bytes (config rewrites, AOF manifests, MONITOR lines).
pub fn repr(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() + 2);
    out.push('"');
    for &b in bytes {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'"' => out.push_str("\\\""),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            7 => out.push_str("\\a"),
            8 => out.push_str("\\b"),
            0x20..=0x7e => out.push(b as char),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out.push('"');
    out
}

/// Splits a line into arguments with Redis's `sdssplitargs` rules (used for inline commands
/// and for configuration files): blanks separate arguments; `"..."` supports `\xHH`, `\n`, `\r`,
/// `\t`, `\b`, `\a` and `\<c>`; `'...'` supports `\'`; a closing quote must be followed by a
/// blank or the end. Returns `None` on unbalanced quotes. A NUL byte ends the line, as in C.
pub fn split_args(line: &[u8]) -> Option<Vec<Vec<u8>>> {
    let line = match memchr::memchr(0, line) {
        Some(nul) => &line[..nul],
        None => line,
    };
    let mut args = Vec::new();
    let mut i = 0;
    loop {
        while i < line.len() && is_space(line[i]) {
            i += 1;
        }
        if i >= line.len() {
            return Some(args);
        }
        let (arg, next) = split_one(line, i)?;
        args.push(arg);
        i = next;
    }
}

/// Reads one token starting at `i`; returns it and the index after it.
fn split_one(line: &[u8], mut i: usize) -> Option<(Vec<u8>, usize)> {
    let at = |j: usize| line.get(j).copied();
    let mut cur = Vec::new();
    let (mut in_dq, mut in_sq) = (false, false);
    loop {
        let c = at(i);
        if in_dq {
            match c? {
                b'\\' if at(i + 1) == Some(b'x') && hex_pair(at(i + 2), at(i + 3)).is_some() => {
                    cur.push(hex_pair(at(i + 2), at(i + 3))?);
                    i += 3;
                }
                b'\\' if at(i + 1).is_some() => {
                    i += 1;
                    cur.push(match line[i] {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 0x08,
                        b'a' => 0x07,
                        other => other,
                    });
                }
                b'"' => {
                    if at(i + 1).is_some_and(|n| !is_space(n)) {
                        return None;
                    }
                    return Some((cur, i + 1));
                }
                other => cur.push(other),
            }
        } else if in_sq {
            match c? {
                b'\\' if at(i + 1) == Some(b'\'') => {
                    i += 1;
                    cur.push(b'\'');
                }
                b'\'' => {
                    if at(i + 1).is_some_and(|n| !is_space(n)) {
                        return None;
                    }
                    return Some((cur, i + 1));
                }
                other => cur.push(other),
            }
        } else {
            match c {
                None => return Some((cur, i)),
                Some(b) if is_space(b) => return Some((cur, i + 1)),
                Some(b'"') => in_dq = true,
                Some(b'\'') => in_sq = true,
                Some(b) => cur.push(b),
            }
        }
        i += 1;
    }
}

fn hex_pair(a: Option<u8>, b: Option<u8>) -> Option<u8> {
    let h = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    Some(h(a?)? * 16 + h(b?)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_all(input: &[u8]) -> Result<Vec<Vec<Vec<u8>>>, ProtocolError> {
        let mut p = RequestParser::default();
        let mut buf = BytesMut::from(input);
        let mut out = Vec::new();
        loop {
            match p.parse(&mut buf)? {
                Parsed::Command(args) => out.push(args.iter().map(|a| a.to_vec()).collect()),
                Parsed::Empty => {}
                Parsed::NeedMore { .. } => return Ok(out),
            }
        }
    }

    #[test]
    fn multibulk_and_pipeline() {
        let cmds = parse_all(b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n*1\r\n$4\r\nPING\r\n").unwrap();
        assert_eq!(
            cmds,
            vec![vec![b"GET".to_vec(), b"k".to_vec()], vec![b"PING".to_vec()]]
        );
    }

    #[test]
    fn byte_at_a_time_gives_the_same_commands() {
        let input = b"*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nva\r\nl\r\nPING\r\n*0\r\n";
        let mut p = RequestParser::default();
        let mut buf = BytesMut::new();
        let mut out = Vec::new();
        for &b in input.iter() {
            buf.extend_from_slice(&[b]);
            loop {
                match p.parse(&mut buf).unwrap() {
                    Parsed::Command(a) => {
                        out.push(a.iter().map(|x| x.to_vec()).collect::<Vec<_>>())
                    }
                    Parsed::Empty => {}
                    Parsed::NeedMore { .. } => break,
                }
            }
        }
        let expected = vec![
            vec![b"SET".to_vec(), b"key".to_vec(), b"va\r\nl".to_vec()],
            vec![b"PING".to_vec()],
        ];
        assert_eq!(out, expected);
    }

    #[test]
    fn protocol_errors_match_redis() {
        let e = parse_all(b"*2\r\n$-1\r\n").unwrap_err();
        assert_eq!(e.reply, "Protocol error: invalid bulk length");
        let e = parse_all(b"*x\r\n").unwrap_err();
        assert_eq!(e.reply, "Protocol error: invalid multibulk length");
        let e = parse_all(b"*1\r\n:1\r\n").unwrap_err();
        assert_eq!(e.reply, "Protocol error: expected '$', got ':'");
        let e = parse_all(b"SET \"a\"b\r\n").unwrap_err();
        assert_eq!(e.reply, "Protocol error: unbalanced quotes in request");
        let big = vec![b'a'; INLINE_MAX_SIZE + 1];
        assert_eq!(
            parse_all(&big).unwrap_err().reply,
            "Protocol error: too big inline request"
        );
    }

    #[test]
    fn bulk_length_limit() {
        let mut p = RequestParser::new(10);
        let mut buf = BytesMut::from(&b"*1\r\n$11\r\n"[..]);
        assert_eq!(
            p.parse(&mut buf).unwrap_err().reply,
            "Protocol error: invalid bulk length"
        );
    }

    #[test]
    fn big_arg_reports_wanted_size() {
        let mut p = RequestParser::default();
        let mut buf = BytesMut::from(&b"*1\r\n$100000\r\nabc"[..]);
        assert_eq!(
            p.parse(&mut buf).unwrap(),
            Parsed::NeedMore { want: Some(100002) }
        );
        assert!(buf.capacity() >= 100002);
    }

    #[test]
    fn inline_quoting() {
        let args = split_args(b"set \"a\\x41\\n\" 'it\\'s' plain").unwrap();
        assert_eq!(
            args,
            vec![
                b"set".to_vec(),
                b"aA\n".to_vec(),
                b"it's".to_vec(),
                b"plain".to_vec()
            ]
        );
        assert_eq!(split_args(b"   ").unwrap(), Vec::<Vec<u8>>::new());
        assert!(split_args(b"\"unterminated").is_none());
        assert_eq!(parse_all(b"\r\n\n").unwrap(), Vec::<Vec<Vec<u8>>>::new());
    }

    #[test]
    fn string2ll_rules() {
        assert_eq!(parse_i64(b"0"), Some(0));
        assert_eq!(parse_i64(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_i64(b"9223372036854775808"), None);
        for bad in [&b""[..], b"-", b"01", b"-0", b"+1", b" 1", b"1a"] {
            assert_eq!(parse_i64(bad), None, "{:?}", bad);
        }
    }

    #[test]
    fn primary_inline_is_desync() {
        let mut p = RequestParser {
            from_primary: true,
            ..Default::default()
        };
        let mut buf = BytesMut::from(&b"\nPING\r\n"[..]);
        assert_eq!(p.parse(&mut buf).unwrap(), Parsed::Empty);
        assert!(p.parse(&mut buf).is_err());
    }
}
