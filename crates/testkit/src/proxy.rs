//! A fault-injecting TCP proxy (no root needed): listens on an ephemeral 127.0.0.1 port and
//! forwards every connection to a target port. While it runs, a test can add latency, limit
//! the bandwidth, stall the links (nothing forwarded, so TCP back-pressure builds up as on a
//! partitioned network), cut every open connection, refuse new ones, or change the target.
//!
//! Each connection is two pump threads (one per direction) polling the controls every few
//! milliseconds; dropping the proxy closes the listener and every connection.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU16, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

#[derive(Default)]
struct Ctl {
    target: AtomicU16,
    delay_ms: AtomicU64,
    /// Bytes per second per direction and connection; 0 = unlimited.
    rate: AtomicU64,
    stalled: AtomicBool,
    refuse: AtomicBool,
    /// Connections opened before the current generation are cut.
    generation: AtomicU64,
    stop: AtomicBool,
    open: AtomicUsize,
    forwarded: AtomicU64,
}

pub struct Proxy {
    pub port: u16,
    ctl: Arc<Ctl>,
    accept: Option<JoinHandle<()>>,
}

impl Proxy {
    /// Starts a proxy to `127.0.0.1:target`.
    pub fn start(target: u16) -> std::io::Result<Proxy> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let port = listener.local_addr()?.port();
        let ctl = Arc::new(Ctl::default());
        ctl.target.store(target, Ordering::Relaxed);
        let c = ctl.clone();
        let accept = std::thread::Builder::new()
            .name(format!("proxy-{port}"))
            .spawn(move || accept_loop(listener, c))?;
        Ok(Proxy {
            port,
            ctl,
            accept: Some(accept),
        })
    }

    /// New connections go to `port` from now on (existing ones are unaffected).
    pub fn set_target(&self, port: u16) {
        self.ctl.target.store(port, Ordering::Relaxed);
    }

    pub fn set_delay(&self, d: Duration) {
        self.ctl
            .delay_ms
            .store(d.as_millis() as u64, Ordering::Relaxed);
    }

    /// Limits each direction of each connection to `bytes_per_sec` (0 = unlimited).
    pub fn set_rate(&self, bytes_per_sec: u64) {
        self.ctl.rate.store(bytes_per_sec, Ordering::Relaxed);
    }

    /// While stalled nothing is forwarded (and nothing read, so senders block).
    pub fn set_stalled(&self, on: bool) {
        self.ctl.stalled.store(on, Ordering::Relaxed);
    }

    /// Refused connections are accepted and closed at once.
    pub fn set_refuse(&self, on: bool) {
        self.ctl.refuse.store(on, Ordering::Relaxed);
    }

    /// Closes every open connection (both ends see a reset or EOF).
    pub fn cut_all(&self) {
        self.ctl.generation.fetch_add(1, Ordering::Relaxed);
    }

    /// Back to a transparent proxy.
    pub fn heal(&self) {
        self.set_delay(Duration::ZERO);
        self.set_rate(0);
        self.set_stalled(false);
        self.set_refuse(false);
    }

    pub fn open_connections(&self) -> usize {
        self.ctl.open.load(Ordering::Relaxed)
    }

    pub fn bytes_forwarded(&self) -> u64 {
        self.ctl.forwarded.load(Ordering::Relaxed)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.ctl.stop.store(true, Ordering::Relaxed);
        self.cut_all();
        if let Some(h) = self.accept.take() {
            let _ = h.join();
        }
    }
}

fn accept_loop(listener: TcpListener, ctl: Arc<Ctl>) {
    while !ctl.stop.load(Ordering::Relaxed) {
        match listener.accept() {
            Ok((client, _)) => {
                if ctl.refuse.load(Ordering::Relaxed) {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                }
                let target = ctl.target.load(Ordering::Relaxed);
                let Ok(server) = TcpStream::connect(("127.0.0.1", target)) else {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                };
                let _ = client.set_nonblocking(false);
                let _ = client.set_nodelay(true);
                let _ = server.set_nodelay(true);
                let generation = ctl.generation.load(Ordering::Relaxed);
                let (Ok(c2), Ok(s2)) = (client.try_clone(), server.try_clone()) else {
                    continue;
                };
                ctl.open.fetch_add(1, Ordering::Relaxed);
                let done = Arc::new(AtomicUsize::new(0));
                for (from, to) in [(client, server), (s2, c2)] {
                    let (c, d) = (ctl.clone(), done.clone());
                    let spawned =
                        std::thread::Builder::new()
                            .name("proxy-pump".into())
                            .spawn(move || {
                                pump(from, to, &c, generation);
                                if d.fetch_add(1, Ordering::Relaxed) == 1 {
                                    c.open.fetch_sub(1, Ordering::Relaxed);
                                }
                            });
                    if spawned.is_err() {
                        ctl.open.fetch_sub(1, Ordering::Relaxed);
                    }
                }
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(_) => std::thread::sleep(Duration::from_millis(5)),
        }
    }
}

/// Copies `from` → `to` under the controls, until either side closes or the connection is cut.
fn pump(mut from: TcpStream, mut to: TcpStream, ctl: &Ctl, generation: u64) {
    let _ = from.set_read_timeout(Some(Duration::from_millis(10)));
    let _ = to.set_write_timeout(Some(Duration::from_millis(200)));
    let mut buf = vec![0u8; 16 * 1024];
    let cut =
        || ctl.generation.load(Ordering::Relaxed) != generation || ctl.stop.load(Ordering::Relaxed);
    'outer: loop {
        if cut() {
            break;
        }
        if ctl.stalled.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(5));
            continue;
        }
        let rate = ctl.rate.load(Ordering::Relaxed);
        let want = if rate > 0 {
            (rate as usize / 100).clamp(1, buf.len())
        } else {
            buf.len()
        };
        let n = match from.read(&mut buf[..want]) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => continue,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(_) => break,
        };
        // Stalled while the read was in progress: hold what was read.
        while ctl.stalled.load(Ordering::Relaxed) {
            if cut() {
                break 'outer;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        let delay = ctl.delay_ms.load(Ordering::Relaxed);
        if delay > 0 {
            std::thread::sleep(Duration::from_millis(delay));
        }
        let mut sent = 0;
        while sent < n {
            if cut() {
                break 'outer;
            }
            match to.write(&buf[sent..n]) {
                Ok(0) => break 'outer,
                Ok(k) => sent += k,
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => break 'outer,
            }
        }
        ctl.forwarded.fetch_add(n as u64, Ordering::Relaxed);
        if let Some(us) = (n as u64 * 1_000_000).checked_div(rate) {
            std::thread::sleep(Duration::from_micros(us));
        }
    }
    let _ = from.shutdown(Shutdown::Both);
    let _ = to.shutdown(Shutdown::Both);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wait::wait_for;

    fn echo_server() -> (u16, JoinHandle<()>) {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = l.local_addr().expect("addr").port();
        let h = std::thread::spawn(move || {
            for s in l.incoming().take(4) {
                let Ok(mut s) = s else { continue };
                std::thread::spawn(move || {
                    let mut b = [0u8; 1024];
                    while let Ok(n) = s.read(&mut b) {
                        if n == 0 || s.write_all(&b[..n]).is_err() {
                            break;
                        }
                    }
                });
            }
        });
        (port, h)
    }

    #[test]
    fn forwards_stalls_and_cuts() {
        let (port, _h) = echo_server();
        let p = Proxy::start(port).expect("proxy");
        let mut c = TcpStream::connect(("127.0.0.1", p.port)).expect("connect");
        c.set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        c.write_all(b"hello").expect("write");
        let mut b = [0u8; 5];
        c.read_exact(&mut b).expect("echo");
        assert_eq!(&b, b"hello");
        p.set_stalled(true);
        c.write_all(b"again").expect("write");
        c.set_read_timeout(Some(Duration::from_millis(200)))
            .expect("timeout");
        assert!(c.read(&mut b).is_err(), "nothing forwarded while stalled");
        p.set_stalled(false);
        c.set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        c.read_exact(&mut b).expect("echo after the stall");
        assert_eq!(&b, b"again");
        p.cut_all();
        wait_for("the connection to be cut", Duration::from_secs(5), || {
            p.open_connections() == 0
        });
        assert!(matches!(c.read(&mut b), Ok(0) | Err(_)));
    }
}
