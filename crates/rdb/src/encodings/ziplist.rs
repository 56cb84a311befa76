//! Ziplist (RDB types 10, 12, 13 and quicklist v1 nodes):
//! `<u32 LE total bytes> <u32 LE tail offset> <u16 LE count> entries... 0xFF`.
//!
//! Each entry is `<prevlen> <encoding> <data>`; prevlen is the raw size of the
//! previous entry (1 byte if < 254, else 0xFE + u32 LE), which Redis's deep
//! validation checks, as well as the tail offset pointing at the last entry.

use super::{bytes_at, Entry};
use crate::RdbError;

const HEADER: usize = 10;
const END: u8 = 0xFF;
const BIG_PREVLEN: u8 = 0xFE;

/// Decodes and validates a whole ziplist.
pub fn decode(blob: &[u8]) -> Result<Vec<Entry<'_>>, RdbError> {
    let end = check_header(blob)?;
    let tail = u32::from_le_bytes(bytes_at(blob, 4, "ziplist header")?) as usize;
    let declared = u16::from_le_bytes(bytes_at(blob, 8, "ziplist header")?);
    let mut out = Vec::new();
    let mut p = HEADER;
    let mut prev_size = 0usize;
    let mut last_start = None;
    while p < end {
        let (entry, size) = entry_at(blob, p, end, prev_size)?;
        out.push(entry);
        last_start = Some(p);
        prev_size = size;
        p += size;
    }
    if p != end {
        return Err(RdbError::corrupt(
            p as u64,
            "ziplist entries overrun the terminator",
        ));
    }
    if last_start.is_some_and(|s| s != tail) {
        return Err(RdbError::corrupt(
            4,
            "ziplist tail offset does not point at the last entry",
        ));
    }
    if declared != u16::MAX && declared as usize != out.len() {
        return Err(RdbError::corrupt(
            8,
            "ziplist count does not match its entries",
        ));
    }
    Ok(out)
}

fn check_header(blob: &[u8]) -> Result<usize, RdbError> {
    if blob.len() < HEADER + 1 {
        return Err(RdbError::corrupt(0, "ziplist shorter than its header"));
    }
    let total = u32::from_le_bytes(bytes_at(blob, 0, "ziplist header")?);
    if total as usize != blob.len() {
        return Err(RdbError::corrupt(
            0,
            "ziplist total bytes does not match its size",
        ));
    }
    let end = blob.len() - 1;
    if blob[end] != END {
        return Err(RdbError::corrupt(
            end as u64,
            "ziplist does not end with 0xFF",
        ));
    }
    let tail = u32::from_le_bytes(bytes_at(blob, 4, "ziplist header")?) as usize;
    if tail > end {
        return Err(RdbError::corrupt(
            4,
            "ziplist tail offset outside the ziplist",
        ));
    }
    Ok(end)
}

/// Decodes the entry at `p`; returns it with its raw size (prevlen + header + data).
fn entry_at(
    blob: &[u8],
    p: usize,
    end: usize,
    prev_size: usize,
) -> Result<(Entry<'_>, usize), RdbError> {
    let bad = |reason| RdbError::corrupt(p as u64, reason);
    if blob[p] == END {
        return Err(bad("ziplist terminator before the end"));
    }
    let (prevlen, prevlen_size) = if blob[p] < BIG_PREVLEN {
        (blob[p] as usize, 1)
    } else {
        (
            u32::from_le_bytes(bytes_at(blob, p + 1, "truncated ziplist prevlen")?) as usize,
            5,
        )
    };
    if prevlen != prev_size {
        return Err(bad("ziplist prevlen does not match the previous entry"));
    }
    let q = p + prevlen_size;
    let enc = *blob.get(q).ok_or_else(|| bad("truncated ziplist entry"))?;
    let (header, data_len) = header_and_len(blob, q, enc)?;
    let data_start = q + header;
    let next = data_start
        .checked_add(data_len)
        .filter(|&n| n <= end)
        .ok_or_else(|| bad("ziplist entry runs past the end"))?;
    let data = &blob[data_start..next];
    let entry = if enc < 0xC0 {
        Entry::Str(data)
    } else {
        Entry::Int(int_value(enc, data))
    };
    Ok((entry, next - p))
}

/// Size of the encoding header and of the data that follows it.
fn header_and_len(blob: &[u8], q: usize, enc: u8) -> Result<(usize, usize), RdbError> {
    let bad = || RdbError::corrupt(q as u64, "invalid ziplist entry encoding");
    Ok(match enc {
        0x00..=0x3F => (1, (enc & 0x3F) as usize),
        0x40..=0x7F => {
            let [_, lo] = bytes_at::<2>(blob, q, "truncated ziplist entry header")?;
            (2, ((enc as usize & 0x3F) << 8) | lo as usize)
        }
        0x80..=0xBF => (
            5,
            u32::from_be_bytes(bytes_at(blob, q + 1, "truncated ziplist entry header")?) as usize,
        ),
        0xC0 => (1, 2),
        0xD0 => (1, 4),
        0xE0 => (1, 8),
        0xF0 => (1, 3),
        0xFE => (1, 1),
        0xF1..=0xFD => (1, 0),
        _ => return Err(bad()),
    })
}

/// Integer payloads are little-endian; 0xF1..0xFD carry 0..12 in the encoding byte.
fn int_value(enc: u8, d: &[u8]) -> i64 {
    match (enc, d) {
        (0xFE, [a]) => *a as i8 as i64,
        (0xC0, [a, b]) => i16::from_le_bytes([*a, *b]) as i64,
        (0xF0, [a, b, c]) => (i32::from_le_bytes([0, *a, *b, *c]) >> 8) as i64,
        (0xD0, [a, b, c, e]) => i32::from_le_bytes([*a, *b, *c, *e]) as i64,
        (0xE0, s) if s.len() == 8 => {
            let mut b = [0u8; 8];
            b.copy_from_slice(s);
            i64::from_le_bytes(b)
        }
        _ => (enc & 0x0F) as i64 - 1,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Minimal test-only ziplist writer: strings stay strings, ints use the
    /// smallest integer encoding (immediates for 0..=12).
    pub(crate) fn build(entries: &[Entry<'_>]) -> Vec<u8> {
        let mut body = Vec::new();
        let mut prev = 0usize;
        let mut tail = HEADER;
        for e in entries {
            let start = body.len();
            tail = HEADER + start;
            if prev < 254 {
                body.push(prev as u8);
            } else {
                body.push(0xFE);
                body.extend_from_slice(&(prev as u32).to_le_bytes());
            }
            match *e {
                Entry::Str(s) if s.len() < 64 => body.push(s.len() as u8),
                Entry::Str(s) if s.len() < 16384 => {
                    body.extend_from_slice(&[0x40 | (s.len() >> 8) as u8, s.len() as u8])
                }
                Entry::Str(s) => {
                    body.push(0x80);
                    body.extend_from_slice(&(s.len() as u32).to_be_bytes());
                }
                Entry::Int(v @ 0..=12) => body.push(0xF1 + v as u8),
                Entry::Int(v) if i8::try_from(v).is_ok() => {
                    body.extend_from_slice(&[0xFE, v as u8])
                }
                Entry::Int(v) if i16::try_from(v).is_ok() => {
                    body.push(0xC0);
                    body.extend_from_slice(&(v as i16).to_le_bytes());
                }
                Entry::Int(v) if (-(1 << 23)..(1 << 23)).contains(&v) => {
                    body.push(0xF0);
                    body.extend_from_slice(&(v as i32).to_le_bytes()[..3]);
                }
                Entry::Int(v) if i32::try_from(v).is_ok() => {
                    body.push(0xD0);
                    body.extend_from_slice(&(v as i32).to_le_bytes());
                }
                Entry::Int(v) => {
                    body.push(0xE0);
                    body.extend_from_slice(&v.to_le_bytes());
                }
            }
            if let Entry::Str(s) = *e {
                body.extend_from_slice(s);
            }
            prev = body.len() - start;
        }
        let total = HEADER + body.len() + 1;
        let mut zl = Vec::with_capacity(total);
        zl.extend_from_slice(&(total as u32).to_le_bytes());
        zl.extend_from_slice(&(tail as u32).to_le_bytes());
        zl.extend_from_slice(&(entries.len().min(65535) as u16).to_le_bytes());
        zl.extend_from_slice(&body);
        zl.push(END);
        zl
    }

    #[test]
    fn decodes_every_encoding() {
        let big = vec![b'q'; 300];
        let huge = vec![b'h'; 20000];
        let entries = [
            Entry::Str(b""),
            Entry::Str(b"abc"),
            Entry::Str(&big),
            Entry::Str(&huge),
            Entry::Int(0),
            Entry::Int(12),
            Entry::Int(13),
            Entry::Int(-128),
            Entry::Int(30000),
            Entry::Int(-8_000_000),
            Entry::Int(2_000_000_000),
            Entry::Int(i64::MIN),
        ];
        let zl = build(&entries);
        assert_eq!(decode(&zl).unwrap(), entries);
    }

    #[test]
    fn empty_ziplist() {
        assert!(decode(&build(&[])).unwrap().is_empty());
    }

    #[test]
    fn rejects_corruption() {
        let zl = build(&[Entry::Str(b"hello"), Entry::Int(7), Entry::Str(b"x")]);
        let mut bad_prevlen = zl.clone();
        bad_prevlen[HEADER + 7] = 3; // prevlen of the second entry
        assert!(decode(&bad_prevlen).is_err());
        let mut bad_tail = zl.clone();
        bad_tail[4] = 11;
        assert!(decode(&bad_tail).is_err());
        let mut bad_count = zl.clone();
        bad_count[8] = 9;
        assert!(decode(&bad_count).is_err());
        let mut bad_enc = zl.clone();
        bad_enc[HEADER + 1] = 0xC5;
        assert!(decode(&bad_enc).is_err());
        let mut long = zl.clone();
        long[HEADER + 1] = 0x3F;
        assert!(decode(&long).is_err());
        for n in 0..zl.len() {
            assert!(decode(&zl[..n]).is_err());
        }
    }
}
