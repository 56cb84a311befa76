//! Lazy freeing: large values are dropped on a background thread so that DEL/UNLINK/FLUSHALL
//! ASYNC of a huge value never stalls the executor.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{channel, Sender};
use std::sync::{Mutex, OnceLock};

/// Values with more elements than this are freed in the background (Redis's threshold).
pub const LAZYFREE_THRESHOLD: usize = 64;

pub static PENDING: AtomicU64 = AtomicU64::new(0);
pub static FREED: AtomicU64 = AtomicU64::new(0);

type Job = Box<dyn Send>;
type JobSender = Sender<(Job, u64)>;

fn sender() -> Option<JobSender> {
    static TX: OnceLock<Option<Mutex<JobSender>>> = OnceLock::new();
    let tx = TX.get_or_init(|| {
        let (tx, rx) = channel::<(Job, u64)>();
        std::thread::Builder::new()
            .name("lazyfree".into())
            .spawn(move || {
                for (job, n) in rx {
                    drop(job);
                    PENDING.fetch_sub(n, Ordering::Relaxed);
                    FREED.fetch_add(n, Ordering::Relaxed);
                }
            })
            .ok()
            .map(|_| Mutex::new(tx))
    });
    tx.as_ref().and_then(|m| m.lock().ok().map(|g| g.clone()))
}

/// Drops `value` in the background, counting it as `objects` lazily freed objects.
pub fn free_in_background<T: Send + 'static>(value: T, objects: u64) {
    PENDING.fetch_add(objects, Ordering::Relaxed);
    match sender() {
        Some(tx) => {
            if let Err(e) = tx.send((Box::new(value), objects)) {
                drop(e);
                PENDING.fetch_sub(objects, Ordering::Relaxed);
            }
        }
        None => {
            drop(value);
            PENDING.fetch_sub(objects, Ordering::Relaxed);
        }
    }
}

/// Frees a deleted object: in the background if it is large, inline otherwise.
pub fn free(obj: crate::obj::Obj) {
    if obj.elements() > LAZYFREE_THRESHOLD && obj.is_unique() {
        free_in_background(obj, 1);
    } else {
        drop(obj);
    }
}
