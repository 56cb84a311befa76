//! XRANGE, XREVRANGE and non-blocking XREAD.

use commands::testing::{bulk, Harness};
use resp::{Reply, RespVersion};

use crate::*;

fn sample(h: &mut Harness) {
    add(h, "s", "1-1", &["a", "1", "b", "2"]);
    add(h, "s", "1-2", &["a", "3", "b", "4"]);
    add(h, "s", "2-0", &["c", "5"]);
    add(h, "s", "3-0", &["a", "6", "b", "7"]);
}

#[test]
fn ranges_with_bounds_count_and_exclusion() {
    let mut h = Harness::new();
    sample(&mut h);
    let e11 = entry("1-1", &["a", "1", "b", "2"]);
    let e12 = entry("1-2", &["a", "3", "b", "4"]);
    let e20 = entry("2-0", &["c", "5"]);
    let e30 = entry("3-0", &["a", "6", "b", "7"]);
    let all = vec![e11.clone(), e12.clone(), e20.clone(), e30.clone()];
    assert_eq!(h.run(&["XRANGE", "s", "-", "+"]), arr(all.clone()));
    let mut rev = all.clone();
    rev.reverse();
    assert_eq!(h.run(&["XREVRANGE", "s", "+", "-"]), arr(rev));
    assert_eq!(
        h.run(&["XRANGE", "s", "-", "+", "COUNT", "2"]),
        arr(vec![e11.clone(), e12.clone()])
    );
    assert_eq!(
        h.run(&["XRANGE", "s", "-", "+", "count", "-1"]),
        Reply::NilArray
    );
    assert_eq!(
        h.run(&["XRANGE", "s", "-", "+", "COUNT", "5", "COUNT", "1"]),
        arr(vec![e11.clone()])
    );
    assert_eq!(
        h.run(&["XREVRANGE", "s", "+", "-", "COUNT", "1"]),
        arr(vec![e30.clone()])
    );
    // A bare millisecond means `ms-0` as a start and `ms-max` as an end.
    assert_eq!(
        h.run(&["XRANGE", "s", "1", "1"]),
        arr(vec![e11.clone(), e12.clone()])
    );
    assert_eq!(h.run(&["XREVRANGE", "s", "2", "2"]), arr(vec![e20.clone()]));
    assert_eq!(h.run(&["XRANGE", "s", "2", "1"]), arr(vec![]));
    assert_eq!(
        h.run(&["XRANGE", "s", "(1-1", "(3-0"]),
        arr(vec![e12.clone(), e20.clone()])
    );
    // An exclusive bare end is `(ms-max`: `(3` still includes 3-0.
    assert_eq!(
        h.run(&["XREVRANGE", "s", "(3", "(1-2"]),
        arr(vec![e30.clone(), e20.clone()])
    );
    // And an exclusive bare start is `(ms-0`.
    assert_eq!(h.run(&["XRANGE", "s", "(1", "+"]), arr(all.clone()));
    assert_eq!(h.run(&["XRANGE", "nokey", "-", "+"]), arr(vec![]));
    assert_eq!(h.run(&["XRANGE", "nokey", "x", "+"]), e(INVALID_ID));
    let cases: &[(&[&str], &str)] = &[
        (&["XRANGE", "s", "(-", "+"], INVALID_ID),
        (&["XRANGE", "s", "-", "(+"], INVALID_ID),
        (&["XRANGE", "s", "(", "+"], INVALID_ID),
        (
            &[
                "XRANGE",
                "s",
                "(18446744073709551615-18446744073709551615",
                "+",
            ],
            "ERR invalid start ID for the interval",
        ),
        (
            &["XRANGE", "s", "-", "(0-0"],
            "ERR invalid end ID for the interval",
        ),
        (
            &["XREVRANGE", "s", "(0-0", "-"],
            "ERR invalid end ID for the interval",
        ),
        (&["XRANGE", "s", "-", "+", "COUNT"], "ERR syntax error"),
        (&["XRANGE", "s", "-", "+", "FOO", "1"], "ERR syntax error"),
        (
            &["XRANGE", "s", "-", "+", "COUNT", "x"],
            "ERR value is not an integer or out of range",
        ),
        (&["XRANGE", "s", "1-x", "+"], INVALID_ID),
    ];
    for (cmd, want) in cases {
        assert_eq!(h.run(cmd), e(want), "{cmd:?}");
    }
    // Integers are stored as integers and come back as the same text.
    add(
        &mut h,
        "n",
        "1-0",
        &["1", "-12", "007", "9223372036854775807"],
    );
    assert_eq!(
        h.run(&["XRANGE", "n", "-", "+"]),
        arr(vec![entry(
            "1-0",
            &["1", "-12", "007", "9223372036854775807"]
        )])
    );
}

#[test]
fn large_ranges_cross_nodes_both_ways() {
    let mut h = Harness::new();
    for i in 0..1000u64 {
        add(
            &mut h,
            "s",
            &format!("{}-{}", 10 + i / 3, i % 3),
            &["k", &i.to_string()],
        );
    }
    let ids = |r: Reply| -> Vec<String> {
        let Reply::Array(items) = r else { panic!() };
        items
            .into_iter()
            .map(|i| match i {
                Reply::Array(mut p) => match p.remove(0) {
                    Reply::Bulk(b) => String::from_utf8_lossy(&b).into_owned(),
                    x => panic!("{x:?}"),
                },
                x => panic!("{x:?}"),
            })
            .collect()
    };
    let fwd = ids(h.run(&["XRANGE", "s", "100-1", "200-2"]));
    assert_eq!(fwd.len(), 3 * 101 - 1);
    let mut back = ids(h.run(&["XREVRANGE", "s", "200-2", "100-1"]));
    back.reverse();
    assert_eq!(fwd, back);
    assert_eq!(
        ids(h.run(&["XREVRANGE", "s", "+", "-", "COUNT", "2"])),
        ["343-0", "342-2"]
    );
    assert_eq!(ids(h.run(&["XRANGE", "s", "-", "5"])).len(), 0);
    assert_eq!(ids(h.run(&["XREVRANGE", "s", "5", "-"])).len(), 0);
}

#[test]
fn xread_serves_what_is_past_each_id() {
    let mut h = Harness::new();
    sample(&mut h);
    add(&mut h, "t", "5-0", &["x", "y"]);
    assert_eq!(
        h.run(&["XREAD", "COUNT", "1", "STREAMS", "s", "t", "1-1", "0"]),
        arr(vec![
            arr(vec![
                bulk("s"),
                arr(vec![entry("1-2", &["a", "3", "b", "4"])])
            ]),
            arr(vec![bulk("t"), arr(vec![entry("5-0", &["x", "y"])])]),
        ])
    );
    assert!(h.propagated().is_empty());
    assert_eq!(
        h.run(&["XREAD", "STREAMS", "s", "nokey", "3-0", "0"]),
        Reply::NilArray
    );
    assert_eq!(h.run(&["XREAD", "STREAMS", "s", "$"]), Reply::NilArray);
    // `+` is the last entry.
    assert_eq!(
        h.run(&["XREAD", "STREAMS", "s", "+"]),
        arr(vec![arr(vec![
            bulk("s"),
            arr(vec![entry("3-0", &["a", "6", "b", "7"])])
        ])])
    );
    assert_eq!(h.run(&["XREAD", "STREAMS", "nokey", "+"]), Reply::NilArray);
    assert_eq!(
        h.run(&["XREAD", "COUNT", "-5", "STREAMS", "s", "s", "2", "2-0"]),
        arr(vec![
            arr(vec![
                bulk("s"),
                arr(vec![entry("3-0", &["a", "6", "b", "7"])])
            ]),
            arr(vec![
                bulk("s"),
                arr(vec![entry("3-0", &["a", "6", "b", "7"])])
            ]),
        ])
    );
    h.resp = RespVersion::Resp3;
    assert_eq!(
        h.run(&["XREAD", "COUNT", "1", "STREAMS", "t", "0"]),
        Reply::Map(vec![(bulk("t"), arr(vec![entry("5-0", &["x", "y"])]))])
    );
    assert_eq!(h.wire(&["XREAD", "STREAMS", "t", "5"]), "_\r\n");
    // An empty stream made by XGROUP CREATE MKSTREAM has no last entry for `+`.
    h.run(&["XGROUP", "CREATE", "empty", "g", "$", "MKSTREAM"]);
    assert_eq!(
        h.run(&["XREAD", "STREAMS", "empty", "+"]),
        e("ERR the stream last element ID is 0-0")
    );
}

#[test]
fn xread_argument_errors() {
    let mut h = Harness::new();
    sample(&mut h);
    let cases: &[(&[&str], &str)] = &[
        (&["XREAD", "STREAMS", "s"], "ERR wrong number of arguments for 'xread' command"),
        (&["XREAD", "COUNT", "1", "STREAMS", "s"], "ERR Unbalanced 'xread' list of streams: for each stream key an ID or '$' must be specified."),
        (&["XREAD", "COUNT", "1", "s", "0"], "ERR syntax error"),
        (&["XREAD", "COUNT", "x", "STREAMS", "s", "0"], "ERR value is not an integer or out of range"),
        (&["XREAD", "BLOCK", "x", "STREAMS", "s", "0"], "ERR timeout is not an integer or out of range"),
        (&["XREAD", "BLOCK", "1.5", "STREAMS", "s", "0"], "ERR timeout is not an integer or out of range"),
        (&["XREAD", "BLOCK", "-1", "STREAMS", "s", "0"], "ERR timeout is negative"),
        (&["XREAD", "BLOCK", "9223372036854775807", "STREAMS", "s", "0"], "ERR timeout is out of range"),
        (&["XREAD", "GROUP", "g", "c", "STREAMS", "s", "0"], "ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead."),
        (&["XREAD", "NOACK", "STREAMS", "s", "0"], "ERR The NOACK option is only supported by XREADGROUP. You called XREAD instead."),
        (&["XREAD", "STREAMS", "s", ">"], "ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option."),
        (&["XREAD", "STREAMS", "s", "-"], INVALID_ID),
        (&["XREAD", "STREAMS", "s", "1-x"], INVALID_ID),
        (&["XREAD", "COUNT", "1", "COUNT"], "ERR syntax error"),
    ];
    for (cmd, want) in cases {
        assert_eq!(h.run(cmd), e(want), "{cmd:?}");
    }
}

#[test]
fn xread_key_positions() {
    let keys = |args: &[&str]| {
        let spec = commands::table::lookup(args[0].as_bytes()).expect("command");
        spec.keys.positions(&argv(args))
    };
    assert_eq!(
        keys(&["XREAD", "COUNT", "1", "STREAMS", "a", "b", "0", "0"]),
        [4, 5]
    );
    assert_eq!(keys(&["XREAD", "STREAMS", "streams", "0"]), [2]);
    assert_eq!(
        keys(&["XREAD", "STREAMS", "a", "b", "0"]),
        Vec::<usize>::new()
    );
    assert_eq!(
        keys(&[
            "XREADGROUP",
            "GROUP",
            "streams",
            "c",
            "NOACK",
            "BLOCK",
            "0",
            "STREAMS",
            "k",
            ">"
        ]),
        [8]
    );
    assert_eq!(
        keys(&["XREAD", "FOO", "STREAMS", "a", "0"]),
        Vec::<usize>::new()
    );
}
