//! German and English texts, from `locales/*.json`, with `{name}`-style placeholders.

use std::collections::BTreeMap;

/// A language the app speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Locale {
    /// English, for everyone whose browser does not prefer German.
    En,
    /// German.
    De,
}

impl Locale {
    /// Every locale, for tests and the language switch.
    pub const ALL: [Locale; 2] = [Locale::En, Locale::De];

    /// The BCP 47 tag, for `<html lang>`.
    pub fn tag(self) -> &'static str {
        match self {
            Self::En => "en",
            Self::De => "de",
        }
    }

    /// Parses a tag such as `de-AT`; `None` for languages Treffpunkt does not speak.
    pub fn from_tag(tag: &str) -> Option<Self> {
        let primary = tag.split(['-', '_']).next().unwrap_or_default().to_ascii_lowercase();
        match primary.as_str() {
            "de" => Some(Self::De),
            "en" => Some(Self::En),
            _ => None,
        }
    }

    /// Picks the first supported language of the browser's preference list
    /// (`navigator.languages`), English if none is supported.
    pub fn negotiate<'a>(preferred: impl IntoIterator<Item = &'a str>) -> Self {
        preferred.into_iter().find_map(Self::from_tag).unwrap_or(Self::En)
    }

    fn source(self) -> &'static str {
        match self {
            Self::En => include_str!("../locales/en.json"),
            Self::De => include_str!("../locales/de.json"),
        }
    }
}

/// The texts of one locale.
#[derive(Debug, Clone)]
pub struct Texts {
    /// Which locale these are.
    locale: Locale,
    /// Key to text.
    texts: BTreeMap<String, String>,
}

impl Texts {
    /// Loads the texts of `locale`. A broken locale file (caught by the tests) yields no texts,
    /// so every lookup shows its key instead of crashing the app.
    pub fn new(locale: Locale) -> Self {
        let texts = serde_json::from_str(locale.source()).unwrap_or_default();
        Self { locale, texts }
    }

    /// The locale.
    pub fn locale(&self) -> Locale {
        self.locale
    }

    /// Whether `key` exists.
    pub fn has(&self, key: &str) -> bool {
        self.texts.contains_key(key)
    }

    /// The text for `key`, or the key itself if it is missing.
    pub fn get(&self, key: &str) -> String {
        self.texts.get(key).cloned().unwrap_or_else(|| key.to_owned())
    }

    /// The text for `key` with each `{placeholder}` replaced.
    pub fn format(&self, key: &str, args: &[(&str, &str)]) -> String {
        let mut text = self.get(key);
        for (name, value) in args {
            text = text.replace(&format!("{{{name}}}"), value);
        }
        text
    }

    /// Every key, for tests.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.texts.keys().map(String::as_str)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn placeholders(text: &str) -> Vec<&str> {
        text.match_indices('{')
            .filter_map(|(start, _)| {
                text[start..].find('}').map(|len| &text[start..start + len + 1])
            })
            .collect()
    }

    #[test]
    fn locale_files_parse_and_have_the_same_keys() {
        let en = Texts::new(Locale::En);
        let de = Texts::new(Locale::De);
        assert!(en.keys().count() > 20, "en.json did not parse");
        let en_keys: Vec<_> = en.keys().collect();
        let de_keys: Vec<_> = de.keys().collect();
        assert_eq!(en_keys, de_keys, "en.json and de.json must have the same keys");
        for key in en_keys {
            assert!(
                !en.get(key).trim().is_empty() && !de.get(key).trim().is_empty(),
                "{key} empty"
            );
            assert_eq!(
                placeholders(&en.get(key)),
                placeholders(&de.get(key)),
                "placeholders of {key}"
            );
        }
    }

    #[test]
    fn browser_languages_pick_the_locale() {
        assert_eq!(Locale::negotiate(["de-DE", "en"]), Locale::De);
        assert_eq!(Locale::negotiate(["fr-FR", "de-AT"]), Locale::De);
        assert_eq!(Locale::negotiate(["en-GB", "de"]), Locale::En);
        assert_eq!(Locale::negotiate(["fr", "it"]), Locale::En);
        assert_eq!(Locale::negotiate([]), Locale::En);
    }

    #[test]
    fn placeholders_are_filled() {
        let de = Texts::new(Locale::De);
        assert_eq!(
            de.format("announce.joined", &[("name", "Anna")]),
            "Anna ist der Besprechung beigetreten."
        );
        assert_eq!(de.get("no.such.key"), "no.such.key");
    }
}
