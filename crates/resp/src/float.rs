//! Doubles printed and parsed the way Redis/Valkey do it.
//!
//! Valkey 8 prints doubles (ZSCORE, RESP3 doubles, listpack scores) with `d2string`: integral
//! values that fit a `long long` as integers, everything else with the Grisu2 implementation of
//! its `fpconv` library ([`fpconv_dtoa`], reproduced exactly in the private `grisu` module).
//! Grisu2's digits always read back to the same double but are not always the shortest ones,
//! and its exponent form has no zero padding (`1e-7`). Redis 7.0 used `%.17g` in some places;
//! we follow Valkey 8 (see README, accepted differences).

use std::fmt::Write;

use crate::grisu::write_fpconv;

/// Formats like Valkey's `d2string`.
pub fn fmt_double(v: f64) -> String {
    let mut s = String::with_capacity(24);
    write_double(&mut s, v);
    s
}

/// Appends the `d2string` form of `v` to `out`.
pub fn write_double(out: &mut String, v: f64) {
    if v.is_nan() {
        out.push_str("nan");
    } else if v.is_infinite() {
        out.push_str(if v < 0.0 { "-inf" } else { "inf" });
    } else if v == 0.0 {
        out.push_str(if v.is_sign_negative() { "-0" } else { "0" });
    } else if let Some(i) = double_to_i64(v) {
        let _ = write!(out, "{i}");
    } else {
        write_fpconv(out, v);
    }
}

/// Formats like Valkey's `fpconv_dtoa` (DEBUG DIGEST scores, AOF rewrite scores): Grisu2
/// digits without `d2string`'s integer shortcut, so `1e10` prints as `1e+10`; the sign comes
/// from the sign bit (`-0`, and `-nan` for a NaN with the sign bit set).
pub fn fpconv_dtoa(v: f64) -> String {
    let mut s = String::with_capacity(24);
    write_fpconv(&mut s, v);
    s
}

/// The integer value of `v` if it is integral and safely inside the `long long` range (the
/// same test as Valkey's `double2ll`).
pub fn double_to_i64(v: f64) -> Option<i64> {
    let limit = (i64::MAX / 2) as f64;
    if !(-limit..=limit).contains(&v) {
        return None;
    }
    let i = v as i64;
    (i as f64 == v).then_some(i)
}

/// Formats like C `printf("%f")` followed by Valkey's `trimDoubleString` (trailing zeros and
/// then a trailing '.' removed), as CONFIG GET and CONFIG REWRITE print
/// `latency-tracking-info-percentiles`: `99.9`, `12.345679`, `0` for `1e-7`, `-0` for `-0`.
pub fn fmt_fixed6_trimmed(v: f64) -> String {
    if !v.is_finite() {
        // glibc's %f spellings; trimDoubleString leaves them alone.
        return if v.is_nan() {
            if v.is_sign_negative() { "-nan" } else { "nan" }.into()
        } else if v < 0.0 {
            "-inf".into()
        } else {
            "inf".into()
        };
    }
    // Rust's fixed-precision formatting is exact and rounds ties to even, as glibc's does.
    let s = format!("{v:.6}");
    let trimmed = s.trim_end_matches('0');
    trimmed.strip_suffix('.').unwrap_or(trimmed).to_string()
}

/// Parses a double with C `strtod` acceptance as Redis applies it (`string2d`): no leading
/// blank, no trailing garbage, `inf`/`infinity` with optional sign, no NaN, and values that
/// overflow to infinity or underflow to zero are rejected.
pub fn parse_double(s: &[u8]) -> Option<f64> {
    let text = std::str::from_utf8(s).ok()?;
    let first = *s.first()?;
    if first.is_ascii_whitespace() || first == 0x0b || first == 0x0c {
        return None;
    }
    let body = text.strip_prefix(['+', '-']).unwrap_or(text);
    let lower = body.to_ascii_lowercase();
    if lower == "inf" || lower == "infinity" {
        return Some(if text.starts_with('-') {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        });
    }
    if !body
        .bytes()
        .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'+' | b'-'))
    {
        return parse_hex_float(text);
    }
    let v: f64 = text.parse().ok()?;
    if v.is_infinite() || v.is_nan() {
        return None;
    }
    if v == 0.0 && mantissa_has_nonzero(body) {
        return None; // underflow (ERANGE with a zero result)
    }
    Some(v)
}

fn mantissa_has_nonzero(body: &str) -> bool {
    let mantissa = body.split(['e', 'E']).next().unwrap_or("");
    mantissa.bytes().any(|c| c.is_ascii_digit() && c != b'0')
}

/// `strtod` also reads C99 hex floats (`0x1.8p3`); rare, but accepted by Redis.
fn parse_hex_float(text: &str) -> Option<f64> {
    let (neg, rest) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let rest = rest
        .strip_prefix("0x")
        .or_else(|| rest.strip_prefix("0X"))?;
    let (mant, exp) = match rest.find(['p', 'P']) {
        Some(i) => (&rest[..i], rest[i + 1..].parse::<i32>().ok()?),
        None => (rest, 0),
    };
    let (int_part, frac_part) = mant.split_once('.').unwrap_or((mant, ""));
    if int_part.is_empty() && frac_part.is_empty() {
        return None;
    }
    let mut v = 0f64;
    for c in int_part.chars().chain(frac_part.chars()) {
        v = v * 16.0 + c.to_digit(16)? as f64;
    }
    let scale = exp - 4 * frac_part.len() as i32;
    let v = v * 2f64.powi(scale);
    if v.is_infinite() {
        return None;
    }
    Some(if neg { -v } else { v })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valkey_d2string_forms() {
        let cases = [
            (1.5, "1.5"),
            (0.1, "0.1"),
            (-0.25, "-0.25"),
            (3.0, "3"),
            (1.0 / 3.0, "0.3333333333333333"),
            (1e20, "1e+20"),
            (5e18, "5e+18"),
            (4.5e18, "4500000000000000000"),
            (1e21, "1e+21"),
            (1.5e300, "1.5e+300"),
            (1e-7, "1e-7"),
            (-281.8177514305589, "-281.81775143055893"),
            (4611686018427387904.0, "4611686018427387904"),
            (4611686018427388928.0, "4611686018427389000"),
            (-4611686018427387904.0, "-4611686018427387904"),
            (1.5e-5, "0.000015"),
            (123456.789, "123456.789"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
            (-0.0, "-0"),
        ];
        for (v, want) in cases {
            assert_eq!(fmt_double(v), want, "{v:e}");
        }
    }

    #[test]
    fn fpconv_has_no_integer_shortcut() {
        assert_eq!(fpconv_dtoa(1e10), "1e+10");
        assert_eq!(fpconv_dtoa(3.0), "3");
        assert_eq!(fpconv_dtoa(123456789.0), "123456789");
        assert_eq!(fpconv_dtoa(0.25), "0.25");
    }

    #[test]
    fn percentile_forms() {
        for (v, want) in [
            (50.0, "50"),
            (99.9, "99.9"),
            (12.3456789, "12.345679"),
            (0.0078125, "0.007812"),
            (1e-7, "0"),
            (-0.0, "-0"),
            (99.9999995, "100"),
            (100.0, "100"),
        ] {
            assert_eq!(fmt_fixed6_trimmed(v), want, "{v:e}");
        }
    }

    #[test]
    fn strtod_acceptance() {
        assert_eq!(parse_double(b"1.5"), Some(1.5));
        assert_eq!(parse_double(b"-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_double(b"+Infinity"), Some(f64::INFINITY));
        assert_eq!(parse_double(b"1e5"), Some(1e5));
        assert_eq!(parse_double(b".5"), Some(0.5));
        assert_eq!(parse_double(b"0x10"), Some(16.0));
        for bad in [
            &b""[..],
            b" 1",
            b"1 ",
            b"nan",
            b"abc",
            b"1e400",
            b"1e-400",
            b"1.2.3",
        ] {
            assert_eq!(
                parse_double(bad),
                None,
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        assert_eq!(parse_double(b"0e5"), Some(0.0));
    }
}
