//! Writing a point-in-time snapshot as an RDB stream into any sink.
//!
//! The snapshot shares the keyspace's segments copy-on-write; this code only reads them, and
//! releases each segment as soon as it has been written, so the writer stops paying for copies
//! of segments that are done.

use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use keyspace::Snapshot;
use rdb::{Writer, WriterOptions};

use crate::convert::{type_of, write_value};

#[derive(Clone, Debug)]
pub struct SaveOptions {
    /// `rdbcompression`.
    pub compression: bool,
    /// `rdbchecksum`.
    pub checksum: bool,
    /// `rdb-key-save-delay` (µs per key; negative = sleep 1 µs with probability 1/-n).
    pub key_save_delay_us: i64,
}

impl Default for SaveOptions {
    fn default() -> Self {
        SaveOptions {
            compression: true,
            checksum: true,
            key_save_delay_us: 0,
        }
    }
}

/// Replication position recorded in (and read from) RDB aux fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplInfo {
    pub replid: String,
    pub offset: i64,
    pub stream_db: i64,
}

/// Aux fields of the file, and the FUNCTION libraries it carries.
#[derive(Clone, Debug)]
pub struct SaveInfo {
    pub redis_ver: String,
    pub ctime: i64,
    pub used_mem: u64,
    pub repl: Option<ReplInfo>,
    /// The code of each FUNCTION library, written as FUNCTION2 records after the aux fields
    /// (where Valkey's `rdbSaveFunctions` puts them), in this order.
    pub functions: Vec<bytes::Bytes>,
}

#[derive(Clone, Copy, Debug, Default)]
pub struct SaveStats {
    pub keys: u64,
    pub bytes: u64,
}

fn delay(us: i64, counter: &mut u64) {
    if us > 0 {
        std::thread::sleep(std::time::Duration::from_micros(us as u64));
    } else if us < 0 {
        *counter += 1;
        if (*counter).is_multiple_of((-us) as u64) {
            std::thread::sleep(std::time::Duration::from_micros(1));
        }
    }
}

/// Writes `snap` to `sink` (RDB version 10). `cancel` aborts with `Interrupted`; `keys_done`
/// counts written keys for progress reporting.
pub fn write_snapshot<W: Write>(
    snap: Snapshot,
    info: &SaveInfo,
    opts: &SaveOptions,
    sink: W,
    cancel: &AtomicBool,
    keys_done: &AtomicU64,
) -> io::Result<(W, SaveStats)> {
    let mut w = Writer::new(
        sink,
        WriterOptions {
            compression: opts.compression,
            checksum: opts.checksum,
        },
    );
    w.header(rdb::WRITE_VERSION)?;
    w.aux(b"redis-ver", info.redis_ver.as_bytes())?;
    w.aux(b"redis-bits", b"64")?;
    w.aux(b"ctime", info.ctime.to_string().as_bytes())?;
    w.aux(b"used-mem", info.used_mem.to_string().as_bytes())?;
    if let Some(r) = &info.repl {
        w.aux(b"repl-stream-db", r.stream_db.to_string().as_bytes())?;
        w.aux(b"repl-id", r.replid.as_bytes())?;
        w.aux(b"repl-offset", r.offset.to_string().as_bytes())?;
    }
    w.aux(b"aof-base", b"0")?;
    for code in &info.functions {
        w.function(code)?;
    }
    let mut stats = SaveStats::default();
    let mut delay_counter = 0u64;
    for (db, (segs, expires)) in snap.dbs.into_iter().zip(snap.expires).enumerate() {
        if segs.is_empty() {
            continue;
        }
        w.select_db(db as u64)?;
        w.resize_db(segs.len() as u64, expires as u64)?;
        for seg in segs.drain_segments() {
            for obj in seg.items() {
                if cancel.load(Ordering::Relaxed) {
                    return Err(io::Error::new(
                        io::ErrorKind::Interrupted,
                        "snapshot cancelled",
                    ));
                }
                w.key_header(type_of(obj), obj.key(), obj.expire_ms(), None, None)?;
                write_value(&mut w, obj)?;
                stats.keys += 1;
                keys_done.fetch_add(1, Ordering::Relaxed);
                delay(opts.key_save_delay_us, &mut delay_counter);
            }
        }
    }
    stats.bytes = w.bytes_written();
    let sink = w.finish()?;
    stats.bytes += 9;
    Ok((sink, stats))
}
