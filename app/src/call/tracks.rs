//! What the peer connections report: connection states, and the tracks routed to tiles.

use client::{
    errors::UserError,
    meeting::{Link, PeerId},
};
use leptos::prelude::*;
use protocol::{ClientMessage, ParticipantId};

use crate::{js, peer::PeerEvent};

use super::*;

impl Call {
    pub(super) fn on_peer_event(&self, peer: PeerId, event: PeerEvent) {
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
    pub(super) fn route_track(&self, stream: &str, track: web_sys::MediaStreamTrack) {
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

    /// A shared screen from the relay: shown at once, unless a direct connection still shows
    /// this participant (then it is shown when the switch to the relay completes).
    pub(super) fn route_screen(&self, id: ParticipantId, track: web_sys::MediaStreamTrack) {
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
}
