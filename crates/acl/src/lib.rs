//! ACL users and their permissions, as Valkey 8.0.1 has them (`src/acl.c`), without I/O: the
//! rule grammar of ACL SETUSER, users with passwords (SHA-256 hex) and selectors, the text
//! ACL LIST / ACL GETUSER / CONFIG REWRITE print, the permission check of a command against a
//! user (commands, keys with read/write permissions, pub/sub channels), the aclfile format,
//! and the ACL LOG.
//!
//! - [`selector`]: one selector — allowed commands (a bitmap over the command table's ids,
//!   categories, first arguments), key patterns (`~`, `%R~`, `%W~`), channel patterns (`&`),
//!   and the ordered command rules it prints back.
//! - [`user`]: a user — on/off, passwords, nopass, payload sanitization, its root selector and
//!   the extra `(...)` selectors.
//! - [`users`]: the registry (ordered by name, the `default` user always present), ACL SETUSER
//!   applied atomically, `requirepass` as the default user's password, `user` directives of
//!   the configuration file.
//! - [`check`]: may this user run this argument vector? Key positions and their read/write
//!   flags come from the command table ([`commands::keyrefs`], the code COMMAND GETKEYS uses).
//! - [`file`]: the aclfile (load with Valkey's per-line errors, nothing applied on error; save).
//! - [`log`]: the ACL LOG (grouping of similar entries, ids, timestamps).
//!
//! What must not live here: clients, sockets, files (the server reads and writes them and
//! hands the text over), statistics. The server's `acl` module is the glue: it keeps each
//! client's user, calls [`check::check`] at its place in the command path, logs denials and
//! disconnects the clients a change of rules leaves without permission.

#![deny(clippy::unwrap_used, clippy::indexing_slicing)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::indexing_slicing))]

pub mod check;
pub mod file;
pub mod log;
pub mod selector;
pub mod user;
pub mod users;

pub use check::{check, Denial};
pub use log::{AclLog, Context, LogEntry, Reason};
pub use selector::Selector;
pub use user::User;
pub use users::Users;

use sha2::{Digest, Sha256};

/// Why an ACL rule was refused (Valkey's `errno` values of `ACLSetUser`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RuleError {
    /// EINVAL: not a rule, or a pattern with spaces.
    Syntax,
    /// ENOENT: `+cmd`, `-cmd` or `+@cat` names nothing.
    Unknown,
    /// EEXIST: a key pattern after `allkeys`.
    KeysAfterAll,
    /// EISDIR: a channel pattern after `allchannels`.
    ChannelsAfterAll,
    /// ENODEV: `<pass` / `!hash` names no password of the user.
    NoSuchPassword,
    /// EBADMSG: `#hash` / `!hash` that is not 64 lowercase hex digits.
    BadHash,
    /// EALREADY: the same user twice in the configuration.
    Duplicate,
    /// ECHILD: `+cmd|sub|arg`.
    FirstArgOfSubcommand,
}

impl RuleError {
    /// Valkey's `ACLSetUserStringError` text.
    pub fn text(self) -> &'static str {
        match self {
            RuleError::Syntax => "Syntax error",
            RuleError::Unknown => "Unknown command or category name in ACL",
            RuleError::KeysAfterAll => "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have any effect. Try 'resetkeys' to start with an empty list of patterns",
            RuleError::ChannelsAfterAll => "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not have any effect. Try 'resetchannels' to start with an empty list of channels",
            RuleError::NoSuchPassword => {
                "The password you are trying to remove from the user does not exist"
            }
            RuleError::BadHash => "The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters",
            RuleError::Duplicate => {
                "Duplicate user found. A user can only be defined once in config files"
            }
            RuleError::FirstArgOfSubcommand => "Allowing first-arg of a subcommand is not supported",
        }
    }
}

/// SHA-256 of a password, as 64 lowercase hex digits (`ACLHashPassword`).
pub fn hash_password(clear: &[u8]) -> String {
    hex(&Sha256::digest(clear))
}

/// Lower-case hex of bytes.
fn hex(bytes: &[u8]) -> String {
    let digit = |n: u8| char::from_digit(u32::from(n), 16).unwrap_or('0');
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(digit(b >> 4));
        out.push(digit(b & 0xf));
    }
    out
}

/// A valid stored hash: exactly 64 of `0-9a-f` (`ACLCheckPasswordHash`).
pub fn valid_hash(h: &[u8]) -> bool {
    h.len() == 64 && h.iter().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'))
}

/// Usernames and patterns may not contain spaces or NUL (`ACLStringHasSpaces`; C's `isspace`).
pub fn has_spaces(s: &[u8]) -> bool {
    s.iter()
        .any(|&c| matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | 0))
}

/// The part of an argument a C string function sees (up to the first NUL).
pub(crate) fn cstr(b: &[u8]) -> &[u8] {
    match b.iter().position(|&c| c == 0) {
        Some(n) => b.get(..n).unwrap_or(b),
        None => b,
    }
}

/// `strcasecmp(op, word) == 0`.
pub(crate) fn is(op: &[u8], word: &str) -> bool {
    cstr(op).eq_ignore_ascii_case(word.as_bytes())
}

/// Compares two equal-length hashes without an early exit (`time_independent_strcmp`).
pub(crate) fn same_hash(a: &str, b: &str) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.bytes().zip(b.bytes()).fold(0u8, |d, (x, y)| d | (x ^ y)) == 0
}

/// Random hex characters from the system's generator (ACL GENPASS): `chars` of them.
pub fn random_hex(chars: usize) -> String {
    use std::io::Read;
    let mut raw = vec![0u8; chars.div_ceil(2)];
    let filled = std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut raw))
        .is_ok();
    if !filled {
        // No /dev/urandom: hash the time and the process id, chained.
        let mut seed =
            format!("{:?}{}", std::time::SystemTime::now(), std::process::id()).into_bytes();
        for chunk in raw.chunks_mut(32) {
            let d = Sha256::digest(&seed);
            for (o, b) in chunk.iter_mut().zip(d.iter()) {
                *o = *b;
            }
            seed = d.to_vec();
        }
    }
    let mut out = hex(&raw);
    out.truncate(chars);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_hash_is_sha256_hex() {
        assert_eq!(
            hash_password(b"passwd4"),
            "34344e4d60c2b6d639b7bd22e18f2b0b91bc34bf0ac5f9952744435093cfb4e6"
        );
        assert_eq!(
            hash_password(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert!(valid_hash(hash_password(b"x").as_bytes()));
        assert!(!valid_hash(
            b"34344E4D60c2b6d639b7bd22e18f2b0b91bc34bf0ac5f9952744435093cfb4e6"
        ));
    }

    #[test]
    fn random_hex_has_the_asked_length() {
        assert_eq!(random_hex(64).len(), 64);
        assert_eq!(random_hex(1).len(), 1);
        assert!(random_hex(33).bytes().all(|c| c.is_ascii_hexdigit()));
    }
}
