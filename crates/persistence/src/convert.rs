//! Value mapping between our types and the RDB codec, in both directions.

use std::io::{self, Write};

use keyspace::{Boxed, NewValue, Obj, ValueRef};
use rdb::{type_id as t, Value, Writer};
use types::{Hash, List, Set, ZSet};

/// Encoding thresholds used to pick encodings of loaded values.
#[derive(Clone, Copy, Debug, Default)]
pub struct Limits {
    pub hash: types::HashLimits,
    pub set: types::SetLimits,
    pub zset: types::ZSetLimits,
    pub list: types::ListLimits,
    pub stream: types::stream::StreamLimits,
}

/// The RDB type id we write for a value (types both Redis 7.0 and Valkey 8 load).
pub fn type_of(obj: &Obj) -> u8 {
    match obj.value() {
        ValueRef::Str(_) | ValueRef::Int(_) => t::STRING,
        ValueRef::List(_) => t::LIST,
        ValueRef::Set(_) => t::SET,
        ValueRef::ZSet(_) => t::ZSET_2,
        ValueRef::Hash(_) => t::HASH,
        ValueRef::Stream(_) => t::STREAM_LISTPACKS_2,
    }
}

/// Writes the value body (after `key_header`).
pub fn write_value<W: Write>(w: &mut Writer<W>, obj: &Obj) -> io::Result<()> {
    match obj.value() {
        ValueRef::Str(s) => w.string(s),
        ValueRef::Int(i) => w.string(itoa::Buffer::new().format(i).as_bytes()),
        ValueRef::List(l) => {
            w.len(l.len() as u64)?;
            l.try_for_each(|e| e.with_bytes(|b| w.string(b)))
        }
        ValueRef::Set(s) => {
            w.len(s.len() as u64)?;
            let mut res = Ok(());
            s.for_each(|m| {
                if res.is_ok() {
                    res = w.string(m);
                }
            });
            res
        }
        ValueRef::Hash(h) => {
            w.len(h.len() as u64)?;
            h.iter().try_for_each(|(f, v)| {
                w.string(f)?;
                w.string(v)
            })
        }
        ValueRef::ZSet(z) => {
            // Highest score first, as Redis writes skiplists (cheap inserts when loading).
            w.len(z.len() as u64)?;
            let pairs = z.range(0, z.len(), true);
            pairs.into_iter().try_for_each(|(m, s)| {
                w.string(m)?;
                w.binary_double(s)
            })
        }
        ValueRef::Stream(s) => s.write_rdb(w),
    }
}

/// Builds an object from a loaded value; `None` for empty collections (skipped, as Redis).
pub fn to_obj(key: &[u8], value: Value, expire_ms: Option<i64>, limits: &Limits) -> Option<Obj> {
    let boxed = match value {
        Value::String(s) => return Some(Obj::new(key, NewValue::Str(&s), expire_ms)),
        Value::List(v) if v.is_empty() => return None,
        Value::List(v) => Boxed::List(List::load(v.iter().map(|e| e.as_slice()), limits.list)),
        Value::Set(v) if v.is_empty() => return None,
        Value::Set(v) => Boxed::Set(build_set(&v, limits.set)),
        Value::Hash(v) if v.is_empty() => return None,
        Value::Hash(v) => Boxed::Hash(Hash::from_pairs(
            v.iter().map(|(f, x)| (f.as_slice(), x.as_slice())),
            limits.hash,
        )),
        Value::SortedSet(v) if v.is_empty() => return None,
        Value::SortedSet(v) => Boxed::ZSet(ZSet::from_pairs(
            v.iter().map(|(m, s)| (m.as_slice(), *s)),
            limits.zset,
        )),
        Value::Stream(s) => Boxed::Stream(Box::new(types::stream::Stream::from_rdb(
            *s,
            &limits.stream,
        ))),
    };
    Some(Obj::new(key, NewValue::Boxed(boxed), expire_ms))
}

fn build_set(members: &[Vec<u8>], limits: types::SetLimits) -> Set {
    let mut set = Set::with_first(&members[0], members.len(), limits);
    for m in members {
        set.add(m, limits);
    }
    set
}

/// The value of an object as the codec's model (DUMP, tests).
pub fn to_value(obj: &Obj) -> Value {
    match obj.value() {
        ValueRef::Str(s) => Value::String(s.to_vec()),
        ValueRef::Int(i) => Value::String(i.to_string().into_bytes()),
        ValueRef::List(l) => {
            let mut items = Vec::with_capacity(l.len());
            l.for_each(|e| items.push(e.to_vec()));
            Value::List(items)
        }
        ValueRef::Set(s) => Value::Set(s.members()),
        ValueRef::Hash(h) => Value::Hash(h.iter().map(|(f, v)| (f.to_vec(), v.to_vec())).collect()),
        ValueRef::ZSet(z) => Value::SortedSet(z.iter().map(|(m, s)| (m.to_vec(), s)).collect()),
        ValueRef::Stream(s) => Value::Stream(Box::new(s.to_rdb())),
    }
}
