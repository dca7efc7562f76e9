//! The two message enums, one per direction.

use serde::{Deserialize, Serialize};

use crate::{
    ChatMessage, ErrorCode, IceCandidate, IceServer, MediaState, ParticipantId, ParticipantInfo,
    RequestId, Role, RoomMode, VideoQuality, Waiter,
};

/// Messages a client sends to the relay ("requests").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMessage {
    /// The first message on every connection: which protocol version the client speaks.
    Hello {
        /// The client's [`crate::PROTOCOL_VERSION`].
        version: u32,
    },
    /// Enter a room. Answered by `welcome` or by `error`.
    Join {
        /// Echoed in the `welcome` or `error`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        request_id: Option<RequestId>,
        /// The room's name, as in `/?room=NAME`.
        room: String,
        /// The display name the others see.
        name: String,
        /// Whether microphone and camera are on at the start.
        #[serde(default)]
        media: MediaState,
        /// The `resume_token` of an earlier `welcome`: after a broken connection, take that seat
        /// back (same id, hand and place) instead of joining anew. Unknown or expired tokens
        /// join anew.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        resume: Option<String>,
        /// The signed invitation link's token (`link=` in the room's URL), which relays with a
        /// link secret require; it decides the role.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        link: Option<String>,
        /// A random id the browser keeps (16 to 64 letters, digits, `-` or `_`), so that
        /// someone a host removed stays out for the rest of the meeting when they reload.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        device: Option<String>,
        /// The room's password, for rooms a host gave one (hosts by link need none).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        password: Option<String>,
        /// With `resume`: the others in a mesh room to whom this page still holds a media
        /// connection that had come up. Those connections stay on both ends (ICE recovers or
        /// restarts on them); to everyone else the page connects afresh.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        kept: Vec<ParticipantId>,
        /// With `resume`: the page still holds its media connection to the relay (SFU rooms),
        /// and would like the relay to keep its end.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        kept_relay: bool,
    },
    /// A WebRTC negotiation message for one other participant of the same room.
    Signal {
        /// The participant it is for.
        to: ParticipantId,
        /// The offer, answer or candidate.
        signal: Signal,
    },
    /// A WebRTC negotiation message for the relay itself (rooms in SFU mode).
    RelaySignal {
        /// The offer, answer or candidate.
        signal: Signal,
    },
    /// How big the sender shows another participant's video (server forwarding only; ignored
    /// in mesh rooms, where each browser adapts its own upload).
    ReceiveVideo {
        /// Whose video.
        from: ParticipantId,
        /// The quality that fits the tile.
        quality: VideoQuality,
    },
    /// The sender switched its microphone or camera on or off.
    Media {
        /// The new state.
        media: MediaState,
    },
    /// Send a chat message to everyone in the room.
    Chat {
        /// The text (plain, at most [`crate::MAX_CHAT_CHARS`] characters).
        text: String,
    },
    /// Raise or lower the sender's hand.
    Hand {
        /// Whether the hand is up.
        raised: bool,
    },
    /// A host acts on the room or on someone in it. Anyone else gets `forbidden`.
    Moderate {
        /// What to do.
        action: Moderation,
    },
    /// Leave the room; the connection may then join another.
    Leave,
    /// Keepalive; answered by `pong` with the same nonce.
    Ping {
        /// Any number; echoed.
        #[serde(default)]
        nonce: u64,
    },
}

/// Messages the relay sends to a client ("events").
/// Decoded through a flat form of the same JSON ([`crate::tagged`]), which keeps the app's
/// WebAssembly small.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", try_from = "crate::tagged::ServerWire")]
pub enum ServerMessage {
    /// Answer to the client's `hello`: the version the relay speaks.
    Hello {
        /// The relay's [`crate::PROTOCOL_VERSION`].
        version: u32,
    },
    /// The client is now in the room.
    Welcome {
        /// The `request_id` of the `join`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        request_id: Option<RequestId>,
        /// The id the relay gave this participant.
        you: ParticipantId,
        /// The room's normalised name.
        room: String,
        /// This participant's role.
        role: Role,
        /// This participant came in with the room's host link (see `ParticipantInfo::host_link`).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        host_link: bool,
        /// How media flows in this room.
        mode: RoomMode,
        /// Everyone else already in the room, in the order they joined.
        participants: Vec<ParticipantInfo>,
        /// What to put into `RTCPeerConnection`'s `iceServers`.
        ice_servers: Vec<IceServer>,
        /// The room's recent chat, oldest first (kept in the relay's memory only).
        #[serde(default)]
        chat: Vec<ChatMessage>,
        /// Proof of this seat, for `join`'s `resume` after a broken connection. Secret.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        resume_token: Option<String>,
        /// A host locked the room: nobody new gets in.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        locked: bool,
        /// The lobby is on: newcomers wait until a host admits them.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        lobby: bool,
        /// Participants' cameras go to the hosts only (a class): the relay forwards no
        /// participant's camera to another participant.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        cameras_to_hosts: bool,
        /// How many listeners are in the room (hosts also find them in `participants`; others
        /// only learn the number).
        #[serde(default, skip_serializing_if = "is_zero")]
        listeners: u32,
        /// Listeners may chat.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        listener_chat: bool,
        /// The seat was resumed and the media connections named in `join`'s `kept` (and, in an
        /// SFU room, the one to the relay if `kept_relay` asked for it) stay: the page must not
        /// rebuild them. False after a fresh join, or when the relay could not keep its end.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        kept: bool,
    },
    /// The number of listeners changed (sent to everyone; only hosts see who they are).
    Audience {
        /// Listeners in the room now.
        listeners: u32,
    },
    /// Answer to `join` in a room whose lobby is on: the client waits until a host admits it
    /// (then `welcome` follows) or turns it away (`moderated` with `deny`). Until then it learns
    /// nothing about the room: no roster, no chat, no media.
    Waiting {
        /// The `request_id` of the `join`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        request_id: Option<RequestId>,
        /// The room's normalised name.
        room: String,
    },
    /// To hosts only: who is waiting in the lobby now, in the order they knocked. Sent whenever
    /// that changes, and to someone who becomes a host while people wait.
    Lobby {
        /// Everyone waiting; empty when nobody is.
        waiting: Vec<Waiter>,
    },
    /// A chat message in the room (also echoed to its sender).
    Chat {
        /// The message.
        message: ChatMessage,
    },
    /// Someone entered the room.
    ParticipantJoined {
        /// Who.
        participant: ParticipantInfo,
    },
    /// Someone changed their state (microphone, camera).
    ParticipantUpdated {
        /// Their new state.
        participant: ParticipantInfo,
    },
    /// Someone whose connection broke is back on a new one.
    ParticipantReconnected {
        /// Their state.
        participant: ParticipantInfo,
        /// They kept their media connection to the receiver (mesh rooms): keep this end too.
        /// Otherwise the connection to them starts afresh (as with a newcomer, they offer).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        kept: bool,
    },
    /// Someone left the room, or their connection was lost.
    ParticipantLeft {
        /// Who.
        id: ParticipantId,
    },
    /// A WebRTC negotiation message from another participant.
    Signal {
        /// Who sent it.
        from: ParticipantId,
        /// The offer, answer or candidate.
        signal: Signal,
    },
    /// The room switched how media flows (a mesh grew past the threshold): connect to the relay,
    /// then drop the direct connections.
    ModeChanged {
        /// The new mode.
        mode: RoomMode,
    },
    /// A WebRTC negotiation message from the relay (rooms in SFU mode).
    RelaySignal {
        /// The offer or answer.
        signal: Signal,
    },
    /// A request was refused, or the connection broke a rule.
    Error {
        /// The `request_id` of the request that failed, if it had one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        request_id: Option<RequestId>,
        /// What went wrong, for programs.
        code: ErrorCode,
        /// What went wrong, for people (English).
        message: String,
    },
    /// A host acted on you: `muted` (your microphone was turned off), `removed` (you are out
    /// of the room; the connection closes), `ended` (the host ended the meeting for everyone).
    Moderated {
        /// What was done.
        action: Moderation,
        /// The host who did it.
        by: ParticipantId,
    },
    /// Answer to `ping`.
    Pong {
        /// The nonce of the `ping`.
        nonce: u64,
    },
}

/// One step of WebRTC negotiation between two participants, relayed unchanged. Decoded through
/// a flat form of the same JSON ([`crate::tagged`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", try_from = "crate::tagged::SignalWire")]
pub enum Signal {
    /// A session description of type `offer`.
    Offer {
        /// The SDP.
        sdp: String,
    },
    /// A session description of type `answer`.
    Answer {
        /// The SDP.
        sdp: String,
    },
    /// A trickled ICE candidate.
    Candidate {
        /// The candidate.
        candidate: IceCandidate,
    },
    /// The sender finds the media path broken or the two sides using different paths, and asks
    /// the receiver to restart ICE (`restartIce()`, which leads to an offer with new ICE
    /// credentials). The relay sends this in SFU rooms; the browser is always the one to restart.
    RestartIce,
    /// Between two browsers (mesh): the sender's connection to the receiver can no longer be
    /// negotiated (a description failed to apply, as when a connection kept across a dropout
    /// meets a browser that changed its DTLS role). The side that restarts ICE (the impolite
    /// one, with the lower id) then builds a new connection and offers; the other closes its
    /// end and waits for that offer. From the impolite side it announces that new connection;
    /// from the polite side it asks for one.
    Rebuild,
}

/// What a host can do (`moderate`), and what a participant is told was done (`moderated`).
/// Decoded through a flat form of the same JSON ([`crate::tagged`]), which keeps the app's
/// WebAssembly small.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", try_from = "crate::tagged::ModerationWire")]
pub enum Moderation {
    /// Turn off this participant's microphone (they may turn it on again).
    Mute {
        /// Whom.
        id: ParticipantId,
    },
    /// Turn this participant's microphone off until a host allows it again (`locked: false`):
    /// they cannot turn it on, and the relay forwards none of their sound.
    LockMicrophone {
        /// Whose.
        id: ParticipantId,
        /// Locked, or allowed again (the microphone stays off until they turn it on).
        locked: bool,
    },
    /// Turn off this participant's camera (they may turn it on again).
    CameraOff {
        /// Whose.
        id: ParticipantId,
    },
    /// Stop this participant's screen share.
    StopScreen {
        /// Whose.
        id: ParticipantId,
    },
    /// Lower this participant's raised hand.
    LowerHand {
        /// Whose.
        id: ParticipantId,
    },
    /// Make this participant a host too.
    MakeHost {
        /// Whom.
        id: ParticipantId,
    },
    /// Take hosting back from this host (who stays, as a participant). Refused for oneself and
    /// for a host who came in with the room's host link.
    RevokeHost {
        /// Whom.
        id: ParticipantId,
    },
    /// Remove this participant from the room.
    Remove {
        /// Whom.
        id: ParticipantId,
    },
    /// Turn off every participant's microphone (hosts' excepted); each may turn it on again.
    MuteAll,
    /// Lower every raised hand.
    LowerAllHands,
    /// Lock the room (nobody new gets in, people whose connection broke still do) or unlock it.
    Lock {
        /// Locked or not.
        locked: bool,
    },
    /// End the meeting for everyone.
    EndMeeting,
    /// Turn the lobby on (newcomers wait until a host admits them) or off (everyone waiting
    /// comes in).
    Lobby {
        /// On or off.
        on: bool,
    },
    /// Let this person in from the lobby.
    Admit {
        /// Whom (the id in `lobby`).
        id: ParticipantId,
    },
    /// Turn this person in the lobby away; their connection closes (they may knock again).
    Deny {
        /// Whom (the id in `lobby`).
        id: ParticipantId,
    },
    /// Let everyone in the lobby in.
    AdmitAll,
    /// Give the room a password newcomers must enter (hosts by link excepted), or take it away
    /// (`null` or empty). Only hosts are told (`moderated`), with the password, so co-hosts can
    /// pass it on.
    SetPassword {
        /// The new password (at most [`crate::MAX_PASSWORD_CHARS`] characters), or none.
        #[serde(default)]
        password: Option<String>,
    },
    /// Allow listeners to chat, or not (the default).
    ListenerChat {
        /// Allowed or not.
        allowed: bool,
    },
    /// Participants' cameras go to the hosts only, while everyone sees the hosts (a class), or
    /// to everyone again. The room moves to server forwarding, which enforces it.
    CamerasToHosts {
        /// On or off.
        on: bool,
    },
}

/// For `skip_serializing_if`.
fn is_zero(n: &u32) -> bool {
    *n == 0
}
