//! One Sentinel process (Redis 7.0's, `redis-server --sentinel`: the binary Debian's
//! `redis-sentinel` links to) with its own directory and config file (Sentinel rewrites it),
//! on an ephemeral port; killed by its pid on drop, its log printed if the test panicked.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use testkit::proc::free_port;
use testkit::{redis_server_bin, wait_for, Conn};

use super::T;

pub struct Sentinel {
    pub port: u16,
    pub dir: PathBuf,
    child: Option<Child>,
}

impl Sentinel {
    /// Starts a sentinel whose config is the common header plus `monitors`: the `sentinel
    /// monitor` lines and their settings, as the caller wants them.
    pub fn start(monitors: &str) -> Sentinel {
        let port = free_port();
        let dir = std::env::temp_dir().join(format!(
            "redwing-test-{}-sentinel-{port}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("sentinel dir");
        let conf = dir.join("sentinel.conf");
        let text = format!(
            "port {port}\nbind 127.0.0.1\ndaemonize no\ndir {}\nlogfile {}\n{monitors}",
            dir.display(),
            dir.join("sentinel.log").display()
        );
        std::fs::write(&conf, text).expect("sentinel.conf");
        let child = Command::new(redis_server_bin())
            .arg(&conf)
            .arg("--sentinel")
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn redis-server --sentinel");
        let s = Sentinel {
            port,
            dir,
            child: Some(child),
        };
        wait_for("sentinel answering PING", T, || {
            Conn::connect(port).is_ok_and(|mut c| c.try_cmd(&["PING"]).is_ok())
        });
        s
    }

    pub fn conn(&self) -> Conn {
        match Conn::connect(self.port) {
            Ok(c) => c,
            Err(e) => panic!("sentinel :{}: {e}", self.port),
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("sentinel.log")).unwrap_or_default()
    }

    /// The primary this sentinel names now for the set `name`.
    pub fn primary(&self, name: &str) -> Option<u16> {
        primary_named_by(self.port, name)
    }

    /// How many `what` (`replicas`, `sentinels`) this sentinel knows for the set `name`.
    pub fn count(&self, what: &str, name: &str) -> usize {
        match self.conn().cmd(&["SENTINEL", what, name]) {
            resp::Frame::Array(v) => v.len(),
            _ => 0,
        }
    }
}

impl Drop for Sentinel {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        if std::thread::panicking() {
            eprintln!("--- sentinel :{} log ---\n{}", self.port, self.log());
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The primary the sentinel at `port` names now for the set `name`.
pub fn primary_named_by(port: u16, name: &str) -> Option<u16> {
    let mut c = Conn::connect(port).ok()?;
    let f = c
        .try_cmd(&["SENTINEL", "get-master-addr-by-name", name])
        .ok()?;
    match f {
        resp::Frame::Array(v) if v.len() == 2 => v[1].text().parse().ok(),
        _ => None,
    }
}
