//! What hosts may do to a room and its people, and who hosts when a host leaves.

use protocol::{Moderation, ParticipantId, ParticipantInfo, Role, RoomMode, ServerMessage};

use super::{
    ConnId, MAX_REMOVED, Member, Outgoing, Room, RoomKey, Rooms, errors::RoomError,
    media::MediaAction,
};

impl Room {
    /// When an open room has no host left, hosting passes to whoever has been in it longest and is
    /// connected (listeners excepted; an away member only when nobody else can): a class or
    /// council keeps someone who can admit, mute and end the meeting. Returns the `updated`
    /// messages that tell everyone; the new host's camera rules go to `media`.
    pub(super) fn hand_on_hosting(&mut self, media: &mut Vec<MediaAction>) -> Vec<Outgoing> {
        if self.hosts_from_links || self.members.values().any(|m| m.info.role == Role::Host) {
            return Vec::new();
        }
        let eligible = |m: &&Member| m.info.role == Role::Participant;
        let next = self
            .members
            .values()
            .filter(eligible)
            .find(|m| !m.info.away)
            .or_else(|| self.members.values().find(eligible))
            .map(|m| m.info.id);
        let Some(member) = next.and_then(|id| self.members.get_mut(&id)) else {
            return Vec::new();
        };
        member.info.role = Role::Host;
        let participant = member.info.clone();
        let conn = member.conn;
        if self.mode == RoomMode::Sfu {
            media.extend(self.cameras(participant.id));
        }
        let mut out: Vec<Outgoing> = self
            .everyone()
            .map(|conn| {
                (conn, ServerMessage::ParticipantUpdated { participant: participant.clone() })
            })
            .collect();
        out.extend(self.lobby_for(conn));
        out.extend(self.listeners_for(conn));
        out
    }
}

impl Rooms {
    /// A host's `action`. Returns the messages to send and the connections that must leave the
    /// room (removed, or everyone when the meeting ends); the shell takes them out after the
    /// messages are on their way.
    pub(super) fn moderate(
        &mut self,
        conn: ConnId,
        action: Moderation,
    ) -> Result<Moderated, RoomError> {
        let seat = self.seats.get(&conn).ok_or(RoomError::NotJoined)?;
        let (room_name, by) = (seat.room.clone(), seat.id);
        let room = self.rooms.get(&room_name).ok_or(RoomError::NotJoined)?;
        if room.members.get(&by).map(|m| m.info.role) != Some(Role::Host) {
            return Err(RoomError::Forbidden);
        }
        match action {
            Moderation::Admit { .. }
            | Moderation::AdmitAll
            | Moderation::Deny { .. }
            | Moderation::Lobby { .. } => self.moderate_lobby(&room_name, by, action),
            Moderation::ListenerChat { .. }
            | Moderation::SetPassword { .. }
            | Moderation::CamerasToHosts { .. }
            | Moderation::Lock { .. }
            | Moderation::EndMeeting => self.moderate_room(&room_name, by, action),
            Moderation::MuteAll | Moderation::LowerAllHands => {
                self.moderate_everyone(&room_name, by, action)
            }
            Moderation::Mute { id }
            | Moderation::LockMicrophone { id, .. }
            | Moderation::CameraOff { id }
            | Moderation::StopScreen { id }
            | Moderation::LowerHand { id }
            | Moderation::MakeHost { id }
            | Moderation::RevokeHost { id }
            | Moderation::Remove { id } => self.moderate_member(&room_name, by, id, action),
        }
    }

    /// The lobby: letting people in, turning them away, turning the lobby on and off.
    fn moderate_lobby(
        &mut self,
        room_name: &RoomKey,
        by: ParticipantId,
        action: Moderation,
    ) -> Result<Moderated, RoomError> {
        let room = self.rooms.get_mut(room_name).ok_or(RoomError::NotJoined)?;
        match &action {
            Moderation::Admit { id } => {
                if !room.waiting.contains_key(id) {
                    return Err(RoomError::UnknownParticipant(*id));
                }
                Ok((self.admit(room_name, &[*id])?, Vec::new()))
            }
            Moderation::AdmitAll => {
                let ids: Vec<ParticipantId> = room.waiting.keys().copied().collect();
                Ok((self.admit(room_name, &ids)?, Vec::new()))
            }
            Moderation::Deny { id } => {
                let knock = room.waiting.get(id).ok_or(RoomError::UnknownParticipant(*id))?;
                let out =
                    vec![(knock.conn, ServerMessage::Moderated { action: action.clone(), by })];
                // Leaving takes them out of the lobby and tells the hosts.
                Ok((out, vec![knock.conn]))
            }
            Moderation::Lobby { on } => {
                room.lobby = *on;
                room.lobby_chosen = true;
                let mut out: Vec<Outgoing> = room
                    .everyone()
                    .map(|c| (c, ServerMessage::Moderated { action: action.clone(), by }))
                    .collect();
                // Turning the lobby off lets everyone waiting in.
                if !*on {
                    let ids: Vec<ParticipantId> = room.waiting.keys().copied().collect();
                    out.extend(self.admit(room_name, &ids).unwrap_or_default());
                }
                Ok((out, Vec::new()))
            }
            _ => Ok((Vec::new(), Vec::new())),
        }
    }

    /// The room's own settings: listeners' chat, the password, cameras to hosts, the lock, and
    /// ending the meeting.
    fn moderate_room(
        &mut self,
        room_name: &RoomKey,
        by: ParticipantId,
        action: Moderation,
    ) -> Result<Moderated, RoomError> {
        let room = self.rooms.get_mut(room_name).ok_or(RoomError::NotJoined)?;
        match &action {
            Moderation::ListenerChat { allowed } => {
                room.listener_chat = *allowed;
                let out = room
                    .everyone()
                    .map(|c| (c, ServerMessage::Moderated { action: action.clone(), by }))
                    .collect();
                Ok((out, Vec::new()))
            }
            Moderation::SetPassword { password } => {
                let password = password.as_deref().map(str::trim).filter(|p| !p.is_empty());
                if password.is_some_and(|p| p.chars().count() > protocol::MAX_PASSWORD_CHARS) {
                    return Err(RoomError::PasswordTooLong);
                }
                room.password = password.map(str::to_owned);
                // Only hosts learn it (with the password, so co-hosts can pass it on).
                let told = Moderation::SetPassword { password: room.password.clone() };
                let out = room
                    .members
                    .values()
                    .filter(|m| m.info.role == Role::Host)
                    .map(|m| (m.conn, ServerMessage::Moderated { action: told.clone(), by }))
                    .collect();
                Ok((out, Vec::new()))
            }
            Moderation::CamerasToHosts { on } => {
                room.cameras_to_hosts = *on;
                let mut out: Vec<Outgoing> = room
                    .everyone()
                    .map(|c| (c, ServerMessage::Moderated { action: action.clone(), by }))
                    .collect();
                // Enforced by not forwarding, which a mesh cannot do: the room moves to server
                // forwarding, for good.
                if *on && room.mode == RoomMode::Mesh {
                    room.mode = RoomMode::Sfu;
                    out.extend(
                        room.everyone()
                            .map(|c| (c, ServerMessage::ModeChanged { mode: RoomMode::Sfu })),
                    );
                    self.media.extend(room.media_joins(room_name));
                } else if room.mode == RoomMode::Sfu {
                    // Those away keep their media connection while their seat waits.
                    let ids = room.members.keys();
                    self.media.extend(ids.filter_map(|id| room.cameras(*id)));
                }
                Ok((out, Vec::new()))
            }
            Moderation::Lock { locked } => {
                room.locked = *locked;
                let out = room.members.values().map(|m| told(m, &action, by)).collect();
                Ok((out, Vec::new()))
            }
            Moderation::EndMeeting => {
                let everyone: Vec<ConnId> =
                    room.everyone().chain(room.waiting.values().map(|k| k.conn)).collect();
                let out = everyone
                    .iter()
                    .map(|c| (*c, ServerMessage::Moderated { action: action.clone(), by }))
                    .collect();
                Ok((out, everyone))
            }
            _ => Ok((Vec::new(), Vec::new())),
        }
    }

    /// What a host does to everyone at once: mute all, lower all hands.
    fn moderate_everyone(
        &mut self,
        room_name: &RoomKey,
        by: ParticipantId,
        action: Moderation,
    ) -> Result<Moderated, RoomError> {
        let room = self.rooms.get_mut(room_name).ok_or(RoomError::NotJoined)?;
        match &action {
            Moderation::MuteAll => {
                let mut out = Vec::new();
                let mut changed = Vec::new();
                for m in room.members.values_mut() {
                    if m.info.role != Role::Host && m.info.media.audio {
                        m.info.media.audio = false;
                        let mute = Moderation::Mute { id: m.info.id };
                        out.push(told(m, &mute, by));
                        changed.push(m.info.clone());
                    }
                }
                out.extend(updated_to_everyone(room, changed));
                Ok((out, Vec::new()))
            }
            Moderation::LowerAllHands => {
                let mut changed = Vec::new();
                for m in room.members.values_mut() {
                    if m.info.hand.take().is_some() {
                        changed.push(m.info.clone());
                    }
                }
                Ok((updated_to_everyone(room, changed), Vec::new()))
            }
            _ => Ok((Vec::new(), Vec::new())),
        }
    }

    /// What a host does to one member (`target`): mute, lock the microphone, camera off, stop
    /// the screen, lower the hand, make or revoke host, remove.
    fn moderate_member(
        &mut self,
        room_name: &RoomKey,
        by: ParticipantId,
        target: ParticipantId,
        action: Moderation,
    ) -> Result<Moderated, RoomError> {
        let room = self.rooms.get_mut(room_name).ok_or(RoomError::NotJoined)?;
        let by_link_holder = room.members.get(&by).is_some_and(|m| m.info.host_link);
        let member = room.members.get_mut(&target).ok_or(RoomError::UnknownParticipant(target))?;
        let mut out = Vec::new();
        match &action {
            // Hosting given in the meeting does not reach the holders of the room's host link:
            // a pupil made host cannot put the teacher out.
            Moderation::Remove { .. } if member.info.host_link && !by_link_holder => {
                return Err(RoomError::Forbidden);
            }
            Moderation::Remove { .. } => {
                let out = vec![told(member, &action, by)];
                let conn = member.conn;
                if let Some(device) = member.device.clone()
                    && room.removed.len() < MAX_REMOVED
                {
                    room.removed.insert(device);
                }
                return Ok((out, vec![conn]));
            }
            Moderation::Mute { .. } => {
                out.push(told(member, &action, by));
                member.info.media.audio = false;
            }
            Moderation::LockMicrophone { locked, .. } => {
                out.push(told(member, &action, by));
                member.info.mic_locked = *locked;
                if *locked {
                    member.info.media.audio = false;
                }
            }
            Moderation::CameraOff { .. } => {
                out.push(told(member, &action, by));
                member.info.media.video = false;
            }
            Moderation::StopScreen { .. } => {
                out.push(told(member, &action, by));
                member.info.media.screen = false;
            }
            Moderation::LowerHand { .. } => member.info.hand = None,
            // A listener stays one: hosting would show them to everyone.
            Moderation::MakeHost { .. } if member.info.role == Role::Listener => {
                return Err(RoomError::Forbidden);
            }
            Moderation::MakeHost { .. } => member.info.role = Role::Host,
            // Nobody demotes themselves (a room keeps a host) or the holder of the host link.
            Moderation::RevokeHost { .. }
                if target == by || member.info.role != Role::Host || member.info.host_link =>
            {
                return Err(RoomError::Forbidden);
            }
            Moderation::RevokeHost { .. } => member.info.role = Role::Participant,
            Moderation::EndMeeting
            | Moderation::Lock { .. }
            | Moderation::MuteAll
            | Moderation::LowerAllHands
            | Moderation::Lobby { .. }
            | Moderation::Admit { .. }
            | Moderation::Deny { .. }
            | Moderation::AdmitAll
            | Moderation::SetPassword { .. }
            | Moderation::ListenerChat { .. }
            | Moderation::CamerasToHosts { .. } => {}
        }
        let participant = member.info.clone();
        let target_conn = member.conn;
        out.extend(updated_to_everyone(room, vec![participant]));
        // A new host sees who waits.
        if matches!(action, Moderation::MakeHost { .. }) {
            out.extend(room.lobby_for(target_conn));
            out.extend(room.listeners_for(target_conn));
        }
        // A former host no longer sees who waits or who listens.
        if matches!(action, Moderation::RevokeHost { .. }) {
            if !room.waiting.is_empty() {
                out.push((target_conn, ServerMessage::Lobby { waiting: Vec::new() }));
            }
            out.extend(
                room.members
                    .values()
                    .filter(|m| m.info.role == Role::Listener)
                    .map(|m| (target_conn, ServerMessage::ParticipantLeft { id: m.info.id })),
            );
        }
        // A locked microphone is enforced by not forwarding its sound, which a mesh cannot do:
        // the room moves to server forwarding, for good, as when it grows.
        if matches!(action, Moderation::LockMicrophone { locked: true, .. })
            && room.mode == RoomMode::Mesh
        {
            room.mode = RoomMode::Sfu;
            out.extend(
                room.everyone().map(|c| (c, ServerMessage::ModeChanged { mode: RoomMode::Sfu })),
            );
            self.media.extend(room.media_joins(room_name));
        } else if room.mode == RoomMode::Sfu {
            match action {
                Moderation::LockMicrophone { locked, .. } => {
                    self.media.push(MediaAction::Silence { id: target, silenced: locked });
                }
                Moderation::MakeHost { .. } | Moderation::RevokeHost { .. } => {
                    self.media.extend(room.cameras(target));
                }
                _ => {}
            }
        }
        Ok((out, Vec::new()))
    }
}

/// What `moderate` returns: the messages to send, and the connections that must leave.
pub type Moderated = (Vec<Outgoing>, Vec<ConnId>);

/// `action` by `by`, told to `target`.
fn told(target: &Member, action: &Moderation, by: ParticipantId) -> Outgoing {
    (target.conn, ServerMessage::Moderated { action: action.clone(), by })
}

/// Everyone in `room` learns how each of `changed` is now.
fn updated_to_everyone(room: &Room, changed: Vec<ParticipantInfo>) -> Vec<Outgoing> {
    changed
        .into_iter()
        .flat_map(|participant| {
            room.everyone().map(move |c| {
                (c, ServerMessage::ParticipantUpdated { participant: participant.clone() })
            })
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::config::tenants::TenantId;
    use crate::signalling::rooms::{testing::*, *};
    use protocol::ErrorCode;
    use protocol::MediaState;
    use std::time::Instant;

    #[test]
    pub(super) fn when_the_host_leaves_hosting_passes_to_whoever_came_first() {
        let mut r = rooms(10);
        join(&mut r, 1, "klasse", "Lehrerin");
        join(&mut r, 2, "klasse", "Ali");
        join(&mut r, 3, "klasse", "Bea");
        let out = r.leave(ConnId(1));
        let ali = ParticipantId(2);
        assert_eq!(roles(&out), vec![(2, ali, Role::Host), (3, ali, Role::Host)]);
        // Ali hosts now; Bea leaving changes nothing about that.
        assert!(roles(&r.leave(ConnId(3))).is_empty());
    }

    #[test]
    pub(super) fn where_hosts_come_from_links_hosting_never_passes_to_a_pupil_by_itself() {
        let (mut r, join) = class_with_links();
        join(&mut r, 1, "Lehrerin", Role::Host);
        join(&mut r, 2, "Ali", Role::Participant);
        join(&mut r, 3, "Bea", Role::Participant);
        // The teacher's connection drops for good: nobody is made host.
        let out = r.leave(ConnId(1));
        assert!(roles(&out).is_empty(), "no pupil hosts: {out:?}");
        let bea = ParticipantId(3);
        assert_eq!(
            r.moderate(ConnId(3), Moderation::Mute { id: ParticipantId(2) }).unwrap_err(),
            RoomError::Forbidden
        );
        // She comes back with her link and hosts again; the pupils still do not.
        join(&mut r, 4, "Lehrerin", Role::Host);
        assert!(r.moderate(ConnId(4), Moderation::Mute { id: bea }).is_ok());
        assert_eq!(
            r.moderate(ConnId(3), Moderation::Mute { id: ParticipantId(2) }).unwrap_err(),
            RoomError::Forbidden
        );
    }

    #[test]
    pub(super) fn a_host_hands_hosting_to_someone_and_takes_it_back_but_not_from_the_link_holder() {
        let (mut r, join) = class_with_links();
        join(&mut r, 1, "Lehrerin", Role::Host);
        join(&mut r, 2, "Referendar", Role::Host);
        join(&mut r, 3, "Ali", Role::Participant);
        join(&mut r, 4, "Zuhörer", Role::Listener);
        let (teacher, trainee, ali, listener) =
            (ParticipantId(1), ParticipantId(2), ParticipantId(3), ParticipantId(4));

        // Ali is given hosting for a group task, and it is taken back: everyone sees both, and
        // Ali no longer sees the listener he learnt of as host.
        let (out, _) = r.moderate(ConnId(1), Moderation::MakeHost { id: ali }).unwrap();
        assert!(roles(&out).iter().all(|(_, id, role)| *id == ali && *role == Role::Host));
        assert!(out.iter().any(|(c, m)| *c == ConnId(3)
            && matches!(m, ServerMessage::ParticipantJoined { participant } if participant.id == listener)));
        let (out, _) = r.moderate(ConnId(2), Moderation::RevokeHost { id: ali }).unwrap();
        assert_eq!(roles(&out).len(), 4, "told to everyone, the listener too: {out:?}");
        assert!(roles(&out).iter().all(|(_, id, role)| *id == ali && *role == Role::Participant));
        assert!(out.iter().any(|(c, m)| *c == ConnId(3)
            && matches!(m, ServerMessage::ParticipantLeft { id } if *id == listener)));
        assert_eq!(
            r.moderate(ConnId(3), Moderation::Mute { id: trainee }).unwrap_err(),
            RoomError::Forbidden,
            "Ali moderates no more"
        );

        // Whoever came with a host link stays host: nobody takes it from the teacher or the
        // trainee, not even themselves, and a participant cannot be "revoked".
        for (by, whom) in [(2, teacher), (1, trainee), (1, teacher), (1, ali), (3, teacher)] {
            assert_eq!(
                r.moderate(ConnId(by), Moderation::RevokeHost { id: whom }).unwrap_err(),
                RoomError::Forbidden,
                "{by} revoking {whom}"
            );
        }

        // Nor can someone given hosting in the meeting put a link holder out; a link holder can.
        r.moderate(ConnId(1), Moderation::MakeHost { id: ali }).unwrap();
        assert_eq!(
            r.moderate(ConnId(3), Moderation::Remove { id: teacher }).unwrap_err(),
            RoomError::Forbidden
        );
        let (_, closed) = r.moderate(ConnId(1), Moderation::Remove { id: trainee }).unwrap();
        assert_eq!(closed, vec![ConnId(2)]);
    }

    #[test]
    pub(super) fn whoever_takes_over_hosting_sees_who_waits_and_a_locked_room_takes_no_knocks() {
        let mut r = rooms(10);
        join(&mut r, 1, "klasse", "Lehrerin");
        join(&mut r, 2, "klasse", "Ali");
        r.moderate(ConnId(1), Moderation::Lobby { on: true }).expect("host sets the lobby");
        let out = join(&mut r, 3, "klasse", "Bea");
        assert!(matches!(
            out.iter().find(|(c, _)| *c == ConnId(3)),
            Some((_, ServerMessage::Waiting { .. }))
        ));
        assert_eq!(lobby_of(&out, 1), Some(vec!["Bea".into()]));
        assert_eq!(lobby_of(&out, 2), None, "participants do not see the lobby");
        assert_eq!(r.participant_count(), 2, "Bea is not in the room");
        // The host leaves: Ali hosts now, and is shown who waits.
        let out = r.leave(ConnId(1));
        assert_eq!(lobby_of(&out, 2), Some(vec!["Bea".into()]));
        // Locked: not even the lobby takes newcomers.
        r.moderate(ConnId(2), Moderation::Lock { locked: true }).expect("host locks");
        let knock =
            r.join(ConnId(4), None, "klasse", "Cem", MediaState::default(), Pass::default(), UNIX);
        assert_eq!(knock.unwrap_err(), RoomError::Locked);
        // Everyone in it leaves; the room lasts while someone waits, and then is gone.
        r.leave(ConnId(2));
        assert_eq!(r.room_count(), 1);
        r.leave(ConnId(3));
        assert_eq!(r.room_count(), 0);
    }

    #[test]
    pub(super) fn hosting_skips_someone_whose_connection_is_broken() {
        let mut r = rooms(10);
        let start = Instant::now();
        join(&mut r, 1, "klasse", "Lehrerin");
        join(&mut r, 2, "klasse", "Ali");
        join(&mut r, 3, "klasse", "Bea");
        r.disconnect(ConnId(2), start);
        let out = r.leave(ConnId(1));
        assert_eq!(
            roles(&out).iter().map(|(_, id, _)| *id).collect::<Vec<_>>(),
            [ParticipantId(3); 2]
        );
    }

    #[test]
    pub(super) fn removed_browsers_are_remembered_up_to_a_bound() {
        let mut r = rooms(1000);
        join(&mut r, 1, "k", "Host");
        let join_device = |r: &mut Rooms, conn: u64, device: &str| {
            let pass = Pass { device: Some(device), ..Pass::default() };
            r.join(ConnId(conn), None, "k", "Pupil", MediaState::default(), pass, UNIX)
        };
        for n in 0..(MAX_REMOVED as u64 + 44) {
            let device = format!("device-{n:012}");
            let id = welcome_of(&join_device(&mut r, 100 + n, &device).expect("joins"), 100 + n).0;
            let (_, leaving) =
                r.moderate(ConnId(1), Moderation::Remove { id }).expect("the host may remove");
            assert_eq!(leaving, vec![ConnId(100 + n)]);
            r.leave(ConnId(100 + n));
        }
        assert_eq!(
            r.rooms
                .get(&RoomKey { tenant: TenantId::DEFAULT, name: "k".into() })
                .map(|room| room.removed.len()),
            Some(MAX_REMOVED)
        );
        assert_eq!(
            join_device(&mut r, 9_000, "device-000000000000").map_err(|e| e.code()),
            Err(ErrorCode::Removed)
        );
        // Malformed ids are not remembered, and do not keep anyone out.
        for bad in ["short", "with space 0123456789", &"x".repeat(65)] {
            assert!(Pass { device: Some(bad), ..Pass::default() }.device().is_none(), "{bad}");
        }
    }
}
