//! Value types and the data structures behind them.
//!
//! - [`blob`]: thin byte strings ([`Blob`], [`Pair`]) — one word per collection element.
//! - [`segmap`]: the segmented copy-on-write hash map used by the keyspace and by large
//!   hashes/sets/sorted sets; its segments are what a forkless snapshot shares.
//! - [`hash`], [`list`], [`set`], [`zset`], [`stream`]: the value types, with Redis's encodings.
//! - [`btree`]: the order-statistic copy-on-write B+tree behind large sorted sets.
//! - [`glob`]: Redis's glob matching.
//! - [`rand`]: the sampling RNG.
//! - [`cow`]: the count of bytes copied because a snapshot shared them.
//!
//! Nothing here knows about commands, clients, replication or files.

pub mod blob;
pub mod cow;
pub mod glob;
pub mod rand;
pub mod segmap;

pub use blob::{Blob, Pair};
pub use segmap::{hash_key, SegItem, SegMap};
pub mod btree;
pub mod hash;
pub mod hll;
pub mod list;
pub mod set;
pub mod stream;
pub mod zset;

pub use hash::{Hash, HashLimits};
pub use list::{End, List, ListLimits};
pub use set::{Set, SetLimits};
pub use zset::{ZSet, ZSetLimits};
