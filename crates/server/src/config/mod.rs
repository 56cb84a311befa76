//! Configuration as redis-server does it: `redwing-server [file] [--name value ...]`, redis.conf
//! syntax (quotes, `include`), typed parameters with Redis's names, aliases, validation and error
//! texts, CONFIG GET globbing, atomic multi-parameter CONFIG SET, and CONFIG REWRITE that keeps
//! the file's comments and order.

pub mod params;
mod rewrite;
mod special;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use params::{
    lookup, Param, Special, Ty, DENY_LOADING, HIDDEN, IMMUTABLE, MULTI_ARG, PARAMS, PROTECTED,
};

pub use rewrite::rewrite_file;

/// Parsed `client-output-buffer-limit`: (hard, soft, seconds) for normal, replica, pubsub.
pub fn special_cobl(v: &str) -> Vec<(u64, u64, u64)> {
    special::parse_cobl(v).unwrap_or_default()
}

/// A problem in a configuration file or on the command line, reported as redis-server does.
#[derive(Debug)]
pub struct ConfigError {
    /// 1-based line in the combined configuration (file lines, then command-line options).
    pub line: Option<(usize, String)>,
    pub reason: String,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "\n*** FATAL CONFIG FILE ERROR (Redwing {}) ***",
            crate::VERSION
        )?;
        if let Some((n, text)) = &self.line {
            writeln!(f, "Reading the configuration file, at line {n}")?;
            writeln!(f, ">>> '{text}'")?;
        }
        write!(f, "{}", self.reason)
    }
}

/// Current values, canonical text per parameter.
#[derive(Clone, Debug)]
pub struct Config {
    values: HashMap<&'static str, String>,
    /// Absolute path of the configuration file, for CONFIG REWRITE.
    pub file: Option<PathBuf>,
}

impl Default for Config {
    fn default() -> Self {
        let values = PARAMS.iter().map(|p| (p.name, default_value(p))).collect();
        Config { values, file: None }
    }
}

fn default_value(p: &Param) -> String {
    match p.ty {
        Ty::Special(Special::Dir) => std::env::current_dir()
            .map(|d| d.display().to_string())
            .unwrap_or_else(|_| ".".into()),
        _ => p.default.to_string(),
    }
}

/// Parses a memory value (`memtoull`): digits with an optional b/k/kb/m/mb/g/gb suffix.
pub fn parse_memory(s: &str) -> Option<u64> {
    if s.starts_with('-') {
        return None;
    }
    let digits_end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(digits_end);
    let mul: u64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" => 1000,
        "kb" => 1024,
        "m" => 1000 * 1000,
        "mb" => 1024 * 1024,
        "g" => 1000 * 1000 * 1000,
        "gb" => 1024 * 1024 * 1024,
        _ => return None,
    };
    num.parse::<u64>().ok()?.checked_mul(mul)
}

/// Validates `args` for `param` and returns the canonical value text.
pub fn canonical(param: &Param, args: &[String], current: &str) -> Result<String, String> {
    if !matches!(param.ty, Ty::Special(_)) && args.len() != 1 {
        return Err("wrong number of arguments".into());
    }
    let v = args.first().map(String::as_str).unwrap_or("");
    match param.ty {
        Ty::Bool => match v.to_ascii_lowercase().as_str() {
            "yes" => Ok("yes".into()),
            "no" => Ok("no".into()),
            _ => Err("argument must be 'yes' or 'no'".into()),
        },
        Ty::Int { min, max } => {
            let n = resp::request::parse_i64(v.as_bytes())
                .ok_or("argument couldn't be parsed into an integer")?;
            check_range(n, min, max)
        }
        Ty::Mem { min, max } => {
            let n = parse_memory(v).ok_or("argument must be a memory value")?;
            let n = i64::try_from(n).map_err(|_| "argument must be a memory value".to_string())?;
            check_range(n, min, max)
        }
        Ty::Enum(options) => options
            .iter()
            .find(|o| o.eq_ignore_ascii_case(v))
            .map(|o| o.to_string())
            .ok_or_else(|| {
                format!(
                    "argument(s) must be one of the following: {}",
                    options.join(", ")
                )
            }),
        Ty::Str => Ok(v.to_string()),
        Ty::Special(s) => special::canonical(s, args, current),
    }
}

fn check_range(n: i64, min: i64, max: i64) -> Result<String, String> {
    if n < min || n > max {
        return Err(format!(
            "argument must be between {min} and {max} inclusive"
        ));
    }
    Ok(n.to_string())
}

impl Config {
    pub fn get(&self, name: &str) -> &str {
        lookup(name)
            .and_then(|p| self.values.get(p.name))
            .map(String::as_str)
            .unwrap_or("")
    }

    pub fn get_bool(&self, name: &str) -> bool {
        self.get(name) == "yes"
    }

    pub fn get_int(&self, name: &str) -> i64 {
        self.get(name).parse().unwrap_or(0)
    }

    /// Sets a parameter from already-validated canonical text.
    pub fn set_canonical(&mut self, param: &'static Param, value: String) {
        self.values.insert(param.name, value);
    }

    /// Loads a configuration file plus command-line option lines.
    pub fn load(file: Option<&Path>, options: &[Vec<String>]) -> Result<Config, ConfigError> {
        let mut cfg = Config::default();
        let mut lines: Vec<(String, Vec<String>)> = Vec::new();
        if let Some(path) = file {
            let abs = std::fs::canonicalize(path).map_err(|e| ConfigError {
                line: None,
                reason: format!(
                    "Fatal error, can't open config file '{}': {e}",
                    path.display()
                ),
            })?;
            read_file_lines(&abs, &mut lines, 0)?;
            cfg.file = Some(abs);
        }
        for opt in options {
            lines.push((opt.join(" "), opt.clone()));
        }
        let mut seen_save = false;
        for (n, (text, argv)) in lines.iter().enumerate() {
            cfg.apply_line(argv, &mut seen_save)
                .map_err(|reason| ConfigError {
                    line: Some((n + 1, text.clone())),
                    reason,
                })?;
        }
        Ok(cfg)
    }

    fn apply_line(&mut self, argv: &[String], seen_save: &mut bool) -> Result<(), String> {
        let Some(name) = argv.first() else {
            return Ok(());
        };
        let Some(param) = lookup(name) else {
            return Err("Bad directive or wrong number of arguments".into());
        };
        let mut args: Vec<String> = argv[1..].to_vec();
        if param.flags & MULTI_ARG != 0 && args.len() == 1 && !args[0].is_empty() {
            args = resp::request::split_args(args[0].as_bytes())
                .ok_or("Unbalanced quotes in configuration line")?
                .into_iter()
                .map(|a| String::from_utf8_lossy(&a).into_owned())
                .collect();
        }
        if param.flags & MULTI_ARG == 0 && args.len() != 1 {
            return Err("wrong number of arguments".into());
        }
        let current = if param.name == "save" && *seen_save {
            self.get("save").to_string()
        } else {
            String::new()
        };
        let mut value = canonical(
            param,
            &args,
            self.values
                .get(param.name)
                .map(String::as_str)
                .unwrap_or(""),
        )?;
        if param.name == "save" {
            // Successive `save` lines accumulate; the first replaces the default.
            if *seen_save && !current.is_empty() && !value.is_empty() {
                value = format!("{current} {value}");
            }
            *seen_save = true;
        }
        self.values.insert(param.name, value);
        Ok(())
    }

    /// CONFIG GET: names and globs; exact names are returned as asked (aliases included),
    /// globs match names and aliases but never hidden parameters.
    pub fn get_matching(&self, patterns: &[String]) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for pat in patterns {
            if !pat.contains(['*', '?', '[']) {
                if let Some(p) = lookup(pat) {
                    if seen.insert(pat.to_ascii_lowercase()) {
                        out.push((pat.clone(), self.values[p.name].clone()));
                    }
                }
                continue;
            }
            for p in PARAMS.iter().filter(|p| p.flags & HIDDEN == 0) {
                for name in std::iter::once(&p.name).chain(p.aliases.iter()) {
                    if types::glob::glob_match(pat.as_bytes(), name.as_bytes(), true)
                        && seen.insert(name.to_string())
                    {
                        out.push((name.to_string(), self.values[p.name].clone()));
                    }
                }
            }
        }
        out
    }

    /// Validates a CONFIG SET (all pairs) without changing anything. Returns the parameters
    /// and their new canonical values, or Redis's error text.
    pub fn prepare_set(
        &self,
        pairs: &[(String, String)],
        loading: bool,
    ) -> Result<Vec<(&'static Param, String)>, String> {
        let mut out: Vec<(&'static Param, String)> = Vec::new();
        for (name, _) in pairs {
            if lookup(name).is_none() {
                return Err(format!(
                    "ERR Unknown option or number of arguments for CONFIG SET - '{name}'"
                ));
            }
        }
        for (name, value) in pairs {
            let Some(param) = lookup(name) else { continue };
            let fail = |why: &str| {
                Err(format!(
                    "ERR CONFIG SET failed (possibly related to argument '{name}') - {why}"
                ))
            };
            if param.flags & IMMUTABLE != 0 {
                return fail("can't set immutable config");
            }
            if param.flags & PROTECTED != 0 && !self.protected_allowed() {
                return fail("can't set protected config");
            }
            if loading && param.flags & DENY_LOADING != 0 {
                return Err("LOADING Redwing is loading the dataset in memory".into());
            }
            if out.iter().any(|(p, _)| std::ptr::eq(*p, param)) {
                return fail("duplicate parameter");
            }
            let args = if param.flags & MULTI_ARG != 0 {
                match resp::request::split_args(value.as_bytes()) {
                    Some(a) => a
                        .into_iter()
                        .map(|x| String::from_utf8_lossy(&x).into_owned())
                        .collect(),
                    None => return fail("Unbalanced quotes"),
                }
            } else {
                vec![value.clone()]
            };
            match canonical(param, &args, &self.values[param.name]) {
                Ok(v) => out.push((param, v)),
                Err(e) => {
                    return Err(format!(
                        "ERR CONFIG SET failed (possibly related to argument '{}') - {e}",
                        param.name
                    ))
                }
            }
        }
        Ok(out)
    }

    fn protected_allowed(&self) -> bool {
        // "local" needs the client's address; the server checks it before calling us.
        self.get("enable-protected-configs") != "no"
    }

    /// Values that differ from their defaults, for rewrite.
    pub fn values(&self) -> &HashMap<&'static str, String> {
        &self.values
    }
}

/// Reads `path`, expanding `include` directives (recursively, with a depth bound).
fn read_file_lines(
    path: &Path,
    out: &mut Vec<(String, Vec<String>)>,
    depth: usize,
) -> Result<(), ConfigError> {
    if depth > 16 {
        return Err(ConfigError {
            line: None,
            reason: "include nesting too deep".into(),
        });
    }
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
        line: None,
        reason: format!(
            "Fatal error, can't open config file '{}': {e}",
            path.display()
        ),
    })?;
    for raw in text.split('\n') {
        let line = raw.trim_matches(|c| matches!(c, ' ' | '\t' | '\r' | '\n'));
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some(args) = resp::request::split_args(line.as_bytes()) else {
            return Err(ConfigError {
                line: Some((out.len() + 1, line.to_string())),
                reason: "Unbalanced quotes in configuration line".into(),
            });
        };
        let args: Vec<String> = args
            .into_iter()
            .map(|a| String::from_utf8_lossy(&a).into_owned())
            .collect();
        if args.is_empty() {
            continue;
        }
        if args[0].eq_ignore_ascii_case("include") && args.len() == 2 {
            read_file_lines(Path::new(&args[1]), out, depth + 1)?;
            continue;
        }
        out.push((line.to_string(), args));
    }
    Ok(())
}

/// Splits the process arguments as redis-server does: an optional config file first, then
/// `--name value...` groups (a bare argument continues the previous option).
pub fn parse_command_line(args: &[String]) -> (Option<PathBuf>, Vec<Vec<String>>) {
    let mut i = 0;
    let mut file = None;
    if let Some(first) = args.first() {
        if !first.starts_with("--") {
            file = Some(PathBuf::from(first));
            i = 1;
        }
    }
    let mut options: Vec<Vec<String>> = Vec::new();
    for a in &args[i..] {
        if let Some(name) = a.strip_prefix("--") {
            options.push(vec![name.to_string()]);
        } else if let Some(last) = options.last_mut() {
            last.push(a.clone());
        }
    }
    (file, options)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_validation_messages() {
        let port = lookup("port").unwrap();
        assert_eq!(
            canonical(port, &["70000".into()], "").unwrap_err(),
            "argument must be between 0 and 65535 inclusive"
        );
        assert_eq!(
            canonical(port, &["x".into()], "").unwrap_err(),
            "argument couldn't be parsed into an integer"
        );
        let mm = lookup("maxmemory").unwrap();
        assert_eq!(canonical(mm, &["1mb".into()], "").unwrap(), "1048576");
        assert_eq!(canonical(mm, &["1k".into()], "").unwrap(), "1000");
        let b = lookup("protected-mode").unwrap();
        assert_eq!(canonical(b, &["YES".into()], "").unwrap(), "yes");
        let e = lookup("maxmemory-policy").unwrap();
        assert!(canonical(e, &["bogus".into()], "")
            .unwrap_err()
            .starts_with("argument(s) must be one of the following: volatile-lru"));
    }

    #[test]
    fn file_options_and_errors() {
        let dir = std::env::temp_dir().join(format!("rw-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let inc = dir.join("inc.conf");
        std::fs::write(&inc, "maxclients 50\n").unwrap();
        let f = dir.join("a.conf");
        std::fs::write(
            &f,
            format!(
                "# comment\nport 7000\nsave 100 1\nsave 200 2\ninclude {}\nslave-read-only no\n",
                inc.display()
            ),
        )
        .unwrap();
        let cfg = Config::load(Some(&f), &[vec!["hz".into(), "20".into()]]).unwrap();
        assert_eq!(cfg.get("port"), "7000");
        assert_eq!(cfg.get("save"), "100 1 200 2");
        assert_eq!(cfg.get("maxclients"), "50");
        assert_eq!(cfg.get("replica-read-only"), "no");
        assert_eq!(cfg.get("hz"), "20");
        std::fs::write(&f, "port 7000\nbogus-directive 1\n").unwrap();
        let err = Config::load(Some(&f), &[]).unwrap_err();
        assert_eq!(err.line.as_ref().unwrap().0, 2);
        assert_eq!(err.reason, "Bad directive or wrong number of arguments");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn command_line_grouping() {
        let args: Vec<String> = [
            "my.conf",
            "--port",
            "7000",
            "--save",
            "",
            "--bind",
            "127.0.0.1",
            "::1",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let (file, opts) = parse_command_line(&args);
        assert_eq!(file, Some(PathBuf::from("my.conf")));
        assert_eq!(
            opts,
            vec![
                vec!["port".to_string(), "7000".into()],
                vec!["save".into(), "".into()],
                vec!["bind".into(), "127.0.0.1".into(), "::1".into()]
            ]
        );
    }

    #[test]
    fn config_get_globs_and_aliases() {
        let cfg = Config::default();
        let got = cfg.get_matching(&["slave-read-only".into()]);
        assert_eq!(got, vec![("slave-read-only".into(), "yes".into())]);
        let got = cfg.get_matching(&["*max-*-entries*".into()]);
        assert!(got.iter().any(|(n, _)| n == "hash-max-ziplist-entries"));
        assert!(cfg
            .get_matching(&["*".into()])
            .iter()
            .all(|(n, _)| n != "rdb-key-save-delay"));
        assert_eq!(cfg.get_matching(&["rdb-key-save-delay".into()]).len(), 1);
    }
}

/// Configuration values read on every command, decoded once per change (a name lookup per
/// command would cost more than the command).
#[derive(Clone, Debug, Default)]
pub struct Hot {
    pub maxmemory: u64,
    pub replica_read_only: bool,
    pub replica_serve_stale_data: bool,
    pub stop_writes_on_bgsave_error: bool,
    pub has_save_points: bool,
    pub min_replicas_to_write: i64,
    pub min_replicas_max_lag: i64,
    pub slowlog_log_slower_than: i64,
    pub slowlog_max_len: usize,
    pub latency_monitor_threshold: i64,
    pub lazyfree_lazy_expire: bool,
    pub client_query_buffer_limit: usize,
    pub enable_debug_command: String,
}

impl Hot {
    pub fn from(cfg: &Config) -> Hot {
        Hot {
            maxmemory: cfg.get_int("maxmemory").max(0) as u64,
            replica_read_only: cfg.get_bool("replica-read-only"),
            replica_serve_stale_data: cfg.get_bool("replica-serve-stale-data"),
            stop_writes_on_bgsave_error: cfg.get_bool("stop-writes-on-bgsave-error"),
            has_save_points: !cfg.get("save").is_empty(),
            min_replicas_to_write: cfg.get_int("min-replicas-to-write"),
            min_replicas_max_lag: cfg.get_int("min-replicas-max-lag"),
            slowlog_log_slower_than: cfg.get_int("slowlog-log-slower-than"),
            slowlog_max_len: cfg.get_int("slowlog-max-len").max(0) as usize,
            latency_monitor_threshold: cfg.get_int("latency-monitor-threshold"),
            lazyfree_lazy_expire: cfg.get_bool("lazyfree-lazy-expire"),
            client_query_buffer_limit: cfg.get_int("client-query-buffer-limit").max(0) as usize,
            enable_debug_command: cfg.get("enable-debug-command").to_string(),
        }
    }
}
