//! Stream commands (Valkey 8.0's `t_stream.c`): appending and trimming ([`add`]), reading
//! ranges and XREAD/XREADGROUP ([`read`], blocking included), consumer groups ([`groups`])
//! and XINFO ([`info`]).
//!
//! The value type and its algorithms are `types::stream`; this module parses arguments,
//! chooses lookups as Valkey does (read vs write lookups, which writes signal the key), builds
//! replies, raises keyspace events and rewrites what is propagated (generated IDs, exact trims,
//! XCLAIM/XGROUP SETID for consumer-group reads).

pub mod add;
pub mod groups;
pub mod info;
pub mod read;

use bytes::Bytes;
use keyspace::{Boxed, NewValue, Obj, ValueRef};
use resp::Reply;
use types::stream::id::{self, IdRules, ParsedId};
use types::stream::{EntryRef, Stream, StreamId};

use crate::ctx::Ctx;
use crate::errors::{self, err};
use crate::row;
use crate::spec::{acl, flags as f, CommandSpec, Handler, Keys};

const RO: &[&str] = &["RO"];
const RO_ACCESS: &[&str] = &["RO", "ACCESS"];
const RW_UPDATE: &[&str] = &["RW", "UPDATE"];
const RW_DELETE: &[&str] = &["RW", "DELETE"];
const RW_INSERT: &[&str] = &["RW", "INSERT"];

pub static COMMANDS: &[CommandSpec] = &[
    row!("xadd", -5, f::WRITE | f::DENYOOM | f::FAST, acl::STREAM, Keys::range(1, 0, 1, RW_UPDATE), "stream", "5.0.0", "Appends a new message to a stream. Creates the key if it doesn't exist.", Handler::Data(add::xadd)),
    row!("xrange", -4, f::READONLY, acl::STREAM, Keys::range(1, 0, 1, RO_ACCESS), "stream", "5.0.0", "Returns the messages from a stream within a range of IDs.", Handler::Data(read::xrange)),
    row!("xrevrange", -4, f::READONLY, acl::STREAM, Keys::range(1, 0, 1, RO_ACCESS), "stream", "5.0.0", "Returns the messages from a stream within a range of IDs in reverse order.", Handler::Data(read::xrevrange)),
    row!("xlen", 2, f::READONLY | f::FAST, acl::STREAM, Keys::range(1, 0, 1, RO), "stream", "5.0.0", "Return the number of messages in a stream.", Handler::Data(read::xlen)),
    row!("xread", -4, f::BLOCKING | f::READONLY, acl::STREAM, Keys::movable(read::xread_keys, RO_ACCESS), "stream", "5.0.0", "Returns messages from multiple streams with IDs greater than the ones requested. Blocks until a message is available otherwise.", Handler::Data(read::xread)),
    row!("xreadgroup", -7, f::BLOCKING | f::WRITE, acl::STREAM, Keys::movable(read::xreadgroup_keys, RO_ACCESS), "stream", "5.0.0", "Returns new or historical messages from a stream for a consumer in a group. Blocks until a message is available otherwise.", Handler::Data(read::xreadgroup)),
    row!("xdel", -3, f::WRITE | f::FAST, acl::STREAM, Keys::range(1, 0, 1, RW_DELETE), "stream", "5.0.0", "Returns the number of messages after removing them from a stream.", Handler::Data(add::xdel)),
    row!("xtrim", -4, f::WRITE, acl::STREAM, Keys::range(1, 0, 1, RW_DELETE), "stream", "5.0.0", "Deletes messages from the beginning of a stream.", Handler::Data(add::xtrim)),
    row!("xsetid", -3, f::WRITE | f::DENYOOM | f::FAST, acl::STREAM, Keys::range(1, 0, 1, RW_UPDATE), "stream", "5.0.0", "An internal command for replicating stream values.", Handler::Data(add::xsetid)),
    row!("xack", -4, f::WRITE | f::FAST, acl::STREAM, Keys::range(1, 0, 1, RW_UPDATE), "stream", "5.0.0", "Returns the number of messages that were successfully acknowledged by the consumer group member of a stream.", Handler::Data(groups::xack)),
    row!("xpending", -3, f::READONLY, acl::STREAM, Keys::range(1, 0, 1, RO_ACCESS), "stream", "5.0.0", "Returns the information and entries from a stream consumer group's pending entries list.", Handler::Data(groups::xpending)),
    row!("xclaim", -6, f::WRITE | f::FAST, acl::STREAM, Keys::range(1, 0, 1, RW_UPDATE), "stream", "5.0.0", "Changes, or acquires, ownership of a message in a consumer group, as if the message was delivered a consumer group member.", Handler::Data(groups::xclaim)),
    row!("xautoclaim", -6, f::WRITE | f::FAST, acl::STREAM, Keys::range(1, 0, 1, RW_DELETE), "stream", "6.2.0", "Changes, or acquires, ownership of messages in a consumer group, as if the messages were delivered to as consumer group member.", Handler::Data(groups::xautoclaim)),
    container("xgroup", "A container for consumer groups commands.", XGROUP_SUBS),
    container("xinfo", "A container for stream introspection commands.", XINFO_SUBS),
];

const fn container(
    name: &'static str,
    summary: &'static str,
    subs: &'static [CommandSpec],
) -> CommandSpec {
    CommandSpec {
        name,
        arity: -2,
        flags: 0,
        acl: 0,
        keys: Keys::NONE,
        handler: Handler::Container,
        subcommands: subs,
        group: "stream",
        since: "5.0.0",
        summary,
    }
}

static XGROUP_SUBS: &[CommandSpec] = &[
    row!(
        "create",
        -5,
        f::WRITE | f::DENYOOM,
        acl::STREAM,
        Keys::range(2, 0, 1, RW_INSERT),
        "stream",
        "5.0.0",
        "Creates a consumer group.",
        Handler::Data(groups::xgroup)
    ),
    row!(
        "createconsumer",
        5,
        f::WRITE | f::DENYOOM,
        acl::STREAM,
        Keys::range(2, 0, 1, RW_INSERT),
        "stream",
        "6.2.0",
        "Creates a consumer in a consumer group.",
        Handler::Data(groups::xgroup)
    ),
    row!(
        "delconsumer",
        5,
        f::WRITE,
        acl::STREAM,
        Keys::range(2, 0, 1, RW_DELETE),
        "stream",
        "5.0.0",
        "Deletes a consumer from a consumer group.",
        Handler::Data(groups::xgroup)
    ),
    row!(
        "destroy",
        4,
        f::WRITE,
        acl::STREAM,
        Keys::range(2, 0, 1, RW_DELETE),
        "stream",
        "5.0.0",
        "Destroys a consumer group.",
        Handler::Data(groups::xgroup)
    ),
    row!(
        "help",
        2,
        f::LOADING | f::STALE,
        acl::STREAM,
        Keys::NONE,
        "stream",
        "5.0.0",
        "Returns helpful text about the different subcommands.",
        Handler::Data(groups::xgroup)
    ),
    row!(
        "setid",
        -5,
        f::WRITE,
        acl::STREAM,
        Keys::range(2, 0, 1, RW_UPDATE),
        "stream",
        "5.0.0",
        "Sets the last-delivered ID of a consumer group.",
        Handler::Data(groups::xgroup)
    ),
];

static XINFO_SUBS: &[CommandSpec] = &[
    row!(
        "consumers",
        4,
        f::READONLY,
        acl::STREAM,
        Keys::range(2, 0, 1, RO_ACCESS),
        "stream",
        "5.0.0",
        "Returns a list of the consumers in a consumer group.",
        Handler::Data(info::xinfo)
    ),
    row!(
        "groups",
        3,
        f::READONLY,
        acl::STREAM,
        Keys::range(2, 0, 1, RO_ACCESS),
        "stream",
        "5.0.0",
        "Returns a list of the consumer groups of a stream.",
        Handler::Data(info::xinfo)
    ),
    row!(
        "help",
        2,
        f::LOADING | f::STALE,
        acl::STREAM,
        Keys::NONE,
        "stream",
        "5.0.0",
        "Returns helpful text about the different subcommands.",
        Handler::Data(info::xinfo)
    ),
    row!(
        "stream",
        -3,
        f::READONLY,
        acl::STREAM,
        Keys::range(2, 0, 1, RO_ACCESS),
        "stream",
        "5.0.0",
        "Returns information about a stream.",
        Handler::Data(info::xinfo)
    ),
];

// --- lookups -----------------------------------------------------------------------------

fn as_stream(obj: &Obj) -> Result<&Stream, Reply> {
    match obj.value() {
        ValueRef::Stream(s) => Ok(s),
        _ => Err(err(errors::WRONGTYPE)),
    }
}

/// The stream at `key` for a read (`lookupKeyRead` + `checkType`): `Ok(None)` if missing.
fn read_stream<'k>(ctx: &'k mut Ctx, key: &[u8]) -> Result<Option<&'k Stream>, Reply> {
    ctx.ks.read(ctx.db, key).map(as_stream).transpose()
}

/// The stream at `key` for a command that may write (`lookupKeyWrite` + `checkType`).
fn write_stream<'k>(ctx: &'k mut Ctx, key: &[u8]) -> Result<Option<&'k Stream>, Reply> {
    ctx.ks.get(ctx.db, key).map(as_stream).transpose()
}

fn boxed_stream(obj: &mut Obj) -> Option<&mut Stream> {
    match obj.boxed_mut()? {
        Boxed::Stream(s) => Some(s),
        _ => None,
    }
}

/// Mutable access for consumer-group bookkeeping Valkey does not signal.
fn stream_mut_silent<'k>(ctx: &'k mut Ctx, key: &[u8]) -> Option<&'k mut Stream> {
    boxed_stream(ctx.ks.get_mut_silent(ctx.db, key)?)
}

/// `signalModifiedKey` after a change made through [`stream_mut_silent`].
fn signal_modified(ctx: &mut Ctx, key: &[u8]) {
    let _ = ctx.ks.get_mut(ctx.db, key);
}

/// An argument as Valkey's C string functions see it (up to the first NUL), for keywords.
fn cstr(arg: &[u8]) -> &[u8] {
    arg.split(|&c| c == 0).next().unwrap_or(b"")
}

/// Stores a new stream under `key` (raising `new`, as Valkey's `dbAdd`).
fn create_stream(ctx: &mut Ctx, key: &[u8], s: Stream) {
    let obj = Obj::new(key, NewValue::Boxed(Boxed::Stream(Box::new(s))), None);
    ctx.store(obj);
}

// --- IDs -----------------------------------------------------------------------------------

fn invalid_id() -> Reply {
    err(errors::STREAM_INVALID_ID)
}

/// `streamParseStrictIDOrReply(..., 0, NULL)`.
fn parse_strict(arg: &[u8]) -> Result<StreamId, Reply> {
    id::parse(arg, IdRules::STRICT)
        .map(|p| p.id)
        .ok_or_else(invalid_id)
}

/// `streamParseIDOrReply(..., missing_seq)` (`-` and `+` allowed).
fn parse_id(arg: &[u8], missing_seq: u64) -> Result<StreamId, Reply> {
    id::parse(arg, IdRules::range(missing_seq))
        .map(|p: ParsedId| p.id)
        .ok_or_else(invalid_id)
}

/// A range bound (`streamParseIntervalIDOrReply`): `(id` is exclusive, then moved by one ID
/// toward the inside of the range (`start` bounds move up, end bounds down).
fn parse_bound(arg: &[u8], start: bool) -> Result<StreamId, Reply> {
    let missing_seq = if start { 0 } else { u64::MAX };
    if arg.len() > 1 && arg[0] == b'(' {
        let inner = id::parse(
            &arg[1..],
            IdRules {
                missing_seq,
                ..IdRules::STRICT
            },
        )
        .ok_or_else(invalid_id)?
        .id;
        let moved = if start {
            id::incr(inner)
        } else {
            id::decr(inner)
        };
        return moved.ok_or_else(|| {
            err(if start {
                errors::STREAM_INVALID_START
            } else {
                errors::STREAM_INVALID_END
            })
        });
    }
    parse_id(arg, missing_seq)
}

// --- replies --------------------------------------------------------------------------------

fn id_reply(id: StreamId) -> Reply {
    Reply::Bulk(Bytes::from(id::to_text(id)))
}

fn id_arg(id: StreamId) -> Bytes {
    Bytes::from(id::to_text(id))
}

/// `[id, [field, value, ...]]` for one entry.
fn entry_reply(e: &EntryRef<'_>) -> Reply {
    let mut fv = Vec::with_capacity(e.num_fields().min(1024) as usize * 2);
    for (field, value) in e.fields() {
        fv.push(Reply::Bulk(Bytes::from(field.to_vec())));
        fv.push(Reply::Bulk(Bytes::from(value.to_vec())));
    }
    Reply::Array(vec![id_reply(e.id()), Reply::Array(fv)])
}

/// Valkey's `addReplyHelp` layout, headed by the command name as typed, upper-cased.
fn help_reply(cmd: &[u8], lines: &[&str]) -> Reply {
    let mut out = vec![Reply::status(format!(
        "{} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        errors::c_text(cmd).to_uppercase()
    ))];
    out.extend(lines.iter().map(|l| Reply::status(l.to_string())));
    out.push(Reply::status("HELP"));
    out.push(Reply::status("    Print this help."));
    Reply::Array(out)
}

/// Integer argument with Valkey's default error (`getLongLongFromObjectOrReply(..., NULL)`).
fn int_arg(arg: &[u8]) -> Result<i64, Reply> {
    crate::args::int(arg)
}
