//! A synthetic Treffpunkt participant: the I/O shell around [`SyntheticPeer`] that speaks
//! Treffpunkt's signalling over a WebSocket, owns a UDP socket, and paces the media clock.

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::{Arc, atomic::AtomicU64},
    time::{Duration, Instant},
};

use futures_util::{SinkExt, StreamExt};
use protocol::{ClientMessage, MediaState, ParticipantId, RoomMode, ServerMessage, Signal};
use rtc::rtp::packet::Packet;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

use crate::{
    driver::{Driver, media_err},
    peer::Kind,
    stats::StreamStats,
};

/// Why a synthetic participant stopped early.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The relay could not be reached or closed the connection.
    #[error("signalling: {0}")]
    Signalling(String),
    /// The relay refused something.
    #[error("refused: {0}")]
    Refused(String),
    /// WebRTC failed.
    #[error("media: {0}")]
    Media(String),
    /// Local I/O.
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
}

/// A received packet, for tests that check the media itself.
#[derive(Debug, Clone)]
pub struct Observed {
    /// The stream it came on (`p<id>` for Treffpunkt).
    pub from: String,
    /// Audio or video.
    pub kind: Kind,
    /// When it arrived.
    pub at: Instant,
    /// The packet.
    pub packet: Packet,
}

/// Counters shared by all participants of a run, for live progress.
#[derive(Debug, Default)]
pub struct Progress {
    /// Participants whose media connection is up.
    pub connected: AtomicU64,
    /// Media packets received by all.
    pub received: AtomicU64,
    /// Media packets sent by all.
    pub sent: AtomicU64,
}

/// Steering a running participant from outside.
#[derive(Debug, Clone)]
pub enum Control {
    /// Go silent without closing anything, as if the network vanished.
    Freeze,
    /// Tell the relay how big another participant's video is shown.
    Quality {
        /// Whose video.
        from: ParticipantId,
        /// The quality.
        quality: protocol::VideoQuality,
    },
    /// Report this much receive bandwidth to the relay (bits/s), as a browser's estimate.
    Bandwidth(u64),
    /// Leave properly.
    Stop,
}

/// How a synthetic participant behaves.
#[derive(Debug, Clone)]
pub struct Options {
    /// The relay's WebSocket URL, e.g. `ws://127.0.0.1:8080/ws`.
    pub url: String,
    /// The room.
    pub room: String,
    /// The display name.
    pub name: String,
    /// Send audio and video.
    pub publish: bool,
    /// Send video as two simulcast layers.
    pub simulcast: bool,
    /// The address to bind the UDP socket to.
    pub bind_ip: IpAddr,
    /// Leave after this long.
    pub duration: Duration,
    /// Randomness for SSRCs and sequence numbers.
    pub seed: u64,
    /// The signed invitation to join with (relays with a link secret need one).
    pub link: Option<String>,
    /// Where to report every received packet, if anyone wants them.
    pub observer: Option<mpsc::UnboundedSender<Observed>>,
    /// Shared counters.
    pub progress: Arc<Progress>,
    /// Simulated loss: drop every n-th incoming RTP datagram (0: none).
    pub drop_every: u32,
}

/// What one participant measured.
#[derive(Debug, Default)]
pub struct Report {
    /// The id the relay gave it.
    pub id: Option<ParticipantId>,
    /// From starting to the media connection being up.
    pub connect_time: Option<Duration>,
    /// From starting to the first decodable picture of each received video track (the first
    /// packet of a keyframe; servers that forward from any frame get no credit for it).
    pub first_frames: Vec<Duration>,
    /// Per received track (track id, kind).
    pub streams: HashMap<(String, Kind), StreamStats>,
    /// Keyframe requests that reached this participant.
    pub keyframe_requests: u64,
    /// Media packets sent.
    pub sent: u64,
    /// Why it stopped early, if it did.
    pub error: Option<String>,
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn send(ws: &mut Ws, message: &ClientMessage) -> Result<(), LoadError> {
    ws.send(Message::Text(protocol::encode(message).into()))
        .await
        .map_err(|e| LoadError::Signalling(e.to_string()))
}

async fn recv(ws: &mut Ws) -> Result<ServerMessage, LoadError> {
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(text))) => {
                return protocol::decode_server(text.as_str(), 1 << 20)
                    .map_err(|e| LoadError::Signalling(e.to_string()));
            }
            Some(Ok(_)) => continue,
            Some(Err(e)) => return Err(LoadError::Signalling(e.to_string())),
            None => return Err(LoadError::Signalling("closed".into())),
        }
    }
}

/// Runs one participant until its time is up, it is stopped, or something fails.
pub async fn run(options: Options, mut control: mpsc::UnboundedReceiver<Control>) -> Report {
    let mut report = Report::default();
    if let Err(e) = run_inner(&options, &mut control, &mut report).await {
        report.error = Some(e.to_string());
    }
    report
}

async fn run_inner(
    options: &Options,
    control: &mut mpsc::UnboundedReceiver<Control>,
    report: &mut Report,
) -> Result<(), LoadError> {
    let started = Instant::now();
    let deadline = started + options.duration;
    let (mut ws, _) = tokio_tungstenite::connect_async(&options.url)
        .await
        .map_err(|e| LoadError::Signalling(e.to_string()))?;
    send(&mut ws, &ClientMessage::Hello { version: protocol::PROTOCOL_VERSION }).await?;
    let join = ClientMessage::Join {
        request_id: None,
        room: options.room.clone(),
        name: options.name.clone(),
        media: MediaState { audio: options.publish, video: options.publish, screen: false },
        resume: None,
        link: options.link.clone(),
        device: None,
        password: None,
        kept: vec![],
        kept_relay: false,
    };
    send(&mut ws, &join).await?;
    let mut mode = loop {
        match recv(&mut ws).await? {
            ServerMessage::Welcome { you, mode, .. } => {
                report.id = Some(you);
                break mode;
            }
            ServerMessage::Error { message, .. } => return Err(LoadError::Refused(message)),
            _ => continue,
        }
    };

    let mut driver = Driver::new(options, options.publish, started).await?;
    let mut offered = false;
    let mut control_open = true;

    loop {
        if mode == RoomMode::Sfu && !offered {
            offered = true;
            let sdp = driver.peer.create_offer(Instant::now()).map_err(media_err)?;
            send(&mut ws, &ClientMessage::RelaySignal { signal: Signal::Offer { sdp } }).await?;
        }
        driver.pump(options, report)?;
        if Instant::now() >= deadline {
            let _ = send(&mut ws, &ClientMessage::Leave).await;
            let _ = ws.close(None).await;
            return Ok(());
        }
        let wake = driver.next_wake(deadline);
        tokio::select! {
            received = driver.recv(options.drop_every) => received?,
            message = recv(&mut ws) => match message? {
                ServerMessage::ModeChanged { mode: new } => mode = new,
                ServerMessage::RelaySignal { signal: Signal::Answer { sdp } } => {
                    driver.peer.set_answer(Instant::now(), sdp).map_err(media_err)?;
                }
                ServerMessage::RelaySignal { signal: Signal::Offer { sdp } } => {
                    let sdp = driver.peer.answer(Instant::now(), sdp).map_err(media_err)?;
                    send(&mut ws, &ClientMessage::RelaySignal { signal: Signal::Answer { sdp } })
                        .await?;
                }
                ServerMessage::Error { code, message, .. } => {
                    if matches!(code, protocol::ErrorCode::ShuttingDown) {
                        return Err(LoadError::Refused(message));
                    }
                }
                _ => {}
            },
            command = control.recv(), if control_open => match command {
                Some(Control::Freeze) => {
                    // Hold the socket and the connection open but answer nothing, like a laptop
                    // whose network vanished, until the run ends.
                    tokio::time::sleep_until(deadline.into()).await;
                    return Ok(());
                }
                Some(Control::Quality { from, quality }) => {
                    send(&mut ws, &ClientMessage::ReceiveVideo { from, quality }).await?;
                }
                Some(Control::Bandwidth(bits_per_second)) => {
                    driver.peer.send_bandwidth_estimate(Instant::now(), bits_per_second);
                }
                Some(Control::Stop) => {
                    let _ = send(&mut ws, &ClientMessage::Leave).await;
                    let _ = ws.close(None).await;
                    return Ok(());
                }
                None => control_open = false,
            },
            _ = tokio::time::sleep_until(wake.into()) => driver.on_timeout(),
        }
    }
}
