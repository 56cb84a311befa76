//! The primary side of replication as a pure machine: the table of this node's replicas and
//! every decision about them.
//!
//! Events come in from the executor — REPLCONF, PSYNC and SYNC from a client
//! ([`Primary::on_replconf`], [`Primary::on_psync`], [`Primary::on_sync`]), a bare newline from
//! a replica, a snapshot job's end ([`Primary::on_job_finished`]), a client closed, a clock
//! tick, a configuration change — and [`Action`]s go out: a reply or raw bytes for a client,
//! stream slices to queue, a snapshot job to start or cancel, a client to close, a log line.
//! The executor performs them and owns the sockets, the snapshot threads and the client
//! table; it never decides. What the machine needs of the node's history it gets as a
//! [`History`] argument; what it needs of the node's upstream link, as an [`Upstream`].
//!
//! Decisions here: the PSYNC/SYNC answer (`+CONTINUE`, `+DUALCHANNELSYNC`, `-NOMASTERLINK`,
//! full sync) and Valkey's counters for it; which waiting replicas start a snapshot now, grouped
//! by what they need, to a socket or to disk, with the diskless delay and max-replicas rules;
//! the backlog pin each replica holds; ACKs (monotonic), the first ACK that releases an
//! ack-gated or dual-channel replica, WAIT counts and good replicas (min-replicas-*); PINGs,
//! keepalive newlines, timeouts, output-buffer limits on what a replica holds, the dual-channel
//! grace period and the backlog TTL. Not here: sockets, threads, the keyspace, the snapshot's
//! bytes, argument parsing of PSYNC (the executor answers a bad offset), PSYNC FAILOVER's
//! promotion (the follower's), WAIT's blocking.
//!
//! The executor's side of the contract:
//! - REPLCONF from any client → [`Primary::on_replconf`]; SYNC/PSYNC → [`Primary::on_sync`] /
//!   [`Primary::on_psync`] after its own checks (MONITOR client, pending output, argument
//!   errors, PSYNC FAILOVER: [`crate::follower::Follower::promote`] first); a bare newline
//!   from a replica → [`Primary::on_replica_newline`]; every client close →
//!   [`Primary::on_client_closed`]; a snapshot job's end (or failure to start) →
//!   [`Primary::on_job_finished`]; a configuration change → [`Primary::on_config`]; WAIT that
//!   blocks → [`Primary::request_getack`]; the cron → [`Primary::on_tick`]; before sleeping →
//!   [`Primary::flush`]; history replaced or renamed (the follower's
//!   `DropSubReplicas`) → [`Primary::disconnect_all`].
//! - Actions are performed in order; `Close` means the replica is already forgotten here (a
//!   later `on_client_closed` for it is harmless). The `upstream` argument is always
//!   [`crate::follower::Follower::upstream`] at the time of the event.

use std::collections::BTreeMap;

use bytes::Bytes;
use resp::Reply;

use crate::history::History;
use crate::peer::{self, PeerInfo, Replconf};
use crate::{LogLevel, PsyncRefusal};

mod cron;
pub mod failover;
mod jobs;
pub mod pressure;
#[cfg(test)]
mod tests;

pub use cron::over_limit;

/// The executor's id of a client connection (Redis's CLIENT ID).
pub type ClientId = u64;

/// A snapshot job started by [`Action::StartSnapshot`].
pub type JobId = u64;

/// The replica-side output-buffer limit (`client-output-buffer-limit replica`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OutputLimit {
    pub hard_bytes: u64,
    pub soft_bytes: u64,
    pub soft_ms: i64,
}

/// The parameters the machine obeys.
#[derive(Clone, Debug)]
pub struct PrimaryConfig {
    /// `repl-diskless-sync`.
    pub diskless_sync: bool,
    /// `repl-diskless-sync-delay`, in ms.
    pub diskless_sync_delay_ms: i64,
    /// `repl-diskless-sync-max-replicas` (0 = no maximum).
    pub diskless_sync_max_replicas: usize,
    /// `dual-channel-replication-enabled` (accepted from replicas only with diskless sync).
    pub dual_channel: bool,
    /// `repl-ping-replica-period`, in seconds.
    pub ping_period_secs: u64,
    /// `repl-timeout`, in ms.
    pub timeout_ms: i64,
    /// `repl-backlog-ttl`, in ms (0 = never freed).
    pub backlog_ttl_ms: i64,
    /// `min-replicas-to-write`.
    pub min_replicas_to_write: usize,
    /// `min-replicas-max-lag`, in ms.
    pub min_replicas_max_lag_ms: i64,
    pub output_limit: OutputLimit,
    /// How long a finished dual-channel snapshot connection keeps its backlog pin for the
    /// main connection's PSYNC (`DEBUG DELAY-RDB-CLIENT-FREE-SECONDS`, 60 s by default).
    pub rdb_client_grace_ms: i64,
}

impl Default for PrimaryConfig {
    /// Valkey 8's defaults.
    fn default() -> Self {
        PrimaryConfig {
            diskless_sync: true,
            diskless_sync_delay_ms: 5_000,
            diskless_sync_max_replicas: 0,
            dual_channel: false,
            ping_period_secs: 10,
            timeout_ms: 60_000,
            backlog_ttl_ms: 3_600_000,
            min_replicas_to_write: 0,
            min_replicas_max_lag_ms: 10_000,
            output_limit: OutputLimit {
                hard_bytes: 256 << 20,
                soft_bytes: 64 << 20,
                soft_ms: 60_000,
            },
            rdb_client_grace_ms: 60_000,
        }
    }
}

/// Where this node stands upstream (from the follower machine).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Upstream {
    /// A top-level primary: it generates the stream (PINGs, GETACKs) and serves every sync.
    None,
    /// A replica whose link is up: serves every sync, generates nothing.
    Up,
    /// A replica switching primaries whose history is still live (the old stream is still
    /// applied, or the node was a primary): partial resyncs are served, full ones refused.
    Switching,
    /// A replica whose link is down: `-NOMASTERLINK`.
    Down,
}

/// One replica's state, in the order a full sync goes through them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplicaState {
    /// Waiting for a snapshot to start (diskless delay, max-replicas). INFO `wait_bgsave`.
    WaitBgsaveStart { since_ms: i64 },
    /// Its snapshot job runs; the stream after `snapshot_offset` is pinned for it; an ACK that
    /// arrives meanwhile is remembered. INFO `wait_bgsave`.
    WaitBgsaveEnd {
        job: JobId,
        snapshot_offset: i64,
        early_ack: bool,
    },
    /// An EOF-form payload was delivered: online, but nothing is streamed before its first
    /// ACK (a Valkey loader discards bytes read past the mark). INFO `online`.
    AwaitFirstAck { next_offset: i64 },
    /// Streaming from `next_offset` (the first byte not yet queued). INFO `online`.
    Online { next_offset: i64 },
    /// A dual-channel main connection after its PSYNC: streaming while the replica loads the
    /// snapshot, online at its first ACK. INFO `bg_transfer`.
    BgTransfer { next_offset: i64 },
    /// A partial resync from further back than memory holds: the executor sends the stream
    /// up to `to` (exclusive) from the disk backlog, then it streams from `to` (pinned).
    /// INFO `online`.
    DiskCatchup { to: i64 },
}

impl ReplicaState {
    /// `state=` of INFO's `slaveN` line.
    pub fn info_name(self) -> &'static str {
        match self {
            ReplicaState::WaitBgsaveStart { .. } | ReplicaState::WaitBgsaveEnd { .. } => {
                "wait_bgsave"
            }
            ReplicaState::AwaitFirstAck { .. }
            | ReplicaState::Online { .. }
            | ReplicaState::DiskCatchup { .. } => "online",
            ReplicaState::BgTransfer { .. } => "bg_transfer",
        }
    }

    /// Valkey's `REPLICA_STATE_ONLINE`: counted by WAIT, ROLE and min-replicas.
    pub fn is_online(self) -> bool {
        matches!(
            self,
            ReplicaState::AwaitFirstAck { .. }
                | ReplicaState::Online { .. }
                | ReplicaState::DiskCatchup { .. }
        )
    }

    /// The next stream byte to queue, for states that stream.
    fn streaming_from(self) -> Option<i64> {
        match self {
            ReplicaState::Online { next_offset } | ReplicaState::BgTransfer { next_offset } => {
                Some(next_offset)
            }
            _ => None,
        }
    }
}

/// A replica as this primary sees it.
#[derive(Clone, Debug)]
pub struct Replica {
    pub info: PeerInfo,
    /// Connection address `ip:port` (logs; INFO's ip when none was announced).
    pub addr: String,
    pub state: ReplicaState,
    /// Highest offset it acknowledged.
    pub ack_offset: i64,
    /// Highest offset it reported in its AOF and fsynced (`FACK`; -1: it has no AOF, or
    /// never said).
    pub aof_offset: i64,
    /// Last ACK (or newline) from it.
    pub ack_time_ms: i64,
    /// Legacy SYNC: no `+FULLRESYNC`, no ACKs expected, no ACK timeout.
    pub pre_psync: bool,
    soft_limit_since_ms: Option<i64>,
    /// The stream offset of the dataset it was given: its snapshot's, or (partial resync) the
    /// last byte before what it asked for. -1 until its snapshot is taken.
    pub synced_offset: i64,
    /// After a full sync: the offset it must acknowledge to have applied everything streamed
    /// while it received and loaded its snapshot (INFO `phase=catchup` until then).
    pub catchup_to: Option<i64>,
    /// Order of registration: INFO and ROLE list replicas in the order they became replicas
    /// (Valkey's list order; a dual-channel main connection registers after its snapshot
    /// connection although it connected first).
    seq: u64,
}

impl Replica {
    /// The address INFO and ROLE show.
    pub fn ip(&self) -> &str {
        match &self.info.ip {
            Some(ip) => ip,
            None => self
                .addr
                .rsplit_once(':')
                .map_or(self.addr.as_str(), |(h, _)| h.trim_matches(['[', ']'])),
        }
    }

    /// The stream offset of the data it holds, or will hold once its snapshot is loaded (its
    /// lag in bytes and in time is measured from there); `None` before its snapshot starts.
    pub fn data_offset(&self) -> Option<i64> {
        match self.state {
            ReplicaState::WaitBgsaveStart { .. } => None,
            ReplicaState::WaitBgsaveEnd {
                snapshot_offset, ..
            } => Some(snapshot_offset.max(self.ack_offset)),
            _ => Some(self.ack_offset.max(self.synced_offset)),
        }
    }

    /// `type=` of INFO's `slaveN` line.
    pub fn kind(&self) -> &'static str {
        if self.info.rdb_channel {
            "rdb-channel"
        } else if matches!(self.state, ReplicaState::BgTransfer { .. }) {
            "main-channel"
        } else {
            "replica"
        }
    }

    /// Whether it needs the stream after its snapshot (rdb-only ones do not, except a
    /// dual-channel snapshot connection, whose main connection will).
    fn wants_stream(&self) -> bool {
        !self.info.rdb_only || self.info.rdb_channel
    }
}

/// Where a snapshot goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// Straight into the replicas' sockets, `$EOF:<mark>` form.
    Socket,
    /// Written to the RDB file, then sent as `$<len>`.
    Disk,
}

/// One replica of a snapshot job.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    pub client: ClientId,
    /// Bytes to write before the payload: `+FULLRESYNC <id> <offset>\r\n`, a dual-channel
    /// snapshot connection's `$ENDOFF` line, or nothing (legacy SYNC).
    pub prefix: Vec<u8>,
}

/// A snapshot to produce and send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SnapshotJob {
    pub job: JobId,
    /// The stream offset the snapshot is taken at (now); the RDB's `repl-offset`.
    pub offset: i64,
    pub replid: String,
    pub target: Target,
    /// `rdb-filter-only`: `Some("")` = no data, `Some("functions")` = functions only.
    pub filter: Option<String>,
    pub members: Vec<Member>,
}

/// Why the machine closes a replica.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CloseReason {
    /// No ACK within `repl-timeout`.
    Timeout,
    /// What it holds passed `client-output-buffer-limit replica` (count it in INFO).
    OutputLimit,
    /// Its snapshot could not be delivered.
    TransferFailed,
    /// An rdb-only replica got its snapshot.
    RdbDelivered,
    /// The bytes it needs left the backlog.
    FellBehind,
    /// This node's history changed (promotion, new full sync): it must resync.
    HistoryChanged,
}

/// What the executor must do, in order.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// The reply to the command `client` is executing (PSYNC, SYNC, REPLCONF).
    Reply {
        client: ClientId,
        reply: Reply,
    },
    /// Raw bytes on the client's connection (`+CONTINUE`, `+DUALCHANNELSYNC`, newlines).
    Send {
        client: ClientId,
        bytes: Vec<u8>,
    },
    /// Send `prefix` (the `+CONTINUE` line) and then the stream from `from` to `to`
    /// (exclusive) out of the disk backlog; report the end with
    /// [`Primary::on_disk_catchup_done`].
    DiskCatchup {
        client: ClientId,
        prefix: Vec<u8>,
        from: i64,
        to: i64,
    },
    /// Stream bytes for a streaming replica, as shared slices of the backlog.
    Stream {
        client: ClientId,
        chunks: Vec<Bytes>,
    },
    /// Produce a snapshot of the dataset now and send it to the members (report the end with
    /// [`Primary::on_job_finished`]). The stream's next keyed command must be preceded by a
    /// SELECT (already arranged in the history).
    StartSnapshot(SnapshotJob),
    /// No member of the job is left: stop producing it.
    CancelSnapshot {
        job: JobId,
    },
    /// Close the replica's connection (it is already forgotten here).
    Close {
        client: ClientId,
        reason: CloseReason,
    },
    /// Acknowledged offsets moved: WAIT clients may be satisfied ([`Primary::acked`]).
    AcksChanged,
    /// `REPLCONF GETACK` arrived on this connection: if it is the link to our own primary,
    /// the follower answers it.
    GetAck {
        client: ClientId,
    },
    Log {
        level: LogLevel,
        text: String,
    },
}

/// Full/partial sync counters (INFO `sync_full`, `sync_partial_ok`, `sync_partial_err`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SyncStats {
    pub sync_full: u64,
    pub sync_partial_ok: u64,
    pub sync_partial_err: u64,
    /// Partial resyncs that started from the disk backlog (counted in `sync_partial_ok` too).
    pub sync_partial_disk: u64,
}

/// A running snapshot job.
#[derive(Clone, Debug)]
struct Job {
    members: Vec<ClientId>,
    target: Target,
}

/// A dual-channel snapshot connection waiting for its main connection's PSYNC.
#[derive(Clone, Copy, Debug)]
struct WaitingPsync {
    /// The snapshot's offset; the backlog is pinned from the byte after it.
    offset: i64,
    /// When the snapshot connection closed (the grace period runs from then).
    closed_at_ms: Option<i64>,
    /// The backlog held bytes when the snapshot started, or has received some since (what
    /// Valkey logs as the client tracking a replication buffer block).
    tracking: bool,
}

/// The primary side of this node.
#[derive(Debug)]
pub struct Primary {
    cfg: PrimaryConfig,
    replicas: BTreeMap<ClientId, Replica>,
    /// What clients that are not replicas yet announced with REPLCONF.
    handshakes: BTreeMap<ClientId, PeerInfo>,
    jobs: BTreeMap<JobId, Job>,
    next_job: JobId,
    waiting_psync: BTreeMap<ClientId, WaitingPsync>,
    /// Nothing is generated into the stream (PING, GETACK): writes are paused, as Valkey's
    /// `PAUSE_ACTION_REPLICA` (CLIENT PAUSE, a FAILOVER waiting for its target).
    quiet: bool,
    stats: SyncStats,
    good_replicas: usize,
    /// The next replica's registration order ([`Replica`]'s `seq`).
    next_seq: u64,
    no_replicas_since_ms: i64,
    /// When the next once-a-second work is due.
    next_cron_ms: i64,
    /// Replication cron seconds since start (PING cadence counts these, as Redis).
    cron_secs: u64,
    getack_requested: bool,
}

/// Actions being collected.
type Out = Vec<Action>;

fn log(out: &mut Out, level: LogLevel, text: String) {
    out.push(Action::Log { level, text });
}

const NOMASTERLINK: &str = "NOMASTERLINK Can't SYNC while not connected with my master";

impl Primary {
    pub fn new(cfg: PrimaryConfig, now_ms: i64) -> Primary {
        Primary {
            cfg,
            replicas: BTreeMap::new(),
            handshakes: BTreeMap::new(),
            jobs: BTreeMap::new(),
            next_job: 1,
            waiting_psync: BTreeMap::new(),
            quiet: false,
            stats: SyncStats::default(),
            good_replicas: 0,
            next_seq: 0,
            no_replicas_since_ms: now_ms,
            // Valkey's replicationCron first runs at the first serverCron: PING's cadence
            // (cron seconds counted from start) has the same phase.
            next_cron_ms: now_ms,
            cron_secs: 0,
            getack_requested: false,
        }
    }

    // ------------------------------------------------------------------ queries

    pub fn config(&self) -> &PrimaryConfig {
        &self.cfg
    }

    pub fn stats(&self) -> SyncStats {
        self.stats
    }

    /// CONFIG RESETSTAT.
    pub fn reset_stats(&mut self) {
        self.stats = SyncStats::default();
    }

    /// Replicas in the order they became replicas (INFO `slaveN`, ROLE).
    pub fn replicas(&self) -> impl Iterator<Item = (ClientId, &Replica)> {
        let mut all: Vec<(ClientId, &Replica)> =
            self.replicas.iter().map(|(id, r)| (*id, r)).collect();
        all.sort_by_key(|(_, r)| r.seq);
        all.into_iter()
    }

    pub fn replica(&self, client: ClientId) -> Option<&Replica> {
        self.replicas.get(&client)
    }

    /// True if this client is one of our replicas (SYNC/PSYNC from it are ignored).
    pub fn is_replica(&self, client: ClientId) -> bool {
        self.replicas.contains_key(&client)
    }

    /// INFO `connected_slaves`.
    pub fn replica_count(&self) -> usize {
        self.replicas.len()
    }

    /// Stops (or resumes) generating stream bytes of its own: PINGs and GETACKs wait while
    /// writes are paused.
    pub fn set_quiet(&mut self, quiet: bool) {
        self.quiet = quiet;
    }

    /// INFO `replicas_waiting_psync`.
    pub fn waiting_psync(&self) -> usize {
        self.waiting_psync.len()
    }

    /// INFO `min_slaves_good_slaves`.
    pub fn good_replicas(&self) -> usize {
        self.good_replicas
    }

    /// Online replicas whose ACK reached `offset` (WAIT).
    pub fn acked(&self, offset: i64) -> usize {
        self.replicas
            .values()
            .filter(|r| r.state.is_online() && r.ack_offset >= offset)
            .count()
    }

    /// Online replicas whose AOF holds `offset`, fsynced (WAITAOF).
    pub fn aof_acked(&self, offset: i64) -> usize {
        self.replicas
            .values()
            .filter(|r| r.state.is_online() && r.aof_offset >= offset)
            .count()
    }

    /// min-replicas-to-write: true if a write must be refused with `-NOREPLICAS` (never on a
    /// replica).
    pub fn min_replicas_unmet(&self, upstream: Upstream) -> bool {
        let c = &self.cfg;
        if c.min_replicas_to_write == 0 || c.min_replicas_max_lag_ms == 0 {
            return false;
        }
        upstream == Upstream::None && self.good_replicas < c.min_replicas_to_write
    }

    /// INFO lag of a replica, in seconds (0 unless online).
    pub fn lag_secs(&self, r: &Replica, now_ms: i64) -> i64 {
        if r.state.is_online() {
            (now_ms - r.ack_time_ms) / 1000
        } else {
            0
        }
    }

    // ------------------------------------------------------------------ events

    /// CONFIG SET of a replication parameter: good replicas are recounted at once.
    pub fn on_config(&mut self, cfg: PrimaryConfig, now_ms: i64) {
        self.cfg = cfg;
        self.refresh_good_replicas(now_ms);
    }

    /// WAIT blocked a client: a `REPLCONF GETACK *` goes into the stream at the next
    /// [`Primary::flush`].
    pub fn request_getack(&mut self) {
        self.getack_requested = true;
    }

    /// Puts a GETACK into the stream at once, even while writes are paused: a shutdown asks
    /// its replicas for their offsets before it pauses writes (Valkey's
    /// `sendGetackToReplicas`). Only a top primary with replicas asks.
    pub fn getack_now(&mut self, hist: &mut History, upstream: Upstream) {
        if upstream == Upstream::None && !self.replicas.is_empty() {
            hist.feed(None, &["REPLCONF", "GETACK", "*"]);
        }
    }

    /// `REPLCONF <option> <value> ...` from `client` (`args` exclude the command name).
    pub fn on_replconf(&mut self, client: ClientId, args: &[&[u8]], now_ms: i64) -> Vec<Action> {
        let accept_dual = self.cfg.dual_channel && self.cfg.diskless_sync;
        let outcome = match self.replicas.get_mut(&client) {
            Some(r) => peer::replconf(&mut r.info, args, accept_dual),
            None => peer::replconf(
                self.handshakes.entry(client).or_default(),
                args,
                accept_dual,
            ),
        };
        match outcome {
            Replconf::Ok => vec![Action::Reply {
                client,
                reply: Reply::Ok,
            }],
            Replconf::Err(e) => vec![Action::Reply {
                client,
                reply: Reply::error(e),
            }],
            Replconf::Ack { offset, fack } => self.on_ack(client, offset, fack, now_ms),
            Replconf::GetAck => vec![Action::GetAck { client }],
            Replconf::SetRdbClientId(cid) => {
                if !self.waiting_psync.contains_key(&cid) {
                    let e = format!("ERR Unrecognized RDB client id {cid}");
                    return vec![Action::Reply {
                        client,
                        reply: Reply::error(e),
                    }];
                }
                if let Some(info) = self.handshakes.get_mut(&client) {
                    info.rdb_client_id = Some(cid);
                }
                vec![Action::Reply {
                    client,
                    reply: Reply::Ok,
                }]
            }
        }
    }

    /// `REPLCONF ACK <offset> [FACK <aofoffset>]`: the ack offsets only grow; the first ACK
    /// puts an ack-gated or dual-channel replica online (and starts its stream).
    fn on_ack(
        &mut self,
        client: ClientId,
        offset: i64,
        fack: Option<i64>,
        now_ms: i64,
    ) -> Vec<Action> {
        let Some(r) = self.replicas.get_mut(&client) else {
            return vec![];
        };
        r.ack_offset = r.ack_offset.max(offset);
        if let Some(f) = fack {
            r.aof_offset = r.aof_offset.max(f);
        }
        r.ack_time_ms = now_ms;
        if let ReplicaState::BgTransfer { next_offset } = r.state {
            // Dual-channel: loaded; it now applies what was streamed meanwhile.
            r.catchup_to = Some(next_offset - 1);
        }
        if r.catchup_to.is_some_and(|to| r.ack_offset >= to) {
            r.catchup_to = None;
        }
        r.state = match r.state {
            ReplicaState::AwaitFirstAck { next_offset }
            | ReplicaState::BgTransfer { next_offset } => ReplicaState::Online { next_offset },
            ReplicaState::WaitBgsaveEnd {
                job,
                snapshot_offset,
                ..
            } => ReplicaState::WaitBgsaveEnd {
                job,
                snapshot_offset,
                early_ack: true,
            },
            other => other,
        };
        vec![Action::AcksChanged]
    }

    /// A bare newline from a replica (sent while it loads): it is alive.
    pub fn on_replica_newline(&mut self, client: ClientId, now_ms: i64) {
        if let Some(r) = self.replicas.get_mut(&client) {
            r.ack_time_ms = now_ms;
        }
    }

    /// `PSYNC <replid> <offset>` from `client` at `addr` (the executor answered a bad offset,
    /// pending output and PSYNC FAILOVER before). `new_id` gives a fresh replication id if
    /// the backlog must be created.
    #[allow(clippy::too_many_arguments)]
    pub fn on_psync(
        &mut self,
        hist: &mut History,
        client: ClientId,
        addr: &str,
        replid: &str,
        offset: i64,
        upstream: Upstream,
        now_ms: i64,
        new_id: &mut dyn FnMut() -> String,
    ) -> Vec<Action> {
        let mut out = Vec::new();
        let Some(info) = self.admit(client, addr, upstream, &mut out) else {
            return out;
        };
        match hist.ids.can_continue(replid, offset, hist.window()) {
            Ok(()) => {
                self.continue_partial(hist, client, addr, info, offset, now_ms, &mut out);
                return out;
            }
            Err(refusal) => self.log_refusal(hist, addr, replid, &refusal, &mut out),
        }
        if upstream == Upstream::Switching {
            self.handshakes.insert(client, info);
            out.push(Action::Reply {
                client,
                reply: Reply::error(NOMASTERLINK),
            });
            return out;
        }
        if info.capa_dual_channel {
            log(&mut out, LogLevel::Notice, format!("Replica {addr} is capable of dual channel synchronization, and partial sync isn't possible. Full sync will continue with dedicated RDB channel."));
            self.handshakes.insert(client, info);
            out.push(Action::Send {
                client,
                bytes: b"+DUALCHANNELSYNC\r\n".to_vec(),
            });
            return out;
        }
        self.attach_full(
            hist, client, addr, info, false, upstream, now_ms, new_id, &mut out,
        );
        out
    }

    /// The executor sent (or failed to send) a replica's start of the stream from the disk
    /// backlog: it streams from memory now, or is dropped (it will ask again).
    pub fn on_disk_catchup_done(
        &mut self,
        hist: &mut History,
        client: ClientId,
        result: Result<(), String>,
        now_ms: i64,
    ) -> Vec<Action> {
        let mut out = Vec::new();
        let Some(r) = self.replicas.get_mut(&client) else {
            return out;
        };
        let ReplicaState::DiskCatchup { to } = r.state else {
            return out;
        };
        match result {
            Ok(()) => r.state = ReplicaState::Online { next_offset: to },
            Err(e) => {
                let text = format!("Sending the disk backlog to replica {} failed: {e}", r.addr);
                log(&mut out, LogLevel::Warning, text);
                self.forget(hist, client, now_ms, CloseReason::TransferFailed, &mut out);
            }
        }
        out
    }

    /// Legacy `SYNC` from `client` (also a dual-channel snapshot connection's request).
    pub fn on_sync(
        &mut self,
        hist: &mut History,
        client: ClientId,
        addr: &str,
        upstream: Upstream,
        now_ms: i64,
        new_id: &mut dyn FnMut() -> String,
    ) -> Vec<Action> {
        let mut out = Vec::new();
        let Some(mut info) = self.admit(client, addr, upstream, &mut out) else {
            return out;
        };
        if upstream == Upstream::Switching {
            self.handshakes.insert(client, info);
            out.push(Action::Reply {
                client,
                reply: Reply::error(NOMASTERLINK),
            });
            return out;
        }
        info.capa_psync2 = false;
        self.attach_full(
            hist, client, addr, info, true, upstream, now_ms, new_id, &mut out,
        );
        out
    }

    /// The checks before any sync, in Valkey's order; the client's announced info if it may
    /// go on.
    fn admit(
        &mut self,
        client: ClientId,
        addr: &str,
        upstream: Upstream,
        out: &mut Out,
    ) -> Option<PeerInfo> {
        if self.replicas.contains_key(&client) {
            return None;
        }
        if upstream == Upstream::Down {
            out.push(Action::Reply {
                client,
                reply: Reply::error(NOMASTERLINK),
            });
            return None;
        }
        let info = self.handshakes.remove(&client).unwrap_or_default();
        if info.rdb_filter.is_some() && !info.capa_eof {
            self.handshakes.insert(client, info);
            out.push(Action::Reply {
                client,
                reply: Reply::error("ERR Filtered replica requires EOF capability"),
            });
            return None;
        }
        log(
            out,
            LogLevel::Notice,
            format!("Replica {addr} asks for synchronization"),
        );
        Some(info)
    }

    fn log_refusal(
        &mut self,
        hist: &History,
        addr: &str,
        asked: &str,
        r: &PsyncRefusal,
        out: &mut Out,
    ) {
        let text = match r {
            PsyncRefusal::Requested => format!("Full resync requested by replica {addr}"),
            PsyncRefusal::IdMismatch => {
                let (mine, mine2) = (&hist.ids.replid, &hist.ids.replid2);
                format!("Partial resynchronization not accepted: Replication ID mismatch (Replica asked for '{asked}', my replication IDs are '{mine}' and '{mine2}')")
            }
            PsyncRefusal::SecondIdOffset {
                requested,
                valid_up_to,
            } => format!("Partial resynchronization not accepted: Requested offset for second ID was {requested}, but I can reply up to {valid_up_to}"),
            PsyncRefusal::NoBacklog { requested } => format!("Unable to partial resync with replica {addr} for lack of backlog (Replica request was: {requested})."),
        };
        if *r != PsyncRefusal::Requested {
            self.stats.sync_partial_err += 1;
        }
        log(out, LogLevel::Notice, text);
    }

    #[allow(clippy::too_many_arguments)]
    fn continue_partial(
        &mut self,
        hist: &mut History,
        client: ClientId,
        addr: &str,
        info: PeerInfo,
        offset: i64,
        now_ms: i64,
        out: &mut Out,
    ) {
        // A dual-channel main connection streams while its replica loads the snapshot; its
        // snapshot connection's pin is no longer needed once this connection's replaces it
        // (below: released first, the backlog would trim what this one is about to read).
        let rdb_client = info.rdb_client_id;
        let state = match rdb_client {
            Some(_) => ReplicaState::BgTransfer {
                next_offset: offset,
            },
            None => ReplicaState::Online {
                next_offset: offset,
            },
        };
        let line = if info.capa_psync2 {
            format!("+CONTINUE {}\r\n", hist.ids.replid)
        } else {
            "+CONTINUE\r\n".to_string()
        };
        // Older than what memory holds: the disk backlog sends the start.
        let resident = hist.backlog().map_or(offset, |b| b.resident_first());
        let from_disk = offset < resident && matches!(state, ReplicaState::Online { .. });
        let state = match from_disk {
            true => ReplicaState::DiskCatchup { to: resident },
            false => state,
        };
        self.register(client, addr, info, state, false, now_ms);
        if let Some(r) = self.replicas.get_mut(&client) {
            r.synced_offset = offset - 1;
        }
        if let Some(b) = hist.backlog_mut() {
            b.pin(client, offset.max(resident));
        }
        if let Some(cid) = rdb_client {
            self.drop_waiting_psync(hist, cid);
        }
        self.stats.sync_partial_ok += 1;
        let pending = hist.offset() + 1 - offset;
        if from_disk {
            self.stats.sync_partial_disk += 1;
            out.push(Action::DiskCatchup {
                client,
                prefix: line.into_bytes(),
                from: offset,
                to: resident,
            });
            log(out, LogLevel::Notice, format!("Partial resynchronization request from {addr} accepted. Sending {pending} bytes of backlog starting from offset {offset}, the first {} from the disk backlog.", resident - offset));
            return;
        }
        out.push(Action::Send {
            client,
            bytes: line.into_bytes(),
        });
        log(out, LogLevel::Notice, format!("Partial resynchronization request from {addr} accepted. Sending {pending} bytes of backlog starting from offset {offset}."));
    }

    fn register(
        &mut self,
        client: ClientId,
        addr: &str,
        info: PeerInfo,
        state: ReplicaState,
        pre_psync: bool,
        now_ms: i64,
    ) {
        self.next_seq += 1;
        self.replicas.insert(
            client,
            Replica {
                info,
                addr: addr.to_string(),
                state,
                ack_offset: 0,
                aof_offset: -1,
                ack_time_ms: now_ms,
                pre_psync,
                soft_limit_since_ms: None,
                synced_offset: -1,
                catchup_to: None,
                seq: self.next_seq,
            },
        );
    }

    #[allow(clippy::too_many_arguments)]
    fn attach_full(
        &mut self,
        hist: &mut History,
        client: ClientId,
        addr: &str,
        info: PeerInfo,
        pre_psync: bool,
        upstream: Upstream,
        now_ms: i64,
        new_id: &mut dyn FnMut() -> String,
        out: &mut Out,
    ) {
        self.stats.sync_full += 1;
        if hist.backlog().is_none() {
            // A backlog from scratch: no past history can be served, so a new id (a replica
            // keeps its primary's id: its backlog comes with the history it follows).
            if upstream == Upstream::None {
                hist.reset(new_id());
            }
            hist.ensure_backlog();
            log(
                out,
                LogLevel::Notice,
                format!(
                    "Replication backlog created, my new replication IDs are '{}' and '{}'",
                    hist.ids.replid, hist.ids.replid2
                ),
            );
        }
        self.register(
            client,
            addr,
            info,
            ReplicaState::WaitBgsaveStart { since_ms: now_ms },
            pre_psync,
            now_ms,
        );
        if self.jobs.values().any(|j| j.target == Target::Socket) {
            // A socket transfer cannot take a new member: this one waits for the next job.
            log(
                out,
                LogLevel::Notice,
                "Current BGSAVE has socket target. Waiting for next BGSAVE for SYNC".into(),
            );
        }
        let delayed = self.cfg.diskless_sync && self.cfg.diskless_sync_delay_ms > 0;
        if delayed && self.replicas.get(&client).is_some_and(|r| r.info.capa_eof) {
            log(
                out,
                LogLevel::Notice,
                "Delay next BGSAVE for diskless SYNC".into(),
            );
        }
        self.schedule(hist, now_ms, out);
    }
}
