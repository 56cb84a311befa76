//! ZUNION, ZINTER, ZDIFF, their STORE forms, and ZINTERCARD.
//!
//! Inputs may be sorted sets or plain sets (whose members score 1). Scores are multiplied by
//! the WEIGHTS and combined with the AGGREGATE function; `inf * 0` and `inf + -inf` count as 0,
//! as in Redis. Like Redis, union and intersection visit the inputs from the smallest to the
//! largest, which also fixes the order in which floating-point sums are taken.

use std::borrow::Cow;
use std::collections::HashMap;

use bytes::Bytes;
use keyspace::{Kind, Obj, ValueRef};
use resp::Reply;
use types::set::Set;
use types::zset::{cmp_elem, ZSet};

use super::{members_reply, range_long, store_result};
use crate::args::{self, is};
use crate::ctx::Ctx;
use crate::errors::{self, err};

#[derive(Clone, Copy, PartialEq, Debug)]
enum Op {
    Union,
    Inter,
    Diff,
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Aggregate {
    Sum,
    Min,
    Max,
}

impl Aggregate {
    /// Redis's `zunionInterAggregate` (a NaN `val` leaves MIN/MAX unchanged).
    fn apply(self, target: &mut f64, val: f64) {
        match self {
            Aggregate::Sum => {
                *target += val;
                if target.is_nan() {
                    *target = 0.0;
                }
            }
            Aggregate::Min if val < *target => *target = val,
            Aggregate::Max if val > *target => *target = val,
            _ => {}
        }
    }
}

/// The command variant: which operation, where `numkeys` is, and what it returns.
struct Variant {
    name: &'static str,
    op: Op,
    /// Index of `numkeys` (2 for the STORE forms, after the destination).
    numkeys_idx: usize,
    store: bool,
    card_only: bool,
}

struct Options {
    weights: Vec<f64>,
    aggregate: Aggregate,
    withscores: bool,
    /// ZINTERCARD LIMIT; 0 = none.
    limit: usize,
}

/// One input: a sorted set, a set (members score 1) or a missing key (empty).
#[derive(Clone, Copy)]
enum Src<'a> {
    Missing,
    Z(&'a ZSet),
    S(&'a Set),
}

impl<'a> Src<'a> {
    fn len(&self) -> usize {
        match self {
            Src::Missing => 0,
            Src::Z(z) => z.len(),
            Src::S(s) => s.len(),
        }
    }

    fn score(&self, member: &[u8]) -> Option<f64> {
        match self {
            Src::Missing => None,
            Src::Z(z) => z.score(member),
            Src::S(s) => s.contains(member).then_some(1.0),
        }
    }

    /// Calls `f` for every element (set members are copied: intsets have no member bytes).
    fn each(&self, mut f: impl FnMut(Cow<'a, [u8]>, f64)) {
        match *self {
            Src::Missing => {}
            Src::Z(z) => z.iter().for_each(|(m, s)| f(Cow::Borrowed(m), s)),
            Src::S(s) => s.for_each(|m| f(Cow::Owned(m.to_vec()), 1.0)),
        }
    }
}

/// `numkeys key...`: the key argument range, with Redis's errors.
fn parse_numkeys(a: &[Bytes], v: &Variant) -> Result<std::ops::Range<usize>, Reply> {
    let n = args::int(&a[v.numkeys_idx])?;
    if n < 1 {
        return Err(errors::numkeys_needed(v.name));
    }
    let first = v.numkeys_idx + 1;
    let avail = a.len() - first;
    match usize::try_from(n) {
        Ok(n) if n <= avail => Ok(first..first + n),
        _ => Err(err(errors::SYNTAX)),
    }
}

/// Options after the keys, in Redis's order of acceptance.
fn parse_options(a: &[Bytes], mut j: usize, setnum: usize, v: &Variant) -> Result<Options, Reply> {
    let mut o = Options {
        weights: vec![1.0; setnum],
        aggregate: Aggregate::Sum,
        withscores: false,
        limit: 0,
    };
    let weighted = v.op != Op::Diff && !v.card_only;
    while j < a.len() {
        let remaining = a.len() - j;
        let opt = &a[j];
        if weighted && remaining > setnum && is(opt, "weights") {
            for (i, w) in a[j + 1..j + 1 + setnum].iter().enumerate() {
                o.weights[i] =
                    resp::float::parse_double(w).ok_or_else(|| err(errors::WEIGHT_NOT_FLOAT))?;
            }
            j += 1 + setnum;
        } else if weighted && remaining >= 2 && is(opt, "aggregate") {
            let f = &a[j + 1];
            o.aggregate = match () {
                _ if is(f, "sum") => Aggregate::Sum,
                _ if is(f, "min") => Aggregate::Min,
                _ if is(f, "max") => Aggregate::Max,
                _ => return Err(err(errors::SYNTAX)),
            };
            j += 2;
        } else if !v.store && !v.card_only && is(opt, "withscores") {
            o.withscores = true;
            j += 1;
        } else if v.card_only && remaining >= 2 && is(opt, "limit") {
            let l = range_long(&a[j + 1], 0, i64::MAX, Some(errors::LIMIT_NEGATIVE))?;
            o.limit = usize::try_from(l).unwrap_or(usize::MAX);
            j += 2;
        } else {
            return Err(err(errors::SYNTAX));
        }
    }
    Ok(o)
}

/// Looks every input up as a read (stats, expiry), failing on the first wrong type. Returns
/// which keys exist.
fn check_inputs(ctx: &mut Ctx, keys: &[Bytes]) -> Result<Vec<bool>, Reply> {
    let mut present = Vec::with_capacity(keys.len());
    for k in keys {
        match ctx.ks.read(ctx.db, k).map(Obj::kind) {
            None => present.push(false),
            Some(Kind::ZSet | Kind::Set) => present.push(true),
            Some(_) => return Err(err(errors::WRONGTYPE)),
        }
    }
    Ok(present)
}

fn sources<'a>(ctx: &'a Ctx, keys: &[Bytes], present: &[bool]) -> Vec<Src<'a>> {
    let db = ctx.ks.db(ctx.db);
    keys.iter()
        .zip(present)
        .map(
            |(k, &here)| match db.get(k).filter(|_| here).map(Obj::value) {
                Some(ValueRef::ZSet(z)) => Src::Z(z),
                Some(ValueRef::Set(s)) => Src::S(s),
                _ => Src::Missing,
            },
        )
        .collect()
}

/// `weight * score`, with NaN (`inf * 0`) read as 0.
fn weighted(score: f64, weight: f64) -> f64 {
    let v = score * weight;
    if v.is_nan() {
        0.0
    } else {
        v
    }
}

type Elems<'a> = Vec<(Cow<'a, [u8]>, f64)>;

fn union<'a>(srcs: &[(Src<'a>, f64)], agg: Aggregate) -> Elems<'a> {
    let cap = srcs.last().map_or(0, |s| s.0.len());
    let mut acc: HashMap<Cow<'a, [u8]>, f64> = HashMap::with_capacity(cap);
    for (src, w) in srcs {
        src.each(|m, s| {
            let v = weighted(s, *w);
            match acc.get_mut(&m) {
                Some(t) => agg.apply(t, v),
                None => {
                    acc.insert(m, v);
                }
            }
        });
    }
    acc.into_iter().collect()
}

/// Elements of the smallest input present in every other one; with `limit` (> 0) stops after
/// that many (ZINTERCARD).
fn inter<'a>(srcs: &[(Src<'a>, f64)], agg: Aggregate, limit: usize) -> Elems<'a> {
    let mut out = Vec::new();
    let Some(((first, w0), rest)) = srcs.split_first() else {
        return out;
    };
    first.each(|m, s| {
        if limit > 0 && out.len() >= limit {
            return;
        }
        let mut score = weighted(s, *w0);
        for (src, w) in rest {
            match src.score(&m) {
                Some(v) => agg.apply(&mut score, v * w),
                None => return,
            }
        }
        out.push((m, score));
    });
    out
}

/// Elements of the first input found in none of the others, with their own scores.
fn diff<'a>(srcs: &[(Src<'a>, f64)]) -> Elems<'a> {
    let mut out = Vec::new();
    let Some(((first, _), rest)) = srcs.split_first() else {
        return out;
    };
    first.each(|m, s| {
        if rest.iter().all(|(src, _)| src.score(&m).is_none()) {
            out.push((m, s));
        }
    });
    out
}

/// Runs the operation; the result is sorted as a sorted set (score, then member).
fn compute<'a>(srcs: Vec<Src<'a>>, o: &Options, op: Op) -> Elems<'a> {
    let mut srcs: Vec<(Src<'a>, f64)> = srcs.into_iter().zip(o.weights.iter().copied()).collect();
    if op != Op::Diff {
        srcs.sort_by_key(|s| s.0.len());
    }
    let mut out = match op {
        Op::Union => union(&srcs, o.aggregate),
        Op::Inter => inter(&srcs, o.aggregate, o.limit),
        Op::Diff => diff(&srcs),
    };
    out.sort_by(|a, b| cmp_elem(a.1, &a.0, b.1, &b.0));
    out
}

fn generic(ctx: &mut Ctx, a: &[Bytes], v: Variant) -> Reply {
    let keys = match parse_numkeys(a, &v) {
        Ok(k) => k,
        Err(e) => return e,
    };
    let setnum = keys.len();
    let present = match check_inputs(ctx, &a[keys.clone()]) {
        Ok(p) => p,
        Err(e) => return e,
    };
    let opts = match parse_options(a, keys.end, setnum, &v) {
        Ok(o) => o,
        Err(e) => return e,
    };
    let (resp3, limits) = (ctx.resp3(), ctx.settings.zset);
    let srcs = sources(ctx, &a[keys], &present);
    let result = compute(srcs, &opts, v.op);
    if v.card_only {
        return Reply::Int(result.len() as i64);
    }
    let items: Vec<(&[u8], f64)> = result.iter().map(|(m, s)| (&m[..], *s)).collect();
    if !v.store {
        return members_reply(resp3, items.into_iter(), opts.withscores);
    }
    let z = ZSet::from_sorted(&items, limits);
    drop(items);
    drop(result);
    Reply::Int(store_result(ctx, &a[1], z, v.name) as i64)
}

const fn variant(name: &'static str, op: Op, store: bool) -> Variant {
    Variant {
        name,
        op,
        numkeys_idx: if store { 2 } else { 1 },
        store,
        card_only: false,
    }
}

/// ZUNION numkeys key [key ...] [WEIGHTS weight ...] [AGGREGATE SUM|MIN|MAX] [WITHSCORES]
pub fn zunion(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    generic(ctx, a, variant("zunion", Op::Union, false))
}

/// ZINTER numkeys key [key ...] [WEIGHTS weight ...] [AGGREGATE SUM|MIN|MAX] [WITHSCORES]
pub fn zinter(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    generic(ctx, a, variant("zinter", Op::Inter, false))
}

/// ZDIFF numkeys key [key ...] [WITHSCORES]
pub fn zdiff(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    generic(ctx, a, variant("zdiff", Op::Diff, false))
}

/// ZUNIONSTORE destination numkeys key [key ...] [WEIGHTS weight ...] [AGGREGATE ...]
pub fn zunionstore(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    generic(ctx, a, variant("zunionstore", Op::Union, true))
}

/// ZINTERSTORE destination numkeys key [key ...] [WEIGHTS weight ...] [AGGREGATE ...]
pub fn zinterstore(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    generic(ctx, a, variant("zinterstore", Op::Inter, true))
}

/// ZDIFFSTORE destination numkeys key [key ...]
pub fn zdiffstore(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    generic(ctx, a, variant("zdiffstore", Op::Diff, true))
}

/// ZINTERCARD numkeys key [key ...] [LIMIT limit]
pub fn zintercard(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    let v = Variant {
        card_only: true,
        ..variant("zintercard", Op::Inter, false)
    };
    generic(ctx, a, v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aggregates_match_redis() {
        let mut t = f64::INFINITY;
        Aggregate::Sum.apply(&mut t, f64::NEG_INFINITY);
        assert_eq!(t, 0.0);
        let mut t = 1.0;
        Aggregate::Min.apply(&mut t, f64::NAN);
        assert_eq!(t, 1.0);
        Aggregate::Max.apply(&mut t, 3.0);
        assert_eq!(t, 3.0);
        Aggregate::Min.apply(&mut t, -1.0);
        assert_eq!(t, -1.0);
        assert_eq!(weighted(f64::INFINITY, 0.0), 0.0);
    }
}
