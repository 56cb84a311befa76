//! The properties the cargo-fuzz targets in `crates/rdb/fuzz` check, replayed
//! on fixed inputs so they run in every `cargo test`. When `scripts/fuzz.sh`
//! finds a crash, add the artifact's bytes to the matching list below.

use std::io::Read;

use rdb::{dump_payload, lzf, parse_dump_payload, Reader, ReaderOptions, Value};

/// Inputs for the `reader` target (its bytes are also tried behind a
/// `REDIS0011` header, as the target does).
const READER_CASES: &[&[u8]] = &[
    b"",
    b"REDIS",
    b"REDIS0011",
    b"REDIS0011\xff",
    b"REDIS0003\xff",
    // Stream with 2^40 nodes claimed.
    b"REDIS0011\x13\x01s\x81\x00\x00\x01\x00\x00\x00\x00\x00",
    // LZF string claiming a huge expansion of 3 bytes.
    b"REDIS0011\x00\x01k\xc3\x03\x81\x00\x00\x10\x00\x00\x00\x00\x00\x01\x02",
    // Quicklist v2 node with an unknown container.
    b"REDIS0011\x12\x01l\x01\x07\x01x\xff",
    // Listpack set whose header claims more bytes than present.
    b"REDIS0011\x14\x01s\x07\xff\x00\x00\x00\x00\x00\xff",
    // Consumer PEL entry missing from the group PEL.
    b"\x13\x01s\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x01g\x00\x00\x00\x00\x01\x01c\
      \x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x01\
      \x00\x00\x00\x00\x00\x00\x00\x01\xff",
];

/// Inputs for the `lzf_decompress` target: 2-byte LE expected length + stream.
const LZF_CASES: &[&[u8]] = &[
    b"",
    b"\x05\x00\x00a\xe0\xff\x00",
    b"\x00\x00\x1f",
    b"\xff\xff\x00a\x20\x00",
    b"\x03\x00\x02abc",
];

/// Inputs for the `dump_payload` target.
const DUMP_CASES: &[&[u8]] = &[
    b"",
    b"\x00\x05hello\x0a\x00\x00\x00\x00\x00\x00\x00\x00\x00",
    b"\x13\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x0a\x00\x00\x00\x00\x00\x00\x00\x00\x00",
    b"\x0b\x0a\x02\x00\x00\x00\x01\x00\x00\x00\x05\x00\x0a\x00\x00\x00\x00\x00\x00\x00\x00\x00",
];

struct OneByte<'a>(&'a [u8]);

impl Read for OneByte<'_> {
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

fn drain(r: impl Read, verify_checksum: bool) -> Result<usize, rdb::RdbError> {
    let mut reader = Reader::new(r, ReaderOptions { verify_checksum })?;
    let mut n = 0;
    while reader.next_item()?.is_some() {
        n += 1;
    }
    Ok(n)
}

fn reader_property(data: &[u8]) {
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
}

fn lzf_property(data: &[u8]) {
    if data.len() >= 2 {
        let expected = u16::from_le_bytes([data[0], data[1]]) as usize;
        if let Ok(out) = lzf::decompress(&data[2..], expected) {
            assert_eq!(out.len(), expected);
        }
    }
    if let Some(c) = lzf::compress(data) {
        assert_eq!(lzf::decompress(&c, data.len()).as_deref(), Ok(data));
    }
}

fn normalise(v: Value) -> Value {
    match v {
        Value::SortedSet(mut m) => {
            m.sort_by(|a, b| a.0.cmp(&b.0));
            Value::SortedSet(m)
        }
        Value::Stream(mut s) => {
            for c in s.groups.iter_mut().flat_map(|g| g.consumers.iter_mut()) {
                c.active_time_ms = c.seen_time_ms;
            }
            Value::Stream(s)
        }
        other => other,
    }
}

fn dump_property(data: &[u8]) -> bool {
    match parse_dump_payload(data, false) {
        Ok(v) => {
            let again = parse_dump_payload(&dump_payload(&v).expect("own payload writes"), true)
                .expect("own payload parses");
            assert_eq!(normalise(again), normalise(v));
            true
        }
        Err(_) => false,
    }
}

#[test]
fn reader_cases() {
    for case in READER_CASES {
        reader_property(case);
    }
}

#[test]
fn lzf_cases() {
    for case in LZF_CASES {
        lzf_property(case);
    }
}

#[test]
fn dump_cases() {
    let parsed: Vec<bool> = DUMP_CASES.iter().map(|c| dump_property(c)).collect();
    // The string, the empty stream and the intset parse; the empty input does not.
    assert_eq!(parsed, [false, true, true, true]);
}
