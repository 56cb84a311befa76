//! May a user run a command? (`ACLCheckAllUserCommandPerm`): a selector allows it if it
//! allows the command (or its first argument), every key the command names with the access
//! those keys get (read for `ACCESS`, write for `INSERT`/`DELETE`/`UPDATE`), and every channel
//! it publishes or subscribes to. One allowing selector is enough; when none does, the denial
//! reported is the most specific one (a channel over a key over the command) and, among equal
//! ones, the furthest argument.

use bytes::Bytes;
use commands::keyrefs::{self, KeyRef};
use commands::spec::{flags as f, CommandSpec};
use commands::table;

use crate::selector::{is_subcommand, Selector, PERM_READ, PERM_WRITE};
use crate::user::User;

/// Why a command is refused, with the argument that caused it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Denial {
    /// The command (or subcommand) is not allowed.
    Command,
    /// The key at this argument position is not allowed.
    Key(usize),
    /// The channel at this argument position is not allowed.
    Channel(usize),
}

impl Denial {
    /// Valkey's `ACL_DENIED_*` value: the larger wins when selectors disagree.
    fn rank(self) -> u8 {
        match self {
            Denial::Command => 1,
            Denial::Key(_) => 2,
            Denial::Channel(_) => 4,
        }
    }

    /// The argument position that caused it (0 for the command).
    pub fn pos(self) -> usize {
        match self {
            Denial::Command => 0,
            Denial::Key(p) | Denial::Channel(p) => p,
        }
    }

    /// The error text without the `NOPERM ` code (`getAclErrorMessage`). `verbose` names the
    /// key or channel (ACL DRYRUN); the command path does not.
    pub fn message(self, user: &[u8], command: &str, argv: &[Bytes], verbose: bool) -> String {
        let user = String::from_utf8_lossy(user);
        let arg = || {
            argv.get(self.pos())
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .unwrap_or_default()
        };
        match self {
            Denial::Command => {
                format!("User {user} has no permissions to run the '{command}' command")
            }
            Denial::Key(_) if verbose => format!(
                "User {user} has no permissions to access the '{}' key",
                arg()
            ),
            Denial::Key(_) => "No permissions to access a key".into(),
            Denial::Channel(_) if verbose => format!(
                "User {user} has no permissions to access the '{}' channel",
                arg()
            ),
            Denial::Channel(_) => "No permissions to access a channel".into(),
        }
    }
}

/// How a command names pub/sub channels (`commands_with_channels`).
#[derive(Clone, Copy, PartialEq, Eq)]
enum ChannelUse {
    /// Every argument is a channel (SUBSCRIBE, SSUBSCRIBE).
    Subscribe,
    /// Every argument is a pattern, matched literally against the allowed ones (PSUBSCRIBE).
    PatternSubscribe,
    /// The first argument is a channel (PUBLISH, SPUBLISH).
    Publish,
}

fn channel_use(spec: &'static CommandSpec) -> Option<ChannelUse> {
    match spec.name {
        "subscribe" | "ssubscribe" => Some(ChannelUse::Subscribe),
        "psubscribe" => Some(ChannelUse::PatternSubscribe),
        "publish" | "spublish" => Some(ChannelUse::Publish),
        _ => None,
    }
}

/// `(position, is_pattern)` of each channel a command publishes or subscribes to.
fn channel_refs(spec: &'static CommandSpec, argv: &[Bytes]) -> Vec<(usize, bool)> {
    match channel_use(spec) {
        None => Vec::new(),
        Some(ChannelUse::Publish) => (argv.len() > 1).then_some((1, false)).into_iter().collect(),
        Some(u) => (1..argv.len())
            .map(|i| (i, u == ChannelUse::PatternSubscribe))
            .collect(),
    }
}

/// The permissions a key needs, from its key-spec flags.
fn needed(k: &KeyRef) -> u8 {
    let mut p = 0;
    if keyrefs::reads(k.flags) {
        p |= PERM_READ;
    }
    if keyrefs::writes(k.flags) {
        p |= PERM_WRITE;
    }
    p
}

/// May this selector touch `key` with `perm` (`ACLSelectorCheckKey`).
fn key_ok(s: &Selector, key: &[u8], perm: u8) -> bool {
    s.all_keys
        || s.keys
            .iter()
            .any(|p| p.perm & perm == perm && types::glob::glob_match(&p.pattern, key, false))
}

/// A channel (or a PSUBSCRIBE pattern, compared literally) against a list of allowed
/// patterns (`ACLCheckChannelAgainstList`).
pub fn channel_in(list: &[Vec<u8>], channel: &[u8], is_pattern: bool) -> bool {
    list.iter().any(|p| {
        if is_pattern {
            crate::cstr(p) == crate::cstr(channel)
        } else {
            types::glob::glob_match(p, channel, false)
        }
    })
}

/// The command part of a selector's check.
fn command_ok(s: &Selector, spec: &'static CommandSpec, argv: &[Bytes]) -> bool {
    if s.all_commands || spec.has(f::NO_AUTH) {
        return true;
    }
    let id = table::id_of(spec);
    if s.allows_id(id) {
        return true;
    }
    let Some(allowed) = s.first_args_of(id) else {
        return false;
    };
    let idx = if is_subcommand(spec) { 2 } else { 1 };
    let Some(arg) = argv.get(idx).filter(|_| argv.len() >= 2) else {
        return false;
    };
    let arg = crate::cstr(arg);
    allowed.iter().any(|a| a.eq_ignore_ascii_case(arg))
}

/// One selector's verdict (`ACLSelectorCheckCmd`). `keys` caches the command's key
/// references across selectors.
fn selector_check(
    s: &Selector,
    spec: &'static CommandSpec,
    argv: &[Bytes],
    keys: &mut Option<Vec<KeyRef>>,
) -> Result<(), Denial> {
    if !command_ok(s, spec, argv) {
        return Err(Denial::Command);
    }
    if !s.all_keys {
        let refs = keys.get_or_insert_with(|| keyrefs::key_refs(spec, argv));
        for k in refs.iter() {
            let key = argv.get(k.pos).map(|a| a.as_ref()).unwrap_or_default();
            if !key_ok(s, key, needed(k)) {
                return Err(Denial::Key(k.pos));
            }
        }
    }
    if !s.all_channels {
        for (pos, is_pattern) in channel_refs(spec, argv) {
            let ch = argv.get(pos).map(|a| a.as_ref()).unwrap_or_default();
            if !channel_in(&s.channels, ch, is_pattern) {
                return Err(Denial::Channel(pos));
            }
        }
    }
    Ok(())
}

/// May `user` run `argv` (already resolved to `spec`)? The error is the denial to log and
/// report.
pub fn check(user: &User, spec: &'static CommandSpec, argv: &[Bytes]) -> Result<(), Denial> {
    if user.unrestricted() {
        return Ok(());
    }
    let mut keys = None;
    let mut worst = Denial::Command;
    for s in &user.selectors {
        match selector_check(s, spec, argv, &mut keys) {
            Ok(()) => return Ok(()),
            Err(d) => {
                if d.rank() > worst.rank() || (d.rank() == worst.rank() && d.pos() > worst.pos()) {
                    worst = d;
                }
            }
        }
    }
    Err(worst)
}

/// May `user` run `argv` and also read every key (`ACLUserCheckCmdWithUnrestrictedKeyAccess`
/// with `CMD_KEY_ACCESS`): SORT's BY and GET patterns need it.
pub fn full_read_access(user: &User, spec: &'static CommandSpec, argv: &[Bytes]) -> bool {
    let mut keys = None;
    user.selectors.iter().any(|s| {
        selector_check(s, spec, argv, &mut keys).is_ok()
            && (s.all_keys
                || s.keys
                    .iter()
                    .any(|p| p.perm & PERM_READ != 0 && p.pattern == b"*"))
    })
}

/// The channels a user's new rules allow, if they allow less than `old` did
/// (`getUpcomingChannelList`): `None` means no subscriber can have lost anything.
pub fn lost_channels(new: &User, old: &User) -> Option<Vec<Vec<u8>>> {
    if new.selectors.iter().any(|s| s.all_channels) {
        return None;
    }
    let upcoming: Vec<Vec<u8>> = new
        .selectors
        .iter()
        .flat_map(|s| s.channels.iter().cloned())
        .collect();
    let kept = old
        .selectors
        .iter()
        .all(|s| !s.all_channels && s.channels.iter().all(|c| upcoming.contains(c)));
    (!kept).then_some(upcoming)
}

/// True if a subscriber with these channels and patterns must be disconnected under the
/// `upcoming` channel list (`ACLShouldKillPubsubClient`).
pub fn subscriber_lost<'a>(
    upcoming: &[Vec<u8>],
    patterns: impl IntoIterator<Item = &'a Bytes>,
    channels: impl IntoIterator<Item = &'a Bytes>,
) -> bool {
    patterns.into_iter().any(|p| !channel_in(upcoming, p, true))
        || channels
            .into_iter()
            .any(|c| !channel_in(upcoming, c, false))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::users::Users;

    fn argv(s: &str) -> Vec<Bytes> {
        s.split(' ')
            .map(|a| Bytes::copy_from_slice(a.as_bytes()))
            .collect()
    }

    fn users(rules: &str) -> Users {
        let mut u = Users::new(false);
        u.set_user(b"u", &argv(rules)).unwrap();
        u
    }

    /// ACL DRYRUN's answer.
    fn dry(u: &Users, cmd: &str) -> String {
        let a = argv(cmd);
        let spec = commands::call::resolve(&a).unwrap();
        let user = u.get(b"u").unwrap();
        match check(user, spec, &a) {
            Ok(()) => "OK".into(),
            Err(d) => d.message(b"u", table::full_name_of(spec), &a, true),
        }
    }

    #[test]
    fn commands_and_first_args() {
        let u = users("on -@all +acl +select|0");
        assert_eq!(dry(&u, "select 0"), "OK");
        assert_eq!(
            dry(&u, "select 1"),
            "User u has no permissions to run the 'select' command"
        );
        let u = users("on +@all -client|kill");
        assert_eq!(dry(&u, "client id"), "OK");
        assert_eq!(
            dry(&u, "client kill type master"),
            "User u has no permissions to run the 'client|kill' command"
        );
    }

    #[test]
    fn read_and_write_key_permissions() {
        let u = users("+@all %R~read* %W~write* %RW~rw*");
        assert_eq!(dry(&u, "get read"), "OK");
        assert_eq!(
            dry(&u, "get write"),
            "User u has no permissions to access the 'write' key"
        );
        assert_eq!(dry(&u, "lpush write 1"), "OK");
        assert_eq!(dry(&u, "copy read write"), "OK");
        assert_eq!(
            dry(&u, "copy write read"),
            "User u has no permissions to access the 'write' key"
        );
        for c in ["hexists", "sismember"] {
            assert_eq!(dry(&u, &format!("{c} read f")), "OK");
            assert_eq!(dry(&u, &format!("{c} write f")), "OK");
            assert_eq!(
                dry(&u, &format!("{c} nothing f")),
                "User u has no permissions to access the 'nothing' key"
            );
        }
        assert_eq!(
            dry(&u, "sintercard 2 write read"),
            "User u has no permissions to access the 'write' key"
        );
        assert_eq!(dry(&u, "sort read STORE write"), "OK");
        assert_eq!(
            dry(&u, "sort read STORE read"),
            "User u has no permissions to access the 'read' key"
        );
        assert_eq!(
            dry(&u, "georadius read 1 2 3 M STOREDIST read2"),
            "User u has no permissions to access the 'read2' key"
        );
        assert_eq!(dry(&u, "georadius read 1 2 3 M STORE write"), "OK");
        // SET reads its key only with GET.
        assert_eq!(dry(&u, "set write v"), "OK");
        assert_eq!(
            dry(&u, "set write v get"),
            "User u has no permissions to access the 'write' key"
        );
        assert_eq!(dry(&u, "bitfield read get u4 0"), "OK");
        assert_eq!(
            dry(&u, "bitfield read set u4 0 1"),
            "User u has no permissions to access the 'read' key"
        );
    }

    #[test]
    fn selectors_are_not_additive_and_report_the_furthest_key() {
        let u = users("on nopass (%R~read* +@all) (%W~write* +@all)");
        assert_eq!(dry(&u, "get read1"), "OK");
        assert_eq!(dry(&u, "lpush write1 x"), "OK");
        assert!(dry(&u, "copy read write").contains("key"));
        let u = users("on nopass +mget ~key (+mget ~key ~otherkey)");
        assert!(dry(&u, "get key").contains("'get' command"));
        assert!(dry(&u, "mget otherkey someotherkey").contains("'someotherkey' key"));
        assert!(dry(&u, "mget key otherkey someotherkey").contains("'someotherkey' key"));
    }

    #[test]
    fn channels() {
        let u = users("+@all resetchannels &foo:1 &bar:*");
        assert_eq!(dry(&u, "publish foo:1 m"), "OK");
        assert_eq!(dry(&u, "publish bar:2 m"), "OK");
        assert_eq!(
            dry(&u, "publish zap:3 m"),
            "User u has no permissions to access the 'zap:3' channel"
        );
        assert_eq!(dry(&u, "psubscribe bar:*"), "OK");
        assert!(dry(&u, "psubscribe bar:baz").contains("'bar:baz' channel"));
        assert_eq!(dry(&u, "subscribe foo:1 bar:9"), "OK");
        assert_eq!(dry(&u, "unsubscribe zap"), "OK");
        let old = u.get(b"u").unwrap().clone();
        let mut u2 = u.clone();
        u2.set_user(b"u", &argv("resetchannels &foo:1 &bar:* &baz"))
            .unwrap();
        assert_eq!(lost_channels(u2.get(b"u").unwrap(), &old), None);
        u2.set_user(b"u", &argv("resetchannels &foo:1")).unwrap();
        let up = lost_channels(u2.get(b"u").unwrap(), &old).unwrap();
        let pats = [Bytes::from_static(b"bar:*")];
        assert!(subscriber_lost(&up, &pats, &[]));
        assert!(!subscriber_lost(&up, &[], &[Bytes::from_static(b"foo:1")]));
    }
}
