//! Listpack: `<u32 LE total bytes> <u16 LE count> entries... 0xFF`.
//!
//! Each entry is an encoding byte (plus length/data) followed by a "backlen"
//! of 1..5 bytes holding the size of encoding+data, so the list can be walked
//! backwards. The count 65535 means "unknown, walk to count".

use super::{bytes_at, Entry};
use crate::num::parse_canonical_i64;
use crate::RdbError;

const HEADER: usize = 6;
const EOF: u8 = 0xFF;
const COUNT_UNKNOWN: u16 = u16::MAX;

/// Decodes and validates a whole listpack.
pub fn decode(blob: &[u8]) -> Result<Vec<Entry<'_>>, RdbError> {
    let mut out = Vec::new();
    for_each(blob, |e| {
        out.push(e);
        Ok(())
    })?;
    Ok(out)
}

/// Validates `blob` and calls `f` for each entry in order. Used by callers that
/// convert entries on the fly instead of collecting them.
pub fn for_each<'a>(
    blob: &'a [u8],
    mut f: impl FnMut(Entry<'a>) -> Result<(), RdbError>,
) -> Result<usize, RdbError> {
    let end = check_header(blob)?;
    let declared = u16::from_le_bytes(bytes_at(blob, 4, "listpack header")?);
    let mut p = HEADER;
    let mut count = 0usize;
    while p < end {
        let (entry, next) = entry_at(blob, p, end)?;
        f(entry)?;
        p = next;
        count += 1;
    }
    if declared != COUNT_UNKNOWN && declared as usize != count {
        return Err(RdbError::corrupt(
            4,
            "listpack count does not match its entries",
        ));
    }
    Ok(count)
}

/// Checks size, total-bytes field and terminator; returns the terminator's index.
fn check_header(blob: &[u8]) -> Result<usize, RdbError> {
    if blob.len() < HEADER + 1 {
        return Err(RdbError::corrupt(0, "listpack shorter than its header"));
    }
    let total = u32::from_le_bytes(bytes_at(blob, 0, "listpack header")?);
    if total as usize != blob.len() {
        return Err(RdbError::corrupt(
            0,
            "listpack total bytes does not match its size",
        ));
    }
    let end = blob.len() - 1;
    if blob[end] != EOF {
        return Err(RdbError::corrupt(
            end as u64,
            "listpack does not end with 0xFF",
        ));
    }
    Ok(end)
}

/// Decodes the entry at `p` (before the terminator at `end`) and returns it
/// with the offset of the next entry.
fn entry_at(blob: &[u8], p: usize, end: usize) -> Result<(Entry<'_>, usize), RdbError> {
    let bad = |reason| RdbError::corrupt(p as u64, reason);
    let b = blob[p];
    let (entry, enc_len) = match b {
        0x00..=0x7F => (Entry::Int(b as i64), 1),
        0x80..=0xBF => (
            Entry::Str(str_at(blob, p, 1, (b & 0x3F) as usize)?),
            1 + (b & 0x3F) as usize,
        ),
        0xC0..=0xDF => {
            let [_, lo] = bytes_at::<2>(blob, p, "truncated listpack int")?;
            let v = ((b as i64 & 0x1F) << 8) | lo as i64;
            (Entry::Int(if v >= 4096 { v - 8192 } else { v }), 2)
        }
        0xE0..=0xEF => {
            let [_, lo] = bytes_at::<2>(blob, p, "truncated listpack string header")?;
            let len = ((b as usize & 0x0F) << 8) | lo as usize;
            (Entry::Str(str_at(blob, p, 2, len)?), 2 + len)
        }
        0xF0 => {
            let len = u32::from_le_bytes(bytes_at(blob, p + 1, "truncated listpack string header")?)
                as usize;
            (
                Entry::Str(str_at(blob, p, 5, len)?),
                5usize
                    .checked_add(len)
                    .ok_or_else(|| bad("listpack length overflow"))?,
            )
        }
        0xF1 => (
            Entry::Int(i16::from_le_bytes(bytes_at(blob, p + 1, "truncated listpack int")?) as i64),
            3,
        ),
        0xF2 => {
            let [a, b2, c] = bytes_at::<3>(blob, p + 1, "truncated listpack int")?;
            // Sign-extend 24 bits by placing them in the top of an i32.
            (
                Entry::Int((i32::from_le_bytes([0, a, b2, c]) >> 8) as i64),
                4,
            )
        }
        0xF3 => (
            Entry::Int(i32::from_le_bytes(bytes_at(blob, p + 1, "truncated listpack int")?) as i64),
            5,
        ),
        0xF4 => (
            Entry::Int(i64::from_le_bytes(bytes_at(
                blob,
                p + 1,
                "truncated listpack int",
            )?)),
            9,
        ),
        _ => return Err(bad("invalid listpack entry encoding")),
    };
    let back = backlen_size(enc_len);
    let next = p
        .checked_add(enc_len)
        .and_then(|v| v.checked_add(back))
        .filter(|&n| n <= end)
        .ok_or_else(|| bad("listpack entry runs past the end"))?;
    let mut expect = [0u8; 5];
    encode_backlen(enc_len, &mut expect);
    if blob[next - back..next] != expect[..back] {
        return Err(bad("listpack entry backlen does not match its size"));
    }
    Ok((entry, next))
}

fn str_at(blob: &[u8], p: usize, header: usize, len: usize) -> Result<&[u8], RdbError> {
    p.checked_add(header)
        .and_then(|s| Some((s, s.checked_add(len)?)))
        .and_then(|(s, e)| blob.get(s..e))
        .ok_or_else(|| RdbError::corrupt(p as u64, "listpack string runs past the end"))
}

/// Bytes needed for a backlen of `l`, with Redis's exact thresholds
/// (note the exclusive upper bounds: 16383 already takes three bytes).
fn backlen_size(l: usize) -> usize {
    match l {
        0..=127 => 1,
        128..=16382 => 2,
        16383..=2097150 => 3,
        2097151..=268435454 => 4,
        _ => 5,
    }
}

/// Most significant 7-bit group first; every byte but the first has bit 7 set,
/// so a backwards reader knows when to stop.
fn encode_backlen(l: usize, out: &mut [u8; 5]) -> usize {
    let n = backlen_size(l);
    for (i, slot) in out.iter_mut().take(n).enumerate() {
        let shift = 7 * (n - 1 - i);
        let group = ((l >> shift) & 0x7F) as u8;
        *slot = if i == 0 { group } else { group | 0x80 };
    }
    n
}

/// Builds a listpack the way Redis's `lpAppend` does: strings that are
/// canonical integers are stored as integers, using the smallest encoding.
#[derive(Debug, Clone)]
pub struct ListpackBuilder {
    buf: Vec<u8>,
    count: usize,
}

impl Default for ListpackBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl ListpackBuilder {
    pub fn new() -> Self {
        let mut buf = Vec::with_capacity(64);
        buf.extend_from_slice(&[0; HEADER]);
        ListpackBuilder { buf, count: 0 }
    }

    /// Size the listpack will have once finished (header, entries, terminator).
    pub fn total_bytes(&self) -> usize {
        self.buf.len() + 1
    }

    /// Number of entries appended so far.
    pub fn count(&self) -> usize {
        self.count
    }

    pub fn push(&mut self, e: Entry<'_>) {
        match e {
            Entry::Int(v) => self.push_int(v),
            Entry::Str(s) => self.push_str(s),
        }
    }

    pub fn push_str(&mut self, s: &[u8]) {
        if let Some(v) = parse_canonical_i64(s) {
            return self.push_int(v);
        }
        let start = self.buf.len();
        let len = s.len();
        if len < 64 {
            self.buf.push(0x80 | len as u8);
        } else if len < 4096 {
            self.buf.push(0xE0 | (len >> 8) as u8);
            self.buf.push((len & 0xFF) as u8);
        } else {
            self.buf.push(0xF0);
            self.buf.extend_from_slice(&(len as u32).to_le_bytes());
        }
        self.buf.extend_from_slice(s);
        self.finish_entry(start);
    }

    pub fn push_int(&mut self, v: i64) {
        let start = self.buf.len();
        match v {
            0..=127 => self.buf.push(v as u8),
            -4096..=4095 => {
                let u = (v & 0x1FFF) as u16;
                self.buf.push(0xC0 | (u >> 8) as u8);
                self.buf.push((u & 0xFF) as u8);
            }
            -32768..=32767 => {
                self.buf.push(0xF1);
                self.buf.extend_from_slice(&(v as i16).to_le_bytes());
            }
            -8_388_608..=8_388_607 => {
                self.buf.push(0xF2);
                self.buf.extend_from_slice(&(v as i32).to_le_bytes()[..3]);
            }
            -2_147_483_648..=2_147_483_647 => {
                self.buf.push(0xF3);
                self.buf.extend_from_slice(&(v as i32).to_le_bytes());
            }
            _ => {
                self.buf.push(0xF4);
                self.buf.extend_from_slice(&v.to_le_bytes());
            }
        }
        self.finish_entry(start);
    }

    /// Appends all entries of `other` after this builder's entries.
    pub fn append(&mut self, other: &ListpackBuilder) {
        self.buf.extend_from_slice(&other.buf[HEADER..]);
        self.count += other.count;
    }

    fn finish_entry(&mut self, start: usize) {
        let mut back = [0u8; 5];
        let n = encode_backlen(self.buf.len() - start, &mut back);
        self.buf.extend_from_slice(&back[..n]);
        self.count += 1;
    }

    /// Writes the header and terminator. Fails if the listpack would exceed
    /// the 4 GiB a listpack header can describe.
    pub fn finish(mut self) -> std::io::Result<Vec<u8>> {
        self.buf.push(EOF);
        let total = u32::try_from(self.buf.len()).map_err(|_| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "listpack larger than 4 GiB",
            )
        })?;
        let count = u16::try_from(self.count)
            .ok()
            .filter(|&c| c != COUNT_UNKNOWN)
            .unwrap_or(COUNT_UNKNOWN);
        self.buf[0..4].copy_from_slice(&total.to_le_bytes());
        self.buf[4..6].copy_from_slice(&count.to_le_bytes());
        Ok(self.buf)
    }
}

/// Encodes `entries` as one listpack.
pub fn encode<'a>(entries: impl IntoIterator<Item = Entry<'a>>) -> std::io::Result<Vec<u8>> {
    let mut b = ListpackBuilder::new();
    for e in entries {
        b.push(e);
    }
    b.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_listpack() {
        let lp = encode([]).unwrap();
        assert_eq!(lp, [7, 0, 0, 0, 0, 0, 0xFF]);
        assert!(decode(&lp).unwrap().is_empty());
    }

    #[test]
    fn known_bytes_for_small_entries() {
        // "a" then 5: 6-bit string 0x81 'a' backlen 2; uint7 5 backlen 1.
        let lp = encode([Entry::Str(b"a"), Entry::Int(5)]).unwrap();
        assert_eq!(lp, [12, 0, 0, 0, 2, 0, 0x81, b'a', 2, 5, 1, 0xFF]);
        assert_eq!(decode(&lp).unwrap(), [Entry::Str(b"a"), Entry::Int(5)]);
    }

    #[test]
    fn every_int_width_round_trips() {
        let vals = [
            0,
            127,
            128,
            -1,
            4095,
            -4096,
            4096,
            -4097,
            32767,
            -32768,
            32768,
            8_388_607,
            -8_388_608,
            8_388_608,
            i32::MAX as i64,
            i32::MIN as i64,
            i64::MAX,
            i64::MIN,
        ];
        let lp = encode(vals.iter().map(|&v| Entry::Int(v))).unwrap();
        let back: Vec<i64> = decode(&lp)
            .unwrap()
            .iter()
            .map(|e| e.as_int().unwrap())
            .collect();
        assert_eq!(back, vals);
    }

    #[test]
    fn every_string_width_round_trips() {
        let strs: Vec<Vec<u8>> = [0usize, 1, 63, 64, 4095, 4096, 20000]
            .iter()
            .map(|&n| vec![b'x'; n])
            .collect();
        let lp = encode(strs.iter().map(|s| Entry::Str(s))).unwrap();
        let back = decode(&lp).unwrap();
        assert_eq!(back.len(), strs.len());
        for (e, s) in back.iter().zip(&strs) {
            assert_eq!(e.to_bytes(), *s);
        }
    }

    #[test]
    fn integer_looking_strings_are_stored_as_ints() {
        let lp = encode([Entry::Str(b"-17"), Entry::Str(b"007")]).unwrap();
        assert_eq!(decode(&lp).unwrap(), [Entry::Int(-17), Entry::Str(b"007")]);
    }

    #[test]
    fn backlen_thresholds_match_redis() {
        assert_eq!(backlen_size(127), 1);
        assert_eq!(backlen_size(128), 2);
        assert_eq!(backlen_size(16382), 2);
        assert_eq!(backlen_size(16383), 3);
        let mut b = [0; 5];
        assert_eq!(encode_backlen(200, &mut b), 2);
        assert_eq!(&b[..2], &[1, 0x80 | 72]);
    }

    #[test]
    fn rejects_corruption() {
        let good = encode([Entry::Str(b"hello"), Entry::Int(300)]).unwrap();
        assert!(decode(&good).is_ok());
        let mut wrong_total = good.clone();
        wrong_total[0] += 1;
        assert!(decode(&wrong_total).is_err());
        let mut wrong_count = good.clone();
        wrong_count[4] = 3;
        assert!(decode(&wrong_count).is_err());
        let mut unknown_count = good.clone();
        unknown_count[4] = 0xFF;
        unknown_count[5] = 0xFF;
        assert_eq!(decode(&unknown_count).unwrap().len(), 2);
        let mut no_eof = good.clone();
        *no_eof.last_mut().unwrap() = 0;
        assert!(decode(&no_eof).is_err());
        let mut bad_backlen = good.clone();
        bad_backlen[12] ^= 1;
        assert!(decode(&bad_backlen).is_err());
        let mut bad_encoding = good.clone();
        bad_encoding[6] = 0xF7;
        assert!(decode(&bad_encoding).is_err());
        let mut long_string = good;
        long_string[6] = 0xBF;
        assert!(decode(&long_string).is_err());
        assert!(decode(&[]).is_err());
        assert!(decode(&[7, 0, 0, 0]).is_err());
    }

    #[test]
    fn truncations_never_panic() {
        let lp = encode([
            Entry::Str(&[b'z'; 5000]),
            Entry::Int(-70000),
            Entry::Int(i64::MIN),
        ])
        .unwrap();
        for n in 0..lp.len() {
            assert!(decode(&lp[..n]).is_err());
        }
    }
}
