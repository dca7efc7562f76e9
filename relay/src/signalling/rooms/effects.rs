//! The rooms' one way in and one way out: an [`Input`] with the time it came, and the
//! [`Effect`]s the hub carries out, in order. The methods of the other files decide; this file
//! only puts their answers into one shape.

use std::net::IpAddr;

use protocol::{MediaState, Moderation, ParticipantId, RequestId, ServerMessage, Signal};

use super::{ConnId, Kept, Outgoing, Pass, Rooms, errors::RoomError, media::MediaAction};
use crate::{config::tenants::TenantId, signalling::Now};

/// A request to the rooms: from a connection, or from the clock.
#[derive(Debug)]
pub enum Input<'a> {
    /// `conn` asks to join `room` as `name` (see [`Rooms::join`]).
    Join {
        /// Who asks.
        conn: ConnId,
        /// Echoed in the answer.
        request_id: Option<RequestId>,
        /// The room, as typed.
        room: &'a str,
        /// The display name, as typed.
        name: &'a str,
        /// Microphone and camera at the start.
        media: MediaState,
        /// Link, device, password, tenant.
        pass: Pass<'a>,
        /// Where the connection comes from (wrong passwords count per address too).
        addr: Option<IpAddr>,
    },
    /// `conn` comes back for the seat `token` holds (see [`Rooms::resume`]). Nothing comes
    /// back when no seat matches: the connection then joins afresh.
    Resume {
        /// Who asks.
        conn: ConnId,
        /// Echoed in the `welcome`.
        request_id: Option<RequestId>,
        /// The tenant of the connection.
        tenant: TenantId,
        /// The room, as typed.
        room: &'a str,
        /// The seat's secret.
        token: &'a str,
        /// What the page still holds.
        kept: Kept<'a>,
    },
    /// A signal from `conn` to `to` in a mesh.
    Signal {
        /// From.
        conn: ConnId,
        /// To.
        to: ParticipantId,
        /// The offer, answer or candidate.
        signal: Signal,
    },
    /// `conn`'s microphone, camera or screen changed.
    Media {
        /// Who.
        conn: ConnId,
        /// Now.
        media: MediaState,
    },
    /// A chat message from `conn`.
    Chat {
        /// From.
        conn: ConnId,
        /// As typed.
        text: &'a str,
    },
    /// `conn` raised or lowered its hand.
    Hand {
        /// Who.
        conn: ConnId,
        /// Up or down.
        raised: bool,
    },
    /// A host's action.
    Moderate {
        /// The host.
        conn: ConnId,
        /// What.
        action: Moderation,
    },
    /// `conn` leaves on purpose, or its connection ended for good: the seat goes.
    Leave {
        /// Who.
        conn: ConnId,
    },
    /// `conn` broke: the seat is kept for the grace period.
    Disconnect {
        /// Who.
        conn: ConnId,
    },
    /// `conn`'s socket ended: its seat goes (`for_good`: a closed tab, a broken rule) or waits
    /// for the grace period, and what it tried is forgotten.
    Closed {
        /// Who.
        conn: ConnId,
        /// Whether the seat goes with it.
        for_good: bool,
    },
    /// The clock: seats whose grace period is over are given up.
    Expire,
}

/// One thing the hub must do.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Hand the media loop this (comes before the messages of the same step: a newcomer's media
    /// connection is on its way before the `welcome` that makes the browser offer).
    Media(MediaAction),
    /// Queue this message for the connection.
    Send(ConnId, ServerMessage),
    /// The connection is done with once what is queued for it is out: removed by a host, the
    /// meeting ended, or its seat was taken over by a new connection.
    Close(ConnId),
    /// The connection closes as "relay restarting" once its answer is out: a join while the
    /// relay drains. The browser tries again by itself (the restarted relay, or another behind
    /// the same name).
    Restart(ConnId),
    /// The request was refused; the connection is told why.
    Refused {
        /// Who asked.
        conn: ConnId,
        /// Echoed in the error.
        request_id: Option<RequestId>,
        /// Why.
        error: RoomError,
    },
    /// Worth a line in the log.
    Log(Event),
}

/// What the log says about the rooms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// `id` took its seat back on `conn`.
    SeatResumed {
        /// Who.
        id: ParticipantId,
        /// The new connection.
        conn: ConnId,
        /// The connection that held the seat until now, if it was still open.
        replaced: Option<ConnId>,
        /// Whether its media connections stay.
        media_kept: bool,
    },
}

impl Rooms {
    /// Carries out `input`, which came at `now`: what the hub must do, in order.
    pub fn apply(&mut self, input: Input<'_>, now: Now) -> Vec<Effect> {
        let (conn, request_id, answer) = match input {
            Input::Join { conn, request_id, room, name, media, pass, addr } => {
                if self.draining {
                    let error = RoomError::ShuttingDown;
                    return vec![
                        Effect::Refused { conn, request_id, error },
                        Effect::Restart(conn),
                    ];
                }
                // Someone who got the password wrong too often does not get it looked at.
                if pass.password.is_some() && !self.attempts.may_try(conn, addr, now.at) {
                    let error = RoomError::TooManyAttempts;
                    return vec![Effect::Refused { conn, request_id, error }];
                }
                let unix = now.unix_ms / 1000;
                let joined = self.join(conn, request_id, room, name, media, pass, unix);
                if let Err(RoomError::WrongPassword) = joined {
                    self.attempts.failed(conn, addr, now.at);
                }
                (conn, request_id, joined)
            }
            Input::Resume { conn, request_id, tenant, room, token, kept } => {
                return self.resume_effects(conn, request_id, tenant, room, token, kept);
            }
            Input::Signal { conn, to, signal } => (conn, None, self.signal(conn, to, signal)),
            Input::Media { conn, media } => (conn, None, self.update_media(conn, media)),
            Input::Chat { conn, text } => (conn, None, self.chat(conn, text, now.unix_ms)),
            Input::Hand { conn, raised } => (conn, None, self.hand(conn, raised)),
            Input::Moderate { conn, action } => return self.moderate_effects(conn, action),
            Input::Leave { conn } => (conn, None, Ok(self.leave(conn))),
            Input::Disconnect { conn } => (conn, None, Ok(self.disconnect(conn, now.at))),
            Input::Closed { conn, for_good } => {
                self.attempts.forget(conn);
                let out = if for_good { self.leave(conn) } else { self.disconnect(conn, now.at) };
                (conn, None, Ok(out))
            }
            Input::Expire => {
                let out = self.expire(now.at);
                return self.effects(out);
            }
        };
        match answer {
            Ok(out) => self.effects(out),
            Err(error) => {
                let mut effects = self.effects(Vec::new());
                effects.push(Effect::Refused { conn, request_id, error });
                effects
            }
        }
    }

    /// A resume: the old connection closes, the seat's messages go out.
    fn resume_effects(
        &mut self,
        conn: ConnId,
        request_id: Option<RequestId>,
        tenant: TenantId,
        room: &str,
        token: &str,
        kept: Kept<'_>,
    ) -> Vec<Effect> {
        let Some(resumed) = self.resume(conn, request_id, tenant, room, token, kept) else {
            return Vec::new();
        };
        let event = Event::SeatResumed {
            id: resumed.id,
            conn,
            replaced: resumed.replaced,
            media_kept: resumed.kept,
        };
        let mut effects = vec![Effect::Log(event)];
        effects.extend(resumed.replaced.map(Effect::Close));
        effects.extend(self.effects(resumed.out));
        effects
    }

    /// A host's action: its messages, then whoever must go is closed (after the message that
    /// says why) and leaves the room.
    fn moderate_effects(&mut self, conn: ConnId, action: Moderation) -> Vec<Effect> {
        let (out, leaving) = match self.moderate(conn, action) {
            Ok(answer) => answer,
            Err(error) => {
                let mut effects = self.effects(Vec::new());
                effects.push(Effect::Refused { conn, request_id: None, error });
                return effects;
            }
        };
        let mut effects = self.effects(out);
        // They leave the room; what that tells the others goes out once they are closed, so
        // nobody sent away hears of the others leaving too.
        let left: Vec<Outgoing> = leaving.iter().flat_map(|gone| self.leave(*gone)).collect();
        effects.extend(leaving.into_iter().map(Effect::Close));
        effects.extend(self.effects(left));
        effects
    }

    /// What the media loop must do (queued by the call just made), then the messages.
    fn effects(&mut self, out: Vec<Outgoing>) -> Vec<Effect> {
        let mut effects: Vec<Effect> = self.take_media().into_iter().map(Effect::Media).collect();
        effects.extend(out.into_iter().map(|(conn, message)| Effect::Send(conn, message)));
        effects
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;
    use crate::signalling::rooms::testing::*;

    fn at(at: Instant) -> Now {
        Now { at, unix_ms: UNIX * 1000 }
    }

    fn join<'a>(conn: u64, name: &'a str) -> Input<'a> {
        Input::Join {
            conn: ConnId(conn),
            request_id: None,
            room: "rat",
            name,
            media: MediaState::default(),
            pass: Pass::default(),
            addr: None,
        }
    }

    #[test]
    fn the_media_loop_hears_of_a_newcomer_before_anyone_is_told() {
        let mut r = limited(None, &["rat"], Duration::from_secs(30));
        let effects = r.apply(join(1, "Anna"), at(Instant::now()));
        assert!(
            matches!(effects.first(), Some(Effect::Media(MediaAction::Join { .. }))),
            "{effects:?}"
        );
        assert!(matches!(
            effects.get(1),
            Some(Effect::Send(ConnId(1), ServerMessage::Welcome { .. }))
        ));
    }

    #[test]
    fn a_refusal_is_an_effect_that_names_the_reason_and_echoes_the_request() {
        let mut r = rooms(4);
        let input = Input::Join {
            conn: ConnId(1),
            request_id: Some(RequestId(7)),
            room: "a/b",
            name: "Anna",
            media: MediaState::default(),
            pass: Pass::default(),
            addr: None,
        };
        let effects = r.apply(input, at(Instant::now()));
        let [Effect::Refused { conn, request_id, error }] = effects.as_slice() else {
            panic!("{effects:?}")
        };
        assert_eq!((*conn, *request_id), (ConnId(1), Some(RequestId(7))));
        assert_eq!(error.code(), protocol::ErrorCode::InvalidRoomName);
    }

    #[test]
    fn whom_a_host_removes_is_told_then_closed_and_the_others_see_them_leave() {
        let mut r = rooms(4);
        let now = at(Instant::now());
        let _ = r.apply(join(1, "Anna"), now);
        let bruno = welcome_of(&sends(&r.apply(join(2, "Bruno"), now)), 2).0;
        let remove = Input::Moderate { conn: ConnId(1), action: Moderation::Remove { id: bruno } };
        let effects = r.apply(remove, now);
        let told = effects
            .iter()
            .position(|e| matches!(e, Effect::Send(ConnId(2), ServerMessage::Moderated { .. })));
        let left = effects.iter().position(|e| {
            matches!(e, Effect::Send(ConnId(1), ServerMessage::ParticipantLeft { .. }))
        });
        let closed = effects.iter().position(|e| *e == Effect::Close(ConnId(2)));
        assert!(told.is_some() && told < closed && closed < left, "{effects:?}");
    }

    fn resume(conn: u64, token: &str) -> Input<'_> {
        Input::Resume {
            conn: ConnId(conn),
            request_id: None,
            tenant: TenantId::DEFAULT,
            room: "rat",
            token,
            kept: Kept::default(),
        }
    }

    #[test]
    fn a_resume_closes_the_old_connection_and_no_seat_means_nothing() {
        let mut r = rooms(4);
        let now = at(Instant::now());
        let out = sends(&r.apply(join(1, "Anna"), now));
        let token = token_of(&out, 1);
        assert!(r.apply(resume(2, "not the token"), now).is_empty(), "no seat: join afresh");
        let effects = r.apply(resume(2, &token), now);
        assert!(matches!(
            effects.first(),
            Some(Effect::Log(Event::SeatResumed { replaced: Some(ConnId(1)), .. }))
        ));
        assert_eq!(effects.get(1), Some(&Effect::Close(ConnId(1))));
        assert!(
            effects
                .iter()
                .any(|e| matches!(e, Effect::Send(ConnId(2), ServerMessage::Welcome { .. })))
        );
    }

    #[test]
    fn a_draining_relay_refuses_newcomers_and_sends_them_on_but_lets_seats_be_taken_back() {
        let mut r = rooms(4);
        let now = at(Instant::now());
        let token = token_of(&sends(&r.apply(join(1, "Anna"), now)), 1);
        r.drain();
        let effects = r.apply(join(2, "Bruno"), now);
        assert!(
            matches!(
                effects.as_slice(),
                [
                    Effect::Refused { error: RoomError::ShuttingDown, .. },
                    Effect::Restart(ConnId(2))
                ]
            ),
            "{effects:?}"
        );
        let _ = r.apply(Input::Closed { conn: ConnId(1), for_good: false }, now);
        assert!(!r.apply(resume(3, &token), now).is_empty(), "Anna takes her seat back");
    }

    #[test]
    fn wrong_passwords_are_counted_and_then_not_even_looked_at() {
        let mut r = rooms(4);
        let now = at(Instant::now());
        let _ = r.apply(join(1, "Anna"), now);
        let set = Moderation::SetPassword { password: Some("geheim".into()) };
        let _ = r.apply(Input::Moderate { conn: ConnId(1), action: set }, now);
        let addr = Some(IpAddr::from([192, 0, 2, 7]));
        let attempt = |conn, password| Input::Join {
            conn: ConnId(conn),
            request_id: None,
            room: "rat",
            name: "Mallory",
            media: MediaState::default(),
            pass: Pass { password: Some(password), ..Pass::default() },
            addr,
        };
        let refused = |r: &mut Rooms, conn, password| -> Vec<RoomError> {
            r.apply(attempt(conn, password), now)
                .into_iter()
                .filter_map(|e| match e {
                    Effect::Refused { error, .. } => Some(error),
                    _ => None,
                })
                .collect()
        };
        // One connection: three tries, then its passwords are not even looked at.
        for _ in 0..3 {
            assert_eq!(refused(&mut r, 2, "falsch"), [RoomError::WrongPassword]);
        }
        assert_eq!(refused(&mut r, 2, "geheim"), [RoomError::TooManyAttempts]);
        // New connections from the same address: twenty wrong tries in all from there, then
        // not even the right password is looked at.
        for conn in 3..20 {
            assert_eq!(refused(&mut r, conn, "falsch"), [RoomError::WrongPassword], "{conn}");
        }
        assert_eq!(refused(&mut r, 20, "geheim"), [RoomError::TooManyAttempts]);
    }
}
