//! What the page's link asks for: `/?room=NAME&name=DISPLAY&autojoin=1&mic=0&cam=0`.

/// The parameters of a room link.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LinkParams {
    /// The room to open; `None` shows the start page.
    pub room: Option<String>,
    /// Pre-filled display name.
    pub name: Option<String>,
    /// Skip the pre-join screen.
    pub autojoin: bool,
    /// Join with the microphone on (default) or off (`mic=0`).
    pub mic: bool,
    /// Join with the camera on (default) or off (`cam=0`).
    pub cam: bool,
    /// A signed invitation (`link=`), which relays with a link secret require.
    pub link: Option<String>,
}

fn flag(value: &str) -> Option<bool> {
    match value.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Some(true),
        "0" | "false" | "no" | "off" => Some(false),
        _ => None,
    }
}

impl LinkParams {
    /// Reads decoded query pairs (as `URLSearchParams` yields them). Unknown keys and unreadable
    /// values are ignored, so an old link never breaks the page.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let mut params = Self { mic: true, cam: true, ..Self::default() };
        for (key, value) in pairs {
            match key {
                "room" if !value.trim().is_empty() => params.room = Some(value.trim().to_owned()),
                "name" if !value.trim().is_empty() => params.name = Some(value.trim().to_owned()),
                "autojoin" => params.autojoin = flag(value).unwrap_or(params.autojoin),
                "mic" => params.mic = flag(value).unwrap_or(params.mic),
                "cam" => params.cam = flag(value).unwrap_or(params.cam),
                "link" if !value.trim().is_empty() => params.link = Some(value.trim().to_owned()),
                _ => {}
            }
        }
        params
    }

    /// The role the invitation link gives, read from its payload without checking the
    /// signature (the relay checks it). The page uses it only to skip camera and microphone for
    /// a listener link; the relay decides the role.
    pub fn link_role(&self) -> Option<protocol::Role> {
        use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
        #[derive(serde::Deserialize)]
        struct Payload {
            role: protocol::Role,
        }
        let mut parts = self.link.as_deref()?.split('.');
        let (Some("v1"), Some(payload)) = (parts.next(), parts.next()) else { return None };
        let json = URL_SAFE_NO_PAD.decode(payload).ok()?;
        serde_json::from_slice::<Payload>(&json).ok().map(|p| p.role)
    }

    /// Whether the link makes its holder a listener (no camera, no microphone).
    pub fn listener(&self) -> bool {
        self.link_role() == Some(protocol::Role::Listener)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn defaults() {
        let p = LinkParams::from_pairs([("room", "demo")]);
        assert_eq!(p.room.as_deref(), Some("demo"));
        assert!(p.mic && p.cam && !p.autojoin);
        assert_eq!(p.name, None);
    }

    #[test]
    fn all_parameters() {
        let p = LinkParams::from_pairs([
            ("room", "rat"),
            ("name", " Anna Müller "),
            ("autojoin", "1"),
            ("mic", "0"),
            ("cam", "false"),
            ("utm_source", "x"),
        ]);
        assert_eq!(p.name.as_deref(), Some("Anna Müller"));
        assert!(p.autojoin && !p.mic && !p.cam);
    }

    #[test]
    fn junk_values_keep_defaults() {
        let p = LinkParams::from_pairs([("room", "  "), ("mic", "maybe"), ("autojoin", "")]);
        assert_eq!(p.room, None);
        assert!(p.mic && !p.autojoin);
    }

    #[test]
    fn a_listener_link_is_recognised_without_its_secret() {
        use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
        let token = |json: &str| format!("v1.{}.c2lnbmF0dXJl", URL_SAFE_NO_PAD.encode(json));
        let listener = token(r#"{"r":"rat","role":"listener","exp":1}"#);
        let p = LinkParams::from_pairs([("room", "rat"), ("link", listener.as_str())]);
        assert!(p.listener());
        let host = token(r#"{"r":"rat","role":"host","exp":1}"#);
        let p = LinkParams::from_pairs([("room", "rat"), ("link", host.as_str())]);
        assert_eq!(p.link_role(), Some(protocol::Role::Host));
        for broken in ["", "v1", "v1.!!!.x", "v2.eyJyb2xlIjoibGlzdGVuZXIifQ.x", "v1.bm90IGpzb24.x"]
        {
            let p = LinkParams::from_pairs([("room", "rat"), ("link", broken)]);
            assert!(!p.listener(), "{broken}");
        }
    }
}
