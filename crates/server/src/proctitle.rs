//! The process title (`set-proc-title`, `proc-title-template`), as redis-server sets it: `ps`
//! and `/proc/<pid>/cmdline` show the expanded template — by default
//! `/path/to/redwing-server *:6379` — instead of the command line.
//!
//! Linux shows a process's command line from the memory that holds argv's strings, which the
//! environment's strings follow; the title is written over both (past argv's end, the kernel
//! reads it as a title up to its first NUL). [`init`] runs first thing, while the process has
//! one thread: it finds the area's bounds in `/proc/self/stat` and moves the environment out of
//! it (libc's `clearenv` and `setenv` copy the strings to the heap), so overwriting the area
//! loses nothing. Without that area (not Linux, bounds not found), titles are not set.

use std::sync::Mutex;

/// The writable title area (start address, length), and argv[0] as the process was started.
struct Area {
    start: usize,
    len: usize,
    argv0: String,
}

static AREA: Mutex<Option<Area>> = Mutex::new(None);

/// Values of the template's variables.
pub struct Vars<'a> {
    pub title: &'a str,
    pub listen_addr: String,
    pub port: i64,
    pub tls_port: i64,
    pub unixsocket: &'a str,
    pub config_file: String,
}

/// Records the argv + environment area and moves the environment out of it. Must run before
/// any other thread exists (setenv is not thread-safe).
pub fn init() {
    let argv0 = std::env::args_os()
        .next()
        .map(|a| a.to_string_lossy().into_owned())
        .unwrap_or_else(|| "redwing-server".into());
    let Some((arg_start, arg_end, env_start, env_end)) = area_bounds() else {
        return;
    };
    if arg_end <= arg_start {
        return;
    }
    // The environment's strings join the area only when they follow argv's directly.
    let end = if env_start == arg_end && env_end > env_start {
        let vars: Vec<(std::ffi::CString, std::ffi::CString)> = std::env::vars_os()
            .filter_map(|(k, v)| {
                use std::os::unix::ffi::OsStrExt;
                Some((
                    std::ffi::CString::new(k.as_bytes()).ok()?,
                    std::ffi::CString::new(v.as_bytes()).ok()?,
                ))
            })
            .collect();
        // SAFETY: single-threaded (see above); clearenv drops libc's table, setenv copies
        // each pair into new allocations, after which nothing refers to the old strings.
        unsafe {
            libc::clearenv();
            for (k, v) in &vars {
                libc::setenv(k.as_ptr(), v.as_ptr(), 1);
            }
        }
        env_end
    } else {
        arg_end
    };
    if let Ok(mut a) = AREA.lock() {
        *a = Some(Area {
            start: arg_start,
            len: end - arg_start,
            argv0,
        });
    }
}

/// (arg_start, arg_end, env_start, env_end): fields 48 to 51 of `/proc/self/stat`.
fn area_bounds() -> Option<(usize, usize, usize, usize)> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces: field 3 on.
    let rest = &stat[stat.rfind(')')? + 1..];
    let f: Vec<usize> = rest
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0))
        .collect();
    let at = |n: usize| f.get(n - 3).copied();
    Some((at(48)?, at(49)?, at(50)?, at(51)?))
}

/// The template expanded as Valkey's `sdstemplate` does (`{name}` a variable, `{{` a literal
/// brace), trimmed of spaces; None for an unknown variable or an unclosed brace.
pub fn expand(template: &str, vars: &Vars) -> Option<String> {
    let mut out = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        if after.is_empty() {
            return None;
        }
        if let Some(quoted) = after.strip_prefix('{') {
            out.push('{');
            rest = quoted;
            continue;
        }
        let close = after.find('}')?;
        match &after[..close] {
            "title" => out.push_str(vars.title),
            "listen-addr" => out.push_str(&vars.listen_addr),
            // Redwing runs neither cluster nor sentinel mode.
            "server-mode" => {}
            "config-file" => out.push_str(&vars.config_file),
            "port" => out.push_str(&vars.port.to_string()),
            "tls-port" => out.push_str(&vars.tls_port.to_string()),
            "unixsocket" => out.push_str(vars.unixsocket),
            _ => return None,
        }
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    Some(out.trim_matches(' ').to_string())
}

/// `proc-title-template`'s check, as Valkey's: it expands (with an empty title) to something.
pub fn validate(template: &str) -> Result<(), String> {
    let vars = Vars {
        title: "",
        listen_addr: "*:6379".into(),
        port: 6379,
        tls_port: 0,
        unixsocket: "",
        config_file: "-".into(),
    };
    match expand(template, &vars) {
        Some(t) if !t.is_empty() => Ok(()),
        _ => Err("template format is invalid or contains unknown variables".into()),
    }
}

/// Sets the title from the configuration (when `set-proc-title` is on).
pub fn apply(cfg: &crate::config::Config) {
    if !cfg.set_proc_title {
        return;
    }
    let Ok(area) = AREA.lock() else {
        return;
    };
    let Some(a) = area.as_ref() else {
        return;
    };
    let port = if cfg.port != 0 {
        cfg.port
    } else {
        cfg.tls_port
    };
    let listen_addr = if port != 0 {
        let first = cfg.bind.0.first().map_or("*", String::as_str);
        format!("{first}:{port}")
    } else {
        format!("unixsocket:{}", cfg.unixsocket)
    };
    let vars = Vars {
        title: &a.argv0,
        listen_addr,
        port: cfg.port,
        tls_port: cfg.tls_port,
        unixsocket: &cfg.unixsocket,
        config_file: cfg
            .file
            .as_ref()
            .map_or_else(|| "-".to_string(), |f| f.display().to_string()),
    };
    if let Some(title) = expand(&cfg.proc_title_template, &vars) {
        write_title(a, title.as_bytes());
    }
}

/// Writes `title` over the area, NUL-terminated and NUL-padded (cut to fit).
fn write_title(a: &Area, title: &[u8]) {
    let n = title.len().min(a.len.saturating_sub(1));
    // SAFETY: the area is this process's argv and environment strings, which nothing refers
    // to any more (arguments were copied at start-up, the environment moved by `init`); it is
    // written only here, under the AREA lock.
    unsafe {
        let p = a.start as *mut u8;
        std::ptr::copy_nonoverlapping(title.as_ptr(), p, n);
        std::ptr::write_bytes(p.add(n), 0, a.len - n);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> Vars<'static> {
        Vars {
            title: "/opt/redwing-server",
            listen_addr: "127.0.0.1:7000".into(),
            port: 7000,
            tls_port: 0,
            unixsocket: "/tmp/r.sock",
            config_file: "/etc/r.conf".into(),
        }
    }

    #[test]
    fn templates_expand_as_valkeys() {
        let v = vars();
        assert_eq!(
            expand("{title} {listen-addr} {server-mode}", &v).as_deref(),
            Some("/opt/redwing-server 127.0.0.1:7000")
        );
        assert_eq!(
            expand("TEST {port} {tls-port} {unixsocket} {config-file}", &v).as_deref(),
            Some("TEST 7000 0 /tmp/r.sock /etc/r.conf")
        );
        assert_eq!(expand("a {{b} c", &v).as_deref(), Some("a {b} c"));
        assert_eq!(expand("{invalid-var}", &v), None);
        assert_eq!(expand("{title", &v), None);
        assert_eq!(expand("x {", &v), None);
    }

    #[test]
    fn a_template_must_expand_to_something() {
        assert!(validate("{title} {listen-addr}").is_ok());
        assert!(validate("{title}").is_err(), "empty title: nothing left");
        assert_eq!(
            validate("{invalid-var}"),
            Err("template format is invalid or contains unknown variables".into())
        );
    }
}
