//! Commands addressed by a range of ranks, scores or members: ZRANGE (BYSCORE, BYLEX, REV,
//! LIMIT, WITHSCORES), ZRANGESTORE, the deprecated ZREVRANGE/Z[REV]RANGEBYSCORE/
//! Z[REV]RANGEBYLEX, ZCOUNT, ZLEXCOUNT and ZREMRANGEBYRANK/SCORE/LEX.
//!
//! Every range becomes an ascending rank interval of the set (`ZSet::score_range`,
//! `lex_range`, or the rank arithmetic below), so all encodings share one path.

use bytes::Bytes;
use resp::Reply;
use types::zset::{LexBound, ScoreBound, ZSet};

use super::{
    lookup_write, members_reply, parse_lex_range, parse_score_range, rank_interval, read, removed,
    store_result, zset_mut,
};
use crate::args::{self, is};
use crate::ctx::Ctx;
use crate::errors::{self, err};

/// How the `min max` arguments are read.
#[derive(Clone, Copy, PartialEq, Debug)]
enum By {
    /// ZRANGE / ZRANGESTORE: decided by BYSCORE / BYLEX, ranks otherwise.
    Auto,
    Rank,
    Score,
    Lex,
}

/// A parsed range, resolved against the set by [`select`].
enum Range {
    Rank(i64, i64),
    Score(ScoreBound, ScoreBound),
    Lex(LexBound, LexBound),
}

struct RangeSpec {
    range: Range,
    rev: bool,
    withscores: bool,
    offset: i64,
    /// Negative: no limit.
    limit: i64,
}

/// Parses `<min> <max> [BYSCORE|BYLEX] [REV] [WITHSCORES] [LIMIT offset count]` starting at the
/// source key index `src`, with Redis's checks in Redis's order: options (including LIMIT's
/// integers), then conflicts, then the range itself. `by` and `rev` are fixed by the deprecated
/// commands, which then reject the corresponding keywords as syntax errors.
fn parse_range(
    a: &[Bytes],
    src: usize,
    store: bool,
    mut by: By,
    rev: Option<bool>,
) -> Result<RangeSpec, Reply> {
    let (mut dir, mut withscores) = (rev, false);
    let (mut offset, mut limit) = (0, -1);
    let mut j = src + 3;
    while j < a.len() {
        let opt = &a[j];
        let left = a.len() - j - 1;
        if !store && is(opt, "withscores") {
            withscores = true;
        } else if is(opt, "limit") && left >= 2 {
            offset = args::int(&a[j + 1])?;
            limit = args::int(&a[j + 2])?;
            j += 2;
        } else if dir.is_none() && is(opt, "rev") {
            dir = Some(true);
        } else if by == By::Auto && is(opt, "bylex") {
            by = By::Lex;
        } else if by == By::Auto && is(opt, "byscore") {
            by = By::Score;
        } else {
            return Err(err(errors::SYNTAX));
        }
        j += 1;
    }
    let reverse = dir.unwrap_or(false);
    if by == By::Auto {
        by = By::Rank;
    }
    // Redis tests the limit value, not the keyword: `LIMIT 0 -1` passes with ranks.
    if limit != -1 && by == By::Rank {
        return Err(err(errors::ZRANGE_LIMIT_RANK));
    }
    if withscores && by == By::Lex {
        return Err(err(errors::ZRANGE_WITHSCORES_BYLEX));
    }
    let (mut min, mut max) = (&a[src + 1], &a[src + 2]);
    if reverse && by != By::Rank {
        std::mem::swap(&mut min, &mut max);
    }
    let range = match by {
        By::Score => {
            let (lo, hi) = parse_score_range(min, max)?;
            Range::Score(lo, hi)
        }
        By::Lex => {
            let (lo, hi) = parse_lex_range(min, max)?;
            Range::Lex(lo, hi)
        }
        _ => Range::Rank(args::int(min)?, args::int(max)?),
    };
    Ok(RangeSpec {
        range,
        rev: reverse,
        withscores,
        offset,
        limit,
    })
}

/// The selected elements, in reply order.
fn select<'z>(z: &'z ZSet, spec: &RangeSpec) -> Vec<(&'z [u8], f64)> {
    let (start, end) = match &spec.range {
        Range::Rank(lo, hi) => {
            let Some((a, b)) = rank_interval(*lo, *hi, z.len()) else {
                return Vec::new();
            };
            // Positions counted from the top map back to ascending ranks.
            return if spec.rev {
                z.range(z.len() - b, z.len() - a, true)
            } else {
                z.range(a, b, false)
            };
        }
        Range::Score(lo, hi) => z.score_range(*lo, *hi),
        Range::Lex(lo, hi) => z.lex_range(lo, hi),
    };
    // LIMIT: a negative offset selects nothing (Redis 7.0 in both encodings; Valkey 8 does the
    // same for listpacks only).
    let Ok(offset) = usize::try_from(spec.offset) else {
        return Vec::new();
    };
    let found = end - start;
    if offset >= found {
        return Vec::new();
    }
    let avail = found - offset;
    let take = usize::try_from(spec.limit).map_or(avail, |l| l.min(avail));
    if spec.rev {
        z.range(end - offset - take, end - offset, true)
    } else {
        z.range(start + offset, start + offset + take, false)
    }
}

/// ZRANGE and the deprecated read forms.
fn range_reply(ctx: &mut Ctx, a: &[Bytes], by: By, rev: Option<bool>) -> Reply {
    let spec = match parse_range(a, 1, false, by, rev) {
        Ok(s) => s,
        Err(e) => return e,
    };
    let resp3 = ctx.resp3();
    match read(ctx, &a[1]) {
        Err(e) => e,
        Ok(None) => Reply::Array(Vec::new()),
        Ok(Some(z)) => members_reply(resp3, select(z, &spec).into_iter(), spec.withscores),
    }
}

/// ZRANGE key start stop [BYSCORE|BYLEX] [REV] [LIMIT offset count] [WITHSCORES]
pub fn zrange(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    range_reply(ctx, a, By::Auto, None)
}

/// ZREVRANGE key start stop [WITHSCORES]
pub fn zrevrange(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    range_reply(ctx, a, By::Rank, Some(true))
}

/// ZRANGEBYSCORE key min max [WITHSCORES] [LIMIT offset count]
pub fn zrangebyscore(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    range_reply(ctx, a, By::Score, Some(false))
}

/// ZREVRANGEBYSCORE key max min [WITHSCORES] [LIMIT offset count]
pub fn zrevrangebyscore(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    range_reply(ctx, a, By::Score, Some(true))
}

/// ZRANGEBYLEX key min max [LIMIT offset count]
pub fn zrangebylex(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    range_reply(ctx, a, By::Lex, Some(false))
}

/// ZREVRANGEBYLEX key max min [LIMIT offset count]
pub fn zrevrangebylex(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    range_reply(ctx, a, By::Lex, Some(true))
}

/// ZRANGESTORE dst src min max [BYSCORE|BYLEX] [REV] [LIMIT offset count]: the destination
/// is replaced (its TTL dropped), or deleted when the range is empty.
pub fn zrangestore(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    let spec = match parse_range(a, 2, true, By::Auto, None) {
        Ok(s) => s,
        Err(e) => return e,
    };
    let limits = ctx.settings.zset;
    let result = match read(ctx, &a[2]) {
        Err(e) => return e,
        Ok(None) => ZSet::new(),
        Ok(Some(z)) => {
            let mut items = select(z, &spec);
            if spec.rev {
                items.reverse();
            }
            ZSet::from_sorted(&items, limits)
        }
    };
    Reply::Int(store_result(ctx, &a[1], result, "zrangestore") as i64)
}

/// ZCOUNT key min max
pub fn zcount(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    let (lo, hi) = match parse_score_range(&a[2], &a[3]) {
        Ok(r) => r,
        Err(e) => return e,
    };
    match read(ctx, &a[1]) {
        Err(e) => e,
        Ok(None) => Reply::Int(0),
        Ok(Some(z)) => {
            let (s, e) = z.score_range(lo, hi);
            Reply::Int((e - s) as i64)
        }
    }
}

/// ZLEXCOUNT key min max
pub fn zlexcount(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    let (lo, hi) = match parse_lex_range(&a[2], &a[3]) {
        Ok(r) => r,
        Err(e) => return e,
    };
    match read(ctx, &a[1]) {
        Err(e) => e,
        Ok(None) => Reply::Int(0),
        Ok(Some(z)) => {
            let (s, e) = z.lex_range(&lo, &hi);
            Reply::Int((e - s) as i64)
        }
    }
}

/// Removes the ascending rank interval `interval(z)` from `key`, raising `event` if anything
/// went and deleting the key when it empties. Replies with the number removed.
fn remove_interval(
    ctx: &mut Ctx,
    key: &[u8],
    event: &'static str,
    interval: impl FnOnce(&ZSet) -> Option<(usize, usize)>,
) -> Reply {
    let (start, end) = match lookup_write(ctx, key) {
        Err(e) => return e,
        Ok(None) => return Reply::Int(0),
        Ok(Some(z)) => match interval(z) {
            Some((s, e)) if s < e => (s, e),
            _ => return Reply::Int(0),
        },
    };
    let count = zset_mut(ctx, key).map_or(0, |z| z.remove_range(start, end).len());
    removed(ctx, key, event);
    ctx.dirty += count as u64;
    Reply::Int(count as i64)
}

/// ZREMRANGEBYRANK key start stop
pub fn zremrangebyrank(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    let (lo, hi) = match (args::int(&a[2]), args::int(&a[3])) {
        (Ok(lo), Ok(hi)) => (lo, hi),
        (Err(e), _) | (_, Err(e)) => return e,
    };
    remove_interval(ctx, &a[1], "zremrangebyrank", |z| {
        rank_interval(lo, hi, z.len())
    })
}

/// ZREMRANGEBYSCORE key min max
pub fn zremrangebyscore(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    match parse_score_range(&a[2], &a[3]) {
        Ok((lo, hi)) => remove_interval(ctx, &a[1], "zremrangebyscore", |z| {
            Some(z.score_range(lo, hi))
        }),
        Err(e) => e,
    }
}

/// ZREMRANGEBYLEX key min max
pub fn zremrangebylex(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    match parse_lex_range(&a[2], &a[3]) {
        Ok((lo, hi)) => remove_interval(ctx, &a[1], "zremrangebylex", |z| {
            Some(z.lex_range(&lo, &hi))
        }),
        Err(e) => e,
    }
}
