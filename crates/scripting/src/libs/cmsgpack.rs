//! The `cmsgpack` library (lua-cmsgpack 0.4.0, as Redis bundles it): `pack(...)`,
//! `unpack(s)`, `unpack_one(s [, offset])`, `unpack_limit(s, limit [, offset])`.
//!
//! Encoding: integral numbers as the smallest int/uint form, other numbers as float32 when
//! exact, else float64; strings as fixstr/str8/str16/str32; tables whose keys are exactly
//! 1..n as arrays (the length operator decides how many elements), others as maps; nesting
//! deeper than 16 tables and unsupported types as nil. Decoding knows no bin/ext types (they
//! are "Bad data format"); uint64 values above 2^63 come back negative, as in the C code.

use std::ffi::c_int;

use crate::ffi::*;
use crate::lua::{c_double_to_i64, cstr, finish, guard, protected_gettable, push_bytes, Fail};

const MAX_NESTING: usize = 16;

fn checkstack_fail(what: &str) -> Fail {
    Fail::Error(format!("stack overflow ({what})").into_bytes())
}

/// Encodes an integer in the smallest MessagePack form.
pub fn encode_int(buf: &mut Vec<u8>, n: i64) {
    if n >= 0 {
        if n <= 127 {
            buf.push(n as u8);
        } else if n <= 0xff {
            buf.extend_from_slice(&[0xcc, n as u8]);
        } else if n <= 0xffff {
            buf.push(0xcd);
            buf.extend_from_slice(&(n as u16).to_be_bytes());
        } else if n <= 0xffff_ffff {
            buf.push(0xce);
            buf.extend_from_slice(&(n as u32).to_be_bytes());
        } else {
            buf.push(0xcf);
            buf.extend_from_slice(&(n as u64).to_be_bytes());
        }
    } else if n >= -32 {
        buf.push(n as i8 as u8);
    } else if n >= -128 {
        buf.extend_from_slice(&[0xd0, n as u8]);
    } else if n >= -32768 {
        buf.push(0xd1);
        buf.extend_from_slice(&(n as i16).to_be_bytes());
    } else if n >= -2147483648 {
        buf.push(0xd2);
        buf.extend_from_slice(&(n as i32).to_be_bytes());
    } else {
        buf.push(0xd3);
        buf.extend_from_slice(&n.to_be_bytes());
    }
}

/// Encodes a non-integral number: float32 when that is exact, else float64.
pub fn encode_double(buf: &mut Vec<u8>, d: f64) {
    let f = d as f32;
    if d == f as f64 {
        buf.push(0xca);
        buf.extend_from_slice(&f.to_be_bytes());
    } else {
        buf.push(0xcb);
        buf.extend_from_slice(&d.to_be_bytes());
    }
}

pub fn encode_number(buf: &mut Vec<u8>, n: f64) {
    if !n.is_infinite() && c_double_to_i64(n) as f64 == n {
        encode_int(buf, c_double_to_i64(n));
    } else {
        encode_double(buf, n);
    }
}

pub fn encode_bytes(buf: &mut Vec<u8>, s: &[u8]) {
    let len = s.len();
    if len < 32 {
        buf.push(0xa0 | len as u8);
    } else if len <= 0xff {
        buf.extend_from_slice(&[0xd9, len as u8]);
    } else if len <= 0xffff {
        buf.push(0xda);
        buf.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        buf.push(0xdb);
        buf.extend_from_slice(&(len as u32).to_be_bytes());
    }
    buf.extend_from_slice(s);
}

fn encode_len(buf: &mut Vec<u8>, n: u64, fix: u8, b16: u8, b32: u8) {
    if n <= 15 {
        buf.push(fix | n as u8);
    } else if n <= 0xffff {
        buf.push(b16);
        buf.extend_from_slice(&(n as u16).to_be_bytes());
    } else {
        buf.push(b32);
        buf.extend_from_slice(&(n as u32).to_be_bytes());
    }
}

/// Encodes the value on top of the stack and pops it.
unsafe fn encode_top(l: *mut lua_State, buf: &mut Vec<u8>, level: usize) -> Result<(), Fail> {
    let mut t = lua_type(l, -1);
    if t == LUA_TTABLE && level == MAX_NESTING {
        t = LUA_TNIL;
    }
    let r = match t {
        LUA_TSTRING => {
            encode_bytes(buf, crate::lua::to_bytes(l, -1).unwrap_or_default());
            Ok(())
        }
        LUA_TBOOLEAN => {
            buf.push(if lua_toboolean(l, -1) != 0 {
                0xc3
            } else {
                0xc2
            });
            Ok(())
        }
        LUA_TNUMBER => {
            encode_number(buf, lua_tonumber(l, -1));
            Ok(())
        }
        LUA_TTABLE => encode_table(l, buf, level),
        _ => {
            buf.push(0xc0);
            Ok(())
        }
    };
    // On failure the error value (if any) stays on top for `finish` to raise.
    r?;
    lua_pop(l, 1);
    Ok(())
}

/// True when the keys of the table on top are exactly 1..n (`table_is_an_array`).
unsafe fn is_array(l: *mut lua_State) -> Result<bool, Fail> {
    let top = lua_gettop(l);
    if lua_checkstack(l, 2) == 0 {
        return Err(checkstack_fail("in function table_is_an_array"));
    }
    let (mut count, mut max) = (0i32, 0i32);
    lua_pushnil(l);
    while lua_next(l, -2) != 0 {
        lua_pop(l, 1);
        let n = lua_tonumber(l, -1);
        // `(int)n == n` as x86 computes it: out of range gives INT_MIN.
        let as_int = if n > -2147483649.0 && n < 2147483648.0 {
            n as i32
        } else {
            i32::MIN
        };
        if lua_type(l, -1) != LUA_TNUMBER || n <= 0.0 || as_int as f64 != n {
            lua_settop(l, top);
            return Ok(false);
        }
        if n > max as f64 {
            max = as_int;
        }
        count += 1;
    }
    lua_settop(l, top);
    Ok(max == count)
}

unsafe fn encode_table(l: *mut lua_State, buf: &mut Vec<u8>, level: usize) -> Result<(), Fail> {
    if is_array(l)? {
        let len = lua_objlen(l, -1);
        encode_len(buf, len as u64, 0x90, 0xdc, 0xdd);
        if lua_checkstack(l, 1) == 0 {
            return Err(checkstack_fail("in function mp_encode_lua_table_as_array"));
        }
        for j in 1..=len {
            lua_pushnumber(l, j as f64);
            if protected_gettable(l, -2).is_err() {
                return Err(Fail::Top);
            }
            encode_top(l, buf, level + 1)?;
        }
    } else {
        if lua_checkstack(l, 3) == 0 {
            return Err(checkstack_fail("in function mp_encode_lua_table_as_map"));
        }
        let mut len = 0u64;
        lua_pushnil(l);
        while lua_next(l, -2) != 0 {
            lua_pop(l, 1);
            len += 1;
        }
        encode_len(buf, len, 0x80, 0xde, 0xdf);
        lua_pushnil(l);
        while lua_next(l, -2) != 0 {
            lua_pushvalue(l, -2);
            encode_top(l, buf, level + 1)?;
            encode_top(l, buf, level + 1)?;
        }
    }
    Ok(())
}

unsafe extern "C-unwind" fn mp_pack(l: *mut lua_State) -> c_int {
    let nargs = lua_gettop(l);
    if nargs == 0 {
        return luaL_argerror(l, 0, cstr!("MessagePack pack needs input."));
    }
    if lua_checkstack(l, nargs) == 0 {
        return luaL_argerror(l, 0, cstr!("Too many arguments for MessagePack pack."));
    }
    let r = guard(|| {
        let mut buf = Vec::new();
        for i in 1..=nargs {
            if lua_checkstack(l, 1) == 0 {
                return Err(checkstack_fail("in function mp_check"));
            }
            lua_pushvalue(l, i);
            encode_top(l, &mut buf, 0)?;
        }
        push_bytes(l, &buf);
        Ok(1)
    });
    finish(l, r)
}

/// Why a decode stopped.
enum DecodeErr {
    Eof,
    BadFmt,
    Fail(Fail),
}

impl From<Fail> for DecodeErr {
    fn from(f: Fail) -> Self {
        DecodeErr::Fail(f)
    }
}

struct Cursor<'a> {
    p: &'a [u8],
}

impl<'a> Cursor<'a> {
    fn need(&self, n: usize) -> Result<(), DecodeErr> {
        if self.p.len() < n {
            Err(DecodeErr::Eof)
        } else {
            Ok(())
        }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeErr> {
        self.need(n)?;
        let (a, b) = self.p.split_at(n);
        self.p = b;
        Ok(a)
    }

    fn be(&mut self, skip: usize, n: usize) -> Result<u64, DecodeErr> {
        self.need(skip + n)?;
        let v = self.p[skip..skip + n]
            .iter()
            .fold(0u64, |acc, &b| (acc << 8) | b as u64);
        self.p = &self.p[skip + n..];
        Ok(v)
    }
}

/// `lua_settable` on a fresh table with the key and value on top, raising what the VM raises
/// for a nil or NaN key.
unsafe fn set_pair(l: *mut lua_State) -> Result<(), DecodeErr> {
    match lua_type(l, -2) {
        LUA_TNIL => Err(Fail::Plain(b"table index is nil".to_vec()).into()),
        LUA_TNUMBER if lua_tonumber(l, -2).is_nan() => {
            Err(Fail::Plain(b"table index is NaN".to_vec()).into())
        }
        _ => {
            lua_rawset(l, -3);
            Ok(())
        }
    }
}

unsafe fn decode_array(l: *mut lua_State, c: &mut Cursor, len: usize) -> Result<(), DecodeErr> {
    lua_newtable(l);
    if lua_checkstack(l, 1) == 0 {
        return Err(checkstack_fail("in function mp_decode_to_lua_array").into());
    }
    for index in 1..=len {
        lua_pushnumber(l, index as f64);
        decode(l, c)?;
        set_pair(l)?;
    }
    Ok(())
}

unsafe fn decode_map(l: *mut lua_State, c: &mut Cursor, len: usize) -> Result<(), DecodeErr> {
    lua_newtable(l);
    for _ in 0..len {
        decode(l, c)?;
        decode(l, c)?;
        set_pair(l)?;
    }
    Ok(())
}

/// Decodes one value and pushes it.
unsafe fn decode(l: *mut lua_State, c: &mut Cursor) -> Result<(), DecodeErr> {
    c.need(1)?;
    if lua_checkstack(l, 1) == 0 {
        return Err(checkstack_fail(
            "too many return values at once; use unpack_one or unpack_limit instead.",
        )
        .into());
    }
    let unsigned = |l, v: u64| lua_pushinteger(l, v as i64 as lua_Integer);
    match c.p[0] {
        0xcc => unsigned(l, c.be(1, 1)?),
        0xd0 => lua_pushinteger(l, c.be(1, 1)? as u8 as i8 as lua_Integer),
        0xcd => unsigned(l, c.be(1, 2)?),
        0xd1 => lua_pushinteger(l, c.be(1, 2)? as u16 as i16 as lua_Integer),
        0xce => unsigned(l, c.be(1, 4)?),
        0xd2 => lua_pushinteger(l, c.be(1, 4)? as u32 as i32 as lua_Integer),
        0xcf => unsigned(l, c.be(1, 8)?),
        0xd3 => lua_pushnumber(l, c.be(1, 8)? as i64 as f64),
        0xc0 => {
            lua_pushnil(l);
            c.take(1)?;
        }
        0xc3 => {
            lua_pushboolean(l, 1);
            c.take(1)?;
        }
        0xc2 => {
            lua_pushboolean(l, 0);
            c.take(1)?;
        }
        0xca => lua_pushnumber(l, f32::from_bits(c.be(1, 4)? as u32) as f64),
        0xcb => lua_pushnumber(l, f64::from_bits(c.be(1, 8)?)),
        0xd9..=0xdb => {
            let n = match c.p[0] {
                0xd9 => 1,
                0xda => 2,
                _ => 4,
            };
            c.need(1 + n)?;
            let len = c.p[1..1 + n]
                .iter()
                .fold(0usize, |a, &b| (a << 8) | b as usize);
            if n == 4 {
                c.take(5)?;
                let s = c.take(len)?;
                push_bytes(l, s);
            } else {
                c.need(1 + n + len)?;
                let s = &c.take(1 + n + len)?[1 + n..];
                push_bytes(l, s);
            }
        }
        0xdc => {
            let len = c.be(1, 2)? as usize;
            decode_array(l, c, len)?;
        }
        0xdd => {
            let len = c.be(1, 4)? as usize;
            decode_array(l, c, len)?;
        }
        0xde => {
            let len = c.be(1, 2)? as usize;
            decode_map(l, c, len)?;
        }
        0xdf => {
            let len = c.be(1, 4)? as usize;
            decode_map(l, c, len)?;
        }
        b if b & 0x80 == 0 => {
            unsigned(l, b as u64);
            c.take(1)?;
        }
        b if b & 0xe0 == 0xe0 => {
            lua_pushinteger(l, b as i8 as lua_Integer);
            c.take(1)?;
        }
        b if b & 0xe0 == 0xa0 => {
            let len = (b & 0x1f) as usize;
            let s = &c.take(1 + len)?[1..];
            push_bytes(l, s);
        }
        b if b & 0xf0 == 0x90 => {
            c.take(1)?;
            decode_array(l, c, (b & 0xf) as usize)?;
        }
        b if b & 0xf0 == 0x80 => {
            c.take(1)?;
            decode_map(l, c, (b & 0xf) as usize)?;
        }
        _ => return Err(DecodeErr::BadFmt),
    }
    Ok(())
}

unsafe fn unpack_full(l: *mut lua_State, limit: i64, offset: i64) -> c_int {
    let mut len = 0;
    let s = luaL_checklstring(l, 1, &mut len);
    let data = std::slice::from_raw_parts(s as *const u8, len);
    let r = guard(|| {
        if offset < 0 || limit < 0 {
            let m = format!(
                "Invalid request to unpack with offset of {} and limit of {}.",
                offset as i32, len as i32
            );
            return Err(Fail::Error(m.into_bytes()));
        }
        if offset as u64 > len as u64 {
            let m = format!(
                "Start offset {} greater than input length {}.",
                offset as i32, len as i32
            );
            return Err(Fail::Error(m.into_bytes()));
        }
        let decode_all = limit == 0 && offset == 0;
        let limit = if decode_all { i32::MAX as i64 } else { limit };
        let mut c = Cursor {
            p: &data[offset as usize..],
        };
        let mut cnt: c_int = 0;
        while !c.p.is_empty() && (cnt as i64) < limit {
            match decode(l, &mut c) {
                Ok(()) => {}
                Err(DecodeErr::Eof) => {
                    return Err(Fail::Error(b"Missing bytes in input.".to_vec()))
                }
                Err(DecodeErr::BadFmt) => {
                    return Err(Fail::Error(b"Bad data format in input.".to_vec()))
                }
                Err(DecodeErr::Fail(f)) => return Err(f),
            }
            cnt += 1;
        }
        if !decode_all {
            if lua_checkstack(l, 1) == 0 {
                return Err(checkstack_fail("in function mp_unpack_full"));
            }
            let next = if c.p.is_empty() {
                -1
            } else {
                (len - c.p.len()) as lua_Integer
            };
            lua_pushinteger(l, next);
            lua_insert(l, 2);
            cnt += 1;
        }
        Ok(cnt)
    });
    finish(l, r)
}

unsafe extern "C-unwind" fn mp_unpack(l: *mut lua_State) -> c_int {
    unpack_full(l, 0, 0)
}

unsafe extern "C-unwind" fn mp_unpack_one(l: *mut lua_State) -> c_int {
    let offset = luaL_optinteger(l, 2, 0) as i64;
    lua_pop(l, lua_gettop(l) - 1);
    unpack_full(l, 1, offset)
}

unsafe extern "C-unwind" fn mp_unpack_limit(l: *mut lua_State) -> c_int {
    let limit = luaL_checkinteger(l, 2) as i64;
    let offset = luaL_optinteger(l, 3, 0) as i64;
    lua_pop(l, lua_gettop(l) - 1);
    unpack_full(l, limit, offset)
}

/// Pushes the `cmsgpack` module table.
pub(crate) unsafe fn open(l: *mut lua_State) {
    lua_newtable(l);
    let funcs: [(*const std::ffi::c_char, lua_CFunction); 4] = [
        (cstr!("pack"), mp_pack),
        (cstr!("unpack"), mp_unpack),
        (cstr!("unpack_one"), mp_unpack_one),
        (cstr!("unpack_limit"), mp_unpack_limit),
    ];
    for (name, f) in funcs {
        lua_pushcfunction(l, f);
        lua_setfield(l, -2, name);
    }
    for (k, v) in [
        (cstr!("_NAME"), &b"cmsgpack"[..]),
        (cstr!("_VERSION"), b"lua-cmsgpack 0.4.0"),
        (cstr!("_COPYRIGHT"), b"Copyright (C) 2012, Redis Ltd."),
        (
            cstr!("_DESCRIPTION"),
            b"MessagePack C implementation for Lua",
        ),
    ] {
        push_bytes(l, v);
        lua_setfield(l, -2, k);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_forms() {
        let enc = |n| {
            let mut b = Vec::new();
            encode_number(&mut b, n);
            b
        };
        assert_eq!(enc(1.0), [0x01]);
        assert_eq!(enc(-1.0), [0xff]);
        assert_eq!(enc(200.0), [0xcc, 200]);
        assert_eq!(enc(-200.0), [0xd1, 0xff, 0x38]);
        assert_eq!(enc(1.5), [0xca, 0x3f, 0xc0, 0, 0]);
        assert_eq!(enc(0.1)[0], 0xcb);
        assert_eq!(enc(f64::INFINITY), [0xca, 0x7f, 0x80, 0, 0]);
    }
}
