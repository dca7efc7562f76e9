//! The media stream id of a track the relay forwards: whose it is and whether it is a shared
//! screen. Written into the relay's offers (`a=msid`) and read by the app, which puts the track
//! on that participant's tile (or a screen tile of its own).

/// `p<id>` for a participant's microphone and camera (one tile), `s<id>` for their screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StreamId {
    /// Whose media.
    pub source: crate::ParticipantId,
    /// A shared screen rather than microphone and camera.
    pub screen: bool,
}

impl std::fmt::Display for StreamId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}{}", if self.screen { 's' } else { 'p' }, self.source.0)
    }
}

impl std::str::FromStr for StreamId {
    type Err = ();

    /// The id from its text; anything else (another sender's stream, a changed format) is `Err`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (screen, number) = match text.split_at_checked(1) {
            Some(("p", number)) => (false, number),
            Some(("s", number)) => (true, number),
            _ => return Err(()),
        };
        if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
            return Err(());
        }
        let id = number.parse().map_err(|_| ())?;
        Ok(Self { source: crate::ParticipantId(id), screen })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::ParticipantId;

    #[test]
    fn stream_ids_round_trip_and_strangers_are_refused() {
        for id in [
            StreamId { source: ParticipantId(7), screen: false },
            StreamId { source: ParticipantId(u64::MAX), screen: true },
        ] {
            assert_eq!(id.to_string().parse::<StreamId>(), Ok(id));
        }
        assert_eq!(StreamId { source: ParticipantId(12), screen: true }.to_string(), "s12");
        for stranger in
            ["", "p", "x7", "p-1", "p+1", "p 1", "p1a", "P1", "p99999999999999999999", "{8a2e}"]
        {
            assert_eq!(stranger.parse::<StreamId>(), Err(()), "{stranger:?}");
        }
    }
}
