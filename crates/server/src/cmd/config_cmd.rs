//! CONFIG GET / SET / RESETSTAT / REWRITE / HELP.

use bytes::Bytes;
use commands::errors;
use resp::Reply;

use super::{arg_lower, help_reply};
use crate::server::Server;
use crate::{log_notice, log_warning};

pub fn config(s: &mut Server, key: usize, argv: &[Bytes]) -> Reply {
    let text = |a: &Bytes| String::from_utf8_lossy(a).into_owned();
    match arg_lower(argv, 1).as_str() {
        "get" if argv.len() >= 3 => {
            let pats: Vec<String> = argv[2..].iter().map(text).collect();
            let pairs = s.cfg.get_matching(&pats);
            Reply::Map(
                pairs
                    .into_iter()
                    .map(|(k, v)| (Reply::bulk(k.as_bytes()), Reply::bulk(v.as_bytes())))
                    .collect(),
            )
        }
        "set" if argv.len() >= 4 => {
            if !argv.len().is_multiple_of(2) {
                return errors::err(errors::SYNTAX);
            }
            let pairs: Vec<(String, String)> = argv[2..]
                .chunks(2)
                .map(|p| (text(&p[0]), text(&p[1])))
                .collect();
            set(s, key, &pairs)
        }
        "resetstat" if argv.len() == 2 => {
            s.stats.reset();
            s.ks.stats = Default::default();
            s.repl.reset_stats();
            Reply::Ok
        }
        "rewrite" if argv.len() == 2 => match s.cfg.file.clone() {
            None => errors::err("ERR The server is running without a config file"),
            Some(path) => match crate::config::rewrite_file(&path, &s.cfg) {
                Ok(()) => {
                    log_notice!("CONFIG REWRITE executed with success.");
                    Reply::Ok
                }
                Err(e) => {
                    log_warning!("CONFIG REWRITE failed: {e}");
                    Reply::error(format!("ERR Rewriting config file: {e}"))
                }
            },
        },
        "help" if argv.len() == 2 => help_reply("CONFIG", HELP),
        "get" | "set" | "resetstat" | "rewrite" | "help" => {
            errors::wrong_arity(&format!("config|{}", arg_lower(argv, 1)))
        }
        _ => errors::unknown_subcommand("config", &argv[1]),
    }
}

/// Validates everything first, then applies; if applying fails, restores the old values.
fn set(s: &mut Server, key: usize, pairs: &[(String, String)]) -> Reply {
    if pairs.iter().any(|(n, _)| {
        crate::config::params::lookup(n)
            .is_some_and(|p| p.flags & crate::config::params::PROTECTED != 0)
    }) && s.cfg.get("enable-protected-configs") == "local"
        && !s.clients[key].addr.starts_with("127.")
    {
        let name = &pairs[0].0;
        return Reply::error(format!("ERR CONFIG SET failed (possibly related to argument '{name}') - can't set protected config"));
    }
    let prepared = match s.cfg.prepare_set(pairs, s.loading) {
        Ok(p) => p,
        Err(e) => return Reply::error(e),
    };
    let backup = s.cfg.clone();
    for (param, value) in &prepared {
        s.cfg.set_canonical(param, value.clone());
    }
    if let Err(e) = apply(s, &backup, &prepared) {
        s.cfg = backup;
        s.apply_config();
        let name = prepared.first().map(|(p, _)| p.name).unwrap_or("");
        return Reply::error(format!(
            "ERR CONFIG SET failed (possibly related to argument '{name}') - {e}"
        ));
    }
    Reply::Ok
}

/// Side effects of changed parameters.
fn apply(
    s: &mut Server,
    old: &crate::config::Config,
    changed: &[(&'static crate::config::params::Param, String)],
) -> Result<(), String> {
    s.apply_config();
    let changed_name = |n: &str| changed.iter().any(|(p, _)| p.name == n);
    if (changed_name("port") || changed_name("bind"))
        && (old.get("port") != s.cfg.get("port") || old.get("bind") != s.cfg.get("bind"))
    {
        s.close_listeners();
        if let Err(e) = s.listen() {
            log_warning!("Failed to listen with the new configuration: {e}");
            let _ = e;
            // Restore the old listeners before reporting the failure.
            s.cfg = old.clone();
            let _ = s.listen();
            return Err("Unable to listen on this port. Check server logs.".into());
        }
    }
    if changed_name("maxmemory") {
        let _ = crate::evict::perform_evictions(s);
    }
    crate::repl::on_config_changed(s, &changed.iter().map(|(p, _)| p.name).collect::<Vec<_>>());
    Ok(())
}

const HELP: &[&str] = &[
    "GET <pattern>",
    "    Return parameters matching the glob-like <pattern> and their values.",
    "SET <directive> <value>",
    "    Set the configuration <directive> to <value>.",
    "RESETSTAT",
    "    Reset statistics reported by the INFO command.",
    "REWRITE",
    "    Rewrite the configuration file.",
];
