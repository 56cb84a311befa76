//! Engine behaviour beyond single replies: kills through the interrupt hook, run contexts,
//! pre-run checks, the EVAL cache's eviction, FUNCTION LOAD's timeout, RDB records, hostile
//! scripts that must not crash the process.

mod common;

use bytes::Bytes;
use common::{eval, fcall, wire, TestHost};
use resp::{Reply, RespVersion::Resp2};
use scripting::{
    checks, errors, Caller, EvalRequest, RunKind, RunOptions, ScriptFlags, Scripting, ServerState,
};

#[test]
fn kill_stops_a_busy_script_even_through_pcall() {
    let mut s = Scripting::default();
    let mut h = TestHost {
        kill_at: Some(3),
        ..TestHost::default()
    };
    let out = eval(
        &mut s,
        &mut h,
        b"while true do pcall(function() while true do end end) end",
        &[],
        0,
        Resp2,
    );
    assert!(wire(&out.reply, Resp2)
        .starts_with("-ERR Script killed by user with SCRIPT KILL... script: "));
    assert!(h
        .logs
        .iter()
        .any(|(_, m)| m == b"Lua script killed by user with SCRIPT KILL."));
    // The state is usable afterwards.
    let mut h = TestHost::default();
    assert_eq!(
        eval(&mut s, &mut h, b"return 7", &[], 0, Resp2).reply,
        Reply::Int(7)
    );
    assert_eq!(h.interrupts, 0);
}

#[test]
fn kill_rules() {
    let caller = Caller::default();
    let server = ServerState::default();
    let mut ctx = checks::prepare_run(
        RunKind::Eval,
        Bytes::from_static(b"x"),
        ScriptFlags::default(),
        false,
        caller,
        &server,
    )
    .unwrap();
    assert_eq!(
        ctx.kill(false, "Valkey").unwrap_err(),
        Reply::error(errors::busy_eval("Valkey"))
    );
    ctx.write_dirty = true;
    assert_eq!(
        ctx.kill(true, "Valkey").unwrap_err(),
        Reply::error(errors::UNKILLABLE_WRITTEN)
    );
    ctx.write_dirty = false;
    assert!(ctx.kill(true, "Valkey").is_ok() && ctx.killed);
}

#[test]
fn prepare_checks_follow_flags() {
    let caller = Caller::default();
    let name = || Bytes::from_static(b"f");
    let ro = ServerState {
        readonly_replica: true,
        ..ServerState::default()
    };
    let writes = ScriptFlags::default();
    let no_writes = ScriptFlags {
        no_writes: true,
        ..ScriptFlags::default()
    };
    let compat = ScriptFlags {
        eval_compat: true,
        ..ScriptFlags::default()
    };
    assert_eq!(
        checks::prepare_run(RunKind::Function, name(), writes, false, caller, &ro).unwrap_err(),
        Reply::error(errors::READONLY_REPLICA_SCRIPT)
    );
    assert!(checks::prepare_run(RunKind::Function, name(), no_writes, false, caller, &ro).is_ok());
    assert!(checks::prepare_run(RunKind::Eval, name(), compat, false, caller, &ro).is_ok());
    assert_eq!(
        checks::prepare_run(
            RunKind::Function,
            name(),
            writes,
            true,
            caller,
            &ServerState::default()
        )
        .unwrap_err(),
        Reply::error(errors::WRITE_FLAG_RO_COMMAND)
    );
    let oom = ServerState {
        oom: true,
        ..ServerState::default()
    };
    assert_eq!(
        checks::prepare_run(RunKind::Function, name(), writes, false, caller, &oom).unwrap_err(),
        Reply::error(errors::OOM_SCRIPT)
    );
    let ctx =
        checks::prepare_run(RunKind::Function, name(), no_writes, false, caller, &oom).unwrap();
    assert!(ctx.read_only && !ctx.allow_cross_slot);
}

#[test]
fn script_call_checks_in_valkey_order() {
    let server = ServerState::default();
    let mut ctx = checks::prepare_run(
        RunKind::Eval,
        Bytes::new(),
        ScriptFlags {
            no_writes: true,
            ..Default::default()
        },
        false,
        Caller::default(),
        &server,
    )
    .unwrap();
    let set = checks::CalledCommand {
        arity: -3,
        write: true,
        may_replicate: false,
        deny_oom: true,
        stale: false,
        noscript: false,
    };
    assert_eq!(
        checks::script_call(&mut ctx, None, 1, Ok(()), &server).unwrap_err(),
        errors::CALL_UNKNOWN_COMMAND
    );
    assert_eq!(
        checks::script_call(&mut ctx, Some(set), 2, Ok(()), &server).unwrap_err(),
        errors::CALL_WRONG_ARITY
    );
    assert_eq!(
        checks::script_call(
            &mut ctx,
            Some(set),
            3,
            Err("User x has no permissions".into()),
            &server
        )
        .unwrap_err(),
        "ACL failure in script: User x has no permissions"
    );
    assert_eq!(
        checks::script_call(&mut ctx, Some(set), 3, Ok(()), &server).unwrap_err(),
        errors::CALL_WRITE_IN_RO
    );
    ctx.read_only = false;
    assert!(checks::script_call(&mut ctx, Some(set), 3, Ok(()), &server).is_ok());
    assert!(ctx.write_dirty);
}

#[test]
fn write_from_read_only_run_reaches_the_host_as_read_only() {
    let mut s = Scripting::default();
    let mut h = TestHost::default();
    let rest: Vec<Bytes> = vec![];
    let req = EvalRequest {
        script: b"return redis.pcall('set', 'a', 'b')",
        evalsha: false,
        ro: true,
        numkeys: b"0",
        rest: &rest,
    };
    let out = s.eval.eval(
        &mut h,
        req,
        common::caller(Resp2),
        &ServerState::default(),
        RunOptions::default(),
    );
    assert_eq!(
        out.reply,
        Reply::error("ERR Write commands are not allowed from read-only scripts.")
    );
    assert!(out.error_counted);
}

#[test]
fn eval_cache_evicts_oldest_eval_scripts_only() {
    let mut s = Scripting::default();
    let mut h = TestHost::default();
    let loaded = s.eval.script_load(b"return 'loaded'").unwrap();
    for i in 0..scripting::LRU_LIST_LENGTH + 10 {
        eval(
            &mut s,
            &mut h,
            format!("return {i}").as_bytes(),
            &[],
            0,
            Resp2,
        );
    }
    assert_eq!(s.eval.evicted_scripts(), 10);
    assert_eq!(s.eval.cached_scripts(), scripting::LRU_LIST_LENGTH + 1);
    assert!(s.eval.exists(loaded.as_bytes()));
    assert!(!s.eval.exists(scripting::sha1_hex(b"return 0").as_bytes()));
    assert!(s.eval.exists(scripting::sha1_hex(b"return 509").as_bytes()));
    assert!(s.eval.lua_memory() > 0 && s.eval.scripts_memory() > 0);
    s.eval.flush();
    assert_eq!(s.eval.cached_scripts(), 0);
}

#[test]
fn flags_for_dispatch() {
    let mut s = Scripting::default();
    let f = s
        .eval
        .flags_for(b"#!lua flags=no-writes\nreturn 1", false)
        .unwrap();
    assert!(f.no_writes);
    assert!(s.eval.flags_for(b"return 1", false).unwrap().eval_compat);
    let sha = s
        .eval
        .script_load(b"#!lua flags=allow-oom\nreturn 1")
        .unwrap();
    assert!(s.eval.flags_for(sha.as_bytes(), true).unwrap().allow_oom);
    assert!(s
        .eval
        .flags_for(b"0000000000000000000000000000000000000000", true)
        .is_none());
}

#[test]
fn function_load_times_out() {
    let mut s = Scripting::default();
    let err = s
        .functions
        .load(
            b"#!lua name=slow\nwhile true do end",
            false,
            Some(std::time::Duration::from_millis(20)),
            &mut |_, _| {},
        )
        .unwrap_err();
    assert_eq!(
        err,
        Reply::error("ERR Error registering functions: ERR FUNCTION LOAD timeout")
    );
    assert_eq!(s.functions.stats().libraries_count, 0);
}

#[test]
fn rdb_records_round_trip() {
    let mut s = Scripting::default();
    let code = b"#!lua name=l\nserver.register_function{function_name='Ab', callback=function() return 1 end, flags={'ALLOW-OOM', 'no-cluster'}}";
    s.functions.load(code, false, None, &mut |_, _| {}).unwrap();
    let f = s.functions.function(b"ab").unwrap();
    assert!(f.flags.allow_oom && f.flags.no_cluster);
    let codes: Vec<Bytes> = s.functions.codes().cloned().collect();
    let mut t = Scripting::default();
    for c in &codes {
        t.functions.load_from_rdb(c, false).unwrap();
    }
    let mut h = TestHost::default();
    assert_eq!(
        fcall(&mut t, &mut h, "AB", &[], 0, Resp2).reply,
        Reply::Int(1)
    );
    assert_eq!(t.functions.stats().functions_count, 1);
    assert!(t.functions.lua_memory() > 0 && t.functions.memory_overhead() > 0);
}

/// Runs on an 8 MiB stack, as the server's main thread has.
#[test]
fn hostile_scripts_do_not_crash() {
    std::thread::Builder::new()
        .stack_size(8 << 20)
        .spawn(hostile_scripts)
        .unwrap()
        .join()
        .unwrap();
}

fn hostile_scripts() {
    let mut s = Scripting::default();
    // Endless loops are stopped by the interrupt check.
    let mut h = TestHost {
        kill_at: Some(50),
        ..TestHost::default()
    };
    for script in [
        &b"error({})"[..],
        b"local t = {} t[1] = t return t",
        b"local t = {} t[1] = t return cmsgpack.pack(t)",
        b"return cmsgpack.unpack(string.rep('\\145', 100000))",
        b"return cjson.decode(string.rep('[', 100000))",
        b"local p = newproxy(true) getmetatable(p).__gc = function() error('gc') end p = nil collectgarbage() return 1",
        b"return cmsgpack.pack(setmetatable({1, 2}, {__index = function() error('idx') end}))",
        b"return {err = setmetatable({}, {__index = function() error('x') end})}",
        b"local function f() return f() end return f()",
        b"local function f(n) if n == 0 then return {} end return {f(n - 1)} end return f(5000)",
    ] {
        let out = eval(&mut s, &mut h, script, &[], 0, Resp2);
        let _ = wire(&out.reply, Resp2);
    }
    assert_eq!(
        eval(&mut s, &mut h, b"return 'alive'", &[], 0, Resp2).reply,
        Reply::Bulk(Bytes::from_static(b"alive"))
    );
}

#[test]
fn keys_and_argv() {
    let mut s = Scripting::default();
    let mut h = TestHost::default();
    let out = eval(
        &mut s,
        &mut h,
        b"return {KEYS[1], KEYS[2], ARGV[1]}",
        &["k1", "k2", "a1"],
        2,
        Resp2,
    );
    assert_eq!(
        wire(&out.reply, Resp2),
        "*3\r\n$2\r\nk1\r\n$2\r\nk2\r\n$2\r\na1\r\n"
    );
    s.functions
        .load(b"#!lua name=kv\nserver.register_function('kv', function(k, a) return #k * 10 + #a end)", false, None, &mut |_, _| {})
        .unwrap();
    assert_eq!(
        fcall(&mut s, &mut h, "kv", &["a", "b", "c"], 1, Resp2).reply,
        Reply::Int(12)
    );
}
