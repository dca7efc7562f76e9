//! A call in progress: wires the relay socket, the peer connections and the local media to
//! `client::meeting::Meeting`, and mirrors the result into reactive state for the views.

use std::{
    cell::RefCell,
    collections::HashMap,
    rc::{Rc, Weak},
};

use client::{
    errors::UserError,
    meeting::{Meeting, PeerId},
    reconnect::Reconnect,
};
use leptos::prelude::*;
use protocol::{ClientMessage, MediaState, ParticipantId};

use crate::{i18n::Tr, js, media::LocalMedia, peer::Peer, relay_socket::RelaySocket};

/// How often, while switching from mesh to the relay, the relay's delivery is checked for the
/// participants still shown over direct connections. Each check reads the relay connection's
/// statistics, which is not free for a browser busy with the switch.
const SWITCHOVER_CHECK_MS: i32 = 500;

mod effects;
mod local;
mod monitor;
mod socket;
mod switch;
mod tiles;
mod tracks;
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
