//! Full-sync scheduling and snapshot jobs, and how a replica leaves the table (closed by its
//! client, or by the machine): which waiting replicas start a snapshot now, what each member
//! of a job becomes when it ends, the pins they hold meanwhile.

use super::*;

impl Primary {
    /// Starts a snapshot for each group of waiting replicas that is due. Replicas are grouped
    /// by the payload they need (`rdb-filter-only`); a group goes to the sockets if diskless
    /// sync is on (or the payload is filtered) and every member has `capa eof`, else to disk.
    /// A socket group waits `repl-diskless-sync-delay` from its oldest member's arrival, or
    /// until `repl-diskless-sync-max-replicas` are waiting.
    pub(super) fn schedule(&mut self, hist: &mut History, now_ms: i64, out: &mut Out) {
        let mut groups: BTreeMap<Option<String>, Vec<(ClientId, i64, bool)>> = BTreeMap::new();
        for (id, r) in &self.replicas {
            if let ReplicaState::WaitBgsaveStart { since_ms } = r.state {
                groups.entry(r.info.rdb_filter.clone()).or_default().push((
                    *id,
                    since_ms,
                    r.info.capa_eof,
                ));
            }
        }
        for (filter, group) in groups {
            let all_eof = group.iter().all(|m| m.2);
            let socket = (self.cfg.diskless_sync || filter.is_some()) && all_eof;
            if self.cfg.diskless_sync && all_eof {
                let since: Vec<i64> = group.iter().map(|m| m.1).collect();
                if !peer::diskless_start_due(
                    &since,
                    now_ms,
                    self.cfg.diskless_sync_delay_ms,
                    self.cfg.diskless_sync_max_replicas,
                ) {
                    continue;
                }
            }
            let target = if socket { Target::Socket } else { Target::Disk };
            let members = group.iter().map(|m| m.0).collect();
            self.start_job(hist, members, target, filter, out);
        }
    }

    pub(super) fn start_job(
        &mut self,
        hist: &mut History,
        members: Vec<ClientId>,
        target: Target,
        filter: Option<String>,
        out: &mut Out,
    ) {
        let job = self.next_job;
        self.next_job += 1;
        let offset = hist.offset();
        let replid = hist.ids.replid.clone();
        hist.force_select();
        // A top primary selects again after the snapshot (0 here); a replica proxies its
        // primary's stream, which goes on in the database it selected last.
        let stream_db = hist.stream_db();
        let mut job_members = Vec::new();
        for client in &members {
            let Some(r) = self.replicas.get_mut(client) else {
                continue;
            };
            let prefix = if r.info.rdb_channel {
                // Its position, then the payload; the backlog stays pinned from here until
                // the main connection PSYNCs (or the grace period ends).
                let e = crate::proto::EndOff {
                    offset,
                    replid: replid.clone(),
                    db: stream_db,
                    client_id: *client,
                };
                let tracking = hist.backlog().is_some_and(|b| b.histlen() > 0);
                self.waiting_psync.insert(
                    *client,
                    WaitingPsync {
                        offset,
                        closed_at_ms: None,
                        tracking,
                    },
                );
                out.push(Action::Log {
                    level: LogLevel::Notice,
                    text: format!(
                        "Add rdb replica {} to waiting psync, with cid {client}, {}",
                        r.addr,
                        if tracking {
                            "tracking repl-backlog tail"
                        } else {
                            "no repl-backlog to track"
                        }
                    ),
                });
                crate::proto::endoff_line(&e)
            } else if r.pre_psync {
                Vec::new()
            } else {
                format!("+FULLRESYNC {replid} {offset}\r\n").into_bytes()
            };
            r.state = ReplicaState::WaitBgsaveEnd {
                job,
                snapshot_offset: offset,
                early_ack: false,
            };
            if r.wants_stream() {
                if let Some(b) = hist.backlog_mut() {
                    b.pin(*client, offset + 1);
                }
            }
            job_members.push(Member {
                client: *client,
                prefix,
            });
        }
        let text = format!(
            "Starting BGSAVE for SYNC with target: {}",
            match target {
                Target::Socket => "replicas sockets",
                Target::Disk => "disk",
            }
        );
        log(out, LogLevel::Notice, text);
        self.jobs.insert(job, Job { members, target });
        out.push(Action::StartSnapshot(SnapshotJob {
            job,
            offset,
            replid,
            target,
            filter,
            members: job_members,
        }));
    }

    /// A snapshot job ended. `results` has each member's outcome; a member missing from it
    /// failed with `error` (e.g. the job could not start at all). Delivered replicas go
    /// online (an EOF-form one waits for its first ACK unless one came already), rdb-only
    /// ones are closed, failed ones are closed; waiting replicas may start the next job.
    pub fn on_job_finished(
        &mut self,
        hist: &mut History,
        job: JobId,
        results: &[(ClientId, Result<(), String>)],
        error: Option<&str>,
        now_ms: i64,
    ) -> Vec<Action> {
        let mut out = Vec::new();
        let Some(j) = self.jobs.remove(&job) else {
            return out;
        };
        // Every connection failing is the job failing (a fork child writing to dropped
        // sockets exits with an error in Valkey, which logs the same line).
        let all_failed = !j.members.is_empty()
            && j.members.iter().all(|m| {
                results
                    .iter()
                    .find(|(c, _)| c == m)
                    .is_none_or(|(_, r)| r.is_err())
            });
        let error = match error {
            None if all_failed => Some("every replica connection failed"),
            e => e,
        };
        match error {
            None => log(
                &mut out,
                LogLevel::Notice,
                "Background RDB transfer terminated with success".into(),
            ),
            Some(e) => log(
                &mut out,
                LogLevel::Warning,
                format!("Background RDB transfer error: {e}"),
            ),
        }
        for client in j.members {
            let result = results
                .iter()
                .find(|(c, _)| *c == client)
                .map(|(_, r)| r.clone())
                .unwrap_or_else(|| Err(error.unwrap_or("transfer ended").to_string()));
            let Some(r) = self.replicas.get_mut(&client) else {
                continue;
            };
            let ReplicaState::WaitBgsaveEnd {
                job: member_of,
                snapshot_offset,
                early_ack,
            } = r.state
            else {
                continue;
            };
            assert_eq!(member_of, job, "a replica waits for the job it is in");
            if let Err(e) = result {
                let text = format!("Diskless rdb transfer to replica {} failed: {e}", r.addr);
                log(&mut out, LogLevel::Warning, text);
                self.drop_waiting_psync(hist, client);
                self.forget(hist, client, now_ms, CloseReason::TransferFailed, &mut out);
                continue;
            }
            if r.info.rdb_only {
                self.forget(hist, client, now_ms, CloseReason::RdbDelivered, &mut out);
                continue;
            }
            assert!(
                snapshot_offset <= hist.offset(),
                "a snapshot is never ahead of the stream"
            );
            let next_offset = snapshot_offset + 1;
            r.state = if j.target == Target::Socket && !early_ack {
                ReplicaState::AwaitFirstAck { next_offset }
            } else {
                ReplicaState::Online { next_offset }
            };
            r.ack_time_ms = now_ms;
            r.synced_offset = snapshot_offset;
            r.catchup_to = Some(hist.offset());
            let text = format!("Synchronization with replica {} succeeded", r.addr);
            log(&mut out, LogLevel::Notice, text);
        }
        self.schedule(hist, now_ms, &mut out);
        out
    }

    /// A client connection closed (any client: the machine forgets what it knew of it).
    pub fn on_client_closed(
        &mut self,
        hist: &mut History,
        client: ClientId,
        now_ms: i64,
    ) -> Vec<Action> {
        self.handshakes.remove(&client);
        let mut out = Vec::new();
        if let Some(r) = self.replicas.get(&client) {
            let text = format!("Connection with replica {} lost.", r.addr);
            log(&mut out, LogLevel::Notice, text);
            self.remove(hist, client, now_ms, &mut out);
        }
        out
    }

    /// Removes a replica: its pin goes (a dual-channel snapshot connection's stays for the
    /// grace period), its job loses a member (cancelled when none is left).
    pub(super) fn remove(
        &mut self,
        hist: &mut History,
        client: ClientId,
        now_ms: i64,
        out: &mut Out,
    ) {
        let Some(r) = self.replicas.remove(&client) else {
            return;
        };
        match self.waiting_psync.get_mut(&client) {
            Some(w) => {
                w.closed_at_ms.get_or_insert(now_ms);
            }
            None => {
                if let Some(b) = hist.backlog_mut() {
                    b.unpin(client);
                }
            }
        }
        if let ReplicaState::WaitBgsaveEnd { job, .. } = r.state {
            if let Some(j) = self.jobs.get_mut(&job) {
                j.members.retain(|m| *m != client);
                if j.members.is_empty() {
                    // As Valkey's fork child whose last replica socket fails: the transfer
                    // ends in error (its report, when the thread stops, is then ignored).
                    self.jobs.remove(&job);
                    log(
                        out,
                        LogLevel::Warning,
                        format!(
                            "Background RDB transfer error: the last replica of the transfer ({}) is gone",
                            r.addr
                        ),
                    );
                    out.push(Action::CancelSnapshot { job });
                }
            }
        }
        if self.replicas.is_empty() {
            self.no_replicas_since_ms = now_ms;
        }
    }

    /// The machine closes a replica: forgotten now, closed by the executor.
    pub(super) fn forget(
        &mut self,
        hist: &mut History,
        client: ClientId,
        now_ms: i64,
        reason: CloseReason,
        out: &mut Out,
    ) {
        self.remove(hist, client, now_ms, out);
        out.push(Action::Close { client, reason });
    }

    pub(super) fn drop_waiting_psync(&mut self, hist: &mut History, client: ClientId) {
        if self.waiting_psync.remove(&client).is_some() {
            if let Some(b) = hist.backlog_mut() {
                b.unpin(client);
            }
        }
    }

    /// This node's history was replaced or renamed (promotion, a full sync, `+CONTINUE` with
    /// a new id): every replica must resync, and no snapshot connection's pin is still valid.
    pub fn disconnect_all(&mut self, hist: &mut History, now_ms: i64) -> Vec<Action> {
        let mut out = Vec::new();
        let ids: Vec<ClientId> = self.replicas.keys().copied().collect();
        for id in ids {
            self.forget(hist, id, now_ms, CloseReason::HistoryChanged, &mut out);
        }
        let waiting: Vec<ClientId> = self.waiting_psync.keys().copied().collect();
        for id in waiting {
            self.drop_waiting_psync(hist, id);
        }
        out
    }
}
