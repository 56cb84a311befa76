//! MIGRATE: moves (or with COPY copies) keys to another server with DUMP payloads sent as
//! RESTORE commands, over a connection kept in [`crate::net::migrate`]. As in Valkey the
//! command is synchronous: the event loop waits for the target within the command's timeout.
//! The keys the target acknowledged are deleted here and propagated as one DEL.

use std::time::Duration;

use bytes::Bytes;
use commands::errors;
use resp::Reply;

use crate::net::migrate::{is_timeout, read_line, write_all};
use crate::server::Server;

/// What MIGRATE was asked, from its arguments.
struct Request {
    host: String,
    port: String,
    db: i64,
    timeout: Duration,
    copy: bool,
    replace: bool,
    auth: Option<(Option<Bytes>, Bytes)>,
    keys: Vec<Bytes>,
}

fn parse(argv: &[Bytes]) -> Result<Request, Reply> {
    let (mut copy, mut replace, mut auth) = (false, false, None);
    let mut keys = vec![argv[3].clone()];
    let mut j = 6;
    while j < argv.len() {
        let more = argv.len() - 1 - j;
        let word = &argv[j];
        if word.eq_ignore_ascii_case(b"copy") {
            copy = true;
        } else if word.eq_ignore_ascii_case(b"replace") {
            replace = true;
        } else if word.eq_ignore_ascii_case(b"auth") {
            if more == 0 {
                return Err(errors::err(errors::SYNTAX));
            }
            auth = Some((None, argv[j + 1].clone()));
            j += 1;
        } else if word.eq_ignore_ascii_case(b"auth2") {
            if more < 2 {
                return Err(errors::err(errors::SYNTAX));
            }
            auth = Some((Some(argv[j + 1].clone()), argv[j + 2].clone()));
            j += 2;
        } else if word.eq_ignore_ascii_case(b"keys") {
            if !argv[3].is_empty() {
                return Err(Reply::error(
                    "ERR When using MIGRATE KEYS option, the key argument must be set to the empty string",
                ));
            }
            keys = argv[j + 1..].to_vec();
            break;
        } else {
            return Err(errors::err(errors::SYNTAX));
        }
        j += 1;
    }
    let timeout = commands::args::int(&argv[5])?;
    let db = commands::args::int(&argv[4])?;
    let timeout_ms = if timeout <= 0 { 1000 } else { timeout as u64 };
    Ok(Request {
        host: String::from_utf8_lossy(&argv[1]).into_owned(),
        port: String::from_utf8_lossy(&argv[2]).into_owned(),
        db,
        timeout: Duration::from_millis(timeout_ms),
        copy,
        replace,
        auth,
        keys,
    })
}

/// How an attempt ended without a reply from the target for every key.
enum Failure {
    /// Writing the commands failed.
    Write { timed_out: bool },
    /// Reading AUTH's or SELECT's reply, or the first RESTORE reply, failed: nothing was
    /// applied on the target that we know of, so one retry on a new connection is safe.
    ReadFirst { timed_out: bool },
}

/// MIGRATE host port key|"" destination-db timeout [COPY] [REPLACE] [AUTH password |
/// AUTH2 username password] [KEYS key ...]
pub fn migrate(s: &mut Server, client: usize, argv: &[Bytes]) -> Reply {
    let req = match parse(argv) {
        Ok(r) => r,
        Err(e) => return e,
    };
    let db = s.net.clients.get(client).map_or(0, |c| c.db);
    // Keys missing (or expired) now are left out; none at all is not an error.
    let present: Vec<Bytes> = req
        .keys
        .iter()
        .filter(|k| s.exec.ks.read(db, k).is_some())
        .cloned()
        .collect();
    if present.is_empty() {
        return Reply::status("NOKEY");
    }
    let mut may_retry = true;
    loop {
        match attempt(s, &req, db, &present) {
            Ok(reply) => return reply,
            Err(failure) => {
                s.net.migrate.close(&req.host, &req.port);
                let (timed_out, writing) = match failure {
                    Failure::Write { timed_out } => (timed_out, true),
                    Failure::ReadFirst { timed_out } => (timed_out, false),
                };
                if may_retry && !timed_out {
                    may_retry = false;
                    continue;
                }
                let what = if writing { "writing" } else { "reading" };
                return Reply::error(format!("IOERR error or timeout {what} to target instance"));
            }
        }
    }
}

/// One attempt: connect (or reuse), send AUTH / SELECT / the RESTOREs, read the replies.
fn attempt(s: &mut Server, req: &Request, db: usize, keys: &[Bytes]) -> Result<Reply, Failure> {
    let now = s.exec.ks.now_ms;
    let target = match s.net.migrate.get(&req.host, &req.port, req.timeout, now) {
        Ok(t) => t,
        Err(_) => {
            return Ok(Reply::error(
                "IOERR error or timeout connecting to the client",
            ))
        }
    };
    let mut out = Vec::new();
    if let Some((user, password)) = &req.auth {
        let mut args: Vec<&[u8]> = vec![b"AUTH"];
        if let Some(u) = user {
            args.push(u);
        }
        args.push(password);
        resp::reply::encode_command(&mut out, &args);
    }
    let select = target.last_db != Some(req.db);
    if select {
        let n = req.db.to_string();
        resp::reply::encode_command(&mut out, &[b"SELECT".as_slice(), n.as_bytes()]);
    }
    // Payloads made now: a key that expired since the lookup is skipped.
    let mut sent = Vec::new();
    for key in keys {
        let Some(obj) = s.exec.ks.read(db, key) else {
            continue;
        };
        let ttl = match obj.expire_ms() {
            Some(at) if at - now < 0 => continue,
            Some(at) => (at - now).max(1),
            None => 0,
        };
        let payload = match persistence::dump::dump(obj) {
            Ok(p) => p,
            Err(e) => return Ok(Reply::error(format!("ERR {e}"))),
        };
        let ttl = ttl.to_string();
        let mut args: Vec<&[u8]> = vec![b"RESTORE", key, ttl.as_bytes(), &payload];
        if req.replace {
            args.push(b"REPLACE");
        }
        resp::reply::encode_command(&mut out, &args);
        sent.push(key.clone());
    }
    if let Err(e) = write_all(&mut target.stream, &out) {
        return Err(Failure::Write {
            timed_out: is_timeout(&e),
        });
    }
    let read_first = |e: std::io::Error| Failure::ReadFirst {
        timed_out: is_timeout(&e),
    };
    let auth_line = match req.auth {
        Some(_) => Some(read_line(&mut target.stream).map_err(read_first)?),
        None => None,
    };
    let select_line = match select {
        true => Some(read_line(&mut target.stream).map_err(read_first)?),
        false => None,
    };
    let mut target_error: Option<Vec<u8>> = None;
    let mut acked = Vec::new();
    let mut socket_error = None;
    for (j, key) in sent.iter().enumerate() {
        let line = match read_line(&mut target.stream) {
            Ok(l) => l,
            Err(e) if j == 0 && !is_timeout(&e) && target_error.is_none() => {
                return Err(read_first(e));
            }
            Err(e) => {
                socket_error = Some(e);
                break;
            }
        };
        let failed = |l: &Option<Vec<u8>>| l.as_ref().is_some_and(|l| l.first() == Some(&b'-'));
        if failed(&auth_line) || failed(&select_line) || line.first() == Some(&b'-') {
            if target_error.is_none() {
                target.last_db = None;
                let from = [&auth_line, &select_line]
                    .into_iter()
                    .flatten()
                    .find(|l| l.first() == Some(&b'-'))
                    .unwrap_or(&line);
                target_error = Some(from[1..].to_vec());
            }
        } else if !req.copy {
            acked.push(key.clone());
        }
    }
    if socket_error.is_none() && target_error.is_none() {
        // Later MIGRATEs to this target skip SELECT while it names the same database.
        target.last_db = Some(req.db);
    }
    if socket_error.is_some() {
        s.net.migrate.close(&req.host, &req.port);
    }
    delete_acked(s, db, &acked);
    if let Some(e) = target_error {
        return Ok(Reply::error(format!(
            "ERR Target instance replied with error: {}",
            String::from_utf8_lossy(&e)
        )));
    }
    if socket_error.is_some() {
        return Ok(Reply::error(
            "IOERR error or timeout reading to target instance",
        ));
    }
    Ok(Reply::Ok)
}

/// Deletes the keys the target acknowledged, and propagates them as one DEL.
fn delete_acked(s: &mut Server, db: usize, acked: &[Bytes]) {
    if acked.is_empty() {
        return;
    }
    let mut del = vec![Bytes::from_static(b"DEL")];
    for key in acked {
        if s.exec.ks.remove(db, key).is_some() {
            s.exec.call_dirty += 1;
            s.exec.events.push(commands::notify::KeyEvent {
                class: commands::notify::GENERIC,
                event: "del",
                key: key.clone(),
                db,
            });
        }
        del.push(key.clone());
    }
    s.exec.call_rewrite = Some(vec![del]);
}
