//! XCLAIM and XAUTOCLAIM: ownership changes, options, deleted entries, propagation.

use commands::testing::{bulk, Harness};
use resp::Reply;

use crate::*;

/// Stream `s` with entries 1-1..4-1 all delivered to alice at the harness start time.
fn delivered() -> Harness {
    let mut h = notifying();
    for (i, f) in ["a", "b", "c", "d"].iter().enumerate() {
        add(&mut h, "s", &format!("{}-1", i + 1), &[f, "x"]);
    }
    h.run(&["XGROUP", "CREATE", "s", "g", "0"]);
    h.run(&["XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", ">"]);
    h
}

fn pending(h: &mut Harness) -> Reply {
    h.run(&["XPENDING", "s", "g", "-", "+", "100"])
}

fn pel(id: &str, who: &str, idle: i64, count: i64) -> Reply {
    arr(vec![
        bulk(id),
        bulk(who),
        Reply::Int(idle),
        Reply::Int(count),
    ])
}

#[test]
fn xclaim_moves_entries_and_propagates_each_one() {
    let mut h = delivered();
    h.advance_ms(100);
    assert_eq!(
        h.run(&["XCLAIM", "s", "g", "bob", "200", "1-1"]),
        arr(vec![])
    );
    assert_eq!(events(&h), ["xgroup-createconsumer"]);
    assert_eq!(h.last.dirty, 1);
    assert!(
        h.propagated().is_empty(),
        "creating the consumer alone is not propagated"
    );
    assert_eq!(
        h.run(&["XCLAIM", "s", "g", "bob", "50", "01-1", "2-1"]),
        arr(vec![entry("1-1", &["a", "x"]), entry("2-1", &["b", "x"])])
    );
    assert!(events(&h).is_empty());
    assert_eq!(
        h.propagated(),
        prop(&[
            // The ID argument as the client wrote it.
            &[
                "XCLAIM",
                "s",
                "g",
                "bob",
                "0",
                "01-1",
                "TIME",
                "1700000000100",
                "RETRYCOUNT",
                "2",
                "FORCE",
                "JUSTID",
                "LASTID",
                "4-1"
            ],
            &[
                "XCLAIM",
                "s",
                "g",
                "bob",
                "0",
                "2-1",
                "TIME",
                "1700000000100",
                "RETRYCOUNT",
                "2",
                "FORCE",
                "JUSTID",
                "LASTID",
                "4-1"
            ],
        ])
    );
    // JUSTID does not count a delivery; RETRYCOUNT sets it; IDLE and TIME set the time.
    assert_eq!(
        h.run(&["XCLAIM", "s", "g", "carol", "0", "1-1", "JUSTID"]),
        bulks(&["1-1"])
    );
    assert_eq!(
        h.run(&[
            "XCLAIM",
            "s",
            "g",
            "carol",
            "0",
            "2-1",
            "IDLE",
            "30",
            "RETRYCOUNT",
            "9",
            "JUSTID"
        ]),
        bulks(&["2-1"])
    );
    assert_eq!(
        h.run(&[
            "XCLAIM",
            "s",
            "g",
            "carol",
            "0",
            "3-1",
            "TIME",
            "1700000000050"
        ]),
        arr(vec![entry("3-1", &["c", "x"])])
    );
    // A time in the future (or negative) means now.
    assert_eq!(
        h.run(&[
            "XCLAIM",
            "s",
            "g",
            "carol",
            "0",
            "4-1",
            "TIME",
            "1800000000000",
            "JUSTID"
        ]),
        bulks(&["4-1"])
    );
    assert_eq!(
        pending(&mut h),
        arr(vec![
            pel("1-1", "carol", 0, 2),
            pel("2-1", "carol", 30, 9),
            pel("3-1", "carol", 50, 2),
            pel("4-1", "carol", 0, 1)
        ])
    );
    assert_eq!(
        h.run(&["XPENDING", "s", "g"]),
        arr(vec![
            Reply::Int(4),
            bulk("1-1"),
            bulk("4-1"),
            arr(vec![bulks(&["carol", "4"])])
        ])
    );
}

#[test]
fn xclaim_force_deleted_entries_and_lastid() {
    let mut h = delivered();
    h.run(&["XACK", "s", "g", "4-1"]);
    // FORCE creates a PEL entry for an existing entry only.
    assert_eq!(
        h.run(&["XCLAIM", "s", "g", "bob", "0", "4-1", "9-9", "FORCE"]),
        arr(vec![entry("4-1", &["d", "x"])])
    );
    assert_eq!(
        h.propagated(),
        prop(&[&[
            "XCLAIM",
            "s",
            "g",
            "bob",
            "0",
            "4-1",
            "TIME",
            "1700000000000",
            "RETRYCOUNT",
            "2",
            "FORCE",
            "JUSTID",
            "LASTID",
            "4-1"
        ]])
    );
    // A deleted entry leaves the PEL, propagated as an XCLAIM the replica resolves the same way.
    h.run(&["XDEL", "s", "2-1"]);
    assert_eq!(
        h.run(&["XCLAIM", "s", "g", "bob", "0", "2-1", "JUSTID"]),
        arr(vec![])
    );
    assert_eq!(
        h.propagated(),
        prop(&[&[
            "XCLAIM",
            "s",
            "g",
            "alice",
            "0",
            "2-1",
            "TIME",
            "1700000000000",
            "RETRYCOUNT",
            "1",
            "FORCE",
            "JUSTID",
            "LASTID",
            "4-1"
        ]])
    );
    assert_eq!(h.last.dirty, 1);
    // LASTID past the group's last ID moves it, propagated as XGROUP SETID when nothing
    // else is.
    assert_eq!(
        h.run(&["XCLAIM", "s", "g", "bob", "0", "8-8", "LASTID", "10-0"]),
        arr(vec![])
    );
    assert_eq!(
        h.propagated(),
        prop(&[&["XGROUP", "SETID", "s", "g", "10-0", "ENTRIESREAD", "4"]])
    );
    assert_eq!(
        h.run(&["XCLAIM", "s", "g", "bob", "0", "1-1", "LASTID", "11-0", "JUSTID"]),
        bulks(&["1-1"])
    );
    assert_eq!(
        h.propagated(),
        prop(&[&[
            "XCLAIM",
            "s",
            "g",
            "bob",
            "0",
            "1-1",
            "TIME",
            "1700000000000",
            "RETRYCOUNT",
            "1",
            "FORCE",
            "JUSTID",
            "LASTID",
            "11-0"
        ]])
    );
    let cases: &[(&[&str], &str)] = &[
        (
            &["XCLAIM", "s", "nog", "c", "0", "1-1"],
            "NOGROUP No such key 's' or consumer group 'nog'",
        ),
        (
            &["XCLAIM", "nokey", "g", "c", "0", "1-1"],
            "NOGROUP No such key 'nokey' or consumer group 'g'",
        ),
        (
            &["XCLAIM", "s", "g", "c", "x", "1-1"],
            "ERR Invalid min-idle-time argument for XCLAIM",
        ),
        (
            &["XCLAIM", "s", "g", "c", "0", "1-1", "IDLE", "x"],
            "ERR Invalid IDLE option argument for XCLAIM",
        ),
        (
            &["XCLAIM", "s", "g", "c", "0", "1-1", "TIME", "x"],
            "ERR Invalid TIME option argument for XCLAIM",
        ),
        (
            &["XCLAIM", "s", "g", "c", "0", "1-1", "RETRYCOUNT", "x"],
            "ERR Invalid RETRYCOUNT option argument for XCLAIM",
        ),
        (
            &["XCLAIM", "s", "g", "c", "0", "1-1", "LASTID", "+"],
            INVALID_ID,
        ),
        (
            &["XCLAIM", "s", "g", "c", "0", "1-1", "FOO"],
            "ERR Unrecognized XCLAIM option 'FOO'",
        ),
        (
            &["XCLAIM", "s", "g", "c", "0", "+", "1-1"],
            "ERR Unrecognized XCLAIM option '+'",
        ),
        (
            &["XCLAIM", "s", "g", "c", "0", "1-1", "IDLE"],
            "ERR Unrecognized XCLAIM option 'IDLE'",
        ),
    ];
    for (cmd, want) in cases {
        assert_eq!(h.run(cmd), e(want), "{cmd:?}");
        assert!(h.propagated().is_empty(), "{cmd:?}");
    }
}

#[test]
fn xautoclaim_scans_the_pel_with_a_cursor() {
    let mut h = delivered();
    h.run(&["XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", "0"]);
    h.advance_ms(100);
    assert_eq!(
        h.run(&["XAUTOCLAIM", "s", "g", "bob", "50", "0", "COUNT", "2"]),
        arr(vec![
            bulk("3-1"),
            arr(vec![entry("1-1", &["a", "x"]), entry("2-1", &["b", "x"])]),
            arr(vec![])
        ])
    );
    assert_eq!(events(&h), ["xgroup-createconsumer"]);
    assert_eq!(
        h.propagated(),
        prop(&[
            &[
                "XCLAIM",
                "s",
                "g",
                "bob",
                "0",
                "1-1",
                "TIME",
                "1700000000100",
                "RETRYCOUNT",
                "3",
                "FORCE",
                "JUSTID",
                "LASTID",
                "4-1"
            ],
            &[
                "XCLAIM",
                "s",
                "g",
                "bob",
                "0",
                "2-1",
                "TIME",
                "1700000000100",
                "RETRYCOUNT",
                "3",
                "FORCE",
                "JUSTID",
                "LASTID",
                "4-1"
            ],
        ])
    );
    // Entries not idle long enough are skipped; deleted ones are dropped and reported.
    h.run(&["XDEL", "s", "4-1"]);
    assert_eq!(
        h.run(&["XAUTOCLAIM", "s", "g", "carol", "50", "0", "JUSTID"]),
        arr(vec![bulk("0-0"), bulks(&["3-1"]), bulks(&["4-1"])])
    );
    assert_eq!(
        h.propagated(),
        prop(&[
            &[
                "XCLAIM",
                "s",
                "g",
                "carol",
                "0",
                "3-1",
                "TIME",
                "1700000000100",
                "RETRYCOUNT",
                "2",
                "FORCE",
                "JUSTID",
                "LASTID",
                "4-1"
            ],
            &[
                "XCLAIM",
                "s",
                "g",
                "alice",
                "0",
                "4-1",
                "TIME",
                "1700000000000",
                "RETRYCOUNT",
                "2",
                "FORCE",
                "JUSTID",
                "LASTID",
                "4-1"
            ],
        ])
    );
    assert_eq!(
        pending(&mut h),
        arr(vec![
            pel("1-1", "bob", 0, 3),
            pel("2-1", "bob", 0, 3),
            pel("3-1", "carol", 0, 2)
        ])
    );
    // An exclusive start, and COUNT limiting both claims and deletions.
    assert_eq!(
        h.run(&[
            "XAUTOCLAIM",
            "s",
            "g",
            "dave",
            "0",
            "(1-1",
            "COUNT",
            "1",
            "JUSTID"
        ]),
        arr(vec![bulk("3-1"), bulks(&["2-1"]), arr(vec![])])
    );
    // Up to COUNT * 10 PEL entries are looked at.
    let mut h2 = Harness::new();
    h2.run(&["XGROUP", "CREATE", "t", "g", "$", "MKSTREAM"]);
    for i in 1..=30 {
        add(&mut h2, "t", &format!("{i}-0"), &["f", "v"]);
    }
    h2.run(&["XREADGROUP", "GROUP", "g", "a", "STREAMS", "t", ">"]);
    assert_eq!(
        h2.run(&["XAUTOCLAIM", "t", "g", "b", "1000", "0", "COUNT", "1"]),
        arr(vec![bulk("11-0"), arr(vec![]), arr(vec![])])
    );
}

#[test]
fn xautoclaim_errors() {
    let mut h = delivered();
    let cases: &[(&[&str], &str)] = &[
        (
            &["XAUTOCLAIM", "s", "g", "c", "x", "0"],
            "ERR Invalid min-idle-time argument for XAUTOCLAIM",
        ),
        (&["XAUTOCLAIM", "s", "g", "c", "0", "x"], INVALID_ID),
        (
            &[
                "XAUTOCLAIM",
                "s",
                "g",
                "c",
                "0",
                "(18446744073709551615-18446744073709551615",
            ],
            "ERR invalid start ID for the interval",
        ),
        (
            &["XAUTOCLAIM", "s", "g", "c", "0", "0", "COUNT", "0"],
            "ERR COUNT must be > 0",
        ),
        (
            &["XAUTOCLAIM", "s", "g", "c", "0", "0", "COUNT", "x"],
            "ERR COUNT must be > 0",
        ),
        (
            &[
                "XAUTOCLAIM",
                "s",
                "g",
                "c",
                "0",
                "0",
                "COUNT",
                "576460752303423488",
            ],
            "ERR COUNT must be > 0",
        ),
        (
            &[
                "XAUTOCLAIM",
                "s",
                "g",
                "c",
                "0",
                "0",
                "COUNT",
                "576460752303423487",
            ],
            "ERR Insufficient memory, failed allocating transient memory, COUNT too high.",
        ),
        (
            &["XAUTOCLAIM", "s", "g", "c", "0", "0", "FOO"],
            "ERR syntax error",
        ),
        (
            &["XAUTOCLAIM", "s", "nog", "c", "0", "0"],
            "NOGROUP No such key 's' or consumer group 'nog'",
        ),
        (
            &["XAUTOCLAIM", "nokey", "g", "c", "0", "0"],
            "NOGROUP No such key 'nokey' or consumer group 'g'",
        ),
        // Options are checked before the key.
        (
            &["XAUTOCLAIM", "nokey", "g", "c", "0", "0", "COUNT", "0"],
            "ERR COUNT must be > 0",
        ),
    ];
    for (cmd, want) in cases {
        assert_eq!(h.run(cmd), e(want), "{cmd:?}");
        assert!(
            h.propagated().is_empty() && events(&h).is_empty(),
            "{cmd:?}"
        );
    }
    assert_eq!(
        h.run(&[
            "XAUTOCLAIM",
            "s",
            "g",
            "c",
            "0",
            "0",
            "COUNT",
            "1000000000000",
            "JUSTID"
        ]),
        arr(vec![
            bulk("0-0"),
            bulks(&["1-1", "2-1", "3-1", "4-1"]),
            arr(vec![])
        ])
    );
}
