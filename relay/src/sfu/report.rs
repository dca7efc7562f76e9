//! Sender reports for forwarded streams. A browser plays a participant's audio and video in sync
//! by mapping each stream's RTP timestamps to wall-clock time, and that mapping comes from the
//! sender reports of whoever sends the stream: here, the relay. The mapping is taken from the
//! last packet forwarded: its timestamp, plus the time since, at the codec's clock rate.

use std::time::Instant;

use rtc::{rtcp::sender_report::SenderReport, shared::time::SystemInstant};

/// What has been sent on one forwarded stream.
#[derive(Debug, Clone)]
pub struct Sending {
    clock_rate: u32,
    packets: u32,
    octets: u32,
    /// The timestamp of the last packet sent, and when it went.
    last: Option<(u32, Instant)>,
}

impl Sending {
    /// A stream whose timestamps run at `clock_rate` per second.
    pub fn new(clock_rate: u32) -> Self {
        Self { clock_rate, packets: 0, octets: 0, last: None }
    }

    /// A packet with `timestamp` and `payload_len` bytes of payload went out at `now`.
    pub fn on_sent(&mut self, now: Instant, timestamp: u32, payload_len: usize) {
        self.packets = self.packets.wrapping_add(1);
        self.octets = self.octets.wrapping_add(u32::try_from(payload_len).unwrap_or(u32::MAX));
        self.last = Some((timestamp, now));
    }

    /// The report for `ssrc` at `now`, once something was sent.
    pub fn report(&self, ssrc: u32, now: Instant, wall: &SystemInstant) -> Option<SenderReport> {
        let (timestamp, sent_at) = self.last?;
        let elapsed = now.saturating_duration_since(sent_at).as_secs_f64();
        // Truncation is intended: RTP time wraps at 2^32.
        let ticks = (elapsed * f64::from(self.clock_rate)) as u64 as u32;
        Some(SenderReport {
            ssrc,
            ntp_time: wall.ntp(now),
            rtp_time: timestamp.wrapping_add(ticks),
            packet_count: self.packets,
            octet_count: self.octets,
            ..Default::default()
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn maps_rtp_time_to_wall_clock_from_the_last_packet() {
        let start = Instant::now();
        let wall = SystemInstant::now(start);
        let mut video = Sending::new(90_000);
        assert!(video.report(7, start, &wall).is_none(), "nothing sent, nothing to report");

        video.on_sent(start, 1_000, 1200);
        video.on_sent(start + Duration::from_millis(33), 4_000, 800);
        let at = start + Duration::from_millis(533);
        let report = video.report(7, at, &wall).unwrap();
        assert_eq!(report.ssrc, 7);
        assert_eq!(report.packet_count, 2);
        assert_eq!(report.octet_count, 2000);
        // Half a second after the packet stamped 4000: 45 000 ticks later.
        assert_eq!(report.rtp_time, 49_000);
        assert_eq!(report.ntp_time, wall.ntp(at));
    }

    #[test]
    fn timestamps_wrap() {
        let start = Instant::now();
        let wall = SystemInstant::now(start);
        let mut audio = Sending::new(48_000);
        audio.on_sent(start, u32::MAX - 10, 80);
        let report = audio.report(1, start + Duration::from_millis(1), &wall).unwrap();
        assert_eq!(report.rtp_time, 37);
    }
}
