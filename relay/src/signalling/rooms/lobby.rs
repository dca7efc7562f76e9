//! The lobby: who waits, and what the hosts are shown of them.

use protocol::{MediaState, Role, ServerMessage, Waiter};

use super::{ConnId, Outgoing, Room};

/// Someone waiting in a room's lobby: what they will enter with once admitted.
#[derive(Debug)]
pub(super) struct Knock {
    /// Their connection.
    pub(super) conn: ConnId,
    /// Their normalised display name.
    pub(super) name: String,
    /// The role their link gives them (never host: hosts do not wait).
    pub(super) role: Role,
    /// Microphone and camera as they asked to join.
    pub(super) media: MediaState,
    /// The browser's own id.
    pub(super) device: Option<String>,
}

impl Room {
    /// The `lobby` message: who waits, in order.
    pub(super) fn lobby_message(&self) -> ServerMessage {
        ServerMessage::Lobby {
            waiting: self
                .waiting
                .iter()
                .map(|(id, knock)| Waiter { id: *id, name: knock.name.clone() })
                .collect(),
        }
    }

    /// The lobby as it is now, for every connected host (after it changed).
    pub(super) fn lobby_to_hosts(&self) -> Vec<Outgoing> {
        self.members
            .values()
            .filter(|m| m.info.role == Role::Host && !m.info.away)
            .map(|m| (m.conn, self.lobby_message()))
            .collect()
    }

    /// The lobby for `conn`, a host who just came in or was made one, if anyone waits.
    pub(super) fn lobby_for(&self, conn: ConnId) -> Option<Outgoing> {
        (!self.waiting.is_empty()).then(|| (conn, self.lobby_message()))
    }
}
