//! Backpressure: how close the fullest replica is to being dropped for its output buffer,
//! and how long a write waits because of it.
//!
//! A replica that cannot keep up with the stream (its snapshot is still being transferred, or
//! it reads slower than writers write) holds more and more of the stream on this primary. Past
//! `client-output-buffer-limit replica` it is dropped and has to start a full sync over — under
//! a heavy writer, forever. Backpressure slows the writers first: the *level* is the fraction of
//! its limit the fullest replica holds, and from [`START_LEVEL`] on every write command waits a
//! delay that grows with the level up to `repl-backpressure-max-delay` (released earlier when
//! the level drops back). Reads never wait. The hard limit still drops a replica that stopped
//! reading for good: writers are slowed, not stopped.
//!
//! The limit a replica is measured against is the tighter of its two: the soft limit (when
//! set), because held past it for its time the replica is dropped too, and the hard limit
//! (never below the backlog size, as Valkey).

use super::*;

/// The level from which writes are delayed.
pub const START_LEVEL: f64 = 0.5;

/// The level under which an episode of backpressure ends (below the start, so that a level
/// that hovers around the start does not begin and end an episode at every pass).
pub const END_LEVEL: f64 = 0.4;

/// The replica closest to its limit.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Pressure {
    pub replica: ClientId,
    /// Bytes of the stream it holds on this primary.
    pub held: u64,
    /// The limit those bytes are measured against.
    pub limit: u64,
}

impl Pressure {
    /// `held / limit`: 0 for nothing held, 1 at the limit.
    pub fn level(&self) -> f64 {
        if self.limit == 0 {
            return 0.0;
        }
        self.held as f64 / self.limit as f64
    }
}

/// How long a write waits at `level`: nothing below [`START_LEVEL`], then linearly up to
/// `max_delay_ms` at the limit (and beyond it).
pub fn write_delay_ms(level: f64, max_delay_ms: u64) -> u64 {
    if level < START_LEVEL || max_delay_ms == 0 {
        return 0;
    }
    let ramp = ((level - START_LEVEL) / (1.0 - START_LEVEL)).clamp(0.0, 1.0);
    // At least 1 ms once the ramp has started: the write waits for the next pass at least.
    ((ramp * max_delay_ms as f64) as u64).max(1)
}

impl Primary {
    /// The limit a replica's held bytes are measured against (0: none).
    pub fn pressure_limit(&self, backlog_size: u64) -> u64 {
        let lim = self.cfg.output_limit;
        let hard = if lim.hard_bytes > 0 {
            lim.hard_bytes.max(backlog_size)
        } else {
            0
        };
        match (hard, lim.soft_bytes) {
            (0, soft) => soft,
            (hard, 0) => hard,
            (hard, soft) => hard.min(soft),
        }
    }

    /// The replica holding the largest share of its limit, if any holds anything and a limit
    /// is set. What a replica holds: while its snapshot runs (or before its first ACK), the
    /// stream pinned for it in the backlog (also while the disk backlog catches it up); once
    /// streaming, what is queued on its connection (`queued`, from the executor).
    ///
    /// A dual-channel snapshot connection does not count: what is pinned for it waits for its
    /// main connection's PSYNC, which a replica sends as soon as the snapshot starts (then
    /// the main connection's queue counts). A main connection that has not come means a
    /// replica that is not syncing: slowing writers would not help it finish, so its pin
    /// grows to the output-buffer limit and it is dropped there, as Valkey does.
    pub fn pressure(&self, hist: &History, queued: impl Fn(ClientId) -> u64) -> Option<Pressure> {
        let limit = self.pressure_limit(hist.backlog_size() as u64);
        if limit == 0 {
            return None;
        }
        let buf = hist.backlog();
        let pinned = |id: ClientId| buf.and_then(|b| b.pinned_bytes(id)).unwrap_or(0);
        let replicas = self
            .replicas
            .iter()
            .filter(|(_, r)| !r.info.rdb_channel)
            .map(|(id, r)| {
                let held = match r.state {
                    ReplicaState::WaitBgsaveStart { .. } => 0,
                    ReplicaState::WaitBgsaveEnd { .. }
                    | ReplicaState::AwaitFirstAck { .. }
                    | ReplicaState::DiskCatchup { .. } => pinned(*id),
                    ReplicaState::Online { .. } | ReplicaState::BgTransfer { .. } => queued(*id),
                };
                (*id, held)
            });
        replicas
            .filter(|(_, held)| *held > 0)
            .max_by_key(|(_, held)| *held)
            .map(|(replica, held)| Pressure {
                replica,
                held,
                limit,
            })
    }

    /// `ip:port` of a replica (its announced port), for logs and INFO; a dual-channel
    /// snapshot connection waiting for its main one is named by its client id.
    pub fn replica_name(&self, id: ClientId) -> String {
        match self.replicas.get(&id) {
            Some(r) => format!("{}:{}", r.ip(), r.info.listening_port),
            None => format!("rdb-client-{id}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_wait_only_from_the_start_level_and_at_most_the_maximum() {
        assert_eq!(write_delay_ms(0.0, 1000), 0);
        assert_eq!(write_delay_ms(0.49, 1000), 0);
        assert_eq!(write_delay_ms(0.5, 1000), 1);
        assert_eq!(write_delay_ms(0.75, 1000), 500);
        assert_eq!(write_delay_ms(1.0, 1000), 1000);
        assert_eq!(write_delay_ms(3.0, 1000), 1000);
        assert_eq!(write_delay_ms(0.9, 0), 0);
    }

    #[test]
    fn the_limit_is_the_tighter_of_soft_and_hard_and_hard_is_never_below_the_backlog() {
        let mut cfg = PrimaryConfig::default();
        let p = Primary::new(cfg.clone(), 0);
        assert_eq!(p.pressure_limit(1 << 20), 64 << 20);
        cfg.output_limit.soft_bytes = 0;
        let p = Primary::new(cfg.clone(), 0);
        assert_eq!(p.pressure_limit(1 << 20), 256 << 20);
        assert_eq!(p.pressure_limit(512 << 20), 512 << 20);
        cfg.output_limit.hard_bytes = 0;
        let p = Primary::new(cfg, 0);
        assert_eq!(p.pressure_limit(1 << 20), 0);
    }

    #[test]
    fn the_level_is_held_over_limit() {
        let p = Pressure {
            replica: 1,
            held: 48,
            limit: 64,
        };
        assert!((p.level() - 0.75).abs() < 1e-9);
        let none = Pressure {
            replica: 1,
            held: 48,
            limit: 0,
        };
        assert_eq!(none.level(), 0.0);
    }
}
