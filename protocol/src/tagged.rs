//! How the tagged enums the app decodes ([`ServerMessage`], and the [`Moderation`] and
//! [`Signal`] inside messages) are decoded: the JSON is read into one flat struct (its tag and
//! every field any kind carries), then checked for the fields its kind needs.
//!
//! The wire format is exactly serde's internally tagged enum (`{"type": "pong", "nonce": 3}`,
//! `{"kind": "mute", "id": 3}`), which is still how they are encoded. Serde's derived decoder
//! for a tagged enum buffers the message and generates a decoder per variant: about 80 KB of
//! the app's WebAssembly before optimisation for these three, which pushed the download past its
//! budget (docs/benchmarks.md). The flat forms are a fraction of that. [`crate::ClientMessage`],
//! which only the relay decodes, keeps serde's derive.

use std::fmt;

use serde::{
    Deserialize, Deserializer,
    de::{self, MapAccess, Visitor},
};

use crate::{
    ChatMessage, ErrorCode, IceCandidate, IceServer, Moderation, ParticipantId, ParticipantInfo,
    RequestId, Role, RoomMode, ServerMessage, Signal, Waiter,
};

/// A field the message's kind needs is missing (named in the error).
fn need<T>(value: Option<T>, field: &'static str) -> Result<T, String> {
    value.ok_or_else(|| format!("missing field `{field}`"))
}

/// Which server message, as its `type` string.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
enum ServerKind {
    Hello,
    Welcome,
    Audience,
    Waiting,
    Lobby,
    Chat,
    ParticipantJoined,
    ParticipantUpdated,
    ParticipantReconnected,
    ParticipantLeft,
    Signal,
    ModeChanged,
    RelaySignal,
    Error,
    Moderated,
    Pong,
}

/// `message` is a chat message in `chat` and a sentence in `error`.
#[derive(Debug)]
enum MessageField {
    Text(String),
    Chat(ChatMessage),
}

impl<'de> Deserialize<'de> for MessageField {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Either;
        impl<'de> Visitor<'de> for Either {
            type Value = MessageField;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a text or a chat message")
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<MessageField, E> {
                Ok(MessageField::Text(text.to_owned()))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<MessageField, A::Error> {
                ChatMessage::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(MessageField::Chat)
            }
        }
        deserializer.deserialize_any(Either)
    }
}

/// A server message with every field any type may carry.
#[derive(Debug, Deserialize)]
pub(crate) struct ServerWire {
    #[serde(rename = "type")]
    kind: ServerKind,
    #[serde(default)]
    version: Option<u32>,
    #[serde(default)]
    request_id: Option<RequestId>,
    #[serde(default)]
    you: Option<ParticipantId>,
    #[serde(default)]
    room: Option<String>,
    #[serde(default)]
    role: Option<Role>,
    #[serde(default)]
    mode: Option<RoomMode>,
    #[serde(default)]
    participants: Option<Vec<ParticipantInfo>>,
    #[serde(default)]
    ice_servers: Option<Vec<IceServer>>,
    #[serde(default)]
    chat: Option<Vec<ChatMessage>>,
    #[serde(default)]
    resume_token: Option<String>,
    #[serde(default)]
    locked: Option<bool>,
    #[serde(default)]
    lobby: Option<bool>,
    #[serde(default)]
    cameras_to_hosts: Option<bool>,
    #[serde(default)]
    listeners: Option<u32>,
    #[serde(default)]
    listener_chat: Option<bool>,
    #[serde(default)]
    host_link: Option<bool>,
    #[serde(default)]
    kept: Option<bool>,
    #[serde(default)]
    waiting: Option<Vec<Waiter>>,
    #[serde(default)]
    message: Option<MessageField>,
    #[serde(default)]
    participant: Option<ParticipantInfo>,
    #[serde(default)]
    id: Option<ParticipantId>,
    #[serde(default)]
    from: Option<ParticipantId>,
    #[serde(default)]
    signal: Option<Signal>,
    #[serde(default)]
    code: Option<ErrorCode>,
    #[serde(default)]
    action: Option<Moderation>,
    #[serde(default)]
    by: Option<ParticipantId>,
    #[serde(default)]
    nonce: Option<u64>,
}

impl TryFrom<ServerWire> for ServerMessage {
    type Error = String;

    fn try_from(wire: ServerWire) -> Result<Self, String> {
        Ok(match wire.kind {
            ServerKind::Hello => Self::Hello { version: need(wire.version, "version")? },
            ServerKind::Welcome => Self::Welcome {
                request_id: wire.request_id,
                you: need(wire.you, "you")?,
                room: need(wire.room, "room")?,
                role: need(wire.role, "role")?,
                host_link: wire.host_link.unwrap_or_default(),
                mode: need(wire.mode, "mode")?,
                participants: need(wire.participants, "participants")?,
                ice_servers: need(wire.ice_servers, "ice_servers")?,
                chat: wire.chat.unwrap_or_default(),
                resume_token: wire.resume_token,
                locked: wire.locked.unwrap_or_default(),
                lobby: wire.lobby.unwrap_or_default(),
                cameras_to_hosts: wire.cameras_to_hosts.unwrap_or_default(),
                listeners: wire.listeners.unwrap_or_default(),
                listener_chat: wire.listener_chat.unwrap_or_default(),
                kept: wire.kept.unwrap_or_default(),
            },
            ServerKind::Audience => {
                Self::Audience { listeners: need(wire.listeners, "listeners")? }
            }
            ServerKind::Waiting => {
                Self::Waiting { request_id: wire.request_id, room: need(wire.room, "room")? }
            }
            ServerKind::Lobby => Self::Lobby { waiting: need(wire.waiting, "waiting")? },
            ServerKind::Chat => match wire.message {
                Some(MessageField::Chat(message)) => Self::Chat { message },
                _ => return Err("missing field `message` (a chat message)".into()),
            },
            ServerKind::ParticipantJoined => {
                Self::ParticipantJoined { participant: need(wire.participant, "participant")? }
            }
            ServerKind::ParticipantUpdated => {
                Self::ParticipantUpdated { participant: need(wire.participant, "participant")? }
            }
            ServerKind::ParticipantReconnected => Self::ParticipantReconnected {
                participant: need(wire.participant, "participant")?,
                kept: wire.kept.unwrap_or_default(),
            },
            ServerKind::ParticipantLeft => Self::ParticipantLeft { id: need(wire.id, "id")? },
            ServerKind::Signal => Self::Signal {
                from: need(wire.from, "from")?,
                signal: need(wire.signal, "signal")?,
            },
            ServerKind::ModeChanged => Self::ModeChanged { mode: need(wire.mode, "mode")? },
            ServerKind::RelaySignal => Self::RelaySignal { signal: need(wire.signal, "signal")? },
            ServerKind::Error => Self::Error {
                request_id: wire.request_id,
                code: need(wire.code, "code")?,
                message: match wire.message {
                    Some(MessageField::Text(message)) => message,
                    _ => return Err("missing field `message` (a text)".into()),
                },
            },
            ServerKind::Moderated => {
                Self::Moderated { action: need(wire.action, "action")?, by: need(wire.by, "by")? }
            }
            ServerKind::Pong => Self::Pong { nonce: need(wire.nonce, "nonce")? },
        })
    }
}

/// Which negotiation step, as its `kind` string.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
enum SignalKind {
    Offer,
    Answer,
    Candidate,
    RestartIce,
    Rebuild,
}

/// A signal with every field any kind may carry.
#[derive(Debug, Deserialize)]
pub(crate) struct SignalWire {
    kind: SignalKind,
    #[serde(default)]
    sdp: Option<String>,
    #[serde(default)]
    candidate: Option<IceCandidate>,
}

impl TryFrom<SignalWire> for Signal {
    type Error = String;

    fn try_from(wire: SignalWire) -> Result<Self, String> {
        Ok(match wire.kind {
            SignalKind::Offer => Self::Offer { sdp: need(wire.sdp, "sdp")? },
            SignalKind::Answer => Self::Answer { sdp: need(wire.sdp, "sdp")? },
            SignalKind::Candidate => {
                Self::Candidate { candidate: need(wire.candidate, "candidate")? }
            }
            SignalKind::RestartIce => Self::RestartIce,
            SignalKind::Rebuild => Self::Rebuild,
        })
    }
}

/// Which moderation action, as its `kind` string.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Kind {
    Mute,
    LockMicrophone,
    CameraOff,
    StopScreen,
    LowerHand,
    MakeHost,
    RevokeHost,
    Remove,
    MuteAll,
    LowerAllHands,
    Lock,
    EndMeeting,
    Lobby,
    Admit,
    Deny,
    AdmitAll,
    SetPassword,
    ListenerChat,
    CamerasToHosts,
}

/// A moderation action with every field any kind may carry.
#[derive(Debug, Deserialize)]
pub(crate) struct ModerationWire {
    kind: Kind,
    #[serde(default)]
    id: Option<ParticipantId>,
    #[serde(default)]
    locked: Option<bool>,
    #[serde(default)]
    on: Option<bool>,
    #[serde(default)]
    allowed: Option<bool>,
    #[serde(default)]
    password: Option<String>,
}

impl TryFrom<ModerationWire> for Moderation {
    type Error = String;

    fn try_from(wire: ModerationWire) -> Result<Self, String> {
        let id = || need(wire.id, "id");
        Ok(match wire.kind {
            Kind::Mute => Self::Mute { id: id()? },
            Kind::LockMicrophone => {
                Self::LockMicrophone { id: id()?, locked: need(wire.locked, "locked")? }
            }
            Kind::CameraOff => Self::CameraOff { id: id()? },
            Kind::StopScreen => Self::StopScreen { id: id()? },
            Kind::LowerHand => Self::LowerHand { id: id()? },
            Kind::MakeHost => Self::MakeHost { id: id()? },
            Kind::RevokeHost => Self::RevokeHost { id: id()? },
            Kind::Remove => Self::Remove { id: id()? },
            Kind::MuteAll => Self::MuteAll,
            Kind::LowerAllHands => Self::LowerAllHands,
            Kind::Lock => Self::Lock { locked: need(wire.locked, "locked")? },
            Kind::EndMeeting => Self::EndMeeting,
            Kind::Lobby => Self::Lobby { on: need(wire.on, "on")? },
            Kind::Admit => Self::Admit { id: id()? },
            Kind::Deny => Self::Deny { id: id()? },
            Kind::AdmitAll => Self::AdmitAll,
            Kind::SetPassword => Self::SetPassword { password: wire.password },
            Kind::ListenerChat => Self::ListenerChat { allowed: need(wire.allowed, "allowed")? },
            Kind::CamerasToHosts => Self::CamerasToHosts { on: need(wire.on, "on")? },
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn decode(json: &str) -> Result<Moderation, String> {
        serde_json::from_str(json).map_err(|e| e.to_string())
    }

    fn decode_signal(json: &str) -> Result<Signal, String> {
        serde_json::from_str(json).map_err(|e| e.to_string())
    }

    #[test]
    fn server_messages_need_their_fields_and_message_its_type() {
        let decode = |json: &str| serde_json::from_str::<ServerMessage>(json);
        for bad in [
            r#"{"type":"pong"}"#,
            r#"{"type":"welcome","you":1,"room":"demo"}"#,
            r#"{"type":"chat","message":"hi"}"#,
            r#"{"type":"error","code":"room_full","message":{"from":1,"name":"A","text":"x","sent_at_ms":1}}"#,
            r#"{"type":"participant_left"}"#,
            r#"{"type":"teleport"}"#,
            r#"{"nonce":3}"#,
            r#"{"type":"pong","nonce":-1}"#,
        ] {
            assert!(decode(bad).is_err(), "{bad}");
        }
        assert_eq!(
            decode(r#"{"type":"pong","nonce":3,"extra":[1,2]}"#).unwrap(),
            ServerMessage::Pong { nonce: 3 }
        );
    }

    #[test]
    fn signals_decode_from_what_they_encode_to_and_need_their_fields() {
        let candidate = IceCandidate {
            candidate: "candidate:1 1 udp 2122260223 192.0.2.1 50000 typ host".into(),
            sdp_mid: Some("0".into()),
            sdp_m_line_index: Some(0),
            username_fragment: Some("abcd".into()),
        };
        for signal in [
            Signal::Offer { sdp: "v=0\r\n".into() },
            Signal::Answer { sdp: String::new() },
            Signal::Candidate { candidate },
            Signal::RestartIce,
            Signal::Rebuild,
        ] {
            let json = serde_json::to_string(&signal).unwrap();
            assert_eq!(decode_signal(&json), Ok(signal), "{json}");
        }
        for bad in [
            r#"{"kind":"offer"}"#,
            r#"{"kind":"answer","sdp":3}"#,
            r#"{"kind":"candidate"}"#,
            r#"{"kind":"candidate","candidate":{"sdp_mid":"0"}}"#,
            r#"{"kind":"pranswer","sdp":""}"#,
            r#"{"sdp":""}"#,
        ] {
            assert!(decode_signal(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn every_kind_decodes_from_what_it_encodes_to() {
        let id = ParticipantId(7);
        let all = [
            Moderation::Mute { id },
            Moderation::LockMicrophone { id, locked: true },
            Moderation::CameraOff { id },
            Moderation::StopScreen { id },
            Moderation::LowerHand { id },
            Moderation::MakeHost { id },
            Moderation::RevokeHost { id },
            Moderation::Remove { id },
            Moderation::MuteAll,
            Moderation::LowerAllHands,
            Moderation::Lock { locked: false },
            Moderation::EndMeeting,
            Moderation::Lobby { on: true },
            Moderation::Admit { id },
            Moderation::Deny { id },
            Moderation::AdmitAll,
            Moderation::SetPassword { password: Some("geheim".into()) },
            Moderation::SetPassword { password: None },
            Moderation::ListenerChat { allowed: true },
            Moderation::CamerasToHosts { on: false },
        ];
        for action in all {
            let json = serde_json::to_string(&action).unwrap();
            assert_eq!(decode(&json), Ok(action), "{json}");
        }
    }

    #[test]
    fn a_missing_field_an_unknown_kind_or_a_wrong_type_is_refused() {
        for bad in [
            r#"{"kind":"mute"}"#,
            r#"{"kind":"lock_microphone","id":3}"#,
            r#"{"kind":"lobby"}"#,
            r#"{"kind":"explode","id":3}"#,
            r#"{"id":3}"#,
            r#"{"kind":"mute","id":"3"}"#,
            r#"{"kind":"lock","locked":"yes"}"#,
        ] {
            assert!(decode(bad).is_err(), "{bad}");
        }
        // Fields another kind carries are ignored, as serde's tagged enums do.
        assert_eq!(decode(r#"{"kind":"mute_all","id":3}"#), Ok(Moderation::MuteAll));
        assert_eq!(
            decode(r#"{"kind":"set_password","password":null}"#),
            Ok(Moderation::SetPassword { password: None })
        );
    }
}
