//! Rooms pinned to server forwarding, over real sockets: mode, negotiation with the relay's
//! media engine, and refusals. (Media through the engine is covered by the browser tests.)

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use common::{OFFER, TestRelay, error_code};
use protocol::{ClientMessage, ErrorCode, RoomMode, ServerMessage, Signal};

#[tokio::test]
async fn pinned_rooms_negotiate_with_the_relay() {
    let relay = TestRelay::start(|c| c.sfu_rooms = vec!["klasse-*".into()]).await;
    let mut anna = relay.greeted().await;
    anna.join("Klasse-7b", "Anna").await;
    match anna.recv().await {
        ServerMessage::Welcome { mode, .. } => assert_eq!(mode, RoomMode::Sfu),
        other => panic!("{other:?}"),
    }
    anna.send(&ClientMessage::RelaySignal { signal: Signal::Offer { sdp: OFFER.into() } }).await;
    let answer = match anna.recv().await {
        ServerMessage::RelaySignal { signal: Signal::Answer { sdp } } => sdp,
        other => panic!("expected the relay's answer, got {other:?}"),
    };
    assert!(answer.contains("a=ice-lite"), "{answer}");
    assert!(answer.contains("a=setup:passive"), "the browser starts DTLS: {answer}");
    assert!(answer.contains("a=recvonly"), "the relay receives what Anna sends: {answer}");
    assert!(answer.contains("typ host"), "one host candidate, the media port: {answer}");
    assert!(answer.contains("a=ice-ufrag:tp"), "fragments name the participant: {answer}");

    // Signals for the relay make no sense in a mesh room.
    let (mut mesh, _, _) = relay.joined("demo", "Bruno").await;
    mesh.send(&ClientMessage::RelaySignal { signal: Signal::Offer { sdp: OFFER.into() } }).await;
    assert_eq!(error_code(&mesh.recv().await), ErrorCode::InvalidMessage);
    relay.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_broken_offer_hurts_no_one() {
    let relay = TestRelay::start(|c| c.sfu_rooms = vec!["rat".into()]).await;
    let (mut anna, _, _) = relay.joined("rat", "Anna").await;
    let (mut bruno, _, _) = relay.joined("rat", "Bruno").await;
    assert!(matches!(anna.recv().await, ServerMessage::ParticipantJoined { .. }));
    bruno
        .send(&ClientMessage::RelaySignal {
            signal: Signal::Offer { sdp: "v=0\r\nnot sdp".into() },
        })
        .await;
    bruno
        .send(&ClientMessage::RelaySignal { signal: Signal::Answer { sdp: "garbage".into() } })
        .await;
    assert!(bruno.is_alive().await);
    // Anna can still negotiate.
    anna.send(&ClientMessage::RelaySignal { signal: Signal::Offer { sdp: OFFER.into() } }).await;
    loop {
        match anna.recv().await {
            ServerMessage::RelaySignal { signal: Signal::Answer { .. } } => break,
            ServerMessage::ParticipantJoined { .. } => continue,
            other => panic!("{other:?}"),
        }
    }
}
