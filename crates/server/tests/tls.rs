//! TLS, real processes: clients on `tls-port` (client certificates required, optional or not
//! asked for; a plaintext peer, a peer stalled in the middle of its handshake; big replies
//! through the encrypted stream), reloading the certificates with CONFIG SET (a bad file is
//! refused and the old context kept; an encrypted PKCS#8 key with `tls-key-file-pass`), and
//! replication over TLS: Redwing to Redwing single- and dual-channel, and with the reference
//! Valkey 8.0.1 and redis-server 7.0 (both built with TLS) in each role.
//!
//! The certificates are made for each test with the `openssl` command (scripts/setup-test-deps.sh
//! installs it); without it these tests fail, they never skip. Each server also listens on a
//! plaintext port, which the test kit uses to see it is up and for admin commands.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use common::interop::*;
use common::*;
use resp::frame::Frame;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use testkit::proc::free_port;
use testkit::ServerProc;

/// A CA, a certificate for the servers (also used as their client certificate), one for the
/// test's clients, and the server key encrypted as PKCS#8.
struct Certs {
    dir: PathBuf,
}

impl Certs {
    fn make() -> Certs {
        let dir = std::env::temp_dir().join(format!(
            "redwing-tls-{}-{}",
            std::process::id(),
            free_port()
        ));
        std::fs::create_dir_all(&dir).expect("temp dir for certificates");
        let run = |args: &[&str]| {
            let out = Command::new("openssl")
                .args(args)
                .current_dir(&dir)
                .output()
                .unwrap_or_else(|e| {
                    panic!("the openssl command is needed (scripts/setup-test-deps.sh): {e}")
                });
            assert!(
                out.status.success(),
                "openssl {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        run(&[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
            "-days",
            "30",
            "-subj",
            "/O=Redwing Test/CN=Test CA",
        ]);
        std::fs::write(
            dir.join("ext.cnf"),
            "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n",
        )
        .expect("ext.cnf");
        for name in ["server", "client"] {
            run(&[
                "req",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                &format!("{name}.key"),
                "-out",
                &format!("{name}.csr"),
                "-subj",
                &format!("/O=Redwing Test/CN={name}"),
            ]);
            run(&[
                "x509",
                "-req",
                "-in",
                &format!("{name}.csr"),
                "-CA",
                "ca.crt",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                "30",
                "-extfile",
                "ext.cnf",
                "-out",
                &format!("{name}.crt"),
            ]);
        }
        // A client certificate from another CA, which the servers must refuse.
        run(&[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "rogue-ca.key",
            "-out",
            "rogue-ca.crt",
            "-days",
            "30",
            "-subj",
            "/O=Elsewhere/CN=Other CA",
        ]);
        run(&[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "rogue.key",
            "-out",
            "rogue.csr",
            "-subj",
            "/O=Elsewhere/CN=client",
        ]);
        run(&[
            "x509",
            "-req",
            "-in",
            "rogue.csr",
            "-CA",
            "rogue-ca.crt",
            "-CAkey",
            "rogue-ca.key",
            "-CAcreateserial",
            "-days",
            "30",
            "-extfile",
            "ext.cnf",
            "-out",
            "rogue.crt",
        ]);
        run(&[
            "pkcs8",
            "-topk8",
            "-in",
            "server.key",
            "-out",
            "server-enc.key",
            "-v2",
            "aes-256-cbc",
            "-passout",
            "pass:s3cret",
        ]);
        Certs { dir }
    }

    fn path(&self, name: &str) -> String {
        self.dir.join(name).display().to_string()
    }

    /// Server arguments: `tls-port`, the certificates, replication over TLS.
    fn server_args(&self, tls_port: u16) -> Vec<String> {
        [
            ("--tls-port", tls_port.to_string()),
            ("--tls-cert-file", self.path("server.crt")),
            ("--tls-key-file", self.path("server.key")),
            ("--tls-ca-cert-file", self.path("ca.crt")),
            ("--tls-replication", "yes".into()),
        ]
        .into_iter()
        .flat_map(|(k, v)| [k.to_string(), v])
        .collect()
    }
}

impl Drop for Certs {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Starts a server of one kind ([`redwing`], [`valkey`], [`redis`]) with extra arguments.
type Start = fn(&[&str]) -> ServerProc;

/// Starts a server of one kind with TLS on a port of its own; returns it and its TLS port.
fn start(kind: Start, certs: &Certs, extra: &[&str]) -> (ServerProc, u16) {
    let tls_port = free_port();
    let args = certs.server_args(tls_port);
    let mut all: Vec<&str> = args.iter().map(String::as_str).collect();
    all.extend_from_slice(extra);
    (kind(&all), tls_port)
}

/// A RESP client over TLS: testkit's client on a rustls session.
type TlsClient = testkit::Conn<rustls::StreamOwned<rustls::ClientConnection, TcpStream>>;

fn client_config(
    certs: &Certs,
    with_cert: bool,
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> Arc<rustls::ClientConfig> {
    client_config_as(certs, with_cert.then_some("client"), versions)
}

/// A client presenting `name.crt` (none when `None`), trusting the test CA.
fn client_config_as(
    certs: &Certs,
    name: Option<&str>,
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_file_iter(certs.path("ca.crt")).expect("ca.crt") {
        roots.add(c.expect("CA certificate")).expect("CA added");
    }
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let b = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
        .expect("versions")
        .with_root_certificates(roots);
    let cfg = match name {
        Some(name) => {
            let chain: Vec<_> = CertificateDer::pem_file_iter(certs.path(&format!("{name}.crt")))
                .expect("client certificate file")
                .map(|c| c.expect("client certificate"))
                .collect();
            let key = PrivateKeyDer::from_pem_file(certs.path(&format!("{name}.key")))
                .expect("client key");
            b.with_client_auth_cert(chain, key).expect("client auth")
        }
        None => b.with_no_client_auth(),
    };
    Arc::new(cfg)
}

/// Connects with `cfg` and completes the handshake (or fails) with a first PING.
fn tls_connect(port: u16, cfg: Arc<rustls::ClientConfig>) -> Result<TlsClient, String> {
    let sock = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    sock.set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(|e| e.to_string())?;
    let name = ServerName::try_from("127.0.0.1").map_err(|e| e.to_string())?;
    let conn = rustls::ClientConnection::new(cfg, name).map_err(|e| e.to_string())?;
    let mut c = testkit::Conn::over(rustls::StreamOwned::new(conn, sock));
    match c.try_cmd(&["PING"]) {
        Ok(f) if f.text() == "PONG" => Ok(c),
        Ok(f) => Err(format!("PING answered {f:?}")),
        Err(e) => Err(e),
    }
}

const BOTH: &[&rustls::SupportedProtocolVersion] =
    &[&rustls::version::TLS13, &rustls::version::TLS12];

#[test]
fn clients_on_the_tls_port() {
    let certs = Certs::make();
    let (s, tls) = start(redwing, &certs, &[]);
    let mut admin = s.conn();
    let with_cert = client_config(&certs, true, BOTH);
    let mut c = tls_connect(tls, with_cert.clone()).expect("TLS client with a certificate");
    assert_eq!(c.cmd(&["SET", "k", "v"]).text(), "OK");
    assert_eq!(c.cmd(&["GET", "k"]).text(), "v");
    // A reply far bigger than what TLS buffers per connection, and a pipeline.
    let big = "x".repeat(5 << 20);
    assert_eq!(c.cmd(&["SET", "big", &big]).text(), "OK");
    assert_eq!(c.cmd(&["GET", "big"]).text().len(), big.len());
    let pipe: Vec<Vec<String>> = (0..2000)
        .map(|i| vec!["INCR".to_string(), format!("n{}", i % 7)])
        .collect();
    let replies = c.pipeline(&pipe);
    assert!(replies.iter().all(|r| matches!(r, Frame::Int(_))));

    // tls-auth-clients yes (the default): no certificate, no connection; the failure is
    // logged with the peer's address.
    let no_cert = client_config(&certs, false, BOTH);
    assert!(tls_connect(tls, no_cert.clone()).is_err());
    s.wait_log("Error accepting a client connection", T);
    assert!(
        s.log().contains("addr=127.0.0.1:"),
        "the failure names the peer"
    );
    // A certificate from another CA is refused too.
    let rogue = client_config_as(&certs, Some("rogue"), BOTH);
    assert!(tls_connect(tls, rogue.clone()).is_err());
    // redis-cli --tls, as with redis-server.
    let out = Command::new("redis-cli")
        .args([
            "-p",
            &tls.to_string(),
            "--tls",
            "--cacert",
            &certs.path("ca.crt"),
        ])
        .args([
            "--cert",
            &certs.path("client.crt"),
            "--key",
            &certs.path("client.key"),
        ])
        .args(["GET", "k"])
        .output()
        .expect("redis-cli (scripts/setup-test-deps.sh installs it)");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "v", "{out:?}");
    admin.cmd(&["CONFIG", "SET", "tls-auth-clients", "optional"]);
    assert!(
        tls_connect(tls, rogue).is_err(),
        "optional: a certificate that does not verify is still refused"
    );
    tls_connect(tls, no_cert.clone()).expect("optional: a client without a certificate");
    tls_connect(tls, with_cert.clone()).expect("optional: a client with a certificate");
    admin.cmd(&["CONFIG", "SET", "tls-auth-clients", "no"]);
    tls_connect(tls, no_cert).expect("no: a client without a certificate");
    admin.cmd(&["CONFIG", "SET", "tls-auth-clients", "yes"]);

    // Plaintext on the TLS port: the connection ends, no bytes come back that a client could
    // take for a reply.
    let mut plain = TcpStream::connect(("127.0.0.1", tls)).expect("connect");
    plain
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    plain.write_all(b"*1\r\n$4\r\nPING\r\n").expect("write");
    let mut got = Vec::new();
    let _ = plain.read_to_end(&mut got);
    assert!(got.is_empty(), "a plaintext client got {got:?}");

    // A peer stalled half-way through its ClientHello, and one that sends garbage in a loop:
    // other clients do not notice.
    let mut stalled = TcpStream::connect(("127.0.0.1", tls)).expect("connect");
    stalled
        .write_all(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01])
        .expect("partial hello");
    for _ in 0..50 {
        let mut g = TcpStream::connect(("127.0.0.1", tls)).expect("connect");
        let _ = g.write_all(b"GET / HTTP/1.1\r\n\r\n");
    }
    let mut again = tls_connect(tls, with_cert).expect("a new client while one stalls");
    assert_eq!(again.cmd(&["GET", "k"]).text(), "v");
    assert_eq!(c.cmd(&["GET", "k"]).text(), "v");
    assert_eq!(admin.cmd(&["GET", "k"]).text(), "v");
    drop(stalled);
}

#[test]
fn config_set_reloads_the_certificates() {
    let certs = Certs::make();
    let (s, tls) = start(redwing, &certs, &[]);
    let mut admin = s.conn();
    let cfg = client_config(&certs, true, BOTH);
    let mut before = tls_connect(tls, cfg.clone()).expect("TLS client");

    // A file that does not load is refused; the old context stays.
    let r = admin.cmd(&["CONFIG", "SET", "tls-cert-file", "/nonexistent/cert.pem"]);
    assert!(
        r.is_error() && r.text().contains("Unable to update TLS configuration"),
        "{r:?}"
    );
    match admin.cmd(&["CONFIG", "GET", "tls-cert-file"]) {
        Frame::Array(v) if v.len() == 2 => assert_eq!(v[1].text(), certs.path("server.crt")),
        other => panic!("CONFIG GET tls-cert-file: {other:?}"),
    }
    tls_connect(tls, cfg.clone()).expect("the old context still serves");
    assert_eq!(before.cmd(&["PING"]).text(), "PONG");

    // An encrypted key: refused without its password, loaded with it.
    let enc = certs.path("server-enc.key");
    let r = admin.cmd(&["CONFIG", "SET", "tls-key-file", &enc]);
    assert!(r.is_error(), "an encrypted key without a password: {r:?}");
    assert!(s.log().contains("encrypted"), "the log says why");
    let r = admin.cmd(&[
        "CONFIG",
        "SET",
        "tls-key-file-pass",
        "s3cret",
        "tls-key-file",
        &enc,
    ]);
    assert!(!r.is_error(), "{r:?}");
    tls_connect(tls, cfg.clone()).expect("a client after the key was reloaded");

    // tls-protocols: a TLS 1.3-only client is refused while only TLSv1.2 is allowed.
    admin.cmd(&["CONFIG", "SET", "tls-protocols", "TLSv1.2"]);
    let only13 = client_config(&certs, true, &[&rustls::version::TLS13]);
    assert!(tls_connect(tls, only13.clone()).is_err());
    tls_connect(tls, cfg.clone()).expect("TLS 1.2 still works");
    let r = admin.cmd(&["CONFIG", "SET", "tls-protocols", "TLSv9"]);
    assert!(r.is_error(), "{r:?}");
    admin.cmd(&["CONFIG", "SET", "tls-protocols", ""]);
    tls_connect(tls, only13).expect("TLS 1.3 again");

    // tls-port moves; port 0 turns the plaintext port off.
    let moved = free_port();
    let r = admin.cmd(&["CONFIG", "SET", "tls-port", &moved.to_string()]);
    assert!(!r.is_error(), "{r:?}");
    let mut c = tls_connect(moved, cfg.clone()).expect("the new TLS port");
    assert!(
        tls_connect(tls, cfg.clone()).is_err(),
        "the old TLS port is closed"
    );
    assert_eq!(c.cmd(&["CONFIG", "SET", "port", "0"]).text(), "OK");
    assert!(TcpStream::connect(("127.0.0.1", s.port)).is_err());
    let info = c.cmd(&["INFO", "server"]).text();
    assert!(info.contains(&format!("tcp_port:{moved}")), "{info}");
}

/// Replication over TLS from a primary to a replica (each started with its own extra
/// arguments): a full sync of a data set, then the stream; equal data at the end.
fn replicate(what: &str, primary: (Start, &[&str]), replica: (Start, &[&str])) {
    let certs = Certs::make();
    let (p, ptls) = start(primary.0, &certs, primary.1);
    let (r, rtls) = start(replica.0, &certs, replica.1);
    let mut pc = p.conn();
    fill(&mut pc, 300);
    ok(&mut pc, &["DEBUG", "POPULATE", "50000", "pop", "64"]);
    let mut rc = r.conn();
    let reply = rc.cmd(&["REPLICAOF", "127.0.0.1", &ptls.to_string()]);
    assert!(!reply.is_error(), "{what}: {reply:?}");
    wait_synced(&p, &r);
    workload(&mut pc, 1);
    wait_synced(&p, &r);
    assert_same_data(what, &p, &[&r]);
    // The replica announced its TLS port (tls-replication with a tls-port).
    let slave0 = field(&mut pc, "replication", "slave0");
    assert!(
        slave0.contains(&format!("port={rtls}")),
        "{what}: the primary lists {slave0}"
    );
    assert!(!p.log().contains("Error accepting"), "{what}: {}", p.log());
}

const DUAL: &[&str] = &["--dual-channel-replication-enabled", "yes"];
const SINGLE: &[&str] = &["--dual-channel-replication-enabled", "no"];

#[test]
fn redwing_to_redwing_over_tls() {
    replicate("redwing -> redwing", (redwing, SINGLE), (redwing, SINGLE));
    replicate(
        "redwing -> redwing, dual-channel",
        (redwing, DUAL),
        (redwing, DUAL),
    );
}

#[test]
fn redwing_and_valkey_over_tls() {
    replicate(
        "valkey -> redwing, dual-channel",
        (valkey, DUAL),
        (redwing, DUAL),
    );
    replicate(
        "redwing -> valkey, dual-channel",
        (redwing, DUAL),
        (valkey, DUAL),
    );
    replicate("redwing -> valkey", (redwing, SINGLE), (valkey, SINGLE));
}

#[test]
fn redwing_and_redis_over_tls() {
    replicate("redis -> redwing", (redis, &[]), (redwing, &[]));
    replicate("redwing -> redis", (redwing, &[]), (redis, &[]));
}

/// A partial resync whose start comes from the disk backlog, over TLS (the catch-up thread
/// encrypts through the replica's session), to a Redwing and to a Valkey replica: cut off
/// while 40 MB are written (a 1 MB memory backlog), each comes back with `+CONTINUE` and the
/// same data.
#[test]
fn disk_backlog_catchup_over_tls() {
    for (what, kind) in [("redwing", redwing as Start), ("valkey", valkey as Start)] {
        let certs = Certs::make();
        let disk = [
            "--repl-backlog-size",
            "1mb",
            "--repl-backlog-disk-size",
            "200mb",
        ];
        let (p, ptls) = start(redwing, &certs, &disk);
        let (r, _) = start(kind, &certs, &[]);
        let proxy = testkit::Proxy::start(ptls).expect("proxy");
        let mut rc = r.conn();
        let reply = rc.cmd(&["REPLICAOF", "127.0.0.1", &proxy.port.to_string()]);
        assert!(!reply.is_error(), "{what}: {reply:?}");
        let mut pc = p.conn();
        fill(&mut pc, 100);
        wait_synced(&p, &r);
        away_while_written(&proxy, &mut rc, &mut pc);
        proxy.heal();
        wait_synced(&p, &r);
        assert_same_data(what, &p, &[&r]);
        assert_eq!(
            stat(&p, "sync_partial_disk"),
            1,
            "{what}: from the disk backlog"
        );
        assert_eq!(
            stat(&p, "sync_full"),
            1,
            "{what}: only the first sync is full"
        );
    }
}
