//! Lets subscribers' feedback reach the engine. The `rtc` interceptor chain ends inbound RTCP at
//! its terminus unless an interceptor marks a packet for the application; this one marks the
//! compound packets that carry keyframe requests (PLI, FIR), a bandwidth estimate (REMB) or NACKs
//! (the engine answers those itself, see `fastpath`) or reception reports (counted for
//! `/metrics`, see `quality`); the built-in interceptors have seen them all before.

use std::{collections::VecDeque, time::Instant};

use rtc::{
    interceptor::{Attribute, Interceptor, Packet, StreamInfo, TaggedPacket},
    rtcp::payload_feedbacks::{
        full_intra_request::FullIntraRequest, picture_loss_indication::PictureLossIndication,
        receiver_estimated_maximum_bitrate::ReceiverEstimatedMaximumBitrate,
    },
    rtcp::receiver_report::ReceiverReport,
    rtcp::sender_report::SenderReport,
    rtcp::transport_feedbacks::transport_layer_nack::TransportLayerNack,
};

/// Where in the chain it sits: application-most, after every built-in interceptor.
pub const SLOT: usize = 20_000;

/// The interceptor.
#[derive(Default)]
pub struct FeedbackTap {
    read: VecDeque<TaggedPacket>,
    write: VecDeque<TaggedPacket>,
}

fn is_feedback(packet: &dyn rtc::rtcp::Packet) -> bool {
    let any = packet.as_any();
    any.is::<PictureLossIndication>()
        || any.is::<FullIntraRequest>()
        || any.is::<ReceiverEstimatedMaximumBitrate>()
        || any.is::<TransportLayerNack>()
        // Reception reports, for the loss and round-trip figures of `/metrics`.
        || any.downcast_ref::<ReceiverReport>().is_some_and(|rr| !rr.reports.is_empty())
        || any.downcast_ref::<SenderReport>().is_some_and(|sr| !sr.reports.is_empty())
}

impl rtc::sansio::Protocol<TaggedPacket, TaggedPacket, ()> for FeedbackTap {
    type Rout = TaggedPacket;
    type Wout = TaggedPacket;
    type Eout = ();
    type Error = rtc::shared::error::Error;
    type Time = Instant;

    fn handle_read(&mut self, mut msg: TaggedPacket) -> Result<(), Self::Error> {
        if let Packet::Rtcp(packets) = &msg.message.packet
            && packets.iter().any(|p| is_feedback(p.as_ref()))
        {
            msg.message.add(Attribute::DeliverToApplication);
        }
        self.read.push_back(msg);
        Ok(())
    }

    fn poll_read(&mut self) -> Option<TaggedPacket> {
        self.read.pop_front()
    }

    fn handle_write(&mut self, msg: TaggedPacket) -> Result<(), Self::Error> {
        self.write.push_back(msg);
        Ok(())
    }

    fn poll_write(&mut self) -> Option<TaggedPacket> {
        self.write.pop_front()
    }
}

impl Interceptor for FeedbackTap {
    fn bind_local_stream(&mut self, _info: &StreamInfo) {}
    fn unbind_local_stream(&mut self, _info: &StreamInfo) {}
    fn bind_remote_stream(&mut self, _info: &StreamInfo) {}
    fn unbind_remote_stream(&mut self, _info: &StreamInfo) {}
}
