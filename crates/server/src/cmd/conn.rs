//! Connection commands: AUTH, HELLO, PING, RESET, SELECT.

use bytes::Bytes;
use commands::errors::{self, err};
use resp::{Reply, RespVersion};

use crate::server::Server;

pub fn auth(s: &mut Server, key: usize, argv: &[Bytes]) -> Reply {
    if argv.len() > 3 {
        return err(errors::SYNTAX);
    }
    let (user, pass): (&[u8], &[u8]) = if argv.len() == 3 {
        (&argv[1], &argv[2])
    } else {
        // The old form: the default user, which must have a password.
        if s.acl.users.default_user().nopass {
            return err(errors::AUTH_NO_PASSWORD);
        }
        (b"default", &argv[1])
    };
    if crate::access::authenticate(s, key, user, pass, &argv[0]) {
        Reply::Ok
    } else {
        err(errors::WRONGPASS)
    }
}

/// HELLO [protover [AUTH user pass] [SETNAME name]]: every option is read first (the last AUTH
/// and SETNAME win), then the client authenticates, then the name and protocol are applied.
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
    let mut credentials = None;
    while j < argv.len() {
        let more = argv.len() - 1 - j;
        if argv[j].eq_ignore_ascii_case(b"auth") && more >= 2 {
            credentials = Some((&argv[j + 1], &argv[j + 2]));
            j += 3;
        } else if argv[j].eq_ignore_ascii_case(b"setname") && more >= 1 {
            if let Err(e) = super::client_cmd::validate_name(&argv[j + 1]) {
                return e;
            }
            setname = Some(argv[j + 1].clone());
            j += 2;
        } else {
            return Reply::error(format!(
                "ERR Syntax error in HELLO option '{}'",
                errors::c_text(&argv[j])
            ));
        }
    }
    if let Some((user, pass)) = credentials {
        if !crate::access::authenticate(s, key, user, pass, &argv[0]) {
            return err(errors::WRONGPASS);
        }
    }
    let c = super::caller!(s, key);
    if !c.authenticated {
        return err(errors::HELLO_NOAUTH);
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
    c.readonly = false;
    if c.is_monitor() {
        c.role = crate::net::client::Role::Normal;
        s.exec.monitors.retain(|&id| id != c.id);
    }
    crate::access::set_default_auth(s, key);
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
