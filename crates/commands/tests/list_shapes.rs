//! List layouts checked against valkey-server 8.0.1: `data/list_shapes.txt` records, for
//! seeded random list commands under several `list-max-listpack-size` and packed-threshold
//! settings, the encoding, every quicklist node (entry count, listpack bytes, plain or
//! packed) and DEBUG DIGEST-VALUE of the keys each command wrote, as a running Valkey printed
//! them (`data/list_shapes.py` regenerates the file). Replaying the commands here must give
//! the same layout after every command: that is what makes OBJECT ENCODING's listpack ⇄
//! quicklist conversions exact, since Valkey converts back only a single-node quicklist.

use bytes::Bytes;
use commands::testing::Harness;
use keyspace::ValueRef;
use resp::Reply;

const SHAPES: &str = include_str!("data/list_shapes.txt");

/// An argument of the file: `c*N` is the character `c` repeated N times.
fn arg(token: &str) -> Bytes {
    match token.split_once('*') {
        Some((c, n)) if c.len() == 1 => {
            let n: usize = n.parse().expect("repeat count");
            Bytes::from(c.repeat(n))
        }
        _ => Bytes::copy_from_slice(token.as_bytes()),
    }
}

/// The key's layout in the file's notation.
fn layout(h: &mut Harness, key: &str) -> String {
    let Some(obj) = h.ks.peek(0, key.as_bytes()) else {
        return format!("key {key} none");
    };
    let digest = keyspace::digest::hex(&keyspace::digest::value_digest(obj));
    let ValueRef::List(l) = obj.value() else {
        return format!("key {key} not a list");
    };
    let nodes: Vec<(usize, usize, bool)> = l.nodes().collect();
    if l.encoding() == "listpack" {
        let bytes = nodes.first().map_or(7, |n| n.1);
        return format!("key {key} listpack {bytes} {} {digest}", l.len());
    }
    let nodes: Vec<String> = nodes
        .iter()
        .map(|&(count, size, plain)| {
            if plain {
                format!("L{size}")
            } else {
                format!("P{count}:{size}")
            }
        })
        .collect();
    format!("key {key} quicklist {} {digest}", nodes.join(","))
}

#[test]
fn list_layouts_match_valkey_after_every_command() {
    let mut h = Harness::new();
    let mut last_cmd = String::new();
    let mut checked = 0;
    for (n, line) in SHAPES.lines().enumerate() {
        let n = n + 1;
        if let Some(cfg) = line.strip_prefix("config ") {
            let (fill, threshold) = cfg.split_once(' ').expect("config line");
            h = Harness::new();
            h.settings.list.fill = fill.parse().expect("fill");
            h.settings.list.packed_threshold = threshold.parse().expect("threshold");
        } else if let Some(cmd) = line.strip_prefix("cmd ") {
            let argv: Vec<Bytes> = cmd.split(' ').map(arg).collect();
            let reply = h.run_argv(&argv);
            assert!(
                !matches!(reply, Reply::Error(_)),
                "line {n}: {cmd}: {reply:?}"
            );
            last_cmd = cmd.chars().take(120).collect();
        } else if let Some(rest) = line.strip_prefix("key ") {
            let key = rest.split(' ').next().expect("key name");
            let got = layout(&mut h, key);
            assert_eq!(got, line, "line {n}, after: {last_cmd}");
            checked += 1;
        }
    }
    assert!(checked > 2000, "{checked} layouts checked");
}
