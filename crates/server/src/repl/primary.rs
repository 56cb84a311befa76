//! Serving replicas.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use commands::errors::err;
use replication::peer::{self, PeerInfo, PeerState, Replconf};
use replication::PsyncRefusal;
use resp::Reply;

use super::state::{JobState, Replica, WaitingPsync};
use super::transfer::{self, Form, Target};
use crate::net::client::{BlockKind, Client};
use crate::server::Server;
use crate::util::now_ms;
use crate::{log_notice, log_warning};

/// While a REPLICAOF is pending, our data is about to be continued or replaced by the new
/// primary's: a full sync of it would cost a replica its own data for nothing. Partial
/// resyncs are still served; a replica asking for a full one retries, as it does with a
/// Redis replica whose link is down.
fn refuse_full_sync_while_pending() -> Reply {
    err("NOMASTERLINK Can't SYNC while not connected with my master")
}

fn no_reply() -> Reply {
    Reply::Raw(Bytes::new())
}

/// SYNC / PSYNC <replid> <offset>.
pub fn sync_command(s: &mut Server, key: usize, argv: &[Bytes], psync: bool) -> Reply {
    let Some(c) = s.net.clients.get(key) else {
        return Reply::Raw(bytes::Bytes::new());
    };
    if c.is_replica() || c.is_monitor() {
        return no_reply();
    }
    // `PSYNC <replid> <offset> FAILOVER`: our primary (running FAILOVER) hands over to us.
    // With its id as ours we become the primary, then serve its PSYNC as usual.
    // `PSYNC ... FAILOVER` was checked, and the follower side promoted, by the caller
    // (`replica::promote_for_failover`).
    let Some(c) = s.net.clients.get(key) else {
        return Reply::Raw(bytes::Bytes::new());
    };
    if s.repl.is_replica() && !s.repl.link_up() {
        return err("NOMASTERLINK Can't SYNC while not connected with my master");
    }
    if c.has_output() {
        return err("ERR SYNC and PSYNC are invalid with pending output");
    }
    let mut info = s
        .net
        .clients
        .get_mut(key)
        .and_then(|c| c.peer.take())
        .map(|b| *b)
        .unwrap_or_default();
    let addr = s
        .net
        .clients
        .get(key)
        .map(|c| c.addr.clone())
        .unwrap_or_default();
    if psync {
        let offset = match commands::args::int(&argv[2]) {
            Ok(v) => v,
            Err(e) => {
                if let Some(c) = s.net.clients.get_mut(key) {
                    c.peer = Some(Box::new(info));
                }
                return e;
            }
        };
        let id = String::from_utf8_lossy(&argv[1]).into_owned();
        match s
            .repl
            .ids
            .can_continue(&id, offset, s.repl.backlog_window())
        {
            Ok(()) => return continue_partial(s, key, info, offset),
            Err(refusal) => log_refusal(s, &addr, &id, &refusal),
        }
    }
    // What follows is a full sync.
    let answer = if s.repl.pending.is_some() {
        Some(refuse_full_sync_while_pending())
    } else if psync && info.capa_dual_channel {
        Some(Reply::status("DUALCHANNELSYNC"))
    } else {
        None
    };
    if let Some(reply) = answer {
        if let Some(c) = s.net.clients.get_mut(key) {
            c.peer = Some(Box::new(info));
        }
        return reply;
    }
    if !psync {
        info.capa_psync2 = false;
    }
    log_notice!("Replica {addr} asks for synchronization");
    attach_for_full_sync(s, key, info, !psync);
    no_reply()
}

fn log_refusal(s: &mut Server, addr: &str, asked: &str, r: &PsyncRefusal) {
    match r {
        PsyncRefusal::Requested => log_notice!("Full resync requested by replica {addr}"),
        PsyncRefusal::IdMismatch => {
            s.repl.stats.sync_partial_err += 1;
            let (mine, mine2) = (&s.repl.ids.replid, &s.repl.ids.replid2);
            log_notice!("Partial resynchronization not accepted: Replication ID mismatch (Replica asked for '{asked}', my replication IDs are '{mine}' and '{mine2}')");
        }
        PsyncRefusal::SecondIdOffset {
            requested,
            valid_up_to,
        } => {
            s.repl.stats.sync_partial_err += 1;
            log_notice!("Partial resynchronization not accepted: Requested offset for second ID was {requested}, but I can reply up to {valid_up_to}");
        }
        PsyncRefusal::NoBacklog { requested } => {
            s.repl.stats.sync_partial_err += 1;
            log_notice!("Unable to partial resync with replica {addr} for lack of backlog (Replica request was: {requested}).");
        }
    }
}

fn register(s: &mut Server, key: usize, info: PeerInfo, state: PeerState, pre_psync: bool) -> u64 {
    let now = now_ms();
    let Some(c) = s.net.clients.get_mut(key) else {
        return 0;
    };
    let ip = c
        .addr
        .rsplit_once(':')
        .map(|(h, _)| h.trim_matches(['[', ']']).to_string())
        .unwrap_or_default();
    c.role = crate::net::client::Role::Replica;
    let id = c.id;
    s.repl.replicas.insert(
        id,
        Replica {
            client_id: id,
            info,
            state,
            addr_ip: ip,
            ack_offset: 0,
            ack_time_ms: now,
            next_offset: 0,
            waiting_since_ms: now,
            pre_psync,
            job: None,
            snapshot_offset: 0,
            early_ack: false,
        },
    );
    id
}

fn continue_partial(s: &mut Server, key: usize, info: PeerInfo, offset: i64) -> Reply {
    let psync2 = info.capa_psync2;
    // A dual-channel main connection streams while its replica loads the snapshot; it is
    // online at its first ACK. Its snapshot connection no longer needs to pin the backlog.
    let state = match info.rdb_client_id {
        Some(cid) => {
            if s.repl.waiting_psync.remove(&cid).is_some() {
                if let Some(b) = s.repl.buf.as_mut() {
                    b.unpin(cid);
                }
            }
            PeerState::BgTransfer
        }
        None => PeerState::Online { ack_gated: false },
    };
    let id = register(s, key, info, state, false);
    if let Some(r) = s.repl.replicas.get_mut(&id) {
        r.next_offset = offset;
    }
    if let Some(b) = s.repl.buf.as_mut() {
        b.pin(id, offset);
    }
    s.repl.stats.sync_partial_ok += 1;
    let line = if psync2 {
        format!("+CONTINUE {}\r\n", s.repl.ids.replid)
    } else {
        "+CONTINUE\r\n".to_string()
    };
    let Some(c) = s.net.clients.get_mut(key) else {
        return Reply::Raw(bytes::Bytes::new());
    };
    c.push_raw(line.as_bytes());
    let pending = s.repl.offset() + 1 - offset;
    log_notice!("Partial resynchronization request from {} accepted. Sending {} bytes of backlog starting from offset {}.", s.net.clients.get(key).map_or("", |c| c.addr.as_str()), pending, offset);
    no_reply()
}

fn attach_for_full_sync(s: &mut Server, key: usize, info: PeerInfo, pre_psync: bool) {
    s.repl.stats.sync_full += 1;
    if s.repl.buf.is_none() {
        if !s.repl.is_replica() {
            s.repl.ids.reset(crate::util::random_hex40());
            log_notice!(
                "Replication backlog created, my new replication IDs are '{}' and '{}'",
                s.repl.ids.replid,
                s.repl.ids.replid2
            );
        }
        let size = s.cfg.repl_backlog_size_bytes as usize;
        s.repl.ensure_backlog(size);
    }
    register(s, key, info, PeerState::WaitBgsaveStart, pre_psync);
    let diskless = s.cfg.repl_diskless_sync;
    if !diskless || s.cfg.repl_diskless_sync_delay_secs == 0 {
        start_full_syncs(s, true);
    } else {
        log_notice!("Delay next BGSAVE for diskless SYNC");
    }
}

/// Starts one transfer for the replicas waiting for a snapshot (grouped by what they asked
/// for). `force` ignores the diskless delay.
pub fn start_full_syncs(s: &mut Server, force: bool) {
    let now = now_ms();
    let waiting: Vec<u64> = s
        .repl
        .replicas
        .values()
        .filter(|r| r.state == PeerState::WaitBgsaveStart)
        .map(|r| r.client_id)
        .collect();
    if waiting.is_empty() {
        return;
    }
    let diskless_cfg = s.cfg.repl_diskless_sync;
    let all_eof = waiting.iter().all(|id| s.repl.replicas[id].info.capa_eof);
    // `rdb-filter-only`: no data; the functions only when the filter names them
    // (`redis-cli --functions-rdb`), not for "" (`redis-cli --replica`).
    let filter_of = |id: &u64| {
        s.repl.replicas[id]
            .info
            .rdb_filter
            .as_deref()
            .map(str::trim)
    };
    let filtered: Vec<u64> = waiting
        .iter()
        .copied()
        .filter(|id| filter_of(id).is_some_and(|f| !f.eq_ignore_ascii_case("functions")))
        .collect();
    let functions_only: Vec<u64> = waiting
        .iter()
        .copied()
        .filter(|id| filter_of(id).is_some_and(|f| f.eq_ignore_ascii_case("functions")))
        .collect();
    let normal: Vec<u64> = waiting
        .iter()
        .copied()
        .filter(|id| s.repl.replicas[id].info.rdb_filter.is_none())
        .collect();
    if !force && diskless_cfg && all_eof {
        let since: Vec<i64> = waiting
            .iter()
            .map(|id| s.repl.replicas[id].waiting_since_ms)
            .collect();
        let delay = s.cfg.repl_diskless_sync_delay_secs * 1000;
        let max = s.cfg.repl_diskless_sync_max_replicas as usize;
        if !peer::diskless_start_due(&since, now, delay, max) {
            return;
        }
    }
    for (group, empty, functions) in [
        (normal, false, true),
        (filtered, true, false),
        (functions_only, true, true),
    ] {
        if !group.is_empty() {
            let socket =
                (diskless_cfg || empty) && group.iter().all(|id| s.repl.replicas[id].info.capa_eof);
            start_job(s, group, socket, empty, functions);
        }
    }
}

fn start_job(s: &mut Server, group: Vec<u64>, socket: bool, empty: bool, functions: bool) {
    let job_id = s.repl.next_job;
    s.repl.next_job += 1;
    let offset = s.repl.offset();
    let replid = s.repl.ids.replid.clone();
    s.repl.last_db = -1;
    let snapshot = if empty {
        keyspace::Keyspace::new(1).snapshot()
    } else {
        s.exec.ks.snapshot()
    };
    let mut targets = Vec::new();
    let mut members = Vec::new();
    for id in group {
        let Some(k) = s.net.client_key(id) else {
            continue;
        };
        let Some(c) = s.net.clients.get_mut(k) else {
            return;
        };
        let mut prefix = c.out[c.out_pos..].to_vec();
        c.out.clear();
        c.out_pos = 0;
        for ch in c.out_chunks.drain(..) {
            prefix.extend_from_slice(&ch);
        }
        c.out_chunks_bytes = 0;
        let Some(r) = s.repl.replicas.get_mut(&id) else {
            continue;
        };
        if r.info.rdb_channel {
            // Dual-channel snapshot connection: its position, then the payload; the backlog
            // stays pinned from here until the main connection PSYNCs (or a grace period).
            let e = replication::proto::EndOff {
                offset,
                replid: replid.clone(),
                db: 0,
                client_id: id,
            };
            prefix.extend_from_slice(&replication::proto::endoff_line(&e));
            s.repl.waiting_psync.insert(
                id,
                WaitingPsync {
                    offset,
                    closed_at_ms: None,
                },
            );
            log_notice!(
                "Add rdb replica {} to waiting psync, with cid {id}, tracking repl-backlog tail",
                c.addr
            );
        } else if !r.pre_psync {
            prefix.extend_from_slice(format!("+FULLRESYNC {replid} {offset}\r\n").as_bytes());
        }
        match Target::new(id, c.conn.fd(), prefix) {
            Ok(t) => targets.push(t),
            Err(e) => {
                log_warning!("Can't start the transfer to replica {}: {e}", c.addr);
                c.close_asap = true;
                continue;
            }
        }
        c.in_transfer = true;
        r.state = PeerState::WaitBgsaveEnd;
        r.job = Some(job_id);
        r.snapshot_offset = offset;
        if let Some(b) = s.repl.buf.as_mut() {
            b.pin(id, offset + 1);
        }
        members.push(id);
    }
    if targets.is_empty() {
        return;
    }
    let cancel = Arc::new(AtomicBool::new(false));
    let mut info = crate::persist::save_info(s);
    if !functions {
        info.functions.clear();
    }
    info.repl = Some(persistence::ReplInfo {
        replid,
        offset,
        stream_db: 0,
    });
    let form = if socket {
        Form::Eof {
            mark: crate::util::random_hex40(),
        }
    } else {
        Form::Disk {
            path: crate::persist::rdb_path(s),
        }
    };
    log_notice!(
        "Starting BGSAVE for SYNC with target: {}",
        if socket { "replicas sockets" } else { "disk" }
    );
    let job = transfer::Job {
        id: job_id,
        snapshot,
        info,
        opts: persistence::SaveOptions {
            compression: s.cfg.rdbcompression,
            checksum: s.cfg.rdbchecksum,
            key_save_delay_us: s.cfg.rdb_key_save_delay_us,
        },
        form,
        targets,
        timeout: Duration::from_secs(s.cfg.repl_timeout_secs.max(1) as u64),
        cancel: cancel.clone(),
        written: Arc::new(AtomicU64::new(0)),
    };
    if let Err(e) = transfer::spawn(job, s.repl.events.sender()) {
        log_warning!("Can't start the replication transfer: {e}");
        return;
    }
    log_notice!(
        "Background RDB transfer started by pid {}",
        std::process::id()
    );
    s.repl.jobs.insert(
        job_id,
        JobState {
            replicas: members,
            eof_form: socket,
            cancel,
        },
    );
}

/// A transfer finished: each replica goes online, or is dropped.
pub fn on_transfer_done(s: &mut Server, done: transfer::JobDone) {
    let Some(job) = s.repl.jobs.remove(&done.id) else {
        return;
    };
    let now = now_ms();
    match &done.error {
        None => log_notice!("Background RDB transfer terminated with success"),
        Some(e) => log_warning!("Background RDB transfer error: {e}"),
    }
    for (id, error) in done.results {
        // A delivered snapshot keeps its pin: the stream from the snapshot's offset is sent
        // from it (at once, or at the replica's first ACK); a dual-channel one keeps it for
        // the main connection's PSYNC.
        let rdb_only = s.repl.replicas.get(&id).is_some_and(|r| r.info.rdb_only);
        let keep_pin = error.is_none() && (!rdb_only || s.repl.waiting_psync.contains_key(&id));
        if !keep_pin {
            s.repl.waiting_psync.remove(&id);
            if let Some(b) = s.repl.buf.as_mut() {
                b.unpin(id);
            }
        }
        let Some(k) = s.net.client_key(id) else {
            continue;
        };
        if let Some(c) = s.net.clients.get_mut(k) {
            c.in_transfer = false;
        }
        let Some(r) = s.repl.replicas.get_mut(&id) else {
            continue;
        };
        if let Some(e) = error {
            log_warning!(
                "Diskless rdb transfer to replica {} failed: {e}",
                s.net.clients.get(k).map_or("", |c| c.addr.as_str())
            );
            if let Some(c) = s.net.clients.get_mut(k) {
                c.close_asap = true;
            }
            continue;
        }
        if r.info.rdb_only {
            if let Some(c) = s.net.clients.get_mut(k) {
                c.close_asap = true;
            }
            continue;
        }
        r.state = PeerState::Online {
            ack_gated: job.eof_form && !r.early_ack,
        };
        r.next_offset = r.snapshot_offset + 1;
        r.ack_time_ms = now;
        r.job = None;
        log_notice!(
            "Synchronization with replica {} succeeded",
            s.net.clients.get(k).map_or("", |c| c.addr.as_str())
        );
    }
    // Replicas that arrived during this transfer get the next one.
    start_full_syncs(s, false);
}

/// REPLCONF <option> <value> ...
pub fn replconf_command(s: &mut Server, key: usize, argv: &[Bytes]) -> Reply {
    let accept_dual = s.cfg.dual_channel_replication_enabled && s.cfg.repl_diskless_sync;
    let args: Vec<&[u8]> = argv[1..].iter().map(|a| &a[..]).collect();
    let Some(id) = s.net.clients.get(key).map(|c| c.id) else {
        return no_reply();
    };
    let outcome = match s.repl.replicas.get_mut(&id) {
        Some(r) => peer::replconf(&mut r.info, &args, accept_dual),
        None => {
            let Some(c) = s.net.clients.get_mut(key) else {
                return Reply::Raw(bytes::Bytes::new());
            };
            let info = c.peer.get_or_insert_with(Default::default);
            peer::replconf(info, &args, accept_dual)
        }
    };
    match outcome {
        Replconf::Ok => Reply::Ok,
        Replconf::Err(e) => Reply::error(e),
        Replconf::Ack { offset, .. } => {
            on_ack(s, id, offset);
            no_reply()
        }
        Replconf::GetAck => {
            if s.repl.current.as_ref().and_then(|u| u.client) == Some(key) {
                s.repl.send_ack(&mut s.net);
            }
            no_reply()
        }
        Replconf::SetRdbClientId(cid) => {
            if !s.repl.waiting_psync.contains_key(&cid) {
                return Reply::error(format!("ERR Unrecognized RDB client id {cid}"));
            }
            let Some(c) = s.net.clients.get_mut(key) else {
                return Reply::Raw(bytes::Bytes::new());
            };
            c.peer.get_or_insert_with(Default::default).rdb_client_id = Some(cid);
            Reply::Ok
        }
    }
}

fn on_ack(s: &mut Server, id: u64, offset: i64) {
    let now = now_ms();
    let Some(r) = s.repl.replicas.get_mut(&id) else {
        return;
    };
    if offset > r.ack_offset {
        r.ack_offset = offset;
    }
    r.ack_time_ms = now;
    if matches!(
        r.state,
        PeerState::Online { ack_gated: true } | PeerState::BgTransfer
    ) {
        r.state = PeerState::Online { ack_gated: false };
    } else if r.state == PeerState::WaitBgsaveEnd {
        r.early_ack = true;
    }
    check_waiters(s);
}

/// Online replicas whose ACK reached `offset`.
pub fn replicas_acked(s: &Server, offset: i64) -> usize {
    s.repl
        .replicas
        .values()
        .filter(|r| matches!(r.state, PeerState::Online { .. }) && r.ack_offset >= offset)
        .count()
}

/// WAIT numreplicas timeout
pub fn wait_command(s: &mut Server, key: usize, argv: &[Bytes]) -> Reply {
    if s.repl.is_replica() {
        return err("ERR WAIT cannot be used with replica instances. Please also note that since Redis 4.0 if a replica is configured to be writable (which is not the default) writes to replicas are just local and are not propagated.");
    }
    let num = match commands::args::int(&argv[1]) {
        Ok(v) => v,
        Err(e) => return e,
    };
    let deadline = match commands::args::timeout_ms(&argv[2], now_ms()) {
        Ok(d) => d,
        Err(e) => return e,
    };
    let Some(c) = s.net.clients.get(key) else {
        return Reply::Raw(bytes::Bytes::new());
    };
    let target = c.woff;
    let acked = replicas_acked(s, target);
    if acked as i64 >= num || c.multi.is_some() || s.exec.prop.depth() > 1 {
        return Reply::Int(acked as i64);
    }
    if let Some(c) = s.net.clients.get_mut(key) {
        s.exec.blocking.block(
            c,
            argv.to_vec(),
            Vec::new(),
            deadline,
            BlockKind::Wait {
                offset: target,
                replicas: num,
            },
        );
    }
    s.repl.getack_requested = true;
    no_reply()
}

/// Replies to WAIT clients whose condition is met.
fn check_waiters(s: &mut Server) {
    let waiting = s.exec.blocking.waiting_acks.clone();
    for id in waiting {
        let Some(k) = s.net.client_key(id) else {
            continue;
        };
        let Some(BlockKind::Wait { offset, replicas }) = s
            .net
            .clients
            .get(k)
            .and_then(|c| c.blocked.as_ref())
            .map(|b| b.kind)
        else {
            continue;
        };
        let acked = replicas_acked(s, offset);
        if acked as i64 >= replicas {
            if let Some(c) = s.net.clients.get_mut(k) {
                s.exec.blocking.unblock(c);
                c.reply(&Reply::Int(acked as i64));
                s.net.resume.push(k);
            }
        }
    }
}

/// Counts the online replicas whose last ACK is within `min-replicas-max-lag` (Redis's
/// `refreshGoodReplicasCount`: each cron second, and when the parameters change).
pub fn refresh_good_replicas(s: &mut Server, now: i64) {
    let max_lag = s.cfg.min_replicas_max_lag_secs * 1000;
    s.repl.good_replicas = s
        .repl
        .replicas
        .values()
        .filter(|r| matches!(r.state, PeerState::Online { .. }) && now - r.ack_time_ms <= max_lag)
        .count();
}

/// min-replicas-to-write: true if writes must be refused.
pub fn min_replicas_unmet(s: &Server) -> bool {
    let need = s.cfg.min_replicas_to_write;
    let lag = s.cfg.min_replicas_max_lag_secs;
    if need == 0 || lag == 0 || s.repl.is_replica() {
        return false;
    }
    (s.repl.good_replicas as i64) < need
}

/// Queues new stream bytes to streaming replicas; sends GETACK for WAIT.
pub fn before_sleep(s: &mut Server) {
    if s.repl.getack_requested && !s.repl.is_replica() && !s.repl.replicas.is_empty() {
        s.repl.getack_requested = false;
        super::feed(
            s,
            0,
            &[
                Bytes::from_static(b"REPLCONF"),
                Bytes::from_static(b"GETACK"),
                Bytes::from_static(b"*"),
            ],
        );
    }
    let Some(buf) = s.repl.buf.as_mut() else {
        return;
    };
    let end = buf.end();
    let mut drop = Vec::new();
    let mut sent = 0u64;
    for r in s.repl.replicas.values_mut() {
        let streaming = matches!(
            r.state,
            PeerState::Online { ack_gated: false } | PeerState::BgTransfer
        );
        if !streaming || r.next_offset > end {
            continue;
        }
        let Some(k) = s.net.client_key(r.client_id) else {
            continue;
        };
        match buf.chunks_from(r.next_offset) {
            Some(chunks) => {
                let Some(c) = s.net.clients.get_mut(k) else {
                    return;
                };
                for ch in chunks {
                    sent += ch.len() as u64;
                    c.push_chunk(ch);
                }
                r.next_offset = end + 1;
                // Queued bytes live in the replica's output (counted by its output-buffer
                // limit); the pin only guards what is appended before the next pass.
                buf.pin(r.client_id, end + 1);
            }
            None => drop.push(k),
        }
    }
    s.stats.net_repl_output_bytes += sent;
    for k in drop {
        log_warning!(
            "Replica {} fell behind the backlog; disconnecting it.",
            s.net.clients.get(k).map_or("", |c| c.addr.as_str())
        );
        if let Some(c) = s.net.clients.get_mut(k) {
            c.close_asap = true;
        }
    }
}

/// Once a second: keepalives, snapshot starts, PING, timeouts, min-replicas, backlog TTL.
pub fn cron(s: &mut Server, now: i64) {
    for r in s.repl.replicas.values() {
        if r.state == PeerState::WaitBgsaveStart {
            if let Some(k) = s.net.client_key(r.client_id) {
                if s.life.cron_loops.is_multiple_of(s.life.hz) {
                    if let Some(c) = s.net.clients.get_mut(k) {
                        c.push_raw(b"\n");
                    }
                }
            }
        }
    }
    start_full_syncs(s, false);
    if !s.life.cron_loops.is_multiple_of(s.life.hz) {
        return;
    }
    // As Redis: every `repl-ping-replica-period` replication cron seconds (counted since
    // start, not since a replica attached), so a large period means no PING for a long time.
    let period = s.cfg.repl_ping_replica_period_secs.max(1) as u64;
    let tick = s.repl.cron_secs;
    s.repl.cron_secs += 1;
    if !s.repl.is_replica() && !s.repl.replicas.is_empty() && tick.is_multiple_of(period) {
        super::feed(s, 0, &[Bytes::from_static(b"ping")]);
    }
    let timeout = s.cfg.repl_timeout_secs * 1000;
    let mut timed_out = Vec::new();
    for r in s.repl.replicas.values() {
        if matches!(r.state, PeerState::Online { .. })
            && !r.pre_psync
            && now - r.ack_time_ms > timeout
        {
            timed_out.push(r.client_id);
        }
    }
    refresh_good_replicas(s, now);
    for id in timed_out {
        if let Some(k) = s.net.client_key(id) {
            log_warning!(
                "Disconnecting timedout replica (streaming sync): {}",
                s.net.clients.get(k).map_or("", |c| c.addr.as_str())
            );
            if let Some(c) = s.net.clients.get_mut(k) {
                c.close_asap = true;
            }
        }
    }
    check_transfer_buffers(s);
    expire_waiting_psync(s, now);
    backlog_ttl(s, now);
}

/// Dual-channel snapshot connections that finished (or closed) without their main
/// connection PSYNCing within the grace period release their backlog pin.
fn expire_waiting_psync(s: &mut Server, now: i64) {
    let grace = s.repl.rdb_client_grace_secs as i64;
    let expired: Vec<u64> = s
        .repl
        .waiting_psync
        .iter()
        .filter(|(_, w)| w.closed_at_ms.is_some_and(|t| now - t >= grace * 1000))
        .map(|(id, _)| *id)
        .collect();
    for id in expired {
        log_warning!("Replica main channel failed to establish PSYNC within the grace period ({grace} seconds). Freeing RDB client {id}.");
        s.repl.waiting_psync.remove(&id);
        if let Some(b) = s.repl.buf.as_mut() {
            b.unpin(id);
        }
    }
}

/// Replicas that are sent a snapshot, or whose stream is held until their first ACK, hold
/// the stream from their snapshot offset in the backlog (a pin). What a replica holds counts
/// against `client-output-buffer-limit replica` like an output buffer, hard and soft limits
/// alike (the hard one never below the backlog size, as in Redis); past them it is dropped.
fn check_transfer_buffers(s: &mut Server) {
    let now = now_ms();
    let Some(buf) = s.repl.buf.as_ref() else {
        return;
    };
    let limit = s.cfg.client_output_buffer_limit.replica;
    let (hard, soft, secs) = (limit.hard_bytes, limit.soft_bytes, limit.soft_secs);
    let backlog = s.cfg.repl_backlog_size_bytes as u64;
    let hard = if hard > 0 { hard.max(backlog) } else { 0 };
    let mut over = Vec::new();
    for r in s.repl.replicas.values() {
        let holding = matches!(
            r.state,
            PeerState::WaitBgsaveEnd | PeerState::Online { ack_gated: true }
        );
        if !holding || (r.info.rdb_only && !s.repl.waiting_psync.contains_key(&r.client_id)) {
            continue;
        }
        let Some(held) = buf.pinned_bytes(r.client_id) else {
            continue;
        };
        let Some(k) = s.net.client_key(r.client_id) else {
            continue;
        };
        let Some(c) = s.net.clients.get_mut(k) else {
            return;
        };
        let soft_hit = soft > 0 && held >= soft;
        if !soft_hit {
            c.soft_limit_since_ms = None;
        }
        let soft_expired = soft_hit && {
            let since = *c.soft_limit_since_ms.get_or_insert(now);
            now - since > secs as i64 * 1000
        };
        if (hard > 0 && held >= hard) || soft_expired {
            over.push(r.client_id);
        }
    }
    let end = buf.end();
    let stale: Vec<u64> = s
        .repl
        .waiting_psync
        .iter()
        .filter(|(_, w)| w.closed_at_ms.is_some() && hard > 0 && (end - w.offset) as u64 > hard)
        .map(|(id, _)| *id)
        .collect();
    for id in stale {
        log_warning!("RDB client {id} pins more backlog than the replica output buffer limit allows; releasing it.");
        s.repl.waiting_psync.remove(&id);
        if let Some(b) = s.repl.buf.as_mut() {
            b.unpin(id);
        }
    }
    for id in over {
        if let Some(k) = s.net.client_key(id) {
            log_warning!(
                "Client {} closed for overcoming of output buffer limits.",
                s.net.clients.get(k).map_or("", |c| c.addr.as_str())
            );
            s.stats.client_output_buffer_limit_disconnections += 1;
            if let Some(c) = s.net.clients.get_mut(k) {
                c.close_asap = true;
            }
        }
    }
}

fn backlog_ttl(s: &mut Server, now: i64) {
    let ttl = s.cfg.repl_backlog_ttl_secs * 1000;
    if s.repl.is_replica() || s.repl.buf.is_none() || !s.repl.replicas.is_empty() || ttl == 0 {
        return;
    }
    if now - s.repl.no_replicas_since_ms > ttl {
        s.repl.buf = None;
        s.repl.ids.reset(crate::util::random_hex40());
        log_notice!(
            "Replication backlog freed after {} seconds without connected replicas.",
            ttl / 1000
        );
    }
}

pub fn on_client_freed(s: &mut Server, c: &Client) {
    if !c.is_replica() {
        return;
    }
    let id = c.id;
    if let Some(r) = s.repl.replicas.remove(&id) {
        match s.repl.waiting_psync.get_mut(&id) {
            // A dual-channel snapshot connection keeps its pin for the grace period.
            Some(w) => w.closed_at_ms = Some(w.closed_at_ms.unwrap_or_else(now_ms)),
            None => {
                if let Some(b) = s.repl.buf.as_mut() {
                    b.unpin(id);
                }
            }
        }
        if let Some(job) = r.job.and_then(|j| s.repl.jobs.get_mut(&j)) {
            job.replicas.retain(|x| *x != id);
            if job.replicas.is_empty() {
                job.cancel.store(true, std::sync::atomic::Ordering::Relaxed);
            }
        }
        log_notice!("Connection with replica {} lost.", c.addr);
    }
    if s.repl.replicas.is_empty() {
        s.repl.no_replicas_since_ms = now_ms();
    }
}

/// `connected_slaves`, `min_slaves_good_slaves` and the `slaveN:` lines.
pub fn info_replicas(s: &Server, out: &mut String) {
    let now = now_ms();
    let _ = write!(out, "connected_slaves:{}\r\n", s.repl.replicas.len());
    if s.cfg.min_replicas_to_write > 0 && s.cfg.min_replicas_max_lag_secs > 0 {
        let _ = write!(out, "min_slaves_good_slaves:{}\r\n", s.repl.good_replicas);
    }
    for (n, r) in s.repl.replicas.values().enumerate() {
        let lag = if matches!(r.state, PeerState::Online { .. }) {
            (now - r.ack_time_ms) / 1000
        } else {
            0
        };
        let kind = if r.info.rdb_channel {
            "rdb-channel"
        } else if r.state == PeerState::BgTransfer {
            "main-channel"
        } else {
            "replica"
        };
        let _ = write!(
            out,
            "slave{n}:ip={},port={},state={},offset={},lag={},type={kind}\r\n",
            r.ip(),
            r.info.listening_port,
            r.state.info_name(),
            r.ack_offset,
            lag
        );
    }
    let _ = write!(
        out,
        "replicas_waiting_psync:{}\r\n",
        s.repl.waiting_psync.len()
    );
}
