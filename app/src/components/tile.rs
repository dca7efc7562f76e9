//! Participant tiles: video, name, microphone, hand, connection quality. The e2e tests find them
//! by `data-participant`; the own tile carries `data-self`.

use client::{meeting::Link, quality::Grade};
use leptos::prelude::*;
use protocol::ParticipantId;

use crate::{
    call::{CallView, Layout},
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
        move || tr.f("tile-you", &[("name", &name)])
    };
    let avatar = initials(&name);
    view! {
        <figure class="tile self" data-participant=name data-self="" data-muted=move || mic_off.get().to_string()
            data-hand=move || view.own_hand.get().to_string()>
            <StreamVideo stream=view.own_stream muted=true mirrored=true/>
            <Show when=cam_off><div class="avatar" aria-hidden="true">{avatar.clone()}</div></Show>
            <figcaption>
                <Show when=move || view.own_hand.get()>
                    <span class="badge hand" role="img" aria-label=move || tr.t("participants-hand")><HandIcon/></span>
                </Show>
                <span class="name">{label}</span>
                <Show when=move || mic_off.get()>
                    <span class="badge" role="img" aria-label=move || tr.t("tile-mic-off")><MicIcon off=true/></span>
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
    /// Whose tile is shown large, if anyone's.
    #[prop(into)]
    featured: Signal<Option<ParticipantId>>,
) -> impl IntoView {
    let tr = Tr::use_context();
    let tile =
        Memo::new(move |_| view.tiles.with(|tiles| tiles.iter().find(|t| t.id == id).cloned()));
    let name = move || tile.get().map(|t| t.name).unwrap_or_default();
    let mic_off = Signal::derive(move || tile.get().is_some_and(|t| !t.media.audio));
    let cam_off = move || tile.get().is_some_and(|t| !t.media.video || t.camera_withheld);
    let link = move || tile.get().map(|t| t.link).unwrap_or(Link::Connecting);
    let stream = Signal::derive_local(move || view.streams.with(|s| s.get(&id).cloned()));
    let epoch = Signal::derive(move || view.track_epoch.get());
    let hand = move || tile.get().is_some_and(|t| t.hand);
    let away = move || tile.get().is_some_and(|t| t.away);
    let speaking = move || view.speaker.get() == Some(id);
    let pinned = move || view.pinned.get() == Some(id);
    let grade =
        move || view.quality.with(|q| q.get(&id).map(|q| q.grade).unwrap_or(Grade::Unknown));
    let toggle_pin = move |_| {
        if pinned() {
            view.pinned.set(None);
        } else {
            view.pinned.set(Some(id));
            view.layout.set(Layout::Speaker);
        }
    };
    view! {
        <figure class="tile" data-participant=name data-muted=move || mic_off.get().to_string()
            data-hand=move || hand().to_string()
            data-away=move || away().to_string()
            class:away=away
            data-speaking=move || speaking().to_string()
            data-quality=move || grade().name()
            class:speaking=speaking
            class:featured=move || featured.get() == Some(id)
            data-link=move || link().name()>
            <StreamVideo stream=stream epoch=epoch sink=view.sink/>
            <Show when=cam_off><div class="avatar" aria-hidden="true">{move || initials(&name())}</div></Show>
            <figcaption>
                <span class="quality" role="img" data-grade=move || grade().name()
                    aria-label=move || tr.t(grade().key())>
                    <span></span><span></span><span></span>
                </span>
                <Show when=hand>
                    <span class="badge hand" role="img" aria-label=move || tr.t("participants-hand")><HandIcon/></span>
                </Show>
                <span class="name">{name}</span>
                <Show when=away>
                    <span class="badge away" data-testid="reconnecting">{move || tr.t("tile-reconnecting")}</span>
                </Show>
                <Show when=move || mic_off.get()>
                    <span class="badge" role="img" aria-label=move || tr.t("tile-mic-off")><MicIcon off=true/></span>
                </Show>
            </figcaption>
            <button type="button" class="pin" data-testid="pin"
                aria-pressed=move || pinned().to_string()
                aria-label=move || tr.f("tile-pin", &[("name", &name())])
                on:click=toggle_pin>
                <svg class="icon" viewBox="0 0 24 24" aria-hidden="true" focusable="false">
                    <path d="M16 3l5 5-3 1-4 4 1 5-2 2-4-4-5 5-1-1 5-5-4-4 2-2 5 1 4-4z"/>
                </svg>
            </button>
            {move || match link() {
                Link::Connecting => Some(view! { <p class="link-state">{move || tr.t("tile-connecting")}</p> }.into_any()),
                Link::Failed => Some(view! { <p class="link-state failed" role="status">{move || tr.t("tile-failed")}</p> }.into_any()),
                Link::Connected => None,
            }}
        </figure>
    }
}

/// A shared screen, shown large.
#[component]
pub fn ScreenTile(
    /// Whose screen (`None`: our own).
    id: Option<ParticipantId>,
    /// The call's state.
    view: CallView,
) -> impl IntoView {
    let tr = Tr::use_context();
    let stream = Signal::derive_local(move || match id {
        Some(id) => view.screens.with(|s| s.get(&id).cloned()),
        None => view.own_screen.get(),
    });
    let name = move || match id {
        Some(id) => view
            .tiles
            .with(|t| t.iter().find(|t| t.id == id).map(|t| t.name.clone()))
            .unwrap_or_default(),
        None => String::new(),
    };
    let label = move || match id {
        Some(_) => tr.f("tile-screen", &[("name", &name())]),
        None => tr.t("tile-own-screen"),
    };
    let epoch = Signal::derive(move || view.track_epoch.get());
    view! {
        <figure class="tile screen featured" data-screen=name data-self=id.is_none().then_some("")>
            <StreamVideo stream=stream epoch=epoch muted=true/>
            <figcaption><span class="name">{label}</span></figcaption>
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
