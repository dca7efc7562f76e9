//! Listeners over real WebSockets: a listener link joins with nothing on, hears and sees the
//! room, chats only when a host allows it, and only hosts see who listens (everyone sees how
//! many).

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::{Client, TestRelay, error_code};
use protocol::{ClientMessage, ErrorCode, MediaState, Moderation, Role, RoomMode, ServerMessage};
use relay::config::links::{Grant, LinkKeys};

const SECRET: &str = "the council's link secret, 32 ch";
const QUIET: Duration = Duration::from_millis(300);

fn link(role: Role) -> String {
    let expires = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() + 600;
    LinkKeys::new(SECRET.as_bytes(), None).sign(&Grant {
        room: "rat".into(),
        role,
        expires,
        lobby: false,
    })
}

async fn enter(relay: &TestRelay, name: &str, role: Role) -> (Client, ServerMessage) {
    let mut client = relay.greeted().await;
    client
        .send(&ClientMessage::Join {
            request_id: None,
            room: "rat".into(),
            name: name.into(),
            media: MediaState { audio: true, video: true, screen: false },
            resume: None,
            link: Some(link(role)),
            device: None,
            password: None,
            kept: vec![],
            kept_relay: false,
        })
        .await;
    let welcome = client.recv().await;
    assert!(matches!(welcome, ServerMessage::Welcome { .. }), "{name}: {welcome:?}");
    (client, welcome)
}

#[tokio::test]
async fn only_hosts_see_who_listens_and_listeners_send_nothing() {
    let relay = TestRelay::start(|c| c.link_secret = Some(SECRET.into())).await;
    let (mut chair, _) = enter(&relay, "Vorsitz", Role::Host).await;
    let (mut ali, _) = enter(&relay, "Ali", Role::Participant).await;
    let _ = chair.recv().await; // Ali joined

    let (mut lea, welcome) = enter(&relay, "Lea", Role::Listener).await;
    let ServerMessage::Welcome { role, mode, participants, .. } = welcome else { unreachable!() };
    assert_eq!((role, mode), (Role::Listener, RoomMode::Sfu), "a room with listeners forwards");
    let names: Vec<_> = participants.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["Vorsitz", "Ali"], "a listener sees who speaks");

    // Both move to server forwarding first. The chair learns who joined, with nothing on; Ali
    // only that one more listens.
    for client in [&mut chair, &mut ali] {
        assert_eq!(client.recv().await, ServerMessage::ModeChanged { mode: RoomMode::Sfu });
    }
    let ServerMessage::ParticipantJoined { participant } = chair.recv().await else {
        panic!("the chair is not told")
    };
    assert_eq!((participant.name.as_str(), participant.role), ("Lea", Role::Listener));
    assert_eq!(participant.media, MediaState::OFF, "a listener joins with nothing on");
    let lea_id = participant.id;
    for client in [&mut chair, &mut ali] {
        assert_eq!(client.recv().await, ServerMessage::Audience { listeners: 1 });
    }
    assert_eq!(lea.recv().await, ServerMessage::Audience { listeners: 1 });
    ali.expect_silence(QUIET).await;

    // A listener cannot turn anything on, nor chat until allowed.
    lea.send(&ClientMessage::Media { media: MediaState { audio: true, ..MediaState::OFF } }).await;
    assert_eq!(error_code(&lea.recv().await), ErrorCode::Forbidden);
    lea.send(&ClientMessage::Chat { text: "Frage zu TOP 3".into() }).await;
    assert_eq!(error_code(&lea.recv().await), ErrorCode::Forbidden);
    chair
        .send(&ClientMessage::Moderate { action: Moderation::ListenerChat { allowed: true } })
        .await;
    for client in [&mut chair, &mut ali, &mut lea] {
        assert!(matches!(client.recv().await, ServerMessage::Moderated { .. }));
    }
    lea.send(&ClientMessage::Chat { text: "Frage zu TOP 3".into() }).await;
    for client in [&mut chair, &mut ali, &mut lea] {
        assert!(matches!(client.recv().await, ServerMessage::Chat { .. }));
    }

    // Someone joining later sees the count, not the listener.
    let (_bea, welcome) = enter(&relay, "Bea", Role::Participant).await;
    let ServerMessage::Welcome { participants, listeners, .. } = welcome else { unreachable!() };
    assert_eq!(listeners, 1);
    assert!(participants.iter().all(|p| p.role != Role::Listener));
    // Everyone sees who holds the room's host link (hosting cannot be taken from them).
    let holders: Vec<_> =
        participants.iter().filter(|p| p.host_link).map(|p| p.name.as_str()).collect();
    assert_eq!(holders, ["Vorsitz"]);
    let _ = (chair.recv().await, ali.recv().await, lea.recv().await); // Bea joined

    // A listener cannot be made host; a participant made host learns who listens.
    chair.send(&ClientMessage::Moderate { action: Moderation::MakeHost { id: lea_id } }).await;
    assert_eq!(error_code(&chair.recv().await), ErrorCode::Forbidden);
    let ali_id = match &participants[..] {
        [_, ali, ..] => ali.id,
        other => panic!("{other:?}"),
    };
    chair.send(&ClientMessage::Moderate { action: Moderation::MakeHost { id: ali_id } }).await;
    let mut ali_learns = false;
    while let Ok(Some(message)) = tokio::time::timeout(QUIET, ali.next()).await {
        if let ServerMessage::ParticipantJoined { participant } = message {
            ali_learns |= participant.id == lea_id;
        }
    }
    assert!(ali_learns, "the new host learns who listens");

    // Hosting taken back: Ali stays, as a participant again, and forgets who listens.
    chair.send(&ClientMessage::Moderate { action: Moderation::RevokeHost { id: ali_id } }).await;
    let (mut ali_forgets, mut ali_demoted) = (false, false);
    while let Ok(Some(message)) = tokio::time::timeout(QUIET, ali.next()).await {
        match message {
            ServerMessage::ParticipantLeft { id } => ali_forgets |= id == lea_id,
            ServerMessage::ParticipantUpdated { participant } => {
                ali_demoted |= participant.id == ali_id && participant.role == Role::Participant;
            }
            _ => {}
        }
    }
    assert!(ali_demoted && ali_forgets, "a former host no longer sees who listens");

    lea.close().await;
    let mut count = None;
    while let Ok(Some(message)) = tokio::time::timeout(QUIET, chair.next()).await {
        if let ServerMessage::Audience { listeners } = message {
            count = Some(listeners);
        }
    }
    assert_eq!(count, Some(0));
    relay.shutdown().await.unwrap();
}
