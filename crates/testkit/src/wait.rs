//! Bounded polling: tests wait for conditions, never sleep-then-assert.

use std::time::{Duration, Instant};

/// Polls `cond` every 10 ms until it is true; panics with `what` after `timeout`.
pub fn wait_for(what: &str, timeout: Duration, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    let mut delay = Duration::from_millis(2);
    loop {
        if cond() {
            return;
        }
        if start.elapsed() > timeout {
            panic!("timed out after {timeout:?} waiting for: {what}");
        }
        std::thread::sleep(delay);
        delay = (delay * 2).min(Duration::from_millis(50));
    }
}

/// Like [`wait_for`] but returns the value produced once `f` yields `Some`.
pub fn wait_value<T>(what: &str, timeout: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let mut out = None;
    wait_for(what, timeout, || {
        out = f();
        out.is_some()
    });
    match out {
        Some(v) => v,
        None => unreachable!("wait_for returned without a value"),
    }
}
