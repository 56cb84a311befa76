//! A small synchronous RESP client for tests.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use resp::frame::{parse_frame, Frame};

/// A connection to a server over `S`: plain TCP by default, or any other byte stream (a TLS
/// session over TCP in the TLS tests, built with [`Conn::over`]).
pub struct Conn<S: Read + Write = TcpStream> {
    stream: S,
    buf: Vec<u8>,
}

impl Conn<TcpStream> {
    pub fn connect(port: u16) -> std::io::Result<Conn> {
        let stream = TcpStream::connect(("127.0.0.1", port))?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        stream.set_nodelay(true)?;
        Ok(Conn::over(stream))
    }

    pub fn set_timeout(&mut self, t: Duration) {
        let _ = self.stream.set_read_timeout(Some(t));
    }
}

impl<S: Read + Write> Conn<S> {
    /// A client on an established stream (its timeouts are the caller's to set).
    pub fn over(stream: S) -> Conn<S> {
        Conn {
            stream,
            buf: Vec::new(),
        }
    }

    /// Sends a command and returns its reply frame.
    pub fn cmd(&mut self, args: &[&str]) -> Frame {
        let argv: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        self.cmd_bytes(&argv)
    }

    pub fn cmd_bytes(&mut self, args: &[&[u8]]) -> Frame {
        self.send(args);
        self.read_frame()
    }

    /// Like [`Conn::cmd`], but an I/O failure (the server went away) is an error, not a panic.
    pub fn try_cmd(&mut self, args: &[&str]) -> Result<Frame, String> {
        let argv: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        let mut out = Vec::new();
        resp::reply::encode_command(&mut out, &argv);
        self.stream
            .write_all(&out)
            .map_err(|e| format!("write: {e}"))?;
        self.try_read_frame()
    }

    /// Sends the commands in one write, then reads their replies in order. Keep batches to a
    /// few hundred commands: the replies wait in the socket buffers until the last is sent.
    pub fn pipeline<A: AsRef<[u8]>>(&mut self, cmds: &[Vec<A>]) -> Vec<Frame> {
        let mut out = Vec::new();
        for c in cmds {
            resp::reply::encode_command(&mut out, c);
        }
        self.write_raw(&out);
        cmds.iter().map(|_| self.read_frame()).collect()
    }

    /// Sends a command without reading the reply.
    pub fn send(&mut self, args: &[&[u8]]) {
        let mut out = Vec::new();
        resp::reply::encode_command(&mut out, args);
        self.write_raw(&out);
    }

    /// Writes raw bytes; an I/O failure is an error, not a panic.
    pub fn try_write_raw(&mut self, data: &[u8]) -> Result<(), String> {
        self.stream
            .write_all(data)
            .map_err(|e| format!("write: {e}"))
    }

    pub fn write_raw(&mut self, data: &[u8]) {
        if let Err(e) = self.stream.write_all(data) {
            panic!("write to server failed: {e}");
        }
    }

    /// Reads one reply frame (panics on timeout or disconnect, with the reason).
    pub fn read_frame(&mut self) -> Frame {
        self.try_read_frame()
            .unwrap_or_else(|e| panic!("reading reply: {e}"))
    }

    pub fn try_read_frame(&mut self) -> Result<Frame, String> {
        loop {
            match parse_frame(&self.buf) {
                Ok(Some((f, used))) => {
                    self.buf.drain(..used);
                    return Ok(f);
                }
                Ok(None) => {}
                Err(e) => return Err(format!("bad reply: {e}")),
            }
            self.fill()?;
        }
    }

    /// Reads exactly the bytes of one reply, unparsed (for byte-for-byte comparisons).
    pub fn read_raw_reply(&mut self) -> Result<Vec<u8>, String> {
        loop {
            if let Ok(Some((_, used))) = parse_frame(&self.buf) {
                return Ok(self.buf.drain(..used).collect());
            }
            self.fill()?;
        }
    }

    fn fill(&mut self) -> Result<(), String> {
        let mut chunk = [0u8; 16384];
        match self.stream.read(&mut chunk) {
            Ok(0) => Err("connection closed by server".into()),
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                Ok(())
            }
            Err(e) => Err(format!("read error: {e}")),
        }
    }

    /// Text of a simple/bulk reply, panicking with the frame on errors.
    pub fn text(&mut self, args: &[&str]) -> String {
        match self.cmd(args) {
            Frame::Error(e) => panic!("{args:?} failed: {e}"),
            f => f.text(),
        }
    }

    pub fn int(&mut self, args: &[&str]) -> i64 {
        match self.cmd(args) {
            Frame::Int(i) => i,
            other => panic!("{args:?}: expected integer, got {other:?}"),
        }
    }

    /// One field of INFO (e.g. `info_field("replication", "master_repl_offset")`).
    /// INFO `section`'s `field`, or None when the connection fails or the reply is an error
    /// (for polling a node that may close clients, e.g. Sentinel's CLIENT KILL TYPE normal).
    pub fn try_info_field(&mut self, section: &str, field: &str) -> Option<String> {
        let info = self.try_cmd(&["INFO", section]).ok()?;
        if info.is_error() {
            return None;
        }
        info.text().lines().find_map(|l| {
            l.strip_prefix(&format!("{field}:"))
                .map(|v| v.trim().to_string())
        })
    }

    pub fn info_field(&mut self, section: &str, field: &str) -> Option<String> {
        let info = self.text(&["INFO", section]);
        info.lines().find_map(|l| {
            l.strip_prefix(&format!("{field}:"))
                .map(|v| v.trim().to_string())
        })
    }
}
