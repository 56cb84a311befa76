//! The executor's state: the keyspace and everything commands read and change besides it
//! (settings derived from the configuration, propagation, blocked clients, WATCHes, pub/sub,
//! client-side caching, CLIENT PAUSE, the scripting engine), and the operations on them that do
//! not need the rest of the server.
//!
//! Not here: sockets (see [`crate::net`]), replication and persistence, the command table's
//! dispatch (see [`crate::core`]).

pub mod blocking;
pub mod evict;
pub mod pause;
pub mod propagate;
pub mod pubsub;
pub mod scripts;
pub mod tracking;
pub mod watch;

use bytes::Bytes;
use commands::Settings;
use keyspace::Keyspace;

/// A collection member named by a parsed-ahead command: (database, key, member hash).
pub type MemberHint = (usize, Bytes, u64);

/// The executor's state: what commands read and change.
pub struct Exec {
    pub ks: Keyspace,
    /// Configuration values data commands depend on (derived from `cfg`).
    pub settings: Settings,
    /// The cheap per-command clock (see [`crate::clock`]).
    pub clock: crate::clock::Clock,
    pub pubsub: pubsub::PubSub,
    /// CLIENT TRACKING: the tracking table, BCAST prefixes, pending invalidations.
    pub tracking: tracking::Tracking,
    pub blocking: blocking::Blocking,
    pub watches: watch::Watches,
    /// Ids of the clients in MONITOR mode.
    pub monitors: Vec<u64>,
    /// Scratch space for the key hashes prefetched by [`Server::process_ready`].
    pub prefetch_scratch: Vec<u64>,
    /// Scratch space for the collection members prefetched with them.
    pub member_scratch: Vec<MemberHint>,
    /// CLIENT PAUSE.
    pub pause: pause::PauseState,
    /// True while a dataset is being loaded (replies -LOADING to most commands).
    pub loading: bool,
    /// What execution units propagate.
    pub prop: propagate::Propagator,
    /// Keyspace events raised outside any command (eviction), published by the core with the
    /// next flush.
    pub events: Vec<commands::notify::KeyEvent>,
    /// Changes made and rewritten propagation of the server command being run.
    pub call_dirty: u64,
    pub call_rewrite: Option<Vec<Vec<Bytes>>>,
    /// DEBUG SET-ACTIVE-EXPIRE.
    pub active_expire: bool,
    /// A write ran since memory was last checked against maxmemory: the next command of any
    /// kind checks it (see `core`'s checks).
    pub evict_due: bool,
    /// EVAL's and FUNCTION's engine and the script running now.
    pub scripting: scripts::ScriptState,
}
