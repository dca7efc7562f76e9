//! Error codes the relay sends in an `error` message.

use serde::{Deserialize, Serialize};

/// Why the relay refused something. The relay sends an English sentence beside the code; the app
/// shows its own translated sentence for the code and the relay's sentence only for codes it does
/// not know.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The client's protocol version is not supported.
    UnsupportedVersion,
    /// A message other than `hello` came before `hello`.
    HelloRequired,
    /// The message was not JSON, had wrong field types or an unknown `type`.
    InvalidMessage,
    /// The message was larger than the relay accepts.
    MessageTooLarge,
    /// The connection sent more messages per second than allowed.
    RateLimited,
    /// The display name was empty, too long or had forbidden characters.
    InvalidName,
    /// The room name was empty, too long or had forbidden characters.
    InvalidRoomName,
    /// The room already has as many participants as the relay allows.
    RoomFull,
    /// The relay has reached its limit of rooms.
    TooManyRooms,
    /// Only a host may do that.
    Forbidden,
    /// The relay needs a signed invitation link for the room, and the join had none that opens
    /// it (missing, forged, expired or for another room: the relay does not say which).
    LinkRefused,
    /// A host locked this participant's microphone: only a host can allow it again.
    MicrophoneLocked,
    /// A host locked the room: nobody new gets in.
    RoomLocked,
    /// A host removed this person (this browser) from the meeting; they cannot come back into
    /// it while it lasts.
    Removed,
    /// The room has a password, and the join had none: ask for it.
    PasswordRequired,
    /// The password was wrong.
    WrongPassword,
    /// Too many wrong passwords from this connection or address; wait before trying again.
    TooManyAttempts,
    /// The message needs a joined room, and this connection has not joined one.
    NotJoined,
    /// `join` was sent twice on one connection.
    AlreadyJoined,
    /// A signal was addressed to someone not in the sender's room.
    UnknownParticipant,
    /// A chat message was empty or too long.
    InvalidChat,
    /// Chat messages came faster than allowed.
    ChatRateLimited,
    /// The relay is shutting down.
    ShuttingDown,
    /// Something went wrong inside the relay.
    Internal,
    /// A code this build does not know (sent by a newer relay).
    #[serde(other)]
    Unknown,
}

impl ErrorCode {
    /// Whether the relay closes the connection after sending this error.
    pub fn is_fatal(self) -> bool {
        matches!(self, Self::UnsupportedVersion | Self::ShuttingDown | Self::Internal)
    }
}
