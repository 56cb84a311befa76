//! One node of a stream: a run of consecutive entries packed in one byte buffer, as Valkey
//! packs them in one listpack (its "macro node"), but more tightly.
//!
//! # Layout of `data`
//!
//! ```text
//! master fields:  count, field...            (the first entry's field names)
//! each entry:     flags(u8) ms-delta seq-delta [count field value ...] | [value ...]
//! ```
//!
//! Numbers are LEB128 varints; `seq-delta` is zigzag-encoded (it goes negative when the
//! milliseconds advance). IDs are deltas against the node's *master ID* (its first entry's,
//! the radix-tree key in Valkey). An entry whose field names equal the master fields sets
//! `SAMEFIELDS` and stores its values only. An element (field or value) is a varint tag:
//! `len << 1` followed by `len` bytes, or `zigzag(v) << 1 | 1` for a string that is the
//! canonical text of a small integer `v` (as listpacks store such strings as integers).
//!
//! Deleted entries stay in place with the `DELETED` flag, as in Valkey: a node only goes
//! away as a whole, so which entries share a node, and therefore what approximate trimming
//! removes, is exactly Valkey's.
//!
//! # Valkey's node size
//!
//! Valkey starts a new node when the tail node's listpack would reach `stream-node-max-bytes`
//! or holds `stream-node-max-entries`. To split nodes at the same places, a node tracks the
//! byte size its listpack would have in Valkey ([`Node::lp_bytes`]), computed with the
//! listpack's encoding rules. Nothing is ever stored in that format.

use super::id::StreamId;

pub const FLAG_DELETED: u8 = 1;
pub const FLAG_SAMEFIELDS: u8 = 2;

/// One field or value as stored: bytes, or an integer written in canonical decimal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Elem<'a> {
    Str(&'a [u8]),
    Int(i64),
}

impl Elem<'_> {
    /// The element's text.
    pub fn to_vec(self) -> Vec<u8> {
        match self {
            Elem::Str(s) => s.to_vec(),
            Elem::Int(v) => rdb::i64_to_bytes(v),
        }
    }

    /// Length of the element's text.
    pub fn text_len(self) -> usize {
        match self {
            Elem::Str(s) => s.len(),
            Elem::Int(v) => decimal_len(v),
        }
    }

    /// True if the element's text is `s`.
    pub fn eq_bytes(self, s: &[u8]) -> bool {
        match self {
            Elem::Str(x) => x == s,
            Elem::Int(v) => as_small_int(s) == Some(v),
        }
    }
}

fn decimal_len(v: i64) -> usize {
    let mut n = v.unsigned_abs();
    let mut len = usize::from(v < 0) + 1;
    while n >= 10 {
        n /= 10;
        len += 1;
    }
    len
}

/// Integers stored as integers: canonical text whose zigzag form leaves room for the tag bit.
fn as_small_int(s: &[u8]) -> Option<i64> {
    rdb::parse_canonical_i64(s).filter(|v| v.unsigned_abs() < 1 << 62)
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(u: u64) -> i64 {
    ((u >> 1) as i64) ^ -((u & 1) as i64)
}

fn put_varint(buf: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        buf.push((v as u8) | 0x80);
        v >>= 7;
    }
    buf.push(v as u8);
}

fn put_elem(buf: &mut Vec<u8>, s: &[u8]) {
    match as_small_int(s) {
        Some(v) => put_varint(buf, (zigzag(v) << 1) | 1),
        None => {
            put_varint(buf, (s.len() as u64) << 1);
            buf.extend_from_slice(s);
        }
    }
}

/// Sequential reads over a node buffer. The buffer is always built by this module; reads
/// past its end yield zeros/empty strings instead of panicking.
#[derive(Clone, Copy)]
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn varint(&mut self) -> u64 {
        let mut v = 0u64;
        let mut shift = 0;
        while let Some(&b) = self.buf.get(self.pos) {
            self.pos += 1;
            if shift < 64 {
                v |= u64::from(b & 0x7f) << shift;
            }
            if b & 0x80 == 0 {
                break;
            }
            shift += 7;
        }
        v
    }

    fn byte(&mut self) -> u8 {
        let b = self.buf.get(self.pos).copied().unwrap_or(0);
        self.pos += 1;
        b
    }

    fn elem(&mut self) -> Elem<'a> {
        let tag = self.varint();
        if tag & 1 == 1 {
            return Elem::Int(unzigzag(tag >> 1));
        }
        let len = usize::try_from(tag >> 1).unwrap_or(usize::MAX);
        let start = self.pos.min(self.buf.len());
        let end = start.saturating_add(len).min(self.buf.len());
        self.pos = end;
        Elem::Str(&self.buf[start..end])
    }

    fn skip_elems(&mut self, n: u64) {
        for _ in 0..n {
            let tag = self.varint();
            if tag & 1 == 0 {
                let len = usize::try_from(tag >> 1).unwrap_or(usize::MAX);
                self.pos = self.pos.saturating_add(len);
            }
        }
    }
}

// --- listpack sizes (Valkey's `lpBytes` of the equivalent node) ---------------------------

/// Bytes of a listpack integer entry (encoding + backlen).
fn lp_int(v: i64) -> usize {
    let body = match v {
        0..=127 => 1,
        -4096..=4095 => 2,
        -32768..=32767 => 3,
        -8_388_608..=8_388_607 => 4,
        -2_147_483_648..=2_147_483_647 => 5,
        _ => 9,
    };
    body + 1
}

/// Bytes of a listpack entry holding `s` (stored as an integer when canonical, as `lpAppend`).
fn lp_str(s: &[u8]) -> usize {
    if let Some(v) = rdb::parse_canonical_i64(s) {
        return lp_int(v);
    }
    let header = match s.len() {
        0..=63 => 1,
        64..=4095 => 2,
        _ => 5,
    };
    let body = header + s.len();
    body + lp_backlen(body)
}

/// Bytes of a listpack backlen for an entry of `l` bytes (Valkey's exact thresholds).
fn lp_backlen(l: usize) -> usize {
    match l {
        0..=127 => 1,
        128..=16382 => 2,
        16383..=2_097_150 => 3,
        2_097_151..=268_435_454 => 4,
        _ => 5,
    }
}

/// Where an entry starts and what it holds (a position inside one node).
#[derive(Clone, Copy, Debug)]
pub struct RawEntry {
    /// Offset of the flags byte.
    pub at: usize,
    pub flags: u8,
    pub id: StreamId,
    pub num_fields: u64,
    /// Offset of the first field (or value, for SAMEFIELDS).
    fields_at: usize,
}

impl RawEntry {
    pub fn is_deleted(&self) -> bool {
        self.flags & FLAG_DELETED != 0
    }
}

#[derive(Clone, Debug)]
pub struct Node {
    master: StreamId,
    live: u32,
    deleted: u32,
    num_master_fields: u32,
    /// Offset of the first entry in `data`.
    entries_at: u32,
    /// Listpack bytes of the master field names.
    lp_master_fields: u32,
    /// Listpack bytes of all entries (master entry excluded).
    lp_entries: u64,
    data: Vec<u8>,
}

impl Node {
    /// A node whose first entry is `id` with `pairs` (field, value, field, value...).
    pub fn new<F: AsRef<[u8]>>(id: StreamId, pairs: &[F], capacity_hint: usize) -> Node {
        let nfields = pairs.len() / 2;
        let mut data = Vec::with_capacity(capacity_hint);
        put_varint(&mut data, nfields as u64);
        let mut lp_master_fields = 0;
        for f in pairs.iter().step_by(2) {
            put_elem(&mut data, f.as_ref());
            lp_master_fields += lp_str(f.as_ref());
        }
        let mut node = Node {
            master: id,
            live: 0,
            deleted: 0,
            num_master_fields: nfields as u32,
            entries_at: data.len() as u32,
            lp_master_fields: lp_master_fields as u32,
            lp_entries: 0,
            data,
        };
        node.push(id, pairs);
        node
    }

    pub fn master(&self) -> StreamId {
        self.master
    }

    /// Entries not deleted.
    pub fn live(&self) -> u64 {
        u64::from(self.live)
    }

    /// Entries marked deleted (still taking room, as in Valkey).
    pub fn deleted(&self) -> u64 {
        u64::from(self.deleted)
    }

    /// What Valkey's `lpBytes` would report for this node.
    pub fn lp_bytes(&self) -> usize {
        7 + lp_int(i64::from(self.live))
            + lp_int(i64::from(self.deleted))
            + lp_int(i64::from(self.num_master_fields))
            + self.lp_master_fields as usize
            + lp_int(0)
            + self.lp_entries as usize
    }

    /// Heap bytes of this node (struct, reference counts of its `Arc`, buffer).
    pub fn mem_usage(&self) -> usize {
        std::mem::size_of::<Node>() + 16 + self.data.capacity()
    }

    /// Drops spare buffer capacity (a node that will not grow any more).
    pub fn shrink(&mut self) {
        self.data.shrink_to_fit();
    }

    /// True if the master fields are exactly the fields of `pairs`.
    fn same_fields<F: AsRef<[u8]>>(&self, pairs: &[F]) -> bool {
        if pairs.len() / 2 != self.num_master_fields as usize {
            return false;
        }
        let mut r = self.master_reader();
        pairs
            .iter()
            .step_by(2)
            .all(|f| r.elem().eq_bytes(f.as_ref()))
    }

    fn master_reader(&self) -> Reader<'_> {
        let mut r = Reader {
            buf: &self.data,
            pos: 0,
        };
        r.varint();
        r
    }

    /// Appends an entry (the caller checked that `id` is above every ID in the node).
    pub fn push<F: AsRef<[u8]>>(&mut self, id: StreamId, pairs: &[F]) {
        let nfields = pairs.len() / 2;
        let same = self.same_fields(pairs);
        let flags = if same { FLAG_SAMEFIELDS } else { 0 };
        let ms_delta = id.ms.wrapping_sub(self.master.ms);
        let seq_delta = id.seq.wrapping_sub(self.master.seq);
        self.data.push(flags);
        put_varint(&mut self.data, ms_delta);
        put_varint(&mut self.data, zigzag(seq_delta as i64));
        let mut lp = lp_int(i64::from(flags)) + lp_int(ms_delta as i64) + lp_int(seq_delta as i64);
        if !same {
            put_varint(&mut self.data, nfields as u64);
            lp += lp_int(nfields as i64);
        }
        for pair in pairs.chunks_exact(2) {
            if !same {
                put_elem(&mut self.data, pair[0].as_ref());
                lp += lp_str(pair[0].as_ref());
            }
            put_elem(&mut self.data, pair[1].as_ref());
            lp += lp_str(pair[1].as_ref());
        }
        let lp_count = 3 + nfields + if same { 0 } else { nfields + 1 };
        lp += lp_int(lp_count as i64);
        self.lp_entries += lp as u64;
        self.live += 1;
    }

    /// Decodes the entry starting at `at`; returns it and the offset of the next one.
    fn entry_at(&self, at: usize) -> (RawEntry, usize) {
        let mut r = Reader {
            buf: &self.data,
            pos: at,
        };
        let flags = r.byte();
        let ms = self.master.ms.wrapping_add(r.varint());
        let seq = self.master.seq.wrapping_add(unzigzag(r.varint()) as u64);
        let same = flags & FLAG_SAMEFIELDS != 0;
        let num_fields = if same {
            u64::from(self.num_master_fields)
        } else {
            r.varint()
        };
        let fields_at = r.pos;
        r.skip_elems(if same { num_fields } else { num_fields * 2 });
        let e = RawEntry {
            at,
            flags,
            id: StreamId::new(ms, seq),
            num_fields,
            fields_at,
        };
        (e, r.pos)
    }

    /// Every entry, deleted ones included, in ID order.
    pub fn entries(&self) -> NodeEntries<'_> {
        self.entries_from(self.entries_start())
    }

    /// Offset of the first entry.
    pub fn entries_start(&self) -> usize {
        self.entries_at as usize
    }

    /// The entries from offset `pos` (an entry start, or the end).
    pub fn entries_from(&self, pos: usize) -> NodeEntries<'_> {
        NodeEntries { node: self, pos }
    }

    /// Offsets of every entry (for walking a node backwards).
    pub fn offsets(&self) -> Vec<usize> {
        self.entries().map(|e| e.at).collect()
    }

    /// The entry at a known offset.
    pub fn at(&self, at: usize) -> RawEntry {
        self.entry_at(at).0
    }

    /// The last entry, deleted or not (Valkey's `lpGetEdgeStreamID(lp, 0, ...)`).
    pub fn last_entry(&self) -> Option<RawEntry> {
        self.entries().last()
    }

    /// The fields and values of an entry of this node, in order.
    pub fn fields(&self, e: &RawEntry) -> Fields<'_> {
        let same = e.flags & FLAG_SAMEFIELDS != 0;
        Fields {
            master: same.then(|| self.master_reader()),
            r: Reader {
                buf: &self.data,
                pos: e.fields_at,
            },
            left: e.num_fields,
        }
    }

    /// Marks the entry at `at` deleted; false if it already was.
    pub fn mark_deleted(&mut self, at: usize) -> bool {
        match self.data.get_mut(at) {
            Some(flags) if *flags & FLAG_DELETED == 0 => {
                *flags |= FLAG_DELETED;
                self.live = self.live.saturating_sub(1);
                self.deleted += 1;
                true
            }
            _ => false,
        }
    }
}

/// Iterator over a node's entries (deleted ones included).
pub struct NodeEntries<'a> {
    node: &'a Node,
    pos: usize,
}

impl NodeEntries<'_> {
    /// Offset of the next entry to be returned.
    pub fn position(&self) -> usize {
        self.pos
    }
}

impl Iterator for NodeEntries<'_> {
    type Item = RawEntry;

    fn next(&mut self) -> Option<RawEntry> {
        if self.pos >= self.node.data.len() {
            return None;
        }
        let (e, next) = self.node.entry_at(self.pos);
        self.pos = next;
        Some(e)
    }
}

/// Iterator over the (field, value) pairs of one entry.
pub struct Fields<'a> {
    master: Option<Reader<'a>>,
    r: Reader<'a>,
    left: u64,
}

impl<'a> Iterator for Fields<'a> {
    type Item = (Elem<'a>, Elem<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let field = match &mut self.master {
            Some(m) => m.elem(),
            None => self.r.elem(),
        };
        Some((field, self.r.elem()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(node: &Node, e: &RawEntry) -> Vec<(Vec<u8>, Vec<u8>)> {
        node.fields(e)
            .map(|(f, v)| (f.to_vec(), v.to_vec()))
            .collect()
    }

    #[test]
    fn entries_round_trip_with_same_and_other_fields() {
        let mut n = Node::new(StreamId::new(1000, 5), &["a", "1", "b", "xyz"], 0);
        n.push(StreamId::new(1000, 6), &["a", "-7", "b", ""]);
        n.push(StreamId::new(1001, 0), &["c", "007"]);
        n.push(
            StreamId::new(u64::MAX, u64::MAX),
            &["a", "4611686018427387904", "b", "1"],
        );
        let all: Vec<_> = n.entries().collect();
        assert_eq!(all.len(), 4);
        assert_eq!(all[1].id, StreamId::new(1000, 6));
        assert_eq!(all[2].id, StreamId::new(1001, 0));
        assert_eq!(all[3].id, StreamId::new(u64::MAX, u64::MAX));
        assert_eq!(all[0].flags, FLAG_SAMEFIELDS);
        assert_eq!(all[2].flags, 0);
        assert_eq!(
            pairs(&n, &all[1]),
            vec![
                (b"a".to_vec(), b"-7".to_vec()),
                (b"b".to_vec(), b"".to_vec())
            ]
        );
        assert_eq!(pairs(&n, &all[2]), vec![(b"c".to_vec(), b"007".to_vec())]);
        assert_eq!(
            pairs(&n, &all[3]),
            vec![
                (b"a".to_vec(), b"4611686018427387904".to_vec()),
                (b"b".to_vec(), b"1".to_vec())
            ]
        );
        assert!(n.mark_deleted(all[1].at));
        assert!(!n.mark_deleted(all[1].at));
        assert_eq!((n.live(), n.deleted()), (3, 1));
        assert!(n.at(all[1].at).is_deleted());
        assert_eq!(
            n.last_entry().map(|e| e.id),
            Some(StreamId::new(u64::MAX, u64::MAX))
        );
    }

    #[test]
    fn listpack_size_matches_valkey() {
        // Listpack sizes by Valkey's encoding rules. (Node splits under stream-node-max-bytes
        // built on them were compared with Valkey 8.0.1's XINFO radix-tree-keys over random
        // entries of every listpack encoding width.)
        let mut n = Node::new(StreamId::new(1, 0), &["field", "value"], 0);
        // header 7 + count(2) deleted(2) nfields(2) "field"(7) zero(2) = 22;
        // entry: flags 2, ms 2, seq 2, "value" 7, lp-count 2 = 15.
        assert_eq!(n.lp_bytes(), 37);
        n.push(StreamId::new(1, 1), &["field", "12"]);
        assert_eq!(n.lp_bytes(), 37 + 10);
        n.push(StreamId::new(2, 0), &["other", "x"]);
        // flags 2 ms 2 seq(-0 → 0) 2 nfields 2 "other" 7 "x" 3 lp-count(6) 2 = 20
        assert_eq!(n.lp_bytes(), 37 + 10 + 20);
    }

    #[test]
    fn elements_keep_their_text() {
        for s in [
            "0",
            "-1",
            "123",
            "01",
            "-0",
            "+1",
            "9223372036854775807",
            "4611686018427387903",
            "x",
        ] {
            let mut buf = Vec::new();
            put_elem(&mut buf, s.as_bytes());
            let e = Reader { buf: &buf, pos: 0 }.elem();
            assert_eq!(e.to_vec(), s.as_bytes(), "{s}");
            assert_eq!(e.text_len(), s.len(), "{s}");
            assert!(e.eq_bytes(s.as_bytes()));
        }
    }
}
