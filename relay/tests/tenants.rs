//! Two towns on one relay, over real sockets: the same room name is two rooms, each town's
//! links open its rooms only, each host gets its town's look in `config.json`, its own
//! invitation endpoint, and its own numbers in `/metrics`.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::time::Duration;

use common::{Client, TestRelay, error_code, http_request};
use protocol::{ClientMessage, ErrorCode, MediaState, ServerMessage};
use relay::config::tenants::TenantSettings;

const SECRET: &str = "musterhausen link secret 0123456789";
const KEY: &str = "the operator key of musterhausen!!";

fn tenant(name: &str, host: &str) -> TenantSettings {
    TenantSettings::new(name, &[host])
}

/// Musterhausen (signed links, its own look) and Beispielstadt (open rooms, named `rat` or
/// `klasse-*` only); the relay itself has open rooms.
async fn relay_for_two_towns(dist: std::path::PathBuf) -> TestRelay {
    let mut musterhausen = tenant("musterhausen", "meet.musterhausen.de");
    musterhausen.title = Some("Musterhausen trifft sich".into());
    musterhausen.logo = Some("/brand/musterhausen.svg".into());
    musterhausen.accent = Some("#0a6e4f".into());
    musterhausen.link_secret = Some(SECRET.into());
    musterhausen.operator_key = Some(KEY.into());
    let mut beispielstadt = tenant("beispielstadt", "meet.beispielstadt.de");
    beispielstadt.room_names = vec!["rat".into(), "klasse-*".into()];
    TestRelay::start(|c| {
        c.static_dir = Some(dist);
        c.tenants = vec![musterhausen, beispielstadt];
    })
    .await
}

/// A folder with the app's `config.json`.
fn dist(name: &str) -> std::path::PathBuf {
    let dir =
        std::env::temp_dir().join(format!("treffpunkt-tenants-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("config.json"), r#"{"relay": "wss://relay.example/ws"}"#).unwrap();
    dir
}

/// A greeted client whose page is `origin` (or, without, that was sent to `host`).
async fn from(relay: &TestRelay, origin: Option<&str>, host: &str) -> Client {
    let mut headers = vec![("host", host)];
    headers.extend(origin.map(|o| ("origin", o)));
    let mut client = Client::connect_with(relay.addr, &headers).await;
    client.greet().await;
    client
}

async fn join(client: &mut Client, room: &str, link: Option<&str>) -> ServerMessage {
    client
        .send(&ClientMessage::Join {
            request_id: None,
            room: room.into(),
            name: "Anna".into(),
            media: MediaState::default(),
            resume: None,
            link: link.map(str::to_owned),
            device: None,
            password: None,
            kept: vec![],
            kept_relay: false,
        })
        .await;
    client.recv().await
}

fn roster(welcome: &ServerMessage) -> usize {
    match welcome {
        ServerMessage::Welcome { participants, room, .. } => {
            assert_eq!(room, "rat", "the room keeps its plain name");
            participants.len()
        }
        other => panic!("expected welcome, got {other:?}"),
    }
}

#[tokio::test]
async fn the_same_room_name_in_two_towns_is_two_rooms() {
    let relay = relay_for_two_towns(dist("rooms")).await;
    // Musterhausen's LMS asks its host for a link.
    let (status, answer) = http_request(
        relay.addr,
        "POST",
        "/api/invite",
        &[("host", "meet.musterhausen.de"), ("authorization", &format!("Bearer {KEY}"))],
        r#"{"room":"rat"}"#,
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    let answer: serde_json::Value = serde_json::from_str(&answer).unwrap();
    let link = answer["link"].as_str().unwrap();
    assert!(link.starts_with("https://meet.musterhausen.de/?room=rat&link="), "{link}");
    let token = link.split("link=").nth(1).unwrap();

    // Its page joins its `rat` with the link; the page is on its host, the relay elsewhere.
    let mut anna =
        from(&relay, Some("https://meet.musterhausen.de"), "relay.verbund.example").await;
    assert_eq!(roster(&join(&mut anna, "rat", Some(token)).await), 0);
    // Beispielstadt's `rat` and the relay's own `rat` are other rooms: nobody on the roster,
    // nobody told.
    let mut bruno = from(&relay, None, "meet.beispielstadt.de:8443").await;
    assert_eq!(roster(&join(&mut bruno, "rat", None).await), 0);
    let mut cleo = from(&relay, Some("http://localhost:8080"), "localhost:8080").await;
    assert_eq!(roster(&join(&mut cleo, "rat", Some(token)).await), 0);
    anna.expect_silence(Duration::from_millis(300)).await;
    bruno.expect_silence(Duration::from_millis(100)).await;
    // The same town's people do meet.
    let mut dora = from(&relay, None, "meet.musterhausen.de").await;
    assert_eq!(roster(&join(&mut dora, "rat", Some(token)).await), 1);
    assert!(matches!(anna.recv().await, ServerMessage::ParticipantJoined { .. }));
    cleo.expect_silence(Duration::from_millis(100)).await;

    // Musterhausen's rooms need Musterhausen's links; Beispielstadt offers its names only.
    let mut eve = from(&relay, Some("https://meet.musterhausen.de"), "x").await;
    assert_eq!(error_code(&join(&mut eve, "rat", None).await), ErrorCode::LinkRefused);
    let mut fritz = from(&relay, Some("https://meet.beispielstadt.de"), "x").await;
    let refused = join(&mut fritz, "demo", None).await;
    assert_eq!(error_code(&refused), ErrorCode::InvalidRoomName);

    // Each town's numbers under its own label, no room names.
    let (status, metrics) = http_request(relay.addr, "GET", "/metrics", &[("host", "x")], "").await;
    assert_eq!(status, 200);
    for (sample, expected) in [
        ("treffpunkt_tenant_participants{tenant=\"musterhausen\",mode=\"mesh\"} ", "2"),
        ("treffpunkt_tenant_participants{tenant=\"beispielstadt\",mode=\"mesh\"} ", "1"),
        ("treffpunkt_tenant_participants{tenant=\"default\",mode=\"mesh\"} ", "1"),
        ("treffpunkt_tenant_rooms{tenant=\"beispielstadt\",mode=\"mesh\"} ", "1"),
        ("treffpunkt_rooms{mode=\"mesh\"} ", "3"),
    ] {
        let line = metrics.lines().find(|l| l.starts_with(sample));
        assert_eq!(line.map(|l| &l[sample.len()..]), Some(expected), "{sample} in\n{metrics}");
    }
    assert!(!metrics.contains("\"rat\""), "no room names as labels: {metrics}");
    relay.shutdown().await.unwrap();
}

#[tokio::test]
async fn each_host_gets_its_towns_look_and_its_own_invitations() {
    let relay = relay_for_two_towns(dist("look")).await;
    let config = |host: &'static str| async move {
        let (status, body) =
            http_request(relay.addr, "GET", "/config.json", &[("host", host)], "").await;
        assert_eq!(status, 200, "{body}");
        serde_json::from_str::<serde_json::Value>(&body).unwrap()
    };
    assert_eq!(
        config("meet.musterhausen.de").await,
        serde_json::json!({
            "relay": "wss://relay.example/ws",
            "title": "Musterhausen trifft sich",
            "logo": "/brand/musterhausen.svg",
            "accent": "#0a6e4f",
        })
    );
    // A town without a look, and the relay's own host, get the file as it is.
    assert_eq!(
        config("meet.beispielstadt.de").await,
        serde_json::json!({"relay": "wss://relay.example/ws"})
    );
    assert_eq!(
        config("relay.verbund.example").await,
        serde_json::json!({"relay": "wss://relay.example/ws"})
    );

    // Musterhausen's key opens the endpoint on its hosts only; the relay has no key of its own,
    // Beispielstadt none either.
    let ask = |host: &'static str| async move {
        let auth = format!("Bearer {KEY}");
        http_request(
            relay.addr,
            "POST",
            "/api/invite",
            &[("host", host), ("authorization", &auth)],
            r#"{"room":"rat"}"#,
        )
        .await
        .0
    };
    assert_eq!(ask("meet.musterhausen.de").await, 200);
    assert_eq!(ask("meet.beispielstadt.de").await, 404);
    assert_eq!(ask("relay.verbund.example").await, 404);
    relay.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_towns_page_is_let_in_and_a_stranger_page_is_not() {
    let relay = relay_for_two_towns(dist("origins")).await;
    let open = |origin: &'static str| async move {
        use tokio_tungstenite::tungstenite::{self, client::IntoClientRequest};
        let mut request = format!("ws://{}/ws", relay.addr).into_client_request().unwrap();
        request.headers_mut().insert("origin", origin.parse().unwrap());
        match tokio_tungstenite::connect_async(request).await {
            Ok(_) => 101,
            Err(tungstenite::Error::Http(response)) => response.status().as_u16(),
            Err(e) => panic!("{e}"),
        }
    };
    assert_eq!(open("https://meet.musterhausen.de").await, 101);
    assert_eq!(open("https://meet.beispielstadt.de:8443").await, 101);
    assert_eq!(open("https://meet.musterhausen.de.evil.example").await, 403);
    assert_eq!(open("https://evil.example").await, 403);
    relay.shutdown().await.unwrap();
}
