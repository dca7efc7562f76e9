//! The meeting's toolbar: microphone, camera, leave.

use std::rc::Rc;

use leptos::prelude::*;

use crate::{
    call::{Call, CallView},
    components::icons::{CamIcon, LeaveIcon, MicIcon},
    i18n::Tr,
};

/// Buttons with visible labels and `aria-pressed`, all reachable by keyboard.
#[component]
pub fn Controls(
    /// The call's state.
    view: CallView,
    /// The call, once started.
    call: StoredValue<Option<Rc<Call>>, LocalStorage>,
) -> impl IntoView {
    let tr = Tr::use_context();
    let muted = Signal::derive(move || !view.own_media.get().audio);
    let cam_off = Signal::derive(move || !view.own_media.get().video);
    let busy = RwSignal::new(false);

    let toggle_mic = move |_| {
        if let Some(call) = call.get_value() {
            call.set_microphone(muted.get_untracked());
        }
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
    let leave = move |_| {
        if let Some(call) = call.get_value() {
            call.leave();
        }
    };

    view! {
        <div class="controls" role="toolbar" aria-label=move || tr.t("controls.toolbar")>
            <button type="button" class="toggle" data-testid="toggle-mic"
                aria-pressed=move || muted.get().to_string()
                title=move || tr.t("controls.mute")
                on:click=toggle_mic>
                <MicIcon off=muted/>
                <span>{move || tr.t("controls.mute_short")}</span>
            </button>
            <button type="button" class="toggle" data-testid="toggle-camera"
                aria-pressed=move || cam_off.get().to_string()
                aria-busy=move || busy.get().to_string()
                title=move || tr.t("controls.camera_off")
                on:click=toggle_cam>
                <CamIcon off=cam_off/>
                <span>{move || tr.t("controls.camera_off_short")}</span>
            </button>
            <button type="button" class="leave" data-testid="leave"
                title=move || tr.t("controls.leave")
                on:click=leave>
                <LeaveIcon/>
                <span>{move || tr.t("controls.leave_short")}</span>
            </button>
        </div>
    }
}
