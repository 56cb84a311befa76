//! Loading an RDB stream into fresh databases, built aside: the caller swaps them in only when
//! the whole load succeeded, so a corrupt or truncated file never leaves a partial dataset.

use std::io::Read;
use std::sync::atomic::{AtomicU64, Ordering};

use keyspace::{Db, Keyspace};
use rdb::{Item, Reader, ReaderOptions};

pub use crate::convert::Limits;
use crate::error::PersistError;
pub use crate::save::ReplInfo;

#[derive(Clone, Debug)]
pub struct LoadOptions {
    pub verify_checksum: bool,
    pub databases: usize,
    pub limits: Limits,
    /// A primary drops keys that are already expired (replicas keep them, as Redis).
    pub drop_expired_at_ms: Option<i64>,
    /// `key-load-delay` (µs per key; negative = 1 µs with probability 1/-n).
    pub key_load_delay_us: i64,
    /// Keep the (database, key) of each key dropped as expired in [`Loaded::expired`], so that
    /// a primary restarting with its replication history can propagate their deletion.
    pub report_expired: bool,
}

/// What a load produced.
pub struct Loaded {
    pub dbs: Vec<Db>,
    pub version: u32,
    /// repl-id / repl-offset / repl-stream-db, when all three are present and valid.
    pub repl: Option<ReplInfo>,
    pub aux: Vec<(Vec<u8>, Vec<u8>)>,
    pub keys_loaded: u64,
    pub keys_expired: u64,
    /// The keys dropped as expired, when [`LoadOptions::report_expired`] asked for them.
    pub expired: Vec<(usize, Vec<u8>)>,
    /// The code of each FUNCTION2 record, in file order. Compiling them is the caller's part
    /// (the scripting engine lives on the event loop): a load is installed only if they all
    /// load too.
    pub functions: Vec<Vec<u8>>,
}

/// Loads an RDB from `src`. `bytes_read` is updated as the load progresses.
pub fn load<R: Read>(
    src: R,
    opts: &LoadOptions,
    bytes_read: &AtomicU64,
) -> Result<Loaded, PersistError> {
    let mut reader = Reader::new(
        src,
        ReaderOptions {
            verify_checksum: opts.verify_checksum,
        },
    )?;
    let mut out = Loaded {
        dbs: Keyspace::empty_dbs(opts.databases),
        version: reader.version(),
        repl: None,
        aux: Vec::new(),
        keys_loaded: 0,
        keys_expired: 0,
        expired: Vec::new(),
        functions: Vec::new(),
    };
    let mut db = 0usize;
    let mut delay_counter = 0u64;
    while let Some(item) = reader.next_item()? {
        bytes_read.store(reader.bytes_read(), Ordering::Relaxed);
        match item {
            Item::Aux { key, value } => out.aux.push((key, value)),
            Item::SelectDb(n) => {
                if n as usize >= opts.databases {
                    return Err(PersistError::DbOutOfRange {
                        db: n,
                        databases: opts.databases,
                    });
                }
                db = n as usize;
            }
            Item::ResizeDb { .. } => {}
            Item::Function(code) => out.functions.push(code),
            Item::Key(entry) => {
                if opts
                    .drop_expired_at_ms
                    .is_some_and(|now| entry.expire_ms.is_some_and(|e| e < now))
                {
                    out.keys_expired += 1;
                    if opts.report_expired {
                        out.expired.push((db, entry.key));
                    }
                    continue;
                }
                let key = entry.key;
                if let Some(obj) =
                    crate::convert::to_obj(&key, entry.value, entry.expire_ms, &opts.limits)
                {
                    if Keyspace::load_insert(&mut out.dbs, db, obj).is_err() {
                        return Err(PersistError::DuplicateKey { db: db as u64, key });
                    }
                    out.keys_loaded += 1;
                }
                load_delay(opts.key_load_delay_us, &mut delay_counter);
            }
            Item::Eof => {}
        }
    }
    bytes_read.store(reader.bytes_read(), Ordering::Relaxed);
    out.repl = repl_info(&out.aux);
    Ok(out)
}

fn load_delay(us: i64, counter: &mut u64) {
    if us > 0 {
        std::thread::sleep(std::time::Duration::from_micros(us as u64));
    } else if us < 0 {
        *counter += 1;
        if (*counter).is_multiple_of((-us) as u64) {
            std::thread::sleep(std::time::Duration::from_micros(1));
        }
    }
}

/// repl-id (exactly 40 chars), repl-offset and repl-stream-db from the aux fields.
fn repl_info(aux: &[(Vec<u8>, Vec<u8>)]) -> Option<ReplInfo> {
    let get = |k: &[u8]| {
        aux.iter()
            .rev()
            .find(|(a, _)| a == k)
            .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
    };
    let replid = get(b"repl-id").filter(|id| id.len() == 40)?;
    let offset = get(b"repl-offset")?
        .parse::<i64>()
        .ok()
        .filter(|o| *o != -1)?;
    let stream_db = get(b"repl-stream-db")?
        .parse::<i64>()
        .ok()
        .filter(|d| *d != -1)?;
    Some(ReplInfo {
        replid,
        offset,
        stream_db,
    })
}
