//! Sorted-set commands through the table, in process, one module per subtopic (as in
//! `commands::zsets`). Wire-level expectations were checked against redis-server 7.0.15
//! where Redis 7.0 and Valkey 8 agree; Valkey 8 behaviour (ZRANK WITHSCORE, ZSCAN NOSCORES,
//! listpack score text, ZADD's early conversion) follows its source.

mod add;
mod pops;
mod random;
mod ranges;
mod setops;

use commands::testing::{bulk, Harness};
use keyspace::{Boxed, NewValue, Obj};
use resp::Reply;
use types::set::{Set, SetLimits};

pub fn e(msg: &str) -> Reply {
    Reply::error(msg.to_string())
}

pub fn arr(items: &[&str]) -> Reply {
    Reply::Array(items.iter().map(|s| bulk(s)).collect())
}

pub fn enc(h: &Harness, key: &str) -> &'static str {
    h.ks.db(0)
        .get(key.as_bytes())
        .map_or("none", |o| o.encoding())
}

pub fn exists(h: &Harness, key: &str) -> bool {
    h.ks.db(0).get(key.as_bytes()).is_some()
}

pub fn prop(cmds: &[&[&str]]) -> Vec<Vec<String>> {
    cmds.iter()
        .map(|c| c.iter().map(|s| s.to_string()).collect())
        .collect()
}

pub fn put_set(h: &mut Harness, key: &str, members: &[&str]) {
    let limits = SetLimits::default();
    let mut s = Set::with_first(members[0].as_bytes(), members.len(), limits);
    for m in members {
        s.add(m.as_bytes(), limits);
    }
    h.ks.put(
        0,
        Obj::new(key.as_bytes(), NewValue::Boxed(Boxed::Set(s)), None),
    );
}

/// A harness whose sorted sets are skiplists from the first member.
pub fn skiplist_harness() -> Harness {
    let mut h = Harness::new();
    h.settings.zset.max_entries = 0;
    h
}

pub const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";
