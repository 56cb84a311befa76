//! In-process command execution for tests: a keyspace, settings, and `run(&["SET","k","v"])`
//! going through the same table lookup, arity check and handler the server uses (no sockets).

use bytes::Bytes;
use keyspace::Keyspace;
use resp::{Reply, RespVersion};

use crate::ctx::{BlockRequest, Ctx, Settings};
use crate::errors;
use crate::spec::Handler;

/// What one call produced besides its reply.
#[derive(Debug, Default)]
pub struct Effects {
    pub dirty: u64,
    /// Commands that would be propagated (the original argv when not rewritten).
    pub propagated: Vec<Vec<Bytes>>,
    pub block: Option<BlockRequest>,
    /// Keyspace events raised, `expired` included (only classes enabled in
    /// `settings.notify_classes`).
    pub notifications: Vec<crate::notify::KeyEvent>,
}

pub struct Harness {
    pub ks: Keyspace,
    pub settings: Settings,
    pub db: usize,
    pub resp: RespVersion,
    pub may_block: bool,
    /// The next calls are re-runs for a parked client (`Ctx::unblocking`), as the server
    /// makes when a key a blocked client waits on changes.
    pub unblocking: bool,
    pub last: Effects,
}

impl Default for Harness {
    fn default() -> Self {
        Self::new()
    }
}

impl Harness {
    pub fn new() -> Harness {
        let mut ks = Keyspace::new(16);
        ks.now_ms = 1_700_000_000_000;
        Harness {
            ks,
            settings: Settings::default(),
            db: 0,
            resp: RespVersion::Resp2,
            may_block: true,
            unblocking: false,
            last: Effects::default(),
        }
    }

    /// Runs a command given as strings.
    pub fn run(&mut self, args: &[&str]) -> Reply {
        let argv: Vec<Bytes> = args
            .iter()
            .map(|a| Bytes::copy_from_slice(a.as_bytes()))
            .collect();
        self.run_argv(&argv)
    }

    pub fn run_argv(&mut self, argv: &[Bytes]) -> Reply {
        self.last = Effects::default();
        let spec = match crate::call::resolve(argv) {
            Ok(spec) => spec,
            Err(e) => return e,
        };
        if !spec.arity_ok(argv.len()) {
            return errors::wrong_arity(spec.name);
        }
        let Handler::Data(handler) = spec.handler else {
            panic!("{} is a server command", spec.name)
        };
        let mut ctx = Ctx::new(&mut self.ks, self.db, &self.settings);
        ctx.resp = self.resp;
        ctx.may_block = self.may_block;
        ctx.unblocking = self.unblocking;
        let (reply, outcome) = crate::call::run(handler, &mut ctx, argv);
        self.last = Effects {
            dirty: outcome.dirty,
            propagated: if outcome.verbatim {
                vec![argv.to_vec()]
            } else {
                outcome.propagate
            },
            block: outcome.block,
            notifications: outcome.notifications,
        };
        let _ = self.ks.take_events();
        reply
    }

    /// The encoded RESP2/RESP3 text of a command's reply (handy for exact assertions).
    pub fn wire(&mut self, args: &[&str]) -> String {
        let r = self.run(args);
        String::from_utf8_lossy(&r.to_bytes(self.resp)).into_owned()
    }

    /// Advances the clock seen by commands.
    pub fn advance_ms(&mut self, ms: i64) {
        self.ks.now_ms += ms;
    }

    /// What the last call propagated, as strings.
    pub fn propagated(&self) -> Vec<Vec<String>> {
        self.last
            .propagated
            .iter()
            .map(|c| {
                c.iter()
                    .map(|a| String::from_utf8_lossy(a).into_owned())
                    .collect()
            })
            .collect()
    }
}

/// Shorthand for expected replies in tests.
pub fn bulk(s: &str) -> Reply {
    Reply::bulk(s.as_bytes())
}
