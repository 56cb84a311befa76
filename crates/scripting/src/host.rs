//! The boundary between the engine and the server: the [`Host`] trait the server implements,
//! the run context a script carries ([`RunCtx`]), and the server state the pre-run checks read
//! ([`ServerState`]).
//!
//! The engine never touches the keyspace, clients or propagation: every `server.call` becomes
//! one [`Host::call`], which applies Redis's per-call checks (the helpers of [`crate::checks`]
//! reproduce them) and runs the command as the script's fake client.

use std::borrow::Cow;
use std::time::Instant;

use bytes::Bytes;
use resp::{Reply, RespVersion};

/// Log levels of `server.log` (Valkey's `LL_*` values).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    Debug = 0,
    Verbose = 1,
    Notice = 2,
    Warning = 3,
}

/// Where a script's write commands propagate (`server.set_repl`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReplFlags {
    pub aof: bool,
    pub replicas: bool,
}

impl ReplFlags {
    pub const ALL: ReplFlags = ReplFlags {
        aof: true,
        replicas: true,
    };
}

/// What a script is: an EVAL script or a library function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunKind {
    Eval,
    Function,
}

/// The state of one script run (Valkey's `scriptRunCtx`), shared by the engine and the host.
///
/// The engine creates it after the pre-run checks and hands it to every [`Host`] callback. The
/// host updates `write_dirty`, `slot`, `timed_out` and `killed`; the script itself changes
/// `resp` (`server.setresp`) and `repl` (`server.set_repl`).
#[derive(Debug)]
pub struct RunCtx {
    pub kind: RunKind,
    /// The SHA1 of an EVAL script (lower case) or the function name.
    pub name: Bytes,
    /// Write commands are refused (`*_RO` command or a `no-writes` script).
    pub read_only: bool,
    /// OOM checks are skipped (`allow-oom`, or the caller may ignore OOM).
    pub allow_oom: bool,
    /// Keys of several slots may be used (shebang-less EVAL or `allow-cross-slot-keys`).
    pub allow_cross_slot: bool,
    /// The caller must be obeyed (our primary, AOF loading): never killable, no OOM checks.
    pub obey_client: bool,
    /// Protocol the script's fake client speaks (RESP2 until `server.setresp(3)`).
    pub resp: RespVersion,
    /// `server.set_repl`.
    pub repl: ReplFlags,
    /// A write command already ran (`SCRIPT_WRITE_DIRTY`): the script can no longer be killed
    /// and the per-call state checks are skipped.
    pub write_dirty: bool,
    /// The busy threshold passed and the host entered "timed out" mode.
    pub timed_out: bool,
    /// SCRIPT KILL / FUNCTION KILL asked to stop the script.
    pub killed: bool,
    /// The hash slot of the keys used so far (cluster mode).
    pub slot: Option<u16>,
    /// When the run started (FUNCTION STATS `duration_ms`, the busy threshold).
    pub started: Instant,
}

impl RunCtx {
    /// SCRIPT KILL (`by_script_kill`) or FUNCTION KILL against this run: `Ok` marks it killed
    /// (the next interrupt check stops it), `Err` is the reply.
    pub fn kill(&mut self, by_script_kill: bool, server_name: &str) -> Result<(), Reply> {
        kill_check(
            self.kind,
            self.obey_client,
            self.write_dirty,
            by_script_kill,
            server_name,
        )?;
        self.killed = true;
        Ok(())
    }
}

/// Valkey's `scriptKill` checks against a run of `kind`: sent by our primary, already wrote,
/// or killed with the other family's command. `Ok` means the run may be killed. A host that
/// keeps its own copy of the run's state (while it serves other clients) uses this directly.
pub fn kill_check(
    kind: RunKind,
    obey_client: bool,
    write_dirty: bool,
    by_script_kill: bool,
    server_name: &str,
) -> Result<(), Reply> {
    if obey_client {
        return Err(Reply::error(crate::errors::UNKILLABLE_PRIMARY));
    }
    if write_dirty {
        return Err(Reply::error(crate::errors::UNKILLABLE_WRITTEN));
    }
    match (by_script_kill, kind) {
        (true, RunKind::Function) => Err(Reply::error(crate::errors::busy_function(server_name))),
        (false, RunKind::Eval) => Err(Reply::error(crate::errors::busy_eval(server_name))),
        _ => Ok(()),
    }
}

/// The answer to one `server.call` / `server.pcall`.
#[derive(Clone, Debug, PartialEq)]
pub enum CallOutcome {
    /// The command ran; this is its reply (possibly an error reply), as the script's fake
    /// client would receive it (`RunCtx::resp`).
    Reply(Reply),
    /// A check refused the command before it ran (Valkey's `scriptCall` error): either a plain
    /// text (`ERR ` is prefixed) or `-CODE text`. See [`crate::errors`] `CALL_*`.
    Rejected(Cow<'static, str>),
}

/// The answer to `server.acl_check_cmd`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AclCheck {
    Allowed,
    Denied,
    /// No such command (raises "Invalid command passed to server.acl_check_cmd()").
    UnknownCommand,
}

/// What the periodic check tells a running script.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Interrupt {
    Continue,
    /// Stop with "Script killed by user with SCRIPT KILL..." (the host saw `RunCtx::killed`).
    Kill,
}

/// What the server provides to running scripts.
pub trait Host {
    /// Runs one command for `server.call`/`server.pcall` as the script's fake client: look the
    /// command up, apply the checks of Valkey's `scriptCall` in its order (arity, `noscript`,
    /// stale, ACL, write/read-only, OOM, cluster; [`crate::checks::script_call`] reproduces
    /// them), mark `run.write_dirty` for a write command, execute it with the client's
    /// database and protocol `run.resp`, and propagate its effects as `run.repl` says.
    fn call(&mut self, run: &mut RunCtx, argv: Vec<Bytes>) -> CallOutcome;

    /// `server.acl_check_cmd(...)`: may the calling user run this command line?
    fn acl_check_cmd(&mut self, run: &RunCtx, argv: &[Bytes]) -> AclCheck;

    /// `server.log(level, ...)` (the host filters by its `loglevel`), and the engine's own
    /// notices (e.g. "Lua script killed by user with SCRIPT KILL.").
    fn log(&mut self, level: LogLevel, msg: &[u8]);

    /// Called every 100,000 Lua instructions while a script runs with interrupt checks on.
    /// Past the busy threshold the host logs the slow-script warning, sets `run.timed_out`,
    /// serves other clients (they get `-BUSY`; SCRIPT KILL / FUNCTION KILL call
    /// [`RunCtx::kill`]) and answers `Kill` once `run.killed` is set.
    fn interrupt(&mut self, run: &mut RunCtx) -> Interrupt;
}

/// The server state read by the checks before a script runs (Valkey's `scriptPrepareForRun`).
#[derive(Clone, Debug, PartialEq)]
pub struct ServerState {
    /// "Valkey" (or "Redis" in extended compatibility mode), for texts naming the server.
    pub server_name: &'static str,
    pub cluster_enabled: bool,
    /// A replica whose link is down with `replica-serve-stale-data no`.
    pub running_stale: bool,
    /// A read-only replica (`replica-read-only yes`).
    pub readonly_replica: bool,
    /// Writes are refused because persistence fails.
    pub disk_error: Option<DiskError>,
    /// `min-replicas-to-write` is satisfied (or not configured).
    pub enough_good_replicas: bool,
    /// `maxmemory` is set and was exceeded when the command started.
    pub oom: bool,
}

impl Default for ServerState {
    fn default() -> Self {
        ServerState {
            server_name: "Valkey",
            cluster_enabled: false,
            running_stale: false,
            readonly_replica: false,
            disk_error: None,
            enough_good_replicas: true,
            oom: false,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DiskError {
    Rdb,
    /// AOF write failure, with `strerror` of its errno.
    Aof(String),
}

/// Who runs a script, as the checks need it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Caller {
    /// The client may ignore OOM (`CLIENT_ALLOW_OOM`, e.g. a MULTI started before OOM).
    pub allow_oom: bool,
    /// Our primary or the AOF loader (`mustObeyClient`).
    pub obey: bool,
    /// The protocol of the calling client (decides how RESP3-only types are answered).
    pub resp: RespVersion,
}
