//! The chat panel: messages (plain text, links clickable) and a box to write one.

use std::rc::Rc;

use client::chat::{Segment, linkify};
use leptos::{ev::SubmitEvent, prelude::*};
use protocol::{ChatError, ChatMessage};

use crate::{
    call::{Call, CallView, Panel},
    components::notice::ErrorNotice,
    i18n::Tr,
};

/// `HH:MM` in the person's language, from a relay timestamp.
fn clock(ms: u64, locale: &str) -> String {
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ms as f64));
    let options = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&options, &"hour".into(), &"2-digit".into());
    let _ = js_sys::Reflect::set(&options, &"minute".into(), &"2-digit".into());
    date.to_locale_time_string_with_options(locale, &options).into()
}

/// One message: who, when, and the text with its links.
#[component]
fn MessageItem(
    /// The message.
    message: ChatMessage,
    /// Whether we wrote it.
    mine: bool,
) -> impl IntoView {
    let tr = Tr::use_context();
    let sent = message.sent_at_ms;
    let iso: String =
        js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(sent as f64)).to_iso_string().into();
    let name = message.name.clone();
    let from = move || if mine { tr.t("chat-you") } else { name.clone() };
    let body = linkify(&message.text)
        .into_iter()
        .map(|segment| match segment {
            Segment::Text(text) => text.into_any(),
            Segment::Link(url) => {
                let href = url.clone();
                view! { <a href=href target="_blank" rel="noopener noreferrer nofollow">{url}</a> }
                    .into_any()
            }
        })
        .collect_view();
    view! {
        <li class="message" class:mine=mine data-testid="chat-message" data-from=message.name.clone()>
            <p class="meta">
                <span class="from">{from}</span>
                " "
                <time datetime=iso>{move || clock(sent, tr.locale().tag())}</time>
            </p>
            <p class="text">{body}</p>
        </li>
    }
}

/// The chat side panel.
#[component]
pub fn ChatPanel(
    /// The call's state.
    view: CallView,
    /// The call.
    call: StoredValue<Option<Rc<Call>>, LocalStorage>,
) -> impl IntoView {
    let tr = Tr::use_context();
    let list = NodeRef::<leptos::html::Ol>::new();
    let input = NodeRef::<leptos::html::Textarea>::new();
    // Opening the chat puts the cursor in the message box.
    Effect::new(move |_| {
        if let Some(input) = input.get() {
            let _ = input.focus();
        }
    });
    let local_error = RwSignal::new(None::<ChatError>);

    // Keep the newest message in view.
    Effect::new(move |_| {
        view.chat.with(Vec::len);
        if let Some(list) = list.get() {
            list.set_scroll_top(list.scroll_height());
        }
    });

    let send = move || {
        let Some(call) = call.get_value() else { return };
        match call.send_chat(&view.chat_draft.get_untracked()) {
            Ok(()) => {
                local_error.set(None);
                view.chat_draft.set(String::new());
            }
            Err(e) => local_error.set(Some(e)),
        }
    };
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        send();
    };
    let keydown = move |ev: leptos::ev::KeyboardEvent| {
        // Enter sends, Shift+Enter starts a new line.
        if ev.key() == "Enter" && !ev.shift_key() && !ev.is_composing() {
            ev.prevent_default();
            send();
        }
    };
    let close = move |_| {
        if let Some(call) = call.get_value() {
            call.set_panel(Panel::Closed);
        }
    };
    let me = move || view.me.get();

    view! {
        <section class="panel chat" aria-labelledby="chat-heading" data-testid="chat-panel">
            <header class="panel-header">
                <h2 id="chat-heading">{move || tr.t("chat-heading")}</h2>
                <button type="button" class="close" aria-label=move || tr.t("chat-close") on:click=close>"×"</button>
            </header>
            <Show when=move || view.chat.with(Vec::is_empty)>
                <p class="empty">{move || tr.t("chat-empty")}</p>
            </Show>
            <ol class="messages" node_ref=list>
                <For each=move || view.chat.get() key=|m| m.id let:message>
                    <MessageItem mine=me() == Some(message.from) message=message/>
                </For>
            </ol>
            {move || view.chat_error.get().map(|e| view! { <ErrorNotice error=e/> })}
            <form class="chat-form" on:submit=submit>
                <label for="chat-input" class="sr-only">{move || tr.t("chat-input-label")}</label>
                <textarea id="chat-input" data-testid="chat-input" rows="2" node_ref=input
                    maxlength=protocol::MAX_CHAT_CHARS.to_string()
                    placeholder=move || tr.t("chat-input-label")
                    aria-describedby="chat-error"
                    prop:value=move || view.chat_draft.get()
                    on:input=move |ev| view.chat_draft.set(event_target_value(&ev))
                    on:keydown=keydown></textarea>
                <button type="submit" class="primary" data-testid="chat-send">{move || tr.t("chat-send")}</button>
                <p id="chat-error" class="field-error" aria-live="polite">
                    {move || local_error.get().map(|e| match e {
                        ChatError::Empty => String::new(),
                        ChatError::TooLong => tr.t("error-invalid-chat"),
                    })}
                </p>
            </form>
        </section>
    }
}
