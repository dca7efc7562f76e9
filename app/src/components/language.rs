//! The language menus: the top bar's and the settings dialog's options.

use client::i18n::Locale;
use leptos::prelude::*;

use crate::i18n::Tr;

/// The language menu of the top bar: every language, each named in itself.
#[component]
pub fn LanguageSwitch(
    /// The texts handle.
    tr: Tr,
) -> impl IntoView {
    view! {
        <select class="lang" data-testid="language" aria-label=move || tr.t("settings-language")
            on:change=move |ev| {
                if let Some(locale) = Locale::from_tag(&event_target_value(&ev)) {
                    tr.set_locale(locale);
                }
            }>
            <LanguageOptions tr=tr/>
        </select>
    }
}

/// One `<option>` per language, the current one selected; for the top bar and the settings.
#[component]
pub fn LanguageOptions(
    /// The texts handle.
    tr: Tr,
) -> impl IntoView {
    Locale::ALL
        .into_iter()
        .map(|locale| {
            view! {
                <option value=locale.tag() lang=locale.tag() dir=locale.direction().attribute()
                    prop:selected=move || tr.locale() == locale>
                    {locale.name()}
                </option>
            }
        })
        .collect_view()
}
