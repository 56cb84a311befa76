//! CLIENT subcommands, idle timeouts, output-buffer limits, and CLIENT PAUSE.

use bytes::Bytes;
use commands::errors::{self, err};
use resp::Reply;

use super::{arg_lower, help_reply};
use crate::net::client::{client_info, BlockKind, Client, ClientClass, ReplyMode, TrackingState};
use crate::server::Server;
use crate::util::now_ms;
use crate::{log_notice, log_verbose};

/// Client names may not contain spaces, newlines or special characters (Redis's rule).
pub fn validate_name(name: &[u8]) -> Result<(), Reply> {
    if name.iter().any(|&b| !(b'!'..=b'~').contains(&b)) {
        return Err(err(
            "ERR Client names cannot contain spaces, newlines or special characters.",
        ));
    }
    Ok(())
}

fn client_type(c: &Client) -> &'static str {
    if c.is_primary_link() {
        "master"
    } else if c.is_replica() {
        "slave"
    } else if c.in_pubsub() {
        "pubsub"
    } else {
        "normal"
    }
}

fn type_matches(c: &Client, ty: &str) -> bool {
    match ty {
        "normal" => client_type(c) == "normal",
        "slave" | "replica" => c.is_replica(),
        "master" | "primary" => c.is_primary_link(),
        "pubsub" => c.in_pubsub(),
        _ => false,
    }
}

const TYPES: &[&str] = &["normal", "slave", "replica", "master", "primary", "pubsub"];

pub fn client(s: &mut Server, key: usize, argv: &[Bytes]) -> Reply {
    let sub = arg_lower(argv, 1);
    let now = now_ms();
    match (sub.as_str(), argv.len()) {
        ("help", 2) => help_reply("CLIENT", HELP),
        ("id", 2) => Reply::Int(super::caller!(s, key).id as i64),
        ("info", 2) => Reply::Verbatim(
            "txt",
            Bytes::from(client_info(&*super::caller!(s, key), now) + "\n"),
        ),
        ("list", _) => list(s, argv, now),
        ("getname", 2) => super::caller!(s, key)
            .name
            .clone()
            .map_or(Reply::Nil, Reply::Bulk),
        ("setname", 3) => {
            if let Err(e) = validate_name(&argv[2]) {
                return e;
            }
            super::caller!(s, key).name = if argv[2].is_empty() {
                None
            } else {
                Some(argv[2].clone())
            };
            Reply::Ok
        }
        ("setinfo", 4) => setinfo(s, key, argv),
        ("kill", _) => kill(s, key, argv, now),
        ("reply", 3) => {
            let c = super::caller!(s, key);
            match arg_lower(argv, 2).as_str() {
                "on" => {
                    c.reply_mode = ReplyMode::On;
                    Reply::Ok
                }
                "off" => {
                    c.reply_mode = ReplyMode::Off;
                    Reply::Ok
                }
                "skip" => {
                    if c.reply_mode == ReplyMode::On {
                        c.reply_mode = ReplyMode::Skip;
                    }
                    Reply::Ok
                }
                _ => err(errors::SYNTAX),
            }
        }
        // CLIENT CAPA capability...: `redirect` (Valkey 8) asks a replica for -REDIRECT
        // instead of serving or refusing data commands; unknown capabilities are ignored.
        ("capa", n) if n >= 3 => {
            let redirect = (2..n).any(|i| arg_lower(argv, i) == "redirect");
            let c = super::caller!(s, key);
            c.capa_redirect |= redirect;
            Reply::Ok
        }
        ("no-evict", 3) | ("no-touch", 3) => {
            let on = match arg_lower(argv, 2).as_str() {
                "on" => true,
                "off" => false,
                _ => return err(errors::SYNTAX),
            };
            let c = super::caller!(s, key);
            if sub == "no-evict" {
                c.no_evict = on;
            } else {
                c.no_touch = on;
            }
            Reply::Ok
        }
        ("pause", 3) | ("pause", 4) => pause(s, argv, now),
        ("unpause", 2) => {
            s.exec.pause.until_ms = 0;
            s.exec.pause.release_pending = true;
            Reply::Ok
        }
        ("unblock", 3) | ("unblock", 4) => unblock(s, argv),
        ("tracking", _) => tracking(s, key, argv),
        ("caching", 3) => caching(s, key, argv),
        ("getredir", 2) => Reply::Int(
            super::caller!(s, key)
                .tracking
                .as_ref()
                .map_or(-1, |t| t.redirect as i64),
        ),
        ("trackinginfo", 2) => trackinginfo(super::caller!(s, key)),
        _ => errors::unknown_subcommand("client", &argv[1]),
    }
}

/// CLIENT TRACKING ON|OFF [REDIRECT id] [BCAST] [PREFIX p]... [OPTIN] [OPTOUT] [NOLOOP]:
/// options are parsed first, then checked against each other and the client's current mode,
/// in Valkey's order.
fn tracking(s: &mut Server, key: usize, argv: &[Bytes]) -> Reply {
    let mut redirect: u64 = 0;
    let mut opts = TrackingState::default();
    let mut prefixes: Vec<Bytes> = Vec::new();
    let mut j = 3;
    while j < argv.len() {
        let more = j + 1 < argv.len();
        match arg_lower(argv, j).as_str() {
            "redirect" if more => {
                j += 1;
                if redirect != 0 {
                    return err(errors::TRACKING_ONE_REDIRECT);
                }
                let id = match commands::args::int(&argv[j]) {
                    Ok(v) => v,
                    Err(e) => return e,
                };
                if id <= 0 || s.net.client_key(id as u64).is_none() {
                    return err(errors::TRACKING_NO_REDIRECT_CLIENT);
                }
                redirect = id as u64;
            }
            "bcast" => opts.bcast = true,
            "optin" => opts.optin = true,
            "optout" => opts.optout = true,
            "noloop" => opts.noloop = true,
            "prefix" if more => {
                j += 1;
                prefixes.push(argv[j].clone());
            }
            _ => return err(errors::SYNTAX),
        }
        j += 1;
    }
    let c = super::caller!(s, key);
    match arg_lower(argv, 2).as_str() {
        "on" => {
            let current = c.tracking.as_deref();
            if !opts.bcast && !prefixes.is_empty() {
                return err(errors::TRACKING_PREFIX_NEEDS_BCAST);
            }
            if current.is_some_and(|t| t.bcast != opts.bcast) {
                return err(errors::TRACKING_BCAST_SWITCH);
            }
            if opts.bcast && (opts.optin || opts.optout) {
                return err(errors::TRACKING_BCAST_OPTIN);
            }
            if opts.optin && opts.optout {
                return err(errors::TRACKING_OPTIN_AND_OPTOUT);
            }
            if current.is_some_and(|t| (opts.optin && t.optout) || (opts.optout && t.optin)) {
                return err(errors::TRACKING_OPT_SWITCH);
            }
            if opts.bcast {
                if let Err(e) = crate::exec::tracking::check_prefixes(c, &prefixes) {
                    return e;
                }
            }
            crate::exec::tracking::enable(&mut s.exec.tracking, c, redirect, &opts, &prefixes);
        }
        "off" => crate::exec::tracking::disable(&mut s.exec.tracking, c),
        _ => return err(errors::SYNTAX),
    }
    Reply::Ok
}

/// CLIENT CACHING YES|NO: whether the next command's keys are tracked (OPTIN / OPTOUT).
fn caching(s: &mut Server, key: usize, argv: &[Bytes]) -> Reply {
    let c = super::caller!(s, key);
    let Some(t) = c.tracking.as_mut() else {
        return err(errors::CACHING_NOT_TRACKING);
    };
    match arg_lower(argv, 2).as_str() {
        "yes" if t.optin => t.caching = true,
        "yes" => return err(errors::CACHING_YES_NOT_OPTIN),
        "no" if t.optout => t.caching = true,
        "no" => return err(errors::CACHING_NO_NOT_OPTOUT),
        _ => return err(errors::SYNTAX),
    }
    Reply::Ok
}

/// CLIENT TRACKINGINFO: flags, redirect and prefixes, as a map.
fn trackinginfo(c: &Client) -> Reply {
    let t = c.tracking.as_deref();
    let mut flags = vec![if t.is_some() { "on" } else { "off" }];
    if let Some(t) = t {
        let caching = t.caching;
        let pairs = [
            (t.bcast, "bcast"),
            (t.optin, "optin"),
            (t.optin && caching, "caching-yes"),
            (t.optout, "optout"),
            (t.optout && caching, "caching-no"),
            (t.noloop, "noloop"),
            (t.broken_redirect, "broken_redirect"),
        ];
        flags.extend(pairs.iter().filter(|p| p.0).map(|p| p.1));
    }
    let prefixes = t.map_or_else(Vec::new, |t| {
        t.prefixes.iter().map(|p| Reply::Bulk(p.clone())).collect()
    });
    Reply::Map(vec![
        (
            Reply::bulk(b"flags"),
            Reply::Set(
                flags
                    .into_iter()
                    .map(|f| Reply::bulk(f.as_bytes()))
                    .collect(),
            ),
        ),
        (
            Reply::bulk(b"redirect"),
            Reply::Int(t.map_or(-1, |t| t.redirect as i64)),
        ),
        (Reply::bulk(b"prefixes"), Reply::Array(prefixes)),
    ])
}

fn list(s: &Server, argv: &[Bytes], now: i64) -> Reply {
    let mut out = String::new();
    let filter_type = if argv.len() == 4 && arg_lower(argv, 2) == "type" {
        let t = arg_lower(argv, 3);
        if !TYPES.contains(&t.as_str()) {
            return Reply::error(format!(
                "ERR Unknown client type '{}'",
                String::from_utf8_lossy(&argv[3])
            ));
        }
        Some(t)
    } else {
        None
    };
    let ids: Option<Vec<u64>> = if argv.len() > 3 && arg_lower(argv, 2) == "id" {
        let mut v = Vec::new();
        for a in &argv[3..] {
            match commands::args::int(a) {
                Ok(id) if id > 0 => v.push(id as u64),
                _ => return err("ERR Invalid client ID"),
            }
        }
        Some(v)
    } else if argv.len() != 2 && filter_type.is_none() {
        return err(errors::SYNTAX);
    } else {
        None
    };
    let mut clients: Vec<&Client> = s.net.clients.iter().map(|(_, c)| c).collect();
    clients.sort_by_key(|c| c.id);
    for c in clients {
        if filter_type.as_deref().is_some_and(|t| !type_matches(c, t)) {
            continue;
        }
        if ids.as_ref().is_some_and(|ids| !ids.contains(&c.id)) {
            continue;
        }
        out.push_str(&client_info(c, now));
        out.push('\n');
    }
    Reply::Verbatim("txt", Bytes::from(out))
}

fn setinfo(s: &mut Server, key: usize, argv: &[Bytes]) -> Reply {
    let attr = arg_lower(argv, 2);
    if argv[3].iter().any(|&b| !(b'!'..=b'~').contains(&b)) {
        return Reply::error(format!(
            "ERR {attr} cannot contain spaces, newlines or special characters."
        ));
    }
    let v = if argv[3].is_empty() {
        None
    } else {
        Some(argv[3].clone())
    };
    let c = super::caller!(s, key);
    match attr.as_str() {
        "lib-name" => c.lib_name = v,
        "lib-ver" => c.lib_ver = v,
        _ => {
            return Reply::error(format!(
                "ERR Unrecognized option '{}'",
                String::from_utf8_lossy(&argv[2])
            ))
        }
    }
    Reply::Ok
}

/// CLIENT KILL <addr> | CLIENT KILL <filter> <value> ...
fn kill(s: &mut Server, key: usize, argv: &[Bytes], now: i64) -> Reply {
    if argv.len() == 3 {
        let addr = String::from_utf8_lossy(&argv[2]).into_owned();
        let target = s
            .net
            .clients
            .iter()
            .find(|(_, c)| c.addr == addr)
            .map(|(k, _)| k);
        return match target {
            Some(t) => {
                close_client(s, t, t == key);
                Reply::Ok
            }
            None => err("ERR No such client"),
        };
    }
    if argv.len() < 4 || !argv.len().is_multiple_of(2) {
        return err(errors::SYNTAX);
    }
    let (mut id, mut ty, mut addr, mut laddr, mut user, mut maxage, mut skipme) =
        (None, None, None, None, None, None, true);
    for pair in argv[2..].chunks(2) {
        let opt = String::from_utf8_lossy(&pair[0]).to_ascii_lowercase();
        let val = String::from_utf8_lossy(&pair[1]).into_owned();
        match opt.as_str() {
            "id" => match commands::args::int(&pair[1]) {
                Ok(v) if v > 0 => id = Some(v as u64),
                _ => return err("ERR client-id should be greater than 0"),
            },
            "type" => {
                let t = val.to_ascii_lowercase();
                if !TYPES.contains(&t.as_str()) {
                    return Reply::error(format!("ERR Unknown client type '{val}'"));
                }
                ty = Some(t);
            }
            "addr" => addr = Some(val),
            "laddr" => laddr = Some(val),
            "user" => {
                if s.acl.users.get(&pair[1]).is_none() {
                    return errors::no_such_user(&pair[1]);
                }
                user = Some(pair[1].clone());
            }
            "maxage" => match commands::args::int(&pair[1]) {
                Ok(v) if v > 0 => maxage = Some(v),
                Ok(_) => return err(errors::CLIENT_KILL_MAXAGE_POSITIVE),
                Err(_) => return err(errors::CLIENT_KILL_MAXAGE_NOT_INT),
            },
            "skipme" => match val.to_ascii_lowercase().as_str() {
                "yes" => skipme = true,
                "no" => skipme = false,
                _ => return err(errors::SYNTAX),
            },
            _ => return err(errors::SYNTAX),
        }
    }
    let targets: Vec<usize> = s
        .net
        .clients
        .iter()
        .filter(|(k, c)| {
            id.is_none_or(|i| c.id == i)
                && ty.as_deref().is_none_or(|t| type_matches(c, t))
                && addr.as_deref().is_none_or(|a| c.addr == a)
                && laddr.as_deref().is_none_or(|a| c.laddr == a)
                && user
                    .as_ref()
                    .is_none_or(|u| c.user == *u && !c.is_primary_link())
                && maxage.is_none_or(|m| (now - c.ctime_ms) / 1000 >= m)
                && !(skipme && *k == key)
        })
        .map(|(k, _)| k)
        .collect();
    let n = targets.len();
    for t in targets {
        close_client(s, t, t == key);
    }
    Reply::Int(n as i64)
}

/// Closes a client: the caller itself after its reply, others right away (safely, later in
/// the loop, never while iterating clients).
fn close_client(s: &mut Server, key: usize, is_self: bool) {
    let Some(c) = s.net.clients.get_mut(key) else {
        return;
    };
    if is_self {
        c.close_after_reply = true;
    } else {
        c.close_asap = true;
    }
}

fn pause(s: &mut Server, argv: &[Bytes], now: i64) -> Reply {
    let until = match commands::args::timeout_ms(&argv[2], now) {
        Ok(d) => d.unwrap_or(now),
        Err(e) => return e,
    };
    let writes_only = match argv
        .get(3)
        .map(|a| String::from_utf8_lossy(a).to_ascii_lowercase())
    {
        None => false,
        Some(m) if m == "all" => false,
        Some(m) if m == "write" => true,
        Some(_) => return err("ERR CLIENT PAUSE mode must be WRITE or ALL"),
    };
    // A longer or stricter pause wins over a shorter one, as in Redis.
    if until > s.exec.pause.until_ms || (!writes_only && s.exec.pause.writes_only) {
        s.exec.pause.until_ms = s.exec.pause.until_ms.max(until);
        s.exec.pause.writes_only =
            writes_only && (s.exec.pause.writes_only || s.exec.pause.until_ms == until);
    }
    Reply::Ok
}

fn unblock(s: &mut Server, argv: &[Bytes]) -> Reply {
    let id = match commands::args::int_or(&argv[2], "ERR value is not an integer or out of range") {
        Ok(v) => v as u64,
        Err(e) => return e,
    };
    let error = match argv
        .get(3)
        .map(|a| String::from_utf8_lossy(a).to_ascii_lowercase())
    {
        None => false,
        Some(m) if m == "timeout" => false,
        Some(m) if m == "error" => true,
        Some(_) => return err("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR"),
    };
    let Some(k) = s.net.client_key(id) else {
        return Reply::Int(0);
    };
    let Some(c) = s.net.clients.get_mut(k) else {
        return Reply::Int(0);
    };
    if c.blocked.as_ref().is_none_or(|b| {
        matches!(
            b.kind,
            BlockKind::Paused | BlockKind::Throttled { .. } | BlockKind::Shutdown
        )
    }) {
        return Reply::Int(0);
    }
    let Some(b) = s.exec.blocking.unblock(c) else {
        return Reply::Int(0);
    };
    let reply = if error {
        Reply::error("UNBLOCKED client unblocked via CLIENT UNBLOCK")
    } else {
        crate::repl::primary::waiting_reply(s, &b.kind).unwrap_or(Reply::NilArray)
    };
    if b.kind == BlockKind::Keys {
        let latency = s.cfg.latency_tracking;
        s.stats.unblocked_call(&b.argv, reply.error_code(), latency);
    }
    if let Some(c) = s.net.clients.get_mut(k) {
        c.commands_processed += 1;
        c.reply(&reply);
    }
    s.net.resume.push(k);
    Reply::Int(1)
}

/// Idle timeouts, output-buffer limits and query-buffer sizes.
pub fn cron_clients(s: &mut Server, now: i64) {
    let timeout_ms = s.cfg.timeout_secs * 1000;
    let mut limits = s.cfg.client_output_buffer_limit;
    // As Valkey: a replica's hard limit is never below repl-backlog-size (what a partial
    // resync may queue at once; the replica shares the backlog's memory).
    if limits.replica.hard_bytes > 0 {
        let backlog = s.cfg.repl_backlog_size_bytes.max(0) as u64;
        limits.replica.hard_bytes = limits.replica.hard_bytes.max(backlog);
    }
    let mut close = Vec::new();
    for (k, c) in s.net.clients.iter_mut() {
        if timeout_ms > 0
            && !c.is_replica()
            && !c.is_primary_link()
            && c.blocked.is_none()
            && !c.in_pubsub()
            && now - c.last_interaction_ms > timeout_ms
        {
            log_verbose!("Closing idle client");
            close.push((k, false));
            continue;
        }
        c.resize_query(now);
        if !c.close_asap && over_output_limit(c, &limits, now) {
            close.push((k, true));
        }
    }
    for (k, over_limit) in close {
        if over_limit {
            s.stats.client_output_buffer_limit_disconnections += 1;
        }
        if let Some(c) = s.net.clients.get_mut(k) {
            c.close_asap = true;
        }
    }
}

/// A client's output just grew by a reply: closes it at once if that passes its
/// `client-output-buffer-limit` (replicas are checked by the replication layer).
pub fn check_output_limit(s: &mut Server, key: usize) {
    let limits = s.cfg.client_output_buffer_limit;
    let Some(c) = s.net.clients.get_mut(key) else {
        return;
    };
    if c.close_asap || c.is_replica() || c.is_primary_link() || !c.has_output() {
        return;
    }
    // The time of the command (or event-loop turn) being run: exact enough for a soft limit
    // counted in seconds, and no clock read per reply.
    if over_output_limit(c, &limits, s.exec.ks.now_ms) {
        c.close_asap = true;
        s.stats.client_output_buffer_limit_disconnections += 1;
    }
}

/// The reply buffer every Valkey client has before its reply list (PROTO_REPLY_CHUNK_BYTES).
const REPLY_BUFFER_BYTES: usize = 16 * 1024;

/// Reply bytes `c` may still be sent before its hard `client-output-buffer-limit`
/// (`u64::MAX` when it has none): the budget of commands whose reply size the client chooses
/// (`commands::ctx::Ctx::reply_budget`).
pub fn reply_budget(c: &Client, limits: &crate::config::value::OutputLimits) -> u64 {
    if c.is_replica() || c.is_primary_link() {
        return u64::MAX;
    }
    let hard = match c.class() {
        ClientClass::Normal => limits.normal.hard_bytes,
        ClientClass::Replica => limits.replica.hard_bytes,
        ClientClass::Pubsub => limits.pubsub.hard_bytes,
    };
    if hard == 0 {
        return u64::MAX;
    }
    (hard + REPLY_BUFFER_BYTES as u64).saturating_sub(c.pending_output() as u64)
}

/// The `maxmemory-clients` limit in bytes (0: off): a size, or a percentage of `maxmemory`
/// (off while `maxmemory` is 0); never under 128 KiB, as Valkey, so that a mistaken setting
/// cannot cut every connection.
pub fn client_eviction_limit(cfg: &crate::config::Config) -> u64 {
    use crate::config::value::MemOrPercent;
    let limit = match cfg.maxmemory_clients {
        MemOrPercent::Bytes(0) | MemOrPercent::Percent(0) => return 0,
        MemOrPercent::Bytes(b) => b,
        MemOrPercent::Percent(p) if cfg.maxmemory_bytes > 0 => {
            (cfg.maxmemory_bytes as f64 * p as f64 / 100.0) as u64
        }
        MemOrPercent::Percent(_) => return 0,
    };
    limit.max(128 * 1024)
}

/// Client eviction: while the ordinary and pub/sub connections together hold more than
/// `maxmemory-clients` ([`Client::memory`], what CLIENT LIST shows as `tot-mem`), the
/// evictable one holding the most is marked to close (the event loop closes it before
/// serving anything else), largest first as Valkey evicts from its largest bucket. Connections
/// with CLIENT NO-EVICT still count; replicas and the primary link do not. Run once per
/// event-loop pass while the limit is set (one pass over the clients; nothing when it is not).
pub fn evict_clients(s: &mut Server) {
    let limit = client_eviction_limit(&s.cfg);
    if limit == 0 {
        return;
    }
    let mut total = 0u64;
    let mut candidates = Vec::new();
    for (key, c) in s.net.clients.iter() {
        if !c.counts_for_eviction() {
            continue;
        }
        let mem = c.memory().total as u64;
        total += mem;
        if c.evictable() {
            candidates.push((mem, key));
        }
    }
    if total <= limit {
        s.stats.client_eviction_exhausted = false;
        return;
    }
    candidates.sort_unstable_by_key(|c| std::cmp::Reverse(c.0));
    let now = now_ms();
    for (mem, key) in candidates {
        if total <= limit {
            break;
        }
        if let Some(c) = s.net.clients.get_mut(key) {
            log_notice!("Evicting client: {}", client_info(c, now));
            c.close_asap = true;
            s.stats.evicted_clients += 1;
            total -= mem;
        }
    }
    if total > limit && !std::mem::replace(&mut s.stats.client_eviction_exhausted, true) {
        crate::log_warning!("Over client maxmemory after evicting all evictable clients");
    }
}

/// A command stopped building its reply at [`reply_budget`]: the client is closed instead of
/// answered, as Valkey closes it once the reply passes the limit.
pub fn reply_cut(s: &mut Server, key: usize) {
    let Some(c) = s.net.clients.get_mut(key) else {
        return;
    };
    if !c.close_asap {
        log_notice!(
            "Client {} scheduled to be closed ASAP for overcoming of output buffer limits.",
            client_info(c, now_ms())
        );
        c.close_asap = true;
        s.stats.client_output_buffer_limit_disconnections += 1;
    }
}

/// Checks `client-output-buffer-limit` for one client.
pub fn over_output_limit(
    c: &mut Client,
    limits: &crate::config::value::OutputLimits,
    now: i64,
) -> bool {
    let class = c.class();
    let limit = match class {
        ClientClass::Normal => limits.normal,
        ClientClass::Replica => limits.replica,
        ClientClass::Pubsub => limits.pubsub,
    };
    let (hard, soft, secs) = (limit.hard_bytes, limit.soft_bytes, limit.soft_secs);
    // Valkey does not count a client's fixed 16 KiB reply buffer, only what overflows it
    // (replicas: everything they hold of the stream).
    let used = match class {
        ClientClass::Replica => c.pending_output(),
        _ => c.pending_output().saturating_sub(REPLY_BUFFER_BYTES),
    } as u64;
    let hard_hit = hard > 0 && used >= hard;
    let soft_hit = soft > 0 && used >= soft;
    if !soft_hit {
        c.soft_limit_since_ms = None;
    }
    let soft_expired = soft_hit && {
        let since = *c.soft_limit_since_ms.get_or_insert(now);
        now - since > secs as i64 * 1000
    };
    if hard_hit || soft_expired {
        if !c.close_asap {
            log_notice!(
                "Client {} scheduled to be closed ASAP for overcoming of output buffer limits.",
                client_info(c, now)
            );
        }
        return true;
    }
    false
}

const HELP: &[&str] = &[
    "CACHING (YES|NO)",
    "    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
    "CAPA <option> [options...]",
    "    The client claims its some capability options. Options are:",
    "    * REDIRECT",
    "      The client can handle redirection during primary and replica failover in standalone mode.",
    "GETREDIR",
    "    Return the client ID we are redirecting to when tracking is enabled.",
    "GETNAME",
    "    Return the name of the current connection.",
    "ID",
    "    Return the ID of the current connection.",
    "INFO",
    "    Return information about the current client connection.",
    "KILL <ip:port>",
    "    Kill connection made from <ip:port>.",
    "KILL <option> <value> [<option> <value> [...]]",
    "    Kill connections. Options are:",
    "    * ADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made from the specified address",
    "    * LADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made to specified local address",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Kill connections by type.",
    "    * USER <username>",
    "      Kill connections authenticated by <username>.",
    "    * SKIPME (YES|NO)",
    "      Skip killing current connection (default: yes).",
    "    * ID <client-id>",
    "      Kill connections by client id.",
    "    * MAXAGE <maxage>",
    "      Kill connections older than the specified age.",
    "LIST [options ...]",
    "    Return information about client connections. Options:",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Return clients of specified type.",
    "UNPAUSE",
    "    Stop the current client pause, resuming traffic.",
    "PAUSE <timeout> [WRITE|ALL]",
    "    Suspend all, or just write, clients for <timeout> milliseconds.",
    "REPLY (ON|OFF|SKIP)",
    "    Control the replies sent to the current connection.",
    "SETNAME <name>",
    "    Assign the name <name> to the current connection.",
    "SETINFO <option> <value>",
    "    Set client meta attr. Options are:",
    "    * LIB-NAME: the client lib name.",
    "    * LIB-VER: the client lib version.",
    "UNBLOCK <clientid> [TIMEOUT|ERROR]",
    "    Unblock the specified blocked client.",
    "TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
    "         [OPTIN] [OPTOUT] [NOLOOP]",
    "    Control server assisted client side caching.",
    "TRACKINGINFO",
    "    Report tracking status for the current connection.",
    "NO-EVICT (ON|OFF)",
    "    Protect current client connection from eviction.",
    "NO-TOUCH (ON|OFF)",
    "    Will not touch LRU/LFU stats when this mode is on.",
];
