//! One synthetic participant's WebRTC connection, sans-IO: a full ICE agent (like a browser)
//! that publishes real VP8 (optionally as two simulcast layers) and Opus, and receives whatever
//! the other side offers. The shell feeds datagrams and time and carries out what comes out.

use std::{
    collections::{HashMap, VecDeque},
    net::SocketAddr,
    time::Instant,
};

use bytes::{Bytes, BytesMut};
use rtc::{
    interceptor::{Attribute, Interceptor, Packet as InterceptedPacket, StreamInfo, TaggedPacket},
    media_stream::MediaStreamTrack,
    peer_connection::{
        RTCPeerConnection, RTCPeerConnectionBuilder,
        configuration::{
            RTCConfigurationBuilder,
            interceptor_registry::register_default_interceptors,
            media_engine::{MIME_TYPE_OPUS, MIME_TYPE_VP8, MediaEngine},
            setting_engine::SettingEngineBuilder,
        },
        event::{RTCPeerConnectionEvent, RTCTrackEvent},
        message::RTCMessage,
        sdp::RTCSessionDescription,
        state::RTCPeerConnectionState,
        transport::{CandidateConfig, CandidateHostConfig, RTCIceCandidate, RTCIceCandidateInit},
    },
    rtcp::{
        payload_feedbacks::{
            full_intra_request::FullIntraRequest, picture_loss_indication::PictureLossIndication,
            receiver_estimated_maximum_bitrate::ReceiverEstimatedMaximumBitrate,
        },
        sender_report::SenderReport,
        transport_feedbacks::transport_layer_nack::{
            TransportLayerNack, nack_pairs_from_sequence_numbers,
        },
    },
    rtp::{codec::vp8::Vp8Payloader, header::Header, packet::Packet, packetizer::Payloader},
    rtp_transceiver::{
        RTCRtpReceiverId, RTCRtpSenderId, RTCRtpTransceiverDirection, RTCRtpTransceiverInit,
        rtp_sender::{
            RTCRtpCodec, RTCRtpCodecParameters, RTCRtpCodingParameters, RTCRtpEncodingParameters,
            RTCRtpHeaderExtensionCapability, RtpCodecKind,
        },
    },
    sansio::Protocol,
    shared::{TaggedBytesMut, TransportContext, TransportProtocol},
};

/// Hands all inbound RTCP to the application (the `rtc` chain drops it otherwise), so the
/// participant sees keyframe requests.
#[derive(Default)]
struct DeliverRtcp {
    read: VecDeque<TaggedPacket>,
    write: VecDeque<TaggedPacket>,
}

impl rtc::sansio::Protocol<TaggedPacket, TaggedPacket, ()> for DeliverRtcp {
    type Rout = TaggedPacket;
    type Wout = TaggedPacket;
    type Eout = ();
    type Error = PeerError;
    type Time = Instant;

    fn handle_read(&mut self, mut msg: TaggedPacket) -> Result<(), PeerError> {
        if matches!(msg.message.packet, InterceptedPacket::Rtcp(_)) {
            msg.message.add(Attribute::DeliverToApplication);
        }
        self.read.push_back(msg);
        Ok(())
    }
    fn poll_read(&mut self) -> Option<TaggedPacket> {
        self.read.pop_front()
    }
    fn handle_write(&mut self, msg: TaggedPacket) -> Result<(), PeerError> {
        self.write.push_back(msg);
        Ok(())
    }
    fn poll_write(&mut self) -> Option<TaggedPacket> {
        self.write.pop_front()
    }
}

impl Interceptor for DeliverRtcp {
    fn bind_local_stream(&mut self, _: &StreamInfo) {}
    fn unbind_local_stream(&mut self, _: &StreamInfo) {}
    fn bind_remote_stream(&mut self, _: &StreamInfo) {}
    fn unbind_remote_stream(&mut self, _: &StreamInfo) {}
}

/// Largest RTP payload, as browsers use.
const MTU: usize = 1200;
const MID_EXTENSION: &str = "urn:ietf:params:rtp-hdrext:sdes:mid";
const RID_EXTENSION: &str = "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id";
const AUDIO_LEVEL_EXTENSION: &str = "urn:ietf:params:rtp-hdrext:ssrc-audio-level";

/// Errors of the WebRTC stack, passed on.
pub type PeerError = rtc::shared::error::Error;

/// Audio or video.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// Opus.
    Audio,
    /// VP8.
    Video,
}

/// What the connection reports.
#[derive(Debug)]
pub enum PeerEvent {
    /// DTLS is up: media flows.
    Connected,
    /// The connection failed or closed.
    Failed,
    /// Someone asked for a keyframe of what we publish.
    KeyframeRequested,
    /// A sender report arrived for a stream we receive (how its RTP time maps to wall-clock
    /// time, which browsers use for lip sync).
    SenderReport(SenderReport),
    /// A media packet arrived, on the stream `stream` (the relay names streams `p<id>`).
    Media {
        /// The media stream id the sender gave the track.
        stream: String,
        /// The track's id (unique per received track; Janus puts all tracks in one stream).
        track: String,
        /// Audio or video.
        kind: Kind,
        /// The packet.
        packet: Packet,
    },
}

/// How packets on one sender must look, once negotiated.
#[derive(Clone)]
struct Layout {
    payload_type: u8,
    /// The MID extension's id and the m-line's mid.
    mid: Option<(u8, Bytes)>,
    /// The RTP stream id extension's id.
    rid: Option<u8>,
    /// The audio-level extension's id.
    audio_level: Option<u8>,
}

impl OutStream {
    /// The header of this stream's next packet, with the sender's MID (and RID) extensions.
    fn next_header(&mut self, layout: &Layout, timestamp: u32, marker: bool) -> Header {
        let mut header = Header {
            version: 2,
            marker,
            payload_type: layout.payload_type,
            sequence_number: self.sequence_number,
            timestamp,
            ssrc: self.ssrc,
            ..Default::default()
        };
        self.sequence_number = self.sequence_number.wrapping_add(1);
        if let Some((id, mid)) = &layout.mid {
            let _ = header.set_extension(*id, mid.clone());
        }
        if let (Some(id), Some(rid)) = (layout.rid, self.rid) {
            let _ = header.set_extension(id, Bytes::from_static(rid.as_bytes()));
        }
        header
    }
}

/// One outgoing RTP stream.
#[derive(Debug)]
struct OutStream {
    /// The simulcast id, if any.
    rid: Option<&'static str>,
    ssrc: u32,
    sequence_number: u16,
    payloader: Vp8Payloader,
}

/// How a synthetic connection is set up.
#[derive(Debug, Clone, Copy)]
pub struct PeerConfig {
    /// The local UDP address (the only candidate).
    pub local_addr: SocketAddr,
    /// Send audio and video.
    pub publish: bool,
    /// Send video as two simulcast layers (`l` and `h`) rather than one.
    pub simulcast: bool,
    /// Randomness for SSRCs.
    pub seed: u64,
}

/// A synthetic participant's connection.
pub struct SyntheticPeer {
    pc: RTCPeerConnection,
    local_addr: SocketAddr,
    video_sender: Option<RTCRtpSenderId>,
    audio_sender: Option<RTCRtpSenderId>,
    video: Vec<OutStream>,
    audio: Option<OutStream>,
    /// Received tracks: track id -> (stream id, kind).
    tracks: HashMap<String, (String, Kind)>,
    events: VecDeque<PeerEvent>,
    /// Each sender's packet layout, worked out once it is negotiated.
    layouts: HashMap<RTCRtpSenderId, Layout>,
}

fn vp8() -> RTCRtpCodec {
    RTCRtpCodec {
        mime_type: MIME_TYPE_VP8.to_owned(),
        clock_rate: 90_000,
        channels: 0,
        sdp_fmtp_line: String::new(),
        rtcp_feedback: vec![],
    }
}

fn opus() -> RTCRtpCodec {
    RTCRtpCodec {
        mime_type: MIME_TYPE_OPUS.to_owned(),
        clock_rate: 48_000,
        channels: 2,
        sdp_fmtp_line: "minptime=10;useinbandfec=1".to_owned(),
        rtcp_feedback: vec![],
    }
}

fn split_seed(seed: &mut u64) -> u32 {
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    (*seed >> 16) as u32
}

impl SyntheticPeer {
    /// A connection with its tracks added, ready to offer or answer.
    pub fn new(now: Instant, config: PeerConfig) -> Result<Self, PeerError> {
        let mut media_engine = MediaEngine::default();
        media_engine.register_codec(
            RTCRtpCodecParameters { rtp_codec: opus(), payload_type: 111 },
            RtpCodecKind::Audio,
        )?;
        media_engine.register_codec(
            RTCRtpCodecParameters { rtp_codec: vp8(), payload_type: 96 },
            RtpCodecKind::Video,
        )?;
        for (uri, kind) in
            [(MID_EXTENSION, RtpCodecKind::Audio), (AUDIO_LEVEL_EXTENSION, RtpCodecKind::Audio)]
        {
            media_engine.register_header_extension(
                RTCRtpHeaderExtensionCapability { uri: uri.to_owned() },
                kind,
                None,
            )?;
        }
        let registry =
            register_default_interceptors(rtc::interceptor::Registry::new(), &mut media_engine)?
                .with(20_000.into(), DeliverRtcp::default());
        let mut pc = RTCPeerConnectionBuilder::new()
            .with_configuration(RTCConfigurationBuilder::new().build())
            .with_setting_engine(SettingEngineBuilder::new().build())
            .with_media_engine(media_engine)
            .with_interceptor_registry(registry)
            .build(now)?;
        pc.add_local_candidate(host_candidate(config.local_addr)?)?;

        let mut seed = config.seed | 1;
        let mut peer = Self {
            pc,
            local_addr: config.local_addr,
            video_sender: None,
            audio_sender: None,
            video: Vec::new(),
            audio: None,
            tracks: HashMap::new(),
            events: VecDeque::new(),
            layouts: HashMap::new(),
        };
        if config.publish {
            let rids: &[Option<&'static str>] =
                if config.simulcast { &[Some("l"), Some("h")] } else { &[None] };
            peer.video = rids
                .iter()
                .map(|rid| OutStream {
                    rid: *rid,
                    ssrc: split_seed(&mut seed),
                    sequence_number: split_seed(&mut seed) as u16,
                    payloader: Vp8Payloader::default(),
                })
                .collect();
            let encodings = peer
                .video
                .iter()
                .map(|s| RTCRtpEncodingParameters {
                    rtp_coding_parameters: RTCRtpCodingParameters {
                        rid: s.rid.unwrap_or_default().to_owned(),
                        ssrc: Some(s.ssrc),
                        ..Default::default()
                    },
                    codec: vp8(),
                    ..Default::default()
                })
                .collect();
            peer.video_sender = Some(peer.add_sender(RtpCodecKind::Video, encodings)?);
            let audio = OutStream {
                rid: None,
                ssrc: split_seed(&mut seed),
                sequence_number: split_seed(&mut seed) as u16,
                payloader: Vp8Payloader::default(),
            };
            let encoding = RTCRtpEncodingParameters {
                rtp_coding_parameters: RTCRtpCodingParameters {
                    ssrc: Some(audio.ssrc),
                    ..Default::default()
                },
                codec: opus(),
                ..Default::default()
            };
            peer.audio = Some(audio);
            peer.audio_sender = Some(peer.add_sender(RtpCodecKind::Audio, vec![encoding])?);
        } else {
            // A listener still offers one m-line, so the first offer sets up the transport.
            let init = RTCRtpTransceiverInit {
                direction: RTCRtpTransceiverDirection::Recvonly,
                streams: Vec::new(),
                send_encodings: Vec::new(),
            };
            peer.pc.add_transceiver_from_kind(RtpCodecKind::Audio, Some(init))?;
        }
        Ok(peer)
    }

    fn add_sender(
        &mut self,
        kind: RtpCodecKind,
        encodings: Vec<RTCRtpEncodingParameters>,
    ) -> Result<RTCRtpSenderId, PeerError> {
        let name = if kind == RtpCodecKind::Audio { "audio" } else { "video" };
        let track = MediaStreamTrack::new(
            "synthetic".to_owned(),
            format!("synthetic-{name}"),
            format!("synthetic {name}"),
            kind,
            encodings,
        );
        let init = RTCRtpTransceiverInit {
            direction: RTCRtpTransceiverDirection::Sendonly,
            streams: vec!["synthetic".to_owned()],
            send_encodings: Vec::new(),
        };
        Ok(self.pc.add_transceiver_from_track(track, Some(init))?.into())
    }

    /// Our offer (publishing what we send).
    pub fn create_offer(&mut self, now: Instant) -> Result<String, PeerError> {
        let offer = self.pc.create_offer(None)?;
        self.pc.set_local_description(now, offer)?;
        Ok(self.pc.local_description().map(|d| d.sdp).unwrap_or_default())
    }

    /// Makes an offer that restarts ICE (new credentials, checks anew), as a browser does when
    /// its network changed.
    pub fn create_restart_offer(&mut self, now: Instant) -> Result<String, PeerError> {
        // A browser gathers anew for a restart; `rtc` released our candidate if ICE failed.
        self.pc.add_local_candidate(host_candidate(self.local_addr)?)?;
        let options = rtc::peer_connection::configuration::RTCOfferOptions { ice_restart: true };
        let offer = self.pc.create_offer(Some(options))?;
        self.pc.set_local_description(now, offer)?;
        Ok(self.pc.local_description().map(|d| d.sdp).unwrap_or_default())
    }

    /// Takes the answer to our offer.
    pub fn set_answer(&mut self, now: Instant, sdp: String) -> Result<(), PeerError> {
        self.pc.set_remote_description(now, RTCSessionDescription::answer(sdp)?)
    }

    /// Answers the other side's offer.
    pub fn answer(&mut self, now: Instant, sdp: String) -> Result<String, PeerError> {
        self.pc.set_remote_description(now, RTCSessionDescription::offer(sdp)?)?;
        let answer = self.pc.create_answer(None)?;
        self.pc.set_local_description(now, answer)?;
        Ok(self.pc.local_description().map(|d| d.sdp).unwrap_or_default())
    }

    /// A datagram from the network.
    pub fn handle_datagram(&mut self, now: Instant, from: SocketAddr, data: &[u8]) {
        let message = TaggedBytesMut {
            now,
            transport: TransportContext {
                local_addr: self.local_addr,
                peer_addr: from,
                ecn: None,
                transport_protocol: TransportProtocol::UDP,
            },
            message: BytesMut::from(data),
        };
        let _ = self.pc.handle_read(message);
        self.collect();
    }

    /// When [`SyntheticPeer::handle_timeout`] is due.
    pub fn poll_timeout(&mut self) -> Option<Instant> {
        self.pc.poll_timeout()
    }

    /// Lets time pass.
    pub fn handle_timeout(&mut self, now: Instant) {
        let _ = self.pc.handle_timeout(now);
        self.collect();
    }

    /// The next datagram to send.
    pub fn poll_transmit(&mut self) -> Option<(SocketAddr, BytesMut)> {
        self.pc.poll_write().map(|d| (d.transport.peer_addr, d.message))
    }

    /// The next thing that happened.
    pub fn poll_event(&mut self) -> Option<PeerEvent> {
        self.events.pop_front()
    }

    fn collect(&mut self) {
        while let Some(event) = self.pc.poll_event() {
            match event {
                RTCPeerConnectionEvent::OnTrack(RTCTrackEvent::OnOpen(init)) => {
                    let kind =
                        match self.pc.rtp_receiver(init.receiver_id).map(|r| r.track().kind()) {
                            Some(RtpCodecKind::Audio) => Kind::Audio,
                            _ => Kind::Video,
                        };
                    let stream = init.stream_ids.first().cloned().unwrap_or(init.track_id.clone());
                    self.tracks.insert(init.track_id, (stream, kind));
                }
                RTCPeerConnectionEvent::OnConnectionStateChangeEvent(state) => match state {
                    RTCPeerConnectionState::Connected => {
                        self.events.push_back(PeerEvent::Connected)
                    }
                    RTCPeerConnectionState::Failed | RTCPeerConnectionState::Closed => {
                        self.events.push_back(PeerEvent::Failed)
                    }
                    _ => {}
                },
                _ => {}
            }
        }
        while let Some(message) = self.pc.poll_read() {
            match message.message {
                RTCMessage::RtpPacket(track_id, packet) => {
                    if let Some((stream, kind)) = self.tracks.get(&track_id) {
                        self.events.push_back(PeerEvent::Media {
                            stream: stream.clone(),
                            track: track_id,
                            kind: *kind,
                            packet,
                        });
                    }
                }
                RTCMessage::RtcpPacket(_, packets) => {
                    let ours = |ssrc: u32| self.video.iter().any(|s| s.ssrc == ssrc);
                    let wants_keyframe = packets.iter().any(|p| {
                        let any = p.as_any();
                        any.downcast_ref::<PictureLossIndication>()
                            .is_some_and(|p| ours(p.media_ssrc))
                            || any
                                .downcast_ref::<FullIntraRequest>()
                                .is_some_and(|f| f.fir.iter().any(|e| ours(e.ssrc)))
                    });
                    if wants_keyframe {
                        self.events.push_back(PeerEvent::KeyframeRequested);
                    }
                    for packet in &packets {
                        if let Some(report) = packet.as_any().downcast_ref::<SenderReport>() {
                            self.events.push_back(PeerEvent::SenderReport(report.clone()));
                        }
                    }
                }
                _ => {}
            }
        }
    }

    /// Negotiated header-extension ids and payload type of `sender`, and its mid (looked up
    /// once, then remembered: extension ids do not change in renegotiations).
    fn sender_layout(&mut self, sender_id: RTCRtpSenderId) -> Option<Layout> {
        if let Some(layout) = self.layouts.get(&sender_id) {
            return Some(layout.clone());
        }
        let transceiver =
            self.pc.get_transceivers().find(|t| RTCRtpSenderId::from(*t) == sender_id)?;
        let mid = self.pc.rtp_transceiver(transceiver)?.mid().clone()?;
        let mut sender = self.pc.rtp_sender(sender_id)?;
        let parameters = sender.get_parameters();
        let payload_type = parameters.rtp_parameters.codecs.first()?.payload_type;
        let ext = |uri: &str| {
            parameters
                .rtp_parameters
                .header_extensions
                .iter()
                .find(|e| e.uri == uri)
                .map(|e| e.id as u8)
        };
        let mid = ext(MID_EXTENSION).map(|id| (id, Bytes::from(mid.into_bytes())));
        let layout = Layout {
            payload_type,
            mid,
            rid: ext(RID_EXTENSION),
            audio_level: ext(AUDIO_LEVEL_EXTENSION),
        };
        self.layouts.insert(sender_id, layout.clone());
        Some(layout)
    }

    /// Sends one video frame per layer (`frames[i]` on layer `i`), all with `timestamp`.
    /// Returns the packets sent.
    pub fn send_video(&mut self, now: Instant, frames: &[&Bytes], timestamp: u32) -> usize {
        let Some(sender_id) = self.video_sender else { return 0 };
        let Some(layout) = self.sender_layout(sender_id) else { return 0 };
        let mut sent = 0;
        for (stream, frame) in self.video.iter_mut().zip(frames) {
            let Ok(payloads) = stream.payloader.payload(MTU, frame) else { continue };
            let count = payloads.len();
            for (i, payload) in payloads.into_iter().enumerate() {
                let header = stream.next_header(&layout, timestamp, i + 1 == count);
                if let Some(mut sender) = self.pc.rtp_sender(sender_id)
                    && sender.write_rtp(now, Packet { header, payload }).is_ok()
                {
                    sent += 1;
                }
            }
        }
        sent
    }

    /// Tells the other side how much video this participant can receive, as browsers do: a
    /// REMB (receiver-estimated maximum bitrate) for the video streams it receives. Returns
    /// whether it went out (there must be a video receiver).
    pub fn send_bandwidth_estimate(&mut self, now: Instant, bits_per_second: u64) -> bool {
        let receivers: Vec<RTCRtpReceiverId> =
            self.pc.get_transceivers().map(RTCRtpReceiverId::from).collect();
        let mut ssrcs = Vec::new();
        let mut via = None;
        for id in receivers {
            if let Some(receiver) = self.pc.rtp_receiver(id)
                && receiver.track().kind() == RtpCodecKind::Video
            {
                ssrcs.extend(receiver.track().ssrcs());
                via.get_or_insert(id);
            }
        }
        let Some(mut receiver) = via.and_then(|id| self.pc.rtp_receiver(id)) else { return false };
        let remb = ReceiverEstimatedMaximumBitrate {
            sender_ssrc: 0,
            bitrate: bits_per_second as f32,
            ssrcs,
        };
        receiver.write_rtcp(now, vec![Box::new(remb)]).is_ok()
    }

    /// Asks the other side to send the packets `seqs` of stream `media_ssrc` again (a NACK, as
    /// a browser sends after loss). Returns whether it went out.
    pub fn send_nack(&mut self, now: Instant, media_ssrc: u32, seqs: &[u16]) -> bool {
        let receivers: Vec<RTCRtpReceiverId> =
            self.pc.get_transceivers().map(RTCRtpReceiverId::from).collect();
        let video = receivers.into_iter().find(|id| {
            self.pc.rtp_receiver(*id).is_some_and(|r| r.track().kind() == RtpCodecKind::Video)
        });
        let Some(mut receiver) = video.and_then(|id| self.pc.rtp_receiver(id)) else {
            return false;
        };
        let nack = TransportLayerNack {
            sender_ssrc: 0,
            media_ssrc,
            nacks: nack_pairs_from_sequence_numbers(seqs),
        };
        receiver.write_rtcp(now, vec![Box::new(nack)]).is_ok()
    }

    /// Sends one Opus packet with `timestamp`, marked as speech of the given loudness
    /// (-dBov, 0 loudest, 127 silence).
    pub fn send_audio(&mut self, now: Instant, packet: &Bytes, timestamp: u32, level: u8) -> bool {
        let Some(sender_id) = self.audio_sender else { return false };
        let Some(layout) = self.sender_layout(sender_id) else { return false };
        let Some(stream) = self.audio.as_mut() else { return false };
        let mut header = stream.next_header(&layout, timestamp, false);
        if let Some(id) = layout.audio_level {
            // Voice-activity bit plus level.
            let _ = header.set_extension(id, Bytes::copy_from_slice(&[0x80 | level.min(127)]));
        }
        match self.pc.rtp_sender(sender_id) {
            Some(mut sender) => {
                sender.write_rtp(now, Packet { header, payload: packet.clone() }).is_ok()
            }
            None => false,
        }
    }
}

/// Our one ICE candidate: the socket's address.
fn host_candidate(local_addr: SocketAddr) -> Result<RTCIceCandidateInit, PeerError> {
    let candidate = CandidateHostConfig {
        base_config: CandidateConfig {
            network: "udp".to_owned(),
            address: local_addr.ip().to_string(),
            port: local_addr.port(),
            component: 1,
            ..Default::default()
        },
        ..Default::default()
    }
    .new_candidate_host()?;
    RTCIceCandidate::from(&candidate).to_json()
}
