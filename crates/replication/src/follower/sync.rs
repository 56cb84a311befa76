//! How the follower carries out what its connections' handshake machines report — PSYNC
//! asked and answered, full and dual-channel syncs, the payload, stream bytes applied or
//! buffered — and how a loaded snapshot is swapped in.

use super::*;

impl Follower {
    /// A load finished: `Ok(stream_db)` with the RDB's `repl-stream-db`, or why it failed.
    pub fn on_load_done(
        &mut self,
        hist: &mut History,
        load: LoadId,
        result: Result<i64, String>,
        now_ms: i64,
        new_id: &mut dyn FnMut() -> String,
    ) -> Vec<Action> {
        let mut out = Vec::new();
        let current = match &self.state {
            State::FullSync { load: l, .. } => *l == Some(load),
            State::DualSync { dual, .. } => dual.load == Some(load),
            _ => false,
        };
        if !current {
            return out;
        }
        let stream_db = match result {
            Ok(db) => db,
            Err(e) => {
                let why = format!("Failed trying to load the MASTER synchronization DB: {e}");
                self.fail(hist, &why, now_ms, &mut out);
                return out;
            }
        };
        match std::mem::replace(&mut self.state, State::Primary) {
            State::FullSync {
                main,
                replid,
                offset,
                buffer,
                ..
            } => {
                let pos = Position {
                    replid: replid.unwrap_or_else(&mut *new_id),
                    offset,
                    stream_db,
                    renamed: None,
                    pre_psync: offset < 0,
                };
                self.install(hist, main, load, pos, buffer, &mut out);
                self.sync_finished(now_ms);
            }
            State::DualSync { main, dual, buffer } => {
                out.extend(dual.rdb.map(|r| Action::Close { link: r.id }));
                let Some(endoff) = dual.endoff else {
                    unreachable!("a dual-channel payload follows $ENDOFF");
                };
                if dual.continued {
                    let pos = Position::dual(endoff, dual.continued_as);
                    self.install(hist, main, load, pos, buffer, &mut out);
                    self.sync_finished(now_ms);
                } else {
                    log(&mut out, LogLevel::Notice, "Dual channel sync - RDB loaded, waiting for the main channel's PSYNC reply");
                    self.state = State::DualLoaded {
                        main,
                        endoff,
                        load,
                        buffer,
                    };
                }
            }
            other => self.state = other,
        }
        out
    }

    /// A full sync ended with the link up: INFO `last_successful_sync_duration_ms`.
    fn sync_finished(&mut self, now_ms: i64) {
        if let Some(t) = self.sync_started_ms.take() {
            self.last_sync_ms = Some((now_ms - t).max(0));
        }
    }

    /// Swaps the loaded dataset in as this node's history at `pos`; the link streams,
    /// starting with what was buffered meanwhile.
    pub(super) fn install(
        &mut self,
        hist: &mut History,
        mut main: Conn,
        load: LoadId,
        pos: Position,
        buffer: Buffer,
        out: &mut Out,
    ) {
        let Position {
            replid,
            offset,
            stream_db,
            renamed,
            pre_psync,
        } = pos;
        out.push(Action::SwapDataset { load });
        // The history changed: our own replicas must resync.
        out.push(Action::DropSubReplicas);
        hist.adopt(replid, offset);
        if let Some(id) = renamed {
            if hist.switch_to(id) {
                let text = format!("Master replication ID changed to {}", hist.ids.replid);
                log(out, LogLevel::Notice, text);
            }
        }
        self.cached = None;
        self.stream_db = stream_db;
        hist.set_upstream_db(stream_db);
        self.read_reploff = hist.offset() + buffer.bytes.len() as i64;
        self.down_since_ms = None;
        self.last_error = None;
        main.link.on_load_done(true, "");
        log(
            out,
            LogLevel::Notice,
            "MASTER <-> REPLICA sync: Finished with success",
        );
        let id = main.id;
        self.state = State::Streaming { main, pre_psync };
        out.push(Action::StartStream {
            link: id,
            db: stream_db,
        });
        if !buffer.bytes.is_empty() {
            out.push(Action::Apply {
                link: id,
                bytes: buffer.bytes,
            });
        }
        if buffer.paused {
            out.push(Action::ResumeReading { link: id });
        }
        if !pre_psync {
            out.push(Action::Send {
                link: id,
                bytes: ack(offset.max(0)),
            });
        }
    }

    // ------------------------------------------------------------------ link actions

    /// Carries out what one connection's handshake machine asked for.
    pub(super) fn run(
        &mut self,
        hist: &mut History,
        which: Which,
        actions: Vec<link::Action>,
        now_ms: i64,
        out: &mut Out,
    ) {
        for a in actions {
            let Some(id) = self.conn_mut(which).map(|c| c.id) else {
                return;
            };
            match a {
                link::Action::Send(bytes) => out.push(Action::Send { link: id, bytes }),
                link::Action::Log(text) => log(out, LogLevel::Notice, text),
                link::Action::Fail(why) if which == Which::Leaving => {
                    log(out, LogLevel::Warning, why);
                    self.drop_leaving(hist, false, out);
                }
                link::Action::Fail(why) => self.fail(hist, &why, now_ms, out),
                link::Action::RetryLater(why) => {
                    let text = format!(
                        "Master is currently unable to PSYNC but should be in the future: {why}"
                    );
                    self.fail(hist, &text, now_ms, out);
                }
                link::Action::Stream(bytes) => self.on_stream(which, id, bytes, out),
                link::Action::HandshakeDone => self.send_psync(hist, now_ms, out),
                link::Action::FailoverRejected(why) => {
                    self.failover = false;
                    out.push(Action::FailoverRejected { why });
                }
                link::Action::FullResync { replid, offset } => {
                    self.failover_answered(out);
                    self.on_full_resync(replid, offset, now_ms, out)
                }
                link::Action::Continue { replid } => {
                    self.failover_answered(out);
                    self.on_continue(hist, replid, now_ms, out)
                }
                link::Action::PayloadStart { total } => self.on_payload_start(total, out),
                link::Action::Payload(bytes) => {
                    if let Some(load) = self.load_id() {
                        out.push(Action::LoadBytes { load, bytes });
                    }
                }
                link::Action::PayloadEnd => {
                    if let State::FullSync { payload_done, .. } = &mut self.state {
                        *payload_done = true;
                    }
                    if let Some(load) = self.load_id() {
                        out.push(Action::LoadEnd { load });
                    }
                    self.early_ack(out);
                }
                link::Action::DualChannel => {
                    self.failover_answered(out);
                    self.on_dual_offer(now_ms, out)
                }
                link::Action::EndOff(e) => self.on_endoff(hist, e, now_ms, out),
                link::Action::DualContinue { replid } => {
                    self.on_dual_continue(hist, replid, now_ms, out)
                }
            }
        }
    }

    /// The target of a FAILOVER took over (a partial or a full resync): it is complete.
    fn failover_answered(&mut self, out: &mut Out) {
        if std::mem::take(&mut self.failover) {
            out.push(Action::FailoverAccepted);
        }
    }

    pub(super) fn load_id(&self) -> Option<LoadId> {
        match &self.state {
            State::FullSync { load, .. } => *load,
            State::DualSync { dual, .. } => dual.load,
            _ => None,
        }
    }

    /// Stream bytes: applied on a streaming (or leaving) link, buffered during a sync (up to
    /// the limit, then the link is not read).
    pub(super) fn on_stream(&mut self, which: Which, id: LinkId, bytes: Vec<u8>, out: &mut Out) {
        if which == Which::Rdb || bytes.is_empty() {
            return;
        }
        if which == Which::Leaving {
            match &mut self.state {
                State::Idle {
                    leaving: Some(l), ..
                }
                | State::Connecting {
                    leaving: Some(l), ..
                }
                | State::Handshake {
                    leaving: Some(l), ..
                } if l.frozen => l.held.extend_from_slice(&bytes),
                _ => out.push(Action::Apply { link: id, bytes }),
            }
            return;
        }
        let limit = self.cfg.buffer_limit_bytes as usize;
        match &mut self.state {
            State::Streaming { .. } => {
                self.read_reploff += bytes.len() as i64;
                out.push(Action::Apply { link: id, bytes });
            }
            State::FullSync {
                buffer, released, ..
            } => {
                *released = true;
                buffer_bytes(buffer, &bytes, limit, &mut self.buffer_peak, id, out);
            }
            State::DualSync { buffer, .. } | State::DualLoaded { buffer, .. } => {
                buffer_bytes(buffer, &bytes, limit, &mut self.buffer_peak, id, out);
            }
            _ => {}
        }
    }

    /// While the snapshot loads aside, an `ACK 0` (true of any replica, no help to WAIT)
    /// releases a primary that holds the stream until our first ACK after an EOF-form
    /// payload, so the sync's writes wait in our buffer instead of the primary's.
    pub(super) fn early_ack(&mut self, out: &mut Out) {
        if let State::FullSync {
            main,
            offset,
            released: false,
            ..
        } = &self.state
        {
            if *offset >= 0 {
                out.push(Action::Send {
                    link: main.id,
                    bytes: ack(0),
                });
            }
        }
    }

    /// The handshake is done: a leaving link freezes here (its applied offset is now exact)
    /// and PSYNC asks for our position, or `?` without one.
    pub(super) fn send_psync(&mut self, hist: &mut History, now_ms: i64, out: &mut Out) {
        let _ = now_ms;
        if let State::Handshake {
            leaving: Some(l), ..
        } = &mut self.state
        {
            l.frozen = true;
            out.push(Action::PauseReading { link: l.conn.id });
            self.cache_own_position(hist);
        }
        let ask = self
            .cached
            .as_ref()
            .map(|c| (c.replid.clone(), c.offset + 1));
        match &ask {
            Some((id, off)) => log(
                out,
                LogLevel::Notice,
                format!("Trying a partial resynchronization (request {id}:{off})."),
            ),
            None => log(
                out,
                LogLevel::Notice,
                "Partial resynchronization not possible (no cached master)",
            ),
        }
        let State::Handshake { main, asked, .. } = &mut self.state else {
            return;
        };
        *asked = Some(ask.clone());
        let actions = main.link.psync(
            ask.as_ref().map(|(id, off)| (id.as_str(), *off)),
            self.failover,
        );
        let id = main.id;
        for a in actions {
            if let link::Action::Send(bytes) = a {
                out.push(Action::Send { link: id, bytes });
            }
        }
    }

    pub(super) fn on_full_resync(
        &mut self,
        replid: Option<String>,
        offset: i64,
        now_ms: i64,
        out: &mut Out,
    ) {
        let main = match std::mem::replace(&mut self.state, State::Primary) {
            State::Handshake { main, leaving, .. } => {
                close_leaving(leaving, out);
                main
            }
            other => return self.state = other,
        };
        log(
            out,
            LogLevel::Notice,
            format!(
                "Full resync from master: {}:{offset}",
                replid.as_deref().unwrap_or("?")
            ),
        );
        self.sync_started_ms = Some(now_ms);
        self.state = State::FullSync {
            main,
            replid,
            offset,
            load: None,
            payload_done: false,
            released: false,
            buffer: Buffer::default(),
        };
    }

    pub(super) fn on_payload_start(&mut self, total: Option<u64>, out: &mut Out) {
        let load = self.next_load;
        let slot = match &mut self.state {
            State::FullSync { load, .. } => load,
            State::DualSync { dual, .. } => &mut dual.load,
            _ => return,
        };
        assert!(slot.is_none(), "one payload per sync");
        *slot = Some(load);
        self.next_load += 1;
        let size = total.map_or("streamed".to_string(), |t| t.to_string());
        log(
            out,
            LogLevel::Notice,
            format!("MASTER <-> REPLICA sync: receiving {size} bytes from master"),
        );
        out.push(Action::StartLoad { load, total });
    }

    /// `+CONTINUE`: the primary continues our history from exactly where we asked.
    pub(super) fn on_continue(
        &mut self,
        hist: &mut History,
        replid: Option<String>,
        now_ms: i64,
        out: &mut Out,
    ) {
        let (main, asked) = match std::mem::replace(&mut self.state, State::Primary) {
            State::Handshake {
                main,
                asked,
                leaving,
            } => {
                close_leaving(leaving, out);
                (main, asked)
            }
            other => return self.state = other,
        };
        let Some(Some((_, from))) = asked else {
            // A primary continuing `PSYNC ? -1` is not following the protocol.
            self.state = State::Handshake {
                main,
                leaving: None,
                asked,
            };
            return self.fail(
                hist,
                "Unexpected +CONTINUE to a full resync request",
                now_ms,
                out,
            );
        };
        assert_eq!(
            hist.offset() + 1,
            from,
            "what PSYNC asked for is exactly what this node holds"
        );
        let db = self.cached.take().map_or(-1, |c| c.db);
        hist.ensure_backlog();
        hist.set_upstream_db(db);
        if let Some(id) = replid {
            if hist.switch_to(id) {
                log(
                    out,
                    LogLevel::Notice,
                    format!("Master replication ID changed to {}", hist.ids.replid),
                );
                out.push(Action::DropSubReplicas);
            }
        }
        log(
            out,
            LogLevel::Notice,
            "MASTER <-> REPLICA sync: Master accepted a Partial Resynchronization.",
        );
        self.read_reploff = hist.offset();
        self.down_since_ms = None;
        self.last_error = None;
        let id = main.id;
        self.state = State::Streaming {
            main,
            pre_psync: false,
        };
        out.push(Action::StartStream { link: id, db });
    }

    /// `+DUALCHANNELSYNC`: open the snapshot connection to the same primary.
    pub(super) fn on_dual_offer(&mut self, now_ms: i64, out: &mut Out) {
        let main = match std::mem::replace(&mut self.state, State::Primary) {
            State::Handshake { main, leaving, .. } => {
                close_leaving(leaving, out);
                main
            }
            other => return self.state = other,
        };
        let Some((host, port)) = self.target.clone() else {
            unreachable!("a following node has a target");
        };
        log(
            out,
            LogLevel::Notice,
            "MASTER <-> REPLICA sync: Primary offers dual-channel sync; opening the RDB channel",
        );
        let id = self.new_link();
        let cfg = LinkConfig {
            rdb_channel: true,
            ..self.cfg.link.clone()
        };
        out.push(Action::Connect {
            link: id,
            host,
            port,
        });
        self.sync_started_ms = Some(now_ms);
        self.state = State::DualSync {
            main,
            dual: Box::new(Dual {
                rdb: Some(Conn {
                    id,
                    link: Link::new(cfg, now_ms),
                }),
                endoff: None,
                load: None,
                continued: false,
                continued_as: None,
            }),
            buffer: Buffer::default(),
        };
    }

    /// The snapshot connection read `$ENDOFF`: the main connection associates with it and
    /// PSYNCs from its offset.
    pub(super) fn on_endoff(&mut self, hist: &mut History, e: EndOff, now_ms: i64, out: &mut Out) {
        let text = format!("MASTER <-> REPLICA sync: received $ENDOFF: offset {}, replication id {}, RDB client id {}", e.offset, e.replid, e.client_id);
        log(out, LogLevel::Notice, text);
        let State::DualSync { main, dual, .. } = &mut self.state else {
            return;
        };
        let actions = main.link.dual_endoff(&e);
        dual.endoff = Some(e);
        self.run(hist, Which::Main, actions, now_ms, out);
    }

    /// Dual-channel: the main connection's PSYNC was accepted; if the snapshot is already
    /// loaded, the sync completes now.
    pub(super) fn on_dual_continue(
        &mut self,
        hist: &mut History,
        replid: Option<String>,
        now_ms: i64,
        out: &mut Out,
    ) {
        log(out, LogLevel::Notice, "MASTER <-> REPLICA sync: Master accepted a Partial Resynchronization, RDB load in background.");
        match std::mem::replace(&mut self.state, State::Primary) {
            State::DualSync {
                main,
                mut dual,
                buffer,
            } => {
                dual.continued = true;
                dual.continued_as = replid;
                self.state = State::DualSync { main, dual, buffer };
            }
            State::DualLoaded {
                main,
                endoff,
                load,
                buffer,
            } => {
                log(
                    out,
                    LogLevel::Notice,
                    "Dual channel sync - psync established after rdb load",
                );
                let pos = Position::dual(endoff, replid);
                self.install(hist, main, load, pos, buffer, out);
                self.sync_finished(now_ms);
            }
            other => self.state = other,
        }
    }
}

/// The new primary answered PSYNC: the frozen link to the old one is closed (what it held
/// past our offset is not ours).
fn close_leaving(leaving: Option<Leaving>, out: &mut Out) {
    if let Some(l) = leaving {
        assert!(
            l.frozen,
            "PSYNC is answered only after the leaving link froze"
        );
        out.push(Action::Close { link: l.conn.id });
    }
}

/// Keeps stream bytes while a snapshot loads; at the limit, the link stops being read.
fn buffer_bytes(
    buffer: &mut Buffer,
    bytes: &[u8],
    limit: usize,
    peak: &mut usize,
    link: LinkId,
    out: &mut Out,
) {
    buffer.bytes.extend_from_slice(bytes);
    *peak = (*peak).max(buffer.bytes.len());
    if limit > 0 && buffer.bytes.len() >= limit && !buffer.paused {
        buffer.paused = true;
        log(
            out,
            LogLevel::Warning,
            "Replication buffer limit reached, stopping buffering.",
        );
        out.push(Action::PauseReading { link });
    }
}
