//! The server state and its event loop.
//!
//! One thread runs this loop and owns the keyspace (DESIGN decision 1): it accepts connections,
//! reads and parses requests, executes commands one at a time, and writes replies. Snapshot
//! serialisation, lazy freeing and file I/O for saves run on other threads and report back
//! through their subsystems' channels ([`crate::bg`]) and a mio `Waker`.

use std::collections::VecDeque;
use std::io;
use std::sync::Arc;
use std::time::Instant;

use commands::Settings;
use keyspace::Keyspace;
use mio::net::UnixListener;
use mio::{Interest, Poll, Token, Waker};

use crate::config::Config;
use crate::exec::Exec;
use crate::net::{Listener, Net, LISTENER_BASE, WAKER};
use crate::stats::Stats;
use crate::{log_notice, log_verbose, log_warning};

/// State of the server, owned by the event-loop thread, split by concern: a function takes
/// the parts it needs, so its signature says what it may touch.
pub struct Server {
    pub cfg: Config,
    /// Sockets, clients and the channel from background threads.
    pub net: Net,
    /// The command executor: the keyspace and everything commands change besides it.
    pub exec: Exec,
    pub persist: crate::persist::state::Persist,
    pub repl: crate::repl::state::Repl,
    pub stats: Stats,
    /// ACL users and the ACL LOG.
    pub acl: crate::access::state::AclState,
    /// Process lifetime: identity, cron timing, shutdown.
    pub life: Life,
}

/// Process lifetime.
pub struct Life {
    pub run_id: String,
    pub start: Instant,
    pub start_unix_ms: i64,
    pub executable: String,
    /// A shutdown requested by a signal or SHUTDOWN, carried out at the next cron.
    pub shutdown: crate::persist::state::ShutdownState,
    pub exit_code: Option<i32>,
    pub hz: u64,
    pub cron_loops: u64,
    pub last_cron: Instant,
    pub mem_peak: u64,
    pub mem_startup: u64,
    /// DEBUG PAUSE-CRON: the cron does nothing while set.
    pub cron_paused: bool,
    /// Serves other clients while a script is busy (see `event_loop`'s busy pass). The event
    /// loop installs it when it starts; the execution core calls it from inside a running
    /// script, which it could not do by naming the event loop (the loop sits above the core).
    pub serve_while_busy: fn(&mut Server),
    /// Runs one command replayed from the AOF (client key, argv) through the execution
    /// core; installed at start-up for the same reason as `serve_while_busy` (persistence
    /// sits below the core).
    pub replay_command: fn(&mut Server, usize, Vec<bytes::Bytes>),
    /// `oom-score-adj` bookkeeping.
    pub oom: crate::oom::OomState,
}

/// The busy pass before the event loop runs: nothing to serve.
fn no_busy_pass(_: &mut Server) {}

/// Replaying before the core is installed would lose the command: never done (start-up
/// installs the core's before loading anything).
fn no_replay(_: &mut Server, _: usize, argv: Vec<bytes::Bytes>) {
    crate::log_warning!(
        "Internal error: an AOF command ({}) was replayed before the execution core was installed. Exiting.",
        String::from_utf8_lossy(argv.first().map_or(&b""[..], |a| &a[..]))
    );
    std::process::exit(1);
}

impl Server {
    pub fn new(cfg: Config) -> io::Result<Server> {
        let poll = Poll::new()?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
        let databases = cfg.databases.max(1) as usize;
        let mut s = Server {
            net: Net {
                poll,
                clients: Default::default(),
                listeners: Vec::new(),
                next_client_id: 1,
                pending_read: VecDeque::new(),
                ready: Vec::new(),
                resume: Vec::new(),
                waker: waker.clone(),
                tls: None,
                query_pool: Default::default(),
                migrate: Default::default(),
            },
            exec: Exec {
                ks: {
                    // The LRU clocks start at the time of day, not 0: a key written before the
                    // first cron pass would otherwise look idle since 1970 once it ran.
                    let mut ks = Keyspace::new(databases);
                    let now = crate::util::now_ms();
                    ks.now_ms = now;
                    ks.lru.update_clock(now);
                    ks
                },
                settings: Settings::default(),
                clock: crate::clock::Clock::new(),
                pubsub: Default::default(),
                tracking: Default::default(),
                blocking: Default::default(),
                watches: Default::default(),
                monitors: Vec::new(),
                prefetch_scratch: Vec::new(),
                member_scratch: Vec::new(),
                pause: Default::default(),
                loading: false,
                prop: Default::default(),
                events: Vec::new(),
                call_dirty: 0,
                call_rewrite: None,
                active_expire: true,
                evict_due: false,
                scripting: Default::default(),
            },
            persist: crate::persist::state::Persist::new(waker.clone()),
            repl: crate::repl::state::Repl::new(waker, &cfg),
            stats: Stats::default(),
            acl: crate::access::state::AclState::new(cfg.acl_pubsub_default == "allchannels"),
            life: Life {
                run_id: crate::util::random_hex40(),
                start: Instant::now(),
                start_unix_ms: crate::util::now_ms(),
                executable: std::env::current_exe()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default(),
                shutdown: Default::default(),
                exit_code: None,
                hz: 10,
                cron_loops: 0,
                last_cron: Instant::now(),
                mem_peak: 0,
                mem_startup: crate::exec::evict::used_memory(),
                cron_paused: false,
                serve_while_busy: no_busy_pass,
                replay_command: no_replay,
                oom: Default::default(),
            },
            cfg,
        };
        s.apply_config();
        Ok(s)
    }

    /// Derives the runtime state that depends on the configuration (at start-up and after
    /// every CONFIG SET): command settings, LRU/LFU parameters, cron frequency, log level, the
    /// watchdog, the process title.
    pub fn apply_config(&mut self) {
        let c = &self.cfg;
        let usize_of = |v: i64| v.max(0) as usize;
        self.exec.settings = commands::Settings {
            hash: types::HashLimits {
                max_entries: usize_of(c.hash_max_listpack_entries),
                max_value: usize_of(c.hash_max_listpack_value_bytes),
            },
            set: types::SetLimits {
                max_intset_entries: usize_of(c.set_max_intset_entries),
                max_listpack_entries: usize_of(c.set_max_listpack_entries),
                max_listpack_value: usize_of(c.set_max_listpack_value_bytes),
            },
            zset: types::ZSetLimits {
                max_entries: usize_of(c.zset_max_listpack_entries),
                max_value: usize_of(c.zset_max_listpack_value_bytes),
            },
            list: types::ListLimits {
                fill: c.list_max_listpack_size,
                packed_threshold: self.exec.settings.list.packed_threshold,
                compress: c.list_compress_depth.clamp(0, i64::from(u32::MAX)) as u32,
            },
            stream: types::stream::StreamLimits {
                node_max_bytes: c.stream_node_max_bytes.max(0) as u64,
                node_max_entries: c.stream_node_max_entries.max(0) as u64,
            },
            proto_max_bulk_len: usize_of(c.proto_max_bulk_len_bytes),
            hll_sparse_max_bytes: usize_of(c.hll_sparse_max_bytes),
            lazyfree_lazy_user_del: c.lazyfree_lazy_user_del,
            lazyfree_lazy_user_flush: c.lazyfree_lazy_user_flush,
            lazyfree_lazy_server_del: c.lazyfree_lazy_server_del,
            notify_classes: c.notify_keyspace_events.0,
        };
        self.exec.ks.lru.lfu = c.maxmemory_policy.is_lfu();
        self.exec.ks.lazy_expire = c.lazyfree_lazy_expire;
        self.exec.ks.lru.lfu_log_factor = c.lfu_log_factor.clamp(0, u32::MAX as i64) as u32;
        self.exec.ks.lru.lfu_decay_time = c.lfu_decay_time_mins.clamp(0, u32::MAX as i64) as u32;
        self.life.hz = c.hz.clamp(1, 500) as u64;
        crate::crash::cron(
            c.watchdog_period_ms,
            self.life.hz as i64,
            c.crash_log_enabled,
        );
        crate::proctitle::apply(c);
        self.acl.users.pubsub_all = c.acl_pubsub_default == "allchannels";
        crate::log::set_level(crate::log::Level::parse(c.loglevel.name()));
        for (_, cl) in self.net.clients.iter_mut() {
            cl.parser.max_bulk_len = self.exec.settings.proto_max_bulk_len;
        }
    }

    /// Opens the listening sockets from `bind`, `port`, `tls-port` and `unixsocket`.
    pub fn listen(&mut self) -> io::Result<()> {
        let backlog = self.cfg.tcp_backlog as i32;
        for (port, tls) in [
            (self.cfg.port as u16, false),
            (self.cfg.tls_port as u16, true),
        ] {
            if port == 0 {
                continue;
            }
            let binds = self.cfg.bind.0.clone();
            for b in binds {
                let optional = b.starts_with('-');
                let host = b.trim_start_matches('-');
                let host = if host == "*" {
                    "0.0.0.0"
                } else if host == "::*" {
                    "::"
                } else {
                    host
                };
                match crate::util::bind_tcp(host, port, backlog) {
                    Ok(l) if tls => self.add_listener(Listener::Tls(l))?,
                    Ok(l) => self.add_listener(Listener::Tcp(l))?,
                    Err(e) if optional => {
                        log_verbose!("Skipping optional bind address {host}: {e}")
                    }
                    Err(e) => {
                        let kind = if tls { "tls" } else { "tcp" };
                        log_warning!("Warning: Could not create server {kind} listening socket {host}:{port}: {e}");
                        return Err(e);
                    }
                }
            }
        }
        let path = self.cfg.unixsocket.clone();
        if !path.is_empty() {
            let _ = std::fs::remove_file(&path);
            let l = UnixListener::bind(&path)?;
            let perm = self.cfg.unixsocketperm.0;
            if perm != 0 {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(perm))?;
            }
            self.add_listener(Listener::Unix(l))?;
        }
        Ok(())
    }

    fn add_listener(&mut self, mut l: Listener) -> io::Result<()> {
        let token = Token(LISTENER_BASE + self.net.listeners.len());
        match &mut l {
            Listener::Tcp(t) | Listener::Tls(t) => {
                self.net
                    .poll
                    .registry()
                    .register(t, token, Interest::READABLE)?
            }
            Listener::Unix(u) => self
                .net
                .poll
                .registry()
                .register(u, token, Interest::READABLE)?,
        }
        self.net.listeners.push(l);
        Ok(())
    }

    /// Closes listeners (port change, shutdown).
    pub fn close_listeners(&mut self) {
        for mut l in self.net.listeners.drain(..) {
            let _ = match &mut l {
                Listener::Tcp(t) | Listener::Tls(t) => self.net.poll.registry().deregister(t),
                Listener::Unix(u) => self.net.poll.registry().deregister(u),
            };
        }
    }

    /// Uptime in seconds.
    pub fn uptime(&self) -> u64 {
        self.life.start.elapsed().as_secs()
    }

    /// Records the peak of used memory.
    pub fn stats_peak(&mut self, used: u64) {
        self.life.mem_peak = self.life.mem_peak.max(used);
    }

    pub fn persist_peak(&self) -> u64 {
        self.life.mem_peak
    }

    pub fn startup_memory(&self) -> u64 {
        self.life.mem_startup
    }

    /// Logs a notice line (helper for modules that hold `&mut Server`).
    pub fn notice(&self, msg: &str) {
        log_notice!("{msg}");
    }
}
