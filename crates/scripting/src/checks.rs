//! Redis's checks around script runs, as pure functions of the server state:
//! [`prepare_run`] (Valkey's `scriptPrepareForRun`) and [`script_call`] (the state checks of
//! `scriptCall`, for the host's [`crate::Host::call`]).

use std::borrow::Cow;
use std::time::Instant;

use bytes::Bytes;
use resp::{Reply, RespVersion};

use crate::errors;
use crate::flags::ScriptFlags;
use crate::host::{Caller, DiskError, ReplFlags, RunCtx, RunKind, ServerState};

/// Checks whether a script with `flags` may start, and builds its run context.
/// `ro` is true for EVAL_RO / EVALSHA_RO / FCALL_RO.
pub fn prepare_run(
    kind: RunKind,
    name: Bytes,
    flags: ScriptFlags,
    ro: bool,
    caller: Caller,
    server: &ServerState,
) -> Result<RunCtx, Reply> {
    if !flags.eval_compat {
        if flags.no_cluster && server.cluster_enabled {
            return Err(Reply::error(errors::NO_CLUSTER));
        }
        if server.running_stale && !flags.allow_stale {
            return Err(Reply::error(errors::STALE_NO_ALLOW_STALE));
        }
        if !flags.no_writes {
            if server.readonly_replica && !caller.obey {
                return Err(Reply::error(errors::READONLY_REPLICA_SCRIPT));
            }
            if let (Some(e), false) = (&server.disk_error, caller.obey) {
                return Err(Reply::error(match e {
                    DiskError::Rdb => errors::misconf_rdb(server.server_name),
                    DiskError::Aof(s) => errors::misconf_aof(server.server_name, s),
                }));
            }
            if ro {
                return Err(Reply::error(errors::WRITE_FLAG_RO_COMMAND));
            }
            if !server.enough_good_replicas {
                return Err(Reply::error(errors::NOREPLICAS));
            }
        }
        if !caller.allow_oom && server.oom && !(flags.allow_oom || flags.no_writes) {
            return Err(Reply::error(errors::OOM_SCRIPT));
        }
    } else if server.running_stale {
        return Err(Reply::error(errors::MASTERDOWN));
    }
    Ok(RunCtx {
        kind,
        name,
        read_only: ro || (!flags.eval_compat && flags.no_writes),
        allow_oom: caller.allow_oom || (!flags.eval_compat && flags.allow_oom),
        allow_cross_slot: flags.eval_compat || flags.allow_cross_slot_keys,
        obey_client: caller.obey,
        resp: RespVersion::Resp2,
        repl: ReplFlags::ALL,
        write_dirty: false,
        timed_out: false,
        killed: false,
        slot: None,
        started: Instant::now(),
    })
}

/// What [`script_call`] needs to know about the command a script calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CalledCommand {
    /// Command-table arity (negative: at least).
    pub arity: i32,
    pub write: bool,
    pub may_replicate: bool,
    pub deny_oom: bool,
    pub stale: bool,
    pub noscript: bool,
}

/// `scriptCall`'s checks in Valkey's order for the command a script calls (`None`: not in the
/// command table): arity, `noscript`, stale replica, ACL (`acl` is the host's verdict,
/// `Err` holding Valkey's `getAclErrorMessage` text), read-only run, replica/disk/replicas
/// state for the first write, OOM. On success `run.write_dirty` is set for a write command;
/// the host then runs its cluster-slot checks (texts `errors::CALL_CLUSTER_*`) and the command.
/// `Err` is the text for [`crate::CallOutcome::Rejected`].
pub fn script_call(
    run: &mut RunCtx,
    cmd: Option<CalledCommand>,
    argc: usize,
    acl: Result<(), String>,
    server: &ServerState,
) -> Result<(), Cow<'static, str>> {
    let Some(cmd) = cmd else {
        return Err(errors::CALL_UNKNOWN_COMMAND.into());
    };
    let argc = argc as i64;
    let arity = cmd.arity as i64;
    if (arity > 0 && arity != argc) || argc < -arity {
        return Err(errors::CALL_WRONG_ARITY.into());
    }
    if cmd.noscript {
        return Err(errors::CALL_NOSCRIPT.into());
    }
    if server.running_stale && !cmd.stale {
        return Err(errors::CALL_STALE.into());
    }
    if let Err(msg) = acl {
        return Err(format!("{}{}", errors::CALL_ACL_PREFIX, msg).into());
    }
    if run.read_only && (cmd.write || cmd.may_replicate) {
        return Err(errors::CALL_WRITE_IN_RO.into());
    }
    if cmd.write && !run.write_dirty {
        if server.readonly_replica && !run.obey_client {
            return Err(errors::CALL_READONLY.into());
        }
        if let Some(e) = &server.disk_error {
            return Err(match e {
                DiskError::Rdb => format!("-{}", errors::misconf_bgsave(server.server_name)).into(),
                DiskError::Aof(s) => format!("-MISCONF Errors writing to the AOF file: {s}").into(),
            });
        }
        if !server.enough_good_replicas {
            return Err(errors::CALL_NOREPLICAS.into());
        }
    }
    if !run.allow_oom && server.oom && !run.obey_client && !run.write_dirty && cmd.deny_oom {
        return Err(errors::CALL_OOM.into());
    }
    if cmd.write {
        run.write_dirty = true;
    }
    Ok(())
}
