//! Hash commands: HSET and friends, counters, whole-hash reads, HRANDFIELD, HSCAN.
//!
//! Encodings follow Valkey 8 (`t_hash.c`): a hash starts as a listpack and becomes a hashtable
//! for good when it outgrows `hash-max-listpack-entries` / `hash-max-listpack-value`
//! ([`Hash::prepare_write`] and [`Hash::set`]). A hash that loses its last field is deleted.

use std::collections::HashSet;

use bytes::Bytes;
use keyspace::{Boxed, NewValue, Obj, ValueRef};
use resp::Reply;
use types::hash::Hash;
use types::rand::Rng;

use crate::args::{self, is};
use crate::coll::{self, ScanOf};
use crate::ctx::{argv, Ctx};
use crate::errors::{self, err};
use crate::ldouble::LongDouble;
use crate::notify;
use crate::row;
use crate::spec::{acl, flags as f, CommandSpec, Handler, Keys};

const RO_ACCESS: &[&str] = &["RO", "ACCESS"];
const RW_ACCESS_UPDATE: &[&str] = &["RW", "ACCESS", "UPDATE"];

pub static COMMANDS: &[CommandSpec] = &[
    row!("hset", -4, f::WRITE | f::DENYOOM | f::FAST, acl::HASH, Keys::range(1, 0, 1, &["RW", "UPDATE"]), "hash", "2.0.0", "Creates or modifies the value of a field in a hash.", Handler::Data(hset)),
    row!("hsetnx", 4, f::WRITE | f::DENYOOM | f::FAST, acl::HASH, Keys::range(1, 0, 1, &["RW", "INSERT"]), "hash", "2.0.0", "Sets the value of a field in a hash only when the field doesn't exist.", Handler::Data(hsetnx)),
    row!("hget", 3, f::READONLY | f::FAST, acl::HASH, Keys::range(1, 0, 1, RO_ACCESS), "hash", "2.0.0", "Returns the value of a field in a hash.", Handler::Data(hget)),
    row!("hmget", -3, f::READONLY | f::FAST, acl::HASH, Keys::range(1, 0, 1, RO_ACCESS), "hash", "2.0.0", "Returns the values of all fields in a hash.", Handler::Data(hmget)),
    row!("hmset", -4, f::WRITE | f::DENYOOM | f::FAST, acl::HASH, Keys::range(1, 0, 1, &["RW", "UPDATE"]), "hash", "2.0.0", "Sets the values of multiple fields.", Handler::Data(hmset)),
    row!("hdel", -3, f::WRITE | f::FAST, acl::HASH, Keys::range(1, 0, 1, &["RW", "DELETE"]), "hash", "2.0.0", "Deletes one or more fields and their values from a hash. Deletes the hash if no fields remain.", Handler::Data(hdel)),
    row!("hlen", 2, f::READONLY | f::FAST, acl::HASH, Keys::range(1, 0, 1, &["RO"]), "hash", "2.0.0", "Returns the number of fields in a hash.", Handler::Data(hlen)),
    row!("hexists", 3, f::READONLY | f::FAST, acl::HASH, Keys::range(1, 0, 1, &["RO"]), "hash", "2.0.0", "Determines whether a field exists in a hash.", Handler::Data(hexists)),
    row!("hgetall", 2, f::READONLY, acl::HASH, Keys::range(1, 0, 1, RO_ACCESS), "hash", "2.0.0", "Returns all fields and values in a hash.", Handler::Data(hgetall)),
    row!("hkeys", 2, f::READONLY, acl::HASH, Keys::range(1, 0, 1, RO_ACCESS), "hash", "2.0.0", "Returns all fields in a hash.", Handler::Data(hkeys)),
    row!("hvals", 2, f::READONLY, acl::HASH, Keys::range(1, 0, 1, RO_ACCESS), "hash", "2.0.0", "Returns all values in a hash.", Handler::Data(hvals)),
    row!("hincrby", 4, f::WRITE | f::DENYOOM | f::FAST, acl::HASH, Keys::range(1, 0, 1, RW_ACCESS_UPDATE), "hash", "2.0.0", "Increments the integer value of a field in a hash by a number. Uses 0 as initial value if the field doesn't exist.", Handler::Data(hincrby)),
    row!("hincrbyfloat", 4, f::WRITE | f::DENYOOM | f::FAST, acl::HASH, Keys::range(1, 0, 1, RW_ACCESS_UPDATE), "hash", "2.6.0", "Increments the floating point value of a field by a number. Uses 0 as initial value if the field doesn't exist.", Handler::Data(hincrbyfloat)),
    row!("hstrlen", 3, f::READONLY | f::FAST, acl::HASH, Keys::range(1, 0, 1, &["RO"]), "hash", "3.2.0", "Returns the length of the value of a field.", Handler::Data(hstrlen)),
    row!("hrandfield", -2, f::READONLY, acl::HASH, Keys::range(1, 0, 1, RO_ACCESS), "hash", "6.2.0", "Returns one or more random fields from a hash.", Handler::Data(hrandfield)),
    row!("hscan", -3, f::READONLY, acl::HASH, Keys::range(1, 0, 1, RO_ACCESS), "hash", "2.8.0", "Iterates over fields and values of a hash.", Handler::Data(hscan)),
];

// --- lookups -----------------------------------------------------------------------------

fn as_hash(obj: &Obj) -> Result<&Hash, Reply> {
    match obj.value() {
        ValueRef::Hash(h) => Ok(h),
        _ => Err(err(errors::WRONGTYPE)),
    }
}

/// The hash at `key` for a read (`lookupKeyRead`): `Ok(None)` if missing.
fn read_hash<'k>(ctx: &'k mut Ctx, key: &[u8]) -> Result<Option<&'k Hash>, Reply> {
    ctx.ks.read(ctx.db, key).map(as_hash).transpose()
}

/// The hash at `key` for a command that may write (`lookupKeyWrite`).
fn write_hash<'k>(ctx: &'k mut Ctx, key: &[u8]) -> Result<Option<&'k Hash>, Reply> {
    ctx.ks.get(ctx.db, key).map(as_hash).transpose()
}

/// Mutable access; the key counts as modified. Call only when a change will be made.
fn hash_mut<'k>(ctx: &'k mut Ctx, key: &[u8]) -> Option<&'k mut Hash> {
    match ctx.ks.get_mut(ctx.db, key)?.boxed_mut()? {
        Boxed::Hash(h) => Some(h),
        _ => None,
    }
}

/// Applies `change` to the hash at `key`, creating the key if missing
/// (`hashTypeLookupWriteOrCreate`, raising `new`). The caller has checked the type.
fn upsert_hash<R>(ctx: &mut Ctx, key: &[u8], change: impl FnOnce(&mut Hash) -> R) -> R {
    if let Some(h) = hash_mut(ctx, key) {
        return change(h);
    }
    let mut h = Hash::default();
    let r = change(&mut h);
    if !h.is_empty() {
        ctx.store(Obj::new(key, NewValue::Boxed(Boxed::Hash(h)), None));
    }
    r
}

/// Runs a reply-producing closure over the hash at `key` (read lookup); `missing` if absent.
fn with_hash(ctx: &mut Ctx, key: &[u8], missing: Reply, f: impl FnOnce(&Hash) -> Reply) -> Reply {
    match read_hash(ctx, key) {
        Ok(Some(h)) => f(h),
        Ok(None) => missing,
        Err(e) => e,
    }
}

// --- writes ------------------------------------------------------------------------------

pub fn hset(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    hset_generic(ctx, a, "hset")
}

pub fn hmset(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    hset_generic(ctx, a, "hmset")
}

/// HSET replies how many fields were created, HMSET replies OK.
fn hset_generic(ctx: &mut Ctx, a: &[Bytes], name: &str) -> Reply {
    if a.len() % 2 == 1 {
        return errors::wrong_arity(name);
    }
    if let Err(e) = write_hash(ctx, &a[1]) {
        return e;
    }
    let limits = ctx.settings.hash;
    let pairs = &a[2..];
    let longest = pairs.iter().map(|x| x.len()).max().unwrap_or(0);
    let created = upsert_hash(ctx, &a[1], |h| {
        h.prepare_write(pairs.len() / 2, longest, limits);
        pairs
            .chunks_exact(2)
            .filter(|kv| h.set(&kv[0], &kv[1], limits))
            .count()
    });
    ctx.notify(notify::HASH, "hset", &a[1]);
    ctx.dirty += (pairs.len() / 2) as u64;
    if name == "hset" {
        Reply::Int(created as i64)
    } else {
        Reply::Ok
    }
}

pub fn hsetnx(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    match write_hash(ctx, &a[1]) {
        Ok(Some(h)) if h.contains(&a[2]) => return Reply::Int(0),
        Ok(_) => {}
        Err(e) => return e,
    }
    let limits = ctx.settings.hash;
    upsert_hash(ctx, &a[1], |h| {
        h.prepare_write(1, a[2].len().max(a[3].len()), limits);
        h.set(&a[2], &a[3], limits)
    });
    ctx.notify(notify::HASH, "hset", &a[1]);
    ctx.dirty += 1;
    Reply::Int(1)
}

pub fn hdel(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    let present = match write_hash(ctx, &a[1]) {
        Ok(Some(h)) => a[2..].iter().any(|f| h.contains(f)),
        Ok(None) => false,
        Err(e) => return e,
    };
    if !present {
        return Reply::Int(0);
    }
    let Some(h) = hash_mut(ctx, &a[1]) else {
        return Reply::Int(0);
    };
    let mut deleted = 0;
    for field in &a[2..] {
        if h.remove(field) {
            deleted += 1;
            if h.is_empty() {
                break;
            }
        }
    }
    let emptied = h.is_empty();
    if emptied {
        ctx.ks.remove(ctx.db, &a[1]);
    }
    ctx.notify(notify::HASH, "hdel", &a[1]);
    if emptied {
        ctx.notify(notify::GENERIC, "del", &a[1]);
    }
    ctx.dirty += deleted;
    Reply::Int(deleted as i64)
}

/// The current value of `field` for HINCRBY/HINCRBYFLOAT (write lookup), owned.
fn current_value(ctx: &mut Ctx, key: &[u8], field: &[u8]) -> Result<Option<Vec<u8>>, Reply> {
    Ok(write_hash(ctx, key)?.and_then(|h| h.get(field).map(<[u8]>::to_vec)))
}

pub fn hincrby(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    let incr = match args::int(&a[3]) {
        Ok(v) => v,
        Err(e) => return e,
    };
    let cur = match current_value(ctx, &a[1], &a[2]) {
        Ok(None) => 0,
        Ok(Some(v)) => match resp::request::parse_i64(&v) {
            Some(i) => i,
            None => return err(errors::HASH_NOT_INT),
        },
        Err(e) => return e,
    };
    let Some(new) = cur.checked_add(incr) else {
        return err(errors::OVERFLOW);
    };
    let text = new.to_string();
    let limits = ctx.settings.hash;
    upsert_hash(ctx, &a[1], |h| h.set(&a[2], text.as_bytes(), limits));
    ctx.notify(notify::HASH, "hincrby", &a[1]);
    ctx.dirty += 1;
    Reply::Int(new)
}

/// Computed in x87 `long double` and printed as Redis does (see `ldouble`). Propagated as HSET
/// with the resulting text, so replicas never redo the float arithmetic.
pub fn hincrbyfloat(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    let Some(incr) = LongDouble::parse(&a[3]) else {
        return err(errors::NOT_FLOAT);
    };
    if !incr.is_finite() {
        return err(errors::NAN_OR_INFINITY);
    }
    let cur = match current_value(ctx, &a[1], &a[2]) {
        Ok(None) => LongDouble::ZERO,
        Ok(Some(v)) => match LongDouble::parse(&v) {
            Some(x) => x,
            None => return err(errors::HASH_NOT_FLOAT),
        },
        Err(e) => return e,
    };
    let new = cur.add(incr);
    if !new.is_finite() {
        return err(errors::INCR_NAN_INF); // NaN or infinite
    }
    let text = new.to_human_string();
    let limits = ctx.settings.hash;
    upsert_hash(ctx, &a[1], |h| h.set(&a[2], text.as_bytes(), limits));
    ctx.notify(notify::HASH, "hincrbyfloat", &a[1]);
    ctx.dirty += 1;
    ctx.propagate(argv([&b"HSET"[..], &a[1], &a[2], text.as_bytes()]));
    Reply::bulk(text.as_bytes())
}

// --- reads -------------------------------------------------------------------------------

pub fn hget(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    with_hash(ctx, &a[1], Reply::Nil, |h| Reply::opt_bulk(h.get(&a[2])))
}

pub fn hmget(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    let h = match read_hash(ctx, &a[1]) {
        Ok(h) => h,
        Err(e) => return e,
    };
    let values = a[2..]
        .iter()
        .map(|f| Reply::opt_bulk(h.and_then(|h| h.get(f))))
        .collect();
    Reply::Array(values)
}

pub fn hlen(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    with_hash(ctx, &a[1], Reply::Int(0), |h| Reply::Int(h.len() as i64))
}

pub fn hstrlen(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    with_hash(ctx, &a[1], Reply::Int(0), |h| {
        Reply::Int(h.get(&a[2]).map_or(0, |v| v.len()) as i64)
    })
}

pub fn hexists(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    with_hash(ctx, &a[1], Reply::Int(0), |h| {
        Reply::Int(h.contains(&a[2]) as i64)
    })
}

/// HGETALL is a map (RESP3 `%`); an empty one for a missing key.
pub fn hgetall(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    with_hash(ctx, &a[1], Reply::Map(Vec::new()), |h| {
        Reply::Map(
            h.iter()
                .map(|(f, v)| (Reply::bulk(f), Reply::bulk(v)))
                .collect(),
        )
    })
}

pub fn hkeys(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    with_hash(ctx, &a[1], Reply::Array(Vec::new()), |h| {
        Reply::bulks(h.iter().map(|(f, _)| f))
    })
}

pub fn hvals(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    with_hash(ctx, &a[1], Reply::Array(Vec::new()), |h| {
        Reply::bulks(h.iter().map(|(_, v)| v))
    })
}

/// HSCAN key cursor [MATCH pattern] [COUNT count] [NOVALUES]. A listpack is returned whole with
/// cursor 0; a hashtable is walked with the reverse-binary cursor. Options are checked only
/// once the key is found, as Valkey does.
pub fn hscan(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    let cursor = match coll::parse_cursor(&a[2]) {
        Ok(c) => c,
        Err(e) => return e,
    };
    let h = match read_hash(ctx, &a[1]) {
        Ok(Some(h)) => h,
        Ok(None) => return coll::empty_scan(),
        Err(e) => return e,
    };
    let opts = match coll::parse_scan_opts(a, ScanOf::Hash) {
        Ok(o) => o,
        Err(e) => return e,
    };
    let mut items = Vec::new();
    let next = h.scan(cursor, opts.count, |field, value| {
        if opts.matches(field) {
            items.push(Reply::bulk(field));
            if !opts.only_keys {
                items.push(Reply::bulk(value));
            }
        }
    });
    coll::scan_reply(next, items)
}

// --- HRANDFIELD --------------------------------------------------------------------------

/// HRANDFIELD key [count [WITHVALUES]]
pub fn hrandfield(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    let mut rng = Rng::new(ctx.ks.rng.next_u64());
    if a.len() < 3 {
        return with_hash(ctx, &a[1], Reply::Nil, |h| {
            h.random(&mut rng)
                .map_or(Reply::Nil, |(f, _)| Reply::bulk(f))
        });
    }
    let count = match coll::random_count(&a[2]) {
        Ok(c) => c,
        Err(e) => return e,
    };
    if a.len() > 4 || (a.len() == 4 && !is(&a[3], "withvalues")) {
        return err(errors::SYNTAX);
    }
    let withvalues = a.len() == 4;
    if withvalues && !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&count) {
        return err(errors::OUT_OF_RANGE);
    }
    let out = PairOut {
        withvalues,
        resp3: ctx.resp3(),
    };
    let mut budget = coll::ReplyBudget::new(ctx.reply_budget);
    let reply = with_hash(ctx, &a[1], Reply::Array(Vec::new()), |h| {
        Reply::Array(random_fields(h, count, out, &mut rng, &mut budget))
    });
    ctx.reply_cut |= budget.cut;
    reply
}

/// How HRANDFIELD lays out one field: alone, followed by its value (RESP2), or as a
/// `[field, value]` pair (RESP3).
#[derive(Clone, Copy)]
struct PairOut {
    withvalues: bool,
    resp3: bool,
}

impl PairOut {
    fn push(self, out: &mut Vec<Reply>, field: &[u8], value: &[u8]) {
        match (self.withvalues, self.resp3) {
            (false, _) => out.push(Reply::bulk(field)),
            (true, true) => out.push(Reply::Array(vec![Reply::bulk(field), Reply::bulk(value)])),
            (true, false) => {
                out.push(Reply::bulk(field));
                out.push(Reply::bulk(value));
            }
        }
    }
}

/// The cases of `hrandfieldWithCountCommand`: a negative count repeats fields in random
/// order; a positive one returns distinct fields (the whole hash if it is not larger; a
/// listpack's picks in listpack order; otherwise a random subset).
fn random_fields(
    h: &Hash,
    count: i64,
    out: PairOut,
    rng: &mut Rng,
    budget: &mut coll::ReplyBudget,
) -> Vec<Reply> {
    let n = count.unsigned_abs();
    let size = h.len();
    let mut replies = Vec::with_capacity(coll::capped(n));
    if n == 0 {
        return replies;
    }
    if count < 0 || n == 1 {
        for _ in 0..n {
            if let Some((f, v)) = h.random(rng) {
                let len = f.len() + if out.withvalues { v.len() + 16 } else { 0 };
                if !budget.spend(len) {
                    break;
                }
                out.push(&mut replies, f, v);
            }
        }
    } else if n >= size as u64 {
        h.iter().for_each(|(f, v)| out.push(&mut replies, f, v));
    } else if let Hash::Listpack(pairs) = h {
        for i in coll::sample_indices(rng, size, n as usize) {
            out.push(&mut replies, pairs[i].field(), pairs[i].value());
        }
    } else if n * 3 > size as u64 {
        let all: Vec<(&[u8], &[u8])> = h.iter().collect();
        for i in coll::sample_indices(rng, size, n as usize) {
            out.push(&mut replies, all[i].0, all[i].1);
        }
    } else {
        let mut seen = HashSet::with_capacity(n as usize);
        while (seen.len() as u64) < n {
            let Some((f, v)) = h.random(rng) else { break };
            if seen.insert(f) {
                out.push(&mut replies, f, v);
            }
        }
    }
    replies
}
