//! Small helpers: ids, sockets.

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};

use mio::net::TcpListener;

/// 40 random lowercase hex characters (run ids, replication ids, EOF marks).
pub fn random_hex40() -> String {
    let mut rng = types::rand::Rng::from_entropy();
    let mut bytes = [0u8; 20];
    if let Ok(mut f) = std::fs::File::open("/dev/urandom") {
        use std::io::Read;
        let _ = f.read_exact(&mut bytes);
    }
    bytes
        .iter()
        .map(|b| format!("{:02x}", b ^ (rng.next_u64() as u8)))
        .collect()
}

/// Binds a TCP listener with SO_REUSEADDR and the given backlog.
pub fn bind_tcp(host: &str, port: u16, backlog: i32) -> io::Result<TcpListener> {
    let addr: SocketAddr = (host, port)
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| io::Error::other("bad address"))?;
    let domain = if addr.is_ipv6() {
        libc::AF_INET6
    } else {
        libc::AF_INET
    };
    // SAFETY: plain socket syscalls on a descriptor we own; errors are checked.
    unsafe {
        let fd = libc::socket(
            domain,
            libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            0,
        );
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        let one: libc::c_int = 1;
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_REUSEADDR,
            &one as *const _ as *const libc::c_void,
            4,
        );
        if addr.is_ipv6() {
            libc::setsockopt(
                fd,
                libc::IPPROTO_IPV6,
                libc::IPV6_V6ONLY,
                &one as *const _ as *const libc::c_void,
                4,
            );
        }
        let std_listener = {
            use std::os::fd::FromRawFd;
            std::net::TcpListener::from_raw_fd(fd)
        };
        let (raw, len) = sockaddr(&addr);
        if libc::bind(
            fd,
            &raw as *const libc::sockaddr_storage as *const libc::sockaddr,
            len,
        ) != 0
        {
            return Err(io::Error::last_os_error());
        }
        if libc::listen(fd, backlog) != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(TcpListener::from_std(std_listener))
    }
}

fn sockaddr(addr: &SocketAddr) -> (libc::sockaddr_storage, libc::socklen_t) {
    // SAFETY: zeroed sockaddr_storage is a valid initial value.
    let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let len = match addr {
        SocketAddr::V4(a) => {
            let sin = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: a.port().to_be(),
                sin_addr: libc::in_addr {
                    s_addr: u32::from_ne_bytes(a.ip().octets()),
                },
                sin_zero: [0; 8],
            };
            // SAFETY: sockaddr_in fits in sockaddr_storage.
            unsafe { std::ptr::write(&mut storage as *mut _ as *mut libc::sockaddr_in, sin) };
            std::mem::size_of::<libc::sockaddr_in>()
        }
        SocketAddr::V6(a) => {
            let sin6 = libc::sockaddr_in6 {
                sin6_family: libc::AF_INET6 as libc::sa_family_t,
                sin6_port: a.port().to_be(),
                sin6_flowinfo: a.flowinfo(),
                sin6_addr: libc::in6_addr {
                    s6_addr: a.ip().octets(),
                },
                sin6_scope_id: a.scope_id(),
            };
            // SAFETY: sockaddr_in6 fits in sockaddr_storage.
            unsafe { std::ptr::write(&mut storage as *mut _ as *mut libc::sockaddr_in6, sin6) };
            std::mem::size_of::<libc::sockaddr_in6>()
        }
    };
    (storage, len as libc::socklen_t)
}

/// TCP keepalive with Redis's interval (`tcp-keepalive` seconds; 0 = off).
pub fn set_keepalive(s: &mio::net::TcpStream, secs: u32) {
    if secs == 0 {
        return;
    }
    use std::os::fd::AsRawFd;
    let fd = s.as_raw_fd();
    let set = |level, opt, v: libc::c_int| {
        // SAFETY: setsockopt on a valid descriptor with an int option value.
        unsafe { libc::setsockopt(fd, level, opt, &v as *const _ as *const libc::c_void, 4) };
    };
    set(libc::SOL_SOCKET, libc::SO_KEEPALIVE, 1);
    set(libc::IPPROTO_TCP, libc::TCP_KEEPIDLE, secs as libc::c_int);
    set(
        libc::IPPROTO_TCP,
        libc::TCP_KEEPINTVL,
        (secs / 3).max(1) as libc::c_int,
    );
    set(libc::IPPROTO_TCP, libc::TCP_KEEPCNT, 3);
}

/// Resident set size in bytes, from /proc.
pub fn rss_bytes() -> u64 {
    let Ok(s) = std::fs::read_to_string("/proc/self/statm") else {
        return 0;
    };
    let pages: u64 = s
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    // SAFETY: sysconf is always safe to call.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) }.max(4096) as u64;
    pages * page
}

/// Human-readable bytes as Redis prints them (`1.50M`).
pub fn human_bytes(n: u64) -> String {
    let f = n as f64;
    if n < 1024 {
        format!("{n}B")
    } else if n < 1024 * 1024 {
        format!("{:.2}K", f / 1024.0)
    } else if n < 1024 * 1024 * 1024 {
        format!("{:.2}M", f / (1024.0 * 1024.0))
    } else if n < 1024u64.pow(4) {
        format!("{:.2}G", f / (1024.0 * 1024.0 * 1024.0))
    } else {
        format!("{:.2}T", f / 1024f64.powi(4))
    }
}

/// Wall-clock time, unix ms.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Wall-clock time, unix µs.
pub fn now_us() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0)
}

/// Redis's `addReplyHelp` layout.
pub fn help_reply(cmd: &str, lines: &[&str]) -> resp::Reply {
    let mut out = vec![resp::Reply::status(format!(
        "{cmd} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
    ))];
    out.extend(lines.iter().map(|l| resp::Reply::status(l.to_string())));
    out.push(resp::Reply::status("HELP"));
    out.push(resp::Reply::status("    Print this help."));
    resp::Reply::Array(out)
}
