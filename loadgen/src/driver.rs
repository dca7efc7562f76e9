//! The media side of one synthetic WebRTC connection, shared by the Treffpunkt and Janus
//! clients: a UDP socket, a [`SyntheticPeer`], the media clock that paces the clip, and the
//! bookkeeping of what arrives. The signalling loops own one of these each and call [`Driver::pump`]
//! whenever something happened.

use std::{
    collections::HashSet,
    net::SocketAddr,
    sync::atomic::Ordering,
    time::{Duration, Instant},
};

use tokio::net::UdpSocket;

use crate::{
    LoadError, Observed, Options, Report,
    assets::{AUDIO_PACKET_MS, FRAME_RATE, clip},
    peer::{Kind, PeerConfig, PeerEvent, SyntheticPeer},
    stats::StreamStats,
};

/// A connection's media state.
pub struct Driver {
    /// The WebRTC connection.
    pub peer: SyntheticPeer,
    /// Its socket.
    pub socket: UdpSocket,
    publish: bool,
    simulcast: bool,
    started: Instant,
    connected: bool,
    next_frame: Instant,
    next_audio: Instant,
    frame_no: u32,
    clip_pos: usize,
    audio_no: u32,
    ts_base: u32,
    first_frames: HashSet<String>,
    rtp_datagrams: u32,
    buffer: Vec<u8>,
}

/// Whether a VP8 packet from a synthetic publisher starts a keyframe: the first packet of a
/// frame (S bit, partition 0) whose VP8 header has P = 0. Synthetic publishers send one-byte
/// payload descriptors, and neither server rewrites them, so no extensions to skip.
fn starts_keyframe(payload: &[u8]) -> bool {
    matches!(payload, [descriptor, header, ..] if descriptor & 0x17 == 0x10 && header & 1 == 0)
}

/// Receive buffer per synthetic participant's socket.
const RECEIVE_BUFFER: usize = 1 << 20;

pub(crate) fn media_err(e: rtc::shared::error::Error) -> LoadError {
    LoadError::Media(e.to_string())
}

impl Driver {
    /// Binds a socket and prepares a connection that publishes if `publish`.
    pub async fn new(
        options: &Options,
        publish: bool,
        started: Instant,
    ) -> Result<Self, LoadError> {
        let socket = UdpSocket::bind(SocketAddr::new(options.bind_ip, 0)).await?;
        // A measuring instrument must not lose what it measures: room for about a second of
        // what a busy participant receives, in case this process is not scheduled for a while.
        // (Capped by net.core.rmem_max.)
        socket2::SockRef::from(&socket).set_recv_buffer_size(RECEIVE_BUFFER)?;
        let local_addr = socket.local_addr()?;
        let peer = SyntheticPeer::new(
            Instant::now(),
            PeerConfig { local_addr, publish, simulcast: options.simulcast, seed: options.seed },
        )
        .map_err(media_err)?;
        let now = Instant::now();
        Ok(Self {
            peer,
            socket,
            publish,
            simulcast: options.simulcast,
            started,
            connected: false,
            next_frame: now,
            next_audio: now,
            frame_no: 0,
            clip_pos: 0,
            audio_no: 0,
            ts_base: (options.seed >> 8) as u32,
            first_frames: HashSet::new(),
            rtp_datagrams: 0,
            buffer: vec![0; 2048],
        })
    }

    /// Sends what is due, carries out what the connection wants, and records what arrived.
    pub fn pump(&mut self, options: &Options, report: &mut Report) -> Result<(), LoadError> {
        let now = Instant::now();
        if self.connected && self.publish {
            let clip = clip();
            while self.next_frame <= now {
                let low = &clip.low[self.clip_pos % clip.low.len()];
                let high = &clip.high[self.clip_pos % clip.high.len()];
                let frames: Vec<&bytes::Bytes> =
                    if self.simulcast { vec![low, high] } else { vec![high] };
                let ts = self.ts_base.wrapping_add(self.frame_no.wrapping_mul(3000));
                let sent = self.peer.send_video(now, &frames, ts) as u64;
                report.sent += sent;
                options.progress.sent.fetch_add(sent, Ordering::Relaxed);
                self.frame_no += 1;
                self.clip_pos += 1;
                self.next_frame += Duration::from_micros(1_000_000 / u64::from(FRAME_RATE));
            }
            while self.next_audio <= now {
                let packet = &clip.audio[self.audio_no as usize % clip.audio.len()];
                let ts = self.ts_base.wrapping_add(self.audio_no.wrapping_mul(960));
                if self.peer.send_audio(now, packet, ts, 30) {
                    report.sent += 1;
                    options.progress.sent.fetch_add(1, Ordering::Relaxed);
                }
                self.audio_no += 1;
                self.next_audio += Duration::from_millis(u64::from(AUDIO_PACKET_MS));
            }
        }
        while let Some((to, data)) = self.peer.poll_transmit() {
            let _ = self.socket.try_send_to(&data, to);
        }
        while let Some(event) = self.peer.poll_event() {
            match event {
                PeerEvent::Connected if !self.connected => {
                    self.connected = true;
                    report.connect_time.get_or_insert(self.started.elapsed());
                    options.progress.connected.fetch_add(1, Ordering::Relaxed);
                    self.next_frame = Instant::now();
                    self.next_audio = Instant::now();
                }
                PeerEvent::Connected | PeerEvent::SenderReport(_) => {}
                PeerEvent::Failed => return Err(LoadError::Media("connection failed".into())),
                PeerEvent::KeyframeRequested => {
                    report.keyframe_requests += 1;
                    // The clip's loops start with keyframes: start the next loop now.
                    self.clip_pos = 0;
                }
                PeerEvent::Media { stream, track, kind, packet } => {
                    let at = Instant::now();
                    options.progress.received.fetch_add(1, Ordering::Relaxed);
                    let clock = if kind == Kind::Audio { 48_000 } else { 90_000 };
                    if kind == Kind::Video
                        && starts_keyframe(&packet.payload)
                        && self.first_frames.insert(track.clone())
                    {
                        report.first_frames.push(self.started.elapsed());
                    }
                    report
                        .streams
                        .entry((track, kind))
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
        Ok(())
    }

    /// When [`Driver::pump`] must run again at the latest.
    pub fn next_wake(&mut self, deadline: Instant) -> Instant {
        let now = Instant::now();
        let mut wake =
            self.peer.poll_timeout().unwrap_or(now + Duration::from_millis(100)).min(deadline);
        if self.connected && self.publish {
            wake = wake.min(self.next_frame).min(self.next_audio);
        }
        wake
    }

    /// Lets time pass for the connection.
    pub fn on_timeout(&mut self) {
        self.peer.handle_timeout(Instant::now());
    }

    /// Receives one datagram (cancel-safe), dropping it if simulated loss says so.
    pub async fn recv(&mut self, drop_every: u32) -> Result<(), LoadError> {
        let (n, from) = self.socket.recv_from(&mut self.buffer).await?;
        // RTP (not RTCP: payload types 64-95 after the marker bit) may be "lost".
        let data = &self.buffer[..n];
        let rtp = n > 1 && (128..192).contains(&data[0]) && !(192..224).contains(&data[1]);
        if rtp && drop_every > 0 {
            self.rtp_datagrams += 1;
            if self.rtp_datagrams.is_multiple_of(drop_every) {
                return Ok(());
            }
        }
        self.peer.handle_datagram(Instant::now(), from, data);
        Ok(())
    }
}
