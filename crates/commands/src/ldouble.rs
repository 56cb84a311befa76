//! x87 80-bit `long double` arithmetic, just enough for INCRBYFLOAT and HINCRBYFLOAT.
//!
//! Redis computes these two commands in C `long double`, which on x86-64 is the x87 extended
//! format (sign, 15-bit exponent, 64-bit mantissa with an explicit integer bit), reads its
//! operands with `strtold` (through `string2ld`) and prints the result with `%.17Lf` before
//! trimming trailing zeros (`ld2string` in `LD_STR_HUMAN` mode). Their replies are visible to
//! clients and stored as the new value, so we reproduce all three steps bit for bit:
//!
//! * [`LongDouble::parse`]: correctly rounded (nearest, ties to even) decimal and hexadecimal
//!   conversion, with `string2ld`'s extra rejections (blank start, trailing bytes, NaN, values
//!   that overflow to infinity or underflow to zero, 5 KiB and longer inputs);
//! * [`LongDouble::add`]: one IEEE addition rounded to 64 mantissa bits;
//! * [`LongDouble::to_human_string`]: the exact decimal expansion rounded half-even at 17
//!   fractional digits, as glibc's `printf` does, then trimmed.
//!
//! Exact conversions use the small unsigned big integer below ([`Big`]). All work is bounded:
//! inputs are at most 5119 bytes, exponents are clamped long before they leave the x87 range,
//! so the largest number ever built has about 24 000 bits.

use std::cmp::Ordering;

/// `MAX_LONG_DOUBLE_CHARS` in Redis: `string2ld` rejects inputs of this length or more.
pub const MAX_LONG_DOUBLE_CHARS: usize = 5 * 1024;

/// Exponent (of the value `mant * 2^exp`) of the smallest normal and of every subnormal value.
const MIN_EXP: i64 = -16445;
/// Exponent of the largest finite values (`mant < 2^64`, so the maximum is about 1.19e4932).
const MAX_EXP: i64 = 16320;
/// Bias of the 15-bit exponent field: field = exp + 16383 + 63 for normal values.
const FIELD_BIAS: i64 = 16383 + 63;

/// Decimal exponents whose values certainly overflow (`>= 1e4933`) or round to zero
/// (`< 1e-4951`, below half the smallest subnormal, about 1.8e-4951).
const DEC_OVERFLOW: i64 = 4933;
const DEC_UNDERFLOW: i64 = -4951;
/// Saturation bound for parsed exponents: far beyond anything that can still matter given at
/// most 5119 digits, and small enough that no arithmetic on it can overflow.
const EXP_CLAMP: i64 = 1_000_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Finite,
    Inf,
    Nan,
}

/// An x87 80-bit extended-precision value.
///
/// A finite value is `(-1)^neg * mant * 2^exp`; normal values have the top bit of `mant` set and
/// `exp` in `MIN_EXP..=MAX_EXP`, subnormal ones have `exp == MIN_EXP` and a smaller `mant`, and
/// zero is `mant == 0, exp == 0` (signed). Equality is representation equality: `-0 != 0`, and a
/// NaN equals a NaN of the same sign.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LongDouble {
    neg: bool,
    kind: Kind,
    exp: i32,
    mant: u64,
}

impl LongDouble {
    pub const ZERO: LongDouble = LongDouble {
        neg: false,
        kind: Kind::Finite,
        exp: 0,
        mant: 0,
    };
    pub const INFINITY: LongDouble = LongDouble {
        neg: false,
        kind: Kind::Inf,
        exp: 0,
        mant: 0,
    };
    pub const NEG_INFINITY: LongDouble = LongDouble {
        neg: true,
        kind: Kind::Inf,
        exp: 0,
        mant: 0,
    };
    pub const NAN: LongDouble = LongDouble {
        neg: false,
        kind: Kind::Nan,
        exp: 0,
        mant: 0,
    };

    fn zero(neg: bool) -> LongDouble {
        LongDouble { neg, ..Self::ZERO }
    }

    fn inf(neg: bool) -> LongDouble {
        LongDouble {
            neg,
            ..Self::INFINITY
        }
    }

    /// The exact value of an integer (as `(long double)ll` in C: every `i64` is exact).
    pub fn from_i64(v: i64) -> LongDouble {
        round_pack(v < 0, u128::from(v.unsigned_abs()), false, 0)
    }

    pub fn is_finite(self) -> bool {
        self.kind == Kind::Finite
    }

    pub fn is_nan(self) -> bool {
        self.kind == Kind::Nan
    }

    pub fn is_infinite(self) -> bool {
        self.kind == Kind::Inf
    }

    pub fn is_sign_negative(self) -> bool {
        self.neg
    }

    /// The 80-bit x87 memory image: sign in bit 79, biased exponent in bits 64..79, mantissa
    /// (with its explicit integer bit) in bits 0..64. NaN is the default quiet NaN pattern.
    pub fn to_bits(self) -> u128 {
        let sign = u128::from(self.neg) << 79;
        match self.kind {
            Kind::Inf => sign | (0x7fff << 64) | (1 << 63),
            Kind::Nan => sign | (0x7fff << 64) | (3 << 62),
            Kind::Finite => {
                let field = if self.mant >> 63 == 1 {
                    (i64::from(self.exp) + FIELD_BIAS) as u128
                } else {
                    0 // zero or subnormal
                };
                sign | (field << 64) | u128::from(self.mant)
            }
        }
    }

    /// Parses like Redis's `string2ld`: C `strtold` (C locale) over the whole input, with
    /// `None` for empty input, `MAX_LONG_DOUBLE_CHARS` bytes or more, a leading blank,
    /// anything `strtold` does not consume, NaN, and `ERANGE` results that are infinite
    /// (overflow) or zero (underflow). Subnormal results are kept, as `string2ld` does.
    /// `inf`/`infinity` (any case, optional sign) are accepted.
    pub fn parse(s: &[u8]) -> Option<LongDouble> {
        if s.is_empty() || s.len() >= MAX_LONG_DOUBLE_CHARS {
            return None;
        }
        // `isspace` in the C locale. The grammar below rejects them too; kept for clarity.
        if matches!(s[0], b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r') {
            return None;
        }
        let (neg, body) = match s[0] {
            b'-' => (true, &s[1..]),
            b'+' => (false, &s[1..]),
            _ => (false, s),
        };
        if body.eq_ignore_ascii_case(b"inf") || body.eq_ignore_ascii_case(b"infinity") {
            return Some(Self::inf(neg));
        }
        // NaN ("nan", "nan(...)") parses but `string2ld` rejects it, and anything else that
        // starts with a letter is not a number: both fail the grammars below. So does "0x"
        // without hex digits (`strtold` would stop after the "0").
        if body.len() > 2 && body[0] == b'0' && (body[1] | 0x20) == b'x' {
            parse_hex(neg, &body[2..])
        } else {
            parse_decimal(neg, body)
        }
    }

    /// `self + other`, rounded to nearest (ties to even) at 64 mantissa bits, with IEEE rules
    /// for infinities, NaN and signed zeros (round-to-nearest mode: `x + -x == +0`).
    #[allow(clippy::should_implement_trait)] // the name the callers and the spec use
    pub fn add(self, other: LongDouble) -> LongDouble {
        match (self.kind, other.kind) {
            (Kind::Nan, _) => return self,
            (_, Kind::Nan) => return other,
            (Kind::Inf, Kind::Inf) => {
                return if self.neg == other.neg {
                    self
                } else {
                    LongDouble::NAN
                };
            }
            (Kind::Inf, _) => return self,
            (_, Kind::Inf) => return other,
            (Kind::Finite, Kind::Finite) => {}
        }
        if self.mant == 0 && other.mant == 0 {
            return Self::zero(self.neg && other.neg);
        }
        if other.mant == 0 {
            return self;
        }
        if self.mant == 0 {
            return other;
        }
        let (x, y) = if self.exp >= other.exp {
            (self, other)
        } else {
            (other, self)
        };
        let d = i64::from(x.exp) - i64::from(y.exp);
        // Both operands as integers over a common exponent `base`. Up to 62 bits apart this is
        // exact (126 bits at most). Further apart, `x` is normal (only the minimum exponent
        // holds subnormals) and `y` is far below its rounding position: `y` keeps 64 bits below
        // `x`'s and what falls off is folded into the lowest bit (sticky), which rounds the
        // same way since the rounding position is 60 bits higher.
        let (xi, yi, base) = if d <= 62 {
            (
                u128::from(x.mant) << d,
                u128::from(y.mant),
                i64::from(y.exp),
            )
        } else {
            let s = d - 62;
            let (kept, lost) = if s >= 64 {
                (0, y.mant != 0)
            } else {
                (y.mant >> s, y.mant & ((1u64 << s) - 1) != 0)
            };
            (
                u128::from(x.mant) << 62,
                u128::from(kept | u64::from(lost)),
                i64::from(x.exp) - 62,
            )
        };
        if x.neg == y.neg {
            round_pack(x.neg, xi + yi, false, base)
        } else {
            match xi.cmp(&yi) {
                Ordering::Equal => Self::ZERO,
                Ordering::Greater => round_pack(x.neg, xi - yi, false, base),
                Ordering::Less => round_pack(y.neg, yi - xi, false, base),
            }
        }
    }

    /// `printf("%.17Lf")` as glibc prints it: the exact decimal expansion of the value, rounded
    /// to 17 fractional digits half to even. Infinite and NaN values print as glibc does
    /// (`inf`, `-inf`, `nan`, `-nan`).
    pub fn to_fixed17(self) -> String {
        let sign = if self.neg { "-" } else { "" };
        match self.kind {
            Kind::Inf => return format!("{sign}inf"),
            Kind::Nan => return format!("{sign}nan"),
            Kind::Finite => {}
        }
        let mut out = String::from(sign);
        if self.exp >= 0 {
            let int = Big::from_u128(u128::from(self.mant)).shl(self.exp as u64);
            out.push_str(&int.to_decimal());
            out.push('.');
            out.push_str(&"0".repeat(17));
            return out;
        }
        // value * 1e17 = mant * 1e17 / 2^s, with mant * 1e17 < 2^121.
        let s = u32::try_from(-i64::from(self.exp)).unwrap_or(u32::MAX);
        let n = u128::from(self.mant) * 100_000_000_000_000_000u128;
        let q = if s >= 122 {
            0 // n < 2^121 <= half of 2^s: rounds to zero
        } else {
            let q = n >> s;
            let rem = n & ((1u128 << s) - 1);
            let half = 1u128 << (s - 1);
            if rem > half || (rem == half && q & 1 == 1) {
                q + 1
            } else {
                q
            }
        };
        let digits = format!("{q:018}");
        let (int, frac) = digits.split_at(digits.len() - 17);
        out.push_str(int);
        out.push('.');
        out.push_str(frac);
        out
    }

    /// Redis's `ld2string(..., LD_STR_HUMAN)`: `%.17Lf`, then trailing zeros and a trailing
    /// '.' removed, and `-0` printed as `0`. Infinite values print `inf` / `-inf`.
    pub fn to_human_string(self) -> String {
        match self.kind {
            Kind::Inf => return if self.neg { "-inf" } else { "inf" }.to_string(),
            Kind::Nan => return self.to_fixed17(),
            Kind::Finite => {}
        }
        let mut s = self.to_fixed17();
        if s.contains('.') {
            let kept = s.trim_end_matches('0').len();
            s.truncate(kept);
            if s.ends_with('.') {
                s.pop();
            }
        }
        if s == "-0" {
            s = "0".to_string();
        }
        s
    }
}

/// Rounds `q * 2^e2` (plus less than one unit of `q` when `sticky`; callers only set `sticky`
/// with `q >= 2^65`) to the x87 format, nearest-even, with gradual underflow and overflow to
/// infinity. A zero result keeps the sign.
fn round_pack(neg: bool, q: u128, sticky: bool, e2: i64) -> LongDouble {
    if q == 0 {
        return LongDouble::zero(neg);
    }
    let bits = i64::from(128 - q.leading_zeros());
    let mut shift = bits - 64;
    if e2 + shift < MIN_EXP {
        shift = MIN_EXP - e2;
    }
    let mut exp = e2 + shift;
    let mant: u64 = if shift <= 0 {
        // Exact: at most 64 significant bits (shift >= -63 here).
        (q << (-shift) as u32) as u64
    } else if shift >= 129 {
        0 // q + fraction < 2^128 <= half a unit
    } else if shift == 128 {
        let half = 1u128 << 127;
        u64::from(q > half || (q == half && sticky))
    } else {
        let sh = shift as u32;
        let m = q >> sh;
        let rem = q & ((1u128 << sh) - 1);
        let half = 1u128 << (sh - 1);
        let up = rem > half || (rem == half && (sticky || m & 1 == 1));
        let m = m + u128::from(up);
        if m >> 64 != 0 {
            exp += 1;
            1u64 << 63
        } else {
            m as u64
        }
    };
    if mant == 0 {
        return LongDouble::zero(neg);
    }
    if exp > MAX_EXP {
        return LongDouble::inf(neg);
    }
    LongDouble {
        neg,
        kind: Kind::Finite,
        exp: exp as i32,
        mant,
    }
}

/// Rounds `n * 2^e2` to the x87 format.
fn round_big(neg: bool, n: &Big, e2: i64) -> LongDouble {
    let bits = n.bit_len();
    if bits <= 128 {
        return round_pack(neg, n.low_u128(), false, e2);
    }
    let lo = bits - 66;
    round_pack(neg, n.bits_at(lo), n.any_below(lo), e2 + lo as i64)
}

/// What `strtold` returned, seen through `string2ld`'s range checks: overflow to infinity and
/// underflow to zero are `ERANGE` results Redis rejects.
fn accept_rounded(v: LongDouble) -> Option<LongDouble> {
    if v.is_infinite() || v.mant == 0 {
        None
    } else {
        Some(v)
    }
}

/// Reads an exponent's digits, saturating at `EXP_CLAMP`. `None` without any digit.
fn parse_exponent(s: &[u8]) -> Option<i64> {
    let (neg, digits) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut e: i64 = 0;
    for &c in digits {
        e = (e * 10 + i64::from(c - b'0')).min(EXP_CLAMP);
    }
    Some(if neg { -e } else { e })
}

/// Splits `mantissa[exponent]` at the exponent marker and checks the mantissa's shape:
/// digits with at most one '.', at least one digit. Returns (integer digits, fraction digits,
/// exponent).
fn split_number(s: &[u8], is_digit: fn(&u8) -> bool, marker: u8) -> Option<(&[u8], &[u8], i64)> {
    let (mant, exp) = match s.iter().position(|c| c | 0x20 == marker) {
        Some(i) => (&s[..i], parse_exponent(&s[i + 1..])?),
        None => (s, 0),
    };
    let (int, frac) = match mant.iter().position(|&c| c == b'.') {
        Some(i) => (&mant[..i], &mant[i + 1..]),
        None => (mant, &mant[..0]),
    };
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    if !int.iter().all(is_digit) || !frac.iter().all(is_digit) {
        return None;
    }
    Some((int, frac, exp))
}

/// A decimal number: `digits [. digits] [e [sign] digits]` (with `.5` and `5.` allowed).
fn parse_decimal(neg: bool, s: &[u8]) -> Option<LongDouble> {
    let (int, frac, exp) = split_number(s, u8::is_ascii_digit, b'e')?;
    // Significant digits (no leading zeros, no trailing zeros) and the power of ten that
    // scales them: value = digits * 10^exp10.
    let all = || int.iter().chain(frac.iter());
    let Some(first) = all().position(|&c| c != b'0') else {
        return Some(LongDouble::zero(neg)); // an exact zero: no ERANGE, sign kept
    };
    let total = int.len() + frac.len();
    let last = total - all().rev().position(|&c| c != b'0').unwrap_or(0);
    let nd = (last - first) as i64;
    // The digit at position `last - 1` has weight 10^(int.len() - last).
    let exp10 = exp + int.len() as i64 - last as i64;
    if exp10 + nd > DEC_OVERFLOW {
        return None; // >= 10^4933: overflows to infinity (ERANGE)
    }
    if exp10 + nd <= DEC_UNDERFLOW {
        return None; // < 10^-4951: rounds to zero (ERANGE)
    }
    let mut m = Big::zero();
    let mut chunk = 0u32;
    let mut chunk_len = 0;
    for &c in all().skip(first).take(last - first) {
        chunk = chunk * 10 + u32::from(c - b'0');
        chunk_len += 1;
        if chunk_len == 9 {
            m.mul_add_small(1_000_000_000, chunk);
            chunk = 0;
            chunk_len = 0;
        }
    }
    if chunk_len > 0 {
        m.mul_add_small(10u32.pow(chunk_len), chunk);
    }
    let v = if exp10 >= 0 {
        m.mul_pow10(exp10 as u64);
        round_big(neg, &m, 0)
    } else {
        // digits / 10^k = digits / 5^k * 2^-k. Scale so the quotient has 66 or 67 bits; the
        // remainder only matters as a sticky bit.
        let k = (-exp10) as u64;
        let mut den = Big::from_u128(1);
        den.mul_pow5(k);
        let s = 66 + den.bit_len() as i64 - m.bit_len() as i64;
        let (num, den) = if s >= 0 {
            (m.shl(s as u64), den)
        } else {
            (m, den.shl((-s) as u64))
        };
        let (q, rest) = num.div_small_quotient(&den);
        round_pack(neg, q, rest, -s - k as i64)
    };
    accept_rounded(v)
}

/// A hexadecimal number after its `0x`: `hexdigits [. hexdigits] [p [sign] digits]`.
fn parse_hex(neg: bool, s: &[u8]) -> Option<LongDouble> {
    let (int, frac, exp) = split_number(s, u8::is_ascii_hexdigit, b'p')?;
    let all = || int.iter().chain(frac.iter());
    let Some(first) = all().position(|&c| c != b'0') else {
        return Some(LongDouble::zero(neg));
    };
    let mut m = Big::zero();
    let mut chunk = 0u32;
    let mut chunk_len = 0;
    for &c in all().skip(first) {
        let d = (c as char).to_digit(16).unwrap_or(0);
        chunk = (chunk << 4) | d;
        chunk_len += 1;
        if chunk_len == 7 {
            m.mul_add_small(1 << 28, chunk);
            chunk = 0;
            chunk_len = 0;
        }
    }
    if chunk_len > 0 {
        m.mul_add_small(1 << (4 * chunk_len), chunk);
    }
    let e2 = exp - 4 * frac.len() as i64;
    let bits = m.bit_len() as i64;
    // value in [2^(bits-1+e2), 2^(bits+e2)).
    if bits - 1 + e2 >= 16384 {
        return None; // overflow (ERANGE)
    }
    if bits + e2 < MIN_EXP {
        return None; // below half the smallest subnormal: zero (ERANGE)
    }
    accept_rounded(round_big(neg, &m, e2))
}

/// A small unsigned big integer: little-endian 32-bit limbs, no high zero limbs.
#[derive(Clone, Debug)]
struct Big(Vec<u32>);

impl Big {
    fn zero() -> Big {
        Big(Vec::new())
    }

    fn from_u128(mut v: u128) -> Big {
        let mut limbs = Vec::new();
        while v != 0 {
            limbs.push(v as u32);
            v >>= 32;
        }
        Big(limbs)
    }

    fn trim(&mut self) {
        while self.0.last() == Some(&0) {
            self.0.pop();
        }
    }

    fn is_zero(&self) -> bool {
        self.0.is_empty()
    }

    fn bit_len(&self) -> u64 {
        match self.0.last() {
            None => 0,
            Some(&top) => self.0.len() as u64 * 32 - u64::from(top.leading_zeros()),
        }
    }

    /// self = self * mul + add
    fn mul_add_small(&mut self, mul: u32, add: u32) {
        let mut carry = u64::from(add);
        for limb in self.0.iter_mut() {
            let v = u64::from(*limb) * u64::from(mul) + carry;
            *limb = v as u32;
            carry = v >> 32;
        }
        if carry != 0 {
            self.0.push(carry as u32);
        }
        self.trim();
    }

    fn mul_pow5(&mut self, mut k: u64) {
        const P13: u32 = 1_220_703_125; // 5^13
        while k >= 13 {
            self.mul_add_small(P13, 0);
            k -= 13;
        }
        if k > 0 {
            self.mul_add_small(5u32.pow(k as u32), 0);
        }
    }

    fn mul_pow10(&mut self, k: u64) {
        self.mul_pow5(k);
        *self = self.shl(k);
    }

    fn shl(&self, bits: u64) -> Big {
        if self.is_zero() {
            return Big::zero();
        }
        let limbs = (bits / 32) as usize;
        let b = (bits % 32) as u32;
        let mut out = vec![0u32; limbs];
        out.reserve(self.0.len() + 1);
        if b == 0 {
            out.extend_from_slice(&self.0);
        } else {
            let mut carry = 0u32;
            for &limb in &self.0 {
                out.push((limb << b) | carry);
                carry = limb >> (32 - b);
            }
            out.push(carry);
        }
        let mut r = Big(out);
        r.trim();
        r
    }

    fn shr1(&mut self) {
        let mut carry = 0u32;
        for limb in self.0.iter_mut().rev() {
            let next = *limb & 1;
            *limb = (*limb >> 1) | (carry << 31);
            carry = next;
        }
        self.trim();
    }

    fn cmp(&self, other: &Big) -> Ordering {
        self.0
            .len()
            .cmp(&other.0.len())
            .then_with(|| self.0.iter().rev().cmp(other.0.iter().rev()))
    }

    /// self -= other, for self >= other.
    fn sub_assign(&mut self, other: &Big) {
        let mut borrow = 0i64;
        for (i, limb) in self.0.iter_mut().enumerate() {
            let o = other.0.get(i).copied().unwrap_or(0);
            let v = i64::from(*limb) - i64::from(o) - borrow;
            if v < 0 {
                *limb = (v + (1i64 << 32)) as u32;
                borrow = 1;
            } else {
                *limb = v as u32;
                borrow = 0;
            }
            if i >= other.0.len() && borrow == 0 {
                break;
            }
        }
        self.trim();
    }

    /// Bit `i` (0 = least significant).
    fn bit(&self, i: u64) -> bool {
        self.0
            .get((i / 32) as usize)
            .is_some_and(|l| (l >> (i % 32)) & 1 == 1)
    }

    /// The bits `lo..lo + 128` as a number.
    fn bits_at(&self, lo: u64) -> u128 {
        let mut v = 0u128;
        for i in (0..128).rev() {
            v = (v << 1) | u128::from(self.bit(lo + i));
        }
        v
    }

    fn low_u128(&self) -> u128 {
        self.bits_at(0)
    }

    /// Whether any bit below `lo` is set.
    fn any_below(&self, lo: u64) -> bool {
        let full = (lo / 32) as usize;
        if self.0.iter().take(full).any(|&l| l != 0) {
            return true;
        }
        let part = lo % 32;
        part != 0
            && self
                .0
                .get(full)
                .is_some_and(|&l| l & ((1u32 << part) - 1) != 0)
    }

    /// `(self / den, self % den != 0)` for a quotient known to be below 2^68.
    fn div_small_quotient(mut self, den: &Big) -> (u128, bool) {
        let mut d = den.shl(67);
        let mut q = 0u128;
        for i in (0..=67).rev() {
            if self.cmp(&d) != Ordering::Less {
                self.sub_assign(&d);
                q |= 1u128 << i;
            }
            d.shr1();
        }
        (q, !self.is_zero())
    }

    fn to_decimal(&self) -> String {
        if self.is_zero() {
            return "0".to_string();
        }
        let mut n = self.clone();
        let mut chunks = Vec::new();
        while !n.is_zero() {
            let mut rem = 0u64;
            for limb in n.0.iter_mut().rev() {
                let v = (rem << 32) | u64::from(*limb);
                *limb = (v / 1_000_000_000) as u32;
                rem = v % 1_000_000_000;
            }
            n.trim();
            chunks.push(rem as u32);
        }
        let mut s = String::with_capacity(chunks.len() * 9);
        let mut iter = chunks.iter().rev();
        if let Some(top) = iter.next() {
            s.push_str(&top.to_string());
        }
        for c in iter {
            s.push_str(&format!("{c:09}"));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> LongDouble {
        LongDouble::parse(s.as_bytes()).unwrap_or_else(|| panic!("{s:?} should parse"))
    }

    fn human(s: &str) -> String {
        p(s).to_human_string()
    }

    fn sum(a: &str, b: &str) -> String {
        p(a).add(p(b)).to_human_string()
    }

    #[test]
    fn bit_patterns() {
        assert_eq!(p("0.1").to_bits(), 0x3ffb_cccc_cccc_cccc_cccd);
        assert_eq!(p("1").to_bits(), 0x3fff_8000_0000_0000_0000);
        assert_eq!(p("-2").to_bits(), 0xc000_8000_0000_0000_0000);
        assert_eq!(p("0").to_bits(), 0);
        assert_eq!(p("-0").to_bits(), 1 << 79);
        assert_eq!(p("inf").to_bits(), 0x7fff_8000_0000_0000_0000);
        // LDBL_MAX, LDBL_MIN, LDBL_TRUE_MIN
        assert_eq!(
            p("0x1.fffffffffffffffep16383").to_bits(),
            0x7ffe_ffff_ffff_ffff_ffff
        );
        assert_eq!(p("0x1p-16382").to_bits(), 0x0001_8000_0000_0000_0000);
        assert_eq!(p("0x1p-16445").to_bits(), 1);
        assert_eq!(p("3.6451995318824746025e-4951").to_bits(), 1);
        assert_eq!(
            LongDouble::from_i64(i64::MIN).to_bits(),
            0xc03e_8000_0000_0000_0000
        );
    }

    #[test]
    fn fixed17_exact_expansion() {
        assert_eq!(p("0.1").to_fixed17(), "0.10000000000000000");
        assert_eq!(
            p("1000").add(p("0.1")).to_fixed17(),
            "1000.09999999999999998"
        );
        assert_eq!(p("-0").to_fixed17(), "-0.00000000000000000");
        // 2^-18 = 0.000003814697265625: a tie at the 18th digit, kept even.
        assert_eq!(p("0x1p-18").to_fixed17(), "0.00000381469726562");
        // 3 * 2^-18 = 0.000011444091796875: a tie rounding up to even.
        assert_eq!(p("0x3p-18").to_fixed17(), "0.00001144409179688");
        assert_eq!(p("1e-18").to_fixed17(), "0.00000000000000000");
        // 5e-18 is stored a little below 5e-18: no tie, rounds down.
        assert_eq!(p("5e-18").to_fixed17(), "0.00000000000000000");
        assert_eq!(p("6e-18").to_fixed17(), "0.00000000000000001");
        assert_eq!(p("-4e-18").to_fixed17(), "-0.00000000000000000");
    }

    #[test]
    fn human_strings() {
        assert_eq!(human("0.1"), "0.1");
        assert_eq!(human("5.0e3"), "5000");
        assert_eq!(human("1.25e-3"), "0.00125");
        assert_eq!(human("-0"), "0");
        assert_eq!(human("-1e-30"), "0");
        assert_eq!(human("1e-30"), "0");
        assert_eq!(human("-1.5"), "-1.5");
        // 30 digits do not fit 64 bits: the nearest value is printed exactly.
        assert_eq!(
            human("123456789012345678901234567890"),
            "123456789012345678899921813504"
        );
        assert_eq!(human("0x10"), "16");
        assert_eq!(human("0x.8"), "0.5");
        assert_eq!(human("0X1P-2"), "0.25");
        assert_eq!(human("inf"), "inf");
        assert_eq!(human("-Infinity"), "-inf");
        assert_eq!(human("1."), "1");
        assert_eq!(human(".5"), "0.5");
        assert_eq!(human("+.5e1"), "5");
        assert_eq!(human("1e20"), "100000000000000000000");
    }

    #[test]
    fn sums() {
        assert_eq!(sum("0.1", "0.2"), "0.3");
        let v = p("0.1").add(p("0.2")).add(p("1.1"));
        assert_eq!(v.to_human_string(), "1.4");
        assert_eq!(sum("1000", "0.1"), "1000.09999999999999998");
        assert_eq!(sum("10.5", "0.1"), "10.6");
        assert_eq!(sum("3", "-5.5"), "-2.5");
        assert_eq!(sum("0.1", "-0.1"), "0");
        assert_eq!(p("0.1").add(p("-0.1")).to_bits(), 0);
        assert_eq!(p("-0").add(p("-0")).to_bits(), 1 << 79);
        assert_eq!(p("0").add(p("-0")).to_bits(), 0);
        let big = p("1e308").add(p("1e308"));
        let text = big.to_human_string();
        assert_eq!(text.len(), 309);
        // 1e308 is stored a little below 1e308.
        assert!(
            text.starts_with("1999999999999999999933717593116912913211"),
            "{text}"
        );
        assert!(text.ends_with("092687857156096"), "{text}");
        // 2e308 rounded to 64 bits: an exact integer, printed in full.
        assert_eq!(
            text,
            big.to_fixed17().trim_end_matches(".00000000000000000")
        );
        assert_eq!(big, p("2e308"));
        assert_eq!(sum("1e4932", "1e4932"), "inf");
        assert!(p("inf").add(p("-inf")).is_nan());
        assert!(!p("inf").add(p("1")).is_finite());
        // Far-apart operands: the small one only rounds.
        assert_eq!(sum("1e25", "1e-30"), "10000000000000000000000000"); // 1e25 is exact
        assert_eq!(p("1e30").add(p("-1e-30")), p("1e30"));
        assert_eq!(sum("1e30", "1e-30"), "1000000000000000000024696061952");
        assert_eq!(p("1").add(p("0x1p-64")), p("1")); // tie, even
        assert_eq!(p("1").add(p("0x1.0001p-64")), p("0x1.0000000000000002p0"));
        assert_eq!(p("1").add(p("-0x1p-65")), p("1")); // tie below 1, even
        assert_eq!(p("1").add(p("-0x1.0001p-65")), p("0x1.fffffffffffffffep-1"));
        // Subnormals add exactly.
        assert_eq!(p("0x1p-16445").add(p("0x1p-16445")).to_bits(), 2);
        assert_eq!(
            p("0x1p-16382").add(p("-0x1p-16445")).to_bits(),
            0x0000_7fff_ffff_ffff_ffff
        );
    }

    #[test]
    fn rounding_of_decimal_input() {
        // Halfway cases between 1 and its successor (2^-63 apart).
        assert_eq!(
            p("1.000000000000000000054210108624275221700372640043497085571289062"),
            p("1")
        );
        assert_eq!(
            p("1.0000000000000000000542101086242752217003726400434970855712890625001"),
            p("0x1.0000000000000002p0")
        );
        assert_eq!(
            p("1.0000000000000000001626303258728256651011179201304912567138671875"),
            p("0x1.0000000000000004p0")
        );
        // Many digits.
        let long = format!("0.{}1", "0".repeat(4000));
        assert!(LongDouble::parse(long.as_bytes()).is_some()); // 1e-4001
        let long = format!("{}e-4000", "1".repeat(4500));
        assert_eq!(human(&long).len(), 500);
    }

    #[test]
    fn range_limits() {
        assert!(LongDouble::parse(b"1e4932").is_some());
        assert_eq!(LongDouble::parse(b"1.2e4932"), None); // > LDBL_MAX
        assert_eq!(LongDouble::parse(b"1e4933"), None);
        assert_eq!(LongDouble::parse(b"1e999999999999999999999999"), None);
        assert_eq!(LongDouble::parse(b"-1e999999999"), None);
        assert_eq!(LongDouble::parse(b"1e-999999999999999999999"), None);
        assert_eq!(LongDouble::parse(b"1e-4952"), None); // rounds to zero
        assert_eq!(LongDouble::parse(b"1.8e-4951"), None); // just under half the minimum
        assert_eq!(p("1.9e-4951").to_bits(), 1); // just over half: the minimum subnormal
        assert_eq!(p("1e-4940").to_human_string(), "0");
        assert_eq!(p("0e999999999999").to_bits(), 0);
        assert_eq!(p("-0.000e-999999").to_bits(), 1 << 79);
        assert_eq!(LongDouble::parse(b"0x1p16384"), None);
        assert!(LongDouble::parse(b"0x1.fffffffffffffffep16383").is_some());
        assert_eq!(LongDouble::parse(b"0x1.ffffffffffffffffp16383"), None); // rounds up to inf
        assert_eq!(LongDouble::parse(b"0x1p-16446"), None); // exact tie with 0: even = 0
        assert_eq!(p("0x1.0000001p-16446").to_bits(), 1);
        assert_eq!(LongDouble::parse(b"0x1p-99999999999999999999"), None);
        // Exponents with a huge compensating digit string.
        let s = format!("0.{}1e4000", "0".repeat(3990));
        assert_eq!(human(&s), "1000000000");
        // The largest output: LDBL_MAX in full.
        let max = p("0x1.fffffffffffffffep16383").to_human_string();
        assert_eq!(max.len(), 4933);
        assert!(max.starts_with("118973149535723176502"), "{}", &max[..30]);
    }

    #[test]
    fn rejections() {
        let too_long = "1".repeat(MAX_LONG_DOUBLE_CHARS);
        let just_fits = format!("0.{}", "1".repeat(MAX_LONG_DOUBLE_CHARS - 3));
        assert!(LongDouble::parse(just_fits.as_bytes()).is_some());
        assert_eq!(LongDouble::parse(too_long.as_bytes()), None);
        for bad in [
            "",
            " 1",
            "\t1",
            "\n1",
            "\x0b1",
            "\x0c1",
            "\r1",
            "1 ",
            "1\0",
            "1x",
            "abc",
            "nan",
            "NaN",
            "-nan",
            "nan(123)",
            "+",
            "-",
            ".",
            "e5",
            ".e5",
            "1e",
            "1e+",
            "1e-",
            "1.2.3",
            "1e5.5",
            "--1",
            "+-1",
            "0x",
            "0x.",
            "0xg",
            "0x1p",
            "0x1p+",
            "0x1.2.3",
            "1p5",
            "inf ",
            "infinit",
            "infinityy",
            "- 1",
            "1_000",
            "١",
            "1e0x1",
        ] {
            assert_eq!(LongDouble::parse(bad.as_bytes()), None, "{bad:?}");
        }
    }

    #[test]
    fn hostile_inputs_never_panic() {
        // A fixed pseudo-random walk over short strings of number-ish bytes, and the sums and
        // printouts of whatever parses (extremes included).
        let alphabet = b"0123456789.eEpPxX+-infINF \t\x00\xff";
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut values = vec![
            p("0x1.fffffffffffffffep16383"),
            p("-0x1.fffffffffffffffep16383"),
            p("0x1p-16445"),
            p("-0x1p-16445"),
            p("-0"),
            p("inf"),
            p("-inf"),
        ];
        for _ in 0..20_000 {
            let len = (next() % 12) as usize;
            let s: Vec<u8> = (0..len)
                .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                .collect();
            if let Some(v) = LongDouble::parse(&s) {
                values.push(v);
            }
        }
        for e in [-99999i64, -16500, -5000, 0, 4931, 4932, 99999] {
            for mant in ["9", "1", "9".repeat(300).as_str()] {
                let _ = LongDouble::parse(format!("{mant}e{e}").as_bytes());
            }
        }
        let n = values.len();
        for i in 0..n {
            let v = values[i].add(values[(i * 7 + 3) % n]);
            let _ = v.to_human_string();
            assert!(v.is_nan() || v.is_finite() || v.to_human_string().ends_with("inf"));
        }
        assert!(n > 1000, "{n}");
    }

    #[test]
    fn hex_inputs() {
        assert_eq!(human("0x1e"), "30");
        assert_eq!(human("0x1E"), "30");
        assert_eq!(human("0x1p+3"), "8");
        assert_eq!(human("-0x1.8p1"), "-3");
        assert_eq!(human("0x1."), "1");
        assert_eq!(human("0x0.1p4"), "1");
        assert_eq!(p("0x0"), p("0"));
        assert_eq!(p("-0x0p99"), p("-0"));
        // 65 significant bits: rounds to even.
        assert_eq!(p("0x1.00000000000000008p0"), p("1"));
        assert_eq!(p("0x1.00000000000000018p0"), p("0x1.0000000000000002p0"));
        assert_eq!(
            p("0x1.000000000000000080000001p0"),
            p("0x1.0000000000000001p0")
        );
    }
}
