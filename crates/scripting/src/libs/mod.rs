//! The libraries Redis adds to Lua, written in Rust: `cjson`, `cmsgpack`, `bit`, `struct`, and
//! the `math.random` replacement. Each behaves as the C version Valkey 8.0.1 bundles
//! (texts, number formats, limits, quirks); the module docs list what that means.

use std::ffi::{c_char, c_int};

use crate::ffi::*;

pub mod bit;
pub mod cjson;
pub mod cmsgpack;
pub mod rand;
pub mod structlib;

/// `luaL_register(L, name, funcs)`: the module table is left on the stack and set as a global.
pub(crate) unsafe fn register(
    l: *mut lua_State,
    name: *const c_char,
    funcs: &[(&[u8], lua_CFunction)],
) {
    let mut regs: Vec<luaL_Reg> = funcs
        .iter()
        .map(|(n, f)| luaL_Reg {
            name: n.as_ptr() as *const c_char,
            func: Some(*f),
        })
        .collect();
    regs.push(luaL_Reg {
        name: std::ptr::null(),
        func: None,
    });
    luaL_register(l, name, regs.as_ptr());
}

/// Loads a library the way Redis's `luaLoadLib` does: call its opener with the name.
pub(crate) unsafe fn load_lib(l: *mut lua_State, name: &[u8], open: lua_CFunction) {
    lua_pushcfunction(l, open);
    crate::lua::push_bytes(l, name);
    lua_call(l, 1, 0);
}

pub(crate) unsafe extern "C-unwind" fn open_cjson(l: *mut lua_State) -> c_int {
    cjson::new_module(l);
    lua_pushvalue(l, -1);
    lua_setglobal(l, crate::lua::cstr!("cjson"));
    1
}

pub(crate) unsafe extern "C-unwind" fn open_struct(l: *mut lua_State) -> c_int {
    register(l, crate::lua::cstr!("struct"), structlib::FUNCS);
    1
}

pub(crate) unsafe extern "C-unwind" fn open_cmsgpack(l: *mut lua_State) -> c_int {
    cmsgpack::open(l);
    lua_pushvalue(l, -1);
    lua_setglobal(l, crate::lua::cstr!("cmsgpack"));
    1
}

pub(crate) unsafe extern "C-unwind" fn open_bit(l: *mut lua_State) -> c_int {
    register(l, crate::lua::cstr!("bit"), bit::FUNCS);
    1
}
