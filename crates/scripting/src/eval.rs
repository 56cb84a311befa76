//! EVAL / EVALSHA and the SCRIPT command's state: the Lua state scripts run in, and the
//! script cache (SHA1 → body), with Valkey 8's eviction of EVAL-created scripts (500, oldest
//! first; SCRIPT LOAD-ed scripts are never evicted).
//!
//! A script body becomes the Lua function `f_<sha1>`, stored in the registry (not the
//! globals); the shebang line is skipped but its newline kept, so line numbers match the body.

use std::collections::{BTreeMap, HashMap};
use std::ffi::c_char;

use bytes::Bytes;
use resp::Reply;

use crate::api::{self, Versions};
use crate::checks::prepare_run;
use crate::errors;
use crate::ffi::*;
use crate::flags::{parse_eval_shebang, ScriptFlags};
use crate::host::{Caller, Host, RunKind, ServerState};
use crate::libs::rand::SharedRand;
use crate::lua::{cstr, State};
use crate::run::{call_function, RunOptions, RunOutcome};

/// Scripts created by EVAL beyond this many evict the least recently used one.
pub const LRU_LIST_LENGTH: usize = 500;

/// One cached script.
#[derive(Debug, Clone)]
pub struct Script {
    pub body: Bytes,
    pub flags: ScriptFlags,
    /// Position in the eviction order (EVAL-created scripts only).
    lru: Option<u64>,
}

/// The EVAL engine: one Lua state and the script cache.
pub struct EvalEngine {
    state: State,
    rand: SharedRand,
    versions: Versions,
    scripts: HashMap<[u8; 40], Script>,
    lru: BTreeMap<u64, [u8; 40]>,
    lru_seq: u64,
    body_bytes: usize,
    evicted: u64,
}

/// An EVAL / EVALSHA / EVAL_RO / EVALSHA_RO call.
#[derive(Clone, Copy, Debug)]
pub struct EvalRequest<'a> {
    /// The body (EVAL) or the SHA1 (EVALSHA).
    pub script: &'a [u8],
    pub evalsha: bool,
    /// The `_RO` variants.
    pub ro: bool,
    /// The numkeys argument.
    pub numkeys: &'a [u8],
    /// Everything after numkeys: keys then arguments.
    pub rest: &'a [Bytes],
}

/// SHA1 of `data` in lower-case hex.
pub fn sha1_hex(data: &[u8]) -> String {
    use sha1::{Digest, Sha1};
    let d = Sha1::digest(data);
    let mut s = String::with_capacity(40);
    for b in d.iter() {
        s.push(char::from_digit((b >> 4) as u32, 16).unwrap_or('0'));
        s.push(char::from_digit((b & 15) as u32, 16).unwrap_or('0'));
    }
    s
}

fn sha_key(sha: &[u8]) -> Option<[u8; 40]> {
    let mut k = [0u8; 40];
    if sha.len() != 40 {
        return None;
    }
    for (d, s) in k.iter_mut().zip(sha) {
        *d = s.to_ascii_lowercase();
    }
    Some(k)
}

fn func_name(key: &[u8; 40]) -> Vec<u8> {
    let mut n = b"f_".to_vec();
    n.extend_from_slice(key);
    n.push(0);
    n
}

/// Parses numkeys as Redis does (`string2ll`) and splits keys from arguments.
pub(crate) fn split_keys<'a>(
    numkeys: &[u8],
    rest: &'a [Bytes],
    not_integer: &'static str,
) -> Result<(&'a [Bytes], &'a [Bytes]), Reply> {
    let Some(n) = rdb::parse_canonical_i64(numkeys) else {
        return Err(Reply::error(not_integer));
    };
    if n > rest.len() as i64 {
        return Err(Reply::error(errors::NUMKEYS_TOO_BIG));
    }
    if n < 0 {
        return Err(Reply::error(errors::NUMKEYS_NEGATIVE));
    }
    Ok(rest.split_at(n as usize))
}

impl EvalEngine {
    pub fn new(rand: SharedRand, versions: Versions) -> EvalEngine {
        let state = new_state(rand.clone(), &versions);
        EvalEngine {
            state,
            rand,
            versions,
            scripts: HashMap::new(),
            lru: BTreeMap::new(),
            lru_seq: 0,
            body_bytes: 0,
            evicted: 0,
        }
    }

    /// SCRIPT LOAD: compiles and caches the body; returns its SHA1.
    pub fn script_load(&mut self, body: &[u8]) -> Result<String, Reply> {
        self.create(body, true)
            .map(|k| String::from_utf8_lossy(&k).into_owned())
    }

    /// SCRIPT EXISTS for one SHA1 (case-insensitive).
    pub fn exists(&self, sha: &[u8]) -> bool {
        sha_key(sha).is_some_and(|k| self.scripts.contains_key(&k))
    }

    /// SCRIPT SHOW.
    pub fn show(&self, sha: &[u8]) -> Result<Bytes, Reply> {
        sha_key(sha)
            .and_then(|k| self.scripts.get(&k))
            .map(|s| s.body.clone())
            .ok_or_else(|| Reply::error(errors::NOSCRIPT))
    }

    /// A cached script (for the host: replication of EVALSHA as EVAL, command flags).
    pub fn script(&self, sha: &[u8]) -> Option<&Script> {
        sha_key(sha).and_then(|k| self.scripts.get(&k))
    }

    /// SCRIPT FLUSH: a new Lua state and an empty cache (the random generator is kept).
    pub fn flush(&mut self) {
        self.state = new_state(self.rand.clone(), &self.versions);
        self.scripts.clear();
        self.lru.clear();
        self.body_bytes = 0;
    }

    /// The declared flags of the script an EVAL/EVALSHA would run, for the dispatcher
    /// (`evalGetCommandFlags`); `None` when unknown (the command's flags apply).
    pub fn flags_for(&self, script: &[u8], evalsha: bool) -> Option<ScriptFlags> {
        if evalsha {
            return self.script(script).map(|s| s.flags);
        }
        let key = sha_key(sha1_hex(script).as_bytes())?;
        match self.scripts.get(&key) {
            Some(s) => Some(s.flags),
            None => parse_eval_shebang(script).ok().map(|s| s.flags),
        }
    }

    /// EVAL / EVALSHA (and `_RO`): argument checks, compilation on first use, the pre-run
    /// checks, the run.
    pub fn eval(
        &mut self,
        host: &mut dyn Host,
        req: EvalRequest,
        caller: Caller,
        server: &ServerState,
        opts: RunOptions,
    ) -> RunOutcome {
        if req.evalsha && req.script.len() != 40 {
            return RunOutcome::reply(Reply::error(errors::NOSCRIPT));
        }
        let (keys, args) = match split_keys(req.numkeys, req.rest, errors::NUMKEYS_NOT_INTEGER) {
            Ok(s) => s,
            Err(e) => return RunOutcome::reply(e),
        };
        let key = if req.evalsha {
            match sha_key(req.script) {
                Some(k) if self.scripts.contains_key(&k) => k,
                _ => return RunOutcome::reply(Reply::error(errors::NOSCRIPT)),
            }
        } else {
            match self.create(req.script, false) {
                Ok(k) => k,
                Err(e) => return RunOutcome::reply(e),
            }
        };
        let Some(script) = self.scripts.get(&key) else {
            return RunOutcome::reply(Reply::error(errors::NOSCRIPT));
        };
        let flags = script.flags;
        let name = Bytes::copy_from_slice(&key);
        let mut ctx = match prepare_run(RunKind::Eval, name, flags, req.ro, caller, server) {
            Ok(c) => c,
            Err(e) => return RunOutcome::reply(e),
        };
        let l = self.state.raw();
        let fname = func_name(&key);
        // SAFETY: plain stack operations on our state; the registry entry is our function.
        unsafe {
            lua_checkstack(l, 4);
            lua_getglobal(l, cstr!("__redis__err__handler"));
            lua_getfield(l, LUA_REGISTRYINDEX, fname.as_ptr() as *const c_char);
        }
        let out = call_function(
            &self.state,
            host,
            &mut ctx,
            keys,
            args,
            true,
            opts,
            caller.resp,
        );
        self.touch(&key);
        out
    }

    /// Moves an EVAL-created script to the young end of the eviction order.
    fn touch(&mut self, key: &[u8; 40]) {
        let Some(s) = self.scripts.get_mut(key) else {
            return;
        };
        if let Some(old) = s.lru {
            self.lru.remove(&old);
            self.lru_seq += 1;
            s.lru = Some(self.lru_seq);
            self.lru.insert(self.lru_seq, *key);
        }
    }

    /// `luaCreateFunction`: compiles and caches `body` unless cached. `load` is SCRIPT LOAD
    /// (which also protects an EVAL-created script from eviction).
    fn create(&mut self, body: &[u8], load: bool) -> Result<[u8; 40], Reply> {
        let hex = sha1_hex(body);
        let Some(key) = sha_key(hex.as_bytes()) else {
            return Err(Reply::error(errors::NOSCRIPT));
        };
        if let Some(s) = self.scripts.get_mut(&key) {
            if load {
                if let Some(seq) = s.lru.take() {
                    self.lru.remove(&seq);
                }
            }
            return Ok(key);
        }
        let shebang = parse_eval_shebang(body).map_err(Reply::error)?;
        let code = &body[shebang.len..];
        let l = self.state.raw();
        // SAFETY: compile into our state; on success the function goes to the registry.
        unsafe {
            lua_checkstack(l, 2);
            if luaL_loadbuffer(
                l,
                code.as_ptr() as *const c_char,
                code.len(),
                cstr!("@user_script"),
            ) != 0
            {
                let msg = crate::lua::to_bytes(l, -1)
                    .map(|b| String::from_utf8_lossy(crate::convert::cstr_part(b)).into_owned())
                    .unwrap_or_default();
                lua_pop(l, 1);
                return Err(Reply::error(format!("{}{msg}", errors::COMPILE_SCRIPT)));
            }
            lua_setfield(
                l,
                LUA_REGISTRYINDEX,
                func_name(&key).as_ptr() as *const c_char,
            );
        }
        let lru = if load {
            None
        } else {
            while self.lru.len() >= LRU_LIST_LENGTH {
                let Some((_, oldest)) = self.lru.pop_first() else {
                    break;
                };
                self.delete(&oldest);
                self.evicted += 1;
            }
            self.lru_seq += 1;
            self.lru.insert(self.lru_seq, key);
            Some(self.lru_seq)
        };
        self.body_bytes += body.len() + 40;
        self.scripts.insert(
            key,
            Script {
                body: Bytes::copy_from_slice(body),
                flags: shebang.flags,
                lru,
            },
        );
        Ok(key)
    }

    fn delete(&mut self, key: &[u8; 40]) {
        let l = self.state.raw();
        // SAFETY: clears our registry entry.
        unsafe {
            lua_pushnil(l);
            lua_setfield(
                l,
                LUA_REGISTRYINDEX,
                func_name(key).as_ptr() as *const c_char,
            );
        }
        if let Some(s) = self.scripts.remove(key) {
            self.body_bytes -= s.body.len() + 40;
        }
    }

    /// INFO `number_of_cached_scripts`.
    pub fn cached_scripts(&self) -> usize {
        self.scripts.len()
    }

    /// INFO `evicted_scripts`.
    pub fn evicted_scripts(&self) -> u64 {
        self.evicted
    }

    /// INFO `used_memory_vm_eval` (alias `used_memory_lua`): what the Lua state allocated.
    pub fn lua_memory(&self) -> usize {
        self.state.memory()
    }

    /// INFO `used_memory_scripts_eval`: the cache's bodies and SHA1s plus per-entry overhead
    /// (an estimate of Valkey's dict/list accounting: 72 bytes per script, 24 per LRU node).
    pub fn scripts_memory(&self) -> usize {
        self.body_bytes + self.scripts.len() * 72 + self.lru.len() * 24
    }
}

/// A sandboxed state for EVAL (`scriptingInit`).
fn new_state(rand: SharedRand, versions: &Versions) -> State {
    let state = State::new(rand);
    let l = state.raw();
    // SAFETY: setup of a fresh state; our own code cannot raise.
    unsafe {
        api::register_server_api(l, versions);
        api::register_eval_extras(l);
        let handler = api::ERROR_HANDLER.replace("__ERRH__", "__redis__err__handler =");
        api::run_setup_chunk(l, &handler, 0);
        lua_pushvalue(l, LUA_GLOBALSINDEX);
        api::set_error_metatable(l);
        api::protect_recursively(l);
        lua_pop(l, 1);
    }
    state
}
