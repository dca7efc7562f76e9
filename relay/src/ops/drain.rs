//! Shutdown: when the first signal comes, the relay drains (no one new, meetings go on) and
//! then tells every connection to stop.

use std::{sync::Arc, time::Duration};

use futures_util::StreamExt;
use tokio::sync::watch;
use tracing::info;

use crate::startup::Shared;

/// Waits for the first signal, lets the meetings drain (see `run`), then tells every
/// connection to stop.
pub(crate) async fn drain_then_stop(
    mut signals: impl futures_util::Stream<Item = ()> + Unpin,
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
) {
    let _ = signals.next().await;
    let drain = shared.config.drain();
    let rooms = shared.hub().rooms().room_count();
    if !drain.is_zero() && rooms > 0 {
        shared.hub().drain();
        info!(
            rooms,
            "draining: no one new; stopping when the meetings end, in {drain:?} at most, or on another signal"
        );
        let deadline = tokio::time::sleep(drain);
        tokio::pin!(deadline);
        let mut every = tokio::time::interval(Duration::from_secs(1));
        let mut listening = true;
        loop {
            tokio::select! {
                () = &mut deadline => {
                    info!("drain time is up");
                    break;
                }
                signal = signals.next(), if listening => match signal {
                    Some(()) => {
                        info!("another signal: not waiting for the meetings to end");
                        break;
                    }
                    None => listening = false,
                },
                _ = every.tick() => {
                    if shared.hub().rooms().room_count() == 0 {
                        info!("every meeting has ended");
                        break;
                    }
                }
            }
        }
    }
    let _ = stop.send(true);
}
