//! Stream commands through the table, in process, one module per subtopic (as in
//! `commands::streams`). Replies were checked against a running Valkey 8.0.1 (the same
//! command lines side by side); propagated commands against Valkey's replication stream
//! (`valkey-cli --replica`) and keyspace events against its `__keyevent@0__` channel.

mod add;
mod blocking;
mod claim;
mod groups;
mod info;
mod read;

use bytes::Bytes;
use commands::notify;
use commands::testing::{bulk, Harness};
use resp::Reply;

pub const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";
pub const INVALID_ID: &str = "ERR Invalid stream ID specified as stream command argument";

pub fn e(msg: &str) -> Reply {
    Reply::error(msg.to_string())
}

pub fn arr(items: Vec<Reply>) -> Reply {
    Reply::Array(items)
}

pub fn bulks(items: &[&str]) -> Reply {
    Reply::Array(items.iter().map(|s| bulk(s)).collect())
}

/// `[id, [field, value, ...]]`.
pub fn entry(id: &str, fv: &[&str]) -> Reply {
    arr(vec![bulk(id), bulks(fv)])
}

pub fn prop(cmds: &[&[&str]]) -> Vec<Vec<String>> {
    cmds.iter()
        .map(|c| c.iter().map(|s| s.to_string()).collect())
        .collect()
}

pub fn exists(h: &Harness, key: &str) -> bool {
    h.ks.db(0).get(key.as_bytes()).is_some()
}

/// A harness recording every keyspace event class.
pub fn notifying() -> Harness {
    let mut h = Harness::new();
    h.settings.notify_classes = notify::ALL | notify::KEYSPACE | notify::KEYEVENT;
    h
}

/// Event names raised by the last command.
pub fn events(h: &Harness) -> Vec<&'static str> {
    h.last.notifications.iter().map(|n| n.event).collect()
}

/// Runs a command given as strings and returns its reply (for building argument vectors).
pub fn argv(args: &[&str]) -> Vec<Bytes> {
    args.iter()
        .map(|a| Bytes::copy_from_slice(a.as_bytes()))
        .collect()
}

/// A map reply from (name, value) pairs.
pub fn map(fields: Vec<(&str, Reply)>) -> Reply {
    Reply::Map(fields.into_iter().map(|(k, v)| (bulk(k), v)).collect())
}

/// `XADD key id f v ...` that must succeed.
pub fn add(h: &mut Harness, key: &str, id: &str, fv: &[&str]) {
    let mut args = vec!["XADD", key, id];
    args.extend_from_slice(fv);
    let r = h.run(&args);
    assert!(!r.is_error(), "XADD {key} {id}: {r:?}");
}
