//! BITFIELD and BITFIELD_RO: the argument parser (public, fuzzed) and the execution of the
//! parsed operations against the string at the key.
//!
//! As in Valkey, every operation is parsed (and every error reported) before the key is looked
//! up; a command with a SET or INCRBY first makes the string long enough for the farthest bit
//! it writes (creating it if needed), then runs the operations in order.

use bytes::Bytes;
use resp::Reply;

use super::bits::{self, Overflow};
use super::{bit_offset, grow_for_bits};
use crate::args::c_is;
use crate::ctx::Ctx;
use crate::errors::{self, err};
use crate::notify;

/// One BITFIELD operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FieldOp {
    pub kind: OpKind,
    /// Signed (`i<bits>`) or unsigned (`u<bits>`).
    pub signed: bool,
    /// 1..=64 signed, 1..=63 unsigned.
    pub bits: u32,
    /// Bit offset (`#n` already multiplied by `bits`).
    pub offset: u64,
    /// The overflow rule in force when the operation was given.
    pub overflow: Overflow,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpKind {
    Get,
    Set(i64),
    IncrBy(i64),
}

/// The parsed operations of `BITFIELD key op...` (`a` is the whole argument vector).
/// `obey_all` lifts the offset limit (the primary link), `max_bulk_len` is proto-max-bulk-len.
pub fn parse(a: &[Bytes], obey_all: bool, max_bulk_len: usize) -> Result<Vec<FieldOp>, Reply> {
    let mut ops = Vec::new();
    let mut overflow = Overflow::Wrap;
    let mut j = 2;
    while j < a.len() {
        let remaining = a.len() - j - 1;
        let sub = &a[j];
        let write = if c_is(sub, "get") && remaining >= 2 {
            false
        } else if (c_is(sub, "set") || c_is(sub, "incrby")) && remaining >= 3 {
            true
        } else if c_is(sub, "overflow") && remaining >= 1 {
            overflow = match &a[j + 1] {
                t if c_is(t, "wrap") => Overflow::Wrap,
                t if c_is(t, "sat") => Overflow::Sat,
                t if c_is(t, "fail") => Overflow::Fail,
                _ => return Err(err(errors::BITFIELD_OVERFLOW_TYPE)),
            };
            j += 2;
            continue;
        } else {
            return Err(err(errors::SYNTAX));
        };
        let (signed, bits) = field_type(&a[j + 1])?;
        let offset = bit_offset(&a[j + 2], Some(bits), obey_all, max_bulk_len)?;
        let kind = if !write {
            OpKind::Get
        } else {
            let v = crate::args::int(&a[j + 3])?;
            if c_is(sub, "set") {
                OpKind::Set(v)
            } else {
                OpKind::IncrBy(v)
            }
        };
        ops.push(FieldOp {
            kind,
            signed,
            bits,
            offset,
            overflow,
        });
        j += if write { 4 } else { 3 };
    }
    Ok(ops)
}

/// `i<1..=64>` or `u<1..=63>` (Valkey reads the digits up to a NUL byte, as C's `strlen`).
fn field_type(arg: &[u8]) -> Result<(bool, u32), Reply> {
    let bad = || err(errors::BITFIELD_TYPE);
    let signed = match arg.first() {
        Some(b'i') => true,
        Some(b'u') => false,
        _ => return Err(bad()),
    };
    let digits = &arg[1..];
    let digits = &digits[..digits.iter().position(|&b| b == 0).unwrap_or(digits.len())];
    let bits = resp::request::parse_i64(digits).ok_or_else(bad)?;
    let max = if signed { 64 } else { 63 };
    if !(1..=max).contains(&bits) {
        return Err(bad());
    }
    Ok((signed, bits as u32))
}

/// BITFIELD key [GET type offset | SET type offset value | INCRBY type offset increment |
/// OVERFLOW WRAP|SAT|FAIL] ...
pub fn bitfield(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    generic(ctx, a, false)
}

/// BITFIELD_RO key [GET type offset] ...
pub fn bitfield_ro(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    generic(ctx, a, true)
}

fn generic(ctx: &mut Ctx, a: &[Bytes], read_only: bool) -> Reply {
    let ops = match parse(a, ctx.ks.obey_all, ctx.settings.proto_max_bulk_len) {
        Ok(ops) => ops,
        Err(e) => return e,
    };
    let key = &a[1];
    let highest_write = ops
        .iter()
        .filter(|op| op.kind != OpKind::Get)
        .map(|op| op.offset + u64::from(op.bits) - 1)
        .max();
    let Some(highest_write) = highest_write else {
        // Only GETs: a read (a missing key reads as all zeros).
        return match ctx.ks.read(ctx.db, key) {
            None => Reply::Array(ops.iter().map(|op| get_reply(&[], op)).collect()),
            Some(o) => match o.string_bytes() {
                Some(p) => Reply::Array(ops.iter().map(|op| get_reply(&p, op)).collect()),
                None => err(errors::WRONGTYPE),
            },
        };
    };
    if read_only {
        return err(errors::BITFIELD_RO_GET_ONLY);
    }
    let dirty = match grow_for_bits(ctx, key, highest_write) {
        Ok((_, dirty)) => dirty,
        Err(e) => return e,
    };
    let mut changes = 0u64;
    let mut replies = Vec::with_capacity(ops.len());
    for op in &ops {
        let Some(p) = ctx.ks.peek(ctx.db, key).and_then(|o| o.string_bytes()) else {
            return err(errors::WRONGTYPE);
        };
        let (reply, write) = match op.kind {
            OpKind::Get => (get_reply(&p, op), None),
            OpKind::Set(v) | OpKind::IncrBy(v) => write_op(&p, op, v),
        };
        drop(p);
        if let Some((old, new)) = write {
            if old != new {
                if let Some(buf) = ctx.ks.get_mut(ctx.db, key).and_then(|o| o.str_mut()) {
                    bits::set_unsigned(buf, op.offset, op.bits, new);
                }
            }
            if dirty || old != new {
                changes += 1;
            }
        }
        replies.push(reply);
    }
    if changes > 0 {
        ctx.notify(notify::STRING, "setbit", key);
        ctx.dirty += changes;
    }
    Reply::Array(replies)
}

/// GET: the field read from `p` as if zero-padded.
fn get_reply(p: &[u8], op: &FieldOp) -> Reply {
    let v = if op.signed {
        bits::get_signed(p, op.offset, op.bits)
    } else {
        bits::get_unsigned(p, op.offset, op.bits) as i64
    };
    Reply::Int(v)
}

/// SET or INCRBY on the current string `p`: the reply, and (old, new) raw field bits when the
/// operation writes (not on an overflow under FAIL).
fn write_op(p: &[u8], op: &FieldOp, v: i64) -> (Reply, Option<(u64, u64)>) {
    let incr = matches!(op.kind, OpKind::IncrBy(_));
    if op.signed {
        let old = bits::get_signed(p, op.offset, op.bits);
        let new = if incr {
            match bits::signed_overflow(old, v, op.bits, op.overflow) {
                None => Some(old.wrapping_add(v)),
                Some(limit) => limit,
            }
        } else {
            match bits::signed_overflow(v, 0, op.bits, op.overflow) {
                None => Some(v),
                Some(limit) => limit,
            }
        };
        match new {
            Some(new) => {
                let reply = if incr { new } else { old };
                (Reply::Int(reply), Some((old as u64, new as u64)))
            }
            None => (Reply::Nil, None),
        }
    } else {
        let old = bits::get_unsigned(p, op.offset, op.bits);
        let new = if incr {
            match bits::unsigned_overflow(old, v, op.bits, op.overflow) {
                None => Some(old.wrapping_add(v as u64)),
                Some(limit) => limit,
            }
        } else {
            match bits::unsigned_overflow(v as u64, 0, op.bits, op.overflow) {
                None => Some(v as u64),
                Some(limit) => limit,
            }
        };
        match new {
            Some(new) => {
                let reply = if incr { new } else { old };
                (Reply::Int(reply as i64), Some((old, new)))
            }
            None => (Reply::Nil, None),
        }
    }
}
