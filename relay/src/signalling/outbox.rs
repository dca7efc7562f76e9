//! A connection's queue of messages waiting to go out, bounded in count and in bytes.
//!
//! The hub encodes each message once, when it queues it, so the queue knows exactly how many
//! bytes it holds. A connection whose queue is full (it reads too slowly for its room: a phone in
//! a tunnel, or a script that never reads) is dropped by the hub; nobody else waits for it, and
//! it never holds more than [`MAX_BYTES`] of the relay's memory.

use std::sync::{
    Arc,
    atomic::{AtomicBool, AtomicUsize, Ordering},
};

use protocol::ServerMessage;
use tokio::sync::{Notify, mpsc};

/// Most messages one queue holds.
pub const MAX_MESSAGES: usize = 512;
/// Most bytes one queue holds: sixteen of the largest signalling messages (64 KiB), a long
/// chat history in a `welcome` many times over.
pub const MAX_BYTES: usize = 1 << 20;

/// The queue is full; the connection cannot keep up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Full;

/// The hub's end: queues messages.
#[derive(Debug, Clone)]
pub struct Outbox {
    tx: mpsc::Sender<String>,
    queued: Arc<AtomicUsize>,
    max_bytes: usize,
    abandoned: Arc<Abandoned>,
}

/// The connection's end: takes them out to send.
#[derive(Debug)]
pub struct Inbox {
    rx: mpsc::Receiver<String>,
    queued: Arc<AtomicUsize>,
    abandoned: Arc<Abandoned>,
}

/// Set when the hub gave up on the connection.
#[derive(Debug, Default)]
struct Abandoned {
    set: AtomicBool,
    notify: Notify,
}

/// A new queue.
pub fn outbox() -> (Outbox, Inbox) {
    with_limits(MAX_MESSAGES, MAX_BYTES)
}

fn with_limits(messages: usize, bytes: usize) -> (Outbox, Inbox) {
    let (tx, rx) = mpsc::channel(messages);
    let queued = Arc::new(AtomicUsize::new(0));
    let abandoned = Arc::new(Abandoned::default());
    (
        Outbox { tx, queued: queued.clone(), max_bytes: bytes, abandoned: abandoned.clone() },
        Inbox { rx, queued, abandoned },
    )
}

impl Outbox {
    /// Queues `message`, encoded, unless that would pass either bound.
    pub fn push(&self, message: &ServerMessage) -> Result<(), Full> {
        let text = protocol::encode(message);
        let len = text.len();
        let before = self.queued.fetch_add(len, Ordering::AcqRel);
        if before + len > self.max_bytes {
            self.queued.fetch_sub(len, Ordering::AcqRel);
            return Err(Full);
        }
        self.tx.try_send(text).map_err(|_| {
            self.queued.fetch_sub(len, Ordering::AcqRel);
            Full
        })
    }
}

impl Outbox {
    /// Gives up on the connection (it fell too far behind): whatever it is sending now, and
    /// everything still queued, is for nothing.
    pub fn abandon(&self) {
        self.abandoned.set.store(true, Ordering::Release);
        self.abandoned.notify.notify_waiters();
    }
}

/// Tells a connection that the hub gave up on it (see [`Inbox::watch_abandon`]).
#[derive(Debug, Clone)]
pub struct AbandonWatch(Arc<Abandoned>);

impl AbandonWatch {
    /// Whether the hub has given up on the connection (it fell behind), as opposed to ending it
    /// for another reason.
    pub fn is_abandoned(&self) -> bool {
        self.0.set.load(Ordering::Acquire)
    }

    /// Completes once the hub has given up on the connection.
    pub async fn abandoned(&self) {
        loop {
            let notified = self.0.notify.notified();
            if self.0.set.load(Ordering::Acquire) {
                return;
            }
            notified.await;
        }
    }
}

impl Inbox {
    /// A handle that says when the hub gives up on this connection, usable while the inbox
    /// is being read.
    pub fn watch_abandon(&self) -> AbandonWatch {
        AbandonWatch(self.abandoned.clone())
    }

    /// The next message to send; `None` once the hub has dropped the queue.
    pub async fn recv(&mut self) -> Option<String> {
        let text = self.rx.recv().await?;
        self.queued.fetch_sub(text.len(), Ordering::AcqRel);
        Some(text)
    }

    /// The next message if one is waiting.
    pub fn try_recv(&mut self) -> Option<String> {
        let text = self.rx.try_recv().ok()?;
        self.queued.fetch_sub(text.len(), Ordering::AcqRel);
        Some(text)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use protocol::{ErrorCode, ServerMessage};

    use super::*;

    fn message(bytes: usize) -> ServerMessage {
        ServerMessage::Error {
            request_id: None,
            code: ErrorCode::InvalidMessage,
            message: "x".repeat(bytes),
        }
    }

    #[test]
    fn the_queue_is_bounded_in_bytes_and_in_count_and_frees_what_goes_out() {
        let (outbox, mut inbox) = with_limits(4, 10_000);
        outbox.push(&message(4_000)).unwrap();
        outbox.push(&message(4_000)).unwrap();
        assert_eq!(outbox.push(&message(4_000)), Err(Full), "over 10,000 bytes");
        outbox.push(&message(100)).unwrap();
        assert!(inbox.try_recv().unwrap().len() > 4_000);
        outbox.push(&message(4_000)).unwrap();
        outbox.push(&message(10)).unwrap();
        assert_eq!(outbox.push(&message(10)), Err(Full), "over 4 messages");
        while inbox.try_recv().is_some() {}
        assert_eq!(outbox.queued.load(Ordering::Acquire), 0);
        outbox.push(&message(9_000)).unwrap();
    }
}
