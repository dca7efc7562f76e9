//! Shutting down with the real binary and real signals: with `--drain-secs`, SIGTERM lets the
//! meetings that run go on while newcomers are sent away with "restarting" (and `/healthz` says
//! "draining" with 503, for a load balancer); the relay exits once the meetings end, when the
//! time is up, or at a second signal, each time saying goodbye to whoever is left.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::{net::SocketAddr, process::Stdio, time::Duration};

use common::{Client, error_code, http_get};
use protocol::{ClientMessage, ErrorCode, ServerMessage};
use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::{Child, Command},
};

/// The close code of a relay that restarts (RFC 6455: "Service Restart").
const RESTART: u16 = 1012;

/// The relay binary with `args`, and the address it listens on.
async fn relay(args: &[&str]) -> (Child, SocketAddr) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_relay"));
    for (key, _) in std::env::vars().filter(|(k, _)| k.starts_with("TREFFPUNKT_")) {
        command.env_remove(key);
    }
    let mut child = command
        .args(["--listen", "127.0.0.1:0"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = tokio::time::timeout(Duration::from_secs(10), lines.next_line())
        .await
        .expect("the relay starts")
        .unwrap()
        .expect("a line");
    let addr = line.split_whitespace().find_map(|word| word.parse().ok()).expect(&line);
    (child, addr)
}

fn signal(child: &Child, name: &str) {
    let pid = child.id().expect("still running").to_string();
    let status = std::process::Command::new("kill").args([name, &pid]).status().unwrap();
    assert!(status.success());
}

/// Waits for the relay to exit on its own within `within`; its exit status.
async fn exits(child: &mut Child, within: Duration) -> std::process::ExitStatus {
    tokio::time::timeout(within, child.wait()).await.expect("the relay exits in time").unwrap()
}

async fn joined(addr: SocketAddr, room: &str, name: &str) -> Client {
    let mut client = Client::greeted(addr).await;
    client.join(room, name).await;
    assert!(matches!(client.recv().await, ServerMessage::Welcome { .. }));
    client
}

async fn wait_for_draining(addr: SocketAddr) {
    let draining = async {
        while !http_get(addr, "/healthz").await.starts_with("draining") {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(5), draining).await.expect("/healthz says draining");
}

#[tokio::test]
async fn a_drain_keeps_the_meeting_sends_newcomers_away_and_ends_when_the_meeting_does() {
    let (mut child, addr) = relay(&["--drain-secs", "60"]).await;
    let mut anna = joined(addr, "rat", "Anna").await;
    let mut bruno = joined(addr, "rat", "Bruno").await;
    assert!(matches!(anna.recv().await, ServerMessage::ParticipantJoined { .. }));

    signal(&child, "-TERM");
    wait_for_draining(addr).await;

    // Cleo, new, is told the relay restarts, and her connection closes so her browser retries.
    let mut cleo = Client::greeted(addr).await;
    cleo.join("rat", "Cleo").await;
    assert_eq!(error_code(&cleo.recv().await), ErrorCode::ShuttingDown);
    assert_eq!(cleo.close_code().await, Some(RESTART));

    // The meeting goes on.
    anna.send(&ClientMessage::Chat { text: "Tagesordnungspunkt 3".into() }).await;
    loop {
        if let ServerMessage::Chat { message } = bruno.recv().await {
            assert_eq!(message.text, "Tagesordnungspunkt 3");
            break;
        }
    }

    // It ends: the relay exits long before its 60 s are up.
    anna.send(&ClientMessage::Leave).await;
    bruno.send(&ClientMessage::Leave).await;
    assert!(exits(&mut child, Duration::from_secs(10)).await.success());
}

#[tokio::test]
async fn a_second_signal_or_the_end_of_the_drain_time_sends_everyone_to_reconnect() {
    for (drain, second_signal) in [("60", true), ("1", false)] {
        let (mut child, addr) = relay(&["--drain-secs", drain]).await;
        let mut anna = joined(addr, "rat", "Anna").await;
        signal(&child, "-TERM");
        wait_for_draining(addr).await;
        if second_signal {
            signal(&child, "-TERM");
        }
        assert_eq!(error_code(&anna.recv().await), ErrorCode::ShuttingDown, "drain {drain}");
        assert_eq!(anna.close_code().await, Some(RESTART), "drain {drain}");
        assert!(exits(&mut child, Duration::from_secs(10)).await.success(), "drain {drain}");
    }
}

#[tokio::test]
async fn without_a_drain_time_everyone_is_sent_to_reconnect_at_once() {
    let (mut child, addr) = relay(&[]).await;
    let mut anna = joined(addr, "rat", "Anna").await;
    signal(&child, "-TERM");
    assert_eq!(error_code(&anna.recv().await), ErrorCode::ShuttingDown);
    assert_eq!(anna.close_code().await, Some(RESTART));
    assert!(exits(&mut child, Duration::from_secs(10)).await.success());
}
