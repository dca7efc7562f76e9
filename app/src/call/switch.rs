//! Moving from direct connections to the relay, make before break.

use std::{
    cell::{Cell, RefCell},
    collections::HashMap,
    rc::Rc,
};

use client::switchover::{Direct, Switchover};
use leptos::prelude::*;
use protocol::ParticipantId;

use crate::{js, peer::Peer};

use super::*;

impl Call {
    /// Once the relay connection is up: moves each participant still shown over a direct
    /// connection to the relay as soon as the relay delivers what they send
    /// (`client::switchover` decides), then closes that direct connection.
    pub(super) fn switch_over(&self) {
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

    /// Shows `id` from the relay and drops the direct connection to them, if there is one.
    pub(super) fn show_relay_stream(&self, id: ParticipantId) {
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
    pub(super) fn close_lingering(&self, all: bool) {
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
}
