//! Stream values (Valkey 8 semantics): entries in packed nodes, consumer groups, and the
//! conversions to and from the RDB codec's model.
//!
//! - [`id`]: stream IDs as clients write them (parsing, successor, text).
//! - [`node`]: one packed node of entries, with Valkey's listpack size accounting.
//! - [`entries`]: the ordered, copy-on-write index of nodes and the stream counters, with
//!   Valkey's append, iteration, deletion and trimming algorithms.
//! - [`group`]: consumer groups, their pending entries lists and consumers.
//! - `rdb_conv`: [`Stream::from_rdb`], [`Stream::to_rdb`], [`Stream::write_rdb`].
//!
//! Nothing here knows about commands, replies, propagation or the keyspace.

pub mod entries;
pub mod group;
pub mod id;
pub mod node;
mod rdb_conv;

pub use entries::{AppendError, Entries, EntryRef, NewId, StreamLimits, Trim};
pub use group::{Consumer, Group, Groups, Nack, INVALID_ENTRIES_READ};
pub use id::StreamId;
pub use node::Elem;

/// A stream: its entries and its consumer groups. Cloning shares the entry nodes and the
/// PELs (copy-on-write); only the group and consumer tables are copied.
#[derive(Clone, Debug, Default)]
pub struct Stream {
    pub entries: Entries,
    pub groups: Groups,
}

impl Stream {
    pub fn new() -> Stream {
        Stream::default()
    }

    /// Live entries (XLEN).
    pub fn len(&self) -> u64 {
        self.entries.length
    }

    pub fn is_empty(&self) -> bool {
        self.entries.length == 0
    }

    /// Heap bytes (MEMORY USAGE): nodes, index, groups.
    pub fn mem_usage(&self) -> usize {
        std::mem::size_of::<Stream>()
            + self.entries.mem_usage()
            + self
                .groups
                .iter()
                .map(|(n, g)| n.len() + g.mem_usage())
                .sum::<usize>()
    }

    /// The work of freeing this stream, as Valkey's `lazyfreeGetFreeEffort` estimates it:
    /// radix tree nodes, plus groups times the first group's PEL.
    pub fn free_effort(&self) -> usize {
        // Above 64 nodes the exact count does not matter (LAZYFREE_THRESHOLD is 64).
        let n = self.entries.node_count();
        let nodes = if n >= 64 {
            n + 1
        } else {
            self.entries.radix_tree_nodes() as usize
        };
        let groups = match self.groups.iter().next() {
            Some((_, g)) => self.groups.len() * (1 + g.pel_len()),
            None => 0,
        };
        nodes + groups
    }

    /// The consumer-group lag (`streamReplyWithCGLag`); `None` when it cannot be known.
    pub fn lag(&self, g: &Group) -> Option<i64> {
        let e = &self.entries;
        if e.entries_added == 0 {
            return Some(0);
        }
        let added = e.entries_added as i64;
        if g.entries_read != INVALID_ENTRIES_READ && !e.range_has_tombstones(Some(g.last_id), None)
        {
            return Some(added.wrapping_sub(g.entries_read));
        }
        match e.estimate_distance(g.last_id) {
            INVALID_ENTRIES_READ => None,
            read => Some(added.wrapping_sub(read)),
        }
    }
}

#[cfg(test)]
mod tests;
