//! Hash commands through the table, in process.

use commands::testing::{bulk, Harness};
use resp::{Reply, RespVersion};

const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";

fn enc(h: &Harness, key: &str) -> &'static str {
    h.ks.db(0)
        .get(key.as_bytes())
        .map_or("none", |o| o.encoding())
}

fn bulks(items: &[&str]) -> Reply {
    Reply::Array(items.iter().map(|s| bulk(s)).collect())
}

fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// The bulk strings of an array reply, sorted (for order-free comparisons).
fn sorted(r: Reply) -> Vec<String> {
    let Reply::Array(items) = r else {
        panic!("not an array: {r:?}")
    };
    let mut out: Vec<String> = items
        .into_iter()
        .map(|i| match i {
            Reply::Bulk(b) => String::from_utf8_lossy(&b).into_owned(),
            other => panic!("not a bulk: {other:?}"),
        })
        .collect();
    out.sort();
    out
}

#[test]
fn hset_hget_and_friends() {
    let mut h = Harness::new();
    assert_eq!(h.run(&["HSET", "h", "a", "1", "b", "2"]), Reply::Int(2));
    assert_eq!(h.last.dirty, 2);
    assert_eq!(
        h.propagated(),
        vec![strs(&["HSET", "h", "a", "1", "b", "2"])]
    );
    assert_eq!(h.run(&["HSET", "h", "a", "10", "c", "3"]), Reply::Int(1));
    assert_eq!(h.run(&["HMSET", "h", "d", "4"]), Reply::Ok);
    assert_eq!(
        h.run(&["HSET", "h", "a"]),
        Reply::error("ERR wrong number of arguments for 'hset' command")
    );
    assert_eq!(
        h.run(&["HSET", "h", "a", "1", "b"]),
        Reply::error("ERR wrong number of arguments for 'hset' command")
    );
    assert_eq!(
        h.run(&["HMSET", "h", "a", "1", "b"]),
        Reply::error("ERR wrong number of arguments for 'hmset' command")
    );
    assert_eq!(h.run(&["HGET", "h", "a"]), bulk("10"));
    assert_eq!(h.run(&["HGET", "h", "zz"]), Reply::Nil);
    assert_eq!(h.run(&["HGET", "nokey", "a"]), Reply::Nil);
    assert_eq!(
        h.run(&["HMGET", "h", "a", "zz", "d"]),
        Reply::Array(vec![bulk("10"), Reply::Nil, bulk("4")])
    );
    assert_eq!(
        h.run(&["HMGET", "nokey", "a", "b"]),
        Reply::Array(vec![Reply::Nil, Reply::Nil])
    );
    assert_eq!(h.run(&["HLEN", "h"]), Reply::Int(4));
    assert_eq!(h.run(&["HLEN", "nokey"]), Reply::Int(0));
    assert_eq!(h.run(&["HEXISTS", "h", "b"]), Reply::Int(1));
    assert_eq!(h.run(&["HEXISTS", "h", "zz"]), Reply::Int(0));
    assert_eq!(h.run(&["HEXISTS", "nokey", "b"]), Reply::Int(0));
    assert_eq!(h.run(&["HSTRLEN", "h", "a"]), Reply::Int(2));
    assert_eq!(h.run(&["HSTRLEN", "h", "zz"]), Reply::Int(0));
    assert_eq!(h.run(&["HSTRLEN", "nokey", "a"]), Reply::Int(0));
}

#[test]
fn hsetnx_only_sets_new_fields() {
    let mut h = Harness::new();
    assert_eq!(h.run(&["HSETNX", "h", "f", "v"]), Reply::Int(1));
    assert_eq!(h.propagated(), vec![strs(&["HSETNX", "h", "f", "v"])]);
    assert_eq!(h.run(&["HSETNX", "h", "f", "w"]), Reply::Int(0));
    assert!(h.propagated().is_empty());
    assert_eq!(h.run(&["HGET", "h", "f"]), bulk("v"));
    let long = "x".repeat(65);
    assert_eq!(h.run(&["HSETNX", "h", "g", &long]), Reply::Int(1));
    assert_eq!(enc(&h, "h"), "hashtable");
}

#[test]
fn every_hash_command_checks_the_type() {
    let mut h = Harness::new();
    h.run(&["SET", "s", "x"]);
    let cmds: &[&[&str]] = &[
        &["HSET", "s", "a", "1"],
        &["HMSET", "s", "a", "1"],
        &["HSETNX", "s", "a", "1"],
        &["HGET", "s", "a"],
        &["HMGET", "s", "a"],
        &["HDEL", "s", "a"],
        &["HLEN", "s"],
        &["HEXISTS", "s", "a"],
        &["HSTRLEN", "s", "a"],
        &["HGETALL", "s"],
        &["HKEYS", "s"],
        &["HVALS", "s"],
        &["HINCRBY", "s", "a", "1"],
        &["HINCRBYFLOAT", "s", "a", "1"],
        &["HRANDFIELD", "s"],
        &["HRANDFIELD", "s", "2"],
        &["HSCAN", "s", "0"],
    ];
    for c in cmds {
        assert_eq!(h.run(c), Reply::error(WRONGTYPE), "{c:?}");
        assert!(h.propagated().is_empty(), "{c:?}");
    }
    assert_eq!(h.run(&["GET", "s"]), bulk("x"));
}

#[test]
fn listpack_converts_on_entries_and_lengths() {
    let mut h = Harness::new();
    // Valkey 8's default hash-max-listpack-entries is 512.
    for i in 0..512 {
        h.run(&["HSET", "h", &format!("f{i}"), "v"]);
    }
    assert_eq!(enc(&h, "h"), "listpack");
    h.run(&["HSET", "h", "f512", "v"]);
    assert_eq!(enc(&h, "h"), "hashtable");
    h.run(&["HDEL", "h", "f512", "f511"]);
    assert_eq!(enc(&h, "h"), "hashtable", "conversions are one-way");

    h.run(&["HSET", "v", "f", &"x".repeat(64)]);
    assert_eq!(enc(&h, "v"), "listpack");
    h.run(&["HSET", "v", "g", &"x".repeat(65)]);
    assert_eq!(enc(&h, "v"), "hashtable");
    h.run(&["HSET", "k", &"x".repeat(65), "1"]);
    assert_eq!(enc(&h, "k"), "hashtable");

    // hashTypeTryConversion counts argument pairs, not distinct fields.
    let mut args = vec!["HSET".to_string(), "dup".into()];
    for i in 0..513 {
        args.push("same".into());
        args.push(i.to_string());
    }
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    assert_eq!(h.run(&argv), Reply::Int(1));
    assert_eq!(h.run(&["HLEN", "dup"]), Reply::Int(1));
    assert_eq!(enc(&h, "dup"), "hashtable");

    h.settings.hash.max_entries = 2;
    h.run(&["HSET", "small", "a", "1", "b", "2"]);
    assert_eq!(enc(&h, "small"), "listpack");
    h.run(&["HINCRBY", "small", "c", "1"]);
    assert_eq!(enc(&h, "small"), "hashtable");
}

#[test]
fn hdel_deletes_the_empty_hash() {
    let mut h = Harness::new();
    h.run(&["HSET", "h", "a", "1", "b", "2"]);
    assert_eq!(h.run(&["HDEL", "h", "zz"]), Reply::Int(0));
    assert!(h.propagated().is_empty());
    assert_eq!(h.run(&["HDEL", "h", "a", "a", "zz"]), Reply::Int(1));
    assert_eq!(h.last.dirty, 1);
    assert_eq!(h.run(&["HDEL", "h", "b", "c"]), Reply::Int(1));
    assert!(h.ks.db(0).get(b"h").is_none());
    assert_eq!(h.run(&["HDEL", "h", "b"]), Reply::Int(0));
}

#[test]
fn hincrby_counts_and_checks() {
    let mut h = Harness::new();
    assert_eq!(h.run(&["HINCRBY", "h", "n", "5"]), Reply::Int(5));
    assert_eq!(h.run(&["HINCRBY", "h", "n", "-7"]), Reply::Int(-2));
    assert_eq!(h.propagated(), vec![strs(&["HINCRBY", "h", "n", "-7"])]);
    assert_eq!(
        h.run(&["HINCRBY", "h", "n", "x"]),
        Reply::error("ERR value is not an integer or out of range")
    );
    assert_eq!(
        h.run(&["HINCRBY", "new", "n", "x"]),
        Reply::error("ERR value is not an integer or out of range")
    );
    assert!(h.ks.db(0).get(b"new").is_none());
    h.run(&[
        "HSET",
        "h",
        "s",
        "abc",
        "big",
        "9223372036854775800",
        "sp",
        " 1",
    ]);
    assert_eq!(
        h.run(&["HINCRBY", "h", "s", "1"]),
        Reply::error("ERR hash value is not an integer")
    );
    assert_eq!(
        h.run(&["HINCRBY", "h", "sp", "1"]),
        Reply::error("ERR hash value is not an integer")
    );
    assert_eq!(h.run(&["HINCRBY", "h", "big", "7"]), Reply::Int(i64::MAX));
    assert_eq!(
        h.run(&["HINCRBY", "h", "big", "1"]),
        Reply::error("ERR increment or decrement would overflow")
    );
    h.run(&["HSET", "h", "low", "-9223372036854775808"]);
    assert_eq!(
        h.run(&["HINCRBY", "h", "low", "-1"]),
        Reply::error("ERR increment or decrement would overflow")
    );
    assert!(h.propagated().is_empty());
    assert_eq!(h.run(&["HGET", "h", "big"]), bulk("9223372036854775807"));
}

#[test]
fn hincrbyfloat_propagates_hset_with_the_result() {
    let mut h = Harness::new();
    assert_eq!(h.run(&["HINCRBYFLOAT", "h", "f", "10.5"]), bulk("10.5"));
    assert_eq!(h.run(&["HINCRBYFLOAT", "h", "f", "0.1"]), bulk("10.6"));
    assert_eq!(h.propagated(), vec![strs(&["HSET", "h", "f", "10.6"])]);
    assert_eq!(h.run(&["HINCRBYFLOAT", "h", "f", "-5e0"]), bulk("5.6"));
    h.run(&["HSET", "h", "i", "3"]);
    assert_eq!(h.run(&["HINCRBYFLOAT", "h", "i", "2"]), bulk("5"));
    assert_eq!(
        h.run(&["HINCRBYFLOAT", "h", "f", "abc"]),
        Reply::error("ERR value is not a valid float")
    );
    assert_eq!(
        h.run(&["HINCRBYFLOAT", "h", "f", "inf"]),
        Reply::error("ERR value is NaN or Infinity")
    );
    assert_eq!(
        h.run(&["HINCRBYFLOAT", "h", "f", "nan"]),
        Reply::error("ERR value is not a valid float")
    );
    // Stored values are read as strtold reads them ("inf" and hex floats included).
    h.run(&[
        "HSET", "h", "s", "abc", "huge", "inf", "hex", "0x10", "sp", " 1",
    ]);
    assert_eq!(h.run(&["HINCRBYFLOAT", "h", "hex", "1"]), bulk("17"));
    assert_eq!(
        h.run(&["HINCRBYFLOAT", "h", "sp", "1"]),
        Reply::error("ERR hash value is not a float")
    );
    assert_eq!(
        h.run(&["HINCRBYFLOAT", "h", "s", "1"]),
        Reply::error("ERR hash value is not a float")
    );
    assert_eq!(
        h.run(&["HINCRBYFLOAT", "h", "huge", "1"]),
        Reply::error("ERR increment would produce NaN or Infinity")
    );
    assert!(h.propagated().is_empty());
    assert!(h.ks.db(0).get(b"none").is_none());
    assert_eq!(
        h.run(&["HINCRBYFLOAT", "none", "f", "inf"]),
        Reply::error("ERR value is NaN or Infinity")
    );
    assert!(h.ks.db(0).get(b"none").is_none());
}

#[test]
fn whole_hash_reads_in_resp2_and_resp3() {
    let mut h = Harness::new();
    h.run(&["HSET", "h", "a", "1", "b", "2"]);
    assert_eq!(
        h.wire(&["HGETALL", "h"]),
        "*4\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n"
    );
    assert_eq!(h.wire(&["HGETALL", "nokey"]), "*0\r\n");
    assert_eq!(h.run(&["HKEYS", "h"]), bulks(&["a", "b"]));
    assert_eq!(h.run(&["HVALS", "h"]), bulks(&["1", "2"]));
    assert_eq!(h.run(&["HKEYS", "nokey"]), Reply::Array(vec![]));
    assert_eq!(h.run(&["HVALS", "nokey"]), Reply::Array(vec![]));
    h.resp = RespVersion::Resp3;
    assert_eq!(
        h.wire(&["HGETALL", "h"]),
        "%2\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n"
    );
    assert_eq!(h.wire(&["HGETALL", "nokey"]), "%0\r\n");
    assert_eq!(h.wire(&["HGET", "nokey", "a"]), "_\r\n");
    assert_eq!(h.wire(&["HKEYS", "nokey"]), "*0\r\n");
}

#[test]
fn listpack_keeps_insertion_order_through_updates_and_deletes() {
    let mut h = Harness::new();
    h.run(&["HSET", "h", "c", "1", "a", "2", "b", "3"]);
    h.run(&["HSET", "h", "a", "20"]);
    h.run(&["HDEL", "h", "c"]);
    h.run(&["HSET", "h", "c", "30"]);
    assert_eq!(h.run(&["HKEYS", "h"]), bulks(&["a", "b", "c"]));
    assert_eq!(h.run(&["HVALS", "h"]), bulks(&["20", "3", "30"]));
}

#[test]
fn hrandfield_without_count() {
    let mut h = Harness::new();
    assert_eq!(h.run(&["HRANDFIELD", "nokey"]), Reply::Nil);
    h.run(&["HSET", "h", "a", "1", "b", "2", "c", "3"]);
    for _ in 0..20 {
        let r = h.run(&["HRANDFIELD", "h"]);
        assert!([bulk("a"), bulk("b"), bulk("c")].contains(&r), "{r:?}");
    }
}

#[test]
fn hrandfield_count_cases() {
    let mut h = Harness::new();
    h.run(&["HSET", "h", "a", "1", "b", "2", "c", "3"]);
    assert_eq!(h.run(&["HRANDFIELD", "h", "0"]), Reply::Array(vec![]));
    assert_eq!(h.run(&["HRANDFIELD", "nokey", "3"]), Reply::Array(vec![]));
    assert_eq!(
        h.run(&["HRANDFIELD", "nokey", "3", "WITHVALUES"]),
        Reply::Array(vec![])
    );
    // Not larger than the count: the whole hash, in order.
    assert_eq!(h.run(&["HRANDFIELD", "h", "3"]), bulks(&["a", "b", "c"]));
    assert_eq!(
        h.run(&["HRANDFIELD", "h", "10", "withvalues"]),
        bulks(&["a", "1", "b", "2", "c", "3"])
    );
    // Listpack sampling keeps listpack order and never repeats.
    for _ in 0..20 {
        let Reply::Array(items) = h.run(&["HRANDFIELD", "h", "2"]) else {
            panic!()
        };
        assert_eq!(items.len(), 2);
        let pos: Vec<usize> = items
            .iter()
            .map(|r| {
                [bulk("a"), bulk("b"), bulk("c")]
                    .iter()
                    .position(|x| x == r)
                    .unwrap()
            })
            .collect();
        assert!(pos[0] < pos[1], "{pos:?}");
    }
    // Negative: that many, repetitions allowed.
    let Reply::Array(items) = h.run(&["HRANDFIELD", "h", "-10"]) else {
        panic!()
    };
    assert_eq!(items.len(), 10);
    let Reply::Array(items) = h.run(&["HRANDFIELD", "h", "-5", "WITHVALUES"]) else {
        panic!()
    };
    assert_eq!(items.len(), 10);
    for pair in items.chunks(2) {
        let expected = match &pair[0] {
            Reply::Bulk(f) if &f[..] == b"a" => bulk("1"),
            Reply::Bulk(f) if &f[..] == b"b" => bulk("2"),
            _ => bulk("3"),
        };
        assert_eq!(pair[1], expected);
    }
}

#[test]
fn hrandfield_resp3_pairs() {
    let mut h = Harness::new();
    h.run(&["HSET", "h", "a", "1"]);
    h.resp = RespVersion::Resp3;
    assert_eq!(
        h.wire(&["HRANDFIELD", "h", "1", "WITHVALUES"]),
        "*1\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n"
    );
    assert_eq!(
        h.wire(&["HRANDFIELD", "h", "-2", "WITHVALUES"]),
        "*2\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n"
    );
    assert_eq!(
        h.wire(&["HRANDFIELD", "h", "-2"]),
        "*2\r\n$1\r\na\r\n$1\r\na\r\n"
    );
    assert_eq!(h.wire(&["HRANDFIELD", "nokey"]), "_\r\n");
    h.resp = RespVersion::Resp2;
    assert_eq!(
        h.wire(&["HRANDFIELD", "h", "1", "WITHVALUES"]),
        "*2\r\n$1\r\na\r\n$1\r\n1\r\n"
    );
}

#[test]
fn hrandfield_on_a_hashtable_is_distinct() {
    let mut h = Harness::new();
    for i in 0..600 {
        h.run(&["HSET", "h", &format!("f{i}"), &i.to_string()]);
    }
    assert_eq!(enc(&h, "h"), "hashtable");
    for count in ["10", "300", "599"] {
        let got = sorted(h.run(&["HRANDFIELD", "h", count]));
        let n: usize = count.parse().unwrap();
        assert_eq!(got.len(), n);
        let mut dedup = got.clone();
        dedup.dedup();
        assert_eq!(dedup.len(), n, "distinct fields for count {count}");
    }
    let Reply::Array(items) = h.run(&["HRANDFIELD", "h", "50", "WITHVALUES"]) else {
        panic!()
    };
    for pair in items.chunks(2) {
        let (Reply::Bulk(f), Reply::Bulk(v)) = (&pair[0], &pair[1]) else {
            panic!()
        };
        assert_eq!(&f[1..], &v[..], "value belongs to its field");
    }
}

#[test]
fn hrandfield_errors() {
    let mut h = Harness::new();
    h.run(&["HSET", "h", "a", "1"]);
    assert_eq!(
        h.run(&["HRANDFIELD", "h", "x"]),
        Reply::error("ERR value is not an integer or out of range")
    );
    assert_eq!(
        h.run(&["HRANDFIELD", "h", "-9223372036854775808"]),
        Reply::error("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807")
    );
    assert_eq!(
        h.run(&["HRANDFIELD", "h", "1", "WITHVALUE"]),
        Reply::error("ERR syntax error")
    );
    assert_eq!(
        h.run(&["HRANDFIELD", "h", "1", "WITHVALUES", "x"]),
        Reply::error("ERR syntax error")
    );
    assert_eq!(
        h.run(&["HRANDFIELD", "h", "5000000000000000000", "WITHVALUES"]),
        Reply::error("ERR value is out of range")
    );
    assert_eq!(
        h.run(&["HRANDFIELD", "h", "-5000000000000000000", "WITHVALUES"]),
        Reply::error("ERR value is out of range")
    );
    // Argument errors come before the key lookup.
    assert_eq!(
        h.run(&["HRANDFIELD", "nokey", "1", "x"]),
        Reply::error("ERR syntax error")
    );
}

#[test]
fn hscan_listpack_and_options() {
    let mut h = Harness::new();
    h.run(&["HSET", "h", "a1", "1", "b1", "2", "a2", "3"]);
    assert_eq!(
        h.run(&["HSCAN", "h", "0"]),
        Reply::Array(vec![bulk("0"), bulks(&["a1", "1", "b1", "2", "a2", "3"])])
    );
    assert_eq!(
        h.run(&["HSCAN", "h", "123", "MATCH", "a*", "COUNT", "1"]),
        Reply::Array(vec![bulk("0"), bulks(&["a1", "1", "a2", "3"])])
    );
    assert_eq!(
        h.run(&["HSCAN", "h", "0", "novalues", "match", "*"]),
        Reply::Array(vec![bulk("0"), bulks(&["a1", "b1", "a2"])])
    );
    assert_eq!(h.wire(&["HSCAN", "nokey", "0"]), "*2\r\n$1\r\n0\r\n*0\r\n");
    // Options are only looked at once the key exists.
    assert_eq!(
        h.wire(&["HSCAN", "nokey", "0", "COUNT", "0"]),
        "*2\r\n$1\r\n0\r\n*0\r\n"
    );
    let e = |s: &'static str| Reply::error(s);
    assert_eq!(h.run(&["HSCAN", "h", "x"]), e("ERR invalid cursor"));
    assert_eq!(h.run(&["HSCAN", "h", "-1"]), e("ERR invalid cursor"));
    assert_eq!(h.run(&["HSCAN", "nokey", "x"]), e("ERR invalid cursor"));
    assert_eq!(
        h.run(&["HSCAN", "h", "0", "COUNT", "0"]),
        e("ERR syntax error")
    );
    assert_eq!(
        h.run(&["HSCAN", "h", "0", "COUNT", "x"]),
        e("ERR value is not an integer or out of range")
    );
    assert_eq!(h.run(&["HSCAN", "h", "0", "COUNT"]), e("ERR syntax error"));
    assert_eq!(h.run(&["HSCAN", "h", "0", "MATCH"]), e("ERR syntax error"));
    assert_eq!(
        h.run(&["HSCAN", "h", "0", "NOSCORES"]),
        e("ERR NOSCORES option can only be used in ZSCAN")
    );
    assert_eq!(
        h.run(&["HSCAN", "h", "0", "TYPE", "string"]),
        e("ERR syntax error")
    );
}

#[test]
fn hscan_walks_a_hashtable_completely() {
    let mut h = Harness::new();
    for i in 0..1000 {
        h.run(&["HSET", "h", &format!("f{i}"), &format!("v{i}")]);
    }
    let mut cursor = "0".to_string();
    let mut seen = std::collections::HashSet::new();
    let mut calls = 0;
    loop {
        let Reply::Array(parts) = h.run(&["HSCAN", "h", &cursor, "COUNT", "50"]) else {
            panic!()
        };
        let Reply::Bulk(c) = &parts[0] else { panic!() };
        let Reply::Array(items) = &parts[1] else {
            panic!()
        };
        for pair in items.chunks(2) {
            let (Reply::Bulk(f), Reply::Bulk(v)) = (&pair[0], &pair[1]) else {
                panic!()
            };
            assert_eq!(&f[1..], &v[1..]);
            seen.insert(f.clone());
        }
        cursor = String::from_utf8(c.to_vec()).unwrap();
        calls += 1;
        if cursor == "0" {
            break;
        }
        assert!(calls < 1000, "scan does not terminate");
    }
    assert_eq!(seen.len(), 1000);
    assert!(calls > 1, "a hashtable is walked in steps");
    let Reply::Array(parts) = h.run(&[
        "HSCAN", "h", "0", "COUNT", "2000", "NOVALUES", "MATCH", "f99*",
    ]) else {
        panic!()
    };
    assert_eq!(
        sorted(parts[1].clone()),
        strs(&[
            "f99", "f990", "f991", "f992", "f993", "f994", "f995", "f996", "f997", "f998", "f999"
        ])
    );
}

#[test]
fn expired_hash_reads_as_missing() {
    let mut h = Harness::new();
    h.run(&["HSET", "h", "a", "1"]);
    h.ks.set_expire(0, b"h", Some(h.ks.now_ms + 100));
    h.run(&["HSET", "h", "b", "2"]);
    assert_eq!(
        h.ks.db(0).get(b"h").unwrap().expire_ms(),
        Some(h.ks.now_ms + 100),
        "writes keep the TTL"
    );
    h.advance_ms(101);
    assert_eq!(h.run(&["HLEN", "h"]), Reply::Int(0));
    assert_eq!(h.run(&["HSET", "h", "c", "3"]), Reply::Int(1));
    assert_eq!(h.run(&["HKEYS", "h"]), bulks(&["c"]));
}
