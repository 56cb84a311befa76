//! Popping the lowest or highest members: ZPOPMIN, ZPOPMAX, ZMPOP, and the blocking BZPOPMIN,
//! BZPOPMAX and BZMPOP.
//!
//! A served pop is propagated as its effect, as Redis does: ZMPOP, BZMPOP and BZPOP* become
//! `ZPOPMIN|ZPOPMAX key [count]`. A blocking command that finds nothing parks the client
//! (`ctx.block`); the server re-runs it when a key changes. Inside MULTI (`!ctx.may_block`)
//! it answers the timeout reply at once.

use bytes::Bytes;
use resp::Reply;

use super::{holds_zset, lookup_write, nested_pairs, range_long, removed, zset_mut};
use crate::args::{self, is};
use crate::ctx::{BlockRequest, Ctx};
use crate::errors::{self, err};

/// Which end to pop from.
#[derive(Clone, Copy, PartialEq, Debug)]
enum End {
    Min,
    Max,
}

impl End {
    fn command(self) -> &'static [u8] {
        match self {
            End::Min => b"ZPOPMIN",
            End::Max => b"ZPOPMAX",
        }
    }

    /// The keyspace event of a pop from this end.
    fn event(self) -> &'static str {
        match self {
            End::Min => "zpopmin",
            End::Max => "zpopmax",
        }
    }
}

/// Pops up to `count` (at least 1) members from an existing sorted set at `key` (lowest first
/// for MIN, highest first for MAX), deleting the key when it empties.
fn pop(ctx: &mut Ctx, key: &[u8], end: End, count: usize) -> Vec<(Vec<u8>, f64)> {
    let Some(z) = zset_mut(ctx, key) else {
        return Vec::new();
    };
    let len = z.len();
    let n = count.min(len);
    let items = match end {
        End::Min => z.remove_range(0, n),
        End::Max => {
            let mut v = z.remove_range(len - n, len);
            v.reverse();
            v
        }
    };
    removed(ctx, key, end.event());
    ctx.dirty += items.len() as u64;
    items
}

/// `[member, score, member, score, ...]`.
fn flat_pairs(items: &[(Vec<u8>, f64)]) -> Vec<Reply> {
    let mut out = Vec::with_capacity(items.len() * 2);
    for (m, s) in items {
        out.push(Reply::bulk(m));
        out.push(Reply::Double(*s));
    }
    out
}

fn zpop_generic(ctx: &mut Ctx, a: &[Bytes], end: End) -> Reply {
    if a.len() > 3 {
        return err(errors::SYNTAX);
    }
    let count = match a.get(2) {
        None => None,
        Some(c) => match range_long(c, 0, i64::MAX, Some(errors::POSITIVE)) {
            Ok(c) => Some(usize::try_from(c).unwrap_or(usize::MAX)),
            Err(e) => return e,
        },
    };
    match lookup_write(ctx, &a[1]) {
        Err(e) => return e,
        Ok(None) => return Reply::Array(Vec::new()),
        Ok(Some(_)) if count == Some(0) => return Reply::Array(Vec::new()),
        Ok(Some(_)) => {}
    }
    let items = pop(ctx, &a[1], end, count.unwrap_or(1));
    // RESP3 nests the pairs when a count was given; otherwise (and in RESP2) the list is flat.
    if ctx.resp3() && count.is_some() {
        nested_pairs(&items)
    } else {
        Reply::Array(flat_pairs(&items))
    }
}

/// ZPOPMIN key [count]
pub fn zpopmin(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    zpop_generic(ctx, a, End::Min)
}

/// ZPOPMAX key [count]
pub fn zpopmax(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    zpop_generic(ctx, a, End::Max)
}

/// Reply shape of the multi-key pops.
#[derive(Clone, Copy, PartialEq)]
enum Shape {
    /// BZPOPMIN/BZPOPMAX: `[key, member, score]`.
    Flat,
    /// ZMPOP/BZMPOP: `[key, [[member, score], ...]]`.
    Nested,
}

/// Pops from the first existing key of `keys` (WRONGTYPE if a key before it holds another
/// type). `None` if no key exists.
fn pop_first(
    ctx: &mut Ctx,
    keys: &[Bytes],
    end: End,
    count: Option<usize>,
    shape: Shape,
) -> Option<Reply> {
    for key in keys {
        match lookup_write(ctx, key) {
            Err(e) => return Some(e),
            Ok(None) => continue,
            Ok(Some(_)) => {}
        }
        let items = pop(ctx, key, end, count.unwrap_or(1));
        let mut cmd = vec![Bytes::from_static(end.command()), key.clone()];
        if count.is_some() {
            cmd.push(Bytes::from(items.len().to_string()));
        }
        ctx.propagate(cmd);
        let mut reply = vec![Reply::Bulk(key.clone())];
        match shape {
            Shape::Flat => reply.extend(flat_pairs(&items)),
            Shape::Nested => reply.push(nested_pairs(&items)),
        }
        return Some(Reply::Array(reply));
    }
    None
}

/// The blocking pops: serve from the first non-empty key, else block (or, when blocking is not
/// allowed, reply as a timeout would).
fn blocking_pop(
    ctx: &mut Ctx,
    keys: &[Bytes],
    end: End,
    count: Option<usize>,
    shape: Shape,
    deadline_ms: Option<i64>,
) -> Reply {
    // Re-run for a parked client: as in Redis, only a key now holding a sorted set wakes it
    // (a key turned into another type does not produce a WRONGTYPE reply by itself).
    let woken = !ctx.unblocking || keys.iter().any(|k| holds_zset(ctx, k));
    if woken {
        if let Some(reply) = pop_first(ctx, keys, end, count, shape) {
            return reply;
        }
    }
    if !ctx.may_block {
        return Reply::NilArray;
    }
    ctx.block = Some(BlockRequest {
        keys: keys.to_vec(),
        deadline_ms,
        argv: None,
        on_nokey: false,
    });
    Reply::NilArray
}

fn bzpop_generic(ctx: &mut Ctx, a: &[Bytes], end: End) -> Reply {
    let last = a.len() - 1;
    match args::timeout(&a[last], ctx.now_ms()) {
        Ok(deadline) => blocking_pop(ctx, &a[1..last], end, None, Shape::Flat, deadline),
        Err(e) => e,
    }
}

/// BZPOPMIN key [key ...] timeout
pub fn bzpopmin(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    bzpop_generic(ctx, a, End::Min)
}

/// BZPOPMAX key [key ...] timeout
pub fn bzpopmax(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    bzpop_generic(ctx, a, End::Max)
}

/// A parsed `numkeys key... MIN|MAX [COUNT count]`.
struct MpopArgs {
    keys: std::ops::Range<usize>,
    end: End,
    count: usize,
}

fn parse_mpop(a: &[Bytes], numkeys_idx: usize) -> Result<MpopArgs, Reply> {
    let n = range_long(&a[numkeys_idx], 1, i64::MAX, Some(errors::NUMKEYS_POSITIVE))?;
    let first = numkeys_idx + 1;
    let where_idx = usize::try_from(n)
        .ok()
        .and_then(|n| first.checked_add(n))
        .filter(|&w| w < a.len())
        .ok_or_else(|| err(errors::SYNTAX))?;
    let end = match &a[where_idx] {
        w if is(w, "min") => End::Min,
        w if is(w, "max") => End::Max,
        _ => return Err(err(errors::SYNTAX)),
    };
    let mut count = None;
    let mut j = where_idx + 1;
    while j < a.len() {
        if count.is_none() && is(&a[j], "count") && j + 1 < a.len() {
            let c = range_long(&a[j + 1], 1, i64::MAX, Some(errors::COUNT_POSITIVE))?;
            count = Some(usize::try_from(c).unwrap_or(usize::MAX));
            j += 2;
        } else {
            return Err(err(errors::SYNTAX));
        }
    }
    Ok(MpopArgs {
        keys: first..where_idx,
        end,
        count: count.unwrap_or(1),
    })
}

/// ZMPOP numkeys key [key ...] MIN|MAX [COUNT count]
pub fn zmpop(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    let p = match parse_mpop(a, 1) {
        Ok(p) => p,
        Err(e) => return e,
    };
    pop_first(ctx, &a[p.keys], p.end, Some(p.count), Shape::Nested).unwrap_or(Reply::NilArray)
}

/// BZMPOP timeout numkeys key [key ...] MIN|MAX [COUNT count] (the timeout is checked after
/// the other arguments, as in Redis).
pub fn bzmpop(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    let p = match parse_mpop(a, 2) {
        Ok(p) => p,
        Err(e) => return e,
    };
    match args::timeout(&a[1], ctx.now_ms()) {
        Ok(deadline) => blocking_pop(
            ctx,
            &a[p.keys],
            p.end,
            Some(p.count),
            Shape::Nested,
            deadline,
        ),
        Err(e) => e,
    }
}
