//! CONFIG GET / SET / RESETSTAT / REWRITE / HELP.

use bytes::Bytes;
use commands::errors;
use resp::Reply;

use super::{arg_lower, help_reply};
use crate::config::value::{self, ProtectedAction};
use crate::config::{Apply, Config, Param};
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
            s.exec.ks.stats = Default::default();
            s.repl.reset_stats();
            s.persist.aof.rewrites = 0;
            s.persist.aof.rewrites_consecutive_failures = 0;
            // `lazyfreeResetStats`: lazyfreed_objects counts from the reset.
            keyspace::lazyfree::FREED.store(0, std::sync::atomic::Ordering::Relaxed);
            Reply::Ok
        }
        "rewrite" if argv.len() == 2 => match s.cfg.file.clone() {
            None => errors::err("ERR The server is running without a config file"),
            Some(path) => match crate::config::rewrite_file(
                &path,
                &s.cfg,
                crate::access::config_lines(s).as_deref(),
            ) {
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
    let protected_allowed = match s.cfg.enable_protected_configs {
        ProtectedAction::Yes => true,
        ProtectedAction::Local => s.net.clients.get(key).is_some_and(|c| c.is_local()),
        ProtectedAction::No => false,
    };
    let prepared = match s.cfg.prepare_set(pairs, s.exec.loading, protected_allowed) {
        Ok(p) => p,
        Err(e) => return Reply::error(e),
    };
    let backup = s.cfg.clone();
    for (param, value) in &prepared {
        s.cfg.set_canonical(param, value);
    }
    if let Err((param, e)) = apply(s, &backup, &prepared) {
        s.cfg = backup;
        s.apply_config();
        return Reply::error(format!(
            "ERR CONFIG SET failed (possibly related to argument '{param}') - {e}"
        ));
    }
    Reply::Ok
}

/// Carries out what each changed parameter declares ([`Apply`]), each kind once. On failure
/// returns the parameter to blame and the reason; the caller restores the old values.
fn apply(
    s: &mut Server,
    old: &Config,
    changed: &[(&'static Param, String)],
) -> Result<(), (&'static str, String)> {
    let first = |kind: Apply| changed.iter().find(|(p, _)| p.apply == kind);
    if let Some((p, dir)) = first(Apply::Dir) {
        std::env::set_current_dir(dir).map_err(|e| (p.name, value::os_error_text(&e)))?;
        s.cfg.dir = std::env::current_dir()
            .map(|d| d.display().to_string())
            .unwrap_or_else(|_| dir.clone());
    }
    s.apply_config();
    // TLS before the listeners: a new `tls-port` needs the contexts (Valkey's applyTLSPort).
    let tls_port_opened = old.tls_port != s.cfg.tls_port && s.cfg.tls_port != 0;
    let tls_param = first(Apply::Tls).map(|(p, _)| p.name);
    if (tls_param.is_some() || (tls_port_opened && s.net.tls.is_none()))
        && crate::net::tls::TlsContext::wanted(&s.cfg)
    {
        match crate::net::tls::TlsContext::build(&s.cfg) {
            Ok(ctx) => s.net.tls = Some(ctx),
            Err(e) => {
                log_warning!("{e}");
                return Err((
                    tls_param.unwrap_or("tls-port"),
                    "Unable to update TLS configuration. Check server logs.".into(),
                ));
            }
        }
    }
    // `tls-replication` (and, with it on, `tls-port`) changes how a replica connects and the
    // port it announces; the other `tls-*` parameters only rebuild the contexts.
    if old.tls_replication != s.cfg.tls_replication
        || (s.cfg.tls_replication && old.tls_port != s.cfg.tls_port)
    {
        crate::repl::on_config_changed(s);
    }
    if let Some((p, _)) = first(Apply::Listeners) {
        if old.port != s.cfg.port || old.bind != s.cfg.bind || old.tls_port != s.cfg.tls_port {
            s.close_listeners();
            if let Err(e) = s.listen() {
                log_warning!("Failed to listen with the new configuration: {e}");
                // Restore the old listeners before reporting the failure.
                // Valkey's texts: a bind change names the addresses, a port change the port.
                let why = if old.bind != s.cfg.bind {
                    "Failed to bind to specified addresses."
                } else {
                    "Unable to listen on this port. Check server logs."
                };
                s.cfg = old.clone();
                let _ = s.listen();
                return Err((p.name, why.into()));
            }
        }
    }
    if let Some((p, _)) = first(Apply::Oom) {
        crate::oom::apply(&mut s.life.oom, &s.cfg).map_err(|_| {
            (
                p.name,
                "Failed to set current oom_score_adj. Check server logs.".into(),
            )
        })?;
    }
    if first(Apply::Maxmemory).is_some() {
        // Not evicted here, inside CONFIG SET's own execution unit (or a MULTI's): as Valkey's
        // eviction time proc, the cron and the next command evict, each key its own unit.
        s.exec.evict_due = true;
    }
    if first(Apply::Replication).is_some() {
        crate::repl::on_config_changed(s);
    }
    if first(Apply::DefaultPassword).is_some() {
        crate::access::requirepass_changed(s);
    }
    if let Some((p, _)) = first(Apply::Aof) {
        crate::persist::aof::on_config_changed(s).map_err(|e| (p.name, e))?;
    }
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
