//! The replica side of one connection to a primary, as a pure state machine.
//!
//! The I/O layer feeds it events (connected, bytes received, clock ticks, load finished) and
//! carries out the actions it returns (send bytes, forward payload bytes to a loader, start
//! streaming, give up). It implements the handshake in Redis's exact order — PING alone, then
//! AUTH and REPLCONFs pipelined with their replies read one by one, then PSYNC only after every
//! reply — and the framing of the full-sync payload (`$<len>` or `$EOF:<mark>` forms, keepalive
//! newlines). Applying the stream is not its business: once streaming, bytes are passed through.
//!
//! Valkey's dual-channel full sync uses two `Link`s. The main one, offered `+DUALCHANNELSYNC`,
//! waits for the snapshot connection's `$ENDOFF`, then sends `REPLCONF set-rdb-client-id` and
//! `PSYNC <replid> <endoff+1>`; after `+CONTINUE` it passes the stream on for buffering while
//! the snapshot loads. The snapshot one (`LinkConfig::rdb_channel`) skips PING, sends AUTH and
//! `REPLCONF capa eof rdb-only 1 rdb-channel 1 listening-port <p>`, then `SYNC`, reads
//! `$ENDOFF`, then the payload as a single-channel sync would.

use std::collections::VecDeque;

use crate::proto::{self, parse_bulk_header, parse_psync_reply, BulkHeader, EndOff, PsyncReply};

/// States, in the order a successful sync goes through them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkState {
    /// TCP connection in progress.
    Connecting,
    /// Handshake commands sent, replies outstanding.
    Handshake,
    /// All handshake replies read; waiting for the owner to call [`Link::psync`].
    ReadyForPsync,
    /// PSYNC (or SYNC) sent; waiting for the reply.
    AwaitPsyncReply,
    /// Dual-channel main connection: waiting for the snapshot connection's `$ENDOFF`.
    DualAwaitEndOff,
    /// Dual-channel main connection: `set-rdb-client-id` sent, reply outstanding.
    DualAwaitRdbIdReply,
    /// Snapshot connection: SYNC sent, waiting for `$ENDOFF`.
    AwaitEndOff,
    /// Full sync agreed; waiting for the payload header.
    AwaitPayload,
    /// Receiving RDB bytes.
    Payload,
    /// Payload complete; the owner is loading it. Stream bytes are passed on for buffering.
    Loading,
    /// Partial resync accepted or full sync loaded: the replication stream flows.
    Streaming,
}

impl LinkState {
    /// The ROLE state name (`connect`, `connecting`, `handshake`, `sync`, `connected`).
    pub fn role_name(self) -> &'static str {
        match self {
            LinkState::Connecting => "connecting",
            LinkState::Handshake | LinkState::ReadyForPsync | LinkState::AwaitPsyncReply => {
                "handshake"
            }
            LinkState::DualAwaitEndOff
            | LinkState::DualAwaitRdbIdReply
            | LinkState::AwaitEndOff
            | LinkState::AwaitPayload
            | LinkState::Payload
            | LinkState::Loading => "sync",
            LinkState::Streaming => "connected",
        }
    }
}

/// How the replica introduces itself.
#[derive(Clone, Debug)]
pub struct LinkConfig {
    pub listening_port: u16,
    pub announce_ip: Option<String>,
    /// `(masteruser, masterauth)`.
    pub auth: Option<(Option<String>, String)>,
    pub dual_channel: bool,
    /// This is a dual-channel snapshot connection (not the main one).
    pub rdb_channel: bool,
    /// `repl-timeout` in ms.
    pub timeout_ms: i64,
}

/// What the owner must do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    Send(Vec<u8>),
    /// Handshake complete: decide what to ask for and call [`Link::psync`].
    HandshakeDone,
    /// The primary will send a full snapshot; `replid` is `None` after a legacy SYNC.
    FullResync {
        replid: Option<String>,
        offset: i64,
    },
    /// The payload starts; its size when known (`$<len>` form).
    PayloadStart {
        total: Option<u64>,
    },
    Payload(Vec<u8>),
    PayloadEnd,
    /// Partial resync accepted (new id when the primary sent one).
    Continue {
        replid: Option<String>,
    },
    /// Replication stream bytes (buffer them while loading).
    Stream(Vec<u8>),
    /// The primary offers Valkey's dual-channel sync: open the snapshot connection.
    DualChannel,
    /// Snapshot connection: the snapshot's position and the connection's id on the primary.
    /// Pass it to the main link ([`Link::dual_endoff`]).
    EndOff(EndOff),
    /// Dual-channel main connection: PSYNC accepted; the stream follows (buffer it until the
    /// snapshot is loaded, then call [`Link::on_load_done`]).
    DualContinue {
        replid: Option<String>,
    },
    /// Close and retry later without counting an error (-NOMASTERLINK, -LOADING).
    RetryLater(String),
    /// Close; the attempt failed.
    Fail(String),
    /// A `PSYNC … FAILOVER` was refused (any reply but `+CONTINUE`, `+FULLRESYNC` or
    /// `+DUALCHANNELSYNC`): the FAILOVER that sent it is over. Nothing more is sent.
    FailoverRejected(String),
    Log(String),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Pending {
    Ping,
    Auth,
    Port,
    Ip,
    Capa,
    /// The snapshot connection's `REPLCONF capa eof rdb-only 1 rdb-channel 1 ...`.
    RdbCapa,
}

#[derive(Debug)]
enum Payload {
    Len {
        remaining: u64,
    },
    /// Bytes not yet passed on, because they might be the start of the mark.
    Eof {
        mark: [u8; 40],
        held: Vec<u8>,
    },
}

/// One replication connection, replica side.
#[derive(Debug)]
pub struct Link {
    cfg: LinkConfig,
    state: LinkState,
    pending: VecDeque<Pending>,
    inbuf: Vec<u8>,
    last_io_ms: i64,
    payload: Option<Payload>,
    /// What the primary agreed to (for INFO).
    pub full_sync: Option<(Option<String>, i64)>,
    /// Payload bytes received so far and the total when known (INFO master_sync_*).
    pub payload_read: u64,
    pub payload_total: Option<u64>,
    /// Dual-channel main connection: the snapshot position PSYNC continues from.
    pub endoff: Option<EndOff>,
    /// The outstanding PSYNC is the dual-channel one (only `+CONTINUE` is acceptable).
    dual_psync: bool,
    /// The outstanding PSYNC is a `PSYNC … FAILOVER`.
    failover: bool,
}

impl Link {
    pub fn new(cfg: LinkConfig, now_ms: i64) -> Link {
        Link {
            cfg,
            state: LinkState::Connecting,
            pending: VecDeque::new(),
            inbuf: Vec::new(),
            last_io_ms: now_ms,
            payload: None,
            full_sync: None,
            payload_read: 0,
            payload_total: None,
            endoff: None,
            dual_psync: false,
            failover: false,
        }
    }

    pub fn state(&self) -> LinkState {
        self.state
    }

    pub fn last_io_ms(&self) -> i64 {
        self.last_io_ms
    }

    /// Bytes arrived that the owner handled itself (a streaming link's bytes fed straight to
    /// the command parser): the link is alive.
    pub fn note_io(&mut self, now_ms: i64) {
        self.last_io_ms = now_ms;
    }

    /// `repl-timeout` changed: it applies to this connection from now on (Valkey reads the
    /// parameter at each check).
    pub fn set_timeout_ms(&mut self, timeout_ms: i64) {
        self.cfg.timeout_ms = timeout_ms;
    }

    /// The TCP connection is up: send PING (a snapshot connection goes straight to AUTH and
    /// its REPLCONF).
    pub fn on_connected(&mut self, now_ms: i64) -> Vec<Action> {
        self.last_io_ms = now_ms;
        self.state = LinkState::Handshake;
        if self.cfg.rdb_channel {
            self.pending.clear();
            return vec![Action::Send(self.send_rdb_handshake())];
        }
        self.pending = VecDeque::from([Pending::Ping]);
        vec![Action::Send(proto::command(&["PING"]))]
    }

    fn send_auth(&mut self, out: &mut Vec<u8>) {
        if let Some((user, pass)) = &self.cfg.auth {
            match user {
                Some(u) => out.extend(proto::command(&["AUTH", u, pass])),
                None => out.extend(proto::command(&["AUTH", pass])),
            }
            self.pending.push_back(Pending::Auth);
        }
    }

    /// The snapshot connection's one command (after AUTH).
    fn send_rdb_handshake(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        self.send_auth(&mut out);
        out.extend(proto::command(&[
            "REPLCONF",
            "capa",
            "eof",
            "rdb-only",
            "1",
            "rdb-channel",
            "1",
            "listening-port",
            &self.cfg.listening_port.to_string(),
        ]));
        self.pending.push_back(Pending::RdbCapa);
        out
    }

    /// After PING answered: AUTH and REPLCONFs, pipelined.
    fn send_handshake(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        self.send_auth(&mut out);
        out.extend(proto::command(&[
            "REPLCONF",
            "listening-port",
            &self.cfg.listening_port.to_string(),
        ]));
        self.pending.push_back(Pending::Port);
        if let Some(ip) = &self.cfg.announce_ip {
            out.extend(proto::command(&["REPLCONF", "ip-address", ip]));
            self.pending.push_back(Pending::Ip);
        }
        if self.cfg.dual_channel {
            out.extend(proto::command(&[
                "REPLCONF",
                "capa",
                "eof",
                "capa",
                "psync2",
                "capa",
                "dual-channel",
            ]));
        } else {
            out.extend(proto::command(&[
                "REPLCONF", "capa", "eof", "capa", "psync2",
            ]));
        }
        self.pending.push_back(Pending::Capa);
        out
    }

    /// Sends PSYNC: `from` = (replid, first byte wanted), or `None` for `PSYNC ? -1`;
    /// `failover` adds `FAILOVER` (this node, running FAILOVER, hands over to the primary it
    /// now follows).
    pub fn psync(&mut self, from: Option<(&str, i64)>, failover: bool) -> Vec<Action> {
        if self.state != LinkState::ReadyForPsync {
            return vec![];
        }
        self.state = LinkState::AwaitPsyncReply;
        self.failover = failover;
        let off = from.map(|(_, off)| off.to_string());
        let mut args = match (from, off.as_deref()) {
            (Some((id, _)), Some(off)) => vec!["PSYNC", id, off],
            _ => vec!["PSYNC", "?", "-1"],
        };
        if failover {
            args.push("FAILOVER");
        }
        vec![Action::Send(proto::command(&args))]
    }

    /// Dual-channel main connection: the snapshot connection read `$ENDOFF`. Associates this
    /// connection with it (`set-rdb-client-id`); PSYNC follows the reply.
    pub fn dual_endoff(&mut self, e: &EndOff) -> Vec<Action> {
        if self.state != LinkState::DualAwaitEndOff {
            return vec![];
        }
        self.state = LinkState::DualAwaitRdbIdReply;
        self.endoff = Some(e.clone());
        vec![Action::Send(proto::command(&[
            "REPLCONF",
            "set-rdb-client-id",
            &e.client_id.to_string(),
        ]))]
    }

    /// Bytes from the primary.
    pub fn on_data(&mut self, now_ms: i64, data: &[u8]) -> Vec<Action> {
        self.last_io_ms = now_ms;
        let mut out = Vec::new();
        match self.state {
            LinkState::Payload => self.payload_bytes(data, &mut out),
            LinkState::Loading | LinkState::Streaming => out.push(Action::Stream(data.to_vec())),
            LinkState::Connecting | LinkState::ReadyForPsync => {
                self.inbuf.extend_from_slice(data);
            }
            _ => {
                self.inbuf.extend_from_slice(data);
                self.process_lines(&mut out);
            }
        }
        out
    }

    /// Consumes complete lines of the handshake/psync/header phases.
    fn process_lines(&mut self, out: &mut Vec<Action>) {
        while let Some(nl) = self.inbuf.iter().position(|&b| b == b'\n') {
            let mut line: Vec<u8> = self.inbuf.drain(..=nl).collect();
            line.pop();
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            let text = String::from_utf8_lossy(&line).into_owned();
            let before = self.state;
            self.on_line(&text, out);
            if out
                .iter()
                .any(|a| matches!(a, Action::Fail(_) | Action::RetryLater(_)))
            {
                return;
            }
            if self.state != before
                && matches!(
                    self.state,
                    LinkState::Payload | LinkState::Streaming | LinkState::Loading
                )
            {
                let rest = std::mem::take(&mut self.inbuf);
                if !rest.is_empty() {
                    if self.state == LinkState::Payload {
                        self.payload_bytes(&rest, out);
                    } else {
                        out.push(Action::Stream(rest));
                    }
                }
                return;
            }
            if self.state == LinkState::ReadyForPsync {
                return;
            }
        }
        if self.inbuf.len() > 64 * 1024 {
            out.push(Action::Fail("Reply line from MASTER too long".into()));
        }
    }

    fn on_line(&mut self, line: &str, out: &mut Vec<Action>) {
        match self.state {
            LinkState::Handshake => self.handshake_reply(line, out),
            LinkState::AwaitPsyncReply if self.dual_psync => self.dual_psync_reply(line, out),
            LinkState::AwaitPsyncReply => self.psync_reply(line, out),
            LinkState::DualAwaitRdbIdReply => self.rdb_id_reply(line, out),
            LinkState::AwaitEndOff => self.endoff_line(line, out),
            LinkState::AwaitPayload => self.payload_header(line, out),
            _ => {}
        }
    }

    fn handshake_reply(&mut self, line: &str, out: &mut Vec<Action>) {
        let Some(step) = self.pending.pop_front() else {
            return;
        };
        let err = line.starts_with('-');
        match step {
            Pending::Ping => {
                let ok = !err
                    || line.starts_with("-NOAUTH")
                    || line.starts_with("-NOPERM")
                    || line.starts_with("-ERR operation not permitted");
                if !ok {
                    out.push(Action::Fail(format!(
                        "Error reply to PING from master: '{line}'"
                    )));
                    return;
                }
                let cmds = self.send_handshake();
                out.push(Action::Send(cmds));
            }
            Pending::Auth if err => {
                out.push(Action::Fail(format!("Unable to AUTH to PRIMARY: {line}")))
            }
            Pending::RdbCapa if err => out.push(Action::Fail(format!(
                "Server does not support sync with offset, dual channel sync approach cannot be used: {line}"
            ))),
            Pending::Port | Pending::Ip | Pending::Capa if err => {
                out.push(Action::Log(format!(
                    "(Non critical) Master does not understand REPLCONF {}: {line}",
                    step_name(step)
                )));
            }
            _ => {}
        }
        if self.pending.is_empty() && !out.iter().any(|a| matches!(a, Action::Fail(_))) {
            if self.cfg.rdb_channel {
                self.state = LinkState::AwaitEndOff;
                out.push(Action::Send(b"SYNC\r\n".to_vec()));
            } else {
                self.state = LinkState::ReadyForPsync;
                out.push(Action::HandshakeDone);
            }
        }
    }

    /// Snapshot connection: `$ENDOFF` (keepalive newlines may precede it), then the payload.
    fn endoff_line(&mut self, line: &str, out: &mut Vec<Action>) {
        if line.is_empty() {
            return;
        }
        match proto::parse_endoff(line) {
            Ok(e) => {
                self.state = LinkState::AwaitPayload;
                self.full_sync = Some((Some(e.replid.clone()), e.offset));
                out.push(Action::EndOff(e));
            }
            Err(_) if line.starts_with('-') => out.push(Action::Fail(format!(
                "MASTER aborted replication with an error: {}",
                &line[1..]
            ))),
            Err(e) => out.push(Action::Fail(e)),
        }
    }

    /// Main connection: the reply to `set-rdb-client-id`; on success, PSYNC from the snapshot.
    fn rdb_id_reply(&mut self, line: &str, out: &mut Vec<Action>) {
        if line.is_empty() {
            return;
        }
        if line.starts_with('-') {
            out.push(Action::Fail(format!(
                "Error reply to REPLCONF set-rdb-client-id from primary: {line}"
            )));
            return;
        }
        let Some(e) = &self.endoff else {
            out.push(Action::Fail("dual-channel PSYNC without $ENDOFF".into()));
            return;
        };
        let cmd = proto::command(&["PSYNC", &e.replid, &(e.offset + 1).to_string()]);
        self.state = LinkState::AwaitPsyncReply;
        self.dual_psync = true;
        out.push(Action::Send(cmd));
    }

    /// Main connection: the reply to the dual-channel PSYNC. Only `+CONTINUE` fits; anything
    /// else aborts this sync (it is retried from the start).
    fn dual_psync_reply(&mut self, line: &str, out: &mut Vec<Action>) {
        if line.is_empty() {
            return;
        }
        match parse_psync_reply(line) {
            PsyncReply::Continue { replid } => {
                self.state = LinkState::Loading;
                out.push(Action::DualContinue { replid });
            }
            PsyncReply::TryLater(msg) => out.push(Action::RetryLater(msg)),
            _ => out.push(Action::Fail(format!(
                "Unexpected reply to the dual-channel PSYNC from primary: {line}"
            ))),
        }
    }

    fn psync_reply(&mut self, line: &str, out: &mut Vec<Action>) {
        if line.is_empty() {
            return; // keepalive newline
        }
        match parse_psync_reply(line) {
            PsyncReply::FullResync { replid, offset } => {
                self.state = LinkState::AwaitPayload;
                let id = (!replid.is_empty()).then_some(replid);
                self.full_sync = Some((id.clone(), offset));
                out.push(Action::FullResync { replid: id, offset });
            }
            PsyncReply::Continue { replid } => {
                self.state = LinkState::Streaming;
                out.push(Action::Continue { replid });
            }
            PsyncReply::DualChannel if self.cfg.dual_channel => {
                self.state = LinkState::DualAwaitEndOff;
                out.push(Action::DualChannel);
            }
            PsyncReply::TryLater(msg) | PsyncReply::Error(msg) | PsyncReply::Unexpected(msg)
                if self.failover =>
            {
                out.push(Action::FailoverRejected(msg));
            }
            PsyncReply::TryLater(msg) => out.push(Action::RetryLater(msg)),
            PsyncReply::Error(msg) | PsyncReply::Unexpected(msg) => {
                out.push(Action::Log(format!(
                    "Unexpected reply to PSYNC from master: {msg}; retrying with SYNC..."
                )));
                self.state = LinkState::AwaitPayload;
                self.full_sync = Some((None, -1));
                out.push(Action::Send(b"SYNC\r\n".to_vec()));
                out.push(Action::FullResync {
                    replid: None,
                    offset: -1,
                });
            }
            PsyncReply::DualChannel => {
                out.push(Action::Fail(
                    "Unexpected +DUALCHANNELSYNC: dual-channel was not offered".into(),
                ));
            }
        }
    }

    fn payload_header(&mut self, line: &str, out: &mut Vec<Action>) {
        if line.is_empty() {
            return;
        }
        match parse_bulk_header(line) {
            Ok(BulkHeader::Len(n)) => {
                self.payload = Some(Payload::Len { remaining: n });
                self.payload_total = Some(n);
                self.state = LinkState::Payload;
                out.push(Action::PayloadStart { total: Some(n) });
                if n == 0 {
                    self.state = LinkState::Loading;
                    out.push(Action::PayloadEnd);
                }
            }
            Ok(BulkHeader::Eof(mark)) => {
                self.payload = Some(Payload::Eof {
                    mark,
                    held: Vec::new(),
                });
                self.payload_total = None;
                self.state = LinkState::Payload;
                out.push(Action::PayloadStart { total: None });
            }
            Err(e) => out.push(Action::Fail(e)),
        }
    }

    fn payload_bytes(&mut self, data: &[u8], out: &mut Vec<Action>) {
        match self.payload.as_mut() {
            Some(Payload::Len { remaining }) => {
                let take = (*remaining).min(data.len() as u64) as usize;
                *remaining -= take as u64;
                self.payload_read += take as u64;
                let (body, rest) = data.split_at_checked(take).unwrap_or((data, &[]));
                if !body.is_empty() {
                    out.push(Action::Payload(body.to_vec()));
                }
                if *remaining == 0 {
                    self.finish_payload(rest, out);
                }
            }
            Some(Payload::Eof { mark, held }) => {
                let mut all = std::mem::take(held);
                all.extend_from_slice(data);
                if let Some(p) = all.windows(40).position(|w| w == mark) {
                    self.payload_read += p as u64;
                    let (body, marked) = all.split_at_checked(p).unwrap_or((&all, &[]));
                    if !body.is_empty() {
                        out.push(Action::Payload(body.to_vec()));
                    }
                    let rest = marked.get(40..).unwrap_or_default().to_vec();
                    self.finish_payload(&rest, out);
                } else {
                    // Keep the last 39 bytes: they may be the start of the mark.
                    let emit = all.len().saturating_sub(39);
                    self.payload_read += emit as u64;
                    let (body, kept) = all.split_at_checked(emit).unwrap_or((&[], &all));
                    if !body.is_empty() {
                        out.push(Action::Payload(body.to_vec()));
                    }
                    *held = kept.to_vec();
                }
            }
            None => out.push(Action::Fail("payload bytes without a header".into())),
        }
    }

    fn finish_payload(&mut self, rest: &[u8], out: &mut Vec<Action>) {
        self.payload = None;
        self.state = LinkState::Loading;
        out.push(Action::PayloadEnd);
        if !rest.is_empty() {
            out.push(Action::Stream(rest.to_vec()));
        }
    }

    /// The owner finished loading the payload.
    pub fn on_load_done(&mut self, ok: bool, reason: &str) -> Vec<Action> {
        if self.state != LinkState::Loading {
            return vec![];
        }
        if ok {
            self.state = LinkState::Streaming;
            vec![]
        } else {
            vec![Action::Fail(format!(
                "Failed trying to load the MASTER synchronization DB: {reason}"
            ))]
        }
    }

    /// Timeouts of the connection, handshake and transfer phases (`repl-timeout`).
    pub fn on_tick(&mut self, now_ms: i64) -> Vec<Action> {
        if now_ms - self.last_io_ms <= self.cfg.timeout_ms {
            return vec![];
        }
        match self.state {
            LinkState::Connecting
            | LinkState::Handshake
            | LinkState::ReadyForPsync
            | LinkState::AwaitPsyncReply
            | LinkState::DualAwaitRdbIdReply => {
                vec![Action::Fail("Timeout connecting to the PRIMARY...".into())]
            }
            // The snapshot connection's own timeouts cover this wait.
            LinkState::DualAwaitEndOff => vec![],
            LinkState::AwaitEndOff | LinkState::AwaitPayload | LinkState::Payload => vec![Action::Fail(
                "Timeout receiving bulk data from MASTER... If the problem persists try to set the 'repl-timeout' parameter in redwing.conf to a larger value.".into(),
            )],
            LinkState::Streaming => vec![Action::Fail("MASTER timeout: no data nor PING received...".into())],
            LinkState::Loading => vec![],
        }
    }
}

fn step_name(s: Pending) -> &'static str {
    match s {
        Pending::Ping => "PING",
        Pending::Auth => "AUTH",
        Pending::Port => "listening-port",
        Pending::Ip => "ip-address",
        Pending::Capa => "capa",
        Pending::RdbCapa => "capa rdb-channel",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(auth: bool) -> LinkConfig {
        LinkConfig {
            listening_port: 7121,
            announce_ip: Some("10.9.8.7".into()),
            auth: auth.then(|| (Some("repluser".to_string()), "secretpw".to_string())),
            dual_channel: false,
            rdb_channel: false,
            timeout_ms: 60_000,
        }
    }

    fn sent(actions: &[Action]) -> Vec<u8> {
        actions
            .iter()
            .filter_map(|a| {
                if let Action::Send(b) = a {
                    Some(b.clone())
                } else {
                    None
                }
            })
            .flatten()
            .collect()
    }

    #[test]
    fn handshake_order_matches_redis() {
        let mut l = Link::new(cfg(true), 0);
        assert_eq!(sent(&l.on_connected(0)), b"*1\r\n$4\r\nPING\r\n");
        let a = l.on_data(1, b"+PONG\r\n");
        let expected = [
            &b"*3\r\n$4\r\nAUTH\r\n$8\r\nrepluser\r\n$8\r\nsecretpw\r\n"[..],
            b"*3\r\n$8\r\nREPLCONF\r\n$14\r\nlistening-port\r\n$4\r\n7121\r\n",
            b"*3\r\n$8\r\nREPLCONF\r\n$10\r\nip-address\r\n$8\r\n10.9.8.7\r\n",
            b"*5\r\n$8\r\nREPLCONF\r\n$4\r\ncapa\r\n$3\r\neof\r\n$4\r\ncapa\r\n$6\r\npsync2\r\n",
        ]
        .concat();
        assert_eq!(sent(&a), expected);
        assert_eq!(l.on_data(2, b"+OK\r\n+OK\r\n+OK\r\n"), vec![]);
        assert_eq!(l.state(), LinkState::Handshake);
        let a = l.on_data(3, b"-ERR Unrecognized REPLCONF option: capa\r\n");
        assert!(a.contains(&Action::HandshakeDone));
        assert_eq!(
            sent(&l.psync(None, false)),
            b"*3\r\n$5\r\nPSYNC\r\n$1\r\n?\r\n$2\r\n-1\r\n"
        );
    }

    #[test]
    fn full_sync_with_len_payload_then_stream() {
        let mut l = Link::new(cfg(false), 0);
        l.on_connected(0);
        l.on_data(0, b"+PONG\r\n");
        l.on_data(0, b"+OK\r\n+OK\r\n+OK\r\n");
        l.psync(Some(("x", 5)), false);
        let id = "a".repeat(40);
        let mut a = l.on_data(
            0,
            format!("\n\n+FULLRESYNC {id} 14\r\n\n$5\r\nREDIS*2\r\n").as_bytes(),
        );
        a.retain(|x| !matches!(x, Action::Log(_)));
        assert_eq!(
            a,
            vec![
                Action::FullResync {
                    replid: Some(id),
                    offset: 14
                },
                Action::PayloadStart { total: Some(5) },
                Action::Payload(b"REDIS".to_vec()),
                Action::PayloadEnd,
                Action::Stream(b"*2\r\n".to_vec()),
            ]
        );
        assert_eq!(l.state(), LinkState::Loading);
        assert_eq!(l.on_load_done(true, ""), vec![]);
        assert_eq!(l.on_data(0, b"x"), vec![Action::Stream(b"x".to_vec())]);
    }

    #[test]
    fn eof_mark_split_across_reads() {
        let mut l = Link::new(cfg(false), 0);
        l.on_connected(0);
        l.on_data(0, b"+PONG\r\n+OK\r\n+OK\r\n+OK\r\n");
        l.psync(None, false);
        let mark = "0123456789abcdef0123456789abcdef01234567";
        l.on_data(
            0,
            format!("+FULLRESYNC {} 0\r\n$EOF:{mark}\r\n", "b".repeat(40)).as_bytes(),
        );
        let body = format!("REDIS0010payload{mark}");
        let mut payload = Vec::new();
        let mut ended = false;
        for chunk in body.as_bytes().chunks(7) {
            for a in l.on_data(0, chunk) {
                match a {
                    Action::Payload(p) => payload.extend(p),
                    Action::PayloadEnd => ended = true,
                    other => panic!("unexpected {other:?}"),
                }
            }
        }
        assert!(ended);
        assert_eq!(payload, b"REDIS0010payload");
    }

    #[test]
    fn psync_errors_fall_back_or_retry() {
        let mut l = Link::new(cfg(false), 0);
        l.on_connected(0);
        l.on_data(0, b"+PONG\r\n+OK\r\n+OK\r\n+OK\r\n");
        l.psync(None, false);
        let a = l.on_data(
            0,
            b"-NOMASTERLINK Can't SYNC while not connected with my master\r\n",
        );
        assert!(matches!(a.as_slice(), [Action::RetryLater(_)]));
        let mut l = Link::new(cfg(false), 0);
        l.on_connected(0);
        l.on_data(0, b"+PONG\r\n+OK\r\n+OK\r\n+OK\r\n");
        l.psync(None, false);
        let a = l.on_data(0, b"-ERR unknown command 'psync'\r\n");
        assert!(a.contains(&Action::Send(b"SYNC\r\n".to_vec())));
        assert_eq!(l.state(), LinkState::AwaitPayload);
    }

    #[test]
    fn a_failover_psync_says_so_and_a_refusal_ends_it_without_sync() {
        let mut l = Link::new(cfg(false), 0);
        l.on_connected(0);
        l.on_data(0, b"+PONG\r\n+OK\r\n+OK\r\n+OK\r\n");
        let sent = l.psync(Some(("x", 5)), true);
        assert_eq!(
            sent,
            vec![Action::Send(
                b"*4\r\n$5\r\nPSYNC\r\n$1\r\nx\r\n$1\r\n5\r\n$8\r\nFAILOVER\r\n".to_vec()
            )]
        );
        let a = l.on_data(0, b"-NOPERM this user has no permissions\r\n");
        assert_eq!(
            a,
            vec![Action::FailoverRejected(
                "-NOPERM this user has no permissions".into()
            )]
        );
        let mut l = Link::new(cfg(false), 0);
        l.on_connected(0);
        l.on_data(0, b"+PONG\r\n+OK\r\n+OK\r\n+OK\r\n");
        l.psync(Some(("x", 5)), true);
        let a = l.on_data(0, b"+CONTINUE y\r\n");
        assert!(matches!(a.as_slice(), [Action::Continue { .. }]));
    }

    fn dual_cfg(rdb_channel: bool) -> LinkConfig {
        LinkConfig {
            dual_channel: true,
            rdb_channel,
            announce_ip: None,
            ..cfg(true)
        }
    }

    /// The main connection of a dual-channel sync, in Valkey's order (PROTOCOL.md §C.2).
    #[test]
    fn dual_channel_main_connection() {
        let mut l = Link::new(dual_cfg(false), 0);
        l.on_connected(0);
        let a = l.on_data(0, b"+PONG\r\n");
        let capa = b"*7\r\n$8\r\nREPLCONF\r\n$4\r\ncapa\r\n$3\r\neof\r\n$4\r\ncapa\r\n$6\r\npsync2\r\n$4\r\ncapa\r\n$12\r\ndual-channel\r\n";
        assert!(sent(&a).ends_with(capa));
        l.on_data(0, b"+OK\r\n+OK\r\n+OK\r\n");
        l.psync(None, false);
        assert_eq!(
            l.on_data(0, b"+DUALCHANNELSYNC\r\n"),
            vec![Action::DualChannel]
        );
        assert_eq!(l.state(), LinkState::DualAwaitEndOff);
        assert_eq!(l.state().role_name(), "sync");
        let id = "3d37f77204689583e4946f3375f118d6c96e91c7";
        let e = proto::parse_endoff(&format!("$ENDOFF:853 {id} 0 42")).unwrap();
        assert_eq!(
            sent(&l.dual_endoff(&e)),
            b"*3\r\n$8\r\nREPLCONF\r\n$17\r\nset-rdb-client-id\r\n$2\r\n42\r\n"
        );
        assert_eq!(
            sent(&l.on_data(0, b"+OK\r\n")),
            format!("*3\r\n$5\r\nPSYNC\r\n$40\r\n{id}\r\n$3\r\n854\r\n").as_bytes()
        );
        // +CONTINUE and the first stream bytes in one read: the bytes are for buffering.
        let a = l.on_data(
            0,
            format!("+CONTINUE {id}\r\n*1\r\n$4\r\nPING\r\n").as_bytes(),
        );
        assert_eq!(
            a,
            vec![
                Action::DualContinue {
                    replid: Some(id.into())
                },
                Action::Stream(b"*1\r\n$4\r\nPING\r\n".to_vec()),
            ]
        );
        assert_eq!(l.state(), LinkState::Loading);
        assert_eq!(l.on_load_done(true, ""), vec![]);
        assert_eq!(l.state(), LinkState::Streaming);
    }

    #[test]
    fn dual_channel_main_connection_failures() {
        let start = || {
            let mut l = Link::new(dual_cfg(false), 0);
            l.on_connected(0);
            l.on_data(0, b"+PONG\r\n+OK\r\n+OK\r\n+OK\r\n");
            l.psync(None, false);
            l.on_data(0, b"+DUALCHANNELSYNC\r\n");
            let e = proto::parse_endoff(&format!("$ENDOFF:1 {} 0 7", "a".repeat(40))).unwrap();
            l.dual_endoff(&e);
            l
        };
        let mut l = start();
        let a = l.on_data(0, b"-ERR Unrecognized RDB client id 7\r\n");
        assert!(matches!(a.as_slice(), [Action::Fail(m)] if m.contains("set-rdb-client-id")));
        let mut l = start();
        l.on_data(0, b"+OK\r\n");
        let a = l.on_data(
            0,
            format!("+FULLRESYNC {} 9\r\n", "a".repeat(40)).as_bytes(),
        );
        assert!(matches!(a.as_slice(), [Action::Fail(m)] if m.contains("dual-channel PSYNC")));
        // Without dual-channel enabled, the offer is a protocol error.
        let mut l = Link::new(cfg(false), 0);
        l.on_connected(0);
        l.on_data(0, b"+PONG\r\n+OK\r\n+OK\r\n+OK\r\n");
        l.psync(None, false);
        assert!(matches!(
            l.on_data(0, b"+DUALCHANNELSYNC\r\n").as_slice(),
            [Action::Fail(_)]
        ));
    }

    /// The snapshot connection: no PING, AUTH + one REPLCONF, inline SYNC, `$ENDOFF`, payload.
    #[test]
    fn dual_channel_rdb_connection() {
        let mut l = Link::new(dual_cfg(true), 0);
        let expected = [
            &b"*3\r\n$4\r\nAUTH\r\n$8\r\nrepluser\r\n$8\r\nsecretpw\r\n"[..],
            b"*9\r\n$8\r\nREPLCONF\r\n$4\r\ncapa\r\n$3\r\neof\r\n$8\r\nrdb-only\r\n$1\r\n1\r\n$11\r\nrdb-channel\r\n$1\r\n1\r\n$14\r\nlistening-port\r\n$4\r\n7121\r\n",
        ]
        .concat();
        assert_eq!(sent(&l.on_connected(0)), expected);
        assert_eq!(sent(&l.on_data(0, b"+OK\r\n+OK\r\n")), b"SYNC\r\n");
        let id = "b".repeat(40);
        let mark = "0123456789abcdef0123456789abcdef01234567";
        let a = l.on_data(
            0,
            format!("\n\n$ENDOFF:99 {id} 0 5\r\n$EOF:{mark}\r\nREDIS{mark}").as_bytes(),
        );
        assert_eq!(
            a,
            vec![
                Action::EndOff(EndOff {
                    offset: 99,
                    replid: id.clone(),
                    db: 0,
                    client_id: 5
                }),
                Action::PayloadStart { total: None },
                Action::Payload(b"REDIS".to_vec()),
                Action::PayloadEnd,
            ]
        );
        // A primary that does not know rdb-channel: the sync is abandoned (and retried).
        let mut l = Link::new(dual_cfg(true), 0);
        l.on_connected(0);
        let a = l.on_data(0, b"+OK\r\n-ERR Unrecognized REPLCONF option: rdb-only\r\n");
        assert!(
            matches!(a.as_slice(), [Action::Fail(m)] if m.contains("dual channel sync approach cannot be used"))
        );
    }

    #[test]
    fn timeouts_by_phase() {
        let mut l = Link::new(cfg(false), 0);
        assert!(l.on_tick(60_000).is_empty());
        assert!(
            matches!(l.on_tick(60_001).as_slice(), [Action::Fail(m)] if m.starts_with("Timeout connecting"))
        );
    }
}
