//! The fault-injection harness (crates/chaos), briefly: one seed, a few rounds. Longer runs:
//! `cargo run --release -p redwing-chaos -- --seed N --secs S [--with-redis]` (README,
//! "Reliability"). `CHAOS_SEED` / `CHAOS_SECS` change this run.

use std::time::Duration;

#[test]
fn fault_injection_rounds() {
    std::env::set_var("REDWING_BIN", env!("CARGO_BIN_EXE_redwing-server"));
    let seed = std::env::var("CHAOS_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    let secs = std::env::var("CHAOS_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(30);
    let report = chaos::run(chaos::Config {
        seed,
        duration: Duration::from_secs(secs),
        round: Duration::from_secs(10),
        with_redis: true,
    });
    eprintln!("{}", report.summary());
    assert!(
        report.violations.is_empty(),
        "fault injection found violations (replay: CHAOS_SEED={seed} CHAOS_SECS={secs}):\n{}",
        report.summary()
    );
    assert!(report.rounds >= 1 && report.writes > 0);
}
