//! One task per WebSocket connection: it selects over its socket, its outbox, a keepalive
//! ticker and the shutdown signal. All decisions are made by [`Session`] (per connection) and
//! [`Hub`](crate::signalling::hub::Hub) (per relay).

use std::{
    net::SocketAddr,
    sync::{Arc, atomic::Ordering},
    time::{Duration, Instant},
};

use axum::{
    extract::{
        ConnectInfo, State, WebSocketUpgrade,
        ws::{CloseFrame, Message, WebSocket},
    },
    response::IntoResponse,
};
use futures_util::{SinkExt, StreamExt};
use protocol::{ErrorCode, ServerMessage};
use tokio::sync::watch;
use tracing::{debug, info, warn};

use crate::{
    config::tenants::TenantId,
    signalling::Now,
    signalling::hub::After,
    signalling::outbox::{AbandonWatch, Inbox},
    signalling::rooms::ConnId,
    signalling::session::{End, Frame, Session, SessionLimits, Step, Tick},
    web::admission::{Refused, client_address, header},
    web::state::Shared,
};

/// How often a connection asks its session's keepalive what to do (ping, or close).
const KEEPALIVE_TICK: Duration = Duration::from_secs(1);
/// Read and write buffer of each WebSocket.
const SOCKET_BUFFER_BYTES: usize = 8 * 1024;
/// How long a closing connection waits for the client's close frame.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);
/// How long one message may take to go out before the client counts as not reading.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

pub(crate) async fn websocket(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: axum::http::HeaderMap,
    upgrade: WebSocketUpgrade,
) -> axum::response::Response {
    use axum::http::StatusCode;
    let addr = client_address(
        peer.ip(),
        header(&headers, "x-forwarded-for"),
        &shared.config.trusted_proxies,
    );
    let (origin, host) = (header(&headers, "origin"), header(&headers, "host"));
    if !shared.origins.allows(origin, host) {
        warn!(%addr, ?origin, ?host, "refused a WebSocket from a page of another origin (--allowed-origins; behind a proxy: proxy_set_header Host $host, or --public-url)");
        return (StatusCode::FORBIDDEN, "This page may not use this relay.\n").into_response();
    }
    let tenant = shared.tenants.of_connection(origin, host);
    let place = match shared.connections.admit(addr) {
        Ok(place) => place,
        Err(refused) => {
            debug!(%addr, "refused a connection: {refused}");
            let status = match refused {
                Refused::TooManyFromAddress => StatusCode::TOO_MANY_REQUESTS,
                Refused::Full => StatusCode::SERVICE_UNAVAILABLE,
            };
            return (status, format!("{refused}\n")).into_response();
        }
    };
    // Frames somewhat over the limit are read and answered with `message_too_large`; frames far
    // over it are not even buffered, and end the connection.
    let hard_limit = shared.config.max_message_bytes.saturating_mul(4).max(1 << 20);
    upgrade
        // Signalling is a trickle of small messages; tungstenite's 128 KiB default buffers would
        // cost far more memory per participant than everything else together.
        .read_buffer_size(SOCKET_BUFFER_BYTES)
        .write_buffer_size(SOCKET_BUFFER_BYTES)
        .max_message_size(hard_limit)
        .max_frame_size(hard_limit)
        .on_upgrade(move |socket| async move {
            connection(socket, shared, peer, addr, tenant).await;
            drop(place);
        })
        .into_response()
}

/// Runs one WebSocket connection from upgrade to close.
async fn connection(
    socket: WebSocket,
    shared: Arc<Shared>,
    peer: SocketAddr,
    addr: std::net::IpAddr,
    tenant: TenantId,
) {
    let _alive = shared.alive.clone();
    let conn = ConnId(shared.next_conn.fetch_add(1, Ordering::Relaxed));
    debug!(?conn, %peer, tenant = shared.tenants.label(tenant), "connected");
    let (outbox, inbox) = crate::signalling::outbox::outbox();
    let abandon = inbox.watch_abandon();
    shared.hub().connect(conn, outbox, Some(addr), tenant);

    let config = &shared.config;
    let session = Session::new(
        SessionLimits {
            max_message_bytes: config.max_message_bytes,
            messages_per_second: config.messages_per_second,
            message_burst: config.message_burst,
            idle_timeout: config.idle_timeout(),
        },
        Instant::now(),
    );
    let (sink, mut stream) = socket.split();
    let mut keepalive = tokio::time::interval(KEEPALIVE_TICK);
    keepalive.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut shutdown = shared.shutdown.clone();
    let mut carrier = Carrier { conn, peer, shared: &shared, session, sink, inbox };
    // Whether the seat goes with the connection, and which close frame goes out, is the
    // session's decision (`End`); this loop only names how the connection ended.
    let end: End = loop {
        let ended = tokio::select! {
            frame = stream.next() => carrier.read(frame).await,
            queued = carrier.inbox.recv() => carrier.write(queued, &abandon).await,
            () = abandon.abandoned() => Some(End::TooSlow),
            _ = keepalive.tick() => carrier.tick().await,
            _ = stopped(&mut shutdown) => Some(carrier.shut_down().await),
        };
        if let Some(end) = ended {
            break end;
        }
    };

    let Carrier { mut sink, .. } = carrier;
    shared.hub().disconnect(conn, end.gives_up_seat(), Now::read());
    if end == End::NotReading {
        // The socket takes nothing: closing politely would only wait for it again.
        debug!(?conn, "disconnected (not reading)");
        return;
    }
    if let Some((code, reason)) = end.close_frame() {
        let close = Message::Close(Some(CloseFrame { code, reason: reason.into() }));
        let _ = send_within(&mut sink, close).await;
        // Complete the closing handshake: read (and discard) until the client's close arrives,
        // so unread input does not turn the close into a TCP reset that destroys the goodbye.
        let _ = tokio::time::timeout(CLOSE_TIMEOUT, async {
            while let Some(Ok(frame)) = stream.next().await {
                if matches!(frame, Message::Close(_)) {
                    break;
                }
            }
        })
        .await;
    }
    let _ = tokio::time::timeout(CLOSE_TIMEOUT, sink.close()).await;
    debug!(?conn, "disconnected");
}

/// What carries one connection's traffic: its session, its socket's sending half and its
/// outbox. Each method handles one kind of event and says whether the connection ends.
struct Carrier<'a> {
    /// The connection.
    conn: ConnId,
    /// Its address, for the log.
    peer: SocketAddr,
    /// The relay's shared state.
    shared: &'a Shared,
    /// The connection's rules.
    session: Session,
    /// The socket's sending half.
    sink: futures_util::stream::SplitSink<WebSocket, Message>,
    /// What the hub queued for this connection.
    inbox: Inbox,
}

impl Carrier<'_> {
    /// The socket's next frame (`None`: the socket closed).
    async fn read(&mut self, frame: Option<Result<Message, axum::Error>>) -> Option<End> {
        let now = Now::read();
        self.session.heard(now.at);
        let step = match frame {
            Some(Ok(Message::Text(text))) => {
                self.session.on_frame(now.at, Frame::Text(text.as_str()))
            }
            Some(Ok(Message::Binary(_))) => self.session.on_frame(now.at, Frame::Binary),
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => return None,
            Some(Ok(Message::Close(frame))) => {
                return Some(End::ClientClosed(frame.map(|f| f.code)));
            }
            None => return Some(End::Dropped),
            Some(Err(e)) => {
                debug!(conn = ?self.conn, "socket error: {e}");
                return Some(End::Malformed);
            }
        };
        let dropped = self.session.take_dropped();
        if dropped > 0 {
            self.shared.rate_limited.fetch_add(dropped, Ordering::Relaxed);
        }
        self.step(step, now).await
    }

    /// Carries out what the session made of a frame that came at `now`.
    async fn step(&mut self, step: Step, now: Now) -> Option<End> {
        let (conn, shared) = (self.conn, self.shared);
        match step {
            Step::Handle(message) => {
                let after = shared.hub().handle(conn, message, now);
                if let After::WaitForMedia(command) = after {
                    // Back-pressure: this connection is read on once its signal is in the
                    // media loop's queue, or refused after a while, never lost.
                    let media = shared.hub().media();
                    if let Some(media) = media
                        && let Err(busy) =
                            media.send_waiting(command, crate::media::SIGNAL_WAIT).await
                    {
                        warn!(?conn, "signal refused: the media loop stayed full");
                        shared.hub().media_refused(conn, &busy, Now::read());
                    }
                } else if after.restarts() {
                    // A join while the relay drains: the answer goes out, then the browser is
                    // sent to try again.
                    self.flush().await;
                    return Some(End::Restarting);
                }
                None
            }
            Step::Reply(reply) => {
                shared.hub().send(conn, reply, now);
                None
            }
            Step::Ignore => None,
            Step::Close(farewell) => {
                warn!(?conn, peer = %self.peer, "closing connection: {farewell:?}");
                // What was queued before the violation still goes out, in order.
                self.flush().await;
                let _ = send_within(&mut self.sink, text(&farewell)).await;
                Some(End::Violation)
            }
        }
    }

    /// Sends what is queued now, in order, until the socket fails.
    async fn flush(&mut self) {
        while let Some(queued) = self.inbox.try_recv() {
            if send_within(&mut self.sink, Message::Text(queued.into())).await.is_err() {
                break;
            }
        }
    }

    /// The next message the hub queued (`None`: the hub dropped the outbox).
    async fn write(&mut self, queued: Option<String>, abandon: &AbandonWatch) -> Option<End> {
        let Some(message) = queued else {
            // The hub dropped our outbox: we fell too far behind, or the hub ended the
            // connection (removed by a host, whose message went out first; or lost by the
            // media loop, and the browser comes back into its seat).
            return Some(if abandon.is_abandoned() { End::TooSlow } else { End::EndedByRelay });
        };
        let began = Instant::now();
        let sent = tokio::select! {
            sent = send_within(&mut self.sink, Message::Text(message.into())) => sent,
            () = abandon.abandoned() => Err(Unsent::TooSlow),
        };
        match sent {
            Ok(()) => {}
            Err(Unsent::Broken) => return Some(End::Dropped),
            Err(Unsent::TooSlow) => {
                info!(conn = ?self.conn, peer = %self.peer, "not reading; closing");
                return Some(End::NotReading);
            }
        }
        // Nothing is read while a slow client makes us wait to write: that time must not
        // count as the client's silence.
        self.session.excuse(began.elapsed());
        None
    }

    /// The keepalive's tick: ping, or close a connection that said nothing (or no `hello`).
    async fn tick(&mut self) -> Option<End> {
        match self.session.on_tick(Instant::now()) {
            Tick::Wait => None,
            Tick::Ping => {
                let began = Instant::now();
                if send_within(&mut self.sink, Message::Ping(Default::default())).await.is_err() {
                    return Some(End::Dropped);
                }
                self.session.excuse(began.elapsed());
                None
            }
            Tick::HelloOverdue(farewell) => {
                debug!(conn = ?self.conn, peer = %self.peer, "no hello in time; closing");
                let _ = send_within(&mut self.sink, text(&farewell)).await;
                Some(End::NoHello)
            }
            Tick::Silent { for_ } => {
                let limit = self.shared.config.idle_timeout();
                info!(conn = ?self.conn, silent = ?for_, "silent for longer than {limit:?}; closing");
                Some(End::Silent)
            }
        }
    }

    /// The relay shuts down: say so.
    async fn shut_down(&mut self) -> End {
        let goodbye = ServerMessage::Error {
            request_id: None,
            code: ErrorCode::ShuttingDown,
            message: "The relay is restarting. Please rejoin in a moment.".into(),
        };
        let _ = send_within(&mut self.sink, text(&goodbye)).await;
        End::ShuttingDown
    }
}

/// Why a message did not go out.
enum Unsent {
    /// The connection is gone.
    Broken,
    /// The client did not take it within [`WRITE_TIMEOUT`]: it stopped reading.
    TooSlow,
}

/// Sends `message`, giving up after [`WRITE_TIMEOUT`] (a client that stops reading must not
/// hold its task, its memory and its socket forever).
async fn send_within(
    sink: &mut futures_util::stream::SplitSink<WebSocket, Message>,
    message: Message,
) -> Result<(), Unsent> {
    match tokio::time::timeout(WRITE_TIMEOUT, sink.send(message)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(_)) => Err(Unsent::Broken),
        Err(_) => Err(Unsent::TooSlow),
    }
}

/// Completes once the relay is shutting down.
async fn stopped(shutdown: &mut watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|stop| *stop).await;
}

fn text(message: &ServerMessage) -> Message {
    Message::Text(protocol::encode(message).into())
}
