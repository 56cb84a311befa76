//! FAILOVER (Redis 6.2, Valkey 8): a primary hands its role to one of its replicas without
//! losing a write.
//!
//! The executor pauses writes for as long as a FAILOVER is not [`Failover::Idle`]. While
//! [`Failover::WaitForSync`], every pass asks [`Failover::check`] whether the target (or,
//! without one, any replica) has acknowledged the whole stream; then, or when the timeout
//! passes with FORCE, the node follows the target ([`crate::follower::Follower::failover_to`]),
//! whose answer to `PSYNC … FAILOVER` ends it: accepted ([`Failover::finish`]) or refused
//! ([`Failover::abort`], and the node is a primary again). A timeout without FORCE, or FAILOVER
//! ABORT, aborts it.

use super::*;

/// The state of a FAILOVER on this node.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Failover {
    /// No FAILOVER (INFO `no-failover`).
    #[default]
    Idle,
    /// Writes paused; waiting until the target — or any replica when none was named — has
    /// acknowledged the whole stream, at most until `end_ms` (INFO `waiting-for-sync`).
    WaitForSync {
        target: Option<(String, u16)>,
        end_ms: Option<i64>,
        force: bool,
    },
    /// This node follows the target and asked it `PSYNC … FAILOVER`; its answer ends the
    /// FAILOVER (INFO `failover-in-progress`).
    InProgress { target: (String, u16) },
}

/// FAILOVER's arguments.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FailoverRequest {
    /// TO host port.
    pub target: Option<(String, u16)>,
    /// TIMEOUT ms (> 0).
    pub timeout_ms: Option<i64>,
    pub force: bool,
}

/// What the executor must do next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FailoverStep {
    /// Follow the target with `PSYNC … FAILOVER` ([`crate::follower::Follower::failover_to`]).
    HandOver {
        host: String,
        port: u16,
        log: String,
    },
    /// The FAILOVER is over without a hand-over: resume writes; log the line.
    Aborted { log: String },
}

impl Failover {
    /// INFO `master_failover_state`.
    pub fn info_name(&self) -> &'static str {
        match self {
            Failover::Idle => "no-failover",
            Failover::WaitForSync { .. } => "waiting-for-sync",
            Failover::InProgress { .. } => "failover-in-progress",
        }
    }

    /// Not idle: writes stay paused, REPLICAOF is refused.
    pub fn active(&self) -> bool {
        *self != Failover::Idle
    }

    /// Handed over: the target's answer to `PSYNC … FAILOVER` is awaited.
    pub fn handing_over(&self) -> bool {
        matches!(self, Failover::InProgress { .. })
    }

    /// Waiting for a replica to catch up: nothing is added to the stream meanwhile (no PING,
    /// no GETACK), so that an acknowledged offset can equal ours.
    pub fn waiting(&self) -> bool {
        matches!(self, Failover::WaitForSync { .. })
    }

    /// FAILOVER [TO host port [FORCE]] [TIMEOUT ms], checked in Valkey's order. On success
    /// the log line to write; on refusal the error text.
    pub fn request(
        &mut self,
        req: FailoverRequest,
        primary: &Primary,
        is_replica: bool,
        now_ms: i64,
    ) -> Result<String, &'static str> {
        if self.active() {
            return Err("ERR FAILOVER already in progress.");
        }
        if is_replica {
            return Err("ERR FAILOVER is not valid when server is a replica.");
        }
        if primary.replica_count() == 0 {
            return Err("ERR FAILOVER requires connected replicas.");
        }
        if req.force && (req.timeout_ms.is_none() || req.target.is_none()) {
            return Err(
                "ERR FAILOVER with force option requires both a timeout and target HOST and IP.",
            );
        }
        let log = match &req.target {
            Some((host, port)) => {
                let Some(r) = find(primary, host, *port) else {
                    return Err("ERR FAILOVER target HOST and PORT is not a replica.");
                };
                if !r.state.is_online() {
                    return Err("ERR FAILOVER target replica is not online.");
                }
                format!("FAILOVER requested to {host}:{port}.")
            }
            None => "FAILOVER requested to any replica.".to_string(),
        };
        *self = Failover::WaitForSync {
            target: req.target,
            end_ms: req.timeout_ms.map(|t| now_ms.saturating_add(t)),
            force: req.force,
        };
        Ok(log)
    }

    /// While waiting: the timeout (hand over anyway with FORCE, else abort), or a replica
    /// that acknowledged `offset` (the whole stream) to hand over to.
    pub fn check(&mut self, primary: &Primary, offset: i64, now_ms: i64) -> Option<FailoverStep> {
        let Failover::WaitForSync {
            target,
            end_ms,
            force,
        } = self
        else {
            return None;
        };
        if end_ms.is_some_and(|end| end <= now_ms) {
            return match (target.clone(), *force) {
                (Some((host, port)), true) => {
                    let log = format!("FAILOVER to {host}:{port} time out exceeded, failing over.");
                    *self = Failover::InProgress {
                        target: (host.clone(), port),
                    };
                    Some(FailoverStep::HandOver { host, port, log })
                }
                _ => self.abort("Replica never caught up before timeout"),
            };
        }
        let caught_up = |r: &Replica| r.ack_offset == offset;
        let chosen = match target {
            Some((host, port)) => find(primary, host, *port)
                .filter(|r| caught_up(r))
                .map(|_| (host.clone(), *port)),
            None => primary
                .replicas
                .values()
                .find(|r| caught_up(r))
                .map(|r| (r.ip().to_string(), r.info.listening_port)),
        };
        let (host, port) = chosen?;
        let log = format!("Failover target {host}:{port} is synced, failing over.");
        *self = Failover::InProgress {
            target: (host.clone(), port),
        };
        Some(FailoverStep::HandOver { host, port, log })
    }

    /// The target accepted the hand-over: done.
    pub fn finish(&mut self) {
        *self = Failover::Idle;
    }

    /// Ends a FAILOVER that did not complete (`why` goes into the log line). `None` when
    /// there was none. If it was in progress, the executor also makes the node a primary
    /// again.
    pub fn abort(&mut self, why: &str) -> Option<FailoverStep> {
        let who = match self {
            Failover::Idle => return None,
            Failover::WaitForSync {
                target: Some((host, port)),
                ..
            }
            | Failover::InProgress {
                target: (host, port),
            } => format!("{host}:{port}"),
            Failover::WaitForSync { target: None, .. } => "any replica".to_string(),
        };
        *self = Failover::Idle;
        Some(FailoverStep::Aborted {
            log: format!("FAILOVER to {who} aborted: {why}"),
        })
    }
}

/// The replica at `host:port` (its announced or connection address, its listening port).
fn find<'a>(primary: &'a Primary, host: &str, port: u16) -> Option<&'a Replica> {
    primary
        .replicas
        .values()
        .find(|r| r.info.listening_port == port && r.ip().eq_ignore_ascii_case(host))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn online(t: &mut Primary, hist: &mut History, id: ClientId, port: &str) {
        let a: Vec<&[u8]> = vec![b"listening-port", port.as_bytes()];
        t.on_replconf(id, &a, 0);
        let next = hist.offset() + 1;
        let replid = hist.ids.replid.clone();
        let mut fresh = || "f".repeat(40);
        t.on_psync(
            hist,
            id,
            "10.0.0.9:5000",
            &replid,
            next,
            Upstream::None,
            0,
            &mut fresh,
        );
    }

    fn setup() -> (Primary, History) {
        let mut h = History::new("a".repeat(40), 1 << 20);
        h.ensure_backlog();
        h.append(b"0123456789");
        let p = Primary::new(PrimaryConfig::default(), 0);
        (p, h)
    }

    fn ack(p: &mut Primary, id: ClientId, off: i64) {
        let o = off.to_string();
        let a: Vec<&[u8]> = vec![b"ack", o.as_bytes()];
        p.on_replconf(id, &a, 0);
    }

    #[test]
    fn requests_are_checked_in_valkeys_order() {
        let (mut p, mut h) = setup();
        let mut f = Failover::Idle;
        let req = FailoverRequest::default();
        assert_eq!(
            f.request(req.clone(), &p, false, 0),
            Err("ERR FAILOVER requires connected replicas.")
        );
        assert_eq!(
            f.request(req.clone(), &p, true, 0),
            Err("ERR FAILOVER is not valid when server is a replica.")
        );
        online(&mut p, &mut h, 1, "7001");
        let force = FailoverRequest {
            force: true,
            timeout_ms: Some(100),
            ..Default::default()
        };
        assert!(f
            .request(force, &p, false, 0)
            .is_err_and(|e| e.contains("force option")));
        let wrong = FailoverRequest {
            target: Some(("10.0.0.9".into(), 7002)),
            ..Default::default()
        };
        assert_eq!(
            f.request(wrong, &p, false, 0),
            Err("ERR FAILOVER target HOST and PORT is not a replica.")
        );
        assert_eq!(f, Failover::Idle);
        assert_eq!(
            f.request(req.clone(), &p, false, 0).as_deref(),
            Ok("FAILOVER requested to any replica.")
        );
        assert_eq!(f.info_name(), "waiting-for-sync");
        assert_eq!(
            f.request(req, &p, false, 0),
            Err("ERR FAILOVER already in progress.")
        );
    }

    #[test]
    fn hands_over_to_the_replica_that_acknowledged_everything() {
        let (mut p, mut h) = setup();
        online(&mut p, &mut h, 1, "7001");
        online(&mut p, &mut h, 2, "7002");
        let mut f = Failover::Idle;
        f.request(FailoverRequest::default(), &p, false, 0).unwrap();
        let end = h.offset();
        ack(&mut p, 1, end - 1);
        assert_eq!(f.check(&p, end, 10), None, "nobody caught up");
        ack(&mut p, 2, end);
        let step = f.check(&p, end, 20);
        assert!(matches!(
            step,
            Some(FailoverStep::HandOver { port: 7002, .. })
        ));
        assert_eq!(f.info_name(), "failover-in-progress");
        assert_eq!(f.check(&p, end, 30), None);
        f.finish();
        assert_eq!(f, Failover::Idle);
    }

    #[test]
    fn a_timeout_aborts_or_with_force_hands_over_anyway() {
        let (mut p, mut h) = setup();
        online(&mut p, &mut h, 1, "7001");
        let end = h.offset();
        let to = Some(("10.0.0.9".to_string(), 7001));
        let mut f = Failover::Idle;
        let req = FailoverRequest {
            target: to.clone(),
            timeout_ms: Some(100),
            force: false,
        };
        f.request(req.clone(), &p, false, 0).unwrap();
        assert_eq!(f.check(&p, end, 99), None);
        let step = f.check(&p, end, 100);
        assert!(
            matches!(step, Some(FailoverStep::Aborted { log }) if log == "FAILOVER to 10.0.0.9:7001 aborted: Replica never caught up before timeout")
        );
        assert_eq!(f, Failover::Idle);
        f.request(FailoverRequest { force: true, ..req }, &p, false, 0)
            .unwrap();
        let step = f.check(&p, end, 100);
        assert!(
            matches!(step, Some(FailoverStep::HandOver { log, .. }) if log.ends_with("time out exceeded, failing over."))
        );
        assert!(f.abort("Failover target rejected psync request").is_some());
        assert_eq!(f.abort("again"), None);
    }
}
