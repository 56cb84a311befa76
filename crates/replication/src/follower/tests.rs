//! The follower machine's behaviour, scenario by scenario.

use super::*;

fn id(c: char) -> String {
    std::iter::repeat_n(c, 40).collect()
}

fn cfg(dual: bool) -> FollowerConfig {
    FollowerConfig {
        link: LinkConfig {
            listening_port: 7000,
            announce_ip: None,
            auth: None,
            dual_channel: dual,
            rdb_channel: false,
            timeout_ms: 10_000,
        },
        buffer_limit_bytes: 0,
        retry_ms: 1_000,
    }
}

struct T {
    f: Follower,
    h: History,
    now: i64,
}

impl T {
    fn new(dual: bool) -> T {
        let mut h = History::new(id('a'), 1 << 20);
        h.ensure_backlog();
        T {
            f: Follower::new(cfg(dual), 0),
            h,
            now: 0,
        }
    }

    fn replicaof(&mut self, target: Option<(&str, u16)>) -> (Reply, Vec<Action>) {
        let t = target.map(|(h, p)| (h.to_string(), p));
        let mut fresh = || id('n');
        self.f
            .replicaof(&mut self.h, t, "id=3 addr=x", self.now, &mut fresh)
    }

    fn data(&mut self, link: LinkId, bytes: &[u8]) -> Vec<Action> {
        self.f.on_data(&mut self.h, link, bytes, self.now)
    }

    /// Connects `link` and answers the handshake; returns the actions of the last step
    /// (which carry the PSYNC).
    fn handshake(&mut self, link: LinkId) -> Vec<Action> {
        self.f.on_connected(&mut self.h, link, self.now);
        self.data(link, b"+PONG\r\n");
        self.data(link, b"+OK\r\n+OK\r\n")
    }

    /// Applies every `Apply` the way an executor would: one unit per call.
    fn apply(&mut self, actions: &[Action]) {
        for a in actions {
            if let Action::Apply { link, bytes } = a {
                self.f.on_applied(&mut self.h, *link, bytes, 0);
            }
        }
    }

    fn load_done(&mut self, load: LoadId, r: Result<i64, String>) -> Vec<Action> {
        let mut fresh = || id('l');
        self.f
            .on_load_done(&mut self.h, load, r, self.now, &mut fresh)
    }

    fn tick(&mut self) -> Vec<Action> {
        self.f.on_tick(&mut self.h, self.now)
    }

    /// A node streaming from `host:6379` at offset `off` of history `a…a`.
    fn streaming(off: usize) -> (T, LinkId) {
        let mut t = T::new(false);
        t.h.append(&vec![b'x'; off]);
        let (_, a) = t.replicaof(Some(("old", 6379)));
        let link = connect_of(&a).expect("connects");
        t.handshake(link);
        let a = t.data(link, format!("+CONTINUE {}\r\n", id('a')).as_bytes());
        assert!(a.contains(&Action::StartStream { link, db: -1 }));
        assert!(t.f.link_up());
        (t, link)
    }
}

fn connect_of(actions: &[Action]) -> Option<LinkId> {
    actions.iter().find_map(|a| match a {
        Action::Connect { link, .. } => Some(*link),
        _ => None,
    })
}

fn sent(actions: &[Action], to: LinkId) -> Vec<u8> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Send { link, bytes } if *link == to => Some(bytes.clone()),
            _ => None,
        })
        .flatten()
        .collect()
}

fn load_of(actions: &[Action]) -> Option<LoadId> {
    actions.iter().find_map(|a| match a {
        Action::StartLoad { load, .. } => Some(*load),
        _ => None,
    })
}

fn psync(replid: &str, off: i64) -> Vec<u8> {
    crate::proto::command(&["PSYNC", replid, &off.to_string()])
}

fn logged(actions: &[Action], text: &str) -> bool {
    actions
        .iter()
        .any(|a| matches!(a, Action::Log { text: t, .. } if t.contains(text)))
}

#[test]
fn a_primary_told_replicaof_is_a_replica_at_once_and_asks_with_its_own_history() {
    let mut t = T::new(false);
    t.h.append(&[b'x'; 100]);
    let (reply, a) = t.replicaof(Some(("10.0.0.9", 6379)));
    assert_eq!(reply, Reply::Ok);
    assert!(
        a.contains(&Action::BecameReplica),
        "writes refused from now"
    );
    assert!(logged(
        &a,
        "REPLICAOF 10.0.0.9:6379 enabled (user request from 'id=3 addr=x')"
    ));
    assert!(t.f.is_replica());
    assert_eq!(t.f.target(), Some(("10.0.0.9", 6379)));
    assert_eq!(t.f.role_state(), Some("connecting"));
    assert!(!t.f.link_up());
    assert_eq!(t.f.role_offset(&t.h), -1);
    let link = connect_of(&a).expect("connects at once");
    let a = t.f.on_connected(&mut t.h, link, 0);
    assert_eq!(sent(&a, link), b"*1\r\n$4\r\nPING\r\n");
    assert_eq!(t.f.role_state(), Some("handshake"));
    t.data(link, b"+PONG\r\n");
    let a = t.data(link, b"+OK\r\n+OK\r\n");
    assert_eq!(sent(&a, link), psync(&id('a'), 101));
}

#[test]
fn a_restarted_or_promoted_node_asks_with_its_previous_id_before_adding_a_byte() {
    let mut t = T::new(false);
    t.h.append(&[b'x'; 100]);
    t.h.shift(id('b'));
    let (_, a) = t.replicaof(Some(("p", 1)));
    let link = connect_of(&a).expect("connect");
    assert_eq!(sent(&t.handshake(link), link), psync(&id('a'), 101));
    // +CONTINUE under the new primary's id: ours becomes the secondary id, still valid for
    // replicas that were told it.
    let a = t.data(link, format!("+CONTINUE {}\r\n", id('c')).as_bytes());
    assert!(a.contains(&Action::DropSubReplicas));
    assert_eq!(
        (t.h.ids.replid.as_str(), t.h.ids.replid2.as_str()),
        (id('c').as_str(), id('b').as_str())
    );
    assert_eq!(t.h.ids.second_offset, 101);
}

#[test]
fn a_second_replicaof_cancels_the_first() {
    let mut t = T::new(false);
    let (_, a) = t.replicaof(Some(("b", 1)));
    let b = connect_of(&a).expect("connect");
    t.f.on_connected(&mut t.h, b, 0);
    let (reply, a) = t.replicaof(Some(("c", 2)));
    assert_eq!(reply, Reply::Ok);
    assert!(a.contains(&Action::Close { link: b }));
    let c = connect_of(&a).expect("connects to the later one");
    assert_eq!(t.f.target(), Some(("c", 2)));
    // Whatever the first one's connection still reports is ignored.
    assert!(t.data(b, b"+PONG\r\n").is_empty());
    assert!(t.f.on_closed(&mut t.h, b, false, 0).is_empty());
    assert_eq!(t.f.role_state(), Some("connecting"));
    t.f.on_connected(&mut t.h, c, 0);
    assert_eq!(t.f.role_state(), Some("handshake"));
}

#[test]
fn replicaof_the_primary_already_followed_changes_nothing() {
    let (mut t, link) = T::streaming(10);
    let (reply, a) = t.replicaof(Some(("old", 6379)));
    assert_eq!(
        reply,
        Reply::status("OK Already connected to specified master")
    );
    assert!(a.is_empty());
    assert!(t.f.link_up());
    // Also while still connecting to it.
    let (_, a) = t.replicaof(Some(("new", 1)));
    assert!(!a.contains(&Action::Close { link }));
    let (reply, a) = t.replicaof(Some(("new", 1)));
    assert_eq!(
        reply,
        Reply::status("OK Already connected to specified master")
    );
    assert!(a.is_empty());
}

#[test]
fn a_replica_keeps_applying_the_old_stream_until_the_new_primary_answers_then_asks_exactly() {
    let (mut t, old) = T::streaming(10);
    let (_, a) = t.replicaof(Some(("new", 1)));
    assert!(
        !a.contains(&Action::Close { link: old }),
        "the old link stays"
    );
    assert_eq!(t.f.target(), Some(("new", 1)));
    assert_eq!(t.f.upstream(), Upstream::Switching);
    let new = connect_of(&a).expect("connect");
    // The old primary's stream is still applied, and ACKed.
    let a = t.data(old, b"abc");
    assert_eq!(
        a,
        vec![Action::Apply {
            link: old,
            bytes: b"abc".to_vec()
        }]
    );
    t.apply(&a);
    assert_eq!(t.h.offset(), 13);
    t.now = 1_000;
    assert_eq!(
        sent(&t.tick(), old),
        crate::proto::command(&["REPLCONF", "ACK", "13"])
    );
    // The new handshake is done: the old link freezes and PSYNC asks for exactly what we hold.
    let a = t.handshake(new);
    assert!(a.contains(&Action::PauseReading { link: old }));
    assert_eq!(sent(&a, new), psync(&id('a'), 14));
    assert!(
        t.data(old, b"late").is_empty(),
        "nothing more is applied from it"
    );
    let a = t.data(new, format!("+CONTINUE {}\r\nxy", id('a')).as_bytes());
    assert!(
        a.contains(&Action::Close { link: old }),
        "the new primary took over"
    );
    assert!(t.data(old, b"later").is_empty());
    assert!(
        !a.iter().any(|a| matches!(a, Action::StartLoad { .. })),
        "a partial resync never loads"
    );
    t.apply(&a);
    assert_eq!(t.h.offset(), 15);
    assert!(t.f.link_up());
}

#[test]
fn a_refused_psync_thaws_the_old_stream_where_it_stopped() {
    let (mut t, old) = T::streaming(10);
    let (_, a) = t.replicaof(Some(("new", 1)));
    let new = connect_of(&a).expect("connect");
    t.handshake(new);
    // Bytes the old primary sent meanwhile are held, not applied.
    assert!(t.data(old, b"abc").is_empty());
    let a = t.data(
        new,
        b"-NOMASTERLINK Can't SYNC while not connected with my master\r\n",
    );
    assert!(a.contains(&Action::Close { link: new }));
    assert!(a.contains(&Action::ResumeReading { link: old }));
    assert!(a.contains(&Action::Apply {
        link: old,
        bytes: b"abc".to_vec()
    }));
    t.apply(&a);
    assert_eq!(t.h.offset(), 13);
    assert_eq!(t.f.upstream(), Upstream::Switching);
    // The next attempt asks from the new position.
    t.now = 1_000;
    let new = connect_of(&t.tick()).expect("retry");
    assert_eq!(sent(&t.handshake(new), new), psync(&id('a'), 14));
}

#[test]
fn a_later_replicaof_while_the_psync_is_outstanding_thaws_the_old_stream() {
    let (mut t, old) = T::streaming(10);
    let (_, a) = t.replicaof(Some(("b", 1)));
    let b = connect_of(&a).expect("connect");
    t.handshake(b);
    assert!(t.data(old, b"abc").is_empty(), "frozen");
    let (_, a) = t.replicaof(Some(("c", 2)));
    assert!(a.contains(&Action::Close { link: b }));
    assert!(a.contains(&Action::ResumeReading { link: old }));
    t.apply(&a);
    assert_eq!(t.h.offset(), 13, "the old stream goes on until c answers");
    let c = connect_of(&a).expect("connect");
    assert_eq!(sent(&t.handshake(c), c), psync(&id('a'), 14));
}

#[test]
fn going_back_to_the_old_primary_while_its_link_streams_resumes_it() {
    let (mut t, old) = T::streaming(10);
    let (_, a) = t.replicaof(Some(("unreachable", 1)));
    let new = connect_of(&a).expect("connect");
    // The new primary cannot be reached: retried, and the old stream still applies.
    let a = t.f.on_closed(&mut t.h, new, false, 0);
    assert!(logged(&a, "Connection with master lost during the sync"));
    assert_eq!(t.f.role_state(), Some("connect"));
    let a = t.data(old, b"abc");
    t.apply(&a);
    let (reply, a) = t.replicaof(Some(("old", 6379)));
    assert_eq!(reply, Reply::Ok);
    assert!(logged(&a, "still streams: following it again"));
    assert!(t.f.link_up());
    let a = t.data(old, b"d");
    t.apply(&a);
    assert_eq!(t.h.offset(), 14);
}

#[test]
fn a_full_sync_loads_aside_buffers_the_stream_and_swaps_atomically() {
    let (mut t, link) = T::streaming(10);
    // The link is lost and the next attempt gets a full sync.
    let a = t.f.on_closed(&mut t.h, link, false, 0);
    assert!(logged(&a, "Caching the disconnected master state."));
    assert_eq!(t.f.cached().map(|c| c.offset), Some(10));
    let link = connect_of(&t.tick()).expect("reconnects at once");
    assert_eq!(sent(&t.handshake(link), link), psync(&id('a'), 11));
    let mark = "0123456789abcdef0123456789abcdef01234567";
    let a = t.data(
        link,
        format!("+FULLRESYNC {} 500\r\n$EOF:{mark}\r\nRDB{mark}SEL", id('b')).as_bytes(),
    );
    assert_eq!(t.f.role_state(), Some("sync"));
    assert!(t.f.sync_in_progress());
    let load = load_of(&a).expect("a load starts");
    assert!(a.contains(&Action::LoadBytes {
        load,
        bytes: b"RDB".to_vec()
    }));
    assert!(a.contains(&Action::LoadEnd { load }));
    assert_eq!(
        sent(&a, link),
        crate::proto::command(&["REPLCONF", "ACK", "0"]),
        "early ACK"
    );
    assert!(!a
        .iter()
        .any(|a| matches!(a, Action::SwapDataset { .. } | Action::Apply { .. })));
    t.data(link, b"ECT");
    assert_eq!(t.f.buffer_size(), 6);
    assert_eq!(
        (t.h.ids.replid.as_str(), t.h.offset()),
        (id('a').as_str(), 10),
        "old history until the swap"
    );
    let a = t.load_done(load, Ok(3));
    let swap = a.iter().position(|x| *x == Action::SwapDataset { load });
    let apply = a.iter().position(|x| {
        *x == Action::Apply {
            link,
            bytes: b"SELECT".to_vec(),
        }
    });
    assert!(
        swap < apply && apply.is_some(),
        "swap, then the buffered stream: {a:?}"
    );
    assert!(a.contains(&Action::DropSubReplicas));
    assert!(a.contains(&Action::StartStream { link, db: 3 }));
    assert_eq!(
        (t.h.ids.replid.as_str(), t.h.offset()),
        (id('b').as_str(), 500)
    );
    assert_eq!(t.f.cached(), None);
    assert!(t.f.link_up());
}

#[test]
fn a_failed_load_keeps_the_old_data_and_the_position_it_asks_for_next() {
    let (mut t, link) = T::streaming(10);
    t.f.on_closed(&mut t.h, link, false, 0);
    let link = connect_of(&t.tick()).expect("reconnect");
    t.handshake(link);
    let a = t.data(
        link,
        format!("+FULLRESYNC {} 500\r\n$3\r\nRDB", id('b')).as_bytes(),
    );
    let load = load_of(&a).expect("load");
    let a = t.load_done(load, Err("bad RDB".into()));
    assert!(a.contains(&Action::Close { link }));
    assert!(!a.iter().any(|x| matches!(x, Action::SwapDataset { .. })));
    assert_eq!(
        t.f.last_error(),
        Some("Failed trying to load the MASTER synchronization DB: bad RDB")
    );
    t.now = 1_000;
    let link = connect_of(&t.tick()).expect("retried after a delay");
    assert_eq!(sent(&t.handshake(link), link), psync(&id('a'), 11));
}

#[test]
fn a_timed_out_link_is_cached_like_a_lost_one_but_a_protocol_error_never_is() {
    let (mut t, _) = T::streaming(10);
    t.now = 10_001;
    let a = t.tick();
    assert!(logged(&a, "MASTER timeout: no data nor PING received"));
    assert_eq!(t.f.cached().map(|c| c.offset), Some(10));
    let (mut t, link) = T::streaming(10);
    t.f.on_closed(&mut t.h, link, true, 0);
    assert_eq!(t.f.cached(), None);
    let link = connect_of(&t.tick()).expect("reconnect");
    assert_eq!(
        sent(&t.handshake(link), link),
        b"*3\r\n$5\r\nPSYNC\r\n$1\r\n?\r\n$2\r\n-1\r\n"
    );
}

#[test]
fn a_continue_to_a_full_sync_request_is_a_protocol_failure() {
    // A replica started without data has nothing to ask for.
    let mut t = T::new(false);
    t.f.follow_at_start("p".into(), 1, 0);
    let link = connect_of(&t.tick()).expect("link");
    assert_eq!(
        sent(&t.handshake(link), link),
        b"*3\r\n$5\r\nPSYNC\r\n$1\r\n?\r\n$2\r\n-1\r\n"
    );
    let a = t.data(link, b"+CONTINUE\r\n");
    assert!(logged(&a, "Unexpected +CONTINUE to a full resync request"));
    assert!(!t.f.link_up());
}

fn dual_start() -> (T, LinkId, LinkId) {
    let mut t = T::new(true);
    t.h.append(&[b'x'; 10]);
    let (_, a) = t.replicaof(Some(("p", 1)));
    let main = connect_of(&a).expect("connect");
    t.handshake(main);
    let a = t.data(main, b"+DUALCHANNELSYNC\r\n");
    let rdb = connect_of(&a).expect("the snapshot connection");
    assert_eq!(
        t.f.role_state(),
        Some("handshake"),
        "until the main PSYNC is answered"
    );
    assert!(!t.f.sync_in_progress());
    let a = t.f.on_connected(&mut t.h, rdb, 0);
    assert!(sent(&a, rdb).starts_with(b"*9\r\n$8\r\nREPLCONF\r\n$4\r\ncapa"));
    assert_eq!(sent(&t.data(rdb, b"+OK\r\n"), rdb), b"SYNC\r\n");
    let a = t.data(rdb, format!("$ENDOFF:853 {} 0 42\r\n", id('e')).as_bytes());
    assert_eq!(
        sent(&a, main),
        crate::proto::command(&["REPLCONF", "set-rdb-client-id", "42"])
    );
    assert_eq!(sent(&t.data(main, b"+OK\r\n"), main), psync(&id('e'), 854));
    (t, main, rdb)
}

#[test]
fn dual_channel_continue_first_then_load_swaps_and_applies_the_buffer() {
    let (mut t, main, rdb) = dual_start();
    let a = t.data(main, format!("+CONTINUE {}\r\nabc", id('e')).as_bytes());
    assert!(
        !a.iter().any(|x| matches!(x, Action::Apply { .. })),
        "buffered"
    );
    assert_eq!(t.f.role_state(), Some("sync"));
    assert!(t.f.sync_in_progress());
    let a = t.data(rdb, b"$3\r\nRDB");
    let load = load_of(&a).expect("load");
    assert!(a.contains(&Action::LoadEnd { load }));
    assert!(
        t.f.on_closed(&mut t.h, rdb, false, 0).is_empty(),
        "closed after the payload: fine"
    );
    let a = t.load_done(load, Ok(0));
    assert!(a.contains(&Action::SwapDataset { load }));
    assert!(a.contains(&Action::Apply {
        link: main,
        bytes: b"abc".to_vec()
    }));
    assert_eq!(
        sent(&a, main),
        crate::proto::command(&["REPLCONF", "ACK", "853"])
    );
    assert_eq!(
        (t.h.ids.replid.as_str(), t.h.offset()),
        (id('e').as_str(), 853)
    );
    t.apply(&a);
    assert_eq!(t.h.offset(), 856);
}

#[test]
fn dual_channel_load_first_waits_for_the_continue() {
    let (mut t, main, rdb) = dual_start();
    let load = load_of(&t.data(rdb, b"$3\r\nRDB")).expect("load");
    let a = t.load_done(load, Ok(0));
    assert!(a.contains(&Action::Close { link: rdb }));
    assert!(!a.contains(&Action::SwapDataset { load }));
    assert!(matches!(t.f.state(), State::DualLoaded { .. }));
    assert_eq!(t.f.role_state(), Some("handshake"));
    let a = t.data(main, format!("+CONTINUE {}\r\n", id('e')).as_bytes());
    assert!(logged(&a, "psync established after rdb load"));
    assert!(a.contains(&Action::SwapDataset { load }));
    assert!(t.f.link_up());
}

/// Regression (simulator seed 1931 of the first long run): the primary was promoted between
/// `$ENDOFF` and the main connection's PSYNC, and continued the snapshot's history under its
/// new id. The replica must take that id (the snapshot's one valid up to the snapshot), not
/// keep the snapshot's id while applying the new history's bytes — which would let it continue
/// a diverged history later, and tell its own replicas a wrong one.
#[test]
fn a_dual_channel_continue_under_a_new_id_renames_the_loaded_history() {
    for load_first in [false, true] {
        let (mut t, main, rdb) = dual_start();
        let load = load_of(&t.data(rdb, b"$3\r\nRDB")).expect("load");
        let mut a = Vec::new();
        if load_first {
            a.extend(t.load_done(load, Ok(0)));
        }
        a.extend(t.data(main, format!("+CONTINUE {}\r\n", id('x')).as_bytes()));
        if !load_first {
            a.extend(t.load_done(load, Ok(0)));
        }
        assert!(a.contains(&Action::SwapDataset { load }));
        assert!(logged(&a, "Master replication ID changed to xxxx"));
        let ids = &t.h.ids;
        assert_eq!(
            (
                ids.replid.as_str(),
                ids.replid2.as_str(),
                ids.second_offset,
                ids.offset
            ),
            (id('x').as_str(), id('e').as_str(), 854, 853)
        );
    }
}

#[test]
fn a_failure_on_either_dual_channel_connection_abandons_the_whole_sync() {
    let (mut t, main, rdb) = dual_start();
    let load = load_of(&t.data(rdb, b"$10\r\nRDB")).expect("load");
    let a = t.f.on_closed(&mut t.h, rdb, false, 0);
    assert!(a.contains(&Action::Close { link: main }));
    assert!(a.contains(&Action::AbortLoad { load }));
    assert_eq!(t.f.role_state(), Some("connect"));
    assert_eq!(t.h.offset(), 10, "the old history stays");
    let (mut t, main, rdb) = dual_start();
    let a = t.data(main, format!("+FULLRESYNC {} 9\r\n", id('e')).as_bytes());
    assert!(a.contains(&Action::Close { link: rdb }));
    assert!(!t.f.sync_in_progress());
}

#[test]
fn the_local_buffer_stops_reading_at_its_limit_and_resumes_after_the_swap() {
    let mut t = T::new(true);
    t.f.on_config(FollowerConfig {
        buffer_limit_bytes: 4,
        ..cfg(true)
    });
    let (mut t, main, rdb) = {
        let (mut d, m, r) = dual_start();
        d.f.on_config(t.f.config().clone());
        t = d;
        (t, m, r)
    };
    let a = t.data(main, format!("+CONTINUE {}\r\nabcde", id('e')).as_bytes());
    assert!(a.contains(&Action::PauseReading { link: main }));
    assert!(logged(
        &a,
        "Replication buffer limit reached, stopping buffering."
    ));
    assert_eq!(t.f.paused_link(), Some(main));
    let load = load_of(&t.data(rdb, b"$0\r\n")).expect("load");
    let a = t.load_done(load, Ok(0));
    assert!(a.contains(&Action::ResumeReading { link: main }));
    assert_eq!(t.f.paused_link(), None);
    assert_eq!(t.f.buffer_peak(), 5);
}

#[test]
fn replicaof_no_one_cancels_a_sync_and_promotes_keeping_the_old_id_valid() {
    let (mut t, main, rdb) = dual_start();
    let load = load_of(&t.data(rdb, b"$10\r\nRDB")).expect("load");
    let (reply, a) = t.replicaof(None);
    assert_eq!(reply, Reply::Ok);
    for x in [
        Action::Close { link: main },
        Action::Close { link: rdb },
        Action::AbortLoad { load },
        Action::DropSubReplicas,
        Action::BecamePrimary,
    ] {
        assert!(a.contains(&x), "{x:?} in {a:?}");
    }
    assert!(logged(
        &a,
        "MASTER MODE enabled (user request from 'id=3 addr=x')"
    ));
    assert!(!t.f.is_replica());
    assert_eq!(t.f.upstream(), Upstream::None);
    assert_eq!(
        (
            t.h.ids.replid.as_str(),
            t.h.ids.replid2.as_str(),
            t.h.ids.second_offset
        ),
        (id('n').as_str(), id('a').as_str(), 11)
    );
    // And on a primary it does nothing.
    let (reply, a) = t.replicaof(None);
    assert_eq!((reply, a.len()), (Reply::Ok, 0));
}

#[test]
fn a_replica_restarted_from_its_rdb_asks_for_the_saved_position() {
    let mut t = T::new(false);
    t.h = History::new(id('f'), 1 << 20);
    t.f.follow_at_start("p".into(), 1, 0);
    let a = t.f.on_rdb_loaded(
        &mut t.h,
        SavedPosition {
            replid: id('a'),
            offset: 700,
            stream_db: 2,
        },
    );
    assert!(logged(
        &a,
        "Cached master recreated from the RDB aux fields: offset 700"
    ));
    let link = connect_of(&t.tick()).expect("connect");
    assert_eq!(sent(&t.handshake(link), link), psync(&id('a'), 701));
    let a = t.data(link, format!("+CONTINUE {}\r\n", id('a')).as_bytes());
    assert!(a.contains(&Action::StartStream { link, db: 2 }));
    // A primary restarted from its RDB keeps its fresh id and knows the saved one.
    let mut t = T::new(false);
    t.h = History::new(id('f'), 1 << 20);
    t.f.on_rdb_loaded(
        &mut t.h,
        SavedPosition {
            replid: id('a'),
            offset: 700,
            stream_db: 0,
        },
    );
    assert_eq!(t.h.ids.psync_request(), (id('a'), 701));
    assert_eq!(t.h.ids.replid, id('f'));
}

#[test]
fn acks_each_second_and_getack_answers_with_the_offset_applied_so_far() {
    let (mut t, link) = T::streaming(10);
    t.now = 1_000;
    assert_eq!(
        sent(&t.tick(), link),
        crate::proto::command(&["REPLCONF", "ACK", "10"])
    );
    let getack = crate::proto::command(&["REPLCONF", "GETACK", "*"]);
    let a = t.data(link, &getack);
    // The executor runs the GETACK before counting it.
    assert_eq!(
        sent(&t.f.on_getack(&t.h, link), link),
        crate::proto::command(&["REPLCONF", "ACK", "10"])
    );
    t.apply(&a);
    assert_eq!(t.h.offset(), 10 + getack.len() as i64);
    assert_eq!(t.f.offsets(&t.h), (47, 47));
}

#[test]
fn the_streaming_link_may_bypass_on_data_and_still_counts_as_alive() {
    let (mut t, link) = T::streaming(10);
    t.now = 9_000;
    assert!(t.f.on_stream_read(link, 5, t.now));
    t.now = 15_000;
    assert!(
        t.tick().iter().all(|a| !matches!(a, Action::Close { .. })),
        "no timeout"
    );
    assert_eq!(t.f.offsets(&t.h).0, 15);
    assert!(!t.f.on_stream_read(99, 5, t.now), "not a streaming link");
}

#[test]
fn role_states_follow_the_link() {
    let mut t = T::new(false);
    assert_eq!(t.f.role_state(), None);
    let (_, a) = t.replicaof(Some(("p", 1)));
    let link = connect_of(&a).expect("connect");
    assert_eq!(t.f.role_state(), Some("connecting"));
    let a = t.f.on_closed(&mut t.h, link, false, 0);
    assert_eq!(t.f.role_state(), Some("connect"));
    assert!(logged(&a, "lost during the sync"));
    assert_eq!(t.f.upstream(), Upstream::Down);
    assert!(t.tick().is_empty(), "retried after retry_ms");
    t.now = 1_000;
    let link = connect_of(&t.tick()).expect("retry");
    t.f.on_connected(&mut t.h, link, t.now);
    assert_eq!(t.f.role_state(), Some("handshake"));
    t.now = 11_001;
    let a = t.tick();
    assert!(logged(&a, "Timeout connecting to the PRIMARY"));
    assert_eq!(t.f.role_state(), Some("connect"));
}

#[test]
fn what_an_rdb_records() {
    let (mut t, link) = T::streaming(10);
    assert_eq!(
        t.f.saved_position(&t.h).map(|p| (p.replid, p.offset)),
        Some((id('a'), 10))
    );
    t.f.on_closed(&mut t.h, link, false, 0);
    assert_eq!(t.f.saved_position(&t.h).map(|p| p.offset), Some(10));
    let mut t = T::new(false);
    t.h.append(b"abc");
    assert_eq!(t.f.saved_position(&t.h).map(|p| p.offset), Some(3));
}

#[test]
fn a_failover_hand_over_asks_with_failover_and_reports_the_answer() {
    let mut t = T::new(false);
    t.h.append(&[b'x'; 100]);
    let mut fresh = || id('n');
    let a =
        t.f.failover_to(&mut t.h, "10.0.0.9".into(), 6379, 0, &mut fresh);
    assert!(a.contains(&Action::BecameReplica));
    let link = connect_of(&a).expect("connects at once");
    let a = t.handshake(link);
    let mut want = b"*4\r\n$5\r\nPSYNC\r\n$40\r\n".to_vec();
    want.extend_from_slice(id('a').as_bytes());
    want.extend_from_slice(b"\r\n$3\r\n101\r\n$8\r\nFAILOVER\r\n");
    assert_eq!(sent(&a, link), want);
    let a = t.data(link, format!("+CONTINUE {}\r\n", id('c')).as_bytes());
    assert!(a.contains(&Action::FailoverAccepted));
    assert!(t.f.link_up());

    // Refused: reported, and nothing else is sent (no SYNC fallback).
    let mut t = T::new(false);
    t.h.append(&[b'x'; 100]);
    let a =
        t.f.failover_to(&mut t.h, "10.0.0.9".into(), 6379, 0, &mut fresh);
    let link = connect_of(&a).expect("connects at once");
    t.handshake(link);
    let a = t.data(link, b"-NOPERM no\r\n");
    assert!(matches!(a.as_slice(), [Action::FailoverRejected { .. }]));
    let (_, a) = t.replicaof(None);
    assert!(a.contains(&Action::BecamePrimary));
    assert!(!t.f.is_replica());
}

#[test]
fn a_hold_delays_the_next_attempt_and_replicaof_lifts_it() {
    let (mut t, link) = T::streaming(10);
    t.f.hold_reconnect(5_000);
    let a = t.f.on_closed(&mut t.h, link, true, 0);
    assert!(connect_of(&a).is_none());
    assert_eq!(t.f.held_until(t.now), Some(5_000));
    t.now = 4_999;
    assert!(connect_of(&t.tick()).is_none(), "held until 5,000 ms");
    t.now = 5_000;
    assert!(
        connect_of(&t.tick()).is_some(),
        "reconnects when the hold ends"
    );
    assert_eq!(t.f.held_until(t.now), None);

    let (mut t, link) = T::streaming(10);
    t.f.hold_reconnect(60_000);
    t.f.on_closed(&mut t.h, link, true, 0);
    t.now = 1_000;
    assert!(connect_of(&t.tick()).is_none());
    let (reply, a) = t.replicaof(Some(("old", 6379)));
    assert_eq!(
        reply,
        Reply::status("OK Already connected to specified master")
    );
    let link = connect_of(&a).or_else(|| connect_of(&t.tick()));
    assert!(link.is_some(), "the operator's REPLICAOF lifts the hold");
}
