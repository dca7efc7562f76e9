//! The start page: shown when the link names no room.

use leptos::{ev::SubmitEvent, prelude::*};

use crate::i18n::Tr;

/// Asks for a room name and opens its link.
#[component]
pub fn StartPage() -> impl IntoView {
    let tr = Tr::use_context();
    let room = RwSignal::new(String::new());
    let invalid = RwSignal::new(false);
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        match protocol::validate_room_name(room.get_untracked().trim()) {
            Ok(name) => {
                let query = format!("?room={}", js_sys::encode_uri_component(&name));
                let _ = crate::js::window().location().set_search(&query);
            }
            Err(_) => invalid.set(true),
        }
    };
    view! {
        <main class="start">
            <h1>{move || tr.t("start-heading")}</h1>
            <p class="tagline">{move || tr.t("app-tagline")}</p>
            <form on:submit=submit>
                <label for="room-name">{move || tr.t("start-room-label")}</label>
                <input id="room-name" name="room" required=true autocomplete="off"
                    maxlength=protocol::MAX_ROOM_CHARS.to_string()
                    aria-describedby="room-hint" aria-invalid=move || invalid.get().to_string()
                    prop:value=move || room.get()
                    on:input=move |ev| { invalid.set(false); room.set(event_target_value(&ev)); }/>
                <p id="room-hint" class="hint" class:error=move || invalid.get()>{move || tr.t("start-room-hint")}</p>
                <button type="submit" class="primary">{move || tr.t("start-open")}</button>
            </form>
        </main>
    }
}
