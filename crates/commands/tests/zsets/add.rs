//! ZADD, ZINCRBY, ZREM and the single-member reads; encodings.

use commands::testing::Harness;
use keyspace::{Boxed, NewValue, Obj};
use resp::{Reply, RespVersion};
use types::zset::ZSet;

use crate::*;

#[test]
fn zadd_options_and_replies() {
    let mut h = Harness::new();
    assert_eq!(h.run(&["ZADD", "z", "1", "a", "2", "b"]), Reply::Int(2));
    assert_eq!(h.propagated(), prop(&[&["ZADD", "z", "1", "a", "2", "b"]]));
    assert_eq!(
        h.run(&["ZADD", "z", "CH", "5", "a", "2", "b", "3", "c"]),
        Reply::Int(2)
    );
    assert_eq!(h.last.dirty, 2);
    assert_eq!(
        h.run(&["ZADD", "z", "NX", "10", "a", "4", "d"]),
        Reply::Int(1)
    );
    assert_eq!(
        h.run(&["ZADD", "z", "XX", "CH", "6", "a", "9", "new"]),
        Reply::Int(1)
    );
    assert_eq!(h.run(&["ZSCORE", "z", "new"]), Reply::Nil);
    assert_eq!(
        h.run(&["ZADD", "z", "GT", "CH", "1", "a", "7", "b"]),
        Reply::Int(1)
    );
    assert_eq!(
        h.run(&["ZADD", "z", "LT", "CH", "0", "a", "100", "b"]),
        Reply::Int(1)
    );
    assert_eq!(
        h.run(&["ZADD", "z", "GT", "XX", "CH", "50", "b"]),
        Reply::Int(1)
    );
    // The same member twice: added, then updated.
    assert_eq!(
        h.run(&["ZADD", "z", "CH", "1", "m", "2", "m"]),
        Reply::Int(2)
    );
    assert_eq!(h.run(&["ZSCORE", "z", "m"]), Reply::Double(2.0));
    // A no-op ZADD changes nothing and is not propagated.
    assert_eq!(h.run(&["ZADD", "z", "NX", "1", "a"]), Reply::Int(0));
    assert_eq!((h.last.dirty, h.propagated().len()), (0, 0));
    assert_eq!(h.run(&["ZADD", "z", "2", "m"]), Reply::Int(0));
    assert_eq!(h.last.dirty, 0);
    assert_eq!(h.run(&["ZADD", "none", "XX", "1", "a"]), Reply::Int(0));
    assert!(!exists(&h, "none"));
}

#[test]
fn zadd_incr_and_zincrby() {
    let mut h = Harness::new();
    assert_eq!(
        h.run(&["ZADD", "z", "INCR", "1.5", "a"]),
        Reply::Double(1.5)
    );
    assert_eq!(h.run(&["ZINCRBY", "z", "2", "a"]), Reply::Double(3.5));
    assert_eq!(h.run(&["ZADD", "z", "INCR", "NX", "1", "a"]), Reply::Nil);
    assert_eq!(h.run(&["ZADD", "z", "INCR", "GT", "-1", "a"]), Reply::Nil);
    assert_eq!(
        h.run(&["ZADD", "z", "INCR", "LT", "-1", "a"]),
        Reply::Double(2.5)
    );
    assert_eq!(
        h.run(&["ZADD", "z", "INCR", "XX", "1", "nosuch"]),
        Reply::Nil
    );
    assert_eq!(
        h.run(&["ZADD", "nokey", "INCR", "XX", "1", "a"]),
        Reply::Nil
    );
    h.resp = RespVersion::Resp3;
    assert_eq!(h.wire(&["ZADD", "z", "INCR", "NX", "1", "a"]), "_\r\n");
    assert_eq!(h.wire(&["ZINCRBY", "z", "0.5", "a"]), ",3\r\n");
    h.resp = RespVersion::Resp2;
    assert_eq!(h.wire(&["ZINCRBY", "z", "0.25", "a"]), "$4\r\n3.25\r\n");
    assert_eq!(
        h.run(&["ZINCRBY", "z", "+inf", "a"]),
        Reply::Double(f64::INFINITY)
    );
    assert_eq!(
        h.run(&["ZINCRBY", "z", "-inf", "a"]),
        e("ERR resulting score is not a number (NaN)")
    );
    assert_eq!(h.last.dirty, 0);
    assert_eq!(h.run(&["ZSCORE", "z", "a"]), Reply::Double(f64::INFINITY));
    // An increment spelled like an option is parsed as one, as in Redis.
    assert_eq!(h.run(&["ZINCRBY", "z", "nx", "a"]), e("ERR syntax error"));
    assert_eq!(
        h.run(&["ZINCRBY", "z", "abc", "a"]),
        e("ERR value is not a valid float")
    );
}

#[test]
fn zadd_errors_in_redis_order() {
    let mut h = Harness::new();
    h.run(&["SET", "s", "x"]);
    let cases: &[(&[&str], &str)] = &[
        (&["ZADD", "z", "1", "a", "2"], "ERR syntax error"),
        (&["ZADD", "z", "XX", "NX"], "ERR syntax error"),
        (
            &["ZADD", "z", "XX", "NX", "1", "a"],
            "ERR XX and NX options at the same time are not compatible",
        ),
        (
            &["ZADD", "z", "GT", "LT", "1", "a"],
            "ERR GT, LT, and/or NX options at the same time are not compatible",
        ),
        (
            &["ZADD", "z", "NX", "GT", "1", "a"],
            "ERR GT, LT, and/or NX options at the same time are not compatible",
        ),
        (
            &["ZADD", "z", "INCR", "1", "a", "2", "b"],
            "ERR INCR option supports a single increment-element pair",
        ),
        (
            &["ZADD", "z", "1", "a", "nan", "b"],
            "ERR value is not a valid float",
        ),
        (
            &["ZADD", "z", "1e400", "a"],
            "ERR value is not a valid float",
        ),
        (&["ZADD", "s", "x", "a"], "ERR value is not a valid float"),
        (&["ZADD", "s", "1", "a"], WRONGTYPE),
        (
            &["ZADD", "z", "1"],
            "ERR wrong number of arguments for 'zadd' command",
        ),
    ];
    for (cmd, want) in cases {
        assert_eq!(h.run(cmd), e(want), "{cmd:?}");
    }
    assert!(!exists(&h, "z"));
}

#[test]
fn encodings_follow_the_limits() {
    let mut h = Harness::new();
    h.settings.zset.max_entries = 4;
    h.settings.zset.max_value = 8;
    h.run(&["ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d"]);
    assert_eq!(enc(&h, "z"), "listpack");
    h.run(&["ZADD", "z", "5", "e"]);
    assert_eq!(enc(&h, "z"), "skiplist");
    h.run(&["ZREM", "z", "e", "d"]);
    assert_eq!(enc(&h, "z"), "skiplist", "no conversion back on removal");
    h.run(&["ZADD", "long", "1", "123456789"]);
    assert_eq!(enc(&h, "long"), "skiplist");
    // Valkey 8 converts ahead of a ZADD whose pair count or longest member exceeds the limits,
    // even when the pairs turn out to be no-ops (Redis 7.0 does not, for existing keys).
    h.run(&["ZADD", "w", "1", "a"]);
    h.run(&[
        "ZADD", "w", "NX", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a",
    ]);
    assert_eq!(enc(&h, "w"), "skiplist");
    assert_eq!(h.last.dirty, 0);
    // A stored result is a listpack when it fits, whatever its source was.
    h.run(&["ZRANGESTORE", "d", "z", "0", "1"]);
    assert_eq!(enc(&h, "d"), "listpack");
    h.run(&["ZUNIONSTORE", "d", "1", "z"]);
    assert_eq!(enc(&h, "d"), "listpack");
    h.run(&["ZADD", "z", "9", "e", "10", "f"]);
    h.run(&["ZUNIONSTORE", "d", "1", "z"]);
    assert_eq!(enc(&h, "d"), "skiplist");
}

#[test]
fn negative_zero_reads_back_as_zero_from_a_listpack() {
    let mut h = Harness::new();
    h.run(&["ZADD", "l", "-0", "a"]);
    assert_eq!(h.wire(&["ZSCORE", "l", "a"]), "$1\r\n0\r\n");
    let mut s = skiplist_harness();
    s.run(&["ZADD", "l", "-0", "a"]);
    assert_eq!(s.wire(&["ZSCORE", "l", "a"]), "$2\r\n-0\r\n");
}

#[test]
fn single_member_reads() {
    let mut h = Harness::new();
    h.run(&["ZADD", "z", "1", "a", "2", "b", "3", "c"]);
    h.run(&["SET", "s", "x"]);
    assert_eq!(h.run(&["ZCARD", "z"]), Reply::Int(3));
    assert_eq!(h.run(&["ZCARD", "nokey"]), Reply::Int(0));
    assert_eq!(h.run(&["ZSCORE", "nokey", "a"]), Reply::Nil);
    assert_eq!(
        h.run(&["ZMSCORE", "z", "a", "x", "c"]),
        Reply::Array(vec![Reply::Double(1.0), Reply::Nil, Reply::Double(3.0)])
    );
    assert_eq!(
        h.run(&["ZMSCORE", "nokey", "a"]),
        Reply::Array(vec![Reply::Nil])
    );
    assert_eq!(h.run(&["ZRANK", "z", "b"]), Reply::Int(1));
    assert_eq!(h.run(&["ZREVRANK", "z", "a"]), Reply::Int(2));
    assert_eq!(h.run(&["ZRANK", "z", "x"]), Reply::Nil);
    assert_eq!(
        h.run(&["ZRANK", "z", "c", "WITHSCORE"]),
        Reply::Array(vec![Reply::Int(2), Reply::Double(3.0)])
    );
    assert_eq!(h.run(&["ZREVRANK", "z", "x", "withscore"]), Reply::NilArray);
    assert_eq!(
        h.run(&["ZRANK", "nokey", "x", "withscore"]),
        Reply::NilArray
    );
    assert_eq!(h.run(&["ZRANK", "z", "c", "foo"]), e("ERR syntax error"));
    assert_eq!(
        h.run(&["ZRANK", "z", "c", "withscore", "x"]),
        e("ERR wrong number of arguments for 'zrank' command")
    );
    h.resp = RespVersion::Resp3;
    assert_eq!(
        h.wire(&["ZRANK", "z", "c", "WITHSCORE"]),
        "*2\r\n:2\r\n,3\r\n"
    );
    for cmd in [
        &["ZCARD", "s"][..],
        &["ZSCORE", "s", "a"],
        &["ZMSCORE", "s", "a"],
        &["ZRANK", "s", "a"],
        &["ZREVRANK", "s", "a", "WITHSCORE"],
        &["ZREM", "s", "a"],
    ] {
        assert_eq!(h.run(cmd), e(WRONGTYPE), "{cmd:?}");
    }
}

#[test]
fn zrem_deletes_the_emptied_key() {
    let mut h = Harness::new();
    h.run(&["ZADD", "z", "1", "a", "2", "b"]);
    assert_eq!(h.run(&["ZREM", "z", "x", "y"]), Reply::Int(0));
    assert_eq!(h.propagated().len(), 0);
    assert_eq!(h.run(&["ZREM", "z", "a", "a", "x"]), Reply::Int(1));
    assert_eq!(h.last.dirty, 1);
    assert_eq!(h.run(&["ZREM", "z", "b"]), Reply::Int(1));
    assert!(!exists(&h, "z"));
    assert_eq!(h.run(&["ZREM", "z", "b"]), Reply::Int(0));
}

#[test]
fn expired_keys_read_as_missing() {
    let mut h = Harness::new();
    let mut z = ZSet::new();
    z.insert(b"a", 1.0, Default::default());
    let at = Some(h.ks.now_ms + 100);
    h.ks.put(0, Obj::new(b"z", NewValue::Boxed(Boxed::ZSet(z)), at));
    assert_eq!(h.run(&["ZCARD", "z"]), Reply::Int(1));
    h.advance_ms(100);
    assert_eq!(h.run(&["ZCARD", "z"]), Reply::Int(0));
    assert_eq!(h.run(&["ZADD", "z", "XX", "1", "a"]), Reply::Int(0));
    assert_eq!(h.run(&["ZADD", "z", "2", "b"]), Reply::Int(1));
    assert_eq!(h.ks.db(0).get(b"z").and_then(Obj::expire_ms), None);
}
