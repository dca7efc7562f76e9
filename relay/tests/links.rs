//! Invitation links over real WebSockets: with a link secret, a room opens only for a signed
//! link, which decides the role; without one, whoever opens a room hosts it.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::{TestRelay, error_code};
use protocol::{ErrorCode, Role, ServerMessage};
use relay::config::links::{Grant, LinkKeys};

const SECRET: &str = "the town's link secret, 32 chars";

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

fn link(secret: &str, room: &str, role: Role, valid_for: i64) -> String {
    let expires = (now() as i64 + valid_for) as u64;
    LinkKeys::new(secret.as_bytes(), None).sign(&Grant {
        room: room.into(),
        role,
        expires,
        lobby: false,
    })
}

async fn relay_with_secret() -> TestRelay {
    TestRelay::start(|c| c.link_secret = Some(SECRET.into())).await
}

async fn rooms_open(relay: &TestRelay) -> u64 {
    let body = reqwest_status(relay).await;
    body["rooms"].as_u64().unwrap()
}

/// `/api/status` as JSON, over a plain TCP request (no HTTP client crate needed).
async fn reqwest_status(relay: &TestRelay) -> serde_json::Value {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(relay.addr).await.unwrap();
    stream
        .write_all(b"GET /api/status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let body = response.split("\r\n\r\n").nth(1).unwrap();
    serde_json::from_str(body).unwrap()
}

#[tokio::test]
async fn a_signed_link_opens_its_room_with_its_role() {
    let relay = relay_with_secret().await;
    let mut teacher = relay.greeted().await;
    teacher
        .join_with_link("klasse-7b", "Frau Berg", Some(&link(SECRET, "klasse-7b", Role::Host, 600)))
        .await;
    let ServerMessage::Welcome { role, .. } = teacher.recv().await else { panic!("no welcome") };
    assert_eq!(role, Role::Host);
    let mut pupil = relay.greeted().await;
    pupil
        .join_with_link(
            "klasse-7b",
            "Ali",
            Some(&link(SECRET, "klasse-7b", Role::Participant, 600)),
        )
        .await;
    let ServerMessage::Welcome { role, participants, .. } = pupil.recv().await else {
        panic!("no welcome")
    };
    assert_eq!(role, Role::Participant);
    assert_eq!(participants[0].role, Role::Host, "the pupil sees who hosts");
    relay.shutdown().await.unwrap();
}

#[tokio::test]
async fn joins_without_a_good_link_learn_nothing_and_open_no_room() {
    let relay = relay_with_secret().await;
    // Someone is in the room, with chat: a refused joiner must not learn of them.
    let mut teacher = relay.greeted().await;
    teacher
        .join_with_link("klasse-7b", "Frau Berg", Some(&link(SECRET, "klasse-7b", Role::Host, 600)))
        .await;
    assert!(matches!(teacher.recv().await, ServerMessage::Welcome { .. }));
    let refused = [
        ("no link", None),
        ("a forged link", Some(link("another secret entirely!!", "klasse-7b", Role::Host, 600))),
        ("an expired link", Some(link(SECRET, "klasse-7b", Role::Participant, -1))),
        ("another room's link", Some(link(SECRET, "klasse-7c", Role::Participant, 600))),
        ("garbage", Some("v1.e30.AAAA".to_owned())),
    ];
    for (what, token) in refused {
        for room in ["klasse-7b", "neu"] {
            let mut guest = relay.greeted().await;
            guest.join_with_link(room, "Gast", token.as_deref()).await;
            let answer = guest.recv().await;
            assert_eq!(
                error_code(&answer),
                ErrorCode::LinkRefused,
                "{what} for {room}: {answer:?}"
            );
        }
    }
    assert_eq!(rooms_open(&relay).await, 1, "no room was opened for a refused join");
    teacher.expect_silence(Duration::from_millis(300)).await;
    relay.shutdown().await.unwrap();
}

#[tokio::test]
async fn without_a_link_secret_whoever_opens_a_room_hosts_it() {
    let relay = TestRelay::start(|_| {}).await;
    let mut anna = relay.greeted().await;
    anna.join("offen", "Anna").await;
    let ServerMessage::Welcome { role, .. } = anna.recv().await else { panic!("no welcome") };
    assert_eq!(role, Role::Host);
    let mut bruno = relay.greeted().await;
    bruno.join("offen", "Bruno").await;
    let ServerMessage::Welcome { role, .. } = bruno.recv().await else { panic!("no welcome") };
    assert_eq!(role, Role::Participant);
    relay.shutdown().await.unwrap();
}

/// `POST path` with `authorization` and `body`: the status and the JSON answer.
async fn http_post(
    relay: &TestRelay,
    path: &str,
    authorization: Option<&str>,
    body: &str,
) -> (u16, serde_json::Value) {
    let mut headers = vec![("host", "x"), ("content-type", "application/json")];
    headers.extend(authorization.map(|a| ("authorization", a)));
    let (status, body) = common::http_request(relay.addr, "POST", path, &headers, body).await;
    (status, serde_json::from_str(&body).unwrap_or(serde_json::Value::Null))
}

#[tokio::test]
async fn an_lms_with_the_operator_key_gets_links_over_http() {
    const KEY: &str = "an operator key of 32 characters";
    let relay = TestRelay::start(|c| {
        c.link_secret = Some(SECRET.into());
        c.operator_key = Some(KEY.into());
        c.public_url = Some("https://meet.example.org/".into());
    })
    .await;
    let bearer = format!("Bearer {KEY}");
    let ask = r#"{"room": "Klasse-7b", "role": "listener", "valid": "2h"}"#;

    for wrong in [None, Some("Bearer not the key"), Some(KEY)] {
        let (status, _) = http_post(&relay, "/api/invite", wrong, ask).await;
        assert_eq!(status, 401, "{wrong:?}");
    }
    for (bad, why) in [
        (r#"{"room": "klasse 7b!"}"#, "room name"),
        (r#"{"room": "k", "role": "admin"}"#, "role"),
        (r#"{"room": "k", "valid": "forever"}"#, "validity"),
        (r#"{"room": "k", "extra": 1}"#, "unknown field"),
        ("not json", "json"),
    ] {
        let (status, answer) = http_post(&relay, "/api/invite", Some(&bearer), bad).await;
        assert_eq!(status, 400, "{why}: {answer}");
        assert!(answer["error"].is_string(), "{why}");
    }
    let huge = format!(r#"{{"room": "{}"}}"#, "k".repeat(4096));
    assert_eq!(http_post(&relay, "/api/invite", Some(&bearer), &huge).await.0, 413);

    let (status, answer) = http_post(&relay, "/api/invite", Some(&bearer), ask).await;
    assert_eq!(status, 200, "{answer}");
    let link = answer["link"].as_str().unwrap();
    assert!(link.starts_with("https://meet.example.org/?room=klasse-7b&link=v1."), "{link}");
    let expires = answer["expires"].as_u64().unwrap();
    assert!((now() + 7000..=now() + 7200).contains(&expires));

    // The link opens its room, with its role.
    let token = link.split("link=").nth(1).unwrap();
    let mut lea = relay.greeted().await;
    lea.join_with_link("klasse-7b", "Lea", Some(token)).await;
    let ServerMessage::Welcome { role, .. } = lea.recv().await else { panic!("no welcome") };
    assert_eq!(role, Role::Listener);
    relay.shutdown().await.unwrap();
}

#[tokio::test]
async fn without_an_operator_key_the_endpoint_is_off() {
    let relay = relay_with_secret().await;
    let (status, _) = http_post(&relay, "/api/invite", Some("Bearer x"), r#"{"room":"k"}"#).await;
    assert_eq!(status, 404);
    relay.shutdown().await.unwrap();
}
