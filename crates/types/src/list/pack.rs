//! The packed entry format inside list nodes, and the element view it decodes to.
//!
//! An entry is `[header][payload][backlen]`, stored back to back in a node:
//!
//! | header byte | meaning | header + payload |
//! |---|---|---|
//! | `0x00..=0x7F` | string of 0..127 bytes | 1 + len |
//! | `0x80..=0x9F` | string of < 8192 bytes (5 + 8 bits of length) | 2 + len |
//! | `0xA0..=0xDF` | integer -8192..8191 (6 + 8 bits, two's complement) | 2 |
//! | `0xE0..=0xF7` | integer 0..23 | 1 |
//! | `0xF8` | string, 4-byte little-endian length | 5 + len |
//! | `0xF9..=0xFF` | integer in 2..8 little-endian bytes | 3..9 |
//!
//! `backlen` is the size of header + payload in 7-bit groups, the last byte holding the low
//! bits (its top bit set when more groups precede), so an entry can be stepped over from
//! either end: both ends of a node pop in O(1). A 64-byte string costs 66 bytes.
//!
//! Integers: an element is stored as an integer exactly when Redis's listpack would (a
//! canonical decimal of at most 20 characters), so it reads back as the same text. The
//! sizes a Valkey listpack would use, which decide node boundaries and encodings, are
//! [`lp_str_size`] and [`lp_int_size`]; they are tracked beside the nodes, never derived
//! from this format.
//!
//! Nothing here allocates; the node (`node`) owns the bytes.

use crate::set::resp_int;

const STR13: u8 = 0x80;
const INT14: u8 = 0xA0;
const IMM: u8 = 0xE0;
const IMM_MAX: i64 = 23;
const STR32: u8 = 0xF8;
const INTN: u8 = 0xF9;

/// One list element as stored: a string, or an integer kept in binary.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Elem<'a> {
    Str(&'a [u8]),
    Int(i64),
}

impl<'a> Elem<'a> {
    /// How an element given as bytes is stored.
    pub fn of(bytes: &'a [u8]) -> Elem<'a> {
        match int_of(bytes) {
            Some(v) => Elem::Int(v),
            None => Elem::Str(bytes),
        }
    }

    /// The element's text.
    pub fn to_vec(self) -> Vec<u8> {
        match self {
            Elem::Str(s) => s.to_vec(),
            Elem::Int(v) => format_int(v, &mut [0; 20]).to_vec(),
        }
    }

    /// Calls `f` with the element's text (integers formatted on the stack).
    pub fn with_bytes<R>(self, f: impl FnOnce(&[u8]) -> R) -> R {
        match self {
            Elem::Str(s) => f(s),
            Elem::Int(v) => f(format_int(v, &mut [0; 20])),
        }
    }

    /// Length of the element's text.
    pub fn len(self) -> usize {
        match self {
            Elem::Str(s) => s.len(),
            Elem::Int(v) => format_int(v, &mut [0; 20]).len(),
        }
    }

    pub fn is_empty(self) -> bool {
        matches!(self, Elem::Str(s) if s.is_empty())
    }

    /// Bytes this element takes in a Valkey listpack.
    pub fn lp_size(self) -> usize {
        match self {
            Elem::Str(s) => lp_str_size(s.len()),
            Elem::Int(v) => lp_int_size(v),
        }
    }

    /// Bytes this element takes in a packed node.
    pub fn packed_size(self) -> usize {
        let body = body_size(self);
        body + backlen_size(body)
    }
}

impl PartialEq<[u8]> for Elem<'_> {
    fn eq(&self, other: &[u8]) -> bool {
        match *self {
            Elem::Str(s) => s == other,
            // Stored as an integer means the text was canonical: compare values.
            Elem::Int(v) => int_of(other) == Some(v),
        }
    }
}

/// A value searched for in a list, prepared once for many comparisons.
#[derive(Clone, Copy, Debug)]
pub struct Needle<'a> {
    bytes: &'a [u8],
    int: Option<i64>,
}

impl<'a> Needle<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Needle {
            bytes,
            int: int_of(bytes),
        }
    }

    pub fn matches(&self, e: Elem<'_>) -> bool {
        match e {
            // An integer-looking element is stored as a string in a plain node (elements over
            // `quicklist-packed-threshold`): the bytes decide, as Valkey's memcmp does.
            Elem::Str(s) => s == self.bytes,
            Elem::Int(v) => self.int == Some(v),
        }
    }
}

/// The integer a listpack would store for `s`, if any.
pub fn int_of(s: &[u8]) -> Option<i64> {
    if s.len() > 20 {
        return None;
    }
    resp_int(s)
}

/// Formats `v` in decimal into `buf`, returning the text.
pub fn format_int(v: i64, buf: &mut [u8; 20]) -> &[u8] {
    let mut n = v.unsigned_abs();
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if v < 0 {
        i -= 1;
        buf[i] = b'-';
    }
    &buf[i..]
}

/// Bytes of a string entry of `len` bytes in a Valkey listpack (encoding + data + backlen).
pub fn lp_str_size(len: usize) -> usize {
    let body = match len {
        0..=63 => 1 + len,
        64..=4095 => 2 + len,
        _ => 5 + len,
    };
    body + lp_backlen_size(body)
}

/// Bytes of an integer entry in a Valkey listpack.
pub fn lp_int_size(v: i64) -> usize {
    let body = match v {
        0..=127 => 1,
        -4096..=4095 => 2,
        -32768..=32767 => 3,
        -8_388_608..=8_388_607 => 4,
        -2_147_483_648..=2_147_483_647 => 5,
        _ => 9,
    };
    body + lp_backlen_size(body)
}

fn lp_backlen_size(body: usize) -> usize {
    match body {
        0..=127 => 1,
        128..=16383 => 2,
        16384..=2_097_151 => 3,
        2_097_152..=268_435_455 => 4,
        _ => 5,
    }
}

/// Bytes a Valkey listpack entry for the element `bytes` takes.
pub fn lp_entry_size(bytes: &[u8]) -> usize {
    Elem::of(bytes).lp_size()
}

/// Smallest number of little-endian bytes (2..=8) holding `v` in two's complement.
fn int_width(v: i64) -> usize {
    (2..8)
        .find(|&k| {
            let shift = 64 - 8 * k;
            (v << shift) >> shift == v
        })
        .unwrap_or(8)
}

/// Header + payload bytes of an entry.
fn body_size(e: Elem<'_>) -> usize {
    match e {
        Elem::Str(s) if s.len() < 128 => 1 + s.len(),
        Elem::Str(s) if s.len() < 8192 => 2 + s.len(),
        Elem::Str(s) => 5 + s.len(),
        Elem::Int(v) if (0..=IMM_MAX).contains(&v) => 1,
        Elem::Int(v) if (-8192..8192).contains(&v) => 2,
        Elem::Int(v) => 1 + int_width(v),
    }
}

fn backlen_size(body: usize) -> usize {
    let bits = usize::BITS - body.leading_zeros();
    (bits.max(1) as usize).div_ceil(7)
}

/// Writes the entry for `e` at the start of `out` (exactly [`Elem::packed_size`] bytes).
#[inline]
pub fn write(e: Elem<'_>, out: &mut [u8]) -> usize {
    // The common case first: a string under 127 bytes, a 1-byte header and backlen.
    if let Elem::Str(s) = e {
        if s.len() < 127 {
            out[0] = s.len() as u8;
            out[1..=s.len()].copy_from_slice(s);
            out[s.len() + 1] = s.len() as u8 + 1;
            return s.len() + 2;
        }
    }
    write_any(e, out)
}

fn write_any(e: Elem<'_>, out: &mut [u8]) -> usize {
    let body = body_size(e);
    match e {
        Elem::Str(s) => {
            let hdr = body - s.len();
            match hdr {
                1 => out[0] = s.len() as u8,
                2 => {
                    out[0] = STR13 | (s.len() >> 8) as u8;
                    out[1] = s.len() as u8;
                }
                _ => {
                    out[0] = STR32;
                    out[1..5].copy_from_slice(&(s.len() as u32).to_le_bytes());
                }
            }
            out[hdr..body].copy_from_slice(s);
        }
        Elem::Int(v) if body == 1 => out[0] = IMM + v as u8,
        Elem::Int(v) if (-8192..8192).contains(&v) => {
            let bits = (v as u16) & 0x3FFF;
            out[0] = INT14 + (bits >> 8) as u8;
            out[1] = bits as u8;
        }
        Elem::Int(v) => {
            let k = body - 1;
            out[0] = INTN + (k - 2) as u8;
            out[1..body].copy_from_slice(&v.to_le_bytes()[..k]);
        }
    }
    let n = backlen_size(body);
    for i in 0..n {
        let group = (body >> (7 * i)) & 0x7F;
        let more = if i + 1 < n { 0x80 } else { 0 };
        out[body + n - 1 - i] = group as u8 | more;
    }
    body + n
}

/// Decodes the entry starting at `off`: the element and the offset of the next entry.
#[inline]
pub fn read(data: &[u8], off: usize) -> (Elem<'_>, usize) {
    let h = data[off];
    // The common case first: a string under 127 bytes, with a 1-byte backlen.
    if h < 0x7F {
        let start = off + 1;
        let end = start + h as usize;
        return (Elem::Str(&data[start..end]), end + 1);
    }
    let (e, body) = match h {
        0..=0x7F => {
            let len = h as usize;
            (Elem::Str(&data[off + 1..off + 1 + len]), 1 + len)
        }
        0x80..=0x9F => {
            let len = ((h as usize & 0x1F) << 8) | data[off + 1] as usize;
            (Elem::Str(&data[off + 2..off + 2 + len]), 2 + len)
        }
        0xA0..=0xDF => {
            let raw = (((h - INT14) as u16) << 8) | data[off + 1] as u16;
            // Sign-extend 14 bits.
            (Elem::Int(((raw << 2) as i16 >> 2) as i64), 2)
        }
        0xE0..=0xF7 => (Elem::Int((h - IMM) as i64), 1),
        STR32 => {
            let mut len = [0u8; 4];
            len.copy_from_slice(&data[off + 1..off + 5]);
            let len = u32::from_le_bytes(len) as usize;
            (Elem::Str(&data[off + 5..off + 5 + len]), 5 + len)
        }
        _ => {
            let k = (h - INTN) as usize + 2;
            let mut le = [0u8; 8];
            le[..k].copy_from_slice(&data[off + 1..off + 1 + k]);
            let shift = 64 - 8 * k as u32;
            (
                (Elem::Int((i64::from_le_bytes(le) << shift) >> shift)),
                1 + k,
            )
        }
    };
    (e, off + body + backlen_size(body))
}

/// The offset where the entry ending at `end` starts.
#[inline]
pub fn prev(data: &[u8], end: usize) -> usize {
    let mut i = end - 1;
    let mut b = data[i];
    let mut body = (b & 0x7F) as usize;
    let mut shift = 7;
    while b & 0x80 != 0 {
        i -= 1;
        b = data[i];
        body |= ((b & 0x7F) as usize) << shift;
        shift += 7;
    }
    i - body
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(e: Elem<'_>) -> usize {
        let size = e.packed_size();
        let mut buf = vec![0xAAu8; size + 3];
        // The entry starts one byte in, so that stepping back must stop at its start.
        let at = 1;
        assert_eq!(write(e, &mut buf[at..]), size);
        let (back, next) = read(&buf, at);
        assert_eq!(back, e);
        assert_eq!(next, at + size);
        assert_eq!(prev(&buf, next), at);
        size
    }

    #[test]
    fn entries_round_trip_from_both_ends() {
        for v in [
            0,
            23,
            24,
            127,
            -1,
            -8192,
            8191,
            8192,
            -8193,
            32767,
            -32768,
            1 << 23,
            i32::MAX as i64,
            i32::MIN as i64,
            1 << 40,
            i64::MAX,
            i64::MIN,
        ] {
            round_trip(Elem::Int(v));
        }
        for len in [0, 1, 63, 64, 127, 128, 8191, 8192, 20000] {
            let s = vec![b'x'; len];
            round_trip(Elem::Str(&s));
        }
        assert_eq!(round_trip(Elem::Str(&[b'x'; 64])), 66);
        assert_eq!(round_trip(Elem::Int(5)), 2);
        assert_eq!(round_trip(Elem::Int(1000)), 3);
    }

    #[test]
    fn integers_only_when_canonical() {
        assert_eq!(Elem::of(b"12"), Elem::Int(12));
        assert_eq!(Elem::of(b"-7"), Elem::Int(-7));
        for s in [
            &b"012"[..],
            b"-0",
            b"+1",
            b"1 ",
            b"",
            b"99999999999999999999",
        ] {
            assert_eq!(Elem::of(s), Elem::Str(s), "{s:?}");
        }
        for v in [0, -1, i64::MIN, i64::MAX, 1234567] {
            assert_eq!(Elem::Int(v).to_vec(), v.to_string().into_bytes());
            assert_eq!(Elem::Int(v).len(), v.to_string().len());
        }
        assert!(Elem::Int(12) == b"12"[..]);
        assert!(Elem::Int(12) != b"012"[..]);
        let n = Needle::new(b"12");
        assert!(n.matches(Elem::Int(12)) && !n.matches(Elem::Str(b"12x")));
        assert!(Needle::new(b"a").matches(Elem::Str(b"a")));
    }

    #[test]
    fn valkey_listpack_sizes() {
        assert_eq!(lp_entry_size(b"5"), 2);
        assert_eq!(lp_entry_size(b"1000"), 3);
        assert_eq!(lp_entry_size(b"hello"), 7);
        assert_eq!(lp_entry_size(&[b'x'; 64]), 67);
        assert_eq!(lp_entry_size(&[b'x'; 100]), 103);
        assert_eq!(lp_entry_size(b"-9223372036854775808"), 10);
    }
}
