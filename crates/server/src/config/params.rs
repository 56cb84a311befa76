//! The configuration parameters: names (with Redis's aliases), types, defaults and flags.
//!
//! Defaults follow Valkey 8 where Valkey 8 and Redis 7.0 differ (repl-backlog-size, the
//! lazyfree family); the README lists these differences.

/// Value type and validation of a parameter.
#[derive(Clone, Copy, Debug)]
pub enum Ty {
    Bool,
    Int {
        min: i64,
        max: i64,
    },
    /// A byte count accepting `kb`, `mb`, `gb`... suffixes; canonical form is plain bytes.
    Mem {
        min: i64,
        max: i64,
    },
    Enum(&'static [&'static str]),
    Str,
    /// Parsed and printed by dedicated code in `special.rs`.
    Special(Special),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Special {
    Save,
    ClientOutputBufferLimit,
    Bind,
    Replicaof,
    Dir,
    Percentiles,
    Dbfilename,
    NotifyKeyspaceEvents,
}

pub const IMMUTABLE: u8 = 1;
pub const SENSITIVE: u8 = 2;
pub const HIDDEN: u8 = 4;
pub const PROTECTED: u8 = 8;
pub const MULTI_ARG: u8 = 16;
pub const DENY_LOADING: u8 = 32;

pub struct Param {
    pub name: &'static str,
    pub aliases: &'static [&'static str],
    pub ty: Ty,
    pub default: &'static str,
    pub flags: u8,
}

const fn p(name: &'static str, ty: Ty, default: &'static str) -> Param {
    Param {
        name,
        aliases: &[],
        ty,
        default,
        flags: 0,
    }
}

const fn pf(name: &'static str, ty: Ty, default: &'static str, flags: u8) -> Param {
    Param {
        name,
        aliases: &[],
        ty,
        default,
        flags,
    }
}

const fn pa(
    name: &'static str,
    aliases: &'static [&'static str],
    ty: Ty,
    default: &'static str,
) -> Param {
    Param {
        name,
        aliases,
        ty,
        default,
        flags: 0,
    }
}

const B: Ty = Ty::Bool;
const fn int(min: i64, max: i64) -> Ty {
    Ty::Int { min, max }
}
const fn mem(min: i64, max: i64) -> Ty {
    Ty::Mem { min, max }
}
const INT_MAX: i64 = i32::MAX as i64;
const LL_MAX: i64 = i64::MAX;

pub const LOGLEVELS: &[&str] = &["debug", "verbose", "notice", "warning", "nothing"];
pub const MAXMEMORY_POLICIES: &[&str] = &[
    "volatile-lru",
    "volatile-lfu",
    "volatile-random",
    "volatile-ttl",
    "allkeys-lru",
    "allkeys-lfu",
    "allkeys-random",
    "noeviction",
];

pub static PARAMS: &[Param] = &[
    // Network and clients.
    pf("port", int(0, 65535), "6379", 0),
    pf("bind", Ty::Special(Special::Bind), "* -::*", MULTI_ARG),
    pf("unixsocket", Ty::Str, "", IMMUTABLE),
    pf("unixsocketperm", int(0, 0o777), "0", IMMUTABLE),
    p("protected-mode", B, "yes"),
    pf("tcp-backlog", int(0, INT_MAX), "511", IMMUTABLE),
    p("tcp-keepalive", int(0, INT_MAX), "300"),
    p("timeout", int(0, INT_MAX), "0"),
    p("maxclients", int(1, INT_MAX), "10000"),
    pf("requirepass", Ty::Str, "", SENSITIVE),
    pf(
        "client-output-buffer-limit",
        Ty::Special(Special::ClientOutputBufferLimit),
        "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60",
        MULTI_ARG,
    ),
    p(
        "client-query-buffer-limit",
        mem(1024 * 1024, LL_MAX),
        "1073741824",
    ),
    p(
        "proto-max-bulk-len",
        mem(1024 * 1024, u32::MAX as i64),
        "536870912",
    ),
    pf("io-threads", int(1, 128), "1", IMMUTABLE),
    p("io-threads-do-reads", B, "no"),
    // General.
    pf("databases", int(1, INT_MAX), "16", IMMUTABLE),
    p("loglevel", Ty::Enum(LOGLEVELS), "notice"),
    pf("logfile", Ty::Str, "", IMMUTABLE),
    pf("daemonize", B, "no", IMMUTABLE),
    pf("pidfile", Ty::Str, "", IMMUTABLE),
    pf(
        "supervised",
        Ty::Enum(&["no", "upstart", "systemd", "auto"]),
        "no",
        IMMUTABLE,
    ),
    p("always-show-logo", B, "no"),
    pf("set-proc-title", B, "yes", IMMUTABLE),
    p("hz", int(1, 500), "10"),
    p("dynamic-hz", B, "yes"),
    pf(
        "enable-debug-command",
        Ty::Enum(&["no", "yes", "local"]),
        "no",
        IMMUTABLE,
    ),
    pf(
        "enable-protected-configs",
        Ty::Enum(&["no", "yes", "local"]),
        "no",
        IMMUTABLE,
    ),
    pf(
        "enable-module-command",
        Ty::Enum(&["no", "yes", "local"]),
        "no",
        IMMUTABLE,
    ),
    p(
        "notify-keyspace-events",
        Ty::Special(Special::NotifyKeyspaceEvents),
        "",
    ),
    pf("cluster-enabled", B, "no", IMMUTABLE),
    p("activerehashing", B, "yes"),
    p("crash-log-enabled", B, "yes"),
    p("shutdown-timeout", int(0, INT_MAX), "10"),
    p(
        "shutdown-on-sigterm",
        Ty::Enum(&["default", "save", "nosave", "now", "force"]),
        "default",
    ),
    p(
        "shutdown-on-sigint",
        Ty::Enum(&["default", "save", "nosave", "now", "force"]),
        "default",
    ),
    // Persistence.
    pf(
        "dir",
        Ty::Special(Special::Dir),
        "./",
        PROTECTED | DENY_LOADING,
    ),
    pf(
        "dbfilename",
        Ty::Special(Special::Dbfilename),
        "dump.rdb",
        PROTECTED,
    ),
    pf(
        "save",
        Ty::Special(Special::Save),
        "3600 1 300 100 60 10000",
        MULTI_ARG,
    ),
    p("rdbcompression", B, "yes"),
    pf("rdbchecksum", B, "yes", IMMUTABLE),
    p("rdb-del-sync-files", B, "no"),
    p("stop-writes-on-bgsave-error", B, "yes"),
    p(
        "sanitize-dump-payload",
        Ty::Enum(&["no", "yes", "clients"]),
        "no",
    ),
    p("appendonly", B, "no"),
    pf("appendfilename", Ty::Str, "appendonly.aof", IMMUTABLE),
    p(
        "appendfsync",
        Ty::Enum(&["everysec", "always", "no"]),
        "everysec",
    ),
    pf(
        "rdb-key-save-delay",
        int(i32::MIN as i64, INT_MAX),
        "0",
        HIDDEN,
    ),
    pf("key-load-delay", int(i32::MIN as i64, INT_MAX), "0", HIDDEN),
    pf(
        "loading-process-events-interval-bytes",
        int(1024, INT_MAX),
        "2097152",
        HIDDEN,
    ),
    // Memory.
    p("maxmemory", mem(0, LL_MAX), "0"),
    p(
        "maxmemory-policy",
        Ty::Enum(MAXMEMORY_POLICIES),
        "noeviction",
    ),
    p("maxmemory-samples", int(1, 64), "5"),
    p("maxmemory-eviction-tenacity", int(0, 100), "10"),
    p("lfu-log-factor", int(0, INT_MAX), "10"),
    p("lfu-decay-time", int(0, INT_MAX), "1"),
    p("active-expire-effort", int(1, 10), "1"),
    p("lazyfree-lazy-eviction", B, "yes"),
    p("lazyfree-lazy-expire", B, "yes"),
    p("lazyfree-lazy-server-del", B, "yes"),
    p("lazyfree-lazy-user-del", B, "yes"),
    p("lazyfree-lazy-user-flush", B, "yes"),
    p("activedefrag", B, "no"),
    // Encodings.
    pa(
        "hash-max-listpack-entries",
        &["hash-max-ziplist-entries"],
        int(0, LL_MAX),
        "512",
    ),
    pa(
        "hash-max-listpack-value",
        &["hash-max-ziplist-value"],
        int(0, LL_MAX),
        "64",
    ),
    pa(
        "list-max-listpack-size",
        &["list-max-ziplist-size"],
        int(i32::MIN as i64, INT_MAX),
        "-2",
    ),
    p("list-compress-depth", int(0, INT_MAX), "0"),
    p("set-max-intset-entries", int(0, LL_MAX), "512"),
    p("set-max-listpack-entries", int(0, LL_MAX), "128"),
    p("set-max-listpack-value", int(0, LL_MAX), "64"),
    pa(
        "zset-max-listpack-entries",
        &["zset-max-ziplist-entries"],
        int(0, LL_MAX),
        "128",
    ),
    pa(
        "zset-max-listpack-value",
        &["zset-max-ziplist-value"],
        int(0, LL_MAX),
        "64",
    ),
    p("hll-sparse-max-bytes", mem(0, LL_MAX), "3000"),
    p("stream-node-max-bytes", mem(0, LL_MAX), "4096"),
    p("stream-node-max-entries", int(0, LL_MAX), "100"),
    // Diagnostics.
    p("slowlog-log-slower-than", int(-1, LL_MAX), "10000"),
    p("slowlog-max-len", int(0, LL_MAX), "128"),
    p("latency-monitor-threshold", int(0, LL_MAX), "0"),
    p("latency-tracking", B, "yes"),
    p(
        "latency-tracking-info-percentiles",
        Ty::Special(Special::Percentiles),
        "50 99 99.9",
    ),
    // Replication.
    Param {
        name: "replicaof",
        aliases: &["slaveof"],
        ty: Ty::Special(Special::Replicaof),
        default: "",
        flags: IMMUTABLE | MULTI_ARG,
    },
    Param {
        name: "primaryauth",
        aliases: &["masterauth"],
        ty: Ty::Str,
        default: "",
        flags: SENSITIVE,
    },
    pa("primaryuser", &["masteruser"], Ty::Str, ""),
    pa(
        "replica-serve-stale-data",
        &["slave-serve-stale-data"],
        B,
        "yes",
    ),
    pa("replica-read-only", &["slave-read-only"], B, "yes"),
    p("repl-diskless-sync", B, "yes"),
    p("repl-diskless-sync-delay", int(0, INT_MAX), "5"),
    p("repl-diskless-sync-max-replicas", int(0, INT_MAX), "0"),
    p(
        "repl-diskless-load",
        Ty::Enum(&["disabled", "on-empty-db", "swapdb"]),
        "disabled",
    ),
    p("dual-channel-replication-enabled", B, "no"),
    pa(
        "repl-ping-replica-period",
        &["repl-ping-slave-period"],
        int(1, INT_MAX),
        "10",
    ),
    p("repl-timeout", int(1, INT_MAX), "60"),
    p("repl-disable-tcp-nodelay", B, "no"),
    p("repl-backlog-size", mem(1, LL_MAX), "10485760"),
    p("repl-backlog-ttl", int(0, INT_MAX), "3600"),
    pa(
        "min-replicas-to-write",
        &["min-slaves-to-write"],
        int(0, INT_MAX),
        "0",
    ),
    pa(
        "min-replicas-max-lag",
        &["min-slaves-max-lag"],
        int(0, INT_MAX),
        "10",
    ),
    pa(
        "replica-priority",
        &["slave-priority"],
        int(0, INT_MAX),
        "100",
    ),
    p("replica-announced", B, "yes"),
    pa("replica-announce-ip", &["slave-announce-ip"], Ty::Str, ""),
    pa(
        "replica-announce-port",
        &["slave-announce-port"],
        int(0, 65535),
        "0",
    ),
    pa("replica-lazy-flush", &["slave-lazy-flush"], B, "yes"),
    pa(
        "replica-ignore-maxmemory",
        &["slave-ignore-maxmemory"],
        B,
        "yes",
    ),
    p("replica-ignore-disk-write-errors", B, "no"),
    p(
        "propagation-error-behavior",
        Ty::Enum(&["ignore", "panic", "panic-on-replicas"]),
        "ignore",
    ),
    p("bind-source-addr", Ty::Str, ""),
];

/// Finds a parameter by name or alias (case-insensitive).
pub fn lookup(name: &str) -> Option<&'static Param> {
    static INDEX: std::sync::OnceLock<std::collections::HashMap<String, &'static Param>> =
        std::sync::OnceLock::new();
    let index = INDEX.get_or_init(|| {
        let mut m = std::collections::HashMap::new();
        for p in PARAMS {
            m.insert(p.name.to_string(), p);
            for a in p.aliases {
                m.insert(a.to_string(), p);
            }
        }
        m
    });
    if let Some(p) = index.get(name) {
        return Some(p);
    }
    index.get(&name.to_ascii_lowercase()).copied()
}
