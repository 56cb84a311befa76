//! Clients blocked on keys (BLPOP, BLMOVE, BZPOPMIN, ...) and on replication acks (WAIT).
//!
//! A blocked client keeps its command. When a command touches one of its keys, the key is
//! marked ready; after the command, ready keys are served in order, and each key's clients in
//! the order they blocked (Redis's FIFO fairness): the blocked command is executed again, and if
//! it finds data it replies, propagates its effect and unblocks the client. A chain (BLMOVE
//! pushing into a key another client waits on) is followed until nothing is ready.

use std::collections::{HashMap, HashSet, VecDeque};

use bytes::Bytes;
use resp::Reply;

use crate::client::{BlockKind, Blocked};
use crate::server::Server;

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
    /// Clients also woken by the deletion of their keys (XREADGROUP).
    pub nokey_clients: HashSet<u64>,
    pub blocked_clients: usize,
}

impl Blocking {
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

    pub fn remove_client(&mut self, id: u64) {
        self.nokey_clients.remove(&id);
        self.by_key.retain(|_, ids| {
            ids.retain(|&x| x != id);
            !ids.is_empty()
        });
        let before = self.deadlines.len() + self.waiting_acks.len();
        self.deadlines.retain(|d| d.1 != id);
        self.waiting_acks.retain(|&x| x != id);
        let _ = before;
    }
}

/// Parks client `key` until one of `keys` is ready or `deadline_ms` passes.
pub fn block_client(
    s: &mut Server,
    key: usize,
    argv: Vec<Bytes>,
    keys: Vec<Bytes>,
    deadline_ms: Option<i64>,
    kind: BlockKind,
) {
    let c = &mut s.net.clients[key];
    let id = c.id;
    let db = c.db;
    for k in &keys {
        s.exec
            .blocking
            .by_key
            .entry((db, k.clone()))
            .or_default()
            .push_back(id);
    }
    if let Some(d) = deadline_ms {
        s.exec.blocking.deadlines.push((d, id));
    }
    if let BlockKind::Wait { .. } = kind {
        s.exec.blocking.waiting_acks.push(id);
    }
    c.blocked = Some(Blocked {
        argv,
        keys,
        db,
        deadline_ms,
        kind,
    });
    s.exec.blocking.blocked_clients += 1;
}

/// Unparks a client (served, timed out or killed), dropping its registrations.
pub fn unblock(s: &mut Server, key: usize) -> Option<Blocked> {
    let c = s.net.clients.get_mut(key)?;
    let b = c.blocked.take()?;
    let id = c.id;
    for k in &b.keys {
        if let Some(ids) = s.exec.blocking.by_key.get_mut(&(b.db, k.clone())) {
            ids.retain(|&x| x != id);
            if ids.is_empty() {
                s.exec.blocking.by_key.remove(&(b.db, k.clone()));
            }
        }
    }
    s.exec.blocking.deadlines.retain(|d| d.1 != id);
    s.exec.blocking.waiting_acks.retain(|&x| x != id);
    s.exec.blocking.nokey_clients.remove(&id);
    s.exec.blocking.blocked_clients = s.exec.blocking.blocked_clients.saturating_sub(1);
    Some(b)
}

/// Marks keys written by the last command as ready if someone waits on them.
pub fn signal_keys(s: &mut Server, touched: &[(usize, Vec<u8>)], dbs: &[usize]) {
    if s.exec.blocking.by_key.is_empty() {
        return;
    }
    for (db, k) in touched {
        let entry = (*db, Bytes::copy_from_slice(k));
        if s.exec.blocking.by_key.contains_key(&entry)
            && s.exec.blocking.ready_set.insert(entry.clone())
        {
            s.exec.blocking.ready.push(entry);
        }
    }
    for &db in dbs {
        let keys: Vec<(usize, Bytes)> = s
            .exec
            .blocking
            .by_key
            .keys()
            .filter(|(d, _)| *d == db)
            .cloned()
            .collect();
        for entry in keys {
            if s.exec.blocking.ready_set.insert(entry.clone()) {
                s.exec.blocking.ready.push(entry);
            }
        }
    }
}

/// Serves clients blocked on ready keys, following chains.
pub fn serve_ready(s: &mut Server) {
    let mut rounds = 0;
    while !s.exec.blocking.ready.is_empty() && rounds < 10_000 {
        rounds += 1;
        let ready = std::mem::take(&mut s.exec.blocking.ready);
        s.exec.blocking.ready_set.clear();
        for (db, k) in ready {
            let ids: Vec<u64> = s
                .exec
                .blocking
                .by_key
                .get(&(db, k.clone()))
                .map(|v| v.iter().copied().collect())
                .unwrap_or_default();
            for id in ids {
                let Some(ck) = s.client_key(id) else { continue };
                if !serve_one(s, ck) {
                    // The key is exhausted for this command type; later clients may still use it
                    // (different command), so keep trying the rest.
                    continue;
                }
            }
        }
    }
}

/// Re-runs a blocked client's command; returns true if it was served.
fn serve_one(s: &mut Server, key: usize) -> bool {
    let Some(b) = s.net.clients.get(key).and_then(|c| c.blocked.as_ref()) else {
        return false;
    };
    if b.kind != BlockKind::Keys {
        return false;
    }
    let argv = b.argv.clone();
    let db = b.db;
    // Try without blocking: if the handler would block again, nothing changed for it.
    let Ok(spec) = crate::dispatch::resolve(&argv) else {
        return false;
    };
    let commands::Handler::Data(handler) = spec.handler else {
        return false;
    };
    let resp = s.net.clients[key].resp;
    // The command runs now, not when the command that woke it started (a key that expired
    // meanwhile, e.g. during a long MULTI, is seen as expired and the client blocks again).
    s.exec.ks.now_ms = s.exec.clock.now_ms();
    let mut ctx = commands::Ctx::new(&mut s.exec.ks, db, &s.exec.settings);
    ctx.resp = resp;
    ctx.may_block = true;
    ctx.unblocking = true;
    let reply = handler(&mut ctx, &argv);
    let (dirty, rewrite, block) = (ctx.dirty, ctx.rewrite.take(), ctx.block.take());
    if block.is_some() {
        return false;
    }
    unblock(s, key);
    if dirty > 0 {
        s.persist.dirty += dirty;
        match rewrite {
            None => s.exec.prop_unit.push((db, argv.clone())),
            Some(cmds) => s.exec.prop_unit.extend(cmds.into_iter().map(|c| (db, c))),
        }
        crate::dispatch::flush_propagation(s);
        let off = s.repl.offset();
        s.net.clients[key].woff = off;
    }
    count_unblocked(s, spec, &reply);
    s.net.clients[key].reply(&reply);
    let ev = s.exec.ks.take_events();
    crate::cmd::multi::touch_keys(s, &ev.touched, &ev.touched_dbs);
    signal_keys(s, &ev.touched, &ev.touched_dbs);
    crate::dispatch::process_input(s, key);
    true
}

/// Command statistics of a parked command, counted when it ends (served, failed or timed out).
fn count_unblocked(s: &mut Server, spec: &'static commands::CommandSpec, reply: &Reply) {
    s.stats.total_commands += 1;
    let st = s.stats.command(spec);
    st.calls += 1;
    if let Some(code) = reply.error_code() {
        st.failed_calls += 1;
        s.stats.count_error(code);
    }
}

/// Counts a parked command that ends without being served.
fn count_unserved(s: &mut Server, b: &Blocked, reply: &Reply) {
    if b.kind != BlockKind::Keys {
        return;
    }
    if let Ok(spec) = crate::dispatch::resolve(&b.argv) {
        count_unblocked(s, spec, reply);
    }
}

/// The reply a blocking command gives when its timeout passes.
fn timeout_reply(_argv: &[Bytes]) -> Reply {
    Reply::NilArray
}

/// Replies to clients whose deadline passed.
pub fn expire_timeouts(s: &mut Server, now: i64) {
    let due: Vec<u64> = s
        .exec
        .blocking
        .deadlines
        .iter()
        .filter(|d| d.0 <= now)
        .map(|d| d.1)
        .collect();
    for id in due {
        let Some(key) = s.client_key(id) else {
            continue;
        };
        let Some(b) = unblock(s, key) else { continue };
        let reply = match b.kind {
            BlockKind::Wait { offset, .. } => {
                Reply::Int(crate::repl::replicas_acked(s, offset) as i64)
            }
            _ => timeout_reply(&b.argv),
        };
        count_unserved(s, &b, &reply);
        s.net.clients[key].reply(&reply);
        crate::dispatch::process_input(s, key);
    }
}

/// Forces a blocked client out (CLIENT UNBLOCK): `error` replies -UNBLOCKED, else the timeout reply.
pub fn force_unblock(s: &mut Server, key: usize, error: bool) -> bool {
    let Some(b) = unblock(s, key) else {
        return false;
    };
    let reply = if error {
        Reply::error("UNBLOCKED client unblocked via CLIENT UNBLOCK")
    } else {
        match b.kind {
            BlockKind::Wait { offset, .. } => {
                Reply::Int(crate::repl::replicas_acked(s, offset) as i64)
            }
            _ => timeout_reply(&b.argv),
        }
    };
    count_unserved(s, &b, &reply);
    s.net.clients[key].reply(&reply);
    crate::dispatch::process_input(s, key);
    true
}
