//! Lua→reply conversion of arbitrary values: the input is decoded inside a script by
//! `cmsgpack.unpack` or `cjson.decode` (so the decoders are fuzzed too), and whatever comes out
//! (nested tables, `err`/`ok`/`map`/`set`/`double`/... fields, NaN, huge numbers) is returned
//! and converted to a reply for RESP2 and RESP3 scripts and clients.
#![no_main]

use std::sync::Mutex;

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use resp::RespVersion;
use scripting::{
    AclCheck, CallOutcome, Caller, EvalRequest, Host, Interrupt, LogLevel, RunCtx, RunOptions,
    Scripting, ServerState,
};

struct NullHost;

impl Host for NullHost {
    fn call(&mut self, _: &mut RunCtx, _: Vec<Bytes>) -> CallOutcome {
        CallOutcome::Rejected("Unknown command called from script".into())
    }
    fn acl_check_cmd(&mut self, _: &RunCtx, _: &[Bytes]) -> AclCheck {
        AclCheck::UnknownCommand
    }
    fn log(&mut self, _: LogLevel, _: &[u8]) {}
    fn interrupt(&mut self, _: &mut RunCtx) -> Interrupt {
        Interrupt::Kill
    }
}

const SCRIPT: &[u8] = b"local decode = ARGV[2] == 'j' and cjson.decode or cmsgpack.unpack\n\
if ARGV[3] == '3' then redis.setresp(3) end\n\
local r = {pcall(decode, ARGV[1])}\n\
if ARGV[4] == 'all' then return r end\n\
return r[2]";

thread_local! {
    static ENGINE: Mutex<Scripting> = Mutex::new(Scripting::default());
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, input)) = data.split_first() else {
        return;
    };
    let rest = [
        Bytes::copy_from_slice(input),
        Bytes::from_static(if mode & 1 == 0 { b"j" } else { b"m" }),
        Bytes::from_static(if mode & 2 == 0 { b"2" } else { b"3" }),
        Bytes::from_static(if mode & 4 == 0 { b"one" } else { b"all" }),
    ];
    let caller = Caller {
        resp: if mode & 8 == 0 {
            RespVersion::Resp2
        } else {
            RespVersion::Resp3
        },
        ..Caller::default()
    };
    ENGINE.with(|e| {
        let mut s = e.lock().unwrap_or_else(|p| p.into_inner());
        let req = EvalRequest {
            script: SCRIPT,
            evalsha: false,
            ro: false,
            numkeys: b"0",
            rest: &rest,
        };
        let out = s.eval.eval(
            &mut NullHost,
            req,
            caller,
            &ServerState::default(),
            RunOptions::default(),
        );
        let _ = out.reply.to_bytes(caller.resp);
    });
});
