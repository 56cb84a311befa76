//! Hash values, with Redis's two encodings.
//!
//! - `listpack`: a short vector of [`Pair`]s searched linearly, used while the hash has at most
//!   `hash-max-listpack-entries` fields and no field or value longer than
//!   `hash-max-listpack-value` bytes (Redis's thresholds and names, so OBJECT ENCODING agrees).
//! - `hashtable`: a [`SegMap`] of pairs. Conversion is one-way, as in Redis.

use crate::blob::Pair;
use crate::rand::Rng;
use crate::segmap::{SegItem, SegMap};

impl SegItem for Pair {
    fn seg_key(&self) -> &[u8] {
        self.field()
    }

    fn prefetch(&self) {
        Pair::prefetch(self)
    }
}

/// Size thresholds of the compact encoding (`hash-max-listpack-*`).
#[derive(Clone, Copy, Debug)]
pub struct HashLimits {
    pub max_entries: usize,
    pub max_value: usize,
}

impl Default for HashLimits {
    fn default() -> Self {
        // Valkey 8's defaults (`hash-max-listpack-entries` is 512, unlike the sorted sets' 128).
        HashLimits {
            max_entries: 512,
            max_value: 64,
        }
    }
}

#[derive(Clone, Debug)]
pub enum Hash {
    Listpack(Vec<Pair>),
    Table(SegMap<Pair>),
}

impl Default for Hash {
    fn default() -> Self {
        Hash::Listpack(Vec::new())
    }
}

impl Hash {
    /// Builds a hash from pairs (e.g. loading a snapshot), choosing the encoding by size.
    /// Later duplicates replace earlier ones.
    pub fn from_pairs<'a>(
        pairs: impl IntoIterator<Item = (&'a [u8], &'a [u8])>,
        limits: HashLimits,
    ) -> Hash {
        let mut h = Hash::default();
        for (f, v) in pairs {
            h.set(f, v, limits);
        }
        h
    }

    pub fn len(&self) -> usize {
        match self {
            Hash::Listpack(v) => v.len(),
            Hash::Table(m) => m.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Redis's name for the current encoding.
    pub fn encoding(&self) -> &'static str {
        match self {
            Hash::Listpack(_) => "listpack",
            Hash::Table(_) => "hashtable",
        }
    }

    pub fn get(&self, field: &[u8]) -> Option<&[u8]> {
        match self {
            Hash::Listpack(v) => v.iter().find(|p| p.field() == field).map(|p| p.value()),
            Hash::Table(m) => m.get(field).map(|p| p.value()),
        }
    }

    pub fn contains(&self, field: &[u8]) -> bool {
        self.get(field).is_some()
    }

    /// Sets `field` to `value`; returns true if the field is new.
    pub fn set(&mut self, field: &[u8], value: &[u8], limits: HashLimits) -> bool {
        if let Hash::Listpack(v) = self {
            if field.len() > limits.max_value || value.len() > limits.max_value {
                self.convert();
            } else if let Some(p) = v.iter_mut().find(|p| p.field() == field) {
                *p = Pair::new(field, value);
                return false;
            } else if v.len() < limits.max_entries {
                v.push(Pair::new(field, value));
                return true;
            } else {
                self.convert();
            }
        }
        match self {
            Hash::Table(m) => m.insert(Pair::new(field, value)).is_none(),
            Hash::Listpack(_) => unreachable!("converted above"),
        }
    }

    /// Removes `field`; returns true if it existed.
    pub fn remove(&mut self, field: &[u8]) -> bool {
        match self {
            Hash::Listpack(v) => match v.iter().position(|p| p.field() == field) {
                Some(i) => {
                    v.remove(i);
                    true
                }
                None => false,
            },
            Hash::Table(m) => m.remove(field).is_some(),
        }
    }

    /// Redis's `hashTypeTryConversion`, before writing `new_fields` pairs whose longest field or
    /// value is `longest` bytes: a listpack becomes a hashtable when that many pairs could not
    /// fit (even if some turn out to be duplicates) or when any argument is too long.
    pub fn prepare_write(&mut self, new_fields: usize, longest: usize, limits: HashLimits) {
        if matches!(self, Hash::Listpack(_))
            && (new_fields > limits.max_entries || longest > limits.max_value)
        {
            self.convert();
        }
    }

    fn convert(&mut self) {
        if let Hash::Listpack(v) = self {
            let mut m = SegMap::new();
            for p in v.drain(..) {
                m.insert(p);
            }
            *self = Hash::Table(m);
        }
    }

    /// Iterates pairs as (field, value). Listpack order is insertion order, as Redis.
    pub fn iter(&self) -> Box<dyn Iterator<Item = (&[u8], &[u8])> + '_> {
        match self {
            Hash::Listpack(v) => Box::new(v.iter().map(|p| (p.field(), p.value()))),
            Hash::Table(m) => Box::new(m.iter().map(|p| (p.field(), p.value()))),
        }
    }

    /// A random pair.
    pub fn random(&self, rng: &mut Rng) -> Option<(&[u8], &[u8])> {
        match self {
            Hash::Listpack(v) if v.is_empty() => None,
            Hash::Listpack(v) => {
                let p = &v[rng.below(v.len() as u64) as usize];
                Some((p.field(), p.value()))
            }
            Hash::Table(m) => m.random(rng).map(|p| (p.field(), p.value())),
        }
    }

    /// One HSCAN step; the compact encoding is returned whole with cursor 0, as Redis does.
    pub fn scan(&self, cursor: u64, count: usize, mut emit: impl FnMut(&[u8], &[u8])) -> u64 {
        match self {
            Hash::Listpack(v) => {
                v.iter().for_each(|p| emit(p.field(), p.value()));
                0
            }
            Hash::Table(m) => m.scan(cursor, count, |p| emit(p.field(), p.value())),
        }
    }

    /// Approximate heap bytes (MEMORY USAGE).
    pub fn mem_usage(&self) -> usize {
        match self {
            Hash::Listpack(v) => v.capacity() * 8 + v.iter().map(Pair::heap_size).sum::<usize>(),
            Hash::Table(m) => m.overhead_bytes() + m.iter().map(Pair::heap_size).sum::<usize>(),
        }
    }
}

impl Hash {
    /// Starts loading what looking up these fields (by [`crate::hash_key`]) will read.
    pub fn prefetch_fields(&self, hashes: &[u64]) {
        if let Hash::Table(m) = self {
            m.prefetch(hashes, |p| p.prefetch());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_on_entries_and_value_size() {
        let limits = HashLimits {
            max_entries: 4,
            max_value: 8,
        };
        let mut h = Hash::default();
        for i in 0..4 {
            assert!(h.set(format!("f{i}").as_bytes(), b"v", limits));
        }
        assert_eq!(h.encoding(), "listpack");
        assert!(!h.set(b"f0", b"v2", limits));
        assert_eq!(h.get(b"f0"), Some(&b"v2"[..]));
        assert!(h.set(b"f4", b"v", limits));
        assert_eq!(h.encoding(), "hashtable");
        assert_eq!(h.len(), 5);
        let mut h2 = Hash::default();
        h2.set(b"f", b"123456789", limits);
        assert_eq!(h2.encoding(), "hashtable");
        assert!(h.remove(b"f4") && !h.remove(b"f4"));
        assert_eq!(h.len(), 4);
    }

    #[test]
    fn prepare_write_converts_on_count_or_length() {
        let limits = HashLimits {
            max_entries: 2,
            max_value: 4,
        };
        let mut h = Hash::default();
        h.prepare_write(2, 4, limits);
        assert_eq!(h.encoding(), "listpack");
        h.prepare_write(3, 1, limits);
        assert_eq!(h.encoding(), "hashtable");
        let mut h = Hash::default();
        h.prepare_write(1, 5, limits);
        assert_eq!(h.encoding(), "hashtable");
    }
}
