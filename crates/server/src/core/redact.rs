//! Secrets kept out of what the server shows of a command (SLOWLOG, MONITOR): the arguments
//! Valkey replaces with `(redacted)` — AUTH's, HELLO AUTH's, MIGRATE AUTH's and AUTH2's, the
//! users and rules of ACL SETUSER / DELUSER / GETUSER, and the values of sensitive
//! parameters in CONFIG SET. Decided
//! from the arguments alone, before (and whatever) the command does with them, so a command
//! that fails, even on a malformed secret, shows nothing of it.

use std::borrow::Cow;

use bytes::Bytes;

/// What a secret argument is shown as.
pub const REDACTED: &[u8] = b"(redacted)";

/// `argv` as SLOWLOG and MONITOR may show it: borrowed when nothing in it is secret.
pub fn shown(argv: &[Bytes]) -> Cow<'_, [Bytes]> {
    let secret = secret_positions(argv);
    if secret.is_empty() {
        return Cow::Borrowed(argv);
    }
    let mut out = argv.to_vec();
    for i in secret {
        out[i] = Bytes::from_static(REDACTED);
    }
    Cow::Owned(out)
}

fn is(arg: Option<&Bytes>, word: &str) -> bool {
    arg.is_some_and(|a| a.eq_ignore_ascii_case(word.as_bytes()))
}

/// Indices of the secret arguments of `argv`.
fn secret_positions(argv: &[Bytes]) -> Vec<usize> {
    let n = argv.len();
    let name = argv.first();
    if is(name, "auth") {
        // Valkey redacts the password and, in the two-argument form, the user; a malformed
        // AUTH is kept as secret as a well-formed one.
        return (1..n).collect();
    }
    if is(name, "hello") {
        // HELLO protover [AUTH user pass] [SETNAME name]: options as Valkey walks them, up to
        // the first it does not recognise.
        let mut out = Vec::new();
        let mut j = 2;
        while j < n {
            let more = n - 1 - j;
            if is(argv.get(j), "auth") && more >= 2 {
                out.extend([j + 1, j + 2]);
                j += 3;
            } else if is(argv.get(j), "setname") && more >= 1 {
                j += 2;
            } else {
                break;
            }
        }
        return out;
    }
    if is(name, "acl") && n >= 3 {
        let sub = argv.get(1);
        if is(sub, "setuser") || is(sub, "deluser") {
            return (2..n).collect();
        }
        if is(sub, "getuser") && n == 3 {
            return vec![2];
        }
        return Vec::new();
    }
    if is(name, "migrate") {
        // The values of AUTH and AUTH2, in the options as MIGRATE walks them (up to KEYS or
        // the first it does not recognise).
        let mut out = Vec::new();
        let mut j = 6;
        while j < n {
            let more = n - 1 - j;
            if is(argv.get(j), "auth") && more >= 1 {
                out.push(j + 1);
                j += 1;
            } else if is(argv.get(j), "auth2") && more >= 2 {
                out.extend([j + 1, j + 2]);
                j += 2;
            } else if !is(argv.get(j), "copy") && !is(argv.get(j), "replace") {
                break;
            }
            j += 1;
        }
        return out;
    }
    if is(name, "config") && is(argv.get(1), "set") {
        // Every pair is looked at, valid or not, as Valkey does before it reports an error.
        return (2..n)
            .step_by(2)
            .filter(|&i| i + 1 < n)
            .filter(|&i| {
                std::str::from_utf8(&argv[i])
                    .ok()
                    .and_then(crate::config::params::lookup)
                    .is_some_and(|p| p.has(crate::config::params::SENSITIVE))
            })
            .map(|i| i + 1)
            .collect();
    }
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown_text(args: &[&str]) -> String {
        let argv: Vec<Bytes> = args.iter().map(|a| Bytes::from(a.to_string())).collect();
        shown(&argv)
            .iter()
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn secrets_are_redacted_as_valkey_does() {
        assert_eq!(shown_text(&["AUTH", "pw"]), "AUTH (redacted)");
        assert_eq!(
            shown_text(&["auth", "user", "pw"]),
            "auth (redacted) (redacted)"
        );
        assert_eq!(
            shown_text(&["HELLO", "3", "SETNAME", "n", "AUTH", "u", "p"]),
            "HELLO 3 SETNAME n AUTH (redacted) (redacted)"
        );
        assert_eq!(shown_text(&["HELLO", "3", "AUTH", "u"]), "HELLO 3 AUTH u");
        assert_eq!(
            shown_text(&["MIGRATE", "h", "1", "k", "0", "9", "COPY", "AUTH", "pw"]),
            "MIGRATE h 1 k 0 9 COPY AUTH (redacted)"
        );
        assert_eq!(
            shown_text(&["MIGRATE", "h", "1", "", "0", "9", "AUTH2", "u", "p", "KEYS", "a"]),
            "MIGRATE h 1  0 9 AUTH2 (redacted) (redacted) KEYS a"
        );
        assert_eq!(
            shown_text(&["acl", "setuser", "a user", "+get", ">pw"]),
            "acl setuser (redacted) (redacted) (redacted)"
        );
        assert_eq!(
            shown_text(&["ACL", "DELUSER", "a", "b"]),
            "ACL DELUSER (redacted) (redacted)"
        );
        assert_eq!(
            shown_text(&["ACL", "GETUSER", "a"]),
            "ACL GETUSER (redacted)"
        );
        assert_eq!(shown_text(&["ACL", "LIST"]), "ACL LIST");
        assert_eq!(
            shown_text(&[
                "CONFIG",
                "SET",
                "maxmemory",
                "1mb",
                "MasterAuth",
                "pw",
                "nosuch"
            ]),
            "CONFIG SET maxmemory 1mb MasterAuth (redacted) nosuch"
        );
        assert_eq!(
            shown_text(&["config", "set", "requirepass", ""]),
            "config set requirepass (redacted)"
        );
        assert_eq!(shown_text(&["GET", "auth"]), "GET auth");
    }
}
