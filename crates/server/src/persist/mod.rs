//! Persistence in the server: loading at start-up (in the background, clients get -LOADING),
//! SAVE, BGSAVE, save points, shutdown saves, DEBUG RELOAD, DUMP/RESTORE, INFO persistence.
//!
//! A background save takes a copy-on-write snapshot of the keyspace on the event-loop thread
//! (O(segments), no fork) and hands it to a thread that writes the RDB file crash-safely.

pub mod aof;
pub mod state;

use std::io::BufReader;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use commands::errors::{self, err};
use persistence::{file, LoadOptions, Loaded, SaveInfo, SaveOptions};
use resp::Reply;

use crate::bg::BgSender;
use crate::server::Server;
use crate::util::now_ms;
use crate::{log_notice, log_warning};
pub use state::{BgSave, LoadState, Persist, PersistEvent, SaveOutcome, ShutdownRequest};

pub fn rdb_path(s: &Server) -> PathBuf {
    PathBuf::from(&s.cfg.dir).join(s.cfg.dbfilename.as_str())
}

fn save_options(s: &Server) -> SaveOptions {
    SaveOptions {
        compression: s.cfg.rdbcompression,
        checksum: s.cfg.rdbchecksum,
        key_save_delay_us: s.cfg.rdb_key_save_delay_us,
    }
}

/// Aux fields for a save taken now (with replication info when it applies), and the FUNCTION
/// libraries every RDB carries (files, full syncs, DEBUG RELOAD).
pub fn save_info(s: &Server) -> SaveInfo {
    SaveInfo {
        redis_ver: crate::REDIS_VERSION.into(),
        ctime: now_ms() / 1000,
        used_mem: crate::exec::evict::used_memory(),
        repl: s.repl.rdb_info(),
        functions: s.exec.scripting.library_codes(),
    }
}

pub fn limits(s: &Server) -> persistence::Limits {
    persistence::Limits {
        hash: s.exec.settings.hash,
        set: s.exec.settings.set,
        zset: s.exec.settings.zset,
        list: s.exec.settings.list,
        stream: s.exec.settings.stream,
    }
}

/// Empties every database and the function libraries (DEBUG LOADAOF before it loads).
pub fn empty_data(s: &mut Server) {
    for db in 0..s.exec.ks.db_count() {
        s.exec.watches.touch_db(&mut s.net, &s.exec.ks, db);
    }
    let old = s.exec.ks.flush_all();
    let n: u64 = old.iter().map(|d| d.len() as u64).sum();
    keyspace::lazyfree::free_in_background(old, n.max(1));
    let _ = s.exec.scripting.install_from_rdb(&[], false, false);
}

/// Why writes must be refused for a disk error, as the `-MISCONF` reply says it: the last
/// background save failed (`stop-writes-on-bgsave-error`), or the AOF cannot be written.
pub fn write_denial(s: &Server) -> Option<String> {
    if writes_denied(s) {
        return Some("MISCONF Redwing is configured to save RDB snapshots, but it's currently unable to persist to disk. Commands that may modify the data set are disabled, because this instance is configured to report errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redwing logs for details about the RDB error.".into());
    }
    aof::write_denied(s).map(|e| format!("MISCONF Errors writing to the AOF file: {e}"))
}

/// True if writes must be refused because the last background save failed
/// (`stop-writes-on-bgsave-error`).
pub fn writes_denied(s: &Server) -> bool {
    s.cfg.stop_writes_on_bgsave_error
        && s.persist.last_bgsave_status_set
        && !s.persist.last_bgsave_ok
        && !s.cfg.save.0.is_empty()
}

pub fn has_save_points(s: &Server) -> bool {
    !s.cfg.save.0.is_empty()
}

/// SAVE: a synchronous save on the event-loop thread (as Redis; clients wait).
pub fn save_sync(s: &mut Server) -> Result<(), String> {
    let snap = s.exec.ks.snapshot();
    let info = save_info(s);
    let opts = save_options(s);
    let path = rdb_path(s);
    let dirty_before = s.persist.dirty;
    let never = AtomicBool::new(false);
    let keys = AtomicU64::new(0);
    let res = file::atomic_write(&path, |w| {
        persistence::write_snapshot(snap, &info, &opts, w, &never, &keys).map(|(w, _)| w)
    });
    match res {
        Ok(_) => {
            log_notice!("DB saved on disk");
            s.persist.dirty -= dirty_before.min(s.persist.dirty);
            s.persist.last_save_unix = now_ms() / 1000;
            s.persist.last_bgsave_status_set = true;
            s.persist.last_bgsave_ok = true;
            s.persist.rdb_saves += 1;
            Ok(())
        }
        Err(e) => {
            log_warning!("Failed saving the DB: {e}");
            s.persist.last_bgsave_status_set = true;
            s.persist.last_bgsave_ok = false;
            Err(e.to_string())
        }
    }
}

/// Starts a background save to disk.
pub fn start_bgsave(s: &mut Server) {
    let cow_base = types::cow::total();
    let snap = s.exec.ks.snapshot();
    let keys_total = snap.dbs.iter().map(|d| d.len() as u64).sum();
    let info = save_info(s);
    let opts = save_options(s);
    let path = rdb_path(s);
    let cancel = Arc::new(AtomicBool::new(false));
    let keys_done = Arc::new(AtomicU64::new(0));
    s.persist.dirty_at_save_start = s.persist.dirty;
    s.persist.last_bgsave_try_ms = now_ms();
    s.persist.bgsave = Some(BgSave {
        started_ms: now_ms(),
        cow_base,
        cancel: cancel.clone(),
        keys_done: keys_done.clone(),
        keys_total,
    });
    let tx: BgSender<PersistEvent> = s.persist.events.sender();
    log_notice!("Background saving started by pid {}", std::process::id());
    let spawned = std::thread::Builder::new()
        .name("bgsave".into())
        .spawn(move || {
            let res = file::atomic_write(&path, |w| {
                persistence::write_snapshot(snap, &info, &opts, w, &cancel, &keys_done)
                    .map(|(w, _)| w)
            });
            let outcome = match res {
                Ok(_) => {
                    crate::log::write_child(crate::log::Level::Notice, "DB saved on disk");
                    SaveOutcome {
                        ok: true,
                        error: None,
                    }
                }
                Err(e) => SaveOutcome {
                    ok: false,
                    error: Some(e.to_string()),
                },
            };
            tx.send(PersistEvent::SaveDone(outcome));
        });
    if let Err(e) = spawned {
        log_warning!("Can't save in background: {e}");
        s.persist.bgsave = None;
        s.persist.last_bgsave_status_set = true;
        s.persist.last_bgsave_ok = false;
    }
}

pub fn on_save_done(s: &mut Server, outcome: SaveOutcome) {
    let Some(b) = s.persist.bgsave.take() else {
        return;
    };
    let cancelled = b.cancel.load(Ordering::Relaxed);
    s.persist.last_bgsave_time_sec = (now_ms() - b.started_ms) / 1000;
    s.persist.rdb_last_cow_size = types::cow::total() - b.cow_base;
    if cancelled {
        log_warning!("Background saving terminated by cancellation");
        return;
    }
    s.persist.last_bgsave_status_set = true;
    s.persist.last_bgsave_ok = outcome.ok;
    if outcome.ok {
        s.persist.dirty = s
            .persist
            .dirty
            .saturating_sub(s.persist.dirty_at_save_start);
        s.persist.last_save_unix = now_ms() / 1000;
        s.persist.rdb_saves += 1;
        log_notice!("Background saving terminated with success");
    } else {
        log_warning!(
            "Background saving error: {}",
            outcome.error.unwrap_or_default()
        );
    }
    if s.persist.bgsave_scheduled {
        s.persist.bgsave_scheduled = false;
        start_bgsave(s);
    }
}

/// A rewrite or a disk save already runs, where Valkey would have a child process.
fn other_job_running(s: &Server) -> bool {
    s.persist.aof.rewrite.is_some()
}

/// Cancels a running disk save (FLUSHALL, shutdown).
pub fn kill_bgsave(s: &mut Server) {
    if let Some(b) = &s.persist.bgsave {
        b.cancel.store(true, Ordering::Relaxed);
        log_notice!("Background saving cancelled");
    }
}

/// Save points (`save <seconds> <changes>`), checked by the cron.
pub fn cron(s: &mut Server, now: i64) {
    s.persist.cow_peak = match cow_current(s) {
        0 if !snapshot_running(s) => 0,
        c => s.persist.cow_peak.max(c),
    };
    if s.persist.bgsave.is_some() || s.exec.loading {
        return;
    }
    if s.persist.bgsave_scheduled {
        s.persist.bgsave_scheduled = false;
        start_bgsave(s);
        return;
    }
    let since = now / 1000 - s.persist.last_save_unix;
    let retry_ok = s.persist.last_bgsave_ok
        || !s.persist.last_bgsave_status_set
        || now - s.persist.last_bgsave_try_ms > 5000;
    let due =
        s.cfg.save.0.iter().copied().find(|&(secs, changes)| {
            s.persist.dirty >= changes && since >= secs as i64 && retry_ok
        });
    if let Some((secs, changes)) = due {
        log_notice!("{} changes in {} seconds. Saving...", changes, secs);
        start_bgsave(s);
    }
}

/// SAVE / BGSAVE [SCHEDULE] / DUMP / RESTORE.
pub fn command(s: &mut Server, key: usize, cmd: commands::ServerCmd, argv: &[Bytes]) -> Reply {
    use commands::ServerCmd::*;
    match cmd {
        Save => {
            if s.persist.bgsave.is_some() {
                return err("ERR Background save already in progress");
            }
            match save_sync(s) {
                Ok(()) => Reply::Ok,
                Err(_) => err("ERR"),
            }
        }
        Bgsave => {
            let schedule = argv.len() == 2 && argv[1].eq_ignore_ascii_case(b"schedule");
            if argv.len() > 2 || (argv.len() == 2 && !schedule) {
                return err(errors::SYNTAX);
            }
            if s.persist.bgsave.is_some() {
                if schedule {
                    s.persist.bgsave_scheduled = true;
                    return Reply::status("Background saving scheduled");
                }
                return err("ERR Background save already in progress");
            }
            if other_job_running(s) {
                if schedule {
                    s.persist.bgsave_scheduled = true;
                    return Reply::status("Background saving scheduled");
                }
                return err("ERR Another child process is active (AOF?): can't BGSAVE right now. Use BGSAVE SCHEDULE in order to schedule a BGSAVE whenever possible.");
            }
            start_bgsave(s);
            Reply::status("Background saving started")
        }
        Dump => dump(s, key, argv),
        Restore => restore(s, key, argv),
        _ => errors::unknown_command(argv),
    }
}

fn dump(s: &mut Server, key: usize, argv: &[Bytes]) -> Reply {
    let db = s.net.clients.get(key).map_or(0, |c| c.db);
    let Some(obj) = s.exec.ks.read(db, &argv[1]) else {
        return Reply::Nil;
    };
    match persistence::dump::dump(obj) {
        Ok(p) => Reply::Bulk(Bytes::from(p)),
        Err(e) => Reply::error(format!("ERR {e}")),
    }
}

/// RESTORE key ttl payload [REPLACE] [ABSTTL] [IDLETIME s] [FREQ f]
fn restore(s: &mut Server, key: usize, argv: &[Bytes]) -> Reply {
    let (mut replace, mut absttl) = (false, false);
    let (mut idle_secs, mut freq) = (None, None);
    let mut j = 4;
    while j < argv.len() {
        let opt = String::from_utf8_lossy(&argv[j]).to_ascii_lowercase();
        match opt.as_str() {
            "replace" => replace = true,
            "absttl" => absttl = true,
            "idletime" if j + 1 < argv.len() => {
                match commands::args::int(&argv[j + 1]) {
                    Ok(v) if v >= 0 => idle_secs = Some(v),
                    Ok(_) => return err("ERR Invalid IDLETIME value, must be >= 0"),
                    Err(e) => return e,
                }
                j += 1;
            }
            "freq" if j + 1 < argv.len() => {
                match commands::args::int(&argv[j + 1]) {
                    Ok(v) if (0..=255).contains(&v) => freq = Some(v as u8),
                    Ok(_) => return err("ERR Invalid FREQ value, must be >= 0 and <= 255"),
                    Err(e) => return e,
                }
                j += 1;
            }
            _ => return err(errors::SYNTAX),
        }
        j += 1;
    }
    let ttl = match commands::args::int(&argv[2]) {
        Ok(v) if v >= 0 => v,
        Ok(_) => return err("ERR Invalid TTL value, must be >= 0"),
        Err(e) => return e,
    };
    let db = s.net.clients.get(key).map_or(0, |c| c.db);
    if !replace && s.exec.ks.get(db, &argv[1]).is_some() {
        return err(errors::BUSYKEY);
    }
    let now = s.exec.ks.now_ms;
    let expire = match (ttl, absttl) {
        (0, _) => None,
        (t, true) => Some(t),
        (t, false) => Some(now.saturating_add(t)),
    };
    // As Valkey, a payload's checksum is checked unless DEBUG SET-SKIP-CHECKSUM-VALIDATION.
    let verify = !s.persist.skip_checksum_validation;
    let obj = match persistence::dump::restore(&argv[1], &argv[3], expire, verify, &limits(s)) {
        Ok(Some(o)) => o,
        Ok(None) => return err("ERR Bad data format"),
        Err(persistence::PersistError::BadDumpFooter) => {
            return err("ERR DUMP payload version or checksum are wrong")
        }
        Err(_) => return err("ERR Bad data format"),
    };
    if expire.is_some_and(|e| s.exec.ks.already_expired(e)) {
        if s.exec.ks.remove(db, &argv[1]).is_some() {
            s.exec.call_dirty += 1;
            let del: &'static [u8] = if s.cfg.lazyfree_lazy_server_del {
                b"UNLINK"
            } else {
                b"DEL"
            };
            s.exec.call_rewrite = Some(vec![vec![Bytes::from_static(del), argv[1].clone()]]);
            s.exec.events.push(commands::notify::KeyEvent {
                class: commands::notify::GENERIC,
                event: "del",
                key: argv[1].clone(),
                db,
            });
        }
        return Reply::Ok;
    }
    let existed = s.exec.ks.put(db, obj).is_some();
    let event = |class, event| commands::notify::KeyEvent {
        class,
        event,
        key: argv[1].clone(),
        db,
    };
    if !existed {
        s.exec.events.push(event(commands::notify::NEW, "new"));
    }
    s.exec
        .events
        .push(event(commands::notify::GENERIC, "restore"));
    if let Some(o) = s.exec.ks.db(db).get(&argv[1]) {
        s.exec.ks.lru.set_idle_or_freq(o, idle_secs, freq);
    }
    s.exec.call_dirty += 1;
    if let (Some(e), false) = (expire, absttl) {
        let mut rewritten = argv.to_vec();
        rewritten[2] = Bytes::from(e.to_string());
        rewritten.push(Bytes::from_static(b"ABSTTL"));
        s.exec.call_rewrite = Some(vec![rewritten]);
    }
    Reply::Ok
}

/// FLUSHALL cancels a running disk save and, with save points, saves the empty dataset.
/// Returns true when it saved (Valkey's `flushAllDataAndResetRDB`: with save points, the
/// emptied dataset is saved at once, which leaves no change unsaved).
pub fn after_flushall(s: &mut Server) -> bool {
    kill_bgsave(s);
    if has_save_points(s) {
        let dirty = s.persist.dirty;
        if save_sync(s).is_ok() {
            s.persist.dirty = 0;
            return true;
        }
        s.persist.dirty = dirty;
    }
    false
}

/// The saving part of a shutdown ([`crate::shutdown`] decides when): on success the event
/// loop exits.
pub fn finish_shutdown(s: &mut Server, req: ShutdownRequest) {
    kill_bgsave(s);
    if s.persist.aof.status == state::AofStatus::WaitRewrite && s.persist.aof.rewrite.is_some() {
        if !req.force {
            log_warning!("Writing initial AOF, can't exit.");
            log_warning!(
                "Errors trying to shut down the server. Check the logs for more information."
            );
            return;
        }
        log_warning!("Writing initial AOF. Exit anyway.");
    }
    aof::on_shutdown(s);
    let save = (req.save || has_save_points(s)) && !req.nosave;
    if save {
        log_notice!("Saving the final RDB snapshot before exiting.");
        if let Err(e) = save_sync(s) {
            if !req.force {
                log_warning!("Error trying to save the DB, can't exit. ({e})");
                log_warning!(
                    "Errors trying to shut down the server. Check the logs for more information."
                );
                return;
            }
        }
    }
    let pidfile = s.cfg.pidfile.as_str().to_string();
    if !pidfile.is_empty() {
        let _ = std::fs::remove_file(&pidfile);
    }
    let sock = s.cfg.unixsocket.as_str().to_string();
    if !sock.is_empty() {
        let _ = std::fs::remove_file(&sock);
    }
    log_warning!("Redwing is now ready to exit, bye bye...");
    s.life.exit_code = Some(0);
}

/// Starts loading `dir/dbfilename` in the background if it exists; with `appendonly yes`,
/// loads the AOF instead (synchronously, before the event loop starts).
pub fn load_at_startup(s: &mut Server) -> Result<(), String> {
    s.persist.last_save_unix = now_ms() / 1000;
    if s.cfg.appendonly {
        return aof::load_at_startup(s);
    }
    let path = rdb_path(s);
    let file = match std::fs::File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(format!("Fatal error loading the DB: {e}. Exiting.")),
    };
    let total = file.metadata().map(|m| m.len()).unwrap_or(0);
    let read = Arc::new(AtomicU64::new(0));
    s.exec.loading = true;
    s.persist.loading = Some(LoadState {
        started_ms: now_ms(),
        total_bytes: total,
        read: read.clone(),
    });
    let opts = LoadOptions {
        verify_checksum: s.cfg.rdbchecksum && !s.persist.skip_checksum_validation,
        databases: s.exec.ks.db_count(),
        limits: limits(s),
        drop_expired_at_ms: if s.cfg.replicaof.0.is_none() {
            Some(now_ms())
        } else {
            None
        },
        key_load_delay_us: s.cfg.key_load_delay_us,
        // A primary restarting with its history propagates the deletion of the keys that
        // expired while it was down, so its replicas can continue it (Valkey's
        // RDBFLAGS_FEED_REPL).
        report_expired: s.cfg.replicaof.0.is_none(),
    };
    let tx = s.persist.events.sender();
    std::thread::Builder::new()
        .name("rdb-load".into())
        .spawn(move || {
            let res = persistence::load(BufReader::with_capacity(1 << 20, file), &opts, &read)
                .map_err(|e| e.to_string());
            tx.send(PersistEvent::LoadDone(Box::new(res)));
        })
        .map_err(|e| e.to_string())?;
    Ok(())
}

/// What a finished start-up load leaves for replication: the history the file recorded, and
/// the keys dropped because they had expired (a restarted primary propagates their deletion).
pub struct LoadedHistory {
    pub repl: Option<persistence::ReplInfo>,
    pub expired: Vec<(usize, Vec<u8>)>,
}

/// The start-up load finished: swap the data in (returning what replication must learn from
/// it), or stop on a bad file.
pub fn on_load_done(s: &mut Server, res: Result<Loaded, String>) -> Option<LoadedHistory> {
    let started = s.persist.loading.take().map_or(now_ms(), |l| l.started_ms);
    s.exec.loading = false;
    match res {
        Ok(loaded) => {
            log_notice!(
                "Done loading RDB, keys loaded: {}, keys expired: {}.",
                loaded.keys_loaded,
                loaded.keys_expired
            );
            log_notice!(
                "DB loaded from disk: {:.3} seconds",
                (now_ms() - started) as f64 / 1000.0
            );
            if let Err(e) = s
                .exec
                .scripting
                .install_from_rdb(&loaded.functions, false, false)
            {
                log_warning!("Fatal error loading the DB: {e}. Exiting.");
                s.life.exit_code = Some(1);
                return None;
            }
            s.persist.last_load_keys_loaded = loaded.keys_loaded;
            s.persist.last_load_keys_expired = loaded.keys_expired;
            let old = s.exec.ks.replace_all(loaded.dbs);
            drop(old);
            Some(LoadedHistory {
                repl: loaded.repl,
                expired: loaded.expired,
            })
        }
        Err(e) => {
            log_warning!("Fatal error loading the DB: {e}. Exiting.");
            s.life.exit_code = Some(1);
            None
        }
    }
}

/// DEBUG RELOAD's options.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reload {
    /// Save the RDB first (not with NOSAVE).
    pub save: bool,
    /// Empty the data set before loading (not with NOFLUSH).
    pub flush: bool,
    /// A loaded key or library replaces the current one (MERGE); otherwise a duplicate fails
    /// the reload.
    pub merge: bool,
}

/// DEBUG RELOAD [MERGE] [NOFLUSH] [NOSAVE]: save, then load the file back synchronously.
/// Nothing changes unless the whole file (keys and libraries) loads.
pub fn debug_reload(s: &mut Server, opts: Reload) -> Reply {
    if opts.save {
        if let Err(e) = save_sync(s) {
            return Reply::error(format!("ERR Error trying to save the DB: {e}"));
        }
    }
    let failed = || Reply::error("ERR Error trying to load the RDB dump, check server logs.");
    let path = rdb_path(s);
    let file = match std::fs::File::open(&path) {
        Ok(f) => f,
        Err(e) => return Reply::error(format!("ERR Error trying to load the RDB dump: {e}")),
    };
    let load_opts = LoadOptions {
        verify_checksum: !s.persist.skip_checksum_validation,
        databases: s.exec.ks.db_count(),
        limits: limits(s),
        drop_expired_at_ms: None,
        key_load_delay_us: 0,
        report_expired: false,
    };
    let mut loaded = match persistence::load(
        BufReader::with_capacity(1 << 20, file),
        &load_opts,
        &AtomicU64::new(0),
    ) {
        Ok(l) => l,
        Err(e) => {
            log_warning!("Error trying to load the RDB dump: {e}");
            return failed();
        }
    };
    if !opts.flush && !opts.merge {
        let dup = loaded.dbs.iter().enumerate().find_map(|(db, d)| {
            d.iter()
                .find(|o| s.exec.ks.db(db).get(o.key()).is_some())
                .map(|o| String::from_utf8_lossy(o.key()).into_owned())
        });
        if let Some(key) = dup {
            log_warning!(
                "Error trying to load the RDB dump: duplicate key '{key}' found in the RDB file"
            );
            return failed();
        }
    }
    let keep = !opts.flush;
    if let Err(e) = s
        .exec
        .scripting
        .install_from_rdb(&loaded.functions, keep, opts.merge)
    {
        log_warning!("Error trying to load the RDB dump: {e}");
        return failed();
    }
    for db in 0..s.exec.ks.db_count() {
        s.exec.watches.touch_db(&mut s.net, &s.exec.ks, db);
    }
    if opts.flush {
        let old = s.exec.ks.replace_all(loaded.dbs);
        keyspace::lazyfree::free_in_background(old, 1);
    } else {
        for (db, d) in loaded.dbs.iter_mut().enumerate() {
            let keys: Vec<Vec<u8>> = d.iter().map(|o| o.key().to_vec()).collect();
            for k in keys {
                if let Some(obj) = d.take(&k) {
                    s.exec.ks.put(db, obj);
                }
            }
        }
    }
    log_notice!("DB reloaded by DEBUG RELOAD");
    Reply::Ok
}

/// Whether a snapshot is held: a BGSAVE, an AOF rewrite or a full sync's.
fn snapshot_running(s: &Server) -> bool {
    s.persist.bgsave.is_some() || s.persist.aof.rewrite.is_some() || !s.repl.jobs.is_empty()
}

/// Bytes copied since the oldest running snapshot was taken, because snapshots shared them
/// (Valkey's `current_cow_size`, the fork child's copied pages); 0 when none runs.
pub fn cow_current(s: &Server) -> u64 {
    let bases = s.persist.bgsave.iter().map(|b| b.cow_base);
    let bases = bases.chain(s.persist.aof.rewrite.iter().map(|r| r.cow_base));
    let bases = bases.chain(s.repl.jobs.values().map(|j| j.cow_base));
    bases
        .min()
        .map_or(0, |base| types::cow::total().saturating_sub(base))
}

/// INFO persistence fields.
pub fn info_fields(s: &Server, out: &mut String) {
    use std::fmt::Write;
    let p = &s.persist;
    let now = now_ms();
    let mut f = |k: &str, v: String| {
        let _ = write!(out, "{k}:{v}\r\n");
    };
    let (done, total) = p.bgsave.as_ref().map_or((0, 0), |b| {
        (b.keys_done.load(Ordering::Relaxed), b.keys_total)
    });
    f("loading", (s.exec.loading as u8).to_string());
    f("async_loading", (s.repl.async_loading() as u8).to_string());
    // Measured live, never a stale sample: the age is always 0.
    let cow = cow_current(s);
    f("current_cow_peak", p.cow_peak.max(cow).to_string());
    f("current_cow_size", cow.to_string());
    f("current_cow_size_age", "0".into());
    f(
        "current_fork_perc",
        if total > 0 {
            format!("{:.2}", done as f64 * 100.0 / total as f64)
        } else {
            "0.00".into()
        },
    );
    f("current_save_keys_processed", done.to_string());
    f("current_save_keys_total", total.to_string());
    f("rdb_changes_since_last_save", p.dirty.to_string());
    f(
        "rdb_bgsave_in_progress",
        // As Valkey: a snapshot for replicas (its forked child) counts as a save in progress.
        ((p.bgsave.is_some() || !s.repl.jobs.is_empty()) as u8).to_string(),
    );
    f("rdb_last_save_time", p.last_save_unix.to_string());
    f(
        "rdb_last_bgsave_status",
        if !p.last_bgsave_status_set || p.last_bgsave_ok {
            "ok"
        } else {
            "err"
        }
        .into(),
    );
    f(
        "rdb_last_bgsave_time_sec",
        if p.last_bgsave_status_set {
            p.last_bgsave_time_sec
        } else {
            -1
        }
        .to_string(),
    );
    f(
        "rdb_current_bgsave_time_sec",
        p.bgsave
            .as_ref()
            .map_or(-1, |b| (now - b.started_ms) / 1000)
            .to_string(),
    );
    f("rdb_saves", p.rdb_saves.to_string());
    f("rdb_last_cow_size", p.rdb_last_cow_size.to_string());
    f(
        "rdb_last_load_keys_expired",
        p.last_load_keys_expired.to_string(),
    );
    f(
        "rdb_last_load_keys_loaded",
        p.last_load_keys_loaded.to_string(),
    );
    aof::info_fields(s, &mut f);
    if let Some(l) = &p.loading {
        let read = l.read.load(Ordering::Relaxed);
        let elapsed = ((now - l.started_ms) / 1000).max(0);
        let perc = if l.total_bytes > 0 {
            read as f64 * 100.0 / l.total_bytes as f64
        } else {
            0.0
        };
        let eta = if read > 0 && elapsed > 0 {
            (l.total_bytes.saturating_sub(read) as f64 / (read as f64 / elapsed as f64)) as i64
        } else {
            1
        };
        f("loading_start_time", (l.started_ms / 1000).to_string());
        f("loading_total_bytes", l.total_bytes.to_string());
        f("loading_rdb_used_mem", "0".into());
        f("loading_loaded_bytes", read.to_string());
        f("loading_loaded_perc", format!("{perc:.2}"));
        f("loading_eta_seconds", eta.to_string());
    }
}

/// Serialized length of a value in an RDB (DEBUG OBJECT `serializedlength`).
pub fn serialized_length(o: &keyspace::Obj) -> usize {
    // A DUMP payload is the type byte, the value, then 2 bytes of version and 8 of CRC;
    // Valkey's rdbSavedObjectLen counts the value alone.
    persistence::dump::dump(o)
        .map(|p| p.len().saturating_sub(11))
        .unwrap_or(0)
}
