//! The crate's single error type.
//!
//! Every failure carries the byte offset at which it was detected so that a
//! corrupt file can be inspected with a hex dump; the offset counts from the
//! first byte handed to the reader (the `R` of `REDIS`, or the type byte of a
//! DUMP payload). The blob decoders in [`crate::encodings`] use the same type
//! with offsets counted inside the blob.

use std::fmt;

/// What went wrong. Corruption reasons are free text because they are only
/// ever shown to people; callers that need to react programmatically match on
/// the structured variants.
#[derive(Debug)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The underlying reader failed.
    Io(std::io::Error),
    /// The input ended in the middle of an item.
    UnexpectedEof,
    /// The file does not start with `REDIS`.
    BadSignature,
    /// The header names a version this codec does not load (outside 1..=11).
    UnsupportedVersion(u32),
    /// The stored CRC64 does not match the data.
    ChecksumMismatch { expected: u64, actual: u64 },
    /// A DUMP payload footer is too short, names a newer RDB version, or its
    /// CRC is wrong (Redis replies "DUMP payload version or checksum are wrong").
    BadDumpFooter,
    /// A value type byte this codec does not know.
    UnknownType(u8),
    /// Module data (type 6/7 values or MODULE_AUX): needs the module to load.
    ModuleData(String),
    /// Valid RDB data this codec deliberately refuses (e.g. pre-GA functions).
    Unsupported(String),
    /// The bytes are not a valid encoding.
    Corrupt(String),
}

/// An error with the byte offset where it was detected.
#[derive(Debug)]
pub struct RdbError {
    pub offset: u64,
    pub kind: ErrorKind,
}

impl RdbError {
    pub fn new(offset: u64, kind: ErrorKind) -> Self {
        RdbError { offset, kind }
    }

    pub fn corrupt(offset: u64, reason: impl Into<String>) -> Self {
        RdbError::new(offset, ErrorKind::Corrupt(reason.into()))
    }

    /// True for the error Redis reports as "DUMP payload version or checksum are wrong".
    pub fn is_bad_dump_footer(&self) -> bool {
        matches!(self.kind, ErrorKind::BadDumpFooter)
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorKind::Io(e) => write!(f, "I/O error: {e}"),
            ErrorKind::UnexpectedEof => f.write_str("unexpected end of input"),
            ErrorKind::BadSignature => f.write_str("Wrong signature trying to load DB from file"),
            ErrorKind::UnsupportedVersion(v) => write!(f, "Can't handle RDB format version {v}"),
            ErrorKind::ChecksumMismatch { expected, actual } => write!(
                f,
                "Wrong RDB checksum expected: ({expected:x}) but got ({actual:x}) (RDB CRC error)"
            ),
            ErrorKind::BadDumpFooter => f.write_str("DUMP payload version or checksum are wrong"),
            ErrorKind::UnknownType(t) => write!(f, "Unknown RDB encoding type {t}"),
            ErrorKind::ModuleData(s) | ErrorKind::Unsupported(s) | ErrorKind::Corrupt(s) => {
                f.write_str(s)
            }
        }
    }
}

impl fmt::Display for RdbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RDB error at byte {}: {}", self.offset, self.kind)
    }
}

impl std::error::Error for RdbError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            ErrorKind::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl RdbError {
    /// Blob decoders (listpack, ziplist, ...) report offsets inside the blob,
    /// which may itself have been LZF-compressed in the file. The reader
    /// re-anchors such errors at the file offset where the blob's string starts
    /// and keeps the inner offset in the message.
    pub(crate) fn in_blob(self, blob_file_offset: u64) -> RdbError {
        let inner = self.offset;
        let kind = match self.kind {
            ErrorKind::Corrupt(s) => ErrorKind::Corrupt(format!("{s} (blob byte {inner})")),
            other => other,
        };
        RdbError::new(blob_file_offset, kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_offset_and_reason() {
        let e = RdbError::new(1234, ErrorKind::UnsupportedVersion(12));
        assert_eq!(
            e.to_string(),
            "RDB error at byte 1234: Can't handle RDB format version 12"
        );
        let e = RdbError::corrupt(7, "bad listpack entry").in_blob(99);
        assert_eq!(
            e.to_string(),
            "RDB error at byte 99: bad listpack entry (blob byte 7)"
        );
    }
}
