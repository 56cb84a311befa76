//! Conversions between [`Stream`] and the RDB codec's model (`rdb::Stream`): loading, DUMP,
//! RESTORE and tests. Saving large streams goes node by node instead
//! ([`Stream::write_rdb`]), so a snapshot never materialises a whole stream.

use std::collections::HashMap;
use std::io::{self, Write};
use std::sync::Arc;

use super::entries::{Entries, StreamLimits};
use super::group::{Group, Groups, Nack};
use super::id::StreamId;
use super::Stream;

impl Stream {
    /// Builds a stream from a loaded value. Nodes are rebuilt with `limits` (the file's node
    /// boundaries and deleted entries are not kept); counters come from the file. A PEL entry
    /// no consumer owns is dropped.
    pub fn from_rdb(s: rdb::Stream, limits: &StreamLimits) -> Stream {
        let mut entries = Entries::default();
        let mut prev: Option<StreamId> = None;
        let mut loaded = 0u64;
        for e in &s.entries {
            // IDs in a loaded stream ascend (the reader checks); anything else is skipped.
            if prev.is_some_and(|p| e.id <= p) {
                continue;
            }
            prev = Some(e.id);
            let flat: Vec<&[u8]> = e
                .fields
                .iter()
                .flat_map(|(f, v)| [f.as_slice(), v.as_slice()])
                .collect();
            entries.push_loaded(e.id, &flat, limits);
            loaded += 1;
        }
        entries.length = loaded;
        entries.last_id = s.last_id;
        entries.first_id = s.first_id;
        entries.max_deleted_id = s.max_deleted_id;
        entries.entries_added = s.entries_added;
        let mut groups = Groups::default();
        for g in s.groups {
            let name = g.name.clone();
            groups.insert_loaded(name, group_from_rdb(g));
        }
        Stream { entries, groups }
    }

    /// The stream in the codec's model (live entries only).
    pub fn to_rdb(&self) -> rdb::Stream {
        let mut out = self.rdb_meta();
        out.entries = self
            .entries
            .range(super::id::MIN, super::id::MAX, false)
            .map(|e| rdb::StreamEntry {
                id: e.id(),
                fields: e.to_pairs(),
            })
            .collect();
        out.groups = self.rdb_groups();
        out
    }

    /// Writes the STREAM_LISTPACKS_2 body one node at a time (each node becomes one
    /// listpack of its live entries).
    pub fn write_rdb<W: Write>(&self, w: &mut rdb::Writer<W>) -> io::Result<()> {
        let live_nodes = {
            let mut n = 0u64;
            self.entries
                .for_each_node(|_, live| n += u64::from(!live.is_empty()));
            n
        };
        w.stream_begin(live_nodes)?;
        let mut res = Ok(());
        self.entries.for_each_node(|_, live| {
            if res.is_err() || live.is_empty() {
                return;
            }
            let node: Vec<rdb::StreamEntry> = live
                .iter()
                .map(|e| rdb::StreamEntry {
                    id: e.id(),
                    fields: e.to_pairs(),
                })
                .collect();
            res = w.stream_node(&node);
        });
        res?;
        w.stream_tail(&self.rdb_meta(), &self.rdb_groups())
    }

    fn rdb_meta(&self) -> rdb::Stream {
        let e = &self.entries;
        rdb::Stream {
            entries: Vec::new(),
            length: e.length,
            last_id: e.last_id,
            first_id: e.first_id,
            max_deleted_id: e.max_deleted_id,
            entries_added: e.entries_added,
            groups: Vec::new(),
        }
    }

    fn rdb_groups(&self) -> Vec<rdb::ConsumerGroup> {
        self.groups
            .iter()
            .map(|(name, g)| rdb::ConsumerGroup {
                name: name.to_vec(),
                last_id: g.last_id,
                entries_read: g.entries_read,
                pel: g
                    .pel_from(super::id::MIN)
                    .map(|n| rdb::PendingEntry {
                        id: n.id,
                        delivery_time_ms: n.delivery_time_ms,
                        delivery_count: n.delivery_count,
                    })
                    .collect(),
                consumers: g
                    .consumers()
                    .map(|(cname, c)| rdb::Consumer {
                        name: cname.to_vec(),
                        seen_time_ms: c.seen_time_ms,
                        active_time_ms: c.active_time_ms,
                        pending: c.pel_from(super::id::MIN).collect(),
                    })
                    .collect(),
            })
            .collect()
    }
}

fn group_from_rdb(g: rdb::ConsumerGroup) -> Group {
    let mut owner: HashMap<StreamId, Arc<[u8]>> = HashMap::new();
    let mut consumers = Vec::with_capacity(g.consumers.len());
    for c in g.consumers {
        let name: Arc<[u8]> = Arc::from(c.name.as_slice());
        let mut ids = c.pending;
        ids.sort_unstable();
        ids.dedup();
        ids.retain(|id| !owner.contains_key(id));
        for id in &ids {
            owner.insert(*id, name.clone());
        }
        consumers.push((name, c.seen_time_ms, c.active_time_ms, ids));
    }
    let mut pel = g.pel;
    pel.sort_by_key(|p| p.id);
    pel.dedup_by_key(|p| p.id);
    let in_pel: std::collections::HashSet<StreamId> = pel.iter().map(|p| p.id).collect();
    let nacks: Vec<Nack> = pel
        .into_iter()
        .filter_map(|p| {
            let consumer = owner.get(&p.id)?.clone();
            Some(Nack {
                id: p.id,
                delivery_time_ms: p.delivery_time_ms,
                delivery_count: p.delivery_count,
                consumer,
            })
        })
        .collect();
    for c in &mut consumers {
        c.3.retain(|id| in_pel.contains(id));
    }
    Group::from_parts(g.last_id, g.entries_read, nacks, consumers)
}
