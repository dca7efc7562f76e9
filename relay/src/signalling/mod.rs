//! Signalling: who is in which room, and every message between them.
//!
//! Sans-IO at the core: [`rooms`] is the state machine of all rooms (joining, the lobby,
//! moderation, resuming a seat, what the media loop must do), [`session`] what one connection
//! may send and when it must go, [`attempts`] the wrong passwords per address. They take the
//! time as an argument and return what to send; their tests run on a simulated clock.
//! [`hub`] holds the rooms and one bounded [`outbox`] per connection and delivers what the
//! rooms decide; [`connection`] is the thin task that carries one WebSocket; [`ice`] makes the
//! STUN and TURN entries each participant gets.
//!
//! May not: touch a UDP socket or WebRTC state (that is `media` and `sfu`), read a clock
//! inside `rooms`, `session` or `attempts`, or block: the hub is behind one mutex that every
//! connection takes.

pub mod attempts;
pub mod connection;
pub mod hub;
pub mod ice;
pub mod outbox;
pub mod rooms;
pub mod session;

/// The time as a shell read it, handed to the hub with each call: `at` for timers (grace
/// periods, password attempts), `unix_ms` for what people see (chat times) and what expires
/// by the calendar (invitation links).
#[derive(Debug, Clone, Copy)]
pub struct Now {
    /// For durations.
    pub at: std::time::Instant,
    /// Milliseconds since 1970.
    pub unix_ms: u64,
}

impl Now {
    /// Reads both clocks; only the shells call this.
    pub fn read() -> Self {
        let unix_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
            .unwrap_or(0);
        Self { at: std::time::Instant::now(), unix_ms }
    }
}

/// A WebSocket connection, as the shell numbers them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId(pub u64);
