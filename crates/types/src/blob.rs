//! Thin owned byte strings: one machine word per element.
//!
//! Collections hold millions of small strings, and Redis's own overhead per element is what we
//! are measured against, so an element is a single word:
//! - up to 7 bytes are stored *inside* the word (low bit set, length in the low byte), with no
//!   allocation at all (small integers, short tags);
//! - longer strings point to one heap block `[len: u32][bytes]` sized exactly.
//!
//! [`Pair`] is the same idea for a hash field and its value in one block.
//! Elements are limited to 4 GiB - 1 (the server caps `proto-max-bulk-len` accordingly).

use std::alloc::{alloc, dealloc, Layout};
use std::borrow::Borrow;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::num::NonZeroUsize;
use std::ops::Deref;
use std::ptr::NonNull;

#[cfg(not(all(target_endian = "little", target_pointer_width = "64")))]
compile_error!("Blob's inline representation assumes a little-endian 64-bit target");

const INLINE_MAX: usize = 7;
const LEN_BYTES: usize = 4;
/// Largest element a [`Blob`] or [`Pair`] half can hold.
pub const MAX_ELEMENT_LEN: usize = u32::MAX as usize;

/// Allocates a block of `size` bytes (align 4). Aborts on allocation failure, as `Vec` does.
fn alloc_block(size: usize) -> NonNull<u8> {
    let layout = block_layout(size);
    // SAFETY: the layout has non-zero size (size >= LEN_BYTES).
    let p = unsafe { alloc(layout) };
    NonNull::new(p).unwrap_or_else(|| std::alloc::handle_alloc_error(layout))
}

fn block_layout(size: usize) -> Layout {
    match Layout::from_size_align(size.max(LEN_BYTES), 4) {
        Ok(l) => l,
        // Sizes are bounded by MAX_ELEMENT_LEN * 2 + 8, far below isize::MAX.
        Err(_) => unreachable!("block size overflow"),
    }
}

fn checked_len(len: usize) -> u32 {
    assert!(len <= MAX_ELEMENT_LEN, "element larger than 4 GiB");
    len as u32
}

/// A thin, immutable, owned byte string.
pub struct Blob(NonZeroUsize);

// SAFETY: a Blob exclusively owns its heap block (or holds inline data); no shared mutation.
unsafe impl Send for Blob {}
// SAFETY: &Blob only permits reads.
unsafe impl Sync for Blob {}

impl Blob {
    pub fn new(data: &[u8]) -> Blob {
        if data.len() <= INLINE_MAX {
            let mut word = [0u8; 8];
            word[0] = ((data.len() as u8) << 1) | 1;
            word[1..=data.len()].copy_from_slice(data);
            let v = usize::from_le_bytes(word);
            // The low bit is set, so the word is never zero.
            return Blob(NonZeroUsize::new(v).unwrap_or(NonZeroUsize::MIN));
        }
        let len = checked_len(data.len());
        let block = alloc_block(LEN_BYTES + data.len());
        // SAFETY: the block holds LEN_BYTES + len bytes, 4-aligned; we write exactly that.
        unsafe {
            block.as_ptr().cast::<u32>().write(len);
            std::ptr::copy_nonoverlapping(data.as_ptr(), block.as_ptr().add(LEN_BYTES), data.len());
        }
        // Heap pointers are 4-aligned, so the low bit is clear: that is the tag.
        Blob(NonZeroUsize::new(block.as_ptr() as usize).unwrap_or(NonZeroUsize::MIN))
    }

    /// Starts loading the heap block of a non-inline string.
    #[inline]
    pub fn prefetch(&self) {
        if !self.is_inline() {
            crate::segmap::prefetch(self.0.get() as *const u8);
        }
    }

    fn is_inline(&self) -> bool {
        self.0.get() & 1 == 1
    }

    pub fn as_bytes(&self) -> &[u8] {
        if self.is_inline() {
            let len = (self.0.get() & 0xff) >> 1;
            // SAFETY: the word lives in `self`; bytes 1..=len of it hold the data (little
            // endian, so byte 0 is the tag byte at the lowest address).
            unsafe {
                let p = (&self.0 as *const NonZeroUsize).cast::<u8>();
                std::slice::from_raw_parts(p.add(1), len)
            }
        } else {
            let p = self.0.get() as *const u8;
            // SAFETY: a heap block starts with its u32 length, followed by that many bytes.
            unsafe {
                let len = p.cast::<u32>().read() as usize;
                std::slice::from_raw_parts(p.add(LEN_BYTES), len)
            }
        }
    }

    /// Heap bytes owned beyond the word itself (for memory accounting).
    pub fn heap_size(&self) -> usize {
        if self.is_inline() {
            0
        } else {
            LEN_BYTES + self.len()
        }
    }
}

impl Drop for Blob {
    fn drop(&mut self) {
        if !self.is_inline() {
            let size = LEN_BYTES + self.as_bytes().len();
            // SAFETY: allocated by alloc_block with this size.
            unsafe { dealloc(self.0.get() as *mut u8, block_layout(size)) }
        }
    }
}

impl Clone for Blob {
    fn clone(&self) -> Self {
        Blob::new(self.as_bytes())
    }
}

impl Deref for Blob {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl Borrow<[u8]> for Blob {
    fn borrow(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl AsRef<[u8]> for Blob {
    fn as_ref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl PartialEq for Blob {
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}
impl Eq for Blob {}

impl PartialOrd for Blob {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Blob {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_bytes().cmp(other.as_bytes())
    }
}

impl Hash for Blob {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_bytes().hash(state)
    }
}

impl fmt::Debug for Blob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(self.as_bytes()))
    }
}

impl From<&[u8]> for Blob {
    fn from(v: &[u8]) -> Self {
        Blob::new(v)
    }
}

/// A hash field and its value in one heap block: `[field_len: u32][value_len: u32][field][value]`.
pub struct Pair(NonNull<u8>);

// SAFETY: exclusively owned block, read-only through &Pair.
unsafe impl Send for Pair {}
// SAFETY: as above.
unsafe impl Sync for Pair {}

impl Pair {
    /// Starts loading the block (field first).
    #[inline]
    pub fn prefetch(&self) {
        crate::segmap::prefetch(self.0.as_ptr());
    }
}

impl Pair {
    pub fn new(field: &[u8], value: &[u8]) -> Pair {
        let (fl, vl) = (checked_len(field.len()), checked_len(value.len()));
        let block = alloc_block(2 * LEN_BYTES + field.len() + value.len());
        // SAFETY: the block is sized for both lengths and both strings.
        unsafe {
            let p = block.as_ptr();
            p.cast::<u32>().write(fl);
            p.add(LEN_BYTES).cast::<u32>().write(vl);
            std::ptr::copy_nonoverlapping(field.as_ptr(), p.add(2 * LEN_BYTES), field.len());
            std::ptr::copy_nonoverlapping(
                value.as_ptr(),
                p.add(2 * LEN_BYTES + field.len()),
                value.len(),
            );
        }
        Pair(block)
    }

    fn lens(&self) -> (usize, usize) {
        let p = self.0.as_ptr();
        // SAFETY: the block starts with two u32 lengths.
        unsafe {
            (
                p.cast::<u32>().read() as usize,
                p.add(LEN_BYTES).cast::<u32>().read() as usize,
            )
        }
    }

    pub fn field(&self) -> &[u8] {
        let (fl, _) = self.lens();
        // SAFETY: field bytes follow the two lengths.
        unsafe { std::slice::from_raw_parts(self.0.as_ptr().add(2 * LEN_BYTES), fl) }
    }

    pub fn value(&self) -> &[u8] {
        let (fl, vl) = self.lens();
        // SAFETY: value bytes follow the field bytes.
        unsafe { std::slice::from_raw_parts(self.0.as_ptr().add(2 * LEN_BYTES + fl), vl) }
    }

    pub fn heap_size(&self) -> usize {
        let (fl, vl) = self.lens();
        2 * LEN_BYTES + fl + vl
    }
}

impl Drop for Pair {
    fn drop(&mut self) {
        let size = self.heap_size();
        // SAFETY: allocated by alloc_block with this size.
        unsafe { dealloc(self.0.as_ptr(), block_layout(size)) }
    }
}

impl Clone for Pair {
    fn clone(&self) -> Self {
        Pair::new(self.field(), self.value())
    }
}

impl PartialEq for Pair {
    fn eq(&self, other: &Self) -> bool {
        self.field() == other.field() && self.value() == other.value()
    }
}

impl fmt::Debug for Pair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?}={:?}",
            String::from_utf8_lossy(self.field()),
            String::from_utf8_lossy(self.value())
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_and_heap_round_trip() {
        for len in 0..40 {
            let data: Vec<u8> = (0..len as u8).map(|i| i.wrapping_mul(37)).collect();
            let b = Blob::new(&data);
            assert_eq!(b.as_bytes(), &data[..]);
            assert_eq!(b.is_inline(), len <= INLINE_MAX);
            let c = b.clone();
            drop(b);
            assert_eq!(c.as_bytes(), &data[..]);
        }
    }

    #[test]
    fn pair_halves() {
        let p = Pair::new(b"field", b"a longer value here");
        assert_eq!(p.field(), b"field");
        assert_eq!(p.value(), b"a longer value here");
        let q = Pair::new(b"", b"");
        assert_eq!((q.field(), q.value()), (&b""[..], &b""[..]));
        assert_eq!(p.clone(), p);
    }
}
