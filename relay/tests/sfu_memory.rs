//! The SFU engine with no sockets and no real clock: two synthetic WebRTC peers and the engine
//! exchange datagrams and signals in memory while the test moves a simulated clock forward.
//! This is what the sans-IO design buys: a whole call — ICE, DTLS, SRTP, negotiation,
//! forwarding — in a deterministic loop.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::{
    net::SocketAddr,
    time::{Duration, Instant},
};

use loadgen::{
    assets::clip,
    peer::{Kind, PeerConfig, PeerEvent, SyntheticPeer},
};
use protocol::{ParticipantId, Signal};
use relay::sfu::{Output, Sfu};

const ANNA: ParticipantId = ParticipantId(1);
const BRUNO: ParticipantId = ParticipantId(2);

struct Net {
    now: Instant,
    sfu: Sfu,
    relay: SocketAddr,
    peers: Vec<(ParticipantId, SocketAddr, SyntheticPeer)>,
    received: Vec<(ParticipantId, String, Kind, u16, bool)>,
    connected: Vec<ParticipantId>,
    keyframe_requests: u32,
}

impl Net {
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
                        let now = self.now;
                        let relay = self.relay;
                        if let Some((_, _, peer)) = self.peers.iter_mut().find(|(_, a, _)| *a == to)
                        {
                            peer.handle_datagram(now, relay, &data);
                        }
                    }
                    Output::Signal { to, signal } => {
                        let now = self.now;
                        match signal {
                            Signal::Answer { sdp } => self.peer(to).set_answer(now, sdp).unwrap(),
                            Signal::Offer { sdp } => {
                                let answer = self.peer(to).answer(now, sdp).unwrap();
                                self.sfu.signal(now, to, Signal::Answer { sdp: answer }).unwrap();
                            }
                            Signal::Candidate { .. } => {}
                        }
                    }
                }
            }
            for i in 0..self.peers.len() {
                let (id, addr) = (self.peers[i].0, self.peers[i].1);
                while let Some((_, data)) = self.peers[i].2.poll_transmit() {
                    moved = true;
                    self.sfu.handle_datagram(self.now, addr, &data);
                }
                while let Some(event) = self.peers[i].2.poll_event() {
                    moved = true;
                    match event {
                        PeerEvent::Connected => self.connected.push(id),
                        PeerEvent::KeyframeRequested => self.keyframe_requests += 1,
                        PeerEvent::Media { stream, kind, packet, .. } => {
                            let keyframe = relay::sfu::forward::is_vp8_keyframe(&packet.payload);
                            self.received.push((
                                id,
                                stream,
                                kind,
                                packet.header.sequence_number,
                                kind == Kind::Video && keyframe,
                            ));
                        }
                        PeerEvent::Failed => panic!("{id}'s connection failed"),
                    }
                }
            }
            if !moved {
                return;
            }
        }
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
    let relay: SocketAddr = "192.0.2.1:3478".parse().unwrap();
    let mut net = Net {
        now: start,
        sfu: Sfu::new(relay, 7),
        relay,
        peers: Vec::new(),
        received: Vec::new(),
        connected: Vec::new(),
        keyframe_requests: 0,
    };
    for (id, port, publish) in [(ANNA, 5001u16, true), (BRUNO, 5002, false)] {
        let local_addr: SocketAddr = format!("192.0.2.9:{port}").parse().unwrap();
        let peer = SyntheticPeer::new(
            start,
            PeerConfig { local_addr, publish, simulcast: true, seed: u64::from(port) },
        )
        .unwrap();
        net.sfu.join(start, id, "rat").unwrap();
        net.peers.push((id, local_addr, peer));
    }
    for id in [ANNA, BRUNO] {
        let offer = net.peer(id).create_offer(start).unwrap();
        net.sfu.signal(start, id, Signal::Offer { sdp: offer }).unwrap();
    }
    net.settle();

    // Ten simulated seconds: Anna sends her clip at 30 frames and 50 audio packets a second.
    let clip = clip();
    let (mut frame, mut audio) = (0u32, 0u32);
    let mut t = Duration::ZERO;
    while t < Duration::from_secs(10) {
        t += Duration::from_millis(10);
        net.advance(Duration::from_millis(10));
        if !net.connected.contains(&ANNA) {
            continue;
        }
        let now = net.now;
        if t.as_millis().is_multiple_of(20) {
            let packet = &clip.audio[audio as usize % clip.audio.len()];
            net.peer(ANNA).send_audio(now, packet, audio * 960, 30);
            audio += 1;
        }
        if t.as_millis().is_multiple_of(30) {
            let i = frame as usize % clip.high.len();
            net.peer(ANNA).send_video(now, &[&clip.low[i], &clip.high[i]], frame * 3000);
            frame += 1;
        }
        net.settle();
    }

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
    // Bruno could decrypt everything, and nearly all of it took the fast path (one packet per
    // stream and second goes through `rtc` for its sender reports).
    let (_, forwarded) = net.sfu.stats();
    let fast = net.sfu.fast_forwarded();
    eprintln!("in memory: {fast} of {forwarded} forwarded packets took the fast path");
    assert!(fast * 100 >= forwarded * 90, "only {fast} of {forwarded} took the fast path");
    let simulated = net.now.duration_since(start);
    assert!(simulated >= Duration::from_secs(10));
}
