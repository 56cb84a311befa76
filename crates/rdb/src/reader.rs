//! Streaming RDB file reader: header, opcodes, keys and the trailing CRC.

use std::io::Read;

use crate::error::{ErrorKind, RdbError};
use crate::input::{Input, Result};
use crate::load::{read_len, read_string, read_value};
use crate::value::{opcode as op, type_id as t, Item, KeyEntry};

/// Oldest and newest RDB versions this reader loads (Valkey 8.0 writes 11).
pub const MIN_VERSION: u32 = 1;
pub const MAX_VERSION: u32 = 11;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReaderOptions {
    /// Check the trailing CRC64 (a stored value of 0 always means "unchecked").
    pub verify_checksum: bool,
}

impl Default for ReaderOptions {
    fn default() -> Self {
        ReaderOptions {
            verify_checksum: true,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Items,
    Done,
    Failed,
}

/// Key metadata opcodes seen since the last key; they apply to the next key.
#[derive(Debug, Default)]
struct KeyMeta {
    expire_ms: Option<i64>,
    idle_secs: Option<u64>,
    lfu_freq: Option<u8>,
}

/// Reads an RDB file item by item without holding it in memory.
pub struct Reader<R: Read> {
    inp: Input<R>,
    version: u32,
    opts: ReaderOptions,
    state: State,
    meta: KeyMeta,
}

impl<R: Read> Reader<R> {
    /// Reads and validates the `REDIS%04d` header.
    pub fn new(src: R, opts: ReaderOptions) -> Result<Self> {
        let mut inp = Input::new(src, opts.verify_checksum);
        let header: [u8; 9] = inp.array()?;
        if &header[..5] != b"REDIS" {
            return Err(RdbError::new(0, ErrorKind::BadSignature));
        }
        // Like Redis's atoi: leading digits count, anything else ends the number.
        let version = header[5..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .fold(0u32, |v, b| v * 10 + (b - b'0') as u32);
        if !(MIN_VERSION..=MAX_VERSION).contains(&version) {
            return Err(RdbError::new(5, ErrorKind::UnsupportedVersion(version)));
        }
        Ok(Reader {
            inp,
            version,
            opts,
            state: State::Items,
            meta: KeyMeta::default(),
        })
    }

    pub fn version(&self) -> u32 {
        self.version
    }

    /// Bytes consumed so far (the offset of the next unread byte).
    pub fn bytes_read(&self) -> u64 {
        self.inp.offset()
    }

    /// The next item; `Some(Item::Eof)` once the checksum has been verified,
    /// then `None`. After an error the reader stays failed.
    pub fn next_item(&mut self) -> Result<Option<Item>> {
        match self.state {
            State::Done => return Ok(None),
            State::Failed => {
                return Err(RdbError::corrupt(
                    self.inp.offset(),
                    "reader already failed on an earlier error",
                ))
            }
            State::Items => {}
        }
        let res = self.read_item();
        match &res {
            Err(_) => self.state = State::Failed,
            Ok(Item::Eof) => self.state = State::Done,
            Ok(_) => {}
        }
        res.map(Some)
    }

    fn read_item(&mut self) -> Result<Item> {
        loop {
            let at = self.inp.offset();
            let code = self.inp.u8()?;
            match code {
                op::EXPIRETIME => {
                    let secs = i32::from_le_bytes(self.inp.array()?);
                    self.meta.expire_ms = Some(secs as i64 * 1000);
                }
                // Versions before 9 wrote host order; every such file we can
                // meet came from a little-endian machine.
                op::EXPIRETIME_MS => {
                    self.meta.expire_ms = Some(i64::from_le_bytes(self.inp.array()?))
                }
                op::FREQ => self.meta.lfu_freq = Some(self.inp.u8()?),
                op::IDLE => self.meta.idle_secs = Some(read_len(&mut self.inp)?),
                op::EOF => return self.read_eof(),
                op::SELECTDB => return Ok(Item::SelectDb(read_len(&mut self.inp)?)),
                op::RESIZEDB => {
                    let db_size = read_len(&mut self.inp)?;
                    let expires_size = read_len(&mut self.inp)?;
                    return Ok(Item::ResizeDb {
                        db_size,
                        expires_size,
                    });
                }
                op::AUX => {
                    let key = read_string(&mut self.inp)?;
                    let value = read_string(&mut self.inp)?;
                    return Ok(Item::Aux { key, value });
                }
                op::MODULE_AUX => return Err(self.module_aux_error(at)),
                op::FUNCTION_PRE_GA => {
                    let msg = "Pre-release function format not supported".to_string();
                    return Err(RdbError::new(at, ErrorKind::Unsupported(msg)));
                }
                op::FUNCTION2 => return Ok(Item::Function(read_string(&mut self.inp)?)),
                ty => return self.read_key(at, ty).map(Item::Key),
            }
        }
    }

    fn read_key(&mut self, at: u64, ty: u8) -> Result<KeyEntry> {
        if !is_known_type(ty) {
            return Err(RdbError::new(at, ErrorKind::UnknownType(ty)));
        }
        let key = read_string(&mut self.inp)?;
        if ty == t::MODULE_PRE_GA || ty == t::MODULE_2 {
            return Err(self.module_value_error(at, ty, &key));
        }
        let value = read_value(&mut self.inp, ty)?;
        let meta = std::mem::take(&mut self.meta);
        Ok(KeyEntry {
            key,
            value,
            expire_ms: meta.expire_ms,
            idle_secs: meta.idle_secs,
            lfu_freq: meta.lfu_freq,
        })
    }

    fn read_eof(&mut self) -> Result<Item> {
        let computed = self.inp.checksum();
        self.inp.disable_checksum();
        if self.version < 5 {
            return Ok(Item::Eof);
        }
        let at = self.inp.offset();
        let stored = u64::from_le_bytes(self.inp.array()?);
        if self.opts.verify_checksum && stored != 0 && stored != computed {
            let kind = ErrorKind::ChecksumMismatch {
                expected: computed,
                actual: stored,
            };
            return Err(RdbError::new(at, kind));
        }
        Ok(Item::Eof)
    }

    fn module_aux_error(&mut self, at: u64) -> RdbError {
        let name = read_len(&mut self.inp).map(module_name).unwrap_or_default();
        let msg = format!(
            "The RDB file contains AUX module data I can't load: no matching module '{name}'"
        );
        RdbError::new(at, ErrorKind::ModuleData(msg))
    }

    fn module_value_error(&mut self, at: u64, ty: u8, key: &[u8]) -> RdbError {
        let key = String::from_utf8_lossy(key);
        let msg = if ty == t::MODULE_PRE_GA {
            format!("Pre-release module format not supported (key '{key}')")
        } else {
            let name = read_len(&mut self.inp).map(module_name).unwrap_or_default();
            format!("The RDB file contains module data I can't load: no matching module type '{name}' (key '{key}')")
        };
        RdbError::new(at, ErrorKind::ModuleData(msg))
    }
}

impl<R: Read> Iterator for Reader<R> {
    type Item = Result<Item>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_item().transpose()
    }
}

fn is_known_type(ty: u8) -> bool {
    matches!(ty, 0..=7 | 9..=21)
}

/// A module type id packs a 9-character name (6 bits per char) above a
/// 10-bit encoding version.
fn module_name(id: u64) -> String {
    const CHARSET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut v = id >> 10;
    let mut name = [0u8; 9];
    for c in name.iter_mut().rev() {
        *c = CHARSET[(v & 63) as usize];
        v >>= 6;
    }
    String::from_utf8_lossy(&name).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(bytes: &[u8]) -> Result<Vec<Item>> {
        Reader::new(bytes, ReaderOptions::default())?.collect()
    }

    #[test]
    fn minimal_file_with_checksum() {
        let mut f = b"REDIS0010\xff".to_vec();
        let crc = crate::crc64::crc64(0, &f);
        f.extend_from_slice(&crc.to_le_bytes());
        assert_eq!(read_all(&f).unwrap(), vec![Item::Eof]);
        let last = f.len() - 1;
        f[last] ^= 1;
        let err = read_all(&f).unwrap_err();
        assert!(
            matches!(err.kind, ErrorKind::ChecksumMismatch { .. }),
            "{err}"
        );
    }

    #[test]
    fn zero_checksum_means_unchecked_and_old_versions_have_none() {
        let mut f = b"REDIS0009\xff".to_vec();
        f.extend_from_slice(&[0; 8]);
        assert_eq!(read_all(&f).unwrap(), vec![Item::Eof]);
        assert_eq!(read_all(b"REDIS0004\xff").unwrap(), vec![Item::Eof]);
    }

    #[test]
    fn version_and_signature_checks() {
        let e = Reader::new(&b"REDIS0012\xff"[..], ReaderOptions::default())
            .err()
            .unwrap();
        assert!(
            e.to_string().contains("Can't handle RDB format version 12"),
            "{e}"
        );
        let e = Reader::new(&b"REDIS0000"[..], ReaderOptions::default())
            .err()
            .unwrap();
        assert!(matches!(e.kind, ErrorKind::UnsupportedVersion(0)));
        let e = Reader::new(&b"RODIS0009"[..], ReaderOptions::default())
            .err()
            .unwrap();
        assert!(matches!(e.kind, ErrorKind::BadSignature));
        let r = Reader::new(&b"REDIS0001"[..], ReaderOptions::default()).unwrap();
        assert_eq!(r.version(), 1);
    }

    #[test]
    fn legacy_expire_and_metadata_opcodes() {
        let mut f = b"REDIS0004".to_vec();
        f.push(op::EXPIRETIME);
        f.extend_from_slice(&1_700_000_000i32.to_le_bytes());
        f.extend_from_slice(&[op::IDLE, 5, op::FREQ, 9]);
        f.extend_from_slice(&[t::STRING, 1, b'k', 1, b'v', op::EOF]);
        let items = read_all(&f).unwrap();
        let Item::Key(k) = &items[0] else {
            panic!("{items:?}")
        };
        assert_eq!(k.expire_ms, Some(1_700_000_000_000));
        assert_eq!((k.idle_secs, k.lfu_freq), (Some(5), Some(9)));
    }

    #[test]
    fn module_and_function_refusals() {
        let e = read_all(b"REDIS0010\xf6").unwrap_err();
        assert!(e
            .to_string()
            .contains("Pre-release function format not supported"));
        let mut f = b"REDIS0010\x07\x03key\x81".to_vec();
        f.extend_from_slice(&(0x1234_5678_9abc_u64 << 10).to_be_bytes());
        let e = read_all(&f).unwrap_err();
        assert!(matches!(e.kind, ErrorKind::ModuleData(_)));
        assert!(e.to_string().contains("key 'key'"), "{e}");
        let e = read_all(b"REDIS0010\xf7\x02").unwrap_err();
        assert!(matches!(e.kind, ErrorKind::ModuleData(_)), "{e}");
        let e = read_all(b"REDIS0010\x08\x01k").unwrap_err();
        assert!(matches!(e.kind, ErrorKind::UnknownType(8)));
        assert_eq!(e.offset, 9);
    }

    #[test]
    fn failed_reader_stays_failed() {
        let mut r = Reader::new(&b"REDIS0010\x00\x05ab"[..], ReaderOptions::default()).unwrap();
        assert!(r.next_item().is_err());
        assert!(r.next_item().is_err());
    }
}
