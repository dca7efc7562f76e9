//! One `RTCPeerConnection` to one other participant, driven by `client::negotiation`.
//!
//! Events of one peer are processed strictly one after another (a queue drained by a single
//! task), so the negotiator always sees the connection's current signalling state.

use std::{
    cell::{Cell, RefCell},
    collections::{HashMap, VecDeque},
    rc::{Rc, Weak},
};

use client::{
    meeting::{Link, PeerId},
    negotiation::{Command, Description, Negotiator, SignalingState},
};
use protocol::{IceCandidate, IceServer, Signal};
use wasm_bindgen::{JsCast, JsValue, prelude::Closure};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    MediaStream, RtcConfiguration, RtcIceCandidateInit, RtcPeerConnection,
    RtcPeerConnectionIceEvent, RtcRtpTransceiver, RtcRtpTransceiverDirection,
    RtcRtpTransceiverInit, RtcSdpType, RtcSessionDescriptionInit, RtcTrackEvent,
};

use crate::{js, media::LocalMedia};

/// An event handler installed on the connection.
type Handler = Closure<dyn FnMut(JsValue)>;

/// What a peer tells the call.
pub enum PeerEvent {
    /// Send this signal to the other participant.
    Send(Signal),
    /// The connection state changed.
    Link(Link),
    /// A remote track arrived.
    Track,
    /// A description failed to apply: the connection cannot be negotiated any more.
    Broken,
    /// A track arrived on the relay connection, for the participant its stream names.
    RoutedTrack {
        /// The stream id the relay gave it (`p<participant id>`).
        stream: String,
        /// The track.
        track: web_sys::MediaStreamTrack,
    },
}

/// Something for the peer's queue.
enum Input {
    NegotiationNeeded,
    Signal(Signal),
    /// Restart ICE (the connection failed).
    RestartIce,
    /// Time passed (checks for offers that got no answer).
    Tick,
    /// The signalling connection was replaced: send an unanswered offer again.
    ResendOffer,
}

/// A peer connection and everything needed to drive it.
pub struct Peer {
    /// Who is on the other end.
    id: PeerId,
    /// The browser's connection.
    pc: RtcPeerConnection,
    /// The other participant's audio and video, shown in their tile.
    remote: MediaStream,
    /// The other participant's shared screen.
    remote_screen: MediaStream,
    /// Our transceiver that sends our screen, once we have shared it with this peer.
    screen_sender: RefCell<Option<RtcRtpTransceiver>>,
    /// Perfect negotiation.
    negotiator: RefCell<Negotiator>,
    /// Events waiting to be processed.
    queue: RefCell<VecDeque<(Input, f64)>>,
    /// Whether a task is draining the queue.
    draining: Cell<bool>,
    /// Our camera and microphone, shared with the call.
    local: Rc<RefCell<LocalMedia>>,
    /// Where events go.
    sink: Rc<dyn Fn(PeerId, PeerEvent)>,
    /// Event handlers, released when the peer closes (not leaked per peer).
    handlers: RefCell<Vec<Handler>>,
    /// This is the connection to the relay, whose tracks belong to different participants.
    routed: bool,
}

fn rtc_configuration(ice_servers: &[IceServer]) -> RtcConfiguration {
    let config = RtcConfiguration::new();
    let servers = js_sys::Array::new();
    for server in ice_servers {
        let entry = web_sys::RtcIceServer::new();
        let urls: js_sys::Array = server.urls.iter().map(|u| JsValue::from_str(u)).collect();
        entry.set_urls(&urls);
        if let Some(username) = &server.username {
            entry.set_username(username);
        }
        if let Some(credential) = &server.credential {
            entry.set_credential(credential);
        }
        servers.push(&entry);
    }
    config.set_ice_servers(&servers);
    config
}

/// The loudest recent audio level a receiver reports (`getSynchronizationSources`).
fn receiver_level(receiver: &web_sys::RtcRtpReceiver) -> f64 {
    let Ok(get) = js_sys::Reflect::get(receiver, &"getSynchronizationSources".into()) else {
        return 0.0;
    };
    let Some(get) = get.dyn_ref::<js_sys::Function>() else { return 0.0 };
    let Ok(sources) = get.call0(receiver) else { return 0.0 };
    let now = js_sys::Date::now();
    js_sys::Array::from(&sources)
        .iter()
        .filter(|source| {
            // Sources not heard from for a second are silent.
            let at =
                js_sys::Reflect::get(source, &"timestamp".into()).ok().and_then(|t| t.as_f64());
            at.is_none_or(|at| (now - at).abs() < 1000.0 || at < 1e12)
        })
        .filter_map(|source| js_sys::Reflect::get(&source, &"audioLevel".into()).ok()?.as_f64())
        .fold(0.0, f64::max)
}

impl Peer {
    /// Creates the connection to `id`. If `offer`, our tracks are added at once, which makes the
    /// browser start negotiating; otherwise the connection waits for the other side's offer.
    pub fn open(
        id: PeerId,
        polite: bool,
        offer: bool,
        ice_servers: &[IceServer],
        local: Rc<RefCell<LocalMedia>>,
        sink: Rc<dyn Fn(PeerId, PeerEvent)>,
    ) -> Result<Rc<Self>, String> {
        let pc = RtcPeerConnection::new_with_configuration(&rtc_configuration(ice_servers))
            .map_err(|e| js::describe(&e))?;
        let remote = MediaStream::new().map_err(|e| js::describe(&e))?;
        let remote_screen = MediaStream::new().map_err(|e| js::describe(&e))?;
        let peer = Rc::new(Self {
            id,
            pc,
            remote,
            remote_screen,
            screen_sender: RefCell::new(None),
            negotiator: RefCell::new(if offer {
                Negotiator::offering(polite)
            } else {
                Negotiator::new(polite)
            }),
            queue: RefCell::new(VecDeque::new()),
            draining: Cell::new(false),
            local,
            sink,
            handlers: RefCell::new(Vec::new()),
            routed: id == PeerId::Relay,
        });
        peer.install_handlers();
        if offer {
            peer.add_transceivers();
            peer.share_screen_if_sharing();
        }
        Ok(peer)
    }

    /// The other participant's media.
    pub fn remote_stream(&self) -> &MediaStream {
        &self.remote
    }

    /// The other participant's shared screen (empty while they share nothing).
    pub fn remote_screen(&self) -> &MediaStream {
        &self.remote_screen
    }

    /// Sends our screen on its own transceiver (added once; renegotiates through perfect
    /// negotiation), or stops sending it without renegotiating.
    pub async fn set_screen(&self, track: Option<web_sys::MediaStreamTrack>) {
        let existing = self.screen_sender.borrow().clone();
        match (existing, track) {
            (Some(transceiver), track) => {
                let _ = JsFuture::from(transceiver.sender().replace_track(track.as_ref())).await;
            }
            (None, Some(_)) => self.share_screen_if_sharing(),
            (None, None) => {}
        }
    }

    /// Adds the screen transceiver if we are sharing and have not sent it to this peer yet.
    fn share_screen_if_sharing(&self) {
        if self.screen_sender.borrow().is_some() {
            return;
        }
        let Some((track, stream)) = self.local.borrow().screen.clone() else { return };
        let init = RtcRtpTransceiverInit::new();
        init.set_direction(RtcRtpTransceiverDirection::Sendonly);
        init.set_streams(&js_sys::Array::of1(&stream));
        let transceiver = self.pc.add_transceiver_with_media_stream_track_and_init(&track, &init);
        *self.screen_sender.borrow_mut() = Some(transceiver);
    }

    /// The loudness of the other participant's audio right now (0.0–1.0), from the RTP
    /// audio-level header extension.
    pub fn audio_level(&self) -> f64 {
        self.transceiver("audio").map(|t| receiver_level(&t.receiver())).unwrap_or(0.0)
    }

    /// The loudness of every received audio track (the relay connection carries one per
    /// participant), by track id.
    pub fn audio_levels_by_track(&self) -> Vec<(String, f64)> {
        self.pc
            .get_transceivers()
            .iter()
            .filter_map(|t| t.dyn_into::<RtcRtpTransceiver>().ok())
            .map(|t| t.receiver())
            .filter(|r| r.track().kind() == "audio")
            .map(|r| (r.track().id(), receiver_level(&r)))
            .collect()
    }

    /// Whether the connection failed or was closed: it carries no media any more.
    pub fn is_gone(&self) -> bool {
        matches!(
            js::get_string(self.pc.as_ref(), "connectionState").as_deref(),
            Some("failed" | "closed")
        )
    }

    /// Frames decoded so far per received track (by track id), from one `getStats()`. Both
    /// browsers name the track in their `inbound-rtp` statistics; a track that has received
    /// nothing yet has none.
    pub async fn frames_decoded_by_track(&self) -> HashMap<String, f64> {
        let mut decoded = HashMap::new();
        let Ok(report) = JsFuture::from(self.pc.get_stats()).await else { return decoded };
        let Ok(Some(entries)) = js_sys::try_iter(&report) else { return decoded };
        for stat in entries.flatten().map(|entry| js_sys::Array::from(&entry).get(1)) {
            if js::get_string(&stat, "type").as_deref() != Some("inbound-rtp") {
                continue;
            }
            let (Some(track), Some(frames)) = (
                js::get_string(&stat, "trackIdentifier"),
                js_sys::Reflect::get(&stat, &"framesDecoded".into()).ok().and_then(|f| f.as_f64()),
            ) else {
                continue;
            };
            let entry = decoded.entry(track).or_insert(0.0);
            *entry = f64::max(*entry, frames);
        }
        decoded
    }

    /// Reads the counters `client::quality` needs from `getStats()`.
    pub async fn stats(&self) -> Option<client::quality::StatsSample> {
        let report = JsFuture::from(self.pc.get_stats()).await.ok()?;
        let mut sample =
            client::quality::StatsSample { at_ms: js_sys::Date::now(), ..Default::default() };
        let mut local_candidates = std::collections::HashMap::new();
        // Candidate pairs by id (round trip, local candidate), and the ways browsers name the
        // one in use.
        let mut pairs = std::collections::HashMap::new();
        let (mut selected_pair, mut in_use, mut nominated) = (None, None, None);
        let get = |v: &JsValue, k: &str| js_sys::Reflect::get(v, &JsValue::from_str(k)).ok();
        let num = |v: &JsValue, k: &str| get(v, k).and_then(|x| x.as_f64());
        let text = |v: &JsValue, k: &str| get(v, k).and_then(|x| x.as_string());
        let entries = js_sys::try_iter(&report).ok()??;
        for entry in entries.flatten() {
            let stat = js_sys::Array::from(&entry).get(1);
            match text(&stat, "type").as_deref() {
                Some("inbound-rtp") => {
                    sample.packets_received += num(&stat, "packetsReceived").unwrap_or(0.0) as u64;
                    sample.packets_lost += num(&stat, "packetsLost").unwrap_or(0.0) as i64;
                    sample.bytes_received += num(&stat, "bytesReceived").unwrap_or(0.0) as u64;
                }
                Some("outbound-rtp") => {
                    sample.bytes_sent += num(&stat, "bytesSent").unwrap_or(0.0) as u64
                }
                Some("local-candidate") => {
                    if let (Some(id), Some(kind)) =
                        (text(&stat, "id"), text(&stat, "candidateType"))
                    {
                        local_candidates.insert(id, (kind, text(&stat, "relayProtocol")));
                    }
                }
                Some("candidate-pair") => {
                    let id = text(&stat, "id");
                    let rtt = num(&stat, "currentRoundTripTime");
                    let local = text(&stat, "localCandidateId");
                    // Firefox marks the pair in use `selected`; with its aggressive nomination
                    // several pairs can be nominated and succeeded at once.
                    if get(&stat, "selected").and_then(|s| s.as_bool()).unwrap_or(false) {
                        in_use = Some((rtt, local.clone()));
                    }
                    if text(&stat, "state").as_deref() == Some("succeeded")
                        && get(&stat, "nominated").and_then(|s| s.as_bool()).unwrap_or(false)
                    {
                        nominated = Some((rtt, local.clone()));
                    }
                    if let Some(id) = id {
                        pairs.insert(id, (rtt, local));
                    }
                }
                // Chromium names the pair in use on the transport.
                Some("transport") => selected_pair = text(&stat, "selectedCandidatePairId"),
                _ => {}
            }
        }
        let chosen = selected_pair.and_then(|id| pairs.remove(&id)).or(in_use).or(nominated);
        let mut selected_local = None;
        if let Some((rtt, local)) = chosen {
            sample.rtt_s = rtt;
            selected_local = local;
        }
        sample.route = selected_local
            .and_then(|id| local_candidates.get(&id))
            .map(|(kind, protocol)| client::quality::route_of(kind, protocol.as_deref()));
        Some(sample)
    }

    fn install_handlers(self: &Rc<Self>) {
        let weak = Rc::downgrade(self);
        let handler = |weak: &Weak<Self>, f: fn(&Rc<Self>, JsValue)| {
            let weak = weak.clone();
            Handler::new(move |event: JsValue| {
                if let Some(peer) = weak.upgrade() {
                    f(&peer, event);
                }
            })
        };
        let on_negotiation = handler(&weak, |peer, _| peer.push(Input::NegotiationNeeded));
        let on_candidate = handler(&weak, |peer, event| {
            let Some(candidate) =
                event.dyn_into::<RtcPeerConnectionIceEvent>().ok().and_then(|e| e.candidate())
            else {
                return;
            };
            let candidate = IceCandidate {
                candidate: candidate.candidate(),
                sdp_mid: candidate.sdp_mid(),
                sdp_m_line_index: candidate.sdp_m_line_index(),
                username_fragment: js::get_string(&candidate, "usernameFragment"),
            };
            let commands = peer.negotiator.borrow_mut().on_local_candidate(candidate);
            peer.run_now(commands);
        });
        let on_track = handler(&weak, |peer, event| {
            let Ok(event) = event.dyn_into::<RtcTrackEvent>() else {
                return;
            };
            let track = event.track();
            if peer.routed {
                let stream =
                    event.streams().iter().next().and_then(|s| s.dyn_into::<MediaStream>().ok());
                if let Some(stream) = stream {
                    (peer.sink)(peer.id, PeerEvent::RoutedTrack { stream: stream.id(), track });
                }
                return;
            }
            // A track that comes with a stream is a shared screen; camera and microphone come
            // without one.
            let is_screen = track.kind() == "video" && event.streams().length() > 0;
            let target = if is_screen { &peer.remote_screen } else { &peer.remote };
            // One track per kind: a renegotiated track replaces the old one.
            let same_kind = if track.kind() == "audio" {
                target.get_audio_tracks()
            } else {
                target.get_video_tracks()
            };
            for old in
                same_kind.iter().filter_map(|t| t.dyn_into::<web_sys::MediaStreamTrack>().ok())
            {
                target.remove_track(&old);
            }
            target.add_track(&track);
            (peer.sink)(peer.id, PeerEvent::Track);
        });
        let on_state = handler(&weak, |peer, _| {
            // The browser's own word for the state (`connected`, `failed`, ...).
            let state = js::get_string(peer.pc.as_ref(), "connectionState").unwrap_or_default();
            if let Some(link) = Link::from_connection_state(&state) {
                (peer.sink)(peer.id, PeerEvent::Link(link));
            }
        });
        self.pc.set_onnegotiationneeded(Some(on_negotiation.as_ref().unchecked_ref()));
        self.pc.set_onicecandidate(Some(on_candidate.as_ref().unchecked_ref()));
        self.pc.set_ontrack(Some(on_track.as_ref().unchecked_ref()));
        self.pc.set_onconnectionstatechange(Some(on_state.as_ref().unchecked_ref()));
        self.handlers.borrow_mut().extend([on_negotiation, on_candidate, on_track, on_state]);
    }

    /// The offering side: one audio and one video transceiver, sending our tracks if we have them.
    /// Without a track the transceiver still sends "nothing" and receives, so a camera switched on
    /// later needs no renegotiation.
    fn add_transceivers(&self) {
        let local = self.local.borrow();
        for kind in ["audio", "video"] {
            let init = RtcRtpTransceiverInit::new();
            // To the relay we only send on these; what we receive comes on m-lines of its own,
            // one per forwarded track.
            init.set_direction(if self.routed {
                RtcRtpTransceiverDirection::Sendonly
            } else {
                RtcRtpTransceiverDirection::Sendrecv
            });
            if self.routed && kind == "video" {
                init.set_send_encodings(&simulcast_layers());
            }
            match local.track(kind) {
                Some(track) => {
                    self.pc.add_transceiver_with_media_stream_track_and_init(track, &init);
                }
                None => {
                    self.pc.add_transceiver_with_str_and_init(kind, &init);
                }
            }
        }
    }

    /// The answering side, after applying the offer: send on the offered transceivers too.
    async fn attach_to_offered_transceivers(&self) {
        for kind in ["audio", "video"] {
            let Some(transceiver) = self.transceiver(kind) else {
                continue;
            };
            if transceiver.sender().track().is_some() {
                continue;
            }
            // The connection may have closed while the previous track was attached (the
            // person left): then the browser throws on a direction set, so stop here.
            let direction = JsValue::from_str("sendrecv");
            if js_sys::Reflect::set(&transceiver, &"direction".into(), &direction).is_err() {
                return;
            }
            let track = self.local.borrow().track(kind).cloned();
            if let Some(track) = track {
                let _ = JsFuture::from(transceiver.sender().replace_track(Some(&track))).await;
            }
        }
    }

    /// The first transceiver of `kind`.
    fn transceiver(&self, kind: &str) -> Option<RtcRtpTransceiver> {
        self.pc
            .get_transceivers()
            .iter()
            .filter_map(|t| t.dyn_into::<RtcRtpTransceiver>().ok())
            .find(|t| t.receiver().track().kind() == kind)
    }

    /// Sends `track` (or nothing) as our `kind` media, without renegotiating.
    pub async fn replace_track(&self, kind: &str, track: Option<web_sys::MediaStreamTrack>) {
        if let Some(transceiver) = self.transceiver(kind)
            && let Err(e) = JsFuture::from(transceiver.sender().replace_track(track.as_ref())).await
        {
            js::warn(&format!("replaceTrack failed: {}", js::describe(&e)));
        }
    }

    /// A signal from the other participant.
    pub fn on_signal(self: &Rc<Self>, signal: Signal) {
        self.push(Input::Signal(signal));
    }

    /// Starts an ICE restart (after the connection failed).
    pub fn restart_ice(self: &Rc<Self>) {
        self.push(Input::RestartIce);
    }

    /// The connection stays across a broken signalling connection: an offer of ours still
    /// unanswered goes again (it may have been lost with the old connection).
    pub fn resend_offer(self: &Rc<Self>) {
        self.push(Input::ResendOffer);
    }

    /// Lets the negotiation notice time passing (an offer that got no answer is made again).
    pub fn tick(self: &Rc<Self>) {
        self.push(Input::Tick);
    }

    /// Closes the connection and releases its handlers.
    pub fn close(&self) {
        self.pc.set_onnegotiationneeded(None);
        self.pc.set_onicecandidate(None);
        self.pc.set_ontrack(None);
        self.pc.set_onconnectionstatechange(None);
        self.pc.close();
        // Freed on a later turn: close() may run inside one of these handlers.
        let handlers = std::mem::take(&mut *self.handlers.borrow_mut());
        leptos::task::spawn_local(async move { drop(handlers) });
        self.queue.borrow_mut().clear();
        for track in self
            .remote
            .get_tracks()
            .concat(&self.remote_screen.get_tracks())
            .iter()
            .filter_map(|t| t.dyn_into::<web_sys::MediaStreamTrack>().ok())
        {
            track.stop();
        }
    }

    fn signaling_state(&self) -> SignalingState {
        use web_sys::RtcSignalingState as S;
        match self.pc.signaling_state() {
            S::Stable => SignalingState::Stable,
            S::HaveLocalOffer => SignalingState::HaveLocalOffer,
            S::HaveRemoteOffer => SignalingState::HaveRemoteOffer,
            S::Closed => SignalingState::Closed,
            _ => SignalingState::Other,
        }
    }

    fn push(self: &Rc<Self>, input: Input) {
        self.queue.borrow_mut().push_back((input, js_sys::Date::now()));
        if self.draining.replace(true) {
            return;
        }
        let peer = Rc::clone(self);
        leptos::task::spawn_local(async move {
            loop {
                let next = peer.queue.borrow_mut().pop_front();
                let Some((input, queued_at)) = next else { break };
                let waited = js_sys::Date::now() - queued_at;
                if waited > 2000.0 {
                    js::warn(&format!("a negotiation event waited {waited:.0} ms in the queue"));
                }
                let commands = match input {
                    Input::NegotiationNeeded => {
                        let state = peer.signaling_state();
                        peer.negotiator.borrow_mut().on_negotiation_needed(state)
                    }
                    Input::Signal(signal) => {
                        let state = peer.signaling_state();
                        peer.negotiator.borrow_mut().on_signal(signal, state)
                    }
                    Input::RestartIce => peer.negotiator.borrow_mut().restart_ice(),
                    Input::ResendOffer => {
                        let (state, local) = (peer.signaling_state(), peer.local_description());
                        peer.negotiator.borrow_mut().resend_offer(state, local)
                    }
                    Input::Tick => {
                        let state = peer.signaling_state();
                        let slow =
                            peer.negotiator.borrow_mut().slow_answer(js_sys::Date::now(), state);
                        if let Some(ms) = slow {
                            js::warn(&format!("no answer to our offer for {:.0} s", ms / 1000.0));
                        }
                        Vec::new()
                    }
                };
                peer.execute(commands).await;
            }
            peer.draining.set(false);
        });
    }

    /// Carries out commands that need no waiting (sending candidates).
    fn run_now(&self, commands: Vec<Command>) {
        for command in commands {
            if let Command::Send(signal) = command {
                (self.sink)(self.id, PeerEvent::Send(signal));
            }
        }
    }

    async fn execute(&self, commands: Vec<Command>) {
        let mut pending: VecDeque<Command> = commands.into();
        // When answering an offer: when it began, and each step's end (for slow answers).
        let mut answering: Vec<f64> = Vec::new();
        while let Some(command) = pending.pop_front() {
            let more = match command {
                Command::Send(signal) => {
                    let answered = matches!(signal, Signal::Answer { .. });
                    (self.sink)(self.id, PeerEvent::Send(signal));
                    if answered {
                        report_slow_answer(&answering);
                        // The answering side shares its screen (if it does) in a negotiation
                        // of its own, once the first one is done.
                        self.share_screen_if_sharing();
                    }
                    Vec::new()
                }
                Command::SetLocalDescription => {
                    let done = JsFuture::from(js::set_local_description(&self.pc)).await;
                    if !answering.is_empty() {
                        answering.push(js_sys::Date::now());
                    }
                    match done {
                        Ok(_) => match self.local_description() {
                            Some(description) => self
                                .negotiator
                                .borrow_mut()
                                .on_local_description_set(description, js_sys::Date::now()),
                            None => Vec::new(),
                        },
                        Err(e) => {
                            js::warn(&format!("setLocalDescription failed: {}", js::describe(&e)));
                            self.negotiator.borrow_mut().on_local_description_failed();
                            Vec::new()
                        }
                    }
                }
                Command::SetRemoteDescription(description) => {
                    let was_offer = matches!(description, Description::Offer(_));
                    let (kind, sdp) = match &description {
                        Description::Offer(sdp) => (RtcSdpType::Offer, sdp),
                        Description::Answer(sdp) => (RtcSdpType::Answer, sdp),
                    };
                    let init = RtcSessionDescriptionInit::new(kind);
                    init.set_sdp(sdp);
                    if was_offer {
                        answering = vec![js_sys::Date::now()];
                    }
                    match JsFuture::from(self.pc.set_remote_description(&init)).await {
                        Ok(_) => {
                            if was_offer {
                                answering.push(js_sys::Date::now());
                                self.attach_to_offered_transceivers().await;
                                answering.push(js_sys::Date::now());
                            }
                            self.negotiator.borrow_mut().on_remote_description_set(was_offer)
                        }
                        Err(e) => {
                            js::warn(&format!("setRemoteDescription failed: {}", js::describe(&e)));
                            if self.pc.signaling_state() != web_sys::RtcSignalingState::Closed {
                                (self.sink)(self.id, PeerEvent::Broken);
                            }
                            Vec::new()
                        }
                    }
                }
                Command::RestartIce => {
                    js::restart_ice(&self.pc);
                    Vec::new()
                }
                Command::AddCandidate(candidate) => {
                    let init = RtcIceCandidateInit::new(&candidate.candidate);
                    init.set_sdp_mid(candidate.sdp_mid.as_deref());
                    init.set_sdp_m_line_index(candidate.sdp_m_line_index);
                    if let Some(ufrag) = candidate.username_fragment.as_deref() {
                        js::set_string(&init, "usernameFragment", ufrag);
                    }
                    let promise =
                        self.pc.add_ice_candidate_with_opt_rtc_ice_candidate_init(Some(&init));
                    if let Err(e) = JsFuture::from(promise).await {
                        js::warn(&format!("addIceCandidate failed: {}", js::describe(&e)));
                    }
                    Vec::new()
                }
            };
            // Follow-ups run before anything else queued for this command list.
            for (i, command) in more.into_iter().enumerate() {
                pending.insert(i, command);
            }
        }
    }

    fn local_description(&self) -> Option<Description> {
        let description = self.pc.local_description()?;
        match description.type_() {
            RtcSdpType::Offer => Some(Description::Offer(description.sdp())),
            RtcSdpType::Answer => Some(Description::Answer(description.sdp())),
            _ => None,
        }
    }
}

/// Warns when answering an offer took over two seconds, with the time of each step
/// (`steps`: start, then the ends of setRemoteDescription, attaching tracks, setLocalDescription).
fn report_slow_answer(steps: &[f64]) {
    if let [start, remote, attached, local, ..] = steps
        && local - start > 2000.0
    {
        js::warn(&format!(
            "answering took {:.0} ms: setRemoteDescription {:.0} ms, attaching tracks {:.0} ms, setLocalDescription {:.0} ms",
            local - start,
            remote - start,
            attached - remote,
            local - attached
        ));
    }
}

/// The two simulcast layers sent to the relay: half the camera's resolution at up to
/// 200 kbit/s, and the full picture at up to 900 kbit/s. The relay forwards each receiver the
/// one that fits its tile and bandwidth. Browsers that cannot send simulcast send one layer.
fn simulcast_layers() -> js_sys::Array {
    let low = web_sys::RtcRtpEncodingParameters::new();
    low.set_rid("l");
    low.set_scale_resolution_down_by(2.0);
    low.set_max_bitrate(200_000);
    let high = web_sys::RtcRtpEncodingParameters::new();
    high.set_rid("h");
    high.set_max_bitrate(900_000);
    js_sys::Array::of2(&low, &high)
}
