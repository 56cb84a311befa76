//! ACL users against a real Redwing process: users and their rules, NOPERM errors as Valkey
//! 8.0.1 words them, AUTH/HELLO, the ACL LOG and INFO counters, MULTI/EXEC, disconnection of
//! deleted users and of subscribers that lost a channel, the aclfile (load errors keep the old
//! users, save), `user` directives kept by CONFIG REWRITE, `requirepass` as the default
//! user's password, and a replica authenticating with `primaryuser`/`primaryauth`.
//!
//! Each test starts its own server on an ephemeral port; asynchronous conditions are awaited
//! with bounded waits.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use resp::frame::Frame;
use testkit::{wait_for, Conn, ServerProc};

const WAIT: Duration = Duration::from_secs(10);

fn start(extra: &[&str]) -> ServerProc {
    std::env::set_var("REDWING_BIN", env!("CARGO_BIN_EXE_redwing-server"));
    ServerProc::redwing(extra)
}

fn ok(c: &mut Conn, args: &[&str]) {
    let f = c.cmd(args);
    assert_eq!(f, Frame::Simple("OK".into()), "{args:?}");
}

fn err(c: &mut Conn, args: &[&str]) -> String {
    match c.cmd(args) {
        Frame::Error(e) => e,
        other => panic!("{args:?}: expected an error, got {other:?}"),
    }
}

fn bulk(c: &mut Conn, args: &[&str]) -> String {
    match c.cmd(args) {
        Frame::Bulk(b) => String::from_utf8_lossy(&b).into_owned(),
        other => panic!("{args:?}: expected a bulk string, got {other:?}"),
    }
}

fn list(c: &mut Conn, args: &[&str]) -> Vec<String> {
    match c.cmd(args) {
        Frame::Array(v) => v.iter().map(Frame::text).collect(),
        other => panic!("{args:?}: expected an array, got {other:?}"),
    }
}

/// A map reply (RESP2 flat array of pairs or RESP3 map) as (key, value) pairs.
fn pairs(f: Frame) -> Vec<(String, Frame)> {
    match f {
        Frame::Map(m) => m.into_iter().map(|(k, v)| (k.text(), v)).collect(),
        Frame::Array(v) => v
            .chunks(2)
            .map(|p| (p[0].text(), p.get(1).cloned().unwrap_or(Frame::Null)))
            .collect(),
        other => panic!("expected a map, got {other:?}"),
    }
}

fn field(p: &[(String, Frame)], name: &str) -> Frame {
    p.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
        .unwrap_or_else(|| panic!("no field {name} in {p:?}"))
}

fn info_int(c: &mut Conn, name: &str) -> i64 {
    c.info_field("stats", name)
        .unwrap_or_else(|| panic!("INFO stats has no {name}"))
        .parse()
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn users_rules_and_noperm_errors() {
    let s = start(&[]);
    let mut admin = s.conn();
    let mut u = s.conn();
    assert_eq!(bulk(&mut admin, &["ACL", "WHOAMI"]), "default");
    ok(&mut admin, &["ACL", "SETUSER", "newuser"]);
    assert_eq!(
        list(&mut admin, &["ACL", "LIST"]),
        vec![
            "user default on nopass sanitize-payload ~* &* +@all",
            "user newuser off sanitize-payload resetchannels -@all"
        ]
    );
    assert_eq!(
        list(&mut admin, &["ACL", "USERS"]),
        vec!["default", "newuser"]
    );
    assert_eq!(
        err(&mut admin, &["ACL", "SETUSER", "a a"]),
        "ERR Usernames can't contain spaces or null characters"
    );
    // Off: no login.
    ok(&mut admin, &["ACL", "SETUSER", "newuser", ">passwd1"]);
    assert_eq!(
        err(&mut u, &["AUTH", "newuser", "passwd1"]),
        "WRONGPASS invalid username-password pair or user is disabled."
    );
    ok(&mut admin, &["ACL", "SETUSER", "newuser", "on", "+acl"]);
    ok(&mut u, &["AUTH", "newuser", "passwd1"]);
    assert_eq!(bulk(&mut u, &["ACL", "WHOAMI"]), "newuser");
    assert_eq!(
        err(&mut u, &["SET", "foo", "bar"]),
        "NOPERM User newuser has no permissions to run the 'set' command"
    );
    ok(&mut admin, &["ACL", "SETUSER", "newuser", "+set", "~foo:*"]);
    assert_eq!(
        err(&mut u, &["SET", "zap", "bar"]),
        "NOPERM No permissions to access a key"
    );
    ok(&mut u, &["SET", "foo:1", "bar"]);
    ok(
        &mut admin,
        &[
            "ACL",
            "SETUSER",
            "newuser",
            "+@all",
            "-client|kill",
            "resetchannels",
            "&ch:*",
        ],
    );
    assert_eq!(
        err(&mut u, &["CLIENT", "KILL", "TYPE", "master"]),
        "NOPERM User newuser has no permissions to run the 'client|kill' command"
    );
    assert_eq!(
        err(&mut u, &["PUBLISH", "other", "m"]),
        "NOPERM No permissions to access a channel"
    );
    assert_eq!(u.int(&["PUBLISH", "ch:1", "m"]), 0);
    let me = u.text(&["CLIENT", "INFO"]);
    assert!(me.contains(" user=newuser "), "{me}");
    // GETUSER: flags, the password's hash, the root selector's rules.
    let g = pairs(admin.cmd(&["ACL", "GETUSER", "newuser"]));
    assert_eq!(
        field(&g, "passwords"),
        Frame::Array(vec![Frame::Bulk(acl::hash_password(b"passwd1").into())])
    );
    assert_eq!(field(&g, "commands").text(), "+@all -client|kill");
    assert_eq!(field(&g, "keys").text(), "~foo:*");
    assert_eq!(field(&g, "channels").text(), "&ch:*");
    assert_eq!(admin.cmd(&["ACL", "GETUSER", "nosuch"]), Frame::Null);
    // DRYRUN names the key.
    assert_eq!(
        bulk(&mut admin, &["ACL", "DRYRUN", "newuser", "GET", "zap"]),
        "User newuser has no permissions to access the 'zap' key"
    );
    assert_eq!(
        admin.cmd(&["ACL", "DRYRUN", "newuser", "GET", "foo:1"]),
        Frame::Simple("OK".into())
    );
    assert_eq!(
        err(&mut admin, &["ACL", "DRYRUN", "nosuch", "GET", "x"]),
        "ERR User 'nosuch' not found"
    );
    assert_eq!(
        err(&mut admin, &["ACL", "DRYRUN", "newuser", "SET", "x"]),
        "ERR wrong number of arguments for 'set' command"
    );
    // CLIENT KILL USER.
    assert_eq!(
        err(&mut admin, &["CLIENT", "KILL", "USER", "nosuch"]),
        "ERR No such user 'nosuch'"
    );
    assert_eq!(admin.int(&["CLIENT", "KILL", "USER", "newuser"]), 1);
    wait_for("the killed client to go", WAIT, || {
        u.try_cmd(&["PING"]).is_err()
    });
}

#[test]
fn acl_log_and_info_counters() {
    let s = start(&[]);
    let mut admin = s.conn();
    let mut u = s.conn();
    ok(
        &mut admin,
        &[
            "ACL",
            "SETUSER",
            "antirez",
            "on",
            ">foo",
            "+set",
            "~object:1234",
            "+multi",
            "+exec",
        ],
    );
    let before = info_int(&mut admin, "acl_access_denied_auth");
    for _ in 0..3 {
        assert!(err(&mut u, &["AUTH", "antirez", "wrong"]).starts_with("WRONGPASS"));
    }
    assert_eq!(info_int(&mut admin, "acl_access_denied_auth"), before + 3);
    let log = match admin.cmd(&["ACL", "LOG"]) {
        Frame::Array(v) => v,
        other => panic!("ACL LOG: {other:?}"),
    };
    assert_eq!(log.len(), 1);
    let e = pairs(log[0].clone());
    let names: Vec<&str> = e.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        names,
        [
            "count",
            "reason",
            "context",
            "object",
            "username",
            "age-seconds",
            "client-info",
            "entry-id",
            "timestamp-created",
            "timestamp-last-updated"
        ]
    );
    assert_eq!(field(&e, "count"), Frame::Int(3));
    assert_eq!(field(&e, "reason").text(), "auth");
    assert_eq!(field(&e, "context").text(), "toplevel");
    assert_eq!(field(&e, "object").text(), "AUTH");
    assert_eq!(field(&e, "username").text(), "antirez");
    let first_id = match field(&e, "entry-id") {
        Frame::Int(i) => i,
        other => panic!("entry-id {other:?}"),
    };
    ok(&mut u, &["AUTH", "antirez", "foo"]);
    assert!(err(&mut u, &["GET", "foo"]).starts_with("NOPERM"));
    assert!(err(&mut u, &["SET", "somekey", "1"]).starts_with("NOPERM"));
    ok(&mut u, &["MULTI"]);
    assert!(err(&mut u, &["INCR", "foo"]).starts_with("NOPERM"));
    assert!(err(&mut u, &["EXEC"]).starts_with("EXECABORT"));
    let log = match admin.cmd(&["ACL", "LOG", "3"]) {
        Frame::Array(v) => v.into_iter().map(pairs).collect::<Vec<_>>(),
        other => panic!("ACL LOG: {other:?}"),
    };
    let summary: Vec<(String, String, String)> = log
        .iter()
        .map(|e| {
            (
                field(e, "reason").text(),
                field(e, "context").text(),
                field(e, "object").text(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            ("command".into(), "multi".into(), "incr".into()),
            ("key".into(), "toplevel".into(), "somekey".into()),
            ("command".into(), "toplevel".into(), "get".into()),
        ]
    );
    assert!(field(&log[2], "client-info")
        .text()
        .contains("cmd=get user=antirez"));
    assert_eq!(field(&log[0], "entry-id"), Frame::Int(first_id + 3));
    assert_eq!(info_int(&mut admin, "acl_access_denied_cmd"), 2);
    assert_eq!(info_int(&mut admin, "acl_access_denied_key"), 1);
    ok(&mut admin, &["ACL", "LOG", "RESET"]);
    assert_eq!(list(&mut admin, &["ACL", "LOG"]), Vec::<String>::new());
    ok(&mut admin, &["CONFIG", "SET", "acllog-max-len", "2"]);
    for k in ["a", "b", "c"] {
        assert!(err(&mut u, &["SET", k, "1"]).starts_with("NOPERM"));
    }
    assert_eq!(list(&mut admin, &["ACL", "LOG"]).len(), 2);
}

#[test]
fn exec_checks_again_and_blocked_commands_are_rechecked() {
    let s = start(&[]);
    let mut admin = s.conn();
    let mut u = s.conn();
    ok(
        &mut admin,
        &["ACL", "SETUSER", "t", "on", "nopass", "+@all", "~*"],
    );
    ok(&mut u, &["AUTH", "t", "x"]);
    ok(&mut u, &["MULTI"]);
    assert_eq!(u.cmd(&["INCR", "k"]), Frame::Simple("QUEUED".into()));
    ok(&mut admin, &["ACL", "SETUSER", "t", "-incr"]);
    match u.cmd(&["EXEC"]) {
        Frame::Array(v) => assert_eq!(
            v,
            vec![Frame::Error("NOPERM ACLs rules changed between the moment the transaction was accumulated and the EXEC call. This command is no longer allowed for the following reason: no permission to execute the command or subcommand".into())]
        ),
        other => panic!("EXEC: {other:?}"),
    }
    // A blocked command meets the check again when it is served.
    ok(&mut admin, &["CONFIG", "RESETSTAT"]);
    u.send(&[b"BLPOP", b"list1", b"0"]);
    wait_for("the client to block", WAIT, || {
        admin.info_field("clients", "blocked_clients").as_deref() == Some("1")
    });
    ok(&mut admin, &["ACL", "SETUSER", "t", "resetkeys"]);
    assert_eq!(admin.int(&["LPUSH", "list1", "foo"]), 1);
    assert_eq!(
        u.read_frame(),
        Frame::Error("NOPERM No permissions to access a key".into())
    );
    let stats = admin.text(&["INFO", "commandstats"]);
    assert!(
        stats.contains(
            "cmdstat_blpop:calls=0,usec=0,usec_per_call=0.00,rejected_calls=1,failed_calls=0"
        ),
        "{stats}"
    );
}

#[test]
fn deleted_users_and_revoked_subscribers_are_disconnected() {
    let s = start(&[]);
    let mut admin = s.conn();
    ok(
        &mut admin,
        &["ACL", "SETUSER", "using", "on", ">p", "+@all", "~*", "&*"],
    );
    let mut u = s.conn();
    ok(&mut u, &["AUTH", "using", "p"]);
    // The deleting client gets its reply, then is closed.
    assert_eq!(u.int(&["ACL", "DELUSER", "using"]), 1);
    wait_for("the deleted user's client to close", WAIT, || {
        u.try_cmd(&["PING"]).is_err()
    });
    assert_eq!(
        err(&mut admin, &["ACL", "DELUSER", "default"]),
        "ERR The 'default' user cannot be removed"
    );
    ok(
        &mut admin,
        &[
            "ACL",
            "SETUSER",
            "ps",
            "on",
            "nopass",
            "+@all",
            "resetchannels",
            "&foo:1",
            "&bar:*",
        ],
    );
    let mut sub = s.conn();
    ok(&mut sub, &["AUTH", "ps", "x"]);
    ok(&mut sub, &["CLIENT", "SETNAME", "deathrow"]);
    sub.cmd(&["PSUBSCRIBE", "bar:*"]);
    // A superset keeps it.
    ok(
        &mut admin,
        &[
            "ACL",
            "SETUSER",
            "ps",
            "resetchannels",
            "&foo:1",
            "&bar:*",
            "&baz",
        ],
    );
    assert!(admin.text(&["CLIENT", "LIST"]).contains("name=deathrow"));
    ok(
        &mut admin,
        &["ACL", "SETUSER", "ps", "resetchannels", "&foo:1"],
    );
    assert!(!admin.text(&["CLIENT", "LIST"]).contains("name=deathrow"));
}

#[test]
fn requirepass_is_the_default_users_password() {
    let s = start(&[]);
    let mut admin = s.conn();
    assert_eq!(
        err(&mut admin, &["AUTH", "foo"]),
        "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?"
    );
    ok(&mut admin, &["CONFIG", "SET", "requirepass", "secret"]);
    let mut fresh = s.conn();
    assert_eq!(
        err(&mut fresh, &["PING"]),
        "NOAUTH Authentication required."
    );
    assert!(err(&mut fresh, &["HELLO", "3"]).starts_with("NOAUTH HELLO must be called"));
    ok(&mut fresh, &["AUTH", "secret"]);
    ok(&mut fresh, &["AUTH", "default", "secret"]);
    assert!(list(&mut admin, &["ACL", "LIST"])
        .join("\n")
        .contains(&format!("#{}", acl::hash_password(b"secret"))));
    // The last HELLO AUTH wins, SETNAME applies only after success.
    ok(&mut admin, &["ACL", "SETUSER", "u1", "on", ">pw", "+@all"]);
    let mut h = s.conn();
    let reply = pairs(h.cmd(&[
        "HELLO", "2", "AUTH", "u1", "bad", "AUTH", "u1", "pw", "SETNAME", "n1",
    ]));
    assert_eq!(field(&reply, "proto"), Frame::Int(2));
    assert_eq!(bulk(&mut h, &["ACL", "WHOAMI"]), "u1");
    assert_eq!(
        err(
            &mut h,
            &["HELLO", "2", "AUTH", "u1", "bad", "SETNAME", "n2"]
        ),
        "WRONGPASS invalid username-password pair or user is disabled."
    );
    assert_eq!(bulk(&mut h, &["CLIENT", "GETNAME"]), "n1");
    // Back to no password: new connections are authenticated again.
    ok(&mut admin, &["CONFIG", "SET", "requirepass", ""]);
    let mut open = s.conn();
    assert_eq!(open.cmd(&["PING"]), Frame::Simple("PONG".into()));
    // The default user switched off: new connections must authenticate.
    ok(&mut admin, &["ACL", "SETUSER", "default", "off"]);
    let mut shut = s.conn();
    assert_eq!(err(&mut shut, &["PING"]), "NOAUTH Authentication required.");
    ok(&mut admin, &["ACL", "SETUSER", "default", "on"]);
}

#[test]
fn aclfile_load_keeps_old_users_on_error_and_save_writes_them() {
    let dir = std::env::temp_dir().join(format!("redwing-aclfile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("users.acl");
    std::fs::write(
        &file,
        "user alice on allcommands allkeys &* >alice\nuser bob on -@all +@set +acl ~set* &* >bob\nuser default on nopass ~* &* +@all\n",
    )
    .unwrap();
    let path = file.display().to_string();
    let s = start(&["--aclfile", &path]);
    let mut c = s.conn();
    assert_eq!(
        list(&mut c, &["ACL", "USERS"]),
        vec!["alice", "bob", "default"]
    );
    ok(&mut c, &["AUTH", "bob", "bob"]);
    assert_eq!(c.int(&["SADD", "set1", "a"]), 1);
    assert!(err(&mut c, &["SET", "set2", "v"]).starts_with("NOPERM"));
    ok(&mut c, &["AUTH", "alice", "alice"]);
    // A broken file: every bad line reported, nothing changed.
    std::fs::write(
        &file,
        "user alice on nopass ~* +@all\nuser alice on\nuser carol on +nosuch\nbad line\n",
    )
    .unwrap();
    let e = err(&mut c, &["ACL", "LOAD"]);
    assert_eq!(
        e,
        format!("ERR WARNING: Duplicate user 'alice' found on line 2. {path}:3: Error in applying operation '+nosuch': Unknown command or category name in ACL. {path}:4 should start with user keyword followed by the username. WARNING: ACL errors detected, no change to the previously active ACL rules was performed")
    );
    assert_eq!(
        list(&mut c, &["ACL", "USERS"]),
        vec!["alice", "bob", "default"]
    );
    // ACL SAVE writes the users; ACL LOAD reads them back.
    ok(
        &mut c,
        &["ACL", "SETUSER", "eve", "+get", "allkeys", ">eve", "on"],
    );
    ok(&mut c, &["ACL", "SAVE"]);
    let saved = std::fs::read_to_string(&file).unwrap();
    assert_eq!(saved.lines().count(), 4);
    assert!(
        saved.contains("\nuser eve on sanitize-payload #"),
        "{saved}"
    );
    ok(&mut c, &["ACL", "LOAD"]);
    ok(&mut c, &["AUTH", "eve", "eve"]);
    assert!(err(&mut c, &["SET", "k", "v"]).starts_with("NOPERM"));
    // Users not in the file lose their clients at ACL LOAD.
    let mut admin = s.conn();
    ok(
        &mut admin,
        &["ACL", "SETUSER", "mortimer", "on", ">m", "+@all", "~*"],
    );
    let mut m = s.conn();
    ok(&mut m, &["AUTH", "mortimer", "m"]);
    ok(&mut admin, &["ACL", "LOAD"]);
    wait_for("mortimer's client to close", WAIT, || {
        m.try_cmd(&["PING"]).is_err()
    });
    drop(s);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn aclfile_with_a_bad_line_stops_the_start() {
    let dir = std::env::temp_dir().join(format!("redwing-badacl-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("bad.acl");
    std::fs::write(&file, "user x on %~\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_redwing-server"))
        .args(["--port", "0", "--aclfile", &file.display().to_string()])
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!(
            "Aborting Redwing startup because of ACL errors: {}:1: Syntax error. WARNING: ACL errors detected",
            file.display()
        )),
        "{text}"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_redwing-server"))
        .args(["--port", "0", "--user", "foo", "--user", "foo"])
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(
        text.contains("Error in user declaration 'foo': Duplicate user found"),
        "{text}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A server started from a configuration file (`redwing-server <file>`), for CONFIG REWRITE.
struct FileServer {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl FileServer {
    fn start(dir: &Path, conf: &Path, port: u16) -> FileServer {
        let child = Command::new(env!("CARGO_BIN_EXE_redwing-server"))
            .arg(conf)
            .current_dir(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        wait_for("the server to answer", WAIT, || {
            Conn::connect(port).is_ok_and(|mut c| c.try_cmd(&["PING"]).is_ok())
        });
        FileServer {
            child,
            port,
            dir: dir.to_path_buf(),
        }
    }
}

impl Drop for FileServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = &self.dir;
    }
}

#[test]
fn user_directives_survive_config_rewrite() {
    let dir = std::env::temp_dir().join(format!("redwing-acl-conf-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let conf = dir.join("redwing.conf");
    let port = testkit::proc::free_port();
    std::fs::write(
        &conf,
        format!(
            "port {port}\nbind 127.0.0.1\nsave \"\"\nuser default on nopass ~* +@all -flushdb\n"
        ),
    )
    .unwrap();
    let s = FileServer::start(&dir, &conf, port);
    let mut c = Conn::connect(s.port).unwrap();
    assert!(err(&mut c, &["FLUSHDB"]).starts_with("NOPERM"));
    assert!(err(&mut c, &["SUBSCRIBE", "x"]).starts_with("NOPERM"));
    ok(
        &mut c,
        &["ACL", "SETUSER", "worker", "on", ">w", "+get", "~job:*"],
    );
    ok(&mut c, &["CONFIG", "REWRITE"]);
    let text = std::fs::read_to_string(&conf).unwrap();
    assert!(
        text.contains(
            "\nuser default on nopass sanitize-payload ~* resetchannels +@all -flushdb\n"
        ),
        "{text}"
    );
    assert!(
        text.contains("\nuser worker on sanitize-payload #"),
        "{text}"
    );
    drop(s);
    let s = FileServer::start(&dir, &conf, port);
    let mut c = Conn::connect(s.port).unwrap();
    assert!(err(&mut c, &["FLUSHDB"]).starts_with("NOPERM"));
    ok(&mut c, &["AUTH", "worker", "w"]);
    drop(s);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn replica_authenticates_with_primaryuser() {
    let primary = start(&[]);
    let mut p = primary.conn();
    ok(
        &mut p,
        &[
            "ACL",
            "SETUSER",
            "repl",
            "on",
            ">replpw",
            "+psync",
            "+replconf",
            "+ping",
        ],
    );
    ok(
        &mut p,
        &["ACL", "SETUSER", "default", "resetpass", ">adminpw"],
    );
    ok(&mut p, &["AUTH", "adminpw"]);
    ok(&mut p, &["SET", "k", "v"]);
    let port = primary.port.to_string();
    let replica = start(&["--primaryuser", "repl", "--primaryauth", "replpw"]);
    let mut r = replica.conn();
    ok(&mut r, &["REPLICAOF", "127.0.0.1", &port]);
    wait_for("the replica's link to come up", WAIT, || {
        r.info_field("replication", "master_link_status").as_deref() == Some("up")
    });
    wait_for("the key to arrive", WAIT, || {
        r.cmd(&["GET", "k"]) == Frame::Bulk("v".into())
    });
    let clients = p.text(&["CLIENT", "LIST"]);
    assert!(
        clients.contains("flags=S") && clients.contains("user=repl"),
        "{clients}"
    );
}
