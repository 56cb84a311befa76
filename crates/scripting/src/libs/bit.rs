//! The `bit` library (LuaBitOp 1.0.2, as Redis bundles it): 32-bit operations on Lua numbers.
//!
//! Numbers are converted the LuaBitOp way: add 2^52 + 2^51 and keep the low 32 bits of the
//! double's representation (so fractions round to nearest-even and values wrap modulo 2^32).
//! A value that converts to 0 and is not a number raises "bad argument #n to 'f' (number
//! expected, got T)".

use std::ffi::c_int;

use crate::ffi::*;
use crate::lua::{cstr, push_bytes};

/// LuaBitOp's conversion of a double to 32 bits.
pub fn tobit(n: f64) -> u32 {
    (n + 6755399441055744.0).to_bits() as u32
}

unsafe fn barg(l: *mut lua_State, idx: c_int) -> u32 {
    let b = tobit(lua_tonumber(l, idx));
    if b == 0 && lua_isnumber(l, idx) == 0 {
        luaL_typerror(l, idx, cstr!("number"));
    }
    b
}

unsafe fn ret(l: *mut lua_State, b: u32) -> c_int {
    lua_pushnumber(l, b as i32 as f64);
    1
}

unsafe extern "C-unwind" fn bit_tobit(l: *mut lua_State) -> c_int {
    ret(l, barg(l, 1))
}

unsafe extern "C-unwind" fn bit_bnot(l: *mut lua_State) -> c_int {
    ret(l, !barg(l, 1))
}

unsafe fn fold(l: *mut lua_State, op: fn(u32, u32) -> u32) -> c_int {
    let mut b = barg(l, 1);
    let mut i = lua_gettop(l);
    while i > 1 {
        b = op(b, barg(l, i));
        i -= 1;
    }
    ret(l, b)
}

unsafe extern "C-unwind" fn bit_band(l: *mut lua_State) -> c_int {
    fold(l, |a, b| a & b)
}

unsafe extern "C-unwind" fn bit_bor(l: *mut lua_State) -> c_int {
    fold(l, |a, b| a | b)
}

unsafe extern "C-unwind" fn bit_bxor(l: *mut lua_State) -> c_int {
    fold(l, |a, b| a ^ b)
}

unsafe fn shift(l: *mut lua_State, op: fn(u32, u32) -> u32) -> c_int {
    let b = barg(l, 1);
    let n = barg(l, 2) & 31;
    ret(l, op(b, n))
}

unsafe extern "C-unwind" fn bit_lshift(l: *mut lua_State) -> c_int {
    shift(l, |b, n| b << n)
}

unsafe extern "C-unwind" fn bit_rshift(l: *mut lua_State) -> c_int {
    shift(l, |b, n| b >> n)
}

unsafe extern "C-unwind" fn bit_arshift(l: *mut lua_State) -> c_int {
    shift(l, |b, n| ((b as i32) >> n) as u32)
}

unsafe extern "C-unwind" fn bit_rol(l: *mut lua_State) -> c_int {
    shift(l, |b, n| b.rotate_left(n))
}

unsafe extern "C-unwind" fn bit_ror(l: *mut lua_State) -> c_int {
    shift(l, |b, n| b.rotate_right(n))
}

unsafe extern "C-unwind" fn bit_bswap(l: *mut lua_State) -> c_int {
    ret(l, barg(l, 1).swap_bytes())
}

/// `bit.tohex(x [, n])`: `n` digits (default 8, at most 8), upper case when `n` is negative.
pub fn tohex(mut b: u32, n: i32) -> Vec<u8> {
    let mut n = n.max(i32::MIN + 1);
    let digits: &[u8; 16] = if n < 0 {
        n = -n;
        b"0123456789ABCDEF"
    } else {
        b"0123456789abcdef"
    };
    let n = n.min(8) as usize;
    let mut buf = vec![0u8; n];
    for slot in buf.iter_mut().rev() {
        *slot = digits[(b & 15) as usize];
        b >>= 4;
    }
    buf
}

unsafe extern "C-unwind" fn bit_tohex(l: *mut lua_State) -> c_int {
    let b = barg(l, 1);
    let n = if lua_isnone(l, 2) {
        8
    } else {
        barg(l, 2) as i32
    };
    let hex = tohex(b, n);
    push_bytes(l, &hex);
    1
}

pub(crate) const FUNCS: &[(&[u8], lua_CFunction)] = &[
    (b"tobit\0", bit_tobit),
    (b"bnot\0", bit_bnot),
    (b"band\0", bit_band),
    (b"bor\0", bit_bor),
    (b"bxor\0", bit_bxor),
    (b"lshift\0", bit_lshift),
    (b"rshift\0", bit_rshift),
    (b"arshift\0", bit_arshift),
    (b"rol\0", bit_rol),
    (b"ror\0", bit_ror),
    (b"bswap\0", bit_bswap),
    (b"tohex\0", bit_tohex),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversion_and_hex() {
        assert_eq!(tobit(1.0), 1);
        assert_eq!(tobit(-1.0), u32::MAX);
        assert_eq!(tobit(4294967296.0), 0);
        assert_eq!(tobit(2.5), 2);
        assert_eq!(tobit(3.5), 4);
        assert_eq!(tohex(255, 8), b"000000ff");
        assert_eq!(tohex(255, -2), b"FF");
        assert_eq!(tohex(0x12345678, 20), b"12345678");
        assert_eq!(tohex(1, 0), b"");
    }
}
