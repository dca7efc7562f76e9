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
    signalling::hub::After,
    signalling::rooms::ConnId,
    signalling::session::{End, Frame, Session, SessionLimits, Step, Tick},
    web::admission::{Refused, client_address},
    web::routes::header,
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
    let (outbox, mut inbox) = crate::signalling::outbox::outbox();
    let abandon = inbox.watch_abandon();
    shared.hub().connect(conn, outbox, Some(addr), tenant);

    let config = &shared.config;
    let mut session = Session::new(
        SessionLimits {
            max_message_bytes: config.max_message_bytes,
            messages_per_second: config.messages_per_second,
            message_burst: config.message_burst,
            idle_timeout: config.idle_timeout(),
        },
        Instant::now(),
    );
    let (mut sink, mut stream) = socket.split();
    let mut keepalive = tokio::time::interval(KEEPALIVE_TICK);
    keepalive.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut shutdown = shared.shutdown.clone();
    // Whether the seat goes with the connection, and which close frame goes out, is the
    // session's decision (`End`); this loop only names how the connection ended.
    let end: End = loop {
        tokio::select! {
            frame = stream.next() => {
                let now = Instant::now();
                session.heard(now);
                let step = match frame {
                    Some(Ok(Message::Text(text))) => session.on_frame(now, Frame::Text(text.as_str())),
                    Some(Ok(Message::Binary(_))) => session.on_frame(now, Frame::Binary),
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                    Some(Ok(Message::Close(frame))) => break End::ClientClosed(frame.map(|f| f.code)),
                    None => break End::Dropped,
                    Some(Err(e)) => {
                        debug!(?conn, "socket error: {e}");
                        break End::Malformed;
                    }
                };
                let dropped = session.take_dropped();
                if dropped > 0 {
                    shared.rate_limited.fetch_add(dropped, Ordering::Relaxed);
                }
                match step {
                    Step::Handle(message) => {
                        let after = shared.hub().handle(conn, message);
                        if let After::WaitForMedia(command) = after {
                            // Back-pressure: this connection is read on once its signal is in
                            // the media loop's queue, or refused after a while, never lost.
                            let media = shared.hub().media();
                            if let Some(media) = media
                                && let Err(busy) = media.send_waiting(command, crate::media::SIGNAL_WAIT).await
                            {
                                warn!(?conn, "signal refused: the media loop stayed full");
                                shared.hub().media_refused(conn, &busy);
                            }
                        } else if after.restarts() {
                            // A join while the relay drains: the answer goes out, then the
                            // browser is sent to try again.
                            while let Some(queued) = inbox.try_recv() {
                                if send_within(&mut sink, Message::Text(queued.into())).await.is_err() {
                                    break;
                                }
                            }
                            break End::Restarting;
                        }
                    }
                    Step::Reply(reply) => { shared.hub().send(conn, reply); }
                    Step::Ignore => {}
                    Step::Close(farewell) => {
                        warn!(?conn, %peer, "closing connection: {farewell:?}");
                        // What was queued before the violation still goes out, in order.
                        while let Some(queued) = inbox.try_recv() {
                            if send_within(&mut sink, Message::Text(queued.into())).await.is_err() {
                                break;
                            }
                        }
                        let _ = send_within(&mut sink, text(&farewell)).await;
                        break End::Violation;
                    }
                }
            }
            queued = inbox.recv() => match queued {
                Some(message) => {
                    let began = Instant::now();
                    let sent = tokio::select! {
                        sent = send_within(&mut sink, Message::Text(message.into())) => sent,
                        () = abandon.abandoned() => Err(Unsent::TooSlow),
                    };
                    match sent {
                        Ok(()) => {}
                        Err(Unsent::Broken) => break End::Dropped,
                        Err(Unsent::TooSlow) => {
                            info!(?conn, %peer, "not reading; closing");
                            break End::NotReading;
                        }
                    }
                    // Nothing is read while a slow client makes us wait to write: that time
                    // must not count as the client's silence.
                    session.excuse(began.elapsed());
                }
                // The hub dropped our outbox: we fell too far behind, or the hub ended the
                // connection (removed by a host, whose message went out first; or lost by the
                // media loop, and the browser comes back into its seat).
                None if abandon.is_abandoned() => break End::TooSlow,
                None => break End::EndedByRelay,
            },
            () = abandon.abandoned() => break End::TooSlow,
            _ = keepalive.tick() => match session.on_tick(Instant::now()) {
                Tick::Wait => {}
                Tick::Ping => {
                    let began = Instant::now();
                    if send_within(&mut sink, Message::Ping(Default::default())).await.is_err() {
                        break End::Dropped;
                    }
                    session.excuse(began.elapsed());
                }
                Tick::HelloOverdue(farewell) => {
                    debug!(?conn, %peer, "no hello in time; closing");
                    let _ = send_within(&mut sink, text(&farewell)).await;
                    break End::NoHello;
                }
                Tick::Silent { for_ } => {
                    info!(?conn, silent = ?for_, "silent for longer than {:?}; closing", config.idle_timeout());
                    break End::Silent;
                }
            },
            _ = stopped(&mut shutdown) => {
                let goodbye = ServerMessage::Error {
                    request_id: None,
                    code: ErrorCode::ShuttingDown,
                    message: "The relay is restarting. Please rejoin in a moment.".into(),
                };
                let _ = send_within(&mut sink, text(&goodbye)).await;
                break End::ShuttingDown;
            }
        }
    };

    shared.hub().disconnect(conn, end.gives_up_seat());
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
