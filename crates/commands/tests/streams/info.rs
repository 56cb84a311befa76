//! XINFO STREAM [FULL], XINFO GROUPS, XINFO CONSUMERS, XINFO HELP.

use commands::testing::{bulk, Harness};
use resp::{Reply, RespVersion};

use crate::*;

fn setup() -> Harness {
    let mut h = Harness::new();
    add(&mut h, "s", "1-0", &["a", "1"]);
    add(&mut h, "s", "2-0", &["b", "2"]);
    add(&mut h, "s", "3-0", &["c", "3"]);
    h.run(&["XDEL", "s", "2-0"]);
    h.run(&["XGROUP", "CREATE", "s", "g", "0", "ENTRIESREAD", "0"]);
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
    h.advance_ms(7);
    h.run(&["XGROUP", "CREATECONSUMER", "s", "g", "bob"]);
    h.advance_ms(3);
    h
}

#[test]
fn xinfo_stream_summary() {
    let mut h = setup();
    let want = map(vec![
        ("length", Reply::Int(2)),
        ("radix-tree-keys", Reply::Int(1)),
        ("radix-tree-nodes", Reply::Int(2)),
        ("last-generated-id", bulk("3-0")),
        ("max-deleted-entry-id", bulk("2-0")),
        ("entries-added", Reply::Int(3)),
        ("recorded-first-entry-id", bulk("1-0")),
        ("groups", Reply::Int(1)),
        ("first-entry", entry("1-0", &["a", "1"])),
        ("last-entry", entry("3-0", &["c", "3"])),
    ]);
    assert_eq!(h.run(&["XINFO", "STREAM", "s"]), want);
    h.resp = RespVersion::Resp3;
    let wire = h.wire(&["XINFO", "STREAM", "s"]);
    assert!(wire.starts_with("%10\r\n$6\r\nlength\r\n:2\r\n"), "{wire}");
    h.resp = RespVersion::Resp2;
    let wire = h.wire(&["XINFO", "STREAM", "s"]);
    assert!(wire.starts_with("*20\r\n$6\r\nlength\r\n:2\r\n"), "{wire}");
    h.run(&["XGROUP", "CREATE", "e", "g", "$", "MKSTREAM"]);
    let Reply::Map(f) = h.run(&["XINFO", "STREAM", "e"]) else {
        panic!()
    };
    assert_eq!(f[8], (bulk("first-entry"), Reply::Nil));
    assert_eq!(f[9], (bulk("last-entry"), Reply::Nil));
    assert_eq!(f[2], (bulk("radix-tree-nodes"), Reply::Int(1)));
    assert_eq!(h.run(&["XINFO", "STREAM", "nokey"]), e("ERR no such key"));
    let syntax =
        "ERR unknown subcommand or wrong number of arguments for 'STREAM'. Try XINFO HELP.";
    for cmd in [
        &["XINFO", "STREAM", "s", "FOO"][..],
        &["XINFO", "STREAM", "s", "FULL", "COUNT"],
        &["XINFO", "STREAM", "s", "FULL", "FOO", "1"],
        &["XINFO", "STREAM", "s", "FULL", "COUNT", "1", "X"],
    ] {
        assert_eq!(h.run(cmd), e(syntax), "{cmd:?}");
    }
    assert_eq!(
        h.run(&["XINFO", "STREAM", "s", "FULL", "COUNT", "x"]),
        e("ERR value is not an integer or out of range")
    );
}

#[test]
fn xinfo_stream_full() {
    let mut h = setup();
    let alice_pel = arr(vec![
        bulk("1-0"),
        bulk("alice"),
        Reply::Int(1_700_000_000_000),
        Reply::Int(1),
    ]);
    let want = map(vec![
        ("length", Reply::Int(2)),
        ("radix-tree-keys", Reply::Int(1)),
        ("radix-tree-nodes", Reply::Int(2)),
        ("last-generated-id", bulk("3-0")),
        ("max-deleted-entry-id", bulk("2-0")),
        ("entries-added", Reply::Int(3)),
        ("recorded-first-entry-id", bulk("1-0")),
        (
            "entries",
            arr(vec![entry("1-0", &["a", "1"]), entry("3-0", &["c", "3"])]),
        ),
        (
            "groups",
            arr(vec![map(vec![
                ("name", bulk("g")),
                ("last-delivered-id", bulk("1-0")),
                // A tombstone ahead of the read makes the counter unknown.
                ("entries-read", Reply::Nil),
                ("lag", Reply::Nil),
                ("pel-count", Reply::Int(1)),
                ("pending", arr(vec![alice_pel])),
                (
                    "consumers",
                    arr(vec![
                        map(vec![
                            ("name", bulk("alice")),
                            ("seen-time", Reply::Int(1_700_000_000_000)),
                            ("active-time", Reply::Int(1_700_000_000_000)),
                            ("pel-count", Reply::Int(1)),
                            (
                                "pending",
                                arr(vec![arr(vec![
                                    bulk("1-0"),
                                    Reply::Int(1_700_000_000_000),
                                    Reply::Int(1),
                                ])]),
                            ),
                        ]),
                        map(vec![
                            ("name", bulk("bob")),
                            ("seen-time", Reply::Int(1_700_000_000_007)),
                            ("active-time", Reply::Int(-1)),
                            ("pel-count", Reply::Int(0)),
                            ("pending", arr(vec![])),
                        ]),
                    ]),
                ),
            ])]),
        ),
    ]);
    assert_eq!(h.run(&["XINFO", "STREAM", "s", "FULL"]), want);
    assert_eq!(
        h.run(&["XINFO", "STREAM", "s", "FULL", "COUNT", "-5"]),
        want
    );
    let Reply::Map(f) = h.run(&["XINFO", "STREAM", "s", "full", "count", "1"]) else {
        panic!()
    };
    assert_eq!(
        f[7],
        (bulk("entries"), arr(vec![entry("1-0", &["a", "1"])]))
    );
    let Reply::Map(f) = h.run(&["XINFO", "STREAM", "s", "FULL", "COUNT", "0"]) else {
        panic!()
    };
    assert_eq!(
        f[7].1,
        arr(vec![entry("1-0", &["a", "1"]), entry("3-0", &["c", "3"])])
    );
}

#[test]
fn xinfo_groups_and_consumers() {
    let mut h = setup();
    h.run(&["XGROUP", "CREATE", "s", "a-group", "$"]);
    assert_eq!(
        h.run(&["XINFO", "GROUPS", "s"]),
        arr(vec![
            map(vec![
                ("name", bulk("a-group")),
                ("consumers", Reply::Int(0)),
                ("pending", Reply::Int(0)),
                ("last-delivered-id", bulk("3-0")),
                ("entries-read", Reply::Nil),
                ("lag", Reply::Int(0)),
            ]),
            map(vec![
                ("name", bulk("g")),
                ("consumers", Reply::Int(2)),
                ("pending", Reply::Int(1)),
                ("last-delivered-id", bulk("1-0")),
                // A tombstone ahead of the read makes the counter unknown.
                ("entries-read", Reply::Nil),
                ("lag", Reply::Nil),
            ]),
        ])
    );
    assert_eq!(
        h.run(&["XINFO", "CONSUMERS", "s", "g"]),
        arr(vec![
            map(vec![
                ("name", bulk("alice")),
                ("pending", Reply::Int(1)),
                ("idle", Reply::Int(10)),
                ("inactive", Reply::Int(10)),
            ]),
            map(vec![
                ("name", bulk("bob")),
                ("pending", Reply::Int(0)),
                ("idle", Reply::Int(3)),
                ("inactive", Reply::Int(-1)),
            ]),
        ])
    );
    assert_eq!(
        h.run(&["XINFO", "CONSUMERS", "s", "nog"]),
        e("NOGROUP No such consumer group 'nog' for key name 's'")
    );
    assert_eq!(h.run(&["XINFO", "GROUPS", "nokey"]), e("ERR no such key"));
    h.run(&["XADD", "plain", "1-0", "f", "v"]);
    assert_eq!(h.run(&["XINFO", "GROUPS", "plain"]), arr(vec![]));
    h.resp = RespVersion::Resp3;
    let wire = h.wire(&["XINFO", "CONSUMERS", "s", "g"]);
    assert!(
        wire.starts_with("*2\r\n%4\r\n$4\r\nname\r\n$5\r\nalice\r\n"),
        "{wire}"
    );
}

#[test]
fn xinfo_help() {
    let mut h = Harness::new();
    assert_eq!(
        h.run(&["XINFO", "HELP"]),
        Reply::Array(
            [
                "XINFO <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "CONSUMERS <key> <groupname>",
                "    Show consumers of <groupname>.",
                "GROUPS <key>",
                "    Show the stream consumer groups.",
                "STREAM <key> [FULL [COUNT <count>]",
                "    Show information about the stream.",
                "HELP",
                "    Print this help.",
            ]
            .iter()
            .map(|s| Reply::status(s.to_string()))
            .collect()
        )
    );
    assert_eq!(
        h.run(&["XINFO", "FOO", "s"]),
        e("ERR unknown subcommand 'FOO'. Try XINFO HELP.")
    );
}
