//! From a parsed request to a reply: the checks Redis makes before running a command (in its
//! order), MULTI queueing, execution, statistics, propagation to replicas, and the work after a
//! command (WATCH invalidation, serving blocked clients).

use bytes::Bytes;
use commands::errors::{self, err};
use commands::spec::flags as f;
use commands::{table, CommandSpec, Ctx, Handler};
use resp::{Parsed, Reply};

use crate::client::BlockKind;
use crate::server::{now_ms, Server};

/// Processes complete requests buffered for client `key`.
pub fn process_input(s: &mut Server, key: usize) {
    loop {
        let Some(c) = s.net.clients.get_mut(key) else {
            return;
        };
        if c.blocked.is_some() || c.close_after_reply || c.close_asap {
            return;
        }
        if c.is_primary_link && !crate::repl::primary_link_ready(s, key) {
            return;
        }
        let Some(c) = s.net.clients.get_mut(key) else {
            return;
        };
        if let Some(argv) = c.pending.pop_front() {
            process_command(s, key, argv);
            continue;
        }
        if let Some(e) = c.pending_error.take() {
            return protocol_error(s, key, e);
        }
        if parses_ahead(c) {
            if !parse_batch(s, key) {
                return;
            }
            continue;
        }
        let before = c.query.len();
        match c.parser.parse(&mut c.query) {
            Ok(Parsed::Command(argv)) => {
                // A command split across reads was partly consumed by earlier calls.
                let consumed = before - c.query.len() + std::mem::take(&mut c.partial_consumed);
                if c.is_primary_link {
                    crate::repl::apply_from_primary(s, key, argv, consumed);
                } else {
                    process_command(s, key, argv);
                }
            }
            Ok(Parsed::Empty) => {
                let consumed = before - c.query.len();
                crate::repl::on_empty_line(s, key, consumed);
            }
            Ok(Parsed::NeedMore { .. }) => {
                c.partial_consumed += before - c.query.len();
                return;
            }
            Err(e) => return protocol_error(s, key, e),
        }
    }
}

/// Most commands a client's pipeline is parsed ahead by, to prefetch their keys.
const BATCH: usize = 32;

/// Ordinary authenticated clients have their pipelines parsed ahead; links between primary
/// and replica are parsed one command at a time (offsets, handshake states).
fn parses_ahead(c: &crate::client::Client) -> bool {
    !c.is_primary_link && c.replica.is_none() && c.link_slot.is_none() && c.authenticated
}

/// For an ordinary client with nothing queued: parses the complete commands in its query
/// buffer (up to [`BATCH`]) into its pending queue and adds the hash of each command's first
/// argument (the first key, for most commands) to `hashes`, and for collection commands the
/// key and the hash of the first member/field to `members`, for prefetching. Returns the
/// client's database if anything was parsed.
pub fn parse_ahead(
    s: &mut Server,
    key: usize,
    hashes: &mut Vec<u64>,
    members: &mut Vec<MemberHint>,
) -> Option<usize> {
    let c = s.net.clients.get_mut(key)?;
    if !parses_ahead(c) || c.blocked.is_some() || !c.pending.is_empty() {
        return None;
    }
    if c.pending_error.is_some() || c.close_after_reply || c.close_asap {
        return None;
    }
    let db = c.db;
    while c.pending.len() < BATCH {
        match c.parser.parse(&mut c.query) {
            Ok(Parsed::Command(argv)) => {
                if hashes.len() < PREFETCH_MAX {
                    if let Some(k) = argv.get(1) {
                        hashes.push(types::hash_key(k));
                        if let Some(m) = member_arg(&argv) {
                            members.push((db, k.clone(), types::hash_key(m)));
                        }
                        for k in more_keys(&argv) {
                            hashes.push(types::hash_key(k));
                        }
                    }
                }
                c.pending.push_back(argv);
            }
            Ok(Parsed::Empty) => {}
            Ok(Parsed::NeedMore { .. }) => break,
            Err(e) => {
                c.pending_error = Some(e);
                break;
            }
        }
    }
    (!c.pending.is_empty()).then_some(c.db)
}

/// [`parse_ahead`] for one client, prefetching its keys: executing a pipeline then overlaps
/// the cache misses of its lookups instead of paying them one by one. Returns false if
/// nothing was queued.
fn parse_batch(s: &mut Server, key: usize) -> bool {
    let mut hashes = std::mem::take(&mut s.exec.prefetch_scratch);
    let mut members = std::mem::take(&mut s.exec.member_scratch);
    let db = parse_ahead(s, key, &mut hashes, &mut members);
    if let (Some(db), true) = (db, hashes.len() > 1) {
        prefetch(s, db, &hashes, &members);
    }
    hashes.clear();
    members.clear();
    s.exec.prefetch_scratch = hashes;
    s.exec.member_scratch = members;
    let c = &s.net.clients[key];
    !c.pending.is_empty() || c.pending_error.is_some()
}

/// A collection member named by a parsed-ahead command: (database, key, member hash).
pub type MemberHint = (usize, Bytes, u64);

/// Prefetches the keys (`hashes`) of a batch of parsed commands, then the collection members
/// they name, grouped by key (a pipeline of SADDs to one set prefetches its members together).
pub fn prefetch(s: &Server, db: usize, hashes: &[u64], members: &[MemberHint]) {
    s.exec.ks.prefetch(db, hashes);
    let mut run: Vec<u64> = Vec::new();
    let mut i = 0;
    while i < members.len() {
        let (mdb, mkey, _) = &members[i];
        run.clear();
        let mut j = i;
        while j < members.len() && members[j].0 == *mdb && members[j].1 == *mkey {
            run.push(members[j].2);
            j += 1;
        }
        if run.len() > 1 {
            s.exec.ks.prefetch_members(*mdb, mkey, &run);
        }
        i = j;
    }
}

/// Most key hashes prefetched at once: beyond this, the first ones would leave the cache
/// before they are used.
const PREFETCH_MAX: usize = 1024;

/// Keys after the first of multi-key commands (MSET, MGET, DEL...), as prefetch hints.
fn more_keys(argv: &[Bytes]) -> impl Iterator<Item = &Bytes> {
    let name = &argv[0];
    let (start, step) = if argv.len() < 3 {
        (argv.len(), 1)
    } else if name.eq_ignore_ascii_case(b"mset") || name.eq_ignore_ascii_case(b"msetnx") {
        (3, 2)
    } else if name.eq_ignore_ascii_case(b"mget")
        || name.eq_ignore_ascii_case(b"del")
        || name.eq_ignore_ascii_case(b"unlink")
        || name.eq_ignore_ascii_case(b"exists")
        || name.eq_ignore_ascii_case(b"touch")
    {
        (2, 1)
    } else {
        (argv.len(), 1)
    };
    argv.iter().skip(start).step_by(step)
}

/// The first member/field argument of collection commands, as a prefetch hint (a wrong
/// guess only costs the hint).
fn member_arg(argv: &[Bytes]) -> Option<&Bytes> {
    let name = &argv[0];
    if argv.len() < 3 || !(4..=12).contains(&name.len()) {
        return None;
    }
    let mut buf = [0u8; 12];
    for (d, c) in buf.iter_mut().zip(name.iter()) {
        *d = c.to_ascii_lowercase();
    }
    match &buf[..name.len()] {
        b"sadd" | b"srem" | b"sismember" | b"smismember" | b"hset" | b"hsetnx" | b"hget"
        | b"hmget" | b"hmset" | b"hdel" | b"hexists" | b"hincrby" | b"hincrbyfloat"
        | b"hstrlen" | b"zscore" | b"zmscore" | b"zrank" | b"zrevrank" | b"zrem" => argv.get(2),
        b"zincrby" => argv.get(3),
        b"zadd" => {
            let flags: [&[u8]; 6] = [b"nx", b"xx", b"gt", b"lt", b"ch", b"incr"];
            let score = (2..argv.len())
                .find(|&i| !flags.iter().any(|f| argv[i].eq_ignore_ascii_case(f)))?;
            argv.get(score + 1)
        }
        _ => None,
    }
}

/// A malformed request: reply with the error and close after the reply (a replica's link to
/// its primary handles it its own way).
fn protocol_error(s: &mut Server, key: usize, e: resp::ProtocolError) {
    let c = &mut s.net.clients[key];
    crate::log_verbose!(
        "Protocol error ({}) from client: {}",
        e.reason,
        crate::cmd::client_cmd::client_info(c, now_ms())
    );
    if c.is_primary_link {
        crate::repl::on_primary_protocol_error(s, key);
        return;
    }
    c.reply(&Reply::error(format!("ERR {}", e.reply)));
    c.close_after_reply = true;
}

/// Resolves `argv` to a command row (handling containers), or the error to reply.
pub fn resolve(argv: &[Bytes]) -> Result<&'static CommandSpec, Reply> {
    let Some(spec) = table::lookup(&argv[0]) else {
        return Err(errors::unknown_command(argv));
    };
    if spec.subcommands.is_empty() || argv.len() < 2 {
        return Ok(spec);
    }
    match table::lookup_sub(spec, &argv[1]) {
        Some(sub) => Ok(sub),
        None if matches!(spec.handler, Handler::Server(_)) => Ok(spec),
        None => Err(errors::unknown_subcommand(spec.name, &argv[1])),
    }
}

/// Full name for errors and stats (`config|get`), precomputed in the table.
pub fn full_name(spec: &'static CommandSpec) -> &'static str {
    table::full_name_of(spec)
}

/// Redis's `processCommand`: checks, MULTI queueing, then `call`.
pub fn process_command(s: &mut Server, key: usize, argv: Vec<Bytes>) {
    s.exec.ks.now_ms = s.exec.clock.now_ms();
    let spec = match resolve(&argv) {
        Ok(spec) => spec,
        Err(e) => return reject(s, key, e, None, &argv),
    };
    let name = full_name(spec);
    if !spec.arity_ok(argv.len()) || matches!(spec.handler, Handler::Container) {
        return reject(s, key, errors::wrong_arity(name), Some(name), &argv);
    }
    if let Some(e) = precheck(s, key, spec) {
        return reject(s, key, e, Some(name), &argv);
    }
    let c = &mut s.net.clients[key];
    if c.multi.is_some()
        && !matches!(
            spec.name,
            "exec" | "discard" | "multi" | "watch" | "quit" | "reset"
        )
    {
        if let Some(m) = c.multi.as_mut() {
            m.queue.push(argv);
        }
        c.reply(&Reply::status("QUEUED"));
        return;
    }
    if !s.net.clients[key].is_primary_link
        && s.net.clients[key].replica.is_none()
        && crate::cmd::client_cmd::is_paused_for(s, spec)
    {
        crate::cmd::client_cmd::hold_paused(s, key, argv);
        return;
    }
    let reply = call(s, key, spec, &argv, name);
    if let Some(c) = s.net.clients.get_mut(key) {
        if c.blocked.is_none() {
            c.reply(&reply);
            if c.reply_mode == crate::client::ReplyMode::SkipNext {
                c.reply_mode = crate::client::ReplyMode::On;
            } else if c.reply_mode == crate::client::ReplyMode::Skip {
                c.reply_mode = crate::client::ReplyMode::SkipNext;
            }
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
    // Redis: a rejected EXEC (found, but failing a check) always aborts with EXECABORT.
    if name.is_some() && argv[0].eq_ignore_ascii_case(b"exec") {
        s.net.clients[key].multi = None;
        crate::cmd::multi::unwatch_all(s, key);
        let text = match &e {
            Reply::Error(t) => t.strip_prefix("ERR ").unwrap_or(t).to_string(),
            _ => String::new(),
        };
        s.net.clients[key].reply(&Reply::error(format!(
            "EXECABORT Transaction discarded because of: {text}"
        )));
        return;
    }
    let c = &mut s.net.clients[key];
    if let Some(m) = c.multi.as_mut() {
        m.dirty_exec = true;
    }
    c.reply(&e);
}

/// The checks of `processCommand`, in Redis's order. Returns the error to reply, if any.
fn precheck(s: &mut Server, key: usize, spec: &'static CommandSpec) -> Option<Reply> {
    let c = &s.net.clients[key];
    let in_multi = c.multi.is_some();
    if !c.authenticated && !spec.has(f::NO_AUTH) {
        return Some(err(errors::NOAUTH));
    }
    if let Some(e) = crate::cmd::introspect::protected_denied(s, spec, c.is_local()) {
        return Some(e);
    }
    let c = &s.net.clients[key];
    if in_multi && spec.has(f::NO_MULTI) {
        return Some(err("ERR Command not allowed inside a transaction"));
    }
    let is_write = spec.is_write() || (spec.name == "exec" && multi_has_write(c));
    let deny_oom = spec.has(f::DENYOOM) || (spec.name == "exec" && multi_has_flag(c, f::DENYOOM));
    if deny_oom && !c.is_primary_link && crate::evict::perform_evictions(s) {
        return Some(err(errors::OOM));
    }
    let c = &s.net.clients[key];
    if is_write && !c.is_primary_link && crate::persist::writes_denied(s) {
        return Some(err("MISCONF Redwing is configured to save RDB snapshots, but it's currently unable to persist to disk. Commands that may modify the data set are disabled, because this instance is configured to report errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redwing logs for details about the RDB error."));
    }
    if is_write && !c.is_primary_link && crate::repl::min_replicas_unmet(s) {
        return Some(err(errors::NOREPLICAS));
    }
    if is_write && !c.is_primary_link && s.repl.is_replica() && s.cfg.replica_read_only {
        return Some(err(errors::READONLY));
    }
    let c = &s.net.clients[key];
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
    if s.repl.is_replica()
        && !s.repl.link_up()
        && !s.cfg.replica_serve_stale_data
        && !spec.has(f::STALE)
        && !c.is_primary_link
    {
        return Some(err(errors::MASTERDOWN));
    }
    if s.exec.loading && !spec.has(f::LOADING) {
        return Some(err("LOADING Redwing is loading the dataset in memory"));
    }
    None
}

fn multi_has_flag(c: &crate::client::Client, flag: u64) -> bool {
    c.multi.as_ref().is_some_and(|m| {
        m.queue
            .iter()
            .any(|a| resolve(a).is_ok_and(|sp| sp.has(flag)))
    })
}

fn multi_has_write(c: &crate::client::Client) -> bool {
    multi_has_flag(c, f::WRITE)
}

/// Executes one command (Redis's `call`): runs the handler, records stats, propagates.
pub fn call(
    s: &mut Server,
    key: usize,
    spec: &'static CommandSpec,
    argv: &[Bytes],
    name: &'static str,
) -> Reply {
    let start = s.exec.clock.mono_us();
    s.exec.ks.events.track = !s.exec.watched.is_empty() || !s.exec.blocking.is_empty();
    let c = &mut s.net.clients[key];
    c.last_cmd = name;
    s.exec.ks.no_touch = c.no_touch;
    let db = c.db;
    s.exec.exec_depth += 1;
    let (reply, dirty, rewrite) = match spec.handler {
        Handler::Data(handler) => run_data(s, key, handler, argv, db),
        Handler::Server(cmd) => {
            s.exec.call_dirty = 0;
            s.exec.call_rewrite = None;
            let r = crate::cmd::run(s, key, cmd, spec, argv);
            (
                r,
                std::mem::take(&mut s.exec.call_dirty),
                s.exec.call_rewrite.take(),
            )
        }
        Handler::Container => (errors::wrong_arity(name), 0, None),
    };
    s.exec.exec_depth -= 1;
    let elapsed_us = s.exec.clock.mono_us().saturating_sub(start);
    record_stats(s, key, spec, argv, &reply, elapsed_us);
    propagate_expired(s);
    // Nothing reads the stream unless this node is a primary with a backlog (replicas
    // proxy their primary's bytes instead): then there is nothing to build.
    let propagating = s.repl.buf.is_some() && !s.repl.is_replica();
    if dirty > 0 {
        s.persist.dirty += dirty;
        if propagating {
            let db = s.net.clients.get(key).map(|c| c.db).unwrap_or(db);
            match rewrite {
                None => s.exec.prop_unit.push((db, argv.to_vec())),
                Some(cmds) => s.exec.prop_unit.extend(cmds.into_iter().map(|c| (db, c))),
            }
        }
    } else if let Some(cmds) = rewrite.filter(|_| propagating) {
        // Some commands propagate even without dirtying (e.g. PUBLISH in cluster); keep explicit rewrites.
        let db = s.net.clients.get(key).map(|c| c.db).unwrap_or(db);
        s.exec
            .prop_unit
            .extend(cmds.into_iter().filter(|c| !c.is_empty()).map(|c| (db, c)));
    }
    if s.exec.exec_depth == 0 {
        flush_propagation(s);
    }
    let offset = s.repl.offset();
    if let Some(c) = s.net.clients.get_mut(key) {
        if dirty > 0 {
            c.woff = offset;
        }
    }
    reply
}

fn run_data(
    s: &mut Server,
    key: usize,
    handler: commands::spec::DataFn,
    argv: &[Bytes],
    db: usize,
) -> (Reply, u64, Option<Vec<Vec<Bytes>>>) {
    let c = &s.net.clients[key];
    let resp = c.resp;
    let may_block = c.multi.is_none()
        && !c.is_primary_link
        && s.exec.exec_depth == 1
        && !s.repl.is_replica_applying(key);
    let mut ctx = Ctx::new(&mut s.exec.ks, db, &s.exec.settings);
    ctx.resp = resp;
    ctx.may_block = may_block;
    let reply = handler(&mut ctx, argv);
    let (dirty, rewrite, block) = (ctx.dirty, ctx.rewrite.take(), ctx.block.take());
    if let Some(b) = block {
        if b.on_nokey {
            s.exec.blocking.nokey_clients.insert(s.net.clients[key].id);
        }
        crate::blocking::block_client(
            s,
            key,
            b.argv.unwrap_or_else(|| argv.to_vec()),
            b.keys,
            b.deadline_ms,
            BlockKind::Keys,
        );
    }
    (reply, dirty, rewrite)
}

fn record_stats(
    s: &mut Server,
    key: usize,
    spec: &'static CommandSpec,
    argv: &[Bytes],
    reply: &Reply,
    us: u64,
) {
    // A command that blocked on keys is counted when it is served or times out (Valkey's
    // `updateStatsOnUnblock`).
    let parked = s
        .net
        .clients
        .get(key)
        .and_then(|c| c.blocked.as_ref())
        .is_some_and(|b| b.kind == BlockKind::Keys);
    if !parked {
        s.stats.total_commands += 1;
        let st = s.stats.command(spec);
        st.calls += 1;
        st.usec += us;
        if let Some(code) = reply.error_code() {
            st.failed_calls += 1;
            s.stats.count_error(code);
        }
    }
    if !spec.has(f::SKIP_SLOWLOG) && !parked {
        crate::stats::slowlog_maybe_add(s, key, argv, us);
        crate::stats::latency_maybe_add(
            s,
            if spec.has(f::FAST) {
                "fast-command"
            } else {
                "command"
            },
            us / 1000,
        );
    }
    if !spec.has(f::SKIP_MONITOR) && !s.exec.monitors.is_empty() && !spec.has(f::ADMIN) {
        crate::cmd::introspect::feed_monitors(s, key, argv);
    }
}

/// Propagates DELs (or UNLINKs) for keys that expired during lookups or the active cycle.
pub fn propagate_expired(s: &mut Server) {
    if s.exec.ks.events.expired.is_empty() {
        return;
    }
    let cmd: &[u8] = if s.cfg.lazyfree_lazy_expire {
        b"UNLINK"
    } else {
        b"DEL"
    };
    let expired = std::mem::take(&mut s.exec.ks.events.expired);
    for (db, k) in expired {
        s.exec.prop_unit.push((
            db,
            vec![
                Bytes::from_static(if cmd == b"DEL" { b"DEL" } else { b"UNLINK" }),
                Bytes::from(k),
            ],
        ));
    }
    if s.exec.exec_depth == 0 {
        flush_propagation(s);
    }
}

/// Sends the commands of one execution unit to the replication stream (wrapped in MULTI/EXEC
/// when there is more than one, as Redis does).
pub fn flush_propagation(s: &mut Server) {
    if s.exec.prop_unit.is_empty() {
        return;
    }
    let unit = std::mem::take(&mut s.exec.prop_unit);
    if unit.len() == 1 {
        let (db, cmd) = &unit[0];
        crate::repl::feed(s, *db, cmd);
        return;
    }
    let db0 = unit[0].0;
    crate::repl::feed(s, db0, &[Bytes::from_static(b"MULTI")]);
    for (db, cmd) in &unit {
        crate::repl::feed(s, *db, cmd);
    }
    crate::repl::feed(s, db0, &[Bytes::from_static(b"EXEC")]);
}

/// After a top-level command: invalidate WATCHes, serve blocked clients whose keys changed.
pub fn after_command(s: &mut Server) {
    let ev = s.exec.ks.take_events();
    if !ev.touched.is_empty() || !ev.touched_dbs.is_empty() {
        crate::cmd::multi::touch_keys(s, &ev.touched, &ev.touched_dbs);
        crate::blocking::signal_keys(s, &ev.touched, &ev.touched_dbs);
    }
    if !ev.expired.is_empty() {
        s.exec.ks.events.expired = ev.expired;
        propagate_expired(s);
    }
    crate::blocking::serve_ready(s);
}
