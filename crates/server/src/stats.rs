//! Server statistics: INFO stats/commandstats/errorstats/latencystats counters, event-loop
//! durations, instantaneous rates, SLOWLOG and LATENCY records.

use std::collections::{BTreeMap, VecDeque};

use bytes::Bytes;

use crate::util::now_ms;

#[derive(Default, Clone)]
pub struct CmdStat {
    pub calls: u64,
    pub usec: u64,
    pub rejected_calls: u64,
    pub failed_calls: u64,
    /// Durations (`latency-tracking`), allocated on the first one.
    pub latency: Option<Box<crate::histogram::Histogram>>,
}

impl CmdStat {
    /// Records one call's duration in the command's latency histogram.
    pub fn record_latency(&mut self, us: u64) {
        let ns = (us as i64).saturating_mul(1000);
        self.latency.get_or_insert_with(Default::default).record(ns);
    }
}

/// Samples kept for an instantaneous metric (Valkey's STATS_METRIC_SAMPLES).
const EL_SAMPLES: usize = 16;

/// One instantaneous metric as Valkey computes it: every 100 ms, the change of a value per
/// change of a base (times a factor); reported as the mean of the last 16 samples.
#[derive(Default, Clone)]
pub struct InstMetric {
    samples: [u64; EL_SAMPLES],
    idx: usize,
    last_base: u64,
    last_value: u64,
}

impl InstMetric {
    fn track(&mut self, value: u64, base: u64, factor: u64) {
        if self.last_base > 0 {
            let db = base.saturating_sub(self.last_base);
            let dv = value.saturating_sub(self.last_value);
            self.samples[self.idx] = (dv * factor).checked_div(db).unwrap_or(0);
            self.idx = (self.idx + 1) % EL_SAMPLES;
        }
        self.last_base = base;
        self.last_value = value;
    }

    pub fn get(&self) -> u64 {
        self.samples.iter().sum::<u64>() / EL_SAMPLES as u64
    }
}

/// Event-loop durations (INFO stats `eventloop_*`, INFO debug), in µs.
#[derive(Default, Clone)]
pub struct EventLoopStats {
    /// Iterations of the loop, from the poll's return to before the next poll.
    pub cycles: u64,
    pub duration_sum_us: u64,
    pub duration_max_us: u64,
    /// Time in top-level commands.
    pub cmd_us: u64,
    /// Time in the cron.
    pub cron_sum_us: u64,
    /// Most commands run in one iteration.
    pub cmd_per_cycle_max: u64,
    pub cycles_per_sec: InstMetric,
    pub duration_per_cycle: InstMetric,
    last_sample_ms: i64,
}

impl EventLoopStats {
    /// One iteration ended: it took `us` and ran `commands`.
    pub fn add_cycle(&mut self, us: u64, cron_us: u64, commands: u64) {
        self.cycles += 1;
        self.duration_sum_us += us;
        self.duration_max_us = self.duration_max_us.max(us);
        self.cron_sum_us += cron_us;
        self.cmd_per_cycle_max = self.cmd_per_cycle_max.max(commands);
    }

    /// The cron's sampling of the instantaneous metrics (every 100 ms at most).
    pub fn sample(&mut self, now_ms: i64, mono_us: u64) {
        if now_ms - self.last_sample_ms < 100 {
            return;
        }
        self.last_sample_ms = now_ms;
        self.cycles_per_sec.track(self.cycles, mono_us, 1_000_000);
        self.duration_per_cycle
            .track(self.duration_sum_us, self.cycles, 1);
    }
}

pub struct SlowEntry {
    pub id: u64,
    pub time: i64,
    pub micros: u64,
    pub args: Vec<Bytes>,
    pub addr: String,
    pub name: Bytes,
}

/// (unix seconds, latency ms) samples of one event.
#[derive(Default)]
pub struct LatencyEvent {
    pub history: VecDeque<(i64, u64)>,
    pub max: u64,
}

const INST_SAMPLES: usize = 16;

/// Distinct error codes tracked before user-chosen ones are counted as overflow.
pub const ERRORSTATS_LIMIT: usize = 128;

/// (time ms, commands, net input, net output, repl input, repl output).
type Sample = (i64, u64, u64, u64, u64, u64);

#[derive(Default)]
pub struct Stats {
    pub total_commands: u64,
    pub total_connections: u64,
    pub rejected_conn: u64,
    pub net_input_bytes: u64,
    pub net_output_bytes: u64,
    pub net_repl_input_bytes: u64,
    pub net_repl_output_bytes: u64,
    /// Per command, indexed by `commands::table::id_of`.
    pub commands: Vec<CmdStat>,
    pub errors: BTreeMap<String, u64>,
    pub total_error_replies: u64,
    pub unexpected_error_replies: u64,
    pub slowlog: VecDeque<SlowEntry>,
    pub slowlog_next_id: u64,
    pub latency: BTreeMap<String, LatencyEvent>,
    pub client_output_buffer_limit_disconnections: u64,
    /// Clients closed by client eviction (`maxmemory-clients`; INFO `evicted_clients`).
    pub evicted_clients: u64,
    /// Client eviction found nothing more to evict while over its limit, and said so.
    pub client_eviction_exhausted: bool,
    pub client_query_buffer_limit_disconnections: u64,
    pub eventloop: EventLoopStats,
    /// ACL denials (INFO `acl_access_denied_*`): failed authentications, commands, keys,
    /// channels.
    pub acl_denied_auth: u64,
    pub acl_denied_cmd: u64,
    pub acl_denied_key: u64,
    pub acl_denied_channel: u64,
    /// Ring buffers for instantaneous_* metrics: (time ms, commands, in bytes, out bytes).
    samples: VecDeque<Sample>,
}

impl Stats {
    pub fn command(&mut self, spec: &'static commands::CommandSpec) -> &mut CmdStat {
        self.command_by_id(commands::table::id_of(spec))
    }

    fn command_by_id(&mut self, id: usize) -> &mut CmdStat {
        if self.commands.len() <= id {
            self.commands
                .resize(commands::table::count().max(id + 1), CmdStat::default());
        }
        &mut self.commands[id]
    }

    /// Stats of a command by full name (errors before a row was resolved use this).
    pub fn command_by_name(&mut self, name: &str) -> &mut CmdStat {
        let id = (0..commands::table::count())
            .find(|&i| commands::table::full_name_by_id(i) == name)
            .unwrap_or(0);
        self.command_by_id(id)
    }

    /// A blocked command ended without running again (its timeout, CLIENT UNBLOCK): it
    /// counts as a call, a failed one when it replied an error (Valkey's
    /// updateStatsOnUnblock). `error_code` is that error's code.
    pub fn unblocked_call(&mut self, argv: &[Bytes], error_code: Option<&str>, latency: bool) {
        self.total_commands += 1;
        if let Ok(spec) = commands::call::resolve(argv) {
            let st = self.command(spec);
            st.calls += 1;
            if error_code.is_some() {
                st.failed_calls += 1;
            }
            if latency {
                st.record_latency(0);
            }
        }
        if let Some(code) = error_code {
            self.count_error(code);
        }
    }

    /// Counts an error reply under its code (INFO errorstats). Every code the server itself
    /// produces is tracked, as in Valkey 8.
    pub fn count_error(&mut self, code: &str) {
        self.total_error_replies += 1;
        *self.errors.entry(code.to_string()).or_insert(0) += 1;
    }

    /// Counts an error whose text a user chose (a script's error reply): past
    /// [`ERRORSTATS_LIMIT`] distinct codes, a new one is counted as `ERRORSTATS_OVERFLOW`, so
    /// scripts cannot grow the table without bound.
    pub fn count_custom_error(&mut self, code: &str) {
        if self.errors.len() >= ERRORSTATS_LIMIT && !self.errors.contains_key(code) {
            self.count_error("ERRORSTATS_OVERFLOW");
        } else {
            self.count_error(code);
        }
    }

    pub fn reset(&mut self) {
        let keep = (self.net_input_bytes, self.net_output_bytes);
        *self = Stats::default();
        let _ = keep;
    }

    /// Records a sample for the instantaneous rates (called by the cron).
    pub fn sample(&mut self, now: i64, input: u64, output: u64) {
        if self.samples.back().is_some_and(|s| now - s.0 < 100) {
            return;
        }
        self.samples.push_back((
            now,
            self.total_commands,
            input,
            output,
            self.net_repl_input_bytes,
            self.net_repl_output_bytes,
        ));
        if self.samples.len() > INST_SAMPLES {
            self.samples.pop_front();
        }
    }

    fn rate(&self, pick: fn(&Sample) -> u64) -> f64 {
        match (self.samples.front(), self.samples.back()) {
            (Some(a), Some(b)) if b.0 > a.0 => {
                (pick(b) - pick(a)) as f64 * 1000.0 / (b.0 - a.0) as f64
            }
            _ => 0.0,
        }
    }

    pub fn ops_per_sec(&self) -> u64 {
        self.rate(|s| s.1) as u64
    }

    pub fn input_kbps(&self) -> f64 {
        self.rate(|s| s.2) / 1024.0
    }

    pub fn output_kbps(&self) -> f64 {
        self.rate(|s| s.3) / 1024.0
    }

    pub fn repl_input_kbps(&self) -> f64 {
        self.rate(|s| s.4) / 1024.0
    }

    pub fn repl_output_kbps(&self) -> f64 {
        self.rate(|s| s.5) / 1024.0
    }
}

/// Adds a SLOWLOG entry if the command took at least `slowlog-log-slower-than` µs.
/// `client` is the caller's (address, name).
pub fn slowlog_maybe_add(
    st: &mut Stats,
    cfg: &crate::config::Config,
    client: Option<(&str, Option<&Bytes>)>,
    argv: &[Bytes],
    micros: u64,
) {
    let threshold = cfg.slowlog_log_slower_than_us;
    let max_len = cfg.slowlog_max_len.max(0) as usize;
    // A zero length disables the log (no entry id is used), as in Valkey.
    if threshold < 0 || max_len == 0 || (micros as i64) < threshold {
        return;
    }
    let (addr, name) = match client {
        Some((a, n)) => (a.to_string(), n.cloned().unwrap_or_default()),
        None => (String::new(), Bytes::new()),
    };
    let mut args: Vec<Bytes> = Vec::new();
    let keep = argv.len().min(32);
    for (i, a) in argv.iter().take(keep).enumerate() {
        if i == 31 && argv.len() > 32 {
            args.push(Bytes::from(format!(
                "... ({} more arguments)",
                argv.len() - 31
            )));
        } else if a.len() > 128 {
            let mut t = a[..128].to_vec();
            t.extend_from_slice(format!("... ({} more bytes)", a.len() - 128).as_bytes());
            args.push(Bytes::from(t));
        } else {
            // A copy: a slice would pin the whole read buffer it came from (a pipelined batch).
            args.push(Bytes::copy_from_slice(a));
        }
    }
    st.slowlog.push_front(SlowEntry {
        id: st.slowlog_next_id,
        time: now_ms() / 1000,
        micros,
        args,
        addr,
        name,
    });
    st.slowlog_next_id += 1;
    while st.slowlog.len() > max_len {
        st.slowlog.pop_back();
    }
}

/// Records a latency event if `ms` is at least `latency-monitor-threshold` (when enabled).
pub fn latency_maybe_add(st: &mut Stats, cfg: &crate::config::Config, event: &str, ms: u64) {
    let threshold = cfg.latency_monitor_threshold_ms;
    if threshold <= 0 || (ms as i64) < threshold {
        return;
    }
    let now = now_ms() / 1000;
    let ev = st.latency.entry(event.to_string()).or_default();
    match ev.history.back_mut() {
        Some(last) if last.0 == now => last.1 = last.1.max(ms),
        _ => ev.history.push_back((now, ms)),
    }
    if ev.history.len() > 160 {
        ev.history.pop_front();
    }
    ev.max = ev.max.max(ms);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn custom_errors_overflow_past_the_limit_but_server_errors_do_not() {
        let mut st = Stats::default();
        for i in 0..ERRORSTATS_LIMIT {
            st.count_custom_error(&format!("E{i}"));
        }
        st.count_custom_error("NEW");
        st.count_custom_error("E1");
        st.count_error("ERR");
        assert_eq!(st.errors.get("ERRORSTATS_OVERFLOW"), Some(&1));
        assert_eq!(st.errors.get("E1"), Some(&2));
        assert_eq!(st.errors.get("ERR"), Some(&1));
        assert!(!st.errors.contains_key("NEW"));
        assert_eq!(st.total_error_replies, ERRORSTATS_LIMIT as u64 + 3);
    }

    #[test]
    fn instantaneous_metric_is_the_mean_of_sixteen_samples() {
        let mut m = InstMetric::default();
        m.track(0, 1_000_000, 1_000_000);
        m.track(10, 2_000_000, 1_000_000);
        assert_eq!(m.get(), 10 / 16);
        for i in 2..20u64 {
            m.track(10 * i, 1_000_000 * (i + 1), 1_000_000);
        }
        assert_eq!(m.get(), 10);
    }
}
