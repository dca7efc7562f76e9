//! The SFU engine with no sockets and no real clock: two synthetic WebRTC peers and the engine
//! exchange datagrams and signals in memory while the test moves a simulated clock forward.
//! This is what the sans-IO design buys: a whole call — ICE, DTLS, SRTP, negotiation,
//! forwarding — in a deterministic loop.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::{
    collections::HashMap,
    net::SocketAddr,
    time::{Duration, Instant},
};

use loadgen::{
    assets::clip,
    peer::{Kind, PeerConfig, PeerEvent, SyntheticPeer},
};
use protocol::{ParticipantId, Signal};
use relay::sfu::{Output, Sfu};
use rtc::rtcp::sender_report::SenderReport;

const ANNA: ParticipantId = ParticipantId(1);
const BRUNO: ParticipantId = ParticipantId(2);
const CLEO: ParticipantId = ParticipantId(3);
/// How many of the peers' first datagrams `Net` keeps.
const CORPUS: usize = 400;

struct Net {
    start: Instant,
    now: Instant,
    sfu: Sfu,
    relay: SocketAddr,
    peers: Vec<(ParticipantId, SocketAddr, SyntheticPeer)>,
    received: Vec<(ParticipantId, String, Kind, u16, bool)>,
    /// Per receiving peer and SSRC: the last packet's timestamp and how many came.
    streams: HashMap<(ParticipantId, u32), (Kind, u32, u32)>,
    /// Sender reports with what had arrived on their stream by then: (peer, report, kind, last
    /// timestamp, packets).
    reports: Vec<(ParticipantId, SenderReport, Kind, u32, u32)>,
    connected: Vec<ParticipantId>,
    keyframe_requests: u32,
    /// Offers the relay made, per participant.
    offers: HashMap<ParticipantId, u32>,
    /// Datagrams the relay sent to addresses of no peer.
    stray: u32,
    /// Those of them that were not STUN (media, DTLS).
    stray_media: u32,
    /// Bytes the relay sent to each peer.
    bytes_to: HashMap<ParticipantId, usize>,
    /// The SRTP packets the relay sent, by destination, SSRC and sequence number: a hash of
    /// the bytes. SRTP's nonce is made of exactly these, so two different packets under one
    /// key (`rtc`'s and the fast path's, see `fastpath`) would reuse it.
    nonces: HashMap<(SocketAddr, u32, u16), u64>,
    /// Packets that reused another's SSRC and sequence number with different bytes.
    nonce_reuses: u32,
    /// Who sends media while time passes (Anna, unless a test adds someone).
    senders: Vec<ParticipantId>,
    /// The first datagrams the peers sent the relay (STUN, DTLS, SRTP, SRTCP): a fuzzing corpus.
    sent: Vec<Vec<u8>>,
    /// Participants whose signalling connection is down: what the relay signals them is lost.
    unreachable: Vec<ParticipantId>,
    /// Signals lost that way.
    lost_signals: u32,
    /// Participants cut off the network (a stalled laptop): datagrams from and to them are lost.
    cut: Vec<ParticipantId>,
    /// Participants whose own side of the media connection failed (only allowed while cut).
    failed: Vec<ParticipantId>,
    /// The latest SDP each peer offered, and the relay's latest answer to each.
    offered: HashMap<ParticipantId, String>,
    answered: HashMap<ParticipantId, String>,
}

impl Net {
    fn new(start: Instant) -> Self {
        let relay: SocketAddr = "192.0.2.1:3478".parse().unwrap();
        Net {
            start,
            now: start,
            sfu: Sfu::new(relay),
            relay,
            peers: Vec::new(),
            received: Vec::new(),
            streams: HashMap::new(),
            reports: Vec::new(),
            connected: Vec::new(),
            keyframe_requests: 0,
            offers: HashMap::new(),
            stray: 0,
            stray_media: 0,
            bytes_to: HashMap::new(),
            sent: Vec::new(),
            nonces: HashMap::new(),
            nonce_reuses: 0,
            senders: vec![ANNA],
            unreachable: Vec::new(),
            lost_signals: 0,
            cut: Vec::new(),
            failed: Vec::new(),
            offered: HashMap::new(),
            answered: HashMap::new(),
        }
    }

    /// Anna publishes and Bruno watches, until both of Anna's streams reach him (video waits
    /// for a keyframe).
    fn anna_watched_by_bruno() -> Self {
        let mut net = Net::new(Instant::now());
        net.join(ANNA, 5001, true);
        net.join(BRUNO, 5002, false);
        net.anna_sends_for(Duration::from_secs(3));
        net
    }

    /// A synthetic browser joins room "rat" and offers its connection.
    fn join(&mut self, id: ParticipantId, port: u16, publish: bool) {
        let local_addr: SocketAddr = format!("192.0.2.9:{port}").parse().unwrap();
        let now = self.now;
        let config = PeerConfig { local_addr, publish, simulcast: true, seed: u64::from(port) };
        let peer = SyntheticPeer::new(now, config).unwrap();
        self.sfu.join(now, id, "rat").unwrap();
        self.peers.push((id, local_addr, peer));
        let offer = self.peer(id).create_offer(now).unwrap();
        self.offered.insert(id, offer.clone());
        self.sfu.signal(now, id, Signal::Offer { sdp: offer }).unwrap();
    }

    /// Lets `duration` pass in 10 ms steps. Once connected, Anna (and the other `senders`) sends a video frame every 30 ms
    /// (2700 ticks of the 90 kHz video clock) and an audio packet every 20 ms (960 ticks at
    /// 48 kHz).
    fn anna_sends_for(&mut self, duration: Duration) {
        let clip = clip();
        let end = self.now + duration;
        while self.now < end {
            self.advance(Duration::from_millis(10));
            let now = self.now;
            let ms = u32::try_from(now.duration_since(self.start).as_millis()).unwrap();
            for sender in self.senders.clone() {
                if !self.connected.contains(&sender) {
                    continue;
                }
                if ms.is_multiple_of(20) {
                    let packet = &clip.audio[(ms / 20) as usize % clip.audio.len()];
                    self.peer(sender).send_audio(now, packet, ms / 20 * 960, 30);
                }
                if ms.is_multiple_of(30) {
                    let i = (ms / 30) as usize % clip.high.len();
                    let layers = [&clip.low[i], &clip.high[i]];
                    self.peer(sender).send_video(now, &layers, ms / 30 * 2700);
                }
            }
            self.settle();
        }
    }

    fn peer(&mut self, id: ParticipantId) -> &mut SyntheticPeer {
        &mut self.peers.iter_mut().find(|(p, _, _)| *p == id).unwrap().2
    }

    /// Moves everything that is waiting, until nothing moves any more.
    fn settle(&mut self) {
        loop {
            let mut moved = false;
            while let Some(output) = self.sfu.poll_output() {
                moved = true;
                match output {
                    Output::Transmit { to, data } => {
                        self.note_nonce(to, &data);
                        let now = self.now;
                        let relay = self.relay;
                        match self.peers.iter_mut().find(|(_, a, _)| *a == to) {
                            Some((id, _, _)) if self.cut.contains(id) => {}
                            Some((id, _, peer)) => {
                                *self.bytes_to.entry(*id).or_default() += data.len();
                                peer.handle_datagram(now, relay, &data);
                            }
                            None => {
                                self.stray += 1;
                                if !rtc::stun::message::is_stun_message(&data) {
                                    self.stray_media += 1;
                                }
                            }
                        }
                    }
                    Output::Signal { to, .. } if self.unreachable.contains(&to) => {
                        self.lost_signals += 1;
                    }
                    Output::Signal { to, signal } => {
                        let now = self.now;
                        match signal {
                            Signal::Answer { sdp } => {
                                self.answered.insert(to, sdp.clone());
                                self.peer(to).set_answer(now, sdp).unwrap();
                            }
                            Signal::Offer { sdp } => {
                                *self.offers.entry(to).or_default() += 1;
                                let answer = self.peer(to).answer(now, sdp).unwrap();
                                self.sfu.signal(now, to, Signal::Answer { sdp: answer }).unwrap();
                            }
                            Signal::Candidate { .. } => {}
                            // Each simulated browser has one path, which the relay must use.
                            Signal::RestartIce => {
                                panic!("the relay asked participant {to} to restart ICE")
                            }
                            Signal::Rebuild => panic!("the relay sent a browser-only signal"),
                        }
                    }
                }
            }
            for i in 0..self.peers.len() {
                let (id, addr) = (self.peers[i].0, self.peers[i].1);
                while let Some((_, data)) = self.peers[i].2.poll_transmit() {
                    moved = true;
                    if self.cut.contains(&id) {
                        continue;
                    }
                    if self.sent.len() < CORPUS {
                        self.sent.push(data.to_vec());
                    }
                    self.sfu.handle_datagram(self.now, addr, &data);
                }
                while let Some(event) = self.peers[i].2.poll_event() {
                    moved = true;
                    match event {
                        PeerEvent::Connected => self.connected.push(id),
                        PeerEvent::KeyframeRequested => self.keyframe_requests += 1,
                        PeerEvent::SenderReport(report) => {
                            if let Some((kind, ts, count)) = self.streams.get(&(id, report.ssrc)) {
                                self.reports.push((id, report, *kind, *ts, *count));
                            }
                        }
                        PeerEvent::Media { stream, kind, packet, .. } => {
                            let entry = self
                                .streams
                                .entry((id, packet.header.ssrc))
                                .or_insert((kind, 0, 0));
                            entry.1 = packet.header.timestamp;
                            entry.2 += 1;
                            let keyframe = relay::sfu::forward::is_vp8_keyframe(&packet.payload);
                            self.received.push((
                                id,
                                stream,
                                kind,
                                packet.header.sequence_number,
                                kind == Kind::Video && keyframe,
                            ));
                        }
                        PeerEvent::Failed if self.cut.contains(&id) => self.failed.push(id),
                        PeerEvent::Failed => panic!("{id}'s connection failed"),
                    }
                }
            }
            if !moved {
                return;
            }
        }
    }

    /// Notes an SRTP packet's (SSRC, sequence number) for `to`; the same pair with other bytes
    /// (not a resend of the same packet) is a reused nonce. SRTCP (payload types 192-223) has
    /// an index of its own and is not counted; neither is the rollover counter, which a few
    /// seconds never reach.
    fn note_nonce(&mut self, to: SocketAddr, data: &[u8]) {
        use std::hash::{DefaultHasher, Hash, Hasher};
        if data.len() < 12 || data[0] >> 6 != 2 || (192..=223).contains(&data[1]) {
            return;
        }
        let ssrc = u32::from_be_bytes([data[8], data[9], data[10], data[11]]);
        let seq = u16::from_be_bytes([data[2], data[3]]);
        let mut hasher = DefaultHasher::new();
        data.hash(&mut hasher);
        let hash = hasher.finish();
        if *self.nonces.entry((to, ssrc, seq)).or_insert(hash) != hash {
            self.nonce_reuses += 1;
        }
    }

    /// After an attack: Anna's call goes on, and Bruno joins and gets her media.
    fn bruno_joins_and_gets_annas_media(&mut self) {
        self.join(BRUNO, 5002, false);
        self.anna_sends_for(Duration::from_secs(3));
        assert!(self.connected.contains(&BRUNO), "Bruno connects");
        let video = self.received.iter().filter(|r| r.0 == BRUNO && r.2 == Kind::Video).count();
        assert!(video > 50, "Bruno got {video} of Anna's video packets");
    }

    /// Lets `step` of simulated time pass, firing every timer that falls due.
    fn advance(&mut self, step: Duration) {
        self.now += step;
        let now = self.now;
        if self.sfu.poll_timeout().is_some_and(|t| t <= now) {
            self.sfu.handle_timeout(now);
        }
        for (_, _, peer) in &mut self.peers {
            if peer.poll_timeout().is_some_and(|t| t <= now) {
                peer.handle_timeout(now);
            }
        }
        self.settle();
    }
}

#[test]
fn a_call_through_the_engine_runs_in_memory_on_a_simulated_clock() {
    let start = Instant::now();
    let mut net = Net::new(start);
    net.join(ANNA, 5001, true);
    net.join(BRUNO, 5002, false);
    net.settle();
    net.anna_sends_for(Duration::from_secs(10));

    assert!(net.connected.contains(&ANNA) && net.connected.contains(&BRUNO));
    let to_bruno: Vec<_> = net.received.iter().filter(|r| r.0 == BRUNO && r.1 == "p1").collect();
    let video: Vec<_> = to_bruno.iter().filter(|r| r.2 == Kind::Video).collect();
    let audio: Vec<_> = to_bruno.iter().filter(|r| r.2 == Kind::Audio).collect();
    assert!(audio.len() > 300, "Bruno got {} of Anna's audio packets", audio.len());
    assert!(video.len() > 300, "Bruno got {} of Anna's video packets", video.len());
    assert!(video[0].4, "Bruno's first video packet starts a keyframe");
    // No loss and no reordering on a perfect in-memory network.
    for w in video.windows(2) {
        assert_eq!(w[1].3, w[0].3.wrapping_add(1), "video sequence continuous");
    }
    eprintln!(
        "in memory: Bruno got {} video and {} audio packets of Anna; {} keyframe requests",
        video.len(),
        audio.len(),
        net.keyframe_requests
    );
    assert!(net.keyframe_requests >= 1, "the relay asked Anna for a keyframe for Bruno");
    // Bruno could decrypt everything, and all but the first packet (which proves the relay's
    // key, see `fastpath`) took the fast path.
    let (_, forwarded) = net.sfu.stats();
    let fast = net.sfu.fast_forwarded();
    eprintln!("in memory: {fast} of {forwarded} forwarded packets took the fast path");
    assert!(
        forwarded > 1000 && forwarded - fast <= 3,
        "only {fast} of {forwarded} took the fast path"
    );
    // `rtc` never sent on an SSRC the fast path sends on: no (SSRC, sequence number) pair, which
    // with the key makes SRTP's nonce, went out twice with different bytes.
    assert!(net.nonces.len() > 1000, "{} SRTP packets seen", net.nonces.len());
    assert_eq!(net.nonce_reuses, 0, "SRTP nonces reused towards a subscriber");

    // Bruno gets sender reports for both of Anna's streams about once a second. Each maps RTP
    // time to wall-clock time the way the packets flowed: the reported RTP time is just past
    // the last packet's timestamp (nothing is delayed on this network), and between two
    // reports RTP time moves on exactly as the wall clock did. That is what lip sync needs.
    let to_bruno: Vec<_> = net.reports.iter().filter(|r| r.0 == BRUNO).collect();
    for kind in [Kind::Audio, Kind::Video] {
        let clock = if kind == Kind::Audio { 48_000.0 } else { 90_000.0 };
        let reports: Vec<_> = to_bruno.iter().filter(|r| r.2 == kind).collect();
        assert!(reports.len() >= 8, "{} {kind:?} sender reports in 10 s", reports.len());
        for (_, report, _, last_ts, received) in &reports {
            let ahead = f64::from(report.rtp_time.wrapping_sub(*last_ts)) / clock;
            assert!(
                (0.0..0.05).contains(&ahead),
                "{kind:?}: RTP time {ahead} s past the last packet"
            );
            assert!(report.packet_count >= *received && report.packet_count <= received + 2);
        }
        for pair in reports.windows(2) {
            let (a, b) = (&pair[0].1, &pair[1].1);
            let rtp = f64::from(b.rtp_time.wrapping_sub(a.rtp_time)) / clock;
            let ntp = (b.ntp_time - a.ntp_time) as f64 / 4_294_967_296.0;
            assert!(
                (rtp - ntp).abs() < 0.002,
                "{kind:?}: RTP moved {rtp} s while NTP moved {ntp} s"
            );
        }
    }
    let simulated = net.now.duration_since(start);
    assert!(simulated >= Duration::from_secs(10));
}

#[test]
fn a_newcomers_audio_and_video_reach_the_others_in_one_offer() {
    let start = Instant::now();
    let mut net = Net::new(start);
    net.join(BRUNO, 5002, false);
    net.settle();
    net.anna_sends_for(Duration::from_millis(500));
    let before = net.offers.get(&BRUNO).copied().unwrap_or(0);
    // Anna's audio and video open 10 ms apart; Bruno renegotiates once for both.
    net.join(ANNA, 5001, true);
    net.anna_sends_for(Duration::from_secs(2));
    assert_eq!(net.offers.get(&BRUNO).copied().unwrap_or(0) - before, 1, "offers to Bruno");
    for kind in [Kind::Audio, Kind::Video] {
        let got = net.received.iter().filter(|r| r.0 == BRUNO && r.1 == "p1" && r.2 == kind);
        assert!(got.count() > 20, "Bruno gets Anna's {kind:?}");
    }
}

/// The `i`th of many addresses nobody in the call has.
fn stranger(i: u32) -> SocketAddr {
    let [a, b, c, d] = i.to_be_bytes();
    SocketAddr::from(([10, b, c, d], 1024 + u16::from(a)))
}

/// A STUN binding request as an attacker would send it: naming participant `claimed`'s fragment,
/// trying to take the controlling role, signed with a password guessed wrong.
fn forged_check(claimed: u64, guess: &str, tie_breaker: u64) -> Vec<u8> {
    nomination(&format!("tp{claimed}x0123456789abcdef:evil"), guess, tie_breaker)
}

/// A binding request with USE-CANDIDATE in the controlling role: `username` is
/// `<relay's fragment>:<browser's fragment>`, signed with `password`.
fn nomination(username: &str, password: &str, tie_breaker: u64) -> Vec<u8> {
    use rtc::stun::{
        attributes::{ATTR_USE_CANDIDATE, ATTR_USERNAME},
        fingerprint::FINGERPRINT,
        integrity::MessageIntegrity,
        message::{BINDING_REQUEST, Message, Setter, TransactionId},
        textattrs::Username,
    };
    struct Controlling(u64);
    impl Setter for Controlling {
        fn add_to(&self, m: &mut Message) -> rtc::shared::error::Result<()> {
            m.add(rtc::stun::attributes::ATTR_ICE_CONTROLLING, &self.0.to_be_bytes());
            Ok(())
        }
    }
    struct Priority(u32);
    impl Setter for Priority {
        fn add_to(&self, m: &mut Message) -> rtc::shared::error::Result<()> {
            m.add(rtc::stun::attributes::ATTR_PRIORITY, &self.0.to_be_bytes());
            Ok(())
        }
    }
    struct UseCandidate;
    impl Setter for UseCandidate {
        fn add_to(&self, m: &mut Message) -> rtc::shared::error::Result<()> {
            m.add(ATTR_USE_CANDIDATE, &[]);
            Ok(())
        }
    }
    let provider = rtc::crypto::default_provider().unwrap();
    let mut message = Message::new();
    message
        .build(&[
            Box::new(BINDING_REQUEST),
            Box::new(TransactionId::new()),
            Box::new(Username::new(ATTR_USERNAME, username.to_owned())),
            Box::new(Controlling(tie_breaker)),
            Box::new(Priority(2_130_706_431)),
            Box::new(UseCandidate),
            Box::new(MessageIntegrity::new_short_term_integrity_with_provider(
                password.into(),
                provider.crypto(),
            )),
            Box::new(FINGERPRINT),
        ])
        .unwrap();
    message.raw
}

#[test]
fn a_hundred_thousand_forged_checks_teach_the_relay_nothing_and_harm_no_call() {
    let start = Instant::now();
    let mut net = Net::new(start);
    net.join(ANNA, 5001, true);
    net.settle();
    net.anna_sends_for(Duration::from_millis(500));
    assert!(net.connected.contains(&ANNA));
    let known = net.sfu.addresses_known();
    assert!(known >= 1, "Anna's own address");

    // From 100,000 sources: checks naming Anna (live, wrong password), Bruno (not yet joined)
    // and ids that never existed; all claiming the controlling role, some with no signature.
    let forged = [
        forged_check(ANNA.0, "guessed", 1),
        forged_check(BRUNO.0, "guessed", u64::MAX),
        forged_check(987_654, "guessed", 7),
    ];
    for i in 0..100_000u32 {
        net.sfu.handle_datagram(net.now, stranger(i), &forged[i as usize % forged.len()]);
    }
    assert_eq!(net.sfu.addresses_known(), known, "no forged source was learnt");
    net.settle();
    assert_eq!(net.stray, 0, "the relay answered forged sources (reflection)");

    // Anna's call goes on, and Bruno joins and gets her media as if nothing had happened.
    net.bruno_joins_and_gets_annas_media();
    assert!(net.sfu.addresses_known() <= 2 * relay::sfu::ADDRESSES_PER_PARTICIPANT);
}

#[test]
fn people_coming_and_going_leave_no_trace_in_the_engine() {
    let mut net = Net::anna_watched_by_bruno();
    let settled = net.sfu.table_entries();
    let cycles = std::env::var("SFU_CYCLES").ok().and_then(|c| c.parse().ok()).unwrap_or(40);
    for cycle in 0..cycles {
        // Cleo joins, publishes, is forwarded to Bruno and Anna, and leaves again.
        let id = ParticipantId(CLEO.0 + cycle);
        net.join(id, 6000 + u16::try_from(cycle % 1000).unwrap(), true);
        let _ = net.sfu.set_wanted(net.now, BRUNO, id, relay::sfu::forward::Wanted::High);
        net.anna_sends_for(Duration::from_millis(300));
        assert!(net.connected.contains(&id), "cycle {cycle}: Cleo connected");
        // Cleo speaks for half a second, long enough for Bruno's forward to be negotiated.
        for n in 0..25u32 {
            let now = net.now;
            net.peer(id).send_audio(now, &clip().audio[0], n * 960, 30);
            net.anna_sends_for(Duration::from_millis(20));
        }
        net.sfu.leave(net.now, id);
        net.peers.retain(|(p, _, _)| *p != id);
        net.anna_sends_for(Duration::from_millis(50));
    }
    let heard = net
        .streams
        .keys()
        .filter(|(to, ssrc)| *to == BRUNO && net.streams[&(BRUNO, *ssrc)].0 == Kind::Audio)
        .count();
    assert!(heard > 1, "Bruno heard Cleo's audio streams besides Anna's: {heard}");
    assert_eq!(net.sfu.table_entries(), settled, "after {cycles} comings and goings");
    assert_eq!(net.nonce_reuses, 0, "SRTP nonces reused across renegotiations");
    // A size wish for someone who is not in the room is refused, not stored.
    assert!(
        net.sfu
            .set_wanted(net.now, BRUNO, ParticipantId(999_999), relay::sfu::forward::Wanted::Low)
            .is_err()
    );
    assert_eq!(net.sfu.table_entries(), settled);
}

/// A council session or a school day: people come and go one after another while Bruno
/// watches Anna. The transceivers of those who left carry the newcomers' streams (see the
/// engine's `spares`), so Bruno's connection stays as small as the most streams he ever got at
/// once, and the last newcomer is heard as quickly, in simulated time, as the first.
/// `SFU_CHURN` sets how many come and go (default 200).
#[test]
fn the_transceivers_of_those_who_left_carry_the_newcomers() {
    let mut net = Net::anna_watched_by_bruno();
    let at_start = net.sfu.transceivers(BRUNO).unwrap();
    let cycles: u64 = std::env::var("SFU_CHURN").ok().and_then(|c| c.parse().ok()).unwrap_or(200);
    let mut first_sounds = Vec::new();
    for cycle in 0..cycles {
        let id = ParticipantId(CLEO.0 + cycle);
        net.join(id, 6000 + u16::try_from(cycle % 1000).unwrap(), true);
        net.senders.push(id);
        let _ = net.sfu.set_wanted(net.now, BRUNO, id, relay::sfu::forward::Wanted::Low);
        let (joined, stream) = (net.now, format!("p{}", id.0));
        let got = |net: &Net, kind: Kind| {
            net.received.iter().any(|r| r.0 == BRUNO && r.1 == stream && r.2 == kind)
        };
        // Sound comes as soon as the forward is negotiated; the picture waits for a keyframe
        // (the synthetic peer's clip has one every loop and ignores keyframe requests).
        while !got(&net, Kind::Audio) && net.now < joined + Duration::from_secs(5) {
            net.anna_sends_for(Duration::from_millis(10));
        }
        assert!(got(&net, Kind::Audio), "cycle {cycle}: Bruno did not hear {id}");
        first_sounds.push(net.now - joined);
        while !got(&net, Kind::Video) && net.now < joined + Duration::from_secs(5) {
            net.anna_sends_for(Duration::from_millis(10));
        }
        assert!(got(&net, Kind::Video), "cycle {cycle}: Bruno got no picture of {id}");
        net.sfu.leave(net.now, id);
        net.peers.retain(|(p, _, _)| *p != id);
        net.senders.retain(|p| *p != id);
        net.connected.retain(|p| *p != id);
        // Keep memory flat over hundreds of cycles: only what the checks above read.
        net.received.retain(|r| r.1 == "p1");
        net.anna_sends_for(Duration::from_millis(100));
    }
    let at_end = net.sfu.transceivers(BRUNO).unwrap();
    eprintln!(
        "after {cycles} came and went: Bruno's connection has {at_end} transceivers \
         ({at_start} at the start); Bruno heard the first newcomer after {:?}, the last after \
         {:?} (simulated)",
        first_sounds.first(),
        first_sounds.last()
    );
    // Anna's two streams, his own (unused) publishing m-lines, and one spare audio and video.
    assert!(at_end <= at_start + 2, "{at_end} transceivers after {cycles} cycles");
    let slowest_early = first_sounds.iter().take(5).max().copied().unwrap_or_default();
    let slowest_late = first_sounds.iter().rev().take(5).max().copied().unwrap_or_default();
    assert!(
        slowest_late <= slowest_early + Duration::from_millis(50),
        "newcomers first heard after {slowest_early:?} early, {slowest_late:?} late"
    );
    assert_eq!(net.nonce_reuses, 0, "SRTP nonces reused on a recycled transceiver");
    // Anna is still watched without a gap in the end.
    let before = net.received.iter().filter(|r| r.0 == BRUNO && r.2 == Kind::Video).count();
    net.anna_sends_for(Duration::from_secs(1));
    let after = net.received.iter().filter(|r| r.0 == BRUNO && r.2 == Kind::Video).count();
    assert!(after > before + 20, "Bruno still watches Anna");
}

/// A fuzzer for what the media port parses before anyone is authenticated: the datagrams of a real
/// call (STUN checks, DTLS handshake, SRTP, SRTCP), cut, flipped, spliced and mixed with noise,
/// from unknown addresses and from a participant's own. Deterministic (a fixed xorshift seed, or
/// `FUZZ_SEED`), so a failure can be replayed; `FUZZ_ROUNDS` runs longer.
#[test]
fn mutated_datagrams_never_panic_the_engine_teach_it_nothing_and_harm_no_call() {
    let rounds: u32 =
        std::env::var("FUZZ_ROUNDS").ok().and_then(|r| r.parse().ok()).unwrap_or(50_000);
    let mut state: u64 = std::env::var("FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5DEE_CE66_D1CE_4E5B);
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let start = Instant::now();
    let mut net = Net::new(start);
    net.join(ANNA, 5001, true);
    net.anna_sends_for(Duration::from_millis(1500));
    assert!(net.connected.contains(&ANNA));
    let corpus = std::mem::take(&mut net.sent);
    assert!(corpus.len() >= 150, "a corpus of {} datagrams", corpus.len());
    let kinds = |first: u8| match first {
        0..=3 => "stun",
        20..=63 => "dtls",
        128..=191 => "rtp/rtcp",
        _ => "other",
    };
    for kind in ["stun", "dtls", "rtp/rtcp"] {
        assert!(
            corpus.iter().any(|d| d.first().is_some_and(|f| kinds(*f) == kind)),
            "no {kind} in the corpus"
        );
    }
    let known = net.sfu.addresses_known();
    let anna = net.peers[0].1;

    for round in 0..rounds {
        let mut data = corpus[(next() % corpus.len() as u64) as usize].clone();
        for _ in 0..(1 + next() % 3) {
            let len = data.len().max(1) as u64;
            match next() % 6 {
                0 => data.truncate((next() % len) as usize),
                1 | 2 => {
                    if let Some(byte) = data.get_mut((next() % len) as usize) {
                        *byte ^= (next() as u8) | 1;
                    }
                }
                3 => {
                    let other = &corpus[(next() % corpus.len() as u64) as usize];
                    let from = (next() % other.len().max(1) as u64) as usize;
                    data.extend_from_slice(other.get(from..).unwrap_or_default());
                }
                4 => data.extend((0..next() % 32).map(|_| next() as u8)),
                _ => {
                    data = (0..next() % 1500).map(|_| next() as u8).collect();
                }
            }
        }
        // Mostly from strangers; one in eight with Anna's own address as its source (spoofed).
        let from = if round % 8 == 0 { anna } else { stranger(round) };
        net.sfu.handle_datagram(net.now, from, &data);
        if round % 1000 == 0 {
            net.settle();
        }
    }
    net.settle();
    assert_eq!(net.sfu.addresses_known(), known, "a mutated datagram taught the relay an address");
    assert_eq!(net.stray, 0, "the relay answered a stranger");

    net.bruno_joins_and_gets_annas_media();
}

/// Someone joining (and publishing) makes the relay renegotiate with everyone already there. On
/// the simulated clock, where no CPU is short, that must not interrupt what they watch: the
/// longest pause in Bruno's video from Anna while Cleo joins stays at Anna's frame interval and
/// no packet is lost. (So a pause seen in browsers at a join comes
/// from load or from the browser, not from the relay's renegotiation.)
#[test]
fn a_join_is_invisible_to_those_already_watching() {
    let mut net = Net::anna_watched_by_bruno();
    let bruno_video = |net: &Net| {
        net.received.iter().filter(|r| r.0 == BRUNO && r.1 == "p1" && r.2 == Kind::Video).count()
    };
    assert!(bruno_video(&net) > 50, "Bruno watches Anna");
    let offers_before = net.offers.get(&BRUNO).copied().unwrap_or(0);
    let seen_before = bruno_video(&net);

    net.join(CLEO, 5003, true);
    net.senders.push(CLEO);
    let (mut longest, mut quiet, mut last) = (Duration::ZERO, Duration::ZERO, bruno_video(&net));
    for _ in 0..300 {
        net.anna_sends_for(Duration::from_millis(10));
        let now = bruno_video(&net);
        quiet = if now == last { quiet + Duration::from_millis(10) } else { Duration::ZERO };
        longest = longest.max(quiet);
        last = now;
    }
    assert!(net.connected.contains(&CLEO), "Cleo connects");
    assert!(
        net.offers.get(&BRUNO).copied().unwrap_or(0) > offers_before,
        "Bruno's connection was renegotiated for Cleo's tracks"
    );
    assert!(longest <= Duration::from_millis(40), "Bruno's picture paused {longest:?}");
    let video: Vec<u16> = net
        .received
        .iter()
        .filter(|r| r.0 == BRUNO && r.1 == "p1" && r.2 == Kind::Video)
        .skip(seen_before.saturating_sub(1))
        .map(|r| r.3)
        .collect();
    for pair in video.windows(2) {
        assert_eq!(pair[1], pair[0].wrapping_add(1), "no video lost while Cleo joined");
    }
    eprintln!("while Cleo joined, Bruno's picture of Anna paused at most {longest:?}");
}

#[test]
fn an_offer_lost_while_signalling_was_down_is_sent_again_when_the_seat_resumes() {
    let mut net = Net::anna_watched_by_bruno();
    let cleos_video =
        |net: &Net| net.received.iter().filter(|r| r.0 == BRUNO && r.1 == "p3").count();
    // Bruno's signalling connection breaks (his media connection stays up); Cleo joins and
    // publishes meanwhile, so the relay offers Bruno her tracks, into the void.
    net.unreachable.push(BRUNO);
    net.join(CLEO, 5003, true);
    net.senders.push(CLEO);
    net.anna_sends_for(Duration::from_secs(2));
    assert!(net.lost_signals >= 1, "the relay's offer to Bruno was lost");
    assert_eq!(cleos_video(&net), 0);
    let offers = net.offers.get(&BRUNO).copied().unwrap_or(0);

    // He is back in his seat, keeping his media connection: the relay offers again.
    net.unreachable.clear();
    net.sfu.resend_offer(BRUNO);
    net.anna_sends_for(Duration::from_secs(2));
    let answered = net.offers.get(&BRUNO).copied().unwrap_or(0);
    assert!(answered > offers, "offered again");
    assert!(cleos_video(&net) > 20, "Bruno gets Cleo's media: {}", cleos_video(&net));

    // With nothing unanswered, a resume offers nothing.
    net.sfu.resend_offer(BRUNO);
    net.sfu.resend_offer(ParticipantId(99));
    net.anna_sends_for(Duration::from_millis(500));
    assert_eq!(net.offers.get(&BRUNO).copied().unwrap_or(0), answered);
}

/// Bytes the relay resends for NACKs, at most (the engine's budget: a 64 KiB burst, then
/// 250,000 bytes a second per subscriber).
fn resend_allowance(period: Duration) -> usize {
    64 * 1024 + (250_000.0 * period.as_secs_f64()) as usize
}

#[test]
fn a_nack_flood_gets_no_more_than_the_resend_budget_and_the_call_goes_on() {
    let mut net = Net::anna_watched_by_bruno();
    let period = Duration::from_secs(2);
    // What Bruno gets in two seconds of Anna's call without any NACK.
    let before = net.bytes_to[&BRUNO];
    net.anna_sends_for(period);
    let plain = net.bytes_to[&BRUNO] - before;
    let (ssrc, video_before) = {
        let ssrc = net
            .streams
            .iter()
            .find(|((to, _), (kind, _, _))| *to == BRUNO && *kind == Kind::Video)
            .map(|((_, ssrc), _)| *ssrc)
            .expect("Bruno gets Anna's video");
        (ssrc, net.received.len())
    };
    // Bruno asks every 10 ms for the last 256 video packets he got (in order, as a browser
    // lists them): with no budget, 200 NACKs of ~256 cached packets each would be ~50 MB in two
    // seconds, to wherever his connection goes.
    let before = net.bytes_to[&BRUNO];
    let end = net.now + period;
    let mut nacks = 0;
    while net.now < end {
        let newest = net.received.iter().rev().find(|r| r.0 == BRUNO && r.2 == Kind::Video);
        let newest = newest.map(|r| r.3).unwrap();
        let seqs: Vec<u16> = (0..256).map(|back| newest.wrapping_sub(255 - back)).collect();
        let now = net.now;
        assert!(net.peer(BRUNO).send_nack(now, ssrc, &seqs));
        nacks += 1;
        net.anna_sends_for(Duration::from_millis(10));
    }
    let flooded = net.bytes_to[&BRUNO] - before;
    let resent = flooded.saturating_sub(plain);
    assert!(nacks >= 150, "{nacks} NACKs sent");
    assert!(resent > 64 * 1024, "the relay answers NACKs at all: {resent} bytes resent");
    // The budget counts RTP bytes; on the wire each packet has SRTP's 10-byte tag besides (a
    // few per cent), and Anna's frame sizes vary between the two periods (a tenth of `plain`).
    let bound = resend_allowance(period) * 21 / 20 + plain / 10;
    assert!(resent <= bound, "{resent} bytes resent for {nacks} NACKs; the budget allows {bound}");
    // Anna's live video kept reaching Bruno meanwhile: packets he had not had before.
    let old: std::collections::HashSet<u16> = net.received[..video_before]
        .iter()
        .filter(|r| r.0 == BRUNO && r.2 == Kind::Video)
        .map(|r| r.3)
        .collect();
    let live = net.received[video_before..]
        .iter()
        .filter(|r| r.0 == BRUNO && r.2 == Kind::Video && !old.contains(&r.3))
        .count();
    assert!(live > 100, "{live} live video packets during the flood");
}

/// `a=<key>:` of an SDP.
fn sdp_value(sdp: &str, key: &str) -> String {
    let prefix = format!("a={key}:");
    sdp.lines().find_map(|l| l.trim_end().strip_prefix(&prefix)).unwrap().to_owned()
}

#[test]
fn a_nomination_from_a_spoofed_address_does_not_send_the_room_there() {
    let mut net = Net::anna_watched_by_bruno();
    // Bruno restarts ICE (any participant may, at any time), and before his own checks go out
    // he signs a nomination with the new credentials as if it came from a victim: the first
    // nomination after a restart is the one `rtc` takes.
    let now = net.now;
    let offer = net.peer(BRUNO).create_restart_offer(now).unwrap();
    net.offered.insert(BRUNO, offer.clone());
    net.sfu.signal(now, BRUNO, Signal::Offer { sdp: offer }).unwrap();
    let mut answer = None;
    while let Some(output) = net.sfu.poll_output() {
        if let Output::Signal { signal: Signal::Answer { sdp }, .. } = output {
            answer = Some(sdp);
        }
    }
    let answer = answer.expect("the relay answers the restart");
    let offer = &net.offered[&BRUNO];
    let username = format!("{}:{}", sdp_value(&answer, "ice-ufrag"), sdp_value(offer, "ice-ufrag"));
    let check = nomination(&username, &sdp_value(&answer, "ice-pwd"), u64::MAX);
    let victim: SocketAddr = "198.51.100.66:4444".parse().unwrap();
    let before = net.received.len();
    net.sfu.handle_datagram(net.now, victim, &check);
    // Now Bruno's browser takes the answer and checks its real path.
    net.peer(BRUNO).set_answer(now, answer.clone()).unwrap();
    for _ in 0..20 {
        net.sfu.handle_datagram(net.now, victim, &check);
        net.anna_sends_for(Duration::from_millis(100));
    }
    // The nomination was valid (signed, right fragments): the relay answered each of the 21
    // checks (an answer is as large as the check: no amplification). But `rtc` selects a
    // nominated pair only once the pair has succeeded, i.e. a check of the relay's own was
    // answered from that address (RFC 8445 7.3.1.5), which the victim never does; so none of
    // Anna's media went there, and the real path took over.
    assert!(net.stray >= 21, "the nomination was not even taken: {} answers", net.stray);
    assert!(net.stray <= 21 + 5, "{} datagrams went to the spoofed address", net.stray);
    assert_eq!(net.stray_media, 0, "media went to the spoofed address");
    let live = net.received[before..].iter().filter(|r| r.0 == BRUNO && r.2 == Kind::Video).count();
    assert!(live > 100, "Bruno kept getting Anna's video: {live} packets");
}

#[test]
fn a_connection_that_failed_comes_back_with_an_ice_restart() {
    let mut net = Net::anna_watched_by_bruno();
    // Bruno's laptop stalls for 40 s: nothing from or to him. ICE consent runs out on both
    // sides (the relay's after 12 + 18 s), and `rtc` releases the candidates of a failed
    // connection.
    net.cut.push(BRUNO);
    net.anna_sends_for(Duration::from_secs(40));
    assert!(net.failed.contains(&BRUNO), "Bruno's side of the connection did not fail");
    net.cut.clear();
    // It wakes up, and the browser restarts ICE on the failed connection.
    let now = net.now;
    let offer = net.peer(BRUNO).create_restart_offer(now).unwrap();
    net.sfu.signal(now, BRUNO, Signal::Offer { sdp: offer }).unwrap();
    let before = net.received.len();
    net.anna_sends_for(Duration::from_secs(3));
    // The relay's answer names its candidate again, and Anna's picture flows once more. Before
    // the relay re-added its candidate, the restart found none and the connection stayed
    // failed for good.
    let answer = &net.answered[&BRUNO];
    assert!(answer.contains("a=candidate:"), "the restart's answer has no candidate:\n{answer}");
    let live = net.received[before..].iter().filter(|r| r.0 == BRUNO && r.2 == Kind::Video).count();
    assert!(live > 50, "Bruno got {live} video packets after his restart");
}
