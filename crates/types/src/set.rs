//! Set values, with Redis's (Valkey 8's) three encodings: `intset` (sorted integers),
//! `listpack` (short vector of small strings) and `hashtable` ([`SegMap`] of [`Blob`]s).
//! Conversions follow `setTypeAddAux`: an intset takes a non-integer by becoming a listpack if
//! it stays within the listpack limits, else a hashtable; conversions never go back down.

use std::borrow::Cow;

use crate::blob::Blob;
use crate::rand::Rng;
use crate::segmap::{SegItem, SegMap};

impl SegItem for Blob {
    fn seg_key(&self) -> &[u8] {
        self.as_bytes()
    }

    fn prefetch(&self) {
        Blob::prefetch(self)
    }
}

/// `set-max-intset-entries`, `set-max-listpack-entries`, `set-max-listpack-value`.
#[derive(Clone, Copy, Debug)]
pub struct SetLimits {
    pub max_intset_entries: usize,
    pub max_listpack_entries: usize,
    pub max_listpack_value: usize,
}

impl Default for SetLimits {
    fn default() -> Self {
        SetLimits {
            max_intset_entries: 512,
            max_listpack_entries: 128,
            max_listpack_value: 64,
        }
    }
}

#[derive(Clone, Debug)]
pub enum Set {
    Intset(Vec<i64>),
    Listpack(Vec<Blob>),
    Table(SegMap<Blob>),
}

/// Parses a set member as Redis's intset does (`string2ll`).
fn as_int(member: &[u8]) -> Option<i64> {
    resp_int(member)
}

/// Redis's strict decimal integer syntax (no `+`, no leading zeros, no spaces).
pub fn resp_int(s: &[u8]) -> Option<i64> {
    let (neg, digits) = match s {
        [b'-', rest @ ..] => (true, rest),
        _ => (false, s),
    };
    if digits.is_empty() || digits.len() > 19 || (digits[0] == b'0' && (digits.len() > 1 || neg)) {
        return None;
    }
    let mut v: u64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add((c - b'0') as u64)?;
    }
    if neg {
        (v <= i64::MAX as u64 + 1).then(|| (v as i64).wrapping_neg())
    } else {
        i64::try_from(v).ok()
    }
}

/// Length of the decimal text of `v` (sign included).
fn digits10(v: i64) -> usize {
    v.to_string().len()
}

impl Set {
    /// The encoding a new set starts with, given its first member and how many will be added
    /// (`setTypeCreate`).
    pub fn with_first(first: &[u8], size_hint: usize, limits: SetLimits) -> Set {
        if as_int(first).is_some() && size_hint <= limits.max_intset_entries {
            Set::Intset(Vec::new())
        } else if size_hint <= limits.max_listpack_entries {
            Set::Listpack(Vec::new())
        } else {
            Set::Table(SegMap::new())
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Set::Intset(v) => v.len(),
            Set::Listpack(v) => v.len(),
            Set::Table(m) => m.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn encoding(&self) -> &'static str {
        match self {
            Set::Intset(_) => "intset",
            Set::Listpack(_) => "listpack",
            Set::Table(_) => "hashtable",
        }
    }

    pub fn contains(&self, member: &[u8]) -> bool {
        match self {
            Set::Intset(v) => as_int(member).is_some_and(|i| v.binary_search(&i).is_ok()),
            Set::Listpack(v) => v.iter().any(|b| b.as_bytes() == member),
            Set::Table(m) => m.contains_key(member),
        }
    }

    /// Adds `member`; returns true if it was not present.
    pub fn add(&mut self, member: &[u8], limits: SetLimits) -> bool {
        match self {
            Set::Intset(v) => {
                if let Some(i) = as_int(member) {
                    let Err(pos) = v.binary_search(&i) else {
                        return false;
                    };
                    v.insert(pos, i);
                    if v.len() > limits.max_intset_entries {
                        self.convert_to_table();
                    }
                    return true;
                }
                let max_len = match (v.first(), v.last()) {
                    (Some(&lo), Some(&hi)) => digits10(lo).max(digits10(hi)),
                    _ => 0,
                };
                if v.len() < limits.max_listpack_entries
                    && member.len() <= limits.max_listpack_value
                    && max_len <= limits.max_listpack_value
                {
                    let mut lp: Vec<Blob> = v
                        .iter()
                        .map(|i| Blob::new(i.to_string().as_bytes()))
                        .collect();
                    lp.push(Blob::new(member));
                    *self = Set::Listpack(lp);
                } else {
                    self.convert_to_table();
                    self.add(member, limits);
                }
                true
            }
            Set::Listpack(v) => {
                if v.iter().any(|b| b.as_bytes() == member) {
                    return false;
                }
                if v.len() < limits.max_listpack_entries
                    && member.len() <= limits.max_listpack_value
                {
                    v.push(Blob::new(member));
                } else {
                    self.convert_to_table();
                    self.add(member, limits);
                }
                true
            }
            Set::Table(m) => {
                if m.contains_key(member) {
                    return false;
                }
                m.insert_new(Blob::new(member));
                true
            }
        }
    }

    /// Removes `member`; returns true if it was present.
    pub fn remove(&mut self, member: &[u8]) -> bool {
        match self {
            Set::Intset(v) => match as_int(member).map(|i| v.binary_search(&i)) {
                Some(Ok(pos)) => {
                    v.remove(pos);
                    true
                }
                _ => false,
            },
            // Ordered removal: a listpack keeps its order after a delete (SMEMBERS shows it).
            Set::Listpack(v) => match v.iter().position(|b| b.as_bytes() == member) {
                Some(pos) => {
                    v.remove(pos);
                    true
                }
                None => false,
            },
            Set::Table(m) => m.remove(member).is_some(),
        }
    }

    /// `setTypeMaybeConvert`: before adding about `size_hint` members, a compact set that could
    /// not hold that many becomes a hashtable (even if some members turn out to be present).
    pub fn maybe_convert(&mut self, size_hint: usize, limits: SetLimits) {
        let too_many = match self {
            Set::Intset(_) => size_hint > limits.max_intset_entries,
            Set::Listpack(_) => size_hint > limits.max_listpack_entries,
            Set::Table(_) => false,
        };
        if too_many {
            self.convert_to_table();
        }
    }

    /// Converts to the hashtable encoding (also used when a command builds a large result).
    pub fn convert_to_table(&mut self) {
        let members: Vec<Blob> = match self {
            Set::Table(_) => return,
            Set::Intset(v) => v
                .iter()
                .map(|i| Blob::new(i.to_string().as_bytes()))
                .collect(),
            Set::Listpack(v) => std::mem::take(v),
        };
        let mut m = SegMap::new();
        for b in members {
            m.insert_new(b);
        }
        *self = Set::Table(m);
    }

    /// Calls `f` with every member (integers formatted as text).
    pub fn for_each(&self, mut f: impl FnMut(&[u8])) {
        match self {
            Set::Intset(v) => v.iter().for_each(|i| f(i.to_string().as_bytes())),
            Set::Listpack(v) => v.iter().for_each(|b| f(b)),
            Set::Table(m) => m.iter().for_each(|b| f(b)),
        }
    }

    /// Iterates the members in encoding order (an intset's integers formatted as text).
    pub fn iter(&self) -> Box<dyn Iterator<Item = Cow<'_, [u8]>> + '_> {
        match self {
            Set::Intset(v) => Box::new(v.iter().map(|i| Cow::Owned(i.to_string().into_bytes()))),
            Set::Listpack(v) => Box::new(v.iter().map(|b| Cow::Borrowed(b.as_bytes()))),
            Set::Table(m) => Box::new(m.iter().map(|b| Cow::Borrowed(b.as_bytes()))),
        }
    }

    /// All members as owned byte vectors.
    pub fn members(&self) -> Vec<Vec<u8>> {
        let mut out = Vec::with_capacity(self.len());
        self.for_each(|m| out.push(m.to_vec()));
        out
    }

    /// A random member.
    pub fn random(&self, rng: &mut Rng) -> Option<Vec<u8>> {
        match self {
            Set::Intset(v) if !v.is_empty() => Some(
                v[rng.below(v.len() as u64) as usize]
                    .to_string()
                    .into_bytes(),
            ),
            Set::Listpack(v) if !v.is_empty() => {
                Some(v[rng.below(v.len() as u64) as usize].to_vec())
            }
            Set::Table(m) => m.random(rng).map(|b| b.to_vec()),
            _ => None,
        }
    }

    /// One SSCAN step; compact encodings are returned whole with cursor 0.
    pub fn scan(&self, cursor: u64, count: usize, mut emit: impl FnMut(&[u8])) -> u64 {
        match self {
            Set::Table(m) => m.scan(cursor, count, |b| emit(b)),
            other => {
                other.for_each(emit);
                0
            }
        }
    }

    pub fn mem_usage(&self) -> usize {
        match self {
            Set::Intset(v) => v.capacity() * 8,
            Set::Listpack(v) => v.capacity() * 8 + v.iter().map(Blob::heap_size).sum::<usize>(),
            Set::Table(m) => m.overhead_bytes() + m.iter().map(Blob::heap_size).sum::<usize>(),
        }
    }
}

impl Set {
    /// Starts loading what looking up these members (by [`crate::hash_key`]) will read.
    pub fn prefetch_members(&self, hashes: &[u64]) {
        if let Set::Table(m) = self {
            m.prefetch(hashes, |b| b.prefetch());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings_follow_valkey() {
        let l = SetLimits {
            max_intset_entries: 4,
            max_listpack_entries: 3,
            max_listpack_value: 5,
        };
        let mut s = Set::with_first(b"1", 1, l);
        assert!(s.add(b"1", l) && !s.add(b"1", l));
        assert_eq!(s.encoding(), "intset");
        assert!(s.add(b"abc", l));
        assert_eq!(s.encoding(), "listpack");
        assert!(s.contains(b"1") && s.contains(b"abc"));
        s.add(b"x", l);
        s.add(b"y", l);
        assert_eq!(s.encoding(), "hashtable");
        assert_eq!(s.len(), 4);
        let mut t = Set::with_first(b"1", 1, l);
        for i in 0..5 {
            t.add(i.to_string().as_bytes(), l);
        }
        assert_eq!(t.encoding(), "hashtable");
        assert_eq!(Set::with_first(b"01", 1, l).encoding(), "listpack");
    }

    #[test]
    fn listpack_removal_keeps_order_and_hints_convert() {
        let l = SetLimits::default();
        let mut s = Set::with_first(b"a", 3, l);
        for m in [&b"a"[..], b"b", b"c"] {
            s.add(m, l);
        }
        assert!(s.remove(b"a"));
        assert_eq!(s.members(), vec![b"b".to_vec(), b"c".to_vec()]);
        s.maybe_convert(128, l);
        assert_eq!(s.encoding(), "listpack");
        s.maybe_convert(129, l);
        assert_eq!(s.encoding(), "hashtable");
        let mut i = Set::with_first(b"1", 1, l);
        i.add(b"1", l);
        i.maybe_convert(513, l);
        assert_eq!(i.encoding(), "hashtable");
    }

    #[test]
    fn strict_integers() {
        assert_eq!(resp_int(b"-12"), Some(-12));
        assert_eq!(resp_int(b"012"), None);
        assert_eq!(resp_int(b"+1"), None);
    }
}
