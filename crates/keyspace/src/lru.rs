//! LRU clock and LFU counters in the 24 bits Redis keeps per object, with Redis's arithmetic so
//! OBJECT IDLETIME / OBJECT FREQ and eviction order behave the same.
//!
//! LRU: seconds clock modulo 2^24. LFU: 16 bits of minutes (last decrement time) and an 8-bit
//! logarithmic counter incremented with probability 1/((counter-5)*lfu_log_factor+1).

use std::cell::Cell;

use crate::obj::Obj;

pub const LRU_CLOCK_MAX: u32 = (1 << 24) - 1;
pub const LFU_INIT_VAL: u32 = 5;

#[derive(Debug)]
pub struct LruState {
    /// Seconds clock (`LRU_CLOCK`), refreshed by the server cron.
    pub clock: u32,
    /// Minutes clock for LFU (`unixtime / 60 & 65535`).
    pub minutes: u32,
    pub lfu: bool,
    pub lfu_log_factor: u32,
    pub lfu_decay_time: u32,
    rng: Cell<u64>,
}

impl Default for LruState {
    fn default() -> Self {
        LruState {
            clock: 0,
            minutes: 0,
            lfu: false,
            lfu_log_factor: 10,
            lfu_decay_time: 1,
            rng: Cell::new(0x9e3779b97f4a7c15),
        }
    }
}

impl LruState {
    /// Advances the clocks from a unix time in ms.
    pub fn update_clock(&mut self, now_ms: i64) {
        self.clock = ((now_ms / 1000) as u64 & LRU_CLOCK_MAX as u64) as u32;
        self.minutes = ((now_ms / 60_000) as u64 & 65535) as u32;
    }

    fn random_unit(&self) -> f64 {
        let mut x = self.rng.get();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng.set(x);
        (x >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Initial LRU/LFU word of a new object.
    pub fn init(&self, obj: &Obj) {
        obj.set_lru(if self.lfu {
            (self.minutes << 8) | LFU_INIT_VAL
        } else {
            self.clock
        });
    }

    pub fn on_access(&self, obj: &Obj) {
        if self.lfu {
            let counter = self.lfu_decayed(obj.lru());
            let counter = self.log_incr(counter);
            obj.set_lru((self.minutes << 8) | counter);
        } else {
            obj.set_lru(self.clock);
        }
    }

    fn log_incr(&self, counter: u32) -> u32 {
        if counter >= 255 {
            return 255;
        }
        let base = counter.saturating_sub(LFU_INIT_VAL) as f64;
        let p = 1.0 / (base * self.lfu_log_factor as f64 + 1.0);
        if self.random_unit() < p {
            counter + 1
        } else {
            counter
        }
    }

    /// The LFU counter after applying decay for the time elapsed (`LFUDecrAndReturn`).
    pub fn lfu_decayed(&self, word: u32) -> u32 {
        let ldt = word >> 8;
        let counter = word & 255;
        let elapsed = if self.minutes >= ldt {
            self.minutes - ldt
        } else {
            65535 - ldt + self.minutes
        };
        let periods = elapsed.checked_div(self.lfu_decay_time).unwrap_or(0);
        counter.saturating_sub(periods)
    }

    /// RESTORE ... IDLETIME / FREQ (Redis's `objectSetLRUOrLFU`): with an LFU policy the
    /// frequency is set (when given), otherwise the access time is set `idle_secs` back.
    pub fn set_idle_or_freq(&self, obj: &Obj, idle_secs: Option<i64>, freq: Option<u8>) {
        if self.lfu {
            if let Some(f) = freq {
                obj.set_lru((self.minutes << 8) | f as u32);
            }
        } else if let Some(idle) = idle_secs {
            let idle = (idle.max(0) as u64 % LRU_CLOCK_MAX as u64) as u32;
            let abs = if idle <= self.clock {
                self.clock - idle
            } else {
                LRU_CLOCK_MAX - (idle - self.clock)
            };
            obj.set_lru(abs);
        }
    }

    /// OBJECT IDLETIME in milliseconds (`estimateObjectIdleTime`).
    pub fn idle_ms(&self, obj: &Obj) -> u64 {
        let lru = obj.lru();
        let secs = if self.clock >= lru {
            self.clock - lru
        } else {
            self.clock + (LRU_CLOCK_MAX - lru)
        };
        secs as u64 * 1000
    }
}
