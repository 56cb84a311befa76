//! SINTER, SUNION, SDIFF, their STORE forms, and SINTERCARD (`sinterGenericCommand` and
//! `sunionDiffGenericCommand` of Valkey 8).
//!
//! The result's encoding is chosen as Valkey chooses it, since OBJECT ENCODING shows it:
//! - SINTERSTORE starts from an intset if the smallest input is one, else from a listpack,
//!   adds the members one by one (converting as any SADD would), and ends as an intset if all
//!   members are integers and few enough;
//! - SUNIONSTORE/SDIFFSTORE start from an intset and add one by one;
//! - SUNION/SDIFF (no store) build an intset if every input is one, else a hashtable; their
//!   reply follows that set's order (sorted integers for intsets).

use bytes::Bytes;
use resp::Reply;
use types::set::{resp_int, Set};
use types::SegMap;

use super::{as_set, free_deleted, put_set};
use crate::args;
use crate::ctx::Ctx;
use crate::errors::{self, err};
use crate::notify;

/// Key positions of SINTERCARD numkeys key [key ...] [LIMIT limit].
pub fn sintercard_keys(a: &[Bytes]) -> Vec<usize> {
    match a.get(1).and_then(|n| resp::request::parse_i64(n)) {
        Some(n) if n > 0 => {
            (2..(n as u64).saturating_add(2).min(a.len() as u64) as usize).collect()
        }
        _ => Vec::new(),
    }
}

/// Looks the keys up for reading, in order (hit/miss stats, expiry), stopping at the first
/// key of another type. Returns which keys exist.
fn lookup_all(ctx: &mut Ctx, keys: &[Bytes]) -> Result<Vec<bool>, Reply> {
    let mut exists = Vec::with_capacity(keys.len());
    for k in keys {
        match ctx.ks.read(ctx.db, k) {
            None => exists.push(false),
            Some(o) => {
                as_set(o)?;
                exists.push(true);
            }
        }
    }
    Ok(exists)
}

/// The sets found by [`lookup_all`], borrowed together (`None` = missing key).
fn sets_of<'k>(ctx: &'k Ctx, keys: &[Bytes], exists: &[bool]) -> Vec<Option<&'k Set>> {
    let db = ctx.ks.db(ctx.db);
    keys.iter()
        .zip(exists)
        .map(|(k, &e)| e.then(|| db.get(k)).flatten().and_then(|o| as_set(o).ok()))
        .collect()
}

fn set_reply<'a>(members: impl Iterator<Item = std::borrow::Cow<'a, [u8]>>) -> Reply {
    Reply::Set(members.map(|m| Reply::bulk(&m)).collect())
}

/// Stores `set` at `dst` raising `event` (or deletes `dst` for an empty result, raising
/// `del`) and replies its size. As Redis: the store looks `dst` up first (an expired value
/// is reported `expired`), the deletion does not (an expired value is deleted as any other).
fn store(ctx: &mut Ctx, dst: &[u8], set: Set, event: &'static str) -> Reply {
    if set.is_empty() {
        if let Some(old) = ctx.ks.remove_stored(ctx.db, dst) {
            free_deleted(ctx, old);
            ctx.notify(notify::GENERIC, "del", dst);
            ctx.dirty += 1;
        }
        return Reply::Int(0);
    }
    let n = set.len();
    ctx.ks.get(ctx.db, dst);
    put_set(ctx, dst, set);
    ctx.notify(notify::SET, event, dst);
    ctx.dirty += 1;
    Reply::Int(n as i64)
}

// --- intersection --------------------------------------------------------------------------

/// What an intersection produces.
enum InterOut<'a> {
    Reply,
    Store(&'a [u8]),
    /// SINTERCARD: the cardinality, stopping at `limit` (0 = no limit).
    Card(u64),
}

pub fn sinter(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    sinter_generic(ctx, &a[1..], InterOut::Reply)
}

pub fn sinterstore(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    sinter_generic(ctx, &a[2..], InterOut::Store(&a[1]))
}

/// SINTERCARD numkeys key [key ...] [LIMIT limit]
pub fn sintercard(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    let numkeys = match resp::request::parse_i64(&a[1]) {
        Some(n) if n >= 1 => n as u64,
        _ => return err(errors::NUMKEYS_POSITIVE),
    };
    if numkeys > (a.len() - 2) as u64 {
        return err(errors::NUMKEYS_TOO_MANY);
    }
    let keys_end = 2 + numkeys as usize;
    let mut limit = 0u64;
    let mut j = keys_end;
    while j < a.len() {
        if args::is(&a[j], "limit") && j + 1 < a.len() {
            limit = match resp::request::parse_i64(&a[j + 1]) {
                Some(l) if l >= 0 => l as u64,
                _ => return err(errors::LIMIT_NEGATIVE),
            };
            j += 2;
        } else {
            return err(errors::SYNTAX);
        }
    }
    sinter_generic(ctx, &a[2..keys_end], InterOut::Card(limit))
}

fn sinter_generic(ctx: &mut Ctx, keys: &[Bytes], out: InterOut) -> Reply {
    let exists = match lookup_all(ctx, keys) {
        Ok(e) => e,
        Err(e) => return e,
    };
    if exists.contains(&false) {
        return match out {
            InterOut::Store(dst) => store(ctx, dst, Set::Intset(Vec::new()), "sinterstore"),
            InterOut::Card(_) => Reply::Int(0),
            InterOut::Reply => Reply::Set(Vec::new()),
        };
    }
    let limits = ctx.settings.set;
    let mut sets: Vec<&Set> = sets_of(ctx, keys, &exists).into_iter().flatten().collect();
    sets.sort_by_key(|s| s.len());
    let Some((&first, others)) = sets.split_first() else {
        return Reply::Set(Vec::new());
    };
    let others: Vec<&Set> = others
        .iter()
        .copied()
        .filter(|s| !std::ptr::eq(*s, first))
        .collect();
    let common = first
        .iter()
        .filter(|m| others.iter().all(|s| s.contains(m)));
    let dst = match out {
        InterOut::Card(0) => return Reply::Int(common.count() as i64),
        InterOut::Card(limit) => {
            let limit = usize::try_from(limit).unwrap_or(usize::MAX);
            return Reply::Int(common.take(limit).count() as i64);
        }
        InterOut::Reply => return set_reply(common),
        InterOut::Store(dst) => dst,
    };
    let mut result = match first {
        Set::Intset(_) => Set::Intset(Vec::new()),
        _ => Set::Listpack(Vec::new()),
    };
    let mut all_ints = true;
    for m in common {
        all_ints &= resp_int(&m).is_some();
        result.add(&m, limits);
    }
    if all_ints {
        maybe_intset(&mut result, limits.max_intset_entries);
    }
    store(ctx, dst, result, "sinterstore")
}

/// `maybeConvertToIntset`: a set of integers becomes an intset if it is small enough.
fn maybe_intset(set: &mut Set, max_intset_entries: usize) {
    if matches!(set, Set::Intset(_)) || set.len() > max_intset_entries.min(1 << 30) {
        return;
    }
    let mut ints: Vec<i64> = set.iter().filter_map(|m| resp_int(&m)).collect();
    ints.sort_unstable();
    *set = Set::Intset(ints);
}

// --- union and difference ------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    Union,
    Diff,
}

pub fn sunion(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    union_diff(ctx, &a[1..], None, Op::Union)
}

pub fn sunionstore(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    union_diff(ctx, &a[2..], Some(&a[1]), Op::Union)
}

pub fn sdiff(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    union_diff(ctx, &a[1..], None, Op::Diff)
}

pub fn sdiffstore(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    union_diff(ctx, &a[2..], Some(&a[1]), Op::Diff)
}

fn union_diff(ctx: &mut Ctx, keys: &[Bytes], dst: Option<&Bytes>, op: Op) -> Reply {
    let exists = match lookup_all(ctx, keys) {
        Ok(e) => e,
        Err(e) => return e,
    };
    let limits = ctx.settings.set;
    let sets = sets_of(ctx, keys, &exists);
    let all_intsets = sets.iter().flatten().all(|s| matches!(s, Set::Intset(_)));
    let mut result = if dst.is_some() || all_intsets {
        Set::Intset(Vec::new())
    } else {
        Set::Table(SegMap::new())
    };
    match op {
        Op::Union => {
            for m in sets.iter().flatten().flat_map(|s| s.iter()) {
                result.add(&m, limits);
            }
        }
        Op::Diff => diff_into(&mut result, &sets, limits),
    }
    match dst {
        Some(dst) => {
            let event = match op {
                Op::Union => "sunionstore",
                Op::Diff => "sdiffstore",
            };
            store(ctx, dst, result, event)
        }
        None => set_reply(result.iter()),
    }
}

/// The difference of `sets[0]` and the others, added to `result` with whichever of Valkey's two
/// algorithms it would pick (the choice shows in the result's encoding: conversions happen on
/// the way and never go back).
fn diff_into(result: &mut Set, sets: &[Option<&Set>], limits: types::SetLimits) {
    let Some((Some(first), others)) = sets.split_first() else {
        return;
    };
    if others.iter().flatten().any(|s| std::ptr::eq(*s, *first)) {
        return; // A set minus itself.
    }
    let present: Vec<&Set> = others.iter().flatten().copied().collect();
    let first_len = first.len() as u64;
    let algo_one_work = first_len * (present.len() as u64 + 1) / 2;
    let algo_two_work = first_len + present.iter().map(|s| s.len() as u64).sum::<u64>();
    if algo_one_work <= algo_two_work {
        for m in first.iter() {
            if !present.iter().any(|s| s.contains(&m)) {
                result.add(&m, limits);
            }
        }
        return;
    }
    for m in first.iter() {
        result.add(&m, limits);
    }
    for s in present {
        for m in s.iter() {
            result.remove(&m);
        }
        if result.is_empty() {
            break;
        }
    }
}
