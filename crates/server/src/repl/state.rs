//! The replication state of this node: the three machines of the `replication` crate —
//! [`History`] (ids, stream buffer and backlog), [`Primary`] (its replicas) and [`Follower`]
//! (its primary) — and what only the executor knows: which client carries each of the
//! follower's links, the loads and snapshot transfers running on other threads, and events
//! waiting to be reported to a machine. Data and queries only; the executor is in
//! [`super::primary`] and [`super::replica`].

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use replication::follower::{Follower, FollowerConfig, LinkId, LoadId};
use replication::primary::pressure::Pressure;
use replication::primary::{ClientId, JobId, OutputLimit, Primary, PrimaryConfig};
use replication::{History, LinkConfig};

use crate::config::Config;

use super::load::{LoadResult, Loader};
use super::transfer::JobDone;

/// Background results for replication.
pub enum ReplBgEvent {
    TransferDone(JobDone),
    LoadDone(Box<LoadResult>),
    /// A partial resync's start was sent from the disk backlog (or failed).
    DiskCatchupDone {
        client_id: u64,
        result: Result<(), String>,
    },
}

/// A payload load the follower started.
pub enum Load {
    /// The loader thread is parsing it.
    Running(Loader),
    /// Loaded aside, waiting for the follower's `SwapDataset` (a dual-channel sync whose
    /// main connection has not been continued yet).
    Loaded(Box<persistence::Loaded>),
}

/// A snapshot transfer running on its thread.
pub struct Job {
    pub cancel: Arc<AtomicBool>,
    /// [`types::cow::total`] when its snapshot was taken.
    pub cow_base: u64,
    /// Members whose socket could not be handed to the thread: failed from the start.
    pub failed: Vec<(ClientId, Result<(), String>)>,
    pub progress: Progress,
    /// When its progress was last logged.
    pub logged_ms: i64,
}

/// How far a snapshot transfer is, shared with its thread (INFO, progress logs).
#[derive(Clone)]
pub struct Progress {
    pub started_ms: i64,
    /// Keys in the snapshot.
    pub total_keys: u64,
    /// Keys serialised so far.
    pub keys: Arc<AtomicU64>,
    /// Payload bytes sent to each replica of the job.
    pub sent: Arc<AtomicU64>,
    /// Disk form: the RDB file is written first (phase `snapshot`), then sent.
    pub disk: bool,
}

impl Progress {
    pub fn keys_done(&self) -> u64 {
        self.keys.load(Ordering::Relaxed).min(self.total_keys)
    }

    pub fn sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }

    /// Share of the snapshot serialised, in percent.
    pub fn perc(&self) -> f64 {
        if self.total_keys == 0 {
            return 100.0;
        }
        self.keys_done() as f64 * 100.0 / self.total_keys as f64
    }

    /// Seconds left at the pace so far (-1 before the first key).
    pub fn eta_secs(&self, now_ms: i64) -> i64 {
        replication::clock::eta_secs(self.keys_done(), self.total_keys, now_ms - self.started_ms)
    }

    /// Replica phase while this job serves it: `snapshot` while a disk job writes its file,
    /// `transfer` while bytes go out.
    pub fn phase(&self) -> &'static str {
        if self.disk && self.keys_done() < self.total_keys {
            "snapshot"
        } else {
            "transfer"
        }
    }
}

/// What happened while the executor was performing a machine's actions, reported to the
/// machine once those actions are done (never from inside them).
#[derive(Debug)]
pub enum Deferred {
    /// A connection the follower asked for could not be opened.
    LinkClosed(LinkId),
    /// A load could not be started or fed.
    LoadFailed(LoadId, String),
    /// A snapshot job could not start at all.
    JobFailed(JobId, String),
    /// A catch-up from the disk backlog could not start.
    DiskCatchupFailed(ClientId, String),
    /// The target of this node's FAILOVER answered `PSYNC … FAILOVER`: accepted (`None`) or
    /// refused (its reply).
    FailoverAnswered(Option<String>),
}

/// The primary's stream stopped at a command this node does not know (INFO
/// `master_stream_halted_*`): it holds the data up to just before it, and streams again only
/// after a full sync or the operator's REPLICAOF.
/// Halts further apart than this start a new streak (no backoff for the first halt).
pub const HALT_STREAK_WINDOW_MS: i64 = 10 * 60 * 1000;
/// The longest wait before the full sync after a halt.
pub const HALT_BACKOFF_MAX_MS: i64 = 5 * 60 * 1000;

/// How long a replica waits before asking for the full sync after the `streak`-th halt in a
/// row: at once after the first (one unknown command costs one full sync), then 1 s, doubling
/// up to [`HALT_BACKOFF_MAX_MS`], so that a primary that keeps sending a command this node
/// does not know is not asked for a full sync every few seconds.
pub fn halt_backoff_ms(streak: u32) -> i64 {
    match streak {
        0 | 1 => 0,
        n => 1000i64
            .saturating_mul(1 << (n - 2).min(20))
            .min(HALT_BACKOFF_MAX_MS),
    }
}

#[derive(Clone, Debug)]
pub struct Halted {
    /// The command's name as received (printable, truncated).
    pub command: String,
    /// The stream offset of its first byte.
    pub offset: i64,
    /// Halts in a row, this one included.
    pub streak: u32,
}

/// Backpressure's reading and its figures.
#[derive(Default)]
pub struct Backpressure {
    /// The fullest replica at the last pass (None: nothing held, or no limit).
    pub now: Option<Pressure>,
    /// The replica of the current or last episode (`ip:port`).
    pub replica: String,
    /// When the current episode started (unix ms); None when writes are not slowed.
    pub since_ms: Option<i64>,
    /// Length of the last finished episode.
    pub last_episode_ms: u64,
    /// Time writes were slowed, over finished episodes.
    pub total_ms: u64,
    /// Write commands that waited.
    pub delayed_commands: u64,
    /// Time they waited, in total.
    pub delay_total_ms: u64,
    /// Writes waiting now (at most: a client freed while it waited is counted until the
    /// next release).
    pub held: usize,
}

impl Backpressure {
    /// The level of the fullest replica (0 when none holds anything).
    pub fn level(&self) -> f64 {
        self.now.map_or(0.0, |p| p.level())
    }
}

/// Replication state of this node.
pub struct Repl {
    /// Results of the transfer and loader threads.
    pub events: crate::bg::BgChannel<ReplBgEvent>,
    pub hist: History,
    pub primary: Primary,
    pub follower: Follower,
    /// The follower's connections: link id → client slab key.
    pub links: BTreeMap<LinkId, usize>,
    /// Links the follower asked not to read (local buffer full, or the link to a primary
    /// being left, frozen while the new one answers PSYNC: its stream is not applied either).
    pub paused: BTreeSet<LinkId>,
    /// Stream bytes of a MULTI block being applied on a link, reported as one unit at EXEC.
    pub units: BTreeMap<LinkId, Vec<u8>>,
    pub loads: BTreeMap<LoadId, Load>,
    /// Snapshot transfers running, by job.
    pub jobs: BTreeMap<JobId, Job>,
    pub deferred: VecDeque<Deferred>,
    /// Nesting of action lists being performed: deferred events are reported at 0.
    pub depth: u32,
    /// A FAILOVER of this node's primary role (`repl::failover`).
    pub failover: replication::primary::failover::Failover,
    /// `DEBUG DELAY-RDB-CLIENT-FREE-SECONDS` (the primary machine's grace period).
    pub rdb_client_grace_secs: u64,
    /// `DEBUG PAUSE-AFTER-FORK 1`: SIGSTOP before a dual-channel PSYNC (replica side) and
    /// once a snapshot transfer has been delivered (primary side; see `debug_or_unknown`).
    pub pause_after_fork: bool,
    /// Writers slowed for a replica that holds too much (`repl-backpressure`).
    pub bp: Backpressure,
    /// When the stream reached each offset (lag in time, PSYNC headroom).
    pub clock: replication::clock::WriteClock,
    /// When the follower's full-sync progress was last logged.
    pub sync_logged_ms: i64,
    /// The stream stopped at an unknown command.
    pub halted: Option<Halted>,
    /// Halts in a row, each within [`HALT_STREAK_WINDOW_MS`] of the one before, and when the
    /// last one was: what the backoff of the next full sync grows with.
    pub halt_streak: (u32, i64),
    /// `repl-backlog-disk-size`: started when first turned on.
    pub disk: Option<super::disk_backlog::DiskBacklog>,
    /// Its directory could not be set up (logged once; tried again after a CONFIG SET).
    pub disk_start_failed: bool,
    /// `repl-backlog-disk-dir` as the disk backlog was last started with (a change moves it).
    pub disk_dir: String,
}

impl Repl {
    pub fn new(waker: Arc<mio::Waker>, cfg: &Config) -> Repl {
        let now = crate::util::now_ms();
        let backlog_size = cfg.repl_backlog_size_bytes.max(0) as usize;
        Repl {
            events: crate::bg::BgChannel::new(waker),
            hist: History::new(crate::util::random_hex40(), backlog_size),
            primary: Primary::new(primary_config(cfg, 60), now),
            follower: Follower::new(follower_config(cfg), now),
            links: BTreeMap::new(),
            paused: BTreeSet::new(),
            units: BTreeMap::new(),
            loads: BTreeMap::new(),
            jobs: BTreeMap::new(),
            deferred: VecDeque::new(),
            depth: 0,
            failover: Default::default(),
            rdb_client_grace_secs: 60,
            pause_after_fork: false,
            bp: Default::default(),
            clock: Default::default(),
            sync_logged_ms: 0,
            halted: None,
            halt_streak: (0, 0),
            disk: None,
            disk_start_failed: false,
            disk_dir: String::new(),
        }
    }

    /// True if this node follows a primary (from the moment of REPLICAOF): writes are
    /// refused, ROLE says `slave`.
    pub fn is_replica(&self) -> bool {
        self.follower.is_replica()
    }

    /// True if the link to our primary is streaming.
    pub fn link_up(&self) -> bool {
        self.follower.link_up()
    }

    /// `master_repl_offset`.
    pub fn offset(&self) -> i64 {
        self.hist.offset()
    }

    /// True if commands executed here go to the stream: a top primary with a backlog
    /// (replicas proxy their primary's bytes instead).
    pub fn propagating(&self) -> bool {
        self.hist.backlog().is_some() && !self.follower.is_replica()
    }

    pub fn reset_stats(&mut self) {
        self.primary.reset_stats();
    }

    pub fn backlog_memory(&self) -> usize {
        self.hist.backlog().map_or(0, |b| b.memory())
    }

    /// The stream the backlog keeps past `repl-backlog-size` for replicas (pinned during their
    /// snapshot, or not yet queued to them): counted as replicas' memory (INFO
    /// `mem_clients_slaves`, not against maxmemory), as Valkey counts its shared replication
    /// buffer beyond the backlog size.
    pub fn replica_stream_memory(&self) -> u64 {
        if self.primary.replica_count() == 0 {
            return 0;
        }
        self.backlog_memory()
            .saturating_sub(self.hist.backlog_size()) as u64
    }

    /// Bytes waiting on replicas' connections that the backlog does not hold too: a
    /// streaming replica's queue is slices of the backlog's blocks, kept there from its first
    /// unsent byte (its pin), so only what lies beyond its pin counts (a reply, bytes queued
    /// after the last pass's pin).
    pub fn replica_queues_beyond_backlog(&self, net: &crate::net::Net) -> u64 {
        let buf = self.hist.backlog();
        net.clients
            .iter()
            .filter(|(_, c)| c.is_replica())
            .map(|(_, c)| {
                let shared = buf.and_then(|b| b.pinned_bytes(c.id)).unwrap_or(0);
                (c.pending_output() as u64).saturating_sub(shared)
            })
            .sum()
    }

    /// Memory held for replicas, which does not count against maxmemory (INFO
    /// `mem_not_counted_for_evict`): the backlog past its size and their own queues.
    pub fn replica_memory(&self, net: &crate::net::Net) -> u64 {
        self.replica_stream_memory() + self.replica_queues_beyond_backlog(net)
    }

    /// The follower's local stream buffer during a sync.
    pub fn local_buffer_memory(&self) -> usize {
        self.follower.buffer_size()
    }

    /// (sync_full, sync_partial_ok, sync_partial_err)
    pub fn sync_stats(&self) -> (u64, u64, u64) {
        let st = self.primary.stats();
        (st.sync_full, st.sync_partial_ok, st.sync_partial_err)
    }

    /// Replication position to record in an RDB saved now (repl-id, repl-offset,
    /// repl-stream-db): what this node can later continue from.
    pub fn rdb_info(&self) -> Option<persistence::ReplInfo> {
        self.follower
            .saved_position(&self.hist)
            .map(|p| persistence::ReplInfo {
                replid: p.replid,
                offset: p.offset,
                stream_db: p.stream_db,
            })
    }

    /// True while this replica loads a new dataset aside and keeps serving the old one.
    pub fn async_loading(&self) -> bool {
        self.follower.is_replica() && self.loads.values().any(|l| matches!(l, Load::Running(_)))
    }

    /// The follower's link carried by client `key`, if it is one (and still the follower's).
    pub fn link_of(&self, key: usize, link: Option<LinkId>) -> Option<LinkId> {
        link.filter(|l| self.links.get(l) == Some(&key))
    }
}

/// The primary machine's parameters from the configuration.
pub fn primary_config(cfg: &Config, rdb_client_grace_secs: u64) -> PrimaryConfig {
    let lim = cfg.client_output_buffer_limit.replica;
    PrimaryConfig {
        diskless_sync: cfg.repl_diskless_sync,
        diskless_sync_delay_ms: cfg.repl_diskless_sync_delay_secs.saturating_mul(1000),
        diskless_sync_max_replicas: cfg.repl_diskless_sync_max_replicas.max(0) as usize,
        dual_channel: cfg.dual_channel_replication_enabled,
        ping_period_secs: cfg.repl_ping_replica_period_secs.max(1) as u64,
        timeout_ms: cfg.repl_timeout_secs.saturating_mul(1000),
        backlog_ttl_ms: cfg.repl_backlog_ttl_secs.saturating_mul(1000),
        min_replicas_to_write: cfg.min_replicas_to_write.max(0) as usize,
        min_replicas_max_lag_ms: cfg.min_replicas_max_lag_secs.saturating_mul(1000),
        output_limit: OutputLimit {
            hard_bytes: lim.hard_bytes,
            soft_bytes: lim.soft_bytes,
            soft_ms: (lim.soft_secs as i64).saturating_mul(1000),
        },
        rdb_client_grace_ms: (rdb_client_grace_secs as i64).saturating_mul(1000),
    }
}

/// The follower machine's parameters from the configuration.
pub fn follower_config(cfg: &Config) -> FollowerConfig {
    // Valkey: the announced port, else `tls-port` when replicating over TLS, else `port`.
    let port = if cfg.replica_announce_port != 0 {
        cfg.replica_announce_port
    } else if cfg.tls_replication && cfg.tls_port != 0 {
        cfg.tls_port
    } else {
        cfg.port
    };
    let pass = cfg.primary_auth.as_str();
    let user = cfg.primary_user.as_str();
    FollowerConfig {
        link: LinkConfig {
            listening_port: port.clamp(0, 65535) as u16,
            announce_ip: Some(cfg.replica_announce_ip.as_str().to_string())
                .filter(|v| !v.is_empty()),
            auth: (!pass.is_empty()).then(|| {
                (
                    Some(user.to_string()).filter(|u| !u.is_empty()),
                    pass.to_string(),
                )
            }),
            dual_channel: cfg.dual_channel_replication_enabled,
            rdb_channel: false,
            timeout_ms: cfg.repl_timeout_secs.saturating_mul(1000),
        },
        buffer_limit_bytes: cfg.client_output_buffer_limit.replica.hard_bytes,
        retry_ms: 1000,
    }
}

#[cfg(test)]
mod halt_tests {
    use super::*;

    #[test]
    fn the_halt_backoff_doubles_from_the_second_halt_up_to_its_cap() {
        let waits: Vec<i64> = (0..6).map(halt_backoff_ms).collect();
        assert_eq!(waits, [0, 0, 1000, 2000, 4000, 8000]);
        assert_eq!(halt_backoff_ms(10), 256_000);
        assert_eq!(halt_backoff_ms(11), HALT_BACKOFF_MAX_MS);
        assert_eq!(halt_backoff_ms(u32::MAX), HALT_BACKOFF_MAX_MS);
    }
}
