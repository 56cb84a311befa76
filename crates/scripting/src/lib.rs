//! The scripting engine of Redis 7 / Valkey 8: sandboxed Lua 5.1, EVAL and FUNCTION.
//!
//! **Lives here:** the Lua interpreter as Redis embeds it (a vendored Lua 5.1.5 with Redis's
//! patches, see `lua/PATCHES.md`); the sandbox (allowed globals, read-only tables, Valkey's
//! error texts); the libraries Redis adds (`cjson`, `cmsgpack`, `bit`, `struct`, the
//! deterministic `math.random`), written in Rust; the `server`/`redis` API; the conversions
//! between Lua values and [`resp::Reply`]; EVAL's script cache and shebang flags; FUNCTION's
//! libraries, FCALL, DUMP/RESTORE payloads; the pure pre-run and per-call checks with their
//! texts ([`checks`], [`errors`]).
//!
//! **Must not live here:** sockets, clients, the keyspace, command execution, propagation,
//! replication or persistence I/O. Commands a script calls go to the server through the
//! [`Host`] trait; the server owns what they do and what gets propagated.
//!
//! # Why a vendored Lua instead of mlua
//! Valkey's Lua is not stock 5.1: tables can be read-only (assignment, `rawset`,
//! `setmetatable` and `table.insert` raise "Attempt to modify a readonly table"), strings are
//! hashed over all their bytes (which decides `pairs` order, visible in `cjson.encode` and map
//! replies), bytecode cannot be loaded, `os` has only `clock`. No binding can add a VM-level
//! flag, so `build.rs` compiles Lua 5.1.5 with these patches, and [`ffi`] declares the C API.
//! Errors must be Lua *tables* raised with `lua_error` (`{err=...}`), which mlua's callback
//! model does not offer; the small [`lua`] layer states the rules that keep `longjmp` from
//! crossing Rust frames that own anything.
//!
//! # How the server uses it
//! One [`Scripting`] per server (two Lua states: EVAL's and FUNCTION's, sharing the random
//! generator). Entry points, each one command:
//! - EVAL/EVALSHA/EVAL_RO/EVALSHA_RO → [`EvalEngine::eval`]; SCRIPT LOAD/EXISTS/SHOW/FLUSH →
//!   [`EvalEngine::script_load`], [`EvalEngine::exists`], [`EvalEngine::show`],
//!   [`EvalEngine::flush`]; SCRIPT KILL / FUNCTION KILL → [`RunCtx::kill`] from inside
//!   [`Host::interrupt`].
//! - FCALL/FCALL_RO → [`Functions::fcall`]; FUNCTION LOAD/DELETE/FLUSH/LIST/DUMP/RESTORE →
//!   [`Functions::load`], [`Functions::delete`], [`Functions::flush`], [`Functions::list`],
//!   [`Functions::dump`], [`Functions::restore`]; FUNCTION STATS from [`Functions::stats`]
//!   and the running [`RunCtx`]; RDB FUNCTION2 records ↔ [`Functions::load_from_rdb`] /
//!   [`Functions::codes`].
//! - The dispatcher's flags for these commands: [`EvalEngine::flags_for`],
//!   [`Functions::function`] and [`flags::command_flags`].

pub mod api;
pub mod checks;
mod convert;
pub mod dump;
pub mod errors;
mod eval;
pub mod ffi;
pub mod flags;
mod functions;
mod host;
pub mod libs;
mod lua;
mod run;

pub use api::Versions;
pub use convert::Converted;
pub use eval::{sha1_hex, EvalEngine, EvalRequest, Script, LRU_LIST_LENGTH};
pub use flags::{CommandFlags, ScriptFlags};
pub use functions::{
    parse_load_args, parse_metadata, parse_restore_policy, valid_name, FcallRequest, Function,
    Functions, Library, Metadata, RestorePolicy, Stats, ENGINE, LOAD_TIMEOUT,
};
pub use host::{
    kill_check, AclCheck, CallOutcome, Caller, DiskError, Host, Interrupt, LogLevel, ReplFlags,
    RunCtx, RunKind, ServerState,
};
pub use run::{RunOptions, RunOutcome};

use std::cell::Cell;
use std::rc::Rc;

use resp::Reply;

/// Both engines of a server.
pub struct Scripting {
    pub eval: EvalEngine,
    pub functions: Functions,
    rand: libs::rand::SharedRand,
    versions: Versions,
}

impl Scripting {
    pub fn new(versions: Versions) -> Scripting {
        let rand = Rc::new(Cell::new(libs::rand::Rand48::default()));
        Scripting {
            eval: EvalEngine::new(rand.clone(), versions.clone()),
            functions: Functions::new(rand.clone(), versions.clone()),
            rand,
            versions,
        }
    }

    /// A new library set built from library codes (an RDB's FUNCTION2 records), in a fresh
    /// Lua state, without touching the current one: the caller installs it with
    /// [`Scripting::install_functions`] only when the rest of its load succeeded too. With
    /// `keep_current` the current libraries are loaded first (DEBUG RELOAD NOFLUSH) and
    /// `replace` lets a loaded library replace one of them (MERGE); otherwise a library
    /// loaded twice fails the whole set, as Valkey's `rdbFunctionLoad` does.
    pub fn stage_functions(
        &self,
        codes: &[Vec<u8>],
        keep_current: bool,
        replace: bool,
    ) -> Result<Functions, Reply> {
        let mut staged = Functions::new(self.rand.clone(), self.versions.clone());
        if keep_current {
            for code in self.functions.codes() {
                staged.load_from_rdb(code, false)?;
            }
        }
        for code in codes {
            staged.load_from_rdb(code, replace)?;
        }
        Ok(staged)
    }

    /// Replaces the library set (the old one, with its Lua state, is dropped).
    pub fn install_functions(&mut self, staged: Functions) {
        self.functions = staged;
    }
}

impl Default for Scripting {
    fn default() -> Self {
        Scripting::new(Versions::default())
    }
}
