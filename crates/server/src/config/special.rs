//! Parameters with their own syntax: save points, output-buffer limits, bind lists,
//! replicaof, dir, dbfilename, percentiles.

use super::params::Special;
use super::parse_memory;

pub fn canonical(kind: Special, args: &[String], current: &str) -> Result<String, String> {
    match kind {
        Special::Save => save(args),
        Special::ClientOutputBufferLimit => cobl(args, current),
        Special::Bind => {
            if args.len() > 16 {
                return Err("Too many bind addresses specified.".into());
            }
            if args.is_empty() {
                return Err("wrong number of arguments".into());
            }
            Ok(args.join(" "))
        }
        Special::Replicaof => replicaof(args),
        Special::Dir => dir(args),
        Special::Dbfilename => {
            let v = one(args)?;
            if v.contains('/') {
                return Err("dbfilename can't be a path, just a filename".into());
            }
            Ok(v.to_string())
        }
        Special::Percentiles => percentiles(args),
        Special::NotifyKeyspaceEvents => {
            let v = one(args)?;
            if v.is_empty() {
                Ok(String::new())
            } else {
                Err("keyspace notifications are not supported by Redwing".into())
            }
        }
    }
}

fn one(args: &[String]) -> Result<&str, String> {
    match args {
        [v] => Ok(v),
        _ => Err("wrong number of arguments".into()),
    }
}

fn save(args: &[String]) -> Result<String, String> {
    if args.len() == 1 && args[0].is_empty() {
        return Ok(String::new());
    }
    if !args.len().is_multiple_of(2) || args.is_empty() {
        return Err("Invalid save parameters".into());
    }
    let mut out = Vec::new();
    for pair in args.chunks(2) {
        let secs = resp::request::parse_i64(pair[0].as_bytes()).filter(|v| *v >= 1);
        let changes = resp::request::parse_i64(pair[1].as_bytes()).filter(|v| *v >= 0);
        match (secs, changes) {
            (Some(s), Some(c)) => out.push(format!("{s} {c}")),
            _ => return Err("Invalid save parameters".into()),
        }
    }
    Ok(out.join(" "))
}

/// Merges `class hard soft seconds` groups into the current three-class value.
fn cobl(args: &[String], current: &str) -> Result<String, String> {
    if args.is_empty() || !args.len().is_multiple_of(4) {
        return Err("Wrong number of arguments in buffer limit configuration.".into());
    }
    let mut classes = parse_cobl(current).unwrap_or_else(|| {
        parse_cobl("normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60")
            .unwrap_or_default()
    });
    for g in args.chunks(4) {
        let idx = match g[0].to_ascii_lowercase().as_str() {
            "normal" => 0,
            "slave" | "replica" => 1,
            "pubsub" => 2,
            _ => {
                return Err("Invalid client class specified in buffer limit configuration.".into())
            }
        };
        let hard = parse_memory(&g[1]);
        let soft = parse_memory(&g[2]);
        let secs = resp::request::parse_i64(g[3].as_bytes()).filter(|v| *v >= 0);
        match (hard, soft, secs) {
            (Some(h), Some(s), Some(t)) => classes[idx] = (h, s, t as u64),
            _ => {
                return Err(
                    "Error in hard, soft or soft_seconds setting in buffer limit configuration."
                        .into(),
                )
            }
        }
    }
    Ok(format_cobl(&classes))
}

/// (hard, soft, soft_seconds) for normal, replica and pubsub clients.
pub fn parse_cobl(v: &str) -> Option<Vec<(u64, u64, u64)>> {
    let parts: Vec<&str> = v.split_whitespace().collect();
    if parts.len() != 12 {
        return None;
    }
    parts
        .chunks(4)
        .map(|g| Some((g[1].parse().ok()?, g[2].parse().ok()?, g[3].parse().ok()?)))
        .collect()
}

fn format_cobl(c: &[(u64, u64, u64)]) -> String {
    let names = ["normal", "slave", "pubsub"];
    names
        .iter()
        .zip(c)
        .map(|(n, (h, s, t))| format!("{n} {h} {s} {t}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn replicaof(args: &[String]) -> Result<String, String> {
    match args {
        [h, p] if h.eq_ignore_ascii_case("no") && p.eq_ignore_ascii_case("one") => {
            Ok(String::new())
        }
        [h, p] => {
            let port = resp::request::parse_i64(p.as_bytes())
                .filter(|v| (0..=65535).contains(v))
                .ok_or("Invalid master port")?;
            Ok(format!("{h} {port}"))
        }
        _ => Err("wrong number of arguments".into()),
    }
}

fn dir(args: &[String]) -> Result<String, String> {
    let v = one(args)?;
    std::env::set_current_dir(v).map_err(|e| e.to_string())?;
    std::env::current_dir()
        .map(|d| d.display().to_string())
        .map_err(|e| e.to_string())
}

fn percentiles(args: &[String]) -> Result<String, String> {
    let mut out = Vec::new();
    let list: Vec<&str> = if args.len() == 1 {
        args[0].split_whitespace().collect()
    } else {
        args.iter().map(String::as_str).collect()
    };
    for a in list {
        let v = resp::float::parse_double(a.as_bytes())
            .ok_or("Invalid latency-tracking-info-percentiles parameters")?;
        if !(0.0..=100.0).contains(&v) {
            return Err(
                "latency-tracking-info-percentiles parameters should sit between [0.0,100.0]"
                    .into(),
            );
        }
        out.push(resp::float::fmt_fixed6_trimmed(v));
    }
    Ok(out.join(" "))
}
