//! The command table: every family's rows, looked up by name.

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::spec::CommandSpec;

/// All families, in the order COMMAND lists them.
fn families() -> Vec<&'static [CommandSpec]> {
    vec![
        crate::strings::COMMANDS,
        crate::lists::COMMANDS,
        crate::keys::COMMANDS,
        crate::hll::COMMANDS,
        crate::hashes::COMMANDS,
        crate::sets::COMMANDS,
        crate::zsets::COMMANDS,
        crate::server_rows::COMMANDS,
    ]
}

struct Table {
    by_name: HashMap<&'static str, &'static CommandSpec>,
    all: Vec<&'static CommandSpec>,
}

fn table() -> &'static Table {
    static T: OnceLock<Table> = OnceLock::new();
    T.get_or_init(|| {
        let all: Vec<&'static CommandSpec> =
            families().into_iter().flat_map(|f| f.iter()).collect();
        let by_name = all.iter().map(|c| (c.name, *c)).collect();
        Table { by_name, all }
    })
}

/// Finds a command by name, case-insensitively, without allocating for short names.
pub fn lookup(name: &[u8]) -> Option<&'static CommandSpec> {
    let mut buf = [0u8; 32];
    if name.len() > buf.len() {
        return None;
    }
    for (d, s) in buf.iter_mut().zip(name) {
        *d = s.to_ascii_lowercase();
    }
    let lower = std::str::from_utf8(&buf[..name.len()]).ok()?;
    table().by_name.get(lower).copied()
}

/// Finds a subcommand of a container command.
pub fn lookup_sub(parent: &'static CommandSpec, sub: &[u8]) -> Option<&'static CommandSpec> {
    parent
        .subcommands
        .iter()
        .find(|s| s.name.as_bytes().eq_ignore_ascii_case(sub))
}

/// Every top-level command.
pub fn all() -> &'static [&'static CommandSpec] {
    &table().all
}
