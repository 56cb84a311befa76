//! The event loop: readiness events, accepting and reading clients, handing their input to the
//! execution core, writing replies, the background threads' reports, signals and the cron.
//! The top of the server: it may call every module; none calls it.

use std::io::{self, Read};
use std::time::{Duration, Instant};

use mio::{Events, Token};

use crate::net::client::Conn;
use crate::net::tls::TlsStream;
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
        self.life.serve_while_busy = Server::serve_while_busy;
        let mut events = Events::with_capacity(1024);
        loop {
            let timeout = self.poll_timeout();
            if let Err(e) = self.net.poll.poll(&mut events, Some(timeout)) {
                if e.kind() != io::ErrorKind::Interrupted {
                    log_warning!("Event loop error: {e}");
                }
            }
            self.exec.ks.now_ms = self.exec.clock.now_ms();
            let cycle_start = self.exec.clock.mono_us();
            let commands_before = self.stats.total_commands;
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
            let mut cron_us = 0;
            if self.life.last_cron.elapsed() >= Duration::from_millis(1000 / self.life.hz) {
                let cron_start = self.exec.clock.mono_us();
                self.cron();
                cron_us = self.exec.clock.mono_us().saturating_sub(cron_start);
            }
            crate::core::blocked::backpressure_pass(self);
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
            let cycle_us = self.exec.clock.mono_us().saturating_sub(cycle_start);
            let commands = self.stats.total_commands.saturating_sub(commands_before);
            self.stats.eventloop.add_cycle(cycle_us, cron_us, commands);
            if let Some(code) = self.life.exit_code {
                return code;
            }
        }
    }

    /// The busy pass: one bounded round of serving other clients from inside a script that
    /// passed `busy-reply-threshold` (the execution core calls it through
    /// `Life::serve_while_busy` at the script's interrupt checks, every 100,000 Lua
    /// instructions).
    ///
    /// It polls once without waiting, accepts connections, writes pending replies, and reads
    /// and runs what ordinary clients sent: each command goes through the usual
    /// `process_command`, whose checks answer `-BUSY` to everything but the commands flagged
    /// `allow_busy` (SCRIPT KILL and FUNCTION KILL mark the script killed; FUNCTION STATS,
    /// SHUTDOWN NOSAVE, MULTI, WATCH, AUTH, REPLCONF...). It never re-enters the running
    /// script: EVAL and FCALL are answered `-BUSY`, and the engine is lent to the run anyway.
    /// Left for after the script, as Valkey leaves them: the caller's input (its client is in
    /// use, like Valkey's protected client: neither read, written nor freed here), the
    /// replication links' input (a primary's stream is applied after the script, a full sync
    /// is never installed under it), background reports, signals and the cron. What such
    /// clients had ready is re-read by the main loop (`pending_read`). The script's frozen
    /// time and the executor flags it runs with are restored when the pass ends. A SHUTDOWN
    /// accepted here exits at once, as Valkey's does.
    pub(crate) fn serve_while_busy(&mut self) {
        // A running script's caller, or while the AOF loads, its loader (clients then get
        // -LOADING from the usual checks).
        let Some(caller) = self
            .exec
            .scripting
            .running
            .as_ref()
            .map(|r| r.caller)
            .or(self.persist.aof.serving_key)
        else {
            return;
        };
        let now_ms = self.exec.ks.now_ms;
        let no_touch = self.exec.ks.no_touch;
        let obey_all = std::mem::replace(&mut self.exec.ks.obey_all, false);
        // Replies written in this pass include those of commands run before the script in
        // this loop iteration: their AOF writes go first, as in `before_sleep`.
        crate::persist::aof::flush(self);
        let mut events = Events::with_capacity(256);
        if let Err(e) = self.net.poll.poll(&mut events, Some(Duration::ZERO)) {
            if e.kind() != io::ErrorKind::Interrupted {
                log_warning!("Event loop error: {e}");
            }
        }
        let mut later = Vec::new();
        for ev in events.iter() {
            let token = ev.token().0;
            if (LISTENER_BASE..CLIENT_BASE).contains(&token) {
                self.accept(token - LISTENER_BASE);
                continue;
            }
            let Some(key) = token.checked_sub(CLIENT_BASE) else {
                continue;
            };
            let Some(c) = self.net.clients.get(key) else {
                continue;
            };
            let readable = ev.is_readable() || ev.is_read_closed() || ev.is_error();
            if c.connecting {
                crate::repl::replica::on_connect_event(self, key);
                continue;
            }
            if key == caller || c.link_id().is_some() {
                if readable {
                    later.push(key);
                }
                continue;
            }
            if ev.is_writable() {
                self.write_client(key);
            }
            if readable && self.net.clients.contains(key) {
                self.read_client(key, ev.is_read_closed() || ev.is_error());
            }
        }
        // What this pass read, and what clients read earlier in the loop iteration that ran
        // the script still hold (the outer loop processes them only after the script).
        self.net.ready.clear();
        let waiting: Vec<(usize, u64)> = self
            .net
            .clients
            .iter()
            .filter(|(k, c)| {
                *k != caller
                    && c.link_id().is_none()
                    && (!c.pending.is_empty() || !c.query.is_empty() || c.peer_closed)
            })
            .map(|(k, c)| (k, c.id))
            .collect();
        for (key, id) in waiting {
            crate::core::process_input(self, key);
            if self
                .net
                .clients
                .get(key)
                .is_some_and(|c| c.id == id && c.peer_closed)
            {
                self.free_client(key);
            }
        }
        if let Some(code) = self.life.exit_code {
            // SHUTDOWN NOSAVE: no new connection from here, and exit before the connection
            // that asked is closed (its client sees the close, then nobody listens).
            log_warning!("Exiting while a script is busy (SHUTDOWN NOSAVE).");
            self.close_listeners();
            std::process::exit(code);
        }
        crate::core::flush_units(self);
        crate::persist::aof::flush(self);
        let pending: Vec<(usize, bool)> = self
            .net
            .clients
            .iter()
            .filter(|(k, c)| *k != caller && (c.has_output() || c.close_asap))
            .map(|(k, c)| (k, c.close_asap))
            .collect();
        for (key, close) in pending {
            if close {
                self.free_client(key);
            } else {
                self.write_client(key);
            }
        }
        self.net.pending_read.extend(later);
        self.exec.ks.now_ms = now_ms;
        self.exec.ks.no_touch = no_touch;
        self.exec.ks.obey_all = obey_all;
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
                Some(Listener::Tls(l)) => match l.accept() {
                    Ok((s, a)) => {
                        let _ = s.set_nodelay(true);
                        let laddr = s.local_addr().map(|a| a.to_string()).unwrap_or_default();
                        let session = match &self.net.tls {
                            Some(ctx) => ctx.accept(&self.cfg.tls_auth_clients),
                            None => Err("TLS is not configured".into()),
                        };
                        match session {
                            Ok(session) => {
                                let conn = Conn::Tls(Box::new(TlsStream::new(s, session)));
                                Ok((conn, a.to_string(), laddr, a.ip().is_loopback()))
                            }
                            Err(e) => {
                                log_warning!("Error accepting a client connection: {e} (addr={a} laddr={laddr})");
                                continue;
                            }
                        }
                    }
                    Err(e) => Err(e),
                },
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
        if let Some(s) = conn.tcp() {
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
            if c.query.capacity() == 0 && !c.query_owned {
                // Links between primary and replica read into buffers of their own (their
                // offsets count every byte); ordinary clients borrow one.
                match c.link_id().is_some() || c.is_primary_link() {
                    true => c.query_owned = true,
                    false => c.query = self.net.query_pool.lend(),
                }
            }
            loop {
                let spare = c.query.capacity() - c.query.len();
                // A big argument's buffer was sized for it by the parser: its end is read into
                // the room left, never by growing the buffer (which would double it).
                let sized_for_big_arg = spare > 0
                    && c.parser
                        .awaited_bulk()
                        .is_some_and(|n| n >= resp::request::BIG_ARG);
                if !sized_for_big_arg {
                    let want = match c.parser.in_progress() {
                        true => READ_CHUNK.max(spare),
                        false => READ_CHUNK,
                    };
                    c.query.reserve(want);
                }
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
                        match &c.conn {
                            Conn::Tls(t) if t.handshaking() => log_warning!(
                                "Error accepting a client connection: {e} (addr={} laddr={})",
                                c.addr,
                                c.laddr
                            ),
                            Conn::Tls(_) => {
                                log_warning!("TLS error on the connection of {}: {e}", c.addr)
                            }
                            _ => log_verbose!("Reading from client: {e}"),
                        }
                        closed = true;
                        break;
                    }
                }
            }
            c.query_peak = c.query_peak.max(c.query.len());
            if c.query.len() > limit && !c.is_primary_link() && !c.close_asap {
                self.stats.client_query_buffer_limit_disconnections += 1;
                log_warning!("Closing client that reached max query buffer length: {} (qbuf initial bytes: {:?})", crate::net::client::client_info(c, crate::util::now_ms()), String::from_utf8_lossy(&c.query[..c.query.len().min(64)]));
                c.close_asap = true;
            }
        }
        self.stats.net_input_bytes += got as u64;
        if let Some(c) = self.net.clients.get_mut(key) {
            c.net_in_bytes += got as u64;
        }
        if got > 0 {
            self.on_input(key, got);
        }
        // Input read earlier in this loop iteration and not processed yet (the client was read
        // more than once) is processed before the close is acted on.
        let unprocessed = closed && got == 0 && self.net.ready.iter().any(|&(k, _)| k == key);
        if closed && got == 0 && !unprocessed {
            self.free_client(key);
            return;
        }
        // Data followed by the peer's close in one read: what it sent is still processed
        // (a client that writes a command and closes, a primary that sends the end of a
        // payload and closes), then the client is freed.
        if let Some(c) = self.net.clients.get_mut(key) {
            c.peer_closed |= closed;
            if !unprocessed {
                self.net.ready.push((key, c.id));
            }
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
            if c.link_id().is_some() && !c.is_primary_link() {
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
                c.net_out_bytes += n as u64;
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
        self.exec.pubsub.unsubscribe_all(&mut c);
        crate::exec::tracking::disable(&mut self.exec.tracking, &mut c);
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
        // Client-side caching: changes made outside commands, then this iteration's BCAST
        // invalidations.
        crate::exec::tracking::before_sleep(&mut self.exec, &mut self.net);
        crate::repl::before_sleep(self);
        // The AOF is written (and with `appendfsync always` fsynced) before any reply of
        // this pass goes out.
        crate::persist::aof::flush(self);
        // WAITAOF: fsyncs finish in the background; a replica reports its AOF in its ACKs.
        let fsynced = crate::persist::aof::fsynced_repl_offset(self);
        self.repl.follower.set_aof_offset(fsynced);
        if !self.exec.blocking.waiting_acks.is_empty() {
            crate::repl::primary::check_waiters(self);
            for key in std::mem::take(&mut self.net.resume) {
                if self.net.clients.contains(key) {
                    crate::core::process_input(self, key);
                }
            }
            // What the released clients ran next is appended before its replies too.
            crate::core::flush_units(self);
            crate::persist::aof::flush(self);
        }
        crate::cmd::client_cmd::evict_clients(self);
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
        crate::shutdown::on_signal(self, req);
    }

    fn drain_background(&mut self) {
        while let Some(ev) = self.persist.events.try_recv() {
            match ev {
                PersistEvent::SaveDone(outcome) => crate::persist::on_save_done(self, outcome),
                PersistEvent::AofRewriteDone(id, res) => {
                    crate::persist::aof::on_rewrite_done(self, id, res)
                }
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
        // The watchdog waits for the next pass (it fires when one takes longer).
        crate::crash::cron(
            self.cfg.watchdog_period_ms,
            self.life.hz as i64,
            self.cfg.crash_log_enabled,
        );
        if self.life.cron_paused {
            // DEBUG PAUSE-CRON 1: no periodic work at all until resumed.
            return;
        }
        self.life.cron_loops += 1;
        let now = crate::util::now_ms();
        self.exec.ks.now_ms = now;
        self.exec.ks.lru.update_clock(now);
        self.stats
            .sample(now, self.stats.net_input_bytes, self.stats.net_output_bytes);
        let mono_us = self.exec.clock.mono_us();
        self.stats.eventloop.sample(now, mono_us);
        let max_keys = self.cfg.tracking_table_max_keys;
        crate::exec::tracking::limit_used_slots(&mut self.exec, &mut self.net, max_keys);
        crate::cmd::client_cmd::cron_clients(self, now);
        self.net.migrate.close_idle(now);
        crate::core::blocked::expire_timeouts(self, now);
        if !self.exec.loading && self.exec.active_expire && !self.exec.pause.writes_paused(now) {
            let effort = self.cfg.active_expire_effort.clamp(1, 10) as usize;
            let budget = Duration::from_micros(25_000 * effort as u64 / self.life.hz.max(1));
            let started = Instant::now();
            self.exec
                .ks
                .active_expire(20 + 5 * effort, started + budget);
            let ms = started.elapsed().as_millis() as u64;
            crate::stats::latency_maybe_add(&mut self.stats, &self.cfg, "expire-cycle", ms);
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
            let held = self.repl.replica_memory(&self.net);
            crate::exec::evict::perform_evictions(&mut self.exec, &self.cfg, is_replica, held);
            crate::core::flush_units(self);
        }
        crate::persist::cron(self, now);
        crate::persist::aof::cron(self);
        crate::repl::cron(self, now);
        crate::core::blocked::pause_cron(self, now);
        crate::shutdown::cron(self, now);
    }

    fn on_input(&mut self, key: usize, got: usize) {
        let now = crate::util::now_ms();
        let Some(c) = self.net.clients.get_mut(key) else {
            return;
        };
        c.last_interaction_ms = now;
        if c.link_id().is_some() {
            crate::repl::on_primary_input(self, key, got);
        }
    }
}
