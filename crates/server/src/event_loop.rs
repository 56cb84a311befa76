//! The event loop: readiness events, accepting and reading clients, handing their input to the
//! execution core, writing replies, the background threads' reports, signals and the cron.
//! The top of the server: it may call every module; none calls it.

use std::io::{self, Read};
use std::time::{Duration, Instant};

use mio::{Events, Token};

use crate::net::client::Conn;
use crate::net::{Listener, CLIENT_BASE, LISTENER_BASE};
use crate::persist::PersistEvent;
use crate::server::Server;
use crate::{log_verbose, log_warning};

/// Bytes read from one client per loop iteration before giving others a turn.
const READ_BUDGET: usize = 1024 * 1024;
const READ_CHUNK: usize = 16 * 1024;

impl Server {
    /// Runs until shutdown; returns the process exit code.
    pub fn run(&mut self) -> i32 {
        let mut events = Events::with_capacity(1024);
        loop {
            let timeout = self.poll_timeout();
            if let Err(e) = self.net.poll.poll(&mut events, Some(timeout)) {
                if e.kind() != io::ErrorKind::Interrupted {
                    log_warning!("Event loop error: {e}");
                }
            }
            self.exec.ks.now_ms = self.exec.clock.now_ms();
            for ev in events.iter() {
                self.handle_event(
                    ev.token(),
                    ev.is_readable() || ev.is_read_closed() || ev.is_error(),
                    ev.is_writable(),
                    ev.is_read_closed() || ev.is_error(),
                );
            }
            let pending: Vec<usize> = self.net.pending_read.drain(..).collect();
            for key in pending {
                if self.net.clients.contains(key) {
                    self.read_client(key, true);
                }
            }
            self.process_ready();
            self.drain_background();
            self.handle_signals();
            if self.life.last_cron.elapsed() >= Duration::from_millis(1000 / self.life.hz) {
                self.cron();
            }
            // Blocked clients time out on their deadline, not on the next cron tick (Valkey's
            // `handleBlockedClientsTimeout` in beforeSleep).
            let now = crate::util::now_ms();
            if self
                .exec
                .blocking
                .next_deadline_ms()
                .is_some_and(|d| d <= now)
            {
                crate::core::blocked::expire_timeouts(self, now);
            }
            self.before_sleep();
            if let Some(code) = self.life.exit_code {
                return code;
            }
        }
    }

    fn poll_timeout(&self) -> Duration {
        if !self.net.pending_read.is_empty() {
            return Duration::ZERO;
        }
        let period = Duration::from_millis(1000 / self.life.hz);
        let mut t = period.saturating_sub(self.life.last_cron.elapsed());
        if let Some(deadline) = self.exec.blocking.next_deadline_ms() {
            let until = (deadline - crate::util::now_ms()).max(0) as u64;
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
                let Some(c) = self.net.clients.get(key) else {
                    return;
                };
                if c.connecting {
                    if writable || readable {
                        crate::repl::replica::on_connect_event(self, key);
                    }
                    return;
                }
                if writable {
                    self.write_client(key);
                }
                if readable && self.net.clients.contains(key) {
                    self.read_client(key, closing);
                }
            }
        }
    }

    fn accept(&mut self, idx: usize) {
        loop {
            let accepted = match self.net.listeners.get(idx) {
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
        if self.net.clients.len() >= maxclients {
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
        let key =
            match self
                .net
                .add_client(conn, addr, laddr, self.exec.settings.proto_max_bulk_len)
            {
                Ok(key) => key,
                Err(e) => {
                    log_warning!("Error registering fd event for the new client: {e}");
                    return;
                }
            };
        crate::access::set_default_auth(self, key);
        self.stats.total_connections += 1;
        if let Some(c) = self.net.clients.get(key) {
            log_verbose!("Accepted {}", c.addr);
        }
    }

    /// Protected mode (Valkey's `clientAcceptHandler`): with `protected-mode yes` and a
    /// default user without passwords, only loopback and unix-socket clients are accepted.
    fn protected_mode_denial(&self, local: bool) -> Option<&'static str> {
        let default_nopass = self.acl.users.default_user().nopass;
        if local || !self.cfg.protected_mode || !default_nopass {
            return None;
        }
        Some(commands::errors::PROTECTED_MODE_DENIED)
    }

    /// Reads what the socket has (up to a budget), then processes complete commands.
    pub fn read_client(&mut self, key: usize, until_closed: bool) {
        if self.net.clients.get(key).is_none_or(|c| c.connecting)
            || crate::repl::replica::should_pause_reading(self, key)
        {
            return;
        }
        let limit = self.cfg.client_query_buffer_limit_bytes.max(0) as usize;
        let mut budget = READ_BUDGET;
        let mut closed = false;
        let mut got = 0usize;
        if let Some(c) = self.net.clients.get_mut(key) {
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
                            self.net.pending_read.push_back(key);
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
            if c.query.len() > limit && !c.is_primary_link() {
                log_warning!("Closing client that reached max query buffer length: {} (qbuf initial bytes: {:?})", crate::net::client::client_info(c, crate::util::now_ms()), String::from_utf8_lossy(&c.query[..c.query.len().min(64)]));
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
        if let Some(c) = self.net.clients.get_mut(key) {
            c.peer_closed = closed;
            self.net.ready.push((key, c.id));
        }
    }

    /// Runs what the clients read in this loop iteration sent. All their pipelines are parsed
    /// first and the keys they name prefetched together, so that with many clients sending
    /// one command each, the cache misses of their lookups overlap too.
    fn process_ready(&mut self) {
        if self.net.ready.is_empty() {
            return;
        }
        let ready = std::mem::take(&mut self.net.ready);
        let mut hashes = std::mem::take(&mut self.exec.prefetch_scratch);
        let mut members = std::mem::take(&mut self.exec.member_scratch);
        let mut db = None;
        for &(key, id) in &ready {
            if self.net.clients.get(key).is_some_and(|c| c.id == id) {
                if let Some(d) =
                    crate::core::input::parse_ahead(self, key, &mut hashes, &mut members)
                {
                    // Prefetching assumes one database; a mix is rare and only loses the hint.
                    db = db.or(Some(d));
                }
            }
        }
        if hashes.len() > 1 {
            crate::core::input::prefetch(self, db.unwrap_or(0), &hashes, &members);
        }
        hashes.clear();
        members.clear();
        self.exec.prefetch_scratch = hashes;
        self.exec.member_scratch = members;
        for &(key, id) in &ready {
            let Some(c) = self.net.clients.get(key) else {
                continue;
            };
            if c.id != id {
                continue;
            }
            if c.link_slot().is_some() && !c.is_primary_link() {
                crate::repl::replica::link_input(self, key);
            } else {
                crate::core::process_input(self, key);
            }
            if self
                .net
                .clients
                .get(key)
                .is_some_and(|c| c.id == id && c.peer_closed)
            {
                self.free_client(key);
            }
        }
        let mut ready = ready;
        ready.clear();
        if self.net.ready.is_empty() {
            self.net.ready = ready;
        }
    }

    /// Writes pending output; closes the client on error or after a final reply.
    pub fn write_client(&mut self, key: usize) {
        let Some(c) = self.net.clients.get_mut(key) else {
            return;
        };
        if c.in_transfer || c.connecting {
            return;
        }
        match c.write_pending() {
            Ok(n) => {
                self.stats.net_output_bytes += n as u64;
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
        let Some(mut c) = self.net.clients.remove(key) else {
            return;
        };
        let _ = self.net.poll.registry().deregister(c.conn.source());
        c.conn.shutdown();
        self.exec
            .watches
            .forget(c.id, std::mem::take(&mut c.watched));
        self.exec
            .pubsub
            .unsubscribe_all(c.id, &c.channels, &c.patterns);
        self.exec.blocking.remove_client(c.id);
        // A parked client (on keys, WAIT or a pause) stops counting in blocked_clients.
        if c.blocked.is_some() {
            self.exec.blocking.blocked_clients =
                self.exec.blocking.blocked_clients.saturating_sub(1);
        }
        self.exec.monitors.retain(|&id| id != c.id);
        crate::repl::on_client_freed(self, &c);
        log_verbose!("Client closed connection {}", c.addr);
    }

    /// Called before polling again: resume clients unblocked outside the core, run commands
    /// held by a pause that ended, write propagation to the stream, flush replies, close
    /// clients.
    fn before_sleep(&mut self) {
        if std::mem::take(&mut self.exec.pause.release_pending) {
            crate::core::blocked::release_paused(self);
        }
        for key in std::mem::take(&mut self.net.resume) {
            if self.net.clients.contains(key) {
                crate::core::process_input(self, key);
            }
        }
        crate::core::flush_units(self);
        crate::repl::before_sleep(self);
        let keys: Vec<usize> = self
            .net
            .clients
            .iter()
            .filter(|(_, c)| c.has_output() || c.close_asap)
            .map(|(k, _)| k)
            .collect();
        for key in keys {
            match self.net.clients.get(key) {
                None => continue,
                Some(c) if c.close_asap => self.free_client(key),
                Some(_) => self.write_client(key),
            }
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
        while let Some(ev) = self.persist.events.try_recv() {
            match ev {
                PersistEvent::SaveDone(outcome) => crate::persist::on_save_done(self, outcome),
                PersistEvent::LoadDone(res) => {
                    if let Some(history) = crate::persist::on_load_done(self, *res) {
                        crate::repl::on_rdb_loaded(self, history.repl);
                        // A primary restarting with its history propagates the deletion of the
                        // keys that expired while it was down, so its replicas can continue it.
                        let del: &'static [u8] = if self.cfg.lazyfree_lazy_expire {
                            b"UNLINK"
                        } else {
                            b"DEL"
                        };
                        for (db, key) in history.expired {
                            let cmd = [bytes::Bytes::from_static(del), bytes::Bytes::from(key)];
                            crate::repl::feed(self, db, &cmd);
                        }
                    }
                }
            }
        }
        while let Some(ev) = self.repl.events.try_recv() {
            crate::repl::on_background(self, ev);
        }
    }

    /// Periodic work (`serverCron`), `hz` times per second.
    fn cron(&mut self) {
        self.exec.clock.anchor();
        self.life.last_cron = Instant::now();
        self.life.cron_loops += 1;
        let now = crate::util::now_ms();
        self.exec.ks.now_ms = now;
        self.exec.ks.lru.update_clock(now);
        self.stats
            .sample(now, self.stats.net_input_bytes, self.stats.net_output_bytes);
        crate::cmd::client_cmd::cron_clients(self, now);
        crate::core::blocked::expire_timeouts(self, now);
        if !self.exec.loading && self.exec.active_expire && !self.exec.pause.writes_paused(now) {
            let effort = self.cfg.active_expire_effort.clamp(1, 10) as usize;
            let budget = Duration::from_micros(25_000 * effort as u64 / self.life.hz.max(1));
            self.exec
                .ks
                .active_expire(20 + 5 * effort, Instant::now() + budget);
            crate::core::propagate_expired(self);
            // A writable replica expires the keys its own clients gave a TTL (the primary
            // never will); once a second, as Redis's replicationCron.
            if self.life.cron_loops.is_multiple_of(self.life.hz.max(1)) {
                // Not propagated: `repl::feed` never writes a replica's own changes.
                self.exec.ks.expire_replica_local_keys();
                crate::core::propagate_expired(self);
            }
        }
        // Background eviction when over the limit without incoming writes.
        if !self.exec.pause.writes_paused(now) {
            let is_replica = self.repl.is_replica();
            crate::exec::evict::perform_evictions(&mut self.exec, &self.net, &self.cfg, is_replica);
            crate::core::flush_units(self);
        }
        crate::persist::cron(self, now);
        crate::repl::cron(self, now);
        crate::core::blocked::pause_cron(self, now);
        if let Some(req) = self.life.shutdown.take() {
            crate::persist::try_shutdown(self, req);
        }
    }

    fn on_input(&mut self, key: usize, got: usize) {
        let now = crate::util::now_ms();
        let Some(c) = self.net.clients.get_mut(key) else {
            return;
        };
        c.last_interaction_ms = now;
        if c.link_slot().is_some() {
            crate::repl::on_primary_input(self, key, got);
        }
    }
}
