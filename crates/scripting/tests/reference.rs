//! Every case of `reference/eval_cases.lua`, run through the engine, must produce the bytes a
//! valkey-server 8.0.1 produced (recorded by `reference/capture.py`), over RESP2 and RESP3.

#[path = "reference/eval_cases.rs"]
mod cases;
mod common;

use resp::RespVersion;
use scripting::Scripting;

#[test]
fn eval_replies_match_valkey() {
    let mut s = Scripting::default();
    let mut h = common::TestHost::default();
    let mut failures = Vec::new();
    for (script, resp2, resp3) in cases::CASES {
        for (proto, want) in [(RespVersion::Resp2, resp2), (RespVersion::Resp3, resp3)] {
            let out = common::eval(&mut s, &mut h, script, &[], 0, proto);
            let got = out.reply.to_bytes(proto);
            if &got[..] != *want {
                failures.push(format!(
                    "{}\n  {:?}\n  want {}\n  got  {}",
                    String::from_utf8_lossy(script),
                    proto,
                    String::from_utf8_lossy(want).escape_debug(),
                    String::from_utf8_lossy(&got).escape_debug()
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} replies differ:\n{}",
        failures.len(),
        2 * cases::CASES.len(),
        failures.join("\n")
    );
}
