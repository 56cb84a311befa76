//! Bytes copied because a snapshot shared them: the forkless counterpart of the pages a forked
//! child makes the parent copy (Redis's "copy-on-write" INFO fields).
//!
//! Every copy a write forces — a [`crate::segmap`] segment, a [`crate::btree`] node, a
//! keyspace value — adds its size here. The counter only grows; the server reads it when a
//! snapshot starts and again while it runs, and reports the difference.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

static COPIED: AtomicU64 = AtomicU64::new(0);

/// Records `bytes` copied because a snapshot held them.
pub fn record(bytes: usize) {
    COPIED.fetch_add(bytes as u64, Ordering::Relaxed);
}

/// All bytes copied so far in this process.
pub fn total() -> u64 {
    COPIED.load(Ordering::Relaxed)
}

/// `Arc::make_mut`, recording `size(value)` when the value is shared and so gets copied.
pub fn make_mut<T: Clone>(arc: &mut Arc<T>, size: impl FnOnce(&T) -> usize) -> &mut T {
    if Arc::strong_count(arc) > 1 || Arc::weak_count(arc) > 0 {
        record(size(arc));
    }
    Arc::make_mut(arc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shared_value_is_counted_once_when_copied() {
        let mut a = Arc::new(vec![0u8; 1000]);
        let before = total();
        make_mut(&mut a, |v| v.len())[0] = 1;
        // Not shared: no copy. (Other tests may copy concurrently: only a lower bound holds.)
        let held = a.clone();
        let mid = total();
        make_mut(&mut a, |v| v.len())[0] = 2;
        assert!(total() >= mid + 1000);
        assert!(mid >= before);
        assert_eq!(held[0], 1);
        assert_eq!(a[0], 2);
    }
}
