//! `NodeCache`: the decompressed bytes of compressed nodes read through `&List`.
//!
//! Reading a compressed node (an LRANGE across the middle of a long list under
//! `list-compress-depth`) needs its bytes uncompressed for as long as the reader holds the
//! elements it was given, which borrow the list. Valkey decompresses the node in place and
//! compresses it again after the read; a shared `&List` cannot change its nodes, so the bytes
//! go here instead, keyed by the compressed block's address, and stay until the next `&mut`
//! access to the list — every mutation starts by [`NodeCache::clear`]ing, and the list
//! commands release the cache after a read ([`super::List::release`]). A list holder's clone
//! (a snapshot's) starts with an empty cache of its own.
//!
//! Cost when nothing was read compressed: one null pointer in the list.

use std::collections::HashMap;
use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::Mutex;

thread_local! {
    /// Set when a read on this thread went through a cache (see [`take_read_copies`]).
    static READ_COPIES: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// True (and reset) if a read on this thread has used a list's cache since the last call:
/// the command core then releases the copies of the lists the command named.
pub fn take_read_copies() -> bool {
    READ_COPIES.with(|c| c.replace(false))
}

type Map = Mutex<HashMap<usize, Box<[u8]>, foldhash::fast::RandomState>>;

#[derive(Default)]
pub(super) struct NodeCache(AtomicPtr<Map>);

impl NodeCache {
    /// The bytes cached under `key`, made by `make` the first time. They stay valid while
    /// `self` is borrowed: entries are only removed through `&mut self`.
    pub(super) fn get(&self, key: usize, make: impl FnOnce() -> Vec<u8>) -> &[u8] {
        READ_COPIES.with(|c| c.set(true));
        let mut p = self.0.load(Ordering::Acquire);
        if p.is_null() {
            let fresh = Box::into_raw(Box::new(Map::default()));
            match self.0.compare_exchange(
                std::ptr::null_mut(),
                fresh,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => p = fresh,
                Err(current) => {
                    // SAFETY: `fresh` was never shared; another reader installed its map first.
                    drop(unsafe { Box::from_raw(fresh) });
                    p = current;
                }
            }
        }
        // SAFETY: a non-null pointer is a map installed above, freed only through `&mut self`.
        let map = unsafe { &*p };
        let mut m = map.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let bytes = m.entry(key).or_insert_with(|| make().into_boxed_slice());
        let (ptr, len) = (bytes.as_ptr(), bytes.len());
        drop(m);
        // SAFETY: the boxed bytes do not move when the map grows, and their entry is removed
        // only by `clear` or drop, which need `&mut self`: no borrow of `self` outlives them.
        unsafe { std::slice::from_raw_parts(ptr, len) }
    }

    /// True if anything is cached.
    pub(super) fn is_set(&self) -> bool {
        !self.0.load(Ordering::Relaxed).is_null()
    }

    /// Drops every cached copy.
    pub(super) fn clear(&mut self) {
        let p = std::mem::replace(self.0.get_mut(), std::ptr::null_mut());
        if !p.is_null() {
            // SAFETY: installed by `get` from a Box; `&mut self` means no borrow of it remains.
            drop(unsafe { Box::from_raw(p) });
        }
    }

    /// Bytes held (for MEMORY USAGE while a read's copies are alive).
    pub(super) fn bytes(&self) -> usize {
        let p = self.0.load(Ordering::Acquire);
        if p.is_null() {
            return 0;
        }
        // SAFETY: as in `get`.
        let map = unsafe { &*p };
        let m = map.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        m.values().map(|b| b.len()).sum()
    }
}

impl Clone for NodeCache {
    /// A clone starts empty: the copies belong to the reader of this list value.
    fn clone(&self) -> Self {
        NodeCache::default()
    }
}

impl Drop for NodeCache {
    fn drop(&mut self) {
        self.clear();
    }
}

impl std::fmt::Debug for NodeCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "NodeCache({} bytes)", self.bytes())
    }
}
