//! Replication logic without I/O (DESIGN decision 3): everything that decides, nothing that
//! touches a socket, a thread or the keyspace.
//!
//! - [`ids`]: replication ids and PSYNC2's acceptance rule; [`backlog`]: the shared stream
//!   buffer and backlog; [`history`]: the two together with the stream's selected database,
//!   the node's history as both machines see it.
//! - [`primary`]: the primary side as a machine — the replica table, the PSYNC/SYNC answer,
//!   full-sync scheduling, snapshot jobs, backlog pins, ACKs, WAIT counts, min-replicas,
//!   timeouts and output limits.
//! - [`follower`]: the replica side as a machine — REPLICAOF, the link to the primary (one
//!   state enum wrapping the handshake machine [`link::Link`]), what PSYNC asks for, the cached
//!   primary, loading aside, the dual-channel phases and the local stream buffer.
//! - [`clock`]: when the stream reached each offset — lag in time, the backlog's reach, the
//!   write rate, a replica's PSYNC headroom and transfer ETAs, for INFO and the logs.
//! - [`link`], [`proto`], [`peer`]: one connection's handshake and payload framing, the wire
//!   messages, and the primary's reading of REPLCONF.
//!
//! The machines take events (commands, bytes, clock ticks, load and transfer results) and
//! return actions; the server's `repl` module executes them and is the only layer with
//! sockets. The seeded simulator (`tests/sim.rs`) drives these same machines, so races are
//! reproducible from a seed instead of only with sleeps between processes. Peer input never
//! panics: offsets and states the code itself maintains are asserted, in release builds too.

#![deny(clippy::unwrap_used, clippy::indexing_slicing)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::indexing_slicing))]

pub mod backlog;
pub mod clock;
pub mod follower;
pub mod history;
pub mod ids;
pub mod link;
pub mod peer;
pub mod primary;
pub mod proto;

pub use backlog::ReplBuffer;
pub use history::History;
pub use ids::{PsyncRefusal, ReplIds, NO_ID};
pub use link::{Link, LinkConfig, LinkState};

/// Severity of a log line a machine asks for (Redis's `LL_NOTICE` / `LL_WARNING`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogLevel {
    Notice,
    Warning,
}
