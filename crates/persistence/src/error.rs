//! The one error type of this crate.

use std::fmt;

#[derive(Debug)]
pub enum PersistError {
    /// The RDB bytes are invalid (with the byte offset).
    Rdb(rdb::RdbError),
    Io(std::io::Error),
    /// The same key appears twice in one database.
    DuplicateKey {
        db: u64,
        key: Vec<u8>,
    },
    /// SELECTDB names a database this server does not have.
    DbOutOfRange {
        db: u64,
        databases: usize,
    },
    /// A DUMP payload with a bad footer (version or checksum).
    BadDumpFooter,
    /// An append-only file or its manifest is invalid (Valkey's message).
    Aof(String),
}

impl fmt::Display for PersistError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PersistError::Rdb(e) => write!(f, "{e}"),
            PersistError::Io(e) => write!(f, "I/O error: {e}"),
            PersistError::DuplicateKey { db, key } => {
                write!(
                    f,
                    "Duplicated key found in RDB file: db {db}, key '{}'",
                    String::from_utf8_lossy(key)
                )
            }
            PersistError::DbOutOfRange { db, databases } => {
                write!(f, "FATAL: Data file was created with a Redis server configured to handle more than {databases} databases (SELECTDB {db}). Exiting")
            }
            PersistError::BadDumpFooter => write!(f, "DUMP payload version or checksum are wrong"),
            PersistError::Aof(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for PersistError {}

impl From<std::io::Error> for PersistError {
    fn from(e: std::io::Error) -> Self {
        PersistError::Io(e)
    }
}

impl From<rdb::RdbError> for PersistError {
    fn from(e: rdb::RdbError) -> Self {
        if e.is_bad_dump_footer() {
            return PersistError::BadDumpFooter;
        }
        PersistError::Rdb(e)
    }
}
