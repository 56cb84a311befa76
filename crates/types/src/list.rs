//! List values: a deque of small chunks, each shared copy-on-write (`Arc`), so a snapshot of a
//! long list costs one pointer per chunk and a push during a snapshot copies one chunk.
//!
//! The reported encoding follows Valkey 8: `listpack` while the list would fit in one listpack
//! node under `list-max-listpack-size`, `quicklist` beyond; a quicklist shrinks back to listpack
//! under half the limits. To decide exactly as Valkey does we track the byte size the list would
//! have as a listpack (`lp_bytes`).

use std::collections::VecDeque;
use std::sync::Arc;

use crate::blob::Blob;
use crate::set::resp_int;

/// Elements per internal chunk (unrelated to Redis's node sizes; only affects performance).
const CHUNK: usize = 128;
/// Header (6) + terminator (1) of a listpack.
const LP_OVERHEAD: usize = 7;

type Chunk = VecDeque<Blob>;

/// Bytes an element takes inside a listpack (encoding + data + backlen).
pub fn lp_entry_size(elem: &[u8]) -> usize {
    let body = match resp_int(elem).filter(|_| elem.len() <= 20) {
        Some(v) if (0..=127).contains(&v) => 1,
        Some(v) if (-4096..4096).contains(&v) => 2,
        Some(v) if (i16::MIN as i64..=i16::MAX as i64).contains(&v) => 3,
        Some(v) if (-(1 << 23)..(1 << 23)).contains(&v) => 4,
        Some(v) if (i32::MIN as i64..=i32::MAX as i64).contains(&v) => 5,
        Some(_) => 9,
        None if elem.len() < 64 => 1 + elem.len(),
        None if elem.len() < 4096 => 2 + elem.len(),
        None => 5 + elem.len(),
    };
    let backlen = match body {
        0..=127 => 1,
        128..=16383 => 2,
        16384..=2097151 => 3,
        2097152..=268435455 => 4,
        _ => 5,
    };
    body + backlen
}

/// `list-max-listpack-size`: negative = byte limit class, positive = entry count.
#[derive(Clone, Copy, Debug)]
pub struct ListLimits {
    pub fill: i64,
}

impl Default for ListLimits {
    fn default() -> Self {
        ListLimits { fill: -2 }
    }
}

impl ListLimits {
    /// (size limit, count limit) as `quicklistNodeLimit`.
    fn limits(self) -> (usize, usize) {
        if self.fill >= 0 {
            (
                usize::MAX,
                if self.fill == 0 {
                    1
                } else {
                    self.fill as usize
                },
            )
        } else {
            let idx = ((-self.fill) as usize - 1).min(4);
            ([4096, 8192, 16384, 32768, 65536][idx], usize::MAX)
        }
    }

    fn exceeds(self, bytes: usize, count: usize) -> bool {
        let (sz, cnt) = self.limits();
        if sz != usize::MAX {
            bytes > sz
        } else {
            bytes > 8192 || count > cnt
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct List {
    chunks: VecDeque<Arc<Chunk>>,
    len: usize,
    lp_bytes: usize,
    quicklist: bool,
}

/// Which end of a list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    Left,
    Right,
}

impl List {
    pub fn new() -> List {
        List {
            lp_bytes: LP_OVERHEAD,
            ..Default::default()
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
    /// quicklist and pushed by LMOVE), which callers express through this form.
    pub fn prepare_growth_by(&mut self, bytes: usize, count: usize, limits: ListLimits) {
        if !self.quicklist && limits.exceeds(self.lp_bytes + bytes, self.len + count) {
            self.quicklist = true;
        }
    }

    /// Call after removing elements: a small quicklist becomes a listpack again (under half
    /// the limits, and only if no element would need a plain node).
    pub fn after_shrink(&mut self, limits: ListLimits) {
        if !self.quicklist {
            return;
        }
        let (sz, cnt) = limits.limits();
        let fits = if sz != usize::MAX {
            self.lp_bytes <= sz / 2
        } else {
            self.len <= cnt / 2 && self.iter().all(|e| e.len() <= 8192)
        };
        if fits {
            self.quicklist = false;
        }
    }

    pub fn push(&mut self, end: End, elem: &[u8]) {
        self.lp_bytes += lp_entry_size(elem);
        self.len += 1;
        let blob = Blob::new(elem);
        match end {
            End::Left => {
                if self.chunks.front().is_none_or(|c| c.len() >= CHUNK) {
                    self.chunks.push_front(Arc::new(VecDeque::with_capacity(8)));
                }
                if let Some(c) = self.chunks.front_mut() {
                    Arc::make_mut(c).push_front(blob);
                }
            }
            End::Right => {
                if self.chunks.back().is_none_or(|c| c.len() >= CHUNK) {
                    self.chunks.push_back(Arc::new(VecDeque::with_capacity(8)));
                }
                if let Some(c) = self.chunks.back_mut() {
                    Arc::make_mut(c).push_back(blob);
                }
            }
        }
    }

    pub fn pop(&mut self, end: End) -> Option<Vec<u8>> {
        let blob = match end {
            End::Left => {
                let c = Arc::make_mut(self.chunks.front_mut()?);
                let b = c.pop_front();
                if c.is_empty() {
                    self.chunks.pop_front();
                }
                b
            }
            End::Right => {
                let c = Arc::make_mut(self.chunks.back_mut()?);
                let b = c.pop_back();
                if c.is_empty() {
                    self.chunks.pop_back();
                }
                b
            }
        }?;
        self.len -= 1;
        self.lp_bytes -= lp_entry_size(&blob);
        Some(blob.to_vec())
    }

    /// Locates element `idx` (0-based from the left): (chunk, offset).
    fn locate(&self, idx: usize) -> Option<(usize, usize)> {
        if idx >= self.len {
            return None;
        }
        if idx >= self.len / 2 {
            // Walk from the right end for indices in the second half.
            let mut remaining = self.len - idx;
            for (ci, c) in self.chunks.iter().enumerate().rev() {
                if remaining <= c.len() {
                    return Some((ci, c.len() - remaining));
                }
                remaining -= c.len();
            }
            return None;
        }
        let mut i = idx;
        for (ci, c) in self.chunks.iter().enumerate() {
            if i < c.len() {
                return Some((ci, i));
            }
            i -= c.len();
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

    pub fn get(&self, idx: usize) -> Option<&[u8]> {
        let (c, o) = self.locate(idx)?;
        Some(self.chunks[c][o].as_bytes())
    }

    /// Replaces element `idx`; returns false if out of range.
    pub fn set(&mut self, idx: usize, elem: &[u8]) -> bool {
        let Some((c, o)) = self.locate(idx) else {
            return false;
        };
        let chunk = Arc::make_mut(&mut self.chunks[c]);
        self.lp_bytes = self.lp_bytes + lp_entry_size(elem) - lp_entry_size(&chunk[o]);
        chunk[o] = Blob::new(elem);
        true
    }

    /// Inserts before position `idx` (idx == len appends).
    pub fn insert(&mut self, idx: usize, elem: &[u8]) {
        if idx >= self.len {
            return self.push(End::Right, elem);
        }
        if idx == 0 {
            return self.push(End::Left, elem);
        }
        let Some((c, o)) = self.locate(idx) else {
            return;
        };
        self.lp_bytes += lp_entry_size(elem);
        self.len += 1;
        let chunk = Arc::make_mut(&mut self.chunks[c]);
        chunk.insert(o, Blob::new(elem));
        if chunk.len() > 2 * CHUNK {
            let tail: VecDeque<Blob> = chunk.split_off(CHUNK);
            self.chunks.insert(c + 1, Arc::new(tail));
        }
    }

    /// Iterates from the left.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &[u8]> + '_ {
        self.chunks
            .iter()
            .flat_map(|c| c.iter().map(|b| b.as_bytes()))
    }

    /// Elements in positions `start..=end` (already clamped by the caller).
    pub fn range(&self, start: usize, end: usize) -> Vec<&[u8]> {
        if start > end || start >= self.len {
            return Vec::new();
        }
        let Some((mut c, mut o)) = self.locate(start) else {
            return Vec::new();
        };
        let mut out = Vec::with_capacity(end - start + 1);
        while out.len() < end - start + 1 && c < self.chunks.len() {
            if o < self.chunks[c].len() {
                out.push(self.chunks[c][o].as_bytes());
                o += 1;
            } else {
                c += 1;
                o = 0;
            }
        }
        out
    }

    /// Keeps only positions `start..=end`; everything else is removed. Costs O(removed):
    /// whole chunks are dropped without being copied, even if a snapshot shares them.
    pub fn trim(&mut self, start: usize, end: usize) {
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
        let mut left = n.min(self.len);
        while left > 0 {
            let Some(front) = self.chunks.front_mut() else {
                break;
            };
            let k = left.min(front.len());
            let gone: usize = front.iter().take(k).map(|b| lp_entry_size(b)).sum();
            if k == front.len() {
                self.chunks.pop_front();
            } else {
                Arc::make_mut(front).drain(..k);
            }
            self.len -= k;
            self.lp_bytes -= gone;
            left -= k;
        }
    }

    /// Removes the last `n` elements (all of them if `n >= len`).
    pub fn drop_back(&mut self, n: usize) {
        let mut left = n.min(self.len);
        while left > 0 {
            let Some(back) = self.chunks.back_mut() else {
                break;
            };
            let k = left.min(back.len());
            let gone: usize = back.iter().rev().take(k).map(|b| lp_entry_size(b)).sum();
            if k == back.len() {
                self.chunks.pop_back();
            } else {
                let keep = back.len() - k;
                Arc::make_mut(back).truncate(keep);
            }
            self.len -= k;
            self.lp_bytes -= gone;
            left -= k;
        }
    }

    /// Removes elements equal to `elem`: `count > 0` from the left, `< 0` from the right,
    /// `0` all. Returns how many were removed. Only chunks holding a match are copied.
    pub fn remove(&mut self, elem: &[u8], count: i64) -> usize {
        let mut left = if count == 0 {
            usize::MAX
        } else {
            count.unsigned_abs().min(usize::MAX as u64) as usize
        };
        let from_right = count < 0;
        let order: Vec<usize> = if from_right {
            (0..self.chunks.len()).rev().collect()
        } else {
            (0..self.chunks.len()).collect()
        };
        let mut removed = 0;
        for ci in order {
            if left == 0 {
                break;
            }
            if !self.chunks[ci].iter().any(|b| b.as_bytes() == elem) {
                continue;
            }
            let n = remove_in_chunk(Arc::make_mut(&mut self.chunks[ci]), elem, left, from_right);
            left -= n;
            removed += n;
        }
        self.len -= removed;
        self.lp_bytes -= removed * lp_entry_size(elem);
        self.chunks.retain(|c| !c.is_empty());
        removed
    }

    /// Builds a list from elements (loading), encoding chosen by size.
    pub fn from_elems<'a>(elems: impl IntoIterator<Item = &'a [u8]>, limits: ListLimits) -> List {
        let mut l = List::new();
        for e in elems {
            l.push(End::Right, e);
        }
        l.quicklist = limits.exceeds(l.lp_bytes, l.len);
        l
    }

    pub fn mem_usage(&self) -> usize {
        self.chunks.len() * 64
            + self
                .iter()
                .map(|e| 8 + if e.len() > 7 { e.len() + 4 } else { 0 })
                .sum::<usize>()
    }
}

/// Removes up to `limit` elements equal to `elem` from one chunk, scanning from the back if
/// `from_right`; returns how many went.
fn remove_in_chunk(chunk: &mut Chunk, elem: &[u8], limit: usize, from_right: bool) -> usize {
    let mut removed = 0;
    let mut keep = |b: &Blob| {
        if removed < limit && b.as_bytes() == elem {
            removed += 1;
            false
        } else {
            true
        }
    };
    if from_right {
        let mut kept: Chunk = chunk.drain(..).rev().filter(|b| keep(b)).collect();
        kept.make_contiguous().reverse();
        *chunk = kept;
    } else {
        chunk.retain(|b| keep(b));
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model_check(l: &List, model: &VecDeque<Vec<u8>>) {
        assert_eq!(l.len(), model.len());
        let got: Vec<&[u8]> = l.iter().collect();
        let want: Vec<&[u8]> = model.iter().map(|v| v.as_slice()).collect();
        assert_eq!(got, want);
        let rebuilt = List::from_elems(want.iter().copied(), ListLimits::default());
        assert_eq!(
            l.lp_bytes, rebuilt.lp_bytes,
            "listpack size tracking drifted"
        );
    }

    #[test]
    fn matches_vecdeque_model() {
        let mut l = List::new();
        let mut model = VecDeque::new();
        let mut rng = crate::rand::Rng::new(3);
        for step in 0..20_000 {
            let v = format!("v{}", rng.below(50)).into_bytes();
            match rng.below(8) {
                0 | 1 => {
                    l.push(End::Left, &v);
                    model.push_front(v);
                }
                2 | 3 => {
                    l.push(End::Right, &v);
                    model.push_back(v);
                }
                4 => assert_eq!(l.pop(End::Left), model.pop_front()),
                5 => assert_eq!(l.pop(End::Right), model.pop_back()),
                6 if !model.is_empty() => {
                    let i = rng.below(model.len() as u64 + 1) as usize;
                    l.insert(i, &v);
                    model.insert(i, v);
                }
                7 if step % 53 == 0 && !model.is_empty() => {
                    let (a, b) = (rng.below(model.len() as u64) as usize, model.len());
                    let end = a + rng.below((b - a) as u64) as usize;
                    l.trim(a, end);
                    model = model.drain(a..=end).collect();
                }
                _ if step % 89 == 0 => {
                    let n = l.remove(&v, -1);
                    let found = model.iter().rposition(|e| *e == v);
                    if let Some(i) = found {
                        model.remove(i);
                    }
                    assert_eq!(n, usize::from(found.is_some()));
                }
                _ if step % 97 == 0 => {
                    let n = l.remove(&v, 2);
                    let mut removed = 0;
                    model.retain(|e| {
                        if removed < 2 && *e == v {
                            removed += 1;
                            false
                        } else {
                            true
                        }
                    });
                    assert_eq!(n, removed);
                }
                _ => {}
            }
            if step % 1000 == 0 {
                model_check(&l, &model);
                for (i, want) in model.iter().enumerate() {
                    assert_eq!(l.get(i), Some(want.as_slice()));
                }
            }
        }
        model_check(&l, &model);
    }

    fn from_strs(items: &[&str]) -> List {
        List::from_elems(items.iter().map(|s| s.as_bytes()), ListLimits::default())
    }

    fn strs(l: &List) -> Vec<String> {
        l.iter()
            .map(|e| String::from_utf8_lossy(e).into_owned())
            .collect()
    }

    #[test]
    fn trim_and_drop_keep_sizes_in_step() {
        let items: Vec<String> = (0..1000).map(|i| format!("e{i}")).collect();
        let refs: Vec<&str> = items.iter().map(|s| s.as_str()).collect();
        let mut l = from_strs(&refs);
        l.trim(300, 700);
        assert_eq!(strs(&l), items[300..=700].to_vec());
        let expect = from_strs(&refs[300..=700]);
        assert_eq!(l.lp_bytes, expect.lp_bytes);
        l.drop_back(1);
        l.drop_front(2);
        assert_eq!(strs(&l), items[302..700].to_vec());
        l.trim(5, 2);
        assert!(l.is_empty());
        assert_eq!(l.lp_bytes, LP_OVERHEAD);
        assert_eq!(l.iter().count(), 0);
    }

    #[test]
    fn remove_from_either_side_and_all() {
        let mut l = from_strs(&["a", "x", "b", "x", "c", "x"]);
        assert_eq!(l.remove(b"x", -2), 2);
        assert_eq!(strs(&l), ["a", "x", "b", "c"]);
        assert_eq!(l.remove(b"x", 5), 1);
        assert_eq!(l.remove(b"nope", 0), 0);
        assert_eq!(strs(&l), ["a", "b", "c"]);
        assert_eq!(l.lp_bytes, from_strs(&["a", "b", "c"]).lp_bytes);
    }

    #[test]
    fn edits_do_not_leak_into_a_shared_copy() {
        let items: Vec<String> = (0..600).map(|i| format!("{}", i % 7)).collect();
        let refs: Vec<&str> = items.iter().map(|s| s.as_str()).collect();
        let mut l = from_strs(&refs);
        let snapshot = l.clone();
        l.remove(b"3", 0);
        l.trim(10, 400);
        l.set(0, b"changed");
        assert_eq!(strs(&snapshot), items);
        // Chunks entirely outside the edits are still shared.
        let shared = l
            .chunks
            .iter()
            .filter(|c| snapshot.chunks.iter().any(|s| Arc::ptr_eq(c, s)))
            .count();
        assert_eq!(
            shared, 0,
            "every chunk held a '3', so every chunk was copied"
        );
        let mut m = from_strs(&refs);
        let snap = m.clone();
        m.drop_front(CHUNK);
        assert!(m
            .chunks
            .iter()
            .all(|c| snap.chunks.iter().any(|s| Arc::ptr_eq(c, s))));
    }

    #[test]
    fn listpack_entry_sizes() {
        assert_eq!(lp_entry_size(b"5"), 2);
        assert_eq!(lp_entry_size(b"1000"), 3);
        assert_eq!(lp_entry_size(b"hello"), 7);
        assert_eq!(lp_entry_size(&[b'x'; 100]), 103);
    }

    #[test]
    fn encoding_switches_by_size_and_back() {
        let limits = ListLimits::default();
        let mut l = List::new();
        let big = vec![b'x'; 1000];
        for _ in 0..8 {
            l.prepare_growth([big.as_slice()], limits);
            l.push(End::Right, &big);
        }
        assert_eq!(l.encoding(), "listpack");
        l.prepare_growth([big.as_slice()], limits);
        l.push(End::Right, &big);
        assert_eq!(l.encoding(), "quicklist");
        for _ in 0..6 {
            l.pop(End::Left);
        }
        l.after_shrink(limits);
        assert_eq!(l.encoding(), "listpack");
    }
}
