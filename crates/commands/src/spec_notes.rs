//! Command tips and key-spec notes reported by COMMAND INFO, for the commands Redwing
//! implements: the `command_tips` of Valkey 8.0.1's command specs (`src/commands/*.json`),
//! cluster routing tips included, as a Valkey started without cluster mode reports them.

/// `request_policy:...` / `response_policy:...` / `nondeterministic_output` tips by full name.
pub static TIPS: &[(&str, &[&str])] = &[
    (
        "acl|deluser",
        &["request_policy:all_nodes", "response_policy:all_succeeded"],
    ),
    (
        "acl|save",
        &["request_policy:all_nodes", "response_policy:all_succeeded"],
    ),
    (
        "acl|setuser",
        &["request_policy:all_nodes", "response_policy:all_succeeded"],
    ),
    ("client|info", &["nondeterministic_output"]),
    ("client|list", &["nondeterministic_output"]),
    (
        "client|setinfo",
        &["request_policy:all_nodes", "response_policy:all_succeeded"],
    ),
    (
        "client|setname",
        &["request_policy:all_nodes", "response_policy:all_succeeded"],
    ),
    ("cluster|bumpepoch", &["nondeterministic_output"]),
    (
        "cluster|count-failure-reports",
        &["nondeterministic_output"],
    ),
    ("cluster|getkeysinslot", &["nondeterministic_output"]),
    ("cluster|info", &["nondeterministic_output"]),
    ("cluster|links", &["nondeterministic_output"]),
    ("cluster|myshardid", &["nondeterministic_output"]),
    ("cluster|nodes", &["nondeterministic_output"]),
    ("cluster|replicas", &["nondeterministic_output"]),
    ("cluster|shards", &["nondeterministic_output"]),
    ("cluster|slaves", &["nondeterministic_output"]),
    (
        "cluster|slot-stats",
        &["nondeterministic_output", "request_policy:all_shards"],
    ),
    ("cluster|slots", &["nondeterministic_output"]),
    ("command", &["nondeterministic_output_order"]),
    ("command|docs", &["nondeterministic_output_order"]),
    ("command|info", &["nondeterministic_output_order"]),
    ("command|list", &["nondeterministic_output_order"]),
    (
        "config|resetstat",
        &["request_policy:all_nodes", "response_policy:all_succeeded"],
    ),
    (
        "config|rewrite",
        &["request_policy:all_nodes", "response_policy:all_succeeded"],
    ),
    (
        "config|set",
        &["request_policy:all_nodes", "response_policy:all_succeeded"],
    ),
    (
        "dbsize",
        &["request_policy:all_shards", "response_policy:agg_sum"],
    ),
    (
        "del",
        &["request_policy:multi_shard", "response_policy:agg_sum"],
    ),
    ("dump", &["nondeterministic_output"]),
    (
        "exists",
        &["request_policy:multi_shard", "response_policy:agg_sum"],
    ),
    (
        "flushall",
        &["request_policy:all_shards", "response_policy:all_succeeded"],
    ),
    (
        "flushdb",
        &["request_policy:all_shards", "response_policy:all_succeeded"],
    ),
    (
        "function|delete",
        &["request_policy:all_shards", "response_policy:all_succeeded"],
    ),
    (
        "function|flush",
        &["request_policy:all_shards", "response_policy:all_succeeded"],
    ),
    (
        "function|kill",
        &["request_policy:all_shards", "response_policy:one_succeeded"],
    ),
    ("function|list", &["nondeterministic_output_order"]),
    (
        "function|load",
        &["request_policy:all_shards", "response_policy:all_succeeded"],
    ),
    (
        "function|restore",
        &["request_policy:all_shards", "response_policy:all_succeeded"],
    ),
    (
        "function|stats",
        &[
            "nondeterministic_output",
            "request_policy:all_shards",
            "response_policy:special",
        ],
    ),
    ("hgetall", &["nondeterministic_output_order"]),
    ("hkeys", &["nondeterministic_output_order"]),
    ("hrandfield", &["nondeterministic_output"]),
    ("hscan", &["nondeterministic_output"]),
    ("hvals", &["nondeterministic_output_order"]),
    (
        "info",
        &[
            "nondeterministic_output",
            "request_policy:all_shards",
            "response_policy:special",
        ],
    ),
    (
        "keys",
        &["request_policy:all_shards", "nondeterministic_output_order"],
    ),
    ("lastsave", &["nondeterministic_output"]),
    (
        "latency|doctor",
        &[
            "nondeterministic_output",
            "request_policy:all_nodes",
            "response_policy:special",
        ],
    ),
    (
        "latency|graph",
        &[
            "nondeterministic_output",
            "request_policy:all_nodes",
            "response_policy:special",
        ],
    ),
    (
        "latency|histogram",
        &[
            "nondeterministic_output",
            "request_policy:all_nodes",
            "response_policy:special",
        ],
    ),
    (
        "latency|history",
        &[
            "nondeterministic_output",
            "request_policy:all_nodes",
            "response_policy:special",
        ],
    ),
    (
        "latency|latest",
        &[
            "nondeterministic_output",
            "request_policy:all_nodes",
            "response_policy:special",
        ],
    ),
    (
        "latency|reset",
        &["request_policy:all_nodes", "response_policy:agg_sum"],
    ),
    (
        "memory|doctor",
        &[
            "nondeterministic_output",
            "request_policy:all_shards",
            "response_policy:special",
        ],
    ),
    (
        "memory|malloc-stats",
        &[
            "nondeterministic_output",
            "request_policy:all_shards",
            "response_policy:special",
        ],
    ),
    (
        "memory|purge",
        &["request_policy:all_shards", "response_policy:all_succeeded"],
    ),
    (
        "memory|stats",
        &[
            "nondeterministic_output",
            "request_policy:all_shards",
            "response_policy:special",
        ],
    ),
    ("mget", &["request_policy:multi_shard"]),
    ("migrate", &["nondeterministic_output"]),
    (
        "mset",
        &[
            "request_policy:multi_shard",
            "response_policy:all_succeeded",
        ],
    ),
    ("object|encoding", &["nondeterministic_output"]),
    ("object|freq", &["nondeterministic_output"]),
    ("object|idletime", &["nondeterministic_output"]),
    ("object|refcount", &["nondeterministic_output"]),
    (
        "ping",
        &["request_policy:all_shards", "response_policy:all_succeeded"],
    ),
    ("pttl", &["nondeterministic_output"]),
    (
        "randomkey",
        &[
            "request_policy:all_shards",
            "response_policy:special",
            "nondeterministic_output",
        ],
    ),
    (
        "scan",
        &[
            "nondeterministic_output",
            "request_policy:special",
            "response_policy:special",
        ],
    ),
    (
        "script|exists",
        &[
            "request_policy:all_shards",
            "response_policy:agg_logical_and",
        ],
    ),
    (
        "script|flush",
        &["request_policy:all_nodes", "response_policy:all_succeeded"],
    ),
    (
        "script|kill",
        &["request_policy:all_shards", "response_policy:one_succeeded"],
    ),
    (
        "script|load",
        &["request_policy:all_nodes", "response_policy:all_succeeded"],
    ),
    ("sdiff", &["nondeterministic_output_order"]),
    ("sinter", &["nondeterministic_output_order"]),
    (
        "slowlog|get",
        &["request_policy:all_nodes", "nondeterministic_output"],
    ),
    (
        "slowlog|len",
        &[
            "request_policy:all_nodes",
            "response_policy:agg_sum",
            "nondeterministic_output",
        ],
    ),
    (
        "slowlog|reset",
        &["request_policy:all_nodes", "response_policy:all_succeeded"],
    ),
    ("smembers", &["nondeterministic_output_order"]),
    ("spop", &["nondeterministic_output"]),
    ("srandmember", &["nondeterministic_output"]),
    ("sscan", &["nondeterministic_output"]),
    ("sunion", &["nondeterministic_output_order"]),
    ("time", &["nondeterministic_output"]),
    (
        "touch",
        &["request_policy:multi_shard", "response_policy:agg_sum"],
    ),
    ("ttl", &["nondeterministic_output"]),
    (
        "unlink",
        &["request_policy:multi_shard", "response_policy:agg_sum"],
    ),
    (
        "wait",
        &["request_policy:all_shards", "response_policy:agg_min"],
    ),
    (
        "waitaof",
        &["request_policy:all_shards", "response_policy:agg_min"],
    ),
    ("xadd", &["nondeterministic_output"]),
    ("xautoclaim", &["nondeterministic_output"]),
    ("xclaim", &["nondeterministic_output"]),
    ("xinfo|consumers", &["nondeterministic_output"]),
    ("xpending", &["nondeterministic_output"]),
    ("xtrim", &["nondeterministic_output"]),
    ("zrandmember", &["nondeterministic_output"]),
    ("zscan", &["nondeterministic_output"]),
];

/// Notes of a command's first key spec.
pub static KEY_NOTES: &[(&str, &str)] = &[
    ("bitfield", "This command allows both access and modification of the key"),
    ("eval", "We cannot tell how the keys will be used so we assume the worst, RW and UPDATE"),
    ("eval_ro", "We cannot tell how the keys will be used so we assume the worst, RO and ACCESS"),
    ("fcall", "We cannot tell how the keys will be used so we assume the worst, RW and UPDATE"),
    ("fcall_ro", "We cannot tell how the keys will be used so we assume the worst, RO and ACCESS"),
    ("getex", "RW and UPDATE because it changes the TTL"),
    ("pfcount", "RW because it may change the internal representation of the key, and propagate to replicas"),
    ("set", "RW and ACCESS due to the optional `GET` argument"),
    ("sort", "For the optional BY/GET keyword. It is marked 'unknown' because the key names derive from the content of the key we sort"),
    ("sort_ro", "For the optional BY/GET keyword. It is marked 'unknown' because the key names derive from the content of the key we sort"),
    ("xadd", "UPDATE instead of INSERT because of the optional trimming feature"),
];

pub fn tips(full_name: &str) -> &'static [&'static str] {
    TIPS.iter()
        .find(|(n, _)| *n == full_name)
        .map_or(&[], |(_, t)| t)
}

pub fn key_note(full_name: &str) -> Option<&'static str> {
    KEY_NOTES
        .iter()
        .find(|(n, _)| *n == full_name)
        .map(|(_, t)| *t)
}
