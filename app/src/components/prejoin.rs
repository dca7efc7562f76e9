//! The pre-join screen: camera preview, name, device choice, then "Join".

use client::{errors::UserError, params::LinkParams};
use leptos::{ev::SubmitEvent, prelude::*};
use protocol::{MediaState, NameError};

use crate::{
    components::{
        icons::{CamIcon, MicIcon},
        notice::ErrorNotice,
        stage::{JoinMedia, JoinRequest, Stage},
        video::StreamVideo,
    },
    i18n::Tr,
    media::{self, Device, MediaRequest},
    prepared::Prepared,
};

/// Where the display name is remembered between visits (this browser only).
const NAME_KEY: &str = "treffpunkt.name";

/// The pre-join screen of `room`.
#[component]
pub fn PreJoin(
    /// The room's name from the link.
    room: String,
    /// The link's parameters (`name`, `mic`, `cam`).
    params: LinkParams,
    /// Switched to the meeting on "Join".
    stage: RwSignal<Stage, LocalStorage>,
) -> impl IntoView {
    let tr = Tr::use_context();
    let name = RwSignal::new(
        params.name.clone().or_else(|| crate::js::storage_get(NAME_KEY)).unwrap_or_default(),
    );
    let name_error = RwSignal::new(None::<&'static str>);
    let mic_on = RwSignal::new(params.mic);
    let cam_on = RwSignal::new(params.cam);
    let link = StoredValue::new(params.link.clone());
    // A listener link never asks for camera or microphone.
    let listener = params.listener();
    // The link asked to skip this screen, but this browser has not been in the room before.
    let autojoin_refused = params.autojoin;
    let microphones = RwSignal::new(Vec::<Device>::new());
    let cameras = RwSignal::new(Vec::<Device>::new());
    let mic_device = RwSignal::new(String::new());
    let cam_device = RwSignal::new(String::new());
    let media_error = RwSignal::new(None::<UserError>);
    let preview = RwSignal::new_local(None::<web_sys::MediaStream>);
    // The devices live outside this component (see `prepared`): the browser may answer after
    // "Join" has replaced this screen with the meeting.
    let prepared = StoredValue::new_local(Prepared::default());

    // (Re)opens the devices the toggles and selects ask for. The microphone is opened even when
    // "muted", so unmuting in the meeting is instant. Written to after the `await`s: only
    // `set`, which Leptos ignores once this screen is gone; nothing here is read after them.
    let open_devices = move || {
        preview.set(None);
        let request = MediaRequest {
            audio: true,
            video: cam_on.get_untracked(),
            audio_device: Some(mic_device.get_untracked()),
            video_device: Some(cam_device.get_untracked()),
        };
        let prepared = prepared.get_value();
        leptos::task::spawn_local(async move {
            let Some((stream, error)) = prepared.open(request).await else { return };
            preview.set(stream);
            media_error.set(error);
            let devices = media::list_devices().await;
            microphones.set(devices.microphones);
            cameras.set(devices.cameras);
        });
    };
    if !listener {
        open_devices();
    }

    on_cleanup(move || {
        prepared.try_with_value(Prepared::release);
    });

    let join = move |without_media: bool| {
        let normalized = match protocol::normalize_display_name(&name.get_untracked()) {
            Ok(n) => n,
            Err(e) => {
                name_error.set(Some(match e {
                    NameError::Empty => "prejoin-name-required",
                    NameError::TooLong => "prejoin-name-too-long",
                    NameError::ForbiddenCharacter => "prejoin-name-invalid",
                }));
                return;
            }
        };
        crate::js::storage_set(NAME_KEY, &normalized);
        // Whatever is open, or still opening, goes to the meeting.
        let prepared = prepared.get_value();
        prepared.join(!without_media);
        stage.set(Stage::Meeting(JoinRequest {
            name: normalized,
            media: JoinMedia::Prepared(prepared),
            wanted: MediaState {
                audio: mic_on.get_untracked() && !without_media,
                video: cam_on.get_untracked() && !without_media,
                screen: false,
            },
            link: link.get_value(),
        }));
    };
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        join(listener);
    };
    let toggle_cam = move |_| {
        cam_on.update(|on| *on = !*on);
        open_devices();
    };

    let device_options = move |devices: RwSignal<Vec<Device>>| {
        move || {
            devices
                .get()
                .into_iter()
                .enumerate()
                .map(|(i, d)| {
                    let label = d.display_label(i, &tr);
                    view! { <option value=d.id>{label}</option> }
                })
                .collect_view()
        }
    };

    view! {
        <main class="prejoin">
            <h1>{let room = room.clone(); move || tr.f("prejoin-heading", &[("room", &room)])}</h1>
            <div class="prejoin-grid">
                <Show when=move || !listener>
                    <figure class="preview" aria-label=move || tr.t("prejoin-preview-label")>
                        <StreamVideo stream=preview muted=true mirrored=true/>
                        <Show when=move || preview.with(Option::is_none)>
                            <p class="preview-off">{move || tr.t("prejoin-preview-off")}</p>
                        </Show>
                    </figure>
                </Show>
                <form class="prejoin-form" on:submit=submit novalidate=true>
                    <label for="display-name">{move || tr.t("prejoin-name-label")}</label>
                    <input id="display-name" data-testid="name" autocomplete="name" required=true
                        maxlength=protocol::MAX_NAME_CHARS.to_string()
                        aria-describedby="name-hint name-error"
                        aria-invalid=move || name_error.get().is_some().to_string()
                        prop:value=move || name.get()
                        on:input=move |ev| { name_error.set(None); name.set(event_target_value(&ev)); }/>
                    <p id="name-hint" class="hint">{move || tr.t("prejoin-name-hint")}</p>
                    <p id="name-error" class="field-error" aria-live="polite">
                        {move || name_error.get().map(|k| tr.t(k))}
                    </p>

                    <Show when=move || autojoin_refused>
                        <p class="hint" data-testid="autojoin-hint">{move || tr.t("prejoin-autojoin-first")}</p>
                    </Show>
                    <Show when=move || listener>
                        <p class="hint" data-testid="listener-hint">{move || tr.t("prejoin-listener")}</p>
                    </Show>
                    <Show when=move || !listener>
                    <div class="toggles">
                        <button type="button" class="toggle" data-testid="prejoin-mic"
                            aria-pressed=move || (!mic_on.get()).to_string()
                            on:click=move |_| mic_on.update(|on| *on = !*on)>
                            <MicIcon off=Signal::derive(move || !mic_on.get())/>
                            <span>{move || tr.t("controls-mute")}</span>
                        </button>
                        <button type="button" class="toggle" data-testid="prejoin-cam"
                            aria-pressed=move || (!cam_on.get()).to_string()
                            on:click=toggle_cam>
                            <CamIcon off=Signal::derive(move || !cam_on.get())/>
                            <span>{move || tr.t("controls-camera-off")}</span>
                        </button>
                    </div>

                    <label for="microphone">{move || tr.t("prejoin-microphone-label")}</label>
                    <select id="microphone" on:change=move |ev| { mic_device.set(event_target_value(&ev)); open_devices(); }>
                        <option value="">{move || tr.t("device-default")}</option>
                        {device_options(microphones)}
                    </select>
                    <label for="camera">{move || tr.t("prejoin-camera-label")}</label>
                    <select id="camera" on:change=move |ev| { cam_device.set(event_target_value(&ev)); open_devices(); }>
                        <option value="">{move || tr.t("device-default")}</option>
                        {device_options(cameras)}
                    </select>
                    </Show>

                    {move || media_error.get().map(|e| view! {
                        <ErrorNotice error=e>
                            <button type="button" data-testid="join-without-media" on:click=move |_| join(true)>
                                {move || tr.t("prejoin-join-without-media")}
                            </button>
                        </ErrorNotice>
                    })}

                    <button type="submit" class="primary" data-testid="join">{move || tr.t("prejoin-join")}</button>
                </form>
            </div>
        </main>
    }
}
