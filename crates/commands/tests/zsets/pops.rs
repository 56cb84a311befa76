//! ZPOPMIN/ZPOPMAX, ZMPOP and the blocking pops.

use bytes::Bytes;
use commands::testing::{bulk, Harness};
use resp::{Reply, RespVersion};

use crate::*;

#[test]
fn pops_reply_shapes_and_delete_emptied_keys() {
    let mut h = Harness::new();
    h.run(&["ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d"]);
    assert_eq!(h.wire(&["ZPOPMIN", "z"]), "*2\r\n$1\r\na\r\n$1\r\n1\r\n");
    assert_eq!(h.propagated(), prop(&[&["ZPOPMIN", "z"]]));
    assert_eq!(
        h.run(&["ZPOPMAX", "z", "2"]),
        Reply::Array(vec![
            bulk("d"),
            Reply::Double(4.0),
            bulk("c"),
            Reply::Double(3.0)
        ])
    );
    assert_eq!(h.last.dirty, 2);
    h.resp = RespVersion::Resp3;
    assert_eq!(h.wire(&["ZPOPMIN", "z", "0"]), "*0\r\n");
    assert_eq!(h.last.dirty, 0);
    h.run(&["ZADD", "z", "5", "e"]);
    assert_eq!(h.wire(&["ZPOPMIN", "z"]), "*2\r\n$1\r\nb\r\n,2\r\n");
    assert_eq!(
        h.wire(&["ZPOPMIN", "z", "10"]),
        "*1\r\n*2\r\n$1\r\ne\r\n,5\r\n"
    );
    assert!(!exists(&h, "z"));
    assert_eq!(h.wire(&["ZPOPMIN", "z"]), "*0\r\n");
    h.run(&["SET", "s", "x"]);
    let cases: &[(&[&str], &str)] = &[
        (
            &["ZPOPMIN", "z", "-1"],
            "ERR value is out of range, must be positive",
        ),
        (
            &["ZPOPMIN", "z", "x"],
            "ERR value is out of range, must be positive",
        ),
        (&["ZPOPMAX", "z", "1", "2"], "ERR syntax error"),
        (&["ZPOPMIN", "s"], WRONGTYPE),
    ];
    for (cmd, want) in cases {
        assert_eq!(h.run(cmd), e(want), "{cmd:?}");
    }
}

#[test]
fn zmpop_pops_from_the_first_non_empty_key() {
    let mut h = Harness::new();
    h.run(&["ZADD", "z", "1", "a", "2", "b", "3", "c"]);
    assert_eq!(
        h.wire(&["ZMPOP", "2", "nokey", "z", "MAX", "COUNT", "2"]),
        "*2\r\n$1\r\nz\r\n*2\r\n*2\r\n$1\r\nc\r\n$1\r\n3\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n"
    );
    assert_eq!(h.propagated(), prop(&[&["ZPOPMAX", "z", "2"]]));
    assert!(!h.run(&["ZMPOP", "1", "z", "MIN", "COUNT", "10"]).is_error());
    assert_eq!(h.propagated(), prop(&[&["ZPOPMIN", "z", "1"]]));
    assert_eq!(h.wire(&["ZMPOP", "1", "z", "MIN"]), "*-1\r\n");
    h.run(&["SET", "s", "x"]);
    let cases: &[(&[&str], &str)] = &[
        (
            &["ZMPOP", "0", "z", "MIN"],
            "ERR numkeys should be greater than 0",
        ),
        (
            &["ZMPOP", "x", "z", "MIN"],
            "ERR numkeys should be greater than 0",
        ),
        (&["ZMPOP", "2", "z", "MIN"], "ERR syntax error"),
        (
            &["ZMPOP", "9223372036854775807", "z", "MIN"],
            "ERR syntax error",
        ),
        (&["ZMPOP", "1", "z", "MID"], "ERR syntax error"),
        (
            &["ZMPOP", "1", "z", "MIN", "COUNT", "0"],
            "ERR count should be greater than 0",
        ),
        (
            &["ZMPOP", "1", "z", "MIN", "COUNT", "1", "COUNT", "1"],
            "ERR syntax error",
        ),
        (&["ZMPOP", "1", "z", "MIN", "COUNT"], "ERR syntax error"),
        (&["ZMPOP", "2", "s", "z", "MIN"], WRONGTYPE),
        (
            &["BZMPOP", "x", "1", "z", "MIN"],
            "ERR timeout is not a float or out of range",
        ),
        (
            &["BZMPOP", "x", "1", "z", "MIN", "COUNT", "0"],
            "ERR count should be greater than 0",
        ),
    ];
    for (cmd, want) in cases {
        assert_eq!(h.run(cmd), e(want), "{cmd:?}");
    }
}

#[test]
fn blocking_pops_serve_immediately_and_propagate_their_effect() {
    let mut h = Harness::new();
    h.run(&["ZADD", "z", "1", "a", "2", "b", "3", "c"]);
    assert_eq!(
        h.wire(&["BZPOPMIN", "nokey", "z", "0"]),
        "*3\r\n$1\r\nz\r\n$1\r\na\r\n$1\r\n1\r\n"
    );
    assert_eq!(h.propagated(), prop(&[&["ZPOPMIN", "z"]]));
    assert!(h.last.block.is_none());
    h.resp = RespVersion::Resp3;
    assert_eq!(
        h.wire(&["BZPOPMAX", "z", "0"]),
        "*3\r\n$1\r\nz\r\n$1\r\nc\r\n,3\r\n"
    );
    assert_eq!(h.propagated(), prop(&[&["ZPOPMAX", "z"]]));
    h.run(&["ZADD", "z", "4", "d"]);
    assert_eq!(
        h.wire(&["BZMPOP", "1", "1", "z", "MIN", "COUNT", "5"]),
        "*2\r\n$1\r\nz\r\n*2\r\n*2\r\n$1\r\nb\r\n,2\r\n*2\r\n$1\r\nd\r\n,4\r\n"
    );
    assert_eq!(h.propagated(), prop(&[&["ZPOPMIN", "z", "2"]]));
    assert!(!exists(&h, "z"));
}

#[test]
fn blocking_pops_block_until_a_sorted_set_appears() {
    let mut h = Harness::new();
    h.run(&["SET", "s", "x"]);
    assert_eq!(h.run(&["BZPOPMIN", "k1", "k2", "1.5"]), Reply::NilArray);
    let b = h.last.block.clone().expect("blocks");
    assert_eq!(b.keys, vec![Bytes::from("k1"), Bytes::from("k2")]);
    assert_eq!(b.deadline_ms, Some(h.ks.now_ms + 1500));
    assert_eq!(h.last.dirty, 0);
    h.run(&["BZMPOP", "0", "1", "k1", "MAX"]);
    assert_eq!(h.last.block.as_ref().map(|b| b.deadline_ms), Some(None));
    // A wrong type before any sorted set fails at once.
    assert_eq!(h.run(&["BZPOPMIN", "s", "k1", "0"]), e(WRONGTYPE));
    assert!(h.last.block.is_none());
    assert_eq!(
        h.run(&["BZPOPMIN", "k1", "-1"]),
        e("ERR timeout is negative")
    );
    // Inside MULTI a blocking pop answers like a timeout.
    h.may_block = false;
    assert_eq!(h.run(&["BZPOPMIN", "k1", "0"]), Reply::NilArray);
    assert_eq!(h.run(&["BZMPOP", "0", "1", "k1", "MIN"]), Reply::NilArray);
    assert!(h.last.block.is_none());
}

/// Re-runs a command as the server does for a parked client.
fn rerun(h: &mut Harness, args: &[&str]) -> (Reply, Option<commands::ctx::BlockRequest>) {
    let argv: Vec<Bytes> = args
        .iter()
        .map(|a| Bytes::copy_from_slice(a.as_bytes()))
        .collect();
    let spec = commands::table::lookup(&argv[0]).unwrap();
    let commands::Handler::Data(f) = spec.handler else {
        unreachable!()
    };
    let settings = h.settings.clone();
    let mut ctx = commands::Ctx::new(&mut h.ks, 0, &settings);
    ctx.may_block = true;
    ctx.unblocking = true;
    let reply = f(&mut ctx, &argv);
    let block = ctx.block.take();
    (reply, block)
}

#[test]
fn a_woken_client_is_served_only_by_a_sorted_set() {
    let mut h = Harness::new();
    let cmd = ["BZPOPMIN", "k1", "k2", "0"];
    h.run(&cmd);
    assert!(h.last.block.is_some());
    // k1 became a string: Redis does not wake the client for it.
    h.run(&["SET", "k1", "x"]);
    let (_, block) = rerun(&mut h, &cmd);
    assert!(block.is_some(), "stays blocked");
    // k2 got a member: the command runs again and meets k1's wrong type first.
    h.run(&["ZADD", "k2", "1", "m"]);
    assert_eq!(rerun(&mut h, &cmd), (e(WRONGTYPE), None));
    h.ks.remove(0, b"k1");
    let (reply, block) = rerun(&mut h, &cmd);
    assert!(block.is_none());
    assert_eq!(
        reply,
        Reply::Array(vec![bulk("k2"), bulk("m"), Reply::Double(1.0)])
    );
    assert!(!exists(&h, "k2"));
}
