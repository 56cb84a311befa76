//! Replication messages: building the commands a replica sends, and parsing what a primary
//! answers (`+FULLRESYNC`, `+CONTINUE`, `$<len>` / `$EOF:` headers, `$ENDOFF`).

/// Encodes a command as a RESP multibulk.
pub fn command<T: AsRef<[u8]>>(args: &[T]) -> Vec<u8> {
    let mut out = Vec::new();
    resp::reply::encode_command(&mut out, args);
    out
}

/// The primary's answer to PSYNC.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PsyncReply {
    FullResync {
        replid: String,
        offset: i64,
    },
    /// Partial resync accepted; the id is present when the primary knows `capa psync2`.
    Continue {
        replid: Option<String>,
    },
    /// Valkey dual-channel: open the RDB channel.
    DualChannel,
    /// `-NOMASTERLINK` / `-LOADING`: try again later.
    TryLater(String),
    /// Any other error: the primary may not know PSYNC; fall back to SYNC.
    Error(String),
    /// Something unexpected (also falls back to SYNC, as Redis does).
    Unexpected(String),
}

pub fn parse_psync_reply(line: &str) -> PsyncReply {
    if let Some(rest) = line.strip_prefix("+FULLRESYNC") {
        let mut it = rest.split_whitespace();
        let replid = it.next().unwrap_or("").to_string();
        let offset = it.next().and_then(|o| o.parse().ok()).unwrap_or(-1);
        // A malformed id is kept blank so the next PSYNC cannot wrongly continue.
        let replid = if replid.len() == 40 {
            replid
        } else {
            String::new()
        };
        return PsyncReply::FullResync { replid, offset };
    }
    if let Some(rest) = line.strip_prefix("+CONTINUE") {
        let id = rest.trim();
        return PsyncReply::Continue {
            replid: (id.len() == 40).then(|| id.to_string()),
        };
    }
    if line.starts_with("+DUALCHANNELSYNC") {
        return PsyncReply::DualChannel;
    }
    if line.starts_with("-NOMASTERLINK") || line.starts_with("-LOADING") {
        return PsyncReply::TryLater(line.to_string());
    }
    if line.starts_with('-') {
        return PsyncReply::Error(line.to_string());
    }
    PsyncReply::Unexpected(line.to_string())
}

/// The header before a full-sync payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BulkHeader {
    /// `$<len>`: exactly `len` RDB bytes follow (no trailing CRLF).
    Len(u64),
    /// `$EOF:<mark>`: RDB bytes follow, terminated by the same 40-byte mark.
    Eof([u8; 40]),
}

pub fn parse_bulk_header(line: &str) -> Result<BulkHeader, String> {
    if let Some(rest) = line.strip_prefix("$EOF:") {
        let mark: Option<[u8; 40]> = rest.as_bytes().get(..40).and_then(|m| m.try_into().ok());
        return match mark {
            Some(mark) => Ok(BulkHeader::Eof(mark)),
            None => Err(format!("bad EOF mark in bulk header: {line:?}")),
        };
    }
    if let Some(rest) = line.strip_prefix('$') {
        return rest
            .parse::<u64>()
            .map(BulkHeader::Len)
            .map_err(|_| format!("bad bulk length: {line:?}"));
    }
    if let Some(msg) = line.strip_prefix('-') {
        return Err(format!("MASTER aborted replication with an error: {msg}"));
    }
    Err(format!("Bad protocol from MASTER, the first byte is not '$' (we received '{line}'), are you sure the host and port are right?"))
}

/// `$ENDOFF:<offset> <replid> <dbid> <client-id>` (Valkey dual-channel RDB channel).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndOff {
    pub offset: i64,
    pub replid: String,
    pub db: i64,
    pub client_id: u64,
}

pub fn parse_endoff(line: &str) -> Result<EndOff, String> {
    let bad = || format!("Received unexpected $ENDOFF response: {line:?}");
    let rest = line.strip_prefix("$ENDOFF:").ok_or_else(bad)?;
    let mut it = rest.split_whitespace();
    let offset = it.next().and_then(|v| v.parse().ok()).ok_or_else(bad)?;
    let replid: String = it.next().ok_or_else(bad)?.chars().take(40).collect();
    let db = it.next().and_then(|v| v.parse().ok()).ok_or_else(bad)?;
    let client_id = it.next().and_then(|v| v.parse().ok()).ok_or_else(bad)?;
    Ok(EndOff {
        offset,
        replid,
        db,
        client_id,
    })
}

/// `$ENDOFF` line as a primary writes it.
pub fn endoff_line(e: &EndOff) -> Vec<u8> {
    format!(
        "$ENDOFF:{} {} {} {}\r\n",
        e.offset, e.replid, e.db, e.client_id
    )
    .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn psync_replies() {
        let id = "3d37f77204689583e4946f3375f118d6c96e91c7";
        assert_eq!(
            parse_psync_reply(&format!("+FULLRESYNC {id} 14")),
            PsyncReply::FullResync {
                replid: id.into(),
                offset: 14
            }
        );
        assert_eq!(
            parse_psync_reply(&format!("+CONTINUE {id}")),
            PsyncReply::Continue {
                replid: Some(id.into())
            }
        );
        assert_eq!(
            parse_psync_reply("+CONTINUE"),
            PsyncReply::Continue { replid: None }
        );
        assert!(matches!(
            parse_psync_reply("-NOMASTERLINK Can't SYNC while not connected with my master"),
            PsyncReply::TryLater(_)
        ));
        assert!(matches!(
            parse_psync_reply("-ERR unknown command 'PSYNC'"),
            PsyncReply::Error(_)
        ));
        assert_eq!(
            parse_psync_reply("+FULLRESYNC short 5"),
            PsyncReply::FullResync {
                replid: String::new(),
                offset: 5
            }
        );
    }

    #[test]
    fn headers() {
        assert_eq!(parse_bulk_header("$415"), Ok(BulkHeader::Len(415)));
        let mark = "a".repeat(40);
        assert_eq!(
            parse_bulk_header(&format!("$EOF:{mark}")),
            Ok(BulkHeader::Eof([b'a'; 40]))
        );
        assert!(parse_bulk_header("+OK").is_err());
        let e = parse_endoff("$ENDOFF:853 3d37f77204689583e4946f3375f118d6c96e91c7 0 42").unwrap();
        assert_eq!(
            e,
            EndOff {
                offset: 853,
                replid: "3d37f77204689583e4946f3375f118d6c96e91c7".into(),
                db: 0,
                client_id: 42
            }
        );
        assert_eq!(
            parse_endoff(String::from_utf8(endoff_line(&e)).unwrap().trim_end()).unwrap(),
            e
        );
        assert!(parse_endoff("$ENDOFF:1 x").is_err());
    }
}
