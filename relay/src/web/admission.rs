//! Who may open a WebSocket to the relay, decided before anything else is read.
//!
//! - **Origin.** A browser names the page that opens a WebSocket in `Origin`. Without a check, any
//!   web site a pupil visits could open one to the relay in the pupil's name. The relay accepts
//!   its own origin (the host the request was sent to, or `--public-url`'s) and those in
//!   `--allowed-origins`; `*` accepts every page. Programs that are not browsers send no `Origin`
//!   and are let through: they could send any `Origin` they like, so refusing them would protect
//!   no one.
//! - **Connections per address.** One address may hold at most `--max-connections-per-address`
//!   connections at once (IPv6 counted by its /64), and the relay at most `--max-connections` in
//!   all: one script cannot fill the room table or every room. Schools put whole classes behind
//!   one address, so the default per address is generous.
//! - **Which address.** The TCP peer's, unless that peer is a trusted proxy (`--trusted-proxies`;
//!   by default only this machine): then the last address it put into `X-Forwarded-For`.

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::{Arc, Mutex, PoisonError},
};

/// What counts as one address: IPv4 whole, IPv6 by its /64 (which one household or phone
/// usually has whole).
pub fn network_of(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V4(_) => addr,
        IpAddr::V6(v6) => {
            let mut segments = v6.segments();
            segments[4..].fill(0);
            IpAddr::V6(segments.into())
        }
    }
}

/// The address a person connects from: `peer`, or, when `peer` is a trusted proxy, the last
/// address in its `X-Forwarded-For` (nginx: `proxy_set_header X-Forwarded-For $remote_addr;`).
pub fn client_address(peer: IpAddr, forwarded_for: Option<&str>, trusted: &[IpAddr]) -> IpAddr {
    let trusted = trusted.contains(&peer) || (trusted.is_empty() && peer.is_loopback());
    if !trusted {
        return peer;
    }
    forwarded_for
        .and_then(|v| v.rsplit(',').next())
        .and_then(|last| last.trim().parse().ok())
        .unwrap_or(peer)
}

/// The pages whose WebSockets the relay accepts.
#[derive(Debug, Clone, Default)]
pub struct AllowedOrigins {
    /// Every page (`*`).
    any: bool,
    /// `scheme://host[:port]`, lower case, default ports left out.
    listed: Vec<String>,
    /// Tenants' host names: their pages are accepted with any scheme and port.
    hosts: Vec<String>,
}

/// `scheme://host[:port]` in lower case without a path or a default port, or `None` for text
/// that is no such origin.
pub(crate) fn normalise(origin: &str) -> Option<String> {
    let origin = origin.trim().trim_end_matches('/').to_ascii_lowercase();
    let (scheme, rest) = origin.split_once("://")?;
    let authority = rest.split('/').next()?;
    if authority.is_empty() || !matches!(scheme, "http" | "https") {
        return None;
    }
    let authority = match scheme {
        "http" => authority.strip_suffix(":80").unwrap_or(authority),
        _ => authority.strip_suffix(":443").unwrap_or(authority),
    };
    Some(format!("{scheme}://{authority}"))
}

impl AllowedOrigins {
    /// From `--allowed-origins` and `--public-url`. Entries that are no origin are returned as
    /// the error, to stop the relay with a sentence rather than refuse everyone later.
    pub fn new(listed: &[String], public_url: Option<&str>) -> Result<Self, String> {
        let mut allowed = Self::default();
        for entry in listed.iter().map(|e| e.trim()).filter(|e| !e.is_empty()) {
            if entry == "*" {
                allowed.any = true;
                continue;
            }
            let origin = normalise(entry).ok_or_else(|| {
                format!(
                    "--allowed-origins: {entry:?} is not an origin like https://schule.example.org"
                )
            })?;
            allowed.listed.push(origin);
        }
        if let Some(origin) = public_url.and_then(normalise) {
            allowed.listed.push(origin);
        }
        Ok(allowed)
    }

    /// Also accepts pages from these host names (tenants' hosts, lower case).
    pub fn with_hosts(mut self, hosts: impl IntoIterator<Item = String>) -> Self {
        self.hosts.extend(hosts);
        self
    }

    /// Whether a WebSocket opened by a page of `origin`, sent to `host`, is accepted.
    pub fn allows(&self, origin: Option<&str>, host: Option<&str>) -> bool {
        let Some(origin) = origin else { return true };
        if self.any {
            return true;
        }
        let Some(origin) = normalise(origin) else { return false };
        // The page's own origin: the scheme it names, with the host the request was sent to.
        let own = host
            .zip(origin.split_once("://"))
            .and_then(|(h, (scheme, _))| normalise(&format!("{scheme}://{h}")));
        let page_host = origin
            .split_once("://")
            .map(|(_, authority)| authority.rsplit_once(':').map_or(authority, |(h, _)| h));
        own.as_ref() == Some(&origin)
            || self.listed.contains(&origin)
            || page_host.is_some_and(|h| self.hosts.iter().any(|t| t == h))
    }
}

/// Why a connection was not let in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// Its address already holds as many connections as one address may.
    #[error("too many connections from your address; close another Treffpunkt tab and try again")]
    TooManyFromAddress,
    /// The relay holds as many connections as it may.
    #[error("the relay is full; try again in a moment")]
    Full,
}

/// Open connections, per address and in all. Cheap to clone; each admitted connection holds a
/// [`Place`] that gives its count back when dropped, so the table holds only addresses with a
/// connection open and never more than `max_total` of them.
#[derive(Debug, Clone)]
pub struct Connections {
    inner: Arc<Mutex<Counts>>,
}

#[derive(Debug)]
struct Counts {
    per_address: HashMap<IpAddr, usize>,
    total: usize,
    max_per_address: usize,
    max_total: usize,
}

/// One admitted connection's place; dropping it frees the place.
#[derive(Debug)]
pub struct Place {
    network: IpAddr,
    counts: Arc<Mutex<Counts>>,
}

impl Drop for Place {
    fn drop(&mut self) {
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        counts.total = counts.total.saturating_sub(1);
        if let Some(n) = counts.per_address.get_mut(&self.network) {
            *n -= 1;
            if *n == 0 {
                counts.per_address.remove(&self.network);
            }
        }
    }
}

impl Connections {
    /// At most `max_per_address` connections per address and `max_total` in all.
    pub fn new(max_per_address: usize, max_total: usize) -> Self {
        let counts = Counts { per_address: HashMap::new(), total: 0, max_per_address, max_total };
        Self { inner: Arc::new(Mutex::new(counts)) }
    }

    /// A place for one more connection from `addr`, unless a limit is reached.
    pub fn admit(&self, addr: IpAddr) -> Result<Place, Refused> {
        let network = network_of(addr);
        let mut counts = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        if counts.total >= counts.max_total {
            return Err(Refused::Full);
        }
        let max = counts.max_per_address;
        let n = counts.per_address.entry(network).or_insert(0);
        if *n >= max {
            return Err(Refused::TooManyFromAddress);
        }
        *n += 1;
        counts.total += 1;
        Ok(Place { network, counts: self.inner.clone() })
    }

    /// Open connections in all, and addresses they come from.
    pub fn open(&self) -> (usize, usize) {
        let counts = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        (counts.total, counts.per_address.len())
    }
}

/// A header's value as text, if it has one.
pub(crate) fn header<'a>(headers: &'a axum::http::HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn only_the_relays_own_and_listed_origins_are_accepted() {
        let allowed = AllowedOrigins::new(&["https://schule.example.org/".into()], None).unwrap();
        let host = Some("meet.example.org");
        assert!(allowed.allows(Some("https://meet.example.org"), host), "its own origin");
        assert!(allowed.allows(Some("https://MEET.example.org:443"), host), "default port");
        assert!(allowed.allows(Some("https://schule.example.org"), host), "a listed one");
        assert!(allowed.allows(None, host), "no Origin: not a browser");
        assert!(!allowed.allows(Some("https://evil.example"), host));
        assert!(!allowed.allows(Some("https://meet.example.org.evil.example"), host));
        assert!(!allowed.allows(Some("null"), host), "a sandboxed or file page");
        assert!(!allowed.allows(Some("https://meet.example.org:8443"), host), "another port");
        assert!(!allowed.allows(Some("https://evil.example"), None));
        // Plain http on port 443 (as in the NAT lab): the port is no default there.
        assert!(allowed.allows(Some("http://203.0.113.1:443"), Some("203.0.113.1:443")));
        assert!(!allowed.allows(Some("http://203.0.113.1"), Some("203.0.113.1:443")));
        assert!(allowed.allows(Some("http://meet.example.org"), Some("meet.example.org:80")));
    }

    #[test]
    fn the_public_url_and_star_widen_the_list_and_nonsense_is_an_error() {
        let behind_proxy = AllowedOrigins::new(&[], Some("https://meet.example.org/")).unwrap();
        assert!(behind_proxy.allows(Some("https://meet.example.org"), Some("127.0.0.1:8080")));
        assert!(!behind_proxy.allows(Some("https://evil.example"), Some("127.0.0.1:8080")));
        let any = AllowedOrigins::new(&["*".into()], None).unwrap();
        assert!(any.allows(Some("https://anywhere.example"), None));
        let error = AllowedOrigins::new(&["schule.example.org".into()], None).unwrap_err();
        assert!(error.contains("not an origin"), "{error}");
    }

    #[test]
    fn forwarded_addresses_count_only_from_trusted_proxies() {
        let (local, far): (IpAddr, IpAddr) =
            ("127.0.0.1".parse().unwrap(), "198.51.100.7".parse().unwrap());
        let header = Some("10.0.0.1, 203.0.113.9");
        assert_eq!(client_address(local, header, &[]), "203.0.113.9".parse::<IpAddr>().unwrap());
        assert_eq!(client_address(far, header, &[]), far, "a header from anyone else is ignored");
        assert_eq!(client_address(far, header, &[far]), "203.0.113.9".parse::<IpAddr>().unwrap());
        assert_eq!(client_address(local, header, &[far]), local, "a list replaces the default");
        assert_eq!(client_address(local, Some("garbage"), &[]), local);
    }

    #[test]
    fn an_address_gets_its_share_and_places_come_back() {
        let connections = Connections::new(2, 3);
        let anna: IpAddr = "198.51.100.1".parse().unwrap();
        let a = connections.admit(anna).unwrap();
        let b = connections.admit(anna).unwrap();
        assert_eq!(connections.admit(anna).unwrap_err(), Refused::TooManyFromAddress);
        // The same IPv6 /64 is one address; another /64 is not.
        let v6 = |s: &str| s.parse::<IpAddr>().unwrap();
        let c = connections.admit(v6("2001:db8:1:2::1")).unwrap();
        assert_eq!(connections.admit(v6("2001:db8:1:3::1")).unwrap_err(), Refused::Full);
        drop(c);
        let _d = connections.admit(v6("2001:db8:1:2::2")).unwrap();
        assert_eq!(connections.admit(v6("2001:db8:1:2::3")).unwrap_err(), Refused::Full);
        drop((a, b));
        assert_eq!(connections.open(), (1, 1), "closed connections leave no entry behind");
        assert!(connections.admit(anna).is_ok());
    }
}
