//! Keyspace notification classes and events (`notify-keyspace-events`), as Redis names them.
//!
//! Handlers raise events with [`crate::Ctx::notify`] where Redis calls `notifyKeyspaceEvent`.
//! `new` is raised only by [`crate::Ctx::store`] / [`crate::Ctx::store_in`] (Redis's `dbAdd`),
//! which every key creation goes through; `expired` for keys a command's lookups deleted is
//! added in place by [`crate::Ctx::take_notifications`]. The server publishes the list on
//! `__keyspace@<db>__:<key>` / `__keyevent@<db>__:<event>` according to the configured flags,
//! and raises the events of its own code (active expiry, eviction, server commands).

use bytes::Bytes;

/// `K`: publish on `__keyspace@<db>__:<key>`.
pub const KEYSPACE: u32 = 1 << 0;
/// `E`: publish on `__keyevent@<db>__:<event>`.
pub const KEYEVENT: u32 = 1 << 1;
/// `g`: generic commands (DEL, EXPIRE, RENAME, ...).
pub const GENERIC: u32 = 1 << 2;
/// `$`: string commands.
pub const STRING: u32 = 1 << 3;
/// `l`: list commands.
pub const LIST: u32 = 1 << 4;
/// `s`: set commands.
pub const SET: u32 = 1 << 5;
/// `h`: hash commands.
pub const HASH: u32 = 1 << 6;
/// `z`: sorted set commands.
pub const ZSET: u32 = 1 << 7;
/// `x`: a key expired.
pub const EXPIRED: u32 = 1 << 8;
/// `e`: a key was evicted.
pub const EVICTED: u32 = 1 << 9;
/// `t`: stream commands.
pub const STREAM: u32 = 1 << 10;
/// `m`: a key was looked up and missed (not part of `A`).
pub const KEY_MISS: u32 = 1 << 11;
/// `d`: module key types (never raised by Redwing, accepted in the flags).
pub const MODULE: u32 = 1 << 12;
/// `n`: a key was created (not part of `A`).
pub const NEW: u32 = 1 << 13;
/// `A`: alias for `g$lshzxetd`.
pub const ALL: u32 =
    GENERIC | STRING | LIST | SET | HASH | ZSET | EXPIRED | EVICTED | STREAM | MODULE;

/// One raised event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyEvent {
    pub class: u32,
    pub event: &'static str,
    pub key: Bytes,
    pub db: usize,
}

/// Parses a `notify-keyspace-events` value; `None` for an unknown flag character.
pub fn parse_flags(s: &str) -> Option<u32> {
    let mut flags = 0;
    for ch in s.chars() {
        flags |= match ch {
            'A' => ALL,
            'g' => GENERIC,
            '$' => STRING,
            'l' => LIST,
            's' => SET,
            'h' => HASH,
            'z' => ZSET,
            'x' => EXPIRED,
            'e' => EVICTED,
            'K' => KEYSPACE,
            'E' => KEYEVENT,
            't' => STREAM,
            'm' => KEY_MISS,
            'd' => MODULE,
            'n' => NEW,
            _ => return None,
        };
    }
    Some(flags)
}

/// The canonical text of `flags` (Redis's `keyspaceEventsFlagsToString`).
pub fn flags_to_string(flags: u32) -> String {
    let mut s = String::new();
    if flags & ALL == ALL {
        s.push('A');
    } else {
        for (bit, ch) in [
            (GENERIC, 'g'),
            (STRING, '$'),
            (LIST, 'l'),
            (SET, 's'),
            (HASH, 'h'),
            (ZSET, 'z'),
            (EXPIRED, 'x'),
            (EVICTED, 'e'),
            (STREAM, 't'),
            (MODULE, 'd'),
            (NEW, 'n'),
        ] {
            if flags & bit != 0 {
                s.push(ch);
            }
        }
    }
    // As Redis: `n` is printed only without `A` (it is not part of `A`, but Redis's printer
    // checks it in the same branch as the classes `A` covers).
    for (bit, ch) in [(KEYSPACE, 'K'), (KEYEVENT, 'E'), (KEY_MISS, 'm')] {
        if flags & bit != 0 {
            s.push(ch);
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_round_trip_as_redis_prints_them() {
        assert_eq!(parse_flags("KEA").map(flags_to_string), Some("AKE".into()));
        assert_eq!(parse_flags("Elx").map(flags_to_string), Some("lxE".into()));
        assert_eq!(parse_flags("").map(flags_to_string), Some("".into()));
        assert_eq!(parse_flags("KA$q"), None);
        assert_eq!(parse_flags("Kmn").map(flags_to_string), Some("nKm".into()));
        assert_eq!(parse_flags("AnK").map(flags_to_string), Some("AK".into()));
    }
}
