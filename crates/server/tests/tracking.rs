//! Client-side caching (CLIENT TRACKING) against a real Redwing process: invalidations in
//! RESP3 (pushes on the same connection) and RESP2 (REDIRECT to a client subscribed to
//! `__redis__:invalidate`), BCAST with prefixes and NOLOOP, OPTIN/OPTOUT with CLIENT CACHING,
//! flushes, expiry, the table limit, a redirect that went away, and the INFO counters.
//!
//! Replies are compared byte for byte where the order of a reply and the pushes around it is
//! the point (a client's own invalidations follow its reply). Every wait is bounded.

mod common;

use common::*;
use resp::frame::Frame;
use testkit::{wait_for, Conn};

fn bulk(b: &[u8]) -> Frame {
    Frame::Bulk(bytes::Bytes::copy_from_slice(b))
}

fn keys(list: &[&str]) -> Frame {
    Frame::Array(list.iter().map(|k| bulk(k.as_bytes())).collect())
}

/// A RESP3 `invalidate` push for `list` (None: a flush).
fn invalidate(list: Option<&[&str]>) -> Frame {
    Frame::Push(vec![bulk(b"invalidate"), list.map_or(Frame::Null, keys)])
}

/// A RESP2 message on `__redis__:invalidate`.
fn invalidate_message(list: Option<&[&str]>) -> Frame {
    Frame::Array(vec![
        bulk(b"message"),
        bulk(b"__redis__:invalidate"),
        list.map_or(Frame::Null, keys),
    ])
}

fn resp3(c: &mut Conn) {
    assert!(!c.cmd(&["HELLO", "3"]).is_error());
}

/// A RESP2 connection subscribed to the invalidation channel; returns it and its id.
fn redirect_target(port: u16) -> (Conn, i64) {
    let mut r = Conn::connect(port).expect("connect");
    let id = r.int(&["CLIENT", "ID"]);
    let sub = r.cmd(&["SUBSCRIBE", "__redis__:invalidate"]);
    assert_eq!(
        sub,
        Frame::Array(vec![
            bulk(b"subscribe"),
            bulk(b"__redis__:invalidate"),
            Frame::Int(1)
        ])
    );
    (r, id)
}

#[test]
fn resp3_invalidation_follows_the_reply_and_is_sent_once() {
    let s = redwing(&[]);
    let mut c = s.conn();
    let mut w = s.conn();
    resp3(&mut c);
    assert_eq!(c.text(&["CLIENT", "TRACKING", "on"]), "OK");
    w.cmd(&["SET", "k", "1"]);
    assert_eq!(c.text(&["GET", "k"]), "1");
    w.cmd(&["SET", "k", "2"]);
    // The key is forgotten once invalidated: a second write sends nothing.
    w.cmd(&["SET", "k", "3"]);
    assert_eq!(c.read_frame(), invalidate(Some(&["k"])));
    assert_eq!(c.text(&["PING"]), "PONG");

    // The client's own write: the reply first, then the push (byte for byte).
    assert_eq!(c.text(&["GET", "k"]), "3");
    c.send(&[b"INCR", b"k"]);
    assert_eq!(c.read_raw_reply().unwrap(), b":4\r\n");
    assert_eq!(
        c.read_raw_reply().unwrap(),
        b">2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\nk\r\n"
    );

    // Inside MULTI, after the whole EXEC reply.
    c.cmd(&["GET", "k"]);
    c.cmd(&["MULTI"]);
    c.cmd(&["INCR", "k"]);
    c.cmd(&["GET", "k"]);
    assert_eq!(
        c.cmd(&["EXEC"]),
        Frame::Array(vec![Frame::Int(5), bulk(b"5")])
    );
    assert_eq!(c.read_frame(), invalidate(Some(&["k"])));
}

#[test]
fn resp2_redirect_uses_the_invalidate_channel() {
    let s = redwing(&[]);
    let (mut target, id) = redirect_target(s.port);
    let mut c = s.conn();
    let mut w = s.conn();
    assert_eq!(
        c.text(&["CLIENT", "TRACKING", "on", "REDIRECT", &id.to_string()]),
        "OK"
    );
    assert_eq!(c.int(&["CLIENT", "GETREDIR"]), id);
    w.cmd(&["MSET", "a", "1", "b", "1"]);
    c.cmd(&["MGET", "a", "b"]);
    w.cmd(&["INCR", "b"]);
    assert_eq!(target.read_frame(), invalidate_message(Some(&["b"])));
    // A flush is a null for everything, encoded in the tracking client's protocol.
    w.cmd(&["FLUSHALL"]);
    target.send(&[b"PING"]);
    assert_eq!(
        target.read_raw_reply().unwrap(),
        b"*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n$-1\r\n"
    );
    assert_eq!(
        target.read_frame(),
        Frame::Array(vec![bulk(b"pong"), bulk(b"")])
    );
    // CLIENT LIST shows the mode and the redirect.
    let list = c.text(&["CLIENT", "INFO"]);
    assert!(list.contains(" flags=t "), "{list}");
    assert!(list.contains(&format!(" redir={id} ")), "{list}");
}

#[test]
fn bcast_prefixes_noloop_and_expiry() {
    let s = redwing(&[]);
    let (mut target, id) = redirect_target(s.port);
    let id = id.to_string();
    let mut c = s.conn();
    let mut w = s.conn();
    let on = [
        "CLIENT", "TRACKING", "on", "BCAST", "REDIRECT", &id, "PREFIX", "a:", "PREFIX", "b:",
    ];
    assert_eq!(c.text(&on), "OK");
    // One message per prefix, keys in byte order, nothing for other prefixes.
    c.cmd(&["MULTI"]);
    for k in ["b:2", "a:1", "c:1", "b:1"] {
        c.cmd(&["INCR", k]);
    }
    c.cmd(&["EXEC"]);
    assert_eq!(target.read_frame(), invalidate_message(Some(&["a:1"])));
    assert_eq!(
        target.read_frame(),
        invalidate_message(Some(&["b:1", "b:2"]))
    );
    let err = c.cmd(&["CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "a:x"]);
    assert_eq!(
        err,
        Frame::Error("ERR Prefix 'a:x' overlaps with an existing prefix 'a:'. Prefixes for a single client must not overlap.".into())
    );
    assert_eq!(c.int(&["DBSIZE"]), 4);

    // NOLOOP: the client's own changes are left out; an expiry is nobody's change.
    c.cmd(&["CLIENT", "TRACKING", "off"]);
    c.cmd(&[
        "CLIENT", "TRACKING", "on", "BCAST", "REDIRECT", &id, "NOLOOP",
    ]);
    c.cmd(&["SET", "mine", "1"]);
    w.cmd(&["SET", "theirs", "1"]);
    assert_eq!(target.read_frame(), invalidate_message(Some(&["theirs"])));
    c.cmd(&["SET", "short", "1", "PX", "1"]);
    assert_eq!(target.read_frame(), invalidate_message(Some(&["short"])));
    let ti = c.cmd(&["CLIENT", "TRACKINGINFO"]);
    assert_eq!(
        ti,
        Frame::Array(vec![
            bulk(b"flags"),
            Frame::Array(vec![bulk(b"on"), bulk(b"bcast"), bulk(b"noloop")]),
            bulk(b"redirect"),
            Frame::Int(id.parse().unwrap()),
            bulk(b"prefixes"),
            Frame::Array(vec![bulk(b"")]),
        ])
    );
}

#[test]
fn optin_optout_and_caching() {
    let s = redwing(&[]);
    let mut c = s.conn();
    let mut w = s.conn();
    resp3(&mut c);
    assert_eq!(
        c.cmd(&["CLIENT", "CACHING", "yes"]),
        Frame::Error("ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled".into())
    );
    c.cmd(&["CLIENT", "TRACKING", "on", "OPTIN"]);
    c.cmd(&["GET", "not-cached"]);
    c.cmd(&["CLIENT", "CACHING", "yes"]);
    c.cmd(&["GET", "cached"]);
    w.cmd(&["SET", "not-cached", "1"]);
    w.cmd(&["SET", "cached", "1"]);
    assert_eq!(c.read_frame(), invalidate(Some(&["cached"])));
    assert_eq!(
        c.cmd(&["CLIENT", "TRACKING", "on", "OPTOUT"]),
        Frame::Error("ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, and then re-enabling it with a different mode.".into())
    );
    c.cmd(&["CLIENT", "TRACKING", "off"]);
    c.cmd(&["CLIENT", "TRACKING", "on", "OPTOUT"]);
    c.cmd(&["CLIENT", "CACHING", "no"]);
    c.cmd(&["GET", "skipped"]);
    c.cmd(&["GET", "kept"]);
    w.cmd(&["SET", "skipped", "1"]);
    w.cmd(&["SET", "kept", "1"]);
    assert_eq!(c.read_frame(), invalidate(Some(&["kept"])));
}

#[test]
fn broken_redirect_is_reported_in_resp3() {
    let s = redwing(&[]);
    let (target, id) = redirect_target(s.port);
    let mut c = s.conn();
    let mut w = s.conn();
    resp3(&mut c);
    c.cmd(&["CLIENT", "TRACKING", "on", "REDIRECT", &id.to_string()]);
    c.cmd(&["GET", "k"]);
    drop(target);
    wait_for("redirect client gone", T, || {
        !w.text(&["CLIENT", "LIST"]).contains(&format!("id={id} "))
    });
    w.cmd(&["SET", "k", "1"]);
    assert_eq!(
        c.read_frame(),
        Frame::Push(vec![bulk(b"tracking-redir-broken"), Frame::Int(id)])
    );
    let info = c.text(&["CLIENT", "INFO"]);
    assert!(info.contains(" flags=tR "), "{info}");
}

#[test]
fn table_limit_and_info_counters() {
    let s = redwing(&[]);
    let (mut target, id) = redirect_target(s.port);
    let mut c = s.conn();
    let mut b = s.conn();
    c.cmd(&["CLIENT", "TRACKING", "on", "REDIRECT", &id.to_string()]);
    for i in 0..150 {
        c.cmd(&["GET", &format!("key{i}")]);
    }
    b.cmd(&["CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "p:"]);
    let mut w = s.conn();
    assert_eq!(stat(&s, "tracking_total_keys"), 150);
    assert_eq!(stat(&s, "tracking_total_items"), 150);
    assert_eq!(stat(&s, "tracking_total_prefixes"), 1);
    assert_eq!(field(&mut w, "clients", "tracking_clients"), "2");
    // Over the limit, the cron invalidates keys until the table fits.
    w.cmd(&["CONFIG", "SET", "tracking-table-max-keys", "10"]);
    for _ in 0..140 {
        match target.read_frame() {
            Frame::Array(parts) if parts.len() == 3 => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    wait_for("table within the limit", T, || {
        stat(&s, "tracking_total_keys") == 10
    });
    c.cmd(&["CLIENT", "TRACKING", "off"]);
    b.cmd(&["CLIENT", "TRACKING", "off"]);
    assert_eq!(field(&mut w, "clients", "tracking_clients"), "0");
    assert_eq!(stat(&s, "tracking_total_prefixes"), 0);
}

#[test]
fn option_errors() {
    let s = redwing(&[]);
    let mut c = s.conn();
    let cases: &[(&[&str], &str)] = &[
        (&["CLIENT", "TRACKING", "on", "PREFIX", "x"], "ERR PREFIX option requires BCAST mode to be enabled"),
        (&["CLIENT", "TRACKING", "on", "BCAST", "OPTIN"], "ERR OPTIN and OPTOUT are not compatible with BCAST"),
        (&["CLIENT", "TRACKING", "on", "OPTIN", "OPTOUT"], "ERR You can't specify both OPTIN mode and OPTOUT mode"),
        (&["CLIENT", "TRACKING", "on", "REDIRECT", "999999"], "ERR The client ID you want redirect to does not exist"),
        (&["CLIENT", "TRACKING", "on", "REDIRECT", "x"], "ERR value is not an integer or out of range"),
        (&["CLIENT", "TRACKING", "maybe"], "ERR syntax error"),
        (&["CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "ab", "PREFIX", "a"], "ERR Prefix 'ab' overlaps with another provided prefix 'a'. Prefixes for a single client must not overlap."),
    ];
    for (argv, err) in cases {
        assert_eq!(c.cmd(argv), Frame::Error(err.to_string()), "{argv:?}");
    }
    c.cmd(&["CLIENT", "TRACKING", "on"]);
    assert_eq!(
        c.cmd(&["CLIENT", "TRACKING", "on", "BCAST"]),
        Frame::Error("ERR You can't switch BCAST mode on/off before disabling tracking for this client, and then re-enabling it with a different mode.".into())
    );
    assert_eq!(
        c.cmd(&["CLIENT", "TRACKINGINFO"]),
        Frame::Array(vec![
            bulk(b"flags"),
            Frame::Array(vec![bulk(b"on")]),
            bulk(b"redirect"),
            Frame::Int(0),
            bulk(b"prefixes"),
            Frame::Array(vec![]),
        ])
    );
}
