//! `Block`: the bytes of one list node in a single heap allocation, shared copy-on-write.
//!
//! Layout (8-aligned): a 32-byte header — reference count, flags, capacity and the live
//! range `start..end` — then `capacity` bytes. The live bytes are either packed entries
//! ([`super::pack`]) or, for a plain node, one element's raw bytes; or either of them
//! LZF-compressed (a node between a quicklist's ends under `list-compress-depth`), which is
//! read through [`Block::inflate`] and never changed in place. Free space may sit on
//! both sides of the live range (a gap buffer), so pushing at either end of a node moves
//! nothing; a node grows by allocator size classes (~25% at a time; doubling below 1 KiB)
//! and shrinks when half empty. Header and bytes share one allocation: a full 8 KiB node of 64-byte elements is one
//! 8192-byte block.
//!
//! **Sharing.** A snapshot of a list clones its node handles (a reference count each). Every
//! mutation goes through `&mut Block` and first copies a block that is still shared, so a
//! snapshot never observes a change and a write to a long list copies one node. The count is
//! atomic because snapshot threads drop their handles concurrently.
//!
//! What the bytes mean (entry counts, Valkey sizes) is the list's business, not the block's.

use std::alloc::{alloc, dealloc, Layout};
use std::ptr::NonNull;
use std::sync::atomic::{fence, AtomicU32, Ordering};

#[repr(C)]
struct Header {
    refcnt: AtomicU32,
    /// [`PLAIN`], [`LZF`], [`INCOMPRESSIBLE`].
    flags: u32,
    cap: usize,
    start: usize,
    end: usize,
}

pub const HEADER: usize = std::mem::size_of::<Header>();

/// The block holds one element's raw bytes (a plain node), not packed entries.
const PLAIN: u32 = 1;
/// The live bytes are the node's bytes LZF-compressed, after their length (4 bytes, little
/// endian): what `list-compress-depth` keeps between a quicklist's ends.
const LZF: u32 = 2;
/// A compression of these bytes was tried and did not pay; cleared by any change.
const INCOMPRESSIBLE: u32 = 4;
/// Valkey's `MIN_COMPRESS_BYTES`: smaller nodes are not compressed.
const MIN_COMPRESS_BYTES: usize = 48;
/// Valkey's `MIN_COMPRESS_IMPROVE`: a compression must save more than this many bytes.
const MIN_COMPRESS_IMPROVE: usize = 8;

/// The allocator size class holding `bytes` (jemalloc's: multiples of 16 up to 128, then four
/// classes per doubling).
fn size_class(bytes: usize) -> usize {
    if bytes <= 128 {
        return (bytes.max(1) + 15) & !15;
    }
    let step = bytes.next_power_of_two() / 8;
    bytes.div_ceil(step) * step
}

/// Where the free space of a block goes when it is (re)allocated.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Room {
    Front,
    Back,
}

pub struct Block(NonNull<Header>);

// SAFETY: a block is only mutated through `&mut Block` after making it unique; shared blocks
// are read-only and their reference count is atomic.
unsafe impl Send for Block {}
// SAFETY: as above; `&Block` only reads.
unsafe impl Sync for Block {}

impl Block {
    fn layout(cap: usize) -> Layout {
        match Layout::from_size_align(HEADER + cap, 8) {
            Ok(l) => l,
            Err(_) => unreachable!("node larger than isize::MAX"),
        }
    }

    /// A block with room for at least `need` bytes (rounded up to fill its size class), holding
    /// `bytes` placed with the free space at `room`.
    fn with(bytes: &[u8], need: usize, room: Room, flags: u32) -> Block {
        let cap = size_class(HEADER + need.max(bytes.len())) - HEADER;
        let layout = Self::layout(cap);
        // SAFETY: the layout is non-zero-sized (HEADER > 0). The free space stays
        // uninitialised; `splice_with` zeroes what it hands out.
        let p = unsafe { alloc(layout) };
        let Some(p) = NonNull::new(p.cast::<Header>()) else {
            std::alloc::handle_alloc_error(layout)
        };
        let start = match room {
            Room::Back => 0,
            Room::Front => cap - bytes.len(),
        };
        // SAFETY: `p` is a fresh allocation of HEADER + cap bytes; the header is written whole
        // and `bytes` fits at `start` because start + len <= cap.
        unsafe {
            p.as_ptr().write(Header {
                refcnt: AtomicU32::new(1),
                flags,
                cap,
                start,
                end: start + bytes.len(),
            });
            let data = p.as_ptr().cast::<u8>().add(HEADER);
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), data.add(start), bytes.len());
        }
        Block(p)
    }

    /// A packed block holding `bytes` (entries), with room for `need` bytes.
    pub fn packed(bytes: &[u8], need: usize, room: Room) -> Block {
        Self::with(bytes, need, room, 0)
    }

    /// A plain block holding one element's bytes.
    pub fn plain(elem: &[u8]) -> Block {
        Self::with(elem, elem.len(), Room::Back, PLAIN)
    }

    /// The compressed form of this (uncompressed) block, if it pays as Valkey's
    /// `__quicklistCompressNode` decides: `sz` (the node's size as Valkey counts it) at least
    /// [`MIN_COMPRESS_BYTES`] and more than [`MIN_COMPRESS_IMPROVE`] bytes saved. A block found
    /// incompressible is marked (when unique), so that it is not tried again until it changes.
    pub fn compressed(&mut self, sz: usize) -> Option<Block> {
        let h = self.hdr();
        if h.flags & (LZF | INCOMPRESSIBLE) != 0 || sz < MIN_COMPRESS_BYTES {
            return None;
        }
        let data = self.data();
        let packed = rdb::lzf::compress(data).filter(|z| {
            z.len() + MIN_COMPRESS_IMPROVE < data.len() && data.len() <= u32::MAX as usize
        });
        let Some(z) = packed else {
            if self.is_unique() {
                self.hdr_mut().flags |= INCOMPRESSIBLE;
            }
            return None;
        };
        let mut bytes = Vec::with_capacity(4 + z.len());
        bytes.extend_from_slice(&(data.len() as u32).to_le_bytes());
        bytes.extend_from_slice(&z);
        let flags = (self.hdr().flags & PLAIN) | LZF;
        Some(Self::with(&bytes, bytes.len(), Room::Back, flags))
    }

    /// True if a compression was tried and did not pay (tests).
    #[cfg(test)]
    pub fn is_incompressible(&self) -> bool {
        self.hdr().flags & INCOMPRESSIBLE != 0
    }

    pub fn is_lzf(&self) -> bool {
        self.hdr().flags & LZF != 0
    }

    /// The node's bytes of a compressed block.
    pub fn inflate(&self) -> Vec<u8> {
        debug_assert!(self.is_lzf());
        let data = self.data();
        let (len, z) = data.split_at(4.min(data.len()));
        let len = u32::from_le_bytes(len.try_into().unwrap_or([0; 4])) as usize;
        match rdb::lzf::decompress(z, len) {
            Ok(bytes) if bytes.len() == len => bytes,
            // We compressed these bytes ourselves a moment ago: only memory corruption gets here.
            _ => unreachable!("a compressed list node does not decompress"),
        }
    }

    /// The uncompressed block of a compressed one, with room for pushes at `room`.
    pub fn decompressed(&self, room: Room) -> Block {
        let bytes = self.inflate();
        let flags = self.hdr().flags & PLAIN;
        Self::with(&bytes, bytes.len(), room, flags)
    }

    /// An address that identifies this block while it lives (the cache key of its bytes).
    pub fn addr(&self) -> usize {
        self.0.as_ptr() as usize
    }

    fn hdr(&self) -> &Header {
        // SAFETY: the block starts with an initialised header and lives as long as `self`.
        unsafe { self.0.as_ref() }
    }

    fn hdr_mut(&mut self) -> &mut Header {
        debug_assert!(self.is_unique());
        // SAFETY: unique handle (callers make it unique first), so no other reader.
        unsafe { self.0.as_mut() }
    }

    fn base(&self) -> *mut u8 {
        // SAFETY: the data area follows the header inside the allocation.
        unsafe { self.0.as_ptr().cast::<u8>().add(HEADER) }
    }

    pub fn is_plain(&self) -> bool {
        self.hdr().flags & PLAIN != 0
    }

    /// The live bytes.
    #[inline]
    pub fn data(&self) -> &[u8] {
        let h = self.hdr();
        // SAFETY: start..end lies within the capacity and was initialised by whoever wrote it.
        unsafe { std::slice::from_raw_parts(self.base().add(h.start), h.end - h.start) }
    }

    pub fn len(&self) -> usize {
        let h = self.hdr();
        h.end - h.start
    }

    /// Bytes allocated for this block (for MEMORY USAGE).
    pub fn allocated(&self) -> usize {
        HEADER + self.hdr().cap
    }

    /// True if both handles are the same block (tests of sharing).
    #[cfg(test)]
    pub fn ptr_eq(&self, other: &Block) -> bool {
        self.0 == other.0
    }

    pub fn is_unique(&self) -> bool {
        self.hdr().refcnt.load(Ordering::Acquire) == 1
    }

    /// Makes the block ready for a change of its bytes: copied if a snapshot still shares it
    /// (same capacity and layout), no longer marked incompressible.
    fn make_unique(&mut self) {
        debug_assert!(!self.is_lzf(), "a compressed node is changed in place");
        if !self.is_unique() {
            let h = self.hdr();
            let room = if h.start > 0 { Room::Front } else { Room::Back };
            let copy = Self::with(self.data(), h.cap, room, h.flags & PLAIN);
            *self = copy;
        }
        self.hdr_mut().flags &= !INCOMPRESSIBLE;
    }

    /// Adds `n` bytes written by `write` before the live bytes (after them with `back`):
    /// the common case of [`Block::splice_with`], without moving anything when there is room.
    #[inline]
    pub fn push_with(&mut self, back: bool, n: usize, write: impl FnOnce(&mut [u8])) {
        self.make_unique();
        let (start, end, cap) = {
            let h = self.hdr();
            (h.start, h.end, h.cap)
        };
        let at = match back {
            true if cap - end >= n => end,
            false if start >= n => start - n,
            _ => {
                return self.splice_with(
                    if back { end - start } else { 0 },
                    if back { end - start } else { 0 },
                    n,
                    write,
                )
            }
        };
        // SAFETY: at..at + n is free space inside the capacity (checked above), zeroed before
        // the slice is made; the block is unique.
        write(unsafe {
            let dst = self.base().add(at);
            std::ptr::write_bytes(dst, 0, n);
            std::slice::from_raw_parts_mut(dst, n)
        });
        let h = self.hdr_mut();
        if back {
            h.end = end + n;
        } else {
            h.start = at;
        }
    }

    /// Removes `n` live bytes from the front (from the back with `back`).
    #[inline]
    pub fn cut(&mut self, back: bool, n: usize) {
        self.make_unique();
        let h = self.hdr_mut();
        debug_assert!(n <= h.end - h.start);
        if back {
            h.end -= n;
        } else {
            h.start += n;
        }
        if h.cap >= 256 && h.end - h.start <= h.cap / 2 {
            self.shrink();
        }
    }

    /// Replaces live bytes `a..b` (offsets into [`Block::data`]) with `new`, moving the
    /// shorter side of the live range, growing the block when there is no room.
    pub fn splice(&mut self, a: usize, b: usize, new: &[u8]) {
        self.splice_with(a, b, new.len(), |dst| dst.copy_from_slice(new));
    }

    /// [`Block::splice`] with `new_len` bytes written in place by `write`.
    pub fn splice_with(
        &mut self,
        a: usize,
        b: usize,
        new_len: usize,
        write: impl FnOnce(&mut [u8]),
    ) {
        self.make_unique();
        let (start, end, cap) = {
            let h = self.hdr();
            (h.start, h.end, h.cap)
        };
        let len = end - start;
        debug_assert!(a <= b && b <= len);
        let grow = new_len.saturating_sub(b - a);
        let front_room = start;
        let back_room = cap - end;
        if grow > front_room && grow > back_room {
            let room = if a < len - b { Room::Front } else { Room::Back };
            let need = len + grow;
            // Grow by at least one size class (doubling while small) so that repeated pushes
            // are amortised.
            let step = if cap < 1024 { cap * 2 } else { cap + 1 };
            let mut grown = Self::with(self.data(), need.max(step), room, self.hdr().flags & PLAIN);
            grown.splice_with(a, b, new_len, write);
            *self = grown;
            return;
        }
        let base = self.base();
        let (left, right) = (a, len - b);
        let new_start;
        // SAFETY: every copy stays within the capacity: the live range moves by at most the
        // room on the side it moves into (checked above), and `new` lands between the two
        // parts; `ptr::copy` handles the overlaps.
        unsafe {
            if new_len >= b - a {
                let d = grow;
                if (d <= front_room && (left <= right || d > back_room)) || d == 0 {
                    // Move the left part left.
                    std::ptr::copy(base.add(start), base.add(start - d), left);
                    new_start = start - d;
                } else {
                    // Move the right part right.
                    std::ptr::copy(base.add(start + b), base.add(start + b + d), right);
                    new_start = start;
                }
            } else {
                let d = (b - a) - new_len;
                if left <= right {
                    // Close the hole by moving the left part right.
                    std::ptr::copy(base.add(start), base.add(start + d), left);
                    new_start = start + d;
                } else {
                    std::ptr::copy(base.add(start + b), base.add(start + b - d), right);
                    new_start = start;
                }
            }
        }
        let total = len - (b - a) + new_len;
        let h = self.hdr_mut();
        h.start = new_start;
        h.end = new_start + total;
        // SAFETY: new_start + a .. + new_len is inside the capacity (see above) and not
        // aliased: the block is unique and `write` gets the only reference. It is zeroed
        // first, so the slice never exposes uninitialised bytes.
        write(unsafe {
            let dst = base.add(new_start + a);
            std::ptr::write_bytes(dst, 0, new_len);
            std::slice::from_raw_parts_mut(dst, new_len)
        });
        if new_len < b - a && cap >= 256 && total <= cap / 2 {
            self.shrink();
        }
    }

    /// Reallocates a half-empty block to fit its bytes (keeping a little room on the side
    /// that had more).
    fn shrink(&mut self) {
        let h = self.hdr();
        let room = if h.start >= h.cap - h.end {
            Room::Front
        } else {
            Room::Back
        };
        let len = h.end - h.start;
        let small = Self::with(self.data(), len + len / 8, room, h.flags & PLAIN);
        *self = small;
    }
}

impl Clone for Block {
    fn clone(&self) -> Block {
        self.hdr().refcnt.fetch_add(1, Ordering::Relaxed);
        Block(self.0)
    }
}

impl Drop for Block {
    fn drop(&mut self) {
        if self.hdr().refcnt.fetch_sub(1, Ordering::Release) != 1 {
            return;
        }
        fence(Ordering::Acquire);
        let layout = Self::layout(self.hdr().cap);
        // SAFETY: last handle; allocated in `with` with this layout.
        unsafe { dealloc(self.0.as_ptr().cast::<u8>(), layout) }
    }
}

impl std::fmt::Debug for Block {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Block({} bytes, plain {})", self.len(), self.is_plain())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splices_at_both_ends_and_inside() {
        let mut b = Block::packed(b"", 0, Room::Back);
        let mut model: Vec<u8> = Vec::new();
        let mut rng = crate::rand::Rng::new(7);
        for step in 0..5000u32 {
            let len = model.len();
            let a = rng.below(len as u64 + 1) as usize;
            let b_ = (a + rng.below(4) as usize).min(len);
            let new: Vec<u8> = (0..rng.below(6)).map(|i| (step + i as u32) as u8).collect();
            match step % 7 {
                0 | 1 => {
                    let back = step % 7 == 1;
                    b.push_with(back, new.len(), |dst| dst.copy_from_slice(&new));
                    let at = if back { len } else { 0 };
                    model.splice(at..at, new.iter().copied());
                }
                2 | 3 => {
                    let back = step % 7 == 3;
                    let n = (b_ - a).min(len);
                    b.cut(back, n);
                    let at = if back { len - n } else { 0 };
                    model.drain(at..at + n);
                }
                _ => {
                    b.splice(a, b_, &new);
                    model.splice(a..b_, new.iter().copied());
                }
            }
            assert_eq!(b.data(), &model[..], "step {step}");
            assert!(
                b.allocated() <= 5 * (HEADER + model.len()).max(300) / 2,
                "step {step}"
            );
        }
    }

    #[test]
    fn shared_blocks_are_copied_before_a_change() {
        let mut a = Block::packed(b"hello", 5, Room::Back);
        let snap = a.clone();
        assert!(!a.is_unique());
        a.splice(5, 5, b" world");
        assert_eq!(a.data(), b"hello world");
        assert_eq!(snap.data(), b"hello");
        assert!(a.is_unique() && snap.is_unique());
        let p = Block::plain(b"big");
        assert!(p.is_plain() && p.data() == b"big");
    }

    #[test]
    fn a_full_node_of_64_byte_entries_fits_one_8k_class() {
        let b = Block::packed(&[0u8; 122 * 66], 122 * 66, Room::Back);
        assert_eq!(b.allocated(), 8192);
    }
}
