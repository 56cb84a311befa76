//! The primary machine's executor: SYNC/PSYNC/REPLCONF/WAIT fed to
//! [`replication::primary::Primary`], and its actions performed — replies and raw bytes on a
//! replica's connection, stream slices queued from the shared backlog, snapshot transfers
//! started on their threads ([`super::transfer`]) and cancelled, replicas closed, WAIT
//! clients answered when acknowledgements move. The decisions (PSYNC answer, scheduling,
//! pins, limits, timeouts) are the machine's; the checks that need the connection (pending
//! output, argument parsing, PSYNC FAILOVER's promotion) are made here first.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use commands::errors::err;
use replication::primary::{
    Action, ClientId, CloseReason, JobId, Replica, ReplicaState, SnapshotJob, Target as Dest,
};
use resp::Reply;

use super::state::{Deferred, Job, Progress};
use super::transfer::{self, Form, Target};
use crate::net::client::{BlockKind, Role};
use crate::server::Server;
use crate::util::now_ms;
use crate::{log_notice, log_warning};

fn no_reply() -> Reply {
    Reply::Raw(Bytes::new())
}

/// Performs the primary machine's actions in order. A `Reply` to `caller` (the client whose
/// command produced them) is returned instead, as that command's reply.
fn run_for(s: &mut Server, caller: Option<ClientId>, actions: Vec<Action>) -> Option<Reply> {
    s.repl.depth += 1;
    let mut reply = None;
    for a in actions {
        match a {
            Action::Reply { client, reply: r } if Some(client) == caller && reply.is_none() => {
                reply = Some(r);
            }
            Action::Reply { client, reply: r } => {
                if let Some(c) = s.net.client_by_id(client) {
                    c.reply(&r);
                }
            }
            Action::Send { client, bytes } => {
                if let Some(c) = s.net.client_by_id(client) {
                    c.push_raw(&bytes);
                }
            }
            Action::Stream { client, chunks } => {
                if let Some(c) = s.net.client_by_id(client) {
                    for ch in chunks {
                        s.stats.net_repl_output_bytes += ch.len() as u64;
                        c.push_chunk(ch);
                    }
                }
            }
            Action::StartSnapshot(job) => start_job(s, job),
            Action::DiskCatchup {
                client,
                prefix,
                from,
                to,
            } => start_disk_catchup(s, client, prefix, from, to),
            Action::CancelSnapshot { job } => {
                if let Some(j) = s.repl.jobs.get(&job) {
                    j.cancel.store(true, std::sync::atomic::Ordering::Relaxed);
                }
            }
            Action::Close { client, reason } => {
                if reason == CloseReason::OutputLimit {
                    s.stats.client_output_buffer_limit_disconnections += 1;
                }
                if let Some(c) = s.net.client_by_id(client) {
                    c.close_asap = true;
                }
            }
            Action::AcksChanged => check_waiters(s),
            Action::GetAck { client } => super::on_getack(s, client),
            Action::Log { level, text } => super::log(level, &text),
        }
    }
    s.repl.depth -= 1;
    super::drain_deferred(s);
    reply
}

/// Performs actions that answer no command.
pub fn run(s: &mut Server, actions: Vec<Action>) {
    let _ = run_for(s, None, actions);
}

/// A snapshot job ended (or could not start): the machine learns how each member fared.
pub(super) fn job_finished(
    s: &mut Server,
    job: JobId,
    results: &[(ClientId, Result<(), String>)],
    error: Option<&str>,
) {
    let now = now_ms();
    let r = &mut s.repl;
    let actions = r
        .primary
        .on_job_finished(&mut r.hist, job, results, error, now);
    run(s, actions);
}

/// SYNC / PSYNC <replid> <offset> [FAILOVER].
pub fn sync_command(s: &mut Server, key: usize, argv: &[Bytes], psync: bool) -> Reply {
    let Some(c) = s.net.clients.get(key) else {
        return no_reply();
    };
    if c.is_replica() || c.is_monitor() {
        return no_reply();
    }
    let (client, addr) = (c.id, c.addr.clone());
    let failover = psync
        && argv
            .get(3)
            .is_some_and(|a| a.eq_ignore_ascii_case(b"failover"));
    if failover {
        if let Err(e) = promote_for_failover(s, key, argv) {
            return e;
        }
    }
    if s.net.clients.get(key).is_some_and(|c| c.has_output()) {
        return err("ERR SYNC and PSYNC are invalid with pending output");
    }
    let now = now_ms();
    let up = s.repl.follower.upstream();
    // What the memory backlog released in this pass is on its way to disk: the PSYNC rule
    // sees it.
    super::pump_disk_backlog(s);
    let r = &mut s.repl;
    let actions = if psync {
        let offset = match commands::args::int(&argv[2]) {
            Ok(v) => v,
            Err(e) => {
                log_warning!("Replica {addr} asks for synchronization but with a wrong offset");
                return e;
            }
        };
        let replid = String::from_utf8_lossy(&argv[1]).into_owned();
        r.primary.on_psync(
            &mut r.hist,
            client,
            &addr,
            &replid,
            offset,
            up,
            now,
            &mut crate::util::random_hex40,
        )
    } else {
        r.primary.on_sync(
            &mut r.hist,
            client,
            &addr,
            up,
            now,
            &mut crate::util::random_hex40,
        )
    };
    if s.repl.primary.is_replica(client) {
        if let Some(c) = s.net.clients.get_mut(key) {
            c.role = Role::Replica;
        }
    }
    run_for(s, Some(client), actions).unwrap_or_else(no_reply)
}

/// `PSYNC <replid> <offset> FAILOVER`: our primary, running FAILOVER, hands over to us. The id
/// must be ours; we become a primary (our id moves to replid2) and the PSYNC is then served
/// as usual.
fn promote_for_failover(s: &mut Server, key: usize, argv: &[Bytes]) -> Result<(), Reply> {
    log_notice!(
        "Failover request received for replid {}.",
        String::from_utf8_lossy(&argv[1])
    );
    if !s.repl.follower.is_replica() {
        return Err(err("ERR PSYNC FAILOVER can't be sent to a master."));
    }
    if !argv[1].eq_ignore_ascii_case(s.repl.hist.ids.replid.as_bytes()) {
        return Err(err("ERR PSYNC FAILOVER replid must match my replid."));
    }
    let who = s
        .net
        .clients
        .get(key)
        .map(|c| crate::net::client::client_info(c, now_ms()))
        .unwrap_or_default();
    let r = &mut s.repl;
    let actions = r
        .follower
        .promote(&mut r.hist, &mut crate::util::random_hex40);
    super::run_follower(s, actions);
    log_notice!("MASTER MODE enabled (failover request from '{who}')");
    Ok(())
}

/// True if a payload built for `rdb-filter-only <filter>` leaves the FUNCTION libraries out.
fn functions_filtered_out(filter: Option<&str>) -> bool {
    filter.is_some_and(|f| !f.trim().eq_ignore_ascii_case("functions"))
}

/// What a connection still had to write, taken out of it: a transfer thread that takes over
/// its socket writes it first.
fn take_output(c: &mut crate::net::client::Client) -> Vec<u8> {
    let mut out = c.out[c.out_pos..].to_vec();
    c.out.clear();
    c.out_pos = 0;
    for ch in c.out_chunks.drain(..) {
        out.extend_from_slice(&ch);
    }
    c.out_chunks_bytes = 0;
    out
}

/// Starts a snapshot transfer: the sockets of its members (with what they still had to
/// write, then the machine's prefix) go to a thread that writes the snapshot into them.
fn start_job(s: &mut Server, job: SnapshotJob) {
    let cow_base = types::cow::total();
    let snapshot = if job.filter.is_some() {
        keyspace::Keyspace::new(1).snapshot()
    } else {
        s.exec.ks.snapshot()
    };
    let mut targets = Vec::new();
    let mut failed = Vec::new();
    for m in job.members {
        let Some(c) = s.net.client_by_id(m.client) else {
            failed.push((m.client, Err("connection lost".to_string())));
            continue;
        };
        let mut prefix = take_output(c);
        prefix.extend_from_slice(&m.prefix);
        match Target::new(m.client, c.conn.fd(), c.conn.tls_session(), prefix) {
            Ok(t) => {
                c.in_transfer = true;
                targets.push(t);
            }
            Err(e) => {
                log_warning!("Can't start the transfer to replica {}: {e}", c.addr);
                failed.push((m.client, Err(e.to_string())));
            }
        }
    }
    let cancel = Arc::new(AtomicBool::new(false));
    let finished = Arc::new(AtomicBool::new(false));
    let progress = Progress {
        started_ms: now_ms(),
        total_keys: snapshot.dbs.iter().map(|d| d.len() as u64).sum(),
        keys: Arc::new(AtomicU64::new(0)),
        sent: Arc::new(AtomicU64::new(0)),
        disk: job.target == Dest::Disk,
    };
    s.repl.jobs.insert(
        job.job,
        Job {
            cancel: cancel.clone(),
            cow_base,
            failed,
            progress: progress.clone(),
            logged_ms: now_ms(),
        },
    );
    if targets.is_empty() {
        s.repl
            .deferred
            .push_back(Deferred::JobFailed(job.job, "no replica to send to".into()));
        return;
    }
    let mut info = crate::persist::save_info(s);
    // `rdb-filter-only`: no data; the functions only when the filter names them
    // (`redis-cli --functions-rdb`), not for "" (`redis-cli --replica`).
    if functions_filtered_out(job.filter.as_deref()) {
        info.functions.clear();
    }
    info.repl = Some(persistence::ReplInfo {
        replid: job.replid,
        offset: job.offset,
        // 0 on a top primary (its stream selects again after the snapshot); on a replica, the
        // database its primary's stream, which it proxies, selected last.
        stream_db: s.repl.hist.stream_db(),
    });
    let form = match job.target {
        Dest::Socket => Form::Eof {
            mark: crate::util::random_hex40(),
        },
        Dest::Disk => Form::Disk {
            path: crate::persist::rdb_path(s),
        },
    };
    let t = transfer::Job {
        id: job.job,
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
        cancel,
        written: progress.sent,
        keys: progress.keys,
        finished: finished.clone(),
    };
    match transfer::spawn(t, s.repl.events.sender()) {
        Ok(()) => {
            log_notice!(
                "Background RDB transfer started by pid {}",
                std::process::id()
            );
            if s.repl.pause_after_fork {
                // DEBUG PAUSE-AFTER-FORK: as Valkey's main process from its fork on, serve
                // nothing until the snapshot is delivered (the thread ends by repl-timeout at
                // the latest), then stop.
                while !finished.load(Ordering::Acquire) {
                    std::thread::sleep(Duration::from_millis(1));
                }
                super::debug_pause_process();
            }
        }
        Err(e) => {
            log_warning!("Can't start the replication transfer: {e}");
            s.repl
                .deferred
                .push_back(Deferred::JobFailed(job.job, e.to_string()));
        }
    }
}

/// Hands a replica's socket to a thread that sends the start of its partial resync from the
/// disk backlog (after what it still had to write, and the `+CONTINUE` line).
fn start_disk_catchup(s: &mut Server, client: ClientId, line: Vec<u8>, from: i64, to: i64) {
    let timeout = Duration::from_secs(s.cfg.repl_timeout_secs.max(1) as u64);
    let Some(shared) = s.repl.disk.as_ref().map(|d| d.shared()) else {
        let e = "the disk backlog is off".to_string();
        s.repl
            .deferred
            .push_back(Deferred::DiskCatchupFailed(client, e));
        return;
    };
    let Some(c) = s.net.client_by_id(client) else {
        return;
    };
    let mut prefix = take_output(c);
    prefix.extend_from_slice(&line);
    let target = match Target::new(client, c.conn.fd(), c.conn.tls_session(), prefix) {
        Ok(t) => t,
        Err(e) => {
            s.repl
                .deferred
                .push_back(Deferred::DiskCatchupFailed(client, e.to_string()));
            return;
        }
    };
    c.in_transfer = true;
    let job = transfer::DiskCatchup {
        target,
        epoch: s.repl.hist.epoch(),
        from,
        to,
        shared,
        timeout,
    };
    if let Err(e) = transfer::spawn_disk_catchup(job, s.repl.events.sender()) {
        if let Some(c) = s.net.client_by_id(client) {
            c.in_transfer = false;
        }
        s.repl
            .deferred
            .push_back(Deferred::DiskCatchupFailed(client, e.to_string()));
    }
}

/// A disk catch-up ended: the replica streams from memory now, or is dropped.
pub fn on_disk_catchup_done(s: &mut Server, client: ClientId, result: Result<(), String>) {
    let now = now_ms();
    let r = &mut s.repl;
    let actions = r
        .primary
        .on_disk_catchup_done(&mut r.hist, client, result, now);
    run(s, actions);
}

/// A transfer thread finished: its sockets are the event loop's again, and the machine
/// learns how each member fared.
pub fn on_transfer_done(s: &mut Server, done: transfer::JobDone) {
    for (id, _) in &done.results {
        if let Some(c) = s.net.client_by_id(*id) {
            c.in_transfer = false;
        }
    }
    let mut results: Vec<(ClientId, Result<(), String>)> = done
        .results
        .into_iter()
        .map(|(id, e)| (id, e.map_or(Ok(()), Err)))
        .collect();
    if let Some(j) = s.repl.jobs.remove(&done.id) {
        s.persist.rdb_last_cow_size = types::cow::total() - j.cow_base;
        results.extend(j.failed);
    }
    job_finished(s, done.id, &results, done.error.as_deref());
}

/// REPLCONF <option> <value> ...
pub fn replconf_command(s: &mut Server, key: usize, argv: &[Bytes]) -> Reply {
    let Some(client) = s.net.clients.get(key).map(|c| c.id) else {
        return no_reply();
    };
    let args: Vec<&[u8]> = argv[1..].iter().map(|a| &a[..]).collect();
    let actions = s.repl.primary.on_replconf(client, &args, now_ms());
    run_for(s, Some(client), actions).unwrap_or_else(no_reply)
}

/// Online replicas whose ACK reached `offset`.
pub fn replicas_acked(s: &Server, offset: i64) -> usize {
    s.repl.primary.acked(offset)
}

/// min-replicas-to-write: true if writes must be refused.
pub fn min_replicas_unmet(s: &Server) -> bool {
    s.repl
        .primary
        .min_replicas_unmet(s.repl.follower.upstream())
}

/// WAIT numreplicas timeout
pub fn wait_command(s: &mut Server, key: usize, argv: &[Bytes]) -> Reply {
    if s.repl.follower.is_replica() {
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
        return no_reply();
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
    s.repl.primary.request_getack();
    no_reply()
}

/// WAITAOF numlocal numreplicas timeout
pub fn waitaof_command(s: &mut Server, key: usize, argv: &[Bytes]) -> Reply {
    let numlocal = match commands::args::int(&argv[1]) {
        Ok(v) if (0..=1).contains(&v) => v,
        Ok(_) => return err("ERR value is out of range, value must between 0 and 1"),
        Err(e) => return e,
    };
    let numreplicas = match commands::args::int(&argv[2]) {
        Ok(v) if v >= 0 => v,
        Ok(_) => return err("ERR value is out of range, must be positive"),
        Err(e) => return e,
    };
    let deadline = match commands::args::timeout_ms(&argv[3], now_ms()) {
        Ok(d) => d,
        Err(e) => return e,
    };
    if s.repl.follower.is_replica() {
        return err("ERR WAITAOF cannot be used with replica instances. Please also note that writes to replicas are just local and are not propagated.");
    }
    if numlocal > 0 && !s.cfg.appendonly {
        return err(WAITAOF_NO_AOF);
    }
    let Some(c) = s.net.clients.get(key) else {
        return no_reply();
    };
    let kind = BlockKind::WaitAof {
        local_target: c.aof_woff,
        numlocal,
        offset: c.woff,
        replicas: numreplicas,
    };
    let (local, replicas) = aof_acks(s, &kind);
    if (local >= numlocal && replicas >= numreplicas)
        || c.multi.is_some()
        || s.exec.prop.depth() > 1
    {
        return aof_acks_reply(local, replicas);
    }
    if let Some(c) = s.net.clients.get_mut(key) {
        s.exec
            .blocking
            .block(c, argv.to_vec(), Vec::new(), deadline, kind);
    }
    if numreplicas > 0 {
        s.repl.primary.request_getack();
    }
    no_reply()
}

/// WAITAOF with `numlocal` on a server whose AOF is off (or turned off while it waits).
pub const WAITAOF_NO_AOF: &str =
    "ERR WAITAOF cannot be used when numlocal is set but appendonly is disabled.";

/// (local copies, replica copies) a WAITAOF waiter has now.
fn aof_acks(s: &Server, kind: &BlockKind) -> (i64, i64) {
    match *kind {
        BlockKind::WaitAof {
            local_target,
            offset,
            ..
        } => (
            crate::persist::aof::fsynced(s, local_target) as i64,
            s.repl.primary.aof_acked(offset) as i64,
        ),
        _ => (0, 0),
    }
}

fn aof_acks_reply(local: i64, replicas: i64) -> Reply {
    Reply::Array(vec![Reply::Int(local), Reply::Int(replicas)])
}

/// What a WAIT or WAITAOF client gets when it stops waiting early (timeout, CLIENT UNBLOCK):
/// the counts as they are. None for other kinds of blocking.
pub fn waiting_reply(s: &Server, kind: &BlockKind) -> Option<Reply> {
    match *kind {
        BlockKind::Wait { offset, .. } => Some(Reply::Int(replicas_acked(s, offset) as i64)),
        BlockKind::WaitAof { .. } => {
            let (l, r) = aof_acks(s, kind);
            Some(aof_acks_reply(l, r))
        }
        _ => None,
    }
}

/// The snapshot job serving a replica: its own, or (dual-channel main connection) its
/// snapshot connection's.
fn replica_progress<'a>(s: &'a Server, r: &Replica) -> Option<&'a Progress> {
    let job = |r: &Replica| match r.state {
        ReplicaState::WaitBgsaveEnd { job, .. } => s.repl.jobs.get(&job).map(|j| &j.progress),
        _ => None,
    };
    match r.state {
        ReplicaState::BgTransfer { .. } => r
            .info
            .rdb_client_id
            .and_then(|cid| s.repl.primary.replica(cid))
            .and_then(job),
        _ => job(r),
    }
}

/// Logs, every few seconds, how far each running snapshot transfer is.
pub fn log_progress(s: &mut Server, now: i64) {
    let mut lines = Vec::new();
    for (id, j) in s.repl.jobs.iter_mut() {
        if now - j.logged_ms < PROGRESS_LOG_MS {
            continue;
        }
        j.logged_ms = now;
        let p = &j.progress;
        let to: Vec<String> = s
            .repl
            .primary
            .replicas()
            .filter(
                |(_, r)| matches!(r.state, ReplicaState::WaitBgsaveEnd { job, .. } if job == *id),
            )
            .map(|(_, r)| format!("{}:{}", r.ip(), r.info.listening_port))
            .collect();
        lines.push(format!(
            "Full sync to {}: {} of the snapshot ({}/{} keys, {:.2}%), {} sent, ETA {}",
            to.join(" "),
            p.phase(),
            p.keys_done(),
            p.total_keys,
            p.perc(),
            crate::util::human_bytes(p.sent()),
            eta_words(p.eta_secs(now))
        ));
    }
    for l in lines {
        log_notice!("{l}");
    }
}

/// How often a running transfer logs its progress, on both sides.
pub const PROGRESS_LOG_MS: i64 = 5_000;

/// An ETA in a log line.
pub fn eta_words(secs: i64) -> String {
    if secs < 0 {
        "unknown".to_string()
    } else {
        format!("{secs} s")
    }
}

/// Replies to WAIT and WAITAOF clients whose condition is met (after ACKs, and after each
/// event-loop pass while any waits: fsyncs complete in the background).
pub fn check_waiters(s: &mut Server) {
    let waiting = s.exec.blocking.waiting_acks.clone();
    for id in waiting {
        let Some(k) = s.net.client_key(id) else {
            continue;
        };
        let Some(kind) = s
            .net
            .clients
            .get(k)
            .and_then(|c| c.blocked.as_ref())
            .map(|b| b.kind)
        else {
            continue;
        };
        let reply = match kind {
            BlockKind::Wait { offset, replicas } => {
                let acked = replicas_acked(s, offset) as i64;
                (acked >= replicas).then_some(Reply::Int(acked))
            }
            // Turning the AOF off fails the clients that wait for it (Valkey checks it here).
            BlockKind::WaitAof { numlocal, .. } if numlocal > 0 && !s.cfg.appendonly => {
                Some(Reply::error(WAITAOF_NO_AOF))
            }
            BlockKind::WaitAof {
                numlocal, replicas, ..
            } => {
                let (l, r) = aof_acks(s, &kind);
                (l >= numlocal && r >= replicas).then(|| aof_acks_reply(l, r))
            }
            _ => None,
        };
        if let Some(reply) = reply {
            if let Some(c) = s.net.clients.get_mut(k) {
                s.exec.blocking.unblock(c);
                c.reply(&reply);
                s.net.resume.push(k);
            }
        }
    }
}

/// `connected_slaves`, `min_slaves_good_slaves`, the `slaveN:` lines and
/// `replicas_waiting_psync`. Each `slaveN` line has Valkey's fields, then Redwing's (after
/// `type=`, so parsers that look for Valkey's keys are not disturbed): `lag_bytes` and
/// `lag_ms` (how far behind the data it holds, or will hold once its snapshot is loaded, is:
/// meaningful during a full sync too; -1 before its snapshot starts), `phase` (`waiting`,
/// `snapshot`, `transfer`, `loading`, `catchup`, `streaming`), `sync_sent_bytes`,
/// `sync_perc` and `sync_eta_sec` of the snapshot serving it, and `psync_headroom_sec` (how
/// many seconds of writes, at the current rate, the backlog still covers for it before a
/// disconnection would force a full sync; 0 while a disconnection forces one anyway, -1 while
/// nothing is written).
pub fn info_replicas(s: &Server, now: i64, out: &mut String) {
    let p = &s.repl.primary;
    let _ = write!(out, "connected_slaves:{}\r\n", p.replica_count());
    if s.cfg.min_replicas_to_write > 0 && s.cfg.min_replicas_max_lag_secs > 0 {
        let _ = write!(out, "min_slaves_good_slaves:{}\r\n", p.good_replicas());
    }
    let offset = s.repl.offset();
    let rate = s.repl.clock.rate(offset, now);
    for (n, (_, r)) in p.replicas().enumerate() {
        let _ = write!(
            out,
            "slave{n}:ip={},port={},state={},offset={},lag={},type={}",
            r.ip(),
            r.info.listening_port,
            r.state.info_name(),
            r.ack_offset,
            p.lag_secs(r, now),
            r.kind()
        );
        let data = r.data_offset();
        let (lag_bytes, lag_ms) = match data {
            Some(d) => ((offset - d).max(0), s.repl.clock.age_ms(d, now)),
            None => (-1, -1),
        };
        let progress = replica_progress(s, r);
        let phase = match (r.state, progress) {
            (ReplicaState::WaitBgsaveStart { .. }, _) => "waiting",
            (ReplicaState::WaitBgsaveEnd { .. }, Some(j)) => j.phase(),
            (ReplicaState::WaitBgsaveEnd { .. }, None) => "transfer",
            (ReplicaState::BgTransfer { .. }, Some(_)) => "transfer",
            (ReplicaState::AwaitFirstAck { .. } | ReplicaState::BgTransfer { .. }, _) => "loading",
            (ReplicaState::Online { .. }, _) if r.catchup_to.is_some() => "catchup",
            (ReplicaState::Online { .. }, _) => "streaming",
            (ReplicaState::DiskCatchup { .. }, _) => "disk_catchup",
        };
        let (sent, perc, eta) =
            progress.map_or((0, 0.0, -1), |j| (j.sent(), j.perc(), j.eta_secs(now)));
        let headroom = match (r.state.is_online(), data) {
            (true, Some(d)) => {
                let bytes = replication::clock::headroom_bytes(
                    d,
                    s.repl.hist.window(),
                    s.repl.hist.backlog_size() as i64,
                );
                replication::clock::headroom_secs(bytes, rate)
            }
            _ => 0,
        };
        let _ = write!(
            out,
            ",lag_bytes={lag_bytes},lag_ms={lag_ms},phase={phase},sync_sent_bytes={sent},sync_perc={perc:.2},sync_eta_sec={eta},psync_headroom_sec={headroom}\r\n"
        );
    }
    let _ = write!(out, "replicas_waiting_psync:{}\r\n", p.waiting_psync());
}
