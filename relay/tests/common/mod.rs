//! A real relay on a loopback port, and a small WebSocket client that speaks the protocol.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::{net::SocketAddr, time::Duration};

use futures_util::{SinkExt, StreamExt};
use protocol::{ClientMessage, MediaState, ParticipantId, ParticipantInfo, ServerMessage};
use tokio::{net::TcpListener, sync::oneshot, task::JoinHandle};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, tungstenite::Message};

pub const WAIT: Duration = Duration::from_secs(5);

/// An offer as a browser would make it: one send-only Opus track.
pub const OFFER: &str = "v=0\r\n\
o=- 4611731400430051336 2 IN IP4 127.0.0.1\r\n\
s=-\r\n\
t=0 0\r\n\
a=group:BUNDLE 0\r\n\
a=msid-semantic: WMS\r\n\
m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n\
c=IN IP4 0.0.0.0\r\n\
a=rtcp:9 IN IP4 0.0.0.0\r\n\
a=ice-ufrag:Wq1P\r\n\
a=ice-pwd:0123456789abcdefghijklmn\r\n\
a=ice-options:trickle\r\n\
a=fingerprint:sha-256 5A:3B:1F:8D:6E:2C:9A:44:71:0E:BB:C3:52:96:7D:0F:A8:11:E4:3C:2D:9F:60:B7:85:1A:CE:47:32:0B:DD:69\r\n\
a=setup:actpass\r\n\
a=mid:0\r\n\
a=sendonly\r\n\
a=rtcp-mux\r\n\
a=rtpmap:111 opus/48000/2\r\n\
a=fmtp:111 minptime=10;useinbandfec=1\r\n\
a=ssrc:1001 cname:treffpunkt-test\r\n";

pub struct TestRelay {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    pub task: JoinHandle<std::io::Result<()>>,
}

impl TestRelay {
    pub async fn start(configure: impl FnOnce(&mut relay::Config)) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut config = relay::Config::with_listen(addr);
        configure(&mut config);
        let (stop, stopped) = oneshot::channel::<()>();
        let stop_signal = futures_util::stream::once(async {
            let _ = stopped.await;
        });
        let task = tokio::spawn(relay::run(listener, config, Box::pin(stop_signal)));
        Self { addr, stop: Some(stop), task }
    }

    pub async fn client(&self) -> Client {
        Client::connect(self.addr).await
    }

    /// A client that has exchanged `hello`.
    pub async fn greeted(&self) -> Client {
        Client::greeted(self.addr).await
    }

    /// A client in `room` as `name`; returns it with its id and the roster it was given.
    pub async fn joined(
        &self,
        room: &str,
        name: &str,
    ) -> (Client, ParticipantId, Vec<ParticipantInfo>) {
        let mut client = self.greeted().await;
        client.join(room, name).await;
        match client.recv().await {
            ServerMessage::Welcome { you, participants, .. } => (client, you, participants),
            other => panic!("expected welcome, got {other:?}"),
        }
    }

    pub async fn shutdown(mut self) -> std::io::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        tokio::time::timeout(Duration::from_secs(10), &mut self.task)
            .await
            .expect("relay stopped in time")
            .unwrap()
    }
}

pub struct Client {
    ws: WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>,
}

impl Client {
    /// A client of the relay at `addr` (a relay this test did not start itself).
    pub async fn connect(addr: SocketAddr) -> Self {
        let (ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws")).await.unwrap();
        Self { ws }
    }

    /// A client of the relay at `addr` whose upgrade request carries `headers` (`host`,
    /// `origin`), as a browser on another host name would send them.
    pub async fn connect_with(addr: SocketAddr, headers: &[(&'static str, &str)]) -> Self {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let mut request = format!("ws://{addr}/ws").into_client_request().unwrap();
        for (name, value) in headers {
            request.headers_mut().insert(*name, value.parse().unwrap());
        }
        let (ws, _) = tokio_tungstenite::connect_async(request).await.unwrap();
        Self { ws }
    }

    /// Says `hello` and reads the relay's.
    pub async fn greet(&mut self) {
        self.send(&ClientMessage::Hello { version: protocol::PROTOCOL_VERSION }).await;
        assert_eq!(self.recv().await, ServerMessage::Hello { version: protocol::PROTOCOL_VERSION });
    }

    /// A client of the relay at `addr` that has exchanged `hello`.
    pub async fn greeted(addr: SocketAddr) -> Self {
        let mut client = Self::connect(addr).await;
        client.send(&ClientMessage::Hello { version: protocol::PROTOCOL_VERSION }).await;
        assert_eq!(
            client.recv().await,
            ServerMessage::Hello { version: protocol::PROTOCOL_VERSION }
        );
        client
    }

    /// Reads until the relay closes the connection; its close code (`None`: closed without).
    pub async fn close_code(&mut self) -> Option<u16> {
        loop {
            let frame =
                tokio::time::timeout(WAIT, self.ws.next()).await.expect("the close in time");
            match frame {
                Some(Ok(Message::Close(frame))) => return frame.map(|f| u16::from(f.code)),
                None | Some(Err(_)) => return None,
                Some(Ok(_)) => continue,
            }
        }
    }

    pub async fn send(&mut self, message: &ClientMessage) {
        self.send_text(&protocol::encode(message)).await;
    }

    pub async fn send_text(&mut self, text: &str) {
        self.ws.send(Message::text(text)).await.unwrap();
    }

    /// Sends, reporting instead of panicking if the relay has hung up.
    pub async fn try_send(&mut self, message: &ClientMessage) -> bool {
        self.ws.send(Message::text(protocol::encode(message))).await.is_ok()
    }

    pub async fn send_binary(&mut self, bytes: Vec<u8>) {
        self.ws.send(Message::binary(bytes)).await.unwrap();
    }

    pub async fn join(&mut self, room: &str, name: &str) {
        self.join_resuming(room, name, None).await;
    }

    /// Joins, asking for the seat `resume` (a `welcome`'s `resume_token`) back.
    pub async fn join_resuming(&mut self, room: &str, name: &str, resume: Option<String>) {
        self.join_as(room, name, resume, None, None).await;
    }

    /// Joins with the signed invitation `link`.
    pub async fn join_with_link(&mut self, room: &str, name: &str, link: Option<&str>) {
        self.join_as(room, name, None, link, None).await;
    }

    /// Joins from the browser that keeps the id `device`.
    pub async fn join_from_device(&mut self, room: &str, name: &str, device: &str) {
        self.join_as(room, name, None, None, Some(device)).await;
    }

    /// Joins with a room password.
    pub async fn join_with_password(&mut self, room: &str, name: &str, password: &str) {
        self.send(&ClientMessage::Join {
            request_id: None,
            room: room.into(),
            name: name.into(),
            media: MediaState::default(),
            resume: None,
            link: None,
            device: None,
            password: Some(password.into()),
            kept: vec![],
            kept_relay: false,
        })
        .await;
    }

    async fn join_as(
        &mut self,
        room: &str,
        name: &str,
        resume: Option<String>,
        link: Option<&str>,
        device: Option<&str>,
    ) {
        self.send(&ClientMessage::Join {
            request_id: None,
            room: room.into(),
            name: name.into(),
            media: MediaState::default(),
            resume,
            link: link.map(str::to_owned),
            device: device.map(str::to_owned),
            password: None,
            kept: vec![],
            kept_relay: false,
        })
        .await;
    }

    /// The next protocol message; fails after [`WAIT`].
    pub async fn recv(&mut self) -> ServerMessage {
        match self.next().await {
            Some(message) => message,
            None => panic!("connection closed while waiting for a message"),
        }
    }

    /// The next protocol message, or `None` once the connection is closed.
    pub async fn next(&mut self) -> Option<ServerMessage> {
        self.next_within(WAIT).await
    }

    /// The next protocol message; fails after `wait`.
    pub async fn recv_within(&mut self, wait: Duration) -> ServerMessage {
        match self.next_within(wait).await {
            Some(message) => message,
            None => panic!("connection closed while waiting for a message"),
        }
    }

    async fn next_within(&mut self, wait: Duration) -> Option<ServerMessage> {
        loop {
            let frame =
                tokio::time::timeout(wait, self.ws.next()).await.expect("a message in time");
            match frame {
                Some(Ok(Message::Text(text))) => {
                    return Some(
                        protocol::decode_server(&text, usize::MAX).expect("valid server JSON"),
                    );
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return None,
                Some(Ok(_)) => continue,
            }
        }
    }

    /// Asserts that nothing arrives for a while.
    pub async fn expect_silence(&mut self, wait: Duration) {
        if let Ok(frame) = tokio::time::timeout(wait, self.ws.next()).await {
            match frame {
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                other => panic!("expected nothing, got {other:?}"),
            }
        }
    }

    /// Whether the connection still answers a ping.
    pub async fn is_alive(&mut self) -> bool {
        self.send(&ClientMessage::Ping { nonce: 77 }).await;
        loop {
            match self.next().await {
                Some(ServerMessage::Pong { nonce: 77 }) => return true,
                Some(_) => continue,
                None => return false,
            }
        }
    }

    pub async fn close(mut self) {
        let _ = self.ws.close(None).await;
    }

    /// Closes as the app does when it gives up on a connection it will replace.
    pub async fn close_reconnecting(mut self) {
        use tokio_tungstenite::tungstenite::protocol::{CloseFrame, frame::coding::CloseCode};
        let frame = CloseFrame {
            code: CloseCode::from(protocol::CLOSE_RECONNECTING),
            reason: "reconnecting".into(),
        };
        let _ = self.ws.close(Some(frame)).await;
    }
}

/// The error code of an `error` message, or a panic.
pub fn error_code(message: &ServerMessage) -> protocol::ErrorCode {
    match message {
        ServerMessage::Error { code, .. } => *code,
        other => panic!("expected an error, got {other:?}"),
    }
}

/// The English sentence of an `error` message.
pub fn error_message(message: &ServerMessage) -> String {
    match message {
        ServerMessage::Error { message, .. } => message.clone(),
        other => panic!("expected an error, got {other:?}"),
    }
}

/// The body of `GET path` on the relay at `addr`.
pub async fn http_get(addr: SocketAddr, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    response.split_once("\r\n\r\n").map(|(_, body)| body.to_owned()).unwrap_or_default()
}

/// One HTTP/1.1 request to the relay at `addr` with these header lines (`Host` among them) and
/// `body` (sent with its length when not empty): the status code and the body.
pub async fn http_request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut request = format!("{method} {path} HTTP/1.1\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    if !body.is_empty() {
        request.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let status = response.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = response.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
    (status, body)
}

/// A number from the relay's `/api/status`.
pub async fn status_of(addr: SocketAddr, field: &str) -> u64 {
    let body = http_get(addr, "/api/status").await;
    let status: serde_json::Value = serde_json::from_str(&body).unwrap();
    status[field].as_u64().unwrap_or_else(|| panic!("no {field} in {body}"))
}

/// A TLS client configuration that trusts `root` only, as a town's computers trust the town's
/// certificate authority (or one certificate made for a test).
pub fn tls_client_trusting(
    root: rustls::pki_types::CertificateDer<'static>,
) -> std::sync::Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(root).unwrap();
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    std::sync::Arc::new(config)
}
