//! CLIENT PAUSE: until when clients are paused, and for which commands; and the pause of
//! writes a FAILOVER holds until it ends.

use commands::spec::flags as f;

#[derive(Default)]
pub struct PauseState {
    /// Unix ms until which clients are paused (0 = not paused).
    pub until_ms: i64,
    /// Only writes are paused (WRITE mode).
    pub writes_only: bool,
    /// The pause ended: the event loop runs the held commands.
    pub release_pending: bool,
    /// A FAILOVER holds writes (whatever CLIENT PAUSE / UNPAUSE do) until it ends.
    pub failover: bool,
    /// A shutdown waiting for its replicas holds writes (whatever CLIENT PAUSE / UNPAUSE do)
    /// until the process exits or the shutdown is cancelled.
    pub shutdown: bool,
}

impl PauseState {
    /// A CLIENT PAUSE is in effect at `now_ms`.
    pub fn active(&self, now_ms: i64) -> bool {
        self.until_ms != 0 && now_ms < self.until_ms
    }

    /// Writes (and commands that may replicate) are held at `now_ms`: active expiry and
    /// eviction also stop, and the primary adds nothing to the stream, as in Valkey.
    pub fn writes_paused(&self, now_ms: i64) -> bool {
        self.failover || self.shutdown || self.active(now_ms)
    }

    /// A command with these flags (the dispatcher's: a script's declared flags for EVAL and
    /// FCALL) must wait for the pause to end.
    pub fn holds(&self, flags: u64, now_ms: i64) -> bool {
        let write = flags & (f::WRITE | f::MAY_REPLICATE) != 0;
        ((self.failover || self.shutdown) && write)
            || (self.active(now_ms) && (!self.writes_only || write))
    }
}
