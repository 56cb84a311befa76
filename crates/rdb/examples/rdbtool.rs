//! Small command-line tool for measuring the codec on real files.
//!
//! ```text
//! rdbtool scan FILE            # decode every item, print counts and throughput
//! rdbtool gen FILE SIZE_MB     # write a mixed-type RDB 10 file of about SIZE_MB
//! ```

use std::fs::File;
use std::io::{BufWriter, Write};
use std::time::Instant;

use rdb::{Item, KeyEntry, Reader, ReaderOptions, Stream, StreamEntry, StreamId, Value, Writer};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("scan") if args.len() == 3 => scan(&args[2]),
        Some("gen") if args.len() == 4 => generate(&args[2], args[3].parse()?),
        _ => {
            eprintln!("usage: rdbtool scan FILE | rdbtool gen FILE SIZE_MB");
            std::process::exit(2);
        }
    }
}

fn scan(path: &str) -> Result<(), Box<dyn std::error::Error>> {
    let start = Instant::now();
    let mut reader = Reader::new(File::open(path)?, ReaderOptions::default())?;
    let (mut keys, mut elements) = (0u64, 0u64);
    while let Some(item) = reader.next_item()? {
        if let Item::Key(k) = item {
            keys += 1;
            elements += k.value.len() as u64;
        }
    }
    let secs = start.elapsed().as_secs_f64();
    let mb = reader.bytes_read() as f64 / 1e6;
    println!(
        "version {} keys {keys} elements {elements} bytes {} in {secs:.3}s ({:.0} MB/s)",
        reader.version(),
        reader.bytes_read(),
        mb / secs
    );
    Ok(())
}

/// A deterministic mix: mostly short strings, plus lists, sets, hashes, zsets
/// and streams of moderate size, like a typical cache/queue workload.
fn generate(path: &str, size_mb: u64) -> Result<(), Box<dyn std::error::Error>> {
    let target = size_mb * 1_000_000;
    let mut w = Writer::new(BufWriter::new(File::create(path)?), Default::default());
    w.header(10)?;
    w.aux(b"redis-ver", b"7.0.15")?;
    w.select_db(0)?;
    let mut i = 0u64;
    while w.bytes_written() < target {
        w.key(&KeyEntry::new(format!("key:{i}"), sample_value(i)))?;
        i += 1;
    }
    w.finish()?.flush()?;
    println!("wrote {i} keys to {path}");
    Ok(())
}

fn sample_value(i: u64) -> Value {
    let n = (i % 50 + 5) as usize;
    let text = |j: usize| format!("v{i}:{j}:{}", "x".repeat(j % 20)).into_bytes();
    match i % 10 {
        0 => Value::List((0..n).map(text).collect()),
        1 => Value::Set((0..n).map(text).collect()),
        2 => Value::Hash(
            (0..n)
                .map(|j| (format!("f{j}").into_bytes(), text(j)))
                .collect(),
        ),
        3 => Value::SortedSet((0..n).map(|j| (text(j), j as f64 * 1.5)).collect()),
        4 if i % 100 == 4 => Value::Stream(Box::new(sample_stream(i, n))),
        5 => Value::String((i * 7919).to_string().into_bytes()),
        _ => Value::String(format!("value-{i}-{}", "payload".repeat(n % 12)).into_bytes()),
    }
}

fn sample_stream(i: u64, n: usize) -> Stream {
    let entries: Vec<StreamEntry> = (0..n as u64)
        .map(|j| StreamEntry {
            id: StreamId::new(1_700_000_000_000 + i + j, 0),
            fields: vec![(b"k".to_vec(), format!("{j}").into_bytes())],
        })
        .collect();
    Stream {
        length: entries.len() as u64,
        last_id: entries.last().map(|e| e.id).unwrap_or_default(),
        first_id: entries.first().map(|e| e.id).unwrap_or_default(),
        entries_added: entries.len() as u64,
        entries,
        ..Stream::default()
    }
}
