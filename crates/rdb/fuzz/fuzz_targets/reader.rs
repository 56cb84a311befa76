//! Arbitrary bytes through the file reader, with and without CRC checking
//! (without it, corrupt bodies reach the value decoders instead of failing at
//! the checksum). Also re-reads through a 1-byte-at-a-time source to exercise
//! buffer refills at every boundary.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rdb::{Reader, ReaderOptions};

fn drain(r: impl std::io::Read, verify_checksum: bool) -> Result<usize, rdb::RdbError> {
    let mut reader = Reader::new(r, ReaderOptions { verify_checksum })?;
    let mut n = 0;
    while reader.next_item()?.is_some() {
        n += 1;
    }
    Ok(n)
}

struct OneByte<'a>(&'a [u8]);

impl std::io::Read for OneByte<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match (self.0.split_first(), buf.first_mut()) {
            (Some((b, rest)), Some(slot)) => {
                *slot = *b;
                self.0 = rest;
                Ok(1)
            }
            _ => Ok(0),
        }
    }
}

fuzz_target!(|data: &[u8]| {
    // Most inputs lack a valid header; give half of them one so the fuzzer
    // spends its time in the body.
    let mut with_header = b"REDIS0011".to_vec();
    with_header.extend_from_slice(data);
    for input in [data, &with_header[..]] {
        let unchecked = drain(input, false);
        let _ = drain(input, true);
        let trickled = drain(OneByte(input), false);
        assert_eq!(
            unchecked.is_ok(),
            trickled.is_ok(),
            "buffering changed the outcome"
        );
    }
});
