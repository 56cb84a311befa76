//! Crash-safe file saves: write a temp file in the same directory, fsync it, rename it over
//! the target, fsync the directory. A crash at any moment leaves either the old file or the
//! new one, never a torn file.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

static TMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// The temp file name used while saving `target` (`temp-<pid>-<n>.rdb` in its directory).
pub fn temp_path(target: &Path) -> PathBuf {
    let n = TMP_COUNTER.fetch_add(1, Ordering::Relaxed);
    let name = format!("temp-{}-{}.rdb", std::process::id(), n);
    target
        .parent()
        .map_or_else(|| PathBuf::from(&name), |d| d.join(&name))
}

/// Writes `target` atomically: `write` gets a buffered sink and returns it when done.
pub fn atomic_write<F>(target: &Path, write: F) -> io::Result<u64>
where
    F: FnOnce(BufWriter<File>) -> io::Result<BufWriter<File>>,
{
    let tmp = temp_path(target);
    let result = (|| {
        let file = File::create(&tmp)?;
        let sink = write(BufWriter::with_capacity(1 << 20, file))?;
        let file = sink.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        let len = file.metadata()?.len();
        drop(file);
        std::fs::rename(&tmp, target)?;
        sync_dir(target)?;
        Ok(len)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// fsync of the directory holding `path`, so the rename itself is durable.
pub fn sync_dir(path: &Path) -> io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    File::open(dir)?.sync_all()
}

/// Flushes and fsyncs a file being written through a buffer.
pub fn flush_sync(mut w: BufWriter<File>) -> io::Result<File> {
    w.flush()?;
    let f = w.into_inner().map_err(|e| e.into_error())?;
    f.sync_all()?;
    Ok(f)
}
