//! ACL SETUSER rules: arbitrary arguments (one per line) applied to a user. Nothing may panic;
//! a user that took the rules prints rules that load back to the same user (ACL LIST / ACL
//! SAVE text), and every permission check on it returns.
#![no_main]

use acl::Users;
use bytes::Bytes;
use libfuzzer_sys::fuzz_target;

const LINES: &[&[&str]] = &[
    &["get", "k"],
    &["set", "k", "v", "get"],
    &["copy", "a", "b"],
    &["publish", "ch", "m"],
    &["psubscribe", "p*"],
    &["select", "0"],
    &["config", "get", "x"],
    &["sort", "k", "by", "w*", "store", "d"],
];

fuzz_target!(|data: &[u8]| {
    let pubsub_all = data.first().is_some_and(|b| b & 1 == 1);
    let args: Vec<Bytes> = data
        .get(1..)
        .unwrap_or_default()
        .split(|&b| b == b'\n')
        .map(Bytes::copy_from_slice)
        .collect();
    let mut users = Users::new(pubsub_all);
    if users.set_user(b"u", &args).is_err() {
        assert!(users.get(b"u").is_none(), "a refused SETUSER created the user");
        return;
    }
    let Some(user) = users.get(b"u") else {
        panic!("SETUSER succeeded without a user");
    };
    let _ = user.getuser_reply();
    for line in LINES {
        let argv: Vec<Bytes> = line.iter().map(|a| Bytes::from_static(a.as_bytes())).collect();
        if let Ok(spec) = commands::call::resolve(&argv) {
            let _ = acl::check(user, spec, &argv);
            let _ = acl::check::full_read_access(user, spec, &argv);
        }
    }
    // Rules with whitespace or quotes inside one argument cannot survive a text round trip
    // (Valkey's neither), nor a selector whose body holds a parenthesis (`(~a) ...)` closes
    // early when read back, in Valkey too): only the others are compared. A selector may span
    // arguments (`(~a`, `~b)`), so every argument's body is checked.
    let plain = args.iter().all(|a| {
        let body = a.strip_prefix(b"(").unwrap_or(a);
        let body = body.strip_suffix(b")").unwrap_or(body);
        !a.iter().any(|&c| c.is_ascii_whitespace() || c == b'"' || c == b'\'' || c == 0)
            && !body.iter().any(|&c| c == b'(' || c == b')')
    });
    let text = acl::file::save(&users);
    match acl::file::load("fuzz.acl", &text, pubsub_all) {
        Ok(again) if plain => assert_eq!(
            String::from_utf8_lossy(&again.get(b"u").map(|u| u.line()).unwrap_or_default()),
            String::from_utf8_lossy(&user.line()),
        ),
        Ok(_) => {}
        Err(e) if plain => panic!("saved rules do not load: {e}\n{}", String::from_utf8_lossy(&text)),
        Err(_) => {}
    }
});
