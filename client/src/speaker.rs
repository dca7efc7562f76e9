//! Who is speaking: picks the active speaker from audio levels, without flickering.

use protocol::ParticipantId;

/// Audio level (0.0–1.0, as `RTCRtpSynchronizationSource.audioLevel`) above which someone counts
/// as speaking. Around -40 dBov; below it is background noise.
pub const SPEAKING_LEVEL: f64 = 0.01;
/// How long someone must be the loudest speaker before the view switches to them.
const TAKEOVER_MS: f64 = 400.0;
/// How long a speaker stays "active" after falling silent, so pauses between words don't switch.
const HOLD_MS: f64 = 2000.0;

/// Decides the active speaker from level samples taken over time.
#[derive(Debug, Default)]
pub struct SpeakerDetector {
    /// The current active speaker.
    active: Option<ParticipantId>,
    /// When the active speaker was last heard above the threshold.
    active_heard_at: f64,
    /// Who is loudest now but not yet active, and since when.
    challenger: Option<(ParticipantId, f64)>,
}

impl SpeakerDetector {
    /// The current active speaker.
    pub fn active(&self) -> Option<ParticipantId> {
        self.active
    }

    /// Feeds one round of levels measured at `now_ms`; returns the active speaker afterwards.
    pub fn update(
        &mut self,
        now_ms: f64,
        levels: &[(ParticipantId, f64)],
    ) -> Option<ParticipantId> {
        let loudest = levels
            .iter()
            .filter(|(_, level)| *level >= SPEAKING_LEVEL)
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(id, _)| *id);
        let active_speaking = self
            .active
            .is_some_and(|a| levels.iter().any(|(id, l)| *id == a && *l >= SPEAKING_LEVEL));
        if active_speaking {
            self.active_heard_at = now_ms;
        }
        match loudest {
            None => self.challenger = None,
            Some(id) if Some(id) == self.active => self.challenger = None,
            Some(id) => {
                let since = match self.challenger {
                    Some((c, since)) if c == id => since,
                    _ => now_ms,
                };
                self.challenger = Some((id, since));
                let active_quiet = now_ms - self.active_heard_at >= HOLD_MS;
                if self.active.is_none()
                    || now_ms - since >= TAKEOVER_MS
                    || (active_quiet && !active_speaking)
                {
                    self.active = Some(id);
                    self.active_heard_at = now_ms;
                    self.challenger = None;
                }
            }
        }
        // Someone who left is no longer the speaker.
        if let Some(a) = self.active
            && !levels.iter().any(|(id, _)| *id == a)
        {
            self.active = None;
        }
        self.active
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    const A: ParticipantId = ParticipantId(1);
    const B: ParticipantId = ParticipantId(2);

    #[test]
    fn first_speaker_becomes_active_at_once() {
        let mut d = SpeakerDetector::default();
        assert_eq!(d.update(0.0, &[(A, 0.0), (B, 0.0)]), None);
        assert_eq!(d.update(100.0, &[(A, 0.2), (B, 0.0)]), Some(A));
    }

    #[test]
    fn a_short_interjection_does_not_switch() {
        let mut d = SpeakerDetector::default();
        d.update(0.0, &[(A, 0.3), (B, 0.0)]);
        // B coughs for 200 ms, louder than A.
        assert_eq!(d.update(100.0, &[(A, 0.1), (B, 0.5)]), Some(A));
        assert_eq!(d.update(300.0, &[(A, 0.1), (B, 0.5)]), Some(A));
        assert_eq!(d.update(400.0, &[(A, 0.3), (B, 0.0)]), Some(A));
        // B keeps talking louder for longer: takes over.
        for t in (500..=1000).step_by(100) {
            d.update(t as f64, &[(A, 0.05), (B, 0.5)]);
        }
        assert_eq!(d.active(), Some(B));
    }

    #[test]
    fn pauses_keep_the_speaker_and_long_silence_frees_the_floor() {
        let mut d = SpeakerDetector::default();
        d.update(0.0, &[(A, 0.3), (B, 0.0)]);
        assert_eq!(
            d.update(1500.0, &[(A, 0.0), (B, 0.0)]),
            Some(A),
            "silence keeps the last speaker"
        );
        // After A has been quiet past the hold time, B takes over as soon as B speaks.
        assert_eq!(d.update(2500.0, &[(A, 0.0), (B, 0.05)]), Some(B));
    }

    #[test]
    fn a_speaker_who_left_is_dropped() {
        let mut d = SpeakerDetector::default();
        d.update(0.0, &[(A, 0.3), (B, 0.0)]);
        assert_eq!(d.update(100.0, &[(B, 0.0)]), None);
    }
}
