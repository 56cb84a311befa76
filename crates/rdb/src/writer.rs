//! RDB writer producing files that both Redis 7.0 (RDB 10) and Valkey 8.0 load.
//!
//! It emits only type ids 0 STRING, 1 LIST, 2 SET, 4 HASH, 5 ZSET_2 and
//! 19 STREAM_LISTPACKS_2, so no compact encoder is needed except the listpack
//! that streams require. The low-level calls (`key_header`, `len`, `string`,
//! `binary_double`) let callers serialise straight from their own structures
//! without building a [`Value`] first.

use std::io::{self, Write};

use crate::crc64::crc64;
use crate::lzf;
use crate::num::parse_canonical_i64;
use crate::stream::{encode_node, encode_nodes};
use crate::value::{opcode as op, ConsumerGroup, KeyEntry, Stream, StreamEntry, StreamId, Value};

const BUF_SIZE: usize = 64 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriterOptions {
    /// LZF-compress strings longer than 20 bytes when that saves 4+ bytes
    /// (Redis's `rdbcompression yes`).
    pub compression: bool,
    /// Write the CRC64 trailer; off writes 8 zero bytes (`rdbchecksum no`).
    pub checksum: bool,
}

impl Default for WriterOptions {
    fn default() -> Self {
        WriterOptions {
            compression: true,
            checksum: true,
        }
    }
}

/// Buffered RDB writer with an incremental CRC64.
pub struct Writer<W: Write> {
    sink: W,
    buf: Vec<u8>,
    crc: u64,
    flushed: u64,
    opts: WriterOptions,
}

impl<W: Write> Writer<W> {
    pub fn new(sink: W, opts: WriterOptions) -> Self {
        Writer {
            sink,
            buf: Vec::with_capacity(BUF_SIZE),
            crc: 0,
            flushed: 0,
            opts,
        }
    }

    /// Bytes written so far, including those still buffered.
    pub fn bytes_written(&self) -> u64 {
        self.flushed + self.buf.len() as u64
    }

    /// `REDIS` + four-digit version. Use 10 for files Redis 7.0 must load.
    pub fn header(&mut self, version: u32) -> io::Result<()> {
        if version > 9999 {
            return Err(invalid("RDB version must have at most four digits"));
        }
        self.raw(format!("REDIS{version:04}").as_bytes())
    }

    pub fn aux(&mut self, key: &[u8], value: &[u8]) -> io::Result<()> {
        self.raw(&[op::AUX])?;
        self.string(key)?;
        self.string(value)
    }

    pub fn select_db(&mut self, db: u64) -> io::Result<()> {
        self.raw(&[op::SELECTDB])?;
        self.len(db)
    }

    pub fn resize_db(&mut self, db_size: u64, expires_size: u64) -> io::Result<()> {
        self.raw(&[op::RESIZEDB])?;
        self.len(db_size)?;
        self.len(expires_size)
    }

    /// A function library (FUNCTION2 opcode) with its source code.
    pub fn function(&mut self, code: &[u8]) -> io::Result<()> {
        self.raw(&[op::FUNCTION2])?;
        self.string(code)
    }

    /// Key metadata opcodes in Redis's order (expire, idle, freq), then the
    /// type byte and the key. The value must follow.
    pub fn key_header(
        &mut self,
        type_id: u8,
        key: &[u8],
        expire_ms: Option<i64>,
        idle_secs: Option<u64>,
        lfu_freq: Option<u8>,
    ) -> io::Result<()> {
        if let Some(ms) = expire_ms {
            self.raw(&[op::EXPIRETIME_MS])?;
            self.raw(&ms.to_le_bytes())?;
        }
        if let Some(idle) = idle_secs {
            self.raw(&[op::IDLE])?;
            self.len(idle)?;
        }
        if let Some(freq) = lfu_freq {
            self.raw(&[op::FREQ, freq])?;
        }
        self.raw(&[type_id])?;
        self.string(key)
    }

    /// A length in the shortest of the 6-bit, 14-bit, 32-bit and 64-bit forms.
    pub fn len(&mut self, n: u64) -> io::Result<()> {
        if n < 1 << 6 {
            self.raw(&[n as u8])
        } else if n < 1 << 14 {
            self.raw(&[0x40 | (n >> 8) as u8, n as u8])
        } else if let Ok(n32) = u32::try_from(n) {
            self.raw(&[0x80])?;
            self.raw(&n32.to_be_bytes())
        } else {
            self.raw(&[0x81])?;
            self.raw(&n.to_be_bytes())
        }
    }

    /// A string with Redis's policy: integer encoding for canonical int32
    /// decimals, else LZF when enabled and worthwhile, else raw.
    pub fn string(&mut self, s: &[u8]) -> io::Result<()> {
        if s.len() <= 11 {
            if let Some(v) = parse_canonical_i64(s) {
                if let Some(enc) = encode_int(v) {
                    return self.raw(&enc.bytes[..enc.len]);
                }
            }
        }
        if self.opts.compression && s.len() > 20 {
            if let Some(c) = lzf::compress(s) {
                self.raw(&[0xC3])?;
                self.len(c.len() as u64)?;
                self.len(s.len() as u64)?;
                return self.raw(&c);
            }
        }
        self.len(s.len() as u64)?;
        self.raw(s)
    }

    /// An 8-byte little-endian IEEE-754 double (ZSET_2 scores).
    pub fn binary_double(&mut self, v: f64) -> io::Result<()> {
        self.raw(&v.to_le_bytes())
    }

    /// Bytes written verbatim (they are covered by the checksum).
    pub fn raw(&mut self, data: &[u8]) -> io::Result<()> {
        if self.buf.len() + data.len() > BUF_SIZE {
            self.flush_buf()?;
            if data.len() >= BUF_SIZE {
                return self.write_through(data);
            }
        }
        self.buf.extend_from_slice(data);
        Ok(())
    }

    /// A whole key: metadata opcodes, type, key and value.
    pub fn key(&mut self, entry: &KeyEntry) -> io::Result<()> {
        let ty = entry.value.type_id();
        self.key_header(
            ty,
            &entry.key,
            entry.expire_ms,
            entry.idle_secs,
            entry.lfu_freq,
        )?;
        self.value(&entry.value)
    }

    /// The value body for the type [`Value::type_id`] names.
    pub fn value(&mut self, value: &Value) -> io::Result<()> {
        match value {
            Value::String(s) => self.string(s),
            Value::List(items) | Value::Set(items) => {
                self.len(items.len() as u64)?;
                items.iter().try_for_each(|i| self.string(i))
            }
            Value::SortedSet(members) => self.zset(members),
            Value::Hash(pairs) => {
                self.len(pairs.len() as u64)?;
                pairs.iter().try_for_each(|(f, v)| {
                    self.string(f)?;
                    self.string(v)
                })
            }
            Value::Stream(s) => self.stream(s),
        }
    }

    /// ZSET_2 body, highest score first as Redis writes it (loading in that
    /// order makes every skiplist insertion land at the head).
    fn zset(&mut self, members: &[(Vec<u8>, f64)]) -> io::Result<()> {
        let mut order: Vec<&(Vec<u8>, f64)> = members.iter().collect();
        order.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| b.0.cmp(&a.0)));
        self.len(order.len() as u64)?;
        for (m, score) in order {
            self.string(m)?;
            self.binary_double(*score)?;
        }
        Ok(())
    }

    /// STREAM_LISTPACKS_2 body (type 19).
    pub fn stream(&mut self, s: &Stream) -> io::Result<()> {
        let nodes = encode_nodes(&s.entries)?;
        self.len(nodes.len() as u64)?;
        for (key, lp) in &nodes {
            self.string(&key.to_be_bytes())?;
            self.string(lp)?;
        }
        self.stream_tail(s, &s.groups)
    }

    /// Starts a STREAM_LISTPACKS_2 body written node by node (for callers that keep their
    /// own node layout): `nodes` nodes must follow, each written with [`Writer::stream_node`],
    /// then [`Writer::stream_tail`].
    pub fn stream_begin(&mut self, nodes: u64) -> io::Result<()> {
        self.len(nodes)
    }

    /// One node: `entries` (non-empty, in ID order) as one listpack keyed by the first ID.
    pub fn stream_node(&mut self, entries: &[StreamEntry]) -> io::Result<()> {
        let Some((key, lp)) = encode_node(entries)? else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "empty stream node",
            ));
        };
        self.string(&key.to_be_bytes())?;
        self.string(&lp)
    }

    /// Ends a stream body: the counters of `meta` (its `entries` and `groups` are not read)
    /// and the consumer groups.
    pub fn stream_tail(&mut self, meta: &Stream, groups: &[ConsumerGroup]) -> io::Result<()> {
        let s = meta;
        self.len(s.length)?;
        self.id(s.last_id)?;
        self.id(s.first_id)?;
        self.id(s.max_deleted_id)?;
        self.len(s.entries_added)?;
        self.len(groups.len() as u64)?;
        for g in groups {
            self.string(&g.name)?;
            self.id(g.last_id)?;
            // -1 ("unknown") is stored as a 64-bit length and read back as -1.
            self.len(g.entries_read as u64)?;
            self.len(g.pel.len() as u64)?;
            for p in &g.pel {
                self.raw(&p.id.to_be_bytes())?;
                self.raw(&p.delivery_time_ms.to_le_bytes())?;
                self.len(p.delivery_count)?;
            }
            self.len(g.consumers.len() as u64)?;
            for c in &g.consumers {
                self.string(&c.name)?;
                self.raw(&c.seen_time_ms.to_le_bytes())?;
                self.len(c.pending.len() as u64)?;
                c.pending
                    .iter()
                    .try_for_each(|id| self.raw(&id.to_be_bytes()))?;
            }
        }
        Ok(())
    }

    fn id(&mut self, id: StreamId) -> io::Result<()> {
        self.len(id.ms)?;
        self.len(id.seq)
    }

    /// Writes the EOF opcode and the CRC64 (or 8 zero bytes), flushes, and
    /// returns the sink.
    pub fn finish(mut self) -> io::Result<W> {
        self.raw(&[op::EOF])?;
        self.flush_buf()?;
        let crc = if self.opts.checksum { self.crc } else { 0 };
        self.sink.write_all(&crc.to_le_bytes())?;
        self.flushed += 8;
        self.sink.flush()?;
        Ok(self.sink)
    }

    /// Ends a DUMP payload: 2-byte RDB version and the CRC64 of everything
    /// before it, both little-endian.
    pub(crate) fn finish_dump(mut self, version: u16) -> io::Result<W> {
        self.raw(&version.to_le_bytes())?;
        self.flush_buf()?;
        self.sink.write_all(&self.crc.to_le_bytes())?;
        self.sink.flush()?;
        Ok(self.sink)
    }

    fn flush_buf(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        if self.opts.checksum {
            self.crc = crc64(self.crc, &self.buf);
        }
        self.sink.write_all(&self.buf)?;
        self.flushed += self.buf.len() as u64;
        self.buf.clear();
        Ok(())
    }

    fn write_through(&mut self, data: &[u8]) -> io::Result<()> {
        if self.opts.checksum {
            self.crc = crc64(self.crc, data);
        }
        self.sink.write_all(data)?;
        self.flushed += data.len() as u64;
        Ok(())
    }
}

struct IntEncoding {
    bytes: [u8; 5],
    len: usize,
}

/// `0xC0`/`0xC1`/`0xC2` + little-endian int8/int16/int32, or `None` outside int32.
fn encode_int(v: i64) -> Option<IntEncoding> {
    let mut bytes = [0u8; 5];
    let len = if let Ok(b) = i8::try_from(v) {
        bytes[0] = 0xC0;
        bytes[1] = b as u8;
        2
    } else if let Ok(h) = i16::try_from(v) {
        bytes[0] = 0xC1;
        bytes[1..3].copy_from_slice(&h.to_le_bytes());
        3
    } else if let Ok(w) = i32::try_from(v) {
        bytes[0] = 0xC2;
        bytes[1..5].copy_from_slice(&w.to_le_bytes());
        5
    } else {
        return None;
    };
    Some(IntEncoding { bytes, len })
}

fn invalid(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(f: impl FnOnce(&mut Writer<Vec<u8>>) -> io::Result<()>) -> Vec<u8> {
        let mut w = Writer::new(Vec::new(), WriterOptions::default());
        f(&mut w).unwrap();
        let n = w.bytes_written() as usize;
        let out = w.finish().unwrap();
        out[..n].to_vec()
    }

    #[test]
    fn length_forms() {
        assert_eq!(written(|w| w.len(63)), [63]);
        assert_eq!(written(|w| w.len(64)), [0x40, 64]);
        assert_eq!(written(|w| w.len(16383)), [0x7F, 0xFF]);
        assert_eq!(written(|w| w.len(16384)), [0x80, 0, 0, 0x40, 0]);
        assert_eq!(written(|w| w.len(1 << 32)), [0x81, 0, 0, 0, 1, 0, 0, 0, 0]);
    }

    #[test]
    fn string_policy() {
        assert_eq!(written(|w| w.string(b"12")), [0xC0, 12]);
        assert_eq!(written(|w| w.string(b"-129")), [0xC1, 0x7F, 0xFF]);
        assert_eq!(
            written(|w| w.string(b"2147483647")),
            [0xC2, 0xFF, 0xFF, 0xFF, 0x7F]
        );
        assert_eq!(written(|w| w.string(b"2147483648")), b"\x0a2147483648");
        assert_eq!(written(|w| w.string(b"012")), b"\x03012");
        let long = vec![b'a'; 100];
        assert_eq!(written(|w| w.string(&long))[0], 0xC3);
        let mut w = Writer::new(
            Vec::new(),
            WriterOptions {
                compression: false,
                checksum: true,
            },
        );
        w.string(&long).unwrap();
        assert_eq!(w.bytes_written(), 2 + 100);
    }

    #[test]
    fn key_header_order_and_trailer() {
        let mut w = Writer::new(
            Vec::new(),
            WriterOptions {
                compression: false,
                checksum: false,
            },
        );
        w.key_header(0, b"k", Some(5), Some(7), Some(3)).unwrap();
        let out = w.finish().unwrap();
        let mut expect = vec![op::EXPIRETIME_MS];
        expect.extend_from_slice(&5i64.to_le_bytes());
        expect.extend_from_slice(&[op::IDLE, 7, op::FREQ, 3, 0, 1, b'k', op::EOF]);
        expect.extend_from_slice(&[0; 8]);
        assert_eq!(out, expect);
    }

    #[test]
    fn large_writes_bypass_buffer_and_keep_crc() {
        let mut w = Writer::new(
            Vec::new(),
            WriterOptions {
                compression: false,
                checksum: true,
            },
        );
        w.header(10).unwrap();
        let big = vec![7u8; 3 * BUF_SIZE];
        w.string(&big).unwrap();
        let out = w.finish().unwrap();
        let body = &out[..out.len() - 8];
        assert_eq!(&out[out.len() - 8..], &crc64(0, body).to_le_bytes());
    }
}
