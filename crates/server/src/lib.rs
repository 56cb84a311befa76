//! The Redwing server: sockets, the event loop, command dispatch, configuration, and the
//! server-level commands (connections, transactions, pub/sub, introspection, persistence and
//! replication I/O). This is the only crate that touches sockets.
//!
//! Data commands come from the `commands` crate, the keyspace from `keyspace`, the wire format
//! from `resp`. What must not live here: command semantics on data (they belong in
//! `commands`) and replication decisions (they belong in the pure `replication` crate).

#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod access;
pub mod bg;
pub mod clock;
pub mod cmd;
pub mod config;
pub mod core;
pub mod crash;
pub mod event_loop;
pub mod exec;
pub mod histogram;
pub mod log;
pub mod net;
pub mod oom;
pub mod persist;
pub mod proctitle;
pub mod repl;
pub mod server;
pub mod shutdown;
pub mod signals;
pub mod stats;
pub mod util;

/// Redwing's own version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The Redis version we report (`redis_version`, HELLO): the command set we implement is Redis
/// 7.2's, as Valkey 8 also reports.
pub const REDIS_VERSION: &str = "7.2.4";

use server::Server;

/// Parses arguments, loads the configuration, and runs the server. Returns the exit code.
pub fn run(args: Vec<String>) -> i32 {
    // First, while this is the only thread.
    proctitle::init();
    if args.iter().any(|a| a == "-v" || a == "--version") {
        println!(
            "Redwing server v={} (redis_version={}) bits=64",
            VERSION, REDIS_VERSION
        );
        return 0;
    }
    if args.iter().any(|a| a == "-h" || a == "--help") {
        println!("Usage: ./redwing-server [/path/to/redwing.conf] [options] [-]\n       ./redwing-server - (read config from stdin)\n       ./redwing-server -v or --version\n       ./redwing-server -h or --help\n\nExamples:\n       ./redwing-server (run the server with default config)\n       ./redwing-server /etc/redwing/6379.conf\n       ./redwing-server --port 7777\n       ./redwing-server --port 7777 --replicaof 127.0.0.1 8888\n       ./redwing-server /etc/myredwing.conf --loglevel verbose -");
        return 0;
    }
    let (file, options) = config::parse_command_line(&args);
    let cfg = match config::Config::load(file.as_deref(), &options) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return 1;
        }
    };
    if cfg.daemonize {
        eprintln!("daemonize yes is not supported by Redwing: run it under a supervisor instead.");
        return 1;
    }
    if let Err(e) = log::init(cfg.logfile.as_str(), log::Level::parse(cfg.loglevel.name())) {
        eprintln!("Can't open the log file: {e}");
        return 1;
    }
    let mut server = match Server::new(cfg) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("Failed to initialise the event loop: {e}");
            return 1;
        }
    };
    server.life.replay_command = core::replay_command;
    // Loading the AOF (before the loop runs) answers clients with the same pass.
    server.life.serve_while_busy = Server::serve_while_busy;
    if let Err(e) = signals::install(server.net.waker.clone()) {
        eprintln!("Failed to set up signal handling: {e}");
        return 1;
    }
    // After SIGTERM/SIGINT are blocked: the reporter thread it starts inherits that, so those
    // signals still reach only the thread that waits for them (a graceful shutdown).
    if let Err(e) = crash::install() {
        eprintln!("Failed to set up the crash report: {e}");
        return 1;
    }
    banner(&server, file.is_some());
    if let Err(e) = access::load_at_startup(&mut server) {
        log_warning!("{e}");
        return 1;
    }
    let _ = oom::apply(&mut server.life.oom, &server.cfg);
    if net::tls::TlsContext::wanted(&server.cfg) {
        match net::tls::TlsContext::build(&server.cfg) {
            Ok(ctx) => server.net.tls = Some(ctx),
            Err(e) => {
                log_warning!("{e}");
                log_warning!("Failed to configure TLS. Check logs for more info.");
                return 1;
            }
        }
    }
    if let Err(e) = server.listen() {
        log_warning!(
            "Failed listening on port {} (tcp), aborting: {e}",
            server.cfg.port
        );
        return 1;
    }
    // At start-up only: CONFIG SET may leave a running server without listeners.
    if server.net.listeners.is_empty() {
        log_warning!("Configured to not listen anywhere, exiting.");
        return 1;
    }
    write_pidfile(&server);
    if let Some((host, port)) = server.cfg.replicaof.0.clone() {
        repl::replica::start_as_replica(&mut server, host, port);
    }
    if let Err(e) = persist::load_at_startup(&mut server) {
        log_warning!("{e}");
        return 1;
    }
    for (kind, on) in [
        ("tcp", server.cfg.port != 0),
        ("unix", !server.cfg.unixsocket.is_empty()),
        ("tls", server.cfg.tls_port != 0),
    ] {
        if on {
            log_notice!("Ready to accept connections {kind}");
        }
    }
    server.run()
}

fn banner(s: &Server, has_file: bool) {
    log_notice!("oO0OoO0OoO0Oo Redwing is starting oO0OoO0OoO0Oo");
    log_notice!(
        "Redwing version={}, redis_version={}, bits=64, pid={}, just started",
        VERSION,
        REDIS_VERSION,
        std::process::id()
    );
    if !has_file {
        log_warning!("Warning: no config file specified, using the default config. In order to specify a config file use ./redwing-server /path/to/redwing.conf");
    } else {
        log_notice!("Configuration loaded");
    }
    // As Redis: the logo when logging to a terminal, or when `always-show-logo yes` (Valkey's
    // test harness waits for its ` PID: ` line); otherwise one line.
    // SAFETY: isatty only inspects the descriptor.
    let tty = unsafe { libc::isatty(1) } == 1;
    let show_logo =
        s.cfg.always_show_logo || (tty && s.cfg.logfile.is_empty() && !s.cfg.syslog_enabled);
    // As Valkey: the TCP port, or the TLS port when there is no TCP one.
    let port = if s.cfg.port != 0 {
        s.cfg.port
    } else {
        s.cfg.tls_port
    };
    if show_logo {
        log::raw(log::Level::Notice, &logo(port, std::process::id()));
    } else {
        log_notice!("Running mode=standalone, port={port}.");
    }
    log_notice!("Server initialized");
}

/// The start-up logo: a wing, and the facts operators (and Valkey's test harness) read.
fn logo(port: i64, pid: u32) -> String {
    const ART: [&str; 11] = [
        r"             _.--''''--._",
        r"         .-''   _.--._   ''-.",
        r"      .-'   .-''      ''-.   '-.",
        r"    .'   .-'   .-''''-.   '-.   '.",
        r"   /   .'   .-'        '-.   '.   \",
        r"  ;   /   .'    .-''-.    '.   \   ;",
        r"  |  ;   /    .'      '.    \   ;  |",
        r"  ;   \   \    '-.__.-'    /   /   ;",
        r"   \   '.  '-._        _.-'  .'   /",
        r"    '.   '-._  ''----''  _.-'   .'",
        r"      '-._   ''--....--''   _.-'",
    ];
    let facts = [
        String::new(),
        format!("Redwing {VERSION} (redis_version {REDIS_VERSION}) 64 bit"),
        String::new(),
        "Running in standalone mode".to_string(),
        format!("Port: {port}"),
        format!("PID: {pid}"),
        String::new(),
        "Replication operators can trust.".to_string(),
    ];
    let mut out = String::from("\n");
    for (i, art) in ART.iter().enumerate() {
        out.push_str(art);
        if let Some(fact) = facts.get(i).filter(|f| !f.is_empty()) {
            out.push_str(&" ".repeat(42usize.saturating_sub(art.len())));
            out.push_str(fact);
        }
        out.push('\n');
    }
    out.push('\n');
    out
}

fn write_pidfile(s: &Server) {
    let path = s.cfg.pidfile.as_str();
    if !path.is_empty() {
        if let Err(e) = std::fs::write(path, format!("{}\n", std::process::id())) {
            log_warning!("Failed to write PID file: {e}");
        }
    }
}
