//! Bitmap commands (SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP, BITFIELD, BITFIELD_RO) through the
//! table, in process: replies recorded from Valkey 8.0.1, then each command's options, errors,
//! propagation and keyspace notifications.

mod fixture;

use commands::notify;
use commands::testing::{bulk, Harness};
use resp::{Reply, RespVersion};

const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";
const OFFSET_ERR: &str = "ERR bit offset is not an integer or out of range";
const SYNTAX: &str = "ERR syntax error";
const NOT_INT: &str = "ERR value is not an integer or out of range";

fn harness() -> Harness {
    let mut h = Harness::new();
    h.settings.notify_classes = notify::ALL | notify::NEW | notify::KEYEVENT;
    h
}

fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn ints(v: &[i64]) -> Reply {
    Reply::Array(v.iter().map(|i| Reply::Int(*i)).collect())
}

/// The (event, key) pairs the last command raised.
fn events(h: &Harness) -> Vec<(&'static str, String)> {
    h.last
        .notifications
        .iter()
        .map(|e| (e.event, String::from_utf8_lossy(&e.key).into_owned()))
        .collect()
}

fn ev(list: &[(&'static str, &str)]) -> Vec<(&'static str, String)> {
    list.iter().map(|(e, k)| (*e, k.to_string())).collect()
}

fn encoding(h: &Harness, key: &str) -> &'static str {
    h.ks.db(0)
        .get(key.as_bytes())
        .map_or("none", |o| o.encoding())
}

#[test]
fn replies_match_valkey() {
    let n = fixture::replay(include_str!("data/bitops_valkey.txt"));
    assert!(n > 900);
}

#[test]
fn setbit_and_getbit() {
    let mut h = harness();
    assert_eq!(h.run(&["SETBIT", "b", "7", "1"]), Reply::Int(0));
    assert_eq!(h.last.dirty, 1);
    assert_eq!(h.propagated(), vec![strs(&["SETBIT", "b", "7", "1"])]);
    assert_eq!(events(&h), ev(&[("new", "b"), ("setbit", "b")]));
    assert_eq!(encoding(&h, "b"), "raw");
    assert_eq!(h.run(&["GET", "b"]), bulk("\x01"));
    // Unchanged: not dirty, not propagated, no event.
    assert_eq!(h.run(&["SETBIT", "b", "7", "1"]), Reply::Int(1));
    assert_eq!((h.last.dirty, h.propagated().len()), (0, 0));
    assert!(events(&h).is_empty());
    // Clearing a bit past the end still grows the string, which is a change.
    assert_eq!(h.run(&["SETBIT", "b", "23", "0"]), Reply::Int(0));
    assert_eq!(h.last.dirty, 1);
    assert_eq!(events(&h), ev(&[("setbit", "b")]));
    assert_eq!(h.run(&["STRLEN", "b"]), Reply::Int(3));
    assert_eq!(h.run(&["SETBIT", "b", "7", "0"]), Reply::Int(1));
    assert_eq!(h.run(&["GETBIT", "b", "7"]), Reply::Int(0));
    assert_eq!(h.run(&["GETBIT", "b", "1000"]), Reply::Int(0));
    assert_eq!(h.run(&["GETBIT", "nokey", "0"]), Reply::Int(0));

    // Errors, in Valkey's order: offset, then value, then the type.
    h.run(&["LPUSH", "l", "x"]);
    for off in ["-1", "abc", "4294967296", "1.5", ""] {
        assert_eq!(h.run(&["SETBIT", "l", off, "1"]), Reply::error(OFFSET_ERR));
        assert_eq!(h.run(&["GETBIT", "l", off]), Reply::error(OFFSET_ERR));
    }
    for v in ["2", "-1", "x", "01"] {
        assert_eq!(
            h.run(&["SETBIT", "l", "0", v]),
            Reply::error("ERR bit is not an integer or out of range")
        );
    }
    assert_eq!(h.run(&["SETBIT", "l", "0", "1"]), Reply::error(WRONGTYPE));
    assert_eq!(h.run(&["GETBIT", "l", "0"]), Reply::error(WRONGTYPE));
    assert_eq!(
        h.run(&["SETBIT", "b"]),
        Reply::error("ERR wrong number of arguments for 'setbit' command")
    );

    // An int-encoded string is read and written through its decimal text.
    h.run(&["SET", "n", "1"]);
    assert_eq!(encoding(&h, "n"), "int");
    assert_eq!(h.run(&["GETBIT", "n", "2"]), Reply::Int(1));
    assert_eq!(h.run(&["SETBIT", "n", "6", "1"]), Reply::Int(0));
    assert_eq!(h.run(&["GET", "n"]), bulk("3"));
    assert_eq!(encoding(&h, "n"), "raw");
}

#[test]
fn bit_offsets_follow_proto_max_bulk_len() {
    let mut h = harness();
    assert_eq!(
        h.run(&["SETBIT", "b", "4294967296", "1"]),
        Reply::error(OFFSET_ERR)
    );
    h.settings.proto_max_bulk_len = 4;
    assert_eq!(h.run(&["SETBIT", "b", "31", "1"]), Reply::Int(0));
    assert_eq!(h.run(&["SETBIT", "b", "32", "1"]), Reply::error(OFFSET_ERR));
    assert_eq!(h.run(&["GETBIT", "b", "32"]), Reply::error(OFFSET_ERR));
    assert_eq!(
        h.run(&["BITFIELD", "b", "GET", "u8", "#4"]),
        Reply::error(OFFSET_ERR)
    );
    assert_eq!(h.run(&["BITFIELD", "b", "GET", "u8", "#3"]), ints(&[1]));
    // The primary's stream is exempt.
    h.ks.obey_all = true;
    assert_eq!(h.run(&["SETBIT", "b", "39", "1"]), Reply::Int(0));
    assert_eq!(h.run(&["STRLEN", "b"]), Reply::Int(5));
}

#[test]
fn bitcount_ranges() {
    let mut h = harness();
    h.run(&["SET", "s", "foobar"]);
    assert_eq!(h.run(&["BITCOUNT", "s"]), Reply::Int(26));
    assert_eq!(h.run(&["BITCOUNT", "s", "0", "0"]), Reply::Int(4));
    assert_eq!(h.run(&["BITCOUNT", "s", "1", "1"]), Reply::Int(6));
    assert_eq!(h.run(&["BITCOUNT", "s", "1", "1", "BYTE"]), Reply::Int(6));
    assert_eq!(h.run(&["BITCOUNT", "s", "5", "30", "BIT"]), Reply::Int(17));
    assert_eq!(h.run(&["BITCOUNT", "s", "-2", "-1"]), Reply::Int(7));
    assert_eq!(h.run(&["BITCOUNT", "s", "1"]), Reply::Int(22));
    assert_eq!(h.run(&["BITCOUNT", "s", "-1", "-2"]), Reply::Int(0));
    assert_eq!(h.run(&["BITCOUNT", "s", "100", "200"]), Reply::Int(0));
    assert_eq!(h.run(&["BITCOUNT", "nokey"]), Reply::Int(0));
    assert_eq!(
        h.run(&["BITCOUNT", "nokey", "0", "-1", "bit"]),
        Reply::Int(0)
    );
    h.run(&["SET", "n", "12"]);
    assert_eq!(h.run(&["BITCOUNT", "n"]), Reply::Int(6));
    // Errors: start, then the unit, then end, then the type; more arguments are a syntax error.
    h.run(&["LPUSH", "l", "x"]);
    assert_eq!(
        h.run(&["BITCOUNT", "l", "x", "1", "foo"]),
        Reply::error(NOT_INT)
    );
    assert_eq!(
        h.run(&["BITCOUNT", "l", "0", "x", "foo"]),
        Reply::error(SYNTAX)
    );
    assert_eq!(
        h.run(&["BITCOUNT", "l", "0", "x", "bit"]),
        Reply::error(NOT_INT)
    );
    assert_eq!(h.run(&["BITCOUNT", "l", "0", "1"]), Reply::error(WRONGTYPE));
    assert_eq!(h.run(&["BITCOUNT", "l"]), Reply::error(WRONGTYPE));
    assert_eq!(
        h.run(&["BITCOUNT", "l", "0", "1", "bit", "x"]),
        Reply::error(SYNTAX)
    );
    assert_eq!(
        h.run(&["BITCOUNT", "s", "0", "1", "bit", "x"]),
        Reply::error(SYNTAX)
    );
    assert!(h.propagated().is_empty());
}

#[test]
fn bitpos_ranges() {
    let mut h = harness();
    h.run(&["SET", "s", "\u{0}\u{f}\u{7f}"]);
    assert_eq!(h.run(&["BITPOS", "s", "1"]), Reply::Int(12));
    assert_eq!(h.run(&["BITPOS", "s", "0"]), Reply::Int(0));
    assert_eq!(h.run(&["BITPOS", "s", "1", "2"]), Reply::Int(17));
    assert_eq!(h.run(&["BITPOS", "s", "1", "0", "0"]), Reply::Int(-1));
    assert_eq!(
        h.run(&["BITPOS", "s", "0", "13", "15", "BIT"]),
        Reply::Int(-1)
    );
    assert_eq!(
        h.run(&["BITPOS", "s", "0", "13", "16", "bit"]),
        Reply::Int(16)
    );
    assert_eq!(
        h.run(&["BITPOS", "s", "1", "-1", "-1", "byte"]),
        Reply::Int(17)
    );
    // All ones: without an end the string reads as zero padded; with one it does not.
    h.run(&["SET", "f", "\u{7f}"]);
    h.run(&["BITOP", "NOT", "f", "f"]);
    h.run(&["BITOP", "NOT", "f", "f"]);
    h.run(&["SETBIT", "f", "0", "1"]);
    assert_eq!(h.run(&["BITPOS", "f", "0"]), Reply::Int(8));
    assert_eq!(h.run(&["BITPOS", "f", "0", "0"]), Reply::Int(8));
    assert_eq!(h.run(&["BITPOS", "f", "0", "0", "-1"]), Reply::Int(-1));
    assert_eq!(
        h.run(&["BITPOS", "f", "0", "0", "7", "bit"]),
        Reply::Int(-1)
    );
    assert_eq!(h.run(&["BITPOS", "nokey", "1"]), Reply::Int(-1));
    assert_eq!(h.run(&["BITPOS", "nokey", "0"]), Reply::Int(0));
    assert_eq!(
        h.run(&["BITPOS", "nokey", "0", "5", "10", "bit"]),
        Reply::Int(0)
    );
    assert_eq!(h.run(&["BITPOS", "s", "1", "5", "2"]), Reply::Int(-1));
    // Errors: the bit, then start, unit, end, type; extra arguments are a syntax error.
    h.run(&["LPUSH", "l", "x"]);
    assert_eq!(h.run(&["BITPOS", "l", "x"]), Reply::error(NOT_INT));
    assert_eq!(
        h.run(&["BITPOS", "l", "2"]),
        Reply::error("ERR The bit argument must be 1 or 0.")
    );
    assert_eq!(h.run(&["BITPOS", "l", "1", "x"]), Reply::error(NOT_INT));
    assert_eq!(
        h.run(&["BITPOS", "l", "1", "0", "x", "foo"]),
        Reply::error(SYNTAX)
    );
    assert_eq!(
        h.run(&["BITPOS", "l", "1", "0", "x", "bit"]),
        Reply::error(NOT_INT)
    );
    assert_eq!(h.run(&["BITPOS", "l", "1"]), Reply::error(WRONGTYPE));
    assert_eq!(
        h.run(&["BITPOS", "s", "1", "0", "1", "bit", "x"]),
        Reply::error(SYNTAX)
    );
}

#[test]
fn bitop_stores_or_deletes() {
    let mut h = harness();
    h.run(&["SET", "a", "\u{f}\u{f}"]);
    h.run(&["SET", "b", "\u{1}"]);
    assert_eq!(h.run(&["BITOP", "AND", "d", "a", "b"]), Reply::Int(2));
    assert_eq!(h.last.dirty, 1);
    assert_eq!(h.propagated(), vec![strs(&["BITOP", "AND", "d", "a", "b"])]);
    assert_eq!(events(&h), ev(&[("new", "d"), ("set", "d")]));
    assert_eq!(h.run(&["GET", "d"]), bulk("\u{1}\u{0}"));
    assert_eq!(encoding(&h, "d"), "raw");
    assert_eq!(
        h.run(&["BITOP", "or", "d", "a", "b", "nokey"]),
        Reply::Int(2)
    );
    assert_eq!(events(&h), ev(&[("set", "d")]));
    assert_eq!(h.run(&["GET", "d"]), bulk("\u{f}\u{f}"));
    assert_eq!(h.run(&["BITOP", "XOR", "d", "a", "b"]), Reply::Int(2));
    assert_eq!(h.run(&["GET", "d"]), bulk("\u{e}\u{f}"));
    assert_eq!(h.run(&["BITOP", "NOT", "d", "b"]), Reply::Int(1));
    assert_eq!(h.run(&["GET", "d"]), Reply::bulk(b"\xfe"));
    // The destination loses its TTL and any previous type.
    h.run(&["EXPIRE", "d", "100"]);
    h.run(&["BITOP", "OR", "d", "a"]);
    assert_eq!(h.run(&["TTL", "d"]), Reply::Int(-1));
    h.run(&["LPUSH", "l", "x"]);
    assert_eq!(h.run(&["BITOP", "OR", "l", "a"]), Reply::Int(2));
    assert_eq!(h.run(&["TYPE", "l"]), Reply::status("string"));
    // Int-encoded sources are their decimal text.
    h.run(&["SET", "n", "12"]);
    assert_eq!(h.run(&["BITOP", "OR", "d", "n"]), Reply::Int(2));
    assert_eq!(h.run(&["GET", "d"]), bulk("12"));
    // Only empty inputs: the destination is deleted (and that is the change).
    assert_eq!(
        h.run(&["BITOP", "AND", "d", "nokey", "nokey2"]),
        Reply::Int(0)
    );
    assert_eq!((h.last.dirty, h.run(&["EXISTS", "d"])), (1, Reply::Int(0)));
    h.run(&["BITOP", "AND", "d", "nokey"]);
    assert_eq!((h.last.dirty, h.propagated().len()), (0, 0));
    assert!(events(&h).is_empty());
    h.run(&["SET", "d", "x"]);
    h.run(&["BITOP", "AND", "d", "nokey"]);
    assert_eq!(events(&h), ev(&[("del", "d")]));

    assert_eq!(
        h.run(&["BITOP", "NOT", "d", "a", "b"]),
        Reply::error("ERR BITOP NOT must be called with a single source key.")
    );
    assert_eq!(h.run(&["BITOP", "NAND", "d", "a"]), Reply::error(SYNTAX));
    h.run(&["LPUSH", "l2", "x"]);
    assert_eq!(
        h.run(&["BITOP", "AND", "d", "a", "l2"]),
        Reply::error(WRONGTYPE)
    );
    assert_eq!(
        h.run(&["BITOP", "AND", "d"]),
        Reply::error("ERR wrong number of arguments for 'bitop' command")
    );
}

#[test]
fn bitfield_operations() {
    let mut h = harness();
    let r = h.run(&[
        "BITFIELD", "bf", "SET", "i8", "0", "-100", "GET", "u8", "0", "INCRBY", "u2", "100", "1",
        "GET", "u4", "#25",
    ]);
    assert_eq!(r, ints(&[0, 156, 1, 4]));
    // Two writes changed something: dirty counts changes; one event.
    assert_eq!(h.last.dirty, 2);
    assert_eq!(events(&h), ev(&[("new", "bf"), ("setbit", "bf")]));
    assert_eq!(h.propagated().len(), 1);
    assert_eq!(h.run(&["STRLEN", "bf"]), Reply::Int(13));
    // Overflow rules apply from where OVERFLOW appears.
    let r = h.run(&[
        "BITFIELD", "bf", "SET", "u8", "0", "255", "INCRBY", "u8", "0", "10", "OVERFLOW", "SAT",
        "INCRBY", "u8", "0", "300", "OVERFLOW", "FAIL", "INCRBY", "u8", "0", "1", "GET", "u8", "0",
    ]);
    assert_eq!(
        r,
        Reply::Array(vec![
            Reply::Int(156),
            Reply::Int(9),
            Reply::Int(255),
            Reply::Nil,
            Reply::Int(255)
        ])
    );
    h.resp = RespVersion::Resp3;
    assert_eq!(
        h.wire(&["BITFIELD", "bf", "OVERFLOW", "FAIL", "INCRBY", "i8", "0", "-200"]),
        "*1\r\n_\r\n"
    );
    h.resp = RespVersion::Resp2;
    assert_eq!(
        h.wire(&["BITFIELD", "bf", "OVERFLOW", "FAIL", "INCRBY", "i8", "0", "-200"]),
        "*1\r\n$-1\r\n"
    );
    // 64-bit signed and 63-bit unsigned fields.
    assert_eq!(
        h.run(&[
            "BITFIELD", "w", "SET", "i64", "0", "-1", "INCRBY", "i64", "0", "1", "SET", "u63", "0",
            "-1", "GET", "u63", "0", "GET", "i64", "0"
        ]),
        ints(&[0, 0, 0, i64::MAX, -2])
    );
    // Nothing changed: not propagated, no event, no dirt.
    h.run(&["SET", "z", "\u{0}"]);
    assert_eq!(h.run(&["BITFIELD", "z", "SET", "u8", "0", "0"]), ints(&[0]));
    assert_eq!((h.last.dirty, h.propagated().len()), (0, 0));
    assert!(events(&h).is_empty());
    // A write that fails under FAIL still creates the key (as Valkey), without propagating.
    assert_eq!(
        h.run(&["BITFIELD", "nf", "OVERFLOW", "FAIL", "INCRBY", "u2", "0", "10"]),
        Reply::Array(vec![Reply::Nil])
    );
    assert_eq!((h.last.dirty, h.propagated().len()), (0, 0));
    assert_eq!(events(&h), ev(&[("new", "nf")]));
    assert_eq!(h.run(&["GET", "nf"]), bulk("\u{0}"));
    // Only GETs: a read, any key, nothing created.
    assert_eq!(
        h.run(&["BITFIELD", "missing", "GET", "u8", "0"]),
        ints(&[0])
    );
    assert_eq!(h.run(&["EXISTS", "missing"]), Reply::Int(0));
    assert_eq!(h.run(&["BITFIELD", "missing"]), Reply::Array(vec![]));
    h.run(&["SET", "n", "1234"]);
    assert_eq!(
        h.run(&["BITFIELD", "n", "GET", "u8", "0", "GET", "u16", "8"]),
        ints(&[49, 12851])
    );
}

#[test]
fn bitfield_errors_and_ro() {
    let mut h = harness();
    let cases: &[(&[&str], &str)] = &[
        (&["BITFIELD", "k", "GET", "u64", "0"], "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is."),
        (&["BITFIELD", "k", "GET", "i65", "0"], "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is."),
        (&["BITFIELD", "k", "GET", "I8", "0"], "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is."),
        (&["BITFIELD", "k", "GET", "u0", "0"], "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is."),
        (&["BITFIELD", "k", "GET", "u8", "-1"], OFFSET_ERR),
        (&["BITFIELD", "k", "GET", "u8", "#-1"], OFFSET_ERR),
        (&["BITFIELD", "k", "GET", "u8", "#x"], OFFSET_ERR),
        (&["BITFIELD", "k", "SET", "u8", "0", "x"], NOT_INT),
        (&["BITFIELD", "k", "SET", "u8", "0"], SYNTAX),
        (&["BITFIELD", "k", "GET", "u8"], SYNTAX),
        (&["BITFIELD", "k", "FOO"], SYNTAX),
        (&["BITFIELD", "k", "OVERFLOW"], SYNTAX),
        (&["BITFIELD", "k", "OVERFLOW", "NOPE", "GET", "u8", "0"], "ERR Invalid OVERFLOW type specified"),
        (&["BITFIELD_RO", "k", "GET", "u8", "0", "SET", "u8", "0", "1"], "ERR BITFIELD_RO only supports the GET subcommand"),
        (&["BITFIELD_RO", "k", "INCRBY", "u8", "0", "1"], "ERR BITFIELD_RO only supports the GET subcommand"),
    ];
    for (args, want) in cases {
        assert_eq!(h.run(args), Reply::error(*want), "{args:?}");
    }
    assert_eq!(h.run(&["EXISTS", "k"]), Reply::Int(0));
    h.run(&["LPUSH", "l", "x"]);
    // Parse errors come before the type check; the type check before the RO check only for GETs.
    assert_eq!(
        h.run(&["BITFIELD", "l", "GET", "u64", "0"]),
        Reply::error(
            "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is."
        )
    );
    assert_eq!(
        h.run(&["BITFIELD", "l", "GET", "u8", "0"]),
        Reply::error(WRONGTYPE)
    );
    assert_eq!(
        h.run(&["BITFIELD", "l", "SET", "u8", "0", "1"]),
        Reply::error(WRONGTYPE)
    );
    assert_eq!(h.run(&["BITFIELD", "l"]), Reply::error(WRONGTYPE));
    assert_eq!(
        h.run(&["BITFIELD_RO", "l", "GET", "u8", "0"]),
        Reply::error(WRONGTYPE)
    );
    assert_eq!(
        h.run(&["BITFIELD_RO", "l", "SET", "u8", "0", "1"]),
        Reply::error("ERR BITFIELD_RO only supports the GET subcommand")
    );
    h.run(&["SET", "s", "\u{0}"]);
    h.run(&["BITOP", "NOT", "s", "s"]);
    assert_eq!(
        h.run(&["BITFIELD_RO", "s", "GET", "i8", "0", "GET", "u4", "#1"]),
        ints(&[-1, 15])
    );
    assert_eq!(h.run(&["BITFIELD_RO", "s"]), Reply::Array(vec![]));
    assert!(h.propagated().is_empty());
}

/// Valkey's "SETBIT/BITFIELD only increase dirty when the value changed".
#[test]
fn dirty_only_on_change() {
    let mut h = harness();
    let cases: &[(&[&str], u64)] = &[
        (&["SETBIT", "foo", "0", "0"], 1),
        (&["SETBIT", "foo", "0", "0"], 0),
        (&["SETBIT", "foo", "0", "1"], 1),
        (&["SETBIT", "foo", "0", "1"], 0),
        (&["SETBIT", "foo", "8", "0"], 1),
        (&["BITFIELD", "foo2", "SET", "u8", "0", "0"], 1),
        (&["BITFIELD", "foo2", "SET", "u8", "0", "0"], 0),
        (&["BITFIELD", "foo2", "SET", "u8", "0", "1"], 1),
        (&["BITFIELD", "foo2", "SET", "u8", "0", "1"], 0),
        (&["BITFIELD", "foo2", "SET", "u8", "8", "0"], 1),
        (
            &[
                "BITFIELD", "foo2", "SET", "u8", "8", "0", "SET", "u8", "8", "1", "SET", "u8",
                "16", "0",
            ],
            3,
        ),
    ];
    for (args, dirty) in cases {
        h.run(args);
        assert_eq!(h.last.dirty, *dirty, "{args:?}");
        assert_eq!(h.propagated().len(), usize::from(*dirty > 0), "{args:?}");
    }
}
