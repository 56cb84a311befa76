//! Transactions: MULTI, EXEC, DISCARD, WATCH, UNWATCH. EXEC runs the queued commands through
//! the core (`call`) inside its own call, so they form one execution unit (propagated wrapped
//! in MULTI/EXEC) and nothing else runs in between.

use bytes::Bytes;
use commands::errors::{self, err};
use commands::ServerCmd;
use resp::Reply;

use crate::exec::watch::Watches;
use crate::net::client::Client;
use crate::server::Server;

/// Runs a transaction command; `None` for any other command.
pub fn run(s: &mut Server, key: usize, cmd: ServerCmd, argv: &[Bytes]) -> Option<Reply> {
    Some(match cmd {
        ServerCmd::Multi => multi(s, key),
        ServerCmd::Exec => exec(s, key),
        ServerCmd::Discard => discard(s, key),
        ServerCmd::Watch => watch(s, key, argv),
        ServerCmd::Unwatch => {
            unwatch_all(s, key);
            Reply::Ok
        }
        _ => return None,
    })
}

/// True if a command queued in `c`'s transaction has `flag` (EXEC takes its commands' write
/// and deny-oom flags for the checks before it runs).
pub fn queued_has(c: &Client, flag: u64) -> bool {
    c.multi.as_ref().is_some_and(|m| {
        m.queue
            .iter()
            .any(|a| commands::call::resolve(a).is_ok_and(|sp| sp.has(flag)))
    })
}

/// The union of the flags of the commands queued in `c`'s transaction, scripts counted with
/// their declared flags (Valkey's `mstate.cmd_flags`).
pub fn queued_flags(scripting: &crate::exec::scripts::ScriptState, c: &Client) -> u64 {
    c.multi.as_ref().map_or(0, |m| {
        m.queue.iter().fold(0, |acc, a| {
            commands::call::resolve(a).map_or(acc, |sp| acc | scripting.command_flags(sp, a))
        })
    })
}

/// True if a command queued in `c`'s transaction lacks `flag` (EXEC is stale-safe only when
/// all of them are).
pub fn queued_lacks(c: &Client, flag: u64) -> bool {
    c.multi.as_ref().is_some_and(|m| {
        m.queue
            .iter()
            .any(|a| commands::call::resolve(a).is_ok_and(|sp| !sp.has(flag)))
    })
}

/// A rejected EXEC: the transaction is discarded with EXECABORT and the reason.
pub fn abort(s: &mut Server, key: usize, reason: &Reply) {
    unwatch_all(s, key);
    let Some(c) = s.net.clients.get_mut(key) else {
        return;
    };
    c.multi = None;
    let text = match reason {
        Reply::Error(t) => t.strip_prefix("ERR ").unwrap_or(t).to_string(),
        _ => String::new(),
    };
    c.reply(&Reply::error(format!(
        "EXECABORT Transaction discarded because of: {text}"
    )));
}

/// An EXEC redirected by CLIENT CAPA REDIRECT: the transaction is dropped without EXECABORT
/// (the caller replies `-REDIRECT`).
pub fn discard_for_redirect(s: &mut Server, key: usize) {
    unwatch_all(s, key);
    if let Some(c) = s.net.clients.get_mut(key) {
        c.multi = None;
    }
}

fn unwatch_all(s: &mut Server, key: usize) {
    if let Some(c) = s.net.clients.get_mut(key) {
        s.exec.watches.unwatch_all(c);
    }
}

fn multi(s: &mut Server, key: usize) -> Reply {
    let Some(c) = s.net.clients.get_mut(key) else {
        return Reply::Ok;
    };
    if c.multi.is_some() {
        return err("ERR MULTI calls can not be nested");
    }
    c.multi = Some(Default::default());
    Reply::Ok
}

fn discard(s: &mut Server, key: usize) -> Reply {
    let had = s
        .net
        .clients
        .get_mut(key)
        .and_then(|c| c.multi.take())
        .is_some();
    if !had {
        return err("ERR DISCARD without MULTI");
    }
    unwatch_all(s, key);
    Reply::Ok
}

fn exec(s: &mut Server, key: usize) -> Reply {
    let Some(c) = s.net.clients.get_mut(key) else {
        return Reply::NilArray;
    };
    let Some(state) = c.multi.take() else {
        return err("ERR EXEC without MULTI");
    };
    let failed_watch = c.dirty_cas || Watches::expired_since_watch(&s.exec.ks, c);
    unwatch_all(s, key);
    if state.dirty_exec {
        return err(errors::EXECABORT);
    }
    if failed_watch {
        return Reply::NilArray;
    }
    let mut replies = Vec::with_capacity(state.queue.len());
    for argv in state.queue {
        let reply = match commands::call::resolve(&argv) {
            // The rules may have changed since the command was queued (Valkey checks again).
            Ok(spec) => {
                match crate::access::acl_check(s, key, spec, &argv, Some(acl::Context::Multi)) {
                    Ok(()) => super::call(s, key, spec, argv, super::Origin::Client),
                    Err(d) => Some(crate::access::noperm_at_exec(d)),
                }
            }
            Err(e) => Some(e),
        };
        // Inside a transaction nothing blocks: a blocking command answers at once.
        replies.push(reply.unwrap_or(Reply::NilArray));
        if !s.net.clients.contains(key) {
            break;
        }
    }
    Reply::Array(replies)
}

fn watch(s: &mut Server, key: usize, argv: &[Bytes]) -> Reply {
    let Some(c) = s.net.clients.get_mut(key) else {
        return Reply::Ok;
    };
    if c.multi.is_some() {
        return err("ERR WATCH inside MULTI is not allowed");
    }
    s.exec.watches.watch(&s.exec.ks, c, &argv[1..]);
    Reply::Ok
}
