//! Feedback: what a subscriber's RTCP asks of the relay, classified once (keyframe requests,
//! NACKs, bandwidth estimates, reception reports), before anything is acted on.

use super::*;

/// One drain's worth of a participant's RTCP.
#[derive(Debug, Default)]
pub(super) struct Feedback {
    /// Keyframe requests (PLI, FIR), by the publisher and slot of the video they name.
    pub keyframe_requests: Vec<(ParticipantId, Slot)>,
    /// Packets to resend: per forwarded SSRC, the sequence numbers.
    pub nacks: Vec<(u32, Vec<u16>)>,
    /// The latest bandwidth estimate (REMB), in bits per second.
    pub estimate: Option<u64>,
    /// Reception reports, from receiver reports and from publishers' sender reports.
    pub reports: Vec<ReceptionReport>,
}

impl Feedback {
    /// Files each part of a compound RTCP packet (it is filed under the SSRC of its first part
    /// only, so each part is looked at). `video_ssrcs` maps the SSRCs the relay forwards to this
    /// participant to whose video they carry.
    pub fn add(
        &mut self,
        packets: &[Box<dyn rtc::rtcp::Packet>],
        video_ssrcs: &FxHashMap<u32, (ParticipantId, Slot)>,
    ) {
        for packet in packets {
            let any = packet.as_any();
            if let Some(pli) = any.downcast_ref::<PictureLossIndication>() {
                self.keyframe_requests.extend(video_ssrcs.get(&pli.media_ssrc));
            } else if let Some(fir) = any.downcast_ref::<FullIntraRequest>() {
                self.keyframe_requests
                    .extend(fir.fir.iter().filter_map(|e| video_ssrcs.get(&e.ssrc)));
            } else if let Some(nack) = any.downcast_ref::<TransportLayerNack>() {
                let seqs = nack.nacks.iter().flat_map(|n| n.packet_list());
                self.nacks.push((nack.media_ssrc, seqs.collect()));
            } else if let Some(rr) = any.downcast_ref::<ReceiverReport>() {
                self.reports.extend_from_slice(&rr.reports);
            } else if let Some(sr) = any.downcast_ref::<SenderReport>() {
                // A publisher reports what it receives inside its own sender reports.
                self.reports.extend_from_slice(&sr.reports);
            } else if let Some(remb) = any.downcast_ref::<ReceiverEstimatedMaximumBitrate>() {
                self.estimate = Some(remb.bitrate.max(0.0) as u64);
            }
        }
    }
}
