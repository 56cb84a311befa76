//! Stream values, kept as data: stream commands are not implemented yet, but streams must
//! survive RDB load/save, replication full syncs, DUMP/RESTORE, TYPE, DEL and DEBUG DIGEST.

/// A stream entry id `<ms>-<seq>`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StreamId {
    pub ms: u64,
    pub seq: u64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct StreamEntry {
    pub id: StreamId,
    pub fields: Vec<(Vec<u8>, Vec<u8>)>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct PendingEntry {
    pub id: StreamId,
    pub delivery_time_ms: i64,
    pub delivery_count: u64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Consumer {
    pub name: Vec<u8>,
    pub seen_time_ms: i64,
    pub active_time_ms: i64,
    pub pending: Vec<StreamId>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ConsumerGroup {
    pub name: Vec<u8>,
    pub last_id: StreamId,
    pub entries_read: i64,
    pub pel: Vec<PendingEntry>,
    pub consumers: Vec<Consumer>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Stream {
    /// Live entries in id order.
    pub entries: Vec<StreamEntry>,
    pub length: u64,
    pub last_id: StreamId,
    pub first_id: StreamId,
    pub max_deleted_id: StreamId,
    pub entries_added: u64,
    pub groups: Vec<ConsumerGroup>,
}

impl Stream {
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn mem_usage(&self) -> usize {
        self.entries
            .iter()
            .map(|e| {
                32 + e
                    .fields
                    .iter()
                    .map(|(f, v)| f.len() + v.len() + 48)
                    .sum::<usize>()
            })
            .sum()
    }
}
