//! Streams through RDB save/load and DUMP/RESTORE: entries, counters, tombstone bookkeeping,
//! consumer groups, PELs and consumers come back as they were (active times excepted: the
//! RDB 10 stream type has no field for them, so they load as the seen times).

use std::sync::atomic::{AtomicBool, AtomicU64};

use commands::testing::Harness;
use keyspace::digest::{dataset_digest, hex};
use persistence::{load, write_snapshot, LoadOptions, SaveInfo, SaveOptions};
use resp::Reply;

fn build() -> Harness {
    let mut h = Harness::new();
    for i in 1..=350u64 {
        h.run(&[
            "XADD",
            "s",
            &format!("{i}-{}", i % 3),
            "f",
            &format!("v{i}"),
            "n",
            &i.to_string(),
        ]);
    }
    h.run(&["XADD", "s", "351-0", "other", "fields", "here", "1"]);
    h.run(&["XDEL", "s", "5-2", "200-2", "351-0"]);
    h.run(&["XTRIM", "s", "MINID", "3"]);
    h.run(&["XGROUP", "CREATE", "s", "g1", "0"]);
    h.run(&["XGROUP", "CREATE", "s", "g0", "$", "ENTRIESREAD", "7"]);
    h.run(&[
        "XREADGROUP",
        "GROUP",
        "g1",
        "alice",
        "COUNT",
        "5",
        "STREAMS",
        "s",
        ">",
    ]);
    h.advance_ms(20);
    h.run(&[
        "XREADGROUP",
        "GROUP",
        "g1",
        "bob",
        "COUNT",
        "3",
        "STREAMS",
        "s",
        ">",
    ]);
    h.run(&["XGROUP", "CREATECONSUMER", "s", "g1", "carol"]);
    h.run(&["XCLAIM", "s", "g1", "carol", "0", "4-1", "RETRYCOUNT", "5"]);
    h.run(&[
        "XSETID",
        "s",
        "400-0",
        "ENTRIESADDED",
        "500",
        "MAXDELETEDID",
        "390-0",
    ]);
    h.run(&["XGROUP", "CREATE", "empty", "g", "$", "MKSTREAM"]);
    h
}

/// XINFO STREAM FULL with active times replaced by the seen times.
fn full_info(h: &mut Harness, key: &str) -> Reply {
    let r = h.run(&["XINFO", "STREAM", key, "FULL", "COUNT", "0"]);
    normalise_active(r)
}

fn normalise_active(r: Reply) -> Reply {
    match r {
        Reply::Map(fields) => {
            let seen = fields
                .iter()
                .find(|(k, _)| *k == Reply::bulk(b"seen-time"))
                .map(|(_, v)| v.clone());
            Reply::Map(
                fields
                    .into_iter()
                    .map(|(k, v)| match (&seen, k == Reply::bulk(b"active-time")) {
                        (Some(s), true) => (k, s.clone()),
                        _ => (k, normalise_active(v)),
                    })
                    .collect(),
            )
        }
        Reply::Array(items) => Reply::Array(items.into_iter().map(normalise_active).collect()),
        other => other,
    }
}

#[test]
fn streams_survive_save_and_load() {
    let mut h = build();
    let digest = hex(&dataset_digest(h.ks.dbs()));
    let want = full_info(&mut h, "s");
    let info = SaveInfo {
        redis_ver: "7.2.4".into(),
        ctime: 1_700_000_000,
        used_mem: 1000,
        repl: None,
        functions: Vec::new(),
    };
    let (bytes, _) = write_snapshot(
        h.ks.snapshot(),
        &info,
        &SaveOptions::default(),
        Vec::new(),
        &AtomicBool::new(false),
        &AtomicU64::new(0),
    )
    .expect("save");
    let opts = LoadOptions {
        verify_checksum: true,
        databases: 16,
        limits: Default::default(),
        drop_expired_at_ms: None,
        key_load_delay_us: 0,
        report_expired: false,
    };
    let loaded = load(&bytes[..], &opts, &AtomicU64::new(0)).expect("load");
    assert_eq!(hex(&dataset_digest(&loaded.dbs)), digest);
    let mut back = Harness::new();
    back.ks.replace_all(loaded.dbs);
    assert_eq!(full_info(&mut back, "s"), want);
    assert_eq!(back.run(&["XLEN", "empty"]), Reply::Int(0));
    // The loaded stream keeps working.
    assert_eq!(
        back.run(&["XADD", "s", "*", "a", "b"]),
        Reply::bulk(b"1700000000000-0")
    );
    assert!(matches!(
        back.run(&["XREADGROUP", "GROUP", "g1", "bob", "STREAMS", "s", "0"]),
        Reply::Array(_)
    ));
}

#[test]
fn streams_survive_dump_and_restore() {
    let mut h = build();
    let want = full_info(&mut h, "s");
    let obj = h.ks.db(0).get(b"s").expect("stream");
    let payload = persistence::dump::dump(obj).expect("dump");
    let back = persistence::dump::restore(b"copy", &payload, None, true, &Default::default())
        .expect("restore")
        .expect("a stream, even empty");
    assert_eq!(
        keyspace::digest::value_digest(&back),
        keyspace::digest::value_digest(obj)
    );
    h.ks.put(0, back);
    assert_eq!(full_info(&mut h, "copy"), want);
}
