//! Every configuration parameter, declared once: its field in [`Config`] (the typed value the
//! server reads, unit in the name), its name and aliases as Redis/Valkey spell them, its kind
//! (validation and canonical text), default, flags, and what applying a change does. The
//! config-file parser, CONFIG GET/SET/REWRITE and start-up validation all derive from this table.
//!
//! The table is Valkey 8.0.1's (`src/config.c`), so every directive a Valkey configuration or
//! test can use is accepted. Parameters Redwing has no use for are [`Apply::Inert`]: accepted,
//! validated, kept for CONFIG GET/REWRITE, and listed in the README. Values Redwing cannot honour
//! (`cluster-enabled yes`) are refused with a reason by the parameter's `valid` check, never
//! silently ignored.
//!
//! Defaults follow Valkey 8 where Valkey 8 and Redis 7.0 differ (repl-backlog-size, the lazyfree
//! family); the README lists these differences.

use super::value::{
    AppendFsync, BindAddrs, DisklessLoad, Kind, LogLevel, MaxmemoryPolicy, MemOrPercent,
    NotifyFlags, Octal, OomScoreAdjValues, OutputLimits, Percentiles, PropagationErrorBehavior,
    ProtectedAction, ReplicaOf, SanitizeDumpPayload, SavePoints, ShutdownFlags, Special, Typed,
};

/// Set only at start-up (CONFIG SET refuses it).
pub const IMMUTABLE: u8 = 1;
/// Its value is a secret: redacted from logs (and from CONFIG REWRITE comments).
pub const SENSITIVE: u8 = 2;
/// Not matched by CONFIG GET patterns, not written by CONFIG REWRITE (test knobs).
pub const HIDDEN: u8 = 4;
/// Settable only when `enable-protected-configs` allows it.
pub const PROTECTED: u8 = 8;
/// Takes several arguments (`save 900 1 300 10`, `bind a b`).
pub const MULTI_ARG: u8 = 16;
/// Refused while a dataset is loading.
pub const DENY_LOADING: u8 = 32;
/// Useful for debugging (Valkey's DEBUG_CONFIG; informational).
pub const DEBUG: u8 = 64;
/// Applied even when set to its current value (a file name whose content changed).
pub const VOLATILE: u8 = 128;

/// What changing a parameter does, besides storing its value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Apply {
    /// Nothing more: the server reads the field where it is used.
    Read,
    /// Accepted, validated and kept for CONFIG GET/REWRITE; Redwing does not act on it (the
    /// README lists these; a test checks the list against this table).
    Inert,
    /// Runtime state derived from the configuration is rebuilt (command settings, encoding
    /// limits, LRU/LFU parameters, cron frequency, log level).
    Derived,
    /// The listening sockets are re-opened.
    Listeners,
    /// Keys are evicted down to the new limit.
    Maxmemory,
    /// Replication is reconfigured: the replication machines get their new parameters (and
    /// the backlog its size); the server still reads the field where it uses it.
    Replication,
    /// The working directory changes.
    Dir,
    /// The default ACL user's password follows `requirepass` (Valkey's `updateRequirePass`).
    DefaultPassword,
    /// The append-only file is turned on (a first rewrite) or off, or its history cleaned.
    Aof,
    /// The process's `/proc/self/oom_score_adj` is rewritten (`oom-score-adj`).
    Oom,
    /// The TLS contexts are rebuilt from the `tls-*` parameters (refused, keeping the old
    /// contexts, if they do not load).
    Tls,
}

/// A parameter's own validation of a canonical value: the reason it is refused.
pub type Check = fn(&str) -> Result<(), String>;

/// One parameter's declaration.
pub struct Param {
    pub name: &'static str,
    pub aliases: &'static [&'static str],
    pub kind: Kind,
    /// Canonical default text (what CONFIG GET prints for a fresh server).
    pub default: &'static str,
    pub flags: u8,
    pub apply: Apply,
    /// Extra validation of a canonical value (Valkey's `is_valid_fn`, and Redwing's refusals
    /// of values it cannot honour).
    pub valid: Option<Check>,
    /// The current value's canonical text.
    pub get: fn(&Config) -> String,
    /// Stores validated canonical text into the typed field.
    pub put: fn(&mut Config, &str),
}

impl std::fmt::Debug for Param {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Param").field("name", &self.name).finish()
    }
}

impl Param {
    pub fn has(&self, flag: u8) -> bool {
        self.flags & flag != 0
    }

    /// Validates arguments: the kind's syntax, then the parameter's own check.
    pub fn canonical(&self, args: &[String], current: &str) -> Result<String, String> {
        let v = self.kind.canonical(args, current)?;
        if let Some(valid) = self.valid {
            valid(&v)?;
        }
        Ok(v)
    }
}

macro_rules! params {
    ($(
        $(#[$m:meta])*
        $field:ident: $ty:ty = $name:literal $([$($alias:literal),+])?,
            $kind:expr, $default:literal, $flags:expr, $apply:ident $(, $valid:expr)?;
    )*) => {
        /// The configuration: one typed field per parameter, plus where it was loaded from.
        #[derive(Clone, Debug)]
        pub struct Config {
            $( $(#[$m])* pub $field: $ty, )*
            /// Absolute path of the configuration file, for CONFIG REWRITE.
            pub file: Option<std::path::PathBuf>,
            /// `user` directives, validated, in file order (loaded into the ACL at start-up).
            pub users: Vec<acl::users::ConfigUser>,
            /// `rename-command` directives (start-up only, as in Valkey).
            pub renames: super::renames::Renames,
        }

        impl Config {
            /// Every parameter at its declared default.
            pub(super) fn declared_defaults() -> Config {
                Config {
                    $( $field: Typed::from_canonical($default), )*
                    file: None,
                    users: Vec::new(),
                    renames: Default::default(),
                }
            }
        }

        /// Every parameter, in Valkey's order.
        pub static PARAMS: &[Param] = &[$(
            Param {
                name: $name,
                aliases: &[$($($alias),+)?],
                kind: $kind,
                default: $default,
                flags: $flags,
                apply: Apply::$apply,
                valid: params!(@valid $($valid)?),
                get: |c: &Config| Typed::to_canonical(&c.$field),
                put: |c: &mut Config, v: &str| c.$field = Typed::from_canonical(v),
            },
        )*];
    };
    (@valid) => { None };
    (@valid $v:expr) => { Some($v) };
}

const B: Kind = Kind::Bool;
const S: Kind = Kind::Str;
const fn int(min: i128, max: i128) -> Kind {
    Kind::Int { min, max }
}
const fn mem(min: i128, max: i128) -> Kind {
    Kind::Mem { min, max }
}
const INT_MIN: i128 = i32::MIN as i128;
const INT_MAX: i128 = i32::MAX as i128;
const UINT_MAX: i128 = u32::MAX as i128;
const LONG_MAX: i128 = i64::MAX as i128;
const ULLONG_MAX: i128 = u64::MAX as i128;

/// Refuses `yes` for features Redwing does not have.
fn not_yes(feature: &'static str) -> impl Fn(&str) -> Result<(), String> {
    move |v| {
        if v == "yes" {
            Err(format!("{feature} is not supported by Redwing"))
        } else {
            Ok(())
        }
    }
}

fn no_cluster(v: &str) -> Result<(), String> {
    not_yes("cluster mode")(v)
}
fn no_defrag(v: &str) -> Result<(), String> {
    not_yes("Active defragmentation")(v)
}
fn no_syslog(v: &str) -> Result<(), String> {
    not_yes("Logging to syslog")(v)
}
fn shutdown_flags(v: &str) -> Result<(), String> {
    let f = ShutdownFlags::from_canonical(v);
    if f.save && f.nosave {
        return Err("shutdown options SAVE and NOSAVE can't be used simultaneously".into());
    }
    Ok(())
}
fn aof_filename(v: &str) -> Result<(), String> {
    if v.is_empty() {
        return Err("appendfilename can't be empty".into());
    }
    if v.contains('/') {
        return Err("appendfilename can't be a path, just a filename".into());
    }
    Ok(())
}
fn aof_dirname(v: &str) -> Result<(), String> {
    if v.is_empty() {
        return Err("appenddirname can't be empty".into());
    }
    if v.contains('/') {
        return Err("appenddirname can't be a path, just a dirname".into());
    }
    Ok(())
}
fn dbfilename(v: &str) -> Result<(), String> {
    if v.is_empty() {
        return Err("dbfilename can't be empty".into());
    }
    Ok(())
}

const PROTECTED_ACTIONS: Kind = Kind::Enum(ProtectedAction::NAMES);

params! {
    // --- General -------------------------------------------------------------------------
    rdbchecksum: bool = "rdbchecksum", B, "yes", IMMUTABLE, Read;
    daemonize: bool = "daemonize", B, "no", IMMUTABLE, Read;
    /// Redwing's I/O model is its own (ARCHITECTURE.md decision 1).
    io_threads_do_reads: bool = "io-threads-do-reads", B, "yes", DEBUG | IMMUTABLE, Inert;
    always_show_logo: bool = "always-show-logo", B, "no", IMMUTABLE, Read;
    protected_mode: bool = "protected-mode", B, "yes", 0, Read;
    rdbcompression: bool = "rdbcompression", B, "yes", 0, Read;
    rdb_del_sync_files: bool = "rdb-del-sync-files", B, "no", 0, Inert;
    /// Redwing's tables never rehash as a whole (extendible hashing).
    activerehashing: bool = "activerehashing", B, "yes", 0, Inert;
    stop_writes_on_bgsave_error: bool = "stop-writes-on-bgsave-error", B, "yes", 0, Read;
    set_proc_title: bool = "set-proc-title", B, "yes", IMMUTABLE, Derived;
    dynamic_hz: bool = "dynamic-hz", B, "yes", 0, Inert;
    lazyfree_lazy_eviction: bool = "lazyfree-lazy-eviction", B, "yes", DEBUG, Read;
    lazyfree_lazy_expire: bool = "lazyfree-lazy-expire", B, "yes", DEBUG, Derived;
    lazyfree_lazy_server_del: bool = "lazyfree-lazy-server-del", B, "yes", DEBUG, Derived;
    lazyfree_lazy_user_del: bool = "lazyfree-lazy-user-del", B, "yes", DEBUG, Derived;
    lazyfree_lazy_user_flush: bool = "lazyfree-lazy-user-flush", B, "yes", DEBUG, Derived;
    repl_disable_tcp_nodelay: bool = "repl-disable-tcp-nodelay", B, "no", 0, Read;
    repl_diskless_sync: bool = "repl-diskless-sync", B, "yes", DEBUG, Replication;
    dual_channel_replication_enabled: bool = "dual-channel-replication-enabled", B, "no", DEBUG, Replication;
    aof_rewrite_incremental_fsync: bool = "aof-rewrite-incremental-fsync", B, "yes", 0, Inert;
    no_appendfsync_on_rewrite: bool = "no-appendfsync-on-rewrite", B, "no", 0, Read;
    cluster_require_full_coverage: bool = "cluster-require-full-coverage", B, "yes", 0, Inert;
    rdb_save_incremental_fsync: bool = "rdb-save-incremental-fsync", B, "yes", 0, Inert;
    aof_load_truncated: bool = "aof-load-truncated", B, "yes", 0, Read;
    aof_use_rdb_preamble: bool = "aof-use-rdb-preamble", B, "yes", 0, Read;
    aof_timestamp_enabled: bool = "aof-timestamp-enabled", B, "no", 0, Read;
    cluster_replica_no_failover: bool = "cluster-replica-no-failover" ["cluster-slave-no-failover"], B, "no", 0, Inert;
    replica_lazy_flush: bool = "replica-lazy-flush" ["slave-lazy-flush"], B, "yes", 0, Read;
    replica_serve_stale_data: bool = "replica-serve-stale-data" ["slave-serve-stale-data"], B, "yes", 0, Read;
    replica_read_only: bool = "replica-read-only" ["slave-read-only"], B, "yes", DEBUG, Read;
    replica_ignore_maxmemory: bool = "replica-ignore-maxmemory" ["slave-ignore-maxmemory"], B, "yes", 0, Read;
    jemalloc_bg_thread: bool = "jemalloc-bg-thread", B, "yes", 0, Inert;
    activedefrag: bool = "activedefrag", B, "no", DEBUG, Inert, no_defrag;
    syslog_enabled: bool = "syslog-enabled", B, "no", IMMUTABLE, Inert, no_syslog;
    cluster_enabled: bool = "cluster-enabled", B, "no", IMMUTABLE, Read, no_cluster;
    appendonly: bool = "appendonly", B, "no", DENY_LOADING, Aof;
    cluster_allow_reads_when_down: bool = "cluster-allow-reads-when-down", B, "no", 0, Inert;
    cluster_allow_pubsubshard_when_down: bool = "cluster-allow-pubsubshard-when-down", B, "yes", 0, Inert;
    crash_log_enabled: bool = "crash-log-enabled", B, "yes", 0, Derived;
    crash_memcheck_enabled: bool = "crash-memcheck-enabled", B, "yes", 0, Inert;
    use_exit_on_panic: bool = "use-exit-on-panic", B, "no", HIDDEN, Inert;
    disable_thp: bool = "disable-thp", B, "yes", IMMUTABLE, Inert;
    cluster_allow_replica_migration: bool = "cluster-allow-replica-migration", B, "yes", 0, Inert;
    replica_announced: bool = "replica-announced", B, "yes", 0, Read;
    latency_tracking: bool = "latency-tracking", B, "yes", 0, Read;
    aof_disable_auto_gc: bool = "aof-disable-auto-gc", B, "no", HIDDEN, Aof;
    replica_ignore_disk_write_errors: bool = "replica-ignore-disk-write-errors", B, "no", 0, Inert;
    extended_redis_compatibility: bool = "extended-redis-compatibility", B, "no", 0, Inert;
    enable_debug_assert: bool = "enable-debug-assert", B, "no", IMMUTABLE | HIDDEN, Inert;
    cluster_slot_stats_enabled: bool = "cluster-slot-stats-enabled", B, "no", 0, Inert;
    hide_user_data_from_log: bool = "hide-user-data-from-log", B, "yes", 0, Inert;

    // --- Strings ---------------------------------------------------------------------------
    aclfile: String = "aclfile", S, "", IMMUTABLE, Read;
    unixsocket: String = "unixsocket", S, "", IMMUTABLE, Read;
    unixsocketgroup: String = "unixsocketgroup", S, "", IMMUTABLE, Read;
    pidfile: String = "pidfile", S, "", IMMUTABLE, Read;
    replica_announce_ip: String = "replica-announce-ip" ["slave-announce-ip"], S, "", 0, Replication;
    primary_user: String = "primaryuser" ["masteruser"], S, "", SENSITIVE, Replication;
    cluster_announce_ip: String = "cluster-announce-ip", S, "", 0, Inert;
    cluster_announce_client_ipv4: String = "cluster-announce-client-ipv4", S, "", 0, Inert;
    cluster_announce_client_ipv6: String = "cluster-announce-client-ipv6", S, "", 0, Inert;
    cluster_config_file: String = "cluster-config-file", S, "nodes.conf", IMMUTABLE, Inert;
    cluster_announce_hostname: String = "cluster-announce-hostname", S, "", 0, Inert;
    cluster_announce_human_nodename: String = "cluster-announce-human-nodename", S, "", 0, Inert;
    syslog_ident: String = "syslog-ident", S, "redwing", IMMUTABLE, Inert;
    dbfilename: String = "dbfilename", Kind::Special(Special::Dbfilename), "dump.rdb", PROTECTED, Read, dbfilename;
    appendfilename: String = "appendfilename", S, "appendonly.aof", IMMUTABLE, Read, aof_filename;
    appenddirname: String = "appenddirname", S, "appendonlydir", IMMUTABLE, Read, aof_dirname;
    server_cpulist: String = "server-cpulist" ["server_cpulist"], S, "", IMMUTABLE, Inert;
    bio_cpulist: String = "bio-cpulist" ["bio_cpulist"], S, "", IMMUTABLE, Inert;
    aof_rewrite_cpulist: String = "aof-rewrite-cpulist" ["aof_rewrite_cpulist"], S, "", IMMUTABLE, Inert;
    bgsave_cpulist: String = "bgsave-cpulist" ["bgsave_cpulist"], S, "", IMMUTABLE, Inert;
    ignore_warnings: String = "ignore-warnings", S, "", 0, Inert;
    proc_title_template: String = "proc-title-template", S, "{title} {listen-addr} {server-mode}", 0, Derived, crate::proctitle::validate;
    bind_source_addr: String = "bind-source-addr", S, "", 0, Read;
    logfile: String = "logfile", S, "", IMMUTABLE, Read;
    req_res_logfile: String = "req-res-logfile", S, "", IMMUTABLE | HIDDEN, Inert;
    locale_collate: String = "locale-collate", S, "", 0, Inert;
    debug_context: String = "debug-context", S, "", DEBUG | HIDDEN, Inert;
    primary_auth: String = "primaryauth" ["masterauth"], S, "", SENSITIVE, Replication;
    requirepass: String = "requirepass", S, "", SENSITIVE, DefaultPassword;
    availability_zone: String = "availability-zone", S, "", 0, Inert;

    // --- Enums -----------------------------------------------------------------------------
    supervised: String = "supervised", Kind::Enum(&["upstart", "systemd", "auto", "no"]), "no", IMMUTABLE, Inert;
    syslog_facility: String = "syslog-facility", Kind::Enum(&["user", "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7"]), "local0", IMMUTABLE, Inert;
    repl_diskless_load: DisklessLoad = "repl-diskless-load", Kind::Enum(DisklessLoad::NAMES), "disabled", DEBUG | DENY_LOADING, Read;
    loglevel: LogLevel = "loglevel", Kind::Enum(LogLevel::NAMES), "notice", 0, Derived;
    maxmemory_policy: MaxmemoryPolicy = "maxmemory-policy", Kind::Enum(MaxmemoryPolicy::NAMES), "noeviction", 0, Derived;
    appendfsync: AppendFsync = "appendfsync", Kind::Enum(AppendFsync::NAMES), "everysec", 0, Read;
    oom_score_adj: String = "oom-score-adj", Kind::Enum(&["no", "yes", "relative", "absolute"]), "no", 0, Oom;
    acl_pubsub_default: String = "acl-pubsub-default", Kind::Enum(&["allchannels", "resetchannels"]), "resetchannels", 0, Derived;
    sanitize_dump_payload: SanitizeDumpPayload = "sanitize-dump-payload", Kind::Enum(SanitizeDumpPayload::NAMES), "no", DEBUG, Read;
    enable_protected_configs: ProtectedAction = "enable-protected-configs", PROTECTED_ACTIONS, "no", IMMUTABLE, Read;
    enable_debug_command: ProtectedAction = "enable-debug-command", PROTECTED_ACTIONS, "no", IMMUTABLE, Read;
    enable_module_command: ProtectedAction = "enable-module-command", PROTECTED_ACTIONS, "no", IMMUTABLE, Inert;
    cluster_preferred_endpoint_type: String = "cluster-preferred-endpoint-type", Kind::Enum(&["ip", "hostname", "unknown-endpoint"]), "ip", 0, Inert;
    propagation_error_behavior: PropagationErrorBehavior = "propagation-error-behavior", Kind::Enum(PropagationErrorBehavior::NAMES), "ignore", 0, Read;
    shutdown_on_sigint: ShutdownFlags = "shutdown-on-sigint", Kind::Flags(ShutdownFlags::NAMES), "default", MULTI_ARG, Read, shutdown_flags;
    shutdown_on_sigterm: ShutdownFlags = "shutdown-on-sigterm", Kind::Flags(ShutdownFlags::NAMES), "default", MULTI_ARG, Read, shutdown_flags;

    // --- Integers --------------------------------------------------------------------------
    databases: i64 = "databases", int(1, INT_MAX), "16", IMMUTABLE, Read;
    port: i64 = "port", int(0, 65535), "6379", 0, Listeners;
    /// Redwing's I/O model is its own (ARCHITECTURE.md decision 1).
    io_threads: i64 = "io-threads", int(1, 128), "1", DEBUG | IMMUTABLE, Inert;
    events_per_io_thread: i64 = "events-per-io-thread", int(0, INT_MAX), "2", 0, Inert;
    prefetch_batch_max_size: i64 = "prefetch-batch-max-size", int(0, 128), "16", 0, Inert;
    auto_aof_rewrite_percentage: i64 = "auto-aof-rewrite-percentage", int(0, INT_MAX), "100", 0, Read;
    cluster_replica_validity_factor: i64 = "cluster-replica-validity-factor" ["cluster-slave-validity-factor"], int(0, INT_MAX), "10", 0, Inert;
    list_max_listpack_size: i64 = "list-max-listpack-size" ["list-max-ziplist-size"], int(INT_MIN, INT_MAX), "-2", 0, Derived;
    tcp_keepalive_secs: i64 = "tcp-keepalive", int(0, INT_MAX), "300", 0, Read;
    cluster_migration_barrier: i64 = "cluster-migration-barrier", int(0, INT_MAX), "1", 0, Inert;
    active_defrag_cycle_min: i64 = "active-defrag-cycle-min", int(1, 99), "1", 0, Inert;
    active_defrag_cycle_max: i64 = "active-defrag-cycle-max", int(1, 99), "25", 0, Inert;
    active_defrag_threshold_lower: i64 = "active-defrag-threshold-lower", int(0, 1000), "10", 0, Inert;
    active_defrag_threshold_upper: i64 = "active-defrag-threshold-upper", int(0, 1000), "100", 0, Inert;
    lfu_log_factor: i64 = "lfu-log-factor", int(0, INT_MAX), "10", 0, Derived;
    lfu_decay_time_mins: i64 = "lfu-decay-time", int(0, INT_MAX), "1", 0, Derived;
    replica_priority: i64 = "replica-priority" ["slave-priority"], int(0, INT_MAX), "100", 0, Read;
    repl_diskless_sync_delay_secs: i64 = "repl-diskless-sync-delay", int(0, INT_MAX), "5", 0, Replication;
    maxmemory_samples: i64 = "maxmemory-samples", int(1, 64), "5", 0, Read;
    maxmemory_eviction_tenacity: i64 = "maxmemory-eviction-tenacity", int(0, 100), "10", 0, Read;
    timeout_secs: i64 = "timeout", int(0, INT_MAX), "0", 0, Read;
    replica_announce_port: i64 = "replica-announce-port" ["slave-announce-port"], int(0, 65535), "0", 0, Replication;
    tcp_backlog: i64 = "tcp-backlog", int(0, INT_MAX), "511", IMMUTABLE, Read;
    cluster_port: i64 = "cluster-port", int(0, 65535), "0", IMMUTABLE, Inert;
    cluster_announce_bus_port: i64 = "cluster-announce-bus-port", int(0, 65535), "0", 0, Inert;
    cluster_announce_port: i64 = "cluster-announce-port", int(0, 65535), "0", 0, Inert;
    cluster_announce_tls_port: i64 = "cluster-announce-tls-port", int(0, 65535), "0", 0, Inert;
    /// Redwing: writers are slowed while a replica nears its output-buffer limit.
    repl_backpressure: bool = "repl-backpressure", B, "yes", 0, Read;
    /// Redwing: the longest one write waits for such a replica (ms; 0 = writes never wait).
    repl_backpressure_max_delay_ms: i64 = "repl-backpressure-max-delay", int(0, 60000), "1000", 0, Read;
    /// Redwing's: the replication stream older than the memory backlog kept on disk, up to
    /// this size (0: off), so longer disconnections still resync partially.
    repl_backlog_disk_size_bytes: i64 = "repl-backlog-disk-size", mem(0, LONG_MAX), "0", 0, Read;
    /// Redwing's: the disk backlog's directory (relative to `dir`).
    repl_backlog_disk_dir: String = "repl-backlog-disk-dir", S, "repl-backlog", 0, Read;
    repl_timeout_secs: i64 = "repl-timeout", int(1, INT_MAX), "60", 0, Replication;
    repl_ping_replica_period_secs: i64 = "repl-ping-replica-period" ["repl-ping-slave-period"], int(1, INT_MAX), "10", 0, Replication;
    list_compress_depth: i64 = "list-compress-depth", int(0, INT_MAX), "0", DEBUG, Derived;
    /// Microseconds slept per key by background saves (negative: per 1/-N keys); a test knob.
    rdb_key_save_delay_us: i64 = "rdb-key-save-delay", int(INT_MIN, INT_MAX), "0", HIDDEN, Read;
    /// Microseconds slept per key while loading; a test knob.
    key_load_delay_us: i64 = "key-load-delay", int(INT_MIN, INT_MAX), "0", HIDDEN, Read;
    active_expire_effort: i64 = "active-expire-effort", int(1, 10), "1", 0, Read;
    hz: i64 = "hz", int(0, INT_MAX), "10", 0, Derived;
    min_replicas_to_write: i64 = "min-replicas-to-write" ["min-slaves-to-write"], int(0, INT_MAX), "0", 0, Replication;
    min_replicas_max_lag_secs: i64 = "min-replicas-max-lag" ["min-slaves-max-lag"], int(0, INT_MAX), "10", 0, Replication;
    watchdog_period_ms: i64 = "watchdog-period", int(0, INT_MAX), "0", HIDDEN, Derived;
    shutdown_timeout_secs: i64 = "shutdown-timeout", int(0, INT_MAX), "10", 0, Read;
    repl_diskless_sync_max_replicas: i64 = "repl-diskless-sync-max-replicas", int(0, INT_MAX), "0", 0, Replication;
    maxclients: i64 = "maxclients", int(1, UINT_MAX), "10000", 0, Read;
    unixsocketperm: Octal = "unixsocketperm", Kind::Octal { min: 0, max: 0o777 }, "0", IMMUTABLE, Read;
    socket_mark_id: i64 = "socket-mark-id", int(0, UINT_MAX), "0", IMMUTABLE, Inert;
    max_new_connections_per_cycle: i64 = "max-new-connections-per-cycle", int(1, 1000), "10", 0, Inert;
    max_new_tls_connections_per_cycle: i64 = "max-new-tls-connections-per-cycle", int(1, 1000), "1", 0, Inert;
    client_default_resp: i64 = "client-default-resp", int(2, 3), "2", IMMUTABLE | HIDDEN, Read;
    active_defrag_max_scan_fields: i64 = "active-defrag-max-scan-fields", int(1, LONG_MAX), "1000", 0, Inert;
    slowlog_max_len: i64 = "slowlog-max-len", int(0, LONG_MAX), "128", 0, Read;
    acllog_max_len: i64 = "acllog-max-len", int(0, LONG_MAX), "128", 0, Read;
    cluster_blacklist_ttl_secs: i64 = "cluster-blacklist-ttl", int(0, LONG_MAX), "60", 0, Inert;
    busy_reply_threshold_ms: i64 = "busy-reply-threshold" ["lua-time-limit"], int(0, LONG_MAX), "5000", 0, Read;
    cluster_node_timeout_ms: i64 = "cluster-node-timeout", int(0, LONG_MAX), "15000", 0, Inert;
    cluster_ping_interval_ms: i64 = "cluster-ping-interval", int(0, LONG_MAX), "0", HIDDEN, Inert;
    slowlog_log_slower_than_us: i64 = "slowlog-log-slower-than", int(-1, LONG_MAX), "10000", 0, Read;
    latency_monitor_threshold_ms: i64 = "latency-monitor-threshold", int(0, LONG_MAX), "0", 0, Read;
    proto_max_bulk_len_bytes: i64 = "proto-max-bulk-len", mem(1024 * 1024, LONG_MAX), "536870912", DEBUG, Derived;
    stream_node_max_entries: i64 = "stream-node-max-entries", int(0, LONG_MAX), "100", 0, Derived;
    repl_backlog_size_bytes: i64 = "repl-backlog-size", mem(1, LONG_MAX), "10485760", 0, Replication;
    maxmemory_bytes: u64 = "maxmemory", mem(0, ULLONG_MAX), "0", 0, Maxmemory;
    cluster_link_sendbuf_limit_bytes: u64 = "cluster-link-sendbuf-limit", mem(0, ULLONG_MAX), "0", 0, Inert;
    hash_max_listpack_entries: i64 = "hash-max-listpack-entries" ["hash-max-ziplist-entries"], int(0, LONG_MAX), "512", 0, Derived;
    set_max_intset_entries: i64 = "set-max-intset-entries", int(0, LONG_MAX), "512", 0, Derived;
    set_max_listpack_entries: i64 = "set-max-listpack-entries", int(0, LONG_MAX), "128", 0, Derived;
    set_max_listpack_value_bytes: i64 = "set-max-listpack-value", int(0, LONG_MAX), "64", 0, Derived;
    zset_max_listpack_entries: i64 = "zset-max-listpack-entries" ["zset-max-ziplist-entries"], int(0, LONG_MAX), "128", 0, Derived;
    active_defrag_ignore_bytes: i64 = "active-defrag-ignore-bytes", mem(1, LONG_MAX), "104857600", 0, Inert;
    hash_max_listpack_value_bytes: i64 = "hash-max-listpack-value" ["hash-max-ziplist-value"], mem(0, LONG_MAX), "64", 0, Derived;
    stream_node_max_bytes: i64 = "stream-node-max-bytes", mem(0, LONG_MAX), "4096", 0, Derived;
    zset_max_listpack_value_bytes: i64 = "zset-max-listpack-value" ["zset-max-ziplist-value"], mem(0, LONG_MAX), "64", 0, Derived;
    hll_sparse_max_bytes: i64 = "hll-sparse-max-bytes", mem(0, LONG_MAX), "3000", 0, Derived;
    tracking_table_max_keys: i64 = "tracking-table-max-keys", int(0, LONG_MAX), "1000000", 0, Read;
    client_query_buffer_limit_bytes: i64 = "client-query-buffer-limit", mem(1024 * 1024, LONG_MAX), "1073741824", DEBUG, Read;
    maxmemory_clients: MemOrPercent = "maxmemory-clients", Kind::MemPercent { min: -100, max: LONG_MAX }, "0", 0, Read;
    repl_backlog_ttl_secs: i64 = "repl-backlog-ttl", int(0, LONG_MAX), "3600", 0, Replication;
    auto_aof_rewrite_min_size_bytes: i64 = "auto-aof-rewrite-min-size", mem(0, LONG_MAX), "67108864", 0, Read;
    loading_process_events_interval_bytes: i64 = "loading-process-events-interval-bytes", int(1024, INT_MAX), "2097152", HIDDEN, Read;

    // --- TLS (not supported yet: a TLS port or TLS replication is refused) -----------------
    tls_port: i64 = "tls-port", int(0, 65535), "0", 0, Listeners;
    tls_session_cache_size: i64 = "tls-session-cache-size", int(0, INT_MAX), "20480", 0, Tls;
    tls_session_cache_timeout_secs: i64 = "tls-session-cache-timeout", int(0, INT_MAX), "300", 0, Tls;
    tls_cluster: bool = "tls-cluster", B, "no", 0, Tls;
    tls_replication: bool = "tls-replication", B, "no", 0, Tls;
    tls_auth_clients: String = "tls-auth-clients", Kind::Enum(&["no", "yes", "optional"]), "yes", 0, Read;
    tls_prefer_server_ciphers: bool = "tls-prefer-server-ciphers", B, "no", 0, Tls;
    tls_session_caching: bool = "tls-session-caching", B, "yes", 0, Tls;
    tls_cert_file: String = "tls-cert-file", S, "", VOLATILE, Tls;
    tls_key_file: String = "tls-key-file", S, "", VOLATILE, Tls;
    tls_key_file_pass: String = "tls-key-file-pass", S, "", SENSITIVE, Tls;
    tls_client_cert_file: String = "tls-client-cert-file", S, "", VOLATILE, Tls;
    tls_client_key_file: String = "tls-client-key-file", S, "", VOLATILE, Tls;
    tls_client_key_file_pass: String = "tls-client-key-file-pass", S, "", SENSITIVE, Tls;
    tls_dh_params_file: String = "tls-dh-params-file", S, "", VOLATILE, Tls;
    tls_ca_cert_file: String = "tls-ca-cert-file", S, "", VOLATILE, Tls;
    tls_ca_cert_dir: String = "tls-ca-cert-dir", S, "", VOLATILE, Tls;
    tls_protocols: String = "tls-protocols", S, "", 0, Tls;
    tls_ciphers: String = "tls-ciphers", S, "", 0, Tls;
    tls_ciphersuites: String = "tls-ciphersuites", S, "", 0, Tls;

    // --- Special syntax --------------------------------------------------------------------
    /// The working directory (CONFIG GET prints the current one).
    dir: String = "dir", Kind::Special(Special::Dir), ".", PROTECTED | DENY_LOADING, Dir;
    save: SavePoints = "save", Kind::Special(Special::Save), "3600 1 300 100 60 10000", MULTI_ARG, Read;
    client_output_buffer_limit: OutputLimits = "client-output-buffer-limit", Kind::Special(Special::ClientOutputBufferLimit), "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60", MULTI_ARG, Replication;
    oom_score_adj_values: OomScoreAdjValues = "oom-score-adj-values", Kind::Special(Special::OomScoreAdjValues), "0 200 800", MULTI_ARG, Oom;
    notify_keyspace_events: NotifyFlags = "notify-keyspace-events", Kind::Special(Special::NotifyKeyspaceEvents), "", 0, Derived;
    bind: BindAddrs = "bind", Kind::Special(Special::Bind), "* -::*", MULTI_ARG, Listeners;
    replicaof: ReplicaOf = "replicaof" ["slaveof"], Kind::Special(Special::ReplicaOf), "", IMMUTABLE | MULTI_ARG, Read;
    latency_tracking_info_percentiles: Percentiles = "latency-tracking-info-percentiles", Kind::Special(Special::Percentiles), "50 99 99.9", MULTI_ARG, Read;
}

/// Finds a parameter by name or alias (case-insensitive).
pub fn lookup(name: &str) -> Option<&'static Param> {
    static INDEX: std::sync::OnceLock<std::collections::HashMap<&'static str, &'static Param>> =
        std::sync::OnceLock::new();
    let index = INDEX.get_or_init(|| {
        let mut m = std::collections::HashMap::new();
        for p in PARAMS {
            m.insert(p.name, p);
            for a in p.aliases {
                m.insert(*a, p);
            }
        }
        m
    });
    index
        .get(name)
        .or_else(|| index.get(name.to_ascii_lowercase().as_str()))
        .copied()
}

/// Directives Valkey still accepts (and ignores) for compatibility with old files.
pub fn is_deprecated(name: &str, argc: usize) -> bool {
    const DEPRECATED: &[(&str, usize, usize)] = &[
        ("list-max-ziplist-entries", 2, 2),
        ("list-max-ziplist-value", 2, 2),
        ("lua-replicate-commands", 2, 2),
    ];
    DEPRECATED
        .iter()
        .any(|(n, lo, hi)| n.eq_ignore_ascii_case(name) && (*lo..=*hi).contains(&argc))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The README's "Configuration accepted without effect" names every `Inert` parameter
    /// (`cluster-*`-style globs allowed), and nothing else.
    #[test]
    fn the_readme_lists_exactly_the_inert_parameters() {
        let readme = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md"));
        let start = readme
            .find("### Configuration accepted without effect")
            .expect("the README's section on inert parameters");
        let section = &readme[start..];
        let section = &section[..section[1..].find("\n## ").map_or(section.len(), |e| e + 1)];
        let listed: Vec<&str> = section
            .split('`')
            .skip(1)
            .step_by(2)
            .filter(|w| {
                !w.is_empty()
                    && w.bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-*".contains(&b))
            })
            .collect();
        let matches = |pat: &str, name: &str| match pat.strip_suffix('*') {
            Some(prefix) => name.starts_with(prefix),
            None => pat == name,
        };
        let inert: Vec<&str> = PARAMS
            .iter()
            .filter(|p| p.apply == Apply::Inert)
            .map(|p| p.name)
            .collect();
        let missing: Vec<&&str> = inert
            .iter()
            .filter(|n| !listed.iter().any(|pat| matches(pat, n)))
            .collect();
        assert!(
            missing.is_empty(),
            "inert but not in the README: {missing:?}"
        );
        let wrong: Vec<&&str> = listed
            .iter()
            .filter(|pat| !inert.iter().any(|n| matches(pat, n)))
            .collect();
        assert!(
            wrong.is_empty(),
            "in the README's list but not inert: {wrong:?}"
        );
    }

    #[test]
    fn every_default_is_canonical_and_round_trips_through_its_field() {
        let cfg = Config::declared_defaults();
        for p in PARAMS {
            let args: Vec<String> = if p.has(MULTI_ARG) {
                p.default.split(' ').map(str::to_string).collect()
            } else {
                vec![p.default.to_string()]
            };
            let no_check = matches!(
                p.kind,
                Kind::Special(Special::Dir) | Kind::Special(Special::ReplicaOf)
            );
            if !no_check {
                let canon = p
                    .canonical(&args, p.default)
                    .unwrap_or_else(|e| panic!("{}: default rejected: {e}", p.name));
                assert_eq!(canon, p.default, "{}: default is not canonical", p.name);
            }
            assert_eq!((p.get)(&cfg), p.default, "{}: field round trip", p.name);
        }
    }

    #[test]
    fn names_and_aliases_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for p in PARAMS {
            for n in std::iter::once(&p.name).chain(p.aliases) {
                assert!(seen.insert(*n), "{n} declared twice");
            }
        }
    }
}
