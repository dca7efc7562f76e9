//! The call's measuring loop: audio levels for the active speaker, statistics for quality,
//! and a regular look at negotiations that wait for an answer and connections that stay failed.

use std::{collections::HashMap, rc::Rc};

use client::{
    quality::{StatsSample, assess},
    speaker::SpeakerDetector,
};
use leptos::prelude::*;
use protocol::ParticipantId;

use super::{Call, CallPhase};
use crate::js;

/// How often audio levels are read for the active-speaker indicator.
const LEVEL_EVERY_MS: i32 = 250;
/// Connection statistics are read every this many level rounds (2 s).
const STATS_EVERY_ROUNDS: u32 = 8;

impl Call {
    /// Reads audio levels (active speaker) and statistics (connection quality) while the call
    /// lives.
    pub(super) fn monitor(&self) {
        let weak = self.this.clone();
        leptos::task::spawn_local(async move {
            let mut detector = SpeakerDetector::default();
            let mut previous: HashMap<ParticipantId, StatsSample> = HashMap::new();
            let mut round = 0u32;
            loop {
                js::sleep(LEVEL_EVERY_MS).await;
                let Some(call) = weak.upgrade() else { break };
                if call.view.phase.get_untracked() == CallPhase::Left {
                    break;
                }
                // The direct connections; the relay's (SFU mode) carries everyone.
                let peers: Vec<_> =
                    call.inner.borrow().peers.iter().map(|(id, p)| (*id, Rc::clone(p))).collect();
                let mut levels: Vec<_> =
                    peers.iter().map(|(id, p)| (*id, p.audio_level())).collect();
                levels.extend(call.relay_levels());
                let speaker = detector.update(js_sys::Date::now(), &levels);
                if call.view.speaker.get_untracked() != speaker {
                    call.view.speaker.set(speaker);
                }
                round += 1;
                if !round.is_multiple_of(STATS_EVERY_ROUNDS) {
                    continue;
                }
                // Negotiations that wait for an answer are checked as often as statistics.
                for peer in call.inner.borrow().connections() {
                    peer.tick();
                }
                // Connections that stay failed after an ICE restart get another one.
                let restarts = call.inner.borrow_mut().meeting.on_tick(js_sys::Date::now());
                if !restarts.is_empty() {
                    js::warn(&format!(
                        "still failed: restarting ICE again ({} connections)",
                        restarts.len()
                    ));
                    call.apply(restarts);
                }
                drop(call);
                previous.retain(|id, _| peers.iter().any(|(p, _)| p == id));
                let mut qualities = HashMap::new();
                for (id, peer) in peers {
                    let Some(sample) = peer.stats().await else { continue };
                    if let Some(before) = previous.get(&id) {
                        qualities.insert(id, assess(before, &sample));
                    }
                    previous.insert(id, sample);
                }
                let Some(call) = weak.upgrade() else { break };
                call.view.quality.set(qualities);
            }
        });
    }
}
