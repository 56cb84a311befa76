//! Blocking XREAD/XREADGROUP as the server drives them: the first call returns a
//! `BlockRequest` (with `$` replaced in the kept argument vector), and the command is re-run
//! with `ctx.unblocking` when one of its keys changes.

use bytes::Bytes;
use commands::ctx::{BlockRequest, Ctx};
use commands::spec::Handler;
use commands::table;
use commands::testing::{bulk, Harness};
use resp::Reply;

use crate::*;

/// What a re-run produced: reply, a new block request, propagated commands.
struct Rerun {
    reply: Reply,
    block: Option<BlockRequest>,
    propagated: Vec<Vec<String>>,
    dirty: u64,
}

/// Re-runs a parked command the way the server does (`ctx.unblocking`).
fn rerun(h: &mut Harness, argv: &[Bytes]) -> Rerun {
    let Handler::Data(handler) = table::lookup(&argv[0]).expect("known command").handler else {
        panic!("not a data command");
    };
    let mut ctx = Ctx::new(&mut h.ks, 0, &h.settings);
    ctx.may_block = true;
    ctx.unblocking = true;
    let reply = handler(&mut ctx, argv);
    let propagated = ctx
        .rewrite
        .take()
        .unwrap_or_default()
        .iter()
        .map(|c| {
            c.iter()
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect()
        })
        .collect();
    Rerun {
        reply,
        block: ctx.block.take(),
        propagated,
        dirty: ctx.dirty,
    }
}

/// The argument vector the server keeps for a parked client.
fn kept(h: &Harness, original: &[&str]) -> Vec<Bytes> {
    let b = h.last.block.as_ref().expect("blocked");
    b.argv.clone().unwrap_or_else(|| argv(original))
}

#[test]
fn xread_block_resolves_dollar_and_serves_after_xadd() {
    let mut h = Harness::new();
    add(&mut h, "s", "5-0", &["f", "v"]);
    let cmd = ["XREAD", "BLOCK", "1000", "STREAMS", "s", "nokey", "$", "$"];
    assert_eq!(h.run(&cmd), Reply::NilArray);
    let b = h.last.block.clone().expect("blocked");
    assert_eq!(b.keys, argv(&["s", "nokey"]));
    assert_eq!(b.deadline_ms, Some(1_700_000_001_000));
    let parked = kept(&h, &cmd);
    assert_eq!(
        parked,
        argv(&["XREAD", "BLOCK", "1000", "STREAMS", "s", "nokey", "5-0", "0-0"])
    );
    // Nothing new yet: parks again.
    let r = rerun(&mut h, &parked);
    assert!(r.block.is_some());
    assert_eq!(r.reply, Reply::NilArray);
    add(&mut h, "nokey", "1-0", &["a", "b"]);
    let r = rerun(&mut h, &parked);
    assert!(r.block.is_none());
    assert_eq!(
        r.reply,
        arr(vec![arr(vec![
            bulk("nokey"),
            arr(vec![entry("1-0", &["a", "b"])])
        ])])
    );
    assert!(r.propagated.is_empty());
    // No `$`: the argument vector is kept as received; BLOCK 0 waits forever.
    let cmd = ["XREAD", "BLOCK", "0", "STREAMS", "s", "9-0"];
    h.run(&cmd);
    let b = h.last.block.clone().expect("blocked");
    assert_eq!((b.deadline_ms, b.argv), (None, None));
}

#[test]
fn xread_keeps_waiting_when_its_key_goes_or_changes_type() {
    let mut h = Harness::new();
    add(&mut h, "s", "5-0", &["f", "v"]);
    h.run(&["XREAD", "BLOCK", "0", "STREAMS", "s", "$"]);
    let parked = kept(&h, &[]);
    h.run(&["DEL", "s"]);
    assert!(rerun(&mut h, &parked).block.is_some());
    h.run(&["SET", "s", "x"]);
    assert!(
        rerun(&mut h, &parked).block.is_some(),
        "no WRONGTYPE for XREAD"
    );
    h.run(&["DEL", "s"]);
    // A re-created stream with lower IDs is not served either.
    add(&mut h, "s", "3-0", &["f", "v"]);
    assert!(rerun(&mut h, &parked).block.is_some());
    add(&mut h, "s", "6-0", &["f", "w"]);
    let r = rerun(&mut h, &parked);
    assert_eq!(
        r.reply,
        arr(vec![arr(vec![
            bulk("s"),
            arr(vec![entry("6-0", &["f", "w"])])
        ])])
    );
}

#[test]
fn blocking_is_refused_where_clients_cannot_block() {
    let mut h = Harness::new();
    h.may_block = false;
    assert_eq!(
        h.run(&["XREAD", "BLOCK", "0", "STREAMS", "s", "$"]),
        Reply::NilArray
    );
    assert!(h.last.block.is_none());
    h.run(&["XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"]);
    assert_eq!(
        h.run(&[
            "XREADGROUP",
            "GROUP",
            "g",
            "c",
            "BLOCK",
            "0",
            "STREAMS",
            "s",
            ">"
        ]),
        Reply::NilArray
    );
    assert!(h.last.block.is_none());
}

#[test]
fn xreadgroup_served_after_xadd_propagates_its_effects() {
    let mut h = notifying();
    h.run(&["XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"]);
    let cmd = [
        "XREADGROUP",
        "GROUP",
        "g",
        "alice",
        "BLOCK",
        "0",
        "STREAMS",
        "s",
        ">",
    ];
    assert_eq!(h.run(&cmd), Reply::NilArray);
    // The consumer is created at once (counted, announced, not propagated).
    assert_eq!(events(&h), ["xgroup-createconsumer"]);
    assert_eq!(h.last.dirty, 1);
    assert!(h.propagated().is_empty());
    let parked = kept(&h, &cmd);
    assert_eq!(parked, argv(&cmd));
    let r = rerun(&mut h, &parked);
    assert!(r.block.is_some());
    assert_eq!(r.dirty, 0);
    add(&mut h, "s", "7-0", &["f", "v"]);
    h.advance_ms(10);
    let r = rerun(&mut h, &parked);
    assert!(r.block.is_none());
    assert_eq!(
        r.reply,
        arr(vec![arr(vec![
            bulk("s"),
            arr(vec![entry("7-0", &["f", "v"])])
        ])])
    );
    assert_eq!(
        r.propagated,
        prop(&[
            &[
                "XCLAIM",
                "s",
                "g",
                "alice",
                "0",
                "7-0",
                "TIME",
                "1700000000010",
                "RETRYCOUNT",
                "1",
                "FORCE",
                "JUSTID",
                "LASTID",
                "7-0"
            ],
            &["XGROUP", "SETID", "s", "g", "7-0", "ENTRIESREAD", "1"],
        ])
    );
    assert_eq!(r.dirty, 1);
    // A second client of the same group finds nothing left and parks again.
    let other = argv(&[
        "XREADGROUP",
        "GROUP",
        "g",
        "bob",
        "BLOCK",
        "0",
        "STREAMS",
        "s",
        ">",
    ]);
    h.run(&["XGROUP", "CREATECONSUMER", "s", "g", "bob"]);
    assert!(rerun(&mut h, &other).block.is_some());
}

#[test]
fn xreadgroup_noack_serve_creates_no_pel_entries() {
    let mut h = Harness::new();
    h.run(&["XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"]);
    let cmd = [
        "XREADGROUP",
        "GROUP",
        "g",
        "c",
        "NOACK",
        "BLOCK",
        "0",
        "STREAMS",
        "s",
        ">",
    ];
    h.run(&cmd);
    assert_eq!(
        h.propagated(),
        prop(&[&["XGROUP", "CREATECONSUMER", "s", "g", "c"]])
    );
    add(&mut h, "s", "1-0", &["f", "v"]);
    let r = rerun(&mut h, &argv(&cmd));
    assert!(r.block.is_none());
    assert_eq!(
        r.propagated,
        prop(&[&["XGROUP", "SETID", "s", "g", "1-0", "ENTRIESREAD", "1"]])
    );
    assert_eq!(
        h.run(&["XPENDING", "s", "g"]),
        arr(vec![Reply::Int(0), Reply::Nil, Reply::Nil, Reply::NilArray])
    );
}

#[test]
fn xreadgroup_fails_when_its_key_or_group_goes() {
    let nogroup = "NOGROUP No such key 's' or consumer group 'g' in XREADGROUP with GROUP option";
    let cmd = argv(&[
        "XREADGROUP",
        "GROUP",
        "g",
        "c",
        "BLOCK",
        "0",
        "STREAMS",
        "s",
        ">",
    ]);
    let setup = || {
        let mut h = Harness::new();
        add(&mut h, "s", "666-0", &["f", "v"]);
        h.run(&["XGROUP", "CREATE", "s", "g", "$"]);
        h.run_argv(&cmd);
        assert!(h.last.block.is_some());
        h
    };
    let mut h = setup();
    h.run(&["DEL", "s"]);
    let r = rerun(&mut h, &cmd);
    assert_eq!((r.reply, r.block), (e(nogroup), None));
    let mut h = setup();
    h.run(&["SET", "s", "val"]);
    assert_eq!(rerun(&mut h, &cmd).reply, e(WRONGTYPE));
    let mut h = setup();
    assert_eq!(h.run(&["XGROUP", "DESTROY", "s", "g"]), Reply::Int(1));
    assert_eq!(rerun(&mut h, &cmd).reply, e(nogroup));
    let mut h = setup();
    h.run(&["DEL", "s"]);
    h.run(&["XADD", "s", "1-0", "f", "v"]);
    assert_eq!(
        rerun(&mut h, &cmd).reply,
        e(nogroup),
        "a new stream has no such group"
    );
}
