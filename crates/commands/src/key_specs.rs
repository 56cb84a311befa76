//! Key specs as COMMAND INFO describes them (Valkey 8.0.1's `key_specs` of
//! `src/commands/*.json`), for the commands whose keys one range cannot describe: several
//! specs (a destination and its sources, a source and its destination), a key count
//! (`keynum`), a keyword (`STREAMS`, `STORE`, `KEYS`) or keys found in the data (`unknown`).
//! Every other command's single spec is derived from its row's [`crate::spec::Keys`]. Where
//! the keys are found is still the row's business (`Keys::positions`, the code COMMAND
//! GETKEYS and ACLs use); this table only describes them.

/// One key spec.
#[derive(Clone, Copy, Debug)]
pub struct KeySpec {
    pub notes: Option<&'static str>,
    /// Flags as the JSON names them (`RW`, `ACCESS`, ...).
    pub flags: &'static [&'static str],
    pub begin: Begin,
    pub find: Find,
}

/// Where the search for the keys starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Begin {
    /// At this argument.
    Index(i32),
    /// After this keyword, searched from `startfrom` (negative: from the end, backwards).
    Keyword {
        keyword: &'static str,
        startfrom: i32,
    },
    /// Not describable (SORT's BY/GET patterns).
    Unknown,
}

/// How the keys continue from where the search began.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Find {
    /// Up to `lastkey` (relative; negative from the end), every `step`; `limit` > 1 divides
    /// the remaining arguments (XREAD's keys are the first half).
    Range {
        lastkey: i32,
        step: i32,
        limit: i32,
    },
    /// A key count at `index` (relative), the first key at `first`, every `step`.
    Keynum {
        index: i32,
        first: i32,
        step: i32,
    },
    Unknown,
}

/// The described specs of `full_name` (`name` or `container|sub`), when in the table.
pub fn described(full_name: &str) -> Option<&'static [KeySpec]> {
    DESCRIBED
        .iter()
        .find(|(n, _)| *n == full_name)
        .map(|(_, s)| *s)
}

/// The legacy (firstkey, lastkey, step) triple and whether the command has movable keys,
/// from its specs as Valkey computes them: the index/range specs of step 1 that follow one
/// another make the range; any other spec, or an incomplete one, makes the keys movable.
pub fn legacy(specs: &[KeySpec]) -> ((i64, i64, i64), bool) {
    if let [only] = specs {
        if let (Begin::Index(pos), Find::Range { lastkey, step, .. }) = (only.begin, only.find) {
            let last = if lastkey >= 0 { pos + lastkey } else { lastkey };
            let movable = only.flags.contains(&"INCOMPLETE");
            return ((pos as i64, last as i64, step as i64), movable);
        }
    }
    let mut movable = false;
    let (mut first, mut last) = (i32::MAX, 0i32);
    let mut prev_last = 0i32;
    for s in specs {
        let (Begin::Index(pos), Find::Range { lastkey, step, .. }) = (s.begin, s.find) else {
            movable = true;
            continue;
        };
        if step != 1 || (prev_last != 0 && prev_last != pos - 1) {
            movable = true;
            continue;
        }
        movable |= s.flags.contains(&"INCOMPLETE");
        first = first.min(pos);
        let abs = if lastkey >= 0 { lastkey + pos } else { lastkey };
        // Compared unsigned, as Valkey does: a negative (from the end) last key is the largest.
        if (abs as u32) > (last as u32) {
            last = abs;
        }
        prev_last = last;
    }
    if first == i32::MAX {
        return ((0, 0, 0), true);
    }
    ((first as i64, last as i64, 1), movable)
}

static DESCRIBED: &[(&str, &[KeySpec])] = &[
    ("bitop", &[
        KeySpec { notes: None, flags: &["OW", "UPDATE"], begin: Begin::Index(2), find: Find::Range { lastkey: 0, step: 1, limit: 0 } },
        KeySpec { notes: None, flags: &["RO", "ACCESS"], begin: Begin::Index(3), find: Find::Range { lastkey: -1, step: 1, limit: 0 } },
    ]),
    ("blmove", &[
        KeySpec { notes: None, flags: &["RW", "ACCESS", "DELETE"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } },
        KeySpec { notes: None, flags: &["RW", "INSERT"], begin: Begin::Index(2), find: Find::Range { lastkey: 0, step: 1, limit: 0 } },
    ]),
    ("blmpop", &[
        KeySpec { notes: None, flags: &["RW", "ACCESS", "DELETE"], begin: Begin::Index(2), find: Find::Keynum { index: 0, first: 1, step: 1 } },
    ]),
    ("brpoplpush", &[
        KeySpec { notes: None, flags: &["RW", "ACCESS", "DELETE"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } },
        KeySpec { notes: None, flags: &["RW", "INSERT"], begin: Begin::Index(2), find: Find::Range { lastkey: 0, step: 1, limit: 0 } },
    ]),
    ("bzmpop", &[
        KeySpec { notes: None, flags: &["RW", "ACCESS", "DELETE"], begin: Begin::Index(2), find: Find::Keynum { index: 0, first: 1, step: 1 } },
    ]),
    ("copy", &[
        KeySpec { notes: None, flags: &["RO", "ACCESS"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } },
        KeySpec { notes: None, flags: &["OW", "UPDATE"], begin: Begin::Index(2), find: Find::Range { lastkey: 0, step: 1, limit: 0 } },
    ]),
    ("eval", &[
        KeySpec { notes: Some("We cannot tell how the keys will be used so we assume the worst, RW and UPDATE"), flags: &["RW", "ACCESS", "UPDATE"], begin: Begin::Index(2), find: Find::Keynum { index: 0, first: 1, step: 1 } },
    ]),
    ("eval_ro", &[
        KeySpec { notes: Some("We cannot tell how the keys will be used so we assume the worst, RO and ACCESS"), flags: &["RO", "ACCESS"], begin: Begin::Index(2), find: Find::Keynum { index: 0, first: 1, step: 1 } },
    ]),
    ("evalsha", &[
        KeySpec { notes: None, flags: &["RW", "ACCESS", "UPDATE"], begin: Begin::Index(2), find: Find::Keynum { index: 0, first: 1, step: 1 } },
    ]),
    ("evalsha_ro", &[
        KeySpec { notes: None, flags: &["RO", "ACCESS"], begin: Begin::Index(2), find: Find::Keynum { index: 0, first: 1, step: 1 } },
    ]),
    ("fcall", &[
        KeySpec { notes: Some("We cannot tell how the keys will be used so we assume the worst, RW and UPDATE"), flags: &["RW", "ACCESS", "UPDATE"], begin: Begin::Index(2), find: Find::Keynum { index: 0, first: 1, step: 1 } },
    ]),
    ("fcall_ro", &[
        KeySpec { notes: Some("We cannot tell how the keys will be used so we assume the worst, RO and ACCESS"), flags: &["RO", "ACCESS"], begin: Begin::Index(2), find: Find::Keynum { index: 0, first: 1, step: 1 } },
    ]),
    ("georadius", &[
        KeySpec { notes: None, flags: &["RO", "ACCESS"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } },
        KeySpec { notes: None, flags: &["OW", "UPDATE"], begin: Begin::Keyword { keyword: "STORE", startfrom: 6 }, find: Find::Range { lastkey: 0, step: 1, limit: 0 } },
        KeySpec { notes: None, flags: &["OW", "UPDATE"], begin: Begin::Keyword { keyword: "STOREDIST", startfrom: 6 }, find: Find::Range { lastkey: 0, step: 1, limit: 0 } },
    ]),
    ("georadiusbymember", &[
        KeySpec { notes: None, flags: &["RO", "ACCESS"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } },
        KeySpec { notes: None, flags: &["OW", "UPDATE"], begin: Begin::Keyword { keyword: "STORE", startfrom: 5 }, find: Find::Range { lastkey: 0, step: 1, limit: 0 } },
        KeySpec { notes: None, flags: &["OW", "UPDATE"], begin: Begin::Keyword { keyword: "STOREDIST", startfrom: 5 }, find: Find::Range { lastkey: 0, step: 1, limit: 0 } },
    ]),
    ("geosearchstore", &[
        KeySpec { notes: None, flags: &["OW", "UPDATE"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } },
        KeySpec { notes: None, flags: &["RO", "ACCESS"], begin: Begin::Index(2), find: Find::Range { lastkey: 0, step: 1, limit: 0 } },
    ]),
    ("lmove", &[
        KeySpec { notes: None, flags: &["RW", "ACCESS", "DELETE"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } },
        KeySpec { notes: None, flags: &["RW", "INSERT"], begin: Begin::Index(2), find: Find::Range { lastkey: 0, step: 1, limit: 0 } },
    ]),
    ("lmpop", &[
        KeySpec { notes: None, flags: &["RW", "ACCESS", "DELETE"], begin: Begin::Index(1), find: Find::Keynum { index: 0, first: 1, step: 1 } },
    ]),
    ("migrate", &[
        KeySpec { notes: None, flags: &["RW", "ACCESS", "DELETE"], begin: Begin::Index(3), find: Find::Range { lastkey: 0, step: 1, limit: 0 } },
        KeySpec { notes: None, flags: &["RW", "ACCESS", "DELETE", "INCOMPLETE"], begin: Begin::Keyword { keyword: "KEYS", startfrom: -2 }, find: Find::Range { lastkey: -1, step: 1, limit: 0 } },
    ]),
    ("pfmerge", &[
        KeySpec { notes: None, flags: &["RW", "ACCESS", "INSERT"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } },
        KeySpec { notes: None, flags: &["RO", "ACCESS"], begin: Begin::Index(2), find: Find::Range { lastkey: -1, step: 1, limit: 0 } },
    ]),
    ("rename", &[
        KeySpec { notes: None, flags: &["RW", "ACCESS", "DELETE"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } },
        KeySpec { notes: None, flags: &["OW", "UPDATE"], begin: Begin::Index(2), find: Find::Range { lastkey: 0, step: 1, limit: 0 } },
    ]),
    ("renamenx", &[
        KeySpec { notes: None, flags: &["RW", "ACCESS", "DELETE"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } },
        KeySpec { notes: None, flags: &["OW", "INSERT"], begin: Begin::Index(2), find: Find::Range { lastkey: 0, step: 1, limit: 0 } },
    ]),
    ("rpoplpush", &[
        KeySpec { notes: None, flags: &["RW", "ACCESS", "DELETE"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } },
        KeySpec { notes: None, flags: &["RW", "INSERT"], begin: Begin::Index(2), find: Find::Range { lastkey: 0, step: 1, limit: 0 } },
    ]),
    ("sdiffstore", &[
        KeySpec { notes: None, flags: &["OW", "UPDATE"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } },
        KeySpec { notes: None, flags: &["RO", "ACCESS"], begin: Begin::Index(2), find: Find::Range { lastkey: -1, step: 1, limit: 0 } },
    ]),
    ("sintercard", &[
        KeySpec { notes: None, flags: &["RO", "ACCESS"], begin: Begin::Index(1), find: Find::Keynum { index: 0, first: 1, step: 1 } },
    ]),
    ("sinterstore", &[
        KeySpec { notes: None, flags: &["OW", "UPDATE"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } },
        KeySpec { notes: None, flags: &["RO", "ACCESS"], begin: Begin::Index(2), find: Find::Range { lastkey: -1, step: 1, limit: 0 } },
    ]),
    ("smove", &[
        KeySpec { notes: None, flags: &["RW", "ACCESS", "DELETE"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } },
        KeySpec { notes: None, flags: &["RW", "INSERT"], begin: Begin::Index(2), find: Find::Range { lastkey: 0, step: 1, limit: 0 } },
    ]),
    ("sort", &[
        KeySpec { notes: None, flags: &["RO", "ACCESS"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } },
        KeySpec { notes: Some("For the optional BY/GET keyword. It is marked 'unknown' because the key names derive from the content of the key we sort"), flags: &["RO", "ACCESS"], begin: Begin::Unknown, find: Find::Unknown },
        KeySpec { notes: Some("For the optional STORE keyword. It is marked 'unknown' because the keyword can appear anywhere in the argument array"), flags: &["OW", "UPDATE"], begin: Begin::Unknown, find: Find::Unknown },
    ]),
    ("sort_ro", &[
        KeySpec { notes: None, flags: &["RO", "ACCESS"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } },
        KeySpec { notes: Some("For the optional BY/GET keyword. It is marked 'unknown' because the key names derive from the content of the key we sort"), flags: &["RO", "ACCESS"], begin: Begin::Unknown, find: Find::Unknown },
    ]),
    ("sunionstore", &[
        KeySpec { notes: None, flags: &["OW", "UPDATE"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } },
        KeySpec { notes: None, flags: &["RO", "ACCESS"], begin: Begin::Index(2), find: Find::Range { lastkey: -1, step: 1, limit: 0 } },
    ]),
    ("xread", &[
        KeySpec { notes: None, flags: &["RO", "ACCESS"], begin: Begin::Keyword { keyword: "STREAMS", startfrom: 1 }, find: Find::Range { lastkey: -1, step: 1, limit: 2 } },
    ]),
    ("xreadgroup", &[
        KeySpec { notes: None, flags: &["RO", "ACCESS"], begin: Begin::Keyword { keyword: "STREAMS", startfrom: 4 }, find: Find::Range { lastkey: -1, step: 1, limit: 2 } },
    ]),
    ("zdiff", &[
        KeySpec { notes: None, flags: &["RO", "ACCESS"], begin: Begin::Index(1), find: Find::Keynum { index: 0, first: 1, step: 1 } },
    ]),
    ("zdiffstore", &[
        KeySpec { notes: None, flags: &["OW", "UPDATE"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } },
        KeySpec { notes: None, flags: &["RO", "ACCESS"], begin: Begin::Index(2), find: Find::Keynum { index: 0, first: 1, step: 1 } },
    ]),
    ("zinter", &[
        KeySpec { notes: None, flags: &["RO", "ACCESS"], begin: Begin::Index(1), find: Find::Keynum { index: 0, first: 1, step: 1 } },
    ]),
    ("zintercard", &[
        KeySpec { notes: None, flags: &["RO", "ACCESS"], begin: Begin::Index(1), find: Find::Keynum { index: 0, first: 1, step: 1 } },
    ]),
    ("zinterstore", &[
        KeySpec { notes: None, flags: &["OW", "UPDATE"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } },
        KeySpec { notes: None, flags: &["RO", "ACCESS"], begin: Begin::Index(2), find: Find::Keynum { index: 0, first: 1, step: 1 } },
    ]),
    ("zmpop", &[
        KeySpec { notes: None, flags: &["RW", "ACCESS", "DELETE"], begin: Begin::Index(1), find: Find::Keynum { index: 0, first: 1, step: 1 } },
    ]),
    ("zrangestore", &[
        KeySpec { notes: None, flags: &["OW", "UPDATE"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } },
        KeySpec { notes: None, flags: &["RO", "ACCESS"], begin: Begin::Index(2), find: Find::Range { lastkey: 0, step: 1, limit: 0 } },
    ]),
    ("zunion", &[
        KeySpec { notes: None, flags: &["RO", "ACCESS"], begin: Begin::Index(1), find: Find::Keynum { index: 0, first: 1, step: 1 } },
    ]),
    ("zunionstore", &[
        KeySpec { notes: None, flags: &["OW", "UPDATE"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } },
        KeySpec { notes: None, flags: &["RO", "ACCESS"], begin: Begin::Index(2), find: Find::Keynum { index: 0, first: 1, step: 1 } },
    ]),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_triples_as_valkey_reports_them() {
        let triple = |n: &str| legacy(described(n).unwrap());
        assert_eq!(triple("smove"), ((1, 2, 1), false));
        assert_eq!(triple("sinterstore"), ((1, -1, 1), false));
        assert_eq!(triple("zunionstore"), ((1, 1, 1), true));
        assert_eq!(triple("migrate"), ((3, 3, 1), true));
        assert_eq!(triple("xread"), ((0, 0, 0), true));
        assert_eq!(triple("sort"), ((1, 1, 1), true));
        assert_eq!(triple("georadius"), ((1, 1, 1), true));
    }
}
