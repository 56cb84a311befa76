//! Client eviction (`maxmemory-clients`): connections are closed, largest first, while all
//! ordinary and pub/sub connections together hold more than the limit; CLIENT NO-EVICT ones
//! stay; INFO counts the evictions.

mod common;

use std::time::Duration;

use common::*;
use testkit::{wait_for, Conn, ServerProc};

/// The CLIENT LIST line of the connection named `name`, if connected.
fn client_line(c: &mut Conn, name: &str) -> Option<String> {
    let list = c.text(&["CLIENT", "LIST"]);
    list.lines()
        .find(|l| l.contains(&format!(" name={name} ")))
        .map(str::to_string)
}

fn tot_mem(c: &mut Conn, name: &str) -> u64 {
    let line = client_line(c, name).unwrap_or_else(|| panic!("{name} connected"));
    line.split(' ')
        .find_map(|f| f.strip_prefix("tot-mem="))
        .and_then(|v| v.parse().ok())
        .expect("tot-mem field")
}

/// A connection named `name` holding an incomplete command of `bytes` bytes.
fn holding(s: &ServerProc, name: &str, bytes: usize) -> Conn {
    let mut c = s.conn();
    assert_eq!(c.text(&["CLIENT", "SETNAME", name]), "OK");
    let mut data = format!("*2\r\n${bytes}\r\n").into_bytes();
    data.resize(data.len() + bytes, b'v');
    c.write_raw(&data);
    c
}

#[test]
fn the_largest_connections_are_evicted_until_under_the_limit() {
    let s = redwing(&[]);
    let mut ctl = s.conn();
    assert_eq!(ctl.text(&["CLIENT", "SETNAME", "control"]), "OK");
    assert_eq!(ctl.text(&["CLIENT", "NO-EVICT", "on"]), "OK");
    let _small = holding(&s, "small", 200_000);
    let _mid = holding(&s, "mid", 1_000_000);
    let _large = holding(&s, "large", 3_000_000);
    wait_for("the three buffers filled", Duration::from_secs(10), || {
        tot_mem(&mut ctl, "small") >= 200_000
            && tot_mem(&mut ctl, "mid") >= 1_000_000
            && tot_mem(&mut ctl, "large") >= 3_000_000
    });
    let small = tot_mem(&mut ctl, "small");
    let mid = tot_mem(&mut ctl, "mid");
    let control = tot_mem(&mut ctl, "control");
    // Room for all but the largest (and a margin for the control connection's replies).
    let limit = small + mid + control + 64 * 1024;
    assert_eq!(
        ctl.text(&["CONFIG", "SET", "maxmemory-clients", &limit.to_string()]),
        "OK"
    );
    wait_for("an eviction", Duration::from_secs(10), || {
        field(&mut ctl, "stats", "evicted_clients") == "1"
    });
    assert!(client_line(&mut ctl, "large").is_none(), "the largest went");
    assert!(
        client_line(&mut ctl, "mid").is_some() && client_line(&mut ctl, "small").is_some(),
        "and only it: the total was then under the limit"
    );
    assert!(
        s.log().contains("Evicting client: id="),
        "logged as Valkey does"
    );
    // A percentage of maxmemory: 7% of 4 MB is under what `mid` alone holds.
    assert_eq!(ctl.text(&["CONFIG", "SET", "maxmemory", "4mb"]), "OK");
    assert_eq!(
        ctl.text(&["CONFIG", "SET", "maxmemory-clients", "7%"]),
        "OK"
    );
    wait_for("mid evicted", Duration::from_secs(10), || {
        client_line(&mut ctl, "mid").is_none()
    });
    assert!(client_line(&mut ctl, "control").is_some(), "no-evict");
}

#[test]
fn a_no_evict_connection_stays_over_the_limit_and_an_evictable_one_goes() {
    let s = redwing(&["--maxmemory-clients", "1mb"]);
    let mut ctl = s.conn();
    assert_eq!(ctl.text(&["CLIENT", "SETNAME", "control"]), "OK");
    assert_eq!(ctl.text(&["CLIENT", "NO-EVICT", "on"]), "OK");
    let mut protected = s.conn();
    assert_eq!(protected.text(&["CLIENT", "SETNAME", "protected"]), "OK");
    assert_eq!(protected.text(&["CLIENT", "NO-EVICT", "on"]), "OK");
    let mut data = b"*2\r\n$2000000\r\n".to_vec();
    data.resize(data.len() + 2_000_000, b'v');
    protected.write_raw(&data);
    wait_for(
        "the protected buffer filled",
        Duration::from_secs(10),
        || tot_mem(&mut ctl, "protected") > 2_000_000,
    );
    assert!(
        client_line(&mut ctl, "protected").is_some(),
        "no-evict: kept"
    );
    // Any evictable connection is closed while the total stays over the limit.
    let mut evictable = s.conn();
    evictable.write_raw(b"PING\r\n");
    wait_for("the evictable one evicted", Duration::from_secs(10), || {
        field(&mut ctl, "stats", "evicted_clients") == "1"
    });
    assert!(client_line(&mut ctl, "protected").is_some());
    assert!(s
        .log()
        .contains("Over client maxmemory after evicting all evictable clients"));
}
