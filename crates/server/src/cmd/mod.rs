//! Commands implemented by the server itself (they need clients, configuration, replication
//! or persistence state). Data commands live in the `commands` crate.

pub mod client_cmd;
pub mod config_cmd;
pub mod conn;
pub mod info;
pub mod introspect;
pub mod keyspace_cmd;
pub mod multi;

use bytes::Bytes;
use commands::{errors, CommandSpec, ServerCmd};
use resp::Reply;

use crate::server::Server;

/// Runs a server command for client `key`.
pub fn run(
    s: &mut Server,
    key: usize,
    cmd: ServerCmd,
    spec: &'static CommandSpec,
    argv: &[Bytes],
) -> Reply {
    use ServerCmd::*;
    match cmd {
        Auth => conn::auth(s, key, argv),
        Hello => conn::hello(s, key, argv),
        Ping => conn::ping(s, key, argv),
        Echo => Reply::Bulk(argv[1].clone()),
        Quit => {
            s.net.clients[key].close_after_reply = true;
            Reply::Ok
        }
        Reset => conn::reset(s, key),
        Select => conn::select(s, key, argv),
        Multi => multi::multi(s, key),
        Exec => multi::exec(s, key),
        Discard => multi::discard(s, key),
        Watch => multi::watch(s, key, argv),
        Unwatch => multi::unwatch(s, key),
        Subscribe => crate::pubsub::subscribe(s, key, argv, false),
        Psubscribe => crate::pubsub::subscribe(s, key, argv, true),
        Unsubscribe => crate::pubsub::unsubscribe(s, key, argv, false),
        Punsubscribe => crate::pubsub::unsubscribe(s, key, argv, true),
        Publish => {
            let n = crate::pubsub::publish(s, &argv[1], &argv[2]);
            s.exec.call_rewrite = Some(vec![argv.to_vec()]);
            Reply::Int(n as i64)
        }
        Pubsub => crate::pubsub::pubsub_command(s, argv),
        Client => client_cmd::client(s, key, argv),
        Config => config_cmd::config(s, key, argv),
        Info => info::info(s, argv),
        Command => introspect::command(s, argv),
        Time => {
            let us = crate::server::now_us();
            Reply::Array(vec![
                Reply::bulk((us / 1_000_000).to_string().as_bytes()),
                Reply::bulk((us % 1_000_000).to_string().as_bytes()),
            ])
        }
        Lastsave => Reply::Int(s.persist.last_save_unix),
        Monitor => introspect::monitor(s, key),
        Slowlog => introspect::slowlog(s, argv),
        Latency => introspect::latency(s, argv),
        Memory => introspect::memory(s, key, argv),
        Object => introspect::object(s, key, argv),
        Debug => introspect::debug(s, key, argv),
        Role => crate::repl::role(s),
        Flushall => keyspace_cmd::flushall(s, argv),
        Flushdb => keyspace_cmd::flushdb(s, key, argv),
        Shutdown => keyspace_cmd::shutdown(s, key, argv),
        Save | Bgsave | Dump | Restore => crate::persist::command(s, key, cmd, argv),
        Replicaof | Sync | Psync | Replconf | Wait | Failover => {
            crate::repl::dispatch_or_unknown(s, key, cmd, spec, argv)
        }
    }
}

/// Redis's `addReplyHelp` layout.
pub fn help_reply(cmd: &str, lines: &[&str]) -> Reply {
    let mut out = vec![Reply::status(format!(
        "{cmd} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
    ))];
    out.extend(lines.iter().map(|l| Reply::status(l.to_string())));
    out.push(Reply::status("HELP"));
    out.push(Reply::status("    Print this help."));
    Reply::Array(out)
}

/// Lower-case text of argument `i`.
pub fn arg_lower(argv: &[Bytes], i: usize) -> String {
    argv.get(i)
        .map(|a| String::from_utf8_lossy(a).to_ascii_lowercase())
        .unwrap_or_default()
}

/// "ERR syntax error".
pub fn syntax() -> Reply {
    errors::err(errors::SYNTAX)
}
