//! The disk backlog (`repl-backlog-disk-size`): the replication stream the memory backlog
//! releases, kept in segment files on a writer thread, so a replica away for longer than
//! `repl-backlog-size` covers resyncs partially. The memory backlog hands over every block it
//! releases ([`replication::ReplBuffer::take_evicted`]) and the executor passes them here each
//! loop pass; the files then hold the stream from their first byte up to where memory begins,
//! and [`replication::History::set_disk_window`] tells the PSYNC rule so. A catch-up thread
//! ([`super::transfer::spawn_disk_catchup`]) reads a range back into a replica's socket.
//!
//! The event loop never touches the files: a slow or failing disk costs the disk history,
//! never a write. The writer falls behind by at most [`MAX_QUEUED`] bytes before the disk
//! backlog starts over; a write error (a full disk) empties it and it starts over with the
//! next blocks. Files of another stream (the backlog replaced: a full sync, a restart) are
//! deleted first ([`replication::History::epoch`]).

use std::collections::VecDeque;
use std::fs::File;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bytes::Bytes;

/// Size of one segment file (the unit in which the oldest history is deleted).
const SEGMENT: u64 = 16 * 1024 * 1024;
/// Stream bytes handed to the writer and not yet written, before it is considered unable to
/// keep up (the disk backlog then starts over rather than grow in memory).
const MAX_QUEUED: u64 = 256 * 1024 * 1024;

/// One segment file: the stream from `start`, `len` bytes.
#[derive(Clone, Debug)]
pub struct Segment {
    pub start: i64,
    pub len: u64,
    pub path: PathBuf,
}

/// What the writer has on disk, shared with the event loop and catch-up threads.
#[derive(Debug, Default)]
pub struct OnDisk {
    /// Oldest first; contiguous.
    pub segments: VecDeque<Segment>,
    /// Generation of the stream the files hold.
    pub epoch: u64,
    /// Resets so far: in the file names, so that a file of before a reset is never mistaken
    /// for a later one that starts at the same offset.
    pub resets: u64,
    /// The last write error, until the next reset (logged once by the event loop).
    pub failed: Option<String>,
}

impl OnDisk {
    /// First byte on disk and first byte not (yet) written.
    pub fn range(&self) -> Option<(i64, i64)> {
        let first = self.segments.front()?;
        let last = self.segments.back()?;
        Some((first.start, last.start + last.len as i64))
    }
}

#[derive(Default)]
pub struct Shared {
    pub on_disk: Mutex<OnDisk>,
    /// Signalled after each write.
    pub written: Condvar,
    /// Bytes handed to the writer and not written yet.
    queued: AtomicU64,
    /// `repl-backlog-disk-size`.
    limit: AtomicU64,
}

impl Shared {
    pub fn lock(&self) -> MutexGuard<'_, OnDisk> {
        self.on_disk.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits until the stream of generation `epoch` up to `end` (exclusive) is written, for
    /// at most `timeout`; returns the segments then, or why not.
    pub fn wait_written(
        &self,
        epoch: u64,
        end: i64,
        timeout: Duration,
    ) -> Result<Vec<Segment>, String> {
        let deadline = Instant::now() + timeout;
        let mut d = self.lock();
        loop {
            if d.epoch != epoch {
                return Err("the replication stream was replaced".into());
            }
            if let Some(e) = &d.failed {
                return Err(format!("disk backlog write error: {e}"));
            }
            if d.range().is_some_and(|(_, written)| written >= end) {
                return Ok(d.segments.iter().cloned().collect());
            }
            let now = Instant::now();
            if now >= deadline {
                return Err("the disk backlog writer did not catch up".into());
            }
            d = match self.written.wait_timeout(d, deadline - now) {
                Ok((g, _)) => g,
                Err(p) => p.into_inner().0,
            };
        }
    }
}

enum Msg {
    /// Delete every file; the next blocks belong to stream generation `epoch`.
    Reset { epoch: u64 },
    Blocks {
        epoch: u64,
        blocks: Vec<(i64, Bytes)>,
    },
}

/// The event loop's side.
pub struct DiskBacklog {
    tx: Sender<Msg>,
    shared: Arc<Shared>,
    /// Generation of the stream being written; `None` when off.
    epoch: Option<u64>,
    /// First byte not handed to the writer (the next released block must start there).
    handed_end: Option<i64>,
    /// A write error was logged (until the next reset).
    logged_failure: bool,
}

impl DiskBacklog {
    /// Starts the writer thread for segment files in `dir` (created if missing).
    pub fn start(dir: PathBuf) -> std::io::Result<DiskBacklog> {
        std::fs::create_dir_all(&dir)?;
        // Absolute: a later CONFIG SET dir must not move where the segments are.
        let dir = std::fs::canonicalize(&dir)?;
        let (tx, rx) = channel();
        let shared = Arc::new(Shared::default());
        let w = Writer {
            dir,
            shared: shared.clone(),
            file: None,
        };
        std::thread::Builder::new()
            .name("repl-disk-backlog".into())
            .spawn(move || w.run(rx))?;
        Ok(DiskBacklog {
            tx,
            shared,
            epoch: None,
            handed_end: None,
            logged_failure: false,
        })
    }

    pub fn shared(&self) -> Arc<Shared> {
        self.shared.clone()
    }

    fn reset(&mut self, epoch: u64) {
        self.epoch = Some(epoch);
        self.handed_end = None;
        self.logged_failure = false;
        self.shared.queued.store(0, Ordering::Relaxed);
        let _ = self.tx.send(Msg::Reset { epoch });
    }

    /// Turns it off: the files are deleted.
    pub fn stop(&mut self) {
        if self.epoch.is_some() {
            self.reset(u64::MAX);
            self.epoch = None;
        }
    }

    /// One loop pass: a new stream generation starts over; the blocks the memory backlog
    /// released go to the writer. Returns the window for the PSYNC rule, and a line to log
    /// when the disk backlog had to start over.
    pub fn pump(
        &mut self,
        epoch: u64,
        limit: u64,
        released: Vec<(i64, Bytes)>,
    ) -> (Option<(i64, i64)>, Option<String>) {
        self.shared.limit.store(limit, Ordering::Relaxed);
        let mut note = None;
        if self.epoch != Some(epoch) {
            self.reset(epoch);
        }
        if let (Some(first), Some(end)) = (released.first(), self.handed_end) {
            if first.0 != end {
                note = Some(format!(
                    "Disk backlog: a gap in the stream ({end} expected, {} given); starting over",
                    first.0
                ));
                self.reset(epoch);
            }
        }
        if let Some((start, data)) = released.last() {
            let bytes: u64 = released.iter().map(|(_, d)| d.len() as u64).sum();
            if self.shared.queued.fetch_add(bytes, Ordering::Relaxed) + bytes > MAX_QUEUED {
                note = Some(
                    "Disk backlog: the disk does not keep up with the stream; starting over".into(),
                );
                self.reset(epoch);
            } else {
                self.handed_end = Some(start + data.len() as i64);
                let _ = self.tx.send(Msg::Blocks {
                    epoch,
                    blocks: released,
                });
            }
        }
        let d = self.shared.lock();
        if let Some(e) = &d.failed {
            if !self.logged_failure {
                self.logged_failure = true;
                note = Some(format!(
                    "Disk backlog write error, its history is dropped: {e}"
                ));
            }
            return (None, note);
        }
        // What is on disk from its first byte, up to what was handed over (the catch-up
        // waits for the writer to get there).
        let window = match (d.range(), self.handed_end) {
            (Some((first, _)), Some(end)) if d.epoch == epoch => Some((first, end)),
            _ => None,
        };
        (window, note)
    }
}

/// The writer thread.
struct Writer {
    dir: PathBuf,
    shared: Arc<Shared>,
    /// The segment being appended to.
    file: Option<File>,
}

impl Writer {
    fn run(mut self, rx: Receiver<Msg>) {
        while let Ok(msg) = rx.recv() {
            match msg {
                Msg::Reset { epoch } => {
                    self.file = None;
                    self.delete_all();
                    let mut d = self.shared.lock();
                    d.segments.clear();
                    d.failed = None;
                    d.epoch = epoch;
                    d.resets += 1;
                }
                Msg::Blocks { epoch, blocks } => {
                    let bytes: u64 = blocks.iter().map(|(_, b)| b.len() as u64).sum();
                    let current = {
                        let d = self.shared.lock();
                        d.epoch == epoch && d.failed.is_none()
                    };
                    if current {
                        if let Err(e) = self.write(&blocks) {
                            self.file = None;
                            self.delete_all();
                            let mut d = self.shared.lock();
                            d.segments.clear();
                            d.failed = Some(e.to_string());
                        }
                    }
                    let _ = self.shared.queued.fetch_update(
                        Ordering::Relaxed,
                        Ordering::Relaxed,
                        |q| Some(q.saturating_sub(bytes)),
                    );
                    self.shared.written.notify_all();
                }
            }
        }
    }

    /// Every segment file in the directory (this run's or a previous one's).
    fn delete_all(&self) {
        if let Ok(entries) = std::fs::read_dir(&self.dir) {
            for e in entries.flatten() {
                if e.path().extension().is_some_and(|x| x == "seg") {
                    let _ = std::fs::remove_file(e.path());
                }
            }
        }
    }

    fn write(&mut self, blocks: &[(i64, Bytes)]) -> std::io::Result<()> {
        for (start, data) in blocks {
            let need_new = {
                let d = self.shared.lock();
                d.segments.back().is_none_or(|s| s.len >= SEGMENT) || self.file.is_none()
            };
            if need_new {
                let resets = self.shared.lock().resets;
                let path = self.dir.join(format!("{resets:06}-{start:020}.seg"));
                self.file = Some(File::create(&path)?);
                self.shared.lock().segments.push_back(Segment {
                    start: *start,
                    len: 0,
                    path,
                });
            }
            if let Some(f) = self.file.as_mut() {
                f.write_all(data)?;
            }
            let mut d = self.shared.lock();
            if let Some(s) = d.segments.back_mut() {
                s.len += data.len() as u64;
            }
        }
        // The oldest segments go once the rest holds the limit.
        let limit = self.shared.limit.load(Ordering::Relaxed);
        let mut d = self.shared.lock();
        let mut total: u64 = d.segments.iter().map(|s| s.len).sum();
        while d.segments.len() > 1 && total > limit {
            let Some(old) = d.segments.pop_front() else {
                break;
            };
            total -= old.len;
            let _ = std::fs::remove_file(&old.path);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!(
            "redwing-disk-backlog-{}-{name}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    /// Polls the writer until `cond` holds on what is on disk (bounded).
    fn wait(d: &DiskBacklog, what: &str, cond: impl Fn(&OnDisk) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !cond(&d.shared.lock()) {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    #[test]
    fn released_blocks_are_written_read_back_and_the_oldest_dropped_past_the_size() {
        let dir = temp("roundtrip");
        let mut d = DiskBacklog::start(dir.clone()).expect("start");
        let block = |i: u8| Bytes::from(vec![i; 2 * 1024 * 1024]);
        let mut start = 1i64;
        let mut window = None;
        for i in 0..20u8 {
            let b = block(i);
            let len = b.len() as i64;
            window = d.pump(7, 16 * 1024 * 1024, vec![(start, b)]).0;
            start += len;
        }
        wait(&d, "every block written", |o| {
            o.range().is_some_and(|(_, end)| end == start)
        });
        let (first, end) = d.pump(7, 16 * 1024 * 1024, Vec::new()).0.expect("a window");
        assert!(window.is_some());
        assert_eq!(
            end, start,
            "the window ends where the stream was handed over"
        );
        assert!(first > 1, "the oldest segments went past the size");
        let on_disk: u64 = d.shared.lock().segments.iter().map(|s| s.len).sum();
        assert!(
            on_disk <= 16 * 1024 * 1024 + SEGMENT,
            "{on_disk} bytes kept"
        );
        // Read back what a catch-up would send: the bytes of the blocks, in order.
        let segs = d
            .shared
            .wait_written(7, end, Duration::from_secs(5))
            .expect("written");
        assert!(
            d.shared
                .wait_written(6, end, Duration::from_secs(5))
                .is_err(),
            "another stream's catch-up gets nothing"
        );
        let mut pos = first;
        for s in &segs {
            let data = std::fs::read(&s.path).expect("segment");
            assert_eq!(data.len() as u64, s.len);
            assert_eq!(s.start, pos, "contiguous");
            let block_no = ((pos - 1) / (2 * 1024 * 1024)) as u8;
            assert_eq!(data[0], block_no, "segment at {pos} holds block {block_no}");
            pos += s.len as i64;
        }
        assert_eq!(pos, end);
        // A new stream generation deletes the old files first.
        d.pump(8, 16 * 1024 * 1024, Vec::new());
        wait(&d, "the reset", |o| o.epoch == 8 && o.segments.is_empty());
        let left = std::fs::read_dir(&dir).map(|r| r.count()).unwrap_or(0);
        assert_eq!(left, 0, "files of the old stream deleted");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_write_error_drops_the_disk_history_and_is_reported_once() {
        let dir = temp("error");
        // Where the first segment file would go, a directory: creating the file fails.
        std::fs::create_dir_all(dir.join(format!("{:06}-{:020}.seg", 1, 1))).expect("blocker");
        let mut d = DiskBacklog::start(dir.clone()).expect("start");
        d.pump(1, 1 << 30, vec![(1, Bytes::from_static(b"abc"))]);
        wait(&d, "the write error", |o| o.failed.is_some());
        let (window, note) = d.pump(1, 1 << 30, Vec::new());
        assert!(window.is_none(), "no disk history after an error");
        assert!(note.is_some_and(|n| n.contains("write error")), "logged");
        let (_, again) = d.pump(1, 1 << 30, Vec::new());
        assert!(again.is_none(), "logged once");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
