//! The primary's clock and its loop pass: streaming to replicas before the executor sleeps,
//! and once a second keepalives, PINGs, timeouts, good replicas, output limits, the
//! dual-channel grace period and the backlog TTL.

use super::*;

impl Primary {
    /// Before the executor sleeps: a requested GETACK goes into the stream (top primary
    /// only), then every streaming replica gets the bytes it has not been sent. A replica
    /// whose next byte left the backlog is closed.
    ///
    /// `queued` tells how many bytes wait on a replica's connection (from the executor): the
    /// backlog keeps the stream from the first of them on, as Valkey's shared replication
    /// buffer does — the blocks a slow replica still has to send are held once, count as
    /// the backlog's (`repl_backlog_histlen` grows past `repl-backlog-size`), and another
    /// replica's PSYNC can be served from them.
    pub fn flush(
        &mut self,
        hist: &mut History,
        upstream: Upstream,
        now_ms: i64,
        queued: impl Fn(ClientId) -> u64,
    ) -> Vec<Action> {
        let mut out = Vec::new();
        // While quiet, a GETACK asked for waits until writes resume.
        if !self.quiet {
            if self.getack_requested && upstream == Upstream::None && !self.replicas.is_empty() {
                hist.feed(None, &["REPLCONF", "GETACK", "*"]);
            }
            self.getack_requested = false;
        }
        let end = hist.offset();
        let mut behind = Vec::new();
        for (id, r) in self.replicas.iter_mut() {
            let Some(next) = r.state.streaming_from() else {
                continue;
            };
            assert!(next <= end + 1, "a replica is never ahead of the stream");
            // The replica's queue holds the stream before `next` (and, right after its sync,
            // a few bytes of reply: then a little more is kept than needed).
            let waiting = queued(*id);
            let unsent_from = next.saturating_sub(waiting.min(i64::MAX as u64) as i64);
            // A replica still sending what it was given gets whole blocks only: its queue then
            // holds one reference per 16 KiB block, not one piece per loop pass, and the rest
            // waits in the backlog (pinned) until it drains.
            let upto = match hist.sealed_end() {
                Some(sealed) if waiting > 0 => sealed.min(end + 1).max(next),
                _ => end + 1,
            };
            if next == upto {
                if let Some(b) = hist.backlog_mut() {
                    b.pin(*id, unsent_from);
                }
                continue;
            }
            match hist.chunks_from(next) {
                Some(mut chunks) => {
                    if upto <= end {
                        // Drop the piece of the block being filled (always the last chunk).
                        let keep = (upto - next) as usize;
                        let mut total = 0;
                        chunks.retain(|c| {
                            let take = total < keep;
                            total += c.len();
                            take
                        });
                    }
                    out.push(Action::Stream {
                        client: *id,
                        chunks,
                    });
                    r.state = match r.state {
                        ReplicaState::BgTransfer { .. } => {
                            ReplicaState::BgTransfer { next_offset: upto }
                        }
                        _ => ReplicaState::Online { next_offset: upto },
                    };
                    if let Some(b) = hist.backlog_mut() {
                        b.pin(*id, unsent_from);
                    }
                }
                None => behind.push(*id),
            }
        }
        for id in behind {
            if let Some(r) = self.replicas.get(&id) {
                let text = format!(
                    "Replica {} fell behind the backlog; disconnecting it.",
                    r.addr
                );
                log(&mut out, LogLevel::Warning, text);
            }
            self.forget(hist, id, now_ms, CloseReason::FellBehind, &mut out);
        }
        out
    }

    /// The clock: snapshots that are due start at any call; once a second, keepalive
    /// newlines to replicas waiting for a snapshot, the PING every
    /// `repl-ping-replica-period` seconds (top primary with replicas), timeouts, good
    /// replicas, output limits, the dual-channel grace period and the backlog TTL.
    pub fn on_tick(
        &mut self,
        hist: &mut History,
        upstream: Upstream,
        now_ms: i64,
        new_id: &mut dyn FnMut() -> String,
    ) -> Vec<Action> {
        let mut out = Vec::new();
        self.schedule(hist, now_ms, &mut out);
        self.attach_waiting_psync(hist, &mut out);
        if now_ms < self.next_cron_ms {
            return out;
        }
        self.next_cron_ms = now_ms + 1000;
        for (id, r) in &self.replicas {
            if matches!(r.state, ReplicaState::WaitBgsaveStart { .. }) {
                out.push(Action::Send {
                    client: *id,
                    bytes: b"\n".to_vec(),
                });
            }
        }
        let tick = self.cron_secs;
        self.cron_secs += 1;
        let period = self.cfg.ping_period_secs.max(1);
        // Valkey pings at its cron loops 0, period, 2 x period, ...; its loop 0 runs at start-up,
        // before any replica, where this one runs a second later: from tick 1 on, so that a
        // replica attached in the first second does not see a PING that Valkey never sends.
        if upstream == Upstream::None
            && !self.quiet
            && !self.replicas.is_empty()
            && tick > 0
            && tick.is_multiple_of(period)
        {
            hist.feed(None, &["ping"]);
        }
        self.timeouts(hist, now_ms, &mut out);
        self.refresh_good_replicas(now_ms);
        self.output_limits(hist, now_ms, &mut out);
        self.expire_waiting_psync(hist, now_ms, &mut out);
        self.backlog_ttl(hist, upstream, now_ms, new_id, &mut out);
        out
    }

    pub(super) fn timeouts(&mut self, hist: &mut History, now_ms: i64, out: &mut Out) {
        let timed_out: Vec<ClientId> = self
            .replicas
            .iter()
            .filter(|(_, r)| {
                r.state.is_online() && !r.pre_psync && now_ms - r.ack_time_ms > self.cfg.timeout_ms
            })
            .map(|(id, _)| *id)
            .collect();
        for id in timed_out {
            if let Some(r) = self.replicas.get(&id) {
                let text = format!(
                    "Disconnecting timedout replica (streaming sync): {}",
                    r.addr
                );
                log(out, LogLevel::Warning, text);
            }
            self.forget(hist, id, now_ms, CloseReason::Timeout, out);
        }
    }

    /// Redis's `refreshGoodReplicasCount`: online replicas whose last ACK is within
    /// `min-replicas-max-lag`.
    pub(super) fn refresh_good_replicas(&mut self, now_ms: i64) {
        let max_lag = self.cfg.min_replicas_max_lag_ms;
        self.good_replicas = self
            .replicas
            .values()
            .filter(|r| r.state.is_online() && now_ms - r.ack_time_ms <= max_lag)
            .count();
    }

    /// What a replica in a snapshot, or waiting for its first ACK, holds in the backlog
    /// counts against `client-output-buffer-limit replica` like an output buffer (the hard
    /// limit never below the backlog size, as Redis); past it, it is dropped. A closed
    /// dual-channel snapshot connection whose pin grew past the hard limit releases it.
    pub(super) fn output_limits(&mut self, hist: &mut History, now_ms: i64, out: &mut Out) {
        let lim = self.cfg.output_limit;
        let hard = if lim.hard_bytes > 0 {
            lim.hard_bytes.max(hist.backlog_size() as u64)
        } else {
            0
        };
        let Some(buf) = hist.backlog() else {
            return;
        };
        let mut over = Vec::new();
        for (id, r) in self.replicas.iter_mut() {
            let holding = matches!(
                r.state,
                ReplicaState::WaitBgsaveEnd { .. }
                    | ReplicaState::AwaitFirstAck { .. }
                    | ReplicaState::DiskCatchup { .. }
            );
            let Some(held) = buf.pinned_bytes(*id).filter(|_| holding) else {
                r.soft_limit_since_ms = None;
                continue;
            };
            if over_limit(held, lim, hard, &mut r.soft_limit_since_ms, now_ms) {
                over.push(*id);
            }
        }
        let end = buf.end();
        let stale: Vec<ClientId> = self
            .waiting_psync
            .iter()
            .filter(|(_, w)| {
                w.closed_at_ms.is_some() && hard > 0 && (end - w.offset).max(0) as u64 > hard
            })
            .map(|(id, _)| *id)
            .collect();
        for id in stale {
            log(out, LogLevel::Warning, format!("Client rdb-client-{id} closed asynchronously for overcoming of output buffer limits."));
            log(out, LogLevel::Warning, format!("RDB client {id} pins more backlog than the replica output buffer limit allows; releasing it."));
            self.drop_waiting_psync(hist, id);
        }
        for id in over {
            if let Some(r) = self.replicas.get(&id) {
                let text = format!(
                    "Client {} closed asynchronously for overcoming of output buffer limits.",
                    r.addr
                );
                log(out, LogLevel::Warning, text);
            }
            self.drop_waiting_psync(hist, id);
            self.forget(hist, id, now_ms, CloseReason::OutputLimit, out);
        }
    }

    /// Snapshot connections that started on an empty backlog: once the stream has grown past
    /// their snapshot, the backlog holds their first byte (logged as Valkey does).
    fn attach_waiting_psync(&mut self, hist: &History, out: &mut Out) {
        let end = hist.offset();
        for (id, w) in self.waiting_psync.iter_mut() {
            if !w.tracking && end > w.offset {
                w.tracking = true;
                log(
                    out,
                    LogLevel::Notice,
                    format!("Attach replica rdb client {id} to repl buf block"),
                );
            }
        }
    }

    pub(super) fn expire_waiting_psync(&mut self, hist: &mut History, now_ms: i64, out: &mut Out) {
        let grace = self.cfg.rdb_client_grace_ms;
        let expired: Vec<ClientId> = self
            .waiting_psync
            .iter()
            .filter(|(_, w)| w.closed_at_ms.is_some_and(|t| now_ms - t >= grace))
            .map(|(id, _)| *id)
            .collect();
        for id in expired {
            log(out, LogLevel::Warning, format!("Replica main channel failed to establish PSYNC within the grace period ({} seconds). Freeing RDB client {id}.", grace / 1000));
            self.drop_waiting_psync(hist, id);
        }
    }

    /// A top primary without replicas for `repl-backlog-ttl` frees its backlog and starts a
    /// new history (so a stale secondary id is never accepted later).
    pub(super) fn backlog_ttl(
        &mut self,
        hist: &mut History,
        upstream: Upstream,
        now_ms: i64,
        new_id: &mut dyn FnMut() -> String,
        out: &mut Out,
    ) {
        let ttl = self.cfg.backlog_ttl_ms;
        if upstream != Upstream::None
            || hist.backlog().is_none()
            || !self.replicas.is_empty()
            || !self.waiting_psync.is_empty()
            || ttl == 0
            || now_ms - self.no_replicas_since_ms <= ttl
        {
            return;
        }
        hist.free_backlog();
        hist.reset(new_id());
        let text = format!(
            "Replication backlog freed after {} seconds without connected replicas.",
            ttl / 1000
        );
        log(out, LogLevel::Notice, text);
    }
}

/// The output-buffer rule: at or past the hard limit, or past the soft one for longer than
/// its time (the soft timer starts the first time it is seen over, and resets under it).
pub fn over_limit(
    held: u64,
    lim: OutputLimit,
    hard: u64,
    soft_since_ms: &mut Option<i64>,
    now_ms: i64,
) -> bool {
    let soft_hit = lim.soft_bytes > 0 && held >= lim.soft_bytes;
    if !soft_hit {
        *soft_since_ms = None;
    }
    let soft_expired = soft_hit && now_ms - *soft_since_ms.get_or_insert(now_ms) > lim.soft_ms;
    (hard > 0 && held >= hard) || soft_expired
}
