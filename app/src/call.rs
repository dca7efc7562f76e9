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
};
use leptos::prelude::*;
use protocol::{ClientMessage, MediaState, ParticipantId, RequestId, RoomMode, ServerMessage};
use web_sys::MediaStream;

use crate::{
    i18n::Tr,
    js,
    media::{LocalMedia, MediaRequest},
    peer::{Peer, PeerEvent},
    relay_socket::{RelaySocket, SocketEvent},
};

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
                name,
                meeting: Meeting::new(&room),
                socket: None,
                peers: HashMap::new(),
                reconnects: 0,
                next_request: 1,
            }),
            this: this.clone(),
        });
        call.connect();
        call
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
            let room = inner.room.clone();
            inner.meeting = Meeting::new(&room);
            inner.meeting.set_own_media(self.view.own_media.get_untracked());
            inner.peers.drain().map(|(_, p)| p).collect()
        };
        for peer in peers {
            peer.close();
        }
        self.view.streams.update(HashMap::clear);
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
                    let text =
                        self.tr.f_untracked(announcement.key, &[("name", &announcement.name)]);
                    self.view.announcement.set(text);
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

    fn sync_tiles(&self) {
        let tiles: Vec<TileView> = self
            .inner
            .borrow()
            .meeting
            .others()
            .map(|r| TileView {
                id: r.info.id,
                name: r.info.name.clone(),
                media: r.info.media,
                link: r.link,
            })
            .collect();
        if self.view.tiles.with_untracked(|t| *t != tiles) {
            self.view.tiles.set(tiles);
        }
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
            let (opened, error) =
                crate::media::acquire(&MediaRequest { video: true, ..Default::default() }).await;
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

    /// Leaves the room, closes everything and releases camera and microphone.
    pub fn leave(&self) {
        self.send(&ClientMessage::Leave);
        self.view.phase.set(CallPhase::Left);
        self.teardown_room();
        self.drop_socket();
        self.local.borrow_mut().stop();
        self.view.own_stream.set(None);
    }
}
