//! Hosts moderate, over real WebSockets: only hosts may, and what they do reaches everyone.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::time::Duration;

use common::{TestRelay, error_code};
use protocol::{ClientMessage, ErrorCode, Moderation, Role, RoomMode, ServerMessage};

#[tokio::test]
async fn participants_cannot_moderate_and_nothing_changes() {
    let relay = TestRelay::start(|_| {}).await;
    let (mut host, host_id, _) = relay.joined("klasse", "Lehrerin").await;
    let (mut pupil, pupil_id, _) = relay.joined("klasse", "Ali").await;
    let _ = host.recv().await; // Ali joined
    for action in [
        Moderation::Mute { id: host_id },
        Moderation::Remove { id: host_id },
        Moderation::MakeHost { id: pupil_id },
        Moderation::LowerHand { id: host_id },
        Moderation::MuteAll,
        Moderation::LowerAllHands,
        Moderation::Lock { locked: true },
        Moderation::Lobby { on: true },
        Moderation::CamerasToHosts { on: true },
        Moderation::LockMicrophone { id: host_id, locked: true },
        Moderation::CameraOff { id: host_id },
        Moderation::StopScreen { id: host_id },
        Moderation::ListenerChat { allowed: true },
        Moderation::SetPassword { password: Some("geheim".into()) },
        Moderation::AdmitAll,
        Moderation::EndMeeting,
    ] {
        pupil.send(&ClientMessage::Moderate { action: action.clone() }).await;
        assert_eq!(error_code(&pupil.recv().await), ErrorCode::Forbidden, "{action:?}");
    }
    host.expect_silence(Duration::from_millis(300)).await;
    assert!(host.is_alive().await && pupil.is_alive().await);
    relay.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_host_mutes_makes_hosts_and_removes() {
    let relay = TestRelay::start(|_| {}).await;
    let (mut host, host_id, _) = relay.joined("klasse", "Lehrerin").await;
    let (mut ali, ali_id, _) = relay.joined("klasse", "Ali").await;
    let _ = host.recv().await;
    let (mut bea, bea_id, _) = relay.joined("klasse", "Bea").await;
    let _ = host.recv().await;
    let _ = ali.recv().await;

    host.send(&ClientMessage::Moderate { action: Moderation::Mute { id: ali_id } }).await;
    assert_eq!(
        ali.recv().await,
        ServerMessage::Moderated { action: Moderation::Mute { id: ali_id }, by: host_id }
    );
    for client in [&mut host, &mut ali, &mut bea] {
        let ServerMessage::ParticipantUpdated { participant } = client.recv().await else {
            panic!("no update")
        };
        assert_eq!((participant.id, participant.media.audio), (ali_id, false));
    }

    host.send(&ClientMessage::Moderate { action: Moderation::MakeHost { id: bea_id } }).await;
    for client in [&mut host, &mut ali, &mut bea] {
        let ServerMessage::ParticipantUpdated { participant } = client.recv().await else {
            panic!("no update")
        };
        assert_eq!((participant.id, participant.role), (bea_id, Role::Host));
    }

    // The new co-host removes Ali: he is told, his connection ends, the others see him leave.
    bea.send(&ClientMessage::Moderate { action: Moderation::Remove { id: ali_id } }).await;
    assert_eq!(
        ali.recv().await,
        ServerMessage::Moderated { action: Moderation::Remove { id: ali_id }, by: bea_id }
    );
    assert!(ali.next().await.is_none(), "the removed connection closes");
    for client in [&mut host, &mut bea] {
        assert_eq!(client.recv().await, ServerMessage::ParticipantLeft { id: ali_id });
    }
    relay.shutdown().await.unwrap();
}

#[tokio::test]
async fn ending_the_meeting_sends_everyone_home() {
    let relay = TestRelay::start(|_| {}).await;
    let (mut host, host_id, _) = relay.joined("rat", "Vorsitz").await;
    let (mut guest, _, _) = relay.joined("rat", "Gast").await;
    let _ = host.recv().await;
    host.send(&ClientMessage::Moderate { action: Moderation::EndMeeting }).await;
    for client in [&mut host, &mut guest] {
        assert_eq!(
            client.recv().await,
            ServerMessage::Moderated { action: Moderation::EndMeeting, by: host_id }
        );
        assert!(client.next().await.is_none(), "the connection closes");
    }
    relay.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_removed_browser_stays_out_of_that_meeting_and_only_that_one() {
    const ALIS_BROWSER: &str = "ali-browser-7f3k2m9q";
    let relay = TestRelay::start(|_| {}).await;
    let (mut host, _, _) = relay.joined("klasse", "Lehrerin").await;
    let mut ali = relay.greeted().await;
    ali.join_from_device("klasse", "Ali", ALIS_BROWSER).await;
    let ServerMessage::Welcome { you: ali_id, .. } = ali.recv().await else { panic!("no welcome") };
    let _ = host.recv().await;
    host.send(&ClientMessage::Moderate { action: Moderation::Remove { id: ali_id } }).await;
    let _ = ali.recv().await;
    // Closed as an ordinary end, not as a client that broke a rule or fell behind.
    assert_eq!(ali.close_code().await, Some(1000));
    assert_eq!(host.recv().await, ServerMessage::ParticipantLeft { id: ali_id });

    // Ali reloads the page, under another name too: refused, and the room hears nothing.
    for name in ["Ali", "Alina"] {
        let mut again = relay.greeted().await;
        again.join_from_device("klasse", name, ALIS_BROWSER).await;
        assert_eq!(error_code(&again.recv().await), ErrorCode::Removed, "{name}");
    }
    host.expect_silence(Duration::from_millis(300)).await;

    // Another pupil's browser comes in; Ali's browser may still join other rooms.
    let mut bea = relay.greeted().await;
    bea.join_from_device("klasse", "Bea", "bea-browser-2k9d8s7a").await;
    assert!(matches!(bea.recv().await, ServerMessage::Welcome { .. }));
    let mut elsewhere = relay.greeted().await;
    elsewhere.join_from_device("sport", "Ali", ALIS_BROWSER).await;
    assert!(matches!(elsewhere.recv().await, ServerMessage::Welcome { .. }));
    relay.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_host_mutes_everyone_lowers_all_hands_and_locks_the_room() {
    let relay = TestRelay::start(|_| {}).await;
    let (mut host, host_id, _) = relay.joined("klasse", "Lehrerin").await;
    let mut pupils = Vec::new();
    for name in ["Ali", "Bea"] {
        let mut pupil = relay.greeted().await;
        pupil
            .send(&ClientMessage::Join {
                request_id: None,
                room: "klasse".into(),
                name: name.into(),
                media: protocol::MediaState { audio: true, video: false, screen: false },
                resume: None,
                link: None,
                device: None,
                password: None,
                kept: vec![],
                kept_relay: false,
            })
            .await;
        let ServerMessage::Welcome { you, .. } = pupil.recv().await else { panic!("no welcome") };
        pupils.push((pupil, you));
    }
    let _ = host.recv().await;
    let _ = host.recv().await;
    let _ = pupils[0].0.recv().await; // Bea joined
    pupils[1].0.send(&ClientMessage::Hand { raised: true }).await;
    let _ = host.recv().await; // Bea's hand
    for (pupil, _) in &mut pupils {
        let _ = pupil.recv().await;
    }

    host.send(&ClientMessage::Moderate { action: Moderation::MuteAll }).await;
    for (pupil, id) in &mut pupils {
        assert_eq!(
            pupil.recv().await,
            ServerMessage::Moderated { action: Moderation::Mute { id: *id }, by: host_id }
        );
    }
    let mut muted = Vec::new();
    for _ in 0..2 {
        let ServerMessage::ParticipantUpdated { participant } = host.recv().await else {
            panic!("no update")
        };
        assert!(!participant.media.audio);
        muted.push(participant.id);
    }
    assert_eq!(muted, [pupils[0].1, pupils[1].1], "both pupils, not the host");

    host.send(&ClientMessage::Moderate { action: Moderation::LowerAllHands }).await;
    let ServerMessage::ParticipantUpdated { participant } = host.recv().await else {
        panic!("no update")
    };
    assert_eq!((participant.id, participant.hand), (pupils[1].1, None));

    // Locked: a newcomer is refused and learns nothing; the room hears nothing of it.
    let lock = Moderation::Lock { locked: true };
    host.send(&ClientMessage::Moderate { action: lock.clone() }).await;
    assert_eq!(host.recv().await, ServerMessage::Moderated { action: lock, by: host_id });
    let mut late = relay.greeted().await;
    late.join("klasse", "Spät").await;
    assert_eq!(error_code(&late.recv().await), ErrorCode::RoomLocked);
    host.expect_silence(Duration::from_millis(300)).await;

    // A pupil cannot unlock it (the messages before the refusal are the ones above); the host
    // can, and the newcomer gets in.
    let unlock = Moderation::Lock { locked: false };
    let ali = &mut pupils[0].0;
    ali.send(&ClientMessage::Moderate { action: unlock.clone() }).await;
    let refusal = loop {
        match ali.recv().await {
            ServerMessage::Error { code, .. } => break code,
            ServerMessage::Moderated { action, .. } => {
                assert_eq!(action, Moderation::Lock { locked: true }, "the lock, told to all");
            }
            _ => {}
        }
    };
    assert_eq!(refusal, ErrorCode::Forbidden);
    host.send(&ClientMessage::Moderate { action: unlock.clone() }).await;
    assert_eq!(host.recv().await, ServerMessage::Moderated { action: unlock, by: host_id });
    let mut late = relay.greeted().await;
    late.join("klasse", "Spät").await;
    let ServerMessage::Welcome { locked, .. } = late.recv().await else { panic!("no welcome") };
    assert!(!locked);
    relay.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_host_turns_off_a_camera_and_stops_a_screen_share() {
    let relay = TestRelay::start(|_| {}).await;
    let (mut host, host_id, _) = relay.joined("rat", "Vorsitz").await;
    let (mut ali, ali_id, _) = relay.joined("rat", "Ali").await;
    let _ = host.recv().await;
    let on = protocol::MediaState { audio: true, video: true, screen: true };
    ali.send(&ClientMessage::Media { media: on }).await;
    let _ = host.recv().await;
    for (action, expected) in [
        (Moderation::CameraOff { id: ali_id }, protocol::MediaState { video: false, ..on }),
        (
            Moderation::StopScreen { id: ali_id },
            protocol::MediaState { video: false, screen: false, ..on },
        ),
    ] {
        host.send(&ClientMessage::Moderate { action: action.clone() }).await;
        assert_eq!(ali.recv().await, ServerMessage::Moderated { action, by: host_id });
        let ServerMessage::ParticipantUpdated { participant } = host.recv().await else {
            panic!("no update")
        };
        assert_eq!((participant.id, participant.media), (ali_id, expected));
        let _ = ali.recv().await; // the same update
    }
    relay.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_locked_microphone_stays_off_until_a_host_allows_it_and_moves_the_room_to_the_relay() {
    let relay = TestRelay::start(|_| {}).await;
    let (mut host, host_id, _) = relay.joined("klasse", "Lehrerin").await;
    let (mut ali, ali_id, _) = relay.joined("klasse", "Ali").await;
    let _ = host.recv().await;
    let on = protocol::MediaState { audio: true, video: false, screen: false };

    let lock = Moderation::LockMicrophone { id: ali_id, locked: true };
    host.send(&ClientMessage::Moderate { action: lock.clone() }).await;
    assert_eq!(ali.recv().await, ServerMessage::Moderated { action: lock, by: host_id });
    for client in [&mut host, &mut ali] {
        let ServerMessage::ParticipantUpdated { participant } = client.recv().await else {
            panic!("no update")
        };
        assert_eq!(
            (participant.id, participant.mic_locked, participant.media.audio),
            (ali_id, true, false)
        );
        // The relay enforces it by forwarding media itself, so the mesh ends.
        assert_eq!(client.recv().await, ServerMessage::ModeChanged { mode: RoomMode::Sfu });
    }

    ali.send(&ClientMessage::Media { media: on }).await;
    assert_eq!(error_code(&ali.recv().await), ErrorCode::MicrophoneLocked);
    host.expect_silence(Duration::from_millis(300)).await;

    let allow = Moderation::LockMicrophone { id: ali_id, locked: false };
    host.send(&ClientMessage::Moderate { action: allow.clone() }).await;
    assert_eq!(ali.recv().await, ServerMessage::Moderated { action: allow, by: host_id });
    let _ = ali.recv().await;
    let ServerMessage::ParticipantUpdated { participant } = host.recv().await else {
        panic!("no update")
    };
    assert_eq!((participant.mic_locked, participant.media.audio), (false, false), "still off");
    ali.send(&ClientMessage::Media { media: on }).await;
    let ServerMessage::ParticipantUpdated { participant } = host.recv().await else {
        panic!("no update")
    };
    assert!(participant.media.audio, "Ali may turn it on himself now");
    relay.shutdown().await.unwrap();
}

#[tokio::test]
async fn cameras_to_the_hosts_only_moves_a_class_to_server_forwarding() {
    let relay = TestRelay::start(|_| {}).await;
    let (mut host, host_id, _) = relay.joined("klasse", "Lehrerin").await;
    let (mut ali, _, _) = relay.joined("klasse", "Ali").await;
    let _ = host.recv().await;
    host.send(&ClientMessage::Moderate { action: Moderation::CamerasToHosts { on: true } }).await;
    let told =
        ServerMessage::Moderated { action: Moderation::CamerasToHosts { on: true }, by: host_id };
    for client in [&mut host, &mut ali] {
        assert_eq!(client.recv().await, told);
        assert_eq!(client.recv().await, ServerMessage::ModeChanged { mode: RoomMode::Sfu });
    }
    // Whoever comes later learns it in the welcome.
    let mut bea = relay.greeted().await;
    bea.join("klasse", "Bea").await;
    let ServerMessage::Welcome { cameras_to_hosts, mode, .. } = bea.recv().await else {
        panic!("no welcome")
    };
    assert_eq!((cameras_to_hosts, mode), (true, RoomMode::Sfu));
    relay.shutdown().await.unwrap();
}
