//! Crash reports and the software watchdog, in redis-server's words.
//!
//! - A fatal signal (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT) logs a bug report — the signal,
//!   the faulting address or the sender, the stack trace of the thread that got it — then the
//!   signal's default action runs (the process dies with it, dumping core where enabled).
//!   `crash-log-enabled no` leaves out the report.
//! - SIGALRM logs the stack trace of the event loop's thread, and the server goes on. With
//!   `watchdog-period <ms>` (Valkey's debugging aid), the cron re-arms a one-shot timer on every
//!   pass: when a pass of the event loop takes longer than the period, the timer's SIGALRM
//!   logs `--- WATCHDOG TIMER EXPIRED ---` and where the loop is stuck.
//! - A panic, on any thread, logs the same report before it unwinds as it did before.
//!
//! Signal-handler discipline: a handler allocates nothing and takes no lock. It collects the
//! return addresses with backtrace(3) (preloaded at install, so the first use does not load
//! libgcc) and writes its lines with write(2) from stack buffers. Naming addresses needs
//! allocation, so a reporter thread does it while the handler waits; the wait is bounded: if
//! the interrupted thread holds the allocator's lock, the reporter cannot finish, and after
//! [`NAMING_WAIT_MS`] the handler prints the bare addresses itself.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicI64, AtomicUsize, Ordering};

/// Frames kept per trace.
const MAX_FRAMES: usize = 64;
/// How long a handler waits for the reporter to name the frames.
const NAMING_WAIT_MS: i32 = 2_000;

/// The descriptor the log goes to (its file, or standard output).
static LOG_FD: AtomicI32 = AtomicI32::new(1);
/// The event loop's thread: kernel id, and the pthread handle SIGALRM is forwarded to.
static MAIN_TID: AtomicI32 = AtomicI32::new(0);
static MAIN_PTHREAD: AtomicUsize = AtomicUsize::new(0);
/// Pipes to and from the reporter thread (-1 until installed).
static TO_REPORTER: AtomicI32 = AtomicI32::new(-1);
static FROM_REPORTER: AtomicI32 = AtomicI32::new(-1);
/// The frames the reporter is asked to name.
static FRAMES: [AtomicUsize; MAX_FRAMES] = [const { AtomicUsize::new(0) }; MAX_FRAMES];
static FRAME_COUNT: AtomicUsize = AtomicUsize::new(0);
/// A fatal report is being written (a fault inside it ends the process at once).
static IN_FATAL: AtomicBool = AtomicBool::new(false);
/// A trace is being written (a second SIGALRM meanwhile is ignored).
static IN_TRACE: AtomicBool = AtomicBool::new(false);
/// `crash-log-enabled`.
static LOG_ENABLED: AtomicBool = AtomicBool::new(true);
/// A SIGALRM forwarded to the event loop's thread: 1 = from the watchdog, 2 = from a sender.
static FORWARDED: AtomicI32 = AtomicI32::new(0);
/// The watchdog period armed last (ms, 0 = off).
static WATCHDOG_MS: AtomicI64 = AtomicI64::new(0);
/// The handlers are in place (before, no timer is armed: its SIGALRM would kill the process).
static INSTALLED: AtomicBool = AtomicBool::new(false);

const FATAL: [libc::c_int; 5] = [
    libc::SIGSEGV,
    libc::SIGBUS,
    libc::SIGFPE,
    libc::SIGILL,
    libc::SIGABRT,
];

/// Installs the handlers, the panic hook and the reporter thread. Call on the event loop's
/// thread, once the log is open and after `signals::install` (whose blocked signals the
/// reporter thread must inherit).
pub fn install() -> std::io::Result<()> {
    LOG_FD.store(crate::log::raw_fd(), Ordering::Relaxed);
    // SAFETY: gettid and pthread_self have no preconditions.
    unsafe {
        MAIN_TID.store(libc::gettid(), Ordering::Relaxed);
        MAIN_PTHREAD.store(libc::pthread_self() as usize, Ordering::Relaxed);
    }
    // The first backtrace(3) loads the unwinder (allocating): done here, not in a handler.
    let mut probe = [std::ptr::null_mut(); 4];
    // SAFETY: the buffer holds 4 entries, as passed.
    unsafe { libc::backtrace(probe.as_mut_ptr(), 4) };
    let (to_read, to_write) = pipe()?;
    let (from_read, from_write) = pipe()?;
    std::thread::Builder::new()
        .name("crash-report".into())
        .spawn(move || reporter(to_read, from_write))?;
    TO_REPORTER.store(to_write, Ordering::Relaxed);
    FROM_REPORTER.store(from_read, Ordering::Relaxed);
    for sig in FATAL {
        set_handler(sig, on_fatal as *const () as usize, libc::SA_RESETHAND)?;
    }
    set_handler(
        libc::SIGALRM,
        on_alarm as *const () as usize,
        libc::SA_RESTART,
    )?;
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        report_panic(info);
        previous(info);
    }));
    INSTALLED.store(true, Ordering::Release);
    Ok(())
}

/// The period the watchdog is armed with: at least two cron periods, as Valkey (0 = off).
pub fn watchdog_period(watchdog_period_ms: i64, hz: i64) -> i64 {
    match watchdog_period_ms {
        0 => 0,
        p => p.max(2 * 1000 / hz.max(1)),
    }
}

/// The cron's part: re-arms the watchdog (`watchdog-period`, at least two cron periods as in
/// Valkey), or stops it, and follows `crash-log-enabled`.
pub fn cron(watchdog_period_ms: i64, hz: i64, crash_log_enabled: bool) {
    LOG_ENABLED.store(crash_log_enabled, Ordering::Relaxed);
    if !INSTALLED.load(Ordering::Acquire) {
        return;
    }
    let period = watchdog_period(watchdog_period_ms, hz);
    if period == 0 && WATCHDOG_MS.swap(0, Ordering::Relaxed) == 0 {
        return;
    }
    WATCHDOG_MS.store(period, Ordering::Relaxed);
    let timer = libc::itimerval {
        it_interval: libc::timeval {
            tv_sec: 0,
            tv_usec: 0,
        },
        it_value: libc::timeval {
            tv_sec: period / 1000,
            tv_usec: (period % 1000) * 1000,
        },
    };
    // SAFETY: setitimer with a valid timer value; the old value is not wanted.
    unsafe { libc::setitimer(libc::ITIMER_REAL, &timer, std::ptr::null_mut()) };
}

/// `DEBUG SEGFAULT`: a write to a read-only page, as Valkey does it.
pub fn segfault() -> ! {
    // SAFETY: a fresh private read-only page; the write faults, which is the point: the fatal
    // handler reports it and the process ends with SIGSEGV.
    unsafe {
        let p = libc::mmap(
            std::ptr::null_mut(),
            4096,
            libc::PROT_READ,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        );
        if p != libc::MAP_FAILED {
            std::ptr::write_volatile(p as *mut u8, b'x');
        }
        libc::raise(libc::SIGSEGV);
    }
    std::process::abort()
}

fn pipe() -> std::io::Result<(i32, i32)> {
    let mut fds = [0; 2];
    // SAFETY: pipe2 writes two descriptors into the array.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok((fds[0], fds[1]))
}

fn set_handler(sig: libc::c_int, handler: usize, flags: libc::c_int) -> std::io::Result<()> {
    // SAFETY: a zeroed sigaction with our handler, SA_SIGINFO and an empty mask.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = handler;
        sa.sa_flags = libc::SA_SIGINFO | flags;
        libc::sigemptyset(&mut sa.sa_mask);
        if libc::sigaction(sig, &sa, std::ptr::null_mut()) != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// A line built on the stack (no allocation), cut at its capacity.
struct Line {
    buf: [u8; 512],
    len: usize,
}

impl Line {
    fn new() -> Line {
        Line {
            buf: [0; 512],
            len: 0,
        }
    }

    /// Writes the line and a newline to the log.
    fn emit(&mut self) {
        if self.len < self.buf.len() {
            self.buf[self.len] = b'\n';
            self.len += 1;
        }
        raw(&self.buf[..self.len]);
        self.len = 0;
    }
}

impl std::fmt::Write for Line {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let room = self.buf.len() - 1 - self.len;
        let n = s.len().min(room);
        self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        Ok(())
    }
}

/// write(2) of all of `bytes` to the log.
fn raw(mut bytes: &[u8]) {
    let fd = LOG_FD.load(Ordering::Relaxed);
    while !bytes.is_empty() {
        // SAFETY: writing from a valid slice.
        let n = unsafe { libc::write(fd, bytes.as_ptr().cast(), bytes.len()) };
        if n <= 0 {
            if n < 0 && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return;
        }
        bytes = &bytes[n as usize..];
    }
}

/// A log line as Valkey writes from a signal handler: `<pid>:signal-handler (<unix time>) …`
/// (no local-time formatting, which is not safe in a handler).
fn handler_line(args: std::fmt::Arguments) {
    let mut l = Line::new();
    // SAFETY: getpid and time have no preconditions.
    let (pid, now) = unsafe { (libc::getpid(), libc::time(std::ptr::null_mut())) };
    let _ = write!(l, "{pid}:signal-handler ({now}) ");
    let _ = l.write_fmt(args);
    l.emit();
}

fn raw_line(args: std::fmt::Arguments) {
    let mut l = Line::new();
    let _ = l.write_fmt(args);
    l.emit();
}

/// This thread's name (prctl: safe in a handler).
fn thread_name(buf: &mut [u8; 16]) -> &str {
    // SAFETY: PR_GET_NAME writes at most 16 bytes, NUL-terminated, into the buffer.
    unsafe { libc::prctl(libc::PR_GET_NAME, buf.as_mut_ptr()) };
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    std::str::from_utf8(&buf[..end]).unwrap_or("?")
}

/// The stack trace of the calling thread, between Valkey's `STACK TRACE` markers.
fn stack_trace() {
    let mut frames = [std::ptr::null_mut(); MAX_FRAMES];
    // SAFETY: the buffer holds MAX_FRAMES entries, as passed.
    let n = unsafe { libc::backtrace(frames.as_mut_ptr(), MAX_FRAMES as libc::c_int) }.max(0);
    let n = n as usize;
    let mut name = [0u8; 16];
    // SAFETY: gettid has no preconditions.
    let tid = unsafe { libc::gettid() };
    raw_line(format_args!("\n------ STACK TRACE ------"));
    raw_line(format_args!(
        "\nBacktrace of thread {tid} ({}):",
        thread_name(&mut name)
    ));
    for (slot, f) in FRAMES.iter().zip(frames.iter()) {
        slot.store(*f as usize, Ordering::Relaxed);
    }
    FRAME_COUNT.store(n, Ordering::Relaxed);
    if !named_by_reporter() {
        for (i, f) in frames[..n].iter().enumerate() {
            raw_line(format_args!("#{i} {:p}", *f));
        }
    }
    raw_line(format_args!("\n------ STACK TRACE DONE ------"));
}

/// Asks the reporter to name the frames in [`FRAMES`]; false if it did not within the wait.
fn named_by_reporter() -> bool {
    let (to, from) = (
        TO_REPORTER.load(Ordering::Relaxed),
        FROM_REPORTER.load(Ordering::Relaxed),
    );
    if to < 0 || from < 0 {
        return false;
    }
    let mut drain = [0u8; 16];
    let mut pfd = libc::pollfd {
        fd: from,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: poll/read/write on our own pipe descriptors with valid buffers. A stale answer
    // (from an earlier request that timed out) is drained first.
    unsafe {
        while libc::poll(&mut pfd, 1, 0) > 0 {
            if libc::read(from, drain.as_mut_ptr().cast(), drain.len()) <= 0 {
                break;
            }
        }
        if libc::write(to, b"n".as_ptr().cast(), 1) != 1 {
            return false;
        }
        pfd.revents = 0;
        if libc::poll(&mut pfd, 1, NAMING_WAIT_MS) != 1 {
            raw_line(format_args!(
                "(the frames could not be named in time; their addresses:)"
            ));
            return false;
        }
        libc::read(from, drain.as_mut_ptr().cast(), 1);
    }
    true
}

/// The reporter thread: names the frames it is asked for, writes them, answers.
fn reporter(requests: i32, answers: i32) {
    let mut byte = [0u8; 1];
    loop {
        // SAFETY: reading one byte from our pipe into a valid buffer.
        let n = unsafe { libc::read(requests, byte.as_mut_ptr().cast(), 1) };
        if n == 0 {
            return;
        }
        if n < 0 {
            continue;
        }
        let count = FRAME_COUNT.load(Ordering::Relaxed).min(MAX_FRAMES);
        for (i, slot) in FRAMES[..count].iter().enumerate() {
            let ip = slot.load(Ordering::Relaxed);
            let mut text = format!("#{i} {ip:#x}");
            let mut named = false;
            // Return addresses point past the call: look up the call itself.
            let lookup = if i == 0 { ip } else { ip.saturating_sub(1) };
            backtrace::resolve(lookup as *mut std::ffi::c_void, |sym| {
                if named {
                    // An inlined frame's callers: each on its own line.
                    text.push_str("\n      (inlined into)");
                }
                named = true;
                match sym.name() {
                    Some(name) => {
                        let _ = write!(text, " {name:#}");
                    }
                    None => text.push_str(" ?"),
                }
                if let (Some(file), Some(line)) = (sym.filename(), sym.lineno()) {
                    let _ = write!(text, " at {}:{line}", file.display());
                }
            });
            text.push('\n');
            raw(text.as_bytes());
        }
        // SAFETY: writing one byte from a valid buffer to our pipe.
        unsafe { libc::write(answers, b"d".as_ptr().cast(), 1) };
    }
}

/// SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT: the report, then the signal's default action
/// (SA_RESETHAND already restored it; raised again, it is delivered when this returns).
extern "C" fn on_fatal(sig: libc::c_int, info: *mut libc::siginfo_t, _ctx: *mut libc::c_void) {
    if !IN_FATAL.swap(true, Ordering::SeqCst) && LOG_ENABLED.load(Ordering::Relaxed) {
        raw_line(format_args!(
            "\n\n=== REDWING BUG REPORT START: Cut & paste starting from here ==="
        ));
        // SAFETY: the kernel passes a valid siginfo to an SA_SIGINFO handler.
        let (code, addr, pid, uid) = unsafe {
            let i = &*info;
            (i.si_code, i.si_addr(), i.si_pid(), i.si_uid())
        };
        handler_line(format_args!(
            "Redwing {} crashed by signal: {sig}, si_code: {code}",
            crate::VERSION
        ));
        if sig == libc::SIGSEGV || sig == libc::SIGBUS {
            handler_line(format_args!("Accessing address: {addr:p}"));
        }
        if code == libc::SI_USER || code == libc::SI_TKILL {
            handler_line(format_args!("Killed by PID: {pid}, UID: {uid}"));
        }
        stack_trace();
        raw_line(format_args!(
            "\n=== REDWING BUG REPORT END. Make sure to include from START to END. ===\n\n       Please report the crash by opening an issue with this report.\n"
        ));
    }
    // SAFETY: restoring the default action and raising the signal again (blocked while this
    // handler runs, delivered when it returns; a fault simply repeats).
    unsafe {
        libc::signal(sig, libc::SIG_DFL);
        libc::raise(sig);
    }
}

/// SIGALRM: where the event loop's thread is, then it goes on. Sent by the watchdog's timer
/// (no sender) or by someone else; another thread that gets it forwards it to the event loop's.
extern "C" fn on_alarm(_sig: libc::c_int, info: *mut libc::siginfo_t, _ctx: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo; gettid has no preconditions.
    let (code, pid, tid) = unsafe { ((*info).si_code, (*info).si_pid(), libc::gettid()) };
    let from_timer = code == libc::SI_KERNEL || pid == 0;
    let main = MAIN_TID.load(Ordering::Relaxed);
    if main != 0 && tid != main {
        FORWARDED.store(if from_timer { 1 } else { 2 }, Ordering::Relaxed);
        // SAFETY: the event loop's thread lives as long as the process.
        unsafe {
            libc::pthread_kill(
                MAIN_PTHREAD.load(Ordering::Relaxed) as libc::pthread_t,
                libc::SIGALRM,
            )
        };
        return;
    }
    let watchdog = match FORWARDED.swap(0, Ordering::Relaxed) {
        1 => true,
        2 => false,
        _ => from_timer,
    };
    if IN_TRACE.swap(true, Ordering::SeqCst) {
        return;
    }
    if watchdog {
        raw_line(format_args!("\n--- WATCHDOG TIMER EXPIRED ---"));
    } else {
        raw_line(format_args!("\nReceived SIGALRM"));
    }
    stack_trace();
    raw_line(format_args!("--------\n"));
    IN_TRACE.store(false, Ordering::SeqCst);
}

/// A panic: the report (its message, where, the trace), before it unwinds as usual.
fn report_panic(info: &std::panic::PanicHookInfo) {
    if !LOG_ENABLED.load(Ordering::Relaxed) {
        return;
    }
    let msg = info
        .payload()
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| info.payload().downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".into());
    let place = info
        .location()
        .map(|l| format!("{}:{}", l.file(), l.line()))
        .unwrap_or_default();
    let thread = std::thread::current();
    let mut text = String::new();
    let _ = write!(
        text,
        "\n\n=== REDWING BUG REPORT START: Cut & paste starting from here ===\n------------------------------------------------\nGuru Meditation: thread '{}' panicked at {place}: {msg}\n\n------ STACK TRACE ------\n{}\n------ STACK TRACE DONE ------\n\n=== REDWING BUG REPORT END. Make sure to include from START to END. ===\n",
        thread.name().unwrap_or("?"),
        std::backtrace::Backtrace::force_capture()
    );
    raw(text.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_is_cut_at_its_capacity_not_overflowed() {
        let mut l = Line::new();
        let long = "x".repeat(2000);
        let _ = write!(l, "{long}");
        assert_eq!(l.len, 511, "room is kept for the newline");
        let _ = write!(l, "more");
        assert_eq!(l.len, 511);
    }

    #[test]
    fn the_watchdog_period_is_at_least_two_cron_periods() {
        assert_eq!(watchdog_period(0, 10), 0);
        assert_eq!(watchdog_period(50, 10), 200);
        assert_eq!(watchdog_period(500, 10), 500);
        assert_eq!(watchdog_period(50, 100), 50);
    }

    #[test]
    fn no_timer_is_armed_before_the_handlers_are_installed() {
        // This test process has no SIGALRM handler: an armed timer would kill it.
        cron(200, 10, true);
        assert_eq!(WATCHDOG_MS.load(Ordering::Relaxed), 0);
    }
}
