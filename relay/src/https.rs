//! HTTPS for the web app, signalling and `/metrics` (`--https`): a listener that hands axum
//! connections whose TLS handshake has finished, and the watcher that reloads the certificate.
//!
//! Handshakes run in tasks of their own, at most [`MAX_HANDSHAKES`] at once and each within
//! [`HANDSHAKE_TIMEOUT`], so a client that opens a connection and says nothing holds up nobody.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use tokio::{
    net::{TcpListener, TcpStream},
    sync::{Semaphore, mpsc, watch},
};
use tokio_rustls::{TlsAcceptor, server::TlsStream};
use tracing::{debug, info, warn};

use crate::tls::Certificates;

/// Handshakes in progress at most; connections beyond are closed at once.
pub const MAX_HANDSHAKES: usize = 512;
/// How long a client has to finish its handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How often the certificate files are looked at.
pub const RELOAD_INTERVAL: Duration = Duration::from_secs(5);

/// Connections whose TLS handshake has finished, for `axum::serve`.
#[derive(Debug)]
pub struct TlsListener {
    local: SocketAddr,
    ready: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
}

impl TlsListener {
    /// Accepts on `listener` and shakes hands with `certificates`' current pair (HTTP/1.1).
    pub fn new(listener: TcpListener, certificates: &Arc<Certificates>) -> std::io::Result<Self> {
        let local = listener.local_addr()?;
        let config = certificates.server_config(&[b"http/1.1"]).map_err(std::io::Error::other)?;
        let acceptor = TlsAcceptor::from(config);
        let (ready_tx, ready) = mpsc::channel(64);
        tokio::spawn(async move {
            let handshakes = Arc::new(Semaphore::new(MAX_HANDSHAKES));
            loop {
                let accepted = tokio::select! {
                    accepted = listener.accept() => accepted,
                    () = ready_tx.closed() => break,
                };
                let (stream, addr) = match accepted {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        // Out of file descriptors and the like: wait, then go on.
                        warn!("HTTPS: cannot accept: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let Ok(permit) = Arc::clone(&handshakes).try_acquire_owned() else {
                    debug!(%addr, "HTTPS: too many handshakes at once; closed");
                    continue;
                };
                let (acceptor, ready_tx) = (acceptor.clone(), ready_tx.clone());
                tokio::spawn(async move {
                    let _ = stream.set_nodelay(true);
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                        Ok(Ok(tls)) => {
                            drop(permit);
                            let _ = ready_tx.send((tls, addr)).await;
                        }
                        Ok(Err(e)) => debug!(%addr, "HTTPS: handshake failed: {e}"),
                        Err(_) => debug!(%addr, "HTTPS: no handshake within {HANDSHAKE_TIMEOUT:?}"),
                    }
                });
            }
        });
        Ok(Self { local, ready })
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(connection) => connection,
            // The accepting task only ends when this listener is dropped.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}

/// Reloads `certificates` when its files change (looked at every [`RELOAD_INTERVAL`]) and on
/// SIGHUP, until `stop` turns true. Without certificates it only answers SIGHUP (so that
/// `systemctl reload` never ends the relay).
pub async fn watch_certificates(
    certificates: Option<Arc<Certificates>>,
    mut stop: watch::Receiver<bool>,
) {
    let mut every = tokio::time::interval(RELOAD_INTERVAL);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    #[cfg(unix)]
    let mut hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
    loop {
        #[cfg(unix)]
        let hung_up = async {
            match hangup.as_mut() {
                Some(signal) => signal.recv().await,
                None => std::future::pending().await,
            }
        };
        #[cfg(not(unix))]
        let hung_up = std::future::pending::<Option<()>>();
        let force = tokio::select! {
            _ = every.tick() => false,
            _ = hung_up => true,
            _ = stop.wait_for(|stop| *stop) => break,
        };
        let Some(certificates) = &certificates else {
            if force {
                info!("SIGHUP: no TLS certificate to read again");
            }
            continue;
        };
        match certificates.reload_if_changed(force) {
            Ok(true) => info!("TLS certificate reloaded"),
            Ok(false) => {}
            Err(e) => warn!("TLS certificate not reloaded, the previous one stays in use: {e}"),
        }
    }
}
