//! Generic key commands through the table, in process. Expected replies were checked against
//! redis-server 7.0.15 (and Valkey 8 sources where they differ, as noted).

use commands::testing::{bulk, Harness};
use keyspace::{Boxed, NewValue, Obj};
use resp::{Reply, RespVersion};
use types::{Hash, HashLimits, List, ListLimits, Set, SetLimits};

fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn put_list(h: &mut Harness, db: usize, key: &str, elems: &[&str]) {
    let list = List::from_elems(elems.iter().map(|e| e.as_bytes()), ListLimits::default());
    h.ks.put(
        db,
        Obj::new(key.as_bytes(), NewValue::Boxed(Boxed::List(list)), None),
    );
}

fn put_set(h: &mut Harness, key: &str, members: &[&str]) {
    let limits = SetLimits::default();
    let mut set = Set::with_first(members[0].as_bytes(), members.len(), limits);
    for m in members {
        set.add(m.as_bytes(), limits);
    }
    h.ks.put(
        0,
        Obj::new(key.as_bytes(), NewValue::Boxed(Boxed::Set(set)), None),
    );
}

fn put_hash(h: &mut Harness, key: &str, pairs: &[(&str, &str)]) {
    let hash = Hash::from_pairs(
        pairs.iter().map(|(f, v)| (f.as_bytes(), v.as_bytes())),
        HashLimits::default(),
    );
    h.ks.put(
        0,
        Obj::new(key.as_bytes(), NewValue::Boxed(Boxed::Hash(hash)), None),
    );
}

fn sorted(r: Reply) -> Vec<Reply> {
    let Reply::Array(mut v) = r else {
        panic!("not an array: {r:?}")
    };
    v.sort_by_key(|x| format!("{x:?}"));
    v
}

#[test]
fn del_and_unlink_count_deleted_keys() {
    let mut h = Harness::new();
    h.run(&["MSET", "a", "1", "b", "2"]);
    assert_eq!(h.run(&["DEL", "a", "b", "c", "a"]), Reply::Int(2));
    assert_eq!(h.last.dirty, 2);
    assert_eq!(h.propagated(), vec![strs(&["DEL", "a", "b", "c", "a"])]);
    assert_eq!(h.run(&["DEL", "a"]), Reply::Int(0));
    assert!(h.propagated().is_empty());
    put_list(&mut h, 0, "l", &["x", "y"]);
    assert_eq!(h.run(&["UNLINK", "l", "zz"]), Reply::Int(1));
    assert_eq!(h.propagated(), vec![strs(&["UNLINK", "l", "zz"])]);
    assert_eq!(h.run(&["EXISTS", "l"]), Reply::Int(0));
    assert_eq!(
        h.run(&["DEL"]),
        Reply::error("ERR wrong number of arguments for 'del' command")
    );
}

#[test]
fn del_of_an_expired_key_counts_nothing() {
    let mut h = Harness::new();
    h.run(&["SET", "k", "v", "PX", "10"]);
    h.advance_ms(10);
    assert_eq!(h.run(&["DEL", "k"]), Reply::Int(0));
    assert_eq!(h.ks.dbsize(0), 0);
}

#[test]
fn exists_type_touch() {
    let mut h = Harness::new();
    h.run(&["SET", "s", "v"]);
    put_list(&mut h, 0, "l", &["a"]);
    put_set(&mut h, "st", &["a"]);
    put_hash(&mut h, "hs", &[("f", "v")]);
    assert_eq!(h.run(&["EXISTS", "s", "s", "nosuch", "l"]), Reply::Int(3));
    assert_eq!(h.run(&["TYPE", "s"]), Reply::status("string"));
    assert_eq!(h.run(&["TYPE", "l"]), Reply::status("list"));
    assert_eq!(h.run(&["TYPE", "st"]), Reply::status("set"));
    assert_eq!(h.run(&["TYPE", "hs"]), Reply::status("hash"));
    assert_eq!(h.wire(&["TYPE", "nosuch"]), "+none\r\n");
    assert_eq!(h.run(&["TOUCH", "s", "l", "nosuch", "s"]), Reply::Int(3));
    assert!(h.propagated().is_empty());
}

#[test]
fn exists_and_type_count_hits_but_keep_the_access_time() {
    let mut h = Harness::new();
    h.run(&["SET", "k", "v"]);
    h.ks.lru.clock = 100;
    h.run(&["SET", "k", "v"]);
    h.ks.lru.clock = 200;
    let hits = h.ks.stats.hits;
    h.run(&["EXISTS", "k"]);
    h.run(&["TYPE", "k"]);
    h.run(&["TTL", "k"]);
    assert_eq!(h.ks.stats.hits, hits + 3);
    assert_eq!(h.ks.db(0).get(b"k").unwrap().lru(), 100);
    // TOUCH updates it, even for a CLIENT NO-TOUCH client.
    h.ks.no_touch = true;
    h.run(&["TOUCH", "k"]);
    assert_eq!(h.ks.db(0).get(b"k").unwrap().lru(), 200);
    assert!(h.ks.no_touch);
}

#[test]
fn rename_moves_value_and_ttl() {
    let mut h = Harness::new();
    h.run(&["SET", "a", "hello", "EX", "100"]);
    h.run(&["SET", "b", "old"]);
    assert_eq!(h.run(&["RENAME", "a", "b"]), Reply::Ok);
    assert_eq!(h.run(&["GET", "b"]), bulk("hello"));
    assert_eq!(h.run(&["TTL", "b"]), Reply::Int(100));
    assert_eq!(h.run(&["EXISTS", "a"]), Reply::Int(0));
    assert_eq!(h.ks.db(0).expires_len(), 1);
    // A key without TTL replacing one with TTL clears it.
    h.run(&["SET", "c", "plain"]);
    assert_eq!(h.run(&["RENAME", "c", "b"]), Reply::Ok);
    assert_eq!(h.run(&["TTL", "b"]), Reply::Int(-1));
    assert_eq!(h.ks.db(0).expires_len(), 0);
    assert_eq!(
        h.run(&["RENAME", "nosuch", "x"]),
        Reply::error("ERR no such key")
    );
    assert_eq!(
        h.run(&["RENAME", "nosuch", "nosuch"]),
        Reply::error("ERR no such key")
    );
    assert_eq!(h.run(&["RENAME", "b", "b"]), Reply::Ok);
    assert_eq!(h.last.dirty, 0);
}

#[test]
fn rename_keeps_collections_and_their_encoding() {
    let mut h = Harness::new();
    let elems: Vec<String> = (0..1000).map(|i| format!("element:{i}")).collect();
    let refs: Vec<&str> = elems.iter().map(String::as_str).collect();
    put_list(&mut h, 0, "l", &refs);
    // With LFU a new object starts at counter 5: a kept object keeps its high counter.
    h.ks.lru.lfu = true;
    h.ks.db(0).get(b"l").unwrap().set_lru(200);
    assert_eq!(h.run(&["RENAME", "l", "m"]), Reply::Ok);
    let obj = h.ks.db(0).get(b"m").unwrap();
    assert_eq!((obj.elements(), obj.encoding()), (1000, "quicklist"));
    assert_eq!(obj.key(), b"m");
    assert!(
        obj.lru() & 255 >= 200,
        "the object keeps its access counter"
    );
    assert_eq!(h.run(&["MOVE", "m", "3"]), Reply::Int(1));
    assert!(h.ks.db(3).get(b"m").unwrap().lru() & 255 >= 200);
}

#[test]
fn renamenx() {
    let mut h = Harness::new();
    h.run(&["MSET", "a", "1", "b", "2"]);
    assert_eq!(h.run(&["RENAMENX", "a", "b"]), Reply::Int(0));
    assert!(h.propagated().is_empty());
    assert_eq!(h.run(&["RENAMENX", "a", "a"]), Reply::Int(0));
    assert_eq!(h.run(&["RENAMENX", "a", "c"]), Reply::Int(1));
    assert_eq!(h.propagated(), vec![strs(&["RENAMENX", "a", "c"])]);
    assert_eq!(h.run(&["GET", "c"]), bulk("1"));
    assert_eq!(
        h.run(&["RENAMENX", "nosuch", "c"]),
        Reply::error("ERR no such key")
    );
}

#[test]
fn move_between_databases() {
    let mut h = Harness::new();
    h.run(&["SET", "k", "v", "EX", "50"]);
    assert_eq!(
        h.run(&["MOVE", "k", "0"]),
        Reply::error("ERR source and destination objects are the same")
    );
    assert_eq!(
        h.run(&["MOVE", "k", "16"]),
        Reply::error("ERR DB index is out of range")
    );
    assert_eq!(
        h.run(&["MOVE", "k", "-1"]),
        Reply::error("ERR DB index is out of range")
    );
    assert_eq!(
        h.run(&["MOVE", "k", "abc"]),
        Reply::error("ERR value is not an integer or out of range")
    );
    assert_eq!(
        h.run(&["MOVE", "k", "2147483648"]),
        Reply::error("ERR value is out of range, value must between -2147483648 and 2147483647")
    );
    assert_eq!(h.run(&["MOVE", "nosuch", "1"]), Reply::Int(0));
    assert_eq!(h.run(&["MOVE", "k", "1"]), Reply::Int(1));
    assert_eq!(h.last.dirty, 1);
    assert!(h.ks.db(0).get(b"k").is_none());
    assert_eq!(
        h.ks.db(1).get(b"k").unwrap().expire_ms(),
        Some(1_700_000_050_000)
    );
    assert_eq!((h.ks.db(0).expires_len(), h.ks.db(1).expires_len()), (0, 1));
    h.run(&["SET", "k", "again"]);
    assert_eq!(
        h.run(&["MOVE", "k", "1"]),
        Reply::Int(0),
        "exists in the target"
    );
}

#[test]
fn copy_with_db_and_replace() {
    let mut h = Harness::new();
    h.run(&["SET", "a", "12", "EX", "30"]);
    assert_eq!(
        h.run(&["COPY", "a", "a"]),
        Reply::error("ERR source and destination objects are the same")
    );
    assert_eq!(
        h.run(&["COPY", "a", "a", "DB", "0"]),
        Reply::error("ERR source and destination objects are the same")
    );
    assert_eq!(
        h.run(&["COPY", "a", "b", "DB", "16"]),
        Reply::error("ERR DB index is out of range")
    );
    assert_eq!(
        h.run(&["COPY", "a", "b", "DB", "x"]),
        Reply::error("ERR value is not an integer or out of range")
    );
    assert_eq!(
        h.run(&["COPY", "a", "b", "DB"]),
        Reply::error("ERR syntax error")
    );
    assert_eq!(
        h.run(&["COPY", "a", "b", "foo"]),
        Reply::error("ERR syntax error")
    );
    assert_eq!(h.run(&["COPY", "nosuch", "b"]), Reply::Int(0));
    assert_eq!(h.run(&["COPY", "a", "a", "DB", "1"]), Reply::Int(1));
    assert_eq!(h.ks.db(1).get(b"a").unwrap().encoding(), "int");
    assert_eq!(
        h.ks.db(1).get(b"a").unwrap().expire_ms(),
        Some(1_700_000_030_000)
    );
    h.run(&["SET", "b", "other"]);
    assert_eq!(h.run(&["COPY", "a", "b"]), Reply::Int(0));
    assert_eq!(
        h.run(&["COPY", "a", "b", "REPLACE", "REPLACE"]),
        Reply::Int(1)
    );
    assert_eq!(
        h.propagated(),
        vec![strs(&["COPY", "a", "b", "REPLACE", "REPLACE"])]
    );
    assert_eq!(h.run(&["GET", "b"]), bulk("12"));
    assert_eq!(h.run(&["TTL", "b"]), Reply::Int(30));
}

#[test]
fn copy_of_a_collection_is_independent() {
    let mut h = Harness::new();
    put_list(&mut h, 0, "l", &["a", "b"]);
    assert_eq!(h.run(&["COPY", "l", "m"]), Reply::Int(1));
    h.run(&["DEL", "l"]);
    let obj = h.ks.db(0).get(b"m").unwrap();
    assert_eq!((obj.elements(), obj.encoding()), (2, "listpack"));
}

#[test]
fn keys_matches_globs_and_hides_expired() {
    let mut h = Harness::new();
    h.run(&[
        "MSET", "hello", "1", "hallo", "2", "hxllo", "3", "world", "4",
    ]);
    h.run(&["SET", "heeeello", "5", "PX", "100"]);
    assert_eq!(
        sorted(h.run(&["KEYS", "h?llo"])),
        vec![bulk("hallo"), bulk("hello"), bulk("hxllo")]
    );
    assert_eq!(
        sorted(h.run(&["KEYS", "h[^e]llo"])),
        vec![bulk("hallo"), bulk("hxllo")]
    );
    assert_eq!(sorted(h.run(&["KEYS", "h*llo"])).len(), 4);
    h.advance_ms(100);
    assert_eq!(sorted(h.run(&["KEYS", "*"])).len(), 4);
    assert_eq!(h.ks.dbsize(0), 5, "KEYS does not delete expired keys");
    assert_eq!(h.run(&["KEYS", "nomatch*"]), Reply::Array(vec![]));
}

/// Runs a full SCAN iteration with the given options; returns the keys seen.
fn scan_all(h: &mut Harness, opts: &[&str]) -> Vec<String> {
    let mut cursor = "0".to_string();
    let mut seen = Vec::new();
    for _ in 0..10_000 {
        let mut args = vec!["SCAN", cursor.as_str()];
        args.extend_from_slice(opts);
        let Reply::Array(parts) = h.run(&args) else {
            panic!("bad reply")
        };
        let (Reply::Bulk(next), Reply::Array(keys)) = (&parts[0], &parts[1]) else {
            panic!("bad reply {parts:?}")
        };
        for k in keys {
            let Reply::Bulk(k) = k else { panic!() };
            seen.push(String::from_utf8_lossy(k).into_owned());
        }
        cursor = String::from_utf8_lossy(next).into_owned();
        if cursor == "0" {
            seen.sort();
            return seen;
        }
    }
    panic!("SCAN did not finish");
}

#[test]
fn scan_visits_every_key_with_filters() {
    let mut h = Harness::new();
    for i in 0..1000 {
        h.run(&["SET", &format!("key:{i}"), "v"]);
    }
    put_list(&mut h, 0, "alist", &["x"]);
    let all = scan_all(&mut h, &[]);
    assert_eq!(all.len(), 1001);
    assert_eq!(scan_all(&mut h, &["COUNT", "100"]).len(), 1001);
    let ones = scan_all(&mut h, &["MATCH", "key:1??", "COUNT", "7"]);
    assert_eq!(ones.len(), 100);
    assert_eq!(
        scan_all(&mut h, &["TYPE", "LIST"]),
        vec!["alist".to_string()]
    );
    assert_eq!(
        scan_all(&mut h, &["TYPE", "string", "MATCH", "a*"]),
        Vec::<String>::new()
    );
}

#[test]
fn scan_deletes_and_skips_expired_keys() {
    let mut h = Harness::new();
    for i in 0..20 {
        h.run(&["SET", &format!("k{i}"), "v", "PX", "10"]);
    }
    h.run(&["SET", "live", "v"]);
    h.advance_ms(10);
    assert_eq!(
        scan_all(&mut h, &["COUNT", "1000"]),
        vec!["live".to_string()]
    );
    assert_eq!(h.ks.dbsize(0), 1);
}

#[test]
fn scan_argument_errors() {
    let mut h = Harness::new();
    h.run(&["SET", "k", "v"]);
    let cursor_err = Reply::error("ERR invalid cursor");
    assert_eq!(h.run(&["SCAN", "x"]), cursor_err);
    assert_eq!(h.run(&["SCAN", "18446744073709551616"]), cursor_err);
    assert_eq!(h.run(&["SCAN", "5 "]), cursor_err);
    // Valkey 8 (string2ull) rejects negative cursors; Redis 7.0 took them modulo 2^64.
    assert_eq!(h.run(&["SCAN", "-1"]), cursor_err);
    for ok in ["18446744073709551615", "+0", " 0", "007"] {
        assert!(matches!(h.run(&["SCAN", ok]), Reply::Array(_)), "{ok}");
    }
    assert_eq!(
        h.run(&["SCAN", "0", "COUNT", "0"]),
        Reply::error("ERR syntax error")
    );
    assert_eq!(
        h.run(&["SCAN", "0", "COUNT", "x"]),
        Reply::error("ERR value is not an integer or out of range")
    );
    assert_eq!(
        h.run(&["SCAN", "0", "MATCH"]),
        Reply::error("ERR syntax error")
    );
    assert_eq!(
        h.run(&["SCAN", "0", "FOO", "1"]),
        Reply::error("ERR syntax error")
    );
    // Valkey 8 errors on unknown types and on HSCAN/ZSCAN-only flags (Redis 7.0: empty result /
    // syntax error).
    assert_eq!(
        h.run(&["SCAN", "0", "TYPE", "foo"]),
        Reply::error("ERR unknown type name 'foo'")
    );
    assert_eq!(
        h.run(&["SCAN", "0", "NOVALUES"]),
        Reply::error("ERR NOVALUES option can only be used in HSCAN")
    );
    assert_eq!(
        h.run(&["SCAN", "0", "NOSCORES"]),
        Reply::error("ERR NOSCORES option can only be used in ZSCAN")
    );
    assert_eq!(
        h.wire(&["SCAN", "0", "COUNT", "9223372036854775807"]),
        "*2\r\n$1\r\n0\r\n*1\r\n$1\r\nk\r\n"
    );
}

#[test]
fn randomkey_and_dbsize() {
    let mut h = Harness::new();
    assert_eq!(h.run(&["RANDOMKEY"]), Reply::Nil);
    h.resp = RespVersion::Resp3;
    assert_eq!(h.wire(&["RANDOMKEY"]), "_\r\n");
    h.resp = RespVersion::Resp2;
    assert_eq!(h.wire(&["RANDOMKEY"]), "$-1\r\n");
    assert_eq!(h.run(&["DBSIZE"]), Reply::Int(0));
    h.run(&["MSET", "a", "1", "b", "2"]);
    h.run(&["SET", "gone", "1", "PX", "1"]);
    assert_eq!(h.run(&["DBSIZE"]), Reply::Int(3));
    h.advance_ms(1);
    for _ in 0..50 {
        let r = h.run(&["RANDOMKEY"]);
        assert!(r == bulk("a") || r == bulk("b"), "{r:?}");
    }
}

#[test]
fn swapdb() {
    let mut h = Harness::new();
    h.run(&["SET", "k", "zero"]);
    assert_eq!(h.run(&["SWAPDB", "0", "1"]), Reply::Ok);
    assert_eq!(h.propagated(), vec![strs(&["SWAPDB", "0", "1"])]);
    assert_eq!(h.run(&["EXISTS", "k"]), Reply::Int(0));
    assert!(h.ks.db(1).get(b"k").is_some());
    assert_eq!(h.run(&["SWAPDB", "3", "3"]), Reply::Ok);
    assert_eq!(h.last.dirty, 1, "propagated even when both are the same");
    assert_eq!(
        h.run(&["SWAPDB", "0", "x"]),
        Reply::error("ERR invalid second DB index")
    );
    assert_eq!(
        h.run(&["SWAPDB", "x", "0"]),
        Reply::error("ERR invalid first DB index")
    );
    assert_eq!(
        h.run(&["SWAPDB", "2147483648", "0"]),
        Reply::error("ERR invalid first DB index")
    );
    assert_eq!(
        h.run(&["SWAPDB", "0", "16"]),
        Reply::error("ERR DB index is out of range")
    );
    assert_eq!(
        h.run(&["SWAPDB", "-1", "0"]),
        Reply::error("ERR DB index is out of range")
    );
}
