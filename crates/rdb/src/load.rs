//! Decoding of RDB primitives (lengths, strings, doubles) and of values of
//! every type id, shared by the file [`crate::Reader`] and DUMP payload parsing.

use std::io::Read;

use crate::encodings::{intset, listpack, ziplist, zipmap, Entry};
use crate::error::{ErrorKind, RdbError};
use crate::input::{Input, Result, MAX_PREALLOC};
use crate::lzf;
use crate::num::{i64_to_bytes, parse_double};
use crate::value::{type_id as t, Value};

/// Encoded-string markers (low 6 bits after the `11` length prefix).
const ENC_INT8: u8 = 0;
const ENC_INT16: u8 = 1;
const ENC_INT32: u8 = 2;
const ENC_LZF: u8 = 3;

/// First byte of a length field: either a length or a special string encoding.
enum Len {
    Plain(u64),
    Encoded(u8),
}

fn read_len_or_enc<R: Read>(inp: &mut Input<R>) -> Result<Len> {
    let at = inp.offset();
    let b = inp.u8()?;
    Ok(match b >> 6 {
        0 => Len::Plain((b & 0x3F) as u64),
        1 => Len::Plain((((b & 0x3F) as u64) << 8) | inp.u8()? as u64),
        3 => Len::Encoded(b & 0x3F),
        _ if b == 0x80 => Len::Plain(u32::from_be_bytes(inp.array()?) as u64),
        _ if b == 0x81 => Len::Plain(u64::from_be_bytes(inp.array()?)),
        _ => {
            return Err(RdbError::corrupt(
                at,
                format!("Unknown length encoding {b:#04x}"),
            ))
        }
    })
}

/// Reads a plain length (an encoded-string marker here is corruption).
pub(crate) fn read_len<R: Read>(inp: &mut Input<R>) -> Result<u64> {
    let at = inp.offset();
    match read_len_or_enc(inp)? {
        Len::Plain(n) => Ok(n),
        Len::Encoded(_) => Err(RdbError::corrupt(
            at,
            "expected a length, found a string encoding",
        )),
    }
}

/// Reads a length that will size an in-memory collection.
pub(crate) fn read_count<R: Read>(inp: &mut Input<R>) -> Result<usize> {
    let at = inp.offset();
    usize::try_from(read_len(inp)?).map_err(|_| RdbError::corrupt(at, "length too large"))
}

/// Capacity to reserve for `n` items: never trust a length for more than a
/// bounded allocation before the items actually arrive.
pub(crate) fn prealloc<T>(n: usize) -> usize {
    n.min(MAX_PREALLOC / std::mem::size_of::<T>().max(1))
}

pub(crate) fn read_string<R: Read>(inp: &mut Input<R>) -> Result<Vec<u8>> {
    let at = inp.offset();
    match read_len_or_enc(inp)? {
        Len::Plain(n) => inp.vec(n),
        Len::Encoded(enc) => read_encoded_string(inp, at, enc),
    }
}

/// The special string encodings: integers and LZF.
fn read_encoded_string<R: Read>(inp: &mut Input<R>, at: u64, enc: u8) -> Result<Vec<u8>> {
    match enc {
        ENC_INT8 | ENC_INT16 | ENC_INT32 => Ok(i64_to_bytes(read_encoded_int(inp, enc)?)),
        ENC_LZF => read_lzf(inp, at),
        e => Err(RdbError::corrupt(
            at,
            format!("Unknown RDB string encoding type {e}"),
        )),
    }
}

/// Little-endian int8/int16/int32 payload of an integer-encoded string.
fn read_encoded_int<R: Read>(inp: &mut Input<R>, enc: u8) -> Result<i64> {
    Ok(match enc {
        ENC_INT8 => inp.u8()? as i8 as i64,
        ENC_INT16 => i16::from_le_bytes(inp.array()?) as i64,
        _ => i32::from_le_bytes(inp.array()?) as i64,
    })
}

fn read_lzf<R: Read>(inp: &mut Input<R>, at: u64) -> Result<Vec<u8>> {
    let clen = read_len(inp)?;
    let len = read_len(inp)?;
    // Impossible ratios are rejected before reading or allocating anything.
    let max = clen.saturating_mul(lzf::MAX_EXPANSION as u64);
    if len > max || usize::try_from(len).is_err() {
        return Err(RdbError::corrupt(at, "Invalid LZF compressed string"));
    }
    inp.with_bytes(clen, |c| lzf::decompress(c, len as usize))?
        .map_err(|e| RdbError::corrupt(at, format!("Invalid LZF compressed string: {e}")))
}

/// Reads a legacy text double: length byte (253 NaN, 254 +inf, 255 -inf) + text.
pub(crate) fn read_text_double<R: Read>(inp: &mut Input<R>) -> Result<f64> {
    let at = inp.offset();
    let n = inp.u8()?;
    match n {
        253 => Ok(f64::NAN),
        254 => Ok(f64::INFINITY),
        255 => Ok(f64::NEG_INFINITY),
        _ => {
            let text = inp.vec(n as u64)?;
            parse_double(&text).ok_or_else(|| RdbError::corrupt(at, "invalid double value"))
        }
    }
}

pub(crate) fn read_binary_double<R: Read>(inp: &mut Input<R>) -> Result<f64> {
    Ok(f64::from_le_bytes(inp.array()?))
}

/// Reads the value of type `ty` (the type byte and key are already consumed).
pub(crate) fn read_value<R: Read>(inp: &mut Input<R>, ty: u8) -> Result<Value> {
    let at = inp.offset();
    match ty {
        t::STRING => Ok(Value::String(read_string(inp)?)),
        t::LIST => Ok(Value::List(read_strings(inp)?)),
        t::SET => {
            let members = read_strings(inp)?;
            check_unique(
                members.iter().map(Vec::as_slice),
                at,
                "Duplicate set members detected",
            )?;
            Ok(Value::Set(members))
        }
        t::ZSET | t::ZSET_2 => read_zset(inp, ty == t::ZSET_2),
        t::HASH => read_hash(inp),
        t::LIST_QUICKLIST | t::LIST_QUICKLIST_2 => read_quicklist(inp, ty),
        t::HASH_ZIPMAP
        | t::LIST_ZIPLIST
        | t::SET_INTSET
        | t::ZSET_ZIPLIST
        | t::HASH_ZIPLIST
        | t::HASH_LISTPACK
        | t::ZSET_LISTPACK
        | t::SET_LISTPACK => {
            let blob = read_string(inp)?;
            decode_blob_value(&blob, ty).map_err(|e| e.in_blob(at))
        }
        t::STREAM_LISTPACKS | t::STREAM_LISTPACKS_2 | t::STREAM_LISTPACKS_3 => Ok(Value::Stream(
            Box::new(crate::stream::read_stream(inp, ty)?),
        )),
        _ => Err(RdbError::new(
            at.saturating_sub(1),
            ErrorKind::UnknownType(ty),
        )),
    }
}

fn read_strings<R: Read>(inp: &mut Input<R>) -> Result<Vec<Vec<u8>>> {
    let n = read_count(inp)?;
    let mut out = Vec::with_capacity(prealloc::<Vec<u8>>(n));
    for _ in 0..n {
        out.push(read_string(inp)?);
    }
    Ok(out)
}

fn read_zset<R: Read>(inp: &mut Input<R>, binary: bool) -> Result<Value> {
    let at = inp.offset();
    let n = read_count(inp)?;
    let mut out = Vec::with_capacity(prealloc::<(Vec<u8>, f64)>(n));
    for _ in 0..n {
        let member = read_string(inp)?;
        let score_at = inp.offset();
        let score = if binary {
            read_binary_double(inp)?
        } else {
            read_text_double(inp)?
        };
        if score.is_nan() {
            return Err(RdbError::corrupt(score_at, "Zset with NAN score detected"));
        }
        out.push((member, score));
    }
    check_unique(
        out.iter().map(|(m, _)| m.as_slice()),
        at,
        "Duplicate zset fields detected",
    )?;
    Ok(Value::SortedSet(out))
}

fn read_hash<R: Read>(inp: &mut Input<R>) -> Result<Value> {
    let at = inp.offset();
    let n = read_count(inp)?;
    let mut out = Vec::with_capacity(prealloc::<(Vec<u8>, Vec<u8>)>(n));
    for _ in 0..n {
        let field = read_string(inp)?;
        let value = read_string(inp)?;
        out.push((field, value));
    }
    check_unique(
        out.iter().map(|(f, _)| f.as_slice()),
        at,
        "Duplicate hash fields detected",
    )?;
    Ok(Value::Hash(out))
}

/// Quicklist v1 nodes are ziplists; v2 nodes are a container tag (1 = plain
/// element, 2 = listpack) followed by the node string.
fn read_quicklist<R: Read>(inp: &mut Input<R>, ty: u8) -> Result<Value> {
    let nodes = read_count(inp)?;
    let mut items = Vec::new();
    for _ in 0..nodes {
        let container = if ty == t::LIST_QUICKLIST_2 {
            let at = inp.offset();
            match read_len(inp)? {
                c @ (1 | 2) => c,
                _ => return Err(RdbError::corrupt(at, "Quicklist integrity check failed.")),
            }
        } else {
            2
        };
        let at = inp.offset();
        let node = read_string(inp)?;
        if node.is_empty() {
            return Err(RdbError::corrupt(at, "empty quicklist node"));
        }
        if container == 1 {
            items.push(node);
            continue;
        }
        let entries = if ty == t::LIST_QUICKLIST_2 {
            listpack::decode(&node)
        } else {
            ziplist::decode(&node)
        };
        items.extend(
            entries
                .map_err(|e| e.in_blob(at))?
                .iter()
                .map(Entry::to_bytes),
        );
    }
    Ok(Value::List(items))
}

/// Converts a compact-encoding blob (zipmap, ziplist, intset, listpack) into a value.
pub(crate) fn decode_blob_value(blob: &[u8], ty: u8) -> Result<Value> {
    match ty {
        t::HASH_ZIPMAP => {
            let pairs = zipmap::decode(blob)?;
            check_unique(
                pairs.iter().map(|(f, _)| *f),
                0,
                "Hash zipmap with dup elements",
            )?;
            Ok(Value::Hash(
                pairs
                    .iter()
                    .map(|(f, v)| (f.to_vec(), v.to_vec()))
                    .collect(),
            ))
        }
        t::LIST_ZIPLIST => Ok(Value::List(to_bytes(&ziplist::decode(blob)?))),
        t::SET_INTSET => Ok(Value::Set(
            intset::decode(blob)?
                .into_iter()
                .map(i64_to_bytes)
                .collect(),
        )),
        t::SET_LISTPACK => {
            let members = to_bytes(&listpack::decode(blob)?);
            check_unique(
                members.iter().map(Vec::as_slice),
                0,
                "Set listpack with duplicate members",
            )?;
            Ok(Value::Set(members))
        }
        t::HASH_ZIPLIST | t::HASH_LISTPACK => {
            let pairs = pairs(blob, ty == t::HASH_LISTPACK)?;
            check_unique(
                pairs.iter().map(|(f, _)| f.as_slice()),
                0,
                "Hash with dup elements",
            )?;
            Ok(Value::Hash(pairs))
        }
        t::ZSET_ZIPLIST | t::ZSET_LISTPACK => zset_from_pairs(pairs(blob, ty == t::ZSET_LISTPACK)?),
        _ => Err(RdbError::new(0, ErrorKind::UnknownType(ty))),
    }
}

fn to_bytes(entries: &[Entry<'_>]) -> Vec<Vec<u8>> {
    entries.iter().map(Entry::to_bytes).collect()
}

/// Decodes a listpack or ziplist holding alternating (field, value) entries.
fn pairs(blob: &[u8], is_listpack: bool) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
    let entries = if is_listpack {
        listpack::decode(blob)?
    } else {
        ziplist::decode(blob)?
    };
    if entries.len() % 2 != 0 {
        return Err(RdbError::corrupt(
            0,
            "odd number of entries in a pairs blob",
        ));
    }
    Ok(entries
        .chunks_exact(2)
        .map(|p| (p[0].to_bytes(), p[1].to_bytes()))
        .collect())
}

fn zset_from_pairs(pairs: Vec<(Vec<u8>, Vec<u8>)>) -> Result<Value> {
    check_unique(
        pairs.iter().map(|(m, _)| m.as_slice()),
        0,
        "Duplicate zset fields detected",
    )?;
    let mut out = Vec::with_capacity(pairs.len());
    for (member, score) in pairs {
        match parse_double(&score) {
            Some(s) if !s.is_nan() => out.push((member, s)),
            _ => return Err(RdbError::corrupt(0, "Zset with invalid or NAN score")),
        }
    }
    Ok(Value::SortedSet(out))
}

/// Fails with `reason` at `at` if any item repeats. Small collections are
/// compared pairwise, which beats hashing for the typical handful of members.
pub(crate) fn check_unique<'a>(
    items: impl ExactSizeIterator<Item = &'a [u8]>,
    at: u64,
    reason: &str,
) -> Result<()> {
    let n = items.len();
    let dup = if n <= 16 {
        let v: Vec<&[u8]> = items.collect();
        (0..n).any(|i| v[i + 1..].contains(&v[i]))
    } else {
        let mut seen = foldhash::HashSet::with_capacity_and_hasher(n, Default::default());
        items.into_iter().any(|m| !seen.insert(m))
    };
    if dup {
        return Err(RdbError::corrupt(at, reason));
    }
    Ok(())
}
