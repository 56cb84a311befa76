//! Pure bit arithmetic on byte strings, with Valkey's conventions: bit 0 is the most
//! significant bit of the first byte, and a string reads as zero-padded on the right.
//!
//! Population count, first set/clear bit, and the BITFIELD integer accessors with their
//! overflow rules (WRAP, SAT, FAIL). Nothing here knows about keys, replies or errors.

/// Number of set bits in `bytes`.
pub fn popcount(bytes: &[u8]) -> u64 {
    let mut chunks = bytes.chunks_exact(8);
    let mut n: u64 = 0;
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        n += u64::from(u64::from_ne_bytes(w).count_ones());
    }
    n + chunks
        .remainder()
        .iter()
        .map(|b| u64::from(b.count_ones()))
        .sum::<u64>()
}

/// Position of the first bit equal to `bit` in `bytes` (Valkey's `serverBitpos`). When there
/// is none: `bytes.len() * 8` for a clear bit (the string is zero-padded on the right), `-1`
/// for a set bit.
pub fn first_bit(bytes: &[u8], bit: bool) -> i64 {
    let skip: u8 = if bit { 0 } else { 0xff };
    let mut chunks = bytes.chunks_exact(8);
    let mut base = 0usize;
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        let word = u64::from_be_bytes(w);
        let word = if bit { word } else { !word };
        if word != 0 {
            return (base * 8) as i64 + i64::from(word.leading_zeros());
        }
        base += 8;
    }
    for &b in chunks.remainder() {
        if b != skip {
            let b = if bit { b } else { !b };
            return (base * 8) as i64 + i64::from(b.leading_zeros());
        }
        base += 1;
    }
    if bit {
        -1
    } else {
        (bytes.len() * 8) as i64
    }
}

/// The `bits`-wide unsigned integer at bit `offset` (the bytes must cover it).
pub fn get_unsigned(p: &[u8], offset: u64, bits: u32) -> u64 {
    let mut value: u64 = 0;
    for j in 0..u64::from(bits) {
        let pos = offset + j;
        let byte = p.get((pos >> 3) as usize).copied().unwrap_or(0);
        let bit = (byte >> (7 - (pos & 7))) & 1;
        value = (value << 1) | u64::from(bit);
    }
    value
}

/// The `bits`-wide two's complement integer at bit `offset`.
pub fn get_signed(p: &[u8], offset: u64, bits: u32) -> i64 {
    let u = get_unsigned(p, offset, bits);
    if bits < 64 && u & (1u64 << (bits - 1)) != 0 {
        (u | (u64::MAX << bits)) as i64
    } else {
        u as i64
    }
}

/// Stores the low `bits` bits of `value` at bit `offset` (bytes outside `p` are ignored; the
/// caller sizes the string first).
pub fn set_unsigned(p: &mut [u8], offset: u64, bits: u32, value: u64) {
    for j in 0..u64::from(bits) {
        let bitval = (value >> (u64::from(bits) - 1 - j)) & 1;
        let pos = offset + j;
        if let Some(byte) = p.get_mut((pos >> 3) as usize) {
            let shift = 7 - (pos & 7);
            *byte = (*byte & !(1u8 << shift)) | ((bitval as u8) << shift);
        }
    }
}

/// What to do when a BITFIELD SET or INCRBY does not fit its type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Overflow {
    /// Keep the low bits (modular arithmetic; signed values wrap to the other end).
    Wrap,
    /// Clamp to the type's minimum or maximum.
    Sat,
    /// Do not write; reply nil.
    Fail,
}

/// Unsigned `value + incr` in a `bits`-wide field (`bits` <= 63): `None` if it fits, else the
/// value to store under `ow` (`None` inside for FAIL). Valkey's
/// `checkUnsignedBitfieldOverflow`, including how a SET value given as a negative integer
/// (seen as a huge unsigned one) overflows.
pub fn unsigned_overflow(value: u64, incr: i64, bits: u32, ow: Overflow) -> Option<Option<u64>> {
    let max = if bits == 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    };
    let maxincr = max.wrapping_sub(value) as i64;
    let minincr = value.wrapping_neg() as i64;
    let wrapped = || {
        let mask = if bits >= 64 { 0 } else { u64::MAX << bits };
        value.wrapping_add(incr as u64) & !mask
    };
    if value > max || (incr > 0 && incr > maxincr) {
        Some(match ow {
            Overflow::Wrap => Some(wrapped()),
            Overflow::Sat => Some(max),
            Overflow::Fail => None,
        })
    } else if incr < 0 && incr < minincr {
        Some(match ow {
            Overflow::Wrap => Some(wrapped()),
            Overflow::Sat => Some(0),
            Overflow::Fail => None,
        })
    } else {
        None
    }
}

/// Signed `value + incr` in a `bits`-wide field (`bits` <= 64), as
/// [`unsigned_overflow`] (Valkey's `checkSignedBitfieldOverflow`).
pub fn signed_overflow(value: i64, incr: i64, bits: u32, ow: Overflow) -> Option<Option<i64>> {
    let max: i64 = if bits == 64 {
        i64::MAX
    } else {
        (1i64 << (bits - 1)) - 1
    };
    let min = -max - 1;
    let maxincr = (max as u64).wrapping_sub(value as u64) as i64;
    let minincr = min.wrapping_sub(value);
    let wrapped = || {
        let c = (value as u64).wrapping_add(incr as u64);
        if bits < 64 {
            let msb = 1u64 << (bits - 1);
            let mask = u64::MAX << bits;
            (if c & msb != 0 { c | mask } else { c & !mask }) as i64
        } else {
            c as i64
        }
    };
    if value > max || (bits != 64 && incr > maxincr) || (value >= 0 && incr > 0 && incr > maxincr) {
        Some(match ow {
            Overflow::Wrap => Some(wrapped()),
            Overflow::Sat => Some(max),
            Overflow::Fail => None,
        })
    } else if value < min
        || (bits != 64 && incr < minincr)
        || (value < 0 && incr < 0 && incr < minincr)
    {
        Some(match ow {
            Overflow::Wrap => Some(wrapped()),
            Overflow::Sat => Some(min),
            Overflow::Fail => None,
        })
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn popcount_and_first_bit() {
        let s: Vec<u8> = (0..=255u8).collect();
        assert_eq!(popcount(&s), 256 * 4);
        assert_eq!(popcount(b""), 0);
        assert_eq!(first_bit(b"", true), -1);
        assert_eq!(first_bit(b"", false), 0);
        assert_eq!(first_bit(&[0xff; 13], false), 104);
        assert_eq!(first_bit(&[0; 13], true), -1);
        let mut v = vec![0u8; 20];
        v[17] = 0x10;
        assert_eq!(first_bit(&v, true), 17 * 8 + 3);
        let mut w = vec![0xffu8; 20];
        w[9] = 0xfe;
        assert_eq!(first_bit(&w, false), 9 * 8 + 7);
        assert_eq!(first_bit(&[0x00, 0xff], false), 0);
    }

    #[test]
    fn fields_round_trip() {
        let mut p = [0u8; 3];
        set_unsigned(&mut p, 7, 5, 23);
        assert_eq!(p, [0b0000_0001, 0b0111_0000, 0]);
        assert_eq!(get_unsigned(&p, 7, 5), 23);
        set_unsigned(&mut p, 0, 8, (-3i64) as u64);
        assert_eq!(get_signed(&p, 0, 8), -3);
        assert_eq!(get_signed(&[0xff; 8], 0, 64), -1);
        assert_eq!(get_unsigned(&[0xff; 8], 0, 63), (1 << 63) - 1);
    }

    #[test]
    fn overflow_rules() {
        use Overflow::*;
        assert_eq!(unsigned_overflow(255, 1, 8, Wrap), Some(Some(0)));
        assert_eq!(unsigned_overflow(255, 1, 8, Sat), Some(Some(255)));
        assert_eq!(unsigned_overflow(255, 1, 8, Fail), Some(None));
        assert_eq!(unsigned_overflow(0, -1, 8, Wrap), Some(Some(255)));
        assert_eq!(unsigned_overflow(0, -1, 8, Sat), Some(Some(0)));
        assert_eq!(
            unsigned_overflow((-1i64) as u64, 0, 8, Wrap),
            Some(Some(255))
        );
        assert_eq!(unsigned_overflow(3, 4, 8, Wrap), None);
        assert_eq!(signed_overflow(127, 1, 8, Wrap), Some(Some(-128)));
        assert_eq!(signed_overflow(127, 1, 8, Sat), Some(Some(127)));
        assert_eq!(signed_overflow(-128, -1, 8, Sat), Some(Some(-128)));
        assert_eq!(signed_overflow(-128, -1, 8, Wrap), Some(Some(127)));
        assert_eq!(signed_overflow(300, 0, 8, Wrap), Some(Some(44)));
        assert_eq!(signed_overflow(i64::MAX, 1, 64, Wrap), Some(Some(i64::MIN)));
        assert_eq!(signed_overflow(i64::MIN, -1, 64, Sat), Some(Some(i64::MIN)));
        assert_eq!(signed_overflow(5, -3, 64, Fail), None);
    }
}
