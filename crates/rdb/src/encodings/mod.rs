//! Decoders for the compact blobs Redis stores as single RDB strings
//! (listpack, ziplist, intset, zipmap) and the listpack encoder the writer
//! needs for streams.
//!
//! Every decoder validates the blob like Redis's "deep" integrity check
//! (header byte count, element count, terminator, per-entry bounds) and never
//! reads outside the slice. Errors carry offsets inside the blob.

pub mod intset;
pub mod listpack;
pub mod ziplist;
pub mod zipmap;

use crate::num::i64_to_bytes;

/// One element of a listpack or ziplist: these formats store integers
/// natively, so an element is either an integer or a byte string borrowed
/// from the blob.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entry<'a> {
    Int(i64),
    Str(&'a [u8]),
}

impl Entry<'_> {
    /// The element as Redis shows it: integers as their decimal text.
    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            Entry::Int(v) => i64_to_bytes(*v),
            Entry::Str(s) => s.to_vec(),
        }
    }

    /// The integer value, if the element is stored as an integer.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Entry::Int(v) => Some(*v),
            Entry::Str(_) => None,
        }
    }
}

/// Reads `N` bytes at `at` or reports `reason` at that offset.
pub(crate) fn bytes_at<const N: usize>(
    blob: &[u8],
    at: usize,
    reason: &'static str,
) -> Result<[u8; N], crate::RdbError> {
    at.checked_add(N)
        .and_then(|end| blob.get(at..end))
        .and_then(|s| <[u8; N]>::try_from(s).ok())
        .ok_or_else(|| crate::RdbError::corrupt(at as u64, reason))
}
