//! ZRANGE and its variants, ZRANGESTORE, ZCOUNT/ZLEXCOUNT, ZREMRANGEBY*.

use commands::testing::Harness;
use keyspace::{NewValue, Obj};
use resp::{Reply, RespVersion};
use types::rand::Rng;

use crate::*;

#[test]
fn zrange_shapes_in_both_protocols() {
    let mut h = Harness::new();
    h.run(&["ZADD", "z", "1", "a", "2.5", "b", "3", "c"]);
    assert_eq!(h.run(&["ZRANGE", "z", "0", "-1"]), arr(&["a", "b", "c"]));
    assert_eq!(
        h.wire(&["ZRANGE", "z", "0", "1", "WITHSCORES"]),
        "*4\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$3\r\n2.5\r\n"
    );
    h.resp = RespVersion::Resp3;
    assert_eq!(
        h.wire(&["ZRANGE", "z", "0", "1", "WITHSCORES"]),
        "*2\r\n*2\r\n$1\r\na\r\n,1\r\n*2\r\n$1\r\nb\r\n,2.5\r\n"
    );
    assert_eq!(h.wire(&["ZRANGE", "nokey", "0", "-1"]), "*0\r\n");
    assert_eq!(
        h.wire(&["ZREVRANGE", "z", "0", "0", "WITHSCORES"]),
        "*1\r\n*2\r\n$1\r\nc\r\n,3\r\n"
    );
}

#[test]
fn zrange_variants() {
    let mut h = Harness::new();
    h.run(&[
        "ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e", "6", "f",
    ]);
    let cases: &[(&[&str], &[&str])] = &[
        (&["ZRANGE", "z", "-2", "-1"], &["e", "f"]),
        (&["ZRANGE", "z", "-100", "1"], &["a", "b"]),
        (&["ZRANGE", "z", "3", "1"], &[]),
        (&["ZRANGE", "z", "0", "1", "REV"], &["f", "e"]),
        (
            &["ZRANGE", "z", "0", "-1", "LIMIT", "3", "-1"],
            &["a", "b", "c", "d", "e", "f"],
        ),
        (&["ZRANGE", "z", "(2", "4", "BYSCORE"], &["c", "d"]),
        (
            &["ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", "1", "2"],
            &["b", "c"],
        ),
        (
            &["ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", "-1", "2"],
            &[],
        ),
        (
            &["ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", "4", "-5"],
            &["e", "f"],
        ),
        (
            &["ZRANGE", "z", "4", "2", "BYSCORE", "REV"],
            &["d", "c", "b"],
        ),
        (
            &[
                "ZRANGE", "z", "+inf", "-inf", "BYSCORE", "REV", "LIMIT", "1", "2",
            ],
            &["e", "d"],
        ),
        (&["ZRANGE", "z", "[b", "(e", "BYLEX"], &["b", "c", "d"]),
        (
            &["ZRANGE", "z", "+", "-", "BYLEX", "REV", "LIMIT", "1", "2"],
            &["e", "d"],
        ),
        (&["ZREVRANGE", "z", "1", "2"], &["e", "d"]),
        (&["ZRANGEBYSCORE", "z", "(1", "(6"], &["b", "c", "d", "e"]),
        (&["ZRANGEBYSCORE", "z", "4", "2"], &[]),
        (&["ZRANGEBYSCORE", "z", "(2", "2"], &[]),
        (&["ZRANGEBYSCORE", "z", "", "1"], &["a"]),
        (&["ZRANGEBYSCORE", "z", " 5", "1e400"], &["e", "f"]),
        (
            &["ZREVRANGEBYSCORE", "z", "+inf", "-inf", "LIMIT", "1", "2"],
            &["e", "d"],
        ),
        (&["ZRANGEBYLEX", "z", "(c", "+", "LIMIT", "1", "1"], &["e"]),
        (&["ZRANGEBYLEX", "z", "[", "[b"], &["a", "b"]),
        (&["ZREVRANGEBYLEX", "z", "[d", "[b"], &["d", "c", "b"]),
        (
            &["ZREVRANGEBYLEX", "z", "+", "-", "LIMIT", "5", "5"],
            &["a"],
        ),
    ];
    for (cmd, want) in cases {
        assert_eq!(h.run(cmd), arr(want), "{cmd:?}");
    }
}

#[test]
fn zrange_errors_in_redis_order() {
    let mut h = Harness::new();
    h.run(&["ZADD", "z", "1", "a"]);
    h.run(&["SET", "s", "x"]);
    let limit_rank =
        "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX";
    let cases: &[(&[&str], &str)] = &[
        (&["ZRANGE", "z", "0", "-1", "LIMIT", "0", "1"], limit_rank),
        (
            &["ZREVRANGE", "z", "0", "-1", "LIMIT", "0", "1"],
            limit_rank,
        ),
        (
            &["ZRANGE", "z", "0", "-1", "LIMIT", "x", "1"],
            "ERR value is not an integer or out of range",
        ),
        (
            &["ZRANGE", "z", "0", "-1", "LIMIT", "1"],
            "ERR syntax error",
        ),
        (
            &["ZRANGE", "z", "-", "+", "BYLEX", "WITHSCORES"],
            "ERR syntax error, WITHSCORES not supported in combination with BYLEX",
        ),
        (
            &["ZRANGEBYLEX", "z", "-", "+", "WITHSCORES"],
            "ERR syntax error, WITHSCORES not supported in combination with BYLEX",
        ),
        (
            &["ZRANGE", "z", "0", "-1", "REV", "REV"],
            "ERR syntax error",
        ),
        (
            &["ZRANGE", "z", "0", "-1", "BYSCORE", "BYLEX"],
            "ERR syntax error",
        ),
        (&["ZREVRANGE", "z", "0", "-1", "REV"], "ERR syntax error"),
        (
            &["ZRANGEBYSCORE", "z", "0", "1", "BYSCORE"],
            "ERR syntax error",
        ),
        (
            &["ZRANGE", "z", "a", "1"],
            "ERR value is not an integer or out of range",
        ),
        (
            &["ZRANGE", "z", "x", "1", "BYSCORE"],
            "ERR min or max is not a float",
        ),
        (
            &["ZRANGEBYSCORE", "z", "nan", "1"],
            "ERR min or max is not a float",
        ),
        (
            &["ZRANGEBYSCORE", "z", "1 ", "2"],
            "ERR min or max is not a float",
        ),
        (
            &["ZRANGEBYLEX", "z", "a", "+"],
            "ERR min or max not valid string range item",
        ),
        (
            &["ZRANGEBYLEX", "z", "", "+"],
            "ERR min or max not valid string range item",
        ),
        (
            &["ZRANGEBYLEX", "z", "-", "++"],
            "ERR min or max not valid string range item",
        ),
        (
            &["ZRANGESTORE", "d", "z", "0", "-1", "WITHSCORES"],
            "ERR syntax error",
        ),
        (&["ZRANGE", "s", "0", "-1"], WRONGTYPE),
        (
            &["ZRANGE", "s", "x", "1"],
            "ERR value is not an integer or out of range",
        ),
    ];
    for (cmd, want) in cases {
        assert_eq!(h.run(cmd), e(want), "{cmd:?}");
    }
}

#[test]
fn counts_and_removals_by_range() {
    let mut h = Harness::new();
    h.run(&[
        "ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e", "6", "f",
    ]);
    assert_eq!(h.run(&["ZCOUNT", "z", "(2", "4"]), Reply::Int(2));
    assert_eq!(h.run(&["ZCOUNT", "z", "4", "2"]), Reply::Int(0));
    assert_eq!(h.run(&["ZCOUNT", "nokey", "0", "1"]), Reply::Int(0));
    assert_eq!(h.run(&["ZLEXCOUNT", "z", "[b", "(d"]), Reply::Int(2));
    assert_eq!(
        h.run(&["ZCOUNT", "z", "a", "1"]),
        e("ERR min or max is not a float")
    );
    assert_eq!(
        h.run(&["ZLEXCOUNT", "z", "a", "+"]),
        e("ERR min or max not valid string range item")
    );
    assert_eq!(h.run(&["ZREMRANGEBYRANK", "z", "10", "20"]), Reply::Int(0));
    assert_eq!(h.propagated().len(), 0);
    assert_eq!(h.run(&["ZREMRANGEBYRANK", "z", "-1", "-1"]), Reply::Int(1));
    assert_eq!(
        h.propagated(),
        prop(&[&["ZREMRANGEBYRANK", "z", "-1", "-1"]])
    );
    assert_eq!(h.run(&["ZREMRANGEBYSCORE", "z", "(1", "2"]), Reply::Int(1));
    assert_eq!(h.run(&["ZREMRANGEBYLEX", "z", "[c", "[d"]), Reply::Int(2));
    assert_eq!(h.last.dirty, 2);
    assert_eq!(h.run(&["ZRANGE", "z", "0", "-1"]), arr(&["a", "e"]));
    assert_eq!(
        h.run(&["ZREMRANGEBYRANK", "z", "a", "1"]),
        e("ERR value is not an integer or out of range")
    );
    assert_eq!(
        h.run(&["ZREMRANGEBYSCORE", "z", "-inf", "+inf"]),
        Reply::Int(2)
    );
    assert!(!exists(&h, "z"));
    h.run(&["SET", "s", "x"]);
    assert_eq!(h.run(&["ZREMRANGEBYLEX", "s", "-", "+"]), e(WRONGTYPE));
    assert_eq!(h.run(&["ZCOUNT", "s", "0", "1"]), e(WRONGTYPE));
}

#[test]
fn zrangestore_replaces_or_deletes_the_destination() {
    let mut h = Harness::new();
    h.run(&["ZADD", "z", "1", "a", "2", "b", "3", "c"]);
    let ttl = Some(h.ks.now_ms + 10_000);
    h.ks.put(0, Obj::new(b"d", NewValue::Str(b"old"), ttl));
    assert_eq!(
        h.run(&["ZRANGESTORE", "d", "z", "3", "2", "BYSCORE", "REV"]),
        Reply::Int(2)
    );
    assert_eq!(h.ks.db(0).get(b"d").and_then(Obj::expire_ms), None);
    assert_eq!(
        h.wire(&["ZRANGE", "d", "0", "-1", "WITHSCORES"]),
        "*4\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n3\r\n"
    );
    assert_eq!(h.run(&["ZRANGESTORE", "d", "z", "5", "9"]), Reply::Int(0));
    assert!(!exists(&h, "d"));
    assert_eq!(h.last.dirty, 1);
    assert_eq!(
        h.run(&["ZRANGESTORE", "d", "nokey", "0", "-1"]),
        Reply::Int(0)
    );
    assert_eq!((h.last.dirty, h.propagated().len()), (0, 0));
    assert_eq!(h.run(&["ZRANGESTORE", "z", "z", "0", "0"]), Reply::Int(1));
    assert_eq!(h.run(&["ZRANGE", "z", "0", "-1"]), arr(&["a"]));
}

/// Both encodings answer every range query like a sorted model.
#[test]
fn encodings_agree_with_a_model() {
    let mut rng = Rng::new(42);
    let mut lp = Harness::new();
    lp.settings.zset.max_entries = 1000;
    let mut sl = skiplist_harness();
    let mut model: Vec<(f64, String)> = Vec::new();
    for _ in 0..300 {
        let m = format!("m{:03}", rng.below(200));
        let s = (rng.below(40) as f64) / 4.0 - 5.0;
        for h in [&mut lp, &mut sl] {
            h.run(&["ZADD", "z", &s.to_string(), &m]);
        }
        model.retain(|x| x.1 != m);
        model.push((s, m));
    }
    model.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap().then(a.1.cmp(&b.1)));
    assert_eq!((enc(&lp, "z"), enc(&sl, "z")), ("listpack", "skiplist"));
    for _ in 0..200 {
        let lo = (rng.below(48) as f64) / 4.0 - 6.0;
        let hi = lo + (rng.below(20) as f64) / 4.0;
        let (off, cnt) = (rng.below(10).to_string(), rng.below(15).to_string());
        let (lo_s, hi_s) = (format!("({lo}"), hi.to_string());
        let want: Vec<&str> = model
            .iter()
            .filter(|(s, _)| *s > lo && *s <= hi)
            .map(|x| x.1.as_str())
            .collect();
        let queries: Vec<Vec<&str>> = vec![
            vec!["ZRANGEBYSCORE", "z", &lo_s, &hi_s],
            vec![
                "ZREVRANGEBYSCORE",
                "z",
                &hi_s,
                &lo_s,
                "WITHSCORES",
                "LIMIT",
                &off,
                &cnt,
            ],
            vec!["ZRANGE", "z", &off, &cnt, "REV", "WITHSCORES"],
            vec!["ZCOUNT", "z", &lo_s, &hi_s],
            vec!["ZRANK", "z", want.first().copied().unwrap_or("m000")],
        ];
        assert_eq!(lp.run(&queries[0]), arr(&want));
        for q in &queries {
            assert_eq!(lp.run(q), sl.run(q), "{q:?}");
        }
    }
    assert_eq!(
        lp.run(&["ZPOPMAX", "z", "7"]),
        sl.run(&["ZPOPMAX", "z", "7"])
    );
    assert_eq!(
        lp.run(&["ZREMRANGEBYSCORE", "z", "-1", "1"]),
        sl.run(&["ZREMRANGEBYSCORE", "z", "-1", "1"])
    );
    assert_eq!(
        lp.run(&["ZRANGE", "z", "0", "-1", "WITHSCORES"]),
        sl.run(&["ZRANGE", "z", "0", "-1", "WITHSCORES"])
    );
}
