//! From bytes in a client's query buffer to commands: parsing (ahead, for pipelines, with key
//! prefetching — ARCHITECTURE decision 13), protocol errors, and handing each command to the
//! execution core.

use bytes::Bytes;
use resp::{Parsed, Reply};

use crate::exec::MemberHint;
use crate::net::QueryPool;
use crate::server::Server;
use crate::util::now_ms;

/// Processes complete requests buffered for client `key`.
pub fn process_input(s: &mut Server, key: usize) {
    run_input(s, key);
    trim_query(s, key);
}

/// After a client's input was processed: a borrowed query buffer whose content was all
/// consumed goes back to the pool; one holding an incomplete command (or sized for the big
/// argument being awaited) becomes the client's own, as Valkey's `resetSharedQueryBuf`.
/// An own buffer left empty gets its consumed front back, ready for the next read.
pub fn trim_query(s: &mut Server, key: usize) {
    let Some(c) = s.net.clients.get_mut(key) else {
        return;
    };
    let awaiting_big = c
        .parser
        .awaited_bulk()
        .is_some_and(|n| n >= resp::request::BIG_ARG);
    if c.query_owned {
        if c.query.is_empty() && !awaiting_big && c.query.capacity() < QueryPool::BUF {
            c.query.clear();
            c.query.reserve(QueryPool::BUF);
        }
    } else if c.query.capacity() > 0 {
        if c.query.is_empty() && !awaiting_big {
            let buf = std::mem::take(&mut c.query);
            s.net.query_pool.give_back(buf);
        } else {
            c.query_owned = true;
        }
    }
}

fn run_input(s: &mut Server, key: usize) {
    loop {
        let Some(c) = s.net.clients.get_mut(key) else {
            return;
        };
        if c.blocked.is_some() || c.close_after_reply || c.close_asap {
            return;
        }
        if c.is_primary_link() && !crate::repl::primary_link_ready(s, key) {
            return;
        }
        let Some(c) = s.net.clients.get_mut(key) else {
            return;
        };
        if let Some((argv, consumed)) = c.held_stream.take() {
            // Applied now, or held again while the pause lasts.
            super::apply_from_primary(s, key, argv, consumed);
            if s.net
                .clients
                .get(key)
                .is_some_and(|c| c.held_stream.is_some())
            {
                return;
            }
            continue;
        }
        if let Some(argv) = c.pending.pop_front() {
            super::process_command(s, key, argv);
            continue;
        }
        if let Some(e) = c.pending_error.take() {
            return protocol_error(s, key, e);
        }
        if parses_ahead(c) {
            if !parse_batch(s, key) {
                return;
            }
            continue;
        }
        let before = c.query.len();
        match c.parser.parse(&mut c.query) {
            Ok(Parsed::Command(argv)) => {
                // A command split across reads was partly consumed by earlier calls.
                let consumed = before - c.query.len() + std::mem::take(&mut c.partial_consumed);
                if c.is_primary_link() {
                    super::apply_from_primary(s, key, argv, consumed);
                } else {
                    super::process_command(s, key, argv);
                }
            }
            Ok(Parsed::Empty) => {
                let consumed = before - c.query.len();
                crate::repl::on_empty_line(s, key, consumed);
            }
            Ok(Parsed::NeedMore { .. }) => {
                c.partial_consumed += before - c.query.len();
                return;
            }
            Err(e) => return protocol_error(s, key, e),
        }
    }
}

/// Most commands a client's pipeline is parsed ahead by, to prefetch their keys.
const BATCH: usize = 32;

/// Ordinary authenticated clients have their pipelines parsed ahead; links between primary
/// and replica are parsed one command at a time (offsets, handshake states).
fn parses_ahead(c: &crate::net::client::Client) -> bool {
    !c.is_primary_link() && !c.is_replica() && c.link_id().is_none() && c.authenticated
}

/// For an ordinary client with nothing queued: parses the complete commands in its query
/// buffer (up to [`BATCH`]) into its pending queue and adds the hash of each command's first
/// argument (the first key, for most commands) to `hashes`, and for collection commands the
/// key and the hash of the first member/field to `members`, for prefetching. Returns the
/// client's database if anything was parsed.
pub fn parse_ahead(
    s: &mut Server,
    key: usize,
    hashes: &mut Vec<u64>,
    members: &mut Vec<MemberHint>,
) -> Option<usize> {
    let c = s.net.clients.get_mut(key)?;
    if !parses_ahead(c) || c.blocked.is_some() || !c.pending.is_empty() {
        return None;
    }
    if c.pending_error.is_some() || c.close_after_reply || c.close_asap {
        return None;
    }
    let db = c.db;
    while c.pending.len() < BATCH {
        match c.parser.parse(&mut c.query) {
            Ok(Parsed::Command(argv)) => {
                if hashes.len() < PREFETCH_MAX {
                    if let Some(k) = argv.get(1) {
                        hashes.push(types::hash_key(k));
                        if let Some(m) = member_arg(&argv) {
                            members.push((db, k.clone(), types::hash_key(m)));
                        }
                        for k in more_keys(&argv) {
                            hashes.push(types::hash_key(k));
                        }
                    }
                }
                c.pending.push_back(argv);
            }
            Ok(Parsed::Empty) => {}
            Ok(Parsed::NeedMore { .. }) => break,
            Err(e) => {
                c.pending_error = Some(e);
                break;
            }
        }
    }
    (!c.pending.is_empty()).then_some(c.db)
}

/// [`parse_ahead`] for one client, prefetching its keys: executing a pipeline then overlaps
/// the cache misses of its lookups instead of paying them one by one. Returns false if
/// nothing was queued.
fn parse_batch(s: &mut Server, key: usize) -> bool {
    let mut hashes = std::mem::take(&mut s.exec.prefetch_scratch);
    let mut members = std::mem::take(&mut s.exec.member_scratch);
    let db = parse_ahead(s, key, &mut hashes, &mut members);
    if let (Some(db), true) = (db, hashes.len() > 1) {
        prefetch(s, db, &hashes, &members);
    }
    hashes.clear();
    members.clear();
    s.exec.prefetch_scratch = hashes;
    s.exec.member_scratch = members;
    s.net
        .clients
        .get(key)
        .is_some_and(|c| !c.pending.is_empty() || c.pending_error.is_some())
}

/// Prefetches the keys (`hashes`) of a batch of parsed commands, then the collection members
/// they name, grouped by key (a pipeline of SADDs to one set prefetches its members together).
pub fn prefetch(s: &Server, db: usize, hashes: &[u64], members: &[MemberHint]) {
    s.exec.ks.prefetch(db, hashes);
    let mut run: Vec<u64> = Vec::new();
    let mut i = 0;
    while i < members.len() {
        let (mdb, mkey, _) = &members[i];
        run.clear();
        let mut j = i;
        while j < members.len() && members[j].0 == *mdb && members[j].1 == *mkey {
            run.push(members[j].2);
            j += 1;
        }
        if run.len() > 1 {
            s.exec.ks.prefetch_members(*mdb, mkey, &run);
        }
        i = j;
    }
}

/// Most key hashes prefetched at once: beyond this, the first ones would leave the cache
/// before they are used.
const PREFETCH_MAX: usize = 1024;

/// Keys after the first of multi-key commands (MSET, MGET, DEL...), and the keys a script
/// or function is given (EVAL, EVALSHA, FCALL and their `_RO` forms: its `redis.call`s then
/// find them in the cache), as prefetch hints.
fn more_keys(argv: &[Bytes]) -> impl Iterator<Item = &Bytes> {
    let name = &argv[0];
    let is = |n: &[u8]| name.eq_ignore_ascii_case(n);
    let (start, step, end) = if argv.len() < 3 {
        (argv.len(), 1, argv.len())
    } else if is(b"mset") || is(b"msetnx") {
        (3, 2, argv.len())
    } else if is(b"mget") || is(b"del") || is(b"unlink") || is(b"exists") || is(b"touch") {
        (2, 1, argv.len())
    } else if is(b"evalsha")
        || is(b"eval")
        || is(b"fcall")
        || is(b"evalsha_ro")
        || is(b"eval_ro")
        || is(b"fcall_ro")
    {
        // A bad key count is the command's error to give; as a hint it just names no keys.
        let n = commands::args::int(&argv[2]).unwrap_or(0).max(0) as usize;
        (3, 1, 3 + n.min(argv.len() - 3))
    } else {
        (argv.len(), 1, argv.len())
    };
    argv[start..end].iter().step_by(step)
}

/// The first member/field argument of collection commands, as a prefetch hint (a wrong
/// guess only costs the hint).
fn member_arg(argv: &[Bytes]) -> Option<&Bytes> {
    let name = &argv[0];
    if argv.len() < 3 || !(4..=12).contains(&name.len()) {
        return None;
    }
    let mut buf = [0u8; 12];
    for (d, c) in buf.iter_mut().zip(name.iter()) {
        *d = c.to_ascii_lowercase();
    }
    match &buf[..name.len()] {
        b"sadd" | b"srem" | b"sismember" | b"smismember" | b"hset" | b"hsetnx" | b"hget"
        | b"hmget" | b"hmset" | b"hdel" | b"hexists" | b"hincrby" | b"hincrbyfloat"
        | b"hstrlen" | b"zscore" | b"zmscore" | b"zrank" | b"zrevrank" | b"zrem" => argv.get(2),
        b"zincrby" => argv.get(3),
        b"zadd" => {
            let flags: [&[u8]; 6] = [b"nx", b"xx", b"gt", b"lt", b"ch", b"incr"];
            let score = (2..argv.len())
                .find(|&i| !flags.iter().any(|f| argv[i].eq_ignore_ascii_case(f)))?;
            argv.get(score + 1)
        }
        _ => None,
    }
}

/// A malformed request: reply with the error and close after the reply (a replica's link to
/// its primary handles it its own way).
fn protocol_error(s: &mut Server, key: usize, e: resp::ProtocolError) {
    let Some(c) = s.net.clients.get_mut(key) else {
        return;
    };
    crate::log_verbose!(
        "Protocol error ({}) from client: {}",
        e.reason,
        crate::net::client::client_info(c, now_ms())
    );
    if c.is_primary_link() {
        crate::repl::on_primary_protocol_error(s, key);
        return;
    }
    c.reply(&Reply::error(format!("ERR {}", e.reply)));
    c.close_after_reply = true;
}
