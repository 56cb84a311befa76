//! The append-only file, in Redis 7's multi-part form (`appenddirname/`: a manifest, one base
//! file, incremental files), rewritten without fork.
//!
//! Writing: every finished execution unit ([`feed_unit`], from `core::flush_units`) is encoded
//! into a buffer as it reaches replicas (SELECT when the database changes, MULTI/EXEC around a
//! unit of several, PUBLISH left out); the buffer is written to the current incremental file
//! before any reply of the same event-loop pass is sent ([`flush`]), then fsynced as
//! `appendfsync` says: `always` on the event loop before the replies (one fsync for every
//! client of the pass), `everysec` by a background thread, `no` never.
//!
//! Rewriting (BGREWRITEAOF, auto-rewrite, turning the AOF on): in one step on the event loop,
//! a new incremental file is opened for the writes that follow and the keyspace's
//! copy-on-write snapshot is taken; a thread writes the snapshot as the next base file (an
//! RDB, or RESTORE commands with `aof-use-rdb-preamble no`). When it is done the manifest
//! names the new base and the files opened since, and the older files become history and
//! are deleted. No fork, and no rewrite buffer: the new incremental file *is* the writes made
//! during the rewrite.
//!
//! Loading ([`load_at_startup`], DEBUG LOADAOF): the base (an RDB, or commands), then each
//! incremental file, replayed through the execution core by a client of its own whose replies
//! are dropped, with Valkey's rules for a truncated tail (`aof-load-truncated`) and its
//! messages for every error. Nothing replayed propagates.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use persistence::aof::{self as format, AofFile, AofItem, AofKind, AofStop, CommandReader};
use resp::Reply;

use super::state::{AofFsyncer, AofRewrite, AofStatus, PersistEvent};
use crate::config::value::AppendFsync;
use crate::server::Server;
use crate::util::now_ms;
use crate::{log_notice, log_warning};

/// The AOF directory (`dir/appenddirname`).
pub fn dir(s: &Server) -> PathBuf {
    PathBuf::from(&s.cfg.dir).join(s.cfg.appenddirname.as_str())
}

fn prefix(s: &Server) -> String {
    s.cfg.appendfilename.as_str().to_string()
}

/// True when writes are appended (on, or turned on and waiting for its first rewrite).
pub fn active(s: &Server) -> bool {
    s.persist.aof.status != AofStatus::Off
}

/// The reason writes are refused because the AOF cannot be written (`-MISCONF`), if any.
pub fn write_denied(s: &Server) -> Option<String> {
    let a = &s.persist.aof;
    if a.status == AofStatus::Off {
        return None;
    }
    if let Some(e) = &a.write_error {
        return Some(e.clone());
    }
    let errno = a
        .fsyncer
        .as_ref()
        .map_or(0, |f| f.errno.load(Ordering::Relaxed));
    (errno != 0)
        .then(|| crate::config::value::os_error_text(&std::io::Error::from_raw_os_error(errno)))
}

// ---------------------------------------------------------------------------------------------
// Writing

/// Appends one finished execution unit (what replicas get) to the AOF buffer.
pub fn feed_unit(s: &mut Server, unit: &[crate::exec::propagate::Propagated]) {
    let a = &mut s.persist.aof;
    // While turned on and no rewrite runs yet, nothing has a file to go to (Valkey buffers
    // only while the first rewrite runs, into its temporary incremental file).
    if a.status == AofStatus::Off || a.replaying || a.file.is_none() {
        return;
    }
    // PUBLISH reaches replicas only (Valkey's PROPAGATE_REPL), as do a script's writes
    // after `server.set_repl(server.REPL_REPLICA)`.
    let kept: Vec<(usize, &Vec<Bytes>)> = unit
        .iter()
        .filter(|(_, cmd, to)| {
            to.aof
                && !cmd.first().is_some_and(|n| {
                    n.eq_ignore_ascii_case(b"publish") || n.eq_ignore_ascii_case(b"spublish")
                })
        })
        .map(|(db, cmd, _)| (*db, cmd))
        .collect();
    if kept.is_empty() {
        return;
    }
    if s.cfg.aof_timestamp_enabled {
        let now = now_ms() / 1000;
        if a.last_timestamp < now {
            a.last_timestamp = now;
            a.buf.extend_from_slice(format!("#TS:{now}\r\n").as_bytes());
        }
    }
    let wrap = kept.len() > 1;
    if wrap {
        resp::reply::encode_command(&mut a.buf, &[b"MULTI".as_slice()]);
    }
    for (db, cmd) in kept {
        if a.selected_db != Some(db) {
            let n = db.to_string();
            resp::reply::encode_command(&mut a.buf, &[b"SELECT".as_slice(), n.as_bytes()]);
            a.selected_db = Some(db);
        }
        resp::reply::encode_command(&mut a.buf, cmd);
    }
    if wrap {
        resp::reply::encode_command(&mut a.buf, &[b"EXEC".as_slice()]);
    }
}

/// A child-like job is running: a disk snapshot, a rewrite or a full sync's snapshot (where
/// Valkey would have a forked child; `no-appendfsync-on-rewrite` and scheduling follow it).
fn job_active(s: &Server) -> bool {
    s.persist.bgsave.is_some() || s.persist.aof.rewrite.is_some() || !s.repl.jobs.is_empty()
}

/// Writes the buffer to the incremental file and fsyncs as `appendfsync` says. Called before
/// the replies of an event-loop pass go out, and by the cron (everysec fsync, retrying after a
/// write error).
pub fn flush(s: &mut Server) {
    if s.persist.aof.status == AofStatus::Off {
        return;
    }
    let skip_fsync = s.cfg.no_appendfsync_on_rewrite && job_active(s);
    let policy = s.cfg.appendfsync;
    let repl_offset = s.repl.offset();
    let a = &mut s.persist.aof;
    let Some(file) = a.file.clone() else {
        return;
    };
    if !a.buf.is_empty() {
        if a.flush_sleep_us > 0 {
            std::thread::sleep(std::time::Duration::from_micros(a.flush_sleep_us));
        }
        match (&*file).write_all(&a.buf) {
            Ok(()) => {
                let n = a.buf.len() as u64;
                a.current_size += n;
                a.incr_size += n;
                a.written_total += n;
                a.buf.clear();
                a.checkpoints.push_back((a.written_total, repl_offset));
                if a.write_error.take().is_some() {
                    log_warning!("AOF write error looks solved. The server can write again.");
                }
            }
            Err(e) => {
                // A partial write is cut off again so that the file ends on a whole command.
                let _ = file.set_len(a.incr_size);
                let _ = (&*file).seek(SeekFrom::End(0));
                if policy == AppendFsync::Always {
                    log_warning!("Error writing to the AOF file: {e}");
                    log_warning!("Can't recover from AOF write error when the AOF fsync policy is 'always'. Exiting...");
                    std::process::exit(1);
                }
                let text = crate::config::value::os_error_text(&e);
                if a.write_error.is_none() {
                    log_warning!("Error writing to the AOF file: {text}");
                }
                a.write_error = Some(text);
                return;
            }
        }
    }
    if skip_fsync || a.fsync_requested == a.written_total {
        return;
    }
    match policy {
        AppendFsync::Always => {
            if let Err(e) = file.sync_data() {
                log_warning!("Can't persist AOF for fsync error when the AOF fsync policy is 'always': {e}. Exiting...");
                std::process::exit(1);
            }
            a.fsync_requested = a.written_total;
            a.last_fsync_ms = now_ms();
            if let Some(f) = &a.fsyncer {
                f.synced.store(a.written_total, Ordering::Relaxed);
            }
        }
        AppendFsync::Everysec => {
            let now = now_ms();
            if now - a.last_fsync_ms < 1000 {
                return;
            }
            let Some(f) = &a.fsyncer else {
                return;
            };
            if f.busy.load(Ordering::Acquire) {
                return;
            }
            f.busy.store(true, Ordering::Release);
            if f.requests.send((file, a.written_total)).is_ok() {
                a.fsync_requested = a.written_total;
                a.last_fsync_ms = now;
            } else {
                f.busy.store(false, Ordering::Release);
            }
        }
        AppendFsync::No => {}
    }
}

/// AOF bytes fed so far: written, plus what waits in the buffer (a client's WAITAOF target).
pub fn fed_total(s: &Server) -> u64 {
    let a = &s.persist.aof;
    a.written_total + a.buf.len() as u64
}

/// True when the AOF is complete (on) and holds `target` fed bytes fsynced.
pub fn fsynced(s: &Server, target: u64) -> bool {
    let a = &s.persist.aof;
    a.status == AofStatus::On
        && a.fsyncer
            .as_ref()
            .is_some_and(|f| f.synced.load(Ordering::Relaxed) >= target)
}

/// The stream offset known fsynced in the AOF (a replica's `FACK`): None with the AOF off;
/// 0 while it waits for its first rewrite, as Valkey's.
pub fn fsynced_repl_offset(s: &mut Server) -> Option<i64> {
    let status = s.persist.aof.status;
    if status == AofStatus::Off {
        return None;
    }
    if status == AofStatus::WaitRewrite {
        return Some(0);
    }
    let repl_offset = s.repl.offset();
    let policy = s.cfg.appendfsync;
    let a = &mut s.persist.aof;
    let synced = a
        .fsyncer
        .as_ref()
        .map_or(0, |f| f.synced.load(Ordering::Relaxed));
    while let Some(&(total, off)) = a.checkpoints.front() {
        if total > synced {
            break;
        }
        a.fsynced_reploff = a.fsynced_reploff.max(off);
        a.checkpoints.pop_front();
    }
    // Nothing unsynced: everything up to the stream's end is on disk (with `no`, nothing is
    // ever known to be).
    if policy != AppendFsync::No && a.buf.is_empty() && synced >= a.written_total {
        a.fsynced_reploff = a.fsynced_reploff.max(repl_offset);
    }
    Some(a.fsynced_reploff)
}

/// Starts the everysec fsync thread (once).
fn ensure_fsyncer(s: &mut Server) {
    if s.persist.aof.fsyncer.is_some() {
        return;
    }
    let (tx, rx) = std::sync::mpsc::channel::<(Arc<File>, u64)>();
    let busy = Arc::new(AtomicBool::new(false));
    let synced = Arc::new(AtomicU64::new(0));
    let errno = Arc::new(AtomicI32::new(0));
    let (b, sy, er) = (busy.clone(), synced.clone(), errno.clone());
    let spawned = std::thread::Builder::new()
        .name("aof-fsync".into())
        .spawn(move || {
            while let Ok((file, upto)) = rx.recv() {
                match file.sync_data() {
                    Ok(()) => {
                        if er.swap(0, Ordering::Relaxed) != 0 {
                            crate::log::write_child(
                                crate::log::Level::Notice,
                                "AOF fsync is now working again",
                            );
                        }
                        sy.fetch_max(upto, Ordering::Relaxed);
                    }
                    Err(e) => {
                        let code = e.raw_os_error().unwrap_or(libc::EIO);
                        if er.swap(code, Ordering::Relaxed) == 0 {
                            crate::log::write_child(
                                crate::log::Level::Warning,
                                &format!("Fail to fsync the AOF file: {e}"),
                            );
                        }
                    }
                }
                b.store(false, Ordering::Release);
            }
        });
    if spawned.is_ok() {
        s.persist.aof.fsyncer = Some(AofFsyncer {
            requests: tx,
            busy,
            synced,
            errno,
        });
    }
}

/// Writes the manifest crash-safely (temp file, fsync, rename, fsync of the directory).
fn persist_manifest(s: &Server, m: &format::Manifest) -> Result<(), String> {
    let d = dir(s);
    let p = prefix(s);
    let tmp = d.join(format::temp_manifest_name(&p));
    let target = d.join(format::manifest_name(&p));
    let res = (|| -> std::io::Result<()> {
        let mut f = File::create(&tmp)?;
        f.write_all(m.to_text().as_bytes())?;
        f.sync_data()?;
        drop(f);
        std::fs::rename(&tmp, &target)?;
        persistence::file::sync_dir(&target)
    })();
    res.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        let msg = format!(
            "Error trying to write the AOF manifest file {}: {e}",
            target.display()
        );
        log_warning!("{msg}");
        msg
    })
}

fn ensure_dir(s: &Server) -> Result<(), String> {
    let d = dir(s);
    match std::fs::create_dir(&d) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(format!(
            "Can't open or create append-only dir {}: {e}",
            d.display()
        )),
    }
}

fn open_append(path: &Path, truncate: bool) -> std::io::Result<File> {
    let mut o = OpenOptions::new();
    o.create(true);
    if truncate {
        o.write(true).truncate(true);
    } else {
        o.append(true);
    }
    let f = o.open(path)?;
    Ok(f)
}

/// Switches appending to `file` (the previous one is fsynced in the background first).
fn switch_file(s: &mut Server, file: File, size: u64) {
    let old = s.persist.aof.file.replace(Arc::new(file));
    let written = s.persist.aof.written_total;
    if let (Some(old), Some(f)) = (old, &s.persist.aof.fsyncer) {
        // What the old file holds reaches the disk before anything of the new one is
        // counted as fsynced (one thread, requests in order).
        let _ = f.requests.send((old, written));
    }
    let a = &mut s.persist.aof;
    a.incr_size = size;
    a.selected_db = None;
}

// ---------------------------------------------------------------------------------------------
// Rewriting

/// Why a rewrite did not start.
pub enum RewriteRefused {
    AlreadyRunning,
    /// Another job runs: the rewrite is scheduled.
    Scheduled,
    Failed(String),
}

/// BGREWRITEAOF.
pub fn bgrewriteaof_command(s: &mut Server, in_exec: bool) -> Reply {
    if s.persist.aof.rewrite.is_some() {
        return commands::errors::err(
            "ERR Background append only file rewriting already in progress",
        );
    }
    if job_active(s) || in_exec {
        s.persist.aof.rewrite_scheduled = true;
        s.persist.aof.rewrites_consecutive_failures = 0;
        log_notice!("Background append only file rewriting scheduled.");
        return Reply::status("Background append only file rewriting scheduled");
    }
    match start_rewrite(s) {
        Ok(()) => Reply::status("Background append only file rewriting started"),
        Err(_) => commands::errors::err("ERR Can't execute an AOF background rewriting. Please check the server logs for more information."),
    }
}

/// Starts a rewrite: a new incremental file for the writes from here, and the snapshot
/// written as the next base by a thread.
pub fn start_rewrite(s: &mut Server) -> Result<(), String> {
    if s.persist.aof.rewrite.is_some() {
        return Err("already running".into());
    }
    let fail = |s: &mut Server, e: String| {
        log_warning!("{e}");
        s.persist.aof.last_rewrite_ok = false;
        Err(e)
    };
    if let Err(e) = ensure_dir(s) {
        return fail(s, e);
    }
    flush(s);
    let d = dir(s);
    let p = prefix(s);
    // The writes from here on go to a new incremental file.
    let first_kept = match s.persist.aof.status {
        AofStatus::Off => 0,
        AofStatus::On => {
            let seq = s.persist.aof.incr_seq + 1;
            let name = format::incr_name(&p, seq);
            let file = match open_append(&d.join(&name), true) {
                Ok(f) => f,
                Err(e) => return fail(s, format!("Can't open the append-only file {name}: {e}")),
            };
            let mut m = s.persist.aof.manifest.clone();
            m.incrs.push(AofFile {
                name: name.clone(),
                seq,
                kind: AofKind::Incr,
            });
            if let Err(e) = persist_manifest(s, &m) {
                let _ = std::fs::remove_file(d.join(&name));
                return fail(s, e);
            }
            s.persist.aof.manifest = m;
            s.persist.aof.incr_seq = seq;
            log_notice!("Creating AOF incr file {name} on background rewrite");
            switch_file(s, file, 0);
            seq
        }
        AofStatus::WaitRewrite => {
            let name = format!("temp-{p}.incr");
            let file = match open_append(&d.join(&name), true) {
                Ok(f) => f,
                Err(e) => return fail(s, format!("Can't open the append-only file {name}: {e}")),
            };
            log_notice!("Creating AOF incr file {name} on background rewrite");
            switch_file(s, file, 0);
            u64::MAX
        }
    };
    let cow_base = types::cow::total();
    let snap = s.exec.ks.snapshot();
    let keys_total = snap.dbs.iter().map(|d| d.len() as u64).sum();
    let rdb_preamble = s.cfg.aof_use_rdb_preamble;
    let info = super::save_info(s);
    let opts = persistence::SaveOptions {
        compression: s.cfg.rdbcompression,
        checksum: s.cfg.rdbchecksum,
        key_save_delay_us: s.cfg.rdb_key_save_delay_us,
    };
    s.persist.aof.rewrite_ids += 1;
    let id = s.persist.aof.rewrite_ids;
    let temp = temp_base_path(s, id);
    let cancel = Arc::new(AtomicBool::new(false));
    let keys_done = Arc::new(AtomicU64::new(0));
    let timestamp = s.cfg.aof_timestamp_enabled.then(|| now_ms() / 1000);
    let tx = s.persist.events.sender();
    let (c, k, t) = (cancel.clone(), keys_done.clone(), temp.clone());
    let spawned = std::thread::Builder::new()
        .name("aof-rewrite".into())
        .spawn(move || {
            let res = write_base(&t, snap, &info, &opts, rdb_preamble, timestamp, &c, &k);
            if res.is_ok() {
                crate::log::write_child(
                    crate::log::Level::Notice,
                    &format!(
                        "Successfully created the temporary AOF base file {}",
                        t.display()
                    ),
                );
            }
            tx.send(PersistEvent::AofRewriteDone(id, res));
        });
    if let Err(e) = spawned {
        return fail(
            s,
            format!("Can't rewrite append only file in background: {e}"),
        );
    }
    s.persist.aof.rewrites += 1;
    s.persist.aof.rewrite_scheduled = false;
    s.persist.aof.rewrite = Some(AofRewrite {
        id,
        started_ms: now_ms(),
        cow_base,
        cancel,
        keys_done,
        keys_total,
        first_kept_incr_seq: first_kept,
        temp,
        rdb_preamble,
        written_at_start: s.persist.aof.written_total + s.persist.aof.buf.len() as u64,
        repl_offset_at_start: s.repl.offset(),
    });
    log_notice!(
        "Background append only file rewriting started by pid {}",
        std::process::id()
    );
    Ok(())
}

/// Where rewrite `id` writes its base before it is renamed into the AOF directory.
fn temp_base_path(s: &Server, id: u64) -> PathBuf {
    PathBuf::from(&s.cfg.dir).join(format!(
        "temp-rewriteaof-bg-{}-{id}.aof",
        std::process::id()
    ))
}

/// The rewrite thread's work: the snapshot as a base file at `path` (fsynced).
#[allow(clippy::too_many_arguments)]
fn write_base(
    path: &Path,
    snap: keyspace::Snapshot,
    info: &persistence::SaveInfo,
    opts: &persistence::SaveOptions,
    rdb_preamble: bool,
    timestamp: Option<i64>,
    cancel: &AtomicBool,
    keys_done: &AtomicU64,
) -> Result<u64, String> {
    let res = (|| -> std::io::Result<u64> {
        let file = File::create(path)?;
        let mut w = std::io::BufWriter::with_capacity(1 << 20, file);
        if rdb_preamble {
            let (w2, _) = persistence::write_snapshot(snap, info, opts, w, cancel, keys_done)?;
            w = w2;
        } else {
            if let Some(ts) = timestamp {
                w.write_all(format!("#TS:{ts}\r\n").as_bytes())?;
            }
            write_command_base(&mut w, snap, &info.functions, cancel, keys_done)?;
        }
        let f = persistence::file::flush_sync(w)?;
        Ok(f.metadata()?.len())
    })();
    res.map_err(|e| {
        let _ = std::fs::remove_file(path);
        e.to_string()
    })
}

/// A base without the RDB preamble: FUNCTION LOAD for each library, then per database a
/// SELECT and one `RESTORE key ttl payload ABSTTL` per key (the DUMP payload carries every
/// type and encoding exactly; loadable by Redis and Valkey as any AOF).
fn write_command_base<W: Write>(
    w: &mut W,
    snap: keyspace::Snapshot,
    functions: &[Bytes],
    cancel: &AtomicBool,
    keys_done: &AtomicU64,
) -> std::io::Result<()> {
    let mut out = Vec::with_capacity(64 * 1024);
    for code in functions {
        resp::reply::encode_command(&mut out, &[b"FUNCTION".as_slice(), b"LOAD", code]);
    }
    for (db, d) in snap.dbs.iter().enumerate() {
        if d.is_empty() {
            continue;
        }
        let n = db.to_string();
        resp::reply::encode_command(&mut out, &[b"SELECT".as_slice(), n.as_bytes()]);
        for obj in d.iter() {
            if cancel.load(Ordering::Relaxed) {
                return Err(std::io::Error::other("rewrite cancelled"));
            }
            let payload =
                persistence::dump::dump(obj).map_err(|e| std::io::Error::other(e.to_string()))?;
            let ttl = obj.expire_ms().map_or(0, |e| e.max(1));
            let ttl = ttl.to_string();
            resp::reply::encode_command(
                &mut out,
                &[
                    b"RESTORE".as_slice(),
                    obj.key(),
                    ttl.as_bytes(),
                    &payload,
                    b"ABSTTL",
                ],
            );
            keys_done.fetch_add(1, Ordering::Relaxed);
            if out.len() >= 64 * 1024 {
                w.write_all(&out)?;
                out.clear();
            }
        }
    }
    w.write_all(&out)
}

/// Cancels a running rewrite (AOF turned off, FLUSHALL-like resets, shutdown).
pub fn kill_rewrite(s: &mut Server) {
    if let Some(r) = s.persist.aof.rewrite.take() {
        log_notice!("Killing running AOF rewrite child: {}", std::process::id());
        // Its thread sees the flag, removes its temporary file and reports (ignored).
        r.cancel.store(true, Ordering::Relaxed);
        if s.persist.aof.status == AofStatus::WaitRewrite {
            drop_temp_incr(s);
        }
    }
}

fn drop_temp_incr(s: &mut Server) {
    let name = format!("temp-{}.incr", prefix(s));
    s.persist.aof.file = None;
    s.persist.aof.buf.clear();
    log_notice!("Removing the temp incr aof file {name} in the background");
    let _ = std::fs::remove_file(dir(s).join(name));
}

/// The rewrite thread finished.
pub fn on_rewrite_done(s: &mut Server, id: u64, res: Result<u64, String>) {
    if s.persist.aof.rewrite.as_ref().is_none_or(|r| r.id != id) {
        // A cancelled rewrite: its file is not wanted even if it was finished.
        if res.is_ok() {
            let _ = std::fs::remove_file(temp_base_path(s, id));
        }
        return;
    }
    let Some(r) = s.persist.aof.rewrite.take() else {
        return;
    };
    s.persist.aof.last_rewrite_time_sec = (now_ms() - r.started_ms) / 1000;
    s.persist.aof_last_cow_size = types::cow::total() - r.cow_base;
    let outcome = res.and_then(|size| install_rewrite(s, &r, size));
    let _ = std::fs::remove_file(&r.temp);
    match outcome {
        Ok(()) => {
            s.persist.aof.last_rewrite_ok = true;
            s.persist.aof.rewrites_consecutive_failures = 0;
            log_notice!("Background AOF rewrite finished successfully");
        }
        Err(e) => {
            log_warning!("Background AOF rewrite terminated with error: {e}");
            s.persist.aof.last_rewrite_ok = false;
            s.persist.aof.rewrites_consecutive_failures += 1;
            if s.persist.aof.status == AofStatus::WaitRewrite {
                // Turning the AOF on needs a rewrite that succeeds: try again.
                drop_temp_incr(s);
                s.persist.aof.rewrite_scheduled = true;
            }
        }
    }
}

/// Puts a finished base in place and writes the manifest naming it.
fn install_rewrite(s: &mut Server, r: &AofRewrite, base_size: u64) -> Result<(), String> {
    log_notice!("Background AOF rewrite terminated with success");
    let d = dir(s);
    let p = prefix(s);
    let base_seq = s.persist.aof.base_seq + 1;
    let base = format::base_name(&p, base_seq, r.rdb_preamble);
    let mut m = s.persist.aof.manifest.clone();
    std::fs::rename(&r.temp, d.join(&base)).map_err(|e| {
        format!(
            "Error trying to rename the temporary AOF base file {} into {base}: {e}",
            r.temp.display()
        )
    })?;
    log_notice!(
        "Successfully renamed the temporary AOF base file {} into {base}",
        r.temp.display()
    );
    if let Some(mut old) = m.base.replace(AofFile {
        name: base.clone(),
        seq: base_seq,
        kind: AofKind::Base,
    }) {
        old.kind = AofKind::History;
        m.history.insert(0, old);
    }
    let mut new_incr = None;
    if s.persist.aof.status == AofStatus::WaitRewrite {
        let seq = s.persist.aof.incr_seq + 1;
        let name = format::incr_name(&p, seq);
        let temp = d.join(format!("temp-{p}.incr"));
        if let Err(e) = std::fs::rename(&temp, d.join(&name)) {
            let _ = std::fs::remove_file(d.join(&base));
            return Err(format!(
                "Error trying to rename the temporary AOF incr file {} into {name}: {e}",
                temp.display()
            ));
        }
        log_notice!(
            "Successfully renamed the temporary AOF incr file {} into {name}",
            temp.display()
        );
        new_incr = Some(seq);
        m.incrs.push(AofFile {
            name,
            seq,
            kind: AofKind::Incr,
        });
    }
    // Every incremental file older than the one opened at the rewrite's start (all of them
    // with the AOF off) is history now, newest first at the head.
    let keep_from = match s.persist.aof.status {
        AofStatus::Off => u64::MAX,
        AofStatus::On => r.first_kept_incr_seq,
        AofStatus::WaitRewrite => new_incr.unwrap_or(u64::MAX),
    };
    let (old, kept): (Vec<AofFile>, Vec<AofFile>) =
        m.incrs.drain(..).partition(|f| f.seq < keep_from);
    m.incrs = kept;
    // Newest at the head, the older ones after it in their order (as Valkey's list).
    for mut f in old.into_iter().rev() {
        f.kind = AofKind::History;
        m.history.insert(0, f);
    }
    if let Err(e) = persist_manifest(s, &m) {
        let _ = std::fs::remove_file(d.join(&base));
        return Err(e);
    }
    s.persist.aof.manifest = m;
    s.persist.aof.base_seq = base_seq;
    if let Some(seq) = new_incr {
        s.persist.aof.incr_seq = seq;
    }
    if s.persist.aof.status != AofStatus::Off {
        let a = &mut s.persist.aof;
        a.current_size = base_size + a.incr_size;
        a.base_size = a.current_size;
    }
    delete_history(s);
    if s.persist.aof.status == AofStatus::WaitRewrite {
        s.persist.aof.status = AofStatus::On;
    }
    // The fsynced base holds everything fed before the rewrite began.
    if let Some(f) = &s.persist.aof.fsyncer {
        f.synced.fetch_max(r.written_at_start, Ordering::Relaxed);
    }
    let a = &mut s.persist.aof;
    a.fsynced_reploff = a.fsynced_reploff.max(r.repl_offset_at_start);
    Ok(())
}

/// Deletes the files the manifest lists as history (unless `aof-disable-auto-gc`).
pub fn delete_history(s: &mut Server) {
    if s.cfg.aof_disable_auto_gc || s.persist.aof.manifest.history.is_empty() {
        return;
    }
    let d = dir(s);
    let mut m = s.persist.aof.manifest.clone();
    for f in m.history.drain(..) {
        log_notice!("Removing the history file {} in the background", f.name);
        let path = d.join(&f.name);
        let _ = std::thread::Builder::new()
            .name("aof-gc".into())
            .spawn(move || {
                let _ = std::fs::remove_file(path);
            });
    }
    if persist_manifest(s, &m).is_ok() {
        s.persist.aof.manifest = m;
    }
}

// ---------------------------------------------------------------------------------------------
// Turning on and off

/// CONFIG SET appendonly yes|no, aof-disable-auto-gc.
pub fn on_config_changed(s: &mut Server) -> Result<(), String> {
    if !s.cfg.aof_disable_auto_gc && active(s) {
        delete_history(s);
    }
    match (s.cfg.appendonly, s.persist.aof.status) {
        (true, AofStatus::Off) => start(s),
        (false, AofStatus::On | AofStatus::WaitRewrite) => {
            stop(s);
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Turns the AOF on at run time: a first rewrite makes it complete.
fn start(s: &mut Server) -> Result<(), String> {
    ensure_fsyncer(s);
    s.persist.aof.status = AofStatus::WaitRewrite;
    s.persist.aof.write_error = None;
    if let Some(f) = &s.persist.aof.fsyncer {
        f.errno.store(0, Ordering::Relaxed);
    }
    if s.persist.bgsave.is_some() || !s.repl.jobs.is_empty() {
        s.persist.aof.rewrite_scheduled = true;
        log_notice!("AOF was enabled but there is already another background operation. An AOF background was scheduled to start when possible.");
        return Ok(());
    }
    if s.exec.prop.depth() > 1 {
        s.persist.aof.rewrite_scheduled = true;
        log_notice!("AOF was enabled during a transaction. An AOF background was scheduled to start when possible.");
        return Ok(());
    }
    if s.persist.aof.rewrite.is_some() {
        log_notice!("AOF was enabled but there is already an AOF rewriting in background. Stopping background AOF and starting a rewrite now.");
        kill_rewrite(s);
    }
    if let Err(e) = start_rewrite(s) {
        s.persist.aof.status = AofStatus::Off;
        log_warning!("The server needs to enable the AOF but can't trigger a background AOF rewrite operation. Check the above logs for more info about the error.");
        let _ = e;
        return Err("Unable to turn on AOF. Check server logs.".into());
    }
    Ok(())
}

/// A full sync replaced the dataset: the AOF starts over from it with a first rewrite, as
/// Valkey's replica stops and restarts its AOF around the load (the old files, which hold
/// the old history, stay named by the manifest until that rewrite is done).
pub fn restart_after_full_sync(s: &mut Server) {
    if !active(s) {
        return;
    }
    stop(s);
    if let Err(e) = start(s) {
        log_warning!("The AOF could not be restarted after the full sync: {e}");
    }
}

/// Turns the AOF off: what is buffered is written and fsynced, a rewrite is stopped.
pub fn stop(s: &mut Server) {
    flush(s);
    if let Some(f) = s.persist.aof.file.take() {
        let _ = f.sync_data();
    }
    if s.persist.aof.rewrite_scheduled {
        log_notice!("AOF was disabled but there is a scheduled AOF background, cancel it.");
        s.persist.aof.rewrite_scheduled = false;
    }
    let was_waiting = s.persist.aof.status == AofStatus::WaitRewrite;
    if s.persist.aof.rewrite.is_some() {
        kill_rewrite(s);
    } else if was_waiting {
        drop_temp_incr(s);
    }
    let a = &mut s.persist.aof;
    a.status = AofStatus::Off;
    a.selected_db = None;
    a.buf.clear();
    a.current_size = 0;
    a.base_size = 0;
    a.incr_size = 0;
    a.checkpoints.clear();
    // What was fsynced belongs to the stream offsets of before (a full sync may start another
    // history, with lower offsets): nothing counts as fsynced until the next first rewrite,
    // as Valkey resets `fsynced_reploff` when its AOF stops.
    a.fsynced_reploff = 0;
}

/// Periodic work: scheduled and automatic rewrites, everysec fsyncs, write retries.
pub fn cron(s: &mut Server) {
    flush(s);
    if s.persist.aof.rewrite.is_some() || job_active(s) || s.exec.loading {
        return;
    }
    if s.persist.aof.rewrite_scheduled {
        let _ = start_rewrite(s);
        return;
    }
    let a = &s.persist.aof;
    let perc = s.cfg.auto_aof_rewrite_percentage;
    if a.status == AofStatus::On
        && perc > 0
        && a.current_size > s.cfg.auto_aof_rewrite_min_size_bytes.max(0) as u64
    {
        let base = a.base_size.max(1);
        let growth = (a.current_size * 100 / base) as i64 - 100;
        if growth >= perc {
            log_notice!("Starting automatic rewriting of AOF on {growth}% growth");
            let _ = start_rewrite(s);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Loading

/// How a load ended (Valkey's AOF_OK / AOF_EMPTY / AOF_NOT_EXIST / AOF_TRUNCATED).
#[derive(Debug, PartialEq, Eq)]
pub enum Loaded {
    Ok,
    Empty,
    NotExist,
    Truncated,
}

/// At start-up with `appendonly yes`: loads the AOF (never the RDB file), then opens the
/// incremental file to append to, creating the base and the manifest if there were none.
pub fn load_at_startup(s: &mut Server) -> Result<(), String> {
    s.persist.aof.status = AofStatus::On;
    ensure_fsyncer(s);
    read_manifest(s)?;
    let started = now_ms();
    let res = load_files(s, usize::MAX)?;
    if res != Loaded::NotExist {
        log_notice!(
            "DB loaded from append only file: {:.3} seconds",
            (now_ms() - started) as f64 / 1000.0
        );
    }
    open_on_start(s)?;
    delete_history(s);
    Ok(())
}

/// Reads the manifest from disk (none: an empty one), upgrading an old single-file AOF
/// found in `dir` into the AOF directory.
fn read_manifest(s: &mut Server) -> Result<(), String> {
    let d = dir(s);
    let p = prefix(s);
    let path = d.join(format::manifest_name(&p));
    let manifest = match std::fs::read(&path) {
        Ok(text) => match format::Manifest::parse(&text) {
            Ok(m) => m,
            Err(e) => {
                log_warning!("\n*** FATAL AOF MANIFEST FILE ERROR ***\n{e}\n");
                return Err("AOF manifest error".into());
            }
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => format::Manifest::default(),
        Err(e) => {
            return Err(format!(
                "Fatal error: can't open the AOF manifest file {} for reading: {e}",
                path.display()
            ))
        }
    };
    s.persist.aof.base_seq = manifest.base_seq();
    s.persist.aof.incr_seq = manifest.last_incr_seq();
    s.persist.aof.manifest = manifest;
    // An old-style AOF (one file in `dir`) moves into the directory as the base.
    let old = PathBuf::from(&s.cfg.dir).join(&p);
    let m = &s.persist.aof.manifest;
    let only_old_base =
        m.incrs.is_empty() && m.base.as_ref().is_some_and(|b| b.name == p) && !d.join(&p).exists();
    let upgrade =
        old.is_file() && (!d.exists() || (m.base.is_none() && m.incrs.is_empty()) || only_old_base);
    if upgrade {
        ensure_dir(s)?;
        let m = format::Manifest {
            base: Some(AofFile {
                name: p.clone(),
                seq: 1,
                kind: AofKind::Base,
            }),
            ..Default::default()
        };
        persist_manifest(s, &m)?;
        std::fs::rename(&old, d.join(&p)).map_err(|e| {
            format!(
                "Error trying to move the old AOF file {}: {e}",
                old.display()
            )
        })?;
        log_notice!(
            "Successfully migrated an old-style AOF file ({p}) into the AOF directory ({}).",
            s.cfg.appenddirname.as_str()
        );
        s.persist.aof.base_seq = 1;
        s.persist.aof.manifest = m;
    }
    Ok(())
}

/// Loads the base and every incremental file named by the in-memory manifest into the
/// current (empty) dataset.
/// `protect`: the client whose command loads (DEBUG LOADAOF; usize::MAX at start-up), left
/// alone by the serving passes.
fn load_files(s: &mut Server, protect: usize) -> Result<Loaded, String> {
    let d = dir(s);
    let files: Vec<AofFile> = s.persist.aof.manifest.load_order().cloned().collect();
    if files.is_empty() {
        return Ok(Loaded::NotExist);
    }
    let mut total = 0u64;
    for f in &files {
        match std::fs::metadata(d.join(&f.name)) {
            Ok(m) => total += m.len(),
            Err(e) => {
                return Err(format!(
                    "Unable to obtain the AOF file {} length. stat: {e}",
                    f.name
                ))
            }
        }
    }
    if total == 0 {
        return Ok(Loaded::Empty);
    }
    // Clients are answered -LOADING while the files load (INFO shows the progress).
    let was_loading = std::mem::replace(&mut s.exec.loading, true);
    s.persist.loading = Some(super::LoadState {
        started_ms: now_ms(),
        total_bytes: total,
        read: Arc::new(AtomicU64::new(0)),
    });
    s.persist.aof.serving_key = Some(protect);
    s.persist.aof.loaded_before = 0;
    let res = load_each(s, &d, &files);
    s.persist.aof.serving_key = None;
    s.persist.loading = None;
    s.exec.loading = was_loading;
    let result = res?;
    let a = &mut s.persist.aof;
    a.current_size = total;
    a.base_size = files
        .first()
        .filter(|f| f.kind == AofKind::Base)
        .and_then(|f| std::fs::metadata(d.join(&f.name)).ok())
        .map_or(0, |m| m.len());
    Ok(result)
}

fn load_each(s: &mut Server, d: &Path, files: &[AofFile]) -> Result<Loaded, String> {
    let mut result = Loaded::Ok;
    for (i, f) in files.iter().enumerate() {
        let last = i + 1 == files.len();
        let started = now_ms();
        let r = load_file(s, &d.join(&f.name), f, last)?;
        s.persist.aof.loaded_before += std::fs::metadata(d.join(&f.name)).map_or(0, |m| m.len());
        if r == Loaded::Empty {
            continue;
        }
        if r == Loaded::Truncated {
            if !last {
                return Err("Fatal error: the truncated file is not the last file".into());
            }
            result = Loaded::Truncated;
        }
        let what = if f.kind == AofKind::Base {
            "base"
        } else {
            "incr"
        };
        log_notice!(
            "DB loaded from {what} file {}: {:.3} seconds",
            f.name,
            (now_ms() - started) as f64 / 1000.0
        );
    }
    Ok(result)
}

/// One file: an RDB (base with the preamble, possibly followed by commands), or commands.
fn load_file(s: &mut Server, path: &Path, f: &AofFile, last: bool) -> Result<Loaded, String> {
    let name = &f.name;
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(format!("The append log file {name} doesn't exist: {e}"))
        }
        Err(e) => {
            return Err(format!(
                "Fatal error: can't open the append log file {name} for reading: {e}"
            ))
        }
    };
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    if len == 0 {
        return Ok(Loaded::Empty);
    }
    let mut magic = [0u8; 5];
    let is_rdb = file.read_exact(&mut magic).is_ok() && &magic == b"REDIS";
    file.seek(SeekFrom::Start(0)).map_err(|e| e.to_string())?;
    let mut start = 0u64;
    if is_rdb {
        let legacy = *name == prefix(s);
        if legacy {
            log_notice!("Reading RDB preamble from AOF file...");
        } else {
            log_notice!("Reading RDB base file on AOF loading...");
        }
        let opts = persistence::LoadOptions {
            verify_checksum: s.cfg.rdbchecksum && !s.persist.skip_checksum_validation,
            databases: s.exec.ks.db_count(),
            limits: super::limits(s),
            drop_expired_at_ms: None,
            key_load_delay_us: s.cfg.key_load_delay_us,
            report_expired: false,
        };
        // On a thread, so that clients are answered (-LOADING) meanwhile.
        let read = s
            .persist
            .loading
            .as_ref()
            .map_or_else(|| Arc::new(AtomicU64::new(0)), |l| l.read.clone());
        let base_read = s.persist.aof.loaded_before;
        let progress = Arc::new(AtomicU64::new(0));
        let (tx, rx) = std::sync::mpsc::channel();
        let (f2, p2) = (
            file.try_clone().map_err(|e| e.to_string())?,
            progress.clone(),
        );
        std::thread::Builder::new()
            .name("aof-base-load".into())
            .spawn(move || {
                let res = persistence::load(BufReader::with_capacity(1 << 20, f2), &opts, &p2);
                let _ = tx.send(res);
            })
            .map_err(|e| e.to_string())?;
        let res = loop {
            match rx.recv_timeout(std::time::Duration::from_millis(20)) {
                Ok(res) => break res,
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                    read.store(
                        base_read + progress.load(Ordering::Relaxed),
                        Ordering::Relaxed,
                    );
                    (s.life.serve_while_busy)(s);
                }
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                    break Err(persistence::PersistError::Aof(
                        "the loading thread died".into(),
                    ))
                }
            }
        };
        let loaded = match res {
            Ok(l) => l,
            Err(e) => {
                return Err(if legacy {
                    format!("Error reading the RDB preamble of the AOF file {name}, AOF loading aborted: {e}")
                } else {
                    format!("Error reading the RDB base file {name}, AOF loading aborted: {e}")
                })
            }
        };
        s.exec
            .scripting
            .install_from_rdb(&loaded.functions, true, true)
            .map_err(|e| {
                format!("Error reading the RDB base file {name}, AOF loading aborted: {e}")
            })?;
        for (db, mut d) in loaded.dbs.into_iter().enumerate() {
            let keys: Vec<Vec<u8>> = d.iter().map(|o| o.key().to_vec()).collect();
            for k in keys {
                if let Some(obj) = d.take(&k) {
                    s.exec.ks.put(db, obj);
                }
            }
        }
        start = progress.load(Ordering::Relaxed);
        if start >= len {
            return Ok(Loaded::Ok);
        }
        if legacy {
            log_notice!("Reading the remaining AOF tail...");
        }
        file.seek(SeekFrom::Start(start))
            .map_err(|e| e.to_string())?;
    }
    replay(
        s,
        BufReader::with_capacity(1 << 20, file),
        start,
        path,
        name,
        last,
    )
}

/// Replays the commands of one file through the execution core.
fn replay<R: BufRead>(
    s: &mut Server,
    input: R,
    start: u64,
    path: &Path,
    name: &str,
    last: bool,
) -> Result<Loaded, String> {
    let key = loader_client(s).map_err(|e| format!("Can't create the AOF loading client: {e}"))?;
    s.persist.aof.replaying = true;
    s.exec.ks.obey_all = true;
    // Clients served while a replayed script is busy get -LOADING, as during any load.
    let was_loading = std::mem::replace(&mut s.exec.loading, true);
    let mut reader =
        CommandReader::new(input, start).max_bulk(s.exec.settings.proto_max_bulk_len as u64);
    let mut multi: Option<(u64, Vec<Vec<Bytes>>)> = None;
    let mut valid = start;
    let delay = s.cfg.key_load_delay_us;
    let mut count = 0u64;
    let outcome = loop {
        let before = reader.offset();
        match reader.next_item() {
            Ok(None) => break None,
            Ok(Some(AofItem::Annotation)) => {
                if multi.is_none() {
                    valid = reader.offset();
                }
            }
            Ok(Some(AofItem::Command { argv, end })) => {
                let argv: Vec<Bytes> = argv.into_iter().map(Bytes::from).collect();
                let spec = match commands::call::resolve(&argv) {
                    Ok(spec) if spec.arity_ok(argv.len()) => spec,
                    _ => {
                        break Some(Err(format!(
                            "Unknown command '{}' reading the append only file {name}",
                            String::from_utf8_lossy(&argv[0])
                        )))
                    }
                };
                match spec.name {
                    "multi" => multi = Some((before, Vec::new())),
                    "exec" => {
                        for cmd in multi.take().map(|m| m.1).unwrap_or_default() {
                            run_one(s, key, cmd);
                        }
                        valid = end;
                    }
                    _ => match &mut multi {
                        Some((_, queued)) => queued.push(argv),
                        None => {
                            run_one(s, key, argv);
                            valid = end;
                        }
                    },
                }
                count += 1;
                if delay != 0 {
                    key_load_delay(delay, count);
                }
                // Every 1024 commands, clients are answered (-LOADING) and INFO shows how
                // far the load is (Valkey's processEventsWhileBlocked).
                if count.is_multiple_of(1024) {
                    if let Some(l) = &s.persist.loading {
                        l.read
                            .store(s.persist.aof.loaded_before + end, Ordering::Relaxed);
                    }
                    (s.life.serve_while_busy)(s);
                }
            }
            Err(AofStop::Corrupt { offset }) => {
                // Valkey's line (tools grep it), then where the bad bytes start.
                log_warning!("Bad file format reading the append only file {name}: make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>");
                break Some(Err(format!(
                    "The AOF file {name} is corrupt at offset {offset}."
                )));
            }
            Err(AofStop::Truncated { .. }) => break Some(Ok(())),
        }
    };
    s.exec.ks.obey_all = false;
    s.exec.loading = was_loading;
    s.persist.aof.replaying = false;
    // What replaying left to propagate (expiries, evictions) is not this node's to send.
    let _ = s.exec.prop.take_ready();
    // The loader client never watched, subscribed, tracked or blocked, and is not
    // registered with the poller: removing it is all.
    let _ = s.net.clients.remove(key);
    // Past this match the file ended early: a truncated tail, or a MULTI without its EXEC.
    match outcome {
        None if multi.is_none() => return Ok(Loaded::Ok),
        None => log_warning!("Revert incomplete MULTI/EXEC transaction in AOF file {name}"),
        Some(Err(e)) => return Err(e),
        Some(Ok(())) => {}
    }
    if !last {
        return Ok(Loaded::Truncated);
    }
    if !s.cfg.aof_load_truncated {
        return Err(format!("Unexpected end of file reading the append only file {name}. You can: 1) Make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>. 2) Alternatively you can set the 'aof-load-truncated' configuration option to yes and restart the server."));
    }
    log_warning!("!!! Warning: short read while loading the AOF file {name}!!!");
    log_warning!("!!! Truncating the AOF {name} at offset {valid} !!!");
    let cut = OpenOptions::new()
        .write(true)
        .open(path)
        .and_then(|f| f.set_len(valid));
    if let Err(e) = cut {
        return Err(format!("Error truncating the AOF file {name}: {e}"));
    }
    log_warning!("AOF {name} loaded anyway because aof-load-truncated is enabled");
    Ok(Loaded::Truncated)
}

fn key_load_delay(us: i64, count: u64) {
    if us > 0 {
        std::thread::sleep(std::time::Duration::from_micros(us as u64));
    } else if us < 0 && count.is_multiple_of(us.unsigned_abs()) {
        std::thread::sleep(std::time::Duration::from_micros(1));
    }
}

/// One replayed command, through the execution core (`core::replay_command`).
fn run_one(s: &mut Server, key: usize, argv: Vec<Bytes>) {
    (s.life.replay_command)(s, key, argv);
}

/// A client of the AOF's own to replay commands with: a socket pair nobody reads, replies
/// off, authenticated as the default user.
fn loader_client(s: &mut Server) -> std::io::Result<usize> {
    let (a, b) = mio::net::UnixStream::pair()?;
    drop(b);
    let key = s.net.add_client(
        crate::net::client::Conn::Unix(a),
        "aof".into(),
        String::new(),
        usize::MAX,
    )?;
    if let Some(c) = s.net.clients.get_mut(key) {
        c.authenticated = true;
        c.reply_mode = crate::net::client::ReplyMode::Off;
        // No events: the passes that answer clients while the AOF loads never read it.
        let _ = s.net.poll.registry().deregister(c.conn.source());
    }
    Ok(key)
}

/// After loading at start-up: a base if there is none and nothing was loaded, then the
/// last incremental file opened for appending (or a new one), and the manifest written.
fn open_on_start(s: &mut Server) -> Result<(), String> {
    ensure_dir(s)?;
    let d = dir(s);
    let p = prefix(s);
    let m = s.persist.aof.manifest.clone();
    let mut m2 = m.clone();
    if m.base.is_none() && m.incrs.is_empty() {
        let seq = s.persist.aof.base_seq + 1;
        let name = format::base_name(&p, seq, s.cfg.aof_use_rdb_preamble);
        let snap = s.exec.ks.snapshot();
        let info = super::save_info(s);
        let opts = persistence::SaveOptions {
            compression: s.cfg.rdbcompression,
            checksum: s.cfg.rdbchecksum,
            key_save_delay_us: 0,
        };
        let temp =
            PathBuf::from(&s.cfg.dir).join(format!("temp-rewriteaof-{}.aof", std::process::id()));
        let ts = s.cfg.aof_timestamp_enabled.then(|| now_ms() / 1000);
        let never = AtomicBool::new(false);
        let size = write_base(
            &temp,
            snap,
            &info,
            &opts,
            s.cfg.aof_use_rdb_preamble,
            ts,
            &never,
            &AtomicU64::new(0),
        )
        .and_then(|size| {
            std::fs::rename(&temp, d.join(&name))
                .map(|_| size)
                .map_err(|e| e.to_string())
        })
        .map_err(|e| format!("Can't create the AOF base file {name}: {e}"))?;
        log_notice!("Creating AOF base file {name} on server start");
        m2.base = Some(AofFile {
            name,
            seq,
            kind: AofKind::Base,
        });
        s.persist.aof.base_seq = seq;
        s.persist.aof.current_size += size;
        s.persist.aof.base_size = s.persist.aof.current_size;
    }
    let (name, existing) = match m2.incrs.last() {
        Some(f) => (f.name.clone(), true),
        None => {
            let seq = s.persist.aof.incr_seq + 1;
            let name = format::incr_name(&p, seq);
            m2.incrs.push(AofFile {
                name: name.clone(),
                seq,
                kind: AofKind::Incr,
            });
            s.persist.aof.incr_seq = seq;
            (name, false)
        }
    };
    let file = open_append(&d.join(&name), false)
        .map_err(|e| format!("Can't open the append-only file {name}: {e}"))?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    if m2 != m || !d.join(format::manifest_name(&p)).exists() {
        persist_manifest(s, &m2)?;
    }
    s.persist.aof.manifest = m2;
    if existing {
        log_notice!("Opening AOF incr file {name} on server start");
    } else {
        log_notice!("Creating AOF incr file {name} on server start");
    }
    switch_file(s, file, size);
    Ok(())
}

/// DEBUG LOADAOF: the AOF on disk replaces the dataset (it is written out first).
pub fn debug_loadaof(s: &mut Server, key: usize) -> Reply {
    if active(s) {
        flush(s);
    }
    crate::persist::empty_data(s);
    let res = read_manifest(s).and_then(|()| {
        delete_history(s);
        load_files(s, key)
    });
    match res {
        Ok(Loaded::Ok | Loaded::Empty) => {
            s.persist.dirty = 0;
            log_notice!("Append Only File loaded by DEBUG LOADAOF");
            Reply::Ok
        }
        Ok(_) => {
            commands::errors::err("ERR Error trying to load the AOF files, check server logs.")
        }
        Err(e) => {
            log_warning!("{e}");
            commands::errors::err("ERR Error trying to load the AOF files, check server logs.")
        }
    }
}

// ---------------------------------------------------------------------------------------------
// INFO

/// INFO persistence's `aof_*` fields, in Valkey's order.
pub fn info_fields(s: &Server, f: &mut dyn FnMut(&str, String)) {
    let a = &s.persist.aof;
    let now = now_ms();
    f(
        "aof_enabled",
        ((a.status != AofStatus::Off) as u8).to_string(),
    );
    f(
        "aof_rewrite_in_progress",
        (a.rewrite.is_some() as u8).to_string(),
    );
    f(
        "aof_rewrite_scheduled",
        (a.rewrite_scheduled as u8).to_string(),
    );
    f(
        "aof_last_rewrite_time_sec",
        a.last_rewrite_time_sec.to_string(),
    );
    f(
        "aof_current_rewrite_time_sec",
        a.rewrite
            .as_ref()
            .map_or(-1, |r| (now - r.started_ms) / 1000)
            .to_string(),
    );
    f(
        "aof_last_bgrewrite_status",
        if a.last_rewrite_ok { "ok" } else { "err" }.into(),
    );
    f("aof_rewrites", a.rewrites.to_string());
    f(
        "aof_rewrites_consecutive_failures",
        a.rewrites_consecutive_failures.to_string(),
    );
    f(
        "aof_last_write_status",
        if write_denied(s).is_some() {
            "err"
        } else {
            "ok"
        }
        .into(),
    );
    f("aof_last_cow_size", s.persist.aof_last_cow_size.to_string());
    f("module_fork_in_progress", "0".into());
    f("module_fork_last_cow_size", "0".into());
    if s.cfg.appendonly {
        f("aof_current_size", a.current_size.to_string());
        f("aof_base_size", a.base_size.to_string());
        f(
            "aof_pending_rewrite",
            (a.rewrite_scheduled as u8).to_string(),
        );
        f("aof_buffer_length", a.buf.len().to_string());
        let pending = a
            .fsyncer
            .as_ref()
            .is_some_and(|f| f.busy.load(Ordering::Relaxed));
        f("aof_pending_bio_fsync", (pending as u8).to_string());
        f("aof_delayed_fsync", "0".into());
    }
}

/// Bytes of the AOF buffer (INFO memory `mem_aof_buffer`).
pub fn buffer_memory(s: &Server) -> usize {
    if active(s) {
        s.persist.aof.buf.capacity()
    } else {
        0
    }
}

/// At shutdown: what is buffered reaches the disk.
pub fn on_shutdown(s: &mut Server) {
    if s.persist.aof.rewrite.is_some() {
        log_warning!("There is a child rewriting the AOF. Killing it!");
        kill_rewrite(s);
    }
    if active(s) {
        log_notice!("Calling fsync() on the AOF file.");
        flush(s);
        if let Some(f) = &s.persist.aof.file {
            let _ = f.sync_data();
        }
    }
}
