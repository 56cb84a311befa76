//! Geo commands (GEOADD, GEODIST, GEOHASH, GEOPOS, GEORADIUS*, GEOSEARCH, GEOSEARCHSTORE)
//! through the table, in process: replies recorded from Valkey 8.0.1 (scores, distances,
//! coordinates and result orders), then options, errors, propagation and notifications.

mod fixture;

use bytes::Bytes;
use commands::notify;
use commands::testing::{bulk, Harness};
use resp::{Reply, RespVersion};

const SYNTAX: &str = "ERR syntax error";
const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";

fn harness() -> Harness {
    let mut h = Harness::new();
    h.settings.notify_classes = notify::ALL | notify::NEW | notify::KEYEVENT;
    h
}

fn sicily(h: &mut Harness) {
    h.run(&[
        "GEOADD",
        "Sicily",
        "13.361389",
        "38.115556",
        "Palermo",
        "15.087269",
        "37.502669",
        "Catania",
    ]);
}

fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn bulks(items: &[&str]) -> Reply {
    Reply::Array(items.iter().map(|s| bulk(s)).collect())
}

fn events(h: &Harness) -> Vec<(&'static str, String)> {
    h.last
        .notifications
        .iter()
        .map(|e| (e.event, String::from_utf8_lossy(&e.key).into_owned()))
        .collect()
}

fn ev(list: &[(&'static str, &str)]) -> Vec<(&'static str, String)> {
    list.iter().map(|(e, k)| (*e, k.to_string())).collect()
}

fn encoding(h: &Harness, key: &str) -> &'static str {
    h.ks.db(0)
        .get(key.as_bytes())
        .map_or("none", |o| o.encoding())
}

#[test]
fn replies_match_valkey() {
    let n = fixture::replay(include_str!("data/geo_valkey.txt"));
    assert!(n > 500);
}

#[test]
fn geoadd_runs_and_propagates_as_zadd() {
    let mut h = harness();
    sicily(&mut h);
    assert_eq!(h.last.dirty, 2);
    assert_eq!(
        h.propagated(),
        vec![strs(&[
            "zadd",
            "Sicily",
            "3479099956230698",
            "Palermo",
            "3479447370796909",
            "Catania"
        ])]
    );
    assert_eq!(events(&h), ev(&[("new", "Sicily"), ("zadd", "Sicily")]));
    assert_eq!(
        h.wire(&["ZSCORE", "Sicily", "Palermo"]),
        "$16\r\n3479099956230698\r\n"
    );
    assert_eq!(h.run(&["TYPE", "Sicily"]), Reply::status("zset"));
    // Nothing changed: nothing propagated, no event.
    assert_eq!(
        h.run(&["GEOADD", "Sicily", "13.361389", "38.115556", "Palermo"]),
        Reply::Int(0)
    );
    assert_eq!((h.last.dirty, h.propagated().len()), (0, 0));
    assert!(events(&h).is_empty());
    // Options go to ZADD as given.
    assert_eq!(
        h.run(&["GEOADD", "Sicily", "CH", "xx", "13", "38", "Palermo", "1", "1", "New"]),
        Reply::Int(1)
    );
    assert_eq!(
        h.propagated(),
        vec![strs(&[
            "zadd",
            "Sicily",
            "CH",
            "xx",
            "3479065152021743",
            "Palermo",
            "3377822707026402",
            "New"
        ])]
    );
    assert_eq!(events(&h), ev(&[("zadd", "Sicily")]));
    assert_eq!(
        h.run(&["GEOADD", "Sicily", "NX", "CH", "1", "1", "Palermo", "2", "2", "b"]),
        Reply::Int(1)
    );
    assert_eq!(h.run(&["ZCARD", "Sicily"]), Reply::Int(3));

    assert_eq!(
        h.run(&["GEOADD", "Sicily", "XX", "NX", "1", "1", "a"]),
        Reply::error(SYNTAX)
    );
    assert_eq!(
        h.run(&["GEOADD", "Sicily", "1", "1", "a", "2"]),
        Reply::error(SYNTAX)
    );
    assert_eq!(
        h.run(&["GEOADD", "Sicily", "CH", "CH", "CH"]),
        Reply::error(SYNTAX)
    );
    assert_eq!(
        h.run(&["GEOADD", "Sicily", "GT", "1", "1"]),
        Reply::error("ERR value is not a valid float")
    );
    assert_eq!(
        h.run(&["GEOADD", "Sicily", "1", "1", "a", "181", "0", "b"]),
        Reply::error("ERR invalid longitude,latitude pair 181.000000,0.000000")
    );
    assert_eq!(
        h.run(&["GEOADD", "Sicily", "0", "-85.06", "b"]),
        Reply::error("ERR invalid longitude,latitude pair 0.000000,-85.060000")
    );
    assert_eq!(
        h.run(&["GEOADD", "Sicily", "-inf", "0", "b"]),
        Reply::error("ERR invalid longitude,latitude pair -inf,0.000000")
    );
    assert_eq!(h.run(&["ZSCORE", "Sicily", "a"]), Reply::Nil);
    h.run(&["SET", "s", "x"]);
    assert_eq!(
        h.run(&["GEOADD", "s", "1", "1", "a"]),
        Reply::error(WRONGTYPE)
    );
    assert!(h.propagated().is_empty());
}

#[test]
fn geodist_geohash_geopos() {
    let mut h = harness();
    sicily(&mut h);
    assert_eq!(
        h.run(&["GEODIST", "Sicily", "Palermo", "Catania"]),
        bulk("166274.1516")
    );
    assert_eq!(
        h.run(&["GEODIST", "Sicily", "Palermo", "Catania", "KM"]),
        bulk("166.2742")
    );
    assert_eq!(
        h.run(&["GEODIST", "Sicily", "Palermo", "Catania", "mi"]),
        bulk("103.3182")
    );
    assert_eq!(
        h.run(&["GEODIST", "Sicily", "Palermo", "Catania", "ft"]),
        bulk("545518.8700")
    );
    assert_eq!(
        h.run(&["GEODIST", "Sicily", "Palermo", "Palermo"]),
        bulk("0.0000")
    );
    assert_eq!(h.run(&["GEODIST", "Sicily", "Palermo", "nope"]), Reply::Nil);
    assert_eq!(h.run(&["GEODIST", "nokey", "a", "b"]), Reply::Nil);
    // The unit is checked before the key; more arguments are a syntax error.
    let unit = Reply::error("ERR unsupported unit provided. please use M, KM, FT, MI");
    assert_eq!(h.run(&["GEODIST", "nokey", "a", "b", "parsec"]), unit);
    assert_eq!(
        h.run(&["GEODIST", "nokey", "a", "b", "km", "x"]),
        Reply::error(SYNTAX)
    );
    assert_eq!(
        h.run(&["GEOHASH", "Sicily", "Palermo", "nope", "Catania"]),
        Reply::Array(vec![bulk("sqc8b49rny0"), Reply::Nil, bulk("sqdtr74hyu0")])
    );
    assert_eq!(
        h.run(&["GEOHASH", "nokey", "a"]),
        Reply::Array(vec![Reply::Nil])
    );
    assert_eq!(h.run(&["GEOHASH", "Sicily"]), Reply::Array(vec![]));
    assert_eq!(
        h.run(&["GEOPOS", "Sicily", "Palermo", "nope"]),
        Reply::Array(vec![
            bulks(&["13.36138933897018433", "38.11555639549629859"]),
            Reply::NilArray
        ])
    );
    assert_eq!(h.wire(&["GEOPOS", "nokey", "a"]), "*1\r\n*-1\r\n");
    h.resp = RespVersion::Resp3;
    assert_eq!(
        h.wire(&["GEOPOS", "Sicily", "Palermo", "nope"]),
        "*2\r\n*2\r\n,13.36138933897018433\r\n,38.11555639549629859\r\n_\r\n"
    );
    assert_eq!(h.wire(&["GEODIST", "nokey", "a", "b"]), "_\r\n");
    assert_eq!(
        h.wire(&["GEODIST", "Sicily", "Palermo", "Catania", "km"]),
        "$8\r\n166.2742\r\n"
    );
    h.run(&["SET", "s", "x"]);
    for cmd in [
        &["GEOPOS", "s", "a"][..],
        &["GEOHASH", "s", "a"],
        &["GEODIST", "s", "a", "b"],
    ] {
        assert_eq!(h.run(cmd), Reply::error(WRONGTYPE));
    }
}

#[test]
fn search_reply_shapes() {
    let mut h = harness();
    sicily(&mut h);
    let args = [
        "GEORADIUS",
        "Sicily",
        "15",
        "37",
        "200",
        "km",
        "WITHDIST",
        "WITHCOORD",
        "WITHHASH",
        "ASC",
    ];
    assert_eq!(
        h.wire(&args),
        "*2\r\n*4\r\n$7\r\nCatania\r\n$7\r\n56.4413\r\n:3479447370796909\r\n*2\r\n$17\r\n15.08726745843887329\r\n$17\r\n37.50266842333162032\r\n*4\r\n$7\r\nPalermo\r\n$8\r\n190.4424\r\n:3479099956230698\r\n*2\r\n$17\r\n13.36138933897018433\r\n$17\r\n38.11555639549629859\r\n"
            .replace("$17\r\n15.08726745843887329", "$20\r\n15.08726745843887329")
            .replace("$17\r\n37.50266842333162032", "$20\r\n37.50266842333162032")
            .replace("$17\r\n13.36138933897018433", "$20\r\n13.36138933897018433")
            .replace("$17\r\n38.11555639549629859", "$20\r\n38.11555639549629859")
    );
    h.resp = RespVersion::Resp3;
    assert_eq!(
        h.wire(&args),
        "*2\r\n*4\r\n$7\r\nCatania\r\n$7\r\n56.4413\r\n:3479447370796909\r\n*2\r\n,15.08726745843887329\r\n,37.50266842333162032\r\n*4\r\n$7\r\nPalermo\r\n$8\r\n190.4424\r\n:3479099956230698\r\n*2\r\n,13.36138933897018433\r\n,38.11555639549629859\r\n"
    );
    h.resp = RespVersion::Resp2;
    assert_eq!(
        h.run(&[
            "GEOSEARCH",
            "Sicily",
            "FROMLONLAT",
            "15",
            "37",
            "BYRADIUS",
            "200",
            "km",
            "DESC"
        ]),
        bulks(&["Palermo", "Catania"])
    );
    assert_eq!(
        h.run(&[
            "GEOSEARCH",
            "Sicily",
            "FROMMEMBER",
            "Palermo",
            "BYBOX",
            "400",
            "400",
            "km",
            "COUNT",
            "1",
            "DESC"
        ]),
        bulks(&["Catania"])
    );
    assert_eq!(
        h.run(&[
            "GEORADIUSBYMEMBER",
            "Sicily",
            "Palermo",
            "200",
            "km",
            "COUNT",
            "1",
            "WITHDIST"
        ]),
        Reply::Array(vec![bulks(&["Palermo", "0.0000"])])
    );
    assert_eq!(
        h.run(&["GEORADIUSBYMEMBER_RO", "Sicily", "Palermo", "10", "km"]),
        bulks(&["Palermo"])
    );
    assert_eq!(
        h.run(&["GEORADIUS_RO", "Sicily", "0", "0", "10", "km"]),
        Reply::Array(vec![])
    );
    assert_eq!(
        h.run(&["GEORADIUS", "nokey", "0", "0", "10", "km"]),
        Reply::Array(vec![])
    );
    assert_eq!(
        h.run(&[
            "GEOSEARCH",
            "nokey",
            "FROMMEMBER",
            "x",
            "BYRADIUS",
            "1",
            "m"
        ]),
        Reply::Array(vec![])
    );
    // Searches that do not store are reads.
    assert_eq!((h.last.dirty, h.propagated().len()), (0, 0));
}

#[test]
fn search_errors_in_valkey_order() {
    let mut h = harness();
    sicily(&mut h);
    h.run(&["SET", "s", "x"]);
    let cases: &[(&[&str], &str)] = &[
        // The source's type is checked before any argument.
        (&["GEORADIUS", "s", "x", "0", "1", "km"], WRONGTYPE),
        (&["GEOSEARCH", "s", "bad", "x", "y", "z", "w"], WRONGTYPE),
        (&["GEORADIUS", "Sicily", "x", "0", "1", "km"], "ERR value is not a valid float"),
        (&["GEORADIUS", "Sicily", "200", "0", "1", "km"], "ERR invalid longitude,latitude pair 200.000000,0.000000"),
        (&["GEORADIUS", "Sicily", "0", "0", "x", "km"], "ERR need numeric radius"),
        (&["GEORADIUS", "Sicily", "0", "0", "-1", "km"], "ERR radius cannot be negative"),
        (&["GEORADIUS", "Sicily", "0", "0", "1", "au"], "ERR unsupported unit provided. please use M, KM, FT, MI"),
        (&["GEORADIUS", "Sicily", "0", "0", "1", "km", "COUNT"], SYNTAX),
        (&["GEORADIUS", "Sicily", "0", "0", "1", "km", "COUNT", "x"], "ERR value is not an integer or out of range"),
        (&["GEORADIUS", "Sicily", "0", "0", "1", "km", "COUNT", "0"], "ERR COUNT must be > 0"),
        (&["GEORADIUS", "Sicily", "0", "0", "1", "km", "ANY"], "ERR the ANY argument requires COUNT argument"),
        (&["GEORADIUS", "Sicily", "0", "0", "1", "km", "STORE"], SYNTAX),
        (&["GEORADIUS", "Sicily", "0", "0", "1", "km", "STORE", "d", "WITHHASH"], "ERR STORE option in GEORADIUS is not compatible with WITHDIST, WITHHASH and WITHCOORD options"),
        (&["GEORADIUS", "Sicily", "0", "0", "1", "km", "FROMMEMBER", "Palermo"], SYNTAX),
        (&["GEORADIUS_RO", "Sicily", "0", "0", "1", "km", "STORE", "d"], SYNTAX),
        (&["GEORADIUSBYMEMBER", "Sicily", "nope", "1", "km"], "ERR could not decode requested zset member"),
        (&["GEORADIUSBYMEMBER", "Sicily", "Palermo", "1", "km", "STOREDIST"], SYNTAX),
        (&["GEORADIUSBYMEMBER_RO", "Sicily", "Palermo", "1", "km", "STOREDIST", "d"], SYNTAX),
        (&["GEOSEARCH", "Sicily", "FROMMEMBER", "Palermo", "FROMLONLAT", "1", "1", "BYRADIUS", "1", "km"], SYNTAX),
        (&["GEOSEARCH", "Sicily", "BYRADIUS", "1", "km", "BYBOX", "1", "1", "km"], SYNTAX),
        (&["geoSearch", "Sicily", "BYRADIUS", "1", "km", "ASC", "DESC"], "ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for geoSearch"),
        (&["GEOSEARCH", "Sicily", "FROMMEMBER", "Palermo", "ASC", "WITHDIST", "DESC"], "ERR exactly one of BYRADIUS and BYBOX can be specified for GEOSEARCH"),
        (&["GEOSEARCH", "Sicily", "FROMMEMBER", "nope", "BYRADIUS", "-1", "km"], "ERR could not decode requested zset member"),
        (&["GEOSEARCH", "Sicily", "FROMMEMBER", "Palermo", "BYBOX", "x", "1", "km"], "ERR need numeric width"),
        (&["GEOSEARCH", "Sicily", "FROMMEMBER", "Palermo", "BYBOX", "1", "x", "km"], "ERR need numeric height"),
        (&["GEOSEARCH", "Sicily", "FROMMEMBER", "Palermo", "BYBOX", "1", "-1", "km"], "ERR height or width cannot be negative"),
        (&["GEOSEARCH", "Sicily", "FROMMEMBER", "Palermo", "BYRADIUS", "1", "km", "STORE", "d"], SYNTAX),
        (&["GEOSEARCH", "Sicily", "FROMMEMBER", "Palermo", "BYRADIUS", "1", "km", "STOREDIST"], SYNTAX),
        (&["GEOSEARCHSTORE", "d", "Sicily", "FROMMEMBER", "Palermo", "BYRADIUS", "1", "km", "WITHDIST"], "ERR GEOSEARCHSTORE is not compatible with WITHDIST, WITHHASH and WITHCOORD options"),
        (&["GEOSEARCHSTORE", "d", "Sicily", "FROMMEMBER", "Palermo", "BYRADIUS", "1", "km", "STORE", "e"], SYNTAX),
        // A missing source skips the member lookup (and GEORADIUSBYMEMBER's radius) but not
        // the other checks.
        (&["GEOSEARCH", "nokey", "FROMMEMBER", "nope", "BYRADIUS", "-1", "km"], "ERR radius cannot be negative"),
        (&["GEOSEARCH", "nokey", "FROMMEMBER", "nope", "ASC", "ASC", "ANY"], "ERR exactly one of BYRADIUS and BYBOX can be specified for GEOSEARCH"),
    ];
    for (args, want) in cases {
        assert_eq!(h.run(args), Reply::error(*want), "{args:?}");
    }
    assert_eq!(
        h.run(&["GEORADIUSBYMEMBER", "nokey", "nope", "-1", "km"]),
        Reply::Array(vec![])
    );
    assert_eq!(
        h.run(&["GEOSEARCH", "Sicily", "FROMLONLAT", "1", "1"]),
        Reply::error("ERR wrong number of arguments for 'geosearch' command")
    );
    assert_eq!(h.run(&["EXISTS", "d"]), Reply::Int(0));
}

#[test]
fn store_forms() {
    let mut h = harness();
    sicily(&mut h);
    let cmd = [
        "GEORADIUS",
        "Sicily",
        "15",
        "37",
        "200",
        "km",
        "STORE",
        "dst",
    ];
    assert_eq!(h.run(&cmd), Reply::Int(2));
    assert_eq!(h.last.dirty, 2);
    assert_eq!(h.propagated(), vec![strs(&cmd)]);
    assert_eq!(events(&h), ev(&[("new", "dst"), ("georadiusstore", "dst")]));
    assert_eq!(
        h.wire(&["ZRANGE", "dst", "0", "-1", "WITHSCORES"]),
        "*4\r\n$7\r\nPalermo\r\n$16\r\n3479099956230698\r\n$7\r\nCatania\r\n$16\r\n3479447370796909\r\n"
    );
    assert_eq!(encoding(&h, "dst"), "listpack");
    // STOREDIST stores the distances in the unit; the last STORE/STOREDIST wins.
    h.run(&["EXPIRE", "dst", "100"]);
    assert_eq!(
        h.run(&[
            "GEORADIUS",
            "Sicily",
            "15",
            "37",
            "200",
            "km",
            "STORE",
            "x",
            "STOREDIST",
            "dst",
            "COUNT",
            "1"
        ]),
        Reply::Int(1)
    );
    assert_eq!(events(&h), ev(&[("georadiusstore", "dst")]));
    assert_eq!(
        h.wire(&["ZRANGE", "dst", "0", "-1", "WITHSCORES"]),
        "*2\r\n$7\r\nCatania\r\n$16\r\n56.4412578701582\r\n"
    );
    assert_eq!(h.run(&["TTL", "dst"]), Reply::Int(-1));
    assert_eq!(h.run(&["EXISTS", "x"]), Reply::Int(0));
    // Nothing found: the destination is deleted.
    assert_eq!(
        h.run(&["GEORADIUS", "Sicily", "0", "0", "1", "km", "STORE", "dst"]),
        Reply::Int(0)
    );
    assert_eq!(
        (h.last.dirty, h.run(&["EXISTS", "dst"])),
        (1, Reply::Int(0))
    );
    h.run(&["GEORADIUS", "Sicily", "0", "0", "1", "km", "STORE", "dst"]);
    assert_eq!((h.last.dirty, h.propagated().len()), (0, 0));
    // A missing source deletes the destination too (GEORADIUSBYMEMBER: before its radius).
    h.run(&["SET", "dst", "x"]);
    assert_eq!(
        h.run(&[
            "GEORADIUSBYMEMBER",
            "nokey",
            "m",
            "-1",
            "km",
            "STORE",
            "dst"
        ]),
        Reply::Int(0)
    );
    assert_eq!(events(&h), ev(&[("del", "dst")]));
    assert_eq!(h.propagated().len(), 1);

    let cmd = [
        "GEOSEARCHSTORE",
        "dst",
        "Sicily",
        "FROMMEMBER",
        "Palermo",
        "BYBOX",
        "400",
        "400",
        "km",
        "DESC",
        "STOREDIST",
    ];
    assert_eq!(h.run(&cmd), Reply::Int(2));
    assert_eq!(h.propagated(), vec![strs(&cmd)]);
    assert_eq!(events(&h), ev(&[("new", "dst"), ("geosearchstore", "dst")]));
    assert_eq!(
        h.wire(&["ZRANGE", "dst", "0", "-1", "WITHSCORES"]),
        "*4\r\n$7\r\nPalermo\r\n$1\r\n0\r\n$7\r\nCatania\r\n$18\r\n166.27415156960032\r\n"
    );
    assert_eq!(
        h.run(&[
            "GEOSEARCHSTORE",
            "dst",
            "nokey",
            "FROMMEMBER",
            "a",
            "BYRADIUS",
            "1",
            "m"
        ]),
        Reply::Int(0)
    );
    assert_eq!(events(&h), ev(&[("del", "dst")]));
    // The stored set's encoding follows the sorted-set limits.
    h.settings.zset.max_entries = 1;
    h.run(&[
        "GEOSEARCHSTORE",
        "dst",
        "Sicily",
        "FROMMEMBER",
        "Palermo",
        "BYRADIUS",
        "400",
        "km",
    ]);
    assert_eq!(encoding(&h, "dst"), "skiplist");
}

#[test]
fn any_and_count() {
    let mut h = harness();
    for i in 0..20 {
        let lon = format!("{}", 10.0 + f64::from(i) * 0.01);
        h.run(&["GEOADD", "pts", &lon, "10", &format!("p{i:02}")]);
    }
    // COUNT sorts by distance; ANY stops at the first COUNT points found (unsorted).
    assert_eq!(
        h.run(&[
            "GEOSEARCH",
            "pts",
            "FROMLONLAT",
            "10.1",
            "10",
            "BYRADIUS",
            "100",
            "km",
            "COUNT",
            "3"
        ]),
        bulks(&["p10", "p09", "p11"])
    );
    let any = h.run(&[
        "GEOSEARCH",
        "pts",
        "FROMLONLAT",
        "10.1",
        "10",
        "BYRADIUS",
        "100",
        "km",
        "COUNT",
        "3",
        "ANY",
    ]);
    let Reply::Array(items) = any else {
        panic!("array")
    };
    assert_eq!(items.len(), 3);
    assert_eq!(
        h.run(&[
            "GEORADIUS",
            "pts",
            "10.1",
            "10",
            "100",
            "km",
            "COUNT",
            "2",
            "DESC"
        ]),
        bulks(&["p00", "p19"])
    );
}

#[test]
fn georadius_store_keys_are_movable() {
    let spec = commands::table::lookup(b"georadius").expect("georadius");
    let argv: Vec<Bytes> = [
        "GEORADIUS",
        "src",
        "0",
        "0",
        "1",
        "km",
        "COUNT",
        "1",
        "STORE",
        "dst",
    ]
    .iter()
    .map(|s| Bytes::copy_from_slice(s.as_bytes()))
    .collect();
    assert_eq!(spec.keys.positions(&argv), vec![1, 9]);
    let spec = commands::table::lookup(b"geosearchstore").expect("geosearchstore");
    assert_eq!(spec.keys.positions(&argv[..4]), vec![1, 2]);
}
