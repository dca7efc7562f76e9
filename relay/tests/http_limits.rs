//! The HTTP port's own limits (relay/src/web/serve.rs), tried the way an attacker would:
//! connections that say nothing, a request head sent one byte at a time, and more connections
//! from one address than it may hold. Each time a well-behaved visitor still gets the page.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::time::{Duration, Instant};

use common::{TestRelay, http_get};
use relay::limits::HEAD_TIMEOUT;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

/// Waits until the relay closes `stream` (end of stream or reset); returns how long it took,
/// or `None` if it stayed open for `within`.
async fn closed_within(stream: &mut TcpStream, within: Duration) -> Option<Duration> {
    let started = Instant::now();
    let mut buffer = [0u8; 1024];
    loop {
        match tokio::time::timeout_at((started + within).into(), stream.read(&mut buffer)).await {
            Err(_) => return None,
            Ok(Ok(0) | Err(_)) => return Some(started.elapsed()),
            // A 408 or similar before closing is fine; keep reading to the end.
            Ok(Ok(_)) => {}
        }
    }
}

#[tokio::test]
async fn a_connection_that_sends_no_request_is_closed_after_the_deadline() {
    let relay = TestRelay::start(|_| {}).await;
    let mut silent = TcpStream::connect(relay.addr).await.unwrap();
    // A whole request once, then silence: an idle keep-alive connection gets the same deadline.
    let mut idle = TcpStream::connect(relay.addr).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();

    let limit = HEAD_TIMEOUT + Duration::from_secs(5);
    let (silent_after, idle_after) =
        tokio::join!(closed_within(&mut silent, limit), closed_within(&mut idle, limit));
    let silent_after = silent_after.expect("a silent connection is closed");
    assert!(
        silent_after >= HEAD_TIMEOUT - Duration::from_secs(1),
        "closed too early: {silent_after:?}"
    );
    idle_after.expect("an idle keep-alive connection is closed");
    assert!(http_get(relay.addr, "/healthz").await.contains("ok: "));
    relay.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_request_head_sent_one_byte_at_a_time_does_not_keep_the_connection() {
    let relay = TestRelay::start(|_| {}).await;
    let mut slow = TcpStream::connect(relay.addr).await.unwrap();
    slow.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n").await.unwrap();
    let started = Instant::now();
    let mut closed = false;
    // A header byte every half second never finishes the head (a "slowloris").
    while started.elapsed() < HEAD_TIMEOUT + Duration::from_secs(5) {
        if slow.write_all(b"X").await.is_err() {
            closed = true;
            break;
        }
        let mut buffer = [0u8; 256];
        let read = tokio::time::timeout(Duration::from_millis(500), slow.read(&mut buffer)).await;
        if let Ok(Ok(0) | Err(_)) = read {
            closed = true;
            break;
        }
    }
    assert!(closed, "still open after {:?}", started.elapsed());
    assert!(started.elapsed() < HEAD_TIMEOUT + Duration::from_secs(3), "{:?}", started.elapsed());
    relay.shutdown().await.unwrap();
}

#[tokio::test]
async fn one_address_cannot_hold_more_connections_than_its_share() {
    let relay = TestRelay::start(|c| c.max_connections_per_address = 8).await;
    let mut held = Vec::new();
    for _ in 0..8 {
        held.push(TcpStream::connect(relay.addr).await.unwrap());
    }
    // The ninth is accepted by the kernel and closed by the relay at once, unread.
    let mut ninth = TcpStream::connect(relay.addr).await.unwrap();
    let after = closed_within(&mut ninth, Duration::from_secs(5)).await;
    assert!(after.is_some(), "the ninth connection stayed open");
    // Those places come back as soon as the connections go.
    drop(held);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let mut probe = TcpStream::connect(relay.addr).await.unwrap();
        probe
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut answer = String::new();
        let _ = probe.read_to_string(&mut answer).await;
        if answer.contains("ok: ") {
            break;
        }
        assert!(Instant::now() < deadline, "no place came back: {answer:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    relay.shutdown().await.unwrap();
}
