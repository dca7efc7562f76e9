//! What one subscriber receives of one publisher's video: which simulcast layer, and how
//! packets are rewritten so that switching layers looks to the browser like one unbroken stream.
//!
//! Pure logic, no WebRTC types: the engine feeds in packet facts and gets back whether (and as
//! what) to forward each packet, so every rule here is unit-tested with made-up packets.

use std::time::{Duration, Instant};

/// A simulcast layer's rank: 0 is the smallest picture. A publisher without simulcast has one
/// layer, [`Layer::ONLY`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Layer(pub u8);

impl Layer {
    /// The single layer of a publisher that does not send simulcast.
    pub const ONLY: Layer = Layer(1);

    /// The rank of a simulcast stream by its RTP stream id, as the app names them (`l`, `h`);
    /// `None` for unicast.
    pub fn from_rid(rid: Option<&str>) -> Layer {
        match rid {
            Some("l" | "q" | "low") => Layer(0),
            Some("m" | "mid") => Layer(1),
            Some(_) => Layer(2),
            None => Layer::ONLY,
        }
    }
}

/// How good a picture the subscriber wants, from the size of the tile that shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Wanted {
    /// A big tile: the best layer the bandwidth allows.
    #[default]
    High,
    /// A small tile: the smallest layer is enough.
    Low,
}

/// Whether an RTP payload of VP8 starts a keyframe (RFC 7741 §4.2–4.3).
pub fn is_vp8_keyframe(payload: &[u8]) -> bool {
    let Some(&first) = payload.first() else { return false };
    let extended = first & 0x80 != 0;
    let start_of_partition = first & 0x10 != 0;
    let partition_id = first & 0x07;
    if !start_of_partition || partition_id != 0 {
        return false;
    }
    let mut at = 1;
    if extended {
        let Some(&x) = payload.get(at) else { return false };
        at += 1;
        if x & 0x80 != 0 {
            // Picture id: one byte, or two when its first bit is set.
            let Some(&pid) = payload.get(at) else { return false };
            at += if pid & 0x80 != 0 { 2 } else { 1 };
        }
        if x & 0x40 != 0 {
            at += 1; // TL0PICIDX
        }
        if x & 0x30 != 0 {
            at += 1; // TID / KEYIDX
        }
    }
    // The VP8 payload header's first bit (P) is 0 on keyframes.
    payload.get(at).is_some_and(|b| b & 0x01 == 0)
}

/// Whether sequence number `a` comes after `b`, allowing for wrap-around.
fn seq_after(a: u16, b: u16) -> bool {
    a != b && a.wrapping_sub(b) < 0x8000
}

/// The RTP fields a forwarded packet gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rewritten {
    /// Sequence number on the subscriber's stream.
    pub sequence_number: u16,
    /// Timestamp on the subscriber's stream.
    pub timestamp: u32,
}

/// The decision about one incoming packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Send it with these fields.
    Forward(Rewritten),
    /// Not for this subscriber (another layer, or waiting for a keyframe).
    Drop,
}

/// A layer change that was asked for but needs a keyframe to happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pending {
    /// The layer to switch to.
    pub layer: Layer,
    /// When the switch was decided (for keyframe requests).
    pub since: Instant,
}

/// The video one subscriber receives from one publisher.
#[derive(Debug, Clone)]
pub struct VideoForward {
    /// The layer being forwarded, once the first keyframe arrived.
    current: Option<Layer>,
    /// The layer to move to at its next keyframe.
    target: Layer,
    /// Added to incoming sequence numbers of the current layer.
    seq_offset: u16,
    /// Added to incoming timestamps of the current layer.
    ts_offset: u32,
    /// The first incoming sequence number forwarded from the current layer; older ones (late
    /// retransmissions from before the switch) are dropped.
    first_seq: u16,
    /// The last sequence number and timestamp sent, and when.
    last_out: Option<(u16, u32, Instant)>,
    /// Switches carried out, for statistics.
    pub switches: u32,
}

impl VideoForward {
    /// A forward that will move to `target`. It starts at the first keyframe of any layer: a
    /// picture now beats the right picture later. Waiting for the target's own keyframe could
    /// take very long when a CPU-starved browser keeps pausing and resuming its large layer,
    /// so that the target keeps changing and each keyframe arrives for the previous one.
    pub fn new(target: Layer) -> Self {
        Self {
            current: None,
            target,
            seq_offset: 0,
            ts_offset: 0,
            first_seq: 0,
            last_out: None,
            switches: 0,
        }
    }

    /// The layer forwarded now.
    pub fn current(&self) -> Option<Layer> {
        self.current
    }

    /// The layer wanted.
    pub fn target(&self) -> Layer {
        self.target
    }

    /// Asks for `layer` from its next keyframe on.
    pub fn set_target(&mut self, layer: Layer) {
        self.target = layer;
    }

    /// Whether a keyframe of the target layer is awaited (the engine asks the publisher).
    pub fn needs_keyframe(&self) -> bool {
        self.current != Some(self.target)
    }

    /// Decides about a packet of `layer` arriving at `now`.
    pub fn on_packet(
        &mut self,
        now: Instant,
        layer: Layer,
        sequence_number: u16,
        timestamp: u32,
        keyframe_start: bool,
    ) -> Decision {
        let starts = self.current.is_none() || layer == self.target;
        if self.current != Some(self.target) && starts && keyframe_start {
            self.switch_to(now, layer, sequence_number, timestamp);
        }
        if self.current != Some(layer) {
            return Decision::Drop;
        }
        if sequence_number != self.first_seq && !seq_after(sequence_number, self.first_seq) {
            return Decision::Drop;
        }
        let out = Rewritten {
            sequence_number: sequence_number.wrapping_add(self.seq_offset),
            timestamp: timestamp.wrapping_add(self.ts_offset),
        };
        match self.last_out {
            Some((seq, _, _)) if !seq_after(out.sequence_number, seq) => {}
            _ => self.last_out = Some((out.sequence_number, out.timestamp, now)),
        }
        Decision::Forward(out)
    }

    fn switch_to(&mut self, now: Instant, layer: Layer, sequence_number: u16, timestamp: u32) {
        match self.last_out {
            None => {
                // The first layer keeps its own numbering.
                self.seq_offset = 0;
                self.ts_offset = 0;
            }
            Some((last_seq, last_ts, at)) => {
                // Continue right after the last packet sent, and advance the clock by the time
                // that really passed (at least one tick), so playout stays smooth.
                let elapsed = now.saturating_duration_since(at).max(Duration::from_millis(1));
                let ticks = (elapsed.as_micros() * 9 / 100).max(1) as u32; // 90 kHz
                self.seq_offset = last_seq.wrapping_add(1).wrapping_sub(sequence_number);
                self.ts_offset = last_ts.wrapping_add(ticks).wrapping_sub(timestamp);
                self.switches += 1;
            }
        }
        self.first_seq = sequence_number;
        self.current = Some(layer);
    }
}

/// One publisher's video as a subscriber sees it, for [`allocate_layers`].
#[derive(Debug, Clone, Default)]
pub struct Offered {
    /// What the subscriber's tile needs.
    pub wanted: Wanted,
    /// The publisher's layers with their measured bitrates (bits/s), smallest first.
    pub layers: Vec<(Layer, u64)>,
    /// The layer the subscriber gets now (or waits for), if any.
    pub current: Option<Layer>,
}

/// Picks a layer per publisher for one subscriber, from what each tile needs and what the
/// subscriber's downlink carries.
///
/// `estimate` is the subscriber's receive bandwidth estimate (REMB, bits/s) for all its video,
/// if it sent one. Everyone starts on their smallest layer (a small picture beats a frozen one,
/// so that is never taken away); then big tiles are upgraded, in order, while the total stays
/// within the budget. Small tiles never get more than the smallest layer.
///
/// The budget has hysteresis, so an estimate hovering near a layer's bitrate does not switch
/// layers (and ask for keyframes) back and forth: keeping a layer one already gets needs 85 % of
/// the estimate to cover the total, moving up to a larger one needs 70 %.
pub fn allocate_layers(offered: &[Offered], estimate: Option<u64>) -> Vec<Layer> {
    let smallest = |o: &Offered| o.layers.first().copied().unwrap_or((Layer::ONLY, 0));
    let mut chosen: Vec<(Layer, u64)> = offered.iter().map(smallest).collect();
    let keep_budget = estimate.map(|bps| bps / 100 * 85);
    let raise_budget = estimate.map(|bps| bps / 100 * 70);
    let mut total: u64 = chosen.iter().map(|(_, bitrate)| bitrate).sum();
    for (o, pick) in offered.iter().zip(chosen.iter_mut()) {
        if o.wanted == Wanted::Low {
            continue;
        }
        // The largest layer that still fits, given what is already spent.
        let without = total - pick.1;
        let fits = |layer: Layer, bitrate: u64| {
            let keeping = o.current.is_some_and(|c| layer <= c);
            let budget = if keeping { keep_budget } else { raise_budget };
            budget.is_none_or(|b| without + bitrate <= b)
        };
        if let Some(better) = o
            .layers
            .iter()
            .rev()
            .find(|(layer, bitrate)| fits(*layer, *bitrate))
            .filter(|(layer, _)| *layer > pick.0)
        {
            *pick = *better;
            total = without + better.1;
        }
    }
    chosen.into_iter().map(|(layer, _)| layer).collect()
}

/// Lets keyframe requests to one publisher stream through at most once per interval: many
/// subscribers asking at once must not make the publisher send a burst of keyframes.
#[derive(Debug, Clone, Default)]
pub struct Throttle {
    /// When a request last went through.
    last: Option<Instant>,
}

/// The least time between two keyframe requests to the same stream.
pub const KEYFRAME_REQUEST_INTERVAL: Duration = Duration::from_millis(500);

impl Throttle {
    /// Whether a request at `now` may go through (and records it if so).
    pub fn allow(&mut self, now: Instant) -> bool {
        if self.last.is_some_and(|t| now.saturating_duration_since(t) < KEYFRAME_REQUEST_INTERVAL) {
            return false;
        }
        self.last = Some(now);
        true
    }

    /// When the next request may go through.
    pub fn next_allowed(&self) -> Option<Instant> {
        self.last.map(|t| t + KEYFRAME_REQUEST_INTERVAL)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const LOW: Layer = Layer(0);
    const HIGH: Layer = Layer(2);

    fn forwarded(d: Decision) -> Rewritten {
        match d {
            Decision::Forward(r) => r,
            Decision::Drop => panic!("expected the packet to be forwarded"),
        }
    }

    #[test]
    fn keyframes_are_recognised_with_and_without_extensions() {
        // S=1, PID=0, payload header P=0.
        assert!(is_vp8_keyframe(&[0x10, 0x00, 0x9d]));
        // P=1: an interframe.
        assert!(!is_vp8_keyframe(&[0x10, 0x01]));
        // Not the start of the partition.
        assert!(!is_vp8_keyframe(&[0x00, 0x00]));
        // X with a 15-bit picture id, TL0PICIDX and TID, then a keyframe header.
        assert!(is_vp8_keyframe(&[0x90, 0xe0, 0x81, 0x23, 0x05, 0x20, 0x50]));
        assert!(!is_vp8_keyframe(&[0x90, 0xe0, 0x81, 0x23, 0x05, 0x20, 0x51]));
        // X with a 7-bit picture id.
        assert!(is_vp8_keyframe(&[0x90, 0x80, 0x12, 0x00]));
        // Truncated packets are not keyframes.
        assert!(!is_vp8_keyframe(&[]));
        assert!(!is_vp8_keyframe(&[0x90, 0x80]));
    }

    #[test]
    fn nothing_is_forwarded_before_the_first_keyframe() {
        let now = Instant::now();
        let mut f = VideoForward::new(HIGH);
        assert_eq!(f.on_packet(now, HIGH, 10, 1000, false), Decision::Drop);
        assert!(f.needs_keyframe());
        let first = forwarded(f.on_packet(now, HIGH, 11, 4000, true));
        assert_eq!(first, Rewritten { sequence_number: 11, timestamp: 4000 });
        assert!(!f.needs_keyframe());
        assert_eq!(f.on_packet(now, LOW, 500, 9, true), Decision::Drop, "other layers dropped");
    }

    #[test]
    fn the_first_picture_starts_on_any_layer_then_moves_to_the_target() {
        let t0 = Instant::now();
        let mut f = VideoForward::new(LOW);
        // The target's keyframe has not come yet; the other layer's has: start on it.
        let first = forwarded(f.on_packet(t0, HIGH, 50, 1000, true));
        assert_eq!(first, Rewritten { sequence_number: 50, timestamp: 1000 });
        assert_eq!(f.current(), Some(HIGH));
        assert!(f.needs_keyframe(), "still asks for the target's keyframe");
        // High keyframes do not restart anything; the low keyframe moves to the target.
        forwarded(f.on_packet(t0, HIGH, 51, 1000, true));
        let t1 = t0 + Duration::from_millis(33);
        let moved = forwarded(f.on_packet(t1, LOW, 900, 77, true));
        assert_eq!(moved.sequence_number, 52, "numbering continues");
        assert_eq!(f.current(), Some(LOW));
        assert!(!f.needs_keyframe());
        assert_eq!(f.on_packet(t1, HIGH, 52, 4000, true), Decision::Drop);
    }

    #[test]
    fn a_switch_waits_for_a_keyframe_and_keeps_numbering_continuous() {
        let t0 = Instant::now();
        let mut f = VideoForward::new(HIGH);
        forwarded(f.on_packet(t0, HIGH, 100, 90_000, true));
        forwarded(f.on_packet(t0, HIGH, 101, 90_000, false));
        f.set_target(LOW);
        // Low-layer interframes cannot start the new layer; high keeps flowing meanwhile.
        assert_eq!(f.on_packet(t0, LOW, 7000, 5, false), Decision::Drop);
        let t1 = t0 + Duration::from_millis(33);
        let r = forwarded(f.on_packet(t1, HIGH, 102, 93_000, false));
        assert_eq!(r.sequence_number, 102);
        // The low layer's keyframe: switch. Numbering continues at 103, time moves on by 33 ms.
        let t2 = t1 + Duration::from_millis(33);
        let r = forwarded(f.on_packet(t2, LOW, 7001, 123_456, true));
        assert_eq!(r, Rewritten { sequence_number: 103, timestamp: 93_000 + 2970 });
        let r = forwarded(f.on_packet(t2, LOW, 7002, 123_456 + 3000, false));
        assert_eq!(r, Rewritten { sequence_number: 104, timestamp: 93_000 + 2970 + 3000 });
        // The old layer is dropped now, and so are late packets from before the switch.
        assert_eq!(f.on_packet(t2, HIGH, 103, 96_000, true), Decision::Drop);
        assert_eq!(f.on_packet(t2, LOW, 7000, 123_000, false), Decision::Drop);
        assert_eq!(f.switches, 1);
    }

    #[test]
    fn numbering_survives_wrap_around() {
        let t0 = Instant::now();
        let mut f = VideoForward::new(LOW);
        forwarded(f.on_packet(t0, LOW, 65_534, u32::MAX - 10, true));
        forwarded(f.on_packet(t0, LOW, 65_535, u32::MAX - 10, false));
        let r = forwarded(f.on_packet(t0, LOW, 0, 2989, false));
        assert_eq!(r.sequence_number, 0);
        f.set_target(HIGH);
        let r = forwarded(f.on_packet(t0 + Duration::from_millis(10), HIGH, 40_000, 7, true));
        assert_eq!(r.sequence_number, 1);
        // A retransmission of an earlier packet of the current layer keeps its place.
        let late = forwarded(f.on_packet(t0, HIGH, 40_002, 7, false));
        assert_eq!(late.sequence_number, 3);
        let earlier = forwarded(f.on_packet(t0, HIGH, 40_001, 7, false));
        assert_eq!(earlier.sequence_number, 2);
    }

    #[test]
    fn layers_fit_the_tiles_and_the_bandwidth() {
        let big = |wanted| Offered {
            wanted,
            layers: vec![(LOW, 150_000), (HIGH, 900_000)],
            current: None,
        };
        let high = Wanted::High;
        assert_eq!(allocate_layers(&[big(high)], None), vec![HIGH], "no estimate: best");
        assert_eq!(allocate_layers(&[big(high)], Some(2_000_000)), vec![HIGH]);
        assert_eq!(allocate_layers(&[big(high)], Some(1_200_000)), vec![LOW], "70 % to move up");
        assert_eq!(allocate_layers(&[big(high)], Some(50_000)), vec![LOW], "never nothing");
        assert_eq!(allocate_layers(&[big(Wanted::Low)], Some(9_000_000)), vec![LOW]);
        // Two big tiles on 1.5 Mbit/s: only one fits in high quality.
        assert_eq!(allocate_layers(&[big(high), big(high)], Some(1_500_000)), vec![HIGH, LOW]);
        assert_eq!(allocate_layers(&[big(high), big(high)], Some(3_000_000)), vec![HIGH, HIGH]);
        // Hysteresis: once on the high layer, an estimate between 1.06 and 1.29 Mbit/s keeps
        // it there, and one below lets it go; from the low layer, it takes 1.29 Mbit/s to rise.
        let on = |layer| Offered { current: Some(layer), ..big(high) };
        for estimate in [1_100_000, 1_200_000, 1_280_000] {
            assert_eq!(allocate_layers(&[on(HIGH)], Some(estimate)), vec![HIGH], "{estimate}");
            assert_eq!(allocate_layers(&[on(LOW)], Some(estimate)), vec![LOW], "{estimate}");
        }
        assert_eq!(allocate_layers(&[on(HIGH)], Some(1_000_000)), vec![LOW]);
        assert_eq!(allocate_layers(&[on(LOW)], Some(1_300_000)), vec![HIGH]);
        // A publisher without simulcast has one layer, whatever the bandwidth.
        let single = Offered { wanted: high, layers: vec![(Layer::ONLY, 500_000)], current: None };
        assert_eq!(allocate_layers(&[single], Some(1)), vec![Layer::ONLY]);
        assert_eq!(allocate_layers(&[Offered::default()], None), vec![Layer::ONLY]);
    }

    #[test]
    fn keyframe_requests_are_throttled() {
        let t0 = Instant::now();
        let mut t = Throttle::default();
        assert!(t.allow(t0));
        assert!(!t.allow(t0 + Duration::from_millis(100)));
        assert!(!t.allow(t0 + Duration::from_millis(499)));
        assert_eq!(t.next_allowed(), Some(t0 + Duration::from_millis(500)));
        assert!(t.allow(t0 + Duration::from_millis(500)));
    }
}
