//! Serving blocked clients: keys that became ready are served in order, each key's clients in
//! the order they blocked (Redis's FIFO fairness), by running their command again through the
//! core ([`super::Origin::Unblocked`]); a chain (BLMOVE pushing into a key another client
//! waits on) is followed until nothing is ready. Also deadlines, CLIENT UNBLOCK, and commands
//! held by CLIENT PAUSE.

use bytes::Bytes;
use resp::Reply;

use super::Origin;
use crate::net::client::{BlockKind, Blocked};
use crate::server::Server;
use crate::util::now_ms;

/// Bound on chain-following passes (each pass serves what the previous one made ready).
const MAX_ROUNDS: usize = 10_000;

/// Serves clients blocked on ready keys, following chains.
pub fn serve_ready(s: &mut Server) {
    let mut rounds = 0;
    while s.exec.blocking.has_ready() && rounds < MAX_ROUNDS {
        rounds += 1;
        for (db, key) in s.exec.blocking.take_ready() {
            // As Valkey's LOOKUP_NOEFFECTS: a key that expired is not deleted here (its UNLINK
            // would land in the middle of the EXEC or SWAPDB that signalled it); the waiters
            // stay blocked, except those a missing key wakes (XREADGROUP).
            s.exec.ks.now_ms = s.exec.clock.now_ms();
            let live = s.exec.ks.is_live(db, &key);
            for id in s.exec.blocking.waiters(db, &key) {
                if !live && !s.exec.blocking.wakes_on_nokey(id) {
                    continue;
                }
                if let Some(ck) = s.net.client_key(id) {
                    // A client that finds nothing stays; later ones may still be served (a
                    // different command on the same key).
                    serve_one(s, ck);
                }
            }
        }
    }
}

/// Runs a blocked client's command again; true if it was served.
fn serve_one(s: &mut Server, key: usize) -> bool {
    let Some(b) = s.net.clients.get(key).and_then(|c| c.blocked.as_ref()) else {
        return false;
    };
    if b.kind != BlockKind::Keys {
        return false;
    }
    let (argv, db) = (b.argv.clone(), b.db);
    let Ok(spec) = commands::call::resolve(&argv) else {
        return false;
    };
    // A reprocessed command meets the ACL check again (Valkey runs `processCommand` again):
    // a user whose rules changed while it waited gets NOPERM, counted as a rejected call.
    if let Err(d) = crate::access::acl_check(s, key, spec, &argv, Some(acl::Context::Toplevel)) {
        let e = crate::access::noperm(s, key, spec, &argv, d);
        if let Some(code) = e.error_code() {
            s.stats.count_error(code);
        }
        s.stats.command(spec).rejected_calls += 1;
        let Some(c) = s.net.clients.get_mut(key) else {
            return false;
        };
        s.exec.blocking.unblock(c);
        c.reply(&e);
        super::process_input(s, key);
        return true;
    }
    // The command runs now, not when the command that woke it started (a key that expired
    // meanwhile, e.g. during a long MULTI, is seen as expired and the client blocks again).
    s.exec.ks.now_ms = s.exec.clock.now_ms();
    let selected = s.net.clients.get(key).map_or(db, |c| c.db);
    if let Some(c) = s.net.clients.get_mut(key) {
        c.db = db;
    }
    let reply = super::call(s, key, spec, argv, Origin::Unblocked);
    let Some(c) = s.net.clients.get_mut(key) else {
        return false;
    };
    c.db = selected;
    let Some(reply) = reply else {
        c.end_deferred_pushes();
        return false;
    };
    s.exec.blocking.unblock(c);
    c.reply(&reply);
    super::finish_reply(s, key, false);
    crate::exec::tracking::before_drain(&mut s.exec, &mut s.net);
    let ev = s.exec.ks.take_events();
    s.exec
        .watches
        .touch(&mut s.net, &s.exec.ks, &ev.touched, &ev.touched_dbs);
    s.exec.blocking.signal(&ev.touched, &ev.touched_dbs);
    super::process_input(s, key);
    true
}

/// The reply a blocking command gives when its timeout passes.
fn timeout_reply(s: &Server, b: &Blocked) -> Reply {
    crate::repl::primary::waiting_reply(s, &b.kind).unwrap_or(Reply::NilArray)
}

/// Unparks a client with `reply`, then lets it go on with its pipeline.
fn release(s: &mut Server, key: usize, reply: impl FnOnce(&Server, &Blocked) -> Reply) -> bool {
    let Some(c) = s.net.clients.get_mut(key) else {
        return false;
    };
    let Some(b) = s.exec.blocking.unblock(c) else {
        return false;
    };
    let r = reply(s, &b);
    count_unserved(s, &b, &r);
    if let Some(c) = s.net.clients.get_mut(key) {
        c.commands_processed += 1;
        c.reply(&r);
    }
    super::process_input(s, key);
    true
}

/// A command parked on keys that ends without being served (timeout, CLIENT UNBLOCK) is
/// counted then, as Valkey's `updateStatsOnUnblock`.
fn count_unserved(s: &mut Server, b: &Blocked, reply: &Reply) {
    if b.kind != BlockKind::Keys {
        return;
    }
    let latency = s.cfg.latency_tracking;
    s.stats.unblocked_call(&b.argv, reply.error_code(), latency);
}

/// Replies to clients whose deadline passed.
pub fn expire_timeouts(s: &mut Server, now: i64) {
    for id in s.exec.blocking.due(now) {
        let Some(key) = s.net.client_key(id) else {
            continue;
        };
        let throttled = s
            .net
            .clients
            .get(key)
            .and_then(|c| c.blocked.as_ref())
            .is_some_and(|b| matches!(b.kind, BlockKind::Throttled { .. }));
        if throttled {
            run_throttled(s, key);
        } else {
            release(s, key, timeout_reply);
        }
    }
}

/// CLIENT UNBLOCK: `error` replies -UNBLOCKED, else the timeout reply. False if the client
/// was not blocked.
pub fn force_unblock(s: &mut Server, key: usize, error: bool) -> bool {
    release(s, key, |s, b| {
        if error {
            Reply::error("UNBLOCKED client unblocked via CLIENT UNBLOCK")
        } else {
            timeout_reply(s, b)
        }
    })
}

/// True if `flags` (a command's) must wait: clients are paused (CLIENT PAUSE).
pub fn held_by_pause(s: &Server, flags: u64) -> bool {
    let p = &s.exec.pause;
    // No pause of any kind (every command but a few): no need to read the clock.
    (p.until_ms != 0 || p.failover || p.shutdown) && p.holds(flags, now_ms())
}

/// Parks a command until the pause ends (a paused client counts in `blocked_clients`).
pub fn hold_paused(s: &mut Server, key: usize, argv: Vec<Bytes>) {
    if let Some(c) = s.net.clients.get_mut(key) {
        s.exec
            .blocking
            .block(c, argv, Vec::new(), None, BlockKind::Paused);
    }
}

/// Runs the commands held by a pause that ended.
pub fn release_paused(s: &mut Server) {
    if s.exec.pause.active(now_ms()) {
        return;
    }
    let held: Vec<usize> = s
        .net
        .clients
        .iter()
        .filter(|(_, c)| {
            c.blocked
                .as_ref()
                .is_some_and(|b| b.kind == BlockKind::Paused)
        })
        .map(|(k, _)| k)
        .collect();
    for key in held {
        let Some(c) = s.net.clients.get_mut(key) else {
            continue;
        };
        let Some(b) = s.exec.blocking.unblock(c) else {
            continue;
        };
        super::process_command(s, key, b.argv);
        super::process_input(s, key);
    }
    // A replica's primary link resumes applying the stream it kept reading.
    let links: Vec<usize> = s
        .net
        .clients
        .iter()
        .filter(|(_, c)| c.held_stream.is_some())
        .map(|(k, _)| k)
        .collect();
    for key in links {
        super::process_input(s, key);
    }
}

/// Parks a write for backpressure: it runs after `delay_ms`, or earlier once the replica that
/// holds too much drains ([`release_throttled`]).
pub fn hold_throttled(s: &mut Server, key: usize, argv: Vec<Bytes>, delay_ms: u64) {
    let now = now_ms();
    if let Some(c) = s.net.clients.get_mut(key) {
        s.repl.bp.delayed_commands += 1;
        s.repl.bp.held += 1;
        let kind = BlockKind::Throttled { since_ms: now };
        let deadline = now.saturating_add(delay_ms as i64);
        s.exec
            .blocking
            .block(c, argv, Vec::new(), Some(deadline), kind);
    }
}

/// Runs a write that waited for backpressure (its time passed, or the pressure fell).
fn run_throttled(s: &mut Server, key: usize) {
    let Some(c) = s.net.clients.get_mut(key) else {
        return;
    };
    let Some(b) = s.exec.blocking.unblock(c) else {
        return;
    };
    if let BlockKind::Throttled { since_ms } = b.kind {
        s.repl.bp.held = s.repl.bp.held.saturating_sub(1);
        crate::repl::pressure::count_delay(s, (now_ms() - since_ms).max(0) as u64);
    }
    if let Some(c) = s.net.clients.get_mut(key) {
        c.throttle_done = true;
    }
    super::process_command(s, key, b.argv);
    super::process_input(s, key);
}

/// Refreshes the backpressure reading (once per event-loop pass); when it fell under the
/// start level, every write that waits runs now.
pub fn backpressure_pass(s: &mut Server) {
    if !crate::repl::pressure::refresh(s, now_ms()) || s.repl.bp.held == 0 {
        return;
    }
    // Counted at hold, uncounted at release; a client freed while it waited is not seen
    // again, so the count is re-made here from what is found.
    s.repl.bp.held = 0;
    let held: Vec<usize> = s
        .net
        .clients
        .iter()
        .filter(|(_, c)| {
            c.blocked
                .as_ref()
                .is_some_and(|b| matches!(b.kind, BlockKind::Throttled { .. }))
        })
        .map(|(k, _)| k)
        .collect();
    for key in held {
        run_throttled(s, key);
    }
}

/// Ends a pause whose time passed (cron).
pub fn pause_cron(s: &mut Server, now: i64) {
    if s.exec.pause.until_ms != 0 && now >= s.exec.pause.until_ms {
        s.exec.pause.until_ms = 0;
        release_paused(s);
    }
}
