//! `SegMap`: the hash map behind the keyspace and behind large hashes, sets and sorted sets.
//!
//! Three requirements shape it:
//! 1. **Snapshots without fork** (DESIGN.md decision 2). The map is split into segments held by
//!    `Arc`. A snapshot clones the list of segments in O(segments); a later write to a segment
//!    the snapshot still holds copies that segment first (`Arc::make_mut`). Extra memory while
//!    a snapshot runs is therefore bounded by the segments written to, not by the map.
//! 2. **No stalls on growth.** Segments split one at a time (extendible hashing): a directory of
//!    `2^depth` slots maps the low bits of a key's hash to a segment; a full segment splits in
//!    two and the directory doubles only when needed (it holds one `u32` per slot). There is no
//!    whole-table rehash, ever.
//! 3. **SCAN's guarantee** (every element present for the whole scan is returned at least once)
//!    across growth. The cursor is Redis's reverse-binary cursor over directory slots; a slot
//!    yields the entries whose hash has the slot's low bits, whatever segment holds them.
//!
//! Inside a segment, entries live densely in a `Vec` (fast iteration, O(1) random pick) with a
//! linear-probing index of 16-bit slots (8 hash bits beside the entry's position), so a
//! lookup costs one index cache line, then the entry. Lookups for a batch of keys (a pipeline)
//! can be prefetched stage by stage ([`SegMap::prefetch`]), overlapping their cache misses.
//!
//! **Memory.** The map costs about 12 bytes per entry beyond the entries themselves: the
//! entry word (8), its index slot (2 bytes at 60-75% load) and a share of the segment. Two
//! choices get it there: the index may have any multiple of 8 slots (the home slot is a
//! multiply-shift of the hash, not a mask), so it is resized in steps of about 20% instead of
//! doubling; and the entry vectors grow by allocator size classes (25%), not by doubling.

use std::sync::Arc;
use std::sync::OnceLock;

/// Entries stored in a [`SegMap`] expose the key they are found by.
pub trait SegItem: Clone {
    fn seg_key(&self) -> &[u8];

    /// Starts loading what comparing this entry's key will read (for entries that point to
    /// their key). See [`SegMap::prefetch`].
    #[inline]
    fn prefetch(&self) {}
}

/// Largest segment before it splits. Bounds the copy made by the first write to a segment that
/// a snapshot holds, and the work of one SCAN step.
const MAX_SEG: usize = 256;
/// Directory depth is bounded; a segment at this depth grows instead of splitting (only
/// reachable with pathological hash collisions).
const MAX_DEPTH: u8 = 32;

/// Per-process seed, so that hash flooding cannot be prepared in advance.
fn hash_seed() -> u64 {
    static SEED: OnceLock<u64> = OnceLock::new();
    *SEED.get_or_init(|| {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        let addr = &t as *const u64 as u64;
        crate::rand::mix64(t ^ addr.rotate_left(32) ^ std::process::id() as u64)
    })
}

/// The hash every `SegMap` uses for a key.
#[inline]
pub fn hash_key(key: &[u8]) -> u64 {
    use std::hash::BuildHasher;
    foldhash::fast::FixedState::with_seed(hash_seed()).hash_one(key)
}

/// Where an entry sits inside an index of `slots` slots: bits 32..56 of the hash scaled to the
/// index length (the low bits chose the segment, so all entries of a segment share them; the
/// top 8 bits are the tag).
#[inline]
fn home(h: u64, slots: usize) -> usize {
    ((((h >> 32) & 0xFF_FFFF) * slots as u64) >> 24) as usize
}

/// The tag stored beside an entry's position: the top 8 hash bits, 0 mapped to 1 so that an
/// occupied slot is never zero. A probe compares tags before touching the entry, so a lookup
/// reads the entry (and the key it points to) only when 8 more bits of the hash agree.
#[inline]
fn tag(h: u64) -> u16 {
    ((h >> 56) as u16).max(1)
}

/// The index slot of an entry: `tag << 8 | position`; 0 is empty.
#[inline]
fn slot_value(h: u64, pos: usize) -> u16 {
    tag(h) << 8 | pos as u16
}

const EMPTY: u16 = 0;
/// Positions must fit in 8 bits. Only a segment at [`MAX_DEPTH`] can grow past [`MAX_SEG`];
/// one that does drops its index and is searched linearly (it would take more than 256 keys
/// agreeing on 32 bits of a per-process-seeded hash).
const MAX_INDEXED: usize = 256;

/// The slot after `i` in an index of `len` slots (wrapping).
#[inline]
fn next_slot(i: usize, len: usize) -> usize {
    if i + 1 == len {
        0
    } else {
        i + 1
    }
}

/// Index slots for `n` entries after a rebuild: 3/5 full, a multiple of 8 (16 bytes); near
/// [`MAX_SEG`] straight to the size a full segment needs (3/4 full), which it never outgrows.
fn index_slots(n: usize) -> usize {
    const FULL: usize = (MAX_SEG * 4 / 3 + 1 + 7) & !7;
    let s = ((n * 5 / 3 + 1).max(8) + 7) & !7;
    if s > MAX_SEG && n <= MAX_SEG {
        FULL
    } else {
        s
    }
}

/// The hashes of `items`' keys, in order (loading a few entries ahead).
fn hash_all<T: SegItem>(items: &[T]) -> Vec<u64> {
    const AHEAD: usize = 4;
    for item in items.iter().take(AHEAD) {
        item.prefetch();
    }
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        if let Some(next) = items.get(i + AHEAD) {
            next.prefetch();
        }
        out.push(hash_key(item.seg_key()));
    }
    out
}

/// The index is rebuilt larger once it would be more than 3/4 full (linear probing: a miss
/// then probes ~8 slots, 16 bytes).
#[inline]
fn index_full(entries: usize, slots: usize) -> bool {
    entries * 4 > slots * 3
}

/// The allocator size class holding `bytes` (jemalloc's: multiples of 16 up to 128, then
/// four classes per doubling).
fn size_class(bytes: usize) -> usize {
    if bytes <= 8 {
        return 8;
    }
    if bytes <= 128 {
        return (bytes + 15) & !15;
    }
    let step = bytes.next_power_of_two() / 8;
    bytes.div_ceil(step) * step
}

/// The capacity to grow an entry vector of `cap` elements of `size` bytes to: the next size
/// class, so that no class slack is wasted and growth stays geometric (~25%, doubling while
/// small).
fn grown_capacity(cap: usize, size: usize) -> usize {
    let size = size.max(1);
    let bytes = cap * size;
    let next = if bytes < 64 {
        (bytes * 2).max(size * 4)
    } else {
        size_class(bytes + 1)
    };
    (next / size).max(cap + 1)
}

/// The capacity for `n` elements of `size` bytes that fills its size class.
fn fitted_capacity(n: usize, size: usize) -> usize {
    let size = size.max(1);
    (size_class(n * size) / size).max(n)
}

/// Hints the CPU to start loading the cache line at `p`. A no-op where unsupported.
#[inline(always)]
pub fn prefetch<T>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: prefetching is a hint; it never faults, whatever the address.
    #[allow(unused_unsafe)]
    unsafe {
        std::arch::x86_64::_mm_prefetch(p as *const i8, std::arch::x86_64::_MM_HINT_T0);
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

#[derive(Clone)]
struct Seg<T> {
    /// How many low hash bits all entries of this segment share.
    depth: u8,
    /// The value of those shared bits.
    pattern: u64,
    /// The entries, dense (fast iteration, O(1) random pick).
    items: Vec<T>,
    /// Linear-probing table of [`slot_value`]s (a multiple of 8 slots, at most 3/4 full), or
    /// empty when the segment is searched linearly (see [`MAX_INDEXED`]).
    index: Box<[u16]>,
}

impl<T: SegItem> Seg<T> {
    fn new(depth: u8, pattern: u64) -> Self {
        Seg {
            depth,
            pattern,
            items: Vec::new(),
            index: Box::new([]),
        }
    }

    #[inline]
    fn linear(&self) -> bool {
        self.index.is_empty()
    }

    #[inline]
    fn find(&self, key: &[u8], h: u64) -> Option<usize> {
        if self.linear() {
            return self.items.iter().position(|it| it.seg_key() == key);
        }
        let len = self.index.len();
        let t = tag(h);
        let mut i = home(h, len);
        loop {
            let e = self.index[i];
            if e == EMPTY {
                return None;
            }
            if e >> 8 == t {
                let pos = (e & 0xFF) as usize;
                if self.items[pos].seg_key() == key {
                    return Some(pos);
                }
            }
            i = next_slot(i, len);
        }
    }

    /// The first position whose tag matches `h` (no key comparison): for prefetching.
    #[inline]
    fn candidate(&self, h: u64) -> Option<usize> {
        if self.linear() {
            return None;
        }
        let len = self.index.len();
        let t = tag(h);
        let mut i = home(h, len);
        loop {
            let e = self.index[i];
            if e == EMPTY {
                return None;
            }
            if e >> 8 == t {
                return Some((e & 0xFF) as usize);
            }
            i = next_slot(i, len);
        }
    }

    /// Puts `slot_value(h, pos)` in the first free slot from `h`'s home.
    fn index_insert(index: &mut [u16], h: u64, pos: usize) {
        let len = index.len();
        let mut i = home(h, len);
        while index[i] != EMPTY {
            i = next_slot(i, len);
        }
        index[i] = slot_value(h, pos);
    }

    /// The slot holding position `pos` (whose entry hashes to `h`).
    fn slot_of(&self, h: u64, pos: usize) -> Option<usize> {
        let len = self.index.len();
        let want = slot_value(h, pos);
        let mut i = home(h, len);
        loop {
            match self.index[i] {
                EMPTY => return None,
                e if e == want => return Some(i),
                _ => i = next_slot(i, len),
            }
        }
    }

    /// Empties slot `i`, shifting back later entries of the probe run (no tombstones).
    fn index_delete(&mut self, mut i: usize) {
        let len = self.index.len();
        let mut j = i;
        loop {
            j = next_slot(j, len);
            let e = self.index[j];
            if e == EMPTY {
                break;
            }
            let pos = (e & 0xFF) as usize;
            let k = home(hash_key(self.items[pos].seg_key()), len);
            // Move `e` back to the hole unless its home lies cyclically in (i, j].
            let stays = if i <= j {
                i < k && k <= j
            } else {
                i < k || k <= j
            };
            if !stays {
                self.index[i] = e;
                i = j;
            }
        }
        self.index[i] = EMPTY;
    }

    fn push(&mut self, item: T, h: u64) {
        let pos = self.items.len();
        if pos == self.items.capacity() {
            let cap = grown_capacity(pos, std::mem::size_of::<T>());
            self.items.reserve_exact(cap - pos);
        }
        self.items.push(item);
        if self.linear() && pos > 0 {
            return;
        }
        if pos >= MAX_INDEXED {
            self.index = Box::new([]);
            return;
        }
        if index_full(pos + 1, self.index.len()) {
            self.rebuild_index();
        } else {
            Self::index_insert(&mut self.index, h, pos);
        }
    }

    /// Removes the entry at `pos`, moving the last entry into its place.
    fn remove_at(&mut self, pos: usize, h: u64) -> T {
        let last = self.items.len() - 1;
        if !self.linear() {
            if let Some(slot) = self.slot_of(h, pos) {
                self.index_delete(slot);
            }
            if pos != last {
                let moved_h = hash_key(self.items[last].seg_key());
                if let Some(slot) = self.slot_of(moved_h, last) {
                    self.index[slot] = slot_value(moved_h, pos);
                }
            }
        }
        let item = self.items.swap_remove(pos);
        if self.linear() && !self.items.is_empty() && self.items.len() <= MAX_INDEXED {
            self.rebuild_index();
        } else if self.items.capacity() > 64 && self.items.len() < self.items.capacity() / 4 {
            self.items.shrink_to(self.items.len() * 2);
            self.rebuild_index();
        }
        item
    }

    /// Sizes the index for the entries (plus room to grow) and refills it.
    fn rebuild_index(&mut self) {
        let n = self.items.len();
        if n > MAX_INDEXED {
            self.index = Box::new([]);
            return;
        }
        let mut index = vec![EMPTY; index_slots(n)].into_boxed_slice();
        // Hashing reads every entry's key: start loading a few entries ahead.
        const AHEAD: usize = 4;
        for item in self.items.iter().take(AHEAD) {
            item.prefetch();
        }
        for (pos, item) in self.items.iter().enumerate() {
            if let Some(next) = self.items.get(pos + AHEAD) {
                next.prefetch();
            }
            Self::index_insert(&mut index, hash_key(item.seg_key()), pos);
        }
        self.index = index;
    }

    /// A segment holding `items` (whose hashes are `hashes`, in order), indexed.
    fn with_items(depth: u8, pattern: u64, items: Vec<T>, hashes: &[u64]) -> Self {
        let mut seg = Seg::new(depth, pattern);
        if items.len() <= MAX_INDEXED {
            let mut index = vec![EMPTY; index_slots(items.len())].into_boxed_slice();
            for (pos, &h) in hashes.iter().enumerate() {
                Self::index_insert(&mut index, h, pos);
            }
            seg.index = index;
        }
        seg.items = items;
        seg
    }
}

/// Mutable access to a segment, copying it first (and counting the copy in [`crate::cow`]) if a
/// snapshot shares it.
#[inline]
fn seg_mut<T: SegItem>(seg: &mut Arc<Seg<T>>) -> &mut Seg<T> {
    crate::cow::make_mut(seg, |s| {
        std::mem::size_of::<Seg<T>>()
            + s.items.capacity() * std::mem::size_of::<T>()
            + s.index.len() * std::mem::size_of::<u16>()
    })
}

/// Where an entry was found by [`SegMap::locate`]: valid until the map is next modified.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Loc {
    seg: u32,
    pos: u32,
}

/// The segmented, copy-on-write hash map.
#[derive(Clone)]
pub struct SegMap<T> {
    /// Slot (low `depth` bits of the hash) → index into `segs`.
    dir: Vec<u32>,
    segs: Vec<Arc<Seg<T>>>,
    len: usize,
}

impl<T: SegItem> Default for SegMap<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: SegItem> SegMap<T> {
    pub fn new() -> Self {
        SegMap {
            dir: vec![0],
            segs: vec![Arc::new(Seg::new(0, 0))],
            len: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn mask(&self) -> u64 {
        self.dir.len() as u64 - 1
    }

    #[inline]
    fn seg_of(&self, h: u64) -> usize {
        self.dir[(h & self.mask()) as usize] as usize
    }

    pub fn get(&self, key: &[u8]) -> Option<&T> {
        self.get_hashed(key, hash_key(key))
    }

    /// Lookup with a precomputed [`hash_key`].
    pub fn get_hashed(&self, key: &[u8], h: u64) -> Option<&T> {
        let seg = &self.segs[self.seg_of(h)];
        seg.find(key, h).map(|i| &seg.items[i])
    }

    /// Finds `key` once; the [`Loc`] then reads or writes the entry without searching again.
    #[inline]
    pub fn locate(&self, key: &[u8]) -> Option<Loc> {
        let h = hash_key(key);
        let s = self.seg_of(h);
        let pos = self.segs[s].find(key, h)?;
        Some(Loc {
            seg: s as u32,
            pos: pos as u32,
        })
    }

    /// The entry at `loc` (from [`SegMap::locate`] on the unmodified map).
    #[inline]
    pub fn at(&self, loc: Loc) -> &T {
        &self.segs[loc.seg as usize].items[loc.pos as usize]
    }

    /// Mutable access at `loc`; copies the segment first if a snapshot shares it.
    #[inline]
    pub fn at_mut(&mut self, loc: Loc) -> &mut T {
        &mut seg_mut(&mut self.segs[loc.seg as usize]).items[loc.pos as usize]
    }

    /// Starts loading, stage by stage, what lookups of these hashes will read, so that the
    /// cache misses of a whole batch overlap instead of being paid one after another: the
    /// segments, then their index lines, then the entries; `entry` gets each likely entry
    /// (tag match) to prefetch what it points to.
    pub fn prefetch(&self, hashes: &[u64], mut entry: impl FnMut(&T)) {
        for &h in hashes {
            prefetch(Arc::as_ptr(&self.segs[self.seg_of(h)]));
        }
        for &h in hashes {
            let seg = &self.segs[self.seg_of(h)];
            if !seg.linear() {
                prefetch(&seg.index[home(h, seg.index.len())]);
            }
        }
        for &h in hashes {
            let seg = &self.segs[self.seg_of(h)];
            if let Some(pos) = seg.candidate(h) {
                prefetch(&seg.items[pos]);
            }
        }
        for &h in hashes {
            let seg = &self.segs[self.seg_of(h)];
            if let Some(pos) = seg.candidate(h) {
                entry(&seg.items[pos]);
            }
        }
    }

    pub fn contains_key(&self, key: &[u8]) -> bool {
        self.get(key).is_some()
    }

    /// Mutable access; copies the segment first if a snapshot shares it.
    pub fn get_mut(&mut self, key: &[u8]) -> Option<&mut T> {
        let h = hash_key(key);
        let s = self.seg_of(h);
        let pos = self.segs[s].find(key, h)?;
        Some(&mut seg_mut(&mut self.segs[s]).items[pos])
    }

    /// Inserts `item`, replacing and returning an entry with the same key.
    pub fn insert(&mut self, item: T) -> Option<T> {
        let h = hash_key(item.seg_key());
        let s = self.seg_of(h);
        if let Some(pos) = self.segs[s].find(item.seg_key(), h) {
            let seg = seg_mut(&mut self.segs[s]);
            return Some(std::mem::replace(&mut seg.items[pos], item));
        }
        self.insert_new_hashed(item, h);
        None
    }

    /// Inserts an entry whose key the caller knows is absent.
    pub fn insert_new(&mut self, item: T) {
        let h = hash_key(item.seg_key());
        self.insert_new_hashed(item, h);
    }

    fn insert_new_hashed(&mut self, item: T, h: u64) {
        let mut s = self.seg_of(h);
        // Split before inserting into a full segment, so indexed positions fit in 8 bits.
        while self.segs[s].items.len() >= MAX_SEG && self.segs[s].depth < MAX_DEPTH {
            self.split(s);
            s = self.seg_of(h);
        }
        seg_mut(&mut self.segs[s]).push(item, h);
        self.len += 1;
    }

    pub fn remove(&mut self, key: &[u8]) -> Option<T> {
        let h = hash_key(key);
        let s = self.seg_of(h);
        let pos = self.segs[s].find(key, h)?;
        let item = seg_mut(&mut self.segs[s]).remove_at(pos, h);
        self.len -= 1;
        Some(item)
    }

    /// Splits segment `s` on its next hash bit, doubling the directory if needed.
    fn split(&mut self, s: usize) {
        let depth = self.segs[s].depth;
        if depth as usize == self.dir.len().trailing_zeros() as usize {
            self.dir.extend_from_within(..);
        }
        let bit = 1u64 << depth;
        let new_id = self.segs.len() as u32;
        let pattern = self.segs[s].pattern;
        // The entries move out (copied if a snapshot still holds the segment, which keeps
        // the old segment whole); each key is hashed once.
        let items = match Arc::get_mut(&mut self.segs[s]) {
            Some(seg) => std::mem::take(&mut seg.items),
            None => self.segs[s].items.clone(),
        };
        let hashes = hash_all(&items);
        let size = std::mem::size_of::<T>();
        let gone = hashes.iter().filter(|&&h| h & bit != 0).count();
        let mut stay = (
            Vec::with_capacity(fitted_capacity(items.len() - gone, size)),
            Vec::with_capacity(items.len() - gone),
        );
        let mut go = (
            Vec::with_capacity(fitted_capacity(gone, size)),
            Vec::with_capacity(gone),
        );
        for (item, h) in items.into_iter().zip(hashes) {
            let half = if h & bit == 0 { &mut stay } else { &mut go };
            half.0.push(item);
            half.1.push(h);
        }
        self.segs[s] = Arc::new(Seg::with_items(depth + 1, pattern, stay.0, &stay.1));
        let fresh = Seg::with_items(depth + 1, pattern | bit, go.0, &go.1);
        self.segs.push(Arc::new(fresh));
        // The slots of `s` are `pattern + k * 2^depth`; those with `bit` set move to the new
        // segment: `pattern | bit | k << (depth + 1)`.
        let step = 1usize << (depth + 1);
        let mut slot = (pattern | bit) as usize;
        while slot < self.dir.len() {
            self.dir[slot] = new_id;
            slot += step;
        }
    }

    pub fn clear(&mut self) {
        *self = Self::new();
    }

    pub fn iter(&self) -> impl Iterator<Item = &T> + '_ {
        self.segs.iter().flat_map(|s| s.items.iter())
    }

    /// Keeps the entries for which `keep` returns true.
    pub fn retain(&mut self, mut keep: impl FnMut(&T) -> bool) {
        for seg in &mut self.segs {
            if seg.items.iter().all(&mut keep) {
                continue;
            }
            let seg = seg_mut(seg);
            let before = seg.items.len();
            seg.items.retain(&mut keep);
            self.len -= before - seg.items.len();
            seg.rebuild_index();
        }
    }

    /// One SCAN step from `cursor`: calls `emit` for entries until about `count` were emitted
    /// (or a bounded number of empty slots were visited) and returns the next cursor (0 = done).
    pub fn scan(&self, cursor: u64, count: usize, mut emit: impl FnMut(&T)) -> u64 {
        let mask = self.mask();
        let mut v = cursor;
        let mut emitted = 0;
        let mut visited = 0;
        let max_visits = count.max(1) * 10;
        loop {
            let slot = v & mask;
            let seg = &self.segs[self.dir[slot as usize] as usize];
            for item in &seg.items {
                if seg.depth as u64 >= mask.count_ones() as u64
                    || hash_key(item.seg_key()) & mask == slot
                {
                    emit(item);
                    emitted += 1;
                }
            }
            v = next_cursor(v, mask);
            visited += 1;
            if v == 0 || emitted >= count || visited >= max_visits {
                return v;
            }
        }
    }

    /// A uniformly-ish random entry, using `rng` for randomness.
    pub fn random(&self, rng: &mut crate::rand::Rng) -> Option<&T> {
        if self.len == 0 {
            return None;
        }
        for _ in 0..64 {
            let slot = rng.below(self.dir.len() as u64) as usize;
            let seg = &self.segs[self.dir[slot] as usize];
            if !seg.items.is_empty() {
                return Some(&seg.items[rng.below(seg.items.len() as u64) as usize]);
            }
        }
        // Mostly-empty map: pick by position among all entries.
        let nth = rng.below(self.len as u64) as usize;
        self.iter().nth(nth)
    }

    /// A point-in-time view for a background reader: O(segments), shares all entries.
    pub fn snapshot(&self) -> SegSnapshot<T> {
        SegSnapshot {
            segs: self.segs.clone(),
            len: self.len,
        }
    }

    /// Bytes used by the map's own structures (not by what entries point to).
    pub fn overhead_bytes(&self) -> usize {
        let per_seg: usize = self
            .segs
            .iter()
            .map(|s| {
                std::mem::size_of::<Seg<T>>()
                    + s.items.capacity() * std::mem::size_of::<T>()
                    + s.index.len() * 2
            })
            .sum();
        self.dir.capacity() * 4 + self.segs.capacity() * 8 + per_seg
    }
}

impl<T: SegItem + std::fmt::Debug> std::fmt::Debug for SegMap<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// Redis's reverse-binary cursor increment: counts up in the high bits of the mask first, so
/// slots visited before a directory doubling are not visited again after it, and none is missed.
pub fn next_cursor(v: u64, mask: u64) -> u64 {
    let mut v = v | !mask;
    v = v.reverse_bits();
    v = v.wrapping_add(1);
    v.reverse_bits()
}

/// Segments captured by [`SegMap::snapshot`]. Dropping a segment releases it, so a reader that
/// walks and releases as it goes lets the writer stop paying for copies of finished segments.
pub struct SegSnapshot<T> {
    segs: Vec<Arc<Seg<T>>>,
    len: usize,
}

impl<T: SegItem> SegSnapshot<T> {
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Takes the segments out one at a time (each yields its entries, then is released).
    pub fn drain_segments(self) -> impl Iterator<Item = SegGuard<T>> {
        self.segs.into_iter().map(SegGuard)
    }

    pub fn iter(&self) -> impl Iterator<Item = &T> + '_ {
        self.segs.iter().flat_map(|s| s.items.iter())
    }
}

/// One segment held by a snapshot reader.
pub struct SegGuard<T>(Arc<Seg<T>>);

impl<T> SegGuard<T> {
    pub fn items(&self) -> &[T] {
        &self.0.items
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{HashMap, HashSet};

    #[derive(Clone, Debug, PartialEq)]
    struct E(Vec<u8>, u32);
    impl SegItem for E {
        fn seg_key(&self) -> &[u8] {
            &self.0
        }
    }

    fn key(i: u32) -> Vec<u8> {
        format!("key:{i}").into_bytes()
    }

    #[test]
    fn matches_a_hashmap_model() {
        let mut m = SegMap::new();
        let mut model = HashMap::new();
        let mut rng = crate::rand::Rng::new(7);
        for step in 0..60_000u32 {
            let k = key(rng.below(5000) as u32);
            match rng.below(3) {
                0 | 1 => {
                    assert_eq!(
                        m.insert(E(k.clone(), step)).map(|e| e.1),
                        model.insert(k, step)
                    );
                }
                _ => assert_eq!(m.remove(&k).map(|e| e.1), model.remove(&k)),
            }
            assert_eq!(m.len(), model.len());
        }
        for (k, v) in &model {
            assert_eq!(m.get(k).map(|e| e.1), Some(*v));
        }
        assert_eq!(m.iter().count(), model.len());
        assert!(m.dir.len() > 1, "the map should have split");
    }

    #[test]
    fn snapshot_is_unaffected_by_later_writes() {
        let mut m = SegMap::new();
        for i in 0..10_000 {
            m.insert(E(key(i), i));
        }
        let snap = m.snapshot();
        for i in 0..10_000 {
            if i % 3 == 0 {
                m.remove(&key(i));
            } else if let Some(e) = m.get_mut(&key(i)) {
                e.1 += 1;
            }
        }
        for i in 10_000..20_000 {
            m.insert(E(key(i), i));
        }
        let seen: HashMap<Vec<u8>, u32> = snap.iter().map(|e| (e.0.clone(), e.1)).collect();
        assert_eq!(seen.len(), 10_000);
        for i in 0..10_000 {
            assert_eq!(seen.get(&key(i)), Some(&i));
        }
    }

    #[test]
    fn scan_returns_every_stable_element_across_growth() {
        let mut m = SegMap::new();
        for i in 0..1000 {
            m.insert(E(key(i), i));
        }
        let mut seen = HashSet::new();
        let mut cursor = 0;
        let mut next_new = 1000;
        let mut steps = 0;
        loop {
            cursor = m.scan(cursor, 10, |e| {
                seen.insert(e.0.clone());
            });
            // Grow the map while scanning: forces directory doublings and splits.
            for _ in 0..200 {
                m.insert(E(key(next_new), next_new));
                next_new += 1;
            }
            steps += 1;
            assert!(steps < 100_000, "scan did not terminate");
            if cursor == 0 {
                break;
            }
        }
        for i in 0..1000 {
            assert!(seen.contains(&key(i)), "missed key {i}");
        }
    }

    #[test]
    fn random_finds_entries() {
        let mut m = SegMap::new();
        let mut rng = crate::rand::Rng::new(1);
        assert!(m.random(&mut rng).is_none());
        for i in 0..2000 {
            m.insert(E(key(i), i));
        }
        let picks: HashSet<u32> = (0..4000)
            .filter_map(|_| m.random(&mut rng).map(|e| e.1))
            .collect();
        assert!(
            picks.len() > 1000,
            "random picks too concentrated: {}",
            picks.len()
        );
    }

    #[test]
    fn oversized_segment_falls_back_to_linear_search() {
        let mut seg = Seg::new(MAX_DEPTH, 0);
        let n = MAX_INDEXED as u32 + 100;
        for i in 0..n {
            let k = key(i);
            let h = hash_key(&k);
            seg.push(E(k, i), h);
        }
        assert!(
            seg.linear(),
            "a segment past MAX_INDEXED entries is searched linearly"
        );
        for i in (0..n).step_by(997) {
            let k = key(i);
            let pos = seg.find(&k, hash_key(&k)).expect("entry present");
            assert_eq!(seg.items[pos].1, i);
        }
        for i in 0..200 {
            let k = key(i);
            let h = hash_key(&k);
            let pos = seg.find(&k, h).expect("entry present");
            seg.remove_at(pos, h);
        }
        assert!(!seg.linear(), "back under the limit, the index is rebuilt");
        for i in 0..n {
            let k = key(i);
            assert_eq!(seg.find(&k, hash_key(&k)).is_some(), i >= 200, "key {i}");
        }
    }

    #[test]
    fn locate_and_prefetch_agree_with_get() {
        let mut m = SegMap::new();
        for i in 0..5000 {
            m.insert(E(key(i), i));
        }
        let hashes: Vec<u64> = (0..6000).map(|i| hash_key(&key(i))).collect();
        let mut seen = 0;
        m.prefetch(&hashes, |_| seen += 1);
        assert!((5000..=6000).contains(&seen), "tag candidates: {seen}");
        for i in 0..6000 {
            match m.locate(&key(i)) {
                Some(loc) => assert_eq!(m.at(loc).1, i),
                None => assert!(i >= 5000),
            }
        }
        let loc = m.locate(&key(7)).expect("present");
        m.at_mut(loc).1 = 70;
        assert_eq!(m.get(&key(7)).map(|e| e.1), Some(70));
    }

    #[test]
    fn retain_keeps_index_consistent() {
        let mut m = SegMap::new();
        for i in 0..3000 {
            m.insert(E(key(i), i));
        }
        m.retain(|e| e.1 % 2 == 0);
        assert_eq!(m.len(), 1500);
        for i in 0..3000 {
            assert_eq!(m.get(&key(i)).is_some(), i % 2 == 0);
        }
    }
}

#[cfg(test)]
mod memory {
    use super::*;

    /// A thin entry (one word), like the keyspace's `Obj` handles.
    #[derive(Clone)]
    struct K(Box<[u8; 16]>);
    impl SegItem for K {
        fn seg_key(&self) -> &[u8] {
            &self.0[..]
        }
    }

    fn overhead_per_entry(n: u32) -> f64 {
        let mut m = SegMap::new();
        for i in 0..n {
            let mut k = [0u8; 16];
            k.copy_from_slice(format!("key:{i:012}").as_bytes());
            m.insert(K(Box::new(k)));
        }
        m.overhead_bytes() as f64 / n as f64
    }

    #[test]
    fn about_twelve_bytes_per_entry() {
        // Between splits segments hold 128..256 entries: check both ends of the sawtooth.
        for n in [150_000, 250_000] {
            let per = overhead_per_entry(n);
            assert!(per < 13.5, "{n} entries: {per:.2} bytes each");
        }
    }

    #[test]
    fn size_classes_and_growth() {
        assert_eq!(size_class(1), 8);
        assert_eq!(size_class(17), 32);
        assert_eq!(size_class(129), 160);
        assert_eq!(size_class(2048), 2048);
        assert_eq!(size_class(2049), 2560);
        assert_eq!(grown_capacity(0, 8), 4);
        assert_eq!(grown_capacity(256, 8), 320);
        assert_eq!(fitted_capacity(130, 8), 160);
        assert!(index_slots(MAX_SEG) * 4 >= MAX_SEG * 5);
    }
}
