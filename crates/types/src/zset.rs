//! Sorted sets, with Redis's two encodings.
//!
//! - `listpack`: a vector sorted by (score, member), while the set has at most
//!   `zset-max-listpack-entries` members of at most `zset-max-listpack-value` bytes.
//! - `skiplist`: a member → node index ([`SegMap`]) plus an order-statistic B+tree of the same
//!   nodes ([`CountedBTree`]) for ranks and ranges. Each member is stored once, in a shared
//!   [`ZNode`] that both structures point to. Both structures are copy-on-write, so a snapshot of
//!   a large sorted set is cheap and a write during a snapshot copies only what it touches.
//!
//! Every range query is expressed as a rank interval, so commands share one code path for
//! scores, lexicographic ranges and ranks.

use std::alloc::{alloc, dealloc, Layout};
use std::cmp::Ordering;
use std::ptr::NonNull;
use std::sync::atomic::{fence, AtomicU32, Ordering as AtomicOrdering};

use crate::blob::MAX_ELEMENT_LEN;
use crate::btree::CountedBTree;
use crate::rand::Rng;
use crate::segmap::{SegItem, SegMap};

/// `zset-max-listpack-entries`, `zset-max-listpack-value`.
#[derive(Clone, Copy, Debug)]
pub struct ZSetLimits {
    pub max_entries: usize,
    pub max_value: usize,
}

impl Default for ZSetLimits {
    fn default() -> Self {
        ZSetLimits {
            max_entries: 128,
            max_value: 64,
        }
    }
}

/// A shared (score, member) node: `[refcnt u32][len u32][score f64][member bytes]`.
pub struct ZNode(NonNull<u8>);

// SAFETY: immutable after creation except the atomic count.
unsafe impl Send for ZNode {}
// SAFETY: as above.
unsafe impl Sync for ZNode {}

const ZHEAD: usize = 16;

impl ZNode {
    pub fn new(member: &[u8], score: f64) -> ZNode {
        assert!(member.len() <= MAX_ELEMENT_LEN, "member larger than 4 GiB");
        let layout = Self::layout(member.len());
        // SAFETY: layout size >= ZHEAD > 0.
        let p = unsafe { alloc(layout) };
        let Some(p) = NonNull::new(p) else {
            std::alloc::handle_alloc_error(layout)
        };
        // SAFETY: writes exactly the block's bytes; header fields are aligned (block is 8-aligned).
        unsafe {
            p.as_ptr().cast::<AtomicU32>().write(AtomicU32::new(1));
            p.as_ptr().add(4).cast::<u32>().write(member.len() as u32);
            p.as_ptr().add(8).cast::<f64>().write(score);
            std::ptr::copy_nonoverlapping(member.as_ptr(), p.as_ptr().add(ZHEAD), member.len());
        }
        ZNode(p)
    }

    fn layout(len: usize) -> Layout {
        match Layout::from_size_align(ZHEAD + len, 8) {
            Ok(l) => l,
            Err(_) => unreachable!("node size overflow"),
        }
    }

    fn rc(&self) -> &AtomicU32 {
        // SAFETY: the block starts with an initialised AtomicU32.
        unsafe { &*self.0.as_ptr().cast::<AtomicU32>() }
    }

    pub fn score(&self) -> f64 {
        // SAFETY: offset 8 holds the score.
        unsafe { self.0.as_ptr().add(8).cast::<f64>().read() }
    }

    pub fn member(&self) -> &[u8] {
        // SAFETY: member bytes of the stored length follow the header.
        unsafe {
            let len = self.0.as_ptr().add(4).cast::<u32>().read() as usize;
            std::slice::from_raw_parts(self.0.as_ptr().add(ZHEAD), len)
        }
    }
}

impl Clone for ZNode {
    fn clone(&self) -> Self {
        self.rc().fetch_add(1, AtomicOrdering::Relaxed);
        ZNode(self.0)
    }
}

impl Drop for ZNode {
    fn drop(&mut self) {
        if self.rc().fetch_sub(1, AtomicOrdering::Release) != 1 {
            return;
        }
        fence(AtomicOrdering::Acquire);
        let layout = Self::layout(self.member().len());
        // SAFETY: last reference; allocated with this layout.
        unsafe { dealloc(self.0.as_ptr(), layout) };
    }
}

impl SegItem for ZNode {
    fn seg_key(&self) -> &[u8] {
        self.member()
    }

    fn prefetch(&self) {
        crate::segmap::prefetch(self.0.as_ptr());
    }
}

impl std::fmt::Debug for ZNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "({}, {:?})",
            self.score(),
            String::from_utf8_lossy(self.member())
        )
    }
}

/// The score a listpack keeps: Redis stores integral scores as integers there, so `-0`
/// reads back as `0` (a skiplist keeps the double as is).
fn listpack_score(score: f64) -> f64 {
    if score == 0.0 {
        0.0
    } else {
        score
    }
}

/// Redis's element order: by score, then by member bytes.
pub fn cmp_elem(a_score: f64, a_member: &[u8], b_score: f64, b_member: &[u8]) -> Ordering {
    a_score
        .partial_cmp(&b_score)
        .unwrap_or(Ordering::Equal)
        .then_with(|| a_member.cmp(b_member))
}

fn cmp_nodes(a: &ZNode, b: &ZNode) -> Ordering {
    cmp_elem(a.score(), a.member(), b.score(), b.member())
}

/// A tree entry: the score inline beside the shared node, so that ordering by score (the
/// common case) reads only the tree node; the member is read only when scores tie.
#[derive(Clone)]
pub struct Ranked {
    score: f64,
    node: ZNode,
}

impl Ranked {
    fn new(node: ZNode) -> Ranked {
        Ranked {
            score: node.score(),
            node,
        }
    }

    pub fn score(&self) -> f64 {
        self.score
    }

    pub fn member(&self) -> &[u8] {
        self.node.member()
    }

    /// Orders this entry against (`score`, `member`), reading the member only on a tie.
    fn cmp_to(&self, score: f64, member: &[u8]) -> Ordering {
        match self.score.partial_cmp(&score).unwrap_or(Ordering::Equal) {
            Ordering::Equal => self.member().cmp(member),
            o => o,
        }
    }
}

impl std::fmt::Debug for Ranked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.node.fmt(f)
    }
}

/// One end of a score range (`(1.5` is exclusive).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ScoreBound {
    pub value: f64,
    pub exclusive: bool,
}

/// One end of a lexicographic range.
#[derive(Clone, Debug, PartialEq)]
pub enum LexBound {
    NegInf,
    PosInf,
    Inclusive(Vec<u8>),
    Exclusive(Vec<u8>),
}

impl ScoreBound {
    /// True if `score` is before this bound used as a range minimum.
    fn before_min(&self, score: f64) -> bool {
        score < self.value || (self.exclusive && score == self.value)
    }

    /// True if `score` is not after this bound used as a range maximum.
    fn within_max(&self, score: f64) -> bool {
        score < self.value || (!self.exclusive && score == self.value)
    }
}

impl LexBound {
    fn before_min(&self, m: &[u8]) -> bool {
        match self {
            LexBound::NegInf => false,
            LexBound::PosInf => true,
            LexBound::Inclusive(b) => m < b.as_slice(),
            LexBound::Exclusive(b) => m <= b.as_slice(),
        }
    }

    fn within_max(&self, m: &[u8]) -> bool {
        match self {
            LexBound::NegInf => false,
            LexBound::PosInf => true,
            LexBound::Inclusive(b) => m <= b.as_slice(),
            LexBound::Exclusive(b) => m < b.as_slice(),
        }
    }
}

#[derive(Clone, Debug)]
pub enum ZSet {
    /// Sorted by (score, member).
    Listpack(Vec<ZNode>),
    Skiplist {
        dict: SegMap<ZNode>,
        tree: CountedBTree<Ranked>,
    },
}

impl Default for ZSet {
    fn default() -> Self {
        ZSet::Listpack(Vec::new())
    }
}

impl ZSet {
    pub fn new() -> ZSet {
        ZSet::default()
    }

    /// Builds from (member, score) pairs, choosing the encoding by size (loading, *STORE).
    pub fn from_pairs<'a>(
        pairs: impl IntoIterator<Item = (&'a [u8], f64)>,
        limits: ZSetLimits,
    ) -> ZSet {
        let mut z = ZSet::new();
        for (m, s) in pairs {
            z.insert(m, s, limits);
        }
        z
    }

    /// Builds from elements already in ascending (score, member) order with distinct members
    /// (a computed result: ZUNIONSTORE, ZRANGESTORE...). The encoding is the one Redis ends
    /// up with for such a result: listpack when it fits both limits, skiplist otherwise.
    pub fn from_sorted(items: &[(&[u8], f64)], limits: ZSetLimits) -> ZSet {
        let fits = items.len() <= limits.max_entries
            && items.iter().all(|(m, _)| m.len() <= limits.max_value);
        if fits {
            let nodes = items.iter().map(|(m, s)| ZNode::new(m, listpack_score(*s)));
            return ZSet::Listpack(nodes.collect());
        }
        let tree = CountedBTree::from_sorted_iter(
            items.iter().map(|(m, s)| Ranked::new(ZNode::new(m, *s))),
        );
        let mut dict = SegMap::new();
        for n in tree.iter() {
            dict.insert_new(n.node.clone());
        }
        ZSet::Skiplist { dict, tree }
    }

    /// Converts a listpack to a skiplist ahead of a bulk insertion when the number of
    /// insertions or the longest member would exceed the listpack limits (Redis's
    /// `zsetTypeMaybeConvert`: decided from the request, even if some of it turns out to be
    /// a no-op). Returns true if it converted.
    pub fn convert_for_hint(
        &mut self,
        size_hint: usize,
        max_len: usize,
        limits: ZSetLimits,
    ) -> bool {
        let over = size_hint > limits.max_entries || max_len > limits.max_value;
        if over && matches!(self, ZSet::Listpack(_)) {
            self.convert_to_skiplist();
            return true;
        }
        false
    }

    pub fn len(&self) -> usize {
        match self {
            ZSet::Listpack(v) => v.len(),
            ZSet::Skiplist { dict, .. } => dict.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn encoding(&self) -> &'static str {
        match self {
            ZSet::Listpack(_) => "listpack",
            ZSet::Skiplist { .. } => "skiplist",
        }
    }

    pub fn score(&self, member: &[u8]) -> Option<f64> {
        match self {
            ZSet::Listpack(v) => v.iter().find(|n| n.member() == member).map(ZNode::score),
            ZSet::Skiplist { dict, .. } => dict.get(member).map(ZNode::score),
        }
    }

    /// Sets `member`'s score; returns true if the member is new.
    pub fn insert(&mut self, member: &[u8], score: f64, limits: ZSetLimits) -> bool {
        if let ZSet::Skiplist { dict, tree } = self {
            // An existing member changes score in place: its dictionary slot is reused (no
            // removal and re-insertion in the hash index); only the tree entry moves.
            if let Some(loc) = dict.locate(member) {
                let old = dict.at(loc).score();
                if old == score {
                    return false;
                }
                tree.remove_by(|e| e.cmp_to(old, member));
                let node = ZNode::new(member, score);
                *dict.at_mut(loc) = node.clone();
                tree.insert_by(Ranked::new(node), |a, _| a.cmp_to(score, member));
                return false;
            }
        }
        let existed = self.remove(member).is_some();
        if let ZSet::Listpack(v) = self {
            if v.len() + 1 > limits.max_entries || member.len() > limits.max_value {
                self.convert_to_skiplist();
            }
        }
        let node = match self {
            ZSet::Listpack(_) => ZNode::new(member, listpack_score(score)),
            ZSet::Skiplist { .. } => ZNode::new(member, score),
        };
        match self {
            ZSet::Listpack(v) => {
                let pos = v.partition_point(|n| cmp_nodes(n, &node) == Ordering::Less);
                v.insert(pos, node);
            }
            ZSet::Skiplist { dict, tree } => {
                dict.insert_new(node.clone());
                let (sc, m) = (node.score(), node.member().to_vec());
                tree.insert_by(Ranked::new(node), |a, _| a.cmp_to(sc, &m));
            }
        }
        !existed
    }

    /// Removes `member`, returning its score.
    pub fn remove(&mut self, member: &[u8]) -> Option<f64> {
        match self {
            ZSet::Listpack(v) => {
                let pos = v.iter().position(|n| n.member() == member)?;
                Some(v.remove(pos).score())
            }
            ZSet::Skiplist { dict, tree } => {
                let node = dict.remove(member)?;
                let (s, m) = (node.score(), node.member());
                tree.remove_by(|e| e.cmp_to(s, m));
                Some(s)
            }
        }
    }

    pub fn convert_to_skiplist(&mut self) {
        if let ZSet::Listpack(v) = self {
            let mut dict = SegMap::new();
            for n in v.iter() {
                dict.insert_new(n.clone());
            }
            let tree =
                CountedBTree::from_sorted_iter(std::mem::take(v).into_iter().map(Ranked::new));
            *self = ZSet::Skiplist { dict, tree };
        }
    }

    /// 0-based ascending rank of `member`.
    pub fn rank(&self, member: &[u8]) -> Option<usize> {
        match self {
            ZSet::Listpack(v) => v.iter().position(|n| n.member() == member),
            ZSet::Skiplist { dict, tree } => {
                let node = dict.get(member)?;
                let (s, m) = (node.score(), node.member());
                Some(tree.count_before(|e| e.cmp_to(s, m)))
            }
        }
    }

    /// The element at ascending rank `r`.
    pub fn get(&self, r: usize) -> Option<(&[u8], f64)> {
        match self {
            ZSet::Listpack(v) => v.get(r).map(|n| (n.member(), n.score())),
            ZSet::Skiplist { tree, .. } => tree.get(r).map(|n| (n.member(), n.score())),
        }
    }

    /// Number of elements ordered before the first one `before` rejects, for a predicate on
    /// (score, member) that is true for a prefix of the order ("is before the bound").
    fn count_prefix(&self, before: impl for<'a> Fn(f64, &dyn Fn() -> &'a [u8]) -> bool) -> usize {
        match self {
            ZSet::Listpack(v) => v.partition_point(|n| before(n.score(), &|| n.member())),
            ZSet::Skiplist { tree, .. } => tree.count_before(|e| {
                if before(e.score, &|| e.member()) {
                    Ordering::Less
                } else {
                    Ordering::Greater
                }
            }),
        }
    }

    /// Rank interval `[start, end)` of the elements with `min <= score <= max`.
    pub fn score_range(&self, min: ScoreBound, max: ScoreBound) -> (usize, usize) {
        let start = self.count_prefix(|s, _| min.before_min(s));
        let end = self.count_prefix(|s, _| max.within_max(s));
        (start, end.max(start))
    }

    /// Rank interval `[start, end)` of the elements within a lexicographic range (meaningful
    /// when all scores are equal, as Redis documents).
    pub fn lex_range(&self, min: &LexBound, max: &LexBound) -> (usize, usize) {
        let start = self.count_prefix(|_, m| min.before_min(m()));
        let end = self.count_prefix(|_, m| max.within_max(m()));
        (start, end.max(start))
    }

    /// Elements with ranks in `[start, end)`, ascending, or descending from `end - 1` when `rev`.
    pub fn range(&self, start: usize, end: usize, rev: bool) -> Vec<(&[u8], f64)> {
        let end = end.min(self.len());
        if start >= end {
            return Vec::new();
        }
        let n = end - start;
        fn pair(z: &ZNode) -> (&[u8], f64) {
            (z.member(), z.score())
        }
        fn ranked(z: &Ranked) -> (&[u8], f64) {
            (z.member(), z.score)
        }
        match (self, rev) {
            (ZSet::Listpack(v), false) => v[start..end].iter().map(pair).collect(),
            (ZSet::Listpack(v), true) => v[start..end].iter().rev().map(pair).collect(),
            (ZSet::Skiplist { tree, .. }, false) => {
                tree.iter_from(start).take(n).map(ranked).collect()
            }
            (ZSet::Skiplist { tree, .. }, true) => {
                tree.iter_rev_from(end - 1).take(n).map(ranked).collect()
            }
        }
    }

    /// Removes the elements with ranks in `[start, end)`; returns them in ascending order.
    pub fn remove_range(&mut self, start: usize, end: usize) -> Vec<(Vec<u8>, f64)> {
        let end = end.min(self.len());
        if start >= end {
            return Vec::new();
        }
        let removed: Vec<ZNode> = match self {
            ZSet::Listpack(v) => v.drain(start..end).collect(),
            ZSet::Skiplist { dict, tree } => {
                let nodes = tree.remove_range(start, end);
                for n in &nodes {
                    dict.remove(n.member());
                }
                nodes.into_iter().map(|r| r.node).collect()
            }
        };
        removed
            .iter()
            .map(|n| (n.member().to_vec(), n.score()))
            .collect()
    }

    /// Ascending iteration.
    pub fn iter(&self) -> Box<dyn Iterator<Item = (&[u8], f64)> + '_> {
        match self {
            ZSet::Listpack(v) => Box::new(v.iter().map(|n| (n.member(), n.score()))),
            ZSet::Skiplist { tree, .. } => Box::new(tree.iter().map(|n| (n.member(), n.score()))),
        }
    }

    pub fn random(&self, rng: &mut Rng) -> Option<(&[u8], f64)> {
        if self.is_empty() {
            return None;
        }
        self.get(rng.below(self.len() as u64) as usize)
    }

    /// One ZSCAN step; the compact encoding is returned whole with cursor 0.
    pub fn scan(&self, cursor: u64, count: usize, mut emit: impl FnMut(&[u8], f64)) -> u64 {
        match self {
            ZSet::Listpack(v) => {
                v.iter().for_each(|n| emit(n.member(), n.score()));
                0
            }
            ZSet::Skiplist { dict, .. } => {
                dict.scan(cursor, count, |n| emit(n.member(), n.score()))
            }
        }
    }

    pub fn mem_usage(&self) -> usize {
        let nodes: usize = self
            .iter()
            .map(|(m, _)| (ZHEAD + m.len()).next_multiple_of(16))
            .sum();
        match self {
            ZSet::Listpack(v) => v.capacity() * 8 + nodes,
            ZSet::Skiplist { dict, .. } => dict.overhead_bytes() + self.len() * 12 + nodes,
        }
    }
}

impl ZSet {
    /// Starts loading what looking up these members (by [`crate::hash_key`]) will read.
    pub fn prefetch_members(&self, hashes: &[u64]) {
        if let ZSet::Skiplist { dict, .. } = self {
            dict.prefetch(hashes, |n| n.prefetch());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_model(z: &ZSet, model: &[(f64, Vec<u8>)]) {
        assert_eq!(z.len(), model.len());
        let got: Vec<(f64, Vec<u8>)> = z.iter().map(|(m, s)| (s, m.to_vec())).collect();
        assert_eq!(got, model);
        for (i, (s, m)) in model.iter().enumerate() {
            assert_eq!(z.rank(m), Some(i));
            assert_eq!(z.score(m), Some(*s));
        }
    }

    #[test]
    fn both_encodings_match_a_sorted_model() {
        for limits in [
            ZSetLimits::default(),
            ZSetLimits {
                max_entries: 0,
                max_value: 0,
            },
        ] {
            let mut z = ZSet::new();
            let mut model: Vec<(f64, Vec<u8>)> = Vec::new();
            let mut rng = Rng::new(11);
            for step in 0..3000 {
                let m = format!("m{}", rng.below(300)).into_bytes();
                let s = (rng.below(20) as f64) / 2.0;
                if rng.below(4) == 0 {
                    let want = model
                        .iter()
                        .position(|(_, x)| *x == m)
                        .map(|p| model.remove(p).0);
                    assert_eq!(z.remove(&m), want);
                } else {
                    let new = !model.iter().any(|(_, x)| *x == m);
                    model.retain(|(_, x)| *x != m);
                    model.push((s, m.clone()));
                    model.sort_by(|a, b| cmp_elem(a.0, &a.1, b.0, &b.1));
                    assert_eq!(z.insert(&m, s, limits), new);
                }
                if step % 500 == 0 {
                    check_model(&z, &model);
                }
            }
            check_model(&z, &model);
            let (a, b) = z.score_range(
                ScoreBound {
                    value: 2.0,
                    exclusive: true,
                },
                ScoreBound {
                    value: 5.0,
                    exclusive: false,
                },
            );
            let want = model.iter().filter(|(s, _)| *s > 2.0 && *s <= 5.0).count();
            assert_eq!(b - a, want);
            let removed = z.remove_range(a, b);
            assert_eq!(removed.len(), want);
            model.retain(|(s, _)| !(*s > 2.0 && *s <= 5.0));
            check_model(&z, &model);
        }
    }

    #[test]
    fn from_sorted_picks_the_encoding_and_matches_insertion() {
        let limits = ZSetLimits {
            max_entries: 4,
            max_value: 3,
        };
        let names: Vec<Vec<u8>> = (0..6).map(|i| format!("m{i}").into_bytes()).collect();
        let items: Vec<(&[u8], f64)> = names.iter().map(|n| (&n[..], 1.0)).collect();
        let small = ZSet::from_sorted(&items[..4], limits);
        assert_eq!(small.encoding(), "listpack");
        let big = ZSet::from_sorted(&items, limits);
        assert_eq!(big.encoding(), "skiplist");
        let inserted = ZSet::from_pairs(items.iter().copied(), limits);
        let a: Vec<_> = big.iter().collect();
        let b: Vec<_> = inserted.iter().collect();
        assert_eq!(a, b);
        assert_eq!(big.rank(b"m5"), Some(5));
        assert_eq!(big.score(b"m3"), Some(1.0));
        let long = [(&b"long"[..], 1.0)];
        assert_eq!(ZSet::from_sorted(&long, limits).encoding(), "skiplist");
        // A listpack keeps -0 as the integer 0.
        let z = ZSet::from_sorted(&[(&b"a"[..], -0.0)], limits);
        assert!(z.score(b"a").is_some_and(|s| s.is_sign_positive()));
    }

    #[test]
    fn conversion_hint() {
        let limits = ZSetLimits {
            max_entries: 2,
            max_value: 4,
        };
        let mut z = ZSet::new();
        assert!(!z.convert_for_hint(2, 4, limits));
        assert!(z.convert_for_hint(3, 1, limits));
        assert_eq!(z.encoding(), "skiplist");
        assert!(!z.convert_for_hint(3, 1, limits));
        let mut z = ZSet::new();
        assert!(z.convert_for_hint(1, 5, limits));
    }

    #[test]
    fn large_skiplist_ranges_cross_leaves() {
        let limits = ZSetLimits::default();
        let names: Vec<Vec<u8>> = (0..20_000)
            .map(|i| format!("m{i:05}").into_bytes())
            .collect();
        let items: Vec<(&[u8], f64)> = names.iter().map(|n| (&n[..], 0.0)).collect();
        let z = ZSet::from_sorted(&items, limits);
        assert_eq!(z.iter().count(), 20_000);
        let fwd = z.range(5_000, 15_000, false);
        assert_eq!(fwd.len(), 10_000);
        assert!(fwd.windows(2).all(|w| w[0].0 < w[1].0));
        let rev = z.range(5_000, 15_000, true);
        assert_eq!(rev.first().map(|x| x.0), Some(&b"m14999"[..]));
        assert!(rev.windows(2).all(|w| w[0].0 > w[1].0));
    }
}
