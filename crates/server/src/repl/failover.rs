//! FAILOVER's executor: the command, the pause of writes it holds, the per-pass check of the
//! coordinator ([`replication::primary::failover`]) and the hand-over through the follower
//! (`PSYNC … FAILOVER`), whose answer ends it.

use bytes::Bytes;
use commands::errors::{self, err};
use replication::primary::failover::{FailoverRequest, FailoverStep};
use resp::Reply;

use crate::log_notice;
use crate::server::Server;
use crate::util::now_ms;

/// FAILOVER [TO host port [FORCE]] [ABORT] [TIMEOUT ms].
pub fn command(s: &mut Server, argv: &[Bytes]) -> Reply {
    if argv.len() == 2 && argv[1].eq_ignore_ascii_case(b"abort") {
        return match abort(s, "Failover manually aborted") {
            true => Reply::Ok,
            false => err("ERR No failover in progress."),
        };
    }
    let mut req = FailoverRequest::default();
    let mut j = 1;
    while j < argv.len() {
        let a = &argv[j];
        if a.eq_ignore_ascii_case(b"timeout") && j + 1 < argv.len() && req.timeout_ms.is_none() {
            let Ok(t) = commands::args::int(&argv[j + 1]) else {
                return err(errors::NOT_INT);
            };
            if t <= 0 {
                return err("ERR FAILOVER timeout must be greater than 0");
            }
            req.timeout_ms = Some(t);
            j += 2;
        } else if a.eq_ignore_ascii_case(b"to") && j + 2 < argv.len() && req.target.is_none() {
            let Ok(port) = commands::args::int(&argv[j + 2]) else {
                return err(errors::NOT_INT);
            };
            let host = String::from_utf8_lossy(&argv[j + 1]).into_owned();
            // A port no replica listens on is "not a replica" below, as in Valkey.
            req.target = Some((host, u16::try_from(port).unwrap_or(0)));
            j += 3;
        } else if a.eq_ignore_ascii_case(b"force") && !req.force {
            req.force = true;
            j += 1;
        } else {
            return err(errors::SYNTAX);
        }
    }
    let is_replica = s.repl.follower.is_replica();
    let r = &mut s.repl;
    match r.failover.request(req, &r.primary, is_replica, now_ms()) {
        Ok(line) => {
            log_notice!("{line}");
            s.exec.pause.failover = true;
            Reply::Ok
        }
        Err(e) => err(e),
    }
}

/// Ends a FAILOVER that did not complete; false when there was none. One that had handed
/// over makes the node a primary again.
pub fn abort(s: &mut Server, why: &str) -> bool {
    let in_progress = s.repl.failover.handing_over();
    let Some(FailoverStep::Aborted { log }) = s.repl.failover.abort(why) else {
        return false;
    };
    log_notice!("{log}");
    if in_progress {
        let r = &mut s.repl;
        let (_, actions) = r.follower.replicaof(
            &mut r.hist,
            None,
            "failover abort",
            now_ms(),
            &mut crate::util::random_hex40,
        );
        super::replica::run(s, actions);
        super::replica::sync_replicaof_config(s);
    }
    resume_writes(s);
    true
}

/// The target took over: the FAILOVER is complete.
pub fn on_accepted(s: &mut Server) {
    if s.repl.failover.active() {
        s.repl.failover.finish();
        resume_writes(s);
    }
}

/// Every pass: a waiting FAILOVER hands over once a replica caught up (or FORCE's timeout
/// passed), or aborts at its timeout.
pub fn update(s: &mut Server) {
    if !s.repl.failover.waiting() {
        return;
    }
    let offset = s.repl.hist.offset();
    let r = &mut s.repl;
    match r.failover.check(&r.primary, offset, now_ms()) {
        None => {}
        Some(FailoverStep::Aborted { log }) => {
            log_notice!("{log}");
            resume_writes(s);
        }
        Some(FailoverStep::HandOver { host, port, log }) => {
            log_notice!("{log}");
            s.repl
                .follower
                .on_config(super::state::follower_config(&s.cfg));
            let r = &mut s.repl;
            let actions = r.follower.failover_to(
                &mut r.hist,
                host,
                port,
                now_ms(),
                &mut crate::util::random_hex40,
            );
            super::replica::run(s, actions);
            super::replica::sync_replicaof_config(s);
        }
    }
}

/// Writes held by the FAILOVER run now (against a replica they get READONLY, as in Valkey).
fn resume_writes(s: &mut Server) {
    s.exec.pause.failover = false;
    s.exec.pause.release_pending = true;
}
