//! HyperLogLog values, byte-for-byte compatible with Redis 7.0 / Valkey 8.
//!
//! A HyperLogLog is stored as an ordinary string value, so this module only
//! works on byte vectors: it never touches a keyspace and parses no commands.
//! The layout:
//!
//! * a 16-byte header: the magic `HYLL`, one encoding byte (0 = dense,
//!   1 = sparse), three unused bytes, and the cached cardinality as a
//!   little-endian `u64` whose most significant bit, when set, marks the
//!   cache as stale;
//! * dense payload: 16384 registers of 6 bits each, packed starting from the
//!   least significant bit of each byte (12288 bytes);
//! * sparse payload: a run-length stream of opcodes — `00xxxxxx` (ZERO, 1..64
//!   zero registers), `01xxxxxx yyyyyyyy` (XZERO, 1..16384 zero registers) and
//!   `1vvvvvxx` (VAL, 1..4 registers holding the value 1..32).
//!
//! Elements are hashed with MurmurHash64A (seed `0xadc83b19`); the low 14
//! bits pick the register and the position of the first set bit in the rest
//! is the candidate register value.  Cardinalities use Otmar Ertl's improved
//! estimator, like Redis 7.
//!
//! How a server is expected to use this module (mirroring Redis 7.0):
//!
//! * `PFADD key el...` — a missing key starts as [`new_empty`] and counts as
//!   an update (reply 1).  An existing string goes through [`validate`] first
//!   (even with no elements).  Then [`add_many`] with all the elements (or
//!   [`add`] per element); any change makes the reply 1.  [`add_counted`]
//!   also tells how many elements changed a register (Redis adds that to its
//!   change counter).  On an error, Redis replies with it but keeps whatever
//!   the earlier elements of the same command changed in memory, without
//!   propagating the command; `add_many` leaves those changes in the vector.
//! * `PFCOUNT key` — a missing key is 0; otherwise [`count`].  When it reports
//!   that the bytes changed (fresh cache written), store them back: Redis
//!   treats that as a write (dirty++, propagation).
//! * `PFCOUNT k1 k2...` (more than one key, even if only one exists) —
//!   [`count_union`] over the existing values, in key order, or a [`Union`]
//!   fed key by key so that type errors and corruption errors come out in the
//!   same order as Redis.
//! * `PFMERGE dest src...` — [`merge`] with the current value of `dest` (if
//!   any) and the existing sources, in key order.  Redis reads `dest` as the
//!   first source too, which [`merge`] does on its own.
//! * Replies: Redis sends counts as signed 64-bit integers, so a count of
//!   2^63 or more (only reachable with hand-crafted registers) is replied as
//!   `count as i64`.
//! * `PFDEBUG` — [`encoding`], [`to_dense`] (TODENSE, and GETREG before
//!   [`registers`]; Redis keeps and propagates that conversion) and
//!   [`decode_sparse`] (DECODE).
//! * Non-string values are the caller's business (Redis's generic
//!   "WRONGTYPE Operation against a key holding the wrong kind of value");
//!   [`HllError::WrongType`] is for strings that are not HyperLogLogs.

//!
//! Reference behaviour is Redis 7.0 as maintained today (7.0.15 with the
//! CVE-2025-32023 fix, as shipped by distributions), which equals Valkey 8.0
//! with that fix.  Differences:
//!
//! * Sparse payloads with opcodes past the 16384th register are rejected by
//!   `PFMERGE`, multi-key `PFCOUNT` and the sparse-to-dense conversion, like
//!   the patched servers; unpatched 7.0.15 / Valkey 8.0.1 accepted such a
//!   payload when the opcodes before the first overflowing VAL added up to
//!   exactly 16384 registers.
//! * Redis reads one byte past the end of the string when a corrupted sparse
//!   payload ends with the first byte of an XZERO opcode, and updating such
//!   an opcode can leave a non-zero byte there.  Within one command this
//!   module tracks that byte; across commands it assumes the zero terminator
//!   of a freshly loaded string, whereas Redis may still hold the byte left
//!   by an earlier command on the same in-memory object.
//! * Elements of 2 GiB or more: Redis hashes them with a truncated C `int`
//!   length (undefined behaviour); we hash every byte.
//!
//! Valid HyperLogLogs are never affected by these.

use std::fmt;

/// Default of the `hll-sparse-max-bytes` configuration parameter.
pub const HLL_SPARSE_MAX_BYTES_DEFAULT: usize = 3000;
/// Number of registers (2^14).
pub const HLL_REGISTERS: usize = 1 << HLL_P;
/// Size of the header shared by both encodings.
pub const HLL_HDR_SIZE: usize = 16;
/// Exact size of a dense HyperLogLog string.
pub const HLL_DENSE_SIZE: usize = HLL_HDR_SIZE + (HLL_REGISTERS * HLL_BITS).div_ceil(8);
/// Largest register value a sparse VAL opcode can hold.
pub const HLL_SPARSE_VAL_MAX_VALUE: u8 = 32;

const HLL_P: usize = 14;
const HLL_Q: usize = 64 - HLL_P;
const HLL_BITS: usize = 6;
const REGISTER_MASK: u32 = (1 << HLL_BITS) - 1;
const ENCODING_DENSE: u8 = 0;
const ENCODING_SPARSE: u8 = 1;
const MAGIC: &[u8; 4] = b"HYLL";
const ENCODING_OFFSET: usize = 4;
const CARD_OFFSET: usize = 8;
const STALE_BIT: u8 = 0x80;
const HASH_SEED: u32 = 0xadc8_3b19;
const SPARSE_VAL_MAX_LEN: usize = 4;
const SPARSE_ZERO_MAX_LEN: usize = 64;
const SPARSE_XZERO_MAX_LEN: usize = 16384;
/// 0.5 / ln(2)
const ALPHA_INF: f64 = 0.721_347_520_444_481_7;

/// Errors of the HyperLogLog operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HllError {
    /// The string value is not a HyperLogLog.
    WrongType,
    /// The HyperLogLog header is fine but its sparse payload is not.
    Corrupt,
}

impl HllError {
    /// The error line Redis replies with (without the leading `-`).
    pub fn message(&self) -> &'static str {
        match self {
            HllError::WrongType => "WRONGTYPE Key is not a valid HyperLogLog string value.",
            HllError::Corrupt => "INVALIDOBJ Corrupted HLL object detected",
        }
    }
}

impl fmt::Display for HllError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for HllError {}

/// The two representations of a HyperLogLog.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Encoding {
    Dense,
    Sparse,
}

impl Encoding {
    /// The name `PFDEBUG ENCODING` replies with.
    pub fn name(&self) -> &'static str {
        match self {
            Encoding::Dense => "dense",
            Encoding::Sparse => "sparse",
        }
    }
}

// ------------------------------------------------------------------------
// Hashing
// ------------------------------------------------------------------------

/// MurmurHash2, 64-bit variant "64A", reading 8-byte blocks little-endian
/// (Redis's endian-neutral flavour).
pub fn murmurhash64a(data: &[u8], seed: u32) -> u64 {
    const M: u64 = 0xc6a4_a793_5bd1_e995;
    const R: u32 = 47;
    // Redis takes the length as a C `int`; element sizes never come near
    // 2^31 in practice.
    let len = data.len() as i32 as i64 as u64;
    let mut h = u64::from(seed) ^ len.wrapping_mul(M);
    let mut blocks = data.chunks_exact(8);
    for block in &mut blocks {
        let mut k = u64::from_le_bytes(block.try_into().expect("8-byte block"));
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h ^= k;
        h = h.wrapping_mul(M);
    }
    let tail = blocks.remainder();
    if !tail.is_empty() {
        for (i, &b) in tail.iter().enumerate() {
            h ^= u64::from(b) << (8 * i);
        }
        h = h.wrapping_mul(M);
    }
    h ^= h >> R;
    h = h.wrapping_mul(M);
    h ^= h >> R;
    h
}

/// The register an element maps to and the value it proposes for it
/// (1 + the number of trailing zero bits above the index bits, 1..=51).
pub fn pat_len(element: &[u8]) -> (usize, u8) {
    let hash = murmurhash64a(element, HASH_SEED);
    let index = (hash as usize) & (HLL_REGISTERS - 1);
    let rest = (hash >> HLL_P) | (1u64 << HLL_Q);
    (index, rest.trailing_zeros() as u8 + 1)
}

// ------------------------------------------------------------------------
// Header helpers
// ------------------------------------------------------------------------

/// Redis's `isHLLObjectOrReply` checks for a string value.
pub fn validate(bytes: &[u8]) -> Result<(), HllError> {
    if bytes.len() < HLL_HDR_SIZE || &bytes[..4] != MAGIC {
        return Err(HllError::WrongType);
    }
    match bytes[ENCODING_OFFSET] {
        ENCODING_DENSE if bytes.len() == HLL_DENSE_SIZE => Ok(()),
        ENCODING_SPARSE => Ok(()),
        _ => Err(HllError::WrongType),
    }
}

/// The encoding of a valid HyperLogLog (`PFDEBUG ENCODING`).
pub fn encoding(bytes: &[u8]) -> Result<Encoding, HllError> {
    validate(bytes)?;
    Ok(if bytes[ENCODING_OFFSET] == ENCODING_DENSE {
        Encoding::Dense
    } else {
        Encoding::Sparse
    })
}

/// The cached cardinality, if the cache is marked fresh.
pub fn cached_cardinality(bytes: &[u8]) -> Result<Option<u64>, HllError> {
    validate(bytes)?;
    Ok(read_cache(bytes))
}

fn read_cache(bytes: &[u8]) -> Option<u64> {
    let card = u64::from_le_bytes(
        bytes[CARD_OFFSET..CARD_OFFSET + 8]
            .try_into()
            .expect("8 bytes"),
    );
    (card >> 63 == 0).then_some(card)
}

fn invalidate_cache(bytes: &mut [u8]) {
    bytes[CARD_OFFSET + 7] |= STALE_BIT;
}

/// A sparse HyperLogLog with every register at zero and a fresh cache of 0,
/// as Redis builds it before applying a command.
fn fresh_sparse() -> Vec<u8> {
    let mut out = Vec::with_capacity(HLL_HDR_SIZE + 2);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[ENCODING_SPARSE, 0, 0, 0]);
    out.extend_from_slice(&[0; 8]);
    push_zero_run(&mut out, HLL_REGISTERS);
    out
}

/// The value `PFADD` stores for a key that did not exist, before any element
/// is added: all registers zero, sparse, cache marked stale (Redis marks it
/// stale because creating the key counts as an update).
pub fn new_empty() -> Vec<u8> {
    let mut out = fresh_sparse();
    invalidate_cache(&mut out);
    out
}

// ------------------------------------------------------------------------
// Dense registers
// ------------------------------------------------------------------------

/// Register `index` of a dense payload.  The byte after the payload reads as
/// zero (Redis relies on the string terminator there).
fn dense_get(regs: &[u8], index: usize) -> u8 {
    let byte = index * HLL_BITS / 8;
    let shift = (index * HLL_BITS) & 7;
    let lo = u32::from(regs[byte]) >> shift;
    let hi = u32::from(regs.get(byte + 1).copied().unwrap_or(0)) << (8 - shift);
    ((lo | hi) & REGISTER_MASK) as u8
}

fn dense_put(regs: &mut [u8], index: usize, value: u8) {
    let byte = index * HLL_BITS / 8;
    let shift = (index * HLL_BITS) & 7;
    let v = u32::from(value);
    let b0 = (u32::from(regs[byte]) & !(REGISTER_MASK << shift)) | (v << shift);
    regs[byte] = b0 as u8;
    if let Some(next) = regs.get_mut(byte + 1) {
        let b1 = (u32::from(*next) & !(REGISTER_MASK >> (8 - shift))) | (v >> (8 - shift));
        *next = b1 as u8;
    }
}

/// Raise register `index` to `value` if it is lower; true if it changed.
fn dense_raise(regs: &mut [u8], index: usize, value: u8) -> bool {
    if value > dense_get(regs, index) {
        dense_put(regs, index, value);
        true
    } else {
        false
    }
}

fn dense_histogram(regs: &[u8], histo: &mut [u32; 64]) {
    // Four registers every three bytes.
    for chunk in regs[..HLL_REGISTERS * HLL_BITS / 8].chunks_exact(3) {
        let (a, b, c) = (chunk[0], chunk[1], chunk[2]);
        histo[usize::from(a & 63)] += 1;
        histo[usize::from((a >> 6 | b << 2) & 63)] += 1;
        histo[usize::from((b >> 4 | c << 4) & 63)] += 1;
        histo[usize::from(c >> 2)] += 1;
    }
}

// ------------------------------------------------------------------------
// Sparse opcodes
// ------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    /// A run of zero registers (`ZERO` when `wide` is false, else `XZERO`).
    Zeros { len: usize, wide: bool },
    /// `VAL`: `len` registers holding `value`.
    Val { value: u8, len: usize },
}

impl Op {
    fn span(self) -> usize {
        match self {
            Op::Zeros { len, .. } | Op::Val { len, .. } => len,
        }
    }

    fn width(self) -> usize {
        match self {
            Op::Zeros { wide: true, .. } => 2,
            _ => 1,
        }
    }
}

/// Decode the opcode at `pos` (which must be inside `buf`).  The second byte
/// of an XZERO cut short by the end of the string reads as `past_end`: Redis
/// reads the byte after the string there, normally its zero terminator (see
/// [`sparse_raise`] for when it is not).
fn read_op(buf: &[u8], pos: usize, past_end: u8) -> Op {
    let b = buf[pos];
    if b & 0x80 != 0 {
        Op::Val {
            value: ((b >> 2) & 0x1f) + 1,
            len: usize::from(b & 0x03) + 1,
        }
    } else if b & 0x40 != 0 {
        let low = buf.get(pos + 1).copied().unwrap_or(past_end);
        Op::Zeros {
            len: ((usize::from(b & 0x3f) << 8) | usize::from(low)) + 1,
            wide: true,
        }
    } else {
        Op::Zeros {
            len: usize::from(b & 0x3f) + 1,
            wide: false,
        }
    }
}

/// Iterator over the opcodes of a sparse payload (positions relative to the
/// whole string).
struct Ops<'a> {
    buf: &'a [u8],
    pos: usize,
    past_end: u8,
}

impl Iterator for Ops<'_> {
    type Item = Op;

    fn next(&mut self) -> Option<Op> {
        if self.pos >= self.buf.len() {
            return None;
        }
        let op = read_op(self.buf, self.pos, self.past_end);
        self.pos += op.width();
        Some(op)
    }
}

fn sparse_ops(hll: &[u8], past_end: u8) -> Ops<'_> {
    Ops {
        buf: hll,
        pos: HLL_HDR_SIZE,
        past_end,
    }
}

fn val_byte(value: u8, len: usize) -> u8 {
    debug_assert!((1..=HLL_SPARSE_VAL_MAX_VALUE).contains(&value));
    debug_assert!((1..=SPARSE_VAL_MAX_LEN).contains(&len));
    0x80 | ((value - 1) << 2) | (len - 1) as u8
}

/// Encode `len` zero registers: one ZERO opcode up to 64, else one XZERO
/// (runs longer than 16384 are split, which only `fresh_sparse` could need).
fn push_zero_run(out: &mut Vec<u8>, mut len: usize) {
    while len > 0 {
        if len <= SPARSE_ZERO_MAX_LEN {
            out.push((len - 1) as u8);
            return;
        }
        let chunk = len.min(SPARSE_XZERO_MAX_LEN);
        let l = chunk - 1;
        out.push(0x40 | (l >> 8) as u8);
        out.push((l & 0xff) as u8);
        len -= chunk;
    }
}

/// Apply each VAL run to `sink(first_register, len, value)`; true when the
/// opcodes cover exactly the 16384 registers.  Runs past the last register
/// are not applied.  (Unpatched Redis 7.0 stopped at the first VAL run
/// overflowing the registers and accepted the value if the registers before
/// it added up to 16384; the CVE-2025-32023 fix shipped in maintained 7.0
/// builds and in later Valkey 8.0 releases rejects any overflow, and so do
/// we.)
fn walk_sparse(hll: &[u8], past_end: u8, mut sink: impl FnMut(usize, usize, u8)) -> bool {
    let mut idx = 0usize;
    for op in sparse_ops(hll, past_end) {
        if let Op::Val { value, len } = op {
            if idx + len <= HLL_REGISTERS {
                sink(idx, len, value);
            }
        }
        idx += op.span();
    }
    idx == HLL_REGISTERS
}

/// Register histogram of a sparse payload; `None` when the opcodes do not
/// cover exactly 16384 registers.
fn sparse_histogram(hll: &[u8], histo: &mut [u32; 64]) -> Option<()> {
    let mut idx = 0usize;
    for op in sparse_ops(hll, 0) {
        match op {
            Op::Zeros { len, .. } => histo[0] = histo[0].wrapping_add(len as u32),
            Op::Val { value, len } => {
                histo[usize::from(value)] = histo[usize::from(value)].wrapping_add(len as u32)
            }
        }
        idx += op.span();
    }
    (idx == HLL_REGISTERS).then_some(())
}

/// Turn a sparse HyperLogLog into a dense one in place (the header, including
/// the cached cardinality and the unused bytes, is kept).  No-op when already
/// dense.
fn sparse_to_dense(hll: &mut Vec<u8>, past_end: u8) -> Result<(), HllError> {
    if hll[ENCODING_OFFSET] == ENCODING_DENSE {
        return Ok(());
    }
    let mut dense = vec![0u8; HLL_DENSE_SIZE];
    dense[..HLL_HDR_SIZE].copy_from_slice(&hll[..HLL_HDR_SIZE]);
    dense[ENCODING_OFFSET] = ENCODING_DENSE;
    let ok = {
        let regs = &mut dense[HLL_HDR_SIZE..];
        walk_sparse(hll, past_end, |first, len, value| {
            for i in first..first + len {
                dense_put(regs, i, value);
            }
        })
    };
    if !ok {
        return Err(HllError::Corrupt);
    }
    *hll = dense;
    Ok(())
}

/// After an in-place update, fuse neighbouring VAL opcodes holding the same
/// value, looking at no more than five opcodes from `start`.  A fusion
/// shortens the string, which in Redis writes a fresh terminator.
fn coalesce_vals(hll: &mut Vec<u8>, start: usize, past_end: &mut u8) {
    let mut pos = start;
    let mut budget = 5;
    while pos < hll.len() && budget > 0 {
        budget -= 1;
        let Op::Val { value, len } = read_op(hll, pos, *past_end) else {
            pos += read_op(hll, pos, *past_end).width();
            continue;
        };
        if pos + 1 < hll.len() {
            if let Op::Val {
                value: value2,
                len: len2,
            } = read_op(hll, pos + 1, *past_end)
            {
                if value == value2 && len + len2 <= SPARSE_VAL_MAX_LEN {
                    hll[pos + 1] = val_byte(value, len + len2);
                    hll.remove(pos);
                    *past_end = 0;
                    continue;
                }
            }
        }
        pos += 1;
    }
}

/// Raise register `index` of a sparse HyperLogLog to `value` (1..=51) if it
/// is lower, promoting to dense when the value does not fit a VAL opcode or
/// when the string would grow past `sparse_max_bytes`.  Does not touch the
/// cache bit.
///
/// `past_end` models the byte just after the string in Redis's buffer, which
/// matters only for corrupted payloads ending with the first byte of an
/// XZERO: Redis then reads that byte as the second one, and when it splits
/// such an opcode it writes the replacement as if the opcode were whole,
/// leaving the last byte of the replacement just past the new end, where
/// the next update of the same operation reads it.  It starts at 0 for every
/// command (a fresh string); any other length change resets it to 0.
fn sparse_raise(
    hll: &mut Vec<u8>,
    index: usize,
    value: u8,
    sparse_max_bytes: usize,
    past_end: &mut u8,
) -> Result<bool, HllError> {
    if value > HLL_SPARSE_VAL_MAX_VALUE {
        return promote_and_raise(hll, index, value, *past_end);
    }

    // Find the opcode covering `index`.
    let end = hll.len();
    let mut pos = HLL_HDR_SIZE;
    let mut first = 0usize;
    let mut prev = None;
    let mut found = None;
    while pos < end {
        let op = read_op(hll, pos, *past_end);
        if index < first + op.span() {
            found = Some(op);
            break;
        }
        prev = Some(pos);
        pos += op.width();
        first += op.span();
    }
    let Some(op) = found else {
        return Err(HllError::Corrupt);
    };
    let last = first + op.span() - 1;
    let width = op.width();

    match op {
        Op::Val { value: old, .. } if old >= value => return Ok(false),
        Op::Val { len: 1, .. }
        | Op::Zeros {
            len: 1,
            wide: false,
        } => {
            hll[pos] = val_byte(value, 1);
        }
        _ => {
            // Split the opcode into up to three.
            let mut seq: Vec<u8> = Vec::with_capacity(5);
            match op {
                Op::Zeros { .. } => {
                    if index != first {
                        push_zero_run(&mut seq, index - first);
                    }
                    seq.push(val_byte(value, 1));
                    if index != last {
                        push_zero_run(&mut seq, last - index);
                    }
                }
                Op::Val { value: old, .. } => {
                    if index != first {
                        seq.push(val_byte(old, index - first));
                    }
                    seq.push(val_byte(value, 1));
                    if index != last {
                        seq.push(val_byte(old, last - index));
                    }
                }
            }
            let new_len = (end + seq.len()).checked_sub(width).expect("len >= 1");
            if seq.len() > width && new_len > sparse_max_bytes {
                return promote_and_raise(hll, index, value, *past_end);
            }
            if pos + width > end {
                // An XZERO cut short by the end of the string: the string
                // gets the replacement minus its last byte, which ends up
                // just past the end.
                *past_end = seq[new_len - pos];
                hll.truncate(pos);
                hll.extend_from_slice(&seq[..new_len - pos]);
            } else {
                *past_end = 0;
                hll.splice(pos..pos + width, seq);
            }
            debug_assert_eq!(hll.len(), new_len);
        }
    }
    coalesce_vals(hll, prev.unwrap_or(HLL_HDR_SIZE), past_end);
    Ok(true)
}

fn promote_and_raise(
    hll: &mut Vec<u8>,
    index: usize,
    value: u8,
    past_end: u8,
) -> Result<bool, HllError> {
    sparse_to_dense(hll, past_end)?;
    dense_raise(&mut hll[HLL_HDR_SIZE..], index, value);
    Ok(true)
}

// ------------------------------------------------------------------------
// Cardinality estimation
// ------------------------------------------------------------------------

fn sigma(mut x: f64) -> f64 {
    if x == 1.0 {
        return f64::INFINITY;
    }
    let mut y = 1.0;
    let mut z = x;
    loop {
        x *= x;
        let before = z;
        z += x * y;
        y += y;
        if before == z {
            return z;
        }
    }
}

fn tau(mut x: f64) -> f64 {
    if x == 0.0 || x == 1.0 {
        return 0.0;
    }
    let mut y = 1.0;
    let mut z = 1.0 - x;
    loop {
        x = x.sqrt();
        let before = z;
        y *= 0.5;
        let d = 1.0 - x;
        z -= d * d * y;
        if before == z {
            return z / 3.0;
        }
    }
}

/// C's `llroundl` as it behaves on x86-64: out-of-range and NaN inputs give
/// the "integer indefinite" value 0x8000_0000_0000_0000.
fn round_to_u64(e: f64) -> u64 {
    const TWO_63: f64 = 9_223_372_036_854_775_808.0;
    if e.is_nan() || !(-TWO_63..TWO_63).contains(&e) {
        return 1 << 63;
    }
    e.round() as i64 as u64
}

/// Estimate the cardinality from a histogram of register values
/// (Ertl, "New cardinality estimation algorithms for HyperLogLog sketches").
/// Values above 51 are counted in the histogram but ignored, like Redis.
fn estimate(histo: &[u32; 64]) -> u64 {
    let m = HLL_REGISTERS as f64;
    let mut z = m * tau((m - f64::from(histo[HLL_Q + 1])) / m);
    for j in (1..=HLL_Q).rev() {
        z += f64::from(histo[j]);
        z *= 0.5;
    }
    z += m * sigma(f64::from(histo[0]) / m);
    round_to_u64(ALPHA_INF * m * m / z)
}

// ------------------------------------------------------------------------
// Public operations
// ------------------------------------------------------------------------

/// `PFADD` of one element.  Returns whether a register changed; if so the
/// cached cardinality is marked stale.  May promote the value to dense.
/// Nothing is modified when an error is returned.  For a whole `PFADD`
/// command prefer [`add_many`], which is exact even for corrupted values.
pub fn add(hll: &mut Vec<u8>, element: &[u8], sparse_max_bytes: usize) -> Result<bool, HllError> {
    add_many(hll, [element], sparse_max_bytes)
}

/// The elements of one `PFADD` command, in order.  Returns whether any
/// register changed (the cache is then marked stale).  On an error the
/// changes made by the earlier elements stay in `hll`, as they do in Redis
/// (which keeps them in memory but does not propagate the command).
pub fn add_many<I, E>(
    hll: &mut Vec<u8>,
    elements: I,
    sparse_max_bytes: usize,
) -> Result<bool, HllError>
where
    I: IntoIterator<Item = E>,
    E: AsRef<[u8]>,
{
    add_counted(hll, elements, sparse_max_bytes).map(|n| n > 0)
}

/// [`add_many`] that returns how many elements changed a register: Redis
/// adds that number to its change counter (`server.dirty`) for `PFADD`.
pub fn add_counted<I, E>(
    hll: &mut Vec<u8>,
    elements: I,
    sparse_max_bytes: usize,
) -> Result<usize, HllError>
where
    I: IntoIterator<Item = E>,
    E: AsRef<[u8]>,
{
    validate(hll)?;
    let mut past_end = 0u8;
    let mut updated = 0;
    for element in elements {
        let (index, value) = pat_len(element.as_ref());
        if raise(hll, index, value, sparse_max_bytes, &mut past_end)? {
            invalidate_cache(hll);
            updated += 1;
        }
    }
    Ok(updated)
}

/// Raise register `index` (< 16384) to `value` (1..=63) if it is lower, the
/// way `PFADD` does once it has hashed an element.  Marks the cache stale on
/// change.
pub fn set_register(
    hll: &mut Vec<u8>,
    index: usize,
    value: u8,
    sparse_max_bytes: usize,
) -> Result<bool, HllError> {
    validate(hll)?;
    assert!(index < HLL_REGISTERS, "register index out of range");
    assert!(
        (1..=REGISTER_MASK as u8).contains(&value),
        "register value out of range"
    );
    let changed = raise(hll, index, value, sparse_max_bytes, &mut 0)?;
    if changed {
        invalidate_cache(hll);
    }
    Ok(changed)
}

fn raise(
    hll: &mut Vec<u8>,
    index: usize,
    value: u8,
    sparse_max_bytes: usize,
    past_end: &mut u8,
) -> Result<bool, HllError> {
    if hll[ENCODING_OFFSET] == ENCODING_DENSE {
        Ok(dense_raise(&mut hll[HLL_HDR_SIZE..], index, value))
    } else {
        sparse_raise(hll, index, value, sparse_max_bytes, past_end)
    }
}

/// Single-key `PFCOUNT`: the cached cardinality when it is fresh, otherwise
/// a new estimate that is written into the cache.  The flag tells whether
/// the bytes changed (then Redis stores and propagates the value).
pub fn count(hll: &mut [u8]) -> Result<(u64, bool), HllError> {
    validate(hll)?;
    if let Some(card) = read_cache(hll) {
        return Ok((card, false));
    }
    let mut histo = [0u32; 64];
    if hll[ENCODING_OFFSET] == ENCODING_DENSE {
        dense_histogram(&hll[HLL_HDR_SIZE..], &mut histo);
    } else {
        sparse_histogram(hll, &mut histo).ok_or(HllError::Corrupt)?;
    }
    let card = estimate(&histo);
    hll[CARD_OFFSET..CARD_OFFSET + 8].copy_from_slice(&card.to_le_bytes());
    Ok((card, true))
}

/// Multi-key `PFCOUNT`: the cardinality of the union of the given values
/// (missing keys left out).  Caches are neither used nor updated.
pub fn count_union(hlls: &[&[u8]]) -> Result<u64, HllError> {
    let mut union = Union::new();
    for hll in hlls {
        union.add(hll)?;
    }
    Ok(union.count())
}

/// `PFMERGE`: the bytes Redis stores in `dest`.  `dest` is the destination's
/// current value (or `None` when the key does not exist); it is read as the
/// first source, as Redis does.  `sources` are the values of the existing
/// source keys, in command order.
pub fn merge(
    dest: Option<&[u8]>,
    sources: &[&[u8]],
    sparse_max_bytes: usize,
) -> Result<Vec<u8>, HllError> {
    let mut union = Union::new();
    if let Some(d) = dest {
        union.add(d)?;
    }
    for src in sources {
        union.add(src)?;
    }
    union.store(dest, sparse_max_bytes)
}

/// Register-wise maximum of several HyperLogLogs: the engine of multi-key
/// `PFCOUNT` and of `PFMERGE`, usable key by key.
#[derive(Clone)]
pub struct Union {
    regs: Vec<u8>,
    saw_dense: bool,
}

impl Default for Union {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Union {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Union")
            .field(
                "nonzero_registers",
                &self.regs.iter().filter(|&&r| r != 0).count(),
            )
            .field("saw_dense", &self.saw_dense)
            .finish()
    }
}

impl Union {
    /// A union of nothing (all registers zero).
    pub fn new() -> Self {
        Union {
            regs: vec![0; HLL_REGISTERS],
            saw_dense: false,
        }
    }

    /// Validate `hll` and fold its registers in.
    pub fn add(&mut self, hll: &[u8]) -> Result<(), HllError> {
        validate(hll)?;
        if hll[ENCODING_OFFSET] == ENCODING_DENSE {
            self.saw_dense = true;
            let payload = &hll[HLL_HDR_SIZE..];
            for (i, reg) in self.regs.iter_mut().enumerate() {
                *reg = (*reg).max(dense_get(payload, i));
            }
            Ok(())
        } else {
            let regs = &mut self.regs;
            let ok = walk_sparse(hll, 0, |first, len, value| {
                for reg in &mut regs[first..first + len] {
                    *reg = (*reg).max(value);
                }
            });
            if ok {
                Ok(())
            } else {
                Err(HllError::Corrupt)
            }
        }
    }

    /// Whether a dense HyperLogLog was folded in (`PFMERGE` then writes a
    /// dense result).
    pub fn saw_dense(&self) -> bool {
        self.saw_dense
    }

    /// The 16384 merged register values.
    pub fn registers(&self) -> &[u8] {
        &self.regs
    }

    /// Estimated cardinality of the union.
    pub fn count(&self) -> u64 {
        let mut histo = [0u32; 64];
        for &r in &self.regs {
            histo[usize::from(r)] += 1;
        }
        estimate(&histo)
    }

    /// Write the union into `dest` the way `PFMERGE` does.  `dest` must have
    /// been folded into this union first (Redis reads it as a source).
    pub fn store(&self, dest: Option<&[u8]>, sparse_max_bytes: usize) -> Result<Vec<u8>, HllError> {
        let mut out = match dest {
            Some(d) => {
                validate(d)?;
                d.to_vec()
            }
            None => fresh_sparse(),
        };
        if self.saw_dense {
            sparse_to_dense(&mut out, 0)?;
        }
        let mut past_end = 0u8;
        for (index, &value) in self.regs.iter().enumerate() {
            if value != 0 {
                // Redis ignores failures here (there are none for a
                // destination that was read as a source).
                let _ = raise(&mut out, index, value, sparse_max_bytes, &mut past_end);
            }
        }
        invalidate_cache(&mut out);
        Ok(out)
    }
}

// ------------------------------------------------------------------------
// PFDEBUG support
// ------------------------------------------------------------------------

/// `PFDEBUG TODENSE` (and the first step of `PFDEBUG GETREG`): convert a
/// sparse value to dense in place.  Returns true if it converted.
pub fn to_dense(hll: &mut Vec<u8>) -> Result<bool, HllError> {
    validate(hll)?;
    if hll[ENCODING_OFFSET] == ENCODING_DENSE {
        return Ok(false);
    }
    sparse_to_dense(hll, 0)?;
    Ok(true)
}

/// The 16384 register values (`PFDEBUG GETREG` replies with them after
/// [`to_dense`], whose change Redis keeps and propagates).
pub fn registers(hll: &[u8]) -> Result<Vec<u8>, HllError> {
    validate(hll)?;
    if hll[ENCODING_OFFSET] == ENCODING_DENSE {
        let payload = &hll[HLL_HDR_SIZE..];
        Ok((0..HLL_REGISTERS).map(|i| dense_get(payload, i)).collect())
    } else {
        let mut regs = vec![0u8; HLL_REGISTERS];
        let ok = walk_sparse(hll, 0, |first, len, value| {
            regs[first..first + len].fill(value);
        });
        if ok {
            Ok(regs)
        } else {
            Err(HllError::Corrupt)
        }
    }
}

/// `PFDEBUG DECODE`: the sparse opcodes as text (`z:N`, `Z:N`, `v:VAL,N`),
/// or `None` for a dense value (Redis: "HLL encoding is not sparse").
pub fn decode_sparse(hll: &[u8]) -> Result<Option<String>, HllError> {
    validate(hll)?;
    if hll[ENCODING_OFFSET] != ENCODING_SPARSE {
        return Ok(None);
    }
    let parts: Vec<String> = sparse_ops(hll, 0)
        .map(|op| match op {
            Op::Zeros { len, wide: false } => format!("z:{len}"),
            Op::Zeros { len, wide: true } => format!("Z:{len}"),
            Op::Val { value, len } => format!("v:{value},{len}"),
        })
        .collect();
    Ok(Some(parts.join(" ")))
}

// ------------------------------------------------------------------------
// Tests
// ------------------------------------------------------------------------

// ------------------------------------------------------------------------
// PFSELFTEST
// ------------------------------------------------------------------------

/// What PFSELFTEST found wrong.
#[derive(Debug, PartialEq, Eq)]
pub enum SelfTestFailure {
    /// A dense register did not keep the value written (or a neighbour changed it).
    Register { index: usize, expected: u8, got: u8 },
    /// A small HyperLogLog was not sparse.
    SparseNotUsed,
    /// The dense and the sparse HyperLogLog of the same elements counted differently.
    DenseSparseDisagree,
    /// An estimate was further from the true cardinality than six standard errors.
    TooBigError { card: u64, abserr: u64 },
}

/// Rounds of random register values in the first part of [`selftest`].
const SELFTEST_CYCLES: usize = 1000;

/// PFSELFTEST (Valkey's checks): random values written to every dense register and read
/// back, `SELFTEST_CYCLES` times; then 10^7 distinct elements added to a dense and a sparse
/// HyperLogLog, whose counts must agree and stay within six standard errors of the truth
/// at 1, 10, ..., 10^7 elements (within 1 at 10, where collisions make larger errors
/// likely).
pub fn selftest(
    rng: &mut crate::rand::Rng,
    sparse_max_bytes: usize,
) -> Result<(), SelfTestFailure> {
    let mut regs = vec![0u8; HLL_DENSE_SIZE - HLL_HDR_SIZE];
    let mut expected = vec![0u8; HLL_REGISTERS];
    for _ in 0..SELFTEST_CYCLES {
        for (i, e) in expected.iter_mut().enumerate() {
            *e = (rng.next_u64() & u64::from(REGISTER_MASK)) as u8;
            dense_put(&mut regs, i, *e);
        }
        for (index, &e) in expected.iter().enumerate() {
            let got = dense_get(&regs, index);
            if got != e {
                return Err(SelfTestFailure::Register {
                    index,
                    expected: e,
                    got,
                });
            }
        }
    }
    let mut dense = new_empty();
    let _ = to_dense(&mut dense);
    let mut sparse = new_empty();
    let relerr = 1.04 / (HLL_REGISTERS as f64).sqrt();
    let seed = rng.next_u64();
    let mut checkpoint: u64 = 1;
    let corrupt = |_| SelfTestFailure::DenseSparseDisagree;
    for j in 1..=10_000_000u64 {
        let ele = (j ^ seed).to_le_bytes();
        add(&mut dense, &ele, sparse_max_bytes).map_err(corrupt)?;
        add(&mut sparse, &ele, sparse_max_bytes).map_err(corrupt)?;
        if j != checkpoint {
            continue;
        }
        if j < sparse_max_bytes as u64 / 2 && encoding(&sparse) != Ok(Encoding::Sparse) {
            return Err(SelfTestFailure::SparseNotUsed);
        }
        let card = count(&mut dense).map_err(corrupt)?.0;
        if card != count(&mut sparse).map_err(corrupt)?.0 {
            return Err(SelfTestFailure::DenseSparseDisagree);
        }
        let abserr = checkpoint.abs_diff(card);
        let maxerr = if j == 10 {
            1
        } else {
            (relerr * 6.0 * checkpoint as f64).ceil() as u64
        };
        if abserr > maxerr {
            return Err(SelfTestFailure::TooBigError {
                card: checkpoint,
                abserr,
            });
        }
        checkpoint *= 10;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// xorshift64* — small deterministic generator for the property tests.
    struct Rng(u64);

    impl Rng {
        fn new(seed: u64) -> Self {
            Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
        }
        fn next(&mut self) -> u64 {
            let mut x = self.0;
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            self.0 = x;
            x.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
        fn bytes(&mut self, max_len: usize) -> Vec<u8> {
            let len = self.below(max_len as u64 + 1) as usize;
            (0..len).map(|_| self.next() as u8).collect()
        }
    }

    fn model_add(model: &mut [u8], element: &[u8]) -> bool {
        let (i, v) = pat_len(element);
        if v > model[i] {
            model[i] = v;
            true
        } else {
            false
        }
    }

    fn model_count(model: &[u8]) -> u64 {
        let mut histo = [0u32; 64];
        for &r in model {
            histo[usize::from(r)] += 1;
        }
        estimate(&histo)
    }

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn error_messages() {
        assert_eq!(
            HllError::WrongType.message(),
            "WRONGTYPE Key is not a valid HyperLogLog string value."
        );
        assert_eq!(
            HllError::Corrupt.to_string(),
            "INVALIDOBJ Corrupted HLL object detected"
        );
    }

    #[test]
    fn empty_layout() {
        let e = new_empty();
        assert_eq!(
            e,
            b"HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x7f\xff".to_vec()
        );
        assert_eq!(validate(&e), Ok(()));
        assert_eq!(encoding(&e), Ok(Encoding::Sparse));
        assert_eq!(decode_sparse(&e).unwrap().unwrap(), "Z:16384");
        let mut e2 = e.clone();
        assert_eq!(count(&mut e2), Ok((0, true)));
        assert_eq!(&e2[8..16], &[0; 8]);
        assert_eq!(count(&mut e2), Ok((0, false)));
        assert_eq!(HLL_DENSE_SIZE, 12304);
    }

    #[test]
    fn murmur_reference_values() {
        // Register/value pairs Redis 7.0.15 reports (PFADD + PFDEBUG GETREG).
        assert_eq!(pat_len(b"a"), (12711, 2));
        assert_eq!(pat_len(b"hello"), (9216, 1));
        assert_eq!(pat_len(b"0123456789abcdefXYZ"), (8222, 1));
        assert_eq!(pat_len(b""), (5938, 2));
        // The empty input hashes the seed only.
        let m: u64 = 0xc6a4_a793_5bd1_e995;
        let mut h = 1u64.wrapping_mul(1);
        h ^= h >> 47;
        h = h.wrapping_mul(m);
        h ^= h >> 47;
        assert_eq!(murmurhash64a(b"", 1), h);
    }

    #[test]
    fn fixed_vectors_from_redis() {
        // GET after `PFADD k a b c` on Redis 7.0.15.
        let mut h = new_empty();
        for e in [&b"a"[..], b"b", b"c"] {
            assert!(add(&mut h, e, HLL_SPARSE_MAX_BYTES_DEFAULT).unwrap());
        }
        assert_eq!(
            h,
            hex("48594c4c01000000000000000000008060f38050b1844bfb80425a")
        );
        assert_eq!(
            decode_sparse(&h).unwrap().unwrap(),
            "Z:8436 v:1,1 Z:4274 v:2,1 Z:3068 v:1,1 Z:603"
        );
        assert_eq!(count(&mut h).unwrap(), (3, true));
        assert_eq!(
            h,
            hex("48594c4c01000000030000000000000060f38050b1844bfb80425a")
        );
    }

    #[test]
    fn validate_rules() {
        assert_eq!(validate(b""), Err(HllError::WrongType));
        assert_eq!(validate(b"HYLL"), Err(HllError::WrongType));
        let mut h = new_empty();
        assert_eq!(validate(&h[..15]), Err(HllError::WrongType));
        // A sparse header with no payload is a valid HLL header ...
        assert_eq!(validate(&h[..16]), Ok(()));
        // ... but corrupt.
        let mut bare = h[..16].to_vec();
        assert_eq!(count(&mut bare), Err(HllError::Corrupt));
        assert_eq!(add(&mut bare, b"x", 3000), Err(HllError::Corrupt));
        h[0] = b'h';
        assert_eq!(validate(&h), Err(HllError::WrongType));
        h[0] = b'H';
        h[4] = 2;
        assert_eq!(validate(&h), Err(HllError::WrongType));
        h[4] = 0;
        assert_eq!(validate(&h), Err(HllError::WrongType));
        let mut d = new_empty();
        to_dense(&mut d).unwrap();
        assert_eq!(d.len(), HLL_DENSE_SIZE);
        assert_eq!(validate(&d), Ok(()));
        d.push(0);
        assert_eq!(validate(&d), Err(HllError::WrongType));
        assert_eq!(count_union(&[&d]), Err(HllError::WrongType));
        assert_eq!(merge(None, &[&d], 3000), Err(HllError::WrongType));
    }

    #[test]
    fn corrupt_sparse_is_reported() {
        let mut h = new_empty();
        h[HLL_HDR_SIZE] = 0x7e; // XZERO 16128: too short
        assert_eq!(count(&mut h.clone()), Err(HllError::Corrupt));
        assert_eq!(count_union(&[&h]), Err(HllError::Corrupt));
        assert_eq!(merge(None, &[&h], 3000), Err(HllError::Corrupt));
        assert_eq!(merge(Some(&h), &[], 3000), Err(HllError::Corrupt));
        assert_eq!(registers(&h), Err(HllError::Corrupt));
        assert_eq!(to_dense(&mut h.clone()), Err(HllError::Corrupt));
        // Too long: 16384 + 1.
        let mut long = new_empty();
        long.push(0x00);
        assert_eq!(count(&mut long.clone()), Err(HllError::Corrupt));
        // A VAL run overflowing the registers.
        let mut over = fresh_sparse();
        over.truncate(HLL_HDR_SIZE);
        push_zero_run(&mut over, HLL_REGISTERS - 2);
        over.push(val_byte(3, 4));
        assert_eq!(count_union(&[&over]), Err(HllError::Corrupt));
        // Exactly 16384 registers followed by more opcodes (patched Redis
        // rejects this everywhere).
        let mut trailing = new_empty();
        trailing.push(val_byte(1, 1));
        assert_eq!(count_union(&[&trailing]), Err(HllError::Corrupt));
        assert_eq!(merge(Some(&trailing), &[], 3000), Err(HllError::Corrupt));
        assert_eq!(to_dense(&mut trailing.clone()), Err(HllError::Corrupt));
        assert_eq!(count(&mut trailing.clone()), Err(HllError::Corrupt));
        // ... but PFADD only looks for the register it updates.
        assert_eq!(add(&mut trailing.clone(), b"a", 3000), Ok(true));
        // A stale cache is only recomputed when asked; a fresh cache hides
        // corruption just like in Redis.
        let mut cached = over.clone();
        cached[15] = 0;
        cached[8] = 42;
        assert_eq!(count(&mut cached), Ok((42, false)));
    }

    #[test]
    fn dense_register_roundtrip() {
        let mut rng = Rng::new(7);
        let mut regs = vec![0u8; HLL_REGISTERS * 6 / 8];
        for _round in 0..20 {
            let want: Vec<u8> = (0..HLL_REGISTERS).map(|_| rng.below(64) as u8).collect();
            for (i, &v) in want.iter().enumerate() {
                dense_put(&mut regs, i, v);
            }
            for (i, &v) in want.iter().enumerate() {
                assert_eq!(dense_get(&regs, i), v, "register {i}");
            }
            let mut histo = [0u32; 64];
            dense_histogram(&regs, &mut histo);
            let mut expect = [0u32; 64];
            for &v in &want {
                expect[usize::from(v)] += 1;
            }
            assert_eq!(histo, expect);
        }
    }

    #[test]
    fn sparse_opcode_splitting() {
        let mut h = new_empty();
        set_register(&mut h, 1000, 2, 3000).unwrap();
        assert_eq!(decode_sparse(&h).unwrap().unwrap(), "Z:1000 v:2,1 Z:15383");
        set_register(&mut h, 1020, 3, 3000).unwrap();
        set_register(&mut h, 1021, 3, 3000).unwrap();
        assert_eq!(
            decode_sparse(&h).unwrap().unwrap(),
            "Z:1000 v:2,1 z:19 v:3,2 Z:15362"
        );
        // Neighbouring equal values fuse up to four.
        set_register(&mut h, 1022, 3, 3000).unwrap();
        set_register(&mut h, 1019, 3, 3000).unwrap();
        assert_eq!(
            decode_sparse(&h).unwrap().unwrap(),
            "Z:1000 v:2,1 z:18 v:3,4 Z:15361"
        );
        // Raising a register inside a VAL run splits it.
        set_register(&mut h, 1020, 5, 3000).unwrap();
        assert_eq!(
            decode_sparse(&h).unwrap().unwrap(),
            "Z:1000 v:2,1 z:18 v:3,1 v:5,1 v:3,2 Z:15361"
        );
        assert!(!set_register(&mut h, 1020, 4, 3000).unwrap());
        // Register 0 and the last one.
        set_register(&mut h, 0, 1, 3000).unwrap();
        set_register(&mut h, HLL_REGISTERS - 1, 7, 3000).unwrap();
        assert_eq!(
            decode_sparse(&h).unwrap().unwrap(),
            "v:1,1 Z:999 v:2,1 z:18 v:3,1 v:5,1 v:3,2 Z:15360 v:7,1"
        );
        let regs = registers(&h).unwrap();
        assert_eq!(regs[0], 1);
        assert_eq!(regs[1020], 5);
        assert_eq!(regs[HLL_REGISTERS - 1], 7);
        // A value above 32 forces the dense encoding.
        set_register(&mut h, 5, 40, 3000).unwrap();
        assert_eq!(encoding(&h), Ok(Encoding::Dense));
        let regs2 = registers(&h).unwrap();
        assert_eq!(regs2[5], 40);
        assert_eq!(regs2[1020], 5);
    }

    #[test]
    fn cache_bits_are_kept_on_invalidation() {
        let mut h = new_empty();
        add(&mut h, b"x", 3000).unwrap();
        assert_eq!(count(&mut h).unwrap(), (1, true));
        assert_eq!(h[8], 1);
        // No change: cache stays fresh.
        assert!(!add(&mut h, b"x", 3000).unwrap());
        assert_eq!(cached_cardinality(&h), Ok(Some(1)));
        add(&mut h, b"y", 3000).unwrap();
        assert_eq!(&h[8..16], &[1, 0, 0, 0, 0, 0, 0, 0x80]);
        assert_eq!(cached_cardinality(&h), Ok(None));
    }

    #[test]
    fn promotion_respects_max_bytes() {
        let mut rng = Rng::new(99);
        for &max in &[0usize, 1, 17, 18, 19, 20, 21, 22, 100, 300, 3000] {
            let mut h = new_empty();
            let mut promoted_at = None;
            for n in 0..4000 {
                let e = rng.next().to_le_bytes();
                add(&mut h, &e, max).unwrap();
                if encoding(&h) == Ok(Encoding::Sparse) {
                    assert!(
                        h.len() <= max.max(HLL_HDR_SIZE + 2),
                        "sparse longer than {max}"
                    );
                } else if promoted_at.is_none() {
                    promoted_at = Some(n);
                }
            }
            assert!(promoted_at.is_some(), "max {max} never promoted");
        }
    }

    #[test]
    fn property_add_matches_model() {
        let mut rng = Rng::new(1);
        for case in 0..60 {
            let max = match case % 4 {
                0 => HLL_SPARSE_MAX_BYTES_DEFAULT,
                1 => rng.below(400) as usize,
                2 => 20_000,
                _ => rng.below(5000) as usize,
            };
            let n = match case % 3 {
                0 => rng.below(50),
                1 => rng.below(3000),
                _ => rng.below(12_000),
            };
            let mut model = vec![0u8; HLL_REGISTERS];
            let mut h = new_empty();
            let mut dense = new_empty();
            to_dense(&mut dense).unwrap();
            for _ in 0..n {
                let e = rng.bytes(24);
                let changed_model = model_add(&mut model, &e);
                let changed = add(&mut h, &e, max).unwrap();
                assert_eq!(changed, changed_model);
                assert_eq!(add(&mut dense, &e, max).unwrap(), changed_model);
                if rng.below(200) == 0 {
                    let (c, _) = count(&mut h).unwrap();
                    assert_eq!(c, model_count(&model));
                }
            }
            assert_eq!(registers(&h).unwrap(), model);
            assert_eq!(registers(&dense).unwrap(), model);
            let expect = model_count(&model);
            assert_eq!(count(&mut h).unwrap().0, expect);
            assert_eq!(count(&mut dense).unwrap().0, expect);
            assert_eq!(count_union(&[&h, &dense]).unwrap(), expect);
            if encoding(&h) == Ok(Encoding::Sparse) {
                assert!(h.len() <= max.max(HLL_HDR_SIZE + 2));
            }
        }
    }

    #[test]
    fn property_merge_matches_model() {
        let mut rng = Rng::new(2);
        for case in 0..40 {
            let max = if case % 2 == 0 {
                HLL_SPARSE_MAX_BYTES_DEFAULT
            } else {
                rng.below(2000) as usize
            };
            let k = 1 + rng.below(4) as usize;
            let mut values = Vec::new();
            let mut model = vec![0u8; HLL_REGISTERS];
            let mut any_dense = false;
            for _ in 0..k {
                let mut h = new_empty();
                let n = if rng.below(3) == 0 {
                    rng.below(5000)
                } else {
                    rng.below(200)
                };
                for _ in 0..n {
                    let e = rng.next().to_be_bytes();
                    model_add(&mut model, &e);
                    add(&mut h, &e, max).unwrap();
                }
                any_dense |= encoding(&h) == Ok(Encoding::Dense);
                values.push(h);
            }
            let refs: Vec<&[u8]> = values.iter().map(|v| v.as_slice()).collect();
            let merged = merge(None, &refs, max).unwrap();
            assert_eq!(registers(&merged).unwrap(), model);
            if any_dense {
                assert_eq!(encoding(&merged), Ok(Encoding::Dense));
            }
            assert_eq!(cached_cardinality(&merged), Ok(None));
            let expect = model_count(&model);
            assert_eq!(count_union(&refs).unwrap(), expect);
            assert_eq!(count(&mut merged.clone()).unwrap().0, expect);
            // Merging into one of the sources gives the same registers.
            let again = merge(Some(&values[0]), &refs[1..], max).unwrap();
            assert_eq!(registers(&again).unwrap(), model);
            // Merging a union with itself changes nothing but the cache bit.
            let twice = merge(Some(&merged), &[&merged], max).unwrap();
            assert_eq!(twice, merged);
        }
    }

    #[test]
    fn estimator_accuracy() {
        let mut model = vec![0u8; HLL_REGISTERS];
        let mut checkpoint = 1u64;
        for j in 1..=200_000u64 {
            model_add(&mut model, &(j ^ 0x5eed).to_le_bytes());
            if j == checkpoint {
                let est = model_count(&model) as f64;
                let err = (est - j as f64).abs() / j as f64;
                assert!(err < 0.05, "estimate {est} for {j}");
                checkpoint *= 10;
            }
        }
    }

    #[test]
    fn estimator_extremes() {
        // All registers at 63: z == 0, so the estimate overflows; Redis's
        // llroundl gives 0x8000000000000000 on x86-64.
        let mut histo = [0u32; 64];
        histo[63] = HLL_REGISTERS as u32;
        assert_eq!(estimate(&histo), 1 << 63);
        let mut histo = [0u32; 64];
        histo[0] = HLL_REGISTERS as u32;
        assert_eq!(estimate(&histo), 0);
        let mut histo = [0u32; 64];
        histo[51] = HLL_REGISTERS as u32;
        assert_eq!(estimate(&histo), 1 << 63);
        let mut histo = [0u32; 64];
        histo[1] = HLL_REGISTERS as u32;
        assert!(estimate(&histo) > 10_000);
    }

    #[test]
    fn fuzzed_bytes_never_panic() {
        let mut rng = Rng::new(3);
        for case in 0..3000 {
            let mut h = new_empty();
            for _ in 0..rng.below(100) {
                add(&mut h, &rng.next().to_le_bytes(), 3000).unwrap();
            }
            if case % 5 == 0 {
                to_dense(&mut h).unwrap();
            }
            // Mutate, truncate or extend.
            for _ in 0..1 + rng.below(4) {
                match rng.below(3) {
                    0 => {
                        let i = HLL_HDR_SIZE + rng.below((h.len() - HLL_HDR_SIZE) as u64) as usize;
                        h[i] = rng.next() as u8;
                    }
                    1 if h.len() > HLL_HDR_SIZE + 1 => {
                        h.truncate(h.len() - 1);
                    }
                    _ => h.push(rng.next() as u8),
                }
            }
            let snapshot = h.clone();
            let _ = count(&mut h.clone());
            let _ = count_union(&[&h]);
            let _ = merge(Some(&h), &[], 3000);
            let _ = merge(None, &[&h], 3000);
            let _ = registers(&h);
            let _ = decode_sparse(&h);
            let _ = to_dense(&mut h.clone());
            let mut added = h.clone();
            for _ in 0..20 {
                match add(&mut added, &rng.next().to_le_bytes(), 3000) {
                    Ok(_) => {}
                    Err(e) => {
                        let expect = if validate(&added).is_ok() {
                            HllError::Corrupt
                        } else {
                            HllError::WrongType
                        };
                        assert_eq!(e, expect);
                        break;
                    }
                }
            }
            // Errors leave the value untouched.
            let mut again = snapshot.clone();
            if add(&mut again, b"zz", 3000).is_err() {
                assert_eq!(again, snapshot);
            }
        }
    }

    #[test]
    fn stray_byte_after_truncated_xzero_is_reused() {
        // Captured from Redis 7.0.15: SET t <header + 40 fe 41>, then PFADD t
        // of these four elements, one command each (the stray byte past the
        // end of the string survives between commands on the same object).
        let mut v = hex("48594c4c01000000000000000000008040fe41");
        let elements = [&b"t:119"[..], b"t:140", b"t:213", b"t:386"];
        assert!(add_many(&mut v, elements, 3000).unwrap());
        assert_eq!(&v[16..], &hex("40fe15841784404e88404d8c")[..]);
        // One element at a time, each in a fresh command, the stray byte is
        // forgotten and the truncated XZERO reads as one register.
        let mut w = hex("48594c4c010000000000000000000080");
        w.extend_from_slice(&[0x40, 0xfe, 0x41]);
        assert!(add(&mut w, b"t:119", 3000).unwrap());
        assert_eq!(&w[16..], &hex("40fe158440")[..]);
        assert_eq!(add(&mut w, b"t:140", 3000), Err(HllError::Corrupt));
    }

    #[test]
    fn truncated_xzero_behaves_like_redis() {
        // A sparse payload ending with the first byte of an XZERO: its second
        // byte reads as 0 (the string terminator in Redis).
        let mut h = fresh_sparse();
        h.truncate(HLL_HDR_SIZE);
        push_zero_run(&mut h, 100);
        h.push(0x7f); // XZERO whose length reads as 0x3f00 + 1 = 16129
        let regs = registers(&h);
        // 100 + 16129 != 16384
        assert_eq!(regs, Err(HllError::Corrupt));
        // Setting a register inside it splits the opcode and cuts one byte.
        let before_len = h.len();
        let changed = set_register(&mut h, 150, 1, 3000).unwrap();
        assert!(changed);
        // seq = ZERO(50) VAL XZERO(...): 4 bytes replacing a 2-byte opcode of
        // which only 1 byte existed; Redis's length grows by 2.
        assert_eq!(h.len(), before_len + 2);
        // The trailing XZERO(16078) = 0x7e 0xcd lost its second byte.
        assert_eq!(&h[before_len - 1..], &[49, val_byte(1, 1), 0x7e]);
    }
}
