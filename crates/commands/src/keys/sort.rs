//! SORT and SORT_RO: sorting the elements of a list, set or sorted set, numerically or
//! lexicographically, by the elements themselves or by keys (and hash fields) derived from
//! them with a pattern, with LIMIT, GET patterns and (SORT only) STORE into a list.
//!
//! Comparison rules are Redis's: numeric sorting breaks ties by comparing the elements as
//! binary strings; with ALPHA and BY, a missing weight sorts first; `BY` with a pattern that
//! has no `*` means "do not sort" (lists and sorted sets keep their order, honouring DESC and
//! LIMIT; sets are sorted lexicographically anyway when the result is stored, so that replicas
//! get the same list).

use std::cmp::Ordering;

use bytes::Bytes;
use keyspace::{Boxed, Kind, NewValue, Obj, ValueRef};
use resp::Reply;
use types::list::Elem;
use types::List;

use crate::args::{self, is};
use crate::ctx::Ctx;
use crate::errors::{self, err};
use crate::notify;

use super::free_value;

/// Key positions of SORT: the sorted key and the last `STORE` destination, found the way
/// Redis's `sortGetKeys` scans (skipping the arguments of LIMIT, GET and BY).
pub fn sort_keys(a: &[Bytes]) -> Vec<usize> {
    let mut keys = vec![1];
    let mut store = None;
    let mut i = 2;
    while i < a.len() {
        if is(&a[i], "limit") {
            i += 2;
        } else if is(&a[i], "get") || is(&a[i], "by") {
            i += 1;
        } else if is(&a[i], "store") && i + 1 < a.len() {
            store = Some(i + 1);
        }
        i += 1;
    }
    keys.extend(store);
    keys
}

/// Parsed options.
struct SortOpts<'a> {
    desc: bool,
    alpha: bool,
    limit_start: i64,
    limit_count: i64,
    store: Option<&'a Bytes>,
    by: Option<&'a [u8]>,
    /// `BY` without `*`: no weights, no sorting.
    dontsort: bool,
    gets: Vec<&'a [u8]>,
}

/// The part of an argument C code sees (up to the first NUL byte).
fn c_str(arg: &[u8]) -> &[u8] {
    &arg[..arg.iter().position(|&b| b == 0).unwrap_or(arg.len())]
}

fn parse_opts(a: &[Bytes], readonly: bool, full_read: bool) -> Result<SortOpts<'_>, Reply> {
    let mut o = SortOpts {
        desc: false,
        alpha: false,
        limit_start: 0,
        limit_count: -1,
        store: None,
        by: None,
        dontsort: false,
        gets: Vec::new(),
    };
    let mut j = 2;
    while j < a.len() {
        let left = a.len() - j - 1;
        let opt = &a[j];
        if is(opt, "asc") {
            o.desc = false;
        } else if is(opt, "desc") {
            o.desc = true;
        } else if is(opt, "alpha") {
            o.alpha = true;
        } else if is(opt, "limit") && left >= 2 {
            o.limit_start = args::int(&a[j + 1])?;
            o.limit_count = args::int(&a[j + 2])?;
            j += 2;
        } else if !readonly && is(opt, "store") && left >= 1 {
            o.store = Some(&a[j + 1]);
            j += 1;
        } else if is(opt, "by") && left >= 1 {
            o.by = Some(&a[j + 1]);
            if !c_str(&a[j + 1]).contains(&b'*') {
                o.dontsort = true;
            } else if !full_read {
                // A real pattern reads keys the ACL check did not see.
                return Err(err(errors::SORT_BY_ACL));
            }
            j += 1;
        } else if is(opt, "get") && left >= 1 {
            if !full_read {
                return Err(err(errors::SORT_GET_ACL));
            }
            o.gets.push(&a[j + 1]);
            j += 1;
        } else {
            return Err(err(errors::SYNTAX));
        }
        j += 1;
    }
    Ok(o)
}

/// The value a GET/BY pattern designates for element `subst`: `#` is the element itself;
/// otherwise the first `*` is replaced by the element, and `key->field` reads a hash field.
/// Only string values (or hash fields) count; anything else is "missing".
fn lookup_by_pattern(ctx: &mut Ctx, pattern: &[u8], subst: &Bytes) -> Option<Bytes> {
    let c = c_str(pattern);
    if c == b"#" {
        return Some(subst.clone());
    }
    let star = c.iter().position(|&b| b == b'*')?;
    let arrow = c[star + 1..]
        .windows(2)
        .position(|w| w == b"->")
        .map(|p| star + 1 + p)
        .filter(|&p| p + 2 < c.len());
    let (postfix_end, field) = match arrow {
        Some(p) => (p, Some(&pattern[p + 2..])),
        None => (pattern.len(), None),
    };
    let mut key = Vec::with_capacity(star + subst.len() + (postfix_end - star - 1));
    key.extend_from_slice(&pattern[..star]);
    key.extend_from_slice(subst);
    key.extend_from_slice(&pattern[star + 1..postfix_end]);
    let obj = ctx.ks.read(ctx.db, &key)?;
    match (field, obj.value()) {
        (Some(f), ValueRef::Hash(h)) => h.get(f).map(Bytes::copy_from_slice),
        (None, _) if obj.kind() == Kind::String => {
            obj.string_bytes().map(|s| Bytes::copy_from_slice(&s))
        }
        _ => None,
    }
}

/// A weight as SORT reads it with C's `strtod`: leading blanks allowed, the whole string must
/// be consumed, no NaN, no overflow or underflow (subnormal results included); the empty
/// string reads as 0.
fn sort_score(s: &[u8]) -> Option<f64> {
    let s = c_str(s);
    if s.is_empty() {
        return Some(0.0);
    }
    let start = s
        .iter()
        .position(|&c| !matches!(c, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r'))?;
    let v = resp::float::parse_double(&s[start..])?;
    if v != 0.0 && v.abs() < f64::MIN_POSITIVE {
        return None;
    }
    Some(v)
}

/// One element to sort with its weight.
struct Item {
    elem: Bytes,
    score: f64,
    /// ALPHA BY: the weight string (`None` if the weight key is missing).
    weight: Option<Bytes>,
}

fn compare(x: &Item, y: &Item, o: &SortOpts) -> Ordering {
    let cmp = if !o.alpha {
        if x.score > y.score {
            Ordering::Greater
        } else if x.score < y.score {
            Ordering::Less
        } else {
            x.elem.cmp(&y.elem)
        }
    } else if o.by.is_some() {
        match (&x.weight, &y.weight) {
            (Some(a), Some(b)) => a.cmp(b),
            (None, None) => Ordering::Equal,
            (None, Some(_)) => Ordering::Less,
            (Some(_), None) => Ordering::Greater,
        }
    } else {
        x.elem.cmp(&y.elem)
    };
    if o.desc {
        cmp.reverse()
    } else {
        cmp
    }
}

/// The output window `[start, end]` (inclusive; empty when `end < start`) for LIMIT, clamped
/// to the collection as Redis does.
fn window(len: i64, limit_start: i64, limit_count: i64) -> (i64, i64) {
    let mut start = limit_start.clamp(0, len);
    let count = limit_count.clamp(-1, len);
    let mut end = if count < 0 {
        len - 1
    } else {
        start + count - 1
    };
    if start >= len {
        start = len - 1;
        end = len - 2;
    }
    (start, end.min(len - 1))
}

/// The elements to sort. Lists and sorted sets that are not sorted (`BY` constant) load only
/// the window, in the requested direction, and the window is rebased to 0.
fn load(obj: Option<&Obj>, o: &SortOpts, start: &mut i64, end: &mut i64) -> Vec<Bytes> {
    let b = |e: &[u8]| Bytes::copy_from_slice(e);
    let value = obj.map(Obj::value);
    let len = value.map_or(0, |v| collection_len(&v)) as i64;
    let ranged = o.dontsort && (*start != 0 || *end != len - 1);
    let take = if ranged {
        (*end - *start + 1).max(0)
    } else {
        len
    } as usize;
    let skip = (*start).max(0) as usize;
    let out = match value {
        Some(ValueRef::List(l)) if o.dontsort => {
            if *end < *start {
                return Vec::new();
            }
            let be = |e: Elem<'_>| Bytes::from(e.to_vec());
            if o.desc {
                l.iter().rev().skip(skip).take(take).map(be).collect()
            } else {
                l.iter().skip(skip).take(take).map(be).collect()
            }
        }
        Some(ValueRef::ZSet(z)) if o.dontsort => {
            let first = if o.desc {
                len as usize - skip - take
            } else {
                skip
            };
            let items = z.range(first, first + take, o.desc);
            items.into_iter().map(|(m, _)| b(m)).collect()
        }
        Some(ValueRef::List(l)) => l.iter().map(|e| Bytes::from(e.to_vec())).collect(),
        Some(ValueRef::ZSet(z)) => z.iter().map(|(m, _)| b(m)).collect(),
        Some(ValueRef::Set(s)) => {
            let mut v = Vec::with_capacity(s.len());
            s.for_each(|m| v.push(b(m)));
            return v;
        }
        _ => return Vec::new(),
    };
    if o.dontsort && matches!(value, Some(ValueRef::List(_) | ValueRef::ZSet(_))) {
        *end -= *start;
        *start = 0;
    }
    out
}

fn collection_len(v: &ValueRef) -> usize {
    match v {
        ValueRef::List(l) => l.len(),
        ValueRef::Set(s) => s.len(),
        ValueRef::ZSet(z) => z.len(),
        _ => 0,
    }
}

/// Attaches weights and sorts. Returns false if a numeric weight is not a number.
fn sort_items(ctx: &mut Ctx, elems: Vec<Bytes>, o: &SortOpts) -> (Vec<Item>, bool) {
    let mut ok = true;
    let mut items = Vec::with_capacity(elems.len());
    for elem in elems {
        let mut item = Item {
            elem,
            score: 0.0,
            weight: None,
        };
        if !o.dontsort {
            ok &= weigh(ctx, &mut item, o);
        }
        items.push(item);
    }
    if !o.dontsort {
        items.sort_by(|x, y| compare(x, y, o));
    }
    (items, ok)
}

/// Sets an item's weight: the BY value (missing = score 0 / no weight) or the element itself.
/// Returns false if a numeric weight does not parse.
fn weigh(ctx: &mut Ctx, item: &mut Item, o: &SortOpts) -> bool {
    let by = match o.by {
        Some(pattern) => match lookup_by_pattern(ctx, pattern, &item.elem) {
            Some(w) => w,
            None => return true,
        },
        // ALPHA without BY compares the elements themselves.
        None if o.alpha => return true,
        None => item.elem.clone(),
    };
    if o.alpha {
        item.weight = Some(by);
        return true;
    }
    match sort_score(&by) {
        Some(s) => {
            item.score = s;
            true
        }
        None => false,
    }
}

/// The output for elements `start..=end`: the element itself without GET, else one entry per
/// GET pattern (`None` = missing).
fn project(
    ctx: &mut Ctx,
    items: &[Item],
    o: &SortOpts,
    start: i64,
    end: i64,
) -> Vec<Option<Bytes>> {
    if end < start {
        return Vec::new();
    }
    let Some(chosen) = items.get(start as usize..=end as usize) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for item in chosen {
        if o.gets.is_empty() {
            out.push(Some(item.elem.clone()));
        }
        for pattern in &o.gets {
            out.push(lookup_by_pattern(ctx, pattern, &item.elem));
        }
    }
    out
}

/// STORE: the result replaces the destination as a list (without TTL); an empty result
/// deletes the destination. Counts one change per stored element, as Redis does.
fn store(ctx: &mut Ctx, dest: &Bytes, out: Vec<Option<Bytes>>) -> Reply {
    let n = out.len();
    let lazy = ctx.settings.lazyfree_lazy_server_del;
    if n == 0 {
        // Redis's `dbDelete`: a destination that has expired is deleted as any other.
        if let Some(old) = ctx.ks.remove_stored(ctx.db, dest) {
            free_value(old, lazy);
            ctx.notify(notify::GENERIC, "del", dest);
            ctx.dirty += 1;
        }
        return Reply::Int(0);
    }
    let elems: Vec<Bytes> = out.into_iter().map(Option::unwrap_or_default).collect();
    let list = List::from_elems(elems.iter().map(|e| &e[..]), ctx.settings.list);
    let obj = Obj::new(dest, NewValue::Boxed(Boxed::List(list)), None);
    // `setKey`'s write lookup first (an expired destination is reported `expired`).
    ctx.ks.get(ctx.db, dest);
    if let Some(old) = ctx.store(obj) {
        free_value(old, lazy);
    }
    ctx.notify(notify::LIST, "sortstore", dest);
    ctx.dirty += n as u64;
    Reply::Int(n as i64)
}

fn sort_generic(ctx: &mut Ctx, a: &[Bytes], readonly: bool) -> Reply {
    let mut o = match parse_opts(a, readonly, ctx.acl_full_read) {
        Ok(o) => o,
        Err(e) => return e,
    };
    let obj = ctx.ks.read(ctx.db, &a[1]);
    let kind = obj.map(Obj::kind);
    if kind.is_some_and(|k| !matches!(k, Kind::List | Kind::Set | Kind::ZSet)) {
        return err(errors::WRONGTYPE);
    }
    if o.dontsort && kind == Some(Kind::Set) && (o.store.is_some() || ctx.from_script) {
        // A set's order is not deterministic: replicas must store the same list, and a script
        // must see the same result on every node.
        o.dontsort = false;
        o.alpha = true;
        o.by = None;
    }
    let len = obj.map_or(0, |x| collection_len(&x.value())) as i64;
    let (mut start, mut end) = window(len, o.limit_start, o.limit_count);
    let elems = load(obj, &o, &mut start, &mut end);
    let (items, ok) = sort_items(ctx, elems, &o);
    if !ok {
        return err(errors::SORT_NOT_DOUBLE);
    }
    let out = project(ctx, &items, &o, start, end);
    match o.store {
        Some(dest) => store(ctx, dest, out),
        None => Reply::Array(
            out.into_iter()
                .map(|v| v.map_or(Reply::Nil, Reply::Bulk))
                .collect(),
        ),
    }
}

/// SORT key [BY pattern] [LIMIT offset count] [GET pattern ...] [ASC|DESC] [ALPHA]
/// [STORE destination]
pub fn sort(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    sort_generic(ctx, a, false)
}

/// SORT_RO: SORT without STORE.
pub fn sort_ro(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    sort_generic(ctx, a, true)
}
