//! Introspection and diagnostics: COMMAND, OBJECT, MEMORY, SLOWLOG, MONITOR (LATENCY and DEBUG
//! have their own modules).

use crate::config::value::ProtectedAction;
use bytes::Bytes;
use commands::docs::{self, arg_flags, Arg, Doc};
use commands::errors::{self, err};
use commands::key_specs::{described, legacy, Begin, Find, KeySpec};
use commands::spec::{acl, flags as f, CommandSpec, Handler};
use commands::table;
use keyspace::ValueRef;
use resp::Reply;

use super::{arg_lower, help_reply};
use crate::server::Server;
use crate::util::now_us;

fn status_list(names: &[(u64, &str)], bits: u64, prefix: &str) -> Reply {
    Reply::Set(
        names
            .iter()
            .filter(|(b, _)| bits & b != 0)
            .map(|(_, n)| Reply::status(format!("{prefix}{n}")))
            .collect(),
    )
}

/// Key-spec flags in the order and case Valkey prints them (`addReplyFlagsForKeyArgs`).
const KEY_FLAG_ORDER: [(&str, &str); 11] = [
    ("RO", "RO"),
    ("RW", "RW"),
    ("OW", "OW"),
    ("RM", "RM"),
    ("ACCESS", "access"),
    ("UPDATE", "update"),
    ("INSERT", "insert"),
    ("DELETE", "delete"),
    ("NOT_KEY", "not_key"),
    ("INCOMPLETE", "incomplete"),
    ("VARIABLE_FLAGS", "variable_flags"),
];

fn key_flags(flags: &[&str]) -> Reply {
    Reply::Set(
        KEY_FLAG_ORDER
            .iter()
            .filter(|(f, _)| flags.contains(f))
            .map(|(_, shown)| Reply::status(*shown))
            .collect(),
    )
}

fn spec_map(kind: &'static [u8], fields: Vec<(&'static [u8], i64)>) -> Reply {
    Reply::Map(vec![
        (Reply::bulk(b"type"), Reply::bulk(kind)),
        (
            Reply::bulk(b"spec"),
            Reply::Map(
                fields
                    .into_iter()
                    .map(|(k, v)| (Reply::bulk(k), Reply::Int(v)))
                    .collect(),
            ),
        ),
    ])
}

/// One key spec of COMMAND INFO.
fn key_spec(ks: &KeySpec) -> Reply {
    let begin = match ks.begin {
        Begin::Index(i) => spec_map(b"index", vec![(b"index", i as i64)]),
        Begin::Keyword { keyword, startfrom } => Reply::Map(vec![
            (Reply::bulk(b"type"), Reply::bulk(b"keyword")),
            (
                Reply::bulk(b"spec"),
                Reply::Map(vec![
                    (Reply::bulk(b"keyword"), Reply::bulk(keyword.as_bytes())),
                    (Reply::bulk(b"startfrom"), Reply::Int(startfrom as i64)),
                ]),
            ),
        ]),
        Begin::Unknown => spec_map(b"unknown", vec![]),
    };
    let find = match ks.find {
        Find::Range {
            lastkey,
            step,
            limit,
        } => spec_map(
            b"range",
            vec![
                (b"lastkey", lastkey as i64),
                (b"keystep", step as i64),
                (b"limit", limit as i64),
            ],
        ),
        Find::Keynum { index, first, step } => spec_map(
            b"keynum",
            vec![
                (b"keynumidx", index as i64),
                (b"firstkey", first as i64),
                (b"keystep", step as i64),
            ],
        ),
        Find::Unknown => spec_map(b"unknown", vec![]),
    };
    let mut fields = Vec::with_capacity(4);
    if let Some(note) = ks.notes {
        fields.push((Reply::bulk(b"notes"), Reply::bulk(note.as_bytes())));
    }
    fields.push((Reply::bulk(b"flags"), key_flags(ks.flags)));
    fields.push((Reply::bulk(b"begin_search"), begin));
    fields.push((Reply::bulk(b"find_keys"), find));
    Reply::Map(fields)
}

/// The key specs of a command: described in `commands::key_specs`, or one range spec derived
/// from its row.
fn key_specs(spec: &CommandSpec, full: &str) -> Reply {
    if let Some(specs) = described(full) {
        return Reply::Set(specs.iter().map(key_spec).collect());
    }
    let k = &spec.keys;
    if k.first <= 0 {
        return Reply::Set(vec![]);
    }
    let derived = KeySpec {
        notes: commands::spec_notes::key_note(full),
        flags: k.spec_flags,
        begin: Begin::Index(k.first),
        find: Find::Range {
            lastkey: k.last,
            step: k.step,
            limit: 0,
        },
    };
    Reply::Set(vec![key_spec(&derived)])
}

/// One COMMAND INFO entry (10 fields, as Redis 7).
fn command_info(spec: &CommandSpec, full: &str) -> Reply {
    let (first, last, step) = match described(full) {
        Some(specs) => legacy(specs).0,
        None => spec.keys.legacy(),
    };
    // MAY_REPLICATE is internal, as in Valkey (hidden on purpose there).
    let mut flags = spec.flags & !f::MAY_REPLICATE;
    if spec.keys.find.is_some() || described(full).is_some_and(|s| legacy(s).1) {
        flags |= f::MOVABLE_KEYS;
    }
    let subs: Vec<Reply> = spec
        .subcommands
        .iter()
        .map(|s| command_info(s, &format!("{full}|{}", s.name)))
        .collect();
    Reply::Array(vec![
        Reply::bulk(full.as_bytes()),
        Reply::Int(spec.arity as i64),
        status_list(f::NAMES, flags, ""),
        Reply::Int(first),
        Reply::Int(last),
        Reply::Int(step),
        status_list(acl::NAMES, spec.acl_categories(), "@"),
        Reply::Set(
            commands::spec_notes::tips(full)
                .iter()
                .map(|t| Reply::bulk(t.as_bytes()))
                .collect(),
        ),
        key_specs(spec, full),
        Reply::Set(subs),
    ])
}

fn command_docs(spec: &CommandSpec, full: &str) -> Reply {
    let mut fields = vec![
        (
            Reply::bulk(b"summary"),
            Reply::bulk(spec.summary.as_bytes()),
        ),
        (Reply::bulk(b"since"), Reply::bulk(spec.since.as_bytes())),
        (Reply::bulk(b"group"), Reply::bulk(spec.group.as_bytes())),
    ];
    if let Some(doc) = docs::lookup(full) {
        doc_fields(doc, &mut fields);
    }
    if !spec.subcommands.is_empty() {
        let subs = spec.subcommands.iter().map(|s| {
            let n = format!("{full}|{}", s.name);
            (Reply::bulk(n.as_bytes()), command_docs(s, &n))
        });
        fields.push((Reply::bulk(b"subcommands"), Reply::Map(subs.collect())));
    }
    Reply::Map(fields)
}

/// The fields of COMMAND DOCS after `group`, in Valkey's order, each only when it has a value.
fn doc_fields(doc: &Doc, fields: &mut Vec<(Reply, Reply)>) {
    let text = |s: &str| Reply::bulk(s.as_bytes());
    if let Some(c) = doc.complexity {
        fields.push((text("complexity"), text(c)));
    }
    if !doc.doc_flags.is_empty() {
        let flags = doc.doc_flags.iter().map(|f| Reply::status(*f));
        fields.push((text("doc_flags"), Reply::Set(flags.collect())));
    }
    if let Some(v) = doc.deprecated_since {
        fields.push((text("deprecated_since"), text(v)));
    }
    if let Some(r) = doc.replaced_by {
        fields.push((text("replaced_by"), text(r)));
    }
    if !doc.history.is_empty() {
        let history = doc
            .history
            .iter()
            .map(|(v, change)| Reply::Array(vec![text(v), text(change)]));
        fields.push((text("history"), Reply::Set(history.collect())));
    }
    if !doc.args.is_empty() {
        fields.push((text("arguments"), arg_docs(doc.args)));
    }
}

/// An argument list as COMMAND DOCS describes it (`addReplyCommandArgList`).
fn arg_docs(args: &[Arg]) -> Reply {
    let text = |s: &str| Reply::bulk(s.as_bytes());
    let one = |a: &Arg| {
        let mut m = vec![
            (text("name"), text(a.name)),
            (text("type"), text(a.kind.name())),
        ];
        if !a.kind.is_container() {
            m.push((text("display_text"), text(a.display_text())));
        }
        if a.key_spec_index >= 0 {
            m.push((text("key_spec_index"), Reply::Int(a.key_spec_index.into())));
        }
        let optional = [
            ("token", a.token),
            ("summary", a.summary),
            ("since", a.since),
            ("deprecated_since", a.deprecated_since),
        ];
        for (name, value) in optional {
            if let Some(v) = value {
                m.push((text(name), text(v)));
            }
        }
        if a.flags != 0 {
            let flags = arg_flags::NAMES
                .iter()
                .filter(|(bit, _)| a.flags & bit != 0)
                .map(|(_, n)| Reply::status(*n));
            m.push((text("flags"), Reply::Set(flags.collect())));
        }
        if a.kind.is_container() {
            m.push((text("arguments"), arg_docs(a.args)));
        }
        Reply::Map(m)
    };
    Reply::Array(args.iter().map(one).collect())
}

/// Finds a command by full name (`get`, `config|get`).
fn by_full_name(name: &[u8]) -> Option<(&'static CommandSpec, String)> {
    let text = String::from_utf8_lossy(name).to_ascii_lowercase();
    match text.split_once('|') {
        Some((parent, sub)) => table::lookup(parent.as_bytes())
            .and_then(|p| table::lookup_sub(p, sub.as_bytes()))
            .map(|s| (s, text.clone())),
        None => table::lookup(name).map(|s| (s, text)),
    }
}

pub fn command(_s: &mut Server, argv: &[Bytes]) -> Reply {
    if argv.len() == 1 {
        return Reply::Array(
            table::all()
                .iter()
                .map(|c| command_info(c, c.name))
                .collect(),
        );
    }
    match arg_lower(argv, 1).as_str() {
        "count" if argv.len() == 2 => Reply::Int(table::all().len() as i64),
        "info" => {
            if argv.len() == 2 {
                return Reply::Array(
                    table::all()
                        .iter()
                        .map(|c| command_info(c, c.name))
                        .collect(),
                );
            }
            Reply::Array(
                argv[2..]
                    .iter()
                    .map(|n| by_full_name(n).map_or(Reply::Nil, |(s, full)| command_info(s, &full)))
                    .collect(),
            )
        }
        "docs" => {
            let pairs: Vec<(Reply, Reply)> = if argv.len() == 2 {
                table::all()
                    .iter()
                    .map(|c| (Reply::bulk(c.name.as_bytes()), command_docs(c, c.name)))
                    .collect()
            } else {
                argv[2..]
                    .iter()
                    .filter_map(|n| {
                        by_full_name(n)
                            .map(|(s, full)| (Reply::bulk(full.as_bytes()), command_docs(s, &full)))
                    })
                    .collect()
            };
            Reply::Map(pairs)
        }
        "list" => command_list(argv),
        "getkeys" | "getkeysandflags" if argv.len() >= 3 => {
            getkeys(&argv[2..], arg_lower(argv, 1) == "getkeysandflags")
        }
        "help" if argv.len() == 2 => help_reply("COMMAND", COMMAND_HELP),
        _ => errors::unknown_subcommand("command", &argv[1]),
    }
}

fn command_list(argv: &[Bytes]) -> Reply {
    let mut names: Vec<(String, &'static CommandSpec)> = Vec::new();
    for c in table::all() {
        names.push((c.name.to_string(), c));
        for s in c.subcommands {
            names.push((format!("{}|{}", c.name, s.name), s));
        }
    }
    if argv.len() == 5 && arg_lower(argv, 2) == "filterby" {
        let what = arg_lower(argv, 3);
        let val = String::from_utf8_lossy(&argv[4]).to_ascii_lowercase();
        match what.as_str() {
            "pattern" => {
                names.retain(|(n, _)| types::glob::glob_match(val.as_bytes(), n.as_bytes(), true))
            }
            "aclcat" => {
                let Some(bit) = acl::NAMES.iter().find(|(_, n)| *n == val).map(|(b, _)| *b) else {
                    return Reply::Array(vec![]);
                };
                names.retain(|(_, s)| s.acl_categories() & bit != 0);
            }
            "module" => names.clear(),
            _ => return err(errors::SYNTAX),
        }
    } else if argv.len() != 2 {
        return err(errors::SYNTAX);
    }
    Reply::Array(
        names
            .into_iter()
            .map(|(n, _)| Reply::bulk(n.as_bytes()))
            .collect(),
    )
}

fn getkeys(cmd: &[Bytes], with_flags: bool) -> Reply {
    let spec = match commands::call::resolve(cmd) {
        Ok(s) => s,
        Err(_) => return err("ERR Invalid command specified"),
    };
    // `doesCommandHaveKeys`: a key spec that is not only shard channels (`NOT_KEY`).
    let k = &spec.keys;
    if (k.first <= 0 && k.find.is_none()) || k.spec_flags.contains(&"NOT_KEY") {
        return err("ERR The command has no key arguments");
    }
    if !spec.arity_ok(cmd.len()) {
        return err("ERR Invalid number of arguments specified for command");
    }
    // The keys and flags the ACL check sees (`commands::keyrefs`).
    let refs = commands::keyrefs::key_refs(spec, cmd);
    if refs.is_empty() {
        return if spec.has(f::NO_MANDATORY_KEYS) {
            Reply::Array(vec![])
        } else {
            err("ERR Invalid arguments specified for command")
        };
    }
    Reply::Array(
        refs.into_iter()
            .map(|k| {
                let key = Reply::Bulk(cmd[k.pos].clone());
                if with_flags {
                    Reply::Array(vec![key, key_flags(k.flags)])
                } else {
                    key
                }
            })
            .collect(),
    )
}

const COMMAND_HELP: &[&str] = &[
    "(no subcommand)",
    "    Return details about all commands.",
    "COUNT",
    "    Return the total number of commands in this server.",
    "LIST",
    "    Return a list of all commands in this server.",
    "INFO [<command-name> ...]",
    "    Return details about multiple commands.",
    "    If no command names are given, documentation details for all",
    "    commands are returned.",
    "DOCS [<command-name> ...]",
    "    Return documentation details about multiple commands.",
    "    If no command names are given, documentation details for all",
    "    commands are returned.",
    "GETKEYS <full-command>",
    "    Return the keys from a full command.",
    "GETKEYSANDFLAGS <full-command>",
    "    Return the keys and the access flags from a full command.",
];

/// OBJECT ENCODING | REFCOUNT | IDLETIME | FREQ | HELP
pub fn object(s: &mut Server, key: usize, argv: &[Bytes]) -> Reply {
    let sub = arg_lower(argv, 1);
    if sub == "help" {
        return help_reply("OBJECT", OBJECT_HELP);
    }
    if argv.len() != 3 {
        return errors::unknown_subcommand("object", &argv[1]);
    }
    let db = super::caller!(s, key).db;
    let lfu = s.exec.ks.lru.lfu;
    let maxmem_lru = s.cfg.maxmemory_policy.name().contains("lru") || lfu;
    let no_touch = std::mem::replace(&mut s.exec.ks.no_touch, true);
    let obj = s.exec.ks.peek(db, &argv[2]).cloned();
    s.exec.ks.no_touch = no_touch;
    let Some(obj) = obj else { return Reply::Nil };
    match sub.as_str() {
        "encoding" => Reply::bulk(obj.encoding().as_bytes()),
        "refcount" => match obj.value() {
            ValueRef::Int(i) if (0..10000).contains(&i) && !maxmem_lru => Reply::Int(i32::MAX as i64),
            _ => Reply::Int(1),
        },
        "idletime" if lfu => err("ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust."),
        "idletime" => Reply::Int((s.exec.ks.lru.idle_ms(&obj) / 1000) as i64),
        "freq" if !lfu => err("ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust."),
        "freq" => Reply::Int(s.exec.ks.lru.lfu_decayed(obj.lru()) as i64),
        _ => errors::unknown_subcommand("object", &argv[1]),
    }
}

const OBJECT_HELP: &[&str] = &[
    "ENCODING <key>",
    "    Return the kind of internal representation used in order to store the value",
    "    associated with a <key>.",
    "FREQ <key>",
    "    Return the access frequency index of the <key>. The returned integer is",
    "    proportional to the logarithm of the recent access frequency of the key.",
    "IDLETIME <key>",
    "    Return the idle time of the <key>, that is the approximated number of",
    "    seconds elapsed since the last access to the key.",
    "REFCOUNT <key>",
    "    Return the number of references of the value associated with the specified",
    "    <key>.",
];

/// MEMORY USAGE | STATS | DOCTOR | PURGE | HELP
pub fn memory(s: &mut Server, key: usize, argv: &[Bytes]) -> Reply {
    match arg_lower(argv, 1).as_str() {
        "usage" if argv.len() == 3 || argv.len() == 5 => {
            if argv.len() == 5 && (arg_lower(argv, 3) != "samples" || commands::args::int(&argv[4]).is_err()) {
                return err(errors::SYNTAX);
            }
            let db = super::caller!(s, key).db;
            match s.exec.ks.peek(db, &argv[2]) {
                None => Reply::Nil,
                Some(o) => Reply::Int((o.mem_usage() + 16) as i64),
            }
        }
        "stats" if argv.len() == 2 => {
            let used = crate::exec::evict::used_memory();
            let fields: Vec<(&str, i64)> = vec![
                ("peak.allocated", s.persist_peak() as i64),
                ("total.allocated", used as i64),
                ("startup.allocated", s.startup_memory() as i64),
                ("replication.backlog", s.repl.backlog_memory() as i64),
                ("clients.slaves", 0),
                ("clients.normal", s.net.clients.iter().map(|(_, c)| (c.query.capacity() + c.out.capacity()) as i64).sum()),
                ("lua.caches", s.exec.scripting.counters().scripts_eval as i64),
                ("functions.caches", s.exec.scripting.counters().functions_caches as i64),
                ("keys.count", s.exec.ks.dbs().iter().map(|d| d.len() as i64).sum()),
                ("dataset.bytes", used.saturating_sub(s.startup_memory()) as i64),
            ];
            Reply::Map(fields.into_iter().map(|(k, v)| (Reply::bulk(k.as_bytes()), Reply::Int(v))).collect())
        }
        "doctor" if argv.len() == 2 => Reply::Verbatim("txt", Bytes::from_static(b"Hi Sam, I can't find any memory issue in your instance. I can only account for what occurs on this base.")),
        "malloc-stats" if argv.len() == 2 => {
            let mut text = Vec::new();
            let opts = tikv_jemalloc_ctl::stats_print::Options::default();
            if tikv_jemalloc_ctl::stats_print::stats_print(&mut text, opts).is_err() {
                text = b"Stats not supported for the current allocator".to_vec();
            }
            Reply::Verbatim("txt", Bytes::from(text))
        }
        "purge" if argv.len() == 2 => {
            let _ = tikv_jemalloc_ctl::epoch::advance();
            Reply::Ok
        }
        "help" if argv.len() == 2 => help_reply(
            "MEMORY",
            &[
                "DOCTOR",
                "    Return memory problems reports.",
                "MALLOC-STATS",
                "    Return internal statistics report from the memory allocator.",
                "PURGE",
                "    Attempt to purge dirty pages for reclamation by the allocator.",
                "STATS",
                "    Return information about the memory usage of the server.",
                "USAGE <key> [SAMPLES <count>]",
                "    Return memory in bytes used by <key> and its value. Nested values are",
                "    sampled up to <count> times (default: 5, 0 means sample all).",
            ],
        ),
        _ => errors::unknown_subcommand("memory", &argv[1]),
    }
}

/// SLOWLOG GET [n] | LEN | RESET | HELP
pub fn slowlog(s: &mut Server, argv: &[Bytes]) -> Reply {
    match arg_lower(argv, 1).as_str() {
        "get" if argv.len() <= 3 => {
            let n = match argv.get(2).map(|a| commands::args::int(a)) {
                None => 10,
                Some(Ok(v)) if v >= -1 => {
                    if v == -1 {
                        usize::MAX
                    } else {
                        v as usize
                    }
                }
                Some(_) => return err("ERR count should be greater than or equal to -1"),
            };
            Reply::Array(
                s.stats
                    .slowlog
                    .iter()
                    .take(n)
                    .map(|e| {
                        Reply::Array(vec![
                            Reply::Int(e.id as i64),
                            Reply::Int(e.time),
                            Reply::Int(e.micros as i64),
                            Reply::Array(e.args.iter().map(|a| Reply::Bulk(a.clone())).collect()),
                            Reply::bulk(e.addr.as_bytes()),
                            Reply::Bulk(e.name.clone()),
                        ])
                    })
                    .collect(),
            )
        }
        "len" if argv.len() == 2 => Reply::Int(s.stats.slowlog.len() as i64),
        "reset" if argv.len() == 2 => {
            s.stats.slowlog.clear();
            Reply::Ok
        }
        "help" if argv.len() == 2 => help_reply(
            "SLOWLOG",
            &[
                "GET [<count>]",
                "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
                "    Entries are made of:",
                "    id, timestamp, time in microseconds, arguments array, client IP and port,",
                "    client name",
                "LEN",
                "    Return the length of the slowlog.",
                "RESET",
                "    Reset the slowlog.",
            ],
        ),
        _ => errors::unknown_subcommand("slowlog", &argv[1]),
    }
}

pub fn monitor(s: &mut Server, key: usize) -> Reply {
    let c = super::caller!(s, key);
    if c.is_replica() || c.is_monitor() {
        return Reply::Raw(Bytes::new());
    }
    c.role = crate::net::client::Role::Monitor;
    let id = c.id;
    s.exec.monitors.push(id);
    Reply::Ok
}

/// Sends an executed command to MONITOR clients.
pub fn feed_monitors(s: &mut Server, key: usize, argv: &[Bytes]) {
    let (db, addr) = match s.net.clients.get(key) {
        Some(c) if c.is_primary_link() => (c.db, "master".to_string()),
        Some(c) => (c.db, c.addr.clone()),
        None => (0, "lua".into()),
    };
    feed_monitors_as(s, db, &addr, argv);
}

/// Feeds monitors a command run in `db` by `addr` (`lua` for a script's commands).
pub fn feed_monitors_as(s: &mut Server, db: usize, addr: &str, argv: &[Bytes]) {
    let us = now_us();
    let mut line = format!(
        "+{}.{:06} [{} {}]",
        us / 1_000_000,
        us % 1_000_000,
        db,
        addr
    );
    for a in argv {
        line.push(' ');
        line.push_str(&resp::request::repr(a));
    }
    line.push_str("\r\n");
    for id in s.exec.monitors.clone() {
        if let Some(k) = s.net.client_key(id) {
            if let Some(c) = s.net.clients.get_mut(k) {
                c.push_raw(line.as_bytes());
            }
        }
    }
}

/// True if `spec` is a protected command (DEBUG) that the configuration does not allow for
/// this client.
pub fn protected_denied(s: &Server, spec: &CommandSpec, local: bool) -> Option<Reply> {
    if !spec.has(f::PROTECTED) {
        return None;
    }
    match s.cfg.enable_debug_command {
        ProtectedAction::Yes => None,
        ProtectedAction::Local if local => None,
        _ => Some(Reply::error(format!(
            "ERR {} command not allowed. If the enable-debug-command option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.",
            spec.name.to_ascii_uppercase()
        ))),
    }
}

/// The handler kind, for callers that need to know whether a row is a data command.
pub fn is_data(spec: &CommandSpec) -> bool {
    matches!(spec.handler, Handler::Data(_))
}
