//! SPOP and SRANDMEMBER, with the strategies of Valkey 8's `t_set.c` where they show in the
//! result: which elements come back in what order, what encoding the remaining set has, and
//! what is propagated (SPOP becomes SREM of the popped members, in batches of 1024, or a
//! DEL/UNLINK when the whole set goes).

use std::collections::HashSet;

use bytes::Bytes;
use resp::Reply;
use types::blob::Blob;
use types::rand::Rng;
use types::set::{Set, SetLimits};

use super::{delete_key, read_set, set_mut, with_set, write_set};
use crate::coll;
use crate::ctx::{argv, Ctx};
use crate::errors::{self, err};
use crate::notify;

/// SPOP's count is propagated as SREMs of at most this many members each.
const SREM_BATCH: usize = 1024;

/// SPOP key [count]
pub fn spop(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    match a.len() {
        2 => spop_one(ctx, &a[1]),
        3 => spop_count(ctx, a),
        _ => err(errors::SYNTAX),
    }
}

fn spop_one(ctx: &mut Ctx, key: &Bytes) -> Reply {
    match write_set(ctx, key) {
        Ok(Some(_)) => {}
        Ok(None) => return Reply::Nil,
        Err(e) => return e,
    }
    let mut rng = Rng::new(ctx.ks.rng.next_u64());
    let Some(set) = set_mut(ctx, key) else {
        return Reply::Nil;
    };
    let Some(member) = pop_random(set, &mut rng) else {
        return Reply::Nil;
    };
    let emptied = set.is_empty();
    ctx.notify(notify::SET, "spop", key);
    if emptied {
        delete_key(ctx, key);
        ctx.notify(notify::GENERIC, "del", key);
    }
    ctx.dirty += 1;
    ctx.propagate(argv([&b"SREM"[..], key, &member]));
    Reply::bulk(&member)
}

/// A random member, removed.
fn pop_random(set: &mut Set, rng: &mut Rng) -> Option<Vec<u8>> {
    let member = set.random(rng)?;
    set.remove(&member);
    Some(member)
}

fn spop_count(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    let key = &a[1];
    // getPositiveLongFromObjectOrReply: one message for non-integers and negatives.
    let count = match resp::request::parse_i64(&a[2]) {
        Some(c) if c >= 0 => c as u64,
        _ => return err(errors::POSITIVE),
    };
    let size = match write_set(ctx, key) {
        Ok(Some(s)) => s.len() as u64,
        Ok(None) => return Reply::Set(Vec::new()),
        Err(e) => return e,
    };
    if count == 0 {
        return Reply::Set(Vec::new());
    }
    if count >= size {
        return spop_all(ctx, key);
    }
    let limits = ctx.settings.set;
    let mut rng = Rng::new(ctx.ks.rng.next_u64());
    let Some(set) = set_mut(ctx, key) else {
        return Reply::Set(Vec::new());
    };
    let popped = pop_many(set, count as usize, limits, &mut rng);
    ctx.notify(notify::SET, "spop", key);
    ctx.dirty += count;
    for batch in popped.chunks(SREM_BATCH) {
        let mut cmd = argv([&b"SREM"[..], key]);
        cmd.extend(batch.iter().map(|m| Bytes::copy_from_slice(m)));
        ctx.propagate(cmd);
    }
    Reply::Set(popped.iter().map(|m| Reply::bulk(m)).collect())
}

/// The whole set goes: reply with all of it, delete the key, propagate DEL (UNLINK with
/// lazyfree-lazy-server-del).
fn spop_all(ctx: &mut Ctx, key: &Bytes) -> Reply {
    let reply = match read_set(ctx, key) {
        Ok(Some(s)) => Reply::Set(s.iter().map(|m| Reply::bulk(&m)).collect()),
        _ => return Reply::Set(Vec::new()),
    };
    let size = match &reply {
        Reply::Set(items) => items.len() as u64,
        _ => 0,
    };
    ctx.notify(notify::SET, "spop", key);
    delete_key(ctx, key);
    ctx.notify(notify::GENERIC, "del", key);
    ctx.dirty += size;
    let cmd: &[u8] = if ctx.settings.lazyfree_lazy_server_del {
        b"UNLINK"
    } else {
        b"DEL"
    };
    ctx.propagate(argv([cmd, key]));
    reply
}

/// Removes `count` (< len) random members and returns them. When few members remain
/// (remaining * 5 <= count) the remaining ones are picked instead and become a new set:
/// a listpack stays a listpack, an intset an intset, and a hashtable's survivors start a new
/// listpack (which converts again if they do not fit), as in `spopWithCountCommand`.
fn pop_many(set: &mut Set, count: usize, limits: SetLimits, rng: &mut Rng) -> Vec<Vec<u8>> {
    let remaining = set.len() - count;
    let pop_directly = remaining.saturating_mul(5) > count;
    if let Set::Listpack(items) = set {
        // Listpack picks come back in listpack order.
        let picked = if pop_directly { count } else { remaining };
        let chosen = coll::sample_indices(rng, items.len(), picked);
        let (chosen, others) = split_by_index(std::mem::take(items), &chosen);
        let (popped, kept) = if pop_directly {
            (chosen, others)
        } else {
            (others, chosen)
        };
        *items = kept;
        return popped.iter().map(|b| b.to_vec()).collect();
    }
    if pop_directly {
        return (0..count).filter_map(|_| pop_random(set, rng)).collect();
    }
    let mut survivors = match set {
        Set::Intset(_) => Set::Intset(Vec::new()),
        _ => Set::Listpack(Vec::new()),
    };
    for _ in 0..remaining {
        if let Some(m) = pop_random(set, rng) {
            survivors.add(&m, limits);
        }
    }
    let popped = set.iter().map(|m| m.into_owned()).collect();
    *set = survivors;
    popped
}

/// Splits `items` into those at the (sorted) positions `chosen` and the rest, keeping order.
fn split_by_index(items: Vec<Blob>, chosen: &[usize]) -> (Vec<Blob>, Vec<Blob>) {
    let mut picked = Vec::with_capacity(chosen.len());
    let mut rest = Vec::with_capacity(items.len() - chosen.len());
    let mut next = chosen.iter().peekable();
    for (i, b) in items.into_iter().enumerate() {
        if next.peek() == Some(&&i) {
            next.next();
            picked.push(b);
        } else {
            rest.push(b);
        }
    }
    (picked, rest)
}

/// SRANDMEMBER key [count]
pub fn srandmember(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    let mut rng = Rng::new(ctx.ks.rng.next_u64());
    match a.len() {
        2 => with_set(ctx, &a[1], Reply::Nil, |s| {
            s.random(&mut rng).map_or(Reply::Nil, |m| Reply::bulk(&m))
        }),
        3 => {
            let count = match coll::random_count(&a[2]) {
                Ok(c) => c,
                Err(e) => return e,
            };
            let mut budget = coll::ReplyBudget::new(ctx.reply_budget);
            let reply = match read_set(ctx, &a[1]) {
                Ok(Some(s)) => Reply::Array(random_members(s, count, &mut rng, &mut budget)),
                Ok(None) => Reply::Array(Vec::new()),
                Err(e) => e,
            };
            ctx.reply_cut |= budget.cut;
            reply
        }
        _ => err(errors::SYNTAX),
    }
}

/// The cases of `srandmemberWithCountCommand`: a negative count repeats members in random
/// order; a positive one returns distinct members (the whole set if it is not larger; a
/// listpack's picks in listpack order; otherwise a random subset).
fn random_members(
    set: &Set,
    count: i64,
    rng: &mut Rng,
    budget: &mut coll::ReplyBudget,
) -> Vec<Reply> {
    let n = count.unsigned_abs();
    let size = set.len();
    let mut out = Vec::with_capacity(coll::capped(n));
    if n == 0 {
        return out;
    }
    if count < 0 || n == 1 {
        for _ in 0..n {
            if let Some(m) = set.random(rng) {
                if !budget.spend(m.len()) {
                    break;
                }
                out.push(Reply::bulk(&m));
            }
        }
    } else if n >= size as u64 {
        out.extend(set.iter().map(|m| Reply::bulk(&m)));
    } else if let Set::Listpack(items) = set {
        for i in coll::sample_indices(rng, size, n as usize) {
            out.push(Reply::bulk(&items[i]));
        }
    } else if n * 3 > size as u64 {
        let all: Vec<_> = set.iter().collect();
        for i in coll::sample_indices(rng, size, n as usize) {
            out.push(Reply::bulk(&all[i]));
        }
    } else {
        let mut seen = HashSet::with_capacity(n as usize);
        while (seen.len() as u64) < n {
            let Some(m) = set.random(rng) else { break };
            if !seen.contains(&m) {
                out.push(Reply::bulk(&m));
                seen.insert(m);
            }
        }
    }
    out
}
