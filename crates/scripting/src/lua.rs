//! An owned Lua state and the rules Rust code follows when Lua can raise errors.
//!
//! Lua reports errors with `longjmp`. Rust frames that a `longjmp` crosses must own nothing
//! with a destructor, so every library function written in Rust has three phases:
//!
//! 1. **checks** through the real `luaL_check*` functions (they raise with Lua's own texts),
//!    before the function owns anything;
//! 2. **work** with only non-raising API calls (raw table access, pushes); anything that can
//!    run Lua code (a metamethod) goes through a protected call;
//! 3. **result**: [`finish`] either returns the number of results or pushes the error value,
//!    drops everything, and raises.
//!
//! Memory errors cannot occur in phase 2: the allocator never refuses (a failed allocation is a
//! process abort elsewhere in the server too).

use std::ffi::{c_char, c_int, c_void, CStr};
use std::ptr;

use crate::ffi::*;

/// A NUL-terminated C string literal.
macro_rules! cstr {
    ($s:literal) => {
        concat!($s, "\0").as_ptr() as *const std::ffi::c_char
    };
}
pub(crate) use cstr;

/// Per-state data reachable from any C callback through the allocator's user pointer.
pub(crate) struct Shared {
    /// The current run (a `*mut RunFrame`), null when no script runs.
    pub run: std::cell::Cell<*mut c_void>,
    /// The current FUNCTION LOAD (a `*mut LoadFrame`), null otherwise.
    pub load: std::cell::Cell<*mut c_void>,
    /// Redis's `rand48` state, shared by every state of one engine set.
    pub rand: crate::libs::rand::SharedRand,
    /// Runs since the last incremental GC step (Redis steps every 50 runs).
    pub gc_count: std::cell::Cell<u32>,
}

/// An owned `lua_State`.
pub(crate) struct State {
    l: *mut lua_State,
    shared: Box<Shared>,
}

unsafe extern "C" fn alloc(
    _ud: *mut c_void,
    p: *mut c_void,
    _osize: usize,
    nsize: usize,
) -> *mut c_void {
    if nsize == 0 {
        libc::free(p);
        ptr::null_mut()
    } else {
        libc::realloc(p, nsize)
    }
}

unsafe extern "C-unwind" fn panic(_l: *mut lua_State) -> c_int {
    // An unprotected error: only reachable through a bug in the engine (every entry point
    // runs Lua under lua_pcall).
    std::process::abort()
}

impl State {
    pub fn new(rand: crate::libs::rand::SharedRand) -> State {
        let shared = Box::new(Shared {
            run: std::cell::Cell::new(ptr::null_mut()),
            load: std::cell::Cell::new(ptr::null_mut()),
            rand,
            gc_count: std::cell::Cell::new(0),
        });
        let ud = &*shared as *const Shared as *mut c_void;
        // SAFETY: plain state creation; `shared` outlives the state (dropped after close).
        let l = unsafe { lua_newstate(alloc, ud) };
        if l.is_null() {
            std::process::abort();
        }
        unsafe { lua_atpanic(l, panic) };
        State { l, shared }
    }

    pub fn raw(&self) -> *mut lua_State {
        self.l
    }

    pub fn shared(&self) -> &Shared {
        &self.shared
    }

    /// Bytes Lua has allocated, rounded down to KiB as Redis reports it
    /// (`lua_gc(LUA_GCCOUNT) * 1024`).
    pub fn memory(&self) -> usize {
        // SAFETY: GCCOUNT never raises.
        unsafe { lua_gc(self.l, LUA_GCCOUNT, 0) as usize * 1024 }
    }
}

impl Drop for State {
    fn drop(&mut self) {
        // SAFETY: the state is ours; `lua_close` runs pending __gc protected.
        unsafe { lua_close(self.l) }
    }
}

/// The per-state data of the state `l` belongs to.
///
/// # Safety
/// `l` must be a state created by [`State::new`] that is still open.
pub(crate) unsafe fn shared<'a>(l: *mut lua_State) -> &'a Shared {
    let mut ud: *mut c_void = ptr::null_mut();
    lua_getallocf(l, &mut ud);
    &*(ud as *const Shared)
}

/// Pushes a byte string.
#[inline]
pub(crate) unsafe fn push_bytes(l: *mut lua_State, b: &[u8]) {
    lua_pushlstring(l, b.as_ptr() as *const c_char, b.len());
}

/// The bytes of the string (or number, converted in place) at `idx`.
///
/// The slice lives as long as the value stays on the stack; callers copy it before popping.
#[inline]
pub(crate) unsafe fn to_bytes<'a>(l: *mut lua_State, idx: c_int) -> Option<&'a [u8]> {
    let mut len = 0usize;
    let p = lua_tolstring(l, idx, &mut len);
    if p.is_null() {
        None
    } else {
        Some(std::slice::from_raw_parts(p as *const u8, len))
    }
}

/// Why a library function fails; turned into a Lua error by [`finish`].
pub(crate) enum Fail {
    /// `luaL_error` semantics: the caller's position (`user_script:1: `) then the message.
    Error(Vec<u8>),
    /// `luaL_argerror(narg, msg)`.
    Arg(c_int, Vec<u8>),
    /// A message raised as is, without position (what the VM raises from inside a C function,
    /// e.g. "table index is nil").
    Plain(Vec<u8>),
    /// The error value is already on top of the stack (e.g. an error table).
    Top,
}

/// Ends a library function: returns `Ok`'s result count, or raises `Err`'s error.
///
/// # Safety
/// Must be the last thing a `lua_CFunction` does, from a frame owning nothing with a destructor
/// (the failure is consumed and dropped before the `longjmp`).
pub(crate) unsafe fn finish(l: *mut lua_State, r: Result<c_int, Fail>) -> c_int {
    match r {
        Ok(n) => n,
        Err(Fail::Error(msg)) => {
            lua_checkstack(l, 2);
            luaL_where(l, 1);
            push_bytes(l, &msg);
            drop(msg);
            lua_concat(l, 2);
            lua_error(l)
        }
        Err(Fail::Arg(narg, msg)) => {
            lua_checkstack(l, 1);
            push_bytes(l, &msg);
            drop(msg);
            let p = lua_tolstring(l, -1, ptr::null_mut());
            luaL_argerror(l, narg, p)
        }
        Err(Fail::Plain(msg)) => {
            lua_checkstack(l, 1);
            push_bytes(l, &msg);
            drop(msg);
            lua_error(l)
        }
        Err(Fail::Top) => lua_error(l),
    }
}

/// Runs `f` catching panics (a panic must never unwind into C).
pub(crate) fn guard<F: FnOnce() -> Result<c_int, Fail>>(f: F) -> Result<c_int, Fail> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(_) => Err(Fail::Error(
            b"internal error in a scripting library".to_vec(),
        )),
    }
}

/// The C string at `p` as bytes (empty for null).
pub(crate) unsafe fn cstr_bytes<'a>(p: *const c_char) -> &'a [u8] {
    if p.is_null() {
        b""
    } else {
        CStr::from_ptr(p).to_bytes()
    }
}

/// `t[k]` with metamethods, for the table at `t_idx` and the key on top of the stack; the key
/// is replaced by the value. Errors raised by a metamethod come back as `Err` with the error
/// value on top of the stack (never as a `longjmp` through the caller).
pub(crate) unsafe fn protected_gettable(l: *mut lua_State, t_idx: c_int) -> Result<(), ()> {
    let t = abs_index(l, t_idx);
    if lua_getmetatable(l, t) == 0 {
        lua_rawget(l, t);
        return Ok(());
    }
    lua_pop(l, 1);
    unsafe extern "C-unwind" fn get(l: *mut lua_State) -> c_int {
        lua_gettable(l, 1);
        1
    }
    lua_checkstack(l, 3);
    lua_pushcfunction(l, get);
    lua_pushvalue(l, t);
    lua_pushvalue(l, -3);
    if lua_pcall(l, 2, 1, 0) != 0 {
        lua_remove(l, -2);
        return Err(());
    }
    lua_remove(l, -2);
    Ok(())
}

/// An absolute stack index for `idx` (pseudo-indices unchanged).
#[inline]
pub(crate) unsafe fn abs_index(l: *mut lua_State, idx: c_int) -> c_int {
    if idx > 0 || idx <= LUA_REGISTRYINDEX {
        idx
    } else {
        lua_gettop(l) + idx + 1
    }
}

/// `luaL_typename`: the type name of the value at `idx` ("no value" when absent).
pub(crate) unsafe fn type_name<'a>(l: *mut lua_State, idx: c_int) -> &'a [u8] {
    cstr_bytes(lua_typename(l, lua_type(l, idx)))
}

/// The failure `luaL_typerror(narg, tname)` raises.
pub(crate) unsafe fn type_fail(l: *mut lua_State, narg: c_int, tname: &str) -> Fail {
    let mut m = format!("{tname} expected, got ").into_bytes();
    m.extend_from_slice(type_name(l, narg));
    Fail::Arg(narg, m)
}

/// `luaL_checknumber` without raising.
pub(crate) unsafe fn check_number(l: *mut lua_State, narg: c_int) -> Result<f64, Fail> {
    let d = lua_tonumber(l, narg);
    if d == 0.0 && lua_isnumber(l, narg) == 0 {
        return Err(type_fail(l, narg, "number"));
    }
    Ok(d)
}

/// `luaL_checklstring` without raising (numbers are converted in place, as Lua does).
pub(crate) unsafe fn check_bytes<'a>(l: *mut lua_State, narg: c_int) -> Result<&'a [u8], Fail> {
    match to_bytes(l, narg) {
        Some(b) => Ok(b),
        None => Err(type_fail(l, narg, "string")),
    }
}

/// C's `(long)d` on x86-64 (`cvttsd2si`): out of range and NaN give `i64::MIN`.
pub(crate) fn c_double_to_i64(d: f64) -> i64 {
    if (-9223372036854775808.0..9223372036854775808.0).contains(&d) {
        d as i64
    } else {
        i64::MIN
    }
}

/// C's `(unsigned long)d` as gcc compiles it for x86-64.
pub(crate) fn c_double_to_u64(d: f64) -> u64 {
    // NaN takes this branch, as the comparison gcc emits does.
    if d.is_nan() || d < 9223372036854775808.0 {
        c_double_to_i64(d) as u64
    } else {
        (c_double_to_i64(d - 9223372036854775808.0) as u64) ^ (1u64 << 63)
    }
}
