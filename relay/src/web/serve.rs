//! The HTTP server loop, for the relay's port (plain or HTTPS) and the plain-HTTP redirect:
//! bounded in connections and in time, so that clients which connect and then say nothing, or
//! say it one byte at a time, cannot pile up.
//!
//! - **How many.** A connection takes a place from [`Connections`] before anything is read: at
//!   most `max_per_address` from one address (its TCP peer; an IPv6 address counts by its /64)
//!   and `max_total` in all. Beyond that it is closed at once. A connection that becomes a
//!   WebSocket gives its place back; WebSockets are counted by their own limits.
//! - **How long.** A TLS handshake must finish within [`HANDSHAKE_TIMEOUT`], and each request's
//!   head (request line and headers) must arrive within [`HEAD_TIMEOUT`] of the server starting
//!   to wait for it, so an idle keep-alive connection is closed after that time too.
//! - **Shutdown.** When `stop` turns true, no one new is accepted; connections finish the
//!   request they are in (for [`SHUTDOWN_GRACE`] at most) and close.

use std::{net::SocketAddr, time::Duration};

use axum::{Router, extract::ConnectInfo};
use hyper::{body::Incoming, server::conn::http1, service::service_fn};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::{
    io::{AsyncRead, AsyncWrite},
    net::TcpListener,
    sync::watch,
};
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt as _;
use tracing::{debug, warn};

use crate::web::admission::Connections;

/// How long a client has to finish its TLS handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a client has to send a request's head, from when the server waits for it.
pub const HEAD_TIMEOUT: Duration = Duration::from_secs(10);
/// How long connections get to finish their request when the relay stops.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);
/// HTTP connections open at once, from everyone (WebSockets not counted).
pub const MAX_HTTP_CONNECTIONS: usize = 4096;

/// Serves `app` on `listener` (over TLS with `tls`) until `stop` turns true, then waits for the
/// open connections, [`SHUTDOWN_GRACE`] at most. `places` bounds the connections.
pub async fn serve(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    app: Router,
    places: Connections,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = stopped(&mut stop) => break,
        };
        let (stream, addr) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors and the like: wait, then go on.
                warn!("HTTP: cannot accept: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let place = match places.admit(addr.ip()) {
            Ok(place) => place,
            Err(refused) => {
                debug!(%addr, "HTTP: connection closed at once: {refused}");
                continue;
            }
        };
        let (tls, app, stop) = (tls.clone(), app.clone(), stop.clone());
        tokio::spawn(async move {
            let _ = stream.set_nodelay(true);
            match tls {
                None => serve_connection(stream, addr, app, stop).await,
                Some(acceptor) => {
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                        Ok(Ok(tls)) => serve_connection(tls, addr, app, stop).await,
                        Ok(Err(e)) => debug!(%addr, "HTTPS: handshake failed: {e}"),
                        Err(_) => debug!(%addr, "HTTPS: no handshake within {HANDSHAKE_TIMEOUT:?}"),
                    }
                }
            }
            drop(place);
        });
    }
    // Wait for the connections to finish their requests.
    let deadline = tokio::time::Instant::now() + SHUTDOWN_GRACE;
    while places.open().0 > 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// One connection: HTTP/1.1 requests until the client goes, its head is late, it becomes a
/// WebSocket, or the relay stops.
async fn serve_connection<S>(
    stream: S,
    addr: SocketAddr,
    app: Router,
    mut stop: watch::Receiver<bool>,
) where
    S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let service = service_fn(move |mut request: hyper::Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(addr));
        app.clone().oneshot(request)
    });
    let mut builder = http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(HEAD_TIMEOUT);
    let connection = builder.serve_connection(TokioIo::new(stream), service).with_upgrades();
    tokio::pin!(connection);
    let result = tokio::select! {
        result = connection.as_mut() => result,
        () = stopped(&mut stop) => {
            connection.as_mut().graceful_shutdown();
            match tokio::time::timeout(SHUTDOWN_GRACE, connection.as_mut()).await {
                Ok(result) => result,
                Err(_) => return,
            }
        }
    };
    if let Err(e) = result {
        debug!(%addr, "HTTP connection ended: {e}");
    }
}

/// Returns once `stop` is true (or its sender is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stop| *stop).await;
}

/// The places of [`serve`]: `max_per_address` connections per address, and
/// [`MAX_HTTP_CONNECTIONS`] in all.
pub fn places(max_per_address: usize) -> Connections {
    Connections::new(max_per_address, MAX_HTTP_CONNECTIONS)
}
