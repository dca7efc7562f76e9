//! An abusive client: on fresh connection after fresh connection it joins a room, sends the relay
//! a real offer and leaves, as fast as the relay lets it. The load generator runs a number of
//! them beside well-behaved rooms to show what they cost everyone else (docs/benchmarks.md).

use std::{
    net::{IpAddr, SocketAddr},
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use futures_util::{SinkExt, StreamExt};
use protocol::{ClientMessage, MediaState, ServerMessage, Signal};
use tokio_tungstenite::tungstenite::Message;

use crate::peer::{PeerConfig, SyntheticPeer};

/// What the abusers achieved, all together.
#[derive(Debug, Default)]
pub struct AbuseCounters {
    /// Joins the relay welcomed (each followed by an offer and a leave).
    pub joins: AtomicU64,
    /// Refusals and closed connections (rate limits, connection limits).
    pub refused: AtomicU64,
}

/// Joins per connection before the abuser opens a new one (the relay's join budget for one
/// connection is smaller; a refusal also moves on to a new connection).
const JOINS_PER_CONNECTION: usize = 20;

/// Loops until `until`: connect, then join `room`, offer, leave, again and again.
pub async fn run(
    url: String,
    room: String,
    bind: IpAddr,
    seed: u64,
    until: Instant,
    counters: Arc<AbuseCounters>,
) {
    // One real offer (audio and simulcast video), made once and sent every time: the relay
    // parses each as it would a browser's.
    let now = Instant::now();
    let config =
        PeerConfig { local_addr: SocketAddr::new(bind, 9), publish: true, simulcast: true, seed };
    let Some(sdp) = SyntheticPeer::new(now, config).ok().and_then(|mut p| p.create_offer(now).ok())
    else {
        return;
    };
    while Instant::now() < until {
        let left = until.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, connection(&url, &room, &sdp, &counters)).await {
            Ok(Ok(())) | Err(_) => {}
            Ok(Err(())) => {
                counters.refused.fetch_add(1, Ordering::Relaxed);
                // A refused connection (limits): try again soon, as a script would.
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
}

/// One connection's worth of joins; `Err` when the relay refused or closed it.
async fn connection(url: &str, room: &str, sdp: &str, counters: &AbuseCounters) -> Result<(), ()> {
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.map_err(|_| ())?;
    let send = |message: ClientMessage| Message::Text(protocol::encode(&message).into());
    ws.send(send(ClientMessage::Hello { version: protocol::PROTOCOL_VERSION }))
        .await
        .map_err(|_| ())?;
    for i in 0..JOINS_PER_CONNECTION {
        let join = ClientMessage::Join {
            request_id: None,
            room: room.to_owned(),
            name: format!("Abuser {i}"),
            media: MediaState { audio: true, video: true, screen: false },
            resume: None,
            link: None,
            device: None,
            password: None,
            kept: vec![],
            kept_relay: false,
        };
        ws.send(send(join)).await.map_err(|_| ())?;
        loop {
            match ws.next().await {
                Some(Ok(Message::Text(text))) => {
                    match protocol::decode_server(text.as_str(), 1 << 20) {
                        Ok(ServerMessage::Welcome { .. }) => break,
                        Ok(ServerMessage::Error { .. }) => return Err(()),
                        _ => continue,
                    }
                }
                Some(Ok(_)) => continue,
                _ => return Err(()),
            }
        }
        counters.joins.fetch_add(1, Ordering::Relaxed);
        let offer = ClientMessage::RelaySignal { signal: Signal::Offer { sdp: sdp.to_owned() } };
        ws.send(send(offer)).await.map_err(|_| ())?;
        ws.send(send(ClientMessage::Leave)).await.map_err(|_| ())?;
    }
    let _ = ws.close(None).await;
    Ok(())
}
