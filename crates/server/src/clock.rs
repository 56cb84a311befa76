//! A cheap clock for the per-command hot path.
//!
//! Every command reads the time twice (its duration, for SLOWLOG/LATENCY/commandstats) and the
//! expiry logic needs "now" in milliseconds. Through the vDSO that is ~9% of the CPU at
//! pipeline 16. Like Redis's `monotonic` module, we read the CPU's time-stamp counter when it
//! is invariant (`constant_tsc` and `nonstop_tsc` in /proc/cpuinfo), scaled by a rate measured
//! against the OS clock at start-up, and fall back to the OS clock otherwise. Wall-clock
//! milliseconds are derived from the counter and re-anchored to the OS clock by the event loop
//! (every cron tick), so a clock step is followed within one tick and drift cannot accumulate.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Per-thread clock; the event loop owns one.
pub struct Clock {
    tsc: Option<Tsc>,
    /// Wall-clock µs and the monotonic µs reading it corresponds to (µs, not ms: two
    /// truncations to ms put `now_ms` up to 2 ms behind the OS clock, and a PTTL read just
    /// after a PXAT could exceed the TTL asked for).
    anchor_wall_us: i64,
    anchor_mono_us: u64,
    start: Instant,
}

#[derive(Clone, Copy)]
struct Tsc {
    base: u64,
    us_per_tick: f64,
}

fn wall_us() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0)
}

#[cfg(target_arch = "x86_64")]
fn rdtsc() -> u64 {
    // SAFETY: RDTSC is available on every x86_64 CPU and has no side effects.
    #[allow(unused_unsafe)]
    unsafe {
        std::arch::x86_64::_rdtsc()
    }
}

#[cfg(target_arch = "x86_64")]
fn invariant_tsc() -> bool {
    let Ok(info) = std::fs::read_to_string("/proc/cpuinfo") else {
        return false;
    };
    info.lines()
        .find(|l| l.starts_with("flags"))
        .is_some_and(|l| {
            let flags: Vec<&str> = l.split_whitespace().collect();
            flags.contains(&"constant_tsc") && flags.contains(&"nonstop_tsc")
        })
}

#[cfg(target_arch = "x86_64")]
fn calibrate() -> Option<Tsc> {
    if std::env::var_os("REDWING_NO_TSC").is_some() || !invariant_tsc() {
        return None;
    }
    let (t0, c0) = (Instant::now(), rdtsc());
    std::thread::sleep(Duration::from_millis(20));
    let (t1, c1) = (Instant::now(), rdtsc());
    let ticks = c1.checked_sub(c0).filter(|&t| t > 0)?;
    let us = (t1 - t0).as_secs_f64() * 1e6;
    Some(Tsc {
        base: c0,
        us_per_tick: us / ticks as f64,
    })
}

#[cfg(not(target_arch = "x86_64"))]
fn calibrate() -> Option<Tsc> {
    None
}

impl Clock {
    /// Measures the counter's rate (about 20 ms) when it can be used.
    pub fn new() -> Clock {
        let tsc = calibrate();
        let mut c = Clock {
            tsc,
            anchor_wall_us: 0,
            anchor_mono_us: 0,
            start: Instant::now(),
        };
        c.anchor();
        c
    }

    /// Microseconds on a monotonic scale (for durations).
    #[inline]
    pub fn mono_us(&self) -> u64 {
        match self.tsc {
            #[cfg(target_arch = "x86_64")]
            Some(t) => (rdtsc().wrapping_sub(t.base) as f64 * t.us_per_tick) as u64,
            _ => self.start.elapsed().as_micros() as u64,
        }
    }

    /// Wall-clock milliseconds since the epoch, as of the last anchor plus monotonic time.
    #[inline]
    pub fn now_ms(&self) -> i64 {
        let since = self.mono_us().saturating_sub(self.anchor_mono_us);
        (self.anchor_wall_us + since as i64) / 1000
    }

    /// Re-reads the OS wall clock (the event loop calls this every cron tick).
    pub fn anchor(&mut self) {
        self.anchor_wall_us = wall_us();
        self.anchor_mono_us = self.mono_us();
    }
}

impl Default for Clock {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tracks_the_os_clocks() {
        let c = Clock::new();
        let (m0, t0) = (c.mono_us(), Instant::now());
        std::thread::sleep(Duration::from_millis(50));
        let (m1, t1) = (c.mono_us(), Instant::now());
        let os_us = (t1 - t0).as_micros() as i64;
        let ours = (m1 - m0) as i64;
        assert!(
            (ours - os_us).abs() < os_us / 10 + 20_000,
            "monotonic µs {ours} vs OS {os_us}"
        );
        let drift = (c.now_ms() - wall_us() / 1000).abs();
        assert!(drift < 100, "wall-clock ms off by {drift}");
    }
}
