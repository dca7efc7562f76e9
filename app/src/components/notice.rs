//! An error sentence, optionally with buttons to act on it.

use client::errors::UserError;
use leptos::prelude::*;

use crate::i18n::Tr;

/// Shows `error` as a sentence in the current language, in an alert region.
#[component]
pub fn ErrorNotice(
    /// The problem.
    error: UserError,
    /// Extra buttons ("Try again", "Join without ...").
    #[prop(optional)]
    children: Option<Children>,
) -> impl IntoView {
    let tr = Tr::use_context();
    let key = error.message_key();
    let detail = error.detail().to_owned();
    view! {
        <div class="notice" role="alert" data-testid="error" data-error=key>
            <p>{move || tr.f(key, &[("detail", &detail)])}</p>
            {children.map(|c| view! { <div class="notice-actions">{c()}</div> })}
        </div>
    }
}
