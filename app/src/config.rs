//! Where the relay is: `config.json` next to `index.html`, or else the page's own origin.

use crate::js::window;

/// The deployment's settings for the app, from `config.json`.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct AppConfig {
    /// The relay's WebSocket URL, e.g. `wss://meet.example.org/ws`. Missing or null means the
    /// origin that served the page.
    #[serde(default)]
    pub relay: Option<String>,
    /// The town's title, logo and accent colour, if it has its own.
    #[serde(flatten)]
    pub look: protocol::Look,
}

impl AppConfig {
    /// Loads `config.json`; any failure (missing file, bad JSON) falls back to the defaults, so a
    /// static host without the file still works.
    pub async fn load() -> Self {
        let text = crate::js::fetch_text("config.json").await;
        text.and_then(|t| serde_json::from_str(&t).ok()).unwrap_or_default()
    }

    /// The WebSocket URL of the relay.
    pub fn relay_url(&self) -> String {
        if let Some(url) = self.relay.as_ref().filter(|u| !u.is_empty()) {
            return url.clone();
        }
        let location = window().location();
        let secure = location.protocol().map(|p| p == "https:").unwrap_or(false);
        let host = location.host().unwrap_or_default();
        format!("{}://{host}{}", if secure { "wss" } else { "ws" }, protocol::WEBSOCKET_PATH)
    }
}
