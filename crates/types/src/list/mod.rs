//! List values: a deque of nodes in the shape of Valkey 8's quicklist, each node a packed
//! run of entries ([`pack`]) in one copy-on-write block (`node`), with its entry count and
//! Valkey size beside it (`slot`); `iter` walks them. This module holds the quicklist
//! rules and the list API the commands use.
//!
//! **Encodings.** A list is `listpack` (one node, Valkey's listpack encoding) or `quicklist`
//! (any number of nodes). The node boundaries follow Valkey's quicklist rules exactly —
//! which node a push, insert or replace lands in, when a node splits, which neighbours merge
//! — decided on the byte sizes Valkey's listpacks would have (tracked per node, `Slot::lp`),
//! not on our own smaller encoding. That is what makes the conversions exact: Valkey turns a
//! listpack into a quicklist when the listpack would outgrow `list-max-listpack-size`
//! (`listTypeTryConvertListpack`), and a quicklist back into a listpack only when it has a
//! single packed node under half the limits (`listTypeTryConvertQuicklist`), which depends on
//! where the node boundaries are. Elements larger than the node limit (or than the packed
//! threshold, when `DEBUG QUICKLIST-PACKED-THRESHOLD` set one) get a plain node of their own.
//!
//! **Compression.** Under `list-compress-depth` N (fixed per list when it becomes a quicklist,
//! as Valkey's), the nodes more than N from either end are kept LZF-compressed when that pays
//! (Valkey's thresholds: at least 48 bytes, more than 8 saved). Every change re-settles the
//! nodes whose distance to an end it can have changed (a few around each end's depth and
//! around the node it touched), so the ends stay raw and pushes and pops never decompress.
//! A compressed node is decompressed to be changed, and for reading through `&List` into a
//! cache of the list's (`cache`) that the next change, or [`List::release`], empties.
//!
//! **Copy-on-write.** Cloning a list (a snapshot of its key) clones node handles; the first
//! write to a node a snapshot shares copies that node only.
//!
//! **Cost.** Push and pop at both ends are O(1) (the end nodes keep free space on their outer
//! side); access by index walks node counts (kept beside the node handles, not in the nodes)
//! and then at most half a node. A 64-byte element costs 66 bytes in its node.

mod cache;
mod iter;
mod node;
pub mod pack;
mod slot;

use std::collections::VecDeque;

pub use cache::take_read_copies;
use cache::NodeCache;
use iter::Cursor;
pub use iter::Iter;
pub use pack::{lp_entry_size, Elem, Needle};
use slot::{Slot, View};

/// Header (6) + terminator (1) of a listpack.
const LP_OVERHEAD: usize = 7;
/// Largest multi-element node when the fill is a count (Valkey's `SIZE_SAFETY_LIMIT`).
const SIZE_SAFETY_LIMIT: usize = 8192;
/// Per-entry overhead Valkey assumes when deciding whether an element fits a node.
const SIZE_ESTIMATE_OVERHEAD: usize = 8;
/// Node byte limits for fill -1..-5.
const OPTIMIZATION_LEVEL: [usize; 5] = [4096, 8192, 16384, 32768, 65536];
/// A packed node (a listpack) cannot exceed 4 GiB.
const LP_MAX_BYTES: usize = u32::MAX as usize;

/// The list settings commands use.
#[derive(Clone, Copy, Debug)]
pub struct ListLimits {
    /// `list-max-listpack-size`: negative = byte limit class (-1 = 4 KiB .. -5 = 64 KiB),
    /// positive = entries per node.
    pub fill: i64,
    /// `DEBUG QUICKLIST-PACKED-THRESHOLD`: elements of at least this many bytes go in plain
    /// nodes; 0 (the default) = elements larger than the node limit do.
    pub packed_threshold: u64,
    /// `list-compress-depth`: how many nodes at each end of a quicklist stay uncompressed;
    /// 0 = none is compressed.
    pub compress: u32,
}

impl Default for ListLimits {
    fn default() -> Self {
        ListLimits {
            fill: -2,
            packed_threshold: 0,
            compress: 0,
        }
    }
}

/// A fill setting, and Valkey's node-limit rules on it (`quicklistNodeLimit` and friends).
#[derive(Clone, Copy, Debug)]
struct Fill(i64);

impl Fill {
    fn neg_limit(self) -> usize {
        let level = (self.0.unsigned_abs() as usize - 1).min(OPTIMIZATION_LEVEL.len() - 1);
        OPTIMIZATION_LEVEL[level]
    }

    /// (size limit, count limit); the unused one is `usize::MAX`.
    fn limits(self) -> (usize, usize) {
        if self.0 >= 0 {
            (usize::MAX, (self.0 as usize).max(1))
        } else {
            (self.neg_limit(), usize::MAX)
        }
    }

    fn exceeds(self, new_sz: usize, new_count: usize) -> bool {
        match self.limits() {
            (sz, _) if sz != usize::MAX => new_sz > sz,
            (_, count) => new_sz > SIZE_SAFETY_LIMIT || new_count > count,
        }
    }

    /// Whether an element of `sz` bytes gets a plain node of its own. (Whatever the
    /// threshold, an element a packed entry's 4-byte length cannot describe does.)
    fn is_large(self, sz: usize, threshold: u64) -> bool {
        if sz as u64 >= u32::MAX as u64 {
            true
        } else if threshold != 0 {
            sz as u64 >= threshold
        } else if self.0 >= 0 {
            sz > SIZE_SAFETY_LIMIT
        } else {
            sz > self.neg_limit()
        }
    }

    fn allow_insert(self, node: Option<&Slot>, sz: usize, threshold: u64) -> bool {
        match node {
            Some(n) if !n.is_plain() && !self.is_large(sz, threshold) => {
                !self.exceeds(n.lp + sz + SIZE_ESTIMATE_OVERHEAD, n.count + 1)
            }
            _ => false,
        }
    }

    fn allow_merge(self, a: Option<&Slot>, b: Option<&Slot>) -> bool {
        match (a, b) {
            (Some(a), Some(b)) if !a.is_plain() && !b.is_plain() => {
                !self.exceeds(a.lp + b.lp - LP_OVERHEAD, a.count + b.count)
            }
            _ => false,
        }
    }
}

/// Which end of a list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    Left,
    Right,
}

#[derive(Clone, Debug)]
pub struct List {
    slots: VecDeque<Slot>,
    len: usize,
    quicklist: bool,
    /// The fill the quicklist was created with (Valkey keeps it per quicklist; later
    /// `list-max-listpack-size` changes apply to conversions only).
    fill: i64,
    /// The compress depth the quicklist was created with (as `fill`).
    depth: u32,
    /// Decompressed copies of compressed nodes read through `&self`.
    cache: NodeCache,
}

impl Default for List {
    fn default() -> Self {
        List::new()
    }
}

impl List {
    pub fn new() -> List {
        List {
            slots: VecDeque::new(),
            len: 0,
            quicklist: false,
            fill: ListLimits::default().fill,
            depth: 0,
            cache: NodeCache::default(),
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn encoding(&self) -> &'static str {
        if self.quicklist {
            "quicklist"
        } else {
            "listpack"
        }
    }

    /// Bytes of the listpack (listpack encoding) as Valkey would have it.
    fn lp_bytes(&self) -> usize {
        self.slots.front().map_or(LP_OVERHEAD, |s| s.lp)
    }

    /// Call before adding `elems`: converts to quicklist if the listpack would exceed limits.
    pub fn prepare_growth<'a>(
        &mut self,
        elems: impl IntoIterator<Item = &'a [u8]>,
        limits: ListLimits,
    ) {
        if self.quicklist {
            return;
        }
        let (mut bytes, mut count) = (0, 0);
        for e in elems {
            bytes += e.len();
            count += 1;
        }
        self.prepare_growth_by(bytes, count, limits);
    }

    /// [`List::prepare_growth`] from totals: `count` elements whose string lengths add up to
    /// `bytes`. Valkey counts integer-encoded values as 0 bytes (an element popped from a
    /// quicklist and pushed by LMOVE, see [`List::moved_bytes`]), which callers express
    /// through this form.
    pub fn prepare_growth_by(&mut self, bytes: usize, count: usize, limits: ListLimits) {
        if !self.quicklist && Fill(limits.fill).exceeds(self.lp_bytes() + bytes, self.len + count) {
            self.quicklist = true;
            self.fill = limits.fill;
            self.depth = limits.compress;
        }
    }

    /// Call after removing elements: a quicklist of a single packed node under half the
    /// limits becomes a listpack again.
    pub fn after_shrink(&mut self, limits: ListLimits) {
        self.try_listpack(limits, true);
    }

    fn try_listpack(&mut self, limits: ListLimits, shrinking: bool) {
        if !self.quicklist || self.slots.len() != 1 || self.slots[0].is_plain() {
            return;
        }
        let (mut sz, mut count) = Fill(limits.fill).limits();
        if shrinking {
            sz /= 2;
            count /= 2;
        }
        if self.slots[0].lp <= sz && self.len <= count {
            self.quicklist = false;
        }
    }

    /// The length LMOVE sizes a value popped from `end` as: Valkey hands a quicklist's
    /// integer entries over as integers, which count as 0 bytes (plain nodes hold strings).
    pub fn moved_bytes(&self, end: End) -> usize {
        let Some(last) = self.slots.len().checked_sub(1) else {
            return 0;
        };
        let v = self.view(if end == End::Left { 0 } else { last });
        let e = match end {
            End::Left => v.get(0),
            End::Right => v.get(v.count - 1),
        };
        match e {
            Elem::Int(_) if self.quicklist && !v.plain => 0,
            e => e.len(),
        }
    }

    fn fill(&self) -> Fill {
        Fill(self.fill)
    }

    pub fn push(&mut self, end: End, elem: &[u8], limits: ListLimits) {
        self.release();
        self.push_one(end, elem, limits);
        self.settle_ends();
    }

    fn push_one(&mut self, end: End, elem: &[u8], limits: ListLimits) {
        let e = Elem::of(elem);
        self.len += 1;
        if !self.quicklist {
            match self.slots.front_mut() {
                None => self.slots.push_back(Slot::packed_one(e)),
                Some(s) => {
                    let o = if end == End::Left { 0 } else { s.count };
                    s.insert_entry(o, e);
                }
            }
            return;
        }
        let (fill, thr, sz) = (self.fill(), limits.packed_threshold, elem.len());
        let edge = match end {
            End::Left => self.slots.front(),
            End::Right => self.slots.back(),
        };
        let slot = if fill.is_large(sz, thr) {
            Slot::plain(elem)
        } else if fill.allow_insert(edge, sz, thr) {
            let (s, o) = match end {
                End::Left => (self.slots.front_mut(), 0),
                End::Right => (self.slots.back_mut(), usize::MAX),
            };
            if let Some(s) = s {
                let o = o.min(s.count);
                s.insert_entry(o, e);
            }
            return;
        } else {
            Slot::packed_one(e)
        };
        match end {
            End::Left => self.slots.push_front(slot),
            End::Right => self.slots.push_back(slot),
        }
    }

    pub fn pop(&mut self, end: End) -> Option<Vec<u8>> {
        self.release();
        let i = match end {
            End::Left => 0,
            End::Right => self.slots.len().checked_sub(1)?,
        };
        let s = self.slots.get_mut(i)?;
        self.len -= 1;
        if s.is_plain() || s.count == 1 {
            s.inflate();
            let v = s.get(0).to_vec();
            self.slots.remove(i);
            self.settle_ends();
            return Some(v);
        }
        Some(s.pop_entry(end == End::Right))
    }

    /// Locates element `idx` (0-based from the left): (node, entry within it).
    fn locate(&self, idx: usize) -> Option<(usize, usize)> {
        if idx >= self.len {
            return None;
        }
        if idx >= self.len / 2 {
            let mut remaining = self.len - idx;
            for (i, s) in self.slots.iter().enumerate().rev() {
                if remaining <= s.count {
                    return Some((i, s.count - remaining));
                }
                remaining -= s.count;
            }
            return None;
        }
        let mut rest = idx;
        for (i, s) in self.slots.iter().enumerate() {
            if rest < s.count {
                return Some((i, rest));
            }
            rest -= s.count;
        }
        None
    }

    /// Converts a Redis index (negative counts from the right) to a position.
    pub fn resolve(&self, index: i64) -> Option<usize> {
        let i = if index < 0 {
            self.len as i64 + index
        } else {
            index
        };
        (i >= 0 && (i as usize) < self.len).then_some(i as usize)
    }

    pub fn get(&self, idx: usize) -> Option<Elem<'_>> {
        let (i, o) = self.locate(idx)?;
        Some(self.view(i).get(o))
    }

    /// The entries of node `i` for reading; a compressed node's come from the cache.
    fn view(&self, i: usize) -> View<'_> {
        let s = &self.slots[i];
        if !s.block.is_lzf() {
            return s.view();
        }
        View {
            data: self.cache.get(s.block.addr(), || s.block.inflate()),
            count: s.count,
            plain: s.is_plain(),
        }
    }

    /// Drops the decompressed copies that reads of compressed nodes made (a no-op unless the
    /// list has compressed nodes and was read). The list commands call it after a read.
    pub fn release(&mut self) {
        self.cache.clear();
    }

    /// True if reads left decompressed copies that [`List::release`] would drop.
    pub fn holds_copies(&self) -> bool {
        self.cache.is_set()
    }

    /// Whether node `i` lies deeper than the compress depth from both ends.
    fn wants_lzf(&self, i: usize) -> bool {
        let d = self.depth as usize;
        d > 0 && i >= d && i.saturating_add(d) < self.slots.len()
    }

    /// Compresses or decompresses the nodes in `lo..hi` (clamped to the list) as their
    /// distance from the ends asks.
    fn settle_span(&mut self, lo: isize, hi: isize) {
        let n = self.slots.len() as isize;
        for i in lo.max(0)..hi.min(n) {
            let i = i as usize;
            let lzf = self.wants_lzf(i);
            let s = &mut self.slots[i];
            if lzf {
                s.deflate();
            } else {
                s.inflate();
            }
        }
    }

    /// Settles the nodes around each end's depth: after a push or pop, the only ones whose
    /// side of the depth can have changed.
    fn settle_ends(&mut self) {
        if self.depth == 0 {
            return;
        }
        let (d, n) = (self.depth as isize, self.slots.len() as isize);
        self.settle_span(d - 2, d + 2);
        self.settle_span(n - d - 2, n - d + 2);
    }

    /// Settles the nodes around node `t` (which a change inside the list touched, splitting or
    /// merging its neighbours) and around the ends.
    fn settle_around(&mut self, t: usize) {
        if self.depth == 0 {
            return;
        }
        let t = t as isize;
        self.settle_span(t - 3, t + 4);
        self.settle_ends();
    }

    /// Settles every node (after a change anywhere in the list).
    fn settle_all(&mut self) {
        if self.depth > 0 {
            self.settle_span(0, self.slots.len() as isize);
        }
    }

    /// Replaces element `idx` (LSET); returns false if out of range. Call
    /// [`List::prepare_growth`] first and [`List::after_shrink`] after, as Valkey does.
    pub fn set(&mut self, idx: usize, elem: &[u8], limits: ListLimits) -> bool {
        self.release();
        let Some((i, o)) = self.locate(idx) else {
            return false;
        };
        self.slots[i].inflate();
        self.set_at(i, o, elem, limits);
        self.settle_around(i);
        true
    }

    fn set_at(&mut self, i: usize, o: usize, elem: &[u8], limits: ListLimits) {
        let e = Elem::of(elem);
        if !self.quicklist {
            self.slots[i].replace_entry(o, e);
            return;
        }
        let (fill, thr, sz) = (self.fill(), limits.packed_threshold, elem.len());
        let large = fill.is_large(sz, thr);
        let s = &self.slots[i];
        if !s.is_plain() && !large && s.lp - s.get(o).lp_size() + e.lp_size() <= LP_MAX_BYTES {
            self.slots[i].replace_entry(o, e);
        } else if s.is_plain() && large {
            self.slots[i] = Slot::plain(elem);
        } else if s.is_plain() {
            // A small value replacing a plain node: inserted after it, then the node goes.
            self.insert_at(i, 0, true, elem, limits);
            self.slots.remove(i);
            self.len -= 1;
        } else {
            // A packed node and a large value: the value gets a node of its own right after
            // the replaced entry, which is then deleted.
            let tail = (o + 1 != s.count).then(|| self.slots[i].split_off(o + 1));
            let fresh = if large {
                Slot::plain(elem)
            } else {
                Slot::packed_one(e)
            };
            self.slots.insert(i + 1, fresh);
            if let Some(t) = tail {
                self.slots.insert(i + 2, t);
            }
            if self.slots[i].count == 1 {
                self.slots.remove(i);
            } else {
                let last = self.slots[i].count - 1;
                self.slots[i].remove_entries(last, last + 1);
                self.merge_around(i + 1);
            }
        }
    }

    /// Inserts `elem` before or `after` the element at position `pivot` (LINSERT). Call
    /// [`List::prepare_growth`] first.
    pub fn insert(&mut self, pivot: usize, after: bool, elem: &[u8], limits: ListLimits) {
        self.release();
        let Some((i, o)) = self.locate(pivot) else {
            return;
        };
        if !self.quicklist {
            self.slots[i].insert_entry(o + usize::from(after), Elem::of(elem));
            self.len += 1;
            return;
        }
        self.insert_at(i, o, after, elem, limits);
        self.settle_around(i);
    }

    /// Valkey's `_quicklistInsert`: `elem` goes before or after entry `o` of node `i`.
    fn insert_at(&mut self, i: usize, o: usize, after: bool, elem: &[u8], limits: ListLimits) {
        let (fill, thr, sz) = (self.fill(), limits.packed_threshold, elem.len());
        let e = Elem::of(elem);
        self.len += 1;
        let node = &self.slots[i];
        let full = !fill.allow_insert(Some(node), sz, thr);
        let at_tail = after && o + 1 == node.count;
        let at_head = !after && o == 0;
        let avail_next = at_tail && fill.allow_insert(self.slots.get(i + 1), sz, thr);
        let avail_prev =
            at_head && i > 0 && fill.allow_insert(self.slots.get(i.wrapping_sub(1)), sz, thr);
        // Where a new node goes: right after node `i`, or right before it.
        let beside = if after { i + 1 } else { i };
        if fill.is_large(sz, thr) {
            if node.is_plain() || at_tail || at_head {
                self.slots.insert(beside, Slot::plain(elem));
            } else {
                let part = self.split(i, o, after);
                self.slots.insert(beside, Slot::plain(elem));
                // After: node, plain, part. Before: part, plain, node.
                let at = if after { i + 2 } else { i };
                self.slots.insert(at, part);
            }
            return;
        }
        if !full {
            self.slots[i].insert_entry(o + usize::from(after), e);
        } else if at_tail && avail_next {
            self.slots[i + 1].insert_entry(0, e);
        } else if at_head && avail_prev {
            let prev = &mut self.slots[i - 1];
            let n = prev.count;
            prev.insert_entry(n, e);
        } else if at_tail || at_head {
            self.slots.insert(beside, Slot::packed_one(e));
        } else {
            let mut part = self.split(i, o, after);
            let n = if after { 0 } else { part.count };
            part.insert_entry(n, e);
            self.slots.insert(beside, part);
            let node_at = if after { i } else { i + 1 };
            self.merge_around(node_at);
        }
    }

    /// Valkey's `_quicklistSplitNode`: with `after`, node `i` keeps entries `..=o` and the
    /// returned node has the rest; without, the returned node has `..o` and node `i` the rest.
    fn split(&mut self, i: usize, o: usize, after: bool) -> Slot {
        let node = &mut self.slots[i];
        if after {
            node.split_off(o + 1)
        } else {
            let mut tail = node.split_off(o);
            std::mem::swap(node, &mut tail);
            tail
        }
    }

    /// Merges nodes `k` and `k + 1` into one at `k`.
    fn merge(&mut self, k: usize) {
        let Some(b) = self.slots.remove(k + 1) else {
            return;
        };
        let mut b = b;
        b.inflate();
        let a = &mut self.slots[k];
        a.inflate();
        if a.block.len() >= b.block.len() {
            let end = a.block.len();
            a.block.splice(end, end, b.block.data());
        } else {
            b.block.splice(0, 0, a.block.data());
            std::mem::swap(&mut a.block, &mut b.block);
            a.lp += b.lp - LP_OVERHEAD;
            a.count += b.count;
            return;
        }
        a.lp += b.lp - LP_OVERHEAD;
        a.count += b.count;
    }

    /// Valkey's `_quicklistMergeNodes` around node `center`: (prev-prev, prev), (next,
    /// next-next), (prev, center), then (center, next). Returns where `center` ended up.
    fn merge_around(&mut self, center: usize) -> usize {
        let fill = self.fill();
        let mut c = center;
        if c >= 2 && fill.allow_merge(self.slots.get(c - 1), self.slots.get(c - 2)) {
            self.merge(c - 2);
            c -= 1;
        }
        if fill.allow_merge(self.slots.get(c + 1), self.slots.get(c + 2)) {
            self.merge(c + 1);
        }
        let mut target = c;
        if c >= 1 && fill.allow_merge(self.slots.get(c), self.slots.get(c - 1)) {
            self.merge(c - 1);
            target = c - 1;
        }
        if fill.allow_merge(self.slots.get(target), self.slots.get(target + 1)) {
            self.merge(target);
        }
        target
    }

    /// Iterates from the left.
    pub fn iter(&self) -> Iter<'_> {
        self.iter_from(0)
    }

    /// Iterates from position `idx` to the right end (and backwards from the right end).
    pub fn iter_from(&self, idx: usize) -> Iter<'_> {
        let (front, left) = match self.locate(idx) {
            Some((i, o)) => (
                Cursor::at(self, i, self.view(i).offset_of(o)),
                self.len - idx,
            ),
            None => (Cursor::default(), 0),
        };
        let back = match self.slots.len().checked_sub(1) {
            Some(last) if left > 0 => Cursor::at_end(self, last),
            _ => Cursor::default(),
        };
        Iter {
            list: self,
            front,
            back,
            left,
        }
    }

    /// Elements in positions `start..=end` (already clamped by the caller).
    pub fn range(&self, start: usize, end: usize) -> impl Iterator<Item = Elem<'_>> + '_ {
        let n = if start > end || start >= self.len {
            0
        } else {
            end.min(self.len - 1) - start + 1
        };
        self.iter_from(start).take(n)
    }

    /// Calls `f` on every element from the left, stopping at its first error. Unlike
    /// [`List::iter`], a compressed node is read through a temporary copy, not the list's
    /// cache: for bulk readers of values a snapshot may share (the RDB and AOF writers, DUMP,
    /// DEBUG DIGEST), so that a save leaves no copies behind.
    pub fn try_for_each<E>(&self, mut f: impl FnMut(Elem<'_>) -> Result<(), E>) -> Result<(), E> {
        for s in &self.slots {
            s.scan(|v| {
                let mut off = 0;
                for _ in 0..v.count {
                    let (e, next) = v.read(off);
                    f(e)?;
                    off = next;
                }
                Ok(())
            })?;
        }
        Ok(())
    }

    /// [`List::try_for_each`] with an infallible `f`.
    pub fn for_each(&self, mut f: impl FnMut(Elem<'_>)) {
        let done: Result<(), std::convert::Infallible> = self.try_for_each(|e| {
            f(e);
            Ok(())
        });
        let Ok(()) = done;
    }

    /// The position of the first element equal to `elem`.
    pub fn position(&self, elem: &[u8]) -> Option<usize> {
        let needle = Needle::new(elem);
        self.iter().position(|e| needle.matches(e))
    }

    /// Keeps only positions `start..=end`; everything else is removed. Costs O(removed):
    /// whole nodes are dropped without being copied, even if a snapshot shares them.
    pub fn trim(&mut self, start: usize, end: usize) {
        self.release();
        if start > end || start >= self.len {
            self.drop_front(self.len);
            return;
        }
        let end = end.min(self.len - 1);
        self.drop_back(self.len - 1 - end);
        self.drop_front(start);
    }

    /// Removes the first `n` elements (all of them if `n >= len`).
    pub fn drop_front(&mut self, n: usize) {
        self.release();
        let mut left = n.min(self.len);
        self.len -= left;
        let mut gone = 0;
        while left > 0 {
            let Some(front) = self.slots.front_mut() else {
                break;
            };
            if left >= front.count {
                left -= front.count;
                self.slots.pop_front();
                gone += 1;
            } else {
                front.remove_entries(0, left);
                left = 0;
            }
        }
        if self.depth > 0 {
            // The nodes that were within `gone` of the front zone are in it now.
            let d = self.depth as isize;
            self.settle_span(d - gone - 2, d + 2);
            self.settle_ends();
        }
    }

    /// Removes the last `n` elements (all of them if `n >= len`).
    pub fn drop_back(&mut self, n: usize) {
        self.release();
        let mut left = n.min(self.len);
        self.len -= left;
        let mut gone = 0;
        while left > 0 {
            let Some(back) = self.slots.back_mut() else {
                break;
            };
            if left >= back.count {
                left -= back.count;
                self.slots.pop_back();
                gone += 1;
            } else {
                let c = back.count;
                back.remove_entries(c - left, c);
                left = 0;
            }
        }
        if self.depth > 0 {
            // The `gone` nodes before the back zone are in it now.
            let (d, n) = (self.depth as isize, self.slots.len() as isize);
            self.settle_span(n - d - 2, n - d + gone + 2);
            self.settle_ends();
        }
    }

    /// Removes elements equal to `elem` (LREM): `count > 0` from the left, `< 0` from the
    /// right, `0` all. Returns how many were removed. Only nodes holding a match are copied;
    /// emptied nodes go, the others are not merged (as Valkey).
    pub fn remove(&mut self, elem: &[u8], count: i64) -> usize {
        self.release();
        let needle = Needle::new(elem);
        let mut left = if count == 0 {
            usize::MAX
        } else {
            count.unsigned_abs().min(usize::MAX as u64) as usize
        };
        let from_right = count < 0;
        let mut removed = 0;
        let mut i = if from_right { self.slots.len() } else { 0 };
        loop {
            if left == 0 {
                break;
            }
            // The next node to look at (from the right: `i` is one past it).
            let at = if from_right {
                match i.checked_sub(1) {
                    Some(p) => p,
                    None => break,
                }
            } else if i < self.slots.len() {
                i
            } else {
                break;
            };
            let matches = self.slots[at].scan(|v| {
                if v.plain {
                    usize::from(needle.matches(v.get(0)))
                } else {
                    let mut n = 0;
                    let mut off = 0;
                    while off < v.data.len() {
                        let (e, next) = pack::read(v.data, off);
                        n += usize::from(needle.matches(e));
                        off = next;
                    }
                    n
                }
            });
            let take = matches.min(left);
            let mut node_gone = false;
            if take > 0 {
                let s = &mut self.slots[at];
                if s.is_plain() || take == s.count {
                    self.slots.remove(at);
                    node_gone = true;
                } else {
                    // From the left the first `take` matches go, from the right the last.
                    let skip = if from_right { matches - take } else { 0 };
                    let mut seen = 0;
                    s.retain(|e| {
                        if !needle.matches(e) {
                            return true;
                        }
                        seen += 1;
                        seen <= skip || seen > skip + take
                    });
                }
                left -= take;
                removed += take;
            }
            // From the left, a removed node's successor now sits at its index.
            i = if from_right || node_gone { at } else { at + 1 };
        }
        self.len -= removed;
        if removed > 0 {
            self.settle_all();
        }
        removed
    }

    /// Builds a list from elements (RDB loading, SORT STORE) as Valkey does: pushed to the
    /// tail of a quicklist, which becomes a listpack if it ends up a single node within the
    /// limits.
    pub fn from_elems<'a>(elems: impl IntoIterator<Item = &'a [u8]>, limits: ListLimits) -> List {
        let mut l = List {
            quicklist: true,
            fill: limits.fill,
            depth: limits.compress,
            ..List::new()
        };
        for e in elems {
            l.push(End::Right, e, limits);
        }
        l.try_listpack(limits, false);
        l
    }

    /// The node layout, as Valkey's DEBUG QUICKLIST reports it: for each node, its entry
    /// count, its size as a Valkey listpack (for a plain node, the element's length) and
    /// whether it is plain. A listpack-encoded list is its one node.
    pub fn nodes(&self) -> impl Iterator<Item = (usize, usize, bool)> + '_ {
        self.slots.iter().map(|s| (s.count, s.lp, s.is_plain()))
    }

    /// Builds a list read from an RDB file or a RESTORE payload. Valkey keeps the nodes the
    /// file holds, which the codec does not pass on; the layouts are rebuilt so that a list
    /// saved as a listpack comes back as one (all its elements fit a listpack within the
    /// limits), and any other as [`List::from_elems`] builds it — exactly what Valkey does
    /// with a file of the plain list type, which is the one we write.
    pub fn load<'a>(elems: impl IntoIterator<Item = &'a [u8]> + Clone, limits: ListLimits) -> List {
        let (mut lp, mut n) = (LP_OVERHEAD, 0);
        for e in elems.clone() {
            lp += lp_entry_size(e);
            n += 1;
        }
        if n == 0 || Fill(limits.fill).exceeds(lp, n) {
            return List::from_elems(elems, limits);
        }
        let mut l = List::new();
        for e in elems {
            l.push(End::Right, e, limits);
        }
        l
    }

    /// The quicklist settings the list was created with: (fill, compress depth).
    pub fn quicklist_options(&self) -> (i64, u32) {
        (self.fill, self.depth)
    }

    /// Heap bytes of the list (MEMORY USAGE), decompressed copies held by a read included.
    pub fn mem_usage(&self) -> usize {
        std::mem::size_of::<List>()
            + self.cache.bytes()
            + self.slots.capacity() * std::mem::size_of::<Slot>()
            + self
                .slots
                .iter()
                .map(|s| s.block.allocated())
                .sum::<usize>()
    }
}

#[cfg(test)]
mod tests;
