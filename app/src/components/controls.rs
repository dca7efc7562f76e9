//! The meeting's toolbar: microphone, camera, hand, chat, participants, invite, leave.

use std::rc::Rc;

use leptos::prelude::*;
use wasm_bindgen_futures::JsFuture;

use crate::{
    call::{Call, CallView, Layout, Panel},
    components::{
        dialogs::Dialog,
        icons::{
            CamIcon, ChatIcon, HandIcon, LeaveIcon, LinkIcon, MicIcon, PeopleIcon, ScreenIcon,
        },
    },
    i18n::Tr,
    js::window,
};

/// The link others can use to join this room (without our name or autojoin).
pub fn invite_link(room: &str) -> String {
    let location = window().location();
    let origin = location.origin().unwrap_or_default();
    let path = location.pathname().unwrap_or_default();
    format!("{origin}{path}?room={}", js_sys::encode_uri_component(room))
}

/// Buttons with visible labels and `aria-pressed`, all reachable by keyboard.
#[component]
pub fn Controls(
    /// The room, for the invitation link.
    room: String,
    /// The call's state.
    view: CallView,
    /// The call, once started.
    call: StoredValue<Option<Rc<Call>>, LocalStorage>,
    /// Set to the link when copying it failed, so the person can copy it by hand.
    invite_fallback: RwSignal<Option<String>>,
    /// Opens a dialog.
    dialog: RwSignal<Option<Dialog>>,
) -> impl IntoView {
    let tr = Tr::use_context();
    let muted = Signal::derive(move || !view.own_media.get().audio);
    let cam_off = Signal::derive(move || !view.own_media.get().video);
    let busy = RwSignal::new(false);
    let with_call = move |f: &dyn Fn(&Call)| {
        if let Some(call) = call.get_value() {
            f(&call);
        }
    };

    let toggle_mic = move |_| {
        // A host keeps it off; the relay would refuse anyway.
        if view.own_mic_locked.get_untracked() {
            return;
        }
        with_call(&|call| {
            call.set_microphone(muted.get_untracked());
        })
    };
    let toggle_cam = move |_| {
        let Some(call) = call.get_value() else { return };
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        let on = cam_off.get_untracked();
        leptos::task::spawn_local(async move {
            call.set_camera(on).await;
            busy.set(false);
        });
    };
    let toggle_hand = move |_| with_call(&|call| call.set_hand(!view.own_hand.get_untracked()));
    let toggle_panel = move |panel: Panel| {
        move |_| {
            let next = if view.panel.get_untracked() == panel { Panel::Closed } else { panel };
            with_call(&|call| call.set_panel(next));
        }
    };
    let room = StoredValue::new(room);
    let invite = move |_: leptos::ev::MouseEvent| {
        let link = invite_link(&room.get_value());
        let clipboard = window().navigator().clipboard();
        leptos::task::spawn_local(async move {
            match JsFuture::from(clipboard.write_text(&link)).await {
                Ok(_) => {
                    invite_fallback.set(None);
                    view.announcement.set(tr.f_untracked("invite-copied", &[]));
                }
                Err(_) => invite_fallback.set(Some(link)),
            }
        });
    };
    let leave = move |_| with_call(&|call| call.leave());
    let sharing = move || view.own_screen.with(Option::is_some);
    let sharing_busy = RwSignal::new(false);
    let toggle_share = move |_| {
        let Some(call) = call.get_value() else { return };
        if sharing_busy.get_untracked() {
            return;
        }
        sharing_busy.set(true);
        let stop = sharing();
        leptos::task::spawn_local(async move {
            if stop {
                call.stop_screen_share().await
            } else {
                call.start_screen_share().await
            }
            sharing_busy.set(false);
        });
    };
    let more_open = RwSignal::new(false);
    let speaker_view = move || view.layout.get() == Layout::Speaker;
    let toggle_layout = move |_| {
        more_open.set(false);
        if speaker_view() {
            view.layout.set(Layout::Grid);
            view.pinned.set(None);
        } else {
            view.layout.set(Layout::Speaker);
        }
    };
    let open_dialog = move |which: Dialog| {
        move |_| {
            more_open.set(false);
            dialog.set(Some(which));
        }
    };
    let can_share = crate::media::can_share_screen();
    let unread = move || view.unread.get();

    view! {
        <div class="controls" role="toolbar" aria-label=move || tr.t("controls-toolbar")>
            <Show when=move || !view.listening.get()>
            <button type="button" class="toggle" data-testid="toggle-mic"
                aria-pressed=move || muted.get().to_string()
                aria-disabled=move || view.own_mic_locked.get().to_string()
                title=move || tr.t(if view.own_mic_locked.get() { "controls-mic-locked" } else { "controls-mute" })
                on:click=toggle_mic>
                <MicIcon off=muted/>
                <span>{move || tr.t("controls-mute-short")}</span>
            </button>
            <button type="button" class="toggle" data-testid="toggle-camera"
                aria-pressed=move || cam_off.get().to_string()
                aria-busy=move || busy.get().to_string()
                title=move || tr.t("controls-camera-off")
                on:click=toggle_cam>
                <CamIcon off=cam_off/>
                <span>{move || tr.t("controls-camera-off-short")}</span>
            </button>
            </Show>
            // Screen sharing through the relay is not forwarded yet: offered in meshes only.
            <Show when=move || can_share && !view.listening.get()>
                <button type="button" class="toggle share" data-testid="toggle-share"
                    aria-pressed=move || sharing().to_string()
                    aria-busy=move || sharing_busy.get().to_string()
                    title=move || tr.t("controls-share")
                    on:click=toggle_share>
                    <ScreenIcon/>
                    <span>{move || tr.t("controls-share-short")}</span>
                </button>
            </Show>
            <button type="button" class="toggle hand" data-testid="toggle-hand"
                aria-pressed=move || view.own_hand.get().to_string()
                title=move || tr.t("controls-hand")
                on:click=toggle_hand>
                <HandIcon/>
                <span>{move || tr.t("controls-hand-short")}</span>
            </button>
            <button type="button" class="panel-toggle" data-testid="toggle-chat"
                title=move || tr.t("controls-chat")
                aria-pressed=move || (view.panel.get() == Panel::Chat).to_string()
                aria-controls="side-panel"
                on:click=toggle_panel(Panel::Chat)>
                <ChatIcon/>
                <span>{move || tr.t("controls-chat")}</span>
                <Show when=move || { unread() > 0 }>
                    <span class="unread" data-testid="unread">
                        <span aria-hidden="true">{unread}</span>
                        <span class="sr-only">{move || tr.count("controls-chat-unread", unread() as u64)}</span>
                    </span>
                </Show>
            </button>
            <button type="button" class="panel-toggle" data-testid="toggle-people"
                title=move || tr.t("controls-participants")
                aria-pressed=move || (view.panel.get() == Panel::People).to_string()
                aria-controls="side-panel"
                on:click=toggle_panel(Panel::People)>
                <PeopleIcon/>
                <span>{move || tr.t("controls-participants")}</span>
            </button>
            <div class="more">
                <button type="button" data-testid="more" aria-haspopup="true"
                    title=move || tr.t("controls-more")
                    aria-expanded=move || more_open.get().to_string() aria-controls="more-menu"
                    on:click=move |_| more_open.update(|o| *o = !*o)>
                    <span class="glyph" aria-hidden="true">"⋯"</span>
                    <span>{move || tr.t("controls-more")}</span>
                </button>
                <Show when=move || more_open.get()>
                    <div id="more-menu" class="menu" data-testid="more-menu"
                        on:keydown=move |ev: leptos::ev::KeyboardEvent| if ev.key() == "Escape" { more_open.set(false) }>
                        <button type="button" data-testid="toggle-layout"
                            aria-pressed=move || speaker_view().to_string() on:click=toggle_layout>
                            {move || tr.t("controls-layout")}
                        </button>
                        <button type="button" data-testid="invite" title=move || tr.t("controls-invite")
                            on:click=move |ev| { more_open.set(false); invite(ev) }>
                            <LinkIcon/>
                            <span>{move || tr.t("controls-invite")}</span>
                        </button>
                        <button type="button" data-testid="open-settings" on:click=open_dialog(Dialog::Settings)>
                            {move || tr.t("controls-settings")}
                        </button>
                        <button type="button" data-testid="open-details" on:click=open_dialog(Dialog::Details)>
                            {move || tr.t("controls-details")}
                        </button>
                    </div>
                </Show>
            </div>
            <button type="button" class="leave" data-testid="leave"
                title=move || tr.t("controls-leave")
                on:click=leave>
                <LeaveIcon/>
                <span>{move || tr.t("controls-leave-short")}</span>
            </button>
        </div>
    }
}
