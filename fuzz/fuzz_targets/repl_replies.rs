//! What a primary may send a replica, on arbitrary bytes: the PSYNC reply, payload header and
//! `$ENDOFF` parsers, and the replica-side `Link` state machine (main and dual-channel RDB
//! connection, and a FAILOVER hand-over's PSYNC) driven through its handshake by arbitrary
//! bytes in arbitrary pieces. Never a panic; payload and stream bytes passed on never exceed
//! what was received.
#![no_main]

use libfuzzer_sys::fuzz_target;
use replication::link::Action;
use replication::{proto, Link, LinkConfig};

fuzz_target!(|data: &[u8]| {
    let Some((&cfg, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    for line in text.split('\n') {
        let _ = proto::parse_psync_reply(line);
        let _ = proto::parse_bulk_header(line);
        if let Ok(e) = proto::parse_endoff(line) {
            let again = String::from_utf8(proto::endoff_line(&e)).expect("ascii");
            assert_eq!(proto::parse_endoff(again.trim_end()).ok(), Some(e));
        }
    }
    let mut link = Link::new(
        LinkConfig {
            listening_port: 7000,
            announce_ip: None,
            auth: (cfg & 1 == 1).then(|| (None, "pw".to_string())),
            dual_channel: cfg & 2 == 2,
            rdb_channel: cfg & 4 == 4,
            timeout_ms: 1000,
        },
        0,
    );
    let chunk = ((cfg >> 3) as usize % 31) + 1;
    let mut passed = 0usize;
    let mut now = 0i64;
    let mut actions = link.on_connected(now);
    for piece in rest.chunks(chunk) {
        now += 10;
        for a in actions.drain(..) {
            match a {
                Action::HandshakeDone => {
                    // The top bit also asks as a FAILOVER hand-over would.
                    let _ = link.psync(None, cfg & 0x80 == 0x80);
                }
                Action::EndOff(e) => {
                    let _ = link.dual_endoff(&e);
                }
                Action::Payload(p) | Action::Stream(p) => passed += p.len(),
                _ => {}
            }
        }
        actions = link.on_data(now, piece);
        if link.state() == replication::LinkState::Loading && cfg & 128 == 128 {
            actions.extend(link.on_load_done(true, ""));
        }
    }
    for a in actions {
        if let Action::Payload(p) | Action::Stream(p) = a {
            passed += p.len();
        }
    }
    assert!(passed <= rest.len());
    let _ = link.on_tick(now + 5000);
});
