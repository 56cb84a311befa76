//! HyperLogLog commands: PFADD, PFCOUNT, PFMERGE and PFDEBUG, on top of [`types::hll`].
//!
//! A HyperLogLog is an ordinary string value (`raw` encoding, as Redis creates it). What Redis
//! counts as a change, and so propagates as the command itself: PFADD that created the key or
//! changed a register (one change per changed element), PFCOUNT on a single key whose cached
//! cardinality was stale (the refreshed cache is stored), PFMERGE always, and PFDEBUG
//! GETREG/TODENSE when they convert a sparse value to dense. PFSELFTEST runs Valkey's
//! self-checks of the register layout and the estimator (`types::hll::selftest`).

use bytes::Bytes;
use keyspace::{Boxed, Kind, NewValue, Obj};
use resp::Reply;
use types::hll::{self, HllError, Union};

use crate::args::is;
use crate::ctx::Ctx;
use crate::errors::{self, err};
use crate::notify;
use crate::row;
use crate::spec::{acl, flags as f, CommandSpec, Handler, Keys};

pub static COMMANDS: &[CommandSpec] = &[
    row!(
        "pfadd",
        -2,
        f::WRITE | f::DENYOOM | f::FAST,
        acl::HYPERLOGLOG,
        Keys::range(1, 0, 1, &["RW", "INSERT"]),
        "hyperloglog",
        "2.8.9",
        "Adds elements to a HyperLogLog key. Creates the key if it doesn't exist.",
        Handler::Data(pfadd)
    ),
    row!(
        "pfcount",
        -2,
        f::READONLY | f::MAY_REPLICATE,
        acl::HYPERLOGLOG,
        Keys::range(1, -1, 1, &["RW", "ACCESS"]),
        "hyperloglog",
        "2.8.9",
        "Returns the approximated cardinality of the set(s) observed by the HyperLogLog key(s).",
        Handler::Data(pfcount)
    ),
    row!(
        "pfmerge",
        -2,
        f::WRITE | f::DENYOOM,
        acl::HYPERLOGLOG,
        Keys::range(1, -1, 1, &["RW", "ACCESS", "INSERT"]),
        "hyperloglog",
        "2.8.9",
        "Merges one or more HyperLogLog values into a single key.",
        Handler::Data(pfmerge)
    ),
    row!(
        "pfdebug",
        3,
        f::WRITE | f::DENYOOM | f::ADMIN,
        acl::HYPERLOGLOG,
        Keys::range(2, 0, 1, &["RW", "ACCESS"]),
        "hyperloglog",
        "2.8.9",
        "Internal commands for debugging HyperLogLog values.",
        Handler::Data(pfdebug)
    ),
    row!(
        "pfselftest",
        1,
        f::ADMIN,
        acl::HYPERLOGLOG,
        Keys::NONE,
        "hyperloglog",
        "2.8.9",
        "An internal command for testing HyperLogLog values.",
        Handler::Data(pfselftest)
    ),
];

/// PFSELFTEST: `+OK`, or the first check that failed.
pub fn pfselftest(ctx: &mut Ctx, _a: &[Bytes]) -> Reply {
    use hll::SelfTestFailure as F;
    match hll::selftest(&mut ctx.ks.rng, ctx.settings.hll_sparse_max_bytes) {
        Ok(()) => Reply::Ok,
        Err(F::Register {
            index,
            expected,
            got,
        }) => errors::hll_selftest_register(index, expected, got),
        Err(F::SparseNotUsed) => err(errors::HLL_SELFTEST_SPARSE),
        Err(F::DenseSparseDisagree) => err(errors::HLL_SELFTEST_DISAGREE),
        Err(F::TooBigError { card, abserr }) => errors::hll_selftest_error(card, abserr),
    }
}

fn hll_err(e: HllError) -> Reply {
    err(e.message())
}

/// The bytes of a value that must be a HyperLogLog (`isHLLObjectOrReply`): other types get the
/// generic WRONGTYPE, strings that are not HyperLogLogs the HyperLogLog one.
fn hll_bytes(obj: &Obj) -> Result<std::borrow::Cow<'_, [u8]>, Reply> {
    if obj.kind() != Kind::String {
        return Err(err(errors::WRONGTYPE));
    }
    let bytes = obj.string_bytes().unwrap_or_default();
    hll::validate(&bytes).map_err(hll_err)?;
    Ok(bytes)
}

/// The value of an existing, validated HyperLogLog key as a mutable buffer (made `raw`, like
/// Redis's `dbUnshareStringValue`). The key counts as modified.
fn hll_buffer<'k>(ctx: &'k mut Ctx, key: &[u8]) -> Option<&'k mut Vec<u8>> {
    ctx.ks.get_mut(ctx.db, key).and_then(Obj::str_mut)
}

fn new_hll_obj(key: &[u8], bytes: Vec<u8>, expire_ms: Option<i64>) -> Obj {
    Obj::new(key, NewValue::Boxed(Boxed::Str(bytes)), expire_ms)
}

/// Writes a HyperLogLog back: a new key without TTL, or the existing key's value in place
/// (keeping its TTL).
fn store_hll(ctx: &mut Ctx, key: &[u8], value: Vec<u8>, created: bool) {
    if created {
        ctx.store(new_hll_obj(key, value, None));
    } else if let Some(buf) = hll_buffer(ctx, key) {
        *buf = value;
    }
}

/// The current value of an existing HyperLogLog key (validated), or `None` if it is missing.
fn existing_hll(ctx: &mut Ctx, key: &[u8]) -> Result<Option<Vec<u8>>, Reply> {
    match ctx.ks.get(ctx.db, key) {
        None => Ok(None),
        Some(obj) => hll_bytes(obj).map(|b| Some(b.into_owned())),
    }
}

/// PFADD key [element ...]
///
/// Works on a copy so that a PFADD that changes nothing does not count as a write of the key
/// (WATCH).
pub fn pfadd(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    let key = &a[1];
    let current = match existing_hll(ctx, key) {
        Ok(v) => v,
        Err(e) => return e,
    };
    let created = current.is_none();
    let mut value = current.unwrap_or_else(hll::new_empty);
    let max = ctx.settings.hll_sparse_max_bytes;
    match hll::add_counted(&mut value, &a[2..], max) {
        Ok(0) if !created => Reply::Int(0),
        Ok(changed) => {
            store_hll(ctx, key, value, created);
            ctx.notify(notify::STRING, "pfadd", key);
            ctx.dirty += u64::from(created) + changed as u64;
            Reply::Int(1)
        }
        Err(e) => {
            // Redis keeps what the earlier elements changed, without counting a change.
            store_hll(ctx, key, value, created);
            hll_err(e)
        }
    }
}

/// PFCOUNT key [key ...]
pub fn pfcount(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    if a.len() > 2 {
        return pfcount_union(ctx, &a[1..]);
    }
    let key = &a[1];
    match ctx.ks.read(ctx.db, key) {
        None => return Reply::Int(0),
        Some(obj) => match hll_bytes(obj).map(|b| hll::cached_cardinality(&b)) {
            Err(e) => return e,
            Ok(Ok(Some(card))) => return Reply::Int(card as i64),
            Ok(_) => {}
        },
    }
    // Stale cache: recompute and store it, which Redis treats as a write.
    let Some(buf) = hll_buffer(ctx, key) else {
        return err(errors::WRONGTYPE);
    };
    match hll::count(buf) {
        Ok((card, changed)) => {
            if changed {
                ctx.dirty += 1;
            }
            Reply::Int(card as i64)
        }
        Err(e) => hll_err(e),
    }
}

/// Folds the existing keys among `keys` into a union, in order, so that type and corruption
/// errors come out as Redis reports them.
fn union_of(ctx: &mut Ctx, keys: &[Bytes]) -> Result<Union, Reply> {
    let mut union = Union::new();
    for key in keys {
        if let Some(obj) = ctx.ks.read(ctx.db, key) {
            let bytes = hll_bytes(obj)?;
            union.add(&bytes).map_err(hll_err)?;
        }
    }
    Ok(union)
}

/// Several keys: the cardinality of their union; caches are neither used nor updated.
fn pfcount_union(ctx: &mut Ctx, keys: &[Bytes]) -> Reply {
    match union_of(ctx, keys) {
        Ok(u) => Reply::Int(u.count() as i64),
        Err(e) => e,
    }
}

/// PFMERGE destkey [sourcekey ...] — the destination is read as the first source.
pub fn pfmerge(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    let union = match union_of(ctx, &a[1..]) {
        Ok(u) => u,
        Err(e) => return e,
    };
    let max = ctx.settings.hll_sparse_max_bytes;
    let dest = &a[1];
    match hll_buffer(ctx, dest) {
        Some(buf) => match union.store(Some(&buf[..]), max) {
            Ok(merged) => *buf = merged,
            Err(e) => return hll_err(e),
        },
        None => match union.store(None, max) {
            Ok(merged) => {
                ctx.store(new_hll_obj(dest, merged, None));
            }
            Err(e) => return hll_err(e),
        },
    }
    ctx.notify(notify::STRING, "pfadd", dest);
    ctx.dirty += 1;
    Reply::Ok
}

/// PFDEBUG GETREG|DECODE|ENCODING|TODENSE key
pub fn pfdebug(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    let (sub, key) = (&a[1], &a[2]);
    let mut value = match existing_hll(ctx, key) {
        Ok(Some(v)) => v,
        Ok(None) => return err(errors::PFDEBUG_NO_KEY),
        Err(e) => return e,
    };
    if is(sub, "getreg") || is(sub, "todense") {
        let converted = match hll::to_dense(&mut value) {
            Ok(c) => c,
            Err(e) => return hll_err(e),
        };
        let reply = if is(sub, "todense") {
            Reply::Int(i64::from(converted))
        } else {
            match hll::registers(&value) {
                Ok(regs) => Reply::Array(regs.into_iter().map(|r| Reply::Int(r.into())).collect()),
                Err(e) => return hll_err(e),
            }
        };
        if converted {
            // Redis keeps the conversion and propagates it so that replicas convert too.
            store_hll(ctx, key, value, false);
            ctx.dirty += 1;
        }
        return reply;
    }
    if is(sub, "decode") {
        return match hll::decode_sparse(&value) {
            Ok(Some(text)) => Reply::Bulk(Bytes::from(text)),
            Ok(None) => err(errors::PFDEBUG_NOT_SPARSE),
            Err(e) => hll_err(e),
        };
    }
    if is(sub, "encoding") {
        return match hll::encoding(&value) {
            Ok(enc) => Reply::status(enc.name()),
            Err(e) => hll_err(e),
        };
    }
    errors::unknown_pfdebug(sub)
}
