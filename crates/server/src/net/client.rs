//! One connection: its socket, query buffer, pending output and per-connection state.

use std::collections::{HashSet, VecDeque};
use std::io::{self, Read, Write};

use bytes::{Bytes, BytesMut};
use mio::net::{TcpStream, UnixStream};
use mio::Token;
use resp::{Reply, RequestParser, RespVersion};

/// A client socket.
pub enum Conn {
    Tcp(TcpStream),
    Unix(UnixStream),
    /// TCP carrying TLS (`tls-port` clients, links to a TLS primary).
    Tls(Box<super::tls::TlsStream>),
}

impl Conn {
    pub fn source(&mut self) -> &mut dyn mio::event::Source {
        match self {
            Conn::Tcp(s) => s,
            Conn::Unix(s) => s,
            Conn::Tls(t) => &mut t.sock,
        }
    }

    pub fn fd(&self) -> i32 {
        use std::os::fd::AsRawFd;
        match self {
            Conn::Tcp(s) => s.as_raw_fd(),
            Conn::Unix(s) => s.as_raw_fd(),
            Conn::Tls(t) => t.sock.as_raw_fd(),
        }
    }

    /// The TCP socket under a TCP or TLS connection.
    pub fn tcp(&self) -> Option<&TcpStream> {
        match self {
            Conn::Tcp(s) => Some(s),
            Conn::Tls(t) => Some(&t.sock),
            Conn::Unix(_) => None,
        }
    }

    /// The TLS session, for a transfer thread that writes through it.
    pub fn tls_session(&self) -> Option<super::tls::Session> {
        match self {
            Conn::Tls(t) => Some(t.session.clone()),
            _ => None,
        }
    }

    /// Whether encrypted bytes wait for the socket (always false without TLS).
    pub fn wants_flush(&self) -> bool {
        match self {
            Conn::Tls(t) => t.wants_flush(),
            _ => false,
        }
    }

    /// Writes what TLS holds for the socket, until it would block.
    pub fn flush_tls(&mut self) -> io::Result<()> {
        match self {
            Conn::Tls(t) => t.flush_tls(),
            _ => Ok(()),
        }
    }

    pub fn shutdown(&mut self) {
        let _ = match self {
            Conn::Tcp(s) => s.shutdown(std::net::Shutdown::Both),
            Conn::Unix(s) => s.shutdown(std::net::Shutdown::Both),
            Conn::Tls(t) => {
                t.close();
                t.sock.shutdown(std::net::Shutdown::Both)
            }
        };
    }
}

impl Read for Conn {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Conn::Tcp(s) => s.read(buf),
            Conn::Unix(s) => s.read(buf),
            Conn::Tls(t) => t.read(buf),
        }
    }
}

impl Write for Conn {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Conn::Tcp(s) => s.write(buf),
            Conn::Unix(s) => s.write(buf),
            Conn::Tls(t) => t.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// CLIENT REPLY mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplyMode {
    /// Replies are sent.
    On,
    /// CLIENT REPLY OFF: no reply is sent.
    Off,
    /// Skip the reply of the next command only.
    SkipNext,
    /// CLIENT REPLY SKIP was just run (its own reply is skipped too).
    Skip,
}

impl ReplyMode {
    /// The mode after a command's reply was (or was not) sent: SKIP covers the next command.
    pub fn after_reply(self) -> ReplyMode {
        match self {
            ReplyMode::SkipNext => ReplyMode::On,
            ReplyMode::Skip => ReplyMode::SkipNext,
            other => other,
        }
    }
}

/// Output-buffer class (client-output-buffer-limit).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientClass {
    Normal = 0,
    Replica = 1,
    Pubsub = 2,
}

/// What a connection is to this server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// An ordinary client.
    Normal,
    /// In MONITOR mode: it receives every command executed.
    Monitor,
    /// A replica of this node (after SYNC/PSYNC); listed in the replica table by client id.
    Replica,
    /// One of this node's connections to a primary (`link` is the follower machine's id of
    /// it): its bytes go to the follower until `streaming`, then it is the primary client
    /// whose commands are applied and whose replies are dropped.
    PrimaryLink { link: u64, streaming: bool },
}

/// One key a client WATCHes.
#[derive(Clone, Debug)]
pub struct WatchedKey {
    pub db: usize,
    pub key: Bytes,
    /// The key was already logically expired when WATCH was called (Redis 7's `expired`
    /// flag): its deletion by expiry, or a flush, is no logical change and does not fail EXEC.
    pub expired: bool,
}

/// A client's CLIENT TRACKING mode (server-assisted client-side caching).
#[derive(Clone, Debug, Default)]
pub struct TrackingState {
    /// The client invalidations are sent to (REDIRECT), 0 for this one.
    pub redirect: u64,
    /// BCAST: invalidations for every key under `prefixes`, nothing remembered per key.
    pub bcast: bool,
    pub optin: bool,
    pub optout: bool,
    /// No invalidations for keys this client changed itself.
    pub noloop: bool,
    /// CLIENT CACHING YES (OPTIN) / NO (OPTOUT) was given for the next command.
    pub caching: bool,
    /// The redirect client is gone (reported as `tracking-redir-broken`).
    pub broken_redirect: bool,
    /// BCAST prefixes, in byte order.
    pub prefixes: std::collections::BTreeSet<Bytes>,
}

/// A queued MULTI transaction.
#[derive(Default)]
pub struct MultiState {
    pub queue: Vec<Vec<Bytes>>,
    /// Bytes of the queued commands' arguments (CLIENT LIST `multi-mem`), kept with `queue`.
    pub argv_bytes: usize,
    /// A command failed to queue: EXEC must abort.
    pub dirty_exec: bool,
}

impl MultiState {
    /// Queues a command for EXEC.
    pub fn push(&mut self, argv: Vec<Bytes>) {
        self.argv_bytes += argv_memory(&argv);
        self.queue.push(argv);
    }
}

/// The memory of a command's arguments as Valkey counts it (`argv_len_sum` and a pointer per
/// argument).
pub fn argv_memory(argv: &[Bytes]) -> usize {
    argv.iter()
        .map(|a| a.len() + std::mem::size_of::<Bytes>())
        .sum()
}

/// `DEBUG REPLYBUFFER RESIZING <0|1>`: whether a client's reply buffer is shrunk back once
/// written (on by default; tests turn it off to keep clients' sizes steady).
pub static REPLY_BUFFER_RESIZING: std::sync::atomic::AtomicBool =
    std::sync::atomic::AtomicBool::new(true);

/// What a client holds in memory, as CLIENT LIST reports it and client eviction
/// (`maxmemory-clients`) counts it — Valkey's `getClientMemoryUsage`: buffers by their
/// allocation; the arguments of its parsed-ahead, blocked and queued commands by their length;
/// its watched keys, subscriptions and tracking prefixes by their entries (the names
/// themselves are shared with the server's registries, as in Valkey).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ClientMemory {
    /// `argv-mem`: the command being parsed, commands parsed and not run yet, and a blocked
    /// command.
    pub argv: usize,
    /// `multi-mem`: queued MULTI commands and watched keys.
    pub multi: usize,
    /// Reply buffers and queued output.
    pub output: usize,
    /// `tot-mem`: everything, the connection's own structure included.
    pub total: usize,
}

/// Bookkeeping per watched key: the client's entry and the registry's.
const WATCHED_KEY_OVERHEAD: usize = std::mem::size_of::<WatchedKey>() + 32;
/// Bookkeeping per tracking prefix (its tree node).
const TRACKING_PREFIX_OVERHEAD: usize = std::mem::size_of::<Bytes>() + 32;

/// A client parked by a blocking command.
pub struct Blocked {
    pub argv: Vec<Bytes>,
    pub keys: Vec<Bytes>,
    pub db: usize,
    /// Absolute unix ms; `None` = forever.
    pub deadline_ms: Option<i64>,
    pub kind: BlockKind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockKind {
    Keys,
    /// WAIT: until `offset` is acknowledged by `replicas` replicas.
    Wait {
        offset: i64,
        replicas: i64,
    },
    /// WAITAOF: until the local AOF holds `local_target` bytes fsynced (if `numlocal`) and
    /// `replicas` replicas report `offset` fsynced in theirs.
    WaitAof {
        local_target: u64,
        numlocal: i64,
        offset: i64,
        replicas: i64,
    },
    /// CLIENT PAUSE holds this client's next command.
    Paused,
    /// Backpressure holds this write until `since_ms` + its delay, or until the replica
    /// that holds too much drains.
    Throttled {
        since_ms: i64,
    },
    /// SHUTDOWN waits for replicas: released by the exit (the connection closes) or by an
    /// error when the shutdown fails or is aborted.
    Shutdown,
}

pub struct Client {
    pub id: u64,
    pub token: Token,
    pub conn: Conn,
    pub addr: String,
    pub laddr: String,
    pub name: Option<Bytes>,
    pub lib_name: Option<Bytes>,
    pub lib_ver: Option<Bytes>,
    pub db: usize,
    pub resp: RespVersion,
    /// The ACL user this connection runs as (its name; the registry has its rules).
    pub user: Bytes,
    pub authenticated: bool,
    /// Bytes read and not parsed yet. Empty with no allocation while the client is idle:
    /// reads borrow a buffer from [`super::QueryPool`] and give it back once everything in
    /// it is parsed and run (Valkey 8's shared query buffer); a client keeps the buffer as
    /// its own while a command is incomplete (`query_owned`), until the cron frees it.
    pub query: BytesMut,
    /// `query` is the client's own buffer, not one borrowed from the pool.
    pub query_owned: bool,
    /// Largest `query` length since the cron last looked (the peak that sizes a shrink).
    pub query_peak: usize,
    pub parser: RequestParser,
    /// Commands parsed ahead from a pipeline, run in order before more are parsed.
    pub pending: std::collections::VecDeque<Vec<Bytes>>,
    /// A protocol error met while parsing ahead, answered after the commands before it.
    pub pending_error: Option<resp::ProtocolError>,
    /// Bytes of the command being parsed that earlier reads already consumed (the offset
    /// accounting of a primary link needs each command's exact size).
    pub partial_consumed: usize,
    /// A primary link's next stream command (argv, its size in the stream), parsed but held
    /// while CLIENT PAUSE holds writes: the replica keeps reading its primary's stream and
    /// applies it once the pause ends (Valkey postpones its primary client alike).
    pub held_stream: Option<(Vec<Bytes>, usize)>,
    /// The peer closed the connection after data still to be processed.
    pub peer_closed: bool,
    /// Encoded replies not yet written; `out_pos` bytes of it are already sent.
    pub out: Vec<u8>,
    pub out_pos: usize,
    /// Large chunks queued after `out` (bulk payloads, shared backlog slices).
    pub out_chunks: VecDeque<Bytes>,
    pub out_chunks_bytes: usize,
    /// Push messages (pub/sub, invalidations) for this client while its own command
    /// executes: they follow its reply, as Valkey's pending push messages do.
    pub defer_pushes: bool,
    pub deferred_pushes: Vec<u8>,
    /// Close once the pending output is written.
    pub close_after_reply: bool,
    /// Close at the next opportunity, without writing more.
    pub close_asap: bool,
    pub reply_mode: ReplyMode,
    pub multi: Option<MultiState>,
    pub watched: Vec<WatchedKey>,
    /// A watched key changed: EXEC will fail.
    pub dirty_cas: bool,
    pub channels: HashSet<Bytes>,
    pub patterns: HashSet<Bytes>,
    /// Shard channels (SSUBSCRIBE): their own namespace, counted apart.
    pub shard_channels: HashSet<Bytes>,
    /// CLIENT TRACKING state, while tracking is on.
    pub tracking: Option<Box<TrackingState>>,
    pub blocked: Option<Blocked>,
    pub no_evict: bool,
    pub no_touch: bool,
    /// READONLY was sent (`r` in CLIENT LIST): with [`Client::capa_redirect`], reads are served
    /// by a replica instead of redirected.
    pub readonly: bool,
    /// CLIENT CAPA REDIRECT: on a replica, data commands get `-REDIRECT host:port`.
    pub capa_redirect: bool,
    /// Created / last command, unix ms.
    pub ctime_ms: i64,
    pub last_interaction_ms: i64,
    pub last_cmd: &'static str,
    /// The link to this node's primary: the first error its command produced (replies to the
    /// primary are never sent; the core logs it, as Valkey's `afterErrorReply`).
    pub primary_error: Option<String>,
    /// When the soft output limit started being exceeded (unix ms), if it is.
    pub soft_limit_since_ms: Option<i64>,
    /// Its next command already waited for backpressure: it runs now.
    pub throttle_done: bool,
    /// Replication offset after this client's last write (WAIT, WAITAOF's replicas).
    pub woff: i64,
    /// AOF bytes fed after this client's last write (WAITAOF's local copy).
    pub aof_woff: u64,
    /// Bytes read since the last accounting tick (stats).
    pub read_pending: bool,
    /// Bytes read from and written to this connection, and commands it ran (CLIENT LIST
    /// `tot-net-in`, `tot-net-out`, `tot-cmds`).
    pub net_in_bytes: u64,
    pub net_out_bytes: u64,
    pub commands_processed: u64,
    /// What this connection is (a client, a replica of ours, a link to our primary...).
    pub role: Role,
    /// Outgoing TCP connection still in progress.
    pub connecting: bool,
    /// A full-sync transfer thread owns the write side of this socket.
    pub in_transfer: bool,
    /// The connection is being closed for a protocol error (never cached as a primary).
    pub protocol_error: bool,
}

impl Client {
    /// A replica of this node.
    pub fn is_replica(&self) -> bool {
        self.role == Role::Replica
    }

    /// The streaming link to this node's primary (replies suppressed, offsets accounted).
    pub fn is_primary_link(&self) -> bool {
        matches!(
            self.role,
            Role::PrimaryLink {
                streaming: true,
                ..
            }
        )
    }

    /// The follower's id of this connection, if it is one of this node's links to a primary.
    pub fn link_id(&self) -> Option<u64> {
        match self.role {
            Role::PrimaryLink { link, .. } => Some(link),
            _ => None,
        }
    }

    pub fn is_monitor(&self) -> bool {
        self.role == Role::Monitor
    }

    /// The output-buffer class (`client-output-buffer-limit`).
    pub fn class(&self) -> ClientClass {
        if self.is_replica() {
            ClientClass::Replica
        } else if self.in_pubsub() {
            ClientClass::Pubsub
        } else {
            ClientClass::Normal
        }
    }

    /// Connected over loopback or a unix socket (Redis's `islocalClient`), for the
    /// `local` setting of `enable-debug-command` / `enable-protected-configs`.
    pub fn is_local(&self) -> bool {
        self.addr.starts_with("127.")
            || self.addr.starts_with("[::1]")
            || !self.addr.contains(':')
            || self.addr.ends_with(":0")
    }

    pub fn new(
        id: u64,
        token: Token,
        conn: Conn,
        addr: String,
        laddr: String,
        now_ms: i64,
        max_bulk: usize,
    ) -> Client {
        Client {
            id,
            token,
            conn,
            addr,
            laddr,
            name: None,
            lib_name: None,
            lib_ver: None,
            db: 0,
            resp: RespVersion::Resp2,
            user: Bytes::from_static(b"default"),
            authenticated: false,
            query: BytesMut::new(),
            query_owned: false,
            query_peak: 0,
            parser: RequestParser::new(max_bulk),
            pending: std::collections::VecDeque::new(),
            pending_error: None,
            partial_consumed: 0,
            held_stream: None,
            peer_closed: false,
            out: Vec::with_capacity(1024),
            out_pos: 0,
            out_chunks: VecDeque::new(),
            out_chunks_bytes: 0,
            defer_pushes: false,
            deferred_pushes: Vec::new(),
            close_after_reply: false,
            close_asap: false,
            reply_mode: ReplyMode::On,
            multi: None,
            watched: Vec::new(),
            dirty_cas: false,
            channels: HashSet::new(),
            patterns: HashSet::new(),
            shard_channels: HashSet::new(),
            tracking: None,
            blocked: None,
            no_evict: false,
            no_touch: false,
            readonly: false,
            capa_redirect: false,
            ctime_ms: now_ms,
            last_interaction_ms: now_ms,
            last_cmd: "NULL",
            primary_error: None,
            soft_limit_since_ms: None,
            throttle_done: false,
            woff: 0,
            aof_woff: 0,
            read_pending: false,
            net_in_bytes: 0,
            net_out_bytes: 0,
            commands_processed: 0,
            role: Role::Normal,
            connecting: false,
            in_transfer: false,
            protocol_error: false,
        }
    }

    /// Appends a reply (respecting CLIENT REPLY OFF/SKIP and the primary link's silence).
    pub fn reply(&mut self, r: &Reply) {
        if self.is_primary_link() {
            if let (Reply::Error(text), None) = (r, &self.primary_error) {
                self.primary_error = Some(text.to_string());
            }
            return;
        }
        if self.is_replica() {
            // A replica's connection carries the stream only: a command of its that produced
            // a reply (anything but REPLCONF ACK) would corrupt what it reads (Valkey closes it).
            if matches!(r, Reply::Raw(b) if b.is_empty()) {
                return;
            }
            if let Reply::Error(e) = r {
                crate::log_warning!(
                    "== CRITICAL == This primary is sending an error to its replica: '{e}' after processing the command '{}'",
                    self.last_cmd
                );
            }
            if !self.close_asap {
                crate::log_warning!(
                    "Replica generated a reply to command '{}', disconnecting it: {}",
                    self.last_cmd,
                    client_info(self, crate::util::now_ms())
                );
                self.close_asap = true;
            }
            return;
        }
        if self.reply_mode != ReplyMode::On {
            return;
        }
        r.encode(self.resp, &mut self.out);
    }

    /// Appends raw bytes regardless of reply mode (replication payloads, pushes).
    pub fn push_raw(&mut self, data: &[u8]) {
        self.out.extend_from_slice(data);
    }

    /// Where a push message goes: the output, regardless of reply mode, or, while this
    /// client's own command executes, after its reply.
    pub fn push_out(&mut self) -> &mut Vec<u8> {
        if self.defer_pushes {
            &mut self.deferred_pushes
        } else {
            &mut self.out
        }
    }

    /// The command's reply is out: the pushes it caused for this client follow it.
    pub fn end_deferred_pushes(&mut self) {
        self.defer_pushes = false;
        if !self.deferred_pushes.is_empty() {
            let pushes = std::mem::take(&mut self.deferred_pushes);
            self.out.extend_from_slice(&pushes);
        }
    }

    /// Queues stream bytes for a replica. While it drains (less than a block waiting), a small
    /// piece is copied into `out`; anything else is queued by reference: the backlog keeps
    /// every block a replica has not sent (its pin), so a reference costs no memory of its
    /// own, and a replica still sending is handed whole blocks only (`Primary::flush`), one
    /// reference per block. Only replica streams use chunks; nothing is added to `out` while
    /// chunks are queued, so the order holds.
    pub fn push_chunk(&mut self, data: Bytes) {
        use replication::backlog::BLOCK;
        let draining = self.out_chunks.is_empty() && self.out.len() - self.out_pos < BLOCK;
        if draining && data.len() < 4096 {
            self.out.extend_from_slice(&data);
            return;
        }
        self.out_chunks_bytes += data.len();
        self.out_chunks.push_back(data);
    }

    /// Bytes of output not yet written.
    pub fn pending_output(&self) -> usize {
        self.out.len() - self.out_pos + self.out_chunks_bytes
    }

    /// Output not yet on the socket: replies, or encrypted bytes TLS still holds.
    pub fn has_output(&self) -> bool {
        self.pending_output() > 0 || self.conn.wants_flush()
    }

    /// Writes as much pending output as the socket takes. Returns bytes written, or the error
    /// that should close the client.
    /// The clients cron's look at an own query buffer (Valkey's
    /// `clientsCronResizeQueryBuffer`), when it wastes more than 4 KiB: after more than two
    /// seconds idle it is freed (the next read borrows one) or, holding data or belonging to
    /// a primary link, cut to its content; a buffer above 32 KiB more than twice its recent
    /// peak is cut to that peak (never below the argument being read). The peak restarts.
    pub fn resize_query(&mut self, now_ms: i64) {
        /// Valkey's PROTO_RESIZE_THRESHOLD.
        const RESIZE_THRESHOLD: usize = 32 * 1024;
        if !self.query_owned {
            return;
        }
        let size = self.query.capacity();
        let bulk = self.parser.awaited_bulk().map_or(0, |n| n + 2);
        if size - self.query.len() > 4 * 1024 {
            if now_ms - self.last_interaction_ms > 2000 {
                if self.query.is_empty() && !self.is_primary_link() && self.link_id().is_none() {
                    self.query = BytesMut::new();
                    self.query_owned = false;
                } else {
                    self.resize_query_to(self.query.len());
                }
            } else if size > RESIZE_THRESHOLD && size / 2 > self.query_peak {
                self.resize_query_to(self.query.len().max(self.query_peak).max(bulk));
            }
        }
        self.query_peak = self.query.len().max(bulk);
    }

    fn resize_query_to(&mut self, size: usize) {
        let mut buf = BytesMut::with_capacity(size);
        buf.extend_from_slice(&self.query);
        self.query = buf;
    }

    pub fn write_pending(&mut self) -> io::Result<usize> {
        self.conn.flush_tls()?;
        let mut total = 0;
        while self.out_pos < self.out.len() {
            match self.conn.write(&self.out[self.out_pos..]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => {
                    self.out_pos += n;
                    total += n;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(total),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
        self.out.clear();
        self.out_pos = 0;
        if self.out.capacity() > 64 * 1024
            && REPLY_BUFFER_RESIZING.load(std::sync::atomic::Ordering::Relaxed)
        {
            self.out.shrink_to(16 * 1024);
        }
        while let Some(chunk) = self.out_chunks.front_mut() {
            match self.conn.write(chunk) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => {
                    total += n;
                    self.out_chunks_bytes -= n;
                    if n == chunk.len() {
                        self.out_chunks.pop_front();
                    } else {
                        bytes::Buf::advance(chunk, n);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(total),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
        Ok(total)
    }

    /// Client flags for CLIENT LIST (`N` normal, `S` replica, `M` primary, `P` pubsub, `x` MULTI,
    /// `b` blocked, `t` tracking, `R` broken tracking redirect, `B` BCAST tracking, `O` monitor,
    /// `c` close after reply, `A` close asap, `r` READONLY, `e` no-evict, `T` no-touch).
    pub fn flags_string(&self) -> String {
        let mut f = String::new();
        if self.is_replica() {
            f.push('S');
        }
        if self.is_primary_link() {
            f.push('M');
        }
        if self.in_pubsub() {
            f.push('P');
        }
        if self.multi.is_some() {
            f.push('x');
        }
        if self.blocked.is_some() {
            f.push('b');
        }
        if let Some(t) = &self.tracking {
            f.push('t');
            if t.broken_redirect {
                f.push('R');
            }
            if t.bcast {
                f.push('B');
            }
        }
        if self.is_monitor() {
            f.push('O');
        }
        if self.dirty_cas {
            f.push('d');
        }
        if self.close_after_reply {
            f.push('c');
        }
        if self.close_asap {
            f.push('A');
        }
        if self.readonly {
            f.push('r');
        }
        if self.no_evict {
            f.push('e');
        }
        if self.no_touch {
            f.push('T');
        }
        if f.is_empty() {
            f.push('N');
        }
        f
    }

    /// What this client holds in memory ([`ClientMemory`]).
    pub fn memory(&self) -> ClientMemory {
        let argv = self.parser.partial_args_memory()
            + self.pending.iter().map(|a| argv_memory(a)).sum::<usize>()
            + self.blocked.as_ref().map_or(0, |b| argv_memory(&b.argv))
            + self.held_stream.as_ref().map_or(0, |(a, _)| argv_memory(a));
        let multi = self.multi.as_ref().map_or(0, |m| {
            m.argv_bytes + m.queue.capacity() * std::mem::size_of::<Vec<Bytes>>()
        }) + self.watched.capacity() * WATCHED_KEY_OVERHEAD;
        let output = self.out.capacity() + self.out_chunks_bytes + self.deferred_pushes.capacity();
        let set_entry = std::mem::size_of::<Bytes>() + 1;
        let pubsub =
            (self.channels.capacity() + self.patterns.capacity() + self.shard_channels.capacity())
                * set_entry;
        let tracking = self.tracking.as_ref().map_or(0, |t| {
            std::mem::size_of::<TrackingState>() + t.prefixes.len() * TRACKING_PREFIX_OVERHEAD
        });
        ClientMemory {
            argv,
            multi,
            output,
            total: std::mem::size_of::<Client>()
                + self.query.capacity()
                + argv
                + multi
                + output
                + pubsub
                + tracking,
        }
    }

    /// Counted by client eviction: an ordinary or pub/sub client (MONITOR included, as in
    /// Valkey) not already being closed.
    pub fn counts_for_eviction(&self) -> bool {
        matches!(self.role, Role::Normal | Role::Monitor) && !self.close_asap
    }

    /// Client eviction may close this connection: counted, and without CLIENT NO-EVICT.
    pub fn evictable(&self) -> bool {
        self.counts_for_eviction() && !self.no_evict
    }

    /// Subscribed to anything (channels, patterns or shard channels): Valkey's pubsub flag.
    pub fn in_pubsub(&self) -> bool {
        !self.channels.is_empty() || !self.patterns.is_empty() || !self.shard_channels.is_empty()
    }
}

/// One CLIENT LIST line (Valkey 8 field set), without the trailing newline.
pub fn client_info(c: &Client, now: i64) -> String {
    let name = c
        .name
        .as_ref()
        .map(|n| String::from_utf8_lossy(n).into_owned())
        .unwrap_or_default();
    let lib = |v: &Option<Bytes>| {
        v.as_ref()
            .map(|n| String::from_utf8_lossy(n).into_owned())
            .unwrap_or_default()
    };
    let multi = c.multi.as_ref().map_or(-1, |m| m.queue.len() as i64);
    let events = if c.has_output() { "rw" } else { "r" };
    let qbuf_free = c.query.capacity() - c.query.len();
    let omem = c.pending_output();
    let mem = c.memory();
    format!(
        "id={} addr={} laddr={} fd={} name={} age={} idle={} flags={} db={} sub={} psub={} ssub={} multi={} watch={} qbuf={} qbuf-free={} argv-mem={} multi-mem={} rbs={} rbp=0 obl={} oll={} omem={} tot-mem={} events={} cmd={} user={} redir={} resp={} lib-name={} lib-ver={} tot-net-in={} tot-net-out={} tot-cmds={}",
        c.id,
        c.addr,
        c.laddr,
        c.conn.fd(),
        name,
        (now - c.ctime_ms) / 1000,
        (now - c.last_interaction_ms) / 1000,
        c.flags_string(),
        c.db,
        c.channels.len(),
        c.patterns.len(),
        c.shard_channels.len(),
        multi,
        c.watched.len(),
        c.query.len(),
        qbuf_free,
        mem.argv,
        mem.multi,
        c.out.capacity(),
        c.out.len() - c.out_pos,
        c.out_chunks.len(),
        omem,
        mem.total,
        events,
        c.last_cmd,
        String::from_utf8_lossy(&c.user),
        c.tracking.as_ref().map_or(-1, |t| t.redirect as i64),
        if c.resp == resp::RespVersion::Resp3 { 3 } else { 2 },
        lib(&c.lib_name),
        lib(&c.lib_ver),
        c.net_in_bytes,
        c.net_out_bytes,
        c.commands_processed,
    )
}
