//! Channels from background threads (saves, snapshot transfers, loaders) to the event loop.
//! Each subsystem owns its channel; sending also wakes the event loop.

use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Arc;

use mio::Waker;

/// The receiving end, kept by the subsystem that started the background work.
pub struct BgChannel<T> {
    tx: Sender<T>,
    rx: Receiver<T>,
    waker: Arc<Waker>,
}

impl<T> BgChannel<T> {
    pub fn new(waker: Arc<Waker>) -> BgChannel<T> {
        let (tx, rx) = channel();
        BgChannel { tx, rx, waker }
    }

    /// A handle for a background thread.
    pub fn sender(&self) -> BgSender<T> {
        BgSender {
            tx: self.tx.clone(),
            waker: self.waker.clone(),
        }
    }

    /// The next message, if one arrived.
    pub fn try_recv(&self) -> Option<T> {
        self.rx.try_recv().ok()
    }
}

/// The sending end, moved into a background thread.
pub struct BgSender<T> {
    tx: Sender<T>,
    waker: Arc<Waker>,
}

impl<T> BgSender<T> {
    /// Sends `msg` and wakes the event loop. A closed channel (the server is exiting) is not
    /// an error for the sender.
    pub fn send(&self, msg: T) {
        if self.tx.send(msg).is_ok() {
            let _ = self.waker.wake();
        }
    }
}
