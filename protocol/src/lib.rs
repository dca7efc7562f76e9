//! Treffpunkt's signalling protocol: every message that travels between the app and the relay.
//!
//! Messages are JSON objects with a `type` field, named by direction:
//! [`ClientMessage`]s go from a browser (or the load generator) to the relay,
//! [`ServerMessage`]s go from the relay to a browser. The prose specification with the join and
//! negotiation sequences is `docs/protocol.md`; keep the two in step.
//!
//! This crate does no I/O. It is used by the relay, the app and the tests alike, so a message is
//! defined exactly once.

mod codec;
mod error;
mod look;
mod messages;
mod stream;
mod tagged;
mod types;
mod validate;

pub use codec::{DecodeError, decode_client, decode_server, encode};
pub use error::ErrorCode;
pub use look::Look;
pub use messages::{ClientMessage, Moderation, ServerMessage, Signal};
pub use stream::StreamId;
pub use types::{
    ChatMessage, IceCandidate, IceServer, MediaState, ParticipantId, ParticipantInfo, RequestId,
    Role, RoomMode, VideoQuality, Waiter,
};
pub use validate::{
    ChatError, MAX_CHAT_CHARS, MAX_NAME_CHARS, MAX_ROOM_CHARS, NameError, RoomNameError,
    normalize_chat_text, normalize_display_name, validate_room_name,
};

/// The longest room password, in characters.
pub const MAX_PASSWORD_CHARS: usize = 64;

/// The protocol version this build speaks. Sent in `hello`; bumped on incompatible changes.
pub const PROTOCOL_VERSION: u32 = 1;

/// The path of the signalling WebSocket on the relay.
pub const WEBSOCKET_PATH: &str = "/ws";

/// The WebSocket close code a client sends when it gives up on a connection it means to replace
/// (it heard nothing for too long): the relay keeps the participant's seat for the grace period,
/// as for a connection that just broke. Any other closing handshake leaves the room at once.
pub const CLOSE_RECONNECTING: u16 = 4000;
