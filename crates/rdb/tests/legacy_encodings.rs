//! Older and compact encodings, from fixture bytes built by the test encoders
//! in `common`: every type id a Redis/Valkey loader accepts, across versions.

mod common;

use common::*;
use rdb::{lzf, type_id as t, ErrorKind, Item, StreamId, Value};

fn one_key(version: u32, ty: u8, body: impl FnOnce(&mut Rdb)) -> Vec<u8> {
    let mut r = Rdb::new(version);
    r.key(ty, b"k");
    body(&mut r);
    r.finish()
}

fn value_of(version: u32, ty: u8, body: impl FnOnce(&mut Rdb)) -> Value {
    read_single(&one_key(version, ty, body)).value
}

fn err_of(version: u32, ty: u8, body: impl FnOnce(&mut Rdb)) -> rdb::RdbError {
    read_items(&one_key(version, ty, body)).expect_err("corrupt value must fail")
}

fn sorted(mut v: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    v.sort();
    v
}

#[test]
fn zipmap_hash_type_9() {
    let zm = zipmap(&[(b"name", b"redis"), (b"n", &[b'x'; 300])], 2);
    let v = value_of(2, t::HASH_ZIPMAP, |r| {
        r.str(&zm);
    });
    assert_eq!(
        v,
        Value::Hash(vec![(b("name"), b("redis")), (b("n"), vec![b'x'; 300])])
    );
    let dup = zipmap(&[(b"a", b"1"), (b"a", b"2")], 0);
    err_of(2, t::HASH_ZIPMAP, |r| {
        r.str(&dup);
    });
}

#[test]
fn list_ziplist_type_10() {
    let big = vec![b'L'; 20_000];
    let zl = ziplist(&[
        Z::S(b"a"),
        Z::I(7),
        Z::I(-100_000),
        Z::S(&big),
        Z::I(i64::MAX),
    ]);
    let v = value_of(6, t::LIST_ZIPLIST, |r| {
        r.str(&zl);
    });
    let expect = vec![
        b("a"),
        b("7"),
        b("-100000"),
        big.clone(),
        i64::MAX.to_string().into_bytes(),
    ];
    assert_eq!(v, Value::List(expect));
}

#[test]
fn intset_type_11_all_widths() {
    for (w, vals) in [
        (2u32, vec![-3i64, 0, 12000]),
        (4, vec![-70_000, 5, 70_000]),
        (8, vec![i64::MIN, 1, i64::MAX]),
    ] {
        let is = intset(w, &vals);
        let v = value_of(9, t::SET_INTSET, |r| {
            r.str(&is);
        });
        let expect: Vec<Vec<u8>> = vals.iter().map(|x| x.to_string().into_bytes()).collect();
        assert_eq!(v, Value::Set(expect));
    }
    let unsorted = intset(2, &[5, 1]);
    err_of(9, t::SET_INTSET, |r| {
        r.str(&unsorted);
    });
}

#[test]
fn zset_ziplist_type_12_with_int_and_text_scores() {
    let zl = ziplist(&[
        Z::S(b"a"),
        Z::I(1),
        Z::S(b"b"),
        Z::S(b"2.5"),
        Z::S(b"c"),
        Z::S(b"inf"),
        Z::I(42),
        Z::S(b"-inf"),
    ]);
    let v = value_of(7, t::ZSET_ZIPLIST, |r| {
        r.str(&zl);
    });
    assert_eq!(
        v,
        Value::SortedSet(vec![
            (b("a"), 1.0),
            (b("b"), 2.5),
            (b("c"), f64::INFINITY),
            (b("42"), f64::NEG_INFINITY),
        ])
    );
    let nan = ziplist(&[Z::S(b"a"), Z::S(b"nan")]);
    err_of(7, t::ZSET_ZIPLIST, |r| {
        r.str(&nan);
    });
    let odd = ziplist(&[Z::S(b"a"), Z::I(1), Z::S(b"b")]);
    err_of(7, t::ZSET_ZIPLIST, |r| {
        r.str(&odd);
    });
}

#[test]
fn hash_ziplist_type_13() {
    let zl = ziplist(&[Z::S(b"f1"), Z::S(b"v1"), Z::I(2), Z::I(-2)]);
    let v = value_of(8, t::HASH_ZIPLIST, |r| {
        r.str(&zl);
    });
    assert_eq!(v, Value::Hash(vec![(b("f1"), b("v1")), (b("2"), b("-2"))]));
    let dup = ziplist(&[Z::S(b"f"), Z::S(b"1"), Z::S(b"f"), Z::S(b"2")]);
    let e = err_of(8, t::HASH_ZIPLIST, |r| {
        r.str(&dup);
    });
    assert!(e.to_string().contains("dup"), "{e}");
}

#[test]
fn quicklist_v1_type_14_with_compressed_node() {
    let node1 = ziplist(&[Z::S(b"x"), Z::I(1)]);
    let long: Vec<u8> = b"abcabcabc".iter().cycle().take(600).copied().collect();
    let node2 = ziplist(&[Z::S(&long), Z::S(&long)]);
    let compressed = lzf::compress(&node2).expect("compressible");
    let empty = ziplist(&[]);
    let v = value_of(8, t::LIST_QUICKLIST, |r| {
        r.len(3)
            .str(&node1)
            .lzf_str(&compressed, node2.len())
            .str(&empty);
    });
    assert_eq!(v, Value::List(vec![b("x"), b("1"), long.clone(), long]));
}

#[test]
fn quicklist_v2_type_18_plain_and_packed_nodes() {
    let packed = listpack(&[b"a", b"12345", b"b"]);
    let plain = vec![b'P'; 10_000];
    let v = value_of(10, t::LIST_QUICKLIST_2, |r| {
        r.len(2).len(2).str(&packed).len(1).str(&plain);
    });
    assert_eq!(v, Value::List(vec![b("a"), b("12345"), b("b"), plain]));
    let e = err_of(10, t::LIST_QUICKLIST_2, |r| {
        r.len(1).len(3).str(&packed);
    });
    assert!(e.to_string().contains("Quicklist integrity"), "{e}");
    err_of(10, t::LIST_QUICKLIST_2, |r| {
        r.len(1).len(2).str(b"");
    });
}

#[test]
fn listpack_hash_zset_set_types_16_17_20() {
    let h = listpack(&[b"f", b"v", b"n", b"-7"]);
    let v = value_of(10, t::HASH_LISTPACK, |r| {
        r.str(&h);
    });
    assert_eq!(v, Value::Hash(vec![(b("f"), b("v")), (b("n"), b("-7"))]));

    let z = listpack(&[b"low", b"-1.5", b"mid", b"3", b"top", b"inf"]);
    let v = value_of(10, t::ZSET_LISTPACK, |r| {
        r.str(&z);
    });
    assert_eq!(
        v,
        Value::SortedSet(vec![
            (b("low"), -1.5),
            (b("mid"), 3.0),
            (b("top"), f64::INFINITY)
        ])
    );

    let s = listpack(&[b"m1", b"2", b"m3"]);
    let v = value_of(11, t::SET_LISTPACK, |r| {
        r.str(&s);
    });
    assert_eq!(v, Value::Set(vec![b("m1"), b("2"), b("m3")]));

    let dup = listpack(&[b"m", b"m"]);
    err_of(11, t::SET_LISTPACK, |r| {
        r.str(&dup);
    });
    let dup_hash = listpack(&[b"f", b"1", b"f", b"2"]);
    err_of(10, t::HASH_LISTPACK, |r| {
        r.str(&dup_hash);
    });
}

#[test]
fn legacy_zset_type_3_with_text_doubles() {
    let v = value_of(3, t::ZSET, |r| {
        r.len(4)
            .str(b"a")
            .byte(3)
            .raw(b"1.5")
            .str(b"b")
            .byte(254)
            .str(b"c")
            .byte(255);
        r.str(b"d").byte(22).raw(b"3.1399999999999998e-05");
    });
    assert_eq!(
        v,
        Value::SortedSet(vec![
            (b("a"), 1.5),
            (b("b"), f64::INFINITY),
            (b("c"), f64::NEG_INFINITY),
            (b("d"), 3.14e-5),
        ])
    );
    let e = err_of(3, t::ZSET, |r| {
        r.len(1).str(b"a").byte(253);
    });
    assert!(e.to_string().contains("NAN"), "{e}");
    err_of(3, t::ZSET, |r| {
        r.len(1).str(b"a").byte(3).raw(b"x.y");
    });
}

#[test]
fn binary_zset_type_5_rejects_nan_and_duplicates() {
    let v = value_of(10, t::ZSET_2, |r| {
        r.len(2)
            .str(b"a")
            .raw(&2.0f64.to_le_bytes())
            .str(b"b")
            .raw(&(-0.5f64).to_le_bytes());
    });
    assert_eq!(v, Value::SortedSet(vec![(b("a"), 2.0), (b("b"), -0.5)]));
    err_of(10, t::ZSET_2, |r| {
        r.len(1).str(b"a").raw(&f64::NAN.to_le_bytes());
    });
    err_of(10, t::ZSET_2, |r| {
        r.len(2)
            .str(b"a")
            .raw(&1f64.to_le_bytes())
            .str(b"a")
            .raw(&2f64.to_le_bytes());
    });
}

#[test]
fn plain_types_with_integer_and_lzf_strings() {
    let text = b"compress me compress me compress me compress me".to_vec();
    let c = lzf::compress(&text).unwrap();
    let v = value_of(10, t::LIST, |r| {
        r.len(4)
            .raw(&[0xC0, 0x80])
            .raw(&[0xC1, 0x00, 0x80])
            .raw(&[0xC2, 0, 0, 0, 0x80]);
        r.lzf_str(&c, text.len());
    });
    assert_eq!(
        v,
        Value::List(vec![b("-128"), b("-32768"), b("-2147483648"), text])
    );
    err_of(10, t::SET, |r| {
        r.len(2).str(b"same").str(b"same");
    });
    err_of(10, t::HASH, |r| {
        r.len(2).str(b"f").str(b"1").str(b"f").str(b"2");
    });
    err_of(10, t::STRING, |r| {
        r.raw(&[0xC4]);
    });
}

#[test]
fn empty_values_are_returned_as_is() {
    assert_eq!(
        value_of(10, t::LIST, |r| {
            r.len(0);
        }),
        Value::List(vec![])
    );
    assert_eq!(
        value_of(10, t::SET, |r| {
            r.len(0);
        }),
        Value::Set(vec![])
    );
    let empty_lp = listpack(&[]);
    assert_eq!(
        value_of(10, t::HASH_LISTPACK, |r| {
            r.str(&empty_lp);
        }),
        Value::Hash(vec![])
    );
}

#[test]
fn old_versions_expiretime_and_no_crc() {
    let mut r = Rdb::new(1);
    r.byte(0xFE).len(0);
    r.byte(0xFD).raw(&1_000i32.to_le_bytes());
    r.key(t::STRING, b"old").str(b"v");
    let items = read_items(&r.finish()).unwrap();
    assert_eq!(items[0], Item::SelectDb(0));
    let Item::Key(k) = &items[1] else { panic!() };
    assert_eq!(k.expire_ms, Some(1_000_000));
    assert_eq!(items.len(), 3);
}

#[test]
fn top_level_items_in_order() {
    let mut r = Rdb::new(11);
    r.byte(0xFA).str(b"redis-ver").str(b"7.2.4");
    r.byte(0xFA).str(b"redis-bits").raw(&[0xC0, 64]);
    r.byte(0xF5)
        .str(b"#!lua name=lib\nredis.register_function('f', function() return 1 end)");
    r.byte(0xFE).len(3).byte(0xFB).len(1).len(1);
    r.byte(0xFC)
        .raw(&1_900_000_000_123i64.to_le_bytes())
        .byte(0xF8)
        .len(77)
        .byte(0xF9)
        .byte(5);
    r.key(t::STRING, b"k").str(b"v");
    let items = read_items(&r.finish()).unwrap();
    assert_eq!(
        items[0],
        Item::Aux {
            key: b("redis-ver"),
            value: b("7.2.4")
        }
    );
    assert_eq!(
        items[1],
        Item::Aux {
            key: b("redis-bits"),
            value: b("64")
        }
    );
    assert!(matches!(&items[2], Item::Function(code) if code.starts_with(b"#!lua")));
    assert_eq!(items[3], Item::SelectDb(3));
    assert_eq!(
        items[4],
        Item::ResizeDb {
            db_size: 1,
            expires_size: 1
        }
    );
    let Item::Key(k) = &items[5] else { panic!() };
    assert_eq!(
        (k.expire_ms, k.idle_secs, k.lfu_freq),
        (Some(1_900_000_000_123), Some(77), Some(5))
    );
    assert_eq!(items[6], Item::Eof);
}

#[test]
fn module_aux_is_refused() {
    let mut r = Rdb::new(10);
    r.byte(0xF7).len(12345 << 10).len(2).len(2);
    let e = read_items(&r.finish()).unwrap_err();
    assert!(matches!(e.kind, ErrorKind::ModuleData(_)), "{e}");
}

fn sid(ms: u64, seq: u64) -> StreamId {
    StreamId::new(ms, seq)
}

/// Node with a deleted entry and an entry with different fields.
fn sample_stream_nodes() -> Vec<(StreamId, Vec<u8>)> {
    let a = stream_node(&[
        (
            sid(100, 0),
            vec![(&b"f"[..], &b"1"[..]), (b"g", b"x")],
            false,
        ),
        (
            sid(100, 1),
            vec![(&b"f"[..], &b"2"[..]), (b"g", b"y")],
            true,
        ),
        (sid(105, 0), vec![(&b"other"[..], &b"z"[..])], false),
    ]);
    let b2 = stream_node(&[(
        sid(200, 7),
        vec![(&b"f"[..], &b"3"[..]), (b"g", b"w")],
        false,
    )]);
    vec![a, b2]
}

fn write_nodes(r: &mut Rdb, nodes: &[(StreamId, Vec<u8>)]) {
    r.len(nodes.len() as u64);
    for (k, lp) in nodes {
        let mut key = k.ms.to_be_bytes().to_vec();
        key.extend_from_slice(&k.seq.to_be_bytes());
        r.str(&key).str(lp);
    }
}

fn stream_file(ty: u8) -> Vec<u8> {
    let mut r = Rdb::new(11);
    r.key(ty, b"s");
    write_nodes(&mut r, &sample_stream_nodes());
    r.len(3).id(sid(200, 7));
    if ty >= t::STREAM_LISTPACKS_2 {
        r.id(sid(100, 0)).id(sid(100, 1)).len(4);
    }
    r.len(1).str(b"grp").id(sid(105, 0));
    if ty >= t::STREAM_LISTPACKS_2 {
        r.len(2);
    }
    r.len(2);
    r.raw_id(sid(100, 0))
        .raw(&1_700_000_000_000i64.to_le_bytes())
        .len(3);
    r.raw_id(sid(105, 0))
        .raw(&1_700_000_000_500i64.to_le_bytes())
        .len(1);
    r.len(2);
    r.str(b"alice").raw(&1_700_000_001_000i64.to_le_bytes());
    if ty >= t::STREAM_LISTPACKS_3 {
        r.raw(&1_700_000_000_900i64.to_le_bytes());
    }
    r.len(1).raw_id(sid(105, 0));
    r.str(b"bob").raw(&1_700_000_002_000i64.to_le_bytes());
    if ty >= t::STREAM_LISTPACKS_3 {
        r.raw(&1_700_000_001_900i64.to_le_bytes());
    }
    r.len(1).raw_id(sid(100, 0));
    r.finish()
}

#[test]
fn streams_types_15_19_21_with_groups() {
    for ty in [
        t::STREAM_LISTPACKS,
        t::STREAM_LISTPACKS_2,
        t::STREAM_LISTPACKS_3,
    ] {
        let Value::Stream(s) = read_single(&stream_file(ty)).value else {
            panic!()
        };
        let ids: Vec<StreamId> = s.entries.iter().map(|e| e.id).collect();
        assert_eq!(ids, [sid(100, 0), sid(105, 0), sid(200, 7)], "type {ty}");
        assert_eq!(s.entries[1].fields, vec![(b("other"), b("z"))]);
        assert_eq!(
            s.entries[2].fields,
            vec![(b("f"), b("3")), (b("g"), b("w"))]
        );
        assert_eq!((s.length, s.last_id), (3, sid(200, 7)));
        let g = &s.groups[0];
        assert_eq!((g.name.as_slice(), g.last_id), (&b"grp"[..], sid(105, 0)));
        assert_eq!(g.pel.len(), 2);
        assert_eq!(g.pel[0].delivery_count, 3);
        assert_eq!(g.consumers[0].pending, [sid(105, 0)]);
        assert_eq!(g.consumers[1].name, b("bob"));
        if ty == t::STREAM_LISTPACKS {
            // Redis's v1 defaults: first live id, no tombstone, added = length,
            // and an entries_read estimate (unknown here: inside the stream).
            assert_eq!(
                (s.first_id, s.max_deleted_id, s.entries_added),
                (sid(100, 0), sid(0, 0), 3)
            );
            assert_eq!(g.entries_read, -1);
        } else {
            assert_eq!(
                (s.first_id, s.max_deleted_id, s.entries_added),
                (sid(100, 0), sid(100, 1), 4)
            );
            assert_eq!(g.entries_read, 2);
        }
        let active = g.consumers[0].active_time_ms;
        if ty == t::STREAM_LISTPACKS_3 {
            assert_eq!(active, 1_700_000_000_900);
        } else {
            assert_eq!(active, g.consumers[0].seen_time_ms);
        }
    }
}

#[test]
fn stream_v1_group_at_last_id_gets_entries_added() {
    let mut r = Rdb::new(9);
    r.key(t::STREAM_LISTPACKS, b"s");
    write_nodes(&mut r, &sample_stream_nodes());
    r.len(3).id(sid(200, 7));
    r.len(1).str(b"g").id(sid(200, 7)).len(0).len(0);
    let Value::Stream(s) = read_single(&r.finish()).value else {
        panic!()
    };
    assert_eq!(s.groups[0].entries_read, 3);
}

#[test]
fn empty_v1_stream_first_id_is_max() {
    let mut r = Rdb::new(9);
    r.key(t::STREAM_LISTPACKS, b"s")
        .len(0)
        .len(0)
        .id(sid(5, 5))
        .len(0);
    let Value::Stream(s) = read_single(&r.finish()).value else {
        panic!()
    };
    assert_eq!(s.first_id, StreamId::MAX);
    assert!(s.entries.is_empty());
}

#[test]
fn stream_consumer_pel_must_be_in_group_pel() {
    let mut r = Rdb::new(10);
    r.key(t::STREAM_LISTPACKS_2, b"s");
    write_nodes(&mut r, &sample_stream_nodes());
    r.len(3)
        .id(sid(200, 7))
        .id(sid(100, 0))
        .id(sid(0, 0))
        .len(3);
    r.len(1).str(b"g").id(sid(0, 0)).len(0);
    r.len(1).raw_id(sid(100, 0)).raw(&0i64.to_le_bytes()).len(1);
    r.len(1)
        .str(b"c")
        .raw(&0i64.to_le_bytes())
        .len(1)
        .raw_id(sid(200, 7));
    let e = read_items(&r.finish()).unwrap_err();
    assert!(
        e.to_string().contains("not found in group global PEL"),
        "{e}"
    );
}

#[test]
fn stream_structural_corruption_is_detected() {
    let nodes = sample_stream_nodes();
    // Wrong length.
    let mut r = Rdb::new(10);
    r.key(t::STREAM_LISTPACKS_2, b"s");
    write_nodes(&mut r, &nodes);
    r.len(9)
        .id(sid(200, 7))
        .id(sid(0, 0))
        .id(sid(0, 0))
        .len(0)
        .len(0);
    assert!(read_items(&r.finish()).is_err());
    // Node key of the wrong size.
    let mut r = Rdb::new(10);
    r.key(t::STREAM_LISTPACKS_2, b"s")
        .len(1)
        .str(b"short")
        .str(&nodes[0].1);
    assert!(read_items(&r.finish()).is_err());
    // Nodes out of order.
    let swapped = vec![nodes[1].clone(), nodes[0].clone()];
    let mut r = Rdb::new(10);
    r.key(t::STREAM_LISTPACKS_2, b"s");
    write_nodes(&mut r, &swapped);
    r.len(3)
        .id(sid(200, 7))
        .id(sid(0, 0))
        .id(sid(0, 0))
        .len(0)
        .len(0);
    assert!(read_items(&r.finish()).is_err());
}

#[test]
fn sets_from_all_encodings_normalise_alike() {
    let members = [b("1"), b("2"), b("30")];
    let from_intset = value_of(10, t::SET_INTSET, |r| {
        r.str(&intset(2, &[1, 2, 30]));
    });
    let from_lp = value_of(11, t::SET_LISTPACK, |r| {
        r.str(&listpack(&[b"30", b"1", b"2"]));
    });
    let from_plain = value_of(10, t::SET, |r| {
        r.len(3).raw(&[0xC0, 2]).str(b"30").str(b"1");
    });
    for v in [from_intset, from_lp, from_plain] {
        let Value::Set(m) = v else { panic!() };
        assert_eq!(sorted(m), members);
    }
}

/// A v2 stream with the sample nodes and the given groups section.
fn stream_with_groups(groups: impl FnOnce(&mut Rdb)) -> Vec<u8> {
    let mut r = Rdb::new(10);
    r.key(t::STREAM_LISTPACKS_2, b"s");
    write_nodes(&mut r, &sample_stream_nodes());
    r.len(3)
        .id(sid(200, 7))
        .id(sid(100, 0))
        .id(sid(0, 0))
        .len(3);
    groups(&mut r);
    r.finish()
}

fn pel_entry(r: &mut Rdb, id: StreamId) {
    r.raw_id(id).raw(&0i64.to_le_bytes()).len(1);
}

fn consumer(r: &mut Rdb, name: &[u8], ids: &[StreamId]) {
    r.str(name).raw(&0i64.to_le_bytes()).len(ids.len() as u64);
    for id in ids {
        r.raw_id(*id);
    }
}

#[test]
fn stream_group_duplicates_are_corruption() {
    let ok = stream_with_groups(|r| {
        r.len(1).str(b"g").id(sid(0, 0)).len(0).len(1);
        pel_entry(r, sid(100, 0));
        r.len(1);
        consumer(r, b"c", &[sid(100, 0)]);
    });
    assert!(read_items(&ok).is_ok());
    let cases: [(&str, Vec<u8>); 4] = [
        (
            "duplicate group",
            stream_with_groups(|r| {
                r.len(2);
                r.str(b"g").id(sid(0, 0)).len(0).len(0).len(0);
                r.str(b"g").id(sid(0, 0)).len(0).len(0).len(0);
            }),
        ),
        (
            "duplicate group PEL entry",
            stream_with_groups(|r| {
                r.len(1).str(b"g").id(sid(0, 0)).len(0).len(2);
                pel_entry(r, sid(100, 0));
                pel_entry(r, sid(100, 0));
                r.len(0);
            }),
        ),
        (
            "duplicate consumer",
            stream_with_groups(|r| {
                r.len(1).str(b"g").id(sid(0, 0)).len(0).len(0).len(2);
                consumer(r, b"c", &[]);
                consumer(r, b"c", &[]);
            }),
        ),
        (
            "entry owned twice",
            stream_with_groups(|r| {
                r.len(1).str(b"g").id(sid(0, 0)).len(0).len(1);
                pel_entry(r, sid(100, 0));
                r.len(2);
                consumer(r, b"a", &[sid(100, 0)]);
                consumer(r, b"b", &[sid(100, 0)]);
            }),
        ),
    ];
    for (name, file) in cases {
        assert!(read_items(&file).is_err(), "{name} accepted");
    }
}
