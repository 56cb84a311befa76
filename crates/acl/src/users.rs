//! The user registry: users by name in byte order (the order ACL LIST and ACL USERS print),
//! the `default` user always present. ACL SETUSER applies all its rules to a copy and keeps
//! the copy only if every rule was valid; `requirepass` is the default user's password.

use std::collections::BTreeMap;

use bytes::Bytes;

use crate::user::User;
use crate::{has_spaces, RuleError};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Users {
    map: BTreeMap<Vec<u8>, User>,
    /// `acl-pubsub-default allchannels`: new users and selectors get `&*`.
    pub pubsub_all: bool,
}

/// Merges selectors spread over several arguments (`(+get` `~k)` → `(+get ~k)`), as
/// `ACLMergeSelectorArguments` does. On an unmatched `(` returns the index of the argument
/// that opened it.
pub fn merge_selector_args(args: &[Bytes]) -> Result<Vec<Vec<u8>>, usize> {
    let mut out = Vec::with_capacity(args.len());
    let mut open: Option<(usize, Vec<u8>)> = None;
    for (j, op) in args.iter().enumerate() {
        let first = op.first().copied().unwrap_or(0);
        let last = op.last().copied().unwrap_or(0);
        if let Some((_, sel)) = open.as_mut() {
            sel.push(b' ');
            sel.extend_from_slice(op);
            if last == b')' {
                if let Some((_, sel)) = open.take() {
                    out.push(sel);
                }
            }
            continue;
        }
        if first == b'(' && last != b')' {
            open = Some((j, op.to_vec()));
            continue;
        }
        out.push(op.to_vec());
    }
    match open {
        Some((j, _)) => Err(j),
        None => Ok(out),
    }
}

/// Text of an argument in an error message (C's `%s`: up to the first NUL).
pub(crate) fn arg_text(a: &[u8]) -> String {
    String::from_utf8_lossy(crate::cstr(a)).into_owned()
}

impl Users {
    /// Only the `default` user, with every permission and no password.
    pub fn new(pubsub_all: bool) -> Users {
        let mut map = BTreeMap::new();
        map.insert(b"default".to_vec(), User::new_default(pubsub_all));
        Users { map, pubsub_all }
    }

    /// An empty registry (aclfile loading builds one aside before the default is added).
    pub(crate) fn empty(pubsub_all: bool) -> Users {
        Users {
            map: BTreeMap::new(),
            pubsub_all,
        }
    }

    pub fn get(&self, name: &[u8]) -> Option<&User> {
        self.map.get(name)
    }

    pub fn contains(&self, name: &[u8]) -> bool {
        self.map.contains_key(name)
    }

    /// The `default` user.
    pub fn default_user(&self) -> &User {
        match self.map.get(b"default".as_slice()) {
            Some(u) => u,
            None => unreachable!("the default user is never removed"),
        }
    }

    /// Every user, in name order.
    pub fn iter(&self) -> impl Iterator<Item = &User> {
        self.map.values()
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Authentication is required on new connections: the default user has passwords or is
    /// off (`authRequired` without the client's flag).
    pub fn default_requires_auth(&self) -> bool {
        let d = self.default_user();
        !d.nopass || !d.enabled
    }

    /// `user` lines for ACL LIST, ACL SAVE and CONFIG REWRITE, in name order.
    pub fn lines(&self) -> Vec<Vec<u8>> {
        self.iter().map(User::line).collect()
    }

    /// ACL SETUSER: creates or changes `name` with `args`, all or nothing
    /// (`ACLStringSetUser`). Returns the user as it was before (None if it is new), for the
    /// caller to disconnect subscribers that lost channels.
    pub fn set_user(&mut self, name: &[u8], args: &[Bytes]) -> Result<Option<User>, String> {
        let merged = merge_selector_args(args).map_err(|j| {
            format!(
                "Unmatched parenthesis in acl selector starting at '{}'.",
                arg_text(args.get(j).map(|a| a.as_ref()).unwrap_or_default())
            )
        })?;
        let old = self.map.get(name).cloned();
        let mut user = match &old {
            Some(u) => u.clone(),
            None => User::new(name, self.pubsub_all),
        };
        for op in &merged {
            if let Err(e) = user.apply(op, self.pubsub_all) {
                return Err(format!(
                    "Error in ACL SETUSER modifier '{}': {}",
                    arg_text(op),
                    e.text()
                ));
            }
        }
        self.map.insert(name.to_vec(), user);
        Ok(old)
    }

    /// Applies rules to an existing user, skipping nothing (internal callers' rules).
    pub(crate) fn user_mut(&mut self, name: &[u8]) -> Option<&mut User> {
        self.map.get_mut(name)
    }

    pub(crate) fn insert(&mut self, user: User) {
        self.map.insert(user.name.clone(), user);
    }

    /// ACL DELUSER of one user (never `default`): true if it existed.
    pub fn delete(&mut self, name: &[u8]) -> bool {
        if name == b"default" {
            return false;
        }
        self.map.remove(name).is_some()
    }

    /// `requirepass`: the default user gets this password, or `nopass` when it is empty
    /// (`ACLUpdateDefaultUserPassword`).
    pub fn set_default_password(&mut self, password: &[u8]) {
        let pubsub_all = self.pubsub_all;
        if let Some(d) = self.map.get_mut(b"default".as_slice()) {
            let _ = d.apply(b"resetpass", pubsub_all);
            if password.is_empty() {
                let _ = d.apply(b"nopass", pubsub_all);
            } else {
                let mut op = b">".to_vec();
                op.extend_from_slice(password);
                let _ = d.apply(&op, pubsub_all);
            }
        }
    }

    /// Loads the users of `user` configuration directives, in order (`ACLLoadConfiguredUsers`):
    /// `default` is reset first, then given its rules. Returns the log line of the first error.
    pub fn load_configured(&mut self, users: &[ConfigUser]) -> Result<Vec<String>, String> {
        let mut notices = Vec::new();
        let pubsub_all = self.pubsub_all;
        for cu in users {
            if has_spaces(&cu.name) {
                return Err("Spaces not allowed in ACL usernames".into());
            }
            if !self.contains(&cu.name) {
                self.insert(User::new(&cu.name, pubsub_all));
            } else if let Some(u) = self.user_mut(&cu.name) {
                let _ = u.apply(b"reset", pubsub_all);
            }
            let Some(u) = self.user_mut(&cu.name) else {
                continue;
            };
            for op in &cu.rules {
                if let Err(e) = u.apply(op, pubsub_all) {
                    return Err(format!(
                        "Error loading ACL rule '{}' for the user named '{}': {}",
                        arg_text(op),
                        arg_text(&cu.name),
                        e.text()
                    ));
                }
            }
            if !u.enabled {
                notices.push(format!("The user '{}' is disabled (there is no 'on' modifier in the user description). Make sure this is not a configuration error.", arg_text(&cu.name)));
            }
        }
        Ok(notices)
    }
}

/// A `user <name> <rules...>` directive of the configuration file, validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigUser {
    pub name: Vec<u8>,
    /// Rules with selectors merged.
    pub rules: Vec<Vec<u8>>,
}

/// Validates a `user` directive (`argv[0]` is `user`) against those already read
/// (`ACLAppendUserForLoading`). Unknown commands are not errors yet (Valkey waits for
/// modules); other bad rules are. The error names the argument as Valkey's message does.
pub fn config_user(argv: &[Bytes], earlier: &[ConfigUser]) -> Result<ConfigUser, String> {
    let fail = |idx: usize, e: RuleError| {
        // Valkey indexes the directive's arguments with the rule's index among the rules,
        // so the argument it names is two places before the faulty rule; kept as is.
        format!(
            "Error in user declaration '{}': {}",
            arg_text(argv.get(idx).map(|a| a.as_ref()).unwrap_or_default()),
            e.text()
        )
    };
    let is_user = argv
        .first()
        .is_some_and(|a| a.eq_ignore_ascii_case(b"user"));
    let Some(name) = argv.get(1).filter(|_| is_user) else {
        return Err(fail(0, RuleError::Syntax));
    };
    if earlier.iter().any(|u| u.name == name.as_ref()) {
        return Err(fail(1, RuleError::Duplicate));
    }
    let rules = merge_selector_args(argv.get(2..).unwrap_or_default())
        .map_err(|j| fail(j, RuleError::Syntax))?;
    let mut fake = User::new(b"__fakeuser__", false);
    for (j, op) in rules.iter().enumerate() {
        match fake.apply(op, false) {
            Ok(()) | Err(RuleError::Unknown) => {}
            Err(e) => return Err(fail(j, e)),
        }
    }
    Ok(ConfigUser {
        name: name.to_vec(),
        rules,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &[&str]) -> Vec<Bytes> {
        s.iter()
            .map(|a| Bytes::copy_from_slice(a.as_bytes()))
            .collect()
    }

    #[test]
    fn merges_selectors_spread_over_arguments() {
        let m = merge_selector_args(&args(&["(~key1", "+get", ")", "on", "(~k2 +get)"])).unwrap();
        assert_eq!(
            m,
            vec![
                b"(~key1 +get )".to_vec(),
                b"on".to_vec(),
                b"(~k2 +get)".to_vec()
            ]
        );
        assert_eq!(
            merge_selector_args(&args(&["on", "(+PING", "(+SELECT"])),
            Err(1)
        );
    }

    #[test]
    fn setuser_is_all_or_nothing() {
        let mut u = Users::new(false);
        assert_eq!(
            u.set_user(b"s", &args(&["on", "(this-is-invalid)"])),
            Err("Error in ACL SETUSER modifier '(this-is-invalid)': Syntax error".into())
        );
        assert!(u.get(b"s").is_none());
        assert_eq!(
            u.set_user(b"s", &args(&["on", "(+PING", "(+SELECT", "(+DEL"])),
            Err("Unmatched parenthesis in acl selector starting at '(+PING'.".into())
        );
        assert_eq!(
            u.set_user(b"s", &args(&["%~"])),
            Err("Error in ACL SETUSER modifier '%~': Syntax error".into())
        );
        u.set_user(b"s", &args(&["on", ">x"])).unwrap();
        let before = u.get(b"s").cloned();
        assert!(u.set_user(b"s", &args(&["+get", "+nosuch"])).is_err());
        assert_eq!(u.get(b"s").cloned(), before);
        let l: Vec<String> = u
            .lines()
            .into_iter()
            .map(|l| String::from_utf8(l).unwrap())
            .collect();
        assert_eq!(l[0], "user default on nopass sanitize-payload ~* &* +@all");
        assert!(l[1].starts_with("user s on sanitize-payload #"));
    }

    #[test]
    fn requirepass_is_the_default_password() {
        let mut u = Users::new(false);
        assert!(!u.default_requires_auth());
        u.set_default_password(b"abc\x00def");
        assert!(u.default_requires_auth());
        assert!(u.default_user().password_ok(b"abc\x00def"));
        assert!(!u.default_user().password_ok(b"abc"));
        u.set_default_password(b"");
        assert!(!u.default_requires_auth());
    }

    #[test]
    fn config_users() {
        let a = config_user(&args(&["user", "foo", "on", "+nosuchcmd"]), &[]).unwrap();
        assert_eq!(
            config_user(&args(&["user", "foo"]), std::slice::from_ref(&a)),
            Err("Error in user declaration 'foo': Duplicate user found. A user can only be defined once in config files".into())
        );
        assert_eq!(
            config_user(&args(&["user", "bar", "on", "badrule"]), &[]),
            Err("Error in user declaration 'bar': Syntax error".into())
        );
        let mut users = Users::new(false);
        let d = config_user(
            &args(&["user", "default", "on", "nopass", "~*", "+@all", "-flushdb"]),
            &[],
        )
        .unwrap();
        users.load_configured(&[d]).unwrap();
        assert_eq!(
            String::from_utf8(users.default_user().describe()).unwrap(),
            "on nopass sanitize-payload ~* resetchannels +@all -flushdb"
        );
        assert!(users.load_configured(&[a]).is_err());
    }
}
