//! How well the relay's media reaches its subscribers, from their reception reports: the share
//! of packets lost on the way from the relay (RTCP `fraction lost`) and the round-trip time
//! (from the report's echo of the relay's last sender report, RFC 3550 section 6.4.1). Kept as
//! fixed-bucket histograms, so `/metrics` can show how many people had how bad a link, with no
//! names attached.

/// Upper bounds of the loss buckets (share of packets lost, 0 to 1).
pub const LOSS_BOUNDS: [f64; 7] = [0.0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5];
/// Upper bounds of the round-trip buckets, in seconds.
pub const RTT_BOUNDS: [f64; 9] = [0.01, 0.025, 0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 3.2];

/// Round trips longer than this are not believed (a report echoing a sender report from before
/// a clock jump, or a forged one), and not counted.
const RTT_CREDIBLE_SECS: f64 = 60.0;

/// A histogram with `N` fixed upper bounds (and one bucket above them all).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Buckets<const N: usize> {
    bounds: [f64; N],
    /// Per bucket (not cumulative); the last is everything above the last bound.
    counts: [u64; N],
    above: u64,
    sum: f64,
}

impl<const N: usize> Buckets<N> {
    /// An empty histogram with these upper bounds (ascending).
    pub const fn new(bounds: [f64; N]) -> Self {
        Self { bounds, counts: [0; N], above: 0, sum: 0.0 }
    }

    /// Counts `value`.
    pub fn observe(&mut self, value: f64) {
        self.sum += value;
        match self.bounds.iter().position(|bound| value <= *bound) {
            Some(i) => self.counts[i] += 1,
            None => self.above += 1,
        }
    }

    /// Observations in all.
    pub fn count(&self) -> u64 {
        self.counts.iter().sum::<u64>() + self.above
    }

    /// Their sum.
    pub fn sum(&self) -> f64 {
        self.sum
    }

    /// Adds `other`'s observations (same bounds) to these.
    pub fn add(&mut self, other: &Self) {
        for (count, more) in self.counts.iter_mut().zip(other.counts) {
            *count += more;
        }
        self.above += other.above;
        self.sum += other.sum;
    }

    /// `(upper bound, observations in this bucket)`, the last bound being `+Inf`.
    pub fn buckets(&self) -> Vec<(f64, u64)> {
        let mut out: Vec<(f64, u64)> = self.bounds.iter().copied().zip(self.counts).collect();
        out.push((f64::INFINITY, self.above));
        out
    }
}

/// Loss and round trip of the relay's links to its subscribers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LinkQuality {
    /// Share of packets lost between relay and subscriber, one observation per report block.
    pub loss: Buckets<{ LOSS_BOUNDS.len() }>,
    /// Round trips relay → subscriber → relay, in seconds.
    pub rtt: Buckets<{ RTT_BOUNDS.len() }>,
}

impl Default for LinkQuality {
    fn default() -> Self {
        Self { loss: Buckets::new(LOSS_BOUNDS), rtt: Buckets::new(RTT_BOUNDS) }
    }
}

impl LinkQuality {
    /// Adds another media loop's figures to these.
    pub fn add(&mut self, other: &Self) {
        self.loss.add(&other.loss);
        self.rtt.add(&other.rtt);
    }

    /// A subscriber's report block about a stream the relay sends it, read when the relay's
    /// NTP clock shows `now_ntp` (64-bit NTP time): `fraction_lost` in 1/256, and the echo of
    /// the relay's last sender report (`last_sender_report`, the middle 32 bits of its NTP
    /// time; 0 when there was none yet) with the `delay` since it, in 1/65536 s.
    pub fn on_report_block(
        &mut self,
        now_ntp: u64,
        fraction_lost: u8,
        last_sender_report: u32,
        delay: u32,
    ) {
        self.loss.observe(f64::from(fraction_lost) / 256.0);
        if last_sender_report == 0 {
            return;
        }
        // The middle 32 bits of NTP time: 16.16 fixed-point seconds, wrapping (truncation meant).
        let now = (now_ntp >> 16) as u32;
        let rtt = now.wrapping_sub(last_sender_report).wrapping_sub(delay);
        let secs = f64::from(rtt) / 65536.0;
        if secs < RTT_CREDIBLE_SECS {
            self.rtt.observe(secs);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// NTP time (64-bit) for `secs` seconds.
    fn ntp(secs: f64) -> u64 {
        (secs * 65536.0) as u64 * 65536
    }

    #[test]
    fn loss_is_the_reported_share_in_its_bucket() {
        let mut quality = LinkQuality::default();
        quality.on_report_block(ntp(100.0), 0, 0, 0);
        quality.on_report_block(ntp(100.0), 26, 0, 0); // 10 %
        quality.on_report_block(ntp(100.0), 255, 0, 0); // nearly everything
        assert_eq!(quality.loss.count(), 3);
        let buckets = quality.loss.buckets();
        assert_eq!(buckets[0], (0.0, 1));
        assert_eq!(buckets.iter().find(|(b, _)| *b == 0.2).map(|b| b.1), Some(1), "{buckets:?}");
        assert_eq!(buckets.last(), Some(&(f64::INFINITY, 1)));
        assert!((quality.loss.sum() - (26.0 + 255.0) / 256.0).abs() < 1e-9);
        // Without an echoed sender report, no round trip.
        assert_eq!(quality.rtt.count(), 0);
    }

    #[test]
    fn the_round_trip_is_now_minus_the_echo_minus_the_subscribers_delay() {
        let mut quality = LinkQuality::default();
        // The relay's report went out at 100 s; the subscriber held it 0.5 s; now is 100.58 s.
        let sent = (ntp(100.0) >> 16) as u32;
        quality.on_report_block(ntp(100.58), 0, sent, 32768);
        assert_eq!(quality.rtt.count(), 1);
        assert!((quality.rtt.sum() - 0.08).abs() < 0.001, "{}", quality.rtt.sum());
        assert_eq!(quality.rtt.buckets()[3], (0.1, 1));
    }

    #[test]
    fn the_round_trip_survives_the_wrap_of_the_middle_bits_and_ignores_nonsense() {
        let mut quality = LinkQuality::default();
        // The middle 32 bits wrap every 65536 s: sent just before, read just after.
        let sent = (ntp(65535.99) >> 16) as u32;
        quality.on_report_block(ntp(65536.03), 0, sent, 0);
        assert!((quality.rtt.sum() - 0.04).abs() < 0.001, "{}", quality.rtt.sum());
        // An echo from the future (or a forged one) is no round trip.
        let future = (ntp(200.0) >> 16) as u32;
        quality.on_report_block(ntp(100.0), 0, future, 0);
        assert_eq!(quality.rtt.count(), 1);
    }
}
