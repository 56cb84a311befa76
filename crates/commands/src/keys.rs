//! Generic key commands: deletion and existence, renaming and copying, database-wide
//! iteration (KEYS, SCAN, RANDOMKEY), DBSIZE/SWAPDB; expiry commands live in [`expire`] and
//! SORT in [`sort`]. The table rows for the whole family are here.

mod expire;
mod sort;

use bytes::Bytes;
use keyspace::{lazyfree, Boxed, Keyspace, Kind, NewValue, Obj};
use resp::Reply;

use crate::args::{self, is};
use crate::ctx::Ctx;
use crate::errors::{self, err};
use crate::notify;
use crate::row;
use crate::spec::{acl, flags as f, CommandSpec, Handler, Keys};

use expire::{expire, expireat, expiretime, persist, pexpire, pexpireat, pexpiretime, pttl, ttl};
use sort::{sort, sort_ro};

const RM_DELETE: &[&str] = &["RM", "DELETE"];
const RW_UPDATE: &[&str] = &["RW", "UPDATE"];
const RO: &[&str] = &["RO"];
const RO_ACCESS: &[&str] = &["RO", "ACCESS"];

pub static COMMANDS: &[CommandSpec] = &[
    row!("del", -2, f::WRITE, acl::KEYSPACE, Keys::range(1, -1, 1, RM_DELETE), "generic", "1.0.0", "Deletes one or more keys.", Handler::Data(del)),
    row!("unlink", -2, f::WRITE | f::FAST, acl::KEYSPACE, Keys::range(1, -1, 1, RM_DELETE), "generic", "4.0.0", "Asynchronously deletes one or more keys.", Handler::Data(unlink)),
    row!("exists", -2, f::READONLY | f::FAST, acl::KEYSPACE, Keys::range(1, -1, 1, RO), "generic", "1.0.0", "Determines whether one or more keys exist.", Handler::Data(exists)),
    row!("type", 2, f::READONLY | f::FAST, acl::KEYSPACE, Keys::range(1, 0, 1, RO), "generic", "1.0.0", "Determines the type of value stored at a key.", Handler::Data(type_)),
    row!("touch", -2, f::READONLY | f::FAST, acl::KEYSPACE, Keys::range(1, -1, 1, RO), "generic", "3.2.1", "Returns the number of existing keys out of those specified after updating the time they were last accessed.", Handler::Data(touch)),
    row!("expire", -3, f::WRITE | f::FAST, acl::KEYSPACE, Keys::range(1, 0, 1, RW_UPDATE), "generic", "1.0.0", "Sets the expiration time of a key in seconds.", Handler::Data(expire)),
    row!("pexpire", -3, f::WRITE | f::FAST, acl::KEYSPACE, Keys::range(1, 0, 1, RW_UPDATE), "generic", "2.6.0", "Sets the expiration time of a key in milliseconds.", Handler::Data(pexpire)),
    row!("expireat", -3, f::WRITE | f::FAST, acl::KEYSPACE, Keys::range(1, 0, 1, RW_UPDATE), "generic", "1.2.0", "Sets the expiration time of a key to a Unix timestamp.", Handler::Data(expireat)),
    row!("pexpireat", -3, f::WRITE | f::FAST, acl::KEYSPACE, Keys::range(1, 0, 1, RW_UPDATE), "generic", "2.6.0", "Sets the expiration time of a key to a Unix milliseconds timestamp.", Handler::Data(pexpireat)),
    row!("ttl", 2, f::READONLY | f::FAST, acl::KEYSPACE, Keys::range(1, 0, 1, RO_ACCESS), "generic", "1.0.0", "Returns the expiration time in seconds of a key.", Handler::Data(ttl)),
    row!("pttl", 2, f::READONLY | f::FAST, acl::KEYSPACE, Keys::range(1, 0, 1, RO_ACCESS), "generic", "2.6.0", "Returns the expiration time in milliseconds of a key.", Handler::Data(pttl)),
    row!("expiretime", 2, f::READONLY | f::FAST, acl::KEYSPACE, Keys::range(1, 0, 1, RO_ACCESS), "generic", "7.0.0", "Returns the expiration time of a key as a Unix timestamp.", Handler::Data(expiretime)),
    row!("pexpiretime", 2, f::READONLY | f::FAST, acl::KEYSPACE, Keys::range(1, 0, 1, RO_ACCESS), "generic", "7.0.0", "Returns the expiration time of a key as a Unix milliseconds timestamp.", Handler::Data(pexpiretime)),
    row!("persist", 2, f::WRITE | f::FAST, acl::KEYSPACE, Keys::range(1, 0, 1, RW_UPDATE), "generic", "2.2.0", "Removes the expiration time of a key.", Handler::Data(persist)),
    row!("rename", 3, f::WRITE, acl::KEYSPACE, Keys::range(1, 1, 1, &["RW", "ACCESS", "DELETE"]), "generic", "1.0.0", "Renames a key and overwrites the destination.", Handler::Data(rename)),
    row!("renamenx", 3, f::WRITE | f::FAST, acl::KEYSPACE, Keys::range(1, 1, 1, &["RW", "ACCESS", "DELETE"]), "generic", "1.0.0", "Renames a key only when the target key name doesn't exist.", Handler::Data(renamenx)),
    row!("copy", -3, f::WRITE | f::DENYOOM, acl::KEYSPACE, Keys::range(1, 1, 1, RO_ACCESS), "generic", "6.2.0", "Copies the value of a key to a new key.", Handler::Data(copy)),
    row!("move", 3, f::WRITE | f::FAST, acl::KEYSPACE, Keys::range(1, 0, 1, &["RW", "ACCESS", "UPDATE"]), "generic", "1.0.0", "Moves a key to another database.", Handler::Data(move_)),
    row!("keys", 2, f::READONLY, acl::KEYSPACE | acl::DANGEROUS, Keys::NONE, "generic", "1.0.0", "Returns all key names that match a pattern.", Handler::Data(keys)),
    row!("scan", -2, f::READONLY | f::TOUCHES_ARBITRARY_KEYS, acl::KEYSPACE, Keys::NONE, "generic", "2.8.0", "Iterates over the key names in the database.", Handler::Data(scan)),
    row!("randomkey", 1, f::READONLY | f::TOUCHES_ARBITRARY_KEYS, acl::KEYSPACE, Keys::NONE, "generic", "1.0.0", "Returns a random key name from the database.", Handler::Data(randomkey)),
    row!("dbsize", 1, f::READONLY | f::FAST, acl::KEYSPACE, Keys::NONE, "server", "1.0.0", "Returns the number of keys in the database.", Handler::Data(dbsize)),
    row!("swapdb", 3, f::WRITE | f::FAST, acl::KEYSPACE | acl::DANGEROUS, Keys::NONE, "server", "4.0.0", "Swaps two databases.", Handler::Data(swapdb)),
    row!("sort", -2, f::WRITE | f::DENYOOM | f::MOVABLE_KEYS, acl::SET | acl::SORTEDSET | acl::LIST | acl::DANGEROUS, Keys { first: 1, last: 0, step: 1, spec_flags: RO_ACCESS, find: Some(sort::sort_keys) }, "generic", "1.0.0", "Sorts the elements in a list, a set, or a sorted set, optionally storing the result.", Handler::Data(sort)),
    row!("sort_ro", -2, f::READONLY | f::MOVABLE_KEYS, acl::SET | acl::SORTEDSET | acl::LIST | acl::DANGEROUS, Keys::range(1, 0, 1, RO_ACCESS), "generic", "7.0.0", "Returns the sorted elements of a list, a set, or a sorted set.", Handler::Data(sort_ro)),
];

/// `lookupKeyReadWithFlags(LOOKUP_NOTOUCH)`: expiry and hit/miss statistics, but the access
/// time is left alone (EXISTS, TYPE, TTL).
pub(crate) fn read_notouch<'k>(ks: &'k mut Keyspace, db: usize, key: &[u8]) -> Option<&'k Obj> {
    let saved = ks.no_touch;
    ks.no_touch = true;
    let found = ks.read(db, key).is_some();
    ks.no_touch = saved;
    if found {
        ks.db(db).get(key)
    } else {
        None
    }
}

/// Frees a value that a user command removed: in the background when `lazy` (large values
/// only, see [`lazyfree::free`]), inline otherwise.
fn free_value(obj: Obj, lazy: bool) {
    if lazy {
        lazyfree::free(obj);
    } else {
        drop(obj);
    }
}

/// The same value (and access time) under another key. A boxed value that no snapshot shares is
/// moved, not copied, so RENAME of a large collection stays O(1) as in Redis.
fn rekey(mut obj: Obj, key: &[u8]) -> Obj {
    let expire = obj.expire_ms();
    if !obj.is_unique() {
        return obj.with_key(key, expire);
    }
    match obj.boxed_mut() {
        Some(b) => {
            let value = std::mem::replace(b, Boxed::Str(Vec::new()));
            let moved = Obj::new(key, NewValue::Boxed(value), expire);
            moved.set_lru(obj.lru());
            moved
        }
        None => obj.with_key(key, expire),
    }
}

/// Stores `obj` in `db` keeping the access time it had (RENAME and MOVE keep the object, so
/// OBJECT IDLETIME/FREQ carry over; `put` would restart them). Raises `new` for a key that
/// did not exist ([`Ctx::store_in`]).
fn put_keeping_lru(ctx: &mut Ctx, db: usize, obj: Obj) -> Option<Obj> {
    let lru = obj.lru();
    let key = Bytes::copy_from_slice(obj.key());
    let old = ctx.store_in(db, obj);
    if let Some(o) = ctx.ks.db(db).get(&key) {
        o.set_lru(lru);
    }
    old
}

// ---------------------------------------------------------------------------------------------
// DEL UNLINK EXISTS TYPE TOUCH
// ---------------------------------------------------------------------------------------------

fn del_generic(ctx: &mut Ctx, a: &[Bytes], lazy: bool) -> Reply {
    let mut deleted = 0;
    for key in &a[1..] {
        if let Some(old) = ctx.ks.remove(ctx.db, key) {
            free_value(old, lazy);
            ctx.notify(notify::GENERIC, "del", key);
            ctx.dirty += 1;
            deleted += 1;
        }
    }
    Reply::Int(deleted)
}

pub fn del(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    del_generic(ctx, a, ctx.settings.lazyfree_lazy_user_del)
}

pub fn unlink(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    del_generic(ctx, a, true)
}

/// EXISTS counts a key once per time it is named.
pub fn exists(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    let n = a[1..]
        .iter()
        .filter(|k| read_notouch(ctx.ks, ctx.db, k).is_some())
        .count();
    Reply::Int(n as i64)
}

pub fn type_(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    let name = read_notouch(ctx.ks, ctx.db, &a[1]).map_or("none", |o| o.kind().name());
    Reply::status(name)
}

/// TOUCH updates the access time even for a CLIENT NO-TOUCH client (Redis exempts it).
pub fn touch(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    let saved = ctx.ks.no_touch;
    ctx.ks.no_touch = false;
    let n = a[1..]
        .iter()
        .filter(|k| ctx.ks.read(ctx.db, k).is_some())
        .count();
    ctx.ks.no_touch = saved;
    Reply::Int(n as i64)
}

// ---------------------------------------------------------------------------------------------
// RENAME RENAMENX MOVE COPY
// ---------------------------------------------------------------------------------------------

fn rename_generic(ctx: &mut Ctx, a: &[Bytes], nx: bool) -> Reply {
    let (src, dst) = (&a[1], &a[2]);
    if ctx.ks.get(ctx.db, src).is_none() {
        return err(errors::NO_SUCH_KEY);
    }
    let done = if nx { Reply::Int(1) } else { Reply::Ok };
    if src == dst {
        return if nx { Reply::Int(0) } else { Reply::Ok };
    }
    if nx && ctx.ks.get(ctx.db, dst).is_some() {
        return Reply::Int(0);
    }
    let Some(obj) = ctx.ks.remove(ctx.db, src) else {
        return err(errors::NO_SUCH_KEY);
    };
    // As Redis: an existing destination is deleted first, so the stored key is always `new`.
    if let Some(old) = ctx.ks.remove(ctx.db, dst) {
        free_value(old, ctx.settings.lazyfree_lazy_server_del);
    }
    put_keeping_lru(ctx, ctx.db, rekey(obj, dst));
    ctx.notify(notify::GENERIC, "rename_from", src);
    ctx.notify(notify::GENERIC, "rename_to", dst);
    ctx.dirty += 1;
    done
}

pub fn rename(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    rename_generic(ctx, a, false)
}

pub fn renamenx(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    rename_generic(ctx, a, true)
}

/// A database index argument (`getIntFromObjectOrReply`, then `selectDb`'s range check).
fn db_index(ctx: &Ctx, arg: &[u8]) -> Result<usize, Reply> {
    let id = args::int(arg)?;
    if i32::try_from(id).is_err() {
        return Err(err(errors::INT_RANGE));
    }
    match usize::try_from(id) {
        Ok(id) if id < ctx.ks.db_count() => Ok(id),
        _ => Err(err(errors::DB_RANGE)),
    }
}

pub fn move_(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    let dst_db = match db_index(ctx, &a[2]) {
        Ok(d) => d,
        Err(e) => return e,
    };
    if dst_db == ctx.db {
        return err(errors::SAME_OBJECT);
    }
    let key = &a[1];
    if ctx.ks.get(ctx.db, key).is_none() || ctx.ks.get(dst_db, key).is_some() {
        return Reply::Int(0);
    }
    let Some(obj) = ctx.ks.remove(ctx.db, key) else {
        return Reply::Int(0);
    };
    put_keeping_lru(ctx, dst_db, obj);
    ctx.notify_db(notify::GENERIC, "move_from", key, ctx.db);
    ctx.notify_db(notify::GENERIC, "move_to", key, dst_db);
    ctx.dirty += 1;
    Reply::Int(1)
}

/// COPY source destination [DB destination-db] [REPLACE]
pub fn copy(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    let (mut dst_db, mut replace) = (ctx.db, false);
    let mut j = 3;
    while j < a.len() {
        if is(&a[j], "replace") {
            replace = true;
        } else if is(&a[j], "db") && j + 1 < a.len() {
            dst_db = match db_index(ctx, &a[j + 1]) {
                Ok(d) => d,
                Err(e) => return e,
            };
            j += 1;
        } else {
            return err(errors::SYNTAX);
        }
        j += 1;
    }
    let (src, dst) = (&a[1], &a[2]);
    if dst_db == ctx.db && src == dst {
        return err(errors::SAME_OBJECT);
    }
    if ctx.ks.read(ctx.db, src).is_none() {
        return Reply::Int(0);
    }
    if ctx.ks.get(dst_db, dst).is_some() && !replace {
        return Reply::Int(0);
    }
    let Some(copied) = ctx
        .ks
        .db(ctx.db)
        .get(src)
        .map(|o| o.with_key(dst, o.expire_ms()))
    else {
        return Reply::Int(0);
    };
    // As Redis: a destination being replaced is deleted first, so the copy is always `new`.
    if let Some(old) = ctx.ks.remove(dst_db, dst) {
        free_value(old, ctx.settings.lazyfree_lazy_server_del);
    }
    ctx.store_in(dst_db, copied);
    ctx.notify_db(notify::GENERIC, "copy_to", dst, dst_db);
    ctx.dirty += 1;
    Reply::Int(1)
}

// ---------------------------------------------------------------------------------------------
// KEYS SCAN RANDOMKEY DBSIZE SWAPDB
// ---------------------------------------------------------------------------------------------

/// True if `obj` should be hidden as expired (KEYS does not delete, it only skips).
fn logically_expired(ks: &Keyspace, obj: &Obj) -> bool {
    !ks.obey_all && obj.expire_ms().is_some_and(|e| e <= ks.now_ms)
}

pub fn keys(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    let pattern = &a[1][..];
    let all = pattern == b"*";
    let ks = &*ctx.ks;
    let found = ks
        .db(ctx.db)
        .iter()
        .filter(|o| all || types::glob::glob_match(pattern, o.key(), false))
        .filter(|o| !logically_expired(ks, o))
        .map(|o| Reply::bulk(o.key()))
        .collect();
    Reply::Array(found)
}

/// `string2ull` as Valkey parses SCAN cursors: a strict integer that is not negative, or
/// failing that what C's `strtoull` accepts in full (leading blanks, a sign, leading zeros).
/// Like the C code, the argument ends at its first NUL byte.
pub(crate) fn parse_cursor(arg: &[u8]) -> Option<u64> {
    let s = &arg[..arg.iter().position(|&b| b == 0).unwrap_or(arg.len())];
    if let Some(v) = resp::request::parse_i64(s) {
        return u64::try_from(v).ok();
    }
    let start = s
        .iter()
        .position(|&c| !matches!(c, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r'))?;
    let (neg, digits) = match s[start] {
        b'-' => (true, &s[start + 1..]),
        b'+' => (false, &s[start + 1..]),
        _ => (false, &s[start..]),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut v: u64 = 0;
    for &d in digits {
        v = v.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    Some(if neg { v.wrapping_neg() } else { v })
}

/// SCAN's type filter: the Redis type names, case-insensitively.
fn kind_by_name(name: &[u8]) -> Option<Kind> {
    [
        Kind::String,
        Kind::List,
        Kind::Set,
        Kind::ZSet,
        Kind::Hash,
        Kind::Stream,
    ]
    .into_iter()
    .find(|k| is(name, k.name()))
}

struct ScanOpts<'a> {
    count: usize,
    pattern: Option<&'a [u8]>,
    kind: Option<Kind>,
}

fn parse_scan_opts(a: &[Bytes]) -> Result<ScanOpts<'_>, Reply> {
    let mut o = ScanOpts {
        count: 10,
        pattern: None,
        kind: None,
    };
    let mut i = 2;
    while i < a.len() {
        let has_value = i + 1 < a.len();
        if is(&a[i], "count") && has_value {
            let n = args::int(&a[i + 1])?;
            if n < 1 {
                return Err(err(errors::SYNTAX));
            }
            // A full pass never needs more; keeps `count * 10` visits from overflowing.
            o.count = n.min(1 << 32) as usize;
        } else if is(&a[i], "match") && has_value {
            o.pattern = Some(&a[i + 1][..]).filter(|p| *p != b"*");
        } else if is(&a[i], "type") && has_value {
            o.kind =
                Some(kind_by_name(&a[i + 1]).ok_or_else(|| errors::unknown_type_name(&a[i + 1]))?);
        } else if is(&a[i], "novalues") {
            return Err(err(errors::NOVALUES_HSCAN_ONLY));
        } else if is(&a[i], "noscores") {
            return Err(err(errors::NOSCORES_ZSCAN_ONLY));
        } else {
            return Err(err(errors::SYNTAX));
        }
        i += 2;
    }
    Ok(o)
}

/// SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]
pub fn scan(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    let Some(cursor) = parse_cursor(&a[1]) else {
        return err(errors::INVALID_CURSOR);
    };
    let opts = match parse_scan_opts(a) {
        Ok(o) => o,
        Err(e) => return e,
    };
    let mut found: Vec<Bytes> = Vec::new();
    let next = ctx.ks.scan(ctx.db, cursor, opts.count, |o| {
        let wanted = opts.kind.is_none_or(|k| o.kind() == k)
            && opts
                .pattern
                .is_none_or(|p| types::glob::glob_match(p, o.key(), false));
        if wanted {
            found.push(Bytes::copy_from_slice(o.key()));
        }
    });
    // Keys that expired are deleted (on a primary) and left out, as `expireIfNeeded` does.
    found.retain(|k| ctx.ks.peek(ctx.db, k).is_some());
    let cursor_text = (next as i64).to_string();
    Reply::Array(vec![
        Reply::bulk(cursor_text.as_bytes()),
        Reply::Array(found.into_iter().map(Reply::Bulk).collect()),
    ])
}

pub fn randomkey(ctx: &mut Ctx, _a: &[Bytes]) -> Reply {
    match ctx.ks.random_key(ctx.db) {
        Some(k) => Reply::Bulk(Bytes::from(k)),
        None => Reply::Nil,
    }
}

pub fn dbsize(ctx: &mut Ctx, _a: &[Bytes]) -> Reply {
    Reply::Int(ctx.ks.dbsize(ctx.db) as i64)
}

pub fn swapdb(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    let parse = |arg: &[u8], msg: &'static str| -> Result<i64, Reply> {
        let id = args::int_or(arg, msg)?;
        i32::try_from(id).map(i64::from).map_err(|_| err(msg))
    };
    let (first, second) = match (
        parse(&a[1], errors::INVALID_FIRST_DB),
        parse(&a[2], errors::INVALID_SECOND_DB),
    ) {
        (Ok(x), Ok(y)) => (x, y),
        (Err(e), _) | (_, Err(e)) => return e,
    };
    let count = ctx.ks.db_count() as i64;
    if !(0..count).contains(&first) || !(0..count).contains(&second) {
        return err(errors::DB_RANGE);
    }
    if first != second {
        ctx.ks.swap_dbs(first as usize, second as usize);
    }
    ctx.dirty += 1;
    Reply::Ok
}
