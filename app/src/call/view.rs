//! The reactive state of a call that the views read, and the small types it is made of.

use std::collections::HashMap;

use client::{errors::UserError, meeting::Link, quality::Quality};
use leptos::prelude::*;
use protocol::{ChatMessage, MediaState, ParticipantId, RoomMode, Waiter};
use web_sys::MediaStream;

/// How tiles are arranged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// Everyone the same size.
    Grid,
    /// One person large (pinned, else the active speaker), the others small.
    Speaker,
}

/// Where the call is, for the views.
#[derive(Debug, Clone, PartialEq)]
pub enum CallPhase {
    /// Opening the connection and joining.
    Connecting,
    /// In the lobby: a host has to let us in.
    Waiting,
    /// In the room.
    Joined,
    /// The relay connection broke; trying again.
    Reconnecting,
    /// The person left.
    Left,
    /// The call cannot go on; the error says why.
    Failed(UserError),
}

impl CallPhase {
    /// Its name in the page (`data-phase`), which tests read.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Connecting => "connecting",
            Self::Waiting => "waiting",
            Self::Joined => "joined",
            Self::Reconnecting => "reconnecting",
            Self::Left => "left",
            Self::Failed(_) => "failed",
        }
    }
}

/// Which side panel is open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Panel {
    /// None: the tiles take the whole width.
    Closed,
    /// The chat.
    Chat,
    /// The participant list.
    People,
}

/// One remote participant's tile, as the views need it.
#[derive(Debug, Clone, PartialEq)]
pub struct TileView {
    /// The participant.
    pub id: ParticipantId,
    /// The display name.
    pub name: String,
    /// Microphone and camera state.
    pub media: MediaState,
    /// Our connection to them.
    pub link: Link,
    /// Whether their hand is raised.
    pub hand: bool,
    /// Their connection broke; the relay keeps their seat while they reconnect.
    pub away: bool,
    /// They host the meeting.
    pub host: bool,
    /// They came in with the room's host link: nobody can take hosting from them.
    pub host_link: bool,
    /// A host keeps their microphone off.
    pub mic_locked: bool,
    /// The relay does not send us their camera (cameras go to the hosts only).
    pub camera_withheld: bool,
    /// They listen only (hosts see them in the participant list, not as a tile).
    pub listener: bool,
}

/// The reactive state the views read. All handles are `Copy`.
#[derive(Clone, Copy)]
pub struct CallView {
    /// Where the call is.
    pub phase: RwSignal<CallPhase>,
    /// Mesh or SFU.
    pub mode: RwSignal<RoomMode>,
    /// Everyone else, in join order.
    pub tiles: RwSignal<Vec<TileView>>,
    /// Our own microphone and camera state.
    pub own_media: RwSignal<MediaState>,
    /// Our own camera, for the self view.
    pub own_stream: RwSignal<Option<MediaStream>, LocalStorage>,
    /// The others' media, by participant.
    pub streams: RwSignal<HashMap<ParticipantId, MediaStream>, LocalStorage>,
    /// The latest live-region announcement.
    pub announcement: RwSignal<String>,
    /// A problem that does not end the call.
    pub notice: RwSignal<Option<UserError>>,
    /// Bumped whenever a remote track arrives, so `<video>` elements re-attach their stream.
    pub track_epoch: RwSignal<u32>,
    /// The room's chat, oldest first.
    pub chat: RwSignal<Vec<ChatMessage>>,
    /// Chat messages that arrived while the chat was closed.
    pub unread: RwSignal<usize>,
    /// What is typed in the chat box (restored if the relay refuses a message).
    pub chat_draft: RwSignal<String>,
    /// Why the last chat message was refused.
    pub chat_error: RwSignal<Option<UserError>>,
    /// Raised hands, ourselves included, in order.
    pub hands: RwSignal<Vec<(ParticipantId, String)>>,
    /// Whether our own hand is raised.
    pub own_hand: RwSignal<bool>,
    /// The open side panel.
    pub panel: RwSignal<Panel>,
    /// Our participant id, once welcomed.
    pub me: RwSignal<Option<ParticipantId>>,
    /// We host the meeting (and may moderate).
    pub own_host: RwSignal<bool>,
    /// We came in with the room's host link (and may remove others who did).
    pub own_host_link: RwSignal<bool>,
    /// A host locked the room.
    pub locked: RwSignal<bool>,
    /// The lobby is on: newcomers wait until a host lets them in.
    pub lobby: RwSignal<bool>,
    /// Participants' cameras go to the hosts only.
    pub cameras_to_hosts: RwSignal<bool>,
    /// The room's password (hosts are told it).
    pub password: RwSignal<Option<String>>,
    /// We listen only: no camera, no microphone.
    pub listening: RwSignal<bool>,
    /// How many listen.
    pub listeners: RwSignal<u32>,
    /// Listeners may chat.
    pub listener_chat: RwSignal<bool>,
    /// Who waits in the lobby (hosts only), in the order they knocked.
    pub waiting: RwSignal<Vec<Waiter>>,
    /// A host keeps our microphone off.
    pub own_mic_locked: RwSignal<bool>,
    /// The others' shared screens, by participant.
    pub screens: RwSignal<HashMap<ParticipantId, MediaStream>, LocalStorage>,
    /// Our own shared screen, while sharing.
    pub own_screen: RwSignal<Option<MediaStream>, LocalStorage>,
    /// Who is speaking.
    pub speaker: RwSignal<Option<ParticipantId>>,
    /// Connection quality to each participant.
    pub quality: RwSignal<HashMap<ParticipantId, Quality>>,
    /// Grid or speaker view.
    pub layout: RwSignal<Layout>,
    /// The participant the person pinned.
    pub pinned: RwSignal<Option<ParticipantId>>,
    /// The chosen speaker's device id (empty: the default).
    pub sink: RwSignal<String>,
    /// The chosen microphone and camera device ids (empty: the default).
    pub devices: RwSignal<(String, String)>,
}

impl Default for CallView {
    fn default() -> Self {
        Self::new()
    }
}

impl CallView {
    /// Fresh state, owned by the current reactive owner (the call's own, see `MeetingView`).
    pub fn new() -> Self {
        Self {
            phase: RwSignal::new(CallPhase::Connecting),
            mode: RwSignal::new(RoomMode::Mesh),
            tiles: RwSignal::new(Vec::new()),
            own_media: RwSignal::new(MediaState::default()),
            own_stream: RwSignal::new_local(None),
            streams: RwSignal::new_local(HashMap::new()),
            announcement: RwSignal::new(String::new()),
            notice: RwSignal::new(None),
            track_epoch: RwSignal::new(0),
            chat: RwSignal::new(Vec::new()),
            unread: RwSignal::new(0),
            chat_draft: RwSignal::new(String::new()),
            chat_error: RwSignal::new(None),
            hands: RwSignal::new(Vec::new()),
            own_hand: RwSignal::new(false),
            panel: RwSignal::new(Panel::Closed),
            me: RwSignal::new(None),
            own_host: RwSignal::new(false),
            own_host_link: RwSignal::new(false),
            locked: RwSignal::new(false),
            lobby: RwSignal::new(false),
            cameras_to_hosts: RwSignal::new(false),
            password: RwSignal::new(None),
            listening: RwSignal::new(false),
            listeners: RwSignal::new(0),
            listener_chat: RwSignal::new(false),
            waiting: RwSignal::new(Vec::new()),
            own_mic_locked: RwSignal::new(false),
            screens: RwSignal::new_local(HashMap::new()),
            own_screen: RwSignal::new_local(None),
            speaker: RwSignal::new(None),
            quality: RwSignal::new(HashMap::new()),
            layout: RwSignal::new(Layout::Grid),
            pinned: RwSignal::new(None),
            sink: RwSignal::new(String::new()),
            devices: RwSignal::new((String::new(), String::new())),
        }
    }
}
