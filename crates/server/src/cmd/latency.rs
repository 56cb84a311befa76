//! LATENCY: the latency monitor's events (LATEST, HISTORY, RESET, GRAPH, DOCTOR) and the
//! per-command latency histograms (HISTOGRAM), with Valkey 8's reply shapes and report texts
//! (the product name in the prose is ours).
//!
//! The events themselves are recorded by `stats::latency_maybe_add`; the histograms by the
//! core after each call (`latency-tracking`).

use bytes::Bytes;
use commands::errors;
use commands::table;
use resp::Reply;

use super::{arg_lower, help_reply};
use crate::server::Server;
use crate::stats::{CmdStat, LatencyEvent};

/// LATENCY LATEST | HISTORY <event> | RESET [event ...] | GRAPH <event> | DOCTOR |
/// HISTOGRAM [command ...] | HELP
pub fn latency(s: &mut Server, argv: &[Bytes]) -> Reply {
    match arg_lower(argv, 1).as_str() {
        "latest" if argv.len() == 2 => Reply::Array(
            s.stats
                .latency
                .iter()
                .filter_map(|(name, ev)| {
                    let last = ev.history.back()?;
                    Some(Reply::Array(vec![
                        Reply::bulk(name.as_bytes()),
                        Reply::Int(last.0),
                        Reply::Int(last.1 as i64),
                        Reply::Int(ev.max as i64),
                    ]))
                })
                .collect(),
        ),
        "history" if argv.len() == 3 => {
            let name = String::from_utf8_lossy(&argv[2]).into_owned();
            Reply::Array(
                s.stats
                    .latency
                    .get(&name)
                    .map(|ev| {
                        ev.history
                            .iter()
                            .map(|(t, ms)| {
                                Reply::Array(vec![Reply::Int(*t), Reply::Int(*ms as i64)])
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
            )
        }
        "graph" if argv.len() == 3 => {
            let name = String::from_utf8_lossy(&argv[2]).into_owned();
            match s.stats.latency.get(&name) {
                Some(ev) => Reply::Verbatim("txt", Bytes::from(graph(&name, ev))),
                None => errors::latency_no_samples(&argv[2]),
            }
        }
        "doctor" if argv.len() == 2 => Reply::Verbatim("txt", Bytes::from(doctor(s))),
        "reset" => {
            if argv.len() == 2 {
                let n = s.stats.latency.len();
                s.stats.latency.clear();
                return Reply::Int(n as i64);
            }
            let mut n = 0;
            for a in &argv[2..] {
                let name = String::from_utf8_lossy(a).to_ascii_lowercase();
                let before = s.stats.latency.len();
                s.stats
                    .latency
                    .retain(|event, _| event.to_ascii_lowercase() != name);
                n += before - s.stats.latency.len();
            }
            Reply::Int(n as i64)
        }
        "histogram" => histogram(s, &argv[2..]),
        "help" if argv.len() == 2 => help_reply("LATENCY", HELP),
        _ => errors::subcommand_syntax(&argv[0], &argv[1]),
    }
}

const HELP: &[&str] = &[
    "DOCTOR",
    "    Return a human readable latency analysis report.",
    "GRAPH <event>",
    "    Return an ASCII latency graph for the <event> class.",
    "HISTORY <event>",
    "    Return time-latency samples for the <event> class.",
    "LATEST",
    "    Return the latest latency samples for all events.",
    "RESET [<event> ...]",
    "    Reset latency data of one or more <event> classes.",
    "    (default: reset all data for all event classes)",
    "HISTOGRAM [COMMAND ...]",
    "    Return a cumulative distribution of latencies in the format of a histogram for the specified command names.",
    "    If no commands are specified then all histograms are replied.",
];

// --- HISTOGRAM -------------------------------------------------------------------------------

/// `{calls, histogram_usec: {µs: cumulative count}}` for one command.
fn command_cdf(st: &CmdStat) -> Option<Reply> {
    let h = st.latency.as_deref()?;
    let buckets = h
        .cumulative_usec()
        .into_iter()
        .map(|(us, n)| (Reply::Int(us), Reply::Int(n as i64)))
        .collect();
    Some(Reply::Map(vec![
        (Reply::bulk(b"calls"), Reply::Int(h.total() as i64)),
        (Reply::bulk(b"histogram_usec"), Reply::Map(buckets)),
    ]))
}

/// The histograms of every command with data, or of the named ones (a container names its
/// subcommands; unknown names are skipped).
fn histogram(s: &Server, names: &[Bytes]) -> Reply {
    let mut out = Vec::new();
    let mut add = |spec: &'static commands::CommandSpec| {
        let id = table::id_of(spec);
        if let Some(cdf) = s.stats.commands.get(id).and_then(command_cdf) {
            out.push((Reply::bulk(table::full_name_by_id(id).as_bytes()), cdf));
        }
    };
    if names.is_empty() {
        for c in table::all() {
            add(c);
            c.subcommands.iter().for_each(&mut add);
        }
    } else {
        for name in names {
            let text = String::from_utf8_lossy(name).to_ascii_lowercase();
            let spec = match text.split_once('|') {
                Some((parent, sub)) => table::lookup(parent.as_bytes())
                    .and_then(|p| table::lookup_sub(p, sub.as_bytes())),
                None => table::lookup(name),
            };
            if let Some(spec) = spec {
                add(spec);
                spec.subcommands.iter().for_each(&mut add);
            }
        }
    }
    Reply::Map(out)
}

// --- GRAPH -----------------------------------------------------------------------------------

const GRAPH_COLUMNS: usize = 80;
const GRAPH_ROWS: usize = 4;

/// Valkey's sparkline: `rows` rows of `_o#` levels (`|` below the top of a column), then the
/// labels written vertically under their columns after one blank line.
fn sparkline(samples: &[(u64, String)], rows: usize) -> String {
    const FILL: &[u8] = b"_o#";
    let mut out = String::new();
    let (Some(min), Some(max)) = (
        samples.iter().map(|s| s.0).min(),
        samples.iter().map(|s| s.0).max(),
    ) else {
        return out;
    };
    let relmax = match max - min {
        0 => 1.0,
        r => r as f64,
    };
    let steps = FILL.len() * rows;
    for (chunk_no, chunk) in samples.chunks(GRAPH_COLUMNS).enumerate() {
        if chunk_no > 0 {
            out.push('\n');
        }
        let step_of = |v: u64| {
            let relval = (v - min) as f64;
            let step = ((relval * steps as f64) as i64) as f64 / relmax;
            (step as usize).min(steps - 1)
        };
        for row in 0..rows {
            let line: String = chunk
                .iter()
                .map(|(v, _)| {
                    let idx = step_of(*v) as i64 - ((rows - row - 1) * FILL.len()) as i64;
                    match idx {
                        i if i >= FILL.len() as i64 => '|',
                        i if i >= 0 => FILL[i as usize] as char,
                        _ => ' ',
                    }
                })
                .collect();
            out.push_str(&line);
            out.push('\n');
        }
        out.push_str(&" ".repeat(chunk.len()));
        out.push('\n');
        let longest = chunk.iter().map(|(_, l)| l.len()).max().unwrap_or(0);
        for i in 0..longest {
            let line: String = chunk
                .iter()
                .map(|(_, l)| l.as_bytes().get(i).map_or(' ', |&b| b as char))
                .collect();
            out.push_str(&line);
            out.push('\n');
        }
    }
    out
}

fn graph(name: &str, ev: &LatencyEvent) -> String {
    let now = crate::util::now_ms() / 1000;
    let samples: Vec<(u64, String)> = ev
        .history
        .iter()
        .map(|&(t, ms)| {
            let elapsed = now - t;
            let label = match elapsed {
                e if e < 60 => format!("{e}s"),
                e if e < 3600 => format!("{}m", e / 60),
                e if e < 86400 => format!("{}h", e / 3600),
                e => format!("{}d", e / 86400),
            };
            (ms, label)
        })
        .collect();
    let high = samples.iter().map(|s| s.0).max().unwrap_or(0);
    let low = samples.iter().map(|s| s.0).min().unwrap_or(0);
    let mut out = format!(
        "{name} - high {high} ms, low {low} ms (all time high {} ms)\n",
        ev.max
    );
    out.push_str(&"-".repeat(GRAPH_COLUMNS));
    out.push('\n');
    out.push_str(&sparkline(&samples, GRAPH_ROWS));
    out
}

// --- DOCTOR ----------------------------------------------------------------------------------

/// Samples, average, mean deviation and period of an event (Valkey's analyzeLatencyForEvent).
struct EventStats {
    samples: u64,
    avg: u64,
    mad: u64,
    period: i64,
}

fn analyze(ev: &LatencyEvent, now: i64) -> EventStats {
    let n = ev.history.len() as u64;
    if n == 0 {
        return EventStats {
            samples: 0,
            avg: 0,
            mad: 0,
            period: 0,
        };
    }
    let avg = ev.history.iter().map(|s| s.1).sum::<u64>() / n;
    let mad = ev
        .history
        .iter()
        .map(|s| (avg as i64 - s.1 as i64).unsigned_abs())
        .sum::<u64>()
        / n;
    let oldest = ev.history.iter().map(|s| s.0).min().unwrap_or(now);
    let period = match now - oldest {
        0 => 1,
        p => p,
    };
    EventStats {
        samples: n,
        avg,
        mad,
        period,
    }
}

/// Transparent huge pages in use by this process (a latency hazard the report mentions).
fn anon_huge_pages() -> bool {
    std::fs::read_to_string("/proc/self/smaps_rollup")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("AnonHugePages:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .is_some_and(|kb| kb > 0)
}

/// Advice the report can give, in the order it gives it.
#[derive(Default)]
struct Advice {
    slowlog_enabled: bool,
    slowlog_tuning: bool,
    slowlog_inspect: bool,
    scheduler: bool,
    hz: bool,
    large_objects: bool,
    mass_eviction: bool,
    disable_thp: bool,
}

fn doctor(s: &Server) -> String {
    let threshold = s.cfg.latency_monitor_threshold_ms;
    if s.stats.latency.is_empty() && threshold == 0 {
        return "I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this Redwing instance. You may use \"CONFIG SET latency-monitor-threshold <milliseconds>.\" in order to enable it.\n".to_string();
    }
    let now = crate::util::now_ms() / 1000;
    let mut report = String::new();
    let mut advice = Advice::default();
    let mut advices = 0;
    for (n, (event, ev)) in s.stats.latency.iter().enumerate() {
        if n == 0 {
            report.push_str("Latency spikes are observed in this Redwing instance.\n\n");
        }
        let st = analyze(ev, now);
        report.push_str(&format!(
            "{}. {}: {} latency spikes (average {}ms, mean deviation {}ms, period {:.2} sec). Worst all time event {}ms.",
            n + 1,
            event,
            st.samples,
            st.avg,
            st.mad,
            st.period as f64 / st.samples.max(1) as f64,
            ev.max
        ));
        match event.to_ascii_lowercase().as_str() {
            "command" => {
                let slower = s.cfg.slowlog_log_slower_than_us;
                if slower < 0 || s.cfg.slowlog_max_len == 0 {
                    advice.slowlog_enabled = true;
                    advices += 1;
                } else if slower / 1000 > threshold {
                    advice.slowlog_tuning = true;
                    advices += 1;
                }
                advice.slowlog_inspect = true;
                advice.large_objects = true;
                advices += 2;
            }
            "fast-command" => {
                advice.scheduler = true;
                advices += 1;
            }
            "expire-cycle" => {
                advice.hz = true;
                advice.large_objects = true;
                advices += 2;
            }
            "eviction-del" => {
                advice.large_objects = true;
                advices += 1;
            }
            "eviction-cycle" => {
                advice.mass_eviction = true;
                advices += 1;
            }
            _ => {}
        }
        report.push('\n');
    }
    if anon_huge_pages() {
        advice.disable_thp = true;
        advices += 1;
    }
    let events = s.stats.latency.len();
    if events == 0 && advices == 0 {
        report.push_str("No latency spike was observed during the lifetime of this Redwing instance, not in the slightest bit.\n");
    } else if events > 0 && advices == 0 {
        report.push_str("\nThere are latency events logged that are not easy to fix. Please get some help from Redwing community, providing this report in your help request.\n");
    } else {
        report.push_str("\nHere is some advice for you:\n\n");
        advice_text(s, &advice, &mut report);
    }
    report
}

fn advice_text(s: &Server, a: &Advice, report: &mut String) {
    let threshold_us = s.cfg.latency_monitor_threshold_ms.max(0) * 1000;
    if a.slowlog_enabled {
        report.push_str(&format!("- There are latency issues with potentially slow commands you are using. Try to enable the Slow Log Redwing feature using the command 'CONFIG SET slowlog-log-slower-than {threshold_us}'. If the Slow log is disabled Redwing is not able to log slow commands execution for you.\n"));
    }
    if a.slowlog_tuning {
        report.push_str(&format!("- Your current Slow Log configuration only logs events that are slower than your configured latency monitor threshold. Please use 'CONFIG SET slowlog-log-slower-than {threshold_us}'.\n"));
    }
    if a.slowlog_inspect {
        report.push_str("- Check your Slow Log to understand what are the commands you are running which are too slow to execute. Please check https://valkey.io/commands/slowlog for more information.\n");
    }
    if a.scheduler {
        report.push_str("- The system is slow to execute Redwing code paths not containing system calls. This usually means the system does not provide Redwing CPU time to run for long periods. You should try to:\n  1) Lower the system load.\n  2) Use a computer / VM just for Redwing if you are running other software in the same system.\n  3) Check if you have a \"noisy neighbour\" problem.\n  4) Check with 'valkey-cli --intrinsic-latency 100' what is the intrinsic latency in your system.\n");
    }
    if a.hz && s.cfg.hz < 100 {
        report.push_str("- In order to make the Redwing keys expiring process more incremental, try to set the 'hz' configuration parameter to 100 using 'CONFIG SET hz 100'.\n");
    }
    if a.large_objects {
        report.push_str("- Deleting, expiring or evicting (because of maxmemory policy) large objects is a blocking operation. If you have very large objects that are often deleted, expired, or evicted, try to fragment those objects into multiple smaller objects.\n");
    }
    if a.mass_eviction {
        report.push_str("- Sudden changes to the 'maxmemory' setting via 'CONFIG SET', or allocation of large objects via sets or sorted sets intersections, STORE option of SORT, RESTORE of large keys, may create sudden memory pressure forcing the server to block trying to evict keys. \n");
    }
    if a.disable_thp {
        report.push_str("- I detected a non zero amount of anonymous huge pages used by your process. This creates very serious latency events in different conditions, especially when Redwing is persisting on disk. To disable THP support use the command 'echo never > /sys/kernel/mm/transparent_hugepage/enabled', make sure to also add it into /etc/rc.local so that the command will be executed again after a reboot. Note that even if you have already disabled THP, you still need to restart the Redwing process to get rid of the huge pages already created.\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparkline_levels_and_vertical_labels() {
        let samples = vec![(300, "2s".to_string()), (500, "1s".to_string())];
        let out = sparkline(&samples, 4);
        let lines: Vec<&str> = out.lines().collect();
        // The highest sample fills its column to the top; the lowest sits at the bottom.
        assert_eq!(lines[0], " #");
        assert_eq!(lines[1], " |");
        assert_eq!(lines[3], "_|");
        assert_eq!(lines[4], "  ");
        assert_eq!(lines[5], "21");
        assert_eq!(lines[6], "ss");
    }
}
