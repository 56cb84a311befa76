//! XADD, XTRIM, XDEL and XSETID.
//!
//! Propagation follows Valkey: XADD is propagated with the ID it generated (for `*` and
//! `<ms>-*`), and an approximate trim (`~`, with or without LIMIT) is propagated as an exact
//! one (`=`) with the resulting length (MAXLEN) or the first remaining ID (MINID), so replicas
//! trim exactly what the primary trimmed.

use bytes::Bytes;
use resp::Reply;
use types::stream::id::{self, IdRules};
use types::stream::{AppendError, NewId, Stream, StreamId, Trim};

use super::{
    create_stream, cstr, id_arg, int_arg, parse_strict, signal_modified, stream_mut_silent,
    write_stream,
};
use crate::args::is;
use crate::ctx::Ctx;
use crate::errors::{self, err};
use crate::notify;

/// XADD/XTRIM options (`streamAddTrimArgs`).
#[derive(Debug, Default)]
struct AddTrimArgs {
    /// The ID argument of XADD (`None` for `*`).
    id: Option<id::ParsedId>,
    no_mkstream: bool,
    trim: Option<Trim>,
    /// Index of the MAXLEN/MINID value (rewritten for propagation).
    trim_arg_idx: usize,
    approx: bool,
    /// 0 = no limit.
    limit: u64,
}

/// Parses options from `a[2]` (`streamParseAddOrTrimArgsOrReply`); for XADD, also the ID,
/// whose index is returned.
fn parse_add_trim(ctx: &Ctx, a: &[Bytes], xadd: bool) -> Result<(AddTrimArgs, usize), Reply> {
    let mut args = AddTrimArgs::default();
    let mut limit_given = false;
    let mut i = 2;
    while i < a.len() {
        let more = a.len() - 1 - i;
        let opt = cstr(&a[i]);
        if xadd && opt == b"*" {
            break;
        } else if (is(opt, "maxlen") || is(opt, "minid")) && more > 0 {
            if args.trim.is_some() {
                return Err(err(errors::STREAM_MAXLEN_MINID));
            }
            args.approx = false;
            if more >= 2 && cstr(&a[i + 1]) == b"~" {
                args.approx = true;
                i += 1;
            } else if more >= 2 && cstr(&a[i + 1]) == b"=" {
                i += 1;
            }
            let value = &a[i + 1];
            args.trim = Some(if is(opt, "maxlen") {
                let n = int_arg(value)?;
                if n < 0 {
                    return Err(err(errors::STREAM_MAXLEN_NEGATIVE));
                }
                Trim::MaxLen(n as u64)
            } else {
                Trim::MinId(parse_strict(value)?)
            });
            i += 1;
            args.trim_arg_idx = i;
        } else if is(opt, "limit") && more > 0 {
            let n = int_arg(&a[i + 1])?;
            if n < 0 {
                return Err(err(errors::STREAM_LIMIT_NEGATIVE));
            }
            args.limit = n as u64;
            limit_given = true;
            i += 1;
        } else if xadd && is(opt, "nomkstream") {
            args.no_mkstream = true;
        } else if xadd {
            let rules = IdRules {
                allow_auto_seq: true,
                ..IdRules::STRICT
            };
            args.id = Some(id::parse(&a[i], rules).ok_or_else(super::invalid_id)?);
            break;
        } else {
            return Err(err(errors::SYNTAX));
        }
        i += 1;
    }
    if args.limit != 0 && args.trim.is_none() {
        return Err(err(errors::STREAM_LIMIT_NO_STRATEGY));
    }
    if !xadd && args.trim.is_none() {
        return Err(err(errors::STREAM_XTRIM_NO_STRATEGY));
    }
    if ctx.ks.obey_all {
        // From the primary (or a load): the arguments were rewritten to trim exactly.
        args.limit = 0;
    } else if limit_given {
        if !args.approx {
            return Err(err(errors::STREAM_LIMIT_NO_TILDE));
        }
    } else if args.approx {
        let node_entries = ctx.settings.stream.node_max_entries;
        let limit = node_entries.saturating_mul(100);
        args.limit = if limit == 0 {
            10_000
        } else {
            limit.min(1_000_000)
        };
    } else {
        args.limit = 0;
    }
    Ok((args, i))
}

/// The exact trim argument an approximate trim is propagated with
/// (`streamRewriteTrimArgument`).
fn exact_trim_arg(s: &Stream, how: Trim) -> Bytes {
    match how {
        Trim::MaxLen(_) => Bytes::from(s.len().to_string()),
        Trim::MinId(_) => id_arg(s.entries.edge_id(true, false)),
    }
}

pub fn xadd(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    let (args, idpos) = match parse_add_trim(ctx, a, true) {
        Ok(x) => x,
        Err(e) => return e,
    };
    let field_pos = idpos + 1;
    let nfields = a.len().saturating_sub(field_pos);
    if nfields < 2 || nfields % 2 == 1 {
        return errors::wrong_arity("xadd");
    }
    if let Some(p) = args.id {
        if p.seq_given && p.id.is_zero() {
            return err(errors::STREAM_XADD_ZERO_ID);
        }
    }
    match write_stream(ctx, &a[1]) {
        Err(e) => return e,
        Ok(None) if args.no_mkstream => return Reply::Nil,
        Ok(None) => create_stream(ctx, &a[1], Stream::new()),
        Ok(Some(_)) => {}
    }
    let limits = ctx.settings.stream;
    let now = ctx.now_ms().max(0) as u64;
    let Some(s) = stream_mut_silent(ctx, &a[1]) else {
        return err(errors::WRONGTYPE);
    };
    if s.entries.last_id == id::MAX {
        return err(errors::STREAM_EXHAUSTED);
    }
    let new_id = match args.id {
        None => NewId::Auto,
        Some(p) if p.seq_given => NewId::Exact(p.id),
        Some(p) => NewId::AutoSeq(p.id.ms),
    };
    let added = match s.entries.append(new_id, now, &a[field_pos..], &limits) {
        Ok(id) => id,
        Err(AppendError::IdTooSmall) => return err(errors::STREAM_XADD_ID_SMALL),
        Err(AppendError::TooLarge) => return err(errors::STREAM_TOO_LARGE),
    };
    let mut trimmed = 0;
    let mut rewrite: Vec<Bytes> = a.to_vec();
    if let Some(how) = args.trim {
        trimmed = s.entries.trim(how, args.approx, args.limit);
        if args.approx {
            rewrite[args.trim_arg_idx - 1] = Bytes::from_static(b"=");
            rewrite[args.trim_arg_idx] = exact_trim_arg(s, how);
        }
    }
    ctx.notify(notify::STREAM, "xadd", &a[1]);
    ctx.dirty += 1;
    if trimmed > 0 {
        ctx.notify(notify::STREAM, "xtrim", &a[1]);
    }
    signal_modified(ctx, &a[1]);
    let generated = args.id.is_none_or(|p| !p.seq_given);
    if generated {
        rewrite[idpos] = id_arg(added);
    }
    if generated || args.approx {
        ctx.propagate(rewrite);
    }
    super::id_reply(added)
}

pub fn xtrim(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    let (args, _) = match parse_add_trim(ctx, a, false) {
        Ok(x) => x,
        Err(e) => return e,
    };
    match write_stream(ctx, &a[1]) {
        Err(e) => return e,
        Ok(None) => return Reply::Int(0),
        Ok(Some(_)) => {}
    }
    let Some(how) = args.trim else {
        return err(errors::STREAM_XTRIM_NO_STRATEGY);
    };
    let Some(s) = stream_mut_silent(ctx, &a[1]) else {
        return Reply::Int(0);
    };
    let deleted = s.entries.trim(how, args.approx, args.limit);
    if deleted == 0 {
        return Reply::Int(0);
    }
    let exact = exact_trim_arg(s, how);
    ctx.notify(notify::STREAM, "xtrim", &a[1]);
    if args.approx {
        let mut rewrite = a.to_vec();
        rewrite[args.trim_arg_idx - 1] = Bytes::from_static(b"=");
        rewrite[args.trim_arg_idx] = exact;
        ctx.propagate(rewrite);
    }
    signal_modified(ctx, &a[1]);
    ctx.dirty += deleted;
    Reply::Int(deleted as i64)
}

pub fn xdel(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    let present = match write_stream(ctx, &a[1]) {
        Err(e) => return e,
        Ok(None) => return Reply::Int(0),
        Ok(Some(s)) => !s.is_empty(),
    };
    let mut ids = Vec::with_capacity(a.len() - 2);
    for arg in &a[2..] {
        match parse_strict(arg) {
            Ok(id) => ids.push(id),
            Err(e) => return e,
        }
    }
    if !present {
        return Reply::Int(0);
    }
    let Some(s) = stream_mut_silent(ctx, &a[1]) else {
        return Reply::Int(0);
    };
    let e = &mut s.entries;
    let mut deleted = 0u64;
    let mut first_entry = false;
    for &id in &ids {
        if e.delete(id) {
            if id == e.first_id {
                first_entry = true;
            }
            if id > e.max_deleted_id {
                e.max_deleted_id = id;
            }
            deleted += 1;
        }
    }
    if deleted == 0 {
        return Reply::Int(0);
    }
    if e.length == 0 {
        e.first_id = id::MIN;
    } else if first_entry {
        e.first_id = e.edge_id(true, true);
    }
    signal_modified(ctx, &a[1]);
    ctx.notify(notify::STREAM, "xdel", &a[1]);
    ctx.dirty += deleted;
    Reply::Int(deleted as i64)
}

pub fn xsetid(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    let new_id = match parse_strict(&a[2]) {
        Ok(id) => id,
        Err(e) => return e,
    };
    let mut entries_added: i64 = -1;
    let mut max_xdel = id::MIN;
    let mut i = 3;
    while i < a.len() {
        let more = a.len() - 1 - i;
        if is(cstr(&a[i]), "entriesadded") && more > 0 {
            entries_added = match int_arg(&a[i + 1]) {
                Ok(n) if n < 0 => return err(errors::STREAM_ENTRIES_ADDED_NEGATIVE),
                Ok(n) => n,
                Err(e) => return e,
            };
        } else if is(cstr(&a[i]), "maxdeletedid") && more > 0 {
            max_xdel = match parse_strict(&a[i + 1]) {
                Ok(id) if new_id < id => return err(errors::STREAM_XSETID_BELOW_GIVEN_MAXDEL),
                Ok(id) => id,
                Err(e) => return e,
            };
        } else {
            return err(errors::SYNTAX);
        }
        i += 2;
    }
    let s = match write_stream(ctx, &a[1]) {
        Err(e) => return e,
        Ok(None) => return err(errors::NO_SUCH_KEY),
        Ok(Some(s)) => s,
    };
    if let Err(e) = check_setid(s, new_id, entries_added) {
        return e;
    }
    let Some(s) = stream_mut_silent(ctx, &a[1]) else {
        return err(errors::NO_SUCH_KEY);
    };
    s.entries.last_id = new_id;
    if entries_added != -1 {
        s.entries.entries_added = entries_added as u64;
    }
    if !max_xdel.is_zero() {
        s.entries.max_deleted_id = max_xdel;
    }
    ctx.dirty += 1;
    ctx.notify(notify::STREAM, "xsetid", &a[1]);
    Reply::Ok
}

fn check_setid(s: &Stream, new_id: StreamId, entries_added: i64) -> Result<(), Reply> {
    if new_id < s.entries.max_deleted_id {
        return Err(err(errors::STREAM_XSETID_BELOW_MAXDEL));
    }
    if !s.is_empty() {
        if new_id < s.entries.last_valid_id() {
            return Err(err(errors::STREAM_XSETID_BELOW_TOP));
        }
        if entries_added != -1 && s.len() > entries_added as u64 {
            return Err(err(errors::STREAM_XSETID_ADDED_BELOW_LEN));
        }
    }
    Ok(())
}
