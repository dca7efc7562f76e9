//! Joining a room (straight in, into the lobby, or admitted from it) and leaving it.

use crate::config::links::constant_time_eq;
use protocol::{
    MediaState, ParticipantId, ParticipantInfo, RequestId, Role, RoomMode, ServerMessage,
};

use super::{
    ConnId, Member, Outgoing, Pass, Room, Rooms, Seat,
    errors::RoomError,
    lobby::Knock,
    media::MediaAction,
    resume::Tokens,
    rules::{RoomKey, matches_any, mode_for},
};

impl Rooms {
    /// `conn` asks to join `room` as `name`. On success the joiner gets `welcome` and everyone else
    /// in the room gets `participant_joined`; or, when the room's lobby is on, the joiner gets
    /// `waiting` and the hosts an updated `lobby`.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn join(
        &mut self,
        conn: ConnId,
        request_id: Option<RequestId>,
        room: &str,
        name: &str,
        media: MediaState,
        pass: Pass<'_>,
        unix_now: u64,
    ) -> Result<Vec<Outgoing>, RoomError> {
        if self.seats.contains_key(&conn) || self.lobby_seats.contains_key(&conn) {
            return Err(RoomError::AlreadyJoined);
        }
        let plain_name = protocol::validate_room_name(room).map_err(RoomError::InvalidRoomName)?;
        let name = protocol::normalize_display_name(name).map_err(RoomError::InvalidName)?;
        let rules = self.rules(pass.tenant);
        let capacity = rules.capacity;
        let mode = mode_for(rules.sfu_rooms, &plain_name);
        if !rules.room_names.is_empty() && !matches_any(rules.room_names, &plain_name) {
            return Err(RoomError::NotOffered);
        }
        let room_name = RoomKey { tenant: pass.tenant, name: plain_name };
        let hosts_from_links = rules.links.is_some();
        // The link first: someone without one learns nothing, not even whether the room exists
        // or is full.
        let (role, lobby_link) = match rules.links {
            Some(keys) => match keys.verify(pass.link, &room_name.name, unix_now) {
                Ok(grant) => (grant.role, grant.lobby),
                Err(e) => {
                    tracing::debug!(room = %room_name, "join refused: {e}");
                    return Err(RoomError::LinkRefused);
                }
            },
            // Open rooms: whoever opens the room hosts it.
            None if self.rooms.get(&room_name).is_none_or(|r| r.members.is_empty()) => {
                (Role::Host, false)
            }
            None => (Role::Participant, false),
        };
        let device = pass.device();
        let tenant_full = rules.max_rooms.filter(|max| {
            self.rooms.keys().filter(|key| key.tenant == pass.tenant).count() >= *max
        });
        let existing = self.rooms.get(&room_name);
        if let Some(existing) = existing {
            if device.as_ref().is_some_and(|d| existing.removed.contains(d)) {
                return Err(RoomError::Removed);
            }
            if existing.locked {
                return Err(RoomError::Locked);
            }
            if let Some(expected) = existing.password.as_deref().filter(|_| role != Role::Host) {
                match pass.password {
                    None | Some("") => return Err(RoomError::PasswordRequired),
                    Some(given) if !constant_time_eq(given.as_bytes(), expected.as_bytes()) => {
                        return Err(RoomError::WrongPassword);
                    }
                    Some(_) => {}
                }
            }
        }
        match existing {
            Some(existing) => {
                let waits =
                    role != Role::Host && (existing.lobby || lobby_link && !existing.lobby_chosen);
                let queue = if waits { existing.waiting.len() } else { existing.members.len() };
                if queue >= capacity {
                    return Err(RoomError::RoomFull { capacity });
                }
            }
            None if self.rooms.len() >= self.limits.max_rooms => {
                return Err(RoomError::TooManyRooms { limit: self.limits.max_rooms });
            }
            None if tenant_full.is_some() => {
                return Err(RoomError::TooManyRooms { limit: tenant_full.unwrap_or_default() });
            }
            None => {}
        }

        let id = ParticipantId(self.next_id);
        self.next_id += 1;
        let room = self.rooms.entry(room_name.clone()).or_insert_with(|| Room {
            name: room_name.name.clone(),
            mode,
            hosts_from_links,
            ..Room::default()
        });
        // A link can start a room with its lobby on, until a host decides otherwise.
        if lobby_link && !room.lobby_chosen {
            room.lobby = true;
        }
        if role != Role::Host && room.lobby {
            room.waiting.insert(id, Knock { conn, name, role, media, device });
            let mut out =
                vec![(conn, ServerMessage::Waiting { request_id, room: room_name.name.clone() })];
            out.extend(room.lobby_to_hosts());
            self.lobby_seats.insert(conn, Seat { room: room_name, id });
            return Ok(out);
        }
        // Listeners send nothing.
        let media = if role == Role::Listener { MediaState::OFF } else { media };
        // In a room whose hosts come from links, a host came in with the room's host link.
        let host_link = hosts_from_links && role == Role::Host;
        let info = ParticipantInfo {
            id,
            name,
            role,
            media,
            hand: None,
            away: false,
            mic_locked: false,
            host_link,
        };
        Ok(self.enter(&room_name, conn, request_id, info, device))
    }

    /// Seats `info` in `room_name` (which exists) for `conn`: the welcome for them,
    /// `participant_joined` for everyone else, and a switch to server forwarding when the mesh
    /// grows past the threshold.
    pub(super) fn enter(
        &mut self,
        room_name: &RoomKey,
        conn: ConnId,
        request_id: Option<RequestId>,
        info: ParticipantInfo,
        device: Option<String>,
    ) -> Vec<Outgoing> {
        let token = self.tokens.as_ref().and_then(Tokens::make).unwrap_or_default();
        let ice_servers = self.ice.for_participant(info.id);
        let Some(room) = self.rooms.get_mut(room_name) else {
            return Vec::new();
        };
        let mut out: Vec<Outgoing> = Vec::new();
        // Past the threshold a mesh switches to server forwarding, for good: the newcomer is
        // welcomed into SFU mode, everyone else is told to move over (and keeps its mesh
        // connections until the relay delivers, so nobody's media stops).
        let grows_past = self.limits.mesh_threshold.is_some_and(|t| room.members.len() + 1 > t);
        // A listener is hidden from participants, which a mesh (where everyone connects to
        // everyone) cannot do: their room moves to server forwarding, for good.
        let hides_listener = info.role == Role::Listener;
        let switches = room.mode == RoomMode::Mesh && (grows_past || hides_listener);
        if switches {
            room.mode = RoomMode::Sfu;
            out.extend(
                room.members
                    .values()
                    .map(|m| (m.conn, ServerMessage::ModeChanged { mode: RoomMode::Sfu })),
            );
        }
        // The move comes first: told of the newcomer while still in a mesh, a browser would
        // open a direct connection to them and wait for an offer that never comes.
        out.extend(
            room.members
                .values()
                .map(|m| (m.conn, ServerMessage::ParticipantJoined { participant: info.clone() })),
        );
        let resume_token = (!token.is_empty()).then(|| token.clone());
        out.push((conn, room.welcome(request_id, &info, ice_servers, resume_token, false)));
        if info.role == Role::Host {
            out.extend(room.lobby_for(conn));
        }
        let id = info.id;
        let listener = info.role == Role::Listener;
        let member = Member { conn, info, token, device, away_until: None, media_lost: false };
        room.members.insert(id, member);
        // With server forwarding the newcomer needs a media connection at the relay; after a
        // switch, so does everyone connected.
        if switches {
            self.media.extend(room.media_joins(room_name));
        } else if room.mode == RoomMode::Sfu {
            self.media.extend(room.media_join(room_name, id));
        }
        if listener {
            out.extend(room.audience());
        }
        self.seats.insert(conn, Seat { room: room_name.clone(), id });
        out
    }

    /// Lets `ids` in from the lobby of `room_name`, in order, while the room has space; the
    /// hosts then get the lobby as it is left. Someone not waiting (any more) is skipped.
    pub(super) fn admit(
        &mut self,
        room_name: &RoomKey,
        ids: &[ParticipantId],
    ) -> Result<Vec<Outgoing>, RoomError> {
        let mut out = Vec::new();
        let mut full = false;
        let capacity = self.rules(room_name.tenant).capacity;
        for id in ids {
            let Some(room) = self.rooms.get_mut(room_name) else { break };
            if room.members.len() >= capacity {
                full = true;
                break;
            }
            let Some(knock) = room.waiting.remove(id) else { continue };
            self.lobby_seats.remove(&knock.conn);
            let info = ParticipantInfo {
                id: *id,
                name: knock.name,
                role: knock.role,
                media: knock.media,
                hand: None,
                away: false,
                mic_locked: false,
                host_link: false,
            };
            out.extend(self.enter(room_name, knock.conn, None, info, knock.device));
        }
        if full && out.is_empty() {
            return Err(RoomError::RoomFull { capacity });
        }
        if let Some(room) = self.rooms.get(room_name) {
            out.extend(room.lobby_to_hosts());
        }
        Ok(out)
    }

    /// `conn` leaves its room, by request or because the connection ended. Leaving when not in a
    /// room does nothing, so the shell may call this on every disconnect.
    pub(super) fn leave(&mut self, conn: ConnId) -> Vec<Outgoing> {
        if let Some(seat) = self.lobby_seats.remove(&conn) {
            let Some(room) = self.rooms.get_mut(&seat.room) else {
                return Vec::new();
            };
            room.waiting.remove(&seat.id);
            let out = room.lobby_to_hosts();
            if room.is_empty() {
                self.rooms.remove(&seat.room);
            }
            return out;
        }
        let Some(seat) = self.seats.remove(&conn) else {
            return Vec::new();
        };
        let Some(room) = self.rooms.get_mut(&seat.room) else {
            return Vec::new();
        };
        let listener = room.members.remove(&seat.id).is_some_and(|m| m.info.role == Role::Listener);
        if room.mode == RoomMode::Sfu {
            self.media.push(MediaAction::Leave { id: seat.id });
        }
        if room.is_empty() {
            self.rooms.remove(&seat.room);
            return Vec::new();
        }
        let mut out: Vec<Outgoing> = room
            .members
            .values()
            .map(|m| (m.conn, ServerMessage::ParticipantLeft { id: seat.id }))
            .collect();
        if listener {
            out.extend(room.audience());
        }
        out.extend(room.hand_on_hosting(&mut self.media));
        out
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::signalling::rooms::{testing::*, *};
    use protocol::ErrorCode;

    #[test]
    pub(super) fn joiner_gets_roster_and_others_get_joined() {
        let mut r = rooms(4);
        let out = join(&mut r, 1, "demo", "Anna");
        assert_eq!(welcome_of(&out, 1).1, Vec::<String>::new());
        assert_eq!(out.len(), 1);

        let out = join(&mut r, 2, "Demo", " Bob ");
        let (bob, roster) = welcome_of(&out, 2);
        assert_eq!(roster, vec!["Anna"]);
        assert!(out.iter().any(|(c, m)| *c == ConnId(1)
            && matches!(m, ServerMessage::ParticipantJoined { participant } if participant.id == bob && participant.name == "Bob")));
        assert_eq!(r.room_count(), 1, "room names are case-insensitive");
    }

    #[test]
    pub(super) fn capacity_and_room_limits_are_enforced() {
        let mut r = rooms(2);
        join(&mut r, 1, "x", "A");
        join(&mut r, 2, "x", "B");
        let full = r.join(
            ConnId(3),
            Some(RequestId(5)),
            "x",
            "C",
            MediaState::default(),
            Pass::default(),
            UNIX,
        );
        assert_eq!(full, Err(RoomError::RoomFull { capacity: 2 }));
        assert!(full.unwrap_err().to_string().contains("at most 2"));
        join(&mut r, 4, "y", "D");
        assert_eq!(
            r.join(ConnId(5), None, "z", "E", MediaState::default(), Pass::default(), UNIX),
            Err(RoomError::TooManyRooms { limit: 2 })
        );
        // A place frees up when someone leaves.
        r.leave(ConnId(2));
        join(&mut r, 3, "x", "C");
    }

    #[test]
    pub(super) fn bad_names_and_double_joins_are_refused() {
        let mut r = rooms(4);
        let bad_room =
            r.join(ConnId(1), None, "a/b", "A", MediaState::default(), Pass::default(), UNIX);
        assert_eq!(bad_room.map_err(|e| e.code()), Err(ErrorCode::InvalidRoomName));
        let bad_name =
            r.join(ConnId(1), None, "a", "  ", MediaState::default(), Pass::default(), UNIX);
        assert_eq!(bad_name.map_err(|e| e.code()), Err(ErrorCode::InvalidName));
        join(&mut r, 1, "a", "A");
        assert_eq!(
            r.join(ConnId(1), None, "b", "A", MediaState::default(), Pass::default(), UNIX),
            Err(RoomError::AlreadyJoined)
        );
        assert_eq!(r.room_count(), 1, "refused joins create no rooms");
    }

    #[test]
    pub(super) fn leaving_tells_the_others_and_empty_rooms_vanish() {
        let mut r = rooms(4);
        let a = welcome_of(&join(&mut r, 1, "l", "A"), 1).0;
        join(&mut r, 2, "l", "B");
        let out = r.leave(ConnId(1));
        assert_eq!(out[..1], [(ConnId(2), ServerMessage::ParticipantLeft { id: a })]);
        assert_eq!(roles(&out), [(2, ParticipantId(2), Role::Host)], "B hosts now");
        assert!(r.leave(ConnId(1)).is_empty(), "leaving twice is harmless");
        assert!(r.leave(ConnId(2)).is_empty());
        assert_eq!((r.room_count(), r.participant_count()), (0, 0));
        // A new room with the same name starts fresh, with new ids.
        let out = join(&mut r, 3, "l", "A");
        let (id, roster) = welcome_of(&out, 3);
        assert!(roster.is_empty());
        assert_ne!(id, a, "ids are never reused");
    }
}
