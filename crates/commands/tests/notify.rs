//! Keyspace notifications of the data commands, in process: the events Valkey 8.0.1 raised for
//! a few hundred command lines (`data/notify_valkey.txt`, recorded by
//! `reference/capture_notify.py`) replayed through the harness and compared exactly (order,
//! class, event name, key, database; `expired` included where a lookup deletes a key), with
//! the replies, then the paths a recording cannot reach (re-runs for a blocked client,
//! disabled classes).

// Only the escaping of the shared fixture format is used here.
#[allow(dead_code)]
mod fixture;

use bytes::Bytes;
use commands::notify::{self, KeyEvent};
use commands::testing::Harness;
use resp::{Reply, RespVersion};

fn harness() -> Harness {
    let mut h = Harness::new();
    h.settings.notify_classes = notify::ALL | notify::NEW | notify::KEYSPACE | notify::KEYEVENT;
    h
}

/// The `notify-keyspace-events` letter of a class bit.
fn class_letter(class: u32) -> char {
    match class {
        notify::GENERIC => 'g',
        notify::STRING => '$',
        notify::LIST => 'l',
        notify::SET => 's',
        notify::HASH => 'h',
        notify::ZSET => 'z',
        notify::EXPIRED => 'x',
        notify::EVICTED => 'e',
        notify::STREAM => 't',
        notify::NEW => 'n',
        notify::KEY_MISS => 'm',
        notify::MODULE => 'd',
        _ => '?',
    }
}

/// An event as the fixture writes it: `<db> <class> <event> <key (escaped)>`.
fn show(e: &KeyEvent) -> String {
    let mut key = String::new();
    for &c in e.key.iter() {
        match c {
            b'\\' => key.push_str("\\\\"),
            b'\r' => key.push_str("\\r"),
            b'\n' => key.push_str("\\n"),
            0x21..=0x7e => key.push(c as char),
            _ => key.push_str(&format!("\\x{c:02x}")),
        }
    }
    format!("{} {} {} {}", e.db, class_letter(e.class), e.event, key)
}

struct Case {
    line: String,
    argv: Vec<Bytes>,
    /// The reply may legitimately differ (random members).
    loose: bool,
    reply: Vec<u8>,
    events: Vec<String>,
}

fn cases(text: &str) -> Vec<Case> {
    let mut out: Vec<Case> = Vec::new();
    for line in text
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        if let Some(cmd) = line.strip_prefix("> ") {
            let (loose, cmd) = match cmd.strip_prefix("~ ") {
                Some(rest) => (true, rest),
                None => (false, cmd),
            };
            out.push(Case {
                line: cmd.to_string(),
                argv: cmd
                    .split(' ')
                    .map(|a| Bytes::from(fixture::unescape(a)))
                    .collect(),
                loose,
                reply: Vec::new(),
                events: Vec::new(),
            });
            continue;
        }
        let case = out.last_mut().expect("a command line first");
        if let Some(r) = line.strip_prefix("2 ") {
            case.reply = fixture::unescape(r);
        } else if let Some(e) = line.strip_prefix("@ ") {
            case.events.push(e.to_string());
        } else {
            panic!("unexpected fixture line {line:?}");
        }
    }
    out
}

/// The database of a `SELECT n` line.
fn select_db(argv: &[Bytes]) -> Option<usize> {
    match argv {
        [cmd, db] if cmd.eq_ignore_ascii_case(b"select") => {
            std::str::from_utf8(db).ok()?.parse().ok()
        }
        _ => None,
    }
}

#[test]
fn events_match_valkey() {
    let cases = cases(include_str!("data/notify_valkey.txt"));
    assert!(cases.len() > 500, "{} cases", cases.len());
    let mut h = harness();
    h.resp = RespVersion::Resp2;
    let mut diffs = Vec::new();
    for c in &cases {
        if let [cmd, ms] = &c.argv[..] {
            if &cmd[..] == b"@advance" {
                let ms = std::str::from_utf8(ms).ok().and_then(|m| m.parse().ok());
                h.advance_ms(ms.expect("@advance <ms>"));
                assert!(
                    c.events.is_empty(),
                    "events while time passed: {:?}",
                    c.events
                );
                continue;
            }
        }
        // SELECT is a server command: the harness just switches database.
        let reply = match select_db(&c.argv) {
            Some(db) => {
                h.db = db;
                h.last = Default::default();
                Reply::Ok
            }
            None => h.run_argv(&c.argv),
        }
        .to_bytes(RespVersion::Resp2);
        let got: Vec<String> = h.last.notifications.iter().map(show).collect();
        if got != c.events {
            diffs.push(format!(
                "{}\n  valkey : {:?}\n  redwing: {:?}",
                c.line, c.events, got
            ));
        }
        if !c.loose && reply != c.reply {
            diffs.push(format!(
                "{} (reply)\n  valkey : {:?}\n  redwing: {:?}",
                c.line,
                String::from_utf8_lossy(&c.reply),
                String::from_utf8_lossy(&reply)
            ));
        }
    }
    assert!(
        diffs.is_empty(),
        "{} differences:\n{}",
        diffs.len(),
        diffs.join("\n")
    );
}

/// (event, key) of the last call.
fn events(h: &Harness) -> Vec<(&'static str, String)> {
    h.last
        .notifications
        .iter()
        .map(|e| (e.event, String::from_utf8_lossy(&e.key).into_owned()))
        .collect()
}

fn ev(list: &[(&'static str, &str)]) -> Vec<(&'static str, String)> {
    list.iter().map(|(e, k)| (*e, k.to_string())).collect()
}

#[test]
fn served_blocked_clients_raise_the_pop_events() {
    let mut h = harness();
    // Nothing to serve: the client parks, nothing is raised.
    assert_eq!(h.run(&["BLPOP", "q", "0"]), Reply::NilArray);
    assert!(h.last.block.is_some());
    assert_eq!(events(&h), ev(&[]));
    h.run(&["RPUSH", "q", "a"]);
    assert_eq!(events(&h), ev(&[("new", "q"), ("rpush", "q")]));
    // The server re-runs the command for the parked client.
    h.unblocking = true;
    h.run(&["BLPOP", "q", "0"]);
    assert_eq!(events(&h), ev(&[("lpop", "q"), ("del", "q")]));
    h.unblocking = false;

    h.run(&["RPUSH", "src", "x", "y"]);
    h.unblocking = true;
    h.run(&["BLMOVE", "src", "dst", "RIGHT", "LEFT", "0"]);
    assert_eq!(
        events(&h),
        ev(&[("new", "dst"), ("lpush", "dst"), ("rpop", "src")])
    );
    h.run(&["BRPOPLPUSH", "src", "dst", "0"]);
    assert_eq!(
        events(&h),
        ev(&[("lpush", "dst"), ("rpop", "src"), ("del", "src")])
    );
    h.run(&["BLMPOP", "0", "1", "dst", "RIGHT", "COUNT", "5"]);
    assert_eq!(events(&h), ev(&[("rpop", "dst"), ("del", "dst")]));

    h.unblocking = false;
    h.run(&["ZADD", "z", "1", "a", "2", "b"]);
    h.unblocking = true;
    h.run(&["BZPOPMAX", "z", "0"]);
    assert_eq!(events(&h), ev(&[("zpopmax", "z")]));
    h.run(&["BZMPOP", "0", "1", "z", "MIN", "COUNT", "3"]);
    assert_eq!(events(&h), ev(&[("zpopmin", "z"), ("del", "z")]));
    // A re-run that finds nothing (the key went) parks again, silently.
    h.run(&["BZPOPMIN", "z", "0"]);
    assert!(h.last.block.is_some());
    assert_eq!(events(&h), ev(&[]));
}

#[test]
fn only_enabled_classes_are_recorded() {
    let mut h = Harness::new();
    h.run(&["SET", "k", "v", "EX", "100"]);
    assert!(h.last.notifications.is_empty());

    h.settings.notify_classes = notify::GENERIC | notify::KEYEVENT;
    h.run(&["SET", "k2", "v", "EX", "100"]);
    assert_eq!(events(&h), ev(&[("expire", "k2")]));
    h.run(&["RPUSH", "l", "a"]);
    assert_eq!(events(&h), ev(&[]));
    h.run(&["LPOP", "l"]);
    assert_eq!(events(&h), ev(&[("del", "l")]));

    h.settings.notify_classes = notify::NEW | notify::KEYSPACE;
    h.run(&["HSET", "h", "f", "v"]);
    assert_eq!(events(&h), ev(&[("new", "h")]));
    h.run(&["HSET", "h", "f", "w"]);
    assert_eq!(events(&h), ev(&[]));
    let e = &h.last;
    assert!(e.notifications.is_empty());
}

#[test]
fn new_is_raised_once_where_a_key_is_created() {
    let mut h = harness();
    // Every way of creating a key raises `new` first, in the database of the key.
    for (cmd, key) in [
        (vec!["SET", "a", "1"], "a"),
        (vec!["INCRBYFLOAT", "b", "1"], "b"),
        (vec!["SETRANGE", "c", "2", "x"], "c"),
        (vec!["LPUSH", "d", "x"], "d"),
        (vec!["HINCRBY", "e", "f", "1"], "e"),
        (vec!["SADD", "f", "x"], "f"),
        (vec!["ZINCRBY", "g", "1", "x"], "g"),
        (vec!["PFADD", "h"], "h"),
        (vec!["SETBIT", "i", "3", "1"], "i"),
        (vec!["SORT", "d", "ALPHA", "STORE", "j"], "j"),
        (vec!["COPY", "a", "k"], "k"),
    ] {
        h.run(&cmd);
        let got = &h.last.notifications;
        assert_eq!(got.first().map(|e| e.event), Some("new"), "{cmd:?}");
        assert_eq!(&got[0].key[..], key.as_bytes(), "{cmd:?}");
        assert_eq!(got[0].class, notify::NEW);
        assert_eq!(
            got.iter().filter(|e| e.event == "new").count(),
            1,
            "{cmd:?}"
        );
    }
    // Writing an existing key does not.
    h.run(&["SET", "a", "2"]);
    assert_eq!(events(&h), ev(&[("set", "a")]));
    // MOVE creates the key in the destination database.
    h.run(&["MOVE", "a", "3"]);
    let dbs: Vec<(usize, &str)> = h
        .last
        .notifications
        .iter()
        .map(|e| (e.db, e.event))
        .collect();
    assert_eq!(dbs, vec![(3, "new"), (0, "move_from"), (3, "move_to")]);
    // A key replaced after it expired: the lookup deletes it, then it is created again.
    for cmd in [
        vec!["MSET", "x", "2"],
        vec!["SETEX", "x", "9", "2"],
        vec!["BITOP", "NOT", "x", "i"],
        vec!["SORT", "d", "ALPHA", "STORE", "x"],
        vec!["SUNIONSTORE", "x", "f"],
    ] {
        h.run(&["SET", "x", "1", "PX", "10"]);
        h.advance_ms(20);
        h.run(&cmd);
        let got = events(&h);
        assert_eq!(
            got.get(..2),
            Some(&ev(&[("expired", "x"), ("new", "x")])[..]),
            "{cmd:?}"
        );
        assert_eq!(got.iter().filter(|e| e.0 == "new").count(), 1, "{cmd:?}");
    }
}
