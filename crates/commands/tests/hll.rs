//! HyperLogLog commands through the table, in process. Replies and what is propagated were
//! checked against redis-server 7.0.15 (propagation through its AOF).

use bytes::Bytes;
use commands::testing::{bulk, Harness};
use keyspace::{Boxed, NewValue, Obj};
use resp::Reply;
use types::{List, ListLimits};

const HLL_WRONGTYPE: &str = "WRONGTYPE Key is not a valid HyperLogLog string value.";
const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";
const CORRUPT: &str = "INVALIDOBJ Corrupted HLL object detected";

fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// SET with a binary value.
fn set_bytes(h: &mut Harness, key: &str, value: &[u8]) {
    let argv = [
        Bytes::from_static(b"SET"),
        Bytes::copy_from_slice(key.as_bytes()),
        Bytes::copy_from_slice(value),
    ];
    assert_eq!(h.run_argv(&argv), Reply::Ok);
}

fn value(h: &Harness, key: &str) -> Vec<u8> {
    h.ks.db(0)
        .get(key.as_bytes())
        .unwrap()
        .string_bytes()
        .unwrap()
        .into_owned()
}

fn put_list(h: &mut Harness, key: &str) {
    let list = List::from_elems([&b"x"[..]], ListLimits::default());
    h.ks.put(
        0,
        Obj::new(key.as_bytes(), NewValue::Boxed(Boxed::List(list)), None),
    );
}

#[test]
fn pfadd_creates_and_updates() {
    let mut h = Harness::new();
    assert_eq!(h.run(&["PFADD", "h"]), Reply::Int(1));
    assert_eq!(h.last.dirty, 1);
    assert_eq!(h.ks.db(0).get(b"h").unwrap().encoding(), "raw");
    assert_eq!(value(&h, "h").len(), 18);
    assert_eq!(h.run(&["PFADD", "h"]), Reply::Int(0));
    assert!(h.propagated().is_empty());
    assert_eq!(h.run(&["PFADD", "h", "a", "b", "a"]), Reply::Int(1));
    assert_eq!(
        h.last.dirty, 2,
        "one change per element that changed a register"
    );
    assert_eq!(h.propagated(), vec![strs(&["PFADD", "h", "a", "b", "a"])]);
    assert_eq!(h.run(&["PFADD", "h", "a"]), Reply::Int(0));
    assert!(h.propagated().is_empty());
    assert_eq!(h.run(&["PFADD", "n", "x", "y"]), Reply::Int(1));
    assert_eq!(h.last.dirty, 3);
    assert_eq!(
        h.run(&["PFADD"]),
        Reply::error("ERR wrong number of arguments for 'pfadd' command")
    );
}

#[test]
fn pfadd_keeps_the_ttl() {
    let mut h = Harness::new();
    h.run(&["PFADD", "h", "a"]);
    h.run(&["EXPIRE", "h", "100"]);
    h.run(&["PFADD", "h", "b", "c"]);
    assert_eq!(h.run(&["TTL", "h"]), Reply::Int(100));
}

#[test]
fn type_errors() {
    let mut h = Harness::new();
    h.run(&["SET", "s", "abc"]);
    h.run(&["SET", "n", "12345"]);
    put_list(&mut h, "l");
    h.run(&["PFADD", "h", "a", "b"]);
    let hll_wt = Reply::error(HLL_WRONGTYPE);
    assert_eq!(h.run(&["PFADD", "s"]), hll_wt);
    assert_eq!(h.run(&["PFADD", "n", "x"]), hll_wt);
    assert_eq!(h.run(&["PFADD", "l", "x"]), Reply::error(WRONGTYPE));
    assert_eq!(h.run(&["PFCOUNT", "l"]), Reply::error(WRONGTYPE));
    assert_eq!(h.run(&["PFCOUNT", "h", "l"]), Reply::error(WRONGTYPE));
    assert_eq!(h.run(&["PFCOUNT", "h", "s"]), hll_wt);
    assert_eq!(h.run(&["PFMERGE", "s", "h"]), hll_wt);
    assert_eq!(h.run(&["PFMERGE", "h", "s"]), hll_wt);
    assert_eq!(
        h.run(&["PFMERGE", "h", "l", "s"]),
        Reply::error(WRONGTYPE),
        "first bad key wins"
    );
    assert_eq!(h.run(&["PFDEBUG", "GETREG", "s"]), hll_wt);
    assert_eq!(h.run(&["GET", "s"]), bulk("abc"));
}

#[test]
fn pfcount_refreshes_and_propagates_the_cache_once() {
    let mut h = Harness::new();
    assert_eq!(h.run(&["PFCOUNT", "nosuch"]), Reply::Int(0));
    h.run(&["PFADD", "h", "a", "b", "c"]);
    assert_eq!(h.run(&["PFCOUNT", "h"]), Reply::Int(3));
    assert_eq!(h.last.dirty, 1);
    assert_eq!(h.propagated(), vec![strs(&["PFCOUNT", "h"])]);
    assert_eq!(h.run(&["PFCOUNT", "h"]), Reply::Int(3));
    assert!(h.propagated().is_empty());
    // Several keys: the union, caches untouched, nothing propagated.
    h.run(&["PFADD", "g", "c", "d"]);
    let before = value(&h, "g");
    assert_eq!(h.run(&["PFCOUNT", "h", "g", "nosuch"]), Reply::Int(4));
    assert_eq!(h.run(&["PFCOUNT", "h", "h"]), Reply::Int(3));
    assert!(h.propagated().is_empty());
    assert_eq!(value(&h, "g"), before);
}

#[test]
fn pfcount_stores_the_cache_of_a_set_value() {
    let mut h = Harness::new();
    // Valid empty sparse HyperLogLog with a stale cache, written with SET (embstr).
    set_bytes(&mut h, "c", &hex("48594c4c0100000000000000000000807fff"));
    assert_eq!(h.ks.db(0).get(b"c").unwrap().encoding(), "embstr");
    assert_eq!(h.run(&["PFCOUNT", "c"]), Reply::Int(0));
    assert_eq!(h.last.dirty, 1);
    assert_eq!(value(&h, "c"), hex("48594c4c0100000000000000000000007fff"));
    assert_eq!(h.ks.db(0).get(b"c").unwrap().encoding(), "raw");
    assert_eq!(h.run(&["PFADD", "c", "a"]), Reply::Int(1));
    assert_eq!(
        h.run(&["PFDEBUG", "DECODE", "c"]),
        bulk("Z:12711 v:2,1 Z:3672")
    );
}

#[test]
fn corrupted_values() {
    let mut h = Harness::new();
    set_bytes(&mut h, "c", &hex("48594c4c0100000000000000000000800000"));
    let corrupt = Reply::error(CORRUPT);
    assert_eq!(h.run(&["PFCOUNT", "c"]), corrupt);
    assert_eq!(h.last.dirty, 0);
    assert_eq!(h.run(&["PFADD", "c", "a"]), corrupt);
    assert!(h.propagated().is_empty());
    assert_eq!(h.run(&["PFCOUNT", "c", "c"]), corrupt);
    assert_eq!(h.run(&["PFMERGE", "m", "c"]), corrupt);
    assert_eq!(h.run(&["EXISTS", "m"]), Reply::Int(0));
    assert_eq!(h.run(&["PFDEBUG", "TODENSE", "c"]), corrupt);
}

#[test]
fn pfmerge() {
    let mut h = Harness::new();
    h.run(&["PFADD", "a", "x", "y"]);
    h.run(&["PFADD", "b", "y", "z"]);
    assert_eq!(h.run(&["PFMERGE", "m", "a", "b", "nosuch"]), Reply::Ok);
    assert_eq!(
        h.propagated(),
        vec![strs(&["PFMERGE", "m", "a", "b", "nosuch"])]
    );
    assert_eq!(h.run(&["PFCOUNT", "m"]), Reply::Int(3));
    assert_eq!(
        h.run(&["PFDEBUG", "ENCODING", "m"]),
        Reply::status("sparse")
    );
    // The destination is a source too, and keeps its TTL.
    h.run(&["PFADD", "c", "w"]);
    h.run(&["EXPIRE", "m", "100"]);
    assert_eq!(h.run(&["PFMERGE", "m", "c"]), Reply::Ok);
    assert_eq!(h.run(&["PFCOUNT", "m"]), Reply::Int(4));
    assert_eq!(h.run(&["TTL", "m"]), Reply::Int(100));
    // No sources: an empty HyperLogLog with a stale cache.
    assert_eq!(h.run(&["PFMERGE", "e"]), Reply::Ok);
    assert_eq!(h.last.dirty, 1);
    assert_eq!(value(&h, "e"), hex("48594c4c0100000000000000000000807fff"));
    // A dense source makes the result dense.
    h.run(&["PFDEBUG", "TODENSE", "a"]);
    assert_eq!(h.run(&["PFMERGE", "d", "a"]), Reply::Ok);
    assert_eq!(h.run(&["PFDEBUG", "ENCODING", "d"]), Reply::status("dense"));
    assert_eq!(h.run(&["PFCOUNT", "d"]), Reply::Int(2));
}

#[test]
fn pfadd_promotes_to_dense_past_the_sparse_limit() {
    let mut h = Harness::new();
    h.settings.hll_sparse_max_bytes = 100;
    let elems: Vec<String> = (0..200).map(|i| format!("e{i}")).collect();
    let mut args = vec!["PFADD", "h"];
    args.extend(elems.iter().map(String::as_str));
    assert_eq!(h.run(&args), Reply::Int(1));
    assert_eq!(h.run(&["PFDEBUG", "ENCODING", "h"]), Reply::status("dense"));
    assert_eq!(value(&h, "h").len(), types::hll::HLL_DENSE_SIZE);
    let Reply::Int(n) = h.run(&["PFCOUNT", "h"]) else {
        panic!()
    };
    assert!((195..=205).contains(&n), "{n}");
}

#[test]
fn pfdebug() {
    let mut h = Harness::new();
    h.run(&["PFADD", "h", "a", "b"]);
    assert_eq!(
        h.run(&["PFDEBUG", "ENCODING", "h"]),
        Reply::status("sparse")
    );
    assert_eq!(
        h.run(&["PFDEBUG", "DECODE", "h"]),
        bulk("Z:12711 v:2,1 Z:3068 v:1,1 Z:603")
    );
    assert!(h.propagated().is_empty());
    assert_eq!(
        h.run(&["PFDEBUG", "foo", "h"]),
        Reply::error("ERR Unknown PFDEBUG subcommand 'foo'")
    );
    assert_eq!(
        h.run(&["PFDEBUG", "foo", "nosuch"]),
        Reply::error("ERR The specified key does not exist")
    );
    let Reply::Array(regs) = h.run(&["PFDEBUG", "GETREG", "h"]) else {
        panic!()
    };
    assert_eq!(regs.len(), 16384);
    assert_eq!(
        (regs[12711].clone(), regs[15780].clone()),
        (Reply::Int(2), Reply::Int(1))
    );
    assert_eq!(regs.iter().filter(|r| **r != Reply::Int(0)).count(), 2);
    assert_eq!(
        h.propagated(),
        vec![strs(&["PFDEBUG", "GETREG", "h"])],
        "the conversion propagates"
    );
    assert_eq!(h.run(&["PFDEBUG", "TODENSE", "h"]), Reply::Int(0));
    assert!(h.propagated().is_empty());
    assert_eq!(
        h.run(&["PFDEBUG", "DECODE", "h"]),
        Reply::error("ERR HLL encoding is not sparse")
    );
    assert_eq!(h.run(&["PFDEBUG", "ENCODING", "h"]), Reply::status("dense"));
    h.run(&["PFADD", "g", "a"]);
    assert_eq!(h.run(&["PFDEBUG", "todense", "g"]), Reply::Int(1));
    assert_eq!(h.last.dirty, 1);
    assert_eq!(h.run(&["PFCOUNT", "g"]), Reply::Int(1));
    assert_eq!(
        h.run(&["PFDEBUG", "GETREG"]),
        Reply::error("ERR wrong number of arguments for 'pfdebug' command")
    );
}

#[test]
fn pfselftest() {
    let mut h = Harness::new();
    assert_eq!(h.run(&["PFSELFTEST"]), Reply::Ok);
    assert!(h.propagated().is_empty());
    assert_eq!(
        h.run(&["PFSELFTEST", "x"]),
        Reply::error("ERR wrong number of arguments for 'pfselftest' command")
    );
}
