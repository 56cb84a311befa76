//! The command table and the data-command handlers.
//!
//! Each family module (`strings`, ...) holds its handlers and, next to them, its table rows
//! (`COMMANDS`): name, arity, flags, key positions, ACL categories and handler in one place.
//! [`table`] assembles the rows; the server uses them for dispatch, arity and flag checks, and
//! to answer COMMAND. Handlers never touch sockets or clients: they get a [`ctx::Ctx`] and
//! return a `Reply`, plus what to propagate and whether to block. Commands that need the server
//! itself (CLIENT, CONFIG, replication...) have rows here with a [`spec::Handler::Server`]
//! handler that the server crate implements. All error texts are in [`errors`].

pub mod args;
pub mod bitops;
pub mod call;
pub mod coll;
pub mod ctx;
pub mod doc_table;
pub mod docs;
pub mod errors;
pub mod geo;
pub mod hashes;
pub mod hll;
pub mod key_specs;
pub mod keyrefs;
pub mod keys;
pub mod ldouble;
pub mod lists;
pub mod notify;
pub mod server_rows;
pub mod sets;
pub mod spec;
pub mod spec_notes;
pub mod streams;
pub mod strings;
pub mod table;
pub mod testing;
pub mod zsets;

pub use ctx::{Ctx, Settings};
pub use spec::{CommandSpec, Handler, ServerCmd};
