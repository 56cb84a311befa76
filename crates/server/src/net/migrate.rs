//! The connections MIGRATE keeps to its targets (Valkey's `migrate_cached_sockets`): one per
//! `host:port`, reused by the next MIGRATE to the same target (which then skips SELECT when
//! it names the same database), closed after ten seconds unused, at most 64.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

/// One cached connection.
pub struct Target {
    pub stream: TcpStream,
    /// The database the connection has SELECTed, when known to have succeeded.
    pub last_db: Option<i64>,
    last_use_ms: i64,
}

/// The cache, by `host:port`.
#[derive(Default)]
pub struct MigrateSockets {
    by_name: HashMap<String, Target>,
}

/// Most cached connections (Valkey's MIGRATE_SOCKET_CACHE_ITEMS).
const MAX: usize = 64;
/// A connection unused for longer is closed (MIGRATE_SOCKET_CACHE_TTL, 10 s).
const TTL_MS: i64 = 10_000;

impl MigrateSockets {
    pub fn len(&self) -> usize {
        self.by_name.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }

    /// The cached connection to `host:port`, or a new one connected within `timeout`.
    pub fn get(
        &mut self,
        host: &str,
        port: &str,
        timeout: Duration,
        now_ms: i64,
    ) -> io::Result<&mut Target> {
        let name = format!("{host}:{port}");
        if !self.by_name.contains_key(&name) {
            if self.by_name.len() >= MAX {
                // Full: one goes, as Valkey drops a random entry.
                if let Some(victim) = self.by_name.keys().next().cloned() {
                    self.by_name.remove(&victim);
                }
            }
            let stream = connect(host, port, timeout)?;
            let target = Target {
                stream,
                last_db: None,
                last_use_ms: now_ms,
            };
            self.by_name.insert(name.clone(), target);
        }
        let target = self
            .by_name
            .get_mut(&name)
            .ok_or_else(|| io::Error::other("migrate socket cache"))?;
        target.last_use_ms = now_ms;
        target.stream.set_read_timeout(Some(timeout))?;
        target.stream.set_write_timeout(Some(timeout))?;
        Ok(target)
    }

    /// Drops the connection to `host:port` (after an error: the next MIGRATE reconnects).
    pub fn close(&mut self, host: &str, port: &str) {
        self.by_name.remove(&format!("{host}:{port}"));
    }

    /// Closes the connections unused for more than ten seconds (from the cron).
    pub fn close_idle(&mut self, now_ms: i64) {
        if !self.by_name.is_empty() {
            self.by_name.retain(|_, t| now_ms - t.last_use_ms <= TTL_MS);
        }
    }
}

/// Valkey reads the port with `atoi`: leading digits, anything else is 0 (and fails).
fn connect(host: &str, port: &str, timeout: Duration) -> io::Result<TcpStream> {
    let digits: String = port.chars().take_while(|c| c.is_ascii_digit()).collect();
    let port: u16 = digits.parse().unwrap_or(0);
    let mut last = io::Error::new(io::ErrorKind::InvalidInput, "no address");
    for addr in (host, port).to_socket_addrs()? {
        match TcpStream::connect_timeout(&addr, timeout) {
            Ok(s) => {
                s.set_nodelay(true)?;
                return Ok(s);
            }
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// Reads one reply line (without its CR LF) within the stream's timeout. A line longer
/// than 64 KiB is cut there.
pub fn read_line(stream: &mut TcpStream) -> io::Result<Vec<u8>> {
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    loop {
        match stream.read(&mut byte) {
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(_) if byte[0] == b'\n' => break,
            Ok(_) => {
                line.push(byte[0]);
                if line.len() >= 64 * 1024 {
                    break;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    Ok(line)
}

/// Writes `buf` whole, in 64 KiB pieces as Valkey does, each within the stream's timeout.
pub fn write_all(stream: &mut TcpStream, buf: &[u8]) -> io::Result<()> {
    for chunk in buf.chunks(64 * 1024) {
        stream.write_all(chunk)?;
    }
    Ok(())
}

/// True for the errors a socket timeout gives (no retry after those, as Valkey's ETIMEDOUT).
pub fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}
