//! Rooms and who is in them: the relay's signalling state machine.
//!
//! It does no I/O and reads no clock. Its one way in is [`Rooms::apply`]: an [`Input`] (a
//! connection's request, or the clock's tick) with the time it came; its one way out is the
//! list of [`Effect`]s that answer it, in order: what the media loop must do first, then the
//! messages to queue, refusals, connections to close, lines for the log. The hub
//! (`signalling::hub`) carries them out. Every decision about who may send what to whom is made
//! here, so it is tested here.
//!
//! One file per concern, each with its tests: `effects` (the way in and out), `rules` (limits,
//! tenants, room keys), `join` (joining and leaving), `lobby`, `moderation` (what hosts may do;
//! who hosts next), `resume` (seats kept for broken connections), `media` (signals, media
//! states, what the media loop must do), `conversation` (chat, hands), `errors` (what a refusal
//! tells the person).

use std::{
    collections::{BTreeMap, HashMap, HashSet, VecDeque},
    time::Instant,
};

use crate::{
    config::links::LinkKeys, config::tenants::TenantId, signalling::attempts::Attempts,
    signalling::ice::IceServers,
};
use protocol::{
    ChatMessage, ParticipantId, ParticipantInfo, RequestId, Role, RoomMode, ServerMessage,
};

mod conversation;
mod effects;
mod errors;
mod join;
mod lobby;
mod media;
mod moderation;
mod resume;
mod rules;
#[cfg(test)]
mod testing;

pub use effects::{Effect, Event, Input};
use lobby::Knock;
pub use media::{MediaAction, MediaRules};
pub use resume::Kept;
use resume::Tokens;
pub use rules::{RoomKey, RoomLimits, TenantRules};

pub use crate::signalling::ConnId;

/// A message for one connection.
pub type Outgoing = (ConnId, ServerMessage);

/// One participant in a room.
#[derive(Debug)]
struct Member {
    /// The connection that speaks for this participant (while away: the one that broke).
    conn: ConnId,
    /// What the others see.
    info: ParticipantInfo,
    /// Proves the seat when its owner comes back on a new connection.
    token: String,
    /// The browser's own id (see [`Pass::device`]).
    device: Option<String>,
    /// While away: until when the seat is kept.
    away_until: Option<Instant>,
    /// The media loop lost this participant's connection to the relay (SFU rooms): a resume
    /// cannot keep it.
    media_lost: bool,
}

/// How many rooms and people there are now, by how media flows ([`Rooms::census`]).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Census {
    /// Rooms whose browsers connect to each other.
    pub mesh_rooms: usize,
    /// Their members.
    pub mesh_participants: usize,
    /// Rooms the relay forwards media for.
    pub sfu_rooms: usize,
    /// Their members.
    pub sfu_participants: usize,
    /// People waiting in lobbies.
    pub waiting: usize,
}

/// One room; it exists while it has members.
#[derive(Debug, Default)]
struct Room {
    /// Its normalised name, as people see it.
    name: String,
    /// Members by id; ids grow, so iteration order is join order.
    members: BTreeMap<ParticipantId, Member>,
    /// How media flows: a mesh between browsers, or forwarded by the relay.
    mode: RoomMode,
    /// The most recent chat messages, oldest first; memory only, gone with the room.
    chat: VecDeque<ChatMessage>,
    /// The id of the next chat message.
    next_chat_id: u64,
    /// The order number of the next raised hand.
    next_hand: u64,
    /// Browsers a host removed, kept out while the room lasts (at most [`MAX_REMOVED`]).
    removed: HashSet<String>,
    /// A host locked the room: nobody new gets in.
    locked: bool,
    /// The lobby is on: newcomers other than hosts wait until a host admits them.
    lobby: bool,
    /// A host has set the lobby; from then on links no longer turn it on.
    lobby_chosen: bool,
    /// Participants' cameras go to the hosts only (see [`Room::media_rules`]).
    cameras_to_hosts: bool,
    /// Newcomers other than hosts must give this password.
    password: Option<String>,
    /// Listeners may chat.
    listener_chat: bool,
    /// Hosts come from host links (invite-only rooms): hosting never passes by itself to
    /// someone without one (a teacher's class is not handed to the pupil who came first).
    hosts_from_links: bool,
    /// People waiting in the lobby, in the order they knocked (at most the room's capacity).
    /// They are not members: they get no roster, chat or media, and count in no `everyone`.
    waiting: BTreeMap<ParticipantId, Knock>,
}

/// Removed browsers remembered per room; a host removing more than this many people is not a
/// meeting, and the set must not grow without bound.
pub const MAX_REMOVED: usize = 256;

/// What a join shows besides room and name: the invitation and the browser's id.
#[derive(Debug, Clone, Copy, Default)]
pub struct Pass<'a> {
    /// The signed invitation link's token.
    pub link: Option<&'a str>,
    /// The random id the browser keeps; ignored unless 16 to 64 of `A-Z a-z 0-9 - _`.
    pub device: Option<&'a str>,
    /// The room password the person typed.
    pub password: Option<&'a str>,
    /// The tenant whose host the connection came to.
    pub tenant: TenantId,
}

impl Pass<'_> {
    /// The device id, if well-formed.
    fn device(&self) -> Option<String> {
        self.device
            .filter(|d| {
                (16..=64).contains(&d.len())
                    && d.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            })
            .map(str::to_owned)
    }
}

impl Room {
    /// Everyone in the room.
    fn everyone(&self) -> impl Iterator<Item = ConnId> + '_ {
        self.members.values().map(|m| m.conn)
    }

    /// How many listeners are in the room.
    fn listeners(&self) -> u32 {
        let n = self.members.values().filter(|m| m.info.role == Role::Listener).count();
        u32::try_from(n).unwrap_or(u32::MAX)
    }

    /// The listener count, for everyone (after it changed).
    fn audience(&self) -> Vec<Outgoing> {
        let listeners = self.listeners();
        self.everyone().map(|c| (c, ServerMessage::Audience { listeners })).collect()
    }

    /// Who listens, for `conn`, who just became a host (participants never learn it).
    fn listeners_for(&self, conn: ConnId) -> Vec<Outgoing> {
        self.members
            .values()
            .filter(|m| m.info.role == Role::Listener)
            .map(|m| (conn, ServerMessage::ParticipantJoined { participant: m.info.clone() }))
            .collect()
    }

    /// Whether the room is gone: nobody in it and nobody waiting to come in.
    fn is_empty(&self) -> bool {
        self.members.is_empty() && self.waiting.is_empty()
    }

    /// The `welcome` for `you`: everyone else, in join order, and the recent chat.
    fn welcome(
        &self,
        request_id: Option<RequestId>,
        you: &ParticipantInfo,
        ice_servers: Vec<protocol::IceServer>,
        resume_token: Option<String>,
        kept: bool,
    ) -> ServerMessage {
        ServerMessage::Welcome {
            request_id,
            you: you.id,
            room: self.name.clone(),
            role: you.role,
            host_link: you.host_link,
            mode: self.mode,
            // Only hosts see who listens; everyone learns how many do.
            participants: self
                .members
                .values()
                .filter(|m| m.info.id != you.id)
                .filter(|m| you.role == Role::Host || m.info.role != Role::Listener)
                .map(|m| m.info.clone())
                .collect(),
            ice_servers,
            chat: self.chat.iter().cloned().collect(),
            resume_token,
            locked: self.locked,
            lobby: self.lobby,
            cameras_to_hosts: self.cameras_to_hosts,
            listeners: self.listeners(),
            listener_chat: self.listener_chat,
            kept,
        }
    }
}

/// Where a connection is.
#[derive(Debug, Clone)]
struct Seat {
    /// The room.
    room: RoomKey,
    /// The participant id the connection has there.
    id: ParticipantId,
}

/// All rooms of one relay.
#[derive(Debug)]
pub struct Rooms {
    /// Limits to enforce.
    limits: RoomLimits,
    /// Handed to every participant in `welcome`.
    ice: IceServers,
    /// Open rooms.
    rooms: HashMap<RoomKey, Room>,
    /// Which connection sits where.
    seats: HashMap<ConnId, Seat>,
    /// Which connection waits in which room's lobby.
    lobby_seats: HashMap<ConnId, Seat>,
    /// The next participant id; never reused while the process lives.
    next_id: u64,
    /// Resume tokens; without a random source, seats cannot be resumed.
    tokens: Option<Tokens>,
    /// With a link secret, only holders of a signed link get into a room (see `links`).
    links: Option<LinkKeys>,
    /// The rules of tenants 1, 2, … (tenant 0 is the relay's own: `limits` and `links`).
    tenants: Vec<TenantRules>,
    /// Wrong room passwords, per connection and per address.
    attempts: Attempts,
    /// Shutting down: the meetings that run go on, no one new comes in.
    draining: bool,
    /// What the media loop must do, decided in the step under way: `apply` empties it into
    /// the step's effects, so it holds at most one step's worth.
    media: Vec<MediaAction>,
}

/// The rules that hold for one tenant's rooms.
struct Rules<'a> {
    capacity: usize,
    max_rooms: Option<usize>,
    sfu_rooms: &'a [String],
    room_names: &'a [String],
    links: Option<&'a LinkKeys>,
}

impl Rooms {
    /// No rooms yet.
    pub fn new(limits: RoomLimits, ice: IceServers) -> Self {
        Self {
            limits,
            ice,
            rooms: HashMap::new(),
            seats: HashMap::new(),
            lobby_seats: HashMap::new(),
            next_id: 1,
            tokens: Tokens::new(),
            links: None,
            tenants: Vec::new(),
            media: Vec::new(),
            attempts: Attempts::default(),
            draining: false,
        }
    }

    /// Takes no one new from now on (the relay is shutting down); rooms that run go on, and
    /// people whose connection broke may still take their seats back.
    pub fn drain(&mut self) {
        self.draining = true;
    }

    /// Whether the relay takes no one new.
    pub fn is_draining(&self) -> bool {
        self.draining
    }

    /// What the media loop must do after the calls since the last take, in order (`apply`
    /// puts it first among a step's effects; tests read it directly).
    fn take_media(&mut self) -> Vec<MediaAction> {
        std::mem::take(&mut self.media)
    }

    /// Tenants 1, 2, … with their rules, in order.
    pub fn with_tenants(mut self, tenants: Vec<TenantRules>) -> Self {
        self.tenants = tenants;
        self
    }

    /// The rules for `tenant`'s rooms; an unknown tenant gets the relay's own.
    fn rules(&self, tenant: TenantId) -> Rules<'_> {
        let own = Rules {
            capacity: self.limits.capacity,
            max_rooms: None,
            sfu_rooms: &self.limits.sfu_rooms,
            room_names: &[],
            links: self.links.as_ref(),
        };
        let Some(rules) = usize::from(tenant.0).checked_sub(1).and_then(|i| self.tenants.get(i))
        else {
            return own;
        };
        Rules {
            capacity: rules.capacity.unwrap_or(own.capacity),
            max_rooms: rules.max_rooms,
            sfu_rooms: rules.sfu_rooms.as_deref().unwrap_or(own.sfu_rooms),
            room_names: &rules.room_names,
            links: rules.links.as_ref(),
        }
    }

    /// Rooms open only to holders of links signed with `keys`.
    pub fn with_links(mut self, keys: LinkKeys) -> Self {
        self.links = Some(keys);
        self
    }

    /// Number of open rooms.
    pub fn room_count(&self) -> usize {
        self.rooms.len()
    }

    /// Number of participants across all rooms.
    pub fn participant_count(&self) -> usize {
        self.seats.len()
    }

    /// Rooms and their members (those reconnecting included) by how media flows, and the people
    /// waiting in lobbies: for `/metrics`.
    pub fn census(&self) -> Census {
        let mut census = Census::default();
        for room in self.rooms.values() {
            let (rooms, members) = match room.mode {
                RoomMode::Mesh => (&mut census.mesh_rooms, &mut census.mesh_participants),
                RoomMode::Sfu => (&mut census.sfu_rooms, &mut census.sfu_participants),
            };
            *rooms += 1;
            *members += room.members.len();
            census.waiting += room.waiting.len();
        }
        census
    }

    /// The census of each tenant that has rooms, by tenant.
    pub fn census_by_tenant(&self) -> BTreeMap<TenantId, Census> {
        let mut by_tenant: BTreeMap<TenantId, Census> = BTreeMap::new();
        for (key, room) in &self.rooms {
            let census = by_tenant.entry(key.tenant).or_default();
            let (rooms, members) = match room.mode {
                RoomMode::Mesh => (&mut census.mesh_rooms, &mut census.mesh_participants),
                RoomMode::Sfu => (&mut census.sfu_rooms, &mut census.sfu_participants),
            };
            *rooms += 1;
            *members += room.members.len();
            census.waiting += room.waiting.len();
        }
        by_tenant
    }

    /// Where `conn` sits: its participant id, its room and the room's mode.
    pub fn seat(&self, conn: ConnId) -> Option<(ParticipantId, &RoomKey, RoomMode)> {
        let seat = self.seats.get(&conn)?;
        let room = self.rooms.get(&seat.room)?;
        Some((seat.id, &seat.room, room.mode))
    }

    /// Whether `message` may reach `conn`: news of a listener (joined, updated, back) reaches
    /// hosts and the listener only. Every message the relay sends passes here last.
    pub fn may_see(&self, conn: ConnId, message: &ServerMessage) -> bool {
        let subject = match message {
            ServerMessage::ParticipantJoined { participant }
            | ServerMessage::ParticipantUpdated { participant }
            | ServerMessage::ParticipantReconnected { participant, .. } => participant,
            _ => return true,
        };
        if subject.role != Role::Listener {
            return true;
        }
        let Some(seat) = self.seats.get(&conn) else { return false };
        seat.id == subject.id
            || self
                .rooms
                .get(&seat.room)
                .and_then(|room| room.members.get(&seat.id))
                .is_some_and(|m| m.info.role == Role::Host)
    }

    /// The connection of participant `id`.
    pub fn conn_of(&self, id: ParticipantId) -> Option<ConnId> {
        self.seats.iter().find(|(_, seat)| seat.id == id).map(|(conn, _)| *conn)
    }
}
