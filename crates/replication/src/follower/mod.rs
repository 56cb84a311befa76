//! The replica side of replication as a pure machine: whom this node follows, the state of its
//! link to that primary (one enum, [`State`], wrapping the per-connection handshake machines
//! [`Link`]), what it asks for in PSYNC, when it caches its primary, loading a full sync aside
//! and swapping it in, the dual-channel phases and the local stream buffer.
//!
//! REPLICAOF follows the revised contract of DESIGN.md ("REPLICAOF without disruption —
//! revised"): commands are serialised and a later one replaces an earlier one at once; one
//! naming the primary already followed changes nothing (`+OK Already connected to specified
//! master`); ROLE and INFO show the new primary at once with the link down and the handshake
//! state; writes are refused from that moment ([`Action::BecameReplica`]); reads keep being
//! served. A replica keeps applying its old primary's stream (the *leaving* link) until the new
//! primary's handshake is done, then freezes it and asks with its exact offset: if the new
//! primary takes over (`+CONTINUE`, `+FULLRESYNC`, `+DUALCHANNELSYNC`) the old link closes, if
//! it refuses, the old stream is applied again from where it stopped; a partial resync never
//! enters LOADING; a full sync loads aside and swaps atomically; nothing is held.
//! `REPLICAOF NO ONE` cancels whatever is under way and promotes with [`History::shift`].
//!
//! Events come from the executor (a command, a connection up, bytes read, a connection closed,
//! a unit of the stream applied, a load finished, a clock tick) and [`Action`]s go back: connect,
//! send, close, pause/resume reading, apply stream bytes, start/feed/end/abort a load, swap the
//! dataset, drop our own replicas, change role, log. Not here: sockets, the keyspace, parsing
//! and executing the stream (the executor applies it and reports each applied unit).
//!
//! The executor's side of the contract:
//! - REPLICAOF → [`Follower::replicaof`] (the executor refuses it from a primary link, checks
//!   the port); start-up → [`Follower::follow_at_start`] then, if the RDB had a position,
//!   [`Follower::on_rdb_loaded`]; for each link it opened: connected → [`Follower::on_connected`],
//!   bytes read → [`Follower::on_data`], closed or failed to connect → [`Follower::on_closed`]
//!   (with `protocol_error` when it closed it for bad stream input); a unit of the stream
//!   applied → [`Follower::on_applied`] (its exact bytes: a command, a whole MULTI…EXEC at EXEC,
//!   an empty line); `REPLCONF GETACK` executed from a link → [`Follower::on_getack`] before that
//!   unit is reported; a load's end → [`Follower::on_load_done`]; the cron →
//!   [`Follower::on_tick`].
//! - `Apply` bytes are applied at once, in order, as commands from the primary; `Close`
//!   discards what was read and not applied (a partial command, an unfinished MULTI);
//!   `DropSubReplicas` is [`crate::primary::Primary::disconnect_all`]. Writes are refused
//!   while [`Follower::is_replica`]; ROLE and INFO read the queries below.

use crate::history::History;
use crate::link::{self, Link, LinkConfig, LinkState};
use crate::primary::Upstream;
use crate::proto::EndOff;
use crate::LogLevel;
use resp::Reply;

mod sync;
#[cfg(test)]
mod tests;

/// The machine's id of one connection to a primary.
pub type LinkId = u64;
/// The machine's id of one payload load.
pub type LoadId = u64;

/// The parameters the machine obeys.
#[derive(Clone, Debug)]
pub struct FollowerConfig {
    /// How this node introduces itself (`rdb_channel` is set per connection).
    pub link: LinkConfig,
    /// The local stream buffer's limit while a snapshot loads (the replica output-buffer hard
    /// limit; 0 = none): past it the link is not read and the primary buffers instead.
    pub buffer_limit_bytes: u64,
    /// Delay before reconnecting after a failed attempt.
    pub retry_ms: i64,
}

/// What the next PSYNC asks for (Redis's cached primary): the history and the last byte
/// applied of it, and the database the stream had selected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cached {
    pub replid: String,
    pub offset: i64,
    pub db: i64,
}

/// A replication position recorded in (or read from) an RDB's aux fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SavedPosition {
    pub replid: String,
    pub offset: i64,
    pub stream_db: i64,
}

/// One connection and its handshake machine.
#[derive(Debug)]
pub struct Conn {
    pub id: LinkId,
    pub link: Link,
}

/// The still-streaming link to the primary being left: applied until the new primary's
/// handshake is done, then frozen (not read, not applied) while the PSYNC is answered —
/// closed if the new primary takes over, applied again if it refuses.
#[derive(Debug)]
pub struct Leaving {
    pub conn: Conn,
    pub host: String,
    pub port: u16,
    /// PSYNC to the new primary is outstanding: nothing is applied.
    pub frozen: bool,
    /// Stream bytes that arrived while frozen (applied if it thaws).
    pub held: Vec<u8>,
}

impl Leaving {
    /// Applies it again: reading resumes and what arrived meanwhile is applied.
    fn thaw(&mut self, out: &mut Vec<Action>) {
        if !std::mem::take(&mut self.frozen) {
            return;
        }
        out.push(Action::ResumeReading { link: self.conn.id });
        let held = std::mem::take(&mut self.held);
        if !held.is_empty() {
            out.push(Action::Apply {
                link: self.conn.id,
                bytes: held,
            });
        }
    }
}

/// Stream bytes kept while a snapshot loads.
#[derive(Debug, Default)]
pub struct Buffer {
    pub bytes: Vec<u8>,
    /// The link is not read (limit reached) until the buffer is applied.
    pub paused: bool,
}

/// The dual-channel part of a full sync.
#[derive(Debug)]
pub struct Dual {
    /// The snapshot connection (gone once the primary closed it after the payload).
    pub rdb: Option<Conn>,
    /// Its `$ENDOFF`: the snapshot's position, where the main connection continues.
    pub endoff: Option<EndOff>,
    pub load: Option<LoadId>,
    /// The main connection's PSYNC was accepted (the stream is being buffered).
    pub continued: bool,
    /// The id `+CONTINUE` named, when the primary continued the snapshot's history under
    /// another one (it was promoted or restarted between `$ENDOFF` and the PSYNC).
    pub continued_as: Option<String>,
}

/// Where a loaded snapshot puts this node's history.
struct Position {
    replid: String,
    offset: i64,
    stream_db: i64,
    /// The history continues under this id from `offset` on (dual-channel `+CONTINUE <id>`).
    renamed: Option<String>,
    /// Legacy SYNC: no ACKs.
    pre_psync: bool,
}

impl Position {
    fn dual(endoff: EndOff, renamed: Option<String>) -> Position {
        Position {
            replid: endoff.replid,
            offset: endoff.offset,
            stream_db: endoff.db,
            renamed,
            pre_psync: false,
        }
    }
}

/// The state of this node's replication link, in the order a sync goes through them.
#[derive(Debug)]
pub enum State {
    /// Not following anyone: this node is a primary.
    Primary,
    /// Following, no connection: the next attempt is at `retry_at_ms` (ROLE `connect`).
    Idle {
        retry_at_ms: i64,
        leaving: Option<Leaving>,
    },
    /// TCP connection to the primary in progress (ROLE `connecting`).
    Connecting {
        main: Conn,
        leaving: Option<Leaving>,
    },
    /// PING, AUTH and REPLCONF exchanged, then PSYNC (`asked`) sent and answered (ROLE
    /// `handshake`).
    Handshake {
        main: Conn,
        leaving: Option<Leaving>,
        /// What PSYNC asked for, once sent (`None` inside: `PSYNC ? -1`).
        asked: Option<Option<(String, i64)>>,
    },
    /// `+FULLRESYNC` (or legacy SYNC): the payload arrives on the main connection and loads
    /// aside while the old data serves reads; the stream after it is buffered (ROLE `sync`).
    FullSync {
        main: Conn,
        /// The primary's id (`None` after a legacy SYNC) and the snapshot's offset.
        replid: Option<String>,
        offset: i64,
        load: Option<LoadId>,
        /// The payload is complete; the first stream bytes (after our early ACK) not yet in.
        payload_done: bool,
        released: bool,
        buffer: Buffer,
    },
    /// `+DUALCHANNELSYNC`: the snapshot comes on a second connection and loads aside, while
    /// the main one associates with it, PSYNCs from its offset and buffers the stream (ROLE
    /// `sync`).
    DualSync {
        main: Conn,
        dual: Box<Dual>,
        buffer: Buffer,
    },
    /// Dual-channel: the snapshot is loaded but the main connection's `+CONTINUE` has not
    /// arrived; the loaded dataset waits (ROLE `sync`).
    DualLoaded {
        main: Conn,
        endoff: EndOff,
        load: LoadId,
        buffer: Buffer,
    },
    /// The stream flows and is applied (ROLE `connected`).
    Streaming {
        main: Conn,
        /// Legacy SYNC: no ACKs.
        pre_psync: bool,
    },
}

/// What the executor must do, in order.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// Open a TCP connection to the primary for `link`; report [`Follower::on_connected`] or
    /// [`Follower::on_closed`].
    Connect {
        link: LinkId,
        host: String,
        port: u16,
    },
    /// Write bytes on a link.
    Send {
        link: LinkId,
        bytes: Vec<u8>,
    },
    /// Close a link, discarding what was read from it and not applied.
    Close {
        link: LinkId,
    },
    /// Stop reading a link (local buffer full) / read it again.
    PauseReading {
        link: LinkId,
    },
    ResumeReading {
        link: LinkId,
    },
    /// From now on `link` carries the replication stream: apply what arrives as commands
    /// from our primary, starting in database `db` (`-1`: none selected).
    StartStream {
        link: LinkId,
        db: i64,
    },
    /// Stream bytes to apply, in order, as commands from our primary; report every applied
    /// unit (a command, a whole MULTI..EXEC, an empty line) with [`Follower::on_applied`].
    Apply {
        link: LinkId,
        bytes: Vec<u8>,
    },
    /// Start loading a payload aside (its size when known); report the end with
    /// [`Follower::on_load_done`].
    StartLoad {
        load: LoadId,
        total: Option<u64>,
    },
    LoadBytes {
        load: LoadId,
        bytes: Vec<u8>,
    },
    /// The payload is complete.
    LoadEnd {
        load: LoadId,
    },
    /// Abandon a load (running or finished and waiting): the old data stays.
    AbortLoad {
        load: LoadId,
    },
    /// Replace the dataset with the loaded one, atomically.
    SwapDataset {
        load: LoadId,
    },
    /// This node's history changed: close all of our replicas
    /// ([`crate::primary::Primary::disconnect_all`]).
    DropSubReplicas,
    /// The node follows a primary from now on: refuse writes (READONLY), release blocked
    /// clients, replica expiry rules, CONFIG `replicaof` = [`Follower::target`].
    BecameReplica,
    /// The node is a primary again: writes allowed, primary expiry rules.
    BecamePrimary,
    /// The target of this node's FAILOVER accepted its `PSYNC … FAILOVER`: the FAILOVER is
    /// complete ([`crate::primary::failover::Failover::finish`]).
    FailoverAccepted,
    /// The target refused it: the FAILOVER is aborted and this node becomes a primary again
    /// ([`crate::primary::failover::Failover::abort`], then [`Follower::replicaof`] NO ONE).
    FailoverRejected {
        why: String,
    },
    Log {
        level: LogLevel,
        text: String,
    },
}

type Out = Vec<Action>;

fn log(out: &mut Out, level: LogLevel, text: impl Into<String>) {
    out.push(Action::Log {
        level,
        text: text.into(),
    });
}

fn ack(offset: i64) -> Vec<u8> {
    crate::proto::command(&["REPLCONF", "ACK", &offset.to_string()])
}

/// `REPLCONF ACK <offset>`, with `FACK <aof offset>` when this node's AOF reports one (the
/// offset of the stream known fsynced in it, never above `offset`).
fn ack_fack(offset: i64, aof: Option<i64>) -> Vec<u8> {
    match aof {
        Some(f) => crate::proto::command(&[
            "REPLCONF",
            "ACK",
            &offset.to_string(),
            "FACK",
            &f.min(offset).to_string(),
        ]),
        None => ack(offset),
    }
}

/// Which connection an event or a batch of link actions belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Which {
    Main,
    Rdb,
    Leaving,
}

/// The replica side of this node.
#[derive(Debug)]
pub struct Follower {
    cfg: FollowerConfig,
    state: State,
    /// The primary followed (`Some` exactly when the state is not `Primary`).
    target: Option<(String, u16)>,
    cached: Option<Cached>,
    /// Database the applied stream last selected.
    stream_db: i64,
    /// Bytes read from the streaming link (INFO `slave_read_repl_offset`).
    read_reploff: i64,
    last_io_ms: i64,
    down_since_ms: Option<i64>,
    last_error: Option<String>,
    buffer_peak: usize,
    next_link: LinkId,
    next_load: LoadId,
    next_cron_ms: i64,
    /// The stream offset this node's AOF holds fsynced, reported as `FACK` in its ACKs
    /// (None: no AOF, plain ACKs, as Valkey's replica without one).
    aof_offset: Option<i64>,
    /// The current attempt is a FAILOVER's: its PSYNC carries `FAILOVER`, and its answer is
    /// reported ([`Action::FailoverAccepted`] / [`Action::FailoverRejected`]).
    failover: bool,
    /// When the current full sync began (`+FULLRESYNC` / `+DUALCHANNELSYNC`).
    sync_started_ms: Option<i64>,
    /// How long the last full sync that succeeded took, from its start to the link up (INFO
    /// `last_successful_sync_duration_ms`).
    last_sync_ms: Option<i64>,
    /// No new attempt starts before this time ([`Follower::hold_reconnect`]; 0 = no hold).
    hold_until_ms: i64,
}

impl Follower {
    /// A node that starts as a primary.
    pub fn new(cfg: FollowerConfig, now_ms: i64) -> Follower {
        Follower {
            cfg,
            state: State::Primary,
            target: None,
            cached: None,
            stream_db: -1,
            read_reploff: 0,
            last_io_ms: now_ms,
            down_since_ms: None,
            last_error: None,
            buffer_peak: 0,
            next_link: 1,
            next_load: 1,
            next_cron_ms: now_ms + 1000,
            aof_offset: None,
            failover: false,
            sync_started_ms: None,
            last_sync_ms: None,
            hold_until_ms: 0,
        }
    }

    // ------------------------------------------------------------------ queries

    pub fn state(&self) -> &State {
        &self.state
    }

    pub fn config(&self) -> &FollowerConfig {
        &self.cfg
    }

    /// New parameters; `repl-timeout` also applies to the connections already open.
    pub fn on_config(&mut self, cfg: FollowerConfig) {
        let timeout = cfg.link.timeout_ms;
        self.cfg = cfg;
        for which in [Which::Main, Which::Rdb, Which::Leaving] {
            if let Some(c) = self.conn_mut(which) {
                c.link.set_timeout_ms(timeout);
            }
        }
    }

    /// True if this node follows a primary (ROLE `slave`, writes refused).
    pub fn is_replica(&self) -> bool {
        !matches!(self.state, State::Primary)
    }

    /// The primary followed (ROLE, INFO `master_host`/`master_port`, CONFIG `replicaof`).
    pub fn target(&self) -> Option<(&str, u16)> {
        self.target.as_ref().map(|(h, p)| (h.as_str(), *p))
    }

    /// INFO `master_link_status:up`.
    pub fn link_up(&self) -> bool {
        matches!(self.state, State::Streaming { .. })
    }

    /// ROLE's link state: `connect`, `connecting`, `handshake`, `sync`, `connected` (`None`
    /// on a primary). As in Valkey, a dual-channel sync is `handshake` until the main
    /// connection's PSYNC is answered (its state is still "waiting for the PSYNC reply"),
    /// then `sync`.
    pub fn role_state(&self) -> Option<&'static str> {
        Some(match &self.state {
            State::Primary => return None,
            State::Idle { .. } => "connect",
            State::Connecting { .. } => "connecting",
            State::Handshake { .. } | State::DualLoaded { .. } => "handshake",
            State::DualSync { dual, .. } if !dual.continued => "handshake",
            State::FullSync { .. } | State::DualSync { .. } => "sync",
            State::Streaming { .. } => "connected",
        })
    }

    /// INFO `master_sync_in_progress` (Valkey's `REPL_STATE_TRANSFER`: ROLE `sync`).
    pub fn sync_in_progress(&self) -> bool {
        self.role_state() == Some("sync")
    }

    /// Where this node stands upstream, for the primary machine.
    pub fn upstream(&self) -> Upstream {
        match &self.state {
            State::Primary => Upstream::None,
            State::Streaming { .. } => Upstream::Up,
            State::Idle {
                leaving: Some(_), ..
            }
            | State::Connecting {
                leaving: Some(_), ..
            }
            | State::Handshake {
                leaving: Some(_), ..
            } => Upstream::Switching,
            _ => Upstream::Down,
        }
    }

    /// ROLE's offset: the applied offset while the link is up, else -1.
    pub fn role_offset(&self, hist: &History) -> i64 {
        if self.link_up() {
            hist.offset()
        } else {
            -1
        }
    }

    /// INFO (`slave_read_repl_offset`, `slave_repl_offset`).
    pub fn offsets(&self, hist: &History) -> (i64, i64) {
        if self.leaving().is_some() {
            return (hist.offset(), hist.offset());
        }
        match (&self.state, &self.cached) {
            (State::Streaming { .. }, _) => (self.read_reploff, hist.offset()),
            (_, Some(c)) => (c.offset, c.offset),
            _ => (hist.offset(), hist.offset()),
        }
    }

    pub fn cached(&self) -> Option<&Cached> {
        self.cached.as_ref()
    }

    pub fn last_io_ms(&self) -> i64 {
        self.last_io_ms
    }

    /// INFO `master_link_down_since_seconds` (from when).
    pub fn down_since_ms(&self) -> Option<i64> {
        self.down_since_ms
    }

    /// INFO `master_last_error`.
    pub fn last_error(&self) -> Option<&str> {
        self.last_error.as_deref()
    }

    /// INFO `replicas_repl_buffer_size` / `_peak`.
    pub fn buffer_size(&self) -> usize {
        self.buffer().map_or(0, |b| b.bytes.len())
    }

    pub fn buffer_peak(&self) -> usize {
        self.buffer_peak
    }

    fn buffer(&self) -> Option<&Buffer> {
        match &self.state {
            State::FullSync { buffer, .. }
            | State::DualSync { buffer, .. }
            | State::DualLoaded { buffer, .. } => Some(buffer),
            _ => None,
        }
    }

    /// When the current full sync began, if one is under way.
    pub fn sync_started_ms(&self) -> Option<i64> {
        self.sync_started_ms.filter(|_| self.buffer().is_some())
    }

    /// INFO `last_successful_sync_duration_ms` (0 before any full sync).
    pub fn last_sync_ms(&self) -> i64 {
        self.last_sync_ms.unwrap_or(0)
    }

    /// Where a replica stands, in INFO's `master_sync_phase` words: `connect`, `connecting`,
    /// `handshake`, then during a full sync `snapshot` (the primary is producing it; no payload
    /// byte yet), `transfer` (payload bytes arriving, loaded as they come), `loading` (all
    /// received, the load finishing or the dual-channel main connection not yet continued),
    /// and `streaming` once the link is up. `None` on a primary.
    pub fn sync_phase(&self) -> Option<&'static str> {
        let payload = |l: &Link| {
            if l.payload_total.is_some_and(|t| l.payload_read >= t) {
                "loading"
            } else if l.payload_read > 0 {
                "transfer"
            } else {
                "snapshot"
            }
        };
        Some(match &self.state {
            State::Primary => return None,
            State::Idle { .. } => "connect",
            State::Connecting { .. } => "connecting",
            State::Handshake { .. } => "handshake",
            State::FullSync {
                payload_done: true, ..
            }
            | State::DualLoaded { .. } => "loading",
            State::FullSync { main, .. } => payload(&main.link),
            State::DualSync { dual, .. } => match &dual.rdb {
                Some(r) => payload(&r.link),
                None => "loading",
            },
            State::Streaming { .. } => "streaming",
        })
    }

    /// INFO `master_sync_read_bytes` / `master_sync_total_bytes` of the payload.
    pub fn payload_progress(&self) -> Option<(u64, Option<u64>)> {
        let l = match &self.state {
            State::FullSync { main, .. } => &main.link,
            State::DualSync { dual, .. } => &dual.rdb.as_ref()?.link,
            _ => return None,
        };
        Some((l.payload_read, l.payload_total))
    }

    /// The links the executor must not read while the local buffer is full.
    pub fn paused_link(&self) -> Option<LinkId> {
        match &self.state {
            State::FullSync { main, buffer, .. }
            | State::DualSync { main, buffer, .. }
            | State::DualLoaded { main, buffer, .. } => buffer.paused.then_some(main.id),
            _ => None,
        }
    }

    /// The replication position an RDB saved now records: the applied position while
    /// streaming, the cached one while the link is down, a primary's own with a backlog.
    pub fn saved_position(&self, hist: &History) -> Option<SavedPosition> {
        let own = matches!(self.state, State::Streaming { .. }) || self.leaving().is_some();
        match (&self.state, &self.cached) {
            (State::Primary, _) => hist.backlog().map(|_| SavedPosition {
                replid: hist.ids.replid.clone(),
                offset: hist.offset(),
                stream_db: hist.stream_db(),
            }),
            _ if own => Some(SavedPosition {
                replid: hist.ids.replid.clone(),
                offset: hist.offset(),
                stream_db: self.stream_db.max(0),
            }),
            (_, Some(c)) => Some(SavedPosition {
                replid: c.replid.clone(),
                offset: c.offset,
                stream_db: c.db.max(0),
            }),
            _ => None,
        }
    }

    // ------------------------------------------------------------------ start-up

    /// `replicaof` in the configuration: follow `host:port` from the start.
    pub fn follow_at_start(&mut self, host: String, port: u16, now_ms: i64) -> Vec<Action> {
        self.target = Some((host, port));
        self.state = State::Idle {
            retry_at_ms: now_ms,
            leaving: None,
        };
        self.down_since_ms = Some(now_ms);
        vec![Action::BecameReplica]
    }

    /// The RDB loaded at start-up carried a replication position. A replica resumes that
    /// history (it PSYNCs from it); a primary keeps its fresh id and accepts the saved one
    /// up to where it ended (PSYNC2's restart rule).
    pub fn on_rdb_loaded(&mut self, hist: &mut History, saved: SavedPosition) -> Vec<Action> {
        let mut out = Vec::new();
        if self.is_replica() {
            hist.restart_as_replica(saved.replid.clone(), saved.offset);
            self.cached = Some(Cached {
                replid: saved.replid,
                offset: saved.offset,
                db: saved.stream_db,
            });
            let text = format!(
                "Cached master recreated from the RDB aux fields: offset {}",
                saved.offset
            );
            log(&mut out, LogLevel::Notice, text);
        } else {
            hist.restart_as_primary(saved.replid, saved.offset);
        }
        out
    }

    // ------------------------------------------------------------------ commands

    /// Starts no new attempt before `until_ms` (a replica whose stream halted again and again
    /// backs off instead of asking its primary for a full sync each time). The current
    /// attempt, if any, goes on; REPLICAOF lifts the hold.
    pub fn hold_reconnect(&mut self, until_ms: i64) {
        self.hold_until_ms = until_ms;
    }

    /// When the next attempt may start, if a hold delays it past `now_ms`.
    pub fn held_until(&self, now_ms: i64) -> Option<i64> {
        (self.hold_until_ms > now_ms).then_some(self.hold_until_ms)
    }

    /// `REPLICAOF host port` (`target` = `Some`) or `REPLICAOF NO ONE`; `who` describes the
    /// client for the log. Returns the reply and the actions.
    pub fn replicaof(
        &mut self,
        hist: &mut History,
        target: Option<(String, u16)>,
        who: &str,
        now_ms: i64,
        new_id: &mut dyn FnMut() -> String,
    ) -> (Reply, Vec<Action>) {
        let mut out = Vec::new();
        // The operator acted: a hold on reconnecting is lifted.
        self.hold_until_ms = 0;
        let Some((host, port)) = target else {
            if self.is_replica() {
                self.promote_into(hist, new_id, &mut out);
                log(
                    &mut out,
                    LogLevel::Notice,
                    format!("MASTER MODE enabled (user request from '{who}')"),
                );
            }
            return (Reply::Ok, out);
        };
        if self.target() == Some((host.as_str(), port)) {
            return (
                Reply::status("OK Already connected to specified master"),
                out,
            );
        }
        log(
            &mut out,
            LogLevel::Notice,
            format!("REPLICAOF {host}:{port} enabled (user request from '{who}')"),
        );
        let state = std::mem::replace(&mut self.state, State::Primary);
        let mut leaving = match state {
            State::Primary => {
                // Our own history is what the new primary may continue.
                self.cache_own_position(hist);
                out.push(Action::BecameReplica);
                None
            }
            State::Streaming { main, .. } => self.target.take().map(|(h, p)| Leaving {
                conn: main,
                host: h,
                port: p,
                frozen: false,
                held: Vec::new(),
            }),
            other => {
                // Not streaming: nothing worth keeping; never finished later. A leaving link
                // frozen for this attempt's PSYNC goes on until the next one's.
                let mut leaving = self.abandon(other, &mut out);
                if let Some(l) = leaving.as_mut().filter(|l| l.frozen) {
                    self.cached = None;
                    l.thaw(&mut out);
                }
                leaving
            }
        };
        if let Some(mut l) = leaving.take_if(|l| l.host == host && l.port == port) {
            // Back to the primary still streaming to us: follow it again as if nothing
            // happened.
            self.cached = None;
            l.thaw(&mut out);
            log(
                &mut out,
                LogLevel::Notice,
                format!("The link to {host}:{port} still streams: following it again"),
            );
            self.target = Some((host, port));
            self.state = State::Streaming {
                main: l.conn,
                pre_psync: false,
            };
            self.down_since_ms = None;
            return (Reply::Ok, out);
        }
        self.target = Some((host, port));
        self.down_since_ms.get_or_insert(now_ms);
        self.last_error = None;
        self.state = State::Idle {
            retry_at_ms: now_ms,
            leaving,
        };
        self.connect(now_ms, &mut out);
        (Reply::Ok, out)
    }

    /// FAILOVER's hand-over: follow `host:port` (as REPLICAOF does) and ask it with
    /// `PSYNC … FAILOVER`, so that it becomes the primary; its answer is reported.
    pub fn failover_to(
        &mut self,
        hist: &mut History,
        host: String,
        port: u16,
        now_ms: i64,
        new_id: &mut dyn FnMut() -> String,
    ) -> Vec<Action> {
        let (_, out) = self.replicaof(hist, Some((host, port)), "failover", now_ms, new_id);
        self.failover = self.is_replica();
        out
    }

    /// A `PSYNC <our id> <offset> FAILOVER` from our primary: become a primary (then the
    /// primary machine answers the PSYNC). The executor logs who asked.
    pub fn promote(
        &mut self,
        hist: &mut History,
        new_id: &mut dyn FnMut() -> String,
    ) -> Vec<Action> {
        let mut out = Vec::new();
        if self.is_replica() {
            self.promote_into(hist, new_id, &mut out);
        }
        out
    }

    /// Stop following: drop every link and load, and continue the current history under a new
    /// id (REPLICAOF NO ONE, PSYNC FAILOVER).
    fn promote_into(
        &mut self,
        hist: &mut History,
        new_id: &mut dyn FnMut() -> String,
        out: &mut Vec<Action>,
    ) {
        let state = std::mem::replace(&mut self.state, State::Primary);
        if let Some(l) = self.abandon(state, out) {
            out.push(Action::Close { link: l.conn.id });
        }
        self.failover = false;
        self.target = None;
        self.cached = None;
        self.down_since_ms = None;
        self.last_error = None;
        hist.shift(new_id());
        let text = format!(
            "Setting secondary replication ID to {}, valid up to offset: {}. New replication ID is {}",
            hist.ids.replid2, hist.ids.second_offset, hist.ids.replid
        );
        log(out, LogLevel::Notice, text);
        out.push(Action::DropSubReplicas);
        out.push(Action::BecamePrimary);
    }

    /// Remembers our own history as what to ask for (PSYNC2, decision 17: right after a
    /// restart or promotion, the previous id).
    fn cache_own_position(&mut self, hist: &History) {
        let (replid, first) = hist.ids.psync_request();
        self.cached = Some(Cached {
            replid,
            offset: first - 1,
            db: self.stream_db,
        });
    }

    /// Closes the connections and loads of a state being left; returns its leaving link
    /// (the caller decides about it).
    fn abandon(&mut self, state: State, out: &mut Out) -> Option<Leaving> {
        match state {
            State::Primary => None,
            State::Idle { leaving, .. } => leaving,
            State::Connecting { main, leaving } | State::Handshake { main, leaving, .. } => {
                out.push(Action::Close { link: main.id });
                leaving
            }
            State::FullSync { main, load, .. } => {
                out.push(Action::Close { link: main.id });
                out.extend(load.map(|load| Action::AbortLoad { load }));
                None
            }
            State::DualSync { main, dual, .. } => {
                out.push(Action::Close { link: main.id });
                out.extend(dual.rdb.map(|r| Action::Close { link: r.id }));
                out.extend(dual.load.map(|load| Action::AbortLoad { load }));
                None
            }
            State::DualLoaded { main, load, .. } => {
                out.push(Action::Close { link: main.id });
                out.push(Action::AbortLoad { load });
                None
            }
            State::Streaming { main, .. } => {
                out.push(Action::Close { link: main.id });
                None
            }
        }
    }

    // ------------------------------------------------------------------ connections

    /// Starts the connection of an `Idle` state.
    fn connect(&mut self, now_ms: i64, out: &mut Out) {
        let State::Idle { leaving, .. } = std::mem::replace(&mut self.state, State::Primary) else {
            unreachable!("connect from Idle only");
        };
        let Some((host, port)) = self.target.clone() else {
            unreachable!("a following node has a target");
        };
        let id = self.new_link();
        log(
            out,
            LogLevel::Notice,
            format!("Connecting to MASTER {host}:{port}"),
        );
        out.push(Action::Connect {
            link: id,
            host,
            port,
        });
        self.state = State::Connecting {
            main: Conn {
                id,
                link: Link::new(self.cfg.link.clone(), now_ms),
            },
            leaving,
        };
    }

    fn new_link(&mut self) -> LinkId {
        let id = self.next_link;
        self.next_link += 1;
        id
    }

    /// The TCP connection of `link` is up.
    pub fn on_connected(&mut self, hist: &mut History, link: LinkId, now_ms: i64) -> Vec<Action> {
        let mut out = Vec::new();
        match std::mem::replace(&mut self.state, State::Primary) {
            State::Connecting { mut main, leaving } if main.id == link => {
                log(
                    &mut out,
                    LogLevel::Notice,
                    "MASTER <-> REPLICA sync started",
                );
                let actions = main.link.on_connected(now_ms);
                self.state = State::Handshake {
                    main,
                    leaving,
                    asked: None,
                };
                self.run(hist, Which::Main, actions, now_ms, &mut out);
            }
            State::DualSync {
                main,
                mut dual,
                buffer,
            } if dual.rdb.as_ref().is_some_and(|r| r.id == link) => {
                log(
                    &mut out,
                    LogLevel::Notice,
                    "MASTER <-> REPLICA sync: RDB channel connected",
                );
                let actions = dual
                    .rdb
                    .as_mut()
                    .map(|r| r.link.on_connected(now_ms))
                    .unwrap_or_default();
                self.state = State::DualSync { main, dual, buffer };
                self.run(hist, Which::Rdb, actions, now_ms, &mut out);
            }
            other => self.state = other,
        }
        out
    }

    fn which(&self, link: LinkId) -> Option<Which> {
        let (main, rdb, leaving) = match &self.state {
            State::Primary | State::Idle { leaving: None, .. } => return None,
            State::Idle {
                leaving: Some(l), ..
            } => return (l.conn.id == link).then_some(Which::Leaving),
            State::Connecting { main, leaving } | State::Handshake { main, leaving, .. } => {
                (main.id, None, leaving.as_ref().map(|l| l.conn.id))
            }
            State::DualSync { main, dual, .. } => (main.id, dual.rdb.as_ref().map(|r| r.id), None),
            State::FullSync { main, .. }
            | State::DualLoaded { main, .. }
            | State::Streaming { main, .. } => (main.id, None, None),
        };
        if main == link {
            Some(Which::Main)
        } else if rdb == Some(link) {
            Some(Which::Rdb)
        } else if leaving == Some(link) {
            Some(Which::Leaving)
        } else {
            None
        }
    }

    fn conn_mut(&mut self, which: Which) -> Option<&mut Conn> {
        match (&mut self.state, which) {
            (State::Idle { leaving, .. }, Which::Leaving)
            | (State::Connecting { leaving, .. }, Which::Leaving)
            | (State::Handshake { leaving, .. }, Which::Leaving) => {
                leaving.as_mut().map(|l| &mut l.conn)
            }
            (State::DualSync { dual, .. }, Which::Rdb) => dual.rdb.as_mut(),
            (
                State::Connecting { main, .. }
                | State::Handshake { main, .. }
                | State::FullSync { main, .. }
                | State::DualSync { main, .. }
                | State::DualLoaded { main, .. }
                | State::Streaming { main, .. },
                Which::Main,
            ) => Some(main),
            _ => None,
        }
    }

    /// Bytes read from `link`.
    pub fn on_data(
        &mut self,
        hist: &mut History,
        link: LinkId,
        bytes: &[u8],
        now_ms: i64,
    ) -> Vec<Action> {
        let mut out = Vec::new();
        let Some(which) = self.which(link) else {
            return out;
        };
        if which == Which::Main {
            self.last_io_ms = now_ms;
        }
        let actions = match self.conn_mut(which) {
            Some(c) => c.link.on_data(now_ms, bytes),
            None => return out,
        };
        self.run(hist, which, actions, now_ms, &mut out);
        out
    }

    /// Fast path for the streaming link: `n` bytes were read from `link`. Returns true if the
    /// executor may feed them straight to the command parser (as if [`Follower::on_data`]
    /// had returned them in an `Apply`, without the copy); false if they must go through
    /// [`Follower::on_data`] (the link is not streaming, or is a frozen leaving link).
    pub fn on_stream_read(&mut self, link: LinkId, n: usize, now_ms: i64) -> bool {
        let streaming = matches!(&self.state, State::Streaming { main, .. } if main.id == link);
        let leaving = self
            .leaving()
            .is_some_and(|l| l.conn.id == link && !l.frozen);
        if !streaming && !leaving {
            return false;
        }
        if streaming {
            self.last_io_ms = now_ms;
            self.read_reploff += n as i64;
        }
        let which = if streaming {
            Which::Main
        } else {
            Which::Leaving
        };
        if let Some(c) = self.conn_mut(which) {
            c.link.note_io(now_ms);
        }
        true
    }

    /// The executor applied one unit of `link`'s stream (`bytes` exactly as received: a
    /// command, a whole transaction at EXEC, an empty line); `db` is the database the link's
    /// client has selected after it. The bytes join this node's history (proxied to its own
    /// replicas).
    pub fn on_applied(&mut self, hist: &mut History, link: LinkId, bytes: &[u8], db: i64) {
        let applying = self
            .leaving()
            .is_some_and(|l| l.conn.id == link && !l.frozen)
            || matches!(&self.state, State::Streaming { main, .. } if main.id == link);
        if !applying {
            return;
        }
        let before = hist.offset();
        hist.append(bytes);
        assert_eq!(
            hist.offset(),
            before + bytes.len() as i64,
            "a replica's history grows by exactly what it applies"
        );
        self.stream_db = db;
        hist.set_upstream_db(db);
    }

    /// The executor's AOF state: the stream offset fsynced in it, reported in every later ACK.
    pub fn set_aof_offset(&mut self, offset: Option<i64>) {
        self.aof_offset = offset;
    }

    /// `REPLCONF GETACK` arrived on `link`: answer with the offset applied so far.
    pub fn on_getack(&mut self, hist: &History, link: LinkId) -> Vec<Action> {
        let acking = matches!(self.which(link), Some(Which::Leaving))
            || matches!(&self.state, State::Streaming { main, pre_psync: false } if main.id == link);
        if !acking {
            return vec![];
        }
        vec![Action::Send {
            link,
            bytes: ack_fack(hist.offset(), self.aof_offset),
        }]
    }

    /// The connection of `link` closed (by the peer, an error, or a failed connect);
    /// `protocol_error` if the executor closed it for bad stream input.
    pub fn on_closed(
        &mut self,
        hist: &mut History,
        link: LinkId,
        protocol_error: bool,
        now_ms: i64,
    ) -> Vec<Action> {
        let mut out = Vec::new();
        match self.which(link) {
            None => {}
            Some(Which::Leaving) => {
                self.drop_leaving(hist, protocol_error, &mut out);
            }
            Some(Which::Rdb) => {
                // After the payload's end the primary closes it; before, the sync failed.
                let done = matches!(&self.state, State::DualSync { dual, .. }
                    if dual.rdb.as_ref().is_some_and(|r| r.link.state() == LinkState::Loading));
                if done {
                    if let State::DualSync { dual, .. } = &mut self.state {
                        dual.rdb = None;
                    }
                } else {
                    let why = "Connection with the primary's RDB channel lost during the transfer";
                    self.fail(hist, why, now_ms, &mut out);
                }
            }
            Some(Which::Main) => {
                if matches!(self.state, State::Streaming { .. }) {
                    log(&mut out, LogLevel::Notice, "Connection with master lost.");
                    self.lose_stream(hist, protocol_error, now_ms, &mut out);
                } else {
                    self.fail(
                        hist,
                        "Connection with master lost during the sync",
                        now_ms,
                        &mut out,
                    );
                }
            }
        }
        out
    }

    fn leaving(&self) -> Option<&Leaving> {
        match &self.state {
            State::Idle { leaving, .. }
            | State::Connecting { leaving, .. }
            | State::Handshake { leaving, .. } => leaving.as_ref(),
            _ => None,
        }
    }

    /// The leaving link is gone (closed, timed out, or the new primary took over): our
    /// position is what we applied of it.
    fn drop_leaving(&mut self, hist: &History, protocol_error: bool, out: &mut Out) {
        let leaving = match &mut self.state {
            State::Idle { leaving, .. }
            | State::Connecting { leaving, .. }
            | State::Handshake { leaving, .. } => leaving.take(),
            _ => None,
        };
        if let Some(l) = leaving {
            out.push(Action::Close { link: l.conn.id });
            if protocol_error {
                self.cached = None;
            } else {
                self.cache_own_position(hist);
            }
        }
    }

    /// The streaming link is lost: cached (unless for a protocol error) and reconnected now.
    fn lose_stream(&mut self, hist: &History, protocol_error: bool, now_ms: i64, out: &mut Out) {
        let state = std::mem::replace(&mut self.state, State::Primary);
        self.abandon(state, out);
        if protocol_error {
            self.cached = None;
            log(out, LogLevel::Warning, "Primary link closed for a protocol error: the cached primary is discarded (the next sync is a full one).");
        } else {
            self.cache_own_position(hist);
            log(
                out,
                LogLevel::Notice,
                "Caching the disconnected master state.",
            );
        }
        self.down_since_ms = Some(now_ms);
        self.state = State::Idle {
            retry_at_ms: now_ms,
            leaving: None,
        };
    }

    /// The attempt failed: close its connections and loads (old data and position stay) and
    /// retry later. A leaving link stays.
    fn fail(&mut self, hist: &History, why: &str, now_ms: i64, out: &mut Out) {
        if matches!(self.state, State::Streaming { .. }) {
            log(out, LogLevel::Warning, why);
            self.last_error = Some(why.to_string());
            return self.lose_stream(hist, false, now_ms, out);
        }
        let state = std::mem::replace(&mut self.state, State::Primary);
        if matches!(state, State::Primary) {
            return;
        }
        log(out, LogLevel::Warning, why);
        self.last_error = Some(why.to_string());
        let mut leaving = self.abandon(state, out);
        if let Some(l) = leaving.as_mut().filter(|l| l.frozen) {
            // The new primary did not take over: the old stream goes on.
            self.cached = None;
            l.thaw(out);
        }
        self.down_since_ms.get_or_insert(now_ms);
        self.state = State::Idle {
            retry_at_ms: now_ms + self.cfg.retry_ms,
            leaving,
        };
    }

    /// The clock: reconnect when due, connection timeouts, and once a second the ACK to the
    /// primary (also on the leaving link), a newline while loading, and the early `ACK 0`
    /// that releases a primary holding the stream until our first ACK.
    pub fn on_tick(&mut self, hist: &mut History, now_ms: i64) -> Vec<Action> {
        let mut out = Vec::new();
        if let State::Idle { retry_at_ms, .. } = self.state {
            if now_ms >= retry_at_ms.max(self.hold_until_ms) {
                self.connect(now_ms, &mut out);
            }
        }
        for which in [Which::Leaving, Which::Rdb, Which::Main] {
            let actions = match self.conn_mut(which) {
                Some(c) => c.link.on_tick(now_ms),
                None => continue,
            };
            self.run(hist, which, actions, now_ms, &mut out);
        }
        if now_ms < self.next_cron_ms {
            return out;
        }
        self.next_cron_ms = now_ms + 1000;
        let offset = hist.offset();
        match &mut self.state {
            State::Streaming {
                main,
                pre_psync: false,
            } => out.push(Action::Send {
                link: main.id,
                bytes: ack_fack(offset, self.aof_offset),
            }),
            State::Idle {
                leaving: Some(l), ..
            }
            | State::Connecting {
                leaving: Some(l), ..
            }
            | State::Handshake {
                leaving: Some(l), ..
            } => out.push(Action::Send {
                link: l.conn.id,
                bytes: ack(offset),
            }),
            State::FullSync {
                main,
                load: Some(_),
                payload_done,
                released,
                offset: snap,
                ..
            } => {
                out.push(Action::Send {
                    link: main.id,
                    bytes: b"\n".to_vec(),
                });
                if *payload_done && !*released && *snap >= 0 {
                    out.push(Action::Send {
                        link: main.id,
                        bytes: ack(0),
                    });
                }
            }
            State::DualSync { main, dual, .. } if dual.continued => out.push(Action::Send {
                link: main.id,
                bytes: b"\n".to_vec(),
            }),
            _ => {}
        }
        out
    }
}
