//! Parameter kinds (how a value is validated and written canonically) and the typed values the
//! server reads (how canonical text becomes a field of [`super::Config`]).
//!
//! Every parameter has a canonical text (what CONFIG GET prints). Validation turns user input
//! into that text ([`Kind::canonical`]); [`Typed::from_canonical`] turns the text into the
//! field's value and [`Typed::to_canonical`] back. A unit test checks that every parameter's
//! default survives the round trip, so a declaration whose kind and field type disagree fails.

use super::parse_memory;

/// How a parameter's arguments are validated and canonicalised.
#[derive(Clone, Copy, Debug)]
pub enum Kind {
    /// `yes` / `no`.
    Bool,
    /// A decimal integer in `min..=max` (Valkey's INTEGER_CONFIG).
    Int { min: i128, max: i128 },
    /// Like `Int`, also accepting `k`/`kb`/`m`/`mb`/`g`/`gb` suffixes (MEMORY_CONFIG).
    Mem { min: i128, max: i128 },
    /// A memory value or `N%` (MEMORY_CONFIG | PERCENT_CONFIG); percent stored negative.
    MemPercent { min: i128, max: i128 },
    /// An octal integer (OCTAL_CONFIG), printed in octal.
    Octal { min: i128, max: i128 },
    /// One of the names, case-insensitive, canonical as listed.
    Enum(&'static [&'static str]),
    /// A set of flag names (MULTI_ARG enum such as `shutdown-on-sigterm`); `names[0]` is the
    /// empty set.
    Flags(&'static [&'static str]),
    /// Any string.
    Str,
    /// A parameter with its own syntax.
    Special(Special),
}

/// Parameters with their own syntax.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Special {
    Save,
    ClientOutputBufferLimit,
    Bind,
    ReplicaOf,
    Dir,
    Dbfilename,
    Percentiles,
    NotifyKeyspaceEvents,
    OomScoreAdjValues,
}

impl Kind {
    /// Validates `args` (already split for multi-argument parameters) and returns the
    /// canonical text, or Valkey's reason. `current` is the parameter's current canonical
    /// value (client-output-buffer-limit merges into it).
    pub fn canonical(&self, args: &[String], current: &str) -> Result<String, String> {
        let single = || match args {
            [v] => Ok(v.as_str()),
            _ => Err("wrong number of arguments".to_string()),
        };
        match *self {
            Kind::Bool => match single()?.to_ascii_lowercase().as_str() {
                "yes" => Ok("yes".into()),
                "no" => Ok("no".into()),
                _ => Err("argument must be 'yes' or 'no'".into()),
            },
            Kind::Int { min, max } => {
                let n = resp::request::parse_i64(single()?.as_bytes())
                    .ok_or("argument couldn't be parsed into an integer")?;
                bounded(n as i128, min, max)
            }
            Kind::Mem { min, max } => {
                let n = parse_memory(single()?).ok_or("argument must be a memory value")?;
                bounded(n as i128, min, max)
            }
            Kind::MemPercent { min, max } => {
                let v = single()?;
                if let Some(n) = parse_memory(v) {
                    return bounded(n as i128, 0, max);
                }
                let pct = v
                    .strip_suffix('%')
                    .filter(|d| !d.is_empty())
                    .and_then(|d| resp::request::parse_i64(d.as_bytes()))
                    .filter(|p| *p >= 0)
                    .ok_or("argument must be a memory or percent value")?;
                if -(pct as i128) < min {
                    return Err(format!(
                        "percentage argument must be less or equal to {}",
                        -min
                    ));
                }
                Ok(format!("{pct}%"))
            }
            Kind::Octal { min, max } => {
                let v = single()?;
                let n = i64::from_str_radix(v, 8)
                    .map_err(|_| "argument couldn't be parsed as an octal number".to_string())?;
                let n = n as i128;
                if n < min || n > max {
                    return Err(format!(
                        "argument must be between {min:o} and {max:o} inclusive"
                    ));
                }
                Ok(format!("{n:o}"))
            }
            Kind::Enum(names) => {
                let v = single()?;
                names
                    .iter()
                    .find(|n| n.eq_ignore_ascii_case(v))
                    .map(|n| n.to_string())
                    .ok_or_else(|| {
                        format!(
                            "argument(s) must be one of the following: {}",
                            names.join(", ")
                        )
                    })
            }
            Kind::Flags(names) => flags_canonical(names, args),
            Kind::Str => Ok(single()?.to_string()),
            Kind::Special(s) => special_canonical(s, args, current),
        }
    }
}

fn bounded(n: i128, min: i128, max: i128) -> Result<String, String> {
    if n < min || n > max {
        return Err(format!(
            "argument must be between {min} and {max} inclusive"
        ));
    }
    Ok(n.to_string())
}

/// Flag sets: any combination of `names[1..]`, or `names[0]` alone for none.
fn flags_canonical(names: &[&str], args: &[String]) -> Result<String, String> {
    let err = || {
        format!(
            "argument(s) must be one of the following: {}",
            names.join(", ")
        )
    };
    if args.is_empty() {
        return Err(err());
    }
    let mut set = vec![false; names.len()];
    for a in args {
        let i = names
            .iter()
            .position(|n| n.eq_ignore_ascii_case(a))
            .ok_or_else(err)?;
        set[i] = true;
    }
    let chosen: Vec<&str> = names
        .iter()
        .zip(&set)
        .skip(1)
        .filter(|(_, on)| **on)
        .map(|(n, _)| *n)
        .collect();
    Ok(if chosen.is_empty() {
        names.first().copied().unwrap_or("").to_string()
    } else {
        chosen.join(" ")
    })
}

fn special_canonical(kind: Special, args: &[String], current: &str) -> Result<String, String> {
    let single = || match args {
        [v] => Ok(v.as_str()),
        _ => Err("wrong number of arguments".to_string()),
    };
    match kind {
        Special::Save => SavePoints::canonical(args),
        Special::ClientOutputBufferLimit => OutputLimits::canonical(args, current),
        Special::Bind => {
            if args.len() > 16 {
                return Err("Too many bind addresses specified.".into());
            }
            // `bind ""` (or CONFIG SET bind "") listens on no TCP address, as Valkey allows.
            if args.iter().all(|a| a.is_empty()) {
                return Ok(String::new());
            }
            Ok(args.join(" "))
        }
        Special::ReplicaOf => match args {
            [h, p] if h.eq_ignore_ascii_case("no") && p.eq_ignore_ascii_case("one") => {
                Ok(String::new())
            }
            [h, p] => {
                let port = resp::request::parse_i64(p.as_bytes())
                    .filter(|v| (0..=65535).contains(v))
                    .ok_or("Invalid primary port")?;
                Ok(format!("{h} {port}"))
            }
            _ => Err("wrong number of arguments".into()),
        },
        Special::Dir => {
            let v = single()?;
            if v.is_empty() {
                return Err("dir can't be empty".into());
            }
            match std::fs::metadata(v) {
                Ok(m) if m.is_dir() => Ok(v.to_string()),
                Ok(_) => Err("Not a directory".into()),
                Err(e) => Err(os_error_text(&e)),
            }
        }
        Special::Dbfilename => {
            let v = single()?;
            if v.contains('/') {
                return Err("dbfilename can't be a path, just a filename".into());
            }
            Ok(v.to_string())
        }
        Special::Percentiles => Percentiles::canonical(args),
        Special::NotifyKeyspaceEvents => {
            let flags = commands::notify::parse_flags(single()?)
                .ok_or("Invalid event class character. Use 'Ag$lshzxeKEtmdn'.")?;
            Ok(commands::notify::flags_to_string(flags))
        }
        Special::OomScoreAdjValues => OomScoreAdjValues::canonical(args),
    }
}

/// The C library's text for an OS error (`strerror`), as Redis prints it.
pub fn os_error_text(e: &std::io::Error) -> String {
    let text = e.to_string();
    match text.find(" (os error") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

/// A parameter's typed value.
pub trait Typed: Sized {
    /// Parses validated canonical text; text that cannot be parsed gives the type's zero
    /// value (the round-trip test keeps declarations honest).
    fn from_canonical(s: &str) -> Self;
    fn to_canonical(&self) -> String;
}

impl Typed for bool {
    fn from_canonical(s: &str) -> Self {
        s == "yes"
    }
    fn to_canonical(&self) -> String {
        if *self { "yes" } else { "no" }.into()
    }
}

impl Typed for i64 {
    fn from_canonical(s: &str) -> Self {
        s.parse().unwrap_or(0)
    }
    fn to_canonical(&self) -> String {
        self.to_string()
    }
}

impl Typed for u64 {
    fn from_canonical(s: &str) -> Self {
        s.parse().unwrap_or(0)
    }
    fn to_canonical(&self) -> String {
        self.to_string()
    }
}

impl Typed for String {
    fn from_canonical(s: &str) -> Self {
        s.to_string()
    }
    fn to_canonical(&self) -> String {
        self.clone()
    }
}

/// An octal number (`unixsocketperm`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Octal(pub u32);

impl Typed for Octal {
    fn from_canonical(s: &str) -> Self {
        Octal(u32::from_str_radix(s, 8).unwrap_or(0))
    }
    fn to_canonical(&self) -> String {
        format!("{:o}", self.0)
    }
}

/// A byte count or a percentage of maxmemory (`maxmemory-clients`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemOrPercent {
    Bytes(u64),
    Percent(u64),
}

impl Typed for MemOrPercent {
    fn from_canonical(s: &str) -> Self {
        match s.strip_suffix('%') {
            Some(p) => MemOrPercent::Percent(p.parse().unwrap_or(0)),
            None => MemOrPercent::Bytes(s.parse().unwrap_or(0)),
        }
    }
    fn to_canonical(&self) -> String {
        match self {
            MemOrPercent::Bytes(b) => b.to_string(),
            MemOrPercent::Percent(p) => format!("{p}%"),
        }
    }
}

/// Declares a configuration enum: the Rust type, its names as Redis spells them, and its
/// [`Typed`] conversion.
macro_rules! config_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum $name { $($(#[$vm])* $variant),+ }

        impl $name {
            /// The names, in Redis's order (`Kind::Enum` validation and error texts).
            pub const NAMES: &'static [&'static str] = &[$($text),+];

            pub fn name(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl Typed for $name {
            fn from_canonical(s: &str) -> Self {
                $(if s == $text { return $name::$variant; })+
                [$($name::$variant),+][0]
            }
            fn to_canonical(&self) -> String {
                self.name().to_string()
            }
        }
    };
}

config_enum!(
    /// `loglevel`.
    LogLevel {
        Debug = "debug",
        Verbose = "verbose",
        Notice = "notice",
        Warning = "warning",
        Nothing = "nothing",
    }
);

config_enum!(
    /// `maxmemory-policy`.
    MaxmemoryPolicy {
        VolatileLru = "volatile-lru",
        VolatileLfu = "volatile-lfu",
        VolatileRandom = "volatile-random",
        VolatileTtl = "volatile-ttl",
        AllkeysLru = "allkeys-lru",
        AllkeysLfu = "allkeys-lfu",
        AllkeysRandom = "allkeys-random",
        Noeviction = "noeviction",
    }
);

impl MaxmemoryPolicy {
    pub fn is_lfu(self) -> bool {
        matches!(
            self,
            MaxmemoryPolicy::VolatileLfu | MaxmemoryPolicy::AllkeysLfu
        )
    }
}

config_enum!(
    /// `enable-debug-command`, `enable-protected-configs`, `enable-module-command`.
    ProtectedAction {
        No = "no",
        Yes = "yes",
        Local = "local",
    }
);

config_enum!(
    /// `repl-diskless-load`.
    DisklessLoad {
        Disabled = "disabled",
        OnEmptyDb = "on-empty-db",
        Swapdb = "swapdb",
    }
);

config_enum!(
    /// `propagation-error-behavior`.
    PropagationErrorBehavior {
        Ignore = "ignore",
        Panic = "panic",
        PanicOnReplicas = "panic-on-replicas",
    }
);

config_enum!(
    /// `appendfsync`.
    AppendFsync {
        Everysec = "everysec",
        Always = "always",
        No = "no",
    }
);

config_enum!(
    /// `sanitize-dump-payload`.
    SanitizeDumpPayload {
        No = "no",
        Yes = "yes",
        Clients = "clients",
    }
);

/// `shutdown-on-sigterm` / `shutdown-on-sigint`: a set of SHUTDOWN flags.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ShutdownFlags {
    pub save: bool,
    pub nosave: bool,
    pub now: bool,
    pub force: bool,
}

impl ShutdownFlags {
    pub const NAMES: &'static [&'static str] = &["default", "save", "nosave", "now", "force"];
}

impl Typed for ShutdownFlags {
    fn from_canonical(s: &str) -> Self {
        let has = |n: &str| s.split(' ').any(|w| w == n);
        ShutdownFlags {
            save: has("save"),
            nosave: has("nosave"),
            now: has("now"),
            force: has("force"),
        }
    }
    fn to_canonical(&self) -> String {
        let names: Vec<&str> = [
            (self.save, "save"),
            (self.nosave, "nosave"),
            (self.now, "now"),
            (self.force, "force"),
        ]
        .iter()
        .filter(|(on, _)| *on)
        .map(|(_, n)| *n)
        .collect();
        if names.is_empty() {
            "default".into()
        } else {
            names.join(" ")
        }
    }
}

/// `save`: (seconds, changes) points.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SavePoints(pub Vec<(u64, u64)>);

impl SavePoints {
    fn canonical(args: &[String]) -> Result<String, String> {
        if args.is_empty() || (args.len() == 1 && args[0].is_empty()) {
            return Ok(String::new());
        }
        if !args.len().is_multiple_of(2) {
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
}

impl Typed for SavePoints {
    fn from_canonical(s: &str) -> Self {
        let nums: Vec<u64> = s
            .split_whitespace()
            .filter_map(|w| w.parse().ok())
            .collect();
        SavePoints(nums.chunks_exact(2).map(|p| (p[0], p[1])).collect())
    }
    fn to_canonical(&self) -> String {
        self.0
            .iter()
            .map(|(s, c)| format!("{s} {c}"))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// One class of `client-output-buffer-limit`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OutputLimit {
    pub hard_bytes: u64,
    pub soft_bytes: u64,
    pub soft_secs: u64,
}

/// `client-output-buffer-limit` for the three client classes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OutputLimits {
    pub normal: OutputLimit,
    pub replica: OutputLimit,
    pub pubsub: OutputLimit,
}

impl OutputLimits {
    const NAMES: [&'static str; 3] = ["normal", "slave", "pubsub"];

    fn classes(&self) -> [OutputLimit; 3] {
        [self.normal, self.replica, self.pubsub]
    }

    /// Merges `class hard soft seconds` groups into the current value.
    fn canonical(args: &[String], current: &str) -> Result<String, String> {
        if args.is_empty() || !args.len().is_multiple_of(4) {
            return Err("Wrong number of arguments in buffer limit configuration.".into());
        }
        let mut classes = OutputLimits::from_canonical(current).classes();
        for g in args.chunks(4) {
            let idx = match g[0].to_ascii_lowercase().as_str() {
                "normal" => 0,
                "slave" | "replica" => 1,
                "pubsub" => 2,
                _ => {
                    return Err(
                        "Invalid client class specified in buffer limit configuration.".into(),
                    )
                }
            };
            let hard = parse_memory(&g[1]);
            let soft = parse_memory(&g[2]);
            let secs = resp::request::parse_i64(g[3].as_bytes()).filter(|v| *v >= 0);
            match (hard, soft, secs) {
                (Some(h), Some(s), Some(t)) => {
                    classes[idx] = OutputLimit {
                        hard_bytes: h,
                        soft_bytes: s,
                        soft_secs: t as u64,
                    }
                }
                _ => return Err(
                    "Error in hard, soft or soft_seconds setting in buffer limit configuration."
                        .into(),
                ),
            }
        }
        Ok(OutputLimits {
            normal: classes[0],
            replica: classes[1],
            pubsub: classes[2],
        }
        .to_canonical())
    }
}

impl Typed for OutputLimits {
    fn from_canonical(s: &str) -> Self {
        let parts: Vec<&str> = s.split_whitespace().collect();
        let mut out = [OutputLimit::default(); 3];
        for g in parts.chunks_exact(4) {
            let Some(i) = Self::NAMES.iter().position(|n| *n == g[0]) else {
                continue;
            };
            out[i] = OutputLimit {
                hard_bytes: g[1].parse().unwrap_or(0),
                soft_bytes: g[2].parse().unwrap_or(0),
                soft_secs: g[3].parse().unwrap_or(0),
            };
        }
        OutputLimits {
            normal: out[0],
            replica: out[1],
            pubsub: out[2],
        }
    }
    fn to_canonical(&self) -> String {
        Self::NAMES
            .iter()
            .zip(self.classes())
            .map(|(n, l)| format!("{n} {} {} {}", l.hard_bytes, l.soft_bytes, l.soft_secs))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// `bind`: addresses (a leading `-` marks an optional one).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BindAddrs(pub Vec<String>);

impl Typed for BindAddrs {
    fn from_canonical(s: &str) -> Self {
        BindAddrs(s.split_whitespace().map(str::to_string).collect())
    }
    fn to_canonical(&self) -> String {
        self.0.join(" ")
    }
}

/// `replicaof`: the primary to follow at start-up, if any.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReplicaOf(pub Option<(String, u16)>);

impl Typed for ReplicaOf {
    fn from_canonical(s: &str) -> Self {
        let mut it = s.split(' ');
        match (it.next(), it.next().and_then(|p| p.parse().ok())) {
            (Some(h), Some(p)) if !h.is_empty() => ReplicaOf(Some((h.to_string(), p))),
            _ => ReplicaOf(None),
        }
    }
    fn to_canonical(&self) -> String {
        match &self.0 {
            Some((h, p)) => format!("{h} {p}"),
            None => String::new(),
        }
    }
}

/// `latency-tracking-info-percentiles`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Percentiles(pub Vec<f64>);

impl Percentiles {
    fn canonical(args: &[String]) -> Result<String, String> {
        let list: Vec<&str> = if args.len() == 1 {
            args[0].split_whitespace().collect()
        } else {
            args.iter().map(String::as_str).collect()
        };
        let mut out = Vec::new();
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
}

impl Typed for Percentiles {
    fn from_canonical(s: &str) -> Self {
        Percentiles(
            s.split_whitespace()
                .filter_map(|w| w.parse().ok())
                .collect(),
        )
    }
    fn to_canonical(&self) -> String {
        self.0
            .iter()
            .map(|v| resp::float::fmt_fixed6_trimmed(*v))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// `notify-keyspace-events`: [`commands::notify`] class bits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NotifyFlags(pub u32);

impl Typed for NotifyFlags {
    fn from_canonical(s: &str) -> Self {
        NotifyFlags(commands::notify::parse_flags(s).unwrap_or(0))
    }
    fn to_canonical(&self) -> String {
        commands::notify::flags_to_string(self.0)
    }
}

/// `oom-score-adj-values`: for primaries, replicas and background children.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OomScoreAdjValues(pub [i64; 3]);

impl OomScoreAdjValues {
    fn canonical(args: &[String]) -> Result<String, String> {
        let list: Vec<&str> = if args.len() == 1 {
            args[0].split_whitespace().collect()
        } else {
            args.iter().map(String::as_str).collect()
        };
        if list.len() != 3 {
            return Err("wrong number of arguments".into());
        }
        let mut out = [0i64; 3];
        for (slot, a) in out.iter_mut().zip(&list) {
            *slot = resp::request::parse_i64(a.as_bytes())
                .filter(|v| (-2000..=2000).contains(v))
                .ok_or("Invalid oom-score-adj-values, elements must be between -2000 and 2000.")?;
        }
        Ok(OomScoreAdjValues(out).to_canonical())
    }
}

impl Typed for OomScoreAdjValues {
    fn from_canonical(s: &str) -> Self {
        let mut out = [0i64; 3];
        for (slot, w) in out.iter_mut().zip(s.split_whitespace()) {
            *slot = w.parse().unwrap_or(0);
        }
        OomScoreAdjValues(out)
    }
    fn to_canonical(&self) -> String {
        format!("{} {} {}", self.0[0], self.0[1], self.0[2])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn numeric_kinds_use_valkeys_texts() {
        let port = Kind::Int { min: 0, max: 65535 };
        assert_eq!(
            port.canonical(&s(&["70000"]), "").unwrap_err(),
            "argument must be between 0 and 65535 inclusive"
        );
        assert_eq!(
            port.canonical(&s(&["x"]), "").unwrap_err(),
            "argument couldn't be parsed into an integer"
        );
        let mem = Kind::Mem {
            min: 0,
            max: u64::MAX as i128,
        };
        assert_eq!(mem.canonical(&s(&["1mb"]), "").unwrap(), "1048576");
        assert_eq!(mem.canonical(&s(&["1k"]), "").unwrap(), "1000");
        assert_eq!(
            mem.canonical(&s(&["-1"]), "").unwrap_err(),
            "argument must be a memory value"
        );
        let pct = Kind::MemPercent {
            min: -100,
            max: i64::MAX as i128,
        };
        assert_eq!(pct.canonical(&s(&["10%"]), "").unwrap(), "10%");
        assert_eq!(pct.canonical(&s(&["1gb"]), "").unwrap(), "1073741824");
        assert_eq!(
            pct.canonical(&s(&["101%"]), "").unwrap_err(),
            "percentage argument must be less or equal to 100"
        );
        let oct = Kind::Octal { min: 0, max: 0o777 };
        assert_eq!(oct.canonical(&s(&["0700"]), "").unwrap(), "700");
        assert_eq!(
            oct.canonical(&s(&["1000"]), "").unwrap_err(),
            "argument must be between 0 and 777 inclusive"
        );
    }

    #[test]
    fn flag_sets_are_canonical() {
        let k = Kind::Flags(ShutdownFlags::NAMES);
        assert_eq!(k.canonical(&s(&["now", "SAVE"]), "").unwrap(), "save now");
        assert_eq!(k.canonical(&s(&["default"]), "").unwrap(), "default");
        assert!(k.canonical(&s(&["bogus"]), "").is_err());
        let f = ShutdownFlags::from_canonical("save now");
        assert!(f.save && f.now && !f.force);
        assert_eq!(f.to_canonical(), "save now");
    }

    #[test]
    fn special_values_round_trip() {
        let cur = "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60";
        let v = OutputLimits::canonical(&s(&["replica", "1mb", "0", "0"]), cur).unwrap();
        assert_eq!(
            v,
            "normal 0 0 0 slave 1048576 0 0 pubsub 33554432 8388608 60"
        );
        assert_eq!(OutputLimits::from_canonical(&v).replica.hard_bytes, 1048576);
        assert_eq!(SavePoints::canonical(&s(&[""])).unwrap(), "");
        assert_eq!(SavePoints::canonical(&[]).unwrap(), "");
        assert_eq!(
            SavePoints::from_canonical("100 1 200 2").0,
            vec![(100, 1), (200, 2)]
        );
        assert_eq!(
            ReplicaOf::from_canonical("10.0.0.1 6380").0,
            Some(("10.0.0.1".to_string(), 6380))
        );
        assert_eq!(
            special_canonical(Special::NotifyKeyspaceEvents, &s(&["KEA"]), "").unwrap(),
            "AKE"
        );
        assert_eq!(
            special_canonical(Special::NotifyKeyspaceEvents, &s(&["Kq"]), "").unwrap_err(),
            "Invalid event class character. Use 'Ag$lshzxeKEtmdn'."
        );
    }
}
