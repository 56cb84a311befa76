//! FUNCTION libraries: the Lua state they live in, `#!lua name=<lib>` metadata, loading with
//! `server.register_function`, the registry of libraries and functions, FCALL, and the data
//! behind FUNCTION LIST / STATS / DELETE / FLUSH / DUMP / RESTORE.
//!
//! Library names are case-sensitive; function names are looked up case-insensitively (as
//! Valkey's dict types do). Libraries are kept in load order.

use std::collections::HashMap;
use std::ffi::{c_char, c_int};
use std::time::{Duration, Instant};

use bytes::Bytes;
use resp::Reply;

use crate::api::{self, Versions};
use crate::checks::prepare_run;
use crate::convert::{error_info, push_error_table};
use crate::errors;
use crate::eval::split_keys;
use crate::ffi::*;
use crate::flags::ScriptFlags;
use crate::host::{Caller, Host, LogLevel, RunKind, ServerState};
use crate::libs::rand::SharedRand;
use crate::lua::{cstr, finish, guard, shared, to_bytes, Fail, State};
use crate::run::{call_function, RunOptions, RunOutcome};

/// FUNCTION LOAD's time limit for running the library code (none for replicated loads).
pub const LOAD_TIMEOUT: Duration = Duration::from_millis(500);

/// One registered function.
#[derive(Debug)]
pub struct Function {
    pub name: Bytes,
    pub description: Option<Bytes>,
    pub flags: ScriptFlags,
    lua_ref: c_int,
}

/// One library.
#[derive(Debug)]
pub struct Library {
    pub name: Bytes,
    /// The full code, metadata line included (what DUMP/RDB/LIST WITHCODE carry).
    pub code: Bytes,
    pub functions: Vec<Function>,
}

/// The engine name a library's metadata names (only Lua exists).
pub const ENGINE: &str = "LUA";

/// State of a FUNCTION LOAD, reachable from `server.register_function`.
pub(crate) struct LoadFrame {
    functions: Vec<Function>,
    started: Instant,
    timeout: Option<Duration>,
    pub logs: Vec<(LogLevel, Vec<u8>)>,
}

pub(crate) unsafe fn load_frame<'a>(l: *mut lua_State) -> Option<&'a mut LoadFrame> {
    (shared(l).load.get() as *mut LoadFrame).as_mut()
}

/// FUNCTION RESTORE's policies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RestorePolicy {
    Flush,
    Append,
    Replace,
}

/// Data of FUNCTION STATS's `engines` section.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stats {
    pub libraries_count: usize,
    pub functions_count: usize,
}

/// The FUNCTION engine.
pub struct Functions {
    state: State,
    libraries: Vec<Library>,
    /// Lower-cased function name → library index.
    by_function: HashMap<Vec<u8>, usize>,
}

/// A FCALL / FCALL_RO call.
#[derive(Clone, Copy, Debug)]
pub struct FcallRequest<'a> {
    pub function: &'a [u8],
    pub ro: bool,
    pub numkeys: &'a [u8],
    /// Everything after numkeys: keys then arguments.
    pub rest: &'a [Bytes],
}

/// Library metadata (`functionExtractLibMetaData`).
#[derive(Debug, PartialEq, Eq)]
pub struct Metadata {
    pub engine: Vec<u8>,
    pub name: Vec<u8>,
    /// Offset of the code after the metadata line (at its newline).
    pub code_offset: usize,
}

/// Parses the `#!<engine> name=<lib>` line. Errors are complete replies' texts.
pub fn parse_metadata(code: &[u8]) -> Result<Metadata, String> {
    if !code.starts_with(b"#!") {
        return Err(errors::LIB_MISSING_METADATA.into());
    }
    let Some(end) = code
        .iter()
        .position(|&c| c == b'\n' || c == 0)
        .filter(|&i| code[i] == b'\n')
    else {
        return Err(errors::LIB_INVALID_METADATA.into());
    };
    let parts = match resp::request::split_args(&code[..end]) {
        Some(p) if !p.is_empty() => p,
        _ => return Err(errors::LIB_INVALID_METADATA.into()),
    };
    let engine = parts[0].get(2..).unwrap_or_default().to_vec();
    let mut name = None;
    for part in &parts[1..] {
        if part.len() >= 5 && part[..5].eq_ignore_ascii_case(b"name=") {
            if name.is_some() {
                return Err(errors::LIB_NAME_TWICE.into());
            }
            name = Some(part[5..].to_vec());
            continue;
        }
        return Err(format!(
            "{}{}",
            errors::LIB_INVALID_METADATA_VALUE,
            String::from_utf8_lossy(crate::convert::cstr_part(part))
        ));
    }
    let Some(name) = name else {
        return Err(errors::LIB_NO_NAME.into());
    };
    Ok(Metadata {
        engine,
        name,
        code_offset: end,
    })
}

/// `[a-zA-Z0-9_]+`.
pub fn valid_name(name: &[u8]) -> bool {
    !name.is_empty() && name.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_')
}

impl Functions {
    pub fn new(rand: SharedRand, versions: Versions) -> Functions {
        Functions {
            state: new_state(rand, &versions),
            libraries: Vec::new(),
            by_function: HashMap::new(),
        }
    }

    pub fn libraries(&self) -> &[Library] {
        &self.libraries
    }

    pub fn stats(&self) -> Stats {
        Stats {
            libraries_count: self.libraries.len(),
            functions_count: self.by_function.len(),
        }
    }

    /// The function FCALL would run (case-insensitive), for the dispatcher's flags.
    pub fn function(&self, name: &[u8]) -> Option<&Function> {
        let lib = *self.by_function.get(&name.to_ascii_lowercase())?;
        self.libraries
            .get(lib)?
            .functions
            .iter()
            .find(|f| f.name.eq_ignore_ascii_case(name))
    }

    /// FUNCTION LOAD [REPLACE] code: returns the library name. `timeout` is
    /// [`LOAD_TIMEOUT`] for clients, `None` for our primary / AOF. Log lines the library code
    /// wrote with `server.log` are passed to `log`.
    pub fn load(
        &mut self,
        code: &[u8],
        replace: bool,
        timeout: Option<Duration>,
        log: &mut dyn FnMut(LogLevel, &[u8]),
    ) -> Result<Bytes, Reply> {
        let lib = self.compile(code, timeout, log)?;
        let name = lib.name.clone();
        let old = self.libraries.iter().position(|l| l.name == lib.name);
        if old.is_some() && !replace {
            self.free(lib);
            return Err(Reply::error(format!(
                "ERR Library '{}' already exists",
                String::from_utf8_lossy(&name)
            )));
        }
        let collision = lib.functions.iter().find(|f| {
            self.by_function
                .get(&f.name.to_ascii_lowercase())
                .is_some_and(|&i| Some(i) != old)
        });
        if let Some(f) = collision {
            let msg = format!(
                "ERR Function {} already exists",
                String::from_utf8_lossy(&f.name)
            );
            self.free(lib);
            return Err(Reply::error(msg));
        }
        match old {
            Some(i) => {
                let previous = std::mem::replace(&mut self.libraries[i], lib);
                self.free(previous);
            }
            None => self.libraries.push(lib),
        }
        self.reindex();
        Ok(name)
    }

    /// Parses and runs a library's code, collecting its functions (not yet linked).
    fn compile(
        &mut self,
        code: &[u8],
        timeout: Option<Duration>,
        log: &mut dyn FnMut(LogLevel, &[u8]),
    ) -> Result<Library, Reply> {
        let md = parse_metadata(code).map_err(Reply::error)?;
        if !valid_name(&md.name) {
            return Err(Reply::error(format!("ERR {}", errors::BAD_NAME)));
        }
        if !md.engine.eq_ignore_ascii_case(ENGINE.as_bytes()) {
            return Err(Reply::error(format!(
                "ERR Engine '{}' not found",
                String::from_utf8_lossy(&md.engine)
            )));
        }
        let body = &code[md.code_offset..];
        let mut frame = LoadFrame {
            functions: Vec::new(),
            started: Instant::now(),
            timeout,
            logs: Vec::new(),
        };
        let result = self.run_library_code(body, &mut frame);
        for (level, msg) in frame.logs.drain(..) {
            log(level, &msg);
        }
        let functions = std::mem::take(&mut frame.functions);
        let fail = |me: &mut Self, functions: Vec<Function>, e: Reply| {
            for f in functions {
                me.unref(f.lua_ref);
            }
            Err(e)
        };
        if let Err(e) = result {
            return fail(self, functions, e);
        }
        if functions.is_empty() {
            return fail(self, functions, Reply::error(errors::LIB_NO_FUNCTIONS));
        }
        Ok(Library {
            name: Bytes::from(md.name),
            code: Bytes::copy_from_slice(code),
            functions,
        })
    }

    /// `luaEngineCreate`: compile with the library API as globals, run under the load hook.
    fn run_library_code(&mut self, body: &[u8], frame: &mut LoadFrame) -> Result<(), Reply> {
        let l = self.state.raw();
        // SAFETY: operations on our state; the load frame outlives the protected call.
        unsafe {
            lua_checkstack(l, 4);
            swap_globals_index(l, cstr!("__LIBRARY_API__"));
            let r = if luaL_loadbuffer(
                l,
                body.as_ptr() as *const c_char,
                body.len(),
                cstr!("@user_function"),
            ) != 0
            {
                let msg = to_bytes(l, -1)
                    .map(crate::convert::cstr_part)
                    .unwrap_or_default();
                let e = format!(
                    "{}{}",
                    errors::COMPILE_FUNCTION,
                    String::from_utf8_lossy(msg)
                );
                lua_pop(l, 1);
                Err(Reply::error(e))
            } else {
                self.state
                    .shared()
                    .load
                    .set(frame as *mut LoadFrame as *mut std::ffi::c_void);
                lua_sethook(l, Some(load_hook), LUA_MASKCOUNT, 100_000);
                let r = if lua_pcall(l, 0, 0, 0) != 0 {
                    let info = error_info(l, -1);
                    lua_pop(l, 1);
                    let msg = info.msg.unwrap_or_default();
                    Err(Reply::error(format!(
                        "{}{}",
                        errors::REGISTERING_FUNCTIONS,
                        String::from_utf8_lossy(&msg)
                    )))
                } else {
                    Ok(())
                };
                lua_sethook(l, None, 0, 0);
                self.state.shared().load.set(std::ptr::null_mut());
                r
            };
            swap_globals_index(l, cstr!("__GLOBALS_API__"));
            r
        }
    }

    fn unref(&self, r: c_int) {
        // SAFETY: releases our registry reference.
        unsafe { luaL_unref(self.state.raw(), LUA_REGISTRYINDEX, r) }
    }

    fn free(&self, lib: Library) {
        for f in lib.functions {
            self.unref(f.lua_ref);
        }
    }

    fn reindex(&mut self) {
        self.by_function.clear();
        for (i, lib) in self.libraries.iter().enumerate() {
            for f in &lib.functions {
                self.by_function
                    .entry(f.name.to_ascii_lowercase())
                    .or_insert(i);
            }
        }
    }

    /// FUNCTION DELETE.
    pub fn delete(&mut self, library: &[u8]) -> Result<(), Reply> {
        let Some(i) = self.libraries.iter().position(|l| l.name == library) else {
            return Err(Reply::error(errors::LIBRARY_NOT_FOUND));
        };
        let lib = self.libraries.remove(i);
        self.free(lib);
        self.reindex();
        Ok(())
    }

    /// FUNCTION FLUSH (sync and async alike).
    pub fn flush(&mut self) {
        for lib in std::mem::take(&mut self.libraries) {
            self.free(lib);
        }
        self.by_function.clear();
    }

    /// FUNCTION LIST [LIBRARYNAME pattern] [WITHCODE], arguments after LIST.
    pub fn list(&self, args: &[Bytes]) -> Reply {
        let mut with_code = false;
        let mut pattern: Option<&[u8]> = None;
        let mut i = 0;
        while i < args.len() {
            let a = &args[i];
            if !with_code && a.eq_ignore_ascii_case(b"withcode") {
                with_code = true;
            } else if pattern.is_none() && a.eq_ignore_ascii_case(b"libraryname") {
                if i + 1 >= args.len() {
                    return Reply::error(errors::LIST_NO_LIBRARY_NAME);
                }
                i += 1;
                pattern = Some(&args[i]);
            } else {
                return Reply::error(format!(
                    "{}{}",
                    errors::LIST_UNKNOWN_ARG,
                    String::from_utf8_lossy(crate::convert::cstr_part(a))
                ));
            }
            i += 1;
        }
        let libs = self
            .libraries
            .iter()
            .filter(|l| pattern.map_or(true, |p| types::glob::glob_match(p, &l.name, true)));
        Reply::Array(libs.map(|l| library_entry(l, with_code)).collect())
    }

    /// FCALL / FCALL_RO.
    pub fn fcall(
        &mut self,
        host: &mut dyn Host,
        req: FcallRequest,
        caller: Caller,
        server: &ServerState,
        opts: RunOptions,
    ) -> RunOutcome {
        let Some(f) = self.function(req.function) else {
            return RunOutcome::reply(Reply::error(errors::FUNCTION_NOT_FOUND));
        };
        let (name, flags, lua_ref) = (f.name.clone(), f.flags, f.lua_ref);
        let (keys, args) = match split_keys(req.numkeys, req.rest, errors::FCALL_BAD_NUMKEYS) {
            Ok(s) => s,
            Err(e) => return RunOutcome::reply(e),
        };
        let mut ctx = match prepare_run(RunKind::Function, name, flags, req.ro, caller, server) {
            Ok(c) => c,
            Err(e) => return RunOutcome::reply(e),
        };
        let l = self.state.raw();
        // SAFETY: pushes the error handler and the function from our registry.
        unsafe {
            lua_checkstack(l, 4);
            lua_getfield(l, LUA_REGISTRYINDEX, cstr!("__ERROR_HANDLER__"));
            lua_rawgeti(l, LUA_REGISTRYINDEX, lua_ref);
        }
        call_function(
            &self.state,
            host,
            &mut ctx,
            keys,
            args,
            false,
            opts,
            caller.resp,
        )
    }

    /// FUNCTION DUMP's payload.
    pub fn dump(&self) -> Vec<u8> {
        crate::dump::encode(self.libraries.iter().map(|l| &l.code[..]))
    }

    /// FUNCTION RESTORE payload [policy].
    pub fn restore(&mut self, payload: &[u8], policy: RestorePolicy) -> Result<(), Reply> {
        let codes = crate::dump::decode(payload)?;
        let rand = shared_rand(&self.state);
        let mut staged = Functions {
            state: std::mem::replace(&mut self.state, State::new(rand.clone())),
            libraries: Vec::new(),
            by_function: HashMap::new(),
        };
        // Compile into the same Lua state (functions hold references into it).
        let mut sink = |_: LogLevel, _: &[u8]| {};
        let mut result = Ok(());
        for code in &codes {
            if let Err(e) = staged.load(code, false, None, &mut sink) {
                result = Err(e);
                break;
            }
        }
        self.state = std::mem::replace(&mut staged.state, State::new(rand));
        let new_libs = std::mem::take(&mut staged.libraries);
        if let Err(e) = result {
            for lib in new_libs {
                self.free(lib);
            }
            return Err(e);
        }
        if policy == RestorePolicy::Flush {
            self.flush();
            self.libraries = new_libs;
            self.reindex();
            return Ok(());
        }
        let replace = policy == RestorePolicy::Replace;
        // Libraries first, then functions, as libraryJoin checks them.
        for lib in &new_libs {
            if !replace && self.libraries.iter().any(|l| l.name == lib.name) {
                let msg = format!(
                    "ERR Library {} already exists",
                    String::from_utf8_lossy(&lib.name)
                );
                for lib in new_libs {
                    self.free(lib);
                }
                return Err(Reply::error(msg));
            }
        }
        let replaced: Vec<usize> = self
            .libraries
            .iter()
            .enumerate()
            .filter(|(_, l)| new_libs.iter().any(|n| n.name == l.name))
            .map(|(i, _)| i)
            .collect();
        for lib in &new_libs {
            for f in &lib.functions {
                if let Some(&i) = self.by_function.get(&f.name.to_ascii_lowercase()) {
                    if !replaced.contains(&i) {
                        let msg = format!(
                            "ERR Function {} already exists",
                            String::from_utf8_lossy(&f.name)
                        );
                        for lib in new_libs {
                            self.free(lib);
                        }
                        return Err(Reply::error(msg));
                    }
                }
            }
        }
        for i in replaced.into_iter().rev() {
            let old = self.libraries.remove(i);
            self.free(old);
        }
        self.libraries.extend(new_libs);
        self.reindex();
        Ok(())
    }

    /// Loads a library from an RDB file's FUNCTION2 record (`rdbFunctionLoad`); `replace` when
    /// the load allows duplicates.
    pub fn load_from_rdb(&mut self, code: &[u8], replace: bool) -> Result<Bytes, Reply> {
        self.load(code, replace, None, &mut |_, _| {})
    }

    /// The codes to save as FUNCTION2 records, in order.
    pub fn codes(&self) -> impl Iterator<Item = &Bytes> {
        self.libraries.iter().map(|l| &l.code)
    }

    /// INFO `used_memory_vm_functions`.
    pub fn lua_memory(&self) -> usize {
        self.state.memory()
    }

    /// INFO's functions part of `used_memory_scripts` (`used_memory_functions`): an estimate
    /// of Valkey's accounting, calibrated on a running Valkey 8.0.1 (184 bytes for the empty
    /// registry; per library ~112 bytes plus its name and code; per function ~45 bytes plus
    /// its name and description).
    pub fn memory_overhead(&self) -> usize {
        184 + self
            .libraries
            .iter()
            .map(|l| {
                112 + l.name.len()
                    + l.code.len()
                    + l.functions
                        .iter()
                        .map(|f| 45 + f.name.len() + f.description.as_ref().map_or(0, |d| d.len()))
                        .sum::<usize>()
            })
            .sum::<usize>()
    }
}

fn shared_rand(state: &State) -> SharedRand {
    state.shared().rand.clone()
}

fn bulk(s: &str) -> Reply {
    Reply::Bulk(Bytes::copy_from_slice(s.as_bytes()))
}

/// One element of FUNCTION LIST.
fn library_entry(l: &Library, with_code: bool) -> Reply {
    let functions = l
        .functions
        .iter()
        .map(|f| {
            Reply::Map(vec![
                (bulk("name"), Reply::Bulk(f.name.clone())),
                (
                    bulk("description"),
                    f.description.clone().map_or(Reply::Nil, Reply::Bulk),
                ),
                (
                    bulk("flags"),
                    Reply::Set(f.flags.names().into_iter().map(Reply::status).collect()),
                ),
            ])
        })
        .collect();
    let mut m = vec![
        (bulk("library_name"), Reply::Bulk(l.name.clone())),
        (bulk("engine"), bulk(ENGINE)),
        (bulk("functions"), Reply::Array(functions)),
    ];
    if with_code {
        m.push((bulk("library_code"), Reply::Bulk(l.code.clone())));
    }
    Reply::Map(m)
}

/// Points the `__index` of the globals' metatable at the registry table `which`.
unsafe fn swap_globals_index(l: *mut lua_State, which: *const c_char) {
    lua_getmetatable(l, LUA_GLOBALSINDEX);
    lua_enablereadonlytable(l, -1, 0);
    lua_getfield(l, LUA_REGISTRYINDEX, which);
    lua_setfield(l, -2, cstr!("__index"));
    // As Valkey does: the protection is re-enabled on the globals, not on the metatable.
    lua_enablereadonlytable(l, LUA_GLOBALSINDEX, 1);
    lua_pop(l, 1);
}

unsafe extern "C-unwind" fn load_hook(l: *mut lua_State, _ar: *mut lua_Debug) {
    let Some(frame) = load_frame(l) else {
        return;
    };
    let expired = frame.timeout.is_some_and(|t| frame.started.elapsed() > t);
    if expired {
        lua_sethook(l, Some(load_hook), LUA_MASKLINE, 0);
        push_error_table(l, errors::FUNCTION_LOAD_TIMEOUT.as_bytes());
        lua_error(l);
    }
}

// ---------------------------------------------------------------------------------------------
// server.register_function

fn fail_msg(l: *mut lua_State, msg: &str) -> Fail {
    // SAFETY: pushes the error table on our stack.
    unsafe { push_error_table(l, msg.as_bytes()) };
    Fail::Top
}

unsafe fn string_arg(l: *mut lua_State, idx: c_int) -> Option<Bytes> {
    if lua_isstring(l, idx) == 0 {
        return None;
    }
    to_bytes(l, idx).map(Bytes::copy_from_slice)
}

unsafe fn read_flags(l: *mut lua_State) -> Result<ScriptFlags, ()> {
    let mut flags = ScriptFlags::default();
    let mut j = 1;
    loop {
        lua_pushnumber(l, j as f64);
        j += 1;
        if crate::lua::protected_gettable(l, -2).is_err() {
            lua_pop(l, 1);
            return Err(());
        }
        if lua_type(l, -1) == LUA_TNIL {
            lua_pop(l, 1);
            return Ok(flags);
        }
        if lua_isstring(l, -1) == 0 {
            lua_pop(l, 1);
            return Err(());
        }
        let name = to_bytes(l, -1)
            .map(crate::convert::cstr_part)
            .unwrap_or_default()
            .to_ascii_lowercase();
        lua_pop(l, 1);
        if !flags.set(&name) {
            return Err(());
        }
    }
}

/// The named form: `server.register_function{function_name=..., callback=..., flags=...,
/// description=...}`.
unsafe fn read_named_args(l: *mut lua_State) -> Result<Function, Fail> {
    if !lua_istable(l, 1) {
        return Err(fail_msg(l, errors::REGISTER_NAMED_NOT_TABLE));
    }
    let mut name = None;
    let mut description = None;
    let mut callback: Option<c_int> = None;
    let mut flags = ScriptFlags::default();
    let release = |cb: Option<c_int>| {
        if let Some(r) = cb {
            luaL_unref(l, LUA_REGISTRYINDEX, r);
        }
    };
    lua_pushnil(l);
    while lua_next(l, -2) != 0 {
        if lua_isstring(l, -2) == 0 {
            release(callback);
            return Err(fail_msg(l, errors::REGISTER_KEY_NOT_STRING));
        }
        let key = to_bytes(l, -2)
            .map(crate::convert::cstr_part)
            .unwrap_or_default()
            .to_ascii_lowercase();
        match &key[..] {
            b"function_name" => match string_arg(l, -1) {
                Some(s) => name = Some(s),
                None => {
                    release(callback);
                    return Err(fail_msg(l, errors::REGISTER_NAME_NOT_STRING));
                }
            },
            b"description" => match string_arg(l, -1) {
                Some(s) => description = Some(s),
                None => {
                    release(callback);
                    return Err(fail_msg(l, errors::REGISTER_DESC_NOT_STRING));
                }
            },
            b"callback" => {
                if !lua_isfunction(l, -1) {
                    release(callback);
                    return Err(fail_msg(l, errors::REGISTER_CALLBACK_NOT_FUNCTION));
                }
                release(callback);
                callback = Some(luaL_ref(l, LUA_REGISTRYINDEX));
                continue;
            }
            b"flags" => {
                if !lua_istable(l, -1) {
                    release(callback);
                    return Err(fail_msg(l, errors::REGISTER_FLAGS_NOT_TABLE));
                }
                match read_flags(l) {
                    Ok(f) => flags = f,
                    Err(()) => {
                        release(callback);
                        return Err(fail_msg(l, errors::REGISTER_UNKNOWN_FLAG));
                    }
                }
            }
            _ => {
                release(callback);
                return Err(fail_msg(l, errors::REGISTER_UNKNOWN_ARG));
            }
        }
        lua_pop(l, 1);
    }
    let Some(name) = name else {
        release(callback);
        return Err(fail_msg(l, errors::REGISTER_NO_NAME));
    };
    let Some(lua_ref) = callback else {
        return Err(fail_msg(l, errors::REGISTER_NO_CALLBACK));
    };
    Ok(Function {
        name,
        description,
        flags,
        lua_ref,
    })
}

unsafe fn read_positional_args(l: *mut lua_State) -> Result<Function, Fail> {
    let Some(name) = string_arg(l, 1) else {
        return Err(fail_msg(l, errors::REGISTER_FIRST_NOT_STRING));
    };
    if !lua_isfunction(l, 2) {
        return Err(fail_msg(l, errors::REGISTER_SECOND_NOT_FUNCTION));
    }
    Ok(Function {
        name,
        description: None,
        flags: ScriptFlags::default(),
        lua_ref: luaL_ref(l, LUA_REGISTRYINDEX),
    })
}

unsafe extern "C-unwind" fn register_function(l: *mut lua_State) -> c_int {
    let r = guard(|| {
        let Some(frame) = load_frame(l) else {
            return Err(fail_msg(l, errors::REGISTER_ONLY_ON_LOAD));
        };
        let f = match lua_gettop(l) {
            1 => read_named_args(l)?,
            2 => read_positional_args(l)?,
            _ => return Err(fail_msg(l, errors::REGISTER_ARGS)),
        };
        let problem = if !valid_name(&f.name) {
            Some(errors::BAD_NAME)
        } else if frame.functions.iter().any(|g| g.name == f.name) {
            Some(errors::FUNCTION_EXISTS_IN_LIBRARY)
        } else {
            None
        };
        if let Some(msg) = problem {
            luaL_unref(l, LUA_REGISTRYINDEX, f.lua_ref);
            return Err(fail_msg(l, msg));
        }
        frame.functions.push(f);
        Ok(0)
    });
    finish(l, r)
}

/// A sandboxed state for functions (`luaEngineInitEngine`).
fn new_state(rand: SharedRand, versions: &Versions) -> State {
    let state = State::new(rand);
    let l = state.raw();
    // SAFETY: setup of a fresh state; our own code cannot raise.
    unsafe {
        api::register_server_api(l, versions);

        // The globals seen while a library loads: only `server`/`redis` with
        // register_function, log and the versions.
        lua_newtable(l);
        lua_newtable(l);
        lua_pushcfunction(l, register_function);
        lua_setfield(l, -2, cstr!("register_function"));
        api::register_log(l);
        api::register_versions(l, versions);
        api::set_error_metatable(l);
        lua_setfield(l, -2, cstr!("server"));
        lua_getfield(l, -1, cstr!("server"));
        lua_setfield(l, -2, cstr!("redis"));
        api::set_error_metatable(l);
        api::protect_recursively(l);
        lua_setfield(l, LUA_REGISTRYINDEX, cstr!("__LIBRARY_API__"));

        let handler = api::ERROR_HANDLER.replace("__ERRH__", "return");
        api::run_setup_chunk(l, &handler, 1);
        lua_setfield(l, LUA_REGISTRYINDEX, cstr!("__ERROR_HANDLER__"));

        lua_pushvalue(l, LUA_GLOBALSINDEX);
        api::set_error_metatable(l);
        api::protect_recursively(l);
        lua_pop(l, 1);

        lua_pushvalue(l, LUA_GLOBALSINDEX);
        lua_setfield(l, LUA_REGISTRYINDEX, cstr!("__GLOBALS_API__"));

        // Scripts run with an empty, read-only globals table that reads through to the real
        // globals.
        lua_newtable(l);
        lua_newtable(l);
        lua_pushvalue(l, LUA_GLOBALSINDEX);
        lua_setfield(l, -2, cstr!("__index"));
        lua_enablereadonlytable(l, -1, 1);
        lua_setmetatable(l, -2);
        lua_enablereadonlytable(l, -1, 1);
        lua_replace(l, LUA_GLOBALSINDEX);
    }
    state
}

/// FUNCTION LOAD's arguments after LOAD: `[REPLACE] code` → (replace, code).
pub fn parse_load_args(args: &[Bytes]) -> Result<(bool, &Bytes), Reply> {
    let mut replace = false;
    let mut i = 0;
    while i + 1 < args.len() {
        if args[i].eq_ignore_ascii_case(b"replace") {
            replace = true;
            i += 1;
            continue;
        }
        return Err(Reply::error(format!(
            "{}{}",
            errors::FUNCTION_LOAD_UNKNOWN_OPTION,
            String::from_utf8_lossy(crate::convert::cstr_part(&args[i]))
        )));
    }
    match args.get(i) {
        Some(code) => Ok((replace, code)),
        None => Err(Reply::error(errors::FUNCTION_LOAD_NO_CODE)),
    }
}

/// FUNCTION RESTORE's optional policy argument (default APPEND).
pub fn parse_restore_policy(arg: Option<&[u8]>) -> Result<RestorePolicy, Reply> {
    match arg {
        None => Ok(RestorePolicy::Append),
        Some(a) if a.eq_ignore_ascii_case(b"append") => Ok(RestorePolicy::Append),
        Some(a) if a.eq_ignore_ascii_case(b"replace") => Ok(RestorePolicy::Replace),
        Some(a) if a.eq_ignore_ascii_case(b"flush") => Ok(RestorePolicy::Flush),
        Some(_) => Err(Reply::error(errors::RESTORE_BAD_POLICY)),
    }
}
