//! The SFU engine: one `rtc` peer connection per participant in an SFU room, all on one UDP
//! port, forwarding each participant's audio and video to everyone else in the room.
//!
//! Sans-IO: the shell hands in datagrams, signals and the time, and drains [`Output`]s. The
//! relay is ICE-lite (it only answers connectivity checks) and never makes the first offer; it
//! offers afterwards to add or remove forwarded tracks. Each forwarded track carries the stream
//! id `p<participant id>`, which is how the app knows whose media it is.
//!
//! The methods of [`Sfu`] live in files by concern: this one has the members (joining, leaving,
//! the rules hosts set), the timers and the counters; `ingest` what comes in, `negotiation` the
//! offers and answers, `layers` simulcast layers and keyframes, `egress` what goes out, `spares` the
//! transceivers of ended streams, kept for the next ones.

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
        event::{RTCPeerConnectionEvent, RTCTrackEvent, RTCTrackEventInit},
        message::RTCMessage,
        sdp::RTCSessionDescription,
        state::{RTCPeerConnectionState, RTCSignalingState},
        transport::{
            CandidateConfig, CandidateHostConfig, RTCDtlsRole, RTCIceCandidate, RTCIceCandidateInit,
        },
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
        RTCRtpReceiverId, RTCRtpSenderId, RTCRtpTransceiverDirection, RTCRtpTransceiverId,
        RTCRtpTransceiverInit,
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

mod egress;
mod feedback;
mod ingest;
mod layers;
mod negotiation;
mod spares;

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
        protocol::StreamId { source, screen: self == Slot::Screen }.to_string()
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
    /// Transceivers whose stream ended, set inactive, waiting to carry a new stream (see
    /// [`Spare`](spares::Spare)). At most as many as this participant ever received at once.
    spares: Vec<spares::Spare>,
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
    /// Offers and answers on this connection.
    negotiation: Negotiation,
    /// What hosts decided for this participant, enforced by not forwarding.
    rules: HostRules,
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
    /// Where this participant's media goes and comes from.
    route: Route,
    /// Each stream forwarded to this participant, by SSRC.
    outgoing: FxHashMap<u32, Outgoing>,
    /// When this participant last got sender reports.
    last_report: Option<Instant>,
    /// The connection was used since: ask again.
    timeout_stale: bool,
}

/// Offers and answers on one participant's connection to the relay.
#[derive(Debug)]
struct Negotiation {
    /// The connection's signalling state.
    signaling: RTCSignalingState,
    /// The first offer (the client's) has been answered; the relay may offer from now on.
    negotiated: bool,
    /// The relay has changes to offer, from this time on (once signalling is stable).
    offer_due: Option<Instant>,
    /// When the relay's offer that awaits an answer went out, and whether its wait was logged.
    offered_at: Option<(Instant, bool)>,
    /// Offers the relay made on this connection, and answers to them it applied: a spare is
    /// reusable once the browser answered an offer that showed it inactive.
    offers_made: u64,
    answers_applied: u64,
}

/// What hosts decided for one participant, enforced by not forwarding.
#[derive(Debug)]
struct HostRules {
    /// A host locked this participant's microphone: their audio is not forwarded.
    silenced: bool,
    /// This participant's camera goes only to those who see every camera (hosts, in a room
    /// whose cameras go to the hosts only).
    camera_private: bool,
    /// This participant receives every camera, private ones too.
    sees_all_cameras: bool,
    /// A listener: nothing they send is forwarded.
    receive_only: bool,
}

/// Where one participant's media goes and comes from, and what proves it.
#[derive(Debug)]
struct Route {
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
}

impl Member {
    /// Whether `data` from `from` is a connectivity check that proves `from` belongs to this
    /// participant: signed with their ICE password, and no copy of a check that came from
    /// another address.
    fn proves(&mut self, data: &[u8], from: SocketAddr) -> bool {
        path::signed_check(data, &self.route.ice_password, self.tap.crypto())
            .is_some_and(|check| self.route.checks.first_from(check, from))
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
    if member.negotiation.signaling != RTCSignalingState::Stable {
        return None;
    }
    let transceiver_id =
        member.pc.get_transceivers().find(|t| RTCRtpSenderId::from(*t) == sender_id)?;
    let transceiver = member.pc.rtp_transceiver(transceiver_id)?;
    // A recycled transceiver has a mid already: it carries the new stream once the browser
    // answered the offer that made it send again.
    if !transceiver.current_direction().has_send() {
        return None;
    }
    let mid = transceiver.mid().clone()?;
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
        pc.add_local_candidate(host_candidate(self.local_addr)?)?;
        let room = self.room_entry(room, id);
        self.members.insert(
            id,
            Member {
                room,
                pc,
                inbound: HashMap::new(),
                forwards: FxHashMap::default(),
                spares: Vec::new(),
                video_ssrcs: FxHashMap::default(),
                video: FxHashMap::default(),
                wanted: FxHashMap::default(),
                estimate: None,
                stamps: FxHashMap::default(),
                negotiation: Negotiation {
                    signaling: RTCSignalingState::Stable,
                    negotiated: false,
                    offer_due: None,
                    offered_at: None,
                    offers_made: 0,
                    answers_applied: 0,
                },
                rules: HostRules {
                    silenced: false,
                    camera_private: false,
                    sees_all_cameras: true,
                    receive_only: false,
                },
                connected: false,
                next_timeout: None,
                timeout_stale: true,
                tap,
                fast: None,
                fast_misses: 0,
                resend_budget: TokenBucket::new(RESEND_BYTES_PER_SECOND, RESEND_BURST_BYTES, now),
                route: Route {
                    peer: None,
                    last_from: None,
                    ice_password,
                    path: PathWatch::default(),
                    checks: RecentChecks::default(),
                },
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
                for ((source, slot), sender) in senders {
                    m.forwards.remove(&(source, slot));
                    // The stream's sender reports and resend cache go with it.
                    if let Some(stamp) = m.stamps.remove(&sender) {
                        m.outgoing.remove(&stamp.ssrc);
                    }
                    m.retire(now, sender, slot.kind());
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
        member.rules.silenced = silenced;
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
        member.rules.camera_private = private;
        member.rules.sees_all_cameras = sees_all;
        Ok(())
    }

    /// Makes `id` a listener: nothing they send is forwarded, whatever their browser sends.
    pub fn set_receive_only(&mut self, id: ParticipantId) -> Result<(), SfuError> {
        let member = self.members.get_mut(&id).ok_or(SfuError::UnknownParticipant(id))?;
        member.rules.receive_only = true;
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

    /// The participant whose proved address `from` is.
    pub fn participant_at(&self, from: SocketAddr) -> Option<ParticipantId> {
        self.demux.known(from)
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

    /// How many transceivers `id`'s connection has: about as many as the streams it receives at
    /// most at once, however many people came and went (see `spares`).
    pub fn transceivers(&self, id: ParticipantId) -> Option<usize> {
        self.members.get(&id).map(Member::transceiver_count)
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
            .filter(|m| {
                m.negotiation.negotiated && m.negotiation.signaling == RTCSignalingState::Stable
            })
            .filter_map(|m| m.negotiation.offer_due)
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
            .filter(|(_, m)| m.negotiation.offer_due.is_some_and(|t| t <= now))
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

    /// Everyone else in `id`'s room.
    fn room_mates(&self, id: ParticipantId) -> Vec<ParticipantId> {
        let Some(room) = self.members.get(&id).map(|m| &m.room) else { return Vec::new() };
        let ids = self.rooms.get(room).map(Vec::as_slice).unwrap_or_default();
        ids.iter().copied().filter(|other| *other != id).collect()
    }
}

/// The relay's one ICE candidate: the shared media port.
fn host_candidate(local_addr: SocketAddr) -> Result<RTCIceCandidateInit, SfuError> {
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
    Ok(RTCIceCandidate::from(&candidate).to_json()?)
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
