//! Backpressure on writers (`repl-backpressure`): the primary machine says which replica is
//! closest to its output-buffer limit ([`replication::primary::pressure`]); this keeps that
//! reading (`state::Backpressure`) fresh (once per event-loop pass), decides which commands
//! wait and how long, and keeps the episode's figures for INFO and the log. Holding and releasing the commands is the
//! core's (`core::blocked`): this layer cannot run commands.

use std::fmt::Write as _;

use commands::spec::{flags as f, CommandSpec};
use replication::primary::pressure::{write_delay_ms, END_LEVEL, START_LEVEL};

use crate::log_notice;
use crate::server::Server;

/// Reads the replicas' buffers again; starts or ends an episode (logged). True when writes
/// that wait may go now (the level fell under the start level, or writes are not slowed any
/// more: `repl-backpressure no` or a maximum delay of 0). The level is read either way (INFO).
pub fn refresh(s: &mut Server, now_ms: i64) -> bool {
    let slowing = s.cfg.repl_backpressure && s.cfg.repl_backpressure_max_delay_ms > 0;
    let r = &s.repl;
    let clients = &s.net.clients;
    let reading = if r.primary.replica_count() == 0 && r.primary.waiting_psync() == 0 {
        None
    } else {
        r.primary.pressure(&r.hist, |id| {
            s.net
                .client_key(id)
                .and_then(|k| clients.get(k))
                .map_or(0, |c| c.pending_output() as u64)
        })
    };
    let name = reading.map(|p| r.primary.replica_name(p.replica));
    let bp = &mut s.repl.bp;
    bp.now = reading;
    let level = if slowing { bp.level() } else { 0.0 };
    match bp.since_ms {
        None if level >= START_LEVEL => {
            bp.since_ms = Some(now_ms);
            if let (Some(p), Some(name)) = (reading, name) {
                log_notice!(
                    "Slowing writes: replica {name} holds {} of its {} output-buffer limit ({}%).",
                    mb(p.held),
                    mb(p.limit),
                    (level * 100.0) as u64
                );
                bp.replica = name;
            }
        }
        Some(since) if level < END_LEVEL => {
            let lasted = (now_ms - since).max(0) as u64;
            bp.since_ms = None;
            bp.last_episode_ms = lasted;
            bp.total_ms += lasted;
            log_notice!(
                "Writes no longer slowed for replica {} after {lasted} ms ({} commands delayed so far, {} ms in total).",
                bp.replica,
                bp.delayed_commands,
                bp.delay_total_ms
            );
        }
        _ => {}
    }
    level < START_LEVEL
}

/// How long the command must wait before it runs (0: it runs now). Only writes wait — a
/// command whose `flags` (the core's: a script's declared flags for EVAL and FCALL, write for
/// an EXEC holding a write) say write or may-replicate — never reads, PUBLISH, or anything
/// from a replica or the primary link (the caller checks the origin).
pub fn write_delay(s: &Server, spec: &CommandSpec, flags: u64) -> u64 {
    if !s.cfg.repl_backpressure || s.repl.bp.level() < START_LEVEL {
        return 0;
    }
    let writes =
        flags & (f::WRITE | f::MAY_REPLICATE) != 0 && !matches!(spec.name, "publish" | "spublish");
    if !writes {
        return 0;
    }
    write_delay_ms(
        s.repl.bp.level(),
        s.cfg.repl_backpressure_max_delay_ms.max(0) as u64,
    )
}

/// A command that waited `waited_ms` is released.
pub fn count_delay(s: &mut Server, waited_ms: u64) {
    s.repl.bp.delay_total_ms += waited_ms;
}

/// The `repl_backpressure_*` fields of INFO replication.
pub fn info_fields(s: &Server, now_ms: i64, out: &mut String) {
    let bp = &s.repl.bp;
    let current = bp.since_ms.map_or(0, |t| (now_ms - t).max(0) as u64);
    let level = (bp.level() * 100.0) as u64;
    let _ = write!(
        out,
        "repl_backpressure_active:{}\r\nrepl_backpressure_level_perc:{level}\r\nrepl_backpressure_replica:{}\r\nrepl_backpressure_episode_ms:{}\r\nrepl_backpressure_time_ms:{}\r\nrepl_backpressure_delayed_commands:{}\r\nrepl_backpressure_delay_total_ms:{}\r\n",
        bp.since_ms.is_some() as u8,
        bp.replica,
        if bp.since_ms.is_some() { current } else { bp.last_episode_ms },
        bp.total_ms + current,
        bp.delayed_commands,
        bp.delay_total_ms,
    );
}

fn mb(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / (1 << 20) as f64)
}
