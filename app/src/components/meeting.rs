//! The meeting screen: tiles, controls, notices and the live region.

use std::rc::Rc;

use leptos::prelude::*;
use protocol::{ParticipantId, RoomMode};

use crate::{
    call::{Call, CallPhase, CallView, Layout, Panel},
    components::{
        chat_panel::ChatPanel,
        controls::Controls,
        dialogs::{DetailsDialog, Dialog, SettingsDialog},
        notice::ErrorNotice,
        people_panel::PeoplePanel,
        stage::{JoinMedia, JoinRequest, Stage},
        tile::{RemoteTile, ScreenTile, SelfTile},
    },
    config::AppConfig,
    i18n::Tr,
    media,
};

/// The meeting in `room`, joined with `request`.
#[component]
pub fn MeetingView(
    /// The room's name from the link.
    room: String,
    /// Name and media to join with.
    request: JoinRequest,
    /// Back to the pre-join screen on "Rejoin".
    stage: RwSignal<Stage, LocalStorage>,
) -> impl IntoView {
    let tr = Tr::use_context();
    // The call's reactive state belongs to the call, not to this view: the browser calls back
    // into the call (sockets, peer connections, timers) until it has closed everything, possibly
    // after this view is gone, and those callbacks must find the state alive. Both this view and
    // the call hold the owner; the state is disposed when the last of them lets go.
    // `Owner::new_root` also makes the new owner the current one; put this view's owner back at
    // once, or the rest of this view (its contexts, such as the language, and its cleanups) would
    // hang under the call's state instead of under the page.
    let parent = Owner::current();
    let state = Owner::new_root(None);
    if let Some(parent) = parent {
        parent.set();
    }
    let view = state.with(CallView::new);
    let _kept = StoredValue::new_local(state.clone());
    let call = StoredValue::new_local(None::<Rc<Call>>);
    let name = request.name.clone();
    let invite_fallback = RwSignal::new(None::<String>);
    let dialog = RwSignal::new(None::<Dialog>);

    start_call(view, state, room.clone(), request, call);

    let mode = move || match view.mode.get() {
        RoomMode::Mesh => "mesh",
        RoomMode::Sfu => "sfu",
    };
    let with_call = move |f: fn(&Call)| {
        if let Some(call) = call.get_value() {
            f(&call);
        }
    };
    // Listeners are in the participant list (for hosts), not on the stage.
    let count = move || view.tiles.with(|t| t.iter().filter(|t| !t.listener).count()) + 1;
    let stage_tiles =
        move || view.tiles.get().into_iter().filter(|t| !t.listener).collect::<Vec<_>>();
    // Screens others share, in join order.
    let screens = move || {
        view.tiles.with(|t| t.iter().filter(|t| t.media.screen).map(|t| t.id).collect::<Vec<_>>())
    };
    let presenting = move || !screens().is_empty() || view.own_screen.with(Option::is_some);
    // Who is shown large in speaker view (`client::layout::featured`).
    let featured = Memo::new(move |_| {
        let tiles = view.tiles.with(|t| t.iter().map(|t| (t.id, t.listener)).collect::<Vec<_>>());
        let grid_chosen = view.layout.get() == Layout::Grid;
        client::layout::featured(
            presenting(),
            grid_chosen,
            view.pinned.get(),
            view.speaker.get(),
            &tiles,
        )
    });
    let layout_name =
        move || if presenting() || featured.get().is_some() { "speaker" } else { "grid" };
    // In grid view, as many columns as make the tiles largest in the window.
    let window_size = || {
        let w = crate::js::window();
        let get =
            |v: Result<wasm_bindgen::JsValue, _>| v.ok().and_then(|v| v.as_f64()).unwrap_or(0.0);
        (get(w.inner_width()), get(w.inner_height()))
    };
    let size = RwSignal::new(window_size());
    let resize = window_event_listener(leptos::ev::resize, move |_| size.set(window_size()));
    on_cleanup(move || resize.remove());
    let grid = move || {
        let (width, height) = size.get();
        client::layout::stage_grid(count(), width, height, view.panel.get() != Panel::Closed)
    };
    // Set through the element's style object, not a style attribute: the relay's
    // Content-Security-Policy refuses inline style attributes.
    let grid_columns = move || {
        if layout_name() != "grid" {
            return String::new();
        }
        let (columns, tile) = grid();
        format!("repeat({columns}, minmax(0, {tile}px))")
    };
    // With server forwarding, tell the relay which quality each tile needs (it forwards the
    // matching simulcast layer); re-sent whenever tiles, layout or window size change it.
    Effect::new(move |sent: Option<Vec<(ParticipantId, protocol::VideoQuality)>>| {
        if view.mode.get() != RoomMode::Sfu {
            return Vec::new();
        }
        let featured = featured.get();
        let speaker_view = presenting() || featured.is_some();
        let tile_px = grid().1;
        let wanted: Vec<_> = view.tiles.with(|tiles| {
            tiles
                .iter()
                .map(|t| {
                    let large = speaker_view.then(|| featured == Some(t.id));
                    (t.id, client::layout::wanted_quality(large, tile_px))
                })
                .collect()
        });
        if sent.as_ref() != Some(&wanted)
            && let Some(call) = call.get_value()
        {
            let before = sent.unwrap_or_default();
            for (id, quality) in wanted.iter().filter(|w| !before.contains(w)) {
                call.set_video_quality(*id, *quality);
            }
        }
        wanted
    });
    let in_room = move || matches!(view.phase.get(), CallPhase::Joined | CallPhase::Reconnecting);
    let waiting_name = name.clone();

    view! {
        <main class="meeting" data-mode=mode data-layout=layout_name data-phase=move || view.phase.with(CallPhase::name)>
            <h1 class="sr-only">{let room = room.clone(); move || tr.f("meeting-heading", &[("room", &room)])}</h1>
            <div class="sr-only" role="status" aria-live="polite" aria-atomic="true" data-testid="announcer">
                {move || view.announcement.get()}
            </div>
            {move || match view.phase.get() {
                CallPhase::Connecting => view! {
                    <p class="status" role="status">{move || tr.t("meeting-connecting")}</p>
                }.into_any(),
                CallPhase::Waiting => view! {
                    <section class="lobby-wait" data-testid="waiting" aria-labelledby="waiting-heading">
                        <h2 id="waiting-heading" role="status">{move || tr.t("lobby-waiting")}</h2>
                        <p class="hint">{move || tr.t("lobby-waiting-hint")}</p>
                        <SelfTile name=waiting_name.clone() view=view/>
                        <button type="button" data-testid="stop-waiting"
                            on:click=move |_| with_call(Call::leave)>{move || tr.t("lobby-leave")}</button>
                    </section>
                }.into_any(),
                CallPhase::Reconnecting => view! {
                    <p class="status warning" role="status">{move || tr.t("error-relay-lost")}</p>
                }.into_any(),
                CallPhase::Failed(error) => {
                    let retryable = error.is_retryable();
                    let wants_password = error.wants_password();
                    let over = error.meeting_over();
                    let typed = RwSignal::new(String::new());
                    view! {
                        <ErrorNotice error=error>
                            <Show when=move || wants_password>
                                <form class="password-form" data-testid="password-form" on:submit=move |ev| {
                                    ev.prevent_default();
                                    let password = typed.get_untracked();
                                    if let Some(call) = call.get_value() && !password.trim().is_empty() {
                                        call.retry_with_password(password);
                                    }
                                }>
                                    <label for="meeting-password">{move || tr.t("password-label")}</label>
                                    <input id="meeting-password" type="password" data-testid="password"
                                        autocomplete="off" maxlength="64" autofocus=true
                                        prop:value=move || typed.get()
                                        on:input=move |ev| typed.set(event_target_value(&ev))/>
                                    <button type="submit" class="primary" data-testid="password-join">
                                        {move || tr.t("password-join")}
                                    </button>
                                </form>
                            </Show>
                            <Show when=move || retryable>
                                <button type="button" class="primary" data-testid="retry"
                                    on:click=move |_| with_call(Call::retry)>
                                    {move || tr.t("action-retry")}
                                </button>
                            </Show>
                            <Show when=move || !over
                                fallback=move || view! {
                                    <button type="button" data-testid="to-start" on:click=move |_| stage.set(Stage::Start)>
                                        {move || tr.t("meeting-to-start")}
                                    </button>
                                }>
                                <button type="button" on:click=move |_| stage.set(Stage::PreJoin)>
                                    {move || tr.t("meeting-rejoin")}
                                </button>
                            </Show>
                        </ErrorNotice>
                    }.into_any()
                }
                CallPhase::Left => view! {
                    <div class="left">
                        <p role="status">{move || tr.t("meeting-left")}</p>
                        <button type="button" class="primary" data-testid="rejoin"
                            on:click=move |_| stage.set(Stage::PreJoin)>
                            {move || tr.t("meeting-rejoin")}
                        </button>
                    </div>
                }.into_any(),
                CallPhase::Joined => ().into_any(),
            }}
            {move || view.notice.get().map(|error| view! {
                <ErrorNotice error=error>
                    <button type="button" on:click=move |_| view.notice.set(None)>
                        {move || tr.t("action-dismiss")}
                    </button>
                </ErrorNotice>
            })}
            <Show when=in_room>
                <Show when=move || view.own_host.get() && !view.waiting.with(Vec::is_empty)>
                    <div class="notice info lobby-notice" data-testid="lobby-notice">
                        <p>{move || {
                            let names = view.waiting.with(|w| w.iter().map(|w| w.name.clone()).collect::<Vec<_>>().join(", "));
                            tr.f("lobby-notice", &[("detail", &names)])
                        }}</p>
                        <div class="notice-actions">
                            <button type="button" class="primary" data-testid="lobby-show"
                                on:click=move |_| if let Some(call) = call.get_value() { call.set_panel(Panel::People) }>
                                {move || tr.t("lobby-show")}
                            </button>
                        </div>
                    </div>
                </Show>
                <p class="count" data-testid="participant-count">
                    {move || tr.count("meeting-participants", count() as u64)}
                    <Show when=move || { view.listeners.get() > 0 }>
                        " · " <span data-testid="listeners">{move || tr.count("meeting-listeners", view.listeners.get() as u64)}</span>
                    </Show>
                </p>
                {move || invite_fallback.get().map(|link| view! {
                    <div class="notice info" role="status">
                        <label for="invite-link">{move || tr.t("invite-copy-failed")}</label>
                        <input id="invite-link" data-testid="invite-link" readonly=true value=link
                            on:focus=move |ev| {
                                use wasm_bindgen::JsCast;
                                if let Some(input) = ev.target().and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok()) {
                                    input.select();
                                }
                            }/>
                        <button type="button" on:click=move |_| invite_fallback.set(None)>{move || tr.t("action-dismiss")}</button>
                    </div>
                })}
                <div class="stage" class:with-panel=move || view.panel.get() != Panel::Closed>
                    <section class="grid" data-count=move || count().to_string() data-layout=layout_name style:grid-template-columns=grid_columns>
                        <Show when=move || view.own_screen.with(Option::is_some)>
                            <ScreenTile id=None view=view/>
                        </Show>
                        <For each=screens key=|id| *id let:id>
                            <ScreenTile id=Some(id) view=view/>
                        </For>
                        <SelfTile name=name.clone() view=view/>
                        <For each=stage_tiles key=|tile| tile.id let:tile>
                            <RemoteTile id=tile.id view=view featured=featured/>
                        </For>
                    </section>
                    <aside id="side-panel" class="side">
                        {
                            let name = name.clone();
                            move || match view.panel.get() {
                                Panel::Chat => view! { <ChatPanel view=view call=call/> }.into_any(),
                                Panel::People => view! { <PeoplePanel name=name.clone() view=view call=call/> }.into_any(),
                                Panel::Closed => ().into_any(),
                            }
                        }
                    </aside>
                </div>
                <Show when=move || count() == 1>
                    <p class="alone">{move || tr.t("meeting-alone")}</p>
                </Show>
                <Controls room=room.clone() view=view call=call invite_fallback=invite_fallback dialog=dialog/>
                {move || match dialog.get() {
                    Some(Dialog::Settings) => view! { <SettingsDialog view=view call=call dialog=dialog/> }.into_any(),
                    Some(Dialog::Details) => view! { <DetailsDialog view=view dialog=dialog/> }.into_any(),
                    None => ().into_any(),
                }}
            </Show>
        </main>
    }
}

/// Opens the devices (or takes what the pre-join screen opened), then starts the call in
/// `room` under `state`, the owner of the call's reactive state; the call is left when this
/// view goes.
fn start_call(
    view: CallView,
    state: Owner,
    room: String,
    request: JoinRequest,
    call: StoredValue<Option<Rc<Call>>, LocalStorage>,
) {
    let tr = Tr::use_context();
    {
        leptos::task::spawn_local(async move {
            let config = AppConfig::load().await;
            let (local, error) = match request.media {
                JoinMedia::Prepared(prepared) => prepared.take().await,
                JoinMedia::Open(devices) => media::acquire(&devices).await,
            };
            if let Some(error) = error {
                view.notice.set(Some(error));
            }
            if view.phase.get_untracked() == CallPhase::Left {
                let mut local = local;
                local.stop();
                return;
            }
            let entry = crate::call::Entry {
                relay_url: config.relay_url(),
                room,
                name: request.name,
                link: request.link,
            };
            let started = Call::start(view, state, tr, entry, local, request.wanted);
            // This view may be gone by now; then the call is left at once.
            if let Some(started) = call.try_set_value(Some(started)).flatten() {
                started.leave();
            }
        });
    }
    on_cleanup(move || {
        if let Some(call) = call.get_value()
            && call.view().phase.get_untracked() != CallPhase::Left
        {
            call.leave();
        }
    });
}
