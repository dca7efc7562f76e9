//! The watcher that reloads the certificate of HTTPS (`--https`) and TURN over TLS. The
//! handshakes themselves happen in [`crate::web::serve`].

use std::{sync::Arc, time::Duration};

use tokio::sync::watch;
use tracing::{info, warn};

use crate::web::tls::Certificates;

/// How often the certificate files are looked at.
pub const RELOAD_INTERVAL: Duration = Duration::from_secs(5);

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
