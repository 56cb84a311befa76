//! Set commands. This file: the table rows, lookups, membership commands, SMOVE and SSCAN;
//! [`random`]: SPOP and SRANDMEMBER; [`algebra`]: SINTER/SUNION/SDIFF, their STORE forms and
//! SINTERCARD.
//!
//! Encodings follow Valkey 8 (`t_set.c`), which differs from Redis 7.0 by having a `listpack`
//! encoding for small sets of strings: a set starts as an intset (first member an integer) or a
//! listpack, and becomes a hashtable when it outgrows the `set-max-*` limits
//! ([`Set::add`], [`Set::maybe_convert`]). A set that loses its last member is deleted.

mod algebra;
mod random;

use bytes::Bytes;
use keyspace::{Boxed, NewValue, Obj, ValueRef};
use resp::Reply;
use types::set::{Set, SetLimits};

use crate::coll::{self, ScanOf};
use crate::ctx::Ctx;
use crate::errors::{self, err};
use crate::notify;
use crate::row;
use crate::spec::{acl, flags as f, CommandSpec, Handler, Keys};

pub use algebra::{sdiff, sdiffstore, sinter, sintercard, sinterstore, sunion, sunionstore};
pub use random::{spop, srandmember};

const RO_ACCESS: &[&str] = &["RO", "ACCESS"];
const OW_UPDATE: &[&str] = &["OW", "UPDATE"];

pub static COMMANDS: &[CommandSpec] = &[
    row!("sadd", -3, f::WRITE | f::DENYOOM | f::FAST, acl::SET, Keys::range(1, 0, 1, &["RW", "INSERT"]), "set", "1.0.0", "Adds one or more members to a set. Creates the key if it doesn't exist.", Handler::Data(sadd)),
    row!("srem", -3, f::WRITE | f::FAST, acl::SET, Keys::range(1, 0, 1, &["RW", "DELETE"]), "set", "1.0.0", "Removes one or more members from a set. Deletes the set if the last member was removed.", Handler::Data(srem)),
    row!("smembers", 2, f::READONLY, acl::SET, Keys::range(1, 0, 1, RO_ACCESS), "set", "1.0.0", "Returns all members of a set.", Handler::Data(smembers)),
    row!("sismember", 3, f::READONLY | f::FAST, acl::SET, Keys::range(1, 0, 1, &["RO"]), "set", "1.0.0", "Determines whether a member belongs to a set.", Handler::Data(sismember)),
    row!("smismember", -3, f::READONLY | f::FAST, acl::SET, Keys::range(1, 0, 1, RO_ACCESS), "set", "6.2.0", "Determines whether multiple members belong to a set.", Handler::Data(smismember)),
    row!("scard", 2, f::READONLY | f::FAST, acl::SET, Keys::range(1, 0, 1, &["RO"]), "set", "1.0.0", "Returns the number of members in a set.", Handler::Data(scard)),
    row!("spop", -2, f::WRITE | f::FAST, acl::SET, Keys::range(1, 0, 1, &["RW", "ACCESS", "DELETE"]), "set", "1.0.0", "Returns one or more random members from a set after removing them. Deletes the set if the last member was popped.", Handler::Data(spop)),
    row!("srandmember", -2, f::READONLY, acl::SET, Keys::range(1, 0, 1, RO_ACCESS), "set", "1.0.0", "Get one or multiple random members from a set", Handler::Data(srandmember)),
    row!("smove", 4, f::WRITE | f::FAST, acl::SET, Keys::range(1, 1, 1, &["RW", "ACCESS", "DELETE"]), "set", "1.0.0", "Moves a member from one set to another.", Handler::Data(smove)),
    row!("sinter", -2, f::READONLY, acl::SET, Keys::range(1, -1, 1, RO_ACCESS), "set", "1.0.0", "Returns the intersect of multiple sets.", Handler::Data(sinter)),
    row!("sunion", -2, f::READONLY, acl::SET, Keys::range(1, -1, 1, RO_ACCESS), "set", "1.0.0", "Returns the union of multiple sets.", Handler::Data(sunion)),
    row!("sdiff", -2, f::READONLY, acl::SET, Keys::range(1, -1, 1, RO_ACCESS), "set", "1.0.0", "Returns the difference of multiple sets.", Handler::Data(sdiff)),
    row!("sinterstore", -3, f::WRITE | f::DENYOOM, acl::SET, Keys::range(1, -1, 1, OW_UPDATE), "set", "1.0.0", "Stores the intersect of multiple sets in a key.", Handler::Data(sinterstore)),
    row!("sunionstore", -3, f::WRITE | f::DENYOOM, acl::SET, Keys::range(1, -1, 1, OW_UPDATE), "set", "1.0.0", "Stores the union of multiple sets in a key.", Handler::Data(sunionstore)),
    row!("sdiffstore", -3, f::WRITE | f::DENYOOM, acl::SET, Keys::range(1, -1, 1, OW_UPDATE), "set", "1.0.0", "Stores the difference of multiple sets in a key.", Handler::Data(sdiffstore)),
    row!("sintercard", -3, f::READONLY, acl::SET, Keys::movable(algebra::sintercard_keys, RO_ACCESS), "set", "7.0.0", "Returns the number of members of the intersect of multiple sets.", Handler::Data(sintercard)),
    row!("sscan", -3, f::READONLY, acl::SET, Keys::range(1, 0, 1, RO_ACCESS), "set", "2.8.0", "Iterates over members of a set.", Handler::Data(sscan)),
];

// --- lookups (shared with the submodules) ------------------------------------------------

fn as_set(obj: &Obj) -> Result<&Set, Reply> {
    match obj.value() {
        ValueRef::Set(s) => Ok(s),
        _ => Err(err(errors::WRONGTYPE)),
    }
}

/// The set at `key` for a read (`lookupKeyRead`): `Ok(None)` if missing.
fn read_set<'k>(ctx: &'k mut Ctx, key: &[u8]) -> Result<Option<&'k Set>, Reply> {
    ctx.ks.read(ctx.db, key).map(as_set).transpose()
}

/// The set at `key` for a command that may write (`lookupKeyWrite`).
fn write_set<'k>(ctx: &'k mut Ctx, key: &[u8]) -> Result<Option<&'k Set>, Reply> {
    ctx.ks.get(ctx.db, key).map(as_set).transpose()
}

/// Mutable access; the key counts as modified. Call only when a change will be made.
fn set_mut<'k>(ctx: &'k mut Ctx, key: &[u8]) -> Option<&'k mut Set> {
    match ctx.ks.get_mut(ctx.db, key)?.boxed_mut()? {
        Boxed::Set(s) => Some(s),
        _ => None,
    }
}

/// Runs a reply-producing closure over the set at `key` (read lookup); `missing` if absent.
fn with_set(ctx: &mut Ctx, key: &[u8], missing: Reply, f: impl FnOnce(&Set) -> Reply) -> Reply {
    match read_set(ctx, key) {
        Ok(Some(s)) => f(s),
        Ok(None) => missing,
        Err(e) => e,
    }
}

/// Stores a new set value under `key` with no TTL (`setKey`/`dbAdd`, raising `new` for a
/// key that did not exist), freeing any old value the way the server frees overwritten values.
fn put_set(ctx: &mut Ctx, key: &[u8], set: Set) {
    let old = ctx.store(Obj::new(key, NewValue::Boxed(Boxed::Set(set)), None));
    if let Some(old) = old {
        free_deleted(ctx, old);
    }
}

/// Deletes `key` (`dbDelete`); returns true if it existed.
fn delete_key(ctx: &mut Ctx, key: &[u8]) -> bool {
    match ctx.ks.remove(ctx.db, key) {
        Some(old) => {
            free_deleted(ctx, old);
            true
        }
        None => false,
    }
}

fn free_deleted(ctx: &Ctx, old: Obj) {
    if ctx.settings.lazyfree_lazy_server_del {
        keyspace::lazyfree::free(old);
    }
}

/// True if `setTypeMaybeConvert` would convert `set` before adding `hint` members.
fn hint_converts(set: &Set, hint: usize, limits: SetLimits) -> bool {
    match set {
        Set::Intset(_) => hint > limits.max_intset_entries,
        Set::Listpack(_) => hint > limits.max_listpack_entries,
        Set::Table(_) => false,
    }
}

// --- commands ------------------------------------------------------------------------------

pub fn sadd(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    let limits = ctx.settings.set;
    let members = &a[2..];
    // One search: the key is signalled modified (and its value made unique) only if a
    // member is added or the set converts.
    let (mut is_set, mut changes) = (false, false);
    let found = ctx.ks.get_mut_when(ctx.db, &a[1], |o| {
        if let Ok(s) = as_set(o) {
            is_set = true;
            changes =
                members.iter().any(|m| !s.contains(m)) || hint_converts(s, members.len(), limits);
        }
        changes
    });
    let Some(obj) = found else {
        let mut set = Set::with_first(&members[0], members.len(), limits);
        let added = members.iter().filter(|m| set.add(m, limits)).count();
        put_set(ctx, &a[1], set);
        ctx.notify(notify::SET, "sadd", &a[1]);
        ctx.dirty += added as u64;
        return Reply::Int(added as i64);
    };
    if !is_set {
        return err(errors::WRONGTYPE);
    }
    if !changes {
        return Reply::Int(0);
    }
    let Some(Boxed::Set(set)) = obj.boxed_mut() else {
        return Reply::Int(0);
    };
    set.maybe_convert(members.len(), limits);
    let added = members.iter().filter(|m| set.add(m, limits)).count();
    if added > 0 {
        ctx.notify(notify::SET, "sadd", &a[1]);
    }
    ctx.dirty += added as u64;
    Reply::Int(added as i64)
}

pub fn srem(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    let present = match write_set(ctx, &a[1]) {
        Ok(Some(s)) => a[2..].iter().any(|m| s.contains(m)),
        Ok(None) => false,
        Err(e) => return e,
    };
    if !present {
        return Reply::Int(0);
    }
    let Some(set) = set_mut(ctx, &a[1]) else {
        return Reply::Int(0);
    };
    let mut deleted = 0u64;
    for m in &a[2..] {
        if set.remove(m) {
            deleted += 1;
            if set.is_empty() {
                break;
            }
        }
    }
    let emptied = set.is_empty();
    if emptied {
        delete_key(ctx, &a[1]);
    }
    ctx.notify(notify::SET, "srem", &a[1]);
    if emptied {
        ctx.notify(notify::GENERIC, "del", &a[1]);
    }
    ctx.dirty += deleted;
    Reply::Int(deleted as i64)
}

/// SMEMBERS is SINTER of one key in Valkey: a RESP3 set, empty for a missing key.
pub fn smembers(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    with_set(ctx, &a[1], Reply::Set(Vec::new()), |s| {
        Reply::Set(s.iter().map(|m| Reply::bulk(&m)).collect())
    })
}

pub fn sismember(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    with_set(ctx, &a[1], Reply::Int(0), |s| {
        Reply::Int(s.contains(&a[2]) as i64)
    })
}

pub fn smismember(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    let set = match read_set(ctx, &a[1]) {
        Ok(s) => s,
        Err(e) => return e,
    };
    let flags = a[2..]
        .iter()
        .map(|m| Reply::Int(set.is_some_and(|s| s.contains(m)) as i64))
        .collect();
    Reply::Array(flags)
}

pub fn scard(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    with_set(ctx, &a[1], Reply::Int(0), |s| Reply::Int(s.len() as i64))
}

/// SMOVE source destination member. A missing source replies 0 before any type check of the
/// destination, as Valkey does.
pub fn smove(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    let (src, dst, member) = (&a[1], &a[2], &a[3]);
    let src_has = match write_set(ctx, src) {
        Ok(Some(s)) => s.contains(member),
        Ok(None) => return Reply::Int(0),
        Err(e) => return e,
    };
    let dst_exists = match write_set(ctx, dst) {
        Ok(d) => d.is_some(),
        Err(e) => return e,
    };
    if src == dst {
        return Reply::Int(src_has as i64);
    }
    if !src_has {
        return Reply::Int(0);
    }
    if let Some(s) = set_mut(ctx, src) {
        s.remove(member);
        let emptied = s.is_empty();
        ctx.notify(notify::SET, "srem", src);
        if emptied {
            delete_key(ctx, src);
            ctx.notify(notify::GENERIC, "del", src);
        }
    }
    ctx.dirty += 1;
    let limits = ctx.settings.set;
    if !dst_exists {
        let mut set = Set::with_first(member, 1, limits);
        set.add(member, limits);
        put_set(ctx, dst, set);
        ctx.notify(notify::SET, "sadd", dst);
        ctx.dirty += 1;
    } else if write_set(ctx, dst).is_ok_and(|d| d.is_some_and(|d| !d.contains(member))) {
        if let Some(d) = set_mut(ctx, dst) {
            d.add(member, limits);
            ctx.notify(notify::SET, "sadd", dst);
            ctx.dirty += 1;
        }
    }
    Reply::Int(1)
}

/// SSCAN key cursor [MATCH pattern] [COUNT count]. Intsets and listpacks are returned whole
/// with cursor 0.
pub fn sscan(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    let cursor = match coll::parse_cursor(&a[2]) {
        Ok(c) => c,
        Err(e) => return e,
    };
    let set = match read_set(ctx, &a[1]) {
        Ok(Some(s)) => s,
        Ok(None) => return coll::empty_scan(),
        Err(e) => return e,
    };
    let opts = match coll::parse_scan_opts(a, ScanOf::Set) {
        Ok(o) => o,
        Err(e) => return e,
    };
    let mut items = Vec::new();
    let next = set.scan(cursor, opts.count, |m| {
        if opts.matches(m) {
            items.push(Reply::bulk(m));
        }
    });
    coll::scan_reply(next, items)
}
