//! What a subscriber measures about one stream it receives: loss, jitter, first frame, freezes,
//! bitrate. Pure arithmetic on packet arrivals, so it is tested with made-up packets.

use std::time::{Duration, Instant};

/// A pause between two completed video frames longer than this counts as a freeze.
pub const FREEZE: Duration = Duration::from_millis(500);

/// Receive statistics of one RTP stream.
#[derive(Debug, Clone)]
pub struct StreamStats {
    /// The RTP clock rate (90 kHz video, 48 kHz Opus).
    clock_rate: u32,
    /// Packets received (retransmissions and duplicates included).
    pub packets: u64,
    /// Payload bytes received.
    pub bytes: u64,
    /// The first sequence number, extended.
    base_seq: Option<u64>,
    /// The highest sequence number, extended (wrap-arounds counted).
    highest_seq: u64,
    /// Distinct sequence numbers received (to count loss without duplicates).
    distinct: u64,
    /// Recently seen sequence numbers, to recognise duplicates.
    seen: std::collections::VecDeque<u64>,
    /// RFC 3550 interarrival jitter, in clock ticks.
    jitter: f64,
    /// Arrival and timestamp of the previous packet, for jitter.
    previous: Option<(Instant, u32)>,
    /// When the first packet came.
    pub first_packet: Option<Instant>,
    /// When the last video frame was completed (marker bit).
    last_frame: Option<Instant>,
    /// Video frames completed.
    pub frames: u64,
    /// Pauses between frames longer than [`FREEZE`].
    pub freezes: u64,
    /// The longest pause between frames.
    pub longest_pause: Duration,
}

impl StreamStats {
    /// Statistics for a stream with this RTP clock rate.
    pub fn new(clock_rate: u32) -> Self {
        Self {
            clock_rate,
            packets: 0,
            bytes: 0,
            base_seq: None,
            highest_seq: 0,
            distinct: 0,
            seen: std::collections::VecDeque::with_capacity(512),
            jitter: 0.0,
            previous: None,
            first_packet: None,
            last_frame: None,
            frames: 0,
            freezes: 0,
            longest_pause: Duration::ZERO,
        }
    }

    /// Records a packet that arrived at `now`.
    pub fn record(
        &mut self,
        now: Instant,
        sequence_number: u16,
        timestamp: u32,
        marker: bool,
        payload_len: usize,
    ) {
        self.packets += 1;
        self.bytes += payload_len as u64;
        self.first_packet.get_or_insert(now);

        // Extend the 16-bit sequence number to the one nearest the highest so far.
        let extended = match self.base_seq {
            None => {
                self.base_seq = Some(u64::from(sequence_number) + (1 << 16));
                self.highest_seq = u64::from(sequence_number) + (1 << 16);
                self.highest_seq
            }
            Some(_) => {
                let cycle = self.highest_seq & !0xffff;
                let candidates = [
                    cycle.saturating_sub(1 << 16) | u64::from(sequence_number),
                    cycle | u64::from(sequence_number),
                    (cycle + (1 << 16)) | u64::from(sequence_number),
                ];
                let nearest = candidates
                    .into_iter()
                    .min_by_key(|c| c.abs_diff(self.highest_seq))
                    .unwrap_or(self.highest_seq);
                self.highest_seq = self.highest_seq.max(nearest);
                nearest
            }
        };
        if !self.seen.contains(&extended) {
            self.distinct += 1;
            if self.seen.len() == self.seen.capacity() {
                self.seen.pop_front();
            }
            self.seen.push_back(extended);
        }

        // Jitter (RFC 3550 §6.4.1), from the transit-time difference of consecutive packets.
        if let Some((at, ts)) = self.previous {
            let arrival =
                now.saturating_duration_since(at).as_secs_f64() * f64::from(self.clock_rate);
            let sent = f64::from(timestamp.wrapping_sub(ts) as i32);
            let d = (arrival - sent).abs();
            self.jitter += (d - self.jitter) / 16.0;
        }
        self.previous = Some((now, timestamp));

        if marker {
            if let Some(last) = self.last_frame {
                let pause = now.saturating_duration_since(last);
                if pause > FREEZE {
                    self.freezes += 1;
                }
                self.longest_pause = self.longest_pause.max(pause);
            }
            self.last_frame = Some(now);
            self.frames += 1;
        }
    }

    /// Packets never received, of those the sender numbered so far.
    pub fn lost(&self) -> u64 {
        self.expected().saturating_sub(self.distinct)
    }

    /// Packets the sender numbered so far.
    pub fn expected(&self) -> u64 {
        self.base_seq.map_or(0, |base| self.highest_seq + 1 - base)
    }

    /// The interarrival jitter in milliseconds.
    pub fn jitter_ms(&self) -> f64 {
        self.jitter * 1000.0 / f64::from(self.clock_rate.max(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loss_counts_gaps_not_duplicates_across_wrap_around() {
        let t = Instant::now();
        let mut s = StreamStats::new(90_000);
        for seq in [65_533u16, 65_534, 0, 1, 1, 3] {
            s.record(t, seq, 0, false, 100);
        }
        assert_eq!(s.packets, 6);
        assert_eq!(s.expected(), 7, "65533..=3 across the wrap");
        assert_eq!(s.lost(), 2, "65535 and 2");
        // A late packet fills its gap.
        s.record(t, 2, 0, false, 100);
        assert_eq!(s.lost(), 1);
    }

    #[test]
    fn steady_packets_have_no_jitter_and_late_ones_do() {
        let t0 = Instant::now();
        let mut s = StreamStats::new(48_000);
        for i in 0..50u32 {
            s.record(t0 + Duration::from_millis(20 * u64::from(i)), i as u16, 960 * i, false, 80);
        }
        assert!(s.jitter_ms() < 0.01, "{}", s.jitter_ms());
        s.record(t0 + Duration::from_millis(20 * 50 + 30), 50, 960 * 50, false, 80);
        assert!(s.jitter_ms() > 1.0, "{}", s.jitter_ms());
    }

    #[test]
    fn long_pauses_between_frames_are_freezes() {
        let t0 = Instant::now();
        let mut s = StreamStats::new(90_000);
        s.record(t0, 1, 0, true, 1000);
        s.record(t0 + Duration::from_millis(33), 2, 3000, true, 1000);
        s.record(t0 + Duration::from_millis(900), 3, 6000, true, 1000);
        assert_eq!((s.frames, s.freezes), (3, 1));
        assert_eq!(s.longest_pause, Duration::from_millis(867));
    }
}
