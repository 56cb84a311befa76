//! Loading a full-sync payload on a replica: payload bytes go through a channel to a loader
//! thread that builds fresh databases aside, while the event loop keeps serving reads from the
//! old data. The swap happens on the event loop, atomically, only if the whole load succeeded.

use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Arc;

use persistence::{LoadOptions, Loaded};

/// `Read` over chunks arriving on a channel; end of stream when the sender is dropped.
struct ChannelReader {
    rx: Receiver<Vec<u8>>,
    cur: Vec<u8>,
    pos: usize,
    queued: Arc<AtomicU64>,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pos >= self.cur.len() {
            match self.rx.recv() {
                Ok(chunk) => {
                    self.queued.fetch_sub(chunk.len() as u64, Ordering::Relaxed);
                    self.cur = chunk;
                    self.pos = 0;
                }
                Err(_) => return Ok(0),
            }
        }
        let n = buf.len().min(self.cur.len() - self.pos);
        buf[..n].copy_from_slice(&self.cur[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// A load in progress.
pub struct Loader {
    pub id: u64,
    tx: Option<Sender<Vec<u8>>>,
    /// Bytes handed to the loader but not yet parsed (back-pressure: stop reading the link
    /// when this grows too large).
    pub queued: Arc<AtomicU64>,
    pub read: Arc<AtomicU64>,
    /// `repl-diskless-load disabled`: the payload is also written to a temp file, renamed to
    /// dbfilename when complete (the received RDB is persisted, as Redis does).
    file: Option<(io::BufWriter<std::fs::File>, PathBuf, PathBuf)>,
}

/// What the loader thread reports.
pub struct LoadResult {
    pub id: u64,
    pub result: Result<Loaded, String>,
}

impl Loader {
    pub fn start(
        id: u64,
        opts: LoadOptions,
        file_target: Option<PathBuf>,
        tx_bg: crate::bg::BgSender<super::ReplBgEvent>,
    ) -> io::Result<Loader> {
        let (tx, rx) = channel::<Vec<u8>>();
        let queued = Arc::new(AtomicU64::new(0));
        let read = Arc::new(AtomicU64::new(0));
        let reader = ChannelReader {
            rx,
            cur: Vec::new(),
            pos: 0,
            queued: queued.clone(),
        };
        let progress = read.clone();
        std::thread::Builder::new()
            .name("repl-load".into())
            .spawn(move || {
                let result = persistence::load(
                    io::BufReader::with_capacity(1 << 20, reader),
                    &opts,
                    &progress,
                )
                .map_err(|e| e.to_string());
                tx_bg.send(super::ReplBgEvent::LoadDone(Box::new(LoadResult {
                    id,
                    result,
                })));
            })?;
        let file = match file_target {
            Some(target) => {
                let tmp = target.with_file_name(format!(
                    "temp-{}.{}.rdb",
                    crate::util::now_ms() / 1000,
                    std::process::id()
                ));
                let f = std::fs::File::create(&tmp)?;
                Some((io::BufWriter::with_capacity(1 << 20, f), tmp, target))
            }
            None => None,
        };
        Ok(Loader {
            id,
            tx: Some(tx),
            queued,
            read,
            file,
        })
    }

    /// Hands payload bytes to the loader (and the temp file).
    pub fn feed(&mut self, chunk: Vec<u8>) -> io::Result<()> {
        if let Some((w, _, _)) = self.file.as_mut() {
            w.write_all(&chunk)?;
        }
        self.queued.fetch_add(chunk.len() as u64, Ordering::Relaxed);
        if let Some(tx) = &self.tx {
            tx.send(chunk)
                .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "loader stopped"))?;
        }
        Ok(())
    }

    /// The payload is complete: close the channel (the loader finishes) and persist the file.
    pub fn finish(&mut self) -> io::Result<()> {
        self.tx = None;
        if let Some((w, tmp, target)) = self.file.take() {
            persistence::file::flush_sync(w)?;
            std::fs::rename(&tmp, &target)?;
            persistence::file::sync_dir(&target)?;
        }
        Ok(())
    }
}

impl Drop for Loader {
    fn drop(&mut self) {
        if let Some((_, tmp, _)) = self.file.take() {
            let _ = std::fs::remove_file(tmp);
        }
    }
}
