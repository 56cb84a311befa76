//! The primary's reading of a replica's REPLCONF (what it announced, what it asks), and the
//! rule for when a diskless full sync starts. The replica table and its states live in the
//! primary machine ([`crate::primary`]).

/// What a replica told us.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PeerInfo {
    /// Announced listening port (0 if never announced).
    pub listening_port: u16,
    /// Announced address (`replica-announce-ip`).
    pub ip: Option<String>,
    pub capa_eof: bool,
    pub capa_psync2: bool,
    pub capa_dual_channel: bool,
    /// Only the RDB is wanted (redis-cli --rdb, dual-channel RDB connection).
    pub rdb_only: bool,
    /// `rdb-filter-only`: `Some("")` = no data, `Some("functions")` = functions only.
    pub rdb_filter: Option<String>,
    pub rdb_channel: bool,
    /// Dual-channel main connection: the RDB connection it belongs to.
    pub rdb_client_id: Option<u64>,
    pub version: Option<String>,
}

/// What a REPLCONF command means.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Replconf {
    /// Reply `+OK` (options recorded).
    Ok,
    /// Reply with this error (`-ERR ...` text without the dash).
    Err(String),
    /// `ACK <offset> [FACK <aof>]`: never replied to.
    Ack { offset: i64, fack: Option<i64> },
    /// `GETACK`: never replied to; a replica answers with its own ACK.
    GetAck,
    /// `set-rdb-client-id`: the server must check the id exists, then reply.
    SetRdbClientId(u64),
}

fn int(v: &[u8]) -> Option<i64> {
    resp::request::parse_i64(v)
}

/// Interprets `REPLCONF <option> <value> ...` (args exclude the command name).
/// `accept_dual` = this primary has dual-channel on and diskless sync (Valkey's rule).
pub fn replconf(info: &mut PeerInfo, args: &[&[u8]], accept_dual: bool) -> Replconf {
    if !args.len().is_multiple_of(2) {
        return Replconf::Err("ERR syntax error".into());
    }
    let lower = |b: &[u8]| String::from_utf8_lossy(b).to_ascii_lowercase();
    for pair in args.chunks_exact(2) {
        let [name, val] = [pair.first(), pair.get(1)].map(|a| a.copied().unwrap_or_default());
        let opt = lower(name);
        match opt.as_str() {
            "ack" => {
                let Some(offset) = int(val) else {
                    return Replconf::Ack {
                        offset: -1,
                        fack: None,
                    };
                };
                let fack = args
                    .get(3)
                    .and_then(|v| int(v))
                    .filter(|_| args.get(2).is_some_and(|o| lower(o) == "fack"));
                return Replconf::Ack { offset, fack };
            }
            "getack" => return Replconf::GetAck,
            "listening-port" => match int(val).filter(|p| (0..=65535).contains(p)) {
                Some(p) => info.listening_port = p as u16,
                None => return Replconf::Err("ERR value is not an integer or out of range".into()),
            },
            "ip-address" => {
                if val.len() >= 256 {
                    return Replconf::Err(format!("ERR REPLCONF ip-address provided by replica instance is too long: {} bytes", val.len()));
                }
                info.ip = Some(String::from_utf8_lossy(val).into_owned());
            }
            "capa" => match lower(val).as_str() {
                "eof" => info.capa_eof = true,
                "psync2" => info.capa_psync2 = true,
                "dual-channel" if accept_dual => info.capa_dual_channel = true,
                _ => {}
            },
            "rdb-only" => match int(val) {
                Some(0) => info.rdb_only = false,
                Some(1) => info.rdb_only = true,
                _ => return Replconf::Err("ERR value is not an integer or out of range".into()),
            },
            "rdb-filter-only" => {
                let text = String::from_utf8_lossy(val).into_owned();
                for f in text.split_whitespace() {
                    if !f.eq_ignore_ascii_case("functions") {
                        return Replconf::Err(format!(
                            "ERR Unsupported rdb-filter-only option: {f}"
                        ));
                    }
                }
                info.rdb_filter = Some(text);
            }
            "rdb-channel" => match int(val) {
                Some(0) => info.rdb_channel = false,
                Some(1) => info.rdb_channel = true,
                _ => return Replconf::Err("ERR value is not an integer or out of range".into()),
            },
            "set-rdb-client-id" => match int(val) {
                Some(id) if id >= 0 => return Replconf::SetRdbClientId(id as u64),
                _ => return Replconf::Err("ERR value is not an integer or out of range".into()),
            },
            "version" => {
                let v = String::from_utf8_lossy(val).into_owned();
                let parts: Vec<&str> = v.split('.').collect();
                if parts.len() != 3 || parts.iter().any(|p| p.parse::<u32>().is_err()) {
                    return Replconf::Err(format!("ERR Unrecognized version format: {v}"));
                }
                info.version = Some(v);
            }
            _ => {
                return Replconf::Err(format!(
                    "ERR Unrecognized REPLCONF option: {}",
                    String::from_utf8_lossy(name)
                ))
            }
        }
    }
    Replconf::Ok
}

/// Replica states on the primary, with Redis's INFO names. Superseded by
/// [`crate::primary::ReplicaState`] (the primary machine's, with each state's data); kept while
/// the server still keeps its own replica table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PeerState {
    /// Waiting for a snapshot to start (diskless delay, or another snapshot running).
    WaitBgsaveStart,
    /// Snapshot running; the payload is being produced/sent.
    WaitBgsaveEnd,
    /// Partial resync done or payload delivered: streaming. With the EOF form, the stream is
    /// held until the replica's first ACK (`ack_gated`).
    Online { ack_gated: bool },
    /// Dual-channel main connection before its first ACK.
    BgTransfer,
}

impl PeerState {
    /// `state=` of INFO's `slaveN` line; `None` for states Redis omits.
    pub fn info_name(self) -> &'static str {
        match self {
            PeerState::WaitBgsaveStart | PeerState::WaitBgsaveEnd => "wait_bgsave",
            PeerState::Online { .. } => "online",
            PeerState::BgTransfer => "bg_transfer",
        }
    }
}

/// Whether a diskless snapshot should start now (`repl-diskless-sync-delay`, `-max-replicas`):
/// when the longest-waiting replica has waited `delay_ms`, or enough replicas are waiting.
pub fn diskless_start_due(
    waiting_since_ms: &[i64],
    now_ms: i64,
    delay_ms: i64,
    max_replicas: usize,
) -> bool {
    let Some(oldest) = waiting_since_ms.iter().min() else {
        return false;
    };
    if max_replicas > 0 && waiting_since_ms.len() >= max_replicas {
        return true;
    }
    now_ms - oldest >= delay_ms
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rc(info: &mut PeerInfo, args: &[&str]) -> Replconf {
        let a: Vec<&[u8]> = args.iter().map(|s| s.as_bytes()).collect();
        replconf(info, &a, false)
    }

    #[test]
    fn replconf_like_valkey() {
        let mut i = PeerInfo::default();
        assert_eq!(
            rc(
                &mut i,
                &["listening-port", "7121", "capa", "eof", "capa", "psync2"]
            ),
            Replconf::Ok
        );
        assert_eq!(
            (i.listening_port, i.capa_eof, i.capa_psync2),
            (7121, true, true)
        );
        assert_eq!(rc(&mut i, &["capa", "foo"]), Replconf::Ok);
        assert_eq!(rc(&mut i, &["capa", "dual-channel"]), Replconf::Ok);
        assert!(
            !i.capa_dual_channel,
            "ignored unless the primary accepts it"
        );
        assert_eq!(
            rc(&mut i, &["bogus", "1"]),
            Replconf::Err("ERR Unrecognized REPLCONF option: bogus".into())
        );
        assert_eq!(
            rc(&mut i, &["ack"]),
            Replconf::Err("ERR syntax error".into())
        );
        assert_eq!(
            rc(&mut i, &["ACK", "5"]),
            Replconf::Ack {
                offset: 5,
                fack: None
            }
        );
        assert_eq!(
            rc(&mut i, &["ack", "5", "fack", "3"]),
            Replconf::Ack {
                offset: 5,
                fack: Some(3)
            }
        );
        assert_eq!(rc(&mut i, &["GETACK", "*"]), Replconf::GetAck);
        assert_eq!(
            rc(&mut i, &["rdb-filter-only", "bad"]),
            Replconf::Err("ERR Unsupported rdb-filter-only option: bad".into())
        );
        assert_eq!(rc(&mut i, &["version", "8.0.1"]), Replconf::Ok);
        assert!(matches!(rc(&mut i, &["version", "x"]), Replconf::Err(_)));
    }

    #[test]
    fn diskless_delay_and_max_replicas() {
        assert!(!diskless_start_due(&[], 100, 0, 0));
        assert!(diskless_start_due(&[100], 100, 0, 0));
        assert!(!diskless_start_due(&[100], 4000, 5000, 0));
        assert!(diskless_start_due(&[100], 5100, 5000, 0));
        assert!(diskless_start_due(&[100, 200], 300, 5000, 2));
    }
}
