//! Crash reports and the watchdog (`crate::crash`): a fatal signal logs a bug report with the
//! stack trace, then the process dies of that signal; SIGALRM and an expired watchdog log
//! where the event loop is, and the server goes on.

mod common;

use std::os::unix::process::ExitStatusExt;
use std::time::Duration;

use common::*;
use testkit::{wait_for, ServerProc};

fn wait_logged(s: &ServerProc, what: &str) {
    wait_for(
        &format!("the log to contain {what:?}"),
        Duration::from_secs(10),
        || s.log().contains(what),
    );
}

fn wait_died_of(s: &mut ServerProc, sig: i32) {
    let mut status = None;
    wait_for("the server to exit", Duration::from_secs(10), || {
        status = s.exit_status();
        status.is_some()
    });
    assert_eq!(
        status.and_then(|st| st.signal()),
        Some(sig),
        "died of signal {sig}; log:\n{}",
        s.log()
    );
}

#[test]
fn debug_segfault_logs_a_bug_report_and_dies_of_sigsegv() {
    let mut s = redwing(&[]);
    let mut c = s.conn();
    let _ = c.try_cmd(&["DEBUG", "SEGFAULT"]);
    wait_died_of(&mut s, libc::SIGSEGV);
    let log = s.log();
    for line in [
        "=== REDWING BUG REPORT START",
        "crashed by signal: 11",
        "Accessing address: 0x",
        "------ STACK TRACE ------",
        "redwing_server::cmd::debug",
        "------ STACK TRACE DONE ------",
        "=== REDWING BUG REPORT END",
    ] {
        assert!(log.contains(line), "{line:?} missing from:\n{log}");
    }
}

#[test]
fn sigabrt_from_outside_names_the_sender() {
    let mut s = redwing(&[]);
    assert_eq!(s.conn().text(&["PING"]), "PONG");
    let pid = s.pid().expect("running") as i32;
    // SAFETY: kill(2) on the pid of the server this test started.
    unsafe { libc::kill(pid, libc::SIGABRT) };
    wait_died_of(&mut s, libc::SIGABRT);
    let log = s.log();
    assert!(log.contains("crashed by signal: 6"), "{log}");
    assert!(
        log.contains(&format!("Killed by PID: {}", std::process::id())),
        "{log}"
    );
    assert!(log.contains("------ STACK TRACE DONE ------"), "{log}");
}

#[test]
fn the_watchdog_and_sigalrm_log_a_trace_and_the_server_goes_on() {
    let mut s = redwing(&[]);
    let mut c = s.conn();
    assert_eq!(c.text(&["CONFIG", "SET", "watchdog-period", "200"]), "OK");
    assert_eq!(c.text(&["DEBUG", "SLEEP", "1"]), "OK");
    wait_logged(&s, "--- WATCHDOG TIMER EXPIRED ---");
    wait_logged(&s, "------ STACK TRACE DONE ------");
    assert!(
        s.log().contains("redwing_server::cmd::debug"),
        "{}",
        s.log()
    );
    assert_eq!(c.text(&["CONFIG", "SET", "watchdog-period", "0"]), "OK");
    let pid = s.pid().expect("running") as i32;
    // SAFETY: kill(2) on the pid of the server this test started.
    unsafe { libc::kill(pid, libc::SIGALRM) };
    wait_logged(&s, "Received SIGALRM");
    assert_eq!(c.text(&["PING"]), "PONG");
    assert!(s.alive());
}
