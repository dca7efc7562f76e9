//! When to try the relay again after the connection broke, and whether what came back is the
//! same seat.
//!
//! A train's tunnel, a Wi-Fi handover or a relay restart breaks the WebSocket. The call keeps
//! its picture and peer connections and tries again soon and then every second, with the seat's
//! resume token, for two minutes.
//!
//! How quickly the call is back once the network is depends mostly on how long an attempt may
//! hang: an attempt into a dead network sends its TCP SYN at 0, 1 and 3 s, so a network that
//! comes back late in a long attempt waits for that attempt's end and the next one. Attempts in
//! an outage may take 2.5 s at first (a SYN at 0 and at 1 s), half a second more each time up to
//! the 5 s of a first connection, so that a slow link still gets through. The relay keeps the seat for a while (30 s by
//! default): back within that, the person is the same participant to everyone (same tile, hand,
//! chat); later, or after a relay restart, they join afresh and the glue rebuilds the room.

use protocol::ParticipantId;

/// Delays before the first attempts, in milliseconds; later ones wait the last.
const DELAYS_MS: [f64; 3] = [250.0, 500.0, 1000.0];

/// How long after the connection broke the call gives up, in milliseconds.
pub const GIVE_UP_AFTER_MS: f64 = 120_000.0;

/// How long the first connection attempt may take before it counts as failed, in milliseconds
/// (an attempt into a dead network hangs far longer on its own).
pub const CONNECT_TIMEOUT_MS: f64 = 5_000.0;

/// How long the first attempt in an outage may take, in milliseconds; each further one may take
/// [`RECONNECT_TIMEOUT_STEP_MS`] more, up to [`CONNECT_TIMEOUT_MS`].
const RECONNECT_TIMEOUT_MS: f64 = 2_500.0;
/// See [`RECONNECT_TIMEOUT_MS`].
const RECONNECT_TIMEOUT_STEP_MS: f64 = 500.0;

/// What to do after the connection broke.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Next {
    /// Try again after this many milliseconds.
    RetryIn(f64),
    /// Stop: the relay stayed out of reach too long.
    GiveUp,
}

/// What a `welcome` after a reconnect means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejoined {
    /// The first welcome of this call.
    First,
    /// The same seat: keep the room, rebuild the connections.
    Resumed,
    /// A new seat (the old one expired, or the relay restarted): start the room afresh.
    Fresh,
}

/// The reconnect state of one call.
#[derive(Debug, Clone, Default)]
pub struct Reconnect {
    /// Our participant id, once welcomed.
    me: Option<ParticipantId>,
    /// The token that proves our seat.
    token: Option<String>,
    /// When the connection broke (the first failure of this outage).
    lost_at_ms: Option<f64>,
    /// Attempts in this outage.
    attempts: usize,
}

impl Reconnect {
    /// The token to send in `join`, if we hold a seat.
    pub fn resume_token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    /// Whether we are between a broken connection and the next welcome.
    pub fn reconnecting(&self) -> bool {
        self.lost_at_ms.is_some()
    }

    /// The connection broke, or an attempt failed, at `now_ms`.
    pub fn lost(&mut self, now_ms: f64) -> Next {
        let since = *self.lost_at_ms.get_or_insert(now_ms);
        if now_ms - since >= GIVE_UP_AFTER_MS {
            return Next::GiveUp;
        }
        let delay = DELAYS_MS.get(self.attempts).copied().unwrap_or(DELAYS_MS[DELAYS_MS.len() - 1]);
        self.attempts += 1;
        Next::RetryIn(delay)
    }

    /// How long the next connection attempt may take before it counts as failed, in ms. Until
    /// the first welcome every attempt gets the full [`CONNECT_TIMEOUT_MS`]: a first
    /// connection that took too long most likely met a slow machine or link, not a network
    /// that just went away, and shorter attempts would only fail sooner.
    pub fn connect_timeout_ms(&self) -> f64 {
        if self.attempts == 0 || self.me.is_none() {
            return CONNECT_TIMEOUT_MS;
        }
        let more = RECONNECT_TIMEOUT_STEP_MS * (self.attempts - 1) as f64;
        (RECONNECT_TIMEOUT_MS + more).min(CONNECT_TIMEOUT_MS)
    }

    /// The relay welcomed us as `you`, with a new `token`.
    pub fn welcomed(&mut self, you: ParticipantId, token: Option<String>) -> Rejoined {
        let before = self.me.replace(you);
        self.token = token;
        self.lost_at_ms = None;
        self.attempts = 0;
        match before {
            None => Rejoined::First,
            Some(id) if id == you => Rejoined::Resumed,
            Some(_) => Rejoined::Fresh,
        }
    }

    /// We left on purpose: nothing to come back to.
    pub fn forget(&mut self) {
        *self = Self::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tries_soon_then_every_second_and_gives_up_after_two_minutes() {
        let mut r = Reconnect::default();
        assert_eq!(r.connect_timeout_ms(), CONNECT_TIMEOUT_MS, "the first connection");
        r.welcomed(ParticipantId(3), Some("t".into()));
        let mut now = 10_000.0;
        let mut delays = Vec::new();
        let mut timeouts = Vec::new();
        while let Next::RetryIn(ms) = r.lost(now) {
            delays.push(ms);
            timeouts.push(r.connect_timeout_ms());
            now += ms + r.connect_timeout_ms();
        }
        assert_eq!(&delays[..5], &[250.0, 500.0, 1000.0, 1000.0, 1000.0]);
        // Short attempts while the network may come back any moment; longer ones for a slow link.
        assert_eq!(&timeouts[..7], &[2500.0, 3000.0, 3500.0, 4000.0, 4500.0, 5000.0, 5000.0]);
        assert!(now - 10_000.0 >= GIVE_UP_AFTER_MS);
        assert!(now - 10_000.0 < GIVE_UP_AFTER_MS + 8_000.0, "gives up on time");
        assert!(r.reconnecting());
        assert_eq!(r.resume_token(), Some("t"), "the token is kept while trying");
    }

    #[test]
    fn a_first_connection_that_fails_is_tried_again_with_the_full_time() {
        let mut r = Reconnect::default();
        for now in [5_000.0, 10_500.0, 16_500.0] {
            assert!(matches!(r.lost(now), Next::RetryIn(_)));
            assert_eq!(r.connect_timeout_ms(), CONNECT_TIMEOUT_MS, "at {now} ms");
        }
        // Once in, an outage starts with short attempts.
        r.welcomed(ParticipantId(2), Some("t".into()));
        r.lost(30_000.0);
        assert_eq!(r.connect_timeout_ms(), RECONNECT_TIMEOUT_MS);
    }

    #[test]
    fn a_welcome_ends_the_outage_and_says_whether_the_seat_is_the_same() {
        let mut r = Reconnect::default();
        assert_eq!(r.welcomed(ParticipantId(3), Some("a".into())), Rejoined::First);
        assert_eq!(r.lost(0.0), Next::RetryIn(250.0));
        assert_eq!(r.lost(5_000.0), Next::RetryIn(500.0));
        assert_eq!(r.welcomed(ParticipantId(3), Some("b".into())), Rejoined::Resumed);
        assert!(!r.reconnecting());
        assert_eq!(r.lost(9_000.0), Next::RetryIn(250.0), "a new outage starts soon again");
        assert_eq!(r.connect_timeout_ms(), 2500.0, "and short");
        r.welcomed(ParticipantId(3), Some("b".into()));
        assert_eq!(r.resume_token(), Some("b"));
        // The next outage starts over.
        assert_eq!(r.lost(200_000.0), Next::RetryIn(250.0));
        // The relay restarted meanwhile: another id.
        assert_eq!(r.welcomed(ParticipantId(1), Some("c".into())), Rejoined::Fresh);
    }

    #[test]
    fn leaving_forgets_the_seat() {
        let mut r = Reconnect::default();
        r.welcomed(ParticipantId(3), Some("a".into()));
        r.forget();
        assert_eq!(r.resume_token(), None);
        assert_eq!(r.welcomed(ParticipantId(4), None), Rejoined::First);
    }
}
