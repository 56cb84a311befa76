//! FUNCTION DUMP / RESTORE payloads: one FUNCTION2 record (opcode 245, then the library code
//! as an RDB string) per library, the RDB version (2 bytes, little endian) and the CRC64 of
//! everything before it, as Valkey's `functionDumpCommand` writes them. The RDB codec
//! (`rdb` crate) does the string encoding (LZF for long codes), the CRC and the parsing.

use resp::Reply;

use crate::errors;

/// The RDB version stamped into payloads we write: 10, which Redis 7.0 and Valkey 8.0 both
/// accept (Valkey 8 itself writes 11), as for key DUMP payloads.
pub const DUMP_RDB_VERSION: u16 = rdb::dump::DUMP_RDB_VERSION;

const FUNCTION2: u8 = rdb::opcode::FUNCTION2;
const FUNCTION_PRE_GA: u8 = rdb::opcode::FUNCTION_PRE_GA;

/// The payload for these library codes.
pub fn encode<'a>(codes: impl Iterator<Item = &'a [u8]>) -> Vec<u8> {
    let codes: Vec<&[u8]> = codes.collect();
    let Some((first, rest)) = codes.split_first() else {
        let mut out = DUMP_RDB_VERSION.to_le_bytes().to_vec();
        let crc = rdb::crc64::crc64(0, &out);
        out.extend_from_slice(&crc.to_le_bytes());
        return out;
    };
    // The codec writes the first opcode as the payload's "type" byte.
    rdb::dump_payload_with(FUNCTION2, |w| {
        w.string(first)?;
        for code in rest {
            w.function(code)?;
        }
        Ok(())
    })
    .unwrap_or_default()
}

/// The library codes of a payload, or FUNCTION RESTORE's error.
pub fn decode(payload: &[u8]) -> Result<Vec<Vec<u8>>, Reply> {
    let bad = || Reply::error(errors::RESTORE_BAD_PAYLOAD);
    let Some(body_len) = payload.len().checked_sub(10) else {
        return Err(bad());
    };
    let footer = &payload[body_len..];
    let version = u16::from_le_bytes([footer[0], footer[1]]);
    if version as u32 > rdb::MAX_VERSION {
        return Err(bad());
    }
    let mut stored = [0u8; 8];
    stored.copy_from_slice(&footer[2..]);
    if rdb::crc64::crc64(0, &payload[..body_len + 2]) != u64::from_le_bytes(stored) {
        return Err(bad());
    }
    // Feed the records to the RDB reader as the body of a file: header, records, EOF and an
    // unchecked (zero) checksum.
    let mut file = b"REDIS0011".to_vec();
    file.extend_from_slice(&payload[..body_len]);
    file.push(rdb::opcode::EOF);
    file.extend_from_slice(&[0; 8]);
    let body_end = 9 + body_len as u64;
    let opts = rdb::ReaderOptions {
        verify_checksum: false,
    };
    let mut reader = rdb::Reader::new(&file[..], opts).map_err(|_| bad())?;
    let mut codes = Vec::new();
    loop {
        let at = reader.bytes_read();
        if at >= body_end {
            return Ok(codes);
        }
        match file.get(at as usize) {
            Some(&FUNCTION2) => {}
            Some(&FUNCTION_PRE_GA) => return Err(Reply::error(errors::RESTORE_PRE_GA)),
            _ => return Err(Reply::error(errors::RESTORE_NOT_FUNCTION)),
        }
        match reader.next_item() {
            Ok(Some(rdb::Item::Function(code))) if reader.bytes_read() <= body_end => {
                codes.push(code)
            }
            _ => return Err(Reply::error(errors::RESTORE_LOAD_FAILED)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_payload_is_version_and_crc() {
        let p = encode(std::iter::empty());
        assert_eq!(p.len(), 10);
        assert_eq!(decode(&p).unwrap(), Vec::<Vec<u8>>::new());
    }

    #[test]
    fn round_trip_and_corruption() {
        let long = "#!lua name=big\n".to_string() + &"-- padding\n".repeat(20);
        let codes: Vec<&[u8]> = vec![b"#!lua name=a\nx", long.as_bytes()];
        let p = encode(codes.iter().copied());
        assert_eq!(
            decode(&p).unwrap(),
            vec![codes[0].to_vec(), codes[1].to_vec()]
        );
        let mut bad = p.clone();
        bad[3] ^= 1;
        assert_eq!(
            decode(&bad).unwrap_err(),
            Reply::error(errors::RESTORE_BAD_PAYLOAD)
        );
        assert_eq!(
            decode(b"short").unwrap_err(),
            Reply::error(errors::RESTORE_BAD_PAYLOAD)
        );
    }
}
