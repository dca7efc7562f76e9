//! HTTPS in the relay (`--https`) over real sockets, with a certificate authority made in the
//! test: pages and WebSockets over TLS, a certificate replaced on disk while connections run is
//! the one the next connection sees, a broken replacement leaves the old one in use, and a
//! client that never shakes hands holds up nobody. Plain HTTP (`--redirect-http-listen`) is sent
//! on to HTTPS, and answers ACME challenges from `--acme-webroot` and nothing else.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::{
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use common::TestRelay;
use futures_util::{SinkExt, StreamExt};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::TlsConnector;

/// A test certificate authority, and a way to issue server certificates from it.
struct TestCa {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

impl TestCa {
    fn new() -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(rcgen::DnType::CommonName, "Treffpunkt Test CA");
        Self { issuer: CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap() }
    }

    /// A certificate for localhost and 127.0.0.1: (certificate PEM, key PEM, certificate DER).
    fn issue(&self) -> (String, String, CertificateDer<'static>) {
        let params =
            CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        (cert.pem(), key.serialize_pem(), cert.der().clone())
    }

    fn connector(&self) -> TlsConnector {
        TlsConnector::from(common::tls_client_trusting(self.issuer.der().clone()))
    }
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tp-https-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn install(dir: &Path, (cert, key, _): &(String, String, CertificateDer<'static>)) {
    // As certbot does: the new files appear whole (written beside, then renamed into place).
    for (name, text) in [("key.pem", key), ("cert.pem", cert)] {
        std::fs::write(dir.join(format!("{name}.new")), text).unwrap();
        std::fs::rename(dir.join(format!("{name}.new")), dir.join(name)).unwrap();
    }
}

async fn https_relay(dir: &Path) -> TestRelay {
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    TestRelay::start(move |c| {
        c.https = true;
        c.tls_cert = Some(cert);
        c.tls_key = Some(key);
        c.mesh_threshold = 0;
    })
    .await
}

/// `GET path` over TLS: the certificate the relay presented, and the answer.
async fn get(relay: &TestRelay, ca: &TestCa, path: &str) -> (CertificateDer<'static>, String) {
    let tcp = tokio::net::TcpStream::connect(relay.addr).await.unwrap();
    let name = ServerName::try_from("localhost").unwrap();
    let mut tls = ca.connector().connect(name, tcp).await.unwrap();
    let presented = tls.get_ref().1.peer_certificates().unwrap()[0].clone();
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    tls.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    // The relay closes without close_notify after `Connection: close`; what arrived counts.
    let _ = tls.read_to_end(&mut answer).await;
    (presented, String::from_utf8_lossy(&answer).into_owned())
}

#[tokio::test]
async fn pages_and_websockets_go_over_tls() {
    let ca = TestCa::new();
    let dir = scratch("serve");
    install(&dir, &ca.issue());
    let relay = https_relay(&dir).await;

    let (_, answer) = get(&relay, &ca, "/healthz").await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("ok: 0 rooms"), "{answer}");

    // A WebSocket over the same TLS (wss://): hello and a join.
    let tcp = tokio::net::TcpStream::connect(relay.addr).await.unwrap();
    let tls =
        ca.connector().connect(ServerName::try_from("localhost").unwrap(), tcp).await.unwrap();
    let url = format!("wss://localhost:{}/ws", relay.addr.port());
    let (mut ws, _) = tokio_tungstenite::client_async(url, tls).await.unwrap();
    let hello =
        protocol::encode(&protocol::ClientMessage::Hello { version: protocol::PROTOCOL_VERSION });
    ws.send(tokio_tungstenite::tungstenite::Message::Text(hello.into())).await.unwrap();
    let reply = ws.next().await.unwrap().unwrap().into_text().unwrap();
    assert!(reply.contains("\"type\":\"hello\""), "{reply}");

    // Plain HTTP on the HTTPS port gets nothing served.
    let mut plain = tokio::net::TcpStream::connect(relay.addr).await.unwrap();
    plain.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    let mut got = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), plain.read_to_end(&mut got)).await;
    assert!(!String::from_utf8_lossy(&got).contains("ok: "), "served over plain HTTP");
    relay.shutdown().await.unwrap();
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn a_renewed_certificate_is_used_without_a_restart_and_a_broken_one_is_not() {
    let ca = TestCa::new();
    let dir = scratch("renew");
    let first = ca.issue();
    install(&dir, &first);
    let relay = https_relay(&dir).await;
    assert_eq!(get(&relay, &ca, "/healthz").await.0, first.2);

    // A connection that stays open across the renewal.
    let tcp = tokio::net::TcpStream::connect(relay.addr).await.unwrap();
    let mut open =
        ca.connector().connect(ServerName::try_from("localhost").unwrap(), tcp).await.unwrap();

    let second = ca.issue();
    install(&dir, &second);
    let renewed = Instant::now();
    loop {
        if get(&relay, &ca, "/healthz").await.0 == second.2 {
            break;
        }
        assert!(renewed.elapsed() < Duration::from_secs(20), "the new certificate was not taken");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    println!("renewed certificate in use after {:?}", renewed.elapsed());
    // The connection opened before still works.
    open.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    let _ = open.read_to_end(&mut answer).await;
    assert!(String::from_utf8_lossy(&answer).contains("ok: "));

    // A key that does not belong to the certificate: the relay keeps the working pair.
    let third = ca.issue();
    let mismatched = (third.0.clone(), second.1.clone(), third.2.clone());
    install(&dir, &mismatched);
    tokio::time::sleep(crate_reload_interval() * 2 + Duration::from_secs(1)).await;
    assert_eq!(get(&relay, &ca, "/healthz").await.0, second.2, "a broken pair was taken");
    relay.shutdown().await.unwrap();
    std::fs::remove_dir_all(dir).unwrap();
}

fn crate_reload_interval() -> Duration {
    relay::limits::RELOAD_INTERVAL
}

#[tokio::test]
async fn a_client_that_never_shakes_hands_holds_up_nobody() {
    let ca = TestCa::new();
    let dir = scratch("silent");
    install(&dir, &ca.issue());
    let relay = https_relay(&dir).await;
    let mut silent = Vec::new();
    for _ in 0..20 {
        silent.push(tokio::net::TcpStream::connect(relay.addr).await.unwrap());
    }
    let started = Instant::now();
    let (_, answer) = get(&relay, &ca, "/healthz").await;
    assert!(answer.contains("ok: "), "{answer}");
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
    drop(silent);
    relay.shutdown().await.unwrap();
    std::fs::remove_dir_all(dir).unwrap();
}

/// `GET path` in plain HTTP at `addr` with `Host: host`: the whole answer.
async fn plain_get(addr: std::net::SocketAddr, host: &str, path: &str) -> String {
    // The relay binds the plain port as it starts, after the test has its HTTPS address.
    let started = Instant::now();
    let mut tcp = loop {
        match tokio::net::TcpStream::connect(addr).await {
            Ok(tcp) => break tcp,
            Err(_) if started.elapsed() < Duration::from_secs(5) => {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(e) => panic!("nothing listens on {addr}: {e}"),
        }
    };
    let request = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let _ = tcp.read_to_end(&mut answer).await;
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test]
async fn plain_http_is_sent_to_https_and_acme_challenges_are_answered() {
    let ca = TestCa::new();
    let dir = scratch("redirect");
    install(&dir, &ca.issue());
    // certbot --webroot -w WEBROOT writes WEBROOT/.well-known/acme-challenge/TOKEN.
    let webroot = dir.join("acme");
    let challenges = webroot.join(".well-known/acme-challenge");
    std::fs::create_dir_all(&challenges).unwrap();
    std::fs::write(challenges.join("tok3n-_A"), "tok3n-_A.thumbprint").unwrap();
    std::fs::write(dir.join("secret.txt"), "not for the internet").unwrap();
    // A free port for plain HTTP (the relay binds it itself).
    let plain = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let (cert, key, root) = (dir.join("cert.pem"), dir.join("key.pem"), webroot.clone());
    let relay = TestRelay::start(move |c| {
        c.https = true;
        c.tls_cert = Some(cert);
        c.tls_key = Some(key);
        c.redirect_http_listen = Some(plain);
        c.acme_webroot = Some(root);
        c.max_connections_per_address = 4;
    })
    .await;

    let answer = plain_get(plain, "meet.example.org", "/?room=rat&name=Anna").await;
    assert!(answer.starts_with("HTTP/1.1 308"), "{answer}");
    let location = answer
        .lines()
        .find_map(|line| line.split_once(':').filter(|(n, _)| n.eq_ignore_ascii_case("location")))
        .map(|(_, value)| value.trim());
    let expected = format!("https://meet.example.org:{}/?room=rat&name=Anna", relay.addr.port());
    assert_eq!(location, Some(expected.as_str()), "{answer}");

    let answer = plain_get(plain, "meet.example.org", "/.well-known/acme-challenge/tok3n-_A").await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.ends_with("tok3n-_A.thumbprint"), "{answer}");
    // Nothing else of the machine: not beside the challenges, not by climbing out.
    for path in [
        "/.well-known/acme-challenge/missing",
        "/.well-known/acme-challenge/../../../secret.txt",
        "/.well-known/acme-challenge/%2e%2e/%2e%2e/%2e%2e/secret.txt",
    ] {
        let answer = plain_get(plain, "meet.example.org", path).await;
        assert!(!answer.contains("not for the internet"), "{path}: {answer}");
        assert!(!answer.starts_with("HTTP/1.1 200"), "{path}: {answer}");
    }
    // A Host that names no host is sent nowhere.
    let answer = plain_get(plain, "evil.example/@x", "/").await;
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");

    // The plain port is bounded like the HTTPS one: four silent connections from one address
    // are all it holds; a fifth is closed unread. The HTTPS port counts its own.
    let mut silent = Vec::new();
    for _ in 0..4 {
        silent.push(tokio::net::TcpStream::connect(plain).await.unwrap());
    }
    let mut fifth = tokio::net::TcpStream::connect(plain).await.unwrap();
    let mut byte = [0u8; 1];
    let read = tokio::time::timeout(Duration::from_secs(5), fifth.read(&mut byte)).await;
    assert!(matches!(read, Ok(Ok(0) | Err(_))), "the fifth stayed open: {read:?}");

    // The HTTPS side is the relay as ever.
    assert!(get(&relay, &ca, "/healthz").await.1.contains("ok: "));
    drop(silent);
    relay.shutdown().await.unwrap();
    std::fs::remove_dir_all(dir).unwrap();
}
