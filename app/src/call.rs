//! A call in progress: wires the relay socket, the peer connections and the local media to
//! `client::meeting::Meeting`, and mirrors the result into reactive state for the views.

use std::{
    cell::RefCell,
    collections::HashMap,
    rc::{Rc, Weak},
};

use client::{
    errors::UserError,
    meeting::{Effect, Link, Meeting, Phase},
    quality::{Quality, StatsSample, assess},
    speaker::SpeakerDetector,
};
use leptos::prelude::*;
use protocol::{
    ChatMessage, ClientMessage, ErrorCode, MediaState, ParticipantId, RequestId, RoomMode,
    ServerMessage,
};
use web_sys::MediaStream;

use crate::{
    i18n::Tr,
    js,
    media::{LocalMedia, MediaRequest},
    peer::{Peer, PeerEvent},
    relay_socket::{RelaySocket, SocketEvent},
};

/// How often audio levels are read for the active-speaker indicator.
const LEVEL_EVERY_MS: i32 = 250;
/// Connection statistics are read every this many level rounds (2 s).
const STATS_EVERY_ROUNDS: u32 = 8;

/// How tiles are arranged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// Everyone the same size.
    Grid,
    /// One person large (pinned, else the active speaker), the others small.
    Speaker,
}

/// Reconnect attempts after the relay connection breaks, before giving up.
const MAX_RECONNECTS: u32 = 8;

/// Where the call is, for the views.
#[derive(Debug, Clone, PartialEq)]
pub enum CallPhase {
    /// Opening the connection and joining.
    Connecting,
    /// In the room.
    Joined,
    /// The relay connection broke; trying again.
    Reconnecting,
    /// The person left.
    Left,
    /// The call cannot go on; the error says why.
    Failed(UserError),
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
    /// Fresh state; create it inside the view that shows the call, so it is disposed with it.
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

/// Mutable state of the call.
struct Inner {
    /// The relay's WebSocket URL.
    relay_url: String,
    /// The room as the link named it.
    room: String,
    /// Our display name.
    name: String,
    /// What the relay and the room told us.
    meeting: Meeting,
    /// The signalling connection.
    socket: Option<RelaySocket>,
    /// One connection per other participant.
    peers: HashMap<ParticipantId, Rc<Peer>>,
    /// Reconnect attempts since the last successful join.
    reconnects: u32,
    /// Request ids for `join`.
    next_request: u32,
    /// The last chat text sent, to give back if the relay refuses it.
    last_chat: String,
}

/// A call. Held by the meeting view; dropped (after [`Call::leave`]) when the view goes.
pub struct Call {
    /// What the views read.
    view: CallView,
    /// Texts for announcements.
    tr: Tr,
    /// Our camera and microphone, shared with every peer.
    local: Rc<RefCell<LocalMedia>>,
    /// Everything else.
    inner: RefCell<Inner>,
    /// Ourselves, for callbacks that must not keep the call alive.
    this: Weak<Call>,
}

impl Call {
    /// Starts a call: connects to the relay and joins `room` as `name` with `local` media.
    pub fn start(
        view: CallView,
        tr: Tr,
        relay_url: String,
        room: String,
        name: String,
        local: LocalMedia,
        wanted: MediaState,
    ) -> Rc<Self> {
        let media = MediaState {
            audio: wanted.audio && local.audio.is_some(),
            video: wanted.video && local.video.is_some(),
            screen: false,
        };
        if let Some(track) = &local.audio {
            track.set_enabled(media.audio);
        }
        view.own_media.set(media);
        view.own_stream.set(local.preview_stream());
        let call = Rc::new_cyclic(|this| Self {
            view,
            tr,
            local: Rc::new(RefCell::new(local)),
            inner: RefCell::new(Inner {
                relay_url,
                room: room.clone(),
                meeting: Meeting::new(&room, &name),
                name,
                socket: None,
                peers: HashMap::new(),
                reconnects: 0,
                next_request: 1,
                last_chat: String::new(),
            }),
            this: this.clone(),
        });
        call.connect();
        call.monitor();
        call
    }

    /// Reads audio levels (active speaker) and statistics (connection quality) while the call
    /// lives.
    fn monitor(&self) {
        let weak = self.this.clone();
        leptos::task::spawn_local(async move {
            let mut detector = SpeakerDetector::default();
            let mut previous: HashMap<ParticipantId, StatsSample> = HashMap::new();
            let mut round = 0u32;
            loop {
                js::sleep(LEVEL_EVERY_MS).await;
                let Some(call) = weak.upgrade() else { break };
                if call.view.phase.get_untracked() == CallPhase::Left {
                    break;
                }
                let peers: Vec<_> =
                    call.inner.borrow().peers.iter().map(|(id, p)| (*id, Rc::clone(p))).collect();
                let levels: Vec<_> = peers.iter().map(|(id, p)| (*id, p.audio_level())).collect();
                let speaker = detector.update(js_sys::Date::now(), &levels);
                if call.view.speaker.get_untracked() != speaker {
                    call.view.speaker.set(speaker);
                }
                round += 1;
                if round % STATS_EVERY_ROUNDS != 0 {
                    continue;
                }
                drop(call);
                previous.retain(|id, _| peers.iter().any(|(p, _)| p == id));
                let mut qualities = HashMap::new();
                for (id, peer) in peers {
                    let Some(sample) = peer.stats().await else { continue };
                    if let Some(before) = previous.get(&id) {
                        qualities.insert(id, assess(before, &sample));
                    }
                    previous.insert(id, sample);
                }
                let Some(call) = weak.upgrade() else { break };
                call.view.quality.set(qualities);
            }
        });
    }

    /// Starts sharing a screen or window the person picks.
    pub async fn start_screen_share(&self) {
        let track = match crate::media::get_display_media().await {
            Ok(track) => track,
            Err(_) => {
                self.view.notice.set(Some(UserError::ScreenShare));
                return;
            }
        };
        let Ok(stream) = MediaStream::new() else { return };
        stream.add_track(&track);
        // The browser's own "Stop sharing" button ends the track.
        let weak = self.this.clone();
        let on_ended = wasm_bindgen::closure::Closure::once_into_js(move || {
            if let Some(call) = weak.upgrade() {
                leptos::task::spawn_local(async move { call.stop_screen_share().await });
            }
        });
        track.set_onended(Some(wasm_bindgen::JsCast::unchecked_ref(&on_ended)));
        self.local.borrow_mut().screen = Some((Clone::clone(&track), Clone::clone(&stream)));
        let peers: Vec<_> = self.inner.borrow().peers.values().cloned().collect();
        for peer in peers {
            peer.set_screen(Some(Clone::clone(&track))).await;
        }
        self.view.own_screen.set(Some(stream));
        let mut media = self.view.own_media.get_untracked();
        media.screen = true;
        self.announce_own_media(media);
    }

    /// Stops sharing the screen.
    pub async fn stop_screen_share(&self) {
        let Some((track, _)) = self.local.borrow_mut().screen.take() else { return };
        track.set_onended(None);
        track.stop();
        let peers: Vec<_> = self.inner.borrow().peers.values().cloned().collect();
        for peer in peers {
            peer.set_screen(None).await;
        }
        self.view.own_screen.set(None);
        let mut media = self.view.own_media.get_untracked();
        media.screen = false;
        self.announce_own_media(media);
    }

    /// The reactive state.
    pub fn view(&self) -> CallView {
        self.view
    }

    /// Opens a new relay connection; `hello` and `join` follow when it is open.
    pub fn connect(&self) {
        let weak = self.this.clone();
        let url = self.inner.borrow().relay_url.clone();
        let socket = RelaySocket::connect(&url, move |event| {
            if let Some(call) = weak.upgrade() {
                call.on_socket(event);
            }
        });
        match socket {
            Ok(socket) => self.inner.borrow_mut().socket = Some(socket),
            Err(e) => {
                js::warn(&format!("cannot open the relay connection: {e}"));
                self.view.phase.set(CallPhase::Failed(UserError::RelayUnreachable));
            }
        }
    }

    /// Tries again after a failure (the "Try again" button).
    pub fn retry(&self) {
        self.teardown_room();
        self.drop_socket();
        self.inner.borrow_mut().reconnects = 0;
        self.view.phase.set(CallPhase::Connecting);
        self.connect();
    }

    /// Drops the socket outside of its own event handler (a handler must not free itself).
    fn drop_socket(&self) {
        if let Some(socket) = self.inner.borrow_mut().socket.take() {
            leptos::task::spawn_local(async move { drop(socket) });
        }
    }

    fn send(&self, message: &ClientMessage) {
        if let Some(socket) = &self.inner.borrow().socket {
            socket.send(message);
        }
    }

    fn on_socket(&self, event: SocketEvent) {
        match event {
            SocketEvent::Open => {
                self.send(&ClientMessage::Hello { version: protocol::PROTOCOL_VERSION })
            }
            SocketEvent::Message(ServerMessage::Hello { .. }) => {
                let (room, name, request) = {
                    let mut inner = self.inner.borrow_mut();
                    inner.next_request += 1;
                    (inner.room.clone(), inner.name.clone(), RequestId(inner.next_request))
                };
                let media = self.view.own_media.get_untracked();
                self.send(&ClientMessage::Join { request_id: Some(request), room, name, media });
            }
            SocketEvent::Message(message) => {
                let welcomed = matches!(message, ServerMessage::Welcome { .. });
                let effects = self.inner.borrow_mut().meeting.on_server_message(message);
                if welcomed {
                    self.inner.borrow_mut().reconnects = 0;
                    self.view.notice.set(None);
                    self.view.phase.set(CallPhase::Joined);
                    self.view.mode.set(self.inner.borrow().meeting.mode());
                }
                self.apply(effects);
            }
            SocketEvent::Closed { was_open } => self.on_socket_closed(was_open),
        }
    }

    fn on_socket_closed(&self, was_open: bool) {
        self.drop_socket();
        let phase = self.view.phase.get_untracked();
        match phase {
            CallPhase::Left | CallPhase::Failed(_) => {}
            CallPhase::Connecting if !was_open => {
                self.view.phase.set(CallPhase::Failed(UserError::RelayUnreachable));
            }
            _ => {
                // The relay went away mid-call (or refused us mid-join): rejoin with backoff.
                self.teardown_room();
                let attempt = {
                    let mut inner = self.inner.borrow_mut();
                    inner.reconnects += 1;
                    inner.reconnects
                };
                if attempt > MAX_RECONNECTS {
                    self.view.phase.set(CallPhase::Failed(UserError::RelayLost));
                    return;
                }
                self.view.phase.set(CallPhase::Reconnecting);
                self.view.announcement.set(self.tr.f_untracked("announce.reconnecting", &[]));
                let weak = self.this.clone();
                let delay = 500 * 2_i32.pow(attempt.min(4));
                leptos::task::spawn_local(async move {
                    js::sleep(delay).await;
                    if let Some(call) = weak.upgrade()
                        && call.view.phase.get_untracked() == CallPhase::Reconnecting
                    {
                        call.connect();
                    }
                });
            }
        }
    }

    /// Closes every peer and forgets the room (before a rejoin or after leaving).
    fn teardown_room(&self) {
        let peers: Vec<_> = {
            let mut inner = self.inner.borrow_mut();
            let (room, name) = (inner.room.clone(), inner.name.clone());
            inner.meeting = Meeting::new(&room, &name);
            inner.meeting.chat_mut().set_open(self.view.panel.get_untracked() == Panel::Chat);
            inner.meeting.set_own_media(self.view.own_media.get_untracked());
            inner.peers.drain().map(|(_, p)| p).collect()
        };
        for peer in peers {
            peer.close();
        }
        self.view.streams.update(HashMap::clear);
        self.view.screens.update(HashMap::clear);
        self.view.tiles.set(Vec::new());
    }

    fn apply(&self, effects: Vec<Effect>) {
        for effect in effects {
            match effect {
                Effect::OpenPeer { id, polite, offer } => self.open_peer(id, polite, offer),
                Effect::ClosePeer(id) => {
                    if let Some(peer) = self.inner.borrow_mut().peers.remove(&id) {
                        peer.close();
                    }
                    self.view.streams.update(|s| {
                        s.remove(&id);
                    });
                    self.view.screens.update(|s| {
                        s.remove(&id);
                    });
                    if self.view.pinned.get_untracked() == Some(id) {
                        self.view.pinned.set(None);
                    }
                }
                Effect::PeerSignal { from, signal } => {
                    let peer = self.inner.borrow().peers.get(&from).cloned();
                    if let Some(peer) = peer {
                        peer.on_signal(signal);
                    }
                }
                Effect::RestartIce(id) => {
                    if let Some(peer) = self.inner.borrow().peers.get(&id) {
                        peer.restart_ice();
                    }
                }
                Effect::Announce(announcement) => {
                    let args =
                        [("name", announcement.name.as_str()), ("detail", &announcement.detail)];
                    let text = self.tr.f_untracked(announcement.key, &args);
                    self.view.announcement.set(text);
                }
                Effect::ShowError { error: UserError::Relay(code, message), fatal: false }
                    if matches!(code, ErrorCode::InvalidChat | ErrorCode::ChatRateLimited) =>
                {
                    // Shown beside the chat box, and the refused text goes back into it.
                    let last = std::mem::take(&mut self.inner.borrow_mut().last_chat);
                    if self.view.chat_draft.with_untracked(String::is_empty) {
                        self.view.chat_draft.set(last);
                    }
                    self.view.chat_error.set(Some(UserError::Relay(code, message)));
                }
                Effect::ShowError { error, fatal } => {
                    if fatal {
                        self.teardown_room();
                        self.drop_socket();
                        self.view.phase.set(CallPhase::Failed(error));
                    } else {
                        let text =
                            self.tr.f_untracked(error.message_key(), &[("detail", error.detail())]);
                        self.view.announcement.set(text);
                        self.view.notice.set(Some(error));
                    }
                }
            }
        }
        self.sync_tiles();
    }

    fn open_peer(&self, id: ParticipantId, polite: bool, offer: bool) {
        let weak = self.this.clone();
        let sink: Rc<dyn Fn(ParticipantId, PeerEvent)> = Rc::new(move |id, event| {
            if let Some(call) = weak.upgrade() {
                call.on_peer_event(id, event);
            }
        });
        let ice_servers = self.inner.borrow().meeting.ice_servers().to_vec();
        match Peer::open(id, polite, offer, &ice_servers, Rc::clone(&self.local), sink) {
            Ok(peer) => {
                let stream = Clone::clone(peer.remote_stream());
                let screen = Clone::clone(peer.remote_screen());
                self.view.screens.update(|s| {
                    s.insert(id, screen);
                });
                self.inner.borrow_mut().peers.insert(id, peer);
                self.view.streams.update(|s| {
                    s.insert(id, stream);
                });
            }
            Err(e) => js::warn(&format!("cannot create a peer connection: {e}")),
        }
    }

    fn on_peer_event(&self, id: ParticipantId, event: PeerEvent) {
        match event {
            PeerEvent::Send(signal) => self.send(&ClientMessage::Signal { to: id, signal }),
            PeerEvent::Track => self.view.track_epoch.update(|e| *e += 1),
            PeerEvent::Link(link) => {
                let effects = self.inner.borrow_mut().meeting.on_link_state(id, link);
                if link == Link::Connected {
                    // Clear a "connection failed" notice about this participant once it recovers.
                    let name = self.inner.borrow().meeting.other(id).map(|r| r.info.name.clone());
                    self.view.notice.update(|n| {
                        if matches!(n, Some(UserError::PeerFailed(failed)) if Some(&*failed) == name.as_ref()) {
                            *n = None;
                        }
                    });
                }
                self.apply(effects);
            }
        }
    }

    /// Mirrors the meeting into the reactive state, touching only what changed.
    fn sync_tiles(&self) {
        let inner = self.inner.borrow();
        let meeting = &inner.meeting;
        let tiles: Vec<TileView> = meeting
            .others()
            .map(|r| TileView {
                id: r.info.id,
                name: r.info.name.clone(),
                media: r.info.media,
                link: r.link,
                hand: r.info.hand.is_some(),
            })
            .collect();
        if self.view.tiles.with_untracked(|t| *t != tiles) {
            self.view.tiles.set(tiles);
        }
        let chat = meeting.chat();
        let newest = chat.messages().last().map(|m| m.id);
        let count = chat.messages().count();
        let changed =
            self.view.chat.with_untracked(|c| c.len() != count || c.last().map(|m| m.id) != newest);
        if changed {
            self.view.chat.set(chat.messages().cloned().collect());
        }
        if self.view.unread.get_untracked() != chat.unread() {
            self.view.unread.set(chat.unread());
        }
        let hands = meeting.raised_hands();
        if self.view.hands.with_untracked(|h| *h != hands) {
            self.view.hands.set(hands);
        }
        let own_hand = meeting.me().is_some_and(|me| me.hand.is_some());
        if self.view.own_hand.get_untracked() != own_hand {
            self.view.own_hand.set(own_hand);
        }
        let me = meeting.me().map(|m| m.id).filter(|id| id.0 != 0);
        if self.view.me.get_untracked() != me {
            self.view.me.set(me);
        }
    }

    /// Sends a chat message. Refuses (with the reason) text the relay would refuse too.
    pub fn send_chat(&self, text: &str) -> Result<(), protocol::ChatError> {
        let text = protocol::normalize_chat_text(text)?;
        self.view.chat_error.set(None);
        self.inner.borrow_mut().last_chat = text.clone();
        self.send(&ClientMessage::Chat { text });
        Ok(())
    }

    /// Raises or lowers our hand.
    pub fn set_hand(&self, raised: bool) {
        self.send(&ClientMessage::Hand { raised });
    }

    /// Opens or closes a side panel; opening the chat marks it read.
    pub fn set_panel(&self, panel: Panel) {
        self.view.panel.set(panel);
        self.inner.borrow_mut().meeting.chat_mut().set_open(panel == Panel::Chat);
        self.sync_tiles();
    }

    fn announce_own_media(&self, media: MediaState) {
        self.view.own_media.set(media);
        self.inner.borrow_mut().meeting.set_own_media(media);
        if *self.inner.borrow().meeting.phase() == Phase::Joined {
            self.send(&ClientMessage::Media { media });
        }
    }

    /// Mutes or unmutes the microphone. Returns `false` if there is no microphone.
    pub fn set_microphone(&self, on: bool) -> bool {
        let Some(track) = self.local.borrow().audio.clone() else {
            return false;
        };
        track.set_enabled(on);
        let mut media = self.view.own_media.get_untracked();
        media.audio = on;
        self.announce_own_media(media);
        true
    }

    /// Turns the camera off (releasing it, so its light goes off) or on again.
    pub async fn set_camera(&self, on: bool) {
        let mut media = self.view.own_media.get_untracked();
        if on {
            let device = self.view.devices.get_untracked().1;
            let request =
                MediaRequest { video: true, video_device: Some(device), ..Default::default() };
            let (opened, error) = crate::media::acquire(&request).await;
            let Some(track) = opened.video else {
                if let Some(error) = error {
                    self.view.notice.set(Some(UserError::Media(error)));
                }
                return;
            };
            self.local.borrow_mut().video = Some(Clone::clone(&track));
            self.replace_on_all_peers("video", Some(track)).await;
            media.video = true;
        } else {
            let old = self.local.borrow_mut().video.take();
            self.replace_on_all_peers("video", None).await;
            if let Some(track) = old {
                track.stop();
            }
            media.video = false;
        }
        self.view.own_stream.set(self.local.borrow().preview_stream());
        self.announce_own_media(media);
    }

    async fn replace_on_all_peers(&self, kind: &str, track: Option<web_sys::MediaStreamTrack>) {
        let peers: Vec<_> = self.inner.borrow().peers.values().cloned().collect();
        for peer in peers {
            peer.replace_track(kind, track.clone()).await;
        }
    }

    /// Switches to another microphone (`"audio"`) or camera (`"video"`) without renegotiating.
    pub async fn switch_device(&self, kind: &str, device: String) {
        let audio = kind == "audio";
        self.view
            .devices
            .update(|d| if audio { d.0 = device.clone() } else { d.1 = device.clone() });
        let media = self.view.own_media.get_untracked();
        if !audio && !media.video {
            return; // used when the camera is turned on again
        }
        let request = MediaRequest {
            audio,
            video: !audio,
            audio_device: audio.then(|| device.clone()),
            video_device: (!audio).then_some(device),
        };
        let (opened, error) = crate::media::acquire(&request).await;
        let Some(track) = (if audio { opened.audio } else { opened.video }) else {
            if let Some(error) = error {
                self.view.notice.set(Some(UserError::Media(error)));
            }
            return;
        };
        if audio {
            track.set_enabled(media.audio);
        }
        let old = {
            let mut local = self.local.borrow_mut();
            let slot = if audio { &mut local.audio } else { &mut local.video };
            slot.replace(Clone::clone(&track))
        };
        self.replace_on_all_peers(kind, Some(track)).await;
        if let Some(old) = old {
            old.stop();
        }
        if !audio {
            self.view.own_stream.set(self.local.borrow().preview_stream());
        }
    }

    /// Leaves the room, closes everything and releases camera and microphone.
    pub fn leave(&self) {
        self.send(&ClientMessage::Leave);
        self.view.phase.set(CallPhase::Left);
        self.teardown_room();
        self.drop_socket();
        self.local.borrow_mut().stop();
        self.view.own_stream.set(None);
        self.view.own_screen.set(None);
    }
}
