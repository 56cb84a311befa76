//! WATCH: which clients watch which keys, and what invalidates their transactions — Redis 7's
//! rules, including keys already expired at WATCH time (`watchedKey.expired`): their deletion
//! by expiry, a flush or a SWAPDB that keeps them logically absent is no change.

use std::collections::HashMap;

use bytes::Bytes;
use keyspace::Keyspace;

use crate::net::client::{Client, WatchedKey};
use crate::net::Net;

/// (db, key) → ids of the clients watching it.
#[derive(Default)]
pub struct Watches {
    by_key: HashMap<(usize, Bytes), Vec<u64>>,
}

/// What a change means for one watcher.
enum Effect {
    /// The transaction fails (`CLIENT_DIRTY_CAS`).
    Dirty,
    /// No logical change; the "expired at WATCH" flag becomes `expired`.
    Keep { expired: bool },
}

/// The key exists and its expire time has passed (it is logically gone).
fn is_expired(ks: &Keyspace, db: usize, key: &[u8]) -> bool {
    let now = ks.now_ms;
    ks.db(db)
        .get(key)
        .and_then(|o| o.expire_ms())
        .is_some_and(|e| e <= now)
}

impl Watches {
    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }

    /// Number of watched keys (INFO `watching_clients` / `total_watched_keys`).
    pub fn keys(&self) -> usize {
        self.by_key.len()
    }

    /// WATCH `keys` for `c` in its database.
    pub fn watch(&mut self, ks: &Keyspace, c: &mut Client, keys: &[Bytes]) {
        let (id, db) = (c.id, c.db);
        for k in keys {
            if c.watched.iter().any(|w| w.db == db && w.key == *k) {
                continue;
            }
            c.watched.push(WatchedKey {
                db,
                key: k.clone(),
                expired: is_expired(ks, db, k),
            });
            self.by_key.entry((db, k.clone())).or_default().push(id);
        }
    }

    /// Drops all of `c`'s WATCHes and its dirty flag.
    pub fn unwatch_all(&mut self, c: &mut Client) {
        c.dirty_cas = false;
        let list = std::mem::take(&mut c.watched);
        self.forget(c.id, list);
    }

    /// Removes `id` from the registry for each of `list`.
    pub fn forget(&mut self, id: u64, list: Vec<WatchedKey>) {
        for w in list {
            let entry = (w.db, w.key);
            if let Some(ids) = self.by_key.get_mut(&entry) {
                ids.retain(|&x| x != id);
                if ids.is_empty() {
                    self.by_key.remove(&entry);
                }
            }
        }
    }

    /// At EXEC: a watched key that expired since WATCH invalidates the transaction (Redis 7's
    /// `isWatchedKeyExpired`; keys already expired at WATCH time do not).
    pub fn expired_since_watch(ks: &Keyspace, c: &Client) -> bool {
        c.watched
            .iter()
            .any(|w| !w.expired && is_expired(ks, w.db, &w.key))
    }

    fn apply(&mut self, net: &mut Net, db: usize, key: &Bytes, effect: impl Fn(bool) -> Effect) {
        let Some(ids) = self.by_key.get(&(db, key.clone())).cloned() else {
            return;
        };
        for id in ids {
            let Some(c) = net.client_by_id(id) else {
                continue;
            };
            let Some(w) = c.watched.iter_mut().find(|w| w.db == db && w.key == *key) else {
                continue;
            };
            match effect(w.expired) {
                Effect::Dirty => {
                    // As Redis: a dirty client no longer needs its watches (EXEC fails anyway).
                    c.dirty_cas = true;
                    let list = std::mem::take(&mut c.watched);
                    self.forget(id, list);
                }
                Effect::Keep { expired } => w.expired = expired,
            }
        }
    }

    /// Before a database is emptied (FLUSHDB, FLUSHALL, a replica's dataset swap): WATCHes of
    /// keys that exist in it are invalidated, except keys already expired at WATCH time (Redis's
    /// `touchAllWatchedKeysInDb` without a replacement).
    pub fn touch_db(&mut self, net: &mut Net, ks: &Keyspace, db: usize) {
        let keys: Vec<Bytes> = self
            .by_key
            .keys()
            .filter(|(d, k)| *d == db && ks.db(db).get(k).is_some())
            .map(|(_, k)| k.clone())
            .collect();
        for k in keys {
            self.apply(net, db, &k, |expired| {
                if expired {
                    Effect::Keep { expired: false }
                } else {
                    Effect::Dirty
                }
            });
        }
    }

    /// Marks the watchers of changed keys dirty (Redis's `touchWatchedKey`), and handles the
    /// databases SWAPDB exchanged (`touchAllWatchedKeysInDb` with a replacement; the keyspace
    /// reports each swap as a pair).
    pub fn touch(
        &mut self,
        net: &mut Net,
        ks: &Keyspace,
        touched: &[(usize, Vec<u8>)],
        swapped: &[usize],
    ) {
        if self.by_key.is_empty() {
            return;
        }
        for (db, k) in touched {
            let key = Bytes::copy_from_slice(k);
            let exists = ks.db(*db).get(k).is_some();
            self.apply(net, *db, &key, |expired| {
                if expired && !exists {
                    // An already-expired key was deleted: logically nothing changed.
                    Effect::Keep { expired: false }
                } else {
                    Effect::Dirty
                }
            });
        }
        for pair in swapped.chunks_exact(2) {
            let (a, b) = (pair[0], pair[1]);
            // For a key watched in `db`, its old data is now in `other` ("emptied") and what
            // replaced it came from `other` (now in `db`).
            for (db, other) in [(a, b), (b, a)] {
                let keys: Vec<Bytes> = self
                    .by_key
                    .keys()
                    .filter(|(d, _)| *d == db)
                    .map(|(_, k)| k.clone())
                    .collect();
                for k in keys {
                    let in_emptied = ks.db(other).get(&k).is_some();
                    let in_replacement = ks.db(db).get(&k).is_some();
                    if !in_emptied && !in_replacement {
                        continue;
                    }
                    let replacement_expired = is_expired(ks, db, &k);
                    self.apply(net, db, &k, |expired| {
                        if expired {
                            if !in_replacement {
                                Effect::Keep { expired: false }
                            } else if replacement_expired {
                                Effect::Keep { expired: true }
                            } else {
                                Effect::Dirty
                            }
                        } else if !in_emptied && replacement_expired {
                            Effect::Keep { expired: true }
                        } else {
                            Effect::Dirty
                        }
                    });
                }
            }
        }
    }
}
