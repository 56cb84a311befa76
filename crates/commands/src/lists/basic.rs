//! Single-list commands: LPUSH/RPUSH(X), LPOP/RPOP, LRANGE, LLEN, LINDEX, LSET, LINSERT,
//! LREM, LTRIM, LPOS.

use bytes::Bytes;
use resp::Reply;
use types::list::{Elem, Needle};
use types::End;

use super::{bulks, elem_reply, list_mut, lookup, pop_n, push_elems, remove_with};
use crate::args::{self, is};
use crate::ctx::Ctx;
use crate::errors::{self, err};
use crate::notify;

fn push_generic(ctx: &mut Ctx, a: &[Bytes], end: End, create: bool) -> Reply {
    match push_elems(ctx, &a[1], &a[2..], end, create) {
        Ok(Some(len)) => Reply::Int(len as i64),
        Ok(None) => Reply::Int(0),
        Err(e) => e,
    }
}

pub fn lpush(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    push_generic(ctx, a, End::Left, true)
}

pub fn rpush(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    push_generic(ctx, a, End::Right, true)
}

pub fn lpushx(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    push_generic(ctx, a, End::Left, false)
}

pub fn rpushx(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    push_generic(ctx, a, End::Right, false)
}

/// LPOP/RPOP key [count]: a bulk without count, an array with it; a missing key is a null
/// bulk or a null array accordingly.
fn pop_generic(ctx: &mut Ctx, a: &[Bytes], end: End, name: &str) -> Reply {
    if a.len() > 3 {
        return errors::wrong_arity(name);
    }
    let count = match a.get(2).map(|c| args::int_or(c, errors::POSITIVE)) {
        None => None,
        Some(Ok(n)) if n >= 0 => Some(n as usize),
        Some(Ok(_)) => return err(errors::POSITIVE),
        Some(Err(e)) => return e,
    };
    match lookup(ctx, &a[1], true) {
        Ok(Some(_)) => {}
        Ok(None) if count.is_some() => return Reply::NilArray,
        Ok(None) => return Reply::Nil,
        Err(e) => return e,
    }
    match count {
        Some(0) => Reply::Array(Vec::new()),
        Some(n) => bulks(pop_n(ctx, &a[1], end, n)),
        None => pop_n(ctx, &a[1], end, 1)
            .pop()
            .map_or(Reply::Nil, Reply::Bulk),
    }
}

pub fn lpop(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    pop_generic(ctx, a, End::Left, "lpop")
}

pub fn rpop(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    pop_generic(ctx, a, End::Right, "rpop")
}

/// Redis's range normalisation (`addListRangeReply`, LTRIM): negative indexes count from
/// the end; `None` when the range is empty, else inclusive positions within the list.
fn clamp_range(start: i64, end: i64, len: usize) -> Option<(usize, usize)> {
    let len = len as i64;
    let start = if start < 0 { len + start } else { start }.max(0);
    let end = if end < 0 { len + end } else { end };
    if start > end || start >= len {
        return None;
    }
    Some((start as usize, end.min(len - 1) as usize))
}

fn two_ints(a: &Bytes, b: &Bytes) -> Result<(i64, i64), Reply> {
    Ok((args::int(a)?, args::int(b)?))
}

pub fn lrange(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    let (start, end) = match two_ints(&a[2], &a[3]) {
        Ok(v) => v,
        Err(e) => return e,
    };
    let list = match lookup(ctx, &a[1], false) {
        Ok(Some(l)) => l,
        Ok(None) => return Reply::Array(Vec::new()),
        Err(e) => return e,
    };
    match clamp_range(start, end, list.len()) {
        Some((s, e)) => {
            // Written as it is read: no reply per element.
            let mut out = resp::BulkList::with_capacity(e.saturating_sub(s) + 1, 16);
            for elem in list.range(s, e) {
                elem.with_bytes(|b| out.push(b));
            }
            Reply::Bulks(out)
        }
        None => Reply::Array(Vec::new()),
    }
}

pub fn llen(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    match lookup(ctx, &a[1], false) {
        Ok(l) => Reply::Int(l.map_or(0, |l| l.len() as i64)),
        Err(e) => e,
    }
}

pub fn lindex(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    // As Redis: the key is looked up before the index is parsed.
    let list = match lookup(ctx, &a[1], false) {
        Ok(Some(l)) => l,
        Ok(None) => return Reply::Nil,
        Err(e) => return e,
    };
    match args::int(&a[2]) {
        Ok(i) => list
            .resolve(i)
            .and_then(|i| list.get(i))
            .map_or(Reply::Nil, elem_reply),
        Err(e) => e,
    }
}

pub fn lset(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    let limits = ctx.settings.list;
    let pos = match lookup(ctx, &a[1], true) {
        Ok(Some(l)) => match args::int(&a[2]) {
            Ok(i) => l.resolve(i),
            Err(e) => return e,
        },
        Ok(None) => return err(errors::NO_SUCH_KEY),
        Err(e) => return e,
    };
    let Some(pos) = pos else {
        return err(errors::INDEX_RANGE);
    };
    let Some(l) = list_mut(ctx, &a[1]) else {
        return err(errors::NO_SUCH_KEY);
    };
    l.prepare_growth([&a[3][..]], limits);
    l.set(pos, &a[3], limits);
    // A big element replaced by a small one may let the list shrink back.
    l.after_shrink(limits);
    ctx.notify(notify::LIST, "lset", &a[1]);
    ctx.dirty += 1;
    Reply::Ok
}

/// LINSERT key BEFORE|AFTER pivot element: the new length, -1 if the pivot is not found,
/// 0 if the key is missing.
pub fn linsert(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    let limits = ctx.settings.list;
    let after = if is(&a[2], "after") {
        true
    } else if is(&a[2], "before") {
        false
    } else {
        return err(errors::SYNTAX);
    };
    let pivot = match lookup(ctx, &a[1], true) {
        Ok(Some(l)) => l.position(&a[3]),
        Ok(None) => return Reply::Int(0),
        Err(e) => return e,
    };
    let Some(pivot) = pivot else {
        return Reply::Int(-1);
    };
    let Some(l) = list_mut(ctx, &a[1]) else {
        return Reply::Int(0);
    };
    l.prepare_growth([&a[4][..]], limits);
    l.insert(pivot, after, &a[4], limits);
    let len = l.len();
    ctx.notify(notify::LIST, "linsert", &a[1]);
    ctx.dirty += 1;
    Reply::Int(len as i64)
}

/// LREM key count element: `count > 0` removes from the head, `< 0` from the tail, 0 all.
pub fn lrem(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    let count = match args::int(&a[2]) {
        Ok(i64::MIN) => return err(errors::LIST_NOT_LONG_MIN),
        Ok(c) => c,
        Err(e) => return e,
    };
    let elem = &a[3][..];
    match lookup(ctx, &a[1], true) {
        Ok(Some(l)) if l.position(elem).is_some() => {}
        Ok(_) => return Reply::Int(0),
        Err(e) => return e,
    }
    let removed = remove_with(ctx, &a[1], "lrem", |l| l.remove(elem, count)).unwrap_or(0);
    ctx.dirty += removed as u64;
    Reply::Int(removed as i64)
}

pub fn ltrim(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    let (start, end) = match two_ints(&a[2], &a[3]) {
        Ok(v) => v,
        Err(e) => return e,
    };
    let len = match lookup(ctx, &a[1], true) {
        Ok(Some(l)) => l.len(),
        Ok(None) => return Reply::Ok,
        Err(e) => return e,
    };
    let (left, right) = match clamp_range(start, end, len) {
        Some((s, e)) => (s, len - 1 - e),
        None => (len, 0),
    };
    // Like Redis, the key counts as modified even when nothing is trimmed.
    remove_with(ctx, &a[1], "ltrim", |l| {
        l.drop_front(left);
        l.drop_back(right);
    });
    ctx.dirty += (left + right) as u64;
    Reply::Ok
}

/// LPOS options. `count: None` = no COUNT option (single reply).
struct LposOpts {
    rank: i64,
    count: Option<u64>,
    maxlen: u64,
}

fn non_negative(arg: &[u8], msg: &'static str) -> Result<u64, Reply> {
    match args::int_or(arg, msg)? {
        v if v >= 0 => Ok(v as u64),
        _ => Err(err(msg)),
    }
}

fn parse_lpos(a: &[Bytes]) -> Result<LposOpts, Reply> {
    let mut o = LposOpts {
        rank: 1,
        count: None,
        maxlen: 0,
    };
    let mut j = 3;
    while j < a.len() {
        let Some(v) = a.get(j + 1) else {
            return Err(err(errors::SYNTAX));
        };
        if is(&a[j], "rank") {
            o.rank = match args::int(v)? {
                0 => return Err(err(errors::LPOS_RANK_ZERO)),
                i64::MIN => return Err(err(errors::LIST_NOT_LONG_MIN)),
                r => r,
            };
        } else if is(&a[j], "count") {
            o.count = Some(non_negative(v, errors::LPOS_COUNT_NEGATIVE)?);
        } else if is(&a[j], "maxlen") {
            o.maxlen = non_negative(v, errors::LPOS_MAXLEN_NEGATIVE)?;
        } else {
            return Err(err(errors::SYNTAX));
        }
        j += 2;
    }
    Ok(o)
}

/// LPOS key element [RANK rank] [COUNT num] [MAXLEN len]: positions are LINDEX indexes
/// whichever direction the scan goes.
pub fn lpos(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    let o = match parse_lpos(a) {
        Ok(o) => o,
        Err(e) => return e,
    };
    let list = match lookup(ctx, &a[1], false) {
        Ok(Some(l)) => l,
        Ok(None) if o.count.is_some() => return Reply::Array(Vec::new()),
        Ok(None) => return Reply::Nil,
        Err(e) => return e,
    };
    let len = list.len();
    let needle = Needle::new(&a[2]);
    let limit = if o.maxlen == 0 {
        len
    } else {
        o.maxlen.min(len as u64) as usize
    };
    // Scanned in one direction or the other by the same (monomorphised) code.
    let matches = if o.rank < 0 {
        lpos_scan(list.iter().rev(), &needle, &o, limit)
            .into_iter()
            .map(|i| (len - 1 - i) as i64)
            .collect()
    } else {
        lpos_scan(list.iter(), &needle, &o, limit)
            .into_iter()
            .map(|i| i as i64)
            .collect::<Vec<_>>()
    };
    match o.count {
        None => matches.first().map_or(Reply::Nil, |&i| Reply::Int(i)),
        Some(_) => Reply::Array(matches.into_iter().map(Reply::Int).collect()),
    }
}

/// The scan positions (0 = where the scan starts) of the matches LPOS reports: after
/// skipping `|rank| - 1` matches, up to COUNT of them (one without COUNT, all with 0),
/// within the first `limit` elements.
fn lpos_scan<'a>(
    scan: impl Iterator<Item = Elem<'a>>,
    needle: &Needle<'_>,
    o: &LposOpts,
    limit: usize,
) -> Vec<usize> {
    let skip = (o.rank.unsigned_abs() - 1).min(usize::MAX as u64) as usize;
    let want = match o.count {
        None => 1,
        Some(0) => usize::MAX,
        Some(n) => n.min(usize::MAX as u64) as usize,
    };
    scan.take(limit)
        .enumerate()
        .filter(|(_, e)| needle.matches(*e))
        .skip(skip)
        .take(want)
        .map(|(i, _)| i)
        .collect()
}
