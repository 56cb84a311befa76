//! Configuration as redis-server does it: `redwing-server [file] [--name value ...]`, redis.conf
//! syntax (quotes, `include`), every parameter of Valkey 8.0.1 with its names, aliases,
//! validation and error texts, CONFIG GET globbing, atomic multi-parameter CONFIG SET, and
//! CONFIG REWRITE that keeps the file's comments and order.
//!
//! [`params`] declares each parameter once (typed field, names, kind, default, flags, what
//! applying it does); everything here derives from that table. The server reads typed fields
//! (`cfg.maxmemory_bytes`), never names.

pub mod params;
pub mod renames;
mod rewrite;
pub mod value;

use std::path::{Path, PathBuf};

pub use params::{lookup, Apply, Config, Param, PARAMS};
pub use rewrite::{rewrite_file, rewrite_file_all};

/// A problem in a configuration file or on the command line, reported as redis-server does.
#[derive(Debug)]
pub struct ConfigError {
    /// 1-based line and its text, counted as Redis counts: every line of the file (comments and
    /// blank lines included), then the command-line options after one separating line.
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

impl Default for Config {
    fn default() -> Self {
        let mut cfg = Config::declared_defaults();
        cfg.dir = current_dir_text();
        cfg
    }
}

fn current_dir_text() -> String {
    std::env::current_dir()
        .map(|d| d.display().to_string())
        .unwrap_or_else(|_| ".".into())
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

/// Splits a value into arguments (`sdssplitargs`), as strings.
fn split_args(v: &str) -> Option<Vec<String>> {
    resp::request::split_args(v.as_bytes()).map(|a| {
        a.into_iter()
            .map(|x| String::from_utf8_lossy(&x).into_owned())
            .collect()
    })
}

/// Splits a line into arguments keeping their bytes (passwords may be binary).
fn split_args_raw(v: &str) -> Option<Vec<Vec<u8>>> {
    resp::request::split_args(v.as_bytes())
}

/// The include nesting bound (a file including itself stops here with an error).
const MAX_INCLUDE_DEPTH: usize = 16;

/// State carried across the lines of one load (Redis's `reading_config_file` statics).
#[derive(Default)]
struct LoadState {
    /// A `save` line was seen: later ones add points instead of replacing the default.
    saw_save: bool,
}

impl Config {
    /// A parameter's current canonical value (what CONFIG GET prints).
    pub fn get_text(&self, param: &Param) -> String {
        (param.get)(self)
    }

    /// Stores an already-validated canonical value.
    pub fn set_canonical(&mut self, param: &Param, value: &str) {
        (param.put)(self, value);
    }

    /// Loads a configuration file plus command-line options (Redis's `loadServerConfig`).
    pub fn load(file: Option<&Path>, options: &str) -> Result<Config, ConfigError> {
        let mut cfg = Config::default();
        let mut text = String::new();
        if let Some(path) = file {
            let abs = std::fs::canonicalize(path).map_err(|e| open_error(path, &e))?;
            text = std::fs::read_to_string(&abs).map_err(|e| open_error(path, &e))?;
            cfg.file = Some(abs);
        }
        text.push('\n');
        text.push_str(options);
        let mut state = LoadState::default();
        cfg.load_text(&text, &mut state, 0)?;
        Ok(cfg)
    }

    /// Applies every line of `text` (Redis's `loadServerConfigFromString`).
    fn load_text(
        &mut self,
        text: &str,
        state: &mut LoadState,
        depth: usize,
    ) -> Result<(), ConfigError> {
        for (i, raw) in text.split('\n').enumerate() {
            let line = raw.trim_matches(|c| matches!(c, ' ' | '\t' | '\r' | '\n'));
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let at = |reason: String| ConfigError {
                line: Some((i + 1, line.to_string())),
                reason,
            };
            let argv = split_args(line)
                .ok_or_else(|| at("Unbalanced quotes in configuration line".into()))?;
            let Some(name) = argv.first() else { continue };
            if let Some(param) = lookup(name) {
                self.apply_line(param, &argv[1..], state).map_err(at)?;
            } else if params::is_deprecated(name, argv.len()) {
                continue;
            } else if name.eq_ignore_ascii_case("user") && argv.len() >= 2 {
                let raw: Vec<bytes::Bytes> = split_args_raw(line)
                    .unwrap_or_default()
                    .into_iter()
                    .map(bytes::Bytes::from)
                    .collect();
                let user = acl::users::config_user(&raw, &self.users).map_err(at)?;
                self.users.push(user);
            } else if name.eq_ignore_ascii_case("rename-command") && argv.len() == 3 {
                self.renames.apply(&argv[1], &argv[2]).map_err(at)?;
            } else if name.eq_ignore_ascii_case("include") && argv.len() == 2 {
                self.include(Path::new(&argv[1]), state, depth)?;
            } else {
                return Err(at("Bad directive or wrong number of arguments".into()));
            }
        }
        Ok(())
    }

    /// `include path` (a glob pattern includes every match; no match is not an error).
    fn include(
        &mut self,
        path: &Path,
        state: &mut LoadState,
        depth: usize,
    ) -> Result<(), ConfigError> {
        if depth >= MAX_INCLUDE_DEPTH {
            return Err(ConfigError {
                line: None,
                reason: format!("include nesting deeper than {MAX_INCLUDE_DEPTH} levels"),
            });
        }
        let text = std::fs::read_to_string(path).map_err(|e| open_error(path, &e))?;
        self.load_text(&text, state, depth + 1)
    }

    fn apply_line(
        &mut self,
        param: &'static Param,
        args: &[String],
        state: &mut LoadState,
    ) -> Result<(), String> {
        let multi = param.has(params::MULTI_ARG);
        if !multi && args.len() != 1 {
            return Err("wrong number of arguments".into());
        }
        let args = match args {
            [one] if multi && !one.is_empty() => {
                split_args(one).ok_or("Unbalanced quotes in configuration line")?
            }
            _ => args.to_vec(),
        };
        let mut value = param.canonical(&args, &self.get_text(param))?;
        if param.name == "save" {
            // The first `save` line replaces the default; later ones add points.
            let current = self.get_text(param);
            if state.saw_save && !current.is_empty() && !value.is_empty() {
                value = format!("{current} {value}");
            }
            state.saw_save = true;
        }
        if param.apply == Apply::Dir {
            std::env::set_current_dir(&value).map_err(|e| value::os_error_text(&e))?;
            value = current_dir_text();
        }
        self.set_canonical(param, &value);
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
                        out.push((pat.clone(), self.get_text(p)));
                    }
                }
                continue;
            }
            for p in PARAMS.iter().filter(|p| !p.has(params::HIDDEN)) {
                for name in std::iter::once(&p.name).chain(p.aliases.iter()) {
                    if types::glob::glob_match(pat.as_bytes(), name.as_bytes(), true)
                        && seen.insert(name.to_string())
                    {
                        out.push((name.to_string(), self.get_text(p)));
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
        protected_allowed: bool,
    ) -> Result<Vec<(&'static Param, String)>, String> {
        let mut out: Vec<(&'static Param, String)> = Vec::new();
        if let Some((name, _)) = pairs.iter().find(|(n, _)| lookup(n).is_none()) {
            return Err(format!(
                "ERR Unknown option or number of arguments for CONFIG SET - '{name}'"
            ));
        }
        for (name, value) in pairs {
            let Some(param) = lookup(name) else { continue };
            let fail = |why: &str| {
                Err(format!(
                    "ERR CONFIG SET failed (possibly related to argument '{name}') - {why}"
                ))
            };
            if param.has(params::IMMUTABLE) {
                return fail("can't set immutable config");
            }
            if param.has(params::PROTECTED) && !protected_allowed {
                return fail("can't set protected config");
            }
            if loading && param.has(params::DENY_LOADING) {
                return Err("LOADING Redwing is loading the dataset in memory".into());
            }
            if out.iter().any(|(p, _)| std::ptr::eq(*p, param)) {
                return fail("duplicate parameter");
            }
            let args = if param.has(params::MULTI_ARG) {
                match split_args(value) {
                    Some(a) => a,
                    None => return fail("Unbalanced quotes"),
                }
            } else {
                vec![value.clone()]
            };
            match param.canonical(&args, &self.get_text(param)) {
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
}

fn open_error(path: &Path, e: &std::io::Error) -> ConfigError {
    ConfigError {
        line: None,
        reason: format!(
            "Fatal error, can't open config file '{}': {}",
            path.display(),
            value::os_error_text(e)
        ),
    }
}

/// Splits the process arguments as redis-server does: an optional config file first, then
/// `--name value...` groups turned into configuration lines (`port 7000\nsave ""`), appended
/// after the file's content.
pub fn parse_command_line(args: &[String]) -> (Option<PathBuf>, String) {
    let mut i = 0;
    let mut file = None;
    if let Some(first) = args.first() {
        if !first.starts_with('-') {
            file = Some(PathBuf::from(first));
            i = 1;
        }
    }
    let mut options = String::new();
    let mut have_value = true;
    let rest = &args[i..];
    for (j, a) in rest.iter().enumerate() {
        let next_is_option = rest.get(j + 1).is_some_and(|n| n.starts_with("--"));
        let last = j + 1 == rest.len();
        if have_value && a.starts_with("--") {
            if !options.is_empty() {
                options.push('\n');
            }
            options.push_str(&a[2..]);
            options.push(' ');
            let name_only = split_args(a).is_some_and(|v| v.len() == 1);
            have_value = !name_only;
            if name_only && a.eq_ignore_ascii_case("--save") && (next_is_option || last) {
                // `--save` followed by another option (or nothing) means `save ""`.
                options.push_str("\"\"");
                have_value = true;
            }
        } else {
            options.push_str(&resp::request::repr(a.as_bytes()));
            options.push(' ');
            have_value = true;
        }
    }
    (file, options)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmpdir(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("rw-cfg-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn file_options_and_true_line_numbers() {
        let dir = tmpdir("load");
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
        let cfg = Config::load(Some(&f), "hz 20 ").unwrap();
        assert_eq!(cfg.port, 7000);
        assert_eq!(cfg.save.0, vec![(100, 1), (200, 2)]);
        assert_eq!(cfg.maxclients, 50);
        assert!(!cfg.replica_read_only);
        assert_eq!(cfg.hz, 20);
        // Redis counts every line, comments and blank lines included.
        std::fs::write(&f, "port 7000\n\n# c\nbogus-directive 1\n").unwrap();
        let err = Config::load(Some(&f), "").unwrap_err();
        assert_eq!(err.line, Some((4, "bogus-directive 1".to_string())));
        assert_eq!(err.reason, "Bad directive or wrong number of arguments");
        // Options follow the file after one separating line.
        std::fs::write(&f, "port 7000\n").unwrap();
        let err = Config::load(Some(&f), "hz 20 \nport x ").unwrap_err();
        assert_eq!(err.line.map(|l| l.0), Some(4));
        // A bare `save` (as Valkey's test harness writes it) means no save points.
        std::fs::write(&f, "save \nnotify-keyspace-events KEA\n").unwrap();
        let cfg = Config::load(Some(&f), "").unwrap();
        assert!(cfg.save.0.is_empty());
        assert_eq!(
            cfg.get_text(lookup("notify-keyspace-events").unwrap()),
            "AKE"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn refused_values_name_the_reason() {
        let err = Config::load(None, "cluster-enabled yes ").unwrap_err();
        assert_eq!(err.line.map(|l| l.0), Some(2));
        assert!(
            err.reason.contains("not supported by Redwing"),
            "{}",
            err.reason
        );
        assert!(Config::load(None, "appendonly yes ").is_ok());
    }

    #[test]
    fn command_line_grouping() {
        let args: Vec<String> = [
            "my.conf",
            "--port",
            "7000",
            "--save",
            "--bind",
            "127.0.0.1",
            "::1",
            "--requirepass",
            "a b\"c",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let (file, opts) = parse_command_line(&args);
        assert_eq!(file, Some(PathBuf::from("my.conf")));
        assert_eq!(
            opts,
            "port \"7000\" \nsave \"\"\nbind \"127.0.0.1\" \"::1\" \nrequirepass \"a b\\\"c\" "
        );
        let cfg = Config::load(None, &opts).unwrap();
        assert_eq!(cfg.requirepass, "a b\"c");
        assert_eq!(cfg.bind.0, vec!["127.0.0.1", "::1"]);
        assert!(cfg.save.0.is_empty());
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

    #[test]
    fn config_set_validates_everything_first() {
        let cfg = Config::default();
        let pairs = |v: &[(&str, &str)]| -> Vec<(String, String)> {
            v.iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect()
        };
        assert_eq!(
            cfg.prepare_set(&pairs(&[("maxmemory", "1mb"), ("port", "x")]), false, true)
                .unwrap_err(),
            "ERR CONFIG SET failed (possibly related to argument 'port') - argument couldn't be parsed into an integer"
        );
        assert_eq!(
            cfg.prepare_set(&pairs(&[("daemonize", "yes")]), false, true).unwrap_err(),
            "ERR CONFIG SET failed (possibly related to argument 'daemonize') - can't set immutable config"
        );
        assert_eq!(
            cfg.prepare_set(&pairs(&[("dir", "/tmp")]), false, false).unwrap_err(),
            "ERR CONFIG SET failed (possibly related to argument 'dir') - can't set protected config"
        );
        let ok = cfg
            .prepare_set(&pairs(&[("maxmemory", "1mb"), ("hz", "50")]), false, true)
            .unwrap();
        assert_eq!(ok[0].1, "1048576");
    }
}
