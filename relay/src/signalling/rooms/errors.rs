//! Why a request was refused, and the code and sentence the person sees for it.

use protocol::{ErrorCode, ParticipantId, RequestId, ServerMessage};

/// Why a request about rooms was refused. The `Display` text is the sentence the client gets.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RoomError {
    /// The display name broke a rule.
    #[error("Your name was not accepted: {0}.")]
    InvalidName(protocol::NameError),
    /// The room name broke a rule.
    #[error("This room name is not valid: {0}.")]
    InvalidRoomName(protocol::RoomNameError),
    /// The tenant offers no room of this name (its `room-names`).
    #[error("There is no meeting room of this name here. Check the link you were given.")]
    NotOffered,
    /// The room is at capacity.
    #[error("This room is full: it allows at most {capacity} participants.")]
    RoomFull {
        /// The capacity.
        capacity: usize,
    },
    /// The relay is at its room limit.
    #[error("The relay has reached its limit of {limit} open rooms. Please try again later.")]
    TooManyRooms {
        /// The limit.
        limit: usize,
    },
    /// Only hosts may moderate.
    #[error("Only a host can do that.")]
    Forbidden,
    /// A host locked this participant's microphone.
    #[error("A host turned your microphone off. Only a host can allow it again.")]
    MicrophoneLocked,
    /// A host locked the room.
    #[error("This meeting is locked: nobody new can come in. Ask the host to unlock it.")]
    Locked,
    /// A host removed this browser from the meeting.
    #[error("A host removed you from this meeting. You cannot join it again.")]
    Removed,
    /// The relay needs a signed link for the room, and the join had none that opens it.
    #[error(
        "This link does not open the room: it may have expired or be meant for another room. Ask whoever invited you for a new link."
    )]
    LinkRefused,
    /// The room has a password and the join had none.
    #[error("This meeting has a password. Enter it to join.")]
    PasswordRequired,
    /// The password was wrong.
    #[error("That password is not right.")]
    WrongPassword,
    /// Too many wrong passwords from this connection or address.
    #[error("Too many wrong passwords. Wait a minute, then try again.")]
    TooManyAttempts,
    /// The relay drains before it stops: it takes no one new.
    #[error("This relay is restarting and takes no one new; trying again.")]
    ShuttingDown,
    /// A host's new password is too long.
    #[error("A password may have at most {max} characters.", max = protocol::MAX_PASSWORD_CHARS)]
    PasswordTooLong,
    /// The connection has not joined a room.
    #[error("Join a room first.")]
    NotJoined,
    /// The connection has joined a room already.
    #[error("This connection is already in a room; leave it first.")]
    AlreadyJoined,
    /// The addressee of a signal is not in the sender's room.
    #[error("Participant {0} is not in this room.")]
    UnknownParticipant(ParticipantId),
    /// A chat message broke a rule.
    #[error("Your message was not sent: {0}.")]
    InvalidChat(protocol::ChatError),
}

impl RoomError {
    /// The wire code for this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::InvalidName(_) => ErrorCode::InvalidName,
            Self::InvalidRoomName(_) | Self::NotOffered => ErrorCode::InvalidRoomName,
            Self::RoomFull { .. } => ErrorCode::RoomFull,
            Self::TooManyRooms { .. } => ErrorCode::TooManyRooms,
            Self::LinkRefused => ErrorCode::LinkRefused,
            Self::Removed => ErrorCode::Removed,
            Self::Locked => ErrorCode::RoomLocked,
            Self::MicrophoneLocked => ErrorCode::MicrophoneLocked,
            Self::Forbidden => ErrorCode::Forbidden,
            Self::PasswordRequired => ErrorCode::PasswordRequired,
            Self::WrongPassword => ErrorCode::WrongPassword,
            Self::TooManyAttempts => ErrorCode::TooManyAttempts,
            Self::ShuttingDown => ErrorCode::ShuttingDown,
            Self::PasswordTooLong => ErrorCode::InvalidMessage,
            Self::NotJoined => ErrorCode::NotJoined,
            Self::AlreadyJoined => ErrorCode::AlreadyJoined,
            Self::UnknownParticipant(_) => ErrorCode::UnknownParticipant,
            Self::InvalidChat(_) => ErrorCode::InvalidChat,
        }
    }

    /// The `error` message for this refusal.
    pub fn to_message(&self, request_id: Option<RequestId>) -> ServerMessage {
        ServerMessage::Error { request_id, code: self.code(), message: self.to_string() }
    }
}
