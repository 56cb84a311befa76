//! ZRANDMEMBER and ZSCAN.

use std::collections::HashMap;

use bytes::Bytes;
use resp::Reply;
use types::rand::Rng;
use types::zset::ZSet;

use super::{members_reply, range_long, read};
use crate::args::is;
use crate::ctx::Ctx;
use crate::errors::{self, err};

/// Largest reply ZRANDMEMBER builds for a negative count (members may repeat, so the set size
/// does not bound it). Redis streams such replies; we build them in memory, so beyond this
/// we answer "value is out of range" instead of exhausting memory.
const MAX_RANDOM_REPLY: u64 = 1 << 22;

/// `count` distinct indices in `0..size` (count <= size), uniformly, by a partial
/// Fisher-Yates shuffle that only remembers the positions it swapped.
fn sample_distinct(rng: &mut Rng, size: usize, count: usize) -> Vec<usize> {
    let mut swapped: HashMap<usize, usize> = HashMap::with_capacity(count);
    let mut out = Vec::with_capacity(count);
    for i in 0..count {
        let j = i + rng.below((size - i) as u64) as usize;
        let at_j = swapped.get(&j).copied().unwrap_or(j);
        let at_i = swapped.get(&i).copied().unwrap_or(i);
        swapped.insert(j, at_i);
        out.push(at_j);
    }
    out
}

/// The ranks a ZRANDMEMBER with a count returns, in reply order. A negative count allows
/// repetitions; a positive one returns distinct members: the whole set (in order) when it
/// asks for at least that many (highest first), otherwise a random sample (in set order for
/// a listpack, as Redis's `lpRandomPairsUnique`, in random order otherwise).
fn random_ranks(z: &ZSet, rng: &mut Rng, count: i64) -> Vec<usize> {
    let size = z.len();
    let n = count.unsigned_abs() as usize;
    if count < 0 || n == 1 {
        return (0..n).map(|_| rng.below(size as u64) as usize).collect();
    }
    if n >= size {
        // Redis walks sorted sets from the top here (`zuiInitIterator`).
        return (0..size).rev().collect();
    }
    let mut ranks = sample_distinct(rng, size, n);
    if z.encoding() == "listpack" {
        ranks.sort_unstable();
    }
    ranks
}

fn zrandmember_count(ctx: &mut Ctx, key: &[u8], count: i64, withscores: bool) -> Reply {
    if count < 0 && count.unsigned_abs() > MAX_RANDOM_REPLY {
        return err(errors::OUT_OF_RANGE);
    }
    let resp3 = ctx.resp3();
    let mut rng = ctx.ks.rng.clone();
    // Repeated members (a negative count) stop at the client's output limit.
    let mut budget = crate::coll::ReplyBudget::new(if count < 0 {
        ctx.reply_budget
    } else {
        u64::MAX
    });
    let reply = match read(ctx, key) {
        Err(e) => e,
        Ok(None) => Reply::Array(Vec::new()),
        Ok(Some(_)) if count == 0 => Reply::Array(Vec::new()),
        Ok(Some(z)) => {
            let ranks = random_ranks(z, &mut rng, count);
            // Every rank is below the set's length, so `get` always finds an element.
            let extra = if withscores { 24 } else { 0 };
            let items: Vec<(&[u8], f64)> = ranks
                .iter()
                .map(|&r| z.get(r).unwrap_or((&[], 0.0)))
                .take_while(|(m, _)| budget.spend(m.len() + extra))
                .collect();
            members_reply(resp3, items.into_iter(), withscores)
        }
    };
    ctx.reply_cut |= budget.cut;
    ctx.ks.rng = rng;
    reply
}

/// ZRANDMEMBER key [count [WITHSCORES]]
pub fn zrandmember(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    if let Some(c) = a.get(2) {
        let count = match range_long(c, -i64::MAX, i64::MAX, None) {
            Ok(c) => c,
            Err(e) => return e,
        };
        let withscores = match a.get(3) {
            None => false,
            Some(w) if a.len() == 4 && is(w, "withscores") => true,
            Some(_) => return err(errors::SYNTAX),
        };
        if withscores && !(-i64::MAX / 2..=i64::MAX / 2).contains(&count) {
            return err(errors::OUT_OF_RANGE);
        }
        return zrandmember_count(ctx, &a[1], count, withscores);
    }
    let mut rng = ctx.ks.rng.clone();
    let reply = match read(ctx, &a[1]) {
        Err(e) => e,
        Ok(None) => Reply::Nil,
        Ok(Some(z)) => z
            .random(&mut rng)
            .map_or(Reply::Nil, |(m, _)| Reply::bulk(m)),
    };
    ctx.ks.rng = rng;
    reply
}

/// A SCAN cursor as Redis reads it (`string2ull`): a non-negative integer, or what `strtoull`
/// accepts for values beyond `i64` (leading blanks, a sign).
fn parse_cursor(s: &[u8]) -> Option<u64> {
    if let Some(v) = resp::request::parse_i64(s) {
        return u64::try_from(v).ok();
    }
    let start = s.iter().position(|c| !matches!(c, b' ' | b'\t'..=b'\r'))?;
    let (neg, digits) = match &s[start..] {
        [b'-', rest @ ..] => (true, rest),
        [b'+', rest @ ..] => (false, rest),
        rest => (false, rest),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let v: u64 = std::str::from_utf8(digits).ok()?.parse().ok()?;
    Some(if neg { v.wrapping_neg() } else { v })
}

/// `%.17g`, the form Redis gives skiplist scores in ZSCAN (`ld2string`, `LD_STR_AUTO`).
fn fmt_g17(v: f64) -> String {
    if v.is_nan() {
        return "nan".into();
    }
    if v.is_infinite() {
        return if v < 0.0 { "-inf" } else { "inf" }.into();
    }
    if v == 0.0 {
        return if v.is_sign_negative() { "-0" } else { "0" }.into();
    }
    let sci = format!("{v:.16e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    fn trim(s: &str) -> &str {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.')
        } else {
            s
        }
    }
    if !(-4..17).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{}e{sign}{:02}", trim(mantissa), exp.abs())
    } else {
        let fixed = format!("{v:.*}", (16 - exp) as usize);
        trim(&fixed).to_string()
    }
}

/// The score text ZSCAN shows: listpacks hold `d2string` text (integers as integers, so -0
/// reads back as 0); skiplists are printed with `%.17g`.
fn scan_score(listpack: bool, s: f64) -> String {
    if !listpack {
        fmt_g17(s)
    } else if s == 0.0 {
        "0".into()
    } else {
        resp::float::fmt_double(s)
    }
}

struct ScanOpts<'a> {
    count: usize,
    pattern: Option<&'a [u8]>,
    noscores: bool,
}

fn parse_scan_opts(a: &[Bytes]) -> Result<ScanOpts<'_>, Reply> {
    let mut o = ScanOpts {
        count: 10,
        pattern: None,
        noscores: false,
    };
    let mut i = 3;
    while i < a.len() {
        let more = a.len() - i >= 2;
        if is(&a[i], "count") && more {
            let c = crate::args::int(&a[i + 1])?;
            if c < 1 {
                return Err(err(errors::SYNTAX));
            }
            // Bounded so the scan's own step arithmetic cannot overflow.
            o.count = usize::try_from(c)
                .unwrap_or(usize::MAX)
                .min(u32::MAX as usize);
            i += 2;
        } else if is(&a[i], "match") && more {
            let p = &a[i + 1][..];
            o.pattern = (p != b"*").then_some(p);
            i += 2;
        } else if is(&a[i], "novalues") {
            return Err(err(errors::NOVALUES_HSCAN_ONLY));
        } else if is(&a[i], "noscores") {
            o.noscores = true;
            i += 1;
        } else {
            return Err(err(errors::SYNTAX));
        }
    }
    Ok(o)
}

/// ZSCAN key cursor [MATCH pattern] [COUNT count] [NOSCORES]
pub fn zscan(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    let Some(cursor) = parse_cursor(&a[2]) else {
        return err(errors::INVALID_CURSOR);
    };
    let z = match read(ctx, &a[1]) {
        Err(e) => return e,
        Ok(None) => return scan_reply(0, Vec::new()),
        Ok(Some(z)) => z,
    };
    let o = match parse_scan_opts(a) {
        Ok(o) => o,
        Err(e) => return e,
    };
    let listpack = z.encoding() == "listpack";
    let mut out = Vec::new();
    let next = z.scan(cursor, o.count, |m, s| {
        if o.pattern
            .is_some_and(|p| !types::glob::glob_match(p, m, false))
        {
            return;
        }
        out.push(Reply::bulk(m));
        if !o.noscores {
            out.push(Reply::bulk(scan_score(listpack, s).as_bytes()));
        }
    });
    scan_reply(next, out)
}

fn scan_reply(cursor: u64, items: Vec<Reply>) -> Reply {
    Reply::Array(vec![
        Reply::bulk(cursor.to_string().as_bytes()),
        Reply::Array(items),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn g17_matches_printf() {
        let cases = [
            (0.1, "0.10000000000000001"),
            (1.5, "1.5"),
            (3.0, "3"),
            (-2.25, "-2.25"),
            (1e17, "1e+17"),
            (1e16, "10000000000000000"),
            (123456789.125, "123456789.125"),
            (0.0001, "0.0001"),
            (0.00001, "1.0000000000000001e-05"),
            (1.0 / 3.0, "0.33333333333333331"),
            (f64::INFINITY, "inf"),
            (1e300, "1.0000000000000001e+300"),
        ];
        for (v, want) in cases {
            assert_eq!(fmt_g17(v), want, "{v:e}");
        }
    }

    #[test]
    fn cursors_like_string2ull() {
        assert_eq!(parse_cursor(b"0"), Some(0));
        assert_eq!(parse_cursor(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_cursor(b" 5"), Some(5));
        assert_eq!(parse_cursor(b"+5"), Some(5));
        for bad in [&b"-1"[..], b"", b"abc", b"5 ", b"18446744073709551616"] {
            assert_eq!(
                parse_cursor(bad),
                None,
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn distinct_samples_are_distinct() {
        let mut rng = Rng::new(7);
        for (size, count) in [(10, 10), (1000, 3), (5, 4)] {
            let mut s = sample_distinct(&mut rng, size, count);
            s.sort_unstable();
            s.dedup();
            assert_eq!(s.len(), count);
            assert!(s.iter().all(|&r| r < size));
        }
    }
}
