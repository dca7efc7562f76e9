//! Camera and microphone: opening them with sensible fallbacks, listing them, releasing them.

use client::errors::MediaError;
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
}

impl LocalMedia {
    /// Takes the tracks out of a stream from `getUserMedia`.
    pub fn from_stream(stream: &MediaStream) -> Self {
        let first = |tracks: js_sys::Array| tracks.iter().next().and_then(|t| t.dyn_into().ok());
        Self { audio: first(stream.get_audio_tracks()), video: first(stream.get_video_tracks()) }
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
        for track in [self.audio.take(), self.video.take()].into_iter().flatten() {
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
/// so a missing or blocked camera still lets a person be heard. Returns what could be opened and
/// the first error met, if anything asked for is missing.
pub async fn acquire(request: &MediaRequest) -> (LocalMedia, Option<MediaError>) {
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
    if !(request.audio && request.video) || first_error == MediaError::Unsupported {
        return (LocalMedia::default(), Some(first_error));
    }
    if let Ok(stream) = get_user_media(audio(), JsValue::FALSE).await {
        return (LocalMedia::from_stream(&stream), Some(first_error));
    }
    if let Ok(stream) = get_user_media(JsValue::FALSE, video()).await {
        return (LocalMedia::from_stream(&stream), Some(first_error));
    }
    (LocalMedia::default(), Some(first_error))
}

/// A camera or microphone the browser offers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    /// The `deviceId`.
    pub id: String,
    /// The label (empty before permission is granted).
    pub label: String,
}

/// The available microphones and cameras.
pub async fn list_devices() -> (Vec<Device>, Vec<Device>) {
    let Ok(devices) = window().navigator().media_devices() else {
        return (Vec::new(), Vec::new());
    };
    let Ok(promise) = devices.enumerate_devices() else {
        return (Vec::new(), Vec::new());
    };
    let Ok(list) = JsFuture::from(promise).await else {
        return (Vec::new(), Vec::new());
    };
    let (mut microphones, mut cameras) = (Vec::new(), Vec::new());
    for info in js_sys::Array::from(&list).iter() {
        let Ok(info) = info.dyn_into::<web_sys::MediaDeviceInfo>() else {
            continue;
        };
        let device = Device { id: info.device_id(), label: info.label() };
        if device.id.is_empty() {
            continue;
        }
        match info.kind() {
            web_sys::MediaDeviceKind::Audioinput => microphones.push(device),
            web_sys::MediaDeviceKind::Videoinput => cameras.push(device),
            _ => {}
        }
    }
    (microphones, cameras)
}
