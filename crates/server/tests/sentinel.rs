//! Sentinel managing a Redwing replica set: Redis 7.0's Sentinel (`redis-server --sentinel`,
//! the binary Debian's `redis-sentinel` links to) with three sentinels, a Redwing primary, two
//! Redwing replicas and a redis-server replica, and a writer that confirms each write with
//! `WAIT 3` (every replica of the set: a Sentinel failover promotes a replica and only then
//! repoints the others, so a write confirmed by fewer replicas can be lost in Redis as in
//! Redwing — with `WAIT 1` this test lost 1,181 of 41,657 confirmed writes in the planned
//! failover, written to the old primary after the promotion). The primary is killed with SIGKILL (and restarted: it must rejoin as a replica),
//! then the next primary is stopped with SIGSTOP (and continued: it must rejoin too), then a
//! planned `SENTINEL FAILOVER`. Checked: every failover happens, every node converges on the
//! last primary, no acknowledged write is lost, and no healthy node is ever marked down.
//!
//! As in production, Sentinel connects with an ACL user that has only the commands Sentinel
//! documents it needs (`sentinel auth-user`), and replicas authenticate to their primary with
//! a replication user (`masteruser`/`masterauth`); every node declares both users (Redwing's in
//! the config file that Sentinel's CONFIG REWRITE rewrites, so the users must survive it).

mod common;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::sentinel::Sentinel;
use common::*;
use testkit::{wait_for, Conn, ServerProc};

const FAILOVER_WAIT: Duration = Duration::from_secs(60);

const SENTINEL_USER: &str = "sentinel-user";
const SENTINEL_PASS: &str = "sentinel-pw";
/// The rules Redis's documentation gives a Sentinel user.
const SENTINEL_RULES: &str = "on >sentinel-pw allchannels +client +subscribe +publish +ping +info +multi +slaveof +config +exec +role";
/// A replication user: what a replica sends its primary (dual-channel's SYNC included).
const REPL_RULES: &str = "on >repl-pw +psync +replconf +ping +sync";

/// A sentinel of the test's set `mymaster`, connecting with the Sentinel ACL user.
fn start_sentinel(primary_port: u16) -> Sentinel {
    Sentinel::start(&format!(
        "sentinel monitor mymaster 127.0.0.1 {primary_port} 2\n\
         sentinel down-after-milliseconds mymaster 2000\n\
         sentinel failover-timeout mymaster 20000\n\
         sentinel parallel-syncs mymaster 3\n\
         sentinel auth-user mymaster {SENTINEL_USER}\n\
         sentinel auth-pass mymaster {SENTINEL_PASS}\n"
    ))
}

/// The primary the sentinel at `port` names now.
fn primary_named_by(port: u16) -> Option<u16> {
    common::sentinel::primary_named_by(port, "mymaster")
}

/// Writes `w:<n>` = n to whichever node the sentinels name, each confirmed by `WAIT 3` (the
/// three replicas of the set); records the acknowledged ones.
struct Writer {
    stop: Arc<AtomicBool>,
    acked: Arc<Mutex<Vec<u64>>>,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl Writer {
    fn start(sentinel_ports: Vec<u16>) -> Writer {
        let stop = Arc::new(AtomicBool::new(false));
        let acked = Arc::new(Mutex::new(Vec::new()));
        let (s, a) = (stop.clone(), acked.clone());
        let handle = std::thread::spawn(move || {
            let mut n = 0u64;
            let mut conn: Option<(u16, Conn)> = None;
            while !s.load(Ordering::Relaxed) {
                let primary = sentinel_ports.iter().find_map(|&p| primary_named_by(p));
                let Some(port) = primary else {
                    std::thread::sleep(Duration::from_millis(20));
                    continue;
                };
                if conn.as_ref().is_none_or(|(p, _)| *p != port) {
                    conn = Conn::connect(port).ok().map(|mut c| {
                        c.set_timeout(Duration::from_secs(3));
                        (port, c)
                    });
                }
                let Some((_, c)) = conn.as_mut() else {
                    std::thread::sleep(Duration::from_millis(20));
                    continue;
                };
                n += 1;
                let key = format!("w:{n}");
                let ok = c
                    .try_cmd(&["SET", &key, &n.to_string()])
                    .is_ok_and(|f| f.text() == "OK")
                    && c.try_cmd(&["WAIT", "3", "500"])
                        .is_ok_and(|f| matches!(f, resp::Frame::Int(r) if r >= 3));
                if ok {
                    if let Ok(mut v) = a.lock() {
                        v.push(n);
                    }
                } else {
                    conn = None;
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
        });
        Writer {
            stop,
            acked,
            handle: Some(handle),
        }
    }

    fn acked(&self) -> usize {
        self.acked.lock().map_or(0, |v| v.len())
    }

    fn finish(mut self) -> Vec<u64> {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
        self.acked.lock().map(|v| v.clone()).unwrap_or_default()
    }
}

/// Waits until every sentinel names a primary other than `old`; returns it.
fn wait_new_primary(sentinels: &[Sentinel], old: u16) -> u16 {
    let mut named = 0;
    wait_for(
        &format!("the sentinels to name a primary other than :{old}"),
        FAILOVER_WAIT,
        || {
            let all: Vec<Option<u16>> = sentinels.iter().map(|s| s.primary("mymaster")).collect();
            match all.first().copied().flatten() {
                Some(p) if p != old && all.iter().all(|x| *x == Some(p)) => {
                    named = p;
                    true
                }
                _ => false,
            }
        },
    );
    named
}

/// Waits until `node` is a replica of `primary` with its link up.
fn wait_follows(node: &ServerProc, primary: u16) {
    wait_for(
        &format!("node :{} to follow :{primary}", node.port),
        FAILOVER_WAIT,
        || {
            let Ok(mut c) = Conn::connect(node.port) else {
                return false;
            };
            // Sentinel's reconfiguration ends with CLIENT KILL TYPE normal: this connection
            // may be closed under the query (then: not yet).
            let role = c.try_info_field("replication", "role");
            let port = c.try_info_field("replication", "master_port");
            let link = c.try_info_field("replication", "master_link_status");
            role.as_deref() == Some("slave")
                && port == Some(primary.to_string())
                && link.as_deref() == Some("up")
        },
    );
}

/// Waits until every sentinel sees the 3 replicas reporting the replica role with their link
/// up: a sentinel that has not read a converted node's INFO since the conversion would turn
/// a node promoted meanwhile back into a replica (Sentinel's `+convert-to-slave`), so the
/// next failover waits for this.
fn wait_settled(sentinels: &[Sentinel]) {
    wait_for(
        "every sentinel to see 3 settled replicas",
        FAILOVER_WAIT,
        || {
            sentinels.iter().all(|s| {
                let Ok(mut c) = Conn::connect(s.port) else {
                    return false;
                };
                let Ok(resp::Frame::Array(replicas)) =
                    c.try_cmd(&["SENTINEL", "replicas", "mymaster"])
                else {
                    return false;
                };
                let settled = replicas.iter().filter(|r| {
                    let resp::Frame::Array(kv) = r else {
                        return false;
                    };
                    let get = |k: &str| {
                        kv.chunks(2)
                            .find(|p| p[0].text() == k)
                            .and_then(|p| p.get(1))
                            .map(|v| v.text())
                            .unwrap_or_default()
                    };
                    get("role-reported") == "slave"
                        && get("master-link-status") == "ok"
                        && !get("flags").contains("down")
                        && !get("flags").contains("disconnected")
                });
                settled.count() == 3
            })
        },
    );
}

fn role_of(c: &mut Conn) -> (String, String) {
    let role = c.info_field("replication", "role").unwrap_or_default();
    let port = c
        .info_field("replication", "master_port")
        .unwrap_or_default();
    (role, port)
}

fn acked_grows(w: &Writer, what: &str) {
    let before = w.acked();
    wait_for(what, FAILOVER_WAIT, || w.acked() >= before + 20);
}

#[test]
fn sentinel_fails_over_a_redwing_set_and_no_acknowledged_write_is_lost() {
    let mut nodes: BTreeMap<u16, ServerProc> = BTreeMap::new();
    // Redwing nodes run with a config file: Sentinel's CONFIG REWRITE must keep their role.
    let conf = format!(
        "# written by the test\nuser {SENTINEL_USER} {SENTINEL_RULES}\nuser repl-user {REPL_RULES}\n\
         masteruser repl-user\nmasterauth repl-pw\n"
    );
    let p = redwing_with_config(&conf, &[]);
    let first = p.port;
    nodes.insert(p.port, p);
    let mut redis_args = vec![
        "--masteruser",
        "repl-user",
        "--masterauth",
        "repl-pw",
        "--user",
        SENTINEL_USER,
    ];
    redis_args.extend(SENTINEL_RULES.split(' '));
    redis_args.extend(["--user", "repl-user"]);
    redis_args.extend(REPL_RULES.split(' '));
    let replicas = [
        redwing_with_config(&conf, &[]),
        redwing_with_config(&conf, &[]),
        redis(&redis_args),
    ];
    for n in replicas {
        replicaof(&n, &nodes[&first]);
        wait_synced(&nodes[&first], &n);
        nodes.insert(n.port, n);
    }
    let sentinels: Vec<Sentinel> = (0..3).map(|_| start_sentinel(first)).collect();
    wait_for(
        "the sentinels to find the 3 replicas and each other",
        FAILOVER_WAIT,
        || {
            sentinels.iter().all(|s| {
                s.count("replicas", "mymaster") == 3 && s.count("sentinels", "mymaster") == 2
            })
        },
    );
    // Sentinel and the replicas are connected as their ACL users.
    let clients = nodes[&first].conn().text(&["CLIENT", "LIST"]);
    assert!(
        clients.contains(&format!("user={SENTINEL_USER}")),
        "no sentinel connection as {SENTINEL_USER}:\n{clients}"
    );
    assert_eq!(
        clients
            .lines()
            .filter(|l| l.contains("flags=S") && l.contains("user=repl-user"))
            .count(),
        3,
        "three replicas connected as repl-user:\n{clients}"
    );
    let writer = Writer::start(sentinels.iter().map(|s| s.port).collect());
    acked_grows(&writer, "writes acknowledged on the first primary");

    // 1. SIGKILL the primary: a replica is promoted; the old primary, restarted, rejoins.
    if let Some(p) = nodes.get_mut(&first) {
        p.kill();
    }
    let second = wait_new_primary(&sentinels, first);
    if let Some(p) = nodes.get_mut(&first) {
        p.restart();
    }
    wait_follows(&nodes[&first], second);
    acked_grows(&writer, "writes acknowledged on the second primary");

    wait_settled(&sentinels);

    // 2. SIGSTOP the new primary: failover again; continued, it rejoins as a replica.
    nodes[&second].pause();
    let third = wait_new_primary(&sentinels, second);
    nodes[&second].resume();
    wait_follows(&nodes[&second], third);
    acked_grows(&writer, "writes acknowledged on the third primary");

    wait_settled(&sentinels);

    // 3. A planned failover.
    let reply = sentinels[0]
        .conn()
        .cmd(&["SENTINEL", "FAILOVER", "mymaster"]);
    assert!(!reply.is_error(), "SENTINEL FAILOVER: {reply:?}");
    let last = wait_new_primary(&sentinels, third);
    wait_follows(&nodes[&third], last);
    acked_grows(&writer, "writes acknowledged on the last primary");
    let acked = writer.finish();

    // Every node converges on the last primary, with every acknowledged write.
    for (port, n) in &nodes {
        if *port != last {
            wait_follows(n, last);
            wait_synced(&nodes[&last], n);
        }
    }
    let mut lc = nodes[&last].conn();
    let lost: Vec<u64> = acked
        .iter()
        .copied()
        .filter(|n| lc.cmd(&["GET", &format!("w:{n}")]).text() != n.to_string())
        .collect();
    assert!(
        lost.is_empty(),
        "{} of {} acknowledged writes lost: {:?}",
        lost.len(),
        acked.len(),
        &lost[..lost.len().min(20)]
    );
    let size = lc.int(&["DBSIZE"]);
    for n in nodes.values() {
        assert_eq!(
            n.conn().int(&["DBSIZE"]),
            size,
            "node :{} converged",
            n.port
        );
    }

    // Sentinel's CONFIG REWRITE survives a restart: a Redwing replica comes back following
    // the last primary from its own config file, before any sentinel could tell it to.
    let redwing_replica = nodes
        .keys()
        .copied()
        .find(|p| *p != last && nodes[p].dir.join("server.conf").exists());
    if let Some(port) = redwing_replica {
        let node = nodes.get_mut(&port).expect("the node");
        let text = std::fs::read_to_string(node.dir.join("server.conf")).unwrap_or_default();
        assert!(
            text.lines()
                .any(|l| l == format!("replicaof 127.0.0.1 {last}")),
            "config of :{port} after Sentinel's rewrite:\n{text}"
        );
        assert!(
            text.lines()
                .any(|l| l.starts_with(&format!("user {SENTINEL_USER} ")))
                && text
                    .lines()
                    .any(|l| l == "masteruser repl-user" || l == "primaryuser repl-user"),
            "the users survive Sentinel's CONFIG REWRITE:\n{text}"
        );
        node.stop();
        node.restart();
        let mut c = node.conn();
        assert_eq!(role_of(&mut c), ("slave".to_string(), last.to_string()));
        wait_follows(node, last);
    }

    // No healthy node was ever marked down: only the killed and the stopped primaries.
    for s in &sentinels {
        for line in s.log().lines().filter(|l| l.contains("+sdown")) {
            // `+sdown <kind> <name> <ip> <port> [@ <master> <ip> <port>]`: the instance is the
            // part before `@`.
            let instance = line.split(" @ ").next().unwrap_or(line);
            let port: Option<u16> = instance
                .split_whitespace()
                .last()
                .and_then(|p| p.parse().ok());
            assert!(
                !instance.contains("+sdown sentinel")
                    && port.is_some_and(|p| p == first || p == second),
                "a healthy node marked down: {line}"
            );
        }
    }
}
