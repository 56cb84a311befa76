//! The registry of blocked clients: on keys (BLPOP, BLMOVE, BZPOPMIN, XREAD ...), on
//! replication acks (WAIT), and held by CLIENT PAUSE.
//!
//! A blocked client keeps its command ([`Blocked`]). When a command touches one of its keys,
//! the key is marked ready; the execution core then serves ready keys in order, and each key's
//! clients in the order they blocked (Redis's FIFO fairness), by running the command again
//! (see `core::blocked`). This module only keeps the registry.

use std::collections::{HashMap, HashSet, VecDeque};

use bytes::Bytes;

use crate::net::client::{BlockKind, Blocked, Client};

#[derive(Default)]
pub struct Blocking {
    /// (db, key) → client ids in blocking order.
    by_key: HashMap<(usize, Bytes), VecDeque<u64>>,
    /// Keys touched since the last serve pass.
    ready: Vec<(usize, Bytes)>,
    ready_set: HashSet<(usize, Bytes)>,
    /// Blocked clients with a deadline: (deadline ms, client id).
    deadlines: Vec<(i64, u64)>,
    /// Clients blocked in WAIT.
    pub waiting_acks: Vec<u64>,
    pub blocked_clients: usize,
    /// Clients also woken by the deletion of their keys, to fail (XREADGROUP).
    nokey_clients: HashSet<u64>,
}

impl Blocking {
    /// Nobody waits on a key.
    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }

    pub fn next_deadline_ms(&self) -> Option<i64> {
        self.deadlines.iter().map(|d| d.0).min()
    }

    /// Keys with blocked clients (INFO `total_blocking_keys`).
    pub fn blocking_keys(&self) -> usize {
        self.by_key.len()
    }

    /// Keys with a client that a deletion wakes (INFO `total_blocking_keys_on_nokey`).
    pub fn blocking_keys_on_nokey(&self) -> usize {
        if self.nokey_clients.is_empty() {
            return 0;
        }
        let nokey = |ids: &VecDeque<u64>| ids.iter().any(|id| self.nokey_clients.contains(id));
        self.by_key.values().filter(|ids| nokey(ids)).count()
    }

    /// True if a deletion of its key wakes the client (XREADGROUP).
    pub fn wakes_on_nokey(&self, id: u64) -> bool {
        self.nokey_clients.contains(&id)
    }

    /// Marks a parked client as one a key deletion must wake (Valkey's `unblock_on_nokey`).
    pub fn wake_on_nokey(&mut self, id: u64) {
        self.nokey_clients.insert(id);
    }

    /// Forgets a client that is going away.
    pub fn remove_client(&mut self, id: u64) {
        self.nokey_clients.remove(&id);
        self.by_key.retain(|_, ids| {
            ids.retain(|&x| x != id);
            !ids.is_empty()
        });
        self.deadlines.retain(|d| d.1 != id);
        self.waiting_acks.retain(|&x| x != id);
    }

    /// Parks `c` until one of `keys` is ready or `deadline_ms` passes.
    pub fn block(
        &mut self,
        c: &mut Client,
        argv: Vec<Bytes>,
        keys: Vec<Bytes>,
        deadline_ms: Option<i64>,
        kind: BlockKind,
    ) {
        let (id, db) = (c.id, c.db);
        for k in &keys {
            self.by_key
                .entry((db, k.clone()))
                .or_default()
                .push_back(id);
        }
        if let Some(d) = deadline_ms {
            self.deadlines.push((d, id));
        }
        if let BlockKind::Wait { .. } | BlockKind::WaitAof { .. } = kind {
            self.waiting_acks.push(id);
        }
        c.blocked = Some(Blocked {
            argv,
            keys,
            db,
            deadline_ms,
            kind,
        });
        self.blocked_clients += 1;
    }

    /// Unparks `c` (served, timed out or killed), dropping its registrations.
    pub fn unblock(&mut self, c: &mut Client) -> Option<Blocked> {
        let b = c.blocked.take()?;
        let id = c.id;
        for k in &b.keys {
            let entry = (b.db, k.clone());
            if let Some(ids) = self.by_key.get_mut(&entry) {
                ids.retain(|&x| x != id);
                if ids.is_empty() {
                    self.by_key.remove(&entry);
                }
            }
        }
        self.deadlines.retain(|d| d.1 != id);
        self.waiting_acks.retain(|&x| x != id);
        self.nokey_clients.remove(&id);
        self.blocked_clients = self.blocked_clients.saturating_sub(1);
        Some(b)
    }

    /// Marks keys written by the last command, and every waited-on key of databases a SWAPDB
    /// exchanged, as ready.
    pub fn signal(&mut self, touched: &[(usize, Vec<u8>)], swapped_dbs: &[usize]) {
        if self.by_key.is_empty() {
            return;
        }
        for (db, k) in touched {
            let entry = (*db, Bytes::copy_from_slice(k));
            if self.by_key.contains_key(&entry) && self.ready_set.insert(entry.clone()) {
                self.ready.push(entry);
            }
        }
        let swapped: Vec<(usize, Bytes)> = self
            .by_key
            .keys()
            .filter(|(d, _)| swapped_dbs.contains(d))
            .cloned()
            .collect();
        for entry in swapped {
            if self.ready_set.insert(entry.clone()) {
                self.ready.push(entry);
            }
        }
    }

    /// The keys marked ready since the last call, in the order they became ready.
    pub fn take_ready(&mut self) -> Vec<(usize, Bytes)> {
        self.ready_set.clear();
        std::mem::take(&mut self.ready)
    }

    pub fn has_ready(&self) -> bool {
        !self.ready.is_empty()
    }

    /// The clients waiting on a key, in blocking order.
    pub fn waiters(&self, db: usize, key: &Bytes) -> Vec<u64> {
        self.by_key
            .get(&(db, key.clone()))
            .map(|v| v.iter().copied().collect())
            .unwrap_or_default()
    }

    /// The clients whose deadline is at or before `now_ms`.
    pub fn due(&self, now_ms: i64) -> Vec<u64> {
        self.deadlines
            .iter()
            .filter(|d| d.0 <= now_ms)
            .map(|d| d.1)
            .collect()
    }
}
