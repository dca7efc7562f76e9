//! Room passwords over real WebSockets: a host sets one, newcomers need it, and nobody can try
//! passwords faster than a person types them, per connection or per address.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::time::Duration;

use common::{TestRelay, error_code};
use protocol::{ClientMessage, ErrorCode, Moderation, ServerMessage};
use relay::limits::PER_ADDRESS;

const PASSWORD: &str = "Eichhörnchen 7";

async fn room_with_password(relay: &TestRelay) -> (common::Client, common::Client) {
    let (mut host, host_id, _) = relay.joined("rat", "Vorsitz").await;
    let (mut guest, _, _) = relay.joined("rat", "Gast").await;
    let _ = host.recv().await;
    let set = Moderation::SetPassword { password: Some(PASSWORD.into()) };
    guest.send(&ClientMessage::Moderate { action: set.clone() }).await;
    assert_eq!(error_code(&guest.recv().await), ErrorCode::Forbidden);
    host.send(&ClientMessage::Moderate { action: set.clone() }).await;
    assert_eq!(host.recv().await, ServerMessage::Moderated { action: set, by: host_id });
    guest.expect_silence(Duration::from_millis(200)).await; // only hosts learn the password
    (host, guest)
}

#[tokio::test]
async fn newcomers_need_the_password_a_host_set() {
    let relay = TestRelay::start(|_| {}).await;
    let (mut host, _guest) = room_with_password(&relay).await;

    let mut bea = relay.greeted().await;
    bea.join("rat", "Bea").await;
    assert_eq!(error_code(&bea.recv().await), ErrorCode::PasswordRequired);
    bea.join_with_password("rat", "Bea", "eichhörnchen 7").await;
    assert_eq!(error_code(&bea.recv().await), ErrorCode::WrongPassword);
    host.expect_silence(Duration::from_millis(200)).await;
    bea.join_with_password("rat", "Bea", PASSWORD).await;
    assert!(matches!(bea.recv().await, ServerMessage::Welcome { .. }));

    // Taken away, nobody needs one.
    host.send(&ClientMessage::Moderate { action: Moderation::SetPassword { password: None } })
        .await;
    let mut cem = relay.greeted().await;
    cem.join("rat", "Cem").await;
    let answer = cem.recv().await;
    assert!(matches!(answer, ServerMessage::Welcome { .. }), "expected welcome, got {answer:?}");
    relay.shutdown().await.unwrap();
}

#[tokio::test]
async fn wrong_passwords_are_limited_per_connection_and_per_address() {
    let relay = TestRelay::start(|_| {}).await;
    let (mut host, _guest) = room_with_password(&relay).await;

    // One connection: three wrong tries, then even the right password is not looked at.
    let mut guesser = relay.greeted().await;
    for guess in ["1234", "passwort", "rat"] {
        guesser.join_with_password("rat", "X", guess).await;
        assert_eq!(error_code(&guesser.recv().await), ErrorCode::WrongPassword, "{guess}");
    }
    guesser.join_with_password("rat", "X", PASSWORD).await;
    assert_eq!(error_code(&guesser.recv().await), ErrorCode::TooManyAttempts);

    // New connections from the same address do not start afresh: the address runs out too.
    let mut wrong = 3;
    let mut connections = 1;
    'address: while connections < 20 {
        let mut next = relay.greeted().await;
        connections += 1;
        for _ in 0..4 {
            next.join_with_password("rat", "X", "falsch").await;
            match error_code(&next.recv().await) {
                ErrorCode::WrongPassword => wrong += 1,
                ErrorCode::TooManyAttempts if wrong >= PER_ADDRESS => break 'address,
                ErrorCode::TooManyAttempts => break,
                other => panic!("unexpected {other:?}"),
            }
        }
    }
    assert_eq!(wrong, PER_ADDRESS, "wrong passwords one address may send");
    let mut honest_but_late = relay.greeted().await;
    honest_but_late.join_with_password("rat", "Bea", PASSWORD).await;
    assert_eq!(error_code(&honest_but_late.recv().await), ErrorCode::TooManyAttempts);
    host.expect_silence(Duration::from_millis(200)).await;
    assert!(host.is_alive().await);
    relay.shutdown().await.unwrap();
}
