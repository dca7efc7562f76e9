//! The signalling side of a call: the relay socket, its events, and what a lost connection
//! does to the room.

use std::collections::HashMap;

use client::{
    errors::UserError,
    meeting::{Meeting, Phase},
    reconnect::{Next, Rejoined},
};
use leptos::prelude::*;
use protocol::{ClientMessage, RequestId, ServerMessage};

use crate::{js, relay_socket::SocketEvent};

use super::*;

impl Call {
    /// Drops the socket outside of its own event handler (a handler must not free itself).
    pub(super) fn drop_socket(&self) {
        if let Some(socket) = self.inner.borrow_mut().socket.take() {
            leptos::task::spawn_local(async move { drop(socket) });
        }
    }

    pub(super) fn send(&self, message: &ClientMessage) {
        if let Some(socket) = &self.inner.borrow().socket {
            socket.send(message);
        }
    }

    pub(super) fn on_socket(&self, event: SocketEvent) {
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
    pub(super) fn clear_entry_notice(&self) {
        if self.view.notice.with_untracked(|n| n.as_ref().is_some_and(|n| !n.about_own_devices())) {
            self.view.notice.set(None);
        }
    }

    pub(super) fn on_socket_closed(&self, was_open: bool) {
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
    pub(super) fn teardown_room(&self) {
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
}
