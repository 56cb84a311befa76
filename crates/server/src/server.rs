//! The server state and its event loop.
//!
//! One thread runs this loop and owns the keyspace (DESIGN decision 1): it accepts connections,
//! reads and parses requests, executes commands one at a time, and writes replies. Snapshot
//! serialisation, lazy freeing and file I/O for saves run on other threads and report back
//! through [`BgEvent`]s and a mio `Waker`.

use std::collections::{HashMap, VecDeque};
use std::io::{self, Read};
use std::sync::mpsc::{Receiver, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use commands::Settings;
use keyspace::Keyspace;
use mio::net::{TcpListener, UnixListener};
use mio::{Events, Interest, Poll, Token, Waker};
use slab::Slab;

use crate::client::{Client, Conn};
use crate::config::Config;
use crate::stats::Stats;
use crate::{log_notice, log_verbose, log_warning};

pub const WAKER: Token = Token(0);
const LISTENER_BASE: usize = 1;
pub const CLIENT_BASE: usize = 1024;
/// Bytes read from one client per loop iteration before giving others a turn.
const READ_BUDGET: usize = 1024 * 1024;
const READ_CHUNK: usize = 16 * 1024;

/// Messages from background threads to the event loop.
pub enum BgEvent {
    /// A snapshot save to disk finished (BGSAVE or replication to disk).
    SaveDone(crate::persist::SaveOutcome),
    /// The start-up load finished.
    LoadDone(Box<Result<persistence::Loaded, String>>),
    /// A replication-related background task reports.
    Repl(crate::repl::ReplBgEvent),
}

pub enum Listener {
    Tcp(TcpListener),
    Unix(UnixListener),
}

/// State of the server, owned by the event-loop thread.
pub struct Server {
    pub cfg: Config,
    pub ks: Keyspace,
    pub settings: Settings,
    pub poll: Poll,
    pub clients: Slab<Client>,
    pub client_index: HashMap<u64, usize>,
    pub listeners: Vec<Listener>,
    pub next_client_id: u64,
    pub stats: Stats,
    pub pubsub: crate::pubsub::PubSub,
    pub blocking: crate::blocking::Blocking,
    pub watched: HashMap<(usize, Bytes), Vec<u64>>,
    pub monitors: Vec<u64>,
    pub pending_read: VecDeque<usize>,
    /// Clients (slab key, id) that read input in this loop iteration, to be processed.
    ready: Vec<(usize, u64)>,
    /// Scratch space for the key hashes prefetched by [`Server::process_ready`].
    pub prefetch_scratch: Vec<u64>,
    /// Scratch space for the collection members prefetched with them.
    pub member_scratch: Vec<crate::dispatch::MemberHint>,
    /// The cheap per-command clock (see [`crate::clock`]).
    pub clock: crate::clock::Clock,
    pub waker: Arc<Waker>,
    pub bg_tx: Sender<BgEvent>,
    pub bg_rx: Receiver<BgEvent>,
    pub persist: crate::persist::Persist,
    pub repl: crate::repl::Repl,
    pub pause: crate::cmd::client_cmd::PauseState,
    pub run_id: String,
    pub start: Instant,
    pub start_unix_ms: i64,
    pub shutdown: Option<crate::persist::ShutdownRequest>,
    pub hz: u64,
    pub cron_loops: u64,
    pub last_cron: Instant,
    /// True while a dataset is being loaded (replies -LOADING to most commands).
    pub loading: bool,
    pub exec_depth: usize,
    pub prop_unit: Vec<(usize, Vec<Bytes>)>,
    pub call_dirty: u64,
    pub call_rewrite: Option<Vec<Vec<Bytes>>>,
    pub executable: String,
    pub exit_code: Option<i32>,
    /// DEBUG SET-ACTIVE-EXPIRE.
    pub active_expire: bool,
    pub mem_peak: u64,
    pub mem_startup: u64,
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

pub fn now_us() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0)
}

impl Server {
    pub fn new(cfg: Config) -> io::Result<Server> {
        let poll = Poll::new()?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
        let (bg_tx, bg_rx) = std::sync::mpsc::channel();
        let databases = cfg.databases.max(1) as usize;
        let mut s = Server {
            ks: Keyspace::new(databases),
            settings: Settings::default(),
            poll,
            clients: Slab::new(),
            client_index: HashMap::new(),
            listeners: Vec::new(),
            next_client_id: 1,
            stats: Stats::default(),
            pubsub: Default::default(),
            blocking: Default::default(),
            watched: HashMap::new(),
            monitors: Vec::new(),
            pending_read: VecDeque::new(),
            ready: Vec::new(),
            prefetch_scratch: Vec::new(),
            member_scratch: Vec::new(),
            clock: crate::clock::Clock::new(),
            waker,
            bg_tx,
            bg_rx,
            persist: Default::default(),
            repl: crate::repl::Repl::new(),
            pause: Default::default(),
            run_id: crate::util::random_hex40(),
            start: Instant::now(),
            start_unix_ms: now_ms(),
            shutdown: None,
            hz: 10,
            cron_loops: 0,
            last_cron: Instant::now(),
            loading: false,
            exec_depth: 0,
            prop_unit: Vec::new(),
            call_dirty: 0,
            call_rewrite: None,
            executable: std::env::current_exe()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            exit_code: None,
            active_expire: true,
            mem_peak: 0,
            mem_startup: crate::evict::used_memory(),
            cfg,
        };
        s.apply_config();
        Ok(s)
    }

    /// Derives the runtime state that depends on the configuration (at start-up and after
    /// every CONFIG SET): command settings, LRU/LFU parameters, cron frequency, log level.
    pub fn apply_config(&mut self) {
        let c = &self.cfg;
        let usize_of = |v: i64| v.max(0) as usize;
        self.settings = commands::Settings {
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
                packed_threshold: self.settings.list.packed_threshold,
            },
            proto_max_bulk_len: usize_of(c.proto_max_bulk_len_bytes),
            hll_sparse_max_bytes: usize_of(c.hll_sparse_max_bytes),
            lazyfree_lazy_user_del: c.lazyfree_lazy_user_del,
            lazyfree_lazy_user_flush: c.lazyfree_lazy_user_flush,
            lazyfree_lazy_server_del: c.lazyfree_lazy_server_del,
            notify_classes: c.notify_keyspace_events.0,
        };
        self.ks.lru.lfu = c.maxmemory_policy.is_lfu();
        self.ks.lru.lfu_log_factor = c.lfu_log_factor.clamp(0, u32::MAX as i64) as u32;
        self.ks.lru.lfu_decay_time = c.lfu_decay_time_mins.clamp(0, u32::MAX as i64) as u32;
        self.hz = c.hz.clamp(1, 500) as u64;
        crate::log::set_level(crate::log::Level::parse(c.loglevel.name()));
        for (_, cl) in self.clients.iter_mut() {
            cl.parser.max_bulk_len = self.settings.proto_max_bulk_len;
        }
    }

    /// Opens the listening sockets from `bind`, `port` and `unixsocket`.
    pub fn listen(&mut self) -> io::Result<()> {
        let port = self.cfg.port as u16;
        let backlog = self.cfg.tcp_backlog as i32;
        if port != 0 {
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
                    Ok(l) => self.add_listener(Listener::Tcp(l))?,
                    Err(e) if optional => {
                        log_verbose!("Skipping optional bind address {host}: {e}")
                    }
                    Err(e) => {
                        log_warning!("Warning: Could not create server TCP listening socket {host}:{port}: {e}");
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
        if self.listeners.is_empty() {
            log_warning!("Configured to not listen anywhere, exiting.");
            return Err(io::Error::other("no listening sockets"));
        }
        Ok(())
    }

    fn add_listener(&mut self, mut l: Listener) -> io::Result<()> {
        let token = Token(LISTENER_BASE + self.listeners.len());
        match &mut l {
            Listener::Tcp(t) => self
                .poll
                .registry()
                .register(t, token, Interest::READABLE)?,
            Listener::Unix(u) => self
                .poll
                .registry()
                .register(u, token, Interest::READABLE)?,
        }
        self.listeners.push(l);
        Ok(())
    }

    /// Closes listeners (port change, shutdown).
    pub fn close_listeners(&mut self) {
        for mut l in self.listeners.drain(..) {
            let _ = match &mut l {
                Listener::Tcp(t) => self.poll.registry().deregister(t),
                Listener::Unix(u) => self.poll.registry().deregister(u),
            };
        }
    }

    /// Runs until shutdown; returns the process exit code.
    pub fn run(&mut self) -> i32 {
        let mut events = Events::with_capacity(1024);
        loop {
            let timeout = self.poll_timeout();
            if let Err(e) = self.poll.poll(&mut events, Some(timeout)) {
                if e.kind() != io::ErrorKind::Interrupted {
                    log_warning!("Event loop error: {e}");
                }
            }
            self.ks.now_ms = self.clock.now_ms();
            for ev in events.iter() {
                self.handle_event(
                    ev.token(),
                    ev.is_readable() || ev.is_read_closed() || ev.is_error(),
                    ev.is_writable(),
                    ev.is_read_closed() || ev.is_error(),
                );
            }
            let pending: Vec<usize> = self.pending_read.drain(..).collect();
            for key in pending {
                if self.clients.contains(key) {
                    self.read_client(key, true);
                }
            }
            self.process_ready();
            self.drain_background();
            self.handle_signals();
            if self.last_cron.elapsed() >= Duration::from_millis(1000 / self.hz) {
                self.cron();
            }
            self.before_sleep();
            if let Some(code) = self.exit_code {
                return code;
            }
        }
    }

    fn poll_timeout(&self) -> Duration {
        if !self.pending_read.is_empty() {
            return Duration::ZERO;
        }
        let period = Duration::from_millis(1000 / self.hz);
        let mut t = period.saturating_sub(self.last_cron.elapsed());
        if let Some(deadline) = self.blocking.next_deadline_ms() {
            let until = (deadline - now_ms()).max(0) as u64;
            t = t.min(Duration::from_millis(until));
        }
        t
    }

    /// `closing`: the peer's close (or an error) is already known, so reading goes on until
    /// the read that reports it.
    fn handle_event(&mut self, token: Token, readable: bool, writable: bool, closing: bool) {
        match token.0 {
            0 => {}
            t if (LISTENER_BASE..CLIENT_BASE).contains(&t) => self.accept(t - LISTENER_BASE),
            t => {
                let key = t - CLIENT_BASE;
                if !self.clients.contains(key) {
                    return;
                }
                if self.clients[key].connecting {
                    if writable || readable {
                        crate::repl::replica::on_connect_event(self, key);
                    }
                    return;
                }
                if writable {
                    self.write_client(key);
                }
                if readable && self.clients.contains(key) {
                    self.read_client(key, closing);
                }
            }
        }
    }

    fn accept(&mut self, idx: usize) {
        loop {
            let accepted = match self.listeners.get(idx) {
                Some(Listener::Tcp(l)) => l.accept().map(|(s, a)| {
                    let _ = s.set_nodelay(true);
                    let laddr = s.local_addr().map(|a| a.to_string()).unwrap_or_default();
                    (Conn::Tcp(s), a.to_string(), laddr, a.ip().is_loopback())
                }),
                Some(Listener::Unix(l)) => l.accept().map(|(s, _)| {
                    let path = self.cfg.unixsocket.clone();
                    (Conn::Unix(s), format!("{path}:0"), path, true)
                }),
                None => return,
            };
            match accepted {
                Ok((conn, addr, laddr, local)) => self.register_client(conn, addr, laddr, local),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    log_warning!("Accepting client connection: {e}");
                    return;
                }
            }
        }
    }

    fn register_client(&mut self, mut conn: Conn, addr: String, laddr: String, local: bool) {
        let maxclients = self.cfg.maxclients as usize;
        if self.clients.len() >= maxclients {
            use std::io::Write;
            let _ = conn.write(b"-ERR max number of clients reached\r\n");
            self.stats.rejected_conn += 1;
            return;
        }
        if let Some(msg) = self.protected_mode_denial(local) {
            use std::io::Write;
            let _ = conn.write(msg.as_bytes());
            self.stats.rejected_conn += 1;
            return;
        }
        if let Conn::Tcp(s) = &conn {
            crate::util::set_keepalive(s, self.cfg.tcp_keepalive_secs as u32);
        }
        let entry = self.clients.vacant_entry();
        let key = entry.key();
        let token = Token(CLIENT_BASE + key);
        if let Err(e) = self.poll.registry().register(
            conn.source(),
            token,
            Interest::READABLE | Interest::WRITABLE,
        ) {
            log_warning!("Error registering fd event for the new client: {e}");
            return;
        }
        let id = self.next_client_id;
        self.next_client_id += 1;
        let mut c = Client::new(
            id,
            token,
            conn,
            addr,
            laddr,
            now_ms(),
            self.settings.proto_max_bulk_len,
        );
        c.authenticated = self.cfg.requirepass.is_empty();
        c.parser.auth_required = !c.authenticated;
        entry.insert(c);
        self.client_index.insert(id, key);
        self.stats.total_connections += 1;
        log_verbose!("Accepted {}", self.clients[key].addr);
    }

    /// Redis's protected mode: no password, default bind, and a non-loopback peer.
    fn protected_mode_denial(&self, local: bool) -> Option<&'static str> {
        if local || !self.cfg.protected_mode || !self.cfg.requirepass.is_empty() {
            return None;
        }
        if self.cfg.bind.0 != ["*", "-::*"] {
            return None;
        }
        Some("-DENIED Redwing is running in protected mode because protected mode is enabled and no password is set for the default user. In this mode connections are only accepted from the loopback interface. If you want to connect from external computers to Redwing you may adopt one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redwing from the same host the server is running, however MAKE SURE Redwing is not publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the protected mode by editing the Redwing configuration file, and setting the protected mode option to 'no', and then restarting the server. 3) If you started the server manually just for testing, restart it with the '--protected-mode no' option. 4) Set up an authentication password for the default user. NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside.\r\n")
    }

    /// Registers an outgoing connection (a replica's link to its primary) as a client.
    pub fn register_outgoing(
        &mut self,
        mut conn: Conn,
        addr: String,
        slot: crate::client::LinkSlot,
    ) -> io::Result<usize> {
        let entry = self.clients.vacant_entry();
        let key = entry.key();
        let token = Token(CLIENT_BASE + key);
        self.poll.registry().register(
            conn.source(),
            token,
            Interest::READABLE | Interest::WRITABLE,
        )?;
        let id = self.next_client_id;
        self.next_client_id += 1;
        let mut c = Client::new(id, token, conn, addr, String::new(), now_ms(), usize::MAX);
        c.authenticated = true;
        c.link_slot = Some(slot);
        c.connecting = true;
        entry.insert(c);
        self.client_index.insert(id, key);
        Ok(key)
    }

    /// Reads what the socket has (up to a budget), then processes complete commands.
    pub fn read_client(&mut self, key: usize, until_closed: bool) {
        if self.clients[key].connecting || crate::repl::replica::should_pause_reading(self, key) {
            return;
        }
        let limit = self.cfg.client_query_buffer_limit_bytes.max(0) as usize;
        let mut budget = READ_BUDGET;
        let mut closed = false;
        let mut got = 0usize;
        {
            let c = &mut self.clients[key];
            loop {
                let want = match c.parser.in_progress() {
                    true => READ_CHUNK.max(c.query.capacity() - c.query.len()),
                    false => READ_CHUNK,
                };
                c.query.reserve(want);
                let spare = c.query.spare_capacity_mut();
                // SAFETY: reading into uninitialised spare capacity; we only mark as initialised
                // the bytes the read reports.
                let buf = unsafe {
                    std::slice::from_raw_parts_mut(
                        spare.as_mut_ptr() as *mut u8,
                        spare.len().min(budget.max(READ_CHUNK)),
                    )
                };
                match c.conn.read(buf) {
                    Ok(0) => {
                        closed = true;
                        break;
                    }
                    Ok(n) => {
                        let short = n < buf.len();
                        // SAFETY: `n` bytes were written by read().
                        unsafe { c.query.set_len(c.query.len() + n) };
                        got += n;
                        budget = budget.saturating_sub(n);
                        if budget == 0 {
                            self.pending_read.push_back(key);
                            break;
                        }
                        // A short read emptied the socket's queue: data (or a close) arriving
                        // later raises a new edge-triggered event, so the read that would only
                        // return EAGAIN is skipped (one syscall per client per loop saved). A
                        // close already reported with this event is read to the end.
                        if short && !until_closed {
                            break;
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => {
                        log_verbose!("Reading from client: {e}");
                        closed = true;
                        break;
                    }
                }
            }
            if c.query.len() > limit && !c.is_primary_link {
                log_warning!("Closing client that reached max query buffer length: {} (qbuf initial bytes: {:?})", crate::cmd::client_cmd::client_info(c, now_ms()), String::from_utf8_lossy(&c.query[..c.query.len().min(64)]));
                c.close_asap = true;
            }
        }
        self.stats.net_input_bytes += got as u64;
        if got > 0 {
            self.on_input(key, got);
        }
        if closed && got == 0 {
            self.free_client(key);
            return;
        }
        // Data followed by the peer's close in one read: what it sent is still processed
        // (a client that writes a command and closes, a primary that sends the end of a
        // payload and closes), then the client is freed.
        self.clients[key].peer_closed = closed;
        let id = self.clients[key].id;
        self.ready.push((key, id));
    }

    /// Runs what the clients read in this loop iteration sent. All their pipelines are parsed
    /// first and the keys they name prefetched together, so that with many clients sending
    /// one command each, the cache misses of their lookups overlap too.
    fn process_ready(&mut self) {
        if self.ready.is_empty() {
            return;
        }
        let ready = std::mem::take(&mut self.ready);
        let mut hashes = std::mem::take(&mut self.prefetch_scratch);
        let mut members = std::mem::take(&mut self.member_scratch);
        let mut db = None;
        for &(key, id) in &ready {
            if self.clients.get(key).is_some_and(|c| c.id == id) {
                if let Some(d) = crate::dispatch::parse_ahead(self, key, &mut hashes, &mut members)
                {
                    // Prefetching assumes one database; a mix is rare and only loses the hint.
                    db = db.or(Some(d));
                }
            }
        }
        if hashes.len() > 1 {
            crate::dispatch::prefetch(self, db.unwrap_or(0), &hashes, &members);
        }
        hashes.clear();
        members.clear();
        self.prefetch_scratch = hashes;
        self.member_scratch = members;
        for &(key, id) in &ready {
            let Some(c) = self.clients.get(key) else {
                continue;
            };
            if c.id != id {
                continue;
            }
            if c.link_slot.is_some() && !c.is_primary_link {
                crate::repl::replica::link_input(self, key);
            } else {
                crate::dispatch::process_input(self, key);
            }
            if self
                .clients
                .get(key)
                .is_some_and(|c| c.id == id && c.peer_closed)
            {
                self.free_client(key);
            }
        }
        let mut ready = ready;
        ready.clear();
        if self.ready.is_empty() {
            self.ready = ready;
        }
    }

    /// Writes pending output; closes the client on error or after a final reply.
    pub fn write_client(&mut self, key: usize) {
        if self.clients[key].in_transfer || self.clients[key].connecting {
            return;
        }
        let result = self.clients[key].write_pending();
        match result {
            Ok(n) => {
                self.stats.net_output_bytes += n as u64;
                let c = &self.clients[key];
                if c.close_after_reply && !c.has_output() {
                    self.free_client(key);
                }
            }
            Err(e) => {
                log_verbose!("Error writing to client: {e}");
                self.free_client(key);
            }
        }
    }

    /// Removes a client and everything that refers to it.
    pub fn free_client(&mut self, key: usize) {
        if !self.clients.contains(key) {
            return;
        }
        let mut c = self.clients.remove(key);
        self.client_index.remove(&c.id);
        let _ = self.poll.registry().deregister(c.conn.source());
        c.conn.shutdown();
        crate::cmd::multi::drop_watches(&mut self.watched, c.id, std::mem::take(&mut c.watched));
        self.pubsub.unsubscribe_all(c.id, &c.channels, &c.patterns);
        self.blocking.remove_client(c.id);
        self.monitors.retain(|&id| id != c.id);
        crate::repl::on_client_freed(self, &c);
        log_verbose!("Client closed connection {}", c.addr);
    }

    /// Called before polling again: serve unblocked clients, flush replies, close clients.
    fn before_sleep(&mut self) {
        crate::repl::before_sleep(self);
        let keys: Vec<usize> = self
            .clients
            .iter()
            .filter(|(_, c)| c.has_output() || c.close_asap)
            .map(|(k, _)| k)
            .collect();
        for key in keys {
            if !self.clients.contains(key) {
                continue;
            }
            if self.clients[key].close_asap {
                self.free_client(key);
                continue;
            }
            self.write_client(key);
        }
    }

    /// SIGTERM / SIGINT → shutdown (`shutdown-on-sigterm` / `shutdown-on-sigint` options).
    fn handle_signals(&mut self) {
        let Some(sig) = crate::signals::take() else {
            return;
        };
        let (name, flags) = if sig == libc::SIGINT {
            ("SIGINT", self.cfg.shutdown_on_sigint)
        } else {
            ("SIGTERM", self.cfg.shutdown_on_sigterm)
        };
        log_warning!("Received {name} scheduling shutdown...");
        let req = crate::persist::ShutdownRequest {
            save: flags.save,
            nosave: flags.nosave,
            now: flags.now,
            force: flags.force,
            client: None,
        };
        crate::persist::try_shutdown(self, req);
    }

    fn drain_background(&mut self) {
        while let Ok(ev) = self.bg_rx.try_recv() {
            match ev {
                BgEvent::SaveDone(outcome) => crate::persist::on_save_done(self, outcome),
                BgEvent::LoadDone(res) => crate::persist::on_load_done(self, *res),
                BgEvent::Repl(e) => crate::repl::on_background(self, e),
            }
        }
    }

    /// Periodic work (`serverCron`), `hz` times per second.
    fn cron(&mut self) {
        self.clock.anchor();
        self.last_cron = Instant::now();
        self.cron_loops += 1;
        let now = now_ms();
        self.ks.now_ms = now;
        self.ks.lru.update_clock(now);
        self.stats
            .sample(now, self.stats.net_input_bytes, self.stats.net_output_bytes);
        crate::cmd::client_cmd::cron_clients(self, now);
        crate::blocking::expire_timeouts(self, now);
        if !self.loading && self.active_expire && !crate::cmd::client_cmd::writes_paused(self) {
            let effort = self.cfg.active_expire_effort.clamp(1, 10) as usize;
            let budget = Duration::from_micros(25_000 * effort as u64 / self.hz.max(1));
            self.ks
                .active_expire(20 + 5 * effort, Instant::now() + budget);
            crate::dispatch::propagate_expired(self);
            // A writable replica expires the keys its own clients gave a TTL (the primary
            // never will); once a second, as Redis's replicationCron.
            if self.cron_loops.is_multiple_of(self.hz.max(1)) {
                // Not propagated: `repl::feed` never writes a replica's own changes.
                self.ks.expire_replica_local_keys();
                crate::dispatch::propagate_expired(self);
            }
        }
        crate::evict::cron(self);
        crate::persist::cron(self, now);
        crate::repl::cron(self, now);
        crate::cmd::client_cmd::pause_cron(self, now);
        if let Some(req) = self.shutdown.take() {
            crate::persist::try_shutdown(self, req);
        }
    }

    /// Finds a client by id.
    pub fn client_key(&self, id: u64) -> Option<usize> {
        self.client_index.get(&id).copied()
    }

    /// Uptime in seconds.
    pub fn uptime(&self) -> u64 {
        self.start.elapsed().as_secs()
    }

    fn on_input(&mut self, key: usize, got: usize) {
        let now = now_ms();
        let c = &mut self.clients[key];
        c.last_interaction_ms = now;
        if c.link_slot.is_some() {
            crate::repl::on_primary_input(self, key, got);
        }
    }

    /// Records the peak of used memory.
    pub fn stats_peak(&mut self, used: u64) {
        self.mem_peak = self.mem_peak.max(used);
    }

    pub fn persist_peak(&self) -> u64 {
        self.mem_peak
    }

    pub fn startup_memory(&self) -> u64 {
        self.mem_startup
    }

    /// Logs a notice line (helper for modules that hold `&mut Server`).
    pub fn notice(&self, msg: &str) {
        log_notice!("{msg}");
    }
}
