//! Bitmap commands: SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP, BITFIELD and BITFIELD_RO.
//!
//! Bitmaps are ordinary strings: bit 0 is the most significant bit of the first byte, and an
//! int-encoded string is read through its decimal text (as Valkey's
//! `getObjectReadOnlyString`). Writes turn the value into a raw string, created or
//! zero-extended to reach the highest bit written.
//!
//! - [`bits`]: pure bit arithmetic (population count, first set/clear bit, bitfield integers
//!   and their overflow rules).
//! - [`field`]: BITFIELD and BITFIELD_RO (parser and execution).
//!
//! This file holds the table rows, what the family shares (bit offsets, growing the string for
//! a write) and the other five commands. Nothing here parses or formats anything but bitmaps.

pub mod bits;
pub mod field;

use bytes::Bytes;
use keyspace::{Boxed, Kind, NewValue, Obj};
use resp::Reply;

use crate::args::{self, c_is};
use crate::ctx::Ctx;
use crate::errors::{self, err};
use crate::notify;
use crate::row;
use crate::spec::{acl, flags as f, CommandSpec, Handler, Keys};

const RO_ACCESS: &[&str] = &["RO", "ACCESS"];

#[rustfmt::skip]
pub static COMMANDS: &[CommandSpec] = &[
    row!("setbit", 4, f::WRITE | f::DENYOOM, acl::BITMAP, Keys::range(1, 0, 1, &["RW", "ACCESS", "UPDATE"]), "bitmap", "2.2.0", "Sets or clears the bit at offset of the string value. Creates the key if it doesn't exist.", Handler::Data(setbit)),
    row!("getbit", 3, f::READONLY | f::FAST, acl::BITMAP, Keys::range(1, 0, 1, RO_ACCESS), "bitmap", "2.2.0", "Returns a bit value by offset.", Handler::Data(getbit)),
    row!("bitcount", -2, f::READONLY, acl::BITMAP, Keys::range(1, 0, 1, RO_ACCESS), "bitmap", "2.6.0", "Counts the number of set bits (population counting) in a string.", Handler::Data(bitcount)),
    row!("bitpos", -3, f::READONLY, acl::BITMAP, Keys::range(1, 0, 1, RO_ACCESS), "bitmap", "2.8.7", "Finds the first set (1) or clear (0) bit in a string.", Handler::Data(bitpos)),
    row!("bitop", -4, f::WRITE | f::DENYOOM, acl::BITMAP, Keys::range(2, -1, 1, &["OW", "UPDATE"]), "bitmap", "2.6.0", "Performs bitwise operations on multiple strings, and stores the result.", Handler::Data(bitop)),
    row!("bitfield", -2, f::WRITE | f::DENYOOM, acl::BITMAP, Keys::range(1, 0, 1, &["RW", "UPDATE", "ACCESS", "VARIABLE_FLAGS"]), "bitmap", "3.2.0", "Performs arbitrary bitfield integer operations on strings.", Handler::Data(field::bitfield)),
    row!("bitfield_ro", -2, f::READONLY | f::FAST, acl::BITMAP, Keys::range(1, 0, 1, RO_ACCESS), "bitmap", "6.0.0", "Performs arbitrary read-only bitfield integer operations on strings.", Handler::Data(field::bitfield_ro)),
];

/// A bit offset argument (Valkey's `getBitOffsetFromArgument`): a non-negative integer whose
/// byte is below proto-max-bulk-len (no limit for the primary link, `obey_all`). With
/// `hash_bits` (BITFIELD), `#n` means `n * bits`.
pub fn bit_offset(
    arg: &[u8],
    hash_bits: Option<u32>,
    obey_all: bool,
    max_bulk_len: usize,
) -> Result<u64, Reply> {
    let bad = || err(errors::BIT_OFFSET);
    let (digits, mult) = match (arg.split_first(), hash_bits) {
        (Some((b'#', rest)), Some(bits)) if bits > 0 => (rest, i64::from(bits)),
        _ => (arg, 1),
    };
    // Valkey multiplies in C `long long`; the product wraps (then reads as negative).
    let v = resp::request::parse_i64(digits)
        .ok_or_else(bad)?
        .wrapping_mul(mult);
    let limit = i64::try_from(max_bulk_len).unwrap_or(i64::MAX);
    if v < 0 || (!obey_all && (v >> 3) >= limit) {
        return Err(bad());
    }
    Ok(v as u64)
}

/// The string at `key` for a bit write reaching bit `max_bit` (Valkey's
/// `lookupStringForBitCommand`): created zero-filled if missing (a "new" key), zero-extended
/// if shorter. Returns the buffer when it had to be created or extended, and whether it was
/// (what Valkey calls `dirty`); a string already long enough is left untouched (the caller
/// asks for it mutably only when a bit really changes).
fn grow_for_bits<'k>(
    ctx: &'k mut Ctx,
    key: &[u8],
    max_bit: u64,
) -> Result<(Option<&'k mut Vec<u8>>, bool), Reply> {
    let too_big = || err(errors::STRING_TOO_BIG);
    let need = usize::try_from(max_bit >> 3)
        .ok()
        .and_then(|b| b.checked_add(1))
        .ok_or_else(too_big)?;
    let cur_len = match ctx.ks.get(ctx.db, key) {
        None => None,
        Some(o) if o.kind() != Kind::String => return Err(err(errors::WRONGTYPE)),
        Some(o) => o.string_bytes().map(|s| s.len()),
    };
    match cur_len {
        None => {
            let mut v = Vec::new();
            v.try_reserve_exact(need).map_err(|_| too_big())?;
            v.resize(need, 0);
            ctx.store(Obj::new(key, NewValue::Boxed(Boxed::Str(v)), None));
            let buf = ctx.ks.get_mut(ctx.db, key).and_then(Obj::str_mut);
            Ok((buf, true))
        }
        Some(len) if len >= need => Ok((None, false)),
        Some(_) => {
            let buf = ctx
                .ks
                .get_mut(ctx.db, key)
                .and_then(Obj::str_mut)
                .ok_or_else(|| err(errors::WRONGTYPE))?;
            buf.try_reserve_exact(need - buf.len())
                .map_err(|_| too_big())?;
            buf.resize(need, 0);
            Ok((Some(buf), true))
        }
    }
}

/// SETBIT key offset value
pub fn setbit(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    let offset = match bit_offset(
        &a[2],
        None,
        ctx.ks.obey_all,
        ctx.settings.proto_max_bulk_len,
    ) {
        Ok(o) => o,
        Err(e) => return e,
    };
    let on = match resp::request::parse_i64(&a[3]) {
        Some(v @ (0 | 1)) => v as u8,
        _ => return err(errors::BIT_VALUE),
    };
    let key = &a[1];
    let byte = (offset >> 3) as usize;
    let shift = 7 - (offset & 7) as u32;
    let old = match ctx.ks.get(ctx.db, key) {
        None => None,
        Some(o) if o.kind() != Kind::String => return err(errors::WRONGTYPE),
        Some(o) => o
            .string_bytes()
            .and_then(|s| s.get(byte).map(|b| (b >> shift) & 1)),
    };
    if old == Some(on) {
        // The string already reaches the bit and the bit already has that value.
        return Reply::Int(i64::from(on));
    }
    let buf = match grow_for_bits(ctx, key, offset) {
        Ok((Some(buf), _)) => Some(buf),
        Ok((None, _)) => ctx.ks.get_mut(ctx.db, key).and_then(Obj::str_mut),
        Err(e) => return e,
    };
    if let Some(b) = buf.and_then(|buf| buf.get_mut(byte)) {
        *b = (*b & !(1u8 << shift)) | (on << shift);
    }
    ctx.notify(notify::STRING, "setbit", key);
    ctx.dirty += 1;
    Reply::Int(i64::from(old.unwrap_or(0)))
}

/// GETBIT key offset
pub fn getbit(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    let offset = match bit_offset(
        &a[2],
        None,
        ctx.ks.obey_all,
        ctx.settings.proto_max_bulk_len,
    ) {
        Ok(o) => o,
        Err(e) => return e,
    };
    match ctx.ks.read(ctx.db, &a[1]) {
        None => Reply::Int(0),
        Some(o) => match o.string_bytes() {
            None => err(errors::WRONGTYPE),
            Some(s) => {
                let bit = s
                    .get((offset >> 3) as usize)
                    .map_or(0, |b| (b >> (7 - (offset & 7))) & 1);
                Reply::Int(i64::from(bit))
            }
        },
    }
}

/// A byte range of a string selected by BITCOUNT/BITPOS `start end [BYTE|BIT]`, with the
/// bits of the first and last byte that fall outside a BIT range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct ByteRange {
    start: i64,
    end: i64,
    /// Bits of the first byte before the range (BIT ranges only).
    first_mask: u8,
    /// Bits of the last byte after the range (BIT ranges only).
    last_mask: u8,
}

/// Normalises `start..=end` (negative from the end, clamped) over a string of `len` bytes, in
/// bytes or bits, as BITCOUNT and BITPOS do.
fn byte_range(mut start: i64, mut end: i64, len: i64, bit_unit: bool) -> ByteRange {
    let total = if bit_unit { len << 3 } else { len };
    if start < 0 {
        start += total;
    }
    if end < 0 {
        end += total;
    }
    start = start.max(0);
    end = end.max(0);
    if end >= total {
        end = total - 1;
    }
    let (mut first_mask, mut last_mask) = (0, 0);
    if bit_unit && start <= end {
        first_mask = !((1u32 << (8 - (start & 7))) - 1) as u8;
        last_mask = ((1u32 << (7 - (end & 7))) - 1) as u8;
        start >>= 3;
        end >>= 3;
    }
    ByteRange {
        start,
        end,
        first_mask,
        last_mask,
    }
}

/// `BYTE` or `BIT` (case-insensitive); syntax error otherwise.
fn unit_is_bit(arg: &[u8]) -> Result<bool, Reply> {
    if c_is(arg, "bit") {
        Ok(true)
    } else if c_is(arg, "byte") {
        Ok(false)
    } else {
        Err(err(errors::SYNTAX))
    }
}

/// BITCOUNT key [start end [BYTE|BIT]] (Valkey 8 also takes `start` alone).
pub fn bitcount(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    let mut range = None;
    if (3..=5).contains(&a.len()) {
        let start = match args::int(&a[2]) {
            Ok(v) => v,
            Err(e) => return e,
        };
        let bit_unit = match a.get(4).map(|u| unit_is_bit(u)) {
            None => false,
            Some(Ok(b)) => b,
            Some(Err(e)) => return e,
        };
        let end = match a.get(3).map(|e| args::int(e)) {
            None => None,
            Some(Ok(v)) => Some(v),
            Some(Err(e)) => return e,
        };
        range = Some((start, end, bit_unit));
    } else if a.len() != 2 {
        return err(errors::SYNTAX);
    }
    let obj = match ctx.ks.read(ctx.db, &a[1]) {
        None => return Reply::Int(0),
        Some(o) => o,
    };
    let Some(p) = obj.string_bytes() else {
        return err(errors::WRONGTYPE);
    };
    let len = p.len() as i64;
    let r = match range {
        None => ByteRange {
            start: 0,
            end: len - 1,
            first_mask: 0,
            last_mask: 0,
        },
        Some((start, end, bit_unit)) => {
            let end_v = end.unwrap_or(len - 1);
            if start < 0 && end_v < 0 && start > end_v {
                return Reply::Int(0);
            }
            byte_range(start, end_v, len, bit_unit)
        }
    };
    if r.start > r.end {
        return Reply::Int(0);
    }
    let (s, e) = (r.start as usize, r.end as usize);
    let mut count = bits::popcount(&p[s..=e]);
    count -= u64::from((p[s] & r.first_mask).count_ones());
    count -= u64::from((p[e] & r.last_mask).count_ones());
    Reply::Int(count as i64)
}

/// BITPOS key bit [start [end [BYTE|BIT]]]
pub fn bitpos(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    let bit = match args::int(&a[2]) {
        Ok(0) => false,
        Ok(1) => true,
        Ok(_) => return err(errors::BITPOS_BIT),
        Err(e) => return e,
    };
    let mut range = None;
    if (4..=6).contains(&a.len()) {
        let start = match args::int(&a[3]) {
            Ok(v) => v,
            Err(e) => return e,
        };
        let bit_unit = match a.get(5).map(|u| unit_is_bit(u)) {
            None => false,
            Some(Ok(b)) => b,
            Some(Err(e)) => return e,
        };
        let end = match a.get(4).map(|e| args::int(e)) {
            None => None,
            Some(Ok(v)) => Some(v),
            Some(Err(e)) => return e,
        };
        range = Some((start, end, bit_unit));
    } else if a.len() != 3 {
        return err(errors::SYNTAX);
    }
    let obj = match ctx.ks.read(ctx.db, &a[1]) {
        // A missing key is an infinite run of clear bits.
        None => return Reply::Int(if bit { -1 } else { 0 }),
        Some(o) => o,
    };
    let Some(p) = obj.string_bytes() else {
        return err(errors::WRONGTYPE);
    };
    let len = p.len() as i64;
    let (r, end_given) = match range {
        None => (
            ByteRange {
                start: 0,
                end: len - 1,
                first_mask: 0,
                last_mask: 0,
            },
            false,
        ),
        Some((start, end, bit_unit)) => (
            byte_range(start, end.unwrap_or(len - 1), len, bit_unit),
            end.is_some(),
        ),
    };
    if r.start > r.end {
        return Reply::Int(-1);
    }
    Reply::Int(bitpos_in(&p, r, bit, end_given))
}

/// The search of BITPOS over a non-empty byte range, masking the edge bytes of a BIT range
/// (Valkey searches the first byte, the middle bytes and the last byte in turn).
fn bitpos_in(p: &[u8], r: ByteRange, bit: bool, end_given: bool) -> i64 {
    // Bits outside the range are forced to the value not searched for.
    let masked = |b: u8, mask: u8| if bit { b & !mask } else { b | mask };
    let mut start = r.start as usize;
    let end = r.end as usize;
    let mut bytes = end - start + 1;
    let pos = 'search: {
        if r.first_mask != 0 {
            let mut b = masked(p[start], r.first_mask);
            if r.last_mask != 0 && bytes == 1 {
                b = masked(b, r.last_mask);
            }
            let pos = bits::first_bit(&[b], bit);
            if bytes == 1 || (pos != -1 && pos != 8) {
                break 'search pos;
            }
            start += 1;
            bytes -= 1;
        }
        let middle = bytes - usize::from(r.last_mask != 0);
        if middle > 0 {
            let pos = bits::first_bit(&p[start..start + middle], bit);
            if bytes == middle || (pos != -1 && pos != (middle as i64) << 3) {
                break 'search pos;
            }
            start += middle;
            bytes -= middle;
        }
        bits::first_bit(&[masked(p[end], r.last_mask)], bit)
    };
    // With an explicit end, the right of the range is not zero padding.
    if end_given && !bit && pos == (bytes as i64) << 3 {
        return -1;
    }
    if pos == -1 {
        -1
    } else {
        pos + ((start as i64) << 3)
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum BitOp {
    And,
    Or,
    Xor,
    Not,
}

/// BITOP AND|OR|XOR|NOT destkey key [key ...]
pub fn bitop(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    let op = match &a[1] {
        o if c_is(o, "and") => BitOp::And,
        o if c_is(o, "or") => BitOp::Or,
        o if c_is(o, "xor") => BitOp::Xor,
        o if c_is(o, "not") => BitOp::Not,
        _ => return err(errors::SYNTAX),
    };
    if op == BitOp::Not && a.len() != 4 {
        return err(errors::BITOP_NOT_ONE_KEY);
    }
    // Handles on the sources (cheap clones), each looked up as a read in argument order.
    let mut sources: Vec<Option<Obj>> = Vec::with_capacity(a.len() - 3);
    for k in &a[3..] {
        match ctx.ks.read(ctx.db, k) {
            None => sources.push(None),
            Some(o) if o.kind() != Kind::String => return err(errors::WRONGTYPE),
            Some(o) => sources.push(Some(o.clone())),
        }
    }
    let texts: Vec<std::borrow::Cow<'_, [u8]>> = sources
        .iter()
        .map(|o| {
            o.as_ref()
                .and_then(|o| o.string_bytes())
                .unwrap_or(std::borrow::Cow::Borrowed(&[]))
        })
        .collect();
    let maxlen = texts.iter().map(|t| t.len()).max().unwrap_or(0);
    let dest = &a[2];
    if maxlen == 0 {
        drop(texts);
        // Redis's `dbDelete`: a destination that has expired is deleted as any other.
        if ctx.ks.remove_stored(ctx.db, dest).is_some() {
            ctx.notify(notify::GENERIC, "del", dest);
            ctx.dirty += 1;
        }
        return Reply::Int(0);
    }
    let res = compute_bitop(op, &texts, maxlen);
    drop(texts);
    drop(sources);
    // The write lookup of `setKey` (deletes an expired destination first).
    ctx.ks.get(ctx.db, dest);
    ctx.store(Obj::new(dest, NewValue::Boxed(Boxed::Str(res)), None));
    ctx.notify(notify::STRING, "set", dest);
    ctx.dirty += 1;
    Reply::Int(maxlen as i64)
}

/// The result of a BITOP over `srcs`, zero-padded to `maxlen` bytes.
fn compute_bitop<T: AsRef<[u8]>>(op: BitOp, srcs: &[T], maxlen: usize) -> Vec<u8> {
    let mut res = vec![0u8; maxlen];
    let Some((first, rest)) = srcs.split_first() else {
        return res;
    };
    let first = first.as_ref();
    res[..first.len()].copy_from_slice(first);
    if op == BitOp::Not {
        res.iter_mut().for_each(|b| *b = !*b);
        return res;
    }
    for src in rest {
        let src = src.as_ref();
        let (head, tail) = res.split_at_mut(src.len());
        match op {
            BitOp::And => {
                head.iter_mut().zip(src).for_each(|(r, s)| *r &= s);
                tail.iter_mut().for_each(|r| *r = 0);
            }
            BitOp::Or => head.iter_mut().zip(src).for_each(|(r, s)| *r |= s),
            BitOp::Xor => head.iter_mut().zip(src).for_each(|(r, s)| *r ^= s),
            BitOp::Not => {}
        }
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_follow_valkey() {
        let max = 512 * 1024 * 1024;
        assert_eq!(bit_offset(b"0", None, false, max), Ok(0));
        assert_eq!(bit_offset(b"4294967295", None, false, max), Ok(4294967295));
        assert!(bit_offset(b"4294967296", None, false, max).is_err());
        assert!(bit_offset(b"4294967296", None, true, max).is_ok());
        assert!(bit_offset(b"-1", None, false, max).is_err());
        assert!(bit_offset(b"#1", None, false, max).is_err());
        assert_eq!(bit_offset(b"#3", Some(8), false, max), Ok(24));
        // #n * bits wraps in C long long and then reads as negative.
        assert!(bit_offset(b"#9223372036854775807", Some(8), true, max).is_err());
        assert!(bit_offset(b"", Some(8), false, max).is_err());
    }

    #[test]
    fn ranges_and_masks() {
        let r = byte_range(5, 30, 4, true);
        assert_eq!(
            (r.start, r.end, r.first_mask, r.last_mask),
            (0, 3, 0xf8, 0x01)
        );
        let r = byte_range(-100, 100, 4, false);
        assert_eq!((r.start, r.end), (0, 3));
        let r = byte_range(0, -1, 0, false);
        assert!(r.start > r.end);
    }

    #[test]
    fn bitop_pads_and_skips_nothing() {
        let a: &[u8] = b"\xff\x0f";
        let b: &[u8] = b"\xf0";
        assert_eq!(compute_bitop(BitOp::And, &[a, b], 2), vec![0xf0, 0x00]);
        assert_eq!(compute_bitop(BitOp::Or, &[b, a], 2), vec![0xff, 0x0f]);
        assert_eq!(compute_bitop(BitOp::Xor, &[a, b], 2), vec![0x0f, 0x0f]);
        assert_eq!(compute_bitop(BitOp::Not, &[b], 1), vec![0x0f]);
    }
}
