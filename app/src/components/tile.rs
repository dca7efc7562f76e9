//! Participant tiles: video, name and microphone state. The e2e tests find them by
//! `data-participant`; the own tile carries `data-self`.

use client::meeting::Link;
use leptos::prelude::*;
use protocol::ParticipantId;

use crate::{
    call::CallView,
    components::{
        icons::{HandIcon, MicIcon},
        video::StreamVideo,
    },
    i18n::Tr,
};

/// The own tile: mirrored and muted locally.
#[component]
pub fn SelfTile(
    /// Our display name.
    name: String,
    /// The call's state.
    view: CallView,
) -> impl IntoView {
    let tr = Tr::use_context();
    let mic_off = Signal::derive(move || !view.own_media.get().audio);
    let cam_off = move || !view.own_media.get().video;
    let label = {
        let name = name.clone();
        move || tr.f("tile.you", &[("name", &name)])
    };
    let avatar = initials(&name);
    view! {
        <figure class="tile self" data-participant=name data-self="" data-muted=move || mic_off.get().to_string()
            data-hand=move || view.own_hand.get().to_string()>
            <StreamVideo stream=view.own_stream muted=true mirrored=true/>
            <Show when=cam_off><div class="avatar" aria-hidden="true">{avatar.clone()}</div></Show>
            <figcaption>
                <Show when=move || view.own_hand.get()>
                    <span class="badge hand" role="img" aria-label=move || tr.t("participants.hand")><HandIcon/></span>
                </Show>
                <span class="name">{label}</span>
                <Show when=move || mic_off.get()>
                    <span class="badge" role="img" aria-label=move || tr.t("tile.mic_off")><MicIcon off=true/></span>
                </Show>
            </figcaption>
        </figure>
    }
}

/// Another participant's tile.
#[component]
pub fn RemoteTile(
    /// Whose tile.
    id: ParticipantId,
    /// The call's state.
    view: CallView,
) -> impl IntoView {
    let tr = Tr::use_context();
    let tile =
        Memo::new(move |_| view.tiles.with(|tiles| tiles.iter().find(|t| t.id == id).cloned()));
    let name = move || tile.get().map(|t| t.name).unwrap_or_default();
    let mic_off = Signal::derive(move || tile.get().is_some_and(|t| !t.media.audio));
    let cam_off = move || tile.get().is_some_and(|t| !t.media.video);
    let link = move || tile.get().map(|t| t.link).unwrap_or(Link::Connecting);
    let stream = Signal::derive_local(move || view.streams.with(|s| s.get(&id).cloned()));
    let epoch = Signal::derive(move || view.track_epoch.get());
    let hand = move || tile.get().is_some_and(|t| t.hand);
    view! {
        <figure class="tile" data-participant=name data-muted=move || mic_off.get().to_string()
            data-hand=move || hand().to_string()
            data-link=move || format!("{:?}", link()).to_lowercase()>
            <StreamVideo stream=stream epoch=epoch/>
            <Show when=cam_off><div class="avatar" aria-hidden="true">{move || initials(&name())}</div></Show>
            <figcaption>
                <Show when=hand>
                    <span class="badge hand" role="img" aria-label=move || tr.t("participants.hand")><HandIcon/></span>
                </Show>
                <span class="name">{name}</span>
                <Show when=move || mic_off.get()>
                    <span class="badge" role="img" aria-label=move || tr.t("tile.mic_off")><MicIcon off=true/></span>
                </Show>
            </figcaption>
            {move || match link() {
                Link::Connecting => Some(view! { <p class="link-state">{move || tr.t("tile.connecting")}</p> }.into_any()),
                Link::Failed => Some(view! { <p class="link-state failed" role="status">{move || tr.t("tile.failed")}</p> }.into_any()),
                Link::Connected => None,
            }}
        </figure>
    }
}

/// Up to two initials for the placeholder shown instead of a switched-off camera.
fn initials(name: &str) -> String {
    name.split_whitespace()
        .filter_map(|w| w.chars().next())
        .take(2)
        .flat_map(char::to_uppercase)
        .collect()
}
