//! SIGTERM / SIGINT: a dedicated thread waits for them (they are blocked everywhere else) and
//! asks the event loop to shut down, as redis-server does (saving when save points exist).

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;

/// The last termination signal received (0 = none).
pub static RECEIVED: AtomicU8 = AtomicU8::new(0);

/// Blocks SIGTERM/SIGINT in the calling thread (and threads it spawns later), and starts the
/// thread that waits for them. Call before spawning any other thread.
pub fn install(waker: Arc<mio::Waker>) -> std::io::Result<()> {
    // SAFETY: building and applying a signal mask with libc's documented calls.
    let set = unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGTERM);
        libc::sigaddset(&mut set, libc::SIGINT);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        set
    };
    // SAFETY: ignoring SIGPIPE so writes to closed sockets return EPIPE instead of killing us.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
    // SAFETY: ignoring SIGXFSZ so a write past a file-size limit fails with EFBIG (an AOF or
    // RDB write error the server reports and retries, as for a full disk) instead of killing us.
    unsafe { libc::signal(libc::SIGXFSZ, libc::SIG_IGN) };
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || loop {
            let mut sig: libc::c_int = 0;
            // SAFETY: sigwait on the set blocked above.
            if unsafe { libc::sigwait(&set, &mut sig) } == 0 {
                RECEIVED.store(sig as u8, Ordering::SeqCst);
                let _ = waker.wake();
            }
        })?;
    Ok(())
}

/// Takes a pending termination signal, if any.
pub fn take() -> Option<i32> {
    match RECEIVED.swap(0, Ordering::SeqCst) {
        0 => None,
        s => Some(s as i32),
    }
}
