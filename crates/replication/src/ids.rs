//! Replication identity (PSYNC2): the current id and offset, the previous id valid up to an
//! offset, and the rule deciding whether a partial resync can be served.

/// 40 zeros: "no secondary id".
pub const NO_ID: &str = "0000000000000000000000000000000000000000";

/// A node's replication history: `replid` names it, `offset` is its length in bytes;
/// `replid2` is the history it continued from, valid for requests up to `second_offset`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplIds {
    pub replid: String,
    pub replid2: String,
    /// First byte a replica may request under `replid2` (`-1` = none).
    pub second_offset: i64,
    /// `master_repl_offset`: bytes ever appended to this node's stream.
    pub offset: i64,
}

/// Why a partial resync was refused (for logs and `sync_partial_err`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PsyncRefusal {
    /// `PSYNC ? -1`: the replica asked for a full sync (not counted as an error).
    Requested,
    IdMismatch,
    /// Requested offset is past where the secondary id is valid.
    SecondIdOffset {
        requested: i64,
        valid_up_to: i64,
    },
    /// Not in the backlog (or no backlog).
    NoBacklog {
        requested: i64,
    },
}

impl ReplIds {
    pub fn new(replid: String) -> ReplIds {
        ReplIds {
            replid,
            replid2: NO_ID.to_string(),
            second_offset: -1,
            offset: 0,
        }
    }

    /// The (id, first byte) to ask for in PSYNC when this node starts following a primary.
    /// Normally our current id; but right after a promotion or a restart, before any byte was
    /// added, our history *is* the previous one up to here, and the new primary can only know
    /// it under the previous id (a restarted old primary repointed at the replica promoted in
    /// its place resyncs partially this way). Having told our own replicas the new id changes
    /// nothing: when the primary continues us, the new id becomes our `replid2`, still valid
    /// for everything they hold.
    pub fn psync_request(&self) -> (String, i64) {
        let unchanged_since_shift = self.offset + 1 == self.second_offset;
        if unchanged_since_shift && self.replid2 != NO_ID {
            (self.replid2.clone(), self.offset + 1)
        } else {
            (self.replid.clone(), self.offset + 1)
        }
    }

    /// PSYNC2 acceptance: `requested` is the first byte the replica wants; `backlog` is the
    /// (first byte offset, bytes held) of the backlog, if there is one.
    pub fn can_continue(
        &self,
        id: &str,
        requested: i64,
        backlog: Option<(i64, i64)>,
    ) -> Result<(), PsyncRefusal> {
        if id == "?" {
            return Err(PsyncRefusal::Requested);
        }
        let current = id.eq_ignore_ascii_case(&self.replid);
        let previous = id.eq_ignore_ascii_case(&self.replid2) && self.replid2 != NO_ID;
        if !current && !previous {
            return Err(PsyncRefusal::IdMismatch);
        }
        if !current && requested > self.second_offset {
            return Err(PsyncRefusal::SecondIdOffset {
                requested,
                valid_up_to: self.second_offset,
            });
        }
        match backlog {
            Some((first, histlen)) if requested >= first && requested <= first + histlen => Ok(()),
            _ => Err(PsyncRefusal::NoBacklog { requested }),
        }
    }

    /// Promotion (`REPLICAOF NO ONE`) or a primary's restart: the current history becomes the
    /// secondary one, valid up to the next byte, and a new id starts.
    pub fn shift(&mut self, new_id: String) {
        self.replid2 = std::mem::replace(&mut self.replid, new_id);
        self.second_offset = self.offset + 1;
    }

    /// A new history unrelated to the old one (first replica on a primary without backlog,
    /// backlog TTL expiry, DEBUG CHANGE-REPL-ID).
    pub fn reset(&mut self, new_id: String) {
        self.replid = new_id;
        self.clear_secondary();
    }

    pub fn clear_secondary(&mut self) {
        self.replid2 = NO_ID.to_string();
        self.second_offset = -1;
    }

    /// A replica learnt its primary's id through `+CONTINUE <id>` that differs from ours: our
    /// history continues under the new id; the old one stays valid up to what we hold.
    pub fn switch_to(&mut self, new_id: String) {
        if !new_id.eq_ignore_ascii_case(&self.replid) {
            self.replid2 = std::mem::replace(&mut self.replid, new_id);
            self.second_offset = self.offset + 1;
        }
    }

    /// After a full sync: adopt the primary's id and offset, no secondary.
    pub fn adopt(&mut self, id: String, offset: i64) {
        self.replid = id;
        self.offset = offset;
        self.clear_secondary();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn psync_request_after_a_shift_uses_the_history_others_know() {
        let mut ids = ReplIds::new(id('a'));
        ids.offset = 500;
        assert_eq!(ids.psync_request(), (id('a'), 501));
        // Restarted or promoted: a new id, same history so far.
        ids.shift(id('b'));
        assert_eq!(ids.psync_request(), (id('a'), 501));
        // Our replicas continued under the new id; the primary continues us under its own:
        // the new id stays valid for them as our replid2.
        let mut continued = ids.clone();
        continued.switch_to(id('a'));
        assert_eq!(
            (continued.replid2.as_str(), continued.second_offset),
            (id('b').as_str(), 501)
        );
        // Once a byte was added, the new id it is.
        ids.offset = 501;
        assert_eq!(ids.psync_request(), (id('b'), 502));
    }

    fn id(c: char) -> String {
        std::iter::repeat_n(c, 40).collect()
    }

    #[test]
    fn acceptance_rule() {
        let mut ids = ReplIds::new(id('a'));
        ids.offset = 100;
        let backlog = Some((51, 50)); // bytes 51..=100
        assert_eq!(ids.can_continue(&id('a'), 101, backlog), Ok(()));
        assert_eq!(ids.can_continue(&id('a'), 51, backlog), Ok(()));
        assert!(matches!(
            ids.can_continue(&id('a'), 50, backlog),
            Err(PsyncRefusal::NoBacklog { .. })
        ));
        assert!(matches!(
            ids.can_continue(&id('a'), 102, backlog),
            Err(PsyncRefusal::NoBacklog { .. })
        ));
        assert_eq!(
            ids.can_continue("?", 1, backlog),
            Err(PsyncRefusal::Requested)
        );
        assert_eq!(
            ids.can_continue(&id('b'), 101, backlog),
            Err(PsyncRefusal::IdMismatch)
        );
        assert_eq!(
            ids.can_continue(&id('A'), 101, backlog),
            Ok(()),
            "ids compare case-insensitively"
        );
    }

    #[test]
    fn promotion_keeps_the_old_history_valid() {
        let mut ids = ReplIds::new(id('a'));
        ids.offset = 159;
        ids.shift(id('b'));
        assert_eq!(
            (ids.replid2.as_str(), ids.second_offset),
            (id('a').as_str(), 160)
        );
        let backlog = Some((1, 159));
        assert_eq!(ids.can_continue(&id('a'), 160, backlog), Ok(()));
        ids.offset = 200;
        let backlog = Some((1, 200));
        assert_eq!(
            ids.can_continue(&id('a'), 161, backlog),
            Err(PsyncRefusal::SecondIdOffset {
                requested: 161,
                valid_up_to: 160
            })
        );
        assert_eq!(ids.can_continue(&id('b'), 190, backlog), Ok(()));
    }
}
