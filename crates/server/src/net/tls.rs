//! TLS (rustls): the contexts built from the `tls-*` parameters, and the encrypted stream used
//! by client connections on `tls-port`, by a replica's links to a TLS primary, and by full-sync
//! transfer threads writing into a TLS replica's socket.
//!
//! Everything is non-blocking: a handshake advances inside the same `read`/`write` calls that
//! move application data, driven by the event loop's readiness events, so a peer that stalls in
//! the middle of a handshake costs an idle connection and nothing else. The rustls session sits
//! behind a mutex only because a transfer thread writes the snapshot through it while the event
//! loop may still read from the same connection; the lock is never contended otherwise.
//!
//! What Redwing maps from OpenSSL's vocabulary (rustls has neither TLS 1.0/1.1, nor CBC or
//! RSA-key-exchange suites, nor finite-field Diffie-Hellman): `tls-protocols` TLSv1.2/TLSv1.3,
//! `tls-ciphers` as an OpenSSL cipher string over the ECDHE suites rustls has, `tls-ciphersuites`
//! as TLS 1.3 suite names, `tls-prefer-server-ciphers`, `tls-session-caching` and
//! `tls-session-cache-size`. `tls-dh-params-file` is read and checked, then has no effect.

use std::io::{self, Read, Write};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use mio::net::TcpStream;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{ring as provider, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, RootCertStore, ServerConfig, SupportedCipherSuite};

use crate::config::Config;

/// Plaintext rustls accepts ahead of the socket per connection; the rest stays in the client's
/// own output buffer (where output limits count it).
const TLS_BUFFER_LIMIT: usize = 64 * 1024;

/// What `tls-auth-clients` asks of a client's certificate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientAuth {
    /// No certificate is requested.
    No,
    /// A certificate signed by the configured CA is required.
    Yes,
    /// A certificate is requested and verified if the client sends one.
    Optional,
}

impl ClientAuth {
    fn parse(v: &str) -> ClientAuth {
        match v {
            "no" => ClientAuth::No,
            "optional" => ClientAuth::Optional,
            _ => ClientAuth::Yes,
        }
    }
}

/// The TLS contexts: one server configuration per `tls-auth-clients` mode (the mode is read
/// when a client connects, as Valkey does) and the configuration of outgoing links.
pub struct TlsContext {
    /// Indexed by [`ClientAuth`] as `No`, `Yes`, `Optional`; `None` where the mode needs a CA
    /// and none is configured.
    server: [Option<Arc<ServerConfig>>; 3],
    /// `None` when no CA is configured (then no outgoing link may use TLS).
    client: Option<Arc<ClientConfig>>,
}

impl TlsContext {
    /// Whether the configuration asks for TLS at all (Valkey: `tls-port`, `tls-replication` or
    /// `tls-cluster`).
    pub fn wanted(cfg: &Config) -> bool {
        cfg.tls_port != 0 || cfg.tls_replication || cfg.tls_cluster
    }

    /// Builds every context from the configuration, or the reason it cannot, worded as
    /// Valkey logs it. Nothing is changed on failure: the caller keeps the old context.
    // rustls marks the *ring* provider deprecated in favour of aws-lc-rs (post-quantum key
    // exchange); *ring* is kept because it builds with a C compiler alone, where aws-lc-rs
    // needs cmake on every machine that builds Redwing.
    #[allow(deprecated)]
    pub fn build(cfg: &Config) -> Result<TlsContext, String> {
        if cfg.tls_cert_file.is_empty() {
            return Err("No tls-cert-file configured!".into());
        }
        if cfg.tls_key_file.is_empty() {
            return Err("No tls-key-file configured!".into());
        }
        let auth = ClientAuth::parse(&cfg.tls_auth_clients);
        let has_ca = !cfg.tls_ca_cert_file.is_empty() || !cfg.tls_ca_cert_dir.is_empty();
        if (auth != ClientAuth::No || cfg.tls_cluster || cfg.tls_replication) && !has_ca {
            return Err("Either tls-ca-cert-file or tls-ca-cert-dir must be specified when tls-cluster, tls-replication or tls-auth-clients are enabled!".into());
        }
        let versions = parse_protocols(&cfg.tls_protocols)?;
        let suites = cipher_suites(&cfg.tls_ciphers, &cfg.tls_ciphersuites, &versions)?;
        let provider = Arc::new(CryptoProvider {
            cipher_suites: suites,
            ..provider::default_provider()
        });
        let roots = Arc::new(load_roots(&cfg.tls_ca_cert_file, &cfg.tls_ca_cert_dir)?);
        let certs = load_certs(&cfg.tls_cert_file)?;
        let key = load_key(&cfg.tls_key_file, &cfg.tls_key_file_pass)?;
        if !cfg.tls_dh_params_file.is_empty() {
            check_dh_params(&cfg.tls_dh_params_file)?;
        }

        let mut server: [Option<Arc<ServerConfig>>; 3] = [None, None, None];
        for (i, mode) in [ClientAuth::No, ClientAuth::Yes, ClientAuth::Optional]
            .into_iter()
            .enumerate()
        {
            let builder = ServerConfig::builder_with_provider(provider.clone())
                .with_protocol_versions(&versions)
                .map_err(|e| format!("Failed to configure TLS: {e}"))?;
            let builder = match mode {
                ClientAuth::No => builder.with_no_client_auth(),
                _ if !has_ca => continue,
                ClientAuth::Yes | ClientAuth::Optional => {
                    let v = WebPkiClientVerifier::builder_with_provider(
                        roots.clone(),
                        provider.clone(),
                    );
                    let v = match mode {
                        ClientAuth::Optional => v.allow_unauthenticated(),
                        _ => v,
                    };
                    let v = v
                        .build()
                        .map_err(|e| format!("Failed to configure CA certificate(s): {e}"))?;
                    builder.with_client_cert_verifier(v)
                }
            };
            let mut sc = builder
                .with_single_cert(certs.clone(), key.clone_key())
                .map_err(|e| format!("Failed to load certificate: {}: {e}", cfg.tls_cert_file))?;
            sc.ignore_client_order = cfg.tls_prefer_server_ciphers;
            if cfg.tls_session_caching {
                sc.session_storage = rustls::server::ServerSessionMemoryCache::new(
                    cfg.tls_session_cache_size.max(1) as usize,
                );
            } else {
                sc.session_storage = Arc::new(rustls::server::NoServerSessionStorage {});
                sc.send_tls13_tickets = 0;
            }
            server[i] = Some(Arc::new(sc));
        }

        // Outgoing links present `tls-client-cert-file` when both it and its key are set,
        // `tls-cert-file` otherwise (Valkey's client context).
        let (ccerts, ckey) =
            if !cfg.tls_client_cert_file.is_empty() && !cfg.tls_client_key_file.is_empty() {
                (
                    load_certs(&cfg.tls_client_cert_file)?,
                    load_key(&cfg.tls_client_key_file, &cfg.tls_client_key_file_pass)?,
                )
            } else {
                (certs, key)
            };
        let client = match ChainOnly::new(roots, provider.clone()) {
            None => None,
            Some(verifier) => Some(Arc::new(
                ClientConfig::builder_with_provider(provider)
                    .with_protocol_versions(&versions)
                    .map_err(|e| format!("Failed to configure TLS: {e}"))?
                    .dangerous()
                    .with_custom_certificate_verifier(Arc::new(verifier))
                    .with_client_auth_cert(ccerts, ckey)
                    .map_err(|e| format!("Failed to load client certificate: {e}"))?,
            )),
        };
        Ok(TlsContext { server, client })
    }

    /// A server-side session for a client accepted on `tls-port`, or why there is none.
    pub fn accept(&self, auth: &str) -> Result<rustls::Connection, String> {
        let i = match ClientAuth::parse(auth) {
            ClientAuth::No => 0,
            ClientAuth::Yes => 1,
            ClientAuth::Optional => 2,
        };
        let Some(cfg) = &self.server[i] else {
            return Err("tls-auth-clients needs tls-ca-cert-file or tls-ca-cert-dir".into());
        };
        let mut c = rustls::ServerConnection::new(cfg.clone()).map_err(|e| e.to_string())?;
        c.set_buffer_limit(Some(TLS_BUFFER_LIMIT));
        Ok(c.into())
    }

    /// A client-side session to `host` (a replica's link to its primary).
    pub fn connect(&self, host: &str) -> Result<rustls::Connection, String> {
        let name = ServerName::try_from(host.to_string())
            .unwrap_or_else(|_| ServerName::IpAddress(std::net::Ipv4Addr::LOCALHOST.into()));
        let Some(cfg) = &self.client else {
            return Err("no tls-ca-cert-file or tls-ca-cert-dir to verify the peer with".into());
        };
        let mut c = rustls::ClientConnection::new(cfg.clone(), name).map_err(|e| e.to_string())?;
        c.set_buffer_limit(Some(TLS_BUFFER_LIMIT));
        Ok(c.into())
    }
}

/// `tls-protocols`: a space-separated list; empty means TLSv1.2 and TLSv1.3.
fn parse_protocols(v: &str) -> Result<Vec<&'static rustls::SupportedProtocolVersion>, String> {
    let mut out = Vec::new();
    if v.trim().is_empty() {
        return Ok(vec![&rustls::version::TLS13, &rustls::version::TLS12]);
    }
    let mut old_only = false;
    for p in v.split_whitespace() {
        match p.to_ascii_lowercase().as_str() {
            "tlsv1" | "tlsv1.1" => old_only = true,
            "tlsv1.2" => out.push(&rustls::version::TLS12),
            "tlsv1.3" => out.push(&rustls::version::TLS13),
            _ => {
                return Err("Invalid tls-protocols specified. Use a combination of 'TLSv1', 'TLSv1.1', 'TLSv1.2' and 'TLSv1.3'.".into())
            }
        }
    }
    if out.is_empty() && old_only {
        return Err(
            "TLSv1 and TLSv1.1 are not supported by Redwing (rustls has TLSv1.2 and TLSv1.3 only)"
                .into(),
        );
    }
    Ok(out)
}

/// OpenSSL's name of each TLS 1.2 suite rustls has.
const TLS12_NAMES: &[(&str, SupportedCipherSuite)] = &[
    (
        "ECDHE-ECDSA-AES256-GCM-SHA384",
        provider::cipher_suite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
    ),
    (
        "ECDHE-ECDSA-AES128-GCM-SHA256",
        provider::cipher_suite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    ),
    (
        "ECDHE-ECDSA-CHACHA20-POLY1305",
        provider::cipher_suite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    ),
    (
        "ECDHE-RSA-AES256-GCM-SHA384",
        provider::cipher_suite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
    ),
    (
        "ECDHE-RSA-AES128-GCM-SHA256",
        provider::cipher_suite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
    ),
    (
        "ECDHE-RSA-CHACHA20-POLY1305",
        provider::cipher_suite::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    ),
];

/// The TLS 1.3 suites by their standard names (as `tls-ciphersuites` lists them).
const TLS13_NAMES: &[(&str, SupportedCipherSuite)] = &[
    (
        "TLS_AES_256_GCM_SHA384",
        provider::cipher_suite::TLS13_AES_256_GCM_SHA384,
    ),
    (
        "TLS_AES_128_GCM_SHA256",
        provider::cipher_suite::TLS13_AES_128_GCM_SHA256,
    ),
    (
        "TLS_CHACHA20_POLY1305_SHA256",
        provider::cipher_suite::TLS13_CHACHA20_POLY1305_SHA256,
    ),
];

/// Whether an OpenSSL cipher-string word (an alias like `HIGH`, `ECDHE`, `AESGCM`, `RSA`, or a
/// suite name) selects the TLS 1.2 suite `name`.
fn selects(word: &str, name: &str) -> bool {
    let w = word.to_ascii_uppercase();
    match w.as_str() {
        "DEFAULT" | "ALL" | "HIGH" | "TLSV1.2" | "ECDHE" | "EECDH" | "KECDHE" | "AEAD" => true,
        "AESGCM" => name.contains("GCM"),
        "AES" => name.contains("AES"),
        "AES128" => name.contains("AES128"),
        "AES256" => name.contains("AES256"),
        "CHACHA20" => name.contains("CHACHA20"),
        "ECDSA" | "AECDSA" => name.contains("ECDSA"),
        "RSA" | "ARSA" => name.contains("-RSA-"),
        "SHA256" => name.ends_with("SHA256") || name.contains("CHACHA20"),
        "SHA384" => name.ends_with("SHA384"),
        // `A+B`: suites that both select; otherwise a suite's own name.
        _ if w.contains('+') => w
            .split('+')
            .all(|part| !part.is_empty() && selects(part, name)),
        _ => w == name,
    }
}

/// `tls-ciphers` (an OpenSSL cipher string, for TLS 1.2) and `tls-ciphersuites` (TLS 1.3 names,
/// colon-separated) to the suites rustls offers. Names rustls does not have are ignored, as
/// OpenSSL ignores unknown names; a list that leaves a configured version without any suite is
/// refused, as OpenSSL refuses it.
fn cipher_suites(
    ciphers: &str,
    suites13: &str,
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> Result<Vec<SupportedCipherSuite>, String> {
    let want12 = versions
        .iter()
        .any(|v| v.version == rustls::ProtocolVersion::TLSv1_2);
    let want13 = versions
        .iter()
        .any(|v| v.version == rustls::ProtocolVersion::TLSv1_3);
    let mut out = Vec::new();
    if want13 {
        if suites13.trim().is_empty() {
            out.extend(TLS13_NAMES.iter().map(|(_, s)| *s));
        } else {
            for name in suites13.split(':').map(str::trim) {
                if let Some((_, s)) = TLS13_NAMES.iter().find(|(n, _)| *n == name) {
                    if !out
                        .iter()
                        .any(|o: &SupportedCipherSuite| o.suite() == s.suite())
                    {
                        out.push(*s);
                    }
                }
            }
            if out.is_empty() {
                return Err(format!("Failed to configure ciphersuites: {suites13}"));
            }
        }
    }
    if want12 {
        let mut chosen: Vec<&str> = Vec::new();
        let mut banned: Vec<&str> = Vec::new();
        let spec = if ciphers.trim().is_empty() {
            "DEFAULT"
        } else {
            ciphers
        };
        for word in spec
            .split([':', ' ', ','])
            .map(str::trim)
            .filter(|w| !w.is_empty())
        {
            let (op, w) = match word.as_bytes()[0] {
                b'!' | b'-' | b'+' => (word.as_bytes()[0], &word[1..]),
                _ => (b' ', word),
            };
            if w.starts_with('@') {
                continue;
            }
            for (name, _) in TLS12_NAMES {
                if !selects(w, name) {
                    continue;
                }
                match op {
                    b'!' => {
                        chosen.retain(|n| n != name);
                        banned.push(name);
                    }
                    b'-' => chosen.retain(|n| n != name),
                    b'+' => {
                        if let Some(i) = chosen.iter().position(|n| n == name) {
                            let n = chosen.remove(i);
                            chosen.push(n);
                        }
                    }
                    _ => {
                        if !chosen.contains(name) && !banned.contains(name) {
                            chosen.push(name);
                        }
                    }
                }
            }
        }
        if chosen.is_empty() {
            return Err(format!("Failed to configure ciphers: {ciphers}"));
        }
        for name in chosen {
            if let Some((_, s)) = TLS12_NAMES.iter().find(|(n, _)| *n == name) {
                out.push(*s);
            }
        }
    }
    Ok(out)
}

fn load_certs(path: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs: Vec<_> = CertificateDer::pem_file_iter(path)
        .map_err(|e| format!("Failed to load certificate: {path}: {e}"))?
        .collect::<Result<_, _>>()
        .map_err(|e| format!("Failed to load certificate: {path}: {e}"))?;
    if certs.is_empty() {
        return Err(format!(
            "Failed to load certificate: {path}: no certificate found"
        ));
    }
    Ok(certs)
}

/// A private key in PEM: PKCS#8, PKCS#1 (RSA) or SEC1 (EC), or an encrypted PKCS#8 key
/// (`ENCRYPTED PRIVATE KEY`) decrypted with `pass`.
fn load_key(path: &str, pass: &str) -> Result<PrivateKeyDer<'static>, String> {
    let fail = |e: &dyn std::fmt::Display| format!("Failed to load private key: {path}: {e}");
    let text = std::fs::read_to_string(path).map_err(|e| fail(&e))?;
    if text.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----") {
        if pass.is_empty() {
            return Err(fail(&"the key is encrypted and no password is configured"));
        }
        let (_, der) = pkcs8::der::pem::decode_vec(text.trim().as_bytes()).map_err(|e| fail(&e))?;
        let enc = pkcs8::EncryptedPrivateKeyInfo::try_from(der.as_slice()).map_err(|e| fail(&e))?;
        let doc = enc.decrypt(pass.as_bytes()).map_err(|e| fail(&e))?;
        return Ok(PrivateKeyDer::Pkcs8(doc.as_bytes().to_vec().into()));
    }
    if text.contains("Proc-Type: 4,ENCRYPTED") {
        return Err(fail(&"legacy PEM encryption is not supported; convert the key to encrypted PKCS#8 (openssl pkcs8 -topk8)"));
    }
    PrivateKeyDer::from_pem_slice(text.as_bytes()).map_err(|e| fail(&e))
}

/// The CA certificates from `tls-ca-cert-file` and every certificate file in `tls-ca-cert-dir`.
fn load_roots(file: &str, dir: &str) -> Result<RootCertStore, String> {
    let fail = |e: &dyn std::fmt::Display| {
        format!("Failed to configure CA certificate(s) file/directory: {e}")
    };
    let mut roots = RootCertStore::empty();
    let mut add = |path: &Path, strict: bool| -> Result<(), String> {
        let iter = match CertificateDer::pem_file_iter(path) {
            Ok(i) => i,
            Err(e) if strict => return Err(fail(&format!("{}: {e}", path.display()))),
            Err(_) => return Ok(()),
        };
        for cert in iter {
            match cert {
                Ok(c) => {
                    if let Err(e) = roots.add(c) {
                        if strict {
                            return Err(fail(&format!("{}: {e}", path.display())));
                        }
                    }
                }
                Err(e) if strict => return Err(fail(&format!("{}: {e}", path.display()))),
                Err(_) => {}
            }
        }
        Ok(())
    };
    if !file.is_empty() {
        add(Path::new(file), true)?;
    }
    if !dir.is_empty() {
        let entries = std::fs::read_dir(dir).map_err(|e| fail(&format!("{dir}: {e}")))?;
        for e in entries.flatten() {
            if e.path().is_file() {
                add(&e.path(), false)?;
            }
        }
    }
    Ok(roots)
}

/// `tls-dh-params-file` must hold PEM DH parameters, as Valkey requires; rustls negotiates
/// ECDHE only, so they are not used.
fn check_dh_params(path: &str) -> Result<(), String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("Failed to load {path}: {e}"))?;
    if !text.contains("-----BEGIN DH PARAMETERS-----")
        && !text.contains("-----BEGIN X9.42 DH PARAMETERS-----")
    {
        return Err(format!("{path}: failed to read DH params."));
    }
    Ok(())
}

/// The verification a Redis replica applies to its primary's certificate: the chain must lead
/// to a configured CA; the name is not checked (Redis and Valkey set no expected host name).
#[derive(Debug)]
struct ChainOnly {
    inner: Arc<rustls::client::WebPkiServerVerifier>,
}

impl ChainOnly {
    /// `None` without any CA: outgoing TLS is then impossible (and, by the checks in
    /// [`TlsContext::build`], not configured).
    fn new(roots: Arc<RootCertStore>, provider: Arc<CryptoProvider>) -> Option<ChainOnly> {
        rustls::client::WebPkiServerVerifier::builder_with_provider(roots, provider)
            .build()
            .ok()
            .map(|inner| ChainOnly { inner })
    }
}

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .inner
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
        {
            Err(rustls::Error::InvalidCertificate(rustls::CertificateError::NotValidForName))
            | Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// A rustls session shared between the event loop and, during a full sync, a transfer thread.
pub type Session = Arc<Mutex<rustls::Connection>>;

/// Locks a session; a panic elsewhere while it was held leaves the session usable for closing.
pub fn lock(s: &Session) -> MutexGuard<'_, rustls::Connection> {
    s.lock().unwrap_or_else(|e| e.into_inner())
}

/// A TCP connection carrying TLS.
pub struct TlsStream {
    pub sock: TcpStream,
    pub session: Session,
    /// The peer closed its side (the socket read returned 0).
    eof: bool,
    /// The peer does not speak TLS: the connection is reset rather than closed, so that what
    /// it sent and we did not read is not mistaken for a clean end (as with OpenSSL, which
    /// stops reading at the first bad record header).
    reset: bool,
    /// Ciphertext read from the socket that rustls has not taken yet (it takes more once the
    /// plaintext before it is read).
    pending_in: Vec<u8>,
}

impl TlsStream {
    pub fn new(sock: TcpStream, conn: rustls::Connection) -> TlsStream {
        TlsStream {
            sock,
            session: Arc::new(Mutex::new(conn)),
            eof: false,
            reset: false,
            pending_in: Vec::new(),
        }
    }

    /// Whether the handshake is still under way.
    pub fn handshaking(&self) -> bool {
        lock(&self.session).is_handshaking()
    }

    /// Whether encrypted bytes wait for the socket.
    pub fn wants_flush(&self) -> bool {
        lock(&self.session).wants_write()
    }

    /// Writes pending encrypted bytes until the socket would block.
    pub fn flush_tls(&mut self) -> io::Result<()> {
        let mut s = lock(&self.session);
        flush_into(&mut s, &mut self.sock)
    }

    /// Sends `close_notify` if the socket takes it at once (or resets a non-TLS peer).
    pub fn close(&mut self) {
        if self.reset {
            let _ = socket2::SockRef::from(&self.sock).set_linger(Some(std::time::Duration::ZERO));
            return;
        }
        let mut s = lock(&self.session);
        s.send_close_notify();
        let _ = flush_into(&mut s, &mut self.sock);
    }
}

/// Writes the session's pending records into `w` until it would block (`Ok`) or fails.
pub fn flush_into(s: &mut rustls::Connection, w: &mut dyn Write) -> io::Result<()> {
    while s.wants_write() {
        match s.write_tls(w) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Socket bytes are read here first (one buffer per thread: the event loop's), then fed to
/// rustls: a read that returns less than this buffer holds emptied the socket, so no second
/// read is needed to learn that it would block.
const SOCKET_READ: usize = 32 * 1024;

thread_local! {
    static SCRATCH: std::cell::RefCell<Vec<u8>> = std::cell::RefCell::new(vec![0; SOCKET_READ]);
}

/// The socket side of a [`TlsStream`], borrowed apart from its session so that a read can
/// hold the session's lock and use the socket without cloning the session's `Arc`.
struct SockSide<'a> {
    sock: &'a mut TcpStream,
    reset: &'a mut bool,
    pending_in: &'a mut Vec<u8>,
}

impl SockSide<'_> {
    /// Feeds ciphertext read earlier and not yet taken by rustls; `Ok(false)` when none waits.
    fn feed_pending(&mut self, s: &mut rustls::Connection) -> io::Result<bool> {
        if self.pending_in.is_empty() {
            return Ok(false);
        }
        let mut slice = &self.pending_in[..];
        let taken = s.read_tls(&mut slice)?;
        if taken == 0 {
            // rustls takes input whenever its plaintext has been read, as here: not taking
            // any would loop forever, so the connection fails instead.
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "TLS input not consumed",
            ));
        }
        self.pending_in.drain(..taken);
        if self.pending_in.is_empty() && self.pending_in.capacity() > 4096 {
            *self.pending_in = Vec::new();
        }
        self.process(s)?;
        Ok(true)
    }

    /// Decrypts what rustls holds, sends what the handshake needs; a TLS error is returned
    /// as `InvalidData` (after the alert, except to a peer that does not speak TLS at all: as
    /// with OpenSSL it sees the connection reset, and no bytes it could misread as a reply).
    fn process(&mut self, s: &mut rustls::Connection) -> io::Result<()> {
        if let Err(e) = s.process_new_packets() {
            if matches!(e, rustls::Error::InvalidMessage(_)) {
                *self.reset = true;
            } else {
                let _ = flush_into(s, self.sock);
            }
            return Err(io::Error::new(io::ErrorKind::InvalidData, e));
        }
        // Handshake messages, and plaintext queued before the handshake ended.
        flush_into(s, self.sock)
    }
}

impl Read for TlsStream {
    /// Fills `buf` with as much plaintext as the socket yields; returns fewer bytes than asked
    /// only once the socket is empty (or the peer closed), so the event loop's rule that a
    /// short read emptied the socket holds for TLS too, at one read per event as for TCP.
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let mut s = lock(&self.session);
        let mut side = SockSide {
            sock: &mut self.sock,
            reset: &mut self.reset,
            pending_in: &mut self.pending_in,
        };
        let mut n = 0;
        let mut drained = false;
        loop {
            match s.reader().read(&mut buf[n..]) {
                Ok(0) => return Ok(n),
                Ok(k) => {
                    n += k;
                    if n == buf.len() {
                        return Ok(n);
                    }
                    continue;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(n),
                Err(e) => return if n > 0 { Ok(n) } else { Err(e) },
            }
            if side.feed_pending(&mut s)? {
                continue;
            }
            if self.eof || drained {
                return if n > 0 || self.eof {
                    Ok(n)
                } else {
                    Err(io::ErrorKind::WouldBlock.into())
                };
            }
            let got = SCRATCH.with(|b| {
                let mut b = b.borrow_mut();
                match side.sock.read(&mut b[..]) {
                    Ok(k) => {
                        side.pending_in.extend_from_slice(&b[..k]);
                        Ok(k)
                    }
                    Err(e) => Err(e),
                }
            });
            match got {
                Ok(0) => {
                    self.eof = true;
                    // An empty read tells rustls the peer closed.
                    let _ = s.read_tls(&mut &[][..]);
                    if let Err(e) = s.process_new_packets() {
                        return Err(io::Error::new(io::ErrorKind::InvalidData, e));
                    }
                }
                Ok(k) => drained = k < SOCKET_READ,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => drained = true,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return if n > 0 { Ok(n) } else { Err(e) },
            }
        }
    }
}

impl Write for TlsStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut s = lock(&self.session);
        flush_into(&mut s, &mut self.sock)?;
        let n = s.writer().write(buf)?;
        flush_into(&mut s, &mut self.sock)?;
        if n == 0 && !buf.is_empty() {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.flush_tls()
    }
}

/// `Write` over a raw socket descriptor (a transfer thread's duplicate), never raising SIGPIPE.
pub struct FdWriter(pub i32);

impl Write for FdWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // SAFETY: sending from a valid slice on a descriptor the caller owns.
        let n = unsafe {
            libc::send(
                self.0,
                buf.as_ptr() as *const libc::c_void,
                buf.len(),
                libc::MSG_NOSIGNAL,
            )
        };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(n as usize)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[SupportedCipherSuite]) -> Vec<String> {
        v.iter().map(|s| format!("{:?}", s.suite())).collect()
    }

    #[test]
    fn protocols() {
        assert_eq!(parse_protocols("").map(|v| v.len()), Ok(2));
        assert_eq!(parse_protocols("TLSv1.2").map(|v| v.len()), Ok(1));
        assert_eq!(parse_protocols("TLSv1.2 TLSv1.3").map(|v| v.len()), Ok(2));
        assert!(parse_protocols("TLSv1")
            .unwrap_err()
            .contains("not supported"));
        assert!(parse_protocols("SSLv3")
            .unwrap_err()
            .starts_with("Invalid tls-protocols"));
    }

    #[test]
    fn cipher_strings() {
        let v12 = [&rustls::version::TLS12];
        let all = cipher_suites("DEFAULT", "", &v12).map(|v| v.len());
        assert_eq!(all, Ok(6));
        // Only suites rustls lacks: nothing left for TLS 1.2, refused as OpenSSL refuses it.
        assert!(cipher_suites("-ALL:AES128-SHA256", "", &v12).is_err());
        let one = cipher_suites("ECDHE-RSA-AES128-GCM-SHA256", "", &v12).map(|v| names(&v));
        assert_eq!(
            one,
            Ok(vec!["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256".to_string()])
        );
        let no_chacha = cipher_suites("DEFAULT:!CHACHA20", "", &v12).map(|v| v.len());
        assert_eq!(no_chacha, Ok(4));
        let v13 = [&rustls::version::TLS13];
        let s13 = cipher_suites("", "TLS_AES_128_GCM_SHA256:BOGUS", &v13).map(|v| names(&v));
        assert_eq!(s13, Ok(vec!["TLS13_AES_128_GCM_SHA256".to_string()]));
        assert!(cipher_suites("", "BOGUS", &v13).is_err());
    }
}
