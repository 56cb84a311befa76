//! The `struct` library (Roberto Ierusalimschy's struct.c 1.7, as Redis bundles it):
//! `struct.pack(fmt, ...)`, `struct.unpack(fmt, s [, pos])`, `struct.size(fmt)`.
//!
//! Format language: `>` big endian, `<` little endian, `![n]` alignment (default 8), `x` a pad
//! byte, `b/B` signed/unsigned char, `h/H` short (2), `l/L` long (8), `T` size_t (8),
//! `i/I[n]` int of n bytes (default 4, at most 32), `c[n]` n chars (`c0`: the whole string when
//! packing, the previous number as length when unpacking), `s` zero-terminated string, `f`
//! float, `d` double, ` ` ignored. The format stops at its first NUL byte, as a C string does.
//! Integer conversions reproduce the C code on x86-64, including its wraparounds.

use std::ffi::c_int;

use crate::ffi::*;
use crate::lua::{
    c_double_to_i64, c_double_to_u64, check_bytes, check_number, finish, guard, push_bytes, Fail,
};

const MAXINTSIZE: usize = 32;
const MAXALIGN: usize = 8;

#[derive(Clone, Copy, PartialEq)]
enum Endian {
    Big,
    Little,
}

struct Header {
    endian: Endian,
    align: usize,
}

impl Header {
    fn new() -> Header {
        Header {
            endian: Endian::Little,
            align: 1,
        }
    }
}

/// A cursor over the format (a C string: it ends at the first NUL).
struct Fmt<'a> {
    s: &'a [u8],
    i: usize,
}

impl Fmt<'_> {
    fn new(s: &[u8]) -> Fmt<'_> {
        let end = s.iter().position(|&c| c == 0).unwrap_or(s.len());
        Fmt { s: &s[..end], i: 0 }
    }

    fn next(&mut self) -> Option<u8> {
        let c = *self.s.get(self.i)?;
        self.i += 1;
        Some(c)
    }

    fn getnum(&mut self, df: usize) -> Result<usize, Fail> {
        let Some(c) = self.s.get(self.i).copied().filter(u8::is_ascii_digit) else {
            return Ok(df);
        };
        let _ = c;
        let mut a: i32 = 0;
        while let Some(d) = self.s.get(self.i).copied().filter(u8::is_ascii_digit) {
            let d = (d - b'0') as i32;
            if a > i32::MAX / 10 || a * 10 > i32::MAX - d {
                return Err(Fail::Error(b"integral size overflow".to_vec()));
            }
            a = a * 10 + d;
            self.i += 1;
        }
        Ok(a as usize)
    }

    fn optsize(&mut self, opt: u8) -> Result<usize, Fail> {
        Ok(match opt {
            b'B' | b'b' => 1,
            b'H' | b'h' => 2,
            b'L' | b'l' | b'T' => 8,
            b'f' => 4,
            b'd' => 8,
            b'x' => 1,
            b'c' => self.getnum(1)?,
            b'i' | b'I' => {
                let sz = self.getnum(4)?;
                if sz > MAXINTSIZE {
                    let m = format!("integral size {sz} is larger than limit of {MAXINTSIZE}");
                    return Err(Fail::Error(m.into_bytes()));
                }
                sz
            }
            _ => 0,
        })
    }

    fn controloptions(&mut self, opt: u8, h: &mut Header) -> Result<(), Fail> {
        match opt {
            b' ' => Ok(()),
            b'>' => {
                h.endian = Endian::Big;
                Ok(())
            }
            b'<' => {
                h.endian = Endian::Little;
                Ok(())
            }
            b'!' => {
                let a = self.getnum(MAXALIGN)? as i64;
                if !(a > 0 && (a & (a - 1)) == 0) {
                    let m = format!("alignment {a} is not a power of 2");
                    return Err(Fail::Error(m.into_bytes()));
                }
                h.align = a as usize;
                Ok(())
            }
            _ => {
                let mut m = b"invalid format option '".to_vec();
                m.push(opt);
                m.push(b'\'');
                Err(Fail::Arg(1, m))
            }
        }
    }
}

fn gettoalign(len: usize, h: &Header, opt: u8, size: usize) -> usize {
    if size == 0 || opt == b'c' {
        return 0;
    }
    let size = size.min(h.align);
    size.wrapping_sub(len & size.wrapping_sub(1)) & size.wrapping_sub(1)
}

fn put_integer(out: &mut Vec<u8>, n: f64, endian: Endian, size: usize) {
    let mut value = if n < 0.0 {
        c_double_to_i64(n) as u64
    } else {
        c_double_to_u64(n)
    };
    let mut buf = [0u8; MAXINTSIZE];
    for i in 0..size {
        let slot = if endian == Endian::Little {
            i
        } else {
            size - 1 - i
        };
        buf[slot] = value as u8;
        value = value.checked_shr(8).unwrap_or(0);
    }
    out.extend_from_slice(&buf[..size]);
}

fn get_integer(data: &[u8], endian: Endian, signed: bool) -> f64 {
    let mut l: u64 = 0;
    let bytes: Box<dyn Iterator<Item = &u8>> = if endian == Endian::Big {
        Box::new(data.iter())
    } else {
        Box::new(data.iter().rev())
    };
    for &b in bytes {
        l = (l << 8) | b as u64;
    }
    if !signed {
        return l as f64;
    }
    // (size*8 - 1) as an x86 shift count: taken modulo 64.
    let sh = ((data.len() as i64 * 8 - 1) & 63) as u32;
    let mask = u64::MAX << sh;
    if l & mask != 0 {
        l |= mask;
    }
    l as i64 as f64
}

fn endian_bytes<const N: usize>(mut b: [u8; N], endian: Endian) -> [u8; N] {
    if endian == Endian::Big {
        b.reverse();
    }
    b
}

unsafe extern "C-unwind" fn b_pack(l: *mut lua_State) -> c_int {
    let mut len = 0;
    let fmt = luaL_checklstring(l, 1, &mut len);
    let fmt = std::slice::from_raw_parts(fmt as *const u8, len);
    let r = guard(|| {
        let mut out = Vec::new();
        pack(l, fmt, &mut out)?;
        push_bytes(l, &out);
        Ok(1)
    });
    finish(l, r)
}

unsafe fn pack(l: *mut lua_State, fmt: &[u8], out: &mut Vec<u8>) -> Result<(), Fail> {
    let mut f = Fmt::new(fmt);
    let mut h = Header::new();
    let mut arg = 2;
    let mut total: usize = 0;
    while let Some(opt) = f.next() {
        let mut size = f.optsize(opt)?;
        let toalign = gettoalign(total, &h, opt, size);
        total = total.wrapping_add(toalign);
        out.resize(out.len() + toalign, 0);
        match opt {
            b'b' | b'B' | b'h' | b'H' | b'l' | b'L' | b'T' | b'i' | b'I' => {
                let n = check_number(l, arg)?;
                arg += 1;
                put_integer(out, n, h.endian, size);
            }
            b'x' => out.push(0),
            b'f' => {
                let v = check_number(l, arg)? as f32;
                arg += 1;
                out.extend_from_slice(&endian_bytes(v.to_le_bytes(), h.endian));
            }
            b'd' => {
                let v = check_number(l, arg)?;
                arg += 1;
                out.extend_from_slice(&endian_bytes(v.to_le_bytes(), h.endian));
            }
            b'c' | b's' => {
                let s = check_bytes(l, arg)?;
                arg += 1;
                if size == 0 {
                    size = s.len();
                }
                if s.len() < size {
                    return Err(Fail::Arg(arg, b"string too short".to_vec()));
                }
                out.extend_from_slice(&s[..size]);
                if opt == b's' {
                    out.push(0);
                    size += 1;
                }
            }
            _ => f.controloptions(opt, &mut h)?,
        }
        total = total.wrapping_add(size);
    }
    Ok(())
}

unsafe extern "C-unwind" fn b_unpack(l: *mut lua_State) -> c_int {
    let mut flen = 0;
    let fmt = luaL_checklstring(l, 1, &mut flen);
    let mut dlen = 0;
    let data = luaL_checklstring(l, 2, &mut dlen);
    let pos = luaL_optinteger(l, 3, 1) as usize;
    if pos == 0 {
        luaL_argerror(l, 3, crate::lua::cstr!("offset must be 1 or greater"));
    }
    let fmt = std::slice::from_raw_parts(fmt as *const u8, flen);
    let data = std::slice::from_raw_parts(data as *const u8, dlen);
    let r = guard(|| unpack(l, fmt, data, pos.wrapping_sub(1)));
    finish(l, r)
}

unsafe fn unpack(
    l: *mut lua_State,
    fmt: &[u8],
    data: &[u8],
    mut pos: usize,
) -> Result<c_int, Fail> {
    let ld = data.len();
    let mut f = Fmt::new(fmt);
    let mut h = Header::new();
    let mut n: c_int = 0;
    let too_short = || Fail::Arg(2, b"data string too short".to_vec());
    while let Some(opt) = f.next() {
        let mut size = f.optsize(opt)?;
        pos = pos.wrapping_add(gettoalign(pos, &h, opt, size));
        if !(size <= ld && pos <= ld - size) {
            return Err(too_short());
        }
        if lua_checkstack(l, 2) == 0 {
            return Err(Fail::Error(b"stack overflow (too many results)".to_vec()));
        }
        match opt {
            b'b' | b'B' | b'h' | b'H' | b'l' | b'L' | b'T' | b'i' | b'I' => {
                let signed = opt.is_ascii_lowercase();
                lua_pushnumber(l, get_integer(&data[pos..pos + size], h.endian, signed));
                n += 1;
            }
            b'x' => {}
            b'f' => {
                let mut b = [0u8; 4];
                b.copy_from_slice(&data[pos..pos + 4]);
                lua_pushnumber(l, f32::from_le_bytes(endian_bytes(b, h.endian)) as f64);
                n += 1;
            }
            b'd' => {
                let mut b = [0u8; 8];
                b.copy_from_slice(&data[pos..pos + 8]);
                lua_pushnumber(l, f64::from_le_bytes(endian_bytes(b, h.endian)));
                n += 1;
            }
            b'c' => {
                if size == 0 {
                    if n == 0 || lua_isnumber(l, -1) == 0 {
                        return Err(Fail::Error(b"format 'c0' needs a previous size".to_vec()));
                    }
                    size = c_double_to_u64(lua_tonumber(l, -1)) as usize;
                    lua_pop(l, 1);
                    n -= 1;
                    if !(size <= ld && pos <= ld - size) {
                        return Err(too_short());
                    }
                }
                push_bytes(l, &data[pos..pos + size]);
                n += 1;
            }
            b's' => {
                let Some(e) = data[pos..].iter().position(|&c| c == 0) else {
                    return Err(Fail::Error(b"unfinished string in data".to_vec()));
                };
                size = e + 1;
                push_bytes(l, &data[pos..pos + e]);
                n += 1;
            }
            _ => f.controloptions(opt, &mut h)?,
        }
        pos = pos.wrapping_add(size);
    }
    lua_pushinteger(l, pos.wrapping_add(1) as lua_Integer);
    Ok(n + 1)
}

unsafe extern "C-unwind" fn b_size(l: *mut lua_State) -> c_int {
    let mut flen = 0;
    let fmt = luaL_checklstring(l, 1, &mut flen);
    let fmt = std::slice::from_raw_parts(fmt as *const u8, flen);
    let r = guard(|| {
        let pos = size(fmt)?;
        lua_pushinteger(l, pos as lua_Integer);
        Ok(1)
    });
    finish(l, r)
}

/// `struct.size(fmt)` without Lua.
fn size(fmt: &[u8]) -> Result<usize, Fail> {
    let mut f = Fmt::new(fmt);
    let mut h = Header::new();
    let mut pos: usize = 0;
    while let Some(opt) = f.next() {
        let size = f.optsize(opt)?;
        pos = pos.wrapping_add(gettoalign(pos, &h, opt, size));
        if opt == b's' {
            return Err(Fail::Arg(1, b"option 's' has no fixed size".to_vec()));
        } else if opt == b'c' && size == 0 {
            return Err(Fail::Arg(1, b"option 'c0' has no fixed size".to_vec()));
        }
        if !opt.is_ascii_alphanumeric() {
            f.controloptions(opt, &mut h)?;
        }
        pos = pos.wrapping_add(size);
    }
    Ok(pos)
}

pub(crate) const FUNCS: &[(&[u8], lua_CFunction)] = &[
    (b"pack\0", b_pack),
    (b"unpack\0", b_unpack),
    (b"size\0", b_size),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_alignment() {
        assert_eq!(size(b"i").ok(), Some(4));
        assert_eq!(size(b"!bd").ok(), Some(16));
        assert_eq!(size(b"bd").ok(), Some(9));
        assert_eq!(size(b"<i2>I3c5").ok(), Some(10));
        assert_eq!(size(b"zq").ok(), Some(0));
        assert!(size(b"s").is_err());
        assert!(size(b"i33").is_err());
    }

    #[test]
    fn integers_round_trip_like_c() {
        let mut out = Vec::new();
        put_integer(&mut out, -2.0, Endian::Big, 2);
        assert_eq!(out, [0xff, 0xfe]);
        assert_eq!(get_integer(&out, Endian::Big, true), -2.0);
        assert_eq!(get_integer(&out, Endian::Big, false), 65534.0);
        let mut wide = Vec::new();
        put_integer(&mut wide, -1.0, Endian::Little, 10);
        assert_eq!(wide, [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0]);
    }
}
