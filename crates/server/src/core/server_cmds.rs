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
        Subscribe | Psubscribe | Unsubscribe | Punsubscribe => {
            let pattern = matches!(cmd, Psubscribe | Punsubscribe);
            let Some(c) = s.net.clients.get_mut(key) else {
                return Reply::Ok;
            };
            if matches!(cmd, Subscribe | Psubscribe) {
                pubsub::subscribe(&mut s.exec.pubsub, c, argv, pattern)
            } else {
                pubsub::unsubscribe(&mut s.exec.pubsub, c, argv, pattern)
            }
        }
        Publish => {
            let n = pubsub::publish(&s.exec.pubsub, &mut s.net, &argv[1], &argv[2]);
            s.exec.call_rewrite = Some(vec![argv.to_vec()]);
            Reply::Int(n as i64)
        }
        Pubsub => pubsub::pubsub_command(&s.exec.pubsub, argv),
        Client => cmd::client_cmd::client(s, key, argv),
        Config => cmd::config_cmd::config(s, key, argv),
        Info => cmd::info::info(s, argv),
        Command => cmd::introspect::command(s, argv),
        Time => {
            let us = crate::util::now_us();
            Reply::Array(vec![
                Reply::bulk((us / 1_000_000).to_string().as_bytes()),
                Reply::bulk((us % 1_000_000).to_string().as_bytes()),
            ])
        }
        Lastsave => Reply::Int(s.persist.last_save_unix),
        Monitor => cmd::introspect::monitor(s, key),
        Slowlog => cmd::introspect::slowlog(s, argv),
        Latency => cmd::introspect::latency(s, argv),
        Memory => cmd::introspect::memory(s, key, argv),
        Object => cmd::introspect::object(s, key, argv),
        Debug => cmd::introspect::debug(s, key, argv),
        Role => crate::repl::role(s),
        Flushall => cmd::keyspace_cmd::flushall(s, argv),
        Flushdb => cmd::keyspace_cmd::flushdb(s, key, argv),
        Shutdown => cmd::keyspace_cmd::shutdown(s, key, argv),
        Save | Bgsave | Dump | Restore => crate::persist::command(s, key, cmd, argv),
        Replicaof => crate::repl::replica::replicaof_command(s, key, argv),
        Sync => crate::repl::primary::sync_command(s, key, argv, false),
        Psync => {
            // PSYNC <my replid> <offset> FAILOVER: the target side of a coordinated failover
            // becomes a primary, then serves the PSYNC as usual.
            match crate::repl::replica::promote_for_failover(s, key, argv) {
                Ok(()) => crate::repl::primary::sync_command(s, key, argv, true),
                Err(e) => e,
            }
        }
        Replconf => crate::repl::primary::replconf_command(s, key, argv),
        Wait => crate::repl::primary::wait_command(s, key, argv),
    }
}
