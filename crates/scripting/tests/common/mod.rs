//! A tiny host for tests: PING, SET, GET, DEL, HSET/HGETALL on an in-memory map, with Valkey's
//! replies; everything else is an unknown command. Logs and calls are recorded.

#![allow(dead_code)]

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

use bytes::Bytes;
use resp::{Reply, RespVersion};
use scripting::{
    AclCheck, CallOutcome, Caller, EvalRequest, FcallRequest, Host, Interrupt, LogLevel, RunCtx,
    RunOptions, RunOutcome, Scripting, ServerState,
};

#[derive(Default)]
pub struct TestHost {
    pub strings: HashMap<Bytes, Bytes>,
    pub hashes: HashMap<Bytes, BTreeMap<Bytes, Bytes>>,
    pub logs: Vec<(LogLevel, Vec<u8>)>,
    pub calls: Vec<Vec<Bytes>>,
    pub interrupts: usize,
    /// Kill the script at the n-th interrupt check.
    pub kill_at: Option<usize>,
}

impl Host for TestHost {
    fn call(&mut self, run: &mut RunCtx, argv: Vec<Bytes>) -> CallOutcome {
        self.calls.push(argv.clone());
        let name = argv[0].to_ascii_lowercase();
        let arity_ok = |n: usize| argv.len() == n;
        let reply = match &name[..] {
            b"ping" if argv.len() == 1 => Reply::status("PONG"),
            b"ping" if argv.len() == 2 => Reply::Bulk(argv[1].clone()),
            b"ping" => Reply::error("ERR wrong number of arguments for 'ping' command"),
            b"set" if arity_ok(3) => {
                if run.read_only {
                    return CallOutcome::Rejected(Cow::Borrowed(
                        scripting::errors::CALL_WRITE_IN_RO,
                    ));
                }
                run.write_dirty = true;
                self.strings.insert(argv[1].clone(), argv[2].clone());
                Reply::Ok
            }
            b"get" if arity_ok(2) => match self.strings.get(&argv[1]) {
                Some(v) => Reply::Bulk(v.clone()),
                None => Reply::Nil,
            },
            b"hset" if argv.len() >= 4 => {
                let h = self.hashes.entry(argv[1].clone()).or_default();
                let mut n = 0;
                for pair in argv[2..].chunks(2) {
                    if pair.len() == 2 && h.insert(pair[0].clone(), pair[1].clone()).is_none() {
                        n += 1;
                    }
                }
                Reply::Int(n)
            }
            b"hgetall" if arity_ok(2) => {
                let h = self.hashes.get(&argv[1]).cloned().unwrap_or_default();
                Reply::Map(
                    h.into_iter()
                        .map(|(k, v)| (Reply::Bulk(k), Reply::Bulk(v)))
                        .collect(),
                )
            }
            b"incr" if arity_ok(2) => Reply::error("ERR value is not an integer or out of range"),
            b"set" | b"get" | b"hset" | b"hgetall" | b"incr" => {
                return CallOutcome::Rejected(Cow::Borrowed(scripting::errors::CALL_WRONG_ARITY))
            }
            _ => {
                return CallOutcome::Rejected(Cow::Borrowed(
                    scripting::errors::CALL_UNKNOWN_COMMAND,
                ))
            }
        };
        let _ = RespVersion::Resp2;
        CallOutcome::Reply(reply)
    }

    fn acl_check_cmd(&mut self, _run: &RunCtx, argv: &[Bytes]) -> AclCheck {
        match &argv[0].to_ascii_lowercase()[..] {
            b"ping" | b"get" => AclCheck::Allowed,
            b"set" => AclCheck::Denied,
            _ => AclCheck::UnknownCommand,
        }
    }

    fn log(&mut self, level: LogLevel, msg: &[u8]) {
        self.logs.push((level, msg.to_vec()));
    }

    fn interrupt(&mut self, run: &mut RunCtx) -> Interrupt {
        self.interrupts += 1;
        if self.kill_at.is_some_and(|n| self.interrupts >= n) {
            run.killed = true;
        }
        if run.killed {
            Interrupt::Kill
        } else {
            Interrupt::Continue
        }
    }
}

pub fn caller(resp: RespVersion) -> Caller {
    Caller {
        resp,
        ..Caller::default()
    }
}

/// `EVAL script numkeys rest...` as a client with protocol `resp`.
pub fn eval(
    s: &mut Scripting,
    h: &mut TestHost,
    script: &[u8],
    rest: &[&str],
    numkeys: usize,
    resp: RespVersion,
) -> RunOutcome {
    let rest: Vec<Bytes> = rest
        .iter()
        .map(|a| Bytes::copy_from_slice(a.as_bytes()))
        .collect();
    let nk = numkeys.to_string();
    let req = EvalRequest {
        script,
        evalsha: false,
        ro: false,
        numkeys: nk.as_bytes(),
        rest: &rest,
    };
    s.eval.eval(
        h,
        req,
        caller(resp),
        &ServerState::default(),
        RunOptions::default(),
    )
}

/// `FCALL name numkeys rest...`.
pub fn fcall(
    s: &mut Scripting,
    h: &mut TestHost,
    name: &str,
    rest: &[&str],
    numkeys: usize,
    resp: RespVersion,
) -> RunOutcome {
    let rest: Vec<Bytes> = rest
        .iter()
        .map(|a| Bytes::copy_from_slice(a.as_bytes()))
        .collect();
    let nk = numkeys.to_string();
    let req = FcallRequest {
        function: name.as_bytes(),
        ro: false,
        numkeys: nk.as_bytes(),
        rest: &rest,
    };
    s.functions.fcall(
        h,
        req,
        caller(resp),
        &ServerState::default(),
        RunOptions::default(),
    )
}

/// The reply's bytes for a client speaking `resp`.
pub fn wire(r: &Reply, resp: RespVersion) -> String {
    String::from_utf8_lossy(&r.to_bytes(resp)).into_owned()
}
