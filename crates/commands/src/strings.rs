//! String commands: GET/SET and friends, counters, ranges, LCS.

use bytes::Bytes;
use keyspace::{Kind, NewValue, Obj, ValueRef};
use resp::Reply;

use crate::args::{self, is};
use crate::ctx::{argv, Ctx};
use crate::errors::{self, err};
use crate::ldouble::LongDouble;
use crate::notify;
use crate::row;
use crate::spec::{acl, flags as f, CommandSpec, Handler, Keys};

const RW_ACCESS_UPDATE: &[&str] = &["RW", "ACCESS", "UPDATE"];
const OW_UPDATE: &[&str] = &["OW", "UPDATE"];
const RO_ACCESS: &[&str] = &["RO", "ACCESS"];

pub static COMMANDS: &[CommandSpec] = &[
    row!("get", 2, f::READONLY | f::FAST, acl::STRING, Keys::range(1, 0, 1, RO_ACCESS), "string", "1.0.0", "Returns the string value of a key.", Handler::Data(get)),
    row!("set", -3, f::WRITE | f::DENYOOM, acl::STRING, Keys::range(1, 0, 1, &["RW", "ACCESS", "UPDATE", "VARIABLE_FLAGS"]), "string", "1.0.0", "Sets the string value of a key, ignoring its type. The key is created if it doesn't exist.", Handler::Data(set)),
    row!("setnx", 3, f::WRITE | f::DENYOOM | f::FAST, acl::STRING, Keys::range(1, 0, 1, &["OW", "INSERT"]), "string", "1.0.0", "Set the string value of a key only when the key doesn't exist.", Handler::Data(setnx)),
    row!("setex", 4, f::WRITE | f::DENYOOM, acl::STRING, Keys::range(1, 0, 1, OW_UPDATE), "string", "2.0.0", "Sets the string value and expiration time of a key. Creates the key if it doesn't exist.", Handler::Data(setex)),
    row!("psetex", 4, f::WRITE | f::DENYOOM, acl::STRING, Keys::range(1, 0, 1, OW_UPDATE), "string", "2.6.0", "Sets both string value and expiration time in milliseconds of a key. The key is created if it doesn't exist.", Handler::Data(psetex)),
    row!("getset", 3, f::WRITE | f::DENYOOM | f::FAST, acl::STRING, Keys::range(1, 0, 1, RW_ACCESS_UPDATE), "string", "1.0.0", "Returns the previous string value of a key after setting it to a new value.", Handler::Data(getset)),
    row!("getdel", 2, f::WRITE | f::FAST, acl::STRING, Keys::range(1, 0, 1, &["RW", "ACCESS", "DELETE"]), "string", "6.2.0", "Returns the string value of a key after deleting the key.", Handler::Data(getdel)),
    row!("getex", -2, f::WRITE | f::FAST, acl::STRING, Keys::range(1, 0, 1, RW_ACCESS_UPDATE), "string", "6.2.0", "Returns the string value of a key after setting its expiration time.", Handler::Data(getex)),
    row!("mget", -2, f::READONLY | f::FAST, acl::STRING, Keys::range(1, -1, 1, RO_ACCESS), "string", "1.0.0", "Atomically returns the string values of one or more keys.", Handler::Data(mget)),
    row!("mset", -3, f::WRITE | f::DENYOOM, acl::STRING, Keys::range(1, -1, 2, OW_UPDATE), "string", "1.0.1", "Atomically creates or modifies the string values of one or more keys.", Handler::Data(mset)),
    row!("msetnx", -3, f::WRITE | f::DENYOOM, acl::STRING, Keys::range(1, -1, 2, &["OW", "INSERT"]), "string", "1.0.1", "Atomically modifies the string values of one or more keys only when all keys don't exist.", Handler::Data(msetnx)),
    row!("append", 3, f::WRITE | f::DENYOOM | f::FAST, acl::STRING, Keys::range(1, 0, 1, &["RW", "INSERT"]), "string", "2.0.0", "Appends a string to the value of a key. Creates the key if it doesn't exist.", Handler::Data(append)),
    row!("strlen", 2, f::READONLY | f::FAST, acl::STRING, Keys::range(1, 0, 1, &["RO"]), "string", "2.2.0", "Returns the length of a string value.", Handler::Data(strlen)),
    row!("getrange", 4, f::READONLY, acl::STRING, Keys::range(1, 0, 1, RO_ACCESS), "string", "2.4.0", "Returns a substring of the string stored at a key.", Handler::Data(getrange)),
    row!("substr", 4, f::READONLY, acl::STRING, Keys::range(1, 0, 1, RO_ACCESS), "string", "1.0.0", "Returns a substring from a string value.", Handler::Data(getrange)),
    row!("setrange", 4, f::WRITE | f::DENYOOM, acl::STRING, Keys::range(1, 0, 1, &["RW", "UPDATE"]), "string", "2.2.0", "Overwrites a part of a string value with another by an offset. Creates the key if it doesn't exist.", Handler::Data(setrange)),
    row!("incr", 2, f::WRITE | f::DENYOOM | f::FAST, acl::STRING, Keys::range(1, 0, 1, RW_ACCESS_UPDATE), "string", "1.0.0", "Increments the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.", Handler::Data(incr)),
    row!("decr", 2, f::WRITE | f::DENYOOM | f::FAST, acl::STRING, Keys::range(1, 0, 1, RW_ACCESS_UPDATE), "string", "1.0.0", "Decrements the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.", Handler::Data(decr)),
    row!("incrby", 3, f::WRITE | f::DENYOOM | f::FAST, acl::STRING, Keys::range(1, 0, 1, RW_ACCESS_UPDATE), "string", "1.0.0", "Increments the integer value of a key by a number. Uses 0 as initial value if the key doesn't exist.", Handler::Data(incrby)),
    row!("decrby", 3, f::WRITE | f::DENYOOM | f::FAST, acl::STRING, Keys::range(1, 0, 1, RW_ACCESS_UPDATE), "string", "1.0.0", "Decrements a number from the integer value of a key. Uses 0 as initial value if the key doesn't exist.", Handler::Data(decrby)),
    row!("incrbyfloat", 3, f::WRITE | f::DENYOOM | f::FAST, acl::STRING, Keys::range(1, 0, 1, RW_ACCESS_UPDATE), "string", "2.6.0", "Increment the floating point value of a key by a number. Uses 0 as initial value if the key doesn't exist.", Handler::Data(incrbyfloat)),
    row!("lcs", -3, f::READONLY, acl::STRING, Keys::range(1, 1, 1, RO_ACCESS), "string", "7.0.0", "Finds the longest common substring.", Handler::Data(lcs)),
];

/// The string at `key` for a read: `Ok(None)` if missing, WRONGTYPE for other types.
fn read_string<'k>(ctx: &'k mut Ctx, key: &[u8]) -> Result<Option<&'k Obj>, Reply> {
    match ctx.ks.read(ctx.db, key) {
        None => Ok(None),
        Some(o) if o.kind() == Kind::String => Ok(Some(o)),
        Some(_) => Err(err(errors::WRONGTYPE)),
    }
}

fn bulk_of(obj: &Obj) -> Reply {
    match obj.value() {
        ValueRef::Str(s) => Reply::bulk(s),
        ValueRef::Int(i) => Reply::Bulk(Bytes::from(itoa::Buffer::new().format(i).to_owned())),
        _ => err(errors::WRONGTYPE),
    }
}

pub fn get(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    match read_string(ctx, &a[1]) {
        Ok(Some(o)) => bulk_of(o),
        Ok(None) => Reply::Nil,
        Err(e) => e,
    }
}

/// Expire-related options shared by SET and GETEX.
#[derive(Default)]
struct ExpireOpts {
    /// (value argument, unit is seconds, absolute)
    expire: Option<(Bytes, bool, bool)>,
    keepttl: bool,
    persist: bool,
}

fn invalid_expire(cmd: &str) -> Reply {
    Reply::error(format!("ERR invalid expire time in '{cmd}' command"))
}

/// Converts an EX/PX/EXAT/PXAT argument to an absolute time in ms, with Redis's checks.
fn expire_at_ms(
    ctx: &Ctx,
    cmd: &str,
    arg: &[u8],
    seconds: bool,
    absolute: bool,
) -> Result<i64, Reply> {
    let v = args::int(arg)?;
    if v <= 0 || (seconds && v > i64::MAX / 1000) {
        return Err(invalid_expire(cmd));
    }
    let ms = if seconds { v * 1000 } else { v };
    let ms = if absolute {
        ms
    } else {
        ms.checked_add(ctx.now_ms())
            .ok_or_else(|| invalid_expire(cmd))?
    };
    if ms <= 0 {
        return Err(invalid_expire(cmd));
    }
    Ok(ms)
}

/// Parses SET options (from argument 3).
fn parse_set_opts(a: &[Bytes]) -> Result<(bool, bool, bool, ExpireOpts), Reply> {
    let (mut nx, mut xx, mut get) = (false, false, false);
    let mut e = ExpireOpts::default();
    let mut j = 3;
    while j < a.len() {
        let opt = &a[j];
        let next = a.get(j + 1);
        let has_expire = e.expire.is_some();
        if is(opt, "nx") && !xx {
            nx = true;
        } else if is(opt, "xx") && !nx {
            xx = true;
        } else if is(opt, "get") {
            get = true;
        } else if is(opt, "keepttl") && !has_expire {
            e.keepttl = true;
        } else if let (Some((sec, abs)), false, Some(n)) = (expire_kind(opt), e.keepttl, next) {
            // The same option may repeat (the last one wins); mixing kinds is an error.
            if has_expire && !same_kind(&e.expire, sec, abs) {
                return Err(err(errors::SYNTAX));
            }
            e.expire = Some((n.clone(), sec, abs));
            j += 1;
        } else {
            return Err(err(errors::SYNTAX));
        }
        j += 1;
    }
    Ok((nx, xx, get, e))
}

/// True if an already-given expire option is of the same kind (EX after EX...).
fn same_kind(given: &Option<(Bytes, bool, bool)>, sec: bool, abs: bool) -> bool {
    given
        .as_ref()
        .is_some_and(|(_, s, a)| (*s, *a) == (sec, abs))
}

/// EX → (seconds, relative), PX, EXAT, PXAT.
fn expire_kind(opt: &[u8]) -> Option<(bool, bool)> {
    if is(opt, "ex") {
        Some((true, false))
    } else if is(opt, "px") {
        Some((false, false))
    } else if is(opt, "exat") {
        Some((true, true))
    } else if is(opt, "pxat") {
        Some((false, true))
    } else {
        None
    }
}

pub fn set(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    let (nx, xx, get, opts) = match parse_set_opts(a) {
        Ok(v) => v,
        Err(e) => return e,
    };
    let expire = match &opts.expire {
        Some((v, sec, abs)) => match expire_at_ms(ctx, "set", v, *sec, *abs) {
            Ok(ms) => Some(ms),
            Err(e) => return e,
        },
        None => None,
    };
    let old = if get {
        match read_string(ctx, &a[1]) {
            Ok(o) => Some(o.map_or(Reply::Nil, bulk_of)),
            Err(e) => return e,
        }
    } else {
        None
    };
    let existing = ctx.ks.get(ctx.db, &a[1]).map(|o| o.expire_ms());
    let found = existing.is_some();
    if (nx && found) || (xx && !found) {
        return old.unwrap_or(Reply::Nil);
    }
    if let Some(ms) = expire {
        if ctx.ks.already_expired(ms) {
            if found {
                delete_expired_on_overwrite(ctx, &a[1]);
            }
            return old.unwrap_or(Reply::Ok);
        }
    }
    let ttl = match expire {
        Some(ms) => Some(ms),
        None if opts.keepttl => existing.flatten(),
        None => None,
    };
    ctx.store(Obj::new(&a[1], NewValue::Str(&a[2]), ttl));
    ctx.notify(notify::STRING, "set", &a[1]);
    ctx.dirty += 1;
    if let Some(ms) = expire {
        ctx.notify(notify::GENERIC, "expire", &a[1]);
        if !opts
            .expire
            .as_ref()
            .is_some_and(|(_, sec, abs)| !*sec && *abs)
        {
            ctx.propagate(argv([
                &b"SET"[..],
                &a[1],
                &a[2],
                b"PXAT",
                ms.to_string().as_bytes(),
            ]));
        }
    } else if get {
        let kept: Vec<Bytes> = a
            .iter()
            .enumerate()
            .filter(|(i, x)| *i < 3 || !is(x, "get"))
            .map(|(_, x)| x.clone())
            .collect();
        ctx.propagate(kept);
    }
    old.unwrap_or(Reply::Ok)
}

/// A write with an expire time already in the past deletes the key instead, propagating the
/// deletion (DEL, or UNLINK with lazyfree-lazy-server-del) and raising `del`.
fn delete_expired_on_overwrite(ctx: &mut Ctx, key: &Bytes) {
    if let Some(old) = ctx.ks.remove(ctx.db, key) {
        keyspace::lazyfree::free(old);
    }
    ctx.dirty += 1;
    ctx.notify(notify::GENERIC, "del", key);
    let cmd: &[u8] = if ctx.settings.lazyfree_lazy_server_del {
        b"UNLINK"
    } else {
        b"DEL"
    };
    ctx.propagate(argv([cmd, key]));
}

pub fn setnx(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    if ctx.ks.get(ctx.db, &a[1]).is_some() {
        return Reply::Int(0);
    }
    ctx.store(Obj::new(&a[1], NewValue::Str(&a[2]), None));
    ctx.notify(notify::STRING, "set", &a[1]);
    ctx.dirty += 1;
    Reply::Int(1)
}

fn setex_generic(ctx: &mut Ctx, a: &[Bytes], seconds: bool, cmd: &str) -> Reply {
    let ms = match expire_at_ms(ctx, cmd, &a[2], seconds, false) {
        Ok(ms) => ms,
        Err(e) => return e,
    };
    // The write lookup deletes an expired value first, as Redis's SET path does.
    ctx.ks.get(ctx.db, &a[1]);
    ctx.store(Obj::new(&a[1], NewValue::Str(&a[3]), Some(ms)));
    ctx.notify(notify::STRING, "set", &a[1]);
    ctx.notify(notify::GENERIC, "expire", &a[1]);
    ctx.dirty += 1;
    ctx.propagate(argv([
        &b"SET"[..],
        &a[1],
        &a[3],
        b"PXAT",
        ms.to_string().as_bytes(),
    ]));
    Reply::Ok
}

pub fn setex(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    setex_generic(ctx, a, true, "setex")
}

pub fn psetex(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    setex_generic(ctx, a, false, "psetex")
}

pub fn getset(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    let old = match read_string(ctx, &a[1]) {
        Ok(o) => o.map_or(Reply::Nil, bulk_of),
        Err(e) => return e,
    };
    ctx.store(Obj::new(&a[1], NewValue::Str(&a[2]), None));
    ctx.notify(notify::STRING, "set", &a[1]);
    ctx.dirty += 1;
    ctx.propagate(argv([&b"SET"[..], &a[1], &a[2]]));
    old
}

pub fn getdel(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    let reply = match read_string(ctx, &a[1]) {
        Ok(Some(o)) => bulk_of(o),
        Ok(None) => return Reply::Nil,
        Err(e) => return e,
    };
    ctx.ks.remove(ctx.db, &a[1]);
    ctx.dirty += 1;
    ctx.notify(notify::GENERIC, "del", &a[1]);
    ctx.propagate(argv([&b"DEL"[..], &a[1]]));
    reply
}

/// GETEX options: EX/PX/EXAT/PXAT/PERSIST, mutually exclusive.
fn parse_getex_opts(a: &[Bytes]) -> Result<ExpireOpts, Reply> {
    let mut e = ExpireOpts::default();
    let mut j = 2;
    while j < a.len() {
        let opt = &a[j];
        if is(opt, "persist") && e.expire.is_none() && !e.persist {
            e.persist = true;
        } else if let (Some((sec, abs)), false, Some(n)) =
            (expire_kind(opt), e.persist, a.get(j + 1))
        {
            if e.expire.is_some() && !same_kind(&e.expire, sec, abs) {
                return Err(err(errors::SYNTAX));
            }
            e.expire = Some((n.clone(), sec, abs));
            j += 1;
        } else {
            return Err(err(errors::SYNTAX));
        }
        j += 1;
    }
    Ok(e)
}

pub fn getex(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    let opts = match parse_getex_opts(a) {
        Ok(o) => o,
        Err(e) => return e,
    };
    let (reply, had_ttl) = match read_string(ctx, &a[1]) {
        Ok(Some(o)) => (bulk_of(o), o.expire_ms().is_some()),
        Ok(None) => return Reply::Nil,
        Err(e) => return e,
    };
    if let Some((v, sec, abs)) = &opts.expire {
        let ms = match expire_at_ms(ctx, "getex", v, *sec, *abs) {
            Ok(ms) => ms,
            Err(e) => return e,
        };
        if *abs && ctx.ks.already_expired(ms) {
            delete_expired_on_overwrite(ctx, &a[1]);
        } else {
            ctx.ks.set_expire(ctx.db, &a[1], Some(ms));
            ctx.dirty += 1;
            ctx.notify(notify::GENERIC, "expire", &a[1]);
            ctx.propagate(argv([&b"PEXPIREAT"[..], &a[1], ms.to_string().as_bytes()]));
        }
    } else if opts.persist && had_ttl {
        ctx.ks.set_expire(ctx.db, &a[1], None);
        ctx.dirty += 1;
        ctx.notify(notify::GENERIC, "persist", &a[1]);
        ctx.propagate(argv([&b"PERSIST"[..], &a[1]]));
    } else {
        ctx.propagate_nothing();
    }
    reply
}

pub fn mget(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    let items = a[1..]
        .iter()
        .map(|k| match ctx.ks.read(ctx.db, k) {
            Some(o) if o.kind() == Kind::String => bulk_of(o),
            _ => Reply::Nil,
        })
        .collect();
    Reply::Array(items)
}

fn mset_generic(ctx: &mut Ctx, a: &[Bytes], nx: bool) -> Reply {
    if a.len().is_multiple_of(2) {
        return errors::wrong_arity(if nx { "msetnx" } else { "mset" });
    }
    if nx
        && a[1..]
            .chunks(2)
            .any(|kv| ctx.ks.get(ctx.db, &kv[0]).is_some())
    {
        return Reply::Int(0);
    }
    for kv in a[1..].chunks(2) {
        if !nx {
            // The write lookup deletes an expired value first, as Redis's `setKey` does.
            ctx.ks.get(ctx.db, &kv[0]);
        }
        ctx.store(Obj::new(&kv[0], NewValue::Str(&kv[1]), None));
        ctx.notify(notify::STRING, "set", &kv[0]);
    }
    ctx.dirty += (a.len() as u64 - 1) / 2;
    if nx {
        Reply::Int(1)
    } else {
        Reply::Ok
    }
}

pub fn mset(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    mset_generic(ctx, a, false)
}

pub fn msetnx(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    mset_generic(ctx, a, true)
}

/// Checks a resulting string size against proto-max-bulk-len (the primary is exempt).
fn check_len(ctx: &Ctx, size: u64, add: u64) -> Result<(), Reply> {
    match size.checked_add(add) {
        Some(t) if t <= ctx.settings.proto_max_bulk_len as u64 || ctx.ks.obey_all => Ok(()),
        _ => Err(err(errors::STRING_TOO_BIG)),
    }
}

pub fn append(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    let cur_len = match ctx.ks.get(ctx.db, &a[1]) {
        None => {
            ctx.store(Obj::new_raw_str(&a[1], &a[2], None));
            ctx.notify(notify::STRING, "append", &a[1]);
            ctx.dirty += 1;
            return Reply::Int(a[2].len() as i64);
        }
        Some(o) if o.kind() != Kind::String => return err(errors::WRONGTYPE),
        Some(o) => o.string_bytes().map_or(0, |s| s.len()),
    };
    if let Err(e) = check_len(ctx, cur_len as u64, a[2].len() as u64) {
        return e;
    }
    let Some(buf) = ctx.ks.get_mut(ctx.db, &a[1]).and_then(Obj::str_mut) else {
        return err(errors::WRONGTYPE);
    };
    buf.extend_from_slice(&a[2]);
    let len = buf.len();
    ctx.notify(notify::STRING, "append", &a[1]);
    ctx.dirty += 1;
    Reply::Int(len as i64)
}

pub fn strlen(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    match read_string(ctx, &a[1]) {
        Ok(Some(o)) => Reply::Int(o.string_bytes().map_or(0, |s| s.len()) as i64),
        Ok(None) => Reply::Int(0),
        Err(e) => e,
    }
}

pub fn getrange(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    let (mut start, mut end) = match (args::int(&a[2]), args::int(&a[3])) {
        (Ok(s), Ok(e)) => (s, e),
        (Err(e), _) | (_, Err(e)) => return e,
    };
    let obj = match read_string(ctx, &a[1]) {
        Ok(Some(o)) => o,
        Ok(None) => return Reply::bulk(b""),
        Err(e) => return e,
    };
    let Some(s) = obj.string_bytes() else {
        return Reply::bulk(b"");
    };
    let len = s.len() as i64;
    if start < 0 && end < 0 && start > end {
        return Reply::bulk(b"");
    }
    if start < 0 {
        start += len;
    }
    if end < 0 {
        end += len;
    }
    start = start.max(0);
    end = end.max(0);
    if end >= len {
        end = len - 1;
    }
    if start > end || len == 0 {
        return Reply::bulk(b"");
    }
    Reply::bulk(&s[start as usize..=end as usize])
}

pub fn setrange(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    let offset = match args::int(&a[2]) {
        Ok(o) if o >= 0 => o as u64,
        Ok(_) => return err(errors::OFFSET_RANGE),
        Err(e) => return e,
    };
    let value = &a[3];
    let cur_len = match ctx.ks.get(ctx.db, &a[1]) {
        None => {
            if value.is_empty() {
                return Reply::Int(0);
            }
            if let Err(e) = check_len(ctx, offset, value.len() as u64) {
                return e;
            }
            // Exactly sized, as Valkey creates it (growing a zeroed vector by the value
            // would double its allocation).
            let mut buf = Vec::with_capacity(offset as usize + value.len());
            buf.resize(offset as usize, 0);
            buf.extend_from_slice(value);
            let len = buf.len();
            ctx.store(Obj::new(
                &a[1],
                NewValue::Boxed(keyspace::Boxed::Str(buf)),
                None,
            ));
            ctx.notify(notify::STRING, "setrange", &a[1]);
            ctx.dirty += 1;
            return Reply::Int(len as i64);
        }
        Some(o) if o.kind() != Kind::String => return err(errors::WRONGTYPE),
        Some(o) => o.string_bytes().map_or(0, |s| s.len()),
    };
    if value.is_empty() {
        return Reply::Int(cur_len as i64);
    }
    if let Err(e) = check_len(ctx, offset, value.len() as u64) {
        return e;
    }
    let Some(buf) = ctx.ks.get_mut(ctx.db, &a[1]).and_then(Obj::str_mut) else {
        return err(errors::WRONGTYPE);
    };
    let end = offset as usize + value.len();
    if buf.len() < end {
        buf.resize(end, 0);
    }
    buf[offset as usize..end].copy_from_slice(value);
    let len = buf.len();
    ctx.notify(notify::STRING, "setrange", &a[1]);
    ctx.dirty += 1;
    Reply::Int(len as i64)
}

/// INCR/DECR/INCRBY/DECRBY: keeps the TTL, errors on non-integers and overflow.
fn incr_by(ctx: &mut Ctx, key: &Bytes, delta: i64) -> Reply {
    let cur = match ctx.ks.get(ctx.db, key) {
        None => 0,
        Some(o) => match o.value() {
            ValueRef::Int(i) => i,
            ValueRef::Str(s) => match keyspace::obj::int_encodable(s) {
                Some(i) => i,
                None => return err(errors::NOT_INT),
            },
            _ => return err(errors::WRONGTYPE),
        },
    };
    let Some(new) = cur.checked_add(delta) else {
        return err(errors::OVERFLOW);
    };
    match ctx.ks.get_mut(ctx.db, key) {
        Some(o) => o.set_value(NewValue::Int(new)),
        None => {
            ctx.store(Obj::new(key, NewValue::Int(new), None));
        }
    }
    ctx.notify(notify::STRING, "incrby", key);
    ctx.dirty += 1;
    Reply::Int(new)
}

pub fn incr(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    incr_by(ctx, &a[1], 1)
}

pub fn decr(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    incr_by(ctx, &a[1], -1)
}

pub fn incrby(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    match args::int(&a[2]) {
        Ok(d) => incr_by(ctx, &a[1], d),
        Err(e) => e,
    }
}

pub fn decrby(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    match args::int(&a[2]) {
        Ok(i64::MIN) => err("ERR decrement would overflow"),
        Ok(d) => incr_by(ctx, &a[1], -d),
        Err(e) => e,
    }
}

pub fn incrbyfloat(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    // As Redis: both operands read with `string2ld` and added in x87 `long double`, the result
    // printed with `%.17Lf` and trimmed (see `ldouble`).
    let cur = match ctx.ks.get(ctx.db, &a[1]) {
        None => LongDouble::ZERO,
        Some(o) => match o.string_bytes() {
            Some(s) => match LongDouble::parse(&s) {
                Some(v) => v,
                None => return err(errors::NOT_FLOAT),
            },
            None => return err(errors::WRONGTYPE),
        },
    };
    let Some(incr) = LongDouble::parse(&a[2]) else {
        return err(errors::NOT_FLOAT);
    };
    let new = cur.add(incr);
    if !new.is_finite() {
        return err(errors::INCR_NAN_INF); // NaN or infinite
    }
    let text = new.to_human_string();
    match ctx.ks.get_mut(ctx.db, &a[1]) {
        Some(o) => o.set_value(NewValue::Str(text.as_bytes())),
        None => {
            ctx.store(Obj::new(&a[1], NewValue::Str(text.as_bytes()), None));
        }
    }
    ctx.notify(notify::STRING, "incrbyfloat", &a[1]);
    ctx.dirty += 1;
    ctx.propagate(argv([&b"SET"[..], &a[1], text.as_bytes(), b"KEEPTTL"]));
    Reply::bulk(text.as_bytes())
}

/// LCS key1 key2 [LEN] [IDX] [MINMATCHLEN n] [WITHMATCHLEN]
pub fn lcs(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    let (mut get_len, mut get_idx, mut with_len, mut min_len) = (false, false, false, 0i64);
    let mut j = 3;
    while j < a.len() {
        if is(&a[j], "len") {
            get_len = true;
        } else if is(&a[j], "idx") {
            get_idx = true;
        } else if is(&a[j], "withmatchlen") {
            with_len = true;
        } else if is(&a[j], "minmatchlen") && j + 1 < a.len() {
            min_len = match args::int(&a[j + 1]) {
                Ok(v) => v.max(0),
                Err(e) => return e,
            };
            j += 1;
        } else {
            return err(errors::SYNTAX);
        }
        j += 1;
    }
    let mut fetch = |k: &Bytes| -> Result<Vec<u8>, Reply> {
        match ctx.ks.read(ctx.db, k) {
            None => Ok(Vec::new()),
            Some(o) => match o.string_bytes() {
                Some(s) => Ok(s.into_owned()),
                None => Err(err("ERR The specified keys must contain string values")),
            },
        }
    };
    let (x, y) = match (fetch(&a[1]), fetch(&a[2])) {
        (Ok(x), Ok(y)) => (x, y),
        (Err(e), _) | (_, Err(e)) => return e,
    };
    if get_len && get_idx {
        return err("ERR If you want both the length and indexes, please just use IDX.");
    }
    lcs_reply(&x, &y, get_len, get_idx, with_len, min_len as usize)
}

fn lcs_reply(
    a: &[u8],
    b: &[u8],
    get_len: bool,
    get_idx: bool,
    with_len: bool,
    min_len: usize,
) -> Reply {
    let (n, m) = (a.len(), b.len());
    // Dynamic programming table (n+1)*(m+1), as Redis (memory O(n*m); Redis has the same).
    let Some(cells) = (n + 1)
        .checked_mul(m + 1)
        .filter(|c| *c <= (u32::MAX as usize))
    else {
        return err("ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len");
    };
    let mut dp = vec![0u32; cells];
    let idx = |i: usize, j: usize| j * (n + 1) + i;
    for i in 1..=n {
        for j in 1..=m {
            dp[idx(i, j)] = if a[i - 1] == b[j - 1] {
                dp[idx(i - 1, j - 1)] + 1
            } else {
                dp[idx(i - 1, j)].max(dp[idx(i, j - 1)])
            };
        }
    }
    let total = dp[idx(n, m)] as usize;
    if get_len {
        return Reply::Int(total as i64);
    }
    // Walk back from (n, m) as Redis does, emitting matching ranges from the end.
    let mut result = vec![0u8; total];
    let mut matches = Vec::new();
    let (mut i, mut j, mut k) = (n, m, total);
    let mut range: Option<(usize, usize, usize, usize)> = None; // a_start, a_end, b_start, b_end
    while i > 0 && j > 0 {
        let mut emit = false;
        if a[i - 1] == b[j - 1] {
            result[k - 1] = a[i - 1];
            match &mut range {
                None => range = Some((i - 1, i - 1, j - 1, j - 1)),
                Some(r) if r.0 == i && r.2 == j => {
                    r.0 -= 1;
                    r.2 -= 1;
                }
                Some(_) => emit = true,
            }
            if range.is_some_and(|r| r.0 == 0 || r.2 == 0) {
                emit = true;
            }
            k -= 1;
            i -= 1;
            j -= 1;
        } else {
            if dp[idx(i - 1, j)] > dp[idx(i, j - 1)] {
                i -= 1;
            } else {
                j -= 1;
            }
            emit = range.is_some();
        }
        if emit {
            if let Some(r) = range.take() {
                if min_len == 0 || r.1 - r.0 + 1 >= min_len {
                    matches.push(r);
                }
            }
        }
    }
    if !get_idx {
        return Reply::bulk(&result);
    }
    let list = matches
        .into_iter()
        .map(|(a0, a1, b0, b1)| {
            let mut item = vec![
                Reply::Array(vec![Reply::Int(a0 as i64), Reply::Int(a1 as i64)]),
                Reply::Array(vec![Reply::Int(b0 as i64), Reply::Int(b1 as i64)]),
            ];
            if with_len {
                item.push(Reply::Int((a1 - a0 + 1) as i64));
            }
            Reply::Array(item)
        })
        .collect();
    Reply::Map(vec![
        (Reply::bulk(b"matches"), Reply::Array(list)),
        (Reply::bulk(b"len"), Reply::Int(total as i64)),
    ])
}
