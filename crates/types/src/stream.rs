//! Stream values, kept as data: stream commands are not implemented yet, but streams must
//! survive RDB load/save, replication full syncs, DUMP/RESTORE, TYPE, DEL and DEBUG DIGEST.
//! The model is the RDB codec's (`rdb::Stream`), so loading and saving need no conversion.

pub use rdb::{Consumer, ConsumerGroup, PendingEntry, Stream, StreamEntry, StreamId};

/// Approximate heap bytes of a stream (MEMORY USAGE).
pub fn mem_usage(s: &Stream) -> usize {
    s.entries
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
