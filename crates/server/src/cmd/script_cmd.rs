//! SCRIPT and FUNCTION: the script cache and the function libraries (the `scripting` engine in
//! `exec::scripts`), and killing the script that runs now. Running scripts (EVAL, FCALL) is
//! the execution core's part (`core::script`); none of these commands runs one.
//!
//! Propagation: FUNCTION LOAD, DELETE, FLUSH and RESTORE change the data set and propagate as
//! received; SCRIPT LOAD and FLUSH only touch this node's cache and propagate nothing (Redis 7
//! replicates scripts' effects, never scripts).

use bytes::Bytes;
use commands::errors;
use resp::Reply;
use scripting::{kill_check, RunKind};

use super::{arg_lower, help_reply};
use crate::exec::scripts::SERVER_NAME;
use crate::server::Server;

/// The engine is lent to a running script: only SCRIPT KILL, FUNCTION KILL and FUNCTION
/// STATS may run then (the others are answered `-BUSY` before they get here).
fn busy(s: &Server) -> Reply {
    s.exec.scripting.busy_error()
}

/// `[ASYNC|SYNC]` of SCRIPT FLUSH / FUNCTION FLUSH: both free at once (a Lua state is not
/// sent to another thread), so only the syntax matters.
fn flush_mode_ok(argv: &[Bytes]) -> bool {
    argv.len() == 2 || matches!(arg_lower(argv, 2).as_str(), "sync" | "async")
}

/// SCRIPT KILL (`by_script_kill`) / FUNCTION KILL (Valkey's `scriptKill`).
fn kill(s: &mut Server, by_script_kill: bool) -> Reply {
    let Some(r) = s.exec.scripting.running.as_mut() else {
        return Reply::error(scripting::errors::NOTBUSY);
    };
    match kill_check(r.kind, r.obey, r.write_dirty, by_script_kill, SERVER_NAME) {
        Ok(()) => {
            r.kill = true;
            Reply::Ok
        }
        Err(e) => e,
    }
}

/// SCRIPT EXISTS / FLUSH / HELP / KILL / LOAD / SHOW.
pub fn script(s: &mut Server, argv: &[Bytes]) -> Reply {
    let sub = arg_lower(argv, 1);
    if sub == "kill" && argv.len() == 2 {
        return kill(s, true);
    }
    if sub == "help" && argv.len() == 2 {
        return help_reply("SCRIPT", SCRIPT_HELP);
    }
    if sub == "flush" && !flush_mode_ok(argv) {
        return Reply::error(scripting::errors::SCRIPT_FLUSH_OPTION);
    }
    let Some(engine) = s.exec.scripting.engine_mut() else {
        return busy(s);
    };
    match (sub.as_str(), argv.len()) {
        ("flush", _) => {
            engine.eval.flush();
            Reply::Ok
        }
        ("exists", _) => Reply::Array(
            argv[2..]
                .iter()
                .map(|sha| Reply::Int(engine.eval.exists(sha) as i64))
                .collect(),
        ),
        ("load", 3) => match engine.eval.script_load(&argv[2]) {
            Ok(sha) => Reply::bulk(sha.as_bytes()),
            Err(e) => e,
        },
        ("show", 3) => match engine.eval.show(&argv[2]) {
            Ok(body) => Reply::Bulk(body),
            Err(e) => e,
        },
        _ => errors::subcommand_syntax(&argv[0], &argv[1]),
    }
}

const SCRIPT_HELP: &[&str] = &[
    "EXISTS <sha1> [<sha1> ...]",
    "    Return information about the existence of the scripts in the script cache.",
    "FLUSH [ASYNC|SYNC]",
    "    Flush the Lua scripts cache. Very dangerous on replicas.",
    "    When called without the optional mode argument, the behavior is determined",
    "     by the lazyfree-lazy-user-flush configuration directive. Valid modes are:",
    "    * ASYNC: Asynchronously flush the scripts cache.",
    "    * SYNC: Synchronously flush the scripts cache.",
    "KILL",
    "    Kill the currently executing Lua script.",
    "LOAD <script>",
    "    Load a script into the scripts cache without executing it.",
    "SHOW <sha1>",
    "    Show a script from the scripts cache.",
];

/// FUNCTION DELETE / DUMP / FLUSH / HELP / KILL / LIST / LOAD / RESTORE / STATS.
pub fn function(s: &mut Server, key: usize, argv: &[Bytes]) -> Reply {
    let sub = arg_lower(argv, 1);
    match sub.as_str() {
        "kill" => return kill(s, false),
        "stats" => return stats(s),
        "help" => return help_reply("FUNCTION", FUNCTION_HELP),
        _ => {}
    }
    let from_primary = s.net.clients.get(key).is_some_and(|c| c.is_primary_link());
    let Some(engine) = s.exec.scripting.engine_mut() else {
        return busy(s);
    };
    let functions = &mut engine.functions;
    let reply = match sub.as_str() {
        "load" => {
            let (replace, code) = match scripting::parse_load_args(&argv[2..]) {
                Ok(a) => a,
                Err(e) => return e,
            };
            // Our primary's loads are obeyed whatever they take (Valkey's `mustObeyClient`).
            let timeout = (!from_primary).then_some(scripting::LOAD_TIMEOUT);
            let mut log = |level: scripting::LogLevel, msg: &[u8]| {
                let level = crate::exec::scripts::log_level(level);
                crate::log::write(level, &String::from_utf8_lossy(msg));
            };
            match functions.load(code, replace, timeout, &mut log) {
                Ok(name) => Reply::Bulk(name),
                Err(e) => return e,
            }
        }
        "delete" => match functions.delete(&argv[2]) {
            Ok(()) => Reply::Ok,
            Err(e) => return e,
        },
        "flush" => {
            if argv.len() > 3 {
                return errors::subcommand_syntax(&argv[0], &argv[1]);
            }
            if !flush_mode_ok(argv) {
                return Reply::error(scripting::errors::FUNCTION_FLUSH_OPTION);
            }
            functions.flush();
            Reply::Ok
        }
        "list" => return functions.list(&argv[2..]),
        "dump" => return Reply::Bulk(Bytes::from(functions.dump())),
        "restore" => {
            if argv.len() > 4 {
                return errors::subcommand_syntax(&argv[0], &argv[1]);
            }
            let policy = match scripting::parse_restore_policy(argv.get(3).map(|a| &a[..])) {
                Ok(p) => p,
                Err(e) => return e,
            };
            match functions.restore(&argv[2], policy) {
                Ok(()) => Reply::Ok,
                Err(e) => return e,
            }
        }
        _ => return errors::subcommand_syntax(&argv[0], &argv[1]),
    };
    // LOAD, DELETE, FLUSH and RESTORE changed the data set: propagated as received.
    s.exec.call_dirty += 1;
    reply
}

/// FUNCTION STATS: the running function (an EVAL script is answered `-BUSY`) and the engine's
/// counts.
fn stats(s: &Server) -> Reply {
    let running = match s.exec.scripting.running.as_ref() {
        Some(r) if r.kind == RunKind::Eval => {
            return Reply::error(scripting::errors::busy_eval(SERVER_NAME))
        }
        Some(r) => Reply::Map(vec![
            (Reply::bulk(b"name"), Reply::Bulk(r.name.clone())),
            (
                Reply::bulk(b"command"),
                Reply::Array(r.command.iter().cloned().map(Reply::Bulk).collect()),
            ),
            (
                Reply::bulk(b"duration_ms"),
                Reply::Int(r.started.elapsed().as_millis() as i64),
            ),
        ]),
        None => Reply::Nil,
    };
    let c = s.exec.scripting.counters();
    let lua = Reply::Map(vec![
        (
            Reply::bulk(b"libraries_count"),
            Reply::Int(c.libraries as i64),
        ),
        (
            Reply::bulk(b"functions_count"),
            Reply::Int(c.functions as i64),
        ),
    ]);
    Reply::Map(vec![
        (Reply::bulk(b"running_script"), running),
        (
            Reply::bulk(b"engines"),
            Reply::Map(vec![(Reply::bulk(scripting::ENGINE.as_bytes()), lua)]),
        ),
    ])
}

const FUNCTION_HELP: &[&str] = &[
    "LOAD [REPLACE] <FUNCTION CODE>",
    "    Create a new library with the given library name and code.",
    "DELETE <LIBRARY NAME>",
    "    Delete the given library.",
    "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
    "    Return general information on all the libraries:",
    "    * Library name",
    "    * The engine used to run the Library",
    "    * Functions list",
    "    * Library code (if WITHCODE is given)",
    "    It also possible to get only function that matches a pattern using LIBRARYNAME argument.",
    "STATS",
    "    Return information about the current function running:",
    "    * Function name",
    "    * Command used to run the function",
    "    * Duration in MS that the function is running",
    "    If no function is running, return nil",
    "    In addition, returns a list of available engines.",
    "KILL",
    "    Kill the current running function.",
    "FLUSH [ASYNC|SYNC]",
    "    Delete all the libraries.",
    "    When called without the optional mode argument, the behavior is determined by the",
    "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
    "    * ASYNC: Asynchronously flush the libraries.",
    "    * SYNC: Synchronously flush the libraries.",
    "DUMP",
    "    Return a serialized payload representing the current libraries, can be restored using FUNCTION RESTORE command",
    "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
    "    Restore the libraries represented by the given payload, it is possible to give a restore policy to",
    "    control how to handle existing libraries (default APPEND):",
    "    * FLUSH: delete all existing libraries.",
    "    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.",
    "    * REPLACE: appends the restored libraries to the existing libraries, On collision, replace the old",
    "      libraries with the new libraries (notice that even on this option there is a chance of failure",
    "      in case of functions name collision with another library).",
];
