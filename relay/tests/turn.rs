//! The relay's own TURN server over real sockets, with the credentials `welcome` hands out and an
//! independent client (webrtc-rs's `rtc-turn`): over UDP, TCP and TLS.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::{net::SocketAddr, sync::Arc, time::Duration};

use bytes::BytesMut;
use common::TestRelay;
use protocol::ServerMessage;
use rtc::{
    sansio::Protocol,
    shared::{TaggedBytesMut, TransportContext, TransportProtocol},
    turn::client::{Client as TurnClient, ClientConfig, Event},
};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpStream, UdpSocket},
    time::timeout,
};

/// The TURN address, username and password Anna's `welcome` gives her.
async fn anna_credentials(relay: &TestRelay) -> (SocketAddr, String, String, Vec<String>) {
    let mut anna = relay.greeted().await;
    anna.join("demo", "Anna").await;
    let ServerMessage::Welcome { ice_servers, .. } = anna.recv().await else {
        panic!("no welcome")
    };
    let own = ice_servers.first().expect("the relay's own ICE server");
    let udp = own.urls.iter().find(|u| u.ends_with("?transport=udp")).expect("TURN over UDP");
    let address = udp.trim_start_matches("turn:").trim_end_matches("?transport=udp");
    (
        address.parse().unwrap(),
        own.username.clone().unwrap(),
        own.credential.clone().unwrap(),
        own.urls.clone(),
    )
}

/// How the client reaches the server.
enum Wire {
    Udp(UdpSocket),
    Tcp(TcpStream, Vec<u8>),
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>, Vec<u8>),
}

/// Which way a session talks to the TURN server.
enum Via {
    Udp,
    Tcp,
    /// TLS, trusting this configuration's roots, checking the certificate for `name`.
    Tls(Arc<rustls::ClientConfig>, &'static str),
}

/// Reads one STUN message or ChannelData frame from a byte stream.
async fn read_frame(stream: &mut (impl AsyncReadExt + Unpin), pending: &mut Vec<u8>) -> Vec<u8> {
    loop {
        if let relay::limits::TurnFrame::Complete(n) = relay::limits::next_turn_frame(pending) {
            return pending.drain(..n).collect();
        }
        let mut chunk = vec![0u8; 4096];
        let n = stream.read(&mut chunk).await.unwrap();
        assert!(n > 0, "the relay closed the connection");
        pending.extend_from_slice(&chunk[..n]);
    }
}

impl Wire {
    async fn send(&mut self, data: &[u8], to: SocketAddr) {
        match self {
            Wire::Udp(socket) => {
                socket.send_to(data, to).await.unwrap();
            }
            Wire::Tcp(stream, _) => stream.write_all(data).await.unwrap(),
            Wire::Tls(stream, _) => stream.write_all(data).await.unwrap(),
        }
    }

    async fn recv(&mut self) -> Vec<u8> {
        match self {
            Wire::Udp(socket) => {
                let mut buffer = vec![0u8; 2048];
                let (n, _) = socket.recv_from(&mut buffer).await.unwrap();
                buffer.truncate(n);
                buffer
            }
            Wire::Tcp(stream, pending) => read_frame(stream, pending).await,
            Wire::Tls(stream, pending) => read_frame(stream.as_mut(), pending).await,
        }
    }
}

struct Session {
    client: TurnClient,
    wire: Wire,
    local: SocketAddr,
    server: SocketAddr,
    protocol: TransportProtocol,
}

impl Session {
    async fn open(server: SocketAddr, username: &str, password: &str, via: Via) -> Self {
        let (wire, local, protocol) = match via {
            Via::Tcp => {
                let stream = TcpStream::connect(server).await.unwrap();
                let local = stream.local_addr().unwrap();
                (Wire::Tcp(stream, Vec::new()), local, TransportProtocol::TCP)
            }
            Via::Tls(config, name) => {
                let stream = TcpStream::connect(server).await.unwrap();
                let local = stream.local_addr().unwrap();
                let name = rustls::pki_types::ServerName::try_from(name).unwrap();
                let tls = tokio_rustls::TlsConnector::from(config)
                    .connect(name, stream)
                    .await
                    .expect("a TLS handshake with the relay's certificate");
                (Wire::Tls(Box::new(tls), Vec::new()), local, TransportProtocol::TCP)
            }
            Via::Udp => {
                let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
                let local = socket.local_addr().unwrap();
                (Wire::Udp(socket), local, TransportProtocol::UDP)
            }
        };
        let client = TurnClient::new(
            ClientConfig {
                stun_serv_addr: server.to_string(),
                turn_serv_addr: server.to_string(),
                local_addr: local,
                transport_protocol: protocol,
                username: username.into(),
                password: password.into(),
                realm: String::new(),
                software: String::new(),
                rto_in_ms: 200,
                allocation_refresh_interval_cap: None,
            },
            rtc::crypto::default_provider().unwrap(),
        )
        .unwrap();
        Self { client, wire, local, server, protocol }
    }

    /// Sends what the client wants sent and feeds it what arrives, until `done` picks an event.
    async fn until<T>(&mut self, mut done: impl FnMut(Event) -> Option<T>) -> T {
        let run = async {
            loop {
                while let Some(w) = self.client.poll_write() {
                    self.wire.send(&w.message, self.server).await;
                }
                while let Some(event) = self.client.poll_event() {
                    if let Some(found) = done(event) {
                        return found;
                    }
                }
                let wait = tokio::time::sleep(Duration::from_millis(100));
                tokio::select! {
                    data = self.wire.recv() => {
                        let _ = self.client.handle_read(TaggedBytesMut {
                            now: std::time::Instant::now(),
                            transport: TransportContext {
                                local_addr: self.local,
                                peer_addr: self.server,
                                transport_protocol: self.protocol,
                                ecn: None,
                            },
                            message: BytesMut::from(&data[..]),
                        });
                    }
                    _ = wait => { let _ = self.client.handle_timeout(std::time::Instant::now()); }
                }
            }
        };
        timeout(Duration::from_secs(10), run).await.expect("the TURN exchange finished in time")
    }

    /// Sends what the client has queued.
    async fn flush(&mut self) {
        while let Some(w) = self.client.poll_write() {
            self.wire.send(&w.message, self.server).await;
        }
    }

    async fn allocate(&mut self) -> Result<SocketAddr, String> {
        self.client.allocate(std::time::Instant::now()).unwrap();
        self.until(|e| match e {
            Event::AllocateResponse(_, relayed) => Some(Ok(relayed)),
            Event::AllocateError(_, e) => Some(Err(e.to_string())),
            _ => None,
        })
        .await
    }
}

/// Allocates, permits a peer socket, and sends a datagram each way through the relay.
async fn relays_both_ways(via: Via) {
    let relay = TestRelay::start(|c| c.turn_relay_ports = 41000..=41999).await;
    let (server, username, password, _) = anna_credentials(&relay).await;
    let anna = Session::open(server, &username, &password, via).await;
    exchange(anna, server).await;
    relay.shutdown().await.unwrap();
}

/// Allocates on `server`, permits a peer socket, and sends a datagram each way.
async fn exchange(mut anna: Session, server: SocketAddr) {
    let relayed = anna.allocate().await.expect("an allocation");
    assert_eq!(relayed.ip(), server.ip(), "the relayed address is on the relay's address");
    assert!((41000..=41999).contains(&relayed.port()), "a port of --turn-relay-ports: {relayed}");

    let peer = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let peer_addr = peer.local_addr().unwrap();
    let now = std::time::Instant::now();
    anna.client.relay(relayed).unwrap().create_permission(now, peer_addr).unwrap();
    anna.until(|e| matches!(e, Event::CreatePermissionResponse(..)).then_some(())).await;

    anna.client.relay(relayed).unwrap().send_to(now, b"to the peer", peer_addr).unwrap();
    anna.flush().await;
    let mut buffer = [0u8; 64];
    let (n, from) = timeout(Duration::from_secs(5), peer.recv_from(&mut buffer))
        .await
        .expect("the peer got the datagram")
        .unwrap();
    assert_eq!(&buffer[..n], b"to the peer");
    assert_eq!(from.port(), relayed.port(), "it came from the relayed address");

    peer.send_to(b"to anna", from).await.unwrap();
    let (source, data) = anna
        .until(|e| match e {
            Event::DataIndicationOrChannelData(_, source, data) => Some((source, data.to_vec())),
            _ => None,
        })
        .await;
    assert_eq!((source, data), (peer_addr, b"to anna".to_vec()));
}

#[tokio::test]
async fn welcome_names_the_relays_own_stun_and_turn() {
    let relay = TestRelay::start(|_| {}).await;
    let (server, username, _, urls) = anna_credentials(&relay).await;
    assert_eq!(
        urls,
        [
            format!("stun:{server}"),
            format!("turn:{server}?transport=udp"),
            format!("turn:{server}?transport=tcp"),
        ]
    );
    assert!(username.ends_with(":p1"), "{username}");
    relay.shutdown().await.unwrap();
}

#[tokio::test]
async fn turn_over_udp_relays_both_ways() {
    relays_both_ways(Via::Udp).await;
}

#[tokio::test]
async fn turn_over_tcp_relays_both_ways() {
    relays_both_ways(Via::Tcp).await;
}

#[tokio::test]
async fn a_binding_request_on_the_media_port_gets_the_public_address() {
    let relay = TestRelay::start(|_| {}).await;
    let (server, username, password, _) = anna_credentials(&relay).await;
    let mut anna = Session::open(server, &username, &password, Via::Udp).await;
    anna.client.send_binding_request(std::time::Instant::now()).unwrap();
    let mapped = anna
        .until(|e| match e {
            Event::BindingResponse(_, mapped) => Some(mapped),
            _ => None,
        })
        .await;
    assert_eq!(mapped, anna.local);
    relay.shutdown().await.unwrap();
}

#[tokio::test]
async fn edited_or_foreign_credentials_get_no_allocation() {
    let relay = TestRelay::start(|_| {}).await;
    let (server, username, password, _) = anna_credentials(&relay).await;
    // A longer life, signed with the old password.
    let longer = format!("9{username}");
    let mut forged = Session::open(server, &longer, &password, Via::Udp).await;
    assert!(forged.allocate().await.is_err());
    // Credentials from another relay (another secret).
    let other = TestRelay::start(|_| {}).await;
    let (_, other_user, other_password, _) = anna_credentials(&other).await;
    let mut foreign = Session::open(server, &other_user, &other_password, Via::Tcp).await;
    assert!(foreign.allocate().await.is_err());
    relay.shutdown().await.unwrap();
    other.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_shared_secret_lets_credentials_work_on_another_relay() {
    let relay = TestRelay::start(|c| c.turn_secret = Some("town".into())).await;
    let other = TestRelay::start(|c| c.turn_secret = Some("town".into())).await;
    let (server, _, _, _) = anna_credentials(&relay).await;
    let (_, username, password, _) = anna_credentials(&other).await;
    let mut anna = Session::open(server, &username, &password, Via::Udp).await;
    assert!(anna.allocate().await.is_ok());
    relay.shutdown().await.unwrap();
    other.shutdown().await.unwrap();
}

#[tokio::test]
async fn junk_on_the_turn_tcp_port_is_cut_off_and_harms_nobody() {
    let relay = TestRelay::start(|_| {}).await;
    let (server, username, password, _) = anna_credentials(&relay).await;
    let mut junk = TcpStream::connect(server).await.unwrap();
    junk.write_all(b"PUT / HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    let mut buffer = [0u8; 16];
    let read = timeout(Duration::from_secs(5), junk.read(&mut buffer)).await.expect("closed");
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
    let mut anna = Session::open(server, &username, &password, Via::Tcp).await;
    assert!(anna.allocate().await.is_ok());
    relay.shutdown().await.unwrap();
}

/// A certificate for `localhost` made for the test, written where the relay reads it, and a TLS
/// client configuration that trusts it (as a browser trusts a town's certificate).
fn test_certificate(dir_name: &str) -> (std::path::PathBuf, Arc<rustls::ClientConfig>) {
    let dir = std::env::temp_dir().join(format!("tp-turns-{dir_name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let made = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    std::fs::write(dir.join("cert.pem"), made.cert.pem()).unwrap();
    std::fs::write(dir.join("key.pem"), made.signing_key.serialize_pem()).unwrap();
    (dir, common::tls_client_trusting(made.cert.der().clone()))
}

async fn relay_with_turns(dir: &std::path::Path) -> TestRelay {
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    TestRelay::start(move |c| {
        c.turn_relay_ports = 41000..=41999;
        c.tls_cert = Some(cert);
        c.tls_key = Some(key);
        c.turn_tls_listen = Some("127.0.0.1:0".parse().unwrap());
        c.turn_tls_name = Some("localhost".into());
    })
    .await
}

/// The `turns:` URL in Anna's `welcome`, as the address it is bound to.
fn turns_address(urls: &[String]) -> SocketAddr {
    let turns = urls.iter().find(|u| u.starts_with("turns:")).expect("a turns: URL");
    let host = turns.trim_start_matches("turns:").trim_end_matches("?transport=tcp");
    let port = host.strip_prefix("localhost:").expect("the certificate's name").parse().unwrap();
    SocketAddr::from(([127, 0, 0, 1], port))
}

#[tokio::test]
async fn turn_over_tls_relays_both_ways_under_the_certificates_name() {
    let (dir, client) = test_certificate("relays");
    let relay = relay_with_turns(&dir).await;
    let (_, username, password, urls) = anna_credentials(&relay).await;
    let server = turns_address(&urls);
    let anna = Session::open(server, &username, &password, Via::Tls(client, "localhost")).await;
    exchange(anna, server).await;
    relay.shutdown().await.unwrap();
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn the_tls_port_speaks_only_tls() {
    let (dir, client) = test_certificate("plain");
    let relay = relay_with_turns(&dir).await;
    let (_, username, password, urls) = anna_credentials(&relay).await;
    let server = turns_address(&urls);
    // A plain TURN request where TLS is expected ends the connection; nothing is allocated.
    let mut plain = Session::open(server, &username, &password, Via::Tcp).await;
    plain.client.allocate(std::time::Instant::now()).unwrap();
    plain.flush().await;
    let Wire::Tcp(stream, _) = &mut plain.wire else { unreachable!() };
    let mut reply = Vec::new();
    let read = timeout(Duration::from_secs(5), stream.read_to_end(&mut reply)).await;
    assert!(read.is_ok(), "the relay closed the connection");
    // At most a TLS alert record (content type 21), never a TURN answer.
    assert!(reply.is_empty() || reply[0] == 21, "the relay answered in plain text: {reply:?}");
    // TURN over TLS still works.
    let mut anna = Session::open(server, &username, &password, Via::Tls(client, "localhost")).await;
    anna.allocate().await.expect("an allocation over TLS");
    relay.shutdown().await.unwrap();
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn turn_over_tcp_is_not_offered_when_its_port_is_taken() {
    // A port free for UDP whose number something else holds for TCP.
    let (taken, port) = loop {
        let probe = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = probe.local_addr().unwrap().port();
        drop(probe);
        if let Ok(tcp) = std::net::TcpListener::bind(("127.0.0.1", port)) {
            break (tcp, port);
        }
    };
    let relay = TestRelay::start(|c| c.turn_listen = Some(([127, 0, 0, 1], port).into())).await;
    let (server, username, password, urls) = anna_credentials(&relay).await;
    assert_eq!(server.port(), port);
    assert!(!urls.iter().any(|u| u.ends_with("?transport=tcp")), "{urls:?}");
    // TURN over UDP works as ever.
    let mut anna = Session::open(server, &username, &password, Via::Udp).await;
    assert!(anna.allocate().await.is_ok());
    relay.shutdown().await.unwrap();
    drop(taken);
}
