//! The root: picks the start page, the pre-join screen or the meeting from the link.

use client::{branding::Branding, params::LinkParams};
use leptos::prelude::*;
use protocol::MediaState;
use wasm_bindgen::JsCast;

use crate::{
    components::{
        language::LanguageSwitch,
        meeting::MeetingView,
        prejoin::PreJoin,
        stage::{JoinMedia, JoinRequest, Stage},
        start::StartPage,
    },
    i18n::Tr,
    media::MediaRequest,
};

fn link_params() -> LinkParams {
    let search = crate::js::window().location().search().unwrap_or_default();
    let Ok(query) = web_sys::UrlSearchParams::new_with_str(&search) else {
        return LinkParams::from_pairs([]);
    };
    let mut pairs = Vec::new();
    for entry in js_sys::try_iter(&query).ok().flatten().into_iter().flatten().flatten() {
        let entry = js_sys::Array::from(&entry);
        if let (Some(k), Some(v)) = (entry.get(0).as_string(), entry.get(1).as_string()) {
            pairs.push((k, v));
        }
    }
    LinkParams::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
}

/// The application.
#[component]
pub fn App() -> impl IntoView {
    let tr = Tr::provide();
    let params = link_params();
    // A listener link never asks for camera or microphone.
    let speaks = !params.listener();
    let joined = crate::js::joined_rooms();
    let initial = match (&params.room, &params.name) {
        (None, _) => Stage::Start,
        (Some(_), Some(name)) if params.skips_prejoin(&joined) => Stage::Meeting(JoinRequest {
            name: name.clone(),
            media: JoinMedia::Open(MediaRequest {
                audio: speaks,
                video: params.cam && speaks,
                ..Default::default()
            }),
            wanted: MediaState {
                audio: params.mic && speaks,
                video: params.cam && speaks,
                screen: false,
            },
            link: params.link.clone(),
        }),
        (Some(_), _) => Stage::PreJoin,
    };
    let stage = RwSignal::new_local(initial);
    let room = params.room.clone().unwrap_or_default();
    let params = StoredValue::new(params);
    let look = RwSignal::new(Branding::default());
    leptos::task::spawn_local(async move {
        let branding = Branding::of(&crate::config::AppConfig::load().await.look);
        apply_branding(&branding);
        look.set(branding);
    });
    let title = move || look.with(|l| l.title.clone()).unwrap_or_else(|| tr.t("app-name"));

    view! {
        <div class="app">
            <header class="topbar">
                <span class="brand" data-testid="brand">
                    {move || look.with(|l| l.logo.clone()).map(|src| view! {
                        <img class="brand-logo" src=src alt="" data-testid="brand-logo"/>
                    })}
                    {title}
                </span>
                <LanguageSwitch tr=tr/>
            </header>
            {move || {
                // Nothing but the top bar until the language's messages are there (one small
                // file, fetched while the page starts).
                if !tr.ready() {
                    return ().into_any();
                }
                let room = room.clone();
                match stage.get() {
                    Stage::Start => view! { <StartPage/> }.into_any(),
                    Stage::PreJoin => view! { <PreJoin room=room params=params.get_value() stage=stage/> }.into_any(),
                    Stage::Meeting(request) => view! { <MeetingView room=room request=request stage=stage/> }.into_any(),
                }
            }}
        </div>
    }
}

/// Puts a town's look on the page: the window title and the accent colour (set through the
/// style object, which the app's security policy allows, unlike inline styles).
fn apply_branding(branding: &Branding) {
    let Some(document) = crate::js::window().document() else { return };
    if let Some(title) = &branding.title {
        document.set_title(title);
    }
    let root = document.document_element().and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok());
    if let (Some(root), Some((accent, text))) = (root, &branding.accent) {
        let style = root.style();
        let _ = style.set_property("--accent", accent);
        let _ = style.set_property("--accent-text", text);
    }
}
