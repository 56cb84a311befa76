//! The shutdown sequence, as Valkey 7+ runs it. SHUTDOWN (or SIGTERM / SIGINT, started by the
//! cron) on a primary whose replicas have not acknowledged the whole stream first waits for
//! them, up to `shutdown-timeout` seconds, with writes paused and the SHUTDOWN clients
//! blocked; then it saves as asked ([`crate::persist::finish_shutdown`]) and the process
//! exits. When saving fails, or SHUTDOWN ABORT cancels, the blocked clients get Valkey's
//! error and the server goes on. Waiting is what keeps a write acknowledged just before a
//! planned restart from being lost: the replica that takes over has it.

use resp::Reply;

use crate::net::client::BlockKind;
use crate::persist::state::{ShutdownRequest, ShutdownState};
use crate::server::Server;
use crate::util::now_ms;
use crate::{log_notice, log_warning};

/// What a SHUTDOWN client gets when the shutdown fails or is aborted.
const FAILED: &str = "ERR Errors trying to SHUTDOWN. Check logs.";

/// SIGTERM / SIGINT: the shutdown starts in the cron, as in Valkey.
pub fn on_signal(s: &mut Server, req: ShutdownRequest) {
    if matches!(s.life.shutdown, ShutdownState::Idle) {
        s.life.shutdown = ShutdownState::Requested(req);
    }
}

/// SHUTDOWN (not ABORT) from client `key`: the client blocks until the server exits (its
/// connection closes) or the shutdown fails (it gets an error). A shutdown already waiting
/// for replicas keeps its options; this client waits with the others.
pub fn command(s: &mut Server, key: usize, argv: Vec<bytes::Bytes>, req: ShutdownRequest) -> Reply {
    if let Some(c) = s.net.clients.get_mut(key) {
        s.exec
            .blocking
            .block(c, argv, Vec::new(), None, BlockKind::Shutdown);
    }
    start(s, req);
    Reply::Raw(bytes::Bytes::new())
}

/// Starts a shutdown (Valkey's `prepareForShutdown`): waits for lagging replicas unless NOW,
/// else finishes at once.
fn start(s: &mut Server, mut req: ShutdownRequest) {
    if matches!(s.life.shutdown, ShutdownState::Waiting { .. }) {
        return;
    }
    log_warning!("User requested shutdown...");
    if s.exec.loading {
        // A half-loaded dataset is never saved over the file it comes from.
        req.save = false;
        req.nosave = true;
    }
    let timeout_ms = s.cfg.shutdown_timeout_secs.max(0) * 1000;
    if !req.now && timeout_ms != 0 && !replicas_in_sync(s) {
        let up = s.repl.follower.upstream();
        let r = &mut s.repl;
        r.primary.getack_now(&mut r.hist, up);
        s.exec.pause.shutdown = true;
        s.life.shutdown = ShutdownState::Waiting {
            req,
            deadline_ms: now_ms() + timeout_ms,
        };
        log_notice!("Waiting for replicas before shutting down.");
        return;
    }
    finish(s, req);
}

/// True when every replica acknowledged the stream's end (Valkey's `isReadyToShutdown`).
fn replicas_in_sync(s: &Server) -> bool {
    let end = s.repl.offset();
    s.repl.primary.replicas().all(|(_, r)| r.ack_offset == end)
}

/// The last step: lagging replicas logged, then the saves; on failure the server goes on.
fn finish(s: &mut Server, req: ShutdownRequest) {
    let end = s.repl.offset();
    let now = now_ms();
    let (mut total, mut lagging) = (0, 0);
    let p = &s.repl.primary;
    for (_, r) in p.replicas() {
        total += 1;
        if r.ack_offset != end {
            lagging += 1;
            log_notice!(
                "Lagging replica {}:{} reported offset {} behind master, lag={}, state={}.",
                r.ip(),
                r.info.listening_port,
                end - r.ack_offset,
                p.lag_secs(r, now),
                r.state.info_name()
            );
        }
    }
    if total > 0 {
        log_notice!(
            "{} of {total} replicas are in sync when shutting down.",
            total - lagging
        );
    }
    crate::persist::finish_shutdown(s, req);
    if s.life.exit_code.is_none() {
        cancel(s);
    }
}

/// The cron's part: a signal's shutdown starts; a waiting one finishes once its replicas
/// caught up or its time is up.
pub fn cron(s: &mut Server, now: i64) {
    match s.life.shutdown {
        ShutdownState::Idle => {}
        ShutdownState::Requested(req) => {
            s.life.shutdown = ShutdownState::Idle;
            start(s, req);
        }
        ShutdownState::Waiting { req, deadline_ms } => {
            if now >= deadline_ms || replicas_in_sync(s) {
                finish(s, req);
            }
        }
    }
}

/// The shutdown did not happen: writes resume, every SHUTDOWN client gets the error.
fn cancel(s: &mut Server) {
    s.life.shutdown = ShutdownState::Idle;
    s.exec.pause.shutdown = false;
    s.exec.pause.release_pending = true;
    let waiting: Vec<usize> = s
        .net
        .clients
        .iter()
        .filter(|(_, c)| {
            c.blocked
                .as_ref()
                .is_some_and(|b| b.kind == BlockKind::Shutdown)
        })
        .map(|(k, _)| k)
        .collect();
    for key in waiting {
        let Some(c) = s.net.clients.get_mut(key) else {
            continue;
        };
        if s.exec.blocking.unblock(c).is_none() {
            continue;
        }
        c.reply(&Reply::error(FAILED));
        s.net.resume.push(key);
    }
}

/// SHUTDOWN ABORT: true if a shutdown was waiting or requested by a signal.
pub fn abort(s: &mut Server) -> bool {
    match s.life.shutdown {
        ShutdownState::Idle => return false,
        ShutdownState::Requested(_) => s.life.shutdown = ShutdownState::Idle,
        ShutdownState::Waiting { .. } => cancel(s),
    }
    log_notice!("Shutdown manually aborted.");
    true
}

/// INFO server's `shutdown_in_milliseconds` while a shutdown waits for replicas.
pub fn remaining_ms(s: &Server, now: i64) -> Option<i64> {
    match s.life.shutdown {
        ShutdownState::Waiting { deadline_ms, .. } => Some(deadline_ms - now),
        _ => None,
    }
}
