//! The relay over real WebSockets on a loopback port: rooms, rosters, forwarding, shutdown.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::time::Duration;

use common::{TestRelay, error_code};
use protocol::{ClientMessage, ErrorCode, MediaState, RequestId, ServerMessage, Signal};

#[tokio::test]
async fn join_roster_and_leave() {
    let relay = TestRelay::start(|_| {}).await;
    let (mut anna, anna_id, roster) = relay.joined("rat", "Anna").await;
    assert!(roster.is_empty());

    let (mut bruno, bruno_id, roster) = relay.joined("Rat", "Bruno").await;
    assert_eq!(
        roster.iter().map(|p| (p.id, p.name.as_str())).collect::<Vec<_>>(),
        [(anna_id, "Anna")]
    );
    match anna.recv().await {
        ServerMessage::ParticipantJoined { participant } => {
            assert_eq!((participant.id, participant.name.as_str()), (bruno_id, "Bruno"));
        }
        other => panic!("{other:?}"),
    }

    // An explicit leave.
    bruno.send(&ClientMessage::Leave).await;
    assert_eq!(anna.recv().await, ServerMessage::ParticipantLeft { id: bruno_id });

    // Closing the connection (a closed tab) counts as leaving too.
    let (cleo, cleo_id, roster) = relay.joined("rat", "Cleo").await;
    assert_eq!(roster.len(), 1);
    assert!(matches!(anna.recv().await, ServerMessage::ParticipantJoined { .. }));
    cleo.close().await;
    assert_eq!(anna.recv().await, ServerMessage::ParticipantLeft { id: cleo_id });
    relay.shutdown().await.unwrap();
}

#[tokio::test]
async fn welcome_echoes_the_request_id_and_carries_ice_servers() {
    let relay =
        TestRelay::start(|c| c.ice_servers = vec!["turn:turn.example.org:3478".into()]).await;
    let mut client = relay.greeted().await;
    client
        .send(&ClientMessage::Join {
            request_id: Some(RequestId(41)),
            room: "r".into(),
            name: "N".into(),
            media: MediaState { audio: false, video: true, screen: false },
            resume: None,
            link: None,
            device: None,
            password: None,
            kept: vec![],
            kept_relay: false,
        })
        .await;
    match client.recv().await {
        ServerMessage::Welcome { request_id, ice_servers, mode, .. } => {
            assert_eq!(request_id, Some(RequestId(41)));
            // The relay's own STUN/TURN first, then the configured one.
            assert!(ice_servers[0].urls[0].starts_with("stun:127.0.0.1:"), "{ice_servers:?}");
            assert_eq!(ice_servers[1].urls, ["turn:turn.example.org:3478"]);
            assert_eq!(mode, protocol::RoomMode::Mesh);
        }
        other => panic!("{other:?}"),
    }
    // Without the relay's TURN, only the configured server.
    let relay = TestRelay::start(|c| {
        c.ice_servers = vec!["turn:turn.example.org:3478".into()];
        c.no_turn = true;
    })
    .await;
    let (_, _, _) = relay.joined("r", "N").await;
    let mut client = relay.greeted().await;
    client.join("r", "M").await;
    match client.recv().await {
        ServerMessage::Welcome { ice_servers, .. } => {
            assert_eq!(ice_servers.len(), 1);
            assert_eq!(ice_servers[0].urls, ["turn:turn.example.org:3478"]);
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn signals_are_forwarded_only_within_a_room() {
    let relay = TestRelay::start(|_| {}).await;
    let (mut anna, anna_id, _) = relay.joined("eins", "Anna").await;
    let (mut bruno, bruno_id, _) = relay.joined("eins", "Bruno").await;
    let (mut cem, cem_id, _) = relay.joined("zwei", "Cem").await;
    assert!(matches!(anna.recv().await, ServerMessage::ParticipantJoined { .. }));

    let offer = Signal::Offer { sdp: "v=0\r\n".into() };
    anna.send(&ClientMessage::Signal { to: bruno_id, signal: offer.clone() }).await;
    assert_eq!(bruno.recv().await, ServerMessage::Signal { from: anna_id, signal: offer.clone() });

    // Across rooms: refused, and the other room hears nothing.
    anna.send(&ClientMessage::Signal { to: cem_id, signal: offer.clone() }).await;
    assert_eq!(error_code(&anna.recv().await), ErrorCode::UnknownParticipant);
    cem.expect_silence(Duration::from_millis(300)).await;

    // Not in a room yet: refused.
    let mut stranger = relay.greeted().await;
    stranger.send(&ClientMessage::Signal { to: anna_id, signal: offer }).await;
    assert_eq!(error_code(&stranger.recv().await), ErrorCode::NotJoined);
    anna.expect_silence(Duration::from_millis(300)).await;
}

#[tokio::test]
async fn media_changes_reach_the_others() {
    let relay = TestRelay::start(|_| {}).await;
    let (mut anna, _, _) = relay.joined("m", "Anna").await;
    let (mut bruno, bruno_id, _) = relay.joined("m", "Bruno").await;
    assert!(matches!(anna.recv().await, ServerMessage::ParticipantJoined { .. }));
    let muted = MediaState { audio: false, video: true, screen: false };
    bruno.send(&ClientMessage::Media { media: muted }).await;
    match anna.recv().await {
        ServerMessage::ParticipantUpdated { participant } => {
            assert_eq!((participant.id, participant.media), (bruno_id, muted));
        }
        other => panic!("{other:?}"),
    }
    bruno.expect_silence(Duration::from_millis(200)).await;
}

#[tokio::test]
async fn graceful_shutdown_tells_every_client() {
    let relay = TestRelay::start(|_| {}).await;
    let (mut anna, _, _) = relay.joined("s", "Anna").await;
    let mut idle = relay.client().await;
    let stopping = tokio::spawn(relay.shutdown());
    assert_eq!(error_code(&anna.recv().await), ErrorCode::ShuttingDown);
    assert!(anna.next().await.is_none(), "closed after the goodbye");
    assert_eq!(error_code(&idle.recv().await), ErrorCode::ShuttingDown);
    stopping.await.unwrap().unwrap();
}

#[tokio::test]
async fn chat_is_shared_kept_for_late_joiners_and_limited() {
    let relay = TestRelay::start(|_| {}).await;
    let (mut anna, anna_id, _) = relay.joined("chat", "Anna").await;
    let (mut bruno, _, _) = relay.joined("chat", "Bruno").await;
    assert!(matches!(anna.recv().await, ServerMessage::ParticipantJoined { .. }));

    let hostile = "<img src=x onerror=alert(1)> https://example.org";
    anna.send(&ClientMessage::Chat { text: hostile.into() }).await;
    for client in [&mut anna, &mut bruno] {
        match client.recv().await {
            ServerMessage::Chat { message } => {
                assert_eq!(
                    (message.from, message.text.as_str()),
                    (anna_id, hostile),
                    "relayed verbatim"
                );
                assert!(message.sent_at_ms > 1_700_000_000_000);
            }
            other => panic!("{other:?}"),
        }
    }

    // Late joiners get the history in `welcome`.
    let mut cleo = relay.greeted().await;
    cleo.join("chat", "Cleo").await;
    match cleo.recv().await {
        ServerMessage::Welcome { chat, .. } => {
            assert_eq!(chat.iter().map(|m| m.text.as_str()).collect::<Vec<_>>(), [hostile])
        }
        other => panic!("{other:?}"),
    }

    assert!(matches!(bruno.recv().await, ServerMessage::ParticipantJoined { .. }));

    // Too long, and too fast.
    bruno.send(&ClientMessage::Chat { text: "x".repeat(protocol::MAX_CHAT_CHARS + 1) }).await;
    let reply = bruno.recv().await;
    assert_eq!(error_code(&reply), ErrorCode::InvalidChat);
    assert!(common::error_message(&reply).contains("2000 characters"));
    let mut limited = false;
    for n in 0..10 {
        bruno.send(&ClientMessage::Chat { text: format!("spam {n}") }).await;
    }
    for _ in 0..20 {
        match bruno.recv().await {
            ServerMessage::Error { code: ErrorCode::ChatRateLimited, .. } => {
                limited = true;
                break;
            }
            ServerMessage::Chat { .. } | ServerMessage::ParticipantJoined { .. } => {}
            other => panic!("{other:?}"),
        }
    }
    assert!(limited);
}

#[tokio::test]
async fn raised_hands_are_shared_in_order() {
    let relay = TestRelay::start(|_| {}).await;
    let (mut anna, _, _) = relay.joined("hand", "Anna").await;
    let (mut bruno, bruno_id, _) = relay.joined("hand", "Bruno").await;
    assert!(matches!(anna.recv().await, ServerMessage::ParticipantJoined { .. }));
    bruno.send(&ClientMessage::Hand { raised: true }).await;
    for client in [&mut anna, &mut bruno] {
        match client.recv().await {
            ServerMessage::ParticipantUpdated { participant } => {
                assert_eq!(participant.id, bruno_id);
                assert!(participant.hand.is_some());
            }
            other => panic!("{other:?}"),
        }
    }
}

#[tokio::test]
async fn a_connection_that_breaks_comes_back_as_the_same_participant() {
    let relay = TestRelay::start(|_| {}).await;
    let (mut anna, _, _) = relay.joined("rat", "Anna").await;
    let mut bruno = relay.greeted().await;
    bruno.join("rat", "Bruno").await;
    let (bruno_id, token) = match bruno.recv().await {
        ServerMessage::Welcome { you, resume_token, .. } => (you, resume_token.expect("a token")),
        other => panic!("{other:?}"),
    };
    assert!(matches!(anna.recv().await, ServerMessage::ParticipantJoined { .. }));

    // The app gives up on a silent connection: it closes saying it will be back.
    bruno.close_reconnecting().await;
    match anna.recv().await {
        ServerMessage::ParticipantUpdated { participant } => {
            assert_eq!(participant.id, bruno_id);
            assert!(participant.away, "shown as reconnecting, not gone");
        }
        other => panic!("{other:?}"),
    }

    // Back on a new connection with the token: the same participant.
    let mut again = relay.greeted().await;
    again.join_resuming("rat", "Bruno", Some(token.clone())).await;
    match again.recv().await {
        ServerMessage::Welcome { you, participants, resume_token, .. } => {
            assert_eq!(you, bruno_id);
            assert_eq!(participants.len(), 1);
            assert_ne!(resume_token, Some(token.clone()), "a fresh token each time");
        }
        other => panic!("{other:?}"),
    }
    match anna.recv().await {
        ServerMessage::ParticipantReconnected { participant, kept } => {
            assert!(!kept, "Bruno kept no connection to her");
            assert_eq!(participant.id, bruno_id);
            assert!(!participant.away);
        }
        other => panic!("{other:?}"),
    }

    // A used or made-up token joins afresh, as someone new.
    let mut other = relay.greeted().await;
    other.join_resuming("rat", "Cem", Some(token)).await;
    match other.recv().await {
        ServerMessage::Welcome { you, .. } => assert_ne!(you, bruno_id),
        other => panic!("{other:?}"),
    }
    relay.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_seat_nobody_comes_back_to_ends_after_the_grace_period() {
    let relay = TestRelay::start(|c| c.resume_grace_secs = 1).await;
    let (mut anna, _, _) = relay.joined("rat", "Anna").await;
    let (bruno, bruno_id, _) = relay.joined("rat", "Bruno").await;
    assert!(matches!(anna.recv().await, ServerMessage::ParticipantJoined { .. }));
    drop(bruno);
    assert!(
        matches!(anna.recv().await, ServerMessage::ParticipantUpdated { participant } if participant.away)
    );
    assert_eq!(anna.recv().await, ServerMessage::ParticipantLeft { id: bruno_id });
    relay.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_connection_dropped_without_a_closing_handshake_keeps_the_seat_too() {
    let relay = TestRelay::start(|_| {}).await;
    let (mut anna, _, _) = relay.joined("rat", "Anna").await;
    let (bruno, bruno_id, _) = relay.joined("rat", "Bruno").await;
    assert!(matches!(anna.recv().await, ServerMessage::ParticipantJoined { .. }));
    drop(bruno);
    match anna.recv().await {
        ServerMessage::ParticipantUpdated { participant } => {
            assert_eq!(participant.id, bruno_id);
            assert!(participant.away);
        }
        other => panic!("{other:?}"),
    }
    relay.shutdown().await.unwrap();
}
