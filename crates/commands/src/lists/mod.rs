//! List commands: pushes and pops at both ends, indexed access, LINSERT/LREM/LTRIM/LPOS
//! ([`basic`]), moves between lists and multi-key pops, and the blocking variants
//! ([`moves`]).
//!
//! Shared rules, as Valkey's t_list.c: an emptied list is deleted at once; a list about to
//! grow is checked for listpack → quicklist conversion first ([`List::prepare_growth`]), and
//! one that shrank may turn back into a listpack ([`List::after_shrink`]). `dirty` counts
//! elements added or removed, so a command that changed nothing is not propagated.

mod basic;
mod moves;

use std::collections::HashSet;

use bytes::Bytes;
use keyspace::{Boxed, Kind, NewValue, Obj, ValueRef};
use resp::Reply;
use types::list::Elem;
use types::{End, List};

use crate::args::is;
use crate::ctx::{BlockRequest, Ctx};
use crate::errors::{self, err};
use crate::notify;
use crate::row;
use crate::spec::{acl, flags as f, CommandSpec, Handler, Keys};

use basic::*;
use moves::*;

const RW_INSERT: &[&str] = &["RW", "INSERT"];
const RW_ACCESS_DELETE: &[&str] = &["RW", "ACCESS", "DELETE"];
const RO_ACCESS: &[&str] = &["RO", "ACCESS"];

pub static COMMANDS: &[CommandSpec] = &[
    row!("lpush", -3, f::WRITE | f::DENYOOM | f::FAST, acl::LIST, Keys::range(1, 0, 1, RW_INSERT), "list", "1.0.0", "Prepends one or more elements to a list. Creates the key if it doesn't exist.", Handler::Data(lpush)),
    row!("rpush", -3, f::WRITE | f::DENYOOM | f::FAST, acl::LIST, Keys::range(1, 0, 1, RW_INSERT), "list", "1.0.0", "Appends one or more elements to a list. Creates the key if it doesn't exist.", Handler::Data(rpush)),
    row!("lpushx", -3, f::WRITE | f::DENYOOM | f::FAST, acl::LIST, Keys::range(1, 0, 1, RW_INSERT), "list", "2.2.0", "Prepends one or more elements to a list only when the list exists.", Handler::Data(lpushx)),
    row!("rpushx", -3, f::WRITE | f::DENYOOM | f::FAST, acl::LIST, Keys::range(1, 0, 1, RW_INSERT), "list", "2.2.0", "Appends an element to a list only when the list exists.", Handler::Data(rpushx)),
    row!("lpop", -2, f::WRITE | f::FAST, acl::LIST, Keys::range(1, 0, 1, RW_ACCESS_DELETE), "list", "1.0.0", "Returns the first elements in a list after removing it. Deletes the list if the last element was popped.", Handler::Data(lpop)),
    row!("rpop", -2, f::WRITE | f::FAST, acl::LIST, Keys::range(1, 0, 1, RW_ACCESS_DELETE), "list", "1.0.0", "Returns and removes the last elements of a list. Deletes the list if the last element was popped.", Handler::Data(rpop)),
    row!("lrange", 4, f::READONLY, acl::LIST, Keys::range(1, 0, 1, RO_ACCESS), "list", "1.0.0", "Returns a range of elements from a list.", Handler::Data(lrange)),
    row!("llen", 2, f::READONLY | f::FAST, acl::LIST, Keys::range(1, 0, 1, &["RO"]), "list", "1.0.0", "Returns the length of a list.", Handler::Data(llen)),
    row!("lindex", 3, f::READONLY, acl::LIST, Keys::range(1, 0, 1, RO_ACCESS), "list", "1.0.0", "Returns an element from a list by its index.", Handler::Data(lindex)),
    row!("lset", 4, f::WRITE | f::DENYOOM, acl::LIST, Keys::range(1, 0, 1, &["RW", "UPDATE"]), "list", "1.0.0", "Sets the value of an element in a list by its index.", Handler::Data(lset)),
    row!("linsert", 5, f::WRITE | f::DENYOOM, acl::LIST, Keys::range(1, 0, 1, RW_INSERT), "list", "2.2.0", "Inserts an element before or after another element in a list.", Handler::Data(linsert)),
    row!("lrem", 4, f::WRITE, acl::LIST, Keys::range(1, 0, 1, &["RW", "DELETE"]), "list", "1.0.0", "Removes elements from a list. Deletes the list if the last element was removed.", Handler::Data(lrem)),
    row!("ltrim", 4, f::WRITE, acl::LIST, Keys::range(1, 0, 1, &["RW", "DELETE"]), "list", "1.0.0", "Removes elements from both ends a list. Deletes the list if all elements were trimmed.", Handler::Data(ltrim)),
    row!("lpos", -3, f::READONLY, acl::LIST, Keys::range(1, 0, 1, RO_ACCESS), "list", "6.0.6", "Returns the index of matching elements in a list.", Handler::Data(lpos)),
    row!("lmove", 5, f::WRITE | f::DENYOOM, acl::LIST, Keys::range(1, 1, 1, RW_ACCESS_DELETE), "list", "6.2.0", "Returns an element after popping it from one list and pushing it to another. Deletes the list if the last element was moved.", Handler::Data(lmove)),
    row!("rpoplpush", 3, f::WRITE | f::DENYOOM, acl::LIST, Keys::range(1, 1, 1, RW_ACCESS_DELETE), "list", "1.2.0", "Returns the last element of a list after removing and pushing it to another list. Deletes the list if the last element was popped.", Handler::Data(rpoplpush)),
    row!("lmpop", -4, f::WRITE, acl::LIST, Keys::movable(lmpop_keys, RW_ACCESS_DELETE), "list", "7.0.0", "Returns multiple elements from a list after removing them. Deletes the list if the last element was popped.", Handler::Data(lmpop)),
    row!("blpop", -3, f::WRITE | f::BLOCKING, acl::LIST, Keys::range(1, -2, 1, RW_ACCESS_DELETE), "list", "2.0.0", "Removes and returns the first element in a list. Blocks until an element is available otherwise. Deletes the list if the last element was popped.", Handler::Data(blpop)),
    row!("brpop", -3, f::WRITE | f::BLOCKING, acl::LIST, Keys::range(1, -2, 1, RW_ACCESS_DELETE), "list", "2.0.0", "Removes and returns the last element in a list. Blocks until an element is available otherwise. Deletes the list if the last element was popped.", Handler::Data(brpop)),
    row!("blmove", 6, f::WRITE | f::DENYOOM | f::BLOCKING, acl::LIST, Keys::range(1, 1, 1, RW_ACCESS_DELETE), "list", "6.2.0", "Pops an element from a list, pushes it to another list and returns it. Blocks until an element is available otherwise. Deletes the list if the last element was moved.", Handler::Data(blmove)),
    row!("brpoplpush", 4, f::WRITE | f::DENYOOM | f::BLOCKING, acl::LIST, Keys::range(1, 1, 1, RW_ACCESS_DELETE), "list", "2.2.0", "Pops an element from a list, pushes it to another list and returns it. Block until an element is available otherwise. Deletes the list if the last element was popped.", Handler::Data(brpoplpush)),
    row!("blmpop", -5, f::WRITE | f::BLOCKING, acl::LIST, Keys::movable(blmpop_keys, RW_ACCESS_DELETE), "list", "7.0.0", "Pops the first element from one of multiple lists. Blocks until an element is available otherwise. Deletes the list if the last element was popped.", Handler::Data(blmpop)),
];

/// The list at `key`: `Ok(None)` if missing, WRONGTYPE for other types. `write` picks the
/// write lookup (no hit/miss statistics) as Redis's `lookupKeyWrite`.
fn lookup<'k>(ctx: &'k mut Ctx, key: &[u8], write: bool) -> Result<Option<&'k List>, Reply> {
    let obj = if write {
        ctx.ks.get(ctx.db, key)
    } else {
        ctx.ks.read(ctx.db, key)
    };
    match obj.map(Obj::value) {
        None => Ok(None),
        Some(ValueRef::List(l)) => Ok(Some(l)),
        Some(_) => Err(err(errors::WRONGTYPE)),
    }
}

/// Mutable access to the list at `key`, marking the key modified (WATCH, blocked clients).
/// `None` if the key is missing or not a list (callers have checked with [`lookup`]).
fn list_mut<'k>(ctx: &'k mut Ctx, key: &[u8]) -> Option<&'k mut List> {
    match ctx.ks.get_mut(ctx.db, key)?.boxed_mut()? {
        Boxed::List(l) => Some(l),
        _ => None,
    }
}

/// Puts the list at `key` back in Redis's shape after elements were removed, raising `event`
/// first: deleted when empty (raising `del`), otherwise possibly converted back to a listpack.
fn settle(ctx: &mut Ctx, key: &[u8], event: &'static str) {
    let limits = ctx.settings.list;
    let Some(l) = list_mut(ctx, key) else {
        return;
    };
    let emptied = l.is_empty();
    if !emptied {
        l.after_shrink(limits);
    }
    ctx.notify(notify::LIST, event, key);
    if emptied {
        ctx.ks.remove(ctx.db, key);
        ctx.notify(notify::GENERIC, "del", key);
    }
}

/// Runs a removal `f` on the existing list at `key`, then [`settle`]s it with `event`.
fn remove_with<R>(
    ctx: &mut Ctx,
    key: &[u8],
    event: &'static str,
    f: impl FnOnce(&mut List) -> R,
) -> Option<R> {
    let r = f(list_mut(ctx, key)?);
    settle(ctx, key, event);
    Some(r)
}

/// The event of a push at `end`.
fn push_event(end: End) -> &'static str {
    match end {
        End::Left => "lpush",
        End::Right => "rpush",
    }
}

/// The event of a pop at `end`.
fn pop_event(end: End) -> &'static str {
    match end {
        End::Left => "lpop",
        End::Right => "rpop",
    }
}

/// Pushes `elems` (in order) at `end` of the list at `key`, creating the list if `create`.
/// Returns the new length, `Ok(None)` if the key is missing and `!create`.
fn push_elems(
    ctx: &mut Ctx,
    key: &[u8],
    elems: &[Bytes],
    end: End,
    create: bool,
) -> Result<Option<usize>, Reply> {
    let limits = ctx.settings.list;
    // One search: the key is signalled modified only if it holds a list (and a value of
    // another type is not made unique, which would copy it under a snapshot).
    let mut is_list = false;
    let found = ctx.ks.get_mut_when(ctx.db, key, |o| {
        is_list = matches!(o.value(), ValueRef::List(_));
        is_list
    });
    let exists = found.is_some();
    if !exists && !create {
        return Ok(None);
    }
    if exists && !is_list {
        return Err(err(errors::WRONGTYPE));
    }
    let mut fresh = List::new();
    let list = match found.and_then(Obj::boxed_mut) {
        Some(Boxed::List(l)) => l,
        Some(_) => return Err(err(errors::WRONGTYPE)),
        None => &mut fresh,
    };
    list.prepare_growth(elems.iter().map(|e| &e[..]), limits);
    for e in elems {
        list.push(end, e, limits);
    }
    let len = list.len();
    if !exists {
        store_new(ctx, key, fresh);
    }
    ctx.notify(notify::LIST, push_event(end), key);
    ctx.dirty += elems.len() as u64;
    Ok(Some(len))
}

/// Stores a new list under `key` (which is missing), raising `new`.
fn store_new(ctx: &mut Ctx, key: &[u8], list: List) {
    ctx.store(Obj::new(key, NewValue::Boxed(Boxed::List(list)), None));
}

/// Pops up to `count` elements from `end` of the existing list at `key`, in pop order, then
/// settles the list and counts the removals as changes.
fn pop_n(ctx: &mut Ctx, key: &[u8], end: End, count: usize) -> Vec<Bytes> {
    let popped = remove_with(ctx, key, pop_event(end), |l| {
        let n = count.min(l.len());
        let mut out = Vec::with_capacity(n);
        while out.len() < n {
            match l.pop(end) {
                Some(v) => out.push(Bytes::from(v)),
                None => break,
            }
        }
        out
    })
    .unwrap_or_default();
    ctx.dirty += popped.len() as u64;
    popped
}

/// LEFT / RIGHT (case-insensitive), else a syntax error.
fn parse_end(arg: &[u8]) -> Result<End, Reply> {
    if is(arg, "left") {
        Ok(End::Left)
    } else if is(arg, "right") {
        Ok(End::Right)
    } else {
        Err(err(errors::SYNTAX))
    }
}

/// The non-blocking pop a served blocking pop is propagated as.
fn pop_command(end: End) -> &'static [u8] {
    match end {
        End::Left => b"LPOP",
        End::Right => b"RPOP",
    }
}

/// A list element as a bulk reply.
fn elem_reply(e: Elem<'_>) -> Reply {
    Reply::Bulk(Bytes::from(e.to_vec()))
}

fn bulks(items: Vec<Bytes>) -> Reply {
    Reply::Array(items.into_iter().map(Reply::Bulk).collect())
}

/// A re-run for a parked client goes ahead only if one of its keys holds a list: Valkey
/// serves a blocked list client only when the ready key is a list, so a key that was
/// deleted or changed type keeps the client blocked instead of failing it.
fn nothing_to_serve(ctx: &mut Ctx, keys: &[Bytes]) -> bool {
    ctx.unblocking
        && !keys
            .iter()
            .any(|k| ctx.ks.peek(ctx.db, k).map(Obj::kind) == Some(Kind::List))
}

/// Nothing could be served: park the client on `keys` (each once, in order) or, where
/// blocking is not allowed (MULTI/EXEC, scripts), answer `timeout_reply` at once.
fn block_on(
    ctx: &mut Ctx,
    keys: &[Bytes],
    deadline_ms: Option<i64>,
    timeout_reply: Reply,
) -> Reply {
    if ctx.may_block {
        let mut seen = HashSet::with_capacity(keys.len());
        let unique = keys.iter().filter(|k| seen.insert(*k)).cloned().collect();
        ctx.block = Some(BlockRequest {
            keys: unique,
            deadline_ms,
            argv: None,
            on_nokey: false,
        });
    }
    timeout_reply
}

/// Key positions for a `numkeys key [key ...]` layout with the count at `numkeys_idx`
/// (none if the count is invalid or runs past the arguments).
fn numkeys_positions(argv: &[Bytes], numkeys_idx: usize) -> Vec<usize> {
    let first = numkeys_idx + 1;
    let room = argv.len().saturating_sub(first);
    match argv
        .get(numkeys_idx)
        .and_then(|a| resp::request::parse_i64(a))
    {
        Some(n) if n > 0 && (n as u64) <= room as u64 => (first..first + n as usize).collect(),
        _ => Vec::new(),
    }
}

fn lmpop_keys(argv: &[Bytes]) -> Vec<usize> {
    numkeys_positions(argv, 1)
}

fn blmpop_keys(argv: &[Bytes]) -> Vec<usize> {
    numkeys_positions(argv, 2)
}
