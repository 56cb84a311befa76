//! When the stream reached each offset: the figures operators read beside the offsets — how
//! old the data a replica holds is (lag in time that stays meaningful during a full sync, when
//! a replica sends no ACK), how far back in time the backlog reaches, the stream's write rate,
//! and how many seconds of writes the backlog still covers for a replica before a
//! disconnection would force a full sync.
//!
//! [`WriteClock`] keeps samples `(offset, time)` of this node's stream offset, at most one per
//! [`SAMPLE_MS`], in bounded memory: when [`MAX_SAMPLES`] are held, every other sample of the
//! older half is dropped, so recent history stays fine-grained and old history coarser (the
//! error of an age is a fraction of the age, never more than [`SAMPLE_MS`] for recent data).

use std::collections::VecDeque;

/// Smallest spacing of two samples.
pub const SAMPLE_MS: i64 = 100;
/// Samples kept at most (16 bytes each).
pub const MAX_SAMPLES: usize = 4096;
/// Window of [`WriteClock::rate`].
pub const RATE_WINDOW_MS: i64 = 10_000;

/// Samples of the stream offset over time.
#[derive(Clone, Debug, Default)]
pub struct WriteClock {
    /// `(offset, unix ms)`: at that time the offset was that; both increase along the deque.
    samples: VecDeque<(i64, i64)>,
}

impl WriteClock {
    pub fn new() -> WriteClock {
        WriteClock::default()
    }

    /// The stream's offset now (called once per event-loop pass; cheap when nothing moved). An
    /// offset below the last one is a new history (a full sync from another primary): what was
    /// known of the old one is dropped.
    pub fn record(&mut self, offset: i64, now_ms: i64) {
        match self.samples.back().copied() {
            Some((o, _)) if offset < o => self.samples.clear(),
            Some((o, _)) if offset == o => return,
            // Too soon: the next pass records it (an age is then at most one period short).
            Some((_, t)) if now_ms - t < SAMPLE_MS => return,
            _ => {}
        }
        if self.samples.len() >= MAX_SAMPLES {
            self.thin();
        }
        self.samples.push_back((offset, now_ms));
    }

    /// Drops every other sample of the older half.
    fn thin(&mut self) {
        let half = self.samples.len() / 2;
        let mut kept = VecDeque::with_capacity(MAX_SAMPLES);
        for (i, s) in self.samples.drain(..).enumerate() {
            if i >= half || i % 2 == 0 {
                kept.push_back(s);
            }
        }
        self.samples = kept;
    }

    /// How long ago the stream first went past `offset`: the age of the oldest write that a
    /// node holding the data up to `offset` is missing (0 if it misses nothing). If that is
    /// older than what the samples reach, the age of the oldest sample (a lower bound).
    pub fn age_ms(&self, offset: i64, now_ms: i64) -> i64 {
        let Some(&(last, _)) = self.samples.back() else {
            return 0;
        };
        if offset >= last {
            return 0;
        }
        // The first sample beyond `offset`: the write after it happened by that sample's time.
        let i = self.samples.partition_point(|&(o, _)| o <= offset);
        match self.samples.get(i) {
            Some(&(_, t)) => (now_ms - t).max(0),
            None => 0,
        }
    }

    /// Stream bytes per second over the last [`RATE_WINDOW_MS`] (0 without writes).
    pub fn rate(&self, offset_now: i64, now_ms: i64) -> f64 {
        let since = now_ms - RATE_WINDOW_MS;
        // The newest sample at or before the window's start (else the oldest one).
        let i = self.samples.partition_point(|&(_, t)| t <= since);
        let Some(&(o, t)) = self.samples.get(i.saturating_sub(1)) else {
            return 0.0;
        };
        let span = now_ms - t;
        if span <= 0 || offset_now <= o {
            return 0.0;
        }
        (offset_now - o) as f64 * 1000.0 / span as f64
    }

    /// Number of samples held (tests, memory accounting).
    pub fn len(&self) -> usize {
        self.samples.len()
    }

    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }
}

/// Stream bytes that can still be written before a replica holding the data up to
/// `data_offset` could no longer resume from the backlog: what of its future lies in the backlog
/// already, plus the room the backlog has before it starts dropping its oldest bytes. 0 if the
/// byte it needs next has left the backlog (or there is none).
pub fn headroom_bytes(data_offset: i64, window: Option<(i64, i64)>, backlog_size: i64) -> i64 {
    let Some((first, histlen)) = window else {
        return 0;
    };
    let next = data_offset + 1;
    if next < first {
        return 0;
    }
    (next - first) + (backlog_size - histlen).max(0)
}

/// Seconds the headroom lasts at `rate` bytes per second; -1 when nothing is being written
/// (nothing pushes the replica's bytes out).
pub fn headroom_secs(headroom: i64, rate: f64) -> i64 {
    if rate < 1.0 {
        -1
    } else {
        (headroom as f64 / rate) as i64
    }
}

/// Seconds left for a transfer that did `done` of `total` in `elapsed_ms` (-1 if unknown).
pub fn eta_secs(done: u64, total: u64, elapsed_ms: i64) -> i64 {
    if done == 0 || total == 0 || elapsed_ms <= 0 {
        return -1;
    }
    let left = total.saturating_sub(done) as f64;
    (left * elapsed_ms as f64 / done as f64 / 1000.0).ceil() as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn age_is_the_time_since_the_first_missing_write() {
        let mut c = WriteClock::new();
        c.record(100, 1_000);
        c.record(100, 1_500); // nothing moved
        c.record(200, 2_000);
        c.record(300, 3_000);
        assert_eq!(c.len(), 3);
        assert_eq!(c.age_ms(300, 5_000), 0, "nothing missing");
        assert_eq!(c.age_ms(250, 5_000), 2_000, "misses the write seen at 3000");
        assert_eq!(c.age_ms(150, 5_000), 3_000, "misses the write seen at 2000");
        assert_eq!(
            c.age_ms(10, 5_000),
            4_000,
            "older than the samples: a lower bound"
        );
    }

    #[test]
    fn samples_are_spaced_and_bounded() {
        let mut c = WriteClock::new();
        c.record(1, 0);
        c.record(2, 10);
        c.record(3, 20);
        assert_eq!(c.len(), 1, "nothing closer than SAMPLE_MS");
        let mut c = WriteClock::new();
        for i in 0..(MAX_SAMPLES as i64 * 3) {
            c.record(i * 10 + 1, i * SAMPLE_MS);
        }
        assert!(c.len() <= MAX_SAMPLES);
        let now = MAX_SAMPLES as i64 * 3 * SAMPLE_MS;
        // Recent data: within one sample period.
        let recent = (MAX_SAMPLES as i64 * 3 - 10) * 10;
        let age = c.age_ms(recent, now);
        assert!((1_000..=1_100).contains(&age), "recent age {age}");
        // Old data: a coarser but bounded error.
        let old = (MAX_SAMPLES as i64) * 10;
        let age = c.age_ms(old, now);
        let exact = now - (MAX_SAMPLES as i64 + 1) * SAMPLE_MS;
        assert!((age - exact).abs() <= exact / 4, "old age {age} vs {exact}");
    }

    #[test]
    fn a_new_history_starts_over() {
        let mut c = WriteClock::new();
        c.record(1_000, 0);
        c.record(2_000, 1_000);
        c.record(50, 2_000);
        assert_eq!(c.len(), 1);
        assert_eq!(
            c.age_ms(10, 3_000),
            1_000,
            "missing since at least the one sample"
        );
    }

    #[test]
    fn rate_over_the_window() {
        let mut c = WriteClock::new();
        for s in 0..=30 {
            c.record(s * 1_000, s * 1_000);
        }
        let r = c.rate(30_000, 30_000);
        assert!((r - 1_000.0).abs() < 1.0, "rate {r}");
        assert_eq!(WriteClock::new().rate(5, 100), 0.0);
        // Idle since: the rate falls as the window moves past the writes.
        let r = c.rate(30_000, 45_000);
        assert_eq!(r, 0.0);
    }

    #[test]
    fn headroom() {
        // Backlog of 1000 bytes holding offsets 501..=800 (first 501, histlen 300).
        let w = Some((501, 300));
        assert_eq!(headroom_bytes(800, w, 1_000), 300 + 700);
        assert_eq!(
            headroom_bytes(500, w, 1_000),
            700,
            "needs 501: the oldest byte"
        );
        assert_eq!(headroom_bytes(499, w, 1_000), 0, "needs 500: gone");
        assert_eq!(headroom_bytes(800, None, 1_000), 0);
        assert_eq!(headroom_secs(1_000, 100.0), 10);
        assert_eq!(headroom_secs(1_000, 0.0), -1);
        assert_eq!(eta_secs(25, 100, 1_000), 3);
        assert_eq!(eta_secs(0, 100, 1_000), -1);
    }
}
