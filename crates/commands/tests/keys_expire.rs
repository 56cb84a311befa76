//! EXPIRE family, TTL family and PERSIST through the table, in process. The harness clock
//! starts at 1_700_000_000_000 ms. Propagated forms were checked against the AOF of
//! redis-server 7.0.15.

use commands::testing::Harness;
use keyspace::ExpiryMode;
use resp::Reply;

const NOW: i64 = 1_700_000_000_000;

fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn err(s: &'static str) -> Reply {
    Reply::error(s)
}

#[test]
fn relative_expires_propagate_as_pexpireat() {
    let mut h = Harness::new();
    h.run(&["SET", "k", "v"]);
    assert_eq!(h.run(&["EXPIRE", "k", "100", "nx"]), Reply::Int(1));
    assert_eq!(
        h.propagated(),
        vec![strs(&["PEXPIREAT", "k", "1700000100000", "nx"])]
    );
    assert_eq!(h.run(&["PEXPIRE", "k", "200000", "GT"]), Reply::Int(1));
    assert_eq!(
        h.propagated(),
        vec![strs(&["PEXPIREAT", "k", "1700000200000", "GT"])]
    );
    assert_eq!(h.run(&["EXPIREAT", "k", "1800000000"]), Reply::Int(1));
    assert_eq!(
        h.propagated(),
        vec![strs(&["PEXPIREAT", "k", "1800000000000"])]
    );
    assert_eq!(
        h.run(&["pexpireat", "k", "1900000000000", "lt"]),
        Reply::Int(0)
    );
    assert!(h.propagated().is_empty());
    assert_eq!(
        h.run(&["pexpireat", "k", "1750000000000", "lt"]),
        Reply::Int(1)
    );
    assert_eq!(
        h.propagated(),
        vec![strs(&["pexpireat", "k", "1750000000000", "lt"])]
    );
    assert_eq!(
        h.ks.db(0).get(b"k").unwrap().expire_ms(),
        Some(1_750_000_000_000)
    );
    assert_eq!(h.ks.db(0).expires_len(), 1);
}

#[test]
fn past_or_negative_times_delete_the_key() {
    let mut h = Harness::new();
    h.run(&["SET", "k", "v"]);
    assert_eq!(h.run(&["EXPIRE", "k", "-1"]), Reply::Int(1));
    assert_eq!(h.propagated(), vec![strs(&["DEL", "k"])]);
    assert_eq!(h.last.dirty, 1);
    assert_eq!(h.ks.dbsize(0), 0);
    h.run(&["SET", "k", "v"]);
    h.settings.lazyfree_lazy_server_del = true;
    assert_eq!(h.run(&["PEXPIREAT", "k", &NOW.to_string()]), Reply::Int(1));
    assert_eq!(h.propagated(), vec![strs(&["UNLINK", "k"])]);
    assert_eq!(h.run(&["EXPIRE", "k", "-1"]), Reply::Int(0), "missing key");
}

#[test]
fn past_times_on_a_replica_only_set_the_expire() {
    let mut h = Harness::new();
    h.run(&["SET", "k", "v"]);
    h.ks.mode = ExpiryMode::Replica;
    assert_eq!(h.run(&["EXPIREAT", "k", "1"]), Reply::Int(1));
    assert_eq!(h.ks.db(0).get(b"k").unwrap().expire_ms(), Some(1000));
    assert_eq!(h.run(&["EXISTS", "k"]), Reply::Int(0), "logically expired");
    assert_eq!(h.ks.dbsize(0), 1, "but kept until the primary deletes it");
}

#[test]
fn conditions() {
    let mut h = Harness::new();
    h.run(&["SET", "k", "v"]);
    assert_eq!(h.run(&["EXPIRE", "k", "10", "XX"]), Reply::Int(0));
    assert_eq!(
        h.run(&["EXPIRE", "k", "10", "GT"]),
        Reply::Int(0),
        "no TTL counts as infinite"
    );
    assert_eq!(h.run(&["EXPIRE", "k", "10", "LT"]), Reply::Int(1));
    assert_eq!(h.run(&["EXPIRE", "k", "20", "NX"]), Reply::Int(0));
    assert_eq!(h.run(&["EXPIRE", "k", "20", "LT"]), Reply::Int(0));
    assert_eq!(
        h.run(&["EXPIRE", "k", "10", "GT"]),
        Reply::Int(0),
        "equal is not greater"
    );
    assert_eq!(h.run(&["EXPIRE", "k", "5", "LT", "XX"]), Reply::Int(1));
    assert_eq!(h.run(&["EXPIRE", "k", "50", "gt", "xx"]), Reply::Int(1));
    assert_eq!(h.run(&["TTL", "k"]), Reply::Int(50));
    assert_eq!(h.last.dirty, 0);
}

#[test]
fn argument_errors() {
    let mut h = Harness::new();
    h.run(&["SET", "k", "v"]);
    assert_eq!(
        h.run(&["EXPIRE", "k", "10", "NX", "XX"]),
        err("ERR NX and XX, GT or LT options at the same time are not compatible")
    );
    assert_eq!(
        h.run(&["EXPIRE", "k", "10", "NX", "GT"]),
        err("ERR NX and XX, GT or LT options at the same time are not compatible")
    );
    assert_eq!(
        h.run(&["EXPIRE", "k", "10", "GT", "LT"]),
        err("ERR GT and LT options at the same time are not compatible")
    );
    assert_eq!(h.run(&["EXPIRE", "k", "10", "XX", "GT"]), Reply::Int(0));
    // Options are checked before the time argument.
    assert_eq!(
        h.run(&["EXPIRE", "k", "abc", "foo"]),
        err("ERR Unsupported option foo")
    );
    assert_eq!(
        h.run(&["EXPIRE", "k", "abc", "NX"]),
        err("ERR value is not an integer or out of range")
    );
    assert_eq!(
        h.run(&["EXPIRE", "k", "9223372036854775"]),
        err("ERR invalid expire time in 'expire' command")
    );
    assert_eq!(
        h.run(&["EXPIRE", "k", "9223372036854776"]),
        err("ERR invalid expire time in 'expire' command")
    );
    assert_eq!(
        h.run(&["PEXPIRE", "k", "9223372036854775807"]),
        err("ERR invalid expire time in 'pexpire' command")
    );
    assert_eq!(
        h.run(&["EXPIREAT", "k", "-9223372036854775808"]),
        err("ERR invalid expire time in 'expireat' command")
    );
    assert_eq!(
        h.run(&["EXPIRE", "nosuch", "abc"]),
        err("ERR value is not an integer or out of range")
    );
    assert_eq!(
        h.run(&["EXPIRE", "k"]),
        err("ERR wrong number of arguments for 'expire' command")
    );
    assert_eq!(h.run(&["TTL", "k"]), Reply::Int(-1));
}

#[test]
fn ttl_family() {
    let mut h = Harness::new();
    assert_eq!(h.run(&["TTL", "nosuch"]), Reply::Int(-2));
    assert_eq!(h.run(&["PEXPIRETIME", "nosuch"]), Reply::Int(-2));
    h.run(&["SET", "k", "v"]);
    assert_eq!(h.run(&["PTTL", "k"]), Reply::Int(-1));
    assert_eq!(h.run(&["EXPIRETIME", "k"]), Reply::Int(-1));
    h.run(&["PEXPIRE", "k", "1500"]);
    assert_eq!(
        h.run(&["TTL", "k"]),
        Reply::Int(2),
        "rounded to the nearest second"
    );
    h.run(&["PEXPIRE", "k", "1499"]);
    assert_eq!(h.run(&["TTL", "k"]), Reply::Int(1));
    assert_eq!(h.run(&["PTTL", "k"]), Reply::Int(1499));
    assert_eq!(h.run(&["PEXPIRETIME", "k"]), Reply::Int(NOW + 1499));
    assert_eq!(h.run(&["EXPIRETIME", "k"]), Reply::Int(1_700_000_001));
    h.run(&["PEXPIRE", "k", "499"]);
    assert_eq!(h.run(&["TTL", "k"]), Reply::Int(0));
    h.advance_ms(499);
    assert_eq!(h.run(&["PTTL", "k"]), Reply::Int(-2));
    h.run(&["SET", "k", "v"]);
    h.run(&["PEXPIREAT", "k", "9223372036854775807"]);
    assert_eq!(
        h.run(&["EXPIRETIME", "k"]),
        Reply::Int(9_223_372_036_854_776)
    );
    assert_eq!(h.run(&["PEXPIRETIME", "k"]), Reply::Int(i64::MAX));
    assert!(h.propagated().is_empty());
}

#[test]
fn ttl_on_a_replica_never_goes_negative() {
    let mut h = Harness::new();
    h.run(&["SET", "k", "v", "PX", "100"]);
    h.ks.mode = ExpiryMode::Replica;
    h.ks.obey_all = true; // the primary's view: the key is still there
    h.advance_ms(500);
    assert_eq!(h.run(&["PTTL", "k"]), Reply::Int(0));
    assert_eq!(h.run(&["PEXPIRETIME", "k"]), Reply::Int(NOW + 100));
}

#[test]
fn persist() {
    let mut h = Harness::new();
    assert_eq!(h.run(&["PERSIST", "nosuch"]), Reply::Int(0));
    h.run(&["SET", "k", "v"]);
    assert_eq!(h.run(&["PERSIST", "k"]), Reply::Int(0));
    assert!(h.propagated().is_empty());
    h.run(&["EXPIRE", "k", "100"]);
    assert_eq!(h.ks.db(0).expires_len(), 1);
    assert_eq!(h.run(&["PERSIST", "k"]), Reply::Int(1));
    assert_eq!(h.propagated(), vec![strs(&["PERSIST", "k"])]);
    assert_eq!(h.run(&["TTL", "k"]), Reply::Int(-1));
    assert_eq!(h.ks.db(0).expires_len(), 0);
}
