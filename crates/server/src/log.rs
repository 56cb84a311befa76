//! Redis-style logging: `<pid>:<role> <dd Mon yyyy hh:mm:ss.mmm> <level> <message>`, with
//! role `M` (primary), `S` (replica), `C` (child/background) and level marks `.`, `-`, `*`, `#`.
//! Test suites and operators grep these lines, so the format matches redis-server's.

use std::fs::OpenOptions;
use std::io::Write;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Mutex;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Debug = 0,
    Verbose = 1,
    Notice = 2,
    Warning = 3,
    Nothing = 4,
}

impl Level {
    pub fn parse(s: &str) -> Level {
        match s {
            "debug" => Level::Debug,
            "verbose" => Level::Verbose,
            "warning" => Level::Warning,
            "nothing" => Level::Nothing,
            _ => Level::Notice,
        }
    }

    fn mark(self) -> char {
        ['.', '-', '*', '#', ' '][self as usize]
    }
}

static LEVEL: AtomicU8 = AtomicU8::new(Level::Notice as u8);
static ROLE: AtomicU8 = AtomicU8::new(b'M');
static SINK: Mutex<Option<std::fs::File>> = Mutex::new(None);

/// Directs logs to `path` (empty = standard output).
pub fn init(path: &str, level: Level) -> std::io::Result<()> {
    set_level(level);
    if !path.is_empty() {
        let f = OpenOptions::new().create(true).append(true).open(path)?;
        if let Ok(mut sink) = SINK.lock() {
            *sink = Some(f);
        }
    }
    Ok(())
}

/// The log's descriptor (its file's, or standard output's), for the crash reports' writers,
/// which cannot take the lock.
pub fn raw_fd() -> i32 {
    use std::os::fd::AsRawFd;
    SINK.lock()
        .ok()
        .and_then(|s| s.as_ref().map(|f| f.as_raw_fd()))
        .unwrap_or(1)
}

pub fn set_level(level: Level) {
    LEVEL.store(level as u8, Ordering::Relaxed);
}

/// `M` for a primary, `S` for a replica.
pub fn set_role(replica: bool) {
    ROLE.store(if replica { b'S' } else { b'M' }, Ordering::Relaxed);
}

pub fn enabled(level: Level) -> bool {
    level as u8 >= LEVEL.load(Ordering::Relaxed) && level != Level::Nothing
}

pub fn write(level: Level, msg: &str) {
    write_as(level, ROLE.load(Ordering::Relaxed) as char, msg);
}

/// Log from a background thread (role `C`, as Redis's forked children).
pub fn write_child(level: Level, msg: &str) {
    write_as(level, 'C', msg);
}

fn write_as(level: Level, role: char, msg: &str) {
    if !enabled(level) {
        return;
    }
    let line = format!(
        "{}:{} {} {} {}\n",
        std::process::id(),
        role,
        timestamp(),
        level.mark(),
        msg
    );
    let mut sink = SINK.lock().unwrap_or_else(|e| e.into_inner());
    match sink.as_mut() {
        Some(f) => {
            let _ = f.write_all(line.as_bytes());
        }
        None => {
            let _ = std::io::stdout().write_all(line.as_bytes());
        }
    }
}

/// Writes `text` as it is, without the line prefix (the start-up logo, as Redis's `LL_RAW`).
pub fn raw(level: Level, text: &str) {
    if !enabled(level) {
        return;
    }
    let mut sink = SINK.lock().unwrap_or_else(|e| e.into_inner());
    match sink.as_mut() {
        Some(f) => {
            let _ = f.write_all(text.as_bytes());
        }
        None => {
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(text.as_bytes());
            let _ = out.flush();
        }
    }
}

/// `21 Nov 2026 22:12:05.123` in local time.
fn timestamp() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = now.as_secs() as libc::time_t;
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    // SAFETY: localtime_r writes into our tm and reads the time_t we pass.
    unsafe { libc::localtime_r(&secs, &mut tm) };
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "{:02} {} {} {:02}:{:02}:{:02}.{:03}",
        tm.tm_mday,
        MONTHS[(tm.tm_mon as usize).min(11)],
        tm.tm_year + 1900,
        tm.tm_hour,
        tm.tm_min,
        tm.tm_sec,
        now.subsec_millis()
    )
}

#[macro_export]
macro_rules! log_notice { ($($a:tt)*) => { $crate::log::write($crate::log::Level::Notice, &format!($($a)*)) } }
#[macro_export]
macro_rules! log_warning { ($($a:tt)*) => { $crate::log::write($crate::log::Level::Warning, &format!($($a)*)) } }
#[macro_export]
macro_rules! log_verbose { ($($a:tt)*) => { if $crate::log::enabled($crate::log::Level::Verbose) { $crate::log::write($crate::log::Level::Verbose, &format!($($a)*)) } } }
#[macro_export]
macro_rules! log_debug { ($($a:tt)*) => { if $crate::log::enabled($crate::log::Level::Debug) { $crate::log::write($crate::log::Level::Debug, &format!($($a)*)) } } }
