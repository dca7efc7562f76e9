//! What the page's link asks for: `/?room=NAME&name=DISPLAY&autojoin=1&mic=0&cam=0`.

/// The parameters of a room link.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LinkParams {
    /// The room to open; `None` shows the start page.
    pub room: Option<String>,
    /// Pre-filled display name.
    pub name: Option<String>,
    /// Asks to skip the pre-join screen; honoured only for rooms this browser joined before
    /// (see [`LinkParams::skips_prejoin`]).
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
        // From text, not bytes: the app then carries one JSON reader, not two.
        let json = std::str::from_utf8(&json).ok()?;
        serde_json::from_str::<Payload>(json).ok().map(|p| p.role)
    }

    /// Whether the link makes its holder a listener (no camera, no microphone).
    pub fn listener(&self) -> bool {
        self.link_role() == Some(protocol::Role::Listener)
    }

    /// Whether the page goes straight into the meeting, without the pre-join screen: the link
    /// asks for it (`autojoin=1` and a name), and this browser has joined the room before.
    ///
    /// Why not every `autojoin` link: a link is anyone's to make. A stranger's page could send a
    /// pupil who once allowed camera and microphone on this site, with `autojoin=1`, live into
    /// the stranger's room. Why not signed invitations either: the page cannot check a
    /// signature (the relay has the secret), and a relay without a link secret ignores the token,
    /// so any text in `link=` would pass. The pre-join screen shows room and name and waits for
    /// one click; from the second visit on, a kiosk or a class's bookmark goes straight in.
    pub fn skips_prejoin(&self, joined: &JoinedRooms) -> bool {
        self.autojoin
            && self.name.is_some()
            && self.room.as_deref().is_some_and(|room| joined.contains(room))
    }
}

/// The rooms this browser has joined, most recent first, as the page keeps them in its local
/// storage (only on this device, only for this site). Bounded: the oldest fall off.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct JoinedRooms(Vec<String>);

impl JoinedRooms {
    /// The local storage key.
    pub const STORAGE_KEY: &'static str = "treffpunkt.joined-rooms";
    /// How many rooms are kept.
    pub const MAX: usize = 50;
    /// Room names longer than this are not kept (the relay refuses them anyway).
    const MAX_NAME_BYTES: usize = 256;

    /// Reads the stored form (a JSON list of names); anything unreadable counts as no room, so a
    /// damaged entry costs one extra click, never a page that does not open.
    pub fn parse(stored: Option<&str>) -> Self {
        let mut rooms: Vec<String> =
            stored.and_then(|text| serde_json::from_str(text).ok()).unwrap_or_default();
        rooms.retain(|room| room.len() <= Self::MAX_NAME_BYTES);
        rooms.truncate(Self::MAX);
        Self(rooms)
    }

    /// Whether `room` was joined before.
    pub fn contains(&self, room: &str) -> bool {
        self.0.iter().any(|r| r == room)
    }

    /// Notes that `room` was joined now.
    pub fn remember(&mut self, room: &str) {
        if room.len() > Self::MAX_NAME_BYTES {
            return;
        }
        self.0.retain(|r| r != room);
        self.0.insert(0, room.to_owned());
        self.0.truncate(Self::MAX);
    }

    /// The stored form.
    pub fn to_stored(&self) -> String {
        serde_json::to_string(&self.0).unwrap_or_default()
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
    fn autojoin_skips_the_prejoin_screen_only_for_rooms_joined_before() {
        let link = LinkParams::from_pairs([("room", "rat"), ("name", "Eve"), ("autojoin", "1")]);
        let mut joined = JoinedRooms::parse(None);
        assert!(!link.skips_prejoin(&joined), "a stranger's link must not put anyone live");
        joined.remember("klasse-7b");
        assert!(!link.skips_prejoin(&joined));
        joined.remember("rat");
        assert!(link.skips_prejoin(&joined));
        // The page still needs a name, and the link must ask.
        let nameless = LinkParams::from_pairs([("room", "rat"), ("autojoin", "1")]);
        assert!(!nameless.skips_prejoin(&joined));
        let plain = LinkParams::from_pairs([("room", "rat"), ("name", "Eve")]);
        assert!(!plain.skips_prejoin(&joined));
        // A token in the link proves nothing to the page.
        let signed = LinkParams::from_pairs([
            ("room", "fremd"),
            ("name", "Eve"),
            ("autojoin", "1"),
            ("link", "v1.eyJyIjoiZnJlbWQifQ.x"),
        ]);
        assert!(!signed.skips_prejoin(&joined));
    }

    #[test]
    fn joined_rooms_survive_storage_and_stay_bounded() {
        let mut joined = JoinedRooms::default();
        for i in 0..(JoinedRooms::MAX + 10) {
            joined.remember(&format!("raum-{i}"));
        }
        joined.remember("raum-20");
        let again = JoinedRooms::parse(Some(&joined.to_stored()));
        assert_eq!(again, joined);
        assert_eq!(again.0.len(), JoinedRooms::MAX);
        assert_eq!(again.0[0], "raum-20", "the most recent comes first, once");
        assert!(!again.contains("raum-0"), "the oldest fall off");
        assert!(again.contains(&format!("raum-{}", JoinedRooms::MAX + 9)));
        joined.remember(&"x".repeat(1000));
        assert!(!joined.contains(&"x".repeat(1000)));
        for damaged in ["", "{", "[1,2]", "\"null\"", "{\"rooms\":[]}"] {
            assert_eq!(JoinedRooms::parse(Some(damaged)), JoinedRooms::default(), "{damaged}");
        }
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
