//! Interop with the real redis-server 7.0 (Debian package):
//! 1. Redis writes a dump covering every type in compact and large encodings;
//!    our Reader must decode every value exactly.
//! 2. Our Writer produces a file; a second redis-server must load it and
//!    serve the same data through commands.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rdb::{
    Consumer, ConsumerGroup, Item, KeyEntry, PendingEntry, Reader, ReaderOptions, Stream,
    StreamEntry, StreamId, Value, Writer, WriterOptions,
};

const REDIS_SERVER: &str = "/usr/bin/redis-server";

// ---------------------------------------------------------------- process --

/// A redis-server child, killed (by pid) and its directory removed on drop.
struct Server {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl Server {
    fn start(name: &str, dbfilename: &str, prepare: impl FnOnce(&Path)) -> Server {
        assert!(
            Path::new(REDIS_SERVER).exists(),
            "{REDIS_SERVER} not found: run the project's setup script, which installs the \
             Debian redis-server package (apt-get install redis-server)"
        );
        let dir = std::env::temp_dir().join(format!("redwing-rdb-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        prepare(&dir);
        // A port picked by `free_port` is free when picked, not necessarily when redis-server
        // binds it (another test's server may take it first): up to 5 ports are tried.
        let mut last = String::new();
        for _ in 0..5 {
            let port = free_port();
            let child = Command::new(REDIS_SERVER)
                .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
                .arg("--dir")
                .arg(&dir)
                .args([
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--dbfilename",
                    dbfilename,
                ])
                .args([
                    "--enable-debug-command",
                    "local",
                    "--list-compress-depth",
                    "1",
                ])
                .arg("--logfile")
                .arg(dir.join("redis.log"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn redis-server");
            let mut server = Server {
                child,
                port,
                dir: dir.clone(),
            };
            match server.wait_ready() {
                Ok(()) => return server,
                Err(e) => {
                    last = e;
                    // Killed, and the next attempt reuses the directory.
                    let _ = server.child.kill();
                    let _ = server.child.wait();
                    std::mem::forget(server);
                }
            }
        }
        panic!("could not start redis-server in 5 attempts: {last}");
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("redis.log")).unwrap_or_default()
    }

    /// Polls PING for up to 20 s, then checks that the server answering is the child started
    /// (INFO `process_id`); an error (with the server log) if it died, never answered, or the
    /// port belongs to someone else.
    fn wait_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!(
                    "redis-server exited ({status}) during startup; log:\n{}",
                    self.log()
                ));
            }
            if let Ok(mut c) = Client::connect(self.port) {
                if c.try_cmd(&["PING"])
                    .is_ok_and(|r| r == Resp::Simple("PONG".into()))
                {
                    let pid = format!("process_id:{}\r\n", self.child.id());
                    return match c.try_cmd(&["INFO", "server"]) {
                        Ok(Resp::Bulk(Some(info)))
                            if info.windows(pid.len()).any(|w| w == pid.as_bytes()) =>
                        {
                            Ok(())
                        }
                        other => Err(format!(
                            "port {} answered for another process: {other:?}",
                            self.port
                        )),
                    };
                }
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "redis-server on port {} did not answer PING within 20 s; log:\n{}",
                    self.port,
                    self.log()
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn client(&self) -> Client {
        Client::connect(self.port).expect("connect to redis-server")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    l.local_addr().unwrap().port()
}

// ------------------------------------------------------------------- RESP --

#[derive(Debug, Clone, PartialEq)]
enum Resp {
    Simple(String),
    Error(String),
    Int(i64),
    Bulk(Option<Vec<u8>>),
    Array(Option<Vec<Resp>>),
}

impl Resp {
    fn bytes(&self) -> Vec<u8> {
        match self {
            Resp::Bulk(Some(b)) => b.clone(),
            Resp::Simple(s) => s.clone().into_bytes(),
            other => panic!("expected a string reply, got {other:?}"),
        }
    }

    fn int(&self) -> i64 {
        match self {
            Resp::Int(i) => *i,
            other => panic!("expected an integer reply, got {other:?}"),
        }
    }

    fn array(&self) -> &[Resp] {
        match self {
            Resp::Array(Some(v)) => v,
            other => panic!("expected an array reply, got {other:?}"),
        }
    }

    fn strings(&self) -> Vec<Vec<u8>> {
        self.array().iter().map(Resp::bytes).collect()
    }
}

struct Client {
    r: BufReader<TcpStream>,
    w: TcpStream,
}

impl Client {
    fn connect(port: u16) -> std::io::Result<Client> {
        let s = TcpStream::connect(("127.0.0.1", port))?;
        s.set_read_timeout(Some(Duration::from_secs(30)))?;
        Ok(Client {
            r: BufReader::new(s.try_clone()?),
            w: s,
        })
    }

    fn try_cmd<A: AsRef<[u8]>>(&mut self, args: &[A]) -> std::io::Result<Resp> {
        let mut out = format!("*{}\r\n", args.len()).into_bytes();
        for a in args {
            let a = a.as_ref();
            out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            out.extend_from_slice(a);
            out.extend_from_slice(b"\r\n");
        }
        self.w.write_all(&out)?;
        self.read()
    }

    /// Sends a command and fails the test on an error reply.
    fn cmd<A: AsRef<[u8]>>(&mut self, args: &[A]) -> Resp {
        let show = || {
            args.iter()
                .map(|a| String::from_utf8_lossy(a.as_ref()).into_owned())
                .collect::<Vec<_>>()
        };
        match self.try_cmd(args) {
            Ok(Resp::Error(e)) => panic!("{:?} -> error {e}", show()),
            Ok(r) => r,
            Err(e) => panic!("{:?} -> I/O error {e}", show()),
        }
    }

    fn read(&mut self) -> std::io::Result<Resp> {
        let mut line = Vec::new();
        self.r.read_until(b'\n', &mut line)?;
        if line.len() < 3 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "short reply",
            ));
        }
        let text = String::from_utf8_lossy(&line[1..line.len() - 2]).into_owned();
        let n = || text.parse::<i64>().expect("RESP length");
        Ok(match line[0] {
            b'+' => Resp::Simple(text.clone()),
            b'-' => Resp::Error(text.clone()),
            b':' => Resp::Int(n()),
            b'$' if n() < 0 => Resp::Bulk(None),
            b'$' => {
                let mut b = vec![0u8; n() as usize + 2];
                self.r.read_exact(&mut b)?;
                b.truncate(b.len() - 2);
                Resp::Bulk(Some(b))
            }
            b'*' if n() < 0 => Resp::Array(None),
            b'*' => Resp::Array(Some(
                (0..n()).map(|_| self.read()).collect::<Result<_, _>>()?,
            )),
            other => panic!("unexpected RESP type byte {other:#x}"),
        })
    }
}

// ---------------------------------------------------------------- helpers --

fn b(s: &str) -> Vec<u8> {
    s.as_bytes().to_vec()
}

/// Collections compared without regard to order.
fn normalise(v: &Value) -> Value {
    match v.clone() {
        Value::Set(mut m) => {
            m.sort();
            Value::Set(m)
        }
        Value::Hash(mut m) => {
            m.sort();
            Value::Hash(m)
        }
        Value::SortedSet(mut m) => {
            m.sort_by(|x, y| x.0.cmp(&y.0));
            Value::SortedSet(m)
        }
        other => other,
    }
}

/// Keys of a dump by (db, key).
type KeysByDb = BTreeMap<(u64, Vec<u8>), KeyEntry>;

fn read_dump(path: &Path) -> (Vec<Item>, KeysByDb) {
    let f = std::fs::File::open(path).expect("open dump");
    let mut r = Reader::new(f, ReaderOptions::default()).expect("header");
    assert_eq!(r.version(), 10, "redis 7.0 writes RDB 10");
    let mut items = Vec::new();
    let mut keys = BTreeMap::new();
    let mut db = 0;
    while let Some(item) = r.next_item().unwrap_or_else(|e| panic!("{e}")) {
        match &item {
            Item::SelectDb(d) => db = *d,
            Item::Key(k) => {
                keys.insert((db, k.key.clone()), k.clone());
            }
            _ => {}
        }
        items.push(item);
    }
    assert_eq!(items.last(), Some(&Item::Eof));
    (items, keys)
}

// ------------------------------------------------ 1. Redis writes, we read --

/// Commands building the dataset, and the values each key must decode to.
struct Dataset {
    expected: BTreeMap<(u64, Vec<u8>), Value>,
}

impl Dataset {
    fn put(&mut self, db: u64, key: &str, v: Value) {
        self.expected.insert((db, b(key)), v);
    }
}

fn build_strings_lists_sets(c: &mut Client, d: &mut Dataset) {
    let long = "redwing-compressible-".repeat(200);
    let binary: Vec<u8> = (0..=255u8).collect();
    for (k, v) in [
        ("str:small", b("hello")),
        ("str:int", b("12345")),
        ("str:neg", b("-42")),
        ("str:bigint", b("123456789012")),
        ("str:long", b(&long)),
        ("str:bin", binary),
    ] {
        c.cmd(&[b("SET"), b(k), v.clone()]);
        d.put(0, k, Value::String(v));
    }
    c.cmd(&["RPUSH", "list:small", "a", "b", "1", "-2"]);
    d.put(
        0,
        "list:small",
        Value::List(vec![b("a"), b("b"), b("1"), b("-2")]),
    );
    // Elements of 1000+ bytes become PLAIN quicklist nodes after this.
    c.cmd(&["DEBUG", "QUICKLIST-PACKED-THRESHOLD", "1000"]);
    let mut large = Vec::new();
    for i in 0..2000 {
        let item = if i % 500 == 7 {
            "P".repeat(3000 + i)
        } else {
            format!("element:{i}")
        };
        c.cmd(&["RPUSH", "list:large", &item]);
        large.push(b(&item));
    }
    d.put(0, "list:large", Value::List(large));
    c.cmd(&["SADD", "set:int", "1", "2", "3", "-5", "100000"]);
    d.put(
        0,
        "set:int",
        Value::Set(["1", "2", "3", "-5", "100000"].map(b).to_vec()),
    );
    c.cmd(&["SADD", "set:str", "a", "b", "c"]);
    d.put(0, "set:str", Value::Set(["a", "b", "c"].map(b).to_vec()));
    let members: Vec<String> = (0..600).map(|i| format!("member:{i}")).collect();
    let mut args = vec!["SADD".to_string(), "set:large".into()];
    args.extend(members.iter().cloned());
    c.cmd(&args);
    d.put(
        0,
        "set:large",
        Value::Set(members.iter().map(|m| b(m)).collect()),
    );
}

fn build_hashes_zsets(c: &mut Client, d: &mut Dataset) {
    c.cmd(&["HSET", "hash:small", "f1", "v1", "f2", "2"]);
    d.put(
        0,
        "hash:small",
        Value::Hash(vec![(b("f1"), b("v1")), (b("f2"), b("2"))]),
    );
    let mut args = vec![b("HSET"), b("hash:large")];
    let mut pairs = Vec::new();
    for i in 0..600 {
        let (f, v) = (format!("field:{i}"), format!("value:{}", i * 7));
        args.push(b(&f));
        args.push(b(&v));
        pairs.push((b(&f), b(&v)));
    }
    c.cmd(&args);
    d.put(0, "hash:large", Value::Hash(pairs));
    c.cmd(&[
        "ZADD",
        "zset:small",
        "1.5",
        "a",
        "-2",
        "b",
        "inf",
        "c",
        "3",
        "d",
    ]);
    d.put(
        0,
        "zset:small",
        Value::SortedSet(vec![
            (b("a"), 1.5),
            (b("b"), -2.0),
            (b("c"), f64::INFINITY),
            (b("d"), 3.0),
        ]),
    );
    let mut args = vec![
        b("ZADD"),
        b("zset:large"),
        b("-inf"),
        b("bottom"),
        b("+inf"),
        b("top"),
    ];
    let mut members = vec![(b("bottom"), f64::NEG_INFINITY), (b("top"), f64::INFINITY)];
    for i in 0..300 {
        let score = i as f64 / 8.0 - 7.3;
        args.push(format!("{score}").into_bytes());
        args.push(format!("z{i}").into_bytes());
        members.push((format!("z{i}").into_bytes(), score));
    }
    c.cmd(&args);
    d.put(0, "zset:large", Value::SortedSet(members));
}

fn build_streams(c: &mut Client, d: &mut Dataset) {
    for i in 1..=6 {
        c.cmd(&[
            "XADD",
            "stream:small",
            &format!("1000-{i}"),
            "temp",
            &format!("{}", 20 + i),
            "unit",
            "C",
        ]);
    }
    c.cmd(&["XADD", "stream:small", "2000-0", "other", "fields"]);
    c.cmd(&["XDEL", "stream:small", "1000-3"]);
    c.cmd(&["XGROUP", "CREATE", "stream:small", "g1", "0"]);
    c.cmd(&[
        "XREADGROUP",
        "GROUP",
        "g1",
        "alice",
        "COUNT",
        "2",
        "STREAMS",
        "stream:small",
        ">",
    ]);
    c.cmd(&[
        "XREADGROUP",
        "GROUP",
        "g1",
        "bob",
        "COUNT",
        "1",
        "STREAMS",
        "stream:small",
        ">",
    ]);
    c.cmd(&["XGROUP", "CREATE", "stream:small", "g2", "$"]);
    let mut entries = Vec::new();
    for i in 0..250u64 {
        let id = format!("{}-{}", 5000 + i / 2, i % 2);
        let v = format!("payload-{i}");
        c.cmd(&["XADD", "stream:large", &id, "k", &v]);
        entries.push(StreamEntry {
            id: StreamId::new(5000 + i / 2, i % 2),
            fields: vec![(b("k"), b(&v))],
        });
    }
    let last = entries[249].id;
    d.put(
        0,
        "stream:large",
        Value::Stream(Box::new(Stream {
            length: 250,
            last_id: last,
            first_id: entries[0].id,
            entries_added: 250,
            entries,
            ..Stream::default()
        })),
    );
}

/// entries-read per group as XINFO GROUPS reports it (nil = unknown = -1).
fn entries_read_via_xinfo(c: &mut Client, key: &str) -> BTreeMap<Vec<u8>, i64> {
    let groups = c.cmd(&["XINFO", "GROUPS", key]);
    groups
        .array()
        .iter()
        .map(|g| {
            let f = g.array();
            let get = |name: &str| {
                f.chunks(2)
                    .find(|p| p[0].bytes() == name.as_bytes())
                    .unwrap()[1]
                    .clone()
            };
            let read = match get("entries-read") {
                Resp::Bulk(None) => -1,
                r => r.int(),
            };
            (get("name").bytes(), read)
        })
        .collect()
}

fn check_small_stream(s: &Stream, entries_read: &BTreeMap<Vec<u8>, i64>) {
    let ids: Vec<String> = s.entries.iter().map(|e| e.id.to_string()).collect();
    assert_eq!(
        ids,
        ["1000-1", "1000-2", "1000-4", "1000-5", "1000-6", "2000-0"]
    );
    assert_eq!(
        s.entries[0].fields,
        vec![(b("temp"), b("21")), (b("unit"), b("C"))]
    );
    assert_eq!(s.entries[5].fields, vec![(b("other"), b("fields"))]);
    assert_eq!((s.length, s.entries_added), (6, 7));
    assert_eq!(s.last_id, StreamId::new(2000, 0));
    assert_eq!(s.first_id, StreamId::new(1000, 1));
    assert_eq!(s.max_deleted_id, StreamId::new(1000, 3));
    let g1 = s.groups.iter().find(|g| g.name == b"g1").expect("group g1");
    assert_eq!(g1.last_id, StreamId::new(1000, 4));
    assert_eq!(g1.entries_read, entries_read[&b("g1")]);
    let pel: Vec<String> = g1.pel.iter().map(|p| p.id.to_string()).collect();
    assert_eq!(pel, ["1000-1", "1000-2", "1000-4"]);
    assert!(g1
        .pel
        .iter()
        .all(|p| p.delivery_count == 1 && p.delivery_time_ms > 1_600_000_000_000));
    let alice = g1
        .consumers
        .iter()
        .find(|c| c.name == b"alice")
        .expect("alice");
    assert_eq!(
        alice.pending,
        [StreamId::new(1000, 1), StreamId::new(1000, 2)]
    );
    let bob = g1.consumers.iter().find(|c| c.name == b"bob").expect("bob");
    assert_eq!(bob.pending, [StreamId::new(1000, 4)]);
    let g2 = s.groups.iter().find(|g| g.name == b"g2").expect("group g2");
    assert_eq!(
        (g2.last_id, g2.entries_read),
        (StreamId::new(2000, 0), entries_read[&b("g2")])
    );
    assert!(g2.pel.is_empty() && g2.consumers.is_empty());
}

#[test]
fn reader_decodes_every_type_redis_saves() {
    let server = Server::start("save", "dump.rdb", |_| {});
    let mut c = server.client();
    let mut d = Dataset {
        expected: BTreeMap::new(),
    };
    build_strings_lists_sets(&mut c, &mut d);
    build_hashes_zsets(&mut c, &mut d);
    build_streams(&mut c, &mut d);
    c.cmd(&["SET", "exp:key", "soon"]);
    c.cmd(&["PEXPIREAT", "exp:key", "4102444800123"]);
    d.put(0, "exp:key", Value::String(b("soon")));
    c.cmd(&[
        "FUNCTION",
        "LOAD",
        "#!lua name=rwlib\nredis.register_function('rwf', function() return 1 end)",
    ]);
    c.cmd(&["SELECT", "1"]);
    c.cmd(&["SET", "db1:key", "in db one"]);
    d.put(1, "db1:key", Value::String(b("in db one")));
    c.cmd(&["SELECT", "5"]);
    c.cmd(&["HSET", "db5:hash", "a", "1"]);
    d.put(5, "db5:hash", Value::Hash(vec![(b("a"), b("1"))]));
    c.cmd(&["SELECT", "0"]);
    // The dataset really exercises the compact and the large encodings.
    for (key, enc) in [
        ("set:int", "intset"),
        ("set:str", "hashtable"),
        ("set:large", "hashtable"),
        ("hash:small", "listpack"),
        ("hash:large", "hashtable"),
        ("zset:small", "listpack"),
        ("zset:large", "skiplist"),
        ("list:large", "quicklist"),
        ("str:long", "raw"),
        ("str:int", "int"),
    ] {
        assert_eq!(c.cmd(&["OBJECT", "ENCODING", key]).bytes(), b(enc), "{key}");
    }
    let entries_read = entries_read_via_xinfo(&mut c, "stream:small");
    c.cmd(&["SAVE"]);

    let (items, keys) = read_dump(&server.dir.join("dump.rdb"));
    assert!(items.iter().any(
        |i| matches!(i, Item::Aux { key, value } if key == b"redis-ver" && value == b"7.0.15")
    ));
    assert!(items
        .iter()
        .any(|i| matches!(i, Item::Function(code) if code.starts_with(b"#!lua name=rwlib"))));
    let dbs: Vec<u64> = items
        .iter()
        .filter_map(|i| {
            if let Item::SelectDb(d) = i {
                Some(*d)
            } else {
                None
            }
        })
        .collect();
    assert_eq!(dbs, [0, 1, 5]);
    assert_eq!(keys[&(0, b("exp:key"))].expire_ms, Some(4_102_444_800_123));
    assert_eq!(keys[&(0, b("str:small"))].expire_ms, None);
    let Value::Stream(small) = &keys[&(0, b("stream:small"))].value else {
        panic!("stream:small")
    };
    check_small_stream(small, &entries_read);
    for ((db, key), want) in &d.expected {
        let got = &keys
            .get(&(*db, key.clone()))
            .unwrap_or_else(|| panic!("missing key {}", String::from_utf8_lossy(key)))
            .value;
        assert_eq!(
            normalise(got),
            normalise(want),
            "key {} in db {db}",
            String::from_utf8_lossy(key)
        );
    }
    assert_eq!(keys.len(), d.expected.len() + 1, "unexpected extra keys");
}

// ------------------------------------------------ 2. we write, Redis reads --

fn our_stream() -> Stream {
    let entries: Vec<StreamEntry> = (0..150u64)
        .map(|i| StreamEntry {
            id: StreamId::new(1_700_000_000_000 + i, i % 3),
            fields: if i % 10 == 0 {
                vec![(b("odd"), format!("{i}").into_bytes())]
            } else {
                vec![
                    (b("n"), format!("{i}").into_bytes()),
                    (b("sq"), format!("{}", i * i).into_bytes()),
                ]
            },
        })
        .collect();
    let pending = |i: usize| entries[i].id;
    Stream {
        length: 150,
        last_id: entries[149].id,
        first_id: entries[0].id,
        max_deleted_id: StreamId::new(0, 0),
        entries_added: 150,
        groups: vec![ConsumerGroup {
            name: b("workers"),
            last_id: pending(3),
            entries_read: 4,
            pel: (1..4)
                .map(|i| PendingEntry {
                    id: pending(i),
                    delivery_time_ms: 1_700_000_000_500,
                    delivery_count: i as u64,
                })
                .collect(),
            consumers: vec![
                Consumer {
                    name: b("w1"),
                    seen_time_ms: 1_700_000_001_000,
                    active_time_ms: 1_700_000_001_000,
                    pending: vec![pending(1), pending(3)],
                },
                Consumer {
                    name: b("w2"),
                    seen_time_ms: 1_700_000_002_000,
                    active_time_ms: 1_700_000_002_000,
                    pending: vec![pending(2)],
                },
            ],
        }],
        entries,
    }
}

fn our_keys() -> Vec<(u64, KeyEntry)> {
    let long = "redwing writes compressible strings ".repeat(50);
    let big_list: Vec<Vec<u8>> = (0..1000).map(|i| format!("L{i}").into_bytes()).collect();
    let zset: Vec<(Vec<u8>, f64)> = (0..200)
        .map(|i| (format!("m{i}").into_bytes(), (i as f64) * 0.25 - 10.0))
        .chain([(b("ninf"), f64::NEG_INFINITY), (b("pinf"), f64::INFINITY)])
        .collect();
    vec![
        (0, KeyEntry::new("s:plain", Value::String(b("hello world")))),
        (0, KeyEntry::new("s:int", Value::String(b("-123456")))),
        (0, KeyEntry::new("s:long", Value::String(b(&long)))),
        (
            0,
            KeyEntry {
                expire_ms: Some(4_102_444_800_000),
                ..KeyEntry::new("s:ttl", Value::String(b("bye")))
            },
        ),
        (0, KeyEntry::new("l:big", Value::List(big_list))),
        (
            0,
            KeyEntry::new("set", Value::Set(vec![b("x"), b("7"), b("y")])),
        ),
        (
            0,
            KeyEntry::new(
                "h",
                Value::Hash(vec![
                    (b("f"), b("v")),
                    (b("n"), b("1")),
                    (b("long"), b(&long)),
                ]),
            ),
        ),
        (0, KeyEntry::new("z", Value::SortedSet(zset))),
        (
            0,
            KeyEntry::new("st", Value::Stream(Box::new(our_stream()))),
        ),
        (
            2,
            KeyEntry {
                idle_secs: Some(10),
                ..KeyEntry::new("db2:list", Value::List(vec![b("only")]))
            },
        ),
    ]
}

fn write_our_file(path: &Path) {
    let keys = our_keys();
    let mut w = Writer::new(
        std::fs::File::create(path).unwrap(),
        WriterOptions::default(),
    );
    w.header(10).unwrap();
    w.aux(b"redis-ver", b"7.0.15").unwrap();
    w.aux(b"redis-bits", b"64").unwrap();
    w.function(b"#!lua name=ourlib\nredis.register_function('ourf', function() return 42 end)")
        .unwrap();
    for db in [0u64, 2] {
        let in_db: Vec<&KeyEntry> = keys
            .iter()
            .filter(|(d, _)| *d == db)
            .map(|(_, k)| k)
            .collect();
        w.select_db(db).unwrap();
        let expires = in_db.iter().filter(|k| k.expire_ms.is_some()).count() as u64;
        w.resize_db(in_db.len() as u64, expires).unwrap();
        for k in in_db {
            w.key(k).unwrap();
        }
    }
    w.finish().unwrap();
}

fn check_values_via_commands(c: &mut Client) {
    for (db, k) in our_keys() {
        c.cmd(&["SELECT", &db.to_string()]);
        let key = k.key.clone();
        match &k.value {
            Value::String(s) => assert_eq!(c.cmd(&[b("GET"), key.clone()]).bytes(), *s),
            Value::List(l) => assert_eq!(
                c.cmd(&[b("LRANGE"), key.clone(), b("0"), b("-1")])
                    .strings(),
                *l
            ),
            Value::Set(m) => {
                let mut got = c.cmd(&[b("SMEMBERS"), key.clone()]).strings();
                got.sort();
                assert_eq!(Value::Set(got), normalise(&k.value));
                let _ = m;
            }
            Value::Hash(_) => {
                let flat = c.cmd(&[b("HGETALL"), key.clone()]).strings();
                let pairs = flat
                    .chunks(2)
                    .map(|p| (p[0].clone(), p[1].clone()))
                    .collect();
                assert_eq!(normalise(&Value::Hash(pairs)), normalise(&k.value));
            }
            Value::SortedSet(_) => {
                let flat = c
                    .cmd(&[b("ZRANGE"), key.clone(), b("0"), b("-1"), b("WITHSCORES")])
                    .strings();
                let got: Vec<(Vec<u8>, f64)> = flat
                    .chunks(2)
                    .map(|p| (p[0].clone(), rdb_score(&p[1])))
                    .collect();
                assert!(
                    got.windows(2).all(|w| w[0].1 <= w[1].1),
                    "ZRANGE is ordered by score"
                );
                assert_eq!(normalise(&Value::SortedSet(got)), normalise(&k.value));
            }
            Value::Stream(s) => check_stream_via_commands(c, &key, s),
        }
    }
}

fn rdb_score(text: &[u8]) -> f64 {
    std::str::from_utf8(text).unwrap().parse().unwrap()
}

fn check_stream_via_commands(c: &mut Client, key: &[u8], s: &Stream) {
    let range = c.cmd(&[b("XRANGE"), key.to_vec(), b("-"), b("+")]);
    let got: Vec<StreamEntry> = range
        .array()
        .iter()
        .map(|e| {
            let parts = e.array();
            let id = String::from_utf8(parts[0].bytes()).unwrap();
            let (ms, seq) = id.split_once('-').unwrap();
            let flat = parts[1].strings();
            StreamEntry {
                id: StreamId::new(ms.parse().unwrap(), seq.parse().unwrap()),
                fields: flat
                    .chunks(2)
                    .map(|p| (p[0].clone(), p[1].clone()))
                    .collect(),
            }
        })
        .collect();
    assert_eq!(got, s.entries);
    let groups = c.cmd(&[b("XINFO"), b("GROUPS"), key.to_vec()]);
    let g = groups.array()[0].array();
    let field = |name: &str| {
        g.chunks(2)
            .find(|p| p[0].bytes() == name.as_bytes())
            .map(|p| p[1].clone())
            .unwrap()
    };
    assert_eq!(field("name").bytes(), b("workers"));
    assert_eq!(field("consumers").int(), 2);
    assert_eq!(field("pending").int(), 3);
    assert_eq!(
        field("last-delivered-id").bytes(),
        s.groups[0].last_id.to_string().into_bytes()
    );
    assert_eq!(field("entries-read").int(), 4);
    assert_eq!(field("lag").int(), 146);
    let consumers = c.cmd(&[b("XINFO"), b("CONSUMERS"), key.to_vec(), b("workers")]);
    let pending: Vec<i64> = consumers
        .array()
        .iter()
        .map(|cons| {
            let f = cons.array();
            f.chunks(2).find(|p| p[0].bytes() == b"pending").unwrap()[1].int()
        })
        .collect();
    assert_eq!(pending, [2, 1]);
    let xlen = c.cmd(&[b("XLEN"), key.to_vec()]).int();
    assert_eq!(xlen as u64, s.length);
}

#[test]
fn redis_loads_what_the_writer_writes() {
    let server = Server::start("load", "ours.rdb", |dir| {
        write_our_file(&dir.join("ours.rdb"))
    });
    assert!(
        server.log().contains("Done loading RDB"),
        "log:\n{}",
        server.log()
    );
    let mut c = server.client();
    assert_eq!(c.cmd(&["DBSIZE"]).int(), 9);
    c.cmd(&["SELECT", "2"]);
    assert_eq!(c.cmd(&["DBSIZE"]).int(), 1);
    c.cmd(&["SELECT", "0"]);
    let ttl = c.cmd(&["TTL", "s:ttl"]).int();
    assert!(ttl > 1_000_000_000, "TTL {ttl}");
    assert_eq!(c.cmd(&["PEXPIRETIME", "s:ttl"]).int(), 4_102_444_800_000);
    assert_eq!(c.cmd(&["TTL", "s:plain"]).int(), -1);
    assert_eq!(c.cmd(&["FCALL", "ourf", "0"]).int(), 42);
    check_values_via_commands(&mut c);
    // And what Redis saves back from our data reads the same through our reader.
    c.cmd(&["SAVE"]);
    let (_, keys) = read_dump(&server.dir.join("ours.rdb"));
    for (db, k) in our_keys() {
        let got = &keys[&(db, k.key.clone())];
        assert_eq!(
            normalise(&got.value),
            normalise(&k.value),
            "{}",
            String::from_utf8_lossy(&k.key)
        );
        assert_eq!(got.expire_ms, k.expire_ms);
    }
}
