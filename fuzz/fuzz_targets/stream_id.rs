//! The stream-ID parser on arbitrary arguments: never panics, a strict parse agrees with the
//! lenient one, every parsed ID prints back to text that parses to the same ID, and the
//! successor/predecessor functions invert each other. The rest of the input drives a small
//! stream (appends, deletes, trims) whose ranges must match a plain sorted list.
#![no_main]

use libfuzzer_sys::fuzz_target;
use types::stream::id::{self, IdRules};
use types::stream::{NewId, Stream, StreamLimits, Trim};

fn check_id(arg: &[u8]) {
    let strict = id::parse(arg, IdRules::STRICT);
    let lenient = id::parse(arg, IdRules::range(u64::MAX));
    let xadd = id::parse(
        arg,
        IdRules {
            allow_auto_seq: true,
            ..IdRules::STRICT
        },
    );
    if let Some(p) = strict {
        let l = lenient.expect("a strict ID is also a lenient one");
        assert_eq!(p.id.ms, l.id.ms);
        assert_eq!(xadd.map(|x| x.id), Some(p.id));
        let text = id::to_text(p.id);
        assert_eq!(
            id::parse(text.as_bytes(), IdRules::STRICT).map(|x| x.id),
            Some(p.id)
        );
        if let Some(n) = id::incr(p.id) {
            assert_eq!(id::decr(n), Some(p.id));
        }
    }
    if let Some(x) = xadd {
        if !x.seq_given {
            assert_eq!(x.id.seq, 0);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let (arg, ops) = data.split_at(data.len().min(40));
    check_id(arg);
    let limits = StreamLimits {
        node_max_bytes: 256,
        node_max_entries: u64::from(ops.first().copied().unwrap_or(0) % 8),
    };
    let mut s = Stream::new();
    let mut model: Vec<(u64, Vec<u8>)> = Vec::new();
    let mut ms = 0u64;
    for chunk in ops.chunks(3) {
        let (op, a, b) = (
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        );
        match op % 4 {
            0 | 1 => {
                ms += u64::from(a % 4) + 1;
                let value = vec![b'v'; usize::from(b % 40)];
                let field: &[u8] = if op % 2 == 0 { b"f" } else { b"g" };
                let pairs = [
                    field,
                    &value[..],
                    b"n",
                    if b % 3 == 0 { b"12" } else { b"x" },
                ];
                if s.entries
                    .append(NewId::Exact(id::StreamId::new(ms, 0)), 0, &pairs, &limits)
                    .is_ok()
                {
                    model.push((ms, value));
                }
            }
            2 => {
                let target = u64::from(a) % (ms + 1);
                let deleted = s.entries.delete(id::StreamId::new(target, 0));
                let pos = model.iter().position(|(m, _)| *m == target);
                assert_eq!(deleted, pos.is_some());
                if let Some(p) = pos {
                    model.remove(p);
                }
            }
            _ => {
                let keep = u64::from(a % 16);
                s.entries.trim(Trim::MaxLen(keep), false, 0);
                let drop = model.len().saturating_sub(keep as usize);
                model.drain(..drop);
            }
        }
        assert_eq!(s.len(), model.len() as u64);
    }
    let got: Vec<(u64, Vec<u8>)> = s
        .entries
        .range(id::MIN, id::MAX, false)
        .map(|e| {
            let pairs = e.to_pairs();
            (e.id().ms, pairs[0].1.clone())
        })
        .collect();
    assert_eq!(got, model);
    let mut back: Vec<u64> = s
        .entries
        .range(id::MIN, id::MAX, true)
        .map(|e| e.id().ms)
        .collect();
    back.reverse();
    assert_eq!(back, model.iter().map(|(m, _)| *m).collect::<Vec<_>>());
});
