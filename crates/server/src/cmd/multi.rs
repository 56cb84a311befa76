//! Transactions: MULTI, EXEC, DISCARD, WATCH, UNWATCH.

use bytes::Bytes;
use commands::errors::{self, err};
use resp::Reply;

use std::collections::HashMap;

use crate::server::Server;

pub fn multi(s: &mut Server, key: usize) -> Reply {
    let c = &mut s.net.clients[key];
    if c.multi.is_some() {
        return err("ERR MULTI calls can not be nested");
    }
    c.multi = Some(Default::default());
    Reply::Ok
}

pub fn discard(s: &mut Server, key: usize) -> Reply {
    if s.net.clients[key].multi.take().is_some() {
        unwatch_all(s, key);
        Reply::Ok
    } else {
        err("ERR DISCARD without MULTI")
    }
}

pub fn exec(s: &mut Server, key: usize) -> Reply {
    let c = &mut s.net.clients[key];
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
        if !s.net.clients.contains(key) {
            break;
        }
    }
    Reply::Array(replies)
}

/// One key a client WATCHes.
#[derive(Clone, Debug)]
pub struct WatchedKey {
    pub db: usize,
    pub key: Bytes,
    /// The key was already logically expired when WATCH was called (Redis 7's `expired`
    /// flag): its deletion by expiry, or a flush, is no logical change and does not fail EXEC.
    pub expired: bool,
}

/// A watched key that expired since WATCH invalidates the transaction (Redis 7's
/// `isWatchedKeyExpired`; keys already expired at WATCH time do not).
fn watched_key_expired(s: &Server, key: usize) -> bool {
    s.net.clients[key]
        .watched
        .iter()
        .any(|w| !w.expired && key_is_expired(s, w.db, &w.key))
}

/// The key exists and its expire time has passed (it is logically gone).
fn key_is_expired(s: &Server, db: usize, key: &[u8]) -> bool {
    let now = s.exec.ks.now_ms;
    s.exec
        .ks
        .db(db)
        .get(key)
        .and_then(|o| o.expire_ms())
        .is_some_and(|e| e <= now)
}

pub fn watch(s: &mut Server, key: usize, argv: &[Bytes]) -> Reply {
    if s.net.clients[key].multi.is_some() {
        return err("ERR WATCH inside MULTI is not allowed");
    }
    let (id, db) = (s.net.clients[key].id, s.net.clients[key].db);
    for k in &argv[1..] {
        if s.net.clients[key]
            .watched
            .iter()
            .any(|w| w.db == db && w.key == *k)
        {
            continue;
        }
        let expired = key_is_expired(s, db, k);
        s.net.clients[key].watched.push(WatchedKey {
            db,
            key: k.clone(),
            expired,
        });
        s.exec.watched.entry((db, k.clone())).or_default().push(id);
    }
    Reply::Ok
}

pub fn unwatch(s: &mut Server, key: usize) -> Reply {
    unwatch_all(s, key);
    Reply::Ok
}

/// Drops all of a client's WATCHes and its dirty flag.
pub fn unwatch_all(s: &mut Server, key: usize) {
    let c = &mut s.net.clients[key];
    c.dirty_cas = false;
    let (id, list) = (c.id, std::mem::take(&mut c.watched));
    drop_watches(&mut s.exec.watched, id, list);
}

/// Removes `id` from the watch registry for each of `list`.
pub fn drop_watches(map: &mut HashMap<(usize, Bytes), Vec<u64>>, id: u64, list: Vec<WatchedKey>) {
    for w in list {
        let entry = (w.db, w.key);
        if let Some(ids) = map.get_mut(&entry) {
            ids.retain(|&x| x != id);
            if ids.is_empty() {
                map.remove(&entry);
            }
        }
    }
}

/// What a change means for one client watching (`db`, `key`): the client's transaction fails
/// unless the key was already expired at WATCH time and the change keeps it logically absent.
enum WatchEffect {
    /// The transaction fails (`CLIENT_DIRTY_CAS`).
    Dirty,
    /// No logical change; the "expired at WATCH" flag becomes `expired`.
    Keep { expired: bool },
}

fn apply_watch_effects(
    s: &mut Server,
    db: usize,
    key: &Bytes,
    effect: impl Fn(bool) -> WatchEffect,
) {
    let Some(ids) = s.exec.watched.get(&(db, key.clone())).cloned() else {
        return;
    };
    for id in ids {
        let Some(k) = s.client_key(id) else { continue };
        let c = &mut s.net.clients[k];
        let Some(w) = c.watched.iter_mut().find(|w| w.db == db && w.key == *key) else {
            continue;
        };
        match effect(w.expired) {
            WatchEffect::Dirty => {
                // As Redis: a dirty client no longer needs its watches (EXEC fails anyway).
                c.dirty_cas = true;
                let list = std::mem::take(&mut c.watched);
                drop_watches(&mut s.exec.watched, id, list);
            }
            WatchEffect::Keep { expired } => w.expired = expired,
        }
    }
}

/// Before a database is emptied (FLUSHDB, FLUSHALL, a replica's dataset swap): WATCHes of keys
/// that exist in it are invalidated, except keys already expired at WATCH time (Redis's
/// `touchAllWatchedKeysInDb` without a replacement).
pub fn touch_watched_existing(s: &mut Server, db: usize) {
    let keys: Vec<Bytes> = s
        .exec
        .watched
        .keys()
        .filter(|(d, k)| *d == db && s.exec.ks.db(db).get(k).is_some())
        .map(|(_, k)| k.clone())
        .collect();
    for k in keys {
        apply_watch_effects(s, db, &k, |expired| {
            if expired {
                WatchEffect::Keep { expired: false }
            } else {
                WatchEffect::Dirty
            }
        });
    }
}

/// Marks the watchers of changed keys dirty (Redis's `touchWatchedKey`), and handles the
/// databases a SWAPDB exchanged (`touchAllWatchedKeysInDb` with a replacement).
pub fn touch_keys(s: &mut Server, touched: &[(usize, Vec<u8>)], dbs: &[usize]) {
    if s.exec.watched.is_empty() {
        return;
    }
    for (db, k) in touched {
        let key = Bytes::copy_from_slice(k);
        let exists = s.exec.ks.db(*db).get(k).is_some();
        apply_watch_effects(s, *db, &key, |expired| {
            if expired && !exists {
                // An already-expired key was deleted: logically nothing changed.
                WatchEffect::Keep { expired: false }
            } else {
                WatchEffect::Dirty
            }
        });
    }
    // SWAPDB a b (the keyspace reports each swap as a pair): for a key watched in `a`, the
    // data it had is now in `b` ("emptied") and what replaced it came from `b` (now in `a`).
    for pair in dbs.chunks_exact(2) {
        let (a, b) = (pair[0], pair[1]);
        for (db, other) in [(a, b), (b, a)] {
            let keys: Vec<Bytes> = s
                .exec
                .watched
                .keys()
                .filter(|(d, _)| *d == db)
                .map(|(_, k)| k.clone())
                .collect();
            for k in keys {
                let in_emptied = s.exec.ks.db(other).get(&k).is_some();
                let in_replacement = s.exec.ks.db(db).get(&k).is_some();
                if !in_emptied && !in_replacement {
                    continue;
                }
                let replacement_expired = key_is_expired(s, db, &k);
                apply_watch_effects(s, db, &k, |expired| {
                    if expired {
                        if !in_replacement {
                            WatchEffect::Keep { expired: false }
                        } else if replacement_expired {
                            WatchEffect::Keep { expired: true }
                        } else {
                            WatchEffect::Dirty
                        }
                    } else if !in_emptied && replacement_expired {
                        WatchEffect::Keep { expired: true }
                    } else {
                        WatchEffect::Dirty
                    }
                });
            }
        }
    }
}
