//! Carrying out what `client::meeting::Meeting` decided: peer connections opened, closed and
//! signalled, announcements, errors.

use std::rc::Rc;

use client::{
    errors::UserError,
    meeting::{Effect, PeerId},
};
use leptos::prelude::*;
use protocol::{ClientMessage, ErrorCode};

use crate::{
    js,
    peer::{Peer, PeerEvent},
    relay_socket::RelaySocket,
};

use super::*;

impl Call {
    pub(super) fn apply(&self, effects: Vec<Effect>) {
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
    pub(super) fn signal_peer(&self, id: PeerId, signal: protocol::Signal) {
        let peer = self.inner.borrow().peer(id);
        if let Some(peer) = peer {
            peer.on_signal(signal);
        }
    }

    pub(super) fn open_peer(&self, peer: PeerId, polite: bool, offer: bool) {
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
}
