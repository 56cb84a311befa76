//! The `cjson` library (Lua CJSON 2.1.0, as Redis bundles it): `encode`, `decode`, `null`,
//! `new` and the configuration functions (`encode_sparse_array`, `encode_max_depth`,
//! `decode_max_depth`, `encode_number_precision`, `encode_keep_buffer`,
//! `encode_invalid_numbers`, `decode_invalid_numbers`).
//!
//! Numbers are printed with C's `%.14g` (the precision is configurable, 1..14) and parsed with
//! C's `strtod`, through libc, so texts match the C library digit for digit. Object members
//! come out in the order `next` visits them. The configuration lives in a userdata shared by
//! the functions of one module table, so it persists across scripts as in Redis.

use std::ffi::{c_char, c_int};
use std::ptr;

use crate::ffi::*;
use crate::lua::{cstr, finish, guard, push_bytes, to_bytes, type_name, Fail};

#[derive(Clone, Copy)]
struct Config {
    sparse_convert: c_int,
    sparse_ratio: c_int,
    sparse_safe: c_int,
    encode_max_depth: c_int,
    decode_max_depth: c_int,
    encode_invalid_numbers: c_int,
    decode_invalid_numbers: c_int,
    encode_keep_buffer: c_int,
    encode_number_precision: c_int,
}

const DEFAULT: Config = Config {
    sparse_convert: 0,
    sparse_ratio: 2,
    sparse_safe: 10,
    encode_max_depth: 1000,
    decode_max_depth: 1000,
    encode_invalid_numbers: 0,
    decode_invalid_numbers: 1,
    encode_keep_buffer: 1,
    encode_number_precision: 14,
};

unsafe fn config<'a>(l: *mut lua_State) -> &'a mut Config {
    // The upvalue is always our userdata (set in `new_module`).
    &mut *(lua_touserdata(l, lua_upvalueindex(1)) as *mut Config)
}

/// `printf("%.<precision>g", n)` through libc.
pub fn format_number(n: f64, precision: c_int) -> Vec<u8> {
    let mut buf = [0u8; 32];
    let fmt: &[u8] = match precision {
        1..=9 => &[b'%', b'.', b'0' + precision as u8, b'g', 0],
        _ => &[b'%', b'.', b'1', b'0' + (precision - 10) as u8, b'g', 0],
    };
    // SAFETY: the buffer size is passed; the format takes exactly one double.
    let n = unsafe {
        libc::snprintf(
            buf.as_mut_ptr() as *mut c_char,
            buf.len(),
            fmt.as_ptr() as *const c_char,
            n,
        )
    };
    buf[..(n.max(0) as usize).min(buf.len() - 1)].to_vec()
}

fn escape(c: u8) -> Option<&'static [u8]> {
    const SHORT: [(u8, &[u8]); 8] = [
        (b'\x08', b"\\b"),
        (b'\t', b"\\t"),
        (b'\n', b"\\n"),
        (b'\x0c', b"\\f"),
        (b'\r', b"\\r"),
        (b'"', b"\\\""),
        (b'/', b"\\/"),
        (b'\\', b"\\\\"),
    ];
    const CTRL: [&[u8]; 32] = [
        b"\\u0000", b"\\u0001", b"\\u0002", b"\\u0003", b"\\u0004", b"\\u0005", b"\\u0006",
        b"\\u0007", b"", b"", b"", b"\\u000b", b"", b"", b"\\u000e", b"\\u000f", b"\\u0010",
        b"\\u0011", b"\\u0012", b"\\u0013", b"\\u0014", b"\\u0015", b"\\u0016", b"\\u0017",
        b"\\u0018", b"\\u0019", b"\\u001a", b"\\u001b", b"\\u001c", b"\\u001d", b"\\u001e",
        b"\\u001f",
    ];
    if let Some((_, e)) = SHORT.iter().find(|(k, _)| *k == c) {
        return Some(e);
    }
    if c < 32 {
        return Some(CTRL[c as usize]);
    }
    (c == 0x7f).then_some(&b"\\u007f"[..])
}

/// Appends `s` as a JSON string.
pub fn append_string(out: &mut Vec<u8>, s: &[u8]) {
    out.push(b'"');
    for &c in s {
        match escape(c) {
            Some(e) => out.extend_from_slice(e),
            None => out.push(c),
        }
    }
    out.push(b'"');
}

struct Encoder<'c> {
    cfg: &'c Config,
    out: Vec<u8>,
}

fn encode_fail(msg: String) -> Fail {
    Fail::Error(msg.into_bytes())
}

impl Encoder<'_> {
    unsafe fn exception(&self, l: *mut lua_State, idx: c_int, reason: &str) -> Fail {
        let t = String::from_utf8_lossy(type_name(l, idx)).into_owned();
        encode_fail(format!("Cannot serialise {t}: {reason}"))
    }

    unsafe fn number(&mut self, l: *mut lua_State, idx: c_int) -> Result<(), Fail> {
        let n = lua_tonumber(l, idx);
        match self.cfg.encode_invalid_numbers {
            0 if n.is_infinite() || n.is_nan() => {
                return Err(self.exception(l, idx, "must not be NaN or Inf"))
            }
            0 => {}
            1 if n.is_nan() => {
                self.out.extend_from_slice(b"nan");
                return Ok(());
            }
            1 => {}
            _ if n.is_infinite() || n.is_nan() => {
                self.out.extend_from_slice(b"null");
                return Ok(());
            }
            _ => {}
        }
        let text = format_number(n, self.cfg.encode_number_precision);
        self.out.extend_from_slice(&text);
        Ok(())
    }

    /// The array length of the table on top, or -1 for an object.
    unsafe fn array_length(&mut self, l: *mut lua_State) -> Result<c_int, Fail> {
        let (mut max, mut items) = (0 as c_int, 0 as c_int);
        lua_pushnil(l);
        while lua_next(l, -2) != 0 {
            let k = lua_tonumber(l, -2);
            if lua_type(l, -2) == LUA_TNUMBER && k != 0.0 && k.floor() == k && k >= 1.0 {
                if k > max as f64 {
                    max = k as c_int;
                }
                items += 1;
                lua_pop(l, 1);
                continue;
            }
            lua_pop(l, 2);
            return Ok(-1);
        }
        let cfg = self.cfg;
        if cfg.sparse_ratio > 0
            && max as i64 > items as i64 * cfg.sparse_ratio as i64
            && max > cfg.sparse_safe
        {
            if cfg.sparse_convert == 0 {
                return Err(self.exception(l, -1, "excessively sparse array"));
            }
            return Ok(-1);
        }
        Ok(max)
    }

    /// Appends the value on top of the stack (left there).
    unsafe fn value(&mut self, l: *mut lua_State, depth: c_int) -> Result<(), Fail> {
        match lua_type(l, -1) {
            LUA_TSTRING => append_string(&mut self.out, to_bytes(l, -1).unwrap_or_default()),
            LUA_TNUMBER => self.number(l, -1)?,
            LUA_TBOOLEAN => {
                let b: &[u8] = if lua_toboolean(l, -1) != 0 {
                    b"true"
                } else {
                    b"false"
                };
                self.out.extend_from_slice(b);
            }
            LUA_TTABLE => {
                let depth = depth + 1;
                if !(depth <= self.cfg.encode_max_depth && lua_checkstack(l, 3) != 0) {
                    return Err(encode_fail(format!(
                        "Cannot serialise, excessive nesting ({depth})"
                    )));
                }
                let len = self.array_length(l)?;
                if len > 0 {
                    self.array(l, depth, len)?;
                } else {
                    self.object(l, depth)?;
                }
            }
            LUA_TNIL => self.out.extend_from_slice(b"null"),
            LUA_TLIGHTUSERDATA if lua_touserdata(l, -1).is_null() => {
                self.out.extend_from_slice(b"null")
            }
            _ => return Err(self.exception(l, -1, "type not supported")),
        }
        Ok(())
    }

    unsafe fn array(&mut self, l: *mut lua_State, depth: c_int, len: c_int) -> Result<(), Fail> {
        self.out.push(b'[');
        for i in 1..=len {
            if i > 1 {
                self.out.push(b',');
            }
            lua_rawgeti(l, -1, i);
            self.value(l, depth)?;
            lua_pop(l, 1);
        }
        self.out.push(b']');
        Ok(())
    }

    unsafe fn object(&mut self, l: *mut lua_State, depth: c_int) -> Result<(), Fail> {
        self.out.push(b'{');
        let mut comma = false;
        lua_pushnil(l);
        while lua_next(l, -2) != 0 {
            if comma {
                self.out.push(b',');
            }
            comma = true;
            match lua_type(l, -2) {
                LUA_TNUMBER => {
                    self.out.push(b'"');
                    self.number(l, -2)?;
                    self.out.extend_from_slice(b"\":");
                }
                LUA_TSTRING => {
                    append_string(&mut self.out, to_bytes(l, -2).unwrap_or_default());
                    self.out.push(b':');
                }
                _ => return Err(self.exception(l, -2, "table key must be a number or string")),
            }
            self.value(l, depth)?;
            lua_pop(l, 1);
        }
        self.out.push(b'}');
        Ok(())
    }
}

unsafe extern "C-unwind" fn json_encode(l: *mut lua_State) -> c_int {
    if lua_gettop(l) != 1 {
        return luaL_argerror(l, 1, cstr!("expected 1 argument"));
    }
    let cfg = *config(l);
    let r = guard(|| {
        let mut enc = Encoder {
            cfg: &cfg,
            out: Vec::new(),
        };
        enc.value(l, 0)?;
        push_bytes(l, &enc.out);
        Ok(1)
    });
    finish(l, r)
}

// ---------------------------------------------------------------------------------------------
// Decoding

#[derive(Clone, Copy, PartialEq, Debug)]
enum Tok {
    ObjBegin,
    ObjEnd,
    ArrBegin,
    ArrEnd,
    Str,
    Num,
    Bool,
    Null,
    Colon,
    Comma,
    End,
    Error,
}

impl Tok {
    fn name(self) -> &'static str {
        match self {
            Tok::ObjBegin => "T_OBJ_BEGIN",
            Tok::ObjEnd => "T_OBJ_END",
            Tok::ArrBegin => "T_ARR_BEGIN",
            Tok::ArrEnd => "T_ARR_END",
            Tok::Str => "T_STRING",
            Tok::Num => "T_NUMBER",
            Tok::Bool => "T_BOOLEAN",
            Tok::Null => "T_NULL",
            Tok::Colon => "T_COLON",
            Tok::Comma => "T_COMMA",
            Tok::End => "T_END",
            Tok::Error => "T_ERROR",
        }
    }
}

struct Token {
    ty: Tok,
    index: usize,
    err: &'static str,
    num: f64,
    boolean: bool,
}

struct Parser<'a> {
    /// The JSON text followed by its NUL terminator (Lua strings always have one).
    data: &'a [u8],
    pos: usize,
    depth: c_int,
    cfg: Config,
    tmp: Vec<u8>,
}

fn hexdigit(c: u8) -> Option<u32> {
    (c as char).to_digit(16)
}

impl Parser<'_> {
    fn at(&self, i: usize) -> u8 {
        self.data.get(i).copied().unwrap_or(0)
    }

    fn error(&self, tok: &mut Token, what: &'static str) {
        tok.ty = Tok::Error;
        tok.index = self.pos;
        tok.err = what;
    }

    fn hex4(&self, at: usize) -> Option<u32> {
        (0..4).try_fold(0u32, |acc, i| Some((acc << 4) | hexdigit(self.at(at + i))?))
    }

    fn unicode_escape(&mut self) -> bool {
        let Some(mut cp) = self.hex4(self.pos + 2) else {
            return false;
        };
        let mut len = 6;
        if cp & 0xF800 == 0xD800 {
            if cp & 0x400 != 0 {
                return false;
            }
            if self.at(self.pos + 6) != b'\\' || self.at(self.pos + 7) != b'u' {
                return false;
            }
            let Some(low) = self.hex4(self.pos + 8) else {
                return false;
            };
            if low & 0xFC00 != 0xDC00 {
                return false;
            }
            cp = (((cp & 0x3FF) << 10) | (low & 0x3FF)) + 0x10000;
            len = 12;
        }
        let mut b = [0u8; 4];
        let n = if cp <= 0x7F {
            b[0] = cp as u8;
            1
        } else if cp <= 0x7FF {
            b[0] = ((cp >> 6) | 0xC0) as u8;
            b[1] = ((cp & 0x3F) | 0x80) as u8;
            2
        } else if cp <= 0xFFFF {
            b[0] = ((cp >> 12) | 0xE0) as u8;
            b[1] = (((cp >> 6) & 0x3F) | 0x80) as u8;
            b[2] = ((cp & 0x3F) | 0x80) as u8;
            3
        } else {
            b[0] = ((cp >> 18) | 0xF0) as u8;
            b[1] = (((cp >> 12) & 0x3F) | 0x80) as u8;
            b[2] = (((cp >> 6) & 0x3F) | 0x80) as u8;
            b[3] = ((cp & 0x3F) | 0x80) as u8;
            4
        };
        self.tmp.extend_from_slice(&b[..n]);
        self.pos += len;
        true
    }

    fn string(&mut self, tok: &mut Token) {
        self.pos += 1;
        self.tmp.clear();
        loop {
            let mut ch = self.at(self.pos);
            if ch == b'"' {
                break;
            }
            if ch == 0 {
                return self.error(tok, "unexpected end of string");
            }
            if ch == b'\\' {
                let esc = match self.at(self.pos + 1) {
                    b'"' => b'"',
                    b'\\' => b'\\',
                    b'/' => b'/',
                    b'b' => 8,
                    b't' => b'\t',
                    b'n' => b'\n',
                    b'f' => 12,
                    b'r' => b'\r',
                    b'u' => b'u',
                    _ => 0,
                };
                if esc == b'u' {
                    if self.unicode_escape() {
                        continue;
                    }
                    return self.error(tok, "invalid unicode escape code");
                }
                if esc == 0 {
                    return self.error(tok, "invalid escape code");
                }
                ch = esc;
                self.pos += 1;
            }
            self.tmp.push(ch);
            self.pos += 1;
        }
        self.pos += 1;
        tok.ty = Tok::Str;
    }

    fn is_invalid_number(&self) -> bool {
        let mut p = self.pos;
        if self.at(p) == b'+' {
            return true;
        }
        if self.at(p) == b'-' {
            p += 1;
        }
        if self.at(p) == b'0' {
            let c2 = self.at(p + 1);
            return (c2 | 0x20) == b'x' || c2.is_ascii_digit();
        } else if self.at(p) <= b'9' {
            return false;
        }
        let three: Vec<u8> = (0..3)
            .map(|i| self.at(p + i).to_ascii_lowercase())
            .collect();
        three == b"inf" || three == b"nan"
    }

    fn number(&mut self, tok: &mut Token) {
        tok.ty = Tok::Num;
        // `data` is a Lua string: NUL-terminated, so strtod stops inside it.
        let start = unsafe { self.data.as_ptr().add(self.pos) } as *const c_char;
        let mut end: *mut c_char = ptr::null_mut();
        // SAFETY: `start` points into a NUL-terminated buffer.
        tok.num = unsafe { libc::strtod(start, &mut end) };
        let used = end as usize - start as usize;
        if used == 0 {
            self.error(tok, "invalid number");
        } else {
            self.pos += used;
        }
    }

    fn next(&mut self) -> Token {
        let mut tok = Token {
            ty: Tok::End,
            index: 0,
            err: "",
            num: 0.0,
            boolean: false,
        };
        while matches!(self.at(self.pos), b' ' | b'\t' | b'\n' | b'\r') {
            self.pos += 1;
        }
        tok.index = self.pos;
        let ch = self.at(self.pos);
        let single = match ch {
            b'{' => Some(Tok::ObjBegin),
            b'}' => Some(Tok::ObjEnd),
            b'[' => Some(Tok::ArrBegin),
            b']' => Some(Tok::ArrEnd),
            b',' => Some(Tok::Comma),
            b':' => Some(Tok::Colon),
            0 => return tok,
            _ => None,
        };
        if let Some(t) = single {
            tok.ty = t;
            self.pos += 1;
            return tok;
        }
        let rest = &self.data[self.pos.min(self.data.len())..];
        match ch {
            b'"' => self.string(&mut tok),
            b'-' | b'0'..=b'9' => {
                if self.cfg.decode_invalid_numbers == 0 && self.is_invalid_number() {
                    self.error(&mut tok, "invalid number");
                } else {
                    self.number(&mut tok);
                }
            }
            b'f' | b'i' | b'I' | b'n' | b'N' | b't' | b'+' => {
                if rest.starts_with(b"true") {
                    tok.ty = Tok::Bool;
                    tok.boolean = true;
                    self.pos += 4;
                } else if rest.starts_with(b"false") {
                    tok.ty = Tok::Bool;
                    self.pos += 5;
                } else if rest.starts_with(b"null") {
                    tok.ty = Tok::Null;
                    self.pos += 4;
                } else if self.cfg.decode_invalid_numbers != 0 && self.is_invalid_number() {
                    self.number(&mut tok);
                } else {
                    self.error(&mut tok, "invalid token");
                }
            }
            _ => self.error(&mut tok, "invalid token"),
        }
        tok
    }

    fn expected(&self, exp: &str, tok: &Token) -> Fail {
        let found = if tok.ty == Tok::Error {
            tok.err
        } else {
            tok.ty.name()
        };
        Fail::Error(
            format!(
                "Expected {exp} but found {found} at character {}",
                tok.index + 1
            )
            .into_bytes(),
        )
    }

    unsafe fn descend(&mut self, l: *mut lua_State, slots: c_int) -> Result<(), Fail> {
        self.depth += 1;
        if self.depth <= self.cfg.decode_max_depth && lua_checkstack(l, slots) != 0 {
            return Ok(());
        }
        Err(Fail::Error(
            format!(
                "Found too many nested data structures ({}) at character {}",
                self.depth, self.pos
            )
            .into_bytes(),
        ))
    }

    unsafe fn object(&mut self, l: *mut lua_State) -> Result<(), Fail> {
        self.descend(l, 3)?;
        lua_newtable(l);
        let mut tok = self.next();
        if tok.ty == Tok::ObjEnd {
            self.depth -= 1;
            return Ok(());
        }
        loop {
            if tok.ty != Tok::Str {
                return Err(self.expected("object key string", &tok));
            }
            push_bytes(l, &self.tmp);
            tok = self.next();
            if tok.ty != Tok::Colon {
                return Err(self.expected("colon", &tok));
            }
            tok = self.next();
            self.value(l, &tok)?;
            lua_rawset(l, -3);
            tok = self.next();
            if tok.ty == Tok::ObjEnd {
                self.depth -= 1;
                return Ok(());
            }
            if tok.ty != Tok::Comma {
                return Err(self.expected("comma or object end", &tok));
            }
            tok = self.next();
        }
    }

    unsafe fn array(&mut self, l: *mut lua_State) -> Result<(), Fail> {
        self.descend(l, 2)?;
        lua_newtable(l);
        let mut tok = self.next();
        if tok.ty == Tok::ArrEnd {
            self.depth -= 1;
            return Ok(());
        }
        let mut i: c_int = 1;
        loop {
            self.value(l, &tok)?;
            lua_rawseti(l, -2, i);
            i = i.wrapping_add(1);
            tok = self.next();
            if tok.ty == Tok::ArrEnd {
                self.depth -= 1;
                return Ok(());
            }
            if tok.ty != Tok::Comma {
                return Err(self.expected("comma or array end", &tok));
            }
            tok = self.next();
        }
    }

    unsafe fn value(&mut self, l: *mut lua_State, tok: &Token) -> Result<(), Fail> {
        match tok.ty {
            Tok::Str => push_bytes(l, &self.tmp),
            Tok::Num => lua_pushnumber(l, tok.num),
            Tok::Bool => lua_pushboolean(l, tok.boolean as c_int),
            Tok::ObjBegin => self.object(l)?,
            Tok::ArrBegin => self.array(l)?,
            Tok::Null => lua_pushlightuserdata(l, ptr::null_mut()),
            _ => return Err(self.expected("value", tok)),
        }
        Ok(())
    }
}

unsafe extern "C-unwind" fn json_decode(l: *mut lua_State) -> c_int {
    if lua_gettop(l) != 1 {
        return luaL_argerror(l, 1, cstr!("expected 1 argument"));
    }
    let cfg = *config(l);
    let mut len = 0;
    let p = luaL_checklstring(l, 1, &mut len);
    // Include the NUL terminator Lua keeps after every string.
    let data = std::slice::from_raw_parts(p as *const u8, len + 1);
    if len >= 2 && (data[0] == 0 || data[1] == 0) {
        return luaL_error(l, cstr!("JSON parser does not support UTF-16 or UTF-32"));
    }
    let r = guard(|| {
        let mut p = Parser {
            data,
            pos: 0,
            depth: 0,
            cfg,
            tmp: Vec::new(),
        };
        let tok = p.next();
        p.value(l, &tok)?;
        let tok = p.next();
        if tok.ty != Tok::End {
            return Err(p.expected("the end", &tok));
        }
        Ok(1)
    });
    finish(l, r)
}

// ---------------------------------------------------------------------------------------------
// Configuration (these own nothing, so they raise directly through lauxlib)

/// `json_arg_init`: at most `args` arguments, padded with nils.
unsafe fn arg_init<'a>(l: *mut lua_State, args: c_int) -> &'a mut Config {
    if lua_gettop(l) > args {
        luaL_argerror(l, args + 1, cstr!("found too many arguments"));
    }
    while lua_gettop(l) < args {
        lua_pushnil(l);
    }
    config(l)
}

unsafe fn integer_option(
    l: *mut lua_State,
    idx: c_int,
    setting: *mut c_int,
    min: c_int,
    max: c_int,
) {
    if !lua_isnil(l, idx) {
        let value = luaL_checkinteger(l, idx) as c_int;
        if !(min <= value && value <= max) {
            let msg = format!("expected integer between {min} and {max}\0");
            push_bytes(l, msg.as_bytes());
            drop(msg);
            let p = lua_tolstring(l, -1, ptr::null_mut());
            luaL_argerror(l, 1, p);
        }
        *setting = value;
    }
    lua_pushinteger(l, *setting as lua_Integer);
}

unsafe fn enum_option(
    l: *mut lua_State,
    idx: c_int,
    setting: *mut c_int,
    options: &[*const c_char],
    bool_true: c_int,
) {
    if !lua_isnil(l, idx) {
        if bool_true != 0 && lua_type(l, idx) == LUA_TBOOLEAN {
            *setting = lua_toboolean(l, idx) * bool_true;
        } else {
            *setting = luaL_checkoption(l, idx, ptr::null(), options.as_ptr());
        }
    }
    if bool_true != 0 && (*setting == 0 || *setting == bool_true) {
        lua_pushboolean(l, *setting);
    } else {
        lua_pushstring(l, options[*setting as usize]);
    }
}

const BOOL_OPTIONS: [*const c_char; 3] = [cstr!("off"), cstr!("on"), ptr::null()];

unsafe extern "C-unwind" fn cfg_encode_sparse_array(l: *mut lua_State) -> c_int {
    let cfg = arg_init(l, 3);
    enum_option(l, 1, &mut cfg.sparse_convert, &BOOL_OPTIONS, 1);
    integer_option(l, 2, &mut cfg.sparse_ratio, 0, c_int::MAX);
    integer_option(l, 3, &mut cfg.sparse_safe, 0, c_int::MAX);
    3
}

unsafe extern "C-unwind" fn cfg_encode_max_depth(l: *mut lua_State) -> c_int {
    let cfg = arg_init(l, 1);
    integer_option(l, 1, &mut cfg.encode_max_depth, 1, c_int::MAX);
    1
}

unsafe extern "C-unwind" fn cfg_decode_max_depth(l: *mut lua_State) -> c_int {
    let cfg = arg_init(l, 1);
    integer_option(l, 1, &mut cfg.decode_max_depth, 1, c_int::MAX);
    1
}

unsafe extern "C-unwind" fn cfg_encode_number_precision(l: *mut lua_State) -> c_int {
    let cfg = arg_init(l, 1);
    integer_option(l, 1, &mut cfg.encode_number_precision, 1, 14);
    1
}

unsafe extern "C-unwind" fn cfg_encode_keep_buffer(l: *mut lua_State) -> c_int {
    let cfg = arg_init(l, 1);
    enum_option(l, 1, &mut cfg.encode_keep_buffer, &BOOL_OPTIONS, 1);
    1
}

unsafe extern "C-unwind" fn cfg_encode_invalid_numbers(l: *mut lua_State) -> c_int {
    let options = [cstr!("off"), cstr!("on"), cstr!("null"), ptr::null()];
    let cfg = arg_init(l, 1);
    enum_option(l, 1, &mut cfg.encode_invalid_numbers, &options, 1);
    1
}

unsafe extern "C-unwind" fn cfg_decode_invalid_numbers(l: *mut lua_State) -> c_int {
    let cfg = arg_init(l, 1);
    enum_option(l, 1, &mut cfg.decode_invalid_numbers, &BOOL_OPTIONS, 1);
    1
}

unsafe extern "C-unwind" fn lua_cjson_new(l: *mut lua_State) -> c_int {
    new_module(l);
    1
}

/// Pushes a fresh module table with its own configuration.
pub(crate) unsafe fn new_module(l: *mut lua_State) {
    lua_newtable(l);
    let cfg = lua_newuserdata(l, std::mem::size_of::<Config>()) as *mut Config;
    cfg.write(DEFAULT);
    let funcs: [(*const c_char, lua_CFunction); 10] = [
        (cstr!("encode"), json_encode),
        (cstr!("decode"), json_decode),
        (cstr!("encode_sparse_array"), cfg_encode_sparse_array),
        (cstr!("encode_max_depth"), cfg_encode_max_depth),
        (cstr!("decode_max_depth"), cfg_decode_max_depth),
        (
            cstr!("encode_number_precision"),
            cfg_encode_number_precision,
        ),
        (cstr!("encode_keep_buffer"), cfg_encode_keep_buffer),
        (cstr!("encode_invalid_numbers"), cfg_encode_invalid_numbers),
        (cstr!("decode_invalid_numbers"), cfg_decode_invalid_numbers),
        (cstr!("new"), lua_cjson_new),
    ];
    for (name, f) in funcs {
        lua_pushvalue(l, -1);
        lua_pushcclosure(l, f, 1);
        lua_setfield(l, -3, name);
    }
    lua_pop(l, 1);
    lua_pushlightuserdata(l, ptr::null_mut());
    lua_setfield(l, -2, cstr!("null"));
    push_bytes(l, b"cjson");
    lua_setfield(l, -2, cstr!("_NAME"));
    push_bytes(l, b"2.1.0");
    lua_setfield(l, -2, cstr!("_VERSION"));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_texts() {
        assert_eq!(format_number(0.1, 14), b"0.1");
        assert_eq!(format_number(1e100, 14), b"1e+100");
        assert_eq!(
            format_number(123456789012345678.0, 14),
            b"1.2345678901235e+17"
        );
        assert_eq!(format_number(3.0, 14), b"3");
        assert_eq!(format_number(1.0 / 3.0, 3), b"0.333");
        assert_eq!(format_number(f64::INFINITY, 14), b"inf");
    }

    #[test]
    fn string_escapes() {
        let mut out = Vec::new();
        append_string(&mut out, b"a\"/\\\n\x01\x7f\xc3\xa9");
        assert_eq!(out, b"\"a\\\"\\/\\\\\\n\\u0001\\u007f\xc3\xa9\"");
    }
}
