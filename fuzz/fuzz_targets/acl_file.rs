//! aclfile loading: arbitrary file contents. Nothing may panic; a file that loads is saved and
//! loaded again to the same users.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let pubsub_all = data.first().is_some_and(|b| b & 1 == 1);
    let text = data.get(1..).unwrap_or_default();
    let Ok(users) = acl::file::load("fuzz.acl", text, pubsub_all) else {
        return;
    };
    assert!(users.get(b"default").is_some(), "loaded users without default");
    let saved = acl::file::save(&users);
    let again = acl::file::load("fuzz.acl", &saved, pubsub_all)
        .unwrap_or_else(|e| panic!("saved file does not load: {e}"));
    assert_eq!(
        again.lines(),
        users.lines(),
        "save/load changed the users"
    );
});
