//! The follower machine's executor: REPLICAOF and the start-up `replicaof` fed to
//! [`replication::follower::Follower`], each of its links' events (connected, bytes read,
//! closed) reported, each unit of a primary's stream applied by the core reported
//! ([`stream_command_applied`], [`on_empty_line`]), and its actions performed — connections
//! opened and closed, bytes sent, reading paused and resumed, stream bytes handed to the core,
//! loads started aside on the loader thread ([`super::load`]), fed, aborted and swapped in,
//! the role changed.
//!
//! What stays here because it needs the server: the sockets, the loader's back-pressure (a
//! connection is not read while the loader has a lot queued), the check that each stream
//! command arrived in its canonical encoding (else the link is closed as a protocol error,
//! never cached), the DEBUG PAUSE-AFTER-FORK SIGSTOP before a dual-channel PSYNC, and the
//! swap itself (WATCHes touched, the old databases freed in the background).

use std::fmt::Write as _;
use std::net::ToSocketAddrs;
use std::sync::atomic::Ordering;

use bytes::Bytes;
use commands::errors::err;
use replication::follower::{Action, LinkId, LoadId, State};
use resp::Reply;

use super::load::{LoadResult, Loader};
use super::state::{Deferred, Halted, Load};
use crate::net::client::{BlockKind, Client, Conn, Role};
use crate::server::Server;
use crate::util::now_ms;
use crate::{log_notice, log_warning};

/// A loader with more than this queued stops the reading of the payload's connection.
const LOADER_QUEUE_LIMIT: u64 = 256 * 1024 * 1024;

/// Performs the follower's actions in order.
pub fn run(s: &mut Server, actions: Vec<Action>) {
    s.repl.depth += 1;
    for a in actions {
        perform(s, a);
    }
    s.repl.depth -= 1;
    super::drain_deferred(s);
}

fn perform(s: &mut Server, a: Action) {
    match a {
        Action::Connect { link, host, port } => connect(s, link, &host, port),
        Action::Send { link, bytes } => send(s, link, &bytes),
        Action::Close { link } => close(s, link),
        Action::PauseReading { link } => {
            s.repl.paused.insert(link);
        }
        Action::ResumeReading { link } => {
            s.repl.paused.remove(&link);
            if let Some(&key) = s.repl.links.get(&link) {
                // Read again; a streaming link also applies what it read before the pause.
                s.net.pending_read.push_back(key);
                if s.net.clients.get(key).is_some_and(|c| c.is_primary_link()) {
                    s.net.resume.push(key);
                }
            }
        }
        Action::StartStream { link, db } => start_stream(s, link, db),
        Action::Apply { link, bytes } => {
            if let Some(&key) = s.repl.links.get(&link) {
                if let Some(c) = s.net.clients.get_mut(key) {
                    c.query.extend_from_slice(&bytes);
                    s.net.resume.push(key);
                }
            }
        }
        Action::StartLoad { load, .. } => start_load(s, load),
        Action::LoadBytes { load, bytes } => {
            if let Some(Load::Running(l)) = s.repl.loads.get_mut(&load) {
                if let Err(e) = l.feed(bytes) {
                    let why = format!("Write error writing to the DB dump file needed for MASTER <-> REPLICA synchronization: {e}");
                    s.repl.deferred.push_back(Deferred::LoadFailed(load, why));
                }
            }
        }
        Action::LoadEnd { load } => {
            // A diskless load said so when it started (it loads as the bytes arrive).
            if s.cfg.repl_diskless_load == crate::config::value::DisklessLoad::Disabled {
                log_notice!("MASTER <-> REPLICA sync: Loading DB in memory");
            }
            if let Some(Load::Running(l)) = s.repl.loads.get_mut(&load) {
                if let Err(e) = l.finish() {
                    let why = format!("Failed trying to rename the temp DB into dump.rdb in MASTER <-> REPLICA synchronization: {e}");
                    s.repl.deferred.push_back(Deferred::LoadFailed(load, why));
                }
            }
        }
        Action::AbortLoad { load } => drop_load(s, load),
        Action::SwapDataset { load } => match s.repl.loads.remove(&load) {
            Some(Load::Loaded(loaded)) => install(s, *loaded),
            other => {
                log_warning!("Swap of load {load}, which is not loaded: the dataset is kept");
                if let Some(l) = other {
                    s.repl.loads.insert(load, l);
                }
            }
        },
        Action::DropSubReplicas => super::drop_sub_replicas(s),
        Action::BecameReplica => become_replica(s),
        Action::BecamePrimary => become_primary(s),
        Action::FailoverAccepted => s.repl.deferred.push_back(Deferred::FailoverAnswered(None)),
        Action::FailoverRejected { why } => {
            let d = Deferred::FailoverAnswered(Some(why));
            s.repl.deferred.push_back(d);
        }
        Action::Log { level, text } => super::log(level, &text),
    }
}

// ---------------------------------------------------------------------------- commands

/// REPLICAOF host port | REPLICAOF NO ONE
pub fn replicaof_command(s: &mut Server, key: usize, argv: &[Bytes]) -> Reply {
    let Some(c) = s.net.clients.get(key) else {
        return Reply::Raw(Bytes::new());
    };
    if c.is_primary_link() {
        return err("ERR Command is not valid when client is a replica.");
    }
    if s.repl.failover.active() {
        return err("ERR REPLICAOF not allowed while failing over.");
    }
    let who = crate::net::client::client_info(c, now_ms());
    let target = if argv[1].eq_ignore_ascii_case(b"no") && argv[2].eq_ignore_ascii_case(b"one") {
        None
    } else {
        match commands::args::int(&argv[2]) {
            Ok(p) if (0..=65535).contains(&p) => {
                Some((String::from_utf8_lossy(&argv[1]).into_owned(), p as u16))
            }
            _ => return err("ERR Invalid master port"),
        }
    };
    s.repl
        .follower
        .on_config(super::state::follower_config(&s.cfg));
    let r = &mut s.repl;
    let (reply, actions) = r.follower.replicaof(
        &mut r.hist,
        target,
        &who,
        now_ms(),
        &mut crate::util::random_hex40,
    );
    run(s, actions);
    sync_replicaof_config(s);
    clear_halt(s, "the operator ran REPLICAOF");
    s.repl.halt_streak = (0, 0);
    reply
}

/// Follow `host:port` from the start (`replicaof` in the configuration).
pub fn start_as_replica(s: &mut Server, host: String, port: u16) {
    let actions = s.repl.follower.follow_at_start(host, port, now_ms());
    run(s, actions);
}

/// CONFIG GET/REWRITE `replicaof` report the primary followed now, as Redis does.
pub(super) fn sync_replicaof_config(s: &mut Server) {
    let target = s.repl.follower.target().map(|(h, p)| (h.to_string(), p));
    s.cfg.replicaof = crate::config::value::ReplicaOf(target);
}

/// The node follows a primary from now on: replica expiry rules, and clients blocked in a
/// command are released with an error (Valkey's `disconnectAllBlockedClients`).
fn become_replica(s: &mut Server) {
    s.exec.ks.mode = keyspace::ExpiryMode::Replica;
    crate::log::set_role(true);
    sync_replicaof_config(s);
    let _ = crate::oom::apply(&mut s.life.oom, &s.cfg);
    let blocked: Vec<usize> = s
        .net
        .clients
        .iter()
        .filter(|(_, c)| {
            c.blocked
                .as_ref()
                .is_some_and(|b| !matches!(b.kind, BlockKind::Paused | BlockKind::Throttled { .. }))
        })
        .map(|(k, _)| k)
        .collect();
    for k in blocked {
        let Some(c) = s.net.clients.get_mut(k) else {
            continue;
        };
        let Some(b) = s.exec.blocking.unblock(c) else {
            continue;
        };
        c.reply(&Reply::error("UNBLOCKED force unblock from blocking operation, instance state changed (master -> replica?)"));
        c.close_after_reply = true;
        // The blocked command ends now, with an error (Valkey's `updateStatsOnUnblock`).
        if let Ok(spec) = commands::call::resolve(&b.argv) {
            let st = s.stats.command(spec);
            st.calls += 1;
            st.failed_calls += 1;
        }
        s.stats.total_commands += 1;
        s.stats.count_error("UNBLOCKED");
    }
}

/// The node is a primary again (REPLICAOF NO ONE, PSYNC FAILOVER).
fn become_primary(s: &mut Server) {
    s.cfg.replicaof = crate::config::value::ReplicaOf(None);
    s.exec.ks.mode = keyspace::ExpiryMode::Primary;
    s.exec.ks.forget_replica_local_expires();
    crate::log::set_role(false);
    let _ = crate::oom::apply(&mut s.life.oom, &s.cfg);
}

// ---------------------------------------------------------------------------- links

/// Opens the TCP connection of `link`; a failure is reported to the follower as a close.
fn connect(s: &mut Server, link: LinkId, host: &str, port: u16) {
    let addr = match (host, port).to_socket_addrs().map(|mut a| a.next()) {
        Ok(Some(a)) => a,
        Ok(None) | Err(_) => {
            log_warning!("Unable to connect to MASTER: can't resolve {host}:{port}");
            s.repl.deferred.push_back(Deferred::LinkClosed(link));
            return;
        }
    };
    let stream = match connect_from(addr, &s.cfg.bind_source_addr) {
        Ok(st) => st,
        Err(e) => {
            log_warning!("Unable to connect to MASTER: {e}");
            s.repl.deferred.push_back(Deferred::LinkClosed(link));
            return;
        }
    };
    let _ = stream.set_nodelay(true);
    let conn = if s.cfg.tls_replication {
        let session = match &s.net.tls {
            Some(ctx) => ctx.connect(host),
            None => Err("TLS is not configured".to_string()),
        };
        match session {
            Ok(session) => Conn::Tls(Box::new(crate::net::tls::TlsStream::new(stream, session))),
            Err(e) => {
                log_warning!("Unable to connect to MASTER: TLS: {e}");
                s.repl.deferred.push_back(Deferred::LinkClosed(link));
                return;
            }
        }
    } else {
        Conn::Tcp(stream)
    };
    match s.net.add_outgoing(conn, addr.to_string(), link) {
        Ok(key) => {
            s.repl.links.insert(link, key);
        }
        Err(e) => {
            log_warning!("Unable to connect to MASTER: {e}");
            s.repl.deferred.push_back(Deferred::LinkClosed(link));
        }
    }
}

/// Starts a non-blocking connection to `addr`, from the local address `source` when
/// `bind-source-addr` names one (Valkey's `anetTcpNonBlockBestEffortBindConnect`).
fn connect_from(addr: std::net::SocketAddr, source: &str) -> std::io::Result<mio::net::TcpStream> {
    if source.is_empty() {
        return mio::net::TcpStream::connect(addr);
    }
    let ip: std::net::IpAddr = source.parse().map_err(|_| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("bind-source-addr '{source}' is not an IP address"),
        )
    })?;
    let sock = socket2::Socket::new(
        socket2::Domain::for_address(addr),
        socket2::Type::STREAM,
        Some(socket2::Protocol::TCP),
    )?;
    sock.bind(&std::net::SocketAddr::new(ip, 0).into())?;
    sock.set_nonblocking(true)?;
    match sock.connect(&addr.into()) {
        Ok(()) => {}
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
        Err(e) => return Err(e),
    }
    Ok(mio::net::TcpStream::from_std(sock.into()))
}

/// The outgoing connection of client `key` became writable (or failed).
pub fn on_connect_event(s: &mut Server, key: usize) {
    let Some(c) = s.net.clients.get(key) else {
        return;
    };
    let Some(link) = s.repl.link_of(key, c.link_id()) else {
        return;
    };
    let result = match c.conn.tcp() {
        Some(t) => match t.take_error() {
            Ok(Some(e)) | Err(e) => Err(e.to_string()),
            Ok(None) => t.peer_addr().map(|_| ()).map_err(|e| e.to_string()),
        },
        None => Ok(()),
    };
    match result {
        Ok(()) => {
            if let Some(c) = s.net.clients.get_mut(key) {
                c.connecting = false;
            }
            let r = &mut s.repl;
            let actions = r.follower.on_connected(&mut r.hist, link, now_ms());
            run(s, actions);
        }
        // Not connected yet: a later event tells.
        Err(e)
            if e.contains("Transport endpoint is not connected") || e.contains("os error 107") => {}
        Err(e) => {
            log_warning!("Error condition on socket for SYNC: {e}");
            if let Some(c) = s.net.clients.get_mut(key) {
                c.close_asap = true;
            }
        }
    }
}

fn send(s: &mut Server, link: LinkId, bytes: &[u8]) {
    // The snapshot may already be loaded when the main connection sends its PSYNC (a small
    // one loads before the `$ENDOFF` handling finishes): both dual-channel states count.
    let dual_psync = match s.repl.follower.state() {
        State::DualSync { main, .. } | State::DualLoaded { main, .. } => main.id == link,
        _ => false,
    } && bytes.starts_with(b"*3\r\n$5\r\nPSYNC\r\n");
    if dual_psync && s.repl.pause_after_fork {
        super::debug_pause_process();
    }
    if let Some(&key) = s.repl.links.get(&link) {
        if let Some(c) = s.net.clients.get_mut(key) {
            c.push_raw(bytes);
        }
    }
}

/// Closes a link: what was read from it and not applied is discarded with the client.
fn close(s: &mut Server, link: LinkId) {
    s.repl.paused.remove(&link);
    s.repl.units.remove(&link);
    let Some(key) = s.repl.links.remove(&link) else {
        return;
    };
    if let Some(c) = s.net.clients.get_mut(key) {
        c.role = Role::Normal;
        c.close_asap = true;
    }
}

/// From now on `link` carries the stream: its client applies what arrives as commands from
/// our primary, starting in database `db`.
fn start_stream(s: &mut Server, link: LinkId, db: i64) {
    s.repl.units.remove(&link);
    let Some(&key) = s.repl.links.get(&link) else {
        return;
    };
    let dbs = s.exec.ks.db_count();
    let Some(c) = s.net.clients.get_mut(key) else {
        return;
    };
    c.role = Role::PrimaryLink {
        link,
        streaming: true,
    };
    c.authenticated = true;
    c.parser.auth_required = false;
    c.parser.from_primary = true;
    c.db = usize::try_from(db).ok().filter(|d| *d < dbs).unwrap_or(0);
    s.net.resume.push(key);
}

/// Bytes from a link that is not streaming: the follower reads them.
pub fn link_input(s: &mut Server, key: usize) {
    let Some(c) = s.net.clients.get_mut(key) else {
        return;
    };
    let link = c.link_id();
    let data = c.query.split().freeze();
    let Some(link) = s.repl.link_of(key, link) else {
        return;
    };
    if data.is_empty() {
        return;
    }
    let r = &mut s.repl;
    let actions = r.follower.on_data(&mut r.hist, link, &data, now_ms());
    run(s, actions);
}

/// `n` bytes were read from client `key`. A streaming link's bytes stay in its query buffer
/// for the core to apply, unless the follower wants them itself.
pub fn on_primary_input(s: &mut Server, key: usize, n: usize) {
    s.stats.net_repl_input_bytes += n as u64;
    let Some(c) = s.net.clients.get(key) else {
        return;
    };
    if !c.is_primary_link() {
        return;
    }
    let Some(link) = s.repl.link_of(key, c.link_id()) else {
        return;
    };
    let now = now_ms();
    if s.repl.follower.on_stream_read(link, n, now) {
        return;
    }
    let Some(c) = s.net.clients.get_mut(key) else {
        return;
    };
    let at = c.query.len().saturating_sub(n);
    let bytes = c.query.split_off(at);
    let r = &mut s.repl;
    let actions = r.follower.on_data(&mut r.hist, link, &bytes, now);
    run(s, actions);
}

/// A client was freed: if it carried one of the follower's links, the follower hears it.
pub fn on_link_freed(s: &mut Server, c: &Client) {
    let key = c.token.0 - crate::net::CLIENT_BASE;
    let Some(link) = s.repl.link_of(key, c.link_id()) else {
        return;
    };
    s.repl.links.remove(&link);
    s.repl.paused.remove(&link);
    s.repl.units.remove(&link);
    link_closed(s, link, c.protocol_error);
}

pub(super) fn link_closed(s: &mut Server, link: LinkId, protocol_error: bool) {
    let r = &mut s.repl;
    let actions = r
        .follower
        .on_closed(&mut r.hist, link, protocol_error, now_ms());
    run(s, actions);
}

/// True if client `key`, a link streaming from a primary, may apply its stream now (not
/// while the follower froze it: a primary being left, while the new one answers PSYNC).
pub fn primary_link_ready(s: &mut Server, key: usize) -> bool {
    !s.net
        .clients
        .get(key)
        .and_then(|c| s.repl.link_of(key, c.link_id()))
        .is_some_and(|l| s.repl.paused.contains(&l))
}

/// Back-pressure: a link is not read while the follower paused it, nor the connection
/// carrying the payload while the loader has a lot queued.
pub fn should_pause_reading(s: &Server, key: usize) -> bool {
    let Some(link) = s
        .net
        .clients
        .get(key)
        .and_then(|c| s.repl.link_of(key, c.link_id()))
    else {
        return false;
    };
    if s.repl.paused.contains(&link) {
        return true;
    }
    let (payload_link, load) = match s.repl.follower.state() {
        State::FullSync { main, load, .. } => (Some(main.id), *load),
        State::DualSync { dual, .. } => (dual.rdb.as_ref().map(|r| r.id), dual.load),
        _ => (None, None),
    };
    let loader_full = load
        .and_then(|l| s.repl.loads.get(&l))
        .is_some_and(|l| match l {
            Load::Running(l) => l.queued.load(Ordering::Relaxed) > LOADER_QUEUE_LIMIT,
            Load::Loaded(_) => false,
        });
    loader_full && payload_link == Some(link)
}

/// Links that may be read again (the loader drained) are read (cron).
pub fn resume_reading(s: &mut Server) {
    let keys: Vec<usize> = s.repl.links.values().copied().collect();
    for key in keys {
        let idle = s
            .net
            .clients
            .get(key)
            .is_some_and(|c| !c.connecting && !c.close_asap);
        if idle && !should_pause_reading(s, key) && !s.net.pending_read.contains(&key) {
            s.net.pending_read.push_back(key);
        }
    }
}

// ---------------------------------------------------------------------------- the stream

/// A command read from the primary's stream, re-encoded: the bytes to account and proxy.
/// A command whose canonical encoding is not what was received cannot be proxied byte for
/// byte: the link is closed for a resync (`None`).
pub fn stream_command_bytes(
    s: &mut Server,
    key: usize,
    argv: &[Bytes],
    consumed: usize,
) -> Option<Vec<u8>> {
    let mut raw = Vec::with_capacity(consumed);
    resp::reply::encode_command(&mut raw, argv);
    if raw.len() != consumed {
        log_warning!("Non-canonical command encoding from MASTER; closing the link to resync.");
        on_primary_protocol_error(s, key);
        return None;
    }
    Some(raw)
}

/// A command of a primary's stream was applied: the follower adds it to this node's history
/// (a MULTI block as one unit, at its EXEC).
pub fn stream_command_applied(s: &mut Server, key: usize, raw: Vec<u8>) {
    let Some(c) = s.net.clients.get(key) else {
        return;
    };
    let (in_multi, db) = (c.multi.is_some(), c.db);
    if let Some(link) = s.repl.link_of(key, c.link_id()) {
        unit_applied(s, link, raw, in_multi, db);
    }
}

fn unit_applied(s: &mut Server, link: LinkId, raw: Vec<u8>, in_multi: bool, db: usize) {
    if in_multi {
        s.repl
            .units
            .entry(link)
            .or_default()
            .extend_from_slice(&raw);
        return;
    }
    let unit = match s.repl.units.remove(&link) {
        Some(mut before) => {
            before.extend_from_slice(&raw);
            before
        }
        None => raw,
    };
    let r = &mut s.repl;
    r.follower.on_applied(&mut r.hist, link, &unit, db as i64);
}

/// A bare newline: in a primary's stream it counts as applied bytes; from a replica it is a
/// liveness signal.
pub fn on_empty_line(s: &mut Server, key: usize, consumed: usize) {
    let Some(c) = s.net.clients.get(key) else {
        return;
    };
    if c.is_primary_link() {
        let (in_multi, db) = (c.multi.is_some(), c.db);
        let Some(link) = s.repl.link_of(key, c.link_id()) else {
            return;
        };
        let bytes: &[u8] = if consumed >= 2 { b"\r\n" } else { b"\n" };
        unit_applied(s, link, bytes.to_vec(), in_multi, db);
    } else if c.is_replica() {
        let id = c.id;
        s.repl.primary.on_replica_newline(id, now_ms());
    }
}

/// A protocol error on a primary link: it is closed and never cached (the next sync is full).
pub fn on_primary_protocol_error(s: &mut Server, key: usize) {
    log_warning!("WARNING: Receiving inline protocol from master, master stream corruption? Closing the master connection and discarding the cached master.");
    if let Some(c) = s.net.clients.get_mut(key) {
        c.protocol_error = true;
        c.close_asap = true;
    }
}

/// The primary's stream holds a command this node does not know: it is never skipped. Nothing
/// of it (nor of a MULTI block around it) is applied; the link is closed and the cached
/// primary discarded, so streaming resumes only after a full sync brings a dataset that
/// already holds its effect (or the operator's REPLICAOF); INFO shows the command and its
/// offset meanwhile.
pub fn halt_on_unknown(s: &mut Server, key: usize, argv: &[Bytes]) {
    let Some(c) = s.net.clients.get_mut(key) else {
        return;
    };
    c.protocol_error = true;
    c.close_asap = true;
    let pending = c
        .link_id()
        .and_then(|l| s.repl.units.get(&l))
        .map_or(0, |u| u.len() as i64);
    let offset = s.repl.hist.offset() + pending + 1;
    // Printable and short: the name goes to the log and INFO as received.
    let printable = |word: &[u8]| -> String {
        String::from_utf8_lossy(word)
            .chars()
            .map(|ch| if ch.is_ascii_graphic() { ch } else { '?' })
            .take(64)
            .collect()
    };
    let mut command = argv.first().map_or_else(String::new, |a| printable(a));
    if let Some(sub) = argv
        .get(1)
        .filter(|_| commands::call::resolve(&argv[..1]).is_ok())
    {
        // A known container with an unknown subcommand.
        command.push('|');
        command.push_str(&printable(sub));
    }
    let now = now_ms();
    let (streak, last) = s.repl.halt_streak;
    let streak = if streak > 0 && now - last <= super::state::HALT_STREAK_WINDOW_MS {
        streak + 1
    } else {
        1
    };
    s.repl.halt_streak = (streak, now);
    let wait = super::state::halt_backoff_ms(streak);
    s.repl.follower.hold_reconnect(now + wait);
    let when = if wait == 0 {
        "the next sync is a full one".to_string()
    } else {
        format!(
            "halt {streak} in a row: the full sync that resumes it starts in {} s (REPLICAOF starts it now)",
            wait / 1000
        )
    };
    log_warning!("== CRITICAL == The primary sent a command this replica does not know: '{command}' at replication offset {offset}. It is not skipped: the stream stops here (the data is the primary's up to offset {}), the link is closed and {when}.", offset - 1);
    s.repl.halted = Some(Halted {
        command,
        offset,
        streak,
    });
}

/// The stream applies again (a full sync was installed, or REPLICAOF): the halt is over.
fn clear_halt(s: &mut Server, why: &str) {
    if let Some(h) = s.repl.halted.take() {
        // The command is named once, in the CRITICAL line (Valkey's suite counts it).
        log_notice!(
            "The stream halted at offset {} is no longer pending: {why}.",
            h.offset
        );
    }
}

/// `REPLCONF GETACK` executed from client `client`: if it is a link streaming from our
/// primary, the follower answers it.
pub fn on_getack(s: &mut Server, client: u64) {
    let Some(key) = s.net.client_key(client) else {
        return;
    };
    let Some(link) = s
        .net
        .clients
        .get(key)
        .filter(|c| c.is_primary_link())
        .and_then(|c| s.repl.link_of(key, c.link_id()))
    else {
        return;
    };
    let actions = s.repl.follower.on_getack(&s.repl.hist, link);
    run(s, actions);
}

// ---------------------------------------------------------------------------- loads

fn start_load(s: &mut Server, load: LoadId) {
    let file = (s.cfg.repl_diskless_load == crate::config::value::DisklessLoad::Disabled)
        .then(|| crate::persist::rdb_path(s));
    let opts = persistence::LoadOptions {
        verify_checksum: s.cfg.rdbchecksum,
        databases: s.exec.ks.db_count(),
        limits: crate::persist::limits(s),
        drop_expired_at_ms: None,
        key_load_delay_us: s.cfg.key_load_delay_us,
        report_expired: false,
    };
    let diskless = file.is_none();
    match Loader::start(load, opts, file, s.repl.events.sender()) {
        Ok(l) => {
            if diskless {
                log_notice!("MASTER <-> REPLICA sync: Loading DB in memory");
            }
            s.repl.loads.insert(load, Load::Running(l));
        }
        Err(e) => {
            let why =
                format!("Opening the temp file needed for MASTER <-> REPLICA synchronization: {e}");
            s.repl.deferred.push_back(Deferred::LoadFailed(load, why));
        }
    }
}

/// Forgets a load: a running one stops with its channel, a loaded dataset is freed in the
/// background.
fn drop_load(s: &mut Server, load: LoadId) {
    match s.repl.loads.remove(&load) {
        Some(Load::Loaded(l)) => keyspace::lazyfree::free_in_background(l.dbs, 1),
        // Valkey's words for a payload cut short, which operators' log watches look for.
        Some(Load::Running(_)) => log_warning!(
            "Internal error in RDB reading: the payload ended before its end mark (the link to the primary closed); the load is abandoned and the current data kept"
        ),
        None => {}
    }
}

/// The loader thread finished.
pub fn on_load_done(s: &mut Server, res: LoadResult) {
    if !matches!(s.repl.loads.get(&res.id), Some(Load::Running(_))) {
        // Abandoned meanwhile.
        if let Ok(l) = res.result {
            keyspace::lazyfree::free_in_background(l.dbs, 1);
        }
        return;
    }
    s.repl.loads.remove(&res.id);
    let result = match res.result {
        // The payload's FUNCTION libraries must install too, or the whole sync fails (the
        // old data kept).
        Ok(loaded) => match s.exec.scripting.check_rdb_libraries(&loaded.functions) {
            Ok(()) => {
                // The load is done (as Valkey logs it when its load ends); the data goes
                // in when the follower installs it (at once, or on a dual-channel sync's
                // PSYNC reply).
                log_notice!(
                    "Done loading RDB, keys loaded: {}, keys expired: {}.",
                    loaded.keys_loaded,
                    loaded.keys_expired
                );
                let db = loaded.repl.as_ref().map_or(-1, |r| r.stream_db);
                s.repl.loads.insert(res.id, Load::Loaded(Box::new(loaded)));
                Ok(db)
            }
            Err(e) => {
                keyspace::lazyfree::free_in_background(loaded.dbs, 1);
                Err(e)
            }
        },
        Err(e) => Err(e),
    };
    load_finished(s, res.id, result);
}

/// Reports a load's end to the follower; a loaded dataset it no longer wants is freed.
pub(super) fn load_finished(s: &mut Server, load: LoadId, result: Result<i64, String>) {
    let r = &mut s.repl;
    let actions = r.follower.on_load_done(
        &mut r.hist,
        load,
        result,
        now_ms(),
        &mut crate::util::random_hex40,
    );
    run(s, actions);
    let wanted = match s.repl.follower.state() {
        State::FullSync { load: l, .. } => *l == Some(load),
        State::DualSync { dual, .. } => dual.load == Some(load),
        State::DualLoaded { load: l, .. } => *l == load,
        _ => false,
    };
    if !wanted {
        drop_load(s, load);
    }
}

/// Swaps the loaded databases in, atomically (one exchange on the event loop).
fn install(s: &mut Server, loaded: persistence::Loaded) {
    for db in 0..s.exec.ks.db_count() {
        s.exec.watches.touch_db(&mut s.net, &s.exec.ks, db);
    }
    if let Err(e) = s
        .exec
        .scripting
        .install_from_rdb(&loaded.functions, false, false)
    {
        // Checked when the load finished; only a script running now could refuse it.
        log_warning!("The primary's FUNCTION libraries were not installed: {e}");
    }
    let old = s.exec.ks.replace_all(loaded.dbs);
    keyspace::lazyfree::free_in_background(old, 1);
    crate::persist::aof::restart_after_full_sync(s);
    clear_halt(s, "a full sync brought the primary's dataset");
}

// ---------------------------------------------------------------------------- INFO

/// Seconds left in the current full sync's payload at its pace so far (-1: none or unknown,
/// as when a diskless payload does not announce its length).
fn sync_eta(s: &Server, now: i64) -> i64 {
    let f = &s.repl.follower;
    match (f.payload_progress(), f.sync_started_ms()) {
        (Some((read, Some(total))), Some(t)) => replication::clock::eta_secs(read, total, now - t),
        _ => -1,
    }
}

/// Logs, every few seconds during a full sync, how far the payload is.
pub fn log_progress(s: &mut Server, now: i64) {
    let f = &s.repl.follower;
    let Some(started) = f.sync_started_ms() else {
        return;
    };
    if now - started.max(s.repl.sync_logged_ms) < super::primary::PROGRESS_LOG_MS {
        return;
    }
    s.repl.sync_logged_ms = now;
    let (read, total) = f.payload_progress().unwrap_or((0, None));
    let of = match total {
        Some(t) if t > 0 => format!(
            " of {} ({:.2}%)",
            crate::util::human_bytes(t),
            read as f64 * 100.0 / t as f64
        ),
        _ => String::new(),
    };
    log_notice!(
        "MASTER <-> REPLICA sync: {} — {} received{of}, ETA {}, {} of the stream buffered, {} s since the sync started",
        f.sync_phase().unwrap_or("none"),
        crate::util::human_bytes(read),
        super::primary::eta_words(sync_eta(s, now)),
        crate::util::human_bytes(f.buffer_size() as u64),
        (now - started) / 1000
    );
}

/// INFO replication fields of a replica, in Valkey 8's order.
pub fn info_fields(s: &Server, now: i64, out: &mut String) {
    let f = &s.repl.follower;
    let (host, port) = f.target().unwrap_or(("", 0));
    let up = f.link_up();
    let last_io = if up {
        (now - f.last_io_ms()) / 1000
    } else {
        -1
    };
    let sync = f.sync_in_progress();
    let (read_off, applied) = f.offsets(&s.repl.hist);
    let _ = write!(
        out,
        "role:slave\r\nmaster_host:{host}\r\nmaster_port:{port}\r\nmaster_link_status:{}\r\nmaster_last_io_seconds_ago:{last_io}\r\nmaster_sync_in_progress:{}\r\nslave_read_repl_offset:{read_off}\r\nslave_repl_offset:{applied}\r\nreplicas_repl_buffer_size:{}\r\nreplicas_repl_buffer_peak:{}\r\n",
        if up { "up" } else { "down" },
        sync as u8,
        f.buffer_size(),
        f.buffer_peak()
    );
    if sync {
        let (read, total) = f.payload_progress().unwrap_or((0, None));
        let total = total.map_or(-1, |t| t as i64);
        let read = read as i64;
        let perc = if total > 0 {
            read as f64 * 100.0 / total as f64
        } else if total == 0 {
            0.0
        } else {
            -0.0
        };
        let _ = write!(
            out,
            "master_sync_total_bytes:{total}\r\nmaster_sync_read_bytes:{read}\r\nmaster_sync_left_bytes:{}\r\nmaster_sync_perc:{perc:.2}\r\nmaster_sync_last_io_seconds_ago:{}\r\n",
            if total >= 0 { total - read } else { -1 },
            (now - f.last_io_ms()) / 1000
        );
    }
    // Redwing's: the phase (see Follower::sync_phase), the full sync's ETA from the pace of
    // the payload so far (-1 unknown), and how long the last successful one took.
    let _ = write!(
        out,
        "master_sync_phase:{}\r\nmaster_sync_eta_seconds:{}\r\nlast_successful_sync_duration_ms:{}\r\n",
        f.sync_phase().unwrap_or("none"),
        sync_eta(s, now),
        f.last_sync_ms()
    );
    if !up {
        let since = f.down_since_ms().map_or(-1, |d| (now - d) / 1000);
        let _ = write!(out, "master_link_down_since_seconds:{since}\r\n");
    }
    if let Some(e) = f.last_error() {
        let _ = write!(out, "master_last_error:{e}\r\n");
    }
    // Redwing's: the stream stopped at a command this node does not know.
    match &s.repl.halted {
        Some(h) => {
            let _ = write!(
                out,
                "master_stream_halted:1\r\nmaster_stream_halted_command:{}\r\nmaster_stream_halted_offset:{}\r\nmaster_stream_halts_in_a_row:{}\r\nmaster_stream_resync_in_seconds:{}\r\n",
                h.command,
                h.offset,
                h.streak,
                f.held_until(now).map_or(0, |t| (t - now + 999) / 1000)
            );
        }
        None => {
            let _ = write!(out, "master_stream_halted:0\r\n");
        }
    }
    let _ = write!(
        out,
        "slave_priority:{}\r\nslave_read_only:{}\r\nreplica_announced:{}\r\n",
        s.cfg.replica_priority, s.cfg.replica_read_only as u8, s.cfg.replica_announced as u8
    );
}
