//! The shape of a command table row: everything the server needs to know about a command
//! before running it (arity, flags, key positions, ACL categories), plus its handler.
//!
//! Rows live next to their handlers in each family module (`strings::COMMANDS`, ...); the
//! [`crate::table`] module assembles them. The same rows answer COMMAND, COMMAND INFO/COUNT/
//! LIST/GETKEYS/DOCS, so what the server enforces and what it reports cannot drift apart.

use bytes::Bytes;
use resp::Reply;

use crate::ctx::Ctx;

/// Command flags, named as in Redis's COMMAND INFO output.
pub mod flags {
    pub const WRITE: u64 = 1 << 0;
    pub const READONLY: u64 = 1 << 1;
    pub const DENYOOM: u64 = 1 << 2;
    pub const ADMIN: u64 = 1 << 3;
    pub const PUBSUB: u64 = 1 << 4;
    pub const NOSCRIPT: u64 = 1 << 5;
    pub const BLOCKING: u64 = 1 << 6;
    pub const LOADING: u64 = 1 << 7;
    pub const STALE: u64 = 1 << 8;
    pub const SKIP_MONITOR: u64 = 1 << 9;
    pub const SKIP_SLOWLOG: u64 = 1 << 10;
    pub const ASKING: u64 = 1 << 11;
    pub const FAST: u64 = 1 << 12;
    pub const NO_AUTH: u64 = 1 << 13;
    pub const MAY_REPLICATE: u64 = 1 << 14;
    pub const SENTINEL: u64 = 1 << 15;
    pub const ONLY_SENTINEL: u64 = 1 << 16;
    pub const NO_MANDATORY_KEYS: u64 = 1 << 17;
    pub const PROTECTED: u64 = 1 << 18;
    pub const MODULE: u64 = 1 << 19;
    pub const NO_ASYNC_LOADING: u64 = 1 << 20;
    pub const NO_MULTI: u64 = 1 << 21;
    pub const MOVABLE_KEYS: u64 = 1 << 22;
    pub const ALLOW_BUSY: u64 = 1 << 23;
    /// May lazily expire keys unrelated to its arguments (RANDOMKEY, SCAN): what it
    /// propagates is not a transaction. Hidden from COMMAND INFO, as in Valkey.
    pub const TOUCHES_ARBITRARY_KEYS: u64 = 1 << 24;

    /// Names in COMMAND INFO order (Redis's `addReplyFlagsForCommand`).
    pub const NAMES: &[(u64, &str)] = &[
        (WRITE, "write"),
        (READONLY, "readonly"),
        (DENYOOM, "denyoom"),
        (MODULE, "module"),
        (ADMIN, "admin"),
        (PUBSUB, "pubsub"),
        (NOSCRIPT, "noscript"),
        (BLOCKING, "blocking"),
        (LOADING, "loading"),
        (STALE, "stale"),
        (SKIP_MONITOR, "skip_monitor"),
        (SKIP_SLOWLOG, "skip_slowlog"),
        (ASKING, "asking"),
        (FAST, "fast"),
        (NO_AUTH, "no_auth"),
        (MAY_REPLICATE, "may_replicate"),
        (NO_MANDATORY_KEYS, "no_mandatory_keys"),
        (NO_ASYNC_LOADING, "no_async_loading"),
        (NO_MULTI, "no_multi"),
        (MOVABLE_KEYS, "movablekeys"),
        (ALLOW_BUSY, "allow_busy"),
    ];
}

/// ACL categories (explicit ones; implicit ones are derived from flags as Redis does).
pub mod acl {
    pub const KEYSPACE: u64 = 1 << 0;
    pub const READ: u64 = 1 << 1;
    pub const WRITE: u64 = 1 << 2;
    pub const SET: u64 = 1 << 3;
    pub const SORTEDSET: u64 = 1 << 4;
    pub const LIST: u64 = 1 << 5;
    pub const HASH: u64 = 1 << 6;
    pub const STRING: u64 = 1 << 7;
    pub const BITMAP: u64 = 1 << 8;
    pub const HYPERLOGLOG: u64 = 1 << 9;
    pub const GEO: u64 = 1 << 10;
    pub const STREAM: u64 = 1 << 11;
    pub const PUBSUB: u64 = 1 << 12;
    pub const ADMIN: u64 = 1 << 13;
    pub const FAST: u64 = 1 << 14;
    pub const SLOW: u64 = 1 << 15;
    pub const BLOCKING: u64 = 1 << 16;
    pub const DANGEROUS: u64 = 1 << 17;
    pub const CONNECTION: u64 = 1 << 18;
    pub const TRANSACTION: u64 = 1 << 19;
    pub const SCRIPTING: u64 = 1 << 20;

    /// Names in Redis's category order (`ACLCommandCategories`).
    pub const NAMES: &[(u64, &str)] = &[
        (KEYSPACE, "keyspace"),
        (READ, "read"),
        (WRITE, "write"),
        (SET, "set"),
        (SORTEDSET, "sortedset"),
        (LIST, "list"),
        (HASH, "hash"),
        (STRING, "string"),
        (BITMAP, "bitmap"),
        (HYPERLOGLOG, "hyperloglog"),
        (GEO, "geo"),
        (STREAM, "stream"),
        (PUBSUB, "pubsub"),
        (ADMIN, "admin"),
        (FAST, "fast"),
        (SLOW, "slow"),
        (BLOCKING, "blocking"),
        (DANGEROUS, "dangerous"),
        (CONNECTION, "connection"),
        (TRANSACTION, "transaction"),
        (SCRIPTING, "scripting"),
    ];
}

/// Where the keys are: Redis's legacy (first, last, step) triple plus the key-spec flags
/// reported by COMMAND INFO. `last` is relative as in key specs: `0` = same as first, `-1` =
/// last argument, `-2` = one before the last.
#[derive(Clone, Copy, Debug)]
pub struct Keys {
    pub first: i32,
    pub last: i32,
    pub step: i32,
    /// Key-spec flags such as `RW`, `ACCESS`, `UPDATE` (COMMAND INFO).
    pub spec_flags: &'static [&'static str],
    /// For commands with a key count argument (`numkeys`), or keys after a keyword: a
    /// function that finds the key positions in an argument vector.
    pub find: Option<FindKeys>,
}

/// Finds the key positions of a movable-keys command in its argument vector.
pub type FindKeys = fn(&[Bytes]) -> Vec<usize>;

impl Keys {
    pub const NONE: Keys = Keys {
        first: 0,
        last: 0,
        step: 0,
        spec_flags: &[],
        find: None,
    };

    pub const fn range(
        first: i32,
        last: i32,
        step: i32,
        spec_flags: &'static [&'static str],
    ) -> Keys {
        Keys {
            first,
            last,
            step,
            spec_flags,
            find: None,
        }
    }

    pub const fn movable(
        find: fn(&[Bytes]) -> Vec<usize>,
        spec_flags: &'static [&'static str],
    ) -> Keys {
        Keys {
            first: 0,
            last: 0,
            step: 0,
            spec_flags,
            find: Some(find),
        }
    }

    /// Positions of the keys in `argv`.
    pub fn positions(&self, argv: &[Bytes]) -> Vec<usize> {
        if let Some(find) = self.find {
            return find(argv).into_iter().filter(|&i| i < argv.len()).collect();
        }
        if self.first <= 0 {
            return Vec::new();
        }
        let first = self.first as usize;
        let last = if self.last >= 0 {
            first + self.last as usize
        } else {
            match argv.len().checked_sub((-self.last) as usize) {
                Some(l) => l,
                None => return Vec::new(),
            }
        };
        let step = self.step.max(1) as usize;
        (first..=last.min(argv.len().saturating_sub(1)))
            .step_by(step)
            .collect()
    }

    /// The legacy (firstkey, lastkey, step) triple of COMMAND INFO.
    pub fn legacy(&self) -> (i64, i64, i64) {
        if self.find.is_some() || self.first <= 0 {
            return (0, 0, 0);
        }
        let last = if self.last >= 0 {
            (self.first + self.last) as i64
        } else {
            self.last as i64
        };
        (self.first as i64, last, self.step as i64)
    }
}

/// A data-command handler: no sockets, no clients; just the keyspace through [`Ctx`].
pub type DataFn = fn(&mut Ctx, &[Bytes]) -> Reply;

/// How a command is executed.
#[derive(Clone, Copy)]
pub enum Handler {
    /// Runs against the keyspace through [`Ctx`].
    Data(DataFn),
    /// Needs the server (clients, config, replication...): dispatched by the server.
    Server(ServerCmd),
    /// A container (CONFIG, CLIENT...) whose subcommands carry the handlers.
    Container,
}

/// Commands implemented by the server crate, identified here so the table stays complete.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ServerCmd {
    Acl,
    Auth,
    Hello,
    Ping,
    Echo,
    Quit,
    Reset,
    Select,
    Multi,
    Exec,
    Discard,
    Watch,
    Unwatch,
    Subscribe,
    Unsubscribe,
    Psubscribe,
    Punsubscribe,
    Publish,
    Ssubscribe,
    Sunsubscribe,
    Spublish,
    Pubsub,
    Client,
    Config,
    Info,
    Command,
    Time,
    Lastsave,
    Save,
    Bgsave,
    Bgrewriteaof,
    Waitaof,
    Shutdown,
    Monitor,
    Slowlog,
    Latency,
    Memory,
    Role,
    Lolwut,
    Debug,
    Replicaof,
    Failover,
    Sync,
    Psync,
    Replconf,
    Wait,
    Flushall,
    Flushdb,
    Object,
    Restore,
    Dump,
    Migrate,
    Eval,
    EvalRo,
    Evalsha,
    EvalshaRo,
    Fcall,
    FcallRo,
    Script,
    Function,
    /// CLUSTER and its subcommands: cluster mode is not built (the disabled-cluster error).
    Cluster,
    Asking,
    Readonly,
    Readwrite,
}

/// One row of the command table.
pub struct CommandSpec {
    /// Lower-case name (`get`, or the subcommand name for subcommands).
    pub name: &'static str,
    /// Redis arity: positive = exact argc, negative = at least -arity.
    pub arity: i32,
    pub flags: u64,
    /// Explicit ACL categories.
    pub acl: u64,
    pub keys: Keys,
    pub handler: Handler,
    pub subcommands: &'static [CommandSpec],
    /// COMMAND DOCS fields.
    pub group: &'static str,
    pub since: &'static str,
    pub summary: &'static str,
}

impl CommandSpec {
    /// All ACL categories: explicit plus implied by flags (`setImplicitACLCategories`).
    pub fn acl_categories(&self) -> u64 {
        let mut c = self.acl;
        if self.flags & flags::WRITE != 0 {
            c |= acl::WRITE;
        }
        if self.flags & flags::READONLY != 0 && c & acl::SCRIPTING == 0 {
            c |= acl::READ;
        }
        if self.flags & flags::ADMIN != 0 {
            c |= acl::ADMIN | acl::DANGEROUS;
        }
        if self.flags & flags::PUBSUB != 0 {
            c |= acl::PUBSUB;
        }
        if self.flags & flags::FAST != 0 {
            c |= acl::FAST;
        }
        if self.flags & flags::BLOCKING != 0 {
            c |= acl::BLOCKING;
        }
        if c & acl::FAST == 0 {
            c |= acl::SLOW;
        }
        c
    }

    pub fn is_write(&self) -> bool {
        self.flags & flags::WRITE != 0
    }

    pub fn has(&self, flag: u64) -> bool {
        self.flags & flag != 0
    }

    /// True if `argc` satisfies the arity.
    pub fn arity_ok(&self, argc: usize) -> bool {
        if self.arity >= 0 {
            argc == self.arity as usize
        } else {
            argc >= (-self.arity) as usize
        }
    }
}

/// Builds a row with the fields most rows share. `flags_s` and `acl_s` are space-separated
/// names as they appear in Redis's command specs.
#[macro_export]
macro_rules! row {
    ($name:expr, $arity:expr, $flags:expr, $acl:expr, $keys:expr, $group:expr, $since:expr, $summary:expr, $handler:expr) => {
        $crate::spec::CommandSpec {
            name: $name,
            arity: $arity,
            flags: $flags,
            acl: $acl,
            keys: $keys,
            handler: $handler,
            subcommands: &[],
            group: $group,
            since: $since,
            summary: $summary,
        }
    };
}
