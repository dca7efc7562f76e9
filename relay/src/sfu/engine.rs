//! The SFU engine: one `rtc` peer connection per participant in an SFU room, all on one UDP
//! port, forwarding each participant's audio and video to everyone else in the room.
//!
//! Sans-IO: the shell hands in datagrams, signals and the time, and drains [`Output`]s. The
//! relay is ICE-lite (it only answers connectivity checks) and never makes the first offer; it
//! offers afterwards to add or remove forwarded tracks. Each forwarded track carries the stream
//! id `p<participant id>`, which is how the app knows whose media it is.

use std::{
    collections::{HashMap, VecDeque},
    net::SocketAddr,
    sync::Arc,
    time::{Duration, Instant},
};

use bytes::BytesMut;
use protocol::{ParticipantId, Signal};
// Fx hashing for maps keyed by ids and SSRCs the relay assigns itself (looked up for every
// forwarded packet); maps with keys that peers choose keep the standard, DoS-resistant hasher.
use rtc::interceptor::{NackGeneratorBuilder, Slot as ChainSlot};
use rtc::{crypto::RTCCryptoProvider, stun::message::is_stun_message};
use rtc::{
    media_stream::MediaStreamTrack,
    peer_connection::{
        RTCPeerConnection, RTCPeerConnectionBuilder,
        configuration::{
            RTCConfigurationBuilder,
            interceptor_registry::{
                configure_simulcast_extension_headers, configure_twcc_receiver_only,
            },
            media_engine::{MIME_TYPE_OPUS, MIME_TYPE_VP8, MediaEngine},
            setting_engine::SettingEngineBuilder,
        },
        event::{RTCPeerConnectionEvent, RTCTrackEvent},
        message::RTCMessage,
        sdp::RTCSessionDescription,
        state::{RTCPeerConnectionState, RTCSignalingState},
        transport::{CandidateConfig, CandidateHostConfig, RTCDtlsRole, RTCIceCandidate},
    },
    rtcp::{
        payload_feedbacks::{
            full_intra_request::FullIntraRequest, picture_loss_indication::PictureLossIndication,
            receiver_estimated_maximum_bitrate::ReceiverEstimatedMaximumBitrate,
        },
        receiver_report::ReceiverReport,
        reception_report::ReceptionReport,
        sender_report::SenderReport,
        transport_feedbacks::transport_layer_nack::TransportLayerNack,
    },
    rtp_transceiver::{
        RTCRtpReceiverId, RTCRtpSenderId, RTCRtpTransceiverDirection, RTCRtpTransceiverInit,
        rtp_sender::{
            RTCPFeedback, RTCRtpCodec, RTCRtpCodecParameters, RTCRtpCodingParameters,
            RTCRtpEncodingParameters, RTCRtpHeaderExtensionCapability, RtpCodecKind,
        },
    },
    sansio::Protocol,
    shared::{
        TaggedBytesMut, TransportContext, TransportProtocol, marshal::Marshal, time::SystemInstant,
    },
    srtp::context::Context as SrtpContext,
};
use rustc_hash::FxHashMap;
use tracing::{debug, info, warn};

use crate::rate::TokenBucket;

use super::{
    demux::{Demuxer, local_ufrag},
    fastpath::{self, KeyTap},
    forward::{
        Decision, Layer, Offered, Throttle, VideoForward, Wanted, allocate_layers, is_vp8_keyframe,
    },
    liveness::Liveness,
    path::{self, PathWatch, RecentChecks},
    quality::LinkQuality,
    random::{NoRandomness, Random},
    report::Sending,
    sent::SentPackets,
};

/// How often layers are re-chosen, bitrates measured and awaited keyframes asked for again.
const TICK: Duration = Duration::from_millis(250);
/// Over how long a layer's bitrate is measured.
const BITRATE_WINDOW: Duration = Duration::from_secs(1);

/// How long the relay collects changes before it offers them: a newcomer's audio and video open
/// tens of milliseconds apart, and each offer costs every browser a renegotiation, which took
/// Chromium seconds on a loaded two-core machine.
const OFFER_BATCH: Duration = Duration::from_millis(150);

/// An offer of the relay's unanswered for this long is logged as a warning (browsers under load
/// have taken 12 s to answer; the relay waits for as long as it takes).
const SLOW_ANSWER: Duration = Duration::from_secs(10);

/// Silence after which a media connection counts as disconnected.
const ICE_DISCONNECTED: Option<Duration> = Some(Duration::from_secs(12));
/// Further silence after which it has failed.
const ICE_FAILED: Option<Duration> = Some(Duration::from_secs(18));

/// What the shell must do.
#[derive(Debug)]
pub enum Output {
    /// Send a datagram from the media port.
    Transmit {
        /// Where to.
        to: SocketAddr,
        /// What.
        data: BytesMut,
    },
    /// Send a negotiation message to a participant over signalling.
    Signal {
        /// To whom.
        to: ParticipantId,
        /// The offer or answer.
        signal: Signal,
    },
}

/// Why the engine refused something.
#[derive(Debug, thiserror::Error)]
pub enum SfuError {
    /// The participant is not in an SFU room.
    #[error("participant {0} has no media connection to the relay")]
    UnknownParticipant(ParticipantId),
    /// The WebRTC stack refused (bad SDP, closed connection, ...).
    #[error("media negotiation failed: {0}")]
    Rtc(#[from] rtc::shared::error::Error),
    /// No unpredictable credentials could be made.
    #[error("{0}")]
    Random(#[from] NoRandomness),
}

/// What a published track is. A participant publishes at most one of each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Slot {
    /// The microphone.
    Audio,
    /// The camera (the participant's first video m-line).
    Camera,
    /// A shared screen (any later video m-line).
    Screen,
}

impl Slot {
    fn kind(self) -> RtpCodecKind {
        if self == Slot::Audio { RtpCodecKind::Audio } else { RtpCodecKind::Video }
    }

    fn name(self) -> &'static str {
        match self {
            Slot::Audio => "audio",
            Slot::Camera => "video",
            Slot::Screen => "screen",
        }
    }

    /// The media stream id subscribers see: `p<id>` for microphone and camera (one tile),
    /// `s<id>` for the screen (a tile of its own).
    fn stream(self, source: ParticipantId) -> String {
        if self == Slot::Screen { format!("s{}", source.0) } else { format!("p{}", source.0) }
    }
}

/// A track a participant publishes.
#[derive(Debug, Clone)]
struct Inbound {
    /// Microphone, camera or screen.
    slot: Slot,
    /// The receiver, for keyframe requests.
    receiver: RTCRtpReceiverId,
    /// The track's RTP streams by SSRC: one, or one per simulcast layer.
    layers: HashMap<u32, InLayer>,
    /// The id under which the publisher sends the audio-level extension, if it does.
    audio_level_id: Option<u8>,
}

/// One RTP stream of a published track.
#[derive(Debug, Clone)]
struct InLayer {
    /// Which simulcast layer it is.
    layer: Layer,
    /// Bytes received in the current measuring window.
    bytes: u64,
    /// The bitrate measured over the last window, bits/s.
    bitrate: u64,
    /// Keyframe requests to this stream.
    throttle: Throttle,
    /// Whether the publisher is sending it now.
    liveness: Liveness,
}

impl InLayer {
    fn new(layer: Layer) -> Self {
        Self {
            layer,
            bytes: 0,
            bitrate: 0,
            throttle: Throttle::default(),
            liveness: Liveness::default(),
        }
    }
}

/// Packets kept per forwarded video stream to answer NACKs from: at least a second even for a
/// sharp screen share (~250 packets/s), several for a camera, far beyond any round trip worth
/// repairing. Each keeps its publisher's datagram alive (~1.2 KB, shared by all subscribers).
const NACK_BUFFER: u16 = 256;
/// Bytes per second the relay resends to one participant on its NACKs, and at once. Real loss
/// needs a fraction of a stream's bitrate; without a budget, one NACK naming every cached packet
/// made the relay send 256 packets, as often as it was asked, to wherever the connection goes.
const RESEND_BYTES_PER_SECOND: u32 = 250_000;
const RESEND_BURST_BYTES: u32 = 64 * 1024;

/// How often each forwarded stream gets a sender report (browsers need them for lip sync).
const REPORT_EVERY: Duration = Duration::from_secs(1);

/// Outgoing SRTP packets tried as proof of the outbound key before the fast path is given up on.
const FAST_PATH_ATTEMPTS: u8 = 4;

/// A packet a publisher sent, ready to go to its subscribers.
struct Incoming {
    /// Microphone, camera or screen.
    slot: Slot,
    /// The simulcast layer.
    layer: Layer,
    /// Whether it starts a keyframe (video).
    keyframe: bool,
    /// The packet as received.
    packet: rtc::rtp::packet::Packet,
    /// Its audio level, if it carries one.
    level: Option<bytes::Bytes>,
}

/// What a forwarded packet gets on one sender: its SSRC, the negotiated payload type, and the
/// MID header extension that tells the browser which m-line it belongs to (without it, a browser
/// with several fresh receivers has to guess, and sometimes guesses wrong).
#[derive(Debug, Clone)]
struct Stamp {
    /// The sender's SSRC.
    ssrc: u32,
    /// The negotiated payload type of the codec.
    payload_type: u8,
    /// The negotiated id of the MID extension, and the m-line's mid.
    mid: Option<(u8, bytes::Bytes)>,
    /// The negotiated id of the audio-level extension (it drives the active-speaker view).
    audio_level: Option<u8>,
}

/// URI of the RTP header extension that carries the m-line's mid.
const MID_EXTENSION: &str = "urn:ietf:params:rtp-hdrext:sdes:mid";
/// URI of the RTP header extension that carries an audio packet's loudness.
const AUDIO_LEVEL_EXTENSION: &str = "urn:ietf:params:rtp-hdrext:ssrc-audio-level";

/// A stream the relay forwards to one participant.
struct Outgoing {
    /// What went out, for sender reports.
    sending: Sending,
    /// The packets recently sent, for NACKs (video only: audio is not retransmitted).
    sent: Option<SentPackets>,
}

/// One participant's connection to the relay.
struct Member {
    /// The room, so media only goes to room mates.
    room: Arc<str>,
    /// The WebRTC connection.
    pc: RTCPeerConnection,
    /// What this participant publishes, by track id.
    inbound: HashMap<String, Inbound>,
    /// The tracks this participant receives: (publisher, slot) -> sender.
    forwards: FxHashMap<(ParticipantId, Slot), RTCRtpSenderId>,
    /// Whose video each forwarding sender's SSRC carries (to route keyframe requests).
    video_ssrcs: FxHashMap<u32, (ParticipantId, Slot)>,
    /// Layer choice and rewriting of each video (camera or screen) this participant receives.
    video: FxHashMap<(ParticipantId, Slot), VideoForward>,
    /// How big each publisher's tile is on this participant's screen.
    wanted: FxHashMap<ParticipantId, Wanted>,
    /// This participant's receive bandwidth estimate (REMB), bits/s.
    estimate: Option<u64>,
    /// How packets must look on each forwarding sender, once negotiated.
    stamps: FxHashMap<RTCRtpSenderId, Stamp>,
    /// The first offer (the client's) has been answered; the relay may offer from now on.
    negotiated: bool,
    /// The relay has changes to offer, from this time on (once signalling is stable).
    offer_due: Option<Instant>,
    /// A host locked this participant's microphone: their audio is not forwarded.
    silenced: bool,
    /// This participant's camera goes only to those who see every camera (hosts, in a room
    /// whose cameras go to the hosts only).
    camera_private: bool,
    /// This participant receives every camera, private ones too.
    sees_all_cameras: bool,
    /// A listener: nothing they send is forwarded.
    receive_only: bool,
    /// The connection's signalling state.
    signaling: RTCSignalingState,
    /// When the relay's offer that awaits an answer went out, and whether its wait was logged.
    offered_at: Option<(Instant, bool)>,
    /// DTLS is up: packets can be encrypted for this participant.
    connected: bool,
    /// When the connection next needs [`Sfu::handle_timeout`], as last asked.
    next_timeout: Option<Instant>,
    /// Learns the connection's SRTP keys (see `fastpath`).
    tap: Arc<KeyTap>,
    /// The outbound SRTP context for the fast path, once proven.
    fast: Option<SrtpContext>,
    /// Outgoing SRTP packets that did not prove any learnt key.
    fast_misses: u8,
    /// Bytes this participant's NACKs may still have resent (see [`RESEND_BYTES_PER_SECOND`]).
    resend_budget: TokenBucket,
    /// Where `rtc` sends this participant's media (the selected candidate pair).
    peer: Option<SocketAddr>,
    /// Where this participant's latest datagram came from.
    last_from: Option<SocketAddr>,
    /// The relay's ICE password for this participant (checks signed with it prove an address).
    ice_password: String,
    /// Whether the browser sends its media where the relay sends (see `path`).
    path: PathWatch,
    /// Where their recent connectivity checks came from (copies from elsewhere prove nothing).
    checks: RecentChecks,
    /// Each stream forwarded to this participant, by SSRC.
    outgoing: FxHashMap<u32, Outgoing>,
    /// When this participant last got sender reports.
    last_report: Option<Instant>,
    /// The connection was used since: ask again.
    timeout_stale: bool,
}

impl Member {
    /// Whether `data` from `from` is a connectivity check that proves `from` belongs to this
    /// participant: signed with their ICE password, and no copy of a check that came from
    /// another address.
    fn proves(&mut self, data: &[u8], from: SocketAddr) -> bool {
        path::signed_check(data, &self.ice_password, self.tap.crypto())
            .is_some_and(|check| self.checks.first_from(check, from))
    }

    /// When the connection needs time to pass next. Asking `rtc` walks its whole pipeline, so
    /// the answer is kept until the connection is used again.
    fn timeout(&mut self) -> Option<Instant> {
        if self.timeout_stale {
            self.next_timeout = self.pc.poll_timeout();
            self.timeout_stale = false;
        }
        self.next_timeout
    }
}

/// All media connections of one relay.
pub struct Sfu {
    /// The address of the shared UDP socket (announced as the only candidate).
    local_addr: SocketAddr,
    /// Participants in SFU rooms.
    members: FxHashMap<ParticipantId, Member>,
    /// Who is in each room (so forwarding never looks at other rooms' members).
    rooms: HashMap<Arc<str>, Vec<ParticipantId>>,
    /// Datagram routing.
    demux: Demuxer,
    /// Things for the shell to do.
    outputs: VecDeque<Output>,
    /// When layers were last re-chosen.
    last_tick: Option<Instant>,
    /// When the current bitrate window started.
    window_start: Option<Instant>,
    /// Packets forwarded so far (all subscribers), for statistics.
    forwarded: u64,
    /// Their RTP payload bytes.
    forwarded_bytes: u64,
    /// Loss and round trips of subscribers' links, from their reception reports.
    quality: LinkQuality,
    /// Of those, packets that took the fast path.
    fast_forwarded: u64,
    /// Wall-clock time at an instant, for the NTP time in sender reports (read once).
    wall: Option<SystemInstant>,
    /// When a throttled keyframe request may go out (the earliest of them).
    keyframe_retry: Option<Instant>,
    /// Makes ICE fragments and passwords unguessable.
    /// Where ICE credentials and SSRCs come from.
    random: Random,
}

fn codec(kind: RtpCodecKind) -> RTCRtpCodec {
    match kind {
        RtpCodecKind::Audio => RTCRtpCodec {
            mime_type: MIME_TYPE_OPUS.to_owned(),
            clock_rate: 48000,
            channels: 2,
            sdp_fmtp_line: "minptime=10;useinbandfec=1".to_owned(),
            rtcp_feedback: vec![],
        },
        _ => RTCRtpCodec {
            mime_type: MIME_TYPE_VP8.to_owned(),
            clock_rate: 90000,
            channels: 0,
            sdp_fmtp_line: String::new(),
            rtcp_feedback: vec![],
        },
    }
}

/// The interceptor chain of every connection: NACKs to publishers (the relay asks again for
/// lost packets), transport-wide congestion feedback to publishers, and the tap that hands
/// subscribers' keyframe requests, bandwidth estimates and NACKs to the engine. Subscribers'
/// NACKs and their sender reports are the engine's (see `fastpath`).
///
/// Deliberately no receiver reports to publishers: browsers stop tagging a simulcast layer's
/// packets with its MID and RID once a report acknowledges the SSRC, and `rtc` forgets which
/// SSRC is which layer whenever the connection is renegotiated (every time someone joins or
/// leaves), so it must be able to learn it again from the packets. Congestion control does not
/// need the reports: it runs on transport-wide feedback.
fn interceptors(media_engine: &mut MediaEngine) -> Result<rtc::interceptor::Registry, SfuError> {
    for parameter in ["", "pli"] {
        media_engine.register_feedback(
            RTCPFeedback { typ: "nack".to_owned(), parameter: parameter.to_owned() },
            RtpCodecKind::Video,
        );
    }
    // NACKs from subscribers are answered by the engine, and sender reports for forwarded
    // streams come from it too (forwarded packets bypass `rtc`'s pipeline, see `fastpath`); the
    // relay's own NACKs to publishers come from `rtc`.
    let registry = rtc::interceptor::Registry::new()
        .with(ChainSlot::NackGenerator, NackGeneratorBuilder::new().build());
    configure_simulcast_extension_headers(media_engine)?;
    let registry = configure_twcc_receiver_only(registry, media_engine)?;
    Ok(registry.with(super::feedback::SLOT.into(), super::feedback::FeedbackTap::default()))
}

/// The stamp of `sender` on `member`'s connection, worked out once it is negotiated.
fn stamp_of(member: &mut Member, sender_id: RTCRtpSenderId) -> Option<Stamp> {
    if let Some(stamp) = member.stamps.get(&sender_id) {
        return Some(stamp.clone());
    }
    // A sender is usable once the participant has answered the offer that added it: packets
    // sent before that are dropped by the browser, and a keyframe among them would be lost.
    if member.signaling != RTCSignalingState::Stable {
        return None;
    }
    let transceiver_id =
        member.pc.get_transceivers().find(|t| RTCRtpSenderId::from(*t) == sender_id)?;
    let mid = member.pc.rtp_transceiver(transceiver_id)?.mid().clone()?;
    let mut sender = member.pc.rtp_sender(sender_id)?;
    let ssrc = sender.track().ssrcs().last()?;
    let parameters = sender.get_parameters();
    let payload_type = parameters.rtp_parameters.codecs.first()?.payload_type;
    let mid_ext = parameters
        .rtp_parameters
        .header_extensions
        .iter()
        .find(|e| e.uri == MID_EXTENSION)
        .map(|e| (e.id as u8, bytes::Bytes::from(mid.into_bytes())));
    let audio_level = parameters
        .rtp_parameters
        .header_extensions
        .iter()
        .find(|e| e.uri == AUDIO_LEVEL_EXTENSION)
        .map(|e| e.id as u8);
    let stamp = Stamp { ssrc, payload_type, mid: mid_ext, audio_level };
    tracing::trace!(?stamp, codecs = ?parameters.rtp_parameters.codecs.iter().map(|c| (c.rtp_codec.mime_type.clone(), c.payload_type)).collect::<Vec<_>>(), "forwarding stamp");
    member.stamps.insert(sender_id, stamp.clone());
    Some(stamp)
}

impl Sfu {
    /// An engine whose UDP socket is bound to `local_addr`.
    pub fn new(local_addr: SocketAddr) -> Self {
        Self {
            local_addr,
            members: FxHashMap::default(),
            rooms: HashMap::new(),
            demux: Demuxer::default(),
            outputs: VecDeque::new(),
            last_tick: None,
            window_start: None,
            forwarded: 0,
            forwarded_bytes: 0,
            quality: LinkQuality::default(),
            fast_forwarded: 0,
            wall: None,
            keyframe_retry: None,
            random: Random::default(),
        }
    }

    /// The next thing for the shell to do.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// Prepares a media connection for `id` in `room`; the client's offer follows.
    pub fn join(&mut self, now: Instant, id: ParticipantId, room: &str) -> Result<(), SfuError> {
        if self.members.contains_key(&id) {
            self.leave(now, id);
        }
        let ufrag = local_ufrag(id, self.random.next_u64()?);
        let tap = Arc::new(KeyTap::new(rtc::crypto::default_provider().map_err(|e| {
            SfuError::Rtc(rtc::shared::error::Error::Other(format!("no crypto provider: {e}")))
        })?));
        let ice_password =
            format!("{:016x}{:016x}", self.random.next_u64()?, self.random.next_u64()?);
        let setting_engine = SettingEngineBuilder::new()
            .with_lite(true)
            // Browsers start the DTLS handshake; the relay, like a server, waits for it.
            .with_answering_dtls_role(RTCDtlsRole::Server)
            // Browsers check consent every 4-6 s (Firefox near the upper end): a 5 s silence
            // limit makes the connection flap. Consent expires after 30 s (RFC 7675).
            .with_ice_timeouts(ICE_DISCONNECTED, ICE_FAILED, Some(Duration::from_secs(2)))
            .with_ice_credentials(ufrag, ice_password.clone())
            .with_crypto_provider(tap.clone())
            .build();
        let mut media_engine = MediaEngine::default();
        media_engine.register_codec(
            RTCRtpCodecParameters { rtp_codec: codec(RtpCodecKind::Audio), payload_type: 111 },
            RtpCodecKind::Audio,
        )?;
        media_engine.register_codec(
            RTCRtpCodecParameters { rtp_codec: codec(RtpCodecKind::Video), payload_type: 96 },
            RtpCodecKind::Video,
        )?;
        // Loudness (for the active speaker) on audio, and MID on everything, so browsers can
        // tell forwarded streams apart without signalled SSRCs.
        for (uri, kind) in [
            (AUDIO_LEVEL_EXTENSION, RtpCodecKind::Audio),
            (MID_EXTENSION, RtpCodecKind::Audio),
            (MID_EXTENSION, RtpCodecKind::Video),
        ] {
            media_engine.register_header_extension(
                RTCRtpHeaderExtensionCapability { uri: uri.to_owned() },
                kind,
                None,
            )?;
        }
        // Browsers that receive our video report their bandwidth estimate (REMB), which picks
        // the simulcast layer each of them gets.
        media_engine.register_feedback(
            RTCPFeedback { typ: "goog-remb".to_owned(), parameter: String::new() },
            RtpCodecKind::Video,
        );
        let registry = interceptors(&mut media_engine)?;
        let mut pc = RTCPeerConnectionBuilder::new()
            .with_configuration(RTCConfigurationBuilder::new().build())
            .with_setting_engine(setting_engine)
            .with_media_engine(media_engine)
            .with_interceptor_registry(registry)
            .build(now)?;
        let candidate = CandidateHostConfig {
            base_config: CandidateConfig {
                network: "udp".to_owned(),
                address: self.local_addr.ip().to_string(),
                port: self.local_addr.port(),
                component: 1,
                ..Default::default()
            },
            ..Default::default()
        }
        .new_candidate_host()?;
        pc.add_local_candidate(RTCIceCandidate::from(&candidate).to_json()?)?;
        let room = self.room_entry(room, id);
        self.members.insert(
            id,
            Member {
                room,
                pc,
                inbound: HashMap::new(),
                forwards: FxHashMap::default(),
                video_ssrcs: FxHashMap::default(),
                video: FxHashMap::default(),
                wanted: FxHashMap::default(),
                estimate: None,
                stamps: FxHashMap::default(),
                negotiated: false,
                offer_due: None,
                signaling: RTCSignalingState::Stable,
                silenced: false,
                camera_private: false,
                sees_all_cameras: true,
                receive_only: false,
                offered_at: None,
                connected: false,
                next_timeout: None,
                timeout_stale: true,
                tap,
                fast: None,
                fast_misses: 0,
                resend_budget: TokenBucket::new(RESEND_BYTES_PER_SECOND, RESEND_BURST_BYTES, now),
                peer: None,
                last_from: None,
                ice_password,
                path: PathWatch::default(),
                checks: RecentChecks::default(),
                outgoing: FxHashMap::default(),
                last_report: None,
            },
        );
        Ok(())
    }

    /// Adds `id` to `room`'s list and returns the room's shared name.
    fn room_entry(&mut self, room: &str, id: ParticipantId) -> Arc<str> {
        let name =
            self.rooms.get_key_value(room).map_or_else(|| Arc::from(room), |(n, _)| n.clone());
        self.rooms.entry(name.clone()).or_default().push(id);
        name
    }

    /// `id` left: close its connection and stop forwarding its media to the others.
    pub fn leave(&mut self, now: Instant, id: ParticipantId) {
        let Some(mut member) = self.members.remove(&id) else { return };
        let _ = member.pc.close();
        self.demux.forget(id);
        let room_mates = match self.rooms.get_mut(&member.room) {
            Some(ids) => {
                ids.retain(|other| *other != id);
                ids.clone()
            }
            None => Vec::new(),
        };
        if room_mates.is_empty() {
            self.rooms.remove(&member.room);
        }
        for mate in room_mates {
            if let Some(m) = self.members.get_mut(&mate) {
                let senders: Vec<_> = m
                    .forwards
                    .iter()
                    .filter(|((src, _), _)| *src == id)
                    .map(|(k, s)| (*k, *s))
                    .collect();
                for (key, sender) in senders {
                    m.forwards.remove(&key);
                    // The stream's sender reports and resend cache go with it.
                    if let Some(stamp) = m.stamps.remove(&sender) {
                        m.outgoing.remove(&stamp.ssrc);
                    }
                    if let Err(e) = m.pc.remove_track(sender) {
                        debug!("removing a forwarded track failed: {e}");
                    }
                }
                m.video.retain(|(source, _), _| *source != id);
                m.wanted.remove(&id);
                m.video_ssrcs.retain(|_, (source, _)| *source != id);
            }
            self.drain(now, mate);
        }
    }

    /// How big `subscriber` shows `publisher`'s video; picks the layer it gets.
    pub fn set_wanted(
        &mut self,
        now: Instant,
        subscriber: ParticipantId,
        publisher: ParticipantId,
        wanted: Wanted,
    ) -> Result<(), SfuError> {
        let member =
            self.members.get(&subscriber).ok_or(SfuError::UnknownParticipant(subscriber))?;
        // Only room mates: any other id would be kept for nothing (and without bound).
        let mates = self.rooms.get(&member.room);
        if publisher == subscriber || !mates.is_some_and(|ids| ids.contains(&publisher)) {
            return Err(SfuError::UnknownParticipant(publisher));
        }
        let member =
            self.members.get_mut(&subscriber).ok_or(SfuError::UnknownParticipant(subscriber))?;
        member.wanted.insert(publisher, wanted);
        self.choose_layers(now, subscriber);
        Ok(())
    }

    /// Drops (or forwards again) `id`'s audio: a host locked their microphone. The room must
    /// not depend on the participant's own browser to keep quiet.
    pub fn set_silenced(&mut self, id: ParticipantId, silenced: bool) -> Result<(), SfuError> {
        let member = self.members.get_mut(&id).ok_or(SfuError::UnknownParticipant(id))?;
        member.silenced = silenced;
        Ok(())
    }

    /// Whose camera goes to whom: `private`, `id`'s camera reaches only participants who see
    /// every camera; `sees_all`, `id` receives private cameras too. The rooms decide (a room
    /// whose cameras go to the hosts only); the relay enforces it by not forwarding.
    pub fn set_camera_rule(
        &mut self,
        id: ParticipantId,
        private: bool,
        sees_all: bool,
    ) -> Result<(), SfuError> {
        let member = self.members.get_mut(&id).ok_or(SfuError::UnknownParticipant(id))?;
        member.camera_private = private;
        member.sees_all_cameras = sees_all;
        Ok(())
    }

    /// Makes `id` a listener: nothing they send is forwarded, whatever their browser sends.
    pub fn set_receive_only(&mut self, id: ParticipantId) -> Result<(), SfuError> {
        let member = self.members.get_mut(&id).ok_or(SfuError::UnknownParticipant(id))?;
        member.receive_only = true;
        Ok(())
    }

    /// Participants with a media connection, and packets forwarded so far.
    pub fn stats(&self) -> (usize, u64) {
        (self.members.len(), self.forwarded)
    }

    /// RTP payload bytes forwarded so far (all subscribers).
    pub fn forwarded_bytes(&self) -> u64 {
        self.forwarded_bytes
    }

    /// Loss and round trips on the way to subscribers, from their reception reports.
    pub fn quality(&self) -> &LinkQuality {
        &self.quality
    }

    /// How many of the forwarded packets took the fast path (see `fastpath`).
    pub fn fast_forwarded(&self) -> u64 {
        self.fast_forwarded
    }

    /// Everyone with a media connection (or one being set up).
    pub fn participants(&self) -> Vec<ParticipantId> {
        self.members.keys().copied().collect()
    }

    /// Source addresses the media port knows a participant by.
    pub fn addresses_known(&self) -> usize {
        self.demux.len()
    }

    /// Entries in all of the engine's tables (members, rooms, addresses, and every member's
    /// per-publisher and per-stream maps): what must shrink back when people leave.
    pub fn table_entries(&self) -> usize {
        let per_member: usize = self
            .members
            .values()
            .map(|m| {
                m.inbound.len()
                    + m.forwards.len()
                    + m.video_ssrcs.len()
                    + m.video.len()
                    + m.wanted.len()
                    + m.stamps.len()
                    + m.outgoing.len()
            })
            .sum();
        let rooms: usize = self.rooms.values().map(Vec::len).sum();
        self.members.len() + rooms + self.demux.len() + per_member
    }

    /// A negotiation message from participant `id`.
    pub fn signal(
        &mut self,
        now: Instant,
        id: ParticipantId,
        signal: Signal,
    ) -> Result<(), SfuError> {
        let member = self.members.get_mut(&id).ok_or(SfuError::UnknownParticipant(id))?;
        match signal {
            Signal::Offer { sdp } => {
                if member.signaling == RTCSignalingState::HaveLocalOffer {
                    // Glare: the relay is the impolite side; the app rolls back and answers ours.
                    info!(participant = %id, "ignoring a colliding offer");
                    return Ok(());
                }
                debug!(participant = %id, "offer from participant");
                member.pc.set_remote_description(now, RTCSessionDescription::offer(sdp)?)?;
                let answer = member.pc.create_answer(None)?;
                member.pc.set_local_description(now, answer)?;
                let sdp = member.pc.local_description().map(|d| d.sdp).unwrap_or_default();
                self.outputs.push_back(Output::Signal { to: id, signal: Signal::Answer { sdp } });
                let first = !member.negotiated;
                member.negotiated = true;
                if first {
                    self.subscribe_to_room(now, id);
                }
            }
            Signal::Answer { sdp } => {
                let waited = member.offered_at.take().map(|(at, _)| now.duration_since(at));
                debug!(participant = %id, state = %member.signaling, ?waited, "answer from participant");
                if member.signaling == RTCSignalingState::HaveLocalOffer {
                    member.pc.set_remote_description(now, RTCSessionDescription::answer(sdp)?)?;
                    // New forwarded tracks are live now: their first picture needs a keyframe,
                    // and waiting for the next tick would delay it.
                    self.drain(now, id);
                    self.request_awaited_keyframes(now, id);
                    return Ok(());
                }
            }
            // ICE-lite: the browser's checks reach us; its candidates are not needed. A browser
            // restarts ICE with an offer, never by asking the relay to.
            Signal::Candidate { .. } | Signal::RestartIce => {}
        }
        self.drain(now, id);
        Ok(())
    }

    /// Starts forwarding everything already published in `id`'s room to `id`.
    fn subscribe_to_room(&mut self, now: Instant, id: ParticipantId) {
        let publications: Vec<(ParticipantId, Slot)> = self
            .room_mates(id)
            .into_iter()
            .filter_map(|other| self.members.get(&other).map(|m| (other, m)))
            .flat_map(|(other, m)| m.inbound.values().map(move |i| (other, i.slot)))
            .collect();
        for (source, slot) in publications {
            self.add_forward(now, id, source, slot);
        }
    }

    /// The smallest layer `source` publishes (where new subscribers start: its keyframes are
    /// small and come quickly; the next tick moves up if the tile and bandwidth allow).
    fn smallest_layer(&self, source: ParticipantId, slot: Slot) -> Layer {
        self.members
            .get(&source)
            .and_then(|m| m.inbound.values().find(|i| i.slot == slot))
            .and_then(|i| i.layers.values().map(|l| l.layer).min())
            .unwrap_or(Layer::ONLY)
    }

    /// Adds a track on `subscriber`'s connection that will carry `source`'s `slot` media.
    fn add_forward(
        &mut self,
        now: Instant,
        subscriber: ParticipantId,
        source: ParticipantId,
        slot: Slot,
    ) {
        let Ok(random) = self.random.next_u64() else {
            warn!(%subscriber, "no random SSRC for a forwarded track");
            return;
        };
        let ssrc = (random >> 32) as u32;
        let start_layer = self.smallest_layer(source, slot);
        let kind = slot.kind();
        let Some(member) = self.members.get_mut(&subscriber) else { return };
        if member.forwards.contains_key(&(source, slot)) || !member.negotiated {
            debug!(%subscriber, %source, slot = slot.name(), negotiated = member.negotiated, "forward skipped");
            return;
        }
        debug!(%subscriber, %source, slot = slot.name(), "forward added");
        let track = MediaStreamTrack::new(
            slot.stream(source),
            format!("p{}-{}", source.0, slot.name()),
            format!("{} of participant {}", slot.name(), source.0),
            kind,
            vec![RTCRtpEncodingParameters {
                rtp_coding_parameters: RTCRtpCodingParameters {
                    ssrc: Some(ssrc),
                    ..Default::default()
                },
                codec: codec(kind),
                ..Default::default()
            }],
        );
        // Always a transceiver of its own: `add_track` would reuse one of the m-lines the
        // participant publishes on, which it does not receive on.
        let init = RTCRtpTransceiverInit {
            direction: RTCRtpTransceiverDirection::Sendonly,
            streams: vec![slot.stream(source)],
            send_encodings: Vec::new(),
        };
        match member.pc.add_transceiver_from_track(track, Some(init)).map(RTCRtpSenderId::from) {
            Ok(sender) => {
                member.forwards.insert((source, slot), sender);
                if kind == RtpCodecKind::Video {
                    member.video_ssrcs.insert(ssrc, (source, slot));
                    member.video.insert((source, slot), VideoForward::new(start_layer));
                }
                member.offer_due.get_or_insert(now + OFFER_BATCH);
            }
            Err(e) => warn!("cannot forward {source}'s {} to {subscriber}: {e}", slot.name()),
        }
    }

    /// A datagram arrived on the media port.
    pub fn handle_datagram(&mut self, now: Instant, from: SocketAddr, data: &[u8]) {
        // Whether this datagram was already proved a signed check (checked once, not twice).
        let mut proved = false;
        let id = match self.demux.known(from) {
            Some(id) => id,
            None => {
                // Only a check signed with the participant's ICE password, and no copy of one
                // from elsewhere, teaches the relay an address; anything else from an unknown
                // address reaches no ICE agent.
                let Some(id) = Demuxer::claimed(data) else {
                    debug!(%from, "datagram for no known participant");
                    return;
                };
                let Some(member) = self.members.get_mut(&id) else { return };
                if !member.proves(data, from) {
                    debug!(%from, participant = %id, "unsigned, forged or copied check; dropped");
                    return;
                }
                proved = true;
                id
            }
        };
        let local_addr = self.local_addr;
        let Some(member) = self.members.get_mut(&id) else { return };
        member.last_from = Some(from);
        if is_stun_message(data) {
            if proved || member.proves(data, from) {
                member.path.signed_check_from(from);
                self.demux.learn(from, id);
            }
        } else if fastpath::is_media(data) && member.path.media_from(now, from, member.peer) {
            info!(participant = %id, %from, sending_to = ?member.peer, "the browser sends its media on another path: asking it to restart ICE");
            self.outputs.push_back(Output::Signal { to: id, signal: Signal::RestartIce });
        }
        let message = TaggedBytesMut {
            now,
            transport: TransportContext {
                local_addr,
                peer_addr: from,
                ecn: None,
                transport_protocol: TransportProtocol::UDP,
            },
            message: BytesMut::from(data),
        };
        if let Err(e) = member.pc.handle_read(message) {
            debug!(participant = %id, "unreadable datagram: {e}");
        }
        self.drain(now, id);
    }

    /// When [`Sfu::handle_timeout`] should run next.
    pub fn poll_timeout(&mut self) -> Option<Instant> {
        let tick = if self.members.is_empty() {
            None
        } else {
            Some(self.last_tick.map_or_else(Instant::now, |t| t + TICK))
        };
        // Offers wait for stable signalling; the answer's arrival sends them, not a timer.
        let offers = self
            .members
            .values()
            .filter(|m| m.negotiated && m.signaling == RTCSignalingState::Stable)
            .filter_map(|m| m.offer_due)
            .min();
        self.members
            .values_mut()
            .filter_map(Member::timeout)
            .chain(tick)
            .chain(self.keyframe_retry)
            .chain(offers)
            .min()
    }

    /// Lets time pass: ICE keepalives, DTLS retransmits, RTCP reports, layer choices, keyframe
    /// requests that are still awaited.
    pub fn handle_timeout(&mut self, now: Instant) {
        let ids: Vec<ParticipantId> = self.members.keys().copied().collect();
        for id in &ids {
            let Some(member) = self.members.get_mut(id) else { continue };
            if member.timeout().is_none_or(|t| t > now) {
                continue;
            }
            if let Err(e) = member.pc.handle_timeout(now) {
                debug!(participant = %id, "timeout handling failed: {e}");
            }
            member.timeout_stale = true;
            self.drain(now, *id);
        }
        let due: Vec<ParticipantId> = self
            .members
            .iter()
            .filter(|(_, m)| m.offer_due.is_some_and(|t| t <= now))
            .map(|(id, _)| *id)
            .collect();
        for id in due {
            self.offer_if_needed(now, id);
            self.flush_writes(id);
        }
        if self.keyframe_retry.is_some_and(|t| t <= now) {
            self.keyframe_retry = None;
            for id in &ids {
                self.request_awaited_keyframes(now, *id);
            }
        }
        if self.last_tick.is_none_or(|t| now >= t + TICK) {
            self.last_tick = Some(now);
            self.measure_bitrates(now);
            self.follow_selected_pairs();
            self.report_slow_answers(now);
            self.send_reports(now);
            for id in &ids {
                self.choose_layers(now, *id);
                self.request_awaited_keyframes(now, *id);
            }
        }
    }

    /// Points the fast path at each participant's currently selected candidate pair (a browser
    /// may move to another one, e.g. when its network changes). `rtc` learnt the pair from
    /// authenticated connectivity checks, so a forged datagram cannot redirect media.
    fn follow_selected_pairs(&mut self) {
        for (id, member) in &mut self.members {
            if member.fast.is_none() {
                continue;
            }
            let Some(selected) = selected_peer(member) else { continue };
            if member.peer != Some(selected) {
                debug!(participant = %id, %selected, "media address changed");
                member.peer = Some(selected);
            }
        }
    }

    /// Logs, once per offer, an offer of the relay's that has waited [`SLOW_ANSWER`]: while it
    /// waits, the participant's own offers (an ICE restart) are ignored as collisions.
    fn report_slow_answers(&mut self, now: Instant) {
        for (id, member) in &mut self.members {
            if let Some((at, logged @ false)) = &mut member.offered_at
                && now >= *at + SLOW_ANSWER
            {
                *logged = true;
                warn!(participant = %id, "no answer to the relay's offer for {} s", SLOW_ANSWER.as_secs());
            }
        }
    }

    /// Sends every subscriber a sender report per forwarded stream, once a second. They go out
    /// with the fast path's SRTP context, which owns these streams; until it is proven, none.
    fn send_reports(&mut self, now: Instant) {
        let wall = *self.wall.get_or_insert_with(|| SystemInstant::now(now));
        for member in self.members.values_mut() {
            let (Some(context), Some(to)) = (&mut member.fast, member.peer) else { continue };
            if member.last_report.is_some_and(|t| now.saturating_duration_since(t) < REPORT_EVERY) {
                continue;
            }
            member.last_report = Some(now);
            for (ssrc, out) in &member.outgoing {
                let Some(report) = out.sending.report(*ssrc, now, &wall) else { continue };
                match report.marshal().map(|plain| context.encrypt_rtcp(&plain)) {
                    Ok(Ok(data)) => self.outputs.push_back(Output::Transmit { to, data }),
                    Ok(Err(e)) | Err(e) => debug!(ssrc, "cannot send a sender report: {e}"),
                }
            }
        }
    }

    /// Closes the bitrate window of every published layer once it is long enough.
    fn measure_bitrates(&mut self, now: Instant) {
        let start = *self.window_start.get_or_insert(now);
        let elapsed = now.saturating_duration_since(start);
        if elapsed < BITRATE_WINDOW {
            return;
        }
        self.window_start = Some(now);
        let millis = elapsed.as_millis().max(1) as u64;
        for (id, member) in self.members.iter_mut() {
            tracing::trace!(participant = %id, layers = ?member.inbound.values().flat_map(|i| i.layers.iter().map(|(s, l)| (*s, l.layer, l.bytes))).collect::<Vec<_>>(), "bytes this window");
            for layer in member.inbound.values_mut().flat_map(|i| i.layers.values_mut()) {
                layer.bitrate = layer.bytes * 8 * 1000 / millis;
                layer.bytes = 0;
            }
        }
    }

    /// Re-picks the layer of every video `id` receives, from its tiles and its bandwidth.
    fn choose_layers(&mut self, now: Instant, id: ParticipantId) {
        let Some(member) = self.members.get(&id) else { return };
        let mut sources: Vec<(ParticipantId, Slot)> = member.video.keys().copied().collect();
        sources.sort();
        let offered: Vec<Offered> = sources
            .iter()
            .map(|(source, slot)| {
                let mut known: Vec<(Layer, u64, bool)> = self
                    .members
                    .get(source)
                    .and_then(|m| m.inbound.values().find(|i| i.slot == *slot))
                    .map(|i| {
                        i.layers
                            .values()
                            .map(|l| (l.layer, l.bitrate, l.liveness.flowing(now)))
                            .collect()
                    })
                    .unwrap_or_default();
                known.sort();
                // Only layers that are flowing; if none is, the smallest known one.
                let mut layers: Vec<(Layer, u64)> =
                    known.iter().filter(|l| l.2).map(|l| (l.0, l.1)).collect();
                if layers.is_empty() {
                    layers.extend(known.first().map(|l| (l.0, l.1)));
                }
                // A shared screen is shown large; a camera as large as its tile.
                let wanted = match slot {
                    Slot::Screen => Wanted::High,
                    _ => member.wanted.get(source).copied().unwrap_or_default(),
                };
                let current = member.video.get(&(*source, *slot)).map(VideoForward::target);
                Offered { wanted, layers, current }
            })
            .collect();
        let chosen = allocate_layers(&offered, member.estimate);
        let Some(member) = self.members.get_mut(&id) else { return };
        for (key, layer) in sources.iter().zip(chosen) {
            if let Some(forward) = member.video.get_mut(key)
                && forward.target() != layer
            {
                debug!(subscriber = %id, source = %key.0, ?layer, offered = ?offered, "layer change");
                forward.set_target(layer);
            }
        }
    }

    /// Asks publishers for the keyframes `id` waits for (to start, or to switch layers).
    ///
    /// Only once the keyframe can be forwarded: `id`'s connection is up and the stream is
    /// negotiated. A keyframe that came earlier would be dropped, and the throttle would then
    /// hold back the request that counts.
    fn request_awaited_keyframes(&mut self, now: Instant, id: ParticipantId) {
        let Some(member) = self.members.get_mut(&id) else { return };
        if !member.connected {
            return;
        }
        let waiting: Vec<((ParticipantId, Slot), Layer)> = member
            .video
            .iter()
            .filter(|(_, f)| f.needs_keyframe())
            .map(|(key, f)| (*key, f.target()))
            .collect();
        let awaited: Vec<_> = waiting
            .into_iter()
            .filter(|(key, _)| {
                let sender = member.forwards.get(key).copied();
                sender.is_some_and(|sender| stamp_of(member, sender).is_some())
            })
            .collect();
        for ((source, slot), layer) in awaited {
            self.request_keyframe(now, source, slot, layer);
        }
    }

    /// Sends a picture loss indication for `layer` of `source`'s camera or screen, unless one
    /// went out very recently.
    fn request_keyframe(&mut self, now: Instant, source: ParticipantId, slot: Slot, layer: Layer) {
        let Some(member) = self.members.get_mut(&source) else { return };
        let Some(inbound) = member.inbound.values_mut().find(|i| i.slot == slot) else {
            return;
        };
        let receiver_id = inbound.receiver;
        let target = inbound.layers.iter_mut().find(|(_, l)| l.layer == layer);
        let Some((ssrc, stream)) = target else { return };
        if !stream.throttle.allow(now) {
            // Ask again the moment it is allowed, not at the next tick: it is someone's first
            // picture, or a picture that broke.
            let retry = stream.throttle.next_allowed().unwrap_or(now + TICK);
            self.keyframe_retry = Some(self.keyframe_retry.map_or(retry, |t| t.min(retry)));
            return;
        }
        let pli = PictureLossIndication { sender_ssrc: 0, media_ssrc: *ssrc };
        if let Some(mut receiver) = member.pc.rtp_receiver(receiver_id) {
            let _ = receiver.write_rtcp(now, vec![Box::new(pli)]);
        }
        self.flush_writes(source);
    }

    /// Moves everything `id`'s connection produced: datagrams out, events handled, media
    /// forwarded, feedback from `id` as a subscriber acted on.
    fn drain(&mut self, now: Instant, id: ParticipantId) {
        let mut media: Vec<Incoming> = Vec::new();
        let mut new_tracks = Vec::new();
        let mut keyframe_requests: Vec<(ParticipantId, Slot)> = Vec::new();
        let mut nacks: Vec<(u32, Vec<u16>)> = Vec::new();
        let mut just_connected = false;
        {
            let Some(member) = self.members.get_mut(&id) else { return };
            while let Some(event) = member.pc.poll_event() {
                match event {
                    RTCPeerConnectionEvent::OnTrack(RTCTrackEvent::OnOpen(init)) => {
                        let kind = member
                            .pc
                            .rtp_receiver(init.receiver_id)
                            .map(|r| r.track().kind())
                            .unwrap_or(RtpCodecKind::Unspecified);
                        let layer = Layer::from_rid(init.rid.as_deref());
                        debug!(participant = %id, rid = ?init.rid, ssrc = init.ssrc, track = %init.track_id, "stream opened");
                        if let Some(inbound) = member.inbound.get_mut(&init.track_id) {
                            // Another simulcast layer of a track we know (or one we know,
                            // announced again after a renegotiation).
                            inbound.layers.entry(init.ssrc).or_insert_with(|| InLayer::new(layer));
                            continue;
                        }
                        // The first video m-line of the participant's connection is its camera
                        // (the app creates it first); a later one is a shared screen.
                        let slot = match kind {
                            RtpCodecKind::Audio => Some(Slot::Audio),
                            RtpCodecKind::Video => {
                                let ids: Vec<_> = member.pc.get_transceivers().collect();
                                let first_video =
                                    ids.into_iter().map(RTCRtpReceiverId::from).find(|r| {
                                        member.pc.rtp_receiver(*r).is_some_and(|r| {
                                            r.track().kind() == RtpCodecKind::Video
                                        })
                                    });
                                Some(if first_video == Some(init.receiver_id) {
                                    Slot::Camera
                                } else {
                                    Slot::Screen
                                })
                            }
                            _ => None,
                        };
                        // One track of each slot per participant is forwarded.
                        let duplicate = member.inbound.values().any(|i| Some(i.slot) == slot);
                        if let (Some(slot), false) = (slot, duplicate) {
                            let audio_level_id =
                                member.pc.rtp_receiver(init.receiver_id).and_then(|mut r| {
                                    r.get_parameters()
                                        .rtp_parameters
                                        .header_extensions
                                        .iter()
                                        .find(|e| e.uri == AUDIO_LEVEL_EXTENSION)
                                        .map(|e| e.id as u8)
                                });
                            member.inbound.insert(
                                init.track_id.clone(),
                                Inbound {
                                    slot,
                                    receiver: init.receiver_id,
                                    layers: HashMap::from([(init.ssrc, InLayer::new(layer))]),
                                    audio_level_id,
                                },
                            );
                            new_tracks.push(slot);
                        }
                    }
                    RTCPeerConnectionEvent::OnNegotiationNeededEvent => {
                        member.offer_due.get_or_insert(now + OFFER_BATCH);
                    }
                    RTCPeerConnectionEvent::OnSignalingStateChangeEvent(state) => {
                        member.signaling = state
                    }
                    RTCPeerConnectionEvent::OnConnectionStateChangeEvent(state) => {
                        let selected = selected_peer(member);
                        debug!(participant = %id, ?selected, last_from = ?member.last_from, "media connection {state}");
                        let connected = state == RTCPeerConnectionState::Connected;
                        just_connected |= connected && !member.connected;
                        member.connected = connected;
                    }
                    _ => {}
                }
            }
            while let Some(message) = member.pc.poll_read() {
                match message.message {
                    RTCMessage::RtpPacket(track_id, packet) => {
                        let Some(inbound) = member.inbound.get_mut(&track_id) else {
                            tracing::trace!(participant = %id, %track_id, "packet of an unknown track");
                            continue;
                        };
                        let ssrc = packet.header.ssrc;
                        if !inbound.layers.contains_key(&ssrc) {
                            // A layer whose first packet raced its track event.
                            let rid = member
                                .pc
                                .rtp_receiver(inbound.receiver)
                                .and_then(|r| r.track().rid(ssrc).cloned());
                            inbound
                                .layers
                                .insert(ssrc, InLayer::new(Layer::from_rid(rid.as_deref())));
                        }
                        let Some(stream) = inbound.layers.get_mut(&ssrc) else { continue };
                        stream.bytes += packet.payload.len() as u64;
                        stream.liveness.on_packet(now);
                        let video = inbound.slot != Slot::Audio;
                        media.push(Incoming {
                            slot: inbound.slot,
                            layer: stream.layer,
                            keyframe: video && is_vp8_keyframe(&packet.payload),
                            level: inbound
                                .audio_level_id
                                .and_then(|ext| packet.header.get_extension(ext)),
                            packet,
                        });
                    }
                    RTCMessage::RtcpPacket(_, packets) => {
                        // Feedback on what the relay sends this participant. A compound packet
                        // is filed under the SSRC of its first part only, so look at each part.
                        for packet in &packets {
                            let any = packet.as_any();
                            if let Some(pli) = any.downcast_ref::<PictureLossIndication>() {
                                keyframe_requests.extend(member.video_ssrcs.get(&pli.media_ssrc));
                            } else if let Some(fir) = any.downcast_ref::<FullIntraRequest>() {
                                keyframe_requests.extend(
                                    fir.fir.iter().filter_map(|e| member.video_ssrcs.get(&e.ssrc)),
                                );
                            } else if let Some(nack) = any.downcast_ref::<TransportLayerNack>() {
                                let seqs = nack.nacks.iter().flat_map(|n| n.packet_list());
                                nacks.push((nack.media_ssrc, seqs.collect()));
                            } else if let Some(rr) = any.downcast_ref::<ReceiverReport>() {
                                let wall = self.wall.get_or_insert_with(|| SystemInstant::now(now));
                                observe_reports(&mut self.quality, wall.ntp(now), &rr.reports);
                            } else if let Some(sr) = any.downcast_ref::<SenderReport>() {
                                // A publisher reports what it receives inside its own sender
                                // reports.
                                let wall = self.wall.get_or_insert_with(|| SystemInstant::now(now));
                                observe_reports(&mut self.quality, wall.ntp(now), &sr.reports);
                            } else if let Some(remb) =
                                any.downcast_ref::<ReceiverEstimatedMaximumBitrate>()
                            {
                                if member.estimate.is_none() {
                                    debug!(participant = %id, bitrate = remb.bitrate, "first bandwidth estimate");
                                }
                                member.estimate = Some(remb.bitrate.max(0.0) as u64);
                            }
                        }
                    }
                    _ => {}
                }
            }
        }

        for (ssrc, seqs) in nacks {
            self.resend(now, id, ssrc, &seqs);
        }

        // Forwarding to a new subscriber starts with a keyframe: ask for it now rather than at
        // the next tick, so the first picture comes sooner.
        if just_connected {
            self.request_awaited_keyframes(now, id);
        }

        // Keyframe requests from this subscriber go to the publishers, for the layer it gets.
        for (source, slot) in keyframe_requests {
            let layer = self
                .members
                .get(&id)
                .and_then(|m| m.video.get(&(source, slot)))
                .map(|f| f.current().unwrap_or(f.target()));
            if let Some(layer) = layer {
                self.request_keyframe(now, source, slot, layer);
            }
        }

        // New publications go to everyone else in the room.
        if !new_tracks.is_empty() {
            let mates = self.room_mates(id);
            for slot in new_tracks {
                for mate in &mates {
                    self.add_forward(now, *mate, id, slot);
                }
            }
            for mate in mates {
                self.offer_if_needed(now, mate);
                self.flush_writes(mate);
            }
        }

        if !media.is_empty() {
            self.forward(now, id, &media);
        }

        self.offer_if_needed(now, id);
        self.flush_writes(id);
    }

    /// Everyone else in `id`'s room.
    fn room_mates(&self, id: ParticipantId) -> Vec<ParticipantId> {
        let Some(room) = self.members.get(&id).map(|m| &m.room) else { return Vec::new() };
        let ids = self.rooms.get(room).map(Vec::as_slice).unwrap_or_default();
        ids.iter().copied().filter(|other| *other != id).collect()
    }

    /// Sends `source`'s packets to every subscriber, each rewritten for its connection.
    fn forward(&mut self, now: Instant, source: ParticipantId, media: &[Incoming]) {
        let Some((room, silenced, private)) = self
            .members
            .get(&source)
            .filter(|m| !m.receive_only)
            .map(|m| (m.room.clone(), m.silenced, m.camera_private))
        else {
            return;
        };
        let mut flush = Vec::new();
        for other in self.rooms.get(&room).map(Vec::as_slice).unwrap_or_default() {
            let Some(member) = self.members.get_mut(other) else { continue };
            let mut touched = false;
            // Until DTLS is up, packets could not be encrypted: forwarding starts afterwards, with
            // a keyframe.
            if *other == source || !member.connected {
                continue;
            }
            for incoming in media {
                if silenced && incoming.slot == Slot::Audio {
                    continue;
                }
                if private && incoming.slot == Slot::Camera && !member.sees_all_cameras {
                    continue;
                }
                let Some(sender_id) = member.forwards.get(&(source, incoming.slot)).copied() else {
                    continue;
                };
                let Some(stamp) = stamp_of(member, sender_id) else {
                    continue; // not negotiated yet
                };
                // A new header: extension ids are per connection, so none of the publisher's
                // extensions are copied; ours (MID, audio level) are added below.
                let original = &incoming.packet.header;
                let mut packet = rtc::rtp::packet::Packet {
                    header: rtc::rtp::header::Header {
                        version: original.version,
                        padding: original.padding,
                        marker: original.marker,
                        sequence_number: original.sequence_number,
                        timestamp: original.timestamp,
                        csrc: original.csrc.clone(),
                        ..Default::default()
                    },
                    payload: incoming.packet.payload.clone(),
                };
                if incoming.slot != Slot::Audio {
                    let Some(forward) = member.video.get_mut(&(source, incoming.slot)) else {
                        continue;
                    };
                    match forward.on_packet(
                        now,
                        incoming.layer,
                        packet.header.sequence_number,
                        packet.header.timestamp,
                        incoming.keyframe,
                    ) {
                        Decision::Forward(rewritten) => {
                            packet.header.sequence_number = rewritten.sequence_number;
                            packet.header.timestamp = rewritten.timestamp;
                        }
                        Decision::Drop => continue,
                    }
                }
                packet.header.ssrc = stamp.ssrc;
                packet.header.payload_type = stamp.payload_type;
                if let Some((ext_id, mid)) = stamp.mid {
                    packet.header.extension = true;
                    packet.header.extension_profile = 0xBEDE;
                    let _ = packet.header.set_extension(ext_id, mid);
                }
                if let (Some(ext_id), Some(level)) = (stamp.audio_level, &incoming.level) {
                    packet.header.extension = true;
                    packet.header.extension_profile = 0xBEDE;
                    let _ = packet.header.set_extension(ext_id, level.clone());
                }
                let video = incoming.slot != Slot::Audio;
                let out = member.outgoing.entry(stamp.ssrc).or_insert_with(|| Outgoing {
                    sending: Sending::new(if video { 90_000 } else { 48_000 }),
                    sent: video.then(|| SentPackets::new(NACK_BUFFER)),
                });
                out.sending.on_sent(now, packet.header.timestamp, packet.payload.len());
                let payload = packet.payload.len() as u64;
                if let (Some(context), Some(to)) = (&mut member.fast, member.peer) {
                    match protect(context, &packet) {
                        Ok(data) => {
                            self.outputs.push_back(Output::Transmit { to, data });
                            self.forwarded += 1;
                            self.forwarded_bytes += payload;
                            self.fast_forwarded += 1;
                        }
                        Err(e) => debug!("forwarding to {other} failed: {e}"),
                    }
                    if let Some(sent) = &mut out.sent {
                        sent.store(packet);
                    }
                    continue;
                }
                if let Some(sent) = &mut out.sent {
                    sent.store(packet.clone());
                }
                let Some(mut sender) = member.pc.rtp_sender(sender_id) else { continue };
                match sender.write_rtp(now, packet) {
                    Ok(()) => {
                        self.forwarded += 1;
                        self.forwarded_bytes += payload;
                    }
                    Err(e) => debug!("forwarding to {other} failed: {e}"),
                }
                touched = true;
            }
            if touched {
                flush.push(*other);
            }
        }
        for other in flush {
            self.flush_writes(other);
        }
    }

    /// Sends `id` again the packets its NACK names, from the packets recently sent to it.
    fn resend(&mut self, now: Instant, id: ParticipantId, ssrc: u32, seqs: &[u16]) {
        let Some(member) = self.members.get_mut(&id) else { return };
        let Some(sent) = member.outgoing.get(&ssrc).and_then(|o| o.sent.as_ref()) else { return };
        let packets: Vec<_> = seqs.iter().filter_map(|seq| sent.get(*seq)).collect();
        tracing::trace!(participant = %id, ssrc, asked = seqs.len(), found = packets.len(), "NACK");
        for packet in packets {
            let size = u32::try_from(packet.payload.len() + 12).unwrap_or(u32::MAX);
            if !member.resend_budget.try_take_amount(now, size) {
                debug!(participant = %id, "resend budget spent; the rest of the NACK is not answered");
                break;
            }
            if let (Some(context), Some(to)) = (&mut member.fast, member.peer) {
                match protect(context, &packet) {
                    Ok(data) => self.outputs.push_back(Output::Transmit { to, data }),
                    Err(e) => debug!(participant = %id, "cannot resend: {e}"),
                }
                continue;
            }
            let sender_id = member.video_ssrcs.get(&ssrc).and_then(|k| member.forwards.get(k));
            if let Some(mut sender) = sender_id.and_then(|s| member.pc.rtp_sender(*s))
                && let Err(e) = sender.write_rtp(now, packet)
            {
                debug!(participant = %id, "cannot resend: {e}");
            }
        }
        self.flush_writes(id);
    }

    /// Sends the relay's offer to `id` if it has changes and signalling is stable.
    fn offer_if_needed(&mut self, now: Instant, id: ParticipantId) {
        let Some(member) = self.members.get_mut(&id) else { return };
        if member.offer_due.is_none_or(|due| due > now)
            || !member.negotiated
            || member.signaling != RTCSignalingState::Stable
        {
            return;
        }
        member.offer_due = None;
        let offer = match member.pc.create_offer(None) {
            Ok(offer) => offer,
            Err(e) => {
                warn!(participant = %id, "cannot create an offer: {e}");
                return;
            }
        };
        if let Err(e) = member.pc.set_local_description(now, offer) {
            warn!(participant = %id, "cannot apply our offer: {e}");
            return;
        }
        member.signaling = RTCSignalingState::HaveLocalOffer;
        member.offered_at = Some((now, false));
        debug!(participant = %id, "offer to participant");
        let sdp = member.pc.local_description().map(|d| d.sdp).unwrap_or_default();
        tracing::trace!(participant = %id, %sdp, "our offer");
        self.outputs.push_back(Output::Signal { to: id, signal: Signal::Offer { sdp } });
    }

    fn flush_writes(&mut self, id: ParticipantId) {
        let Some(member) = self.members.get_mut(&id) else { return };
        // Every use of a connection ends here: its timers may have moved.
        member.timeout_stale = true;
        while let Some(datagram) = member.pc.poll_write() {
            let data = datagram.message;
            if fastpath::is_media(&data) {
                member.peer = Some(datagram.transport.peer_addr);
            }
            if member.fast.is_none()
                && member.fast_misses < FAST_PATH_ATTEMPTS
                && fastpath::is_srtp(&data)
            {
                if let Some(context) = member.tap.outbound_context(&data) {
                    debug!(participant = %id, "outbound SRTP key proven: forwarding takes the fast path");
                    member.fast = Some(context);
                    member.tap.forget();
                } else {
                    member.fast_misses += 1;
                    if member.fast_misses == FAST_PATH_ATTEMPTS {
                        // The keys are of no use any more: let them go.
                        member.tap.forget();
                        warn!(participant = %id, "no learnt SRTP key matches: forwarding to this participant stays on the slow path");
                    }
                }
            }
            self.outputs.push_back(Output::Transmit { to: datagram.transport.peer_addr, data });
        }
    }
}

/// The remote address of `member`'s selected candidate pair, as `rtc` sees it.
fn selected_peer(member: &mut Member) -> Option<SocketAddr> {
    let sender = *member.forwards.values().next()?;
    let sender = member.pc.rtp_sender(sender)?;
    let pair = sender.transport()?.ice_transport().get_selected_candidate_pair()?;
    let ip = pair.remote().address.parse().ok()?;
    Some(SocketAddr::new(ip, pair.remote().port))
}

/// Encrypts a forwarded packet for the fast path.
fn protect(
    context: &mut SrtpContext,
    packet: &rtc::rtp::packet::Packet,
) -> rtc::shared::error::Result<BytesMut> {
    let plain = packet.marshal()?;
    context.encrypt_rtp_with_header(&plain, &packet.header)
}

/// Counts a subscriber's reception report blocks (about what the relay sends it).
fn observe_reports(quality: &mut LinkQuality, now_ntp: u64, reports: &[ReceptionReport]) {
    for block in reports {
        quality.on_report_block(
            now_ntp,
            block.fraction_lost,
            block.last_sender_report,
            block.delay,
        );
    }
}
