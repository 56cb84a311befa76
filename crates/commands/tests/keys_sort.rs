//! SORT and SORT_RO through the table, in process. Every expected reply below was produced by
//! redis-server 7.0.15 on the same data.

use bytes::Bytes;
use commands::testing::Harness;
use commands::CommandSpec;
use keyspace::{Boxed, NewValue, Obj};
use resp::Reply;
use types::{Hash, HashLimits, List, ListLimits, Set, SetLimits, ZSet, ZSetLimits};

fn put(h: &mut Harness, key: &str, value: Boxed) {
    h.ks.put(0, Obj::new(key.as_bytes(), NewValue::Boxed(value), None));
}

fn list(elems: &[&str]) -> Boxed {
    Boxed::List(List::from_elems(
        elems.iter().map(|e| e.as_bytes()),
        ListLimits::default(),
    ))
}

fn set(members: &[&str]) -> Boxed {
    let limits = SetLimits::default();
    let mut s = Set::with_first(members[0].as_bytes(), members.len(), limits);
    for m in members {
        s.add(m.as_bytes(), limits);
    }
    Boxed::Set(s)
}

fn zset(pairs: &[(f64, &str)]) -> Boxed {
    Boxed::ZSet(ZSet::from_pairs(
        pairs.iter().map(|(s, m)| (m.as_bytes(), *s)),
        ZSetLimits::default(),
    ))
}

fn hash(pairs: &[(&str, &str)]) -> Boxed {
    Boxed::Hash(Hash::from_pairs(
        pairs.iter().map(|(f, v)| (f.as_bytes(), v.as_bytes())),
        HashLimits::default(),
    ))
}

/// Expected array of bulk strings; `~` stands for a nil.
fn arr(items: &[&str]) -> Reply {
    Reply::Array(
        items
            .iter()
            .map(|i| {
                if *i == "~" {
                    Reply::Nil
                } else {
                    Reply::bulk(i.as_bytes())
                }
            })
            .collect(),
    )
}

fn err(s: &'static str) -> Reply {
    Reply::error(s)
}

/// The list stored at `key`, as strings.
fn stored(h: &Harness, key: &str) -> Vec<String> {
    let obj = h.ks.db(0).get(key.as_bytes()).expect("stored key");
    let keyspace::ValueRef::List(l) = obj.value() else {
        panic!("not a list")
    };
    l.iter()
        .map(|e| String::from_utf8_lossy(&e.to_vec()).into_owned())
        .collect()
}

/// The list `l` = 3 1 2 10 -5 1.5 with string weights `w_*` and hash weights `o_*->f`.
fn dataset() -> Harness {
    let mut h = Harness::new();
    put(&mut h, "l", list(&["3", "1", "2", "10", "-5", "1.5"]));
    h.run(&[
        "MSET", "w_3", "30", "w_1", "10", "w_2", "20", "w_10", "5", "w_-5", "5",
    ]);
    for (k, v) in [("o_3", "c"), ("o_1", "a"), ("o_2", "b"), ("o_10", "b")] {
        put(&mut h, k, hash(&[("f", v)]));
    }
    h
}

#[test]
fn numeric_and_alpha_order_with_limit() {
    let mut h = dataset();
    assert_eq!(
        h.run(&["SORT", "l"]),
        arr(&["-5", "1", "1.5", "2", "3", "10"])
    );
    assert_eq!(
        h.run(&["SORT", "l", "DESC"]),
        arr(&["10", "3", "2", "1.5", "1", "-5"])
    );
    assert_eq!(
        h.run(&["SORT", "l", "ALPHA"]),
        arr(&["-5", "1", "1.5", "10", "2", "3"])
    );
    assert_eq!(
        h.run(&["SORT", "l", "alpha", "desc"]),
        arr(&["3", "2", "10", "1.5", "1", "-5"])
    );
    assert_eq!(h.run(&["SORT", "l", "LIMIT", "1", "2"]), arr(&["1", "1.5"]));
    assert_eq!(h.run(&["SORT", "l", "LIMIT", "-5", "2"]), arr(&["-5", "1"]));
    assert_eq!(
        h.run(&["SORT", "l", "LIMIT", "2", "-1"]),
        arr(&["1.5", "2", "3", "10"])
    );
    assert_eq!(h.run(&["SORT", "l", "LIMIT", "10", "2"]), arr(&[]));
    assert_eq!(h.run(&["SORT", "l", "LIMIT", "0", "0"]), arr(&[]));
    assert_eq!(
        h.run(&["SORT", "l", "LIMIT", "2", "9223372036854775807"]),
        arr(&["1.5", "2", "3", "10"])
    );
    assert_eq!(
        h.run(&["SORT_RO", "l", "LIMIT", "0", "2", "GET", "#", "GET", "#"]),
        arr(&["-5", "-5", "1", "1"])
    );
    assert!(h.propagated().is_empty());
    assert_eq!(h.last.dirty, 0);
}

#[test]
fn by_patterns_and_hash_fields() {
    let mut h = dataset();
    assert_eq!(
        h.run(&["SORT", "l", "BY", "w_*"]),
        arr(&["1.5", "-5", "10", "1", "2", "3"])
    );
    assert_eq!(
        h.run(&["SORT", "l", "BY", "w_*", "DESC"]),
        arr(&["3", "2", "1", "10", "-5", "1.5"])
    );
    assert_eq!(
        h.run(&["SORT", "l", "BY", "w_*", "LIMIT", "1", "3"]),
        arr(&["-5", "10", "1"])
    );
    assert_eq!(
        h.run(&["SORT", "l", "BY", "w_*", "ALPHA"]),
        arr(&["1.5", "1", "2", "3", "10", "-5"])
    );
    // Missing ALPHA weights sort first; ties keep their order.
    assert_eq!(
        h.run(&["SORT", "l", "BY", "o_*->f", "ALPHA"]),
        arr(&["-5", "1.5", "1", "2", "10", "3"])
    );
    assert_eq!(
        h.run(&["SORT", "l", "BY", "o_*->f", "ALPHA", "DESC"]),
        arr(&["3", "2", "10", "1", "-5", "1.5"])
    );
    assert_eq!(
        h.run(&["SORT", "l", "BY", "o_*->f"]),
        err("ERR One or more scores can't be converted into double")
    );
    // `->` with no field name is part of the key name.
    assert_eq!(
        h.run(&["SORT", "l", "BY", "o_*->"]),
        arr(&["-5", "1", "1.5", "10", "2", "3"])
    );
}

#[test]
fn get_patterns() {
    let mut h = dataset();
    assert_eq!(
        h.run(&["SORT", "l", "GET", "#", "GET", "w_*", "GET", "o_*->f"]),
        arr(&[
            "-5", "5", "~", "1", "10", "a", "1.5", "~", "~", "2", "20", "b", "3", "30", "c", "10",
            "5", "b"
        ])
    );
    assert_eq!(
        h.run(&["SORT", "l", "BY", "w_*", "GET", "o_*->", "GET", "w_*->f"]),
        arr(&["~"; 12])
    );
    assert_eq!(h.run(&["SORT", "l", "BY", "*", "GET", "*"]), arr(&["~"; 6]));
    assert_eq!(
        h.run(&["SORT", "l", "GET", "#", "GET", "w_"]),
        arr(&["-5", "~", "1", "~", "1.5", "~", "2", "~", "3", "~", "10", "~"])
    );
    // A weight or GET key of the wrong type counts as missing.
    put(&mut h, "li1", list(&["x"]));
    assert_eq!(
        h.run(&["SORT", "l", "LIMIT", "0", "2", "GET", "li*"]),
        arr(&["~", "~"])
    );
    assert_eq!(
        h.wire(&["SORT", "l", "LIMIT", "0", "1", "GET", "nosuch"]),
        "*1\r\n$-1\r\n"
    );
}

#[test]
fn nosort_keeps_native_order() {
    let mut h = dataset();
    assert_eq!(
        h.run(&["SORT", "l", "BY", "nosort"]),
        arr(&["3", "1", "2", "10", "-5", "1.5"])
    );
    assert_eq!(
        h.run(&["SORT", "l", "BY", "nosort", "DESC"]),
        arr(&["1.5", "-5", "10", "2", "1", "3"])
    );
    assert_eq!(
        h.run(&["SORT", "l", "BY", "nosort", "LIMIT", "1", "2"]),
        arr(&["1", "2"])
    );
    assert_eq!(
        h.run(&["SORT", "l", "BY", "nosort", "DESC", "LIMIT", "1", "2"]),
        arr(&["-5", "10"])
    );
    assert_eq!(
        h.run(&["SORT", "l", "BY", "nosort", "GET", "w_*", "LIMIT", "0", "2"]),
        arr(&["30", "10"])
    );
    // A later BY with a pattern does not undo "no sort".
    assert_eq!(
        h.run(&["SORT", "l", "BY", "nosort", "BY", "w_*"]),
        arr(&["3", "1", "2", "10", "-5", "1.5"])
    );
    put(
        &mut h,
        "z",
        zset(&[(1.0, "c"), (2.0, "a"), (3.0, "b"), (4.0, "d")]),
    );
    assert_eq!(
        h.run(&["SORT", "z", "BY", "nosort"]),
        arr(&["c", "a", "b", "d"])
    );
    assert_eq!(
        h.run(&["SORT", "z", "BY", "nosort", "DESC"]),
        arr(&["d", "b", "a", "c"])
    );
    assert_eq!(
        h.run(&["SORT", "z", "BY", "nosort", "LIMIT", "1", "2"]),
        arr(&["a", "b"])
    );
    assert_eq!(
        h.run(&["SORT", "z", "BY", "nosort", "DESC", "LIMIT", "1", "2"]),
        arr(&["b", "a"])
    );
    assert_eq!(
        h.run(&["SORT", "z", "BY", "nosort", "DESC", "LIMIT", "3", "5"]),
        arr(&["c"])
    );
    assert_eq!(
        h.run(&["SORT", "z", "BY", "nosort", "LIMIT", "4", "5"]),
        arr(&[])
    );
    assert_eq!(h.run(&["SORT", "z", "ALPHA"]), arr(&["a", "b", "c", "d"]));
    assert_eq!(
        h.run(&["SORT", "z", "ALPHA", "LIMIT", "1", "1"]),
        arr(&["b"])
    );
    put(&mut h, "st", set(&["5", "3", "9", "1"]));
    assert_eq!(
        h.run(&["SORT", "st", "BY", "nosort"]),
        arr(&["1", "3", "5", "9"])
    );
}

#[test]
fn ties_and_missing_weights() {
    let mut h = Harness::new();
    put(&mut h, "eq", list(&["b", "a", "c"]));
    h.run(&["MSET", "ew_a", "1", "ew_b", "1", "ew_c", "0"]);
    assert_eq!(h.run(&["SORT", "eq", "BY", "ew_*"]), arr(&["c", "a", "b"]));
    assert_eq!(
        h.run(&["SORT", "eq", "BY", "ew_*", "DESC"]),
        arr(&["b", "a", "c"])
    );
    assert_eq!(
        h.run(&["SORT", "eq", "BY", "nokey_*", "ALPHA"]),
        arr(&["b", "a", "c"])
    );
    assert_eq!(
        h.run(&["SORT", "eq", "BY", "nokey_*"]),
        arr(&["a", "b", "c"])
    );
    assert_eq!(
        h.run(&["SORT", "eq", "BY", "nokey_*", "DESC"]),
        arr(&["c", "b", "a"])
    );
}

#[test]
fn weights_parse_like_strtod() {
    let mut h = Harness::new();
    put(&mut h, "ws", list(&["1", "2", "3"]));
    h.run(&["MSET", "sp_1", " 5", "sp_2", "", "sp_3", "0x3"]);
    assert_eq!(h.run(&["SORT", "ws", "BY", "sp_*"]), arr(&["2", "3", "1"]));
    h.run(&["MSET", "sp_1", "inf", "sp_2", "-inf", "sp_3", "7"]);
    assert_eq!(h.run(&["SORT", "ws", "BY", "sp_*"]), arr(&["2", "3", "1"]));
    let not_double = err("ERR One or more scores can't be converted into double");
    for bad in ["5 ", "nan", "1e400", "1e-400", "1e-310", "   ", "abc"] {
        h.run(&["SET", "sp_3", bad]);
        assert_eq!(h.run(&["SORT", "ws", "BY", "sp_*"]), not_double, "{bad:?}");
    }
    put(&mut h, "bad", list(&["1", "x"]));
    assert_eq!(h.run(&["SORT", "bad"]), not_double);
    assert_eq!(h.run(&["SORT", "bad", "ALPHA"]), arr(&["1", "x"]));
}

#[test]
fn store_replaces_the_destination_with_a_list() {
    let mut h = dataset();
    h.run(&["SET", "dst", "old", "EX", "100"]);
    assert_eq!(h.run(&["SORT", "l", "STORE", "dst"]), Reply::Int(6));
    assert_eq!(h.last.dirty, 6);
    assert_eq!(h.propagated(), vec![vec!["SORT", "l", "STORE", "dst"]]);
    assert_eq!(stored(&h, "dst"), ["-5", "1", "1.5", "2", "3", "10"]);
    let obj = h.ks.db(0).get(b"dst").unwrap();
    // Valkey 8 converts a small result to listpack (Redis 7.0 kept quicklist).
    assert_eq!((obj.encoding(), obj.expire_ms()), ("listpack", None));
    assert_eq!(h.ks.db(0).expires_len(), 0);
    assert_eq!(
        h.run(&["SORT", "l", "GET", "o_*->f", "STORE", "dst"]),
        Reply::Int(6)
    );
    assert_eq!(stored(&h, "dst"), ["", "a", "", "b", "c", "b"]);
    // A conversion error stores nothing.
    put(&mut h, "bad", list(&["1", "x"]));
    assert_eq!(
        h.run(&["SORT", "bad", "STORE", "dst"]),
        err("ERR One or more scores can't be converted into double")
    );
    assert_eq!(stored(&h, "dst").len(), 6);
    // An empty result deletes the destination (and counts as a change only if it existed).
    assert_eq!(
        h.run(&["SORT", "l", "LIMIT", "0", "0", "STORE", "dst"]),
        Reply::Int(0)
    );
    assert_eq!(
        (h.last.dirty, h.run(&["EXISTS", "dst"])),
        (1, Reply::Int(0))
    );
    assert_eq!(h.run(&["SORT", "nosuch", "STORE", "dst"]), Reply::Int(0));
    assert_eq!(h.last.dirty, 0);
    assert_eq!(
        h.run(&["SORT_RO", "l", "STORE", "dst"]),
        err("ERR syntax error")
    );
}

#[test]
fn store_of_a_large_result_is_a_quicklist() {
    let mut h = Harness::new();
    let elems: Vec<String> = (0..3000).map(|i| format!("{i:05}")).collect();
    let refs: Vec<&str> = elems.iter().rev().map(String::as_str).collect();
    put(&mut h, "big", list(&refs));
    assert_eq!(h.run(&["SORT", "big", "STORE", "out"]), Reply::Int(3000));
    assert_eq!(h.ks.db(0).get(b"out").unwrap().encoding(), "quicklist");
    assert_eq!(stored(&h, "out")[..2], ["00000", "00001"]);
}

#[test]
fn unordered_sets_are_sorted_when_stored() {
    let mut h = Harness::new();
    put(&mut h, "st2", set(&["b", "a", "10", "9"]));
    assert_eq!(
        h.run(&["SORT", "st2", "BY", "nosort", "STORE", "dst", "DESC"]),
        Reply::Int(4)
    );
    assert_eq!(stored(&h, "dst"), ["b", "a", "9", "10"]);
}

#[test]
fn errors() {
    let mut h = dataset();
    h.run(&["SET", "s1", "abc"]);
    assert_eq!(
        h.run(&["SORT", "s1"]),
        err("WRONGTYPE Operation against a key holding the wrong kind of value")
    );
    assert_eq!(h.run(&["SORT", "l", "LIMIT", "1"]), err("ERR syntax error"));
    assert_eq!(h.run(&["SORT", "l", "foo"]), err("ERR syntax error"));
    assert_eq!(
        h.run(&["SORT", "l", "LIMIT", "a", "1"]),
        err("ERR value is not an integer or out of range")
    );
    assert_eq!(h.run(&["SORT", "l", "BY"]), err("ERR syntax error"));
    // Options are parsed before the key is looked up.
    assert_eq!(h.run(&["SORT", "s1", "foo"]), err("ERR syntax error"));
    assert_eq!(h.run(&["SORT", "nosuch"]), arr(&[]));
}

fn keys_of(spec: &CommandSpec, args: &[&str]) -> Vec<usize> {
    let argv: Vec<Bytes> = args
        .iter()
        .map(|a| Bytes::copy_from_slice(a.as_bytes()))
        .collect();
    spec.keys.positions(&argv)
}

#[test]
fn key_positions() {
    let sort = commands::table::lookup(b"sort").unwrap();
    assert_eq!(keys_of(sort, &["SORT", "abc", "STORE", "def"]), [1, 3]);
    assert_eq!(
        keys_of(
            sort,
            &["SORT", "abc", "store", "invalid", "store", "stillbad", "store", "def"]
        ),
        [1, 7]
    );
    assert_eq!(
        keys_of(
            sort,
            &["SORT", "abc", "BY", "store", "GET", "store", "LIMIT", "store", "x"]
        ),
        [1]
    );
    assert_eq!(keys_of(sort, &["SORT", "abc", "STORE"]), [1]);
    let sort_ro = commands::table::lookup(b"sort_ro").unwrap();
    assert_eq!(keys_of(sort_ro, &["SORT_RO", "abc", "STORE", "def"]), [1]);
}
