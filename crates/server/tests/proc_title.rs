//! The process title (`proc-title-template`): what /proc/<pid>/cmdline shows, as Valkey's.

mod common;

use common::*;
use resp::frame::Frame;

fn cmdline(pid: u32) -> String {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).expect("cmdline readable");
    String::from_utf8_lossy(&raw)
        .trim_end_matches('\0')
        .replace('\0', " ")
}

#[test]
fn the_title_follows_the_template_and_a_bad_template_is_refused() {
    let s = redwing(&["--bind", "127.0.0.1"]);
    let pid = s.pid().expect("running");
    let mut c = s.conn();
    let default = cmdline(pid);
    assert!(
        default.ends_with(&format!("redwing-server 127.0.0.1:{}", s.port)),
        "default title: {default:?}"
    );
    let template = "TEST {title} {listen-addr} {port} {tls-port} {config-file}";
    assert_eq!(
        c.text(&["CONFIG", "SET", "proc-title-template", template]),
        "OK"
    );
    let title = cmdline(pid);
    let words: Vec<&str> = title.split(' ').collect();
    assert_eq!(words[0], "TEST", "{title:?}");
    assert!(words[1].ends_with("redwing-server"), "{title:?}");
    assert_eq!(words[2], format!("127.0.0.1:{}", s.port));
    assert_eq!(words[3], s.port.to_string());
    assert_eq!(words[4], "0");
    assert_eq!(words[5], "-", "no config file");
    match c.cmd(&["CONFIG", "SET", "proc-title-template", "{invalid-var}"]) {
        Frame::Error(e) => assert!(e.contains("template format is invalid"), "{e}"),
        other => panic!("expected an error, got {other:?}"),
    }
    assert_eq!(cmdline(pid), title, "a refused template changes nothing");
}
