//! Test support (dev-only): start real server processes (Redwing and the reference
//! `redis-server` and `valkey-server`) on ephemeral loopback ports in temporary directories, talk RESP to them,
//! wait for conditions with a bound and a message, and clean up by pid; a seeded random
//! source for reproducible fault schedules.
//!
//! Nothing here is used by the server itself.

pub mod client;
pub mod proc;
pub mod proxy;
pub mod rng;
pub mod wait;

pub use client::Conn;
pub use proc::{redis_server_bin, redwing_bin, valkey_server_bin, ServerProc};
pub use proxy::Proxy;
pub use rng::Rng;
pub use wait::wait_for;
