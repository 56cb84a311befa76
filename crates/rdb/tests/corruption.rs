//! Corrupt and truncated input: always an error (or, with the CRC check off,
//! possibly a benign success), never a panic, never a huge allocation.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use common::*;
use rdb::{
    dump_payload, lzf, parse_dump_payload, type_id as t, Consumer, ConsumerGroup, ErrorKind,
    KeyEntry, PendingEntry, Reader, ReaderOptions, Stream, StreamEntry, StreamId, Value, Writer,
    WriterOptions,
};

/// Records the largest single allocation made by the current thread, so a
/// test can prove that a length field did not size an allocation.
struct TrackingAlloc;

thread_local! {
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for TrackingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        System.alloc(layout)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        System.alloc_zeroed(layout)
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(new_size);
        System.realloc(ptr, layout, new_size)
    }
}

fn note(size: usize) {
    let _ = LARGEST.try_with(|l| l.set(l.get().max(size)));
}

#[global_allocator]
static ALLOC: TrackingAlloc = TrackingAlloc;

/// Runs `f` and returns the largest allocation it made on this thread.
fn largest_allocation(f: impl FnOnce()) -> usize {
    LARGEST.with(|l| l.set(0));
    f();
    LARGEST.with(|l| l.get())
}

fn read(bytes: &[u8], verify: bool) -> Result<usize, rdb::RdbError> {
    let opts = ReaderOptions {
        verify_checksum: verify,
    };
    let mut r = Reader::new(bytes, opts)?;
    let mut n = 0;
    while r.next_item()?.is_some() {
        n += 1;
    }
    Ok(n)
}

fn sample_stream() -> Stream {
    let entries: Vec<StreamEntry> = (0..5u64)
        .map(|i| StreamEntry {
            id: StreamId::new(1000 + i, i),
            fields: vec![(b"f".to_vec(), format!("v{i}").into_bytes())],
        })
        .collect();
    Stream {
        length: 5,
        last_id: entries[4].id,
        first_id: entries[0].id,
        entries_added: 5,
        groups: vec![ConsumerGroup {
            name: b"g".to_vec(),
            last_id: StreamId::new(1001, 1),
            entries_read: 2,
            pel: vec![PendingEntry {
                id: StreamId::new(1001, 1),
                delivery_time_ms: 7,
                delivery_count: 1,
            }],
            consumers: vec![Consumer {
                name: b"c".to_vec(),
                seen_time_ms: 8,
                active_time_ms: 8,
                pending: vec![StreamId::new(1001, 1)],
            }],
        }],
        entries,
        ..Stream::default()
    }
}

/// A file with every writer type plus legacy encodings appended by hand.
fn sample_file() -> Vec<u8> {
    let mut w = Writer::new(Vec::new(), WriterOptions::default());
    w.header(10).unwrap();
    w.aux(b"redis-ver", b"7.0.15").unwrap();
    w.select_db(0).unwrap();
    let long = "abcdefgh".repeat(20).into_bytes();
    let keys = [
        KeyEntry {
            expire_ms: Some(1_900_000_000_000),
            ..KeyEntry::new("s", Value::String(long.clone()))
        },
        KeyEntry::new("i", Value::String(b"12345".to_vec())),
        KeyEntry::new(
            "l",
            Value::List(vec![b"a".to_vec(), long.clone(), b"-7".to_vec()]),
        ),
        KeyEntry::new("set", Value::Set(vec![b"x".to_vec(), b"y".to_vec()])),
        KeyEntry::new(
            "z",
            Value::SortedSet(vec![(b"m".to_vec(), 1.5), (b"n".to_vec(), f64::INFINITY)]),
        ),
        KeyEntry::new("h", Value::Hash(vec![(b"f".to_vec(), long)])),
        KeyEntry::new("x", Value::Stream(Box::new(sample_stream()))),
    ];
    for k in &keys {
        w.key(k).unwrap();
    }
    let mut file = w.finish().unwrap();
    file.truncate(file.len() - 9);
    let mut r = Rdb { bytes: file };
    r.key(t::LIST_ZIPLIST, b"zl")
        .str(&ziplist(&[Z::S(b"a"), Z::I(300), Z::I(5)]));
    r.key(t::SET_INTSET, b"is").str(&intset(4, &[-5, 70_000]));
    r.key(t::HASH_ZIPMAP, b"zm")
        .str(&zipmap(&[(b"k", b"v")], 1));
    r.key(t::ZSET_LISTPACK, b"zlp")
        .str(&listpack(&[b"a", b"1.5", b"b", b"2"]));
    r.key(t::LIST_QUICKLIST_2, b"q")
        .len(2)
        .len(2)
        .str(&listpack(&[b"p", b"q"]))
        .len(1)
        .str(b"plain");
    r.finish()
}

#[test]
fn sample_file_is_valid() {
    assert_eq!(read(&sample_file(), true).unwrap(), 15);
}

#[test]
fn truncation_at_every_offset_fails() {
    let file = sample_file();
    for n in 0..file.len() {
        for verify in [true, false] {
            let res = read(&file[..n], verify);
            assert!(res.is_err(), "truncated to {n} bytes parsed: {res:?}");
        }
    }
}

/// Bigger than the reader's 64 KiB buffer, with a string long enough to be
/// read directly into its allocation, so truncation hits refills and the
/// direct-read path.
fn large_file() -> Vec<u8> {
    let mut w = Writer::new(
        Vec::new(),
        WriterOptions {
            compression: false,
            checksum: true,
        },
    );
    w.header(10).unwrap();
    let noise: Vec<u8> = (0..40_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8)
        .collect();
    w.key(&KeyEntry::new("big", Value::String(noise))).unwrap();
    let items = (0..8000)
        .map(|i| format!("item-{i}").into_bytes())
        .collect();
    w.key(&KeyEntry::new("list", Value::List(items))).unwrap();
    w.key(&KeyEntry::new(
        "x",
        Value::Stream(Box::new(sample_stream())),
    ))
    .unwrap();
    w.finish().unwrap()
}

#[test]
fn truncation_of_a_large_file_fails() {
    let file = large_file();
    assert!(file.len() > 100_000);
    assert_eq!(read(&file, true).unwrap(), 4);
    let mut cuts: Vec<usize> = (0..file.len()).step_by(499).collect();
    cuts.extend((65_500..65_600).chain(file.len() - 200..file.len()));
    for n in cuts {
        assert!(
            read(&file[..n], true).is_err(),
            "truncated to {n} bytes parsed"
        );
    }
}

/// xorshift64*, so failures are reproducible from the printed seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

#[test]
fn random_flips_fail_with_crc_and_never_panic_without() {
    let file = sample_file();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for round in 0..4000 {
        let mut f = file.clone();
        let flips = 1 + rng.next() % 3;
        for _ in 0..flips {
            let at = (rng.next() % f.len() as u64) as usize;
            f[at] ^= 1 << (rng.next() % 8);
        }
        if f == file {
            continue;
        }
        // A header edited down to version < 5 legitimately drops the CRC
        // (the version is read like C's atoi, as Redis does).
        let version = f[5..9]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .fold(0, |v, b| v * 10 + (b - b'0') as u32);
        if !(1..5).contains(&version) {
            let res = read(&f, true);
            assert!(
                res.is_err(),
                "round {round}: corrupted file accepted with CRC on: {:?}",
                &f[..9]
            );
        }
        let _ = read(&f, false);
    }
}

#[test]
fn random_byte_values_never_panic() {
    let file = sample_file();
    let mut rng = Rng(12345);
    for _ in 0..4000 {
        let mut f = file.clone();
        let at = (rng.next() % f.len() as u64) as usize;
        f[at] = rng.next() as u8;
        let _ = read(&f, false);
    }
}

#[test]
fn dump_payload_corruption() {
    let payloads: Vec<Vec<u8>> = [
        Value::Stream(Box::new(sample_stream())),
        Value::Hash(vec![(b"a".to_vec(), "xyz".repeat(30).into_bytes())]),
        Value::SortedSet(vec![(b"a".to_vec(), 2.0), (b"b".to_vec(), -1.0)]),
    ]
    .iter()
    .map(|v| dump_payload(v).expect("payload writes"))
    .collect();
    let mut rng = Rng(777);
    for p in &payloads {
        for n in 0..p.len() {
            assert!(
                parse_dump_payload(&p[..n], false).is_err(),
                "truncated dump to {n} parsed"
            );
        }
        for _ in 0..2000 {
            let mut f = p.clone();
            let at = (rng.next() % f.len() as u64) as usize;
            f[at] ^= 1 << (rng.next() % 8);
            let with_crc = parse_dump_payload(&f, true);
            assert!(with_crc.is_err());
            let _ = parse_dump_payload(&f, false);
        }
    }
}

fn header_key(ty: u8) -> Rdb {
    let mut r = Rdb::new(10);
    r.key(ty, b"k");
    r
}

#[test]
fn huge_lengths_do_not_allocate_huge_buffers() {
    // The tracker itself must see big allocations, or this test proves nothing.
    let probe =
        largest_allocation(|| drop(std::hint::black_box(Vec::<u8>::with_capacity(4 << 20))));
    assert!(probe >= 4 << 20);
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "64-bit string length",
            header_key(t::STRING).len(u64::MAX - 1).raw(b"abc").finish(),
        ),
        (
            "32-bit string length",
            header_key(t::STRING)
                .len(u32::MAX as u64)
                .raw(b"abc")
                .finish(),
        ),
        (
            "list count",
            header_key(t::LIST).len(u64::MAX / 2).str(b"a").finish(),
        ),
        (
            "set count",
            header_key(t::SET).len(1 << 40).str(b"a").finish(),
        ),
        ("zset count", header_key(t::ZSET_2).len(1 << 40).finish()),
        ("hash count", header_key(t::HASH).len(1 << 40).finish()),
        (
            "quicklist nodes",
            header_key(t::LIST_QUICKLIST_2).len(1 << 40).finish(),
        ),
        (
            "lzf lengths",
            header_key(t::STRING)
                .raw(&[0xC3])
                .len(1 << 40)
                .len(1 << 45)
                .finish(),
        ),
        (
            "lzf small clen",
            header_key(t::STRING)
                .raw(&[0xC3])
                .len(3)
                .len(1 << 45)
                .raw(&[0, 1, 2])
                .finish(),
        ),
        (
            "stream nodes",
            header_key(t::STREAM_LISTPACKS_2).len(1 << 50).finish(),
        ),
        ("function", {
            let mut r = Rdb::new(10);
            r.byte(0xF5).len(1 << 50).raw(b"x");
            r.finish()
        }),
    ];
    for (name, file) in cases {
        let mut res = Ok(0);
        let largest = largest_allocation(|| res = read(&file, false));
        assert!(res.is_err(), "{name}: parsed");
        assert!(largest <= 1 << 20, "{name}: allocated {largest} bytes");
    }
    let largest = largest_allocation(|| {
        assert!(lzf::decompress(&[0, b'a'], usize::MAX).is_err());
    });
    assert!(largest <= 1 << 20);
}

#[test]
fn errors_name_offsets() {
    let file = header_key(t::STRING).raw(&[0x9F]).finish();
    let e = read(&file, true).unwrap_err();
    assert_eq!(e.offset, 12, "{e}");
    assert!(e.to_string().starts_with("RDB error at byte 12: "), "{e}");
    let trunc = &sample_file()[..40];
    let e = read(trunc, true).unwrap_err();
    assert!(matches!(e.kind, ErrorKind::UnexpectedEof));
    assert_eq!(e.offset, 40);
}
