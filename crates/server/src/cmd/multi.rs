//! Transactions: MULTI, EXEC, DISCARD, WATCH, UNWATCH.

use bytes::Bytes;
use commands::errors::{self, err};
use resp::Reply;

use std::collections::HashMap;

use crate::server::Server;

pub fn multi(s: &mut Server, key: usize) -> Reply {
    let c = &mut s.clients[key];
    if c.multi.is_some() {
        return err("ERR MULTI calls can not be nested");
    }
    c.multi = Some(Default::default());
    Reply::Ok
}

pub fn discard(s: &mut Server, key: usize) -> Reply {
    if s.clients[key].multi.take().is_some() {
        unwatch_all(s, key);
        Reply::Ok
    } else {
        err("ERR DISCARD without MULTI")
    }
}

pub fn exec(s: &mut Server, key: usize) -> Reply {
    let c = &mut s.clients[key];
    let Some(state) = c.multi.take() else {
        return err("ERR EXEC without MULTI");
    };
    let dirty_cas = c.dirty_cas;
    if state.dirty_exec {
        unwatch_all(s, key);
        return err(errors::EXECABORT);
    }
    if dirty_cas || watched_key_expired(s, key) {
        unwatch_all(s, key);
        return Reply::NilArray;
    }
    unwatch_all(s, key);
    let mut replies = Vec::with_capacity(state.queue.len());
    for argv in state.queue {
        let reply = match crate::dispatch::resolve(&argv) {
            Ok(spec) => {
                let name = crate::dispatch::full_name(spec);
                crate::dispatch::call(s, key, spec, &argv, name)
            }
            Err(e) => e,
        };
        replies.push(reply);
        if !s.clients.contains(key) {
            break;
        }
    }
    Reply::Array(replies)
}

/// A watched key that is now logically expired invalidates the transaction (Redis 7).
fn watched_key_expired(s: &Server, key: usize) -> bool {
    let now = s.ks.now_ms;
    s.clients[key].watched.iter().any(|(db, k)| {
        s.ks.db(*db)
            .get(k)
            .and_then(|o| o.expire_ms())
            .is_some_and(|e| e <= now)
    })
}

pub fn watch(s: &mut Server, key: usize, argv: &[Bytes]) -> Reply {
    let c = &mut s.clients[key];
    if c.multi.is_some() {
        return err("ERR WATCH inside MULTI is not allowed");
    }
    let id = c.id;
    let db = c.db;
    for k in &argv[1..] {
        if c.watched.iter().any(|(d, x)| *d == db && x == k) {
            continue;
        }
        c.watched.push((db, k.clone()));
        s.watched.entry((db, k.clone())).or_default().push(id);
    }
    Reply::Ok
}

pub fn unwatch(s: &mut Server, key: usize) -> Reply {
    unwatch_all(s, key);
    Reply::Ok
}

/// Drops all of a client's WATCHes and its dirty flag.
pub fn unwatch_all(s: &mut Server, key: usize) {
    let c = &mut s.clients[key];
    c.dirty_cas = false;
    let (id, list) = (c.id, std::mem::take(&mut c.watched));
    drop_watches(&mut s.watched, id, list);
}

/// Removes `id` from the watch registry for each of `list`.
pub fn drop_watches(
    map: &mut HashMap<(usize, Bytes), Vec<u64>>,
    id: u64,
    list: Vec<(usize, Bytes)>,
) {
    for entry in list {
        if let Some(ids) = map.get_mut(&entry) {
            ids.retain(|&x| x != id);
            if ids.is_empty() {
                map.remove(&entry);
            }
        }
    }
}

/// Before a database is emptied (FLUSHDB, FLUSHALL, a replica's dataset swap): WATCHes of keys
/// that exist in it are invalidated.
pub fn touch_watched_existing(s: &mut Server, db: usize) {
    let ids: Vec<u64> = s
        .watched
        .iter()
        .filter(|((d, k), _)| *d == db && s.ks.db(db).get(k).is_some())
        .flat_map(|(_, ids)| ids.iter().copied())
        .collect();
    for id in ids {
        if let Some(k) = s.client_key(id) {
            s.clients[k].dirty_cas = true;
        }
    }
}

/// Marks the watchers of changed keys (or of every key in flushed/swapped dbs) dirty.
pub fn touch_keys(s: &mut Server, touched: &[(usize, Vec<u8>)], dbs: &[usize]) {
    if s.watched.is_empty() {
        return;
    }
    let mut dirty: Vec<u64> = Vec::new();
    for (db, k) in touched {
        if let Some(ids) = s.watched.get(&(*db, Bytes::copy_from_slice(k))) {
            dirty.extend(ids);
        }
    }
    // SWAPDB: watched keys that exist in either swapped database.
    for ((d, k), ids) in s.watched.iter() {
        if dbs.contains(d) && dbs.iter().any(|x| s.ks.db(*x).get(k).is_some()) {
            dirty.extend(ids);
        }
    }
    for id in dirty {
        if let Some(k) = s.client_key(id) {
            s.clients[k].dirty_cas = true;
        }
    }
}
