//! Rooms and who is in them: the relay's signalling state machine.
//!
//! It does no I/O. Each call takes what a connection asked for and returns the messages to send,
//! each addressed to a connection. The WebSocket shell (`server.rs`) delivers them. In rooms whose
//! media the relay forwards, a call also queues what the media loop must do ([`MediaAction`],
//! taken with [`Rooms::take_media`]). Every decision about who may send what to whom is made
//! here, so it is tested here.

use std::{
    collections::{BTreeMap, HashMap, HashSet, VecDeque},
    time::{Duration, Instant},
};

use crate::{
    ice::IceServers,
    links::{LinkKeys, constant_time_eq},
    tenants::TenantId,
};
use protocol::{
    ChatMessage, ErrorCode, MediaState, Moderation, ParticipantId, ParticipantInfo, RequestId,
    Role, RoomMode, ServerMessage, Signal, Waiter,
};

/// A WebSocket connection, as the shell numbers them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId(pub u64);

/// How many recent chat messages a room keeps for people who join late.
pub const CHAT_HISTORY: usize = 100;

/// A message for one connection.
pub type Outgoing = (ConnId, ServerMessage);

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
    pub fn mode_for(&self, name: &str) -> RoomMode {
        mode_for(&self.sfu_rooms, name)
    }
}

/// Whether `name` (normalised) is one of `patterns`: exact names, or prefixes ending in `*`.
fn matches_any(patterns: &[String], name: &str) -> bool {
    patterns.iter().any(|pattern| {
        let pattern = pattern.trim().to_lowercase();
        match pattern.strip_suffix('*') {
            Some(prefix) => name.starts_with(prefix),
            None => !pattern.is_empty() && name == pattern,
        }
    })
}

/// How media flows in a new room called `name`, given the rooms pinned to server forwarding.
fn mode_for(sfu_rooms: &[String], name: &str) -> RoomMode {
    if matches_any(sfu_rooms, name) { RoomMode::Sfu } else { RoomMode::Mesh }
}

/// What a tenant (see `crate::tenants`) changes for its own rooms; `None` keeps the relay's.
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

/// Why a request about rooms was refused. The `Display` text is the sentence the client gets.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RoomError {
    /// The display name broke a rule.
    #[error("Your name was not accepted: {0}.")]
    InvalidName(protocol::NameError),
    /// The room name broke a rule.
    #[error("This room name is not valid: {0}.")]
    InvalidRoomName(protocol::RoomNameError),
    /// The tenant offers no room of this name (its `room-names`).
    #[error("There is no meeting room of this name here. Check the link you were given.")]
    NotOffered,
    /// The room is at capacity.
    #[error("This room is full: it allows at most {capacity} participants.")]
    RoomFull {
        /// The capacity.
        capacity: usize,
    },
    /// The relay is at its room limit.
    #[error("The relay has reached its limit of {limit} open rooms. Please try again later.")]
    TooManyRooms {
        /// The limit.
        limit: usize,
    },
    /// Only hosts may moderate.
    #[error("Only a host can do that.")]
    Forbidden,
    /// A host locked this participant's microphone.
    #[error("A host turned your microphone off. Only a host can allow it again.")]
    MicrophoneLocked,
    /// A host locked the room.
    #[error("This meeting is locked: nobody new can come in. Ask the host to unlock it.")]
    Locked,
    /// A host removed this browser from the meeting.
    #[error("A host removed you from this meeting. You cannot join it again.")]
    Removed,
    /// The relay needs a signed link for the room, and the join had none that opens it.
    #[error(
        "This link does not open the room: it may have expired or be meant for another room. Ask whoever invited you for a new link."
    )]
    LinkRefused,
    /// The room has a password and the join had none.
    #[error("This meeting has a password. Enter it to join.")]
    PasswordRequired,
    /// The password was wrong.
    #[error("That password is not right.")]
    WrongPassword,
    /// Too many wrong passwords from this connection or address.
    #[error("Too many wrong passwords. Wait a minute, then try again.")]
    TooManyAttempts,
    /// A host's new password is too long.
    #[error("A password may have at most {max} characters.", max = protocol::MAX_PASSWORD_CHARS)]
    PasswordTooLong,
    /// The connection has not joined a room.
    #[error("Join a room first.")]
    NotJoined,
    /// The connection has joined a room already.
    #[error("This connection is already in a room; leave it first.")]
    AlreadyJoined,
    /// The addressee of a signal is not in the sender's room.
    #[error("Participant {0} is not in this room.")]
    UnknownParticipant(ParticipantId),
    /// A chat message broke a rule.
    #[error("Your message was not sent: {0}.")]
    InvalidChat(protocol::ChatError),
}

impl RoomError {
    /// The wire code for this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::InvalidName(_) => ErrorCode::InvalidName,
            Self::InvalidRoomName(_) | Self::NotOffered => ErrorCode::InvalidRoomName,
            Self::RoomFull { .. } => ErrorCode::RoomFull,
            Self::TooManyRooms { .. } => ErrorCode::TooManyRooms,
            Self::LinkRefused => ErrorCode::LinkRefused,
            Self::Removed => ErrorCode::Removed,
            Self::Locked => ErrorCode::RoomLocked,
            Self::MicrophoneLocked => ErrorCode::MicrophoneLocked,
            Self::Forbidden => ErrorCode::Forbidden,
            Self::PasswordRequired => ErrorCode::PasswordRequired,
            Self::WrongPassword => ErrorCode::WrongPassword,
            Self::TooManyAttempts => ErrorCode::TooManyAttempts,
            Self::PasswordTooLong => ErrorCode::InvalidMessage,
            Self::NotJoined => ErrorCode::NotJoined,
            Self::AlreadyJoined => ErrorCode::AlreadyJoined,
            Self::UnknownParticipant(_) => ErrorCode::UnknownParticipant,
            Self::InvalidChat(_) => ErrorCode::InvalidChat,
        }
    }

    /// The `error` message for this refusal.
    pub fn to_message(&self, request_id: Option<RequestId>) -> ServerMessage {
        ServerMessage::Error { request_id, code: self.code(), message: self.to_string() }
    }
}

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

/// Someone waiting in a room's lobby: what they will enter with once admitted.
#[derive(Debug)]
struct Knock {
    /// Their connection.
    conn: ConnId,
    /// Their normalised display name.
    name: String,
    /// The role their link gives them (never host: hosts do not wait).
    role: Role,
    /// Microphone and camera as they asked to join.
    media: MediaState,
    /// The browser's own id.
    device: Option<String>,
}

/// What a page coming back on a new connection still holds (see [`Rooms::resume`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct Kept<'a> {
    /// Others in a mesh room whose media connection to it is still there.
    pub peers: &'a [ParticipantId],
    /// Its media connection to the relay (SFU rooms).
    pub relay: bool,
}

/// What the media loop must do after a change in a room whose media the relay forwards.
/// [`Rooms`] queues these as it decides them; the shell takes them with [`Rooms::take_media`]
/// and hands them on before it sends the messages of the same call.
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
struct Tokens(std::sync::Arc<dyn rtc::crypto::RTCCryptoProvider>);

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tokens")
    }
}

impl Tokens {
    fn new() -> Option<Self> {
        rtc::crypto::default_provider().ok().map(Self)
    }

    fn make(&self) -> Option<String> {
        let mut bytes = [0u8; 16];
        self.0.random().fill(&mut bytes).ok()?;
        Some(bytes.iter().map(|b| format!("{b:02x}")).collect())
    }
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
    /// How media flows. Always mesh until server forwarding exists.
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
    /// What the media loop enforces for member `id`. In a room whose cameras go to the hosts
    /// only, a participant's camera is private (it reaches hosts only) and only hosts see every
    /// camera.
    fn media_rules(&self, id: ParticipantId) -> Option<MediaRules> {
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
    fn media_join(&self, key: &RoomKey, id: ParticipantId) -> Option<MediaAction> {
        Some(MediaAction::Join { id, room: key.clone(), rules: self.media_rules(id)? })
    }

    /// A media connection for each connected member: the room just moved to server forwarding.
    /// Those away get theirs when they come back.
    fn media_joins(&self, key: &RoomKey) -> Vec<MediaAction> {
        let present = self.members.values().filter(|m| !m.info.away);
        present.filter_map(|m| self.media_join(key, m.info.id)).collect()
    }

    /// The camera rules of member `id`, for the media loop: after they changed.
    fn cameras(&self, id: ParticipantId) -> Option<MediaAction> {
        let MediaRules { private, sees_all, .. } = self.media_rules(id)?;
        Some(MediaAction::Cameras { id, private, sees_all })
    }

    /// When an open room has no host left, hosting passes to whoever has been in it longest and is
    /// connected (listeners excepted; an away member only when nobody else can): a class or
    /// council keeps someone who can admit, mute and end the meeting. Returns the `updated`
    /// messages that tell everyone; the new host's camera rules go to `media`.
    fn hand_on_hosting(&mut self, media: &mut Vec<MediaAction>) -> Vec<Outgoing> {
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

    /// The `lobby` message: who waits, in order.
    fn lobby_message(&self) -> ServerMessage {
        ServerMessage::Lobby {
            waiting: self
                .waiting
                .iter()
                .map(|(id, knock)| Waiter { id: *id, name: knock.name.clone() })
                .collect(),
        }
    }

    /// The lobby as it is now, for every connected host (after it changed).
    fn lobby_to_hosts(&self) -> Vec<Outgoing> {
        self.members
            .values()
            .filter(|m| m.info.role == Role::Host && !m.info.away)
            .map(|m| (m.conn, self.lobby_message()))
            .collect()
    }

    /// The lobby for `conn`, a host who just came in or was made one, if anyone waits.
    fn lobby_for(&self, conn: ConnId) -> Option<Outgoing> {
        (!self.waiting.is_empty()).then(|| (conn, self.lobby_message()))
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
    /// What the media loop must do, decided since the shell last took it. Every call that
    /// queues here is followed by the shell taking it, so it holds at most one call's worth.
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
        }
    }

    /// What the media loop must do after the calls since the last take, in order.
    pub fn take_media(&mut self) -> Vec<MediaAction> {
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

    /// `conn` asks to join `room` as `name`. On success the joiner gets `welcome` and everyone else
    /// in the room gets `participant_joined`; or, when the room's lobby is on, the joiner gets
    /// `waiting` and the hosts an updated `lobby`.
    #[allow(clippy::too_many_arguments)]
    pub fn join(
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
    fn enter(
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
    fn admit(
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

    /// `conn` sends a negotiation message to participant `to`, who must share its room.
    pub fn signal(
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
    pub fn update_media(
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

    /// `conn` sends a chat message to everyone in its room (itself included, as confirmation).
    /// `now_ms` is the wall-clock time in milliseconds since the Unix epoch.
    pub fn chat(
        &mut self,
        conn: ConnId,
        text: &str,
        now_ms: u64,
    ) -> Result<Vec<Outgoing>, RoomError> {
        let seat = self.seats.get(&conn).ok_or(RoomError::NotJoined)?;
        let room = self.rooms.get_mut(&seat.room).ok_or(RoomError::NotJoined)?;
        let text = protocol::normalize_chat_text(text).map_err(RoomError::InvalidChat)?;
        let sender = room.members.get(&seat.id).ok_or(RoomError::NotJoined)?;
        if sender.info.role == Role::Listener && !room.listener_chat {
            return Err(RoomError::Forbidden);
        }
        let name = sender.info.name.clone();
        room.next_chat_id += 1;
        let message =
            ChatMessage { id: room.next_chat_id, from: seat.id, name, text, sent_at_ms: now_ms };
        if room.chat.len() == CHAT_HISTORY {
            room.chat.pop_front();
        }
        room.chat.push_back(message.clone());
        Ok(room.everyone().map(|c| (c, ServerMessage::Chat { message: message.clone() })).collect())
    }

    /// `conn` raises or lowers its hand; everyone (itself included) learns the new state, with
    /// an order number for raised hands.
    pub fn hand(&mut self, conn: ConnId, raised: bool) -> Result<Vec<Outgoing>, RoomError> {
        let seat = self.seats.get(&conn).ok_or(RoomError::NotJoined)?;
        let room = self.rooms.get_mut(&seat.room).ok_or(RoomError::NotJoined)?;
        let member = room.members.get_mut(&seat.id).ok_or(RoomError::NotJoined)?;
        if member.info.hand.is_some() == raised {
            return Ok(Vec::new());
        }
        member.info.hand = if raised {
            room.next_hand += 1;
            Some(room.next_hand)
        } else {
            None
        };
        let participant = member.info.clone();
        Ok(room
            .everyone()
            .map(|c| (c, ServerMessage::ParticipantUpdated { participant: participant.clone() }))
            .collect())
    }

    /// A host's `action`. Returns the messages to send and the connections that must leave the
    /// room (removed, or everyone when the meeting ends); the shell takes them out after the
    /// messages are on their way.
    pub fn moderate(
        &mut self,
        conn: ConnId,
        action: Moderation,
    ) -> Result<(Vec<Outgoing>, Vec<ConnId>), RoomError> {
        let seat = self.seats.get(&conn).ok_or(RoomError::NotJoined)?;
        let room_name = seat.room.clone();
        let room = self.rooms.get_mut(&seat.room).ok_or(RoomError::NotJoined)?;
        let by = seat.id;
        if room.members.get(&by).map(|m| m.info.role) != Some(Role::Host) {
            return Err(RoomError::Forbidden);
        }
        // The lobby.
        match &action {
            Moderation::Admit { id } => {
                if !room.waiting.contains_key(id) {
                    return Err(RoomError::UnknownParticipant(*id));
                }
                return Ok((self.admit(&room_name, &[*id])?, Vec::new()));
            }
            Moderation::AdmitAll => {
                let ids: Vec<ParticipantId> = room.waiting.keys().copied().collect();
                return Ok((self.admit(&room_name, &ids)?, Vec::new()));
            }
            Moderation::Deny { id } => {
                let knock = room.waiting.get(id).ok_or(RoomError::UnknownParticipant(*id))?;
                let out =
                    vec![(knock.conn, ServerMessage::Moderated { action: action.clone(), by })];
                // Leaving takes them out of the lobby and tells the hosts.
                return Ok((out, vec![knock.conn]));
            }
            Moderation::ListenerChat { allowed } => {
                room.listener_chat = *allowed;
                let out = room
                    .everyone()
                    .map(|c| (c, ServerMessage::Moderated { action: action.clone(), by }))
                    .collect();
                return Ok((out, Vec::new()));
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
                return Ok((out, Vec::new()));
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
                    self.media.extend(room.media_joins(&room_name));
                } else if room.mode == RoomMode::Sfu {
                    // Those away keep their media connection while their seat waits.
                    let ids = room.members.keys();
                    self.media.extend(ids.filter_map(|id| room.cameras(*id)));
                }
                return Ok((out, Vec::new()));
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
                    out.extend(self.admit(&room_name, &ids).unwrap_or_default());
                }
                return Ok((out, Vec::new()));
            }
            _ => {}
        }
        let told = |target: &Member, action: &Moderation| {
            (target.conn, ServerMessage::Moderated { action: action.clone(), by })
        };
        let updated_to_everyone = |room: &Room, changed: Vec<ParticipantInfo>| -> Vec<Outgoing> {
            changed
                .into_iter()
                .flat_map(|participant| {
                    room.everyone().map(move |c| {
                        (c, ServerMessage::ParticipantUpdated { participant: participant.clone() })
                    })
                })
                .collect()
        };
        let target = match &action {
            Moderation::EndMeeting => {
                let everyone: Vec<ConnId> =
                    room.everyone().chain(room.waiting.values().map(|k| k.conn)).collect();
                let out = everyone
                    .iter()
                    .map(|c| (*c, ServerMessage::Moderated { action: action.clone(), by }))
                    .collect();
                return Ok((out, everyone));
            }
            Moderation::Lock { locked } => {
                room.locked = *locked;
                let out = room.members.values().map(|m| told(m, &action)).collect();
                return Ok((out, Vec::new()));
            }
            Moderation::MuteAll => {
                let mut out = Vec::new();
                let mut changed = Vec::new();
                for m in room.members.values_mut() {
                    if m.info.role != Role::Host && m.info.media.audio {
                        m.info.media.audio = false;
                        let mute = Moderation::Mute { id: m.info.id };
                        out.push(told(m, &mute));
                        changed.push(m.info.clone());
                    }
                }
                out.extend(updated_to_everyone(room, changed));
                return Ok((out, Vec::new()));
            }
            Moderation::LowerAllHands => {
                let mut changed = Vec::new();
                for m in room.members.values_mut() {
                    if m.info.hand.take().is_some() {
                        changed.push(m.info.clone());
                    }
                }
                return Ok((updated_to_everyone(room, changed), Vec::new()));
            }
            Moderation::Lobby { .. }
            | Moderation::Admit { .. }
            | Moderation::Deny { .. }
            | Moderation::AdmitAll
            | Moderation::SetPassword { .. }
            | Moderation::ListenerChat { .. }
            | Moderation::CamerasToHosts { .. } => return Ok((Vec::new(), Vec::new())),
            Moderation::Mute { id }
            | Moderation::LockMicrophone { id, .. }
            | Moderation::CameraOff { id }
            | Moderation::StopScreen { id }
            | Moderation::LowerHand { id }
            | Moderation::MakeHost { id }
            | Moderation::RevokeHost { id }
            | Moderation::Remove { id } => *id,
        };
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
                let out = vec![told(member, &action)];
                let conn = member.conn;
                if let Some(device) = member.device.clone()
                    && room.removed.len() < MAX_REMOVED
                {
                    room.removed.insert(device);
                }
                return Ok((out, vec![conn]));
            }
            Moderation::Mute { .. } => {
                out.push(told(member, &action));
                member.info.media.audio = false;
            }
            Moderation::LockMicrophone { locked, .. } => {
                out.push(told(member, &action));
                member.info.mic_locked = *locked;
                if *locked {
                    member.info.media.audio = false;
                }
            }
            Moderation::CameraOff { .. } => {
                out.push(told(member, &action));
                member.info.media.video = false;
            }
            Moderation::StopScreen { .. } => {
                out.push(told(member, &action));
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
            self.media.extend(room.media_joins(&room_name));
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

    /// `conn` comes back to the seat `token` holds in `room`: after its connection broke, or
    /// before the relay noticed (then the old connection is replaced). `None` when no seat of
    /// that room has that token (it expired, or the relay restarted): join afresh.
    ///
    /// Media connections the page still holds stay where both ends still have them: in a mesh,
    /// each other member named in `kept.peers` hears `participant_reconnected` with `kept` and
    /// keeps its end (the rest connect afresh, the returner offering); in an SFU room the
    /// connection to the relay stays if the page asks and the media loop has not lost it
    /// ([`Resumed::kept`]).
    pub fn resume(
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

    /// The media loop lost participant `id`'s connection to the relay (it restarted): a resume
    /// of that seat builds a new one.
    pub fn media_lost(&mut self, id: ParticipantId) {
        for room in self.rooms.values_mut() {
            if let Some(member) = room.members.get_mut(&id) {
                member.media_lost = true;
            }
        }
    }

    /// `conn`'s connection broke (it did not leave). Its participant keeps the seat for the
    /// grace period, shown to the others as away, and may [`Rooms::resume`] it.
    pub fn disconnect(&mut self, conn: ConnId, now: Instant) -> Vec<Outgoing> {
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
    pub fn expire(&mut self, now: Instant) -> Vec<Outgoing> {
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

    /// `conn` leaves its room, by request or because the connection ended. Leaving when not in a
    /// room does nothing, so the shell may call this on every disconnect.
    pub fn leave(&mut self, conn: ConnId) -> Vec<Outgoing> {
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

    /// The time joins happen at, in seconds since 1970.
    const UNIX: u64 = 1_800_000_000;

    fn rooms(capacity: usize) -> Rooms {
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
    fn limited(mesh_threshold: Option<usize>, sfu_rooms: &[&str], grace: Duration) -> Rooms {
        let sfu_rooms = sfu_rooms.iter().map(|r| (*r).to_owned()).collect();
        let limits = RoomLimits {
            capacity: 10,
            max_rooms: 5,
            mesh_threshold,
            sfu_rooms,
            resume_grace: grace,
        };
        Rooms::new(limits, IceServers::default())
    }

    fn join(rooms: &mut Rooms, conn: u64, room: &str, name: &str) -> Vec<Outgoing> {
        rooms
            .join(ConnId(conn), None, room, name, MediaState::default(), Pass::default(), UNIX)
            .expect("join accepted")
    }

    fn welcome_of(out: &[Outgoing], conn: u64) -> (ParticipantId, Vec<String>) {
        out.iter()
            .find_map(|(c, m)| match m {
                ServerMessage::Welcome { you, participants, .. } if *c == ConnId(conn) => {
                    Some((*you, participants.iter().map(|p| p.name.clone()).collect()))
                }
                _ => None,
            })
            .expect("a welcome for the joiner")
    }

    #[test]
    fn joiner_gets_roster_and_others_get_joined() {
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

    /// Rooms of 4, at most 3 rooms in all, with tenant 1 (its own secret, only `rat` and
    /// `klasse-*`, rooms of 3, at most 2 rooms, `rat` forwarded) and tenant 2 (open, the
    /// relay's rules).
    fn with_tenants() -> (Rooms, LinkKeys) {
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
        let rooms = Rooms::new(limits, IceServers::default())
            .with_tenants(vec![one, TenantRules::default()]);
        (rooms, LinkKeys::new(secret, None))
    }

    fn join_as(
        r: &mut Rooms,
        conn: u64,
        tenant: u16,
        room: &str,
        link: Option<&str>,
    ) -> Result<Vec<Outgoing>, RoomError> {
        let pass = Pass { link, tenant: TenantId(tenant), ..Pass::default() };
        r.join(ConnId(conn), None, room, "P", MediaState::default(), pass, UNIX)
    }

    #[test]
    fn tenants_with_the_same_room_name_never_meet() {
        let (mut r, keys) = with_tenants();
        let grant = |room: &str| {
            let grant = crate::links::Grant {
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
    fn a_tenant_keeps_its_own_secret_names_and_limits() {
        let (mut r, keys) = with_tenants();
        let link = |room: &str| {
            keys.sign(&crate::links::Grant {
                room: room.into(),
                role: Role::Participant,
                expires: UNIX + 60,
                lobby: false,
            })
        };
        // Its rooms need its links; its links open nothing in another tenant (whose rooms are
        // open, so the link is simply not needed there) and never another tenant's secret.
        assert_eq!(join_as(&mut r, 1, 1, "rat", None), Err(RoomError::LinkRefused));
        let other = LinkKeys::new(b"another-secret-0123456", None).sign(&crate::links::Grant {
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

    #[test]
    fn signals_stay_inside_a_room() {
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
    fn capacity_and_room_limits_are_enforced() {
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
    fn bad_names_and_double_joins_are_refused() {
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
    fn media_updates_reach_the_others_only() {
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
    fn chat_reaches_everyone_and_late_joiners_get_history() {
        let mut r = rooms(4);
        let a = welcome_of(&join(&mut r, 1, "c", "Anna"), 1).0;
        join(&mut r, 2, "c", "Bob");
        let out = r.chat(ConnId(1), "  <b>Hallo</b>  ", 1000).expect("joined");
        assert_eq!(out.iter().map(|(c, _)| c.0).collect::<Vec<_>>(), [1, 2]);
        let ServerMessage::Chat { message } = &out[0].1 else { panic!("{out:?}") };
        assert_eq!(
            (message.from, message.name.as_str(), message.text.as_str()),
            (a, "Anna", "<b>Hallo</b>")
        );
        assert_eq!(r.chat(ConnId(1), " ", 0).map_err(|e| e.code()), Err(ErrorCode::InvalidChat));
        assert_eq!(r.chat(ConnId(9), "hi", 0), Err(RoomError::NotJoined));

        for n in 0..CHAT_HISTORY {
            r.chat(ConnId(2), &format!("m{n}"), 2000).expect("joined");
        }
        let out = join(&mut r, 3, "c", "Cem");
        let history = out
            .iter()
            .find_map(|(_, m)| match m {
                ServerMessage::Welcome { chat, .. } => Some(chat.clone()),
                _ => None,
            })
            .expect("welcome");
        assert_eq!(history.len(), CHAT_HISTORY, "only the most recent are kept");
        assert_eq!(history.last().map(|m| m.text.as_str()), Some("m99"));
        assert!(history.windows(2).all(|w| w[0].id < w[1].id));

        // The history goes with the room.
        for conn in 1..=3 {
            r.leave(ConnId(conn));
        }
        let out = join(&mut r, 4, "c", "Dana");
        assert!(
            out.iter()
                .any(|(_, m)| matches!(m, ServerMessage::Welcome { chat, .. } if chat.is_empty()))
        );
    }

    #[test]
    fn hands_go_up_in_order_and_come_down() {
        let mut r = rooms(4);
        join(&mut r, 1, "h", "A");
        join(&mut r, 2, "h", "B");
        let hand_of = |out: &[Outgoing]| match &out[0].1 {
            ServerMessage::ParticipantUpdated { participant } => participant.hand,
            other => panic!("{other:?}"),
        };
        let out = r.hand(ConnId(2), true).expect("joined");
        assert_eq!(out.len(), 2, "everyone, the raiser included");
        let first = hand_of(&out);
        let second = hand_of(&r.hand(ConnId(1), true).expect("joined"));
        assert!(first < second);
        assert!(r.hand(ConnId(1), true).expect("joined").is_empty(), "raising twice is a no-op");
        assert_eq!(hand_of(&r.hand(ConnId(2), false).expect("joined")), None);
    }

    #[test]
    fn pinned_rooms_use_server_forwarding_and_their_own_capacity() {
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
    fn a_mesh_that_grows_past_the_threshold_switches_for_good() {
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
    fn leaving_tells_the_others_and_empty_rooms_vanish() {
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

    fn token_of(out: &[Outgoing], conn: u64) -> String {
        out.iter()
            .find_map(|(c, m)| match m {
                ServerMessage::Welcome { resume_token, .. } if *c == ConnId(conn) => {
                    resume_token.clone()
                }
                _ => None,
            })
            .expect("a resume token")
    }

    #[test]
    fn a_broken_connection_keeps_its_seat_and_comes_back_as_the_same_participant() {
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

    /// Whether the `welcome` in `out` for `conn` says the media connections stay.
    fn welcome_kept(out: &[Outgoing], conn: u64) -> bool {
        out.iter()
            .find_map(|(c, m)| match m {
                ServerMessage::Welcome { kept, .. } if *c == ConnId(conn) => Some(*kept),
                _ => None,
            })
            .expect("a welcome")
    }

    /// `kept` of the `participant_reconnected` that reached `conn`.
    fn reconnected_kept(out: &[Outgoing], conn: u64) -> bool {
        out.iter()
            .find_map(|(c, m)| match m {
                ServerMessage::ParticipantReconnected { kept, .. } if *c == ConnId(conn) => {
                    Some(*kept)
                }
                _ => None,
            })
            .expect("news of the return")
    }

    #[test]
    fn media_connections_the_returner_still_holds_stay_on_both_ends() {
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
    fn a_seat_nobody_comes_back_to_is_given_up_after_the_grace_period() {
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
    fn a_new_connection_with_the_token_replaces_one_the_relay_still_thinks_alive() {
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
    fn leaving_on_purpose_frees_the_seat_at_once() {
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

    fn roles(out: &[Outgoing]) -> Vec<(u64, ParticipantId, Role)> {
        out.iter()
            .filter_map(|(c, m)| match m {
                ServerMessage::ParticipantUpdated { participant } => {
                    Some((c.0, participant.id, participant.role))
                }
                _ => None,
            })
            .collect()
    }

    #[test]
    fn when_the_host_leaves_hosting_passes_to_whoever_came_first() {
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

    /// Rooms behind links, and a way to join "klasse" with a link for `role`.
    fn class_with_links() -> (Rooms, impl Fn(&mut Rooms, u64, &str, Role) -> Vec<Outgoing>) {
        let secret = b"teachers-and-pupils-secret";
        let keys = LinkKeys::new(secret, None);
        let r = rooms(10).with_links(LinkKeys::new(secret, None));
        let join = move |r: &mut Rooms, conn: u64, name: &str, role: Role| {
            let grant = crate::links::Grant {
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

    #[test]
    fn where_hosts_come_from_links_hosting_never_passes_to_a_pupil_by_itself() {
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
    fn a_host_hands_hosting_to_someone_and_takes_it_back_but_not_from_the_link_holder() {
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

    fn lobby_of(out: &[Outgoing], conn: u64) -> Option<Vec<String>> {
        out.iter().find_map(|(c, m)| match m {
            ServerMessage::Lobby { waiting } if *c == ConnId(conn) => {
                Some(waiting.iter().map(|w| w.name.clone()).collect())
            }
            _ => None,
        })
    }

    #[test]
    fn whoever_takes_over_hosting_sees_who_waits_and_a_locked_room_takes_no_knocks() {
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
    fn hosting_skips_someone_whose_connection_is_broken() {
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
    fn removed_browsers_are_remembered_up_to_a_bound() {
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

    /// What the media loop enforces for a participant in a room without special rules.
    const OPEN: MediaRules =
        MediaRules { silenced: false, receive_only: false, private: false, sees_all: true };

    fn media_join(room: &str, id: u64, rules: MediaRules) -> MediaAction {
        let room = RoomKey { tenant: TenantId::DEFAULT, name: room.into() };
        MediaAction::Join { id: ParticipantId(id), room, rules }
    }

    #[test]
    fn each_member_of_a_forwarded_room_has_a_media_connection_while_it_is_there() {
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
    fn a_switch_connects_everyone_present_and_whoever_was_away_when_they_return() {
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
    fn a_hosts_rules_reach_the_media_loop() {
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
    fn without_a_grace_period_a_broken_connection_takes_its_media_connection_along() {
        let mut r = limited(None, &["rat"], Duration::ZERO);
        join(&mut r, 1, "rat", "Anna");
        join(&mut r, 2, "rat", "Bruno");
        r.take_media();
        r.disconnect(ConnId(2), Instant::now());
        assert_eq!(r.take_media(), [MediaAction::Leave { id: ParticipantId(2) }]);
    }

    #[test]
    fn listeners_receive_only_and_the_lobby_gets_no_media_until_let_in() {
        let secret = b"lobby-and-listeners-secret";
        let keys = LinkKeys::new(secret, None);
        let mut r = rooms(4).with_links(LinkKeys::new(secret, None));
        let link = |role, lobby| {
            keys.sign(&crate::links::Grant { room: "rat".into(), role, expires: UNIX + 60, lobby })
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
