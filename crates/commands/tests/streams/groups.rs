//! XGROUP, XREADGROUP (non-blocking), XACK and XPENDING.

use commands::testing::{bulk, Harness};
use resp::{Reply, RespVersion};

use crate::*;

fn sample(h: &mut Harness) {
    add(h, "s", "1-1", &["a", "1"]);
    add(h, "s", "2-1", &["b", "2"]);
    add(h, "s", "3-1", &["c", "3"]);
}

#[test]
fn xgroup_subcommands_errors_and_events() {
    let mut h = notifying();
    sample(&mut h);
    let no_key = "ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically.";
    let cases: &[(&[&str], &str)] = &[
        (&["XGROUP", "CREATE", "nokey", "g", "$"], no_key),
        (&["XGROUP", "SETID", "nokey", "g", "$"], no_key),
        (&["XGROUP", "DESTROY", "nokey", "g"], no_key),
        (&["XGROUP", "CREATECONSUMER", "nokey", "g", "c"], no_key),
        (
            &["XGROUP", "CREATE", "s", "g", "$", "ENTRIESREAD", "-2"],
            "ERR value for ENTRIESREAD must be positive or -1",
        ),
        (
            &["XGROUP", "CREATE", "s", "g", "$", "ENTRIESREAD", "x"],
            "ERR value is not an integer or out of range",
        ),
        (
            &["XGROUP", "CREATE", "s", "g", "$", "FOO"],
            "ERR unknown subcommand or wrong number of arguments for 'CREATE'. Try XGROUP HELP.",
        ),
        (
            &["XGROUP", "CREATE", "s", "g", "$", "ENTRIESREAD"],
            "ERR unknown subcommand or wrong number of arguments for 'CREATE'. Try XGROUP HELP.",
        ),
        (
            &[
                "XGROUP", "CREATE", "s", "g", "$", "MKSTREAM", "MKSTREAM", "MKSTREAM", "MKSTREAM",
            ],
            "ERR unknown subcommand or wrong number of arguments for 'CREATE'. Try XGROUP HELP.",
        ),
        (
            &["xgroup", "setid", "s", "g", "$", "MKSTREAM"],
            "ERR unknown subcommand or wrong number of arguments for 'setid'. Try XGROUP HELP.",
        ),
        (&["XGROUP", "CREATE", "s", "g", "+"], INVALID_ID),
        (
            &["XGROUP", "SETID", "s", "nog", "0"],
            "NOGROUP No such consumer group 'nog' for key name 's'",
        ),
        (
            &["XGROUP", "CREATECONSUMER", "s", "nog", "c"],
            "NOGROUP No such consumer group 'nog' for key name 's'",
        ),
        (
            &["XGROUP", "DELCONSUMER", "s", "nog", "c"],
            "NOGROUP No such consumer group 'nog' for key name 's'",
        ),
        (
            &["XGROUP", "FOO"],
            "ERR unknown subcommand 'FOO'. Try XGROUP HELP.",
        ),
    ];
    for (cmd, want) in cases {
        assert_eq!(h.run(cmd), e(want), "{cmd:?}");
        assert!(events(&h).is_empty(), "{cmd:?}");
    }
    assert_eq!(h.run(&["XGROUP", "CREATE", "s", "g", "0"]), Reply::Ok);
    assert_eq!(events(&h), ["xgroup-create"]);
    assert_eq!(
        h.propagated(),
        prop(&[&["XGROUP", "CREATE", "s", "g", "0"]])
    );
    assert_eq!(
        h.run(&["XGROUP", "CREATE", "s", "g", "$"]),
        e("BUSYGROUP Consumer Group name already exists")
    );
    assert!(h.propagated().is_empty());
    assert_eq!(
        h.run(&["XGROUP", "CREATE", "s", "g2", "$", "ENTRIESREAD", "3"]),
        Reply::Ok
    );
    assert_eq!(
        h.run(&["XGROUP", "CREATE", "m", "g", "$", "MKSTREAM"]),
        Reply::Ok
    );
    assert_eq!(h.run(&["XLEN", "m"]), Reply::Int(0));
    assert_eq!(
        h.run(&["XGROUP", "CREATECONSUMER", "s", "g", "alice"]),
        Reply::Int(1)
    );
    assert_eq!(events(&h), ["xgroup-createconsumer"]);
    assert_eq!(
        h.propagated(),
        prop(&[&["XGROUP", "CREATECONSUMER", "s", "g", "alice"]])
    );
    assert_eq!(
        h.run(&["XGROUP", "CREATECONSUMER", "s", "g", "alice"]),
        Reply::Int(0)
    );
    assert!(h.propagated().is_empty() && events(&h).is_empty());
    assert_eq!(
        h.run(&["XGROUP", "SETID", "s", "g2", "-", "ENTRIESREAD", "0"]),
        Reply::Ok
    );
    assert_eq!(events(&h), ["xgroup-setid"]);
    assert_eq!(h.run(&["XGROUP", "SETID", "s", "g2", "$"]), Reply::Ok);
    assert_eq!(h.run(&["XGROUP", "SETID", "s", "g2", "x"]), e(INVALID_ID));
    h.run(&["XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", ">"]);
    assert_eq!(
        h.run(&["XGROUP", "DELCONSUMER", "s", "g", "alice"]),
        Reply::Int(3)
    );
    assert_eq!(events(&h), ["xgroup-delconsumer"]);
    assert_eq!(
        h.run(&["XGROUP", "DELCONSUMER", "s", "g", "alice"]),
        Reply::Int(0)
    );
    assert!(h.propagated().is_empty());
    assert_eq!(
        h.run(&["XPENDING", "s", "g"]),
        arr(vec![Reply::Int(0), Reply::Nil, Reply::Nil, Reply::NilArray])
    );
    assert_eq!(h.run(&["XGROUP", "DESTROY", "s", "g2"]), Reply::Int(1));
    assert_eq!(events(&h), ["xgroup-destroy"]);
    assert_eq!(h.run(&["XGROUP", "DESTROY", "s", "g2"]), Reply::Int(0));
    assert!(h.propagated().is_empty());
    let help = h.run(&["xgroup", "help"]);
    let Reply::Array(lines) = help else { panic!() };
    assert_eq!(lines.len(), 17);
    assert_eq!(
        lines[0],
        Reply::status("XGROUP <subcommand> [<arg> [value] [opt] ...]. Subcommands are:")
    );
    assert_eq!(lines[16], Reply::status("    Print this help."));
}

#[test]
fn xreadgroup_delivers_tracks_and_propagates() {
    let mut h = notifying();
    sample(&mut h);
    h.run(&["XGROUP", "CREATE", "s", "g", "0"]);
    assert_eq!(
        h.run(&[
            "XREADGROUP",
            "GROUP",
            "g",
            "alice",
            "COUNT",
            "1",
            "STREAMS",
            "s",
            ">"
        ]),
        arr(vec![arr(vec![
            bulk("s"),
            arr(vec![entry("1-1", &["a", "1"])])
        ])])
    );
    assert_eq!(events(&h), ["xgroup-createconsumer"]);
    assert_eq!(h.last.dirty, 2);
    assert_eq!(
        h.propagated(),
        prop(&[
            &[
                "XCLAIM",
                "s",
                "g",
                "alice",
                "0",
                "1-1",
                "TIME",
                "1700000000000",
                "RETRYCOUNT",
                "1",
                "FORCE",
                "JUSTID",
                "LASTID",
                "1-1"
            ],
            &["XGROUP", "SETID", "s", "g", "1-1", "ENTRIESREAD", "1"],
        ])
    );
    h.advance_ms(5);
    assert_eq!(
        h.run(&["XREADGROUP", "GROUP", "g", "bob", "STREAMS", "s", ">"]),
        arr(vec![arr(vec![
            bulk("s"),
            arr(vec![entry("2-1", &["b", "2"]), entry("3-1", &["c", "3"])])
        ])])
    );
    assert_eq!(h.propagated().len(), 3);
    assert_eq!(
        h.run(&["XREADGROUP", "GROUP", "g", "bob", "STREAMS", "s", ">"]),
        Reply::NilArray
    );
    assert!(h.propagated().is_empty());
    // History: the consumer's own PEL from the given ID, each read counting a delivery.
    assert_eq!(
        h.run(&["XREADGROUP", "GROUP", "g", "bob", "STREAMS", "s", "0"]),
        arr(vec![arr(vec![
            bulk("s"),
            arr(vec![entry("2-1", &["b", "2"]), entry("3-1", &["c", "3"])])
        ])])
    );
    assert_eq!(h.last.dirty, 1);
    assert!(h.propagated().is_empty());
    assert_eq!(
        h.run(&[
            "XREADGROUP",
            "GROUP",
            "g",
            "bob",
            "COUNT",
            "1",
            "STREAMS",
            "s",
            "2-1"
        ]),
        arr(vec![arr(vec![
            bulk("s"),
            arr(vec![entry("3-1", &["c", "3"])])
        ])])
    );
    // A deleted entry shows as [id, nil].
    h.run(&["XDEL", "s", "2-1"]);
    assert_eq!(
        h.run(&["XREADGROUP", "GROUP", "g", "bob", "STREAMS", "s", "0"]),
        arr(vec![arr(vec![
            bulk("s"),
            arr(vec![
                arr(vec![bulk("2-1"), Reply::NilArray]),
                entry("3-1", &["c", "3"])
            ])
        ])])
    );
    // An empty history is an empty array, not nil.
    assert_eq!(
        h.run(&["XREADGROUP", "GROUP", "g", "carol", "STREAMS", "s", "0"]),
        arr(vec![arr(vec![bulk("s"), arr(vec![])])])
    );
    assert_eq!(
        h.run(&["XPENDING", "s", "g", "-", "+", "10"]),
        arr(vec![
            arr(vec![
                bulk("1-1"),
                bulk("alice"),
                Reply::Int(5),
                Reply::Int(1)
            ]),
            arr(vec![bulk("2-1"), bulk("bob"), Reply::Int(0), Reply::Int(2)]),
            arr(vec![bulk("3-1"), bulk("bob"), Reply::Int(0), Reply::Int(4)]),
        ])
    );
    h.resp = RespVersion::Resp3;
    assert_eq!(
        h.run(&[
            "XREADGROUP",
            "GROUP",
            "g",
            "bob",
            "COUNT",
            "1",
            "STREAMS",
            "s",
            "2-1"
        ]),
        Reply::Map(vec![(bulk("s"), arr(vec![entry("3-1", &["c", "3"])]))])
    );
}

#[test]
fn xreadgroup_noack_and_argument_errors() {
    let mut h = Harness::new();
    sample(&mut h);
    h.run(&["XGROUP", "CREATE", "s", "g", "0"]);
    assert_eq!(
        h.run(&[
            "XREADGROUP",
            "GROUP",
            "g",
            "c",
            "NOACK",
            "COUNT",
            "2",
            "STREAMS",
            "s",
            ">"
        ]),
        arr(vec![arr(vec![
            bulk("s"),
            arr(vec![entry("1-1", &["a", "1"]), entry("2-1", &["b", "2"])])
        ])])
    );
    assert_eq!(
        h.propagated(),
        prop(&[
            &["XGROUP", "CREATECONSUMER", "s", "g", "c"],
            &["XGROUP", "SETID", "s", "g", "2-1", "ENTRIESREAD", "2"],
        ])
    );
    assert_eq!(
        h.run(&["XPENDING", "s", "g"]),
        arr(vec![Reply::Int(0), Reply::Nil, Reply::Nil, Reply::NilArray])
    );
    let nogroup = |k: &str, g: &str| {
        e(&format!(
            "NOGROUP No such key '{k}' or consumer group '{g}' in XREADGROUP with GROUP option"
        ))
    };
    let cases: Vec<(&[&str], Reply)> = vec![
        (&["XREADGROUP", "GROUP", "nog", "c", "STREAMS", "s", ">"], nogroup("s", "nog")),
        (&["XREADGROUP", "GROUP", "g", "c", "STREAMS", "nokey", ">"], nogroup("nokey", "g")),
        (&["XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", "$"], e("ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would just return an empty result set.")),
        (&["XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", "+"], e("ERR The + ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer by specifying a proper ID, or use the > ID to get new messages. The + ID would just return an empty result set.")),
        (&["XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", ">", "s"], e("ERR Unbalanced 'xreadgroup' list of streams: for each stream key an ID or '>' must be specified.")),
        (&["XREADGROUP", "COUNT", "1", "NOACK", "STREAMS", "s", ">"], e("ERR Missing GROUP option for XREADGROUP")),
        (&["XREADGROUP", "GROUP", "g", "c", "FOO", "STREAMS", "s", ">"], e("ERR syntax error")),
        (&["XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", "x"], e(INVALID_ID)),
        (&["XREADGROUP", "GROUP", "g", "c", "STREAMS"], e("ERR wrong number of arguments for 'xreadgroup' command")),
    ];
    for (cmd, want) in cases {
        assert_eq!(h.run(cmd), want, "{cmd:?}");
        assert!(h.propagated().is_empty(), "{cmd:?}");
    }
    // Key names in errors are cut at a NUL and kept on one line, as Valkey's.
    assert_eq!(
        h.run(&["XREADGROUP", "GROUP", "g\r\nx", "c", "STREAMS", "s", ">"]),
        nogroup("s", "g  x")
    );
}

#[test]
fn read_counter_and_lag() {
    let mut h = Harness::new();
    for i in 1..=5 {
        add(&mut h, "s", &format!("{i}-0"), &["f", "v"]);
    }
    h.run(&["XGROUP", "CREATE", "s", "g", "0"]);
    let group_info = |h: &mut Harness| {
        let Reply::Array(mut groups) = h.run(&["XINFO", "GROUPS", "s"]) else {
            panic!()
        };
        let Reply::Map(fields) = groups.remove(0) else {
            panic!()
        };
        (fields[4].1.clone(), fields[5].1.clone())
    };
    // Created without ENTRIESREAD: the counter is unknown, the lag estimated.
    assert_eq!(group_info(&mut h), (Reply::Nil, Reply::Int(5)));
    h.run(&[
        "XREADGROUP",
        "GROUP",
        "g",
        "c",
        "COUNT",
        "2",
        "STREAMS",
        "s",
        ">",
    ]);
    assert_eq!(group_info(&mut h), (Reply::Int(2), Reply::Int(3)));
    // A tombstone after the group's position makes the lag unknown...
    h.run(&["XDEL", "s", "4-0"]);
    assert_eq!(group_info(&mut h), (Reply::Int(2), Reply::Nil));
    // ...until the group reads past it.
    h.run(&["XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", ">"]);
    assert_eq!(group_info(&mut h), (Reply::Int(5), Reply::Int(0)));
    // SETID without ENTRIESREAD makes the counter unknown; the lag is then estimated.
    h.run(&["XGROUP", "SETID", "s", "g", "0"]);
    assert_eq!(group_info(&mut h), (Reply::Nil, Reply::Nil));
    h.run(&["XGROUP", "SETID", "s", "g", "$"]);
    assert_eq!(group_info(&mut h), (Reply::Nil, Reply::Int(0)));
    h.run(&["XADD", "e", "1-0", "f", "v"]);
    h.run(&["XDEL", "e", "1-0"]);
    h.run(&["XGROUP", "CREATE", "e", "g", "0"]);
    let Reply::Array(mut groups) = h.run(&["XINFO", "GROUPS", "e"]) else {
        panic!()
    };
    let Reply::Map(fields) = groups.remove(0) else {
        panic!()
    };
    assert_eq!(
        fields[5],
        (bulk("lag"), Reply::Int(0)),
        "an empty stream has no lag"
    );
}

#[test]
fn xack_and_xpending() {
    let mut h = Harness::new();
    sample(&mut h);
    h.run(&["XGROUP", "CREATE", "s", "g", "0"]);
    h.run(&[
        "XREADGROUP",
        "GROUP",
        "g",
        "alice",
        "COUNT",
        "1",
        "STREAMS",
        "s",
        ">",
    ]);
    h.advance_ms(100);
    h.run(&["XREADGROUP", "GROUP", "g", "bob", "STREAMS", "s", ">"]);
    h.advance_ms(50);
    assert_eq!(
        h.run(&["XPENDING", "s", "g"]),
        arr(vec![
            Reply::Int(3),
            bulk("1-1"),
            bulk("3-1"),
            arr(vec![bulks(&["alice", "1"]), bulks(&["bob", "2"])]),
        ])
    );
    let pel = |id: &str, who: &str, idle: i64| {
        arr(vec![bulk(id), bulk(who), Reply::Int(idle), Reply::Int(1)])
    };
    assert_eq!(
        h.run(&["XPENDING", "s", "g", "-", "+", "2"]),
        arr(vec![pel("1-1", "alice", 150), pel("2-1", "bob", 50)])
    );
    assert_eq!(
        h.run(&["XPENDING", "s", "g", "IDLE", "100", "-", "+", "10"]),
        arr(vec![pel("1-1", "alice", 150)])
    );
    assert_eq!(
        h.run(&["XPENDING", "s", "g", "(1-1", "+", "10", "bob"]),
        arr(vec![pel("2-1", "bob", 50), pel("3-1", "bob", 50)])
    );
    assert_eq!(
        h.run(&["XPENDING", "s", "g", "-", "(3-1", "10", "bob"]),
        arr(vec![pel("2-1", "bob", 50)])
    );
    assert_eq!(
        h.run(&["XPENDING", "s", "g", "IDLE", "0", "-", "+", "10", "bob"]),
        arr(vec![pel("2-1", "bob", 50), pel("3-1", "bob", 50)])
    );
    assert_eq!(
        h.run(&["XPENDING", "s", "g", "-", "+", "10", "nobody"]),
        arr(vec![])
    );
    assert_eq!(h.run(&["XPENDING", "s", "g", "-", "+", "-3"]), arr(vec![]));
    let cases: &[(&[&str], &str)] = &[
        (&["XPENDING", "s", "g", "-", "+"], "ERR syntax error"),
        (
            &["XPENDING", "s", "g", "IDLE", "0", "-", "+"],
            "ERR syntax error",
        ),
        (
            &["XPENDING", "s", "g", "IDLE", "x", "-", "+", "1"],
            "ERR value is not an integer or out of range",
        ),
        (
            &["XPENDING", "s", "g", "-", "+", "x"],
            "ERR value is not an integer or out of range",
        ),
        (&["XPENDING", "s", "g", "x", "+", "1"], INVALID_ID),
        (&["XPENDING", "s", "g", "(+", "+", "1"], INVALID_ID),
        (
            &["XPENDING", "s", "g", "-", "+", "1", "c", "x", "y", "z"],
            "ERR syntax error",
        ),
        (
            &["XPENDING", "s", "nog"],
            "NOGROUP No such key 's' or consumer group 'nog'",
        ),
        (
            &["XPENDING", "nokey", "g", "-", "+", "1"],
            "NOGROUP No such key 'nokey' or consumer group 'g'",
        ),
    ];
    for (cmd, want) in cases {
        assert_eq!(h.run(cmd), e(want), "{cmd:?}");
    }
    assert_eq!(h.run(&["XACK", "s", "g", "1-1", "x"]), e(INVALID_ID));
    assert_eq!(h.run(&["XACK", "nokey", "g", "x"]), Reply::Int(0));
    assert_eq!(h.run(&["XACK", "s", "nog", "x"]), Reply::Int(0));
    assert_eq!(
        h.run(&["XACK", "s", "g", "1-1", "1-1", "3-1", "9-9"]),
        Reply::Int(2)
    );
    assert_eq!(h.last.dirty, 2);
    assert_eq!(
        h.propagated(),
        prop(&[&["XACK", "s", "g", "1-1", "1-1", "3-1", "9-9"]])
    );
    assert_eq!(h.run(&["XACK", "s", "g", "1-1"]), Reply::Int(0));
    assert!(h.propagated().is_empty());
    assert_eq!(
        h.run(&["XPENDING", "s", "g"]),
        arr(vec![
            Reply::Int(1),
            bulk("2-1"),
            bulk("2-1"),
            arr(vec![bulks(&["bob", "1"])])
        ])
    );
}
