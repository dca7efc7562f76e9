//! The current language as a reactive context: its Project Fluent messages
//! (`locales/<tag>.ftl`, fetched for the language in use) formatted by `@fluent/bundle`.

use client::i18n::Locale;
use leptos::prelude::*;

use crate::fluent::{Arg, Bundle};

const STORAGE_KEY: &str = "treffpunkt.locale";

/// Handle to the current texts; `Copy`, so views capture it freely.
#[derive(Clone, Copy)]
pub struct Tr {
    /// The language whose messages `bundle` holds.
    locale: RwSignal<Locale>,
    /// Its messages; `None` until the first file has loaded (or if none could).
    bundle: RwSignal<Option<Bundle>, LocalStorage>,
    /// The first language has loaded, or could not be loaded at all: the app can show itself.
    ready: RwSignal<bool>,
    /// The language asked for last: a slower earlier request must not win over it.
    wanted: RwSignal<Locale>,
}

impl Tr {
    /// Picks the remembered locale, else the browser's preference, provides it as context and
    /// starts loading its messages.
    pub fn provide() -> Self {
        let remembered = crate::js::storage_get(STORAGE_KEY).and_then(|t| Locale::from_tag(&t));
        let locale = remembered.unwrap_or_else(|| {
            let languages = crate::js::window().navigator().languages();
            let tags: Vec<String> = languages.iter().filter_map(|v| v.as_string()).collect();
            Locale::negotiate(tags.iter().map(String::as_str))
        });
        let tr = Self {
            locale: RwSignal::new(locale),
            bundle: RwSignal::new_local(None),
            ready: RwSignal::new(false),
            wanted: RwSignal::new(locale),
        };
        provide_context(tr);
        tr.load(locale);
        tr
    }

    /// The handle provided by [`Tr::provide`] (one that shows message ids if there is none).
    pub fn use_context() -> Self {
        use_context::<Self>().unwrap_or_else(|| Self {
            locale: RwSignal::new(Locale::En),
            bundle: RwSignal::new_local(None),
            ready: RwSignal::new(true),
            wanted: RwSignal::new(Locale::En),
        })
    }

    /// Whether the app can show itself: the first language's messages are there (or could
    /// not be had, and message ids show instead).
    pub fn ready(&self) -> bool {
        self.ready.get()
    }

    fn format(&self, key: &str, args: &[(&str, Arg<'_>)], track: bool) -> String {
        let format = |b: &Option<Bundle>| b.as_ref().and_then(|b| b.format(key, args));
        let text = if track {
            self.bundle.try_with(format)
        } else {
            self.bundle.try_with_untracked(format)
        };
        text.flatten().unwrap_or_else(|| key.to_owned())
    }

    /// The text for `key` (reactive).
    pub fn t(&self, key: &str) -> String {
        self.format(key, &[], true)
    }

    /// The text for `key` with its text variables filled (reactive).
    pub fn f(&self, key: &str, args: &[(&str, &str)]) -> String {
        let args: Vec<_> = args.iter().map(|(name, value)| (*name, Arg::Text(value))).collect();
        self.format(key, &args, true)
    }

    /// The text for `key` whose `$count` picks the language's plural form (reactive).
    pub fn count(&self, key: &str, count: u64) -> String {
        self.format(key, &[("count", Arg::Number(count as f64))], true)
    }

    /// The text for `key` with placeholders filled, without subscribing (for event handlers).
    pub fn f_untracked(&self, key: &str, args: &[(&str, &str)]) -> String {
        let args: Vec<_> = args.iter().map(|(name, value)| (*name, Arg::Text(value))).collect();
        self.format(key, &args, false)
    }

    /// The current locale (reactive).
    pub fn locale(&self) -> Locale {
        self.locale.get()
    }

    /// Switches and remembers the language; the texts change once its messages are there.
    pub fn set_locale(&self, locale: Locale) {
        crate::js::storage_set(STORAGE_KEY, locale.tag());
        self.load(locale);
    }

    /// Fetches and applies `locale`'s messages; English if they cannot be had on the first
    /// load.
    fn load(&self, locale: Locale) {
        let tr = *self;
        tr.wanted.set(locale);
        leptos::task::spawn_local(async move {
            let mut bundle = fetch_bundle(locale).await.map(|b| (locale, b));
            let first = !tr.ready.get_untracked();
            if bundle.is_none() && first && locale != Locale::En {
                bundle = fetch_bundle(Locale::En).await.map(|b| (Locale::En, b));
            }
            // A later request decides; the app may also be gone by now.
            if tr.wanted.try_get_untracked() != Some(locale) {
                return;
            }
            if let Some((shown, bundle)) = bundle {
                set_document_lang(shown);
                tr.bundle.try_set(Some(bundle));
                tr.locale.try_set(shown);
            }
            tr.ready.try_set(true);
        });
    }
}

/// The messages of `locale`, from `locales/<tag>.ftl` beside the app.
async fn fetch_bundle(locale: Locale) -> Option<Bundle> {
    let source = crate::js::fetch_text(&format!("locales/{}.ftl", locale.tag())).await?;
    Bundle::parse(locale.tag(), &source)
}

/// Sets `<html lang dir>`: screen readers pick their voice by `lang`, and `dir="rtl"` mirrors
/// the whole layout for Arabic (the style sheet uses logical properties throughout).
fn set_document_lang(locale: Locale) {
    if let Some(root) = crate::js::window().document().and_then(|d| d.document_element()) {
        let _ = root.set_attribute("lang", locale.tag());
        let _ = root.set_attribute("dir", locale.direction().attribute());
    }
}
