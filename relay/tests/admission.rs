//! Who may open a WebSocket, over real sockets: pages of other origins, too many connections
//! from one address (also behind a proxy), and connections that never say hello.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::time::{Duration, Instant};

use common::{TestRelay, error_code};
use protocol::ErrorCode;
use tokio_tungstenite::tungstenite::{self, client::IntoClientRequest};

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Opens a WebSocket with these extra headers; the refusal's HTTP status if there is one.
async fn open(relay: &TestRelay, headers: &[(&'static str, &str)]) -> Result<Socket, u16> {
    let mut request = format!("ws://{}/ws", relay.addr).into_client_request().unwrap();
    for (name, value) in headers {
        request.headers_mut().insert(*name, value.parse().unwrap());
    }
    match tokio_tungstenite::connect_async(request).await {
        Ok((socket, _)) => Ok(socket),
        Err(tungstenite::Error::Http(response)) => Err(response.status().as_u16()),
        Err(e) => panic!("unexpected failure: {e}"),
    }
}

#[tokio::test]
async fn pages_of_other_origins_are_refused_and_the_relays_own_and_listed_ones_let_in() {
    let relay =
        TestRelay::start(|c| c.allowed_origins = vec!["https://schule.example.org".into()]).await;
    let own = format!("http://{}", relay.addr);
    assert_eq!(open(&relay, &[("origin", "https://evil.example")]).await.err(), Some(403));
    assert_eq!(open(&relay, &[("origin", "null")]).await.err(), Some(403));
    assert!(open(&relay, &[("origin", &own)]).await.is_ok(), "its own page");
    assert!(open(&relay, &[("origin", "https://schule.example.org")]).await.is_ok(), "listed");
    assert!(open(&relay, &[]).await.is_ok(), "a program that is no browser");
    // A page of a refused origin never reached the rooms: someone joins as usual.
    let (_anna, _, _) = relay.joined("rathaus", "Anna").await;
    relay.shutdown().await.unwrap();
}

#[tokio::test]
async fn one_address_gets_its_share_of_connections_and_gets_places_back() {
    let relay = TestRelay::start(|c| c.max_connections_per_address = 3).await;
    let mut open_ones = Vec::new();
    for _ in 0..3 {
        open_ones.push(open(&relay, &[]).await.unwrap());
    }
    assert_eq!(open(&relay, &[]).await.err(), Some(429), "a fourth from the same address");
    // Closing one gives its place back (once its task has ended).
    let mut first = open_ones.remove(0);
    first.close(None).await.unwrap();
    drop(first);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match open(&relay, &[]).await {
            Ok(socket) => break open_ones.push(socket),
            Err(429) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(status) => panic!("the place did not come back: {status}"),
        }
    }
    relay.shutdown().await.unwrap();
}

#[tokio::test]
async fn behind_a_proxy_on_this_machine_each_forwarded_address_counts_for_itself() {
    let relay = TestRelay::start(|c| c.max_connections_per_address = 1).await;
    let anna = open(&relay, &[("x-forwarded-for", "198.51.100.1")]).await;
    assert!(anna.is_ok());
    assert!(open(&relay, &[("x-forwarded-for", "198.51.100.2")]).await.is_ok(), "another person");
    assert_eq!(open(&relay, &[("x-forwarded-for", "198.51.100.1")]).await.err(), Some(429));
    relay.shutdown().await.unwrap();

    // With other proxies named, this machine is not one of them: its header counts for nothing,
    // and every connection is the same address.
    let relay = TestRelay::start(|c| {
        c.max_connections_per_address = 1;
        c.trusted_proxies = vec!["192.0.2.10".parse().unwrap()];
    })
    .await;
    let _first = open(&relay, &[("x-forwarded-for", "198.51.100.1")]).await.unwrap();
    assert_eq!(open(&relay, &[("x-forwarded-for", "198.51.100.2")]).await.err(), Some(429));
    relay.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_connection_that_never_says_hello_is_closed_within_the_deadline() {
    let relay = TestRelay::start(|c| c.max_connections_per_address = 1).await;
    let mut silent = relay.client().await;
    let opened = Instant::now();
    let last = silent.recv_within(Duration::from_secs(16)).await;
    assert_eq!(error_code(&last), ErrorCode::HelloRequired);
    assert!(silent.next().await.is_none(), "closed after the last word");
    let took = opened.elapsed();
    assert!(took >= protocol_deadline() && took < Duration::from_secs(15), "took {took:?}");
    // Its place is free again.
    let deadline = Instant::now() + Duration::from_secs(5);
    while open(&relay, &[]).await.is_err() {
        assert!(Instant::now() < deadline, "the place came back");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    relay.shutdown().await.unwrap();
}

fn protocol_deadline() -> Duration {
    relay::limits::HELLO_DEADLINE
}
