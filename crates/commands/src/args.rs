//! Argument parsing with Redis's rules and error replies.

use bytes::Bytes;
use resp::Reply;

use crate::errors;

pub type ArgResult<T> = Result<T, Reply>;

/// `string2ll` strictness; error: "value is not an integer or out of range".
pub fn int(arg: &[u8]) -> ArgResult<i64> {
    resp::request::parse_i64(arg).ok_or_else(|| errors::err(errors::NOT_INT))
}

/// Integer with a custom error text.
pub fn int_or(arg: &[u8], msg: &'static str) -> ArgResult<i64> {
    resp::request::parse_i64(arg).ok_or_else(|| errors::err(msg))
}

/// Non-negative integer ("value is out of range, must be positive").
pub fn positive(arg: &[u8]) -> ArgResult<i64> {
    let v = int(arg)?;
    if v < 0 {
        return Err(errors::err(errors::POSITIVE));
    }
    Ok(v)
}

/// `strtod` strictness; error: "value is not a valid float".
pub fn float(arg: &[u8]) -> ArgResult<f64> {
    resp::float::parse_double(arg).ok_or_else(|| errors::err(errors::NOT_FLOAT))
}

/// Case-insensitive keyword comparison.
pub fn is(arg: &[u8], kw: &str) -> bool {
    arg.eq_ignore_ascii_case(kw.as_bytes())
}

/// Keyword comparison as C's `strcasecmp` makes it: the argument is read up to its first NUL
/// byte (`GET\0x` matches `get`).
pub fn c_is(arg: &[u8], kw: &str) -> bool {
    let end = arg.iter().position(|&b| b == 0).unwrap_or(arg.len());
    arg[..end].eq_ignore_ascii_case(kw.as_bytes())
}

/// Blocking-command timeout in seconds (fractions allowed) → absolute deadline in ms
/// (`None` = forever), with Redis's errors.
pub fn timeout(arg: &[u8], now_ms: i64) -> ArgResult<Option<i64>> {
    let secs = timeout_seconds(arg).ok_or_else(|| errors::err(errors::TIMEOUT_NOT_FLOAT))?;
    // Valkey 8 (`getTimeoutFromObjectOrReply`): past LLONG_MAX milliseconds (1e400, inf,
    // 0x7FFFFFFFFFFFFF seconds) is out of range, then a negative value is refused. (Redis 7.0
    // cast first and answered "timeout is negative" for those.)
    let ms = (secs * 1000.0).ceil();
    if ms >= i64::MAX as f64 {
        return Err(errors::err(errors::TIMEOUT_RANGE));
    }
    if ms < 0.0 || !ms.is_finite() {
        return Err(errors::err(errors::TIMEOUT_NEGATIVE));
    }
    if ms > (i64::MAX / 2) as f64 {
        return Err(errors::err(errors::TIMEOUT_RANGE));
    }
    if ms == 0.0 {
        return Ok(None);
    }
    now_ms
        .checked_add(ms as i64)
        .map(Some)
        .ok_or_else(|| errors::err(errors::TIMEOUT_RANGE))
}

/// A timeout in milliseconds (WAIT, CLIENT PAUSE) → absolute deadline in ms (`None` = no
/// timeout), with Redis's errors.
pub fn timeout_ms(arg: &[u8], now_ms: i64) -> ArgResult<Option<i64>> {
    let ms = int_or(arg, "ERR timeout is not an integer or out of range")?;
    if ms < 0 {
        return Err(errors::err(errors::TIMEOUT_NEGATIVE));
    }
    if ms == 0 {
        return Ok(None);
    }
    now_ms
        .checked_add(ms)
        .map(Some)
        .ok_or_else(|| errors::err(errors::TIMEOUT_RANGE))
}

/// A timeout in seconds as `strtold` reads it (so overflow gives infinity, not an error).
fn timeout_seconds(arg: &[u8]) -> Option<f64> {
    if let Some(v) = resp::float::parse_double(arg) {
        return Some(v);
    }
    let text = std::str::from_utf8(arg).ok()?;
    if text.is_empty() || text.starts_with(|c: char| c.is_ascii_whitespace()) {
        return None;
    }
    let v: f64 = text.parse().ok()?;
    (!v.is_nan()).then_some(v)
}

/// Lower-case text of an argument, for matching subcommands.
pub fn lower(arg: &Bytes) -> String {
    String::from_utf8_lossy(arg).to_ascii_lowercase()
}
