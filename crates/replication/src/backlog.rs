//! The replication stream buffer and backlog.
//!
//! Every byte a node appends to its replication stream lands here once, in blocks of shared,
//! reference-counted bytes. Replicas do not get copies: their output queues hold slices of the
//! same blocks (`chunks_from`), so ten replicas cost one copy of the stream. The *backlog* is the
//! window of the last `size` bytes that partial resyncs may be served from; blocks older than the
//! window are released here (a replica still sending them keeps its own references).
//!
//! Offsets follow Redis: byte `n` is the n-th byte ever appended; `end()` is
//! `master_repl_offset`; an empty backlog has `first_byte() == end() + 1`.

use std::collections::VecDeque;

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

#[derive(Debug)]
pub struct ReplBuffer {
    blocks: VecDeque<Block>,
    tail: Vec<u8>,
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
            tail: Vec::new(),
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

    /// Appends stream bytes.
    pub fn append(&mut self, data: &[u8]) {
        // Never let the tail outgrow its allocation: a Vec that doubles past a block would
        // be sealed holding twice the memory its bytes need (and replicas' queues keep it).
        if !self.tail.is_empty() && self.tail.len() + data.len() > self.tail.capacity() {
            self.seal();
        }
        self.tail.extend_from_slice(data);
        self.end += data.len() as i64;
        if self.tail.len() >= BLOCK {
            self.seal();
        }
        self.trim();
    }

    /// Turns the tail into a shareable block (when it is full).
    fn seal(&mut self) {
        if self.tail.is_empty() {
            return;
        }
        // A block holds no more memory than its bytes need (replicas' queues keep blocks
        // alive, and INFO counts their bytes): a tail sealed before it filled up (a replica
        // needs it now) is copied to an exact allocation, and its buffer reused.
        let data = if self.tail.len() < self.tail.capacity() {
            let d = Bytes::copy_from_slice(&self.tail);
            self.tail.clear();
            d
        } else {
            Bytes::from(std::mem::replace(&mut self.tail, Vec::with_capacity(BLOCK)))
        };
        let start = self.tail_start;
        self.tail_start += data.len() as i64;
        self.blocks.push_back(Block { start, data });
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

    /// The bytes from `offset` (inclusive) to the end, as shared slices of the full blocks and
    /// a copy of what is wanted of the unsealed tail; `None` if `offset` is no longer (or not
    /// yet) available. The tail is not sealed here: sealing it on every event-loop pass would
    /// cut the stream into one small block per pass (with a replica and unpipelined clients,
    /// one per command), each with its own allocation and bookkeeping.
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
        if let Some(part) = self.tail.get(skip..).filter(|p| !p.is_empty()) {
            out.push(Bytes::copy_from_slice(part));
        }
        Some(out)
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
        self.blocks.iter().map(|b| b.data.len()).sum::<usize>() + self.tail.capacity()
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
