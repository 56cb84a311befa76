//! `Slot`: one list node — its block, its entry count and the size Valkey's listpack for it
//! would have — and the entry-level edits on it (insert, remove, replace, split), which keep
//! the count and the Valkey size in step with the bytes.
//!
//! No quicklist rules here (which node an element goes to): that is [`super::List`]'s.

use super::node::{Block, Room};
use super::pack::{self, Elem};
use super::LP_OVERHEAD;

/// A node's entries, read: its bytes (decompressed if the node is compressed), entry count and
/// kind.
#[derive(Clone, Copy)]
pub(super) struct View<'a> {
    pub data: &'a [u8],
    pub count: usize,
    pub plain: bool,
}

impl<'a> View<'a> {
    /// The element starting at byte `off` and the offset after it.
    #[inline]
    pub(super) fn read(self, off: usize) -> (Elem<'a>, usize) {
        if self.plain {
            (Elem::Str(self.data), self.data.len())
        } else {
            pack::read(self.data, off)
        }
    }

    /// The byte offset of entry `o` (`o == count` gives the end), walking from nearer end.
    pub(super) fn offset_of(self, o: usize) -> usize {
        let data = self.data;
        if self.plain {
            return if o == 0 { 0 } else { data.len() };
        }
        if o <= self.count / 2 {
            let mut off = 0;
            for _ in 0..o {
                off = pack::read(data, off).1;
            }
            off
        } else {
            let mut off = data.len();
            for _ in o..self.count {
                off = pack::prev(data, off);
            }
            off
        }
    }

    pub(super) fn get(self, o: usize) -> Elem<'a> {
        self.read(self.offset_of(o)).0
    }
}

/// One node: its block, its entry count and the size Valkey's listpack for it would have
/// (for a plain node, the element's length, as Valkey's `node->sz`).
#[derive(Clone, Debug)]
pub(super) struct Slot {
    pub block: Block,
    pub count: usize,
    pub lp: usize,
}

impl Slot {
    pub(super) fn packed_one(e: Elem<'_>) -> Slot {
        let size = e.packed_size();
        let mut block = Block::packed(&[], size, Room::Back);
        block.splice_with(0, 0, size, |dst| {
            pack::write(e, dst);
        });
        Slot {
            block,
            count: 1,
            lp: LP_OVERHEAD + e.lp_size(),
        }
    }

    pub(super) fn plain(bytes: &[u8]) -> Slot {
        Slot {
            block: Block::plain(bytes),
            count: 1,
            lp: bytes.len(),
        }
    }

    pub(super) fn is_plain(&self) -> bool {
        self.block.is_plain()
    }

    /// The entries of an uncompressed node (callers uncompress first; reads of a compressed
    /// node go through [`super::List`]'s cache).
    #[inline]
    pub(super) fn view(&self) -> View<'_> {
        debug_assert!(!self.block.is_lzf());
        View {
            data: self.block.data(),
            count: self.count,
            plain: self.is_plain(),
        }
    }

    /// Makes a compressed node an ordinary one (before a change, or back within the ends).
    pub(super) fn inflate(&mut self) {
        if self.block.is_lzf() {
            self.block = self.block.decompressed(Room::Back);
        }
    }

    /// Compresses the node if that pays (see [`Block::compressed`]).
    pub(super) fn deflate(&mut self) {
        if let Some(z) = self.block.compressed(self.lp) {
            self.block = z;
        }
    }

    /// Runs `f` on the node's entries, decompressing a compressed node into a temporary
    /// (for reads inside a change of the list, which must not fill its cache).
    pub(super) fn scan<R>(&self, f: impl FnOnce(View<'_>) -> R) -> R {
        if !self.block.is_lzf() {
            return f(self.view());
        }
        let bytes = self.block.inflate();
        f(View {
            data: &bytes,
            count: self.count,
            plain: self.is_plain(),
        })
    }

    pub(super) fn get(&self, o: usize) -> Elem<'_> {
        self.view().get(o)
    }

    fn offset_of(&self, o: usize) -> usize {
        self.view().offset_of(o)
    }

    pub(super) fn insert_entry(&mut self, o: usize, e: Elem<'_>) {
        self.inflate();
        let size = e.packed_size();
        let write = |dst: &mut [u8]| {
            pack::write(e, dst);
        };
        if o == 0 || o == self.count {
            self.block.push_with(o != 0, size, write);
        } else {
            let off = self.offset_of(o);
            self.block.splice_with(off, off, size, write);
        }
        self.count += 1;
        self.lp += e.lp_size();
    }

    /// Removes and returns the first (`back`: last) entry's text.
    pub(super) fn pop_entry(&mut self, back: bool) -> Vec<u8> {
        self.inflate();
        let data = self.block.data();
        let start = if back {
            pack::prev(data, data.len())
        } else {
            0
        };
        let (e, next) = pack::read(data, start);
        let (text, lp) = (e.to_vec(), e.lp_size());
        self.block.cut(back, next - start);
        self.count -= 1;
        self.lp -= lp;
        text
    }

    /// Removes entries `from..to`.
    pub(super) fn remove_entries(&mut self, from: usize, to: usize) {
        self.inflate();
        let a = self.offset_of(from);
        let data = self.block.data();
        let (mut b, mut gone) = (a, 0);
        for _ in from..to {
            let (e, next) = pack::read(data, b);
            gone += e.lp_size();
            b = next;
        }
        self.block.splice(a, b, &[]);
        self.count -= to - from;
        self.lp -= gone;
    }

    pub(super) fn replace_entry(&mut self, o: usize, e: Elem<'_>) {
        self.inflate();
        let a = self.offset_of(o);
        let (old, b) = self.view().read(a);
        let old_lp = old.lp_size();
        self.block.splice_with(a, b, e.packed_size(), |dst| {
            pack::write(e, dst);
        });
        self.lp = self.lp - old_lp + e.lp_size();
    }

    /// Splits off entries `at..` into a new node (this one keeps `..at`).
    pub(super) fn split_off(&mut self, at: usize) -> Slot {
        self.inflate();
        let off = self.offset_of(at);
        let data = self.block.data();
        let mut tail_lp = LP_OVERHEAD;
        let mut p = off;
        while p < data.len() {
            let (e, next) = pack::read(data, p);
            tail_lp += e.lp_size();
            p = next;
        }
        let tail = Slot {
            block: Block::packed(&data[off..], data.len() - off, Room::Back),
            count: self.count - at,
            lp: tail_lp,
        };
        let len = data.len();
        self.block.splice(off, len, &[]);
        self.count = at;
        self.lp -= tail_lp - LP_OVERHEAD;
        tail
    }

    /// Keeps the entries for which `keep` says so; returns how many went. The block is
    /// rewritten once, whatever the number of removals.
    pub(super) fn retain(&mut self, mut keep: impl FnMut(Elem<'_>) -> bool) -> usize {
        self.inflate();
        let data = self.block.data();
        let mut kept = Vec::with_capacity(data.len());
        let (mut off, mut gone, mut gone_lp) = (0, 0, 0);
        for _ in 0..self.count {
            let (e, next) = pack::read(data, off);
            if keep(e) {
                kept.extend_from_slice(&data[off..next]);
            } else {
                gone += 1;
                gone_lp += e.lp_size();
            }
            off = next;
        }
        if gone > 0 {
            let len = data.len();
            self.block.splice(0, len, &kept);
            self.count -= gone;
            self.lp -= gone_lp;
        }
        gone
    }
}
