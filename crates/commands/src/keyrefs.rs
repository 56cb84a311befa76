//! The keys a command line names and what it does to each (Valkey's `getKeysFromCommandWithSpecs`
//! as ACLs and COMMAND GETKEYSANDFLAGS use it): positions from the row's [`crate::spec::Keys`]
//! (the code COMMAND GETKEYS uses), flags from its key-spec flags. A row carries the flags of
//! its first key spec; the commands whose later keys are used differently (a destination
//! after sources, sources after a destination) are listed in [`LATER_KEYS`], and SET and
//! BITFIELD, whose access depends on their arguments (`VARIABLE_FLAGS`), compute theirs as
//! Valkey's `setGetKeys` / `bitfieldGetKeys` do.

use bytes::Bytes;

use crate::spec::CommandSpec;
use crate::table;

/// One key of a command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyRef {
    /// Argument position.
    pub pos: usize,
    /// Key-spec flags (`RW`, `ACCESS`, `UPDATE`, ...) as COMMAND INFO names them.
    pub flags: &'static [&'static str],
}

const RO_ACCESS: &[&str] = &["RO", "ACCESS"];
const OW_UPDATE: &[&str] = &["OW", "UPDATE"];
const OW_INSERT: &[&str] = &["OW", "INSERT"];
const RW_INSERT: &[&str] = &["RW", "INSERT"];
const RW_ACCESS_UPDATE: &[&str] = &["RW", "ACCESS", "UPDATE"];

/// Flags of every key after the first, for the commands whose key specs differ (from Valkey
/// 8.0.1's `src/commands/*.json`).
pub const LATER_KEYS: &[(&str, &[&str])] = &[
    ("bitop", RO_ACCESS),
    ("blmove", RW_INSERT),
    ("brpoplpush", RW_INSERT),
    ("copy", OW_UPDATE),
    ("georadius", OW_UPDATE),
    ("georadiusbymember", OW_UPDATE),
    ("geosearchstore", RO_ACCESS),
    ("lmove", RW_INSERT),
    ("pfmerge", RO_ACCESS),
    ("rename", OW_UPDATE),
    ("renamenx", OW_INSERT),
    ("rpoplpush", RW_INSERT),
    ("sdiffstore", RO_ACCESS),
    ("sinterstore", RO_ACCESS),
    ("smove", RW_INSERT),
    ("sort", OW_UPDATE),
    ("sunionstore", RO_ACCESS),
    ("zdiffstore", RO_ACCESS),
    ("zinterstore", RO_ACCESS),
    ("zrangestore", RO_ACCESS),
    ("zunionstore", RO_ACCESS),
];

/// The keys of `argv` (a command line `spec` resolved) with their flags.
/// A key spec flagged `NOT_KEY` (the shard channels of SPUBLISH, SSUBSCRIBE, SUNSUBSCRIBE) names
/// no key: it is left out, as `GET_KEYSPEC_DEFAULT` leaves it out (ACLs check those arguments
/// as channels).
pub fn key_refs(spec: &'static CommandSpec, argv: &[Bytes]) -> Vec<KeyRef> {
    if spec.keys.spec_flags.contains(&"NOT_KEY") {
        return Vec::new();
    }
    let positions = spec.keys.positions(argv);
    if positions.is_empty() {
        return Vec::new();
    }
    let name = table::full_name_of(spec);
    let first_flags = match name {
        "set" => set_flags(argv),
        "bitfield" => bitfield_flags(argv),
        _ => spec.keys.spec_flags,
    };
    let later = LATER_KEYS
        .iter()
        .find(|(n, _)| *n == name)
        .map_or(first_flags, |(_, f)| *f);
    positions
        .into_iter()
        .enumerate()
        .map(|(i, pos)| KeyRef {
            pos,
            flags: if i == 0 { first_flags } else { later },
        })
        .collect()
}

/// SET reads its key only with GET (`setGetKeys`).
fn set_flags(argv: &[Bytes]) -> &'static [&'static str] {
    let get = argv.iter().skip(3).any(|a| crate::args::c_is(a, "get"));
    if get {
        RW_ACCESS_UPDATE
    } else {
        OW_UPDATE
    }
}

/// BITFIELD with only GET (and OVERFLOW) subcommands is a read (`bitfieldGetKeys`).
fn bitfield_flags(argv: &[Bytes]) -> &'static [&'static str] {
    let mut i = 2;
    while let Some(arg) = argv.get(i) {
        let remaining = argv.len() - i - 1;
        if arg.eq_ignore_ascii_case(b"get") && remaining >= 2 {
            i += 3;
        } else if arg.eq_ignore_ascii_case(b"overflow") && remaining >= 1 {
            i += 2;
        } else {
            // SET, INCRBY, or a syntax error: treated as a write.
            return RW_ACCESS_UPDATE;
        }
    }
    RO_ACCESS
}

/// The key is read (`ACCESS`): an ACL needs read permission on it.
pub fn reads(flags: &[&str]) -> bool {
    flags.contains(&"ACCESS")
}

/// The key is written (`INSERT`, `DELETE` or `UPDATE`): an ACL needs write permission on it.
pub fn writes(flags: &[&str]) -> bool {
    flags
        .iter()
        .any(|f| matches!(*f, "INSERT" | "DELETE" | "UPDATE"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refs(line: &str) -> Vec<(usize, &'static [&'static str])> {
        let argv: Vec<Bytes> = line
            .split(' ')
            .map(|a| Bytes::copy_from_slice(a.as_bytes()))
            .collect();
        let spec = crate::call::resolve(&argv).unwrap();
        key_refs(spec, &argv)
            .into_iter()
            .map(|k| (k.pos, k.flags))
            .collect()
    }

    #[test]
    fn shard_channels_are_not_keys() {
        assert_eq!(refs("spublish ch msg"), vec![]);
        assert_eq!(refs("ssubscribe a b"), vec![]);
        assert_eq!(refs("get k"), vec![(1, RO_ACCESS)]);
    }

    #[test]
    fn sources_and_destinations() {
        assert_eq!(refs("copy a b"), vec![(1, RO_ACCESS), (2, OW_UPDATE)]);
        assert_eq!(
            refs("zunionstore d 2 a b"),
            vec![(1, OW_UPDATE), (3, RO_ACCESS), (4, RO_ACCESS)]
        );
        assert_eq!(
            refs("lmove a b left right"),
            vec![(1, &["RW", "ACCESS", "DELETE"][..]), (2, RW_INSERT)]
        );
        assert_eq!(refs("sort k store d"), vec![(1, RO_ACCESS), (3, OW_UPDATE)]);
        assert_eq!(refs("get k"), vec![(1, RO_ACCESS)]);
        assert_eq!(refs("ping"), vec![]);
    }

    #[test]
    fn variable_flags() {
        assert_eq!(refs("set k v"), vec![(1, OW_UPDATE)]);
        assert_eq!(refs("set k v ex 10 get"), vec![(1, RW_ACCESS_UPDATE)]);
        assert_eq!(refs("set get k"), vec![(1, OW_UPDATE)]);
        assert_eq!(refs("bitfield k get u4 0"), vec![(1, RO_ACCESS)]);
        assert_eq!(
            refs("bitfield k get u4 0 set u4 0 1"),
            vec![(1, RW_ACCESS_UPDATE)]
        );
        assert_eq!(
            refs("bitfield k incrby u4 0 1"),
            vec![(1, RW_ACCESS_UPDATE)]
        );
        assert_eq!(refs("bitfield k get u4"), vec![(1, RW_ACCESS_UPDATE)]);
    }
}
