//! Following a primary.
//!
//! There are at most two links: `current` (the primary we follow) and `pending` (a REPLICAOF
//! attempt). A pending attempt connects, authenticates and handshakes without touching our
//! role, link or data. Only when it is ready to send PSYNC do we freeze our history (hold writes
//! on a primary, stop applying the old primary's stream on a replica), so that the offset we
//! announce stays exact; the switch happens when the new primary answers +CONTINUE or
//! +FULLRESYNC. Any failure unfreezes and leaves everything as it was, except the attempt's
//! state and last error in INFO. A later REPLICAOF cancels an earlier pending one.
//!
//! Dual-channel full sync (Valkey): `+DUALCHANNELSYNC` commits the attempt like +FULLRESYNC
//! would, and a second connection ([`LinkSlot::Rdb`]) fetches the snapshot while the main one
//! PSYNCs from the snapshot's offset and buffers the stream locally. The new dataset is loaded
//! aside as in a single-channel sync and swapped in once both the load and the +CONTINUE are
//! done; then the buffer is applied. Any failure on either connection abandons the whole sync
//! (the old dataset stays) and it is retried.

use std::fmt::Write as _;
use std::net::ToSocketAddrs;
use std::sync::atomic::Ordering;

use bytes::{Bytes, BytesMut};
use commands::errors::err;
use replication::link::Action;
use replication::{Link, LinkConfig, LinkState};
use resp::Reply;

use super::load::{LoadResult, Loader};
use super::state::{Cached, RdbConn, Upstream};
use crate::net::client::{Client, Conn, LinkSlot, Role};
use crate::server::Server;
use crate::util::now_ms;
use crate::{log_notice, log_warning};

/// A new link to `host:port`, not connected yet.
fn new_upstream(s: &Server, host: String, port: u16) -> Upstream {
    let now = now_ms();
    Upstream {
        link: Link::new(link_config(s), now),
        host,
        port,
        client: None,
        connecting: false,
        retry_at_ms: now,
        last_error: None,
        loader: None,
        stream_buf: Vec::new(),
        reploff: 0,
        read_reploff: 0,
        db: 0,
        multi_bytes: Vec::new(),
        down_since_ms: None,
        last_io_ms: now,
        psync_from: None,
        pre_psync: false,
        next_load_id: 1,
        paused_reading: false,
        dual: false,
        rdb: None,
        dual_loaded: None,
        dual_continued: false,
        buf_peak: 0,
    }
}

/// Closes link clients so that they no longer count as links.
fn close_link_clients(s: &mut Server, keys: impl IntoIterator<Item = usize>) {
    for k in keys {
        if let Some(c) = s.net.clients.get_mut(k) {
            c.role = Role::Normal;
            c.close_asap = true;
        }
    }
}

fn link_config(s: &Server) -> LinkConfig {
    let announce_port = s.cfg.replica_announce_port;
    let port = if announce_port != 0 {
        announce_port
    } else {
        s.cfg.port
    };
    let pass = s.cfg.primary_auth.as_str();
    let user = s.cfg.primary_user.as_str();
    LinkConfig {
        listening_port: port as u16,
        announce_ip: Some(s.cfg.replica_announce_ip.as_str().to_string()).filter(|v| !v.is_empty()),
        auth: (!pass.is_empty()).then(|| {
            (
                Some(user.to_string()).filter(|u| !u.is_empty()),
                pass.to_string(),
            )
        }),
        dual_channel: s.cfg.dual_channel_replication_enabled,
        rdb_channel: false,
        timeout_ms: s.cfg.repl_timeout_secs * 1000,
    }
}

/// The link a slot belongs to (the snapshot connection belongs to the current link).
fn upstream(s: &mut Server, slot: LinkSlot) -> Option<&mut Upstream> {
    match slot {
        LinkSlot::Current | LinkSlot::Rdb => s.repl.current.as_mut(),
        LinkSlot::Pending => s.repl.pending.as_mut(),
    }
}

/// The state machine of a slot's connection.
fn link_of(s: &mut Server, slot: LinkSlot) -> Option<&mut Link> {
    match slot {
        LinkSlot::Rdb => s.repl.current.as_mut()?.rdb.as_mut().map(|r| &mut r.link),
        _ => upstream(s, slot).map(|u| &mut u.link),
    }
}

/// The client slot of a slot's connection.
fn client_of(s: &mut Server, slot: LinkSlot) -> Option<usize> {
    match slot {
        LinkSlot::Rdb => s.repl.current.as_ref()?.rdb.as_ref()?.client,
        _ => upstream(s, slot)?.client,
    }
}

/// REPLICAOF host port | REPLICAOF NO ONE
pub fn replicaof_command(s: &mut Server, key: usize, argv: &[Bytes]) -> Reply {
    let Some(c) = s.net.clients.get(key) else {
        return Reply::Raw(Bytes::new());
    };
    if c.is_primary_link() {
        return err("ERR Command is not valid when client is a replica.");
    }
    let who = crate::net::client::client_info(c, now_ms());
    if argv[1].eq_ignore_ascii_case(b"no") && argv[2].eq_ignore_ascii_case(b"one") {
        cancel_pending(s, "cancelled by REPLICAOF NO ONE");
        if s.repl.is_replica() {
            promote(s);
            log_notice!("MASTER MODE enabled (user request from '{who}')");
        }
        return Reply::Ok;
    }
    let port = match commands::args::int(&argv[2]) {
        Ok(p) if (0..=65535).contains(&p) => p as u16,
        _ => return err("ERR Invalid master port"),
    };
    let host = String::from_utf8_lossy(&argv[1]).into_owned();
    if s.repl
        .current
        .as_ref()
        .is_some_and(|u| u.host == host && u.port == port)
    {
        cancel_pending(s, "superseded");
        return Reply::status("OK Already connected to specified master");
    }
    if s.repl
        .pending
        .as_ref()
        .is_some_and(|u| u.host == host && u.port == port)
    {
        return Reply::Ok;
    }
    cancel_pending(s, "superseded by a later REPLICAOF");
    log_notice!("REPLICAOF {host}:{port} enabled (user request from '{who}')");
    // A link to the primary we are leaving that is not streaming serves nothing, and letting
    // it finish its handshake could full-sync us from a node we no longer follow (announcing
    // a history nobody else has): drop it. A streaming link stays until the new one works.
    let old_link_open = s.repl.current.as_ref().is_some_and(|u| u.client.is_some());
    if old_link_open && !s.repl.link_up() {
        link_failed(
            s,
            LinkSlot::Current,
            &format!("Dropping the unfinished link to the old master for REPLICAOF {host}:{port}"),
        );
    }
    s.repl.pending = Some(new_upstream(s, host, port));
    connect(s, LinkSlot::Pending);
    Reply::Ok
}

/// Follow `host:port` at start-up (`replicaof` in the configuration): no old role to keep.
pub fn start_as_replica(s: &mut Server, host: String, port: u16) {
    s.repl.current = Some(new_upstream(s, host, port));
    become_replica(s);
}

fn cancel_pending(s: &mut Server, why: &str) {
    if let Some(mut p) = s.repl.pending.take() {
        log_notice!("Pending REPLICAOF {}:{} {}", p.host, p.port, why);
        let mut keys = p.abandon_sync();
        keys.extend(p.client);
        close_link_clients(s, keys);
        unfreeze(s);
    }
}

/// Starts a TCP connection for a link.
fn connect(s: &mut Server, slot: LinkSlot) {
    let Some(u) = upstream(s, slot) else { return };
    let addr = match (u.host.as_str(), u.port)
        .to_socket_addrs()
        .map(|mut a| a.next())
    {
        Ok(Some(a)) => a,
        Ok(None) | Err(_) => {
            let host = format!("{}:{}", u.host, u.port);
            return link_failed(s, slot, &format!("Unable to resolve {host}"));
        }
    };
    let stream = match mio::net::TcpStream::connect(addr) {
        Ok(st) => st,
        Err(e) => return link_failed(s, slot, &format!("Unable to connect to MASTER: {e}")),
    };
    let _ = stream.set_nodelay(true);
    let cfg = link_config(s);
    match s
        .net
        .add_outgoing(Conn::Tcp(stream), addr.to_string(), slot)
    {
        Ok(key) => {
            if let Some(u) = upstream(s, slot) {
                u.client = Some(key);
                u.connecting = true;
                u.link = Link::new(cfg, now_ms());
            }
            log_notice!("Connecting to MASTER {addr}");
        }
        Err(e) => link_failed(s, slot, &format!("Unable to connect to MASTER: {e}")),
    }
}

/// The outgoing connection became writable: connected, or failed.
pub fn on_connect_event(s: &mut Server, key: usize) {
    let Some(c) = s.net.clients.get(key) else {
        return;
    };
    let Some(slot) = c.link_slot() else {
        return;
    };
    let result = match &c.conn {
        Conn::Tcp(t) => match t.take_error() {
            Ok(Some(e)) | Err(e) => Err(e.to_string()),
            Ok(None) => t.peer_addr().map(|_| ()).map_err(|e| e.to_string()),
        },
        Conn::Unix(_) => Ok(()),
    };
    match result {
        Ok(()) => {
            if let Some(c) = s.net.clients.get_mut(key) {
                c.connecting = false;
            }
            let actions = if slot == LinkSlot::Rdb {
                log_notice!("MASTER <-> REPLICA sync: RDB channel connected");
                match s.repl.current.as_mut().and_then(|u| u.rdb.as_mut()) {
                    Some(r) => {
                        r.connecting = false;
                        r.link.on_connected(now_ms())
                    }
                    None => return,
                }
            } else {
                log_notice!("MASTER <-> REPLICA sync started");
                match upstream(s, slot) {
                    Some(u) => {
                        u.connecting = false;
                        u.link.on_connected(now_ms())
                    }
                    None => return,
                }
            };
            run_actions(s, slot, actions);
        }
        Err(e)
            if e.contains("Transport endpoint is not connected") || e.contains("os error 107") => {}
        Err(e) => link_failed(s, slot, &format!("Error condition on socket for SYNC: {e}")),
    }
}

/// Bytes from a link that is not streaming yet: feed the state machine.
pub fn link_input(s: &mut Server, key: usize) {
    let Some(c) = s.net.clients.get_mut(key) else {
        return;
    };
    let Some(slot) = c.link_slot() else {
        return;
    };
    let data = c.query.split().freeze();
    if data.is_empty() {
        return;
    }
    let actions = match link_of(s, slot) {
        Some(l) => l.on_data(now_ms(), &data),
        None => return,
    };
    run_actions(s, slot, actions);
}

fn run_actions(s: &mut Server, mut slot: LinkSlot, actions: Vec<Action>) {
    for a in actions {
        if upstream(s, slot).is_none() {
            return;
        }
        match a {
            Action::Send(bytes) => send(s, slot, &bytes),
            Action::HandshakeDone => handshake_done(s, slot),
            Action::FullResync { replid, offset } => {
                on_full_resync(s, slot, replid, offset);
                // A pending attempt became the current link: the rest of this batch (payload,
                // stream bytes) belongs to it.
                slot = LinkSlot::Current;
            }
            Action::PayloadStart { total } => start_loader(s, total),
            Action::Payload(bytes) => feed_loader(s, bytes),
            Action::PayloadEnd => finish_payload(s),
            Action::Continue { replid } => {
                on_continue(s, slot, replid);
                slot = LinkSlot::Current;
            }
            Action::Stream(bytes) if slot != LinkSlot::Rdb => on_stream_bytes(s, bytes),
            Action::Stream(_) => {}
            Action::DualChannel => {
                if slot == LinkSlot::Pending {
                    commit_pending(s);
                }
                slot = LinkSlot::Current;
                start_rdb_channel(s);
            }
            Action::EndOff(e) => on_endoff(s, e),
            Action::DualContinue { replid } => on_dual_continue(s, replid),
            Action::RetryLater(msg) => {
                log_notice!(
                    "Master is currently unable to PSYNC but should be in the future: {msg}"
                );
                link_failed(s, slot, &msg);
            }
            Action::Fail(msg) => link_failed(s, slot, &msg),
            Action::Log(msg) => log_notice!("{msg}"),
        }
    }
}

fn send(s: &mut Server, slot: LinkSlot, bytes: &[u8]) {
    let dual_psync = s.repl.current.as_ref().is_some_and(|u| {
        slot == LinkSlot::Current && u.dual && u.link.state() == LinkState::AwaitPsyncReply
    });
    if dual_psync && s.repl.pause_before_dual_psync {
        log_notice!("DEBUG PAUSE-AFTER-FORK: stopping before the dual-channel PSYNC");
        // SAFETY: raise(3) with a valid signal number; the process resumes on SIGCONT.
        unsafe { libc::raise(libc::SIGSTOP) };
    }
    if let Some(k) = client_of(s, slot) {
        if let Some(c) = s.net.clients.get_mut(k) {
            c.push_raw(bytes);
        }
    }
}

/// Decides what PSYNC asks for; a pending attempt freezes our history first.
fn handshake_done(s: &mut Server, slot: LinkSlot) {
    let from: Option<(String, i64)> = match slot {
        // The snapshot connection never sends PSYNC.
        LinkSlot::Rdb => return,
        LinkSlot::Current => s
            .repl
            .cached
            .as_ref()
            .map(|c| (c.replid.clone(), c.offset + 1)),
        LinkSlot::Pending => {
            s.repl.frozen = true;
            if let Some(u) = s.repl.current.as_ref().filter(|_| s.repl.link_up()) {
                Some((s.repl.ids.replid.clone(), u.reploff + 1))
            } else if let Some(c) = s.repl.cached.as_ref() {
                Some((c.replid.clone(), c.offset + 1))
            } else if !s.repl.is_replica() {
                Some(s.repl.ids.psync_request())
            } else {
                None
            }
        }
    };
    match &from {
        Some((id, off)) => log_notice!("Trying a partial resynchronization (request {id}:{off})."),
        None => log_notice!("Partial resynchronization not possible (no cached master)"),
    }
    let Some(u) = upstream(s, slot) else { return };
    u.psync_from = from.clone();
    let actions = u
        .link
        .psync(from.as_ref().map(|(id, off)| (id.as_str(), *off)));
    run_actions(s, slot, actions);
}

fn unfreeze(s: &mut Server) {
    if s.repl.frozen {
        s.repl.frozen = false;
        s.exec.pause.release_pending = true;
        if let Some(k) = s.repl.current.as_ref().and_then(|u| u.client) {
            s.net.pending_read.push_back(k);
        }
    }
}

/// The pending attempt was answered: it becomes our link, replacing whatever we had.
fn commit_pending(s: &mut Server) {
    let Some(p) = s.repl.pending.take() else {
        return;
    };
    if let Some(mut old) = s.repl.current.take() {
        let mut keys = old.abandon_sync();
        keys.extend(old.client);
        close_link_clients(s, keys);
    }
    let was_primary = s.repl.current.is_none() && s.exec.ks.mode != keyspace::ExpiryMode::Replica;
    if let Some(k) = p.client {
        if let Some(c) = s.net.clients.get_mut(k) {
            c.role = Role::PrimaryLink {
                slot: LinkSlot::Current,
                streaming: false,
            };
        }
    }
    // CONFIG GET/REWRITE `replicaof` report the primary followed now, as Redis does.
    s.cfg.replicaof = crate::config::value::ReplicaOf(Some((p.host.clone(), p.port)));
    s.repl.current = Some(p);
    s.repl.cached = None;
    if was_primary {
        become_replica(s);
    }
    s.repl.frozen = false;
    s.exec.pause.release_pending = true;
}

/// This node now follows a primary: replica expiry rules, blocked clients released.
fn become_replica(s: &mut Server) {
    s.exec.ks.mode = keyspace::ExpiryMode::Replica;
    crate::log::set_role(true);
    let blocked: Vec<usize> = s
        .net
        .clients
        .iter()
        .filter(|(_, c)| {
            c.blocked
                .as_ref()
                .is_some_and(|b| b.kind == crate::net::client::BlockKind::Keys)
        })
        .map(|(k, _)| k)
        .collect();
    for k in blocked {
        let Some(c) = s.net.clients.get_mut(k) else {
            continue;
        };
        s.exec.blocking.unblock(c);
        c.reply(&Reply::error("UNBLOCKED force unblock from blocking operation, instance state changed (master -> replica?)"));
        c.close_after_reply = true;
    }
}

/// REPLICAOF NO ONE: stop following; the current history continues under a new id and the
/// old id stays valid for our replicas and siblings (PSYNC2).
/// `PSYNC <replid> <offset> FAILOVER`: our primary, running FAILOVER, hands over to us. The
/// id must be ours (else Redis's error); we then become a primary (our id moves to replid2)
/// and the PSYNC is served as usual.
pub fn promote_for_failover(s: &mut Server, key: usize, argv: &[Bytes]) -> Result<(), Reply> {
    let failover = argv
        .get(3)
        .is_some_and(|a| a.eq_ignore_ascii_case(b"failover"));
    if !failover {
        return Ok(());
    }
    let own_id = argv
        .get(1)
        .is_some_and(|id| id.eq_ignore_ascii_case(s.repl.ids.replid.as_bytes()));
    if !own_id {
        return Err(err("ERR PSYNC FAILOVER replid must match my replid."));
    }
    if s.repl.is_replica() {
        let who = s
            .net
            .clients
            .get(key)
            .map(|c| crate::net::client::client_info(c, now_ms()))
            .unwrap_or_default();
        promote(s);
        log_notice!("MASTER MODE enabled (failover request from '{who}')");
    }
    Ok(())
}

pub fn promote(s: &mut Server) {
    s.cfg.replicaof = crate::config::value::ReplicaOf(None);
    if let Some(mut u) = s.repl.current.take() {
        let mut keys = u.abandon_sync();
        keys.extend(u.client);
        close_link_clients(s, keys);
    }
    s.repl.cached = None;
    s.repl.ids.shift(crate::util::random_hex40());
    log_notice!(
        "Setting secondary replication ID to {}, valid up to offset: {}. New replication ID is {}",
        s.repl.ids.replid2,
        s.repl.ids.second_offset,
        s.repl.ids.replid
    );
    let size = s.cfg.repl_backlog_size_bytes as usize;
    s.repl.ensure_backlog(size);
    s.repl.disconnect_replicas(&mut s.net);
    s.repl.last_db = -1;
    s.exec.ks.mode = keyspace::ExpiryMode::Primary;
    s.exec.ks.forget_replica_local_expires();
    crate::log::set_role(false);
}

fn on_full_resync(s: &mut Server, slot: LinkSlot, replid: Option<String>, offset: i64) {
    if slot == LinkSlot::Pending {
        commit_pending(s);
    }
    let Some(u) = s.repl.current.as_mut() else {
        return;
    };
    u.pre_psync = replid.is_none();
    log_notice!(
        "Full resync from master: {}:{}",
        replid.as_deref().unwrap_or("?"),
        offset
    );
}

fn start_loader(s: &mut Server, total: Option<u64>) {
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
    let tx = s.repl.events.sender();
    let Some(u) = s.repl.current.as_mut() else {
        return;
    };
    let id = u.next_load_id;
    u.next_load_id += 1;
    log_notice!(
        "MASTER <-> REPLICA sync: receiving {} bytes from master to {}",
        total.map_or("streamed".to_string(), |t| t.to_string()),
        if file.is_some() { "disk" } else { "the loader" }
    );
    match Loader::start(id, opts, file, tx) {
        Ok(l) => u.loader = Some(l),
        Err(e) => link_failed(
            s,
            LinkSlot::Current,
            &format!("Opening the temp file needed for MASTER <-> REPLICA synchronization: {e}"),
        ),
    }
}

fn feed_loader(s: &mut Server, bytes: Vec<u8>) {
    let Some(u) = s.repl.current.as_mut() else {
        return;
    };
    let Some(l) = u.loader.as_mut() else { return };
    if let Err(e) = l.feed(bytes) {
        link_failed(s, LinkSlot::Current, &format!("Write error writing to the DB dump file needed for MASTER <-> REPLICA synchronization: {e}"));
    }
}

fn finish_payload(s: &mut Server) {
    let Some(u) = s.repl.current.as_mut() else {
        return;
    };
    log_notice!("MASTER <-> REPLICA sync: Loading DB in memory");
    if let Some(l) = u.loader.as_mut() {
        if let Err(e) = l.finish() {
            return link_failed(s, LinkSlot::Current, &format!("Failed trying to rename the temp DB into dump.rdb in MASTER <-> REPLICA synchronization: {e}"));
        }
    }
    early_ack(s);
}

/// While the snapshot loads aside, the stream is buffered here, not on the primary: an
/// `ACK 0` (true of any replica, and no help to WAIT) releases a primary that holds the
/// stream until a replica's first ACK after an EOF-form payload. Sent once the payload is
/// in, and each second until stream bytes arrive (it must come after the primary has seen
/// the transfer end).
fn early_ack(s: &mut Server) {
    let Some(u) = s.repl.current.as_ref() else {
        return;
    };
    if u.dual || u.pre_psync || u.loader.is_none() || !u.stream_buf.is_empty() {
        return;
    }
    if let Some(k) = u.client {
        if let Some(c) = s.net.clients.get_mut(k) {
            c.push_raw(&replication::proto::command(&["REPLCONF", "ACK", "0"]));
        }
    }
}

/// The loader finished: swap the new dataset in atomically, or keep the old one.
pub fn on_load_done(s: &mut Server, res: LoadResult) {
    let Some(u) = s.repl.current.as_mut() else {
        return;
    };
    if u.loader.as_ref().map(|l| l.id) != Some(res.id) {
        return;
    }
    u.loader = None;
    let loaded = match res.result {
        Ok(l) => l,
        Err(e) => {
            log_warning!("Failed trying to load the MASTER synchronization DB from socket: {e}");
            return link_failed(s, LinkSlot::Current, "load failed");
        }
    };
    if u.dual {
        let rdb_client = u.rdb.take().and_then(|r| r.client);
        close_link_clients(s, rdb_client);
        let Some(u) = s.repl.current.as_mut() else {
            return;
        };
        if !u.dual_continued {
            log_notice!(
                "Dual channel sync - RDB loaded, waiting for the main channel's PSYNC reply"
            );
            u.dual_loaded = Some(Box::new(loaded));
            return;
        }
        return finish_dual(s, loaded);
    }
    let (replid, offset) = u.link.full_sync.clone().unwrap_or((None, -1));
    let stream_db = loaded
        .repl
        .as_ref()
        .map_or(0, |r| r.stream_db.max(0) as usize);
    install_dataset(s, loaded, replid, offset, stream_db);
}

/// Both halves of a dual-channel sync are done: install the snapshot at the `$ENDOFF`
/// position, then apply the buffered stream.
fn finish_dual(s: &mut Server, loaded: persistence::Loaded) {
    let Some(u) = s.repl.current.as_mut() else {
        return;
    };
    let Some(e) = u.link.endoff.clone() else {
        return link_failed(s, LinkSlot::Current, "dual-channel sync without $ENDOFF");
    };
    u.dual = false;
    u.dual_continued = false;
    log_notice!(
        "Dual channel sync - loaded the snapshot; applying {} buffered bytes of the stream",
        u.stream_buf.len()
    );
    install_dataset(s, loaded, Some(e.replid), e.offset, e.db.max(0) as usize);
}

/// Swaps `loaded` in as the dataset at replication position (`replid`, `offset`), then the
/// link streams (starting with what was buffered meanwhile).
fn install_dataset(
    s: &mut Server,
    loaded: persistence::Loaded,
    replid: Option<String>,
    offset: i64,
    stream_db: usize,
) {
    // The payload's FUNCTION libraries replace ours, or the whole sync fails (old data kept).
    if let Err(e) = s
        .exec
        .scripting
        .install_from_rdb(&loaded.functions, false, false)
    {
        log_warning!("Failed trying to load the MASTER synchronization DB from socket: {e}");
        return link_failed(s, LinkSlot::Current, "load failed");
    }
    for db in 0..s.exec.ks.db_count() {
        s.exec.watches.touch_db(&mut s.net, &s.exec.ks, db);
    }
    let old = s.exec.ks.replace_all(loaded.dbs);
    keyspace::lazyfree::free_in_background(old, 1);
    log_notice!(
        "Done loading RDB, keys loaded: {}, keys expired: {}.",
        loaded.keys_loaded,
        loaded.keys_expired
    );
    // The history changed: sub-replicas must resync.
    s.repl.disconnect_replicas(&mut s.net);
    let size = s.cfg.repl_backlog_size_bytes as usize;
    s.repl.ids.adopt(
        replid.unwrap_or_else(crate::util::random_hex40),
        offset.max(0),
    );
    s.repl.buf = Some(replication::ReplBuffer::new(offset.max(0), size));
    let Some(u) = s.repl.current.as_mut() else {
        return;
    };
    u.link.on_load_done(true, "");
    u.reploff = offset.max(0);
    u.read_reploff = u.reploff + u.stream_buf.len() as i64;
    u.db = stream_db;
    log_notice!("MASTER <-> REPLICA sync: Finished with success");
    start_streaming(s);
    s.repl.send_ack(&mut s.net);
}

/// Dual-channel: the primary agreed; open the snapshot connection to the same address.
fn start_rdb_channel(s: &mut Server) {
    let Some(u) = s.repl.current.as_mut() else {
        return;
    };
    u.dual = true;
    let target = (u.host.clone(), u.port);
    log_notice!(
        "MASTER <-> REPLICA sync: Primary offers dual-channel sync; opening the RDB channel"
    );
    let addr = match target.to_socket_addrs().map(|mut a| a.next()) {
        Ok(Some(a)) => a,
        _ => {
            let msg = format!("Unable to resolve {}:{}", target.0, target.1);
            return link_failed(s, LinkSlot::Current, &msg);
        }
    };
    let stream = match mio::net::TcpStream::connect(addr) {
        Ok(st) => st,
        Err(e) => {
            let msg = format!("Unable to connect to the MASTER's RDB channel: {e}");
            return link_failed(s, LinkSlot::Current, &msg);
        }
    };
    let _ = stream.set_nodelay(true);
    let cfg = LinkConfig {
        rdb_channel: true,
        ..link_config(s)
    };
    match s
        .net
        .add_outgoing(Conn::Tcp(stream), addr.to_string(), LinkSlot::Rdb)
    {
        Ok(key) => {
            if let Some(u) = s.repl.current.as_mut() {
                u.rdb = Some(RdbConn {
                    link: Link::new(cfg, now_ms()),
                    client: Some(key),
                    connecting: true,
                });
            }
        }
        Err(e) => {
            let msg = format!("Unable to connect to the MASTER's RDB channel: {e}");
            link_failed(s, LinkSlot::Current, &msg);
        }
    }
}

/// Dual-channel: the snapshot connection read `$ENDOFF`; the main connection associates with
/// it and PSYNCs from that offset.
fn on_endoff(s: &mut Server, e: replication::proto::EndOff) {
    log_notice!(
        "MASTER <-> REPLICA sync: received $ENDOFF: offset {}, replication id {}, RDB client id {}",
        e.offset,
        e.replid,
        e.client_id
    );
    let Some(u) = s.repl.current.as_mut() else {
        return;
    };
    let actions = u.link.dual_endoff(&e);
    run_actions(s, LinkSlot::Current, actions);
}

/// Dual-channel: PSYNC accepted on the main connection.
fn on_dual_continue(s: &mut Server, _replid: Option<String>) {
    log_notice!("MASTER <-> REPLICA sync: Master accepted a Partial Resynchronization, RDB load in background.");
    let Some(u) = s.repl.current.as_mut() else {
        return;
    };
    u.dual_continued = true;
    if let Some(loaded) = u.dual_loaded.take() {
        log_notice!("Dual channel sync - psync established after rdb load");
        finish_dual(s, *loaded);
    }
}

fn on_continue(s: &mut Server, slot: LinkSlot, replid: Option<String>) {
    if slot == LinkSlot::Pending {
        commit_pending(s);
    }
    let size = s.cfg.repl_backlog_size_bytes as usize;
    let Some(u) = s.repl.current.as_mut() else {
        return;
    };
    let start = u.psync_from.as_ref().map_or(s.repl.ids.offset + 1, |p| p.1);
    u.reploff = start - 1;
    u.read_reploff = u.reploff;
    if let Some(c) = &s.repl.cached {
        u.db = c.db;
    }
    s.repl.cached = None;
    s.repl.ids.offset = start - 1;
    s.repl.ensure_backlog(size);
    if let Some(id) = replid {
        if !id.eq_ignore_ascii_case(&s.repl.ids.replid) {
            s.repl.ids.switch_to(id);
            log_notice!("Master replication ID changed to {}", s.repl.ids.replid);
            s.repl.disconnect_replicas(&mut s.net);
        }
    }
    log_notice!("MASTER <-> REPLICA sync: Master accepted a Partial Resynchronization.");
    log_notice!("Successful partial resynchronization with master.");
    start_streaming(s);
}

/// The link applies the stream from now on.
fn start_streaming(s: &mut Server) {
    let Some(u) = s.repl.current.as_mut() else {
        return;
    };
    u.down_since_ms = None;
    let resume = std::mem::take(&mut u.paused_reading);
    let Some(k) = u.client else { return };
    let buffered = std::mem::take(&mut u.stream_buf);
    if resume {
        log_notice!("Replication buffer applied; reading the primary link again.");
        s.net.pending_read.push_back(k);
    }
    let db = u.db;
    let Some(c) = s.net.clients.get_mut(k) else {
        return;
    };
    c.role = Role::PrimaryLink {
        slot: c.link_slot().unwrap_or(LinkSlot::Current),
        streaming: true,
    };
    c.authenticated = true;
    c.parser.auth_required = false;
    c.parser.from_primary = true;
    c.db = db;
    if !buffered.is_empty() {
        let mut q = BytesMut::from(&buffered[..]);
        q.extend_from_slice(&c.query);
        c.query = q;
    }
    s.net.resume.push(k);
}

fn on_stream_bytes(s: &mut Server, bytes: Vec<u8>) {
    let hard = s.cfg.client_output_buffer_limit.replica.hard_bytes as usize;
    let Some(u) = s.repl.current.as_mut() else {
        return;
    };
    if u.link.state() != LinkState::Streaming {
        u.stream_buf.extend_from_slice(&bytes);
        u.buf_peak = u.buf_peak.max(u.stream_buf.capacity());
        // At the replica output-buffer hard limit (0 = none) stop reading: the primary keeps
        // the rest in its buffer for us, and reading resumes once the buffer is applied.
        if hard > 0 && u.stream_buf.len() >= hard && !u.paused_reading {
            u.paused_reading = true;
            log_warning!("Replication buffer limit reached, stopping buffering.");
        }
        return;
    }
    if let Some(k) = u.client {
        if let Some(c) = s.net.clients.get_mut(k) {
            c.query.extend_from_slice(&bytes);
        }
        s.net.resume.push(k);
    }
}

/// A link failed: close it and retry later; a pending attempt also unfreezes.
/// A failure on the snapshot connection abandons the whole (dual-channel) sync.
fn link_failed(s: &mut Server, slot: LinkSlot, reason: &str) {
    log_warning!("{reason}");
    let now = now_ms();
    let slot = if slot == LinkSlot::Rdb {
        LinkSlot::Current
    } else {
        slot
    };
    let replid = s.repl.ids.replid.clone();
    let streaming = slot == LinkSlot::Current && s.repl.link_up();
    let Some(u) = upstream(s, slot) else { return };
    u.last_error = Some(reason.to_string());
    u.retry_at_ms = now + 1000;
    u.connecting = false;
    if u.down_since_ms.is_none() {
        u.down_since_ms = Some(now);
    }
    // A streaming link that fails (e.g. `MASTER timeout`) is cached like a lost connection,
    // so the next attempt can PSYNC from where it stopped.
    let cached = streaming.then_some(Cached {
        replid,
        offset: u.reploff,
        db: u.db,
    });
    let cfg = link_config(s);
    let Some(u) = upstream(s, slot) else { return };
    if cached.is_some() {
        u.link = Link::new(cfg, now);
    }
    let mut keys = u.abandon_sync();
    keys.extend(u.client.take());
    close_link_clients(s, keys);
    if let Some(c) = cached {
        s.repl.cached = Some(c);
        log_notice!("Connection with master lost. Caching the disconnected master state.");
    }
    if slot == LinkSlot::Pending {
        unfreeze(s);
    }
}

/// The link client was freed (connection lost, CLIENT KILL TYPE master): cache the position
/// of a streaming link and reconnect.
pub fn on_client_freed(s: &mut Server, c: &Client) {
    let Some(slot) = c.link_slot() else { return };
    let key = c.token.0 - crate::net::CLIENT_BASE;
    if slot == LinkSlot::Rdb {
        let Some(u) = s.repl.current.as_mut() else {
            return;
        };
        let Some(r) = u.rdb.as_mut().filter(|r| r.client == Some(key)) else {
            return;
        };
        r.client = None;
        // After the payload's end the primary closes this connection; before, it is a failure.
        if r.link.state() != LinkState::Loading {
            link_failed(
                s,
                LinkSlot::Current,
                "Connection with the primary's RDB channel lost during the transfer",
            );
        }
        return;
    }
    let now = now_ms();
    let streaming = c.is_primary_link();
    let replid = s.repl.ids.replid.clone();
    let cfg = link_config(s);
    let Some(u) = upstream(s, slot) else { return };
    if u.client != Some(c.token.0 - crate::net::CLIENT_BASE) {
        return;
    }
    u.client = None;
    u.connecting = false;
    let rdb_clients = u.abandon_sync();
    u.retry_at_ms = now;
    if u.down_since_ms.is_none() {
        u.down_since_ms = Some(now);
    }
    let cache = streaming && slot == LinkSlot::Current && !c.protocol_error;
    let (off, db) = (u.reploff, c.db);
    u.link = Link::new(cfg, now);
    close_link_clients(s, rdb_clients);
    if cache {
        s.repl.cached = Some(Cached {
            replid,
            offset: off,
            db,
        });
        log_notice!("Connection with master lost. Caching the disconnected master state.");
    } else if slot == LinkSlot::Pending {
        unfreeze(s);
    }
}

/// True if client `key`, our primary link, may apply commands now.
pub fn primary_link_ready(s: &mut Server, key: usize) -> bool {
    !(s.repl.frozen && s.repl.current.as_ref().and_then(|u| u.client) == Some(key))
}

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

/// A command of the primary's stream was applied: it counts in the offset and is proxied to
/// this node's replicas — a MULTI block as a unit, at its EXEC.
pub fn stream_command_applied(s: &mut Server, key: usize, raw: Vec<u8>) {
    let in_multi = s.net.clients.get(key).is_some_and(|c| c.multi.is_some());
    let Some(u) = s.repl.current.as_mut() else {
        return;
    };
    if in_multi {
        u.multi_bytes.extend_from_slice(&raw);
        return;
    }
    let mut applied = std::mem::take(&mut u.multi_bytes);
    applied.extend_from_slice(&raw);
    u.reploff += applied.len() as i64;
    if let Some(c) = s.net.clients.get(key) {
        u.db = c.db;
    }
    s.repl.append(&applied);
}

/// A bare newline in the stream counts in the offset (and is proxied); from a replica it is a
/// liveness signal.
pub fn on_empty_line(s: &mut Server, key: usize, consumed: usize) {
    let Some(c) = s.net.clients.get(key) else {
        return;
    };
    if c.is_primary_link() {
        let bytes: &[u8] = if consumed >= 2 { b"\r\n" } else { b"\n" };
        if let Some(u) = s.repl.current.as_mut() {
            u.reploff += bytes.len() as i64;
        }
        s.repl.append(bytes);
    } else if c.is_replica() {
        let id = c.id;
        s.repl.on_replica_newline(id);
    }
}

pub fn on_primary_input(s: &mut Server, key: usize, n: usize) {
    let now = now_ms();
    if let Some(u) = s.repl.current.as_mut().filter(|u| u.client == Some(key)) {
        u.read_reploff += n as i64;
        u.last_io_ms = now;
    }
    s.stats.net_repl_input_bytes += n as u64;
}

/// A protocol error on the primary link: close it and do not cache it (next sync is full).
pub fn on_primary_protocol_error(s: &mut Server, key: usize) {
    log_warning!("WARNING: Receiving inline protocol from master, master stream corruption? Closing the master connection and discarding the cached master.");
    if let Some(c) = s.net.clients.get_mut(key) {
        c.protocol_error = true;
    }
    if let Some(c) = s.net.clients.get_mut(key) {
        c.close_asap = true;
    }
}

pub fn before_sleep(_s: &mut Server) {}

/// Connects, times out, ACKs once a second, keeps the primary informed while loading.
pub fn cron(s: &mut Server, now: i64) {
    let timeout = s.cfg.repl_timeout_secs * 1000;
    // While a REPLICAOF is pending, the primary we are leaving is not reconnected: only a
    // link that is still streaming is kept until the new one works.
    let leaving = s.repl.pending.is_some();
    for slot in [LinkSlot::Current, LinkSlot::Pending] {
        let Some(u) = upstream(s, slot) else { continue };
        if u.client.is_none() {
            if now >= u.retry_at_ms && !s.exec.loading && !(leaving && slot == LinkSlot::Current) {
                connect(s, slot);
            }
            continue;
        }
        let rdb_actions = u.rdb.as_mut().map(|r| r.link.on_tick(now));
        let actions = u.link.on_tick(now);
        if let Some(a) = rdb_actions.filter(|a| !a.is_empty()) {
            run_actions(s, LinkSlot::Rdb, a);
            continue;
        }
        let Some(u) = upstream(s, slot) else { continue };
        if slot == LinkSlot::Current
            && u.link.state() == LinkState::Streaming
            && now - u.last_io_ms > timeout
        {
            link_failed(s, slot, "MASTER timeout: no data nor PING received...");
            continue;
        }
        run_actions(s, slot, actions);
    }
    if s.life.cron_loops.is_multiple_of(s.life.hz) {
        s.repl.send_ack(&mut s.net);
        let loading = s
            .repl
            .current
            .as_ref()
            .filter(|u| u.loader.is_some())
            .and_then(|u| u.client);
        if let Some(k) = loading {
            if let Some(c) = s.net.clients.get_mut(k) {
                c.push_raw(b"\n");
            }
            early_ack(s);
        }
    }
    resume_reading(s);
}

/// Back-pressure: a connection is not read while the loader has a lot queued (the one
/// carrying the payload), or while the local stream buffer is at its limit (the main one).
pub fn should_pause_reading(s: &Server, key: usize) -> bool {
    let Some(u) = s.repl.current.as_ref() else {
        return false;
    };
    let payload_conn = match u.rdb.as_ref() {
        Some(r) => r.client,
        None => u.client,
    };
    let loader_full = u
        .loader
        .as_ref()
        .is_some_and(|l| l.queued.load(Ordering::Relaxed) > 256 * 1024 * 1024);
    (loader_full && payload_conn == Some(key)) || (u.paused_reading && u.client == Some(key))
}

fn resume_reading(s: &mut Server) {
    let Some(u) = s.repl.current.as_ref() else {
        return;
    };
    let keys = [u.client, u.rdb.as_ref().and_then(|r| r.client)];
    for k in keys.into_iter().flatten() {
        if !should_pause_reading(s, k) {
            s.net.pending_read.push_back(k);
        }
    }
}

/// INFO replication fields of a replica.
pub fn info_fields(s: &Server, u: &Upstream, now: i64, out: &mut String) {
    let up = s.repl.link_up();
    let last_io = if u.client.is_some() {
        (now - u.last_io_ms) / 1000
    } else {
        -1
    };
    let in_transfer = matches!(
        u.link.state(),
        LinkState::DualAwaitEndOff
            | LinkState::DualAwaitRdbIdReply
            | LinkState::AwaitPayload
            | LinkState::Payload
            | LinkState::Loading
    ) || u.dual;
    // The payload arrives on the snapshot connection in a dual-channel sync.
    let payload_link = u.rdb.as_ref().map_or(&u.link, |r| &r.link);
    let (read_off, applied) = if u.client.is_some() || s.repl.cached.is_none() {
        (u.read_reploff, u.reploff)
    } else {
        s.repl
            .cached
            .as_ref()
            .map_or((0, 0), |c| (c.offset, c.offset))
    };
    let _ = write!(
        out,
        "role:slave\r\nmaster_host:{}\r\nmaster_port:{}\r\nmaster_link_status:{}\r\nmaster_last_io_seconds_ago:{}\r\nmaster_sync_in_progress:{}\r\nslave_read_repl_offset:{}\r\nslave_repl_offset:{}\r\nreplicas_repl_buffer_size:{}\r\nreplicas_repl_buffer_peak:{}\r\n",
        u.host,
        u.port,
        if up { "up" } else { "down" },
        last_io,
        in_transfer as u8,
        read_off,
        applied,
        u.stream_buf.capacity(),
        u.buf_peak
    );
    if in_transfer {
        let total = payload_link.payload_total.map_or(-1, |t| t as i64);
        let read = payload_link.payload_read as i64;
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
            (now - u.last_io_ms) / 1000
        );
    }
    if !up {
        let since = u.down_since_ms.map_or(-1, |d| (now - d) / 1000);
        let _ = write!(out, "master_link_down_since_seconds:{since}\r\n");
    }
    if let Some(e) = &u.last_error {
        let _ = write!(out, "master_last_error:{e}\r\n");
    }
    let _ = write!(
        out,
        "slave_priority:{}\r\nslave_read_only:{}\r\nreplica_announced:{}\r\n",
        s.cfg.replica_priority, s.cfg.replica_read_only as u8, s.cfg.replica_announced as u8
    );
}
