//! When the app gives up on its signalling connection: the keepalive policy, told the time.
//!
//! The app pings the relay every 2 s while the connection is open (the relay answers each) and
//! counts the connection as lost after 10 s of silence, so a network that went away is noticed
//! within seconds, not when TCP gives up minutes later. A connection that does not open within
//! its deadline is given up too. Time the page itself did not run (a busy machine, a frozen
//! tab: its timer came late) counts neither as the relay's silence nor against the deadline.
//! The shell (`app/src/relay_socket.rs`) sleeps for [`Keepalive::step_ms`], then asks
//! [`Keepalive::on_tick`] what to do.

/// How often the app pings the relay to notice a dead connection (the relay answers each).
pub const PING_EVERY_MS: i32 = 2_000;
/// How often a connection that has not opened yet is checked against its deadline.
pub const OPENING_CHECK_MS: i32 = 250;
/// Silence after which the connection counts as lost.
pub const SILENCE_LIMIT_MS: f64 = 10_000.0;
/// Silence after which a connection counts as probably dead once a media connection shows
/// that the network is back (two pings unanswered): TCP retransmits on a connection that broke
/// only after growing pauses, so waiting for it would keep the seat empty seconds longer.
pub const QUIET_LIMIT_MS: f64 = 2.0 * PING_EVERY_MS as f64 + 500.0;
/// A keepalive tick this late means the page itself did not run: messages may be waiting
/// behind it, so silence is not judged on that tick.
pub const LATE_TICK_MS: f64 = 1_000.0;

/// What to do on a keepalive tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tick {
    /// Send a ping if the socket is open.
    Ping,
    /// Do nothing this time (the tick came late: let what waited behind it run first).
    Wait,
    /// Give the connection up: the relay went silent (`opened`), or it never opened in time.
    GiveUp {
        /// Whether it had opened.
        opened: bool,
    },
}

/// The keepalive of one signalling connection. Times are milliseconds on any clock that only
/// moves forward (the app uses `Date.now()`).
#[derive(Debug, Clone)]
pub struct Keepalive {
    /// Whether the connection has opened.
    opened: bool,
    /// When connecting began, moved on by the time the page did not run.
    started: f64,
    /// When the last tick ran.
    last_tick: f64,
    /// When the relay was last heard.
    last_heard: f64,
    /// How long the connection may take to open.
    timeout_ms: f64,
}

impl Keepalive {
    /// Connecting begins at `now`; it must open within `timeout_ms`.
    pub fn new(now: f64, timeout_ms: f64) -> Self {
        Self { opened: false, started: now, last_tick: now, last_heard: now, timeout_ms }
    }

    /// The connection opened.
    pub fn opened(&mut self) {
        self.opened = true;
    }

    /// Whether the connection has opened.
    pub fn is_open(&self) -> bool {
        self.opened
    }

    /// A message from the relay arrived at `now`.
    pub fn heard(&mut self, now: f64) {
        self.last_heard = self.last_heard.max(now);
    }

    /// How long to sleep before the next tick: until it opens, look often, so an attempt that
    /// hangs is given up on time.
    pub fn step_ms(&self) -> i32 {
        if self.opened { PING_EVERY_MS } else { OPENING_CHECK_MS }
    }

    /// A tick at `now`, after a sleep of `step_ms`.
    pub fn on_tick(&mut self, now: f64, step_ms: i32) -> Tick {
        let step = f64::from(step_ms);
        let behind = (now - self.last_tick - step).max(0.0);
        self.last_tick = now;
        self.started += behind;
        if behind > LATE_TICK_MS {
            // The time the page stood still is not the relay's silence.
            self.last_heard = self.last_heard.max(now - step);
            return Tick::Wait;
        }
        let stuck = if self.opened {
            now - self.last_heard > SILENCE_LIMIT_MS
        } else {
            now - self.started > self.timeout_ms
        };
        if stuck { Tick::GiveUp { opened: self.opened } } else { Tick::Ping }
    }

    /// A media connection came back after failing at `now`, so the network is back: whether
    /// the relay has been quiet long enough that this connection most likely broke with it.
    pub fn quiet_after_network_back(&self, now: f64) -> bool {
        self.opened && now - self.last_heard > QUIET_LIMIT_MS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs ticks as a timer would, each `step` after the last, until `until`; returns the
    /// first tick that is not a ping, with its time.
    fn run(k: &mut Keepalive, from: f64, until: f64) -> Option<(f64, Tick)> {
        let mut now = from;
        while now < until {
            let step = k.step_ms();
            now += f64::from(step);
            match k.on_tick(now, step) {
                Tick::Ping => {}
                other => return Some((now, other)),
            }
        }
        None
    }

    #[test]
    fn a_relay_that_answers_is_pinged_for_ever() {
        let mut k = Keepalive::new(0.0, 10_000.0);
        k.opened();
        let mut now = 0.0;
        for _ in 0..1_000 {
            now += f64::from(k.step_ms());
            k.heard(now - 50.0);
            assert_eq!(k.on_tick(now, k.step_ms()), Tick::Ping);
        }
    }

    #[test]
    fn a_silent_relay_is_given_up_after_ten_seconds_not_minutes() {
        let mut k = Keepalive::new(0.0, 10_000.0);
        k.opened();
        k.heard(1_000.0);
        let (at, tick) = run(&mut k, 0.0, 60_000.0).unwrap_or((f64::NAN, Tick::Ping));
        assert_eq!(tick, Tick::GiveUp { opened: true });
        assert!(
            at > 1_000.0 + SILENCE_LIMIT_MS && at <= 1_000.0 + SILENCE_LIMIT_MS + 2_000.0,
            "{at}"
        );
    }

    #[test]
    fn a_connection_that_does_not_open_is_given_up_at_its_deadline() {
        let mut k = Keepalive::new(0.0, 4_000.0);
        assert_eq!(k.step_ms(), OPENING_CHECK_MS);
        let (at, tick) = run(&mut k, 0.0, 60_000.0).unwrap_or((f64::NAN, Tick::Ping));
        assert_eq!(tick, Tick::GiveUp { opened: false });
        assert!((4_000.0..=4_250.0).contains(&at), "{at}");
    }

    #[test]
    fn time_the_page_stood_still_is_not_the_relays_silence() {
        let mut k = Keepalive::new(0.0, 10_000.0);
        k.opened();
        k.heard(0.0);
        assert_eq!(k.on_tick(2_000.0, PING_EVERY_MS), Tick::Ping);
        // The tab froze for 30 s: the next tick comes 32 s after the last.
        assert_eq!(k.on_tick(34_000.0, PING_EVERY_MS), Tick::Wait, "not judged on a late tick");
        // What waited behind it is heard, or not; the relay gets its full ten seconds from now.
        assert_eq!(k.on_tick(36_000.0, PING_EVERY_MS), Tick::Ping);
        let (at, tick) = run(&mut k, 36_000.0, 90_000.0).unwrap_or((f64::NAN, Tick::Ping));
        assert_eq!(tick, Tick::GiveUp { opened: true });
        assert!(at > 32_000.0 + SILENCE_LIMIT_MS, "{at}");
    }

    #[test]
    fn a_busy_machine_moves_the_opening_deadline_on() {
        let mut k = Keepalive::new(0.0, 4_000.0);
        assert_eq!(k.on_tick(250.0, OPENING_CHECK_MS), Tick::Ping);
        // The page did not run for 5 s: longer than the whole deadline.
        assert_eq!(k.on_tick(5_500.0, OPENING_CHECK_MS), Tick::Wait);
        assert_eq!(k.on_tick(5_750.0, OPENING_CHECK_MS), Tick::Ping, "still within its time");
    }

    #[test]
    fn when_the_network_comes_back_a_quiet_connection_counts_as_broken() {
        let mut k = Keepalive::new(0.0, 10_000.0);
        assert!(!k.quiet_after_network_back(60_000.0), "never opened: nothing to give up");
        k.opened();
        k.heard(10_000.0);
        assert!(!k.quiet_after_network_back(10_000.0 + QUIET_LIMIT_MS));
        assert!(k.quiet_after_network_back(10_001.0 + QUIET_LIMIT_MS));
    }
}
