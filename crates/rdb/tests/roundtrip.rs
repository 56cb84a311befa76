//! Property tests: whatever the writer produces, the reader (and the DUMP
//! parser) gives back, for every value type and writer option.

use std::collections::BTreeSet;

use proptest::collection::{btree_map, btree_set, vec};
use proptest::prelude::*;
use rdb::{
    dump_payload, lzf, parse_dump_payload, Consumer, ConsumerGroup, Item, KeyEntry, PendingEntry,
    Reader, ReaderOptions, Stream, StreamEntry, StreamId, Value, Writer, WriterOptions,
};

/// Byte strings biased towards the interesting shapes: integer-looking text
/// (integer encodings), repetitive text (LZF), and arbitrary bytes.
fn bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        any::<i64>().prop_map(|v| v.to_string().into_bytes()),
        (-200i64..200).prop_map(|v| v.to_string().into_bytes()),
        vec(any::<u8>(), 0..40),
        ("[a-c]{1,3}", 1usize..200).prop_map(|(s, n)| s.repeat(n).into_bytes()),
        Just(b"007".to_vec()),
        Just(b"-0".to_vec()),
    ]
}

fn score() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>().prop_filter("no NaN", |f| !f.is_nan()),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        (-1000i32..1000).prop_map(|v| v as f64 / 4.0),
    ]
}

fn stream_id() -> impl Strategy<Value = StreamId> {
    (any::<u64>(), any::<u64>()).prop_map(|(ms, seq)| StreamId::new(ms, seq))
}

fn stream() -> impl Strategy<Value = Stream> {
    let fields = vec((bytes(), bytes()), 1..4);
    let entries = btree_map((0u64..3_000_000_000_000, 0u64..5), fields, 0..40);
    (
        entries,
        vec(group_shape(), 0..3),
        stream_id(),
        stream_id(),
        any::<u64>(),
    )
        .prop_map(
            |(entries, shapes, first_id, max_deleted_id, entries_added)| {
                let entries: Vec<StreamEntry> = entries
                    .into_iter()
                    .map(|((ms, seq), fields)| StreamEntry {
                        id: StreamId::new(ms, seq),
                        fields,
                    })
                    .collect();
                let groups = shapes
                    .into_iter()
                    .enumerate()
                    .map(|(i, shape)| shape.build(i, &entries))
                    .collect();
                Stream {
                    length: entries.len() as u64,
                    last_id: entries.last().map_or(StreamId::new(0, 0), |e| e.id),
                    entries,
                    first_id,
                    max_deleted_id,
                    entries_added,
                    groups,
                }
            },
        )
}

/// Random choices from which a consistent consumer group is built.
#[derive(Debug, Clone)]
struct GroupShape {
    entries_read: i64,
    pending: Vec<(usize, i64, u64, usize)>,
    consumers: Vec<(Vec<u8>, i64)>,
}

fn group_shape() -> impl Strategy<Value = GroupShape> {
    (
        prop_oneof![Just(-1i64), any::<i64>()],
        vec(
            (any::<usize>(), any::<i64>(), any::<u64>(), any::<usize>()),
            0..6,
        ),
        vec((bytes(), any::<i64>()), 1..4),
    )
        .prop_map(|(entries_read, pending, consumers)| GroupShape {
            entries_read,
            pending,
            consumers,
        })
}

impl GroupShape {
    fn build(self, index: usize, entries: &[StreamEntry]) -> ConsumerGroup {
        let mut names = BTreeSet::new();
        let mut consumers: Vec<Consumer> = self
            .consumers
            .into_iter()
            .filter(|(n, _)| names.insert(n.clone()))
            .map(|(name, t)| Consumer {
                name,
                seen_time_ms: t,
                active_time_ms: t,
                pending: vec![],
            })
            .collect();
        let mut pel: Vec<PendingEntry> = Vec::new();
        for (e, time, count, owner) in self.pending {
            let Some(entry) = entries.get(e % entries.len().max(1)) else {
                continue;
            };
            if pel.iter().any(|p| p.id == entry.id) {
                continue;
            }
            pel.push(PendingEntry {
                id: entry.id,
                delivery_time_ms: time,
                delivery_count: count,
            });
            let n = consumers.len();
            consumers[owner % n].pending.push(entry.id);
        }
        ConsumerGroup {
            name: format!("group-{index}").into_bytes(),
            last_id: entries.first().map_or(StreamId::new(0, 0), |e| e.id),
            entries_read: self.entries_read,
            pel,
            consumers,
        }
    }
}

fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        bytes().prop_map(Value::String),
        vec(bytes(), 0..30).prop_map(Value::List),
        btree_set(bytes(), 0..30).prop_map(|s| Value::Set(s.into_iter().collect())),
        btree_map(bytes(), score(), 0..30).prop_map(|m| Value::SortedSet(m.into_iter().collect())),
        btree_map(bytes(), bytes(), 0..30).prop_map(|m| Value::Hash(m.into_iter().collect())),
        stream().prop_map(|s| Value::Stream(Box::new(s))),
    ]
}

/// Zset member order is not preserved (the writer sorts by score, highest first).
fn normalise(v: Value) -> Value {
    match v {
        Value::SortedSet(mut m) => {
            m.sort_by(|a, b| a.0.cmp(&b.0));
            Value::SortedSet(m)
        }
        other => other,
    }
}

fn key_entry() -> impl Strategy<Value = KeyEntry> {
    (
        bytes(),
        value(),
        proptest::option::of(any::<i64>()),
        proptest::option::of(any::<u64>()),
        proptest::option::of(any::<u8>()),
    )
        .prop_map(|(key, value, expire_ms, idle_secs, lfu_freq)| KeyEntry {
            key,
            value,
            expire_ms,
            idle_secs,
            lfu_freq,
        })
}

fn write_file(keys: &[KeyEntry], opts: WriterOptions) -> Vec<u8> {
    let mut w = Writer::new(Vec::new(), opts);
    w.header(10).unwrap();
    w.aux(b"redis-ver", b"7.0.15").unwrap();
    w.aux(b"redis-bits", b"64").unwrap();
    w.function(b"#!lua name=x\n").unwrap();
    w.select_db(0).unwrap();
    w.resize_db(keys.len() as u64, 0).unwrap();
    for k in keys {
        w.key(k).unwrap();
    }
    let written = w.bytes_written();
    let out = w.finish().unwrap();
    assert_eq!(written + 9, out.len() as u64, "bytes_written tracks output");
    out
}

fn read_file(bytes: &[u8]) -> Vec<Item> {
    let mut r = Reader::new(bytes, ReaderOptions::default()).unwrap();
    let mut items = Vec::new();
    while let Some(item) = r.next_item().unwrap_or_else(|e| panic!("{e}")) {
        items.push(item);
    }
    assert_eq!(r.bytes_read(), bytes.len() as u64);
    items
}

fn all_options() -> [WriterOptions; 4] {
    [(true, true), (true, false), (false, true), (false, false)].map(|(compression, checksum)| {
        WriterOptions {
            compression,
            checksum,
        }
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn file_round_trip(keys in vec(key_entry(), 0..6)) {
        for opts in all_options() {
            let file = write_file(&keys, opts);
            let items = read_file(&file);
            prop_assert_eq!(&items[0], &Item::Aux { key: b"redis-ver".to_vec(), value: b"7.0.15".to_vec() });
            prop_assert_eq!(&items[1], &Item::Aux { key: b"redis-bits".to_vec(), value: b"64".to_vec() });
            prop_assert_eq!(&items[2], &Item::Function(b"#!lua name=x\n".to_vec()));
            prop_assert_eq!(&items[3], &Item::SelectDb(0));
            prop_assert_eq!(items.last(), Some(&Item::Eof));
            let got: Vec<KeyEntry> = items[5..items.len() - 1]
                .iter()
                .map(|i| match i {
                    Item::Key(k) => KeyEntry { value: normalise(k.value.clone()), ..k.clone() },
                    other => panic!("unexpected {other:?}"),
                })
                .collect();
            let want: Vec<KeyEntry> = keys
                .iter()
                .map(|k| KeyEntry { value: normalise(k.value.clone()), ..k.clone() })
                .collect();
            prop_assert_eq!(got, want);
        }
    }

    #[test]
    fn dump_round_trip(v in value()) {
        let payload = dump_payload(&v).expect("payload writes");
        let back = parse_dump_payload(&payload, true).unwrap_or_else(|e| panic!("{e}"));
        prop_assert_eq!(normalise(back), normalise(v));
    }

    #[test]
    fn lzf_identity_random(data in vec(any::<u8>(), 0..3000)) {
        if let Some(c) = lzf::compress(&data) {
            prop_assert!(c.len() + 4 <= data.len());
            prop_assert_eq!(lzf::decompress(&c, data.len()).unwrap(), data);
        }
    }

    #[test]
    fn lzf_identity_compressible(
        pieces in vec(("[a-e]{1,12}", 1usize..40), 1..30),
        noise in vec(any::<u8>(), 0..50),
    ) {
        let mut data: Vec<u8> = pieces.iter().flat_map(|(s, n)| s.repeat(*n).into_bytes()).collect();
        data.extend_from_slice(&noise);
        if data.len() > 100 {
            let c = lzf::compress(&data).expect("repetitive input compresses");
            prop_assert_eq!(lzf::decompress(&c, data.len()).unwrap(), data);
        }
    }

    #[test]
    fn lzf_decompress_never_panics(data in vec(any::<u8>(), 0..200), len in 0usize..5000) {
        let _ = lzf::decompress(&data, len);
    }
}

#[test]
fn large_stream_and_collections_round_trip() {
    let entries: Vec<StreamEntry> = (0..1000u64)
        .map(|i| StreamEntry {
            id: StreamId::new(1_700_000_000_000 + i / 3, i % 3),
            fields: vec![(b"field".to_vec(), format!("value-{i}").into_bytes())],
        })
        .collect();
    let s = Stream {
        length: 1000,
        last_id: entries[999].id,
        first_id: entries[0].id,
        entries,
        ..Stream::default()
    };
    let big_list: Vec<Vec<u8>> = (0..50_000)
        .map(|i| format!("item:{i}").into_bytes())
        .collect();
    let keys = vec![
        KeyEntry::new("s", Value::Stream(Box::new(s))),
        KeyEntry::new("l", Value::List(big_list)),
        KeyEntry::new("big", Value::String(vec![b'z'; 3 << 20])),
    ];
    for opts in all_options() {
        let file = write_file(&keys, opts);
        let items = read_file(&file);
        let got: Vec<&KeyEntry> = items
            .iter()
            .filter_map(|i| if let Item::Key(k) = i { Some(k) } else { None })
            .collect();
        assert_eq!(got, keys.iter().collect::<Vec<_>>());
    }
}
