//! Snapshot → RDB bytes → load gives back the same dataset (same DEBUG DIGEST), for every type
//! and encoding; and a snapshot is point-in-time even while the keyspace keeps changing.

use std::sync::atomic::{AtomicBool, AtomicU64};

use commands::testing::Harness;
use keyspace::digest::{dataset_digest, hex};
use persistence::{load, write_snapshot, LoadOptions, ReplInfo, SaveInfo, SaveOptions};

fn info() -> SaveInfo {
    SaveInfo {
        redis_ver: "7.2.4".into(),
        ctime: 1_700_000_000,
        used_mem: 1000,
        repl: Some(ReplInfo {
            replid: "a".repeat(40),
            offset: 1234,
            stream_db: 3,
        }),
        functions: Vec::new(),
    }
}

fn load_opts() -> LoadOptions {
    LoadOptions {
        verify_checksum: true,
        databases: 16,
        limits: Default::default(),
        drop_expired_at_ms: None,
        key_load_delay_us: 0,
        report_expired: false,
    }
}

fn save(h: &Harness, opts: &SaveOptions) -> Vec<u8> {
    let (bytes, _) = write_snapshot(
        h.ks.snapshot(),
        &info(),
        opts,
        Vec::new(),
        &AtomicBool::new(false),
        &AtomicU64::new(0),
    )
    .expect("write to Vec");
    bytes
}

fn build(h: &mut Harness) {
    h.run(&["SET", "str", "hello"]);
    h.run(&["SET", "int", "12345"]);
    h.run(&["SET", "neg", "-9223372036854775808"]);
    h.run(&["SET", "long", &"compressible ".repeat(200)]);
    h.run(&["SET", "ttl", "v", "PXAT", "1800000000000"]);
    let mut ks = std::mem::replace(&mut h.ks, keyspace::Keyspace::new(1));
    // Collections are built through the value types directly so this test does not depend on
    // the command families.
    use keyspace::{Boxed, NewValue, Obj};
    use types::{Hash, List, Set, ZSet};
    let big: Vec<String> = (0..1000).map(|i| format!("member:{i}")).collect();
    let l = List::from_elems(big.iter().map(|s| s.as_bytes()), Default::default());
    ks.put(2, Obj::new(b"list", NewValue::Boxed(Boxed::List(l)), None));
    let h1 = Hash::from_pairs(
        big.iter().map(|s| (s.as_bytes(), s.as_bytes())),
        Default::default(),
    );
    ks.put(2, Obj::new(b"hash", NewValue::Boxed(Boxed::Hash(h1)), None));
    let small = Hash::from_pairs([(&b"f"[..], &b"v"[..])], Default::default());
    ks.put(
        0,
        Obj::new(b"smallhash", NewValue::Boxed(Boxed::Hash(small)), None),
    );
    let mut ints = Set::with_first(b"1", 3, Default::default());
    for m in ["1", "2", "3"] {
        ints.add(m.as_bytes(), Default::default());
    }
    ks.put(
        0,
        Obj::new(b"intset", NewValue::Boxed(Boxed::Set(ints)), None),
    );
    let mut s = Set::with_first(b"a", 1000, Default::default());
    big.iter().for_each(|m| {
        s.add(m.as_bytes(), Default::default());
    });
    ks.put(
        5,
        Obj::new(
            b"set",
            NewValue::Boxed(Boxed::Set(s)),
            Some(1_900_000_000_000),
        ),
    );
    let z = ZSet::from_pairs(
        big.iter()
            .enumerate()
            .map(|(i, m)| (m.as_bytes(), i as f64 * 0.5 - 100.0)),
        Default::default(),
    );
    ks.put(5, Obj::new(b"zset", NewValue::Boxed(Boxed::ZSet(z)), None));
    let zs = ZSet::from_pairs(
        [
            (&b"a"[..], 1.5),
            (&b"b"[..], f64::INFINITY),
            (&b"c"[..], f64::NEG_INFINITY),
        ],
        Default::default(),
    );
    ks.put(
        0,
        Obj::new(b"zsmall", NewValue::Boxed(Boxed::ZSet(zs)), None),
    );
    h.ks = ks;
}

#[test]
fn every_type_round_trips_with_the_same_digest() {
    let mut h = Harness::new();
    build(&mut h);
    let want = hex(&dataset_digest(h.ks.dbs()));
    for opts in [
        SaveOptions::default(),
        SaveOptions {
            compression: false,
            checksum: false,
            key_save_delay_us: 0,
        },
    ] {
        let bytes = save(&h, &opts);
        let loaded = load(&bytes[..], &load_opts(), &AtomicU64::new(0)).expect("load");
        assert_eq!(hex(&dataset_digest(&loaded.dbs)), want);
        assert_eq!(
            loaded.repl,
            Some(ReplInfo {
                replid: "a".repeat(40),
                offset: 1234,
                stream_db: 3
            })
        );
        assert_eq!(
            loaded.dbs[2].get(b"hash").map(|o| o.encoding()),
            Some("hashtable")
        );
        assert_eq!(
            loaded.dbs[0].get(b"intset").map(|o| o.encoding()),
            Some("intset")
        );
        assert_eq!(
            loaded.dbs[0].get(b"ttl").and_then(|o| o.expire_ms()),
            Some(1_800_000_000_000)
        );
    }
}

#[test]
fn snapshot_is_point_in_time_under_writes() {
    let mut h = Harness::new();
    for i in 0..20_000 {
        h.run(&["SET", &format!("k{i}"), &format!("v{i}")]);
    }
    let before = hex(&dataset_digest(h.ks.dbs()));
    let snap = h.ks.snapshot();
    for i in 0..20_000 {
        match i % 3 {
            0 => h.run(&["SET", &format!("k{i}"), "changed"]),
            1 => h.run(&["APPEND", &format!("k{i}"), "x"]),
            _ => h.run(&["SET", &format!("new{i}"), "n"]),
        };
    }
    let (bytes, stats) = write_snapshot(
        snap,
        &info(),
        &SaveOptions::default(),
        Vec::new(),
        &AtomicBool::new(false),
        &AtomicU64::new(0),
    )
    .expect("write");
    assert_eq!(stats.keys, 20_000);
    let loaded = load(&bytes[..], &load_opts(), &AtomicU64::new(0)).expect("load");
    assert_eq!(hex(&dataset_digest(&loaded.dbs)), before);
    assert_ne!(hex(&dataset_digest(h.ks.dbs())), before);
}

#[test]
fn corrupt_input_is_an_error_never_a_partial_dataset() {
    let mut h = Harness::new();
    build(&mut h);
    let bytes = save(&h, &SaveOptions::default());
    for cut in [10usize, 50, bytes.len() / 2, bytes.len() - 1] {
        assert!(
            load(&bytes[..cut], &load_opts(), &AtomicU64::new(0)).is_err(),
            "truncated at {cut} must fail"
        );
    }
    let mut flipped = bytes.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 0x55;
    assert!(load(&flipped[..], &load_opts(), &AtomicU64::new(0)).is_err());
}

#[test]
fn dump_restore_round_trip() {
    let mut h = Harness::new();
    build(&mut h);
    for db in [0usize, 2, 5] {
        for obj in h.ks.db(db).iter() {
            let payload = persistence::dump::dump(obj).expect("dump");
            let back = persistence::dump::restore(
                obj.key(),
                &payload,
                obj.expire_ms(),
                true,
                &Default::default(),
            )
            .expect("restore")
            .expect("non-empty");
            assert_eq!(
                keyspace::digest::value_digest(&back),
                keyspace::digest::value_digest(obj),
                "{:?}",
                String::from_utf8_lossy(obj.key())
            );
        }
    }
    assert!(matches!(
        persistence::dump::restore(b"k", b"garbage-payload", None, true, &Default::default()),
        Err(persistence::PersistError::BadDumpFooter)
    ));
}

#[test]
fn function_libraries_round_trip_in_order_before_the_keys() {
    let mut h = Harness::new();
    h.run(&["SET", "k", "v"]);
    let codes = [
        "#!lua name=first\nserver.register_function('f1', function() return 1 end)",
        "#!lua name=second\nserver.register_function('f2', function() return 2 end)",
    ];
    let mut i = info();
    i.functions = codes
        .iter()
        .map(|c| bytes::Bytes::from_static(c.as_bytes()))
        .collect();
    let (bytes, _) = write_snapshot(
        h.ks.snapshot(),
        &i,
        &SaveOptions::default(),
        Vec::new(),
        &AtomicBool::new(false),
        &AtomicU64::new(0),
    )
    .expect("write to Vec");
    let first = bytes.iter().position(|&b| b == rdb::opcode::FUNCTION2);
    let select = bytes.iter().position(|&b| b == rdb::opcode::SELECTDB);
    assert!(
        first < select,
        "FUNCTION2 records come before the databases"
    );
    let loaded = load(&bytes[..], &load_opts(), &AtomicU64::new(0)).expect("load");
    assert_eq!(
        loaded.functions,
        codes.map(|c| c.as_bytes().to_vec()).to_vec()
    );
    assert_eq!(loaded.keys_loaded, 1);
}
