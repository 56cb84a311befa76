//! The entries of a stream: an ordered index of [`Node`]s (a copy-on-write B+tree of
//! `Arc`'d nodes keyed by their master ID) plus the stream's counters, with Valkey's
//! algorithms for appending (`streamAppendItem`), iterating (`streamIterator`), deleting
//! and trimming (`streamTrim`).
//!
//! Cloning is O(1): a snapshot shares every node, and a later write copies only the node it
//! touches (and the tree path to it).

use std::cmp::Ordering;
use std::sync::Arc;

use super::id::{self, StreamId};
use super::node::{Fields, Node, RawEntry};
use crate::btree::CountedBTree;

/// Listpacks never grow past this, whatever the configuration (`STREAM_LISTPACK_MAX_SIZE`).
pub const LISTPACK_MAX_SIZE: usize = 1 << 30;

/// `stream-node-max-bytes` / `stream-node-max-entries`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StreamLimits {
    pub node_max_bytes: u64,
    pub node_max_entries: u64,
}

impl Default for StreamLimits {
    fn default() -> Self {
        StreamLimits {
            node_max_bytes: 4096,
            node_max_entries: 100,
        }
    }
}

impl StreamLimits {
    fn max_bytes(&self) -> usize {
        match usize::try_from(self.node_max_bytes) {
            Ok(0) | Err(_) => LISTPACK_MAX_SIZE,
            Ok(b) => b.min(LISTPACK_MAX_SIZE),
        }
    }
}

/// The ID an XADD asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NewId {
    /// `*`: from the clock, or the last ID's successor.
    Auto,
    /// `<ms>-*`: this millisecond, with a generated sequence.
    AutoSeq(u64),
    /// An explicit ID.
    Exact(StreamId),
}

/// Why an append failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppendError {
    /// The ID is not above the stream's last ID (Valkey's EDOM).
    IdTooSmall,
    /// The fields and values add up to more than a listpack may hold (ERANGE).
    TooLarge,
}

/// How XADD/XTRIM trim.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trim {
    MaxLen(u64),
    MinId(StreamId),
}

/// An index slot: a node and its master ID (kept beside the pointer for searches).
#[derive(Clone, Debug)]
struct Slot {
    master: StreamId,
    node: Arc<Node>,
}

#[derive(Clone, Debug, Default)]
pub struct Entries {
    nodes: CountedBTree<Slot>,
    /// Live entries.
    pub length: u64,
    pub last_id: StreamId,
    /// First live entry; 0-0 when empty.
    pub first_id: StreamId,
    pub max_deleted_id: StreamId,
    /// All-time count of appended entries.
    pub entries_added: u64,
}

/// One live entry seen through an iterator.
#[derive(Clone, Copy)]
pub struct EntryRef<'a> {
    node: &'a Node,
    raw: RawEntry,
}

impl<'a> EntryRef<'a> {
    pub fn id(&self) -> StreamId {
        self.raw.id
    }

    pub fn num_fields(&self) -> u64 {
        self.raw.num_fields
    }

    pub fn is_deleted(&self) -> bool {
        self.raw.is_deleted()
    }

    /// (field, value) pairs in order.
    pub fn fields(&self) -> Fields<'a> {
        self.node.fields(&self.raw)
    }

    /// Owned copies of the fields and values.
    pub fn to_pairs(&self) -> Vec<(Vec<u8>, Vec<u8>)> {
        self.fields()
            .map(|(f, v)| (f.to_vec(), v.to_vec()))
            .collect()
    }
}

/// Orders slots relative to `id`: `Less` for nodes whose master is at most `id`.
fn at_or_before(id: StreamId) -> impl Fn(&Slot) -> Ordering {
    move |s| {
        if s.master <= id {
            Ordering::Less
        } else {
            Ordering::Greater
        }
    }
}

impl Entries {
    /// Number of nodes (XINFO's `radix-tree-keys`).
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// Master IDs of the nodes in order.
    pub fn node_keys(&self) -> impl Iterator<Item = StreamId> + '_ {
        self.nodes.iter().map(|s| s.master)
    }

    /// Each node's master ID and its live entries (RDB save, one node at a time).
    pub fn for_each_node(&self, mut f: impl FnMut(StreamId, Vec<EntryRef<'_>>)) {
        for s in self.nodes.iter() {
            let live = s
                .node
                .entries()
                .filter(|e| !e.is_deleted())
                .map(|raw| EntryRef { node: &s.node, raw })
                .collect();
            f(s.master, live);
        }
    }

    /// Appends an entry as `streamAppendItem`; returns its ID.
    pub fn append<F: AsRef<[u8]>>(
        &mut self,
        new_id: NewId,
        now_ms: u64,
        pairs: &[F],
        limits: &StreamLimits,
    ) -> Result<StreamId, AppendError> {
        let id = match new_id {
            NewId::Exact(id) => id,
            NewId::AutoSeq(ms) if ms == self.last_id.ms => {
                if self.last_id.seq == u64::MAX {
                    return Err(AppendError::IdTooSmall);
                }
                StreamId::new(ms, self.last_id.seq + 1)
            }
            NewId::AutoSeq(ms) => StreamId::new(ms, 0),
            NewId::Auto if now_ms > self.last_id.ms => StreamId::new(now_ms, 0),
            NewId::Auto => id::incr(self.last_id).unwrap_or(id::MIN),
        };
        if id <= self.last_id {
            return Err(AppendError::IdTooSmall);
        }
        let total: usize = pairs.iter().map(|p| p.as_ref().len()).sum();
        if total > LISTPACK_MAX_SIZE {
            return Err(AppendError::TooLarge);
        }
        self.push_entry(id, pairs, total, limits);
        self.length += 1;
        self.entries_added += 1;
        self.last_id = id;
        if self.length == 1 {
            self.first_id = id;
        }
        Ok(id)
    }

    /// Appends a loaded entry (IDs ascending, checked by the caller); counters are the
    /// caller's to set.
    pub(crate) fn push_loaded<F: AsRef<[u8]>>(
        &mut self,
        id: StreamId,
        pairs: &[F],
        limits: &StreamLimits,
    ) {
        let total = pairs.iter().map(|p| p.as_ref().len()).sum();
        self.push_entry(id, pairs, total, limits);
    }

    /// Adds the entry to the tail node, or to a new node when the tail is full.
    fn push_entry<F: AsRef<[u8]>>(
        &mut self,
        id: StreamId,
        pairs: &[F],
        total: usize,
        limits: &StreamLimits,
    ) {
        let tail = self.nodes.len().checked_sub(1);
        let fits = tail.and_then(|t| self.nodes.get(t)).is_some_and(|s| {
            let n = &s.node;
            let full_bytes = n.lp_bytes().saturating_add(total) >= limits.max_bytes();
            let full_count =
                limits.node_max_entries != 0 && n.live() + n.deleted() >= limits.node_max_entries;
            !full_bytes && !full_count
        });
        if let Some(t) = tail {
            if let Some(slot) = self.nodes.get_mut(t) {
                if fits {
                    Arc::make_mut(&mut slot.node).push(id, pairs);
                    return;
                }
                // A full node will not grow again: drop its spare capacity, unless a snapshot
                // shares it (copying it for that would cost more than the slack).
                if let Some(node) = Arc::get_mut(&mut slot.node) {
                    node.shrink();
                }
            }
        }
        // Room for a typical full node, but never more than the configured node size.
        let hint = limits.max_bytes().min(512).max(total + 16);
        let slot = Slot {
            master: id,
            node: Arc::new(Node::new(id, pairs, hint)),
        };
        self.nodes.insert_by(slot, |a, b| a.master.cmp(&b.master));
    }

    /// Live entries with IDs in `[start, end]`, forwards or backwards.
    pub fn range(&self, start: StreamId, end: StreamId, rev: bool) -> Range<'_> {
        self.range_with(start, end, rev, true)
    }

    /// [`Entries::range`] that can also yield deleted entries (`skip_tombstones = 0`).
    pub fn range_with(
        &self,
        start: StreamId,
        end: StreamId,
        rev: bool,
        skip_deleted: bool,
    ) -> Range<'_> {
        let mut r = Range {
            entries: self,
            start,
            end,
            rev,
            skip_deleted,
            next_rank: None,
            node: None,
            pos: 0,
            offsets: Vec::new(),
            done: start > end,
        };
        let before_or_at = |id| self.nodes.count_before(at_or_before(id));
        if !rev {
            r.next_rank = Some(before_or_at(start).saturating_sub(1));
        } else {
            r.next_rank = before_or_at(end).checked_sub(1);
        }
        r
    }

    /// The first or last entry (`streamGetEdgeID`), deleted ones included if asked; the
    /// maximum ID (first) or 0-0 (last) when there is none.
    pub fn edge_id(&self, first: bool, skip_deleted: bool) -> StreamId {
        let found = self
            .range_with(id::MIN, id::MAX, !first, skip_deleted)
            .next()
            .map(|e| e.id());
        found.unwrap_or(if first { id::MAX } else { id::MIN })
    }

    /// The last live entry's ID (`streamLastValidID`); 0-0 when empty.
    pub fn last_valid_id(&self) -> StreamId {
        self.edge_id(false, true)
    }

    /// True if a live entry has this ID.
    pub fn contains(&self, id: StreamId) -> bool {
        self.range(id, id, false).next().is_some()
    }

    /// The live entry with this ID.
    pub fn get(&self, id: StreamId) -> Option<EntryRef<'_>> {
        self.range(id, id, false).next()
    }

    /// Deletes a live entry (`streamDeleteItem`): it is marked deleted, and its node goes
    /// when it was the node's last live entry. Does not touch `first_id`/`max_deleted_id`.
    pub fn delete(&mut self, id: StreamId) -> bool {
        let Some(rank) = self.nodes.count_before(at_or_before(id)).checked_sub(1) else {
            return false;
        };
        let Some(slot) = self.nodes.get(rank) else {
            return false;
        };
        let found = slot
            .node
            .entries()
            .find(|e| e.id == id && !e.is_deleted())
            .map(|e| (e.at, slot.node.live()));
        let Some((at, live)) = found else {
            return false;
        };
        if live <= 1 {
            self.nodes.remove_range(rank, rank + 1);
        } else if let Some(slot) = self.nodes.get_mut(rank) {
            Arc::make_mut(&mut slot.node).mark_deleted(at);
        }
        self.length = self.length.saturating_sub(1);
        true
    }

    /// Trims from the head as `streamTrim`; `limit` 0 = unlimited. Returns the number of
    /// entries removed, and updates `first_id`.
    pub fn trim(&mut self, how: Trim, approx: bool, limit: u64) -> u64 {
        let mut deleted = 0u64;
        while let Some(first) = self.nodes.get(0) {
            if let Trim::MaxLen(max) = how {
                if self.length <= max {
                    break;
                }
            }
            let entries = first.node.live();
            if limit != 0 && deleted + entries > limit {
                break;
            }
            let remove_node = match how {
                Trim::MaxLen(max) => self.length.saturating_sub(entries) >= max,
                Trim::MinId(min) => first.node.last_entry().map_or(id::MIN, |e| e.id) < min,
            };
            if remove_node {
                self.nodes.remove_range(0, 1);
                self.length = self.length.saturating_sub(entries);
                deleted += entries;
                continue;
            }
            if approx {
                break;
            }
            deleted += self.trim_inside_first_node(how);
            break;
        }
        if self.length == 0 {
            self.first_id = id::MIN;
        } else if deleted > 0 {
            self.first_id = self.edge_id(true, true);
        }
        deleted
    }

    /// Marks entries of the first node deleted, from its start, until the trim condition
    /// holds.
    fn trim_inside_first_node(&mut self, how: Trim) -> u64 {
        let Some(slot) = self.nodes.get_mut(0) else {
            return 0;
        };
        let node = Arc::make_mut(&mut slot.node);
        let mut removed = 0;
        for at in node.offsets() {
            let e = node.at(at);
            let stop = match how {
                Trim::MaxLen(max) => self.length <= max,
                Trim::MinId(min) => e.id >= min,
            };
            if stop {
                break;
            }
            if node.mark_deleted(at) {
                removed += 1;
                self.length = self.length.saturating_sub(1);
            }
        }
        removed
    }

    /// True if `[start, end]` may contain a deleted entry (`streamRangeHasTombstones`).
    pub fn range_has_tombstones(&self, start: Option<StreamId>, end: Option<StreamId>) -> bool {
        if self.length == 0 || self.max_deleted_id.is_zero() {
            return false;
        }
        if self.first_id > self.max_deleted_id {
            return false;
        }
        let start = start.unwrap_or(id::MIN);
        let end = end.unwrap_or(id::MAX);
        start <= self.max_deleted_id && self.max_deleted_id <= end
    }

    /// An ID's logical read counter, or -1 if it cannot be known
    /// (`streamEstimateDistanceFromFirstEverEntry`).
    pub fn estimate_distance(&self, id: StreamId) -> i64 {
        if self.entries_added == 0 {
            return 0;
        }
        let added = self.entries_added as i64;
        if self.length == 0 && id <= self.last_id {
            return added;
        }
        match id.cmp(&self.last_id) {
            Ordering::Equal => return added,
            Ordering::Greater => return -1,
            Ordering::Less => {}
        }
        if self.max_deleted_id.is_zero() || self.max_deleted_id < self.first_id {
            match id.cmp(&self.first_id) {
                Ordering::Less => return added.wrapping_sub(self.length as i64),
                Ordering::Equal => return added.wrapping_sub(self.length as i64) + 1,
                Ordering::Greater => {}
            }
        }
        -1
    }

    /// Heap bytes (nodes, their buffers, the index).
    pub fn mem_usage(&self) -> usize {
        self.nodes.node_bytes() + self.nodes.iter().map(|s| s.node.mem_usage()).sum::<usize>()
    }

    /// Nodes this stream shares (same allocation) with `other` (tests of copy-on-write).
    #[cfg(test)]
    pub(crate) fn shared_nodes_with(&self, other: &Entries) -> usize {
        self.nodes
            .iter()
            .filter(|a| other.nodes.iter().any(|b| Arc::ptr_eq(&a.node, &b.node)))
            .count()
    }

    /// Number of nodes Valkey's radix tree would have for these node keys (`rax->numnodes`),
    /// counted on the maximally compressed tree of the 16-byte big-endian keys.
    pub fn radix_tree_nodes(&self) -> u64 {
        let keys: Vec<[u8; 16]> = self.nodes.iter().map(|s| s.master.to_be_bytes()).collect();
        if keys.is_empty() {
            return 1;
        }
        rax_nodes(&keys, 0)
    }
}

/// Nodes of the compressed trie below a node that represents the common `depth`-byte prefix
/// of `keys` (sorted, distinct, all 16 bytes long).
fn rax_nodes(keys: &[[u8; 16]], depth: usize) -> u64 {
    let (Some(first), Some(last)) = (keys.first(), keys.last()) else {
        return 0;
    };
    if depth >= 16 {
        return 1;
    }
    // Sorted keys: the common prefix of all is the one of the first and the last.
    let common = first[depth..]
        .iter()
        .zip(&last[depth..])
        .take_while(|(a, b)| a == b)
        .count();
    if common > 0 {
        // A compressed node for the shared bytes, then whatever follows them.
        return 1 + rax_nodes(keys, depth + common);
    }
    let mut total = 1;
    let mut rest = keys;
    while let Some(k) = rest.first() {
        let n = rest.iter().take_while(|x| x[depth] == k[depth]).count();
        total += rax_nodes(&rest[..n], depth + 1);
        rest = &rest[n..];
    }
    total
}

/// Iterator over the entries of a range (see [`Entries::range`]).
pub struct Range<'a> {
    entries: &'a Entries,
    start: StreamId,
    end: StreamId,
    rev: bool,
    skip_deleted: bool,
    /// Rank of the next node to open.
    next_rank: Option<usize>,
    node: Option<&'a Node>,
    /// Forward: offset of the next entry in `node`.
    pos: usize,
    /// Backward: offsets of the current node's entries not yet visited.
    offsets: Vec<usize>,
    done: bool,
}

impl<'a> Range<'a> {
    fn open_next_node(&mut self) -> bool {
        let Some(rank) = self.next_rank else {
            return false;
        };
        let Some(slot) = self.entries.nodes.get(rank) else {
            self.next_rank = None;
            return false;
        };
        self.next_rank = if self.rev {
            rank.checked_sub(1)
        } else {
            Some(rank + 1)
        };
        self.node = Some(&slot.node);
        if self.rev {
            self.offsets = slot.node.offsets();
        } else {
            self.pos = slot.node.entries_start();
        }
        true
    }

    fn next_raw(&mut self) -> Option<(&'a Node, RawEntry)> {
        loop {
            let node = match self.node {
                Some(n) => n,
                None => {
                    if !self.open_next_node() {
                        return None;
                    }
                    continue;
                }
            };
            let raw = if self.rev {
                self.offsets.pop().map(|at| node.at(at))
            } else {
                let mut it = node.entries_from(self.pos);
                let e = it.next();
                self.pos = it.position();
                e
            };
            match raw {
                Some(e) => return Some((node, e)),
                None => self.node = None,
            }
        }
    }
}

impl<'a> Iterator for Range<'a> {
    type Item = EntryRef<'a>;

    fn next(&mut self) -> Option<EntryRef<'a>> {
        if self.done {
            return None;
        }
        while let Some((node, raw)) = self.next_raw() {
            if self.skip_deleted && raw.is_deleted() {
                continue;
            }
            if !self.rev {
                if raw.id < self.start {
                    continue;
                }
                if raw.id > self.end {
                    break;
                }
            } else {
                if raw.id > self.end {
                    continue;
                }
                if raw.id < self.start {
                    break;
                }
            }
            return Some(EntryRef { node, raw });
        }
        self.done = true;
        None
    }
}
