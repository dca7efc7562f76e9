//! What goes out: forwarded media (through `rtc` or the fast path), resends for NACKs within a
//! budget, sender reports, and the writes `rtc` queued.

use super::*;

impl Sfu {
    /// Sends every subscriber a sender report per forwarded stream, once a second. They go out
    /// with the fast path's SRTP context, which owns these streams; until it is proven, none.
    pub(super) fn send_reports(&mut self, now: Instant) {
        let wall = *self.wall.get_or_insert_with(|| SystemInstant::now(now));
        for member in self.members.values_mut() {
            let (Some(context), Some(to)) = (&mut member.fast, member.route.peer) else { continue };
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

    /// Sends `source`'s packets to every subscriber, each rewritten for its connection.
    pub(super) fn forward(&mut self, now: Instant, source: ParticipantId, media: &[Incoming]) {
        let Some((room, silenced, private)) = self
            .members
            .get(&source)
            .filter(|m| !m.rules.receive_only)
            .map(|m| (m.room.clone(), m.rules.silenced, m.rules.camera_private))
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
                if private && incoming.slot == Slot::Camera && !member.rules.sees_all_cameras {
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
                if let (Some(context), Some(to)) = (&mut member.fast, member.route.peer) {
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
    pub(super) fn resend(&mut self, now: Instant, id: ParticipantId, ssrc: u32, seqs: &[u16]) {
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
            if let (Some(context), Some(to)) = (&mut member.fast, member.route.peer) {
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

    pub(super) fn flush_writes(&mut self, id: ParticipantId) {
        let Some(member) = self.members.get_mut(&id) else { return };
        // Every use of a connection ends here: its timers may have moved.
        member.timeout_stale = true;
        while let Some(datagram) = member.pc.poll_write() {
            let data = datagram.message;
            if fastpath::is_media(&data) {
                member.route.peer = Some(datagram.transport.peer_addr);
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
