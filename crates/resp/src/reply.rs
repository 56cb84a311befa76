//! Replies as values, and their encoding in RESP2 and RESP3.
//!
//! Handlers build a [`Reply`]; the connection layer encodes it for the protocol version the
//! client negotiated with HELLO. Types that RESP2 lacks degrade the way Redis degrades them
//! (maps become flat arrays, doubles become bulk strings, booleans become integers).

use std::borrow::Cow;

use bytes::Bytes;

use crate::float::write_double;

/// Protocol version of a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum RespVersion {
    #[default]
    Resp2,
    Resp3,
}

/// A reply to one command.
#[derive(Clone, Debug)]
pub enum Reply {
    /// `+OK`.
    Ok,
    /// A simple string, e.g. `PONG`, `QUEUED`.
    Status(Cow<'static, str>),
    /// An error line without the leading `-`, e.g. `ERR syntax error`.
    Error(Cow<'static, str>),
    Int(i64),
    Bulk(Bytes),
    /// Null bulk string (`$-1`; RESP3 `_`).
    Nil,
    /// Null array (`*-1`; RESP3 `_`).
    NilArray,
    Array(Vec<Reply>),
    /// RESP3 map; RESP2 flat array of key, value, ...
    Map(Vec<(Reply, Reply)>),
    /// RESP3 set; RESP2 array.
    Set(Vec<Reply>),
    /// RESP3 double; RESP2 bulk string in Redis's number format.
    Double(f64),
    /// RESP3 boolean; RESP2 integer 1/0.
    Bool(bool),
    /// RESP3 verbatim string with a 3-letter format (`txt`); RESP2 bulk string.
    Verbatim(&'static str, Bytes),
    /// RESP3 push; RESP2 array (pub/sub messages).
    Push(Vec<Reply>),
    /// RESP3 big number (decimal digits); RESP2 bulk string.
    BigNumber(Bytes),
    /// RESP3 attributes followed by the reply they describe; RESP2 only the reply.
    Attribute(Vec<(Reply, Reply)>, Box<Reply>),
    /// Bytes already encoded (the caller guarantees they are valid RESP for this client).
    Raw(Bytes),
    /// Several replies back to back, not wrapped in an array (SUBSCRIBE a b answers with one
    /// confirmation per channel).
    Seq(Vec<Reply>),
    /// An array of bulk strings written as it is built (LRANGE): one buffer instead of a
    /// reply per element. Equal to the [`Reply::Array`] of the same bulks.
    Bulks(BulkList),
}

/// The elements of a [`Reply::Bulks`], encoded back to back (`$<len>\r\n<data>\r\n`).
#[derive(Clone, Debug, Default)]
pub struct BulkList {
    count: usize,
    body: Vec<u8>,
}

impl BulkList {
    /// Room for `count` elements of about `each` bytes.
    pub fn with_capacity(count: usize, each: usize) -> BulkList {
        BulkList {
            count: 0,
            body: Vec::with_capacity(count.saturating_mul(each.saturating_add(8))),
        }
    }

    pub fn push(&mut self, data: &[u8]) {
        encode_bulk(&mut self.body, data);
        self.count += 1;
    }

    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The elements, in order.
    pub fn iter(&self) -> impl Iterator<Item = &[u8]> + '_ {
        let mut rest = &self.body[..];
        std::iter::from_fn(move || {
            // Written by `push` only: `$<len>\r\n<data>\r\n`, so this never stops early.
            let line = memchr::memchr(b'\n', rest)?;
            let len: usize = std::str::from_utf8(rest.get(1..line.checked_sub(1)?)?)
                .ok()?
                .parse()
                .ok()?;
            let data = rest.get(line + 1..line + 1 + len)?;
            rest = rest.get(line + 3 + len..).unwrap_or_default();
            Some(data)
        })
    }

    /// The same elements as an array of bulk replies.
    pub fn to_array(&self) -> Reply {
        Reply::Array(self.iter().map(Reply::bulk).collect())
    }
}

impl PartialEq for Reply {
    fn eq(&self, other: &Reply) -> bool {
        use Reply::*;
        match (self, other) {
            (Bulks(a), Bulks(b)) => a.count == b.count && a.body == b.body,
            (Bulks(a), b) => &a.to_array() == b,
            (a, Bulks(b)) => a == &b.to_array(),
            (Ok, Ok) | (Nil, Nil) | (NilArray, NilArray) => true,
            (Status(a), Status(b)) | (Error(a), Error(b)) => a == b,
            (Int(a), Int(b)) => a == b,
            (Bulk(a), Bulk(b)) | (BigNumber(a), BigNumber(b)) | (Raw(a), Raw(b)) => a == b,
            (Array(a), Array(b)) | (Set(a), Set(b)) | (Push(a), Push(b)) | (Seq(a), Seq(b)) => {
                a == b
            }
            (Map(a), Map(b)) => a == b,
            (Double(a), Double(b)) => a == b,
            (Bool(a), Bool(b)) => a == b,
            (Verbatim(f, a), Verbatim(g, b)) => f == g && a == b,
            (Attribute(a, x), Attribute(b, y)) => a == b && x == y,
            _ => false,
        }
    }
}

impl Reply {
    pub fn error(msg: impl Into<Cow<'static, str>>) -> Reply {
        Reply::Error(msg.into())
    }

    pub fn status(msg: impl Into<Cow<'static, str>>) -> Reply {
        Reply::Status(msg.into())
    }

    pub fn bulk(data: &[u8]) -> Reply {
        Reply::Bulk(Bytes::copy_from_slice(data))
    }

    /// Bulk string or nil.
    pub fn opt_bulk(data: Option<&[u8]>) -> Reply {
        data.map_or(Reply::Nil, Reply::bulk)
    }

    pub fn bulks<I, T>(items: I) -> Reply
    where
        I: IntoIterator<Item = T>,
        T: AsRef<[u8]>,
    {
        Reply::Array(items.into_iter().map(|i| Reply::bulk(i.as_ref())).collect())
    }

    pub fn is_error(&self) -> bool {
        matches!(self, Reply::Error(_))
    }

    /// The error code (first word) of an error reply, as counted in `INFO errorstats`.
    pub fn error_code(&self) -> Option<&str> {
        match self {
            Reply::Error(e) => Some(e.split(' ').next().unwrap_or("ERR")),
            _ => None,
        }
    }

    /// Appends the encoding of this reply to `out`.
    pub fn encode(&self, proto: RespVersion, out: &mut Vec<u8>) {
        let r3 = proto == RespVersion::Resp3;
        match self {
            Reply::Ok => out.extend_from_slice(b"+OK\r\n"),
            Reply::Status(s) => line(out, b'+', s.as_bytes()),
            Reply::Error(e) => line(out, b'-', e.as_bytes()),
            Reply::Int(i) => int_line(out, b':', *i),
            Reply::Bulk(b) => encode_bulk(out, b),
            Reply::Nil if r3 => out.extend_from_slice(b"_\r\n"),
            Reply::Nil => out.extend_from_slice(b"$-1\r\n"),
            Reply::NilArray if r3 => out.extend_from_slice(b"_\r\n"),
            Reply::NilArray => out.extend_from_slice(b"*-1\r\n"),
            Reply::Array(items) => encode_seq(out, b'*', items, proto),
            Reply::Set(items) => encode_seq(out, if r3 { b'~' } else { b'*' }, items, proto),
            Reply::Push(items) => encode_seq(out, if r3 { b'>' } else { b'*' }, items, proto),
            Reply::Map(pairs) => {
                if r3 {
                    int_line(out, b'%', pairs.len() as i64);
                } else {
                    int_line(out, b'*', 2 * pairs.len() as i64);
                }
                for (k, v) in pairs {
                    k.encode(proto, out);
                    v.encode(proto, out);
                }
            }
            Reply::Double(d) => {
                let mut s = String::with_capacity(24);
                write_double(&mut s, *d);
                if r3 {
                    line(out, b',', s.as_bytes());
                } else {
                    encode_bulk(out, s.as_bytes());
                }
            }
            Reply::Bool(b) if r3 => out.extend_from_slice(if *b { b"#t\r\n" } else { b"#f\r\n" }),
            Reply::Bool(b) => int_line(out, b':', *b as i64),
            Reply::Verbatim(fmt, data) if r3 => {
                int_line(out, b'=', (data.len() + 4) as i64);
                out.extend_from_slice(fmt.as_bytes());
                out.push(b':');
                out.extend_from_slice(data);
                out.extend_from_slice(b"\r\n");
            }
            Reply::Verbatim(_, data) => encode_bulk(out, data),
            Reply::BigNumber(digits) if r3 => line(out, b'(', digits),
            Reply::BigNumber(digits) => encode_bulk(out, digits),
            Reply::Attribute(attrs, reply) => {
                if r3 {
                    int_line(out, b'|', attrs.len() as i64);
                    for (k, v) in attrs {
                        k.encode(proto, out);
                        v.encode(proto, out);
                    }
                }
                reply.encode(proto, out);
            }
            Reply::Raw(b) => out.extend_from_slice(b),
            Reply::Bulks(list) => {
                int_line(out, b'*', list.count as i64);
                out.extend_from_slice(&list.body);
            }
            Reply::Seq(items) => items.iter().for_each(|r| r.encode(proto, out)),
        }
    }

    /// Convenience: the encoding as a new vector.
    pub fn to_bytes(&self, proto: RespVersion) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode(proto, &mut out);
        out
    }
}

fn encode_seq(out: &mut Vec<u8>, tag: u8, items: &[Reply], proto: RespVersion) {
    int_line(out, tag, items.len() as i64);
    for item in items {
        item.encode(proto, out);
    }
}

/// `$<len>\r\n<data>\r\n`.
pub fn encode_bulk(out: &mut Vec<u8>, data: &[u8]) {
    out.reserve(data.len() + 16);
    int_line(out, b'$', data.len() as i64);
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
}

/// How many numbers [`SMALL`] spells out.
const SMALL_COUNT: usize = 1000;

/// The decimal digits of 0..[`SMALL_COUNT`] (up to three, left-aligned) and their count: the
/// lengths and counts of most replies, written without formatting.
static SMALL: [([u8; 3], u8); SMALL_COUNT] = {
    let mut t = [([0u8; 3], 0u8); SMALL_COUNT];
    let mut n = 0;
    while n < SMALL_COUNT {
        let (h, d, u) = ((n / 100) as u8, (n / 10 % 10) as u8, (n % 10) as u8);
        t[n] = if n >= 100 {
            ([b'0' + h, b'0' + d, b'0' + u], 3)
        } else if n >= 10 {
            ([b'0' + d, b'0' + u, 0], 2)
        } else {
            ([b'0' + u, 0, 0], 1)
        };
        n += 1;
    }
    t
};

/// `<tag><n>\r\n`, appended in one copy.
pub fn int_line(out: &mut Vec<u8>, tag: u8, n: i64) {
    let mut line = [0u8; 24];
    line[0] = tag;
    let len = match usize::try_from(n) {
        Ok(small) if small < SMALL_COUNT => {
            let (digits, len) = SMALL[small];
            line[1..4].copy_from_slice(&digits);
            len as usize
        }
        _ => {
            let mut buf = itoa::Buffer::new();
            let digits = buf.format(n).as_bytes();
            line[1..1 + digits.len()].copy_from_slice(digits);
            digits.len()
        }
    };
    line[1 + len..3 + len].copy_from_slice(b"\r\n");
    out.extend_from_slice(&line[..3 + len]);
}

/// A simple line; CR and LF inside are replaced by spaces, as Redis does for status/errors.
fn line(out: &mut Vec<u8>, tag: u8, text: &[u8]) {
    out.push(tag);
    if memchr::memchr2(b'\r', b'\n', text).is_some() {
        out.extend(
            text.iter()
                .map(|&c| if c == b'\r' || c == b'\n' { b' ' } else { c }),
        );
    } else {
        out.extend_from_slice(text);
    }
    out.extend_from_slice(b"\r\n");
}

/// Encodes a command as a RESP multibulk array (what clients, primaries and the replication
/// stream send).
pub fn encode_command<T: AsRef<[u8]>>(out: &mut Vec<u8>, args: &[T]) {
    int_line(out, b'*', args.len() as i64);
    for a in args {
        encode_bulk(out, a.as_ref());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(r: &Reply, p: RespVersion) -> String {
        String::from_utf8(r.to_bytes(p)).unwrap()
    }

    #[test]
    fn a_bulk_list_encodes_and_compares_as_the_array_of_its_bulks() {
        let items: [&[u8]; 4] = [b"a", b"", b"x\r\ny", &[b'z'; 300]];
        let mut list = BulkList::with_capacity(4, 8);
        for i in items {
            list.push(i);
        }
        let array = Reply::Array(items.iter().map(|i| Reply::bulk(i)).collect());
        let bulks = Reply::Bulks(list.clone());
        for p in [RespVersion::Resp2, RespVersion::Resp3] {
            assert_eq!(bulks.to_bytes(p), array.to_bytes(p));
        }
        assert_eq!(bulks, array);
        assert_eq!(array, bulks);
        assert_eq!(list.iter().collect::<Vec<_>>(), items);
        assert_ne!(bulks, Reply::Array(Vec::new()));
        let empty = Reply::Bulks(BulkList::default());
        assert_eq!(empty, Reply::Array(Vec::new()));
        assert_eq!(empty.to_bytes(RespVersion::Resp3), b"*0\r\n");
    }

    #[test]
    fn integer_lines_are_exact_around_the_table_and_at_the_extremes() {
        for n in [
            0,
            7,
            9,
            10,
            99,
            100,
            999,
            1000,
            1001,
            -1,
            -999,
            i64::MAX,
            i64::MIN,
        ] {
            let mut out = Vec::new();
            int_line(&mut out, b':', n);
            assert_eq!(out, format!(":{n}\r\n").into_bytes(), "{n}");
        }
        for n in 0..SMALL_COUNT as i64 {
            let mut out = vec![b'x'];
            int_line(&mut out, b'$', n);
            assert_eq!(out, format!("x${n}\r\n").into_bytes());
        }
    }

    #[test]
    fn resp2_and_resp3_shapes() {
        use RespVersion::*;
        let map = Reply::Map(vec![(Reply::bulk(b"a"), Reply::Int(1))]);
        assert_eq!(enc(&map, Resp2), "*2\r\n$1\r\na\r\n:1\r\n");
        assert_eq!(enc(&map, Resp3), "%1\r\n$1\r\na\r\n:1\r\n");
        assert_eq!(enc(&Reply::Double(1.5), Resp2), "$3\r\n1.5\r\n");
        assert_eq!(enc(&Reply::Double(f64::INFINITY), Resp3), ",inf\r\n");
        assert_eq!(enc(&Reply::Nil, Resp2), "$-1\r\n");
        assert_eq!(enc(&Reply::NilArray, Resp3), "_\r\n");
        assert_eq!(enc(&Reply::Bool(true), Resp2), ":1\r\n");
        assert_eq!(
            enc(&Reply::Verbatim("txt", Bytes::from_static(b"hi")), Resp3),
            "=6\r\ntxt:hi\r\n"
        );
        assert_eq!(enc(&Reply::error("ERR a\r\nb"), Resp2), "-ERR a  b\r\n");
    }

    #[test]
    fn command_encoding() {
        let mut out = Vec::new();
        encode_command(&mut out, &[&b"SELECT"[..], b"0"]);
        assert_eq!(out, b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n");
    }
}
