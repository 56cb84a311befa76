//! One data-command call, defined once for every caller (the server's execution core, the
//! in-process test harness): resolving a request to its table row, running the handler, and
//! reading what the call did — its reply, how much it changed, what it propagates, whether
//! the client blocks, and the keyspace events it raised.

use bytes::Bytes;
use resp::Reply;

use crate::ctx::{BlockRequest, Ctx};
use crate::notify::KeyEvent;
use crate::spec::{CommandSpec, DataFn, Handler};
use crate::{errors, table};

/// Resolves `argv` to a command row, descending into containers (`CONFIG GET` → the `get`
/// row), or the error to reply. A container implemented by the server resolves to itself for
/// unknown subcommands, so the server can answer them.
pub fn resolve(argv: &[Bytes]) -> Result<&'static CommandSpec, Reply> {
    let Some(name) = argv.first() else {
        return Err(errors::unknown_command(argv));
    };
    let Some(spec) = table::lookup(name) else {
        return Err(errors::unknown_command(argv));
    };
    let Some(sub) = argv.get(1).filter(|_| !spec.subcommands.is_empty()) else {
        return Ok(spec);
    };
    match table::lookup_sub(spec, sub) {
        Some(row) => Ok(row),
        None if matches!(spec.handler, Handler::Server(_)) => Ok(spec),
        None => Err(errors::unknown_subcommand(spec.name, sub)),
    }
}

/// What one call did besides its reply.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Changes made (Redis's `server.dirty` delta).
    pub dirty: u64,
    /// The command as received propagates (it changed something and the handler did not
    /// rewrite it). The caller, who owns the arguments, moves them to the stream: no copy.
    pub verbatim: bool,
    /// Commands to propagate instead, in order, when the handler rewrote the command
    /// (`SET ... EX` → `SET ... PXAT`, `SPOP` → `SREM`, or nothing).
    pub propagate: Vec<Vec<Bytes>>,
    /// The client must wait for one of these keys.
    pub block: Option<BlockRequest>,
    /// Keyspace events raised, in order.
    pub notifications: Vec<KeyEvent>,
    /// The reply was cut at the client's output limit ([`Ctx::reply_cut`]).
    pub reply_cut: bool,
}

/// Runs a data handler with `ctx` and collects its outcome (the propagation rule lives here).
pub fn run(handler: DataFn, ctx: &mut Ctx, argv: &[Bytes]) -> (Reply, Outcome) {
    let reply = handler(ctx, argv);
    if types::list::take_read_copies() {
        // The command read compressed list nodes: drop the copies (any argument may be a key).
        for key in argv.iter().skip(1) {
            ctx.ks.release_read_copies(ctx.db, key);
        }
    }
    let (verbatim, propagate) = match ctx.rewrite.take() {
        Some(cmds) => (false, cmds.into_iter().filter(|c| !c.is_empty()).collect()),
        None => (ctx.dirty > 0, Vec::new()),
    };
    let outcome = Outcome {
        dirty: ctx.dirty,
        verbatim,
        propagate,
        block: ctx.block.take(),
        notifications: ctx.take_notifications(),
        reply_cut: ctx.reply_cut,
    };
    (reply, outcome)
}
