//! Helpers shared by the collection families (hashes, sets; usable by sorted sets):
//! the cursor and options of HSCAN/SSCAN/ZSCAN, the shape of their reply, and the random
//! sampling that HRANDFIELD/SRANDMEMBER/SPOP need.

use bytes::Bytes;
use resp::Reply;
use types::glob::glob_match;
use types::rand::Rng;

use crate::args::{self, is};
use crate::errors::{self, err};

/// Which command is scanning one value: decides which of NOVALUES/NOSCORES is allowed.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ScanOf {
    Hash,
    Set,
    ZSet,
}

/// Options of a SCAN over one value (`scanGenericCommand` with an object).
#[derive(Debug)]
pub struct ScanOpts {
    /// COUNT, at least 1 (default 10).
    pub count: usize,
    /// MATCH pattern; `None` also when the pattern is exactly `*`.
    pub pattern: Option<Bytes>,
    /// NOVALUES (HSCAN) or NOSCORES (ZSCAN): reply with the fields/members only.
    pub only_keys: bool,
}

impl ScanOpts {
    /// True if `element` passes the MATCH filter.
    pub fn matches(&self, element: &[u8]) -> bool {
        self.pattern
            .as_ref()
            .is_none_or(|p| glob_match(p, element, false))
    }
}

/// Parses a SCAN cursor as Valkey 8 does (`string2ull`): a canonical non-negative integer, or
/// else whatever C `strtoull` accepts in full (leading blanks, a sign, any unsigned 64-bit
/// value; `strtoull` negates a `-` value modulo 2^64). Error: "invalid cursor".
pub fn parse_cursor(arg: &[u8]) -> Result<u64, Reply> {
    // The C code sees a NUL-terminated string.
    let s = arg.split(|&c| c == 0).next().unwrap_or(b"");
    if let Some(v) = resp::request::parse_i64(s) {
        return u64::try_from(v).map_err(|_| err(errors::INVALID_CURSOR));
    }
    strtoull(s).ok_or_else(|| err(errors::INVALID_CURSOR))
}

/// C `strtoull(s, &end, 10)` that must consume all of `s`, without ERANGE.
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

/// Parses the options after `key cursor` (from `a[3]`), with Valkey 8's errors.
pub fn parse_scan_opts(a: &[Bytes], of: ScanOf) -> Result<ScanOpts, Reply> {
    let mut opts = ScanOpts {
        count: 10,
        pattern: None,
        only_keys: false,
    };
    let mut i = 3;
    while i < a.len() {
        let more = i + 1 < a.len();
        if is(&a[i], "count") && more {
            let count = args::int(&a[i + 1])?;
            if count < 1 {
                return Err(err(errors::SYNTAX));
            }
            // The table walk is bounded by the table itself; keep `count * 10` in range.
            opts.count = usize::try_from(count).unwrap_or(usize::MAX).min(1 << 40);
            i += 2;
        } else if is(&a[i], "match") && more {
            let p = &a[i + 1];
            opts.pattern = (&p[..] != b"*").then(|| p.clone());
            i += 2;
        } else if is(&a[i], "novalues") {
            if of != ScanOf::Hash {
                return Err(err(errors::NOVALUES_HSCAN_ONLY));
            }
            opts.only_keys = true;
            i += 1;
        } else if is(&a[i], "noscores") {
            if of != ScanOf::ZSet {
                return Err(err(errors::NOSCORES_ZSCAN_ONLY));
            }
            opts.only_keys = true;
            i += 1;
        } else {
            return Err(err(errors::SYNTAX));
        }
    }
    Ok(opts)
}

/// `[cursor, [elements...]]`.
pub fn scan_reply(cursor: u64, items: Vec<Reply>) -> Reply {
    Reply::Array(vec![
        Reply::Bulk(Bytes::from(cursor.to_string())),
        Reply::Array(items),
    ])
}

/// The reply for a missing key (`shared.emptyscan`).
pub fn empty_scan() -> Reply {
    scan_reply(0, Vec::new())
}

/// `k` distinct indices out of `0..n`, in increasing order (selection sampling: one pass,
/// each k-subset equally likely). `k` is clamped to `n`.
pub fn sample_indices(rng: &mut Rng, n: usize, k: usize) -> Vec<usize> {
    let k = k.min(n);
    let mut out = Vec::with_capacity(k);
    for i in 0..n {
        if out.len() == k {
            break;
        }
        let left = (n - i) as u64;
        let need = (k - out.len()) as u64;
        if rng.below(left) < need {
            out.push(i);
        }
    }
    out
}

/// A count argument in `-i64::MAX..=i64::MAX` (`getRangeLongFromObjectOrReply`), as
/// SRANDMEMBER and HRANDFIELD take it.
pub fn random_count(arg: &[u8]) -> Result<i64, Reply> {
    match args::int(arg)? {
        i64::MIN => Err(errors::range_error(-i64::MAX, i64::MAX)),
        v => Ok(v),
    }
}

/// Bytes of a reply being built against [`crate::ctx::Ctx::reply_budget`].
pub struct ReplyBudget {
    left: u64,
    /// The budget ran out: the reply is incomplete.
    pub cut: bool,
}

impl ReplyBudget {
    pub fn new(bytes: u64) -> ReplyBudget {
        ReplyBudget {
            left: bytes,
            cut: false,
        }
    }

    /// Counts one bulk string of `len` bytes (`$<len>\r\n...\r\n`, about `len + 16`);
    /// false once the budget is spent.
    pub fn spend(&mut self, len: usize) -> bool {
        let cost = len as u64 + 16;
        if self.left < cost {
            self.cut = true;
            return false;
        }
        self.left -= cost;
        true
    }
}

/// Initial capacity for a reply of `n` elements chosen by the client: never trust `n`.
pub fn capped(n: u64) -> usize {
    n.min(1024) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_follows_string2ull() {
        assert_eq!(parse_cursor(b"0"), Ok(0));
        assert_eq!(parse_cursor(b"18446744073709551615"), Ok(u64::MAX));
        assert!(parse_cursor(b"18446744073709551616").is_err());
        assert!(parse_cursor(b"-1").is_err());
        assert_eq!(parse_cursor(b" -1"), Ok(u64::MAX));
        assert_eq!(parse_cursor(b"+7"), Ok(7));
        assert_eq!(parse_cursor(b"007"), Ok(7));
        assert!(parse_cursor(b"").is_err());
        assert!(parse_cursor(b" ").is_err());
        assert!(parse_cursor(b"1x").is_err());
        assert_eq!(parse_cursor(b"12\0zz"), Ok(12));
    }

    #[test]
    fn sampling_is_sorted_distinct_and_complete() {
        let mut rng = Rng::new(7);
        for (n, k) in [(10, 3), (5, 5), (5, 9), (100, 0)] {
            let s = sample_indices(&mut rng, n, k);
            assert_eq!(s.len(), k.min(n));
            assert!(s.windows(2).all(|w| w[0] < w[1]));
            assert!(s.iter().all(|&i| i < n));
        }
    }
}
