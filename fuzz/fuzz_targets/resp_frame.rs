//! The client-side frame parser (replies) on arbitrary bytes: never panics, and a frame it
//! returns lies within the input.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut rest = data;
    while let Ok(Some((_frame, used))) = resp::frame::parse_frame(rest) {
        assert!(used > 0 && used <= rest.len());
        rest = &rest[used..];
    }
});
