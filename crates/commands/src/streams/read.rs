//! XRANGE, XREVRANGE, XLEN, XREAD and XREADGROUP.
//!
//! XREAD/XREADGROUP serve at once when they can; with BLOCK they park the client on their
//! keys. `$` is replaced by the stream's last ID at that moment (the argument vector the server
//! keeps, [`crate::ctx::BlockRequest::argv`]), so the re-run after an XADD sees the new entries.
//! A re-run that still finds nothing parks again without side effects; one that finds the key
//! gone or the group destroyed answers with the error a fresh call would give (Valkey
//! re-executes XREADGROUP when its key is deleted, replaced or its group destroyed).
//!
//! XREADGROUP propagates what it did, not itself: an XCLAIM per entry added to the PEL, then
//! `XGROUP SETID ... ENTRIESREAD` when the group's last ID moved, and `XGROUP CREATECONSUMER`
//! for a consumer created by a NOACK read (`streamPropagateXCLAIM`,
//! `streamPropagateGroupID`, `streamPropagateConsumerCreation`).

use std::collections::HashSet;

use bytes::Bytes;
use resp::Reply;
use types::stream::id::{self, StreamId};
use types::stream::{Group, Stream, INVALID_ENTRIES_READ};

use super::{cstr, entry_reply, id_arg, int_arg, parse_bound, parse_strict, read_stream};
use crate::args::is;
use crate::ctx::{BlockRequest, Ctx};
use crate::errors::{self, err};
use crate::notify;

// --- XRANGE / XREVRANGE / XLEN -------------------------------------------------------------

pub fn xrange(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    range_generic(ctx, a, false)
}

pub fn xrevrange(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    range_generic(ctx, a, true)
}

fn range_generic(ctx: &mut Ctx, a: &[Bytes], rev: bool) -> Reply {
    let (start_arg, end_arg) = if rev { (&a[3], &a[2]) } else { (&a[2], &a[3]) };
    let start = match parse_bound(start_arg, true) {
        Ok(id) => id,
        Err(e) => return e,
    };
    let end = match parse_bound(end_arg, false) {
        Ok(id) => id,
        Err(e) => return e,
    };
    let mut count: i64 = -1;
    let mut j = 4;
    while j < a.len() {
        if is(cstr(&a[j]), "count") && j + 1 < a.len() {
            count = match int_arg(&a[j + 1]) {
                Ok(n) => n.max(0),
                Err(e) => return e,
            };
            j += 2;
        } else {
            return err(errors::SYNTAX);
        }
    }
    let s = match read_stream(ctx, &a[1]) {
        Ok(Some(s)) => s,
        Ok(None) => return Reply::Array(Vec::new()),
        Err(e) => return e,
    };
    if count == 0 {
        return Reply::NilArray;
    }
    let limit = if count < 0 {
        usize::MAX
    } else {
        count as usize
    };
    let items = s
        .entries
        .range(start, end, rev)
        .take(limit)
        .map(|e| entry_reply(&e))
        .collect();
    Reply::Array(items)
}

pub fn xlen(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    match read_stream(ctx, &a[1]) {
        Ok(Some(s)) => Reply::Int(s.len() as i64),
        Ok(None) => Reply::Int(0),
        Err(e) => e,
    }
}

// --- XREAD / XREADGROUP ---------------------------------------------------------------------

/// Key positions (`xreadGetKeys`): after the first `STREAMS` among the options, the first half
/// of the remaining arguments.
fn read_keys(argv: &[Bytes]) -> Vec<usize> {
    let mut streams_pos = None;
    let mut i = 1;
    while i < argv.len() {
        let arg = cstr(&argv[i]);
        if is(arg, "block") || is(arg, "count") {
            i += 1;
        } else if is(arg, "group") {
            i += 2;
        } else if is(arg, "noack") {
        } else if is(arg, "streams") {
            streams_pos = Some(i);
            break;
        } else {
            break;
        }
        i += 1;
    }
    let Some(pos) = streams_pos else {
        return Vec::new();
    };
    let num = argv.len() - pos - 1;
    if num == 0 || !num.is_multiple_of(2) {
        return Vec::new();
    }
    (pos + 1..pos + 1 + num / 2).collect()
}

pub fn xread_keys(argv: &[Bytes]) -> Vec<usize> {
    read_keys(argv)
}

pub fn xreadgroup_keys(argv: &[Bytes]) -> Vec<usize> {
    read_keys(argv)
}

/// Parsed XREAD/XREADGROUP options.
struct ReadArgs {
    /// BLOCK given: the deadline (`None` = forever).
    block: Option<Option<i64>>,
    /// 0 = no limit.
    count: u64,
    streams_arg: usize,
    streams_count: usize,
    noack: bool,
    /// (group, consumer) for XREADGROUP.
    group: Option<(Bytes, Bytes)>,
}

/// The `>` ID (served from the group's last delivered ID), as Valkey marks it.
const NEW_ENTRIES: StreamId = id::MAX;

/// BLOCK's milliseconds (`getTimeoutFromObjectOrReply(..., UNIT_MILLISECONDS)`).
fn block_deadline(arg: &[u8], now_ms: i64) -> Result<Option<i64>, Reply> {
    let ms = crate::args::int_or(arg, errors::STREAM_TIMEOUT_NOT_INT)?;
    if ms < 0 {
        return Err(err(errors::TIMEOUT_NEGATIVE));
    }
    if ms == 0 {
        return Ok(None);
    }
    now_ms
        .checked_add(ms)
        .map(Some)
        .ok_or_else(|| err(errors::TIMEOUT_RANGE))
}

fn parse_read_args(ctx: &Ctx, a: &[Bytes], group_cmd: bool) -> Result<ReadArgs, Reply> {
    let mut r = ReadArgs {
        block: None,
        count: 0,
        streams_arg: 0,
        streams_count: 0,
        noack: false,
        group: None,
    };
    let mut i = 1;
    while i < a.len() {
        let more = a.len() - i - 1;
        let o = cstr(&a[i]);
        if is(o, "block") && more > 0 {
            i += 1;
            r.block = Some(block_deadline(&a[i], ctx.now_ms())?);
        } else if is(o, "count") && more > 0 {
            i += 1;
            r.count = int_arg(&a[i])?.max(0) as u64;
        } else if is(o, "streams") && more > 0 {
            r.streams_arg = i + 1;
            let n = a.len() - r.streams_arg;
            if !n.is_multiple_of(2) {
                return Err(if group_cmd {
                    errors::stream_unbalanced("xreadgroup", '>')
                } else {
                    errors::stream_unbalanced("xread", '$')
                });
            }
            r.streams_count = n / 2;
            break;
        } else if is(o, "group") && more >= 2 {
            if !group_cmd {
                return Err(err(errors::STREAM_GROUP_XREAD));
            }
            r.group = Some((a[i + 1].clone(), a[i + 2].clone()));
            i += 2;
        } else if is(o, "noack") {
            if !group_cmd {
                return Err(err(errors::STREAM_NOACK_XREAD));
            }
            r.noack = true;
        } else {
            return Err(err(errors::SYNTAX));
        }
        i += 1;
    }
    if r.streams_arg == 0 {
        return Err(err(errors::SYNTAX));
    }
    if group_cmd && r.group.is_none() {
        return Err(err(errors::STREAM_MISSING_GROUP));
    }
    Ok(r)
}

/// Resolves each stream's ID argument (and checks types and groups), as the first pass of
/// `xreadCommand`.
fn resolve_ids(ctx: &mut Ctx, a: &[Bytes], r: &ReadArgs) -> Result<Vec<StreamId>, Reply> {
    let group_cmd = r.group.is_some();
    let mut ids = Vec::with_capacity(r.streams_count.min(1024));
    for k in 0..r.streams_count {
        let key = &a[r.streams_arg + k];
        let arg = &a[r.streams_arg + r.streams_count + k];
        let s = read_stream(ctx, key)?;
        if let Some((group, _)) = &r.group {
            if s.and_then(|s| s.groups.get(group)).is_none() {
                return Err(errors::stream_nogroup_xreadgroup(key, group));
            }
        }
        let id = match cstr(arg) {
            b"$" if group_cmd => return Err(err(errors::STREAM_DOLLAR_XREADGROUP)),
            b"$" => s.map_or(id::MIN, |s| s.entries.last_id),
            b"+" if group_cmd => return Err(err(errors::STREAM_PLUS_XREADGROUP)),
            b"+" => match s {
                Some(s) => {
                    id::decr(s.entries.last_id).ok_or_else(|| err(errors::STREAM_LAST_ID_ZERO))?
                }
                None => id::MIN,
            },
            b">" if !group_cmd => return Err(err(errors::STREAM_GT_XREAD)),
            b">" => NEW_ENTRIES,
            _ => parse_strict(arg)?,
        };
        ids.push(id);
    }
    Ok(ids)
}

pub fn xread(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    read_generic(ctx, a, false)
}

pub fn xreadgroup(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    read_generic(ctx, a, true)
}

fn read_generic(ctx: &mut Ctx, a: &[Bytes], group_cmd: bool) -> Reply {
    // Everything XREADGROUP propagates is explicit (`preventCommandPropagation`).
    ctx.propagate_nothing();
    let r = match parse_read_args(ctx, a, group_cmd) {
        Ok(r) => r,
        Err(e) => return e,
    };
    if ctx.unblocking && !group_cmd && !xread_has_data(ctx, a, &r) {
        // A re-run for a parked XREAD: Valkey only re-runs it for a stream that got data.
        return park(ctx, a, &r, None);
    }
    let mut ids = match resolve_ids(ctx, a, &r) {
        Ok(ids) => ids,
        Err(e) => return e,
    };
    if ctx.unblocking && group_cmd && !group_has_data(ctx, a, &r, &ids) {
        return park(ctx, a, &r, None);
    }
    let mut served: Vec<(Bytes, Reply)> = Vec::new();
    for k in 0..r.streams_count {
        let key = a[r.streams_arg + k].clone();
        if let Some(entries) = serve_one(ctx, &key, &mut ids[k], &r) {
            served.push((key, entries));
        }
    }
    if !served.is_empty() {
        return if ctx.resp3() {
            Reply::Map(
                served
                    .into_iter()
                    .map(|(k, v)| (Reply::Bulk(k), v))
                    .collect(),
            )
        } else {
            Reply::Array(
                served
                    .into_iter()
                    .map(|(k, v)| Reply::Array(vec![Reply::Bulk(k), v]))
                    .collect(),
            )
        };
    }
    if r.block.is_none() || !ctx.may_block {
        return Reply::NilArray;
    }
    park(ctx, a, &r, Some(&ids))
}

/// Parks the client on the stream keys. On the first call, `$` arguments are replaced by the
/// IDs they resolved to, in the argument vector the server keeps for re-runs.
fn park(ctx: &mut Ctx, a: &[Bytes], r: &ReadArgs, ids: Option<&[StreamId]>) -> Reply {
    let mut seen = HashSet::new();
    let keys: Vec<Bytes> = a[r.streams_arg..r.streams_arg + r.streams_count]
        .iter()
        .filter(|k| seen.insert(*k))
        .cloned()
        .collect();
    let mut argv = None;
    if let Some(ids) = ids {
        let first_id_arg = r.streams_arg + r.streams_count;
        let dollars: Vec<usize> = (0..r.streams_count)
            .filter(|&k| cstr(&a[first_id_arg + k]) == b"$")
            .collect();
        if !dollars.is_empty() {
            let mut v = a.to_vec();
            for k in dollars {
                v[first_id_arg + k] = id_arg(ids[k]);
            }
            argv = Some(v);
        }
    }
    ctx.block = Some(BlockRequest {
        keys,
        deadline_ms: r.block.flatten(),
        argv,
        on_nokey: r.group.is_some(),
    });
    Reply::NilArray
}

/// For a re-run XREAD: true if some key holds a stream with an entry past its ID (keys of
/// another type are ignored here: Valkey does not re-run a client for them).
fn xread_has_data(ctx: &mut Ctx, a: &[Bytes], r: &ReadArgs) -> bool {
    (0..r.streams_count).any(|k| {
        let key = &a[r.streams_arg + k];
        let arg = &a[r.streams_arg + r.streams_count + k];
        let Some(s) = ctx.ks.peek(ctx.db, key).and_then(|o| match o.value() {
            keyspace::ValueRef::Stream(s) => Some(s),
            _ => None,
        }) else {
            return false;
        };
        let after = match cstr(arg) {
            b"$" => s.entries.last_id,
            b"+" => id::decr(s.entries.last_id).unwrap_or(id::MIN),
            _ => match parse_strict(arg) {
                Ok(id) => id,
                Err(_) => return true,
            },
        };
        !s.is_empty() && s.entries.last_valid_id() > after
    })
}

/// For a re-run XREADGROUP whose keys and groups all still exist: true if a `>` stream has
/// entries past its group's last ID (history reads never park).
fn group_has_data(ctx: &mut Ctx, a: &[Bytes], r: &ReadArgs, ids: &[StreamId]) -> bool {
    let Some((group, _)) = &r.group else {
        return true;
    };
    (0..r.streams_count).any(|k| {
        if ids[k] != NEW_ENTRIES {
            return true;
        }
        let key = &a[r.streams_arg + k];
        let Ok(Some(s)) = read_stream(ctx, key) else {
            return true;
        };
        s.groups
            .get(group)
            .is_none_or(|g| !s.is_empty() && s.entries.last_valid_id() > g.last_id)
    })
}

/// Serves one stream of an XREAD/XREADGROUP if it can (the second pass of `xreadCommand`):
/// the entries reply, or `None` if nothing is served for this key.
fn serve_one(ctx: &mut Ctx, key: &Bytes, gt: &mut StreamId, r: &ReadArgs) -> Option<Reply> {
    let s = read_stream(ctx, key).ok()??;
    let Some((group, consumer)) = &r.group else {
        if s.is_empty() || s.entries.last_valid_id() <= *gt {
            return None;
        }
        let start = id::incr(*gt).unwrap_or(id::MIN);
        let limit = if r.count == 0 {
            usize::MAX
        } else {
            r.count as usize
        };
        let items = s
            .entries
            .range(start, id::MAX, false)
            .take(limit)
            .map(|e| super::entry_reply(&e))
            .collect();
        return Some(Reply::Array(items));
    };
    let history = *gt != NEW_ENTRIES;
    let mut serve = history;
    if !history && !s.is_empty() {
        let last = s.groups.get(group).map_or(id::MAX, |g| g.last_id);
        if s.entries.last_valid_id() > last {
            serve = true;
            *gt = last;
        }
    }
    let now = ctx.now_ms();
    let created = {
        let s = super::stream_mut_silent(ctx, key)?;
        let g = s.groups.get_mut(group)?;
        let created = g.create_consumer(consumer, now);
        if let Some(c) = g.consumer_mut(consumer) {
            c.seen_time_ms = now;
        }
        created
    };
    if created {
        ctx.dirty += 1;
        ctx.notify(notify::STREAM, "xgroup-createconsumer", key);
        if r.noack {
            ctx.propagate(prop(&[b"XGROUP", b"CREATECONSUMER", key, group, consumer]));
        }
    }
    if !serve {
        return None;
    }
    let start = id::incr(*gt).unwrap_or(id::MIN);
    let reply = if history {
        serve_history(ctx, key, group, consumer, start, r.count)
    } else {
        serve_new(ctx, key, group, consumer, start, r)
    };
    ctx.dirty += 1;
    Some(reply)
}

/// A consumer re-reading its own pending entries (`streamReplyWithRangeFromConsumerPEL`):
/// deleted entries come back as `[id, nil]`; each one served counts a new delivery.
fn serve_history(
    ctx: &mut Ctx,
    key: &[u8],
    group: &[u8],
    consumer: &[u8],
    start: StreamId,
    count: u64,
) -> Reply {
    let now = ctx.now_ms();
    let Some(s) = super::stream_mut_silent(ctx, key) else {
        return Reply::Array(Vec::new());
    };
    let Stream { entries, groups } = s;
    let Some(g) = groups.get_mut(group) else {
        return Reply::Array(Vec::new());
    };
    let limit = if count == 0 {
        usize::MAX
    } else {
        count as usize
    };
    let ids: Vec<StreamId> = match g.consumer(consumer) {
        Some(c) => c.pel_from(start).take(limit).collect(),
        None => Vec::new(),
    };
    let mut items = Vec::with_capacity(ids.len());
    for id in ids {
        match entries.get(id) {
            Some(e) => {
                items.push(super::entry_reply(&e));
                g.redeliver(id, now);
            }
            None => items.push(Reply::Array(vec![super::id_reply(id), Reply::NilArray])),
        }
    }
    Reply::Array(items)
}

/// New entries for a group (`streamReplyWithRange` with a group): moves the group's last ID
/// and read counter, records deliveries (unless NOACK), and propagates them.
fn serve_new(
    ctx: &mut Ctx,
    key: &Bytes,
    group: &Bytes,
    consumer: &Bytes,
    start: StreamId,
    r: &ReadArgs,
) -> Reply {
    let now = ctx.now_ms();
    let mut props: Vec<Vec<Bytes>> = Vec::new();
    let items = {
        let Some(s) = super::stream_mut_silent(ctx, key) else {
            return Reply::Array(Vec::new());
        };
        let Stream { entries, groups } = s;
        let Some(g) = groups.get_mut(group) else {
            return Reply::Array(Vec::new());
        };
        let limit = if r.count == 0 {
            usize::MAX
        } else {
            r.count as usize
        };
        let mut moved = false;
        let mut items = Vec::new();
        for e in entries.range(start, id::MAX, false).take(limit) {
            let id = e.id();
            if id > g.last_id {
                advance_read_counter(entries, g, id);
                g.last_id = id;
                moved = true;
            }
            items.push(super::entry_reply(&e));
            if !r.noack {
                g.deliver(id, consumer, now);
                if let Some(c) = g.consumer_mut(consumer) {
                    c.active_time_ms = now;
                }
                if let Some(n) = g.pel_get(id) {
                    props.push(xclaim_prop(key, group, g, n, id_arg(id)));
                }
            }
        }
        if moved {
            props.push(setid_prop(key, group, g));
        }
        items
    };
    for p in props {
        ctx.propagate(p);
    }
    Reply::Array(items)
}

/// The group read counter after delivering `id` past the last delivered ID.
fn advance_read_counter(entries: &types::stream::Entries, g: &mut Group, id: StreamId) {
    if g.entries_read != INVALID_ENTRIES_READ && !entries.range_has_tombstones(Some(id), None) {
        g.entries_read += 1;
    } else if entries.entries_added != 0 {
        g.entries_read = entries.estimate_distance(id);
    }
}

/// `XCLAIM <key> <group> <consumer> 0 <id> TIME <ms> RETRYCOUNT <n> FORCE JUSTID LASTID <id>`
/// (`streamPropagateXCLAIM`).
/// `id` is the ID argument as it will be written (XCLAIM passes the client's own text).
pub(super) fn xclaim_prop(
    key: &[u8],
    group: &[u8],
    g: &Group,
    n: &types::stream::Nack,
    id: Bytes,
) -> Vec<Bytes> {
    vec![
        Bytes::from_static(b"XCLAIM"),
        Bytes::copy_from_slice(key),
        Bytes::copy_from_slice(group),
        Bytes::copy_from_slice(&n.consumer),
        Bytes::from_static(b"0"),
        id,
        Bytes::from_static(b"TIME"),
        Bytes::from(n.delivery_time_ms.to_string()),
        Bytes::from_static(b"RETRYCOUNT"),
        Bytes::from(n.delivery_count.to_string()),
        Bytes::from_static(b"FORCE"),
        Bytes::from_static(b"JUSTID"),
        Bytes::from_static(b"LASTID"),
        id_arg(g.last_id),
    ]
}

/// `XGROUP SETID <key> <group> <last-id> ENTRIESREAD <n>` (`streamPropagateGroupID`).
pub(super) fn setid_prop(key: &[u8], group: &[u8], g: &Group) -> Vec<Bytes> {
    vec![
        Bytes::from_static(b"XGROUP"),
        Bytes::from_static(b"SETID"),
        Bytes::copy_from_slice(key),
        Bytes::copy_from_slice(group),
        id_arg(g.last_id),
        Bytes::from_static(b"ENTRIESREAD"),
        Bytes::from(g.entries_read.to_string()),
    ]
}

/// An argument vector from byte strings.
pub(super) fn prop(parts: &[&[u8]]) -> Vec<Bytes> {
    parts.iter().map(|p| Bytes::copy_from_slice(p)).collect()
}
