//! The waiting room, over real WebSockets: with the lobby on, newcomers learn nothing about the
//! room (no roster, no chat, no media) until a host lets them in, and only hosts decide.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::{Client, OFFER, TestRelay, error_code};
use protocol::{
    ClientMessage, ErrorCode, Moderation, ParticipantId, Role, ServerMessage, Signal, Waiter,
};
use relay::config::links::{Grant, LinkKeys};

const QUIET: Duration = Duration::from_millis(300);

fn waiting(list: &[(ParticipantId, &str)]) -> ServerMessage {
    ServerMessage::Lobby {
        waiting: list.iter().map(|(id, name)| Waiter { id: *id, name: (*name).into() }).collect(),
    }
}

/// A client that knocks at `room` as `name`; it is told to wait. Its id comes from the hosts'
/// `lobby`, the only place it appears.
async fn knock(relay: &TestRelay, room: &str, name: &str) -> Client {
    let mut client = relay.greeted().await;
    client.join(room, name).await;
    match client.recv().await {
        ServerMessage::Waiting { room: told, .. } => assert_eq!(told, room),
        other => panic!("{name} expected to wait, got {other:?}"),
    }
    client
}

/// The host turns the lobby on; `others` hear of it too.
async fn lobby_on(host: &mut Client, host_id: ParticipantId, others: &mut [&mut Client]) {
    host.send(&ClientMessage::Moderate { action: Moderation::Lobby { on: true } }).await;
    let told = ServerMessage::Moderated { action: Moderation::Lobby { on: true }, by: host_id };
    assert_eq!(host.recv().await, told);
    for other in others.iter_mut() {
        assert_eq!(other.recv().await, told);
    }
}

/// The id of the only person in a `lobby` message.
fn only_waiter(message: &ServerMessage) -> ParticipantId {
    match message {
        ServerMessage::Lobby { waiting } if waiting.len() == 1 => waiting[0].id,
        other => panic!("expected one person waiting, got {other:?}"),
    }
}

#[tokio::test]
async fn someone_waiting_learns_nothing_until_a_host_admits_them() {
    let relay = TestRelay::start(|_| {}).await;
    let (mut host, host_id, _) = relay.joined("klasse", "Lehrerin").await;
    let (mut ali, ali_id, _) = relay.joined("klasse", "Ali").await;
    let _ = host.recv().await; // Ali joined
    host.send(&ClientMessage::Chat { text: "Die Aufgaben stehen auf Seite 12".into() }).await;
    let _ = host.recv().await;
    let _ = ali.recv().await;
    lobby_on(&mut host, host_id, &mut [&mut ali]).await;

    let mut bea = knock(&relay, "klasse", "Bea").await;
    let bea_id = only_waiter(&host.recv().await);
    ali.expect_silence(QUIET).await; // participants do not see the lobby

    // While Bea waits, the room goes on without her knowing anything of it.
    host.send(&ClientMessage::Chat { text: "Noch fünf Minuten".into() }).await;
    let _ = host.recv().await;
    let _ = ali.recv().await;
    ali.send(&ClientMessage::Hand { raised: true }).await;
    let _ = host.recv().await;
    let _ = ali.recv().await;
    bea.expect_silence(QUIET).await;
    // And she can do nothing in it.
    for request in [
        ClientMessage::Chat { text: "hallo?".into() },
        ClientMessage::Signal { to: host_id, signal: Signal::Offer { sdp: "v=0".into() } },
        ClientMessage::Hand { raised: true },
        ClientMessage::Moderate { action: Moderation::Admit { id: bea_id } },
    ] {
        bea.send(&request).await;
        assert_eq!(error_code(&bea.recv().await), ErrorCode::NotJoined, "{request:?}");
    }
    host.expect_silence(QUIET).await;

    // Admitted, she gets the roster and the chat like anyone joining, under the same id.
    host.send(&ClientMessage::Moderate { action: Moderation::Admit { id: bea_id } }).await;
    let ServerMessage::Welcome { you, participants, chat, role, .. } = bea.recv().await else {
        panic!("no welcome")
    };
    assert_eq!((you, role), (bea_id, Role::Participant));
    let names: Vec<_> = participants.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["Lehrerin", "Ali"]);
    assert_eq!(chat.len(), 2);
    let ServerMessage::ParticipantJoined { participant } = ali.recv().await else {
        panic!("Ali is not told")
    };
    assert_eq!(participant.id, bea_id);
    let ServerMessage::ParticipantJoined { participant } = host.recv().await else {
        panic!("the host is not told")
    };
    assert_eq!(participant.id, bea_id);
    assert_eq!(host.recv().await, waiting(&[]), "the lobby is empty again");
    let _ = ali_id;
    relay.shutdown().await.unwrap();
}

#[tokio::test]
async fn only_hosts_admit_or_deny_and_a_denied_knock_ends() {
    let relay = TestRelay::start(|_| {}).await;
    let (mut host, host_id, _) = relay.joined("rat", "Vorsitz").await;
    let (mut ali, _, _) = relay.joined("rat", "Ali").await;
    let _ = host.recv().await;
    lobby_on(&mut host, host_id, &mut [&mut ali]).await;
    let mut cem = knock(&relay, "rat", "Cem").await;
    let cem_id = only_waiter(&host.recv().await);
    let mut dana = knock(&relay, "rat", "Dana").await;
    let ServerMessage::Lobby { waiting: list } = host.recv().await else { panic!("no lobby") };
    let names: Vec<_> = list.iter().map(|w| w.name.as_str()).collect();
    assert_eq!(names, ["Cem", "Dana"], "in the order they knocked");
    let dana_id = list[1].id;

    for action in [
        Moderation::Admit { id: cem_id },
        Moderation::AdmitAll,
        Moderation::Deny { id: cem_id },
        Moderation::Lobby { on: false },
    ] {
        ali.send(&ClientMessage::Moderate { action: action.clone() }).await;
        assert_eq!(error_code(&ali.recv().await), ErrorCode::Forbidden, "{action:?}");
    }
    cem.expect_silence(QUIET).await;
    host.expect_silence(QUIET).await;

    host.send(&ClientMessage::Moderate { action: Moderation::Deny { id: cem_id } }).await;
    assert_eq!(
        cem.recv().await,
        ServerMessage::Moderated { action: Moderation::Deny { id: cem_id }, by: host_id }
    );
    assert!(cem.next().await.is_none(), "a denied knock's connection closes");
    assert_eq!(host.recv().await, waiting(&[(dana_id, "Dana")]));
    ali.expect_silence(QUIET).await;

    // Admitting someone who is not waiting is an error, and changes nothing.
    host.send(&ClientMessage::Moderate { action: Moderation::Admit { id: cem_id } }).await;
    assert_eq!(error_code(&host.recv().await), ErrorCode::UnknownParticipant);

    // Turning the lobby off lets everyone waiting in.
    host.send(&ClientMessage::Moderate { action: Moderation::Lobby { on: false } }).await;
    let off = ServerMessage::Moderated { action: Moderation::Lobby { on: false }, by: host_id };
    assert_eq!(ali.recv().await, off);
    let ServerMessage::Welcome { you, lobby, .. } = dana.recv().await else { panic!("no welcome") };
    assert_eq!((you, lobby), (dana_id, false));
    relay.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_lobby_link_keeps_pupils_waiting_until_the_teacher_comes_and_admits_them() {
    const SECRET: &str = "the school's link secret, 32 chr";
    let keys = LinkKeys::new(SECRET.as_bytes(), None);
    let expires = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() + 600;
    let link = |role, lobby| keys.sign(&Grant { room: "klasse-7b".into(), role, expires, lobby });
    let relay = TestRelay::start(|c| c.link_secret = Some(SECRET.into())).await;

    // The pupils are early; their links say the lobby is on.
    let mut pupils = vec![];
    for name in ["Ali", "Bea"] {
        let mut pupil = relay.greeted().await;
        pupil.join_with_link("klasse-7b", name, Some(&link(Role::Participant, true))).await;
        assert!(matches!(pupil.recv().await, ServerMessage::Waiting { .. }), "{name} waits");
        pupils.push(pupil);
    }
    // A listener link with the lobby off still waits: the room's lobby is on.
    let mut zuhoerer = relay.greeted().await;
    zuhoerer.join_with_link("klasse-7b", "Gast", Some(&link(Role::Listener, false))).await;
    assert!(matches!(zuhoerer.recv().await, ServerMessage::Waiting { .. }));

    // The teacher comes in directly and sees who waits.
    let mut teacher = relay.greeted().await;
    teacher.join_with_link("klasse-7b", "Frau Berg", Some(&link(Role::Host, false))).await;
    let ServerMessage::Welcome { participants, lobby, role, .. } = teacher.recv().await else {
        panic!("no welcome")
    };
    assert_eq!((participants.len(), lobby, role), (0, true, Role::Host));
    let ServerMessage::Lobby { waiting: list } = teacher.recv().await else { panic!("no lobby") };
    let names: Vec<_> = list.iter().map(|w| w.name.as_str()).collect();
    assert_eq!(names, ["Ali", "Bea", "Gast"]);

    teacher.send(&ClientMessage::Moderate { action: Moderation::AdmitAll }).await;
    for pupil in &mut pupils {
        let ServerMessage::Welcome { role, .. } = pupil.recv().await else { panic!("no welcome") };
        assert_eq!(role, Role::Participant);
    }
    let ServerMessage::Welcome { role, .. } = zuhoerer.recv().await else { panic!("no welcome") };
    assert_eq!(role, Role::Listener);
    relay.shutdown().await.unwrap();
}

#[tokio::test]
async fn the_lobby_is_bounded_and_forgets_whoever_goes_away() {
    let relay = TestRelay::start(|c| c.room_capacity = 3).await;
    let (mut host, host_id, _) = relay.joined("kurs", "Leitung").await;
    let (mut ali, _, _) = relay.joined("kurs", "Ali").await;
    let _ = host.recv().await;
    lobby_on(&mut host, host_id, &mut [&mut ali]).await;
    let mut knocking = vec![];
    for (i, name) in ["A", "B", "C"].iter().enumerate() {
        knocking.push(knock(&relay, "kurs", name).await);
        let ServerMessage::Lobby { waiting } = host.recv().await else { panic!("no lobby") };
        assert_eq!(waiting.len(), i + 1);
    }
    // As many wait as the room holds; the next knock is refused.
    let mut one_more = relay.greeted().await;
    one_more.join("kurs", "D").await;
    assert_eq!(error_code(&one_more.recv().await), ErrorCode::RoomFull);

    // Someone whose connection breaks leaves the lobby at once (no seat is kept for them).
    knocking.remove(0).close_reconnecting().await;
    let ServerMessage::Lobby { waiting } = host.recv().await else { panic!("no lobby") };
    let names: Vec<_> = waiting.iter().map(|w| w.name.as_str()).collect();
    assert_eq!(names, ["B", "C"]);

    // Admitting all fills the room to capacity; whoever does not fit keeps waiting.
    host.send(&ClientMessage::Moderate { action: Moderation::AdmitAll }).await;
    let ServerMessage::Welcome { .. } = knocking[0].recv().await else { panic!("B not let in") };
    let ServerMessage::ParticipantJoined { .. } = host.recv().await else { panic!("no join") };
    let ServerMessage::Lobby { waiting } = host.recv().await else { panic!("no lobby") };
    let names: Vec<_> = waiting.iter().map(|w| w.name.as_str()).collect();
    assert_eq!(names, ["C"], "C still waits");
    knocking[1].expect_silence(QUIET).await;
    // Admitting C now is refused as full, and C keeps waiting.
    let c_id = waiting[0].id;
    host.send(&ClientMessage::Moderate { action: Moderation::Admit { id: c_id } }).await;
    assert_eq!(error_code(&host.recv().await), ErrorCode::RoomFull);
    assert!(knocking[1].is_alive().await);
    relay.shutdown().await.unwrap();
}

#[tokio::test]
async fn in_a_relay_forwarded_room_someone_waiting_gets_no_media_connection() {
    let relay = TestRelay::start(|c| c.sfu_rooms = vec!["klasse-*".into()]).await;
    let (mut host, host_id, _) = relay.joined("klasse-9", "Lehrer").await;
    lobby_on(&mut host, host_id, &mut []).await;
    let mut bea = knock(&relay, "klasse-9", "Bea").await;
    let bea_id = only_waiter(&host.recv().await);
    let offer = ClientMessage::RelaySignal { signal: Signal::Offer { sdp: OFFER.into() } };
    bea.send(&offer).await;
    assert_eq!(error_code(&bea.recv().await), ErrorCode::InvalidMessage, "no media while waiting");

    host.send(&ClientMessage::Moderate { action: Moderation::Admit { id: bea_id } }).await;
    let ServerMessage::Welcome { mode, .. } = bea.recv().await else { panic!("no welcome") };
    assert_eq!(mode, protocol::RoomMode::Sfu);
    bea.send(&offer).await;
    assert!(
        matches!(bea.recv().await, ServerMessage::RelaySignal { signal: Signal::Answer { .. } }),
        "admitted, the relay answers her offer"
    );
    relay.shutdown().await.unwrap();
}
