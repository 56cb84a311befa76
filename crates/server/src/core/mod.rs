//! The execution core: every command runs through here, whatever its origin — a client's
//! request, a command queued in a MULTI and run by EXEC, the replication stream of this node's
//! primary, or a blocked command run again because a key it waits on changed. One path means
//! the same checks (in Redis's order), the same statistics, the same keyspace side effects, and
//! what to propagate decided once:
//!
//! ```text
//! process_command ─ resolve, arity, checks, MULTI queueing, CLIENT PAUSE
//!        │
//!        ▼
//!      call ─ handler (data: commands::call::run; server: cmd::run) ─ Outcome
//!        │      stats, SLOWLOG, LATENCY, MONITOR
//!        │      block the client (BLPOP & co), or
//!        │      dirty → exec.prop (one execution unit; MULTI/EXEC around several commands)
//!        │      keyspace notifications → pub/sub
//!        ▼
//!   after_command ─ WATCH invalidation, blocked clients served, units to the stream
//! ```
//!
//! [`input`] turns bytes into commands, [`multi`] is MULTI/EXEC/WATCH, [`blocked`] serves and
//! times out blocked clients, [`redact`] keeps secrets out of SLOWLOG and MONITOR. Nothing
//! below this module calls into it.

pub mod blocked;
pub mod input;
pub mod multi;
pub mod redact;
pub mod script;
pub mod server_cmds;

use bytes::Bytes;

use crate::config::renames::Named;
use commands::errors::{self, err};
use commands::notify::{self, KeyEvent};
use commands::spec::flags as f;
use commands::{CommandSpec, Ctx, Handler};
use resp::Reply;

use crate::net::client::BlockKind;
use crate::server::Server;

pub use input::process_input;

/// Where a command comes from: decides whether it may block and how its reply is used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// A client's request, or a command of its MULTI run by EXEC.
    Client,
    /// The stream of this node's primary: its writes must apply, nothing blocks, replies are
    /// dropped (the client's role suppresses them).
    Primary,
    /// A blocked client's command run again because a key it waits on changed: if it still
    /// finds nothing, the client stays blocked and nothing is recorded.
    Unblocked,
    /// `server.call` / `server.pcall` of a running script ([`script`]): the caller's client
    /// lends its database and protocol (set to the script's), nothing blocks, the reply goes
    /// back to Lua, and the effects join the caller's execution unit unless the script
    /// turned replication off (`server.set_repl`).
    Script {
        /// Its writes reach the replicas (`server.set_repl`).
        replicas: bool,
        /// Its writes reach the AOF.
        aof: bool,
    },
}

/// Full name for errors and stats (`config|get`), precomputed in the table.
pub fn full_name(spec: &'static CommandSpec) -> &'static str {
    commands::table::full_name_of(spec)
}

/// Redis's `processCommand`: checks, MULTI queueing, then `call`, then the work after a
/// top-level command.
pub fn process_command(s: &mut Server, key: usize, mut argv: Vec<Bytes>) {
    if !renamed_to_original(s, &mut argv) {
        return reject(s, key, errors::unknown_command(&argv), None, &argv);
    }
    // Client-side caching: this client is the current one (NOLOOP, its own invalidations
    // after its reply) from its checks until its reply is out.
    let client_cmd = argv
        .first()
        .is_some_and(|a| a.eq_ignore_ascii_case(b"client"));
    if let Some(id) = s.net.clients.get(key).map(|c| c.id) {
        crate::exec::tracking::begin_command(&mut s.exec, id);
    }
    dispatch(s, key, argv);
    finish_reply(s, key, client_cmd);
}

/// `rename-command`: a client's (or a script's) command named by its new name is given its
/// original name, under which it runs, propagates and is logged; false for a name renamed
/// away (an unknown command).
pub fn renamed_to_original(s: &Server, argv: &mut [Bytes]) -> bool {
    let Some(name) = argv.first() else {
        return true;
    };
    match s.cfg.renames.named(name) {
        Named::AsIs => true,
        Named::Unknown => false,
        Named::Original(original) => {
            argv[0] = Bytes::from_static(original.as_bytes());
            true
        }
    }
}

/// After a client's reply: the invalidations and other pushes its command caused for
/// itself follow it, and its output is checked against `client-output-buffer-limit` at
/// once (as Valkey does when replies are added), not only by the cron.
fn finish_reply(s: &mut Server, key: usize, client_cmd: bool) {
    crate::exec::tracking::after_reply(&mut s.exec, &mut s.net, client_cmd);
    if let Some(c) = s.net.clients.get_mut(key) {
        c.end_deferred_pushes();
    }
    crate::cmd::client_cmd::check_output_limit(s, key);
}

/// The flags pauses and backpressure look at: a write (or may-replicate) command's, and an
/// EXEC's whose transaction holds one (Valkey's `is_write_command` in `processCommand`).
fn pause_flags(
    scripting: &crate::exec::scripts::ScriptState,
    c: &crate::net::client::Client,
    spec: &CommandSpec,
    argv: &[Bytes],
) -> u64 {
    let mut flags = scripting.command_flags(spec, argv);
    if spec.name == "exec" {
        flags |= multi::queued_flags(scripting, c) & (f::WRITE | f::MAY_REPLICATE);
    }
    flags
}

fn dispatch(s: &mut Server, key: usize, argv: Vec<Bytes>) {
    s.exec.ks.now_ms = s.exec.clock.now_ms();
    s.exec.ks.expire_paused = s.exec.pause.writes_paused(s.exec.ks.now_ms);
    let spec = match commands::call::resolve(&argv) {
        Ok(spec) => spec,
        Err(e) => {
            // CLIENT LIST's `cmd=NULL` and the `<unknown>` command of a replica's log line.
            if let Some(c) = s.net.clients.get_mut(key) {
                c.last_cmd = "NULL";
            }
            return reject(s, key, e, None, &argv);
        }
    };
    let name = full_name(spec);
    // CLIENT LIST's `cmd=` (and the ACL LOG's client info) name the command found, even one
    // refused below, as Valkey's `c->lastcmd`.
    if let Some(c) = s.net.clients.get_mut(key) {
        c.last_cmd = name;
    }
    if !spec.arity_ok(argv.len()) || matches!(spec.handler, Handler::Container) {
        return reject(s, key, errors::wrong_arity(name), Some(name), &argv);
    }
    // While FAILOVER hands over, what would be redirected waits for its end (Valkey 8): the
    // node that answers it is then known.
    if s.repl.failover.handing_over()
        && s.net
            .clients
            .get(key)
            .is_some_and(|c| redirects(s, c, spec, s.exec.scripting.command_flags(spec, &argv)))
    {
        blocked::hold_paused(s, key, argv);
        return;
    }
    if let Some(e) = precheck(s, key, spec, &argv) {
        return reject(s, key, e, Some(name), &argv);
    }
    let Some(c) = s.net.clients.get_mut(key) else {
        return;
    };
    if c.multi.is_some()
        && !matches!(
            spec.name,
            "exec" | "discard" | "multi" | "watch" | "quit" | "reset"
        )
    {
        if let Some(m) = c.multi.as_mut() {
            m.push(argv);
        }
        c.reply(&Reply::status("QUEUED"));
        return;
    }
    let origin = if c.is_primary_link() {
        Origin::Primary
    } else {
        Origin::Client
    };
    let from_client = origin == Origin::Client && !c.is_replica();
    let throttle_done = std::mem::take(&mut c.throttle_done);
    let flags = pause_flags(&s.exec.scripting, c, spec, &argv);
    if from_client && blocked::held_by_pause(s, flags) {
        blocked::hold_paused(s, key, argv);
        return;
    }
    if from_client && !throttle_done {
        let delay = crate::repl::pressure::write_delay(s, spec, flags);
        if delay > 0 {
            blocked::hold_throttled(s, key, argv, delay);
            return;
        }
    }
    if let Some(reply) = call(s, key, spec, argv, origin) {
        if let Some(c) = s.net.clients.get_mut(key) {
            c.reply(&reply);
            c.reply_mode = c.reply_mode.after_reply();
        }
    }
    after_command(s);
}

/// Replies with an error before execution; inside MULTI it also dooms the transaction, and a
/// rejected EXEC discards it with EXECABORT.
fn reject(s: &mut Server, key: usize, e: Reply, name: Option<&str>, argv: &[Bytes]) {
    if let Some(code) = e.error_code() {
        s.stats.count_error(code);
    }
    if let Some(n) = name {
        s.stats.command_by_name(n).rejected_calls += 1;
    }
    // Redis: a rejected EXEC (found, but failing a check) aborts with EXECABORT, except a
    // redirected one (its transaction is already discarded; the reply is the -REDIRECT).
    let redirect = e.error_code().is_some_and(|c| c == "REDIRECT");
    if name.is_some() && argv[0].eq_ignore_ascii_case(b"exec") && !redirect {
        multi::abort(s, key, &e);
        return;
    }
    let Some(c) = s.net.clients.get_mut(key) else {
        return;
    };
    if let Some(m) = c.multi.as_mut() {
        m.dirty_exec = true;
    }
    c.reply(&e);
}

/// A client that declared CLIENT CAPA REDIRECT is sent to the primary for this command: this
/// node is a replica, and it is a write, or a read without READONLY.
fn redirects(s: &Server, c: &crate::net::client::Client, spec: &CommandSpec, flags: u64) -> bool {
    if !c.capa_redirect || c.is_primary_link() || s.cfg.replicaof.0.is_none() {
        return false;
    }
    let queued = |flag: u64| spec.name == "exec" && multi::queued_has(c, flag);
    let is_write = flags & f::WRITE != 0 || queued(f::WRITE);
    let is_read = flags & f::READONLY != 0 || queued(f::READONLY);
    is_write || (is_read && !c.readonly)
}

/// The checks of `processCommand`, in Redis's order. Returns the error to reply, if any.
fn precheck(
    s: &mut Server,
    key: usize,
    spec: &'static CommandSpec,
    argv: &[Bytes],
) -> Option<Reply> {
    // EVAL and FCALL take the flags their script declared (Valkey's `getCommandFlags`).
    let flags = s.exec.scripting.command_flags(spec, argv);
    let has = |flag: u64| flags & flag != 0;
    let busy = s.exec.scripting.busy();
    let c = s.net.clients.get(key)?;
    let in_multi = c.multi.is_some();
    let from_primary = c.is_primary_link();
    if !from_primary && crate::access::auth_required(s, c.authenticated) && !spec.has(f::NO_AUTH) {
        return Some(err(errors::NOAUTH));
    }
    if let Some(e) = crate::cmd::introspect::protected_denied(s, spec, c.is_local()) {
        return Some(e);
    }
    if in_multi && spec.has(f::NO_MULTI) {
        return Some(err("ERR Command not allowed inside a transaction"));
    }
    // A replica's connection carries only REPLCONF ACKs; nothing it sends may touch the data
    // (Valkey: replicas are exempt from CLIENT PAUSE, so they must not write around it).
    if c.is_replica() && has(f::WRITE | f::READONLY | f::MAY_REPLICATE) {
        return Some(err("ERR Replica can't interact with the keyspace"));
    }
    if let Err(d) = crate::access::acl_check(s, key, spec, argv, None) {
        return Some(crate::access::noperm(s, key, spec, argv, d));
    }
    let c = s.net.clients.get(key)?;
    let is_write = has(f::WRITE) || (spec.name == "exec" && multi::queued_has(c, f::WRITE));
    // CLIENT CAPA REDIRECT on a replica (Valkey 8): writes, and reads unless READONLY, are sent
    // to the primary. A redirected EXEC discards its transaction (no EXECABORT).
    if redirects(s, c, spec, flags) {
        if let Some((host, port)) = s.cfg.replicaof.0.clone() {
            let e = Reply::error(format!("REDIRECT {host}:{port}"));
            if spec.name == "exec" {
                multi::discard_for_redirect(s, key);
            }
            return Some(e);
        }
    }
    let deny_oom = has(f::DENYOOM) || (spec.name == "exec" && multi::queued_has(c, f::DENYOOM));
    // Memory is reclaimed before deny-oom commands, which are refused if it cannot be, and, as
    // Valkey reclaims before any command, before the first other command after a write (a
    // cheaper proxy: reading jemalloc's counters costs more than most commands). Scripts decide
    // their own OOM checks from the state when the command started (Valkey's
    // `pre_command_oom_state`), so EVAL, FCALL and EXEC (which may run them) measure it too.
    // Not while a script is busy: evictions would mix with its effects.
    let runs_scripts = script::runs_scripts(spec);
    if !busy {
        s.exec.scripting.pre_command_oom = false;
    }
    let due = !busy && (std::mem::take(&mut s.exec.evict_due) || deny_oom || runs_scripts);
    if s.cfg.maxmemory_bytes > 0 && !from_primary && due {
        let is_replica = s.repl.is_replica();
        let held = s.repl.replica_memory(&s.net);
        let refused = crate::exec::evict::perform_evictions(&mut s.exec, &s.cfg, is_replica, held);
        s.exec.scripting.pre_command_oom = refused;
        flush_units(s);
        if refused && deny_oom {
            return Some(err(errors::OOM));
        }
    }
    // Client-side caching: evicted keys are invalidated before the command runs (not as its
    // own changes), and the tracking table is kept within its limit.
    crate::exec::tracking::sync(&mut s.exec, &mut s.net, None);
    let max_keys = s.cfg.tracking_table_max_keys;
    crate::exec::tracking::limit_used_slots(&mut s.exec, &mut s.net, max_keys);
    if is_write && !from_primary {
        if let Some(denial) = crate::persist::write_denial(s) {
            return Some(Reply::error(denial));
        }
    }
    if is_write && !from_primary && crate::repl::min_replicas_unmet(s) {
        return Some(err(errors::NOREPLICAS));
    }
    if is_write && !from_primary && s.repl.is_replica() && s.cfg.replica_read_only {
        return Some(err(errors::READONLY));
    }
    let c = s.net.clients.get(key)?;
    if c.in_pubsub()
        && c.resp == resp::RespVersion::Resp2
        && !matches!(
            spec.name,
            "ping"
                | "subscribe"
                | "ssubscribe"
                | "unsubscribe"
                | "sunsubscribe"
                | "psubscribe"
                | "punsubscribe"
                | "quit"
                | "reset"
        )
    {
        let name = full_name(spec);
        return Some(Reply::error(format!("ERR Can't execute '{name}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context")));
    }
    if !c.in_pubsub() && matches!(spec.name, "unsubscribe" | "sunsubscribe" | "punsubscribe") {
        return Some(errors::nosub(spec.name));
    }
    // EXEC is stale-safe only if every queued command is (Redis's `cmd_inv_flags`).
    let stale_ok = has(f::STALE) && !(spec.name == "exec" && multi::queued_lacks(c, f::STALE));
    if s.repl.is_replica()
        && !s.repl.link_up()
        && !s.cfg.replica_serve_stale_data
        && !stale_ok
        && !from_primary
    {
        return Some(err(errors::MASTERDOWN));
    }
    if s.exec.loading && !spec.has(f::LOADING) {
        return Some(err("LOADING Redwing is loading the dataset in memory"));
    }
    // A script past the busy threshold: only the commands allowed while busy run.
    if busy && !spec.has(f::ALLOW_BUSY) {
        return Some(s.exec.scripting.busy_error());
    }
    None
}

/// Executes one command (Redis's `call`). Returns its reply, or `None` when the client
/// blocked (or, for [`Origin::Unblocked`], is still blocked) and gets no reply now.
pub fn call(
    s: &mut Server,
    key: usize,
    spec: &'static CommandSpec,
    owned_argv: Vec<Bytes>,
    origin: Origin,
) -> Option<Reply> {
    let argv = &owned_argv[..];
    let name = full_name(spec);
    let start = s.exec.clock.mono_us();
    let top = s.exec.prop.depth() == 0;
    s.exec.ks.events.track = !s.exec.watches.is_empty()
        || !s.exec.blocking.is_empty()
        || s.exec.tracking.needs_touched();
    let id = s.net.clients.get(key)?.id;
    crate::exec::tracking::enter_call(&mut s.exec, &mut s.net, id, top);
    let c = s.net.clients.get_mut(key)?;
    // Pushes for this client while its command runs follow its reply (`finish_reply`).
    c.defer_pushes |= top;
    let db = c.db;
    let resp = c.resp;
    let may_block = match origin {
        Origin::Client => c.multi.is_none() && s.exec.prop.depth() == 0,
        Origin::Primary | Origin::Script { .. } => false,
        Origin::Unblocked => true,
    };
    s.exec.ks.no_touch = c.no_touch;
    // CLIENT LIST's `cmd=` is the top-level command (EXEC, not what it ran).
    if origin != Origin::Unblocked && s.exec.prop.depth() == 0 {
        c.last_cmd = name;
    }
    let offset_before = s.repl.offset();
    let fed_before = crate::persist::aof::fed_total(s);
    s.exec.prop.enter();
    if s.exec.prop.depth() == 1 && spec.has(f::TOUCHES_ARBITRARY_KEYS) {
        s.exec.prop.separate_current();
    }
    // SORT's BY/GET patterns need a user who may read every key.
    let acl_full_read = !matches!(spec.name, "sort" | "sort_ro")
        || crate::access::full_read_access(s, key, spec, argv);
    let reply_budget = match origin {
        Origin::Client | Origin::Unblocked => s.net.clients.get(key).map_or(u64::MAX, |c| {
            crate::cmd::client_cmd::reply_budget(c, &s.cfg.client_output_buffer_limit)
        }),
        Origin::Primary | Origin::Script { .. } => u64::MAX,
    };
    let (reply, mut outcome) = match spec.handler {
        Handler::Data(handler) => {
            let mut ctx = Ctx::new(&mut s.exec.ks, db, &s.exec.settings);
            ctx.reply_budget = reply_budget;
            ctx.acl_full_read = acl_full_read;
            ctx.resp = resp;
            ctx.may_block = may_block;
            ctx.unblocking = origin == Origin::Unblocked;
            ctx.from_script = matches!(origin, Origin::Script { .. });
            commands::call::run(handler, &mut ctx, argv)
        }
        Handler::Server(cmd) => {
            s.exec.call_dirty = 0;
            s.exec.call_rewrite = None;
            let reply = server_cmds::run_server(s, key, cmd, argv);
            let dirty = std::mem::take(&mut s.exec.call_dirty);
            let (verbatim, propagate) = match s.exec.call_rewrite.take() {
                Some(cmds) => (false, cmds.into_iter().filter(|c| !c.is_empty()).collect()),
                None => (dirty > 0, Vec::new()),
            };
            let outcome = commands::call::Outcome {
                dirty,
                verbatim,
                propagate,
                ..Default::default()
            };
            (reply, outcome)
        }
        Handler::Container => (errors::wrong_arity(name), Default::default()),
    };
    if outcome.reply_cut {
        crate::cmd::client_cmd::reply_cut(s, key);
    }
    crate::exec::tracking::leave_call(&mut s.exec, &mut s.net, spec, argv, top);
    // A command that parks still has its effects (XREADGROUP creating its consumer, keys its
    // lookups expired); it is counted in the statistics only when it ends.
    let parked = outcome.block.is_some();
    if let Some(b) = outcome.block.take() {
        if origin == Origin::Client {
            // MONITOR sees a blocking command once, when it is first called.
            feed_monitors_maybe(s, key, spec, argv, false);
            if let Some(c) = s.net.clients.get_mut(key) {
                s.exec
                    .blocking
                    .block(c, argv.to_vec(), b.keys, b.deadline_ms, BlockKind::Keys);
                if let (Some(new_argv), Some(blocked)) = (b.argv, c.blocked.as_mut()) {
                    blocked.argv = new_argv;
                }
                if b.on_nokey {
                    s.exec.blocking.wake_on_nokey(c.id);
                }
            }
        }
    }
    if !parked {
        let elapsed_us = s.exec.clock.mono_us().saturating_sub(start);
        let from_script = matches!(origin, Origin::Script { .. });
        record_stats(s, key, spec, argv, &reply, elapsed_us);
        if origin != Origin::Unblocked {
            feed_monitors_maybe(s, key, spec, argv, from_script);
        }
    }
    // A data command raised `expired` itself, in its own order, for keys its lookups deleted.
    let handler_raised_expired = matches!(spec.handler, Handler::Data(_));
    expired_to_stream(s, !handler_raised_expired);
    // Nothing reads the stream unless this node is a primary with a backlog (replicas proxy
    // their primary's bytes instead): then there is nothing to build.
    let targets = match origin {
        Origin::Script { replicas, aof } => crate::exec::propagate::Targets { aof, replicas },
        _ => crate::exec::propagate::Targets::ALL,
    };
    let propagating = (s.repl.propagating() || crate::persist::aof::active(s))
        && !s.persist.aof.replaying
        && (targets.aof || targets.replicas);
    s.persist.dirty += outcome.dirty;
    s.exec.evict_due |= outcome.dirty > 0;
    if propagating {
        // SELECT inside the handler (and MOVE/SWAPDB-like cases) changed the database: what
        // it propagates belongs to the database it ran in.
        let db = s.net.clients.get(key).map_or(db, |c| c.db);
        if outcome.verbatim {
            s.exec.prop.push_to(db, owned_argv, targets);
        }
        for cmd in outcome.propagate {
            s.exec.prop.push_to(db, cmd, targets);
        }
    }
    if !outcome.notifications.is_empty() {
        publish_notifications(s, &outcome.notifications);
    }
    s.exec.prop.leave();
    flush_units(s);
    // WAIT counts from the offset after the client's last write: its own command's, or its
    // script's, whose effects reached the stream when the script's unit closed.
    let offset = s.repl.offset();
    let fed = crate::persist::aof::fed_total(s);
    if outcome.dirty > 0 || offset != offset_before || fed != fed_before {
        if let Some(c) = s.net.clients.get_mut(key) {
            c.woff = offset;
            c.aof_woff = fed;
        }
    }
    (!parked).then_some(reply)
}

fn record_stats(
    s: &mut Server,
    key: usize,
    spec: &'static CommandSpec,
    argv: &[Bytes],
    reply: &Reply,
    us: u64,
) {
    s.stats.total_commands += 1;
    if let Some(c) = s.net.clients.get_mut(key) {
        c.commands_processed += 1;
    }
    if s.exec.prop.depth() == 1 {
        s.stats.eventloop.cmd_us += us;
    }
    let tracking_latency = s.cfg.latency_tracking;
    let st = s.stats.command(spec);
    st.calls += 1;
    st.usec += us;
    if tracking_latency {
        st.record_latency(us);
    }
    // A script's error that a failed `server.call` already counted is counted once.
    let counted = std::mem::take(&mut s.exec.scripting.error_counted);
    let custom = std::mem::take(&mut s.exec.scripting.error_custom);
    if let Some(code) = reply.error_code() {
        st.failed_calls += 1;
        match (counted, custom) {
            (true, _) => {}
            (false, true) => s.stats.count_custom_error(code),
            (false, false) => s.stats.count_error(code),
        }
    }
    if !spec.has(f::SKIP_SLOWLOG) {
        // A script's commands are logged with the client that ran the script (Valkey 8).
        let client = s
            .net
            .clients
            .get(key)
            .map(|c| (c.addr.as_str(), c.name.as_ref()));
        let shown = redact::shown(argv);
        crate::stats::slowlog_maybe_add(&mut s.stats, &s.cfg, client, &shown, us);
        let event = if spec.has(f::FAST) {
            "fast-command"
        } else {
            "command"
        };
        crate::stats::latency_maybe_add(&mut s.stats, &s.cfg, event, us / 1000);
    }
}

fn feed_monitors_maybe(
    s: &mut Server,
    key: usize,
    spec: &'static CommandSpec,
    argv: &[Bytes],
    from_script: bool,
) {
    if !spec.has(f::SKIP_MONITOR) && !s.exec.monitors.is_empty() && !spec.has(f::ADMIN) {
        let argv = &*redact::shown(argv);
        if from_script {
            let db = s.net.clients.get(key).map_or(0, |c| c.db);
            crate::cmd::introspect::feed_monitors_as(s, db, "lua", argv);
        } else {
            crate::cmd::introspect::feed_monitors(s, key, argv);
        }
    }
}

/// Publishes keyspace events as `notify-keyspace-events` asks: on `__keyspace@<db>__:<key>`
/// (K) with the event as message, and on `__keyevent@<db>__:<event>` (E) with the key.
pub fn publish_notifications(s: &mut Server, events: &[KeyEvent]) {
    let flags = s.cfg.notify_keyspace_events.0;
    for ev in events {
        if flags & ev.class == 0 {
            continue;
        }
        if flags & notify::KEYSPACE != 0 {
            let mut channel = format!("__keyspace@{}__:", ev.db).into_bytes();
            channel.extend_from_slice(&ev.key);
            let message = Bytes::from_static(ev.event.as_bytes());
            crate::exec::pubsub::publish(&s.exec.pubsub, &mut s.net, &channel.into(), &message);
        }
        if flags & notify::KEYEVENT != 0 {
            let channel = Bytes::from(format!("__keyevent@{}__:{}", ev.db, ev.event));
            crate::exec::pubsub::publish(&s.exec.pubsub, &mut s.net, &channel, &ev.key);
        }
    }
}

/// Propagates DELs (or UNLINKs) for keys that expired during lookups or the active cycle, and
/// raises their `expired` events.
pub fn propagate_expired(s: &mut Server) {
    expired_to_stream(s, true);
}

/// [`propagate_expired`]; `raise` is false when a data command already raised the events.
fn expired_to_stream(s: &mut Server, raise: bool) {
    if s.exec.ks.events.expired.is_empty() {
        return;
    }
    let cmd: &'static [u8] = if s.cfg.lazyfree_lazy_expire {
        b"UNLINK"
    } else {
        b"DEL"
    };
    let expired = std::mem::take(&mut s.exec.ks.events.expired);
    let notify = raise && s.cfg.notify_keyspace_events.0 & notify::EXPIRED != 0;
    let mut events = Vec::new();
    for (db, k) in expired {
        let key = Bytes::from(k);
        if notify {
            events.push(KeyEvent {
                class: notify::EXPIRED,
                event: "expired",
                key: key.clone(),
                db,
            });
        }
        s.exec.prop.push(db, vec![Bytes::from_static(cmd), key]);
    }
    s.exec.prop.end_unit();
    publish_notifications(s, &events);
    flush_units(s);
}

/// Writes the finished execution units to the replication stream, each wrapped in
/// MULTI/EXEC when it has more than one command (Redis 7's `propagatePendingCommands`).
pub fn flush_units(s: &mut Server) {
    if !s.exec.events.is_empty() {
        let events = std::mem::take(&mut s.exec.events);
        publish_notifications(s, &events);
    }
    if !s.exec.prop.has_ready() {
        return;
    }
    let ready = s.exec.prop.take_ready();
    if s.persist.aof.replaying {
        // Nothing done while the AOF replays is this node's to propagate.
        s.exec.prop.recycle(ready);
        return;
    }
    let aof = crate::persist::aof::active(s);
    for unit in ready.units() {
        if aof {
            crate::persist::aof::feed_unit(s, unit);
        }
        let n = unit.iter().filter(|(_, _, to)| to.replicas).count();
        if n == 0 {
            continue;
        }
        let mut cmds = unit.iter().filter(|(_, _, to)| to.replicas);
        if n == 1 {
            if let Some((db, cmd, _)) = cmds.next() {
                crate::repl::feed(s, *db, cmd);
            }
            continue;
        }
        let db0 = unit.first().map_or(0, |u| u.0);
        crate::repl::feed(s, db0, &[Bytes::from_static(b"MULTI")]);
        for (db, cmd, _) in cmds {
            crate::repl::feed(s, *db, cmd);
        }
        crate::repl::feed(s, db0, &[Bytes::from_static(b"EXEC")]);
    }
    s.exec.prop.recycle(ready);
}

/// After a top-level command: invalidate WATCHes, serve blocked clients whose keys changed.
pub fn after_command(s: &mut Server) {
    crate::exec::tracking::before_drain(&mut s.exec, &mut s.net);
    let ev = s.exec.ks.take_events();
    if !ev.touched.is_empty() || !ev.touched_dbs.is_empty() {
        s.exec
            .watches
            .touch(&mut s.net, &s.exec.ks, &ev.touched, &ev.touched_dbs);
        s.exec.blocking.signal(&ev.touched, &ev.touched_dbs);
    }
    if !ev.expired.is_empty() {
        s.exec.ks.events.expired = ev.expired;
        propagate_expired(s);
    }
    // A command served while a script is busy does not serve blocked clients: the script's
    // effects so far are not a finished unit (Valkey waits for the script too).
    if s.exec.scripting.running.is_none() {
        blocked::serve_ready(s);
    }
}

/// One command replayed from the AOF (installed as `Life::replay_command`): run as a
/// primary's command is (the writes apply, expired keys stay visible, nothing blocks) by the
/// loader's client, whose replies are off; nothing it does propagates.
pub fn replay_command(s: &mut Server, key: usize, argv: Vec<Bytes>) {
    let Ok(spec) = commands::call::resolve(&argv) else {
        return;
    };
    let _ = call(s, key, spec, argv, Origin::Primary);
    after_command(s);
}

/// One command of this node's primary's stream: applied as the primary client (checks that
/// protect clients skipped, expired keys visible), then accounted in the offsets and proxied
/// to this node's own replicas by the replication layer.
pub fn apply_from_primary(s: &mut Server, key: usize, argv: Vec<Bytes>, consumed: usize) {
    let Ok(spec) = commands::call::resolve(&argv) else {
        // Never skipped (DESIGN, issue 12 item 6): the stream stops here.
        return crate::repl::replica::halt_on_unknown(s, key, &argv);
    };
    // CLIENT PAUSE WRITE|ALL on a replica stops it applying its primary's writes (the stream
    // is still read: `slave_read_repl_offset` grows, `slave_repl_offset` does not).
    let held =
        s.net.clients.get(key).is_some_and(|c| {
            blocked::held_by_pause(s, pause_flags(&s.exec.scripting, c, spec, &argv))
        });
    if held {
        if let Some(c) = s.net.clients.get_mut(key) {
            c.held_stream = Some((argv, consumed));
        }
        return;
    }
    let Some(raw) = crate::repl::replica::stream_command_bytes(s, key, &argv, consumed) else {
        return;
    };
    s.exec.ks.obey_all = true;
    process_command(s, key, argv);
    s.exec.ks.obey_all = false;
    primary_command_failed(s, key);
    crate::repl::replica::stream_command_applied(s, key, raw);
}

/// A command of the primary's stream failed here (Valkey's `afterErrorReply` for a primary
/// client): the data may now differ from the primary's, so it is never silent — a
/// `== CRITICAL ==` log line naming the error and the command, INFO
/// `unexpected_error_replies`, and under `propagation-error-behavior panic` or
/// `panic-on-replicas` a read-only replica stops at once rather than diverge.
fn primary_command_failed(s: &mut Server, key: usize) {
    let Some(c) = s.net.clients.get_mut(key) else {
        return;
    };
    let Some(mut error) = c.primary_error.take() else {
        return;
    };
    let cmd = if c.last_cmd == "NULL" {
        "<unknown>"
    } else {
        c.last_cmd
    };
    if error.len() > 4096 {
        let mut end = 4096;
        while !error.is_char_boundary(end) {
            end -= 1;
        }
        error.truncate(end);
    }
    crate::log_warning!("== CRITICAL == This replica is sending an error to its primary: '{error}' after processing the command '{cmd}'");
    s.stats.unexpected_error_replies += 1;
    use crate::config::value::PropagationErrorBehavior as B;
    let panics = matches!(
        s.cfg.propagation_error_behavior,
        B::Panic | B::PanicOnReplicas
    );
    if panics && s.cfg.replica_read_only {
        crate::log_warning!("This replica panicked sending an error to its primary after processing the command '{cmd}'");
        std::process::exit(1);
    }
}
