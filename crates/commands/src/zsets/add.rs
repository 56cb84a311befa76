//! Adding, removing and reading single members: ZADD, ZINCRBY, ZREM, ZSCORE, ZMSCORE, ZCARD,
//! ZRANK, ZREVRANK.

use std::collections::HashMap;

use bytes::Bytes;
use keyspace::{Boxed, NewValue, Obj};
use resp::Reply;
use types::zset::{ZSet, ZSetLimits};

use super::{lookup_write, read, removed, zset_mut};
use crate::args::is;
use crate::ctx::Ctx;
use crate::errors::{self, err};

/// ZADD options (ZINCRBY is ZADD with INCR).
#[derive(Clone, Copy, Default)]
struct ZaddFlags {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
    ch: bool,
    incr: bool,
}

/// A parsed ZADD: options, then (score, member) pairs with every score already validated, so
/// the command either applies fully or not at all.
struct ZaddRequest<'a> {
    flags: ZaddFlags,
    pairs: Vec<(f64, &'a [u8])>,
}

/// Parses options, checks their conflicts in Redis's order, then parses every score.
fn parse_zadd(a: &[Bytes], incr: bool) -> Result<ZaddRequest<'_>, Reply> {
    let mut fl = ZaddFlags {
        incr,
        ..ZaddFlags::default()
    };
    let mut idx = 2;
    while let Some(opt) = a.get(idx) {
        match () {
            _ if is(opt, "nx") => fl.nx = true,
            _ if is(opt, "xx") => fl.xx = true,
            _ if is(opt, "ch") => fl.ch = true,
            _ if is(opt, "incr") => fl.incr = true,
            _ if is(opt, "gt") => fl.gt = true,
            _ if is(opt, "lt") => fl.lt = true,
            _ => break,
        }
        idx += 1;
    }
    let rest = &a[idx..];
    if rest.is_empty() || !rest.len().is_multiple_of(2) {
        return Err(err(errors::SYNTAX));
    }
    if fl.nx && fl.xx {
        return Err(err(errors::ZADD_XX_NX));
    }
    if (fl.nx && (fl.gt || fl.lt)) || (fl.gt && fl.lt) {
        return Err(err(errors::ZADD_GT_LT_NX));
    }
    if fl.incr && rest.len() > 2 {
        return Err(err(errors::ZADD_INCR_PAIRS));
    }
    let pairs = rest
        .chunks_exact(2)
        .map(|p| crate::args::float(&p[0]).map(|s| (s, &p[1][..])))
        .collect::<Result<Vec<_>, Reply>>()?;
    Ok(ZaddRequest { flags: fl, pairs })
}

/// What one pair does to a member whose current score is `cur`.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Step {
    /// Skipped by NX/XX/GT/LT.
    Nop,
    Added(f64),
    Updated(f64),
    /// Processed, but the score is unchanged.
    Same(f64),
    /// INCR produced NaN (`+inf` plus `-inf`).
    Nan,
}

fn step(cur: Option<f64>, score: f64, fl: ZaddFlags) -> Step {
    let Some(cur) = cur else {
        return if fl.xx { Step::Nop } else { Step::Added(score) };
    };
    if fl.nx {
        return Step::Nop;
    }
    let new = if fl.incr { score + cur } else { score };
    if new.is_nan() {
        return Step::Nan;
    }
    if (fl.lt && new >= cur) || (fl.gt && new <= cur) {
        Step::Nop
    } else if new != cur {
        Step::Updated(new)
    } else {
        Step::Same(new)
    }
}

/// The effect of a whole ZADD, computed without touching the set.
#[derive(Default)]
struct Plan<'a> {
    added: i64,
    updated: i64,
    /// Score of the last processed pair (the INCR reply).
    last: Option<f64>,
    /// Final (member, score) writes, in order.
    writes: Vec<(&'a [u8], f64)>,
}

fn plan<'a>(z: Option<&ZSet>, req: &ZaddRequest<'a>) -> Result<Plan<'a>, Reply> {
    let mut p = Plan::default();
    // Scores written by earlier pairs of this same command (ZADD k 1 a 2 a).
    let mut pending: HashMap<&[u8], f64> = HashMap::new();
    let track = req.pairs.len() > 1;
    for &(score, member) in &req.pairs {
        let cur = match pending.get(member) {
            Some(&s) => Some(s),
            None => z.and_then(|z| z.score(member)),
        };
        let new = match step(cur, score, req.flags) {
            Step::Nop => continue,
            Step::Nan => return Err(err(errors::SCORE_NAN)),
            Step::Same(s) => {
                p.last = Some(s);
                continue;
            }
            Step::Added(s) => {
                p.added += 1;
                s
            }
            Step::Updated(s) => {
                p.updated += 1;
                s
            }
        };
        p.last = Some(new);
        if track {
            pending.insert(member, new);
        }
        p.writes.push((member, new));
    }
    Ok(p)
}

/// How large a ZADD is, for Redis's choice of encoding before inserting.
#[derive(Clone, Copy)]
struct SizeHint {
    pairs: usize,
    max_len: usize,
}

fn apply(z: &mut ZSet, writes: &[(&[u8], f64)], hint: SizeHint, limits: ZSetLimits) {
    z.convert_for_hint(hint.pairs, hint.max_len, limits);
    for &(m, s) in writes {
        z.insert(m, s, limits);
    }
}

fn zadd_generic(ctx: &mut Ctx, a: &[Bytes], incr: bool) -> Reply {
    let req = match parse_zadd(a, incr) {
        Ok(r) => r,
        Err(e) => return e,
    };
    let key = &a[1];
    let limits = ctx.settings.zset;
    let hint = SizeHint {
        pairs: req.pairs.len(),
        max_len: req.pairs.iter().map(|p| p.1.len()).max().unwrap_or(0),
    };
    let (plan, exists, convert) = match lookup_write(ctx, key) {
        Err(e) => return e,
        Ok(None) if req.flags.xx => (Plan::default(), false, false),
        Ok(z) => {
            // Valkey converts an existing listpack from the request size alone.
            let convert = z.is_some_and(|z| {
                z.encoding() == "listpack"
                    && (hint.pairs > limits.max_entries || hint.max_len > limits.max_value)
            });
            match plan(z, &req) {
                Ok(p) => (p, z.is_some(), convert),
                Err(e) => return e,
            }
        }
    };
    if exists && (convert || !plan.writes.is_empty()) {
        if let Some(z) = zset_mut(ctx, key) {
            apply(z, &plan.writes, hint, limits);
        }
    } else if !exists && !plan.writes.is_empty() {
        let mut z = ZSet::new();
        apply(&mut z, &plan.writes, hint, limits);
        ctx.store(Obj::new(key, NewValue::Boxed(Boxed::ZSet(z)), None));
    }
    ctx.dirty += (plan.added + plan.updated) as u64;
    if plan.added + plan.updated > 0 {
        let event = if req.flags.incr { "zincr" } else { "zadd" };
        ctx.notify(crate::notify::ZSET, event, key);
    }
    if req.flags.incr {
        plan.last.map_or(Reply::Nil, Reply::Double)
    } else if req.flags.ch {
        Reply::Int(plan.added + plan.updated)
    } else {
        Reply::Int(plan.added)
    }
}

/// ZADD key [NX|XX] [GT|LT] [CH] [INCR] score member [score member ...]
pub fn zadd(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    zadd_generic(ctx, a, false)
}

/// ZINCRBY key increment member (parsed as ZADD with INCR, so an increment spelled like an
/// option, e.g. `nx`, is a syntax error as in Redis).
pub fn zincrby(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    zadd_generic(ctx, a, true)
}

/// ZREM key member [member ...]
pub fn zrem(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    let key = &a[1];
    let members = &a[2..];
    match lookup_write(ctx, key) {
        Err(e) => return e,
        Ok(None) => return Reply::Int(0),
        Ok(Some(z)) if !members.iter().any(|m| z.score(m).is_some()) => return Reply::Int(0),
        Ok(Some(_)) => {}
    }
    let mut deleted = 0;
    if let Some(z) = zset_mut(ctx, key) {
        for m in members {
            if z.remove(m).is_some() {
                deleted += 1;
            }
            if z.is_empty() {
                break;
            }
        }
    }
    removed(ctx, key, "zrem");
    ctx.dirty += deleted;
    Reply::Int(deleted as i64)
}

/// ZSCORE key member
pub fn zscore(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    match read(ctx, &a[1]) {
        Err(e) => e,
        Ok(z) => z
            .and_then(|z| z.score(&a[2]))
            .map_or(Reply::Nil, Reply::Double),
    }
}

/// ZMSCORE key member [member ...] (a missing key reads as an empty set).
pub fn zmscore(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    match read(ctx, &a[1]) {
        Err(e) => e,
        Ok(z) => Reply::Array(
            a[2..]
                .iter()
                .map(|m| z.and_then(|z| z.score(m)).map_or(Reply::Nil, Reply::Double))
                .collect(),
        ),
    }
}

/// ZCARD key
pub fn zcard(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    match read(ctx, &a[1]) {
        Err(e) => e,
        Ok(z) => Reply::Int(z.map_or(0, ZSet::len) as i64),
    }
}

fn zrank_generic(ctx: &mut Ctx, a: &[Bytes], rev: bool) -> Reply {
    if a.len() > 4 {
        return errors::wrong_arity(if rev { "zrevrank" } else { "zrank" });
    }
    let withscore = match a.get(3) {
        None => false,
        Some(opt) if is(opt, "withscore") => true,
        Some(_) => return err(errors::SYNTAX),
    };
    let missing = if withscore {
        Reply::NilArray
    } else {
        Reply::Nil
    };
    let z = match read(ctx, &a[1]) {
        Err(e) => return e,
        Ok(None) => return missing,
        Ok(Some(z)) => z,
    };
    let (Some(rank), Some(score)) = (z.rank(&a[2]), z.score(&a[2])) else {
        return missing;
    };
    let rank = if rev { z.len() - 1 - rank } else { rank } as i64;
    if withscore {
        Reply::Array(vec![Reply::Int(rank), Reply::Double(score)])
    } else {
        Reply::Int(rank)
    }
}

/// ZRANK key member [WITHSCORE] (WITHSCORE is Valkey 8 / Redis 7.2; Redis 7.0 has arity 3).
pub fn zrank(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    zrank_generic(ctx, a, false)
}

/// ZREVRANK key member [WITHSCORE]
pub fn zrevrank(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    zrank_generic(ctx, a, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fl(f: impl FnOnce(&mut ZaddFlags)) -> ZaddFlags {
        let mut x = ZaddFlags::default();
        f(&mut x);
        x
    }

    #[test]
    fn steps_follow_zset_add() {
        let none = ZaddFlags::default();
        assert_eq!(step(None, 1.0, none), Step::Added(1.0));
        assert_eq!(step(Some(1.0), 1.0, none), Step::Same(1.0));
        assert_eq!(step(Some(1.0), 2.0, none), Step::Updated(2.0));
        assert_eq!(step(None, 1.0, fl(|f| f.xx = true)), Step::Nop);
        assert_eq!(step(Some(1.0), 2.0, fl(|f| f.nx = true)), Step::Nop);
        assert_eq!(step(Some(3.0), 2.0, fl(|f| f.gt = true)), Step::Nop);
        assert_eq!(step(Some(3.0), 3.0, fl(|f| f.gt = true)), Step::Nop);
        assert_eq!(step(Some(1.0), 2.0, fl(|f| f.lt = true)), Step::Nop);
        assert_eq!(step(None, 2.0, fl(|f| f.lt = true)), Step::Added(2.0));
        let incr = fl(|f| f.incr = true);
        assert_eq!(step(Some(1.0), 2.0, incr), Step::Updated(3.0));
        assert_eq!(
            step(Some(f64::INFINITY), f64::NEG_INFINITY, incr),
            Step::Nan
        );
        assert_eq!(step(Some(1.0), 0.0, incr), Step::Same(1.0));
    }
}
