//! Saving when the disk refuses: the previous RDB file survives intact, the failure is
//! reported as Redis reports it (`rdb_last_bgsave_status:err`, `-MISCONF` for writes while
//! save points exist), reads go on, and the next successful save clears it.

mod common;

use common::*;
use testkit::wait_for;

#[test]
fn failed_background_save_keeps_the_previous_file_and_stops_writes() {
    let r = redwing(&["--save", "3600 1"]);
    let mut c = r.conn();
    c.cmd(&["SET", "a", "1"]);
    assert_eq!(c.text(&["SAVE"]), "OK");
    let path = r.dir.join("dump.rdb");
    let before = std::fs::read(&path).expect("SAVE wrote dump.rdb");
    // Every temp file the next saves would create is a non-empty directory: creating it
    // fails, as it would on a full or failing disk.
    let pid = field(&mut c, "server", "process_id");
    let blockers: Vec<_> = (0..64)
        .map(|n| r.dir.join(format!("temp-{pid}-{n}.rdb")))
        .collect();
    for b in &blockers {
        std::fs::create_dir_all(b.join("x")).expect("create a blocker");
    }
    c.cmd(&["SET", "b", "2"]);
    assert_eq!(c.text(&["BGSAVE"]), "Background saving started");
    wait_for("the background save failed", T, || {
        field(&mut c, "persistence", "rdb_bgsave_in_progress") == "0"
            && field(&mut c, "persistence", "rdb_last_bgsave_status") == "err"
    });
    assert_eq!(
        std::fs::read(&path).expect("dump.rdb still there"),
        before,
        "the previous file is intact"
    );
    let denied = c.cmd(&["SET", "c", "3"]);
    assert!(
        denied.is_error() && denied.text().starts_with("MISCONF"),
        "writes refused after a failed save: {denied:?}"
    );
    assert_eq!(c.text(&["GET", "b"]), "2", "reads go on");
    for b in &blockers {
        std::fs::remove_dir_all(b).expect("remove a blocker");
    }
    assert_eq!(c.text(&["BGSAVE"]), "Background saving started");
    wait_for("the background save succeeded", T, || {
        field(&mut c, "persistence", "rdb_bgsave_in_progress") == "0"
            && field(&mut c, "persistence", "rdb_last_bgsave_status") == "ok"
    });
    assert_eq!(c.text(&["SET", "c", "3"]), "OK", "writes accepted again");
    assert_ne!(std::fs::read(&path).expect("dump.rdb"), before);
}
