//! Client-side parsing of replies (RESP2 and RESP3), for the replica side of replication, the
//! test kit and tools.

use bytes::Bytes;

use crate::error::ProtocolError;
use crate::request::parse_i64;

/// Deepest nesting accepted, so hostile input cannot exhaust the stack.
const MAX_DEPTH: usize = 64;
/// Largest aggregate length accepted before the elements arrive (no huge pre-allocation).
const MAX_PREALLOC: usize = 1024;

/// One parsed reply.
#[derive(Clone, Debug, PartialEq)]
pub enum Frame {
    Simple(String),
    Error(String),
    Int(i64),
    Bulk(Bytes),
    /// `$-1`, `*-1` or RESP3 `_`.
    Null,
    Array(Vec<Frame>),
    Map(Vec<(Frame, Frame)>),
    Set(Vec<Frame>),
    Push(Vec<Frame>),
    Double(String),
    Bool(bool),
    Verbatim(Bytes),
    BigNumber(String),
}

impl Frame {
    /// The bytes of a simple or bulk string.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Frame::Simple(s) | Frame::Error(s) | Frame::Double(s) | Frame::BigNumber(s) => {
                Some(s.as_bytes())
            }
            Frame::Bulk(b) | Frame::Verbatim(b) => Some(b),
            _ => None,
        }
    }

    /// Lossy text view, handy in tests and logs.
    pub fn text(&self) -> String {
        match self {
            Frame::Int(i) => i.to_string(),
            Frame::Null => "(nil)".into(),
            Frame::Bool(b) => b.to_string(),
            other => other
                .as_bytes()
                .map(|b| String::from_utf8_lossy(b).into_owned())
                .unwrap_or_default(),
        }
    }

    pub fn is_error(&self) -> bool {
        matches!(self, Frame::Error(_))
    }
}

/// Parses one frame from the start of `buf`. Returns the frame and the bytes it used, or
/// `None` when the buffer holds only part of a frame.
pub fn parse_frame(buf: &[u8]) -> Result<Option<(Frame, usize)>, ProtocolError> {
    let mut pos = 0;
    match parse_at(buf, &mut pos, 0)? {
        Some(f) => Ok(Some((f, pos))),
        None => Ok(None),
    }
}

fn bad(what: &'static str) -> ProtocolError {
    ProtocolError::new(format!("Protocol error: {what}"), what)
}

fn read_line<'a>(buf: &'a [u8], pos: &mut usize) -> Option<&'a [u8]> {
    let start = *pos;
    let rel = memchr::memchr(b'\n', &buf[start..])?;
    let end = start + rel;
    *pos = end + 1;
    let line = &buf[start..end];
    Some(line.strip_suffix(b"\r").unwrap_or(line))
}

fn parse_at(buf: &[u8], pos: &mut usize, depth: usize) -> Result<Option<Frame>, ProtocolError> {
    if depth > MAX_DEPTH {
        return Err(bad("reply nested too deeply"));
    }
    let Some(&tag) = buf.get(*pos) else {
        return Ok(None);
    };
    let start = *pos;
    *pos += 1;
    let Some(line) = read_line(buf, pos) else {
        *pos = start;
        return Ok(None);
    };
    let text = || String::from_utf8_lossy(line).into_owned();
    let int = || parse_i64(line).ok_or_else(|| bad("invalid length or integer"));
    let frame = match tag {
        b'+' => Frame::Simple(text()),
        b'-' => Frame::Error(text()),
        b':' => Frame::Int(int()?),
        b',' => Frame::Double(text()),
        b'(' => Frame::BigNumber(text()),
        b'_' => Frame::Null,
        b'#' => Frame::Bool(line == b"t"),
        b'$' | b'=' | b'!' => {
            let n = int()?;
            if n < 0 {
                Frame::Null
            } else {
                let n = n as usize;
                if buf.len() < *pos + n + 2 {
                    *pos = start;
                    return Ok(None);
                }
                let data = Bytes::copy_from_slice(&buf[*pos..*pos + n]);
                *pos += n + 2;
                match tag {
                    b'$' => Frame::Bulk(data),
                    b'=' => Frame::Verbatim(data.slice(4.min(data.len())..)),
                    _ => Frame::Error(String::from_utf8_lossy(&data).into_owned()),
                }
            }
        }
        b'*' | b'~' | b'>' | b'%' => {
            let n = int()?;
            if n < 0 {
                Frame::Null
            } else {
                let count = if tag == b'%' {
                    n as usize * 2
                } else {
                    n as usize
                };
                let mut items = Vec::with_capacity(count.min(MAX_PREALLOC));
                for _ in 0..count {
                    match parse_at(buf, pos, depth + 1)? {
                        Some(f) => items.push(f),
                        None => {
                            *pos = start;
                            return Ok(None);
                        }
                    }
                }
                match tag {
                    b'*' => Frame::Array(items),
                    b'~' => Frame::Set(items),
                    b'>' => Frame::Push(items),
                    _ => {
                        let mut pairs = Vec::with_capacity(items.len() / 2);
                        let mut it = items.into_iter();
                        while let (Some(k), Some(v)) = (it.next(), it.next()) {
                            pairs.push((k, v));
                        }
                        Frame::Map(pairs)
                    }
                }
            }
        }
        _ => return Err(bad("unexpected reply type byte")),
    };
    Ok(Some(frame))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_nested_and_partial() {
        let input = b"*3\r\n$3\r\nfoo\r\n:12\r\n*-1\r\n";
        let (f, used) = parse_frame(input).unwrap().unwrap();
        assert_eq!(used, input.len());
        assert_eq!(
            f,
            Frame::Array(vec![
                Frame::Bulk(Bytes::from_static(b"foo")),
                Frame::Int(12),
                Frame::Null
            ])
        );
        for cut in 0..input.len() {
            assert_eq!(parse_frame(&input[..cut]).unwrap(), None, "cut at {cut}");
        }
    }

    #[test]
    fn resp3_types() {
        let (f, _) = parse_frame(b"%1\r\n+a\r\n#t\r\n").unwrap().unwrap();
        assert_eq!(
            f,
            Frame::Map(vec![(Frame::Simple("a".into()), Frame::Bool(true))])
        );
        assert!(parse_frame(b"?x\r\n").is_err());
    }
}
