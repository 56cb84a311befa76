//! The `server` (alias `redis`) table scripts see, and the sandboxing of a fresh Lua state:
//! loaded libraries, the globals allow-list, read-only tables, the error handler.

use std::ffi::{c_char, c_int};

use bytes::Bytes;
use resp::RespVersion;

use crate::convert::{mark_counted, push_error_table, reply_to_lua};
use crate::errors;
use crate::ffi::*;
use crate::host::{AclCheck, CallOutcome, Host, LogLevel, RunCtx};
use crate::libs;
use crate::lua::{cstr, cstr_bytes, finish, guard, push_bytes, shared, to_bytes, Fail};

/// Versions a script can read (`server.REDIS_VERSION`, ...).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Versions {
    pub redis_version: &'static str,
    pub redis_version_num: u32,
    pub valkey_version: &'static str,
    pub valkey_version_num: u32,
    pub server_name: &'static str,
}

impl Default for Versions {
    /// Valkey 8.0.1's.
    fn default() -> Self {
        Versions {
            redis_version: "7.2.4",
            redis_version_num: 0x0007_0204,
            valkey_version: "8.0.1",
            valkey_version_num: 0x0008_0001,
            server_name: "valkey",
        }
    }
}

/// The running script, reachable from the C callbacks while `lua_pcall` runs it.
pub(crate) struct RunFrame<'a> {
    pub host: &'a mut dyn Host,
    pub ctx: &'a mut RunCtx,
    /// `server.call` is executing (recursion through debug hooks is refused).
    pub in_call: bool,
}

/// The current run frame of the state `l`, if a script runs.
pub(crate) unsafe fn run_frame<'a>(l: *mut lua_State) -> Option<&'a mut RunFrame<'a>> {
    let p = shared(l).run.get() as *mut RunFrame<'a>;
    p.as_mut()
}

// ---------------------------------------------------------------------------------------------
// Sandbox construction

const ALLOWED_GLOBALS: &[&[u8]] = &[
    // libraries
    b"string",
    b"cjson",
    b"bit",
    b"cmsgpack",
    b"math",
    b"table",
    b"struct",
    b"os",
    // server API
    b"server",
    b"redis",
    b"__redis__err__handler",
    // builtins
    b"xpcall",
    b"tostring",
    b"getfenv",
    b"setmetatable",
    b"next",
    b"assert",
    b"tonumber",
    b"rawequal",
    b"collectgarbage",
    b"getmetatable",
    b"rawset",
    b"pcall",
    b"coroutine",
    b"type",
    b"_G",
    b"select",
    b"unpack",
    b"gcinfo",
    b"pairs",
    b"rawget",
    b"loadstring",
    b"ipairs",
    b"_VERSION",
    b"setfenv",
    b"load",
    b"error",
    b"newproxy",
    // removed once the error handler holds it
    b"debug",
];

/// `__newindex` of the globals while libraries load: only allow-listed names are created
/// (`print`, `dofile`, `loadfile` are silently dropped).
unsafe extern "C-unwind" fn new_index_allow_list(l: *mut lua_State) -> c_int {
    if lua_gettop(l) != 3 {
        return luaL_error(
            l,
            cstr!("Wrong number of arguments to luaNewIndexAllowList"),
        );
    }
    if !lua_istable(l, -3) {
        return luaL_error(
            l,
            cstr!("first argument to luaNewIndexAllowList must be a table"),
        );
    }
    if lua_isstring(l, -2) == 0 {
        return luaL_error(
            l,
            cstr!("Second argument to luaNewIndexAllowList must be a string or number"),
        );
    }
    let name = cstr_bytes(lua_tolstring(l, -2, std::ptr::null_mut()));
    if ALLOWED_GLOBALS.contains(&name) {
        lua_rawset(l, -3);
    }
    0
}

/// `__index` of protected tables: reading a missing name is an error.
unsafe extern "C-unwind" fn protected_table_error(l: *mut lua_State) -> c_int {
    if lua_gettop(l) != 2 {
        return luaL_error(
            l,
            cstr!("Wrong number of arguments to luaProtectedTableError"),
        );
    }
    if lua_isstring(l, -1) == 0 && lua_isnumber(l, -1) == 0 {
        return luaL_error(
            l,
            cstr!("Second argument to luaProtectedTableError must be a string or number"),
        );
    }
    let name = lua_tolstring(l, -1, std::ptr::null_mut());
    luaL_error(
        l,
        cstr!("Script attempted to access nonexistent global variable '%s'"),
        name,
    )
}

/// Gives the table on top a metatable whose `__index` raises for missing names.
pub(crate) unsafe fn set_error_metatable(l: *mut lua_State) {
    lua_newtable(l);
    lua_pushcfunction(l, protected_table_error);
    lua_setfield(l, -2, cstr!("__index"));
    lua_setmetatable(l, -2);
}

unsafe fn set_allow_list_protection(l: *mut lua_State) {
    lua_newtable(l);
    lua_pushcfunction(l, new_index_allow_list);
    lua_setfield(l, -2, cstr!("__newindex"));
    lua_setmetatable(l, -2);
}

/// Makes the table on top read-only, with every table reachable from it and their metatables.
pub(crate) unsafe fn protect_recursively(l: *mut lua_State) {
    if lua_isreadonlytable(l, -1) != 0 {
        return;
    }
    lua_enablereadonlytable(l, -1, 1);
    lua_checkstack(l, 2);
    lua_pushnil(l);
    while lua_next(l, -2) != 0 {
        if lua_istable(l, -1) {
            protect_recursively(l);
        }
        lua_pop(l, 1);
    }
    if lua_getmetatable(l, -1) != 0 {
        protect_recursively(l);
        lua_pop(l, 1);
    }
}

unsafe fn set_number(l: *mut lua_State, key: *const c_char, n: f64) {
    lua_pushnumber(l, n);
    lua_setfield(l, -2, key);
}

unsafe fn set_string(l: *mut lua_State, key: *const c_char, s: &str) {
    push_bytes(l, s.as_bytes());
    lua_setfield(l, -2, key);
}

unsafe fn set_function(l: *mut lua_State, key: *const c_char, f: lua_CFunction) {
    lua_pushcfunction(l, f);
    lua_setfield(l, -2, key);
}

/// `server.log` and the `LOG_*` levels, into the table on top.
pub(crate) unsafe fn register_log(l: *mut lua_State) {
    set_function(l, cstr!("log"), server_log);
    set_number(l, cstr!("LOG_DEBUG"), 0.0);
    set_number(l, cstr!("LOG_VERBOSE"), 1.0);
    set_number(l, cstr!("LOG_NOTICE"), 2.0);
    set_number(l, cstr!("LOG_WARNING"), 3.0);
}

/// The version fields, into the table on top.
pub(crate) unsafe fn register_versions(l: *mut lua_State, v: &Versions) {
    set_number(l, cstr!("REDIS_VERSION_NUM"), v.redis_version_num as f64);
    set_string(l, cstr!("REDIS_VERSION"), v.redis_version);
    set_number(l, cstr!("VALKEY_VERSION_NUM"), v.valkey_version_num as f64);
    set_string(l, cstr!("VALKEY_VERSION"), v.valkey_version);
    set_string(l, cstr!("SERVER_NAME"), v.server_name);
}

/// Valkey's `luaRegisterServerAPI`: libraries, `pcall`, the `server`/`redis` table,
/// deterministic `math.random`. The globals keep an allow-list `__newindex` until the caller
/// locks them.
pub(crate) unsafe fn register_server_api(l: *mut lua_State, v: &Versions) {
    lua_pushvalue(l, LUA_GLOBALSINDEX);
    set_allow_list_protection(l);
    lua_pop(l, 1);

    libs::load_lib(l, b"", luaopen_base);
    libs::load_lib(l, &LUA_TABLIBNAME[..5], luaopen_table);
    libs::load_lib(l, &LUA_STRLIBNAME[..6], luaopen_string);
    libs::load_lib(l, &LUA_MATHLIBNAME[..4], luaopen_math);
    libs::load_lib(l, &LUA_DBLIBNAME[..5], luaopen_debug);
    libs::load_lib(l, &LUA_OSLIBNAME[..2], luaopen_os);
    libs::load_lib(l, b"cjson", libs::open_cjson);
    libs::load_lib(l, b"struct", libs::open_struct);
    libs::load_lib(l, b"cmsgpack", libs::open_cmsgpack);
    libs::load_lib(l, b"bit", libs::open_bit);

    lua_pushcfunction(l, lua_pcall_override);
    lua_setglobal(l, cstr!("pcall"));

    lua_newtable(l);
    set_function(l, cstr!("call"), server_call);
    set_function(l, cstr!("pcall"), server_pcall);
    register_log(l);
    register_versions(l, v);
    set_function(l, cstr!("setresp"), server_setresp);
    set_function(l, cstr!("sha1hex"), server_sha1hex);
    set_function(l, cstr!("error_reply"), server_error_reply);
    set_function(l, cstr!("status_reply"), server_status_reply);
    set_function(l, cstr!("set_repl"), server_set_repl);
    set_number(l, cstr!("REPL_NONE"), 0.0);
    set_number(l, cstr!("REPL_AOF"), 1.0);
    set_number(l, cstr!("REPL_SLAVE"), 2.0);
    set_number(l, cstr!("REPL_REPLICA"), 2.0);
    set_number(l, cstr!("REPL_ALL"), 3.0);
    set_function(l, cstr!("acl_check_cmd"), server_acl_check_cmd);
    lua_setglobal(l, cstr!("server"));
    lua_getglobal(l, cstr!("server"));
    lua_setglobal(l, cstr!("redis"));

    lua_getglobal(l, cstr!("math"));
    set_function(l, cstr!("random"), libs::rand::math_random);
    set_function(l, cstr!("randomseed"), libs::rand::math_randomseed);
    lua_setglobal(l, cstr!("math"));
}

/// The EVAL-only debugging helpers (no-ops outside `SCRIPT DEBUG`), into the `server` global.
pub(crate) unsafe fn register_eval_extras(l: *mut lua_State) {
    lua_getglobal(l, cstr!("server"));
    set_function(l, cstr!("breakpoint"), server_breakpoint);
    set_function(l, cstr!("debug"), server_debug);
    set_function(l, cstr!("replicate_commands"), server_replicate_commands);
    lua_setglobal(l, cstr!("server"));
}

/// The body of the error handler: turns any error into a table `{err=..., source=..., line=...}`
/// describing where the script (not a C function) was. `__ERRH__` is replaced by how the
/// handler is published.
pub(crate) const ERROR_HANDLER: &str = "local getinfo = debug.getinfo\n\
debug = nil\n\
__ERRH__ function (e)\n\
  local where = getinfo(2, 'nSl')\n\
  if where and where.what == 'C' then\n\
    where = getinfo(3, 'nSl')\n\
  end\n\
  if type(e) ~= 'table' then\n\
    e = {err = 'ERR ' .. tostring(e)}\n\
  end\n\
  if where then\n\
    e['source'] = where.source\n\
    e['line'] = where.currentline\n\
  end\n\
  return e\n\
end\n";

/// Compiles and runs a chunk during state setup (never fails for our own code).
pub(crate) unsafe fn run_setup_chunk(l: *mut lua_State, code: &str, nresults: c_int) {
    let name = cstr!("@err_handler_def");
    if luaL_loadbuffer(l, code.as_ptr() as *const c_char, code.len(), name) != 0
        || lua_pcall(l, 0, nresults, 0) != 0
    {
        std::process::abort();
    }
}

// ---------------------------------------------------------------------------------------------
// server.* functions

/// `luaArgsToRedisArgv`: the arguments as command words (numbers as Redis prints them).
unsafe fn args_to_argv(l: *mut lua_State) -> Result<Vec<Bytes>, &'static str> {
    let argc = lua_gettop(l);
    if argc == 0 {
        return Err(errors::LUA_NO_ARGS);
    }
    let mut argv = Vec::with_capacity(argc as usize);
    for j in 1..=argc {
        if lua_type(l, j) == LUA_TNUMBER {
            let n = lua_tonumber(l, j);
            let s = match resp::float::double_to_i64(n) {
                Some(i) => i.to_string(),
                None => resp::float::fpconv_dtoa(n),
            };
            argv.push(Bytes::from(s));
        } else {
            match to_bytes(l, j) {
                Some(b) => argv.push(Bytes::copy_from_slice(b)),
                None => break,
            }
        }
    }
    lua_pop(l, argc);
    if argv.len() != argc as usize {
        return Err(errors::LUA_BAD_ARG_TYPE);
    }
    Ok(argv)
}

/// Pushes `{err="ERR <msg>"}` (or `-CODE` form).
unsafe fn push_error(l: *mut lua_State, msg: &[u8]) {
    push_error_table(l, msg);
}

fn raise_or_return(raise: bool) -> Result<c_int, Fail> {
    if raise {
        Err(Fail::Top)
    } else {
        Ok(1)
    }
}

/// `server.call` / `server.pcall`.
unsafe fn generic_call(l: *mut lua_State, raise: bool) -> c_int {
    let r = guard(|| {
        let Some(frame) = run_frame(l) else {
            push_error(
                l,
                b"server.call and server.pcall are only available while a script runs",
            );
            return raise_or_return(raise);
        };
        let argv = match args_to_argv(l) {
            Ok(a) => a,
            Err(msg) => {
                push_error(l, msg.as_bytes());
                return raise_or_return(raise);
            }
        };
        if frame.in_call {
            frame
                .host
                .log(LogLevel::Warning, errors::LUA_RECURSIVE_CALL.as_bytes());
            push_error(l, errors::LUA_RECURSIVE_CALL.as_bytes());
            return Ok(1);
        }
        frame.in_call = true;
        let outcome = frame.host.call(frame.ctx, argv);
        frame.in_call = false;
        match outcome {
            CallOutcome::Rejected(msg) => {
                push_error(l, msg.as_bytes());
                mark_counted(l);
                raise_or_return(raise)
            }
            CallOutcome::Reply(reply) => {
                let is_error = reply.is_error();
                if reply_to_lua(l, &reply, frame.ctx.resp).is_err() {
                    push_error(l, b"reached lua stack limit");
                    return raise_or_return(raise);
                }
                raise_or_return(raise && is_error)
            }
        }
    });
    finish(l, r)
}

unsafe extern "C-unwind" fn server_call(l: *mut lua_State) -> c_int {
    generic_call(l, true)
}

unsafe extern "C-unwind" fn server_pcall(l: *mut lua_State) -> c_int {
    generic_call(l, false)
}

/// The global `pcall`: Lua's, except that an error table with a string `err` is returned as
/// that string (Redis 6 compatibility).
unsafe extern "C-unwind" fn lua_pcall_override(l: *mut lua_State) -> c_int {
    let argc = lua_gettop(l);
    if argc == 0 {
        // Valkey calls the empty stack slot: the call fails as calling nil does.
        lua_pushboolean(l, 0);
        lua_pushstring(l, cstr!("attempt to call a nil value"));
        return 2;
    }
    lua_pushboolean(l, 1);
    lua_insert(l, 1);
    if lua_pcall(l, argc - 1, LUA_MULTRET, 0) != 0 {
        lua_remove(l, 1);
        if lua_istable(l, -1) {
            lua_getfield(l, -1, cstr!("err"));
            if lua_isstring(l, -1) != 0 {
                lua_replace(l, -2);
            }
        }
        lua_pushboolean(l, 0);
        lua_insert(l, 1);
    }
    lua_gettop(l)
}

unsafe extern "C-unwind" fn server_sha1hex(l: *mut lua_State) -> c_int {
    let r = guard(|| {
        if lua_gettop(l) != 1 {
            push_error(l, errors::LUA_SHA1HEX_ARGS.as_bytes());
            return Err(Fail::Top);
        }
        let data = to_bytes(l, 1).unwrap_or_default();
        push_bytes(l, crate::sha1_hex(data).as_bytes());
        Ok(1)
    });
    finish(l, r)
}

unsafe extern "C-unwind" fn server_error_reply(l: *mut lua_State) -> c_int {
    let r = guard(|| {
        if lua_gettop(l) != 1 || lua_type(l, -1) != LUA_TSTRING {
            push_error(l, errors::LUA_WRONG_ARGS.as_bytes());
            return Ok(1);
        }
        let s = crate::convert::cstr_part(to_bytes(l, -1).unwrap_or_default());
        let mut text = Vec::with_capacity(s.len() + 1);
        if !s.starts_with(b"-") {
            text.push(b'-');
        }
        text.extend_from_slice(s);
        push_error(l, &text);
        Ok(1)
    });
    finish(l, r)
}

unsafe extern "C-unwind" fn server_status_reply(l: *mut lua_State) -> c_int {
    if lua_gettop(l) != 1 || lua_type(l, -1) != LUA_TSTRING {
        let r = guard(|| {
            push_error(l, errors::LUA_WRONG_ARGS.as_bytes());
            Ok(1)
        });
        return finish(l, r);
    }
    lua_newtable(l);
    lua_pushstring(l, cstr!("ok"));
    lua_pushvalue(l, -3);
    lua_settable(l, -3);
    1
}

/// Raises `{err="ERR <msg>"}` when no run frame exists or when `f` fails.
unsafe fn with_frame(
    l: *mut lua_State,
    f: impl FnOnce(&mut RunFrame) -> Result<c_int, &'static str>,
) -> c_int {
    let r = guard(|| {
        let Some(frame) = run_frame(l) else {
            push_error(l, b"this function is only available while a script runs");
            return Err(Fail::Top);
        };
        match f(frame) {
            Ok(n) => Ok(n),
            Err(msg) => {
                push_error(l, msg.as_bytes());
                Err(Fail::Top)
            }
        }
    });
    finish(l, r)
}

unsafe extern "C-unwind" fn server_set_repl(l: *mut lua_State) -> c_int {
    with_frame(l, |frame| {
        if lua_gettop(l) != 1 {
            return Err(errors::LUA_SET_REPL_ARGS);
        }
        let flags = lua_tonumber(l, -1) as c_int;
        if flags & !3 != 0 {
            return Err(errors::LUA_SET_REPL_FLAGS);
        }
        frame.ctx.repl = crate::host::ReplFlags {
            aof: flags & 1 != 0,
            replicas: flags & 2 != 0,
        };
        Ok(0)
    })
}

unsafe extern "C-unwind" fn server_setresp(l: *mut lua_State) -> c_int {
    with_frame(l, |frame| {
        if lua_gettop(l) != 1 {
            return Err(errors::LUA_SETRESP_ARGS);
        }
        frame.ctx.resp = match lua_tonumber(l, -1) as c_int {
            2 => RespVersion::Resp2,
            3 => RespVersion::Resp3,
            _ => return Err(errors::LUA_SETRESP_VERSION),
        };
        Ok(0)
    })
}

unsafe extern "C-unwind" fn server_acl_check_cmd(l: *mut lua_State) -> c_int {
    with_frame(l, |frame| {
        let argv = args_to_argv(l)?;
        match frame.host.acl_check_cmd(frame.ctx, &argv) {
            AclCheck::UnknownCommand => Err(errors::LUA_ACL_CHECK_UNKNOWN),
            AclCheck::Allowed => {
                lua_pushboolean(l, 1);
                Ok(1)
            }
            AclCheck::Denied => {
                lua_pushboolean(l, 0);
                Ok(1)
            }
        }
    })
}

/// `server.log(level, ...)`: available in scripts and while loading libraries; outside a run
/// the message is dropped (there is no host to write to).
unsafe extern "C-unwind" fn server_log(l: *mut lua_State) -> c_int {
    let r = guard(|| {
        let argc = lua_gettop(l);
        let fail = |msg: &str| {
            push_error(l, msg.as_bytes());
            Err(Fail::Top)
        };
        if argc < 2 {
            return fail(errors::LUA_LOG_ARGS);
        }
        if lua_isnumber(l, -argc) == 0 {
            return fail(errors::LUA_LOG_LEVEL_TYPE);
        }
        let level = match lua_tonumber(l, -argc) as c_int {
            0 => LogLevel::Debug,
            1 => LogLevel::Verbose,
            2 => LogLevel::Notice,
            3 => LogLevel::Warning,
            _ => return fail(errors::LUA_LOG_LEVEL),
        };
        let mut msg = Vec::new();
        for j in 1..argc {
            if let Some(s) = to_bytes(l, -argc + j) {
                if j != 1 {
                    msg.push(b' ');
                }
                msg.extend_from_slice(s);
            }
        }
        if let Some(frame) = run_frame(l) {
            frame.host.log(level, &msg);
        } else if let Some(load) = crate::functions::load_frame(l) {
            load.logs.push((level, msg));
        }
        Ok(0)
    });
    finish(l, r)
}

unsafe extern "C-unwind" fn server_breakpoint(l: *mut lua_State) -> c_int {
    lua_pushboolean(l, 0);
    1
}

unsafe extern "C-unwind" fn server_debug(_l: *mut lua_State) -> c_int {
    0
}

unsafe extern "C-unwind" fn server_replicate_commands(l: *mut lua_State) -> c_int {
    lua_pushboolean(l, 1);
    1
}
