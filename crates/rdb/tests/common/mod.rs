//! Test-only encoders for fixture bytes: hand-rolled RDB framing plus the
//! legacy compact encodings (ziplist, zipmap, intset) the crate only decodes.
//! They are written from the format descriptions, independently of the
//! crate's own code paths, so that fixtures do not just mirror the decoder.

#![allow(dead_code)]

use rdb::crc64::crc64;
use rdb::encodings::listpack::ListpackBuilder;
use rdb::{Item, KeyEntry, Reader, ReaderOptions, StreamId};

/// Appends RDB primitives to a byte vector.
#[derive(Default, Clone)]
pub struct Rdb {
    pub bytes: Vec<u8>,
}

impl Rdb {
    pub fn new(version: u32) -> Self {
        Rdb {
            bytes: format!("REDIS{version:04}").into_bytes(),
        }
    }

    pub fn raw(&mut self, b: &[u8]) -> &mut Self {
        self.bytes.extend_from_slice(b);
        self
    }

    pub fn byte(&mut self, b: u8) -> &mut Self {
        self.bytes.push(b);
        self
    }

    pub fn len(&mut self, n: u64) -> &mut Self {
        if n < 64 {
            self.byte(n as u8)
        } else if n < 16384 {
            self.raw(&[0x40 | (n >> 8) as u8, n as u8])
        } else if n <= u32::MAX as u64 {
            self.byte(0x80).raw(&(n as u32).to_be_bytes())
        } else {
            self.byte(0x81).raw(&n.to_be_bytes())
        }
    }

    /// A plain (never integer-encoded or compressed) string.
    pub fn str(&mut self, s: &[u8]) -> &mut Self {
        self.len(s.len() as u64).raw(s)
    }

    /// An LZF string holding `compressed`, which must expand to `len` bytes.
    pub fn lzf_str(&mut self, compressed: &[u8], len: usize) -> &mut Self {
        self.byte(0xC3)
            .len(compressed.len() as u64)
            .len(len as u64)
            .raw(compressed)
    }

    pub fn key(&mut self, ty: u8, key: &[u8]) -> &mut Self {
        self.byte(ty).str(key)
    }

    pub fn id(&mut self, id: StreamId) -> &mut Self {
        self.len(id.ms).len(id.seq)
    }

    pub fn raw_id(&mut self, id: StreamId) -> &mut Self {
        self.raw(&id.ms.to_be_bytes()).raw(&id.seq.to_be_bytes())
    }

    /// EOF opcode plus the CRC trailer for versions that have one.
    pub fn finish(&self) -> Vec<u8> {
        let mut out = self.bytes.clone();
        out.push(0xFF);
        let version: u32 = std::str::from_utf8(&out[5..9]).unwrap().parse().unwrap();
        if version >= 5 {
            let crc = crc64(0, &out);
            out.extend_from_slice(&crc.to_le_bytes());
        }
        out
    }
}

/// A ziplist element for [`ziplist`].
#[derive(Clone, Copy)]
pub enum Z<'a> {
    S(&'a [u8]),
    I(i64),
}

/// Ziplist: u32 total, u32 tail offset, u16 count, entries, 0xFF. Integers use
/// the smallest of the immediate/int8/int16/int24/int32/int64 encodings.
pub fn ziplist(entries: &[Z<'_>]) -> Vec<u8> {
    let mut body: Vec<u8> = Vec::new();
    let mut prev_len = 0usize;
    let mut tail = 10usize;
    for e in entries {
        let start = body.len();
        tail = 10 + start;
        if prev_len < 254 {
            body.push(prev_len as u8);
        } else {
            body.push(254);
            body.extend_from_slice(&(prev_len as u32).to_le_bytes());
        }
        match *e {
            Z::S(s) => {
                if s.len() <= 63 {
                    body.push(s.len() as u8);
                } else if s.len() <= 16383 {
                    body.push(0x40 | (s.len() >> 8) as u8);
                    body.push(s.len() as u8);
                } else {
                    body.push(0x80);
                    body.extend_from_slice(&(s.len() as u32).to_be_bytes());
                }
                body.extend_from_slice(s);
            }
            Z::I(v) => zip_int(&mut body, v),
        }
        prev_len = body.len() - start;
    }
    let total = 10 + body.len() + 1;
    let mut out = Vec::new();
    out.extend_from_slice(&(total as u32).to_le_bytes());
    out.extend_from_slice(&(tail as u32).to_le_bytes());
    out.extend_from_slice(&(entries.len().min(0xFFFF) as u16).to_le_bytes());
    out.extend_from_slice(&body);
    out.push(0xFF);
    out
}

fn zip_int(body: &mut Vec<u8>, v: i64) {
    if (0..=12).contains(&v) {
        body.push(0xF1 + v as u8);
    } else if v >= i8::MIN as i64 && v <= i8::MAX as i64 {
        body.extend_from_slice(&[0xFE, v as u8]);
    } else if v >= i16::MIN as i64 && v <= i16::MAX as i64 {
        body.push(0xC0);
        body.extend_from_slice(&(v as i16).to_le_bytes());
    } else if (-(1 << 23)..(1 << 23)).contains(&v) {
        body.push(0xF0);
        body.extend_from_slice(&(v as i32).to_le_bytes()[..3]);
    } else if v >= i32::MIN as i64 && v <= i32::MAX as i64 {
        body.push(0xD0);
        body.extend_from_slice(&(v as i32).to_le_bytes());
    } else {
        body.push(0xE0);
        body.extend_from_slice(&v.to_le_bytes());
    }
}

/// Zipmap: count byte, `<len>key<len><free>value<free bytes>`..., 0xFF.
pub fn zipmap(pairs: &[(&[u8], &[u8])], free: u8) -> Vec<u8> {
    fn zlen(out: &mut Vec<u8>, n: usize) {
        if n < 254 {
            out.push(n as u8);
        } else {
            out.push(254);
            out.extend_from_slice(&(n as u32).to_le_bytes());
        }
    }
    let mut out = vec![pairs.len().min(254) as u8];
    for (k, v) in pairs {
        zlen(&mut out, k.len());
        out.extend_from_slice(k);
        zlen(&mut out, v.len());
        out.push(free);
        out.extend_from_slice(v);
        out.extend(vec![0u8; free as usize]);
    }
    out.push(0xFF);
    out
}

/// Intset with the given width (2, 4 or 8); values must already be sorted.
pub fn intset(width: u32, values: &[i64]) -> Vec<u8> {
    let mut out = width.to_le_bytes().to_vec();
    out.extend_from_slice(&(values.len() as u32).to_le_bytes());
    for v in values {
        out.extend_from_slice(&v.to_le_bytes()[..width as usize]);
    }
    out
}

/// Listpack of strings (integer-looking strings become integers, as in Redis).
pub fn listpack(items: &[&[u8]]) -> Vec<u8> {
    let mut b = ListpackBuilder::new();
    for i in items {
        b.push_str(i);
    }
    b.finish().unwrap()
}

/// A stream entry for [`stream_node`]: id, field/value pairs, deleted flag.
pub type NodeEntry<'a> = (StreamId, Vec<(&'a [u8], &'a [u8])>, bool);

/// One stream node: master fields are taken from the first entry; entries
/// with the same field names use the SAMEFIELDS form. `deleted` marks entries
/// written with the DELETED flag.
pub fn stream_node(entries: &[NodeEntry<'_>]) -> (StreamId, Vec<u8>) {
    let master = entries[0].0;
    let master_fields: Vec<&[u8]> = entries[0].1.iter().map(|(f, _)| *f).collect();
    let live = entries.iter().filter(|e| !e.2).count();
    let mut lp = ListpackBuilder::new();
    lp.push_int(live as i64);
    lp.push_int((entries.len() - live) as i64);
    lp.push_int(master_fields.len() as i64);
    for f in &master_fields {
        lp.push_str(f);
    }
    lp.push_int(0);
    for (id, fields, deleted) in entries {
        let same = fields
            .iter()
            .map(|(f, _)| *f)
            .eq(master_fields.iter().copied());
        let flags = (*deleted as i64) | if same { 2 } else { 0 };
        lp.push_int(flags);
        lp.push_int(id.ms.wrapping_sub(master.ms) as i64);
        lp.push_int(id.seq.wrapping_sub(master.seq) as i64);
        if !same {
            lp.push_int(fields.len() as i64);
        }
        for (f, v) in fields {
            if !same {
                lp.push_str(f);
            }
            lp.push_str(v);
        }
        let pieces = 3 + fields.len() + if same { 0 } else { fields.len() + 1 };
        lp.push_int(pieces as i64);
    }
    (master, lp.finish().unwrap())
}

/// Reads every item of a file.
pub fn read_items(bytes: &[u8]) -> Result<Vec<Item>, rdb::RdbError> {
    Reader::new(bytes, ReaderOptions::default())?.collect()
}

/// Reads a file and returns its keys.
pub fn read_keys(bytes: &[u8]) -> Vec<KeyEntry> {
    read_items(bytes)
        .unwrap_or_else(|e| panic!("{e}"))
        .into_iter()
        .filter_map(|i| match i {
            Item::Key(k) => Some(k),
            _ => None,
        })
        .collect()
}

/// Reads a file holding exactly one key.
pub fn read_single(bytes: &[u8]) -> KeyEntry {
    let mut keys = read_keys(bytes);
    assert_eq!(keys.len(), 1, "expected one key");
    keys.remove(0)
}

pub fn b(s: &str) -> Vec<u8> {
    s.as_bytes().to_vec()
}
