//! Shutdown: when the first signal comes, the relay drains (no one new, meetings go on) and
//! then tells every connection to stop.
//!
//! [`Drain`] decides when the drain ends, told the time and how many rooms are left; the task
//! [`drain_then_stop`] only waits for signals and ticks and carries the decision out.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use futures_util::StreamExt;
use tokio::sync::watch;
use tracing::info;

use crate::web::state::Shared;

/// How often the drain looks whether the last meeting has ended.
const CHECK_EVERY: Duration = Duration::from_secs(1);

/// Why the relay stops now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stop {
    /// Draining is off (`--drain-secs 0`) or no meeting is running: at once.
    NothingToWaitFor,
    /// The last meeting ended.
    MeetingsEnded,
    /// The drain time ran out.
    TimeUp,
    /// A second signal: the operator does not want to wait.
    AnotherSignal,
}

impl Stop {
    /// What the log says.
    fn describe(self) -> &'static str {
        match self {
            Self::NothingToWaitFor => "nothing to drain",
            Self::MeetingsEnded => "every meeting has ended",
            Self::TimeUp => "drain time is up",
            Self::AnotherSignal => "another signal: not waiting for the meetings to end",
        }
    }
}

/// A drain under way: meetings go on until they end or `deadline`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Drain {
    /// When the relay stops however many meetings still run.
    deadline: Instant,
}

impl Drain {
    /// The first signal came at `now` with `rooms` running: drain for at most `drain`, or stop.
    pub(crate) fn begin(now: Instant, drain: Duration, rooms: usize) -> Result<Self, Stop> {
        if drain.is_zero() || rooms == 0 {
            return Err(Stop::NothingToWaitFor);
        }
        Ok(Self { deadline: now + drain })
    }

    /// When the drain ends at the latest.
    pub(crate) fn deadline(&self) -> Instant {
        self.deadline
    }

    /// At `now`, with `rooms` still running: stop, or go on waiting (`None`).
    pub(crate) fn check(&self, now: Instant, rooms: usize) -> Option<Stop> {
        if now >= self.deadline {
            Some(Stop::TimeUp)
        } else if rooms == 0 {
            Some(Stop::MeetingsEnded)
        } else {
            None
        }
    }

    /// Another signal came.
    pub(crate) fn signalled(&self) -> Stop {
        Stop::AnotherSignal
    }
}

/// Waits for the first signal, lets the meetings drain (see `run`), then tells every
/// connection to stop.
pub(crate) async fn drain_then_stop(
    mut signals: impl futures_util::Stream<Item = ()> + Unpin,
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
) {
    let _ = signals.next().await;
    let drain = shared.config.drain();
    let rooms = shared.hub().rooms().room_count();
    let why = match Drain::begin(Instant::now(), drain, rooms) {
        Err(why) => why,
        Ok(draining) => {
            shared.hub().drain();
            info!(
                rooms,
                "draining: no one new; stopping when the meetings end, in {drain:?} at most, or on another signal"
            );
            wait(draining, &mut signals, &shared).await
        }
    };
    info!("{}", why.describe());
    let _ = stop.send(true);
}

/// Waits until `draining` says stop.
async fn wait(
    draining: Drain,
    signals: &mut (impl futures_util::Stream<Item = ()> + Unpin),
    shared: &Shared,
) -> Stop {
    let deadline = tokio::time::sleep_until(draining.deadline().into());
    tokio::pin!(deadline);
    let mut every = tokio::time::interval(CHECK_EVERY);
    let mut listening = true;
    loop {
        tokio::select! {
            () = &mut deadline => {}
            signal = signals.next(), if listening => match signal {
                Some(()) => return draining.signalled(),
                None => listening = false,
            },
            _ = every.tick() => {}
        }
        if let Some(why) = draining.check(Instant::now(), shared.hub().rooms().room_count()) {
            return why;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DRAIN: Duration = Duration::from_secs(600);

    #[test]
    fn with_nothing_running_or_draining_off_the_relay_stops_at_once() {
        let now = Instant::now();
        assert_eq!(Drain::begin(now, DRAIN, 0).err(), Some(Stop::NothingToWaitFor));
        assert_eq!(Drain::begin(now, Duration::ZERO, 3).err(), Some(Stop::NothingToWaitFor));
    }

    #[test]
    fn meetings_go_on_until_the_last_one_ends() {
        let start = Instant::now();
        let drain = Drain::begin(start, DRAIN, 2).unwrap_or_else(|why| panic!("stopped: {why:?}"));
        assert_eq!(drain.check(start + Duration::from_secs(1), 2), None);
        assert_eq!(drain.check(start + Duration::from_secs(300), 1), None, "one still runs");
        assert_eq!(drain.check(start + Duration::from_secs(301), 0), Some(Stop::MeetingsEnded));
    }

    #[test]
    fn the_drain_time_ends_meetings_that_still_run() {
        let start = Instant::now();
        let drain = Drain::begin(start, DRAIN, 1).unwrap_or_else(|why| panic!("stopped: {why:?}"));
        assert_eq!(drain.deadline(), start + DRAIN);
        assert_eq!(drain.check(start + DRAIN - Duration::from_millis(1), 1), None);
        assert_eq!(drain.check(start + DRAIN, 1), Some(Stop::TimeUp));
        assert_eq!(drain.check(start + DRAIN, 0), Some(Stop::TimeUp), "time up is said first");
    }

    #[test]
    fn a_second_signal_stops_without_waiting() {
        let start = Instant::now();
        let drain = Drain::begin(start, DRAIN, 4).unwrap_or_else(|why| panic!("stopped: {why:?}"));
        assert_eq!(drain.signalled(), Stop::AnotherSignal);
    }
}
