//! Scripts run through the execution core: EVAL, EVALSHA, EVAL_RO, EVALSHA_RO, FCALL and
//! FCALL_RO, and the server's side of the engine's [`Host`] trait.
//!
//! **One path.** A script's `server.call` is checked as Valkey's `scriptCall` checks it
//! (`scripting::checks::script_call`: arity, `noscript`, stale, ACL, read-only run, first-write
//! state, OOM), then run by [`super::call`] with [`Origin::Script`], like any command: same
//! handlers, statistics, SLOWLOG, MONITOR (`[db lua]`), keyspace events. The script's client is
//! the caller's, lent for the call with the script's database (SELECT inside a script does not
//! change the caller's) and protocol (`server.setresp`); nothing blocks, the reply returns to
//! Lua.
//!
//! **Propagation (Redis 7's effects replication).** EVAL/FCALL propagate nothing themselves;
//! the write commands the script runs join the caller's execution unit (the core is nested in
//! the EVAL's call), so the unit reaches replicas as `MULTI ... EXEC` around them in order, a
//! single write alone, nothing when nothing was written — also when the script failed after
//! writing. `server.set_repl(server.REPL_NONE)` keeps a call out of the unit.
//!
//! **Busy scripts.** Every 100,000 Lua instructions the engine asks [`Host::interrupt`]; past
//! `busy-reply-threshold` the run is marked timed out and the event loop's busy pass
//! (`Life::serve_while_busy`) serves other clients: `-BUSY` for everything but the commands
//! flagged `allow_busy` (SCRIPT KILL, FUNCTION KILL/STATS, SHUTDOWN NOSAVE, ...), with the
//! caller's input and the replication links left for later. The pass never reaches the
//! running script: EVAL and FCALL are refused while busy, and the engine is lent to the run.

use std::borrow::Cow;

use bytes::Bytes;
use commands::spec::flags as f;
use commands::{CommandSpec, Handler, ServerCmd};
use resp::Reply;
use scripting::checks::{script_call, CalledCommand};
use scripting::{
    AclCheck, CallOutcome, Caller, DiskError, EvalRequest, FcallRequest, Host, Interrupt, LogLevel,
    RunCtx, RunKind, RunOptions, RunOutcome, Scripting, ServerState,
};

use super::Origin;
use crate::exec::scripts::Running;
use crate::server::Server;

/// EVAL, FCALL and their variants, and EXEC (which may run them): the commands that must know
/// the OOM state before they start.
pub fn runs_scripts(spec: &CommandSpec) -> bool {
    matches!(
        spec.handler,
        Handler::Server(
            ServerCmd::Eval
                | ServerCmd::EvalRo
                | ServerCmd::Evalsha
                | ServerCmd::EvalshaRo
                | ServerCmd::Fcall
                | ServerCmd::FcallRo
                | ServerCmd::Exec
        )
    )
}

/// EVAL / EVALSHA / EVAL_RO / EVALSHA_RO.
pub fn eval(s: &mut Server, key: usize, cmd: ServerCmd, argv: &[Bytes]) -> Reply {
    let evalsha = matches!(cmd, ServerCmd::Evalsha | ServerCmd::EvalshaRo);
    let ro = matches!(cmd, ServerCmd::EvalRo | ServerCmd::EvalshaRo);
    let (Some(script), Some(numkeys)) = (argv.get(1), argv.get(2)) else {
        return commands::errors::wrong_arity("eval");
    };
    let name = if evalsha {
        Bytes::from(script.to_ascii_lowercase())
    } else {
        Bytes::from(scripting::sha1_hex(script))
    };
    let req = EvalRequest {
        script,
        evalsha,
        ro,
        numkeys,
        rest: &argv[3..],
    };
    run(
        s,
        key,
        argv,
        RunKind::Eval,
        name,
        |e, host, caller, state, opts| e.eval.eval(host, req, caller, state, opts),
    )
}

/// FCALL / FCALL_RO.
pub fn fcall(s: &mut Server, key: usize, cmd: ServerCmd, argv: &[Bytes]) -> Reply {
    let (Some(function), Some(numkeys)) = (argv.get(1), argv.get(2)) else {
        return commands::errors::wrong_arity("fcall");
    };
    let name = s
        .exec
        .scripting
        .engine()
        .and_then(|e| e.functions.function(function))
        .map_or_else(|| function.clone(), |f| f.name.clone());
    let req = FcallRequest {
        function,
        ro: cmd == ServerCmd::FcallRo,
        numkeys,
        rest: &argv[3..],
    };
    run(
        s,
        key,
        argv,
        RunKind::Function,
        name,
        |e, host, caller, state, opts| e.functions.fcall(host, req, caller, state, opts),
    )
}

/// Starts loading the script's keys (`numkeys` arguments from the fourth): its
/// `redis.call`s then find them in the cache (a pipeline's batch prefetch, done before the
/// earlier scripts ran, may have been pushed out by their Lua work).
fn prefetch_keys(s: &Server, db: usize, argv: &[Bytes]) {
    let Some(n) = argv.get(2).and_then(|n| commands::args::int(n).ok()) else {
        return;
    };
    let keys = argv.get(3..).unwrap_or_default();
    let n = (n.max(0) as usize).min(keys.len()).min(64);
    let mut hashes = [0u64; 64];
    for (h, k) in hashes.iter_mut().zip(&keys[..n]) {
        *h = types::hash_key(k);
    }
    s.exec.ks.prefetch(db, &hashes[..n]);
}

/// Runs one script for client `key` with the engine lent, and leaves the propagation of its
/// effects to the calls it made.
fn run(
    s: &mut Server,
    key: usize,
    argv: &[Bytes],
    kind: RunKind,
    name: Bytes,
    runner: impl FnOnce(&mut Scripting, &mut dyn Host, Caller, &ServerState, RunOptions) -> RunOutcome,
) -> Reply {
    // As Valkey: the script's command line reaches monitors before the commands it runs.
    if !s.exec.monitors.is_empty() {
        crate::cmd::introspect::feed_monitors(s, key, &super::redact::shown(argv));
    }
    let Some(c) = s.net.clients.get(key) else {
        return Reply::Raw(Bytes::new());
    };
    prefetch_keys(s, c.db, argv);
    let caller = Caller {
        allow_oom: false,
        // The primary's stream and the AOF being loaded are obeyed (writes on a read-only
        // replica, no OOM or disk-error refusals).
        obey: c.is_primary_link() || s.persist.aof.replaying,
        resp: c.resp,
    };
    let db = c.db;
    let state = server_state(s);
    let opts = RunOptions {
        interrupt_checks: s.cfg.busy_reply_threshold_ms > 0,
    };
    let Some(mut engine) = s.exec.scripting.lend() else {
        return s.exec.scripting.busy_error();
    };
    s.exec.scripting.running = Some(Running {
        kind,
        name,
        command: argv.to_vec(),
        started: std::time::Instant::now(),
        started_unix_us: crate::util::now_us(),
        caller: key,
        obey: caller.obey,
        write_dirty: false,
        timed_out: false,
        kill: false,
    });
    let outcome = {
        let mut host = ScriptHost { s, caller: key, db };
        runner(&mut engine, &mut host, caller, &state, opts)
    };
    s.exec.scripting.give_back(engine);
    s.exec.scripting.running = None;
    s.exec.scripting.error_counted = outcome.error_counted && outcome.reply.is_error();
    s.exec.scripting.error_custom = outcome.custom_error && outcome.reply.is_error();
    // Effects replication: the script's commands propagate themselves, the script never.
    s.exec.call_rewrite = Some(Vec::new());
    outcome.reply
}

/// The state the pre-run and per-call checks read (Valkey reads it from the server globals).
fn server_state(s: &Server) -> ServerState {
    let replica = s.repl.is_replica();
    ServerState {
        server_name: crate::exec::scripts::SERVER_NAME,
        cluster_enabled: false,
        running_stale: replica && !s.repl.link_up() && !s.cfg.replica_serve_stale_data,
        readonly_replica: replica && s.cfg.replica_read_only,
        disk_error: if crate::persist::writes_denied(s) {
            Some(DiskError::Rdb)
        } else {
            crate::persist::aof::write_denied(s).map(DiskError::Aof)
        },
        enough_good_replicas: !crate::repl::min_replicas_unmet(s),
        oom: s.exec.scripting.pre_command_oom && s.cfg.maxmemory_bytes > 0,
    }
}

/// The server as a running script sees it.
struct ScriptHost<'a> {
    s: &'a mut Server,
    /// The client that ran EVAL/FCALL: its client executes the script's commands.
    caller: usize,
    /// The script's database (starts as the caller's; SELECT inside the script changes it).
    db: usize,
}

/// True if `argc` arguments fit a command of `arity` (negative: at least that many).
fn arity_fits(arity: i32, argc: usize) -> bool {
    let (arity, argc) = (arity as i64, argc as i64);
    if arity >= 0 {
        arity == argc
    } else {
        argc >= -arity
    }
}

impl ScriptHost<'_> {
    /// A check refused the call: counted as Valkey's `scriptCall` counts a rejection.
    fn rejected(&mut self, spec: Option<&'static CommandSpec>, text: Cow<'static, str>) {
        let code = match text.strip_prefix('-') {
            Some(t) => t.split(' ').next().unwrap_or("ERR"),
            None => "ERR",
        };
        self.s.stats.count_error(code);
        if let Some(spec) = spec {
            self.s.stats.command(spec).rejected_calls += 1;
        }
    }
}

impl Host for ScriptHost<'_> {
    fn call(&mut self, run: &mut RunCtx, mut argv: Vec<Bytes>) -> CallOutcome {
        let spec = match super::renamed_to_original(self.s, &mut argv) {
            true => commands::call::resolve(&argv).ok(),
            false => None,
        };
        let called = spec.map(|spec| CalledCommand {
            arity: spec.arity,
            write: spec.has(f::WRITE),
            may_replicate: spec.has(f::MAY_REPLICATE),
            deny_oom: spec.has(f::DENYOOM),
            stale: spec.has(f::STALE),
            noscript: spec.has(f::NOSCRIPT) && !self.s.exec.scripting.disable_deny_script,
        });
        let state = server_state(self.s);
        // The caller's user must be allowed the command (checked once the arity is right, so
        // that a malformed call is not logged as a denial).
        let acl = match spec {
            Some(spec) if arity_fits(spec.arity, argv.len()) => {
                crate::access::acl_check(self.s, self.caller, spec, &argv, Some(acl::Context::Lua))
                    .map_err(|d| crate::access::message(self.s, self.caller, spec, &argv, d))
            }
            _ => Ok(()),
        };
        if let Err(text) = script_call(run, called, argv.len(), acl, &state) {
            self.rejected(spec, text.clone());
            return CallOutcome::Rejected(text);
        }
        let Some(spec) = spec else {
            return CallOutcome::Rejected(Cow::Borrowed(scripting::errors::CALL_UNKNOWN_COMMAND));
        };
        let s = &mut *self.s;
        let Some(c) = s.net.clients.get_mut(self.caller) else {
            return CallOutcome::Reply(Reply::Nil);
        };
        let saved = (c.db, c.resp);
        c.db = self.db;
        c.resp = run.resp;
        let origin = Origin::Script {
            replicas: run.repl.replicas,
            aof: run.repl.aof,
        };
        let reply = super::call(s, self.caller, spec, argv, origin);
        if let Some(c) = s.net.clients.get_mut(self.caller) {
            self.db = c.db;
            (c.db, c.resp) = saved;
        }
        // Nothing blocks in a script: a blocking command answers at once.
        CallOutcome::Reply(reply.unwrap_or(Reply::NilArray))
    }

    fn acl_check_cmd(&mut self, _run: &RunCtx, argv: &[Bytes]) -> AclCheck {
        let mut renamed;
        let argv = if self.s.cfg.renames.is_empty() {
            argv
        } else {
            renamed = argv.to_vec();
            if !super::renamed_to_original(self.s, &mut renamed) {
                return AclCheck::UnknownCommand;
            }
            &renamed[..]
        };
        let Ok(spec) = commands::call::resolve(argv) else {
            return AclCheck::UnknownCommand;
        };
        let users = &self.s.acl.users;
        let user = self
            .s
            .net
            .clients
            .get(self.caller)
            .and_then(|c| users.get(&c.user))
            .unwrap_or_else(|| users.default_user());
        match acl::check(user, spec, argv) {
            Ok(()) => AclCheck::Allowed,
            Err(_) => AclCheck::Denied,
        }
    }

    fn log(&mut self, level: LogLevel, msg: &[u8]) {
        let level = crate::exec::scripts::log_level(level);
        crate::log::write(level, &String::from_utf8_lossy(msg));
    }

    fn interrupt(&mut self, run: &mut RunCtx) -> Interrupt {
        if run.killed {
            return Interrupt::Kill;
        }
        let s = &mut *self.s;
        if !run.timed_out {
            let elapsed = run.started.elapsed().as_millis() as i64;
            if elapsed < s.cfg.busy_reply_threshold_ms {
                return Interrupt::Continue;
            }
            let (kill_cmd, name) = match s.exec.scripting.running.as_ref() {
                Some(r) if r.kind == RunKind::Function => ("FUNCTION KILL", r.name.clone()),
                Some(r) => ("SCRIPT KILL", r.name.clone()),
                None => ("SCRIPT KILL", run.name.clone()),
            };
            crate::log_warning!(
                "Slow script detected: still in execution after {elapsed} milliseconds. You can try killing the script using the {kill_cmd} command. Script name is: {}.",
                String::from_utf8_lossy(&name)
            );
            run.timed_out = true;
        }
        if let Some(r) = s.exec.scripting.running.as_mut() {
            r.timed_out = true;
            r.write_dirty = run.write_dirty;
            r.obey = run.obey_client;
        }
        (s.life.serve_while_busy)(s);
        if s.exec.scripting.running.as_ref().is_some_and(|r| r.kill) {
            run.killed = true;
            return Interrupt::Kill;
        }
        Interrupt::Continue
    }
}
