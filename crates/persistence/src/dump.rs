//! DUMP and RESTORE payloads: the value in RDB format, the RDB version and a CRC64.

use keyspace::Obj;

use crate::convert::{to_obj, type_of, write_value, Limits};
use crate::error::PersistError;

/// DUMP payload of an object's value.
pub fn dump(obj: &Obj) -> Result<Vec<u8>, PersistError> {
    Ok(rdb::dump_payload_with(type_of(obj), |w| {
        write_value(w, obj)
    })?)
}

/// Parses a RESTORE payload into an object for `key`. `Ok(None)` for an empty collection.
pub fn restore(
    key: &[u8],
    payload: &[u8],
    expire_ms: Option<i64>,
    verify_checksum: bool,
    limits: &Limits,
) -> Result<Option<Obj>, PersistError> {
    let value = rdb::parse_dump_payload(payload, verify_checksum)?;
    Ok(to_obj(key, value, expire_ms, limits))
}
