//! Seeded simulation of the pure replication machines under faults.
//!
//! A model primary built from the crate's own decision logic (`ReplIds` for PSYNC2
//! acceptance, `ReplBuffer` for the backlog and its pins, `peer::replconf` for REPLCONF) and
//! model replicas built on `Link` (the replica-side state machine, main and dual-channel RDB
//! connections) talk over simulated TCP connections. A seeded scheduler delivers bytes in
//! random pieces and order across connections (so the two channels of a dual-channel sync
//! interleave arbitrarily), advances a clock (timeouts), and injects faults: dropped
//! connections (bytes in flight are lost), stalled connections, replica crashes with or
//! without a persisted snapshot, primary crashes that lose unsaved writes, snapshot transfers
//! that take time while writes continue, tiny backlogs that overrun.
//!
//! Invariants, checked at every step:
//! - every stream byte a replica applies is the primary's byte at that offset, applied on top
//!   of exactly the primary's prefix (no byte applied twice, none skipped);
//! - a replica's offset never goes backwards on one history;
//! - the backlog holds exactly the stream bytes of the window it claims;
//! - PSYNC is accepted exactly when an independent oracle (the histories the primary has
//!   had, and the backlog window) says the requested history and offset can be served: so
//!   no full sync happens that PSYNC2 could have avoided, and no partial one that diverges.
//!
//! and after each round, once faults stop: every replica converges to the primary's offset
//! and content. `SIM_SEED=<n>` replays one seed; `SIM_SEEDS` / `SIM_STEPS` make longer runs.

use std::collections::{BTreeMap, VecDeque};

use bytes::BytesMut;
use replication::link::Action;
use replication::peer::{self, PeerInfo, Replconf};
use replication::proto::EndOff;
use replication::{Link, LinkConfig, LinkState, ReplBuffer, ReplIds};
use resp::{Parsed, RequestParser};
use testkit::Rng;

// ---------------------------------------------------------------------------------------
// Deterministic randomness

trait Hex40 {
    fn hex40(&mut self) -> String;
}

impl Hex40 for Rng {
    fn hex40(&mut self) -> String {
        (0..40)
            .map(|_| char::from_digit(self.below(16) as u32, 16).unwrap_or('0'))
            .collect()
    }
}

/// Rolling hash of a stream prefix.
fn roll(h: u64, byte: u8) -> u64 {
    (h ^ byte as u64).wrapping_mul(0x0000_0100_0000_01B3)
}

const H0: u64 = 0xCBF2_9CE4_8422_2325;

// ---------------------------------------------------------------------------------------
// Network

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Side {
    Primary,
    Replica(usize),
}

struct Conn {
    replica: usize,
    /// Bytes in flight towards the primary / towards the replica.
    up: VecDeque<u8>,
    down: VecDeque<u8>,
    open: bool,
    stalled_until: i64,
    /// The replica's close is noticed by the primary after its bytes (and vice versa).
    closed_by: Option<Side>,
    /// The primary forgot this connection (closed it, or saw it closed): it reads no more.
    primary_done: bool,
}

// ---------------------------------------------------------------------------------------
// The model primary

#[derive(Debug, PartialEq)]
enum PeerSt {
    Handshake,
    /// Snapshot at `offset` being produced until `ready_at`; then the payload is sent.
    Transfer {
        offset: i64,
        ready_at: i64,
        eof: bool,
    },
    /// Streaming from `next`; with `gated`, held until the first ACK (EOF-form payload).
    Online {
        next: i64,
        gated: bool,
    },
    /// Dual-channel RDB connection whose payload was sent.
    Done,
}

struct Peer {
    parser: RequestParser,
    inbuf: BytesMut,
    info: PeerInfo,
    st: PeerSt,
    ack: i64,
}

struct Primary {
    up: bool,
    ids: ReplIds,
    buf: Option<ReplBuffer>,
    backlog_size: usize,
    /// The stream (byte `o` at index `o - 1`) and prefix hashes (`prefix[o]` = hash of 1..=o).
    stream: Vec<u8>,
    prefix: Vec<u64>,
    /// The previous history a restart recovered from its last save: its id and the last
    /// byte of it that the current stream shares.
    prev: Option<(String, i64)>,
    /// Last "RDB" save: (id, offset).
    saved: Option<(String, i64)>,
    peers: BTreeMap<usize, Peer>,
    /// Dual-channel RDB connections waiting for their main connection's PSYNC:
    /// conn id -> (snapshot offset, closed at).
    waiting_psync: BTreeMap<usize, (i64, Option<i64>)>,
    dual: bool,
    /// The id of the current history, as the simulation knows it.
    current_id: String,
    /// Replica output-buffer limit for a replica in a transfer (stream bytes held for it).
    cob_limit: i64,
    crashes: u64,
}

impl Primary {
    fn new(rng: &mut Rng, backlog_size: usize, dual: bool) -> Primary {
        let id = rng.hex40();
        Primary {
            up: true,
            ids: ReplIds::new(id),
            buf: None,
            backlog_size,
            stream: Vec::new(),
            prefix: vec![H0],
            prev: None,
            saved: None,
            peers: BTreeMap::new(),
            waiting_psync: BTreeMap::new(),
            dual,
            current_id: String::new(),
            cob_limit: 64 * 1024,
            crashes: 0,
        }
    }

    fn offset(&self) -> i64 {
        self.stream.len() as i64
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.stream.push(b);
            let h = roll(*self.prefix.last().unwrap_or(&H0), b);
            self.prefix.push(h);
        }
        if let Some(buf) = self.buf.as_mut() {
            buf.append(bytes);
            self.ids.offset = buf.end();
        } else {
            self.ids.offset = self.offset();
        }
    }

    fn window(&self) -> Option<(i64, i64)> {
        self.buf.as_ref().map(|b| (b.first_byte(), b.histlen()))
    }

    /// The oracle: can a PSYNC for `id` from byte `from` be served, judging from the
    /// simulation's own record of this primary's histories (the current one, and the one its
    /// last save recovered, up to where the current stream shares it) and its backlog?
    fn oracle_can_continue(&self, id: &str, from: i64) -> bool {
        let end = if id.eq_ignore_ascii_case(&self.current_id) {
            self.offset()
        } else {
            match &self.prev {
                Some((pid, end)) if pid.eq_ignore_ascii_case(id) => *end,
                _ => return false,
            }
        };
        if from - 1 > end {
            return false;
        }
        match self.window() {
            Some((first, len)) => from >= first && from <= first + len,
            None => false,
        }
    }

    /// Checks that the backlog holds exactly the stream bytes of the window it claims.
    fn check_backlog(&mut self) -> Result<(), String> {
        let end = self.offset();
        let Some(buf) = self.buf.as_mut() else {
            return Ok(());
        };
        if buf.end() != end {
            return Err(format!("backlog end {} != stream end {end}", buf.end()));
        }
        let first = buf.first_byte();
        let chunks = buf
            .chunks_from(first)
            .ok_or_else(|| format!("backlog cannot serve its own first byte {first}"))?;
        let held: Vec<u8> = chunks.iter().flat_map(|c| c.iter().copied()).collect();
        let want = &self.stream[(first - 1).max(0) as usize..];
        if held != want {
            return Err(format!(
                "backlog window {first}..={end} holds {} bytes that differ from the stream's {}",
                held.len(),
                want.len()
            ));
        }
        Ok(())
    }

    fn crash(&mut self, rng: &mut Rng) {
        self.up = false;
        self.crashes += 1;
        self.peers.clear();
        self.waiting_psync.clear();
        // Restart from the last save (or empty): unsaved writes are lost; the saved history
        // stays valid up to where it was saved (PSYNC2 restart rule), under a new id.
        let keep = self.saved.as_ref().map_or(0, |s| s.1);
        self.stream.truncate(keep as usize);
        self.prefix.truncate(keep as usize + 1);
        let id = rng.hex40();
        self.current_id = id.clone();
        let mut ids = ReplIds::new(id);
        self.prev = self.saved.clone();
        if let Some((sid, soff)) = &self.saved {
            ids.replid2 = sid.clone();
            ids.second_offset = soff + 1;
        }
        ids.offset = keep;
        self.ids = ids;
        self.buf = self
            .saved
            .as_ref()
            .map(|_| ReplBuffer::new(keep, self.backlog_size));
        self.up = true;
    }
}

// ---------------------------------------------------------------------------------------
// The model replica

struct ConnLink {
    conn: usize,
    link: Link,
}

struct Replica {
    up: bool,
    dual: bool,
    /// The dataset: offset and prefix hash (None = empty).
    data: Option<(i64, u64)>,
    ids_replid: Option<String>,
    /// Kept when the link is lost (for PSYNC); also what a restart recovers if persisted.
    cached: Option<(String, i64)>,
    saved: Option<(String, i64, u64)>,
    main: Option<ConnLink>,
    rdb: Option<ConnLink>,
    retry_at: i64,
    payload: Vec<u8>,
    loading: Option<(i64, Vec<u8>)>,
    stream_buf: Vec<u8>,
    streaming: bool,
    full_sync: Option<(Option<String>, i64)>,
    psync_from: Option<(String, i64)>,
    endoff: Option<EndOff>,
    dual_continued: bool,
    dual_loaded: Option<(i64, u64)>,
    last_ack: i64,
    full_syncs: u64,
}

impl Replica {
    fn new(dual: bool) -> Replica {
        Replica {
            up: true,
            dual,
            data: None,
            ids_replid: None,
            cached: None,
            saved: None,
            main: None,
            rdb: None,
            retry_at: 0,
            payload: Vec::new(),
            loading: None,
            stream_buf: Vec::new(),
            streaming: false,
            full_sync: None,
            psync_from: None,
            endoff: None,
            dual_continued: false,
            dual_loaded: None,
            last_ack: 0,
            full_syncs: 0,
        }
    }

    fn cfg(&self, rdb_channel: bool) -> LinkConfig {
        LinkConfig {
            listening_port: 7000,
            announce_ip: None,
            auth: None,
            dual_channel: self.dual,
            rdb_channel,
            timeout_ms: 5_000,
        }
    }
}

// ---------------------------------------------------------------------------------------
// The world

struct World {
    rng: Rng,
    now: i64,
    primary: Primary,
    replicas: Vec<Replica>,
    conns: Vec<Conn>,
    faults: bool,
    log: VecDeque<String>,
    stats: Stats,
}

#[derive(Default, Debug)]
struct Stats {
    steps: u64,
    bytes_written: u64,
    full_syncs: u64,
    partial_syncs: u64,
    dual_syncs: u64,
    faults: u64,
    primary_crashes: u64,
    replica_crashes: u64,
}

type R = Result<(), String>;

impl World {
    fn new(seed: u64) -> World {
        let mut rng = Rng(seed);
        let backlog = if rng.chance(500) { 16 * 1024 } else { 1 << 20 };
        let dual = rng.chance(700);
        let mut primary = Primary::new(&mut rng, backlog, dual);
        primary.current_id = primary.ids.replid.clone();
        let n = 1 + rng.below(2) as usize;
        let replicas = (0..n)
            .map(|i| Replica::new(i == 0 || rng.chance(500)))
            .collect();
        World {
            rng,
            now: 0,
            primary,
            replicas,
            conns: Vec::new(),
            faults: true,
            log: VecDeque::new(),
            stats: Stats::default(),
        }
    }

    fn note(&mut self, s: String) {
        if self.log.len() >= 40 {
            self.log.pop_front();
        }
        self.log.push_back(format!("t={} {s}", self.now));
    }

    fn send(&mut self, conn: usize, from: Side, bytes: &[u8]) {
        let c = &mut self.conns[conn];
        if !c.open || c.closed_by.is_some() {
            return;
        }
        match from {
            Side::Primary => c.down.extend(bytes),
            Side::Replica(_) => c.up.extend(bytes),
        }
    }

    /// Closes a connection from one side: the other side sees the close after the bytes
    /// already in flight towards it.
    fn close(&mut self, conn: usize, by: Side) {
        let c = &mut self.conns[conn];
        if by == Side::Primary {
            c.primary_done = true;
        }
        if c.open && c.closed_by.is_none() {
            c.closed_by = Some(by);
        }
    }

    /// A connection dropped by the network: both sides notice now, in-flight bytes are lost.
    fn cut(&mut self, conn: usize) -> R {
        if !self.conns[conn].open {
            return Ok(());
        }
        self.note(format!("cut conn {conn}"));
        self.conns[conn].open = false;
        self.conns[conn].up.clear();
        self.conns[conn].down.clear();
        self.primary_conn_closed(conn);
        self.replica_conn_closed(conn)
    }

    // ---------------- primary side

    fn primary_input(&mut self, conn: usize, bytes: &[u8]) -> R {
        let Some(p) = self.primary.peers.get_mut(&conn) else {
            let mut peer = Peer {
                parser: RequestParser::new(1 << 20),
                inbuf: BytesMut::new(),
                info: PeerInfo::default(),
                st: PeerSt::Handshake,
                ack: 0,
            };
            peer.inbuf.extend_from_slice(bytes);
            self.primary.peers.insert(conn, peer);
            return self.primary_parse(conn);
        };
        p.inbuf.extend_from_slice(bytes);
        self.primary_parse(conn)
    }

    fn primary_parse(&mut self, conn: usize) -> R {
        loop {
            let Some(p) = self.primary.peers.get_mut(&conn) else {
                return Ok(());
            };
            let argv = match p.parser.parse(&mut p.inbuf) {
                Ok(Parsed::Command(argv)) => argv,
                Ok(Parsed::Empty) => continue,
                Ok(Parsed::NeedMore { .. }) => return Ok(()),
                Err(e) => return Err(format!("primary could not parse replica input: {e:?}")),
            };
            let name = String::from_utf8_lossy(&argv[0]).to_ascii_lowercase();
            let args: Vec<&[u8]> = argv[1..].iter().map(|a| &a[..]).collect();
            match name.as_str() {
                "ping" => self.send(conn, Side::Primary, b"+PONG\r\n"),
                "replconf" => {
                    let accept_dual = self.primary.dual;
                    let p = self.primary.peers.get_mut(&conn).ok_or("peer vanished")?;
                    match peer::replconf(&mut p.info, &args, accept_dual) {
                        Replconf::Ok => self.send(conn, Side::Primary, b"+OK\r\n"),
                        Replconf::Err(e) => {
                            self.send(conn, Side::Primary, format!("-{e}\r\n").as_bytes())
                        }
                        Replconf::Ack { offset, .. } => {
                            if offset > self.primary.offset() {
                                return Err(format!(
                                    "replica ACKed {offset} beyond the primary's {}",
                                    self.primary.offset()
                                ));
                            }
                            let p = self.primary.peers.get_mut(&conn).ok_or("peer vanished")?;
                            p.ack = p.ack.max(offset);
                            if let PeerSt::Online { gated, .. } = &mut p.st {
                                *gated = false;
                            }
                        }
                        Replconf::GetAck => {}
                        Replconf::SetRdbClientId(id) => {
                            if self.primary.waiting_psync.contains_key(&(id as usize)) {
                                p.info.rdb_client_id = Some(id);
                                self.send(conn, Side::Primary, b"+OK\r\n");
                            } else {
                                let e = format!("-ERR Unrecognized RDB client id {id}\r\n");
                                self.send(conn, Side::Primary, e.as_bytes());
                            }
                        }
                    }
                }
                "psync" => {
                    let id =
                        String::from_utf8_lossy(args.first().copied().unwrap_or(b"?")).into_owned();
                    let from: i64 = std::str::from_utf8(args.get(1).copied().unwrap_or(b"-1"))
                        .ok()
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(-1);
                    self.primary_psync(conn, &id, from)?;
                }
                "sync" => self.primary_full_sync(conn, true)?,
                other => return Err(format!("primary got unexpected command {other}")),
            }
        }
    }

    fn primary_psync(&mut self, conn: usize, id: &str, from: i64) -> R {
        let verdict = self
            .primary
            .ids
            .can_continue(id, from, self.primary.window());
        let oracle = id != "?" && self.primary.oracle_can_continue(id, from);
        if verdict.is_ok() != oracle {
            return Err(format!(
                "PSYNC {id} {from}: the rule says {verdict:?}, the oracle says {oracle} (current {}, previous {:?}, window {:?})",
                self.primary.current_id,
                self.primary.prev,
                self.primary.window()
            ));
        }
        if verdict.is_ok() {
            self.stats.partial_syncs += 1;
            let replid = self.primary.ids.replid.clone();
            let p = self.primary.peers.get_mut(&conn).ok_or("peer vanished")?;
            if let Some(cid) = p.info.rdb_client_id {
                self.primary.waiting_psync.remove(&(cid as usize));
                if let Some(b) = self.primary.buf.as_mut() {
                    b.unpin(cid);
                }
            }
            p.st = PeerSt::Online {
                next: from,
                gated: false,
            };
            self.send(
                conn,
                Side::Primary,
                format!("+CONTINUE {replid}\r\n").as_bytes(),
            );
            self.note(format!("primary: +CONTINUE on conn {conn} from {from}"));
            return self.primary_stream(conn);
        }
        let capa_dual = self
            .primary
            .peers
            .get(&conn)
            .is_some_and(|p| p.info.capa_dual_channel);
        if capa_dual {
            self.send(conn, Side::Primary, b"+DUALCHANNELSYNC\r\n");
            return Ok(());
        }
        self.primary_full_sync(conn, false)
    }

    /// Starts a snapshot at the current offset for `conn`; the payload goes out later.
    fn primary_full_sync(&mut self, conn: usize, legacy_sync: bool) -> R {
        self.stats.full_syncs += 1;
        if self.primary.buf.is_none() {
            let id = self.rng.hex40();
            // A new history (no backlog yet): nothing before it can be continued.
            self.primary.current_id = id.clone();
            self.primary.prev = None;
            self.primary.ids.reset(id);
            let off = self.primary.offset();
            self.primary.buf = Some(ReplBuffer::new(off, self.primary.backlog_size));
        }
        let offset = self.primary.offset();
        let replid = self.primary.ids.replid.clone();
        let transfer = self.rng.below(400) as i64;
        let p = self.primary.peers.get_mut(&conn).ok_or("peer vanished")?;
        let eof = p.info.capa_eof && self.rng.chance(700);
        p.st = PeerSt::Transfer {
            offset,
            ready_at: self.now + transfer,
            eof: eof || p.info.rdb_channel,
        };
        if !legacy_sync {
            self.send(
                conn,
                Side::Primary,
                format!("+FULLRESYNC {replid} {offset}\r\n").as_bytes(),
            );
        }
        if let Some(b) = self.primary.buf.as_mut() {
            b.pin(conn as u64, offset + 1);
        }
        self.note(format!("primary: snapshot at {offset} for conn {conn}"));
        Ok(())
    }

    fn payload(&mut self, offset: i64, eof: bool) -> Vec<u8> {
        let hash = self.primary.prefix[offset as usize];
        let filler = "z".repeat(self.rng.below(300) as usize);
        let body = format!("SNAP:{offset}:{hash}:{}:{filler}", self.primary.crashes);
        if eof {
            let mark: String = (0..40)
                .map(|i| if i % 2 == 0 { 'a' } else { '7' })
                .collect();
            format!("$EOF:{mark}\r\n{body}{mark}").into_bytes()
        } else {
            format!("${}\r\n{body}", body.len()).into_bytes()
        }
    }

    /// Transfers whose snapshot is ready send their payload; online replicas get the stream.
    fn primary_tick(&mut self) -> R {
        let conns: Vec<usize> = self.primary.peers.keys().copied().collect();
        for conn in conns {
            let Some(p) = self.primary.peers.get(&conn) else {
                continue;
            };
            match p.st {
                PeerSt::Transfer {
                    offset,
                    ready_at,
                    eof,
                } => {
                    let held = self.primary.offset() - offset;
                    if held > self.primary.cob_limit && !p.info.rdb_channel {
                        self.note(format!("primary: conn {conn} over the output limit"));
                        if let Some(b) = self.primary.buf.as_mut() {
                            b.unpin(conn as u64);
                        }
                        self.primary.peers.remove(&conn);
                        self.close(conn, Side::Primary);
                        continue;
                    }
                    if self.now < ready_at {
                        continue;
                    }
                    let rdb_channel = p.info.rdb_channel;
                    if rdb_channel {
                        let e = EndOff {
                            offset,
                            replid: self.primary.ids.replid.clone(),
                            db: 0,
                            client_id: conn as u64,
                        };
                        self.send(conn, Side::Primary, &replication::proto::endoff_line(&e));
                        self.primary.waiting_psync.insert(conn, (offset, None));
                    }
                    let body = self.payload(offset, eof);
                    self.send(conn, Side::Primary, &body);
                    let p = self.primary.peers.get_mut(&conn).ok_or("peer vanished")?;
                    if rdb_channel {
                        p.st = PeerSt::Done;
                        self.close(conn, Side::Primary);
                    } else {
                        p.st = PeerSt::Online {
                            next: offset + 1,
                            gated: eof,
                        };
                        if let Some(b) = self.primary.buf.as_mut() {
                            b.unpin(conn as u64);
                        }
                    }
                }
                PeerSt::Online { .. } => self.primary_stream(conn)?,
                _ => {}
            }
        }
        // Finished RDB connections keep their pin for a grace period.
        let expired: Vec<usize> = self
            .primary
            .waiting_psync
            .iter()
            .filter(|(_, (_, closed))| closed.is_some_and(|t| self.now - t > 2_000))
            .map(|(c, _)| *c)
            .collect();
        for c in expired {
            self.primary.waiting_psync.remove(&c);
            if let Some(b) = self.primary.buf.as_mut() {
                b.unpin(c as u64);
            }
        }
        Ok(())
    }

    fn primary_stream(&mut self, conn: usize) -> R {
        let end = self.primary.offset();
        let Some(p) = self.primary.peers.get_mut(&conn) else {
            return Ok(());
        };
        let PeerSt::Online { next, gated: false } = p.st else {
            return Ok(());
        };
        if next > end {
            return Ok(());
        }
        let Some(buf) = self.primary.buf.as_mut() else {
            return Err("online replica without a backlog".into());
        };
        match buf.chunks_from(next) {
            Some(chunks) => {
                let bytes: Vec<u8> = chunks.iter().flat_map(|c| c.iter().copied()).collect();
                if bytes.len() as i64 != end - next + 1 {
                    return Err(format!(
                        "backlog served {} bytes from {next}, expected {}",
                        bytes.len(),
                        end - next + 1
                    ));
                }
                p.st = PeerSt::Online {
                    next: end + 1,
                    gated: false,
                };
                self.send(conn, Side::Primary, &bytes);
            }
            None => {
                // Fell behind the backlog: dropped, as Redis does.
                self.note(format!("primary: conn {conn} fell behind the backlog"));
                self.primary.peers.remove(&conn);
                self.close(conn, Side::Primary);
            }
        }
        Ok(())
    }

    fn primary_conn_closed(&mut self, conn: usize) {
        self.conns[conn].primary_done = true;
        if self.primary.peers.remove(&conn).is_some() {
            if let Some(w) = self.primary.waiting_psync.get_mut(&conn) {
                w.1.get_or_insert(self.now);
            } else if let Some(b) = self.primary.buf.as_mut() {
                b.unpin(conn as u64);
            }
        }
    }

    // ---------------- replica side

    fn connect(&mut self, r: usize, rdb_channel: bool) -> R {
        let conn = self.conns.len();
        self.conns.push(Conn {
            replica: r,
            up: VecDeque::new(),
            down: VecDeque::new(),
            open: true,
            stalled_until: 0,
            closed_by: None,
            primary_done: false,
        });
        let cfg = self.replicas[r].cfg(rdb_channel);
        let mut link = Link::new(cfg, self.now);
        let actions = link.on_connected(self.now);
        let cl = ConnLink { conn, link };
        if rdb_channel {
            self.replicas[r].rdb = Some(cl);
        } else {
            self.replicas[r].main = Some(cl);
        }
        self.note(format!(
            "replica {r}: connect {} conn {conn}",
            if rdb_channel { "rdb" } else { "main" }
        ));
        self.run(r, rdb_channel, actions)
    }

    fn run(&mut self, r: usize, rdb: bool, actions: Vec<Action>) -> R {
        for a in actions {
            let conn = match if rdb {
                &self.replicas[r].rdb
            } else {
                &self.replicas[r].main
            } {
                Some(cl) => cl.conn,
                None => return Ok(()),
            };
            match a {
                Action::Send(b) => self.send(conn, Side::Replica(r), &b),
                Action::HandshakeDone => {
                    let rep = &mut self.replicas[r];
                    let from = rep.cached.clone();
                    rep.psync_from = from.clone().map(|(id, off)| (id, off + 1));
                    let Some(m) = rep.main.as_mut() else {
                        return Ok(());
                    };
                    let a = m
                        .link
                        .psync(from.as_ref().map(|(id, off)| (id.as_str(), off + 1)));
                    self.run(r, false, a)?;
                }
                Action::FullResync { replid, offset } => {
                    self.replicas[r].full_sync = Some((replid, offset));
                }
                Action::PayloadStart { .. } => self.replicas[r].payload.clear(),
                Action::Payload(b) => self.replicas[r].payload.extend_from_slice(&b),
                Action::PayloadEnd => {
                    let delay = self.rng.below(300) as i64;
                    let rep = &mut self.replicas[r];
                    rep.loading = Some((self.now + delay, std::mem::take(&mut rep.payload)));
                }
                Action::Continue { replid } => {
                    let rep = &mut self.replicas[r];
                    let Some((_, from)) = rep.psync_from.clone() else {
                        return Err(format!("replica {r}: +CONTINUE without a PSYNC offset"));
                    };
                    let have = rep.data.map_or(0, |d| d.0);
                    if have != from - 1 {
                        return Err(format!(
                            "replica {r}: continued from {from} but holds {have} bytes"
                        ));
                    }
                    if let Some(id) = replid {
                        rep.ids_replid = Some(id);
                    }
                    rep.streaming = true;
                    rep.cached = None;
                    self.stats_partial(r);
                }
                Action::Stream(b) => self.replica_stream(r, &b)?,
                Action::DualChannel => {
                    self.note(format!("replica {r}: dual-channel offered"));
                    self.connect(r, true)?;
                }
                Action::EndOff(e) => {
                    self.replicas[r].endoff = Some(e.clone());
                    let Some(m) = self.replicas[r].main.as_mut() else {
                        return Ok(());
                    };
                    let a = m.link.dual_endoff(&e);
                    self.run(r, false, a)?;
                }
                Action::DualContinue { .. } => {
                    self.replicas[r].dual_continued = true;
                    if let Some((off, h)) = self.replicas[r].dual_loaded.take() {
                        self.install(r, off, h)?;
                    }
                }
                Action::RetryLater(m) | Action::Fail(m) => {
                    self.note(format!("replica {r}: link failed: {m}"));
                    self.abandon(r);
                    return Ok(());
                }
                Action::Log(_) => {}
            }
        }
        Ok(())
    }

    fn stats_partial(&mut self, r: usize) {
        self.note(format!("replica {r}: partial resync"));
    }

    /// Applies (or buffers) stream bytes, checking each against the primary's history.
    fn replica_stream(&mut self, r: usize, bytes: &[u8]) -> R {
        let rep = &mut self.replicas[r];
        if !rep.streaming || rep.loading.is_some() || rep.dual_loaded.is_some() {
            rep.stream_buf.extend_from_slice(bytes);
            return Ok(());
        }
        self.apply(r, bytes)
    }

    fn apply(&mut self, r: usize, bytes: &[u8]) -> R {
        let p = &self.primary;
        let rep = &mut self.replicas[r];
        let (mut off, mut h) = rep.data.unwrap_or((0, H0));
        // Bytes only arrive on connections opened since the primary's last crash (a crash
        // cuts every connection), so the replica must hold exactly the primary's prefix.
        for &b in bytes {
            let o = off + 1;
            let want = p.stream.get(o as usize - 1).copied();
            if want != Some(b) || p.prefix.get(off as usize) != Some(&h) {
                return Err(format!(
                    "replica {r} applied byte {b} at offset {o}: primary has {want:?} (prefix match: {})",
                    p.prefix.get(off as usize) == Some(&h)
                ));
            }
            off = o;
            h = roll(h, b);
        }
        rep.data = Some((off, h));
        Ok(())
    }

    /// A snapshot finished loading (and, in a dual-channel sync, the PSYNC was accepted).
    fn install(&mut self, r: usize, off: i64, h: u64) -> R {
        let p = &self.primary;
        if p.prefix.get(off as usize) != Some(&h) {
            return Err(format!(
                "replica {r}: snapshot at {off} is not the primary's history"
            ));
        }
        let rep = &mut self.replicas[r];
        if let Some((had, hh)) = rep.data {
            let same_history = p.prefix.get(had as usize) == Some(&hh);
            if same_history && off < had {
                return Err(format!(
                    "replica {r}: full sync at {off} would move its offset back from {had} on the same history"
                ));
            }
        }
        rep.data = Some((off, h));
        rep.streaming = true;
        rep.cached = None;
        rep.full_syncs += 1;
        if let Some(m) = rep.main.as_mut() {
            let _ = m.link.on_load_done(true, "");
        }
        let buffered = std::mem::take(&mut rep.stream_buf);
        self.note(format!(
            "replica {r}: installed snapshot at {off}, applying {} buffered",
            buffered.len()
        ));
        self.apply(r, &buffered)
    }

    fn finish_load(&mut self, r: usize, payload: Vec<u8>) -> R {
        let text = String::from_utf8_lossy(&payload).into_owned();
        let mut it = text.split(':');
        let (Some("SNAP"), Some(off), Some(h), Some(_)) =
            (it.next(), it.next(), it.next(), it.next())
        else {
            return Err(format!(
                "replica {r}: payload damaged: {:?}",
                &text[..text.len().min(60)]
            ));
        };
        let off: i64 = off.parse().map_err(|_| "bad snapshot offset")?;
        let h: u64 = h.parse().map_err(|_| "bad snapshot hash")?;
        let rep = &mut self.replicas[r];
        if rep.rdb.is_some() || rep.endoff.is_some() {
            // Dual-channel: the snapshot's position is the $ENDOFF one.
            let want = rep.endoff.as_ref().map(|e| e.offset);
            if want != Some(off) {
                return Err(format!(
                    "replica {r}: snapshot at {off}, $ENDOFF said {want:?}"
                ));
            }
            if let Some(cl) = rep.rdb.take() {
                self.close(cl.conn, Side::Replica(r));
            }
            let rep = &mut self.replicas[r];
            rep.ids_replid = rep.endoff.as_ref().map(|e| e.replid.clone());
            self.stats.dual_syncs += 1;
            let rep = &mut self.replicas[r];
            if rep.dual_continued {
                return self.install(r, off, h);
            }
            rep.dual_loaded = Some((off, h));
            return Ok(());
        }
        let Some((replid, fs_off)) = rep.full_sync.clone() else {
            return Err(format!("replica {r}: payload without +FULLRESYNC"));
        };
        if fs_off != off {
            return Err(format!(
                "replica {r}: +FULLRESYNC said {fs_off}, snapshot is at {off}"
            ));
        }
        rep.ids_replid = replid;
        self.install(r, off, h)
    }

    /// Drops both connections; keeps the data; PSYNC will ask from what is applied.
    fn abandon(&mut self, r: usize) {
        let now = self.now;
        let rep = &mut self.replicas[r];
        let conns: Vec<usize> = [rep.main.take(), rep.rdb.take()]
            .into_iter()
            .flatten()
            .map(|c| c.conn)
            .collect();
        if rep.streaming {
            if let (Some(id), Some((off, _))) = (rep.ids_replid.clone(), rep.data) {
                rep.cached = Some((id, off));
            }
        }
        rep.streaming = false;
        rep.loading = None;
        rep.payload.clear();
        rep.stream_buf.clear();
        rep.full_sync = None;
        rep.endoff = None;
        rep.dual_continued = false;
        rep.dual_loaded = None;
        rep.retry_at = now + 100;
        for c in conns {
            self.close(c, Side::Replica(r));
        }
    }

    fn replica_conn_closed(&mut self, conn: usize) -> R {
        let r = self.conns[conn].replica;
        let rep = &self.replicas[r];
        let is_main = rep.main.as_ref().is_some_and(|c| c.conn == conn);
        let is_rdb = rep.rdb.as_ref().is_some_and(|c| c.conn == conn);
        if is_rdb {
            // The primary closes the RDB channel after the payload; before, it is a failure.
            let done = rep
                .rdb
                .as_ref()
                .is_some_and(|c| c.link.state() == LinkState::Loading);
            if let Some(cl) = self.replicas[r].rdb.take() {
                let _ = cl;
            }
            if !done && self.replicas[r].loading.is_none() && self.replicas[r].dual_loaded.is_none()
            {
                self.note(format!("replica {r}: rdb channel lost"));
                self.abandon(r);
            }
        } else if is_main {
            self.note(format!("replica {r}: main link lost"));
            self.abandon(r);
        }
        Ok(())
    }

    fn replica_tick(&mut self, r: usize) -> R {
        if !self.replicas[r].up {
            return Ok(());
        }
        if let Some((at, _)) = &self.replicas[r].loading {
            if *at <= self.now {
                let Some((_, payload)) = self.replicas[r].loading.take() else {
                    return Ok(());
                };
                self.finish_load(r, payload)?;
            }
        }
        if self.replicas[r].main.is_none() {
            if self.now >= self.replicas[r].retry_at && self.primary.up {
                self.connect(r, false)?;
            }
            return Ok(());
        }
        let now = self.now;
        if let Some(m) = self.replicas[r].main.as_mut() {
            let a = m.link.on_tick(now);
            self.run(r, false, a)?;
        }
        if let Some(c) = self.replicas[r].rdb.as_mut() {
            let a = c.link.on_tick(now);
            self.run(r, true, a)?;
        }
        let rep = &mut self.replicas[r];
        if rep.streaming && rep.loading.is_none() && now - rep.last_ack >= 200 {
            rep.last_ack = now;
            let off = rep.data.map_or(0, |d| d.0);
            if let Some(conn) = rep.main.as_ref().map(|c| c.conn) {
                let cmd = replication::proto::command(&["REPLCONF", "ACK", &off.to_string()]);
                self.send(conn, Side::Replica(r), &cmd);
            }
        }
        Ok(())
    }

    fn crash_replica(&mut self, r: usize) {
        self.stats.replica_crashes += 1;
        self.abandon(r);
        let keep = self.rng.chance(500);
        let rep = &mut self.replicas[r];
        self.log.push_back(format!(
            "t={} replica {r}: crash (persisted: {})",
            self.now,
            keep && rep.saved.is_some()
        ));
        let saved = if keep { rep.saved.clone() } else { None };
        let dual = rep.dual;
        *rep = Replica::new(dual);
        rep.retry_at = self.now + 50;
        if let Some((id, off, h)) = saved {
            rep.data = Some((off, h));
            rep.cached = Some((id.clone(), off));
            rep.ids_replid = Some(id);
        }
    }

    // ---------------- scheduler

    fn deliver(&mut self, conn: usize) -> R {
        let c = &self.conns[conn];
        if !c.open || self.now < c.stalled_until {
            return Ok(());
        }
        let r = c.replica;
        let to_primary = if c.up.is_empty() {
            false
        } else if c.down.is_empty() {
            true
        } else {
            self.rng.chance(500)
        };
        let n = 1 + self.rng.below(200) as usize;
        if to_primary {
            let c = &mut self.conns[conn];
            let take = n.min(c.up.len());
            let bytes: Vec<u8> = c.up.drain(..take).collect();
            // A side that closed the connection reads nothing more from it.
            if self.primary.up && !c.primary_done {
                self.primary_input(conn, &bytes)?;
            }
        } else if !self.conns[conn].down.is_empty() {
            let c = &mut self.conns[conn];
            let take = n.min(c.down.len());
            let bytes: Vec<u8> = c.down.drain(..take).collect();
            if !self.replicas[r].up || matches!(c.closed_by, Some(Side::Replica(_))) {
                return Ok(());
            }
            let rep = &mut self.replicas[r];
            let now = self.now;
            if let Some(m) = rep.main.as_mut().filter(|m| m.conn == conn) {
                let a = m.link.on_data(now, &bytes);
                self.run(r, false, a)?;
            } else if let Some(d) = rep.rdb.as_mut().filter(|d| d.conn == conn) {
                let a = d.link.on_data(now, &bytes);
                self.run(r, true, a)?;
            }
        }
        // A close is seen once the bytes before it are delivered.
        let c = &self.conns[conn];
        if let Some(by) = c.closed_by {
            let drained_towards_other = match by {
                Side::Primary => c.down.is_empty(),
                Side::Replica(_) => c.up.is_empty(),
            };
            if drained_towards_other {
                self.conns[conn].open = false;
                self.conns[conn].up.clear();
                self.conns[conn].down.clear();
                match by {
                    Side::Primary => self.replica_conn_closed(conn)?,
                    Side::Replica(_) => self.primary_conn_closed(conn),
                }
            }
        }
        Ok(())
    }

    fn fault(&mut self) -> R {
        self.stats.faults += 1;
        match self.rng.below(100) {
            0..=29 => {
                let open: Vec<usize> = (0..self.conns.len())
                    .filter(|&c| self.conns[c].open)
                    .collect();
                if !open.is_empty() {
                    let c = open[self.rng.below(open.len() as u64) as usize];
                    self.cut(c)?;
                }
            }
            30..=39 => {
                // An orderly close by either side: the bytes already sent still arrive.
                let open: Vec<usize> = (0..self.conns.len())
                    .filter(|&c| self.conns[c].open)
                    .collect();
                if !open.is_empty() {
                    let c = open[self.rng.below(open.len() as u64) as usize];
                    let by = if self.rng.chance(500) {
                        self.primary_conn_closed(c);
                        Side::Primary
                    } else {
                        Side::Replica(self.conns[c].replica)
                    };
                    self.note(format!("close conn {c} by {by:?}"));
                    if by != Side::Primary {
                        let r = self.conns[c].replica;
                        self.replica_conn_closed(c)?;
                        self.abandon(r);
                    }
                    self.close(c, by);
                }
            }
            40..=59 => {
                let open: Vec<usize> = (0..self.conns.len())
                    .filter(|&c| self.conns[c].open)
                    .collect();
                if !open.is_empty() {
                    let c = open[self.rng.below(open.len() as u64) as usize];
                    let d = self.rng.below(8_000) as i64;
                    self.conns[c].stalled_until = self.now + d;
                    self.note(format!("stall conn {c} for {d} ms"));
                }
            }
            60..=79 => {
                let r = self.rng.below(self.replicas.len() as u64) as usize;
                self.crash_replica(r);
            }
            80..=89 => {
                self.stats.primary_crashes += 1;
                let open: Vec<usize> = (0..self.conns.len())
                    .filter(|&c| self.conns[c].open)
                    .collect();
                for c in open {
                    self.cut(c)?;
                }
                self.primary.crash(&mut self.rng);
                self.note(format!(
                    "primary crashed; restarted at {} (previous history {:?})",
                    self.primary.offset(),
                    self.primary.prev
                ));
            }
            _ => {
                // Persist: the primary saves its position, replicas theirs.
                if self.primary.buf.is_some() {
                    self.primary.saved =
                        Some((self.primary.current_id.clone(), self.primary.offset()));
                }
                for r in 0..self.replicas.len() {
                    let rep = &mut self.replicas[r];
                    if rep.streaming {
                        if let (Some(id), Some((off, h))) = (rep.ids_replid.clone(), rep.data) {
                            rep.saved = Some((id, off, h));
                        }
                    }
                }
            }
        }
        Ok(())
    }

    fn step(&mut self) -> R {
        self.stats.steps += 1;
        self.now += self.rng.below(30) as i64;
        match self.rng.below(100) {
            0..=54 => {
                let open: Vec<usize> = (0..self.conns.len())
                    .filter(|&c| {
                        let c = &self.conns[c];
                        c.open && (!c.up.is_empty() || !c.down.is_empty() || c.closed_by.is_some())
                    })
                    .collect();
                if !open.is_empty() {
                    let c = open[self.rng.below(open.len() as u64) as usize];
                    self.deliver(c)?;
                }
            }
            55..=74 => {
                if self.faults_allowed_write() {
                    let n = 1 + self.rng.below(64) as usize;
                    let bytes: Vec<u8> = (0..n).map(|_| self.rng.below(256) as u8).collect();
                    self.stats.bytes_written += n as u64;
                    self.primary.write(&bytes);
                }
            }
            75..=97 => {
                self.primary_tick()?;
                for r in 0..self.replicas.len() {
                    self.replica_tick(r)?;
                }
            }
            _ => {
                if self.faults && self.rng.chance(600) {
                    self.fault()?;
                }
            }
        }
        self.primary.check_backlog()
    }

    fn faults_allowed_write(&self) -> bool {
        self.faults
    }

    /// No more faults or writes: deliver everything until every replica has converged.
    fn settle(&mut self) -> R {
        self.faults = false;
        for c in &mut self.conns {
            c.stalled_until = 0;
        }
        for _ in 0..200_000 {
            self.now += 5;
            let busy: Vec<usize> = (0..self.conns.len())
                .filter(|&c| {
                    let c = &self.conns[c];
                    c.open && (!c.up.is_empty() || !c.down.is_empty() || c.closed_by.is_some())
                })
                .collect();
            for c in busy {
                self.deliver(c)?;
            }
            self.primary_tick()?;
            for r in 0..self.replicas.len() {
                self.replica_tick(r)?;
            }
            self.primary.check_backlog()?;
            let target = (
                self.primary.offset(),
                self.primary.prefix[self.primary.offset() as usize],
            );
            let converged = self
                .replicas
                .iter()
                .all(|r| r.streaming && r.data.unwrap_or((0, H0)) == target);
            if converged {
                self.faults = true;
                return Ok(());
            }
        }
        Err(format!(
            "replicas did not converge to {} bytes: {:?}",
            self.primary.offset(),
            self.replicas
                .iter()
                .map(|r| (
                    r.streaming,
                    r.data.map(|d| d.0),
                    r.main.as_ref().map(|m| m.link.state())
                ))
                .collect::<Vec<_>>()
        ))
    }
}

fn run_seed(seed: u64, steps: u64) -> Result<Stats, String> {
    let mut w = World::new(seed);
    let rounds = 4;
    for round in 0..rounds {
        for _ in 0..steps / rounds {
            w.step().map_err(|e| report(&w, seed, round, e))?;
        }
        w.settle().map_err(|e| report(&w, seed, round, e))?;
    }
    Ok(std::mem::take(&mut w.stats))
}

fn report(w: &World, seed: u64, round: u64, e: String) -> String {
    let mut s = format!(
        "seed {seed} failed in round {round}: {e}\nreplay: SIM_SEED={seed} cargo test -p redwing-replication --test sim\nlast events:\n"
    );
    for l in &w.log {
        s.push_str("  ");
        s.push_str(l);
        s.push('\n');
    }
    s
}

#[test]
fn seeded_simulation() {
    let steps: u64 = std::env::var("SIM_STEPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(6_000);
    let seeds: Vec<u64> = match std::env::var("SIM_SEED").ok().and_then(|v| v.parse().ok()) {
        Some(s) => vec![s],
        None => {
            let n = std::env::var("SIM_SEEDS")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(150);
            (1..=n).collect()
        }
    };
    let mut total = Stats::default();
    for seed in seeds {
        match run_seed(seed, steps) {
            Ok(s) => {
                total.steps += s.steps;
                total.bytes_written += s.bytes_written;
                total.full_syncs += s.full_syncs;
                total.partial_syncs += s.partial_syncs;
                total.dual_syncs += s.dual_syncs;
                total.faults += s.faults;
                total.primary_crashes += s.primary_crashes;
                total.replica_crashes += s.replica_crashes;
            }
            Err(e) => panic!("{e}"),
        }
    }
    eprintln!("simulation: {total:?}");
    assert!(
        total.partial_syncs > 0 && total.full_syncs > 0 && total.dual_syncs > 0,
        "every kind of sync exercised: {total:?}"
    );
}
