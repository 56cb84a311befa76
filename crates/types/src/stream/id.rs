//! Stream IDs as clients write them: parsing with Valkey's exact rules
//! (`streamGenericParseIDOrReply` over `string2ull`), successor/predecessor, and the text form.
//!
//! Only pure functions of bytes live here; the error replies are the command layer's.

pub use rdb::StreamId;

/// The smallest ID, `0-0`.
pub const MIN: StreamId = StreamId { ms: 0, seq: 0 };
/// The largest ID, `18446744073709551615-18446744073709551615`.
pub const MAX: StreamId = StreamId::MAX;

/// How an ID argument may be written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IdRules {
    /// `-` and `+` are refused (Valkey's "strict" parse).
    pub strict: bool,
    /// Sequence used when only `<ms>` is given.
    pub missing_seq: u64,
    /// `<ms>-*` is accepted (XADD): the result says the sequence was not given.
    pub allow_auto_seq: bool,
}

impl IdRules {
    /// `streamParseStrictIDOrReply(..., missing_seq = 0, NULL)`: explicit IDs only.
    pub const STRICT: IdRules = IdRules {
        strict: true,
        missing_seq: 0,
        allow_auto_seq: false,
    };
    /// `streamParseIDOrReply(..., missing_seq)`: `-` and `+` allowed.
    pub const fn range(missing_seq: u64) -> IdRules {
        IdRules {
            strict: false,
            missing_seq,
            allow_auto_seq: false,
        }
    }
}

/// A parsed ID argument.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParsedId {
    pub id: StreamId,
    /// False for the `<ms>-*` form (the sequence is to be generated; `id.seq` is 0).
    pub seq_given: bool,
}

/// Parses an ID argument as Valkey does; `None` = "Invalid stream ID specified as stream
/// command argument".
pub fn parse(arg: &[u8], rules: IdRules) -> Option<ParsedId> {
    // Valkey copies the argument into a 128-byte C buffer: longer is invalid, and the C
    // string functions stop at the first NUL.
    if arg.len() > 127 {
        return None;
    }
    let s = arg.split(|&c| c == 0).next().unwrap_or(b"");
    let given = |id| {
        Some(ParsedId {
            id,
            seq_given: true,
        })
    };
    match s {
        b"-" | b"+" if rules.strict => return None,
        b"-" => return given(MIN),
        b"+" => return given(MAX),
        _ => {}
    }
    let (ms_text, seq_text) = match s.iter().position(|&c| c == b'-') {
        Some(dash) => (&s[..dash], Some(&s[dash + 1..])),
        None => (s, None),
    };
    let ms = string2ull(ms_text)?;
    match seq_text {
        Some(b"*") if rules.allow_auto_seq => Some(ParsedId {
            id: StreamId::new(ms, 0),
            seq_given: false,
        }),
        Some(t) => given(StreamId::new(ms, string2ull(t)?)),
        None => given(StreamId::new(ms, rules.missing_seq)),
    }
}

/// Valkey's `string2ull`: a canonical non-negative `long long`, or else anything C `strtoull`
/// converts in full without overflow (leading blanks, a sign, a value up to 2^64-1; a `-`
/// negates modulo 2^64).
pub fn string2ull(s: &[u8]) -> Option<u64> {
    if let Some(v) = string2ll(s) {
        return u64::try_from(v).ok();
    }
    strtoull(s)
}

/// Valkey's `string2ll`: canonical decimal (no `+`, no leading zeros, no `-0`), fitting i64.
fn string2ll(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() >= 21 {
        return None;
    }
    rdb::parse_canonical_i64(s)
}

/// C `strtoull(s, &end, 10)` that must consume all of a non-empty `s`, without ERANGE.
fn strtoull(s: &[u8]) -> Option<u64> {
    let start = s
        .iter()
        .position(|c| !matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c))?;
    let (neg, digits) = match &s[start..] {
        [b'-', rest @ ..] => (true, rest),
        [b'+', rest @ ..] => (false, rest),
        rest => (false, rest),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut v: u64 = 0;
    for &c in digits {
        v = v.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
    }
    Some(if neg { v.wrapping_neg() } else { v })
}

/// The next ID (`streamIncrID`); `None` past the maximum.
pub fn incr(id: StreamId) -> Option<StreamId> {
    if id.seq == u64::MAX {
        if id.ms == u64::MAX {
            return None;
        }
        Some(StreamId::new(id.ms + 1, 0))
    } else {
        Some(StreamId::new(id.ms, id.seq + 1))
    }
}

/// The previous ID (`streamDecrID`); `None` before `0-0`.
pub fn decr(id: StreamId) -> Option<StreamId> {
    if id.seq == 0 {
        if id.ms == 0 {
            return None;
        }
        Some(StreamId::new(id.ms - 1, u64::MAX))
    } else {
        Some(StreamId::new(id.ms, id.seq - 1))
    }
}

/// `<ms>-<seq>`, as replies and propagated arguments write an ID.
pub fn to_text(id: StreamId) -> String {
    let mut b = itoa_buf();
    let mut out = String::with_capacity(41);
    out.push_str(b.format(id.ms));
    out.push('-');
    out.push_str(b.format(id.seq));
    out
}

/// A small decimal formatter (the types crate has no itoa dependency).
fn itoa_buf() -> Decimal {
    Decimal([0; 20])
}

struct Decimal([u8; 20]);

impl Decimal {
    fn format(&mut self, mut v: u64) -> &str {
        let mut i = self.0.len();
        loop {
            i -= 1;
            self.0[i] = b'0' + (v % 10) as u8;
            v /= 10;
            if v == 0 {
                break;
            }
        }
        std::str::from_utf8(&self.0[i..]).unwrap_or("0")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str, rules: IdRules) -> Option<(u64, u64, bool)> {
        parse(s.as_bytes(), rules).map(|p| (p.id.ms, p.id.seq, p.seq_given))
    }

    #[test]
    fn explicit_and_partial_ids() {
        let r = IdRules::range(u64::MAX);
        assert_eq!(p("5-3", r), Some((5, 3, true)));
        assert_eq!(p("5", r), Some((5, u64::MAX, true)));
        assert_eq!(p("-", r), Some((0, 0, true)));
        assert_eq!(p("+", r), Some((u64::MAX, u64::MAX, true)));
        assert_eq!(p("-", IdRules::STRICT), None);
        assert_eq!(p("+", IdRules::STRICT), None);
        assert_eq!(p("5-*", IdRules::STRICT), None);
        let xadd = IdRules {
            allow_auto_seq: true,
            ..IdRules::STRICT
        };
        assert_eq!(p("5-*", xadd), Some((5, 0, false)));
        assert_eq!(p("5-**", xadd), None);
        assert_eq!(p("*", xadd), None);
    }

    #[test]
    fn numbers_follow_string2ull() {
        let r = IdRules::STRICT;
        assert_eq!(
            p("18446744073709551615-18446744073709551615", r),
            Some((u64::MAX, u64::MAX, true))
        );
        assert_eq!(p("18446744073709551616-0", r), None);
        assert_eq!(p("01-02", r), Some((1, 2, true)));
        assert_eq!(p("+1-+2", r), Some((1, 2, true)));
        assert_eq!(p(" 1", r), Some((1, 0, true)));
        assert_eq!(p("1--1", r), None); // canonical negative
        assert_eq!(p("1- -1", r), Some((1, u64::MAX, true))); // strtoull negates
        assert_eq!(p("1--0", r), Some((1, 0, true)));
        assert_eq!(p("", r), None);
        assert_eq!(p("-1", r), None);
        assert_eq!(p("1-", r), None);
        assert_eq!(p("1x", r), None);
        assert_eq!(p("1-2-3", r), None);
        assert_eq!(p("7\0garbage", r), Some((7, 0, true)));
        assert_eq!(p(&"1".repeat(128), r), None);
    }

    #[test]
    fn successor_and_predecessor() {
        assert_eq!(incr(StreamId::new(1, u64::MAX)), Some(StreamId::new(2, 0)));
        assert_eq!(incr(MAX), None);
        assert_eq!(decr(StreamId::new(2, 0)), Some(StreamId::new(1, u64::MAX)));
        assert_eq!(decr(MIN), None);
        assert_eq!(to_text(StreamId::new(12, 0)), "12-0");
        assert_eq!(to_text(MAX), "18446744073709551615-18446744073709551615");
    }
}
