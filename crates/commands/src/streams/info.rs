//! XINFO STREAM [FULL [COUNT n]], XINFO GROUPS, XINFO CONSUMERS and XINFO HELP: maps in RESP3,
//! flat key/value arrays in RESP2, as Valkey's `addReplyMapLen`.

use bytes::Bytes;
use resp::Reply;
use types::stream::id;
use types::stream::{Group, Stream, INVALID_ENTRIES_READ};

use super::{cstr, entry_reply, help_reply, id_reply, int_arg, read_stream};
use crate::args::is;
use crate::ctx::Ctx;
use crate::errors::{self, err};

const XINFO_HELP: &[&str] = &[
    "CONSUMERS <key> <groupname>",
    "    Show consumers of <groupname>.",
    "GROUPS <key>",
    "    Show the stream consumer groups.",
    "STREAM <key> [FULL [COUNT <count>]",
    "    Show information about the stream.",
];

fn field(name: &'static str, value: Reply) -> (Reply, Reply) {
    (Reply::Bulk(Bytes::from_static(name.as_bytes())), value)
}

fn entries_read_reply(g: &Group) -> Reply {
    if g.entries_read == INVALID_ENTRIES_READ {
        Reply::Nil
    } else {
        Reply::Int(g.entries_read)
    }
}

fn lag_reply(s: &Stream, g: &Group) -> Reply {
    s.lag(g).map_or(Reply::Nil, Reply::Int)
}

pub fn xinfo(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    let sub = cstr(&a[1]);
    if is(sub, "help") {
        return help_reply(&a[0], XINFO_HELP);
    }
    let now = ctx.now_ms();
    let s = match read_stream(ctx, &a[2]) {
        Err(e) => return e,
        Ok(None) => return err(errors::NO_SUCH_KEY),
        Ok(Some(s)) => s,
    };
    if is(sub, "consumers") && a.len() == 4 {
        let Some(g) = s.groups.get(&a[3]) else {
            return errors::stream_nogroup_for_key(&a[3], &a[2]);
        };
        let consumers = g
            .consumers()
            .map(|(name, c)| {
                let inactive = if c.active_time_ms != -1 {
                    now - c.active_time_ms
                } else {
                    -1
                };
                Reply::Map(vec![
                    field("name", Reply::Bulk(Bytes::copy_from_slice(name))),
                    field("pending", Reply::Int(c.pending() as i64)),
                    field("idle", Reply::Int((now - c.seen_time_ms).max(0))),
                    field("inactive", Reply::Int(inactive)),
                ])
            })
            .collect();
        Reply::Array(consumers)
    } else if is(sub, "groups") && a.len() == 3 {
        let groups = s
            .groups
            .iter()
            .map(|(name, g)| {
                Reply::Map(vec![
                    field("name", Reply::Bulk(Bytes::copy_from_slice(name))),
                    field("consumers", Reply::Int(g.consumer_count() as i64)),
                    field("pending", Reply::Int(g.pel_len() as i64)),
                    field("last-delivered-id", id_reply(g.last_id)),
                    field("entries-read", entries_read_reply(g)),
                    field("lag", lag_reply(s, g)),
                ])
            })
            .collect();
        Reply::Array(groups)
    } else if is(sub, "stream") {
        stream_info(s, a)
    } else {
        errors::subcommand_syntax(&a[0], &a[1])
    }
}

/// XINFO STREAM <key> [FULL [COUNT <count>]] (`xinfoReplyWithStreamInfo`).
fn stream_info(s: &Stream, a: &[Bytes]) -> Reply {
    let opts = &a[3..];
    let mut full = true;
    let mut count: i64 = 10;
    if opts.is_empty() {
        full = false;
    } else {
        if opts.len() != 1 && opts.len() != 3 {
            return errors::subcommand_syntax(&a[0], &a[1]);
        }
        if !is(cstr(&opts[0]), "full") {
            return errors::subcommand_syntax(&a[0], &a[1]);
        }
        if opts.len() == 3 {
            if !is(cstr(&opts[1]), "count") {
                return errors::subcommand_syntax(&a[0], &a[1]);
            }
            count = match int_arg(&opts[2]) {
                Ok(n) if n < 0 => 10,
                Ok(n) => n,
                Err(e) => return e,
            };
        }
    }
    let e = &s.entries;
    let mut m = vec![
        field("length", Reply::Int(s.len() as i64)),
        field("radix-tree-keys", Reply::Int(e.node_count() as i64)),
        field("radix-tree-nodes", Reply::Int(e.radix_tree_nodes() as i64)),
        field("last-generated-id", id_reply(e.last_id)),
        field("max-deleted-entry-id", id_reply(e.max_deleted_id)),
        field("entries-added", Reply::Int(e.entries_added as i64)),
        field("recorded-first-entry-id", id_reply(e.first_id)),
    ];
    if !full {
        m.push(field("groups", Reply::Int(s.groups.len() as i64)));
        let first = e.range(id::MIN, id::MAX, false).next();
        let last = e.range(id::MIN, id::MAX, true).next();
        m.push(field(
            "first-entry",
            first.map_or(Reply::Nil, |x| entry_reply(&x)),
        ));
        m.push(field(
            "last-entry",
            last.map_or(Reply::Nil, |x| entry_reply(&x)),
        ));
        return Reply::Map(m);
    }
    let limit = if count == 0 {
        usize::MAX
    } else {
        count as usize
    };
    let entries = e
        .range(id::MIN, id::MAX, false)
        .take(limit)
        .map(|x| entry_reply(&x))
        .collect();
    m.push(field("entries", Reply::Array(entries)));
    let groups = s
        .groups
        .iter()
        .map(|(name, g)| group_full(s, name, g, limit))
        .collect();
    m.push(field("groups", Reply::Array(groups)));
    Reply::Map(m)
}

fn group_full(s: &Stream, name: &[u8], g: &Group, limit: usize) -> Reply {
    let pending = g
        .pel_from(id::MIN)
        .take(limit)
        .map(|n| {
            Reply::Array(vec![
                id_reply(n.id),
                Reply::Bulk(Bytes::copy_from_slice(&n.consumer)),
                Reply::Int(n.delivery_time_ms),
                Reply::Int(n.delivery_count as i64),
            ])
        })
        .collect();
    let consumers = g
        .consumers()
        .map(|(cname, c)| {
            let pel = c
                .pel_from(id::MIN)
                .take(limit)
                .map(|pid| {
                    let (time, count) = g
                        .pel_get(pid)
                        .map_or((0, 0), |n| (n.delivery_time_ms, n.delivery_count as i64));
                    Reply::Array(vec![id_reply(pid), Reply::Int(time), Reply::Int(count)])
                })
                .collect();
            Reply::Map(vec![
                field("name", Reply::Bulk(Bytes::copy_from_slice(cname))),
                field("seen-time", Reply::Int(c.seen_time_ms)),
                field("active-time", Reply::Int(c.active_time_ms)),
                field("pel-count", Reply::Int(c.pending() as i64)),
                field("pending", Reply::Array(pel)),
            ])
        })
        .collect();
    Reply::Map(vec![
        field("name", Reply::Bulk(Bytes::copy_from_slice(name))),
        field("last-delivered-id", id_reply(g.last_id)),
        field("entries-read", entries_read_reply(g)),
        field("lag", lag_reply(s, g)),
        field("pel-count", Reply::Int(g.pel_len() as i64)),
        field("pending", Reply::Array(pending)),
        field("consumers", Reply::Array(consumers)),
    ])
}
