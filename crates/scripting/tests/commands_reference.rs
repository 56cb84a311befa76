//! FUNCTION / FCALL / SCRIPT / EVAL command lines, driven through the engine's entry points
//! by a minimal dispatcher, must give the replies a valkey-server 8.0.1 gave
//! (`reference/command_cases.rs`). FUNCTION DUMP payloads are compared by content (Valkey
//! stamps RDB version 11, we stamp 10); RESTORE is fed Valkey's own payload.

#[path = "reference/command_cases.rs"]
mod cases;
mod common;

use bytes::Bytes;
use resp::{Reply, RespVersion};
use scripting::{
    parse_load_args, parse_restore_policy, EvalRequest, FcallRequest, RunOptions, Scripting,
    ServerState,
};

fn dispatch(s: &mut Scripting, h: &mut common::TestHost, argv: &[Bytes]) -> Reply {
    let up = |i: usize| argv[i].to_ascii_uppercase();
    let caller = common::caller(RespVersion::Resp2);
    let server = ServerState::default();
    match &up(0)[..] {
        b"FUNCTION" => match &up(1)[..] {
            b"FLUSH" => {
                s.functions.flush();
                Reply::Ok
            }
            b"LOAD" => match parse_load_args(&argv[2..]) {
                Ok((replace, code)) => {
                    let code = code.clone();
                    match s.functions.load(
                        &code,
                        replace,
                        Some(scripting::LOAD_TIMEOUT),
                        &mut |l, m| h.logs.push((l, m.to_vec())),
                    ) {
                        Ok(name) => Reply::Bulk(name),
                        Err(e) => e,
                    }
                }
                Err(e) => e,
            },
            b"LIST" => s.functions.list(&argv[2..]),
            b"DUMP" => Reply::Bulk(s.functions.dump().into()),
            b"DELETE" => match s.functions.delete(&argv[2]) {
                Ok(()) => Reply::Ok,
                Err(e) => e,
            },
            b"RESTORE" => match parse_restore_policy(argv.get(3).map(|a| &a[..])) {
                Ok(p) => match s.functions.restore(&argv[2], p) {
                    Ok(()) => Reply::Ok,
                    Err(e) => e,
                },
                Err(e) => e,
            },
            _ => Reply::error("ERR unknown subcommand"),
        },
        b"FCALL" | b"FCALL_RO" => {
            let req = FcallRequest {
                function: &argv[1],
                ro: up(0) == b"FCALL_RO",
                numkeys: &argv[2],
                rest: &argv[3..],
            };
            s.functions
                .fcall(h, req, caller, &server, RunOptions::default())
                .reply
        }
        b"EVAL" | b"EVALSHA" | b"EVAL_RO" | b"EVALSHA_RO" => {
            let name = up(0);
            let req = EvalRequest {
                script: &argv[1],
                evalsha: name.starts_with(b"EVALSHA"),
                ro: name.ends_with(b"_RO"),
                numkeys: &argv[2],
                rest: &argv[3..],
            };
            s.eval
                .eval(h, req, caller, &server, RunOptions::default())
                .reply
        }
        b"SCRIPT" => match &up(1)[..] {
            b"FLUSH" => {
                s.eval.flush();
                Reply::Ok
            }
            b"LOAD" => match s.eval.script_load(&argv[2]) {
                Ok(sha) => Reply::Bulk(sha.into()),
                Err(e) => e,
            },
            b"EXISTS" => Reply::Array(
                argv[2..]
                    .iter()
                    .map(|a| Reply::Int(s.eval.exists(a) as i64))
                    .collect(),
            ),
            b"SHOW" => match s.eval.show(&argv[2]) {
                Ok(b) => Reply::Bulk(b),
                Err(e) => e,
            },
            _ => Reply::error("ERR unknown subcommand"),
        },
        _ => Reply::error("ERR unknown command"),
    }
}

#[test]
fn commands_match_valkey() {
    let mut s = Scripting::default();
    let mut h = common::TestHost::default();
    let mut failures = Vec::new();
    for (args, want) in cases::CASES {
        let argv: Vec<Bytes> = args.iter().map(|a| Bytes::copy_from_slice(a)).collect();
        let got = dispatch(&mut s, &mut h, &argv);
        if argv[0] == "FUNCTION" && argv[1] == "DUMP" {
            // Same libraries, our framing: decode both and compare the codes.
            let theirs = &want[want.iter().position(|&c| c == b'\n').unwrap() + 1..want.len() - 2];
            let Reply::Bulk(ours) = &got else {
                panic!("DUMP reply {got:?}")
            };
            assert_eq!(
                scripting::dump::decode(ours).unwrap(),
                scripting::dump::decode(theirs).unwrap()
            );
            continue;
        }
        let got = got.to_bytes(RespVersion::Resp2);
        if &got[..] != *want {
            failures.push(format!(
                "{:?}\n  want {}\n  got  {}",
                argv,
                String::from_utf8_lossy(want).escape_debug(),
                String::from_utf8_lossy(&got).escape_debug()
            ));
        }
    }
    assert!(h.logs.iter().any(|(_, m)| m == b"loading"));
    // Numbers become command words as Redis prints them.
    let ping = h.calls.iter().rev().find(|c| c[0] == "ping").unwrap();
    assert_eq!(ping[1..], ["1.5", "2", "1e+20"]);
    assert!(
        failures.is_empty(),
        "{} differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
