//! Which rules hold for a room: capacity, how many rooms, which rooms the relay forwards,
//! and each tenant's own; rooms are keyed by tenant and name.

use std::time::Duration;

use crate::{config::links::LinkKeys, config::tenants::TenantId};
use protocol::RoomMode;

/// The limits rooms enforce, and which rooms use server forwarding.
#[derive(Debug, Clone)]
pub struct RoomLimits {
    /// Most participants in one room.
    pub capacity: usize,
    /// Most rooms at once.
    pub max_rooms: usize,
    /// A mesh room with more participants than this switches to server forwarding; `None` when
    /// the relay forwards no media.
    pub mesh_threshold: Option<usize>,
    /// Room names, or prefixes ending in `*`, that use server forwarding from the start.
    pub sfu_rooms: Vec<String>,
    /// How long a participant whose connection broke keeps its seat, to come back to.
    pub resume_grace: Duration,
}

impl RoomLimits {
    /// How media flows in a new room called `name` (already normalised).
    #[cfg(test)]
    pub fn mode_for(&self, name: &str) -> RoomMode {
        mode_for(&self.sfu_rooms, name)
    }
}

/// Whether `name` (normalised) is one of `patterns`: exact names, or prefixes ending in `*`.
pub(super) fn matches_any(patterns: &[String], name: &str) -> bool {
    patterns.iter().any(|pattern| {
        let pattern = pattern.trim().to_lowercase();
        match pattern.strip_suffix('*') {
            Some(prefix) => name.starts_with(prefix),
            None => !pattern.is_empty() && name == pattern,
        }
    })
}

/// How media flows in a new room called `name`, given the rooms pinned to server forwarding.
pub(super) fn mode_for(sfu_rooms: &[String], name: &str) -> RoomMode {
    if matches_any(sfu_rooms, name) { RoomMode::Sfu } else { RoomMode::Mesh }
}

/// What a tenant (see `crate::config::tenants`) changes for its own rooms; `None` keeps the relay's.
#[derive(Debug, Default)]
pub struct TenantRules {
    /// Most participants in one of its rooms.
    pub capacity: Option<usize>,
    /// Most of its rooms at once.
    pub max_rooms: Option<usize>,
    /// Its rooms with server forwarding from the start.
    pub sfu_rooms: Option<Vec<String>>,
    /// The only room names it offers (exact or prefix with `*`); empty: any.
    pub room_names: Vec<String>,
    /// Its link secret: with it, its rooms open only for its links. Without: open rooms.
    pub links: Option<LinkKeys>,
}

/// A room's identity: its tenant and its name. Two tenants' rooms of the same name are two rooms.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RoomKey {
    /// Whose.
    pub tenant: TenantId,
    /// Its normalised name.
    pub name: String,
}

impl std::fmt::Display for RoomKey {
    /// The name for the relay's own tenant; `tenant/name` for others (a room name has no `/`).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.tenant {
            TenantId::DEFAULT => f.write_str(&self.name),
            TenantId(n) => write!(f, "{n}/{}", self.name),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::signalling::rooms::{testing::*, *};
    use protocol::ErrorCode;
    use protocol::ParticipantId;
    use protocol::Role;
    use protocol::ServerMessage;
    use protocol::Signal;
    use std::time::Instant;

    #[test]
    pub(super) fn tenants_with_the_same_room_name_never_meet() {
        let (mut r, keys) = with_tenants();
        let grant = |room: &str| {
            let grant = crate::config::links::Grant {
                room: room.into(),
                role: Role::Participant,
                expires: UNIX + 60,
                lobby: false,
            };
            keys.sign(&grant)
        };
        let rat = grant("rat");
        join_as(&mut r, 1, 0, "rat", None).unwrap();
        let one = join_as(&mut r, 2, 1, "rat", Some(&rat)).unwrap();
        let two = join_as(&mut r, 3, 2, "rat", None).unwrap();
        // Each is alone in its own `rat`: nobody else was told, nobody is on the roster.
        for (out, conn) in [(&one, 2), (&two, 3)] {
            assert_eq!(out.len(), 1, "{out:?}");
            assert_eq!(welcome_of(out, conn).1, Vec::<String>::new());
            assert!(matches!(&out[0].1, ServerMessage::Welcome { room, .. } if room == "rat"));
        }
        assert_eq!(r.room_count(), 3);
        let ids: Vec<ParticipantId> =
            (1..=3).filter_map(|c| r.seat(ConnId(c)).map(|s| s.0)).collect();
        let offer = Signal::Offer { sdp: "v=0".into() };
        assert_eq!(
            r.signal(ConnId(1), ids[1], offer.clone()),
            Err(RoomError::UnknownParticipant(ids[1]))
        );
        assert_eq!(r.signal(ConnId(3), ids[1], offer), Err(RoomError::UnknownParticipant(ids[1])));
        // The media loop keeps them apart too: each room has its own key there.
        let keys: Vec<String> =
            (1..=3).filter_map(|c| r.seat(ConnId(c)).map(|s| s.1.to_string())).collect();
        assert_eq!(keys, ["rat", "1/rat", "2/rat"]);
        // Tenant 1 forwards `rat` from the start, as the relay's rules (which tenant 2 keeps) do.
        assert_eq!(r.seat(ConnId(2)).map(|s| s.2), Some(RoomMode::Sfu));
        // A resume token is good in its own tenant only.
        let token = match &two[0].1 {
            ServerMessage::Welcome { resume_token, .. } => resume_token.clone().unwrap(),
            _ => unreachable!(),
        };
        r.disconnect(ConnId(3), Instant::now());
        assert!(r.resume(ConnId(4), None, TenantId(1), "rat", &token, Kept::default()).is_none());
        assert!(
            r.resume(ConnId(4), None, TenantId::DEFAULT, "rat", &token, Kept::default()).is_none()
        );
        assert!(r.resume(ConnId(4), None, TenantId(2), "rat", &token, Kept::default()).is_some());
        let census = r.census_by_tenant();
        assert_eq!(census.get(&TenantId(1)).map(|c| c.sfu_participants), Some(1));
        assert_eq!(census.get(&TenantId(2)).map(|c| c.sfu_participants), Some(1));
    }

    #[test]
    pub(super) fn a_tenant_keeps_its_own_secret_names_and_limits() {
        let (mut r, keys) = with_tenants();
        let link = |room: &str| {
            keys.sign(&crate::config::links::Grant {
                room: room.into(),
                role: Role::Participant,
                expires: UNIX + 60,
                lobby: false,
            })
        };
        // Its rooms need its links; its links open nothing in another tenant (whose rooms are
        // open, so the link is simply not needed there) and never another tenant's secret.
        assert_eq!(join_as(&mut r, 1, 1, "rat", None), Err(RoomError::LinkRefused));
        let other =
            LinkKeys::new(b"another-secret-0123456", None).sign(&crate::config::links::Grant {
                room: "rat".into(),
                role: Role::Host,
                expires: UNIX + 60,
                lobby: false,
            });
        assert_eq!(join_as(&mut r, 1, 1, "rat", Some(&other)), Err(RoomError::LinkRefused));
        // Only the names it offers.
        assert_eq!(join_as(&mut r, 1, 1, "demo", Some(&link("demo"))), Err(RoomError::NotOffered));
        assert_eq!(RoomError::NotOffered.code(), ErrorCode::InvalidRoomName);
        join_as(&mut r, 1, 1, "klasse-5a", Some(&link("klasse-5a"))).unwrap();
        assert_eq!(r.seat(ConnId(1)).map(|s| s.2), Some(RoomMode::Mesh));
        // Its capacity (3, not the relay's 4).
        for conn in 2..=3 {
            join_as(&mut r, conn, 1, "klasse-5a", Some(&link("klasse-5a"))).unwrap();
        }
        assert_eq!(
            join_as(&mut r, 4, 1, "klasse-5a", Some(&link("klasse-5a"))),
            Err(RoomError::RoomFull { capacity: 3 })
        );
        // Its room limit (2) is its own: the relay's own tenant still opens rooms, up to the
        // relay's limit (3), which bounds every tenant together.
        join_as(&mut r, 5, 1, "klasse-5b", Some(&link("klasse-5b"))).unwrap();
        assert_eq!(
            join_as(&mut r, 6, 1, "klasse-5c", Some(&link("klasse-5c"))),
            Err(RoomError::TooManyRooms { limit: 2 })
        );
        join_as(&mut r, 7, 0, "demo", None).unwrap();
        assert_eq!(join_as(&mut r, 8, 2, "demo", None), Err(RoomError::TooManyRooms { limit: 3 }));
    }
}
