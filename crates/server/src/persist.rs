//! Persistence state in the server: changes since the last save, save points, background
//! saves and shutdown. (The RDB codec and snapshot writer live in the `rdb` and `persistence`
//! crates.)

use crate::server::{now_ms, Server};
use crate::{log_notice, log_warning};

#[derive(Default)]
pub struct Persist {
    /// Changes since the last successful save (`rdb_changes_since_last_save`).
    pub dirty: u64,
    pub dirty_at_save_start: u64,
    pub last_save_unix: i64,
    pub last_bgsave_ok: bool,
    pub last_bgsave_status_set: bool,
    pub bgsave_in_progress: bool,
    pub bgsave_started_ms: i64,
    pub last_bgsave_time_sec: i64,
    pub bgsave_scheduled: bool,
    pub last_bgsave_try_ms: i64,
}

/// Result of a background save, sent back by the saving thread.
pub struct SaveOutcome {
    pub ok: bool,
    pub error: Option<String>,
    pub replication: bool,
}

/// SHUTDOWN options.
#[derive(Clone, Copy, Debug, Default)]
pub struct ShutdownRequest {
    pub save: bool,
    pub nosave: bool,
    pub now: bool,
    pub force: bool,
    /// Client waiting for the reply if shutdown fails.
    pub client: Option<u64>,
}

/// True if writes must be refused because the last background save failed
/// (`stop-writes-on-bgsave-error`).
pub fn writes_denied(s: &Server) -> bool {
    s.cfg.get_bool("stop-writes-on-bgsave-error")
        && s.persist.last_bgsave_status_set
        && !s.persist.last_bgsave_ok
        && has_save_points(s)
}

pub fn has_save_points(s: &Server) -> bool {
    !s.cfg.get("save").is_empty()
}

pub fn on_save_done(s: &mut Server, outcome: SaveOutcome) {
    s.persist.bgsave_in_progress = false;
    s.persist.last_bgsave_time_sec = (now_ms() - s.persist.bgsave_started_ms) / 1000;
    s.persist.last_bgsave_status_set = true;
    s.persist.last_bgsave_ok = outcome.ok;
    if outcome.ok {
        s.persist.dirty = s
            .persist
            .dirty
            .saturating_sub(s.persist.dirty_at_save_start);
        s.persist.last_save_unix = now_ms() / 1000;
        log_notice!("Background saving terminated with success");
    } else {
        log_warning!(
            "Background saving error: {}",
            outcome.error.unwrap_or_default()
        );
    }
}

pub fn cron(_s: &mut Server, _now: i64) {}

/// Runs the shutdown sequence; on success the event loop exits.
pub fn try_shutdown(s: &mut Server, req: ShutdownRequest) {
    log_warning!("User requested shutdown...");
    let save = (req.save || has_save_points(s)) && !req.nosave;
    if save {
        log_warning!("Shutdown with save requested, but saving is not available yet: exiting without saving.");
    }
    let pidfile = s.cfg.get("pidfile").to_string();
    if !pidfile.is_empty() {
        let _ = std::fs::remove_file(&pidfile);
    }
    let sock = s.cfg.get("unixsocket").to_string();
    if !sock.is_empty() {
        let _ = std::fs::remove_file(&sock);
    }
    log_warning!("Redwing is now ready to exit, bye bye...");
    s.exit_code = Some(0);
}

/// INFO persistence fields.
pub fn info_fields(s: &Server, out: &mut String) {
    use std::fmt::Write;
    let p = &s.persist;
    let now = now_ms();
    let mut f = |k: &str, v: String| {
        let _ = write!(out, "{k}:{v}\r\n");
    };
    f("loading", (s.loading as u8).to_string());
    f("async_loading", "0".into());
    f("current_cow_peak", "0".into());
    f("current_cow_size", "0".into());
    f("current_cow_size_age", "0".into());
    f("current_fork_perc", "0.00".into());
    f("current_save_keys_processed", "0".into());
    f("current_save_keys_total", "0".into());
    f("rdb_changes_since_last_save", p.dirty.to_string());
    f(
        "rdb_bgsave_in_progress",
        (p.bgsave_in_progress as u8).to_string(),
    );
    f("rdb_last_save_time", p.last_save_unix.to_string());
    f(
        "rdb_last_bgsave_status",
        if !p.last_bgsave_status_set || p.last_bgsave_ok {
            "ok"
        } else {
            "err"
        }
        .into(),
    );
    f(
        "rdb_last_bgsave_time_sec",
        if p.last_bgsave_status_set {
            p.last_bgsave_time_sec
        } else {
            -1
        }
        .to_string(),
    );
    f(
        "rdb_current_bgsave_time_sec",
        if p.bgsave_in_progress {
            (now - p.bgsave_started_ms) / 1000
        } else {
            -1
        }
        .to_string(),
    );
    f("rdb_saves", "0".into());
    f("rdb_last_cow_size", "0".into());
    f("rdb_last_load_keys_expired", "0".into());
    f("rdb_last_load_keys_loaded", "0".into());
    f("aof_enabled", "0".into());
    f("aof_rewrite_in_progress", "0".into());
    f("aof_rewrite_scheduled", "0".into());
    f("aof_last_rewrite_time_sec", "-1".into());
    f("aof_current_rewrite_time_sec", "-1".into());
    f("aof_last_bgrewrite_status", "ok".into());
    f("aof_rewrites", "0".into());
    f("aof_rewrites_consecutive_failures", "0".into());
    f("aof_last_write_status", "ok".into());
    f("aof_last_cow_size", "0".into());
    f("module_fork_in_progress", "0".into());
    f("module_fork_last_cow_size", "0".into());
}

/// Serialized length of a value in an RDB (DEBUG OBJECT `serializedlength`).
pub fn serialized_length(o: &keyspace::Obj) -> usize {
    o.mem_usage()
}

/// FLUSHALL also resets the save state (and saves when save points exist, once RDB lands).
pub fn after_flushall(_s: &mut Server) {}

/// SHUTDOWN ABORT: true if a pending shutdown was cancelled.
pub fn abort_shutdown(s: &mut Server) -> bool {
    s.shutdown.take().is_some()
}

/// Loads `dir/dbfilename` at start-up (once the RDB codec lands); a bad file stops start-up.
pub fn load_at_startup(s: &mut Server) -> Result<(), String> {
    s.persist.last_save_unix = now_ms() / 1000;
    Ok(())
}
