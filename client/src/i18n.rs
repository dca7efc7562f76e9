//! The app's languages. Their messages are Project Fluent files, `locales/<tag>.ftl`: plurals by
//! each language's CLDR rules, variables such as `$name`, each variable wrapped in Unicode bidi
//! isolation marks (so a Latin name in Arabic text, or an Arabic name in German text, keeps its
//! own direction). The app fetches the file of the language in use and formats it with
//! `@fluent/bundle` (app/src/fluent.rs); the tests here read every file with the Rust
//! implementation of the same specification (`fluent-syntax`, `fluent-bundle`).

/// A language the app speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Locale {
    /// English, for everyone whose browser prefers none of the others.
    En,
    /// German.
    De,
    /// Turkish (awaiting review by native speakers, see docs/translations.md).
    Tr,
    /// Ukrainian (awaiting review by native speakers).
    Uk,
    /// Arabic, written right to left (awaiting review by native speakers).
    Ar,
}

/// Which way a language is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Left to right.
    Ltr,
    /// Right to left: the layout mirrors.
    Rtl,
}

impl Direction {
    /// The value of the HTML `dir` attribute.
    pub fn attribute(self) -> &'static str {
        match self {
            Self::Ltr => "ltr",
            Self::Rtl => "rtl",
        }
    }
}

impl Locale {
    /// Every locale, in the order the language menus list them.
    pub const ALL: [Locale; 5] = [Locale::De, Locale::En, Locale::Tr, Locale::Uk, Locale::Ar];

    /// The BCP 47 tag, for `<html lang>`.
    pub fn tag(self) -> &'static str {
        match self {
            Self::En => "en",
            Self::De => "de",
            Self::Tr => "tr",
            Self::Uk => "uk",
            Self::Ar => "ar",
        }
    }

    /// The language's name in itself, for the language menus.
    pub fn name(self) -> &'static str {
        match self {
            Self::En => "English",
            Self::De => "Deutsch",
            Self::Tr => "Türkçe",
            Self::Uk => "Українська",
            Self::Ar => "العربية",
        }
    }

    /// Which way the language is written.
    pub fn direction(self) -> Direction {
        match self {
            Self::Ar => Direction::Rtl,
            Self::En | Self::De | Self::Tr | Self::Uk => Direction::Ltr,
        }
    }

    /// Parses a tag such as `de-AT`; `None` for languages Treffpunkt does not speak.
    pub fn from_tag(tag: &str) -> Option<Self> {
        let primary = tag.split(['-', '_']).next().unwrap_or_default().to_ascii_lowercase();
        Self::ALL.into_iter().find(|l| l.tag() == primary)
    }

    /// Picks the first supported language of the browser's preference list
    /// (`navigator.languages`), English if none is supported.
    pub fn negotiate<'a>(preferred: impl IntoIterator<Item = &'a str>) -> Self {
        preferred.into_iter().find_map(Self::from_tag).unwrap_or(Self::En)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
pub(crate) mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use fluent_bundle::{FluentArgs, FluentBundle, FluentResource, FluentValue};
    use fluent_syntax::ast::{Entry, Expression, InlineExpression, Pattern, PatternElement};

    use super::*;

    fn source(locale: Locale) -> &'static str {
        match locale {
            Locale::En => include_str!("../locales/en.ftl"),
            Locale::De => include_str!("../locales/de.ftl"),
            Locale::Tr => include_str!("../locales/tr.ftl"),
            Locale::Uk => include_str!("../locales/uk.ftl"),
            Locale::Ar => include_str!("../locales/ar.ftl"),
        }
    }

    /// The messages of one locale, formatted by the Rust implementation of Fluent.
    pub(crate) struct Texts {
        bundle: FluentBundle<FluentResource>,
    }

    impl Texts {
        pub(crate) fn new(locale: Locale) -> Self {
            let resource = FluentResource::try_new(source(locale).to_owned()).unwrap();
            let language: unic_langid::LanguageIdentifier = locale.tag().parse().unwrap();
            let mut bundle = FluentBundle::new(vec![language]);
            bundle.add_resource(resource).unwrap();
            Self { bundle }
        }

        pub(crate) fn has(&self, id: &str) -> bool {
            self.bundle.has_message(id)
        }

        fn format_with(&self, id: &str, args: Option<&FluentArgs<'_>>) -> String {
            let pattern = self.bundle.get_message(id).and_then(|m| m.value()).unwrap();
            let mut errors = Vec::new();
            let text = self.bundle.format_pattern(pattern, args, &mut errors).into_owned();
            assert!(errors.is_empty(), "{id}: {errors:?}");
            text
        }

        fn format(&self, id: &str, args: &[(&str, &str)]) -> String {
            let mut fluent = FluentArgs::new();
            for (name, value) in args {
                fluent.set(*name, FluentValue::from(*value));
            }
            self.format_with(id, Some(&fluent))
        }

        fn count(&self, id: &str, count: u64) -> String {
            let mut fluent = FluentArgs::new();
            fluent.set("count", FluentValue::from(count));
            self.format_with(id, Some(&fluent))
        }
    }

    /// Removes the bidi isolation marks Fluent puts around every variable.
    fn plain(text: String) -> String {
        text.replace(['\u{2068}', '\u{2069}'], "")
    }

    fn variables_of_pattern(pattern: &Pattern<&str>, out: &mut BTreeSet<String>) {
        for element in &pattern.elements {
            if let PatternElement::Placeable { expression } = element {
                variables_of_expression(expression, out);
            }
        }
    }

    fn variables_of_expression(expression: &Expression<&str>, out: &mut BTreeSet<String>) {
        match expression {
            Expression::Select { selector, variants } => {
                variables_of_inline(selector, out);
                for variant in variants {
                    variables_of_pattern(&variant.value, out);
                }
            }
            Expression::Inline(inline) => variables_of_inline(inline, out),
        }
    }

    fn variables_of_inline(inline: &InlineExpression<&str>, out: &mut BTreeSet<String>) {
        match inline {
            InlineExpression::VariableReference { id } => {
                out.insert(id.name.to_owned());
            }
            InlineExpression::FunctionReference { arguments, .. } => {
                for argument in &arguments.positional {
                    variables_of_inline(argument, out);
                }
                for argument in &arguments.named {
                    variables_of_inline(&argument.value, out);
                }
            }
            InlineExpression::Placeable { expression } => variables_of_expression(expression, out),
            _ => {}
        }
    }

    /// Each message of a locale file with the variables it uses; fails on any syntax error,
    /// on a message without a value and on an id given twice.
    fn messages(locale: Locale) -> BTreeMap<String, BTreeSet<String>> {
        let resource = FluentResource::try_new(source(locale).to_owned())
            .unwrap_or_else(|(_, errors)| panic!("{locale:?}: {errors:?}"));
        let mut out = BTreeMap::new();
        for entry in resource.entries() {
            match entry {
                Entry::Message(m) => {
                    let value = m
                        .value
                        .as_ref()
                        .unwrap_or_else(|| panic!("{locale:?}: {} has no text", m.id.name));
                    let mut variables = BTreeSet::new();
                    variables_of_pattern(value, &mut variables);
                    assert!(
                        out.insert(m.id.name.to_owned(), variables).is_none(),
                        "{locale:?}: {} twice",
                        m.id.name
                    );
                }
                Entry::Junk { content } => panic!("{locale:?}: does not parse: {content}"),
                _ => {}
            }
        }
        out
    }

    #[test]
    fn every_language_has_every_message_with_the_same_variables() {
        let english = messages(Locale::En);
        assert!(english.len() > 200, "en.ftl has {} messages", english.len());
        for locale in Locale::ALL {
            let theirs = messages(locale);
            let missing: Vec<_> = english.keys().filter(|id| !theirs.contains_key(*id)).collect();
            let extra: Vec<_> = theirs.keys().filter(|id| !english.contains_key(*id)).collect();
            assert!(missing.is_empty(), "{locale:?} lacks {missing:?}");
            assert!(extra.is_empty(), "{locale:?} has messages English has not: {extra:?}");
            for (id, variables) in &english {
                assert_eq!(&theirs[id], variables, "{locale:?}: the variables of {id}");
            }
        }
    }

    #[test]
    fn every_message_formats_without_errors_in_every_language() {
        for locale in Locale::ALL {
            let texts = Texts::new(locale);
            for (id, variables) in messages(locale) {
                let mut args = FluentArgs::new();
                for variable in &variables {
                    if variable == "count" {
                        args.set(variable.as_str(), FluentValue::from(3));
                    } else {
                        args.set(variable.as_str(), FluentValue::from("Anna"));
                    }
                }
                let message = texts.bundle.get_message(&id).unwrap();
                let mut errors = Vec::new();
                let text =
                    texts.bundle.format_pattern(message.value().unwrap(), Some(&args), &mut errors);
                assert!(errors.is_empty(), "{locale:?} {id}: {errors:?}");
                assert!(!text.trim().is_empty(), "{locale:?} {id} is empty");
            }
        }
    }

    #[test]
    fn counts_take_the_plural_form_of_each_language() {
        let en = Texts::new(Locale::En);
        assert_eq!(plain(en.count("meeting-participants", 1)), "1 participant");
        assert_eq!(plain(en.count("meeting-participants", 2)), "2 participants");
        let de = Texts::new(Locale::De);
        assert_eq!(plain(de.count("meeting-listeners", 1)), "1 hört zu");
        assert_eq!(plain(de.count("meeting-listeners", 7)), "7 hören zu");
        assert_eq!(plain(de.count("meeting-participants", 1)), "1 Person");
        let tr = Texts::new(Locale::Tr);
        assert_eq!(plain(tr.count("meeting-participants", 1)), "1 katılımcı");
        assert_eq!(plain(tr.count("meeting-participants", 5)), "5 katılımcı");
        // Ukrainian: one (1, 21), few (2–4, 22), many (5–20, 25).
        let uk = Texts::new(Locale::Uk);
        assert_eq!(plain(uk.count("meeting-participants", 1)), "1 учасник");
        assert_eq!(plain(uk.count("meeting-participants", 3)), "3 учасники");
        assert_eq!(plain(uk.count("meeting-participants", 5)), "5 учасників");
        assert_eq!(plain(uk.count("meeting-participants", 21)), "21 учасник");
        assert_eq!(plain(uk.count("meeting-participants", 22)), "22 учасники");
        // Arabic: zero, one, two, few (3–10), many (11–99), other (100).
        let ar = Texts::new(Locale::Ar);
        let forms: Vec<_> = [0, 1, 2, 3, 11, 100]
            .iter()
            .map(|n| plain(ar.count("meeting-participants", *n)))
            .collect();
        assert_eq!(
            forms.iter().collect::<BTreeSet<_>>().len(),
            6,
            "six different Arabic forms: {forms:?}"
        );
        assert_eq!(forms[1], "مشارك واحد");
        assert_eq!(forms[2], "مشاركان");
    }

    #[test]
    fn variables_are_isolated_so_names_keep_their_direction() {
        let ar = Texts::new(Locale::Ar);
        let text = ar.format("announce-joined", &[("name", "Anna")]);
        assert!(text.contains("\u{2068}Anna\u{2069}"), "{text:?}");
        let de = Texts::new(Locale::De);
        assert_eq!(
            plain(de.format("announce-joined", &[("name", "Anna")])),
            "Anna ist der Besprechung beigetreten."
        );
    }

    #[test]
    fn browser_languages_pick_the_locale() {
        assert_eq!(Locale::negotiate(["de-DE", "en"]), Locale::De);
        assert_eq!(Locale::negotiate(["fr-FR", "de-AT"]), Locale::De);
        assert_eq!(Locale::negotiate(["en-GB", "de"]), Locale::En);
        assert_eq!(Locale::negotiate(["tr-TR", "de"]), Locale::Tr);
        assert_eq!(Locale::negotiate(["uk", "ru"]), Locale::Uk);
        assert_eq!(Locale::negotiate(["ar-SY"]), Locale::Ar);
        assert_eq!(Locale::negotiate(["fr", "it"]), Locale::En);
        assert_eq!(Locale::negotiate([]), Locale::En);
        assert_eq!(Locale::Ar.direction(), Direction::Rtl);
        assert_eq!(Locale::Uk.direction(), Direction::Ltr);
    }
}
