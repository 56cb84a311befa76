//! DEBUG: the subcommands Valkey's test suite drives, for the features Redwing has (gated by
//! `enable-debug-command`). Replication's own hooks (CHANGE-REPL-ID, PAUSE-AFTER-FORK,
//! DELAY-RDB-CLIENT-FREE-SECONDS) are answered by the replication layer; anything else is an
//! unknown subcommand.

use bytes::Bytes;
use commands::errors::{self, err};
use keyspace::{NewValue, Obj, ValueRef};
use resp::Reply;

use super::{arg_lower, help_reply};
use crate::server::Server;

/// DEBUG subcommands used by test suites.
pub fn debug(s: &mut Server, key: usize, argv: &[Bytes]) -> Reply {
    let db = super::caller!(s, key).db;
    let argc = argv.len();
    match arg_lower(argv, 1).as_str() {
        "help" if argc == 2 => help_reply("DEBUG", HELP),
        "digest" if argc == 2 => Reply::status(keyspace::digest::hex(
            &keyspace::digest::dataset_digest(s.exec.ks.dbs()),
        )),
        "digest-value" => Reply::Array(
            argv[2..]
                .iter()
                .map(|k| {
                    let d = s
                        .exec
                        .ks
                        .db(db)
                        .get(k)
                        .map(keyspace::digest::value_digest)
                        .unwrap_or([0; 20]);
                    Reply::status(keyspace::digest::hex(&d))
                })
                .collect(),
        ),
        "segfault" => crate::crash::segfault(),
        "sleep" if argc == 3 => {
            let secs = resp::float::parse_double(&argv[2]).unwrap_or(0.0).max(0.0);
            std::thread::sleep(std::time::Duration::from_secs_f64(secs.min(3600.0)));
            Reply::Ok
        }
        "quicklist-packed-threshold" if argc == 3 => {
            // Valkey refuses anything from 4 GiB - 1 MiB up. (0 is stored as 1: an empty
            // element stays packed, where Valkey would give it a plain node.)
            match crate::config::parse_memory(&String::from_utf8_lossy(&argv[2])) {
                Some(n) if n <= (1u64 << 32) - (1 << 20) => {
                    s.exec.settings.list.packed_threshold = n.max(1);
                    Reply::Ok
                }
                _ => Reply::error(
                    "ERR argument must be a memory value bigger than 1 and smaller than 4gb",
                ),
            }
        }
        "replicate" if argc >= 3 => {
            // The arguments go to the replicas as a command, not executed here (tests use it
            // to send a replica what its primary would never send).
            s.exec.call_rewrite = Some(vec![argv[2..].to_vec()]);
            Reply::Ok
        }
        "set-active-expire" if argc == 3 => {
            s.exec.active_expire = atoi(&argv[2]) != 0;
            Reply::Ok
        }
        // The reply buffer shrinks back once written (Redwing has no peak-sized resizing
        // cron, so PEAK-RESET-TIME has nothing to set and stays unknown).
        "replybuffer" if argc == 4 && argv[2].eq_ignore_ascii_case(b"resizing") => {
            crate::net::client::REPLY_BUFFER_RESIZING
                .store(atoi(&argv[3]) != 0, std::sync::atomic::Ordering::Relaxed);
            Reply::Ok
        }
        "pause-cron" if argc == 3 => {
            s.life.cron_paused = atoi(&argv[2]) != 0;
            Reply::Ok
        }
        "set-skip-checksum-validation" if argc == 3 => {
            s.persist.skip_checksum_validation = atoi(&argv[2]) != 0;
            Reply::Ok
        }
        "log" if argc == 3 => {
            crate::log_warning!("DEBUG LOG: {}", String::from_utf8_lossy(&argv[2]));
            Reply::Ok
        }
        "error" if argc == 3 => {
            // Sent as given (newlines made spaces), and not counted as an error reply.
            let mut out = b"-".to_vec();
            out.extend(argv[2].iter().map(|&b| match b {
                b'\r' | b'\n' => b' ',
                b => b,
            }));
            out.extend_from_slice(b"\r\n");
            Reply::Raw(Bytes::from(out))
        }
        "object" if argc == 3 || argc == 4 => {
            let fast = argc == 4 && argv[3].eq_ignore_ascii_case(b"fast");
            object(s, db, &argv[2], fast)
        }
        "stringmatch-test" if argc == 2 => {
            stringmatch_fuzz(&mut s.exec.ks.rng);
            Reply::status("Apparently the server did not crash: test passed")
        }
        "config-rewrite-force-all" if argc == 2 => match s.cfg.file.clone() {
            None => err("ERR The server is running without a config file"),
            Some(path) => match crate::config::rewrite_file_all(
                &path,
                &s.cfg,
                crate::access::config_lines(s).as_deref(),
            ) {
                Ok(()) => Reply::Ok,
                Err(e) => Reply::error(format!("ERR CONFIG-REWRITE-FORCE-ALL failed: {e}")),
            },
        },
        "populate" if (3..=5).contains(&argc) => populate(s, db, argv),
        "protocol" if argc == 3 => protocol(&arg_lower(argv, 2)),
        "loadaof" if argc == 2 => crate::persist::aof::debug_loadaof(s, key),
        "aof-flush-sleep" if argc == 3 => {
            s.persist.aof.flush_sleep_us = atoi(&argv[2]).max(0) as u64;
            Reply::Ok
        }
        "reload" => {
            let mut opts = crate::persist::Reload {
                save: true,
                flush: true,
                merge: false,
            };
            for a in &argv[2..] {
                match String::from_utf8_lossy(a).to_ascii_lowercase().as_str() {
                    "merge" => opts.merge = true,
                    "noflush" => opts.flush = false,
                    "nosave" => opts.save = false,
                    _ => return Reply::error(errors::DEBUG_RELOAD_OPTIONS),
                }
            }
            crate::persist::debug_reload(s, opts)
        }
        "set-disable-deny-scripts" if argc == 3 => {
            s.exec.scripting.disable_deny_script = atoi(&argv[2]) != 0;
            Reply::Ok
        }
        _ => crate::repl::debug_or_unknown(s, key, argv),
    }
}

const HELP: &[&str] = &[
    "CHANGE-REPL-ID",
    "    Change the replication IDs of the instance.",
    "    Dangerous: should be used only for testing the replication subsystem.",
    "CONFIG-REWRITE-FORCE-ALL",
    "    Like CONFIG REWRITE but writes all configuration options, including",
    "    keywords not listed in original configuration file or default values.",
    "DIGEST",
    "    Output a hex signature representing the current DB content.",
    "DIGEST-VALUE <key> [<key> ...]",
    "    Output a hex signature of the values of all the specified keys.",
    "ERROR <string>",
    "    Return a RESP protocol error with <string> as message. Useful for clients",
    "    unit tests to simulate error replies.",
    "LOG <message>",
    "    Write <message> to the server log.",
    "OBJECT <key> [fast]",
    "    Show low level info about `key` and associated value.",
    "    Some fields of the default behavior may be time consuming to fetch,",
    "    and `fast` can be passed to avoid fetching them.",
    "POPULATE <count> [<prefix>] [<size>]",
    "    Create <count> string keys named key:<num>. If <prefix> is specified then",
    "    it is used instead of the 'key' prefix. These are not propagated to",
    "    replicas.",
    "PROTOCOL <type>",
    "    Reply with a test value of the specified type. <type> can be: string,",
    "    integer, double, bignum, null, array, set, map, attrib, push, verbatim,",
    "    true, false.",
    "RELOAD [option ...]",
    "    Save the RDB on disk and reload it back to memory. Available options:",
    "    * MERGE: Merge the content of the RDB file with the current data set.",
    "    * NOFLUSH: Do not empty the data set before loading the RDB file.",
    "    * NOSAVE: The RDB file is loaded without saving it first.",
    "REPLICATE <command> [<arg> ...]",
    "    Send <command> to the replicas as if this node had executed it.",
    "SET-ACTIVE-EXPIRE <0|1>",
    "    Setting it to 0 disables expiring keys in background when they are not",
    "    accessed (otherwise the behavior). Setting it to 1 reenables back the",
    "    default.",
    "SEGFAULT",
    "    Crash the server with sigsegv.",
    "SET-SKIP-CHECKSUM-VALIDATION <0|1>",
    "    Enables or disables checksum checks for RDB files and RESTORE's payload.",
    "SLEEP <seconds>",
    "    Stop the server for <seconds>. Decimals allowed.",
    "STRINGMATCH-TEST",
    "    Run a fuzz tester against the stringmatchlen() function.",
    "REPLYBUFFER RESIZING <0|1>",
    "    Enable or disable shrinking a client's reply buffer once it is written.",
    "PAUSE-CRON <0|1>",
    "    Stop periodic cron job processing.",
    "PAUSE-AFTER-FORK <0|1>",
    "    Stop the server's main process after fork.",
    "DELAY-RDB-CLIENT-FREE-SECOND <seconds>",
    "    Grace period in seconds for replica main channel to establish psync.",
];

/// C's `atoi`: leading whitespace, an optional sign, then digits; anything else stops it.
fn atoi(a: &[u8]) -> i64 {
    let text = String::from_utf8_lossy(a);
    let t = text.trim_start();
    let (neg, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let n = digits
        .bytes()
        .take_while(u8::is_ascii_digit)
        .fold(0i64, |n, d| {
            n.wrapping_mul(10).wrapping_add((d - b'0') as i64)
        });
    if neg {
        -n
    } else {
        n
    }
}

/// DEBUG OBJECT's quicklist fields, as Valkey's: nodes, average entries per node, the fill
/// and whether compression is on (as the list was created), and unless `fast` the nodes'
/// total uncompressed size.
fn quicklist_fields(text: &mut String, l: &types::List, fast: bool) {
    let (nodes, uncompressed) = l
        .nodes()
        .fold((0usize, 0usize), |(n, sz), (_, lp, _)| (n + 1, sz + lp));
    let (fill, depth) = l.quicklist_options();
    text.push_str(&format!(
        " ql_nodes:{nodes} ql_avg_node:{:.2} ql_listpack_max:{fill} ql_compressed:{}",
        l.len() as f64 / nodes.max(1) as f64,
        u8::from(depth != 0)
    ));
    if !fast {
        text.push_str(&format!(" ql_uncompressed_size:{uncompressed}"));
    }
}

/// DEBUG OBJECT: address, encoding, serialized length (unless `fast`), LRU/LFU fields.
fn object(s: &mut Server, db: usize, key: &[u8], fast: bool) -> Reply {
    let Some(o) = s.exec.ks.db(db).get(key) else {
        return err(errors::NO_SUCH_KEY);
    };
    // Small integers are shared objects in Valkey (unless an LRU/LFU policy needs their own
    // access times), reported with the shared refcount, as OBJECT REFCOUNT does.
    let lru_policy = s.cfg.maxmemory_policy.name().contains("lru") || s.exec.ks.lru.lfu;
    let shared = matches!(o.value(), ValueRef::Int(i) if (0..10000).contains(&i)) && !lru_policy;
    let mut text = format!(
        "Value at:{:p} refcount:{} encoding:{}",
        o as *const Obj,
        if shared { i32::MAX } else { 1 },
        o.encoding()
    );
    if !fast {
        text.push_str(&format!(
            " serializedlength:{}",
            crate::persist::serialized_length(o)
        ));
    }
    let lru = &s.exec.ks.lru;
    text.push_str(&format!(
        " lru:{} lru_seconds_idle:{} lfu_freq:{} lfu_access_time_minutes:{}",
        o.lru(),
        lru.idle_ms(o) / 1000,
        lru.lfu_decayed(o.lru()),
        o.lru() >> 8
    ));
    if let ValueRef::List(l) = o.value() {
        if l.encoding() == "quicklist" {
            quicklist_fields(&mut text, l, fast);
        }
    }
    Reply::status(text)
}

/// Random patterns against random strings (bytes below 128, up to 31 long), as Valkey's
/// fuzz tester: the matcher must neither panic nor run away.
fn stringmatch_fuzz(rng: &mut types::rand::Rng) {
    let mut pat = Vec::with_capacity(32);
    let mut text = Vec::with_capacity(32);
    for _ in 0..1_000_000 {
        pat.clear();
        text.clear();
        let (plen, tlen) = (rng.below(32), rng.below(32));
        pat.extend((0..plen).map(|_| rng.below(128) as u8));
        text.extend((0..tlen).map(|_| rng.below(128) as u8));
        std::hint::black_box(types::glob::glob_match(&pat, &text, false));
    }
}

fn populate(s: &mut Server, db: usize, argv: &[Bytes]) -> Reply {
    let count = match commands::args::positive(&argv[2]) {
        Ok(v) => v,
        Err(e) => return e,
    };
    let prefix: &[u8] = argv.get(3).map(|a| &a[..]).unwrap_or(b"key");
    let size = match argv.get(4).map(|a| commands::args::positive(a)) {
        None => None,
        Some(Ok(v)) => Some(v as usize),
        Some(Err(e)) => return e,
    };
    for i in 0..count {
        let mut k = prefix.to_vec();
        k.extend_from_slice(format!(":{i}").as_bytes());
        if s.exec.ks.db(db).get(&k).is_some() {
            continue;
        }
        let mut v = format!("value:{i}").into_bytes();
        if let Some(sz) = size {
            v.resize(sz, 0);
        }
        s.exec.ks.put(db, Obj::new(&k, NewValue::Str(&v), None));
    }
    Reply::Ok
}

fn protocol(kind: &str) -> Reply {
    match kind {
        "string" => Reply::bulk(b"Hello World"),
        "integer" => Reply::Int(12345),
        #[allow(clippy::approx_constant)] // DEBUG PROTOCOL double replies 3.141, as Redis.
        "double" => Reply::Double(3.141),
        "null" => Reply::Nil,
        "array" => Reply::Array((0..3).map(Reply::Int).collect()),
        "set" => Reply::Set((0..3).map(Reply::Int).collect()),
        "map" => Reply::Map((0..3).map(|i| (Reply::Int(i), Reply::Bool(i == 1))).collect()),
        "push" => Reply::Push(vec![Reply::bulk(b"server-cpu-usage"), Reply::Int(42)]),
        "verbatim" => Reply::Verbatim("txt", Bytes::from_static(b"This is a verbatim\nstring")),
        "true" => Reply::Bool(true),
        "false" => Reply::Bool(false),
        "bignum" => Reply::BigNumber(Bytes::from_static(b"1234567999999999999999999999999999999")),
        "attrib" => Reply::Attribute(
            vec![(
                Reply::bulk(b"key-popularity"),
                Reply::Array(vec![Reply::bulk(b"key:123"), Reply::Int(90)]),
            )],
            Box::new(Reply::bulk(b"Some real reply following the attribute")),
        ),
        _ => err("ERR Wrong protocol type name. Please use one of the following: string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|true|false"),
    }
}
