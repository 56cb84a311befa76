//! Replication I/O layer (being built: see the replication issue). Until then this node is a
//! primary without replicas, and replication commands reply as unknown commands.

use bytes::Bytes;

use crate::client::Client;
use crate::server::Server;

pub enum ReplBgEvent {}

pub struct Repl {
    offset: i64,
}

impl Repl {
    pub fn new() -> Repl {
        Repl { offset: 0 }
    }

    pub fn is_replica(&self) -> bool {
        false
    }

    pub fn link_up(&self) -> bool {
        true
    }

    pub fn offset(&self) -> i64 {
        self.offset
    }

    pub fn is_replica_applying(&self, _key: usize) -> bool {
        false
    }

    pub fn on_client_freed(&mut self, _c: &Client) {}
}

impl Default for Repl {
    fn default() -> Self {
        Self::new()
    }
}

/// Appends a command to the replication stream (no-op without replicas or backlog).
pub fn feed(_s: &mut Server, _db: usize, _cmd: &[Bytes]) {}

pub fn min_replicas_unmet(_s: &Server) -> bool {
    false
}

pub fn replicas_acked(_s: &Server, _offset: i64) -> usize {
    0
}

pub fn before_sleep(_s: &mut Server) {}
pub fn cron(_s: &mut Server, _now: i64) {}
pub fn on_background(_s: &mut Server, e: ReplBgEvent) {
    match e {}
}
pub fn on_primary_input(_s: &mut Server, _key: usize, _n: usize) {}
pub fn primary_link_ready(_s: &mut Server, _key: usize) -> bool {
    true
}
pub fn apply_from_primary(_s: &mut Server, _key: usize, _argv: Vec<Bytes>, _consumed: usize) {}
pub fn on_empty_line(_s: &mut Server, _key: usize, _consumed: usize) {}
pub fn on_primary_protocol_error(_s: &mut Server, _key: usize) {}

impl Repl {
    pub fn reset_stats(&mut self) {}

    pub fn backlog_memory(&self) -> usize {
        0
    }

    pub fn local_buffer_memory(&self) -> usize {
        0
    }

    /// (sync_full, sync_partial_ok, sync_partial_err)
    pub fn sync_stats(&self) -> (u64, u64, u64) {
        (0, 0, 0)
    }
}

/// ROLE for a primary without replicas.
pub fn role(s: &mut Server) -> resp::Reply {
    use resp::Reply;
    Reply::Array(vec![
        Reply::bulk(b"master"),
        Reply::Int(s.repl.offset()),
        Reply::Array(vec![]),
    ])
}

/// Replication and persistence commands not built yet reply like unknown commands.
pub fn dispatch_or_unknown(
    _s: &mut Server,
    _key: usize,
    _cmd: commands::ServerCmd,
    _spec: &'static commands::CommandSpec,
    argv: &[Bytes],
) -> resp::Reply {
    commands::errors::unknown_command(argv)
}

/// DEBUG subcommands owned by replication (none yet).
pub fn debug_or_unknown(_s: &mut Server, _key: usize, argv: &[Bytes]) -> resp::Reply {
    commands::errors::unknown_subcommand("debug", &argv[1])
}

/// INFO replication for a primary without replicas.
pub fn info_fields(s: &Server, out: &mut String) {
    use std::fmt::Write;
    let _ = write!(
        out,
        "role:master\r\nconnected_slaves:0\r\nmaster_failover_state:no-failover\r\nmaster_replid:{}\r\nmaster_replid2:0000000000000000000000000000000000000000\r\nmaster_repl_offset:{}\r\nsecond_repl_offset:-1\r\nrepl_backlog_active:0\r\nrepl_backlog_size:{}\r\nrepl_backlog_first_byte_offset:0\r\nrepl_backlog_histlen:0\r\n",
        s.run_id,
        s.repl.offset(),
        s.cfg.get_int("repl-backlog-size")
    );
}

pub fn on_config_changed(_s: &mut Server, _names: &[&str]) {}

/// Replication position to record in an RDB saved now.
pub fn rdb_repl_info(_s: &Server) -> Option<persistence::ReplInfo> {
    None
}

/// An RDB loaded at start-up carried this replication position.
pub fn on_rdb_loaded(_s: &mut Server, _info: Option<persistence::ReplInfo>) {}

/// True while a replica loads a new dataset aside and keeps serving the old one.
pub fn async_loading(_s: &Server) -> bool {
    false
}
