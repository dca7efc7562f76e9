//! Inline SVG icons (no icon fonts or CDNs). Decorative: buttons carry text labels.

use leptos::prelude::*;

/// A microphone, struck through when `off`.
#[component]
pub fn MicIcon(
    /// Draw the strike-through.
    #[prop(into)]
    off: Signal<bool>,
) -> impl IntoView {
    view! {
        <svg class="icon" viewBox="0 0 24 24" aria-hidden="true" focusable="false">
            <path d="M12 14a3 3 0 0 0 3-3V5a3 3 0 0 0-6 0v6a3 3 0 0 0 3 3zm5-3a5 5 0 0 1-10 0H5a7 7 0 0 0 6 6.92V21h2v-3.08A7 7 0 0 0 19 11z"/>
            <Show when=move || off.get()><path d="M3 3l18 18" class="strike"/></Show>
        </svg>
    }
}

/// A camera, struck through when `off`.
#[component]
pub fn CamIcon(
    /// Draw the strike-through.
    #[prop(into)]
    off: Signal<bool>,
) -> impl IntoView {
    view! {
        <svg class="icon" viewBox="0 0 24 24" aria-hidden="true" focusable="false">
            <path d="M17 10.5V7a1 1 0 0 0-1-1H4a1 1 0 0 0-1 1v10a1 1 0 0 0 1 1h12a1 1 0 0 0 1-1v-3.5l4 4v-11z"/>
            <Show when=move || off.get()><path d="M3 3l18 18" class="strike"/></Show>
        </svg>
    }
}

/// A telephone handset, for leaving.
#[component]
pub fn LeaveIcon() -> impl IntoView {
    view! {
        <svg class="icon" viewBox="0 0 24 24" aria-hidden="true" focusable="false">
            <path d="M12 9c-1.6 0-3.15.25-4.6.72v3.1c0 .39-.23.74-.56.9-.98.49-1.87 1.12-2.66 1.85-.18.18-.43.28-.7.28-.28 0-.53-.11-.71-.29L.29 13.08a.96.96 0 0 1 0-1.36C3.34 8.78 7.46 7 12 7s8.66 1.78 11.71 4.72c.18.18.29.43.29.71 0 .28-.11.53-.29.71l-2.48 2.48c-.18.18-.43.29-.71.29-.27 0-.52-.11-.7-.28a11.3 11.3 0 0 0-2.67-1.85.99.99 0 0 1-.56-.9v-3.1A15.6 15.6 0 0 0 12 9z"/>
        </svg>
    }
}

/// A raised hand.
#[component]
pub fn HandIcon() -> impl IntoView {
    view! {
        <svg class="icon" viewBox="0 0 24 24" aria-hidden="true" focusable="false">
            <path d="M21 7a1.5 1.5 0 0 0-3 0v5h-1V3.5a1.5 1.5 0 0 0-3 0V11h-1V2.5a1.5 1.5 0 0 0-3 0V11H9V4.5a1.5 1.5 0 0 0-3 0v10.3l-2.1-2.4a1.6 1.6 0 0 0-2.3-.1 1.6 1.6 0 0 0-.1 2.2l4.7 5.6A6.5 6.5 0 0 0 11.2 22H15a6 6 0 0 0 6-6z"/>
        </svg>
    }
}

/// A speech bubble, for the chat.
#[component]
pub fn ChatIcon() -> impl IntoView {
    view! {
        <svg class="icon" viewBox="0 0 24 24" aria-hidden="true" focusable="false">
            <path d="M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H8l-5 4V5a2 2 0 0 1 1-2z"/>
        </svg>
    }
}

/// Two people, for the participant list.
#[component]
pub fn PeopleIcon() -> impl IntoView {
    view! {
        <svg class="icon" viewBox="0 0 24 24" aria-hidden="true" focusable="false">
            <path d="M9 11a4 4 0 1 0 0-8 4 4 0 0 0 0 8zm7 0a3 3 0 1 0 0-6 3 3 0 0 0 0 6zM1 20c0-3.3 3.6-6 8-6s8 2.7 8 6v1H1zm16.5-5.9c3 .4 5.5 2.5 5.5 4.9v1h-4.5v-1c0-1.8-.4-3.4-1-4.9z"/>
        </svg>
    }
}

/// A link, for invitations.
#[component]
pub fn LinkIcon() -> impl IntoView {
    view! {
        <svg class="icon" viewBox="0 0 24 24" aria-hidden="true" focusable="false">
            <path d="M10.6 13.4a1 1 0 0 1 0-1.4l3.5-3.5a1 1 0 1 1 1.4 1.4L12 13.4a1 1 0 0 1-1.4 0zM7.8 18.4a3 3 0 0 1-4.2-4.2l3.5-3.5 1.4 1.4-3.5 3.5a1 1 0 0 0 1.4 1.4l3.5-3.5 1.4 1.4zm8.5-5.7-1.4-1.4 3.5-3.5a1 1 0 0 0-1.4-1.4l-3.5 3.5-1.4-1.4 3.5-3.5a3 3 0 0 1 4.2 4.2z"/>
        </svg>
    }
}

/// A screen with an arrow, for screen sharing.
#[component]
pub fn ScreenIcon() -> impl IntoView {
    view! {
        <svg class="icon" viewBox="0 0 24 24" aria-hidden="true" focusable="false">
            <path d="M3 4h18a1 1 0 0 1 1 1v11a1 1 0 0 1-1 1h-7v2h3v2H7v-2h3v-2H3a1 1 0 0 1-1-1V5a1 1 0 0 1 1-1zm9 3-4 4h3v3h2v-3h3z"/>
        </svg>
    }
}
