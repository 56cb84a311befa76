//! Rows of the commands the server crate implements (connection, transactions, pub/sub,
//! configuration, introspection, persistence and replication). Data commands live in their
//! family modules.

use bytes::Bytes;

use crate::row;
use crate::spec::{acl, flags as f, CommandSpec, Handler, Keys, ServerCmd};

macro_rules! container {
    ($name:expr, $arity:expr, $group:expr, $since:expr, $summary:expr, $subs:expr) => {
        CommandSpec {
            name: $name,
            arity: $arity,
            flags: 0,
            acl: 0,
            keys: Keys::NONE,
            handler: Handler::Container,
            subcommands: $subs,
            group: $group,
            since: $since,
            summary: $summary,
        }
    };
}

static PUBSUB_SUBS: &[CommandSpec] = &[
    row!(
        "channels",
        -2,
        f::PUBSUB | f::LOADING | f::STALE,
        0,
        Keys::NONE,
        "pubsub",
        "2.8.0",
        "Returns the active channels.",
        Handler::Server(ServerCmd::Pubsub)
    ),
    row!(
        "numpat",
        2,
        f::PUBSUB | f::LOADING | f::STALE,
        0,
        Keys::NONE,
        "pubsub",
        "2.8.0",
        "Returns a count of unique pattern subscriptions.",
        Handler::Server(ServerCmd::Pubsub)
    ),
    row!(
        "numsub",
        -2,
        f::PUBSUB | f::LOADING | f::STALE,
        0,
        Keys::NONE,
        "pubsub",
        "2.8.0",
        "Returns a count of subscribers to channels.",
        Handler::Server(ServerCmd::Pubsub)
    ),
    row!(
        "shardchannels",
        -2,
        f::PUBSUB | f::LOADING | f::STALE,
        0,
        Keys::NONE,
        "pubsub",
        "7.0.0",
        "Returns the active shard channels.",
        Handler::Server(ServerCmd::Pubsub)
    ),
    row!(
        "shardnumsub",
        -2,
        f::PUBSUB | f::LOADING | f::STALE,
        0,
        Keys::NONE,
        "pubsub",
        "7.0.0",
        "Returns the count of subscribers of shard channels.",
        Handler::Server(ServerCmd::Pubsub)
    ),
    row!(
        "help",
        2,
        f::LOADING | f::STALE,
        0,
        Keys::NONE,
        "pubsub",
        "6.2.0",
        "Returns helpful text about the different subcommands.",
        Handler::Server(ServerCmd::Pubsub)
    ),
];

/// CLUSTER's subcommands (Valkey 8.0.1's table). Redwing has no cluster mode: every one
/// replies as a Valkey started without `cluster-enabled` does.
static CLUSTER_SUBS: &[CommandSpec] = &[
    row!(
        "addslots",
        -3,
        f::NO_ASYNC_LOADING | f::ADMIN | f::STALE,
        0,
        Keys::NONE,
        "cluster",
        "3.0.0",
        "Assigns new hash slots to a node.",
        Handler::Server(ServerCmd::Cluster)
    ),
    row!(
        "addslotsrange",
        -4,
        f::NO_ASYNC_LOADING | f::ADMIN | f::STALE,
        0,
        Keys::NONE,
        "cluster",
        "7.0.0",
        "Assigns new hash slot ranges to a node.",
        Handler::Server(ServerCmd::Cluster)
    ),
    row!(
        "bumpepoch",
        2,
        f::NO_ASYNC_LOADING | f::ADMIN | f::STALE,
        0,
        Keys::NONE,
        "cluster",
        "3.0.0",
        "Advances the cluster config epoch.",
        Handler::Server(ServerCmd::Cluster)
    ),
    row!(
        "count-failure-reports",
        3,
        f::ADMIN | f::STALE,
        0,
        Keys::NONE,
        "cluster",
        "3.0.0",
        "Returns the number of active failure reports active for a node.",
        Handler::Server(ServerCmd::Cluster)
    ),
    row!(
        "countkeysinslot",
        3,
        f::STALE,
        0,
        Keys::NONE,
        "cluster",
        "3.0.0",
        "Returns the number of keys in a hash slot.",
        Handler::Server(ServerCmd::Cluster)
    ),
    row!(
        "delslots",
        -3,
        f::NO_ASYNC_LOADING | f::ADMIN | f::STALE,
        0,
        Keys::NONE,
        "cluster",
        "3.0.0",
        "Sets hash slots as unbound for a node.",
        Handler::Server(ServerCmd::Cluster)
    ),
    row!(
        "delslotsrange",
        -4,
        f::NO_ASYNC_LOADING | f::ADMIN | f::STALE,
        0,
        Keys::NONE,
        "cluster",
        "7.0.0",
        "Sets hash slot ranges as unbound for a node.",
        Handler::Server(ServerCmd::Cluster)
    ),
    row!(
        "failover",
        -2,
        f::NO_ASYNC_LOADING | f::ADMIN | f::STALE,
        0,
        Keys::NONE,
        "cluster",
        "3.0.0",
        "Forces a replica to perform a manual failover of its primary.",
        Handler::Server(ServerCmd::Cluster)
    ),
    row!(
        "flushslots",
        2,
        f::NO_ASYNC_LOADING | f::ADMIN | f::STALE,
        0,
        Keys::NONE,
        "cluster",
        "3.0.0",
        "Deletes all slots information from a node.",
        Handler::Server(ServerCmd::Cluster)
    ),
    row!(
        "forget",
        3,
        f::NO_ASYNC_LOADING | f::ADMIN | f::STALE,
        0,
        Keys::NONE,
        "cluster",
        "3.0.0",
        "Removes a node from the nodes table.",
        Handler::Server(ServerCmd::Cluster)
    ),
    row!(
        "getkeysinslot",
        4,
        f::STALE,
        0,
        Keys::NONE,
        "cluster",
        "3.0.0",
        "Returns the key names in a hash slot.",
        Handler::Server(ServerCmd::Cluster)
    ),
    row!(
        "help",
        2,
        f::LOADING | f::STALE,
        0,
        Keys::NONE,
        "cluster",
        "5.0.0",
        "Returns helpful text about the different subcommands.",
        Handler::Server(ServerCmd::Cluster)
    ),
    row!(
        "info",
        2,
        f::LOADING | f::STALE,
        0,
        Keys::NONE,
        "cluster",
        "3.0.0",
        "Returns information about the state of a node.",
        Handler::Server(ServerCmd::Cluster)
    ),
    row!(
        "keyslot",
        3,
        f::STALE,
        0,
        Keys::NONE,
        "cluster",
        "3.0.0",
        "Returns the hash slot for a key.",
        Handler::Server(ServerCmd::Cluster)
    ),
    row!(
        "links",
        2,
        f::STALE,
        0,
        Keys::NONE,
        "cluster",
        "7.0.0",
        "Returns a list of all TCP links to and from peer nodes.",
        Handler::Server(ServerCmd::Cluster)
    ),
    row!(
        "meet",
        -4,
        f::NO_ASYNC_LOADING | f::ADMIN | f::STALE,
        0,
        Keys::NONE,
        "cluster",
        "3.0.0",
        "Forces a node to handshake with another node.",
        Handler::Server(ServerCmd::Cluster)
    ),
    row!(
        "myid",
        2,
        f::LOADING | f::STALE,
        0,
        Keys::NONE,
        "cluster",
        "3.0.0",
        "Returns the ID of a node.",
        Handler::Server(ServerCmd::Cluster)
    ),
    row!(
        "myshardid",
        2,
        f::LOADING | f::STALE,
        0,
        Keys::NONE,
        "cluster",
        "7.2.0",
        "Returns the shard ID of a node.",
        Handler::Server(ServerCmd::Cluster)
    ),
    row!(
        "nodes",
        2,
        f::LOADING | f::STALE,
        0,
        Keys::NONE,
        "cluster",
        "3.0.0",
        "Returns the cluster configuration for a node.",
        Handler::Server(ServerCmd::Cluster)
    ),
    row!(
        "replicas",
        3,
        f::ADMIN | f::STALE,
        0,
        Keys::NONE,
        "cluster",
        "5.0.0",
        "Lists the replica nodes of a primary node.",
        Handler::Server(ServerCmd::Cluster)
    ),
    row!(
        "replicate",
        3,
        f::NO_ASYNC_LOADING | f::ADMIN | f::STALE,
        0,
        Keys::NONE,
        "cluster",
        "3.0.0",
        "Configure a node as replica of a primary node.",
        Handler::Server(ServerCmd::Cluster)
    ),
    row!(
        "reset",
        -2,
        f::ADMIN | f::STALE | f::NOSCRIPT,
        0,
        Keys::NONE,
        "cluster",
        "3.0.0",
        "Resets a node.",
        Handler::Server(ServerCmd::Cluster)
    ),
    row!(
        "saveconfig",
        2,
        f::NO_ASYNC_LOADING | f::ADMIN | f::STALE,
        0,
        Keys::NONE,
        "cluster",
        "3.0.0",
        "Forces a node to save the cluster configuration to disk.",
        Handler::Server(ServerCmd::Cluster)
    ),
    row!(
        "set-config-epoch",
        3,
        f::NO_ASYNC_LOADING | f::ADMIN | f::STALE,
        0,
        Keys::NONE,
        "cluster",
        "3.0.0",
        "Sets the configuration epoch for a new node.",
        Handler::Server(ServerCmd::Cluster)
    ),
    row!(
        "setslot",
        -4,
        f::NO_ASYNC_LOADING | f::ADMIN | f::STALE | f::MAY_REPLICATE,
        0,
        Keys::NONE,
        "cluster",
        "3.0.0",
        "Binds a hash slot to a node.",
        Handler::Server(ServerCmd::Cluster)
    ),
    row!(
        "shards",
        2,
        f::LOADING | f::STALE,
        0,
        Keys::NONE,
        "cluster",
        "7.0.0",
        "Returns the mapping of cluster slots to shards.",
        Handler::Server(ServerCmd::Cluster)
    ),
    row!(
        "slaves",
        3,
        f::ADMIN | f::STALE,
        0,
        Keys::NONE,
        "cluster",
        "3.0.0",
        "Lists the replica nodes of a primary node.",
        Handler::Server(ServerCmd::Cluster)
    ),
    row!(
        "slot-stats",
        -4,
        f::STALE | f::LOADING,
        0,
        Keys::NONE,
        "cluster",
        "8.0.0",
        "Return an array of slot usage statistics for slots assigned to the current node.",
        Handler::Server(ServerCmd::Cluster)
    ),
    row!(
        "slots",
        2,
        f::LOADING | f::STALE,
        0,
        Keys::NONE,
        "cluster",
        "3.0.0",
        "Returns the mapping of cluster slots to nodes.",
        Handler::Server(ServerCmd::Cluster)
    ),
];

static CLIENT_SUBS: &[CommandSpec] = &[
    row!(
        "id",
        2,
        f::NOSCRIPT | f::LOADING | f::STALE | f::SENTINEL,
        acl::CONNECTION,
        Keys::NONE,
        "connection",
        "5.0.0",
        "Returns the unique client ID of the connection.",
        Handler::Server(ServerCmd::Client)
    ),
    row!(
        "setname",
        3,
        f::NOSCRIPT | f::LOADING | f::STALE | f::SENTINEL,
        acl::CONNECTION,
        Keys::NONE,
        "connection",
        "2.6.9",
        "Sets the connection name.",
        Handler::Server(ServerCmd::Client)
    ),
    row!(
        "getname",
        2,
        f::NOSCRIPT | f::LOADING | f::STALE | f::SENTINEL,
        acl::CONNECTION,
        Keys::NONE,
        "connection",
        "2.6.9",
        "Returns the name of the connection.",
        Handler::Server(ServerCmd::Client)
    ),
    row!(
        "list",
        -2,
        f::ADMIN | f::NOSCRIPT | f::LOADING | f::STALE | f::SENTINEL,
        acl::CONNECTION,
        Keys::NONE,
        "connection",
        "2.4.0",
        "Lists open connections.",
        Handler::Server(ServerCmd::Client)
    ),
    row!(
        "info",
        2,
        f::NOSCRIPT | f::LOADING | f::STALE | f::SENTINEL,
        acl::CONNECTION,
        Keys::NONE,
        "connection",
        "6.2.0",
        "Returns information about the connection.",
        Handler::Server(ServerCmd::Client)
    ),
    row!(
        "kill",
        -3,
        f::ADMIN | f::NOSCRIPT | f::LOADING | f::STALE | f::SENTINEL,
        acl::CONNECTION,
        Keys::NONE,
        "connection",
        "2.4.0",
        "Terminates open connections.",
        Handler::Server(ServerCmd::Client)
    ),
    row!(
        "setinfo",
        4,
        f::NOSCRIPT | f::LOADING | f::STALE | f::SENTINEL,
        acl::CONNECTION,
        Keys::NONE,
        "connection",
        "7.2.0",
        "Sets information specific to the client or connection.",
        Handler::Server(ServerCmd::Client)
    ),
    row!(
        "pause",
        -3,
        f::ADMIN | f::NOSCRIPT | f::LOADING | f::STALE | f::SENTINEL,
        acl::CONNECTION,
        Keys::NONE,
        "connection",
        "3.0.0",
        "Suspends commands processing.",
        Handler::Server(ServerCmd::Client)
    ),
    row!(
        "unpause",
        2,
        f::ADMIN | f::NOSCRIPT | f::LOADING | f::STALE | f::SENTINEL,
        acl::CONNECTION,
        Keys::NONE,
        "connection",
        "6.2.0",
        "Resumes processing commands from paused clients.",
        Handler::Server(ServerCmd::Client)
    ),
    row!(
        "reply",
        3,
        f::NOSCRIPT | f::LOADING | f::STALE | f::SENTINEL,
        acl::CONNECTION,
        Keys::NONE,
        "connection",
        "3.2.0",
        "Instructs the server whether to reply to commands.",
        Handler::Server(ServerCmd::Client)
    ),
    row!(
        "no-evict",
        3,
        f::ADMIN | f::NOSCRIPT | f::LOADING | f::STALE | f::SENTINEL,
        acl::CONNECTION,
        Keys::NONE,
        "connection",
        "7.0.0",
        "Sets the client eviction mode of the connection.",
        Handler::Server(ServerCmd::Client)
    ),
    row!(
        "capa",
        -3,
        f::NOSCRIPT | f::LOADING | f::STALE,
        acl::CONNECTION,
        Keys::NONE,
        "connection",
        "8.0.0",
        "A client claims its capability.",
        Handler::Server(ServerCmd::Client)
    ),
    row!(
        "no-touch",
        3,
        f::NOSCRIPT | f::LOADING | f::STALE,
        acl::CONNECTION,
        Keys::NONE,
        "connection",
        "7.2.0",
        "Controls whether commands sent by the client affect the LRU/LFU of accessed keys.",
        Handler::Server(ServerCmd::Client)
    ),
    row!(
        "tracking",
        -3,
        f::NOSCRIPT | f::LOADING | f::STALE | f::SENTINEL,
        acl::CONNECTION,
        Keys::NONE,
        "connection",
        "6.0.0",
        "Controls server-assisted client-side caching for the connection.",
        Handler::Server(ServerCmd::Client)
    ),
    row!(
        "caching",
        3,
        f::NOSCRIPT | f::LOADING | f::STALE | f::SENTINEL,
        acl::CONNECTION,
        Keys::NONE,
        "connection",
        "6.0.0",
        "Instructs the server whether to track the keys in the next request.",
        Handler::Server(ServerCmd::Client)
    ),
    row!(
        "getredir",
        2,
        f::NOSCRIPT | f::LOADING | f::STALE | f::SENTINEL,
        acl::CONNECTION,
        Keys::NONE,
        "connection",
        "6.0.0",
        "Returns the client ID to which the connection's tracking notifications are redirected.",
        Handler::Server(ServerCmd::Client)
    ),
    row!(
        "trackinginfo",
        2,
        f::NOSCRIPT | f::LOADING | f::STALE | f::SENTINEL,
        acl::CONNECTION,
        Keys::NONE,
        "connection",
        "6.2.0",
        "Returns information about server-assisted client-side caching for the connection.",
        Handler::Server(ServerCmd::Client)
    ),
    row!(
        "unblock",
        -3,
        f::ADMIN | f::NOSCRIPT | f::LOADING | f::STALE | f::SENTINEL,
        acl::CONNECTION,
        Keys::NONE,
        "connection",
        "5.0.0",
        "Unblocks a client blocked by a blocking command from a different connection.",
        Handler::Server(ServerCmd::Client)
    ),
    row!(
        "help",
        2,
        f::LOADING | f::STALE | f::SENTINEL,
        acl::CONNECTION,
        Keys::NONE,
        "connection",
        "5.0.0",
        "Returns helpful text about the different subcommands.",
        Handler::Server(ServerCmd::Client)
    ),
];

/// ACL's subcommands (Valkey 8.0.1's `acl-*.json`).
#[rustfmt::skip]
static ACL_SUBS: &[CommandSpec] = &[
    row!("cat", -2, f::NOSCRIPT | f::LOADING | f::STALE | f::SENTINEL, 0, Keys::NONE, "server", "6.0.0", "Lists the ACL categories, or the commands inside a category.", Handler::Server(ServerCmd::Acl)),
    row!("deluser", -3, f::ADMIN | f::NOSCRIPT | f::LOADING | f::STALE | f::SENTINEL, 0, Keys::NONE, "server", "6.0.0", "Deletes ACL users, and terminates their connections.", Handler::Server(ServerCmd::Acl)),
    row!("dryrun", -4, f::ADMIN | f::NOSCRIPT | f::LOADING | f::STALE | f::SENTINEL, 0, Keys::NONE, "server", "7.0.0", "Simulates the execution of a command by a user, without executing the command.", Handler::Server(ServerCmd::Acl)),
    row!("genpass", -2, f::NOSCRIPT | f::LOADING | f::STALE | f::SENTINEL, 0, Keys::NONE, "server", "6.0.0", "Generates a pseudorandom, secure password that can be used to identify ACL users.", Handler::Server(ServerCmd::Acl)),
    row!("getuser", 3, f::ADMIN | f::NOSCRIPT | f::LOADING | f::STALE | f::SENTINEL, 0, Keys::NONE, "server", "6.0.0", "Lists the ACL rules of a user.", Handler::Server(ServerCmd::Acl)),
    row!("help", 2, f::LOADING | f::STALE | f::SENTINEL, 0, Keys::NONE, "server", "6.0.0", "Returns helpful text about the different subcommands.", Handler::Server(ServerCmd::Acl)),
    row!("list", 2, f::ADMIN | f::NOSCRIPT | f::LOADING | f::STALE | f::SENTINEL, 0, Keys::NONE, "server", "6.0.0", "Dumps the effective rules in ACL file format.", Handler::Server(ServerCmd::Acl)),
    row!("load", 2, f::ADMIN | f::NOSCRIPT | f::LOADING | f::STALE | f::SENTINEL, 0, Keys::NONE, "server", "6.0.0", "Reloads the rules from the configured ACL file.", Handler::Server(ServerCmd::Acl)),
    row!("log", -2, f::ADMIN | f::NOSCRIPT | f::LOADING | f::STALE | f::SENTINEL, 0, Keys::NONE, "server", "6.0.0", "Lists recent security events generated due to ACL rules.", Handler::Server(ServerCmd::Acl)),
    row!("save", 2, f::ADMIN | f::NOSCRIPT | f::LOADING | f::STALE | f::SENTINEL, 0, Keys::NONE, "server", "6.0.0", "Saves the effective ACL rules in the configured ACL file.", Handler::Server(ServerCmd::Acl)),
    row!("setuser", -3, f::ADMIN | f::NOSCRIPT | f::LOADING | f::STALE | f::SENTINEL, 0, Keys::NONE, "server", "6.0.0", "Creates and modifies an ACL user and its rules.", Handler::Server(ServerCmd::Acl)),
    row!("users", 2, f::ADMIN | f::NOSCRIPT | f::LOADING | f::STALE | f::SENTINEL, 0, Keys::NONE, "server", "6.0.0", "Lists all ACL users.", Handler::Server(ServerCmd::Acl)),
    row!("whoami", 2, f::NOSCRIPT | f::LOADING | f::STALE | f::SENTINEL, 0, Keys::NONE, "server", "6.0.0", "Returns the authenticated username of the current connection.", Handler::Server(ServerCmd::Acl)),
];

static CONFIG_SUBS: &[CommandSpec] = &[
    row!(
        "get",
        -3,
        f::ADMIN | f::NOSCRIPT | f::LOADING | f::STALE,
        0,
        Keys::NONE,
        "server",
        "2.0.0",
        "Returns the effective values of configuration parameters.",
        Handler::Server(ServerCmd::Config)
    ),
    row!(
        "set",
        -4,
        f::ADMIN | f::NOSCRIPT | f::LOADING | f::STALE,
        0,
        Keys::NONE,
        "server",
        "2.0.0",
        "Sets configuration parameters in-flight.",
        Handler::Server(ServerCmd::Config)
    ),
    row!(
        "resetstat",
        2,
        f::ADMIN | f::NOSCRIPT | f::LOADING | f::STALE,
        0,
        Keys::NONE,
        "server",
        "2.0.0",
        "Resets the server's statistics.",
        Handler::Server(ServerCmd::Config)
    ),
    row!(
        "rewrite",
        2,
        f::ADMIN | f::NOSCRIPT | f::LOADING | f::STALE,
        0,
        Keys::NONE,
        "server",
        "2.8.0",
        "Persists the effective configuration to file.",
        Handler::Server(ServerCmd::Config)
    ),
    row!(
        "help",
        2,
        f::LOADING | f::STALE,
        0,
        Keys::NONE,
        "server",
        "5.0.0",
        "Returns helpful text about the different subcommands.",
        Handler::Server(ServerCmd::Config)
    ),
];

static COMMAND_SUBS: &[CommandSpec] = &[
    row!(
        "count",
        2,
        f::LOADING | f::STALE | f::SENTINEL,
        acl::CONNECTION,
        Keys::NONE,
        "server",
        "2.8.13",
        "Returns a count of commands.",
        Handler::Server(ServerCmd::Command)
    ),
    row!(
        "info",
        -2,
        f::LOADING | f::STALE | f::SENTINEL,
        acl::CONNECTION,
        Keys::NONE,
        "server",
        "2.8.13",
        "Returns information about one, multiple or all commands.",
        Handler::Server(ServerCmd::Command)
    ),
    row!(
        "docs",
        -2,
        f::LOADING | f::STALE | f::SENTINEL,
        acl::CONNECTION,
        Keys::NONE,
        "server",
        "7.0.0",
        "Returns documentary information about one, multiple or all commands.",
        Handler::Server(ServerCmd::Command)
    ),
    row!(
        "getkeys",
        -3,
        f::LOADING | f::STALE | f::SENTINEL,
        acl::CONNECTION,
        Keys::NONE,
        "server",
        "2.8.13",
        "Extracts the key names from an arbitrary command.",
        Handler::Server(ServerCmd::Command)
    ),
    row!(
        "getkeysandflags",
        -3,
        f::LOADING | f::STALE | f::SENTINEL,
        acl::CONNECTION,
        Keys::NONE,
        "server",
        "7.0.0",
        "Extracts the key names and access flags for an arbitrary command.",
        Handler::Server(ServerCmd::Command)
    ),
    row!(
        "list",
        -2,
        f::LOADING | f::STALE | f::SENTINEL,
        acl::CONNECTION,
        Keys::NONE,
        "server",
        "7.0.0",
        "Returns a list of command names.",
        Handler::Server(ServerCmd::Command)
    ),
    row!(
        "help",
        2,
        f::LOADING | f::STALE | f::SENTINEL,
        acl::CONNECTION,
        Keys::NONE,
        "server",
        "5.0.0",
        "Returns helpful text about the different subcommands.",
        Handler::Server(ServerCmd::Command)
    ),
];

static SLOWLOG_SUBS: &[CommandSpec] = &[
    row!(
        "get",
        -2,
        f::ADMIN | f::LOADING | f::STALE,
        0,
        Keys::NONE,
        "server",
        "2.2.12",
        "Returns the slow log's entries.",
        Handler::Server(ServerCmd::Slowlog)
    ),
    row!(
        "len",
        2,
        f::ADMIN | f::LOADING | f::STALE,
        0,
        Keys::NONE,
        "server",
        "2.2.12",
        "Returns the number of entries in the slow log.",
        Handler::Server(ServerCmd::Slowlog)
    ),
    row!(
        "reset",
        2,
        f::ADMIN | f::LOADING | f::STALE,
        0,
        Keys::NONE,
        "server",
        "2.2.12",
        "Clears all entries from the slow log.",
        Handler::Server(ServerCmd::Slowlog)
    ),
    row!(
        "help",
        2,
        f::LOADING | f::STALE,
        0,
        Keys::NONE,
        "server",
        "6.2.0",
        "Show helpful text about the different subcommands",
        Handler::Server(ServerCmd::Slowlog)
    ),
];

static LATENCY_SUBS: &[CommandSpec] = &[
    row!(
        "latest",
        2,
        f::ADMIN | f::NOSCRIPT | f::LOADING | f::STALE,
        0,
        Keys::NONE,
        "server",
        "2.8.13",
        "Returns the latest latency samples for all events.",
        Handler::Server(ServerCmd::Latency)
    ),
    row!(
        "history",
        3,
        f::ADMIN | f::NOSCRIPT | f::LOADING | f::STALE,
        0,
        Keys::NONE,
        "server",
        "2.8.13",
        "Returns timestamp-latency samples for an event.",
        Handler::Server(ServerCmd::Latency)
    ),
    row!(
        "reset",
        -2,
        f::ADMIN | f::NOSCRIPT | f::LOADING | f::STALE,
        0,
        Keys::NONE,
        "server",
        "2.8.13",
        "Resets the latency data for one or more events.",
        Handler::Server(ServerCmd::Latency)
    ),
    row!(
        "doctor",
        2,
        f::ADMIN | f::NOSCRIPT | f::LOADING | f::STALE,
        0,
        Keys::NONE,
        "server",
        "2.8.13",
        "Returns a human-readable latency analysis report.",
        Handler::Server(ServerCmd::Latency)
    ),
    row!(
        "graph",
        3,
        f::ADMIN | f::NOSCRIPT | f::LOADING | f::STALE,
        0,
        Keys::NONE,
        "server",
        "2.8.13",
        "Returns a latency graph for an event.",
        Handler::Server(ServerCmd::Latency)
    ),
    row!(
        "histogram",
        -2,
        f::ADMIN | f::NOSCRIPT | f::LOADING | f::STALE,
        0,
        Keys::NONE,
        "server",
        "7.0.0",
        "Returns the cumulative distribution of latencies of a subset or all commands.",
        Handler::Server(ServerCmd::Latency)
    ),
    row!(
        "help",
        2,
        f::LOADING | f::STALE,
        0,
        Keys::NONE,
        "server",
        "2.8.13",
        "Returns helpful text about the different subcommands.",
        Handler::Server(ServerCmd::Latency)
    ),
];

static MEMORY_SUBS: &[CommandSpec] = &[
    row!(
        "usage",
        -3,
        f::READONLY,
        0,
        Keys::range(2, 0, 1, &["RO"]),
        "server",
        "4.0.0",
        "Estimates the memory usage of a key.",
        Handler::Server(ServerCmd::Memory)
    ),
    row!(
        "stats",
        2,
        0,
        0,
        Keys::NONE,
        "server",
        "4.0.0",
        "Returns details about memory usage.",
        Handler::Server(ServerCmd::Memory)
    ),
    row!(
        "doctor",
        2,
        0,
        0,
        Keys::NONE,
        "server",
        "4.0.0",
        "Outputs a memory problems report.",
        Handler::Server(ServerCmd::Memory)
    ),
    row!(
        "purge",
        2,
        0,
        0,
        Keys::NONE,
        "server",
        "4.0.0",
        "Asks the allocator to release memory.",
        Handler::Server(ServerCmd::Memory)
    ),
    row!(
        "malloc-stats",
        2,
        0,
        0,
        Keys::NONE,
        "server",
        "4.0.0",
        "Returns the allocator statistics.",
        Handler::Server(ServerCmd::Memory)
    ),
    row!(
        "help",
        2,
        f::LOADING | f::STALE,
        0,
        Keys::NONE,
        "server",
        "4.0.0",
        "Returns helpful text about the different subcommands.",
        Handler::Server(ServerCmd::Memory)
    ),
];

static OBJECT_SUBS: &[CommandSpec] = &[
    row!(
        "encoding",
        3,
        f::READONLY,
        acl::KEYSPACE,
        Keys::range(2, 0, 1, &["RO"]),
        "generic",
        "2.2.3",
        "Returns the internal encoding of an object.",
        Handler::Server(ServerCmd::Object)
    ),
    row!(
        "refcount",
        3,
        f::READONLY,
        acl::KEYSPACE,
        Keys::range(2, 0, 1, &["RO"]),
        "generic",
        "2.2.3",
        "Returns the reference count of a value of a key.",
        Handler::Server(ServerCmd::Object)
    ),
    row!(
        "idletime",
        3,
        f::READONLY,
        acl::KEYSPACE,
        Keys::range(2, 0, 1, &["RO"]),
        "generic",
        "2.2.3",
        "Returns the time since the last access to an object.",
        Handler::Server(ServerCmd::Object)
    ),
    row!(
        "freq",
        3,
        f::READONLY,
        acl::KEYSPACE,
        Keys::range(2, 0, 1, &["RO"]),
        "generic",
        "4.0.0",
        "Returns the logarithmic access frequency counter of an object.",
        Handler::Server(ServerCmd::Object)
    ),
    row!(
        "help",
        2,
        f::LOADING | f::STALE,
        acl::KEYSPACE,
        Keys::NONE,
        "generic",
        "6.2.0",
        "Returns helpful text about the different subcommands.",
        Handler::Server(ServerCmd::Object)
    ),
];

/// Keys of EVAL/EVALSHA/FCALL and their `_RO` forms: `numkeys` at 2, the keys after it (none
/// when the count is not a usable number).
fn script_keys(argv: &[Bytes]) -> Vec<usize> {
    let n = argv
        .get(2)
        .and_then(|n| resp::request::parse_i64(n))
        .unwrap_or(0);
    let avail = argv.len().saturating_sub(3);
    // More keys than arguments: none (the command reports the error), as Valkey's key specs.
    match usize::try_from(n) {
        Ok(n) if n <= avail => (3..3 + n).collect(),
        _ => Vec::new(),
    }
}

/// MIGRATE's keys (Valkey's `migrateGetKeys`): the key argument, or with `KEYS` (searched
/// from the sixth argument, stepping over the values of AUTH and AUTH2) every argument after
/// it — none when the key argument is not empty then, which MIGRATE itself refuses.
fn migrate_keys(argv: &[Bytes]) -> Vec<usize> {
    let mut i = 6;
    while i < argv.len() {
        let word = &argv[i];
        if word.eq_ignore_ascii_case(b"keys") {
            if !argv[3].is_empty() {
                return Vec::new();
            }
            return (i + 1..argv.len()).collect();
        }
        if word.eq_ignore_ascii_case(b"auth") {
            i += 1;
        } else if word.eq_ignore_ascii_case(b"auth2") {
            i += 2;
        }
        i += 1;
    }
    if argv.len() > 3 {
        vec![3]
    } else {
        Vec::new()
    }
}

const SCRIPT_RW: &[&str] = &["RW", "ACCESS", "UPDATE"];
const SCRIPT_RO: &[&str] = &["RO", "ACCESS"];

static SCRIPT_SUBS: &[CommandSpec] = &[
    row!(
        "exists",
        -3,
        f::NOSCRIPT,
        acl::SCRIPTING,
        Keys::NONE,
        "scripting",
        "2.6.0",
        "Determines whether server-side Lua scripts exist in the script cache.",
        Handler::Server(ServerCmd::Script)
    ),
    row!(
        "flush",
        -2,
        f::NOSCRIPT,
        acl::SCRIPTING,
        Keys::NONE,
        "scripting",
        "2.6.0",
        "Removes all server-side Lua scripts from the script cache.",
        Handler::Server(ServerCmd::Script)
    ),
    row!(
        "help",
        2,
        f::LOADING | f::STALE,
        acl::SCRIPTING,
        Keys::NONE,
        "scripting",
        "5.0.0",
        "Returns helpful text about the different subcommands.",
        Handler::Server(ServerCmd::Script)
    ),
    row!(
        "kill",
        2,
        f::NOSCRIPT | f::ALLOW_BUSY,
        acl::SCRIPTING,
        Keys::NONE,
        "scripting",
        "2.6.0",
        "Terminates a server-side Lua script during execution.",
        Handler::Server(ServerCmd::Script)
    ),
    row!(
        "load",
        3,
        f::NOSCRIPT | f::STALE,
        acl::SCRIPTING,
        Keys::NONE,
        "scripting",
        "2.6.0",
        "Loads a server-side Lua script to the script cache.",
        Handler::Server(ServerCmd::Script)
    ),
    row!(
        "show",
        3,
        f::NOSCRIPT,
        acl::SCRIPTING,
        Keys::NONE,
        "scripting",
        "8.0.0",
        "Show server-side Lua script in the script cache.",
        Handler::Server(ServerCmd::Script)
    ),
];

static FUNCTION_SUBS: &[CommandSpec] = &[
    row!(
        "delete",
        3,
        f::NOSCRIPT | f::WRITE,
        acl::SCRIPTING,
        Keys::NONE,
        "scripting",
        "7.0.0",
        "Deletes a library and its functions.",
        Handler::Server(ServerCmd::Function)
    ),
    row!(
        "dump",
        2,
        f::NOSCRIPT,
        acl::SCRIPTING,
        Keys::NONE,
        "scripting",
        "7.0.0",
        "Dumps all libraries into a serialized binary payload.",
        Handler::Server(ServerCmd::Function)
    ),
    row!(
        "flush",
        -2,
        f::NOSCRIPT | f::WRITE,
        acl::SCRIPTING,
        Keys::NONE,
        "scripting",
        "7.0.0",
        "Deletes all libraries and functions.",
        Handler::Server(ServerCmd::Function)
    ),
    row!(
        "help",
        2,
        f::LOADING | f::STALE,
        acl::SCRIPTING,
        Keys::NONE,
        "scripting",
        "7.0.0",
        "Returns helpful text about the different subcommands.",
        Handler::Server(ServerCmd::Function)
    ),
    row!(
        "kill",
        2,
        f::NOSCRIPT | f::ALLOW_BUSY,
        acl::SCRIPTING,
        Keys::NONE,
        "scripting",
        "7.0.0",
        "Terminates a function during execution.",
        Handler::Server(ServerCmd::Function)
    ),
    row!(
        "list",
        -2,
        f::NOSCRIPT,
        acl::SCRIPTING,
        Keys::NONE,
        "scripting",
        "7.0.0",
        "Returns information about all libraries.",
        Handler::Server(ServerCmd::Function)
    ),
    row!(
        "load",
        -3,
        f::NOSCRIPT | f::WRITE | f::DENYOOM,
        acl::SCRIPTING,
        Keys::NONE,
        "scripting",
        "7.0.0",
        "Creates a library.",
        Handler::Server(ServerCmd::Function)
    ),
    row!(
        "restore",
        -3,
        f::NOSCRIPT | f::WRITE | f::DENYOOM,
        acl::SCRIPTING,
        Keys::NONE,
        "scripting",
        "7.0.0",
        "Restores all libraries from a payload.",
        Handler::Server(ServerCmd::Function)
    ),
    row!(
        "stats",
        2,
        f::NOSCRIPT | f::ALLOW_BUSY,
        acl::SCRIPTING,
        Keys::NONE,
        "scripting",
        "7.0.0",
        "Returns information about a function during execution.",
        Handler::Server(ServerCmd::Function)
    ),
];

pub static COMMANDS: &[CommandSpec] = &[
    row!("auth", -2, f::NOSCRIPT | f::LOADING | f::STALE | f::FAST | f::NO_AUTH | f::SENTINEL | f::ALLOW_BUSY, acl::CONNECTION, Keys::NONE, "connection", "1.0.0", "Authenticates the connection.", Handler::Server(ServerCmd::Auth)),
    row!("hello", -1, f::NOSCRIPT | f::LOADING | f::STALE | f::FAST | f::NO_AUTH | f::SENTINEL | f::ALLOW_BUSY, acl::CONNECTION, Keys::NONE, "connection", "6.0.0", "Handshakes with the server.", Handler::Server(ServerCmd::Hello)),
    row!("ping", -1, f::FAST | f::SENTINEL, acl::CONNECTION, Keys::NONE, "connection", "1.0.0", "Returns the server's liveliness response.", Handler::Server(ServerCmd::Ping)),
    row!("echo", 2, f::LOADING | f::STALE | f::FAST, acl::CONNECTION, Keys::NONE, "connection", "1.0.0", "Returns the given string.", Handler::Server(ServerCmd::Echo)),
    row!("quit", -1, f::ALLOW_BUSY | f::NOSCRIPT | f::LOADING | f::STALE | f::FAST | f::NO_AUTH, acl::CONNECTION, Keys::NONE, "connection", "1.0.0", "Closes the connection.", Handler::Server(ServerCmd::Quit)),
    row!("reset", 1, f::NOSCRIPT | f::LOADING | f::STALE | f::FAST | f::NO_AUTH | f::ALLOW_BUSY, acl::CONNECTION, Keys::NONE, "connection", "6.2.0", "Resets the connection.", Handler::Server(ServerCmd::Reset)),
    row!("select", 2, f::LOADING | f::STALE | f::FAST, acl::CONNECTION, Keys::NONE, "connection", "1.0.0", "Changes the selected database.", Handler::Server(ServerCmd::Select)),
    row!("multi", 1, f::NOSCRIPT | f::LOADING | f::STALE | f::FAST | f::NO_MULTI | f::ALLOW_BUSY, acl::TRANSACTION, Keys::NONE, "transactions", "1.2.0", "Starts a transaction.", Handler::Server(ServerCmd::Multi)),
    row!("exec", 1, f::NOSCRIPT | f::LOADING | f::STALE | f::SKIP_SLOWLOG, acl::TRANSACTION, Keys::NONE, "transactions", "1.2.0", "Executes all commands in a transaction.", Handler::Server(ServerCmd::Exec)),
    row!("discard", 1, f::NOSCRIPT | f::LOADING | f::STALE | f::FAST | f::ALLOW_BUSY, acl::TRANSACTION, Keys::NONE, "transactions", "2.0.0", "Discards a transaction.", Handler::Server(ServerCmd::Discard)),
    row!("watch", -2, f::NOSCRIPT | f::LOADING | f::STALE | f::FAST | f::NO_MULTI | f::ALLOW_BUSY, acl::TRANSACTION, Keys::range(1, -1, 1, &["RO"]), "transactions", "2.2.0", "Monitors changes to keys to determine the execution of a transaction.", Handler::Server(ServerCmd::Watch)),
    row!("unwatch", 1, f::NOSCRIPT | f::LOADING | f::STALE | f::FAST | f::ALLOW_BUSY, acl::TRANSACTION, Keys::NONE, "transactions", "2.2.0", "Forgets about watched keys of a transaction.", Handler::Server(ServerCmd::Unwatch)),
    row!("subscribe", -2, f::PUBSUB | f::NOSCRIPT | f::LOADING | f::STALE | f::SENTINEL, 0, Keys::NONE, "pubsub", "2.0.0", "Listens for messages published to channels.", Handler::Server(ServerCmd::Subscribe)),
    row!("unsubscribe", -1, f::PUBSUB | f::NOSCRIPT | f::LOADING | f::STALE | f::SENTINEL, 0, Keys::NONE, "pubsub", "2.0.0", "Stops listening to messages posted to channels.", Handler::Server(ServerCmd::Unsubscribe)),
    row!("psubscribe", -2, f::PUBSUB | f::NOSCRIPT | f::LOADING | f::STALE | f::SENTINEL, 0, Keys::NONE, "pubsub", "2.0.0", "Listens for messages published to channels that match one or more patterns.", Handler::Server(ServerCmd::Psubscribe)),
    row!("punsubscribe", -1, f::PUBSUB | f::NOSCRIPT | f::LOADING | f::STALE | f::SENTINEL, 0, Keys::NONE, "pubsub", "2.0.0", "Stops listening to messages published to channels that match one or more patterns.", Handler::Server(ServerCmd::Punsubscribe)),
    row!("ssubscribe", -2, f::PUBSUB | f::NOSCRIPT | f::LOADING | f::STALE, 0, Keys::range(1, -1, 1, &["NOT_KEY"]), "pubsub", "7.0.0", "Listens for messages published to shard channels.", Handler::Server(ServerCmd::Ssubscribe)),
    row!("sunsubscribe", -1, f::PUBSUB | f::NOSCRIPT | f::LOADING | f::STALE, 0, Keys::range(1, -1, 1, &["NOT_KEY"]), "pubsub", "7.0.0", "Stops listening to messages posted to shard channels.", Handler::Server(ServerCmd::Sunsubscribe)),
    row!("spublish", 3, f::PUBSUB | f::LOADING | f::STALE | f::FAST | f::MAY_REPLICATE, 0, Keys::range(1, 0, 1, &["NOT_KEY"]), "pubsub", "7.0.0", "Post a message to a shard channel", Handler::Server(ServerCmd::Spublish)),
    row!("publish", 3, f::PUBSUB | f::LOADING | f::STALE | f::FAST | f::MAY_REPLICATE | f::SENTINEL, 0, Keys::NONE, "pubsub", "2.0.0", "Posts a message to a channel.", Handler::Server(ServerCmd::Publish)),
    container!("pubsub", -2, "pubsub", "2.8.0", "A container for Pub/Sub commands.", PUBSUB_SUBS),
    container!("client", -2, "connection", "2.4.0", "A container for client connection commands.", CLIENT_SUBS),
    row!("asking", 1, f::FAST, acl::CONNECTION, Keys::NONE, "cluster", "3.0.0", "Signals that a cluster client is following an -ASK redirect.", Handler::Server(ServerCmd::Asking)),
    row!("readonly", 1, f::FAST | f::LOADING | f::STALE, acl::CONNECTION, Keys::NONE, "cluster", "3.0.0", "Enables read-only queries for a connection to a Valkey replica node.", Handler::Server(ServerCmd::Readonly)),
    row!("readwrite", 1, f::FAST | f::LOADING | f::STALE, acl::CONNECTION, Keys::NONE, "cluster", "3.0.0", "Enables read-write queries for a connection to a Valkey replica node.", Handler::Server(ServerCmd::Readwrite)),
    container!("cluster", -2, "cluster", "3.0.0", "A container for Cluster commands.", CLUSTER_SUBS),
    container!("config", -2, "server", "2.0.0", "A container for server configuration commands.", CONFIG_SUBS),
    container!("acl", -2, "server", "6.0.0", "A container for Access List Control commands.", ACL_SUBS),
    row!("info", -1, f::LOADING | f::STALE | f::SENTINEL, acl::DANGEROUS, Keys::NONE, "server", "1.0.0", "Returns information and statistics about the server.", Handler::Server(ServerCmd::Info)),
    CommandSpec {
        name: "command",
        arity: -1,
        flags: f::LOADING | f::STALE | f::SENTINEL,
        acl: acl::CONNECTION,
        keys: Keys::NONE,
        handler: Handler::Server(ServerCmd::Command),
        subcommands: COMMAND_SUBS,
        group: "server",
        since: "2.8.13",
        summary: "Returns detailed information about all commands.",
    },
    row!("time", 1, f::LOADING | f::STALE | f::FAST, 0, Keys::NONE, "server", "2.6.0", "Returns the server time.", Handler::Server(ServerCmd::Time)),
    row!("lastsave", 1, f::LOADING | f::STALE | f::FAST, acl::ADMIN | acl::DANGEROUS, Keys::NONE, "server", "1.0.0", "Returns the Unix timestamp of the last successful save to disk.", Handler::Server(ServerCmd::Lastsave)),
    row!("save", 1, f::NO_ASYNC_LOADING | f::ADMIN | f::NOSCRIPT | f::NO_MULTI, 0, Keys::NONE, "server", "1.0.0", "Synchronously saves the database(s) to disk.", Handler::Server(ServerCmd::Save)),
    row!("bgrewriteaof", 1, f::NO_ASYNC_LOADING | f::ADMIN | f::NOSCRIPT, 0, Keys::NONE, "server", "1.0.0", "Asynchronously rewrites the append-only file to disk.", Handler::Server(ServerCmd::Bgrewriteaof)),
    row!("bgsave", -1, f::NO_ASYNC_LOADING | f::ADMIN | f::NOSCRIPT, 0, Keys::NONE, "server", "1.0.0", "Asynchronously saves the database(s) to disk.", Handler::Server(ServerCmd::Bgsave)),
    row!("shutdown", -1, f::ADMIN | f::NOSCRIPT | f::LOADING | f::STALE | f::NO_MULTI | f::SENTINEL | f::ALLOW_BUSY, 0, Keys::NONE, "server", "1.0.0", "Synchronously saves the database(s) to disk and shuts down the server.", Handler::Server(ServerCmd::Shutdown)),
    row!("monitor", 1, f::ADMIN | f::NOSCRIPT | f::LOADING | f::STALE, 0, Keys::NONE, "server", "1.0.0", "Listens for all requests received by the server in real-time.", Handler::Server(ServerCmd::Monitor)),
    container!("slowlog", -2, "server", "2.2.12", "A container for slow log commands.", SLOWLOG_SUBS),
    container!("latency", -2, "server", "2.8.13", "A container for latency diagnostics commands.", LATENCY_SUBS),
    container!("memory", -2, "server", "4.0.0", "A container for memory diagnostics commands.", MEMORY_SUBS),
    row!("lolwut", -1, f::READONLY | f::FAST, 0, Keys::NONE, "server", "5.0.0", "Displays computer art and the server version", Handler::Server(ServerCmd::Lolwut)),
    row!("role", 1, f::NOSCRIPT | f::LOADING | f::STALE | f::FAST | f::SENTINEL, acl::ADMIN | acl::DANGEROUS, Keys::NONE, "server", "2.8.12", "Returns the replication role.", Handler::Server(ServerCmd::Role)),
    row!("debug", -2, f::ADMIN | f::NOSCRIPT | f::LOADING | f::STALE | f::PROTECTED, 0, Keys::NONE, "server", "1.0.0", "A container for debugging commands.", Handler::Server(ServerCmd::Debug)),
    row!("replicaof", 3, f::NO_ASYNC_LOADING | f::ADMIN | f::NOSCRIPT | f::STALE, 0, Keys::NONE, "server", "5.0.0", "Configures a server as replica of another, or promotes it to a primary.", Handler::Server(ServerCmd::Replicaof)),
    row!("slaveof", 3, f::NO_ASYNC_LOADING | f::ADMIN | f::NOSCRIPT | f::STALE, 0, Keys::NONE, "server", "1.0.0", "Sets a server as a replica of another, or promotes it to being a primary.", Handler::Server(ServerCmd::Replicaof)),
    row!("sync", 1, f::NO_ASYNC_LOADING | f::ADMIN | f::NO_MULTI | f::NOSCRIPT, 0, Keys::NONE, "server", "1.0.0", "An internal command used in replication.", Handler::Server(ServerCmd::Sync)),
    row!("failover", -1, f::ADMIN | f::NOSCRIPT | f::STALE, 0, Keys::NONE, "server", "6.2.0", "Starts a coordinated failover from a server to one of its replicas.", Handler::Server(ServerCmd::Failover)),
    row!("psync", -3, f::NO_ASYNC_LOADING | f::ADMIN | f::NO_MULTI | f::NOSCRIPT, 0, Keys::NONE, "server", "2.8.0", "An internal command used in replication.", Handler::Server(ServerCmd::Psync)),
    row!("replconf", -1, f::ADMIN | f::NOSCRIPT | f::LOADING | f::STALE | f::ALLOW_BUSY, 0, Keys::NONE, "server", "3.0.0", "An internal command for configuring the replication stream.", Handler::Server(ServerCmd::Replconf)),
    row!("waitaof", 4, f::BLOCKING, acl::CONNECTION, Keys::NONE, "generic", "7.2.0", "Blocks until all of the preceding write commands sent by the connection are written to the append-only file of the primary and/or replicas.", Handler::Server(ServerCmd::Waitaof)),
    row!("wait", 3, f::BLOCKING, acl::CONNECTION, Keys::NONE, "generic", "3.0.0", "Blocks until the asynchronous replication of all preceding write commands sent by the connection is completed.", Handler::Server(ServerCmd::Wait)),
    row!("flushall", -1, f::WRITE, acl::KEYSPACE | acl::DANGEROUS, Keys::NONE, "server", "1.0.0", "Removes all keys from all databases.", Handler::Server(ServerCmd::Flushall)),
    row!("flushdb", -1, f::WRITE, acl::KEYSPACE | acl::DANGEROUS, Keys::NONE, "server", "1.0.0", "Remove all keys from the current database.", Handler::Server(ServerCmd::Flushdb)),
    row!("dump", 2, f::READONLY, acl::KEYSPACE, Keys::range(1, 0, 1, &["RO", "ACCESS"]), "generic", "2.6.0", "Returns a serialized representation of the value stored at a key.", Handler::Server(ServerCmd::Dump)),
    row!("restore", -4, f::WRITE | f::DENYOOM, acl::KEYSPACE | acl::DANGEROUS, Keys::range(1, 0, 1, &["OW", "UPDATE"]), "generic", "2.6.0", "Creates a key from the serialized representation of a value.", Handler::Server(ServerCmd::Restore)),
    row!("migrate", -6, f::WRITE, acl::KEYSPACE | acl::DANGEROUS, Keys::movable(migrate_keys, &["RW", "ACCESS", "DELETE"]), "generic", "2.6.0", "Atomically transfers a key from one instance to another.", Handler::Server(ServerCmd::Migrate)),
    container!("object", -2, "generic", "2.2.3", "A container for object introspection commands.", OBJECT_SUBS),
    row!("eval", -3, f::NOSCRIPT | f::SKIP_MONITOR | f::MAY_REPLICATE | f::NO_MANDATORY_KEYS | f::STALE, acl::SCRIPTING, Keys::movable(script_keys, SCRIPT_RW), "scripting", "2.6.0", "Executes a server-side Lua script.", Handler::Server(ServerCmd::Eval)),
    row!("eval_ro", -3, f::NOSCRIPT | f::SKIP_MONITOR | f::NO_MANDATORY_KEYS | f::STALE | f::READONLY, acl::SCRIPTING, Keys::movable(script_keys, SCRIPT_RO), "scripting", "7.0.0", "Executes a read-only server-side Lua script.", Handler::Server(ServerCmd::EvalRo)),
    row!("evalsha", -3, f::NOSCRIPT | f::SKIP_MONITOR | f::MAY_REPLICATE | f::NO_MANDATORY_KEYS | f::STALE, acl::SCRIPTING, Keys::movable(script_keys, SCRIPT_RW), "scripting", "2.6.0", "Executes a server-side Lua script by SHA1 digest.", Handler::Server(ServerCmd::Evalsha)),
    row!("evalsha_ro", -3, f::NOSCRIPT | f::SKIP_MONITOR | f::NO_MANDATORY_KEYS | f::STALE | f::READONLY, acl::SCRIPTING, Keys::movable(script_keys, SCRIPT_RO), "scripting", "7.0.0", "Executes a read-only server-side Lua script by SHA1 digest.", Handler::Server(ServerCmd::EvalshaRo)),
    row!("fcall", -3, f::NOSCRIPT | f::SKIP_MONITOR | f::MAY_REPLICATE | f::NO_MANDATORY_KEYS | f::STALE, acl::SCRIPTING, Keys::movable(script_keys, SCRIPT_RW), "scripting", "7.0.0", "Invokes a function.", Handler::Server(ServerCmd::Fcall)),
    row!("fcall_ro", -3, f::NOSCRIPT | f::SKIP_MONITOR | f::NO_MANDATORY_KEYS | f::STALE | f::READONLY, acl::SCRIPTING, Keys::movable(script_keys, SCRIPT_RO), "scripting", "7.0.0", "Invokes a read-only function.", Handler::Server(ServerCmd::FcallRo)),
    container!("script", -2, "scripting", "2.6.0", "A container for Lua scripts management commands.", SCRIPT_SUBS),
    container!("function", -2, "scripting", "7.0.0", "A container for function commands.", FUNCTION_SUBS),
];

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(args: &[&str]) -> Vec<Bytes> {
        args.iter().map(|a| Bytes::from(a.to_string())).collect()
    }

    #[test]
    fn migrate_keys_as_valkey_finds_them() {
        let base = ["MIGRATE", "h", "1"];
        let keys = |tail: &[&str]| migrate_keys(&argv(&[&base[..], tail].concat()));
        assert_eq!(keys(&["k", "0", "500"]), vec![3]);
        assert_eq!(keys(&["", "0", "500", "KEYS", "a", "b"]), vec![7, 8]);
        // The values of AUTH and AUTH2 are stepped over, even when they read KEYS.
        assert_eq!(
            keys(&["", "0", "500", "AUTH", "KEYS", "KEYS", "a"]),
            vec![9]
        );
        assert_eq!(
            keys(&["", "0", "500", "AUTH2", "KEYS", "1", "KEYS", "a"]),
            vec![10]
        );
        // KEYS with a key argument: a syntax error MIGRATE reports; no keys.
        assert!(keys(&["k", "0", "500", "KEYS", "a"]).is_empty());
    }

    #[test]
    fn script_keys_beyond_the_arguments_are_none() {
        assert_eq!(
            script_keys(&argv(&["EVAL", "s", "2", "a", "b"])),
            vec![3, 4]
        );
        assert!(script_keys(&argv(&["EVAL", "s", "3", "a", "b"])).is_empty());
        assert!(script_keys(&argv(&["EVAL", "s", "-1", "a"])).is_empty());
    }
}
