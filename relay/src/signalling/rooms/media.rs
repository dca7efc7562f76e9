//! Media: signals between members, their microphone and camera states, and what the media
//! loop must do for rooms whose media the relay forwards.

use protocol::{MediaState, ParticipantId, Role, ServerMessage, Signal};

use super::{ConnId, Outgoing, Room, Rooms, errors::RoomError, rules::RoomKey};

/// What the media loop must do after a change in a room whose media the relay forwards.
/// [`Rooms`] queues these as it decides them, and hands them out as the first effects of the
/// same step ([`super::Effect::Media`]), before its messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaAction {
    /// `id` gets a media connection at the relay, in `room`, under `rules`: it entered a room
    /// that forwards media, its room moved to server forwarding, or it came back without its
    /// old connection.
    Join {
        /// Who.
        id: ParticipantId,
        /// Their room.
        room: RoomKey,
        /// What the loop enforces for them from the start.
        rules: MediaRules,
    },
    /// `id`'s media connection goes: it left, was removed, or its seat ran out.
    Leave {
        /// Who.
        id: ParticipantId,
    },
    /// `id` came back and keeps its media connection; an offer lost meanwhile goes again.
    Resumed {
        /// Who.
        id: ParticipantId,
    },
    /// A host locked `id`'s microphone (its sound is dropped) or unlocked it.
    Silence {
        /// Who.
        id: ParticipantId,
        /// Dropped from now on.
        silenced: bool,
    },
    /// Whose camera `id` may send to whom and see changed: cameras went to the hosts only or
    /// back to everyone, or `id` became a host.
    Cameras {
        /// Who.
        id: ParticipantId,
        /// Their camera reaches hosts only.
        private: bool,
        /// They see every camera.
        sees_all: bool,
    },
}

/// What the media loop enforces for one participant (see [`MediaAction::Join`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MediaRules {
    /// A host locked their microphone: their sound is dropped.
    pub silenced: bool,
    /// A listener: nothing they send is forwarded.
    pub receive_only: bool,
    /// Their camera reaches hosts only (the room's cameras go to the hosts).
    pub private: bool,
    /// They see every camera (a host, or a room without that rule).
    pub sees_all: bool,
}

impl Room {
    /// What the media loop enforces for member `id`. In a room whose cameras go to the hosts
    /// only, a participant's camera is private (it reaches hosts only) and only hosts see every
    /// camera.
    pub(super) fn media_rules(&self, id: ParticipantId) -> Option<MediaRules> {
        let info = &self.members.get(&id)?.info;
        let host = info.role == Role::Host;
        let restricted = self.cameras_to_hosts;
        Some(MediaRules {
            silenced: info.mic_locked,
            receive_only: info.role == Role::Listener,
            private: restricted && !host,
            sees_all: !restricted || host,
        })
    }

    /// A media connection at the relay for member `id` of this room, called `key`.
    pub(super) fn media_join(&self, key: &RoomKey, id: ParticipantId) -> Option<MediaAction> {
        Some(MediaAction::Join { id, room: key.clone(), rules: self.media_rules(id)? })
    }

    /// A media connection for each connected member: the room just moved to server forwarding.
    /// Those away get theirs when they come back.
    pub(super) fn media_joins(&self, key: &RoomKey) -> Vec<MediaAction> {
        let present = self.members.values().filter(|m| !m.info.away);
        present.filter_map(|m| self.media_join(key, m.info.id)).collect()
    }

    /// The camera rules of member `id`, for the media loop: after they changed.
    pub(super) fn cameras(&self, id: ParticipantId) -> Option<MediaAction> {
        let MediaRules { private, sees_all, .. } = self.media_rules(id)?;
        Some(MediaAction::Cameras { id, private, sees_all })
    }
}

impl Rooms {
    /// `conn` sends a negotiation message to participant `to`, who must share its room.
    pub(super) fn signal(
        &mut self,
        conn: ConnId,
        to: ParticipantId,
        signal: Signal,
    ) -> Result<Vec<Outgoing>, RoomError> {
        let seat = self.seats.get(&conn).ok_or(RoomError::NotJoined)?;
        let room = self.rooms.get(&seat.room).ok_or(RoomError::NotJoined)?;
        match room.members.get(&to) {
            Some(target) if to != seat.id => {
                Ok(vec![(target.conn, ServerMessage::Signal { from: seat.id, signal })])
            }
            _ => Err(RoomError::UnknownParticipant(to)),
        }
    }

    /// `conn` switched its microphone or camera; everyone else in the room hears of it.
    pub(super) fn update_media(
        &mut self,
        conn: ConnId,
        media: MediaState,
    ) -> Result<Vec<Outgoing>, RoomError> {
        let seat = self.seats.get(&conn).ok_or(RoomError::NotJoined)?;
        let room = self.rooms.get_mut(&seat.room).ok_or(RoomError::NotJoined)?;
        let member = room.members.get_mut(&seat.id).ok_or(RoomError::NotJoined)?;
        if member.info.media == media {
            return Ok(Vec::new());
        }
        if member.info.mic_locked && media.audio {
            return Err(RoomError::MicrophoneLocked);
        }
        if member.info.role == Role::Listener && (media.audio || media.video || media.screen) {
            return Err(RoomError::Forbidden);
        }
        member.info.media = media;
        let participant = member.info.clone();
        Ok(room
            .members
            .values()
            .filter(|m| m.conn != conn)
            .map(|m| {
                (m.conn, ServerMessage::ParticipantUpdated { participant: participant.clone() })
            })
            .collect())
    }

    /// The media loop lost participant `id`'s connection to the relay (it restarted): a resume
    /// of that seat builds a new one.
    pub fn media_lost(&mut self, id: ParticipantId) {
        for room in self.rooms.values_mut() {
            if let Some(member) = room.members.get_mut(&id) {
                member.media_lost = true;
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::config::links::LinkKeys;
    use crate::config::tenants::TenantId;
    use crate::signalling::rooms::{testing::*, *};
    use protocol::Moderation;
    use protocol::RoomMode;
    use std::time::Duration;
    use std::time::Instant;

    #[test]
    pub(super) fn signals_stay_inside_a_room() {
        let mut r = rooms(4);
        let a = welcome_of(&join(&mut r, 1, "one", "A"), 1).0;
        let b = welcome_of(&join(&mut r, 2, "one", "B"), 2).0;
        let c = welcome_of(&join(&mut r, 3, "two", "C"), 3).0;
        let offer = Signal::Offer { sdp: "v=0".into() };

        let out = r.signal(ConnId(1), b, offer.clone()).expect("same room");
        assert_eq!(
            out,
            vec![(ConnId(2), ServerMessage::Signal { from: a, signal: offer.clone() })]
        );
        assert_eq!(r.signal(ConnId(1), c, offer.clone()), Err(RoomError::UnknownParticipant(c)));
        assert_eq!(r.signal(ConnId(1), a, offer.clone()), Err(RoomError::UnknownParticipant(a)));
        assert_eq!(r.signal(ConnId(9), a, offer), Err(RoomError::NotJoined));
    }

    #[test]
    pub(super) fn media_updates_reach_the_others_only() {
        let mut r = rooms(4);
        join(&mut r, 1, "m", "A");
        join(&mut r, 2, "m", "B");
        join(&mut r, 3, "m", "C");
        let muted = MediaState { audio: false, video: true, screen: false };
        let out = r.update_media(ConnId(1), muted).expect("joined");
        let to: Vec<_> = out.iter().map(|(c, _)| c.0).collect();
        assert_eq!(to, vec![2, 3]);
        assert!(out.iter().all(|(_, m)| matches!(m,
            ServerMessage::ParticipantUpdated { participant } if participant.media == muted)));
        assert!(r.update_media(ConnId(1), muted).expect("joined").is_empty(), "no-op is silent");
    }

    #[test]
    pub(super) fn pinned_rooms_use_server_forwarding_and_their_own_capacity() {
        let mut r = rooms(10);
        let mode_of = |out: &[Outgoing]| {
            out.iter()
                .find_map(|(_, m)| match m {
                    ServerMessage::Welcome { mode, .. } => Some(*mode),
                    _ => None,
                })
                .expect("welcome")
        };
        assert_eq!(mode_of(&join(&mut r, 1, "Klasse-7b", "A")), RoomMode::Sfu);
        assert_eq!(mode_of(&join(&mut r, 2, "rat", "B")), RoomMode::Sfu);
        for conn in 3..=5 {
            join(&mut r, conn, "klasse-7b", "S");
        }
        assert_eq!(
            r.seat(ConnId(5)).map(|(_, room, mode)| (room.to_string(), mode)),
            Some(("klasse-7b".into(), RoomMode::Sfu))
        );
        assert_eq!(r.conn_of(ParticipantId(1)), Some(ConnId(1)));
        let limits = RoomLimits {
            capacity: 4,
            max_rooms: 1,
            mesh_threshold: None,
            sfu_rooms: vec!["rat".into()],
            resume_grace: Duration::ZERO,
        };
        assert_eq!(limits.mode_for("ratssaal"), RoomMode::Mesh, "exact names match exactly");
        assert_eq!(limits.mode_for("demo"), RoomMode::Mesh);
    }

    #[test]
    pub(super) fn a_mesh_that_grows_past_the_threshold_switches_for_good() {
        let mut r = limited(Some(2), &[], Duration::ZERO);
        join(&mut r, 1, "wachsend", "A");
        let out = join(&mut r, 2, "wachsend", "B");
        assert!(!out.iter().any(|(_, m)| matches!(m, ServerMessage::ModeChanged { .. })));
        let out = join(&mut r, 3, "wachsend", "C");
        let switched: Vec<u64> = out
            .iter()
            .filter(|(_, m)| matches!(m, ServerMessage::ModeChanged { mode: RoomMode::Sfu }))
            .map(|(c, _)| c.0)
            .collect();
        assert_eq!(switched, [1, 2], "the members already there move over");
        // Before they hear of the newcomer, so that they open no direct connection to C.
        for member in [1, 2] {
            let told: Vec<&ServerMessage> =
                out.iter().filter(|(c, _)| c.0 == member).map(|(_, m)| m).collect();
            assert!(
                matches!(
                    told.as_slice(),
                    [
                        ServerMessage::ModeChanged { .. },
                        ServerMessage::ParticipantJoined { .. },
                        ..
                    ]
                ),
                "{member}: {told:?}"
            );
        }
        assert!(out.iter().any(|(c, m)| *c == ConnId(3)
            && matches!(m, ServerMessage::Welcome { mode: RoomMode::Sfu, .. })));
        // Shrinking does not switch back: no flapping while people come and go.
        r.leave(ConnId(3));
        r.leave(ConnId(2));
        assert_eq!(r.seat(ConnId(1)).map(|s| s.2), Some(RoomMode::Sfu));
    }

    #[test]
    pub(super) fn each_member_of_a_forwarded_room_has_a_media_connection_while_it_is_there() {
        let mut r = rooms(4);
        join(&mut r, 1, "demo", "Anna");
        join(&mut r, 2, "demo", "Bruno");
        r.leave(ConnId(2));
        assert_eq!(r.take_media(), [], "a mesh needs nothing of the media loop");

        join(&mut r, 3, "rat", "Cleo");
        join(&mut r, 4, "rat", "Dora");
        assert_eq!(r.take_media(), [media_join("rat", 3, OPEN), media_join("rat", 4, OPEN)]);
        r.leave(ConnId(4));
        assert_eq!(r.take_media(), [MediaAction::Leave { id: ParticipantId(4) }]);
        // The last one out closes the room, and still takes the media connection along.
        r.leave(ConnId(3));
        assert_eq!(r.take_media(), [MediaAction::Leave { id: ParticipantId(3) }]);
        assert_eq!(r.take_media(), [], "taken once");
    }

    #[test]
    pub(super) fn a_switch_connects_everyone_present_and_whoever_was_away_when_they_return() {
        let mut r = limited(Some(2), &[], Duration::from_secs(30));
        join(&mut r, 1, "wachsend", "A");
        let bruno = join(&mut r, 2, "wachsend", "B");
        r.disconnect(ConnId(2), Instant::now());
        join(&mut r, 3, "wachsend", "C");
        assert_eq!(
            r.take_media(),
            [media_join("wachsend", 1, OPEN), media_join("wachsend", 3, OPEN)],
            "B's page is not there to connect"
        );
        // B comes back from the mesh with no connection to the relay: it gets one now.
        let back = r
            .resume(
                ConnId(4),
                None,
                TenantId::DEFAULT,
                "wachsend",
                &token_of(&bruno, 2),
                Kept::default(),
            )
            .expect("the seat");
        assert!(!back.kept);
        assert_eq!(
            r.take_media(),
            [MediaAction::Leave { id: ParticipantId(2) }, media_join("wachsend", 2, OPEN)]
        );
    }

    #[test]
    pub(super) fn a_hosts_rules_reach_the_media_loop() {
        let mut r = rooms(4);
        join(&mut r, 1, "rat", "Anna");
        join(&mut r, 2, "rat", "Bruno");
        join(&mut r, 3, "rat", "Cleo");
        // Cleo is away; the relay keeps her media connection, so her rules still count.
        r.disconnect(ConnId(3), Instant::now());
        r.take_media();
        let (bruno, cleo) = (ParticipantId(2), ParticipantId(3));

        r.moderate(ConnId(1), Moderation::LockMicrophone { id: bruno, locked: true }).unwrap();
        assert_eq!(r.take_media(), [MediaAction::Silence { id: bruno, silenced: true }]);
        r.moderate(ConnId(1), Moderation::CamerasToHosts { on: true }).unwrap();
        assert_eq!(
            r.take_media(),
            [
                MediaAction::Cameras { id: ParticipantId(1), private: false, sees_all: true },
                MediaAction::Cameras { id: bruno, private: true, sees_all: false },
                MediaAction::Cameras { id: cleo, private: true, sees_all: false },
            ]
        );
        r.moderate(ConnId(1), Moderation::MakeHost { id: bruno }).unwrap();
        assert_eq!(
            r.take_media(),
            [MediaAction::Cameras { id: bruno, private: false, sees_all: true }]
        );
        r.moderate(ConnId(1), Moderation::LockMicrophone { id: bruno, locked: false }).unwrap();
        assert_eq!(r.take_media(), [MediaAction::Silence { id: bruno, silenced: false }]);

        // A lock moves a mesh to server forwarding: the new media connections carry it.
        join(&mut r, 4, "demo", "Dora");
        join(&mut r, 5, "demo", "Emil");
        r.moderate(ConnId(4), Moderation::LockMicrophone { id: ParticipantId(5), locked: true })
            .unwrap();
        assert_eq!(
            r.take_media(),
            [
                media_join("demo", 4, OPEN),
                media_join("demo", 5, MediaRules { silenced: true, ..OPEN })
            ]
        );
    }

    #[test]
    pub(super) fn without_a_grace_period_a_broken_connection_takes_its_media_connection_along() {
        let mut r = limited(None, &["rat"], Duration::ZERO);
        join(&mut r, 1, "rat", "Anna");
        join(&mut r, 2, "rat", "Bruno");
        r.take_media();
        r.disconnect(ConnId(2), Instant::now());
        assert_eq!(r.take_media(), [MediaAction::Leave { id: ParticipantId(2) }]);
    }

    #[test]
    pub(super) fn listeners_receive_only_and_the_lobby_gets_no_media_until_let_in() {
        let secret = b"lobby-and-listeners-secret";
        let keys = LinkKeys::new(secret, None);
        let mut r = rooms(4).with_links(LinkKeys::new(secret, None));
        let link = |role, lobby| {
            keys.sign(&crate::config::links::Grant {
                room: "rat".into(),
                role,
                expires: UNIX + 60,
                lobby,
            })
        };
        let mut join_with = |conn: u64, link: &str| {
            let pass = Pass { link: Some(link), ..Pass::default() };
            r.join(ConnId(conn), None, "rat", "P", MediaState::default(), pass, UNIX).unwrap();
            r.take_media()
        };
        assert_eq!(join_with(1, &link(Role::Host, false)), [media_join("rat", 1, OPEN)]);
        assert_eq!(
            join_with(2, &link(Role::Listener, false)),
            [media_join("rat", 2, MediaRules { receive_only: true, ..OPEN })]
        );
        assert_eq!(join_with(3, &link(Role::Participant, true)), [], "waits in the lobby");
        r.moderate(ConnId(1), Moderation::Admit { id: ParticipantId(3) }).unwrap();
        assert_eq!(r.take_media(), [media_join("rat", 3, OPEN)]);
    }
}
