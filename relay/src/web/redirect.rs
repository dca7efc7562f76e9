//! The plain-HTTP side of a relay that serves HTTPS itself (`--redirect-http-listen`, usually
//! port 80): every request is sent on to the same address over HTTPS with `308`, except ACME
//! HTTP-01 challenges, which are answered from `--acme-webroot`, so certbot (or any ACME client
//! that writes challenge files) renews the certificate while the relay runs; the relay picks the
//! new files up by itself (`tls::Certificates`).

use std::{path::Path, sync::Arc};

use axum::{
    Router,
    http::{HeaderMap, StatusCode, Uri, header},
    response::{IntoResponse, Response},
};
use tower_http::services::ServeDir;

/// Where ACME clients put HTTP-01 challenge files, below their web root.
pub const ACME_CHALLENGES: &str = "/.well-known/acme-challenge";

/// Where plain-HTTP requests are sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Redirect {
    /// To this origin (`--public-url`'s), whatever host the request named.
    Origin(String),
    /// To the host the request named, on the relay's HTTPS port.
    SameHost {
        /// The HTTPS port.
        port: u16,
    },
}

impl Redirect {
    /// To `public_url`'s origin when there is one, else to the requested host on `https_port`.
    pub fn new(public_url: Option<&str>, https_port: u16) -> Self {
        public_url
            .and_then(crate::web::admission::normalise)
            .and_then(|origin| {
                origin.strip_prefix("http://").map_or(Some(origin.clone()), |_| None)
            })
            .map_or(Self::SameHost { port: https_port }, Self::Origin)
    }

    /// The `Location` for a request to `host` (its `Host` header) for `path_and_query`, or
    /// `None` when `host` names no host (then there is nowhere honest to send it).
    pub fn location(&self, host: Option<&str>, path_and_query: &str) -> Option<String> {
        let path = if path_and_query.starts_with('/') { path_and_query } else { "/" };
        match self {
            Self::Origin(origin) => Some(format!("{origin}{path}")),
            Self::SameHost { port } => {
                let host = bare_host(host?)?;
                let port = if *port == 443 { String::new() } else { format!(":{port}") };
                Some(format!("https://{host}{port}{path}"))
            }
        }
    }
}

/// The host of a `Host` header without its port, in lower case; `None` unless it is a DNS name,
/// an IPv4 address or a bracketed IPv6 address.
fn bare_host(host: &str) -> Option<String> {
    let host = host.trim().to_ascii_lowercase();
    if let Some(rest) = host.strip_prefix('[') {
        let (address, after) = rest.split_once(']')?;
        let port_ok =
            after.is_empty() || after.strip_prefix(':').is_some_and(|p| p.parse::<u16>().is_ok());
        return (address.parse::<std::net::Ipv6Addr>().is_ok() && port_ok)
            .then(|| format!("[{address}]"));
    }
    let name = match host.rsplit_once(':') {
        Some((name, port)) if port.parse::<u16>().is_ok() => name,
        Some(_) => return None,
        None => host.as_str(),
    };
    let labels_ok = name.split('.').all(|label| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    });
    (!name.is_empty() && name.len() <= 253 && labels_ok).then(|| name.to_owned())
}

/// The plain-HTTP service: challenges from `webroot` (when given), everything else redirected.
pub fn router(redirect: Redirect, webroot: Option<&Path>) -> Router {
    let redirect = Arc::new(redirect);
    let mut app = Router::new().fallback(move |headers: HeaderMap, uri: Uri| {
        let redirect = Arc::clone(&redirect);
        async move { send_on(&redirect, &headers, &uri) }
    });
    if let Some(root) = webroot {
        let challenges = root.join(ACME_CHALLENGES.trim_start_matches('/'));
        app = app.nest_service(ACME_CHALLENGES, ServeDir::new(challenges));
    }
    app
}

fn send_on(redirect: &Redirect, headers: &HeaderMap, uri: &Uri) -> Response {
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    match redirect.location(host, path) {
        Some(location) => {
            (StatusCode::PERMANENT_REDIRECT, [(header::LOCATION, location)], "Use HTTPS.\n")
                .into_response()
        }
        None => (StatusCode::BAD_REQUEST, "This address needs a host name.\n").into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_go_to_the_same_host_and_path_over_https() {
        let on_443 = Redirect::new(None, 443);
        assert_eq!(
            on_443.location(Some("Meet.Example.org"), "/?room=rat&name=Anna").as_deref(),
            Some("https://meet.example.org/?room=rat&name=Anna")
        );
        assert_eq!(
            on_443.location(Some("meet.example.org:80"), "/").as_deref(),
            Some("https://meet.example.org/")
        );
        let on_8443 = Redirect::new(None, 8443);
        assert_eq!(
            on_8443.location(Some("192.0.2.7"), "/x").as_deref(),
            Some("https://192.0.2.7:8443/x")
        );
        assert_eq!(
            on_8443.location(Some("[2001:db8::1]:80"), "/").as_deref(),
            Some("https://[2001:db8::1]:8443/")
        );
    }

    #[test]
    fn the_public_url_wins_over_the_host_asked_for() {
        let fixed = Redirect::new(Some("https://meet.musterhausen.de/"), 443);
        assert_eq!(fixed, Redirect::Origin("https://meet.musterhausen.de".into()));
        assert_eq!(
            fixed.location(Some("evil.example"), "/?room=rat").as_deref(),
            Some("https://meet.musterhausen.de/?room=rat")
        );
        assert_eq!(fixed.location(None, "/").as_deref(), Some("https://meet.musterhausen.de/"));
        // A plain-http public URL would send people in a circle: the requested host it is.
        assert_eq!(
            Redirect::new(Some("http://meet.example.org"), 443),
            Redirect::SameHost { port: 443 }
        );
    }

    #[test]
    fn a_host_that_is_no_host_is_not_sent_anywhere() {
        let redirect = Redirect::new(None, 443);
        for host in [
            "evil.example/@x",
            "a b",
            "",
            "host:port",
            "[::1",
            "[nonsense]",
            "-bad.example",
            "a..b",
            "x.example:99999",
        ] {
            assert_eq!(redirect.location(Some(host), "/"), None, "{host:?}");
        }
        assert_eq!(redirect.location(None, "/"), None);
    }
}
