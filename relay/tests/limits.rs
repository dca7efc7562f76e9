//! Every limit and every kind of malformed input, each answered with an error naming the rule,
//! and none of it disturbing a second client in the same room.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::time::Duration;

use common::{Client, TestRelay, error_code, error_message};
use protocol::{ClientMessage, ErrorCode, ParticipantId, ServerMessage, Signal};

/// Two well-behaved clients in one room; returns them and their ids.
async fn bystanders(relay: &TestRelay) -> (Client, ParticipantId, Client, ParticipantId) {
    let (mut a, a_id, _) = relay.joined("ruhig", "A").await;
    let (b, b_id, _) = relay.joined("ruhig", "B").await;
    assert!(matches!(a.recv().await, ServerMessage::ParticipantJoined { .. }));
    (a, a_id, b, b_id)
}

/// The bystanders can still talk to each other.
async fn still_fine(a: &mut Client, a_id: ParticipantId, b: &mut Client, b_id: ParticipantId) {
    let signal = Signal::Answer { sdp: "still here".into() };
    a.send(&ClientMessage::Signal { to: b_id, signal: signal.clone() }).await;
    assert_eq!(b.recv().await, ServerMessage::Signal { from: a_id, signal });
}

#[tokio::test]
async fn malformed_messages_get_errors_and_hurt_no_one() {
    let relay = TestRelay::start(|_| {}).await;
    let (mut a, a_id, mut b, b_id) = bystanders(&relay).await;
    let (mut bad, _, _) = relay.joined("ruhig", "Bad").await;
    assert!(matches!(a.recv().await, ServerMessage::ParticipantJoined { .. }));
    assert!(matches!(b.recv().await, ServerMessage::ParticipantJoined { .. }));

    for text in [
        "not json",
        "{\"type\":\"teleport\"}",
        "{\"type\":\"join\",\"room\":7,\"name\":[]}",
        "{\"type\":\"signal\",\"to\":\"everyone\",\"signal\":{}}",
        "[1,2,3]",
        "\u{0}\u{1}",
    ] {
        bad.send_text(text).await;
        assert_eq!(error_code(&bad.recv().await), ErrorCode::InvalidMessage, "{text:?}");
    }
    bad.send_binary(vec![0xde, 0xad, 0xbe, 0xef]).await;
    let reply = bad.recv().await;
    assert_eq!(error_code(&reply), ErrorCode::InvalidMessage);
    assert!(error_message(&reply).contains("Binary"));
    assert!(bad.is_alive().await, "mistakes alone do not close the connection");
    still_fine(&mut a, a_id, &mut b, b_id).await;
}

#[tokio::test]
async fn hello_is_required_and_versions_must_match() {
    let relay = TestRelay::start(|_| {}).await;
    let mut early = relay.client().await;
    early.join("r", "Early").await;
    assert_eq!(error_code(&early.recv().await), ErrorCode::HelloRequired);

    let mut old = relay.client().await;
    old.send(&ClientMessage::Hello { version: 0 }).await;
    let reply = old.recv().await;
    assert_eq!(error_code(&reply), ErrorCode::UnsupportedVersion);
    assert!(error_message(&reply).contains("Reload"));
    assert!(old.next().await.is_none(), "closed after a version mismatch");
}

#[tokio::test]
async fn oversized_messages_are_refused_naming_the_limit() {
    let relay = TestRelay::start(|c| c.max_message_bytes = 4096).await;
    let (mut a, a_id, mut b, b_id) = bystanders(&relay).await;
    let sdp = "a".repeat(5000);
    a.send(&ClientMessage::Signal { to: b_id, signal: Signal::Offer { sdp } }).await;
    let reply = a.recv().await;
    assert_eq!(error_code(&reply), ErrorCode::MessageTooLarge);
    assert!(error_message(&reply).contains("4096 bytes"), "{}", error_message(&reply));
    b.expect_silence(Duration::from_millis(200)).await;
    still_fine(&mut a, a_id, &mut b, b_id).await;

    // Far beyond any reasonable size: the relay does not even buffer it, and hangs up.
    let (mut huge, _, _) = relay.joined("anders", "Huge").await;
    huge.send_text(&"x".repeat(2 << 20)).await;
    assert!(huge.next().await.is_none());
    still_fine(&mut a, a_id, &mut b, b_id).await;
}

#[tokio::test]
async fn names_and_room_names_are_checked() {
    let relay = TestRelay::start(|_| {}).await;
    let mut client = relay.greeted().await;
    for (room, name, code, mentions) in [
        ("ok", "", ErrorCode::InvalidName, "empty"),
        ("ok", &"N".repeat(41)[..], ErrorCode::InvalidName, "40 characters"),
        ("ok", "Eve\u{202E}", ErrorCode::InvalidName, "control"),
        ("", "Anna", ErrorCode::InvalidRoomName, "empty"),
        (&"r".repeat(65)[..], "Anna", ErrorCode::InvalidRoomName, "64 characters"),
        ("a/b", "Anna", ErrorCode::InvalidRoomName, "letters, digits"),
    ] {
        client.join(room, name).await;
        let reply = client.recv().await;
        assert_eq!(error_code(&reply), code, "{room:?} {name:?}");
        assert!(error_message(&reply).contains(mentions), "{}", error_message(&reply));
    }
    // After all that, a valid join still works on the same connection.
    client.join("ok", "Anna").await;
    assert!(matches!(client.recv().await, ServerMessage::Welcome { .. }));
    client.join("ok", "Anna").await;
    assert_eq!(error_code(&client.recv().await), ErrorCode::AlreadyJoined);
}

#[tokio::test]
async fn rooms_have_a_capacity() {
    let relay = TestRelay::start(|c| c.room_capacity = 2).await;
    let (mut a, a_id, mut b, b_id) = bystanders(&relay).await;
    let mut third = relay.greeted().await;
    third.join("ruhig", "C").await;
    let reply = third.recv().await;
    assert_eq!(error_code(&reply), ErrorCode::RoomFull);
    assert!(error_message(&reply).contains("at most 2"));
    a.expect_silence(Duration::from_millis(200)).await;
    still_fine(&mut a, a_id, &mut b, b_id).await;
    // Another room is fine.
    third.join("andere", "C").await;
    assert!(matches!(third.recv().await, ServerMessage::Welcome { .. }));
}

#[tokio::test]
async fn the_relay_has_a_room_limit() {
    let relay = TestRelay::start(|c| c.max_rooms = 1).await;
    let (_a, _, _) = relay.joined("one", "A").await;
    let mut b = relay.greeted().await;
    b.join("two", "B").await;
    let reply = b.recv().await;
    assert_eq!(error_code(&reply), ErrorCode::TooManyRooms);
    assert!(error_message(&reply).contains("limit of 1"));
}

#[tokio::test]
async fn floods_are_rate_limited_then_disconnected_without_harming_others() {
    let relay = TestRelay::start(|c| {
        c.messages_per_second = 20;
        c.message_burst = 20;
    })
    .await;
    let (mut a, a_id, mut b, b_id) = bystanders(&relay).await;
    let (mut flood, _, _) = relay.joined("ruhig", "Flood").await;
    assert!(matches!(a.recv().await, ServerMessage::ParticipantJoined { .. }));
    assert!(matches!(b.recv().await, ServerMessage::ParticipantJoined { .. }));

    for n in 0..500 {
        if !flood.try_send(&ClientMessage::Ping { nonce: n }).await {
            break;
        }
    }
    let mut pongs = 0;
    let mut rate_limited = 0;
    while let Some(message) = flood.next().await {
        match message {
            ServerMessage::Pong { .. } => pongs += 1,
            ServerMessage::Error { code: ErrorCode::RateLimited, message, .. } => {
                rate_limited += 1;
                assert!(message.contains("20 messages per second"));
            }
            ServerMessage::Error { code: ErrorCode::InvalidMessage, .. } => {}
            other => panic!("{other:?}"),
        }
    }
    assert!((15..100).contains(&pongs), "the burst is served, the flood is not ({pongs})");
    assert_eq!(rate_limited, 1, "told once, not once per dropped message");

    // The flooder is gone (the others hear it left) and the room carries on.
    assert!(matches!(a.recv().await, ServerMessage::ParticipantLeft { .. }));
    assert!(matches!(b.recv().await, ServerMessage::ParticipantLeft { .. }));
    still_fine(&mut a, a_id, &mut b, b_id).await;
}

#[tokio::test]
async fn many_garbage_connections_do_not_take_the_relay_down() {
    let relay = TestRelay::start(|_| {}).await;
    let (mut a, a_id, mut b, b_id) = bystanders(&relay).await;
    let mut tasks = Vec::new();
    for i in 0..20 {
        let addr = relay.addr;
        tasks.push(tokio::spawn(async move {
            use tokio::io::AsyncWriteExt;
            // Half speak garbage HTTP, half open a WebSocket and spew garbage frames.
            if i % 2 == 0 {
                let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
                let _ = s.write_all(b"\x16\x03\x01garbage\r\n\r\n").await;
            } else {
                let (mut ws, _) =
                    tokio_tungstenite::connect_async(format!("ws://{addr}/ws")).await.unwrap();
                use futures_util::SinkExt;
                for _ in 0..50 {
                    if ws.send(tokio_tungstenite::tungstenite::Message::text("}{")).await.is_err() {
                        break;
                    }
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    still_fine(&mut a, a_id, &mut b, b_id).await;
}

#[tokio::test]
async fn a_client_that_never_reads_is_closed_and_frees_what_it_held_while_others_go_on() {
    // Bruno may send as fast as he likes here: the limit under test is the one on Anna's side.
    let relay = TestRelay::start(|c| {
        c.messages_per_second = 100_000;
        c.message_burst = 100_000;
    })
    .await;
    let (mut a, a_id, mut b, b_id) = bystanders(&relay).await;
    let baseline = common::status_of(relay.addr, "connections").await;
    // Anna joins the same room and then never reads again.
    let (anna, anna_id, _) = relay.joined("ruhig", "Anna").await;
    assert!(matches!(a.recv().await, ServerMessage::ParticipantJoined { .. }));
    assert!(matches!(b.recv().await, ServerMessage::ParticipantJoined { .. }));
    let (mut bruno, _, _) = relay.joined("ruhig", "Bruno").await;
    let flood = tokio::spawn({
        async move {
            let sdp = "a".repeat(60 * 1024);
            let start = std::time::Instant::now();
            for _ in 0..600 {
                let signal = Signal::Offer { sdp: sdp.clone() };
                if !bruno.try_send(&ClientMessage::Signal { to: anna_id, signal }).await {
                    break;
                }
            }
            (bruno, start.elapsed())
        }
    });
    // The others see Anna go (her seat waits for her, as after any dropout) within 10 s.
    let gone = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match a.recv_within(Duration::from_secs(11)).await {
                ServerMessage::ParticipantUpdated { participant }
                    if participant.id == anna_id && participant.away =>
                {
                    return;
                }
                ServerMessage::ParticipantLeft { id } if id == anna_id => return,
                _ => {}
            }
        }
    })
    .await;
    assert!(gone.is_ok(), "Anna was not let go within 10 s");
    let (mut bruno, took) = flood.await.unwrap();
    eprintln!("Bruno's 600 x 60 KiB went out in {took:?}");
    // Bruno, who flooded, is still connected and heard.
    assert!(bruno.is_alive().await, "the sender is not the one closed");
    // The connection and everything queued for it are gone: back to the bystanders and Bruno.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let open = common::status_of(relay.addr, "connections").await;
        if open == baseline + 1 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "connections: {open}, expected {}",
            baseline + 1
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drop(anna);
    // The bystanders still reach each other (past the news of Bruno and Anna).
    let signal = Signal::Answer { sdp: "still here".into() };
    a.send(&ClientMessage::Signal { to: b_id, signal: signal.clone() }).await;
    loop {
        if b.recv().await == (ServerMessage::Signal { from: a_id, signal: signal.clone() }) {
            break;
        }
    }
}
