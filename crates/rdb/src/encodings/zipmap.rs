//! Zipmap (RDB type 9, hashes written by Redis before 2.6):
//! `<u8 count (254+ = unknown)>` then entries `<len>key<len><free>value<free bytes>`,
//! then 0xFF. A length is one byte if < 254, else 0xFE and a u32 (host order,
//! little-endian on every machine that wrote these files in practice).

use super::bytes_at;
use crate::RdbError;

const BIGLEN: u8 = 254;
const END: u8 = 0xFF;

/// A (field, value) pair borrowed from the zipmap.
pub type Pair<'a> = (&'a [u8], &'a [u8]);

/// Decodes and validates a zipmap into (field, value) pairs.
pub fn decode(blob: &[u8]) -> Result<Vec<Pair<'_>>, RdbError> {
    if blob.len() < 2 {
        return Err(RdbError::corrupt(0, "zipmap shorter than its header"));
    }
    let end = blob.len() - 1;
    if blob[end] != END {
        return Err(RdbError::corrupt(
            end as u64,
            "zipmap does not end with 0xFF",
        ));
    }
    let mut out = Vec::new();
    let mut p = 1;
    while blob[p] != END {
        let (key, after_key) = string_at(blob, p, end, false)?;
        let (value, next) = string_at(blob, after_key, end, true)?;
        out.push((key, value));
        p = next;
    }
    if p != end {
        return Err(RdbError::corrupt(
            p as u64,
            "zipmap terminator before the end",
        ));
    }
    if out.is_empty() {
        return Err(RdbError::corrupt(0, "zipmap is empty"));
    }
    if blob[0] < BIGLEN && blob[0] as usize != out.len() {
        return Err(RdbError::corrupt(
            0,
            "zipmap count does not match its entries",
        ));
    }
    Ok(out)
}

/// Reads `<len>[<free>]data[free bytes]` at `p`; returns the data and the
/// offset after it, which must stay at or before the terminator at `end`.
fn string_at(
    blob: &[u8],
    p: usize,
    end: usize,
    has_free: bool,
) -> Result<(&[u8], usize), RdbError> {
    let bad = || RdbError::corrupt(p as u64, "zipmap entry runs past the end");
    let first = *blob.get(p).filter(|_| p <= end).ok_or_else(bad)?;
    let (len, mut q) = if first < BIGLEN {
        (first as usize, p + 1)
    } else {
        let l = u32::from_le_bytes(bytes_at(blob, p + 1, "truncated zipmap length")?);
        (l as usize, p + 5)
    };
    let mut free = 0;
    if has_free {
        free = *blob.get(q).filter(|_| q < end).ok_or_else(bad)? as usize;
        q += 1;
    }
    let data_end = q.checked_add(len).filter(|&e| e <= end).ok_or_else(bad)?;
    let next = data_end
        .checked_add(free)
        .filter(|&e| e <= end)
        .ok_or_else(bad)?;
    Ok((&blob[q..data_end], next))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_redis_example() {
        // The example from zipmap.c's header comment.
        let zm = b"\x02\x03foo\x03\x00bar\x05hello\x05\x00world\xff";
        let pairs = decode(zm).unwrap();
        assert_eq!(pairs, [(&b"foo"[..], &b"bar"[..]), (b"hello", b"world")]);
    }

    #[test]
    fn free_bytes_and_long_lengths() {
        let mut zm = vec![BIGLEN, 1, b'k'];
        zm.push(BIGLEN);
        zm.extend_from_slice(&300u32.to_le_bytes());
        zm.push(2);
        zm.extend(vec![b'v'; 300]);
        zm.extend_from_slice(&[0, 0, END]);
        let pairs = decode(&zm).unwrap();
        assert_eq!(pairs.len(), 1);
        assert_eq!(pairs[0].1.len(), 300);
    }

    #[test]
    fn rejects_corruption() {
        let zm = b"\x02\x03foo\x03\x00bar\x05hello\x05\x00world\xff".to_vec();
        let mut bad_count = zm.clone();
        bad_count[0] = 3;
        assert!(decode(&bad_count).is_err());
        let mut long = zm.clone();
        long[1] = 200;
        assert!(decode(&long).is_err());
        assert!(decode(b"\x00\xff").is_err(), "empty");
        for n in 0..zm.len() {
            assert!(decode(&zm[..n]).is_err());
        }
        let mut free = zm;
        free[6] = 100; // free bytes beyond the end
        assert!(decode(&free).is_err());
    }
}
