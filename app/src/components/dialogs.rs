//! Modal dialogs over the meeting: settings (devices, speaker, language) and connection details.

use std::rc::Rc;

use client::i18n::Locale;
use leptos::prelude::*;
use wasm_bindgen_futures::JsFuture;

use crate::{
    call::{Call, CallView},
    components::language::LanguageOptions,
    i18n::Tr,
    js::window,
    media::{self, Devices},
};

/// A `<dialog>` opened with `showModal()` (focus is kept inside, Escape closes it).
/// A dialog over the meeting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialog {
    /// Devices and language.
    Settings,
    /// Connection details for the helpdesk.
    Details,
}

#[component]
fn Modal(
    /// Which dialog is open; set to `None` when this one closes.
    dialog: RwSignal<Option<Dialog>>,
    /// The id of the heading that names the dialog.
    labelled_by: &'static str,
    /// For tests.
    test_id: &'static str,
    /// The content.
    children: Children,
) -> impl IntoView {
    let node = NodeRef::<leptos::html::Dialog>::new();
    Effect::new(move |_| {
        if let Some(element) = node.get()
            && !element.open()
        {
            let _ = element.show_modal();
        }
    });
    view! {
        <dialog node_ref=node class="modal" aria-labelledby=labelled_by data-testid=test_id
            on:close=move |_| dialog.set(None)>
            {children()}
        </dialog>
    }
}

/// Devices, speaker and language.
#[component]
pub fn SettingsDialog(
    /// The call's state.
    view: CallView,
    /// The call.
    call: StoredValue<Option<Rc<Call>>, LocalStorage>,
    /// Closed by setting `None`.
    dialog: RwSignal<Option<Dialog>>,
) -> impl IntoView {
    let tr = Tr::use_context();
    let devices = RwSignal::new(Devices::default());
    leptos::task::spawn_local(async move { devices.set(media::list_devices().await) });
    let switch = move |kind: &'static str| {
        move |ev: leptos::ev::Event| {
            let Some(call) = call.get_value() else { return };
            let device = event_target_value(&ev);
            leptos::task::spawn_local(async move { call.switch_device(kind, device).await });
        }
    };
    let options = move |pick: fn(&Devices) -> &Vec<media::Device>, selected: Signal<String>| {
        move || {
            devices.with(|d| {
                pick(d)
                    .iter()
                    .enumerate()
                    .map(|(i, device)| {
                        let label = device.display_label(i, &tr);
                        let id = device.id.clone();
                        let is_selected = selected.get() == id;
                        view! { <option value=id selected=is_selected>{label}</option> }
                    })
                    .collect_view()
            })
        }
    };
    let mic = Signal::derive(move || view.devices.get().0);
    let cam = Signal::derive(move || view.devices.get().1);
    let sink = Signal::derive(move || view.sink.get());
    let close = move |_| dialog.set(None);
    view! {
        <Modal dialog=dialog labelled_by="settings-heading" test_id="settings">
            <h2 id="settings-heading">{move || tr.t("settings-heading")}</h2>
            <label for="settings-microphone">{move || tr.t("prejoin-microphone-label")}</label>
            <select id="settings-microphone" on:change=switch("audio")>
                <option value="">{move || tr.t("device-default")}</option>
                {options(|d| &d.microphones, mic)}
            </select>
            <label for="settings-camera">{move || tr.t("prejoin-camera-label")}</label>
            <select id="settings-camera" on:change=switch("video")>
                <option value="">{move || tr.t("device-default")}</option>
                {options(|d| &d.cameras, cam)}
            </select>
            <label for="settings-speaker">{move || tr.t("settings-speaker")}</label>
            {if media::can_choose_speaker() {
                view! {
                    <select id="settings-speaker" on:change=move |ev| view.sink.set(event_target_value(&ev))>
                        <option value="">{move || tr.t("device-default")}</option>
                        {options(|d| &d.speakers, sink)}
                    </select>
                }.into_any()
            } else {
                view! { <p id="settings-speaker" class="hint">{move || tr.t("settings-speaker-unsupported")}</p> }.into_any()
            }}
            <label for="settings-language">{move || tr.t("settings-language")}</label>
            <select id="settings-language" data-testid="settings-language"
                on:change=move |ev| {
                    if let Some(locale) = Locale::from_tag(&event_target_value(&ev)) {
                        tr.set_locale(locale);
                    }
                }>
                <LanguageOptions tr=tr/>
            </select>
            <div class="dialog-actions">
                <button type="button" class="primary" on:click=close>{move || tr.t("settings-close")}</button>
            </div>
        </Modal>
    }
}

/// What a helpdesk needs to diagnose a connection, without names or content.
fn details_text(view: &CallView) -> String {
    let navigator = window().navigator();
    let mut text = String::from("Treffpunkt connection details\n");
    text.push_str(&format!("time: {}\n", String::from(js_sys::Date::new_0().to_iso_string())));
    text.push_str(&format!("browser: {}\n", navigator.user_agent().unwrap_or_default()));
    text.push_str(&format!("room mode: {:?}\n", view.mode.get_untracked()).to_lowercase());
    text.push_str(&format!("participants: {}\n", view.tiles.with_untracked(Vec::len) + 1));
    let own = view.own_media.get_untracked();
    text.push_str(&format!(
        "own media: microphone {}, camera {}, screen {}\n",
        on_off(own.audio),
        on_off(own.video),
        on_off(own.screen)
    ));
    view.tiles.with_untracked(|tiles| {
        view.quality.with_untracked(|quality| {
            for (n, tile) in tiles.iter().enumerate() {
                let q = quality.get(&tile.id).copied().unwrap_or_default();
                let number = |v: Option<f64>, unit: &str| v.map(|v| format!("{v:.0} {unit}")).unwrap_or("-".into());
                text.push_str(&format!(
                    "connection {}: {:?}, quality {:?}, route {}, round trip {}, loss {}, receiving {}, sending {}\n",
                    n + 1,
                    tile.link,
                    q.grade,
                    q.route.unwrap_or("-"),
                    number(q.rtt_ms, "ms"),
                    q.loss_percent.map(|l| format!("{l:.1} %")).unwrap_or("-".into()),
                    number(q.receive_kbps, "kbit/s"),
                    number(q.send_kbps, "kbit/s"),
                ));
            }
        })
    });
    text
}

fn on_off(on: bool) -> &'static str {
    if on { "on" } else { "off" }
}

/// Connection details, with a button to copy them.
#[component]
pub fn DetailsDialog(
    /// The call's state.
    view: CallView,
    /// Closed by setting `None`.
    dialog: RwSignal<Option<Dialog>>,
) -> impl IntoView {
    let tr = Tr::use_context();
    let text = move || {
        view.quality.track();
        view.tiles.track();
        details_text(&view)
    };
    let copied = RwSignal::new(false);
    let copy = move |_| {
        let content = details_text(&view);
        let clipboard = window().navigator().clipboard();
        leptos::task::spawn_local(async move {
            copied.set(JsFuture::from(clipboard.write_text(&content)).await.is_ok());
        });
    };
    view! {
        <Modal dialog=dialog labelled_by="details-heading" test_id="details">
            <h2 id="details-heading">{move || tr.t("details-heading")}</h2>
            <p>{move || tr.t("details-intro")}</p>
            <pre class="details" data-testid="details-text" tabindex="0">{text}</pre>
            <p role="status">{move || copied.get().then(|| tr.t("details-copied"))}</p>
            <div class="dialog-actions">
                <button type="button" on:click=copy>{move || tr.t("details-copy")}</button>
                <button type="button" class="primary" on:click=move |_| dialog.set(None)>{move || tr.t("details-close")}</button>
            </div>
        </Modal>
    }
}
