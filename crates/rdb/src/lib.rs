//! Pure RDB codec for Redwing: bytes in, items out, and back.
//!
//! This crate reads and writes the RDB snapshot format of Redis 7.0 (RDB
//! version 10) and Valkey 8.0 (version 11), and DUMP/RESTORE payloads. It is a
//! library of data transformations only:
//!
//! * **Lives here:** the streaming [`Reader`] (versions 1..=11, every value
//!   type id 0..=21 except module types, CRC64 verification), the [`Writer`]
//!   (files both Redis 7.0 and Valkey 8.0 load), the [`dump`] payload codec,
//!   and the building blocks they use: [`crc64`], [`lzf`], and the compact
//!   blob decoders in [`encodings`] (listpack, ziplist, intset, zipmap) plus
//!   the listpack encoder streams need.
//! * **Must not live here:** sockets, files opened by name, threads, the
//!   keyspace, expiry decisions, or any other crate of this workspace. The
//!   reader yields normalised [`Item`]s and the caller decides what to do with
//!   them (skip empty values, drop expired keys, select databases).
//!
//! Robustness contract: corrupt or truncated input always produces an
//! [`RdbError`] carrying the byte offset, never a panic, and no length field
//! can make the reader allocate more than a bounded amount ahead of the bytes
//! that actually arrived.
//!
//! ```
//! use rdb::{Item, KeyEntry, Reader, ReaderOptions, Value, Writer, WriterOptions};
//!
//! let mut w = Writer::new(Vec::new(), WriterOptions::default());
//! w.header(10)?;
//! w.select_db(0)?;
//! w.key(&KeyEntry::new("greeting", Value::String(b"hello".to_vec())))?;
//! let file = w.finish()?;
//!
//! let items: Vec<Item> = Reader::new(&file[..], ReaderOptions::default())?
//!     .collect::<Result<_, _>>()?;
//! assert_eq!(items[0], Item::SelectDb(0));
//! assert_eq!(items.last(), Some(&Item::Eof));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]
#![forbid(unsafe_code)]

pub mod crc64;
pub mod dump;
pub mod encodings;
mod error;
mod input;
mod load;
pub mod lzf;
mod num;
mod reader;
mod stream;
mod value;
mod writer;

pub use dump::{dump_payload, dump_payload_with, parse_dump_payload};
pub use error::{ErrorKind, RdbError};
pub use num::{i64_to_bytes, parse_canonical_i64};
pub use reader::{Reader, ReaderOptions, MAX_VERSION, MIN_VERSION};
pub use value::{
    opcode, type_id, Consumer, ConsumerGroup, Item, KeyEntry, PendingEntry, Stream, StreamEntry,
    StreamId, Value,
};
pub use writer::{Writer, WriterOptions};

/// The RDB version this crate's writer is meant to emit: Redis 7.0's, which
/// Valkey 8.0 also loads.
pub const WRITE_VERSION: u32 = 10;
