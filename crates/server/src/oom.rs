//! `oom-score-adj`: how readily the kernel's OOM killer picks this process, by role, written to
//! `/proc/self/oom_score_adj` as Valkey's `setOOMScoreAdj` does. `oom-score-adj-values` gives the
//! primary, replica and background-child values; Redwing has no background child (it never
//! forks), so the third value is kept but never applied.

use crate::config::Config;
use crate::log_warning;

const PROC_FILE: &str = "/proc/self/oom_score_adj";

/// Whether Redwing changed the process's score, and the score it found before.
#[derive(Default)]
pub struct OomState {
    adjusted: bool,
    base: i64,
}

/// Applies the configured score for the node's current role (or restores the score found
/// before, once the setting is turned off). The error is logged; CONFIG SET words its own.
pub fn apply(st: &mut OomState, cfg: &Config) -> Result<(), String> {
    let replica = cfg.replicaof.0.is_some();
    let mode = cfg.oom_score_adj.as_str();
    let values = cfg.oom_score_adj_values.0;
    let val = if mode != "no" {
        if !st.adjusted {
            let text = std::fs::read_to_string(PROC_FILE).map_err(|e| {
                let m = format!("Unable to read oom_score_adj: {e}");
                log_warning!("{m}");
                m
            })?;
            st.base = text.trim().parse().unwrap_or(0);
            st.adjusted = true;
        }
        let mut v = values[usize::from(replica)];
        if mode != "absolute" {
            v += st.base;
        }
        v.clamp(-1000, 1000)
    } else if st.adjusted {
        st.adjusted = false;
        st.base
    } else {
        return Ok(());
    };
    std::fs::write(PROC_FILE, format!("{val}\n")).map_err(|e| {
        let m = format!("Unable to write oom_score_adj: {e}");
        log_warning!("{m}");
        m
    })
}
