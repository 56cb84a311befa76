//! One ACL user: enabled or not, its passwords (SHA-256 hex, never the clear text), `nopass`,
//! RESTORE payload sanitization, and its selectors (the root one first).

use bytes::Bytes;
use resp::Reply;

use crate::selector::Selector;
use crate::{hash_password, is, same_hash, valid_hash, RuleError};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    pub name: Vec<u8>,
    /// `on` (false: `off`, the state of a new user).
    pub enabled: bool,
    /// Any password authenticates.
    pub nopass: bool,
    /// `skip-sanitize-payload` (false: `sanitize-payload`, the default).
    pub skip_sanitize: bool,
    /// SHA-256 hex of each password, in the order they were added.
    pub passwords: Vec<String>,
    /// The root selector, then the `(...)` ones in the order they were added.
    pub selectors: Vec<Selector>,
}

impl User {
    /// A new user: off, no passwords, no permissions (`ACLCreateUser`).
    pub fn new(name: &[u8], pubsub_all: bool) -> User {
        User {
            name: name.to_vec(),
            enabled: false,
            nopass: false,
            skip_sanitize: false,
            passwords: Vec::new(),
            selectors: vec![Selector::new(true, pubsub_all)],
        }
    }

    /// The built-in `default` user: on, nopass, everything (`ACLCreateDefaultUser`).
    pub fn new_default(pubsub_all: bool) -> User {
        let mut u = User::new(b"default", pubsub_all);
        for op in ["+@all", "~*", "&*", "on", "nopass"] {
            // These rules are always valid.
            let _ = u.apply(op.as_bytes(), pubsub_all);
        }
        u
    }

    pub fn root(&self) -> &Selector {
        match self.selectors.first() {
            Some(s) => s,
            None => unreachable!("a user always has its root selector"),
        }
    }

    fn root_mut(&mut self) -> &mut Selector {
        if self.selectors.is_empty() {
            self.selectors.push(Selector::new(true, false));
        }
        match self.selectors.first_mut() {
            Some(s) => s,
            None => unreachable!("just ensured"),
        }
    }

    /// True if the user may run anything with any key and channel: the check can be skipped.
    pub fn unrestricted(&self) -> bool {
        let r = self.root();
        r.all_commands && r.all_keys && r.all_channels
    }

    /// Applies one rule (`ACLSetUser`). `pubsub_all` is `acl-pubsub-default allchannels`.
    pub fn apply(&mut self, op: &[u8], pubsub_all: bool) -> Result<(), RuleError> {
        let first = op.first().copied().unwrap_or(0);
        if op.is_empty() {
            return Ok(());
        }
        if is(op, "on") {
            self.enabled = true;
        } else if is(op, "off") {
            self.enabled = false;
        } else if is(op, "skip-sanitize-payload") {
            self.skip_sanitize = true;
        } else if is(op, "sanitize-payload") {
            self.skip_sanitize = false;
        } else if is(op, "nopass") {
            self.nopass = true;
            self.passwords.clear();
        } else if is(op, "resetpass") {
            self.nopass = false;
            self.passwords.clear();
        } else if first == b'>' || first == b'#' {
            let rest = op.get(1..).unwrap_or_default();
            let hash = if first == b'>' {
                hash_password(rest)
            } else if valid_hash(rest) {
                String::from_utf8_lossy(rest).into_owned()
            } else {
                return Err(RuleError::BadHash);
            };
            if !self.passwords.contains(&hash) {
                self.passwords.push(hash);
            }
            self.nopass = false;
        } else if first == b'<' || first == b'!' {
            let rest = op.get(1..).unwrap_or_default();
            let hash = if first == b'<' {
                hash_password(rest)
            } else if valid_hash(rest) {
                String::from_utf8_lossy(rest).into_owned()
            } else {
                return Err(RuleError::BadHash);
            };
            let before = self.passwords.len();
            self.passwords.retain(|p| *p != hash);
            if self.passwords.len() == before {
                return Err(RuleError::NoSuchPassword);
            }
        } else if first == b'(' && op.last() == Some(&b')') {
            let s = Selector::from_opset(op, pubsub_all)?;
            self.selectors.push(s);
        } else if is(op, "clearselectors") {
            self.selectors.truncate(1);
        } else if is(op, "reset") {
            for r in ["resetpass", "resetkeys", "resetchannels"] {
                let _ = self.apply(r.as_bytes(), pubsub_all);
            }
            if pubsub_all {
                let _ = self.apply(b"allchannels", pubsub_all);
            }
            for r in ["off", "sanitize-payload", "clearselectors", "-@all"] {
                let _ = self.apply(r.as_bytes(), pubsub_all);
            }
        } else {
            self.root_mut().apply(op)?;
        }
        Ok(())
    }

    /// True if `password` authenticates this user (`ACLCheckUserCredentials`, the user known).
    pub fn password_ok(&self, password: &[u8]) -> bool {
        if !self.enabled {
            return false;
        }
        if self.nopass {
            return true;
        }
        let hashed = hash_password(password);
        self.passwords.iter().any(|p| same_hash(p, &hashed))
    }

    /// The rules as ACL LIST prints them after `user <name> ` (`ACLDescribeUser`).
    pub fn describe(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(if self.enabled { b"on " } else { b"off " });
        if self.nopass {
            out.extend_from_slice(b"nopass ");
        }
        out.extend_from_slice(if self.skip_sanitize {
            b"skip-sanitize-payload "
        } else {
            b"sanitize-payload "
        });
        for p in &self.passwords {
            out.push(b'#');
            out.extend_from_slice(p.as_bytes());
            out.push(b' ');
        }
        for s in &self.selectors {
            if s.root {
                out.extend_from_slice(&s.describe());
            } else {
                out.extend_from_slice(b" (");
                out.extend_from_slice(&s.describe());
                out.push(b')');
            }
        }
        out
    }

    /// `user <name> <rules>`: one line of ACL LIST, an aclfile or CONFIG REWRITE.
    pub fn line(&self) -> Vec<u8> {
        let mut out = b"user ".to_vec();
        out.extend_from_slice(&self.name);
        out.push(b' ');
        out.extend_from_slice(&self.describe());
        out
    }

    /// The flag names ACL GETUSER lists, in Valkey's order.
    pub fn flag_names(&self) -> Vec<&'static str> {
        let mut f = vec![if self.enabled { "on" } else { "off" }];
        if self.nopass {
            f.push("nopass");
        }
        f.push(if self.skip_sanitize {
            "skip-sanitize-payload"
        } else {
            "sanitize-payload"
        });
        f
    }

    /// ACL GETUSER's reply: flags, passwords, the root selector's commands/keys/channels,
    /// then every other selector.
    pub fn getuser_reply(&self) -> Reply {
        let bulk = |v: Vec<u8>| Reply::Bulk(Bytes::from(v));
        let selector_fields = |s: &Selector| {
            vec![
                (Reply::bulk(b"commands"), bulk(s.describe_commands())),
                (Reply::bulk(b"keys"), bulk(s.describe_keys())),
                (Reply::bulk(b"channels"), bulk(s.describe_channels())),
            ]
        };
        let mut fields = vec![
            (
                Reply::bulk(b"flags"),
                Reply::Set(
                    self.flag_names()
                        .into_iter()
                        .map(|f| Reply::bulk(f.as_bytes()))
                        .collect(),
                ),
            ),
            (
                Reply::bulk(b"passwords"),
                Reply::Array(
                    self.passwords
                        .iter()
                        .map(|p| Reply::bulk(p.as_bytes()))
                        .collect(),
                ),
            ),
        ];
        fields.extend(selector_fields(self.root()));
        fields.push((
            Reply::bulk(b"selectors"),
            Reply::Array(
                self.selectors
                    .iter()
                    .skip(1)
                    .map(|s| Reply::Map(selector_fields(s)))
                    .collect(),
            ),
        ));
        Reply::Map(fields)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(rules: &[&str]) -> User {
        let mut u = User::new(b"u", false);
        for r in rules {
            u.apply(r.as_bytes(), false).unwrap();
        }
        u
    }

    fn text(u: &User) -> String {
        String::from_utf8(u.describe()).unwrap()
    }

    #[test]
    fn new_and_default_users_print_as_valkey() {
        assert_eq!(
            text(&User::new(b"n", false)),
            "off sanitize-payload resetchannels -@all"
        );
        assert_eq!(
            text(&User::new_default(false)),
            "on nopass sanitize-payload ~* &* +@all"
        );
        assert_eq!(
            text(&User::new(b"n", true)),
            "off sanitize-payload &* -@all"
        );
    }

    #[test]
    fn full_description_with_selectors() {
        let u = user(&[
            "on",
            ">p",
            "~a*",
            "%R~b",
            "(+get ~c)",
            "&ch",
            "+@hash",
            "-hget",
        ]);
        assert_eq!(
            text(&u),
            "on sanitize-payload #148de9c5a7a44d19e56cd9ae1a554bf67847afb0c58f6e12fa29ac7ddfca9940 ~a* %R~b resetchannels &ch -@all +@hash -hget (~c resetchannels -@all +get)"
        );
        let u = user(&["on", "nopass", "resetchannels", "&foo", "+@all"]);
        assert_eq!(
            text(&u),
            "on nopass sanitize-payload resetchannels &foo +@all"
        );
    }

    #[test]
    fn passwords() {
        let mut u = user(&["on", ">passwd1", ">passwd2"]);
        assert!(u.password_ok(b"passwd1") && u.password_ok(b"passwd2"));
        assert!(!u.password_ok(b"passwd3"));
        u.apply(b"<passwd1", false).unwrap();
        assert!(!u.password_ok(b"passwd1"));
        assert_eq!(u.apply(b"<passwd1", false), Err(RuleError::NoSuchPassword));
        u.apply(
            b"#34344e4d60c2b6d639b7bd22e18f2b0b91bc34bf0ac5f9952744435093cfb4e6",
            false,
        )
        .unwrap();
        assert!(u.password_ok(b"passwd4"));
        assert_eq!(
            u.apply(
                b"#34344e4d60c2b6d639b7bd22e18f2b0b91bc34bf0ac5f9952744435093cfb4e",
                false
            ),
            Err(RuleError::BadHash)
        );
        u.apply(b"nopass", false).unwrap();
        assert!(u.password_ok(b"anything") && u.passwords.is_empty());
        u.apply(b"off", false).unwrap();
        assert!(!u.password_ok(b"anything"));
    }

    #[test]
    fn reset_is_a_new_user() {
        let fresh = User::new(b"u", false);
        let mut u = user(&[
            "on",
            ">x",
            "~*",
            "&*",
            "+@all",
            "(+get ~k)",
            "skip-sanitize-payload",
        ]);
        u.apply(b"reset", false).unwrap();
        assert_eq!(u, fresh);
    }

    #[test]
    fn selectors() {
        let mut u = user(&["(~added-selector)"]);
        assert_eq!(u.selectors.len(), 2);
        u.apply(b"clearselectors", false).unwrap();
        assert_eq!(u.selectors.len(), 1);
        assert_eq!(u.apply(b"(this-is-invalid)", false), Err(RuleError::Syntax));
        assert_eq!(
            u.apply(b"(&* &fail)", false),
            Err(RuleError::ChannelsAfterAll)
        );
        assert_eq!(u.apply(b" () ", false), Err(RuleError::Syntax));
        assert_eq!(u.apply(b")", false), Err(RuleError::Syntax));
        u.apply(b"()", false).unwrap();
        assert_eq!(
            text(&u),
            "off sanitize-payload resetchannels -@all (resetchannels -@all)"
        );
    }
}
