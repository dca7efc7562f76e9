//! The rooms plus the outboxes of the connections in them: the one piece of shared state.

use std::collections::HashMap;

use protocol::{ClientMessage, ServerMessage};
use tokio::sync::mpsc;
use tracing::{debug, warn};

use crate::rooms::{ConnId, Outgoing, Rooms};

/// Wall-clock time for chat timestamps.
fn unix_millis() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Messages waiting for one connection's socket. A connection that lets this many pile up is too
/// slow to keep up with its room and is disconnected, so it cannot hold the others back.
pub const OUTBOX_CAPACITY: usize = 512;

/// Rooms and where to deliver their messages. Lives behind one mutex, held only for the
/// non-blocking work of a single request.
#[derive(Debug)]
pub struct Hub {
    /// The signalling state machine.
    rooms: Rooms,
    /// Each open connection's queue of outgoing messages.
    outboxes: HashMap<ConnId, mpsc::Sender<ServerMessage>>,
}

impl Hub {
    /// A hub around `rooms`, with no connections.
    pub fn new(rooms: Rooms) -> Self {
        Self { rooms, outboxes: HashMap::new() }
    }

    /// The rooms, for counting.
    pub fn rooms(&self) -> &Rooms {
        &self.rooms
    }

    /// Registers a new connection's outbox.
    pub fn connect(&mut self, conn: ConnId, outbox: mpsc::Sender<ServerMessage>) {
        self.outboxes.insert(conn, outbox);
    }

    /// Forgets a connection and takes it out of its room.
    pub fn disconnect(&mut self, conn: ConnId) {
        self.outboxes.remove(&conn);
        let out = self.rooms.leave(conn);
        self.deliver(out);
    }

    /// Carries out a request of `conn` that the session let through.
    pub fn handle(&mut self, conn: ConnId, message: ClientMessage) {
        let result = match message {
            ClientMessage::Join { request_id, room, name, media } => self
                .rooms
                .join(conn, request_id, &room, &name, media)
                .map_err(|e| e.to_message(request_id)),
            ClientMessage::Signal { to, signal } => {
                self.rooms.signal(conn, to, signal).map_err(|e| e.to_message(None))
            }
            ClientMessage::Media { media } => {
                self.rooms.update_media(conn, media).map_err(|e| e.to_message(None))
            }
            ClientMessage::Chat { text } => {
                self.rooms.chat(conn, &text, unix_millis()).map_err(|e| e.to_message(None))
            }
            ClientMessage::Hand { raised } => {
                self.rooms.hand(conn, raised).map_err(|e| e.to_message(None))
            }
            ClientMessage::Leave => Ok(self.rooms.leave(conn)),
            // The session answers these itself.
            ClientMessage::Hello { .. } | ClientMessage::Ping { .. } => Ok(Vec::new()),
        };
        match result {
            Ok(out) => self.deliver(out),
            Err(refusal) => self.deliver(vec![(conn, refusal)]),
        }
    }

    /// Queues messages; connections whose outbox is full are dropped, and their rooms told.
    pub fn send(&mut self, conn: ConnId, message: ServerMessage) {
        self.deliver(vec![(conn, message)]);
    }

    fn deliver(&mut self, mut pending: Vec<Outgoing>) {
        // Dropping a slow connection produces `participant_left` messages of its own; work
        // through them until everything is delivered.
        while !pending.is_empty() {
            let mut overflowed = Vec::new();
            for (conn, message) in pending.drain(..) {
                let Some(outbox) = self.outboxes.get(&conn) else {
                    debug!(?conn, "message for a connection that is gone");
                    continue;
                };
                if outbox.try_send(message).is_err() {
                    overflowed.push(conn);
                }
            }
            for conn in overflowed {
                if self.outboxes.remove(&conn).is_some() {
                    warn!(?conn, "connection cannot keep up with its room; disconnecting it");
                    pending.extend(self.rooms.leave(conn));
                }
            }
        }
    }
}
