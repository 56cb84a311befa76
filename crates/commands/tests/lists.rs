//! List commands through the table, in process: replies (RESP2 and RESP3), errors,
//! encodings, propagation and blocking.

use bytes::Bytes;
use commands::ctx::BlockRequest;
use commands::testing::{bulk, Harness};
use commands::{table, Ctx, Handler};
use resp::{Reply, RespVersion};

const NOW: i64 = 1_700_000_000_000;

fn arr(items: &[&str]) -> Reply {
    Reply::Array(items.iter().map(|s| bulk(s)).collect())
}

fn ints(items: &[i64]) -> Reply {
    Reply::Array(items.iter().map(|&i| Reply::Int(i)).collect())
}

fn err(text: &str) -> Reply {
    Reply::error(text.to_string())
}

fn cmd(parts: &[&str]) -> Vec<String> {
    parts.iter().map(|s| s.to_string()).collect()
}

fn encoding(h: &Harness, key: &str) -> &'static str {
    h.ks.db(0)
        .get(key.as_bytes())
        .expect("key exists")
        .encoding()
}

fn exists(h: &Harness, key: &str) -> bool {
    h.ks.db(0).get(key.as_bytes()).is_some()
}

fn all(h: &mut Harness, key: &str) -> Reply {
    h.run(&["LRANGE", key, "0", "-1"])
}

const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";

/// Re-runs a command the way the server does for a parked client (`ctx.unblocking`).
fn rerun(h: &mut Harness, args: &[&str]) -> (Reply, Option<BlockRequest>, u64) {
    let argv: Vec<Bytes> = args
        .iter()
        .map(|a| Bytes::copy_from_slice(a.as_bytes()))
        .collect();
    let Handler::Data(handler) = table::lookup(&argv[0]).expect("known command").handler else {
        panic!("not a data command");
    };
    let mut ctx = Ctx::new(&mut h.ks, 0, &h.settings);
    ctx.may_block = true;
    ctx.unblocking = true;
    let reply = handler(&mut ctx, &argv);
    (reply, ctx.block.take(), ctx.dirty)
}

#[test]
fn pushes_are_variadic_and_x_forms_need_the_key() {
    let mut h = Harness::new();
    assert_eq!(h.run(&["LPUSHX", "l", "a"]), Reply::Int(0));
    assert!(!exists(&h, "l"));
    assert_eq!(h.last.dirty, 0);
    assert_eq!(h.run(&["RPUSH", "l", "a", "b", "c"]), Reply::Int(3));
    assert_eq!(h.last.dirty, 3);
    assert_eq!(h.propagated(), vec![cmd(&["RPUSH", "l", "a", "b", "c"])]);
    assert_eq!(h.run(&["LPUSH", "l", "x", "y"]), Reply::Int(5));
    assert_eq!(all(&mut h, "l"), arr(&["y", "x", "a", "b", "c"]));
    assert_eq!(h.run(&["RPUSHX", "l", "z"]), Reply::Int(6));
    assert_eq!(h.run(&["LPUSHX", "l", "w"]), Reply::Int(7));
    assert_eq!(h.run(&["LLEN", "l"]), Reply::Int(7));
    assert_eq!(h.run(&["LLEN", "nope"]), Reply::Int(0));
    assert_eq!(encoding(&h, "l"), "listpack");
    h.run(&["SET", "s", "v"]);
    for c in ["LPUSH", "RPUSH", "LPUSHX", "RPUSHX"] {
        assert_eq!(h.run(&[c, "s", "a"]), err(WRONGTYPE));
    }
    assert_eq!(h.run(&["LLEN", "s"]), err(WRONGTYPE));
    assert_eq!(
        h.run(&["LPUSH", "l"]),
        err("ERR wrong number of arguments for 'lpush' command")
    );
}

#[test]
fn pop_with_and_without_count() {
    let mut h = Harness::new();
    h.run(&["RPUSH", "l", "a", "b", "c", "d", "e"]);
    assert_eq!(h.run(&["LPOP", "l"]), bulk("a"));
    assert_eq!(h.propagated(), vec![cmd(&["LPOP", "l"])]);
    assert_eq!(h.run(&["RPOP", "l", "2"]), arr(&["e", "d"]));
    assert_eq!(h.last.dirty, 2);
    assert_eq!(h.run(&["LPOP", "l", "0"]), Reply::Array(vec![]));
    assert_eq!(h.last.dirty, 0);
    assert!(h.propagated().is_empty());
    assert_eq!(h.run(&["LPOP", "l", "10"]), arr(&["b", "c"]));
    assert!(!exists(&h, "l"), "an emptied list is deleted");
    assert_eq!(h.run(&["LPOP", "l"]), Reply::Nil);
    assert_eq!(h.run(&["LPOP", "l", "0"]), Reply::NilArray);
    assert_eq!(h.wire(&["RPOP", "l", "3"]), "*-1\r\n");
    assert_eq!(h.wire(&["RPOP", "l"]), "$-1\r\n");
    h.resp = RespVersion::Resp3;
    assert_eq!(h.wire(&["RPOP", "l", "3"]), "_\r\n");
    assert_eq!(h.wire(&["RPOP", "l"]), "_\r\n");
    let positive = err("ERR value is out of range, must be positive");
    assert_eq!(h.run(&["LPOP", "l", "-1"]), positive);
    assert_eq!(h.run(&["LPOP", "l", "x"]), positive);
    assert_eq!(
        h.run(&["LPOP", "l", "1", "2"]),
        err("ERR wrong number of arguments for 'lpop' command")
    );
    h.run(&["SET", "s", "v"]);
    assert_eq!(h.run(&["RPOP", "s"]), err(WRONGTYPE));
    assert_eq!(
        h.run(&["RPOP", "s", "-1"]),
        positive,
        "count is parsed first"
    );
}

#[test]
fn lrange_and_lindex_follow_redis_index_rules() {
    let mut h = Harness::new();
    h.run(&[
        "RPUSH", "l", "0", "1", "2", "3", "4", "5", "6", "7", "8", "9",
    ]);
    assert_eq!(
        h.run(&["LRANGE", "l", "1", "-2"]),
        arr(&["1", "2", "3", "4", "5", "6", "7", "8"])
    );
    assert_eq!(h.run(&["LRANGE", "l", "-3", "-1"]), arr(&["7", "8", "9"]));
    assert_eq!(h.run(&["LRANGE", "l", "6", "2"]), Reply::Array(vec![]));
    assert_eq!(h.run(&["LRANGE", "l", "-100", "1"]), arr(&["0", "1"]));
    assert_eq!(h.run(&["LRANGE", "l", "8", "100"]), arr(&["8", "9"]));
    assert_eq!(h.run(&["LRANGE", "l", "0", "-11"]), Reply::Array(vec![]));
    assert_eq!(h.run(&["LRANGE", "l", "10", "20"]), Reply::Array(vec![]));
    assert_eq!(h.run(&["LRANGE", "nope", "0", "-1"]), Reply::Array(vec![]));
    let not_int = err("ERR value is not an integer or out of range");
    assert_eq!(h.run(&["LRANGE", "nope", "a", "1"]), not_int);
    assert_eq!(h.run(&["LINDEX", "l", "0"]), bulk("0"));
    assert_eq!(h.run(&["LINDEX", "l", "-1"]), bulk("9"));
    assert_eq!(h.run(&["LINDEX", "l", "-11"]), Reply::Nil);
    assert_eq!(h.run(&["LINDEX", "l", "10"]), Reply::Nil);
    assert_eq!(h.run(&["LINDEX", "l", "-9223372036854775808"]), Reply::Nil);
    assert_eq!(h.run(&["LINDEX", "l", "x"]), not_int);
    // The key is looked up before the index is parsed.
    assert_eq!(h.run(&["LINDEX", "nope", "x"]), Reply::Nil);
    h.run(&["SET", "s", "v"]);
    assert_eq!(h.run(&["LINDEX", "s", "x"]), err(WRONGTYPE));
    assert_eq!(h.run(&["LRANGE", "s", "0", "1"]), err(WRONGTYPE));
}

#[test]
fn lset_errors_and_encoding() {
    let mut h = Harness::new();
    assert_eq!(h.run(&["LSET", "l", "0", "x"]), err("ERR no such key"));
    assert_eq!(h.run(&["LSET", "l", "x", "x"]), err("ERR no such key"));
    h.run(&["RPUSH", "l", "a", "b", "c"]);
    assert_eq!(h.run(&["LSET", "l", "-1", "z"]), Reply::Ok);
    assert_eq!(h.propagated(), vec![cmd(&["LSET", "l", "-1", "z"])]);
    assert_eq!(
        h.run(&["LSET", "l", "3", "x"]),
        err("ERR index out of range")
    );
    assert_eq!(
        h.run(&["LSET", "l", "-4", "x"]),
        err("ERR index out of range")
    );
    assert_eq!(
        h.run(&["LSET", "l", "y", "x"]),
        err("ERR value is not an integer or out of range")
    );
    assert_eq!(all(&mut h, "l"), arr(&["a", "b", "z"]));
    // A large element turns the list into a quicklist; replacing it shrinks it back.
    let big = "x".repeat(9000);
    assert_eq!(h.run(&["LSET", "l", "0", &big]), Reply::Ok);
    assert_eq!(encoding(&h, "l"), "quicklist");
    assert_eq!(h.run(&["LSET", "l", "0", "a"]), Reply::Ok);
    assert_eq!(encoding(&h, "l"), "listpack");
    h.run(&["SET", "s", "v"]);
    assert_eq!(h.run(&["LSET", "s", "0", "x"]), err(WRONGTYPE));
}

#[test]
fn linsert_before_after_and_misses() {
    let mut h = Harness::new();
    assert_eq!(h.run(&["LINSERT", "l", "BEFORE", "a", "x"]), Reply::Int(0));
    assert!(!exists(&h, "l"));
    h.run(&["RPUSH", "l", "a", "b", "c"]);
    assert_eq!(h.run(&["LINSERT", "l", "before", "a", "0"]), Reply::Int(4));
    assert_eq!(h.run(&["LINSERT", "l", "AFTER", "c", "d"]), Reply::Int(5));
    assert_eq!(h.run(&["LINSERT", "l", "after", "a", "a2"]), Reply::Int(6));
    assert_eq!(h.last.dirty, 1);
    assert_eq!(all(&mut h, "l"), arr(&["0", "a", "a2", "b", "c", "d"]));
    assert_eq!(
        h.run(&["LINSERT", "l", "BEFORE", "zz", "x"]),
        Reply::Int(-1)
    );
    assert_eq!(h.last.dirty, 0);
    assert_eq!(
        h.run(&["LINSERT", "l", "MIDDLE", "a", "x"]),
        err("ERR syntax error")
    );
    assert_eq!(
        h.run(&["LINSERT", "nope", "MIDDLE", "a", "x"]),
        err("ERR syntax error")
    );
    h.run(&["SET", "s", "v"]);
    assert_eq!(h.run(&["LINSERT", "s", "BEFORE", "a", "x"]), err(WRONGTYPE));
    // Inserting a large element converts the list.
    let big = "y".repeat(9000);
    assert_eq!(h.run(&["LINSERT", "l", "AFTER", "b", &big]), Reply::Int(7));
    assert_eq!(encoding(&h, "l"), "quicklist");
    assert_eq!(h.run(&["LINDEX", "l", "4"]), bulk(&big));
}

#[test]
fn lrem_directions_and_limits() {
    let mut h = Harness::new();
    h.run(&["RPUSH", "l", "x", "a", "x", "b", "x", "c", "x"]);
    assert_eq!(h.run(&["LREM", "l", "-2", "x"]), Reply::Int(2));
    assert_eq!(all(&mut h, "l"), arr(&["x", "a", "x", "b", "c"]));
    assert_eq!(h.run(&["LREM", "l", "1", "x"]), Reply::Int(1));
    assert_eq!(all(&mut h, "l"), arr(&["a", "x", "b", "c"]));
    assert_eq!(h.run(&["LREM", "l", "0", "nothing"]), Reply::Int(0));
    assert_eq!(h.last.dirty, 0);
    h.run(&["RPUSH", "l", "x", "x"]);
    assert_eq!(h.run(&["LREM", "l", "0", "x"]), Reply::Int(3));
    assert_eq!(h.last.dirty, 3);
    assert_eq!(h.propagated(), vec![cmd(&["LREM", "l", "0", "x"])]);
    assert_eq!(h.run(&["LREM", "l", "0", "a"]), Reply::Int(1));
    assert_eq!(h.run(&["LREM", "l", "0", "b"]), Reply::Int(1));
    assert_eq!(h.run(&["LREM", "l", "0", "c"]), Reply::Int(1));
    assert!(!exists(&h, "l"));
    assert_eq!(h.run(&["LREM", "l", "0", "c"]), Reply::Int(0));
    assert_eq!(
        h.run(&["LREM", "l", "-9223372036854775808", "c"]),
        err("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807")
    );
    assert_eq!(
        h.run(&["LREM", "l", "z", "c"]),
        err("ERR value is not an integer or out of range")
    );
    h.run(&["SET", "s", "v"]);
    assert_eq!(h.run(&["LREM", "s", "0", "v"]), err(WRONGTYPE));
}

#[test]
fn ltrim_keeps_a_window() {
    let mut h = Harness::new();
    assert_eq!(h.run(&["LTRIM", "l", "0", "1"]), Reply::Ok);
    h.run(&["RPUSH", "l", "a", "b", "c", "d", "e"]);
    assert_eq!(h.run(&["LTRIM", "l", "1", "-2"]), Reply::Ok);
    assert_eq!(h.last.dirty, 2);
    assert_eq!(all(&mut h, "l"), arr(&["b", "c", "d"]));
    assert_eq!(h.run(&["LTRIM", "l", "-100", "100"]), Reply::Ok);
    assert_eq!(h.last.dirty, 0, "nothing trimmed, nothing propagated");
    assert!(h.propagated().is_empty());
    assert_eq!(h.run(&["LTRIM", "l", "2", "1"]), Reply::Ok);
    assert_eq!(h.last.dirty, 3);
    assert!(!exists(&h, "l"));
    assert_eq!(
        h.run(&["LTRIM", "l", "x", "1"]),
        err("ERR value is not an integer or out of range")
    );
    h.run(&["SET", "s", "v"]);
    assert_eq!(h.run(&["LTRIM", "s", "0", "1"]), err(WRONGTYPE));
}

#[test]
fn lpos_rank_count_maxlen() {
    let mut h = Harness::new();
    h.run(&["RPUSH", "l", "a", "b", "c", "1", "2", "3", "c", "c"]);
    assert_eq!(h.run(&["LPOS", "l", "c"]), Reply::Int(2));
    assert_eq!(h.run(&["LPOS", "l", "c", "RANK", "2"]), Reply::Int(6));
    assert_eq!(h.run(&["LPOS", "l", "c", "RANK", "-1"]), Reply::Int(7));
    assert_eq!(h.run(&["LPOS", "l", "c", "RANK", "-3"]), Reply::Int(2));
    assert_eq!(h.run(&["LPOS", "l", "c", "RANK", "4"]), Reply::Nil);
    assert_eq!(h.run(&["LPOS", "l", "c", "COUNT", "0"]), ints(&[2, 6, 7]));
    assert_eq!(h.run(&["LPOS", "l", "c", "COUNT", "2"]), ints(&[2, 6]));
    assert_eq!(
        h.run(&["LPOS", "l", "c", "COUNT", "2", "RANK", "-1"]),
        ints(&[7, 6])
    );
    assert_eq!(
        h.run(&["LPOS", "l", "c", "COUNT", "0", "RANK", "2"]),
        ints(&[6, 7])
    );
    assert_eq!(
        h.run(&["LPOS", "l", "c", "COUNT", "0", "MAXLEN", "7"]),
        ints(&[2, 6])
    );
    assert_eq!(
        h.run(&["LPOS", "l", "c", "RANK", "-1", "MAXLEN", "1"]),
        Reply::Int(7)
    );
    assert_eq!(
        h.run(&["LPOS", "l", "c", "RANK", "-1", "COUNT", "0", "MAXLEN", "2"]),
        ints(&[7, 6])
    );
    assert_eq!(h.run(&["LPOS", "l", "x"]), Reply::Nil);
    assert_eq!(
        h.run(&["LPOS", "l", "x", "COUNT", "5"]),
        Reply::Array(vec![])
    );
    assert_eq!(h.run(&["LPOS", "nope", "x"]), Reply::Nil);
    assert_eq!(
        h.run(&["LPOS", "nope", "x", "COUNT", "1"]),
        Reply::Array(vec![])
    );
    assert_eq!(
        h.run(&["LPOS", "l", "c", "RANK", "0"]),
        err("ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list")
    );
    assert_eq!(
        h.run(&["LPOS", "l", "c", "RANK", "-9223372036854775808"]),
        err("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807")
    );
    assert_eq!(
        h.run(&["LPOS", "l", "c", "RANK", "x"]),
        err("ERR value is not an integer or out of range")
    );
    assert_eq!(
        h.run(&["LPOS", "l", "c", "COUNT", "-1"]),
        err("ERR COUNT can't be negative")
    );
    assert_eq!(
        h.run(&["LPOS", "l", "c", "COUNT", "x"]),
        err("ERR COUNT can't be negative")
    );
    assert_eq!(
        h.run(&["LPOS", "l", "c", "MAXLEN", "-1"]),
        err("ERR MAXLEN can't be negative")
    );
    assert_eq!(h.run(&["LPOS", "l", "c", "RANK"]), err("ERR syntax error"));
    assert_eq!(
        h.run(&["LPOS", "l", "c", "FOO", "1"]),
        err("ERR syntax error")
    );
    h.run(&["SET", "s", "v"]);
    assert_eq!(h.run(&["LPOS", "s", "c"]), err(WRONGTYPE));
    h.resp = RespVersion::Resp3;
    assert_eq!(h.wire(&["LPOS", "l", "x"]), "_\r\n");
}

#[test]
fn lmove_and_rpoplpush() {
    let mut h = Harness::new();
    assert_eq!(h.run(&["RPOPLPUSH", "src", "dst"]), Reply::Nil);
    assert_eq!(h.last.dirty, 0);
    h.run(&["RPUSH", "src", "a", "b", "c"]);
    assert_eq!(h.run(&["RPOPLPUSH", "src", "dst"]), bulk("c"));
    assert_eq!(h.last.dirty, 1);
    assert_eq!(h.propagated(), vec![cmd(&["RPOPLPUSH", "src", "dst"])]);
    assert_eq!(h.run(&["LMOVE", "src", "dst", "left", "RIGHT"]), bulk("a"));
    assert_eq!(
        h.propagated(),
        vec![cmd(&["LMOVE", "src", "dst", "left", "RIGHT"])]
    );
    assert_eq!(all(&mut h, "dst"), arr(&["c", "a"]));
    assert_eq!(h.run(&["LMOVE", "src", "dst", "RIGHT", "LEFT"]), bulk("b"));
    assert!(!exists(&h, "src"));
    assert_eq!(all(&mut h, "dst"), arr(&["b", "c", "a"]));
    // Same list: a rotation, and a one-element list survives it.
    assert_eq!(h.run(&["LMOVE", "dst", "dst", "LEFT", "RIGHT"]), bulk("b"));
    assert_eq!(all(&mut h, "dst"), arr(&["c", "a", "b"]));
    assert_eq!(h.run(&["RPOPLPUSH", "dst", "dst"]), bulk("b"));
    assert_eq!(all(&mut h, "dst"), arr(&["b", "c", "a"]));
    h.run(&["RPUSH", "one", "x"]);
    assert_eq!(h.run(&["RPOPLPUSH", "one", "one"]), bulk("x"));
    assert_eq!(all(&mut h, "one"), arr(&["x"]));
    // The destination's type is checked before anything moves.
    h.run(&["SET", "s", "v"]);
    assert_eq!(
        h.run(&["LMOVE", "dst", "s", "LEFT", "LEFT"]),
        err(WRONGTYPE)
    );
    assert_eq!(h.run(&["LLEN", "dst"]), Reply::Int(3));
    assert_eq!(h.run(&["RPOPLPUSH", "s", "dst"]), err(WRONGTYPE));
    assert_eq!(h.run(&["RPOPLPUSH", "nope", "s"]), Reply::Nil);
    assert_eq!(
        h.run(&["LMOVE", "dst", "x", "UP", "LEFT"]),
        err("ERR syntax error")
    );
    assert_eq!(
        h.run(&["LMOVE", "dst", "x", "LEFT", "DOWN"]),
        err("ERR syntax error")
    );
}

#[test]
fn lmpop_arguments_and_propagation() {
    let mut h = Harness::new();
    let arity = err("ERR wrong number of arguments for 'lmpop' command");
    assert_eq!(h.run(&["LMPOP", "1", "l"]), arity);
    let numkeys = err("ERR numkeys should be greater than 0");
    assert_eq!(h.run(&["LMPOP", "0", "l", "LEFT"]), numkeys);
    assert_eq!(h.run(&["LMPOP", "a", "l", "LEFT"]), numkeys);
    assert_eq!(h.run(&["LMPOP", "-1", "l", "RIGHT"]), numkeys);
    let syntax = err("ERR syntax error");
    assert_eq!(h.run(&["LMPOP", "1", "l", "bad_where"]), syntax);
    assert_eq!(h.run(&["LMPOP", "1", "l", "LEFT", "bar_arg"]), syntax);
    assert_eq!(h.run(&["LMPOP", "1", "l", "RIGHT", "LEFT"]), syntax);
    assert_eq!(h.run(&["LMPOP", "1", "l", "COUNT"]), syntax);
    assert_eq!(
        h.run(&["LMPOP", "1", "l", "LEFT", "COUNT", "1", "COUNT", "2"]),
        syntax
    );
    assert_eq!(h.run(&["LMPOP", "2", "l", "l2", "bad_arg"]), syntax);
    assert_eq!(h.run(&["LMPOP", "5", "l", "LEFT"]), syntax);
    assert_eq!(
        h.run(&["LMPOP", "9223372036854775807", "l", "LEFT"]),
        syntax
    );
    let count = err("ERR count should be greater than 0");
    assert_eq!(h.run(&["LMPOP", "1", "l", "LEFT", "COUNT", "0"]), count);
    assert_eq!(h.run(&["LMPOP", "1", "l", "RIGHT", "COUNT", "a"]), count);
    assert_eq!(
        h.run(&["LMPOP", "2", "l", "l2", "RIGHT", "COUNT", "-1"]),
        count
    );

    assert_eq!(h.run(&["LMPOP", "2", "l", "l2", "LEFT"]), Reply::NilArray);
    assert!(h.propagated().is_empty());
    h.run(&["RPUSH", "l2", "1", "2", "3"]);
    assert_eq!(
        h.run(&["LMPOP", "2", "l", "l2", "left", "COUNT", "2"]),
        Reply::Array(vec![bulk("l2"), arr(&["1", "2"])])
    );
    assert_eq!(h.propagated(), vec![cmd(&["LPOP", "l2", "2"])]);
    h.run(&["RPUSH", "l", "a", "b"]);
    assert_eq!(
        h.wire(&["LMPOP", "2", "l", "l2", "RIGHT", "COUNT", "10"]),
        "*2\r\n$1\r\nl\r\n*2\r\n$1\r\nb\r\n$1\r\na\r\n"
    );
    assert_eq!(h.propagated(), vec![cmd(&["RPOP", "l", "2"])]);
    assert!(!exists(&h, "l"));
    assert_eq!(
        h.run(&["LMPOP", "2", "l", "l2", "RIGHT"]),
        Reply::Array(vec![bulk("l2"), arr(&["3"])])
    );
    assert_eq!(h.propagated(), vec![cmd(&["RPOP", "l2", "1"])]);
    h.run(&["SET", "s", "v"]);
    assert_eq!(h.run(&["LMPOP", "2", "nope", "s", "LEFT"]), err(WRONGTYPE));
    h.resp = RespVersion::Resp3;
    assert_eq!(h.wire(&["LMPOP", "1", "nope", "LEFT"]), "_\r\n");
}

#[test]
fn movable_keys_of_lmpop_and_blmpop() {
    let positions = |args: &[&str]| {
        let argv: Vec<Bytes> = args
            .iter()
            .map(|a| Bytes::copy_from_slice(a.as_bytes()))
            .collect();
        table::lookup(args[0].as_bytes())
            .expect("known")
            .keys
            .positions(&argv)
    };
    assert_eq!(positions(&["LMPOP", "2", "a", "b", "LEFT"]), vec![2, 3]);
    assert_eq!(
        positions(&["BLMPOP", "0", "3", "a", "b", "c", "LEFT"]),
        vec![3, 4, 5]
    );
    assert_eq!(positions(&["LMPOP", "9", "a", "LEFT"]), Vec::<usize>::new());
    assert_eq!(positions(&["LMPOP", "x", "a", "LEFT"]), Vec::<usize>::new());
    assert_eq!(positions(&["BLPOP", "a", "b", "0"]), vec![1, 2]);
    assert_eq!(
        positions(&["BLMOVE", "a", "b", "LEFT", "LEFT", "0"]),
        vec![1, 2]
    );
}

#[test]
fn blpop_serves_at_once_or_blocks() {
    let mut h = Harness::new();
    h.run(&["RPUSH", "b", "1", "2"]);
    assert_eq!(h.run(&["BLPOP", "a", "b", "0"]), arr(&["b", "1"]));
    assert_eq!(h.propagated(), vec![cmd(&["LPOP", "b"])]);
    assert_eq!(h.last.block, None);
    assert_eq!(h.run(&["BRPOP", "a", "b", "0"]), arr(&["b", "2"]));
    assert_eq!(h.propagated(), vec![cmd(&["RPOP", "b"])]);
    assert!(!exists(&h, "b"));

    h.run(&["BLPOP", "a", "b", "a", "1.5"]);
    let block = h.last.block.clone().expect("blocks");
    assert_eq!(block.keys, vec![Bytes::from("a"), Bytes::from("b")]);
    assert_eq!(block.deadline_ms, Some(NOW + 1500));
    assert_eq!(h.last.dirty, 0);
    assert!(h.propagated().is_empty());
    h.run(&["BRPOP", "a", "0"]);
    assert_eq!(h.last.block.as_ref().map(|b| b.deadline_ms), Some(None));

    // Inside MULTI (no blocking allowed) the timeout reply comes at once.
    h.may_block = false;
    assert_eq!(h.wire(&["BLPOP", "a", "0"]), "*-1\r\n");
    assert_eq!(h.last.block, None);
    h.resp = RespVersion::Resp3;
    assert_eq!(h.wire(&["BRPOP", "a", "0"]), "_\r\n");
    h.may_block = true;

    assert_eq!(h.run(&["BLPOP", "a", "-1"]), err("ERR timeout is negative"));
    assert_eq!(
        h.run(&["BLPOP", "a", "x"]),
        err("ERR timeout is not a float or out of range")
    );
    assert_eq!(h.last.block, None);
    h.run(&["SET", "s", "v"]);
    assert_eq!(h.run(&["BLPOP", "a", "s", "0"]), err(WRONGTYPE));
    assert_eq!(h.last.block, None);
}

#[test]
fn blocked_pop_reruns_serve_or_park_again() {
    let mut h = Harness::new();
    // Still nothing: parks again.
    let (_, block, dirty) = rerun(&mut h, &["BLPOP", "a", "b", "0"]);
    assert!(block.is_some());
    assert_eq!(dirty, 0);
    // A key that became another type does not fail the parked client.
    h.run(&["SET", "a", "v"]);
    let (reply, block, _) = rerun(&mut h, &["BLPOP", "a", "b", "0"]);
    assert!(block.is_some(), "got {reply:?}");
    // Once a list appears, the command runs as usual (and meets the string first).
    h.run(&["RPUSH", "b", "x"]);
    let (reply, block, _) = rerun(&mut h, &["BLPOP", "a", "b", "0"]);
    assert_eq!(reply, err(WRONGTYPE));
    assert!(block.is_none());
    let (reply, block, dirty) = rerun(&mut h, &["BLPOP", "c", "b", "0"]);
    assert_eq!(reply, arr(&["b", "x"]));
    assert!(block.is_none());
    assert_eq!(dirty, 1);
}

#[test]
fn blmpop_serves_counts_and_blocks() {
    let mut h = Harness::new();
    h.run(&["RPUSH", "l2", "1", "2", "3"]);
    assert_eq!(
        h.run(&["BLMPOP", "0", "2", "l1", "l2", "RIGHT", "COUNT", "10"]),
        Reply::Array(vec![bulk("l2"), arr(&["3", "2", "1"])])
    );
    assert_eq!(h.propagated(), vec![cmd(&["RPOP", "l2", "3"])]);
    h.run(&["BLMPOP", "0.01", "2", "l1", "l2", "LEFT"]);
    let block = h.last.block.clone().expect("blocks");
    assert_eq!(block.keys, vec![Bytes::from("l1"), Bytes::from("l2")]);
    assert_eq!(block.deadline_ms, Some(NOW + 10));
    h.run(&["LPUSH", "l1", "a", "b", "c"]);
    let (reply, block, _) = rerun(
        &mut h,
        &["BLMPOP", "0", "2", "l1", "l2", "LEFT", "COUNT", "5"],
    );
    assert_eq!(reply, Reply::Array(vec![bulk("l1"), arr(&["c", "b", "a"])]));
    assert!(block.is_none());
    // Argument errors come before the timeout's.
    assert_eq!(
        h.run(&["BLMPOP", "x", "0", "l1", "LEFT"]),
        err("ERR numkeys should be greater than 0")
    );
    assert_eq!(
        h.run(&["BLMPOP", "x", "1", "l1", "LEFT"]),
        err("ERR timeout is not a float or out of range")
    );
    assert_eq!(
        h.run(&["BLMPOP", "0", "1", "l1", "LEFT", "COUNT", "0"]),
        err("ERR count should be greater than 0")
    );
    h.may_block = false;
    assert_eq!(h.run(&["BLMPOP", "0", "1", "l1", "LEFT"]), Reply::NilArray);
    assert_eq!(h.last.block, None);
    h.may_block = true;
    h.run(&["SET", "s", "v"]);
    assert_eq!(
        h.run(&["BLMPOP", "0", "2", "l1", "s", "LEFT"]),
        err(WRONGTYPE)
    );
}

#[test]
fn blmove_and_brpoplpush_propagate_their_non_blocking_form() {
    let mut h = Harness::new();
    h.run(&["RPUSH", "src", "a", "b"]);
    assert_eq!(
        h.run(&["BLMOVE", "src", "dst", "left", "Right", "0"]),
        bulk("a")
    );
    assert_eq!(
        h.propagated(),
        vec![cmd(&["LMOVE", "src", "dst", "left", "Right"])]
    );
    assert_eq!(h.run(&["BRPOPLPUSH", "src", "dst", "0"]), bulk("b"));
    assert_eq!(h.propagated(), vec![cmd(&["RPOPLPUSH", "src", "dst"])]);
    assert_eq!(all(&mut h, "dst"), arr(&["b", "a"]));

    h.run(&["BLMOVE", "src", "dst", "LEFT", "LEFT", "2"]);
    let block = h.last.block.clone().expect("blocks");
    assert_eq!(
        block.keys,
        vec![Bytes::from("src")],
        "only the source is waited on"
    );
    assert_eq!(block.deadline_ms, Some(NOW + 2000));
    h.may_block = false;
    assert_eq!(
        h.wire(&["BLMOVE", "src", "dst", "LEFT", "LEFT", "0"]),
        "$-1\r\n"
    );
    assert_eq!(h.wire(&["BRPOPLPUSH", "src", "dst", "0"]), "$-1\r\n");
    assert_eq!(h.last.block, None);
    h.may_block = true;

    // Errors: positions, then timeout; a wrong-type destination only matters once serving.
    assert_eq!(
        h.run(&["BLMOVE", "src", "dst", "UP", "LEFT", "x"]),
        err("ERR syntax error")
    );
    assert_eq!(
        h.run(&["BLMOVE", "src", "dst", "LEFT", "LEFT", "x"]),
        err("ERR timeout is not a float or out of range")
    );
    h.run(&["SET", "s", "v"]);
    h.run(&["BLMOVE", "src", "s", "LEFT", "LEFT", "0"]);
    assert!(h.last.block.is_some());
    h.run(&["RPUSH", "src", "z"]);
    let (reply, block, _) = rerun(&mut h, &["BLMOVE", "src", "s", "LEFT", "LEFT", "0"]);
    assert_eq!(reply, err(WRONGTYPE));
    assert!(block.is_none());
    let (reply, block, dirty) = rerun(&mut h, &["BRPOPLPUSH", "src", "dst", "0"]);
    assert_eq!((reply, block, dirty), (bulk("z"), None, 1));
    assert!(!exists(&h, "src"));
    // A source that turned into another type keeps the client parked.
    let (_, block, _) = rerun(&mut h, &["BRPOPLPUSH", "s", "dst", "0"]);
    assert!(block.is_some());
    assert_eq!(h.run(&["BRPOPLPUSH", "s", "dst", "0"]), err(WRONGTYPE));
}

#[test]
fn encoding_grows_to_quicklist_by_size_and_count() {
    let mut h = Harness::new();
    // Default list-max-listpack-size -2: 8 KiB.
    h.run(&["RPUSH", "l", "a", "b", "c"]);
    assert_eq!(encoding(&h, "l"), "listpack");
    h.run(&["RPUSH", "l", &"x".repeat(8200)]);
    assert_eq!(encoding(&h, "l"), "quicklist");
    h.run(&["RPOP", "l"]);
    assert_eq!(
        encoding(&h, "l"),
        "listpack",
        "shrinks back under half the limit"
    );

    // A count limit: 3 entries, back to listpack at 1.
    h.settings.list.fill = 3;
    for (setup, step) in [
        (
            &["RPUSH", "q", "a", "b", "c", "d"][..],
            &["RPOP", "q", "3"][..],
        ),
        (
            &["RPUSH", "q", "a", "a", "a", "d"][..],
            &["LREM", "q", "3", "a"][..],
        ),
        (
            &["RPUSH", "q", "a", "b", "c", "d"][..],
            &["LTRIM", "q", "1", "1"][..],
        ),
    ] {
        h.ks.remove(0, b"q");
        h.run(setup);
        assert_eq!(encoding(&h, "q"), "quicklist");
        h.run(step);
        assert_eq!(encoding(&h, "q"), "listpack", "after {step:?}");
    }
    // q is [b]: filling to the limit keeps the listpack, one more converts.
    h.run(&["RPUSH", "q", "x", "y"]);
    assert_eq!(encoding(&h, "q"), "listpack");
    h.run(&["RPUSH", "q", "w"]);
    assert_eq!(encoding(&h, "q"), "quicklist");
    h.run(&["RPOP", "q"]);
    assert_eq!(
        encoding(&h, "q"),
        "quicklist",
        "3 entries is not under half of 3"
    );
    // LSET counts as growth first: a full listpack converts.
    h.ks.remove(0, b"r");
    h.run(&["RPUSH", "r", "a", "b", "c"]);
    h.run(&["LSET", "r", "0", "z"]);
    assert_eq!(encoding(&h, "r"), "quicklist");
}

#[test]
fn lmove_sizes_integers_from_a_quicklist_as_valkey() {
    let mut h = Harness::new();
    // list-max-listpack-size -1: 4096 bytes. A 4083-byte string makes a 4094-byte listpack.
    h.settings.list.fill = -1;
    let filler = "f".repeat(4083);
    let big = "y".repeat(5000);
    for dst in ["d1", "d2"] {
        h.run(&["RPUSH", dst, &filler]);
        assert_eq!(encoding(&h, dst), "listpack");
    }
    h.run(&["RPUSH", "src", &big, "12345"]);
    assert_eq!(encoding(&h, "src"), "quicklist");
    // Moved out of a quicklist, an integer is sized as 0 bytes: d1 stays a listpack.
    assert_eq!(
        h.run(&["LMOVE", "src", "d1", "RIGHT", "RIGHT"]),
        bulk("12345")
    );
    assert_eq!(encoding(&h, "d1"), "listpack");
    // The same value pushed by a client counts its 5 bytes.
    h.run(&["RPUSH", "d2", "12345"]);
    assert_eq!(encoding(&h, "d2"), "quicklist");
    // A large value moved in converts the destination.
    assert_eq!(h.run(&["LMOVE", "src", "d1", "LEFT", "LEFT"]), bulk(&big));
    assert_eq!(encoding(&h, "d1"), "quicklist");
}

#[test]
fn expired_lists_read_as_missing() {
    let mut h = Harness::new();
    h.run(&["RPUSH", "l", "a"]);
    h.ks.set_expire(0, b"l", Some(NOW + 100));
    h.advance_ms(101);
    assert_eq!(h.run(&["LLEN", "l"]), Reply::Int(0));
    assert_eq!(h.run(&["LPUSHX", "l", "b"]), Reply::Int(0));
    assert_eq!(h.run(&["RPUSH", "l", "c"]), Reply::Int(1));
    assert_eq!(all(&mut h, "l"), arr(&["c"]));
}

/// The list at `key` (tests of its nodes).
fn list_at<'h>(h: &'h mut Harness, key: &str) -> &'h types::List {
    match h.ks.peek(0, key.as_bytes()).map(|o| o.value()) {
        Some(keyspace::ValueRef::List(l)) => l,
        _ => panic!("{key} is not a list"),
    }
}

#[test]
fn a_compressed_list_reads_and_changes_like_any_other_and_keeps_no_copies() {
    let mut h = Harness::new();
    h.settings.list.compress = 1;
    let items: Vec<String> = (0..3000).map(|i| format!("item-{i:>30}")).collect();
    let mut push = vec!["RPUSH", "l"];
    push.extend(items.iter().map(String::as_str));
    assert_eq!(h.run(&push), Reply::Int(3000));
    let raw_nodes = list_at(&mut h, "l").nodes().count();
    assert!(raw_nodes > 10, "{raw_nodes} nodes");
    let all: Vec<&str> = items.iter().map(String::as_str).collect();
    assert_eq!(h.run(&["LRANGE", "l", "0", "-1"]), arr(&all));
    assert_eq!(h.run(&["LINDEX", "l", "1500"]), bulk(&items[1500]));
    assert_eq!(h.run(&["LPOS", "l", &items[2000]]), Reply::Int(2000));
    assert!(
        !list_at(&mut h, "l").holds_copies(),
        "the reads' decompressed nodes are dropped after each command"
    );
    assert_eq!(h.run(&["LSET", "l", "1200", "x"]), Reply::Ok);
    assert_eq!(
        h.run(&["LINSERT", "l", "BEFORE", &items[1700], "y"]),
        Reply::Int(3001)
    );
    assert_eq!(h.run(&["LREM", "l", "0", &items[900]]), Reply::Int(1));
    let mut want: Vec<&str> = all.clone();
    want[1200] = "x";
    want.insert(1700, "y");
    want.remove(900);
    assert_eq!(h.run(&["LRANGE", "l", "0", "-1"]), arr(&want));
    assert_eq!(
        h.run(&["SORT", "l", "ALPHA", "STORE", "s"]),
        Reply::Int(3000)
    );
    let (_, depth) = list_at(&mut h, "s").quicklist_options();
    assert_eq!(depth, 1, "SORT STORE makes its list with the current depth");
    assert!(!list_at(&mut h, "l").holds_copies());
}
