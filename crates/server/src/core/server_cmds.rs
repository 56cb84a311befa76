//! The server commands (those that need more than the keyspace: connections, configuration,
//! replication, persistence, introspection) mapped to their handlers.

use bytes::Bytes;
use commands::ServerCmd;
use resp::Reply;

use crate::cmd;
use crate::exec::pubsub;
use crate::server::Server;

/// Runs a server command for client `key`: every `ServerCmd` of the command table maps to
/// its handler here, and the match is exhaustive (a row without a handler does not compile).
pub fn run_server(s: &mut Server, key: usize, cmd: ServerCmd, argv: &[Bytes]) -> Reply {
    use ServerCmd::*;
    match cmd {
        Acl => cmd::acl_cmd::acl(s, key, argv),
        Auth => cmd::conn::auth(s, key, argv),
        Hello => cmd::conn::hello(s, key, argv),
        Ping => cmd::conn::ping(s, key, argv),
        Echo => Reply::Bulk(argv[1].clone()),
        Quit => {
            if let Some(c) = s.net.clients.get_mut(key) {
                c.close_after_reply = true;
            }
            Reply::Ok
        }
        Reset => cmd::conn::reset(s, key),
        Select => cmd::conn::select(s, key, argv),
        Multi | Exec | Discard | Watch | Unwatch => {
            super::multi::run(s, key, cmd, argv).unwrap_or(Reply::Ok)
        }
        Subscribe | Psubscribe | Ssubscribe | Unsubscribe | Punsubscribe | Sunsubscribe => {
            subscription(s, key, cmd, argv)
        }
        Publish | Spublish => {
            let n = if cmd == Publish {
                pubsub::publish(&s.exec.pubsub, &mut s.net, &argv[1], &argv[2])
            } else {
                pubsub::spublish(&s.exec.pubsub, &mut s.net, &argv[1], &argv[2])
            };
            // A standalone node propagates both to its replicas, whatever the receivers.
            s.exec.call_rewrite = Some(vec![argv.to_vec()]);
            Reply::Int(n as i64)
        }
        Pubsub => pubsub::pubsub_command(&s.exec.pubsub, argv),
        Client => cmd::client_cmd::client(s, key, argv),
        Config => cmd::config_cmd::config(s, key, argv),
        Info => cmd::info::info(s, argv),
        Command => cmd::introspect::command(s, argv),
        Time => {
            // Inside a script, the time is the script's (frozen for the execution unit).
            let us = match s.exec.scripting.running.as_ref() {
                Some(r) => r.started_unix_us,
                None => crate::util::now_us(),
            };
            Reply::Array(vec![
                Reply::bulk((us / 1_000_000).to_string().as_bytes()),
                Reply::bulk((us % 1_000_000).to_string().as_bytes()),
            ])
        }
        Lastsave => Reply::Int(s.persist.last_save_unix),
        // Cluster mode is not built: Valkey's replies when started without `cluster-enabled`.
        Cluster | Asking => commands::errors::err("ERR This instance has cluster support disabled"),
        Readonly | Readwrite => {
            if let Some(c) = s.net.clients.get_mut(key) {
                c.readonly = cmd == Readonly;
            }
            Reply::Ok
        }
        Monitor => cmd::introspect::monitor(s, key),
        Slowlog => cmd::introspect::slowlog(s, argv),
        Latency => cmd::latency::latency(s, argv),
        Memory => cmd::introspect::memory(s, key, argv),
        Object => cmd::introspect::object(s, key, argv),
        Debug => cmd::debug::debug(s, key, argv),
        Role => crate::repl::role(s),
        Lolwut => cmd::lolwut::lolwut(argv),
        Flushall => cmd::keyspace_cmd::flushall(s, argv),
        Flushdb => cmd::keyspace_cmd::flushdb(s, key, argv),
        Shutdown => cmd::keyspace_cmd::shutdown(s, key, argv),
        Save | Bgsave | Dump | Restore => crate::persist::command(s, key, cmd, argv),
        Migrate => cmd::migrate::migrate(s, key, argv),
        Bgrewriteaof => {
            let in_exec = s.exec.prop.depth() > 1;
            crate::persist::aof::bgrewriteaof_command(s, in_exec)
        }
        Replicaof => crate::repl::replica::replicaof_command(s, key, argv),
        Failover => crate::repl::failover::command(s, argv),
        Sync => crate::repl::primary::sync_command(s, key, argv, false),
        // Also PSYNC <my replid> <offset> FAILOVER: the target side of a coordinated failover
        // becomes a primary, then serves the PSYNC as usual.
        Psync => crate::repl::primary::sync_command(s, key, argv, true),
        Replconf => crate::repl::primary::replconf_command(s, key, argv),
        Wait => crate::repl::primary::wait_command(s, key, argv),
        Waitaof => crate::repl::primary::waitaof_command(s, key, argv),
        Eval | EvalRo | Evalsha | EvalshaRo => super::script::eval(s, key, cmd, argv),
        Fcall | FcallRo => super::script::fcall(s, key, cmd, argv),
        Script => cmd::script_cmd::script(s, argv),
        Function => cmd::script_cmd::function(s, key, argv),
    }
}

/// (P|S)SUBSCRIBE and (P|S)UNSUBSCRIBE. Their confirmations are pushes: they reach the client
/// even under CLIENT REPLY OFF / SKIP, as Valkey's `pushing` replies do.
fn subscription(s: &mut Server, key: usize, cmd: ServerCmd, argv: &[Bytes]) -> Reply {
    use ServerCmd::*;
    let kind = match cmd {
        Subscribe | Unsubscribe => pubsub::Kind::Channel,
        Psubscribe | Punsubscribe => pubsub::Kind::Pattern,
        _ => pubsub::Kind::Shard,
    };
    // Inside EXEC the client is in deny-blocking mode: only SSUBSCRIBE refuses it.
    let nested = s.exec.prop.depth() > 1;
    if cmd == Ssubscribe && nested {
        return commands::errors::err(commands::errors::SSUBSCRIBE_DENY_BLOCKING);
    }
    let Some(c) = s.net.clients.get_mut(key) else {
        return Reply::Raw(Bytes::new());
    };
    let reply = if matches!(cmd, Subscribe | Psubscribe | Ssubscribe) {
        pubsub::subscribe(&mut s.exec.pubsub, c, argv, kind)
    } else {
        pubsub::unsubscribe(&mut s.exec.pubsub, c, argv, kind)
    };
    if nested || c.reply_mode == crate::net::client::ReplyMode::On {
        return reply;
    }
    reply.encode(c.resp, &mut c.out);
    Reply::Raw(Bytes::new())
}
