//! The ACL LOG: denied commands, keys, channels and failed authentications, newest first.
//! An event like one of the ten newest entries (same reason, context, object and user, within
//! a minute of its last update) bumps that entry's count instead of adding one (Valkey's
//! `addACLLogEntry`); each new entry gets the next id.

use std::collections::VecDeque;

use bytes::Bytes;
use resp::Reply;

/// Events closer than this (ms) to an entry's last update are grouped with it.
const GROUPING_MAX_DELTA_MS: i64 = 60_000;
/// How many of the newest entries are compared with a new event.
const GROUPING_SCAN: usize = 10;

/// What was denied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    Command,
    Key,
    Channel,
    Auth,
}

impl Reason {
    pub fn name(self) -> &'static str {
        match self {
            Reason::Command => "command",
            Reason::Key => "key",
            Reason::Channel => "channel",
            Reason::Auth => "auth",
        }
    }
}

/// Where the command ran.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Context {
    Toplevel,
    Multi,
    Lua,
    Module,
}

impl Context {
    pub fn name(self) -> &'static str {
        match self {
            Context::Toplevel => "toplevel",
            Context::Multi => "multi",
            Context::Lua => "lua",
            Context::Module => "module",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct LogEntry {
    pub count: u64,
    pub reason: Reason,
    pub context: Context,
    /// The command's full name, the key, the channel, or the AUTH/HELLO word as sent.
    pub object: Vec<u8>,
    pub username: Vec<u8>,
    /// Last update, unix ms.
    pub updated_ms: i64,
    /// CLIENT LIST line of the client of the last event.
    pub client_info: String,
    pub entry_id: i64,
    pub created_ms: i64,
}

/// A new event to log.
pub struct Event {
    pub reason: Reason,
    pub context: Context,
    pub object: Vec<u8>,
    pub username: Vec<u8>,
    pub client_info: String,
    pub now_ms: i64,
}

#[derive(Default, Debug)]
pub struct AclLog {
    /// Newest first.
    entries: VecDeque<LogEntry>,
    /// Entries created so far (the next entry's id).
    created: i64,
}

impl AclLog {
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn entries(&self) -> impl Iterator<Item = &LogEntry> {
        self.entries.iter()
    }

    /// ACL LOG RESET (ids keep counting).
    pub fn reset(&mut self) {
        self.entries.clear();
    }

    /// Records an event, keeping at most `max_len` entries (a zero length empties the log).
    pub fn add(&mut self, ev: Event, max_len: usize) {
        if max_len == 0 {
            self.entries.clear();
            return;
        }
        let matched = self.entries.iter().take(GROUPING_SCAN).position(|e| {
            e.reason == ev.reason
                && e.context == ev.context
                && (e.updated_ms - ev.now_ms).abs() <= GROUPING_MAX_DELTA_MS
                && e.object == ev.object
                && e.username == ev.username
        });
        if let Some(i) = matched {
            if let Some(mut e) = self.entries.remove(i) {
                e.client_info = ev.client_info;
                e.updated_ms = ev.now_ms;
                e.count += 1;
                self.entries.push_front(e);
            }
            return;
        }
        self.entries.push_front(LogEntry {
            count: 1,
            reason: ev.reason,
            context: ev.context,
            object: ev.object,
            username: ev.username,
            updated_ms: ev.now_ms,
            client_info: ev.client_info,
            entry_id: self.created,
            created_ms: ev.now_ms,
        });
        self.created += 1;
        self.entries.truncate(max_len);
    }

    /// ACL LOG [count]: the newest `count` entries as maps of ten fields.
    pub fn reply(&self, count: usize, now_ms: i64) -> Reply {
        let field = |k: &'static str, v: Reply| (Reply::bulk(k.as_bytes()), v);
        Reply::Array(
            self.entries
                .iter()
                .take(count)
                .map(|e| {
                    Reply::Map(vec![
                        field("count", Reply::Int(e.count as i64)),
                        field("reason", Reply::bulk(e.reason.name().as_bytes())),
                        field("context", Reply::bulk(e.context.name().as_bytes())),
                        field("object", Reply::Bulk(Bytes::from(e.object.clone()))),
                        field("username", Reply::Bulk(Bytes::from(e.username.clone()))),
                        field(
                            "age-seconds",
                            Reply::Double((now_ms - e.updated_ms) as f64 / 1000.0),
                        ),
                        field(
                            "client-info",
                            Reply::Bulk(Bytes::from(e.client_info.clone())),
                        ),
                        field("entry-id", Reply::Int(e.entry_id)),
                        field("timestamp-created", Reply::Int(e.created_ms)),
                        field("timestamp-last-updated", Reply::Int(e.updated_ms)),
                    ])
                })
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(object: &str, now_ms: i64) -> Event {
        Event {
            reason: Reason::Auth,
            context: Context::Toplevel,
            object: object.as_bytes().to_vec(),
            username: b"user1".to_vec(),
            client_info: format!("id={now_ms}"),
            now_ms,
        }
    }

    #[test]
    fn similar_events_are_grouped() {
        let mut log = AclLog::default();
        log.add(ev("AUTH", 1000), 128);
        for t in 0..10 {
            log.add(ev("AUTH", 1001 + t), 128);
        }
        assert_eq!(log.len(), 1);
        let e = log.entries().next().unwrap();
        assert_eq!(
            (e.count, e.entry_id, e.created_ms, e.updated_ms),
            (11, 0, 1000, 1010)
        );
        assert_eq!(e.client_info, "id=1010");
        log.add(ev("AUTH", 1000 + 61_000), 128);
        assert_eq!(log.len(), 2);
        assert_eq!(log.entries().next().unwrap().entry_id, 1);
        log.add(ev("HELLO", 62_000), 128);
        assert_eq!(log.entries().next().unwrap().entry_id, 2);
    }

    #[test]
    fn length_is_bounded() {
        let mut log = AclLog::default();
        for i in 0..10 {
            log.add(ev(&format!("k{i}"), 1), 5);
        }
        assert_eq!(log.len(), 5);
        log.add(ev("x", 1), 0);
        assert!(log.is_empty());
    }
}
