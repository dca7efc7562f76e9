//! Whether a publisher is sending one simulcast layer now.
//!
//! Browsers pause their larger layers while upload bandwidth or CPU is short, and subscribers on
//! a paused layer must move to one that flows. Counting a layer as paused quickly keeps that
//! freeze short. But an encoder starved of CPU drops and resumes its large layer every second
//! or two, and every move of a subscriber waits for a keyframe, which costs the starved encoder
//! more still. So a layer that came back after a pause counts as flowing again only once it
//! has flowed steadily for a while, and that while doubles each time the layer pauses again
//! soon after.

use std::time::{Duration, Instant};

/// Silence after which a layer counts as paused.
pub const PAUSED_AFTER: Duration = Duration::from_millis(400);

/// How long a layer must flow after its first pause before it counts again.
pub const FIRST_HOLD: Duration = Duration::from_secs(2);

/// The longest hold, however often the layer flaps.
pub const MAX_HOLD: Duration = Duration::from_secs(16);

/// A layer that stayed up this long after it counted again is calm: its next pause starts the
/// hold afresh.
pub const CALM_AFTER: Duration = Duration::from_secs(20);

/// The liveness of one layer.
#[derive(Debug, Clone, Default)]
pub struct Liveness {
    /// When the last packet came.
    last_packet: Option<Instant>,
    /// When the layer last resumed after a pause (or first started).
    resumed: Option<Instant>,
    /// How long it must flow after resuming before it counts.
    hold: Duration,
}

impl Liveness {
    /// Notes a packet of the layer.
    pub fn on_packet(&mut self, now: Instant) {
        match self.last_packet {
            None => self.resumed = Some(now),
            Some(last) if now.saturating_duration_since(last) >= PAUSED_AFTER => {
                // Resuming after a pause. If it counted for only a short time before pausing,
                // it is flapping: hold it back longer than last time.
                let counted_from = self.resumed.map(|r| r + self.hold);
                let calm = counted_from
                    .is_none_or(|from| last.saturating_duration_since(from) >= CALM_AFTER);
                self.hold = if calm || self.hold.is_zero() {
                    FIRST_HOLD
                } else {
                    (self.hold * 2).min(MAX_HOLD)
                };
                self.resumed = Some(now);
            }
            Some(_) => {}
        }
        self.last_packet = Some(now);
    }

    /// Whether the layer counts as flowing: packets are coming, and have come steadily for its
    /// hold since it last resumed.
    pub fn flowing(&self, now: Instant) -> bool {
        let recent =
            self.last_packet.is_some_and(|t| now.saturating_duration_since(t) < PAUSED_AFTER);
        let steady = self.resumed.is_some_and(|r| now.saturating_duration_since(r) >= self.hold);
        recent && steady
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Packets every 66 ms (15 fps) from `from` for `length`.
    fn flow(l: &mut Liveness, from: Instant, length: Duration) -> Instant {
        let step = Duration::from_millis(66);
        let mut t = from;
        while t < from + length {
            l.on_packet(t);
            t += step;
        }
        t - step
    }

    #[test]
    fn a_new_layer_counts_at_once_and_a_silent_one_stops_counting_after_400_ms() {
        let start = Instant::now();
        let mut l = Liveness::default();
        assert!(!l.flowing(start), "no packet yet");
        let last = flow(&mut l, start, Duration::from_secs(1));
        assert!(l.flowing(start));
        assert!(l.flowing(last + Duration::from_millis(399)));
        assert!(!l.flowing(last + PAUSED_AFTER));
    }

    #[test]
    fn gaps_shorter_than_the_pause_never_interrupt_it() {
        let start = Instant::now();
        let mut l = Liveness::default();
        let mut t = start;
        for _ in 0..20 {
            l.on_packet(t);
            assert!(l.flowing(t + Duration::from_millis(350)));
            t += Duration::from_millis(350);
        }
    }

    #[test]
    fn a_layer_back_from_a_pause_counts_after_two_steady_seconds() {
        let start = Instant::now();
        let mut l = Liveness::default();
        let last = flow(&mut l, start, Duration::from_secs(30));
        let back = last + Duration::from_secs(1);
        l.on_packet(back);
        assert!(!l.flowing(back));
        let last = flow(&mut l, back, FIRST_HOLD + Duration::from_millis(100));
        assert!(l.flowing(last));
        assert!(!l.flowing(back + FIRST_HOLD - Duration::from_millis(1)));
    }

    #[test]
    fn a_flapping_layer_is_held_back_longer_each_time_up_to_sixteen_seconds() {
        let start = Instant::now();
        let mut l = Liveness::default();
        let mut t = flow(&mut l, start, Duration::from_secs(1));
        let mut holds = Vec::new();
        for _ in 0..6 {
            // Pause 500 ms, then send until the layer counts again, then flow a second more.
            let back = t + Duration::from_millis(500);
            let mut now = back;
            l.on_packet(now);
            while !l.flowing(now) {
                now += Duration::from_millis(66);
                l.on_packet(now);
            }
            holds.push((now - back).as_secs());
            t = flow(&mut l, now, Duration::from_secs(1));
        }
        assert_eq!(holds, vec![2, 4, 8, 16, 16, 16]);
    }

    #[test]
    fn a_layer_calm_for_twenty_seconds_is_held_back_only_two_seconds_again() {
        let start = Instant::now();
        let mut l = Liveness::default();
        let mut t = flow(&mut l, start, Duration::from_secs(1));
        for _ in 0..3 {
            t += Duration::from_millis(500);
            t = flow(&mut l, t, Duration::from_secs(1));
        }
        // Now held 8 s; flow for 8 s plus 20 calm seconds, pause once more.
        t = flow(&mut l, t, Duration::from_secs(29));
        let back = t + Duration::from_millis(500);
        l.on_packet(back);
        let counted = flow(&mut l, back, FIRST_HOLD + Duration::from_millis(70));
        assert!(l.flowing(counted));
    }
}
