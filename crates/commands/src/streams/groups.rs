//! Consumer groups: XGROUP (CREATE, SETID, DESTROY, CREATECONSUMER, DELCONSUMER, HELP),
//! XACK, XPENDING, XCLAIM and XAUTOCLAIM.
//!
//! XCLAIM and XAUTOCLAIM propagate one idempotent XCLAIM per entry they change (and an
//! `XGROUP SETID` when only the group's last ID moved), never themselves, as Valkey does.

use bytes::Bytes;
use resp::Reply;
use types::stream::id::{self, StreamId};
use types::stream::{Stream, INVALID_ENTRIES_READ};

use super::read::{setid_prop, xclaim_prop};
use super::{
    create_stream, cstr, entry_reply, help_reply, id_arg, id_reply, int_arg, parse_bound, parse_id,
    parse_strict, read_stream, signal_modified, stream_mut_silent, write_stream,
};
use crate::args::is;
use crate::ctx::Ctx;
use crate::errors::{self, err};
use crate::notify;

const XGROUP_HELP: &[&str] = &[
    "CREATE <key> <groupname> <id|$> [option]",
    "    Create a new consumer group. Options are:",
    "    * MKSTREAM",
    "      Create the empty stream if it does not exist.",
    "    * ENTRIESREAD entries_read",
    "      Set the group's entries_read counter (internal use).",
    "CREATECONSUMER <key> <groupname> <consumer>",
    "    Create a new consumer in the specified group.",
    "DELCONSUMER <key> <groupname> <consumer>",
    "    Remove the specified consumer.",
    "DESTROY <key> <groupname>",
    "    Remove the specified group.",
    "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
    "    Set the current group ID and entries_read counter.",
];

/// Every XGROUP subcommand (`xgroupCommand`), with its checks in Valkey's order.
pub fn xgroup(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    let sub = cstr(&a[1]);
    let syntax = || errors::subcommand_syntax(&a[0], &a[1]);
    if a.len() == 2 && is(sub, "help") {
        return help_reply(&a[0], XGROUP_HELP);
    }
    if a.len() < 4 {
        return syntax();
    }
    let create = is(sub, "create");
    let setid = is(sub, "setid");
    let mut mkstream = false;
    let mut entries_read = INVALID_ENTRIES_READ;
    let mut i = 5;
    while i < a.len() {
        if create && is(cstr(&a[i]), "mkstream") {
            mkstream = true;
            i += 1;
        } else if (create || setid) && is(cstr(&a[i]), "entriesread") && i + 1 < a.len() {
            entries_read = match int_arg(&a[i + 1]) {
                Ok(n) if n < 0 && n != INVALID_ENTRIES_READ => {
                    return err(errors::STREAM_ENTRIESREAD)
                }
                Ok(n) => n,
                Err(e) => return e,
            };
            i += 2;
        } else {
            return syntax();
        }
    }
    let (key, group) = (&a[2], &a[3]);
    let exists = match write_stream(ctx, key) {
        Err(e) => return e,
        Ok(s) => s.map(|s| s.groups.get(group).is_some()),
    };
    if !mkstream {
        let Some(group_exists) = exists else {
            return err(errors::STREAM_XGROUP_NO_KEY);
        };
        let needs_group = setid || is(sub, "createconsumer") || is(sub, "delconsumer");
        if !group_exists && needs_group {
            return errors::stream_nogroup_for_key(group, key);
        }
    }
    if create && a.len() <= 8 {
        group_create(ctx, a, exists.is_some(), entries_read)
    } else if setid && (a.len() == 5 || a.len() == 7) {
        group_setid(ctx, a, entries_read)
    } else if is(sub, "destroy") && a.len() == 4 {
        group_destroy(ctx, key, group)
    } else if is(sub, "createconsumer") && a.len() == 5 {
        let now = ctx.now_ms();
        let created = stream_mut_silent(ctx, key)
            .and_then(|s| s.groups.get_mut(group))
            .is_some_and(|g| g.create_consumer(&a[4], now));
        if created {
            ctx.dirty += 1;
            ctx.notify(notify::STREAM, "xgroup-createconsumer", key);
        }
        Reply::Int(i64::from(created))
    } else if is(sub, "delconsumer") && a.len() == 5 {
        let pending = stream_mut_silent(ctx, key)
            .and_then(|s| s.groups.get_mut(group))
            .and_then(|g| g.delete_consumer(&a[4]));
        if pending.is_some() {
            ctx.dirty += 1;
            ctx.notify(notify::STREAM, "xgroup-delconsumer", key);
        }
        Reply::Int(pending.unwrap_or(0) as i64)
    } else {
        syntax()
    }
}

fn group_create(ctx: &mut Ctx, a: &[Bytes], exists: bool, entries_read: i64) -> Reply {
    let (key, group) = (&a[2], &a[3]);
    let last_id = if cstr(&a[4]) == b"$" {
        match write_stream(ctx, key) {
            Ok(Some(s)) => s.entries.last_id,
            _ => id::MIN,
        }
    } else {
        match parse_strict(&a[4]) {
            Ok(id) => id,
            Err(e) => return e,
        }
    };
    if !exists {
        create_stream(ctx, key, Stream::new());
    }
    let created =
        stream_mut_silent(ctx, key).is_some_and(|s| s.groups.create(group, last_id, entries_read));
    if !created {
        return err(errors::STREAM_BUSYGROUP);
    }
    ctx.dirty += 1;
    ctx.notify(notify::STREAM, "xgroup-create", key);
    Reply::Ok
}

fn group_setid(ctx: &mut Ctx, a: &[Bytes], entries_read: i64) -> Reply {
    let (key, group) = (&a[2], &a[3]);
    let last_id = if cstr(&a[4]) == b"$" {
        match write_stream(ctx, key) {
            Ok(Some(s)) => s.entries.last_id,
            _ => id::MIN,
        }
    } else {
        match parse_id(&a[4], 0) {
            Ok(id) => id,
            Err(e) => return e,
        }
    };
    if let Some(g) = stream_mut_silent(ctx, key).and_then(|s| s.groups.get_mut(group)) {
        g.last_id = last_id;
        g.entries_read = entries_read;
    }
    ctx.dirty += 1;
    ctx.notify(notify::STREAM, "xgroup-setid", key);
    Reply::Ok
}

fn group_destroy(ctx: &mut Ctx, key: &[u8], group: &[u8]) -> Reply {
    let removed = stream_mut_silent(ctx, key).is_some_and(|s| s.groups.remove(group).is_some());
    if !removed {
        return Reply::Int(0);
    }
    ctx.dirty += 1;
    ctx.notify(notify::STREAM, "xgroup-destroy", key);
    // Wakes XREADGROUP clients of the key, which then fail with NOGROUP.
    signal_modified(ctx, key);
    Reply::Int(1)
}

// --- XACK ----------------------------------------------------------------------------------

pub fn xack(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    match read_stream(ctx, &a[1]) {
        Err(e) => return e,
        Ok(Some(s)) if s.groups.get(&a[2]).is_some() => {}
        Ok(_) => return Reply::Int(0),
    }
    let mut ids = Vec::with_capacity(a.len() - 3);
    for arg in &a[3..] {
        match parse_strict(arg) {
            Ok(id) => ids.push(id),
            Err(e) => return e,
        }
    }
    let Some(g) = stream_mut_silent(ctx, &a[1]).and_then(|s| s.groups.get_mut(&a[2])) else {
        return Reply::Int(0);
    };
    let acked = ids
        .iter()
        .filter(|&&id| g.remove_nack(id).is_some())
        .count();
    ctx.dirty += acked as u64;
    Reply::Int(acked as i64)
}

// --- XPENDING --------------------------------------------------------------------------------

pub fn xpending(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    let summary = a.len() == 3;
    if a.len() != 3 && !(6..=9).contains(&a.len()) {
        return err(errors::SYNTAX);
    }
    let mut range = None;
    if a.len() >= 6 {
        match parse_pending_range(a) {
            Ok(r) => range = Some(r),
            Err(e) => return e,
        }
    }
    let now = ctx.now_ms();
    let s = match read_stream(ctx, &a[1]) {
        Err(e) => return e,
        Ok(s) => s,
    };
    let Some(g) = s.and_then(|s| s.groups.get(&a[2])) else {
        return errors::stream_nogroup(&a[1], &a[2]);
    };
    let Some(r) = range.filter(|_| !summary) else {
        return pending_summary(g);
    };
    let nacks: Box<dyn Iterator<Item = &types::stream::Nack>> = match &r.consumer {
        Some(name) => match g.consumer(name) {
            Some(c) => Box::new(c.pel_from(r.start).filter_map(|id| g.pel_get(id))),
            None => return Reply::Array(Vec::new()),
        },
        None => Box::new(g.pel_from(r.start)),
    };
    let mut items = Vec::new();
    let mut left = r.count;
    for n in nacks {
        if left == 0 || n.id > r.end {
            break;
        }
        if r.min_idle != 0 && now - n.delivery_time_ms < r.min_idle {
            continue;
        }
        left -= 1;
        items.push(Reply::Array(vec![
            id_reply(n.id),
            Reply::Bulk(Bytes::copy_from_slice(&n.consumer)),
            Reply::Int((now - n.delivery_time_ms).max(0)),
            Reply::Int(n.delivery_count as i64),
        ]));
    }
    Reply::Array(items)
}

struct PendingRange {
    min_idle: i64,
    start: StreamId,
    end: StreamId,
    count: u64,
    consumer: Option<Bytes>,
}

fn parse_pending_range(a: &[Bytes]) -> Result<PendingRange, Reply> {
    let mut startidx = 3;
    let mut min_idle = 0;
    if is(cstr(&a[3]), "idle") {
        min_idle = int_arg(&a[4])?;
        if a.len() < 8 {
            return Err(err(errors::SYNTAX));
        }
        startidx += 2;
    }
    let count = int_arg(&a[startidx + 2])?.max(0) as u64;
    let start = parse_bound(&a[startidx], true)?;
    let end = parse_bound(&a[startidx + 1], false)?;
    let consumer = a.get(startidx + 3).cloned();
    Ok(PendingRange {
        min_idle,
        start,
        end,
        count,
        consumer,
    })
}

fn pending_summary(g: &types::stream::Group) -> Reply {
    let (Some(first), Some(last)) = (g.pel_first(), g.pel_last()) else {
        return Reply::Array(vec![Reply::Int(0), Reply::Nil, Reply::Nil, Reply::NilArray]);
    };
    let consumers = g
        .consumers()
        .filter(|(_, c)| c.pending() > 0)
        .map(|(name, c)| {
            Reply::Array(vec![
                Reply::Bulk(Bytes::copy_from_slice(name)),
                Reply::Bulk(Bytes::from(c.pending().to_string())),
            ])
        })
        .collect();
    Reply::Array(vec![
        Reply::Int(g.pel_len() as i64),
        id_reply(first.id),
        id_reply(last.id),
        Reply::Array(consumers),
    ])
}

// --- XCLAIM ----------------------------------------------------------------------------------

pub fn xclaim(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    let (key, group, consumer) = (&a[1], &a[2], &a[3]);
    match read_stream(ctx, key) {
        Err(e) => return e,
        Ok(Some(s)) if s.groups.get(group).is_some() => {}
        Ok(_) => return errors::stream_nogroup(key, group),
    }
    let min_idle = match crate::args::int_or(&a[4], errors::STREAM_XCLAIM_MIN_IDLE) {
        Ok(n) => n.max(0),
        Err(e) => return e,
    };
    // IDs first; the first argument that is not an ID starts the options.
    let mut ids = Vec::new();
    let mut j = 5;
    while j < a.len() {
        match id::parse(&a[j], id::IdRules::STRICT) {
            Some(p) => ids.push((p.id, a[j].clone())),
            None => break,
        }
        j += 1;
    }
    let now = ctx.now_ms();
    let opts = match parse_claim_options(&a[j..], now) {
        Ok(o) => o,
        Err(e) => return e,
    };
    let delivery_time = match opts.delivery_time {
        Some(t) if t < 0 || t > now => now,
        Some(t) => t,
        None => now,
    };
    let mut props: Vec<Vec<Bytes>> = Vec::new();
    let created;
    let mut dirty = 0u64;
    let mut items = Vec::new();
    {
        let Some(s) = stream_mut_silent(ctx, key) else {
            return errors::stream_nogroup(key, group);
        };
        let Stream { entries, groups } = s;
        let Some(g) = groups.get_mut(group) else {
            return errors::stream_nogroup(key, group);
        };
        let mut propagate_last_id = false;
        if opts.last_id > g.last_id {
            g.last_id = opts.last_id;
            propagate_last_id = true;
        }
        created = g.create_consumer(consumer, now);
        if let Some(c) = g.consumer_mut(consumer) {
            c.seen_time_ms = now;
        }
        for (id, id_text) in &ids {
            let id = *id;
            let existing = g.pel_get(id).cloned();
            let Some(entry) = entries.get(id) else {
                if let Some(n) = existing {
                    props.push(xclaim_prop(key, group, g, &n, id_text.clone()));
                    propagate_last_id = false;
                    dirty += 1;
                    g.remove_nack(id);
                }
                continue;
            };
            let count_before = match &existing {
                Some(n) => {
                    if min_idle != 0 && now - n.delivery_time_ms < min_idle {
                        continue;
                    }
                    n.delivery_count
                }
                None if opts.force => 1,
                None => continue,
            };
            let count = if opts.retry_count >= 0 {
                opts.retry_count as u64
            } else if !opts.justid {
                count_before.wrapping_add(1)
            } else {
                count_before
            };
            g.claim(id, consumer, delivery_time, count);
            items.push(if opts.justid {
                id_reply(id)
            } else {
                entry_reply(&entry)
            });
            if let Some(c) = g.consumer_mut(consumer) {
                c.active_time_ms = now;
            }
            if let Some(n) = g.pel_get(id) {
                props.push(xclaim_prop(key, group, g, n, id_text.clone()));
            }
            propagate_last_id = false;
            dirty += 1;
        }
        if propagate_last_id {
            props.push(setid_prop(key, group, g));
            dirty += 1;
        }
    }
    finish_claim(ctx, key, created, dirty, props);
    Reply::Array(items)
}

/// Dirty count, keyspace event and propagation shared by XCLAIM and XAUTOCLAIM.
fn finish_claim(ctx: &mut Ctx, key: &[u8], created: bool, dirty: u64, props: Vec<Vec<Bytes>>) {
    if created {
        ctx.dirty += 1;
        ctx.notify(notify::STREAM, "xgroup-createconsumer", key);
    }
    ctx.dirty += dirty;
    ctx.propagate_nothing();
    for p in props {
        ctx.propagate(p);
    }
}

struct ClaimOptions {
    force: bool,
    justid: bool,
    /// Absolute delivery time from IDLE or TIME.
    delivery_time: Option<i64>,
    retry_count: i64,
    last_id: StreamId,
}

fn parse_claim_options(opts: &[Bytes], now: i64) -> Result<ClaimOptions, Reply> {
    let mut o = ClaimOptions {
        force: false,
        justid: false,
        delivery_time: None,
        retry_count: -1,
        last_id: id::MIN,
    };
    let mut j = 0;
    while j < opts.len() {
        let more = opts.len() - 1 - j;
        let opt = cstr(&opts[j]);
        if is(opt, "force") {
            o.force = true;
        } else if is(opt, "justid") {
            o.justid = true;
        } else if is(opt, "idle") && more > 0 {
            j += 1;
            let idle = crate::args::int_or(&opts[j], errors::STREAM_XCLAIM_IDLE)?;
            o.delivery_time = Some(now.wrapping_sub(idle));
        } else if is(opt, "time") && more > 0 {
            j += 1;
            o.delivery_time = Some(crate::args::int_or(&opts[j], errors::STREAM_XCLAIM_TIME)?);
        } else if is(opt, "retrycount") && more > 0 {
            j += 1;
            o.retry_count = crate::args::int_or(&opts[j], errors::STREAM_XCLAIM_RETRYCOUNT)?;
        } else if is(opt, "lastid") && more > 0 {
            j += 1;
            o.last_id = parse_strict(&opts[j])?;
        } else {
            return Err(errors::stream_xclaim_option(&opts[j]));
        }
        j += 1;
    }
    Ok(o)
}

// --- XAUTOCLAIM ------------------------------------------------------------------------------

/// COUNT's upper bound (`LONG_MAX / max(sizeof(streamID), attempts_factor)`).
const AUTOCLAIM_MAX_COUNT: i64 = i64::MAX / 16;
/// Valkey allocates `count` IDs up front; past the 47-bit address space that fails.
const AUTOCLAIM_ALLOC_LIMIT: i64 = 1 << 47;

pub fn xautoclaim(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    let (key, group, consumer) = (&a[1], &a[2], &a[3]);
    let min_idle = match crate::args::int_or(&a[4], errors::STREAM_XAUTOCLAIM_MIN_IDLE) {
        Ok(n) => n.max(0),
        Err(e) => return e,
    };
    let start = match parse_bound(&a[5], true) {
        Ok(id) => id,
        Err(e) => return e,
    };
    let mut count: i64 = 100;
    let mut justid = false;
    let mut j = 6;
    while j < a.len() {
        let more = a.len() - 1 - j;
        if is(cstr(&a[j]), "count") && more > 0 {
            count = match crate::args::int_or(&a[j + 1], errors::STREAM_XAUTOCLAIM_COUNT) {
                Ok(n) if (1..=AUTOCLAIM_MAX_COUNT).contains(&n) => n,
                Ok(_) => return err(errors::STREAM_XAUTOCLAIM_COUNT),
                Err(e) => return e,
            };
            j += 1;
        } else if is(cstr(&a[j]), "justid") {
            justid = true;
        } else {
            return err(errors::SYNTAX);
        }
        j += 1;
    }
    match read_stream(ctx, key) {
        Err(e) => return e,
        Ok(Some(s)) if s.groups.get(group).is_some() => {}
        Ok(_) => return errors::stream_nogroup(key, group),
    }
    if count.saturating_mul(16) > AUTOCLAIM_ALLOC_LIMIT {
        return err(errors::STREAM_XAUTOCLAIM_NO_MEMORY);
    }
    let now = ctx.now_ms();
    let mut props = Vec::new();
    let mut items = Vec::new();
    let mut deleted = Vec::new();
    let mut dirty = 0u64;
    let created;
    let next;
    {
        let Some(s) = stream_mut_silent(ctx, key) else {
            return errors::stream_nogroup(key, group);
        };
        let Stream { entries, groups } = s;
        let Some(g) = groups.get_mut(group) else {
            return errors::stream_nogroup(key, group);
        };
        created = g.create_consumer(consumer, now);
        if let Some(c) = g.consumer_mut(consumer) {
            c.seen_time_ms = now;
        }
        let mut attempts = count.saturating_mul(10);
        let mut cursor = start;
        let mut left = count;
        let mut resume_at = None;
        while attempts > 0 && left > 0 {
            attempts -= 1;
            let Some(n) = g.pel_from(cursor).next().cloned() else {
                resume_at = Some(id::MIN);
                break;
            };
            cursor = n.id;
            let Some(entry) = entries.get(n.id) else {
                props.push(xclaim_prop(key, group, g, &n, id_arg(n.id)));
                dirty += 1;
                g.remove_nack(n.id);
                deleted.push(n.id);
                left -= 1;
                continue;
            };
            let next_cursor = id::incr(n.id);
            if min_idle != 0 && now - n.delivery_time_ms < min_idle {
                match next_cursor {
                    Some(c) => cursor = c,
                    None => {
                        resume_at = Some(id::MIN);
                        break;
                    }
                }
                continue;
            }
            let delivered = if justid {
                n.delivery_count
            } else {
                n.delivery_count.wrapping_add(1)
            };
            g.claim(n.id, consumer, now, delivered);
            items.push(if justid {
                id_reply(n.id)
            } else {
                entry_reply(&entry)
            });
            left -= 1;
            if let Some(c) = g.consumer_mut(consumer) {
                c.active_time_ms = now;
            }
            if let Some(n) = g.pel_get(n.id) {
                props.push(xclaim_prop(key, group, g, n, id_arg(n.id)));
            }
            dirty += 1;
            match next_cursor {
                Some(c) => cursor = c,
                None => {
                    resume_at = Some(id::MIN);
                    break;
                }
            }
        }
        // The cursor for the next call: the next PEL entry, or 0-0 at the end.
        next = resume_at.unwrap_or_else(|| g.pel_from(cursor).next().map_or(id::MIN, |n| n.id));
    }
    finish_claim(ctx, key, created, dirty, props);
    Reply::Array(vec![
        id_reply(next),
        Reply::Array(items),
        Reply::Array(deleted.into_iter().map(id_reply).collect()),
    ])
}
