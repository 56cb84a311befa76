//! Sharding with an existing engine: twemproxy (Debian's `nutcracker`) in front of two Redwing
//! replica sets, each a primary and a replica managed by three Sentinels, deployed as
//! `deploy/twemproxy/` documents: the servers in nutcracker's config are named after the
//! Sentinel sets, and `twemproxy-sentinel.sh` is each set's `client-reconfig-script`, which
//! points nutcracker at a set's new primary after a failover. Checked: keys written through
//! the proxy spread over both sets; a planned `SENTINEL FAILOVER` of one set repoints the proxy;
//! every key written before it is read back through the proxy afterwards (the key-to-set
//! mapping does not move), writes through the proxy land on the new primary, and the old
//! primary rejoins its set as a replica.
//!
//! nutcracker is installed by `scripts/setup-test-deps.sh`; without it this test fails.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::sentinel::Sentinel;
use common::*;
use testkit::proc::free_port;
use testkit::{wait_for, Conn, ServerProc};

const FAILOVER_WAIT: Duration = Duration::from_secs(60);

fn deploy_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/twemproxy/twemproxy-sentinel.sh")
}

fn nutcracker_bin() -> String {
    for p in ["/usr/sbin/nutcracker", "/usr/bin/nutcracker"] {
        if Path::new(p).exists() {
            return p.to_string();
        }
    }
    panic!("nutcracker is not installed: run scripts/setup-test-deps.sh");
}

/// nutcracker started and stopped by the deployment script, with its files in one directory.
struct Proxy {
    port: u16,
    dir: PathBuf,
    /// Runs the deployment script with this proxy's settings (also Sentinel's reconfig script).
    wrapper: PathBuf,
}

impl Proxy {
    fn start(sets: &[(&str, u16)]) -> Proxy {
        let port = free_port();
        let dir = std::env::temp_dir().join(format!(
            "redwing-test-{}-twemproxy-{port}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("proxy dir");
        let servers: String = sets
            .iter()
            .map(|(name, p)| format!("   - 127.0.0.1:{p}:1 {name}\n"))
            .collect();
        let conf = format!(
            "redwing:\n  listen: 127.0.0.1:{port}\n  hash: fnv1a_64\n  distribution: ketama\n  \
             redis: true\n  auto_eject_hosts: false\n  server_retry_timeout: 500\n  \
             timeout: 5000\n  servers:\n{servers}"
        );
        std::fs::write(dir.join("nutcracker.yml"), conf).expect("nutcracker.yml");
        let wrapper = dir.join("reconfig.sh");
        let text = format!(
            "#!/bin/sh\nexport NUTCRACKER_CONF={d}/nutcracker.yml NUTCRACKER_PID={d}/nutcracker.pid \
             NUTCRACKER_LOG={d}/nutcracker.log NUTCRACKER_STATS_PORT={s} NUTCRACKER_BIN={b}\n\
             exec {script} \"$@\"\n",
            d = dir.display(),
            s = free_port(),
            b = nutcracker_bin(),
            script = deploy_script().display(),
        );
        std::fs::write(&wrapper, text).expect("reconfig.sh");
        let chmod = std::process::Command::new("chmod")
            .arg("+x")
            .arg(&wrapper)
            .status();
        assert!(
            chmod.is_ok_and(|s| s.success()),
            "chmod +x {}",
            wrapper.display()
        );
        let proxy = Proxy { port, dir, wrapper };
        proxy.run(&["start"]);
        wait_for("nutcracker answering", T, || {
            Conn::connect(port).is_ok_and(|mut c| c.try_cmd(&["GET", "probe"]).is_ok())
        });
        proxy
    }

    fn run(&self, args: &[&str]) {
        let out = std::process::Command::new(&self.wrapper)
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("{}: {e}", self.wrapper.display()));
        assert!(
            out.status.success(),
            "{} {args:?}: {}",
            self.wrapper.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn conn(&self) -> Conn {
        Conn::connect(self.port).unwrap_or_else(|e| panic!("nutcracker :{}: {e}", self.port))
    }

    fn config(&self) -> String {
        std::fs::read_to_string(self.dir.join("nutcracker.yml")).unwrap_or_default()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("--- nutcracker.yml ---\n{}", self.config());
            let log = std::fs::read_to_string(self.dir.join("nutcracker.log")).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(40).collect();
            eprintln!("--- nutcracker.log (last lines) ---");
            for l in tail.iter().rev() {
                eprintln!("{l}");
            }
        }
        let _ = std::process::Command::new(&self.wrapper)
            .arg("stop")
            .output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn dbsize(p: &ServerProc) -> i64 {
    p.conn().int(&["DBSIZE"])
}

/// Writes `n` keys `<prefix>:<i>` = i through the proxy, pipelined.
fn write_keys(proxy: &Proxy, prefix: &str, n: usize) {
    let mut c = proxy.conn();
    let cmds: Vec<Vec<String>> = (0..n)
        .map(|i| vec!["SET".into(), format!("{prefix}:{i}"), i.to_string()])
        .collect();
    for (i, r) in c.pipeline(&cmds).iter().enumerate() {
        assert_eq!(r.text(), "OK", "SET {prefix}:{i} through the proxy: {r:?}");
    }
}

/// True when every key `<prefix>:<i>` reads back as i through the proxy (MGET, which
/// nutcracker splits across the sets).
fn all_readable(proxy: &Proxy, prefix: &str, n: usize) -> bool {
    let Ok(mut c) = Conn::connect(proxy.port) else {
        return false;
    };
    let keys: Vec<String> = (0..n).map(|i| format!("{prefix}:{i}")).collect();
    for (chunk_no, chunk) in keys.chunks(200).enumerate() {
        let mut cmd = vec!["MGET"];
        cmd.extend(chunk.iter().map(|k| k.as_str()));
        let Ok(resp::Frame::Array(vals)) = c.try_cmd(&cmd) else {
            return false;
        };
        for (j, v) in vals.iter().enumerate() {
            if v.text() != (chunk_no * 200 + j).to_string() {
                return false;
            }
        }
    }
    true
}

#[test]
fn twemproxy_in_front_of_two_sentinel_managed_sets() {
    let pa = redwing(&[]);
    let ra = redwing(&[]);
    let pb = redwing(&[]);
    let rb = redwing(&[]);
    replicaof(&ra, &pa);
    replicaof(&rb, &pb);
    wait_synced(&pa, &ra);
    wait_synced(&pb, &rb);
    let proxy = Proxy::start(&[("shard-a", pa.port), ("shard-b", pb.port)]);
    let monitors: String = [("shard-a", pa.port), ("shard-b", pb.port)]
        .iter()
        .map(|(name, port)| {
            format!(
                "sentinel monitor {name} 127.0.0.1 {port} 2\n\
                 sentinel down-after-milliseconds {name} 2000\n\
                 sentinel failover-timeout {name} 20000\n\
                 sentinel client-reconfig-script {name} {}\n",
                proxy.wrapper.display()
            )
        })
        .collect();
    let sentinels: Vec<Sentinel> = (0..3).map(|_| Sentinel::start(&monitors)).collect();
    wait_for(
        "every sentinel to know each set's replica and the other sentinels",
        FAILOVER_WAIT,
        || {
            sentinels.iter().all(|s| {
                ["shard-a", "shard-b"]
                    .iter()
                    .all(|set| s.count("replicas", set) == 1 && s.count("sentinels", set) == 2)
            })
        },
    );

    // Keys written through the proxy spread over both sets.
    write_keys(&proxy, "before", 2000);
    let (a, b) = (dbsize(&pa), dbsize(&pb));
    assert_eq!(a + b, 2000, "every key on one set: {a} + {b}");
    assert!(a > 500 && b > 500, "ketama spreads the keys: {a} / {b}");
    assert!(
        all_readable(&proxy, "before", 2000),
        "read back through the proxy"
    );
    wait_synced(&pa, &ra);
    wait_synced(&pb, &rb);

    // A planned failover of set A: Sentinel promotes its replica and runs the reconfig script,
    // which repoints nutcracker's `shard-a` line and restarts it.
    let r = sentinels[0]
        .conn()
        .cmd(&["SENTINEL", "FAILOVER", "shard-a"]);
    assert_eq!(r.text(), "OK", "SENTINEL FAILOVER: {r:?}");
    wait_for(
        "every sentinel to name shard-a's replica as its primary",
        FAILOVER_WAIT,
        || {
            sentinels
                .iter()
                .all(|s| s.primary("shard-a") == Some(ra.port))
        },
    );
    let line = format!("127.0.0.1:{}:1 shard-a", ra.port);
    wait_for(
        "the reconfig script to repoint nutcracker at shard-a's new primary",
        FAILOVER_WAIT,
        || proxy.config().contains(&line),
    );
    wait_for(
        "every key written before the failover readable through the proxy",
        FAILOVER_WAIT,
        || all_readable(&proxy, "before", 2000),
    );
    wait_for(
        "writes through the proxy accepted again",
        FAILOVER_WAIT,
        || {
            Conn::connect(proxy.port).is_ok_and(|mut c| {
                (0..50).all(|i| {
                    c.try_cmd(&["SET", &format!("probe:{i}"), "x"])
                        .is_ok_and(|r| r.text() == "OK")
                })
            })
        },
    );
    write_keys(&proxy, "after", 2000);
    assert!(all_readable(&proxy, "after", 2000));
    // Set A's keys are on its new primary; the old one rejoined as its replica.
    let (a, b) = (dbsize(&ra), dbsize(&pb));
    assert_eq!(
        a + b,
        4050,
        "every key on one set after the failover: {a} + {b}"
    );
    wait_for(
        "the old primary of set A to follow the new one",
        FAILOVER_WAIT,
        || {
            let mut c = pa.conn();
            field(&mut c, "replication", "role") == "slave"
                && field(&mut c, "replication", "master_port") == ra.port.to_string()
        },
    );
    wait_synced(&ra, &pa);
    assert_eq!(dbsize(&pa), a, "the old primary converged");
}
