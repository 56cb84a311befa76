//! Connection commands: AUTH, HELLO, PING, RESET, SELECT.

use bytes::Bytes;
use commands::errors::{self, err};
use resp::{Reply, RespVersion};

use crate::server::Server;

fn check_password(s: &Server, user: &[u8], pass: &[u8]) -> bool {
    let required = s.cfg.requirepass.as_str();
    user == b"default" && (required.is_empty() || required.as_bytes() == pass)
}

pub fn auth(s: &mut Server, key: usize, argv: &[Bytes]) -> Reply {
    if argv.len() > 3 {
        return err(errors::SYNTAX);
    }
    let (user, pass): (&[u8], &[u8]) = if argv.len() == 3 {
        (&argv[1], &argv[2])
    } else {
        (b"default", &argv[1])
    };
    if argv.len() == 2 && s.cfg.requirepass.is_empty() {
        return err("ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?");
    }
    if check_password(s, user, pass) {
        let c = super::caller!(s, key);
        c.authenticated = true;
        c.parser.auth_required = false;
        Reply::Ok
    } else {
        err(errors::WRONGPASS)
    }
}

/// HELLO [protover [AUTH user pass] [SETNAME name]]
pub fn hello(s: &mut Server, key: usize, argv: &[Bytes]) -> Reply {
    let mut ver = None;
    let mut j = 1;
    if argv.len() >= 2 {
        match commands::args::int(&argv[1]) {
            Ok(v) if v == 2 || v == 3 => ver = Some(v),
            Ok(_) => return err("NOPROTO unsupported protocol version"),
            Err(_) => return err("ERR Protocol version is not an integer or out of range"),
        }
        j = 2;
    }
    let mut setname = None;
    while j < argv.len() {
        let opt = String::from_utf8_lossy(&argv[j]).to_ascii_lowercase();
        if opt == "auth" && j + 2 < argv.len() {
            if !check_password(s, &argv[j + 1], &argv[j + 2]) {
                return err(errors::WRONGPASS);
            }
            let c = super::caller!(s, key);
            c.authenticated = true;
            c.parser.auth_required = false;
            j += 3;
        } else if opt == "setname" && j + 1 < argv.len() {
            if let Err(e) = super::client_cmd::validate_name(&argv[j + 1]) {
                return e;
            }
            setname = Some(argv[j + 1].clone());
            j += 2;
        } else {
            return Reply::error(format!(
                "ERR Syntax error in HELLO option '{}'",
                String::from_utf8_lossy(&argv[j])
            ));
        }
    }
    let c = super::caller!(s, key);
    if !c.authenticated {
        return err("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time");
    }
    if let Some(n) = setname {
        c.name = if n.is_empty() { None } else { Some(n) };
    }
    if let Some(v) = ver {
        c.resp = if v == 3 {
            RespVersion::Resp3
        } else {
            RespVersion::Resp2
        };
    }
    let proto = if c.resp == RespVersion::Resp3 { 3 } else { 2 };
    let id = c.id;
    let role = if s.repl.is_replica() {
        "replica"
    } else {
        "master"
    };
    Reply::Map(vec![
        (Reply::bulk(b"server"), Reply::bulk(b"redis")),
        (
            Reply::bulk(b"version"),
            Reply::bulk(crate::REDIS_VERSION.as_bytes()),
        ),
        (Reply::bulk(b"proto"), Reply::Int(proto)),
        (Reply::bulk(b"id"), Reply::Int(id as i64)),
        (Reply::bulk(b"mode"), Reply::bulk(b"standalone")),
        (Reply::bulk(b"role"), Reply::bulk(role.as_bytes())),
        (Reply::bulk(b"modules"), Reply::Array(vec![])),
    ])
}

pub fn ping(s: &mut Server, key: usize, argv: &[Bytes]) -> Reply {
    if argv.len() > 2 {
        return errors::wrong_arity("ping");
    }
    let c = &*super::caller!(s, key);
    if c.in_pubsub() && c.resp == RespVersion::Resp2 {
        let msg = argv.get(1).cloned().unwrap_or_default();
        return Reply::Array(vec![Reply::bulk(b"pong"), Reply::Bulk(msg)]);
    }
    match argv.get(1) {
        Some(m) => Reply::Bulk(m.clone()),
        None => Reply::status("PONG"),
    }
}

/// RESET: back to a fresh connection's state.
pub fn reset(s: &mut Server, key: usize) -> Reply {
    if let Some(c) = s.net.clients.get_mut(key) {
        s.exec.watches.unwatch_all(c);
    }
    let needs_auth = !s.cfg.requirepass.is_empty();
    let c = super::caller!(s, key);
    s.exec.pubsub.unsubscribe_all(c);
    crate::exec::tracking::disable(&mut s.exec.tracking, c);
    c.multi = None;
    c.dirty_cas = false;
    c.db = 0;
    c.resp = RespVersion::Resp2;
    c.name = None;
    c.reply_mode = crate::net::client::ReplyMode::On;
    c.no_evict = false;
    c.no_touch = false;
    if c.is_monitor() {
        c.role = crate::net::client::Role::Normal;
        s.exec.monitors.retain(|&id| id != c.id);
    }
    if needs_auth {
        c.authenticated = false;
        c.parser.auth_required = true;
    }
    Reply::status("RESET")
}

pub fn select(s: &mut Server, key: usize, argv: &[Bytes]) -> Reply {
    let id = match commands::args::int(&argv[1]) {
        Ok(v) => v,
        Err(e) => return e,
    };
    if id < 0 || id as usize >= s.exec.ks.db_count() {
        return err(errors::DB_RANGE);
    }
    super::caller!(s, key).db = id as usize;
    Reply::Ok
}
