//! String commands through the table, in process.

use commands::testing::{bulk, Harness};
use resp::Reply;

#[test]
fn set_get_and_options() {
    let mut h = Harness::new();
    assert_eq!(h.run(&["SET", "k", "v"]), Reply::Ok);
    assert_eq!(h.run(&["GET", "k"]), bulk("v"));
    assert_eq!(h.run(&["SET", "k", "w", "NX"]), Reply::Nil);
    assert_eq!(h.run(&["SET", "k", "w", "XX", "GET"]), bulk("v"));
    assert_eq!(
        h.run(&["SET", "k", "x", "NX", "XX"]),
        Reply::error("ERR syntax error")
    );
    assert_eq!(
        h.run(&["SET", "k", "x", "EX", "0"]),
        Reply::error("ERR invalid expire time in 'set' command")
    );
    assert_eq!(h.run(&["SET", "k", "x", "EX", "10"]), Reply::Ok);
    assert_eq!(
        h.propagated(),
        vec![vec![
            "SET".to_string(),
            "k".into(),
            "x".into(),
            "PXAT".into(),
            "1700000010000".into()
        ]]
    );
    assert_eq!(
        h.run(&["GET"]),
        Reply::error("ERR wrong number of arguments for 'get' command")
    );
}

#[test]
fn counters_keep_ttl_and_check_overflow() {
    let mut h = Harness::new();
    assert_eq!(h.run(&["INCR", "n"]), Reply::Int(1));
    assert_eq!(
        h.run(&["INCRBY", "n", "9223372036854775806"]),
        Reply::Int(i64::MAX)
    );
    assert_eq!(
        h.run(&["INCR", "n"]),
        Reply::error("ERR increment or decrement would overflow")
    );
    h.run(&["SET", "s", "abc"]);
    assert_eq!(
        h.run(&["INCR", "s"]),
        Reply::error("ERR value is not an integer or out of range")
    );
    assert_eq!(h.run(&["INCRBYFLOAT", "f", "10.5"]), bulk("10.5"));
    assert_eq!(h.run(&["INCRBYFLOAT", "f", "0.1"]), bulk("10.6"));
    assert_eq!(
        h.propagated(),
        vec![vec![
            "SET".to_string(),
            "f".into(),
            "10.6".into(),
            "KEEPTTL".into()
        ]]
    );
}

#[test]
fn ranges_and_append() {
    let mut h = Harness::new();
    assert_eq!(h.run(&["APPEND", "a", "Hello"]), Reply::Int(5));
    assert_eq!(h.run(&["APPEND", "a", " World"]), Reply::Int(11));
    assert_eq!(h.run(&["GETRANGE", "a", "-5", "-1"]), bulk("World"));
    assert_eq!(h.run(&["GETRANGE", "a", "-1", "-5"]), bulk(""));
    assert_eq!(h.run(&["SETRANGE", "b", "5", "x"]), Reply::Int(6));
    assert_eq!(h.run(&["GET", "b"]), bulk("\0\0\0\0\0x"));
    assert_eq!(
        h.run(&["SETRANGE", "b", "-1", "x"]),
        Reply::error("ERR offset is out of range")
    );
    assert_eq!(h.run(&["STRLEN", "a"]), Reply::Int(11));
}

#[test]
fn lcs_matches_redis_examples() {
    let mut h = Harness::new();
    h.run(&["MSET", "key1", "ohmytext", "key2", "mynewtext"]);
    assert_eq!(h.run(&["LCS", "key1", "key2"]), bulk("mytext"));
    assert_eq!(h.run(&["LCS", "key1", "key2", "LEN"]), Reply::Int(6));
    assert_eq!(
        h.wire(&["LCS", "key1", "key2", "IDX", "MINMATCHLEN", "4", "WITHMATCHLEN"]),
        "*4\r\n$7\r\nmatches\r\n*1\r\n*3\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n:4\r\n$3\r\nlen\r\n:6\r\n"
    );
}

#[test]
fn expired_keys_read_as_missing() {
    let mut h = Harness::new();
    h.run(&["SET", "k", "v", "PX", "100"]);
    h.advance_ms(101);
    assert_eq!(h.run(&["GET", "k"]), Reply::Nil);
}

#[test]
fn setrange_on_a_new_key_allocates_the_string_once_exactly() {
    // Growing a zeroed buffer by the value once doubled the allocation (MEMORY USAGE of a
    // 100 KB string was ~200 KB).
    let mut h = Harness::new();
    assert_eq!(h.run(&["SETRANGE", "k", "100000", "x"]), Reply::Int(100001));
    let key = bytes::Bytes::from_static(b"k");
    let usage = h.ks.get(0, &key).map(|o| o.mem_usage()).expect("stored");
    assert!(
        usage < 110_000,
        "MEMORY USAGE {usage} for a 100,001-byte string"
    );
}
