//! The participant list: everyone with microphone, camera and hand state, raised hands first.

use std::rc::Rc;

use leptos::prelude::*;

use protocol::{Moderation, ParticipantId};

use crate::{
    call::{Call, CallView, Panel, TileView},
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
    /// Hosts the meeting.
    #[prop(into)]
    host: Signal<bool>,
    /// Listens only.
    #[prop(optional, into)]
    listener: Signal<bool>,
    /// What a host may do to this person (nothing for ourselves or when we do not host).
    #[prop(optional)]
    children: Option<Children>,
) -> impl IntoView {
    let tr = Tr::use_context();
    view! {
        <li class="person" data-testid="person" data-name=name
            data-mic=move || mic.get().to_string() data-cam=move || cam.get().to_string()
            data-hand=move || hand.get().to_string() data-host=move || host.get().to_string()
            data-listener=move || listener.get().to_string()>
            <span class="name">{label}</span>
            <Show when=move || host.get()>
                <span class="role">{move || tr.t("participants-host")}</span>
            </Show>
            <Show when=move || listener.get()>
                <span class="role">{move || tr.t("participants-listener")}</span>
            </Show>
            <span class="states">
                <Show when=move || hand.get()>
                    <span class="state hand" role="img" aria-label=move || tr.t("participants-hand")><HandIcon/></span>
                </Show>
                <span class="state" class:off=move || !mic.get() role="img"
                    aria-label=move || tr.t(if mic.get() { "participants-mic-on" } else { "tile-mic-off" })>
                    <MicIcon off=Signal::derive(move || !mic.get())/>
                </span>
                <span class="state" class:off=move || !cam.get() role="img"
                    aria-label=move || tr.t(if cam.get() { "participants-cam-on" } else { "tile-camera-off" })>
                    <CamIcon off=Signal::derive(move || !cam.get())/>
                </span>
            </span>
            {children.map(|c| c())}
        </li>
    }
}

/// A host's buttons for one participant: mute, camera off, stop the screen share, lower the
/// hand, make co-host, remove.
#[component]
fn HostActions(
    /// Whom they act on.
    id: ParticipantId,
    /// Their name, for the buttons' labels and the removal question.
    name: String,
    /// Their state, to offer only what applies.
    tile: Signal<Option<TileView>>,
    /// We came in with the room's host link: we may remove others who did.
    own_host_link: RwSignal<bool>,
    /// The call.
    call: StoredValue<Option<Rc<Call>>, LocalStorage>,
) -> impl IntoView {
    let tr = Tr::use_context();
    let act = move |action: Moderation| {
        if let Some(call) = call.get_value() {
            call.moderate(action);
        }
    };
    let name = StoredValue::new(name);
    let label = move |key: &'static str| name.with_value(|n| tr.f(key, &[("name", n)]));
    let remove = move |_| {
        // A removal cannot be undone in this meeting: ask first.
        let confirmed = crate::js::window().confirm_with_message(&label("host-remove-question"));
        if confirmed.unwrap_or(false) {
            act(Moderation::Remove { id });
        }
    };
    view! {
        <span class="host-actions" role="group" aria-label=move || label("host-actions")>
            <Show when=move || tile.get().is_some_and(|t| t.media.audio)>
                <button type="button" data-testid="host-mute" aria-label=move || label("host-mute")
                    on:click=move |_| act(Moderation::Mute { id })>{move || tr.t("host-mute-short")}</button>
            </Show>
            <button type="button" class="toggle" data-testid="host-lock-mic"
                aria-pressed=move || tile.get().is_some_and(|t| t.mic_locked).to_string()
                aria-label=move || label("host-lock-mic")
                on:click=move |_| {
                    let locked = !tile.get_untracked().is_some_and(|t| t.mic_locked);
                    act(Moderation::LockMicrophone { id, locked });
                }>
                {move || tr.t("host-lock-mic-short")}
            </button>
            <Show when=move || tile.get().is_some_and(|t| t.media.video)>
                <button type="button" data-testid="host-camera-off" aria-label=move || label("host-camera-off")
                    on:click=move |_| act(Moderation::CameraOff { id })>{move || tr.t("host-camera-off-short")}</button>
            </Show>
            <Show when=move || tile.get().is_some_and(|t| t.media.screen)>
                <button type="button" data-testid="host-stop-screen" aria-label=move || label("host-stop-screen")
                    on:click=move |_| act(Moderation::StopScreen { id })>{move || tr.t("host-stop-screen-short")}</button>
            </Show>
            <Show when=move || tile.get().is_some_and(|t| t.hand)>
                <button type="button" data-testid="host-lower-hand" aria-label=move || label("host-lower-hand")
                    on:click=move |_| act(Moderation::LowerHand { id })>{move || tr.t("host-lower-hand-short")}</button>
            </Show>
            <Show when=move || tile.get().is_some_and(|t| !t.host)>
                <button type="button" data-testid="host-make-host" aria-label=move || label("host-make-host")
                    on:click=move |_| act(Moderation::MakeHost { id })>{move || tr.t("host-make-host-short")}</button>
            </Show>
            // Hosting given can be taken back (the relay refuses it for a host link's holder).
            // The holder of the room's host link stays a host (the relay refuses otherwise).
            <Show when=move || tile.get().is_some_and(|t| t.host && !t.host_link)>
                <button type="button" data-testid="host-revoke-host" aria-label=move || label("host-revoke-host")
                    on:click=move |_| act(Moderation::RevokeHost { id })>{move || tr.t("host-revoke-host-short")}</button>
            </Show>
            // Hosting given in the meeting cannot put out whoever holds the room's host link.
            <Show when=move || own_host_link.get() || !tile.get().is_some_and(|t| t.host_link)>
                <button type="button" class="danger" data-testid="host-remove" aria-label=move || label("host-remove")
                    on:click=remove>{move || tr.t("host-remove-short")}</button>
            </Show>
        </span>
    }
}

/// The hosts' password setting: the current password, or a field to set one.
#[component]
fn HostPassword(
    /// The call's state.
    view: CallView,
    /// The call.
    call: StoredValue<Option<Rc<Call>>, LocalStorage>,
) -> impl IntoView {
    let tr = Tr::use_context();
    let typed = RwSignal::new(String::new());
    let set = move |password: Option<String>| {
        if let Some(call) = call.get_value() {
            call.moderate(Moderation::SetPassword { password });
        }
    };
    view! {
        {move || match view.password.get() {
            Some(current) => view! {
                <div class="host-password">
                    <p data-testid="host-password-current">{tr.f("host-password-current", &[("detail", &current)])}</p>
                    <button type="button" data-testid="host-password-remove" on:click=move |_| set(None)>
                        {move || tr.t("host-password-remove")}
                    </button>
                </div>
            }.into_any(),
            None => view! {
                <form class="host-password" data-testid="host-password-form" on:submit=move |ev| {
                    ev.prevent_default();
                    let password = typed.get_untracked().trim().to_owned();
                    if !password.is_empty() {
                        set(Some(password));
                        typed.set(String::new());
                    }
                }>
                    <label for="host-password">{move || tr.t("host-password")}</label>
                    <input id="host-password" type="text" data-testid="host-password" maxlength="64" autocomplete="off"
                        prop:value=move || typed.get() on:input=move |ev| typed.set(event_target_value(&ev))/>
                    <button type="submit">{move || tr.t("host-password-set")}</button>
                </form>
            }.into_any(),
        }}
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
    let moderate = move |action: Moderation| {
        if let Some(call) = call.get_value() {
            call.moderate(action);
        }
    };
    let own_label = {
        let name = name.clone();
        Signal::derive(move || tr.f("tile-you", &[("name", &name)]))
    };
    view! {
        <section class="panel people" aria-labelledby="people-heading" data-testid="people-panel">
            <header class="panel-header">
                <h2 id="people-heading">
                    {move || tr.t("participants-heading")} " (" {move || view.tiles.with(Vec::len) + 1} ")"
                </h2>
                <button type="button" class="close" aria-label=move || tr.t("participants-close") on:click=close>"×"</button>
            </header>
            <Show when=move || view.own_host.get()>
                <div class="host-room" role="group" aria-label=move || tr.t("host-room-actions")>
                    <button type="button" data-testid="host-mute-all"
                        on:click=move |_| moderate(Moderation::MuteAll)>{move || tr.t("host-mute-all")}</button>
                    <button type="button" data-testid="host-lower-all-hands"
                        on:click=move |_| moderate(Moderation::LowerAllHands)>{move || tr.t("host-lower-all-hands")}</button>
                    <button type="button" class="toggle" data-testid="host-lock"
                        aria-pressed=move || view.locked.get().to_string()
                        on:click=move |_| moderate(Moderation::Lock { locked: !view.locked.get_untracked() })>
                        {move || tr.t(if view.locked.get() { "host-unlock" } else { "host-lock" })}
                    </button>
                    <button type="button" class="toggle" data-testid="host-cameras-to-hosts"
                        aria-pressed=move || view.cameras_to_hosts.get().to_string()
                        on:click=move |_| moderate(Moderation::CamerasToHosts { on: !view.cameras_to_hosts.get_untracked() })>
                        {move || tr.t("host-cameras-to-hosts")}
                    </button>
                    <Show when=move || { view.listeners.get() > 0 }>
                        <button type="button" class="toggle" data-testid="host-listener-chat"
                            aria-pressed=move || view.listener_chat.get().to_string()
                            on:click=move |_| moderate(Moderation::ListenerChat { allowed: !view.listener_chat.get_untracked() })>
                            {move || tr.t("host-listener-chat")}
                        </button>
                    </Show>
                    <button type="button" class="toggle" data-testid="host-lobby"
                        aria-pressed=move || view.lobby.get().to_string()
                        on:click=move |_| moderate(Moderation::Lobby { on: !view.lobby.get_untracked() })>
                        {move || tr.t("host-lobby")}
                    </button>
                </div>
            </Show>
            <Show when=move || view.locked.get()>
                <p class="hint" data-testid="locked-note">{move || tr.t("host-locked-note")}</p>
            </Show>
            <Show when=move || view.own_host.get()>
                <HostPassword view=view call=call/>
            </Show>
            <Show when=move || view.cameras_to_hosts.get()>
                <p class="hint" data-testid="cameras-note">{move || tr.t("host-cameras-to-hosts-note")}</p>
            </Show>
            <Show when=move || view.lobby.get()>
                <p class="hint" data-testid="lobby-note">{move || tr.t("host-lobby-note")}</p>
            </Show>
            <Show when=move || view.own_host.get() && !view.waiting.with(Vec::is_empty)>
                <section class="lobby" aria-labelledby="lobby-heading" data-testid="lobby">
                    <h3 id="lobby-heading">
                        {move || tr.t("lobby-heading")} " (" {move || view.waiting.with(Vec::len)} ")"
                    </h3>
                    <ul class="people-list">
                        <For each=move || view.waiting.get() key=|w| w.id let:waiter>
                            {
                                let id = waiter.id;
                                let name = StoredValue::new(waiter.name.clone());
                                let label = move |key: &'static str| name.with_value(|n| tr.f(key, &[("name", n)]));
                                view! {
                                    <li class="person" data-testid="waiter" data-name=waiter.name.clone()>
                                        <span class="name">{waiter.name.clone()}</span>
                                        <span class="host-actions" role="group" aria-label=move || label("lobby-actions")>
                                            <button type="button" class="primary" data-testid="lobby-admit"
                                                aria-label=move || label("lobby-admit")
                                                on:click=move |_| moderate(Moderation::Admit { id })>
                                                {move || tr.t("lobby-admit-short")}
                                            </button>
                                            <button type="button" data-testid="lobby-deny"
                                                aria-label=move || label("lobby-deny")
                                                on:click=move |_| moderate(Moderation::Deny { id })>
                                                {move || tr.t("lobby-deny-short")}
                                            </button>
                                        </span>
                                    </li>
                                }
                            }
                        </For>
                    </ul>
                    <button type="button" data-testid="lobby-admit-all"
                        on:click=move |_| moderate(Moderation::AdmitAll)>{move || tr.t("lobby-admit-all")}</button>
                </section>
            </Show>
            <Show when=move || !view.hands.with(Vec::is_empty)>
                <h3>{move || tr.t("participants-hands")}</h3>
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
                    hand=view.own_hand host=view.own_host/>
                <For each=move || view.tiles.get() key=|t| t.id let:tile>
                    {
                        let id = tile.id;
                        let find = move || view.tiles.with(|ts| ts.iter().find(|t| t.id == id).cloned());
                        let label = tile.name.clone();
                        let name = tile.name.clone();
                        view! {
                            <Person label=Signal::derive(move || label.clone()) name=tile.name.clone()
                                mic=Signal::derive(move || find().is_some_and(|t| t.media.audio))
                                cam=Signal::derive(move || find().is_some_and(|t| t.media.video))
                                hand=Signal::derive(move || find().is_some_and(|t| t.hand))
                                host=Signal::derive(move || find().is_some_and(|t| t.host))
                                listener=Signal::derive(move || find().is_some_and(|t| t.listener))>
                                <Show when=move || view.own_host.get()>
                                    <HostActions id name=name.clone() tile=Signal::derive(find) own_host_link=view.own_host_link call/>
                                </Show>
                            </Person>
                        }
                    }
                </For>
            </ul>
            <Show when=move || view.own_host.get()>
                <button type="button" class="danger end-meeting" data-testid="end-meeting" on:click=move |_| {
                    let question = tr.t("host-end-question");
                    let confirmed = crate::js::window().confirm_with_message(&question);
                    if confirmed.unwrap_or(false) && let Some(call) = call.get_value() {
                        call.moderate(Moderation::EndMeeting);
                    }
                }>{move || tr.t("host-end-meeting")}</button>
            </Show>
        </section>
    }
}
