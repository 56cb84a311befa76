//! The keyspace: databases of [`Obj`]s, expiry, change tracking, snapshots and eviction
//! sampling.
//!
//! One owner (the command executor) mutates it; everything here is single-threaded except what
//! a [`Snapshot`] shares with a background serialiser (segments and objects, copy-on-write).
//! Lazy-freed values are handed to a background dropper ([`lazyfree`]).
//!
//! Not here: commands, clients, propagation, networking, files.

pub mod digest;
pub mod lazyfree;
pub mod lru;
pub mod obj;

use types::blob::Blob;
use types::rand::Rng;
use types::segmap::{Loc, SegMap, SegSnapshot};

pub use obj::{Boxed, Kind, NewValue, Obj, ValueRef};

/// How expired keys are treated on access.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ExpiryMode {
    /// This node is a primary: an expired key is deleted on access and the deletion is
    /// reported for propagation.
    #[default]
    Primary,
    /// This node is a replica: expired keys read as missing but are deleted only when the
    /// primary says so.
    Replica,
}

/// Counters for INFO stats.
#[derive(Clone, Debug, Default)]
pub struct KeyspaceStats {
    pub hits: u64,
    pub misses: u64,
    pub expired_keys: u64,
    pub evicted_keys: u64,
    pub expired_stale_perc: f64,
    pub expired_time_cap_reached_count: u64,
}

/// One database.
#[derive(Clone, Default)]
pub struct Db {
    keys: SegMap<Obj>,
    /// The keys that have an expire time (for sampling and `expires=` in INFO keyspace).
    volatile: SegMap<Blob>,
    /// Active-expiry scan position in `volatile`.
    expire_cursor: u64,
    /// Running average of TTLs seen by the active cycle (INFO keyspace `avg_ttl`).
    pub avg_ttl_ms: i64,
}

impl Db {
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    pub fn expires_len(&self) -> usize {
        self.volatile.len()
    }

    /// Raw lookup, no expiry logic.
    pub fn get(&self, key: &[u8]) -> Option<&Obj> {
        self.keys.get(key)
    }

    /// Inserts or replaces an object, keeping the volatile index in step.
    pub fn put(&mut self, obj: Obj) -> Option<Obj> {
        let has_expire = obj.expire_ms().is_some();
        let key = obj.key().to_vec();
        let old = self.keys.insert(obj);
        let had_expire = old.as_ref().is_some_and(|o| o.expire_ms().is_some());
        if has_expire && !had_expire {
            self.volatile.insert(Blob::new(&key));
        } else if had_expire && !has_expire {
            self.volatile.remove(&key);
        }
        old
    }

    pub fn take(&mut self, key: &[u8]) -> Option<Obj> {
        let old = self.keys.remove(key)?;
        if old.expire_ms().is_some() {
            self.volatile.remove(key);
        }
        Some(old)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Obj> + '_ {
        self.keys.iter()
    }

    pub fn snapshot(&self) -> SegSnapshot<Obj> {
        self.keys.snapshot()
    }
}

/// A point-in-time view of every database, for a background serialiser.
pub struct Snapshot {
    pub dbs: Vec<SegSnapshot<Obj>>,
    /// Keys with an expire per database when the snapshot was taken (RESIZEDB hint).
    pub expires: Vec<usize>,
    /// Taken at this time (ms), so the writer can drop keys already expired, as Redis does.
    pub taken_at_ms: i64,
}

/// Changes observed while executing commands, drained by the server after each command.
#[derive(Default)]
pub struct Events {
    /// Keys written (for WATCH and blocked clients), only collected while `track` is on.
    pub touched: Vec<(usize, Vec<u8>)>,
    /// Databases swapped by SWAPDB, as consecutive pairs (every watched or waited-on key in
    /// them may have changed).
    pub touched_dbs: Vec<usize>,
    /// Keys deleted because they expired (the server propagates a DEL/UNLINK for each).
    pub expired: Vec<(usize, Vec<u8>)>,
    pub track: bool,
    /// Databases emptied or replaced so far (FLUSHDB, FLUSHALL, a loaded dataset swapped in):
    /// a running count that draining the events keeps, so an observer (client-side caching's
    /// invalidation) compares it with the count it last saw.
    pub flushes: u64,
}

/// All databases plus the state lookups need.
pub struct Keyspace {
    dbs: Vec<Db>,
    /// The time commands see (cached per command, as Redis does).
    pub now_ms: i64,
    pub mode: ExpiryMode,
    /// The primary's stream is being applied (or a load is running): expired keys are visible
    /// and never deleted on access.
    pub obey_all: bool,
    /// Clients with CLIENT NO-TOUCH, and internal reads, do not update LRU/LFU.
    pub no_touch: bool,
    pub lru: lru::LruState,
    pub events: Events,
    pub stats: KeyspaceStats,
    pub rng: Rng,
    /// `lazyfree-lazy-expire`: an expired key's large value is freed on the background thread
    /// (else inline, in the expiring command or cycle, as Valkey does with `no`).
    pub lazy_expire: bool,
    /// A CLIENT PAUSE (WRITE or ALL) is in effect: reads see an expired key as missing but do
    /// not delete it (Valkey's paused `expire` action); the deletion comes after the pause.
    pub expire_paused: bool,
    /// Keys given an expire by this node's own clients while it is a writable replica
    /// (Redis's `slaveKeysWithExpire`): the primary will never expire them, so the replica's
    /// cron does ([`Keyspace::expire_replica_local_keys`]).
    replica_local_expires: std::collections::HashSet<(usize, Vec<u8>)>,
}

impl Keyspace {
    pub fn new(databases: usize) -> Keyspace {
        Keyspace {
            dbs: (0..databases.max(1)).map(|_| Db::default()).collect(),
            now_ms: 0,
            mode: ExpiryMode::Primary,
            obey_all: false,
            no_touch: false,
            lru: lru::LruState::default(),
            events: Events::default(),
            stats: KeyspaceStats::default(),
            rng: Rng::from_entropy(),
            lazy_expire: true,
            expire_paused: false,
            replica_local_expires: Default::default(),
        }
    }

    pub fn db_count(&self) -> usize {
        self.dbs.len()
    }

    pub fn db(&self, db: usize) -> &Db {
        &self.dbs[db]
    }

    pub fn dbs(&self) -> &[Db] {
        &self.dbs
    }

    /// True if `obj` is logically expired now.
    /// Redis's `checkAlreadyExpired`: a write giving an expire time at or before now deletes
    /// the key at once, except on a replica and while applying the primary's stream, where
    /// the key is stored with its (past) time and the primary's DEL removes it.
    pub fn already_expired(&self, when_ms: i64) -> bool {
        when_ms <= self.now_ms && self.mode == ExpiryMode::Primary && !self.obey_all
    }

    fn is_expired(&self, obj: &Obj) -> bool {
        obj.expire_ms().is_some_and(|e| e <= self.now_ms)
    }

    /// Finds `key` and applies the expiry policy: the entry's location if the key is live.
    /// An expired key is deleted on a primary, and on a replica only by a write lookup of one
    /// of its own clients (a writable replica, Redis's `EXPIRE_FORCE_DELETE_EXPIRED`); a
    /// replica's reads only see it as missing.
    fn locate_live(&mut self, db: usize, key: &[u8], write: bool) -> Option<Loc> {
        let loc = self.dbs[db].keys.locate(key)?;
        let obj = self.dbs[db].keys.at(loc);
        if self.obey_all || !self.is_expired(obj) {
            return Some(loc);
        }
        if (self.mode == ExpiryMode::Primary && !self.expire_paused) || write {
            self.delete_expired(db, key);
        }
        None
    }

    fn delete_expired(&mut self, db: usize, key: &[u8]) {
        if let Some(old) = self.dbs[db].take(key) {
            if self.lazy_expire {
                lazyfree::free(old);
            }
        }
        self.stats.expired_keys += 1;
        self.events.expired.push((db, key.to_vec()));
        self.touch(db, key);
    }

    fn touch(&mut self, db: usize, key: &[u8]) {
        if self.events.track {
            self.events.touched.push((db, key.to_vec()));
        }
    }

    fn access(&self, obj: &Obj) {
        if !self.no_touch {
            self.lru.on_access(obj);
        }
    }

    /// Read lookup (`lookupKeyRead`): expiry, hit/miss stats, LRU/LFU update.
    pub fn read(&mut self, db: usize, key: &[u8]) -> Option<&Obj> {
        let Some(loc) = self.locate_live(db, key, false) else {
            self.stats.misses += 1;
            return None;
        };
        self.stats.hits += 1;
        let obj = self.dbs[db].keys.at(loc);
        self.access(obj);
        Some(obj)
    }

    /// Lookup for a command that will write (`lookupKeyWrite`): expiry, LRU, no stats.
    pub fn get(&mut self, db: usize, key: &[u8]) -> Option<&Obj> {
        let loc = self.locate_live(db, key, true)?;
        let obj = self.dbs[db].keys.at(loc);
        self.access(obj);
        Some(obj)
    }

    /// True if `key` exists and is not logically expired, with no side effect at all: an
    /// expired key is not deleted (Valkey's `LOOKUP_NOEFFECTS`, used where a deletion would
    /// be propagated in the middle of another command, e.g. checking blocked clients).
    pub fn is_live(&self, db: usize, key: &[u8]) -> bool {
        match self.dbs.get(db).and_then(|d| d.keys.locate(key)) {
            Some(loc) => self.obey_all || !self.is_expired(self.dbs[db].keys.at(loc)),
            None => false,
        }
    }

    /// Lookup without any side effect except the expiry policy (EXISTS-like internal checks
    /// also count as access in Redis; use [`Keyspace::get`] for that).
    pub fn peek(&mut self, db: usize, key: &[u8]) -> Option<&Obj> {
        let loc = self.locate_live(db, key, false)?;
        Some(self.dbs[db].keys.at(loc))
    }

    /// Mutable lookup: the key counts as modified (WATCH, blocked clients).
    pub fn get_mut(&mut self, db: usize, key: &[u8]) -> Option<&mut Obj> {
        self.get_mut_when(db, key, |_| true)
    }

    /// Mutable lookup in one search for a change the caller decides on seeing the object: the
    /// key is signalled modified (as [`Keyspace::get_mut`] does) only when `changes(obj)`
    /// says the change will be made (right type, something to change). The access time is
    /// updated either way, as a write lookup does.
    pub fn get_mut_when(
        &mut self,
        db: usize,
        key: &[u8],
        changes: impl FnOnce(&Obj) -> bool,
    ) -> Option<&mut Obj> {
        let loc = self.locate_live(db, key, true)?;
        if changes(self.dbs[db].keys.at(loc)) {
            self.touch(db, key);
        }
        let no_touch = self.no_touch;
        let obj = self.dbs[db].keys.at_mut(loc);
        if !no_touch {
            self.lru.on_access(obj);
        }
        Some(obj)
    }

    /// Mutable lookup for a change Valkey does not signal (no `signalModifiedKey`: consumer
    /// group bookkeeping such as XACK or XGROUP SETID): WATCH and blocked clients are not
    /// told. Everything else is as [`Keyspace::get_mut`].
    pub fn get_mut_silent(&mut self, db: usize, key: &[u8]) -> Option<&mut Obj> {
        let loc = self.locate_live(db, key, true)?;
        let no_touch = self.no_touch;
        let obj = self.dbs[db].keys.at_mut(loc);
        if !no_touch {
            self.lru.on_access(obj);
        }
        Some(obj)
    }

    /// Drops the decompressed copies that reading the compressed list at `key` left (see
    /// [`types::List::release`]); nothing else: no expiry, access time or signal. A value a
    /// snapshot shares is left as it is (its copies go with a later read or change).
    pub fn release_read_copies(&mut self, db: usize, key: &[u8]) {
        let Some(loc) = self.dbs.get(db).and_then(|d| d.keys.locate(key)) else {
            return;
        };
        let obj = self.dbs[db].keys.at_mut(loc);
        if !obj.is_unique() || !matches!(obj.value(), ValueRef::List(l) if l.holds_copies()) {
            return;
        }
        if let Some(Boxed::List(l)) = obj.boxed_mut() {
            l.release();
        }
    }

    /// Starts loading what looking up these members of the collection at `key` will read
    /// (set members, hash fields, sorted-set members; by [`types::hash_key`]). No effect on
    /// other values, missing keys, or compact encodings (which are small and contiguous).
    pub fn prefetch_members(&self, db: usize, key: &[u8], hashes: &[u64]) {
        let Some(obj) = self.dbs.get(db).and_then(|d| d.keys.get(key)) else {
            return;
        };
        match obj.value() {
            ValueRef::Set(s) => s.prefetch_members(hashes),
            ValueRef::Hash(h) => h.prefetch_fields(hashes),
            ValueRef::ZSet(z) => z.prefetch_members(hashes),
            _ => {}
        }
    }

    /// Starts loading what lookups of these keys (by [`types::hash_key`]) in `db` will read,
    /// so that a pipeline's cache misses overlap (see [`types::SegMap::prefetch`]).
    pub fn prefetch(&self, db: usize, hashes: &[u64]) {
        if let Some(d) = self.dbs.get(db) {
            d.keys.prefetch(hashes, |obj| obj.prefetch());
        }
    }

    /// Stores `obj` (replacing any value under its key), returning the old value.
    pub fn put(&mut self, db: usize, obj: Obj) -> Option<Obj> {
        self.touch(db, obj.key());
        if obj.expire_ms().is_some() {
            self.remember_replica_local_expire(db, obj.key());
        }
        self.lru.init(&obj);
        self.dbs[db].put(obj)
    }

    /// Deletes `key`; returns the old value if it existed (and was not expired).
    pub fn remove(&mut self, db: usize, key: &[u8]) -> Option<Obj> {
        self.locate_live(db, key, true)?;
        self.touch(db, key);
        self.dbs[db].take(key)
    }

    /// Deletes whatever is stored under `key`, as Redis's `dbDelete`: a value that has
    /// logically expired is deleted too, as a plain deletion (not counted or reported as an
    /// expiry). The destination of a store command whose result is empty goes this way, so
    /// that the command reports `del` for it as Redis does.
    pub fn remove_stored(&mut self, db: usize, key: &[u8]) -> Option<Obj> {
        let old = self.dbs[db].take(key)?;
        self.touch(db, key);
        Some(old)
    }

    /// Sets or clears the expire of an existing key; returns false if the key is missing.
    pub fn set_expire(&mut self, db: usize, key: &[u8], expire_ms: Option<i64>) -> bool {
        let Some(obj) = self.get_mut(db, key) else {
            return false;
        };
        let had = obj.expire_ms().is_some();
        obj.set_expire(expire_ms);
        if expire_ms.is_some() {
            self.remember_replica_local_expire(db, key);
        }
        let d = &mut self.dbs[db];
        match (had, expire_ms.is_some()) {
            (false, true) => {
                d.volatile.insert(Blob::new(key));
            }
            (true, false) => {
                d.volatile.remove(key);
            }
            _ => {}
        }
        true
    }

    /// Records a key given an expire by one of this replica's own clients.
    fn remember_replica_local_expire(&mut self, db: usize, key: &[u8]) {
        if self.mode == ExpiryMode::Replica && !self.obey_all {
            self.replica_local_expires.insert((db, key.to_vec()));
        }
    }

    /// Deletes the expired keys among those a writable replica's clients gave an expire
    /// (Redis's `expireSlaveKeys`), forgetting the ones that no longer have one. Returns how
    /// many it deleted. Deletions made here are the replica's own: they are not propagated.
    pub fn expire_replica_local_keys(&mut self) -> usize {
        if self.replica_local_expires.is_empty() {
            return 0;
        }
        let now = self.now_ms;
        let mut deleted = 0;
        let tracked: Vec<(usize, Vec<u8>)> = self.replica_local_expires.iter().cloned().collect();
        for (db, key) in tracked {
            let expire = self
                .dbs
                .get(db)
                .and_then(|d| d.keys.get(&key))
                .and_then(Obj::expire_ms);
            match expire {
                Some(e) if e > now => continue,
                Some(_) => {
                    self.delete_expired(db, &key);
                    deleted += 1;
                }
                None => {}
            }
            self.replica_local_expires.remove(&(db, key));
        }
        deleted
    }

    /// Forgets the keys tracked by [`Keyspace::expire_replica_local_keys`] (the node became a
    /// primary, whose active expiry covers every key, or its data was replaced).
    pub fn forget_replica_local_expires(&mut self) {
        self.replica_local_expires.clear();
    }

    /// Empties a database, returning its old contents (to be freed lazily or not).
    /// Callers invalidate WATCHes of keys that exist before flushing (Redis's rule).
    /// Empties `db`, returning its contents. Clients blocked on its keys are signalled (an
    /// XREADGROUP whose key is gone fails with NOGROUP, as in Valkey).
    pub fn flush_db(&mut self, db: usize) -> Db {
        self.events.flushes += 1;
        self.events.touched_dbs.push(db);
        std::mem::take(&mut self.dbs[db])
    }

    pub fn flush_all(&mut self) -> Vec<Db> {
        (0..self.dbs.len()).map(|db| self.flush_db(db)).collect()
    }

    pub fn swap_dbs(&mut self, a: usize, b: usize) {
        self.dbs.swap(a, b);
        self.events.touched_dbs.push(a);
        self.events.touched_dbs.push(b);
    }

    /// Replaces every database at once (a replica's atomic swap after loading aside, DEBUG
    /// RELOAD). Returns the old databases.
    pub fn replace_all(&mut self, dbs: Vec<Db>) -> Vec<Db> {
        self.events.flushes += 1;
        std::mem::replace(&mut self.dbs, dbs)
    }

    pub fn dbsize(&self, db: usize) -> usize {
        self.dbs[db].len()
    }

    /// A random key that is not expired (expired keys found on the way are deleted on a
    /// primary, as RANDOMKEY does).
    pub fn random_key(&mut self, db: usize) -> Option<Vec<u8>> {
        for _ in 0..100 {
            let key = self.dbs[db].keys.random(&mut self.rng)?.key().to_vec();
            if self.locate_live(db, &key, false).is_some() {
                return Some(key);
            }
            if self.mode == ExpiryMode::Replica && self.dbs[db].volatile.len() == self.dbs[db].len()
            {
                // Every key is volatile and we may not delete: return this one, as Redis does.
                return Some(key);
            }
        }
        None
    }

    /// One SCAN step over a database.
    pub fn scan(&self, db: usize, cursor: u64, count: usize, emit: impl FnMut(&Obj)) -> u64 {
        self.dbs[db].keys.scan(cursor, count, emit)
    }

    /// Deletes expired keys found in a bounded sample of each database's volatile keys.
    /// Returns how many keys it expired. `effort` ~ keys examined per database per call.
    pub fn active_expire(&mut self, effort: usize, deadline: std::time::Instant) -> usize {
        if self.mode == ExpiryMode::Replica {
            return 0;
        }
        let mut total = 0;
        for db in 0..self.dbs.len() {
            loop {
                let (expired, sampled) = self.expire_sample(db, effort);
                total += expired;
                if sampled == 0 || expired * 10 <= sampled {
                    break;
                }
                if std::time::Instant::now() >= deadline {
                    self.stats.expired_time_cap_reached_count += 1;
                    return total;
                }
            }
        }
        total
    }

    fn expire_sample(&mut self, db: usize, effort: usize) -> (usize, usize) {
        let d = &self.dbs[db];
        if d.volatile.is_empty() {
            return (0, 0);
        }
        let mut candidates = Vec::new();
        let next = d
            .volatile
            .scan(d.expire_cursor, effort, |k| candidates.push(k.to_vec()));
        self.dbs[db].expire_cursor = next;
        let now = self.now_ms;
        let mut expired = 0;
        let mut ttl_sum = 0i64;
        let mut ttl_n = 0i64;
        for key in &candidates {
            match self.dbs[db].keys.get(key).and_then(Obj::expire_ms) {
                Some(e) if e <= now => {
                    self.delete_expired(db, key);
                    expired += 1;
                }
                Some(e) => {
                    ttl_sum += e - now;
                    ttl_n += 1;
                }
                None => {}
            }
        }
        if ttl_n > 0 {
            let avg = ttl_sum / ttl_n;
            let d = &mut self.dbs[db];
            d.avg_ttl_ms = if d.avg_ttl_ms == 0 {
                avg
            } else {
                (d.avg_ttl_ms / 50) * 49 + avg / 50
            };
        }
        (expired, candidates.len())
    }

    /// Random keys for eviction: `n` samples from `db`, from the volatile set if `volatile`.
    pub fn sample(&mut self, db: usize, n: usize, volatile: bool) -> Vec<Vec<u8>> {
        let d = &self.dbs[db];
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            let key = if volatile {
                d.volatile.random(&mut self.rng).map(|k| k.to_vec())
            } else {
                d.keys.random(&mut self.rng).map(|o| o.key().to_vec())
            };
            match key {
                Some(k) => out.push(k),
                None => break,
            }
        }
        out
    }

    /// A point-in-time view of all databases, in O(segments).
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            dbs: self.dbs.iter().map(Db::snapshot).collect(),
            expires: self.dbs.iter().map(Db::expires_len).collect(),
            taken_at_ms: self.now_ms,
        }
    }

    /// Inserts a loaded key without touching events; fails on duplicates (corrupt input).
    pub fn load_insert(dbs: &mut [Db], db: usize, obj: Obj) -> Result<(), Obj> {
        let d = &mut dbs[db];
        if d.keys.contains_key(obj.key()) {
            return Err(obj);
        }
        if obj.expire_ms().is_some() {
            d.volatile.insert(Blob::new(obj.key()));
        }
        d.keys.insert_new(obj);
        Ok(())
    }

    /// Fresh empty databases (for loading aside).
    pub fn empty_dbs(n: usize) -> Vec<Db> {
        (0..n).map(|_| Db::default()).collect()
    }

    /// Drains the events collected so far.
    pub fn take_events(&mut self) -> Events {
        let (track, flushes) = (self.events.track, self.events.flushes);
        let ev = std::mem::take(&mut self.events);
        self.events.track = track;
        self.events.flushes = flushes;
        ev
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remove_stored_deletes_an_expired_value_as_a_plain_deletion() {
        let mut ks = Keyspace::new(1);
        ks.now_ms = 1_000;
        ks.put(0, Obj::new(b"k", NewValue::Str(b"v"), Some(500)));
        assert!(ks.remove_stored(0, b"k").is_some());
        assert!(ks.events.expired.is_empty());
        assert_eq!(ks.stats.expired_keys, 0);
        assert_eq!(ks.db(0).len(), 0);
        assert_eq!(ks.db(0).expires_len(), 0);
        assert!(ks.remove_stored(0, b"k").is_none());
        // `remove` sees the same value as already gone, and reports the expiry.
        ks.put(0, Obj::new(b"k", NewValue::Str(b"v"), Some(500)));
        assert!(ks.remove(0, b"k").is_none());
        assert_eq!(ks.events.expired, vec![(0, b"k".to_vec())]);
    }

    #[test]
    fn get_mut_when_signals_the_key_only_for_a_change() {
        let mut ks = Keyspace::new(1);
        ks.events.track = true;
        ks.put(0, Obj::new(b"k", NewValue::Str(b"v"), None));
        ks.events.touched.clear();
        assert!(ks.get_mut_when(0, b"k", |_| false).is_some());
        assert!(ks.events.touched.is_empty(), "no change, no signal");
        assert!(ks.get_mut_when(0, b"k", |_| true).is_some());
        assert_eq!(ks.events.touched, vec![(0, b"k".to_vec())]);
        let mut asked = false;
        assert!(ks
            .get_mut_when(0, b"missing", |_| {
                asked = true;
                true
            })
            .is_none());
        assert!(!asked, "a missing key is not asked about");
    }
}
