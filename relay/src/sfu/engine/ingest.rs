//! What comes in: datagrams on the media port, handed to the member whose ICE credentials or
//! proven address they match, and everything `rtc` makes of them.

use super::{feedback::Feedback, *};

impl Sfu {
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
        member.route.last_from = Some(from);
        if is_stun_message(data) {
            if proved || member.proves(data, from) {
                member.route.path.signed_check_from(from);
                self.demux.learn(from, id);
            }
        } else if fastpath::is_media(data)
            && member.route.path.media_from(now, from, member.route.peer)
        {
            info!(participant = %id, %from, sending_to = ?member.route.peer, "the browser sends its media on another path: asking it to restart ICE");
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

    /// Points the fast path at each participant's currently selected candidate pair (a browser
    /// may move to another one, e.g. when its network changes). `rtc` selects a nominated pair
    /// only once a check of its own was answered from there, so neither a forged datagram nor a
    /// participant's own nomination of a spoofed address redirects media (`sfu_memory.rs`).
    pub(super) fn follow_selected_pairs(&mut self) {
        for (id, member) in &mut self.members {
            if member.fast.is_none() {
                continue;
            }
            let Some(selected) = selected_peer(member) else { continue };
            if member.route.peer != Some(selected) {
                debug!(participant = %id, %selected, "media address changed");
                member.route.peer = Some(selected);
            }
        }
    }

    /// Moves everything `id`'s connection produced: datagrams out, events handled, media
    /// forwarded, feedback from `id` as a subscriber acted on.
    pub(super) fn drain(&mut self, now: Instant, id: ParticipantId) {
        let Some(member) = self.members.get_mut(&id) else { return };
        let events = member.take_events(now, id);
        let (media, feedback) = member.take_reads(now, id);
        if let Some(estimate) = feedback.estimate {
            if member.estimate.is_none() {
                debug!(participant = %id, estimate, "first bandwidth estimate");
            }
            member.estimate = Some(estimate);
        }
        if !feedback.reports.is_empty() {
            let wall = self.wall.get_or_insert_with(|| SystemInstant::now(now));
            observe_reports(&mut self.quality, wall.ntp(now), &feedback.reports);
        }

        for (ssrc, seqs) in feedback.nacks {
            self.resend(now, id, ssrc, &seqs);
        }

        // Forwarding to a new subscriber starts with a keyframe: ask for it now rather than at
        // the next tick, so the first picture comes sooner.
        if events.just_connected {
            self.request_awaited_keyframes(now, id);
        }

        // Keyframe requests from this subscriber go to the publishers, for the layer it gets.
        for (source, slot) in feedback.keyframe_requests {
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
        if !events.new_tracks.is_empty() {
            let mates = self.room_mates(id);
            for slot in events.new_tracks {
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
}

/// What a connection's events brought, for the engine to act on.
#[derive(Debug, Default)]
struct Events {
    /// Tracks the participant started to publish.
    new_tracks: Vec<Slot>,
    /// DTLS came up just now.
    just_connected: bool,
}

impl Member {
    /// Takes `rtc`'s events: streams opened, negotiation needed, state changes.
    fn take_events(&mut self, now: Instant, id: ParticipantId) -> Events {
        let mut events = Events::default();
        while let Some(event) = self.pc.poll_event() {
            match event {
                RTCPeerConnectionEvent::OnTrack(RTCTrackEvent::OnOpen(init)) => {
                    if let Some(slot) = self.open_stream(&init, id) {
                        events.new_tracks.push(slot);
                    }
                }
                RTCPeerConnectionEvent::OnNegotiationNeededEvent => {
                    self.negotiation.offer_due.get_or_insert(now + OFFER_BATCH);
                }
                RTCPeerConnectionEvent::OnSignalingStateChangeEvent(state) => {
                    self.negotiation.signaling = state
                }
                RTCPeerConnectionEvent::OnConnectionStateChangeEvent(state) => {
                    let selected = selected_peer(self);
                    debug!(participant = %id, ?selected, last_from = ?self.route.last_from, "media connection {state}");
                    let connected = state == RTCPeerConnectionState::Connected;
                    events.just_connected |= connected && !self.connected;
                    self.connected = connected;
                }
                _ => {}
            }
        }
        events
    }

    /// A stream of the participant's opened: a new track's slot, or `None` for another layer
    /// of a known track, a duplicate slot or a kind the relay does not forward.
    fn open_stream(&mut self, init: &RTCTrackEventInit, id: ParticipantId) -> Option<Slot> {
        let kind = self
            .pc
            .rtp_receiver(init.receiver_id)
            .map(|r| r.track().kind())
            .unwrap_or(RtpCodecKind::Unspecified);
        let layer = Layer::from_rid(init.rid.as_deref());
        debug!(participant = %id, rid = ?init.rid, ssrc = init.ssrc, track = %init.track_id, "stream opened");
        if let Some(inbound) = self.inbound.get_mut(&init.track_id) {
            // Another simulcast layer of a track we know (or one we know, announced again after
            // a renegotiation).
            inbound.layers.entry(init.ssrc).or_insert_with(|| InLayer::new(layer));
            return None;
        }
        // The first video m-line of the participant's connection is its camera (the app
        // creates it first); a later one is a shared screen.
        let slot = match kind {
            RtpCodecKind::Audio => Slot::Audio,
            RtpCodecKind::Video => {
                let ids: Vec<_> = self.pc.get_transceivers().collect();
                let first_video = ids.into_iter().map(RTCRtpReceiverId::from).find(|r| {
                    self.pc
                        .rtp_receiver(*r)
                        .is_some_and(|r| r.track().kind() == RtpCodecKind::Video)
                });
                if first_video == Some(init.receiver_id) { Slot::Camera } else { Slot::Screen }
            }
            _ => return None,
        };
        // One track of each slot per participant is forwarded.
        if self.inbound.values().any(|i| i.slot == slot) {
            return None;
        }
        let audio_level_id = self.pc.rtp_receiver(init.receiver_id).and_then(|mut r| {
            r.get_parameters()
                .rtp_parameters
                .header_extensions
                .iter()
                .find(|e| e.uri == AUDIO_LEVEL_EXTENSION)
                .map(|e| e.id as u8)
        });
        self.inbound.insert(
            init.track_id.clone(),
            Inbound {
                slot,
                receiver: init.receiver_id,
                layers: HashMap::from([(init.ssrc, InLayer::new(layer))]),
                audio_level_id,
            },
        );
        Some(slot)
    }

    /// Takes what `rtc` read: the participant's media, and its feedback on what it receives.
    fn take_reads(&mut self, now: Instant, id: ParticipantId) -> (Vec<Incoming>, Feedback) {
        let mut media = Vec::new();
        let mut feedback = Feedback::default();
        while let Some(message) = self.pc.poll_read() {
            match message.message {
                RTCMessage::RtpPacket(track_id, packet) => {
                    media.extend(self.incoming(now, id, &track_id, packet));
                }
                RTCMessage::RtcpPacket(_, packets) => feedback.add(&packets, &self.video_ssrcs),
                _ => {}
            }
        }
        (media, feedback)
    }

    /// A media packet of the participant's track `track_id`, counted, ready to forward.
    fn incoming(
        &mut self,
        now: Instant,
        id: ParticipantId,
        track_id: &str,
        packet: rtc::rtp::packet::Packet,
    ) -> Option<Incoming> {
        let Some(inbound) = self.inbound.get_mut(track_id) else {
            tracing::trace!(participant = %id, %track_id, "packet of an unknown track");
            return None;
        };
        let ssrc = packet.header.ssrc;
        if !inbound.layers.contains_key(&ssrc) {
            // A layer whose first packet raced its track event.
            let rid =
                self.pc.rtp_receiver(inbound.receiver).and_then(|r| r.track().rid(ssrc).cloned());
            inbound.layers.insert(ssrc, InLayer::new(Layer::from_rid(rid.as_deref())));
        }
        let stream = inbound.layers.get_mut(&ssrc)?;
        stream.bytes += packet.payload.len() as u64;
        stream.liveness.on_packet(now);
        let video = inbound.slot != Slot::Audio;
        Some(Incoming {
            slot: inbound.slot,
            layer: stream.layer,
            keyframe: video && is_vp8_keyframe(&packet.payload),
            level: inbound.audio_level_id.and_then(|ext| packet.header.get_extension(ext)),
            packet,
        })
    }
}
