//! ZUNION/ZINTER/ZDIFF, their STORE forms and ZINTERCARD.

use commands::testing::{bulk, Harness};
use keyspace::{NewValue, Obj};
use resp::{Reply, RespVersion};

use crate::*;

#[test]
fn setops_with_weights_and_aggregates() {
    let mut h = Harness::new();
    h.run(&["ZADD", "a", "1", "x", "2", "y", "3", "z"]);
    h.run(&["ZADD", "b", "10", "y", "20", "z", "30", "w"]);
    put_set(&mut h, "s", &["x", "w", "v"]);
    let ws = |pairs: &[(&str, f64)]| {
        Reply::Array(
            pairs
                .iter()
                .flat_map(|(m, s)| [bulk(m), Reply::Double(*s)])
                .collect(),
        )
    };
    assert_eq!(
        h.run(&["ZUNION", "2", "a", "b", "WEIGHTS", "2", "3", "WITHSCORES"]),
        ws(&[("x", 2.0), ("y", 34.0), ("z", 66.0), ("w", 90.0)])
    );
    assert_eq!(
        h.run(&["ZUNION", "2", "a", "s", "AGGREGATE", "MAX", "WITHSCORES"]),
        ws(&[("v", 1.0), ("w", 1.0), ("x", 1.0), ("y", 2.0), ("z", 3.0)])
    );
    assert_eq!(
        h.run(&["ZINTER", "2", "a", "b", "AGGREGATE", "MIN", "WITHSCORES"]),
        ws(&[("y", 2.0), ("z", 3.0)])
    );
    assert_eq!(h.run(&["ZINTER", "3", "a", "b", "s"]), arr(&[]));
    assert_eq!(
        h.run(&["ZINTER", "2", "s", "b", "WITHSCORES"]),
        ws(&[("w", 31.0)])
    );
    assert_eq!(
        h.run(&["ZDIFF", "2", "a", "b", "WITHSCORES"]),
        ws(&[("x", 1.0)])
    );
    assert_eq!(h.run(&["ZDIFF", "2", "s", "a"]), arr(&["v", "w"]));
    assert_eq!(h.run(&["ZDIFF", "2", "a", "a"]), arr(&[]));
    assert_eq!(h.run(&["ZINTERCARD", "2", "a", "b"]), Reply::Int(2));
    assert_eq!(
        h.run(&["ZINTERCARD", "2", "a", "b", "LIMIT", "1"]),
        Reply::Int(1)
    );
    assert_eq!(
        h.run(&["ZINTERCARD", "2", "a", "b", "LIMIT", "0"]),
        Reply::Int(2)
    );
    // inf * 0 and inf + -inf count as 0.
    h.run(&["ZADD", "inf", "+inf", "x"]);
    assert_eq!(
        h.run(&["ZUNION", "1", "inf", "WEIGHTS", "0", "WITHSCORES"]),
        ws(&[("x", 0.0)])
    );
    assert_eq!(
        h.run(&[
            "ZINTER",
            "2",
            "inf",
            "inf",
            "WEIGHTS",
            "1",
            "-1",
            "WITHSCORES"
        ]),
        ws(&[("x", 0.0)])
    );
    h.resp = RespVersion::Resp3;
    assert_eq!(
        h.wire(&["ZDIFF", "2", "a", "b", "WITHSCORES"]),
        "*1\r\n*2\r\n$1\r\nx\r\n,1\r\n"
    );
}

#[test]
fn setops_errors_in_redis_order() {
    let mut h = Harness::new();
    h.run(&["ZADD", "a", "1", "x"]);
    h.run(&["SET", "str", "v"]);
    let cases: &[(&[&str], &str)] = &[
        (
            &["ZUNION", "0", "a"],
            "ERR at least 1 input key is needed for 'zunion' command",
        ),
        (
            &["ZINTERSTORE", "d", "0", "a"],
            "ERR at least 1 input key is needed for 'zinterstore' command",
        ),
        (
            &["ZUNION", "x", "a"],
            "ERR value is not an integer or out of range",
        ),
        (&["ZUNION", "3", "a", "b"], "ERR syntax error"),
        (&["ZUNION", "1", "str", "WEIGHTS", "x"], WRONGTYPE),
        (
            &["ZUNION", "2", "a", "b", "WEIGHTS", "1"],
            "ERR syntax error",
        ),
        (
            &["ZUNION", "2", "a", "b", "WEIGHTS", "1", "x"],
            "ERR weight value is not a float",
        ),
        (
            &["ZUNION", "1", "a", "AGGREGATE", "avg"],
            "ERR syntax error",
        ),
        (&["ZUNION", "1", "a", "AGGREGATE"], "ERR syntax error"),
        (
            &["ZUNIONSTORE", "d", "1", "a", "WITHSCORES"],
            "ERR syntax error",
        ),
        (&["ZDIFF", "1", "a", "WEIGHTS", "1"], "ERR syntax error"),
        (&["ZINTERCARD", "1", "a", "WITHSCORES"], "ERR syntax error"),
        (
            &["ZINTERCARD", "1", "a", "LIMIT", "-1"],
            "ERR LIMIT can't be negative",
        ),
        (
            &["ZINTERCARD", "1", "a", "LIMIT", "x"],
            "ERR LIMIT can't be negative",
        ),
    ];
    for (cmd, want) in cases {
        assert_eq!(h.run(cmd), e(want), "{cmd:?}");
    }
}

#[test]
fn store_forms_replace_and_delete_the_destination() {
    let mut h = Harness::new();
    h.run(&["ZADD", "a", "1", "x", "2", "y"]);
    h.run(&["ZADD", "b", "5", "y"]);
    let ttl = Some(h.ks.now_ms + 10_000);
    h.ks.put(0, Obj::new(b"d", NewValue::Str(b"old"), ttl));
    assert_eq!(h.run(&["ZUNIONSTORE", "d", "2", "a", "b"]), Reply::Int(2));
    assert_eq!(
        h.propagated(),
        prop(&[&["ZUNIONSTORE", "d", "2", "a", "b"]])
    );
    assert_eq!(h.ks.db(0).get(b"d").and_then(Obj::expire_ms), None);
    assert_eq!(h.run(&["ZSCORE", "d", "y"]), Reply::Double(7.0));
    assert_eq!(
        h.run(&["ZINTERSTORE", "d", "2", "a", "nokey"]),
        Reply::Int(0)
    );
    assert!(!exists(&h, "d"));
    assert_eq!(h.last.dirty, 1);
    assert_eq!(h.run(&["ZDIFFSTORE", "d", "2", "a", "a"]), Reply::Int(0));
    assert_eq!((h.last.dirty, h.propagated().len()), (0, 0));
    assert_eq!(h.run(&["ZDIFFSTORE", "a", "2", "a", "b"]), Reply::Int(1));
    assert_eq!(h.run(&["ZRANGE", "a", "0", "-1"]), arr(&["x"]));
}
