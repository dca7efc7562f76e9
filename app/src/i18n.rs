//! The current language as a reactive context.

use client::i18n::{Locale, Texts};
use leptos::prelude::*;

const STORAGE_KEY: &str = "treffpunkt.locale";

/// Handle to the current texts; `Copy`, so views capture it freely.
#[derive(Clone, Copy)]
pub struct Tr {
    /// The texts of the chosen locale.
    texts: RwSignal<Texts>,
}

impl Tr {
    /// Picks the remembered locale, else the browser's preference, and provides it as context.
    pub fn provide() -> Self {
        let remembered = crate::js::storage_get(STORAGE_KEY).and_then(|t| Locale::from_tag(&t));
        let locale = remembered.unwrap_or_else(|| {
            let languages = crate::js::window().navigator().languages();
            let tags: Vec<String> = languages.iter().filter_map(|v| v.as_string()).collect();
            Locale::negotiate(tags.iter().map(String::as_str))
        });
        let tr = Self { texts: RwSignal::new(Texts::new(locale)) };
        set_document_lang(locale);
        provide_context(tr);
        tr
    }

    /// The handle provided by [`Tr::provide`].
    pub fn use_context() -> Self {
        use_context::<Self>()
            .unwrap_or_else(|| Self { texts: RwSignal::new(Texts::new(Locale::En)) })
    }

    /// The text for `key` (reactive).
    pub fn t(&self, key: &str) -> String {
        self.texts.with(|t| t.get(key))
    }

    /// The text for `key` with placeholders filled (reactive).
    pub fn f(&self, key: &str, args: &[(&str, &str)]) -> String {
        self.texts.with(|t| t.format(key, args))
    }

    /// The text for `key` whose `$count` picks the language's plural form (reactive).
    pub fn count(&self, key: &str, count: u64) -> String {
        self.texts.with(|t| t.count(key, count))
    }

    /// The text for `key` with placeholders filled, without subscribing (for event handlers).
    pub fn f_untracked(&self, key: &str, args: &[(&str, &str)]) -> String {
        self.texts.with_untracked(|t| t.format(key, args))
    }

    /// The current locale (reactive).
    pub fn locale(&self) -> Locale {
        self.texts.with(|t| t.locale())
    }

    /// Switches and remembers the language.
    pub fn set_locale(&self, locale: Locale) {
        crate::js::storage_set(STORAGE_KEY, locale.tag());
        set_document_lang(locale);
        self.texts.set(Texts::new(locale));
    }
}

/// Sets `<html lang dir>`: screen readers pick their voice by `lang`, and `dir="rtl"` mirrors
/// the whole layout for Arabic (the style sheet uses logical properties throughout).
fn set_document_lang(locale: Locale) {
    if let Some(root) = crate::js::window().document().and_then(|d| d.document_element()) {
        let _ = root.set_attribute("lang", locale.tag());
        let _ = root.set_attribute("dir", locale.direction().attribute());
    }
}
