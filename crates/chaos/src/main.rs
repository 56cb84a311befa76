//! `redwing-chaos --seed N --secs S [--round-secs R] [--with-redis]`: runs the fault-injection
//! harness (see the library docs) and prints the report; exits 1 on any violation.
//! Uses the redwing-server binary from target/{debug,release} or `$REDWING_BIN`.

use std::time::Duration;

fn main() {
    let mut cfg = chaos::Config {
        seed: 1,
        duration: Duration::from_secs(60),
        round: Duration::from_secs(15),
        with_redis: false,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < args.len() {
        let value = |i: usize| -> u64 {
            match args.get(i + 1).and_then(|v| v.parse().ok()) {
                Some(v) => v,
                None => {
                    eprintln!("{} needs a number", args[i]);
                    std::process::exit(2);
                }
            }
        };
        match args[i].as_str() {
            "--seed" => {
                cfg.seed = value(i);
                i += 1;
            }
            "--secs" => {
                cfg.duration = Duration::from_secs(value(i));
                i += 1;
            }
            "--round-secs" => {
                cfg.round = Duration::from_secs(value(i));
                i += 1;
            }
            "--with-redis" => cfg.with_redis = true,
            "-h" | "--help" => {
                println!(
                    "usage: redwing-chaos [--seed N] [--secs S] [--round-secs R] [--with-redis]"
                );
                return;
            }
            other => {
                eprintln!("unknown argument {other} (see --help)");
                std::process::exit(2);
            }
        }
        i += 1;
    }
    let report = chaos::run(cfg);
    print!("{}", report.summary());
    if !report.violations.is_empty() {
        std::process::exit(1);
    }
}
