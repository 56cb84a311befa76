//! The append-only file in Redis 7's multi-part form: the manifest (which files make the
//! AOF, in order), the file names, and a reader of the command stream an AOF file holds.
//!
//! Pure: parsing and formatting only, no files opened here. The server's `persist::aof`
//! owns the directory, the writes, the fsyncs and the rewrites.

use std::io::BufRead;

use crate::PersistError;

/// What one file of the AOF is (`type` in the manifest).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AofKind {
    /// `b`: the dataset at the last rewrite (an RDB with the preamble, else commands).
    Base,
    /// `h`: a file replaced by a rewrite, deleted as soon as the manifest no longer needs it.
    History,
    /// `i`: commands appended after the base, in sequence order.
    Incr,
}

impl AofKind {
    fn letter(self) -> char {
        match self {
            AofKind::Base => 'b',
            AofKind::History => 'h',
            AofKind::Incr => 'i',
        }
    }
}

/// One file named by the manifest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AofFile {
    pub name: String,
    pub seq: u64,
    pub kind: AofKind,
}

/// The manifest: at most one base, the history files, and the incremental files in order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Manifest {
    pub base: Option<AofFile>,
    pub incrs: Vec<AofFile>,
    pub history: Vec<AofFile>,
}

/// Longest manifest line accepted (Valkey's `AOF_ANNOTATION_LINE_MAX_LEN`).
const MAX_LINE: usize = 1024;

fn invalid(what: &str) -> PersistError {
    PersistError::Aof(what.to_string())
}

impl Manifest {
    /// Parses a manifest's text, with Valkey's checks and messages.
    pub fn parse(text: &[u8]) -> Result<Manifest, PersistError> {
        let mut m = Manifest::default();
        let mut rest = text;
        let mut last_incr_seq = 0u64;
        while !rest.is_empty() {
            let Some(end) = rest.iter().position(|&b| b == b'\n') else {
                return Err(invalid("The AOF manifest file contains too long line"));
            };
            let line = &rest[..end];
            rest = &rest[end + 1..];
            if line.len() + 1 > MAX_LINE {
                return Err(invalid("The AOF manifest file contains too long line"));
            }
            if line.first() == Some(&b'#') {
                continue;
            }
            let line = trim(line);
            if line.is_empty() {
                return Err(invalid("Invalid AOF manifest file format"));
            }
            let Some(args) = resp::request::split_args(line) else {
                return Err(invalid("Invalid AOF manifest file format"));
            };
            if args.len() < 6 || args.len() % 2 != 0 {
                return Err(invalid("Invalid AOF manifest file format"));
            }
            let (mut name, mut seq, mut kind) = (None, None, None);
            for pair in args.chunks(2) {
                match pair[0].to_ascii_lowercase().as_slice() {
                    b"file" => name = Some(String::from_utf8_lossy(&pair[1]).into_owned()),
                    b"seq" => {
                        seq = std::str::from_utf8(&pair[1])
                            .ok()
                            .and_then(|s| s.parse::<u64>().ok())
                            .filter(|&n| n > 0)
                    }
                    b"type" => {
                        kind = match pair[1].first() {
                            Some(b'b') => Some(AofKind::Base),
                            Some(b'h') => Some(AofKind::History),
                            Some(b'i') => Some(AofKind::Incr),
                            _ => return Err(invalid("Unknown AOF file type")),
                        }
                    }
                    // Unknown keys are kept for forward compatibility (Valkey ignores them).
                    _ => {}
                }
            }
            let (Some(name), Some(seq), Some(kind)) = (name, seq, kind) else {
                return Err(invalid("Invalid AOF manifest file format"));
            };
            if name.contains('/') || name.contains('\\') {
                return Err(invalid("File can't be a path, just a filename"));
            }
            if name.is_empty() {
                return Err(invalid("Invalid AOF manifest file format"));
            }
            let f = AofFile { name, seq, kind };
            match kind {
                AofKind::Base => {
                    if m.base.is_some() {
                        return Err(invalid("Found duplicate base file information"));
                    }
                    m.base = Some(f);
                }
                AofKind::History => m.history.push(f),
                AofKind::Incr => {
                    if seq <= last_incr_seq {
                        return Err(invalid("Found a non-monotonic sequence number"));
                    }
                    last_incr_seq = seq;
                    m.incrs.push(f);
                }
            }
        }
        if m.base.is_none() && m.incrs.is_empty() && m.history.is_empty() {
            return Err(invalid("Found an empty AOF manifest"));
        }
        Ok(m)
    }

    /// The manifest's text: the base, the history files, then the incremental files.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let files = self
            .base
            .iter()
            .chain(self.history.iter())
            .chain(self.incrs.iter());
        for f in files {
            out.push_str("file ");
            out.push_str(&quote_if_needed(&f.name));
            out.push_str(&format!(" seq {} type {}\n", f.seq, f.kind.letter()));
        }
        out
    }

    /// The files to load, in order: the base, then every incremental file.
    pub fn load_order(&self) -> impl Iterator<Item = &AofFile> {
        self.base.iter().chain(self.incrs.iter())
    }

    /// The highest incremental sequence number (0 without one).
    pub fn last_incr_seq(&self) -> u64 {
        self.incrs.last().map_or(0, |f| f.seq)
    }

    /// The base's sequence number (0 without one).
    pub fn base_seq(&self) -> u64 {
        self.base.as_ref().map_or(0, |f| f.seq)
    }
}

/// `<prefix>.<seq>.base.rdb` (RDB preamble) or `<prefix>.<seq>.base.aof`.
pub fn base_name(prefix: &str, seq: u64, rdb: bool) -> String {
    let ext = if rdb { "rdb" } else { "aof" };
    format!("{prefix}.{seq}.base.{ext}")
}

/// `<prefix>.<seq>.incr.aof`.
pub fn incr_name(prefix: &str, seq: u64) -> String {
    format!("{prefix}.{seq}.incr.aof")
}

/// `<prefix>.manifest`.
pub fn manifest_name(prefix: &str) -> String {
    format!("{prefix}.manifest")
}

/// The temporary manifest written before the rename.
pub fn temp_manifest_name(prefix: &str) -> String {
    format!("temp-{prefix}.manifest")
}

fn trim(line: &[u8]) -> &[u8] {
    let is_space = |b: &u8| matches!(b, b' ' | b'\t' | b'\r' | b'\n');
    let start = line.iter().position(|b| !is_space(b)).unwrap_or(line.len());
    let end = line
        .iter()
        .rposition(|b| !is_space(b))
        .map_or(start, |e| e + 1);
    &line[start..end]
}

/// A file name as the manifest writes it: raw, or quoted with escapes when it holds spaces,
/// quotes or non-printable bytes (Valkey's `sdscatrepr` when `sdsneedsrepr`).
fn quote_if_needed(name: &str) -> String {
    let needs = name.bytes().any(|b| {
        b.is_ascii_whitespace() || b == b'"' || b == b'\'' || b == b'\\' || !b.is_ascii_graphic()
    });
    if needs {
        resp::request::repr(name.as_bytes())
    } else {
        name.to_string()
    }
}

/// One item of an AOF command stream.
#[derive(Debug, PartialEq, Eq)]
pub enum AofItem {
    /// A command, with the file offset just past it.
    Command { argv: Vec<Vec<u8>>, end: u64 },
    /// An annotation line (`#TS:...`), skipped on load.
    Annotation,
}

/// Why reading an AOF command stream stopped before its end.
#[derive(Debug, PartialEq, Eq)]
pub enum AofStop {
    /// The file ends in the middle of a command: `valid` bytes hold whole commands.
    Truncated { valid: u64 },
    /// Bytes that are not a command, at `offset`.
    Corrupt { offset: u64 },
}

/// Reads the commands of an AOF file (RESP multibulk, `#` annotation lines), keeping the
/// offset of the end of the last whole command so that a truncated tail can be cut.
pub struct CommandReader<R> {
    input: R,
    offset: u64,
    line: Vec<u8>,
    max_bulk: u64,
}

impl<R: BufRead> CommandReader<R> {
    /// `offset`: where `input` starts in the file (after an RDB preamble).
    pub fn new(input: R, offset: u64) -> Self {
        CommandReader {
            input,
            offset,
            line: Vec::new(),
            max_bulk: 512 << 20,
        }
    }

    /// Arguments longer than this are corruption (`proto-max-bulk-len`).
    pub fn max_bulk(mut self, max: u64) -> Self {
        self.max_bulk = max;
        self
    }

    /// Bytes consumed so far (the end of the last whole item).
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The next item; Ok(None) at a clean end of file.
    pub fn next_item(&mut self) -> Result<Option<AofItem>, AofStop> {
        let start = self.offset;
        let truncated = AofStop::Truncated { valid: start };
        let corrupt = AofStop::Corrupt { offset: start };
        let mut pos = start;
        let n = read_line(&mut self.input, &mut self.line).map_err(|_| corrupt_at(start))?;
        if n == 0 {
            return Ok(None);
        }
        pos += n as u64;
        if self.line.first() == Some(&b'#') {
            if !self.line.ends_with(b"\n") {
                return Err(truncated);
            }
            self.offset = pos;
            return Ok(Some(AofItem::Annotation));
        }
        if !self.line.ends_with(b"\r\n") {
            return Err(if self.line.contains(&b'\n') {
                corrupt
            } else {
                truncated
            });
        }
        let count = match (
            self.line.first(),
            parse_len(&self.line[1..self.line.len() - 2]),
        ) {
            (Some(b'*'), Some(c)) if c >= 1 => c,
            _ => return Err(corrupt),
        };
        let mut argv = Vec::with_capacity(count.min(1024) as usize);
        for _ in 0..count {
            let n = read_line(&mut self.input, &mut self.line).map_err(|_| corrupt_at(pos))?;
            if n == 0 || !self.line.ends_with(b"\n") {
                return Err(truncated);
            }
            if !self.line.ends_with(b"\r\n") || self.line.first() != Some(&b'$') {
                return Err(corrupt);
            }
            let Some(len) = parse_len(&self.line[1..self.line.len() - 2]) else {
                return Err(corrupt);
            };
            if len > self.max_bulk {
                return Err(corrupt);
            }
            pos += n as u64;
            let mut arg = vec![0u8; len as usize + 2];
            match read_full(&mut self.input, &mut arg) {
                Ok(true) => {}
                Ok(false) => return Err(truncated),
                Err(_) => return Err(corrupt),
            }
            if !arg.ends_with(b"\r\n") {
                return Err(corrupt);
            }
            arg.truncate(len as usize);
            pos += len + 2;
            argv.push(arg);
        }
        self.offset = pos;
        Ok(Some(AofItem::Command { argv, end: pos }))
    }
}

fn corrupt_at(offset: u64) -> AofStop {
    AofStop::Corrupt { offset }
}

fn parse_len(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() || digits.len() > 19 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// Reads one line (up to and including `\n`, or to the end of input), at most 64 KiB.
fn read_line<R: BufRead>(input: &mut R, line: &mut Vec<u8>) -> std::io::Result<usize> {
    line.clear();
    let mut total = 0;
    loop {
        let buf = input.fill_buf()?;
        if buf.is_empty() {
            return Ok(total);
        }
        let (take, done) = match buf.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (buf.len(), false),
        };
        line.extend_from_slice(&buf[..take]);
        input.consume(take);
        total += take;
        if done || total > 64 * 1024 {
            return Ok(total);
        }
    }
}

/// Fills `buf`; false if the input ended first.
fn read_full<R: BufRead>(input: &mut R, buf: &mut [u8]) -> std::io::Result<bool> {
    let mut done = 0;
    while done < buf.len() {
        let n = input.read(&mut buf[done..])?;
        if n == 0 {
            return Ok(false);
        }
        done += n;
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manifest_round_trips_and_quotes_odd_names() {
        let m = Manifest {
            base: Some(AofFile {
                name: "appendonly.aof.1.base.rdb".into(),
                seq: 1,
                kind: AofKind::Base,
            }),
            history: vec![AofFile {
                name: "my aof.1.incr.aof".into(),
                seq: 1,
                kind: AofKind::History,
            }],
            incrs: vec![AofFile {
                name: "appendonly.aof.1.incr.aof".into(),
                seq: 1,
                kind: AofKind::Incr,
            }],
        };
        let text = m.to_text();
        assert_eq!(
            text,
            "file appendonly.aof.1.base.rdb seq 1 type b\n\
             file \"my aof.1.incr.aof\" seq 1 type h\n\
             file appendonly.aof.1.incr.aof seq 1 type i\n"
        );
        assert_eq!(Manifest::parse(text.as_bytes()).unwrap(), m);
    }

    #[test]
    fn bad_manifests_are_refused_with_valkeys_reasons() {
        let err = |t: &str| Manifest::parse(t.as_bytes()).unwrap_err().to_string();
        assert!(err("file a seq 1 type b").contains("too long line"));
        assert!(err("file a seq 1\n").contains("Invalid AOF manifest file format"));
        assert!(err("file a seq 1 type x\n").contains("Unknown AOF file type"));
        assert!(err("file a seq 1 type b\nfile b seq 2 type b\n").contains("duplicate base"));
        assert!(err("file a seq 2 type i\nfile b seq 1 type i\n").contains("non-monotonic"));
        assert!(err("# only a comment\n").contains("empty"));
        assert!(err("file \"a seq 1 type b\n").contains("Invalid AOF manifest file format"));
        let long = format!("file {} seq 1 type b\n", "a".repeat(2000));
        assert!(err(&long).contains("too long"));
        assert!(err("file a seq 1 type b\n\n").contains("Invalid AOF manifest file format"));
        assert!(err("file a/b seq 1 type b\n").contains("can't be a path"));
        assert!(err("file a seq 0 type b\n").contains("Invalid AOF manifest file format"));
        // Extra keys are ignored (any case), comments skipped.
        let m = Manifest::parse(b"# c\nFILE a SEQ 3 TYPE i extra x\n").unwrap();
        assert_eq!(m.incrs[0].seq, 3);
    }

    fn items(data: &[u8]) -> (Vec<Vec<Vec<u8>>>, Option<AofStop>) {
        let mut r = CommandReader::new(data, 0);
        let mut out = Vec::new();
        loop {
            match r.next_item() {
                Ok(Some(AofItem::Command { argv, .. })) => out.push(argv),
                Ok(Some(AofItem::Annotation)) => {}
                Ok(None) => return (out, None),
                Err(stop) => return (out, Some(stop)),
            }
        }
    }

    #[test]
    fn commands_annotations_and_where_a_file_stops() {
        let whole =
            b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n#TS:1\r\n*3\r\n$3\r\nset\r\n$1\r\nk\r\n$1\r\nv\r\n";
        let (cmds, stop) = items(whole);
        assert_eq!(cmds.len(), 2);
        assert_eq!(cmds[1], vec![b"set".to_vec(), b"k".to_vec(), b"v".to_vec()]);
        assert_eq!(stop, None);
        // Cut anywhere inside the last command: truncated after the annotation.
        let last_start = whole.len() - b"*3\r\n$3\r\nset\r\n$1\r\nk\r\n$1\r\nv\r\n".len();
        for cut in last_start + 1..whole.len() {
            let (cmds, stop) = items(&whole[..cut]);
            assert_eq!(cmds.len(), 1, "cut at {cut}");
            assert_eq!(
                stop,
                Some(AofStop::Truncated {
                    valid: last_start as u64
                }),
                "cut at {cut}"
            );
        }
        // Garbage in the middle is corruption at its offset.
        let mut bad = whole[..last_start].to_vec();
        bad.extend_from_slice(b"!!!garbage\r\n*1\r\n$4\r\nping\r\n");
        let (_, stop) = items(&bad);
        assert_eq!(
            stop,
            Some(AofStop::Corrupt {
                offset: last_start as u64
            })
        );
        let (_, stop) = items(b"*1\r\n$999999999999\r\nx\r\n");
        assert_eq!(stop, Some(AofStop::Corrupt { offset: 0 }));
    }
}
