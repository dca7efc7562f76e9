//! A town's look in the app: the keys of `config.json` besides the relay's address, written by
//! the relay for a tenant's host (or by hand on a static host) and read by the app.

use serde::{Deserialize, Serialize};

/// Title, logo and accent colour; each optional, the app's own where missing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Look {
    /// What the app calls itself (instead of "Treffpunkt").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The logo in the top bar: a path on the app's host or a `data:image/` URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logo: Option<String>,
    /// The accent colour of buttons and highlights, `#rrggbb`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accent: Option<String>,
}
