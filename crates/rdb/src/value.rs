//! The item model: what a reader yields and a writer accepts.
//!
//! Values are normalised: whatever encoding a file used (listpack, ziplist,
//! intset, quicklist, ...), a set is a `Vec` of members, a hash a `Vec` of
//! pairs, and so on. Integers stored natively by compact encodings become
//! their decimal text.

/// Type ids (RDB value type bytes).
pub mod type_id {
    pub const STRING: u8 = 0;
    pub const LIST: u8 = 1;
    pub const SET: u8 = 2;
    pub const ZSET: u8 = 3;
    pub const HASH: u8 = 4;
    pub const ZSET_2: u8 = 5;
    pub const MODULE_PRE_GA: u8 = 6;
    pub const MODULE_2: u8 = 7;
    pub const HASH_ZIPMAP: u8 = 9;
    pub const LIST_ZIPLIST: u8 = 10;
    pub const SET_INTSET: u8 = 11;
    pub const ZSET_ZIPLIST: u8 = 12;
    pub const HASH_ZIPLIST: u8 = 13;
    pub const LIST_QUICKLIST: u8 = 14;
    pub const STREAM_LISTPACKS: u8 = 15;
    pub const HASH_LISTPACK: u8 = 16;
    pub const ZSET_LISTPACK: u8 = 17;
    pub const LIST_QUICKLIST_2: u8 = 18;
    pub const STREAM_LISTPACKS_2: u8 = 19;
    pub const SET_LISTPACK: u8 = 20;
    pub const STREAM_LISTPACKS_3: u8 = 21;
}

/// Opcodes that may appear where a value type byte is expected.
pub mod opcode {
    pub const FUNCTION2: u8 = 0xF5;
    pub const FUNCTION_PRE_GA: u8 = 0xF6;
    pub const MODULE_AUX: u8 = 0xF7;
    pub const IDLE: u8 = 0xF8;
    pub const FREQ: u8 = 0xF9;
    pub const AUX: u8 = 0xFA;
    pub const RESIZEDB: u8 = 0xFB;
    pub const EXPIRETIME_MS: u8 = 0xFC;
    pub const EXPIRETIME: u8 = 0xFD;
    pub const SELECTDB: u8 = 0xFE;
    pub const EOF: u8 = 0xFF;
}

/// A key's value, independent of how it was encoded in the file.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    String(Vec<u8>),
    List(Vec<Vec<u8>>),
    Set(Vec<Vec<u8>>),
    /// Members with scores, in file order (Redis writes skiplist zsets highest
    /// score first, listpack zsets lowest first).
    SortedSet(Vec<(Vec<u8>, f64)>),
    Hash(Vec<(Vec<u8>, Vec<u8>)>),
    Stream(Box<Stream>),
}

impl Value {
    /// The type byte [`crate::Writer`] uses for this value.
    pub fn type_id(&self) -> u8 {
        match self {
            Value::String(_) => type_id::STRING,
            Value::List(_) => type_id::LIST,
            Value::Set(_) => type_id::SET,
            Value::SortedSet(_) => type_id::ZSET_2,
            Value::Hash(_) => type_id::HASH,
            Value::Stream(_) => type_id::STREAM_LISTPACKS_2,
        }
    }

    /// Number of elements (entries for streams, 1 for strings). Redis skips
    /// keys whose collection is empty when loading; callers may do the same.
    pub fn len(&self) -> usize {
        match self {
            Value::String(_) => 1,
            Value::List(v) | Value::Set(v) => v.len(),
            Value::SortedSet(v) => v.len(),
            Value::Hash(v) => v.len(),
            Value::Stream(s) => s.entries.len(),
        }
    }

    /// True for a collection without elements (never for strings or streams,
    /// which exist while empty in Redis).
    pub fn is_empty(&self) -> bool {
        !matches!(self, Value::String(_) | Value::Stream(_)) && self.len() == 0
    }
}

/// A stream ID `ms-seq`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct StreamId {
    pub ms: u64,
    pub seq: u64,
}

impl StreamId {
    pub const MAX: StreamId = StreamId {
        ms: u64::MAX,
        seq: u64::MAX,
    };

    pub fn new(ms: u64, seq: u64) -> Self {
        StreamId { ms, seq }
    }

    /// The 16-byte big-endian form used for node keys and PEL entries.
    pub fn to_be_bytes(self) -> [u8; 16] {
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&self.ms.to_be_bytes());
        b[8..].copy_from_slice(&self.seq.to_be_bytes());
        b
    }

    pub fn from_be_bytes(b: [u8; 16]) -> Self {
        let (ms, seq) = b.split_at(8);
        let mut m = [0u8; 8];
        let mut s = [0u8; 8];
        m.copy_from_slice(ms);
        s.copy_from_slice(seq);
        StreamId {
            ms: u64::from_be_bytes(m),
            seq: u64::from_be_bytes(s),
        }
    }

    pub fn is_zero(self) -> bool {
        self.ms == 0 && self.seq == 0
    }
}

impl std::fmt::Display for StreamId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

/// A live (not deleted) stream entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamEntry {
    pub id: StreamId,
    pub fields: Vec<(Vec<u8>, Vec<u8>)>,
}

/// A pending (delivered, not acknowledged) entry of a consumer group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingEntry {
    pub id: StreamId,
    pub delivery_time_ms: i64,
    pub delivery_count: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consumer {
    pub name: Vec<u8>,
    pub seen_time_ms: i64,
    pub active_time_ms: i64,
    /// IDs of the group PEL entries owned by this consumer.
    pub pending: Vec<StreamId>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerGroup {
    pub name: Vec<u8>,
    pub last_id: StreamId,
    /// Logical read counter; -1 when unknown (Redis's SCG_INVALID_ENTRIES_READ).
    pub entries_read: i64,
    pub pel: Vec<PendingEntry>,
    pub consumers: Vec<Consumer>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Stream {
    /// Live entries in ID order.
    pub entries: Vec<StreamEntry>,
    pub length: u64,
    pub last_id: StreamId,
    pub first_id: StreamId,
    pub max_deleted_id: StreamId,
    pub entries_added: u64,
    pub groups: Vec<ConsumerGroup>,
}

/// A key with its value and the metadata opcodes that preceded it.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyEntry {
    pub key: Vec<u8>,
    pub value: Value,
    /// Absolute unix time in milliseconds.
    pub expire_ms: Option<i64>,
    /// LRU idle time (IDLE opcode).
    pub idle_secs: Option<u64>,
    /// LFU counter (FREQ opcode).
    pub lfu_freq: Option<u8>,
}

impl KeyEntry {
    pub fn new(key: impl Into<Vec<u8>>, value: Value) -> Self {
        KeyEntry {
            key: key.into(),
            value,
            expire_ms: None,
            idle_secs: None,
            lfu_freq: None,
        }
    }
}

/// One top-level item of an RDB file, in file order.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    Aux {
        key: Vec<u8>,
        value: Vec<u8>,
    },
    SelectDb(u64),
    ResizeDb {
        db_size: u64,
        expires_size: u64,
    },
    /// A function library's source code (FUNCTION2 opcode).
    Function(Vec<u8>),
    Key(KeyEntry),
    /// End of file; the checksum (if any) has been verified.
    Eof,
}
