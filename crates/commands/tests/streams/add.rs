//! XADD, XTRIM, XDEL, XSETID, XLEN: IDs, options, errors, trimming, propagation, events.

use commands::testing::{bulk, Harness};
use resp::{Reply, RespVersion};

use crate::*;

#[test]
fn xadd_generates_and_checks_ids() {
    let mut h = Harness::new();
    assert_eq!(
        h.run(&["XADD", "s", "*", "a", "1"]),
        bulk("1700000000000-0")
    );
    assert_eq!(
        h.propagated(),
        prop(&[&["XADD", "s", "1700000000000-0", "a", "1"]])
    );
    assert_eq!(
        h.run(&["XADD", "s", "*", "a", "2"]),
        bulk("1700000000000-1")
    );
    h.advance_ms(-5);
    assert_eq!(
        h.run(&["XADD", "s", "*", "a", "3"]),
        bulk("1700000000000-2")
    );
    assert_eq!(
        h.run(&["XADD", "s", "1700000000000-*", "a", "4"]),
        bulk("1700000000000-3")
    );
    assert_eq!(
        h.propagated(),
        prop(&[&["XADD", "s", "1700000000000-3", "a", "4"]])
    );
    assert_eq!(
        h.run(&["XADD", "s", "1800000000000-*", "a", "5"]),
        bulk("1800000000000-0")
    );
    assert_eq!(
        h.run(&["XADD", "s", "1800000000000-7", "a", "6"]),
        bulk("1800000000000-7")
    );
    assert_eq!(
        h.propagated(),
        prop(&[&["XADD", "s", "1800000000000-7", "a", "6"]])
    );
    let small = "ERR The ID specified in XADD is equal or smaller than the target stream top item";
    assert_eq!(h.run(&["XADD", "s", "1800000000000-7", "a", "7"]), e(small));
    assert_eq!(h.run(&["XADD", "s", "5-*", "a", "7"]), e(small));
    assert_eq!(h.run(&["XADD", "s", "5", "a", "7"]), e(small));
    assert!(h.propagated().is_empty());
    assert_eq!(
        h.run(&["XADD", "s", "1800000000000-18446744073709551615", "a", "8"]),
        bulk("1800000000000-18446744073709551615")
    );
    assert_eq!(h.run(&["XADD", "s", "1800000000000-*", "a", "9"]), e(small));
    assert_eq!(
        h.run(&[
            "XADD",
            "s",
            "18446744073709551615-18446744073709551615",
            "a",
            "9"
        ]),
        bulk("18446744073709551615-18446744073709551615")
    );
    let exhausted = "ERR The stream has exhausted the last possible ID, unable to add more items";
    assert_eq!(h.run(&["XADD", "s", "*", "a", "9"]), e(exhausted));
    assert_eq!(h.run(&["XLEN", "s"]), Reply::Int(8));
    assert_eq!(
        h.run(&["XADD", "t", "0-0", "a", "1"]),
        e("ERR The ID specified in XADD must be greater than 0-0")
    );
    assert!(!exists(&h, "t"));
    assert_eq!(h.run(&["XADD", "t", "0-*", "a", "1"]), bulk("0-1"));
    assert_eq!(
        h.run(&["XADD", "u", "0", "a", "1"]),
        e("ERR The ID specified in XADD must be greater than 0-0")
    );
    for bad in ["+", "-", "1-x", "x", "1-2-3", "-1"] {
        assert_eq!(h.run(&["XADD", "u", bad, "a", "1"]), e(INVALID_ID), "{bad}");
    }
    assert_eq!(h.run(&["XLEN", "nokey"]), Reply::Int(0));
}

#[test]
fn xadd_option_errors_in_valkeys_order() {
    let mut h = Harness::new();
    let arity = "ERR wrong number of arguments for 'xadd' command";
    let cases: &[(&[&str], &str)] = &[
        (&["XADD", "s", "*", "a"], arity),
        (&["XADD", "s", "*", "a", "1", "b"], arity),
        (&["XADD", "s", "MAXLEN", "1", "*"], arity),
        (
            &["XADD", "s", "MAXLEN", "1", "MINID", "2", "*", "a", "b"],
            "ERR syntax error, MAXLEN and MINID options at the same time are not compatible",
        ),
        (
            &["XADD", "s", "MAXLEN", "-1", "*", "a", "b"],
            "ERR The MAXLEN argument must be >= 0.",
        ),
        (
            &["XADD", "s", "MAXLEN", "x", "*", "a", "b"],
            "ERR value is not an integer or out of range",
        ),
        (&["XADD", "s", "MINID", "x", "*", "a", "b"], INVALID_ID),
        (&["XADD", "s", "MINID", "+", "*", "a", "b"], INVALID_ID),
        (
            &["XADD", "s", "LIMIT", "10", "*", "a", "b"],
            "ERR syntax error, LIMIT cannot be used without specifying a trimming strategy",
        ),
        (
            &["XADD", "s", "MAXLEN", "10", "LIMIT", "10", "*", "a", "b"],
            "ERR syntax error, LIMIT cannot be used without the special ~ option",
        ),
        (
            &[
                "XADD", "s", "MAXLEN", "~", "10", "LIMIT", "-1", "*", "a", "b",
            ],
            "ERR The LIMIT argument must be >= 0.",
        ),
        (
            &[
                "XADD", "s", "MAXLEN", "~", "10", "LIMIT", "x", "*", "a", "b",
            ],
            "ERR value is not an integer or out of range",
        ),
    ];
    for (cmd, want) in cases {
        assert_eq!(h.run(cmd), e(want), "{cmd:?}");
        assert!(!exists(&h, "s"), "{cmd:?}");
    }
    // LIMIT 0 passes the strategy check (Valkey tests the value) but not the `~` one.
    assert_eq!(
        h.run(&["XADD", "s", "LIMIT", "0", "1-1", "a", "b"]),
        e("ERR syntax error, LIMIT cannot be used without the special ~ option")
    );
    assert_eq!(h.run(&["XADD", "s", "1-1", "a", "b"]), bulk("1-1"));
    assert_eq!(
        h.run(&["XADD", "nokey", "NOMKSTREAM", "1-1", "a", "b"]),
        Reply::Nil
    );
    assert!(!exists(&h, "nokey"));
    assert_eq!(h.last.dirty, 0);
    assert_eq!(
        h.run(&["XADD", "s", "nomkstream", "2-1", "a", "b"]),
        bulk("2-1")
    );
    h.run(&["SET", "str", "x"]);
    assert_eq!(h.run(&["XADD", "str", "*", "a", "b"]), e(WRONGTYPE));
    assert_eq!(
        h.run(&["XADD", "str", "NOMKSTREAM", "*", "a", "b"]),
        e(WRONGTYPE)
    );
    // The ID is checked before the key.
    assert_eq!(
        h.run(&["XADD", "str", "0-0", "a", "b"]),
        e("ERR The ID specified in XADD must be greater than 0-0")
    );
}

#[test]
fn xadd_trims_and_propagates_the_exact_trim() {
    let mut h = notifying();
    for i in 1..=150 {
        add(&mut h, "s", &format!("{i}-0"), &["f", "v"]);
    }
    // ~ only removes whole nodes (100 entries each): nothing here, but still rewritten.
    assert_eq!(
        h.run(&["XADD", "s", "MAXLEN", "~", "120", "151-0", "f", "v"]),
        bulk("151-0")
    );
    assert_eq!(
        h.propagated(),
        prop(&[&["XADD", "s", "MAXLEN", "=", "151", "151-0", "f", "v"]])
    );
    assert_eq!(events(&h), ["xadd"]);
    assert_eq!(
        h.run(&["XADD", "s", "MAXLEN", "~", "10", "*", "f", "v"]),
        bulk("1700000000000-0")
    );
    assert_eq!(
        h.propagated(),
        prop(&[&[
            "XADD",
            "s",
            "MAXLEN",
            "=",
            "52",
            "1700000000000-0",
            "f",
            "v"
        ]])
    );
    assert_eq!(events(&h), ["xadd", "xtrim"]);
    assert_eq!(h.run(&["XLEN", "s"]), Reply::Int(52));
    // Exact trims are propagated as received (the ID rewritten when generated).
    assert_eq!(
        h.run(&["XADD", "s", "MAXLEN", "50", "*", "f", "v"]),
        bulk("1700000000000-1")
    );
    assert_eq!(
        h.propagated(),
        prop(&[&["XADD", "s", "MAXLEN", "50", "1700000000000-1", "f", "v"]])
    );
    assert_eq!(h.run(&["XLEN", "s"]), Reply::Int(50));
    assert_eq!(
        h.run(&[
            "XADD",
            "s",
            "MAXLEN",
            "=",
            "49",
            "1700000000001-0",
            "f",
            "v"
        ]),
        bulk("1700000000001-0")
    );
    assert_eq!(
        h.propagated(),
        prop(&[&[
            "XADD",
            "s",
            "MAXLEN",
            "=",
            "49",
            "1700000000001-0",
            "f",
            "v"
        ]])
    );
    assert_eq!(
        h.run(&["XRANGE", "s", "-", "+", "COUNT", "1"]),
        arr(vec![entry("106-0", &["f", "v"])])
    );
    // MINID, with and without ~, and LIMIT.
    assert_eq!(
        h.run(&["XADD", "s", "MINID", "110", "1700000000002-0", "f", "v"]),
        bulk("1700000000002-0")
    );
    assert_eq!(
        h.run(&["XRANGE", "s", "-", "+", "COUNT", "1"]),
        arr(vec![entry("110-0", &["f", "v"])])
    );
    assert_eq!(
        h.run(&[
            "XADD",
            "s",
            "MINID",
            "~",
            "120",
            "LIMIT",
            "1000",
            "1700000000003-0",
            "f",
            "v"
        ]),
        bulk("1700000000003-0")
    );
    assert_eq!(
        h.propagated(),
        // The first entry including deleted ones (`streamGetEdgeID(s, 1, 0, ...)`).
        prop(&[&[
            "XADD",
            "s",
            "MINID",
            "=",
            "101-0",
            "LIMIT",
            "1000",
            "1700000000003-0",
            "f",
            "v"
        ]])
    );
    assert_eq!(
        h.run(&["XADD", "s", "MAXLEN", "0", "1700000000004-0", "f", "v"]),
        bulk("1700000000004-0")
    );
    assert_eq!(h.run(&["XLEN", "s"]), Reply::Int(0));
    assert!(exists(&h, "s"));
}

#[test]
fn approximate_trims_follow_valkeys_node_boundaries() {
    let mut h = Harness::new();
    h.settings.stream.node_max_entries = 10;
    for i in 1..=100 {
        add(&mut h, "s", &format!("{i}-0"), &["xitem", "v"]);
    }
    // LIMIT stops before a node that would exceed it (stream.tcl's LIMIT tests).
    assert_eq!(
        h.run(&["XADD", "s", "MAXLEN", "~", "55", "LIMIT", "30", "101-0", "xitem", "v"]),
        bulk("101-0")
    );
    assert_eq!(
        h.propagated(),
        prop(&[&["XADD", "s", "MAXLEN", "=", "71", "LIMIT", "30", "101-0", "xitem", "v"]])
    );
    assert_eq!(h.run(&["XLEN", "s"]), Reply::Int(71));
    assert_eq!(
        h.run(&["XTRIM", "s", "MAXLEN", "~", "0", "LIMIT", "1"]),
        Reply::Int(0)
    );
    assert!(h.propagated().is_empty());
    assert_eq!(
        h.run(&["XTRIM", "s", "MAXLEN", "~", "0", "LIMIT", "20"]),
        Reply::Int(20)
    );
    assert_eq!(
        h.propagated(),
        prop(&[&["XTRIM", "s", "MAXLEN", "=", "51", "LIMIT", "20"]])
    );
    assert_eq!(h.run(&["XTRIM", "s", "MAXLEN", "~", "45"]), Reply::Int(0));
    assert_eq!(h.run(&["XTRIM", "s", "MAXLEN", "~", "40"]), Reply::Int(10));
    // MINID ~ removes a node only when its last entry is below the ID.
    assert_eq!(h.run(&["XTRIM", "s", "MINID", "~", "65"]), Reply::Int(0));
    assert!(h.propagated().is_empty());
    assert_eq!(h.run(&["XTRIM", "s", "MINID", "~", "71"]), Reply::Int(10));
    assert_eq!(
        h.propagated(),
        prop(&[&["XTRIM", "s", "MINID", "=", "71-0"]])
    );
    // Without ~ everything below MINID goes.
    assert_eq!(h.run(&["XTRIM", "s", "MINID", "75"]), Reply::Int(4));
    assert_eq!(h.propagated(), prop(&[&["XTRIM", "s", "MINID", "75"]]));
    // A primary's rewritten command may carry LIMIT without ~.
    h.ks.obey_all = true;
    assert_eq!(
        h.run(&["XTRIM", "s", "MAXLEN", "=", "20", "LIMIT", "5"]),
        Reply::Int(7)
    );
    h.ks.obey_all = false;
    assert_eq!(
        h.run(&["XTRIM", "s", "MAXLEN", "30", "LIMIT", "5"]),
        e("ERR syntax error, LIMIT cannot be used without the special ~ option")
    );
}

#[test]
fn xtrim_errors_and_events() {
    let mut h = notifying();
    assert_eq!(h.run(&["XTRIM", "nokey", "MAXLEN", "0"]), Reply::Int(0));
    h.run(&["SET", "str", "x"]);
    let cases: &[(&[&str], &str)] = &[
        (&["XTRIM", "str", "MAXLEN", "0"], WRONGTYPE),
        (&["XTRIM", "s", "FOO", "1"], "ERR syntax error"),
        (
            &["XTRIM", "s", "MAXLEN"],
            "ERR wrong number of arguments for 'xtrim' command",
        ),
        (
            &["XTRIM", "s", "LIMIT", "0"],
            "ERR syntax error, XTRIM must be called with a trimming strategy",
        ),
        (
            &["XTRIM", "s", "LIMIT", "1", "NOMKSTREAM"],
            "ERR syntax error",
        ),
        (
            &["XTRIM", "s", "MAXLEN", "1", "LIMIT", "1"],
            "ERR syntax error, LIMIT cannot be used without the special ~ option",
        ),
        (&["XTRIM", "s", "MINID", "-"], INVALID_ID),
        (
            &["XTRIM", "s", "MAXLEN", "~", "-1"],
            "ERR The MAXLEN argument must be >= 0.",
        ),
    ];
    for (cmd, want) in cases {
        assert_eq!(h.run(cmd), e(want), "{cmd:?}");
    }
    for i in 1..=5 {
        add(&mut h, "s", &format!("{i}-0"), &["f", "v"]);
    }
    assert_eq!(h.run(&["XTRIM", "s", "MAXLEN", "5"]), Reply::Int(0));
    assert!(h.propagated().is_empty());
    assert!(events(&h).is_empty());
    assert_eq!(h.run(&["XTRIM", "s", "MAXLEN", "3"]), Reply::Int(2));
    assert_eq!(h.last.dirty, 2);
    assert_eq!(h.propagated(), prop(&[&["XTRIM", "s", "MAXLEN", "3"]]));
    assert_eq!(events(&h), ["xtrim"]);
    let info = h.run(&["XINFO", "STREAM", "s"]);
    let Reply::Map(fields) = info else {
        panic!("{info:?}")
    };
    assert_eq!(fields[6], (bulk("recorded-first-entry-id"), bulk("3-0")));
}

#[test]
fn xdel_tracks_first_and_max_deleted_ids() {
    let mut h = notifying();
    for i in 1..=4 {
        add(&mut h, "s", &format!("{i}-0"), &["f", "v"]);
    }
    assert_eq!(h.run(&["XDEL", "s", "2-0", "2-0", "9-0"]), Reply::Int(1));
    assert_eq!(h.propagated(), prop(&[&["XDEL", "s", "2-0", "2-0", "9-0"]]));
    assert_eq!(events(&h), ["xdel"]);
    assert_eq!(h.run(&["XDEL", "s", "9-0"]), Reply::Int(0));
    assert!(h.propagated().is_empty() && events(&h).is_empty());
    assert_eq!(h.run(&["XDEL", "s", "1", "x"]), e(INVALID_ID));
    assert_eq!(h.run(&["XLEN", "s"]), Reply::Int(3));
    assert_eq!(h.run(&["XDEL", "s", "1"]), Reply::Int(1));
    assert_eq!(h.run(&["XDEL", "nokey", "x"]), Reply::Int(0));
    let info = h.run(&["XINFO", "STREAM", "s"]);
    let Reply::Map(f) = info else { panic!() };
    assert_eq!(f[4], (bulk("max-deleted-entry-id"), bulk("2-0")));
    assert_eq!(f[6], (bulk("recorded-first-entry-id"), bulk("3-0")));
    assert_eq!(h.run(&["XDEL", "s", "3-0", "4-0"]), Reply::Int(2));
    let Reply::Map(f) = h.run(&["XINFO", "STREAM", "s"]) else {
        panic!()
    };
    assert_eq!(f[0], (bulk("length"), Reply::Int(0)));
    assert_eq!(f[1], (bulk("radix-tree-keys"), Reply::Int(0)));
    assert_eq!(f[4], (bulk("max-deleted-entry-id"), bulk("4-0")));
    assert_eq!(f[6], (bulk("recorded-first-entry-id"), bulk("0-0")));
    assert!(exists(&h, "s"), "an emptied stream stays");
}

#[test]
fn xsetid_rules() {
    let mut h = notifying();
    assert_eq!(h.run(&["XSETID", "s", "1-1"]), e("ERR no such key"));
    add(&mut h, "s", "5-0", &["f", "v"]);
    add(&mut h, "s", "6-0", &["f", "v"]);
    h.run(&["XDEL", "s", "6-0"]);
    let cases: &[(&[&str], &str)] = &[
        (
            &["XSETID", "s", "4-0"],
            "ERR The ID specified in XSETID is smaller than current max_deleted_entry_id",
        ),
        (
            &["XSETID", "s", "5-5", "ENTRIESADDED", "0"],
            "ERR The ID specified in XSETID is smaller than current max_deleted_entry_id",
        ),
        (
            &["XSETID", "s", "7-0", "ENTRIESADDED", "0"],
            "ERR The entries_added specified in XSETID is smaller than the target stream length",
        ),
        (
            &["XSETID", "s", "7-0", "ENTRIESADDED", "-1"],
            "ERR entries_added must be positive",
        ),
        (
            &["XSETID", "s", "7-0", "MAXDELETEDID", "8-0"],
            "ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id",
        ),
        (&["XSETID", "s", "7-0", "MAXDELETEDID", "+"], INVALID_ID),
        (&["XSETID", "s", "7-0", "0"], "ERR syntax error"),
        (&["XSETID", "s", "7-0", "ENTRIESADDED"], "ERR syntax error"),
        (&["XSETID", "s", "+"], INVALID_ID),
        (
            &["XSETID", "s", "7-0", "ENTRIESADDED", "x"],
            "ERR value is not an integer or out of range",
        ),
    ];
    for (cmd, want) in cases {
        assert_eq!(h.run(cmd), e(want), "{cmd:?}");
    }
    assert_eq!(
        h.run(&[
            "XSETID",
            "s",
            "9-0",
            "ENTRIESADDED",
            "10",
            "MAXDELETEDID",
            "8-0"
        ]),
        Reply::Ok
    );
    assert_eq!(events(&h), ["xsetid"]);
    assert_eq!(
        h.propagated(),
        prop(&[&[
            "XSETID",
            "s",
            "9-0",
            "ENTRIESADDED",
            "10",
            "MAXDELETEDID",
            "8-0"
        ]])
    );
    assert_eq!(
        h.run(&["XADD", "s", "*", "f", "v"]),
        bulk("1700000000000-0")
    );
    let Reply::Map(f) = h.run(&["XINFO", "STREAM", "s"]) else {
        panic!()
    };
    assert_eq!(f[3], (bulk("last-generated-id"), bulk("1700000000000-0")));
    assert_eq!(f[4], (bulk("max-deleted-entry-id"), bulk("8-0")));
    assert_eq!(f[5], (bulk("entries-added"), Reply::Int(11)));
    // An empty stream accepts any last ID above its tombstone.
    h.run(&["XADD", "e", "MAXLEN", "0", "5-0", "f", "v"]);
    assert_eq!(h.run(&["XSETID", "e", "1-0"]), Reply::Ok);
    assert_eq!(h.run(&["XADD", "e", "2-0", "f", "v"]), bulk("2-0"));
}

#[test]
fn every_stream_command_checks_the_type() {
    let mut h = Harness::new();
    h.run(&["SET", "str", "x"]);
    let cmds: &[&[&str]] = &[
        &["XADD", "str", "*", "a", "1"],
        &["XRANGE", "str", "-", "+"],
        &["XREVRANGE", "str", "+", "-"],
        &["XLEN", "str"],
        &["XDEL", "str", "1-1"],
        &["XTRIM", "str", "MAXLEN", "0"],
        &["XSETID", "str", "1-1"],
        &["XREAD", "STREAMS", "str", "0"],
        &["XREADGROUP", "GROUP", "g", "c", "STREAMS", "str", ">"],
        &["XGROUP", "CREATE", "str", "g", "$"],
        &["XGROUP", "SETID", "str", "g", "$"],
        &["XGROUP", "DESTROY", "str", "g"],
        &["XGROUP", "CREATECONSUMER", "str", "g", "c"],
        &["XGROUP", "DELCONSUMER", "str", "g", "c"],
        &["XACK", "str", "g", "1-1"],
        &["XPENDING", "str", "g"],
        &["XCLAIM", "str", "g", "c", "0", "1-1"],
        &["XAUTOCLAIM", "str", "g", "c", "0", "0"],
        &["XINFO", "STREAM", "str"],
        &["XINFO", "GROUPS", "str"],
        &["XINFO", "CONSUMERS", "str", "g"],
    ];
    for c in cmds {
        assert_eq!(h.run(c), e(WRONGTYPE), "{c:?}");
        assert!(h.propagated().is_empty(), "{c:?}");
    }
}

#[test]
fn digests_match_valkey() {
    let mut h = Harness::new();
    h.run(&["XADD", "d", "1-1", "a", "1", "b", "xyz"]);
    h.run(&["XADD", "d", "1-2", "c", "007"]);
    let digest = |h: &Harness, k: &str| {
        let obj = h.ks.db(0).get(k.as_bytes()).expect("key");
        keyspace::digest::hex(&keyspace::digest::value_digest(obj))
    };
    // DEBUG DIGEST-VALUE in Valkey 8.0.1 for the same commands.
    assert_eq!(digest(&h, "d"), "b4886c4ec96c2e82a5a51c15b7167d8d2ca65b6a");
    for i in 0..250 {
        h.run(&["XADD", "s", &format!("1-{i}"), "f", "v"]);
    }
    assert_eq!(digest(&h, "s"), "117ea58560ff64a72630aa2f275af31ff1527d0f");
    // Groups are not part of the digest.
    h.run(&["XGROUP", "CREATE", "s", "g", "0"]);
    h.run(&[
        "XREADGROUP",
        "GROUP",
        "g",
        "c",
        "COUNT",
        "3",
        "STREAMS",
        "s",
        ">",
    ]);
    assert_eq!(digest(&h, "s"), "117ea58560ff64a72630aa2f275af31ff1527d0f");
}

#[test]
fn replies_are_the_same_in_resp3() {
    let mut h = Harness::new();
    h.resp = RespVersion::Resp3;
    assert_eq!(h.wire(&["XADD", "s", "1-1", "a", "1"]), "$3\r\n1-1\r\n");
    assert_eq!(h.wire(&["XADD", "n", "NOMKSTREAM", "*", "a", "1"]), "_\r\n");
    assert_eq!(h.wire(&["XLEN", "s"]), ":1\r\n");
    assert_eq!(h.wire(&["XRANGE", "s", "-", "+", "COUNT", "0"]), "_\r\n");
    h.resp = RespVersion::Resp2;
    assert_eq!(h.wire(&["XRANGE", "s", "-", "+", "COUNT", "0"]), "*-1\r\n");
    assert_eq!(
        h.wire(&["XADD", "n", "NOMKSTREAM", "*", "a", "1"]),
        "$-1\r\n"
    );
}

#[test]
fn creating_a_stream_raises_new_first() {
    let mut h = notifying();
    h.settings.notify_classes |= commands::notify::NEW;
    h.run(&["XADD", "s", "1-0", "f", "v"]);
    assert_eq!(events(&h), ["new", "xadd"]);
    h.run(&["XADD", "s", "2-0", "f", "v"]);
    assert_eq!(events(&h), ["xadd"]);
    h.run(&["XGROUP", "CREATE", "m", "g", "$", "MKSTREAM"]);
    assert_eq!(events(&h), ["new", "xgroup-create"]);
    h.run(&["XADD", "e", "MAXLEN", "0", "1-0", "f", "v"]);
    assert_eq!(events(&h), ["new", "xadd", "xtrim"]);
}
