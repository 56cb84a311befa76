//! Helpers shared by the real-process tests; `interop` holds the data sets and scenarios that
//! the tests against redis-server and valkey-server share.
#![allow(dead_code)]

pub mod interop;
pub mod sentinel;

use std::time::Duration;

use testkit::{wait_for, Conn, ServerProc};

pub const T: Duration = Duration::from_secs(30);

/// Points the test kit at the binary cargo built for this test run.
pub fn init() {
    std::env::set_var("REDWING_BIN", env!("CARGO_BIN_EXE_redwing-server"));
}

/// Replication settings every test server gets: the snapshot for a replica starts at once and
/// the primary pings its replicas every second (so a link that silently died is noticed fast).
fn test_args<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "--repl-diskless-sync-delay",
        "0",
        "--repl-ping-replica-period",
        "1",
    ];
    args.extend_from_slice(extra);
    args
}

/// A Redwing server with test-friendly replication settings.
pub fn redwing(extra: &[&str]) -> ServerProc {
    init();
    ServerProc::redwing(&test_args(extra))
}

/// A Redwing server started with a config file holding `conf` (CONFIG REWRITE writes it).
pub fn redwing_with_config(conf: &str, extra: &[&str]) -> ServerProc {
    init();
    ServerProc::redwing_with_config(conf, &test_args(extra))
}

/// The reference redis-server 7.0 with the same settings.
pub fn redis(extra: &[&str]) -> ServerProc {
    init();
    ServerProc::redis(&test_args(extra))
}

/// The reference valkey-server 8.0.1 with the same settings.
pub fn valkey(extra: &[&str]) -> ServerProc {
    init();
    ServerProc::valkey(&test_args(extra))
}

pub fn field(c: &mut Conn, section: &str, name: &str) -> String {
    c.info_field(section, name).unwrap_or_default()
}

pub fn replicaof(replica: &ServerProc, primary: &ServerProc) {
    let mut c = replica.conn();
    let r = c.cmd(&["REPLICAOF", "127.0.0.1", &primary.port.to_string()]);
    assert!(!r.is_error(), "REPLICAOF failed: {r:?}");
}

/// Waits until `replica` follows `primary` with its link up and the same offset.
pub fn wait_synced(primary: &ServerProc, replica: &ServerProc) {
    let mut p = primary.conn();
    let mut r = replica.conn();
    wait_for(
        &format!("replica :{} in sync with :{}", replica.port, primary.port),
        T,
        || {
            let up = field(&mut r, "replication", "master_link_status") == "up";
            let po = field(&mut p, "replication", "master_repl_offset");
            let ro = field(&mut r, "replication", "master_repl_offset");
            up && !po.is_empty() && po == ro
        },
    );
}

pub fn digest(p: &ServerProc) -> String {
    p.conn().text(&["DEBUG", "DIGEST"])
}

pub fn stat(p: &ServerProc, name: &str) -> i64 {
    field(&mut p.conn(), "stats", name).parse().unwrap_or(-1)
}

/// Cuts a replica off its primary (the proxy it follows through refuses and closes its
/// connections), waits for its link to be down, then writes 40 MB on the primary (4,000 SETs
/// of 10 KB values, pipelined): more than a 1 MB memory backlog holds.
pub fn away_while_written(proxy: &testkit::Proxy, replica: &mut Conn, primary: &mut Conn) {
    proxy.set_refuse(true);
    proxy.cut_all();
    wait_for("the replica's link down", T, || {
        field(replica, "replication", "master_link_status") == "down"
    });
    let value = "v".repeat(10_000);
    for batch in 0..40 {
        let cmds: Vec<Vec<String>> = (0..100)
            .map(|i| vec!["SET".into(), format!("k:{batch}:{i}"), value.clone()])
            .collect();
        primary.pipeline(&cmds);
    }
}
