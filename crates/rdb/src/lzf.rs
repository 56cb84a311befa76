//! LZF compression in the liblzf 3.6 format that Redis uses for strings.
//!
//! Format: a control byte `c`.
//! * `c < 32`: a literal run of `c + 1` bytes follows.
//! * otherwise a back reference: length `(c >> 5) + 2`, where a 3-bit field of 7
//!   means "7 plus the next byte"; distance `((c & 0x1f) << 8 | next byte) + 1`
//!   back from the current output position. Source and destination may overlap
//!   (that is how runs are encoded).

use std::fmt;

/// Longest literal run one control byte can announce.
const MAX_LIT: usize = 32;
/// Longest back reference: 7 + 255 in the length fields, plus the implicit 2.
const MAX_REF: usize = 264;
/// Farthest back reference: 13 bits of (distance - 1).
const MAX_OFF: usize = 1 << 13;
/// One 3-byte back reference yields at most 264 bytes, so no valid stream
/// expands by more than this factor. Used to reject absurd claimed lengths
/// before allocating.
pub const MAX_EXPANSION: usize = MAX_REF / 3;

/// Largest match-finder table (2^14 slots); small inputs get a smaller one so
/// that compressing many short strings does not clear a big table each time.
const MAX_HASH_LOG: u32 = 14;
const MIN_HASH_LOG: u32 = 8;

/// Why a compressed stream was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LzfError {
    /// The output would exceed the expected length.
    OutputOverflow,
    /// The input ends inside a literal run or back reference.
    TruncatedInput,
    /// A back reference points before the start of the output.
    BadReference,
    /// The stream decoded to a different length than expected.
    LengthMismatch { expected: usize, actual: usize },
}

impl fmt::Display for LzfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LzfError::OutputOverflow => f.write_str("LZF output longer than expected"),
            LzfError::TruncatedInput => f.write_str("LZF input truncated"),
            LzfError::BadReference => f.write_str("LZF back reference before start of output"),
            LzfError::LengthMismatch { expected, actual } => {
                write!(f, "LZF output is {actual} bytes, expected {expected}")
            }
        }
    }
}

impl std::error::Error for LzfError {}

/// Decompresses `input`, which must expand to exactly `expected_len` bytes.
///
/// Never allocates more than `min(expected_len, input.len() * MAX_EXPANSION)`
/// and never panics, whatever the input.
pub fn decompress(input: &[u8], expected_len: usize) -> Result<Vec<u8>, LzfError> {
    let cap = expected_len.min(input.len().saturating_mul(MAX_EXPANSION));
    let mut out = Vec::with_capacity(cap);
    decompress_into(input, expected_len, &mut out)?;
    if out.len() != expected_len {
        return Err(LzfError::LengthMismatch {
            expected: expected_len,
            actual: out.len(),
        });
    }
    Ok(out)
}

fn decompress_into(input: &[u8], limit: usize, out: &mut Vec<u8>) -> Result<(), LzfError> {
    let mut ip = 0;
    while let Some(&ctrl) = input.get(ip) {
        ip += 1;
        let ctrl = ctrl as usize;
        if ctrl < MAX_LIT {
            let run = ctrl + 1;
            if out.len() + run > limit {
                return Err(LzfError::OutputOverflow);
            }
            let lit = input.get(ip..ip + run).ok_or(LzfError::TruncatedInput)?;
            out.extend_from_slice(lit);
            ip += run;
            continue;
        }
        let mut len = ctrl >> 5;
        if len == 7 {
            len += *input.get(ip).ok_or(LzfError::TruncatedInput)? as usize;
            ip += 1;
        }
        let low = *input.get(ip).ok_or(LzfError::TruncatedInput)? as usize;
        ip += 1;
        let dist = ((ctrl & 0x1f) << 8 | low) + 1;
        let len = len + 2;
        if out.len() + len > limit {
            return Err(LzfError::OutputOverflow);
        }
        let start = out.len().checked_sub(dist).ok_or(LzfError::BadReference)?;
        copy_back_reference(out, start, len);
    }
    Ok(())
}

/// Appends `len` bytes copied from `out[start..]`, where the source may run
/// into the bytes being appended (that is how LZF encodes runs). The bytes
/// from `start` on repeat with period `dist`, so after each chunk the valid
/// pattern doubles and the next chunk can copy twice as much from `start`.
fn copy_back_reference(out: &mut Vec<u8>, start: usize, len: usize) {
    let mut done = 0;
    while done < len {
        let n = (len - done).min(out.len() - start);
        out.extend_from_within(start..start + n);
        done += n;
    }
}

/// Compresses `input` the way Redis decides in `rdbSaveLzfStringObject`: the
/// result is only returned when it fits in `input.len() - 4` bytes (Redis
/// gives liblzf an output buffer of that size, so at least four bytes are
/// saved); otherwise `None` and the caller stores the string raw. Inputs of 4
/// bytes or fewer are never compressed.
pub fn compress(input: &[u8]) -> Option<Vec<u8>> {
    if input.len() <= 4 {
        return None;
    }
    let max_out = input.len() - 4;
    let mut enc = Encoder::new(input.len().min(max_out));
    let hash_log = input
        .len()
        .next_power_of_two()
        .trailing_zeros()
        .clamp(MIN_HASH_LOG, MAX_HASH_LOG);
    // Slots hold position + 1 so that 0 means empty.
    let mut table = vec![0usize; 1 << hash_log];
    let mut ip = 0;
    // A match needs 3 bytes at both ends; the last two bytes are always literals.
    while ip + 2 < input.len() {
        let h = hash3(&input[ip..ip + 3], hash_log);
        let cand = table[h];
        table[h] = ip + 1;
        if cand != 0 {
            let r = cand - 1;
            if ip - r <= MAX_OFF && input[r..r + 3] == input[ip..ip + 3] {
                let len = match_len(input, r, ip);
                enc.back_reference(ip - r, len);
                let end = ip + len;
                // Index the positions inside the match so later data can refer to them.
                let mut p = ip + 1;
                while p < end && p + 2 < input.len() {
                    table[hash3(&input[p..p + 3], hash_log)] = p + 1;
                    p += 1;
                }
                ip = end;
                if enc.out.len() > max_out {
                    return None;
                }
                continue;
            }
        }
        enc.literal(input[ip]);
        ip += 1;
        if enc.out.len() > max_out {
            return None;
        }
    }
    for &b in &input[ip..] {
        enc.literal(b);
    }
    let out = enc.finish();
    (out.len() <= max_out).then_some(out)
}

fn hash3(b: &[u8], hash_log: u32) -> usize {
    let v = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
    (v.wrapping_mul(2_654_435_761) >> (32 - hash_log)) as usize
}

fn match_len(input: &[u8], r: usize, ip: usize) -> usize {
    let max = (input.len() - ip).min(MAX_REF);
    let mut len = 3;
    while len < max && input[r + len] == input[ip + len] {
        len += 1;
    }
    len
}

/// Output side of the compressor: tracks the open literal run so that its
/// control byte can be patched when the run ends.
struct Encoder {
    out: Vec<u8>,
    /// Index of the control byte of the open literal run, if any.
    run_ctrl: Option<usize>,
}

impl Encoder {
    fn new(cap: usize) -> Self {
        Encoder {
            out: Vec::with_capacity(cap + MAX_LIT),
            run_ctrl: None,
        }
    }

    fn literal(&mut self, b: u8) {
        let ctrl = match self.run_ctrl {
            Some(i) if (self.out.len() - i - 1) < MAX_LIT => i,
            _ => {
                self.out.push(0);
                self.out.len() - 1
            }
        };
        self.out.push(b);
        self.out[ctrl] = (self.out.len() - ctrl - 2) as u8;
        self.run_ctrl = Some(ctrl);
    }

    fn back_reference(&mut self, dist: usize, len: usize) {
        self.run_ctrl = None;
        let off = dist - 1;
        let l = len - 2;
        if l < 7 {
            self.out.push(((l << 5) | (off >> 8)) as u8);
        } else {
            self.out.push(((7 << 5) | (off >> 8)) as u8);
            self.out.push((l - 7) as u8);
        }
        self.out.push((off & 0xff) as u8);
    }

    fn finish(self) -> Vec<u8> {
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_only_stream() {
        // "abc" as one literal run of 3.
        assert_eq!(decompress(&[2, b'a', b'b', b'c'], 3).unwrap(), b"abc");
    }

    #[test]
    fn overlapping_back_reference_makes_a_run() {
        // literal 'a', then back reference distance 1 length 9 => "a" * 10.
        let data = [0, b'a', (7 << 5), 0, 0];
        assert_eq!(decompress(&data, 10).unwrap(), vec![b'a'; 10]);
    }

    #[test]
    fn rejects_bad_streams() {
        assert_eq!(decompress(&[5, b'a'], 6), Err(LzfError::TruncatedInput));
        assert_eq!(
            decompress(&[0, b'a', 0x20], 3),
            Err(LzfError::TruncatedInput)
        );
        assert_eq!(
            decompress(&[0, b'a', 0x20, 5], 10),
            Err(LzfError::BadReference)
        );
        assert_eq!(
            decompress(&[2, b'a', b'b', b'c'], 2),
            Err(LzfError::OutputOverflow)
        );
        assert_eq!(
            decompress(&[2, b'a', b'b', b'c'], 4),
            Err(LzfError::LengthMismatch {
                expected: 4,
                actual: 3
            })
        );
        assert_eq!(decompress(&[], 0).unwrap(), b"");
    }

    #[test]
    fn huge_expected_length_does_not_preallocate() {
        let out = decompress(&[0, b'a'], usize::MAX);
        assert!(matches!(out, Err(LzfError::LengthMismatch { .. })));
    }

    #[test]
    fn compresses_repetitive_data_and_round_trips() {
        let input: Vec<u8> = b"hello world, hello world, hello world! "
            .iter()
            .cycle()
            .take(5000)
            .copied()
            .collect();
        let c = compress(&input).expect("compressible");
        assert!(c.len() < input.len() / 10);
        assert_eq!(decompress(&c, input.len()).unwrap(), input);
    }

    #[test]
    fn refuses_to_grow_or_save_less_than_four_bytes() {
        assert_eq!(compress(b"abcd"), None);
        let noise: Vec<u8> = (0..200u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        if let Some(c) = compress(&noise) {
            assert!(c.len() <= noise.len() - 4);
        }
        let runs = vec![b'x'; 21];
        let c = compress(&runs).unwrap();
        assert!(c.len() <= 17);
        assert_eq!(decompress(&c, 21).unwrap(), runs);
    }

    #[test]
    fn long_literal_runs_split_at_32() {
        let mut input: Vec<u8> = (0..100u8).collect();
        input.extend(vec![7u8; 400]);
        let c = compress(&input).unwrap();
        assert_eq!(c[0], 31, "first literal run is full");
        assert_eq!(decompress(&c, input.len()).unwrap(), input);
    }
}
