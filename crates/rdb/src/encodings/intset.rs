//! Intset (RDB type 11): `<u32 LE width 2|4|8> <u32 LE count>` then `count`
//! sorted little-endian integers of that width.

use super::bytes_at;
use crate::RdbError;

const HEADER: usize = 8;

/// Decodes and validates an intset: known width, exact size, not empty, and
/// strictly ascending (Redis's deep check; this also rules out duplicates).
pub fn decode(blob: &[u8]) -> Result<Vec<i64>, RdbError> {
    let width = u32::from_le_bytes(bytes_at(blob, 0, "intset shorter than its header")?) as usize;
    let count = u32::from_le_bytes(bytes_at(blob, 4, "intset shorter than its header")?) as usize;
    if !matches!(width, 2 | 4 | 8) {
        return Err(RdbError::corrupt(0, "intset has an invalid integer width"));
    }
    let size = count
        .checked_mul(width)
        .and_then(|n| n.checked_add(HEADER))
        .filter(|&n| n == blob.len());
    if size.is_none() {
        return Err(RdbError::corrupt(4, "intset count does not match its size"));
    }
    if count == 0 {
        return Err(RdbError::corrupt(4, "intset is empty"));
    }
    let mut out = Vec::with_capacity(count);
    for (i, c) in blob[HEADER..].chunks_exact(width).enumerate() {
        let v = match *c {
            [a, b] => i16::from_le_bytes([a, b]) as i64,
            [a, b, c2, d] => i32::from_le_bytes([a, b, c2, d]) as i64,
            [a, b, c2, d, e, f, g, h] => i64::from_le_bytes([a, b, c2, d, e, f, g, h]),
            _ => unreachable!("chunks_exact yields width-sized chunks"),
        };
        if out.last().is_some_and(|&prev| v <= prev) {
            let at = (HEADER + i * width) as u64;
            return Err(RdbError::corrupt(at, "intset is not strictly ascending"));
        }
        out.push(v);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(width: u32, vals: &[i64]) -> Vec<u8> {
        let mut b = width.to_le_bytes().to_vec();
        b.extend_from_slice(&(vals.len() as u32).to_le_bytes());
        for &v in vals {
            b.extend_from_slice(&v.to_le_bytes()[..width as usize]);
        }
        b
    }

    #[test]
    fn decodes_each_width() {
        assert_eq!(decode(&build(2, &[-5, 0, 300])).unwrap(), [-5, 0, 300]);
        assert_eq!(
            decode(&build(4, &[-70000, 1, 70000])).unwrap(),
            [-70000, 1, 70000]
        );
        assert_eq!(
            decode(&build(8, &[i64::MIN, i64::MAX])).unwrap(),
            [i64::MIN, i64::MAX]
        );
    }

    #[test]
    fn rejects_corruption() {
        assert!(decode(&build(2, &[])).is_err(), "empty");
        assert!(decode(&build(2, &[3, 3])).is_err(), "duplicate");
        assert!(decode(&build(2, &[4, 3])).is_err(), "unsorted");
        assert!(decode(&build(3, &[1])).is_err(), "width");
        let mut short = build(4, &[1, 2]);
        short.pop();
        assert!(decode(&short).is_err());
        let mut huge_count = build(8, &[1]);
        huge_count[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(decode(&huge_count).is_err());
        assert!(decode(&[2, 0, 0]).is_err());
    }
}
