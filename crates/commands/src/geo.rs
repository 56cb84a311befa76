//! Geo commands: GEOADD, GEODIST, GEOHASH, GEOPOS, GEORADIUS[BYMEMBER][_RO], GEOSEARCH and
//! GEOSEARCHSTORE.
//!
//! A geo set is a sorted set whose scores are 52-bit geohashes ([`hash`]). GEOADD encodes the
//! positions and runs ZADD (and is propagated as that ZADD, as Valkey does); the searches scan
//! the centre cell and its neighbours as score ranges and filter by distance ([`search`]),
//! sorting as Valkey's C library does ([`sort`]).
//!
//! This file holds the table rows, the arguments the family shares (units, longitude/latitude
//! pairs, distances) and the number formats of its replies: distances with exactly four
//! decimals, coordinates as `%.17Lf` with trailing zeros trimmed (a RESP3 double with that
//! text). Nothing here knows about sorted-set internals beyond `types::zset`'s API.

pub mod hash;
pub mod search;
pub mod sort;

use bytes::Bytes;
use keyspace::ValueRef;
use resp::Reply;
use types::zset::ZSet;

use crate::args::c_is;
use crate::ctx::Ctx;
use crate::errors::{self, err};
use crate::row;
use crate::spec::{acl, flags as f, CommandSpec, Handler, Keys};

const RO_ACCESS: &[&str] = &["RO", "ACCESS"];

/// Keys of GEORADIUS: the source, then the key after STORE / STOREDIST (searched from
/// argument 6, as the command's keyword key specs do).
fn georadius_keys(a: &[Bytes]) -> Vec<usize> {
    store_keys(a, 6)
}

/// Keys of GEORADIUSBYMEMBER (keywords searched from argument 5).
fn georadiusbymember_keys(a: &[Bytes]) -> Vec<usize> {
    store_keys(a, 5)
}

fn store_keys(a: &[Bytes], from: usize) -> Vec<usize> {
    let mut keys = vec![1];
    for kw in ["store", "storedist"] {
        // The keyword must be followed by the key (the last argument is never a keyword).
        let last = a.len().saturating_sub(1);
        if let Some(i) = (from..last).find(|&i| c_is(&a[i], kw)) {
            keys.push(i + 1);
        }
    }
    keys
}

#[rustfmt::skip]
pub static COMMANDS: &[CommandSpec] = &[
    row!("geoadd", -5, f::WRITE | f::DENYOOM, acl::GEO, Keys::range(1, 0, 1, &["RW", "UPDATE"]), "geo", "3.2.0", "Adds one or more members to a geospatial index. The key is created if it doesn't exist.", Handler::Data(geoadd)),
    row!("geodist", -4, f::READONLY, acl::GEO, Keys::range(1, 0, 1, RO_ACCESS), "geo", "3.2.0", "Returns the distance between two members of a geospatial index.", Handler::Data(geodist)),
    row!("geohash", -2, f::READONLY, acl::GEO, Keys::range(1, 0, 1, RO_ACCESS), "geo", "3.2.0", "Returns members from a geospatial index as geohash strings.", Handler::Data(geohash)),
    row!("geopos", -2, f::READONLY, acl::GEO, Keys::range(1, 0, 1, RO_ACCESS), "geo", "3.2.0", "Returns the longitude and latitude of members from a geospatial index.", Handler::Data(geopos)),
    row!("georadius", -6, f::WRITE | f::DENYOOM, acl::GEO, Keys::movable(georadius_keys, RO_ACCESS), "geo", "3.2.0", "Queries a geospatial index for members within a distance from a coordinate, optionally stores the result.", Handler::Data(search::georadius)),
    row!("georadius_ro", -6, f::READONLY, acl::GEO, Keys::range(1, 0, 1, RO_ACCESS), "geo", "3.2.10", "Returns members from a geospatial index that are within a distance from a coordinate.", Handler::Data(search::georadius_ro)),
    row!("georadiusbymember", -5, f::WRITE | f::DENYOOM, acl::GEO, Keys::movable(georadiusbymember_keys, RO_ACCESS), "geo", "3.2.0", "Queries a geospatial index for members within a distance from a member, optionally stores the result.", Handler::Data(search::georadiusbymember)),
    row!("georadiusbymember_ro", -5, f::READONLY, acl::GEO, Keys::range(1, 0, 1, RO_ACCESS), "geo", "3.2.10", "Returns members from a geospatial index that are within a distance from a member.", Handler::Data(search::georadiusbymember_ro)),
    row!("geosearch", -7, f::READONLY, acl::GEO, Keys::range(1, 0, 1, RO_ACCESS), "geo", "6.2.0", "Queries a geospatial index for members inside an area of a box or a circle.", Handler::Data(search::geosearch)),
    row!("geosearchstore", -8, f::WRITE | f::DENYOOM, acl::GEO, Keys::range(1, 1, 1, &["OW", "UPDATE"]), "geo", "6.2.0", "Queries a geospatial index for members inside an area of a box or a circle, optionally stores the result.", Handler::Data(search::geosearchstore)),
];

/// Meters per unit for `m`, `km`, `ft`, `mi` (case-insensitive).
pub fn parse_unit(arg: &[u8]) -> Result<f64, Reply> {
    let m = match arg {
        u if c_is(u, "m") => 1.0,
        u if c_is(u, "km") => 1000.0,
        u if c_is(u, "ft") => 0.3048,
        u if c_is(u, "mi") => 1609.34,
        _ => return Err(err(errors::GEO_UNIT)),
    };
    Ok(m)
}

/// A double argument as Valkey's `getDoubleFromObjectOrReply`, with `msg` as the error.
fn double_or(arg: &[u8], msg: &'static str) -> Result<f64, Reply> {
    resp::float::parse_double(arg).ok_or_else(|| err(msg))
}

/// `longitude latitude` (two arguments), within the Web Mercator limits.
pub fn parse_lonlat(lon: &[u8], lat: &[u8]) -> Result<[f64; 2], Reply> {
    let x = double_or(lon, errors::NOT_FLOAT)?;
    let y = double_or(lat, errors::NOT_FLOAT)?;
    // (`parse_double` never returns NaN, so `contains` is C's comparison here.)
    if !(hash::LONG_MIN..=hash::LONG_MAX).contains(&x)
        || !(hash::LAT_MIN..=hash::LAT_MAX).contains(&y)
    {
        return Err(Reply::error(format!(
            "ERR invalid longitude,latitude pair {},{}",
            c_fixed6(x),
            c_fixed6(y)
        )));
    }
    Ok([x, y])
}

/// C's `%f`.
fn c_fixed6(v: f64) -> String {
    if v.is_nan() {
        return if v.is_sign_negative() { "-nan" } else { "nan" }.into();
    }
    if v.is_infinite() {
        return if v < 0.0 { "-inf" } else { "inf" }.into();
    }
    format!("{v:.6}")
}

/// `radius unit`: (radius, meters per unit).
pub fn parse_distance(radius: &[u8], unit: &[u8]) -> Result<(f64, f64), Reply> {
    let r = double_or(radius, errors::GEO_NEED_RADIUS)?;
    if r < 0.0 {
        return Err(err(errors::GEO_RADIUS_NEGATIVE));
    }
    Ok((r, parse_unit(unit)?))
}

/// `width height unit`: (width, height, meters per unit).
pub fn parse_box(width: &[u8], height: &[u8], unit: &[u8]) -> Result<(f64, f64, f64), Reply> {
    let w = double_or(width, errors::GEO_NEED_WIDTH)?;
    let h = double_or(height, errors::GEO_NEED_HEIGHT)?;
    if h < 0.0 || w < 0.0 {
        return Err(err(errors::GEO_BOX_NEGATIVE));
    }
    Ok((w, h, parse_unit(unit)?))
}

/// A distance as Valkey prints it (`fixedpoint_d2string(d, 4)`): rounded to 4 decimals with
/// ties to even, always 4 decimals, `0.0000` for zero.
pub fn distance_text(d: f64) -> String {
    if d == 0.0 {
        return "0.0000".into();
    }
    let scaled = hash::c_double_to_i64((d * 10000.0).round_ties_even());
    let sign = if scaled < 0 { "-" } else { "" };
    let v = scaled.unsigned_abs();
    format!("{sign}{}.{:04}", v / 10000, v % 10000)
}

/// A distance reply: a bulk string in both protocols.
fn distance_reply(d: f64) -> Reply {
    Reply::Bulk(Bytes::from(distance_text(d)))
}

/// A coordinate as Valkey's `ld2string(LD_STR_HUMAN)` prints a double: `%.17Lf`, trailing
/// zeros and a trailing point removed, `-0` as `0`.
pub fn coord_text(v: f64) -> String {
    if v.is_infinite() {
        return if v < 0.0 { "-inf" } else { "inf" }.into();
    }
    if v.is_nan() {
        return "nan".into();
    }
    // Rust's fixed-precision formatting is exact and rounds ties to even, as glibc's.
    let mut s = format!("{v:.17}");
    let kept = s.trim_end_matches('0').len();
    s.truncate(kept);
    if s.ends_with('.') {
        s.pop();
    }
    if s == "-0" {
        s = "0".into();
    }
    s
}

/// A coordinate reply (`addReplyHumanLongDouble`): a bulk string in RESP2, a RESP3 double
/// carrying the same text.
fn coord_reply(resp3: bool, v: f64) -> Reply {
    let text = coord_text(v);
    if resp3 {
        Reply::Raw(Bytes::from(format!(",{text}\r\n")))
    } else {
        Reply::Bulk(Bytes::from(text))
    }
}

/// `[longitude, latitude]` as a two-element reply.
fn position_reply(resp3: bool, xy: [f64; 2]) -> Reply {
    Reply::Array(vec![coord_reply(resp3, xy[0]), coord_reply(resp3, xy[1])])
}

/// The sorted set at `key` for a read: a cheap handle on the object (so the caller can keep
/// reading it while writing elsewhere), `None` if missing, WRONGTYPE for other types.
fn read_zset(ctx: &mut Ctx, key: &[u8]) -> Result<Option<keyspace::Obj>, Reply> {
    match ctx.ks.read(ctx.db, key) {
        None => Ok(None),
        Some(o) => match o.value() {
            ValueRef::ZSet(_) => Ok(Some(o.clone())),
            _ => Err(err(errors::WRONGTYPE)),
        },
    }
}

fn as_zset(obj: &Option<keyspace::Obj>) -> Option<&ZSet> {
    match obj.as_ref().map(|o| o.value()) {
        Some(ValueRef::ZSet(z)) => Some(z),
        _ => None,
    }
}

/// GEOADD key [NX|XX] [CH] longitude latitude member [longitude latitude member ...]
///
/// Runs as `ZADD key [options] score member ...` and propagates that ZADD.
pub fn geoadd(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    let (mut nx, mut xx) = (false, false);
    let mut first = 2;
    while let Some(opt) = a.get(first) {
        if c_is(opt, "nx") {
            nx = true;
        } else if c_is(opt, "xx") {
            xx = true;
        } else if !c_is(opt, "ch") {
            break;
        }
        first += 1;
    }
    let triples = &a[first..];
    if !triples.len().is_multiple_of(3) || (xx && nx) {
        return err(errors::SYNTAX);
    }
    let mut zargv: Vec<Bytes> = Vec::with_capacity(first + triples.len() / 3 * 2);
    zargv.push(Bytes::from_static(b"zadd"));
    zargv.extend_from_slice(&a[1..first]);
    for t in triples.chunks_exact(3) {
        let [x, y] = match parse_lonlat(&t[0], &t[1]) {
            Ok(xy) => xy,
            Err(e) => return e,
        };
        let bits = hash::encode_wgs84(x, y, hash::STEP_MAX).map_or(0, hash::align52);
        zargv.push(Bytes::from(itoa::Buffer::new().format(bits).to_owned()));
        zargv.push(t[2].clone());
    }
    let reply = crate::zsets::add::zadd(ctx, &zargv);
    if ctx.dirty > 0 && ctx.rewrite.is_none() {
        ctx.propagate(zargv);
    }
    reply
}

/// GEODIST key member1 member2 [M|KM|FT|MI]
pub fn geodist(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    let to_meters = match a.len() {
        4 => 1.0,
        5 => match parse_unit(&a[4]) {
            Ok(u) => u,
            Err(e) => return e,
        },
        _ => return err(errors::SYNTAX),
    };
    let obj = match read_zset(ctx, &a[1]) {
        Ok(Some(o)) => Some(o),
        Ok(None) => return Reply::Nil,
        Err(e) => return e,
    };
    let Some(z) = as_zset(&obj) else {
        return Reply::Nil;
    };
    let (Some(s1), Some(s2)) = (z.score(&a[2]), z.score(&a[3])) else {
        return Reply::Nil;
    };
    let [x1, y1] = hash::decode_score(s1);
    let [x2, y2] = hash::decode_score(s2);
    distance_reply(hash::distance(x1, y1, x2, y2) / to_meters)
}

/// GEOHASH key [member ...]
pub fn geohash(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    let obj = match read_zset(ctx, &a[1]) {
        Ok(o) => o,
        Err(e) => return e,
    };
    let z = as_zset(&obj);
    Reply::Array(
        a[2..]
            .iter()
            .map(|m| match z.and_then(|z| z.score(m)) {
                None => Reply::Nil,
                Some(score) => Reply::bulk(&hash::geohash_string(hash::decode_score(score))),
            })
            .collect(),
    )
}

/// GEOPOS key [member ...]
pub fn geopos(ctx: &mut Ctx, a: &[Bytes]) -> Reply {
    let obj = match read_zset(ctx, &a[1]) {
        Ok(o) => o,
        Err(e) => return e,
    };
    let z = as_zset(&obj);
    let resp3 = ctx.resp3();
    Reply::Array(
        a[2..]
            .iter()
            .map(|m| match z.and_then(|z| z.score(m)) {
                None => Reply::NilArray,
                Some(score) => position_reply(resp3, hash::decode_score(score)),
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_formats() {
        assert_eq!(distance_text(0.0), "0.0000");
        assert_eq!(distance_text(-0.0), "0.0000");
        assert_eq!(distance_text(166274.15156960033), "166274.1516");
        assert_eq!(distance_text(0.00001), "0.0000");
        assert_eq!(distance_text(-1.5), "-1.5000");
        assert_eq!(distance_text(f64::NAN), "-922337203685477.5808");
        assert_eq!(coord_text(85.05112878), "85.0511287799999991");
        assert_eq!(coord_text(180.0), "180");
        assert_eq!(coord_text(-0.0), "0");
        assert_eq!(coord_text(-1e-30), "0");
        assert_eq!(coord_text(0.5), "0.5");
    }

    #[test]
    fn store_key_positions() {
        let v = |s: &[&str]| -> Vec<Bytes> {
            s.iter()
                .map(|x| Bytes::copy_from_slice(x.as_bytes()))
                .collect()
        };
        let a = v(&[
            "georadius",
            "k",
            "0",
            "0",
            "1",
            "km",
            "STORE",
            "d",
            "storedist",
            "e",
        ]);
        assert_eq!(georadius_keys(&a), vec![1, 7, 9]);
        let a = v(&["georadius", "k", "0", "0", "1", "km", "store"]);
        assert_eq!(georadius_keys(&a), vec![1]);
        let a = v(&["georadiusbymember", "k", "m", "1", "km", "store", "d"]);
        assert_eq!(georadiusbymember_keys(&a), vec![1, 6]);
    }
}
