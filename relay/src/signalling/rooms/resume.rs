//! Seats kept for a broken connection, taken back with a token, and given up when the grace
//! period runs out.

use std::time::Instant;

use crate::{config::links::constant_time_eq, config::tenants::TenantId};
use protocol::{ParticipantId, RequestId, Role, RoomMode, ServerMessage};

use super::{ConnId, Outgoing, Rooms, Seat, media::MediaAction, rules::RoomKey};

/// What a page coming back on a new connection still holds (see [`Rooms::resume`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct Kept<'a> {
    /// Others in a mesh room whose media connection to it is still there.
    pub peers: &'a [ParticipantId],
    /// Its media connection to the relay (SFU rooms).
    pub relay: bool,
}

/// A seat taken back (see [`Rooms::resume`]).
#[derive(Debug)]
pub struct Resumed {
    /// Messages to send.
    pub out: Vec<Outgoing>,
    /// The participant.
    pub id: ParticipantId,
    /// The connection that held the seat until now, if it was still open (it is closed now).
    pub replaced: Option<ConnId>,
    /// The media connections stay (see [`Rooms::resume`]); in an SFU room, the relay keeps
    /// its end of the participant's connection.
    pub kept: bool,
}

/// Makes resume tokens: 128 random bits, hex.
pub(super) struct Tokens(std::sync::Arc<dyn rtc::crypto::RTCCryptoProvider>);

impl Tokens {
    pub(super) fn new() -> Option<Self> {
        rtc::crypto::default_provider().ok().map(Self)
    }

    pub(super) fn make(&self) -> Option<String> {
        let mut bytes = [0u8; 16];
        self.0.random().fill(&mut bytes).ok()?;
        Some(bytes.iter().map(|b| format!("{b:02x}")).collect())
    }
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tokens")
    }
}

impl Rooms {
    /// `conn` comes back to the seat `token` holds in `room`: after its connection broke, or
    /// before the relay noticed (then the old connection is replaced). `None` when no seat of
    /// that room has that token (it expired, or the relay restarted): join afresh.
    ///
    /// Media connections the page still holds stay where both ends still have them: in a mesh,
    /// each other member named in `kept.peers` hears `participant_reconnected` with `kept` and
    /// keeps its end (the rest connect afresh, the returner offering); in an SFU room the
    /// connection to the relay stays if the page asks and the media loop has not lost it
    /// ([`Resumed::kept`]).
    pub(super) fn resume(
        &mut self,
        conn: ConnId,
        request_id: Option<RequestId>,
        tenant: TenantId,
        room: &str,
        token: &str,
        kept: Kept<'_>,
    ) -> Option<Resumed> {
        if token.is_empty() || self.seats.contains_key(&conn) {
            return None;
        }
        let room_name = RoomKey { tenant, name: protocol::validate_room_name(room).ok()? };
        let fresh_token = self.tokens.as_ref().and_then(Tokens::make)?;
        let room = self.rooms.get_mut(&room_name)?;
        let id = room
            .members
            .values()
            .find(|m| constant_time_eq(m.token.as_bytes(), token.as_bytes()))
            .map(|m| m.info.id)?;
        let member = room.members.get_mut(&id)?;
        let old = std::mem::replace(&mut member.conn, conn);
        let replaced = self.seats.remove(&old).map(|_| old);
        member.away_until = None;
        member.info.away = false;
        member.token = fresh_token.clone();
        let kept_relay = kept.relay && !std::mem::take(&mut member.media_lost);
        let participant = member.info.clone();
        let mesh = room.mode == RoomMode::Mesh;
        // At most one entry per member is looked at: a long list costs the sender, not us.
        let kept_peers = &kept.peers[..kept.peers.len().min(room.members.len())];
        let mut out: Vec<Outgoing> = room
            .members
            .values()
            .filter(|m| m.info.id != id)
            .map(|m| {
                let kept = mesh && kept_peers.contains(&m.info.id);
                (
                    m.conn,
                    ServerMessage::ParticipantReconnected {
                        participant: participant.clone(),
                        kept,
                    },
                )
            })
            .collect();
        let ice_servers = self.ice.for_participant(id);
        let welcome_kept = if mesh { true } else { kept_relay };
        let welcome =
            room.welcome(request_id, &participant, ice_servers, Some(fresh_token), welcome_kept);
        out.push((conn, welcome));
        if participant.role == Role::Host {
            out.extend(room.lobby_for(conn));
        }
        if room.mode == RoomMode::Sfu {
            if welcome_kept {
                // Everyone's forwarding to and from it goes on untouched.
                self.media.push(MediaAction::Resumed { id });
            } else {
                // The browser builds a new media connection; the old one goes.
                self.media.push(MediaAction::Leave { id });
                self.media.extend(room.media_join(&room_name, id));
            }
        }
        self.seats.insert(conn, Seat { room: room_name, id });
        Some(Resumed { out, id, replaced, kept: welcome_kept })
    }

    /// `conn`'s connection broke (it did not leave). Its participant keeps the seat for the
    /// grace period, shown to the others as away, and may [`Rooms::resume`] it.
    pub(super) fn disconnect(&mut self, conn: ConnId, now: Instant) -> Vec<Outgoing> {
        // Nobody keeps a place in the lobby: they knock again when they are back.
        if self.limits.resume_grace.is_zero()
            || self.tokens.is_none()
            || self.lobby_seats.contains_key(&conn)
        {
            return self.leave(conn);
        }
        let Some(seat) = self.seats.remove(&conn) else {
            return Vec::new();
        };
        let Some(room) = self.rooms.get_mut(&seat.room) else {
            return Vec::new();
        };
        let Some(member) = room.members.get_mut(&seat.id) else {
            return Vec::new();
        };
        member.away_until = Some(now + self.limits.resume_grace);
        member.info.away = true;
        let participant = member.info.clone();
        room.members
            .values()
            .filter(|m| m.info.id != seat.id && !m.info.away)
            .map(|m| {
                (m.conn, ServerMessage::ParticipantUpdated { participant: participant.clone() })
            })
            .collect()
    }

    /// Ends the seats whose grace period is over: their participants leave for good.
    pub(super) fn expire(&mut self, now: Instant) -> Vec<Outgoing> {
        let mut out = Vec::new();
        let media = &mut self.media;
        self.rooms.retain(|_, room| {
            let gone: Vec<ParticipantId> = room
                .members
                .values()
                .filter(|m| m.away_until.is_some_and(|until| until <= now))
                .map(|m| m.info.id)
                .collect();
            for id in gone {
                let listener =
                    room.members.remove(&id).is_some_and(|m| m.info.role == Role::Listener);
                if room.mode == RoomMode::Sfu {
                    media.push(MediaAction::Leave { id });
                }
                out.extend(
                    room.members.values().map(|m| (m.conn, ServerMessage::ParticipantLeft { id })),
                );
                if listener {
                    out.extend(room.audience());
                }
            }
            out.extend(room.hand_on_hosting(media));
            !room.is_empty()
        });
        out
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::signalling::rooms::{testing::*, *};
    use std::time::Duration;

    #[test]
    pub(super) fn a_broken_connection_keeps_its_seat_and_comes_back_as_the_same_participant() {
        let mut r = rooms(3);
        let now = Instant::now();
        let anna = join(&mut r, 1, "rat", "Anna");
        join(&mut r, 2, "rat", "Bruno");
        r.hand(ConnId(1), true).unwrap();
        let token = token_of(&anna, 1);
        assert_eq!(token.len(), 32);

        // Anna's connection breaks: Bruno sees her away, not gone; her seat still counts.
        let out = r.disconnect(ConnId(1), now);
        assert!(
            matches!(&out[..], [(ConnId(2), ServerMessage::ParticipantUpdated { participant })]
            if participant.away && participant.name == "Anna"),
            "{out:?}"
        );
        r.take_media();
        assert!(r.expire(now + Duration::from_secs(29)).is_empty());
        assert_eq!(r.take_media(), [], "the relay keeps her media connection meanwhile");

        // A wrong token, or the right one for another room, gets no seat.
        assert!(
            r.resume(ConnId(3), None, TenantId::DEFAULT, "rat", "0000", Kept::default()).is_none()
        );
        assert!(
            r.resume(ConnId(3), None, TenantId::DEFAULT, "andere", &token, Kept::default())
                .is_none()
        );

        let back = r
            .resume(ConnId(3), None, TenantId::DEFAULT, "rat", &token, Kept::default())
            .expect("the seat");
        assert_eq!(back.id, ParticipantId(1));
        assert_eq!(back.replaced, None);
        let (you, others) = welcome_of(&back.out, 3);
        assert_eq!((you, others), (ParticipantId(1), vec!["Bruno".to_string()]));
        assert!(back.out.iter().any(|(c, m)| *c == ConnId(2)
            && matches!(m, ServerMessage::ParticipantReconnected { participant, kept: false }
                if !participant.away && participant.hand.is_some())));
        // The token was used up; the new one works next time.
        let fresh = token_of(&back.out, 3);
        assert_ne!(fresh, token);
        assert!(
            r.resume(ConnId(4), None, TenantId::DEFAULT, "rat", &token, Kept::default()).is_none()
        );
        // Anna speaks through her new connection.
        assert!(r.chat(ConnId(3), "wieder da", 0).is_ok());
        assert_eq!(r.chat(ConnId(1), "alt", 0), Err(RoomError::NotJoined));
    }

    #[test]
    pub(super) fn media_connections_the_returner_still_holds_stay_on_both_ends() {
        let mut r = rooms(5);
        let now = Instant::now();
        // A mesh room: Anna holds a connection to Bruno but (say) none to Cem.
        let anna = join(&mut r, 1, "treff", "Anna");
        join(&mut r, 2, "treff", "Bruno");
        join(&mut r, 3, "treff", "Cem");
        r.disconnect(ConnId(1), now);
        // She lists Bruno, and ids that are nobody here (a page can list anything).
        let peers = [ParticipantId(77), ParticipantId(2), ParticipantId(2)];
        let back = r
            .resume(
                ConnId(4),
                None,
                TenantId::DEFAULT,
                "treff",
                &token_of(&anna, 1),
                Kept { peers: &peers, relay: true },
            )
            .expect("the seat");
        assert!(back.kept && welcome_kept(&back.out, 4));
        assert!(reconnected_kept(&back.out, 2), "Bruno keeps his end");
        assert!(!reconnected_kept(&back.out, 3), "Cem starts afresh and waits for her offer");

        // An SFU room: the connection to the relay stays if she asks for it...
        let dana = join(&mut r, 5, "rat", "Dana");
        join(&mut r, 6, "rat", "Emil");
        r.disconnect(ConnId(5), now);
        let kept_relay = Kept { peers: &[], relay: true };
        let back = r
            .resume(ConnId(7), None, TenantId::DEFAULT, "rat", &token_of(&dana, 5), kept_relay)
            .expect("the seat");
        assert!(back.kept && welcome_kept(&back.out, 7));
        assert!(!reconnected_kept(&back.out, 6), "nobody else holds a connection to her");
        // ...and not if she does not,
        r.disconnect(ConnId(7), now);
        let back = r
            .resume(
                ConnId(8),
                None,
                TenantId::DEFAULT,
                "rat",
                &token_of(&back.out, 7),
                Kept::default(),
            )
            .expect("the seat");
        assert!(!back.kept && !welcome_kept(&back.out, 8));
        // ...nor once the media loop lost it, even if her page still thinks it has one.
        r.media_lost(ParticipantId(4));
        r.disconnect(ConnId(8), now);
        let token = token_of(&back.out, 8);
        let back = r
            .resume(ConnId(9), None, TenantId::DEFAULT, "rat", &token, kept_relay)
            .expect("the seat");
        assert!(!back.kept, "the relay's end is gone");
        // The loss counts once: the connection built after it can be kept.
        r.disconnect(ConnId(9), now);
        let token = token_of(&back.out, 9);
        let back = r
            .resume(ConnId(10), None, TenantId::DEFAULT, "rat", &token, kept_relay)
            .expect("the seat");
        assert!(back.kept);
    }

    #[test]
    pub(super) fn a_seat_nobody_comes_back_to_is_given_up_after_the_grace_period() {
        let mut r = rooms(3);
        let now = Instant::now();
        let anna = join(&mut r, 1, "rat", "Anna");
        join(&mut r, 2, "rat", "Bruno");
        r.disconnect(ConnId(1), now);
        r.take_media();
        let out = r.expire(now + Duration::from_secs(30));
        // Her media connection goes; Bruno, the new host, sees every camera.
        assert_eq!(
            r.take_media(),
            [
                MediaAction::Leave { id: ParticipantId(1) },
                MediaAction::Cameras { id: ParticipantId(2), private: false, sees_all: true }
            ]
        );
        assert_eq!(
            out[..1],
            [(ConnId(2), ServerMessage::ParticipantLeft { id: ParticipantId(1) })]
        );
        assert_eq!(roles(&out), [(2, ParticipantId(2), Role::Host)], "Bruno hosts now");
        assert!(
            r.resume(
                ConnId(3),
                None,
                TenantId::DEFAULT,
                "rat",
                &token_of(&anna, 1),
                Kept::default()
            )
            .is_none()
        );
        // A room whose last member's seat runs out closes.
        r.disconnect(ConnId(2), now);
        r.expire(now + Duration::from_secs(60));
        assert_eq!(r.room_count(), 0);
    }

    #[test]
    pub(super) fn a_new_connection_with_the_token_replaces_one_the_relay_still_thinks_alive() {
        let mut r = rooms(3);
        let anna = join(&mut r, 1, "demo", "Anna");
        let back = r
            .resume(
                ConnId(5),
                None,
                TenantId::DEFAULT,
                "demo",
                &token_of(&anna, 1),
                Kept::default(),
            )
            .expect("the seat");
        assert_eq!(back.replaced, Some(ConnId(1)));
        assert_eq!(r.participant_count(), 1);
        // The old connection ending later changes nothing.
        assert!(r.disconnect(ConnId(1), Instant::now()).is_empty());
        assert_eq!(r.participant_count(), 1);
    }

    #[test]
    pub(super) fn leaving_on_purpose_frees_the_seat_at_once() {
        let mut r = rooms(3);
        let anna = join(&mut r, 1, "demo", "Anna");
        join(&mut r, 2, "demo", "Bruno");
        let out = r.leave(ConnId(1));
        assert_eq!(
            out[..1],
            [(ConnId(2), ServerMessage::ParticipantLeft { id: ParticipantId(1) })]
        );
        assert_eq!(roles(&out), [(2, ParticipantId(2), Role::Host)], "Bruno hosts now");
        assert!(
            r.resume(
                ConnId(3),
                None,
                TenantId::DEFAULT,
                "demo",
                &token_of(&anna, 1),
                Kept::default()
            )
            .is_none()
        );
    }
}
