//! The persistence state: save/load progress and counters, the background threads' channel,
//! and SHUTDOWN requests. Only data; the work is in [`super`].

use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::Arc;

use persistence::Loaded;

use crate::bg::BgChannel;

/// A background save to disk in progress.
pub struct BgSave {
    pub started_ms: i64,
    /// [`types::cow::total`] when its snapshot was taken.
    pub cow_base: u64,
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
    /// An AOF rewrite (by its id) wrote its base file (the size) or failed.
    AofRewriteDone(u64, Result<u64, String>),
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
    /// The append-only file.
    pub aof: AofState,
    /// Bytes copied because the last disk or replica snapshot shared them (`rdb_last_cow_size`).
    pub rdb_last_cow_size: u64,
    /// The same for the last AOF rewrite (`aof_last_cow_size`).
    pub aof_last_cow_size: u64,
    /// The highest `current_cow_size` seen while snapshots run (`current_cow_peak`).
    pub cow_peak: u64,
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
            rdb_last_cow_size: 0,
            aof_last_cow_size: 0,
            cow_peak: 0,
            skip_checksum_validation: false,
            aof: AofState::new(),
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

/// Where a shutdown stands (Valkey's `shutdown_asap` and `shutdown_mstime`; the sequence is
/// `crate::shutdown`).
#[derive(Clone, Copy, Debug, Default)]
pub enum ShutdownState {
    /// None requested.
    #[default]
    Idle,
    /// A signal asked for one: the next cron starts it (SHUTDOWN ABORT can still cancel).
    Requested(ShutdownRequest),
    /// Started: waits until every replica acknowledged the stream's end, or `deadline_ms`.
    Waiting {
        req: ShutdownRequest,
        deadline_ms: i64,
    },
}

/// Whether appended writes make a complete append-only file (Valkey's `aof_state`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AofStatus {
    /// `appendonly no`: nothing is appended.
    Off,
    /// Turned on at run time: writes go to a new incremental file, but the AOF is complete
    /// (and the manifest on disk names it) only once the first rewrite's base is written.
    WaitRewrite,
    /// Every write is appended; the manifest on disk names every file.
    On,
}

/// A rewrite in progress (BGREWRITEAOF): a snapshot written as the next base file.
pub struct AofRewrite {
    /// Tells its report from a cancelled rewrite's.
    pub id: u64,
    pub started_ms: i64,
    /// [`types::cow::total`] when its snapshot was taken.
    pub cow_base: u64,
    pub cancel: Arc<AtomicBool>,
    pub keys_done: Arc<AtomicU64>,
    pub keys_total: u64,
    /// The incremental file opened when the rewrite started: it and later ones stay, earlier
    /// ones become history when the new base is in place.
    pub first_kept_incr_seq: u64,
    /// The temporary file the base is written to.
    pub temp: std::path::PathBuf,
    /// Written with an RDB preamble (`aof-use-rdb-preamble`), hence `.base.rdb`.
    pub rdb_preamble: bool,
    /// `written_total` and the replication offset when it started: once the base is in
    /// place, everything fed before is on disk (WAITAOF, `FACK`).
    pub written_at_start: u64,
    pub repl_offset_at_start: i64,
}

/// The background fsync of `appendfsync everysec` (Valkey's bio job): one thread, one
/// request at a time.
pub struct AofFsyncer {
    pub requests: std::sync::mpsc::Sender<(Arc<std::fs::File>, u64)>,
    /// An fsync is running.
    pub busy: Arc<AtomicBool>,
    /// Bytes of the AOF (in `written_total`) known to be on disk.
    pub synced: Arc<AtomicU64>,
    /// The last background fsync's error (0: none), as an errno.
    pub errno: Arc<std::sync::atomic::AtomicI32>,
}

/// The append-only file's state (`persist::aof` does the work).
pub struct AofState {
    pub status: AofStatus,
    /// The manifest as on disk (in `WaitRewrite`, the one the first rewrite will write).
    pub manifest: persistence::aof::Manifest,
    /// The incremental file writes are appended to.
    pub file: Option<Arc<std::fs::File>>,
    /// Propagated commands not yet written (Valkey's `aof_buf`), written before replies go
    /// out.
    pub buf: Vec<u8>,
    /// The database the file's last SELECT chose.
    pub selected_db: Option<usize>,
    /// Second of the last `#TS:` annotation (`aof-timestamp-enabled`).
    pub last_timestamp: i64,
    /// Size of the base plus every incremental file (`aof_current_size`).
    pub current_size: u64,
    /// `current_size` right after the last rewrite or load (`aof_base_size`).
    pub base_size: u64,
    /// Size of the incremental file being appended to.
    pub incr_size: u64,
    /// The last base and incremental sequence numbers used (two counters, as Valkey's).
    pub base_seq: u64,
    pub incr_seq: u64,
    /// Bytes written to the AOF's files since start-up (never goes back; fsyncs, WAITAOF
    /// and the checkpoints count in it).
    pub written_total: u64,
    /// `written_total` at the last fsync request (everysec) or fsync (always).
    pub fsync_requested: u64,
    /// (written_total, replication offset) after each write: which stream offset a given
    /// amount of fsynced bytes covers (a replica's `FACK`).
    pub checkpoints: std::collections::VecDeque<(u64, i64)>,
    /// The stream offset known fsynced in the AOF (Valkey's `fsynced_reploff`).
    pub fsynced_reploff: i64,
    pub last_fsync_ms: i64,
    pub fsyncer: Option<AofFsyncer>,
    /// Why the last write failed (writes are refused with MISCONF until one succeeds).
    pub write_error: Option<String>,
    pub rewrite: Option<AofRewrite>,
    pub rewrite_scheduled: bool,
    pub last_rewrite_time_sec: i64,
    pub last_rewrite_ok: bool,
    pub rewrites: u64,
    pub rewrites_consecutive_failures: u64,
    /// Rewrites started since start-up (ids, temporary file names).
    pub rewrite_ids: u64,
    /// Commands are being replayed from the file (nothing they do propagates).
    pub replaying: bool,
    /// While the AOF loads: the loader's client key (usize::MAX before it exists), which
    /// the serving pass leaves alone while it answers the others `-LOADING`.
    pub serving_key: Option<usize>,
    /// Bytes of the files loaded before the current one, and how far into it (INFO
    /// `loading_loaded_bytes`).
    pub loaded_before: u64,
    /// DEBUG AOF-FLUSH-SLEEP: a sleep before each write of the buffer (tests of the
    /// write-before-reply barrier).
    pub flush_sleep_us: u64,
}

impl AofState {
    pub fn new() -> AofState {
        AofState {
            status: AofStatus::Off,
            manifest: Default::default(),
            file: None,
            buf: Vec::new(),
            selected_db: None,
            last_timestamp: 0,
            current_size: 0,
            base_size: 0,
            incr_size: 0,
            base_seq: 0,
            incr_seq: 0,
            written_total: 0,
            fsync_requested: 0,
            checkpoints: Default::default(),
            fsynced_reploff: 0,
            last_fsync_ms: 0,
            fsyncer: None,
            write_error: None,
            rewrite: None,
            rewrite_scheduled: false,
            last_rewrite_time_sec: -1,
            last_rewrite_ok: true,
            rewrites: 0,
            rewrites_consecutive_failures: 0,
            rewrite_ids: 0,
            replaying: false,
            serving_key: None,
            loaded_before: 0,
            flush_sleep_us: 0,
        }
    }
}

impl Default for AofState {
    fn default() -> Self {
        AofState::new()
    }
}
