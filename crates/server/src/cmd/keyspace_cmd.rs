//! Whole-keyspace commands that need the server: FLUSHALL, FLUSHDB, SHUTDOWN.

use bytes::Bytes;
use commands::errors::{self, err};
use resp::Reply;

use super::arg_lower;
use crate::persist::ShutdownRequest;
use crate::server::Server;

/// `[ASYNC|SYNC]` → lazy?
fn flush_mode(s: &Server, argv: &[Bytes]) -> Result<bool, Reply> {
    match argv.len() {
        1 => Ok(s.cfg.lazyfree_lazy_user_flush),
        2 => match arg_lower(argv, 1).as_str() {
            "async" => Ok(true),
            "sync" => Ok(false),
            _ => Err(err(errors::SYNTAX)),
        },
        _ => Err(err(errors::SYNTAX)),
    }
}

fn free_dbs(dbs: Vec<keyspace::Db>, lazy: bool) {
    if lazy {
        let n: u64 = dbs.iter().map(|d| d.len() as u64).sum();
        keyspace::lazyfree::free_in_background(dbs, n.max(1));
    } else {
        drop(dbs);
    }
}

pub fn flushall(s: &mut Server, argv: &[Bytes]) -> Reply {
    let lazy = match flush_mode(s, argv) {
        Ok(l) => l,
        Err(e) => return e,
    };
    for db in 0..s.exec.ks.db_count() {
        s.exec.watches.touch_db(&mut s.net, &s.exec.ks, db);
    }
    let old = s.exec.ks.flush_all();
    let removed: u64 = old.iter().map(|d| d.len() as u64).sum();
    free_dbs(old, lazy);
    if crate::persist::after_flushall(s) {
        // Saved: nothing is left unsaved (`rdb_changes_since_last_save` 0), but FLUSHALL is
        // still propagated (Valkey's `forceCommandPropagation`).
        s.exec.call_dirty = 0;
        s.exec.call_rewrite = Some(vec![argv.to_vec()]);
    } else {
        s.exec.call_dirty = removed.max(1);
    }
    Reply::Ok
}

pub fn flushdb(s: &mut Server, key: usize, argv: &[Bytes]) -> Reply {
    let lazy = match flush_mode(s, argv) {
        Ok(l) => l,
        Err(e) => return e,
    };
    let db = s.net.clients.get(key).map_or(0, |c| c.db);
    s.exec.watches.touch_db(&mut s.net, &s.exec.ks, db);
    let old = s.exec.ks.flush_db(db);
    let removed = old.len() as u64;
    free_dbs(vec![old], lazy);
    s.exec.call_dirty = removed.max(1);
    Reply::Ok
}

/// SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT]
pub fn shutdown(s: &mut Server, key: usize, argv: &[Bytes]) -> Reply {
    let mut req = ShutdownRequest {
        client: s.net.clients.get(key).map(|c| c.id),
        ..Default::default()
    };
    let mut abort = false;
    for i in 1..argv.len() {
        match arg_lower(argv, i).as_str() {
            "nosave" => req.nosave = true,
            "save" => req.save = true,
            "now" => req.now = true,
            "force" => req.force = true,
            "abort" => abort = true,
            _ => return err(errors::SYNTAX),
        }
    }
    if (abort && argv.len() != 2) || (req.save && req.nosave) {
        return err(errors::SYNTAX);
    }
    if abort {
        return match crate::shutdown::abort(s) {
            true => Reply::Ok,
            false => err("ERR No shutdown in progress."),
        };
    }
    if s.net.clients.get(key).is_some_and(|c| c.multi.is_some()) {
        return err("ERR Command not allowed inside a transaction");
    }
    // While a script is busy only SHUTDOWN NOSAVE is served (the data set is mid-script).
    if !req.nosave && s.exec.scripting.busy() {
        return s.exec.scripting.busy_error();
    }
    // Like Valkey, a successful SHUTDOWN does not reply: the connection just closes when the
    // process exits. The client waits (blocked) while the shutdown waits for replicas.
    crate::shutdown::command(s, key, argv.to_vec(), req)
}
