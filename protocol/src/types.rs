//! Small value types shared by several messages.

use serde::{Deserialize, Serialize};

/// A participant's id, unique within one relay process for its lifetime. Assigned by the relay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ParticipantId(pub u64);

impl std::fmt::Display for ParticipantId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "p{}", self.0)
    }
}

/// A number the client picks for a request; the relay echoes it in the reply or error it causes,
/// so a client can match answers to questions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RequestId(pub u32);

/// What a participant may do in a room. Only `participant` is handed out today; hosts and
/// listeners arrive with moderation, and are part of the wire format already so that older clients
/// can read them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// May moderate the room.
    Host,
    /// May send audio and video.
    #[default]
    Participant,
    /// Receives only.
    Listener,
}

/// How media flows in a room. Decided by the relay, never by a client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RoomMode {
    /// Every browser connects directly to every other browser.
    #[default]
    Mesh,
    /// Every browser connects to the relay, which forwards media.
    Sfu,
}

/// How good a picture of another participant a client wants (rooms with server forwarding):
/// the relay forwards the simulcast layer that fits, within the client's bandwidth.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VideoQuality {
    /// A large tile: the best layer the bandwidth allows.
    #[default]
    High,
    /// A small tile: the smallest layer.
    Low,
}

/// Whether a participant's microphone and camera are on, as they announced it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaState {
    /// The microphone is on (not muted).
    pub audio: bool,
    /// The camera is on.
    pub video: bool,
    /// The screen (or a window) is being shared.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub screen: bool,
}

impl MediaState {
    /// Nothing on (a listener).
    pub const OFF: Self = Self { audio: false, video: false, screen: false };
}

impl Default for MediaState {
    fn default() -> Self {
        Self { audio: true, video: true, screen: false }
    }
}

/// Everything the others know about one participant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParticipantInfo {
    /// The relay-assigned id.
    pub id: ParticipantId,
    /// The display name, already normalised by the relay.
    pub name: String,
    /// What this participant may do.
    #[serde(default)]
    pub role: Role,
    /// Microphone and camera state.
    pub media: MediaState,
    /// Set while the hand is raised: a number that grows with every raise in the room, so
    /// sorting by it gives the order in which hands went up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hand: Option<u64>,
    /// Their connection broke and the relay keeps their seat while they come back
    /// ("reconnecting" on their tile).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub away: bool,
    /// A host turned their microphone off until a host allows it again: they cannot turn it on,
    /// and the relay forwards none of their sound.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub mic_locked: bool,
    /// A host who came in with the room's host link: no other host can take hosting from them
    /// (so the app offers no "take back hosting" for them).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub host_link: bool,
}

/// Someone waiting in a room's lobby, as hosts see them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Waiter {
    /// Their id (kept when they are admitted).
    pub id: ParticipantId,
    /// The name they gave.
    pub name: String,
}

/// One chat message, as the relay stamped it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// Grows with every message in the room.
    pub id: u64,
    /// Who wrote it.
    pub from: ParticipantId,
    /// Their display name when they wrote it (they may have left since).
    pub name: String,
    /// The text, plain; never interpreted as HTML.
    pub text: String,
    /// When the relay received it, in milliseconds since the Unix epoch.
    pub sent_at_ms: u64,
}

/// One entry of the `iceServers` list handed to `RTCPeerConnection`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IceServer {
    /// `stun:` / `turn:` / `turns:` URLs.
    pub urls: Vec<String>,
    /// TURN user name, if the server needs one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// TURN credential, if the server needs one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
}

/// An ICE candidate as `RTCIceCandidate.toJSON()` describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IceCandidate {
    /// The `candidate:` attribute line; empty for end-of-candidates.
    pub candidate: String,
    /// The media stream identification tag the candidate belongs to.
    #[serde(default)]
    pub sdp_mid: Option<String>,
    /// The index of the m-line the candidate belongs to.
    #[serde(default)]
    pub sdp_m_line_index: Option<u16>,
    /// The ICE username fragment the candidate belongs to (tells generations apart after a restart).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username_fragment: Option<String>,
}
