//! The replication stream buffer and backlog.
//!
//! Every byte a node appends to its replication stream lands here once, in blocks of shared,
//! reference-counted bytes. Replicas do not get copies: their output queues hold slices of the
//! same blocks (`chunks_from`), the block still being filled included (`Growing`: appended in
//! place, its written part shared), so ten replicas cost one copy of the stream. The
//! *backlog* is the window of the last `size` bytes that partial resyncs may be served from,
//! extended back to the oldest pin: what a replica has not sent yet, or waits for, stays —
//! Valkey's shared replication buffer — and a PSYNC may be served from it.
//!
//! Offsets follow Redis: byte `n` is the n-th byte ever appended; `end()` is
//! `master_repl_offset`; an empty backlog has `first_byte() == end() + 1`.

use std::collections::VecDeque;
use std::sync::Arc;

use bytes::Bytes;

/// Target block size (Redis uses 16 KiB blocks for its shared replication buffer).
pub const BLOCK: usize = 16 * 1024;
/// Smallest backlog Redis allows.
pub const MIN_BACKLOG: usize = 16 * 1024;

#[derive(Debug)]
struct Block {
    /// Offset of the block's first byte.
    start: i64,
    data: Bytes,
}

/// The block being filled: one fixed allocation, appended in place by the buffer (its only
/// writer) and shared by [`Part`]s of what is already written, which never changes.
struct Growing {
    ptr: *mut u8,
    cap: usize,
}

// SAFETY: the bytes are plain memory; the writer only writes past what any `Part` covers (see
// `Growing::write`), and a `Part` only reads bytes written before it was made.
unsafe impl Send for Growing {}
// SAFETY: as above.
unsafe impl Sync for Growing {}

impl Growing {
    fn new(cap: usize) -> Arc<Growing> {
        let mut v = std::mem::ManuallyDrop::new(Vec::<u8>::with_capacity(cap));
        Arc::new(Growing {
            ptr: v.as_mut_ptr(),
            cap: v.capacity(),
        })
    }

    /// Writes `data` at `at`.
    ///
    /// # Safety
    /// `at + data.len() <= cap`, and no `Part` covers `at..`: parts are only made of bytes
    /// already written, and each byte is written once.
    unsafe fn write(&self, at: usize, data: &[u8]) {
        debug_assert!(at + data.len() <= self.cap);
        std::ptr::copy_nonoverlapping(data.as_ptr(), self.ptr.add(at), data.len());
    }
}

impl Drop for Growing {
    fn drop(&mut self) {
        // SAFETY: allocated as a Vec of this capacity in `new`; length 0 (u8 needs no drop).
        drop(unsafe { Vec::from_raw_parts(self.ptr, 0, self.cap) });
    }
}

/// Written bytes `start..end` of a growing block, as a `Bytes` owner.
struct Part {
    block: Arc<Growing>,
    start: usize,
    end: usize,
}

impl AsRef<[u8]> for Part {
    fn as_ref(&self) -> &[u8] {
        // SAFETY: `start..end` was written before this part was made and is never written
        // again; the block lives as long as the part holds it.
        unsafe { std::slice::from_raw_parts(self.block.ptr.add(self.start), self.end - self.start) }
    }
}

/// The buffer's last block, being filled.
struct Tail {
    block: Arc<Growing>,
    len: usize,
}

impl Tail {
    fn new(cap: usize) -> Tail {
        Tail {
            block: Growing::new(cap),
            len: 0,
        }
    }

    fn room(&self) -> usize {
        self.block.cap - self.len
    }

    /// Bytes `from..` of what is written, shared.
    fn part(&self, from: usize) -> Bytes {
        Bytes::from_owner(Part {
            block: Arc::clone(&self.block),
            start: from,
            end: self.len,
        })
    }
}

impl std::fmt::Debug for Tail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tail({} of {} bytes)", self.len, self.block.cap)
    }
}

#[derive(Debug)]
pub struct ReplBuffer {
    blocks: VecDeque<Block>,
    tail: Tail,
    /// Offset of the tail's first byte.
    tail_start: i64,
    /// Offset of the last byte appended.
    end: i64,
    /// First byte of the backlog window.
    first: i64,
    size: usize,
    /// Offsets that must stay servable (dual-channel syncs waiting for their PSYNC).
    pins: Vec<(u64, i64)>,
    /// Blocks released by the window are kept in `evicted` for the disk backlog to take.
    spill: bool,
    evicted: Vec<(i64, Bytes)>,
}

impl ReplBuffer {
    /// An empty backlog for a stream already at `offset`.
    pub fn new(offset: i64, size: usize) -> ReplBuffer {
        ReplBuffer {
            blocks: VecDeque::new(),
            tail: Tail::new(BLOCK),
            tail_start: offset + 1,
            end: offset,
            first: offset + 1,
            size: size.max(MIN_BACKLOG),
            pins: Vec::new(),
            spill: false,
            evicted: Vec::new(),
        }
    }

    /// Whether released blocks are kept for the disk backlog ([`ReplBuffer::take_evicted`]).
    pub fn set_spill(&mut self, on: bool) {
        self.spill = on;
        if !on {
            self.evicted.clear();
        }
    }

    /// The blocks released since the last call, oldest first, as (offset of the first byte,
    /// bytes): one after the other, the stream from where the disk backlog ends.
    pub fn take_evicted(&mut self) -> Vec<(i64, Bytes)> {
        std::mem::take(&mut self.evicted)
    }

    /// The first byte still held in memory (the window may start later, inside that block).
    pub fn resident_first(&self) -> i64 {
        self.blocks.front().map_or(self.tail_start, |b| b.start)
    }

    /// `master_repl_offset`.
    pub fn end(&self) -> i64 {
        self.end
    }

    /// `repl_backlog_first_byte_offset`.
    pub fn first_byte(&self) -> i64 {
        self.first
    }

    /// `repl_backlog_histlen`.
    pub fn histlen(&self) -> i64 {
        self.end - self.first + 1
    }

    pub fn size(&self) -> usize {
        self.size
    }

    /// Appends stream bytes: into the block being filled, then into new ones (of
    /// [`BLOCK`] bytes, or one of the exact size for the rest of a large append).
    pub fn append(&mut self, mut data: &[u8]) {
        self.end += data.len() as i64;
        while !data.is_empty() {
            if self.tail.room() == 0 {
                self.seal(data.len());
            }
            let (now, rest) = data.split_at(self.tail.room().min(data.len()));
            // SAFETY: `len + now.len() <= cap`, and parts only cover `..len`.
            unsafe { self.tail.block.write(self.tail.len, now) };
            self.tail.len += now.len();
            data = rest;
        }
        if self.tail.room() == 0 {
            self.seal(0);
        }
        self.trim();
    }

    /// Turns the full tail into a block and starts a new one, with room for `next` bytes if
    /// more than a block is coming.
    fn seal(&mut self, next: usize) {
        if self.tail.len == 0 {
            return;
        }
        let data = self.tail.part(0);
        let start = self.tail_start;
        self.tail_start += data.len() as i64;
        self.blocks.push_back(Block { start, data });
        self.tail = Tail::new(next.max(BLOCK));
    }

    /// Moves the window start forward to keep at most `size` bytes (never past a pin), and
    /// releases blocks that are entirely before it.
    fn trim(&mut self) {
        let mut first = (self.end - self.size as i64 + 1).max(self.first);
        if let Some(min_pin) = self.pins.iter().map(|p| p.1).min() {
            first = first.min(min_pin.max(self.first));
        }
        self.first = first;
        while let Some(b) = self.blocks.front() {
            if b.start + b.data.len() as i64 <= self.first {
                if let Some(b) = self.blocks.pop_front() {
                    if self.spill {
                        self.evicted.push((b.start, b.data));
                    }
                }
            } else {
                break;
            }
        }
    }

    /// The bytes from `offset` (inclusive) to the end, as shared slices of the blocks, the
    /// one being filled included; `None` if `offset` is no longer (or not yet) available.
    /// An offset before the window start but still held in memory (a catch-up from the disk
    /// backlog ends at the first byte held) is served too.
    pub fn chunks_from(&mut self, offset: i64) -> Option<Vec<Bytes>> {
        if offset > self.end + 1 || offset < self.resident_first().min(self.first) {
            return None;
        }
        let mut out = Vec::new();
        for b in &self.blocks {
            let b_end = b.start + b.data.len() as i64;
            if b_end <= offset {
                continue;
            }
            let skip = (offset - b.start).max(0) as usize;
            out.push(b.data.slice(skip..));
        }
        let skip = (offset - self.tail_start).max(0) as usize;
        if skip < self.tail.len {
            out.push(self.tail.part(skip));
        }
        Some(out)
    }

    /// The offset after the last byte of the filled blocks (where the block being filled
    /// starts).
    pub fn sealed_end(&self) -> i64 {
        self.tail_start
    }

    /// Changes the window size (CONFIG SET repl-backlog-size).
    pub fn resize(&mut self, size: usize) {
        self.size = size.max(MIN_BACKLOG);
        self.trim();
    }

    /// Keeps `offset` (and what follows) servable until `unpin(id)`, replacing `id`'s previous
    /// pin: a replica in a full sync, one whose stream is held until its first ACK, a
    /// dual-channel sync waiting for its PSYNC, and a streaming replica between loop
    /// iterations (so that one large append cannot trim bytes not yet queued for it).
    pub fn pin(&mut self, id: u64, offset: i64) {
        match self.pins.iter_mut().find(|p| p.0 == id) {
            Some(p) => {
                let moved_forward = offset > p.1;
                p.1 = offset;
                if moved_forward {
                    self.trim();
                }
            }
            None => self.pins.push((id, offset)),
        }
    }

    /// Bytes from `id`'s pin to the end (what the backlog holds on its behalf), if pinned.
    pub fn pinned_bytes(&self, id: u64) -> Option<u64> {
        self.pins
            .iter()
            .find(|p| p.0 == id)
            .map(|p| (self.end + 1 - p.1).max(0) as u64)
    }

    pub fn unpin(&mut self, id: u64) {
        self.pins.retain(|p| p.0 != id);
        self.trim();
    }

    pub fn pinned(&self) -> usize {
        self.pins.len()
    }

    /// Bytes held by the buffer.
    pub fn memory(&self) -> usize {
        self.blocks.iter().map(|b| b.data.len()).sum::<usize>() + self.tail.block.cap
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handing_out_the_stream_every_pass_does_not_cut_it_into_small_blocks() {
        // One small command per event-loop pass, read by a replica each pass: the tail is
        // copied out, not sealed, so blocks stay whole and memory stays near the bytes held
        // (sealing per pass once kept a 16 KiB allocation per command).
        let mut b = ReplBuffer::new(0, 1 << 20);
        let cmd = [b'x'; 50];
        let mut next = 1;
        let mut got = Vec::new();
        for _ in 0..10_000 {
            b.append(&cmd);
            for c in b.chunks_from(next).unwrap() {
                got.extend_from_slice(&c);
            }
            next = b.end() + 1;
        }
        assert_eq!(got.len(), 500_000, "every byte handed out once, in order");
        assert!(got.iter().all(|&c| c == b'x'));
        assert!(
            b.blocks.len() <= 500_000 / BLOCK + 1,
            "{} blocks for 500 KB",
            b.blocks.len()
        );
        assert!(b.memory() < 500_000 + 2 * BLOCK, "memory {}", b.memory());
        // And what a late reader gets spans sealed blocks and the tail, exactly.
        let all: Vec<u8> = b.chunks_from(1).unwrap().concat();
        assert_eq!(all.len(), 500_000);
    }

    #[test]
    fn a_pin_holds_data_past_the_size_until_it_moves() {
        let mut b = ReplBuffer::new(0, MIN_BACKLOG);
        b.pin(1, 1);
        let big = vec![b'x'; 3 * MIN_BACKLOG];
        b.append(&big);
        assert_eq!(b.first_byte(), 1, "the pin keeps everything from offset 1");
        assert_eq!(b.pinned_bytes(1), Some(3 * MIN_BACKLOG as u64));
        let all: usize = b
            .chunks_from(1)
            .expect("servable")
            .iter()
            .map(|c| c.len())
            .sum();
        assert_eq!(all, 3 * MIN_BACKLOG);
        b.pin(1, b.end() + 1);
        assert_eq!(b.pinned_bytes(1), Some(0));
        assert!(
            b.histlen() <= MIN_BACKLOG as i64,
            "moving the pin lets the window trim"
        );
        b.unpin(1);
        assert_eq!(b.pinned(), 0);
    }

    #[test]
    fn offsets_window_and_slices() {
        let mut b = ReplBuffer::new(100, MIN_BACKLOG);
        assert_eq!((b.first_byte(), b.histlen(), b.end()), (101, 0, 100));
        b.append(b"hello");
        assert_eq!((b.first_byte(), b.histlen(), b.end()), (101, 5, 105));
        let all: Vec<u8> = b.chunks_from(101).unwrap().concat();
        assert_eq!(all, b"hello");
        let tail: Vec<u8> = b.chunks_from(104).unwrap().concat();
        assert_eq!(tail, b"lo");
        assert_eq!(b.chunks_from(106).unwrap().concat(), b"");
        assert!(b.chunks_from(107).is_none());
        assert!(b.chunks_from(100).is_none());
    }

    #[test]
    fn window_trims_to_size_and_pins_hold_it() {
        let mut b = ReplBuffer::new(0, MIN_BACKLOG);
        let chunk = vec![b'x'; 1000];
        b.pin(7, 1);
        for _ in 0..100 {
            b.append(&chunk);
        }
        assert_eq!(b.first_byte(), 1, "pinned offset stays servable");
        b.unpin(7);
        assert_eq!(b.histlen(), MIN_BACKLOG as i64);
        assert_eq!(b.first_byte(), 100_000 - MIN_BACKLOG as i64 + 1);
        let from_first: usize = b
            .chunks_from(b.first_byte())
            .unwrap()
            .iter()
            .map(Bytes::len)
            .sum();
        assert_eq!(from_first, MIN_BACKLOG);
        assert!(
            b.memory() < 3 * MIN_BACKLOG,
            "old blocks are released: {}",
            b.memory()
        );
    }

    #[test]
    fn released_blocks_are_kept_for_the_disk_backlog_in_order() {
        let mut b = ReplBuffer::new(0, MIN_BACKLOG);
        b.set_spill(true);
        let chunk = vec![b'x'; 1000];
        for _ in 0..200 {
            b.append(&chunk);
        }
        let evicted = b.take_evicted();
        assert!(!evicted.is_empty());
        let mut next = 1;
        for (start, data) in &evicted {
            assert_eq!(*start, next, "contiguous from the start of the stream");
            next += data.len() as i64;
        }
        assert_eq!(
            next,
            b.resident_first(),
            "the disk part ends where memory begins"
        );
        assert!(b.resident_first() <= b.first_byte());
        assert!(
            b.chunks_from(b.resident_first()).is_some(),
            "held bytes are servable"
        );
        assert!(b.take_evicted().is_empty(), "taken once");
    }

    #[test]
    fn the_block_being_filled_is_shared_not_copied() {
        let mut b = ReplBuffer::new(0, 1 << 20);
        b.append(b"abc");
        let first = b.chunks_from(1).unwrap();
        b.append(b"def");
        let second = b.chunks_from(1).unwrap();
        assert_eq!(first.concat(), b"abc", "a part never changes");
        assert_eq!(second.concat(), b"abcdef");
        assert_eq!(
            first[0].as_ptr(),
            second[0].as_ptr(),
            "the same bytes, not a copy"
        );
        // A large append gets a block of its own size; what follows starts a normal one.
        let big = vec![b'z'; 5 * BLOCK + 7];
        b.append(&big);
        b.append(b"tail");
        let all: Vec<u8> = b.chunks_from(1).unwrap().concat();
        assert_eq!(all.len(), 6 + big.len() + 4);
        assert!(all.ends_with(b"ztail"));
        assert!(b.memory() < 8 * BLOCK, "memory {}", b.memory());
    }

    #[test]
    fn slices_share_memory_with_later_appends() {
        let mut b = ReplBuffer::new(0, MIN_BACKLOG);
        b.append(b"abc");
        let held = b.chunks_from(1).unwrap();
        for _ in 0..100 {
            b.append(&[b'y'; 1000]);
        }
        assert_eq!(
            held.concat(),
            b"abc",
            "a replica's queued slice survives trimming"
        );
    }
}
