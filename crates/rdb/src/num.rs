//! Number <-> text conversions with Redis's exact rules.
//!
//! Redis decides whether a string "is an integer" with `string2ll` /
//! `lpStringToInt64`: canonical decimal only (no `+`, no leading zeros, no
//! `-0`, no spaces), fitting in an i64. Encoders must use the same rule or the
//! files they write would decode to different strings.

/// Parses `s` if it is the canonical decimal text of an i64.
pub fn parse_canonical_i64(s: &[u8]) -> Option<i64> {
    // 20 digits plus a sign is the longest i64.
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    if s == b"0" {
        return Some(0);
    }
    let (neg, digits) = match s.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, s),
    };
    match digits.first() {
        Some(b'1'..=b'9') => {}
        _ => return None,
    }
    let mut v: u64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add((d - b'0') as u64)?;
    }
    if neg {
        if v > i64::MAX as u64 + 1 {
            return None;
        }
        Some((v as i64).wrapping_neg())
    } else {
        i64::try_from(v).ok()
    }
}

/// Decimal text of `v`, as Redis's `ll2string`.
pub fn i64_to_bytes(v: i64) -> Vec<u8> {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    let mut n = v.unsigned_abs();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    let mut out = Vec::with_capacity(buf.len() - i + 1);
    if v < 0 {
        out.push(b'-');
    }
    out.extend_from_slice(&buf[i..]);
    out
}

/// Parses a score stored as text (legacy ZSET type 3, ziplist/listpack zset
/// scores). Redis uses `strtod`; Rust's float parser accepts the same
/// spellings Redis writes (`%.17g`, `inf`, `-inf`, `nan`).
pub fn parse_double(s: &[u8]) -> Option<f64> {
    let text = std::str::from_utf8(s).ok()?;
    let text = text.trim_matches(|c: char| c.is_ascii_whitespace());
    if text.is_empty() {
        return None;
    }
    text.parse::<f64>().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_integers_only() {
        assert_eq!(parse_canonical_i64(b"0"), Some(0));
        assert_eq!(parse_canonical_i64(b"-1"), Some(-1));
        assert_eq!(parse_canonical_i64(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_canonical_i64(b"-9223372036854775808"), Some(i64::MIN));
        for bad in [
            &b""[..],
            b"-",
            b"-0",
            b"01",
            b"+1",
            b" 1",
            b"1 ",
            b"1a",
            b"9223372036854775808",
            b"-9223372036854775809",
        ] {
            assert_eq!(parse_canonical_i64(bad), None, "{:?}", bad);
        }
    }

    #[test]
    fn integer_text_round_trips() {
        for v in [0, 1, -1, 42, i64::MAX, i64::MIN, 1_000_000, -987654321] {
            let t = i64_to_bytes(v);
            assert_eq!(t, v.to_string().into_bytes());
            assert_eq!(parse_canonical_i64(&t), Some(v));
        }
    }

    #[test]
    fn doubles_in_redis_spellings() {
        assert_eq!(parse_double(b"1.5"), Some(1.5));
        assert_eq!(parse_double(b"2.7000000000000002"), Some(2.7));
        assert_eq!(parse_double(b"1e+20"), Some(1e20));
        assert_eq!(parse_double(b"inf"), Some(f64::INFINITY));
        assert_eq!(parse_double(b"-inf"), Some(f64::NEG_INFINITY));
        assert!(parse_double(b"nan").unwrap().is_nan());
        assert_eq!(parse_double(b"abc"), None);
        assert_eq!(parse_double(b""), None);
    }
}
