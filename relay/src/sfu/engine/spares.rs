//! Transceivers of ended streams, kept for the next ones.
//!
//! WebRTC never removes an m-line from a session. With a new transceiver for every stream ever
//! forwarded, a subscriber's session description grew with everyone who had ever been in the
//! room: in a council session or a school day, hundreds. After 100 people had come and gone a
//! renegotiation took 23 s in Chromium, after 1000 it did not finish. So when a publisher
//! leaves, the transceivers that carried their streams go inactive and wait; the next stream of
//! the same kind takes one over with a new track (stream id, track id) and a new SSRC. A
//! subscriber's connection then has as many transceivers as it ever received streams at once,
//! not one per stream it ever received.

use super::*;

/// A forwarding transceiver whose stream ended, waiting for another.
#[derive(Debug, Clone, Copy)]
pub(super) struct Spare {
    kind: RtpCodecKind,
    sender: RTCRtpSenderId,
    /// `offers_made` when it went inactive. The browser must have seen it inactive before it
    /// carries another stream: a receiver that stays receiving through a renegotiation (only its
    /// stream id changing) fires no `track` event, so the app would never learn of the new
    /// stream.
    retired_at: u64,
}

impl Member {
    /// The stream `sender` carried ended: its transceiver stops sending and waits for the next
    /// stream of `kind`. The next offer shows it inactive.
    pub(super) fn retire(&mut self, now: Instant, sender: RTCRtpSenderId, kind: RtpCodecKind) {
        let Some(mut transceiver) = self.pc.rtp_transceiver(RTCRtpTransceiverId::from(sender))
        else {
            return;
        };
        transceiver.set_direction(RTCRtpTransceiverDirection::Inactive);
        self.spares.push(Spare { kind, sender, retired_at: self.negotiation.offers_made });
        self.negotiation.offer_due.get_or_insert(now + OFFER_BATCH);
    }

    /// Sends `track` (whose only encoding has `ssrc`) on a spare transceiver of its kind, if
    /// one is ready: the browser has answered an offer showing it inactive.
    pub(super) fn reuse_spare(
        &mut self,
        track: &MediaStreamTrack,
        ssrc: u32,
    ) -> Option<RTCRtpSenderId> {
        let answered = self.negotiation.answers_applied;
        let index =
            self.spares.iter().position(|s| s.kind == track.kind() && answered > s.retired_at)?;
        let spare = self.spares.swap_remove(index);
        match self.carry(spare.sender, track.clone(), ssrc) {
            Ok(()) => Some(spare.sender),
            Err(e) => {
                // Not put back: a transceiver that refused once is not tried again.
                warn!("cannot reuse a transceiver: {e}");
                None
            }
        }
    }

    /// Puts `track` on the inactive transceiver of `sender` and makes it send again.
    fn carry(
        &mut self,
        sender: RTCRtpSenderId,
        track: MediaStreamTrack,
        ssrc: u32,
    ) -> Result<(), rtc::shared::error::Error> {
        use rtc::shared::error::Error::ErrRTPSenderNotExisted as Missing;
        // `rtc` hands out the sender of a sending transceiver only.
        self.pc
            .rtp_transceiver(RTCRtpTransceiverId::from(sender))
            .ok_or(Missing)?
            .set_direction(RTCRtpTransceiverDirection::Sendonly);
        let replaced = (|| {
            let mut rtp_sender = self.pc.rtp_sender(sender).ok_or(Missing)?;
            // The SDP's `a=ssrc` comes from the send parameters, the packets' SSRC from the
            // track: both change.
            rtp_sender.replace_track(track)?;
            let mut parameters = rtp_sender.get_parameters().clone();
            for encoding in &mut parameters.encodings {
                encoding.rtp_coding_parameters.ssrc = Some(ssrc);
            }
            rtp_sender.set_parameters(parameters, None)
        })();
        if replaced.is_err()
            && let Some(mut transceiver) =
                self.pc.rtp_transceiver(RTCRtpTransceiverId::from(sender))
        {
            transceiver.set_direction(RTCRtpTransceiverDirection::Inactive);
        }
        replaced
    }

    /// How many transceivers this participant's connection has (for tests and benchmarks).
    pub(super) fn transceiver_count(&self) -> usize {
        self.pc.get_transceivers().count()
    }
}
