//! BITFIELD / BITFIELD_RO arguments (and the other bitmap commands) on arbitrary input: the
//! parser never panics and only returns operations in range, and running the command on a
//! string never panics (proto-max-bulk-len is kept small to bound the strings written).
#![no_main]

use bytes::Bytes;
use commands::bitops::field::{self, OpKind};
use commands::testing::Harness;
use libfuzzer_sys::fuzz_target;

const MAX_BULK: usize = 1 << 12;
const COMMANDS: &[&str] = &[
    "BITFIELD",
    "BITFIELD_RO",
    "BITCOUNT",
    "BITPOS",
    "SETBIT",
    "GETBIT",
    "BITOP",
];

fuzz_target!(|data: &[u8]| {
    let Some((&cfg, rest)) = data.split_first() else {
        return;
    };
    let cmd = COMMANDS[cfg as usize % COMMANDS.len()];
    let obey_all = cfg & 0x80 != 0;
    let mut argv = vec![Bytes::from_static(cmd.as_bytes()), Bytes::from_static(b"k")];
    argv.extend(rest.split(|&b| b == b'\n').map(Bytes::copy_from_slice));

    if cmd.starts_with("BITFIELD") {
        if let Ok(ops) = field::parse(&argv, obey_all, MAX_BULK) {
            assert!(ops.len() <= (argv.len() - 2) / 3);
            for op in &ops {
                let max = if op.signed { 64 } else { 63 };
                assert!((1..=max).contains(&op.bits));
                assert!(obey_all || ((op.offset >> 3) as usize) < MAX_BULK);
                if let OpKind::Set(_) | OpKind::IncrBy(_) = op.kind {
                    assert!(argv.len() >= 6);
                }
            }
        }
    }
    // The primary's stream lifts the offset limit; do not let it allocate gigabytes here.
    if obey_all {
        return;
    }
    let mut h = Harness::new();
    h.settings.proto_max_bulk_len = MAX_BULK;
    let seed: Vec<Bytes> = ["SET", "k", "foobar\u{0}\u{7f}"]
        .iter()
        .map(|s| Bytes::copy_from_slice(s.as_bytes()))
        .collect();
    h.run_argv(&seed);
    let reply = h.run_argv(&argv);
    if cmd.starts_with("BITFIELD") && field::parse(&argv, false, MAX_BULK).is_err() {
        assert!(reply.is_error());
    }
});
