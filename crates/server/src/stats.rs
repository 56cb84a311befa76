//! Server statistics: INFO stats/commandstats/errorstats counters, instantaneous rates,
//! SLOWLOG and LATENCY records.

use std::collections::{BTreeMap, VecDeque};

use bytes::Bytes;

use crate::util::now_ms;

#[derive(Default, Clone)]
pub struct CmdStat {
    pub calls: u64,
    pub usec: u64,
    pub rejected_calls: u64,
    pub failed_calls: u64,
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
    pub client_query_buffer_limit_disconnections: u64,
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

    pub fn count_error(&mut self, code: &str) {
        self.total_error_replies += 1;
        // Redis caps distinct error codes at 128 to bound memory.
        if self.errors.len() >= 128 && !self.errors.contains_key(code) {
            return;
        }
        *self.errors.entry(code.to_string()).or_insert(0) += 1;
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
            args.push(a.clone());
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
