//! Unit tests of the stream type as a whole (entries, trimming, groups, RDB conversions).

use super::*;

fn id(ms: u64, seq: u64) -> StreamId {
    StreamId::new(ms, seq)
}

fn add(s: &mut Stream, ms: u64, seq: u64, pairs: &[&str]) {
    let r = s.entries.append(
        NewId::Exact(id(ms, seq)),
        0,
        pairs,
        &StreamLimits::default(),
    );
    assert_eq!(r, Ok(id(ms, seq)));
}

fn ids(s: &Stream, rev: bool) -> Vec<(u64, u64)> {
    s.entries
        .range(id::MIN, id::MAX, rev)
        .map(|e| (e.id().ms, e.id().seq))
        .collect()
}

#[test]
fn ids_are_generated_as_valkey_does() {
    let mut s = Stream::new();
    let l = StreamLimits::default();
    let e = &mut s.entries;
    assert_eq!(
        e.append(NewId::Auto, 1000, &["a", "1"], &l),
        Ok(id(1000, 0))
    );
    assert_eq!(e.append(NewId::Auto, 999, &["a", "1"], &l), Ok(id(1000, 1)));
    assert_eq!(
        e.append(NewId::AutoSeq(1000), 0, &["a", "1"], &l),
        Ok(id(1000, 2))
    );
    assert_eq!(
        e.append(NewId::AutoSeq(2000), 0, &["a", "1"], &l),
        Ok(id(2000, 0))
    );
    assert_eq!(
        e.append(NewId::AutoSeq(5), 0, &["a", "1"], &l),
        Err(AppendError::IdTooSmall)
    );
    assert_eq!(
        e.append(NewId::Exact(id(2000, 0)), 0, &["a", "1"], &l),
        Err(AppendError::IdTooSmall)
    );
    assert_eq!(
        e.append(NewId::Exact(id(2000, u64::MAX)), 0, &["a", "1"], &l),
        Ok(id(2000, u64::MAX))
    );
    assert_eq!(
        e.append(NewId::AutoSeq(2000), 0, &["a", "1"], &l),
        Err(AppendError::IdTooSmall)
    );
    assert_eq!(
        e.append(NewId::Exact(id(u64::MAX, u64::MAX)), 0, &["a", "1"], &l),
        Ok(id::MAX)
    );
    assert_eq!(
        e.append(NewId::Auto, 0, &["a", "1"], &l),
        Err(AppendError::IdTooSmall)
    );
    assert_eq!((e.length, e.entries_added, e.first_id), (6, 6, id(1000, 0)));
}

#[test]
fn nodes_split_at_valkeys_limits() {
    let mut s = Stream::new();
    for i in 0..250 {
        add(&mut s, 1, i, &["f", "v"]);
    }
    assert_eq!(s.entries.node_count(), 3);
    let l = StreamLimits {
        node_max_bytes: 100,
        node_max_entries: 0,
    };
    let mut t = Stream::new();
    for i in 0..10 {
        t.entries
            .append(NewId::Exact(id(1, i)), 0, &["field", "value-value"], &l)
            .unwrap();
    }
    // First node: 7 + 2+2+2 + 7 + 2 = 22, entries 21 bytes each: 22+21*3 = 85, +16 >= 100.
    assert_eq!(t.entries.node_count(), 4);
}

#[test]
fn ranges_forward_backward_and_bounded() {
    let mut s = Stream::new();
    for i in 0..300 {
        add(&mut s, 10 + i / 7, i % 7, &["k", &i.to_string()]);
    }
    let all = ids(&s, false);
    assert_eq!(all.len(), 300);
    let mut rev = ids(&s, true);
    rev.reverse();
    assert_eq!(all, rev);
    let part: Vec<_> = s
        .entries
        .range(id(20, 3), id(30, 1), false)
        .map(|e| (e.id().ms, e.id().seq))
        .collect();
    assert_eq!(part.first(), Some(&(20, 3)));
    assert_eq!(part.last(), Some(&(30, 1)));
    assert_eq!(part.len(), 7 * 10 - 3 + 2);
    let back: Vec<_> = s
        .entries
        .range(id(20, 3), id(30, 1), true)
        .map(|e| (e.id().ms, e.id().seq))
        .collect();
    assert_eq!(back.len(), part.len());
    assert_eq!(s.entries.range(id(5, 0), id(9, 9), true).count(), 0);
    assert_eq!(s.entries.range(id(99, 0), id(9, 9), false).count(), 0);
    let e = s.entries.get(id(12, 4)).expect("exists");
    assert_eq!(e.to_pairs(), vec![(b"k".to_vec(), b"18".to_vec())]);
}

#[test]
fn deletes_mark_tombstones_and_drop_empty_nodes() {
    let mut s = Stream::new();
    for i in 0..150 {
        add(&mut s, 1, i, &["f", "v"]);
    }
    assert!(s.entries.delete(id(1, 3)));
    assert!(!s.entries.delete(id(1, 3)));
    assert!(!s.entries.delete(id(9, 9)));
    assert_eq!(s.len(), 149);
    assert!(!s.entries.contains(id(1, 3)));
    assert_eq!(
        s.entries
            .range_with(id(1, 3), id(1, 3), false, false)
            .count(),
        1,
        "the tombstone is still there"
    );
    for i in 100..150 {
        assert!(s.entries.delete(id(1, i)));
    }
    assert_eq!(s.entries.node_count(), 1);
    assert_eq!(s.entries.last_valid_id(), id(1, 99));
}

#[test]
fn trimming_exact_and_approximate() {
    let mut s = Stream::new();
    for i in 0..250 {
        add(&mut s, 1, i, &["f", "v"]);
    }
    // Approximate: whole nodes only.
    assert_eq!(s.entries.trim(Trim::MaxLen(180), true, 0), 0);
    assert_eq!(s.entries.trim(Trim::MaxLen(150), true, 0), 100);
    assert_eq!(s.entries.first_id, id(1, 100));
    // Exact: marks entries in the first node.
    assert_eq!(s.entries.trim(Trim::MaxLen(120), false, 0), 30);
    assert_eq!(s.len(), 120);
    assert_eq!(s.entries.first_id, id(1, 130));
    assert_eq!(s.entries.edge_id(true, false), id(1, 100));
    // LIMIT stops before a node that would exceed it.
    assert_eq!(s.entries.trim(Trim::MaxLen(0), true, 50), 0);
    assert_eq!(s.entries.trim(Trim::MinId(id(1, 240)), false, 0), 110);
    assert_eq!(s.entries.first_id, id(1, 240));
    assert_eq!(s.entries.trim(Trim::MinId(id(9, 0)), false, 0), 10);
    assert_eq!((s.len(), s.entries.first_id), (0, id::MIN));
}

#[test]
fn lag_and_read_counters() {
    let mut s = Stream::new();
    for i in 1..=5 {
        add(&mut s, i, 0, &["f", "v"]);
    }
    s.groups.create(b"g", id::MIN, 0);
    let g = s.groups.get(b"g").unwrap().clone();
    assert_eq!(s.lag(&g), Some(5));
    assert!(s.entries.delete(id(3, 0)));
    s.entries.max_deleted_id = id(3, 0);
    assert_eq!(s.lag(&g), None);
    assert_eq!(s.entries.estimate_distance(id(5, 0)), 5);
    assert_eq!(s.entries.estimate_distance(id(9, 0)), -1);
}

#[test]
fn rdb_round_trip_keeps_groups_and_counters() {
    let mut s = Stream::new();
    for i in 1..=120 {
        add(&mut s, i, 0, &["f", &format!("v{i}"), "n", &i.to_string()]);
    }
    s.entries.delete(id(7, 0));
    s.entries.max_deleted_id = id(7, 0);
    s.groups.create(b"g1", id(50, 0), 50);
    s.groups.create(b"g0", id::MIN, -1);
    let g = s.groups.get_mut(b"g1").unwrap();
    g.create_consumer(b"alice", 100);
    g.create_consumer(b"bob", 200);
    g.deliver(id(10, 0), b"alice", 300);
    g.deliver(id(11, 0), b"bob", 301);
    g.deliver(id(12, 0), b"alice", 302);
    let r = s.to_rdb();
    assert_eq!(r.entries.len(), 119);
    assert_eq!(r.groups.len(), 2);
    assert_eq!(r.groups[0].name, b"g0");
    let back = Stream::from_rdb(r.clone(), &StreamLimits::default());
    assert_eq!(back.to_rdb(), r);
    let g = back.groups.get(b"g1").unwrap();
    assert_eq!(
        g.pel_get(id(11, 0)).map(|n| &*n.consumer),
        Some(&b"bob"[..])
    );
    assert_eq!(g.consumer(b"alice").map(|c| c.pending()), Some(2));
    // Node by node, through the codec's writer and reader.
    let mut w = rdb::Writer::new(Vec::new(), rdb::WriterOptions::default());
    s.write_rdb(&mut w).unwrap();
    let mut buf = vec![rdb::type_id::STREAM_LISTPACKS_2];
    buf.extend(w.finish().unwrap());
    assert!(buf.len() > 100);
}

#[test]
fn radix_tree_nodes_of_sequential_keys() {
    let mut s = Stream::new();
    assert_eq!(s.entries.radix_tree_nodes(), 1);
    add(&mut s, 1, 0, &["f", "v"]);
    assert_eq!(s.entries.radix_tree_nodes(), 2);
}

#[test]
fn a_clone_shares_nodes_until_one_is_written() {
    let mut s = Stream::new();
    for i in 0..10_000 {
        add(&mut s, 1, i, &["f", "v"]);
    }
    s.groups.create(b"g", id::MIN, 0);
    let snapshot = s.clone();
    assert_eq!(s.entries.shared_nodes_with(&snapshot.entries), 100);
    add(&mut s, 2, 0, &["f", "v"]);
    assert!(s.entries.delete(id(1, 5)));
    s.entries.trim(Trim::MaxLen(9_000), true, 0);
    // Deleting copied the first node; the trim then dropped it and nine more. Appending
    // started a new node and copied nothing.
    assert_eq!(s.entries.shared_nodes_with(&snapshot.entries), 90);
    assert_eq!(snapshot.len(), 10_000);
    assert!(snapshot.entries.contains(id(1, 5)));
    assert_eq!(snapshot.entries.last_id, id(1, 9_999));
}
