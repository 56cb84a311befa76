//! The request parser on arbitrary bytes, fed in arbitrary pieces: never panics, never
//! consumes more than it was given, and a command it accepts from a multibulk re-encodes to
//! exactly the bytes it consumed for it (the invariant replication offsets rely on).
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use resp::{Parsed, RequestParser};

fuzz_target!(|data: &[u8]| {
    let Some((&cfg, rest)) = data.split_first() else {
        return;
    };
    let mut p = RequestParser::new(if cfg & 1 == 1 { 64 } else { 1 << 20 });
    p.auth_required = cfg & 2 == 2;
    p.from_primary = cfg & 4 == 4;
    let chunk = ((cfg >> 3) as usize % 17) + 1;
    let mut buf = BytesMut::new();
    let mut partial = 0usize;
    for piece in rest.chunks(chunk) {
        buf.extend_from_slice(piece);
        loop {
            let before = buf.len();
            let starts_multibulk = !p.in_progress() && buf.first() == Some(&b'*');
            let was_in_progress = p.in_progress();
            match p.parse(&mut buf) {
                Ok(Parsed::Command(argv)) => {
                    assert!(!argv.is_empty());
                    let consumed = before - buf.len() + std::mem::take(&mut partial);
                    if starts_multibulk || was_in_progress {
                        let mut again = Vec::new();
                        resp::reply::encode_command(&mut again, &argv);
                        // A canonical multibulk re-encodes to what was consumed; a
                        // non-canonical one (e.g. `$03`) can only be longer.
                        assert!(again.len() <= consumed);
                    }
                }
                Ok(Parsed::Empty) => {
                    partial = 0;
                }
                Ok(Parsed::NeedMore { .. }) => {
                    partial += before - buf.len();
                    break;
                }
                Err(_) => return,
            }
            assert!(buf.len() <= before);
        }
    }
});
