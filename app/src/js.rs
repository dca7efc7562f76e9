//! Small browser helpers, and the bindings web-sys lacks. `JsValue` errors are turned into text
//! here and nowhere else.

use wasm_bindgen::{JsCast, prelude::*};

#[wasm_bindgen]
extern "C" {
    /// `RTCPeerConnection` seen through the methods web-sys does not offer (wasm-bindgen#3394).
    pub type PeerConnectionExt;

    /// `pc.setLocalDescription()` without arguments: it creates the offer or answer the
    /// signalling state calls for.
    #[wasm_bindgen(method, js_name = setLocalDescription)]
    fn set_local_description_implicit(this: &PeerConnectionExt) -> js_sys::Promise;

    /// `pc.restartIce()`.
    #[wasm_bindgen(method, js_name = restartIce)]
    fn restart_ice_ext(this: &PeerConnectionExt);
}

/// `pc.setLocalDescription()` without arguments.
pub fn set_local_description(pc: &web_sys::RtcPeerConnection) -> js_sys::Promise {
    pc.unchecked_ref::<PeerConnectionExt>().set_local_description_implicit()
}

/// `pc.restartIce()`.
pub fn restart_ice(pc: &web_sys::RtcPeerConnection) {
    pc.unchecked_ref::<PeerConnectionExt>().restart_ice_ext();
}

/// Reads a string property of a JavaScript object.
pub fn get_string(object: &JsValue, key: &str) -> Option<String> {
    js_sys::Reflect::get(object, &JsValue::from_str(key)).ok().and_then(|v| v.as_string())
}

/// Sets a string property of a JavaScript object.
pub fn set_string(object: &JsValue, key: &str, value: &str) {
    let _ = js_sys::Reflect::set(object, &JsValue::from_str(key), &JsValue::from_str(value));
}

/// The window. Only called from code that runs in a page, where it always exists.
pub fn window() -> web_sys::Window {
    // A Wasm module started by trunk's loader always runs in a window, never in a worker.
    #[allow(clippy::expect_used)]
    web_sys::window().expect("the app runs in a browser window")
}

/// Waits `ms` milliseconds.
pub async fn sleep(ms: i32) {
    gloo_timers::future::TimeoutFuture::new(u32::try_from(ms).unwrap_or(0)).await;
}

/// The `name` of a `DOMException` (or other error object), e.g. `NotAllowedError`.
pub fn error_name(error: &JsValue) -> String {
    js_sys::Reflect::get(error, &JsValue::from_str("name"))
        .ok()
        .and_then(|v| v.as_string())
        .unwrap_or_default()
}

/// A readable description of a JavaScript error, for the console.
pub fn describe(error: &JsValue) -> String {
    if let Some(text) = error.as_string() {
        return text;
    }
    let message = js_sys::Reflect::get(error, &JsValue::from_str("message"))
        .ok()
        .and_then(|v| v.as_string())
        .unwrap_or_default();
    format!("{}: {message}", error_name(error))
}

/// Logs a warning to the browser console.
pub fn warn(text: &str) {
    web_sys::console::warn_1(&JsValue::from_str(text));
}

/// The text of the file at `path` beside the app (a relative URL); `None` on any failure
/// (offline, missing, not text).
pub async fn fetch_text(path: &str) -> Option<String> {
    use wasm_bindgen::JsCast;
    let promise = window().fetch_with_str(path).dyn_into::<js_sys::Promise>().ok()?;
    let response = wasm_bindgen_futures::JsFuture::from(promise).await.ok()?;
    let response = response.dyn_into::<web_sys::Response>().ok()?;
    if !response.ok() {
        return None;
    }
    wasm_bindgen_futures::JsFuture::from(response.text().ok()?).await.ok()?.as_string()
}

/// Reads a value from `localStorage`; `None` if storage is unavailable (private mode, policy).
pub fn storage_get(key: &str) -> Option<String> {
    window().local_storage().ok().flatten()?.get_item(key).ok().flatten()
}

/// Writes a value to `localStorage`, silently doing nothing where storage is unavailable.
pub fn storage_set(key: &str, value: &str) {
    if let Some(storage) = window().local_storage().ok().flatten() {
        let _ = storage.set_item(key, value);
    }
}

/// The rooms this browser has joined (see [`client::params::JoinedRooms`]).
pub fn joined_rooms() -> client::params::JoinedRooms {
    client::params::JoinedRooms::parse(
        storage_get(client::params::JoinedRooms::STORAGE_KEY).as_deref(),
    )
}

/// Notes in local storage that this browser joined `room`.
pub fn remember_joined_room(room: &str) {
    let mut rooms = joined_rooms();
    rooms.remember(room);
    storage_set(client::params::JoinedRooms::STORAGE_KEY, &rooms.to_stored());
}

/// This browser's id for the relay: 32 random hex digits, made once and kept in `localStorage`,
/// so that a host's removal keeps the person out when they reload. It names nothing but this
/// browser profile; clearing the site's data makes a new one. `None` without storage or crypto.
pub fn device_id() -> Option<String> {
    const KEY: &str = "treffpunkt.device";
    if let Some(id) = storage_get(KEY).filter(|id| id.len() == 32) {
        return Some(id);
    }
    let crypto = js_sys::Reflect::get(&window(), &JsValue::from_str("crypto")).ok()?;
    let fill = js_sys::Reflect::get(&crypto, &JsValue::from_str("getRandomValues"))
        .ok()?
        .dyn_into::<js_sys::Function>()
        .ok()?;
    let bytes = js_sys::Uint8Array::new_with_length(16);
    fill.call1(&crypto, &bytes).ok()?;
    let id: String = bytes.to_vec().iter().map(|b| format!("{b:02x}")).collect();
    storage_set(KEY, &id);
    Some(id)
}
