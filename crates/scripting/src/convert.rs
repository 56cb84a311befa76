//! Conversions between Lua values and replies, exactly as Redis does them.
//!
//! * [`lua_to_reply`] (Valkey's `luaReplyToRedisReply`): numbers are truncated to integers,
//!   strings become bulk strings, `true` is `1` and `false` nil (RESP2 scripts) or booleans
//!   (after `server.setresp(3)`), tables are arrays up to the first nil unless they carry one
//!   of the fields `err`, `ok`, `double`, `big_number`, `verbatim_string`, `map`, `set`
//!   (checked in that order, with raw access), anything else is nil.
//! * [`reply_to_lua`] (`redisProtocolToLuaType`): what a command replied, seen through the
//!   protocol of the script's fake client: RESP2 nil is `false`, RESP3 null is `nil`, status is
//!   `{ok=...}`, errors are `{err="CODE msg"}` (marked as already counted in the error stats),
//!   RESP3 maps/sets/doubles/big numbers/verbatim strings are tables; attributes are dropped.

use std::ffi::c_int;

use bytes::Bytes;
use resp::{Frame, Reply, RespVersion};

use crate::ffi::*;
use crate::lua::{abs_index, c_double_to_i64, protected_gettable, push_bytes, to_bytes};

/// The fields of an error table (`luaExtractErrorInformation`).
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct ErrorInfo {
    pub msg: Option<Vec<u8>>,
    pub source: Option<Vec<u8>>,
    pub line: Option<Vec<u8>>,
    pub ignore_stats: bool,
}

/// Reads an error value at `idx`: a string gives `ERR <string>`; a table its `err`, `source`,
/// `line` and `ignore_error_stats_update` fields (metamethods may run, protected).
pub(crate) unsafe fn error_info(l: *mut lua_State, idx: c_int) -> ErrorInfo {
    let idx = abs_index(l, idx);
    let mut info = ErrorInfo::default();
    if lua_isstring(l, idx) != 0 {
        let mut m = b"ERR ".to_vec();
        m.extend_from_slice(cstr_part(to_bytes(l, idx).unwrap_or_default()));
        info.msg = Some(m);
        return info;
    }
    if !lua_istable(l, idx) {
        return info;
    }
    lua_checkstack(l, 2);
    let field = |name: &[u8]| -> Option<Vec<u8>> {
        push_bytes(l, name);
        if protected_gettable(l, idx).is_err() {
            lua_pop(l, 1);
            return None;
        }
        let v = if lua_isstring(l, -1) != 0 {
            to_bytes(l, -1).map(|b| cstr_part(b).to_vec())
        } else {
            None
        };
        lua_pop(l, 1);
        v
    };
    info.msg = field(b"err");
    info.source = field(b"source");
    info.line = field(b"line");
    push_bytes(l, b"ignore_error_stats_update");
    if protected_gettable(l, idx).is_ok() && lua_type(l, -1) == LUA_TBOOLEAN {
        info.ignore_stats = lua_toboolean(l, -1) != 0;
    }
    lua_pop(l, 1);
    info
}

/// What a C string function sees of `b`.
pub(crate) fn cstr_part(b: &[u8]) -> &[u8] {
    &b[..b.iter().position(|&c| c == 0).unwrap_or(b.len())]
}

/// Error replies coming out of a script: the text as is (it carries its own code).
fn error_reply(msg: &[u8]) -> Reply {
    Reply::Error(String::from_utf8_lossy(msg).into_owned().into())
}

/// The reply a script returns, and whether it is an error already counted in the error stats.
#[derive(Debug, Clone, PartialEq)]
pub struct Converted {
    pub reply: Reply,
    pub error_counted: bool,
    /// The reply is an error table the script returned (`{err=…}`, `server.error_reply`): its
    /// text, code included, is the script's own (Valkey's `ERR_REPLY_FLAG_CUSTOM`).
    pub custom_error: bool,
}

/// Converts the value on top of the stack and pops it.
///
/// `script` is the protocol of the script's client (`server.setresp`), `caller` that of the
/// client the reply goes to.
pub(crate) unsafe fn lua_to_reply(
    l: *mut lua_State,
    script: RespVersion,
    caller: RespVersion,
) -> Converted {
    let mut counted = false;
    let custom_error = lua_type(l, -1) == LUA_TTABLE && {
        let err = raw_field(l, b"err") == LUA_TSTRING;
        lua_pop(l, 1);
        err
    };
    let reply = to_reply(l, script, caller, &mut counted, 0);
    Converted {
        custom_error: custom_error && reply.is_error(),
        reply,
        error_counted: counted,
    }
}

unsafe fn raw_field(l: *mut lua_State, name: &[u8]) -> c_int {
    push_bytes(l, name);
    lua_rawget(l, -2);
    lua_type(l, -1)
}

fn map_crlf(b: &[u8]) -> Vec<u8> {
    b.iter()
        .map(|&c| if c == b'\r' || c == b'\n' { b' ' } else { c })
        .collect()
}

/// Nesting beyond this answers "reached lua stack limit" (Valkey reaches its limit, the Lua
/// stack's 8000 slots, deeper; this bound keeps Rust's stack and the reply's drop shallow).
const MAX_REPLY_DEPTH: usize = 512;

unsafe fn to_reply(
    l: *mut lua_State,
    script: RespVersion,
    caller: RespVersion,
    counted: &mut bool,
    depth: usize,
) -> Reply {
    if depth > MAX_REPLY_DEPTH || lua_checkstack(l, 4) == 0 {
        lua_pop(l, 1);
        return Reply::error(crate::errors::LUA_STACK_LIMIT);
    }
    let reply = match lua_type(l, -1) {
        LUA_TSTRING => Reply::Bulk(Bytes::copy_from_slice(to_bytes(l, -1).unwrap_or_default())),
        LUA_TBOOLEAN => {
            let b = lua_toboolean(l, -1) != 0;
            match script {
                RespVersion::Resp2 if b => Reply::Int(1),
                RespVersion::Resp2 => Reply::Nil,
                RespVersion::Resp3 => Reply::Bool(b),
            }
        }
        LUA_TNUMBER => Reply::Int(c_double_to_i64(lua_tonumber(l, -1))),
        LUA_TTABLE => return table_to_reply(l, script, caller, counted, depth),
        _ => Reply::Nil,
    };
    lua_pop(l, 1);
    reply
}

/// Converts the table on top of the stack and pops it.
unsafe fn table_to_reply(
    l: *mut lua_State,
    script: RespVersion,
    caller: RespVersion,
    counted: &mut bool,
    depth: usize,
) -> Reply {
    if raw_field(l, b"err") == LUA_TSTRING {
        lua_pop(l, 1);
        let info = error_info(l, -1);
        lua_pop(l, 1);
        *counted = *counted || info.ignore_stats;
        return error_reply(&info.msg.unwrap_or_default());
    }
    lua_pop(l, 1);
    if raw_field(l, b"ok") == LUA_TSTRING {
        let s = map_crlf(cstr_part(to_bytes(l, -1).unwrap_or_default()));
        lua_pop(l, 2);
        return Reply::Status(String::from_utf8_lossy(&s).into_owned().into());
    }
    lua_pop(l, 1);
    if raw_field(l, b"double") == LUA_TNUMBER {
        let d = lua_tonumber(l, -1);
        lua_pop(l, 2);
        return Reply::Double(d);
    }
    lua_pop(l, 1);
    if raw_field(l, b"big_number") == LUA_TSTRING {
        let s = map_crlf(to_bytes(l, -1).unwrap_or_default());
        lua_pop(l, 2);
        return big_number(&s, caller);
    }
    lua_pop(l, 1);
    if raw_field(l, b"verbatim_string") == LUA_TTABLE {
        if raw_field(l, b"format") == LUA_TSTRING {
            let format = cstr_part(to_bytes(l, -1).unwrap_or_default()).to_vec();
            push_bytes(l, b"string");
            lua_rawget(l, -3);
            if lua_type(l, -1) == LUA_TSTRING {
                let s = Bytes::copy_from_slice(to_bytes(l, -1).unwrap_or_default());
                lua_pop(l, 4);
                return verbatim(&format, s, caller);
            }
            lua_pop(l, 1);
        }
        lua_pop(l, 1);
    }
    lua_pop(l, 1);
    if raw_field(l, b"map") == LUA_TTABLE {
        let mut pairs = Vec::new();
        lua_pushnil(l);
        while lua_next(l, -2) != 0 {
            lua_pushvalue(l, -2);
            let k = to_reply(l, script, caller, counted, depth + 1);
            let v = to_reply(l, script, caller, counted, depth + 1);
            pairs.push((k, v));
        }
        lua_pop(l, 2);
        return Reply::Map(pairs);
    }
    lua_pop(l, 1);
    if raw_field(l, b"set") == LUA_TTABLE {
        let mut items = Vec::new();
        lua_pushnil(l);
        while lua_next(l, -2) != 0 {
            lua_pop(l, 1);
            lua_pushvalue(l, -1);
            items.push(to_reply(l, script, caller, counted, depth + 1));
        }
        lua_pop(l, 2);
        return Reply::Set(items);
    }
    lua_pop(l, 1);
    let mut items = Vec::new();
    let mut j: c_int = 1;
    loop {
        lua_rawgeti(l, -1, j);
        j = j.wrapping_add(1);
        if lua_type(l, -1) == LUA_TNIL {
            lua_pop(l, 1);
            break;
        }
        items.push(to_reply(l, script, caller, counted, depth + 1));
    }
    lua_pop(l, 1);
    Reply::Array(items)
}

/// `addReplyBigNum`: RESP3 `(`, RESP2 a bulk string.
fn big_number(s: &[u8], caller: RespVersion) -> Reply {
    match caller {
        RespVersion::Resp2 => Reply::Bulk(Bytes::copy_from_slice(s)),
        RespVersion::Resp3 => {
            let mut out = Vec::with_capacity(s.len() + 3);
            out.push(b'(');
            out.extend_from_slice(s);
            out.extend_from_slice(b"\r\n");
            Reply::Raw(out.into())
        }
    }
}

/// `addReplyVerbatim`: the format is the first three bytes of `format`.
fn verbatim(format: &[u8], s: Bytes, caller: RespVersion) -> Reply {
    let mut f = [0u8; 3];
    for (d, c) in f.iter_mut().zip(format) {
        *d = *c;
    }
    match &f {
        b"txt" => return Reply::Verbatim("txt", s),
        b"mkd" => return Reply::Verbatim("mkd", s),
        _ => {}
    }
    match caller {
        RespVersion::Resp2 => Reply::Bulk(s),
        RespVersion::Resp3 => {
            let mut out = Vec::with_capacity(s.len() + 16);
            resp::reply::int_line(&mut out, b'=', (s.len() + 4) as i64);
            out.extend_from_slice(&f);
            out.push(b':');
            out.extend_from_slice(&s);
            out.extend_from_slice(b"\r\n");
            Reply::Raw(out.into())
        }
    }
}

/// `luaPushErrorBuff`: pushes `{err = "CODE msg"}` for `"-CODE msg"`, or `{err = "ERR msg"}`.
pub(crate) unsafe fn push_error_table(l: *mut lua_State, text: &[u8]) {
    let text = cstr_part(text);
    let (code, msg): (&[u8], &[u8]) = match text.strip_prefix(b"-") {
        Some(rest) => match rest.iter().position(|&c| c == b' ') {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => (b"ERR", rest),
        },
        None => (b"ERR", text),
    };
    let trim = |c: &u8| *c == b'\r' || *c == b'\n';
    let start = msg.iter().position(|c| !trim(c)).unwrap_or(msg.len());
    let end = msg.iter().rposition(|c| !trim(c)).map_or(start, |e| e + 1);
    let mut full = code.to_vec();
    full.push(b' ');
    full.extend_from_slice(&msg[start..end.max(start)]);
    lua_checkstack(l, 3);
    lua_newtable(l);
    push_bytes(l, b"err");
    push_bytes(l, &full);
    lua_rawset(l, -3);
}

/// Marks the error table on top as already counted in the error stats.
pub(crate) unsafe fn mark_counted(l: *mut lua_State) {
    push_bytes(l, b"ignore_error_stats_update");
    lua_pushboolean(l, 1);
    lua_rawset(l, -3);
}

/// Pushes the Lua form of a command's reply. `Err` when the Lua stack cannot grow (nothing is
/// left pushed then).
pub(crate) unsafe fn reply_to_lua(
    l: *mut lua_State,
    reply: &Reply,
    resp: RespVersion,
) -> Result<(), ()> {
    let top = lua_gettop(l);
    let r = push_reply(l, reply, resp);
    if r.is_err() {
        lua_settop(l, top);
    }
    r
}

unsafe fn new_wrapped(l: *mut lua_State, field: &[u8]) {
    lua_newtable(l);
    push_bytes(l, field);
}

unsafe fn push_reply(l: *mut lua_State, reply: &Reply, resp: RespVersion) -> Result<(), ()> {
    if lua_checkstack(l, 5) == 0 {
        return Err(());
    }
    let r3 = resp == RespVersion::Resp3;
    match reply {
        Reply::Ok => push_status(l, b"OK"),
        Reply::Status(s) => push_status(l, s.as_bytes()),
        Reply::Error(e) => {
            let mut t = b"-".to_vec();
            t.extend_from_slice(e.as_bytes());
            push_error_table(l, &t);
            mark_counted(l);
        }
        Reply::Int(i) => lua_pushnumber(l, *i as f64),
        Reply::Bulk(b) => push_bytes(l, b),
        Reply::Nil | Reply::NilArray if r3 => lua_pushnil(l),
        Reply::Nil | Reply::NilArray => lua_pushboolean(l, 0),
        Reply::Array(items) | Reply::Push(items) => push_array(l, items.iter(), resp)?,
        Reply::Set(items) if r3 => {
            new_wrapped(l, b"set");
            lua_newtable(l);
            for item in items {
                push_reply(l, item, resp)?;
                lua_pushboolean(l, 1);
                set_checked(l);
            }
            lua_rawset(l, -3);
        }
        Reply::Set(items) => push_array(l, items.iter(), resp)?,
        Reply::Map(pairs) if r3 => {
            new_wrapped(l, b"map");
            lua_newtable(l);
            for (k, v) in pairs {
                push_reply(l, k, resp)?;
                push_reply(l, v, resp)?;
                set_checked(l);
            }
            lua_rawset(l, -3);
        }
        Reply::Map(pairs) => push_array(l, pairs.iter().flat_map(|(k, v)| [k, v]), resp)?,
        Reply::Double(d) if r3 => {
            new_wrapped(l, b"double");
            lua_pushnumber(l, *d);
            lua_rawset(l, -3);
        }
        Reply::Double(d) => push_bytes(l, resp::float::fmt_double(*d).as_bytes()),
        Reply::Bool(b) if r3 => lua_pushboolean(l, *b as c_int),
        Reply::Bool(b) => lua_pushnumber(l, *b as i32 as f64),
        Reply::Verbatim(fmt, s) if r3 => push_verbatim(l, fmt.as_bytes(), s),
        Reply::Verbatim(_, s) => push_bytes(l, s),
        Reply::BigNumber(digits) if r3 => {
            new_wrapped(l, b"big_number");
            push_bytes(l, digits);
            lua_rawset(l, -3);
        }
        Reply::BigNumber(digits) => push_bytes(l, digits),
        // Attributes are read and dropped, as Redis's Lua conversion does.
        Reply::Attribute(_, reply) => push_reply(l, reply, resp)?,
        Reply::Raw(bytes) => match resp::frame::parse_frame(bytes) {
            Ok(Some((frame, _))) => push_frame(l, &frame, resp)?,
            _ => lua_pushboolean(l, 0),
        },
        Reply::Bulks(list) => {
            lua_newtable(l);
            for (i, item) in list.iter().enumerate() {
                lua_pushnumber(l, (i + 1) as f64);
                push_bytes(l, item);
                lua_rawset(l, -3);
            }
        }
        Reply::Seq(items) => match items.first() {
            Some(first) => push_reply(l, first, resp)?,
            None => lua_pushnil(l),
        },
    }
    Ok(())
}

/// `t[k] = v` for a fresh table (key and value on top), skipping keys Lua cannot store.
unsafe fn set_checked(l: *mut lua_State) {
    let bad = match lua_type(l, -2) {
        LUA_TNIL => true,
        LUA_TNUMBER => lua_tonumber(l, -2).is_nan(),
        _ => false,
    };
    if bad {
        lua_pop(l, 2);
    } else {
        lua_rawset(l, -3);
    }
}

unsafe fn push_status(l: *mut lua_State, s: &[u8]) {
    new_wrapped(l, b"ok");
    push_bytes(l, s);
    lua_rawset(l, -3);
}

unsafe fn push_verbatim(l: *mut lua_State, fmt: &[u8], s: &[u8]) {
    new_wrapped(l, b"verbatim_string");
    lua_newtable(l);
    push_bytes(l, b"string");
    push_bytes(l, s);
    lua_rawset(l, -3);
    push_bytes(l, b"format");
    push_bytes(l, fmt);
    lua_rawset(l, -3);
    lua_rawset(l, -3);
}

unsafe fn push_array<'a>(
    l: *mut lua_State,
    items: impl Iterator<Item = &'a Reply>,
    resp: RespVersion,
) -> Result<(), ()> {
    lua_newtable(l);
    for (i, item) in items.enumerate() {
        lua_pushnumber(l, (i + 1) as f64);
        push_reply(l, item, resp)?;
        lua_rawset(l, -3);
    }
    Ok(())
}

/// Pushes an already-encoded reply (`Reply::Raw`) parsed back into a frame.
unsafe fn push_frame(l: *mut lua_State, f: &Frame, resp: RespVersion) -> Result<(), ()> {
    if lua_checkstack(l, 5) == 0 {
        return Err(());
    }
    match f {
        Frame::Simple(s) => push_status(l, s.as_bytes()),
        Frame::Error(e) => {
            let mut t = b"-".to_vec();
            t.extend_from_slice(e.as_bytes());
            push_error_table(l, &t);
            mark_counted(l);
        }
        Frame::Int(i) => lua_pushnumber(l, *i as f64),
        Frame::Bulk(b) => push_bytes(l, b),
        Frame::Null if resp == RespVersion::Resp3 => lua_pushnil(l),
        Frame::Null => lua_pushboolean(l, 0),
        Frame::Array(items) | Frame::Push(items) => {
            lua_newtable(l);
            for (i, item) in items.iter().enumerate() {
                lua_pushnumber(l, (i + 1) as f64);
                push_frame(l, item, resp)?;
                lua_rawset(l, -3);
            }
        }
        Frame::Map(pairs) => {
            new_wrapped(l, b"map");
            lua_newtable(l);
            for (k, v) in pairs {
                push_frame(l, k, resp)?;
                push_frame(l, v, resp)?;
                set_checked(l);
            }
            lua_rawset(l, -3);
        }
        Frame::Set(items) => {
            new_wrapped(l, b"set");
            lua_newtable(l);
            for item in items {
                push_frame(l, item, resp)?;
                lua_pushboolean(l, 1);
                set_checked(l);
            }
            lua_rawset(l, -3);
        }
        Frame::Double(s) => {
            new_wrapped(l, b"double");
            lua_pushnumber(
                l,
                resp::float::parse_double(s.as_bytes()).unwrap_or(f64::NAN),
            );
            lua_rawset(l, -3);
        }
        Frame::Bool(b) => lua_pushboolean(l, *b as c_int),
        Frame::Verbatim(b) => {
            let (fmt, s) = if b.len() >= 4 && b[3] == b':' {
                (&b[..3], &b[4..])
            } else {
                (&b"txt"[..], &b[..])
            };
            push_verbatim(l, fmt, s);
        }
        Frame::BigNumber(s) => {
            new_wrapped(l, b"big_number");
            push_bytes(l, s.as_bytes());
            lua_rawset(l, -3);
        }
    }
    Ok(())
}
