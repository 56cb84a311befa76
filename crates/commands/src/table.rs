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
        crate::bitops::COMMANDS,
        crate::geo::COMMANDS,
        crate::streams::COMMANDS,
        crate::server_rows::COMMANDS,
    ]
}

type FastMap<K, V> = HashMap<K, V, foldhash::fast::FixedState>;

struct Table {
    by_name: FastMap<&'static str, &'static CommandSpec>,
    all: Vec<&'static CommandSpec>,
    /// Row address → dense id (commands and subcommands), for per-command statistics.
    ids: FastMap<usize, usize>,
    /// Full names by id (`get`, `config|get`).
    full_names: Vec<&'static str>,
}

fn table() -> &'static Table {
    static T: OnceLock<Table> = OnceLock::new();
    T.get_or_init(|| {
        let all: Vec<&'static CommandSpec> =
            families().into_iter().flat_map(|f| f.iter()).collect();
        let by_name = all.iter().map(|c| (c.name, *c)).collect();
        let mut ids = FastMap::default();
        let mut full_names = Vec::new();
        for c in &all {
            ids.insert(*c as *const CommandSpec as usize, full_names.len());
            full_names.push(c.name);
            for sub in c.subcommands {
                ids.insert(sub as *const CommandSpec as usize, full_names.len());
                let full: &'static str =
                    Box::leak(format!("{}|{}", c.name, sub.name).into_boxed_str());
                full_names.push(full);
            }
        }
        Table {
            by_name,
            all,
            ids,
            full_names,
        }
    })
}

/// Dense id of a row (command or subcommand), `0..count()`.
pub fn id_of(spec: &'static CommandSpec) -> usize {
    table()
        .ids
        .get(&(spec as *const CommandSpec as usize))
        .copied()
        .unwrap_or(0)
}

/// Full name of a row (`config|get` for subcommands).
pub fn full_name_of(spec: &'static CommandSpec) -> &'static str {
    table().full_names[id_of(spec)]
}

/// Full name of an id.
pub fn full_name_by_id(id: usize) -> &'static str {
    table().full_names.get(id).copied().unwrap_or("")
}

/// Number of rows, subcommands included.
pub fn count() -> usize {
    table().full_names.len()
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
