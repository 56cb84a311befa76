//! Commands implemented by the server itself (they need clients, configuration, replication
//! or persistence state). Data commands live in the `commands` crate.

pub mod acl_cmd;
pub mod client_cmd;
pub mod config_cmd;
pub mod conn;
pub mod debug;
pub mod info;
pub mod introspect;
pub mod keyspace_cmd;
pub mod latency;
pub mod lolwut;
pub mod migrate;
pub mod script_cmd;

use bytes::Bytes;
use commands::errors;
use resp::Reply;

pub use crate::util::help_reply;

/// The calling client of a server command. The core runs a command only for a connected
/// client, so a missing one means there is nobody to answer: nothing is done, and the reply
/// (which would not be sent) is empty.
macro_rules! caller {
    ($s:expr, $key:expr) => {
        match $s.net.clients.get_mut($key) {
            Some(c) => c,
            None => return resp::Reply::Raw(bytes::Bytes::new()),
        }
    };
}
pub(crate) use caller;

/// Lower-case text of argument `i`.
pub fn arg_lower(argv: &[Bytes], i: usize) -> String {
    argv.get(i)
        .map(|a| String::from_utf8_lossy(a).to_ascii_lowercase())
        .unwrap_or_default()
}

/// "ERR syntax error".
pub fn syntax() -> Reply {
    errors::err(errors::SYNTAX)
}
