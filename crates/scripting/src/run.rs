//! Running one script function (Valkey's `luaCallFunction`): KEYS/ARGV, the interrupt hook,
//! the protected call with the error handler, and the reply or error it produces.

use std::ffi::c_int;

use bytes::Bytes;
use resp::{Reply, RespVersion};

use crate::api::{run_frame, RunFrame};
use crate::convert::{error_info, lua_to_reply, push_error_table, Converted};
use crate::errors;
use crate::ffi::*;
use crate::host::{Host, Interrupt, LogLevel, RunCtx};
use crate::lua::{cstr, push_bytes, State};

/// Options of one run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunOptions {
    /// Call [`Host::interrupt`] every 100,000 instructions (Valkey does when
    /// `busy-reply-threshold` > 0).
    pub interrupt_checks: bool,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            interrupt_checks: true,
        }
    }
}

/// The result of EVAL/EVALSHA/FCALL: the reply, and whether it is an error already counted in
/// the error stats (it came from a failed `server.call`), which the server must not count again.
#[derive(Clone, Debug, PartialEq)]
pub struct RunOutcome {
    pub reply: Reply,
    pub error_counted: bool,
    /// The error is one the script returned as a table ([`crate::convert::Converted`]): past
    /// the error-stats limit the server counts it as `ERRORSTATS_OVERFLOW`.
    pub custom_error: bool,
}

impl RunOutcome {
    pub(crate) fn reply(reply: Reply) -> RunOutcome {
        RunOutcome {
            reply,
            error_counted: false,
            custom_error: false,
        }
    }
}

unsafe extern "C-unwind" fn count_hook(l: *mut lua_State, _ar: *mut lua_Debug) {
    let Some(frame) = run_frame(l) else {
        return;
    };
    if frame.host.interrupt(frame.ctx) == Interrupt::Kill {
        frame.host.log(
            LogLevel::Notice,
            b"Lua script killed by user with SCRIPT KILL.",
        );
        // Every line from now on raises again, so pcall cannot swallow the kill.
        lua_sethook(l, Some(count_hook), LUA_MASKLINE, 0);
        push_error_table(l, errors::LUA_KILLED.as_bytes());
        lua_error(l);
    }
}

unsafe fn push_array(l: *mut lua_State, items: &[Bytes]) {
    lua_createtable(l, items.len().min(i32::MAX as usize) as c_int, 0);
    for (i, item) in items.iter().enumerate() {
        push_bytes(l, item);
        lua_rawseti(l, -2, (i + 1) as c_int);
    }
}

/// Runs the function on top of the stack (the error handler just below it) and pops both.
/// EVAL scripts get `KEYS`/`ARGV` as globals, functions as their two arguments.
#[allow(clippy::too_many_arguments)]
pub(crate) fn call_function(
    state: &State,
    host: &mut dyn Host,
    ctx: &mut RunCtx,
    keys: &[Bytes],
    args: &[Bytes],
    eval_mode: bool,
    opts: RunOptions,
    caller: RespVersion,
) -> RunOutcome {
    let l = state.raw();
    let mut frame = RunFrame {
        host,
        ctx,
        in_call: false,
    };
    // SAFETY: the frame outlives the protected call; the pointer is cleared before returning.
    unsafe {
        state
            .shared()
            .run
            .set(&mut frame as *mut RunFrame as *mut std::ffi::c_void);
        if opts.interrupt_checks {
            lua_sethook(l, Some(count_hook), LUA_MASKCOUNT, 100_000);
        }
        lua_checkstack(l, 4);
        push_array(l, keys);
        if eval_mode {
            lua_enablereadonlytable(l, LUA_GLOBALSINDEX, 0);
            lua_setglobal(l, cstr!("KEYS"));
            lua_enablereadonlytable(l, LUA_GLOBALSINDEX, 1);
        }
        push_array(l, args);
        if eval_mode {
            lua_enablereadonlytable(l, LUA_GLOBALSINDEX, 0);
            lua_setglobal(l, cstr!("ARGV"));
            lua_enablereadonlytable(l, LUA_GLOBALSINDEX, 1);
        }
        let err = if eval_mode {
            lua_pcall(l, 0, 1, -2)
        } else {
            lua_pcall(l, 2, 1, -4)
        };
        let shared = state.shared();
        let n = shared.gc_count.get() + 1;
        if n == 50 {
            lua_gc(l, LUA_GCSTEP, 50);
            shared.gc_count.set(0);
        } else {
            shared.gc_count.set(n);
        }
        let name = String::from_utf8_lossy(&frame.ctx.name).into_owned();
        let script_resp = frame.ctx.resp;
        let outcome = if err != 0 {
            let o = error_outcome(l, &name);
            lua_pop(l, 1);
            o
        } else {
            let Converted {
                reply,
                error_counted,
                custom_error,
            } = lua_to_reply(l, script_resp, caller);
            RunOutcome {
                reply,
                error_counted,
                custom_error,
            }
        };
        if opts.interrupt_checks {
            lua_sethook(l, None, 0, 0);
        }
        state.shared().run.set(std::ptr::null_mut());
        lua_pop(l, 1); // the error handler
        outcome
    }
}

/// The reply for the error value on top of the stack (left there).
unsafe fn error_outcome(l: *mut lua_State, name: &str) -> RunOutcome {
    if !lua_istable(l, -1) {
        let raw = crate::lua::to_bytes(l, -1).map(crate::convert::cstr_part);
        let msg = match raw {
            Some(b) => String::from_utf8_lossy(&b[..b.len().min(100)]).into_owned(),
            None => "execution failure".to_string(),
        };
        return RunOutcome::reply(Reply::error(format!(
            "ERR Error running script {name}, {msg}"
        )));
    }
    let info = error_info(l, -1);
    let Some(msg) = info.msg else {
        return RunOutcome::reply(Reply::error(format!(
            "ERR Error running script {name}, execution failure"
        )));
    };
    let mut text = String::from_utf8_lossy(&msg).into_owned();
    if let (Some(line), Some(source)) = (info.line, info.source) {
        text.push_str(&format!(
            " script: {name}, on {}:{}.",
            String::from_utf8_lossy(&source),
            String::from_utf8_lossy(&line)
        ));
    }
    RunOutcome {
        reply: Reply::error(text),
        error_counted: info.ignore_stats,
        custom_error: false,
    }
}
