//! `rename-command old new` (Valkey's, start-up only): the command is known to clients by its
//! new name only, or not at all when the new name is empty. Renaming acts where clients name
//! commands — client commands and the commands scripts call — and nowhere else: a renamed
//! command runs, propagates and is written to the AOF under its original name, so replicas
//! (Redwing, Valkey or Redis, renamed or not) and AOF loading are unaffected, where Valkey
//! propagates the new name and warns that renaming breaks them. This node's primary's
//! stream and its own AOF are applied with the original names.

use std::collections::HashMap;

/// The renames in force, by lower-case name: `Some(original)` for a new name, `None` for a
/// name renamed away or removed.
#[derive(Clone, Debug, Default)]
pub struct Renames {
    by_name: HashMap<String, Option<&'static str>>,
}

/// What a client's command name means under the renames.
#[derive(Debug, PartialEq, Eq)]
pub enum Named {
    /// Not renamed: resolved as it is.
    AsIs,
    /// A new name: this original command.
    Original(&'static str),
    /// Renamed away or removed: an unknown command.
    Unknown,
}

impl Renames {
    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }

    /// The original command `name` designates now (renames so far applied), if any.
    fn effective(&self, name: &str) -> Option<&'static str> {
        match self.by_name.get(name) {
            Some(known) => *known,
            None => commands::table::lookup(name.as_bytes()).map(|spec| spec.name),
        }
    }

    /// One `rename-command` directive, with Valkey's errors.
    pub fn apply(&mut self, old: &str, new: &str) -> Result<(), String> {
        let (old, new) = (old.to_ascii_lowercase(), new.to_ascii_lowercase());
        let Some(original) = self.effective(&old) else {
            return Err("No such command in rename-command".into());
        };
        self.by_name.insert(old, None);
        if new.is_empty() {
            return Ok(());
        }
        if self.effective(&new).is_some() {
            return Err("Target command name already exists".into());
        }
        self.by_name.insert(new, Some(original));
        Ok(())
    }

    /// What the command name a client sent means.
    pub fn named(&self, name: &[u8]) -> Named {
        if self.by_name.is_empty() {
            return Named::AsIs;
        }
        let lower = String::from_utf8_lossy(name).to_ascii_lowercase();
        match self.by_name.get(&lower) {
            None => Named::AsIs,
            Some(None) => Named::Unknown,
            Some(Some(original)) => Named::Original(original),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renames_as_valkey_applies_them() {
        let mut r = Renames::default();
        r.apply("FLUSHDB", "badger").unwrap();
        assert_eq!(r.named(b"flushdb"), Named::Unknown);
        assert_eq!(r.named(b"BADGER"), Named::Original("flushdb"));
        assert_eq!(r.named(b"get"), Named::AsIs);
        r.apply("config", "").unwrap();
        assert_eq!(r.named(b"CONFIG"), Named::Unknown);
        assert_eq!(
            r.apply("nosuch", "x").unwrap_err(),
            "No such command in rename-command"
        );
        assert_eq!(
            r.apply("flushdb", "y").unwrap_err(),
            "No such command in rename-command"
        );
        assert_eq!(
            r.apply("get", "set").unwrap_err(),
            "Target command name already exists"
        );
        // A name renamed away can be taken by another command.
        let mut r = Renames::default();
        r.apply("del", "remove").unwrap();
        r.apply("unlink", "del").unwrap();
        assert_eq!(r.named(b"del"), Named::Original("unlink"));
        assert_eq!(r.named(b"remove"), Named::Original("del"));
    }
}
