//! What the person does with their own media during a call: microphone, camera, screen,
//! device switching. Nothing here renegotiates except adding a screen for the first time.

use client::errors::UserError;
use leptos::prelude::*;
use protocol::{ClientMessage, MediaState};
use web_sys::MediaStream;

use super::Call;
use crate::media::MediaRequest;
use client::meeting::Phase;

impl Call {
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
        let peers = self.inner.borrow().connections();
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
        let peers = self.inner.borrow().connections();
        for peer in peers {
            peer.set_screen(None).await;
        }
        self.view.own_screen.set(None);
        let mut media = self.view.own_media.get_untracked();
        media.screen = false;
        self.announce_own_media(media);
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
                    self.view.notice.set(Some(error));
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
        let peers = self.inner.borrow().connections();
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
                self.view.notice.set(Some(error));
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
}
