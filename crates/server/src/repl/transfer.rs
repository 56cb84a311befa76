//! Full-sync transfers: a background thread writes a snapshot straight into replica sockets.
//!
//! The event loop hands the thread a duplicate of each replica's socket descriptor and does not
//! write to those sockets until the thread reports back; the thread owns the write side for the
//! whole transfer (the `+FULLRESYNC` line, keepalive newlines, the payload). So the command
//! executor never copies snapshot bytes, and a slow replica only slows its own transfer thread.
//! Writes wait for writability with poll(2) and give up after `repl-timeout` without progress.

use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use keyspace::Snapshot;
use persistence::{SaveInfo, SaveOptions};

use crate::net::tls::{self, FdWriter, Session};

/// One replica socket owned by a transfer.
pub struct Target {
    pub client_id: u64,
    fd: OwnedFd,
    /// The replica's TLS session when it connected over TLS: the payload is encrypted
    /// through it (the event loop does not write to this connection until the transfer ends).
    tls: Option<Session>,
    /// Bytes to write before the payload (pending output, `+FULLRESYNC ...`).
    pub prefix: Vec<u8>,
    pub failed: Option<String>,
}

impl Target {
    /// Duplicates `fd` so the thread can write while the event loop keeps its registration.
    pub fn new(
        client_id: u64,
        fd: i32,
        tls: Option<Session>,
        prefix: Vec<u8>,
    ) -> io::Result<Target> {
        // SAFETY: dup of a descriptor the event loop owns and keeps open.
        let dup = unsafe { libc::dup(fd) };
        if dup < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `dup` is a new descriptor that we now own.
        Ok(Target {
            client_id,
            fd: unsafe { OwnedFd::from_raw_fd(dup) },
            tls,
            prefix,
            failed: None,
        })
    }

    /// Writes all of `data`, waiting for writability; fails after `timeout` without progress.
    fn write_all(&mut self, data: &[u8], timeout: Duration) -> io::Result<()> {
        match self.tls.clone() {
            Some(session) => self.write_all_tls(&session, data, timeout),
            None => self.write_all_plain(data, timeout),
        }
    }

    fn write_all_plain(&mut self, mut data: &[u8], timeout: Duration) -> io::Result<()> {
        let mut last_progress = Instant::now();
        let mut w = FdWriter(self.fd.as_raw_fd());
        while !data.is_empty() {
            match w.write(data) {
                Ok(n) if n > 0 => {
                    data = &data[n..];
                    last_progress = Instant::now();
                }
                Ok(_) => return Err(io::ErrorKind::WriteZero.into()),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.wait_writable(last_progress, timeout)?
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Encrypts `data` through the session (as much as it buffers at a time) and writes the
    /// records; returns once all of them are on the socket.
    fn write_all_tls(
        &mut self,
        session: &Session,
        mut data: &[u8],
        timeout: Duration,
    ) -> io::Result<()> {
        let mut last_progress = Instant::now();
        let mut w = FdWriter(self.fd.as_raw_fd());
        loop {
            let (took, pending) = {
                let mut s = tls::lock(session);
                let took = if data.is_empty() {
                    0
                } else {
                    s.writer().write(data)?
                };
                tls::flush_into(&mut s, &mut w)?;
                (took, s.wants_write())
            };
            data = &data[took..];
            if took > 0 {
                last_progress = Instant::now();
            }
            if data.is_empty() && !pending {
                return Ok(());
            }
            if pending {
                self.wait_writable(last_progress, timeout)?;
            }
        }
    }

    /// Waits (at most 100 ms) for the socket to take more, or fails once `timeout` passed
    /// since the last progress.
    fn wait_writable(&self, last_progress: Instant, timeout: Duration) -> io::Result<()> {
        if last_progress.elapsed() > timeout {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "replica stopped reading",
            ));
        }
        let mut pfd = libc::pollfd {
            fd: self.fd.as_raw_fd(),
            events: libc::POLLOUT,
            revents: 0,
        };
        // SAFETY: poll on one valid pollfd.
        unsafe { libc::poll(&mut pfd, 1, 100) };
        Ok(())
    }
}

/// Writes every chunk to every live target; a target that fails is dropped from the set.
struct FanOut {
    targets: Vec<Target>,
    timeout: Duration,
    written: Arc<AtomicU64>,
}

impl FanOut {
    fn live(&self) -> usize {
        self.targets.iter().filter(|t| t.failed.is_none()).count()
    }

    fn send(&mut self, data: &[u8]) -> io::Result<()> {
        for t in self.targets.iter_mut().filter(|t| t.failed.is_none()) {
            if let Err(e) = t.write_all(data, self.timeout) {
                t.failed = Some(e.to_string());
            }
        }
        self.written.fetch_add(data.len() as u64, Ordering::Relaxed);
        if self.live() == 0 {
            return Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "all replicas dropped",
            ));
        }
        Ok(())
    }
}

impl Write for FanOut {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.send(buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// How the payload is delivered.
pub enum Form {
    /// `$EOF:<mark>` + RDB + mark, produced straight from the snapshot (diskless).
    Eof { mark: String },
    /// Written to `path` first, then sent as `$<len>` + file bytes.
    Disk { path: PathBuf },
}

/// Everything a transfer thread needs.
pub struct Job {
    pub id: u64,
    pub snapshot: Snapshot,
    pub info: SaveInfo,
    pub opts: SaveOptions,
    pub form: Form,
    pub targets: Vec<Target>,
    pub timeout: Duration,
    pub cancel: Arc<AtomicBool>,
    pub written: Arc<AtomicU64>,
    /// Keys serialised so far.
    pub keys: Arc<AtomicU64>,
    /// Set when the thread has finished (before it reports).
    pub finished: Arc<AtomicBool>,
}

/// What the thread reports.
pub struct JobDone {
    pub id: u64,
    /// (client id, error if its transfer failed).
    pub results: Vec<(u64, Option<String>)>,
    pub error: Option<String>,
}

/// Runs a transfer on its own thread; reports through `tx`.
pub fn spawn(job: Job, tx: crate::bg::BgSender<super::ReplBgEvent>) -> io::Result<()> {
    std::thread::Builder::new()
        .name(format!("repl-sync-{}", job.id))
        .spawn(move || {
            let finished = job.finished.clone();
            let done = run(job);
            finished.store(true, Ordering::Release);
            tx.send(super::ReplBgEvent::TransferDone(done));
        })?;
    Ok(())
}

fn run(job: Job) -> JobDone {
    let Job {
        id,
        snapshot,
        info,
        opts,
        form,
        targets,
        timeout,
        cancel,
        written,
        keys,
        finished: _,
    } = job;
    let mut out = FanOut {
        targets: Vec::new(),
        timeout,
        written,
    };
    for mut t in targets {
        let prefix = std::mem::take(&mut t.prefix);
        if let Err(e) = t.write_all(&prefix, timeout) {
            t.failed = Some(e.to_string());
        }
        out.targets.push(t);
    }
    let keys = &*keys;
    let result = match form {
        Form::Eof { mark } => send_eof(&mut out, snapshot, &info, &opts, &cancel, keys, &mark),
        Form::Disk { path } => send_disk(&mut out, snapshot, &info, &opts, &cancel, keys, &path),
    };
    let results = out
        .targets
        .into_iter()
        .map(|t| {
            (
                t.client_id,
                t.failed
                    .or_else(|| result.as_ref().err().map(|e| e.to_string())),
            )
        })
        .collect();
    JobDone {
        id,
        results,
        error: result.err().map(|e| e.to_string()),
    }
}

fn send_eof(
    out: &mut FanOut,
    snap: Snapshot,
    info: &SaveInfo,
    opts: &SaveOptions,
    cancel: &AtomicBool,
    keys: &AtomicU64,
    mark: &str,
) -> io::Result<()> {
    out.send(format!("$EOF:{mark}\r\n").as_bytes())?;
    let sink = io::BufWriter::with_capacity(256 * 1024, out);
    let (sink, _) = persistence::write_snapshot(snap, info, opts, sink, cancel, keys)?;
    let out = sink.into_inner().map_err(|e| e.into_error())?;
    out.send(mark.as_bytes())
}

/// Disk form: write the RDB file (newlines keep replicas alive meanwhile), then send it. The
/// file sent is the one this job wrote, read through a handle opened before it is renamed
/// over `path`: another disk job (or a BGSAVE) may rename its own file there meanwhile.
fn send_disk(
    out: &mut FanOut,
    snap: Snapshot,
    info: &SaveInfo,
    opts: &SaveOptions,
    cancel: &AtomicBool,
    keys: &AtomicU64,
    path: &Path,
) -> io::Result<()> {
    let done = AtomicBool::new(false);
    let written = std::thread::scope(|scope| {
        let writer = scope.spawn(|| {
            let r = write_own_file(snap, info, opts, cancel, keys, path);
            done.store(true, Ordering::Release);
            r
        });
        let mut last = Instant::now();
        while !done.load(Ordering::Acquire) {
            std::thread::sleep(Duration::from_millis(20));
            if last.elapsed() >= Duration::from_secs(1) {
                last = Instant::now();
                if out.send(b"\n").is_err() {
                    cancel.store(true, Ordering::Relaxed);
                }
            }
        }
        writer
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("snapshot writer panicked")))
    });
    let mut file = written?;
    let len = file.metadata()?.len();
    out.send(format!("${len}\r\n").as_bytes())?;
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        out.send(&buf[..n])?;
    }
}

/// Writes the snapshot to a temp file, opens it for reading, then renames it over `path`
/// (crash-safe, as every save); returns the read handle, positioned at the start.
fn write_own_file(
    snap: Snapshot,
    info: &SaveInfo,
    opts: &SaveOptions,
    cancel: &AtomicBool,
    keys: &AtomicU64,
    path: &Path,
) -> io::Result<std::fs::File> {
    let tmp = persistence::file::temp_path(path);
    let result = (|| {
        let file = std::fs::File::create(&tmp)?;
        let sink = io::BufWriter::with_capacity(1 << 20, file);
        let (sink, _) = persistence::write_snapshot(snap, info, opts, sink, cancel, keys)?;
        persistence::file::flush_sync(sink)?;
        let reader = std::fs::File::open(&tmp)?;
        std::fs::rename(&tmp, path)?;
        persistence::file::sync_dir(path)?;
        Ok(reader)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// A partial resync that starts further back than memory holds: the `+CONTINUE` line (and
/// what the connection still had to write), then the stream `from`..`to` (exclusive) read
/// from the disk backlog's files; the event loop streams from `to` afterwards.
pub struct DiskCatchup {
    pub target: Target,
    /// The stream generation the range belongs to ([`replication::History::epoch`]).
    pub epoch: u64,
    pub from: i64,
    pub to: i64,
    pub shared: Arc<super::disk_backlog::Shared>,
    pub timeout: Duration,
}

/// Runs a disk catch-up on its own thread; reports through `tx`.
pub fn spawn_disk_catchup(
    job: DiskCatchup,
    tx: crate::bg::BgSender<super::ReplBgEvent>,
) -> io::Result<()> {
    let client_id = job.target.client_id;
    std::thread::Builder::new()
        .name(format!("repl-catchup-{client_id}"))
        .spawn(move || {
            let result = run_disk_catchup(job);
            tx.send(super::ReplBgEvent::DiskCatchupDone { client_id, result });
        })?;
    Ok(())
}

fn run_disk_catchup(job: DiskCatchup) -> Result<(), String> {
    let DiskCatchup {
        mut target,
        epoch,
        from,
        to,
        shared,
        timeout,
    } = job;
    let prefix = std::mem::take(&mut target.prefix);
    target
        .write_all(&prefix, timeout)
        .map_err(|e| e.to_string())?;
    let segments = shared.wait_written(epoch, to, timeout)?;
    // Every file needed is opened before reading: one the writer deletes meanwhile (the
    // oldest history going) stays readable once open.
    let mut files = Vec::new();
    for seg in segments
        .iter()
        .filter(|s| s.start + s.len as i64 > from && s.start < to)
    {
        let f =
            std::fs::File::open(&seg.path).map_err(|e| format!("{}: {e}", seg.path.display()))?;
        files.push((seg.clone(), f));
    }
    if files.first().is_none_or(|(s, _)| s.start > from) {
        return Err(format!("offset {from} is no longer in the disk backlog"));
    }
    let mut pos = from;
    let mut buf = vec![0u8; 256 * 1024];
    for (seg, mut f) in files {
        let seg_end = (seg.start + seg.len as i64).min(to);
        if pos >= seg_end {
            continue;
        }
        use std::io::Seek;
        f.seek(io::SeekFrom::Start((pos - seg.start) as u64))
            .map_err(|e| e.to_string())?;
        while pos < seg_end {
            let want = ((seg_end - pos) as usize).min(buf.len());
            f.read_exact(&mut buf[..want]).map_err(|e| e.to_string())?;
            target
                .write_all(&buf[..want], timeout)
                .map_err(|e| e.to_string())?;
            pos += want as i64;
        }
    }
    if pos != to {
        return Err(format!("the disk backlog ends at {pos}, before {to}"));
    }
    Ok(())
}
