//! Commands that pop from one of several lists or move an element between lists, and their
//! blocking forms: LMOVE, RPOPLPUSH, LMPOP, BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP.
//!
//! A blocking command serves at once when it can. Otherwise it parks the client
//! ([`block_on`]); the server re-runs the same arguments with `ctx.unblocking` when a key
//! changes, and the command serves or parks again. Served blocking commands propagate their
//! non-blocking effect, as Valkey rewrites them: BLPOP → `LPOP key`, BLMPOP/LMPOP →
//! `LPOP key n`, BLMOVE → `LMOVE ...`, BRPOPLPUSH → `RPOPLPUSH ...`.

use bytes::Bytes;
use resp::Reply;
use types::End;

use super::{
    block_on, bulks, list_mut, lookup, nothing_to_serve, parse_end, pop_command, pop_event, pop_n,
    push_event, settle, store_new,
};
use crate::args;
use crate::ctx::{argv, Ctx};
use crate::errors::{self, err};
use crate::notify;
use types::List;

/// Pops one element from `src` (at `from`) and pushes it on `dst` (at `to`): `Ok(None)` if
/// `src` is missing, WRONGTYPE if either key holds another type (nothing moves then).
fn move_one(
    ctx: &mut Ctx,
    src: &[u8],
    dst: &[u8],
    from: End,
    to: End,
) -> Result<Option<Bytes>, Reply> {
    let bytes = match lookup(ctx, src, true)? {
        None => return Ok(None),
        Some(l) => l.moved_bytes(from),
    };
    lookup(ctx, dst, true)?;
    let Some(value) = list_mut(ctx, src).and_then(|l| l.pop(from)) else {
        return Ok(None);
    };
    push_moved(ctx, dst, &value, to, bytes);
    // Settled after the push (as Redis raises the push's events before the pop's): with
    // src == dst the list is not empty any more.
    settle(ctx, src, pop_event(from));
    ctx.dirty += 1;
    Ok(Some(Bytes::from(value)))
}

/// The push half of a move. Valkey sizes the incoming element for the listpack limit by its
/// string length, except that a quicklist hands integer entries over as integers, which
/// count as 0 bytes: `bytes` is [`List::moved_bytes`] of the source.
fn push_moved(ctx: &mut Ctx, dst: &[u8], value: &[u8], to: End, bytes: usize) {
    let limits = ctx.settings.list;
    let grow = |l: &mut List| {
        l.prepare_growth_by(bytes, 1, limits);
        l.push(to, value, limits);
    };
    match list_mut(ctx, dst) {
        Some(l) => grow(l),
        None => {
            let mut l = List::new();
            grow(&mut l);
            store_new(ctx, dst, l);
        }
    }
    ctx.notify(notify::LIST, push_event(to), dst);
}

fn lmove_generic(ctx: &mut Ctx, a: &[Bytes], from: End, to: End) -> Reply {
    match move_one(ctx, &a[1], &a[2], from, to) {
        Ok(Some(v)) => Reply::Bulk(v),
        Ok(None) => Reply::Nil,
        Err(e) => e,
    }
}

/// LMOVE source destination LEFT|RIGHT LEFT|RIGHT
pub fn lmove(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    match (parse_end(&a[3]), parse_end(&a[4])) {
        (Ok(from), Ok(to)) => lmove_generic(ctx, a, from, to),
        (Err(e), _) | (_, Err(e)) => e,
    }
}

pub fn rpoplpush(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    lmove_generic(ctx, a, End::Right, End::Left)
}

/// Parsed `numkeys key [key ...] LEFT|RIGHT [COUNT count]` of LMPOP/BLMPOP.
struct Mpop<'a> {
    keys: &'a [Bytes],
    end: End,
    count: usize,
}

fn parse_mpop(a: &[Bytes], numkeys_idx: usize) -> Result<Mpop<'_>, Reply> {
    let numkeys = match args::int_or(&a[numkeys_idx], errors::NUMKEYS_POSITIVE)? {
        n if n > 0 => n as usize,
        _ => return Err(err(errors::NUMKEYS_POSITIVE)),
    };
    let where_idx = numkeys
        .checked_add(numkeys_idx + 1)
        .filter(|&w| w < a.len())
        .ok_or_else(|| err(errors::SYNTAX))?;
    let end = parse_end(&a[where_idx])?;
    let mut count = None;
    let mut j = where_idx + 1;
    while j < a.len() {
        match a.get(j + 1) {
            Some(v) if count.is_none() && args::is(&a[j], "count") => {
                count = match args::int_or(v, errors::COUNT_POSITIVE)? {
                    n if n > 0 => Some(n as usize),
                    _ => return Err(err(errors::COUNT_POSITIVE)),
                };
            }
            _ => return Err(err(errors::SYNTAX)),
        }
        j += 2;
    }
    Ok(Mpop {
        keys: &a[numkeys_idx + 1..where_idx],
        end,
        count: count.unwrap_or(1),
    })
}

/// Pops from the first non-empty list among `keys`: `[key, [elements]]`, propagated as
/// `LPOP|RPOP key n`. `Ok(None)` if every key is missing.
fn mpop_first(
    ctx: &mut Ctx,
    keys: &[Bytes],
    end: End,
    count: usize,
) -> Result<Option<Reply>, Reply> {
    for key in keys {
        if lookup(ctx, key, true)?.is_none_or(|l| l.is_empty()) {
            continue;
        }
        let popped = pop_n(ctx, key, end, count);
        let n = popped.len().to_string();
        ctx.propagate(argv([pop_command(end), key, n.as_bytes()]));
        return Ok(Some(Reply::Array(vec![
            Reply::Bulk(key.clone()),
            bulks(popped),
        ])));
    }
    Ok(None)
}

/// LMPOP numkeys key [key ...] LEFT|RIGHT [COUNT count]
pub fn lmpop(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    let m = match parse_mpop(a, 1) {
        Ok(m) => m,
        Err(e) => return e,
    };
    match mpop_first(ctx, m.keys, m.end, m.count) {
        Ok(Some(r)) => r,
        Ok(None) => Reply::NilArray,
        Err(e) => e,
    }
}

/// BLMPOP timeout numkeys key [key ...] LEFT|RIGHT [COUNT count]
pub fn blmpop(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    let m = match parse_mpop(a, 2) {
        Ok(m) => m,
        Err(e) => return e,
    };
    let deadline = match args::timeout(&a[1], ctx.now_ms()) {
        Ok(d) => d,
        Err(e) => return e,
    };
    if nothing_to_serve(ctx, m.keys) {
        return block_on(ctx, m.keys, deadline, Reply::NilArray);
    }
    match mpop_first(ctx, m.keys, m.end, m.count) {
        Ok(Some(r)) => r,
        Ok(None) => block_on(ctx, m.keys, deadline, Reply::NilArray),
        Err(e) => e,
    }
}

/// BLPOP/BRPOP key [key ...] timeout: `[key, element]` from the first non-empty list,
/// propagated as `LPOP|RPOP key`.
fn bpop(ctx: &mut Ctx, a: &[Bytes], end: End) -> Reply {
    let keys = &a[1..a.len() - 1];
    let deadline = match args::timeout(&a[a.len() - 1], ctx.now_ms()) {
        Ok(d) => d,
        Err(e) => return e,
    };
    if nothing_to_serve(ctx, keys) {
        return block_on(ctx, keys, deadline, Reply::NilArray);
    }
    for key in keys {
        match lookup(ctx, key, true) {
            Ok(Some(l)) if !l.is_empty() => {}
            Ok(_) => continue,
            Err(e) => return e,
        }
        let Some(value) = pop_n(ctx, key, end, 1).pop() else {
            continue;
        };
        ctx.propagate(argv([pop_command(end), key]));
        return Reply::Array(vec![Reply::Bulk(key.clone()), Reply::Bulk(value)]);
    }
    block_on(ctx, keys, deadline, Reply::NilArray)
}

pub fn blpop(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    bpop(ctx, a, End::Left)
}

pub fn brpop(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    bpop(ctx, a, End::Right)
}

/// BLMOVE/BRPOPLPUSH after argument parsing: moves at once if the source has elements
/// (propagating `rewrite`), else parks on the source. Only the source's type is checked
/// before blocking, as Valkey does.
fn blmove_generic(
    ctx: &mut Ctx,
    a: &[Bytes],
    from: End,
    to: End,
    deadline: Option<i64>,
    rewrite: Vec<Bytes>,
) -> Reply {
    let src = &a[1..2];
    if nothing_to_serve(ctx, src) {
        return block_on(ctx, src, deadline, Reply::Nil);
    }
    match move_one(ctx, &a[1], &a[2], from, to) {
        Ok(Some(v)) => {
            ctx.propagate(rewrite);
            Reply::Bulk(v)
        }
        Ok(None) => block_on(ctx, src, deadline, Reply::Nil),
        Err(e) => e,
    }
}

/// BLMOVE source destination LEFT|RIGHT LEFT|RIGHT timeout
pub fn blmove(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    let parsed = parse_end(&a[3]).and_then(|from| {
        let to = parse_end(&a[4])?;
        Ok((from, to, args::timeout(&a[5], ctx.now_ms())?))
    });
    match parsed {
        Ok((from, to, deadline)) => {
            let rewrite = argv([&b"LMOVE"[..], &a[1], &a[2], &a[3], &a[4]]);
            blmove_generic(ctx, a, from, to, deadline, rewrite)
        }
        Err(e) => e,
    }
}

/// BRPOPLPUSH source destination timeout
pub fn brpoplpush(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    match args::timeout(&a[3], ctx.now_ms()) {
        Ok(deadline) => {
            let rewrite = argv([&b"RPOPLPUSH"[..], &a[1], &a[2]]);
            blmove_generic(ctx, a, End::Right, End::Left, deadline, rewrite)
        }
        Err(e) => e,
    }
}
