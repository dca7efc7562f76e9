//! Simulcast layers and keyframes: each subscriber's bitrate, the layer it gets of each
//! camera, and the keyframes a switch of layers waits for.

use super::*;

impl Sfu {
    /// The smallest layer `source` publishes (where new subscribers start: its keyframes are
    /// small and come quickly; the next tick moves up if the tile and bandwidth allow).
    pub(super) fn smallest_layer(&self, source: ParticipantId, slot: Slot) -> Layer {
        self.members
            .get(&source)
            .and_then(|m| m.inbound.values().find(|i| i.slot == slot))
            .and_then(|i| i.layers.values().map(|l| l.layer).min())
            .unwrap_or(Layer::ONLY)
    }

    /// Closes the bitrate window of every published layer once it is long enough.
    pub(super) fn measure_bitrates(&mut self, now: Instant) {
        let start = *self.window_start.get_or_insert(now);
        let elapsed = now.saturating_duration_since(start);
        if elapsed < BITRATE_WINDOW {
            return;
        }
        self.window_start = Some(now);
        let millis = elapsed.as_millis().max(1) as u64;
        for (id, member) in self.members.iter_mut() {
            tracing::trace!(participant = %id, layers = ?member.inbound.values().flat_map(|i| i.layers.iter().map(|(s, l)| (*s, l.layer, l.bytes))).collect::<Vec<_>>(), "bytes this window");
            for layer in member.inbound.values_mut().flat_map(|i| i.layers.values_mut()) {
                layer.bitrate = layer.bytes * 8 * 1000 / millis;
                layer.bytes = 0;
            }
        }
    }

    /// Re-picks the layer of every video `id` receives, from its tiles and its bandwidth.
    pub(super) fn choose_layers(&mut self, now: Instant, id: ParticipantId) {
        let Some(member) = self.members.get(&id) else { return };
        let mut sources: Vec<(ParticipantId, Slot)> = member.video.keys().copied().collect();
        sources.sort();
        let offered: Vec<Offered> = sources
            .iter()
            .map(|(source, slot)| {
                let mut known: Vec<(Layer, u64, bool)> = self
                    .members
                    .get(source)
                    .and_then(|m| m.inbound.values().find(|i| i.slot == *slot))
                    .map(|i| {
                        i.layers
                            .values()
                            .map(|l| (l.layer, l.bitrate, l.liveness.flowing(now)))
                            .collect()
                    })
                    .unwrap_or_default();
                known.sort();
                // Only layers that are flowing; if none is, the smallest known one.
                let mut layers: Vec<(Layer, u64)> =
                    known.iter().filter(|l| l.2).map(|l| (l.0, l.1)).collect();
                if layers.is_empty() {
                    layers.extend(known.first().map(|l| (l.0, l.1)));
                }
                // A shared screen is shown large; a camera as large as its tile.
                let wanted = match slot {
                    Slot::Screen => Wanted::High,
                    _ => member.wanted.get(source).copied().unwrap_or_default(),
                };
                let current = member.video.get(&(*source, *slot)).map(VideoForward::target);
                Offered { wanted, layers, current }
            })
            .collect();
        let chosen = allocate_layers(&offered, member.estimate);
        let Some(member) = self.members.get_mut(&id) else { return };
        for (key, layer) in sources.iter().zip(chosen) {
            if let Some(forward) = member.video.get_mut(key)
                && forward.target() != layer
            {
                debug!(subscriber = %id, source = %key.0, ?layer, offered = ?offered, "layer change");
                forward.set_target(layer);
            }
        }
    }

    /// Asks publishers for the keyframes `id` waits for (to start, or to switch layers).
    ///
    /// Only once the keyframe can be forwarded: `id`'s connection is up and the stream is
    /// negotiated. A keyframe that came earlier would be dropped, and the throttle would then
    /// hold back the request that counts.
    pub(super) fn request_awaited_keyframes(&mut self, now: Instant, id: ParticipantId) {
        let Some(member) = self.members.get_mut(&id) else { return };
        if !member.connected {
            return;
        }
        let waiting: Vec<((ParticipantId, Slot), Layer)> = member
            .video
            .iter()
            .filter(|(_, f)| f.needs_keyframe())
            .map(|(key, f)| (*key, f.target()))
            .collect();
        let awaited: Vec<_> = waiting
            .into_iter()
            .filter(|(key, _)| {
                let sender = member.forwards.get(key).copied();
                sender.is_some_and(|sender| stamp_of(member, sender).is_some())
            })
            .collect();
        for ((source, slot), layer) in awaited {
            self.request_keyframe(now, source, slot, layer);
        }
    }

    /// Sends a picture loss indication for `layer` of `source`'s camera or screen, unless one
    /// went out very recently.
    pub(super) fn request_keyframe(
        &mut self,
        now: Instant,
        source: ParticipantId,
        slot: Slot,
        layer: Layer,
    ) {
        let Some(member) = self.members.get_mut(&source) else { return };
        let Some(inbound) = member.inbound.values_mut().find(|i| i.slot == slot) else {
            return;
        };
        let receiver_id = inbound.receiver;
        let target = inbound.layers.iter_mut().find(|(_, l)| l.layer == layer);
        let Some((ssrc, stream)) = target else { return };
        if !stream.throttle.allow(now) {
            // Ask again the moment it is allowed, not at the next tick: it is someone's first
            // picture, or a picture that broke.
            let retry = stream.throttle.next_allowed().unwrap_or(now + TICK);
            self.keyframe_retry = Some(self.keyframe_retry.map_or(retry, |t| t.min(retry)));
            return;
        }
        let pli = PictureLossIndication { sender_ssrc: 0, media_ssrc: *ssrc };
        if let Some(mut receiver) = member.pc.rtp_receiver(receiver_id) {
            let _ = receiver.write_rtcp(now, vec![Box::new(pli)]);
        }
        self.flush_writes(source);
    }
}
