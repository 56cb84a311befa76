//! The persistence state: save/load progress and counters, the background threads' channel,
//! and SHUTDOWN requests. Only data; the work is in [`super`].

use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::Arc;

use persistence::Loaded;

use crate::bg::BgChannel;

/// A background save to disk in progress.
pub struct BgSave {
    pub started_ms: i64,
    pub cancel: Arc<AtomicBool>,
    pub keys_done: Arc<AtomicU64>,
    pub keys_total: u64,
}

/// A load in progress (start-up).
pub struct LoadState {
    pub started_ms: i64,
    pub total_bytes: u64,
    pub read: Arc<AtomicU64>,
}

/// What background persistence threads report.
pub enum PersistEvent {
    /// A snapshot save to disk finished (BGSAVE).
    SaveDone(SaveOutcome),
    /// The start-up load finished.
    LoadDone(Box<Result<Loaded, String>>),
}

pub struct Persist {
    /// Results of the saving and loading threads.
    pub events: BgChannel<PersistEvent>,
    /// Changes since the last successful save (`rdb_changes_since_last_save`).
    pub dirty: u64,
    pub dirty_at_save_start: u64,
    pub last_save_unix: i64,
    pub last_bgsave_ok: bool,
    pub last_bgsave_status_set: bool,
    pub bgsave: Option<BgSave>,
    pub last_bgsave_time_sec: i64,
    pub bgsave_scheduled: bool,
    pub last_bgsave_try_ms: i64,
    pub rdb_saves: u64,
    pub loading: Option<LoadState>,
    pub last_load_keys_loaded: u64,
    pub last_load_keys_expired: u64,
    /// DEBUG SET-SKIP-CHECKSUM-VALIDATION: RDB loads and RESTORE payloads are not checked.
    pub skip_checksum_validation: bool,
}

impl Persist {
    pub fn new(waker: std::sync::Arc<mio::Waker>) -> Persist {
        Persist {
            events: BgChannel::new(waker),
            dirty: 0,
            dirty_at_save_start: 0,
            last_save_unix: 0,
            last_bgsave_ok: false,
            last_bgsave_status_set: false,
            bgsave: None,
            last_bgsave_time_sec: 0,
            bgsave_scheduled: false,
            last_bgsave_try_ms: 0,
            rdb_saves: 0,
            loading: None,
            last_load_keys_loaded: 0,
            last_load_keys_expired: 0,
            skip_checksum_validation: false,
        }
    }
}

/// Result of a background save, sent back by the saving thread.
pub struct SaveOutcome {
    pub ok: bool,
    pub error: Option<String>,
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
