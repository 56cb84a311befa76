//! LZF: decompression of arbitrary input never panics nor exceeds the
//! expected length, and compress -> decompress is the identity.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rdb::lzf;

fuzz_target!(|data: &[u8]| {
    if data.len() >= 2 {
        let expected = u16::from_le_bytes([data[0], data[1]]) as usize;
        if let Ok(out) = lzf::decompress(&data[2..], expected) {
            assert_eq!(out.len(), expected);
        }
    }
    if let Some(c) = lzf::compress(data) {
        assert!(c.len() + 4 <= data.len());
        assert_eq!(lzf::decompress(&c, data.len()).as_deref(), Ok(data));
    }
});
