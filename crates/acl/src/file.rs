//! The aclfile: one `user <name> <rules...>` per line (blank lines allowed, no comments), as
//! ACL LOAD reads it and ACL SAVE writes it. Loading builds a new registry aside and reports
//! every broken line in one message (Valkey's `ACLLoadFromFile` texts); on any error nothing
//! changes. The server reads and writes the file; this module only sees its text.

use crate::user::User;
use crate::users::{arg_text, merge_selector_args, Users};
use crate::{cstr, has_spaces, RuleError};

/// Parses an aclfile. `name` is the configured `aclfile` value, used in the messages.
/// Returns the new users (with a full `default` user added if the file has none), or the
/// one-line description of every problem.
pub fn load(name: &str, text: &[u8], pubsub_all: bool) -> Result<Users, String> {
    let mut users = Users::empty(pubsub_all);
    let mut errors = String::new();
    // Valkey reads the file as a C string: a NUL ends it.
    for (i, raw) in cstr(text).split(|&b| b == b'\n').enumerate() {
        let linenum = i + 1;
        let line = trim(raw, b" \t\r\n");
        if line.is_empty() {
            continue;
        }
        // Split on single spaces, as `sdssplitlen` does (no quoting).
        let argv: Vec<&[u8]> = line.split(|&b| b == b' ').collect();
        let (Some(&kw), Some(&uname)) = (argv.first(), argv.get(1)) else {
            errors.push_str(&format!(
                "{name}:{linenum} should start with user keyword followed by the username. "
            ));
            continue;
        };
        if kw != b"user" {
            errors.push_str(&format!(
                "{name}:{linenum} should start with user keyword followed by the username. "
            ));
            continue;
        }
        if has_spaces(uname) {
            errors.push_str(&format!(
                "'{name}:{linenum}: username '{}' contains invalid characters. ",
                arg_text(uname)
            ));
            continue;
        }
        if users.contains(uname) {
            errors.push_str(&format!(
                "WARNING: Duplicate user '{}' found on line {linenum}. ",
                arg_text(uname)
            ));
            continue;
        }
        users.insert(User::new(uname, pubsub_all));
        let rest: Vec<bytes::Bytes> = argv
            .get(2..)
            .unwrap_or_default()
            .iter()
            .map(|a| bytes::Bytes::copy_from_slice(a))
            .collect();
        let Ok(rules) = merge_selector_args(&rest) else {
            errors.push_str(&format!(
                "{name}:{linenum}: Unmatched parenthesis in selector definition."
            ));
            continue;
        };
        let Some(user) = users.user_mut(uname) else {
            continue;
        };
        let mut syntax_error = false;
        for op in &rules {
            let op = trim(op, b"\t\r\n");
            match user.apply(op, pubsub_all) {
                Ok(()) => {}
                Err(RuleError::Unknown) => errors.push_str(&format!(
                    "{name}:{linenum}: Error in applying operation '{}': {}. ",
                    arg_text(op),
                    RuleError::Unknown.text()
                )),
                Err(e) if !syntax_error => {
                    errors.push_str(&format!("{name}:{linenum}: {}. ", e.text()));
                    syntax_error = true;
                }
                Err(_) => {}
            }
        }
    }
    if !errors.is_empty() {
        errors.push_str(
            "WARNING: ACL errors detected, no change to the previously active ACL rules was performed",
        );
        return Err(errors);
    }
    if !users.contains(b"default") {
        users.insert(User::new_default(pubsub_all));
    }
    Ok(users)
}

/// The aclfile text ACL SAVE writes: every user's line, in name order.
pub fn save(users: &Users) -> Vec<u8> {
    let mut out = Vec::new();
    for line in users.lines() {
        out.extend_from_slice(&line);
        out.push(b'\n');
    }
    out
}

fn trim<'a>(s: &'a [u8], set: &[u8]) -> &'a [u8] {
    let start = s.iter().position(|c| !set.contains(c)).unwrap_or(s.len());
    let end = s
        .iter()
        .rposition(|c| !set.contains(c))
        .map_or(start, |e| e + 1);
    s.get(start..end).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    const USER_ACL: &str = "user alice on allcommands allkeys &* >alice\nuser bob on -@all +@set +acl ~set* &* >bob\nuser doug on resetchannels &test +@all ~* >doug\nuser default on nopass ~* &* +@all\n";

    #[test]
    fn loads_and_saves_round_trip() {
        let users = load("user.acl", USER_ACL.as_bytes(), true).unwrap();
        assert_eq!(users.len(), 4);
        assert!(users.get(b"alice").unwrap().password_ok(b"alice"));
        let text = save(&users);
        let again = load("user.acl", &text, true).unwrap();
        assert_eq!(again, users);
        let s = String::from_utf8(text).unwrap();
        assert!(s.starts_with("user alice on sanitize-payload #"));
        assert!(s.contains("\nuser default on nopass sanitize-payload ~* &* +@all\n"));
    }

    #[test]
    fn selectors_in_the_file() {
        let users = load(
            "s.acl",
            b"user alice on (+get ~rw*)\nuser bob on (+set %W~w*) (+get %R~r*)",
            false,
        )
        .unwrap();
        let bob = users.get(b"bob").unwrap();
        assert_eq!(bob.selectors.len(), 3);
        assert_eq!(bob.selectors[2].describe_keys(), b"%R~r*");
        // No default user in the file: a full one is added.
        assert_eq!(
            String::from_utf8(users.default_user().describe()).unwrap(),
            "on nopass sanitize-payload ~* &* +@all"
        );
    }

    #[test]
    fn every_bad_line_is_reported() {
        let text = format!("{USER_ACL}\nuser alice on nopass ~* -@all\n");
        assert_eq!(
            load("user.acl", text.as_bytes(), false).unwrap_err(),
            "WARNING: Duplicate user 'alice' found on line 6. WARNING: ACL errors detected, no change to the previously active ACL rules was performed"
        );
        let text = "# comment\nuser x on +nosuch badrule %~ >p\nuser y (+get\nuser\n";
        assert_eq!(
            load("f.acl", text.as_bytes(), false).unwrap_err(),
            "f.acl:1 should start with user keyword followed by the username. f.acl:2: Error in applying operation '+nosuch': Unknown command or category name in ACL. f.acl:2: Syntax error. f.acl:3: Unmatched parenthesis in selector definition.f.acl:4 should start with user keyword followed by the username. WARNING: ACL errors detected, no change to the previously active ACL rules was performed"
        );
    }
}
