//! ZRANDMEMBER and ZSCAN.

use std::collections::BTreeMap;

use bytes::Bytes;
use commands::testing::{bulk, Harness};
use resp::{Reply, RespVersion};

use crate::*;

#[test]
fn zrandmember_counts_and_shapes() {
    let mut h = Harness::new();
    h.run(&["ZADD", "z", "1", "a", "2", "b", "3", "c"]);
    let members = ["a", "b", "c"];
    let Reply::Bulk(m) = h.run(&["ZRANDMEMBER", "z"]) else {
        panic!()
    };
    assert!(members.contains(&std::str::from_utf8(&m).unwrap()));
    assert_eq!(h.run(&["ZRANDMEMBER", "nokey"]), Reply::Nil);
    assert_eq!(h.run(&["ZRANDMEMBER", "nokey", "5"]), arr(&[]));
    assert_eq!(h.run(&["ZRANDMEMBER", "z", "0"]), arr(&[]));
    // At least the whole set: every member once, highest first.
    assert_eq!(h.run(&["ZRANDMEMBER", "z", "10"]), arr(&["c", "b", "a"]));
    let Reply::Array(v) = h.run(&["ZRANDMEMBER", "z", "-20"]) else {
        panic!()
    };
    assert_eq!(v.len(), 20);
    assert!(v
        .iter()
        .all(|r| [bulk("a"), bulk("b"), bulk("c")].contains(r)));
    for enc_limit in [128, 0] {
        h.settings.zset.max_entries = enc_limit;
        let mut args = vec!["ZADD".to_string(), format!("big{enc_limit}")];
        for i in 0..50 {
            args.push(i.to_string());
            args.push(format!("m{i}"));
        }
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        h.run(&refs);
        let Reply::Array(v) = h.run(&["ZRANDMEMBER", refs[1], "20"]) else {
            panic!()
        };
        let mut seen: Vec<&Reply> = v.iter().collect();
        seen.sort_by_key(|r| format!("{r:?}"));
        seen.dedup();
        assert_eq!(seen.len(), 20, "distinct members");
    }
    let Reply::Array(v) = h.run(&["ZRANDMEMBER", "z", "-2", "WITHSCORES"]) else {
        panic!()
    };
    assert_eq!(v.len(), 4);
    h.resp = RespVersion::Resp3;
    let Reply::Array(v) = h.run(&["ZRANDMEMBER", "z", "2", "WITHSCORES"]) else {
        panic!()
    };
    assert!(v
        .iter()
        .all(|p| matches!(p, Reply::Array(x) if x.len() == 2)));
    let cases: &[(&[&str], &str)] = &[
        (&["ZRANDMEMBER", "z", "x"], "ERR value is not an integer or out of range"),
        (&["ZRANDMEMBER", "z", "1", "foo"], "ERR syntax error"),
        (&["ZRANDMEMBER", "z", "1", "WITHSCORES", "x"], "ERR syntax error"),
        (&["ZRANDMEMBER", "z", "-9223372036854775808"], "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"),
        (&["ZRANDMEMBER", "z", "-9223372036854770000", "WITHSCORES"], "ERR value is out of range"),
        // Beyond what we build in memory (Redis would stream it).
        (&["ZRANDMEMBER", "z", "-9223372036854775807"], "ERR value is out of range"),
    ];
    for (cmd, want) in cases {
        assert_eq!(h.run(cmd), e(want), "{cmd:?}");
    }
}

#[test]
fn zscan_listpack_and_skiplist() {
    let mut h = Harness::new();
    h.run(&["ZADD", "z", "1", "a", "0.1", "b", "-2.5", "c"]);
    assert_eq!(
        h.run(&["ZSCAN", "z", "0"]),
        Reply::Array(vec![bulk("0"), arr(&["c", "-2.5", "b", "0.1", "a", "1"])])
    );
    assert_eq!(
        h.run(&["ZSCAN", "z", "0", "MATCH", "[ab]", "NOSCORES"]),
        Reply::Array(vec![bulk("0"), arr(&["b", "a"])])
    );
    assert_eq!(
        h.run(&["ZSCAN", "nokey", "0", "COUNT", "0"]),
        Reply::Array(vec![bulk("0"), arr(&[])])
    );
    h.run(&["SET", "s", "x"]);
    let cases: &[(&[&str], &str)] = &[
        (&["ZSCAN", "z", "-1"], "ERR invalid cursor"),
        (&["ZSCAN", "z", "0", "COUNT", "0"], "ERR syntax error"),
        (&["ZSCAN", "z", "0", "MATCH"], "ERR syntax error"),
        (&["ZSCAN", "z", "0", "TYPE", "zset"], "ERR syntax error"),
        (
            &["ZSCAN", "z", "0", "NOVALUES"],
            "ERR NOVALUES option can only be used in HSCAN",
        ),
        (&["ZSCAN", "s", "0"], WRONGTYPE),
    ];
    for (cmd, want) in cases {
        assert_eq!(h.run(cmd), e(want), "{cmd:?}");
    }
    // A skiplist is scanned in steps; every member comes back once, scores as %.17g.
    let mut s = skiplist_harness();
    let mut args = vec!["ZADD".to_string(), "big".into()];
    for i in 0..1000 {
        args.push(format!("{}.1", i));
        args.push(format!("m{i}"));
    }
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    s.run(&refs);
    let mut seen = BTreeMap::new();
    let mut cursor = "0".to_string();
    let mut steps = 0;
    loop {
        let Reply::Array(parts) = s.run(&["ZSCAN", "big", &cursor, "COUNT", "50"]) else {
            panic!()
        };
        let (Reply::Bulk(c), Reply::Array(items)) = (&parts[0], &parts[1]) else {
            panic!()
        };
        for pair in items.chunks(2) {
            let (Reply::Bulk(m), Reply::Bulk(v)) = (&pair[0], &pair[1]) else {
                panic!()
            };
            assert!(seen.insert(m.clone(), v.clone()).is_none(), "duplicate");
        }
        cursor = String::from_utf8(c.to_vec()).unwrap();
        steps += 1;
        if cursor == "0" {
            break;
        }
    }
    assert!(steps > 1);
    assert_eq!(seen.len(), 1000);
    assert_eq!(seen[&Bytes::from("m0")], Bytes::from("0.10000000000000001"));
}
