//! A call in progress: wires the relay socket, the peer connections and the local media to
//! `client::meeting::Meeting`, and mirrors the result into reactive state for the views.

use std::{
    cell::{Cell, RefCell},
    collections::HashMap,
    rc::{Rc, Weak},
};

use client::{
    errors::UserError,
    meeting::{Effect, Link, Meeting, PeerId, Phase},
    reconnect::{Next, Reconnect, Rejoined},
    switchover::{Direct, Switchover},
};
use leptos::prelude::*;
use protocol::{ClientMessage, ErrorCode, MediaState, ParticipantId, RequestId, ServerMessage};

use crate::{
    i18n::Tr,
    js,
    media::LocalMedia,
    peer::{Peer, PeerEvent},
    relay_socket::{RelaySocket, SocketEvent},
};

/// How often, while switching from mesh to the relay, the relay's delivery is checked for the
/// participants still shown over direct connections. Each check reads the relay connection's
/// statistics, which is not free for a browser busy with the switch.
const SWITCHOVER_CHECK_MS: i32 = 500;

mod local;
mod monitor;
mod view;

pub use view::{CallPhase, CallView, Layout, Panel, TileView};

/// Mutable state of the call.
struct Inner {
    /// The relay's WebSocket URL.
    relay_url: String,
    /// The room as the link named it.
    room: String,
    /// Our display name.
    name: String,
    /// The signed invitation the link carried, sent in every `join`.
    link: Option<String>,
    /// The room's password, once the person typed it.
    password: Option<String>,
    /// What the relay and the room told us.
    meeting: Meeting,
    /// The signalling connection.
    socket: Option<RelaySocket>,
    /// One direct connection per other participant (mesh).
    peers: HashMap<ParticipantId, Rc<Peer>>,
    /// The one connection to the relay (server forwarding).
    relay: Option<Rc<Peer>>,
    /// When to try the relay again, and whether our seat survived.
    reconnect: Reconnect,
    /// Request ids for `join`.
    next_request: u32,
    /// The last chat text sent, to give back if the relay refuses it.
    last_chat: String,
    /// What the relay delivers per participant (SFU mode).
    relay_streams: HashMap<ParticipantId, web_sys::MediaStream>,
    /// What the relay delivers of each participant's shared screen (SFU mode).
    relay_screens: HashMap<ParticipantId, web_sys::MediaStream>,
    /// Direct connections already replaced by the relay, still open until the time given (ms
    /// since the epoch) so that the other end, which decides on its own, can finish its switch
    /// before the connection goes: make before break at both ends.
    lingering: Vec<(ParticipantId, Rc<Peer>, f64)>,
}

impl Inner {
    /// The connection `id`, if open.
    fn peer(&self, id: PeerId) -> Option<Rc<Peer>> {
        match id {
            PeerId::Relay => self.relay.clone(),
            PeerId::Participant(id) => self.peers.get(&id).cloned(),
        }
    }

    /// Every media connection we hold: the direct ones and the relay's.
    fn connections(&self) -> Vec<Rc<Peer>> {
        self.peers.values().chain(&self.relay).cloned().collect()
    }
}

/// A call. Held by the meeting view; dropped (after [`Call::leave`]) when the view goes.
pub struct Call {
    /// What the views read.
    view: CallView,
    /// The owner of `view`'s signals: they live as long as the call, so no callback that still
    /// holds the call finds them disposed.
    _state: Owner,
    /// Texts for announcements.
    tr: Tr,
    /// Our camera and microphone, shared with every peer.
    local: Rc<RefCell<LocalMedia>>,
    /// Everything else.
    inner: RefCell<Inner>,
    /// Ourselves, for callbacks that must not keep the call alive.
    this: Weak<Call>,
}

/// Where and as whom a call joins.
pub struct Entry {
    /// The relay's WebSocket URL.
    pub relay_url: String,
    /// The room as the link named it.
    pub room: String,
    /// The display name.
    pub name: String,
    /// The signed invitation the link carried.
    pub link: Option<String>,
}

impl Call {
    /// Starts a call: connects to the relay and joins the entry's room with `local` media.
    pub fn start(
        view: CallView,
        state: Owner,
        tr: Tr,
        entry: Entry,
        local: LocalMedia,
        wanted: MediaState,
    ) -> Rc<Self> {
        let Entry { relay_url, room, name, link } = entry;
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
            _state: state,
            tr,
            local: Rc::new(RefCell::new(local)),
            inner: RefCell::new(Inner {
                relay_url,
                room: room.clone(),
                meeting: Meeting::new(&room, &name),
                name,
                link,
                password: None,
                socket: None,
                peers: HashMap::new(),
                relay: None,
                reconnect: Reconnect::default(),
                next_request: 1,
                last_chat: String::new(),
                relay_streams: HashMap::new(),
                lingering: Vec::new(),
                relay_screens: HashMap::new(),
            }),
            this: this.clone(),
        });
        call.connect();
        call.monitor();
        call
    }

    /// The reactive state.
    pub fn view(&self) -> CallView {
        self.view
    }

    /// Opens a new relay connection; `hello` and `join` follow when it is open.
    pub fn connect(&self) {
        let weak = self.this.clone();
        let (url, timeout_ms) = {
            let inner = self.inner.borrow();
            (inner.relay_url.clone(), inner.reconnect.connect_timeout_ms())
        };
        let socket = RelaySocket::connect(&url, timeout_ms, move |event| {
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
        self.inner.borrow_mut().reconnect.forget();
        self.view.phase.set(CallPhase::Connecting);
        self.connect();
    }

    /// Joins again with the room's password (the password field of the error notice).
    pub fn retry_with_password(&self, password: String) {
        self.inner.borrow_mut().password = Some(password);
        self.retry();
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
                let (room, name, request, resume, kept) = {
                    let mut inner = self.inner.borrow_mut();
                    inner.next_request += 1;
                    let resume = inner.reconnect.resume_token().map(str::to_owned);
                    // Taking our seat back, we keep the media connections that had come up.
                    let kept = match resume {
                        Some(_) => inner.meeting.keep_on_resume(),
                        None => Default::default(),
                    };
                    let request = RequestId(inner.next_request);
                    (inner.room.clone(), inner.name.clone(), request, resume, kept)
                };
                let (link, password) = {
                    let inner = self.inner.borrow();
                    (inner.link.clone(), inner.password.clone())
                };
                let media = self.view.own_media.get_untracked();
                self.send(&ClientMessage::Join {
                    request_id: Some(request),
                    room,
                    name,
                    media,
                    resume,
                    link,
                    device: crate::js::device_id(),
                    password,
                    kept: kept.peers,
                    kept_relay: kept.relay,
                });
            }
            SocketEvent::Message(message) => {
                let welcomed = if let ServerMessage::Welcome { you, resume_token, .. } = &message {
                    let rejoined =
                        self.inner.borrow_mut().reconnect.welcomed(*you, resume_token.clone());
                    match rejoined {
                        // From now on an `autojoin` link to this room may skip the pre-join screen.
                        Rejoined::First => {
                            crate::js::remember_joined_room(&self.inner.borrow().room)
                        }
                        // Our seat survived: same tile, hand and chat for everyone; the meeting
                        // keeps what media connections the relay agreed to keep.
                        Rejoined::Resumed => {}
                        // A new seat (ours expired, or the relay restarted): the room anew.
                        Rejoined::Fresh => self.teardown_room(),
                    }
                    true
                } else {
                    false
                };
                let effects = self.inner.borrow_mut().meeting.on_server_message(message);
                if welcomed {
                    self.clear_entry_notice();
                    self.view.phase.set(CallPhase::Joined);
                } else if *self.inner.borrow().meeting.phase() == Phase::Waiting
                    && self.view.phase.get_untracked() != CallPhase::Waiting
                {
                    self.clear_entry_notice();
                    self.view.phase.set(CallPhase::Waiting);
                }
                let mode = self.inner.borrow().meeting.mode();
                if self.view.mode.get_untracked() != mode {
                    self.view.mode.set(mode);
                }
                self.apply(effects);
            }
            SocketEvent::Closed { was_open } => self.on_socket_closed(was_open),
        }
    }

    /// Getting in worked: a notice about getting in (relay unreachable, room locked, ...) is
    /// over; one about our own camera or microphone still holds.
    fn clear_entry_notice(&self) {
        if self.view.notice.with_untracked(|n| n.as_ref().is_some_and(|n| !n.about_own_devices())) {
            self.view.notice.set(None);
        }
    }

    fn on_socket_closed(&self, was_open: bool) {
        self.drop_socket();
        let phase = self.view.phase.get_untracked();
        let reconnecting = self.inner.borrow().reconnect.reconnecting();
        match phase {
            CallPhase::Left | CallPhase::Failed(_) => {}
            CallPhase::Connecting if !was_open && !reconnecting => {
                self.view.phase.set(CallPhase::Failed(UserError::RelayUnreachable));
            }
            _ => {
                // The relay went away mid-call (or an attempt to reach it again failed). The
                // picture and the peer connections stay; try again, and take our seat back.
                let next = self.inner.borrow_mut().reconnect.lost(js_sys::Date::now());
                let delay = match next {
                    Next::RetryIn(ms) => ms as i32,
                    Next::GiveUp => {
                        self.teardown_room();
                        self.view.phase.set(CallPhase::Failed(UserError::RelayLost));
                        return;
                    }
                };
                if phase != CallPhase::Reconnecting {
                    self.view.phase.set(CallPhase::Reconnecting);
                    self.view.announcement.set(self.tr.f_untracked("announce-reconnecting", &[]));
                }
                let weak = self.this.clone();
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
            inner.relay_streams.clear();
            inner.relay_screens.clear();
            let lingering = inner.lingering.drain(..).map(|(_, p, _)| p).collect::<Vec<_>>();
            let relay = inner.relay.take();
            inner.peers.drain().map(|(_, p)| p).chain(relay).chain(lingering).collect()
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
                Effect::OpenPeer { id, polite, offer } => {
                    self.open_peer(PeerId::Participant(id), polite, offer)
                }
                // The relay never offers first and is the impolite side.
                Effect::OpenRelayPeer => self.open_peer(PeerId::Relay, true, true),
                Effect::RelaySignal(signal) => self.signal_peer(PeerId::Relay, signal),
                Effect::ClosePeer(PeerId::Relay) => {
                    let relay = self.inner.borrow_mut().relay.take();
                    if let Some(relay) = relay {
                        relay.close();
                    }
                }
                Effect::ClosePeer(PeerId::Participant(id)) => {
                    if let Some(peer) = self.inner.borrow_mut().peers.remove(&id) {
                        peer.close();
                    }
                    self.inner.borrow_mut().relay_streams.remove(&id);
                    self.inner.borrow_mut().relay_screens.remove(&id);
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
                    self.signal_peer(PeerId::Participant(from), signal)
                }
                Effect::MuteMicrophone => {
                    self.set_microphone(false);
                }
                Effect::CameraOff => {
                    let this = self.this.clone();
                    leptos::task::spawn_local(async move {
                        if let Some(call) = this.upgrade() {
                            call.set_camera(false).await;
                        }
                    });
                }
                Effect::StopScreen => {
                    let this = self.this.clone();
                    leptos::task::spawn_local(async move {
                        if let Some(call) = this.upgrade() {
                            call.stop_screen_share().await;
                        }
                    });
                }
                Effect::RestartIce(id) => {
                    if let Some(peer) = self.inner.borrow().peer(id) {
                        peer.restart_ice();
                    }
                }
                Effect::SendSignal { to, signal } => {
                    self.send(&ClientMessage::Signal { to, signal })
                }
                Effect::ResendOffer(id) => {
                    if let Some(peer) = self.inner.borrow().peer(id) {
                        peer.resend_offer();
                    }
                }
                Effect::NetworkBack => {
                    // (The borrow ends before the reconnect, which needs the call again.)
                    let dead = self
                        .inner
                        .borrow()
                        .socket
                        .as_ref()
                        .is_some_and(RelaySocket::abandon_if_quiet);
                    if dead {
                        self.on_socket_closed(true);
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

    /// Hands a signal to the connection `id`, if it exists.
    fn signal_peer(&self, id: PeerId, signal: protocol::Signal) {
        let peer = self.inner.borrow().peer(id);
        if let Some(peer) = peer {
            peer.on_signal(signal);
        }
    }

    fn open_peer(&self, peer: PeerId, polite: bool, offer: bool) {
        let weak = self.this.clone();
        let sink: Rc<dyn Fn(PeerId, PeerEvent)> = Rc::new(move |id, event| {
            if let Some(call) = weak.upgrade() {
                call.on_peer_event(id, event);
            }
        });
        let ice_servers = self.inner.borrow().meeting.ice_servers().to_vec();
        let opened = Peer::open(peer, polite, offer, &ice_servers, Rc::clone(&self.local), sink);
        match (opened, peer) {
            (Ok(relay), PeerId::Relay) => self.inner.borrow_mut().relay = Some(relay),
            (Ok(peer), PeerId::Participant(id)) => {
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
            (Err(e), _) => js::warn(&format!("cannot create a peer connection: {e}")),
        }
    }

    fn on_peer_event(&self, peer: PeerId, event: PeerEvent) {
        if let PeerId::Participant(id) = peer
            && !self.inner.borrow().peers.contains_key(&id)
        {
            // A lingering direct connection (already replaced by the relay): nothing it does
            // concerns the meeting any more, and its end is expected.
            return;
        }
        match (event, peer) {
            (PeerEvent::Send(signal), PeerId::Relay) => {
                self.send(&ClientMessage::RelaySignal { signal })
            }
            (PeerEvent::Send(signal), PeerId::Participant(to)) => {
                self.send(&ClientMessage::Signal { to, signal })
            }
            (PeerEvent::RoutedTrack { stream, track }, _) => self.route_track(&stream, track),
            (PeerEvent::Track, _) => self.view.track_epoch.update(|e| *e += 1),
            (PeerEvent::Broken, _) => {
                let effects = self.inner.borrow_mut().meeting.on_broken(peer);
                self.apply(effects);
            }
            (PeerEvent::Link(link), _) => {
                if peer == PeerId::Relay && link == Link::Connected {
                    self.switch_over();
                }
                let effects = self.inner.borrow_mut().meeting.on_link_state(peer, link);
                if let (Link::Connected, PeerId::Participant(id)) = (link, peer) {
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

    /// A track from the relay joins the stream of the participant its stream id names:
    /// `p<id>` for microphone and camera, `s<id>` for a shared screen.
    fn route_track(&self, stream: &str, track: web_sys::MediaStreamTrack) {
        let id = match stream.parse::<protocol::StreamId>() {
            Ok(protocol::StreamId { source, screen: true }) => {
                self.route_screen(source, track);
                return;
            }
            Ok(protocol::StreamId { source, screen: false }) => source,
            Err(()) => {
                js::warn(&format!("a relay track with an unknown stream id {stream}"));
                return;
            }
        };
        {
            let mut inner = self.inner.borrow_mut();
            let Some(target) =
                inner.relay_streams.get(&id).cloned().or_else(|| web_sys::MediaStream::new().ok())
            else {
                return;
            };
            let same_kind = if track.kind() == "audio" {
                target.get_audio_tracks()
            } else {
                target.get_video_tracks()
            };
            for old in same_kind
                .iter()
                .filter_map(|t| wasm_bindgen::JsCast::dyn_into::<web_sys::MediaStreamTrack>(t).ok())
            {
                target.remove_track(&old);
            }
            target.add_track(&track);
            inner.relay_streams.insert(id, target);
        }
        // While a direct connection still shows this participant, `switch_over` decides when
        // the relay takes over (make before break).
        if !self.inner.borrow().peers.contains_key(&id) {
            self.show_relay_stream(id);
        }
        self.view.track_epoch.update(|e| *e += 1);
    }

    /// Once the relay connection is up: moves each participant still shown over a direct
    /// connection to the relay as soon as the relay delivers what they send
    /// (`client::switchover` decides), then closes that direct connection.
    fn switch_over(&self) {
        let weak = self.this.clone();
        leptos::task::spawn_local(async move {
            let started = js_sys::Date::now();
            // Frames decoded per track of the relay connection, from its newest statistics.
            // They are read beside the decisions, never before them: on a busy machine one
            // getStats() has taken tens of seconds (it queues behind the browser's negotiation
            // work), and rounds that waited for it postponed giving up on the relay, and closing
            // direct connections the other end had closed already, by minutes.
            let decoded: Rc<RefCell<HashMap<String, f64>>> = Rc::default();
            let reading = Rc::new(Cell::new(false));
            loop {
                let Some(call) = weak.upgrade() else { return };
                let Some(relay) = call.inner.borrow().relay.clone() else {
                    call.close_lingering(true);
                    return; // back to a mesh, or left
                };
                call.close_lingering(false);
                let direct: Vec<(ParticipantId, Rc<Peer>)> =
                    call.inner.borrow().peers.iter().map(|(id, p)| (*id, Rc::clone(p))).collect();
                if direct.is_empty() && call.inner.borrow().lingering.is_empty() {
                    return;
                }
                // One reading of the relay connection's statistics at a time, for everyone.
                if !direct.is_empty() && !reading.replace(true) {
                    let (decoded, reading) = (Rc::clone(&decoded), Rc::clone(&reading));
                    leptos::task::spawn_local(async move {
                        let frames = relay.frames_decoded_by_track().await;
                        *decoded.borrow_mut() = frames;
                        reading.set(false);
                    });
                }
                for (id, peer) in direct {
                    let sends = call.inner.borrow().meeting.other(id).map(|r| r.info.media);
                    let Some(sends) = sends else { continue }; // they left; the roster closes it
                    let stream = call.inner.borrow().relay_streams.get(&id).cloned();
                    let video =
                        stream.as_ref().and_then(|s| s.get_video_tracks().iter().next()).and_then(
                            |t| wasm_bindgen::JsCast::dyn_into::<web_sys::MediaStreamTrack>(t).ok(),
                        );
                    let delivery = client::switchover::RelayDelivery {
                        audio: stream.as_ref().is_some_and(|s| s.get_audio_tracks().length() > 0),
                        video_decoding: video.is_some_and(|video| {
                            decoded.borrow().get(&video.id()).is_some_and(|frames| *frames > 0.0)
                        }),
                    };
                    let link = if peer.is_gone() { Direct::Gone } else { Direct::Working };
                    let waited = js_sys::Date::now() - started;
                    if client::switchover::decide(sends, delivery, link, waited)
                        == Switchover::UseRelay
                    {
                        if !call.inner.borrow().relay_streams.contains_key(&id)
                            && let Ok(empty) = web_sys::MediaStream::new()
                        {
                            call.inner.borrow_mut().relay_streams.insert(id, empty);
                        }
                        call.show_relay_stream(id);
                    }
                }
                drop(call);
                js::sleep(SWITCHOVER_CHECK_MS).await;
            }
        });
    }

    /// Audio levels of the participants the relay connection carries (SFU mode).
    pub(super) fn relay_levels(&self) -> Vec<(ParticipantId, f64)> {
        let inner = self.inner.borrow();
        let Some(relay) = &inner.relay else { return Vec::new() };
        let by_track = relay.audio_levels_by_track();
        inner
            .relay_streams
            .iter()
            .filter(|(id, _)| !inner.peers.contains_key(id))
            .filter_map(|(id, stream)| {
                let track = stream.get_audio_tracks().iter().next()?;
                let track: web_sys::MediaStreamTrack =
                    wasm_bindgen::JsCast::dyn_into(track).ok()?;
                let level = by_track.iter().find(|(t, _)| *t == track.id()).map(|(_, l)| *l)?;
                Some((*id, level))
            })
            .collect()
    }

    /// Shows `id` from the relay and drops the direct connection to them, if there is one.
    fn show_relay_stream(&self, id: ParticipantId) {
        let stream = self.inner.borrow().relay_streams.get(&id).cloned();
        let Some(stream) = stream else { return };
        self.view.streams.update(|streams| {
            streams.insert(id, stream);
        });
        // The direct connection's screen goes with it; the relay's, if it has one, replaces it.
        let screen = self.inner.borrow().relay_screens.get(&id).cloned();
        self.view.screens.update(|screens| match screen {
            Some(screen) => {
                screens.insert(id, screen);
            }
            None => {
                screens.remove(&id);
            }
        });
        let mesh_peer = self.inner.borrow_mut().peers.remove(&id);
        if let Some(peer) = mesh_peer {
            let until = js_sys::Date::now() + client::switchover::KEEP_DIRECT_MS;
            self.inner.borrow_mut().lingering.push((id, peer, until));
        }
        self.view.track_epoch.update(|e| *e += 1);
    }

    /// Closes the lingering direct connections whose time is up or whose participant left; all
    /// of them with `all`.
    fn close_lingering(&self, all: bool) {
        let now = js_sys::Date::now();
        let done: Vec<Rc<Peer>> = {
            let mut inner = self.inner.borrow_mut();
            let Inner { lingering, meeting, .. } = &mut *inner;
            let (done, keep): (Vec<_>, Vec<_>) = std::mem::take(lingering)
                .into_iter()
                .partition(|(id, _, until)| all || *until <= now || meeting.other(*id).is_none());
            *lingering = keep;
            done.into_iter().map(|(_, peer, _)| peer).collect()
        };
        for peer in done {
            peer.close();
        }
    }

    /// A shared screen from the relay: shown at once, unless a direct connection still shows
    /// this participant (then it is shown when the switch to the relay completes).
    fn route_screen(&self, id: ParticipantId, track: web_sys::MediaStreamTrack) {
        let Ok(stream) = web_sys::MediaStream::new() else { return };
        stream.add_track(&track);
        self.inner.borrow_mut().relay_screens.insert(id, Clone::clone(&stream));
        if !self.inner.borrow().peers.contains_key(&id) {
            self.view.screens.update(|screens| {
                screens.insert(id, stream);
            });
        }
        self.view.track_epoch.update(|e| *e += 1);
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
                away: r.info.away,
                host: r.info.role == protocol::Role::Host,
                host_link: r.info.host_link,
                mic_locked: r.info.mic_locked,
                camera_withheld: meeting.camera_withheld(&r.info),
                listener: r.info.role == protocol::Role::Listener,
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
        if self.view.locked.get_untracked() != meeting.locked() {
            self.view.locked.set(meeting.locked());
        }
        if self.view.lobby.get_untracked() != meeting.lobby() {
            self.view.lobby.set(meeting.lobby());
        }
        if self.view.listening.get_untracked() != meeting.listening() {
            self.view.listening.set(meeting.listening());
        }
        if self.view.listeners.get_untracked() != meeting.listeners() {
            self.view.listeners.set(meeting.listeners());
        }
        if self.view.listener_chat.get_untracked() != meeting.listener_chat() {
            self.view.listener_chat.set(meeting.listener_chat());
        }
        let password = meeting.password().map(str::to_owned);
        if self.view.password.with_untracked(|p| *p != password) {
            self.view.password.set(password);
        }
        if self.view.cameras_to_hosts.get_untracked() != meeting.cameras_to_hosts() {
            self.view.cameras_to_hosts.set(meeting.cameras_to_hosts());
        }
        if self.view.waiting.with_untracked(|w| w.as_slice() != meeting.waiting()) {
            self.view.waiting.set(meeting.waiting().to_vec());
        }
        let own_mic_locked = meeting.me().is_some_and(|me| me.mic_locked);
        if self.view.own_mic_locked.get_untracked() != own_mic_locked {
            self.view.own_mic_locked.set(own_mic_locked);
        }
        let own_host = meeting.me().is_some_and(|me| me.role == protocol::Role::Host);
        if self.view.own_host.get_untracked() != own_host {
            self.view.own_host.set(own_host);
        }
        let own_host_link = meeting.me().is_some_and(|me| me.host_link);
        if self.view.own_host_link.get_untracked() != own_host_link {
            self.view.own_host_link.set(own_host_link);
        }
        let me = meeting.me().map(|m| m.id);
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
    /// Tells the relay how big `from`'s video is shown, so it forwards the simulcast layer
    /// that fits (server forwarding only; a mesh ignores it).
    pub fn set_video_quality(&self, from: ParticipantId, quality: protocol::VideoQuality) {
        self.send(&ClientMessage::ReceiveVideo { from, quality });
    }

    /// Raises or lowers our hand.
    pub fn set_hand(&self, raised: bool) {
        self.send(&ClientMessage::Hand { raised });
    }

    /// A host's action on a participant or the meeting; the relay refuses it from anyone else.
    pub fn moderate(&self, action: protocol::Moderation) {
        self.send(&ClientMessage::Moderate { action });
    }

    /// Opens or closes a side panel; opening the chat marks it read.
    pub fn set_panel(&self, panel: Panel) {
        self.view.panel.set(panel);
        self.inner.borrow_mut().meeting.chat_mut().set_open(panel == Panel::Chat);
        self.sync_tiles();
    }

    /// Leaves the room, closes everything and releases camera and microphone.
    pub fn leave(&self) {
        self.send(&ClientMessage::Leave);
        self.inner.borrow_mut().reconnect.forget();
        self.view.phase.set(CallPhase::Left);
        self.teardown_room();
        self.drop_socket();
        self.local.borrow_mut().stop();
        self.view.own_stream.set(None);
        self.view.own_screen.set(None);
    }
}
