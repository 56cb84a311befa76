//! Which deletions free large values in the background. Kept in its own test binary because
//! it reads the process-wide lazy-free counters.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use commands::testing::Harness;
use keyspace::lazyfree::{FREED, PENDING};
use keyspace::{Boxed, NewValue, Obj};
use resp::Reply;
use types::{List, ListLimits};

fn put_list(h: &mut Harness, key: &str, n: usize) {
    let elems: Vec<String> = (0..n).map(|i| i.to_string()).collect();
    let list = List::from_elems(elems.iter().map(|e| e.as_bytes()), ListLimits::default());
    h.ks.put(
        0,
        Obj::new(key.as_bytes(), NewValue::Boxed(Boxed::List(list)), None),
    );
}

/// Lazily freed objects so far (queued or done).
fn lazily_freed() -> u64 {
    // FREED is read last: an object moves from PENDING to FREED, never back.
    let pending = PENDING.load(Ordering::SeqCst);
    pending + FREED.load(Ordering::SeqCst)
}

fn wait_until_freed(count: u64) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while FREED.load(Ordering::SeqCst) < count {
        assert!(Instant::now() < deadline, "background free did not happen");
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn unlink_and_lazy_del_free_large_values_in_the_background() {
    let mut h = Harness::new();
    let start = lazily_freed();
    put_list(&mut h, "big", 1000);
    assert_eq!(h.run(&["DEL", "big"]), Reply::Int(1));
    put_list(&mut h, "small", 10);
    assert_eq!(h.run(&["UNLINK", "small"]), Reply::Int(1));
    assert_eq!(
        lazily_freed(),
        start,
        "DEL and small values are freed inline"
    );

    put_list(&mut h, "big", 1000);
    assert_eq!(h.run(&["UNLINK", "big"]), Reply::Int(1));
    wait_until_freed(start + 1);

    h.settings.lazyfree_lazy_user_del = true;
    put_list(&mut h, "big", 1000);
    assert_eq!(h.run(&["DEL", "big"]), Reply::Int(1));
    wait_until_freed(start + 2);
}
