//! One ACL selector: which commands (a bitmap over the command table's ids, plus allowed
//! first arguments), which keys (`~pattern` for read and write, `%R~` / `%W~` for one of
//! them) and which pub/sub channels (`&pattern`) it allows. A user has a root selector and
//! any number of `(...)` selectors; a command is allowed if one selector allows all of it.
//!
//! The selector also keeps its command rules as text, in the order they were given with the
//! rules they made useless removed (Valkey's `command_rules`), which is what ACL LIST and
//! ACL GETUSER print after `+@all` or `-@all`.

use commands::spec::{acl as cat, CommandSpec};
use commands::table;

use crate::{cstr, has_spaces, is, RuleError};

/// Read permission on a key pattern (`%R~`).
pub const PERM_READ: u8 = 1;
/// Write permission on a key pattern (`%W~`).
pub const PERM_WRITE: u8 = 2;
/// Both (`~`).
pub const PERM_ALL: u8 = PERM_READ | PERM_WRITE;

/// A key pattern and what it allows on matching keys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyPattern {
    pub pattern: Vec<u8>,
    pub perm: u8,
}

impl KeyPattern {
    /// `~pat`, `%R~pat` or `%W~pat` (`sdsCatPatternString`).
    pub fn describe(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(match self.perm {
            PERM_READ => b"%R~",
            PERM_WRITE => b"%W~",
            _ => b"~",
        });
        out.extend_from_slice(&self.pattern);
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Selector {
    /// The user's root selector (rules outside parentheses).
    pub root: bool,
    /// `allkeys` / `~*`: any key, read and write.
    pub all_keys: bool,
    /// `allchannels` / `&*`.
    pub all_channels: bool,
    /// `allcommands` / `+@all`, and no command removed since.
    pub all_commands: bool,
    /// The reserved bit `+@all` sets and `-@all` clears: the rules start from `+@all`.
    future: bool,
    /// Allowed command ids (`commands::table::id_of`).
    allowed: Vec<u64>,
    /// Allowed first arguments of otherwise denied commands (`+select|0`), by command id.
    first_args: Vec<(usize, Vec<Vec<u8>>)>,
    pub keys: Vec<KeyPattern>,
    pub channels: Vec<Vec<u8>>,
    /// The command rules as given, compacted (`+get -@hash +client|id`), lower case.
    rules: Vec<u8>,
}

fn words() -> usize {
    table::count().div_ceil(64)
}

/// Finds a command by full name (`get`, `config|get`) as `ACLLookupCommand` does: at most one
/// `|`, and a subcommand only of a container.
pub fn lookup_full(name: &[u8]) -> Option<&'static CommandSpec> {
    let name = cstr(name);
    let parts: Vec<&[u8]> = name.split(|&b| b == b'|').collect();
    match parts.as_slice() {
        [one] => table::lookup(one),
        [parent, sub] => {
            let base = table::lookup(parent)?;
            if base.subcommands.is_empty() {
                None
            } else {
                table::lookup_sub(base, sub)
            }
        }
        _ => None,
    }
}

/// True for a subcommand row (`config|get`).
pub fn is_subcommand(spec: &'static CommandSpec) -> bool {
    table::full_name_of(spec).contains('|')
}

/// A category's bit by name, case-insensitively (`ACLGetCommandCategoryFlagByName`).
pub fn category(name: &[u8]) -> Option<u64> {
    let name = cstr(name);
    cat::NAMES
        .iter()
        .find(|(_, n)| n.as_bytes().eq_ignore_ascii_case(name))
        .map(|(b, _)| *b)
}

impl Selector {
    /// An empty selector: no commands, no keys; channels as `acl-pubsub-default` says.
    pub fn new(root: bool, pubsub_all: bool) -> Selector {
        Selector {
            root,
            all_keys: false,
            all_channels: pubsub_all,
            all_commands: false,
            future: false,
            allowed: vec![0; words()],
            first_args: Vec::new(),
            keys: Vec::new(),
            channels: Vec::new(),
            rules: Vec::new(),
        }
    }

    /// True if the command bit is set (not looking at `all_commands`).
    pub fn allows_id(&self, id: usize) -> bool {
        self.allowed
            .get(id / 64)
            .is_some_and(|w| w & (1u64 << (id % 64)) != 0)
    }

    fn set_bit(&mut self, id: usize, on: bool) {
        if let Some(w) = self.allowed.get_mut(id / 64) {
            if on {
                *w |= 1u64 << (id % 64);
            } else {
                *w &= !(1u64 << (id % 64));
            }
        }
        if !on {
            self.all_commands = false;
        }
    }

    /// The first arguments allowed for a denied command (`+select|0`).
    pub fn first_args_of(&self, id: usize) -> Option<&[Vec<u8>]> {
        self.first_args
            .iter()
            .find(|(i, _)| *i == id)
            .map(|(_, v)| v.as_slice())
    }

    fn reset_first_args_of(&mut self, id: usize) {
        self.first_args.retain(|(i, _)| *i != id);
    }

    fn add_first_arg(&mut self, id: usize, arg: &[u8]) {
        let arg = cstr(arg);
        match self.first_args.iter_mut().find(|(i, _)| *i == id) {
            Some((_, v)) => {
                if !v.iter().any(|a| a.eq_ignore_ascii_case(arg)) {
                    v.push(arg.to_vec());
                }
            }
            None => self.first_args.push((id, vec![arg.to_vec()])),
        }
    }

    /// Allows or denies a command; a container's subcommands follow it
    /// (`ACLChangeSelectorPerm`).
    fn change_perm(&mut self, spec: &'static CommandSpec, allow: bool) {
        let id = table::id_of(spec);
        self.set_bit(id, allow);
        self.reset_first_args_of(id);
        for sub in spec.subcommands {
            self.set_bit(table::id_of(sub), allow);
        }
    }

    /// Every command and subcommand in a category (`ACLSetSelectorCommandBitsForCategory`).
    fn change_category(&mut self, bit: u64, allow: bool) {
        for spec in table::all() {
            if spec.acl_categories() & bit != 0 {
                self.change_perm(spec, allow);
            }
            for sub in spec.subcommands {
                if sub.acl_categories() & bit != 0 {
                    self.change_perm(sub, allow);
                }
            }
        }
    }

    /// Records a command rule, dropping earlier rules it overrides (`ACLUpdateCommandRules`).
    fn update_rules(&mut self, rule: &[u8], allow: bool) {
        let new: Vec<u8> = cstr(rule).to_ascii_lowercase();
        let kept: Vec<&[u8]> = self
            .rules
            .split(|&b| b == b' ')
            .filter(|r| !r.is_empty())
            .filter(|r| {
                let body = r.get(1..).unwrap_or_default();
                let same = body == new.as_slice();
                let sub_of_it = body.len() > new.len()
                    && body.starts_with(&new)
                    && body.get(new.len()) == Some(&b'|');
                !(same || sub_of_it)
            })
            .collect();
        let mut rules = kept.join(&b' ');
        if !rules.is_empty() {
            rules.push(b' ');
        }
        rules.push(if allow { b'+' } else { b'-' });
        rules.extend_from_slice(&new);
        self.rules = rules;
    }

    fn all(&mut self, on: bool) {
        self.allowed
            .iter_mut()
            .for_each(|w| *w = if on { !0 } else { 0 });
        self.future = on;
        self.all_commands = on;
        self.rules.clear();
        self.first_args.clear();
    }

    /// Applies one selector rule (`ACLSetSelector`).
    pub fn apply(&mut self, op: &[u8]) -> Result<(), RuleError> {
        let first = op.first().copied().unwrap_or(0);
        let second = op.get(1).copied().unwrap_or(0);
        if is(op, "allkeys") || is(op, "~*") {
            self.all_keys = true;
            self.keys.clear();
        } else if is(op, "resetkeys") {
            self.all_keys = false;
            self.keys.clear();
        } else if is(op, "allchannels") || is(op, "&*") {
            self.all_channels = true;
            self.channels.clear();
        } else if is(op, "resetchannels") {
            self.all_channels = false;
            self.channels.clear();
        } else if is(op, "allcommands") || is(op, "+@all") {
            self.all(true);
        } else if is(op, "nocommands") || is(op, "-@all") {
            self.all(false);
        } else if first == b'~' || first == b'%' {
            self.add_key_pattern(op)?;
        } else if first == b'&' {
            if self.all_channels {
                return Err(RuleError::ChannelsAfterAll);
            }
            let pat = op.get(1..).unwrap_or_default();
            if has_spaces(pat) {
                return Err(RuleError::Syntax);
            }
            if !self.channels.iter().any(|c| c == pat) {
                self.channels.push(pat.to_vec());
            }
        } else if first == b'+' && second != b'@' {
            self.allow_command(op.get(1..).unwrap_or_default())?;
        } else if first == b'-' && second != b'@' {
            let spec = lookup_full(op.get(1..).unwrap_or_default()).ok_or(RuleError::Unknown)?;
            self.change_perm(spec, false);
            self.update_rules(table::full_name_of(spec).as_bytes(), false);
        } else if (first == b'+' || first == b'-') && second == b'@' {
            let bit = category(op.get(2..).unwrap_or_default()).ok_or(RuleError::Unknown)?;
            let allow = first == b'+';
            self.update_rules(op.get(1..).unwrap_or_default(), allow);
            self.change_category(bit, allow);
        } else {
            return Err(RuleError::Syntax);
        }
        Ok(())
    }

    fn add_key_pattern(&mut self, op: &[u8]) -> Result<(), RuleError> {
        if self.all_keys {
            return Err(RuleError::KeysAfterAll);
        }
        let mut perm = 0u8;
        let mut offset = 1;
        if op.first() == Some(&b'%') {
            while let Some(&c) = op.get(offset) {
                if c.eq_ignore_ascii_case(&b'r') && perm & PERM_READ == 0 {
                    perm |= PERM_READ;
                } else if c.eq_ignore_ascii_case(&b'w') && perm & PERM_WRITE == 0 {
                    perm |= PERM_WRITE;
                } else if c == b'~' && perm != 0 {
                    offset += 1;
                    break;
                } else {
                    return Err(RuleError::Syntax);
                }
                offset += 1;
            }
            // `%` alone would store a pattern without permissions, which Valkey cannot
            // print (it panics); refused as a syntax error instead.
            if perm == 0 {
                return Err(RuleError::Syntax);
            }
        } else {
            perm = PERM_ALL;
        }
        let pat = op.get(offset..).unwrap_or_default();
        if has_spaces(pat) {
            return Err(RuleError::Syntax);
        }
        match self.keys.iter_mut().find(|k| k.pattern == pat) {
            Some(k) => k.perm |= perm,
            None => self.keys.push(KeyPattern {
                pattern: pat.to_vec(),
                perm,
            }),
        }
        self.all_keys = false;
        Ok(())
    }

    /// `+cmd`, `+cmd|sub`, `+cmd|firstarg`.
    fn allow_command(&mut self, name: &[u8]) -> Result<(), RuleError> {
        let name = cstr(name);
        let Some(bar) = name.iter().rposition(|&b| b == b'|') else {
            let spec = lookup_full(name).ok_or(RuleError::Unknown)?;
            self.change_perm(spec, true);
            self.update_rules(table::full_name_of(spec).as_bytes(), true);
            return Ok(());
        };
        let (base, sub) = (
            name.get(..bar).unwrap_or_default(),
            name.get(bar + 1..).unwrap_or_default(),
        );
        let spec = lookup_full(base).ok_or(RuleError::Unknown)?;
        if is_subcommand(spec) {
            return Err(RuleError::FirstArgOfSubcommand);
        }
        if sub.is_empty() {
            return Err(RuleError::Syntax);
        }
        if spec.subcommands.is_empty() {
            // A first argument of an ordinary command (`+select|0`): Valkey logs this use
            // as deprecated but keeps it.
            self.add_first_arg(table::id_of(spec), sub);
        } else {
            let sub_spec = lookup_full(name).ok_or(RuleError::Unknown)?;
            self.change_perm(sub_spec, true);
        }
        self.update_rules(name, true);
        Ok(())
    }

    /// The command rules as printed (`ACLDescribeSelectorCommandRules`): `+@all` or `-@all`,
    /// then the retained rules.
    pub fn describe_commands(&self) -> Vec<u8> {
        let mut out: Vec<u8> = if self.future {
            b"+@all".to_vec()
        } else {
            b"-@all".to_vec()
        };
        if !self.rules.is_empty() {
            out.push(b' ');
            out.extend_from_slice(&self.rules);
        }
        out
    }

    /// ACL GETUSER's `keys`: `~*`, or the patterns separated by spaces.
    pub fn describe_keys(&self) -> Vec<u8> {
        if self.all_keys {
            return b"~*".to_vec();
        }
        let mut out = Vec::new();
        for (i, k) in self.keys.iter().enumerate() {
            if i > 0 {
                out.push(b' ');
            }
            k.describe(&mut out);
        }
        out
    }

    /// ACL GETUSER's `channels`: `&*`, or `&pattern`s separated by spaces.
    pub fn describe_channels(&self) -> Vec<u8> {
        if self.all_channels {
            return b"&*".to_vec();
        }
        let mut out = Vec::new();
        for (i, c) in self.channels.iter().enumerate() {
            if i > 0 {
                out.push(b' ');
            }
            out.push(b'&');
            out.extend_from_slice(c);
        }
        out
    }

    /// The selector as ACL LIST prints it (`ACLDescribeSelector`).
    pub fn describe(&self) -> Vec<u8> {
        let mut out = Vec::new();
        if self.all_keys {
            out.extend_from_slice(b"~* ");
        } else {
            for k in &self.keys {
                k.describe(&mut out);
                out.push(b' ');
            }
        }
        if self.all_channels {
            out.extend_from_slice(b"&* ");
        } else {
            out.extend_from_slice(b"resetchannels ");
            for c in &self.channels {
                out.push(b'&');
                out.extend_from_slice(c);
                out.push(b' ');
            }
        }
        out.extend_from_slice(&self.describe_commands());
        out
    }

    /// True if the command bitmaps of two selectors are the same (used by tests to check
    /// that the printed rules rebuild the same permissions).
    pub fn same_commands(&self, other: &Selector) -> bool {
        self.allowed == other.allowed && self.future == other.future
    }

    /// A selector from `(rules ...)` (`aclCreateSelectorFromOpSet`): the text between the
    /// parentheses split as the configuration splits lines.
    pub fn from_opset(op: &[u8], pubsub_all: bool) -> Result<Selector, RuleError> {
        let inner = op.get(1..op.len().saturating_sub(1)).unwrap_or_default();
        let mut s = Selector::new(false, pubsub_all);
        // Unbalanced quotes leave the selector empty, as in Valkey.
        for arg in resp::request::split_args(inner).unwrap_or_default() {
            s.apply(&arg)?;
        }
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sel(rules: &[&str]) -> Selector {
        let mut s = Selector::new(true, false);
        for r in rules {
            s.apply(r.as_bytes()).unwrap();
        }
        s
    }

    fn cmds(rules: &[&str]) -> String {
        String::from_utf8(sel(rules).describe_commands()).unwrap()
    }

    /// Rebuilding from the printed rules gives the same bitmap (Valkey's sanity check).
    fn roundtrip(s: &Selector) {
        let text = String::from_utf8(s.describe_commands()).unwrap();
        let again = sel(&text.split(' ').collect::<Vec<_>>());
        assert!(again.same_commands(s), "{text}");
    }

    #[test]
    fn command_rules_compact_as_valkey() {
        assert_eq!(
            cmds(&["+@all", "-@hash", "-@slow", "+hget"]),
            "+@all -@hash -@slow +hget"
        );
        assert_eq!(
            cmds(&["+@all", "-@hash", "-@slow", "+hget", "-@hash"]),
            "+@all -@slow +hget -@hash"
        );
        assert_eq!(
            cmds(&["-@all", "+@HASH", "+@hash", "+@HaSh"]),
            "-@all +@hash"
        );
        assert_eq!(cmds(&["-@all", "+HGET", "+hget", "+hGeT"]), "-@all +hget");
        assert_eq!(
            cmds(&["-@all", "+hget", "-hset", "+hset", "-hget"]),
            "-@all +hset -hget"
        );
        assert_eq!(
            cmds(&[
                "-@all",
                "+client|list",
                "+client|list",
                "+config|get",
                "+config",
                "+acl|list",
                "-acl"
            ]),
            "-@all +client|list +config -acl"
        );
        assert_eq!(
            cmds(&[
                "-@all",
                "+select|0",
                "+select|0",
                "+debug|segfault",
                "+debug"
            ]),
            "-@all +select|0 +debug"
        );
        assert_eq!(
            cmds(&["-@all", "+config", "+config|get", "-config|set", "+config"]),
            "-@all +config"
        );
        assert_eq!(cmds(&["-@string", "-@slow", "+@all"]), "+@all");
        assert_eq!(cmds(&["+@all", "-client|kill"]), "+@all -client|kill");
    }

    #[test]
    fn printed_rules_rebuild_the_same_bitmap() {
        for rules in [
            &["+@all", "-@string", "+incr", "-debug", "+debug|digest"][..],
            &["-@all", "+@string", "-incr", "+acl", "+debug|digest"],
            &["+@all", "-client", "+client|id", "+client|setname"],
            &["-@all", "+config", "-config|set"],
            &[
                "-@all", "+@hash", "+@slow", "+@set", "+@set", "+@slow", "+@hash",
            ],
        ] {
            roundtrip(&sel(rules));
        }
    }

    #[test]
    fn subcommand_and_first_arg_rules() {
        let get = table::id_of(lookup_full(b"config|get").unwrap());
        let set = table::id_of(lookup_full(b"config|set").unwrap());
        let s = sel(&["-@all", "+config", "-config|set"]);
        assert!(s.allows_id(get) && !s.allows_id(set));
        let mut s = sel(&["-@all"]);
        assert_eq!(
            s.apply(b"+config|get|appendonly"),
            Err(RuleError::FirstArgOfSubcommand)
        );
        assert_eq!(s.apply(b"+config|asdf"), Err(RuleError::Unknown));
        assert_eq!(s.apply(b"-config|asdf"), Err(RuleError::Unknown));
        assert_eq!(s.apply(b"+get|key1|key2"), Err(RuleError::Unknown));
        assert_eq!(s.apply(b"-get|key1|key2"), Err(RuleError::Unknown));
        assert_eq!(s.apply(b"+get|"), Err(RuleError::Syntax));
        assert_eq!(s.apply(b"+nosuch"), Err(RuleError::Unknown));
        assert_eq!(s.apply(b"+@nosuch"), Err(RuleError::Unknown));
        s.apply(b"+select|0").unwrap();
        let select = table::id_of(lookup_full(b"select").unwrap());
        assert!(!s.allows_id(select));
        assert_eq!(s.first_args_of(select).unwrap(), &[b"0".to_vec()]);
    }

    #[test]
    fn key_and_channel_patterns() {
        let s = sel(&["%R~foo", "%W~foo", "%RW~bar"]);
        assert_eq!(s.describe_keys(), b"~foo ~bar");
        let s = sel(&["%R~foo1", "%W~bar1", "~baz1"]);
        assert_eq!(s.describe_keys(), b"%R~foo1 %W~bar1 ~baz1");
        let mut s = sel(&["allkeys"]);
        assert_eq!(s.apply(b"~x"), Err(RuleError::KeysAfterAll));
        assert_eq!(s.apply(b"%~"), Err(RuleError::KeysAfterAll));
        let mut s = sel(&[]);
        assert_eq!(s.apply(b"%~"), Err(RuleError::Syntax));
        assert_eq!(s.apply(b"%"), Err(RuleError::Syntax));
        assert_eq!(s.apply(b"%RR~x"), Err(RuleError::Syntax));
        assert_eq!(s.apply(b"~a b"), Err(RuleError::Syntax));
        s.apply(b"&ch").unwrap();
        s.apply(b"&ch").unwrap();
        assert_eq!(s.describe_channels(), b"&ch");
        s.apply(b"allchannels").unwrap();
        assert_eq!(s.apply(b"&x"), Err(RuleError::ChannelsAfterAll));
        assert_eq!(s.describe(), b"&* -@all");
    }
}
