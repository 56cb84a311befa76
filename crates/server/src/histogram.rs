//! Per-command latency histograms (LATENCY HISTOGRAM, INFO latencystats), with the bucket
//! layout of the HdrHistogram Valkey records command durations in: values in nanoseconds from
//! 1 to 10^9, two significant decimal digits. That is 256 sub-buckets (the first 256 values
//! exact), each further bucket twice as wide as the one before, 23 buckets in all; a value's
//! slot covers `2^bucket` values. Using the same layout makes the reported bucket bounds and
//! percentiles the ones Valkey would report for the same durations.
//!
//! Pure arithmetic: no clock, no I/O.

/// Smallest and largest recorded values (ns): durations outside are clamped, as Valkey does.
pub const MIN_VALUE: i64 = 1;
pub const MAX_VALUE: i64 = 1_000_000_000;

/// log2 of half the number of sub-buckets (two significant digits need 256 sub-buckets).
const HALF_MAGNITUDE: u32 = 7;
const HALF_COUNT: i64 = 1 << HALF_MAGNITUDE;
const SUB_COUNT: i64 = HALF_COUNT * 2;
/// Buckets needed so that `SUB_COUNT << (BUCKETS - 1)` exceeds [`MAX_VALUE`].
const BUCKETS: i64 = 23;
const SLOTS: usize = ((BUCKETS + 1) * HALF_COUNT) as usize;

/// Counts of recorded values by slot.
#[derive(Clone)]
pub struct Histogram {
    counts: Vec<u64>,
    total: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            counts: vec![0; SLOTS],
            total: 0,
        }
    }
}

fn bucket_of(value: i64) -> u32 {
    let pow2ceiling = 64 - (value as u64 | (SUB_COUNT as u64 - 1)).leading_zeros();
    pow2ceiling - (HALF_MAGNITUDE + 1)
}

fn slot_of(value: i64) -> usize {
    let bucket = bucket_of(value);
    let sub = value >> bucket;
    (((bucket as i64 + 1) << HALF_MAGNITUDE) + (sub - HALF_COUNT)) as usize
}

/// The lowest value of slot `index`.
fn value_at(index: usize) -> i64 {
    let index = index as i64;
    let mut bucket = (index >> HALF_MAGNITUDE) - 1;
    let mut sub = (index & (HALF_COUNT - 1)) + HALF_COUNT;
    if bucket < 0 {
        sub -= HALF_COUNT;
        bucket = 0;
    }
    sub << bucket
}

/// How many values share `value`'s slot.
fn range_size(value: i64) -> i64 {
    let bucket = bucket_of(value);
    let sub = value >> bucket;
    let adjusted = if sub >= SUB_COUNT { bucket + 1 } else { bucket };
    1 << adjusted
}

fn lowest_equivalent(value: i64) -> i64 {
    let bucket = bucket_of(value);
    (value >> bucket) << bucket
}

fn highest_equivalent(value: i64) -> i64 {
    lowest_equivalent(value) + range_size(value) - 1
}

impl Histogram {
    /// Records one duration in nanoseconds (clamped to [`MIN_VALUE`, `MAX_VALUE`]).
    pub fn record(&mut self, ns: i64) {
        let v = ns.clamp(MIN_VALUE, MAX_VALUE);
        if let Some(c) = self.counts.get_mut(slot_of(v)) {
            *c += 1;
            self.total += 1;
        }
    }

    pub fn total(&self) -> u64 {
        self.total
    }

    /// The value (ns) at `percentile` (0..=100): the highest value of the slot that holds
    /// that rank (the lowest, for percentile 0).
    pub fn value_at_percentile(&self, percentile: f64) -> i64 {
        let requested = percentile.min(100.0);
        let rank = ((requested / 100.0) * self.total as f64 + 0.5) as u64;
        let rank = rank.max(1);
        let mut seen = 0;
        let mut value = 0;
        for (i, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                value = value_at(i);
                break;
            }
        }
        if percentile == 0.0 {
            lowest_equivalent(value)
        } else {
            highest_equivalent(value)
        }
    }

    /// The cumulative distribution LATENCY HISTOGRAM replies: at reporting levels 1024 ns,
    /// 2048 ns, ... (powers of two), the highest value (in µs) of the slot reached and the
    /// count of values up to it; levels that add nothing are left out.
    pub fn cumulative_usec(&self) -> Vec<(i64, u64)> {
        let mut out = Vec::new();
        let mut level: i64 = 1024;
        let mut level_lowest = lowest_equivalent(level);
        let mut index: isize = -1;
        let mut value: i64 = 0;
        let mut highest: i64 = 0;
        let mut cumulative: u64 = 0;
        let mut previous: u64 = 0;
        loop {
            let more_values = cumulative < self.total;
            let next_beyond =
                ((index + 1) as usize) < SLOTS && value_at((index + 1) as usize) > level_lowest;
            if !more_values && !next_beyond {
                break;
            }
            // Walk slots until the reporting level is reached (or the slots run out).
            loop {
                if value >= level_lowest {
                    level = level.saturating_mul(2);
                    level_lowest = lowest_equivalent(level);
                    break;
                }
                index += 1;
                let Some(&c) = self.counts.get(index as usize) else {
                    break;
                };
                cumulative += c;
                value = value_at(index as usize);
                highest = highest_equivalent(value);
            }
            if cumulative > previous {
                out.push((highest / 1000, cumulative));
            }
            previous = cumulative;
            if index as usize >= SLOTS {
                break;
            }
        }
        out
    }
}

/// A percentile as INFO names it: `%f` with trailing zeros (and a bare point) removed.
pub fn percentile_label(p: f64) -> String {
    let s = format!("{p:.6}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_matches_two_significant_digits() {
        assert_eq!(SLOTS, 3072);
        assert_eq!(slot_of(0), 0);
        assert_eq!(slot_of(255), 255);
        assert_eq!(value_at(slot_of(1024)), 1024);
        assert_eq!(highest_equivalent(1024), 1031);
        assert_eq!(highest_equivalent(2048), 2063);
        assert_eq!(lowest_equivalent(1_000_000_000), 998_244_352);
        assert!(slot_of(MAX_VALUE) < SLOTS);
    }

    #[test]
    fn cumulative_distribution_reports_power_of_two_levels() {
        let mut h = Histogram::default();
        h.record(5_000);
        assert_eq!(h.cumulative_usec(), vec![(8, 1)]);
        h.record(1_000);
        h.record(300_000);
        assert_eq!(h.cumulative_usec(), vec![(1, 1), (8, 2), (528, 3)]);
    }

    #[test]
    fn percentiles_are_slot_bounds() {
        let mut h = Histogram::default();
        for _ in 0..99 {
            h.record(10_000);
        }
        h.record(1_000_000);
        assert_eq!(h.value_at_percentile(50.0), 10_047);
        assert_eq!(h.value_at_percentile(100.0), 1_003_519);
        assert_eq!(h.value_at_percentile(0.0), 9_984);
        assert_eq!(percentile_label(99.9), "99.9");
        assert_eq!(percentile_label(50.0), "50");
        assert_eq!(percentile_label(0.0), "0");
    }
}
