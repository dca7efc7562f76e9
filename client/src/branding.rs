//! A town's look: the title, logo and accent colour a deployment puts into `config.json` (or the
//! relay puts there for a tenant's host). Anything that is not what it should be is left out, so
//! a broken file shows Treffpunkt's own look rather than a broken page.

use protocol::Look;

/// Longest title shown, in characters.
const MAX_TITLE_CHARS: usize = 60;

/// The look to show, checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Branding {
    /// The name in the top bar and the window title; `None`: "Treffpunkt".
    pub title: Option<String>,
    /// The logo's address, if there is a usable one.
    pub logo: Option<String>,
    /// The accent colour and the colour of text on it (dark or white, whichever reads better).
    pub accent: Option<(String, &'static str)>,
}

impl Branding {
    /// What of `look` can be shown.
    pub fn of(look: &Look) -> Self {
        let title = look
            .title
            .as_deref()
            .map(|t| t.split_whitespace().collect::<Vec<_>>().join(" "))
            .filter(|t| !t.is_empty())
            .map(|t| t.chars().take(MAX_TITLE_CHARS).collect());
        let logo = look.logo.clone().filter(|l| {
            (l.starts_with('/') && !l.starts_with("//")) || l.starts_with("data:image/")
        });
        let accent = look
            .accent
            .as_deref()
            .and_then(parse_hex)
            .map(|rgb| (format!("#{:02x}{:02x}{:02x}", rgb[0], rgb[1], rgb[2]), text_on(rgb)));
        Branding { title, logo, accent }
    }
}

/// `#rrggbb` as its three channels.
fn parse_hex(text: &str) -> Option<[u8; 3]> {
    let hex = text.strip_prefix('#').filter(|h| h.len() == 6 && h.is_ascii())?;
    let channel = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).ok();
    Some([channel(0)?, channel(2)?, channel(4)?])
}

/// Dark text on light accents, white on dark ones: whichever contrasts more (WCAG's relative
/// luminance; the app's own dark text is #0b0d12).
fn text_on(rgb: [u8; 3]) -> &'static str {
    let linear = |c: u8| {
        let c = f64::from(c) / 255.0;
        if c <= 0.03928 { c / 12.92 } else { ((c + 0.055) / 1.055).powf(2.4) }
    };
    let l = 0.2126 * linear(rgb[0]) + 0.7152 * linear(rgb[1]) + 0.0722 * linear(rgb[2]);
    let dark = 0.0044; // #0b0d12
    let with_dark = (l + 0.05) / (dark + 0.05);
    let with_white = 1.05 / (l + 0.05);
    if with_dark >= with_white { "#0b0d12" } else { "#ffffff" }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn settings(json: &str) -> Branding {
        Branding::of(&serde_json::from_str::<Look>(json).unwrap())
    }

    #[test]
    fn a_towns_look_is_taken_and_text_stays_readable() {
        let look = settings(
            r##"{"relay": null, "title": "  Musterhausen   trifft sich ", "logo": "/brand/m.svg", "accent": "#0A6E4F"}"##,
        );
        assert_eq!(look.title.as_deref(), Some("Musterhausen trifft sich"));
        assert_eq!(look.logo.as_deref(), Some("/brand/m.svg"));
        // A dark green takes white text; Treffpunkt's light blue keeps dark text.
        assert_eq!(look.accent, Some(("#0a6e4f".into(), "#ffffff")));
        assert_eq!(settings(r##"{"accent": "#4c8dff"}"##).accent.map(|a| a.1), Some("#0b0d12"));
        assert_eq!(settings(r##"{"accent": "#ffd479"}"##).accent.map(|a| a.1), Some("#0b0d12"));
    }

    #[test]
    fn what_is_not_right_is_left_out() {
        assert_eq!(settings("{}"), Branding::default());
        let bad = settings(
            r##"{"title": "   ", "logo": "https://tracker.example/pixel.gif", "accent": "red"}"##,
        );
        assert_eq!(bad, Branding::default());
        assert_eq!(settings(r#"{"logo": "//cdn.example/l.svg"}"#).logo, None);
        assert_eq!(settings(r##"{"accent": "#12345g"}"##).accent, None);
        assert_eq!(settings(r##"{"accent": "#ééé"}"##).accent, None);
        let long = settings(&format!(r#"{{"title": "{}"}}"#, "x".repeat(200)));
        assert_eq!(long.title.map(|t| t.chars().count()), Some(MAX_TITLE_CHARS));
    }
}
