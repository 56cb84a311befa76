//! DUMP / RESTORE payloads: `<type byte> <value> <u16 LE RDB version> <u64 LE CRC64>`,
//! where the CRC covers everything before it (Redis `createDumpPayload` /
//! `verifyDumpPayload`).

use std::io;

use crate::crc64::crc64;
use crate::error::{ErrorKind, RdbError};
use crate::input::Input;
use crate::load::read_value;
use crate::reader::MAX_VERSION;
use crate::value::{type_id as t, Value};
use crate::writer::{Writer, WriterOptions};

/// The RDB version stamped into payloads we create: Redis 7.0's, so that both
/// Redis 7.0 and Valkey 8.0 accept them.
pub const DUMP_RDB_VERSION: u16 = 10;

const FOOTER: usize = 10;

/// Serialises `value` as a DUMP payload (LZF compression on, as Redis's
/// default `rdbcompression yes`). Writing to memory fails only for a stream entry too large
/// for a 4 GiB listpack node, which no Redis stream can hold.
pub fn dump_payload(value: &Value) -> io::Result<Vec<u8>> {
    dump_payload_with(value.type_id(), |w| w.value(value))
}

/// Streaming variant: writes the type byte, lets `body` write the value with
/// the writer's low-level calls, then appends the footer.
pub fn dump_payload_with<F>(type_id: u8, body: F) -> io::Result<Vec<u8>>
where
    F: FnOnce(&mut Writer<Vec<u8>>) -> io::Result<()>,
{
    let opts = WriterOptions {
        compression: true,
        checksum: true,
    };
    let mut w = Writer::new(Vec::new(), opts);
    w.raw(&[type_id])?;
    body(&mut w)?;
    w.finish_dump(DUMP_RDB_VERSION)
}

/// Parses a DUMP payload. A footer that is too short, names an RDB version
/// above 11, or (when `verify_checksum`) has a wrong CRC yields
/// [`ErrorKind::BadDumpFooter`]; any other problem, including bytes left over
/// between the value and the footer, is a corruption error.
pub fn parse_dump_payload(bytes: &[u8], verify_checksum: bool) -> Result<Value, RdbError> {
    let body_len = check_footer(bytes, verify_checksum)?;
    let body = &bytes[..body_len];
    let mut inp = Input::new(body, false);
    let ty = inp.u8()?;
    if ty == t::MODULE_PRE_GA || ty == t::MODULE_2 {
        let msg = "DUMP payload holds module data, which is not supported".to_string();
        return Err(RdbError::new(0, ErrorKind::ModuleData(msg)));
    }
    let value = read_value(&mut inp, ty)?;
    if !inp.at_end()? {
        return Err(RdbError::corrupt(
            inp.offset(),
            "trailing bytes after the DUMP payload value",
        ));
    }
    Ok(value)
}

/// Returns the length of the payload before its footer.
fn check_footer(bytes: &[u8], verify_checksum: bool) -> Result<usize, RdbError> {
    let bad = |at: usize| RdbError::new(at as u64, ErrorKind::BadDumpFooter);
    let Some(body_len) = bytes.len().checked_sub(FOOTER) else {
        return Err(bad(0));
    };
    let footer = &bytes[body_len..];
    let version = u16::from_le_bytes([footer[0], footer[1]]);
    if version as u32 > MAX_VERSION {
        return Err(bad(body_len));
    }
    if verify_checksum {
        let mut stored = [0u8; 8];
        stored.copy_from_slice(&footer[2..]);
        if crc64(0, &bytes[..body_len + 2]) != u64::from_le_bytes(stored) {
            return Err(bad(body_len + 2));
        }
    }
    Ok(body_len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_matches_redis() {
        let p = dump_payload(&Value::String(b"hello".to_vec())).unwrap();
        // type 0, len 5, "hello", version 10, CRC.
        assert_eq!(&p[..9], b"\x00\x05hello\x0a\x00");
        assert_eq!(p.len(), 9 + 8);
        let crc = crc64(0, &p[..9]);
        assert_eq!(&p[9..], &crc.to_le_bytes());
        assert_eq!(
            parse_dump_payload(&p, true).unwrap(),
            Value::String(b"hello".to_vec())
        );
    }

    #[test]
    fn footer_errors_are_distinguishable() {
        let p = dump_payload(&Value::List(vec![b"a".to_vec()])).unwrap();
        assert!(parse_dump_payload(&p[..5], true)
            .unwrap_err()
            .is_bad_dump_footer());
        let mut bad_crc = p.clone();
        *bad_crc.last_mut().unwrap() ^= 1;
        assert!(parse_dump_payload(&bad_crc, true)
            .unwrap_err()
            .is_bad_dump_footer());
        assert!(parse_dump_payload(&bad_crc, false).is_ok());
        let mut v12 = p.clone();
        let n = v12.len();
        v12[n - 10] = 12;
        assert!(parse_dump_payload(&v12, false)
            .unwrap_err()
            .is_bad_dump_footer());
    }

    #[test]
    fn trailing_garbage_is_rejected() {
        let p = dump_payload(&Value::String(b"x".to_vec())).unwrap();
        let n = p.len();
        let mut with_junk = p[..n - 10].to_vec();
        with_junk.push(0);
        with_junk.extend_from_slice(&p[n - 10..n - 8]);
        let crc = crc64(0, &with_junk);
        with_junk.extend_from_slice(&crc.to_le_bytes());
        let e = parse_dump_payload(&with_junk, true).unwrap_err();
        assert!(!e.is_bad_dump_footer());
        assert!(e.to_string().contains("trailing"), "{e}");
    }
}
