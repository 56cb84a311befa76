//! Protocol and limits: bad input and resource limits against a real Redwing process.
//!
//! Each test starts its own server on an ephemeral port. Raw sockets are used wherever the test
//! is about bytes on the wire (partial frames, invalid lengths, inline commands); `Conn` where it
//! is about commands. Every asynchronous condition is awaited with `wait_for`, every loop is
//! bounded. The expected error strings are Redis's; `PROTOCOL_REFERENCE=redis` runs the same
//! tests against redis-server to check the expectations themselves.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};

use resp::frame::Frame;
use testkit::{wait_for, Conn, ServerProc};

const WAIT: Duration = Duration::from_secs(10);

fn reference_is_redis() -> bool {
    std::env::var("PROTOCOL_REFERENCE").as_deref() == Ok("redis")
}

/// Starts Redwing (or redis-server with `PROTOCOL_REFERENCE=redis`) with extra arguments.
fn start(extra: &[&str]) -> ServerProc {
    std::env::set_var("REDWING_BIN", env!("CARGO_BIN_EXE_redwing-server"));
    if reference_is_redis() {
        ServerProc::redis(extra)
    } else {
        ServerProc::redwing(extra)
    }
}

fn raw(port: u16) -> TcpStream {
    let s = TcpStream::connect(("127.0.0.1", port)).unwrap_or_else(|e| panic!("connect: {e}"));
    s.set_nodelay(true).expect("nodelay");
    s.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("read timeout");
    s.set_write_timeout(Some(Duration::from_secs(5)))
        .expect("write timeout");
    s
}

fn send(s: &mut TcpStream, bytes: &[u8]) {
    s.write_all(bytes)
        .unwrap_or_else(|e| panic!("write {:?}: {e}", String::from_utf8_lossy(bytes)));
}

/// Reads exactly `n` bytes (bounded by the socket's read timeout).
fn read_exact(s: &mut TcpStream, n: usize) -> Vec<u8> {
    let mut buf = vec![0u8; n];
    s.read_exact(&mut buf)
        .unwrap_or_else(|e| panic!("reading {n} bytes: {e}"));
    buf
}

/// Reads one `\r\n`-terminated line, without the terminator.
fn read_line(s: &mut TcpStream) -> String {
    let mut line = Vec::new();
    let mut b = [0u8; 1];
    while !line.ends_with(b"\r\n") {
        assert!(line.len() < 64 * 1024, "line too long");
        s.read_exact(&mut b)
            .unwrap_or_else(|e| panic!("reading a line: {e}"));
        line.push(b[0]);
    }
    line.truncate(line.len() - 2);
    String::from_utf8_lossy(&line).into_owned()
}

fn expect_reply(s: &mut TcpStream, expected: &[u8]) {
    let got = read_exact(s, expected.len());
    assert_eq!(
        String::from_utf8_lossy(&got),
        String::from_utf8_lossy(expected)
    );
}

/// Reads until the server closes the connection; returns what it sent first. Panics if the
/// connection is still open after `WAIT` or more than `limit` bytes arrive.
fn read_until_closed(s: &mut TcpStream, limit: usize) -> Vec<u8> {
    let start = Instant::now();
    let mut out = Vec::new();
    let mut chunk = [0u8; 65536];
    s.set_read_timeout(Some(Duration::from_millis(200)))
        .expect("read timeout");
    loop {
        match s.read(&mut chunk) {
            Ok(0) => return out,
            Ok(n) => {
                out.extend_from_slice(&chunk[..n]);
                assert!(out.len() <= limit, "more than {limit} bytes before close");
            }
            Err(e) if e.kind() == ErrorKind::ConnectionReset => return out,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) => panic!("read error: {e}"),
        }
        assert!(
            start.elapsed() < WAIT,
            "connection still open after {WAIT:?}; received {:?}",
            String::from_utf8_lossy(&out[..out.len().min(200)])
        );
    }
}

/// True if nothing arrives within `ms` (the server is waiting for more input).
fn silent_for(s: &mut TcpStream, ms: u64) -> bool {
    s.set_read_timeout(Some(Duration::from_millis(ms)))
        .expect("read timeout");
    let mut b = [0u8; 1];
    let silent = match s.read(&mut b) {
        Err(e) => matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
        Ok(_) => false,
    };
    s.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("read timeout");
    silent
}

fn connected_clients(c: &mut Conn) -> i64 {
    c.info_field("clients", "connected_clients")
        .and_then(|v| v.parse().ok())
        .unwrap_or(-1)
}

#[test]
fn partial_frames_complete_when_the_rest_arrives() {
    let srv = start(&[]);
    let mut s = raw(srv.port);
    send(&mut s, b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhel");
    assert!(silent_for(&mut s, 200), "replied to a partial command");
    send(&mut s, b"lo\r\n");
    expect_reply(&mut s, b"+OK\r\n");
    // Cut inside a bulk header, then inside the multibulk count.
    send(&mut s, b"*2\r\n$3\r\nGE");
    assert!(silent_for(&mut s, 100));
    send(&mut s, b"T\r\n$");
    assert!(silent_for(&mut s, 100));
    send(&mut s, b"1\r\nk\r\n*");
    expect_reply(&mut s, b"$5\r\nhello\r\n");
    send(&mut s, b"1\r\n$4\r\nPING\r");
    assert!(silent_for(&mut s, 100));
    send(&mut s, b"\n");
    expect_reply(&mut s, b"+PONG\r\n");
}

#[test]
fn byte_at_a_time_input() {
    let srv = start(&[]);
    let mut s = raw(srv.port);
    let input = b"*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$6\r\nva\r\nlu\r\nGET key\r\n*1\r\n$4\r\nPING\r\nECHO \"a b\"\r\n";
    for b in input.iter() {
        send(&mut s, std::slice::from_ref(b));
    }
    expect_reply(&mut s, b"+OK\r\n$6\r\nva\r\nlu\r\n+PONG\r\n$3\r\na b\r\n");
}

#[test]
fn a_thousand_pipelined_commands_in_one_write() {
    let srv = start(&[]);
    let mut c = srv.conn();
    let mut out = Vec::new();
    for _ in 0..1000 {
        resp::reply::encode_command(&mut out, &["INCR", "counter"]);
    }
    resp::reply::encode_command(&mut out, &["GET", "counter"]);
    c.write_raw(&out);
    for i in 1..=1000 {
        assert_eq!(c.read_frame(), Frame::Int(i), "reply {i}");
    }
    assert_eq!(c.read_frame().text(), "1000");
}

/// A pipeline is parsed ahead of execution (to prefetch keys); commands after one that
/// blocks must still wait for it, and run in order once it is served.
#[test]
fn commands_pipelined_after_a_blocking_command_wait_for_it() {
    let srv = start(&[]);
    let mut c = srv.conn();
    let mut out = Vec::new();
    resp::reply::encode_command(&mut out, &["SET", "k", "before"]);
    resp::reply::encode_command(&mut out, &["BLPOP", "q", "0"]);
    resp::reply::encode_command(&mut out, &["GET", "k"]);
    resp::reply::encode_command(&mut out, &["LLEN", "q"]);
    c.write_raw(&out);
    assert_eq!(c.read_frame().text(), "OK");
    let mut other = srv.conn();
    wait_for("the BLPOP client to block", WAIT, || {
        other.info_field("clients", "blocked_clients").as_deref() == Some("1")
    });
    // Changed while the client is blocked: the queued GET must see the new value.
    assert_eq!(other.text(&["SET", "k", "after"]), "OK");
    assert_eq!(other.int(&["RPUSH", "q", "a", "b"]), 2);
    match c.read_frame() {
        Frame::Array(items) => assert_eq!(items.len(), 2, "BLPOP reply"),
        f => panic!("BLPOP replied {f:?}"),
    }
    assert_eq!(c.read_frame().text(), "after");
    assert_eq!(c.read_frame(), Frame::Int(1));
}

/// A client that writes commands and closes at once: the commands still run (as in Redis).
#[test]
fn commands_sent_just_before_close_are_executed() {
    let srv = start(&[]);
    let mut s = raw(srv.port);
    let mut out = Vec::new();
    resp::reply::encode_command(&mut out, &["SET", "written", "then-closed"]);
    resp::reply::encode_command(&mut out, &["INCR", "n"]);
    send(&mut s, &out);
    s.shutdown(Shutdown::Both).expect("shutdown");
    drop(s);
    let mut c = srv.conn();
    wait_for("the commands to be applied", WAIT, || {
        c.cmd(&["GET", "written"]).text() == "then-closed"
    });
    assert_eq!(c.text(&["GET", "n"]), "1");
}

/// Commands before a malformed request in the same write are answered; then the error.
#[test]
fn a_protocol_error_after_valid_pipelined_commands() {
    let srv = start(&[]);
    let mut s = raw(srv.port);
    send(
        &mut s,
        b"*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n*1\r\n$4\r\nPING\r\n*1\r\n$x\r\n",
    );
    let got = read_until_closed(&mut s, 4096);
    assert_eq!(
        String::from_utf8_lossy(&got),
        "+OK\r\n+PONG\r\n-ERR Protocol error: invalid bulk length\r\n"
    );
    let mut c = srv.conn();
    assert_eq!(c.text(&["GET", "a"]), "1");
}

/// CLIENT PAUSE holds the first write of a pipeline; everything after it waits too.
#[test]
fn a_paused_pipeline_resumes_in_order() {
    let srv = start(&[]);
    let mut admin = srv.conn();
    assert_eq!(admin.text(&["CLIENT", "PAUSE", "100000", "WRITE"]), "OK");
    let mut s = raw(srv.port);
    let mut out = Vec::new();
    resp::reply::encode_command(&mut out, &["GET", "n"]);
    resp::reply::encode_command(&mut out, &["INCR", "n"]);
    resp::reply::encode_command(&mut out, &["GET", "n"]);
    send(&mut s, &out);
    expect_reply(&mut s, b"$-1\r\n");
    assert!(
        silent_for(&mut s, 300),
        "the INCR and what follows it are held"
    );
    assert_eq!(admin.text(&["CLIENT", "UNPAUSE"]), "OK");
    expect_reply(&mut s, b":1\r\n$1\r\n1\r\n");
}

#[test]
fn inline_commands_with_quotes() {
    let srv = start(&[]);
    let mut s = raw(srv.port);
    send(&mut s, b"SET \"a b\" 'c d'\r\n");
    expect_reply(&mut s, b"+OK\r\n");
    send(&mut s, b"GET \"a b\"\r\n");
    expect_reply(&mut s, b"$3\r\nc d\r\n");
    send(&mut s, b"ECHO \"\\x41\\tB\\n\" 'it\\'s'\r\n");
    expect_reply(
        &mut s,
        b"-ERR wrong number of arguments for 'echo' command\r\n",
    );
    send(&mut s, b"ECHO \"\\x41\\tB\\n\"\r\n");
    expect_reply(&mut s, b"$4\r\nA\tB\n\r\n");
    send(&mut s, b"ECHO 'it\\'s'\n");
    expect_reply(&mut s, b"$4\r\nit's\r\n");
    // Empty lines are skipped without a reply.
    send(&mut s, b"\r\n\n   \r\nPING\r\n");
    expect_reply(&mut s, b"+PONG\r\n");
    send(&mut s, b"SET \"unbalanced x\r\n");
    let rest = read_until_closed(&mut s, 1024);
    assert_eq!(
        String::from_utf8_lossy(&rest),
        "-ERR Protocol error: unbalanced quotes in request\r\n"
    );
    let mut s = raw(srv.port);
    send(&mut s, b"ECHO \"closing\"quote\r\n");
    let rest = read_until_closed(&mut s, 1024);
    assert_eq!(
        String::from_utf8_lossy(&rest),
        "-ERR Protocol error: unbalanced quotes in request\r\n"
    );
}

#[test]
fn invalid_lengths_reply_with_the_redis_error_then_close() {
    let srv = start(&[]);
    let long_digits = vec![b'1'; 70 * 1024];
    let mut too_big_mbulk = b"*".to_vec();
    too_big_mbulk.extend_from_slice(&long_digits);
    let mut too_big_bulk = b"*1\r\n$".to_vec();
    too_big_bulk.extend_from_slice(&long_digits);
    let too_big_inline = vec![b'a'; 70 * 1024];
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (b"*abc\r\n".to_vec(), "invalid multibulk length"),
        (b"*2147483648\r\n".to_vec(), "invalid multibulk length"),
        (b"*1x\r\n".to_vec(), "invalid multibulk length"),
        (b"*1\r\n$abc\r\n".to_vec(), "invalid bulk length"),
        (b"*1\r\n$-1\r\n".to_vec(), "invalid bulk length"),
        (b"*1\r\n$ 3\r\nGET\r\n".to_vec(), "invalid bulk length"),
        (b"*1\r\n$4294967296\r\n".to_vec(), "invalid bulk length"),
        (b"*1\r\nGET\r\n".to_vec(), "expected '$', got 'G'"),
        (
            b"*2\r\n$3\r\nGET\r\n:1\r\n".to_vec(),
            "expected '$', got ':'",
        ),
        (too_big_mbulk, "too big mbulk count string"),
        (too_big_bulk, "too big bulk count string"),
        (too_big_inline, "too big inline request"),
    ];
    for (input, what) in cases {
        let mut s = raw(srv.port);
        // A valid command first: the connection is healthy until the bad frame.
        send(&mut s, b"PING\r\n");
        expect_reply(&mut s, b"+PONG\r\n");
        send(&mut s, &input);
        let got = read_until_closed(&mut s, 4096);
        assert_eq!(
            String::from_utf8_lossy(&got),
            format!("-ERR Protocol error: {what}\r\n"),
            "input {:?}",
            String::from_utf8_lossy(&input[..input.len().min(40)])
        );
    }
    // The server is fine afterwards.
    assert_eq!(srv.conn().text(&["PING"]), "PONG");
}

#[test]
fn bulks_larger_than_proto_max_bulk_len() {
    let srv = start(&[]);
    let mut c = srv.conn();
    assert_eq!(
        c.text(&["CONFIG", "SET", "proto-max-bulk-len", "1mb"]),
        "OK"
    );
    // At the limit: accepted.
    let at_limit = vec![b'x'; 1024 * 1024];
    let reply = c.cmd_bytes(&[b"SET", b"k", &at_limit]);
    assert_eq!(reply.text(), "OK");
    assert_eq!(c.int(&["STRLEN", "k"]), 1024 * 1024);
    // Growing a string past it is an error that keeps the client.
    match c.cmd(&["APPEND", "k", "y"]) {
        Frame::Error(e) => assert_eq!(
            e,
            "ERR string exceeds maximum allowed size (proto-max-bulk-len)"
        ),
        other => panic!("APPEND past the limit replied {other:?}"),
    }
    match c.cmd(&["SETRANGE", "k2", "1048576", "y"]) {
        Frame::Error(e) => assert_eq!(
            e,
            "ERR string exceeds maximum allowed size (proto-max-bulk-len)"
        ),
        other => panic!("SETRANGE past the limit replied {other:?}"),
    }
    assert_eq!(c.text(&["PING"]), "PONG");
    // One byte over in a request: protocol error, connection closed.
    let mut s = raw(srv.port);
    send(&mut s, b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1048577\r\n");
    let got = read_until_closed(&mut s, 4096);
    assert_eq!(
        String::from_utf8_lossy(&got),
        "-ERR Protocol error: invalid bulk length\r\n"
    );
    assert_eq!(c.int(&["STRLEN", "k"]), 1024 * 1024);
}

#[test]
fn query_buffer_limit_closes_the_client() {
    let srv = start(&[]);
    let mut c = srv.conn();
    assert_eq!(
        c.text(&["CONFIG", "SET", "client-query-buffer-limit", "1mb"]),
        "OK"
    );
    let mut s = raw(srv.port);
    // A 100 MB bulk is within proto-max-bulk-len, but buffering it exceeds the query limit.
    send(&mut s, b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$104857600\r\n");
    let chunk = vec![b'z'; 64 * 1024];
    let mut written = 0usize;
    while written < 16 * 1024 * 1024 {
        if s.write_all(&chunk).is_err() {
            break;
        }
        written += chunk.len();
    }
    let got = read_until_closed(&mut s, 4096);
    assert!(
        got.is_empty(),
        "unexpected reply {:?}",
        String::from_utf8_lossy(&got)
    );
    wait_for("the flooding client to be gone", WAIT, || {
        connected_clients(&mut c) == 1
    });
    assert_eq!(c.cmd(&["GET", "k"]), Frame::Null);
}

#[test]
fn a_client_that_never_reads_is_disconnected_by_the_output_limit() {
    let srv = start(&[]);
    let mut c = srv.conn();
    assert_eq!(
        c.text(&[
            "CONFIG",
            "SET",
            "client-output-buffer-limit",
            "normal 262144 0 0"
        ]),
        "OK"
    );
    let big = vec![b'v'; 64 * 1024];
    assert_eq!(c.cmd_bytes(&[b"SET", b"big", &big]).text(), "OK");
    let mut s = raw(srv.port);
    let mut batch = Vec::new();
    for _ in 0..100 {
        resp::reply::encode_command(&mut batch, &["GET", "big"]);
    }
    // 200 batches of 100 GETs ask for 1.3 GB of replies that are never read.
    let mut disconnected = false;
    for _ in 0..200 {
        if s.write_all(&batch).is_err() {
            disconnected = true;
            break;
        }
        if connected_clients(&mut c) == 1 {
            disconnected = true;
            break;
        }
    }
    assert!(disconnected, "the client was never disconnected");
    wait_for("the slow reader to be disconnected", WAIT, || {
        connected_clients(&mut c) == 1
    });
    // Others are still served.
    assert_eq!(c.text(&["PING"]), "PONG");
    assert_eq!(c.int(&["STRLEN", "big"]), 64 * 1024);
    let _ = s.shutdown(Shutdown::Both);
}

#[test]
fn a_huge_random_reply_stops_at_the_output_limit() {
    // HRANDFIELD / SRANDMEMBER / ZRANDMEMBER with a negative count repeat members: the client
    // chooses the reply's size. Past its hard output limit the reply is cut and the client
    // closed, as Valkey does; the server neither builds gigabytes nor dies.
    let srv = start(&[]);
    let mut c = srv.conn();
    assert_eq!(
        c.text(&[
            "CONFIG",
            "SET",
            "client-output-buffer-limit",
            "normal 1000000 0 0"
        ]),
        "OK"
    );
    assert_eq!(c.int(&["HSET", "h", "f", "v"]), 1);
    assert_eq!(c.int(&["SADD", "s", "m"]), 1);
    assert_eq!(c.int(&["ZADD", "z", "1", "m"]), 1);
    for line in [
        ["HRANDFIELD", "h", "-999999999"],
        ["SRANDMEMBER", "s", "-999999999"],
        ["ZRANDMEMBER", "z", "-999999"],
    ] {
        let mut s = raw(srv.port);
        let mut req = Vec::new();
        resp::reply::encode_command(&mut req, &line);
        s.write_all(&req).expect("send");
        // Closed without the (cut) reply's end: fewer bytes than a whole reply.
        let got = read_until_closed(&mut s, 4 * 1024 * 1024);
        assert!(
            got.len() < 1_100_000,
            "{line:?}: {} bytes before the close",
            got.len()
        );
        assert_eq!(c.text(&["PING"]), "PONG", "after {line:?}");
    }
    assert_eq!(
        c.text(&[
            "CONFIG",
            "SET",
            "client-output-buffer-limit",
            "normal 0 0 0"
        ]),
        "OK"
    );
    // Within the limit the reply is whole.
    match c.cmd(&["HRANDFIELD", "h", "-5"]) {
        Frame::Array(items) => assert_eq!(items.len(), 5),
        other => panic!("HRANDFIELD -5: {other:?}"),
    }
}

#[test]
fn cluster_commands_answer_as_a_server_without_cluster_mode() {
    let srv = start(&[]);
    let mut c = srv.conn();
    for line in [&["CLUSTER", "INFO"][..], &["CLUSTER", "NODES"], &["ASKING"]] {
        assert_eq!(
            c.cmd(line),
            Frame::Error("ERR This instance has cluster support disabled".into()),
            "{line:?}"
        );
    }
    assert_eq!(c.text(&["READONLY"]), "OK");
    let me = c.cmd(&["CLIENT", "INFO"]);
    assert!(format!("{me:?}").contains("flags=r "), "{me:?}");
    assert_eq!(c.text(&["READWRITE"]), "OK");
}

#[test]
fn connections_beyond_maxclients_are_refused() {
    let srv = start(&["--maxclients", "3"]);
    let mut kept: Vec<Conn> = (0..3).map(|_| srv.conn()).collect();
    for k in kept.iter_mut() {
        assert_eq!(k.text(&["PING"]), "PONG");
    }
    for _ in 0..5 {
        let mut s = raw(srv.port);
        let got = read_until_closed(&mut s, 4096);
        assert_eq!(
            String::from_utf8_lossy(&got),
            "-ERR max number of clients reached\r\n"
        );
    }
    assert_eq!(connected_clients(&mut kept[0]), 3);
    // Closing one frees a slot.
    kept.pop();
    wait_for("a slot to free up", WAIT, || {
        connected_clients(&mut kept[0]) == 2
    });
    let mut again = srv.conn();
    assert_eq!(again.text(&["PING"]), "PONG");
}

#[test]
fn idle_clients_are_closed_after_timeout() {
    let srv = start(&["--timeout", "1"]);
    let mut idle = raw(srv.port);
    send(&mut idle, b"PING\r\n");
    expect_reply(&mut idle, b"+PONG\r\n");
    let mut busy = srv.conn();
    let start_t = Instant::now();
    let mut closed = false;
    while start_t.elapsed() < WAIT {
        assert_eq!(busy.text(&["PING"]), "PONG", "an active client was closed");
        if !silent_for(&mut idle, 200) {
            let rest = read_until_closed(&mut idle, 1024);
            assert!(
                rest.is_empty(),
                "unexpected bytes {:?}",
                String::from_utf8_lossy(&rest)
            );
            closed = true;
            break;
        }
    }
    assert!(closed, "the idle client was not closed within {WAIT:?}");
    assert!(
        start_t.elapsed() >= Duration::from_millis(500),
        "closed too early"
    );
}

#[test]
fn a_hundred_megabyte_argument() {
    let srv = start(&[]);
    let mut c = srv.conn();
    c.set_timeout(Duration::from_secs(60));
    let mut value = vec![b'a'; 100 * 1024 * 1024];
    let last = value.len() - 1;
    value[last] = b'z';
    assert_eq!(c.cmd_bytes(&[b"SET", b"huge", &value]).text(), "OK");
    assert_eq!(c.int(&["STRLEN", "huge"]), 100 * 1024 * 1024);
    assert_eq!(
        c.text(&["GETRANGE", "huge", "-3", "-1"]),
        "aaz",
        "the tail of the value"
    );
    assert_eq!(c.text(&["PING"]), "PONG");
}

#[test]
fn resp3_hello_and_a_map_reply() {
    let srv = start(&[]);
    let mut s = raw(srv.port);
    send(&mut s, b"GET missing\r\n");
    expect_reply(&mut s, b"$-1\r\n");
    let mut c = Conn::connect(srv.port).expect("connect");
    match c.cmd(&["HELLO", "3"]) {
        Frame::Map(kv) => {
            let get = |k: &str| {
                kv.iter()
                    .find(|(key, _)| key.text() == k)
                    .map(|(_, v)| v.clone())
            };
            assert_eq!(get("proto"), Some(Frame::Int(3)));
            assert_eq!(get("mode").map(|f| f.text()), Some("standalone".into()));
            assert_eq!(get("role").map(|f| f.text()), Some("master".into()));
        }
        other => panic!("HELLO 3 replied {other:?}"),
    }
    c.send(&[b"CONFIG", b"GET", b"maxmemory"]);
    assert_eq!(
        c.read_raw_reply().expect("reply"),
        b"%1\r\n$9\r\nmaxmemory\r\n$1\r\n0\r\n"
    );
    c.send(&[b"GET", b"missing"]);
    assert_eq!(c.read_raw_reply().expect("reply"), b"_\r\n");
    assert!(matches!(c.cmd(&["HELLO", "2"]), Frame::Array(_)));
    c.send(&[b"CONFIG", b"GET", b"maxmemory"]);
    assert_eq!(
        c.read_raw_reply().expect("reply"),
        b"*2\r\n$9\r\nmaxmemory\r\n$1\r\n0\r\n"
    );
}

#[test]
fn auth_with_requirepass() {
    // The test kit waits for PONG to know a server is up, so the password is set afterwards;
    // connections opened from then on must authenticate.
    let srv = start(&[]);
    assert_eq!(
        srv.conn().text(&["CONFIG", "SET", "requirepass", "s3cret"]),
        "OK"
    );
    let mut s = raw(srv.port);
    send(&mut s, b"GET k\r\n");
    expect_reply(&mut s, b"-NOAUTH Authentication required.\r\n");
    send(&mut s, b"AUTH wrong\r\n");
    expect_reply(
        &mut s,
        b"-WRONGPASS invalid username-password pair or user is disabled.\r\n",
    );
    send(&mut s, b"AUTH default wrong\r\n");
    expect_reply(
        &mut s,
        b"-WRONGPASS invalid username-password pair or user is disabled.\r\n",
    );
    send(&mut s, b"HELLO 3\r\n");
    // Valkey 8's wording ("HELLO <proto> AUTH"); Redis 7.0 writes "HELLO AUTH".
    let line = read_line(&mut s);
    let expected = if reference_is_redis() {
        "-NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time"
    } else {
        "-NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time"
    };
    assert_eq!(line, expected);
    send(&mut s, b"AUTH s3cret\r\n");
    expect_reply(&mut s, b"+OK\r\n");
    send(&mut s, b"GET k\r\n");
    expect_reply(&mut s, b"$-1\r\n");

    let mut c = Conn::connect(srv.port).expect("connect");
    assert_eq!(c.text(&["AUTH", "default", "s3cret"]), "OK");
    assert_eq!(c.cmd(&["GET", "k"]), Frame::Null);

    let mut c = Conn::connect(srv.port).expect("connect");
    match c.cmd(&["HELLO", "3", "AUTH", "default", "wrong"]) {
        Frame::Error(e) => assert!(e.starts_with("WRONGPASS"), "{e}"),
        other => panic!("HELLO with a wrong password replied {other:?}"),
    }
    match c.cmd(&["HELLO", "3", "AUTH", "default", "s3cret"]) {
        Frame::Map(_) => {}
        other => panic!("HELLO 3 AUTH replied {other:?}"),
    }
    c.send(&[b"GET", b"k"]);
    assert_eq!(c.read_raw_reply().expect("reply"), b"_\r\n");

    // Before authentication, large requests are protocol errors.
    let mut s = raw(srv.port);
    send(&mut s, b"*11\r\n");
    let got = read_until_closed(&mut s, 4096);
    assert_eq!(
        String::from_utf8_lossy(&got),
        "-ERR Protocol error: unauthenticated multibulk length\r\n"
    );
    let mut s = raw(srv.port);
    send(&mut s, b"*2\r\n$4\r\nAUTH\r\n$16385\r\n");
    let got = read_until_closed(&mut s, 4096);
    assert_eq!(
        String::from_utf8_lossy(&got),
        "-ERR Protocol error: unauthenticated bulk length\r\n"
    );
}

/// `qbuf + qbuf-free` of the client named `name` in CLIENT LIST.
fn query_buffer_of(c: &mut Conn, name: &str) -> usize {
    let list = c.text(&["CLIENT", "LIST"]);
    let line = list
        .lines()
        .find(|l| l.contains(&format!(" name={name} ")))
        .unwrap_or_else(|| panic!("no client named {name} in {list}"));
    let field = |f: &str| -> usize {
        line.split(' ')
            .find_map(|kv| kv.strip_prefix(f))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {f} in {line}"))
    };
    field("qbuf=") + field("qbuf-free=")
}

/// Valkey 8's shared query buffer (redis-server 7.0 keeps one per client, so the expectation
/// is Valkey's): an idle client holds no input buffer; one that sent part of a command keeps
/// its own until the cron frees it after two idle seconds; a big argument's buffer is sized
/// for it when its header arrives.
#[test]
fn idle_clients_hold_no_query_buffer() {
    let srv = start(&["--hz", "100"]);
    let mut admin = srv.conn();
    let mut s = raw(srv.port);
    send(&mut s, b"CLIENT SETNAME idle\r\n");
    expect_reply(&mut s, b"+OK\r\n");
    if !reference_is_redis() {
        assert_eq!(
            query_buffer_of(&mut admin, "idle"),
            0,
            "an idle client's buffer"
        );
    }
    send(&mut s, b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhel");
    wait_for("the partial command's own buffer", WAIT, || {
        query_buffer_of(&mut admin, "idle") > 0
    });
    send(&mut s, b"lo\r\n");
    expect_reply(&mut s, b"+OK\r\n");
    wait_for("the cron to free the idle client's buffer", WAIT, || {
        query_buffer_of(&mut admin, "idle") == 0
    });
    // The header of a 1 MB argument: the buffer is sized for the whole argument.
    send(&mut s, b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1000000\r\nx");
    wait_for("a buffer sized for the big argument", WAIT, || {
        query_buffer_of(&mut admin, "idle") >= 1_000_000
    });
    // Idle again with one byte of it: cut to its content.
    wait_for("the idle big buffer cut to its content", WAIT, || {
        query_buffer_of(&mut admin, "idle") < 1000
    });
    let mut rest = vec![b'x'; 999_999];
    rest.extend_from_slice(b"\r\n");
    send(&mut s, &rest);
    expect_reply(&mut s, b"+OK\r\n");
    assert_eq!(admin.int(&["STRLEN", "k"]), 1_000_000);
}
