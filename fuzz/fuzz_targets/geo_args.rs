//! The geo argument parsers (units, longitude/latitude pairs, radius and box sizes, the
//! GEORADIUS/GEOSEARCH option parser) and the geo commands themselves on arbitrary
//! arguments against a small geo set: never a panic, and what the parsers accept is in range.
#![no_main]

use bytes::Bytes;
use commands::geo::{self, hash, search};
use commands::testing::Harness;
use libfuzzer_sys::fuzz_target;

const COMMANDS: &[(&str, u8, usize)] = &[
    ("GEORADIUS", search::COORDS, 1),
    ("GEORADIUS_RO", search::COORDS | search::NOSTORE, 1),
    ("GEORADIUSBYMEMBER", search::MEMBER, 1),
    ("GEORADIUSBYMEMBER_RO", search::MEMBER | search::NOSTORE, 1),
    ("GEOSEARCH", search::SEARCH, 1),
    ("GEOSEARCHSTORE", search::SEARCH | search::SEARCHSTORE, 2),
    ("GEOADD", 0, 1),
    ("GEODIST", 0, 1),
    ("GEOPOS", 0, 1),
    ("GEOHASH", 0, 1),
];

fn args(argv: &[&str]) -> Vec<Bytes> {
    argv.iter()
        .map(|s| Bytes::copy_from_slice(s.as_bytes()))
        .collect()
}

fuzz_target!(|data: &[u8]| {
    let Some((&cfg, rest)) = data.split_first() else {
        return;
    };
    let parts: Vec<&[u8]> = rest.split(|&b| b == b'\n').collect();

    // The small parsers, on the first arguments.
    let part = |i: usize| parts.get(i).copied().unwrap_or(b"");
    if let Ok(m) = geo::parse_unit(part(0)) {
        assert!(m > 0.0);
    }
    if let Ok([x, y]) = geo::parse_lonlat(part(0), part(1)) {
        assert!((hash::LONG_MIN..=hash::LONG_MAX).contains(&x));
        assert!((hash::LAT_MIN..=hash::LAT_MAX).contains(&y));
        let cell = hash::encode_wgs84(x, y, hash::STEP_MAX).expect("in range");
        let [dx, dy] = hash::decode_score(hash::align52(cell) as f64);
        assert!((x - dx).abs() < 1e-4 && (y - dy).abs() < 1e-4);
    }
    if let Ok((r, m)) = geo::parse_distance(part(0), part(1)) {
        assert!(r >= 0.0 && m > 0.0);
    }
    if let Ok((w, hgt, m)) = geo::parse_box(part(0), part(1), part(2)) {
        assert!(w >= 0.0 && hgt >= 0.0 && m > 0.0);
    }

    let (cmd, flags, src) = COMMANDS[cfg as usize % COMMANDS.len()];
    let mut argv = vec![Bytes::from_static(cmd.as_bytes())];
    if src == 2 {
        argv.push(Bytes::from_static(b"dst"));
    }
    argv.push(Bytes::from_static(if cfg & 0x80 != 0 {
        b"nokey"
    } else {
        b"g"
    }));
    argv.extend(parts.iter().map(|p| Bytes::copy_from_slice(p)));

    if flags != 0 {
        let exists = cfg & 0x80 == 0;
        let member = |m: &[u8]| (m == b"a").then_some([13.361389, 38.115556]);
        if let Ok(req) = search::parse(&argv, flags, exists, member) {
            assert!(req.count >= 0);
            assert!(!req.any || req.count > 0);
            assert!(req.store.is_none() || !(req.withdist || req.withhash || req.withcoord));
        }
    }
    let mut h = Harness::new();
    h.run_argv(&args(&[
        "GEOADD",
        "g",
        "13.361389",
        "38.115556",
        "a",
        "15.087269",
        "37.502669",
        "b",
    ]));
    h.run_argv(&args(&[
        "GEOADD",
        "g",
        "-180",
        "-85.05112878",
        "c",
        "180",
        "85.05112878",
        "d",
    ]));
    h.run_argv(&args(&["ZADD", "g", "-1", "e", "1e300", "f"]));
    if argv.len() >= 2 {
        let _ = h.run_argv(&argv);
    }
});
