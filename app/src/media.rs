//! Camera and microphone: opening them with sensible fallbacks, listing them, releasing them.

use client::errors::{MediaError, UserError};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{MediaStream, MediaStreamConstraints, MediaStreamTrack};

use crate::js::{error_name, window};

/// The local camera and microphone as the call uses them.
#[derive(Clone, Default)]
pub struct LocalMedia {
    /// The microphone track, if one is open.
    pub audio: Option<MediaStreamTrack>,
    /// The camera track, if one is open.
    pub video: Option<MediaStreamTrack>,
    /// The shared screen, while sharing, with the stream that marks it as a screen to the others
    /// (camera and microphone are sent without a stream).
    pub screen: Option<(MediaStreamTrack, MediaStream)>,
}

impl LocalMedia {
    /// Takes the tracks out of a stream from `getUserMedia`.
    pub fn from_stream(stream: &MediaStream) -> Self {
        let first = |tracks: js_sys::Array| tracks.iter().next().and_then(|t| t.dyn_into().ok());
        Self {
            audio: first(stream.get_audio_tracks()),
            video: first(stream.get_video_tracks()),
            screen: None,
        }
    }

    /// A stream with the current tracks, for a `<video>` element.
    pub fn preview_stream(&self) -> Option<MediaStream> {
        let video = self.video.as_ref()?;
        let stream = MediaStream::new().ok()?;
        stream.add_track(video);
        Some(stream)
    }

    /// Stops every track (the camera light goes off).
    pub fn stop(&mut self) {
        let screen = self.screen.take().map(|(track, _)| track);
        for track in [self.audio.take(), self.video.take(), screen].into_iter().flatten() {
            track.stop();
        }
    }

    /// The track of `kind` ("audio" or "video").
    pub fn track(&self, kind: &str) -> Option<&MediaStreamTrack> {
        match kind {
            "audio" => self.audio.as_ref(),
            "video" => self.video.as_ref(),
            _ => None,
        }
    }
}

/// Which devices to open; `None` as a device id means the browser's default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MediaRequest {
    /// Open a microphone.
    pub audio: bool,
    /// Open a camera.
    pub video: bool,
    /// The chosen microphone.
    pub audio_device: Option<String>,
    /// The chosen camera.
    pub video_device: Option<String>,
}

fn track_constraint(device: &Option<String>, video: bool) -> JsValue {
    let constraint = js_sys::Object::new();
    if let Some(id) = device.as_ref().filter(|id| !id.is_empty()) {
        let exact = js_sys::Object::new();
        let _ = js_sys::Reflect::set(&exact, &"exact".into(), &JsValue::from_str(id));
        let _ = js_sys::Reflect::set(&constraint, &"deviceId".into(), &exact);
    }
    if video {
        // 640x360 keeps a mesh of four affordable on old laptops and slow uplinks.
        let _ = js_sys::Reflect::set(&constraint, &"width".into(), &JsValue::from(640));
        let _ = js_sys::Reflect::set(&constraint, &"height".into(), &JsValue::from(360));
    }
    constraint.into()
}

async fn get_user_media(audio: JsValue, video: JsValue) -> Result<MediaStream, MediaError> {
    let devices = window().navigator().media_devices().map_err(|_| MediaError::Unsupported)?;
    let constraints = MediaStreamConstraints::new();
    constraints.set_audio(&audio);
    constraints.set_video(&video);
    let promise = devices
        .get_user_media_with_constraints(&constraints)
        .map_err(|e| MediaError::from_dom_name(&error_name(&e)))?;
    let stream =
        JsFuture::from(promise).await.map_err(|e| MediaError::from_dom_name(&error_name(&e)))?;
    stream.dyn_into().map_err(|_| MediaError::Other)
}

/// Opens what `request` asks for. If camera and microphone cannot both be had, tries each alone,
/// so a missing or blocked camera still lets a person be heard. Returns what could be opened and,
/// if anything asked for is missing, the sentence saying what: both, or the camera or the
/// microphone alone.
pub async fn acquire(request: &MediaRequest) -> (LocalMedia, Option<UserError>) {
    if !request.audio && !request.video {
        return (LocalMedia::default(), None);
    }
    let audio = || {
        if request.audio { track_constraint(&request.audio_device, false) } else { JsValue::FALSE }
    };
    let video = || {
        if request.video { track_constraint(&request.video_device, true) } else { JsValue::FALSE }
    };
    let first_error = match get_user_media(audio(), video()).await {
        Ok(stream) => return (LocalMedia::from_stream(&stream), None),
        Err(e) => e,
    };
    let alone = match (request.audio, request.video) {
        _ if first_error == MediaError::Unsupported => UserError::Media(first_error),
        (true, false) => UserError::Microphone(first_error),
        (false, true) => UserError::Camera(first_error),
        _ => UserError::Media(first_error),
    };
    if !(request.audio && request.video) || first_error == MediaError::Unsupported {
        return (LocalMedia::default(), Some(alone));
    }
    if let Ok(stream) = get_user_media(audio(), JsValue::FALSE).await {
        return (LocalMedia::from_stream(&stream), Some(UserError::Camera(first_error)));
    }
    if let Ok(stream) = get_user_media(JsValue::FALSE, video()).await {
        return (LocalMedia::from_stream(&stream), Some(UserError::Microphone(first_error)));
    }
    (LocalMedia::default(), Some(alone))
}

/// Asks the person which screen or window to share.
pub async fn get_display_media() -> Result<MediaStreamTrack, MediaError> {
    let devices = window().navigator().media_devices().map_err(|_| MediaError::Unsupported)?;
    let constraints = web_sys::DisplayMediaStreamConstraints::new();
    constraints.set_video(&JsValue::TRUE);
    constraints.set_audio(&JsValue::FALSE);
    let promise = devices
        .get_display_media_with_constraints(&constraints)
        .map_err(|e| MediaError::from_dom_name(&error_name(&e)))?;
    let stream: MediaStream = JsFuture::from(promise)
        .await
        .map_err(|e| MediaError::from_dom_name(&error_name(&e)))?
        .dyn_into()
        .map_err(|_| MediaError::Other)?;
    let track = stream.get_video_tracks().iter().next().and_then(|t| t.dyn_into().ok());
    track.ok_or(MediaError::Missing)
}

/// A camera or microphone the browser offers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    /// The `deviceId`.
    pub id: String,
    /// The label (empty before permission is granted).
    pub label: String,
}

impl Device {
    /// What a person sees in a device list: the label, or "Device N" before permission is given.
    pub fn display_label(&self, index: usize, tr: &crate::i18n::Tr) -> String {
        if self.label.is_empty() {
            tr.f("device-unnamed", &[("detail", &(index + 1).to_string())])
        } else {
            self.label.clone()
        }
    }
}

/// The devices the browser offers, by kind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Devices {
    /// Audio inputs.
    pub microphones: Vec<Device>,
    /// Video inputs.
    pub cameras: Vec<Device>,
    /// Audio outputs (only some browsers list them).
    pub speakers: Vec<Device>,
}

/// The available microphones, cameras and speakers.
pub async fn list_devices() -> Devices {
    let mut found = Devices::default();
    let Ok(devices) = window().navigator().media_devices() else { return found };
    let Ok(promise) = devices.enumerate_devices() else { return found };
    let Ok(list) = JsFuture::from(promise).await else { return found };
    for info in js_sys::Array::from(&list).iter() {
        let Ok(info) = info.dyn_into::<web_sys::MediaDeviceInfo>() else { continue };
        let device = Device { id: info.device_id(), label: info.label() };
        if device.id.is_empty() {
            continue;
        }
        match info.kind() {
            web_sys::MediaDeviceKind::Audioinput => found.microphones.push(device),
            web_sys::MediaDeviceKind::Videoinput => found.cameras.push(device),
            web_sys::MediaDeviceKind::Audiooutput => found.speakers.push(device),
            _ => {}
        }
    }
    found
}

/// Plays a media element's sound on the speaker `device` (empty: the default one).
pub fn set_sink(element: &web_sys::HtmlMediaElement, device: &str) {
    let Ok(set) = js_sys::Reflect::get(element, &"setSinkId".into()) else { return };
    let Some(set) = set.dyn_ref::<js_sys::Function>() else { return };
    if let Ok(promise) = set.call1(element, &JsValue::from_str(device))
        && let Ok(promise) = promise.dyn_into::<js_sys::Promise>()
    {
        wasm_bindgen_futures::spawn_local(async move {
            let _ = JsFuture::from(promise).await;
        });
    }
}

/// Whether this browser can share a screen (phones usually cannot).
pub fn can_share_screen() -> bool {
    window()
        .navigator()
        .media_devices()
        .ok()
        .and_then(|d| js_sys::Reflect::get(&d, &"getDisplayMedia".into()).ok())
        .is_some_and(|f| f.is_function())
}

/// Whether `<video>` elements can choose their speaker (`setSinkId`).
pub fn can_choose_speaker() -> bool {
    let Some(document) = window().document() else { return false };
    let Ok(probe) = document.create_element("audio") else { return false };
    js_sys::Reflect::get(&probe, &"setSinkId".into()).is_ok_and(|f| f.is_function())
}
