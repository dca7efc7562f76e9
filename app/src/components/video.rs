//! A `<video>` element that shows a `MediaStream`.

use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::MediaStream;

/// Plays `stream`. The own preview is `muted` (no echo) and `mirrored` (as in a mirror).
#[component]
pub fn StreamVideo(
    /// The stream to show; `None` shows nothing.
    #[prop(into)]
    stream: Signal<Option<MediaStream>, LocalStorage>,
    /// Bumped when the stream's tracks change, to re-attach it.
    #[prop(into, optional)]
    epoch: Option<Signal<u32>>,
    /// Do not play sound (own preview).
    #[prop(optional)]
    muted: bool,
    /// Flip horizontally (own preview).
    #[prop(optional)]
    mirrored: bool,
    /// The speaker to play on (device id; empty for the default).
    #[prop(into, optional)]
    sink: Option<Signal<String>>,
) -> impl IntoView {
    let node = NodeRef::<leptos::html::Video>::new();
    if let Some(sink) = sink {
        Effect::new(move |_| {
            let device = sink.get();
            if let Some(video) = node.get() {
                crate::media::set_sink(&video, &device);
            }
        });
    }
    // Setting `srcObject` reloads the element (black until the next frame), even with the same
    // stream; the epoch counts track changes of every stream in the call, so re-attach only when
    // this element's stream or its tracks are really different.
    Effect::new(move |attached: Option<Option<String>>| {
        if let Some(epoch) = epoch {
            epoch.track();
        }
        let stream = stream.get();
        let video = node.get()?;
        let now = stream.as_ref().map(tracks_of);
        if attached.as_ref() == Some(&now) {
            return now;
        }
        video.set_src_object(stream.as_ref());
        video.set_muted(muted);
        if stream.is_some() {
            play(video);
        }
        now
    });
    view! {
        <video node_ref=node autoplay=true playsinline=true muted=muted class:mirrored=mirrored></video>
    }
}

/// What an attached stream is: its id and its tracks' ids.
fn tracks_of(stream: &MediaStream) -> String {
    let mut key = stream.id();
    for track in stream.get_tracks().iter() {
        if let Ok(track) = track.dyn_into::<web_sys::MediaStreamTrack>() {
            key.push(' ');
            key.push_str(&track.id());
        }
    }
    key
}

/// Starts playback; if the browser's autoplay policy blocks sound, plays muted rather than not
/// at all (the person has not clicked anything yet when joining through an `autojoin` link).
fn play(video: web_sys::HtmlVideoElement) {
    let Ok(promise) = video.play() else { return };
    leptos::task::spawn_local(async move {
        let Err(error) = JsFuture::from(promise).await else {
            return;
        };
        // AbortError just means a newer load replaced this one.
        if crate::js::error_name(&error) == "NotAllowedError" && !video.muted() {
            video.set_muted(true);
            if let Ok(promise) = video.play() {
                let _ = JsFuture::from(promise).await;
            }
        }
    });
}
