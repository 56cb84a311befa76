//! The replication state of this node: its ids and stream buffer, its replicas (as a primary),
//! its links to a primary (as a replica), and counters. Only data and the queries and updates
//! that need nothing else; the decisions and the socket work are in [`super::primary`] and
//! [`super::replica`].

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use replication::peer::{PeerInfo, PeerState};
use replication::{Link, ReplBuffer, ReplIds};

use super::load::{LoadResult, Loader};
use super::transfer::JobDone;

/// Background results for replication.
pub enum ReplBgEvent {
    TransferDone(JobDone),
    LoadDone(Box<LoadResult>),
}

#[derive(Default, Clone, Copy)]
pub struct ReplStats {
    pub sync_full: u64,
    pub sync_partial_ok: u64,
    pub sync_partial_err: u64,
}

/// Replication state of this node.
pub struct Repl {
    /// Results of the transfer and loader threads.
    pub events: crate::bg::BgChannel<ReplBgEvent>,
    pub ids: ReplIds,
    /// The stream buffer/backlog (`None` until a replica first attaches).
    pub buf: Option<ReplBuffer>,
    /// Database of the last SELECT written to the stream (-1 forces a SELECT).
    pub last_db: i64,
    /// Replicas of this node, by client id.
    pub replicas: BTreeMap<u64, Replica>,
    /// Transfers running, by job id.
    pub jobs: HashMap<u64, JobState>,
    pub next_job: u64,
    /// Our primary, when we are a replica.
    pub current: Option<Upstream>,
    /// A REPLICAOF attempt that has not been answered yet (nothing changes until it is).
    pub pending: Option<Upstream>,
    /// Position kept when the link to our primary is lost (for PSYNC).
    pub cached: Option<Cached>,
    pub stats: ReplStats,
    pub no_replicas_since_ms: i64,
    /// Replication cron seconds since start (Redis's `replication_cron_loops`).
    pub cron_secs: u64,
    pub getack_requested: bool,
    pub good_replicas: usize,
    /// Writes are held while a REPLICAOF attempt waits for its PSYNC reply.
    pub frozen: bool,
    pub last_ack_sent_ms: i64,
    pub failover_state: &'static str,
    /// Dual-channel: how long a finished snapshot connection keeps its backlog pin for the
    /// main connection's PSYNC (`DEBUG DELAY-RDB-CLIENT-FREE-SECONDS`).
    pub rdb_client_grace_secs: u64,
    /// Dual-channel snapshot connections whose main connection has not PSYNCed yet, by
    /// client id (INFO `replicas_waiting_psync`). Each pins the backlog from its offset.
    pub waiting_psync: BTreeMap<u64, WaitingPsync>,
    /// `DEBUG PAUSE-AFTER-FORK 1`: SIGSTOP before a dual-channel PSYNC.
    pub pause_before_dual_psync: bool,
}

impl Repl {
    pub fn new(waker: std::sync::Arc<mio::Waker>) -> Repl {
        Repl {
            events: crate::bg::BgChannel::new(waker),
            ids: ReplIds::new(crate::util::random_hex40()),
            buf: None,
            last_db: -1,
            replicas: BTreeMap::new(),
            jobs: HashMap::new(),
            next_job: 1,
            current: None,
            pending: None,
            cached: None,
            stats: ReplStats::default(),
            no_replicas_since_ms: crate::util::now_ms(),
            cron_secs: 0,
            getack_requested: false,
            good_replicas: 0,
            frozen: false,
            last_ack_sent_ms: 0,
            failover_state: "no-failover",
            rdb_client_grace_secs: 60,
            waiting_psync: BTreeMap::new(),
            pause_before_dual_psync: false,
        }
    }

    /// True if this node follows a primary.
    pub fn is_replica(&self) -> bool {
        self.current.is_some()
    }

    /// True if the link to our primary is streaming.
    pub fn link_up(&self) -> bool {
        self.current.as_ref().is_some_and(|u| {
            u.link.state() == replication::LinkState::Streaming && u.client.is_some()
        })
    }

    /// `master_repl_offset`.
    pub fn offset(&self) -> i64 {
        self.ids.offset
    }

    /// True while client `key` applies our primary's stream.
    pub fn is_replica_applying(&self, key: usize) -> bool {
        self.current.as_ref().and_then(|u| u.client) == Some(key)
    }

    pub fn reset_stats(&mut self) {
        self.stats = ReplStats::default();
    }

    pub fn backlog_memory(&self) -> usize {
        self.buf.as_ref().map_or(0, ReplBuffer::memory)
    }

    pub fn local_buffer_memory(&self) -> usize {
        self.current.as_ref().map_or(0, |u| u.stream_buf.len())
    }

    /// (sync_full, sync_partial_ok, sync_partial_err)
    pub fn sync_stats(&self) -> (u64, u64, u64) {
        (
            self.stats.sync_full,
            self.stats.sync_partial_ok,
            self.stats.sync_partial_err,
        )
    }

    /// Backlog window as (first byte, histlen), if there is a backlog.
    pub fn backlog_window(&self) -> Option<(i64, i64)> {
        self.buf.as_ref().map(|b| (b.first_byte(), b.histlen()))
    }

    /// Appends raw stream bytes (proxying on a replica, or generated on a primary).
    pub fn append(&mut self, bytes: &[u8]) {
        if let Some(b) = self.buf.as_mut() {
            b.append(bytes);
            self.ids.offset = b.end();
        }
    }

    /// Replication position to record in an RDB saved now (repl-id, repl-offset,
    /// repl-stream-db): what this node can later continue from.
    pub fn rdb_info(&self) -> Option<persistence::ReplInfo> {
        if let Some(u) = &self.current {
            if self.link_up() {
                return Some(persistence::ReplInfo {
                    replid: self.ids.replid.clone(),
                    offset: u.reploff,
                    stream_db: u.db as i64,
                });
            }
            return self.cached.as_ref().map(|c| persistence::ReplInfo {
                replid: c.replid.clone(),
                offset: c.offset,
                stream_db: c.db as i64,
            });
        }
        self.buf.as_ref()?;
        Some(persistence::ReplInfo {
            replid: self.ids.replid.clone(),
            offset: self.ids.offset,
            stream_db: self.last_db.max(0),
        })
    }

    /// True while this replica loads a new dataset aside and keeps serving the old one.
    pub fn async_loading(&self) -> bool {
        self.current.as_ref().is_some_and(|u| u.loader.is_some())
    }

    /// REPLCONF ACK <applied offset> to our primary, when the link is streaming (legacy SYNC
    /// links get none).
    pub fn send_ack(&self, net: &mut crate::net::Net) {
        let Some(u) = self.current.as_ref() else {
            return;
        };
        if u.pre_psync || !self.link_up() {
            return;
        }
        if let Some(c) = u.client.and_then(|k| net.clients.get_mut(k)) {
            let ack = replication::proto::command(&["REPLCONF", "ACK", &u.reploff.to_string()]);
            c.push_raw(&ack);
        }
    }

    /// Closes every replica of this node (its history is being replaced).
    pub fn disconnect_replicas(&self, net: &mut crate::net::Net) {
        for id in self.replicas.keys() {
            if let Some(c) = net.client_by_id(*id) {
                c.close_asap = true;
            }
        }
    }

    /// A bare newline from a replica: a liveness signal while it loads.
    pub fn on_replica_newline(&mut self, id: u64) {
        if let Some(r) = self.replicas.get_mut(&id) {
            r.ack_time_ms = crate::util::now_ms();
        }
    }

    /// Creates the backlog at the current offset if missing.
    pub fn ensure_backlog(&mut self, size: usize) {
        if self.buf.is_none() {
            self.buf = Some(ReplBuffer::new(self.ids.offset, size));
        }
    }
}

/// A replica as the primary sees it.
pub struct Replica {
    pub client_id: u64,
    pub info: PeerInfo,
    pub state: PeerState,
    /// Peer address (used when no ip was announced).
    pub addr_ip: String,
    pub ack_offset: i64,
    pub ack_time_ms: i64,
    /// Next stream byte to queue into the replica's output.
    pub next_offset: i64,
    pub waiting_since_ms: i64,
    /// Legacy SYNC: no +FULLRESYNC, no ACK timeout.
    pub pre_psync: bool,
    /// Transfer carrying its snapshot, if one is running.
    pub job: Option<u64>,
    pub snapshot_offset: i64,
    /// An ACK arrived before the transfer was reported done: stream at once after it.
    pub early_ack: bool,
}

impl Replica {
    /// The address reported in INFO and ROLE.
    pub fn ip(&self) -> &str {
        self.info.ip.as_deref().unwrap_or(&self.addr_ip)
    }
}

/// A dual-channel snapshot connection waiting for its main connection's PSYNC.
pub struct WaitingPsync {
    /// The snapshot's offset; the backlog is pinned from the byte after it.
    pub offset: i64,
    /// When the snapshot connection closed (the grace period runs from then).
    pub closed_at_ms: Option<i64>,
}

/// A running transfer.
pub struct JobState {
    pub replicas: Vec<u64>,
    pub eof_form: bool,
    pub cancel: Arc<AtomicBool>,
}

/// Position remembered when the link to the primary is lost, for the next PSYNC.
#[derive(Clone, Debug)]
pub struct Cached {
    pub replid: String,
    /// Last applied byte.
    pub offset: i64,
    pub db: usize,
}

/// A link to a primary (current or pending).
pub struct Upstream {
    pub host: String,
    pub port: u16,
    pub link: Link,
    /// Client slot of the connection.
    pub client: Option<usize>,
    pub connecting: bool,
    pub retry_at_ms: i64,
    pub last_error: Option<String>,
    pub loader: Option<Loader>,
    /// Stream bytes that arrived while the payload was loading.
    pub stream_buf: Vec<u8>,
    /// Applied offset (`slave_repl_offset`).
    pub reploff: i64,
    /// Read offset (`slave_read_repl_offset`).
    pub read_reploff: i64,
    /// Database selected by the primary's stream.
    pub db: usize,
    /// Bytes of an open MULTI block, applied and proxied at EXEC.
    pub multi_bytes: Vec<u8>,
    pub down_since_ms: Option<i64>,
    pub last_io_ms: i64,
    /// What our PSYNC asked for (id, first byte).
    pub psync_from: Option<(String, i64)>,
    /// Legacy SYNC fallback: no ACKs.
    pub pre_psync: bool,
    pub next_load_id: u64,
    /// The link is not read: the local stream buffer reached its limit (the primary buffers
    /// instead), until the buffered stream is applied.
    pub paused_reading: bool,
    /// This sync is a dual-channel one.
    pub dual: bool,
    /// Dual-channel: the snapshot connection.
    pub rdb: Option<RdbConn>,
    /// Dual-channel: a snapshot loaded before the main connection's +CONTINUE arrived.
    pub dual_loaded: Option<Box<persistence::Loaded>>,
    /// Dual-channel: the main connection's PSYNC was accepted.
    pub dual_continued: bool,
    /// High-water mark of `stream_buf` (INFO `replicas_repl_buffer_peak`).
    pub buf_peak: usize,
}

/// The snapshot connection of a dual-channel sync.
pub struct RdbConn {
    pub link: Link,
    pub client: Option<usize>,
    pub connecting: bool,
}

impl Upstream {
    /// Forgets a sync in progress (loader, buffers, the dual-channel state); returns the
    /// client slots to close. A loaded dataset still waiting is freed in the background.
    pub fn abandon_sync(&mut self) -> Vec<usize> {
        self.loader = None;
        self.stream_buf = Vec::new();
        self.paused_reading = false;
        self.dual = false;
        self.dual_continued = false;
        if let Some(l) = self.dual_loaded.take() {
            keyspace::lazyfree::free_in_background(l.dbs, 1);
        }
        self.rdb.take().and_then(|r| r.client).into_iter().collect()
    }
}
