//! A synthetic Treffpunkt participant: the I/O shell around [`SyntheticPeer`] that speaks
//! Treffpunkt's signalling over a WebSocket, owns a UDP socket, and paces the media clock.

use std::{
    collections::HashMap,
    net::{IpAddr, SocketAddr},
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use futures_util::{SinkExt, StreamExt};
use protocol::{ClientMessage, MediaState, ParticipantId, RoomMode, ServerMessage, Signal};
use rtc::rtp::packet::Packet;
use tokio::{net::UdpSocket, sync::mpsc};
use tokio_tungstenite::tungstenite::Message;

use crate::{
    assets::{AUDIO_PACKET_MS, FRAME_RATE, clip},
    peer::{Kind, PeerConfig, PeerEvent, SyntheticPeer},
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
    /// From starting to the first video frame of each publisher (first packet of a keyframe).
    pub first_frames: Vec<Duration>,
    /// Per received stream (publisher stream, kind).
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

    let socket = UdpSocket::bind(SocketAddr::new(options.bind_ip, 0)).await?;
    let local_addr = socket.local_addr()?;
    let media_err = |e: rtc::shared::error::Error| LoadError::Media(e.to_string());
    let mut peer = SyntheticPeer::new(
        Instant::now(),
        PeerConfig {
            local_addr,
            publish: options.publish,
            simulcast: options.simulcast,
            seed: options.seed,
        },
    )
    .map_err(media_err)?;
    let mut offered = false;
    let mut connected = false;
    let mut buffer = vec![0u8; 2048];

    let clip = clip();
    let frame_interval = Duration::from_micros(1_000_000 / u64::from(FRAME_RATE));
    let audio_interval = Duration::from_millis(u64::from(AUDIO_PACKET_MS));
    let mut next_frame = Instant::now();
    let mut next_audio = Instant::now();
    let (mut frame_no, mut clip_pos, mut audio_no) = (0u32, 0usize, 0u32);
    let ts_base = (options.seed >> 8) as u32;
    let mut first_frame_seen: HashMap<String, ()> = HashMap::new();
    let mut control_open = true;
    let mut rtp_datagrams = 0u32;

    loop {
        let now = Instant::now();
        if mode == RoomMode::Sfu && !offered {
            offered = true;
            let sdp = peer.create_offer(now).map_err(media_err)?;
            send(&mut ws, &ClientMessage::RelaySignal { signal: Signal::Offer { sdp } }).await?;
        }
        // Media on schedule, once connected.
        if connected && options.publish {
            while next_frame <= now {
                let low = &clip.low[clip_pos % clip.low.len()];
                let high = &clip.high[clip_pos % clip.high.len()];
                let frames: Vec<&bytes::Bytes> =
                    if options.simulcast { vec![low, high] } else { vec![high] };
                let sent = peer.send_video(now, &frames, ts_base.wrapping_add(frame_no * 3000));
                report.sent += sent as u64;
                options.progress.sent.fetch_add(sent as u64, Ordering::Relaxed);
                frame_no += 1;
                clip_pos += 1;
                next_frame += frame_interval;
            }
            while next_audio <= now {
                let packet = &clip.audio[audio_no as usize % clip.audio.len()];
                if peer.send_audio(now, packet, ts_base.wrapping_add(audio_no * 960), 30) {
                    report.sent += 1;
                    options.progress.sent.fetch_add(1, Ordering::Relaxed);
                }
                audio_no += 1;
                next_audio += audio_interval;
            }
        }
        while let Some((to, data)) = peer.poll_transmit() {
            let _ = socket.try_send_to(&data, to);
        }
        while let Some(event) = peer.poll_event() {
            match event {
                PeerEvent::Connected => {
                    if !connected {
                        connected = true;
                        report.connect_time = Some(started.elapsed());
                        options.progress.connected.fetch_add(1, Ordering::Relaxed);
                        next_frame = Instant::now();
                        next_audio = Instant::now();
                    }
                }
                PeerEvent::Failed => return Err(LoadError::Media("connection failed".into())),
                PeerEvent::KeyframeRequested => {
                    report.keyframe_requests += 1;
                    // The clip's loops start with keyframes: start the next loop now.
                    clip_pos = 0;
                }
                PeerEvent::Media { stream, kind, packet } => {
                    let at = Instant::now();
                    options.progress.received.fetch_add(1, Ordering::Relaxed);
                    let clock = if kind == Kind::Audio { 48_000 } else { 90_000 };
                    if kind == Kind::Video
                        && !first_frame_seen.contains_key(&stream)
                        && packet.payload.first().is_some_and(|b| b & 0x10 != 0)
                    {
                        first_frame_seen.insert(stream.clone(), ());
                        report.first_frames.push(started.elapsed());
                    }
                    report
                        .streams
                        .entry((stream.clone(), kind))
                        .or_insert_with(|| StreamStats::new(clock))
                        .record(
                            at,
                            packet.header.sequence_number,
                            packet.header.timestamp,
                            packet.header.marker,
                            packet.payload.len(),
                        );
                    if let Some(observer) = &options.observer {
                        let _ = observer.send(Observed { from: stream, kind, at, packet });
                    }
                }
            }
        }
        if now >= deadline {
            let _ = send(&mut ws, &ClientMessage::Leave).await;
            let _ = ws.close(None).await;
            return Ok(());
        }

        let mut wake =
            peer.poll_timeout().unwrap_or(now + Duration::from_millis(100)).min(deadline);
        if connected && options.publish {
            wake = wake.min(next_frame).min(next_audio);
        }
        tokio::select! {
            received = socket.recv_from(&mut buffer) => {
                let (n, from) = received?;
                // RTP (not RTCP: payload types 64-95 after the marker bit) may be "lost".
                let rtp = n > 1 && (128..192).contains(&buffer[0]) && !(192..224).contains(&buffer[1]);
                if rtp && options.drop_every > 0 {
                    rtp_datagrams += 1;
                    if rtp_datagrams.is_multiple_of(options.drop_every) {
                        continue;
                    }
                }
                peer.handle_datagram(Instant::now(), from, &buffer[..n]);
            }
            message = recv(&mut ws) => match message? {
                ServerMessage::ModeChanged { mode: new } => mode = new,
                ServerMessage::RelaySignal { signal: Signal::Answer { sdp } } => {
                    peer.set_answer(Instant::now(), sdp).map_err(media_err)?;
                }
                ServerMessage::RelaySignal { signal: Signal::Offer { sdp } } => {
                    let sdp = peer.answer(Instant::now(), sdp).map_err(media_err)?;
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
                Some(Control::Stop) => {
                    let _ = send(&mut ws, &ClientMessage::Leave).await;
                    let _ = ws.close(None).await;
                    return Ok(());
                }
                None => control_open = false,
            },
            _ = tokio::time::sleep_until(wake.into()) => peer.handle_timeout(Instant::now()),
        }
    }
}
