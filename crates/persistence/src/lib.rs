//! Keyspace ⇄ RDB: writing a point-in-time [`keyspace::Snapshot`] as an RDB stream into any
//! sink (a file, a replica socket), loading an RDB into fresh databases built aside (never a
//! partial dataset), crash-safe file saves, and DUMP/RESTORE payloads.
//!
//! The codec itself is the pure `rdb` crate; this crate maps our value types onto it. No
//! sockets and no event loop here: callers hand in `Read`/`Write` implementations.

#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod aof;
mod convert;
pub mod dump;
pub mod error;
pub mod file;
pub mod load;
pub mod save;

pub use convert::{to_value, Limits};
pub use error::PersistError;
pub use load::{load, LoadOptions, Loaded};
pub use save::{write_snapshot, ReplInfo, SaveInfo, SaveOptions, SaveStats};
