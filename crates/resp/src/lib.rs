//! RESP wire format: everything that turns bytes into requests and replies into bytes.
//!
//! - [`request`]: the server-side request parser (RESP multibulk and inline commands) with
//!   Redis's limits and error strings. It tells *need more bytes* from *invalid*, and never
//!   copies a large argument more than once (arguments are `Bytes` slices of the query buffer).
//! - [`reply`]: the [`Reply`] value handlers return, and its RESP2/RESP3 encoding.
//! - [`frame`]: a client-side parser for replies (used by the replica side of replication, by
//!   the test kit and by tools).
//! - [`float`]: number formatting exactly as Redis/Valkey print doubles.
//!
//! This crate has no sockets, no async runtime and no knowledge of commands.

#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod error;
pub mod float;
pub mod frame;
mod grisu;
pub mod reply;
pub mod request;

pub use error::ProtocolError;
pub use frame::Frame;
pub use reply::{BulkList, Reply, RespVersion};
pub use request::{Parsed, RequestParser};
