//! What the rooms' tests share: rooms with test limits, and readers of their answers.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use crate::{config::links::LinkKeys, config::tenants::TenantId, signalling::ice::IceServers};
use protocol::{MediaState, ParticipantId, Role, ServerMessage};

pub(super) use super::errors::RoomError;
use super::{
    ConnId, Outgoing, Pass, Rooms,
    effects::Effect,
    media::{MediaAction, MediaRules},
    rules::{RoomKey, RoomLimits, TenantRules},
};

/// The time joins happen at, in seconds since 1970.
pub(super) const UNIX: u64 = 1_800_000_000;

pub(super) fn rooms(capacity: usize) -> Rooms {
    Rooms::new(
        RoomLimits {
            capacity,
            max_rooms: 2,
            mesh_threshold: None,
            sfu_rooms: vec!["klasse-*".into(), "rat".into()],
            resume_grace: Duration::from_secs(30),
        },
        IceServers::default(),
    )
}

/// Rooms of 10, at most 5, switching past `mesh_threshold`, with `sfu_rooms` pinned and
/// seats kept for `grace`.
pub(super) fn limited(mesh_threshold: Option<usize>, sfu_rooms: &[&str], grace: Duration) -> Rooms {
    let sfu_rooms = sfu_rooms.iter().map(|r| (*r).to_owned()).collect();
    let limits =
        RoomLimits { capacity: 10, max_rooms: 5, mesh_threshold, sfu_rooms, resume_grace: grace };
    Rooms::new(limits, IceServers::default())
}

pub(super) fn join(rooms: &mut Rooms, conn: u64, room: &str, name: &str) -> Vec<Outgoing> {
    rooms
        .join(ConnId(conn), None, room, name, MediaState::default(), Pass::default(), UNIX)
        .expect("join accepted")
}

pub(super) fn welcome_of(out: &[Outgoing], conn: u64) -> (ParticipantId, Vec<String>) {
    out.iter()
        .find_map(|(c, m)| match m {
            ServerMessage::Welcome { you, participants, .. } if *c == ConnId(conn) => {
                Some((*you, participants.iter().map(|p| p.name.clone()).collect()))
            }
            _ => None,
        })
        .expect("a welcome for the joiner")
}

/// Rooms of 4, at most 3 rooms in all, with tenant 1 (its own secret, only `rat` and
/// `klasse-*`, rooms of 3, at most 2 rooms, `rat` forwarded) and tenant 2 (open, the
/// relay's rules).
pub(super) fn with_tenants() -> (Rooms, LinkKeys) {
    let secret = b"tenant-one-secret-0123";
    let one = TenantRules {
        capacity: Some(3),
        max_rooms: Some(2),
        sfu_rooms: Some(vec!["rat".into()]),
        room_names: vec!["rat".into(), "klasse-*".into()],
        links: Some(LinkKeys::new(secret, None)),
    };
    let limits = RoomLimits {
        capacity: 4,
        max_rooms: 3,
        mesh_threshold: None,
        sfu_rooms: vec!["klasse-*".into(), "rat".into()],
        resume_grace: Duration::from_secs(30),
    };
    let rooms =
        Rooms::new(limits, IceServers::default()).with_tenants(vec![one, TenantRules::default()]);
    (rooms, LinkKeys::new(secret, None))
}

pub(super) fn join_as(
    r: &mut Rooms,
    conn: u64,
    tenant: u16,
    room: &str,
    link: Option<&str>,
) -> Result<Vec<Outgoing>, RoomError> {
    let pass = Pass { link, tenant: TenantId(tenant), ..Pass::default() };
    r.join(ConnId(conn), None, room, "P", MediaState::default(), pass, UNIX)
}

pub(super) fn token_of(out: &[Outgoing], conn: u64) -> String {
    out.iter()
        .find_map(|(c, m)| match m {
            ServerMessage::Welcome { resume_token, .. } if *c == ConnId(conn) => {
                resume_token.clone()
            }
            _ => None,
        })
        .expect("a resume token")
}

/// Whether the `welcome` in `out` for `conn` says the media connections stay.
pub(super) fn welcome_kept(out: &[Outgoing], conn: u64) -> bool {
    out.iter()
        .find_map(|(c, m)| match m {
            ServerMessage::Welcome { kept, .. } if *c == ConnId(conn) => Some(*kept),
            _ => None,
        })
        .expect("a welcome")
}

/// `kept` of the `participant_reconnected` that reached `conn`.
pub(super) fn reconnected_kept(out: &[Outgoing], conn: u64) -> bool {
    out.iter()
        .find_map(|(c, m)| match m {
            ServerMessage::ParticipantReconnected { kept, .. } if *c == ConnId(conn) => Some(*kept),
            _ => None,
        })
        .expect("news of the return")
}

pub(super) fn roles(out: &[Outgoing]) -> Vec<(u64, ParticipantId, Role)> {
    out.iter()
        .filter_map(|(c, m)| match m {
            ServerMessage::ParticipantUpdated { participant } => {
                Some((c.0, participant.id, participant.role))
            }
            _ => None,
        })
        .collect()
}

/// Rooms behind links, and a way to join "klasse" with a link for `role`.
pub(super) fn class_with_links() -> (Rooms, impl Fn(&mut Rooms, u64, &str, Role) -> Vec<Outgoing>) {
    let secret = b"teachers-and-pupils-secret";
    let keys = LinkKeys::new(secret, None);
    let r = rooms(10).with_links(LinkKeys::new(secret, None));
    let join = move |r: &mut Rooms, conn: u64, name: &str, role: Role| {
        let grant = crate::config::links::Grant {
            room: "klasse".into(),
            role,
            expires: UNIX + 60,
            lobby: false,
        };
        let link = keys.sign(&grant);
        let pass = Pass { link: Some(&link), ..Pass::default() };
        r.join(ConnId(conn), None, "klasse", name, MediaState::default(), pass, UNIX).unwrap()
    };
    (r, join)
}

pub(super) fn lobby_of(out: &[Outgoing], conn: u64) -> Option<Vec<String>> {
    out.iter().find_map(|(c, m)| match m {
        ServerMessage::Lobby { waiting } if *c == ConnId(conn) => {
            Some(waiting.iter().map(|w| w.name.clone()).collect())
        }
        _ => None,
    })
}

/// What the media loop enforces for a participant in a room without special rules.
pub(super) const OPEN: MediaRules =
    MediaRules { silenced: false, receive_only: false, private: false, sees_all: true };

pub(super) fn media_join(room: &str, id: u64, rules: MediaRules) -> MediaAction {
    let room = RoomKey { tenant: TenantId::DEFAULT, name: room.into() };
    MediaAction::Join { id: ParticipantId(id), room, rules }
}

/// The messages among `effects`, in order.
pub(super) fn sends(effects: &[Effect]) -> Vec<Outgoing> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Send(conn, message) => Some((*conn, message.clone())),
            _ => None,
        })
        .collect()
}
