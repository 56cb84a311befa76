//! What a data-command handler sees: the keyspace, the selected database, the settings that
//! change command behaviour, and the outputs besides the reply (what to propagate, how much it
//! changed, whether the client should block).

use bytes::Bytes;
use keyspace::{Keyspace, Obj};
use resp::RespVersion;
use types::stream::StreamLimits;
use types::{HashLimits, ListLimits, SetLimits, ZSetLimits};

/// Configuration values that data commands depend on (filled by the server from its config).
#[derive(Clone, Debug)]
pub struct Settings {
    pub hash: HashLimits,
    pub set: SetLimits,
    pub zset: ZSetLimits,
    pub list: ListLimits,
    /// `stream-node-max-bytes` / `stream-node-max-entries`.
    pub stream: StreamLimits,
    /// Largest string a command may create (`proto-max-bulk-len`).
    pub proto_max_bulk_len: usize,
    pub hll_sparse_max_bytes: usize,
    pub lazyfree_lazy_user_del: bool,
    pub lazyfree_lazy_user_flush: bool,
    pub lazyfree_lazy_server_del: bool,
    /// Keyspace notification classes enabled (`notify-keyspace-events`, [`crate::notify`]
    /// bits); 0 = notifications off, and [`Ctx::notify`] records nothing.
    pub notify_classes: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            hash: HashLimits::default(),
            set: SetLimits::default(),
            zset: ZSetLimits::default(),
            list: ListLimits::default(),
            stream: StreamLimits::default(),
            proto_max_bulk_len: 512 * 1024 * 1024,
            hll_sparse_max_bytes: 3000,
            lazyfree_lazy_user_del: false,
            lazyfree_lazy_user_flush: false,
            lazyfree_lazy_server_del: false,
            notify_classes: 0,
        }
    }
}

/// A request to park the client until one of `keys` changes or the timeout passes.
#[derive(Clone, Debug, PartialEq)]
pub struct BlockRequest {
    pub keys: Vec<Bytes>,
    /// Absolute unix time in ms; `None` blocks forever.
    pub deadline_ms: Option<i64>,
    /// The argument vector to keep for re-running the command instead of the one received
    /// (XREAD replaces `$` by the ID it stood for when the client blocked); `None` = as
    /// received.
    pub argv: Option<Vec<Bytes>>,
    /// The client must also be woken when a key is deleted or changes type, to fail
    /// (XREADGROUP: Valkey's `unblock_on_nokey`, counted by INFO
    /// `total_blocking_keys_on_nokey`).
    pub on_nokey: bool,
}

/// Per-call execution context.
pub struct Ctx<'a> {
    pub ks: &'a mut Keyspace,
    /// Selected database (SELECT changes it through the server).
    pub db: usize,
    pub settings: &'a Settings,
    pub resp: RespVersion,
    /// Number of changes made (Redis's `server.dirty`): a command that changed nothing is not
    /// propagated.
    pub dirty: u64,
    /// Replaces what is propagated: `None` = the command as received (if `dirty > 0`);
    /// `Some(vec![])` = nothing; otherwise these commands, in order.
    pub rewrite: Option<Vec<Vec<Bytes>>>,
    /// The client may block (not inside MULTI/EXEC, scripts or for the primary link).
    pub may_block: bool,
    /// Set by blocking commands that found nothing to serve.
    pub block: Option<BlockRequest>,
    /// The command is replayed for a client that was blocked (its deadline has not passed).
    pub unblocking: bool,
    /// Called by a script (`server.call`): results whose order is otherwise arbitrary are
    /// made deterministic (SORT of a set by a constant), as for Valkey's script client.
    pub from_script: bool,
    /// Keyspace events raised by this call, in order (Redis's `notifyKeyspaceEvent`); only
    /// the classes enabled in [`Settings::notify_classes`] are recorded. Read them with
    /// [`Ctx::take_notifications`], which adds the `expired` events still pending.
    pub notifications: Vec<crate::notify::KeyEvent>,
    /// The calling user may read every key (`ACLUserCheckCmdWithUnrestrictedKeyAccess`): SORT
    /// refuses its BY and GET patterns otherwise. The server computes it for SORT only.
    pub acl_full_read: bool,
    /// Reply bytes the client may still be sent before its `client-output-buffer-limit` hard
    /// limit (`u64::MAX`: none). Commands whose reply size the client chooses (a negative
    /// HRANDFIELD / SRANDMEMBER / ZRANDMEMBER count) stop building it past this, as Valkey's
    /// loops stop once the client is `close_asap`.
    pub reply_budget: u64,
    /// Set when a command stopped at [`Ctx::reply_budget`]: the reply is incomplete and the
    /// client must be closed instead of answered.
    pub reply_cut: bool,
    /// How many entries of the keyspace's expired-key log were already turned into `expired`
    /// events (the log is drained by the server, not by this call).
    expired_seen: usize,
}

impl<'a> Ctx<'a> {
    pub fn new(ks: &'a mut Keyspace, db: usize, settings: &'a Settings) -> Ctx<'a> {
        Ctx {
            db,
            settings,
            resp: RespVersion::Resp2,
            dirty: 0,
            rewrite: None,
            may_block: false,
            block: None,
            unblocking: false,
            from_script: false,
            expired_seen: ks.events.expired.len(),
            notifications: Vec::new(),
            acl_full_read: true,
            reply_budget: u64::MAX,
            reply_cut: false,
            ks,
        }
    }

    /// Raises keyspace event `event` of `class` ([`crate::notify`]) for `key` in the selected
    /// database, as Redis's `notifyKeyspaceEvent`.
    pub fn notify(&mut self, class: u32, event: &'static str, key: &[u8]) {
        self.notify_db(class, event, key, self.db);
    }

    /// [`Ctx::notify`] for a key of another database (MOVE, COPY ... DB).
    pub fn notify_db(&mut self, class: u32, event: &'static str, key: &[u8], db: usize) {
        self.raise_expired();
        if self.settings.notify_classes & class != 0 {
            self.notifications.push(crate::notify::KeyEvent {
                class,
                event,
                key: Bytes::copy_from_slice(key),
                db,
            });
        }
    }

    /// Raises `expired` (class `x`) for the keys this call's lookups deleted because they had
    /// expired, where Redis's `expireIfNeeded` raises it: before any event raised after the
    /// lookup.
    fn raise_expired(&mut self) {
        let log = &self.ks.events.expired;
        if self.expired_seen >= log.len() {
            return;
        }
        if self.settings.notify_classes & crate::notify::EXPIRED != 0 {
            for (db, key) in &log[self.expired_seen..] {
                self.notifications.push(crate::notify::KeyEvent {
                    class: crate::notify::EXPIRED,
                    event: "expired",
                    key: Bytes::copy_from_slice(key),
                    db: *db,
                });
            }
        }
        self.expired_seen = log.len();
    }

    /// The events this call raised, in Redis's order, including `expired` for keys its lookups
    /// deleted. The server publishes these for the command; it raises `expired` itself only
    /// for deletions made outside commands (active expiry).
    pub fn take_notifications(&mut self) -> Vec<crate::notify::KeyEvent> {
        self.raise_expired();
        std::mem::take(&mut self.notifications)
    }

    /// Stores `obj` under its key in the selected database, replacing any value there, and
    /// raises `new` if the key did not exist: see [`Ctx::store_in`].
    pub fn store(&mut self, obj: Obj) -> Option<Obj> {
        self.store_in(self.db, obj)
    }

    /// Stores `obj` under its key in database `db`, replacing any value there (Redis's
    /// `setKey`), and raises `new` when the key did not exist, as Redis's `dbAdd` does. Every
    /// command that creates a key stores it through here, so `new` has one source; it comes
    /// before the command's own event, as in Redis. A key replaced while logically expired
    /// counts as created (Redis's write lookup would have deleted it first). Returns the value
    /// replaced.
    pub fn store_in(&mut self, db: usize, obj: Obj) -> Option<Obj> {
        let key = (self.settings.notify_classes & crate::notify::NEW != 0)
            .then(|| Bytes::copy_from_slice(obj.key()));
        let old = self.ks.put(db, obj);
        let created = old.as_ref().is_none_or(|o| {
            !self.ks.obey_all && o.expire_ms().is_some_and(|e| e <= self.ks.now_ms)
        });
        if let (true, Some(key)) = (created, key) {
            self.notify_db(crate::notify::NEW, "new", &key, db);
        }
        old
    }

    /// Propagate `cmd` instead of (or in addition to, on later calls) the original command.
    pub fn propagate(&mut self, cmd: Vec<Bytes>) {
        self.rewrite.get_or_insert_with(Vec::new).push(cmd);
    }

    /// Propagate nothing for this call.
    pub fn propagate_nothing(&mut self) {
        self.rewrite = Some(Vec::new());
    }

    pub fn resp3(&self) -> bool {
        self.resp == RespVersion::Resp3
    }

    pub fn now_ms(&self) -> i64 {
        self.ks.now_ms
    }
}

/// Builds an argument vector from string-like parts (for rewritten propagation).
pub fn argv<I, T>(parts: I) -> Vec<Bytes>
where
    I: IntoIterator<Item = T>,
    T: AsRef<[u8]>,
{
    parts
        .into_iter()
        .map(|p| Bytes::copy_from_slice(p.as_ref()))
        .collect()
}
