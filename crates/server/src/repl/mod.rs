//! Replication I/O: the only layer that touches replication sockets. Decisions come from the
//! pure `replication` crate (ids and PSYNC2 rule, backlog, link state machine, REPLCONF).
//!
//! - [`primary`]: serving replicas — SYNC/PSYNC/REPLCONF, full-sync scheduling and transfers
//!   ([`transfer`]), streaming from the shared backlog, ACKs, WAIT, min-replicas.
//! - [`replica`]: following a primary — REPLICAOF without disruption, the handshake through
//!   [`replication::Link`], loading aside ([`load`]), applying and proxying the stream.

pub mod load;
pub mod primary;
pub mod replica;
pub mod transfer;

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use bytes::Bytes;
use replication::{ReplBuffer, ReplIds};
use resp::Reply;

use crate::client::Client;
use crate::server::Server;

pub use primary::{min_replicas_unmet, replicas_acked};
pub use replica::{
    apply_from_primary, on_empty_line, on_primary_input, on_primary_protocol_error,
    primary_link_ready,
};

/// Background results for replication.
pub enum ReplBgEvent {
    TransferDone(transfer::JobDone),
    LoadDone(Box<load::LoadResult>),
}

#[derive(Default, Clone, Copy)]
pub struct ReplStats {
    pub sync_full: u64,
    pub sync_partial_ok: u64,
    pub sync_partial_err: u64,
}

/// Replication state of this node.
pub struct Repl {
    pub ids: ReplIds,
    /// The stream buffer/backlog (`None` until a replica first attaches).
    pub buf: Option<ReplBuffer>,
    /// Database of the last SELECT written to the stream (-1 forces a SELECT).
    pub last_db: i64,
    /// Replicas of this node, by client id.
    pub replicas: BTreeMap<u64, primary::Replica>,
    /// Transfers running, by job id.
    pub jobs: HashMap<u64, primary::JobState>,
    pub next_job: u64,
    /// Our primary, when we are a replica.
    pub current: Option<replica::Upstream>,
    /// A REPLICAOF attempt that has not been answered yet (nothing changes until it is).
    pub pending: Option<replica::Upstream>,
    /// Position kept when the link to our primary is lost (for PSYNC).
    pub cached: Option<replica::Cached>,
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
    pub waiting_psync: BTreeMap<u64, primary::WaitingPsync>,
    /// `DEBUG PAUSE-AFTER-FORK 1`: SIGSTOP before a dual-channel PSYNC.
    pub pause_before_dual_psync: bool,
}

impl Repl {
    pub fn new() -> Repl {
        Repl {
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
            no_replicas_since_ms: crate::server::now_ms(),
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

    /// Creates the backlog at the current offset if missing.
    pub fn ensure_backlog(&mut self, size: usize) {
        if self.buf.is_none() {
            self.buf = Some(ReplBuffer::new(self.ids.offset, size));
        }
    }
}

impl Default for Repl {
    fn default() -> Self {
        Self::new()
    }
}

/// Appends a command generated by this node (a top-level primary) to the replication stream,
/// preceded by SELECT when the database changes. Replicas never originate stream bytes.
pub fn feed(s: &mut Server, db: usize, cmd: &[Bytes]) {
    if s.repl.is_replica() || s.repl.buf.is_none() {
        return;
    }
    let mut out = Vec::with_capacity(64);
    if s.repl.last_db != db as i64 && !is_dbless(cmd) {
        resp::reply::encode_command(&mut out, &[&b"SELECT"[..], db.to_string().as_bytes()]);
        s.repl.last_db = db as i64;
    }
    resp::reply::encode_command(&mut out, cmd);
    s.repl.append(&out);
}

/// Commands that do not need the right database selected (no SELECT before them). MULTI and
/// EXEC are propagated without a database, as Redis 7 does: the SELECT, if any, comes inside
/// the transaction, before its first command.
fn is_dbless(cmd: &[Bytes]) -> bool {
    let n = &cmd[0];
    n.eq_ignore_ascii_case(b"multi")
        || n.eq_ignore_ascii_case(b"exec")
        || n.eq_ignore_ascii_case(b"ping")
        || n.eq_ignore_ascii_case(b"replconf")
        || n.eq_ignore_ascii_case(b"publish")
        || n.eq_ignore_ascii_case(b"flushall")
}

/// Work before the event loop sleeps: stream to replicas, GETACK for WAIT.
pub fn before_sleep(s: &mut Server) {
    primary::before_sleep(s);
    replica::before_sleep(s);
}

/// Replication cron (called at `hz`; 1 Hz work inside is rate-limited).
pub fn cron(s: &mut Server, now: i64) {
    primary::cron(s, now);
    replica::cron(s, now);
}

pub fn on_background(s: &mut Server, e: ReplBgEvent) {
    match e {
        ReplBgEvent::TransferDone(done) => primary::on_transfer_done(s, done),
        ReplBgEvent::LoadDone(res) => replica::on_load_done(s, *res),
    }
}

/// A client went away: it may have been a replica or our link to a primary.
pub fn on_client_freed(s: &mut Server, c: &Client) {
    primary::on_client_freed(s, c);
    replica::on_client_freed(s, c);
}

/// ROLE.
pub fn role(s: &mut Server) -> Reply {
    if let Some(u) = &s.repl.current {
        let offset = if s.repl.link_up() { u.reploff } else { -1 };
        let state = if u.client.is_none()
            && u.link.state() == replication::LinkState::Connecting
            && !u.connecting
        {
            "connect"
        } else {
            u.link.state().role_name()
        };
        return Reply::Array(vec![
            Reply::bulk(b"slave"),
            Reply::bulk(u.host.as_bytes()),
            Reply::Int(u.port as i64),
            Reply::bulk(state.as_bytes()),
            Reply::Int(offset),
        ]);
    }
    let replicas = s
        .repl
        .replicas
        .values()
        .filter(|r| matches!(r.state, replication::peer::PeerState::Online { .. }))
        .map(|r| {
            Reply::Array(vec![
                Reply::bulk(r.ip().as_bytes()),
                Reply::bulk(r.info.listening_port.to_string().as_bytes()),
                Reply::bulk(r.ack_offset.to_string().as_bytes()),
            ])
        })
        .collect();
    Reply::Array(vec![
        Reply::bulk(b"master"),
        Reply::Int(s.repl.offset()),
        Reply::Array(replicas),
    ])
}

/// INFO replication.
pub fn info_fields(s: &Server, out: &mut String) {
    let r = &s.repl;
    let now = crate::server::now_ms();
    if let Some(u) = &r.current {
        replica::info_fields(s, u, now, out);
    } else {
        let _ = write!(out, "role:master\r\n");
    }
    if let Some(p) = &r.pending {
        let _ = write!(out, "replicaof_pending_host:{}\r\nreplicaof_pending_port:{}\r\nreplicaof_pending_state:{}\r\n", p.host, p.port, p.link.state().role_name());
        if let Some(e) = &p.last_error {
            let _ = write!(out, "replicaof_pending_last_error:{e}\r\n");
        }
    }
    primary::info_replicas(s, out);
    let (first, histlen) = r.backlog_window().unwrap_or((0, 0));
    let _ = write!(
        out,
        "master_failover_state:{}\r\nmaster_replid:{}\r\nmaster_replid2:{}\r\nmaster_repl_offset:{}\r\nsecond_repl_offset:{}\r\nrepl_backlog_active:{}\r\nrepl_backlog_size:{}\r\nrepl_backlog_first_byte_offset:{}\r\nrepl_backlog_histlen:{}\r\n",
        r.failover_state,
        r.ids.replid,
        r.ids.replid2,
        r.ids.offset,
        r.ids.second_offset,
        r.buf.is_some() as u8,
        s.cfg.repl_backlog_size_bytes,
        first,
        histlen
    );
}

/// Replication, persistence-related and DEBUG commands owned by this module.
pub fn dispatch_or_unknown(
    s: &mut Server,
    key: usize,
    cmd: commands::ServerCmd,
    _spec: &'static commands::CommandSpec,
    argv: &[Bytes],
) -> Reply {
    use commands::ServerCmd::*;
    match cmd {
        Replicaof => replica::replicaof_command(s, key, argv),
        Sync => primary::sync_command(s, key, argv, false),
        Psync => primary::sync_command(s, key, argv, true),
        Replconf => primary::replconf_command(s, key, argv),
        Wait => primary::wait_command(s, key, argv),
        _ => commands::errors::unknown_command(argv),
    }
}

/// DEBUG subcommands owned by replication.
pub fn debug_or_unknown(s: &mut Server, _key: usize, argv: &[Bytes]) -> Reply {
    let sub = String::from_utf8_lossy(&argv[1]).to_ascii_lowercase();
    match sub.as_str() {
        "change-repl-id" => {
            s.repl.ids.reset(crate::util::random_hex40());
            Reply::Ok
        }
        // Valkey's test hook: stop this process (SIGSTOP) right before a dual-channel main
        // connection sends its PSYNC, so a test can act in that window and SIGCONT it. (The
        // primary-side meaning, stopping after fork, has no equivalent: there is no fork.)
        "pause-after-fork" if argv.len() == 3 => match commands::args::int(&argv[2]) {
            Ok(v @ (0 | 1)) => {
                s.repl.pause_before_dual_psync = v == 1;
                Reply::Ok
            }
            _ => commands::errors::err(commands::errors::NOT_INT),
        },
        "delay-rdb-client-free-seconds" if argv.len() == 3 => match commands::args::int(&argv[2]) {
            Ok(v) if v >= 0 => {
                s.repl.rdb_client_grace_secs = v as u64;
                Reply::Ok
            }
            _ => commands::errors::err(commands::errors::NOT_INT),
        },
        _ => commands::errors::unknown_subcommand("debug", &argv[1]),
    }
}

/// Replication position to record in an RDB saved now.
pub fn rdb_repl_info(s: &Server) -> Option<persistence::ReplInfo> {
    let r = &s.repl;
    if let Some(u) = &r.current {
        if s.repl.link_up() {
            return Some(persistence::ReplInfo {
                replid: r.ids.replid.clone(),
                offset: u.reploff,
                stream_db: u.db as i64,
            });
        }
        return r.cached.as_ref().map(|c| persistence::ReplInfo {
            replid: c.replid.clone(),
            offset: c.offset,
            stream_db: c.db as i64,
        });
    }
    r.buf.as_ref()?;
    Some(persistence::ReplInfo {
        replid: r.ids.replid.clone(),
        offset: r.ids.offset,
        stream_db: r.last_db.max(0),
    })
}

/// An RDB loaded at start-up carried this replication position.
pub fn on_rdb_loaded(s: &mut Server, info: Option<persistence::ReplInfo>) {
    let Some(info) = info else { return };
    let size = s.cfg.repl_backlog_size_bytes as usize;
    if s.repl.is_replica() {
        s.repl.ids.replid = info.replid.clone();
        s.repl.ids.offset = info.offset;
        s.repl.cached = Some(replica::Cached {
            replid: info.replid,
            offset: info.offset,
            db: info.stream_db.max(0) as usize,
        });
        crate::log_notice!(
            "Cached master recreated from the RDB aux fields: offset {}",
            info.offset
        );
    } else {
        // A restarted primary: keep our new id, accept the old one up to where it ended.
        s.repl.ids.replid2 = info.replid;
        s.repl.ids.second_offset = info.offset + 1;
        s.repl.ids.offset = info.offset;
        s.repl.buf = Some(ReplBuffer::new(info.offset, size));
        s.repl.no_replicas_since_ms = crate::server::now_ms();
    }
}

/// True while a replica loads a new dataset aside and keeps serving the old one.
pub fn async_loading(s: &Server) -> bool {
    s.repl.current.as_ref().is_some_and(|u| u.loader.is_some())
}

/// CONFIG SET side effects.
/// A replication parameter changed (CONFIG SET): resizes the backlog to the new size and
/// recounts the good replicas for min-replicas-to-write.
pub fn on_config_changed(s: &mut Server) {
    primary::refresh_good_replicas(s, crate::server::now_ms());
    let size = s.cfg.repl_backlog_size_bytes.max(0) as usize;
    if let Some(b) = s.repl.buf.as_mut() {
        if b.size() != size {
            b.resize(size);
        }
    }
}
