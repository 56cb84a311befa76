//! Server processes for tests: Redwing, the reference redis-server 7.0 or the reference
//! valkey-server 8.0.1, each in its own temporary directory, on an ephemeral 127.0.0.1 port,
//! killed by pid when dropped.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use crate::client::Conn;
use crate::wait::wait_for;

/// Path of the redwing-server binary: `$REDWING_BIN`, else target/{release,debug}/redwing-server
/// next to the workspace.
pub fn redwing_bin() -> PathBuf {
    if let Ok(p) = std::env::var("REDWING_BIN") {
        // Servers run in their own directories: a relative path must not depend on that.
        let p = PathBuf::from(p);
        return std::fs::canonicalize(&p).unwrap_or(p);
    }
    let root = workspace_root();
    for profile in ["debug", "release"] {
        let p = root.join("target").join(profile).join("redwing-server");
        if p.exists() {
            return p;
        }
    }
    panic!("redwing-server binary not found: build it first (cargo build) or set REDWING_BIN");
}

fn workspace_root() -> PathBuf {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    here.parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or(here)
}

/// The reference redis-server. Missing → the test fails loudly with the fix.
pub fn redis_server_bin() -> PathBuf {
    for dir in std::env::var("PATH").unwrap_or_default().split(':') {
        let p = Path::new(dir).join("redis-server");
        if p.exists() {
            return p;
        }
    }
    panic!("redis-server not found on PATH: run scripts/setup-test-deps.sh (installs Debian's redis-server and redis-tools)");
}

/// Where `scripts/build-valkey.sh` leaves the reference valkey-server, under the workspace.
const VALKEY_BUILT: &str = ".cache/valkey-8.0.1/src/valkey-server";

/// The reference valkey-server 8.0.1: `$VALKEY_SERVER`, else the one `scripts/build-valkey.sh`
/// builds into `.cache/` of the workspace. Missing → the test fails loudly with the fix (never
/// skips).
pub fn valkey_server_bin() -> PathBuf {
    if let Ok(p) = std::env::var("VALKEY_SERVER") {
        let p = PathBuf::from(p);
        let p = std::fs::canonicalize(&p).unwrap_or(p);
        if !p.exists() {
            panic!(
                "VALKEY_SERVER={} does not exist: run scripts/build-valkey.sh (builds Valkey 8.0.1 into .cache/valkey-8.0.1) and point VALKEY_SERVER at its src/valkey-server, or unset it",
                p.display()
            );
        }
        return p;
    }
    let p = workspace_root().join(VALKEY_BUILT);
    if !p.exists() {
        panic!(
            "valkey-server not found at {}: run scripts/build-valkey.sh (builds Valkey 8.0.1 there), or set VALKEY_SERVER to a valkey-server 8.0.1 binary",
            p.display()
        );
    }
    p
}

/// A free TCP port on 127.0.0.1 (bind to port 0, read it, release it).
pub fn free_port() -> u16 {
    match std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()) {
        Ok(a) => a.port(),
        Err(e) => panic!("cannot find a free port: {e}"),
    }
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

fn temp_dir(tag: &str) -> PathBuf {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("redwing-test-{}-{}-{tag}", std::process::id(), n));
    let _ = std::fs::remove_dir_all(&dir);
    if let Err(e) = std::fs::create_dir_all(&dir) {
        panic!("cannot create {}: {e}", dir.display());
    }
    dir
}

/// A running server process.
pub struct ServerProc {
    pub port: u16,
    pub dir: PathBuf,
    bin: PathBuf,
    args: Vec<String>,
    /// A config file passed first (CONFIG REWRITE writes to it).
    config: Option<PathBuf>,
    child: Option<Child>,
    keep_dir: bool,
}

impl ServerProc {
    /// Starts Redwing with extra `--name value` arguments.
    pub fn redwing(extra: &[&str]) -> ServerProc {
        Self::start(redwing_bin(), "redwing", extra)
    }

    /// Starts the reference redis-server.
    pub fn redis(extra: &[&str]) -> ServerProc {
        Self::start(redis_server_bin(), "redis", extra)
    }

    /// Starts the reference redis-server and checks that it is Redis 7.0, the version the
    /// interop tests compare against (a missing or other binary fails with the fix).
    pub fn redis_7_0(extra: &[&str]) -> ServerProc {
        let server = Self::redis(extra);
        let version = server.conn().try_info_field("server", "redis_version");
        assert!(
            version.as_deref().is_some_and(|v| v.starts_with("7.0.")),
            "{} is redis-server {version:?}, these tests expect 7.0: run \
             scripts/setup-test-deps.sh (Debian's redis-server)",
            server.bin.display()
        );
        server
    }

    /// Starts the reference valkey-server.
    pub fn valkey(extra: &[&str]) -> ServerProc {
        Self::start(valkey_server_bin(), "valkey", extra)
    }

    /// Starts Redwing with a config file holding `conf` (in its directory, passed as the
    /// first argument, as redis-server takes it) and extra arguments.
    pub fn redwing_with_config(conf: &str, extra: &[&str]) -> ServerProc {
        Self::start_with(redwing_bin(), "redwing", Some(conf), extra)
    }

    fn start(bin: PathBuf, tag: &str, extra: &[&str]) -> ServerProc {
        Self::start_with(bin, tag, None, extra)
    }

    fn start_with(bin: PathBuf, tag: &str, conf: Option<&str>, extra: &[&str]) -> ServerProc {
        let dir = temp_dir(tag);
        let config = conf.map(|text| {
            let path = dir.join("server.conf");
            if let Err(e) = std::fs::write(&path, text) {
                panic!("cannot write {}: {e}", path.display());
            }
            path
        });
        let args: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
        let mut last_err = String::new();
        for _ in 0..5 {
            let port = free_port();
            let mut p = ServerProc {
                port,
                dir: dir.clone(),
                bin: bin.clone(),
                args: args.clone(),
                config: config.clone(),
                child: None,
                keep_dir: false,
            };
            match p
                .spawn()
                .and_then(|_| p.wait_ready(Duration::from_secs(20)))
            {
                Ok(()) => return p,
                Err(e) => {
                    last_err = e;
                    p.kill();
                }
            }
        }
        panic!(
            "could not start {} after 5 attempts: {last_err}",
            bin.display()
        );
    }

    fn spawn(&mut self) -> Result<(), String> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .map_err(|e| e.to_string())?;
        let log2 = log.try_clone().map_err(|e| e.to_string())?;
        let mut cmd = Command::new(&self.bin);
        cmd.current_dir(&self.dir);
        if let Some(conf) = &self.config {
            cmd.arg(conf);
        }
        cmd.args([
            "--port",
            &self.port.to_string(),
            "--bind",
            "127.0.0.1",
            "--dir",
            &self.dir.display().to_string(),
        ])
        .args([
            "--daemonize",
            "no",
            "--enable-debug-command",
            "yes",
            "--save",
            "",
        ])
        .args(&self.args)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log2);
        let child = cmd
            .spawn()
            .map_err(|e| format!("spawn {}: {e}", self.bin.display()))?;
        self.child = Some(child);
        Ok(())
    }

    fn wait_ready(&mut self, timeout: Duration) -> Result<(), String> {
        let start = std::time::Instant::now();
        while start.elapsed() < timeout {
            if let Some(c) = self.child.as_mut() {
                if let Ok(Some(status)) = c.try_wait() {
                    return Err(format!("server exited with {status}; log:\n{}", self.log()));
                }
            }
            if let Ok(mut conn) = Conn::connect(self.port) {
                conn.set_timeout(Duration::from_secs(2));
                if let Ok(f) =
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| conn.cmd(&["PING"])))
                {
                    if f.text().starts_with("NOAUTH") {
                        return Ok(());
                    }
                    if f.text() == "PONG" {
                        return self.check_identity(&mut conn);
                    }
                    if f.is_error() && f.text().starts_with("LOADING") {
                        std::thread::sleep(Duration::from_millis(20));
                        continue;
                    }
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Err(format!(
            "server not ready after {timeout:?}; log:\n{}",
            self.log()
        ))
    }

    /// The port picked by `free_port` is free when picked, not when the server binds it: make
    /// sure the server that answered is the process we started (INFO's `process_id`).
    fn check_identity(&self, conn: &mut Conn) -> Result<(), String> {
        let expected = self.pid().map(|p| p.to_string());
        match conn.try_info_field("server", "process_id") {
            Some(pid) if Some(&pid) != expected.as_ref() => Err(format!(
                "127.0.0.1:{} is served by another process (pid {pid}, ours {expected:?})",
                self.port
            )),
            _ => Ok(()),
        }
    }

    pub fn log_path(&self) -> PathBuf {
        self.dir.join("server.log")
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    pub fn conn(&self) -> Conn {
        match Conn::connect(self.port) {
            Ok(c) => c,
            Err(e) => panic!(
                "connect to 127.0.0.1:{}: {e}\nlog:\n{}",
                self.port,
                self.log()
            ),
        }
    }

    /// How the process ended, if it has (reaped here).
    pub fn exit_status(&mut self) -> Option<std::process::ExitStatus> {
        self.child
            .as_mut()
            .and_then(|c| c.try_wait().ok().flatten())
    }

    /// True if the process is still running.
    pub fn alive(&mut self) -> bool {
        matches!(self.child.as_mut().map(|c| c.try_wait()), Some(Ok(None)))
    }

    fn signal(&self, sig: i32) {
        if let Some(pid) = self.pid() {
            // SAFETY: kill(2) on the pid of a child we started.
            unsafe { libc::kill(pid as i32, sig) };
        }
    }

    /// SIGKILL and reap.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGSTOP / SIGCONT.
    pub fn pause(&self) {
        self.signal(libc::SIGSTOP);
    }

    pub fn resume(&self) {
        self.signal(libc::SIGCONT);
    }

    /// SIGTERM and wait for exit (bounded).
    pub fn stop(&mut self) {
        self.signal(libc::SIGTERM);
        let mut child = self.child.take();
        if let Some(c) = child.as_mut() {
            let start = std::time::Instant::now();
            while start.elapsed() < Duration::from_secs(20) {
                if let Ok(Some(_)) = c.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Replaces the extra arguments used by the next [`ServerProc::restart`].
    pub fn set_args(&mut self, extra: &[&str]) {
        self.args = extra.iter().map(|s| s.to_string()).collect();
    }

    /// Restarts with the same port, directory and arguments.
    pub fn restart(&mut self) {
        self.kill();
        if let Err(e) = self
            .spawn()
            .and_then(|_| self.wait_ready(Duration::from_secs(60)))
        {
            panic!("restart failed: {e}");
        }
    }

    /// Keep the directory after drop (to inspect a failure).
    pub fn keep(&mut self) {
        self.keep_dir = true;
    }

    /// Waits until the log contains `needle`.
    pub fn wait_log(&self, needle: &str, timeout: Duration) {
        wait_for(&format!("log line containing {needle:?}"), timeout, || {
            self.log().contains(needle)
        });
    }
}

impl Drop for ServerProc {
    fn drop(&mut self) {
        self.resume();
        self.kill();
        if std::thread::panicking() {
            eprintln!(
                "--- server log ({}) ---\n{}",
                self.dir.display(),
                self.log()
            );
        } else if !self.keep_dir {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}
