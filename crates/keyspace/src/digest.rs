//! DEBUG DIGEST / DIGEST-VALUE with exactly Valkey 8's algorithm (PROTOCOL.md §H.2), so one
//! command proves a Redwing node and a Valkey/Redis node hold the same data.
//!
//! mix(x): digest = SHA1(digest XOR SHA1(x)) — order-sensitive; xor(x): digest ^= SHA1(x) —
//! order-insensitive (sets, hashes, keys).

use sha1::{Digest, Sha1};

use types::stream::id as stream_id;

use crate::obj::{Obj, ValueRef};
use crate::Db;

pub type Digest20 = [u8; 20];

fn sha1(data: &[u8]) -> Digest20 {
    let mut h = Sha1::new();
    h.update(data);
    h.finalize().into()
}

pub fn xor_digest(digest: &mut Digest20, data: &[u8]) {
    let h = sha1(data);
    for (d, x) in digest.iter_mut().zip(h.iter()) {
        *d ^= x;
    }
}

pub fn mix_digest(digest: &mut Digest20, data: &[u8]) {
    xor_digest(digest, data);
    *digest = sha1(digest);
}

/// The digest of one value (DEBUG DIGEST-VALUE), without the key.
pub fn value_digest(obj: &Obj) -> Digest20 {
    let mut d = [0u8; 20];
    mix_value(&mut d, obj);
    d
}

fn element_digest(parts: &[&[u8]]) -> Digest20 {
    let mut e = [0u8; 20];
    for p in parts {
        mix_digest(&mut e, p);
    }
    e
}

fn mix_value(d: &mut Digest20, obj: &Obj) {
    mix_digest(d, &(obj.kind() as u32).to_be_bytes());
    match obj.value() {
        ValueRef::Str(s) => mix_digest(d, s),
        ValueRef::Int(i) => mix_digest(d, i.to_string().as_bytes()),
        ValueRef::List(l) => l.for_each(|e| e.with_bytes(|b| mix_digest(d, b))),
        ValueRef::Set(s) => s.for_each(|m| xor_digest(d, m)),
        ValueRef::ZSet(z) => {
            for (m, score) in z.iter() {
                let e = element_digest(&[m, resp::float::fpconv_dtoa(score).as_bytes()]);
                xor_digest(d, &e);
            }
        }
        ValueRef::Hash(h) => {
            for (f, v) in h.iter() {
                xor_digest(d, &element_digest(&[f, v]));
            }
        }
        ValueRef::Stream(s) => {
            // Entries only (groups are not part of a stream's digest in Valkey).
            for e in s.entries.range(stream_id::MIN, stream_id::MAX, false) {
                mix_digest(d, format!("{}.{}", e.id().ms, e.id().seq).as_bytes());
                for (f, v) in e.fields() {
                    mix_digest(d, &f.to_vec());
                    mix_digest(d, &v.to_vec());
                }
            }
        }
    }
    if obj.expire_ms().is_some() {
        xor_digest(d, b"!!expire!!");
    }
}

/// The dataset digest (DEBUG DIGEST); all zeros for an empty dataset.
pub fn dataset_digest(dbs: &[Db]) -> Digest20 {
    let mut fin = [0u8; 20];
    for (id, db) in dbs.iter().enumerate() {
        if db.is_empty() {
            continue;
        }
        mix_digest(&mut fin, &(id as u32).to_be_bytes());
        for obj in db.iter() {
            let mut kd = [0u8; 20];
            mix_digest(&mut kd, obj.key());
            mix_value(&mut kd, obj);
            xor_digest(&mut fin, &kd);
        }
    }
    fin
}

pub fn hex(d: &Digest20) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}
