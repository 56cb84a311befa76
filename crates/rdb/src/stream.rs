//! Streams (types 15, 19, 21): a sequence of listpack nodes keyed by their
//! master ID, stream metadata, then consumer groups with their PELs.
//!
//! Inside a node listpack, the "master entry" comes first:
//! `count, deleted, num-fields, field..., 0`; then each entry is
//! `flags, ms-delta, seq-delta, [num-fields, (field, value)... | value...], lp-count`
//! where the value-only form is used when flag SAMEFIELDS says the entry has
//! the master's field names. IDs are deltas against the node key.

use std::io::Read;

use crate::encodings::{listpack, Entry};
use crate::error::RdbError;
use crate::input::{Input, Result};
use crate::load::{check_unique, prealloc, read_count, read_len, read_string};
use crate::value::{
    type_id as t, Consumer, ConsumerGroup, PendingEntry, Stream, StreamEntry, StreamId,
};

/// Group PEL ids mapped to whether a consumer has claimed them yet.
type PelIndex = foldhash::HashMap<StreamId, bool>;

pub(crate) const FLAG_DELETED: i64 = 1;
pub(crate) const FLAG_SAMEFIELDS: i64 = 2;

pub(crate) fn read_stream<R: Read>(inp: &mut Input<R>, ty: u8) -> Result<Stream> {
    let mut s = Stream::default();
    let nodes = read_count(inp)?;
    for _ in 0..nodes {
        read_node(inp, &mut s.entries)?;
    }
    s.length = read_len(inp)?;
    s.last_id = read_id(inp)?;
    if ty >= t::STREAM_LISTPACKS_2 {
        s.first_id = read_id(inp)?;
        s.max_deleted_id = read_id(inp)?;
        s.entries_added = read_len(inp)?;
    } else {
        // What Redis's loader assumes for v1 streams.
        s.max_deleted_id = StreamId::default();
        s.entries_added = s.length;
        s.first_id = s.entries.first().map_or(StreamId::MAX, |e| e.id);
    }
    if s.length != s.entries.len() as u64 {
        let at = inp.offset();
        return Err(RdbError::corrupt(
            at,
            "Stream length inconsistent with its entries",
        ));
    }
    let groups = read_count(inp)?;
    for _ in 0..groups {
        let g = read_group(inp, ty, &s)?;
        s.groups.push(g);
    }
    let names = s.groups.iter().map(|g| g.name.as_slice());
    check_unique(names, inp.offset(), "Duplicated consumer group name")?;
    Ok(s)
}

fn read_id<R: Read>(inp: &mut Input<R>) -> Result<StreamId> {
    Ok(StreamId::new(read_len(inp)?, read_len(inp)?))
}

fn read_raw_id<R: Read>(inp: &mut Input<R>) -> Result<StreamId> {
    Ok(StreamId::from_be_bytes(inp.array()?))
}

fn read_millis<R: Read>(inp: &mut Input<R>) -> Result<i64> {
    Ok(i64::from_le_bytes(inp.array()?))
}

/// Reads one node (key + listpack) and appends its live entries to `out`,
/// which must stay in strictly ascending ID order across nodes.
fn read_node<R: Read>(inp: &mut Input<R>, out: &mut Vec<StreamEntry>) -> Result<()> {
    let at = inp.offset();
    let key = read_string(inp)?;
    let key: [u8; 16] = key.as_slice().try_into().map_err(|_| {
        RdbError::corrupt(at, "Stream node key entry is not the size of a stream ID")
    })?;
    let master = StreamId::from_be_bytes(key);
    let lp_at = inp.offset();
    let lp = read_string(inp)?;
    let before = out.len();
    decode_node(&lp, master, out).map_err(|e| e.in_blob(lp_at))?;
    let ordered = out[before.saturating_sub(1)..]
        .windows(2)
        .all(|w| w[0].id < w[1].id);
    if !ordered {
        return Err(RdbError::corrupt(lp_at, "Stream entries out of order"));
    }
    Ok(())
}

/// Walks a node listpack, validating it like Redis's deep stream check.
fn decode_node(lp: &[u8], master: StreamId, out: &mut Vec<StreamEntry>) -> Result<()> {
    let entries = listpack::decode(lp)?;
    if entries.is_empty() {
        return Err(RdbError::corrupt(0, "Empty listpack inside stream"));
    }
    let mut cur = Cursor { e: &entries, i: 0 };
    let count = cur.int()?;
    let deleted = cur.int()?;
    let nfields = cur.count()?;
    let mut master_fields = Vec::with_capacity(prealloc::<Entry>(nfields));
    for _ in 0..nfields {
        master_fields.push(cur.any()?);
    }
    if cur.int()? != 0 {
        return Err(cur.err("stream master entry not terminated by 0"));
    }
    let total = count
        .checked_add(deleted)
        .filter(|&n| n >= 0)
        .ok_or_else(|| cur.err("invalid stream node counts"))?;
    for _ in 0..total {
        if let Some(e) = read_entry(&mut cur, master, &master_fields)? {
            out.push(e);
        }
    }
    if cur.i != entries.len() {
        return Err(cur.err("trailing data in stream node"));
    }
    Ok(())
}

fn read_entry(
    cur: &mut Cursor<'_, '_>,
    master: StreamId,
    master_fields: &[Entry<'_>],
) -> Result<Option<StreamEntry>> {
    let start = cur.i;
    let flags = cur.int()?;
    let id = StreamId::new(
        master.ms.wrapping_add(cur.int()? as u64),
        master.seq.wrapping_add(cur.int()? as u64),
    );
    let mut fields = Vec::new();
    if flags & FLAG_SAMEFIELDS != 0 {
        fields.reserve(master_fields.len());
        for f in master_fields {
            fields.push((f.to_bytes(), cur.any()?.to_bytes()));
        }
    } else {
        let n = cur.count()?;
        fields.reserve(prealloc::<(Vec<u8>, Vec<u8>)>(n));
        for _ in 0..n {
            let f = cur.any()?.to_bytes();
            fields.push((f, cur.any()?.to_bytes()));
        }
    }
    let pieces = (cur.i - start) as i64;
    if cur.int()? != pieces {
        return Err(cur.err("stream entry lp-count mismatch"));
    }
    Ok((flags & FLAG_DELETED == 0).then_some(StreamEntry { id, fields }))
}

/// Sequential access to decoded listpack entries with typed getters.
struct Cursor<'e, 'a> {
    e: &'e [Entry<'a>],
    i: usize,
}

impl<'a> Cursor<'_, 'a> {
    fn err(&self, reason: &str) -> RdbError {
        RdbError::corrupt(0, format!("{reason} (stream listpack entry {})", self.i))
    }

    fn any(&mut self) -> Result<Entry<'a>> {
        let e = *self
            .e
            .get(self.i)
            .ok_or_else(|| self.err("truncated stream node"))?;
        self.i += 1;
        Ok(e)
    }

    fn int(&mut self) -> Result<i64> {
        self.any()?
            .as_int()
            .ok_or_else(|| self.err("expected an integer in stream node"))
    }

    fn count(&mut self) -> Result<usize> {
        usize::try_from(self.int()?).map_err(|_| self.err("negative count in stream node"))
    }
}

fn read_group<R: Read>(inp: &mut Input<R>, ty: u8, s: &Stream) -> Result<ConsumerGroup> {
    let name = read_string(inp)?;
    let last_id = read_id(inp)?;
    let entries_read = if ty >= t::STREAM_LISTPACKS_2 {
        read_len(inp)? as i64
    } else {
        estimate_entries_read(s, last_id)
    };
    let n = read_count(inp)?;
    let mut pel = Vec::with_capacity(prealloc::<PendingEntry>(n));
    let mut index =
        PelIndex::with_capacity_and_hasher(prealloc::<PendingEntry>(n), Default::default());
    for _ in 0..n {
        let at = inp.offset();
        let id = read_raw_id(inp)?;
        let delivery_time_ms = read_millis(inp)?;
        let delivery_count = read_len(inp)?;
        if index.insert(id, false).is_some() {
            let msg = "Duplicated global PEL entry loading stream consumer group";
            return Err(RdbError::corrupt(at, msg));
        }
        pel.push(PendingEntry {
            id,
            delivery_time_ms,
            delivery_count,
        });
    }
    let consumers = read_consumers(inp, ty, &mut index)?;
    Ok(ConsumerGroup {
        name,
        last_id,
        entries_read,
        pel,
        consumers,
    })
}

fn read_consumers<R: Read>(
    inp: &mut Input<R>,
    ty: u8,
    index: &mut PelIndex,
) -> Result<Vec<Consumer>> {
    let n = read_count(inp)?;
    let mut out: Vec<Consumer> = Vec::with_capacity(prealloc::<Consumer>(n));
    for _ in 0..n {
        let name = read_string(inp)?;
        let seen_time_ms = read_millis(inp)?;
        let active_time_ms = if ty >= t::STREAM_LISTPACKS_3 {
            read_millis(inp)?
        } else {
            seen_time_ms
        };
        let k = read_count(inp)?;
        let mut pending = Vec::with_capacity(prealloc::<StreamId>(k));
        for _ in 0..k {
            let at = inp.offset();
            let id = read_raw_id(inp)?;
            claim(index, id).map_err(|msg| RdbError::corrupt(at, msg))?;
            pending.push(id);
        }
        out.push(Consumer {
            name,
            seen_time_ms,
            active_time_ms,
            pending,
        });
    }
    let names = out.iter().map(|c| c.name.as_slice());
    check_unique(names, inp.offset(), "Duplicate stream consumer detected.")?;
    Ok(out)
}

/// Marks a group PEL entry as owned by a consumer. Redis rejects ids missing
/// from the group PEL; an id claimed twice is rejected too, since it would
/// leave the entry with two owners.
fn claim(index: &mut PelIndex, id: StreamId) -> std::result::Result<(), &'static str> {
    match index.get_mut(&id) {
        None => Err("Consumer entry not found in group global PEL"),
        Some(true) => Err("Duplicated consumer PEL entry loading a stream consumer group"),
        Some(owned) => {
            *owned = true;
            Ok(())
        }
    }
}

/// Redis's `streamEstimateDistanceFromFirstEverEntry`, used to fill a v1
/// group's entries_read; -1 means "unknown".
fn estimate_entries_read(s: &Stream, id: StreamId) -> i64 {
    if s.entries_added == 0 {
        return 0;
    }
    if s.length == 0 && id <= s.last_id {
        return s.entries_added as i64;
    }
    if id == s.last_id {
        return s.entries_added as i64;
    }
    if id > s.last_id {
        return -1;
    }
    if s.max_deleted_id.is_zero() || s.max_deleted_id < s.first_id {
        if id < s.first_id {
            return (s.entries_added - s.length) as i64;
        }
        if id == s.first_id {
            return (s.entries_added - s.length + 1) as i64;
        }
    }
    -1
}

/// Splits entries into listpack nodes as Redis does with its default
/// `stream-node-max-entries 100` and `stream-node-max-bytes 4096`: a new node
/// starts when the current one is full before appending.
pub(crate) fn encode_nodes(entries: &[StreamEntry]) -> std::io::Result<Vec<(StreamId, Vec<u8>)>> {
    const MAX_ENTRIES: usize = 100;
    const MAX_BYTES: usize = 4096;
    let mut nodes = Vec::new();
    let mut rest = entries;
    while let Some((first, tail)) = rest.split_first() {
        let mut node = NodeBuilder::new(first);
        let mut used = 1;
        for e in tail {
            let size: usize = e.fields.iter().map(|(f, v)| f.len() + v.len()).sum();
            if node.count >= MAX_ENTRIES || node.total_bytes() + size >= MAX_BYTES {
                break;
            }
            node.push(e);
            used += 1;
        }
        nodes.push((first.id, node.finish()?));
        rest = &rest[used..];
    }
    Ok(nodes)
}

/// One listpack node holding all of `entries` (no splitting); `None` if there are none.
pub(crate) fn encode_node(entries: &[StreamEntry]) -> std::io::Result<Option<(StreamId, Vec<u8>)>> {
    let Some((first, tail)) = entries.split_first() else {
        return Ok(None);
    };
    let mut node = NodeBuilder::new(first);
    for e in tail {
        node.push(e);
    }
    Ok(Some((first.id, node.finish()?)))
}

struct NodeBuilder<'a> {
    master: StreamId,
    master_fields: Vec<&'a [u8]>,
    /// Encoded entries after the master entry.
    body: listpack::ListpackBuilder,
    count: usize,
}

impl<'a> NodeBuilder<'a> {
    fn new(first: &'a StreamEntry) -> Self {
        let mut n = NodeBuilder {
            master: first.id,
            master_fields: first.fields.iter().map(|(f, _)| f.as_slice()).collect(),
            body: listpack::ListpackBuilder::new(),
            count: 0,
        };
        n.push(first);
        n
    }

    fn master_entry(&self) -> listpack::ListpackBuilder {
        let mut lp = listpack::ListpackBuilder::new();
        lp.push_int(self.count as i64);
        lp.push_int(0);
        lp.push_int(self.master_fields.len() as i64);
        for f in &self.master_fields {
            lp.push_str(f);
        }
        lp.push_int(0);
        lp
    }

    /// Size of the finished node, as Redis's `lpBytes` would report it.
    fn total_bytes(&self) -> usize {
        self.master_entry().total_bytes() + self.body.total_bytes() - 7
    }

    fn push(&mut self, e: &StreamEntry) {
        let same = e.fields.len() == self.master_fields.len()
            && e.fields
                .iter()
                .zip(&self.master_fields)
                .all(|((f, _), m)| f == m);
        let lp = &mut self.body;
        lp.push_int(if same { FLAG_SAMEFIELDS } else { 0 });
        lp.push_int(e.id.ms.wrapping_sub(self.master.ms) as i64);
        lp.push_int(e.id.seq.wrapping_sub(self.master.seq) as i64);
        if !same {
            lp.push_int(e.fields.len() as i64);
        }
        for (f, v) in &e.fields {
            if !same {
                lp.push_str(f);
            }
            lp.push_str(v);
        }
        let pieces = 3 + e.fields.len() + if same { 0 } else { e.fields.len() + 1 };
        lp.push_int(pieces as i64);
        self.count += 1;
    }

    fn finish(self) -> std::io::Result<Vec<u8>> {
        let mut lp = self.master_entry();
        lp.append(&self.body);
        lp.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(ms: u64, seq: u64, fields: &[(&str, &str)]) -> StreamEntry {
        StreamEntry {
            id: StreamId::new(ms, seq),
            fields: fields
                .iter()
                .map(|(f, v)| (f.as_bytes().to_vec(), v.as_bytes().to_vec()))
                .collect(),
        }
    }

    #[test]
    fn nodes_round_trip_with_same_and_different_fields() {
        let entries = vec![
            entry(1000, 0, &[("a", "1"), ("b", "x")]),
            entry(1000, 1, &[("a", "2"), ("b", "y")]),
            entry(999_999_999_999, 5, &[("c", "zzz")]),
            entry(1_000_000_000_000, 0, &[("a", "-5"), ("b", "")]),
        ];
        let nodes = encode_nodes(&entries).unwrap();
        assert_eq!(nodes.len(), 1);
        let mut out = Vec::new();
        decode_node(&nodes[0].1, nodes[0].0, &mut out).unwrap();
        assert_eq!(out, entries);
    }

    #[test]
    fn splits_nodes_at_100_entries() {
        let entries: Vec<_> = (0..250).map(|i| entry(5, i, &[("f", "v")])).collect();
        let nodes = encode_nodes(&entries).unwrap();
        assert_eq!(nodes.len(), 3);
        let mut out = Vec::new();
        for (k, lp) in &nodes {
            decode_node(lp, *k, &mut out).unwrap();
        }
        assert_eq!(out, entries);
    }

    #[test]
    fn deleted_entries_are_skipped_and_counts_checked() {
        let entries = vec![entry(1, 0, &[("a", "1")]), entry(1, 1, &[("a", "2")])];
        let (k, lp) = encode_nodes(&entries).unwrap().remove(0);
        let mut es = listpack::decode(&lp).unwrap();
        // Mark the second entry deleted and fix the master counts (1 live, 1 deleted).
        let second_flags = 5 + 5;
        assert_eq!(es[second_flags], Entry::Int(FLAG_SAMEFIELDS));
        es[second_flags] = Entry::Int(FLAG_SAMEFIELDS | FLAG_DELETED);
        es[0] = Entry::Int(1);
        es[1] = Entry::Int(1);
        let lp2 = listpack::encode(es.iter().copied()).unwrap();
        let mut out = Vec::new();
        decode_node(&lp2, k, &mut out).unwrap();
        assert_eq!(out, entries[..1]);
        // Claiming 3 entries in a node that has 2 is corruption.
        es[0] = Entry::Int(2);
        let lp3 = listpack::encode(es.iter().copied()).unwrap();
        assert!(decode_node(&lp3, k, &mut Vec::new()).is_err());
    }

    #[test]
    fn v1_entries_read_estimate() {
        let mut s = Stream {
            length: 2,
            entries_added: 2,
            first_id: StreamId::new(1, 0),
            last_id: StreamId::new(2, 0),
            ..Stream::default()
        };
        assert_eq!(estimate_entries_read(&s, StreamId::new(2, 0)), 2);
        assert_eq!(estimate_entries_read(&s, StreamId::new(0, 0)), 0);
        assert_eq!(estimate_entries_read(&s, StreamId::new(1, 0)), 1);
        assert_eq!(estimate_entries_read(&s, StreamId::new(1, 5)), -1);
        assert_eq!(estimate_entries_read(&s, StreamId::new(3, 0)), -1);
        s.entries_added = 0;
        assert_eq!(estimate_entries_read(&s, StreamId::new(3, 0)), 0);
    }
}
