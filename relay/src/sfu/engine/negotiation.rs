//! Negotiation: the browser's offers and answers, the relay's own offers when forwarded
//! tracks come and go, and the tracks each subscriber gets.

use super::*;

impl Sfu {
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
                if member.negotiation.signaling == RTCSignalingState::HaveLocalOffer {
                    // Glare: the relay is the impolite side; the app rolls back and answers ours.
                    info!(participant = %id, "ignoring a colliding offer");
                    return Ok(());
                }
                debug!(participant = %id, "offer from participant");
                // A connection whose ICE failed lost its candidates with it (`rtc` releases
                // them all), and an ICE restart keeps only the ones it has: without this, a
                // browser that was silent too long (a stalled laptop, a network gone for half
                // a minute) restarted ICE in vain, for ever. Adding the candidate it still has
                // changes nothing.
                member.pc.add_local_candidate(host_candidate(self.local_addr)?)?;
                member.pc.set_remote_description(now, RTCSessionDescription::offer(sdp)?)?;
                let answer = member.pc.create_answer(None)?;
                member.pc.set_local_description(now, answer)?;
                let sdp = member.pc.local_description().map(|d| d.sdp).unwrap_or_default();
                self.outputs.push_back(Output::Signal { to: id, signal: Signal::Answer { sdp } });
                let first = !member.negotiation.negotiated;
                member.negotiation.negotiated = true;
                if first {
                    self.subscribe_to_room(now, id);
                }
            }
            Signal::Answer { sdp } => {
                let waited =
                    member.negotiation.offered_at.take().map(|(at, _)| now.duration_since(at));
                debug!(participant = %id, state = %member.negotiation.signaling, ?waited, "answer from participant");
                if member.negotiation.signaling == RTCSignalingState::HaveLocalOffer {
                    member.pc.set_remote_description(now, RTCSessionDescription::answer(sdp)?)?;
                    member.negotiation.answers_applied += 1;
                    // New forwarded tracks are live now: their first picture needs a keyframe,
                    // and waiting for the next tick would delay it.
                    self.drain(now, id);
                    self.request_awaited_keyframes(now, id);
                    return Ok(());
                }
            }
            // ICE-lite: the browser's checks reach us; its candidates are not needed. A browser
            // restarts ICE with an offer, never by asking the relay to.
            Signal::Candidate { .. } | Signal::RestartIce | Signal::Rebuild => {}
        }
        self.drain(now, id);
        Ok(())
    }

    /// Starts forwarding everything already published in `id`'s room to `id`.
    pub(super) fn subscribe_to_room(&mut self, now: Instant, id: ParticipantId) {
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

    /// Adds a track on `subscriber`'s connection that will carry `source`'s `slot` media.
    pub(super) fn add_forward(
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
        if member.forwards.contains_key(&(source, slot)) || !member.negotiation.negotiated {
            debug!(%subscriber, %source, slot = slot.name(), negotiated = member.negotiation.negotiated, "forward skipped");
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
        // A transceiver of an ended stream if one is ready (see `spares`), else a new one of its
        // own: `add_track` would reuse one of the m-lines the participant publishes on, which
        // it does not receive on.
        let added = match member.reuse_spare(&track, ssrc) {
            Some(sender) => Ok(sender),
            None => {
                let init = RTCRtpTransceiverInit {
                    direction: RTCRtpTransceiverDirection::Sendonly,
                    streams: vec![slot.stream(source)],
                    send_encodings: Vec::new(),
                };
                member.pc.add_transceiver_from_track(track, Some(init)).map(RTCRtpSenderId::from)
            }
        };
        match added {
            Ok(sender) => {
                member.forwards.insert((source, slot), sender);
                if kind == RtpCodecKind::Video {
                    member.video_ssrcs.insert(ssrc, (source, slot));
                    member.video.insert((source, slot), VideoForward::new(start_layer));
                }
                member.negotiation.offer_due.get_or_insert(now + OFFER_BATCH);
            }
            Err(e) => warn!("cannot forward {source}'s {} to {subscriber}: {e}", slot.name()),
        }
    }

    /// Sends the relay's offer to `id` if it has changes and signalling is stable.
    pub(super) fn offer_if_needed(&mut self, now: Instant, id: ParticipantId) {
        let Some(member) = self.members.get_mut(&id) else { return };
        if member.negotiation.offer_due.is_none_or(|due| due > now)
            || !member.negotiation.negotiated
            || member.negotiation.signaling != RTCSignalingState::Stable
        {
            return;
        }
        member.negotiation.offer_due = None;
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
        member.negotiation.signaling = RTCSignalingState::HaveLocalOffer;
        member.negotiation.offers_made += 1;
        member.negotiation.offered_at = Some((now, false));
        debug!(participant = %id, "offer to participant");
        let sdp = member.pc.local_description().map(|d| d.sdp).unwrap_or_default();
        tracing::trace!(participant = %id, %sdp, "our offer");
        self.outputs.push_back(Output::Signal { to: id, signal: Signal::Offer { sdp } });
    }

    /// Participant `id` came back on a new signalling connection and kept its media
    /// connection: an offer of the relay's still unanswered may have gone to the connection
    /// that broke, so it is sent again (the browser answers it, or, if it already did, the
    /// answer is on its way). Until answered, the browser's own offers count as collisions.
    pub fn resend_offer(&mut self, id: ParticipantId) {
        let Some(member) = self.members.get(&id) else { return };
        if member.negotiation.signaling != RTCSignalingState::HaveLocalOffer {
            return;
        }
        let Some(sdp) = member.pc.local_description().map(|d| d.sdp) else { return };
        debug!(participant = %id, "offer to participant, again");
        self.outputs.push_back(Output::Signal { to: id, signal: Signal::Offer { sdp } });
    }

    /// Logs, once per offer, an offer of the relay's that has waited [`SLOW_ANSWER`]: while it
    /// waits, the participant's own offers (an ICE restart) are ignored as collisions.
    pub(super) fn report_slow_answers(&mut self, now: Instant) {
        for (id, member) in &mut self.members {
            if let Some((at, logged @ false)) = &mut member.negotiation.offered_at
                && now >= *at + SLOW_ANSWER
            {
                *logged = true;
                warn!(participant = %id, "no answer to the relay's offer for {} s", SLOW_ANSWER.as_secs());
            }
        }
    }
}
