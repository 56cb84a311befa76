//! Buffered input with offset tracking and an incremental CRC64.
//!
//! The reader pulls bytes through a fixed buffer so that parsing never makes a
//! `Read` call per field. The checksum is computed lazily over whole consumed
//! stretches of the buffer (when it is refilled, or when asked), which lets the
//! CRC run over large contiguous slices. Large strings bypass the buffer and
//! are read straight into their destination, growing it only as bytes arrive so
//! that a corrupt length field cannot trigger a huge allocation.

use std::io::{self, Read};

use crate::crc64::crc64;
use crate::error::{ErrorKind, RdbError};

const BUF_SIZE: usize = 64 * 1024;
/// Strings at least this long are read directly into their own allocation.
const DIRECT_READ_MIN: usize = BUF_SIZE / 2;
/// Largest allocation made ahead of data actually read.
pub(crate) const MAX_PREALLOC: usize = 64 * 1024;

pub(crate) type Result<T> = std::result::Result<T, RdbError>;

pub(crate) struct Input<R> {
    src: R,
    buf: Box<[u8]>,
    pos: usize,
    end: usize,
    /// Stream offset of `buf[0]`.
    base: u64,
    /// `buf[..crc_pos]` is already folded into `crc`.
    crc_pos: usize,
    crc: u64,
    checksum: bool,
}

impl<R: Read> Input<R> {
    pub(crate) fn new(src: R, checksum: bool) -> Self {
        Input {
            src,
            buf: vec![0u8; BUF_SIZE].into_boxed_slice(),
            pos: 0,
            end: 0,
            base: 0,
            crc_pos: 0,
            crc: 0,
            checksum,
        }
    }

    /// Offset of the next unread byte.
    pub(crate) fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    /// CRC64 of every byte consumed so far.
    pub(crate) fn checksum(&mut self) -> u64 {
        self.fold_crc();
        self.crc
    }

    /// Stops checksumming (bytes after the EOF opcode are not covered).
    pub(crate) fn disable_checksum(&mut self) {
        self.fold_crc();
        self.checksum = false;
    }

    fn fold_crc(&mut self) {
        if self.checksum && self.crc_pos < self.pos {
            self.crc = crc64(self.crc, &self.buf[self.crc_pos..self.pos]);
        }
        self.crc_pos = self.pos;
    }

    fn eof_error(&self) -> RdbError {
        RdbError::new(self.base + self.end as u64, ErrorKind::UnexpectedEof)
    }

    fn io_error(&self, e: io::Error) -> RdbError {
        RdbError::new(self.base + self.end as u64, ErrorKind::Io(e))
    }

    /// Makes at least `n` (<= BUF_SIZE) bytes available, or fails at end of input.
    fn fill(&mut self, n: usize) -> Result<()> {
        debug_assert!(n <= BUF_SIZE);
        if self.end - self.pos >= n {
            return Ok(());
        }
        self.fold_crc();
        self.buf.copy_within(self.pos..self.end, 0);
        self.base += self.pos as u64;
        self.end -= self.pos;
        self.pos = 0;
        self.crc_pos = 0;
        while self.end < n {
            match self.src.read(&mut self.buf[self.end..]) {
                Ok(0) => return Err(self.eof_error()),
                Ok(k) => self.end += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.io_error(e)),
            }
        }
        Ok(())
    }

    /// True when no byte is left (used to reject trailing garbage).
    pub(crate) fn at_end(&mut self) -> Result<bool> {
        match self.fill(1) {
            Ok(()) => Ok(false),
            Err(RdbError {
                kind: ErrorKind::UnexpectedEof,
                ..
            }) => Ok(true),
            Err(e) => Err(e),
        }
    }

    pub(crate) fn u8(&mut self) -> Result<u8> {
        if self.pos == self.end {
            self.fill(1)?;
        }
        let b = self.buf[self.pos];
        self.pos += 1;
        Ok(b)
    }

    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        self.fill(N)?;
        let mut out = [0u8; N];
        out.copy_from_slice(&self.buf[self.pos..self.pos + N]);
        self.pos += N;
        Ok(out)
    }

    /// Reads exactly `n` bytes into a new vector.
    pub(crate) fn vec(&mut self, n: u64) -> Result<Vec<u8>> {
        // Common case: the bytes are buffered; one exact allocation.
        if n <= (self.end - self.pos) as u64 {
            let n = n as usize;
            let out = self.buf[self.pos..self.pos + n].to_vec();
            self.pos += n;
            return Ok(out);
        }
        let mut out = Vec::new();
        self.append(&mut out, n)?;
        Ok(out)
    }

    /// Calls `f` with the next `n` bytes, borrowed from the buffer when they
    /// fit in it (no copy), else collected into a temporary vector.
    pub(crate) fn with_bytes<T>(&mut self, n: u64, f: impl FnOnce(&[u8]) -> T) -> Result<T> {
        if n <= BUF_SIZE as u64 {
            let n = n as usize;
            self.fill(n)?;
            let res = f(&self.buf[self.pos..self.pos + n]);
            self.pos += n;
            return Ok(res);
        }
        let tmp = self.vec(n)?;
        Ok(f(&tmp))
    }

    /// Appends exactly `n` bytes to `out` (which is cleared by nobody: callers
    /// reuse scratch buffers by clearing them first).
    pub(crate) fn append(&mut self, out: &mut Vec<u8>, n: u64) -> Result<()> {
        if n <= (self.end - self.pos) as u64 || n < DIRECT_READ_MIN as u64 {
            let n = n as usize;
            self.fill(n)?;
            out.extend_from_slice(&self.buf[self.pos..self.pos + n]);
            self.pos += n;
            return Ok(());
        }
        self.append_direct(out, n)
    }

    /// Drains the buffer into `out`, then reads the rest straight from the
    /// source in chunks that grow with what has actually been received.
    fn append_direct(&mut self, out: &mut Vec<u8>, n: u64) -> Result<()> {
        let buffered = self.end - self.pos;
        out.reserve((n as usize).min(MAX_PREALLOC));
        out.extend_from_slice(&self.buf[self.pos..self.end]);
        self.pos = self.end;
        self.fold_crc();
        self.base += self.end as u64;
        self.pos = 0;
        self.end = 0;
        self.crc_pos = 0;
        let mut remaining = n - buffered as u64;
        while remaining > 0 {
            let chunk = (remaining as usize).min(out.len().max(MAX_PREALLOC));
            let start = out.len();
            out.resize(start + chunk, 0);
            let got = self.read_some(&mut out[start..]);
            out.truncate(start + got.as_ref().map_or(0, |&k| k));
            let got = got?;
            if self.checksum {
                self.crc = crc64(self.crc, &out[start..start + got]);
            }
            self.base += got as u64;
            remaining -= got as u64;
        }
        Ok(())
    }

    /// Reads at least one byte into `dst` (fails at end of input).
    fn read_some(&mut self, dst: &mut [u8]) -> Result<usize> {
        loop {
            match self.src.read(dst) {
                Ok(0) => return Err(RdbError::new(self.base, ErrorKind::UnexpectedEof)),
                Ok(k) => return Ok(k),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(RdbError::new(self.base, ErrorKind::Io(e))),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that hands out at most 3 bytes per call, to exercise refills.
    struct Trickle<'a>(&'a [u8]);

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = buf.len().min(3).min(self.0.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn offsets_and_checksum_follow_consumed_bytes() {
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let mut inp = Input::new(Trickle(&data), true);
        assert_eq!(inp.u8().unwrap(), 0);
        assert_eq!(inp.array::<4>().unwrap(), [1, 2, 3, 4]);
        let big = inp.vec(100_000).unwrap();
        assert_eq!(big, &data[5..100_005]);
        let small = inp.vec(10).unwrap();
        assert_eq!(small, &data[100_005..100_015]);
        assert_eq!(inp.offset(), 100_015);
        assert_eq!(inp.checksum(), crc64(0, &data[..100_015]));
        let rest = inp.vec(99_985).unwrap();
        assert_eq!(rest, &data[100_015..]);
        assert!(inp.at_end().unwrap());
        assert_eq!(inp.checksum(), crc64(0, &data));
    }

    #[test]
    fn huge_claimed_length_fails_without_allocating_it() {
        let data = [1u8; 10];
        let mut inp = Input::new(&data[..], true);
        let err = inp.vec(u64::MAX / 2).unwrap_err();
        assert!(matches!(err.kind, ErrorKind::UnexpectedEof));
        assert_eq!(err.offset, 10);
    }

    #[test]
    fn eof_in_small_read_reports_end_offset() {
        let mut inp = Input::new(&[1u8, 2][..], false);
        assert!(matches!(
            inp.array::<4>().unwrap_err().kind,
            ErrorKind::UnexpectedEof
        ));
    }
}
