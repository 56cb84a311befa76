//! Unit tests of lists: a model check of every operation, node-level invariants, sharing.

use super::*;

fn lim() -> ListLimits {
    ListLimits::default()
}

fn texts(l: &List) -> Vec<Vec<u8>> {
    l.iter().map(Elem::to_vec).collect()
}

/// Checks a list against its model and its own invariants: the Valkey sizes tracked per node
/// are those of its entries, a listpack is one packed node, nothing is empty.
fn check(l: &List, model: &VecDeque<Vec<u8>>) {
    assert_eq!(l.len(), model.len());
    let want: Vec<Vec<u8>> = model.iter().cloned().collect();
    assert_eq!(texts(l), want);
    let mut rev: Vec<Vec<u8>> = l.iter().rev().map(Elem::to_vec).collect();
    rev.reverse();
    assert_eq!(rev, want, "backwards");
    let mut total = 0;
    for (i, s) in l.slots.iter().enumerate() {
        assert!(s.count > 0, "empty node");
        total += s.count;
        if s.block.is_lzf() {
            assert!(
                l.wants_lzf(i),
                "node {i} of {} compressed within the ends",
                l.slots.len()
            );
        } else if l.wants_lzf(i) {
            assert!(
                s.lp < 48 || s.block.is_incompressible(),
                "node {i} of {} ({} bytes) left uncompressed between the ends",
                l.slots.len(),
                s.lp
            );
        }
        let v = l.view(i);
        if s.is_plain() {
            assert_eq!((s.count, s.lp), (1, v.data.len()));
            continue;
        }
        let mut lp = LP_OVERHEAD;
        let (mut off, mut n) = (0, 0);
        while off < v.data.len() {
            let (e, next) = v.read(off);
            lp += e.lp_size();
            off = next;
            n += 1;
        }
        assert_eq!((n, lp), (s.count, s.lp), "node sizes");
    }
    assert_eq!(total, l.len());
    if !l.quicklist {
        assert!(l.slots.len() <= 1 && l.slots.iter().all(|s| !s.is_plain()));
    }
}

fn value(rng: &mut crate::rand::Rng) -> Vec<u8> {
    match rng.below(10) {
        0..=3 => format!("{}", rng.below(40) as i64 - 10).into_bytes(),
        4 => format!("{}", rng.below(u64::MAX) as i64).into_bytes(),
        5 => vec![b'L'; 100 + rng.below(3000) as usize],
        6 => format!("0{}", rng.below(5)).into_bytes(),
        _ => format!("v{}", rng.below(30)).into_bytes(),
    }
}

fn run_model(limits: ListLimits, seed: u64, steps: usize) {
    let mut l = List::new();
    let mut model: VecDeque<Vec<u8>> = VecDeque::new();
    let mut rng = crate::rand::Rng::new(seed);
    for step in 0..steps {
        let v = value(&mut rng);
        let len = model.len();
        match rng.below(12) {
            0..=2 => {
                l.prepare_growth([v.as_slice()], limits);
                l.push(End::Left, &v, limits);
                model.push_front(v);
            }
            3..=5 => {
                l.prepare_growth([v.as_slice()], limits);
                l.push(End::Right, &v, limits);
                model.push_back(v);
            }
            6 => {
                let end = if rng.below(2) == 0 {
                    End::Left
                } else {
                    End::Right
                };
                let got = l.pop(end);
                let want = if end == End::Left {
                    model.pop_front()
                } else {
                    model.pop_back()
                };
                assert_eq!(got, want);
                l.after_shrink(limits);
            }
            7 if len > 0 => {
                let i = rng.below(len as u64) as usize;
                l.prepare_growth([v.as_slice()], limits);
                assert!(l.set(i, &v, limits));
                model[i] = v;
                l.after_shrink(limits);
            }
            8 if len > 0 => {
                let i = rng.below(len as u64) as usize;
                let after = rng.below(2) == 0;
                l.prepare_growth([v.as_slice()], limits);
                l.insert(i, after, &v, limits);
                model.insert(i + usize::from(after), v);
            }
            9 => {
                let count = rng.below(5) as i64 - 2;
                let n = l.remove(&v, count);
                let mut gone = 0;
                let limit = if count == 0 {
                    usize::MAX
                } else {
                    count.unsigned_abs() as usize
                };
                if count < 0 {
                    let mut i = model.len();
                    while i > 0 && gone < limit {
                        i -= 1;
                        if model[i] == v {
                            model.remove(i);
                            gone += 1;
                        }
                    }
                } else {
                    let mut i = 0;
                    while i < model.len() && gone < limit {
                        if model[i] == v {
                            model.remove(i);
                            gone += 1;
                        } else {
                            i += 1;
                        }
                    }
                }
                assert_eq!(n, gone);
                l.after_shrink(limits);
            }
            10 if len > 0 && step % 7 == 0 => {
                let a = rng.below(len as u64) as usize;
                let b = a + rng.below((len - a) as u64 + 3) as usize;
                l.trim(a, b);
                let b = b.min(len - 1);
                model = model.drain(a..=b).collect();
                l.after_shrink(limits);
            }
            _ => {
                let n = rng.below(4) as usize;
                if rng.below(2) == 0 {
                    l.drop_front(n);
                    model.drain(..n.min(model.len()));
                } else {
                    l.drop_back(n);
                    let keep = model.len().saturating_sub(n);
                    model.truncate(keep);
                }
                l.after_shrink(limits);
            }
        }
        if l.is_empty() {
            // An emptied list is deleted by the commands; start a new one.
            l = List::new();
        }
        check(&l, &model);
        if len > 0 && step % 13 == 0 {
            let i = rng.below(model.len().max(1) as u64) as usize;
            assert_eq!(l.get(i).map(Elem::to_vec), model.get(i).cloned());
            let tail: Vec<Vec<u8>> = l.iter_from(i).map(Elem::to_vec).collect();
            assert_eq!(tail, model.iter().skip(i).cloned().collect::<Vec<_>>());
        }
    }
}

#[test]
fn matches_a_model_under_every_fill() {
    for (fill, threshold) in [(-2, 0), (-1, 0), (3, 0), (1, 0), (5, 0), (-1, 50), (4, 20)] {
        let limits = ListLimits {
            fill,
            packed_threshold: threshold,
            compress: 0,
        };
        for seed in 0..3 {
            run_model(limits, seed * 31 + fill.unsigned_abs(), 3000);
        }
    }
}

#[test]
fn matches_a_model_with_compressed_nodes() {
    for (fill, compress) in [(-2, 1), (3, 1), (1, 2), (4, 3), (-1, 12)] {
        let limits = ListLimits {
            fill,
            packed_threshold: 0,
            compress,
        };
        for seed in 0..3 {
            run_model(limits, seed * 17 + u64::from(compress), 3000);
        }
    }
}

#[test]
fn nodes_between_the_ends_are_compressed_and_read_back() {
    let limits = ListLimits {
        fill: 16,
        packed_threshold: 0,
        compress: 2,
    };
    let items: Vec<String> = (0..1600).map(|i| format!("element-{:>40}", i)).collect();
    let mut l = List::from_elems(items.iter().map(|s| s.as_bytes()), limits);
    assert_eq!(l.slots.len(), 100);
    let zipped = |l: &List| l.slots.iter().filter(|s| s.block.is_lzf()).count();
    assert_eq!(zipped(&l), 96, "all but two nodes at each end");
    assert!(l.slots.iter().take(2).all(|s| !s.block.is_lzf()));
    let raw: usize = l.slots.iter().map(|s| s.lp).sum();
    assert!(l.mem_usage() < raw / 2, "{} of {raw}", l.mem_usage());
    // Reads go through the cache, which a change (or release) empties.
    assert_eq!(strs(&l), items);
    assert_eq!(
        l.get(200).map(Elem::to_vec),
        Some(items[200].clone().into_bytes())
    );
    assert!(l.holds_copies());
    let snapshot = l.clone();
    assert!(!snapshot.holds_copies(), "a clone has a cache of its own");
    l.release();
    assert!(!l.holds_copies());
    // A change in the middle decompresses one node and compresses it again.
    l.set(201, b"changed", limits);
    assert!(!l.holds_copies());
    assert_eq!(zipped(&l), 96);
    assert_eq!(l.get(201).map(Elem::to_vec), Some(b"changed".to_vec()));
    assert_eq!(strs(&snapshot), items, "the snapshot's nodes are its own");
    // Pops move the depth inwards: the nodes reaching the ends are decompressed.
    for _ in 0..12 {
        l.pop(End::Left);
    }
    assert!(l.slots.iter().take(2).all(|s| !s.block.is_lzf()));
    assert_eq!(zipped(&l), l.slots.len() - 4);
    l.trim(100, 1000);
    assert_eq!(l.len(), 901);
    assert_eq!(zipped(&l), l.slots.len() - 4);
}

fn from_strs(items: &[&str]) -> List {
    List::from_elems(items.iter().map(|s| s.as_bytes()), lim())
}

fn strs(l: &List) -> Vec<String> {
    l.iter()
        .map(|e| String::from_utf8_lossy(&e.to_vec()).into_owned())
        .collect()
}

#[test]
fn trim_and_drop() {
    let items: Vec<String> = (0..1000).map(|i| format!("e{i}")).collect();
    let refs: Vec<&str> = items.iter().map(|s| s.as_str()).collect();
    let mut l = from_strs(&refs);
    l.trim(300, 700);
    assert_eq!(strs(&l), items[300..=700].to_vec());
    l.drop_back(1);
    l.drop_front(2);
    assert_eq!(strs(&l), items[302..700].to_vec());
    l.trim(5, 2);
    assert!(l.is_empty());
    assert_eq!(l.iter().count(), 0);
}

#[test]
fn remove_from_either_side_and_all() {
    let mut l = from_strs(&["a", "x", "b", "x", "c", "x", "1", "01"]);
    assert_eq!(l.remove(b"x", -2), 2);
    assert_eq!(strs(&l), ["a", "x", "b", "c", "1", "01"]);
    assert_eq!(l.remove(b"x", 5), 1);
    assert_eq!(l.remove(b"nope", 0), 0);
    assert_eq!(l.remove(b"1", 0), 1);
    assert_eq!(strs(&l), ["a", "b", "c", "01"]);
    assert_eq!(l.position(b"01"), Some(3));
}

#[test]
fn edits_copy_only_the_nodes_they_touch() {
    let items: Vec<String> = (0..5000).map(|i| format!("{:>20}", i)).collect();
    let refs: Vec<&str> = items.iter().map(|s| s.as_str()).collect();
    let mut l = from_strs(&refs);
    assert!(l.slots.len() > 10);
    let snapshot = l.clone();
    l.push(End::Left, b"front", lim());
    l.set(2500, b"middle", lim());
    l.pop(End::Right);
    assert_eq!(strs(&snapshot), items);
    let shared = l
        .slots
        .iter()
        .filter(|s| snapshot.slots.iter().any(|t| s.block.ptr_eq(&t.block)))
        .count();
    assert_eq!(shared, l.slots.len() - 3, "one node copied per edited node");
    let mut m = snapshot.clone();
    let first = m.slots[0].count;
    m.drop_front(first);
    assert!(m
        .slots
        .iter()
        .all(|s| snapshot.slots.iter().any(|t| s.block.ptr_eq(&t.block))));
}

#[test]
fn encoding_switches_by_size_and_back() {
    let limits = lim();
    let mut l = List::new();
    let big = vec![b'x'; 1000];
    for _ in 0..8 {
        l.prepare_growth([big.as_slice()], limits);
        l.push(End::Right, &big, limits);
    }
    assert_eq!(l.encoding(), "listpack");
    l.prepare_growth([big.as_slice()], limits);
    l.push(End::Right, &big, limits);
    assert_eq!(l.encoding(), "quicklist");
    // The old listpack is one node (8 elements), the new element another.
    assert_eq!(l.slots.len(), 2);
    l.pop(End::Right);
    l.after_shrink(limits);
    assert_eq!(
        l.encoding(),
        "quicklist",
        "8 KB is not under half the limit"
    );
    for _ in 0..4 {
        l.pop(End::Left);
    }
    l.after_shrink(limits);
    assert_eq!(l.encoding(), "listpack");
}

#[test]
fn quicklist_nodes_fill_as_valkey() {
    // 64-byte strings under the default 8 KiB limit: 122 per node.
    let v = [b'x'; 64];
    let l = List::from_elems(vec![&v[..]; 1000], lim());
    let counts: Vec<usize> = l.slots.iter().map(|s| s.count).collect();
    assert!(counts[..8].iter().all(|&c| c == 122), "{counts:?}");
    assert_eq!(l.slots[0].lp, 7 + 122 * 67);
    // Each full node is one 8 KiB block: (8192 + its 24-byte slot) / 122 = 67.3 bytes per
    // element (Valkey: 67.5).
    assert!(l.slots.iter().take(8).all(|s| s.block.allocated() == 8192));
    assert_eq!(std::mem::size_of::<Slot>(), 24);
    // An element above the limit gets a plain node.
    let mut l = List::from_elems([&b"a"[..], &[b'y'; 9000][..], b"b"], lim());
    assert_eq!(l.encoding(), "quicklist");
    assert_eq!(l.slots.len(), 3);
    assert!(l.slots[1].is_plain());
    l.pop(End::Right);
    assert_eq!(l.get(1).map(|e| e.len()), Some(9000));
}

#[test]
fn moved_integers_count_as_zero_bytes_from_a_quicklist() {
    let mut l = List::from_elems([&b"123"[..], b"abc"], lim());
    assert_eq!(l.encoding(), "listpack");
    assert_eq!(
        (l.moved_bytes(End::Left), l.moved_bytes(End::Right)),
        (3, 3)
    );
    l.quicklist = true;
    assert_eq!(
        (l.moved_bytes(End::Left), l.moved_bytes(End::Right)),
        (0, 3)
    );
}

#[test]
fn a_node_takes_an_element_while_valkeys_estimate_fits() {
    // Valkey admits an element into a node while node bytes + length + 8 <= the limit.
    let limits = ListLimits {
        fill: -1,
        packed_threshold: 0,
        compress: 0,
    };
    for (extra, nodes) in [(1077, 1), (1078, 2)] {
        let first = vec![b'a'; 3000];
        let mut l = List::from_elems([first.as_slice()], limits);
        l.quicklist = true;
        assert_eq!(l.slots[0].lp, 7 + 2 + 3000 + 2);
        l.push(End::Right, &vec![b'b'; extra], limits);
        assert_eq!(l.slots.len(), nodes, "element of {extra} bytes");
    }
}

#[test]
fn loading_keeps_a_listpack_that_fits() {
    // 682 ten-byte strings: a 8191-byte listpack, within the 8 KiB limit. Pushed one by one
    // into a quicklist, Valkey's 8-byte estimate would start a second node at 681.
    let v = [b'q'; 10];
    let elems = vec![&v[..]; 682];
    let loaded = List::load(elems.iter().copied(), lim());
    assert_eq!((loaded.encoding(), loaded.lp_bytes()), ("listpack", 8191));
    let built = List::from_elems(elems.iter().copied(), lim());
    assert_eq!(built.encoding(), "quicklist");
    assert_eq!(built.nodes().count(), 2);
    let more = vec![&v[..]; 683];
    assert_eq!(List::load(more, lim()).encoding(), "quicklist");
}

#[test]
fn an_integer_in_a_plain_node_is_found_by_its_bytes() {
    // A threshold of 1 byte puts every element in a plain node, "9" included (as a string).
    let limits = ListLimits {
        fill: 1,
        packed_threshold: 1,
        compress: 0,
    };
    let mut l = List::default();
    for e in ["xxxxxxxxxxx", "9", "xxxxxxxxxxx"] {
        l.push(End::Right, e.as_bytes(), limits);
    }
    assert_eq!(l.position(b"9"), Some(1));
    l.insert(1, false, b"8", limits);
    assert_eq!(strs(&l), ["xxxxxxxxxxx", "8", "9", "xxxxxxxxxxx"]);
}
