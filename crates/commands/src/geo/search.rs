//! The geo searches: GEORADIUS, GEORADIUSBYMEMBER (and their `_RO` forms), GEOSEARCH and
//! GEOSEARCHSTORE, all one procedure as in Valkey's `georadiusGeneric`.
//!
//! Arguments are parsed in Valkey's order, interleaved with the lookups they need (a
//! FROMMEMBER member is resolved where it appears), so the first error reported is Valkey's.
//! The search scans the centre cell and its neighbours as score ranges of the sorted set,
//! keeps the points inside the shape, sorts them as Valkey does, then replies or stores.

use std::cmp::Ordering;

use bytes::Bytes;
use keyspace::{Boxed, NewValue, Obj};
use resp::Reply;
use types::zset::{ScoreBound, ZSet};

use super::hash::{self, HashBits, SearchCells, Shape, ShapeKind};
use super::{as_zset, coord_reply, distance_reply, parse_box, parse_distance, parse_lonlat};
use super::{read_zset, sort};
use crate::args::c_is;
use crate::ctx::Ctx;
use crate::errors::{self, err};
use crate::notify;

/// Search around coordinates given as arguments (GEORADIUS).
pub const COORDS: u8 = 1 << 0;
/// Search around a member given as argument (GEORADIUSBYMEMBER).
pub const MEMBER: u8 = 1 << 1;
/// STORE / STOREDIST refused (the `_RO` forms).
pub const NOSTORE: u8 = 1 << 2;
/// GEOSEARCH arguments (FROMMEMBER/FROMLONLAT, BYRADIUS/BYBOX).
pub const SEARCH: u8 = 1 << 3;
/// GEOSEARCHSTORE: the destination is argument 1; only STOREDIST is accepted.
pub const SEARCHSTORE: u8 = 1 << 4;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sort {
    None,
    Asc,
    Desc,
}

/// A parsed search.
#[derive(Clone, Debug, PartialEq)]
pub struct Request {
    pub shape: Shape,
    pub withdist: bool,
    pub withhash: bool,
    pub withcoord: bool,
    pub sort: Sort,
    /// 0 = no COUNT.
    pub count: i64,
    pub any: bool,
    /// The destination, and whether it stores distances (STOREDIST) instead of hashes.
    pub store: Option<(Bytes, bool)>,
}

/// Parses a search's arguments (`a` is the whole argument vector). `src_exists` says whether
/// the source sorted set exists, and `member_xy` resolves a member's position in it; both
/// matter to which error comes first, as in Valkey.
pub fn parse(
    a: &[Bytes],
    flags: u8,
    src_exists: bool,
    mut member_xy: impl FnMut(&[u8]) -> Option<[f64; 2]>,
) -> Result<Request, Reply> {
    let mut req = Request {
        shape: Shape::default(),
        withdist: false,
        withhash: false,
        withcoord: false,
        sort: Sort::None,
        count: 0,
        any: false,
        store: None,
    };
    let arg = |i: usize| a.get(i).map_or(&[][..], |b| &b[..]);
    let base = if flags & COORDS != 0 {
        req.shape.xy = parse_lonlat(arg(2), arg(3))?;
        let (r, conversion) = parse_distance(arg(4), arg(5))?;
        req.shape.kind = ShapeKind::Radius(r);
        req.shape.conversion = conversion;
        6
    } else if flags & MEMBER != 0 {
        if src_exists {
            req.shape.xy = member_xy(arg(2)).ok_or_else(|| err(errors::GEO_NO_MEMBER))?;
            let (r, conversion) = parse_distance(arg(3), arg(4))?;
            req.shape.kind = ShapeKind::Radius(r);
            req.shape.conversion = conversion;
        }
        5
    } else if flags & SEARCHSTORE != 0 {
        req.store = a.get(1).map(|k| (k.clone(), false));
        3
    } else {
        2
    };
    let search = flags & SEARCH != 0;
    let may_store = flags & (NOSTORE | SEARCH) == 0;
    let (mut frommember, mut fromloc, mut byradius, mut bybox) = (false, false, false, false);
    let mut i = base;
    while i < a.len() {
        let opt = &a[i];
        let after = a.len() - i - 1;
        if c_is(opt, "withdist") {
            req.withdist = true;
        } else if c_is(opt, "withhash") {
            req.withhash = true;
        } else if c_is(opt, "withcoord") {
            req.withcoord = true;
        } else if c_is(opt, "any") {
            req.any = true;
        } else if c_is(opt, "asc") {
            req.sort = Sort::Asc;
        } else if c_is(opt, "desc") {
            req.sort = Sort::Desc;
        } else if c_is(opt, "count") && after >= 1 {
            req.count = crate::args::int(&a[i + 1])?;
            if req.count <= 0 {
                return Err(err(errors::GEO_COUNT_POSITIVE));
            }
            i += 1;
        } else if c_is(opt, "store") && after >= 1 && may_store {
            req.store = Some((a[i + 1].clone(), false));
            i += 1;
        } else if c_is(opt, "storedist") && after >= 1 && may_store {
            req.store = Some((a[i + 1].clone(), true));
            i += 1;
        } else if c_is(opt, "storedist") && search && flags & SEARCHSTORE != 0 {
            if let Some(s) = req.store.as_mut() {
                s.1 = true;
            }
        } else if c_is(opt, "frommember") && after >= 1 && search && !fromloc {
            if src_exists {
                req.shape.xy = member_xy(&a[i + 1]).ok_or_else(|| err(errors::GEO_NO_MEMBER))?;
            }
            frommember = true;
            i += 1;
        } else if c_is(opt, "fromlonlat") && after >= 2 && search && !frommember {
            req.shape.xy = parse_lonlat(&a[i + 1], &a[i + 2])?;
            fromloc = true;
            i += 2;
        } else if c_is(opt, "byradius") && after >= 2 && search && !bybox {
            let (r, conversion) = parse_distance(&a[i + 1], &a[i + 2])?;
            req.shape.kind = ShapeKind::Radius(r);
            req.shape.conversion = conversion;
            byradius = true;
            i += 2;
        } else if c_is(opt, "bybox") && after >= 3 && search && !byradius {
            let (width, height, conversion) = parse_box(&a[i + 1], &a[i + 2], &a[i + 3])?;
            req.shape.kind = ShapeKind::Box { width, height };
            req.shape.conversion = conversion;
            bybox = true;
            i += 3;
        } else {
            return Err(err(errors::SYNTAX));
        }
        i += 1;
    }
    if req.store.is_some() && (req.withdist || req.withhash || req.withcoord) {
        return Err(err(if flags & SEARCHSTORE != 0 {
            errors::GEOSEARCHSTORE_WITH
        } else {
            errors::GEO_STORE_WITH
        }));
    }
    let cmd = a.first().map_or(&[][..], |c| &c[..]);
    if search && !(frommember || fromloc) {
        return Err(errors::geo_need_from(cmd));
    }
    if search && !(byradius || bybox) {
        return Err(errors::geo_need_by(cmd));
    }
    if req.any && req.count == 0 {
        return Err(err(errors::GEO_ANY_NEEDS_COUNT));
    }
    Ok(req)
}

/// A point found by a search.
#[derive(Clone, Copy, Debug)]
struct Point<'z> {
    xy: [f64; 2],
    /// Meters from the centre (converted to the unit only when replying or storing).
    dist: f64,
    score: f64,
    member: &'z [u8],
}

/// The points of the cells to scan, in Valkey's order, stopping once `limit` (ANY) points
/// were found (`limit` 0 = no limit).
fn collect<'z>(z: &'z ZSet, cells: &SearchCells, shape: &Shape, limit: usize) -> Vec<Point<'z>> {
    let mut points = Vec::new();
    let order = cells.in_order();
    let full = |p: &Vec<Point>| !p.is_empty() && limit != 0 && p.len() >= limit;
    // Valkey skips a cell equal to the last one scanned, except right after the centre.
    let mut last = 0;
    for (i, cell) in order.iter().enumerate() {
        if cell.is_zero() {
            continue;
        }
        if last != 0 && *cell == order[last] {
            continue;
        }
        if full(&points) {
            break;
        }
        let min = hash::align52(*cell) as f64;
        let next = HashBits {
            bits: cell.bits.wrapping_add(1),
            step: cell.step,
        };
        let max = hash::align52(next) as f64;
        let (start, end) = z.score_range(
            ScoreBound {
                value: min,
                exclusive: false,
            },
            ScoreBound {
                value: max,
                exclusive: true,
            },
        );
        for (member, score) in z.range(start, end, false) {
            let xy = hash::decode_score(score);
            if let Some(dist) = hash::within(shape, xy) {
                points.push(Point {
                    xy,
                    dist,
                    score,
                    member,
                });
            }
            if full(&points) {
                break;
            }
        }
        last = i;
    }
    points
}

/// C's comparator of distances (`sort_gp_asc`).
fn by_distance(a: &Point, b: &Point) -> Ordering {
    if a.dist > b.dist {
        Ordering::Greater
    } else if a.dist == b.dist {
        Ordering::Equal
    } else {
        Ordering::Less
    }
}

/// Sorts `points` so that the first `returned` are in order (all of them when that is
/// everything), as Valkey's `qsort` / `pqsort`.
fn sort_points(points: &mut [Point], order: Sort, returned: usize) {
    let asc = |a: &Point, b: &Point| by_distance(a, b);
    let desc = |a: &Point, b: &Point| by_distance(a, b).reverse();
    let full = returned == points.len();
    match (order, full) {
        (Sort::None, _) => {}
        (Sort::Asc, true) => sort::merge_sort(points, &asc),
        (Sort::Desc, true) => sort::merge_sort(points, &desc),
        (Sort::Asc, false) => sort::partial_quicksort(points, &asc, 0, returned - 1),
        (Sort::Desc, false) => sort::partial_quicksort(points, &desc, 0, returned - 1),
    }
}

fn generic(ctx: &mut Ctx, a: &[Bytes], src: usize, flags: u8) -> Reply {
    let obj = match read_zset(ctx, &a[src]) {
        Ok(o) => o,
        Err(e) => return e,
    };
    let z = as_zset(&obj);
    let req = match parse(a, flags, z.is_some(), |m| {
        z.and_then(|z| z.score(m)).map(hash::decode_score)
    }) {
        Ok(r) => r,
        Err(e) => return e,
    };
    let Some(z) = z else {
        return match &req.store {
            Some((dest, _)) => {
                delete_dest(ctx, dest);
                Reply::Int(0)
            }
            None => Reply::Array(vec![]),
        };
    };
    let order = if req.count != 0 && req.sort == Sort::None && !req.any {
        Sort::Asc
    } else {
        req.sort
    };
    let cells = hash::cells_for_shape(&req.shape);
    let limit = if req.any {
        usize::try_from(req.count).unwrap_or(usize::MAX)
    } else {
        0
    };
    let mut points = collect(z, &cells, &req.shape, limit);
    if points.is_empty() && req.store.is_none() {
        return Reply::Array(vec![]);
    }
    let found = points.len();
    let returned = match usize::try_from(req.count) {
        Ok(c) if c != 0 && c < found => c,
        _ => found,
    };
    sort_points(&mut points, order, returned);
    let conversion = req.shape.conversion;
    let kept = &points[..returned];
    match &req.store {
        None => results_reply(ctx.resp3(), kept, &req, conversion),
        Some((dest, storedist)) => {
            let items: Vec<(&[u8], f64)> = kept
                .iter()
                .map(|p| {
                    let score = if *storedist {
                        p.dist / conversion
                    } else {
                        p.score
                    };
                    (p.member, score)
                })
                .collect();
            let event = if flags & SEARCH != 0 {
                "geosearchstore"
            } else {
                "georadiusstore"
            };
            store(ctx, dest, items, event);
            Reply::Int(returned as i64)
        }
    }
}

fn results_reply(resp3: bool, points: &[Point], req: &Request, conversion: f64) -> Reply {
    let with = req.withdist || req.withhash || req.withcoord;
    Reply::Array(
        points
            .iter()
            .map(|p| {
                let member = Reply::bulk(p.member);
                if !with {
                    return member;
                }
                let mut item = vec![member];
                if req.withdist {
                    item.push(distance_reply(p.dist / conversion));
                }
                if req.withhash {
                    item.push(Reply::Int(hash::c_double_to_i64(p.score)));
                }
                if req.withcoord {
                    item.push(Reply::Array(vec![
                        coord_reply(resp3, p.xy[0]),
                        coord_reply(resp3, p.xy[1]),
                    ]));
                }
                Reply::Array(item)
            })
            .collect(),
    )
}

/// Deletes the destination of a store that found nothing (Redis's `dbDelete`: even a value
/// that has expired).
fn delete_dest(ctx: &mut Ctx, dest: &[u8]) {
    if ctx.ks.remove_stored(ctx.db, dest).is_some() {
        ctx.notify(notify::GENERIC, "del", dest);
        ctx.dirty += 1;
    }
}

/// Stores the results as a sorted set under `dest` (replacing any value and its TTL), or
/// deletes `dest` when there are none.
fn store(ctx: &mut Ctx, dest: &[u8], mut items: Vec<(&[u8], f64)>, event: &'static str) {
    if items.is_empty() {
        delete_dest(ctx, dest);
        return;
    }
    // Score order (NaN last, so the order is total), then member order.
    items.sort_by(|a, b| {
        a.1.partial_cmp(&b.1)
            .unwrap_or_else(|| a.1.is_nan().cmp(&b.1.is_nan()))
            .then_with(|| a.0.cmp(b.0))
    });
    let n = items.len() as u64;
    let z = ZSet::from_sorted(&items, ctx.settings.zset);
    ctx.ks.get(ctx.db, dest);
    let old = ctx.store(Obj::new(dest, NewValue::Boxed(Boxed::ZSet(z)), None));
    if let Some(old) = old {
        if ctx.settings.lazyfree_lazy_server_del {
            keyspace::lazyfree::free(old);
        }
    }
    ctx.notify(notify::ZSET, event, dest);
    ctx.dirty += n;
}

/// GEORADIUS key longitude latitude radius M|KM|FT|MI [WITHCOORD] [WITHDIST] [WITHHASH]
/// [COUNT count [ANY]] [ASC|DESC] [STORE key|STOREDIST key]
pub fn georadius(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    generic(ctx, a, 1, COORDS)
}

/// GEORADIUS_RO: GEORADIUS without STORE/STOREDIST.
pub fn georadius_ro(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    generic(ctx, a, 1, COORDS | NOSTORE)
}

/// GEORADIUSBYMEMBER key member radius M|KM|FT|MI [options as GEORADIUS]
pub fn georadiusbymember(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    generic(ctx, a, 1, MEMBER)
}

/// GEORADIUSBYMEMBER_RO: GEORADIUSBYMEMBER without STORE/STOREDIST.
pub fn georadiusbymember_ro(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    generic(ctx, a, 1, MEMBER | NOSTORE)
}

/// GEOSEARCH key FROMMEMBER member|FROMLONLAT longitude latitude BYRADIUS radius unit|BYBOX
/// width height unit [ASC|DESC] [COUNT count [ANY]] [WITHCOORD] [WITHDIST] [WITHHASH]
pub fn geosearch(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    generic(ctx, a, 1, SEARCH)
}

/// GEOSEARCHSTORE destination source [GEOSEARCH's area and order options] [STOREDIST]
pub fn geosearchstore(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    generic(ctx, a, 2, SEARCH | SEARCHSTORE)
}
