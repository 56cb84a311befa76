//! Server-assisted client-side caching (CLIENT TRACKING), with Valkey 8's semantics.
//!
//! * The tracking table maps a key name (in any database: the table is global) to the ids of
//!   the clients that read it while tracking in the default mode; a change to the key sends
//!   each of them an invalidation and forgets the entry. `tracking-table-max-keys` bounds the
//!   table: over it, random keys are invalidated as if changed.
//! * BCAST clients remember nothing per key: every changed key under one of their prefixes is
//!   collected per prefix and broadcast once per event-loop iteration.
//! * A flush (FLUSHDB, FLUSHALL, a dataset replaced) sends every tracking client a null
//!   invalidation and empties the table.
//! * Delivery: a RESP3 client gets `>2 invalidate [keys]` pushes; with REDIRECT the pushes go
//!   to the other client, or, when that one speaks RESP2 and is subscribed, as a message on
//!   `__redis__:invalidate`. A redirect whose client is gone raises `tracking-redir-broken`.
//! * The client whose command is executing gets its own invalidations after its reply
//!   (`pending`), never inside it; NOLOOP clients get none for keys they changed themselves.
//!
//! Changes are observed through the keyspace's touched-key events (collected while
//! [`Tracking::needs_touched`]) and its running flush count. Not here: the CLIENT
//! subcommands' parsing (see `cmd::client_cmd`), when the core calls these hooks.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use bytes::Bytes;
use commands::spec::flags as f;
use commands::CommandSpec;
use resp::RespVersion;

use crate::exec::Exec;
use crate::net::client::TrackingState;
use crate::net::{Client, Net};

/// Changed keys under one BCAST prefix, and the clients following it.
#[derive(Default)]
struct Bcast {
    /// Key → the client that changed it last (`None`: expiry, eviction), for NOLOOP.
    keys: BTreeMap<Bytes, Option<u64>>,
    clients: BTreeSet<u64>,
}

/// The server-wide tracking state.
#[derive(Default)]
pub struct Tracking {
    /// Tracked keys with the ids of the clients that may cache them (sorted); a vector so a
    /// random key can be picked when the table is over its limit.
    entries: Vec<(Bytes, Vec<u64>)>,
    index: HashMap<Bytes, usize>,
    /// Client ids across all entries (`tracking_total_items`).
    items: u64,
    prefixes: BTreeMap<Bytes, Bcast>,
    /// Clients with tracking on (`tracking_clients`).
    clients: usize,
    /// The client whose command is being processed (NOLOOP, deferred delivery).
    current: Option<u64>,
    /// True while that command executes (its own invalidations wait for its reply).
    executing: bool,
    /// Invalidations for a client whose command was executing: (client id, key or `None`
    /// for a flush), delivered after its reply.
    pending: Vec<(u64, Option<Bytes>)>,
    /// How many of the keyspace's touched keys were already handled.
    touched_seen: usize,
    /// The keyspace flush count already handled.
    flushes_seen: u64,
    /// Consecutive table-limit rounds that did not get under the limit (more effort each).
    limit_rounds: u64,
}

/// What an invalidation says.
enum Payload<'a> {
    /// One key (default mode).
    Key(&'a [u8]),
    /// Keys under a BCAST prefix.
    Keys(Vec<&'a [u8]>),
    /// Everything (a flush): a null in the tracking client's protocol.
    All,
}

impl Tracking {
    pub fn tracking_clients(&self) -> usize {
        self.clients
    }

    pub fn total_keys(&self) -> usize {
        self.entries.len()
    }

    pub fn total_items(&self) -> u64 {
        self.items
    }

    pub fn total_prefixes(&self) -> usize {
        self.prefixes.len()
    }

    /// The keyspace must collect touched keys (Valkey's signalModifiedKey feeds tracking).
    pub fn needs_touched(&self) -> bool {
        self.clients > 0 || !self.entries.is_empty()
    }

    fn remember(&mut self, key: &[u8], id: u64) {
        let slot = match self.index.get(key) {
            Some(&i) => i,
            None => {
                let k = Bytes::copy_from_slice(key);
                self.entries.push((k.clone(), Vec::new()));
                self.index.insert(k, self.entries.len() - 1);
                self.entries.len() - 1
            }
        };
        if let Some((_, ids)) = self.entries.get_mut(slot) {
            if let Err(at) = ids.binary_search(&id) {
                ids.insert(at, id);
                self.items += 1;
            }
        }
    }

    /// Removes a key's entry; returns its client ids.
    fn take(&mut self, key: &[u8]) -> Option<Vec<u64>> {
        let slot = self.index.remove(key)?;
        let (_, ids) = self.entries.swap_remove(slot);
        if let Some((moved, _)) = self.entries.get(slot) {
            self.index.insert(moved.clone(), slot);
        }
        self.items -= ids.len() as u64;
        Some(ids)
    }

    fn clear_table(&mut self) {
        self.entries.clear();
        self.index.clear();
        self.items = 0;
    }
}

// --- enabling and disabling ------------------------------------------------------------------

/// CLIENT TRACKING ON with validated options: turns tracking on (or updates it), adding
/// BCAST prefixes (the empty prefix when BCAST names none).
pub fn enable(
    tr: &mut Tracking,
    c: &mut Client,
    redirect: u64,
    opts: &TrackingState,
    prefixes: &[Bytes],
) {
    let state = match &mut c.tracking {
        Some(t) => t,
        None => {
            tr.clients += 1;
            c.tracking.insert(Box::default())
        }
    };
    state.redirect = redirect;
    state.broken_redirect = false;
    state.bcast = opts.bcast;
    state.optin = opts.optin;
    state.optout = opts.optout;
    state.noloop = opts.noloop;
    if opts.bcast {
        let empty = [Bytes::new()];
        let wanted = if prefixes.is_empty() {
            &empty[..]
        } else {
            prefixes
        };
        for p in wanted {
            let bs = tr.prefixes.entry(p.clone()).or_default();
            if bs.clients.insert(c.id) {
                state.prefixes.insert(p.clone());
            }
        }
    }
}

/// CLIENT TRACKING OFF, RESET, or the client is freed. Its ids stay in the table and are
/// dropped lazily, as in Valkey.
pub fn disable(tr: &mut Tracking, c: &mut Client) {
    let Some(state) = c.tracking.take() else {
        return;
    };
    for p in &state.prefixes {
        if let Some(bs) = tr.prefixes.get_mut(p) {
            bs.clients.remove(&c.id);
            if bs.clients.is_empty() {
                tr.prefixes.remove(p);
            }
        }
    }
    tr.clients -= 1;
}

/// Checks new BCAST prefixes against each other and the client's existing ones.
pub fn check_prefixes(c: &Client, prefixes: &[Bytes]) -> Result<(), resp::Reply> {
    let overlap = |a: &[u8], b: &[u8]| {
        let n = a.len().min(b.len());
        a[..n] == b[..n]
    };
    for (i, p) in prefixes.iter().enumerate() {
        if let Some(t) = &c.tracking {
            if let Some(existing) = t.prefixes.iter().find(|e| overlap(e, p)) {
                return Err(commands::errors::prefix_overlaps_existing(p, existing));
            }
        }
        if let Some(other) = prefixes[i + 1..].iter().find(|o| overlap(p, o)) {
            return Err(commands::errors::prefix_overlaps_other(p, other));
        }
    }
    Ok(())
}

// --- delivery --------------------------------------------------------------------------------

fn bulk(out: &mut Vec<u8>, data: &[u8]) {
    resp::reply::encode_bulk(out, data);
}

/// Sends one invalidation on behalf of tracking client `id` (Valkey's sendTrackingMessage):
/// to itself in RESP3, or to its redirect client.
fn send(net: &mut Net, id: u64, payload: &Payload) {
    let Some(c) = net.client_by_id(id) else {
        return;
    };
    let Some(redirect) = c.tracking.as_ref().map(|t| t.redirect) else {
        return;
    };
    let null: &[u8] = if c.resp == RespVersion::Resp3 {
        b"_\r\n"
    } else {
        b"$-1\r\n"
    };
    let target = match redirect {
        0 => id,
        r if net.client_key(r).is_some() => r,
        r => return redirect_broken(net, id, r),
    };
    let Some(t) = net.client_by_id(target) else {
        return;
    };
    let mut out = Vec::new();
    if t.resp == RespVersion::Resp3 {
        out.extend_from_slice(b">2\r\n");
        bulk(&mut out, b"invalidate");
    } else if redirect != 0 && t.in_pubsub() {
        out.extend_from_slice(b"*3\r\n");
        bulk(&mut out, b"message");
        bulk(&mut out, b"__redis__:invalidate");
    } else {
        // RESP2 without a redirect has no way to carry a push.
        return;
    }
    match payload {
        Payload::Key(k) => {
            out.extend_from_slice(b"*1\r\n");
            bulk(&mut out, k);
        }
        Payload::Keys(keys) => {
            out.extend_from_slice(format!("*{}\r\n", keys.len()).as_bytes());
            for k in keys {
                bulk(&mut out, k);
            }
        }
        Payload::All => out.extend_from_slice(null),
    }
    t.push_out().extend_from_slice(&out);
}

/// The redirect client is gone: flagged, and told to a RESP3 client.
fn redirect_broken(net: &mut Net, id: u64, redirect: u64) {
    let Some(c) = net.client_by_id(id) else {
        return;
    };
    if let Some(state) = c.tracking.as_mut() {
        state.broken_redirect = true;
    }
    if c.resp == RespVersion::Resp3 {
        let mut out = b">2\r\n".to_vec();
        bulk(&mut out, b"tracking-redir-broken");
        out.extend_from_slice(format!(":{redirect}\r\n").as_bytes());
        c.push_out().extend_from_slice(&out);
    }
}

// --- invalidation ----------------------------------------------------------------------------

/// A key changed (Valkey's trackingInvalidateKey). `modifier` is the client that changed it
/// (for BCAST NOLOOP); `bcast` is false for table evictions (the key did not change).
fn invalidate_key(
    tr: &mut Tracking,
    net: &mut Net,
    key: &[u8],
    bcast: bool,
    modifier: Option<u64>,
) {
    if bcast {
        for (p, bs) in tr.prefixes.iter_mut() {
            if key.starts_with(p) {
                bs.keys.insert(Bytes::copy_from_slice(key), modifier);
            }
        }
    }
    let Some(ids) = tr.take(key) else {
        return;
    };
    for id in ids {
        let Some(state) = net.client_by_id(id).and_then(|c| c.tracking.as_ref()) else {
            continue;
        };
        if state.bcast || (state.noloop && tr.current == Some(id)) {
            continue;
        }
        if tr.current == Some(id) && tr.executing {
            tr.pending.push((id, Some(Bytes::copy_from_slice(key))));
        } else {
            send(net, id, &Payload::Key(key));
        }
    }
}

/// Every key is invalid: a null to every tracking client (after its reply for the client
/// whose command flushed), and an empty table.
fn invalidate_all(tr: &mut Tracking, net: &mut Net) {
    if tr.clients > 0 {
        let ids: Vec<u64> = net
            .clients
            .iter()
            .filter(|(_, c)| c.tracking.is_some())
            .map(|(_, c)| c.id)
            .collect();
        for id in ids {
            if tr.current == Some(id) {
                tr.pending.push((id, None));
            } else {
                send(net, id, &Payload::All);
            }
        }
    }
    tr.clear_table();
}

/// Handles the keyspace changes not seen yet: touched keys (each one changed by `modifier`,
/// unless it expired) and flushes.
pub fn sync(exec: &mut Exec, net: &mut Net, modifier: Option<u64>) {
    let tr = &mut exec.tracking;
    let events = &exec.ks.events;
    if !tr.needs_touched() {
        tr.touched_seen = events.touched.len();
        tr.flushes_seen = events.flushes;
        return;
    }
    if let Some(new) = events.touched.get(tr.touched_seen..) {
        for (_, key) in new {
            let expired = events.expired.iter().any(|(_, k)| k == key);
            let by = if expired { None } else { modifier };
            invalidate_key(tr, net, key, true, by);
        }
    }
    tr.touched_seen = events.touched.len();
    if events.flushes != tr.flushes_seen {
        tr.flushes_seen = events.flushes;
        invalidate_all(tr, net);
    }
}

/// The keyspace's events are about to be drained: handles what is left, and starts counting
/// afresh.
pub fn before_drain(exec: &mut Exec, net: &mut Net) {
    let modifier = exec.tracking.current;
    sync(exec, net, modifier);
    exec.tracking.touched_seen = 0;
}

// --- the core's hooks ------------------------------------------------------------------------

/// A client's command is about to be processed: it is the current client (NOLOOP, deferred
/// delivery) for the checks before execution too.
pub fn begin_command(exec: &mut Exec, id: u64) {
    exec.tracking.current = Some(id);
    exec.tracking.executing = false;
}

/// A command starts executing for client `id` (`top`: not inside EXEC or a script).
/// Changes made before it (eviction) are handled first, as not made by it.
pub fn enter_call(exec: &mut Exec, net: &mut Net, id: u64, top: bool) {
    if !exec.tracking.needs_touched() {
        return;
    }
    if top {
        sync(exec, net, None);
        exec.tracking.current = Some(id);
    }
    exec.tracking.executing = true;
}

/// A command finished executing: invalidates what it changed, then remembers the keys it
/// read for the current client (Valkey's trackingRememberKeys, for read-only commands).
pub fn leave_call(exec: &mut Exec, net: &mut Net, spec: &CommandSpec, argv: &[Bytes], top: bool) {
    if !exec.tracking.needs_touched() {
        return;
    }
    let current = exec.tracking.current;
    sync(exec, net, current);
    if top {
        exec.tracking.executing = false;
    }
    // A read-only script is not a read itself: only the commands it runs are (Valkey's
    // `call` skips EVAL_RO, EVALSHA_RO and FCALL_RO).
    if !spec.has(f::READONLY)
        || spec.has(f::PUBSUB)
        || matches!(spec.name, "eval_ro" | "evalsha_ro" | "fcall_ro")
    {
        return;
    }
    let Some(id) = current else { return };
    let Some(state) = net.client_by_id(id).and_then(|c| c.tracking.as_ref()) else {
        return;
    };
    if state.bcast || (state.optin && !state.caching) || (state.optout && state.caching) {
        return;
    }
    for pos in spec.keys.positions(argv) {
        if let Some(k) = argv.get(pos) {
            exec.tracking.remember(k, id);
        }
    }
}

/// After the current client's reply: delivers the invalidations that waited for it, and
/// (outside MULTI, after any command but CLIENT) ends the effect of CLIENT CACHING.
pub fn after_reply(exec: &mut Exec, net: &mut Net, client_cmd: bool) {
    let tr = &mut exec.tracking;
    for (id, key) in std::mem::take(&mut tr.pending) {
        match key {
            Some(k) => send(net, id, &Payload::Key(&k)),
            None => send(net, id, &Payload::All),
        }
    }
    let current = tr.current.filter(|_| tr.clients > 0 && !client_cmd);
    if let Some(c) = current.and_then(|id| net.client_by_id(id)) {
        if let (Some(t), None) = (c.tracking.as_mut(), &c.multi) {
            t.caching = false;
        }
    }
    tr.current = None;
    tr.executing = false;
}

/// Before the event loop sleeps: changes made outside commands (active expiry, eviction,
/// a replica's new dataset), then the BCAST broadcasts of this iteration.
pub fn before_sleep(exec: &mut Exec, net: &mut Net) {
    exec.tracking.current = None;
    exec.tracking.executing = false;
    if exec.tracking.needs_touched() {
        // Changes the cron makes before the next command (expiry) must be seen too.
        exec.ks.events.track = true;
    }
    sync(exec, net, None);
    broadcast(&mut exec.tracking, net);
}

/// Sends each BCAST prefix's changed keys to its clients (without the keys a NOLOOP client
/// changed itself), then forgets them.
fn broadcast(tr: &mut Tracking, net: &mut Net) {
    if tr.clients == 0 {
        return;
    }
    for bs in tr.prefixes.values_mut() {
        if bs.keys.is_empty() {
            continue;
        }
        for &id in &bs.clients {
            let noloop = net
                .client_by_id(id)
                .and_then(|c| c.tracking.as_ref())
                .is_some_and(|t| t.noloop);
            let keys: Vec<&[u8]> = bs
                .keys
                .iter()
                .filter(|(_, by)| !noloop || **by != Some(id))
                .map(|(k, _)| &k[..])
                .collect();
            if !keys.is_empty() {
                send(net, id, &Payload::Keys(keys));
            }
        }
        bs.keys.clear();
    }
}

/// Keeps the table within `tracking-table-max-keys` (0: no limit) by invalidating random
/// keys, with more effort each time a round ends still over the limit.
pub fn limit_used_slots(exec: &mut Exec, net: &mut Net, max_keys: i64) {
    let tr = &mut exec.tracking;
    if tr.clients == 0 || max_keys <= 0 {
        return;
    }
    let max = max_keys as usize;
    if tr.entries.len() <= max {
        tr.limit_rounds = 0;
        return;
    }
    let mut effort = 100 * (tr.limit_rounds + 1);
    while effort > 0 && !tr.entries.is_empty() {
        effort -= 1;
        let pick = exec.ks.rng.below(tr.entries.len() as u64) as usize;
        let Some(key) = tr.entries.get(pick).map(|(k, _)| k.clone()) else {
            break;
        };
        invalidate_key(tr, net, &key, false, None);
        if tr.entries.len() <= max {
            tr.limit_rounds = 0;
            return;
        }
    }
    tr.limit_rounds += 1;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_counts_keys_and_items_through_swaps() {
        let mut tr = Tracking::default();
        tr.remember(b"a", 2);
        tr.remember(b"a", 1);
        tr.remember(b"a", 2);
        tr.remember(b"b", 1);
        tr.remember(b"c", 3);
        assert_eq!((tr.total_keys(), tr.total_items()), (3, 4));
        // Removing the first entry moves the last into its slot: the index must follow.
        assert_eq!(tr.take(b"a"), Some(vec![1, 2]));
        assert_eq!(tr.take(b"c"), Some(vec![3]));
        assert_eq!(tr.take(b"c"), None);
        assert_eq!(tr.take(b"b"), Some(vec![1]));
        assert_eq!((tr.total_keys(), tr.total_items()), (0, 0));
        tr.remember(b"x", 7);
        tr.clear_table();
        assert_eq!((tr.total_keys(), tr.total_items()), (0, 0));
        assert!(tr.take(b"x").is_none());
    }
}
