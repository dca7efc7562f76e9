//! Tenants: several towns or schools on one relay, each under host names of its own.
//!
//! A tenant is a `[[tenant]]` table in the settings file (`docs/treffpunkt.toml`). It has its own
//! room namespace (two tenants' rooms called `rat` are two rooms, and nobody in one can reach
//! the other), its own link secret and operator key, its own limits and room-name rules, its
//! own look in the app (title, logo, accent colour, served in its `config.json`), and its own
//! `tenant` label in `/metrics`.
//!
//! Which tenant a connection belongs to is decided once, when it opens: the host of the page
//! that opened it (`Origin`), or else the host it was sent to (`Host`). A connection from no
//! tenant's host is the relay's own (tenant 0, with the top-level settings). Host names say
//! which namespace someone is in, not whether they may enter: a program can send any `Host` it
//! likes. A tenant that must be closed to outsiders sets a link secret, which only its own links
//! pass.
//!
//! Pure: parsing, checking and lookup; no I/O.

use serde::Deserialize;

use crate::config::links::LinkKeys;

/// Which tenant: 0 is the relay's own (its top-level settings), then the `[[tenant]]` tables in
/// the order the file lists them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TenantId(pub u16);

impl TenantId {
    /// The relay's own tenant.
    pub const DEFAULT: Self = Self(0);
}

/// Most tenants on one relay.
pub const MAX_TENANTS: usize = 1000;
/// Longest title, in characters.
const MAX_TITLE_CHARS: usize = 60;
/// Longest logo reference (a path, or a small `data:` image), in bytes.
const MAX_LOGO_BYTES: usize = 16 * 1024;

/// One `[[tenant]]` table, as written in the settings file.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct TenantSettings {
    /// Short name: the `tenant` label in `/metrics` and in logs (`a-z`, `0-9`, `-`).
    pub name: String,
    /// Host names whose pages and requests belong to this tenant (`meet.musterhausen.de`).
    pub hosts: Vec<String>,
    /// What the app calls itself for this tenant (instead of "Treffpunkt").
    #[serde(default)]
    pub title: Option<String>,
    /// The logo in the app's top bar: a path on the app's own host (`/brand/logo.svg`) or a
    /// `data:image/…` URL. The app's security policy loads images from nowhere else.
    #[serde(default)]
    pub logo: Option<String>,
    /// The accent colour of buttons and highlights, `#rrggbb`.
    #[serde(default)]
    pub accent: Option<String>,
    /// This tenant's link secret: its rooms open only with links signed with it.
    #[serde(default)]
    pub link_secret: Option<String>,
    /// During a change of this tenant's link secret: the previous one.
    #[serde(default)]
    pub link_secret_previous: Option<String>,
    /// Key for `POST /api/invite` on this tenant's hosts (at least 32 characters).
    #[serde(default)]
    pub operator_key: Option<String>,
    /// Most participants in one of its rooms (default: the relay's `room-capacity`).
    #[serde(default)]
    pub room_capacity: Option<u32>,
    /// Most of its rooms open at once (the relay's `max-rooms` still bounds all together).
    #[serde(default)]
    pub max_rooms: Option<usize>,
    /// Its rooms that use server forwarding from the start (default: the relay's `sfu-rooms`).
    #[serde(default)]
    pub sfu_rooms: Option<Vec<String>>,
    /// The only room names it offers: exact names or prefixes ending in `*`. Empty: any name.
    #[serde(default)]
    pub room_names: Vec<String>,
}

impl TenantSettings {
    /// The first host, where its links point.
    pub fn public_url(&self) -> String {
        format!("https://{}/", self.hosts.first().map(String::as_str).unwrap_or_default())
    }

    /// The keys its links are checked with, if it has a link secret.
    pub fn link_keys(&self) -> Option<LinkKeys> {
        let secret = self.link_secret.as_deref()?;
        let previous = self.link_secret_previous.as_deref().map(str::as_bytes);
        Some(LinkKeys::new(secret.as_bytes(), previous))
    }

    /// What the app shows for this tenant, as the keys it reads from `config.json`.
    pub fn branding(&self) -> serde_json::Map<String, serde_json::Value> {
        let look = protocol::Look {
            title: self.title.clone(),
            logo: self.logo.clone(),
            accent: self.accent.clone(),
        };
        match serde_json::to_value(look) {
            Ok(serde_json::Value::Object(map)) => map,
            _ => serde_json::Map::new(),
        }
    }

    /// A tenant called `name` on `hosts`, with the relay's settings for everything else.
    pub fn new(name: &str, hosts: &[&str]) -> Self {
        Self {
            name: name.into(),
            hosts: hosts.iter().map(|h| (*h).to_owned()).collect(),
            title: None,
            logo: None,
            accent: None,
            link_secret: None,
            link_secret_previous: None,
            operator_key: None,
            room_capacity: None,
            max_rooms: None,
            sfu_rooms: None,
            room_names: Vec::new(),
        }
    }

    /// What is wrong with this table, in a sentence.
    fn check(&self) -> Result<(), String> {
        let name = &self.name;
        if name.is_empty()
            || name.len() > 32
            || !name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(format!(
                "tenant name {name:?} must be 1 to 32 of a-z, 0-9 and - (it becomes a metrics label)"
            ));
        }
        if self.hosts.is_empty() {
            return Err(format!("tenant {name}: `hosts` must name at least one host"));
        }
        for host in &self.hosts {
            let plain = !host.is_empty()
                && host.len() <= 253
                && host.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
            if !plain || host.to_ascii_lowercase() != *host {
                return Err(format!(
                    "tenant {name}: host {host:?} must be a host name in lower case, without \
                     scheme, port or path (meet.musterhausen.de)"
                ));
            }
        }
        if let Some(title) = &self.title
            && (title.trim().is_empty()
                || title.chars().count() > MAX_TITLE_CHARS
                || title.chars().any(char::is_control))
        {
            return Err(format!("tenant {name}: title must be 1 to {MAX_TITLE_CHARS} characters"));
        }
        if let Some(logo) = &self.logo {
            let path = logo.starts_with('/') && !logo.starts_with("//");
            let data = logo.starts_with("data:image/");
            if !(path || data) || logo.len() > MAX_LOGO_BYTES || logo.contains(['"', '\n']) {
                return Err(format!(
                    "tenant {name}: logo must be a path on the app's host (/brand/logo.svg) or a \
                     data:image/ URL of at most {} KiB",
                    MAX_LOGO_BYTES / 1024
                ));
            }
        }
        if let Some(accent) = &self.accent
            && !(accent.len() == 7
                && accent.starts_with('#')
                && accent[1..].bytes().all(|b| b.is_ascii_hexdigit()))
        {
            return Err(format!("tenant {name}: accent must be a colour like #0a6e4f"));
        }
        for secret in [&self.link_secret, &self.link_secret_previous].into_iter().flatten() {
            if secret.len() < 16 {
                return Err(format!("tenant {name}: a link secret must be at least 16 characters"));
            }
        }
        if self.link_secret_previous.is_some() && self.link_secret.is_none() {
            return Err(format!("tenant {name}: link-secret-previous needs link-secret"));
        }
        if let Some(key) = &self.operator_key {
            if key.len() < crate::config::links::MIN_OPERATOR_KEY {
                return Err(format!(
                    "tenant {name}: operator-key must be at least {} characters",
                    crate::config::links::MIN_OPERATOR_KEY
                ));
            }
            if self.link_secret.is_none() {
                return Err(format!(
                    "tenant {name}: operator-key hands out signed links: it needs link-secret"
                ));
            }
        }
        if self.room_capacity.is_some_and(|c| !(2..=1000).contains(&c)) {
            return Err(format!("tenant {name}: room-capacity must be 2 to 1000"));
        }
        if self.max_rooms == Some(0) {
            return Err(format!("tenant {name}: max-rooms must be at least 1"));
        }
        for pattern in self.room_names.iter().chain(self.sfu_rooms.iter().flatten()) {
            let stem = pattern.strip_suffix('*').unwrap_or(pattern);
            if stem.is_empty() && !pattern.is_empty() {
                continue;
            }
            if protocol::validate_room_name(stem).ok().as_deref() != Some(stem) {
                return Err(format!(
                    "tenant {name}: {pattern:?} is no room name or prefix (lower case letters, \
                     digits, - _ . and a * at the end)"
                ));
            }
        }
        Ok(())
    }
}

/// Checks every tenant and that names and hosts are not shared.
pub fn check_all(tenants: &[TenantSettings]) -> Result<(), String> {
    if tenants.len() > MAX_TENANTS {
        return Err(format!("at most {MAX_TENANTS} tenants"));
    }
    for (i, tenant) in tenants.iter().enumerate() {
        tenant.check()?;
        for earlier in &tenants[..i] {
            if earlier.name == tenant.name {
                return Err(format!("two tenants are called {}", tenant.name));
            }
            if let Some(host) = tenant.hosts.iter().find(|h| earlier.hosts.contains(h)) {
                return Err(format!(
                    "host {host} belongs to two tenants, {} and {}",
                    earlier.name, tenant.name
                ));
            }
        }
    }
    Ok(())
}

/// Finds a tenant by host name.
#[derive(Debug, Clone, Default)]
pub struct Tenants {
    /// Host name, lower case, to tenant.
    hosts: std::collections::HashMap<String, TenantId>,
    /// Labels by tenant id, `default` first.
    labels: Vec<String>,
}

impl Tenants {
    /// The lookup for `tenants` (checked), ids in their order from 1.
    pub fn new(tenants: &[TenantSettings]) -> Self {
        let mut hosts = std::collections::HashMap::new();
        let mut labels = vec!["default".to_owned()];
        for (i, tenant) in tenants.iter().enumerate() {
            let id = TenantId(u16::try_from(i + 1).unwrap_or(u16::MAX));
            for host in &tenant.hosts {
                hosts.insert(host.clone(), id);
            }
            labels.push(tenant.name.clone());
        }
        Self { hosts, labels }
    }

    /// The tenant whose host `host` is (a `Host` header: a port is ignored).
    pub fn by_host(&self, host: Option<&str>) -> Option<TenantId> {
        let host = host?.trim().to_ascii_lowercase();
        let name = match host.strip_prefix('[') {
            Some(v6) => v6.split(']').next().unwrap_or_default(),
            None => host.split(':').next().unwrap_or_default(),
        };
        self.hosts.get(name.trim_end_matches('.')).copied()
    }

    /// The tenant of `origin`'s host (`https://meet.musterhausen.de`).
    pub fn by_origin(&self, origin: Option<&str>) -> Option<TenantId> {
        let rest = origin?.split_once("://")?.1;
        self.by_host(rest.split('/').next())
    }

    /// The tenant of a WebSocket from a page of `origin`, sent to `host`: the page's, else the
    /// host's, else the relay's own.
    pub fn of_connection(&self, origin: Option<&str>, host: Option<&str>) -> TenantId {
        self.by_origin(origin).or_else(|| self.by_host(host)).unwrap_or(TenantId::DEFAULT)
    }

    /// The metrics label of `tenant`.
    pub fn label(&self, tenant: TenantId) -> &str {
        self.labels.get(usize::from(tenant.0)).map_or("default", String::as_str)
    }

    /// Whether any tenant is configured.
    pub fn is_empty(&self) -> bool {
        self.hosts.is_empty()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn tenant(name: &str, hosts: &[&str]) -> TenantSettings {
        TenantSettings::new(name, hosts)
    }

    #[test]
    fn connections_belong_to_the_page_then_the_host_then_the_relay() {
        let tenants = Tenants::new(&[
            tenant("musterhausen", &["meet.musterhausen.de"]),
            tenant("schule", &["schule.example.org", "lernen.example.org"]),
        ]);
        let of = |origin, host| tenants.of_connection(origin, host);
        assert_eq!(of(Some("https://meet.musterhausen.de"), Some("relay.example")), TenantId(1));
        assert_eq!(of(None, Some("Meet.Musterhausen.DE:8443")), TenantId(1), "case and port");
        assert_eq!(of(Some("https://lernen.example.org:8443"), None), TenantId(2));
        assert_eq!(of(Some("https://elsewhere.example"), Some("schule.example.org")), TenantId(2));
        assert_eq!(of(Some("https://elsewhere.example"), Some("relay.example")), TenantId(0));
        assert_eq!(of(None, None), TenantId::DEFAULT);
        // A host that merely ends like a tenant's is not it.
        assert_eq!(of(Some("https://evilmeet.musterhausen.de"), None), TenantId(0));
        assert_eq!(of(Some("https://meet.musterhausen.de.evil.example"), None), TenantId(0));
        assert_eq!(tenants.label(TenantId(2)), "schule");
        assert_eq!(tenants.label(TenantId(0)), "default");
    }

    #[test]
    fn bad_tables_are_refused_with_a_sentence() {
        let refused = |t: TenantSettings| check_all(&[t]).unwrap_err();
        assert!(refused(tenant("Muster Hausen", &["a.de"])).contains("a-z, 0-9"));
        assert!(refused(tenant("m", &[])).contains("at least one host"));
        assert!(refused(tenant("m", &["https://a.de"])).contains("without scheme"));
        assert!(refused(tenant("m", &["A.de"])).contains("lower case"));
        let mut t = tenant("m", &["a.de"]);
        t.accent = Some("blue".into());
        assert!(refused(t).contains("#0a6e4f"));
        let mut t = tenant("m", &["a.de"]);
        t.logo = Some("https://tracker.example/logo.png".into());
        assert!(refused(t).contains("path on the app's host"));
        let mut t = tenant("m", &["a.de"]);
        t.link_secret = Some("short".into());
        assert!(refused(t).contains("16 characters"));
        let mut t = tenant("m", &["a.de"]);
        t.operator_key = Some("k".repeat(40));
        assert!(refused(t).contains("needs link-secret"));
        let mut t = tenant("m", &["a.de"]);
        t.room_names = vec!["Klasse 5*".into()];
        assert!(refused(t).contains("no room name"));
        let shared = check_all(&[tenant("a", &["x.de"]), tenant("b", &["y.de", "x.de"])]);
        assert!(shared.unwrap_err().contains("x.de belongs to two tenants"));
        let twice = check_all(&[tenant("a", &["x.de"]), tenant("a", &["y.de"])]);
        assert!(twice.unwrap_err().contains("two tenants are called a"));
        let mut fine = tenant("musterhausen", &["meet.musterhausen.de"]);
        fine.title = Some("Musterhausen trifft sich".into());
        fine.logo = Some("/brand/musterhausen.svg".into());
        fine.accent = Some("#0a6e4f".into());
        fine.room_names = vec!["rat".into(), "klasse-*".into()];
        check_all(&[fine]).unwrap();
    }

    #[test]
    fn branding_carries_only_what_is_set() {
        let mut t = tenant("m", &["a.de"]);
        t.title = Some("Musterhausen".into());
        t.accent = Some("#0a6e4f".into());
        let json = serde_json::Value::Object(t.branding());
        assert_eq!(json, serde_json::json!({"title": "Musterhausen", "accent": "#0a6e4f"}));
    }
}
