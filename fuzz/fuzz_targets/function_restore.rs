//! FUNCTION RESTORE payloads: arbitrary bytes, and the same bytes with a valid footer (RDB
//! version and CRC64) so the record parser and library loading are reached.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scripting::{RestorePolicy, Scripting};

fuzz_target!(|data: &[u8]| {
    let mut s = Scripting::default();
    let _ = s.functions.restore(data, RestorePolicy::Append);
    let mut fixed = data.to_vec();
    fixed.extend_from_slice(&10u16.to_le_bytes());
    let crc = rdb::crc64::crc64(0, &fixed);
    fixed.extend_from_slice(&crc.to_le_bytes());
    for policy in [
        RestorePolicy::Append,
        RestorePolicy::Replace,
        RestorePolicy::Flush,
    ] {
        if s.functions.restore(&fixed, policy).is_ok() {
            let dump = s.functions.dump();
            assert!(scripting::dump::decode(&dump).is_ok());
        }
    }
});
