//! Replication logic without I/O (DESIGN decision 3): replication ids and PSYNC2's acceptance
//! rule ([`ids`]), the shared stream buffer and backlog ([`backlog`]), the wire messages
//! ([`proto`]), the replica-side link state machine ([`link`]) and the primary's view of a
//! replica ([`peer`]).
//!
//! Everything here takes events (bytes, replies, clock ticks, load results) and returns
//! actions; the server's `repl` module is the only layer that touches sockets. That keeps races
//! reproducible from a seed in the simulator instead of only with sleeps between processes.

pub mod backlog;
pub mod ids;
pub mod link;
pub mod peer;
pub mod proto;

pub use backlog::ReplBuffer;
pub use ids::{PsyncRefusal, ReplIds, NO_ID};
pub use link::{Link, LinkConfig, LinkState};
