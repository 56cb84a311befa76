//! Sorted-set commands (ZADD, ZRANGE, ZUNIONSTORE, BZPOPMIN, ...), split by subtopic:
//!
//! - [`add`]: adding, removing and reading single members (ZADD, ZINCRBY, ZREM, ZSCORE, ZRANK...).
//! - [`ranges`]: everything addressed by a rank, score or lexicographic range (ZRANGE and its
//!   deprecated variants, ZRANGESTORE, ZCOUNT, ZREMRANGEBY*).
//! - [`setops`]: ZUNION/ZINTER/ZDIFF, their STORE forms and ZINTERCARD.
//! - [`pops`]: ZPOPMIN/ZPOPMAX, ZMPOP and the blocking forms.
//! - [`random`]: ZRANDMEMBER and ZSCAN.
//!
//! This file holds the table rows and what the subtopics share: type-checked lookups, range
//! bound parsing (with Redis's `strtod` leniency) and the reply shapes that differ between
//! RESP2 (flat member/score lists) and RESP3 (nested `[member, score]` pairs).

pub mod add;
pub mod pops;
pub mod random;
pub mod ranges;
pub mod setops;

use bytes::Bytes;
use keyspace::{Boxed, Kind, NewValue, Obj, ValueRef};
use resp::Reply;
use types::zset::{LexBound, ScoreBound, ZSet};

use crate::ctx::Ctx;
use crate::errors::{self, err};
use crate::notify;
use crate::row;
use crate::spec::{acl, flags as f, CommandSpec, Handler, Keys};

const RO: &[&str] = &["RO"];
const RO_ACCESS: &[&str] = &["RO", "ACCESS"];
const RW_UPDATE: &[&str] = &["RW", "UPDATE"];
const RW_ACCESS_UPDATE: &[&str] = &["RW", "ACCESS", "UPDATE"];
const RW_DELETE: &[&str] = &["RW", "DELETE"];
const RW_ACCESS_DELETE: &[&str] = &["RW", "ACCESS", "DELETE"];
const OW_UPDATE: &[&str] = &["OW", "UPDATE"];

/// Keys of `<cmd> numkeys key...` (ZUNION, ZINTER, ZDIFF, ZINTERCARD, ZMPOP).
fn numkeys_at_1(a: &[Bytes]) -> Vec<usize> {
    numkeys_keys(a, 1)
}

/// Keys of `BZMPOP timeout numkeys key...`.
fn numkeys_at_2(a: &[Bytes]) -> Vec<usize> {
    numkeys_keys(a, 2)
}

/// Keys of `Z*STORE destination numkeys key...`: the destination, then the inputs.
fn store_keys(a: &[Bytes]) -> Vec<usize> {
    let mut keys = vec![1];
    keys.extend(numkeys_keys(a, 2));
    keys
}

/// The `numkeys` keys following the count at `idx` (none if the count is not a usable number).
fn numkeys_keys(a: &[Bytes], idx: usize) -> Vec<usize> {
    let n = a
        .get(idx)
        .and_then(|n| resp::request::parse_i64(n))
        .unwrap_or(0);
    let avail = a.len().saturating_sub(idx + 1);
    let n = usize::try_from(n).unwrap_or(0).min(avail);
    (idx + 1..idx + 1 + n).collect()
}

const fn store(find: fn(&[Bytes]) -> Vec<usize>) -> Keys {
    Keys {
        first: 1,
        last: 0,
        step: 1,
        spec_flags: OW_UPDATE,
        find: Some(find),
    }
}

#[rustfmt::skip]
pub static COMMANDS: &[CommandSpec] = &[
    row!("zadd", -4, f::WRITE | f::DENYOOM | f::FAST, acl::SORTEDSET, Keys::range(1, 0, 1, RW_UPDATE), "sorted-set", "1.2.0", "Adds one or more members to a sorted set, or updates their scores. Creates the key if it doesn't exist.", Handler::Data(add::zadd)),
    row!("zincrby", 4, f::WRITE | f::DENYOOM | f::FAST, acl::SORTEDSET, Keys::range(1, 0, 1, RW_ACCESS_UPDATE), "sorted-set", "1.2.0", "Increments the score of a member in a sorted set.", Handler::Data(add::zincrby)),
    row!("zrem", -3, f::WRITE | f::FAST, acl::SORTEDSET, Keys::range(1, 0, 1, RW_DELETE), "sorted-set", "1.2.0", "Removes one or more members from a sorted set. Deletes the sorted set if all members were removed.", Handler::Data(add::zrem)),
    row!("zscore", 3, f::READONLY | f::FAST, acl::SORTEDSET, Keys::range(1, 0, 1, RO_ACCESS), "sorted-set", "1.2.0", "Returns the score of a member in a sorted set.", Handler::Data(add::zscore)),
    row!("zmscore", -3, f::READONLY | f::FAST, acl::SORTEDSET, Keys::range(1, 0, 1, RO_ACCESS), "sorted-set", "6.2.0", "Returns the score of one or more members in a sorted set.", Handler::Data(add::zmscore)),
    row!("zcard", 2, f::READONLY | f::FAST, acl::SORTEDSET, Keys::range(1, 0, 1, RO), "sorted-set", "1.2.0", "Returns the number of members in a sorted set.", Handler::Data(add::zcard)),
    row!("zrank", -3, f::READONLY | f::FAST, acl::SORTEDSET, Keys::range(1, 0, 1, RO_ACCESS), "sorted-set", "2.0.0", "Returns the index of a member in a sorted set ordered by ascending scores.", Handler::Data(add::zrank)),
    row!("zrevrank", -3, f::READONLY | f::FAST, acl::SORTEDSET, Keys::range(1, 0, 1, RO_ACCESS), "sorted-set", "2.0.0", "Returns the index of a member in a sorted set ordered by descending scores.", Handler::Data(add::zrevrank)),
    row!("zcount", 4, f::READONLY | f::FAST, acl::SORTEDSET, Keys::range(1, 0, 1, RO_ACCESS), "sorted-set", "2.0.0", "Returns the count of members in a sorted set that have scores within a range.", Handler::Data(ranges::zcount)),
    row!("zlexcount", 4, f::READONLY | f::FAST, acl::SORTEDSET, Keys::range(1, 0, 1, RO_ACCESS), "sorted-set", "2.8.9", "Returns the number of members in a sorted set within a lexicographical range.", Handler::Data(ranges::zlexcount)),
    row!("zrange", -4, f::READONLY, acl::SORTEDSET, Keys::range(1, 0, 1, RO_ACCESS), "sorted-set", "1.2.0", "Returns members in a sorted set within a range of indexes.", Handler::Data(ranges::zrange)),
    row!("zrangestore", -5, f::WRITE | f::DENYOOM, acl::SORTEDSET, Keys::range(1, 1, 1, OW_UPDATE), "sorted-set", "6.2.0", "Stores a range of members from sorted set in a key.", Handler::Data(ranges::zrangestore)),
    row!("zrevrange", -4, f::READONLY, acl::SORTEDSET, Keys::range(1, 0, 1, RO_ACCESS), "sorted-set", "1.2.0", "Returns members in a sorted set within a range of indexes in reverse order.", Handler::Data(ranges::zrevrange)),
    row!("zrangebyscore", -4, f::READONLY, acl::SORTEDSET, Keys::range(1, 0, 1, RO_ACCESS), "sorted-set", "1.0.5", "Returns members in a sorted set within a range of scores.", Handler::Data(ranges::zrangebyscore)),
    row!("zrevrangebyscore", -4, f::READONLY, acl::SORTEDSET, Keys::range(1, 0, 1, RO_ACCESS), "sorted-set", "2.2.0", "Returns members in a sorted set within a range of scores in reverse order.", Handler::Data(ranges::zrevrangebyscore)),
    row!("zrangebylex", -4, f::READONLY, acl::SORTEDSET, Keys::range(1, 0, 1, RO_ACCESS), "sorted-set", "2.8.9", "Returns members in a sorted set within a lexicographical range.", Handler::Data(ranges::zrangebylex)),
    row!("zrevrangebylex", -4, f::READONLY, acl::SORTEDSET, Keys::range(1, 0, 1, RO_ACCESS), "sorted-set", "2.8.9", "Returns members in a sorted set within a lexicographical range in reverse order.", Handler::Data(ranges::zrevrangebylex)),
    row!("zremrangebyscore", 4, f::WRITE, acl::SORTEDSET, Keys::range(1, 0, 1, RW_DELETE), "sorted-set", "1.2.0", "Removes members in a sorted set within a range of scores. Deletes the sorted set if all members were removed.", Handler::Data(ranges::zremrangebyscore)),
    row!("zremrangebyrank", 4, f::WRITE, acl::SORTEDSET, Keys::range(1, 0, 1, RW_DELETE), "sorted-set", "2.0.0", "Removes members in a sorted set within a range of indexes. Deletes the sorted set if all members were removed.", Handler::Data(ranges::zremrangebyrank)),
    row!("zremrangebylex", 4, f::WRITE, acl::SORTEDSET, Keys::range(1, 0, 1, RW_DELETE), "sorted-set", "2.8.9", "Removes members in a sorted set within a lexicographical range. Deletes the sorted set if all members were removed.", Handler::Data(ranges::zremrangebylex)),
    row!("zpopmin", -2, f::WRITE | f::FAST, acl::SORTEDSET, Keys::range(1, 0, 1, RW_ACCESS_DELETE), "sorted-set", "5.0.0", "Returns the lowest-scoring members from a sorted set after removing them. Deletes the sorted set if the last member was popped.", Handler::Data(pops::zpopmin)),
    row!("zpopmax", -2, f::WRITE | f::FAST, acl::SORTEDSET, Keys::range(1, 0, 1, RW_ACCESS_DELETE), "sorted-set", "5.0.0", "Returns the highest-scoring members from a sorted set after removing them. Deletes the sorted set if the last member was popped.", Handler::Data(pops::zpopmax)),
    row!("bzpopmin", -3, f::WRITE | f::FAST | f::BLOCKING, acl::SORTEDSET, Keys::range(1, -2, 1, RW_ACCESS_DELETE), "sorted-set", "5.0.0", "Removes and returns the member with the lowest score from one or more sorted sets. Blocks until a member is available otherwise. Deletes the sorted set if the last element was popped.", Handler::Data(pops::bzpopmin)),
    row!("bzpopmax", -3, f::WRITE | f::FAST | f::BLOCKING, acl::SORTEDSET, Keys::range(1, -2, 1, RW_ACCESS_DELETE), "sorted-set", "5.0.0", "Removes and returns the member with the highest score from one or more sorted sets. Blocks until a member available otherwise.  Deletes the sorted set if the last element was popped.", Handler::Data(pops::bzpopmax)),
    row!("zmpop", -4, f::WRITE, acl::SORTEDSET, Keys::movable(numkeys_at_1, RW_ACCESS_DELETE), "sorted-set", "7.0.0", "Returns the highest- or lowest-scoring members from one or more sorted sets after removing them. Deletes the sorted set if the last member was popped.", Handler::Data(pops::zmpop)),
    row!("bzmpop", -5, f::WRITE | f::BLOCKING, acl::SORTEDSET, Keys::movable(numkeys_at_2, RW_ACCESS_DELETE), "sorted-set", "7.0.0", "Removes and returns a member by score from one or more sorted sets. Blocks until a member is available otherwise. Deletes the sorted set if the last element was popped.", Handler::Data(pops::bzmpop)),
    row!("zunion", -3, f::READONLY, acl::SORTEDSET, Keys::movable(numkeys_at_1, RO_ACCESS), "sorted-set", "6.2.0", "Returns the union of multiple sorted sets.", Handler::Data(setops::zunion)),
    row!("zinter", -3, f::READONLY, acl::SORTEDSET, Keys::movable(numkeys_at_1, RO_ACCESS), "sorted-set", "6.2.0", "Returns the intersect of multiple sorted sets.", Handler::Data(setops::zinter)),
    row!("zdiff", -3, f::READONLY, acl::SORTEDSET, Keys::movable(numkeys_at_1, RO_ACCESS), "sorted-set", "6.2.0", "Returns the difference between multiple sorted sets.", Handler::Data(setops::zdiff)),
    row!("zunionstore", -4, f::WRITE | f::DENYOOM, acl::SORTEDSET, store(store_keys), "sorted-set", "2.0.0", "Stores the union of multiple sorted sets in a key.", Handler::Data(setops::zunionstore)),
    row!("zinterstore", -4, f::WRITE | f::DENYOOM, acl::SORTEDSET, store(store_keys), "sorted-set", "2.0.0", "Stores the intersect of multiple sorted sets in a key.", Handler::Data(setops::zinterstore)),
    row!("zdiffstore", -4, f::WRITE | f::DENYOOM, acl::SORTEDSET, store(store_keys), "sorted-set", "6.2.0", "Stores the difference of multiple sorted sets in a key.", Handler::Data(setops::zdiffstore)),
    row!("zintercard", -3, f::READONLY, acl::SORTEDSET, Keys::movable(numkeys_at_1, RO_ACCESS), "sorted-set", "7.0.0", "Returns the number of members of the intersect of multiple sorted sets.", Handler::Data(setops::zintercard)),
    row!("zrandmember", -2, f::READONLY, acl::SORTEDSET, Keys::range(1, 0, 1, RO_ACCESS), "sorted-set", "6.2.0", "Returns one or more random members from a sorted set.", Handler::Data(random::zrandmember)),
    row!("zscan", -3, f::READONLY, acl::SORTEDSET, Keys::range(1, 0, 1, RO_ACCESS), "sorted-set", "2.8.0", "Iterates over members and scores of a sorted set.", Handler::Data(random::zscan)),
];

/// The sorted set at `key` for a read (`lookupKeyRead`: hit/miss stats, LRU): `Ok(None)` if
/// missing, WRONGTYPE for other types.
pub(crate) fn read<'k>(ctx: &'k mut Ctx, key: &[u8]) -> Result<Option<&'k ZSet>, Reply> {
    let obj = ctx.ks.read(ctx.db, key);
    as_zset(obj)
}

/// The sorted set at `key` before a write (`lookupKeyWrite`: no stats, no change recorded yet).
pub(crate) fn lookup_write<'k>(ctx: &'k mut Ctx, key: &[u8]) -> Result<Option<&'k ZSet>, Reply> {
    let obj = ctx.ks.get(ctx.db, key);
    as_zset(obj)
}

fn as_zset(obj: Option<&Obj>) -> Result<Option<&ZSet>, Reply> {
    match obj.map(Obj::value) {
        None => Ok(None),
        Some(ValueRef::ZSet(z)) => Ok(Some(z)),
        Some(_) => Err(err(errors::WRONGTYPE)),
    }
}

/// Mutable access to a sorted set the caller has already type-checked; records the key as
/// modified (WATCH, blocked clients), so call it only when something will change.
pub(crate) fn zset_mut<'k>(ctx: &'k mut Ctx, key: &[u8]) -> Option<&'k mut ZSet> {
    match ctx.ks.get_mut(ctx.db, key)?.boxed_mut()? {
        Boxed::ZSet(z) => Some(z),
        _ => None,
    }
}

/// After members were removed from the sorted set at `key`: raises `event`, then deletes the
/// key if the set became empty (no empty collection stays in the keyspace), raising `del`.
/// Returns true if it deleted.
pub(crate) fn removed(ctx: &mut Ctx, key: &[u8], event: &'static str) -> bool {
    let empty = matches!(
        ctx.ks.db(ctx.db).get(key).map(Obj::value),
        Some(ValueRef::ZSet(z)) if z.is_empty()
    );
    ctx.notify(notify::ZSET, event, key);
    if empty {
        ctx.ks.remove(ctx.db, key);
        ctx.notify(notify::GENERIC, "del", key);
    }
    empty
}

/// Stores a computed sorted set under `dst` (Redis's `setKey`: looks `dst` up, then replaces
/// any value and its TTL), raising `event`, or deletes `dst` if the result is empty (Redis's
/// `dbDelete`: even a value that has expired), raising `del`. Counts the change in `dirty`
/// and returns the stored cardinality.
pub(crate) fn store_result(ctx: &mut Ctx, dst: &[u8], z: ZSet, event: &'static str) -> usize {
    let len = z.len();
    let old = if len > 0 {
        ctx.dirty += 1;
        ctx.ks.get(ctx.db, dst);
        let old = ctx.store(Obj::new(dst, NewValue::Boxed(Boxed::ZSet(z)), None));
        ctx.notify(notify::ZSET, event, dst);
        old
    } else {
        let old = ctx.ks.remove_stored(ctx.db, dst);
        if old.is_some() {
            ctx.notify(notify::GENERIC, "del", dst);
            ctx.dirty += 1;
        }
        old
    };
    if let Some(old) = old {
        if ctx.settings.lazyfree_lazy_server_del {
            keyspace::lazyfree::free(old);
        }
    }
    len
}

/// True if `key` holds a sorted set (for blocked clients deciding whether to retry).
pub(crate) fn holds_zset(ctx: &mut Ctx, key: &[u8]) -> bool {
    ctx.ks.peek(ctx.db, key).map(Obj::kind) == Some(Kind::ZSet)
}

/// Members with optional scores, in the shape Redis uses for ZRANGE-like replies: RESP2 a flat
/// `[member, score, ...]` array, RESP3 an array of `[member, score]` pairs (not a map: the
/// order matters).
pub(crate) fn members_reply<'a>(
    resp3: bool,
    items: impl ExactSizeIterator<Item = (&'a [u8], f64)>,
    withscores: bool,
) -> Reply {
    let mut out = Vec::with_capacity(if withscores && !resp3 {
        items.len() * 2
    } else {
        items.len()
    });
    for (m, s) in items {
        if !withscores {
            out.push(Reply::bulk(m));
        } else if resp3 {
            out.push(Reply::Array(vec![Reply::bulk(m), Reply::Double(s)]));
        } else {
            out.push(Reply::bulk(m));
            out.push(Reply::Double(s));
        }
    }
    Reply::Array(out)
}

/// `[member, score]` pairs nested in both protocols (ZMPOP, BZMPOP, RESP3 ZPOPMIN with count).
pub(crate) fn nested_pairs(items: &[(Vec<u8>, f64)]) -> Reply {
    Reply::Array(
        items
            .iter()
            .map(|(m, s)| Reply::Array(vec![Reply::bulk(m), Reply::Double(*s)]))
            .collect(),
    )
}

/// C `isspace`.
fn is_c_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// A score range bound value as Redis reads it: with bare `strtod`, which (unlike score
/// arguments of ZADD) skips leading blanks, reads out-of-range values as ±inf or 0, and reads
/// the empty string as 0. NaN and trailing characters are rejected.
fn strtod_bound(s: &[u8]) -> Option<f64> {
    if s.is_empty() {
        return Some(0.0);
    }
    let start = s.iter().position(|c| !is_c_space(*c))?;
    let body = &s[start..];
    if let Some(v) = resp::float::parse_double(body) {
        return Some(v);
    }
    // parse_double refuses overflow and underflow; strtod returns ±HUGE_VAL or 0.
    let text = std::str::from_utf8(body).ok()?;
    let unsigned = text.strip_prefix(['+', '-']).unwrap_or(text);
    let decimal = unsigned.bytes().any(|c| c.is_ascii_digit())
        && unsigned
            .bytes()
            .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'+' | b'-'));
    if !decimal {
        return None;
    }
    text.parse::<f64>().ok().filter(|v| !v.is_nan())
}

fn parse_score_bound(arg: &[u8]) -> Option<ScoreBound> {
    match arg.split_first() {
        Some((b'(', rest)) => strtod_bound(rest).map(|value| ScoreBound {
            value,
            exclusive: true,
        }),
        _ => strtod_bound(arg).map(|value| ScoreBound {
            value,
            exclusive: false,
        }),
    }
}

/// `min max` of ZRANGEBYSCORE and friends; error "min or max is not a float".
pub(crate) fn parse_score_range(min: &[u8], max: &[u8]) -> Result<(ScoreBound, ScoreBound), Reply> {
    match (parse_score_bound(min), parse_score_bound(max)) {
        (Some(a), Some(b)) => Ok((a, b)),
        _ => Err(err(errors::MIN_MAX_FLOAT)),
    }
}

fn parse_lex_bound(arg: &[u8]) -> Option<LexBound> {
    match arg {
        b"+" => Some(LexBound::PosInf),
        b"-" => Some(LexBound::NegInf),
        [b'(', rest @ ..] => Some(LexBound::Exclusive(rest.to_vec())),
        [b'[', rest @ ..] => Some(LexBound::Inclusive(rest.to_vec())),
        _ => None,
    }
}

/// `min max` of ZRANGEBYLEX and friends; error "min or max not valid string range item".
pub(crate) fn parse_lex_range(min: &[u8], max: &[u8]) -> Result<(LexBound, LexBound), Reply> {
    match (parse_lex_bound(min), parse_lex_bound(max)) {
        (Some(a), Some(b)) => Ok((a, b)),
        _ => Err(err(errors::MIN_MAX_LEX)),
    }
}

/// Redis's start/stop index rules (negative from the end, clamped) as a half-open ascending
/// rank interval; `None` when empty.
pub(crate) fn rank_interval(start: i64, stop: i64, len: usize) -> Option<(usize, usize)> {
    let len = len as i64;
    let start = if start < 0 {
        (len + start).max(0)
    } else {
        start
    };
    let stop = if stop < 0 { len + stop } else { stop };
    if start > stop || start >= len {
        return None;
    }
    Some((start as usize, (stop.min(len - 1) + 1) as usize))
}

/// A long argument in `[min, max]`, with Redis's `getRangeLongFromObjectOrReply` errors:
/// `msg` for both a non-integer and an out-of-range value when given, otherwise "not an
/// integer" and "value is out of range, value must between <min> and <max>".
pub(crate) fn range_long(
    arg: &[u8],
    min: i64,
    max: i64,
    msg: Option<&'static str>,
) -> Result<i64, Reply> {
    let Some(v) = resp::request::parse_i64(arg) else {
        return Err(err(msg.unwrap_or(errors::NOT_INT)));
    };
    if v < min || v > max {
        return Err(match msg {
            Some(m) => err(m),
            None => errors::range_error(min, max),
        });
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_follow_strtod() {
        assert_eq!(strtod_bound(b""), Some(0.0));
        assert_eq!(strtod_bound(b" 1"), Some(1.0));
        assert_eq!(strtod_bound(b"1e400"), Some(f64::INFINITY));
        assert_eq!(strtod_bound(b"-1e400"), Some(f64::NEG_INFINITY));
        assert_eq!(strtod_bound(b"1e-400"), Some(0.0));
        assert_eq!(strtod_bound(b"0x10"), Some(16.0));
        assert_eq!(strtod_bound(b"+inf"), Some(f64::INFINITY));
        for bad in [&b"nan"[..], b"1 ", b"  ", b"abc", b"1e", b".", b"-"] {
            assert_eq!(
                strtod_bound(bad),
                None,
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        let b = parse_score_bound(b"(").unwrap();
        assert!(b.exclusive && b.value == 0.0);
    }

    #[test]
    fn rank_intervals() {
        assert_eq!(rank_interval(0, -1, 3), Some((0, 3)));
        assert_eq!(rank_interval(-100, 100, 3), Some((0, 3)));
        assert_eq!(rank_interval(2, 1, 3), None);
        assert_eq!(rank_interval(3, 5, 3), None);
        assert_eq!(rank_interval(0, -4, 3), None);
        assert_eq!(rank_interval(i64::MIN, i64::MAX, 3), Some((0, 3)));
        assert_eq!(rank_interval(0, 0, 0), None);
    }

    #[test]
    fn numkeys_key_positions() {
        let a: Vec<Bytes> = ["zunionstore", "d", "2", "a", "b", "WEIGHTS"]
            .iter()
            .map(|s| Bytes::copy_from_slice(s.as_bytes()))
            .collect();
        assert_eq!(store_keys(&a), vec![1, 3, 4]);
        assert_eq!(numkeys_at_1(&a[1..]), vec![2, 3]);
        let huge: Vec<Bytes> = ["zunion", "9223372036854775807", "a"]
            .iter()
            .map(|s| Bytes::copy_from_slice(s.as_bytes()))
            .collect();
        assert_eq!(numkeys_at_1(&huge), vec![2]);
    }
}
