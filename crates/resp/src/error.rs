//! Errors of the wire layer.

use std::fmt;

/// A protocol violation by the peer. The message is what Redis replies (without the leading
/// `-ERR `); after replying, the connection must be closed because the stream is desynchronised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtocolError {
    /// Text for the error reply, e.g. `Protocol error: invalid bulk length`.
    pub reply: String,
    /// Short reason for the server log, e.g. `invalid bulk length`.
    pub reason: &'static str,
}

impl ProtocolError {
    pub(crate) fn new(reply: impl Into<String>, reason: &'static str) -> Self {
        ProtocolError {
            reply: reply.into(),
            reason,
        }
    }
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reply)
    }
}

impl std::error::Error for ProtocolError {}
