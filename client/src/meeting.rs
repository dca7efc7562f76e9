//! The meeting as the app sees it: who is here, which peer connections to hold, what to announce.
//!
//! [`Meeting`] consumes the relay's messages and the peer connections' state changes and returns
//! [`Effect`]s for the glue: open or close a peer connection, hand it a signal, announce something
//! to screen readers, or show an error. It does no I/O.

use std::collections::BTreeMap;

use protocol::{
    ChatMessage, ErrorCode, IceServer, MediaState, Moderation, ParticipantId, ParticipantInfo,
    Role, RoomMode, ServerMessage, Signal, Waiter,
};

use crate::{chat::ChatLog, errors::UserError};

/// One of our media connections: a direct one to another participant (mesh), or the one to
/// the relay (server forwarding), which carries everyone's media.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PeerId {
    /// The connection to the relay.
    Relay,
    /// The direct connection to this participant.
    Participant(ParticipantId),
}

/// The state of the direct connection to one other participant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    /// Negotiating or establishing ICE.
    Connecting,
    /// Media can flow.
    Connected,
    /// ICE failed; a restart is under way.
    Failed,
}

impl Link {
    /// Its name in the page (`data-link`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Connecting => "connecting",
            Self::Connected => "connected",
            Self::Failed => "failed",
        }
    }

    /// Maps `RTCPeerConnection.connectionState`; `None` for states that change nothing shown.
    pub fn from_connection_state(state: &str) -> Option<Self> {
        match state {
            "new" | "connecting" => Some(Self::Connecting),
            "connected" => Some(Self::Connected),
            "failed" | "disconnected" => Some(Self::Failed),
            _ => None,
        }
    }
}

/// Another participant, with the state of our connection to them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Remote {
    /// What the relay says about them.
    pub info: ParticipantInfo,
    /// Our connection to them.
    pub link: Link,
    /// That connection has been up at some point: after a broken signalling connection it is
    /// worth keeping (ICE recovers on it, or restarts), where one still setting up is not.
    pub was_up: bool,
    /// We replaced the connection ([`protocol::Signal::Rebuild`]) and the new one has not come
    /// up yet: further requests to rebuild are about the old one.
    rebuilding: bool,
    /// We made the first offer on the connection (mesh). That side also restarts its ICE:
    /// the answerer of a restart then keeps its DTLS role. (Firefox, answering an ICE restart
    /// offered by the side that first answered, took the other role, which Chromium refuses:
    /// "Failed to set SSL role for the transport".)
    offerer: bool,
}

impl Remote {
    fn new(info: ParticipantInfo, link: Link) -> Self {
        Self { info, link, was_up: link == Link::Connected, rebuilding: false, offerer: false }
    }
}

/// What [`Meeting::keep_on_resume`] asks the relay to keep when taking the seat back.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Kept {
    /// Others (mesh) whose connection to us had come up.
    pub peers: Vec<ParticipantId>,
    /// Our connection to the relay (SFU) had come up.
    pub relay: bool,
}

/// Something to tell screen-reader users through the live region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Announcement {
    /// The locale key, with `{name}` and `{detail}` placeholders.
    pub key: &'static str,
    /// Who it is about.
    pub name: String,
    /// More text (a chat message).
    pub detail: String,
}

impl Announcement {
    fn about(key: &'static str, name: impl Into<String>) -> Self {
        Self { key, name: name.into(), detail: String::new() }
    }
}

/// What the glue must do.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Create a peer connection to `id`. If `offer`, add our tracks now (which starts the
    /// negotiation); otherwise wait for their offer.
    OpenPeer {
        /// Who.
        id: ParticipantId,
        /// Whether this side gives way in glare.
        polite: bool,
        /// Whether this side makes the first offer.
        offer: bool,
    },
    /// Create the one media connection to the relay (SFU mode) and offer our tracks.
    OpenRelayPeer,
    /// Hand a signal from the relay to the relay connection.
    RelaySignal(Signal),
    /// Close and forget this peer connection.
    ClosePeer(PeerId),
    /// Hand a signal to the peer connection for `from`.
    PeerSignal {
        /// Who sent it.
        from: ParticipantId,
        /// The signal.
        signal: Signal,
    },
    /// Restart ICE on this connection (we are the side that offers).
    RestartIce(PeerId),
    /// Send a signal to `to` over the relay (not from a peer connection: about one).
    SendSignal {
        /// For whom.
        to: ParticipantId,
        /// What.
        signal: Signal,
    },
    /// This connection stays across a broken signalling connection: an offer of ours still
    /// unanswered may have been lost with it, so send it again.
    ResendOffer(PeerId),
    /// A media connection that had failed is up again: the network is back, so a signalling
    /// connection that has been quiet meanwhile is probably dead and worth replacing now.
    NetworkBack,
    /// Turn our microphone off (a host muted us; we may turn it on again).
    MuteMicrophone,
    /// Turn our camera off (a host did; we may turn it on again).
    CameraOff,
    /// Stop sharing our screen (a host did).
    StopScreen,
    /// Tell screen-reader users.
    Announce(Announcement),
    /// Show an error; `fatal` ends the meeting (back to the pre-join screen).
    ShowError {
        /// What happened.
        error: UserError,
        /// Whether the meeting cannot go on.
        fatal: bool,
    },
}

/// Where the meeting is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Phase {
    /// Waiting for `welcome`.
    Joining,
    /// In the lobby, until a host lets us in (`welcome`) or not.
    Waiting,
    /// In the room.
    Joined,
}

/// The meeting state of one browser tab.
#[derive(Debug)]
pub struct Meeting {
    /// Joining or joined.
    phase: Phase,
    /// Our own participant entry, once welcomed.
    me: Option<ParticipantInfo>,
    /// Our microphone, camera and screen, as the app last set them (before a welcome too).
    own_media: MediaState,
    /// The room's normalised name.
    room: String,
    /// Mesh or SFU, as the relay decided.
    mode: RoomMode,
    /// The ICE servers the relay handed out.
    ice_servers: Vec<IceServer>,
    /// Everyone else, in join order.
    others: BTreeMap<ParticipantId, Remote>,
    /// The room's chat.
    chat: ChatLog,
    /// Our display name.
    name: String,
    /// The state of the media connection to the relay (SFU mode).
    relay_link: Option<Link>,
    /// A host locked the room.
    locked: bool,
    /// The lobby is on.
    lobby: bool,
    /// Who waits in the lobby (hosts are told; empty for everyone else).
    waiting: Vec<Waiter>,
    /// Participants' cameras go to the hosts only.
    cameras_to_hosts: bool,
    /// The room's password, as hosts are told it.
    password: Option<String>,
    /// How many listen (hosts also see who).
    listeners: u32,
    /// Listeners may chat.
    listener_chat: bool,
    /// Failed connections this side restarts, with when the last restart began (ms).
    restarting: Vec<(PeerId, f64)>,
    /// Our connection to the relay has been up (SFU mode).
    relay_was_up: bool,
    /// What the `join` that resumes our seat said we keep (see [`Meeting::keep_on_resume`]).
    kept: Kept,
}

/// How long a failed connection gets after an ICE restart before the next one. A browser
/// reports an ICE restart that fails by staying `failed` (no change to react to), so without
/// a retry one lost restart (its checks starved on a busy machine, a network still coming
/// back) would leave the connection dead for good.
pub const RESTART_AGAIN_MS: f64 = 15_000.0;

impl Meeting {
    /// A meeting about to join `room` as `name`.
    pub fn new(room: &str, name: &str) -> Self {
        Self {
            phase: Phase::Joining,
            me: None,
            own_media: MediaState::default(),
            room: room.to_owned(),
            mode: RoomMode::Mesh,
            ice_servers: Vec::new(),
            others: BTreeMap::new(),
            chat: ChatLog::default(),
            name: name.to_owned(),
            relay_link: None,
            locked: false,
            lobby: false,
            waiting: Vec::new(),
            cameras_to_hosts: false,
            password: None,
            listeners: 0,
            listener_chat: false,
            restarting: Vec::new(),
            relay_was_up: false,
            kept: Kept::default(),
        }
    }

    /// Whether the lobby is on (newcomers wait to be let in).
    pub fn lobby(&self) -> bool {
        self.lobby
    }

    /// How many people listen.
    pub fn listeners(&self) -> u32 {
        self.listeners
    }

    /// Whether we listen only (no camera, no microphone).
    pub fn listening(&self) -> bool {
        self.me.as_ref().is_some_and(|me| me.role == Role::Listener)
    }

    /// Whether listeners may chat.
    pub fn listener_chat(&self) -> bool {
        self.listener_chat
    }

    /// Whether we may chat (listeners only when a host allows it).
    pub fn may_chat(&self) -> bool {
        !self.listening() || self.listener_chat
    }

    /// The room's password, if a host set one (hosts are told; others never).
    pub fn password(&self) -> Option<&str> {
        self.password.as_deref()
    }

    /// Whether participants' cameras go to the hosts only.
    pub fn cameras_to_hosts(&self) -> bool {
        self.cameras_to_hosts
    }

    /// Whether the relay withholds `other`'s camera from us: in a room whose cameras go to the
    /// hosts only, a participant sees the hosts' cameras and no one else's.
    pub fn camera_withheld(&self, other: &ParticipantInfo) -> bool {
        self.cameras_to_hosts
            && other.role != Role::Host
            && self.me.as_ref().is_none_or(|me| me.role != Role::Host)
    }

    /// Who waits in the lobby, in the order they knocked (known to hosts only).
    pub fn waiting(&self) -> &[Waiter] {
        &self.waiting
    }

    /// Whether a host locked the room (nobody new gets in).
    pub fn locked(&self) -> bool {
        self.locked
    }

    /// The room's chat.
    pub fn chat(&self) -> &ChatLog {
        &self.chat
    }

    /// The room's chat, to open or close the panel.
    pub fn chat_mut(&mut self) -> &mut ChatLog {
        &mut self.chat
    }

    /// Everyone with a raised hand, ourselves included, in the order the hands went up.
    pub fn raised_hands(&self) -> Vec<(ParticipantId, String)> {
        let mut hands: Vec<(u64, ParticipantId, String)> = self
            .others
            .values()
            .map(|r| &r.info)
            .chain(self.me.as_ref())
            .filter_map(|p| p.hand.map(|order| (order, p.id, p.name.clone())))
            .collect();
        hands.sort();
        hands.into_iter().map(|(_, id, name)| (id, name)).collect()
    }

    /// Joining or joined.
    pub fn phase(&self) -> &Phase {
        &self.phase
    }

    /// Ourselves, once welcomed.
    pub fn me(&self) -> Option<&ParticipantInfo> {
        self.me.as_ref()
    }

    /// The room's name.
    pub fn room(&self) -> &str {
        &self.room
    }

    /// Mesh or SFU.
    pub fn mode(&self) -> RoomMode {
        self.mode
    }

    /// ICE servers for new peer connections.
    pub fn ice_servers(&self) -> &[IceServer] {
        &self.ice_servers
    }

    /// Everyone else, in join order.
    pub fn others(&self) -> impl Iterator<Item = &Remote> {
        self.others.values()
    }

    /// One other participant.
    pub fn other(&self, id: ParticipantId) -> Option<&Remote> {
        self.others.get(&id)
    }

    /// Who is polite between us and `other`: the later joiner (higher id).
    fn polite_towards(&self, other: ParticipantId) -> bool {
        self.me.as_ref().is_some_and(|me| me.id > other)
    }

    /// Applies a message from the relay.
    pub fn on_server_message(&mut self, message: ServerMessage) -> Vec<Effect> {
        match message {
            welcome @ ServerMessage::Welcome { .. } => self.on_welcome(welcome),
            ServerMessage::ParticipantJoined { participant } => self.on_joined(participant),
            ServerMessage::ParticipantUpdated { participant } => self.on_updated(participant),
            ServerMessage::ParticipantReconnected { participant, kept } => {
                self.on_reconnected(participant, kept)
            }
            ServerMessage::ParticipantLeft { id } => match self.others.remove(&id) {
                Some(remote) => vec![
                    Effect::ClosePeer(PeerId::Participant(id)),
                    Effect::Announce(Announcement::about("announce-left", remote.info.name)),
                ],
                None => Vec::new(),
            },
            ServerMessage::Chat { message } => self.on_chat(message),
            ServerMessage::ModeChanged { mode } => {
                if mode == RoomMode::Sfu && self.mode == RoomMode::Mesh {
                    // Make before break: connect to the relay now; the glue drops each direct
                    // connection once the relay delivers that participant's media.
                    self.mode = RoomMode::Sfu;
                    vec![Effect::OpenRelayPeer]
                } else {
                    Vec::new()
                }
            }
            ServerMessage::RelaySignal { signal } => {
                if self.mode == RoomMode::Sfu {
                    vec![Effect::RelaySignal(signal)]
                } else {
                    Vec::new()
                }
            }
            ServerMessage::Signal { from, signal: Signal::Rebuild } => self.on_rebuild(from),
            ServerMessage::Signal { from, signal } => {
                if self.others.contains_key(&from) {
                    vec![Effect::PeerSignal { from, signal }]
                } else {
                    Vec::new()
                }
            }
            ServerMessage::Error { code, message, .. } => self.on_error(code, message),
            ServerMessage::Moderated { action, by } => self.on_moderated(action, by),
            ServerMessage::Audience { listeners } => {
                self.listeners = listeners;
                Vec::new()
            }
            ServerMessage::Waiting { room, .. } => {
                self.phase = Phase::Waiting;
                self.room = room;
                Vec::new()
            }
            ServerMessage::Lobby { waiting } => self.on_lobby(waiting),
            ServerMessage::Hello { .. } | ServerMessage::Pong { .. } => Vec::new(),
        }
    }

    /// Enters the room (or comes back into our seat): everything `welcome` says.
    fn on_welcome(&mut self, welcome: ServerMessage) -> Vec<Effect> {
        let ServerMessage::Welcome {
            you,
            room,
            role,
            host_link,
            mode,
            participants,
            ice_servers,
            chat,
            locked,
            lobby,
            cameras_to_hosts,
            listeners,
            listener_chat,
            kept,
            ..
        } = welcome
        else {
            return Vec::new();
        };
        // Back in our own seat (not a first join, nor a fresh seat after ours expired).
        let resumed = self.me.as_ref().is_some_and(|me| me.id == you);
        let before = self.mode;
        self.listeners = listeners;
        self.listener_chat = listener_chat;
        self.phase = Phase::Joined;
        self.locked = locked;
        self.lobby = lobby;
        self.cameras_to_hosts = cameras_to_hosts;
        if role != Role::Host {
            self.waiting.clear();
        }
        self.room = room;
        self.mode = mode;
        self.ice_servers = ice_servers;
        self.chat.reset(chat);
        let media = self.own_media;
        // Back in our own seat, our hand is still where it was.
        let hand = self.me.as_ref().filter(|m| m.id == you).and_then(|m| m.hand);
        let name = self.name.clone();
        let mic_locked = self.me.as_ref().filter(|m| m.id == you).is_some_and(|m| m.mic_locked);
        self.me = Some(ParticipantInfo {
            id: you,
            name,
            role,
            media,
            hand,
            away: false,
            mic_locked,
            host_link,
        });
        self.connect_to(participants, resumed && kept, before)
    }

    /// After `welcome`: which media connections stay, which close and which open, for the
    /// `participants` present. `kept`: the relay kept our seat and what our `join` named;
    /// `before`: the room's mode until now.
    fn connect_to(
        &mut self,
        participants: Vec<ParticipantInfo>,
        kept: bool,
        before: RoomMode,
    ) -> Vec<Effect> {
        let mode = self.mode;
        // What the relay agreed to keep of what our `join` named, in an unchanged mode;
        // everything else starts afresh.
        let asked = std::mem::take(&mut self.kept);
        let same = kept && before == mode;
        let keep_relay = same && mode == RoomMode::Sfu && asked.relay;
        let keep_peers = if same && mode == RoomMode::Mesh { asked.peers } else { vec![] };
        let mut previous = std::mem::take(&mut self.others);
        // Kept: a mesh connection named in our `join`, or (SFU) anyone whose media
        // comes over the kept connection to the relay. Everyone else's closes.
        let present: Vec<ParticipantId> = participants.iter().map(|p| p.id).collect();
        let stays =
            |id: &ParticipantId| (keep_relay || keep_peers.contains(id)) && present.contains(id);
        let mut effects: Vec<Effect> = previous
            .keys()
            .filter(|id| !stays(id))
            .map(|id| Effect::ClosePeer(PeerId::Participant(*id)))
            .collect();
        if !keep_relay && (self.relay_link.take().is_some() || before == RoomMode::Sfu) {
            effects.push(Effect::ClosePeer(PeerId::Relay));
            self.relay_was_up = false;
        }
        // In a mesh the newcomer offers to everyone already there; with server
        // forwarding it offers once, to the relay.
        if mode == RoomMode::Sfu {
            effects.push(if keep_relay {
                Effect::ResendOffer(PeerId::Relay)
            } else {
                Effect::OpenRelayPeer
            });
        }
        for info in participants {
            let id = info.id;
            if let Some(mut remote) = previous.remove(&id).filter(|_| stays(&id)) {
                remote.info = info;
                let failed = remote.link == Link::Failed;
                self.others.insert(id, remote);
                if mode == RoomMode::Mesh {
                    effects.extend(self.keep(id, failed));
                }
                continue;
            }
            let link = match (mode, self.relay_link) {
                (RoomMode::Sfu, Some(link)) => link,
                _ => Link::Connecting,
            };
            self.others.insert(id, Remote::new(info, link));
            if mode == RoomMode::Mesh {
                effects.push(self.open(id, true));
            }
        }
        effects
    }

    /// Someone entered the room.
    fn on_joined(&mut self, participant: ParticipantInfo) -> Vec<Effect> {
        let id = participant.id;
        let name = participant.name.clone();
        let replaced = self.others.insert(id, Remote::new(participant, Link::Connecting));
        let mut effects = Vec::new();
        if replaced.is_some() {
            effects.push(Effect::ClosePeer(PeerId::Participant(id)));
        }
        if self.mode == RoomMode::Mesh {
            effects.push(self.open(id, false));
        } else if let Some(relay_link) = self.relay_link {
            // Their media arrives over the existing relay connection.
            if let Some(remote) = self.others.get_mut(&id) {
                remote.link = relay_link;
            }
        }
        effects.push(Effect::Announce(Announcement::about("announce-joined", name)));
        effects
    }

    /// Someone's media, hand, role or presence changed (ours included).
    fn on_updated(&mut self, participant: ParticipantInfo) -> Vec<Effect> {
        if let Some(me) = self.me.as_mut().filter(|me| me.id == participant.id) {
            // Only the relay knows our hand's place in the queue, and whether hosting
            // has passed to us.
            me.hand = participant.hand;
            me.role = participant.role;
            me.mic_locked = participant.mic_locked;
            return Vec::new();
        }
        let Some(remote) = self.others.get_mut(&participant.id) else {
            return Vec::new();
        };
        let previous = std::mem::replace(&mut remote.info, participant);
        let now = &remote.info;
        let name = now.name.as_str();
        let mut effects = Vec::new();
        let mut announce = |key| effects.push(Effect::Announce(Announcement::about(key, name)));
        match (previous.media.audio, now.media.audio) {
            (true, false) => announce("announce-muted"),
            (false, true) => announce("announce-unmuted"),
            _ => {}
        }
        match (previous.media.screen, now.media.screen) {
            (false, true) => announce("announce-screen-started"),
            (true, false) => announce("announce-screen-stopped"),
            _ => {}
        }
        match (previous.hand.is_some(), now.hand.is_some()) {
            (false, true) => announce("announce-hand-raised"),
            (true, false) => announce("announce-hand-lowered"),
            _ => {}
        }
        if !previous.away && now.away {
            announce("announce-away");
        }
        effects
    }

    /// Someone came back into their seat on a new connection.
    fn on_reconnected(&mut self, participant: ParticipantInfo, kept: bool) -> Vec<Effect> {
        let id = participant.id;
        let name = participant.name.clone();
        let mut effects = Vec::new();
        match self.others.get_mut(&id) {
            // They kept their connection to us: so do we.
            Some(remote) if kept && self.mode == RoomMode::Mesh => {
                remote.info = participant;
                let failed = remote.link == Link::Failed;
                effects.extend(self.keep(id, failed));
            }
            // Otherwise they start their media connections afresh, offering to
            // everyone as a newcomer does.
            _ => {
                let link = if self.mode == RoomMode::Sfu {
                    self.relay_link.unwrap_or(Link::Connecting)
                } else {
                    Link::Connecting
                };
                self.others.insert(id, Remote::new(participant, link));
                if self.mode == RoomMode::Mesh {
                    effects.push(Effect::ClosePeer(PeerId::Participant(id)));
                    effects.push(self.open(id, false));
                }
            }
        }
        effects.push(Effect::Announce(Announcement::about("announce-reconnected", name)));
        effects
    }

    /// A chat message, ours included.
    fn on_chat(&mut self, message: ChatMessage) -> Vec<Effect> {
        let mine = self.me.as_ref().is_some_and(|me| me.id == message.from);
        let announcement = Announcement {
            key: "announce-chat",
            name: message.name.clone(),
            detail: message.text.clone(),
        };
        self.chat.push(message, mine);
        if mine { Vec::new() } else { vec![Effect::Announce(announcement)] }
    }

    /// `from` replaced its direct connection to us.
    fn on_rebuild(&mut self, from: ParticipantId) -> Vec<Effect> {
        if self.mode != RoomMode::Mesh || !self.others.contains_key(&from) {
            Vec::new()
        } else if self.polite_towards(from) {
            // They replaced their connection to us: ours goes, and a new one waits for
            // their offer.
            if let Some(remote) = self.others.get_mut(&from) {
                remote.link = Link::Connecting;
            }
            vec![Effect::ClosePeer(PeerId::Participant(from)), self.open(from, false)]
        } else {
            self.rebuild(from)
        }
    }

    /// An error from the relay: a refusal ends the attempt to join, a notice does not.
    fn on_error(&self, code: ErrorCode, message: String) -> Vec<Effect> {
        // Refusals of `join` end the attempt; so do a protocol mismatch and an internal
        // error. A restarting relay does not: the connection closes next, and the call
        // reconnects by itself.
        let fatal = code != ErrorCode::ShuttingDown
            && (self.phase == Phase::Joining
                && !matches!(code, ErrorCode::RateLimited | ErrorCode::UnknownParticipant)
                || code.is_fatal());
        vec![Effect::ShowError { error: UserError::Relay(code, message), fatal }]
    }

    /// A host did something to us or to the room.
    fn on_moderated(&mut self, action: Moderation, by: ParticipantId) -> Vec<Effect> {
        let host = self.others.get(&by).map(|r| r.info.name.clone()).unwrap_or_default();
        match action {
            Moderation::Mute { .. } => vec![
                Effect::MuteMicrophone,
                Effect::Announce(Announcement::about("announce-muted-by-host", host)),
            ],
            Moderation::LockMicrophone { locked: true, .. } => vec![
                Effect::MuteMicrophone,
                Effect::Announce(Announcement::about("announce-mic-locked-by-host", host)),
            ],
            Moderation::LockMicrophone { locked: false, .. } => {
                vec![Effect::Announce(Announcement::about("announce-mic-unlocked-by-host", host))]
            }
            Moderation::CameraOff { .. } => vec![
                Effect::CameraOff,
                Effect::Announce(Announcement::about("announce-camera-off-by-host", host)),
            ],
            Moderation::StopScreen { .. } => vec![
                Effect::StopScreen,
                Effect::Announce(Announcement::about("announce-screen-stopped-by-host", host)),
            ],
            Moderation::Remove { .. } => {
                vec![Effect::ShowError { error: UserError::Removed, fatal: true }]
            }
            Moderation::EndMeeting => {
                vec![Effect::ShowError { error: UserError::MeetingEnded, fatal: true }]
            }
            Moderation::Lock { locked } => {
                self.locked = locked;
                let key = if locked { "announce-locked" } else { "announce-unlocked" };
                vec![Effect::Announce(Announcement::about(key, host))]
            }
            Moderation::Lobby { on } => {
                self.lobby = on;
                let key = if on { "announce-lobby-on" } else { "announce-lobby-off" };
                vec![Effect::Announce(Announcement::about(key, host))]
            }
            Moderation::CamerasToHosts { on } => {
                self.cameras_to_hosts = on;
                let key = if on {
                    "announce-cameras-to-hosts-on"
                } else {
                    "announce-cameras-to-hosts-off"
                };
                vec![Effect::Announce(Announcement::about(key, host))]
            }
            Moderation::ListenerChat { allowed } => {
                self.listener_chat = allowed;
                let key = if allowed {
                    "announce-listener-chat-on"
                } else {
                    "announce-listener-chat-off"
                };
                vec![Effect::Announce(Announcement::about(key, host))]
            }
            Moderation::SetPassword { password } => {
                let key = if password.is_some() {
                    "announce-password-set"
                } else {
                    "announce-password-removed"
                };
                self.password = password;
                vec![Effect::Announce(Announcement::about(key, host))]
            }
            Moderation::Deny { .. } => {
                vec![Effect::ShowError { error: UserError::Denied, fatal: true }]
            }
            // Told to everyone as `participant_updated`.
            Moderation::LowerHand { .. }
            | Moderation::MakeHost { .. }
            | Moderation::RevokeHost { .. }
            | Moderation::MuteAll
            | Moderation::LowerAllHands
            | Moderation::Admit { .. }
            | Moderation::AdmitAll => Vec::new(),
        }
    }

    /// Who waits in the lobby now (hosts only).
    fn on_lobby(&mut self, waiting: Vec<Waiter>) -> Vec<Effect> {
        // Hosts hear of each newcomer once.
        let effects = waiting
            .iter()
            .filter(|w| !self.waiting.iter().any(|known| known.id == w.id))
            .map(|w| Effect::Announce(Announcement::about("announce-knocking", &w.name)))
            .collect();
        self.waiting = waiting;
        effects
    }

    /// Records our own microphone / camera state (sent to the relay by the glue).
    pub fn set_own_media(&mut self, media: MediaState) {
        self.own_media = media;
        if let Some(me) = self.me.as_mut() {
            me.media = media;
        }
    }

    /// What to ask the relay to keep when our `join` resumes our seat: the media connections
    /// that had come up (see [`protocol::ClientMessage::Join`]). The `welcome` keeps exactly
    /// these, if the relay agrees.
    pub fn keep_on_resume(&mut self) -> Kept {
        self.kept = match self.mode {
            RoomMode::Mesh => Kept {
                peers: self.others.values().filter(|r| r.was_up).map(|r| r.info.id).collect(),
                relay: false,
            },
            RoomMode::Sfu => Kept { peers: Vec::new(), relay: self.relay_was_up },
        };
        self.kept.clone()
    }

    /// A mesh connection to `id` kept across a broken signalling connection: whatever either
    /// side offered meanwhile may be lost, so an offer of ours still unanswered goes again. One
    /// whose ICE is still down (`failed`) is replaced instead: a browser whose ICE failed does
    /// not reliably recover through a restart (in the lab, Firefox answered one with the other
    /// DTLS role, or sent nothing after it).
    fn keep(&mut self, id: ParticipantId, failed: bool) -> Vec<Effect> {
        if failed {
            self.on_broken(PeerId::Participant(id))
        } else {
            vec![Effect::ResendOffer(PeerId::Participant(id))]
        }
    }

    /// The connection `peer` can no longer be negotiated: a description failed to apply (a
    /// connection kept across a dropout whose other end changed its DTLS role, say). For a
    /// direct connection, the side that restarts ICE replaces it; the other asks for that. The
    /// relay's connection is left to its own repair (ICE restarts, a new one after a resume).
    pub fn on_broken(&mut self, peer: PeerId) -> Vec<Effect> {
        let PeerId::Participant(id) = peer else { return Vec::new() };
        if self.mode != RoomMode::Mesh || !self.others.contains_key(&id) {
            return Vec::new();
        }
        if self.polite_towards(id) {
            return vec![Effect::SendSignal { to: id, signal: Signal::Rebuild }];
        }
        self.rebuild(id)
    }

    /// Replaces our connection to `id` (we are the impolite side): they hear of it first, so
    /// that our offer finds their new connection. Once per new connection until it is up.
    fn rebuild(&mut self, id: ParticipantId) -> Vec<Effect> {
        let Some(remote) = self.others.get_mut(&id).filter(|r| !r.rebuilding) else {
            return Vec::new();
        };
        remote.rebuilding = true;
        remote.link = Link::Connecting;
        self.restarting.retain(|(peer, _)| *peer != PeerId::Participant(id));
        vec![
            Effect::SendSignal { to: id, signal: Signal::Rebuild },
            Effect::ClosePeer(PeerId::Participant(id)),
            self.open(id, true),
        ]
    }

    /// Opens a connection to `id` (mesh), which is in `others`; `offer`: we make the first
    /// offer (and will restart its ICE).
    fn open(&mut self, id: ParticipantId, offer: bool) -> Effect {
        let polite = self.polite_towards(id);
        if let Some(remote) = self.others.get_mut(&id) {
            remote.offerer = offer;
        }
        Effect::OpenPeer { id, polite, offer }
    }

    /// Lets time pass (`now` in ms): a connection this side restarts that is still failed
    /// [`RESTART_AGAIN_MS`] after its last restart is restarted again.
    pub fn on_tick(&mut self, now: f64) -> Vec<Effect> {
        let mut failed: Vec<PeerId> = Vec::new();
        if self.relay_link == Some(Link::Failed) {
            failed.push(PeerId::Relay);
        }
        if self.mode == RoomMode::Mesh {
            failed.extend(
                self.others
                    .values()
                    .filter(|r| r.link == Link::Failed && r.offerer)
                    .map(|r| PeerId::Participant(r.info.id)),
            );
        }
        // The first restart went out when the connection failed; count from now.
        let restarting = std::mem::take(&mut self.restarting);
        let mut effects = Vec::new();
        for id in failed {
            let mut last = restarting.iter().find(|(peer, _)| *peer == id).map_or(now, |r| r.1);
            if now - last >= RESTART_AGAIN_MS {
                last = now;
                effects.push(Effect::RestartIce(id));
            }
            self.restarting.push((id, last));
        }
        effects
    }

    /// The peer connection `peer` changed its `connectionState`.
    pub fn on_link_state(&mut self, peer: PeerId, link: Link) -> Vec<Effect> {
        let PeerId::Participant(id) = peer else { return self.on_relay_link(link) };
        let Some(remote) = self.others.get_mut(&id) else {
            return Vec::new();
        };
        if remote.link == link {
            return Vec::new();
        }
        let previous = remote.link;
        remote.link = link;
        remote.was_up |= link == Link::Connected;
        if link == Link::Connected {
            remote.rebuilding = false;
        }
        if link == Link::Connected && previous == Link::Failed {
            return vec![Effect::NetworkBack];
        }
        if link == Link::Failed && previous != Link::Failed {
            let mut effects = vec![Effect::ShowError {
                error: UserError::PeerFailed(remote.info.name.clone()),
                fatal: false,
            }];
            // One side restarts ICE, so the two restarts don't collide: the one that offered
            // first (see `Remote::offerer`).
            if remote.offerer {
                effects.push(Effect::RestartIce(peer));
            }
            return effects;
        }
        Vec::new()
    }

    /// The connection to the relay changed its `connectionState`: in SFU mode everyone's media
    /// shares it.
    fn on_relay_link(&mut self, link: Link) -> Vec<Effect> {
        let previous = self.relay_link.replace(link);
        self.relay_was_up |= link == Link::Connected;
        for remote in self.others.values_mut() {
            remote.link = link;
        }
        if link == Link::Connected && previous == Some(Link::Failed) {
            return vec![Effect::NetworkBack];
        }
        if link == Link::Failed && previous != Some(Link::Failed) {
            // The browser is always the side that restarts ICE towards the relay (a new
            // network, a NAT that changed its port, or a path the relay does not use).
            return vec![
                Effect::ShowError { error: UserError::RelayLost, fatal: false },
                Effect::RestartIce(PeerId::Relay),
            ];
        }
        Vec::new()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use protocol::Role;

    /// The direct connection to participant `id`.
    fn direct(id: u64) -> PeerId {
        PeerId::Participant(ParticipantId(id))
    }

    fn info(id: u64, name: &str) -> ParticipantInfo {
        ParticipantInfo {
            id: ParticipantId(id),
            name: name.into(),
            role: Role::Participant,
            media: MediaState::default(),
            hand: None,
            away: false,
            mic_locked: false,
            host_link: false,
        }
    }

    fn welcome(you: u64, others: Vec<ParticipantInfo>) -> ServerMessage {
        ServerMessage::Welcome {
            request_id: None,
            you: ParticipantId(you),
            room: "demo".into(),
            role: Role::Participant,
            host_link: false,
            mode: RoomMode::Mesh,
            participants: others,
            ice_servers: vec![],
            chat: vec![],
            resume_token: None,
            locked: false,
            lobby: false,
            cameras_to_hosts: false,
            listeners: 0,
            listener_chat: false,
            kept: false,
        }
    }

    /// A `welcome` back into our seat, saying whether the relay keeps what we asked.
    fn welcome_back(you: u64, others: Vec<ParticipantInfo>, kept: bool) -> ServerMessage {
        let mut welcome = welcome(you, others);
        if let ServerMessage::Welcome { kept: k, .. } = &mut welcome {
            *k = kept;
        }
        welcome
    }

    #[test]
    fn what_we_send_before_the_welcome_is_ours_once_in_and_we_are_nobody_before() {
        let mut m = Meeting::new("demo", "Me");
        let camera_only = MediaState { audio: false, video: true, screen: false };
        m.set_own_media(camera_only);
        assert_eq!(m.me(), None, "no participant id before the relay gives one");
        m.on_server_message(welcome(5, vec![info(1, "Anna")]));
        let me = m.me().expect("welcomed");
        assert_eq!((me.id, me.name.as_str(), me.media), (ParticipantId(5), "Me", camera_only));
        m.set_own_media(MediaState::default());
        assert_eq!(m.me().map(|me| me.media), Some(MediaState::default()));
    }

    #[test]
    fn newcomer_offers_to_everyone_and_is_polite() {
        let mut m = Meeting::new("demo", "Me");
        let effects = m.on_server_message(welcome(5, vec![info(1, "Anna"), info(3, "Bob")]));
        assert_eq!(
            effects,
            vec![
                Effect::OpenPeer { id: ParticipantId(1), polite: true, offer: true },
                Effect::OpenPeer { id: ParticipantId(3), polite: true, offer: true },
            ]
        );
        assert_eq!(m.phase(), &Phase::Joined);
        assert_eq!(m.others().map(|r| r.info.name.as_str()).collect::<Vec<_>>(), ["Anna", "Bob"]);
    }

    #[test]
    fn members_wait_for_the_newcomers_offer_and_announce_it() {
        let mut m = Meeting::new("demo", "Me");
        m.on_server_message(welcome(1, vec![]));
        let effects =
            m.on_server_message(ServerMessage::ParticipantJoined { participant: info(2, "Cem") });
        assert_eq!(
            effects,
            vec![
                Effect::OpenPeer { id: ParticipantId(2), polite: false, offer: false },
                Effect::Announce(Announcement::about("announce-joined", "Cem")),
            ]
        );
    }

    #[test]
    fn leaving_closes_the_peer_and_mutes_are_announced() {
        let mut m = Meeting::new("demo", "Me");
        m.on_server_message(welcome(4, vec![info(2, "Dana")]));
        let mut muted = info(2, "Dana");
        muted.media.audio = false;
        let effects = m.on_server_message(ServerMessage::ParticipantUpdated { participant: muted });
        assert_eq!(effects, vec![Effect::Announce(Announcement::about("announce-muted", "Dana"))]);
        assert!(!m.other(ParticipantId(2)).expect("present").info.media.audio);

        let effects = m.on_server_message(ServerMessage::ParticipantLeft { id: ParticipantId(2) });
        assert_eq!(effects[0], Effect::ClosePeer(direct(2)));
        assert_eq!(m.others().count(), 0);
        assert!(
            m.on_server_message(ServerMessage::ParticipantLeft { id: ParticipantId(2) }).is_empty()
        );
    }

    #[test]
    fn signals_from_strangers_are_dropped() {
        let mut m = Meeting::new("demo", "Me");
        m.on_server_message(welcome(4, vec![info(2, "Dana")]));
        let offer = Signal::Offer { sdp: "v=0".into() };
        assert_eq!(
            m.on_server_message(ServerMessage::Signal {
                from: ParticipantId(9),
                signal: offer.clone()
            }),
            vec![]
        );
        assert_eq!(
            m.on_server_message(ServerMessage::Signal {
                from: ParticipantId(2),
                signal: offer.clone()
            }),
            vec![Effect::PeerSignal { from: ParticipantId(2), signal: offer }]
        );
    }

    #[test]
    fn a_failed_link_is_reported_once_and_restarted_by_the_side_that_offered() {
        // We came in second and offered to Fritz: restarting is ours.
        let mut m = Meeting::new("demo", "Me");
        m.on_server_message(welcome(2, vec![info(1, "Fritz")]));
        assert!(m.on_link_state(direct(1), Link::Connected).is_empty());
        let effects = m.on_link_state(direct(1), Link::Failed);
        assert_eq!(
            effects,
            vec![
                Effect::ShowError { error: UserError::PeerFailed("Fritz".into()), fatal: false },
                Effect::RestartIce(direct(1)),
            ]
        );
        assert!(m.on_link_state(direct(1), Link::Failed).is_empty());
        // The side that answered reports but leaves the restart to the other.
        let mut other = Meeting::new("demo", "Me");
        other.on_server_message(welcome(1, vec![]));
        other.on_server_message(ServerMessage::ParticipantJoined { participant: info(2, "Emil") });
        let effects = other.on_link_state(direct(2), Link::Failed);
        assert_eq!(
            effects,
            vec![Effect::ShowError { error: UserError::PeerFailed("Emil".into()), fatal: false }]
        );
        assert!(other.on_tick(0.0).is_empty());
        assert!(other.on_tick(10.0 * RESTART_AGAIN_MS).is_empty());
    }

    #[test]
    fn join_refusals_are_fatal_but_in_room_notices_are_not() {
        let mut m = Meeting::new("demo", "Me");
        let full = ServerMessage::Error {
            request_id: None,
            code: ErrorCode::RoomFull,
            message: "full".into(),
        };
        assert!(matches!(m.on_server_message(full)[..], [Effect::ShowError { fatal: true, .. }]));
        m.on_server_message(welcome(1, vec![]));
        let limited = ServerMessage::Error {
            request_id: None,
            code: ErrorCode::RateLimited,
            message: "slow".into(),
        };
        assert!(matches!(
            m.on_server_message(limited)[..],
            [Effect::ShowError { fatal: false, .. }]
        ));
        let bye = ServerMessage::Error {
            request_id: None,
            code: ErrorCode::ShuttingDown,
            message: "bye".into(),
        };
        assert!(
            matches!(m.on_server_message(bye)[..], [Effect::ShowError { fatal: false, .. }]),
            "a restarting relay is reconnected to, not the end of the meeting"
        );
    }

    #[test]
    fn chat_is_logged_announced_and_counted() {
        let mut m = Meeting::new("demo", "Me");
        let history = protocol::ChatMessage {
            id: 1,
            from: ParticipantId(2),
            name: "Dana".into(),
            text: "earlier".into(),
            sent_at_ms: 0,
        };
        m.on_server_message(ServerMessage::Welcome {
            request_id: None,
            you: ParticipantId(4),
            room: "demo".into(),
            role: Role::Participant,
            host_link: false,
            mode: RoomMode::Mesh,
            participants: vec![info(2, "Dana")],
            ice_servers: vec![],
            chat: vec![history.clone()],
            resume_token: None,
            locked: false,
            lobby: false,
            cameras_to_hosts: false,
            listeners: 0,
            listener_chat: false,
            kept: false,
        });
        assert_eq!(m.chat().messages().count(), 1);
        let from_dana = protocol::ChatMessage { id: 2, text: "hallo".into(), ..history.clone() };
        let effects = m.on_server_message(ServerMessage::Chat { message: from_dana });
        assert_eq!(
            effects,
            vec![Effect::Announce(Announcement {
                key: "announce-chat",
                name: "Dana".into(),
                detail: "hallo".into()
            })]
        );
        assert_eq!(m.chat().unread(), 1);
        let mine =
            protocol::ChatMessage { id: 3, from: ParticipantId(4), name: "Me".into(), ..history };
        assert!(m.on_server_message(ServerMessage::Chat { message: mine }).is_empty());
        assert_eq!(m.chat().unread(), 1, "own messages are never unread");
    }

    #[test]
    fn hands_are_listed_in_the_order_they_went_up() {
        let mut m = Meeting::new("demo", "Me");
        m.on_server_message(welcome(4, vec![info(2, "Dana"), info(3, "Emil")]));
        let raise = |id, name: &str, order| ServerMessage::ParticipantUpdated {
            participant: ParticipantInfo { hand: order, ..info(id, name) },
        };
        let effects = m.on_server_message(raise(3, "Emil", Some(7)));
        assert_eq!(
            effects,
            vec![Effect::Announce(Announcement::about("announce-hand-raised", "Emil"))]
        );
        m.on_server_message(raise(4, "Me", Some(8)));
        m.on_server_message(raise(2, "Dana", Some(9)));
        let names: Vec<_> = m.raised_hands().into_iter().map(|(_, n)| n).collect();
        assert_eq!(names, ["Emil", "Me", "Dana"]);
        let effects = m.on_server_message(raise(3, "Emil", None));
        assert_eq!(
            effects,
            vec![Effect::Announce(Announcement::about("announce-hand-lowered", "Emil"))]
        );
        assert_eq!(m.raised_hands().len(), 2);
    }

    #[test]
    fn in_sfu_rooms_one_connection_to_the_relay_carries_everyone() {
        let mut m = Meeting::new("klasse-7b", "Me");
        let welcome = ServerMessage::Welcome {
            request_id: None,
            you: ParticipantId(5),
            room: "klasse-7b".into(),
            role: Role::Participant,
            host_link: false,
            mode: RoomMode::Sfu,
            participants: vec![info(1, "Anna"), info(2, "Bob")],
            ice_servers: vec![],
            chat: vec![],
            resume_token: None,
            locked: false,
            lobby: false,
            cameras_to_hosts: false,
            listeners: 0,
            listener_chat: false,
            kept: false,
        };
        assert_eq!(m.on_server_message(welcome), vec![Effect::OpenRelayPeer]);
        let joined =
            m.on_server_message(ServerMessage::ParticipantJoined { participant: info(6, "Cem") });
        assert_eq!(joined, vec![Effect::Announce(Announcement::about("announce-joined", "Cem"))]);
        let offer = Signal::Offer { sdp: "v=0".into() };
        assert_eq!(
            m.on_server_message(ServerMessage::RelaySignal { signal: offer.clone() }),
            vec![Effect::RelaySignal(offer)]
        );
        assert!(m.on_link_state(PeerId::Relay, Link::Connected).is_empty());
        assert!(m.others().all(|r| r.link == Link::Connected));
        let failed = m.on_link_state(PeerId::Relay, Link::Failed);
        assert_eq!(
            failed,
            vec![
                Effect::ShowError { error: UserError::RelayLost, fatal: false },
                Effect::RestartIce(PeerId::Relay)
            ]
        );
    }

    #[test]
    fn a_failed_connection_is_restarted_again_until_it_recovers() {
        let mut m = Meeting::new("demo", "Me");
        m.on_server_message(welcome(1, vec![info(2, "Emil"), info(3, "Cem")]));
        // We offered to 2 and 3 on arrival: ours to restart.
        assert!(m.on_link_state(direct(2), Link::Failed).contains(&Effect::RestartIce(direct(2))));
        assert!(m.on_tick(1_000.0).is_empty(), "the first restart is under way");
        assert!(m.on_tick(1_000.0 + RESTART_AGAIN_MS - 1.0).is_empty());
        assert_eq!(
            m.on_tick(1_000.0 + RESTART_AGAIN_MS),
            vec![Effect::RestartIce(direct(2))],
            "still failed: once more"
        );
        assert!(m.on_tick(1_000.0 + RESTART_AGAIN_MS + 1.0).is_empty());
        // Recovered: nothing more, and a later failure starts counting afresh.
        m.on_link_state(direct(2), Link::Connected);
        assert!(m.on_tick(100_000.0).is_empty());
        m.on_link_state(direct(2), Link::Failed);
        assert!(m.on_tick(100_001.0).is_empty());
        assert_eq!(m.on_tick(100_001.0 + RESTART_AGAIN_MS), vec![Effect::RestartIce(direct(2))]);
    }

    #[test]
    fn the_relay_connection_is_restarted_again_while_it_stays_failed() {
        let mut m = Meeting::new("demo", "Me");
        let mut welcome = welcome(1, vec![info(2, "Emil")]);
        if let ServerMessage::Welcome { mode, .. } = &mut welcome {
            *mode = RoomMode::Sfu;
        }
        m.on_server_message(welcome);
        m.on_link_state(PeerId::Relay, Link::Connected);
        assert!(
            m.on_link_state(PeerId::Relay, Link::Failed)
                .contains(&Effect::RestartIce(PeerId::Relay))
        );
        assert!(m.on_tick(0.0).is_empty());
        assert_eq!(m.on_tick(RESTART_AGAIN_MS), vec![Effect::RestartIce(PeerId::Relay)]);
        // The direct links mirror the relay's in SFU mode; they are not restarted themselves.
        assert_eq!(m.on_tick(2.0 * RESTART_AGAIN_MS), vec![Effect::RestartIce(PeerId::Relay)]);
    }

    #[test]
    fn relay_signals_are_ignored_in_a_mesh() {
        let mut m = Meeting::new("demo", "Me");
        m.on_server_message(welcome(1, vec![]));
        let offer = Signal::Offer { sdp: "v=0".into() };
        assert!(m.on_server_message(ServerMessage::RelaySignal { signal: offer }).is_empty());
    }

    #[test]
    fn a_growing_mesh_moves_to_the_relay_without_dropping_anyone() {
        let mut m = Meeting::new("demo", "Me");
        m.on_server_message(welcome(3, vec![info(1, "Anna"), info(2, "Bob")]));
        let effects = m.on_server_message(ServerMessage::ModeChanged { mode: RoomMode::Sfu });
        assert_eq!(effects, vec![Effect::OpenRelayPeer], "no mesh connection is closed yet");
        assert_eq!(m.mode(), RoomMode::Sfu);
        assert!(m.on_server_message(ServerMessage::ModeChanged { mode: RoomMode::Sfu }).is_empty());
        // Newcomers after the switch come over the relay only.
        let joined =
            m.on_server_message(ServerMessage::ParticipantJoined { participant: info(4, "Cem") });
        assert!(!joined.iter().any(|e| matches!(e, Effect::OpenPeer { .. })));
    }

    #[test]
    fn back_in_our_seat_connections_that_were_up_stay_and_our_hand_stays_up() {
        let mut m = Meeting::new("demo", "Me");
        m.on_server_message(welcome(2, vec![info(1, "Anna")]));
        m.on_server_message(ServerMessage::ParticipantJoined { participant: info(3, "Cem") });
        m.on_server_message(ServerMessage::ParticipantJoined { participant: info(4, "Dana") });
        m.on_server_message(ServerMessage::ParticipantUpdated {
            participant: ParticipantInfo { hand: Some(4), ..info(2, "Me") },
        });
        // Our connections to Anna and Cem came up; Dana's was still setting up.
        m.on_link_state(direct(1), Link::Connected);
        m.on_link_state(direct(3), Link::Connected);
        m.on_link_state(direct(3), Link::Failed);
        let kept = m.keep_on_resume();
        assert_eq!(kept, Kept { peers: vec![ParticipantId(1), ParticipantId(3)], relay: false });

        // Cem left while we were away, Emil came; Anna and Dana are still there.
        let effects = m.on_server_message(welcome_back(
            2,
            vec![info(1, "Anna"), info(4, "Dana"), info(5, "Emil")],
            true,
        ));
        assert_eq!(
            effects,
            vec![
                Effect::ClosePeer(direct(3)),
                Effect::ClosePeer(direct(4)),
                Effect::ResendOffer(direct(1)),
                Effect::OpenPeer { id: ParticipantId(4), polite: false, offer: true },
                Effect::OpenPeer { id: ParticipantId(5), polite: false, offer: true },
            ]
        );
        assert_eq!(m.other(ParticipantId(1)).map(|r| r.link), Some(Link::Connected));
        assert_eq!(m.others().count(), 3);
        assert_eq!(m.me().and_then(|me| me.hand), Some(4));
    }

    #[test]
    fn back_in_our_seat_without_the_relays_word_every_connection_starts_afresh() {
        let mut m = Meeting::new("demo", "Me");
        m.on_server_message(welcome(2, vec![info(1, "Anna")]));
        m.on_link_state(direct(1), Link::Connected);
        m.keep_on_resume();
        let effects = m.on_server_message(welcome_back(2, vec![info(1, "Anna")], false));
        assert_eq!(
            effects,
            vec![
                Effect::ClosePeer(direct(1)),
                Effect::OpenPeer { id: ParticipantId(1), polite: true, offer: true },
            ]
        );
        // A fresh meeting (our seat had expired) keeps nothing either.
        let mut fresh = Meeting::new("demo", "Me");
        let effects = fresh.on_server_message(welcome_back(7, vec![info(1, "Anna")], true));
        assert_eq!(
            effects,
            vec![Effect::OpenPeer { id: ParticipantId(1), polite: true, offer: true }]
        );
    }

    #[test]
    fn back_in_our_seat_in_an_sfu_room_the_relay_connection_stays_if_it_was_up() {
        let sfu = |you, others, kept| {
            let mut w = welcome_back(you, others, kept);
            if let ServerMessage::Welcome { mode, .. } = &mut w {
                *mode = RoomMode::Sfu;
            }
            w
        };
        let mut m = Meeting::new("rat", "Me");
        assert_eq!(
            m.on_server_message(sfu(2, vec![info(1, "Anna")], false)),
            vec![Effect::OpenRelayPeer]
        );
        // Not up yet: nothing to keep.
        assert_eq!(m.keep_on_resume(), Kept::default());
        m.on_link_state(PeerId::Relay, Link::Connected);
        assert_eq!(m.keep_on_resume(), Kept { peers: vec![], relay: true });
        let effects = m.on_server_message(sfu(2, vec![info(1, "Anna"), info(3, "Cem")], true));
        assert_eq!(effects, vec![Effect::ResendOffer(PeerId::Relay)]);
        assert_eq!(m.other(ParticipantId(3)).map(|r| r.link), Some(Link::Connected));
        // The relay lost its end: a new connection.
        m.keep_on_resume();
        let effects = m.on_server_message(sfu(2, vec![info(1, "Anna")], false));
        assert_eq!(
            effects,
            vec![
                Effect::ClosePeer(direct(1)),
                Effect::ClosePeer(direct(3)),
                Effect::ClosePeer(PeerId::Relay),
                Effect::OpenRelayPeer
            ]
        );
    }

    #[test]
    fn someone_away_is_announced_and_their_return_keeps_or_rebuilds_our_connection_to_them() {
        let mut m = Meeting::new("demo", "Me");
        m.on_server_message(welcome(1, vec![]));
        m.on_server_message(ServerMessage::ParticipantJoined { participant: info(2, "Emil") });
        let away = m.on_server_message(ServerMessage::ParticipantUpdated {
            participant: ParticipantInfo { away: true, ..info(2, "Emil") },
        });
        assert_eq!(away, vec![Effect::Announce(Announcement::about("announce-away", "Emil"))]);
        assert!(m.other(ParticipantId(2)).is_some_and(|r| r.info.away), "the tile stays");
        let back = m.on_server_message(ServerMessage::ParticipantReconnected {
            participant: info(2, "Emil"),
            kept: false,
        });
        assert_eq!(
            back,
            vec![
                Effect::ClosePeer(direct(2)),
                Effect::OpenPeer { id: ParticipantId(2), polite: false, offer: false },
                Effect::Announce(Announcement::about("announce-reconnected", "Emil")),
            ]
        );
        assert!(m.other(ParticipantId(2)).is_some_and(|r| !r.info.away));

        // Away again; this time he kept his connection to us, and so do we.
        m.on_server_message(ServerMessage::ParticipantUpdated {
            participant: ParticipantInfo { away: true, ..info(2, "Emil") },
        });
        let back = m.on_server_message(ServerMessage::ParticipantReconnected {
            participant: info(2, "Emil"),
            kept: true,
        });
        assert_eq!(
            back,
            vec![
                Effect::ResendOffer(direct(2)),
                Effect::Announce(Announcement::about("announce-reconnected", "Emil")),
            ]
        );
        assert!(m.other(ParticipantId(2)).is_some_and(|r| !r.info.away));

        // Back once more, keeping his end; but ours had failed meanwhile: it is replaced (we
        // came first, so we build the new one and offer).
        m.on_link_state(direct(2), Link::Failed);
        let back = m.on_server_message(ServerMessage::ParticipantReconnected {
            participant: info(2, "Emil"),
            kept: true,
        });
        assert_eq!(
            back,
            vec![
                Effect::SendSignal { to: ParticipantId(2), signal: Signal::Rebuild },
                Effect::ClosePeer(direct(2)),
                Effect::OpenPeer { id: ParticipantId(2), polite: false, offer: true },
                Effect::Announce(Announcement::about("announce-reconnected", "Emil")),
            ]
        );
    }

    #[test]
    fn a_connection_beyond_repair_is_rebuilt_by_the_impolite_side_once() {
        let rebuild =
            |from| ServerMessage::Signal { from: ParticipantId(from), signal: Signal::Rebuild };
        let mut anna = Meeting::new("demo", "Anna");
        anna.on_server_message(welcome(1, vec![]));
        anna.on_server_message(ServerMessage::ParticipantJoined { participant: info(2, "Bruno") });
        let mut bruno = Meeting::new("demo", "Bruno");
        bruno.on_server_message(welcome(2, vec![info(1, "Anna")]));

        // Bruno (polite) cannot apply a description on his connection: he asks.
        assert_eq!(
            bruno.on_broken(direct(1)),
            vec![Effect::SendSignal { to: ParticipantId(1), signal: Signal::Rebuild }]
        );
        // Anna replaces hers, telling him first; a second request about the old one is ignored.
        let replaced = vec![
            Effect::SendSignal { to: ParticipantId(2), signal: Signal::Rebuild },
            Effect::ClosePeer(direct(2)),
            Effect::OpenPeer { id: ParticipantId(2), polite: false, offer: true },
        ];
        assert_eq!(anna.on_server_message(rebuild(2)), replaced);
        assert_eq!(anna.on_server_message(rebuild(2)), vec![]);
        assert_eq!(anna.on_broken(direct(2)), vec![]);
        // Bruno replaces his end and waits for her offer.
        assert_eq!(
            bruno.on_server_message(rebuild(1)),
            vec![
                Effect::ClosePeer(direct(1)),
                Effect::OpenPeer { id: ParticipantId(1), polite: true, offer: false },
            ]
        );
        // Once the new connection is up, it can be replaced again if it breaks.
        anna.on_link_state(direct(2), Link::Connected);
        assert_eq!(anna.on_broken(direct(2)), replaced);
        // Never about the relay's connection, or strangers.
        assert_eq!(anna.on_broken(PeerId::Relay), vec![]);
        assert_eq!(anna.on_server_message(rebuild(9)), vec![]);
    }

    #[test]
    fn a_connection_that_recovers_says_the_network_is_back() {
        let mut m = Meeting::new("demo", "Me");
        m.on_server_message(welcome(2, vec![info(1, "Anna")]));
        assert_eq!(m.on_link_state(direct(1), Link::Connected), vec![]);
        m.on_link_state(direct(1), Link::Failed);
        assert_eq!(m.on_link_state(direct(1), Link::Connected), vec![Effect::NetworkBack]);
    }

    #[test]
    fn waiting_in_the_lobby_then_let_in_or_turned_away() {
        let mut m = Meeting::new("klasse", "Bea");
        let effects =
            m.on_server_message(ServerMessage::Waiting { request_id: None, room: "klasse".into() });
        assert!(effects.is_empty());
        assert_eq!(m.phase(), &Phase::Waiting);
        assert!(m.others().next().is_none(), "nobody is known while waiting");
        m.on_server_message(welcome(4, vec![info(1, "Lehrerin")]));
        assert_eq!(m.phase(), &Phase::Joined);

        let mut turned_away = Meeting::new("klasse", "Cem");
        turned_away
            .on_server_message(ServerMessage::Waiting { request_id: None, room: "klasse".into() });
        let effects = turned_away.on_server_message(ServerMessage::Moderated {
            action: Moderation::Deny { id: ParticipantId(5) },
            by: ParticipantId(1),
        });
        assert_eq!(effects, vec![Effect::ShowError { error: UserError::Denied, fatal: true }]);
    }

    #[test]
    fn hosts_hear_of_each_knock_once() {
        let mut m = Meeting::new("klasse", "Lehrerin");
        m.on_server_message(welcome(1, vec![]));
        let lobby = |names: &[(u64, &str)]| ServerMessage::Lobby {
            waiting: names
                .iter()
                .map(|(id, name)| Waiter { id: ParticipantId(*id), name: (*name).into() })
                .collect(),
        };
        let announced = |effects: Vec<Effect>| -> Vec<String> {
            effects
                .into_iter()
                .filter_map(|e| match e {
                    Effect::Announce(a) if a.key == "announce-knocking" => Some(a.name),
                    _ => None,
                })
                .collect()
        };
        assert_eq!(announced(m.on_server_message(lobby(&[(2, "Ali")]))), ["Ali"]);
        assert_eq!(announced(m.on_server_message(lobby(&[(2, "Ali"), (3, "Bea")]))), ["Bea"]);
        assert!(announced(m.on_server_message(lobby(&[(3, "Bea")]))).is_empty());
        assert_eq!(m.waiting().len(), 1);
        assert!(!m.lobby());
        m.on_server_message(ServerMessage::Moderated {
            action: Moderation::Lobby { on: true },
            by: ParticipantId(1),
        });
        assert!(m.lobby());
    }

    #[test]
    fn in_a_class_participants_see_the_hosts_cameras_only() {
        let host = ParticipantInfo { role: Role::Host, ..info(1, "Lehrerin") };
        let mut pupil = Meeting::new("klasse", "Bea");
        pupil.on_server_message(welcome(3, vec![host.clone(), info(2, "Ali")]));
        let ali = info(2, "Ali");
        assert!(!pupil.camera_withheld(&ali), "everyone sees everyone until the host decides");
        pupil.on_server_message(ServerMessage::Moderated {
            action: Moderation::CamerasToHosts { on: true },
            by: ParticipantId(1),
        });
        assert!(pupil.camera_withheld(&ali));
        assert!(!pupil.camera_withheld(&host), "the teacher is seen by all");

        let mut teacher = Meeting::new("klasse", "Lehrerin");
        let mut welcome_host = welcome(1, vec![ali.clone()]);
        if let ServerMessage::Welcome { role, cameras_to_hosts, .. } = &mut welcome_host {
            *role = Role::Host;
            *cameras_to_hosts = true;
        }
        teacher.on_server_message(welcome_host);
        assert!(!teacher.camera_withheld(&ali), "the teacher sees every pupil");
    }
}
