//! The executor's scripting state: the engine (EVAL's Lua state and script cache, FUNCTION's
//! Lua state and libraries, see the `scripting` crate) and what other parts of the server must
//! know about the script running now.
//!
//! **Why in [`super::Exec`]**: libraries are data — written by write commands (FUNCTION LOAD,
//! DELETE, FLUSH, RESTORE), saved in every RDB, replaced by a full sync — and the commands a
//! script calls are executor commands, so the engine sits beside the keyspace, as Valkey's Lua
//! contexts sit beside its databases.
//!
//! **Lending.** A running script needs the engine (its Lua state is on the stack) and the whole
//! server (each `server.call` goes through `core::call`) at once. The run takes the engine out
//! with [`ScriptState::lend`] and gives it back when done. Meanwhile the counters INFO and
//! FUNCTION STATS show are the ones taken when it was lent (a script cannot load a script or a
//! library), and what SCRIPT KILL, FUNCTION STATS and `-BUSY` need to know about the run is
//! in [`Running`], which the run keeps up to date before it serves other clients.
//!
//! Not here: running scripts (`core::script`), the SCRIPT/FUNCTION commands
//! (`cmd::script_cmd`), the pass that serves clients while a script is busy (`event_loop`).

use std::time::Instant;

use bytes::Bytes;
use commands::spec::flags as f;
use commands::{CommandSpec, Handler, ServerCmd};
use scripting::{CommandFlags, RunKind, Scripting};

/// The server name in texts that name it (Valkey's `SERVER_TITLE`), as elsewhere in Redwing.
pub const SERVER_NAME: &str = "Redwing";

/// The server log's level for a script's `server.log` level.
pub fn log_level(level: scripting::LogLevel) -> crate::log::Level {
    match level {
        scripting::LogLevel::Debug => crate::log::Level::Debug,
        scripting::LogLevel::Verbose => crate::log::Level::Verbose,
        scripting::LogLevel::Notice => crate::log::Level::Notice,
        scripting::LogLevel::Warning => crate::log::Level::Warning,
    }
}

/// What INFO and FUNCTION STATS report about the engine.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// `number_of_cached_scripts`.
    pub cached_scripts: usize,
    /// `evicted_scripts` (INFO stats).
    pub evicted_scripts: u64,
    /// `used_memory_vm_eval` (alias `used_memory_lua`).
    pub vm_eval: usize,
    /// `used_memory_scripts_eval` (MEMORY STATS `lua.caches`).
    pub scripts_eval: usize,
    /// `number_of_functions`.
    pub functions: usize,
    /// `number_of_libraries`.
    pub libraries: usize,
    /// `used_memory_vm_functions`.
    pub vm_functions: usize,
    /// `used_memory_functions` (MEMORY STATS `functions.caches`).
    pub functions_caches: usize,
}

/// The script running now (Valkey's `curr_run_ctx`, as other clients see it).
#[derive(Debug)]
pub struct Running {
    pub kind: RunKind,
    /// The script's SHA1 or the function's name.
    pub name: Bytes,
    /// The caller's command line (FUNCTION STATS `command`).
    pub command: Vec<Bytes>,
    pub started: Instant,
    /// Unix µs when it started: TIME inside the script answers this (Valkey's time cached
    /// for the execution unit).
    pub started_unix_us: i64,
    /// The caller's slab key: its input is not read while the script is busy.
    pub caller: usize,
    /// The caller is our primary (never killable).
    pub obey: bool,
    /// A write command ran (SCRIPT KILL answers UNKILLABLE).
    pub write_dirty: bool,
    /// The busy threshold passed: other clients are served, and answered `-BUSY`.
    pub timed_out: bool,
    /// SCRIPT KILL / FUNCTION KILL accepted: the script stops at its next check.
    pub kill: bool,
}

/// The scripting state of the executor.
pub struct ScriptState {
    engine: Option<Box<Scripting>>,
    /// The counters and the library codes when the engine was lent (an RDB saved while a
    /// script runs — FLUSHALL with save points — still carries the libraries).
    lent: Counters,
    lent_codes: Vec<Bytes>,
    pub running: Option<Running>,
    /// DEBUG SET-DISABLE-DENY-SCRIPTS: scripts may call `noscript` commands.
    pub disable_deny_script: bool,
    /// `maxmemory` was exceeded when the current top-level command started (Valkey's
    /// `pre_command_oom_state`): decides the OOM checks of scripts.
    pub pre_command_oom: bool,
    /// The error a script just returned was already counted in the error stats (it came from
    /// a failed `server.call`): the core counts the call as failed but not the error again.
    pub error_counted: bool,
    /// The error a script just returned is its own text (an error table): counted as
    /// `ERRORSTATS_OVERFLOW` once the error stats hold their limit of codes.
    pub error_custom: bool,
}

impl Default for ScriptState {
    fn default() -> Self {
        ScriptState {
            engine: Some(Box::new(Scripting::new(scripting::Versions::default()))),
            lent: Counters::default(),
            lent_codes: Vec::new(),
            running: None,
            disable_deny_script: false,
            pre_command_oom: false,
            error_counted: false,
            error_custom: false,
        }
    }
}

impl ScriptState {
    /// The engine, unless a script runs (it is lent to the run).
    pub fn engine(&self) -> Option<&Scripting> {
        self.engine.as_deref()
    }

    pub fn engine_mut(&mut self) -> Option<&mut Scripting> {
        self.engine.as_deref_mut()
    }

    /// Takes the engine for a run; `None` if a run already has it.
    pub fn lend(&mut self) -> Option<Box<Scripting>> {
        self.lent = self.counters();
        self.lent_codes = self.library_codes();
        self.engine.take()
    }

    /// Returns the engine after a run.
    pub fn give_back(&mut self, engine: Box<Scripting>) {
        self.engine = Some(engine);
        self.lent_codes.clear();
    }

    /// A script passed the busy threshold and is still running.
    pub fn busy(&self) -> bool {
        self.running.as_ref().is_some_and(|r| r.timed_out)
    }

    /// The `-BUSY` reply while a script runs (its text names the command that can kill it).
    pub fn busy_error(&self) -> resp::Reply {
        let function = self
            .running
            .as_ref()
            .is_some_and(|r| r.kind == RunKind::Function);
        resp::Reply::error(if function {
            scripting::errors::busy_function(SERVER_NAME)
        } else {
            scripting::errors::busy_eval(SERVER_NAME)
        })
    }

    /// The current counters (those taken when the engine was lent, while a script runs).
    pub fn counters(&self) -> Counters {
        let Some(e) = self.engine.as_deref() else {
            return self.lent;
        };
        let stats = e.functions.stats();
        Counters {
            cached_scripts: e.eval.cached_scripts(),
            evicted_scripts: e.eval.evicted_scripts(),
            vm_eval: e.eval.lua_memory(),
            scripts_eval: e.eval.scripts_memory(),
            functions: stats.functions_count,
            libraries: stats.libraries_count,
            vm_functions: e.functions.lua_memory(),
            functions_caches: e.functions.memory_overhead(),
        }
    }

    /// The code of every library, for the FUNCTION2 records of an RDB.
    pub fn library_codes(&self) -> Vec<Bytes> {
        match self.engine.as_deref() {
            Some(e) => e.functions.codes().cloned().collect(),
            None => self.lent_codes.clone(),
        }
    }

    /// Installs the libraries of a loaded RDB: all of them or none (then `Err` says why, and
    /// the current ones stay). By default they replace the current set (a full sync, a
    /// restart, DEBUG RELOAD); `keep_current` adds them to it, `replace` letting a loaded
    /// library replace a current one (DEBUG RELOAD NOFLUSH [MERGE]).
    pub fn install_from_rdb(
        &mut self,
        codes: &[Vec<u8>],
        keep_current: bool,
        replace: bool,
    ) -> Result<(), String> {
        let Some(engine) = self.engine.as_deref_mut() else {
            return Err("a script is running".into());
        };
        if codes.is_empty() && keep_current {
            return Ok(());
        }
        let staged = engine
            .stage_functions(codes, keep_current, replace)
            .map_err(|e| match e {
                resp::Reply::Error(t) => format!("Failed loading library: {t}"),
                _ => "Failed loading library".to_string(),
            })?;
        engine.install_functions(staged);
        Ok(())
    }

    /// Whether the libraries of a loaded RDB would install in place of the current ones (a
    /// full sync checks before it reports its load done; nothing changes here).
    pub fn check_rdb_libraries(&mut self, codes: &[Vec<u8>]) -> Result<(), String> {
        let Some(engine) = self.engine.as_deref_mut() else {
            return Err("a script is running".into());
        };
        engine
            .stage_functions(codes, false, false)
            .map(drop)
            .map_err(|e| match e {
                resp::Reply::Error(t) => format!("Failed loading library: {t}"),
                _ => "Failed loading library".to_string(),
            })
    }

    /// The flags the dispatcher applies to a command (Valkey's `getCommandFlags`): for EVAL,
    /// EVALSHA, FCALL and their `_RO` forms, the flags the script declared replace the
    /// command's `write`, `denyoom`, `stale` and `may-replicate`.
    pub fn command_flags(&self, spec: &CommandSpec, argv: &[Bytes]) -> u64 {
        let Handler::Server(cmd) = spec.handler else {
            return spec.flags;
        };
        let (Some(engine), Some(target)) = (self.engine.as_deref(), argv.get(1)) else {
            return spec.flags;
        };
        let declared = match cmd {
            ServerCmd::Eval | ServerCmd::EvalRo => engine.eval.flags_for(target, false),
            ServerCmd::Evalsha | ServerCmd::EvalshaRo => engine.eval.flags_for(target, true),
            ServerCmd::Fcall | ServerCmd::FcallRo => {
                engine.functions.function(target).map(|func| func.flags)
            }
            _ => return spec.flags,
        };
        let Some(declared) = declared else {
            return spec.flags;
        };
        let of = |bit: u64| spec.flags & bit != 0;
        let cf = scripting::flags::command_flags(
            CommandFlags {
                write: of(f::WRITE),
                deny_oom: of(f::DENYOOM),
                stale: of(f::STALE),
                may_replicate: of(f::MAY_REPLICATE),
            },
            declared,
        );
        let mut flags = spec.flags & !(f::WRITE | f::DENYOOM | f::STALE | f::MAY_REPLICATE);
        for (on, bit) in [
            (cf.write, f::WRITE),
            (cf.deny_oom, f::DENYOOM),
            (cf.stale, f::STALE),
            (cf.may_replicate, f::MAY_REPLICATE),
        ] {
            if on {
                flags |= bit;
            }
        }
        flags
    }
}
