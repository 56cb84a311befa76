//! `Obj`: one key of the keyspace — key, value and metadata in a single heap block.
//!
//! Layout (8-aligned):
//! ```text
//!  0  refcnt  AtomicU32   shared with snapshots (copy-on-write, see below)
//!  4  meta    AtomicU32   bits 0..24 LRU clock / LFU data, bits 24..32 tag
//!  8  key_len u32
//! 12  val_len u32         inline strings only
//! 16  [expire_ms i64]     only when the tag has HAS_EXPIRE
//!     key bytes
//!     payload: inline string bytes | i64 (int-encoded string) | *mut Boxed (collections)
//! ```
//! A 16-byte key with a 64-byte value is one 96-byte allocation (exactly a jemalloc size
//! class); with the table's share (an 8-byte entry word, a 2-byte index slot, segment
//! overhead: ~12 bytes) that is ~108 bytes per key of `used_memory`, against ~144 for Valkey 8
//! (dictEntry with embedded key + robj + value sds + bucket) — `bench/memory.py`.
//!
//! **Sharing.** A snapshot holds segments of the keyspace, and through them `Obj` handles. The
//! reference count is atomic because the snapshot thread drops its handles while the executor
//! runs. Every mutation goes through `&mut Obj` and first makes the handle unique (copying the
//! value if a snapshot still shares it), so a snapshot never observes a change. The LRU field is
//! the only thing written through `&Obj`; it is atomic and snapshots do not depend on it.

use std::alloc::{alloc, dealloc, Layout};
use std::ptr::NonNull;
use std::sync::atomic::{fence, AtomicU32, Ordering};

use types::hash::Hash;
use types::list::List;
use types::set::Set;
use types::stream::Stream;
use types::zset::ZSet;

const HEADER: usize = 16;
const TAG_SHIFT: u32 = 24;
const LRU_MASK: u32 = (1 << TAG_SHIFT) - 1;
const HAS_EXPIRE: u8 = 0x80;
const KIND_MASK: u8 = 0x7f;
const STR_INLINE: u8 = 0;
const STR_INT: u8 = 1;
const BOXED: u8 = 2;

/// Values that do not live inline in the block.
#[derive(Clone, Debug)]
pub enum Boxed {
    /// A string that was modified in place (APPEND, SETRANGE): `raw` encoding, with spare
    /// capacity so repeated appends are amortised O(1).
    Str(Vec<u8>),
    List(List),
    Hash(Hash),
    Set(Set),
    ZSet(ZSet),
    Stream(Box<Stream>),
}

/// Redis data types (`TYPE`), in the numbering DEBUG DIGEST uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    String = 0,
    List = 1,
    Set = 2,
    ZSet = 3,
    Hash = 4,
    Stream = 6,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::String => "string",
            Kind::List => "list",
            Kind::Set => "set",
            Kind::ZSet => "zset",
            Kind::Hash => "hash",
            Kind::Stream => "stream",
        }
    }
}

/// A borrowed view of a value.
#[derive(Clone, Copy, Debug)]
pub enum ValueRef<'a> {
    Str(&'a [u8]),
    Int(i64),
    List(&'a List),
    Hash(&'a Hash),
    Set(&'a Set),
    ZSet(&'a ZSet),
    Stream(&'a Stream),
}

/// What a new `Obj` holds.
#[derive(Debug)]
pub enum NewValue<'a> {
    /// A string; canonical integers are stored int-encoded, as Redis's `tryObjectEncoding`.
    Str(&'a [u8]),
    Int(i64),
    Boxed(Boxed),
}

/// One key with its value.
pub struct Obj(NonNull<u8>);

// SAFETY: the block is immutable while shared (all mutation requires `&mut Obj` and a unique
// handle), the reference count and LRU word are atomics, and `Boxed` is Send + Sync.
unsafe impl Send for Obj {}
// SAFETY: see above; `&Obj` allows only reads and atomic LRU stores.
unsafe impl Sync for Obj {}

/// The integer value of a string if Redis would int-encode it.
pub fn int_encodable(s: &[u8]) -> Option<i64> {
    if s.len() > 20 {
        return None;
    }
    types::set::resp_int(s)
}

impl Obj {
    /// Starts loading the block's first two cache lines (header, key and a short value).
    #[inline]
    pub fn prefetch(&self) {
        let p = self.0.as_ptr();
        types::segmap::prefetch(p);
        types::segmap::prefetch(p.wrapping_add(64));
    }

    pub fn new(key: &[u8], value: NewValue<'_>, expire_ms: Option<i64>) -> Obj {
        match value {
            NewValue::Str(s) => match int_encodable(s) {
                Some(i) => Self::build(key, expire_ms, STR_INT, &i.to_ne_bytes(), 0),
                None => Self::build(key, expire_ms, STR_INLINE, s, s.len()),
            },
            NewValue::Int(i) => Self::build(key, expire_ms, STR_INT, &i.to_ne_bytes(), 0),
            NewValue::Boxed(b) => {
                let ptr = Box::into_raw(Box::new(b)) as usize;
                Self::build(key, expire_ms, BOXED, &ptr.to_ne_bytes(), 0)
            }
        }
    }

    /// A string value kept byte-for-byte (no int encoding), e.g. results of GETRANGE-like
    /// rebuilds where Redis keeps an sds.
    pub fn new_raw_str(key: &[u8], value: &[u8], expire_ms: Option<i64>) -> Obj {
        Self::build(key, expire_ms, STR_INLINE, value, value.len())
    }

    fn layout(size: usize) -> Layout {
        match Layout::from_size_align(size, 8) {
            Ok(l) => l,
            Err(_) => unreachable!("object size overflow"),
        }
    }

    fn build(key: &[u8], expire_ms: Option<i64>, kind: u8, payload: &[u8], val_len: usize) -> Obj {
        assert!(
            key.len() <= u32::MAX as usize && val_len <= u32::MAX as usize,
            "object larger than 4 GiB"
        );
        let exp_len = if expire_ms.is_some() { 8 } else { 0 };
        let size = HEADER + exp_len + key.len() + payload.len();
        let layout = Self::layout(size);
        // SAFETY: size >= HEADER > 0.
        let p = unsafe { alloc(layout) };
        let Some(p) = NonNull::new(p) else {
            std::alloc::handle_alloc_error(layout)
        };
        let tag = kind | if expire_ms.is_some() { HAS_EXPIRE } else { 0 };
        // SAFETY: we initialise exactly the bytes of the layout computed above; the header words
        // are 4/8-aligned because the block is 8-aligned.
        unsafe {
            let b = p.as_ptr();
            b.cast::<AtomicU32>().write(AtomicU32::new(1));
            b.add(4)
                .cast::<AtomicU32>()
                .write(AtomicU32::new((tag as u32) << TAG_SHIFT));
            b.add(8).cast::<u32>().write(key.len() as u32);
            b.add(12).cast::<u32>().write(val_len as u32);
            if let Some(e) = expire_ms {
                b.add(HEADER).cast::<i64>().write(e);
            }
            let kp = b.add(HEADER + exp_len);
            std::ptr::copy_nonoverlapping(key.as_ptr(), kp, key.len());
            std::ptr::copy_nonoverlapping(payload.as_ptr(), kp.add(key.len()), payload.len());
        }
        Obj(p)
    }

    fn refcnt(&self) -> &AtomicU32 {
        // SAFETY: the block starts with an initialised AtomicU32.
        unsafe { &*self.0.as_ptr().cast::<AtomicU32>() }
    }

    fn meta(&self) -> &AtomicU32 {
        // SAFETY: offset 4 holds an initialised AtomicU32.
        unsafe { &*self.0.as_ptr().add(4).cast::<AtomicU32>() }
    }

    fn tag(&self) -> u8 {
        (self.meta().load(Ordering::Relaxed) >> TAG_SHIFT) as u8
    }

    fn key_len(&self) -> usize {
        // SAFETY: offset 8 holds the key length.
        unsafe { self.0.as_ptr().add(8).cast::<u32>().read() as usize }
    }

    fn val_len(&self) -> usize {
        // SAFETY: offset 12 holds the inline value length.
        unsafe { self.0.as_ptr().add(12).cast::<u32>().read() as usize }
    }

    fn exp_len(&self) -> usize {
        if self.tag() & HAS_EXPIRE != 0 {
            8
        } else {
            0
        }
    }

    fn payload_ptr(&self) -> *mut u8 {
        // SAFETY: the payload follows header, expire and key inside the block.
        unsafe {
            self.0
                .as_ptr()
                .add(HEADER + self.exp_len() + self.key_len())
        }
    }

    fn payload_len(&self) -> usize {
        match self.tag() & KIND_MASK {
            STR_INLINE => self.val_len(),
            _ => 8,
        }
    }

    fn block_size(&self) -> usize {
        HEADER + self.exp_len() + self.key_len() + self.payload_len()
    }

    pub fn key(&self) -> &[u8] {
        // SAFETY: key bytes follow the header (and expire); length from the header.
        unsafe {
            std::slice::from_raw_parts(self.0.as_ptr().add(HEADER + self.exp_len()), self.key_len())
        }
    }

    pub fn expire_ms(&self) -> Option<i64> {
        if self.tag() & HAS_EXPIRE == 0 {
            return None;
        }
        // SAFETY: HAS_EXPIRE means 8 bytes of expire follow the header.
        Some(unsafe { self.0.as_ptr().add(HEADER).cast::<i64>().read() })
    }

    fn boxed_ptr(&self) -> *mut Boxed {
        // SAFETY: BOXED payloads hold a pointer from Box::into_raw (possibly unaligned in the block).
        unsafe { self.payload_ptr().cast::<usize>().read_unaligned() as *mut Boxed }
    }

    fn boxed(&self) -> Option<&Boxed> {
        if self.tag() & KIND_MASK != BOXED {
            return None;
        }
        // SAFETY: the pointer is valid for the life of this block.
        Some(unsafe { &*self.boxed_ptr() })
    }

    pub fn value(&self) -> ValueRef<'_> {
        match self.tag() & KIND_MASK {
            STR_INLINE => {
                // SAFETY: inline string bytes of val_len follow the key.
                ValueRef::Str(unsafe {
                    std::slice::from_raw_parts(self.payload_ptr(), self.val_len())
                })
            }
            // SAFETY: int payloads are 8 bytes.
            STR_INT => ValueRef::Int(unsafe { self.payload_ptr().cast::<i64>().read_unaligned() }),
            _ => match self.boxed() {
                Some(Boxed::Str(v)) => ValueRef::Str(v),
                Some(Boxed::List(l)) => ValueRef::List(l),
                Some(Boxed::Hash(h)) => ValueRef::Hash(h),
                Some(Boxed::Set(s)) => ValueRef::Set(s),
                Some(Boxed::ZSet(z)) => ValueRef::ZSet(z),
                Some(Boxed::Stream(s)) => ValueRef::Stream(s),
                None => unreachable!("tag says boxed"),
            },
        }
    }

    pub fn kind(&self) -> Kind {
        match self.value() {
            ValueRef::Str(_) | ValueRef::Int(_) => Kind::String,
            ValueRef::List(_) => Kind::List,
            ValueRef::Hash(_) => Kind::Hash,
            ValueRef::Set(_) => Kind::Set,
            ValueRef::ZSet(_) => Kind::ZSet,
            ValueRef::Stream(_) => Kind::Stream,
        }
    }

    /// The string value as bytes (ints formatted), or None for other types.
    pub fn string_bytes(&self) -> Option<std::borrow::Cow<'_, [u8]>> {
        match self.value() {
            ValueRef::Str(s) => Some(std::borrow::Cow::Borrowed(s)),
            ValueRef::Int(i) => Some(std::borrow::Cow::Owned(i.to_string().into_bytes())),
            _ => None,
        }
    }

    /// OBJECT ENCODING name.
    pub fn encoding(&self) -> &'static str {
        match self.value() {
            ValueRef::Int(_) => "int",
            ValueRef::Str(s) if self.tag() & KIND_MASK == STR_INLINE && s.len() <= 44 => "embstr",
            ValueRef::Str(_) => "raw",
            ValueRef::List(l) => l.encoding(),
            ValueRef::Hash(h) => h.encoding(),
            ValueRef::Set(s) => s.encoding(),
            ValueRef::ZSet(z) => z.encoding(),
            ValueRef::Stream(_) => "stream",
        }
    }

    pub fn lru(&self) -> u32 {
        self.meta().load(Ordering::Relaxed) & LRU_MASK
    }

    /// Updates the 24-bit LRU/LFU word; callable on shared handles (it is not snapshot data).
    pub fn set_lru(&self, v: u32) {
        let tag_bits = self.meta().load(Ordering::Relaxed) & !LRU_MASK;
        self.meta()
            .store(tag_bits | (v & LRU_MASK), Ordering::Relaxed);
    }

    pub fn is_unique(&self) -> bool {
        self.refcnt().load(Ordering::Acquire) == 1
    }

    /// Ensures no snapshot shares this handle, copying the value if one does.
    pub fn make_unique(&mut self) {
        if !self.is_unique() {
            types::cow::record(self.copy_bytes());
            let copy = self.rebuilt(self.key(), self.expire_ms(), self.cloned_value());
            *self = copy;
        }
    }

    /// What copying this handle's value for [`Obj::make_unique`] costs: the block, a string's
    /// bytes, a compact encoding whole; large collections only their top (their segments and
    /// nodes are counted when a write copies them).
    fn copy_bytes(&self) -> usize {
        let value = match self.value() {
            ValueRef::Str(s) if self.tag() & KIND_MASK != STR_INLINE => s.len(),
            ValueRef::Int(_) | ValueRef::Str(_) => 0,
            _ => match self.encoding() {
                "listpack" | "intset" => self.mem_usage(),
                _ => std::mem::size_of::<Boxed>(),
            },
        };
        self.block_size() + value
    }

    fn cloned_value(&self) -> NewValue<'_> {
        match self.value() {
            ValueRef::Int(i) => NewValue::Int(i),
            ValueRef::Str(s) if self.tag() & KIND_MASK == STR_INLINE => NewValue::Str(s),
            _ => NewValue::Boxed(self.boxed().cloned().unwrap_or(Boxed::Str(Vec::new()))),
        }
    }

    /// A new block with the same metadata and the given pieces.
    fn rebuilt(&self, key: &[u8], expire_ms: Option<i64>, value: NewValue<'_>) -> Obj {
        let o = match value {
            NewValue::Str(s) => Self::build(key, expire_ms, STR_INLINE, s, s.len()),
            other => Obj::new(key, other, expire_ms),
        };
        o.set_lru(self.lru());
        o
    }

    /// Sets or clears the expire time. (The block is rebuilt: the expire slot only exists for
    /// keys that have one.)
    pub fn set_expire(&mut self, expire_ms: Option<i64>) {
        if self.expire_ms() == expire_ms {
            return;
        }
        if let (Some(_), Some(e)) = (self.expire_ms(), expire_ms) {
            self.make_unique();
            // SAFETY: unique handle; the expire slot exists.
            unsafe { self.0.as_ptr().add(HEADER).cast::<i64>().write(e) };
            return;
        }
        let new = if self.tag() & KIND_MASK == BOXED && self.is_unique() {
            // Move the box into the new block without cloning it.
            let b = self.take_boxed();
            self.rebuilt(self.key(), expire_ms, NewValue::Boxed(b))
        } else {
            self.rebuilt(self.key(), expire_ms, self.cloned_value())
        };
        *self = new;
    }

    /// Takes the box out of a unique BOXED object, leaving an empty raw string behind.
    fn take_boxed(&mut self) -> Boxed {
        debug_assert!(self.is_unique() && self.tag() & KIND_MASK == BOXED);
        let empty = Box::into_raw(Box::new(Boxed::Str(Vec::new()))) as usize;
        let old = self.boxed_ptr();
        // SAFETY: unique handle; swap the payload pointer, then reclaim the old box.
        unsafe {
            self.payload_ptr().cast::<usize>().write_unaligned(empty);
            *Box::from_raw(old)
        }
    }

    /// Replaces the value (strings int-encoded when possible), keeping key, expire and LRU.
    pub fn set_value(&mut self, value: NewValue<'_>) {
        let new = Obj::new(self.key(), value, self.expire_ms());
        new.set_lru(self.lru());
        *self = new;
    }

    /// Mutable access to a boxed value (copied first if a snapshot shares it).
    pub fn boxed_mut(&mut self) -> Option<&mut Boxed> {
        if self.tag() & KIND_MASK != BOXED {
            return None;
        }
        self.make_unique();
        // SAFETY: unique handle, so nobody else can observe the box.
        Some(unsafe { &mut *self.boxed_ptr() })
    }

    /// Mutable access to the string as a growable buffer (converting to `raw`), for APPEND
    /// and SETRANGE.
    pub fn str_mut(&mut self) -> Option<&mut Vec<u8>> {
        if !matches!(self.boxed(), Some(Boxed::Str(_))) {
            let bytes = self.string_bytes()?.into_owned();
            self.set_value(NewValue::Boxed(Boxed::Str(bytes)));
        }
        match self.boxed_mut() {
            Some(Boxed::Str(v)) => Some(v),
            _ => None,
        }
    }

    /// Heap bytes used by this key (MEMORY USAGE, approximate for collections).
    pub fn mem_usage(&self) -> usize {
        let own = self.block_size();
        own + match self.boxed() {
            None => 0,
            Some(Boxed::Str(v)) => v.capacity() + 24,
            Some(Boxed::List(l)) => l.mem_usage(),
            Some(Boxed::Hash(h)) => h.mem_usage(),
            Some(Boxed::Set(s)) => s.mem_usage(),
            Some(Boxed::ZSet(z)) => z.mem_usage(),
            Some(Boxed::Stream(s)) => s.mem_usage(),
        }
    }

    /// A copy under another key (RENAME, COPY, MOVE), with the given expire.
    pub fn with_key(&self, key: &[u8], expire_ms: Option<i64>) -> Obj {
        self.rebuilt(key, expire_ms, self.cloned_value())
    }

    /// Number of elements for collections (1 for strings), as Redis uses for lazy-free decisions.
    pub fn elements(&self) -> usize {
        match self.value() {
            ValueRef::Str(_) | ValueRef::Int(_) => 1,
            ValueRef::List(l) => l.len(),
            ValueRef::Hash(h) => h.len(),
            ValueRef::Set(s) => s.len(),
            ValueRef::ZSet(z) => z.len(),
            ValueRef::Stream(s) => s.free_effort(),
        }
    }
}

impl Clone for Obj {
    fn clone(&self) -> Obj {
        self.refcnt().fetch_add(1, Ordering::Relaxed);
        Obj(self.0)
    }
}

impl Drop for Obj {
    fn drop(&mut self) {
        if self.refcnt().fetch_sub(1, Ordering::Release) != 1 {
            return;
        }
        fence(Ordering::Acquire);
        let size = self.block_size();
        if self.tag() & KIND_MASK == BOXED {
            // SAFETY: last handle; the pointer came from Box::into_raw.
            unsafe { drop(Box::from_raw(self.boxed_ptr())) };
        }
        // SAFETY: allocated in `build` with this size and alignment.
        unsafe { dealloc(self.0.as_ptr(), Self::layout(size)) };
    }
}

impl types::segmap::SegItem for Obj {
    fn seg_key(&self) -> &[u8] {
        self.key()
    }
}

impl std::fmt::Debug for Obj {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Obj({:?} => {:?}, expire {:?})",
            String::from_utf8_lossy(self.key()),
            self.value(),
            self.expire_ms()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_ints_and_expire() {
        let mut o = Obj::new(b"key:1", NewValue::Str(b"hello"), None);
        assert_eq!(o.key(), b"key:1");
        assert!(matches!(o.value(), ValueRef::Str(b"hello")));
        assert_eq!(o.encoding(), "embstr");
        o.set_expire(Some(123));
        assert_eq!((o.key(), o.expire_ms()), (&b"key:1"[..], Some(123)));
        o.set_expire(Some(456));
        assert_eq!(o.expire_ms(), Some(456));
        o.set_expire(None);
        assert_eq!(o.expire_ms(), None);
        let i = Obj::new(b"n", NewValue::Str(b"-42"), Some(7));
        assert!(matches!(i.value(), ValueRef::Int(-42)));
        assert_eq!(i.encoding(), "int");
        assert_eq!(
            Obj::new(b"n", NewValue::Str(b"042"), None).encoding(),
            "embstr"
        );
        assert_eq!(
            Obj::new(b"n", NewValue::Str(&[b'x'; 45]), None).encoding(),
            "raw"
        );
    }

    #[test]
    fn shared_handles_copy_on_write() {
        let mut o = Obj::new(b"l", NewValue::Boxed(Boxed::Str(b"abc".to_vec())), None);
        let snap = o.clone();
        assert!(!o.is_unique());
        o.str_mut().unwrap().extend_from_slice(b"def");
        assert!(matches!(o.value(), ValueRef::Str(b"abcdef")));
        assert!(matches!(snap.value(), ValueRef::Str(b"abc")));
        assert!(o.is_unique() && snap.is_unique());
        let mut a = Obj::new(b"s", NewValue::Str(b"v"), None);
        let b = a.clone();
        a.set_expire(Some(1));
        assert_eq!((a.expire_ms(), b.expire_ms()), (Some(1), None));
        assert_eq!(a.encoding(), "embstr");
    }

    #[test]
    fn append_makes_raw() {
        let mut o = Obj::new(b"k", NewValue::Str(b"12"), None);
        o.str_mut().unwrap().push(b'3');
        assert!(matches!(o.value(), ValueRef::Str(b"123")));
        assert_eq!(o.encoding(), "raw");
    }
}
