//! Fault injection against real Redwing replica sets (dev-only; see the README's reliability
//! section). A seed decides everything the harness chooses: the topology's options, the
//! writes, which fault strikes when and where.
//!
//! Topology: a primary, two direct replicas (one dual-channel and persistent, one neither),
//! a chained replica, and optionally the real redis-server as a direct replica. Every
//! replication link goes through a fault-injecting proxy in front of its primary
//! ([`testkit::Proxy`]), so links can be slowed, stalled, cut or refused without root.
//!
//! A round writes (SET/INCR/RPUSH/HSET/ZADD in pipelines) to whichever node is primary, with
//! `WAIT` after every batch, while faults strike at random times: kill -9 and restart of any
//! replica (with or without its RDB), kill -9 of the primary (then failover), planned
//! failovers, link kills (CLIENT KILL TYPE master/replica), SIGSTOP/SIGCONT, slow, stalled,
//! cut or refusing links, REPLICAOF racing REPLICAOF, and dual-channel syncs interrupted on
//! either connection. Then faults stop and the round checks:
//!
//! - every node converges to the primary's offset and DEBUG DIGEST;
//! - no process died on its own, and no log shows a panic;
//! - every write that WAIT reported as reaching all direct replicas is on the primary (even
//!   one promoted after the old primary was killed);
//! - no buffers are left behind (replica-side dual-channel buffers, backlog pins, replica
//!   output buffers), and memory is comparable across nodes holding the same data;
//! - full syncs are counted with their reasons (from the primaries' logs); one that no fault
//!   of the round explains (a history mismatch without a crash, restart or unplanned
//!   failover) is a violation.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use resp::frame::Frame;
use testkit::{Conn, Proxy, Rng, ServerProc};

/// What to run.
#[derive(Clone, Debug)]
pub struct Config {
    pub seed: u64,
    /// Total time spent injecting faults (rounds run until it is used up).
    pub duration: Duration,
    /// Length of one round's fault phase.
    pub round: Duration,
    /// Also run the real redis-server as a direct replica.
    pub with_redis: bool,
}

/// What happened.
#[derive(Debug, Default)]
pub struct Report {
    pub seed: u64,
    pub rounds: u64,
    pub faults: BTreeMap<&'static str, u64>,
    pub writes: u64,
    pub writes_acked: u64,
    /// Full syncs by reason (from the primaries' logs).
    pub full_syncs: BTreeMap<String, u64>,
    pub partial_syncs: u64,
    pub violations: Vec<String>,
    /// Directories (data and logs) of the nodes, kept when there were violations.
    pub kept_dirs: Vec<String>,
}

impl Report {
    pub fn summary(&self) -> String {
        let mut s = format!(
            "seed {}: {} rounds, {} writes ({} acknowledged by all direct replicas), {} partial resyncs\n",
            self.seed, self.rounds, self.writes, self.writes_acked, self.partial_syncs
        );
        let _ = writeln!(s, "faults: {:?}", self.faults);
        let _ = writeln!(s, "full syncs by reason: {:?}", self.full_syncs);
        let _ = writeln!(s, "violations: {}", self.violations.len());
        for v in &self.violations {
            let _ = writeln!(s, "  - {v}");
        }
        if !self.kept_dirs.is_empty() {
            let _ = writeln!(s, "node directories kept: {:?}", self.kept_dirs);
        }
        s
    }
}

struct Node {
    name: String,
    proc: ServerProc,
    /// Replicas of this node connect through this proxy.
    proxy: Proxy,
    redis: bool,
    persistent: bool,
    dual: bool,
    /// Index of the node this one replicates from.
    upstream: Option<usize>,
    /// The arguments it was started with (a redis node is restarted with `--replicaof` added).
    base_args: Vec<String>,
    /// Set while SIGSTOPped: when to resume.
    paused_until: Option<Instant>,
    /// Byte offset of its log already scanned.
    log_seen: usize,
}

/// One client connection to a node; reconnects on demand; never panics.
fn cmd(port: u16, args: &[&str]) -> Result<Frame, String> {
    let mut c = Conn::connect(port).map_err(|e| format!("connect :{port}: {e}"))?;
    c.set_timeout(Duration::from_secs(10));
    c.try_cmd(args)
}

fn info_field(port: u16, section: &str, field: &str) -> Option<String> {
    let f = cmd(port, &["INFO", section]).ok()?;
    let text = f.text();
    text.lines().find_map(|l| {
        l.strip_prefix(&format!("{field}:"))
            .map(|v| v.trim().to_string())
    })
}

struct Harness {
    cfg: Config,
    rng: Rng,
    nodes: Vec<Node>,
    primary: usize,
    report: Report,
    /// Keys whose last write WAIT confirmed on all direct replicas, with their values.
    acked: BTreeMap<String, String>,
    counter: u64,
    /// What happened in the current round that can explain a full sync.
    round_unplanned: bool,
    round_restart_without_data: bool,
    /// Replication-ID history seen in the logs (classifies full syncs).
    history: IdHistory,
    /// Slowed/stalled proxies to heal at a time.
    heal_at: Vec<(usize, Instant)>,
    /// Saved rdb-key-save-delay to restore (dual-channel interruption).
    slow_snapshot_until: Option<Instant>,
}

const REPL_TIMEOUT: &str = "5";

impl Harness {
    fn start(cfg: Config) -> Harness {
        let mut rng = Rng(cfg.seed);
        let mut nodes = Vec::new();
        let specs: Vec<(&str, bool, bool, bool)> = {
            let mut v = vec![
                ("primary", false, true, true),
                ("replica-a", false, true, true),
                ("replica-b", false, false, false),
                ("chained", false, rng.below(2) == 0, rng.below(2) == 0),
            ];
            if cfg.with_redis {
                v.push(("redis", true, true, false));
            }
            v
        };
        for (name, redis, persistent, dual) in specs {
            let save = if persistent { "1 1" } else { "" };
            let mut args = vec![
                "--save",
                save,
                "--repl-diskless-sync-delay",
                "0",
                "--repl-ping-replica-period",
                "1",
                "--repl-timeout",
                REPL_TIMEOUT,
                "--repl-backlog-size",
                "4mb",
            ];
            if !redis {
                args.extend([
                    "--dual-channel-replication-enabled",
                    if dual { "yes" } else { "no" },
                ]);
            }
            let proc = if redis {
                ServerProc::redis(&args)
            } else {
                ServerProc::redwing(&args)
            };
            let proxy = match Proxy::start(proc.port) {
                Ok(p) => p,
                Err(e) => panic!("cannot start a proxy: {e}"),
            };
            if !redis {
                let _ = cmd(proc.port, &["DEBUG", "DELAY-RDB-CLIENT-FREE-SECONDS", "2"]);
            }
            nodes.push(Node {
                name: name.to_string(),
                base_args: args.iter().map(|a| a.to_string()).collect(),
                proc,
                proxy,
                redis,
                persistent,
                dual,
                upstream: None,
                paused_until: None,
                log_seen: 0,
            });
        }
        let mut h = Harness {
            report: Report {
                seed: cfg.seed,
                ..Report::default()
            },
            cfg,
            rng,
            nodes,
            primary: 0,
            acked: BTreeMap::new(),
            counter: 0,
            round_unplanned: false,
            round_restart_without_data: true,
            history: IdHistory::default(),
            heal_at: Vec::new(),
            slow_snapshot_until: None,
        };
        h.follow(1, 0);
        h.follow(2, 0);
        h.follow(3, 1);
        if h.cfg.with_redis {
            h.follow(4, 0);
        }
        h
    }

    fn note_fault(&mut self, name: &'static str) {
        *self.report.faults.entry(name).or_insert(0) += 1;
    }

    fn violation(&mut self, v: String) {
        self.report.violations.push(v);
    }

    /// Points node `n` at node `to` (through `to`'s proxy).
    fn follow(&mut self, n: usize, to: usize) {
        let port = self.nodes[to].proxy.port.to_string();
        let _ = cmd(self.nodes[n].proc.port, &["REPLICAOF", "127.0.0.1", &port]);
        self.nodes[n].upstream = Some(to);
    }

    fn direct_replicas(&self) -> Vec<usize> {
        (0..self.nodes.len())
            .filter(|&i| self.nodes[i].upstream == Some(self.primary))
            .collect()
    }

    // ------------------------------------------------------------------ writes

    /// One pipelined batch of writes and a WAIT for every direct replica.
    fn write_batch(&mut self) {
        let port = self.nodes[self.primary].proc.port;
        let Ok(mut c) = Conn::connect(port) else {
            return;
        };
        c.set_timeout(Duration::from_secs(10));
        let mut out = Vec::new();
        let mut keys = Vec::new();
        for _ in 0..20 {
            self.counter += 1;
            let k = format!("k:{}", self.counter);
            let v = format!(
                "v:{}:{}",
                self.counter,
                "x".repeat(self.rng.below(200) as usize)
            );
            resp::reply::encode_command(&mut out, &["SET", &k, &v]);
            keys.push((k, v));
            let bucket = (self.counter % 16).to_string();
            match self.rng.below(4) {
                0 => resp::reply::encode_command(&mut out, &["INCR", &format!("ctr:{bucket}")]),
                1 => resp::reply::encode_command(
                    &mut out,
                    &[
                        "RPUSH",
                        &format!("list:{bucket}"),
                        &self.counter.to_string(),
                    ],
                ),
                2 => resp::reply::encode_command(
                    &mut out,
                    &[
                        "HSET",
                        &format!("hash:{bucket}"),
                        &self.counter.to_string(),
                        "1",
                    ],
                ),
                _ => resp::reply::encode_command(
                    &mut out,
                    &[
                        "ZADD",
                        &format!("zset:{bucket}"),
                        &(self.counter % 1000).to_string(),
                        &self.counter.to_string(),
                    ],
                ),
            }
        }
        let need = self.direct_replicas().len();
        resp::reply::encode_command(&mut out, &["WAIT", &need.to_string(), "300"]);
        if c.try_write_raw(&out).is_err() {
            return;
        }
        let mut ok = 0;
        for _ in 0..40 {
            match c.try_read_frame() {
                Ok(f) if !f.is_error() => ok += 1,
                Ok(_) => {}
                Err(_) => return,
            }
        }
        self.report.writes += ok / 2;
        match c.try_read_frame() {
            Ok(Frame::Int(n)) if n as usize >= need && ok == 40 => {
                self.report.writes_acked += keys.len() as u64;
                for (k, v) in keys {
                    self.acked.insert(k, v);
                }
            }
            _ => {}
        }
    }

    // ------------------------------------------------------------------ faults

    fn replicas(&self) -> Vec<usize> {
        (0..self.nodes.len())
            .filter(|&i| i != self.primary)
            .collect()
    }

    fn inject(&mut self) {
        let replicas = self.replicas();
        match self.rng.below(12) {
            0 => {
                // kill -9 a replica and restart it, with its RDB or without data
                let Some(n) = self.rng.pick(&replicas) else {
                    return;
                };
                let keep = self.nodes[n].persistent && self.rng.below(3) != 0;
                self.note_fault(if keep {
                    "replica kill -9 + restart"
                } else {
                    "replica kill -9 + restart without data"
                });
                self.restart(n, keep);
            }
            1 => {
                self.note_fault("primary kill -9 + failover");
                self.unplanned_failover();
            }
            2 => {
                self.note_fault("planned failover");
                self.planned_failover();
            }
            3 => {
                let Some(n) = self.rng.pick(&replicas) else {
                    return;
                };
                self.note_fault("CLIENT KILL TYPE master");
                let _ = cmd(
                    self.nodes[n].proc.port,
                    &["CLIENT", "KILL", "TYPE", "master"],
                );
            }
            4 => {
                let ups: Vec<usize> = (0..self.nodes.len())
                    .filter(|&i| self.nodes.iter().any(|n| n.upstream == Some(i)))
                    .collect();
                let Some(n) = self.rng.pick(&ups) else { return };
                self.note_fault("CLIENT KILL TYPE replica");
                let _ = cmd(
                    self.nodes[n].proc.port,
                    &["CLIENT", "KILL", "TYPE", "replica"],
                );
            }
            5 => {
                let all: Vec<usize> = (0..self.nodes.len()).collect();
                let Some(n) = self.rng.pick(&all) else { return };
                if self.nodes[n].paused_until.is_none() {
                    self.note_fault("SIGSTOP/SIGCONT");
                    self.nodes[n].proc.pause();
                    let ms = 200 + self.rng.below(2_500);
                    self.nodes[n].paused_until = Some(Instant::now() + Duration::from_millis(ms));
                }
            }
            6 => {
                let Some(n) = self.pick_upstream() else {
                    return;
                };
                self.note_fault("slow link");
                let p = &self.nodes[n].proxy;
                p.set_delay(Duration::from_millis(5 + self.rng.below(60)));
                p.set_rate(64 * 1024 + self.rng.below(1 << 20));
                let ms = 500 + self.rng.below(3_000);
                self.heal_at
                    .push((n, Instant::now() + Duration::from_millis(ms)));
            }
            7 => {
                let Some(n) = self.pick_upstream() else {
                    return;
                };
                self.note_fault("stalled link (partition)");
                self.nodes[n].proxy.set_stalled(true);
                let ms = 300 + self.rng.below(7_000);
                self.heal_at
                    .push((n, Instant::now() + Duration::from_millis(ms)));
            }
            8 => {
                let Some(n) = self.pick_upstream() else {
                    return;
                };
                self.note_fault("cut links");
                self.nodes[n].proxy.cut_all();
                if self.rng.below(2) == 0 {
                    self.nodes[n].proxy.set_refuse(true);
                    let ms = 200 + self.rng.below(2_000);
                    self.heal_at
                        .push((n, Instant::now() + Duration::from_millis(ms)));
                }
            }
            9 => {
                let redwing: Vec<usize> = replicas
                    .iter()
                    .copied()
                    .filter(|&i| !self.nodes[i].redis)
                    .collect();
                let Some(n) = self.rng.pick(&redwing) else {
                    return;
                };
                self.note_fault("REPLICAOF racing REPLICAOF");
                let port = self.nodes[n].proc.port;
                let Some(to) = self.nodes[n].upstream else {
                    return;
                };
                let dead = testkit::proc::free_port().to_string();
                let _ = cmd(port, &["REPLICAOF", "127.0.0.1", &dead]);
                let target = self.nodes[to].proxy.port.to_string();
                let _ = cmd(port, &["REPLICAOF", "127.0.0.1", &target]);
            }
            10 => self.interrupt_dual_channel(),
            _ => {
                let Some(n) = self.rng.pick(&replicas) else {
                    return;
                };
                self.note_fault("replica restart (SIGTERM)");
                self.nodes[n].proc.stop();
                // A node without save points still has the file of its last disk-based
                // full sync, and restarts with it.
                let has_rdb = self.nodes[n].proc.dir.join("dump.rdb").exists();
                self.respawn(n);
                if !self.nodes[n].redis {
                    let _ = cmd(
                        self.nodes[n].proc.port,
                        &["DEBUG", "DELAY-RDB-CLIENT-FREE-SECONDS", "2"],
                    );
                }
                let to = self.nodes[n].upstream.unwrap_or(self.primary);
                self.follow(n, to);
                if !has_rdb {
                    self.round_restart_without_data = true;
                }
            }
        }
    }

    fn pick_upstream(&mut self) -> Option<usize> {
        let ups: Vec<usize> = (0..self.nodes.len())
            .filter(|&i| self.nodes.iter().any(|n| n.upstream == Some(i)))
            .collect();
        self.rng.pick(&ups)
    }

    /// kill -9 and restart node `n` (as a replica of its upstream).
    fn restart(&mut self, n: usize, keep_data: bool) {
        self.nodes[n].proc.kill();
        self.nodes[n].paused_until = None;
        if !keep_data {
            let _ = std::fs::remove_file(self.nodes[n].proc.dir.join("dump.rdb"));
            self.round_restart_without_data = true;
        } else {
            self.round_unplanned = true;
        }
        self.respawn(n);
        if !self.nodes[n].redis {
            let _ = cmd(
                self.nodes[n].proc.port,
                &["DEBUG", "DELAY-RDB-CLIENT-FREE-SECONDS", "2"],
            );
        }
        let to = self.nodes[n].upstream.unwrap_or(self.primary);
        self.follow(n, to);
    }

    /// Starts node `n` again after it stopped. Redis 7.0 resumes its replication history
    /// from the RDB only when it starts as a replica (`--replicaof`): started as a primary it
    /// keeps the RDB's id as its replid2 but asks its next primary with a fresh one, so every
    /// restart would be a full sync. A redis node is therefore restarted as operators start
    /// it, with `--replicaof` its upstream.
    fn respawn(&mut self, n: usize) {
        if self.nodes[n].redis {
            let mut args = self.nodes[n].base_args.clone();
            if let Some(up) = self.nodes[n].upstream {
                args.extend([
                    "--replicaof".to_string(),
                    "127.0.0.1".to_string(),
                    self.nodes[up].proxy.port.to_string(),
                ]);
            }
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            self.nodes[n].proc.set_args(&args);
        }
        self.nodes[n].proc.restart();
    }

    /// The best direct replica (highest offset) becomes primary; the rest follow it.
    fn promote_best(&mut self, exclude: usize) -> Option<usize> {
        // Only a replica with a working link is a sane choice (not one in a full sync).
        let candidates: Vec<usize> = self
            .direct_replicas()
            .into_iter()
            .filter(|&i| i != exclude && !self.nodes[i].redis)
            .filter(|&i| {
                info_field(self.nodes[i].proc.port, "replication", "master_link_status")
                    .is_some_and(|s| s == "up" || s == "down")
                    && info_field(
                        self.nodes[i].proc.port,
                        "replication",
                        "master_sync_in_progress",
                    )
                    .as_deref()
                        == Some("0")
            })
            .collect();
        let best = candidates.into_iter().max_by_key(|&i| {
            info_field(self.nodes[i].proc.port, "replication", "master_repl_offset")
                .and_then(|v| v.parse::<i64>().ok())
                .unwrap_or(-1)
        })?;
        if let Some(until) = self.nodes[best].paused_until.take() {
            let _ = until;
            self.nodes[best].proc.resume();
        }
        let _ = cmd(self.nodes[best].proc.port, &["REPLICAOF", "NO", "ONE"]);
        self.nodes[best].upstream = None;
        Some(best)
    }

    fn repoint_after_promotion(&mut self, old: usize, new: usize) {
        for i in 0..self.nodes.len() {
            if i != new && (self.nodes[i].upstream == Some(old) || i == old) {
                self.follow(i, new);
            }
        }
        self.primary = new;
    }

    fn unplanned_failover(&mut self) {
        let old = self.primary;
        self.round_unplanned = true;
        self.nodes[old].proc.kill();
        self.nodes[old].paused_until = None;
        let Some(new) = self.promote_best(old) else {
            self.nodes[old].proc.restart();
            return;
        };
        // Every write WAIT confirmed on all direct replicas must be on the promoted one.
        self.check_acked(new, "after the primary was killed and a replica promoted");
        self.repoint_after_promotion(old, new);
        self.nodes[old].proc.restart();
        let _ = cmd(
            self.nodes[old].proc.port,
            &["DEBUG", "DELAY-RDB-CLIENT-FREE-SECONDS", "2"],
        );
        self.follow(old, new);
    }

    fn planned_failover(&mut self) {
        let old = self.primary;
        let candidates: Vec<usize> = self
            .direct_replicas()
            .into_iter()
            .filter(|&i| !self.nodes[i].redis && self.nodes[i].paused_until.is_none())
            .collect();
        let Some(new) = self.rng.pick(&candidates) else {
            return;
        };
        // No keepalive PINGs from the old primary while it hands over (Redis's FAILOVER does
        // the same): one would put it a few bytes past the new primary's history.
        let oport = self.nodes[old].proc.port;
        let _ = cmd(
            oport,
            &["CONFIG", "SET", "repl-ping-replica-period", "3600"],
        );
        let restore = |port: u16| {
            let _ = cmd(port, &["CONFIG", "SET", "repl-ping-replica-period", "1"]);
        };
        // Wait (bounded) until the candidate has everything; a planned failover that cannot
        // catch up (a stalled link) is abandoned.
        let start = Instant::now();
        loop {
            let po = info_field(
                self.nodes[old].proc.port,
                "replication",
                "master_repl_offset",
            );
            let ro = info_field(
                self.nodes[new].proc.port,
                "replication",
                "master_repl_offset",
            );
            let up = info_field(
                self.nodes[new].proc.port,
                "replication",
                "master_link_status",
            );
            if po.is_some() && po == ro && up.as_deref() == Some("up") {
                break;
            }
            if start.elapsed() > Duration::from_secs(3) {
                restore(oport);
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = cmd(self.nodes[new].proc.port, &["REPLICAOF", "NO", "ONE"]);
        self.nodes[new].upstream = None;
        self.repoint_after_promotion(old, new);
        restore(oport);
    }

    /// Forces a dual-channel full sync (a replica restarted without data, behind a slowed
    /// snapshot) and kills one of its two connections on the primary side mid-way.
    fn interrupt_dual_channel(&mut self) {
        let dual: Vec<usize> = self
            .direct_replicas()
            .into_iter()
            .filter(|&i| self.nodes[i].dual && !self.nodes[i].redis)
            .collect();
        let Some(n) = self.rng.pick(&dual) else {
            return;
        };
        if !self.nodes[self.primary].dual {
            return;
        }
        self.note_fault("dual-channel sync interrupted");
        let pport = self.nodes[self.primary].proc.port;
        let _ = cmd(pport, &["CONFIG", "SET", "rdb-key-save-delay", "200"]);
        self.slow_snapshot_until = Some(Instant::now() + Duration::from_secs(3));
        self.restart(n, false);
        let which = if self.rng.below(2) == 0 {
            "sync"
        } else {
            "psync"
        };
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(3) {
            let list = cmd(pport, &["CLIENT", "LIST"])
                .map(|f| f.text())
                .unwrap_or_default();
            let id = list
                .lines()
                .find(|l| l.split(' ').any(|f| f == format!("cmd={which}")))
                .and_then(|l| l.split(' ').find_map(|f| f.strip_prefix("id=")))
                .map(str::to_string);
            if let Some(id) = id {
                let _ = cmd(pport, &["CLIENT", "KILL", "ID", &id]);
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn tick(&mut self) {
        let now = Instant::now();
        for i in 0..self.nodes.len() {
            if self.nodes[i].paused_until.is_some_and(|t| t <= now) {
                self.nodes[i].proc.resume();
                self.nodes[i].paused_until = None;
            }
        }
        let due: Vec<usize> = self
            .heal_at
            .iter()
            .filter(|(_, t)| *t <= now)
            .map(|(n, _)| *n)
            .collect();
        self.heal_at.retain(|(_, t)| *t > now);
        for n in due {
            self.nodes[n].proxy.heal();
        }
        if self.slow_snapshot_until.is_some_and(|t| t <= now) {
            self.slow_snapshot_until = None;
            for n in &self.nodes {
                if !n.redis {
                    let _ = cmd(n.proc.port, &["CONFIG", "SET", "rdb-key-save-delay", "0"]);
                }
            }
        }
    }

    // ------------------------------------------------------------------ checks

    fn heal_all(&mut self) {
        for n in &mut self.nodes {
            n.proxy.heal();
            if n.paused_until.take().is_some() {
                n.proc.resume();
            }
            if !n.redis {
                let _ = cmd(n.proc.port, &["CONFIG", "SET", "rdb-key-save-delay", "0"]);
            }
        }
        self.heal_at.clear();
        self.slow_snapshot_until = None;
        for i in 0..self.nodes.len() {
            if let Some(to) = self.nodes[i].upstream {
                // Make sure a racing REPLICAOF or a restart left the intended target.
                let host = info_field(self.nodes[i].proc.port, "replication", "master_port");
                if host != Some(self.nodes[to].proxy.port.to_string()) {
                    self.follow(i, to);
                }
            }
        }
    }

    fn converge(&mut self, round: u64) -> bool {
        let start = Instant::now();
        let mut last = String::new();
        while start.elapsed() < Duration::from_secs(90) {
            let pport = self.nodes[self.primary].proc.port;
            let po = info_field(pport, "replication", "master_repl_offset");
            let pd = cmd(pport, &["DEBUG", "DIGEST"]).map(|f| f.text()).ok();
            let mut all = po.is_some() && pd.is_some();
            last.clear();
            for (i, n) in self.nodes.iter().enumerate() {
                if i == self.primary {
                    continue;
                }
                let o = info_field(n.proc.port, "replication", "master_repl_offset");
                let up = info_field(n.proc.port, "replication", "master_link_status");
                let d = cmd(n.proc.port, &["DEBUG", "DIGEST"])
                    .map(|f| f.text())
                    .ok();
                let ok = o == po && up.as_deref() == Some("up") && d == pd;
                let _ = write!(
                    last,
                    "{}: offset {o:?} link {up:?} same digest {} | ",
                    n.name,
                    d == pd
                );
                all &= ok;
            }
            if all {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let po = info_field(
            self.nodes[self.primary].proc.port,
            "replication",
            "master_repl_offset",
        );
        let mut tails = String::new();
        for n in &self.nodes {
            let log = n.proc.log();
            let lines: Vec<&str> = log.lines().collect();
            let _ = writeln!(tails, "--- {} (last lines of its log)", n.name);
            for l in &lines[lines.len().saturating_sub(25)..] {
                let _ = writeln!(tails, "    {l}");
            }
        }
        self.violation(format!(
            "round {round}: no convergence within 90 s (primary {} at {po:?}): {last}\n{tails}",
            self.nodes[self.primary].name
        ));
        false
    }

    fn check_acked(&mut self, node: usize, when: &str) {
        let port = self.nodes[node].proc.port;
        let keys: Vec<(String, String)> = self
            .acked
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let mut missing = 0;
        let mut example = None;
        for chunk in keys.chunks(200) {
            let mut args = vec!["MGET"];
            args.extend(chunk.iter().map(|(k, _)| k.as_str()));
            let Ok(Frame::Array(vals)) = cmd(port, &args) else {
                self.violation(format!(
                    "{when}: cannot read acknowledged keys from {}",
                    self.nodes[node].name
                ));
                return;
            };
            for ((k, v), got) in chunk.iter().zip(vals) {
                if got.as_bytes() != Some(v.as_bytes()) {
                    missing += 1;
                    example.get_or_insert_with(|| k.clone());
                }
            }
        }
        if missing > 0 {
            self.violation(format!(
                "{when}: {missing} writes acknowledged by WAIT on all direct replicas are missing on {} (e.g. {example:?})",
                self.nodes[node].name
            ));
        }
    }

    fn check_processes_and_logs(&mut self, round: u64) {
        for i in 0..self.nodes.len() {
            if !self.nodes[i].proc.alive() {
                let name = self.nodes[i].name.clone();
                self.violation(format!("round {round}: {name} died on its own"));
                self.respawn(i);
            }
            let log = self.nodes[i].proc.log();
            let new = &log[self.nodes[i].log_seen.min(log.len())..];
            for bad in [
                "panicked",
                "RUST_BACKTRACE",
                "Guru Meditation",
                "ASSERTION FAILED",
            ] {
                if let Some(pos) = new.find(bad) {
                    let line = new[pos.saturating_sub(200)..(pos + 200).min(new.len())].to_string();
                    let name = self.nodes[i].name.clone();
                    self.violation(format!("round {round}: {name} log shows {bad:?}: {line}"));
                }
            }
        }
    }

    /// Full syncs served in the round, by reason, from the logs of every node.
    ///
    /// Each refusal of a partial resync is classified on its own. A request for a replication
    /// ID the primary does not know is traced through the ID history every node logged
    /// ("Setting secondary replication ID to A … New replication ID is B", or a replica's
    /// request for A answered by "Master replication ID changed to B"). An ancestor of the
    /// refusing node's ids is a history PSYNC2 cannot serve — it keeps one previous id, and
    /// none after a full sync — and the refusal is explained by the shifts or the full sync
    /// that dropped it (each accounted for itself). A request at offset 1 is a node without
    /// data. Anything else is a diverged history, which only a crash, a restart or an
    /// unplanned failover in the round explains.
    fn account_full_syncs(&mut self, round: u64) {
        let new: Vec<String> = (0..self.nodes.len())
            .map(|i| {
                let log = self.nodes[i].proc.log();
                let new = log[self.nodes[i].log_seen.min(log.len())..].to_string();
                self.nodes[i].log_seen = log.len();
                new
            })
            .collect();
        for (i, text) in new.iter().enumerate() {
            for line in text.lines() {
                self.history.observe(i, line);
            }
        }
        let mut unexplained = Vec::new();
        for (i, text) in new.iter().enumerate() {
            for line in text.lines() {
                let reason = if line.contains("Full resync requested by replica") {
                    "replica had no usable history (PSYNC ?)"
                } else if line.contains("lack of backlog") {
                    "backlog overrun"
                } else if let Some((asked, mine, mine2)) = mismatch_ids(line) {
                    if self.history.fresh.contains(asked) {
                        "replica had no data (PSYNC <id> 1)"
                    } else if self.history.shifts(asked, mine2).is_some()
                        || self.history.shifts(asked, mine).is_some()
                    {
                        "an earlier id than the ones kept"
                    } else {
                        "diverged history"
                    }
                } else if line.contains("Requested offset for second ID") {
                    "past the previous history's end"
                } else {
                    if line.contains("Partial resynchronization request from")
                        && line.contains("accepted")
                    {
                        self.report.partial_syncs += 1;
                    }
                    continue;
                };
                *self
                    .report
                    .full_syncs
                    .entry(reason.to_string())
                    .or_insert(0) += 1;
                let explained = match reason {
                    "backlog overrun" | "an earlier id than the ones kept" => true,
                    _ => self.round_unplanned || self.round_restart_without_data,
                };
                if !explained {
                    unexplained.push(format!("{}: {line}", self.nodes[i].name));
                }
            }
        }
        for u in unexplained {
            self.violation(format!(
                "round {round}: full sync that no fault of the round explains: {u}"
            ));
        }
    }

    fn check_buffers(&mut self, round: u64) {
        let start = Instant::now();
        loop {
            let mut problems = Vec::new();
            let mut used = Vec::new();
            for n in &self.nodes {
                if n.redis {
                    continue;
                }
                let port = n.proc.port;
                let local = info_field(port, "memory", "mem_replicas_repl_buffer");
                if local.as_deref() != Some("0") {
                    problems.push(format!("{} mem_replicas_repl_buffer={local:?}", n.name));
                }
                let waiting = info_field(port, "replication", "replicas_waiting_psync");
                if waiting.as_deref().is_some_and(|w| w != "0") {
                    problems.push(format!("{} replicas_waiting_psync={waiting:?}", n.name));
                }
                let out: u64 = info_field(port, "memory", "mem_clients_slaves")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0);
                if out > 8 << 20 {
                    problems.push(format!("{} mem_clients_slaves={out}", n.name));
                }
                if let Some(u) =
                    info_field(port, "memory", "used_memory").and_then(|v| v.parse::<u64>().ok())
                {
                    used.push((n.name.clone(), u));
                }
            }
            if let (Some(min), Some(max)) = (
                used.iter().map(|u| u.1).min(),
                used.iter().map(|u| u.1).max(),
            ) {
                // Same data everywhere: the spread is backlogs (4 MB each) and buffers.
                if max - min > (24 << 20) + min / 5 {
                    problems.push(format!(
                        "used_memory spread across nodes with the same data: {used:?}"
                    ));
                }
            }
            if problems.is_empty() {
                return;
            }
            if start.elapsed() > Duration::from_secs(15) {
                self.violation(format!(
                    "round {round}: buffers left behind: {}",
                    problems.join("; ")
                ));
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn round(&mut self, round: u64) {
        self.round_unplanned = false;
        let start = Instant::now();
        let mut next_fault = Instant::now() + Duration::from_millis(200 + self.rng.below(800));
        while start.elapsed() < self.cfg.round {
            self.write_batch();
            // A steady load rather than a flood: full syncs of a growing dataset must stay
            // well inside repl-timeout for the rounds to say something about replication.
            std::thread::sleep(Duration::from_millis(5));
            self.tick();
            if Instant::now() >= next_fault {
                self.inject();
                next_fault = Instant::now() + Duration::from_millis(100 + self.rng.below(1_500));
            }
        }
        self.heal_all();
        if self.converge(round) {
            let p = self.primary;
            self.check_acked(p, &format!("round {round}"));
        }
        self.check_processes_and_logs(round);
        self.account_full_syncs(round);
        self.check_buffers(round);
        self.round_restart_without_data = false;
        self.report.rounds += 1;
    }
}

/// The replication-ID history the nodes' logs show: which ID replaced which, and the IDs
/// nodes without data asked for.
#[derive(Default)]
struct IdHistory {
    /// ID → the IDs that replaced it.
    next: BTreeMap<String, Vec<String>>,
    /// IDs requested at offset 1 (a node without data synthesising its own history).
    fresh: std::collections::BTreeSet<String>,
    /// Per node, the ID of its last PSYNC request.
    last_request: BTreeMap<usize, String>,
}

impl IdHistory {
    fn observe(&mut self, node: usize, line: &str) {
        if let Some(rest) = after(line, "Setting secondary replication ID to ") {
            let old = rest.split(',').next().unwrap_or("");
            if let Some(new) = after(rest, "New replication ID is ") {
                self.link(old, new.trim());
            }
        } else if let Some(rest) = after(line, "Trying a partial resynchronization (request ") {
            if let Some((id, off)) = rest.trim_end_matches(").").split_once(':') {
                if off.trim() == "1" {
                    self.fresh.insert(id.to_string());
                }
                self.last_request.insert(node, id.to_string());
            }
        } else if let Some(new) = after(line, "Master replication ID changed to ") {
            if let Some(old) = self.last_request.get(&node).cloned() {
                self.link(&old, new.trim());
            }
        }
    }

    fn link(&mut self, old: &str, new: &str) {
        if old.is_empty() || new.is_empty() || old == new {
            return;
        }
        let v = self.next.entry(old.to_string()).or_default();
        if !v.iter().any(|x| x == new) {
            v.push(new.to_string());
        }
    }

    /// How many ID shifts lead from `from` to `to`, if `to` descends from `from`.
    fn shifts(&self, from: &str, to: &str) -> Option<usize> {
        let mut frontier = vec![from.to_string()];
        let mut seen = std::collections::BTreeSet::new();
        for depth in 0..64 {
            if frontier.iter().any(|x| x == to) {
                return Some(depth);
            }
            let mut next = Vec::new();
            for id in frontier {
                if seen.insert(id.clone()) {
                    next.extend(self.next.get(&id).into_iter().flatten().cloned());
                }
            }
            if next.is_empty() {
                return None;
            }
            frontier = next;
        }
        None
    }
}

fn after<'a>(line: &'a str, marker: &str) -> Option<&'a str> {
    line.find(marker).map(|i| &line[i + marker.len()..])
}

/// The IDs of a refusal logged as Redis does: "Replica asked for 'A', my replication IDs
/// are 'B' and 'C'".
fn mismatch_ids(line: &str) -> Option<(&str, &str, &str)> {
    let rest = after(line, "Replica asked for '")?;
    let (asked, rest) = rest.split_once('\'')?;
    let rest = after(rest, "my replication IDs are '")?;
    let (mine, rest) = rest.split_once('\'')?;
    let rest = after(rest, "and '")?;
    let (mine2, _) = rest.split_once('\'')?;
    Some((asked, mine, mine2))
}

/// Runs rounds until `cfg.duration` is used up; returns what happened.
pub fn run(cfg: Config) -> Report {
    let mut h = Harness::start(cfg.clone());
    let start = Instant::now();
    let mut round = 0;
    while round == 0 || start.elapsed() < cfg.duration {
        round += 1;
        h.round(round);
    }
    if !h.report.violations.is_empty() || std::env::var_os("CHAOS_KEEP").is_some() {
        for n in &mut h.nodes {
            n.proc.keep();
            h.report
                .kept_dirs
                .push(format!("{}: {}", n.name, n.proc.dir.display()));
        }
    }
    std::mem::take(&mut h.report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_history_classifies_requests() {
        let mut h = IdHistory::default();
        let lines = [
            (0, "1:M 22 Nov 2026 01:00:00.000 * Setting secondary replication ID to aaa, valid up to offset: 10. New replication ID is bbb"),
            (1, "2:S 22 Nov 2026 01:00:01.000 * Trying a partial resynchronization (request bbb:20)."),
            (1, "2:S 22 Nov 2026 01:00:01.000 * Master replication ID changed to ccc"),
            (2, "3:S 22 Nov 2026 01:00:02.000 * Trying a partial resynchronization (request fff:1)."),
        ];
        for (n, l) in lines {
            h.observe(n, l);
        }
        assert_eq!(h.shifts("aaa", "bbb"), Some(1));
        assert_eq!(h.shifts("aaa", "ccc"), Some(2));
        assert_eq!(h.shifts("ccc", "aaa"), None);
        assert!(h.fresh.contains("fff"));
        let line = "1:M 22 Nov 2026 01:00:03.000 * Partial resynchronization not accepted: Replication ID mismatch (Replica asked for 'aaa', my replication IDs are 'ddd' and 'ccc')";
        assert_eq!(mismatch_ids(line), Some(("aaa", "ddd", "ccc")));
    }
}
