//! Script flags (`no-writes`, `allow-oom`, ...) and the EVAL shebang line that declares them
//! (`#!lua flags=no-writes,allow-stale`), with Valkey's parser and error texts.

use crate::errors;

/// The flags a script or function declares. `eval_compat` marks an EVAL script without a
/// shebang, which keeps Redis 6 behaviour (the command's own flags apply).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ScriptFlags {
    pub no_writes: bool,
    pub allow_oom: bool,
    pub allow_stale: bool,
    pub no_cluster: bool,
    pub allow_cross_slot_keys: bool,
    pub eval_compat: bool,
}

/// The flag names in Valkey's order (FUNCTION LIST prints them in this order).
pub const FLAG_NAMES: [&str; 5] = [
    "no-writes",
    "allow-oom",
    "allow-stale",
    "no-cluster",
    "allow-cross-slot-keys",
];

impl ScriptFlags {
    /// Sets the flag named `name` (exact match, as the shebang parser; pass a lowered name for
    /// `register_function`'s case-insensitive match). False for an unknown name.
    pub fn set(&mut self, name: &[u8]) -> bool {
        let slot = match name {
            b"no-writes" => &mut self.no_writes,
            b"allow-oom" => &mut self.allow_oom,
            b"allow-stale" => &mut self.allow_stale,
            b"no-cluster" => &mut self.no_cluster,
            b"allow-cross-slot-keys" => &mut self.allow_cross_slot_keys,
            _ => return false,
        };
        *slot = true;
        true
    }

    /// The declared flags' names, in Valkey's order.
    pub fn names(&self) -> Vec<&'static str> {
        let on = [
            self.no_writes,
            self.allow_oom,
            self.allow_stale,
            self.no_cluster,
            self.allow_cross_slot_keys,
        ];
        FLAG_NAMES
            .iter()
            .zip(on)
            .filter(|(_, on)| *on)
            .map(|(n, _)| *n)
            .collect()
    }
}

/// A command's flags as the dispatcher sees them, before and after a script's declared flags
/// replace them (`scriptFlagsToCmdFlags`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CommandFlags {
    pub write: bool,
    pub deny_oom: bool,
    pub stale: bool,
    pub may_replicate: bool,
}

/// EVAL/EVALSHA/FCALL and their `_RO` forms: when the script declared flags, they replace the
/// command's `write`, `denyoom`, `stale` and `may-replicate` (Valkey's
/// `evalGetCommandFlags`/`fcallGetCommandFlags`). Shebang-less EVAL keeps the command's flags.
pub fn command_flags(cmd: CommandFlags, script: ScriptFlags) -> CommandFlags {
    if script.eval_compat {
        return cmd;
    }
    CommandFlags {
        deny_oom: !(script.allow_oom || script.no_writes),
        write: !script.no_writes,
        stale: script.allow_stale,
        may_replicate: false,
    }
}

/// The result of reading an EVAL body's first line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shebang {
    pub flags: ScriptFlags,
    /// Bytes of the shebang line, without its newline (which stays in the compiled code so
    /// line numbers are kept).
    pub len: usize,
}

/// Valkey's `evalExtractShebangFlags`. Errors are complete error replies.
pub fn parse_eval_shebang(body: &[u8]) -> Result<Shebang, String> {
    if !body.starts_with(b"#!") {
        return Ok(Shebang {
            flags: ScriptFlags {
                eval_compat: true,
                ..ScriptFlags::default()
            },
            len: 0,
        });
    }
    // strchr on a C string: a NUL before the newline ends the search.
    let Some(end) = body
        .iter()
        .position(|&c| c == b'\n' || c == 0)
        .filter(|&i| body[i] == b'\n')
    else {
        return Err(errors::SHEBANG_INVALID.to_string());
    };
    let parts = match resp::request::split_args(&body[..end]) {
        Some(p) if !p.is_empty() => p,
        _ => return Err(errors::SHEBANG_INVALID_ENGINE.to_string()),
    };
    if parts[0] != b"#!lua" {
        return Err(format!(
            "{}{}",
            errors::SHEBANG_UNEXPECTED_ENGINE,
            String::from_utf8_lossy(cstr_prefix(&parts[0]))
        ));
    }
    let mut flags = ScriptFlags::default();
    for part in &parts[1..] {
        let Some(list) = part.strip_prefix(b"flags=") else {
            return Err(format!(
                "{}{}",
                errors::SHEBANG_UNKNOWN_OPTION,
                String::from_utf8_lossy(cstr_prefix(part))
            ));
        };
        for flag in split_commas(list) {
            if !flags.set(cstr_prefix(flag)) {
                return Err(format!(
                    "{}{}",
                    errors::SHEBANG_UNEXPECTED_FLAG,
                    String::from_utf8_lossy(cstr_prefix(flag))
                ));
            }
        }
    }
    Ok(Shebang { flags, len: end })
}

/// `sdssplitlen(s, ",")`: empty input gives no element; otherwise every separator splits.
fn split_commas(s: &[u8]) -> Vec<&[u8]> {
    if s.is_empty() {
        Vec::new()
    } else {
        s.split(|&c| c == b',').collect()
    }
}

/// The part of `s` a C string function would see.
fn cstr_prefix(s: &[u8]) -> &[u8] {
    &s[..s.iter().position(|&c| c == 0).unwrap_or(s.len())]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(body: &str) -> String {
        parse_eval_shebang(body.as_bytes()).unwrap_err()
    }

    #[test]
    fn shebangs() {
        let s = parse_eval_shebang(b"return 1").unwrap();
        assert!(s.flags.eval_compat);
        let s = parse_eval_shebang(b"#!lua\nreturn 1").unwrap();
        assert_eq!(s.flags, ScriptFlags::default());
        assert_eq!(s.len, 5);
        let s = parse_eval_shebang(b"#!lua flags=no-writes,allow-oom\nreturn 1").unwrap();
        assert!(s.flags.no_writes && s.flags.allow_oom && !s.flags.eval_compat);
        assert!(parse_eval_shebang(b"#!lua flags=\nreturn 1").is_ok());
        assert_eq!(err("#!lua"), "ERR Invalid script shebang");
        assert_eq!(
            err("#!luajit\n"),
            "ERR Unexpected engine in script shebang: #!luajit"
        );
        assert_eq!(
            err("#!lua flags=xx\n"),
            "ERR Unexpected flag in script shebang: xx"
        );
        assert_eq!(
            err("#!lua flags=no-writes,\n"),
            "ERR Unexpected flag in script shebang: "
        );
        assert_eq!(
            err("#!lua name=x\n"),
            "ERR Unknown lua shebang option: name=x"
        );
        assert_eq!(err("#!lua \"a\n"), "ERR Invalid engine in script shebang");
    }

    #[test]
    fn command_flags_follow_script_flags() {
        let cmd = CommandFlags {
            write: true,
            deny_oom: true,
            stale: false,
            may_replicate: true,
        };
        let compat = ScriptFlags {
            eval_compat: true,
            ..Default::default()
        };
        assert_eq!(command_flags(cmd, compat), cmd);
        let ro = ScriptFlags {
            no_writes: true,
            allow_stale: true,
            ..Default::default()
        };
        assert_eq!(
            command_flags(cmd, ro),
            CommandFlags {
                write: false,
                deny_oom: false,
                stale: true,
                may_replicate: false
            }
        );
    }
}
