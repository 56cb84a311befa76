//! The primary machine's behaviour, scenario by scenario.

use super::*;

fn id(c: char) -> String {
    std::iter::repeat_n(c, 40).collect()
}

/// A primary node with a backlog holding `history` bytes under id `a…a`.
struct T {
    p: Primary,
    h: History,
    now: i64,
    ids: u8,
}

impl T {
    fn new(cfg: PrimaryConfig) -> T {
        T {
            p: Primary::new(cfg, 0),
            h: History::new(id('a'), 1 << 20),
            now: 0,
            ids: 0,
        }
    }

    fn with_history(cfg: PrimaryConfig, bytes: usize) -> T {
        let mut t = T::new(cfg);
        t.h.ensure_backlog();
        t.h.append(&vec![b'x'; bytes]);
        t
    }

    fn fresh(&mut self) -> impl FnMut() -> String + '_ {
        move || {
            self.ids += 1;
            id(char::from(b'k' + self.ids))
        }
    }

    fn replconf(&mut self, c: ClientId, args: &[&str]) -> Vec<Action> {
        let a: Vec<&[u8]> = args.iter().map(|s| s.as_bytes()).collect();
        self.p.on_replconf(c, &a, self.now)
    }

    fn capa(&mut self, c: ClientId, capas: &[&str]) {
        for capa in capas {
            self.replconf(c, &["capa", capa]);
        }
    }

    fn psync(&mut self, c: ClientId, replid: &str, off: i64, up: Upstream) -> Vec<Action> {
        let now = self.now;
        let (p, h) = (&mut self.p, &mut self.h);
        let mut n = 0u8;
        let mut fresh = || {
            n += 1;
            id(char::from(b'p' + n))
        };
        p.on_psync(h, c, "10.0.0.1:7000", replid, off, up, now, &mut fresh)
    }

    fn sync(&mut self, c: ClientId) -> Vec<Action> {
        let now = self.now;
        let mut fresh = || id('s');
        self.p.on_sync(
            &mut self.h,
            c,
            "10.0.0.2:7001",
            Upstream::None,
            now,
            &mut fresh,
        )
    }

    fn tick(&mut self, up: Upstream) -> Vec<Action> {
        let now = self.now;
        let mut fresh = || id('t');
        self.p.on_tick(&mut self.h, up, now, &mut fresh)
    }

    fn flush(&mut self) -> Vec<Action> {
        self.p.flush(&mut self.h, Upstream::None, self.now, |_| 0)
    }

    /// A flush while `queued` bytes still wait on each replica's connection.
    fn flush_queued(&mut self, queued: impl Fn(ClientId) -> u64) -> Vec<Action> {
        self.p.flush(&mut self.h, Upstream::None, self.now, queued)
    }

    fn finish(&mut self, job: JobId, ok: &[ClientId]) -> Vec<Action> {
        let results: Vec<(ClientId, Result<(), String>)> =
            ok.iter().map(|c| (*c, Ok(()))).collect();
        self.p
            .on_job_finished(&mut self.h, job, &results, None, self.now)
    }

    fn state(&self, c: ClientId) -> ReplicaState {
        self.p.replica(c).expect("a replica").state
    }
}

fn no_delay() -> PrimaryConfig {
    PrimaryConfig {
        diskless_sync_delay_ms: 0,
        ..PrimaryConfig::default()
    }
}

fn sent(actions: &[Action], to: ClientId) -> Vec<u8> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Send { client, bytes } if *client == to => Some(bytes.clone()),
            _ => None,
        })
        .flatten()
        .collect()
}

fn streamed(actions: &[Action], to: ClientId) -> Vec<u8> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Stream { client, chunks } if *client == to => Some(chunks.concat()),
            _ => None,
        })
        .flatten()
        .collect()
}

fn reply(actions: &[Action], to: ClientId) -> Option<Reply> {
    actions.iter().find_map(|a| match a {
        Action::Reply { client, reply } if *client == to => Some(reply.clone()),
        _ => None,
    })
}

fn jobs(actions: &[Action]) -> Vec<SnapshotJob> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::StartSnapshot(j) => Some(j.clone()),
            _ => None,
        })
        .collect()
}

fn closed(actions: &[Action]) -> Vec<(ClientId, CloseReason)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Close { client, reason } => Some((*client, *reason)),
            _ => None,
        })
        .collect()
}

fn logged(actions: &[Action], text: &str) -> bool {
    actions
        .iter()
        .any(|a| matches!(a, Action::Log { text: t, .. } if t.contains(text)))
}

fn stats(t: &T) -> (u64, u64, u64) {
    let s = t.p.stats();
    (s.sync_full, s.sync_partial_ok, s.sync_partial_err)
}

#[test]
fn a_replica_asking_inside_the_backlog_continues_and_gets_the_rest_of_the_stream() {
    let mut t = T::with_history(no_delay(), 100);
    t.capa(7, &["eof", "psync2"]);
    let a = t.psync(7, &id('a'), 61, Upstream::None);
    assert_eq!(sent(&a, 7), format!("+CONTINUE {}\r\n", id('a')).as_bytes());
    assert!(logged(
        &a,
        "Sending 40 bytes of backlog starting from offset 61"
    ));
    assert_eq!(stats(&t), (0, 1, 0));
    assert_eq!(streamed(&t.flush(), 7), vec![b'x'; 40]);
    t.h.append(b"new");
    assert_eq!(streamed(&t.flush(), 7), b"new");
    assert!(t.flush().is_empty(), "nothing twice");
}

#[test]
fn the_stream_a_slow_replica_has_not_sent_stays_in_the_backlog_and_serves_a_psync() {
    let mut t = T::with_history(no_delay(), 100);
    t.capa(7, &["eof", "psync2"]);
    t.psync(7, &id('a'), 101, Upstream::None);
    let size = t.h.backlog_size() as i64;
    let big = vec![b'y'; 3 * size as usize];
    t.h.append(&big);
    // Replica 7 sends nothing: all it was queued stays, counted as backlog (as Valkey's shared
    // replication buffer), even past repl-backlog-size.
    let a = t.flush_queued(|_| 0);
    assert_eq!(streamed(&a, 7).len(), big.len());
    let sent_nothing = big.len() as u64;
    t.h.append(b"more");
    t.flush_queued(|c| if c == 7 { sent_nothing } else { 0 });
    let b = t.h.backlog().expect("a backlog");
    assert_eq!(
        b.first_byte(),
        101,
        "kept from replica 7's first unsent byte"
    );
    assert!(
        b.histlen() > size,
        "histlen {} past the size {size}",
        b.histlen()
    );
    // Another replica can continue from inside what is kept.
    t.capa(8, &["eof", "psync2"]);
    let a = t.psync(8, &id('a'), 150, Upstream::None);
    assert_eq!(sent(&a, 8), format!("+CONTINUE {}\r\n", id('a')).as_bytes());
    // Once replica 7 has sent everything (and 8 has too), the backlog trims to its size.
    t.flush_queued(|_| 0);
    t.flush_queued(|_| 0);
    let b = t.h.backlog().expect("a backlog");
    assert!(
        b.histlen() <= size,
        "histlen {} back within {size}",
        b.histlen()
    );
}

#[test]
fn a_replica_without_psync2_gets_a_bare_continue() {
    let mut t = T::with_history(no_delay(), 10);
    let a = t.psync(7, &id('a'), 11, Upstream::None);
    assert_eq!(sent(&a, 7), b"+CONTINUE\r\n");
}

#[test]
fn a_replica_that_asks_with_its_previous_id_after_promotion_continues() {
    let mut t = T::with_history(no_delay(), 159);
    t.h.shift(id('b'));
    t.capa(7, &["psync2"]);
    let a = t.psync(7, &id('a'), 160, Upstream::None);
    assert_eq!(sent(&a, 7), format!("+CONTINUE {}\r\n", id('b')).as_bytes());
    // Past the switch point the old id is no longer valid.
    t.h.append(b"y");
    let a = t.psync(8, &id('a'), 161, Upstream::None);
    assert!(logged(
        &a,
        "Requested offset for second ID was 161, but I can reply up to 160"
    ));
    assert_eq!(stats(&t), (1, 1, 1));
}

#[test]
fn an_id_mismatch_is_a_full_sync_counted_as_a_partial_error_but_a_requested_one_is_not() {
    let mut t = T::with_history(no_delay(), 10);
    t.capa(7, &["eof", "psync2"]);
    let a = t.psync(7, &id('z'), 5, Upstream::None);
    assert!(logged(
        &a,
        "Replication ID mismatch (Replica asked for 'zzzz"
    ));
    assert_eq!(stats(&t), (1, 0, 1));
    t.capa(8, &["eof", "psync2"]);
    let a = t.psync(8, "?", -1, Upstream::None);
    assert!(logged(&a, "Full resync requested by replica"));
    assert_eq!(stats(&t), (2, 0, 1));
}

#[test]
fn dualchannelsync_then_the_rdb_channel_sync_counts_one_full_sync_and_one_partial() {
    let cfg = PrimaryConfig {
        dual_channel: true,
        ..no_delay()
    };
    let mut t = T::with_history(cfg, 10);
    // Main connection: PSYNC refused, offered dual channel; nothing is counted as full yet.
    t.capa(7, &["eof", "psync2", "dual-channel"]);
    let a = t.psync(7, &id('z'), 5, Upstream::None);
    assert_eq!(sent(&a, 7), b"+DUALCHANNELSYNC\r\n");
    assert_eq!(stats(&t), (0, 0, 1));
    // Snapshot connection: REPLCONF capa eof rdb-only 1 rdb-channel 1, then SYNC.
    let a = t.replconf(8, &["capa", "eof", "rdb-only", "1", "rdb-channel", "1"]);
    assert_eq!(reply(&a, 8), Some(Reply::Ok));
    let a = t.sync(8);
    assert_eq!(stats(&t), (1, 0, 1));
    let job = jobs(&a).pop().expect("a snapshot starts");
    assert_eq!(job.target, Target::Socket);
    let endoff = format!("$ENDOFF:10 {} 0 8\r\n", id('a'));
    assert_eq!(job.members[0].prefix, endoff.as_bytes());
    assert_eq!(t.p.waiting_psync(), 1);
    // Writes during the transfer stay pinned for the main connection.
    t.h.append(b"during");
    t.finish(job.job, &[8]);
    assert!(
        !t.p.is_replica(8),
        "the snapshot connection is closed after its payload"
    );
    assert_eq!(
        t.p.waiting_psync(),
        1,
        "its pin outlives it until the main PSYNC"
    );
    // Main connection associates and continues from the snapshot's offset.
    assert_eq!(
        reply(&t.replconf(7, &["set-rdb-client-id", "8"]), 7),
        Some(Reply::Ok)
    );
    let a = t.psync(7, &id('a'), 11, Upstream::None);
    assert_eq!(sent(&a, 7), format!("+CONTINUE {}\r\n", id('a')).as_bytes());
    assert_eq!(stats(&t), (1, 1, 1));
    assert_eq!(t.state(7).info_name(), "bg_transfer");
    assert_eq!(t.p.replica(7).map(Replica::kind), Some("main-channel"));
    assert_eq!(t.p.waiting_psync(), 0);
    assert_eq!(streamed(&t.flush(), 7), b"during");
    t.replconf(7, &["ACK", "16"]);
    assert_eq!(t.state(7), ReplicaState::Online { next_offset: 17 });
}

#[test]
fn a_dual_channel_main_connection_gets_the_whole_stream_written_during_its_snapshot() {
    // More is written during the snapshot than the backlog's size: the snapshot connection's
    // pin holds it, and hands it to the main connection (released first, the backlog trimmed
    // to its size and the main connection fell behind at once).
    let cfg = PrimaryConfig {
        dual_channel: true,
        ..no_delay()
    };
    let mut t = T::with_history(cfg, 10);
    t.capa(7, &["eof", "psync2", "dual-channel"]);
    t.psync(7, &id('z'), 5, Upstream::None);
    t.replconf(8, &["capa", "eof", "rdb-only", "1", "rdb-channel", "1"]);
    let job = jobs(&t.sync(8)).pop().expect("a snapshot starts");
    let mut during = Vec::new();
    for i in 0..3000u32 {
        let cmd = vec![b'a' + (i % 26) as u8; 1024];
        t.h.append(&cmd);
        during.extend_from_slice(&cmd);
    }
    t.replconf(7, &["set-rdb-client-id", "8"]);
    let a = t.psync(7, &id('a'), 11, Upstream::None);
    assert_eq!(sent(&a, 7), format!("+CONTINUE {}\r\n", id('a')).as_bytes());
    assert_eq!(t.p.waiting_psync(), 0);
    assert_eq!(
        streamed(&t.flush(), 7),
        during,
        "every byte since the snapshot"
    );
    assert!(t.p.is_replica(7), "not dropped as fallen behind");
    t.finish(job.job, &[8]);
}

#[test]
fn an_unknown_rdb_client_id_is_refused() {
    let mut t = T::with_history(no_delay(), 10);
    let a = t.replconf(7, &["set-rdb-client-id", "99"]);
    assert_eq!(
        reply(&a, 7),
        Some(Reply::error("ERR Unrecognized RDB client id 99"))
    );
}

#[test]
fn a_dual_channel_snapshot_pin_is_released_after_the_grace_period() {
    let cfg = PrimaryConfig {
        dual_channel: true,
        rdb_client_grace_ms: 2_000,
        ..no_delay()
    };
    let mut t = T::with_history(cfg, 10);
    t.replconf(8, &["capa", "eof", "rdb-only", "1", "rdb-channel", "1"]);
    let job = jobs(&t.sync(8)).pop().expect("job").job;
    t.finish(job, &[8]);
    assert_eq!(t.h.backlog().map(|b| b.pinned()), Some(1));
    t.now = 1_000;
    t.tick(Upstream::None);
    assert_eq!(t.p.waiting_psync(), 1);
    t.now = 2_500;
    let a = t.tick(Upstream::None);
    assert!(logged(
        &a,
        "failed to establish PSYNC within the grace period (2 seconds). Freeing RDB client 8."
    ));
    assert_eq!(t.p.waiting_psync(), 0);
    assert_eq!(t.h.backlog().map(|b| b.pinned()), Some(0));
}

#[test]
fn a_replica_whose_own_link_is_down_refuses_every_sync_and_counts_nothing() {
    let mut t = T::with_history(no_delay(), 10);
    let a = t.psync(7, &id('a'), 11, Upstream::Down);
    assert_eq!(
        reply(&a, 7),
        Some(Reply::error(
            "NOMASTERLINK Can't SYNC while not connected with my master"
        ))
    );
    assert_eq!(stats(&t), (0, 0, 0));
    assert!(!t.p.is_replica(7));
}

#[test]
fn a_node_switching_primaries_serves_partial_resyncs_but_no_full_sync() {
    let mut t = T::with_history(no_delay(), 10);
    let a = t.psync(7, &id('a'), 5, Upstream::Switching);
    assert!(sent(&a, 7).starts_with(b"+CONTINUE"));
    let a = t.psync(8, &id('z'), 5, Upstream::Switching);
    assert!(matches!(reply(&a, 8), Some(Reply::Error(e)) if e.starts_with("NOMASTERLINK")));
    assert!(!t.p.is_replica(8));
    assert_eq!(stats(&t), (0, 1, 1));
}

#[test]
fn the_first_replica_of_a_primary_without_backlog_starts_a_new_history() {
    let mut t = T::new(no_delay());
    t.capa(7, &["eof"]);
    let a = t.psync(7, "?", -1, Upstream::None);
    assert!(logged(
        &a,
        "Replication backlog created, my new replication IDs are"
    ));
    assert_ne!(t.h.ids.replid, id('a'));
    assert!(t.h.backlog().is_some());
    // A replica's backlog keeps its primary's id.
    let mut t = T::new(no_delay());
    t.psync(7, "?", -1, Upstream::Up);
    assert_eq!(t.h.ids.replid, id('a'));
}

#[test]
fn the_diskless_delay_groups_replicas_and_max_replicas_starts_at_once() {
    let cfg = PrimaryConfig {
        diskless_sync_delay_ms: 5_000,
        diskless_sync_max_replicas: 3,
        ..PrimaryConfig::default()
    };
    let mut t = T::with_history(cfg, 10);
    for c in [7, 8] {
        t.capa(c, &["eof", "psync2"]);
        let a = t.psync(c, "?", -1, Upstream::None);
        assert!(jobs(&a).is_empty());
        assert!(logged(&a, "Delay next BGSAVE for diskless SYNC"));
    }
    t.now = 1_000;
    let a = t.tick(Upstream::None);
    assert!(jobs(&a).is_empty());
    assert_eq!(sent(&a, 7), b"\n", "keepalive while waiting");
    t.now = 5_000;
    let j = jobs(&t.tick(Upstream::None))
        .pop()
        .expect("due after the delay");
    assert_eq!(j.members.len(), 2);
    assert_eq!(j.target, Target::Socket);
    // No PING at cron second 0 (Valkey's loop 0 runs before any replica attaches).
    assert_eq!(
        j.members[0].prefix,
        format!("+FULLRESYNC {} 10\r\n", id('a')).as_bytes()
    );
    // Three waiting replicas start at once.
    for c in [9, 10, 11] {
        t.capa(c, &["eof"]);
        let a = t.psync(c, "?", -1, Upstream::None);
        assert_eq!(jobs(&a).len(), (c == 11) as usize);
    }
}

#[test]
fn a_replica_without_eof_or_diskless_off_gets_a_disk_snapshot_at_once() {
    let mut t = T::with_history(PrimaryConfig::default(), 10);
    let j = jobs(&t.psync(7, "?", -1, Upstream::None))
        .pop()
        .expect("at once");
    assert_eq!(j.target, Target::Disk);
    let cfg = PrimaryConfig {
        diskless_sync: false,
        ..PrimaryConfig::default()
    };
    let mut t = T::with_history(cfg, 10);
    t.capa(7, &["eof"]);
    let j = jobs(&t.psync(7, "?", -1, Upstream::None))
        .pop()
        .expect("at once");
    assert_eq!(j.target, Target::Disk);
}

#[test]
fn filtered_replicas_get_their_own_socket_snapshot_and_need_eof() {
    let cfg = PrimaryConfig {
        diskless_sync: false,
        ..PrimaryConfig::default()
    };
    let mut t = T::with_history(cfg, 10);
    t.replconf(7, &["rdb-filter-only", ""]);
    let a = t.sync(7);
    assert_eq!(
        reply(&a, 7),
        Some(Reply::error("ERR Filtered replica requires EOF capability"))
    );
    assert_eq!(stats(&t), (0, 0, 0));
    t.replconf(7, &["capa", "eof"]);
    let j = jobs(&t.sync(7)).pop().expect("a job");
    assert_eq!((j.target, j.filter.as_deref()), (Target::Socket, Some("")));
    assert_eq!(j.members[0].prefix, b"", "legacy SYNC: no +FULLRESYNC");
}

#[test]
fn an_eof_payload_holds_the_stream_until_the_first_ack() {
    let mut t = T::with_history(no_delay(), 10);
    t.capa(7, &["eof", "psync2"]);
    let j = jobs(&t.psync(7, "?", -1, Upstream::None))
        .pop()
        .expect("job");
    t.h.append(b"during");
    let a = t.finish(j.job, &[7]);
    assert!(logged(
        &a,
        "Synchronization with replica 10.0.0.1:7000 succeeded"
    ));
    assert_eq!(t.state(7), ReplicaState::AwaitFirstAck { next_offset: 11 });
    assert_eq!(t.state(7).info_name(), "online");
    assert!(
        streamed(&t.flush(), 7).is_empty(),
        "held until the first ACK"
    );
    t.replconf(7, &["ACK", "0"]);
    assert_eq!(streamed(&t.flush(), 7), b"during");
}

#[test]
fn an_ack_during_the_transfer_releases_the_stream_at_its_end() {
    let mut t = T::with_history(no_delay(), 10);
    t.capa(7, &["eof", "psync2"]);
    let j = jobs(&t.psync(7, "?", -1, Upstream::None))
        .pop()
        .expect("job");
    t.replconf(7, &["ACK", "0"]);
    t.h.append(b"during");
    t.finish(j.job, &[7]);
    assert_eq!(streamed(&t.flush(), 7), b"during");
}

#[test]
fn a_disk_payload_streams_from_the_snapshot_offset_at_once() {
    let mut t = T::with_history(PrimaryConfig::default(), 10);
    let j = jobs(&t.psync(7, "?", -1, Upstream::None))
        .pop()
        .expect("job");
    t.h.append(b"during");
    t.finish(j.job, &[7]);
    assert_eq!(t.state(7), ReplicaState::Online { next_offset: 11 });
    assert_eq!(streamed(&t.flush(), 7), b"during");
}

#[test]
fn an_rdb_only_replica_is_closed_after_its_snapshot_and_pins_nothing() {
    let mut t = T::with_history(no_delay(), 10);
    t.replconf(7, &["capa", "eof", "rdb-only", "1"]);
    let j = jobs(&t.sync(7)).pop().expect("job");
    assert_eq!(t.h.backlog().map(|b| b.pinned()), Some(0));
    let a = t.finish(j.job, &[7]);
    assert_eq!(closed(&a), vec![(7, CloseReason::RdbDelivered)]);
    assert!(!t.p.is_replica(7));
}

#[test]
fn a_failed_transfer_closes_its_replica_and_a_job_without_members_is_cancelled() {
    let mut t = T::with_history(no_delay(), 10);
    for c in [7, 8] {
        t.capa(c, &["eof"]);
    }
    t.psync(7, "?", -1, Upstream::None);
    t.psync(8, "?", -1, Upstream::None);
    // 7 and 8 are in two jobs (no delay: each started at once).
    let a =
        t.p.on_job_finished(&mut t.h, 1, &[(7, Err("broken pipe".into()))], None, 0);
    assert_eq!(closed(&a), vec![(7, CloseReason::TransferFailed)]);
    assert!(logged(
        &a,
        "Diskless rdb transfer to replica 10.0.0.1:7000 failed: broken pipe"
    ));
    let a = t.p.on_client_closed(&mut t.h, 8, 0);
    assert!(a.contains(&Action::CancelSnapshot { job: 2 }));
    assert!(logged(
        &a,
        "Background RDB transfer error: the last replica"
    ));
    assert_eq!(t.h.backlog().map(|b| b.pinned()), Some(0));
    // A job that could not start at all: every member failed.
    t.capa(9, &["eof"]);
    let j = jobs(&t.psync(9, "?", -1, Upstream::None))
        .pop()
        .expect("job");
    let a =
        t.p.on_job_finished(&mut t.h, j.job, &[], Some("cannot spawn"), 0);
    assert!(logged(&a, "Background RDB transfer error: cannot spawn"));
    assert_eq!(closed(&a), vec![(9, CloseReason::TransferFailed)]);
}

#[test]
fn replicas_arriving_during_a_transfer_get_the_next_one() {
    let cfg = PrimaryConfig {
        diskless_sync_delay_ms: 1_000,
        ..PrimaryConfig::default()
    };
    let mut t = T::with_history(cfg, 10);
    t.capa(7, &["eof"]);
    t.psync(7, "?", -1, Upstream::None);
    t.now = 1_000;
    let j = jobs(&t.tick(Upstream::None)).pop().expect("job");
    t.capa(8, &["eof"]);
    t.psync(8, "?", -1, Upstream::None);
    t.now = 2_000;
    let a = t.finish(j.job, &[7]);
    let next = jobs(&a).pop().expect("the next one starts when due");
    assert_eq!(
        next.members.iter().map(|m| m.client).collect::<Vec<_>>(),
        vec![8]
    );
}

#[test]
fn ack_offsets_never_go_backwards_and_wait_counts_online_replicas() {
    let mut t = T::with_history(no_delay(), 100);
    t.psync(7, &id('a'), 101, Upstream::None);
    t.psync(8, &id('a'), 101, Upstream::None);
    assert_eq!(t.replconf(7, &["ACK", "80"]), vec![Action::AcksChanged]);
    t.replconf(7, &["ACK", "50"]);
    assert_eq!(t.p.replica(7).map(|r| r.ack_offset), Some(80));
    t.replconf(8, &["ACK", "100"]);
    assert_eq!((t.p.acked(80), t.p.acked(90), t.p.acked(101)), (2, 1, 0));
    // An ACK from a client that is not a replica changes nothing and gets no reply.
    assert!(t.replconf(9, &["ACK", "5"]).is_empty());
}

#[test]
fn a_getack_is_streamed_once_when_wait_asks_for_it() {
    let mut t = T::with_history(no_delay(), 10);
    t.psync(7, &id('a'), 11, Upstream::None);
    t.p.request_getack();
    assert_eq!(
        streamed(&t.flush(), 7),
        b"*3\r\n$8\r\nREPLCONF\r\n$6\r\nGETACK\r\n$1\r\n*\r\n"
    );
    assert!(t.flush().is_empty());
    assert_eq!(
        t.replconf(7, &["GETACK", "*"]),
        vec![Action::GetAck { client: 7 }]
    );
}

#[test]
fn pings_every_period_of_cron_seconds_on_a_top_primary_with_replicas_only() {
    let cfg = PrimaryConfig {
        ping_period_secs: 2,
        ..no_delay()
    };
    let mut t = T::with_history(cfg, 10);
    t.now = 1_000;
    t.tick(Upstream::None);
    assert_eq!(t.h.offset(), 10, "no replicas: no PING");
    t.psync(7, &id('a'), 11, Upstream::None);
    for (now, offset) in [(2_000, 10), (3_000, 24), (4_000, 24), (5_000, 38)] {
        t.now = now;
        t.tick(Upstream::None);
        assert_eq!(t.h.offset(), offset, "at {now}");
    }
    t.now = 7_000;
    t.tick(Upstream::Up);
    assert_eq!(t.h.offset(), 38, "a replica never generates stream bytes");
}

#[test]
fn an_online_replica_silent_past_the_timeout_is_dropped_but_not_a_legacy_one() {
    let cfg = PrimaryConfig {
        timeout_ms: 10_000,
        ..PrimaryConfig::default()
    };
    let mut t = T::with_history(cfg, 10);
    t.psync(7, &id('a'), 11, Upstream::None);
    let j = jobs(&t.sync(8)).pop().expect("job");
    t.finish(j.job, &[8]);
    t.now = 10_000;
    assert!(closed(&t.tick(Upstream::None)).is_empty());
    t.now = 11_000;
    let a = t.tick(Upstream::None);
    assert_eq!(closed(&a), vec![(7, CloseReason::Timeout)]);
    assert!(logged(
        &a,
        "Disconnecting timedout replica (streaming sync): 10.0.0.1:7000"
    ));
    assert!(t.p.is_replica(8));
}

#[test]
fn a_replica_holding_past_the_output_limit_during_its_snapshot_is_dropped() {
    let cfg = PrimaryConfig {
        output_limit: OutputLimit {
            hard_bytes: 1,
            soft_bytes: 0,
            soft_ms: 0,
        },
        ..PrimaryConfig::default()
    };
    let mut t = T::with_history(cfg, 10);
    t.psync(7, "?", -1, Upstream::None);
    // The hard limit is never below the backlog size (1 MiB here).
    t.h.append(&vec![b'y'; 1 << 19]);
    t.now = 1_000;
    assert!(closed(&t.tick(Upstream::None)).is_empty());
    t.h.append(&vec![b'y'; 1 << 19]);
    t.now = 2_000;
    let a = t.tick(Upstream::None);
    assert_eq!(closed(&a), vec![(7, CloseReason::OutputLimit)]);
    assert!(logged(
        &a,
        "closed asynchronously for overcoming of output buffer limits"
    ));
    assert_eq!(t.h.backlog().map(|b| b.pinned()), Some(0));
}

#[test]
fn the_soft_output_limit_needs_its_time() {
    let lim = OutputLimit {
        hard_bytes: 0,
        soft_bytes: 10,
        soft_ms: 1_000,
    };
    let mut since = None;
    assert!(!over_limit(10, lim, 0, &mut since, 0));
    assert!(!over_limit(10, lim, 0, &mut since, 1_000));
    assert!(over_limit(10, lim, 0, &mut since, 1_001));
    assert!(!over_limit(9, lim, 0, &mut since, 1_002));
    assert_eq!(since, None, "under it, the timer restarts");
}

#[test]
fn a_replica_whose_next_byte_left_the_backlog_is_dropped() {
    let mut t = T::with_history(no_delay(), 10);
    t.psync(7, &id('a'), 11, Upstream::None);
    // Unpinned by hand to simulate a lost pin: the machine drops rather than skips bytes.
    if let Some(b) = t.h.backlog_mut() {
        b.unpin(7);
    }
    // In small appends, so that the blocks holding its next byte are released (bytes still
    // held in memory, even before the window, would be served).
    for _ in 0..3072 {
        t.h.append(&[b'z'; 1024]);
    }
    let a = t.flush();
    assert_eq!(closed(&a), vec![(7, CloseReason::FellBehind)]);
}

#[test]
fn good_replicas_count_online_ones_within_the_lag_and_gate_writes() {
    let cfg = PrimaryConfig {
        min_replicas_to_write: 1,
        min_replicas_max_lag_ms: 10_000,
        ..no_delay()
    };
    let mut t = T::with_history(cfg.clone(), 10);
    t.now = 1_000;
    t.tick(Upstream::None);
    assert!(t.p.min_replicas_unmet(Upstream::None));
    assert!(!t.p.min_replicas_unmet(Upstream::Up), "ignored on replicas");
    t.psync(7, &id('a'), 11, Upstream::None);
    t.p.on_config(cfg, 1_000);
    assert_eq!(t.p.good_replicas(), 1, "recounted on CONFIG SET");
    t.now = 12_000;
    t.tick(Upstream::None);
    assert_eq!(t.p.good_replicas(), 0);
}

#[test]
fn the_backlog_is_freed_after_its_ttl_without_replicas_and_the_history_renamed() {
    let cfg = PrimaryConfig {
        backlog_ttl_ms: 5_000,
        ..no_delay()
    };
    let mut t = T::with_history(cfg, 10);
    t.psync(7, &id('a'), 11, Upstream::None);
    t.now = 1_000;
    t.p.on_client_closed(&mut t.h, 7, 1_000);
    t.now = 6_000;
    t.tick(Upstream::None);
    assert!(t.h.backlog().is_some());
    t.now = 7_000;
    let a = t.tick(Upstream::None);
    assert!(logged(&a, "Replication backlog freed after 5 seconds"));
    assert!(t.h.backlog().is_none());
    assert_eq!(t.h.ids.replid, id('t'));
}

#[test]
fn a_history_change_disconnects_every_replica_and_releases_every_pin() {
    let cfg = PrimaryConfig {
        dual_channel: true,
        ..no_delay()
    };
    let mut t = T::with_history(cfg, 10);
    t.psync(7, &id('a'), 11, Upstream::None);
    t.replconf(8, &["capa", "eof", "rdb-only", "1", "rdb-channel", "1"]);
    let j = jobs(&t.sync(8)).pop().expect("job");
    t.finish(j.job, &[8]);
    let a = t.p.disconnect_all(&mut t.h, 0);
    assert_eq!(closed(&a), vec![(7, CloseReason::HistoryChanged)]);
    assert_eq!((t.p.replica_count(), t.p.waiting_psync()), (0, 0));
    assert_eq!(t.h.backlog().map(|b| b.pinned()), Some(0));
}

#[test]
fn sync_from_a_replica_already_attached_is_ignored() {
    let mut t = T::with_history(no_delay(), 10);
    t.psync(7, &id('a'), 11, Upstream::None);
    assert!(t.psync(7, &id('a'), 11, Upstream::None).is_empty());
    assert!(t.sync(7).is_empty());
    assert_eq!(stats(&t), (0, 1, 0));
}

#[test]
fn info_names_and_address() {
    let mut t = T::with_history(no_delay(), 10);
    t.replconf(7, &["listening-port", "6380", "ip-address", "10.9.8.7"]);
    t.psync(7, &id('a'), 11, Upstream::None);
    t.psync(8, &id('a'), 11, Upstream::None);
    let r7 = t.p.replica(7).expect("replica");
    assert_eq!(
        (r7.ip(), r7.info.listening_port, r7.kind()),
        ("10.9.8.7", 6380, "replica")
    );
    assert_eq!(t.p.replica(8).map(Replica::ip), Some("10.0.0.1"));
    let _ = t.fresh();
}

#[test]
fn pressure_names_the_replica_holding_most_of_its_limit_in_any_state() {
    let cfg = PrimaryConfig {
        output_limit: OutputLimit {
            hard_bytes: 4 << 20,
            soft_bytes: 2 << 20,
            soft_ms: 60_000,
        },
        ..no_delay()
    };
    let mut t = T::with_history(cfg, 10);
    assert_eq!(t.p.pressure(&t.h, |_| 0), None, "no replica");
    // 7 is in its snapshot: the stream since the snapshot is pinned for it.
    t.psync(7, "?", -1, Upstream::None);
    t.tick(Upstream::None);
    t.h.append(&vec![b'y'; 1 << 20]);
    let p = t.p.pressure(&t.h, |_| 0).expect("7 holds the stream");
    assert_eq!((p.replica, p.held, p.limit), (7, 1 << 20, 2 << 20));
    assert!((p.level() - 0.5).abs() < 1e-9);
    // A streaming replica holds what is queued on its connection (the executor's count).
    let next = t.h.offset() + 1;
    t.psync(8, &id('a'), next, Upstream::None);
    let p = t.p.pressure(&t.h, |c| if c == 8 { 3 << 20 } else { 0 });
    assert_eq!(p.map(|p| p.replica), Some(8));
    assert!(p.is_some_and(|p| p.level() > 1.0));
    assert_eq!(t.p.replica_name(8), "10.0.0.1:0");
}
