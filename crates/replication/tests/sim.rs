//! Seeded simulation of the production replication machines under faults.
//!
//! Every node runs the machines the server runs — [`Primary`] (serving its replicas),
//! [`Follower`] (following its primary) and their shared [`History`] — behind a small
//! executor that does what a server's `repl` module does with their actions: it parses what
//! replicas send (PING, REPLCONF, PSYNC, SYNC), produces snapshots of a toy dataset (the
//! node's stream bytes: a node's data is exactly the history it applied), loads them aside,
//! applies the stream unit by unit and reports each applied unit back. Nodes talk over
//! simulated TCP connections; a seeded scheduler delivers bytes in random pieces and order
//! across connections (so a dual-channel sync's two connections interleave arbitrarily),
//! advances a clock (timeouts, diskless delays, PINGs), and injects faults: connections cut
//! (in-flight bytes lost) or stalled, nodes crashing and restarting with or without their RDB,
//! promotions (REPLICAOF NO ONE), REPLICAOF churn among nodes and to unreachable addresses,
//! failed snapshot jobs and loads.
//!
//! Invariants, checked after every step, against an independent oracle (the canonical bytes
//! of every history id, recorded from the node that created it):
//! - every node's dataset is byte for byte the history it claims: `master_repl_offset` bytes,
//!   a prefix of its id's canonical bytes, and of its secondary id's up to the switch point;
//!   its backlog holds exactly the dataset's last bytes;
//! - offsets never go backwards except when a full sync is swapped in or a node restarts;
//! - PSYNC: the answer is `+CONTINUE` exactly when the PSYNC2 rule, evaluated by the oracle
//!   on the primary's ids and backlog, allows it (so no full sync that PSYNC2 could avoid,
//!   and an acknowledged write held by a replica is never thrown away by one), only when the
//!   requester's data is the primary's prefix (no divergence), and `-NOMASTERLINK` exactly
//!   when the node's own link is down; a replica asks with exactly the offset it holds;
//! - an ACK never claims more than the replica applied of its primary's bytes;
//!
//! and after each round, once faults stop and the topology is healed: every replica converges
//! to its primary's stream. `SIM_SEED=<n>` replays one seed; `SIM_SEEDS` / `SIM_STEPS` make
//! longer runs (the default stays within the CI budget).

use std::cell::Cell;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::rc::Rc;

use bytes::BytesMut;
use replication::follower::{Follower, FollowerConfig, LinkId, LoadId, SavedPosition, State};
use replication::primary::{
    self, ClientId, JobId, OutputLimit, Primary, PrimaryConfig, Target, Upstream,
};
use replication::{follower, History, LinkConfig, LogLevel, NO_ID};
use resp::{Parsed, RequestParser, RespVersion};
use testkit::Rng;

/// A REPLICAOF target no node listens on.
const NOWHERE: u16 = 99;
const MARK: &str = "a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7";

type R = Result<(), String>;

// ---------------------------------------------------------------------------------------
// Fresh replication ids: unique, deterministic.

struct Ids(Rc<Cell<u64>>);

impl Ids {
    fn fresh(&self) -> impl FnMut() -> String {
        let next = self.0.clone();
        move || {
            next.set(next.get() + 1);
            format!("{:040x}", next.get())
        }
    }
}

// ---------------------------------------------------------------------------------------
// Connections

struct Conn {
    /// The node that opened it (a follower) and its link id there.
    follower: usize,
    link: LinkId,
    /// The node it connects to, and the client id it has there.
    server: usize,
    client: ClientId,
    /// Towards the server / towards the follower.
    up: VecDeque<u8>,
    down: VecDeque<u8>,
    /// When the TCP connect completes (or fails); `None` once connected.
    connect_at: Option<i64>,
    open: bool,
    closed_by_server: bool,
    closed_by_follower: bool,
    stalled_until: i64,
    paused: bool,
    parser: RequestParser,
    inbuf: BytesMut,
}

/// One applied unit: its exact bytes, and the command (none for an empty line).
type Unit = (Vec<u8>, Option<Vec<bytes::Bytes>>);

/// Splits stream bytes into the units a server applies (a command, an empty line), with
/// their exact bytes.
#[derive(Default)]
struct Applier {
    parser: RequestParser,
    buf: BytesMut,
    raw: Vec<u8>,
    consumed: usize,
}

impl Applier {
    fn push(&mut self, bytes: &[u8]) -> Result<Vec<Unit>, String> {
        self.buf.extend_from_slice(bytes);
        self.raw.extend_from_slice(bytes);
        let mut units = Vec::new();
        loop {
            let before = self.buf.len();
            let parsed = self
                .parser
                .parse(&mut self.buf)
                .map_err(|e| format!("stream does not parse: {e:?}"))?;
            self.consumed += before - self.buf.len();
            let argv = match parsed {
                Parsed::NeedMore { .. } => return Ok(units),
                Parsed::Empty => None,
                Parsed::Command(argv) => Some(argv),
            };
            let unit: Vec<u8> = self.raw.drain(..self.consumed).collect();
            self.consumed = 0;
            units.push((unit, argv));
        }
    }
}

// ---------------------------------------------------------------------------------------
// Nodes

struct Load {
    bytes: Vec<u8>,
    done_at: Option<i64>,
}

struct SimJob {
    ready_at: i64,
    /// The dataset at the snapshot's offset.
    data: Vec<u8>,
    target: Target,
    members: Vec<ClientId>,
}

/// What a node's RDB file holds.
#[derive(Clone)]
struct Rdb {
    position: Option<SavedPosition>,
    data: Vec<u8>,
}

struct Node {
    up: bool,
    restart_at: i64,
    #[allow(dead_code)]
    dual: bool,
    hist: History,
    primary: Primary,
    follower: Follower,
    /// The dataset: the stream bytes applied, from offset 1.
    data: Vec<u8>,
    /// Lowest offset allowed now (offsets never go backwards on one history).
    floor: i64,
    rdb: Option<Rdb>,
    /// Its stream link was closed for a protocol error: nothing may be continued until a
    /// full sync (or a promotion).
    lost_position: bool,
    /// `replicaof` as the configuration file would keep it across a restart.
    configured: Option<u16>,
    loads: BTreeMap<LoadId, Load>,
    appliers: BTreeMap<LinkId, Applier>,
    db: i64,
    links: BTreeMap<LinkId, usize>,
    clients: BTreeMap<ClientId, usize>,
    next_client: ClientId,
    jobs: BTreeMap<JobId, SimJob>,
}

fn primary_cfg(rng: &mut Rng, dual: bool) -> PrimaryConfig {
    PrimaryConfig {
        diskless_sync: !rng.chance(200),
        diskless_sync_delay_ms: if rng.chance(500) { 0 } else { 300 },
        diskless_sync_max_replicas: rng.below(3) as usize,
        dual_channel: dual,
        ping_period_secs: 1,
        timeout_ms: 5_000,
        backlog_ttl_ms: 0,
        min_replicas_to_write: 0,
        min_replicas_max_lag_ms: 10_000,
        output_limit: OutputLimit {
            hard_bytes: 64 * 1024,
            soft_bytes: 0,
            soft_ms: 0,
        },
        rdb_client_grace_ms: 2_000,
    }
}

fn follower_cfg(dual: bool, buffer_limit: u64) -> FollowerConfig {
    FollowerConfig {
        link: LinkConfig {
            listening_port: 7000,
            announce_ip: None,
            auth: None,
            dual_channel: dual,
            rdb_channel: false,
            timeout_ms: 5_000,
        },
        buffer_limit_bytes: buffer_limit,
        retry_ms: 500,
    }
}

impl Node {
    fn new(rng: &mut Rng, ids: &Ids, now: i64, backlog: usize) -> Node {
        let dual = rng.chance(500);
        let mut hist = History::new(ids.fresh()(), backlog);
        hist.ensure_backlog();
        let pcfg = primary_cfg(rng, dual);
        let limit = if rng.chance(300) { 256 } else { 0 };
        Node {
            up: true,
            restart_at: 0,
            dual,
            hist,
            primary: Primary::new(pcfg, now),
            follower: Follower::new(follower_cfg(dual, limit), now),
            data: Vec::new(),
            floor: 0,
            rdb: None,
            lost_position: false,
            configured: None,
            loads: BTreeMap::new(),
            appliers: BTreeMap::new(),
            db: -1,
            links: BTreeMap::new(),
            clients: BTreeMap::new(),
            next_client: 1,
            jobs: BTreeMap::new(),
        }
    }
}

// ---------------------------------------------------------------------------------------
// The world

#[derive(Default, Debug, Clone, Copy)]
struct Stats {
    steps: u64,
    writes: u64,
    full_syncs: u64,
    partial_syncs: u64,
    dual_syncs: u64,
    refused: u64,
    promotions: u64,
    replicaofs: u64,
    unreachable: u64,
    restarts_with_data: u64,
    restarts_without_data: u64,
    cuts: u64,
}

impl Stats {
    fn add(&mut self, o: &Stats) {
        self.steps += o.steps;
        self.writes += o.writes;
        self.full_syncs += o.full_syncs;
        self.partial_syncs += o.partial_syncs;
        self.dual_syncs += o.dual_syncs;
        self.refused += o.refused;
        self.promotions += o.promotions;
        self.replicaofs += o.replicaofs;
        self.unreachable += o.unreachable;
        self.restarts_with_data += o.restarts_with_data;
        self.restarts_without_data += o.restarts_without_data;
        self.cuts += o.cuts;
    }
}

struct World {
    rng: Rng,
    ids: Ids,
    now: i64,
    nodes: Vec<Node>,
    conns: Vec<Conn>,
    /// The oracle: the canonical bytes of every history id, from the node that created it.
    canon: HashMap<String, Vec<u8>>,
    snapshots: Vec<Vec<u8>>,
    backlog: usize,
    faults: bool,
    log: VecDeque<String>,
    stats: Stats,
}

impl World {
    fn new(seed: u64) -> World {
        let mut rng = Rng(seed);
        let ids = Ids(Rc::new(Cell::new(0)));
        let backlog = if rng.chance(400) { 16 * 1024 } else { 1 << 20 };
        let n = 2 + rng.below(3) as usize;
        let nodes: Vec<Node> = (0..n)
            .map(|_| Node::new(&mut rng, &ids, 0, backlog))
            .collect();
        let canon = nodes_ids(&nodes);
        let mut w = World {
            rng,
            ids,
            now: 0,
            nodes,
            conns: Vec::new(),
            canon,
            snapshots: Vec::new(),
            backlog,
            faults: true,
            log: VecDeque::new(),
            stats: Stats::default(),
        };
        // Node 0 is the primary; the others follow it, or a chain through node 1.
        for i in 1..n {
            let to = if i >= 2 && w.rng.chance(300) { 1 } else { 0 };
            let _ = w.replicaof(i, Some(to as u16));
        }
        w
    }

    fn note(&mut self, s: String) {
        if self.log.len() >= 60 {
            self.log.pop_front();
        }
        self.log.push_back(format!("t={} {s}", self.now));
    }

    // ---------------- follower side

    fn replicaof(&mut self, n: usize, to: Option<u16>) -> R {
        self.stats.replicaofs += 1;
        self.note(format!("node {n}: REPLICAOF {to:?}"));
        let now = self.now;
        let node = &mut self.nodes[n];
        node.configured = to;
        let target = to.map(|p| (format!("n{p}"), p));
        let mut fresh = self.ids.fresh();
        let (_, actions) = node
            .follower
            .replicaof(&mut node.hist, target, "sim", now, &mut fresh);
        self.exec_follower(n, actions)
    }

    fn exec_follower(&mut self, n: usize, actions: Vec<follower::Action>) -> R {
        use follower::Action as A;
        for a in actions {
            match a {
                A::Connect { link, port, .. } => {
                    let server = port as usize;
                    let c = self.conns.len();
                    let delay = 1 + self.rng.below(40) as i64;
                    // The server gives it a client id when the connection is accepted.
                    let client = 0;
                    self.conns.push(Conn {
                        follower: n,
                        link,
                        server,
                        client,
                        up: VecDeque::new(),
                        down: VecDeque::new(),
                        connect_at: Some(self.now + delay),
                        open: true,
                        closed_by_server: false,
                        closed_by_follower: false,
                        stalled_until: 0,
                        paused: false,
                        parser: RequestParser::new(1 << 20),
                        inbuf: BytesMut::new(),
                    });
                    self.nodes[n].links.insert(link, c);
                }
                A::Send { link, bytes } => {
                    self.check_psync_request(n, &bytes)?;
                    if let Some(&c) = self.nodes[n].links.get(&link) {
                        let conn = &mut self.conns[c];
                        if conn.open && !conn.closed_by_follower {
                            conn.up.extend(bytes);
                        }
                    }
                }
                A::Close { link } => {
                    let node = &mut self.nodes[n];
                    node.appliers.remove(&link);
                    if let Some(c) = node.links.remove(&link) {
                        let conn = &mut self.conns[c];
                        conn.closed_by_follower = true;
                        conn.down.clear();
                    }
                }
                A::PauseReading { link } | A::ResumeReading { link } => {
                    let pause = matches!(a, A::PauseReading { .. });
                    if let Some(&c) = self.nodes[n].links.get(&link) {
                        self.conns[c].paused = pause;
                    }
                }
                A::StartStream { link, db } => {
                    let node = &mut self.nodes[n];
                    node.appliers.entry(link).or_default();
                    node.db = db;
                }
                A::Apply { link, bytes } => self.apply(n, link, &bytes)?,
                A::StartLoad { load, .. } => {
                    let l = Load {
                        bytes: Vec::new(),
                        done_at: None,
                    };
                    self.nodes[n].loads.insert(load, l);
                }
                A::LoadBytes { load, bytes } => {
                    if let Some(l) = self.nodes[n].loads.get_mut(&load) {
                        l.bytes.extend(bytes);
                    }
                }
                A::LoadEnd { load } => {
                    let at = self.now + self.rng.below(200) as i64;
                    if let Some(l) = self.nodes[n].loads.get_mut(&load) {
                        l.done_at = Some(at);
                    }
                }
                A::AbortLoad { load } => {
                    self.nodes[n].loads.remove(&load);
                }
                A::SwapDataset { load } => {
                    let l = self.nodes[n].loads.remove(&load).ok_or("swap of no load")?;
                    let data = self.decode_snapshot(&l.bytes)?;
                    self.note(format!("node {n}: swapped in {} bytes", data.len()));
                    let node = &mut self.nodes[n];
                    node.data = data;
                    node.floor = 0;
                    node.lost_position = false;
                }
                A::DropSubReplicas => {
                    let now = self.now;
                    let node = &mut self.nodes[n];
                    let actions = node.primary.disconnect_all(&mut node.hist, now);
                    self.exec_primary(n, actions)?;
                }
                A::BecameReplica | A::BecamePrimary => {}
                A::FailoverAccepted | A::FailoverRejected { .. } => {
                    return Err("the simulation runs no FAILOVER".into());
                }
                A::Log { level, text } => {
                    if level == LogLevel::Warning || text.contains("sync") {
                        self.note(format!("node {n}: {text}"));
                    }
                }
            }
        }
        Ok(())
    }

    /// A replica asks with exactly what it holds, under an id that names it.
    fn check_psync_request(&self, n: usize, bytes: &[u8]) -> R {
        if !bytes.starts_with(b"*3\r\n$5\r\nPSYNC\r\n") {
            return Ok(());
        }
        let node = &self.nodes[n];
        if !matches!(node.follower.state(), State::Handshake { .. }) {
            return Ok(()); // the dual-channel PSYNC continues the snapshot, not our data
        }
        let text = String::from_utf8_lossy(bytes);
        let parts: Vec<&str> = text.split("\r\n").collect();
        let (id, off) = (
            parts[4],
            parts[6].parse::<i64>().map_err(|e| e.to_string())?,
        );
        if node.lost_position && id != "?" {
            return Err(format!("node {n} asks PSYNC {id} after a protocol error"));
        }
        if id == "?" {
            // Only a node without data, or whose link died of a protocol error, has nothing
            // worth continuing: anything else is a needless full sync.
            if !node.data.is_empty() && !node.lost_position {
                return Err(format!(
                    "node {n} holds {} bytes but asks PSYNC ?",
                    node.data.len()
                ));
            }
            return Ok(());
        }
        if off - 1 != node.data.len() as i64 {
            return Err(format!(
                "node {n} asks PSYNC {id} {off} holding {} bytes",
                node.data.len()
            ));
        }
        let canon = self
            .canon
            .get(id)
            .ok_or_else(|| format!("node {n} asks for unknown id {id}"))?;
        if canon.get(..node.data.len()) != Some(&node.data[..]) {
            return Err(format!(
                "node {n} asks for {id} but its data is not that history"
            ));
        }
        Ok(())
    }

    /// Applies stream bytes unit by unit, as the server's dispatcher does.
    fn apply(&mut self, n: usize, link: LinkId, bytes: &[u8]) -> R {
        let units = match self.nodes[n].appliers.get_mut(&link) {
            Some(a) => a.push(bytes)?,
            None => {
                return Err(format!(
                    "node {n}: Apply on link {link} that does not stream"
                ))
            }
        };
        for (unit, argv) in units {
            let getack = argv.as_ref().is_some_and(|a| {
                a.len() == 3
                    && a[0].eq_ignore_ascii_case(b"replconf")
                    && a[1].eq_ignore_ascii_case(b"getack")
            });
            if getack {
                let node = &mut self.nodes[n];
                let acts = node.follower.on_getack(&node.hist, link);
                self.exec_follower(n, acts)?;
            }
            if let Some(db) = argv
                .as_ref()
                .filter(|a| a.len() == 2 && a[0].eq_ignore_ascii_case(b"select"))
                .and_then(|a| std::str::from_utf8(&a[1]).ok()?.parse().ok())
            {
                self.nodes[n].db = db;
            }
            let node = &mut self.nodes[n];
            let db = node.db;
            node.follower.on_applied(&mut node.hist, link, &unit, db);
            node.data.extend_from_slice(&unit);
        }
        Ok(())
    }

    fn decode_snapshot(&self, payload: &[u8]) -> Result<Vec<u8>, String> {
        let text = String::from_utf8_lossy(payload);
        let k: usize = text
            .strip_prefix("SNAP:")
            .and_then(|r| r.split(':').next())
            .and_then(|k| k.parse().ok())
            .ok_or_else(|| format!("bad snapshot payload {text:?}"))?;
        self.snapshots
            .get(k)
            .cloned()
            .ok_or_else(|| "unknown snapshot".into())
    }

    // ---------------- primary side

    fn exec_primary(&mut self, n: usize, actions: Vec<primary::Action>) -> R {
        use primary::Action as A;
        for a in actions {
            match a {
                A::Reply { client, reply } => {
                    let mut out = Vec::new();
                    reply.encode(RespVersion::Resp2, &mut out);
                    self.send_down(n, client, &out);
                }
                A::Send { client, bytes } => self.send_down(n, client, &bytes),
                A::DiskCatchup {
                    client,
                    prefix,
                    from,
                    to,
                } => {
                    // The simulated nodes keep their whole stream: it plays the disk backlog.
                    let data = self.nodes[n].data.clone();
                    let range = (from - 1).max(0) as usize..(to - 1).max(0) as usize;
                    let Some(part) = data.get(range) else {
                        return Err(format!(
                            "node {n}: disk catch-up {from}..{to} beyond the stream"
                        ));
                    };
                    self.send_down(n, client, &prefix);
                    self.send_down(n, client, part);
                    let node = &mut self.nodes[n];
                    let now = self.now;
                    let actions =
                        node.primary
                            .on_disk_catchup_done(&mut node.hist, client, Ok(()), now);
                    self.exec_primary(n, actions)?;
                }
                A::Stream { client, chunks } => {
                    for ch in chunks {
                        self.send_down(n, client, &ch);
                    }
                }
                A::StartSnapshot(job) => {
                    let node = &self.nodes[n];
                    if node.data.len() as i64 != job.offset {
                        return Err(format!(
                            "node {n}: snapshot at {} of {} bytes",
                            job.offset,
                            node.data.len()
                        ));
                    }
                    let data = node.data.clone();
                    for m in &job.members {
                        self.send_down(n, m.client, &m.prefix);
                        self.stats.full_syncs += 1;
                    }
                    let ready_at = self.now + self.rng.below(300) as i64;
                    let members = job.members.iter().map(|m| m.client).collect();
                    self.note(format!(
                        "node {n}: snapshot job {} at {} for {members:?}",
                        job.job, job.offset
                    ));
                    let j = SimJob {
                        ready_at,
                        data,
                        target: job.target,
                        members,
                    };
                    self.nodes[n].jobs.insert(job.job, j);
                }
                A::CancelSnapshot { job } => {
                    self.nodes[n].jobs.remove(&job);
                }
                A::Close { client, reason } => {
                    self.note(format!("node {n}: closes replica {client} ({reason:?})"));
                    if let Some(c) = self.nodes[n].clients.remove(&client) {
                        let conn = &mut self.conns[c];
                        conn.closed_by_server = true;
                        conn.up.clear();
                    }
                }
                A::AcksChanged | A::GetAck { .. } => {}
                A::Log { level, text } => {
                    if level == LogLevel::Warning || text.contains("ccept") {
                        self.note(format!("node {n}: {text}"));
                    }
                }
            }
        }
        Ok(())
    }

    fn send_down(&mut self, n: usize, client: ClientId, bytes: &[u8]) {
        if let Some(&c) = self.nodes[n].clients.get(&client) {
            let conn = &mut self.conns[c];
            if conn.open && !conn.closed_by_server && !conn.closed_by_follower {
                conn.down.extend(bytes);
            }
        }
    }

    /// Commands from a replica connection, as the server's dispatcher hands them over.
    fn server_input(&mut self, c: usize, bytes: &[u8]) -> R {
        let conn = &mut self.conns[c];
        conn.inbuf.extend_from_slice(bytes);
        loop {
            let conn = &mut self.conns[c];
            if conn.closed_by_server || !conn.open {
                return Ok(());
            }
            let (n, client) = (conn.server, conn.client);
            let parsed = conn
                .parser
                .parse(&mut conn.inbuf)
                .map_err(|e| format!("replica input does not parse: {e:?}"))?;
            let argv = match parsed {
                Parsed::NeedMore { .. } => return Ok(()),
                Parsed::Empty => {
                    let now = self.now;
                    self.nodes[n].primary.on_replica_newline(client, now);
                    continue;
                }
                Parsed::Command(argv) => argv,
            };
            let name = String::from_utf8_lossy(&argv[0]).to_ascii_lowercase();
            let args: Vec<&[u8]> = argv[1..].iter().map(|a| &a[..]).collect();
            let now = self.now;
            match name.as_str() {
                "ping" => self.send_down(n, client, b"+PONG\r\n"),
                "replconf" => {
                    if args.first().is_some_and(|a| a.eq_ignore_ascii_case(b"ack")) {
                        self.check_ack(c, &args)?;
                    }
                    let a = self.nodes[n].primary.on_replconf(client, &args, now);
                    self.exec_primary(n, a)?;
                }
                "psync" => {
                    let id = String::from_utf8_lossy(args[0]).into_owned();
                    let off: i64 = String::from_utf8_lossy(args[1])
                        .parse()
                        .map_err(|_| "bad offset")?;
                    self.psync(c, &id, off)?;
                }
                "sync" => {
                    let node = &mut self.nodes[n];
                    let up = node.follower.upstream();
                    let mut fresh = self.ids.fresh();
                    let a =
                        node.primary
                            .on_sync(&mut node.hist, client, "sim", up, now, &mut fresh);
                    self.exec_primary(n, a)?;
                    self.sync_generated(n);
                }
                other => return Err(format!("node {n} got unexpected command {other}")),
            }
        }
    }

    /// The PSYNC answer, checked against the oracle.
    fn psync(&mut self, c: usize, id: &str, off: i64) -> R {
        let (n, client, r) = (
            self.conns[c].server,
            self.conns[c].client,
            self.conns[c].follower,
        );
        let now = self.now;
        let node = &mut self.nodes[n];
        let gate = node.follower.upstream();
        let expected = oracle_can_continue(&node.hist, id, off);
        let mut fresh = self.ids.fresh();
        let a = node.primary.on_psync(
            &mut node.hist,
            client,
            "sim",
            id,
            off,
            gate,
            now,
            &mut fresh,
        );
        let continued = a.iter().any(
            |x| matches!(x, primary::Action::Send { bytes, .. } if bytes.starts_with(b"+CONTINUE")),
        );
        let dual = a.iter().any(|x| matches!(x, primary::Action::Send { bytes, .. } if bytes.starts_with(b"+DUALCHANNELSYNC")));
        let refused = a.iter().any(|x| matches!(x, primary::Action::Reply { reply, .. } if reply.error_code() == Some("NOMASTERLINK")));
        let verdict = match gate {
            Upstream::Down => refused && !continued,
            Upstream::Switching => continued == expected && (continued || refused),
            Upstream::None | Upstream::Up => continued == expected && !refused,
        };
        if !verdict {
            return Err(format!(
                "node {n}: PSYNC {id} {off} with gate {gate:?}: continued {continued}, refused {refused}; the oracle says {expected} (ids {:?}, window {:?}, client {client}): {a:?}",
                node.hist.ids, node.hist.window()
            ));
        }
        if continued {
            self.stats.partial_syncs += 1;
            let asking = &self.nodes[r];
            let current = asking.links.get(&self.conns[c].link) == Some(&c)
                && matches!(asking.follower.state(), State::Handshake { .. });
            let upto = (off - 1) as usize;
            if current && self.nodes[n].data.get(..upto) != asking.data.get(..upto) {
                return Err(format!(
                    "node {n} continued node {r} from {off} but their data differ"
                ));
            }
            self.note(format!("node {n}: +CONTINUE to node {r} from {off}"));
        }
        self.stats.dual_syncs += dual as u64;
        self.stats.refused += refused as u64;
        self.exec_primary(n, a)?;
        self.sync_generated(n);
        Ok(())
    }

    /// An ACK claims no more than what the replica applied, and the same bytes.
    fn check_ack(&self, c: usize, args: &[&[u8]]) -> R {
        let conn = &self.conns[c];
        let Some(off) = args
            .get(1)
            .and_then(|a| std::str::from_utf8(a).ok()?.parse::<i64>().ok())
        else {
            return Ok(());
        };
        let (p, r) = (&self.nodes[conn.server], &self.nodes[conn.follower]);
        let streaming =
            matches!(r.follower.state(), State::Streaming { main, .. } if main.id == conn.link);
        if !streaming || off == 0 || conn.closed_by_follower {
            return Ok(());
        }
        let upto = off as usize;
        if off > r.hist.offset()
            || p.data.get(..upto).is_none()
            || p.data.get(..upto) != r.data.get(..upto)
        {
            return Err(format!(
                "ACK {off} from node {} to node {} does not match their data",
                conn.follower, conn.server
            ));
        }
        Ok(())
    }

    /// A top primary's machine appended bytes (PING, GETACK): they are its data too.
    fn sync_generated(&mut self, n: usize) {
        let node = &mut self.nodes[n];
        if node.follower.upstream() != Upstream::None {
            return;
        }
        let have = node.data.len() as i64;
        if node.hist.offset() > have {
            if let Some(chunks) = node.hist.chunks_from(have + 1) {
                for ch in chunks {
                    node.data.extend_from_slice(&ch);
                }
            }
        }
    }

    // ---------------- connections

    /// A connection is gone for one side or both: tell the machines that still have it.
    fn notify_closed(&mut self, c: usize, follower_side: bool, server_side: bool) -> R {
        let (f, link, s, client) = {
            let conn = &self.conns[c];
            (conn.follower, conn.link, conn.server, conn.client)
        };
        if follower_side && self.nodes[f].up && self.nodes[f].links.get(&link) == Some(&c) {
            let now = self.now;
            let node = &mut self.nodes[f];
            node.links.remove(&link);
            node.appliers.remove(&link);
            let a = node.follower.on_closed(&mut node.hist, link, false, now);
            self.exec_follower(f, a)?;
        }
        if server_side
            && s < self.nodes.len()
            && self.nodes[s].up
            && self.nodes[s].clients.get(&client) == Some(&c)
        {
            let now = self.now;
            let node = &mut self.nodes[s];
            node.clients.remove(&client);
            let a = node.primary.on_client_closed(&mut node.hist, client, now);
            self.exec_primary(s, a)?;
        }
        Ok(())
    }

    fn cut(&mut self, c: usize) -> R {
        if !self.conns[c].open {
            return Ok(());
        }
        self.stats.cuts += 1;
        self.note(format!("cut conn {c}"));
        let conn = &mut self.conns[c];
        conn.open = false;
        conn.up.clear();
        conn.down.clear();
        self.notify_closed(c, true, true)
    }

    /// Connects that complete (or fail) by now.
    fn progress_connects(&mut self) -> R {
        for c in 0..self.conns.len() {
            let conn = &self.conns[c];
            let Some(at) = conn.connect_at else { continue };
            if !conn.open || at > self.now {
                continue;
            }
            let (f, link, s, client) = (conn.follower, conn.link, conn.server, conn.client);
            self.conns[c].connect_at = None;
            let reachable =
                s < self.nodes.len() && self.nodes[s].up && !self.conns[c].closed_by_follower;
            if !reachable {
                if s >= self.nodes.len() {
                    self.stats.unreachable += 1;
                }
                self.conns[c].open = false;
                self.notify_closed(c, true, false)?;
                continue;
            }
            let _ = client;
            let server = &mut self.nodes[s];
            server.next_client += 1;
            let client = server.next_client;
            server.clients.insert(client, c);
            self.conns[c].client = client;
            if self.nodes[f].links.get(&link) == Some(&c) {
                let now = self.now;
                let node = &mut self.nodes[f];
                let a = node.follower.on_connected(&mut node.hist, link, now);
                self.exec_follower(f, a)?;
            }
        }
        Ok(())
    }

    fn busy(&self, c: usize) -> bool {
        let conn = &self.conns[c];
        conn.open
            && conn.connect_at.is_none()
            && (!conn.up.is_empty()
                || !conn.down.is_empty()
                || conn.closed_by_server
                || conn.closed_by_follower)
    }

    /// Delivers up to `max` bytes in one direction of a connection.
    fn deliver(&mut self, c: usize, max: usize) -> R {
        if !self.busy(c) || self.now < self.conns[c].stalled_until {
            return Ok(());
        }
        let conn = &self.conns[c];
        let can_down = !conn.down.is_empty() && !conn.paused;
        let to_server = if conn.up.is_empty() {
            false
        } else if !can_down {
            true
        } else {
            self.rng.chance(500)
        };
        let n = 1 + self.rng.below(max as u64) as usize;
        if to_server {
            let conn = &mut self.conns[c];
            let take = n.min(conn.up.len());
            let bytes: Vec<u8> = conn.up.drain(..take).collect();
            if !conn.closed_by_server && self.nodes[conn.server].up {
                self.server_input(c, &bytes)?;
            }
        } else if can_down {
            let conn = &mut self.conns[c];
            let take = n.min(conn.down.len());
            let bytes: Vec<u8> = conn.down.drain(..take).collect();
            let (f, link) = (conn.follower, conn.link);
            if !conn.closed_by_follower && self.nodes[f].links.get(&link) == Some(&c) {
                let now = self.now;
                let fast = self.rng.chance(500);
                let node = &mut self.nodes[f];
                // Half the time, the executor's fast path for a streaming link.
                if fast && node.follower.on_stream_read(link, bytes.len(), now) {
                    self.apply(f, link, &bytes)?;
                } else {
                    let a = node.follower.on_data(&mut node.hist, link, &bytes, now);
                    self.exec_follower(f, a)?;
                }
            }
        }
        // An orderly close is seen once the bytes before it are delivered.
        let conn = &self.conns[c];
        if conn.open && conn.closed_by_server && conn.down.is_empty() {
            self.conns[c].open = false;
            self.notify_closed(c, true, false)?;
        } else if conn.open && conn.closed_by_follower && conn.up.is_empty() {
            self.conns[c].open = false;
            self.notify_closed(c, false, true)?;
        }
        Ok(())
    }

    // ---------------- nodes

    fn write(&mut self, n: usize) {
        let node = &mut self.nodes[n];
        if !node.up || node.follower.upstream() != Upstream::None {
            return;
        }
        self.stats.writes += 1;
        let key = format!("k{}", self.rng.below(50));
        let val = "v".repeat(1 + self.rng.below(40) as usize);
        let db = self.rng.below(3) as usize;
        node.hist
            .feed(Some(db), &["SET", key.as_str(), val.as_str()]);
        self.sync_generated(n);
    }

    fn tick(&mut self, n: usize) -> R {
        if !self.nodes[n].up {
            if self.now >= self.nodes[n].restart_at {
                self.restart(n)?;
            }
            return Ok(());
        }
        let now = self.now;
        // Snapshot jobs that are ready deliver their payload.
        let ready: Vec<JobId> = self.nodes[n]
            .jobs
            .iter()
            .filter(|(_, j)| j.ready_at <= now)
            .map(|(id, _)| *id)
            .collect();
        for job in ready {
            self.finish_job(n, job)?;
        }
        // Loads that are done.
        let done: Vec<LoadId> = self.nodes[n]
            .loads
            .iter()
            .filter(|(_, l)| l.done_at.is_some_and(|t| t <= now))
            .map(|(id, _)| *id)
            .collect();
        for load in done {
            let fail = self.faults && self.rng.chance(30);
            let node = &mut self.nodes[n];
            if let Some(l) = node.loads.get_mut(&load) {
                l.done_at = None;
            }
            let result = if fail {
                Err("simulated load failure".to_string())
            } else {
                Ok(0)
            };
            let mut fresh = self.ids.fresh();
            let a = node
                .follower
                .on_load_done(&mut node.hist, load, result, now, &mut fresh);
            self.exec_follower(n, a)?;
        }
        let node = &mut self.nodes[n];
        let up = node.follower.upstream();
        let mut fresh = self.ids.fresh();
        let a = node.primary.on_tick(&mut node.hist, up, now, &mut fresh);
        self.exec_primary(n, a)?;
        self.sync_generated(n);
        let node = &mut self.nodes[n];
        let a = node.follower.on_tick(&mut node.hist, now);
        self.exec_follower(n, a)
    }

    fn finish_job(&mut self, n: usize, job: JobId) -> R {
        let Some(j) = self.nodes[n].jobs.remove(&job) else {
            return Ok(());
        };
        let k = self.snapshots.len();
        self.snapshots.push(j.data);
        let filler = "z".repeat(self.rng.below(100) as usize);
        let body = format!("SNAP:{k}:{filler}");
        let payload = match j.target {
            Target::Socket => format!("$EOF:{MARK}\r\n{body}{MARK}"),
            Target::Disk => format!("${}\r\n{body}", body.len()),
        };
        let fail = self.faults && self.rng.chance(30);
        let mut results = Vec::new();
        for client in j.members {
            let alive = self.nodes[n].clients.get(&client).is_some_and(|&c| {
                let conn = &self.conns[c];
                conn.open && !conn.closed_by_server && !conn.closed_by_follower
            });
            if alive && !fail {
                self.send_down(n, client, payload.as_bytes());
                results.push((client, Ok(())));
            } else {
                results.push((client, Err("connection lost".to_string())));
            }
        }
        let now = self.now;
        let node = &mut self.nodes[n];
        let error = fail.then_some("simulated transfer failure");
        let a = node
            .primary
            .on_job_finished(&mut node.hist, job, &results, error, now);
        self.exec_primary(n, a)
    }

    fn crash(&mut self, n: usize) -> R {
        self.note(format!("node {n}: crash"));
        for c in 0..self.conns.len() {
            let conn = &self.conns[c];
            if conn.open && (conn.follower == n || conn.server == n) {
                self.cut(c)?;
            }
        }
        let node = &mut self.nodes[n];
        node.up = false;
        node.restart_at = self.now + self.rng.below(3_000) as i64;
        Ok(())
    }

    fn restart(&mut self, n: usize) -> R {
        let with_data = self.rng.chance(600) && self.nodes[n].rdb.is_some();
        let mut fresh_node = Node::new(&mut self.rng, &self.ids, self.now, self.backlog);
        // A fresh id names the empty history until the node adds to it.
        self.canon
            .insert(fresh_node.hist.ids.replid.clone(), Vec::new());
        let old = &mut self.nodes[n];
        fresh_node.configured = old.configured;
        fresh_node.rdb = old.rdb.clone();
        *old = fresh_node;
        let now = self.now;
        let node = &mut self.nodes[n];
        let mut actions = Vec::new();
        if let Some(to) = node.configured {
            actions.extend(node.follower.follow_at_start(format!("n{to}"), to, now));
            node.hist = History::new(node.hist.ids.replid.clone(), self.backlog);
        }
        match node.rdb.clone().filter(|_| with_data) {
            Some(rdb) => {
                self.stats.restarts_with_data += 1;
                node.data = rdb.data;
                if let Some(pos) = rdb.position {
                    actions.extend(node.follower.on_rdb_loaded(&mut node.hist, pos));
                } else {
                    node.data.clear();
                }
            }
            None => self.stats.restarts_without_data += 1,
        }
        // A restarted primary's new id names the history it restored.
        if !node.follower.is_replica() {
            self.canon
                .insert(node.hist.ids.replid.clone(), node.data.clone());
        }
        self.note(format!(
            "node {n}: restarted {} data, following {:?}",
            if with_data { "with" } else { "without" },
            self.nodes[n].configured
        ));
        self.exec_follower(n, actions)
    }

    fn save(&mut self, n: usize) {
        let node = &mut self.nodes[n];
        if !node.up {
            return;
        }
        let position = node.follower.saved_position(&node.hist);
        let len = position.as_ref().map_or(0, |p| p.offset as usize);
        node.rdb = Some(Rdb {
            data: node.data.get(..len).map(<[u8]>::to_vec).unwrap_or_default(),
            position,
        });
    }

    // ---------------- invariants

    fn check(&mut self) -> R {
        for n in 0..self.nodes.len() {
            if !self.nodes[n].up {
                continue;
            }
            self.sync_generated(n);
            let node = &mut self.nodes[n];
            if !node.follower.is_replica() {
                node.lost_position = false;
            }
            let off = node.hist.offset();
            if node.data.len() as i64 != off {
                return Err(format!(
                    "node {n}: offset {off} but {} bytes of data",
                    node.data.len()
                ));
            }
            if off < node.floor {
                return Err(format!(
                    "node {n}: offset went back from {} to {off}",
                    node.floor
                ));
            }
            node.floor = off;
            // No pin outlives its replica (or a snapshot connection's grace period).
            let pins = node.hist.backlog().map_or(0, |b| b.pinned());
            if pins > node.primary.replica_count() + node.primary.waiting_psync() {
                return Err(format!("node {n}: {pins} backlog pins for {} replicas and {} waiting snapshot connections", node.primary.replica_count(), node.primary.waiting_psync()));
            }
            if let Some((first, len)) = node.hist.window() {
                let held: Vec<u8> = node
                    .hist
                    .chunks_from(first)
                    .ok_or("backlog cannot serve its first byte")?
                    .concat();
                let want = node.data.get((first - 1) as usize..).unwrap_or_default();
                if held != want || len != held.len() as i64 {
                    return Err(format!(
                        "node {n}: backlog {first}+{len} differs from the data"
                    ));
                }
            }
            let node = &self.nodes[n];
            let id = node.hist.ids.replid.clone();
            let top = node.follower.upstream() == Upstream::None;
            match self.canon.get(&id) {
                None if top || node.data.is_empty() => {
                    let data = node.data.clone();
                    self.canon.insert(id, data);
                }
                None => return Err(format!("node {n}: replica of an unknown history {id}")),
                Some(c) if top => {
                    if node.data.get(..c.len()) != Some(&c[..]) {
                        return Err(format!(
                            "node {n}: its data does not continue its history {id}"
                        ));
                    }
                    let data = node.data.clone();
                    self.canon.insert(id, data);
                }
                Some(c) => {
                    if c.get(..node.data.len()) != Some(&node.data[..]) {
                        return Err(format!(
                            "node {n}: its {} bytes are not a prefix of history {id} ({} bytes)",
                            node.data.len(),
                            c.len()
                        ));
                    }
                }
            }
            let ids = &self.nodes[n].hist.ids;
            if ids.replid2 != NO_ID {
                let upto = (ids.second_offset - 1) as usize;
                let c = self
                    .canon
                    .get(&ids.replid2)
                    .ok_or_else(|| format!("node {n}: unknown secondary id"))?;
                if c.get(..upto) != self.nodes[n].data.get(..upto) {
                    return Err(format!(
                        "node {n}: its data is not its secondary history up to {upto}"
                    ));
                }
            }
        }
        Ok(())
    }

    // ---------------- scheduler

    fn flush_all(&mut self) -> R {
        let now = self.now;
        for n in 0..self.nodes.len() {
            let node = &mut self.nodes[n];
            if !node.up {
                continue;
            }
            let up = node.follower.upstream();
            let a = node.primary.flush(&mut node.hist, up, now, |_| 0);
            self.exec_primary(n, a)?;
            self.sync_generated(n);
        }
        Ok(())
    }

    fn step(&mut self) -> R {
        self.stats.steps += 1;
        self.now += self.rng.below(30) as i64;
        self.progress_connects()?;
        match self.rng.below(100) {
            0..=54 => {
                let busy: Vec<usize> = (0..self.conns.len()).filter(|&c| self.busy(c)).collect();
                if let Some(c) = self.rng.pick(&busy) {
                    self.deliver(c, 200)?;
                }
            }
            55..=69 => {
                let n = self.rng.below(self.nodes.len() as u64) as usize;
                self.write(n);
                if self.rng.chance(50) {
                    self.nodes[n].primary.request_getack();
                }
            }
            70..=94 => {
                for n in 0..self.nodes.len() {
                    self.tick(n)?;
                }
            }
            _ => {
                if self.faults && self.rng.chance(500) {
                    self.fault()?;
                }
            }
        }
        self.flush_all()?;
        self.check()
    }

    fn fault(&mut self) -> R {
        let n = self.rng.below(self.nodes.len() as u64) as usize;
        let open: Vec<usize> = (0..self.conns.len())
            .filter(|&c| self.conns[c].open)
            .collect();
        match self.rng.below(100) {
            0..=19 => {
                if let Some(c) = self.rng.pick(&open) {
                    self.cut(c)?;
                }
            }
            20..=29 => {
                if let Some(c) = self.rng.pick(&open) {
                    let d = self.rng.below(8_000) as i64;
                    self.conns[c].stalled_until = self.now + d;
                    self.note(format!("stall conn {c} for {d} ms"));
                }
            }
            30..=44 if self.nodes[n].up => self.crash(n)?,
            45..=59 => self.save(n),
            60..=84 if self.nodes[n].up => {
                let others: Vec<u16> = (0..self.nodes.len() as u16)
                    .filter(|&o| o as usize != n)
                    .collect();
                let to = if self.rng.chance(150) {
                    NOWHERE
                } else {
                    self.rng.pick(&others).unwrap_or(0)
                };
                self.replicaof(n, Some(to))?;
            }
            85..=89 if self.nodes[n].up => {
                // The executor finds the stream corrupt and closes the link.
                if let State::Streaming { main, .. } = self.nodes[n].follower.state() {
                    let link = main.id;
                    self.note(format!("node {n}: protocol error on link {link}"));
                    let node = &mut self.nodes[n];
                    node.lost_position = true;
                    node.appliers.remove(&link);
                    if let Some(c) = node.links.remove(&link) {
                        self.conns[c].closed_by_follower = true;
                        self.conns[c].down.clear();
                    }
                    let now = self.now;
                    let node = &mut self.nodes[n];
                    let a = node.follower.on_closed(&mut node.hist, link, true, now);
                    self.exec_follower(n, a)?;
                }
            }
            90..=99 if self.nodes[n].up && self.nodes[n].follower.is_replica() => {
                self.stats.promotions += 1;
                self.replicaof(n, None)?;
            }
            _ => {}
        }
        Ok(())
    }

    /// Heals the topology: every node up, one top primary, every other node in a tree under
    /// it; then no faults or writes until every replica has its primary's exact stream.
    fn settle(&mut self) -> R {
        self.faults = false;
        for c in &mut self.conns {
            c.stalled_until = 0;
        }
        for n in 0..self.nodes.len() {
            if !self.nodes[n].up {
                self.nodes[n].restart_at = self.now;
                self.tick(n)?;
            }
        }
        let root = (0..self.nodes.len())
            .find(|&n| !self.nodes[n].follower.is_replica())
            .unwrap_or(0);
        if self.nodes[root].follower.is_replica() {
            self.replicaof(root, None)?;
        }
        for n in 0..self.nodes.len() {
            if n != root && !self.reaches(n, root) {
                self.replicaof(n, Some(root as u16))?;
            }
        }
        for _ in 0..20_000 {
            self.now += 10;
            self.progress_connects()?;
            for c in 0..self.conns.len() {
                while self.busy(c)
                    && !(self.conns[c].paused
                        && self.conns[c].up.is_empty()
                        && !self.conns[c].closed_by_follower)
                {
                    self.deliver(c, 4096)?;
                }
            }
            for n in 0..self.nodes.len() {
                self.tick(n)?;
            }
            self.flush_all()?;
            self.check()?;
            if self.converged() {
                self.faults = true;
                return Ok(());
            }
        }
        let state: Vec<String> = (0..self.nodes.len())
            .map(|n| {
                let node = &self.nodes[n];
                format!(
                    "node {n}: {:?} {:?} at {} as {}, data {}, in flight {}",
                    node.follower.target(),
                    node.follower.role_state(),
                    node.hist.offset(),
                    node.hist.ids.replid,
                    node.data.len(),
                    self.conns
                        .iter()
                        .filter(|c| c.open && c.follower == n)
                        .map(|c| c.down.len())
                        .sum::<usize>()
                )
            })
            .collect();
        let stuck: Vec<String> = self
            .conns
            .iter()
            .filter(|c| c.open && !c.down.is_empty())
            .map(|c| {
                format!(
                    "conn {}->{} link {} paused {} closed s{} f{} down {}",
                    c.follower,
                    c.server,
                    c.link,
                    c.paused,
                    c.closed_by_server,
                    c.closed_by_follower,
                    c.down.len()
                )
            })
            .collect();
        Err(format!("no convergence: {state:?} {stuck:?}"))
    }

    /// True if `n`'s chain of primaries leads to `root` without a cycle.
    fn reaches(&self, mut n: usize, root: usize) -> bool {
        for _ in 0..self.nodes.len() {
            match self.nodes[n].follower.target() {
                Some((_, p)) if p as usize == root => return true,
                Some((_, p)) if (p as usize) < self.nodes.len() => n = p as usize,
                _ => return false,
            }
        }
        false
    }

    fn converged(&self) -> bool {
        let in_flight = self.conns.iter().any(|c| c.open && !c.down.is_empty());
        !in_flight
            && self.nodes.iter().all(|node| match node.follower.target() {
                None => true,
                Some((_, p)) => {
                    let t = &self.nodes[p as usize];
                    node.follower.link_up()
                        && node.data == t.data
                        && node.hist.ids.replid == t.hist.ids.replid
                }
            })
    }
}

/// Fresh nodes' ids name the empty history.
fn nodes_ids(nodes: &[Node]) -> HashMap<String, Vec<u8>> {
    nodes
        .iter()
        .map(|n| (n.hist.ids.replid.clone(), Vec::new()))
        .collect()
}

/// The PSYNC2 rule, written from PROTOCOL.md §D.4 independently of `ReplIds`: the id is the
/// primary's current one, or its previous one no further than the switch point; the offset
/// is inside the backlog (one past its end included).
fn oracle_can_continue(h: &History, id: &str, off: i64) -> bool {
    let ids = &h.ids;
    let known = id.eq_ignore_ascii_case(&ids.replid)
        || (ids.replid2 != NO_ID
            && id.eq_ignore_ascii_case(&ids.replid2)
            && off <= ids.second_offset);
    let inside = h
        .window()
        .is_some_and(|(first, len)| first <= off && off <= first + len);
    id != "?" && known && inside
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
    Ok(w.stats)
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

fn env(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

#[test]
fn seeded_simulation() {
    let steps = env("SIM_STEPS").unwrap_or(6_000);
    let seeds: Vec<u64> = match env("SIM_SEED") {
        Some(s) => vec![s],
        None => (1..=env("SIM_SEEDS").unwrap_or(200)).collect(),
    };
    let mut total = Stats::default();
    for seed in seeds {
        match run_seed(seed, steps) {
            Ok(s) => total.add(&s),
            Err(e) => panic!("{e}"),
        }
    }
    eprintln!("simulation: {total:?}");
    assert!(
        total.partial_syncs > 0 && total.full_syncs > 0 && total.promotions > 0,
        "every kind of sync exercised: {total:?}"
    );
}
