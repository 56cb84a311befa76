//! INFO: the sections and field names of Redis 7 (plus Valkey 8's additions where it matters),
//! so monitoring tools, Sentinel and test suites parse us as they parse Redis.

use std::fmt::Write;

use bytes::Bytes;
use resp::Reply;

use crate::exec::evict::used_memory;
use crate::server::Server;
use crate::util::human_bytes;
use crate::util::{now_ms, now_us};

const DEFAULT: &[&str] = &[
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "replication",
    "cpu",
    "modules",
    "errorstats",
    "cluster",
    "keyspace",
];
const ALL_EXTRA: &[&str] = &["commandstats", "latencystats"];
/// Sections only listed explicitly (not in `all` or `everything`).
const EXPLICIT_ONLY: &[&str] = &["debug"];

pub fn info(s: &mut Server, argv: &[Bytes]) -> Reply {
    let mut wanted: Vec<String> = argv[1..]
        .iter()
        .map(|a| String::from_utf8_lossy(a).to_ascii_lowercase())
        .collect();
    if wanted.is_empty() || wanted.iter().any(|w| w == "default") {
        wanted.retain(|w| w != "default");
        wanted.extend(DEFAULT.iter().map(|x| x.to_string()));
    }
    if wanted.iter().any(|w| w == "all" || w == "everything") {
        wanted.extend(DEFAULT.iter().chain(ALL_EXTRA).map(|x| x.to_string()));
    }
    let want = |name: &str| wanted.iter().any(|w| w == name);
    let mut out = String::new();
    type Section = fn(&mut Server, &mut String);
    let order: [(&str, Section); 14] = [
        ("server", server_section),
        ("clients", clients_section),
        ("memory", memory_section),
        ("persistence", persistence_section),
        ("stats", stats_section),
        ("replication", replication_section),
        ("cpu", cpu_section),
        ("modules", modules_section),
        ("commandstats", commandstats_section),
        ("errorstats", errorstats_section),
        ("latencystats", latencystats_section),
        ("cluster", cluster_section),
        ("keyspace", keyspace_section),
        (EXPLICIT_ONLY[0], debug_section),
    ];
    for (name, f) in order {
        if want(name) {
            if !out.is_empty() {
                out.push_str("\r\n");
            }
            f(s, &mut out);
        }
    }
    Reply::Verbatim("txt", Bytes::from(out))
}

macro_rules! field {
    ($out:expr, $($arg:tt)*) => {{
        let _ = write!($out, $($arg)*);
        $out.push_str("\r\n");
    }};
}

fn server_section(s: &mut Server, out: &mut String) {
    let uname = uname();
    let uptime = s.uptime();
    out.push_str("# Server\r\n");
    field!(out, "redis_version:{}", crate::REDIS_VERSION);
    field!(out, "redwing_version:{}", crate::VERSION);
    field!(out, "redis_git_sha1:00000000");
    field!(out, "redis_git_dirty:0");
    field!(out, "redis_build_id:0");
    field!(out, "redis_mode:standalone");
    field!(out, "os:{}", uname);
    field!(out, "arch_bits:64");
    field!(out, "monotonic_clock:POSIX clock_gettime");
    field!(out, "multiplexing_api:epoll");
    field!(out, "atomicvar_api:c11-builtin");
    field!(out, "gcc_version:0.0.0");
    field!(out, "process_id:{}", std::process::id());
    field!(out, "process_supervised:no");
    field!(out, "run_id:{}", s.life.run_id);
    let port = if s.cfg.port != 0 {
        s.cfg.port
    } else {
        s.cfg.tls_port
    };
    field!(out, "tcp_port:{port}");
    field!(out, "server_time_usec:{}", now_us());
    field!(out, "uptime_in_seconds:{uptime}");
    field!(out, "uptime_in_days:{}", uptime / 86400);
    field!(out, "hz:{}", s.life.hz);
    field!(out, "configured_hz:{}", s.cfg.hz);
    field!(out, "lru_clock:{}", s.exec.ks.lru.clock);
    field!(out, "executable:{}", s.life.executable);
    field!(
        out,
        "config_file:{}",
        s.cfg
            .file
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default()
    );
    field!(out, "io_threads_active:0");
    if let Some(ms) = crate::shutdown::remaining_ms(s, crate::util::now_ms()) {
        field!(out, "shutdown_in_milliseconds:{ms}");
    }
}

fn uname() -> String {
    // SAFETY: uname fills a zeroed struct.
    let mut u: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: valid pointer to our struct.
    if unsafe { libc::uname(&mut u) } != 0 {
        return "Linux".into();
    }
    let f = |a: &[libc::c_char]| {
        let bytes: Vec<u8> = a
            .iter()
            .take_while(|&&c| c != 0)
            .map(|&c| c as u8)
            .collect();
        String::from_utf8_lossy(&bytes).into_owned()
    };
    format!("{} {} {}", f(&u.sysname), f(&u.release), f(&u.machine))
}

fn clients_section(s: &mut Server, out: &mut String) {
    let normal = s
        .net
        .clients
        .iter()
        .filter(|(_, c)| !c.is_replica() && !c.is_primary_link())
        .count();
    let max_in = s
        .net
        .clients
        .iter()
        .map(|(_, c)| c.query.capacity())
        .max()
        .unwrap_or(0);
    let max_out = s
        .net
        .clients
        .iter()
        .map(|(_, c)| c.pending_output())
        .max()
        .unwrap_or(0);
    out.push_str("# Clients\r\n");
    field!(out, "connected_clients:{normal}");
    field!(out, "cluster_connections:0");
    field!(out, "maxclients:{}", s.cfg.maxclients);
    field!(out, "client_recent_max_input_buffer:{max_in}");
    field!(out, "client_recent_max_output_buffer:{max_out}");
    field!(out, "blocked_clients:{}", s.exec.blocking.blocked_clients);
    field!(
        out,
        "tracking_clients:{}",
        s.exec.tracking.tracking_clients()
    );
    field!(
        out,
        "pubsub_clients:{}",
        s.net.clients.iter().filter(|(_, c)| c.in_pubsub()).count()
    );
    field!(
        out,
        "watching_clients:{}",
        s.net
            .clients
            .iter()
            .filter(|(_, c)| !c.watched.is_empty())
            .count()
    );
    field!(
        out,
        "clients_in_timeout_table:{}",
        s.exec.blocking.next_deadline_ms().map_or(0, |_| 1)
    );
    field!(out, "total_watched_keys:{}", s.exec.watches.keys());
    field!(
        out,
        "total_blocking_keys:{}",
        s.exec.blocking.blocking_keys()
    );
    field!(
        out,
        "total_blocking_keys_on_nokey:{}",
        s.exec.blocking.blocking_keys_on_nokey()
    );
}

fn jemalloc_stat(name: &str) -> u64 {
    use tikv_jemalloc_ctl::stats;
    let _ = tikv_jemalloc_ctl::epoch::advance();
    match name {
        "active" => stats::active::read().unwrap_or(0) as u64,
        "resident" => stats::resident::read().unwrap_or(0) as u64,
        _ => stats::allocated::read().unwrap_or(0) as u64,
    }
}

fn total_system_memory() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

fn memory_section(s: &mut Server, out: &mut String) {
    let used = used_memory();
    s.stats_peak(used);
    let rss = crate::util::rss_bytes();
    let peak = s.persist_peak();
    let active = jemalloc_stat("active");
    let resident = jemalloc_stat("resident");
    // The backlog beyond its size holds stream for replicas: theirs, as in Valkey.
    let held_for_replicas = s.repl.replica_stream_memory();
    let repl_backlog = s.repl.backlog_memory() as u64 - held_for_replicas;
    let clients_normal: u64 = s
        .net
        .clients
        .iter()
        .filter(|(_, c)| !c.is_replica())
        .map(|(_, c)| c.memory().total as u64)
        .sum();
    let clients_replicas = s.repl.replica_memory(&s.net);
    let sc = s.exec.scripting.counters();
    let scripts_caches = (sc.scripts_eval + sc.functions_caches) as u64;
    let overhead =
        s.startup_memory() + repl_backlog + clients_normal + clients_replicas + scripts_caches;
    let dataset = used.saturating_sub(overhead);
    let maxmemory = s.cfg.maxmemory_bytes;
    let sysmem = total_system_memory();
    out.push_str("# Memory\r\n");
    field!(out, "used_memory:{used}");
    field!(out, "used_memory_human:{}", human_bytes(used));
    field!(out, "used_memory_rss:{rss}");
    field!(out, "used_memory_rss_human:{}", human_bytes(rss));
    field!(out, "used_memory_peak:{peak}");
    field!(out, "used_memory_peak_human:{}", human_bytes(peak));
    field!(
        out,
        "used_memory_peak_perc:{:.2}%",
        if peak > 0 {
            used as f64 * 100.0 / peak as f64
        } else {
            0.0
        }
    );
    field!(out, "used_memory_overhead:{overhead}");
    field!(out, "used_memory_startup:{}", s.startup_memory());
    field!(out, "used_memory_dataset:{dataset}");
    field!(
        out,
        "used_memory_dataset_perc:{:.2}%",
        if used > 0 {
            dataset as f64 * 100.0 / used as f64
        } else {
            0.0
        }
    );
    field!(out, "allocator_allocated:{used}");
    field!(out, "allocator_active:{active}");
    field!(out, "allocator_resident:{resident}");
    field!(out, "total_system_memory:{sysmem}");
    field!(out, "total_system_memory_human:{}", human_bytes(sysmem));
    let vm_total = (sc.vm_eval + sc.vm_functions) as u64;
    field!(out, "used_memory_lua:{}", sc.vm_eval);
    field!(out, "used_memory_vm_eval:{}", sc.vm_eval);
    field!(
        out,
        "used_memory_lua_human:{}",
        human_bytes(sc.vm_eval as u64)
    );
    field!(out, "used_memory_scripts_eval:{}", sc.scripts_eval);
    field!(out, "number_of_cached_scripts:{}", sc.cached_scripts);
    field!(out, "number_of_functions:{}", sc.functions);
    field!(out, "number_of_libraries:{}", sc.libraries);
    field!(out, "used_memory_vm_functions:{}", sc.vm_functions);
    field!(out, "used_memory_vm_total:{vm_total}");
    field!(out, "used_memory_vm_total_human:{}", human_bytes(vm_total));
    field!(out, "used_memory_functions:{}", sc.functions_caches);
    field!(out, "used_memory_scripts:{scripts_caches}");
    field!(
        out,
        "used_memory_scripts_human:{}",
        human_bytes(scripts_caches)
    );
    field!(out, "maxmemory:{maxmemory}");
    field!(out, "maxmemory_human:{}", human_bytes(maxmemory));
    field!(out, "maxmemory_policy:{}", s.cfg.maxmemory_policy.name());
    field!(
        out,
        "allocator_frag_ratio:{:.2}",
        if used > 0 {
            active as f64 / used as f64
        } else {
            1.0
        }
    );
    field!(out, "allocator_frag_bytes:{}", active.saturating_sub(used));
    field!(
        out,
        "allocator_rss_ratio:{:.2}",
        if active > 0 {
            resident as f64 / active as f64
        } else {
            1.0
        }
    );
    field!(
        out,
        "allocator_rss_bytes:{}",
        resident as i64 - active as i64
    );
    field!(
        out,
        "rss_overhead_ratio:{:.2}",
        if resident > 0 {
            rss as f64 / resident as f64
        } else {
            1.0
        }
    );
    field!(out, "rss_overhead_bytes:{}", rss as i64 - resident as i64);
    field!(
        out,
        "mem_fragmentation_ratio:{:.2}",
        if used > 0 {
            rss as f64 / used as f64
        } else {
            1.0
        }
    );
    field!(out, "mem_fragmentation_bytes:{}", rss as i64 - used as i64);
    field!(out, "mem_not_counted_for_evict:{clients_replicas}");
    field!(out, "mem_replication_backlog:{repl_backlog}");
    field!(
        out,
        "mem_total_replication_buffers:{}",
        repl_backlog + clients_replicas
    );
    field!(out, "mem_clients_slaves:{clients_replicas}");
    field!(out, "mem_clients_normal:{clients_normal}");
    field!(out, "mem_cluster_links:0");
    field!(
        out,
        "mem_aof_buffer:{}",
        crate::persist::aof::buffer_memory(s)
    );
    field!(
        out,
        "mem_replicas_repl_buffer:{}",
        s.repl.local_buffer_memory()
    );
    field!(out, "mem_allocator:jemalloc-5.3.0");
    // Extendible hashing never rehashes a whole table: nothing is ever mid-rehash.
    field!(out, "mem_overhead_db_hashtable_rehashing:0");
    field!(out, "active_defrag_running:0");
    field!(
        out,
        "lazyfree_pending_objects:{}",
        keyspace::lazyfree::PENDING.load(std::sync::atomic::Ordering::Relaxed)
    );
    field!(
        out,
        "lazyfreed_objects:{}",
        keyspace::lazyfree::FREED.load(std::sync::atomic::Ordering::Relaxed)
    );
}

fn persistence_section(s: &mut Server, out: &mut String) {
    out.push_str("# Persistence\r\n");
    crate::persist::info_fields(s, out);
}

fn stats_section(s: &mut Server, out: &mut String) {
    let st = &s.stats;
    let ks = &s.exec.ks.stats;
    out.push_str("# Stats\r\n");
    field!(out, "total_connections_received:{}", st.total_connections);
    field!(out, "total_commands_processed:{}", st.total_commands);
    field!(out, "instantaneous_ops_per_sec:{}", st.ops_per_sec());
    field!(out, "total_net_input_bytes:{}", st.net_input_bytes);
    field!(out, "total_net_output_bytes:{}", st.net_output_bytes);
    field!(
        out,
        "total_net_repl_input_bytes:{}",
        st.net_repl_input_bytes
    );
    field!(
        out,
        "total_net_repl_output_bytes:{}",
        st.net_repl_output_bytes
    );
    field!(out, "instantaneous_input_kbps:{:.2}", st.input_kbps());
    field!(out, "instantaneous_output_kbps:{:.2}", st.output_kbps());
    field!(
        out,
        "instantaneous_input_repl_kbps:{:.2}",
        st.repl_input_kbps()
    );
    field!(
        out,
        "instantaneous_output_repl_kbps:{:.2}",
        st.repl_output_kbps()
    );
    field!(out, "rejected_connections:{}", st.rejected_conn);
    let (full, pok, perr) = s.repl.sync_stats();
    field!(out, "sync_full:{full}");
    field!(out, "sync_partial_ok:{pok}");
    field!(out, "sync_partial_err:{perr}");
    // Redwing's: partial resyncs that started from the disk backlog (in sync_partial_ok too).
    field!(
        out,
        "sync_partial_disk:{}",
        s.repl.primary.stats().sync_partial_disk
    );
    field!(out, "expired_keys:{}", ks.expired_keys);
    field!(out, "expired_stale_perc:{:.2}", ks.expired_stale_perc);
    field!(
        out,
        "expired_time_cap_reached_count:{}",
        ks.expired_time_cap_reached_count
    );
    field!(out, "expire_cycle_cpu_milliseconds:0");
    field!(out, "evicted_keys:{}", ks.evicted_keys);
    field!(out, "evicted_clients:{}", s.stats.evicted_clients);
    field!(
        out,
        "evicted_scripts:{}",
        s.exec.scripting.counters().evicted_scripts
    );
    field!(out, "total_eviction_exceeded_time:0");
    field!(out, "current_eviction_exceeded_time:0");
    field!(out, "keyspace_hits:{}", ks.hits);
    field!(out, "keyspace_misses:{}", ks.misses);
    field!(out, "pubsub_channels:{}", s.exec.pubsub.channel_count());
    field!(out, "pubsub_patterns:{}", s.exec.pubsub.pattern_count());
    field!(
        out,
        "pubsubshard_channels:{}",
        s.exec.pubsub.shard_channel_count()
    );
    field!(out, "latest_fork_usec:0");
    field!(out, "total_forks:0");
    field!(out, "migrate_cached_sockets:{}", s.net.migrate.len());
    field!(out, "slave_expires_tracked_keys:0");
    field!(out, "active_defrag_hits:0");
    field!(out, "active_defrag_misses:0");
    field!(out, "active_defrag_key_hits:0");
    field!(out, "active_defrag_key_misses:0");
    field!(out, "total_active_defrag_time:0");
    field!(out, "current_active_defrag_time:0");
    let tr = &s.exec.tracking;
    field!(out, "tracking_total_keys:{}", tr.total_keys());
    field!(out, "tracking_total_items:{}", tr.total_items());
    field!(out, "tracking_total_prefixes:{}", tr.total_prefixes());
    field!(
        out,
        "unexpected_error_replies:{}",
        st.unexpected_error_replies
    );
    field!(out, "total_error_replies:{}", st.total_error_replies);
    field!(out, "dump_payload_sanitizations:0");
    field!(out, "total_reads_processed:{}", st.total_commands);
    field!(out, "total_writes_processed:{}", st.total_commands);
    field!(out, "io_threaded_reads_processed:0");
    field!(out, "io_threaded_writes_processed:0");
    // No I/O threads: nothing is freed, polled or prefetched by them.
    field!(out, "io_threaded_freed_objects:0");
    field!(out, "io_threaded_poll_processed:0");
    field!(out, "io_threaded_total_prefetch_batches:0");
    field!(out, "io_threaded_total_prefetch_entries:0");
    field!(
        out,
        "client_query_buffer_limit_disconnections:{}",
        st.client_query_buffer_limit_disconnections
    );
    field!(
        out,
        "client_output_buffer_limit_disconnections:{}",
        st.client_output_buffer_limit_disconnections
    );
    field!(out, "reply_buffer_shrinks:0");
    field!(out, "reply_buffer_expands:0");
    let el = &st.eventloop;
    field!(out, "eventloop_cycles:{}", el.cycles);
    field!(out, "eventloop_duration_sum:{}", el.duration_sum_us);
    field!(out, "eventloop_duration_cmd_sum:{}", el.cmd_us);
    field!(
        out,
        "instantaneous_eventloop_cycles_per_sec:{}",
        el.cycles_per_sec.get()
    );
    field!(
        out,
        "instantaneous_eventloop_duration_usec:{}",
        el.duration_per_cycle.get()
    );
    field!(out, "acl_access_denied_auth:{}", st.acl_denied_auth);
    field!(out, "acl_access_denied_cmd:{}", st.acl_denied_cmd);
    field!(out, "acl_access_denied_key:{}", st.acl_denied_key);
    field!(out, "acl_access_denied_channel:{}", st.acl_denied_channel);
}

/// Per-command latency percentiles (`latency-tracking`, `latency-tracking-info-percentiles`).
fn latencystats_section(s: &mut Server, out: &mut String) {
    out.push_str("# Latencystats\r\n");
    if !s.cfg.latency_tracking {
        return;
    }
    let percentiles = &s.cfg.latency_tracking_info_percentiles.0;
    let mut rows: Vec<(&'static str, &crate::histogram::Histogram)> = s
        .stats
        .commands
        .iter()
        .enumerate()
        .filter_map(|(id, c)| Some((commands::table::full_name_by_id(id), c.latency.as_deref()?)))
        .collect();
    rows.sort_by_key(|r| r.0);
    for (name, h) in rows {
        let values: Vec<String> = percentiles
            .iter()
            .map(|&p| {
                let us = h.value_at_percentile(p) as f64 / 1000.0;
                format!("p{}={us:.3}", crate::histogram::percentile_label(p))
            })
            .collect();
        field!(out, "latency_percentiles_usec_{name}:{}", values.join(","));
    }
}

/// INFO DEBUG: event-loop details Valkey keeps out of `all`.
fn debug_section(s: &mut Server, out: &mut String) {
    let el = &s.stats.eventloop;
    out.push_str("# Debug\r\n");
    field!(out, "eventloop_duration_aof_sum:0");
    field!(out, "eventloop_duration_cron_sum:{}", el.cron_sum_us);
    field!(out, "eventloop_duration_max:{}", el.duration_max_us);
    field!(out, "eventloop_cmd_per_cycle_max:{}", el.cmd_per_cycle_max);
}

fn replication_section(s: &mut Server, out: &mut String) {
    out.push_str("# Replication\r\n");
    crate::repl::info_fields(s, out);
}

fn cpu_section(_s: &mut Server, out: &mut String) {
    let ru = |who| {
        // SAFETY: getrusage fills a zeroed struct.
        let mut r: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: valid pointer.
        unsafe { libc::getrusage(who, &mut r) };
        r
    };
    let tv = |t: libc::timeval| format!("{}.{:06}", t.tv_sec, t.tv_usec);
    let me = ru(libc::RUSAGE_SELF);
    let ch = ru(libc::RUSAGE_CHILDREN);
    let th = ru(libc::RUSAGE_THREAD);
    out.push_str("# CPU\r\n");
    field!(out, "used_cpu_sys:{}", tv(me.ru_stime));
    field!(out, "used_cpu_user:{}", tv(me.ru_utime));
    field!(out, "used_cpu_sys_children:{}", tv(ch.ru_stime));
    field!(out, "used_cpu_user_children:{}", tv(ch.ru_utime));
    field!(out, "used_cpu_sys_main_thread:{}", tv(th.ru_stime));
    field!(out, "used_cpu_user_main_thread:{}", tv(th.ru_utime));
}

fn modules_section(_s: &mut Server, out: &mut String) {
    out.push_str("# Modules\r\n");
}

fn commandstats_section(s: &mut Server, out: &mut String) {
    out.push_str("# Commandstats\r\n");
    let mut rows: Vec<(&'static str, &crate::stats::CmdStat)> = s
        .stats
        .commands
        .iter()
        .enumerate()
        .map(|(id, c)| (commands::table::full_name_by_id(id), c))
        .collect();
    rows.sort_by_key(|r| r.0);
    for (n, c) in rows {
        if c.calls == 0 && c.failed_calls == 0 && c.rejected_calls == 0 {
            continue;
        }
        let per = if c.calls > 0 {
            c.usec as f64 / c.calls as f64
        } else {
            0.0
        };
        field!(
            out,
            "cmdstat_{n}:calls={},usec={},usec_per_call={per:.2},rejected_calls={},failed_calls={}",
            c.calls,
            c.usec,
            c.rejected_calls,
            c.failed_calls
        );
    }
}

fn errorstats_section(s: &mut Server, out: &mut String) {
    out.push_str("# Errorstats\r\n");
    for (code, n) in &s.stats.errors {
        field!(out, "errorstat_{code}:count={n}");
    }
}

fn cluster_section(_s: &mut Server, out: &mut String) {
    out.push_str("# Cluster\r\n");
    field!(out, "cluster_enabled:0");
}

fn keyspace_section(s: &mut Server, out: &mut String) {
    out.push_str("# Keyspace\r\n");
    for (i, db) in s.exec.ks.dbs().iter().enumerate() {
        if db.is_empty() {
            continue;
        }
        field!(
            out,
            "db{i}:keys={},expires={},avg_ttl={}",
            db.len(),
            db.expires_len(),
            db.avg_ttl_ms
        );
    }
    let _ = now_ms();
}
