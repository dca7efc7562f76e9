//! The participant list: everyone with microphone, camera and hand state, raised hands first.

use std::rc::Rc;

use leptos::prelude::*;

use crate::{
    call::{Call, CallView, Panel},
    components::icons::{CamIcon, HandIcon, MicIcon},
    i18n::Tr,
};

/// One row of the list.
#[component]
fn Person(
    /// The display name (with "(you)" for ourselves).
    #[prop(into)]
    label: Signal<String>,
    /// The plain name, for tests.
    name: String,
    /// Microphone on.
    #[prop(into)]
    mic: Signal<bool>,
    /// Camera on.
    #[prop(into)]
    cam: Signal<bool>,
    /// Hand raised.
    #[prop(into)]
    hand: Signal<bool>,
) -> impl IntoView {
    let tr = Tr::use_context();
    view! {
        <li class="person" data-testid="person" data-name=name
            data-mic=move || mic.get().to_string() data-cam=move || cam.get().to_string()
            data-hand=move || hand.get().to_string()>
            <span class="name">{label}</span>
            <span class="states">
                <Show when=move || hand.get()>
                    <span class="state hand" role="img" aria-label=move || tr.t("participants.hand")><HandIcon/></span>
                </Show>
                <span class="state" class:off=move || !mic.get() role="img"
                    aria-label=move || tr.t(if mic.get() { "participants.mic_on" } else { "tile.mic_off" })>
                    <MicIcon off=Signal::derive(move || !mic.get())/>
                </span>
                <span class="state" class:off=move || !cam.get() role="img"
                    aria-label=move || tr.t(if cam.get() { "participants.cam_on" } else { "tile.camera_off" })>
                    <CamIcon off=Signal::derive(move || !cam.get())/>
                </span>
            </span>
        </li>
    }
}

/// The participant list side panel.
#[component]
pub fn PeoplePanel(
    /// Our display name.
    name: String,
    /// The call's state.
    view: CallView,
    /// The call.
    call: StoredValue<Option<Rc<Call>>, LocalStorage>,
) -> impl IntoView {
    let tr = Tr::use_context();
    let close = move |_| {
        if let Some(call) = call.get_value() {
            call.set_panel(Panel::Closed);
        }
    };
    let own_label = {
        let name = name.clone();
        Signal::derive(move || tr.f("tile.you", &[("name", &name)]))
    };
    view! {
        <section class="panel people" aria-labelledby="people-heading" data-testid="people-panel">
            <header class="panel-header">
                <h2 id="people-heading">
                    {move || tr.t("participants.heading")} " (" {move || view.tiles.with(Vec::len) + 1} ")"
                </h2>
                <button type="button" class="close" aria-label=move || tr.t("participants.close") on:click=close>"×"</button>
            </header>
            <Show when=move || !view.hands.with(Vec::is_empty)>
                <h3>{move || tr.t("participants.hands")}</h3>
                <ol class="hands" data-testid="hands">
                    <For each=move || view.hands.get() key=|(id, _)| *id let:hand>
                        <li>{hand.1}</li>
                    </For>
                </ol>
            </Show>
            <ul class="people-list">
                <Person label=own_label name=name.clone()
                    mic=Signal::derive(move || view.own_media.get().audio)
                    cam=Signal::derive(move || view.own_media.get().video)
                    hand=view.own_hand/>
                <For each=move || view.tiles.get() key=|t| t.id let:tile>
                    {
                        let id = tile.id;
                        let find = move || view.tiles.with(|ts| ts.iter().find(|t| t.id == id).cloned());
                        let label = tile.name.clone();
                        view! {
                            <Person label=Signal::derive(move || label.clone()) name=tile.name.clone()
                                mic=Signal::derive(move || find().is_some_and(|t| t.media.audio))
                                cam=Signal::derive(move || find().is_some_and(|t| t.media.video))
                                hand=Signal::derive(move || find().is_some_and(|t| t.hand))/>
                        }
                    }
                </For>
            </ul>
        </section>
    }
}
