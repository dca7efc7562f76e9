//! Turning messages into text and back, with a size limit checked before any parsing.

use serde::{Serialize, de::DeserializeOwned};

use crate::{ClientMessage, ErrorCode, ServerMessage};

/// Why a text could not be decoded into a message.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    /// The text is longer than the limit; it was not parsed.
    #[error("message of {size} bytes is larger than the limit of {limit} bytes")]
    TooLarge {
        /// The text's length in bytes.
        size: usize,
        /// The limit in bytes.
        limit: usize,
    },
    /// The text is not JSON, has wrong field types, or an unknown `type`.
    #[error("message is not valid: {0}")]
    Invalid(String),
}

impl DecodeError {
    /// The error code the relay answers this with.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::TooLarge { .. } => ErrorCode::MessageTooLarge,
            Self::Invalid(_) => ErrorCode::InvalidMessage,
        }
    }
}

fn decode<T: DeserializeOwned>(text: &str, limit: usize) -> Result<T, DecodeError> {
    if text.len() > limit {
        return Err(DecodeError::TooLarge { size: text.len(), limit });
    }
    serde_json::from_str(text).map_err(|e| DecodeError::Invalid(e.to_string()))
}

/// Decodes a message a client sent, refusing texts longer than `limit` bytes without parsing them.
pub fn decode_client(text: &str, limit: usize) -> Result<ClientMessage, DecodeError> {
    decode(text, limit)
}

/// Decodes a message the relay sent, refusing texts longer than `limit` bytes without parsing them.
pub fn decode_server(text: &str, limit: usize) -> Result<ServerMessage, DecodeError> {
    decode(text, limit)
}

/// Encodes a message as JSON text.
pub fn encode<T: Serialize>(message: &T) -> String {
    // Serialising these plain enums cannot fail: no maps with non-string keys, no custom
    // serialisers that return errors. An empty object would still be safe to send.
    serde_json::to_string(message).unwrap_or_else(|_| String::from("{}"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::{
        IceCandidate, MediaState, ParticipantId, ParticipantInfo, RequestId, Role, RoomMode, Signal,
    };

    const LIMIT: usize = 64 * 1024;

    fn round_trip_client(message: ClientMessage) {
        let text = encode(&message);
        assert_eq!(decode_client(&text, LIMIT), Ok(message), "{text}");
    }

    fn round_trip_server(message: ServerMessage) {
        let text = encode(&message);
        assert_eq!(decode_server(&text, LIMIT), Ok(message), "{text}");
    }

    #[test]
    fn every_client_message_round_trips() {
        round_trip_client(ClientMessage::Hello { version: 1 });
        round_trip_client(ClientMessage::Join {
            request_id: Some(RequestId(7)),
            room: "demo".into(),
            name: "Anna Müller".into(),
            media: MediaState { audio: false, video: true, screen: false },
            resume: None,
            link: Some("v1.e30.AAAA".into()),
            device: Some("k3JH0a9xQ2Lm8Pz1".into()),
            password: Some("Eichhörnchen".into()),
            kept: vec![],
            kept_relay: false,
        });
        round_trip_client(ClientMessage::Join {
            request_id: None,
            room: "demo".into(),
            name: "Anna".into(),
            media: MediaState::default(),
            resume: Some("0123abcd".into()),
            link: None,
            device: None,
            password: None,
            kept: vec![ParticipantId(2), ParticipantId(5)],
            kept_relay: true,
        });
        round_trip_client(ClientMessage::Signal {
            to: ParticipantId(3),
            signal: Signal::Offer { sdp: "v=0\r\n".into() },
        });
        round_trip_client(ClientMessage::Signal {
            to: ParticipantId(3),
            signal: Signal::Candidate {
                candidate: IceCandidate {
                    candidate: "candidate:1 1 udp 1 127.0.0.1 5000 typ host".into(),
                    sdp_mid: Some("0".into()),
                    sdp_m_line_index: Some(0),
                    username_fragment: Some("abcd".into()),
                },
            },
        });
        round_trip_client(ClientMessage::Media {
            media: MediaState { audio: true, video: false, screen: false },
        });
        round_trip_client(ClientMessage::Leave);
        round_trip_client(ClientMessage::RelaySignal {
            signal: Signal::Offer { sdp: "v=0".into() },
        });
        round_trip_client(ClientMessage::Chat { text: "Hallo <script>".into() });
        round_trip_client(ClientMessage::Hand { raised: true });
        round_trip_client(ClientMessage::ReceiveVideo {
            from: ParticipantId(3),
            quality: crate::VideoQuality::Low,
        });
        round_trip_client(ClientMessage::Ping { nonce: 42 });
        for action in [
            crate::Moderation::Lobby { on: true },
            crate::Moderation::Admit { id: ParticipantId(4) },
            crate::Moderation::Deny { id: ParticipantId(4) },
            crate::Moderation::AdmitAll,
            crate::Moderation::CamerasToHosts { on: true },
            crate::Moderation::SetPassword { password: Some("geheim".into()) },
            crate::Moderation::SetPassword { password: None },
            crate::Moderation::ListenerChat { allowed: true },
        ] {
            round_trip_client(ClientMessage::Moderate { action });
        }
    }

    #[test]
    fn every_server_message_round_trips() {
        let anna = ParticipantInfo {
            id: ParticipantId(1),
            name: "Anna".into(),
            role: Role::Participant,
            media: MediaState::default(),
            hand: Some(3),
            away: true,
            mic_locked: true,
            host_link: true,
        };
        round_trip_server(ServerMessage::Hello { version: 1 });
        round_trip_server(ServerMessage::Chat {
            message: crate::ChatMessage {
                id: 1,
                from: ParticipantId(1),
                name: "Anna".into(),
                text: "<b>hi</b>".into(),
                sent_at_ms: 1_700_000_000_000,
            },
        });
        round_trip_server(ServerMessage::Welcome {
            request_id: None,
            you: ParticipantId(2),
            room: "demo".into(),
            role: Role::Participant,
            host_link: false,
            mode: RoomMode::Mesh,
            participants: vec![anna.clone()],
            ice_servers: vec![crate::IceServer {
                urls: vec!["turn:relay.example:3478".into()],
                username: Some("u".into()),
                credential: Some("c".into()),
            }],
            chat: vec![],
            resume_token: Some("0123abcd".into()),
            locked: true,
            lobby: true,
            cameras_to_hosts: true,
            listeners: 3,
            listener_chat: true,
            kept: true,
        });
        round_trip_server(ServerMessage::Audience { listeners: 4 });
        round_trip_server(ServerMessage::Waiting {
            request_id: Some(RequestId(3)),
            room: "demo".into(),
        });
        round_trip_server(ServerMessage::Lobby {
            waiting: vec![crate::Waiter { id: ParticipantId(4), name: "Dana".into() }],
        });
        round_trip_server(ServerMessage::ParticipantJoined { participant: anna.clone() });
        round_trip_server(ServerMessage::ParticipantReconnected {
            participant: anna.clone(),
            kept: false,
        });
        round_trip_server(ServerMessage::ParticipantReconnected {
            participant: anna.clone(),
            kept: true,
        });
        round_trip_server(ServerMessage::ParticipantUpdated { participant: anna });
        round_trip_server(ServerMessage::ParticipantLeft { id: ParticipantId(1) });
        round_trip_server(ServerMessage::Signal {
            from: ParticipantId(1),
            signal: Signal::Answer { sdp: "v=0\r\n".into() },
        });
        round_trip_server(ServerMessage::Error {
            request_id: Some(RequestId(1)),
            code: ErrorCode::RoomFull,
            message: "full".into(),
        });
        round_trip_server(ServerMessage::Pong { nonce: 9 });
        round_trip_server(ServerMessage::ModeChanged { mode: RoomMode::Sfu });
        round_trip_server(ServerMessage::RelaySignal {
            signal: Signal::Answer { sdp: "v=0".into() },
        });
    }

    #[test]
    fn wire_format_is_tagged_snake_case() {
        let text = encode(&ClientMessage::Media {
            media: MediaState { audio: false, video: true, screen: false },
        });
        assert_eq!(text, r#"{"type":"media","media":{"audio":false,"video":true}}"#);
        let text = encode(&ServerMessage::ParticipantLeft { id: ParticipantId(5) });
        assert_eq!(text, r#"{"type":"participant_left","id":5}"#);
        let text = encode(&ClientMessage::Moderate {
            action: crate::Moderation::Admit { id: ParticipantId(4) },
        });
        assert_eq!(text, r#"{"type":"moderate","action":{"kind":"admit","id":4}}"#);
    }

    #[test]
    fn browser_candidate_json_is_accepted() {
        // What `JSON.stringify(event.candidate)` produces in Chromium.
        let text = r#"{"type":"signal","to":4,"signal":{"kind":"candidate","candidate":
            {"candidate":"candidate:0 1 UDP 2122252543 127.0.0.1 40000 typ host",
             "sdpMid":"0","sdpMLineIndex":0,"usernameFragment":"x1"}}}"#;
        assert!(matches!(decode_client(text, LIMIT), Ok(ClientMessage::Signal { .. })));
    }

    #[test]
    fn malformed_input_is_rejected_not_panicked_on() {
        for text in [
            "",
            "not json",
            "[]",
            "{}",
            "null",
            r#"{"type":"launch_missiles"}"#,
            r#"{"type":"hello"}"#,
            r#"{"type":"hello","version":"one"}"#,
            r#"{"type":"hello","version":-1}"#,
            r#"{"type":"join","room":5,"name":"x"}"#,
            r#"{"type":"signal","to":"p1","signal":{"kind":"offer","sdp":"x"}}"#,
            r#"{"type":"signal","to":1,"signal":{"kind":"telepathy"}}"#,
            "{\"type\":\"join\",\"room\":\"\u{0}\"",
        ] {
            assert!(
                matches!(decode_client(text, LIMIT), Err(DecodeError::Invalid(_))),
                "accepted {text:?}"
            );
        }
    }

    #[test]
    fn oversized_input_is_refused_before_parsing() {
        let text = format!(r#"{{"type":"ping","nonce":1{}}}"#, " ".repeat(100));
        assert_eq!(
            decode_client(&text, 50),
            Err(DecodeError::TooLarge { size: text.len(), limit: 50 })
        );
        assert_eq!(decode_client(&text, 50).unwrap_err().code(), ErrorCode::MessageTooLarge);
    }

    #[test]
    fn unknown_error_codes_from_a_newer_relay_are_tolerated() {
        let text = r#"{"type":"error","code":"quantum_flux","message":"new"}"#;
        match decode_server(text, LIMIT) {
            Ok(ServerMessage::Error { code, .. }) => assert_eq!(code, ErrorCode::Unknown),
            other => panic!("unexpected {other:?}"),
        }
    }

    /// A poor man's fuzzer: mutated valid messages and random bytes never panic the decoder, and
    /// whatever it accepts encodes and decodes to the same message.
    #[test]
    fn mutated_input_never_panics() {
        let seeds = [
            r#"{"type":"hello","version":1}"#,
            r#"{"type":"join","room":"demo","name":"Anna","media":{"audio":true,"video":false}}"#,
            r#"{"type":"signal","to":3,"signal":{"kind":"candidate","candidate":{"candidate":"c","sdpMid":"0","sdpMLineIndex":0}}}"#,
            r#"{"type":"media","media":{"audio":false,"video":true}}"#,
        ];
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let alphabet = b"{}[]\":,0123456789-eE.truefalsnl typejoinsignalkindoffer\\u\x00\xff";
        for round in 0..20_000 {
            let seed = seeds[(next() % seeds.len() as u64) as usize];
            let mut bytes = seed.as_bytes().to_vec();
            for _ in 0..(1 + next() % 4) {
                let at = (next() % (bytes.len() as u64 + 1)) as usize;
                match next() % 3 {
                    0 if at < bytes.len() => {
                        bytes.remove(at);
                    }
                    1 => bytes.insert(at, alphabet[(next() % alphabet.len() as u64) as usize]),
                    _ if at < bytes.len() => {
                        bytes[at] = alphabet[(next() % alphabet.len() as u64) as usize]
                    }
                    _ => {}
                }
            }
            if round % 10 == 0 {
                bytes = (0..next() % 64).map(|_| (next() & 0xff) as u8).collect();
            }
            let text = String::from_utf8_lossy(&bytes);
            if let Ok(message) = decode_client(&text, LIMIT) {
                assert_eq!(decode_client(&encode(&message), LIMIT), Ok(message));
            }
        }
    }
}
