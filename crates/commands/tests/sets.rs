//! Set commands through the table, in process.

use bytes::Bytes;
use commands::testing::{bulk, Harness};
use resp::{Reply, RespVersion};

const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";

fn enc(h: &Harness, key: &str) -> &'static str {
    h.ks.db(0)
        .get(key.as_bytes())
        .map_or("none", |o| o.encoding())
}

fn set_of(items: &[&str]) -> Reply {
    Reply::Set(items.iter().map(|s| bulk(s)).collect())
}

fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn texts(r: &Reply) -> Vec<String> {
    let (Reply::Array(items) | Reply::Set(items)) = r else {
        panic!("not a collection: {r:?}")
    };
    items
        .iter()
        .map(|i| match i {
            Reply::Bulk(b) => String::from_utf8_lossy(b).into_owned(),
            other => panic!("not a bulk: {other:?}"),
        })
        .collect()
}

fn sorted(r: &Reply) -> Vec<String> {
    let mut v = texts(r);
    v.sort();
    v
}

/// SADD key m0 m1 ... with `prefix{i}` members for i in `range`.
fn fill(h: &mut Harness, key: &str, prefix: &str, range: std::ops::Range<usize>) {
    let mut args = vec!["SADD".to_string(), key.to_string()];
    args.extend(range.map(|i| format!("{prefix}{i}")));
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    h.run(&argv);
}

#[test]
fn sadd_srem_and_membership() {
    let mut h = Harness::new();
    assert_eq!(h.run(&["SADD", "s", "a", "b", "a"]), Reply::Int(2));
    assert_eq!(h.last.dirty, 2);
    assert_eq!(h.run(&["SADD", "s", "a"]), Reply::Int(0));
    assert!(
        h.propagated().is_empty(),
        "nothing added, nothing propagated"
    );
    assert_eq!(h.run(&["SCARD", "s"]), Reply::Int(2));
    assert_eq!(h.run(&["SCARD", "nokey"]), Reply::Int(0));
    assert_eq!(h.run(&["SISMEMBER", "s", "a"]), Reply::Int(1));
    assert_eq!(h.run(&["SISMEMBER", "s", "z"]), Reply::Int(0));
    assert_eq!(h.run(&["SISMEMBER", "nokey", "a"]), Reply::Int(0));
    assert_eq!(
        h.run(&["SMISMEMBER", "s", "a", "z", "b"]),
        Reply::Array(vec![Reply::Int(1), Reply::Int(0), Reply::Int(1)])
    );
    assert_eq!(
        h.run(&["SMISMEMBER", "nokey", "a"]),
        Reply::Array(vec![Reply::Int(0)])
    );
    assert_eq!(h.run(&["SMEMBERS", "s"]), set_of(&["a", "b"]));
    assert_eq!(h.run(&["SREM", "s", "z"]), Reply::Int(0));
    assert!(h.propagated().is_empty());
    assert_eq!(h.run(&["SREM", "s", "a", "a", "z"]), Reply::Int(1));
    assert_eq!(h.propagated(), vec![strs(&["SREM", "s", "a", "a", "z"])]);
    assert_eq!(h.run(&["SREM", "s", "b"]), Reply::Int(1));
    assert!(h.ks.db(0).get(b"s").is_none(), "an empty set is deleted");
    assert_eq!(h.run(&["SREM", "s", "b"]), Reply::Int(0));
    h.resp = RespVersion::Resp3;
    assert_eq!(h.wire(&["SMEMBERS", "nokey"]), "~0\r\n");
    h.run(&["SADD", "t", "x"]);
    assert_eq!(h.wire(&["SMEMBERS", "t"]), "~1\r\n$1\r\nx\r\n");
}

#[test]
fn every_set_command_checks_the_type() {
    let mut h = Harness::new();
    h.run(&["SET", "str", "x"]);
    h.run(&["SADD", "s", "a"]);
    let cmds: &[&[&str]] = &[
        &["SADD", "str", "a"],
        &["SREM", "str", "a"],
        &["SMEMBERS", "str"],
        &["SISMEMBER", "str", "a"],
        &["SMISMEMBER", "str", "a"],
        &["SCARD", "str"],
        &["SPOP", "str"],
        &["SPOP", "str", "2"],
        &["SRANDMEMBER", "str"],
        &["SRANDMEMBER", "str", "2"],
        &["SMOVE", "str", "s", "a"],
        &["SMOVE", "s", "str", "a"],
        &["SINTER", "s", "str"],
        &["SINTER", "nokey", "str"],
        &["SUNION", "s", "str"],
        &["SDIFF", "s", "str"],
        &["SINTERSTORE", "d", "s", "str"],
        &["SUNIONSTORE", "d", "s", "str"],
        &["SDIFFSTORE", "d", "s", "str"],
        &["SINTERCARD", "2", "s", "str"],
        &["SSCAN", "str", "0"],
    ];
    for c in cmds {
        assert_eq!(h.run(c), Reply::error(WRONGTYPE), "{c:?}");
        assert!(h.propagated().is_empty(), "{c:?}");
    }
    assert_eq!(h.run(&["SMEMBERS", "s"]), set_of(&["a"]));
    assert!(h.ks.db(0).get(b"d").is_none());
    // A store into a key of another type replaces it (setKey).
    assert_eq!(h.run(&["SUNIONSTORE", "str", "s"]), Reply::Int(1));
    assert_eq!(enc(&h, "str"), "listpack");
}

#[test]
fn encodings_follow_valkey_limits() {
    let mut h = Harness::new();
    h.run(&["SADD", "i", "3", "1", "2"]);
    assert_eq!(enc(&h, "i"), "intset");
    assert_eq!(
        h.run(&["SMEMBERS", "i"]),
        set_of(&["1", "2", "3"]),
        "intsets are sorted"
    );
    h.run(&["SADD", "i", "x"]);
    assert_eq!(enc(&h, "i"), "listpack");
    assert_eq!(h.run(&["SMEMBERS", "i"]), set_of(&["1", "2", "3", "x"]));
    h.run(&["SREM", "i", "x"]);
    assert_eq!(enc(&h, "i"), "listpack", "conversions are one-way");

    fill(&mut h, "lp", "m", 0..128);
    assert_eq!(enc(&h, "lp"), "listpack");
    h.run(&["SADD", "lp", "one-more"]);
    assert_eq!(enc(&h, "lp"), "hashtable");

    h.run(&["SADD", "long", "a"]);
    h.run(&["SADD", "long", &"x".repeat(65)]);
    assert_eq!(enc(&h, "long"), "hashtable");
    h.run(&["SADD", "first-long", &"x".repeat(64)]);
    assert_eq!(enc(&h, "first-long"), "listpack");

    fill(&mut h, "ints", "", 0..512);
    assert_eq!(enc(&h, "ints"), "intset");
    h.run(&["SADD", "ints", "512"]);
    assert_eq!(enc(&h, "ints"), "hashtable");
    fill(&mut h, "many", "", 0..513);
    assert_eq!(
        enc(&h, "many"),
        "hashtable",
        "the size hint picks the encoding"
    );
    // An intset that cannot become a listpack goes straight to a hashtable.
    fill(&mut h, "big", "", 0..200);
    h.run(&["SADD", "big", "x"]);
    assert_eq!(enc(&h, "big"), "hashtable");
    // Integers are parsed strictly.
    h.run(&["SADD", "strict", "01"]);
    assert_eq!(enc(&h, "strict"), "listpack");

    // setTypeMaybeConvert: the hint converts even when every member is already there.
    fill(&mut h, "hint", "m", 0..3);
    let mut args = vec!["SADD".to_string(), "hint".into()];
    args.extend((0..129).map(|i| format!("m{}", i % 3)));
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    assert_eq!(h.run(&argv), Reply::Int(0));
    assert_eq!(enc(&h, "hint"), "hashtable");
}

#[test]
fn listpack_keeps_order_after_removal() {
    let mut h = Harness::new();
    h.run(&["SADD", "s", "c", "a", "b", "d"]);
    h.run(&["SREM", "s", "c"]);
    assert_eq!(h.run(&["SMEMBERS", "s"]), set_of(&["a", "b", "d"]));
    assert_eq!(
        h.run(&["SSCAN", "s", "0"]),
        Reply::Array(vec![
            bulk("0"),
            Reply::Array(vec![bulk("a"), bulk("b"), bulk("d")])
        ])
    );
}

#[test]
fn spop_single_propagates_srem() {
    let mut h = Harness::new();
    assert_eq!(h.run(&["SPOP", "nokey"]), Reply::Nil);
    h.run(&["SADD", "s", "a", "b"]);
    let Reply::Bulk(first) = h.run(&["SPOP", "s"]) else {
        panic!()
    };
    let first = String::from_utf8(first.to_vec()).unwrap();
    assert_eq!(h.propagated(), vec![strs(&["SREM", "s", &first])]);
    assert_eq!(h.last.dirty, 1);
    let Reply::Bulk(second) = h.run(&["SPOP", "s"]) else {
        panic!()
    };
    assert_ne!(&second[..], first.as_bytes());
    assert!(h.ks.db(0).get(b"s").is_none());
    assert_eq!(
        h.run(&["SPOP", "s", "1", "2"]),
        Reply::error("ERR syntax error")
    );
}

#[test]
fn spop_count_edges_and_errors() {
    let mut h = Harness::new();
    let e = Reply::error("ERR value is out of range, must be positive");
    assert_eq!(h.run(&["SPOP", "s", "-1"]), e);
    assert_eq!(h.run(&["SPOP", "s", "x"]), e);
    assert_eq!(h.run(&["SPOP", "nokey", "3"]), Reply::Set(vec![]));
    h.run(&["SADD", "s", "3", "1", "2"]);
    assert_eq!(h.run(&["SPOP", "s", "0"]), Reply::Set(vec![]));
    assert!(h.propagated().is_empty());
    h.resp = RespVersion::Resp3;
    assert_eq!(h.wire(&["SPOP", "nokey", "3"]), "~0\r\n");
    // The whole set: DEL is propagated, the reply is the set (an intset: sorted).
    assert_eq!(
        h.wire(&["SPOP", "s", "5"]),
        "~3\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n"
    );
    assert_eq!(h.propagated(), vec![strs(&["DEL", "s"])]);
    assert_eq!(h.last.dirty, 3);
    assert!(h.ks.db(0).get(b"s").is_none());
    h.settings.lazyfree_lazy_server_del = true;
    h.run(&["SADD", "s", "a"]);
    h.run(&["SPOP", "s", "1"]);
    assert_eq!(h.propagated(), vec![strs(&["UNLINK", "s"])]);
}

#[test]
fn spop_count_propagates_srem_batches() {
    let mut h = Harness::new();
    fill(&mut h, "s", "m", 0..3000);
    let popped = h.run(&["SPOP", "s", "2500"]);
    let popped = sorted(&popped);
    assert_eq!(popped.len(), 2500);
    let mut dedup = popped.clone();
    dedup.dedup();
    assert_eq!(dedup.len(), 2500);
    let batches = h.propagated();
    assert_eq!(
        batches.iter().map(Vec::len).collect::<Vec<_>>(),
        vec![1026, 1026, 454]
    );
    let mut propagated: Vec<String> = batches
        .iter()
        .flat_map(|b| {
            assert_eq!(&b[..2], &strs(&["SREM", "s"])[..]);
            b[2..].to_vec()
        })
        .collect();
    propagated.sort();
    assert_eq!(propagated, popped);
    assert_eq!(h.last.dirty, 2500);
    assert_eq!(h.run(&["SCARD", "s"]), Reply::Int(500));
    for m in &popped[..10] {
        assert_eq!(h.run(&["SISMEMBER", "s", m]), Reply::Int(0));
    }
}

#[test]
fn spop_count_strategies_and_resulting_encodings() {
    let mut h = Harness::new();
    // Listpack, few popped: picks come in listpack order.
    h.run(&[
        "SADD", "lp", "a", "b", "c", "d", "e", "f", "g", "h", "i", "j",
    ]);
    let got = texts(&h.run(&["SPOP", "lp", "3"]));
    let order = "abcdefghij";
    let pos: Vec<usize> = got
        .iter()
        .map(|m| order.find(m.as_str()).unwrap())
        .collect();
    assert!(pos.windows(2).all(|w| w[0] < w[1]), "{got:?}");
    let rest = texts(&h.run(&["SMEMBERS", "lp"]));
    let pos: Vec<usize> = rest
        .iter()
        .map(|m| order.find(m.as_str()).unwrap())
        .collect();
    assert!(
        pos.windows(2).all(|w| w[0] < w[1]),
        "survivors keep their order: {rest:?}"
    );
    assert_eq!(enc(&h, "lp"), "listpack");
    // Listpack, most popped (remaining * 5 <= count).
    h.run(&["SPOP", "lp", "6"]);
    assert_eq!(h.run(&["SCARD", "lp"]), Reply::Int(1));
    assert_eq!(enc(&h, "lp"), "listpack");
    // Hashtable, most popped: the survivors form a new listpack.
    fill(&mut h, "ht", "m", 0..200);
    assert_eq!(enc(&h, "ht"), "hashtable");
    assert_eq!(texts(&h.run(&["SPOP", "ht", "190"])).len(), 190);
    assert_eq!(h.run(&["SCARD", "ht"]), Reply::Int(10));
    assert_eq!(enc(&h, "ht"), "listpack");
    // Hashtable, few popped: stays a hashtable.
    fill(&mut h, "ht2", "m", 0..200);
    h.run(&["SPOP", "ht2", "10"]);
    assert_eq!(enc(&h, "ht2"), "hashtable");
    // Intset, most popped: an intset again.
    fill(&mut h, "is", "", 0..100);
    h.run(&["SPOP", "is", "90"]);
    assert_eq!(enc(&h, "is"), "intset");
    assert_eq!(h.run(&["SCARD", "is"]), Reply::Int(10));
}

#[test]
fn srandmember_cases() {
    let mut h = Harness::new();
    assert_eq!(h.run(&["SRANDMEMBER", "nokey"]), Reply::Nil);
    assert_eq!(h.run(&["SRANDMEMBER", "nokey", "5"]), Reply::Array(vec![]));
    h.run(&["SADD", "s", "a", "b", "c"]);
    let r = h.run(&["SRANDMEMBER", "s"]);
    assert!([bulk("a"), bulk("b"), bulk("c")].contains(&r));
    assert_eq!(h.run(&["SRANDMEMBER", "s", "0"]), Reply::Array(vec![]));
    assert_eq!(
        h.run(&["SRANDMEMBER", "s", "3"]),
        Reply::Array(vec![bulk("a"), bulk("b"), bulk("c")])
    );
    assert_eq!(texts(&h.run(&["SRANDMEMBER", "s", "-7"])).len(), 7);
    for _ in 0..20 {
        let got = texts(&h.run(&["SRANDMEMBER", "s", "2"]));
        assert_eq!(got.len(), 2);
        assert!(got[0] < got[1], "listpack picks in order: {got:?}");
    }
    assert!(!h.run(&["SRANDMEMBER", "s", "-1"]).is_error());
    assert_eq!(
        h.run(&["SRANDMEMBER", "s", "x"]),
        Reply::error("ERR value is not an integer or out of range")
    );
    assert_eq!(
        h.run(&["SRANDMEMBER", "s", "-9223372036854775808"]),
        Reply::error("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807")
    );
    assert_eq!(
        h.run(&["SRANDMEMBER", "s", "1", "2"]),
        Reply::error("ERR syntax error")
    );
    h.resp = RespVersion::Resp3;
    assert!(
        h.wire(&["SRANDMEMBER", "s", "2"]).starts_with("*2\r\n"),
        "an array, not a set"
    );
    assert!(h.propagated().is_empty());
}

#[test]
fn srandmember_distinct_on_intsets_and_hashtables() {
    let mut h = Harness::new();
    fill(&mut h, "is", "", 0..300);
    fill(&mut h, "ht", "m", 0..300);
    for key in ["is", "ht"] {
        for count in ["10", "150", "299"] {
            let mut got = sorted(&h.run(&["SRANDMEMBER", key, count]));
            got.dedup();
            assert_eq!(got.len(), count.parse::<usize>().unwrap(), "{key} {count}");
        }
    }
}

#[test]
fn smove_semantics() {
    let mut h = Harness::new();
    h.run(&["SET", "str", "x"]);
    assert_eq!(
        h.run(&["SMOVE", "nosrc", "str", "a"]),
        Reply::Int(0),
        "missing source wins over a bad destination"
    );
    h.run(&["SADD", "src", "a", "b"]);
    assert_eq!(
        h.run(&["SMOVE", "src", "str", "a"]),
        Reply::error(WRONGTYPE)
    );
    assert_eq!(h.run(&["SMOVE", "src", "src", "a"]), Reply::Int(1));
    assert_eq!(h.run(&["SMOVE", "src", "src", "z"]), Reply::Int(0));
    assert!(h.propagated().is_empty());
    assert_eq!(h.run(&["SMOVE", "src", "dst", "z"]), Reply::Int(0));
    assert!(h.propagated().is_empty());
    assert_eq!(h.run(&["SMOVE", "src", "dst", "a"]), Reply::Int(1));
    assert_eq!(h.last.dirty, 2);
    assert_eq!(h.propagated(), vec![strs(&["SMOVE", "src", "dst", "a"])]);
    h.run(&["SADD", "src", "a"]);
    assert_eq!(
        h.run(&["SMOVE", "src", "dst", "a"]),
        Reply::Int(1),
        "already in the destination"
    );
    assert_eq!(h.last.dirty, 1);
    assert_eq!(h.run(&["SMOVE", "src", "dst", "b"]), Reply::Int(1));
    assert!(
        h.ks.db(0).get(b"src").is_none(),
        "emptied source is deleted"
    );
    assert_eq!(h.run(&["SMEMBERS", "dst"]), set_of(&["a", "b"]));
    h.run(&["SADD", "n", "5"]);
    h.run(&["SMOVE", "n", "newint", "5"]);
    assert_eq!(enc(&h, "newint"), "intset");
}

#[test]
fn sinter_sunion_sdiff_replies() {
    let mut h = Harness::new();
    h.run(&["SADD", "a", "1", "2", "3", "x"]);
    h.run(&["SADD", "b", "2", "3", "4"]);
    h.run(&["SADD", "i1", "5", "3", "1"]);
    h.run(&["SADD", "i2", "3", "2", "1"]);
    assert_eq!(sorted(&h.run(&["SINTER", "a", "b"])), strs(&["2", "3"]));
    assert_eq!(
        sorted(&h.run(&["SUNION", "a", "b"])),
        strs(&["1", "2", "3", "4", "x"])
    );
    assert_eq!(sorted(&h.run(&["SDIFF", "a", "b"])), strs(&["1", "x"]));
    assert_eq!(
        sorted(&h.run(&["SDIFF", "a", "nokey", "b"])),
        strs(&["1", "x"])
    );
    assert_eq!(h.run(&["SDIFF", "a", "a"]), Reply::Set(vec![]));
    assert_eq!(h.run(&["SDIFF", "nokey", "a"]), Reply::Set(vec![]));
    assert_eq!(h.run(&["SINTER", "a", "nokey"]), Reply::Set(vec![]));
    assert_eq!(
        sorted(&h.run(&["SINTER", "a", "a"])),
        strs(&["1", "2", "3", "x"])
    );
    assert_eq!(
        sorted(&h.run(&["SUNION", "nokey", "b"])),
        strs(&["2", "3", "4"])
    );
    // Intset results are sorted; SINTER walks its smallest input (the first of equal sizes).
    assert_eq!(
        h.run(&["SUNION", "i1", "i2", "nokey"]),
        set_of(&["1", "2", "3", "5"])
    );
    assert_eq!(h.run(&["SINTER", "i1", "i2"]), set_of(&["1", "3"]));
    assert_eq!(h.run(&["SDIFF", "i1", "i2"]), set_of(&["5"]));
    h.resp = RespVersion::Resp3;
    assert_eq!(h.wire(&["SINTER", "i1", "nokey"]), "~0\r\n");
    assert_eq!(h.wire(&["SDIFF", "i1", "i2"]), "~1\r\n$1\r\n5\r\n");
    assert!(h.propagated().is_empty());
}

#[test]
fn store_forms_replace_delete_and_pick_encodings() {
    let mut h = Harness::new();
    h.run(&["SADD", "a", "1", "2", "3", "x"]);
    h.run(&["SADD", "b", "2", "3", "4"]);
    h.run(&["SET", "dst", "old", "EX", "100"]);
    assert_eq!(h.run(&["SINTERSTORE", "dst", "a", "b"]), Reply::Int(2));
    assert_eq!(
        h.propagated(),
        vec![strs(&["SINTERSTORE", "dst", "a", "b"])]
    );
    assert_eq!(
        enc(&h, "dst"),
        "intset",
        "all-integer intersections become intsets"
    );
    assert_eq!(
        h.ks.db(0).get(b"dst").unwrap().expire_ms(),
        None,
        "the old TTL goes"
    );
    assert_eq!(h.run(&["SUNIONSTORE", "dst", "a", "b"]), Reply::Int(5));
    assert_eq!(enc(&h, "dst"), "listpack");
    assert_eq!(h.run(&["SDIFFSTORE", "dst", "b", "a"]), Reply::Int(1));
    assert_eq!(enc(&h, "dst"), "intset");
    assert_eq!(h.run(&["SMEMBERS", "dst"]), set_of(&["4"]));
    // Empty results delete the destination; nothing to delete means nothing propagated.
    assert_eq!(h.run(&["SINTERSTORE", "dst", "a", "nokey"]), Reply::Int(0));
    assert!(h.ks.db(0).get(b"dst").is_none());
    assert_eq!(
        h.propagated(),
        vec![strs(&["SINTERSTORE", "dst", "a", "nokey"])]
    );
    assert_eq!(h.run(&["SDIFFSTORE", "dst", "a", "a"]), Reply::Int(0));
    assert!(h.propagated().is_empty());
    assert_eq!(h.run(&["SUNIONSTORE", "dst", "nokey"]), Reply::Int(0));
    assert!(h.propagated().is_empty());
    // Large results.
    fill(&mut h, "big", "m", 0..200);
    fill(&mut h, "bigi", "", 0..600);
    assert_eq!(h.run(&["SUNIONSTORE", "dst", "big"]), Reply::Int(200));
    assert_eq!(enc(&h, "dst"), "hashtable");
    assert_eq!(h.run(&["SUNIONSTORE", "dst", "bigi"]), Reply::Int(600));
    assert_eq!(enc(&h, "dst"), "hashtable");
    assert_eq!(
        h.run(&["SINTERSTORE", "dst", "bigi", "bigi"]),
        Reply::Int(600)
    );
    assert_eq!(enc(&h, "dst"), "hashtable");
    // Hashtable inputs whose intersection is a few integers: an intset.
    let mut args = vec!["SADD".to_string(), "h1".into()];
    args.extend((0..300).map(|i| i.to_string()));
    args.push("x".into());
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    h.run(&argv);
    assert_eq!(enc(&h, "h1"), "hashtable");
    assert_eq!(
        h.run(&["SINTERSTORE", "dst", "h1", "bigi"]),
        Reply::Int(300)
    );
    assert_eq!(enc(&h, "dst"), "intset");
}

#[test]
fn sdiffstore_uses_valkeys_algorithm_choice() {
    let mut h = Harness::new();
    fill(&mut h, "first", "m", 0..200);
    fill(&mut h, "x1", "m", 0..30);
    fill(&mut h, "x2", "m", 30..60);
    fill(&mut h, "x3", "m", 60..90);
    // 200 * 4 / 2 > 200 + 90: algorithm 2 copies the first set (a hashtable) and removes.
    assert_eq!(
        h.run(&["SDIFFSTORE", "d", "first", "x1", "x2", "x3"]),
        Reply::Int(110)
    );
    assert_eq!(enc(&h, "d"), "hashtable");
    // One subtrahend: 200 * 2 / 2 <= 200 + 30, algorithm 1 adds survivors only.
    fill(&mut h, "y", "m", 0..90);
    assert_eq!(h.run(&["SDIFFSTORE", "d", "first", "y"]), Reply::Int(110));
    assert_eq!(enc(&h, "d"), "listpack");
    assert_eq!(
        sorted(&h.run(&["SDIFF", "first", "x1", "x2", "x3"])),
        sorted(&h.run(&["SDIFF", "first", "y"]))
    );
}

#[test]
fn sintercard_counts_with_limit() {
    let mut h = Harness::new();
    h.run(&["SADD", "a", "1", "2", "3", "x"]);
    h.run(&["SADD", "b", "2", "3", "4", "x"]);
    assert_eq!(h.run(&["SINTERCARD", "2", "a", "b"]), Reply::Int(3));
    assert_eq!(
        h.run(&["SINTERCARD", "2", "a", "b", "LIMIT", "2"]),
        Reply::Int(2)
    );
    assert_eq!(
        h.run(&["SINTERCARD", "2", "a", "b", "limit", "0"]),
        Reply::Int(3)
    );
    assert_eq!(
        h.run(&["SINTERCARD", "2", "a", "b", "LIMIT", "1", "LIMIT", "5"]),
        Reply::Int(3)
    );
    assert_eq!(h.run(&["SINTERCARD", "1", "a"]), Reply::Int(4));
    assert_eq!(h.run(&["SINTERCARD", "2", "a", "nokey"]), Reply::Int(0));
    let e = |s: &'static str| Reply::error(s);
    assert_eq!(
        h.run(&["SINTERCARD", "0", "a"]),
        e("ERR numkeys should be greater than 0")
    );
    assert_eq!(
        h.run(&["SINTERCARD", "x", "a"]),
        e("ERR numkeys should be greater than 0")
    );
    assert_eq!(
        h.run(&["SINTERCARD", "3", "a", "b"]),
        e("ERR Number of keys can't be greater than number of args")
    );
    assert_eq!(
        h.run(&["SINTERCARD", "1", "a", "LIMIT", "-1"]),
        e("ERR LIMIT can't be negative")
    );
    assert_eq!(
        h.run(&["SINTERCARD", "1", "a", "LIMIT", "x"]),
        e("ERR LIMIT can't be negative")
    );
    assert_eq!(
        h.run(&["SINTERCARD", "1", "a", "LIMIT"]),
        e("ERR syntax error")
    );
    assert_eq!(
        h.run(&["SINTERCARD", "1", "a", "foo"]),
        e("ERR syntax error")
    );
    assert_eq!(
        h.run(&["SINTERCARD", "1"]),
        e("ERR wrong number of arguments for 'sintercard' command")
    );
}

#[test]
fn key_positions() {
    let spec = |n: &str| commands::table::lookup(n.as_bytes()).unwrap();
    let argv = |v: &[&str]| -> Vec<Bytes> {
        v.iter()
            .map(|s| Bytes::copy_from_slice(s.as_bytes()))
            .collect()
    };
    let keys = spec("sintercard");
    assert_eq!(
        keys.keys
            .positions(&argv(&["SINTERCARD", "2", "a", "b", "LIMIT", "1"])),
        vec![2, 3]
    );
    assert_eq!(
        keys.keys.positions(&argv(&["SINTERCARD", "5", "a"])),
        vec![2]
    );
    assert_eq!(
        keys.keys.positions(&argv(&["SINTERCARD", "x", "a"])),
        Vec::<usize>::new()
    );
    assert_eq!(keys.keys.legacy(), (0, 0, 0));
    assert_eq!(
        spec("sinterstore")
            .keys
            .positions(&argv(&["SINTERSTORE", "d", "a", "b"])),
        vec![1, 2, 3]
    );
    assert_eq!(spec("sinterstore").keys.legacy(), (1, -1, 1));
    assert_eq!(
        spec("smove")
            .keys
            .positions(&argv(&["SMOVE", "a", "b", "m"])),
        vec![1, 2]
    );
    assert_eq!(spec("smove").keys.legacy(), (1, 2, 1));
    assert_eq!(spec("hset").keys.legacy(), (1, 1, 1));
}

#[test]
fn sscan_compact_and_hashtable() {
    let mut h = Harness::new();
    h.run(&["SADD", "i", "3", "1", "2"]);
    assert_eq!(
        h.run(&["SSCAN", "i", "77", "COUNT", "1"]),
        Reply::Array(vec![
            bulk("0"),
            Reply::Array(vec![bulk("1"), bulk("2"), bulk("3")])
        ])
    );
    assert_eq!(
        h.run(&["SSCAN", "i", "0", "MATCH", "[12]"]),
        Reply::Array(vec![bulk("0"), Reply::Array(vec![bulk("1"), bulk("2")])])
    );
    assert_eq!(h.wire(&["SSCAN", "nokey", "0"]), "*2\r\n$1\r\n0\r\n*0\r\n");
    assert_eq!(
        h.run(&["SSCAN", "i", "0", "NOVALUES"]),
        Reply::error("ERR NOVALUES option can only be used in HSCAN")
    );
    assert_eq!(
        h.run(&["SSCAN", "i", "0", "NOSCORES"]),
        Reply::error("ERR NOSCORES option can only be used in ZSCAN")
    );
    assert_eq!(
        h.run(&["SSCAN", "i", "0", "COUNT", "-1"]),
        Reply::error("ERR syntax error")
    );
    assert_eq!(
        h.run(&["SSCAN", "i", "z"]),
        Reply::error("ERR invalid cursor")
    );
    fill(&mut h, "ht", "m", 0..500);
    let mut cursor = "0".to_string();
    let mut seen = Vec::new();
    loop {
        let Reply::Array(parts) = h.run(&["SSCAN", "ht", &cursor]) else {
            panic!()
        };
        seen.extend(texts(&parts[1]));
        cursor = texts(&Reply::Array(vec![parts[0].clone()])).remove(0);
        if cursor == "0" {
            break;
        }
    }
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 500);
}
