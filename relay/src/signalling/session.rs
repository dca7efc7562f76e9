//! What one connection may send, and what happens when it breaks the rules.
//!
//! A [`Session`] sees every frame a connection sends, in order, with the time it arrived, and
//! decides: hand the message on to the rooms, answer it directly, drop it, or close the
//! connection. Mistakes are answered with an `error` naming the rule; only abuse — many mistakes
//! in a short time — closes the connection. Its keepalive ([`Session::on_tick`]) says when to
//! ping, and closes a connection that never said `hello` or went silent.

use std::time::Instant;

use protocol::{ClientMessage, ErrorCode, PROTOCOL_VERSION, ServerMessage};

use crate::rate::TokenBucket;

/// How many rule violations a connection may commit in a burst before it is closed.
const STRIKE_BURST: u32 = 20;
/// How many rule violations per second are forgiven in the long run.
const STRIKES_PER_SECOND: u32 = 1;

/// How long a new connection may take to say `hello` before it is closed: an open socket that
/// says nothing costs the relay memory and a place under the connection limits.
pub const HELLO_DEADLINE: std::time::Duration = std::time::Duration::from_secs(10);

/// Joins a connection may send in a burst, and per second in the long run (each one sets up a
/// seat, and in an SFU room a media connection).
const JOIN_BURST: u32 = 10;
const JOINS_PER_SECOND: u32 = 2;

/// Chat messages a person may send in a burst.
const CHAT_BURST: u32 = 5;
/// Chat messages per second in the long run.
const CHAT_PER_SECOND: u32 = 1;

/// How often the relay pings a connection, so that one whose network vanished goes silent.
pub const PING_INTERVAL: std::time::Duration = std::time::Duration::from_secs(2);

/// Limits on what one connection sends.
#[derive(Debug, Clone, Copy)]
pub struct SessionLimits {
    /// Largest text message in bytes.
    pub max_message_bytes: usize,
    /// Average messages per second.
    pub messages_per_second: u32,
    /// Messages allowed in a burst.
    pub message_burst: u32,
    /// A connection silent for longer (not even a pong) is closed.
    pub idle_timeout: std::time::Duration,
}

/// What the keepalive asks for on a tick ([`Session::on_tick`]).
#[derive(Debug, Clone, PartialEq)]
pub enum Tick {
    /// Nothing to do.
    Wait,
    /// Send a WebSocket ping.
    Ping,
    /// No `hello` in time: send this and close.
    HelloOverdue(ServerMessage),
    /// Silent for longer than the idle timeout: close (the seat is kept for a resume).
    Silent {
        /// How long since anything was heard.
        for_: std::time::Duration,
    },
}

/// A frame as it came off the WebSocket.
#[derive(Debug, Clone, Copy)]
pub enum Frame<'a> {
    /// A text frame.
    Text(&'a str),
    /// A binary frame of this many bytes; the protocol has none.
    Binary,
}

/// What to do with a frame.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// A valid request for the rooms.
    Handle(ClientMessage),
    /// Answer the sender with this, and nothing else.
    Reply(ServerMessage),
    /// Drop the frame silently.
    Ignore,
    /// Send this last message and close the connection.
    Close(ServerMessage),
}

/// How a connection ended, as its shell saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// The client sent a close frame, with this code if it gave one.
    ClientClosed(Option<u16>),
    /// The socket closed or broke without a close frame (the network went).
    Dropped,
    /// A frame was too large or malformed.
    Malformed,
    /// The client broke the protocol's rules (see [`Step::Close`]).
    Violation,
    /// No `hello` came in time (see [`Tick::HelloOverdue`]).
    NoHello,
    /// Nothing was heard for the idle timeout (see [`Tick::Silent`]).
    Silent,
    /// The client took nothing for too long: no goodbye would get through.
    NotReading,
    /// The client fell too far behind the room (its outbox overflowed).
    TooSlow,
    /// The relay ended the connection (a host removed the participant, or the media loop lost
    /// it and the browser comes back into its seat).
    EndedByRelay,
    /// A join while the relay drains: the browser is sent to try again elsewhere.
    Restarting,
    /// The relay shuts down.
    ShuttingDown,
}

impl End {
    /// Whether the participant's seat goes with the connection. A closed tab or a broken rule
    /// gives it up; a connection that just broke keeps it for the grace period, and so does a
    /// client that closes saying it reconnects (`CLOSE_RECONNECTING`).
    pub fn gives_up_seat(self) -> bool {
        match self {
            Self::ClientClosed(code) => code != Some(protocol::CLOSE_RECONNECTING),
            Self::Violation | Self::NoHello | Self::Restarting => true,
            Self::Dropped
            | Self::Malformed
            | Self::Silent
            | Self::NotReading
            | Self::TooSlow
            | Self::EndedByRelay
            | Self::ShuttingDown => false,
        }
    }

    /// The close frame the relay sends (code, reason), if one can still get through.
    pub fn close_frame(self) -> Option<(u16, &'static str)> {
        match self {
            Self::ClientClosed(_) | Self::Dropped | Self::NotReading => None,
            Self::Malformed => Some((CLOSE_TOO_LARGE, "message too large or malformed frame")),
            Self::Violation => Some((CLOSE_POLICY, "protocol violation")),
            Self::NoHello => Some((CLOSE_POLICY, "no hello")),
            Self::Silent => Some((CLOSE_AWAY, "idle timeout")),
            Self::TooSlow => Some((CLOSE_POLICY, "too slow to keep up with the room")),
            Self::EndedByRelay => Some((CLOSE_NORMAL, "ended by the relay")),
            Self::Restarting => Some((CLOSE_RESTART, "relay restarting: no new joins")),
            Self::ShuttingDown => Some((CLOSE_RESTART, "relay shutting down")),
        }
    }
}

/// WebSocket close codes (RFC 6455 section 7.4.1, and IANA's registry for 1012).
const CLOSE_NORMAL: u16 = 1000;
const CLOSE_AWAY: u16 = 1001;
const CLOSE_POLICY: u16 = 1008;
const CLOSE_TOO_LARGE: u16 = 1009;
const CLOSE_RESTART: u16 = 1012;

/// The rule-keeping state of one connection.
#[derive(Debug)]
pub struct Session {
    /// The limits.
    limits: SessionLimits,
    /// Whether a matching `hello` has been received.
    greeted: bool,
    /// When the connection opened.
    opened: Instant,
    /// Messages allowed.
    rate: TokenBucket,
    /// Violations forgiven; empty means abuse.
    strikes: TokenBucket,
    /// Whether the sender has been told it is rate limited since it last sent a message in time.
    told_rate_limited: bool,
    /// Messages dropped by the rate limit and not yet counted by the shell.
    dropped: u64,
    /// Chat messages allowed (people type in bursts, spam comes in floods).
    chat: TokenBucket,
    /// Joins allowed.
    joins: TokenBucket,
    /// When the client was last heard (any frame, a pong included), pushed on by the time the
    /// relay spent waiting to write to it.
    last_heard: Instant,
    /// When the relay last pinged.
    last_ping: Instant,
}

fn error(code: ErrorCode, message: impl Into<String>) -> ServerMessage {
    ServerMessage::Error { request_id: None, code, message: message.into() }
}

impl Session {
    /// A new connection at `now`.
    pub fn new(limits: SessionLimits, now: Instant) -> Self {
        Self {
            limits,
            greeted: false,
            opened: now,
            rate: TokenBucket::new(limits.messages_per_second, limits.message_burst, now),
            strikes: TokenBucket::new(STRIKES_PER_SECOND, STRIKE_BURST, now),
            told_rate_limited: false,
            dropped: 0,
            chat: TokenBucket::new(CHAT_PER_SECOND, CHAT_BURST, now),
            joins: TokenBucket::new(JOINS_PER_SECOND, JOIN_BURST, now),
            last_heard: now,
            last_ping: now,
        }
    }

    /// Something (any frame, a ping or pong too) arrived at `now`.
    pub fn heard(&mut self, now: Instant) {
        self.last_heard = self.last_heard.max(now);
    }

    /// The relay spent `waited` writing to this client: nothing is read meanwhile, so that time
    /// does not count as the client's silence.
    pub fn excuse(&mut self, waited: std::time::Duration) {
        self.last_heard += waited;
    }

    /// The keepalive at `now` (the shell ticks every second or so): close a connection that
    /// never said hello or went silent, else ping every [`PING_INTERVAL`].
    pub fn on_tick(&mut self, now: Instant) -> Tick {
        if let Some(farewell) = self.hello_overdue(now) {
            return Tick::HelloOverdue(farewell);
        }
        let silent = now.saturating_duration_since(self.last_heard);
        if silent > self.limits.idle_timeout {
            return Tick::Silent { for_: silent };
        }
        if now.saturating_duration_since(self.last_ping) >= PING_INTERVAL {
            self.last_ping = now;
            return Tick::Ping;
        }
        Tick::Wait
    }

    #[cfg(test)]
    /// Whether `hello` has been exchanged.
    pub fn is_greeted(&self) -> bool {
        self.greeted
    }

    /// The last word for a connection that has not said `hello` within [`HELLO_DEADLINE`] of
    /// opening; `None` while it still may, or once it has.
    pub fn hello_overdue(&self, now: Instant) -> Option<ServerMessage> {
        (!self.greeted && now.saturating_duration_since(self.opened) >= HELLO_DEADLINE).then(|| {
            error(
                ErrorCode::HelloRequired,
                format!(
                    "No hello within {} s; the relay closed this connection.",
                    HELLO_DEADLINE.as_secs()
                ),
            )
        })
    }

    /// Messages the rate limit dropped since the last call (for `/metrics`).
    pub fn take_dropped(&mut self) -> u64 {
        std::mem::take(&mut self.dropped)
    }

    /// Decides what to do with `frame`, received at `now`.
    pub fn on_frame(&mut self, now: Instant, frame: Frame<'_>) -> Step {
        self.heard(now);
        if !self.rate.try_take(now) {
            self.dropped += 1;
            let reply = if self.told_rate_limited {
                Step::Ignore
            } else {
                self.told_rate_limited = true;
                Step::Reply(error(
                    ErrorCode::RateLimited,
                    format!(
                        "You sent more than {} messages per second; messages are being dropped.",
                        self.limits.messages_per_second
                    ),
                ))
            };
            return self.strike(now, reply);
        }
        self.told_rate_limited = false;

        let text = match frame {
            Frame::Text(text) => text,
            Frame::Binary => {
                let reply = error(
                    ErrorCode::InvalidMessage,
                    "Binary messages are not supported; send JSON text.",
                );
                return self.strike(now, Step::Reply(reply));
            }
        };
        let message = match protocol::decode_client(text, self.limits.max_message_bytes) {
            Ok(message) => message,
            Err(e) => {
                let reply = error(e.code(), format!("{}.", capitalise(&e.to_string())));
                return self.strike(now, Step::Reply(reply));
            }
        };

        match message {
            ClientMessage::Hello { version } if version == PROTOCOL_VERSION => {
                self.greeted = true;
                Step::Reply(ServerMessage::Hello { version: PROTOCOL_VERSION })
            }
            ClientMessage::Hello { version } => Step::Close(error(
                ErrorCode::UnsupportedVersion,
                format!(
                    "This relay speaks protocol version {PROTOCOL_VERSION}, not {version}. Reload the page to get the matching app."
                ),
            )),
            _ if !self.greeted => {
                let reply =
                    error(ErrorCode::HelloRequired, "Send hello with your protocol version first.");
                self.strike(now, Step::Reply(reply))
            }
            ClientMessage::Ping { nonce } => Step::Reply(ServerMessage::Pong { nonce }),
            ClientMessage::Chat { .. } if !self.chat.try_take(now) => Step::Reply(error(
                ErrorCode::ChatRateLimited,
                format!(
                    "You are sending chat messages too quickly (more than {CHAT_BURST} at once or {CHAT_PER_SECOND} per second); wait a moment and send it again."
                ),
            )),
            ClientMessage::Join { .. } if !self.joins.try_take(now) => {
                let reply = error(
                    ErrorCode::RateLimited,
                    format!(
                        "Too many joins (more than {JOIN_BURST} at once or {JOINS_PER_SECOND} per second); wait a moment and try again."
                    ),
                );
                self.strike(now, Step::Reply(reply))
            }
            other => Step::Handle(other),
        }
    }

    /// Counts a violation; returns `step`, or a close once the connection has used up its strikes.
    fn strike(&mut self, now: Instant, step: Step) -> Step {
        if self.strikes.try_take(now) {
            step
        } else {
            Step::Close(error(
                ErrorCode::InvalidMessage,
                "Too many invalid or excess messages; the relay closed this connection.",
            ))
        }
    }
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::time::Duration;

    use super::*;

    const LIMITS: SessionLimits = SessionLimits {
        max_message_bytes: 1000,
        messages_per_second: 10,
        message_burst: 10,
        idle_timeout: Duration::from_secs(9),
    };

    fn greeted(now: Instant) -> Session {
        let mut s = Session::new(LIMITS, now);
        assert_eq!(
            s.on_frame(now, Frame::Text(r#"{"type":"hello","version":1}"#)),
            Step::Reply(ServerMessage::Hello { version: PROTOCOL_VERSION })
        );
        s
    }

    fn code_of(step: &Step) -> Option<ErrorCode> {
        match step {
            Step::Reply(ServerMessage::Error { code, .. })
            | Step::Close(ServerMessage::Error { code, .. }) => Some(*code),
            _ => None,
        }
    }

    #[test]
    fn hello_comes_first() {
        let now = Instant::now();
        let mut s = Session::new(LIMITS, now);
        let step = s.on_frame(now, Frame::Text(r#"{"type":"leave"}"#));
        assert_eq!(code_of(&step), Some(ErrorCode::HelloRequired));
        assert!(!s.is_greeted());
        let step = s.on_frame(now, Frame::Text(r#"{"type":"hello","version":99}"#));
        assert!(matches!(step, Step::Close(_)));
        assert_eq!(code_of(&step), Some(ErrorCode::UnsupportedVersion));
    }

    #[test]
    fn joins_are_limited_on_their_own() {
        let now = Instant::now();
        let limits = SessionLimits {
            max_message_bytes: 1000,
            messages_per_second: 1000,
            message_burst: 1000,
            ..LIMITS
        };
        let mut s = Session::new(limits, now);
        s.on_frame(now, Frame::Text(r#"{"type":"hello","version":1}"#));
        let later = now;
        let join = r#"{"type":"join","room":"r","name":"A","media":{"audio":true,"video":true,"screen":false}}"#;
        for _ in 0..JOIN_BURST {
            assert!(matches!(s.on_frame(later, Frame::Text(join)), Step::Handle(_)));
        }
        assert_eq!(code_of(&s.on_frame(later, Frame::Text(join))), Some(ErrorCode::RateLimited));
        // A script that keeps trying is closed.
        let closed =
            (0..100).any(|_| matches!(s.on_frame(later, Frame::Text(join)), Step::Close(_)));
        assert!(closed);
    }

    #[test]
    fn a_connection_that_never_says_hello_is_closed_after_the_deadline() {
        let now = Instant::now();
        let silent = Session::new(LIMITS, now);
        assert!(silent.hello_overdue(now + HELLO_DEADLINE - Duration::from_millis(1)).is_none());
        let last = silent.hello_overdue(now + HELLO_DEADLINE).expect("closed at the deadline");
        assert!(matches!(last, ServerMessage::Error { code: ErrorCode::HelloRequired, .. }));
        // Saying hello in time keeps it open for good.
        let mut polite = Session::new(LIMITS, now);
        polite.on_frame(now, Frame::Text(r#"{"type":"hello","version":1}"#));
        assert!(polite.hello_overdue(now + HELLO_DEADLINE * 100).is_none());
    }

    #[test]
    fn requests_pass_and_pings_are_answered() {
        let now = Instant::now();
        let mut s = greeted(now);
        assert_eq!(
            s.on_frame(now, Frame::Text(r#"{"type":"leave"}"#)),
            Step::Handle(ClientMessage::Leave)
        );
        assert_eq!(
            s.on_frame(now, Frame::Text(r#"{"type":"ping","nonce":3}"#)),
            Step::Reply(ServerMessage::Pong { nonce: 3 })
        );
    }

    #[test]
    fn mistakes_are_answered_with_the_broken_rule() {
        let now = Instant::now();
        let mut s = greeted(now);
        assert_eq!(code_of(&s.on_frame(now, Frame::Text("{"))), Some(ErrorCode::InvalidMessage));
        assert_eq!(code_of(&s.on_frame(now, Frame::Binary)), Some(ErrorCode::InvalidMessage));
        let big = "x".repeat(1001);
        let step = s.on_frame(now, Frame::Text(&big));
        assert_eq!(code_of(&step), Some(ErrorCode::MessageTooLarge));
        let Step::Reply(ServerMessage::Error { message, .. }) = step else { panic!("{step:?}") };
        assert!(message.contains("1000 bytes"), "{message}");
    }

    #[test]
    fn floods_are_dropped_with_one_notice_then_closed() {
        let start = Instant::now();
        let mut s = greeted(start);
        let ping = Frame::Text(r#"{"type":"ping"}"#);
        for _ in 0..9 {
            assert!(matches!(s.on_frame(start, ping), Step::Reply(ServerMessage::Pong { .. })));
        }
        assert_eq!(s.take_dropped(), 0);
        assert_eq!(code_of(&s.on_frame(start, ping)), Some(ErrorCode::RateLimited));
        assert_eq!(s.on_frame(start, ping), Step::Ignore);
        assert_eq!(s.take_dropped(), 2, "both refused messages are counted");
        assert_eq!(s.take_dropped(), 0, "and counted once");
        assert_eq!(s.on_frame(start, ping), Step::Ignore, "told once, not per message");
        // Back within the rate: served again.
        let later = start + Duration::from_secs(1);
        assert!(matches!(s.on_frame(later, ping), Step::Reply(ServerMessage::Pong { .. })));
        // A sustained flood is abuse.
        let mut closed = false;
        for _ in 0..100 {
            if let Step::Close(_) = s.on_frame(later, ping) {
                closed = true;
                break;
            }
        }
        assert!(closed);
    }

    #[test]
    fn chat_has_its_own_rate() {
        let start = Instant::now();
        let mut s = greeted(start);
        let chat = Frame::Text(r#"{"type":"chat","text":"hi"}"#);
        for _ in 0..CHAT_BURST {
            assert!(matches!(s.on_frame(start, chat), Step::Handle(ClientMessage::Chat { .. })));
        }
        assert_eq!(code_of(&s.on_frame(start, chat)), Some(ErrorCode::ChatRateLimited));
        let later = start + Duration::from_secs(1);
        assert!(matches!(s.on_frame(later, chat), Step::Handle(_)));
    }

    #[test]
    fn the_keepalive_pings_and_closes_a_silent_connection() {
        let start = Instant::now();
        let mut s = greeted(start);
        let at = |ms: u64| start + Duration::from_millis(ms);
        assert_eq!(s.on_tick(at(1_000)), Tick::Wait);
        assert_eq!(s.on_tick(at(2_000)), Tick::Ping);
        assert_eq!(s.on_tick(at(3_000)), Tick::Wait);
        assert_eq!(s.on_tick(at(4_000)), Tick::Ping);
        // A pong at 4.5 s: heard, so not silent at 10 s, still pinged.
        s.heard(at(4_500));
        assert_eq!(s.on_tick(at(10_000)), Tick::Ping);
        assert_eq!(s.on_tick(at(11_000)), Tick::Wait);
        assert_eq!(s.on_tick(at(12_000)), Tick::Ping);
        assert_eq!(s.on_tick(at(13_500)), Tick::Wait, "9 s of silence is not yet too long");
        assert_eq!(s.on_tick(at(13_600)), Tick::Silent { for_: Duration::from_millis(9_100) });
        // Time spent waiting to write to the client is not its silence.
        let mut slow = greeted(start);
        slow.excuse(Duration::from_secs(5));
        assert!(matches!(slow.on_tick(at(12_000)), Tick::Ping | Tick::Wait));
        assert!(matches!(slow.on_tick(at(14_100)), Tick::Silent { .. }));
    }

    #[test]
    fn the_keepalive_closes_a_connection_without_hello() {
        let start = Instant::now();
        let mut s = Session::new(LIMITS, start);
        let tick = s.on_tick(start + HELLO_DEADLINE);
        assert!(
            matches!(
                tick,
                Tick::HelloOverdue(ServerMessage::Error { code: ErrorCode::HelloRequired, .. })
            ),
            "{tick:?}"
        );
    }

    #[test]
    fn occasional_mistakes_are_forgiven() {
        let start = Instant::now();
        let mut s = greeted(start);
        for second in 0..100 {
            let step = s.on_frame(start + Duration::from_secs(second), Frame::Text("nope"));
            assert!(matches!(step, Step::Reply(_)), "closed after {second} s");
        }
    }

    #[test]
    fn a_closed_tab_or_a_broken_rule_gives_up_the_seat_a_broken_network_keeps_it() {
        for end in [
            End::ClientClosed(None),
            End::ClientClosed(Some(1001)),
            End::Violation,
            End::NoHello,
            End::Restarting,
        ] {
            assert!(end.gives_up_seat(), "{end:?} gives up the seat");
        }
        let reconnecting = End::ClientClosed(Some(protocol::CLOSE_RECONNECTING));
        for end in [
            reconnecting,
            End::Dropped,
            End::Malformed,
            End::Silent,
            End::NotReading,
            End::TooSlow,
            End::EndedByRelay,
            End::ShuttingDown,
        ] {
            assert!(!end.gives_up_seat(), "{end:?} keeps the seat for the grace period");
        }
    }

    #[test]
    fn the_relay_says_why_it_closes_unless_nothing_would_get_through() {
        assert_eq!(End::Violation.close_frame(), Some((1008, "protocol violation")));
        assert_eq!(End::Malformed.close_frame().map(|(code, _)| code), Some(1009));
        assert_eq!(
            End::ShuttingDown.close_frame().map(|(code, _)| code),
            Some(1012),
            "browsers retry on 1012"
        );
        assert_eq!(End::Silent.close_frame().map(|(code, _)| code), Some(1001));
        for end in [End::ClientClosed(None), End::Dropped, End::NotReading] {
            assert_eq!(end.close_frame(), None, "{end:?}");
        }
    }
}
