//! The web front: the headers every answer carries, which files are never served, and how long
//! browsers may keep what they fetched.
//!
//! - **Content-Security-Policy.** The app loads nothing but its own files, talks to nothing but
//!   its own origin (and its WebSocket there), and may not be framed. The one inline script, the
//!   loader trunk writes into `index.html`, is allowed by its SHA-256, read from the file as it is
//!   now (a new build is picked up without a restart). WebAssembly needs `'wasm-unsafe-eval'`.
//! - **nosniff, Referrer-Policy, X-Frame-Options, Permissions-Policy** (camera, microphone and
//!   screen only for the app itself).
//! - **Cache-Control.** Files whose names carry trunk's content hash never change: a year,
//!   immutable. `index.html`, `config.json` and everything else: revalidate on every use. Answers
//!   of the API and health check: never stored.
//! - **Compression.** The build writes brotli and gzip copies of the hashed files
//!   (`scripts/precompress.mjs`); the file server picks one by `Accept-Encoding`, and every file
//!   answer says `Vary: accept-encoding`.
//! - **Dotfiles** (`.git`, `.env`, `.htpasswd`, …) are not found, whatever the static directory
//!   holds.
//!
//! The rules are plain functions of the path and the file ([`cache_control`], [`is_hidden`],
//! [`policy`]); [`WebFront::apply`] is the thin layer that puts them on answers.

use std::{
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
    time::SystemTime,
};

use axum::{
    extract::{Request, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use base64::Engine as _;

/// Headers every answer carries besides the policy and the caching rule.
const FIXED_HEADERS: [(&str, &str); 5] = [
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "no-referrer"),
    ("x-frame-options", "DENY"),
    ("cross-origin-opener-policy", "same-origin"),
    (
        "permissions-policy",
        "camera=(self), microphone=(self), display-capture=(self), fullscreen=(self), \
         geolocation=(), payment=(), usb=(), serial=()",
    ),
];

/// A year, for files whose names change with their content.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// For files that keep their name across builds: use only after asking whether it changed.
const REVALIDATE: &str = "no-cache";
/// For answers that describe this moment (API, health).
const NEVER_STORE: &str = "no-store";

/// How long a browser may keep the answer to `path`.
pub fn cache_control(path: &str) -> &'static str {
    if path.starts_with("/api/") || path == "/healthz" || path == protocol::WEBSOCKET_PATH {
        return NEVER_STORE;
    }
    let name = path.rsplit('/').next().unwrap_or_default();
    if has_content_hash(name) { IMMUTABLE } else { REVALIDATE }
}

/// Whether a file name carries trunk's content hash: `name-<hex digits>` before the first
/// extension (`app-5c47db8b85c76edc_bg.wasm`, `style-e84f5d2d48a9945d.css`). Trunk writes a
/// 64-bit hash without leading zeros: 16 digits, 15 in one build of 16 (`app-5ad5aed0742d837`),
/// fewer more rarely; 12 to 16 are taken as a hash.
fn has_content_hash(name: &str) -> bool {
    let stem = name.split('.').next().unwrap_or_default();
    let stem = stem.strip_suffix("_bg").unwrap_or(stem);
    stem.rsplit_once('-').is_some_and(|(_, hash)| {
        (12..=16).contains(&hash.len())
            && hash.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

/// Whether `path` names a dotfile or anything inside a dot-directory (`/.git/config`), also when
/// the dot is percent-encoded.
pub fn is_hidden(path: &str) -> bool {
    path.split('/').any(|segment| {
        let lower = segment.to_ascii_lowercase();
        lower.starts_with('.') || lower.starts_with("%2e")
    })
}

/// The Content-Security-Policy for a page whose inline scripts have these SHA-256 sums
/// (base64), served as `host`.
pub fn policy(script_hashes: &[String], host: Option<&str>) -> String {
    let scripts: String = script_hashes.iter().map(|h| format!(" 'sha256-{h}'")).collect();
    // `'self'` covers the WebSocket on the same host in current browsers; older Safari needs the
    // ws:/wss: origins spelled out.
    let sockets = host
        .filter(|h| h.bytes().all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b)))
        .map(|h| format!(" ws://{h} wss://{h}"))
        .unwrap_or_default();
    format!(
        "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'{scripts}; style-src 'self'; \
         img-src 'self' data: blob:; media-src 'self' blob:; font-src 'self'; \
         connect-src 'self'{sockets}; manifest-src 'self'; base-uri 'none'; form-action 'self'; \
         frame-ancestors 'none'"
    )
}

/// The SHA-256 sums (base64) of the inline scripts in an HTML page: every `<script>` without a
/// `src`, its text exactly as between the tags (as browsers hash it).
pub fn inline_script_hashes(html: &str) -> Vec<String> {
    let mut hashes = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find("<script") {
        rest = &rest[start..];
        let Some(tag_end) = rest.find('>') else { break };
        let tag = &rest[..tag_end];
        let body_and_more = &rest[tag_end + 1..];
        let Some(close) = body_and_more.find("</script") else { break };
        if !tag.contains("src=") {
            let digest =
                ring::digest::digest(&ring::digest::SHA256, &body_and_more.as_bytes()[..close]);
            hashes.push(base64::engine::general_purpose::STANDARD.encode(digest.as_ref()));
        }
        rest = &body_and_more[close..];
    }
    hashes
}

/// A page's modification time and length (when either changes, it is read again), and the sums
/// of its inline scripts.
type Hashed = ((SystemTime, u64), Vec<String>);

/// The web front of one relay: its static directory (if any), and the inline-script sums of its
/// `index.html` as last read.
#[derive(Debug, Clone)]
pub struct WebFront {
    index: Option<PathBuf>,
    /// The page's modification time and length when last hashed, and its sums.
    hashes: Arc<Mutex<Option<Hashed>>>,
}

impl WebFront {
    /// The front for files served from `static_dir`.
    pub fn new(static_dir: Option<&Path>) -> Self {
        Self { index: static_dir.map(|d| d.join("index.html")), hashes: Arc::default() }
    }

    /// The inline-script sums of `index.html`, read again only when the file changed.
    fn script_hashes(&self) -> Vec<String> {
        let Some(index) = &self.index else { return Vec::new() };
        let Ok(meta) = std::fs::metadata(index) else { return Vec::new() };
        let stamp = (meta.modified().unwrap_or(SystemTime::UNIX_EPOCH), meta.len());
        let mut cached = self.hashes.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((seen, hashes)) = cached.as_ref()
            && *seen == stamp
        {
            return hashes.clone();
        }
        let hashes = std::fs::read_to_string(index)
            .map(|html| inline_script_hashes(&html))
            .unwrap_or_default();
        *cached = Some((stamp, hashes.clone()));
        hashes
    }

    /// Middleware: refuses hidden files and puts the headers on every answer.
    pub async fn apply(State(front): State<WebFront>, request: Request, next: Next) -> Response {
        let path = request.uri().path().to_owned();
        if is_hidden(&path) {
            return StatusCode::NOT_FOUND.into_response();
        }
        let host =
            request.headers().get(header::HOST).and_then(|h| h.to_str().ok()).map(str::to_owned);
        let mut response = next.run(request).await;
        let headers = response.headers_mut();
        set_headers(headers, &path, &front.script_hashes(), host.as_deref());
        response
    }
}

fn set_headers(headers: &mut HeaderMap, path: &str, hashes: &[String], host: Option<&str>) {
    for (name, value) in FIXED_HEADERS {
        headers.insert(name, HeaderValue::from_static(value));
    }
    if let Ok(value) = HeaderValue::from_str(&policy(hashes, host)) {
        headers.insert(header::CONTENT_SECURITY_POLICY, value);
    }
    let caching = cache_control(path);
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(caching));
    // Files may go out brotli- or gzip-compressed by the browser's Accept-Encoding: a cache in
    // between must keep the variants apart.
    if caching != NEVER_STORE {
        headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashed_build_files_are_kept_for_a_year_and_the_rest_revalidated() {
        assert_eq!(cache_control("/app-5c47db8b85c76edc_bg.wasm"), IMMUTABLE);
        assert_eq!(cache_control("/app-5c47db8b85c76edc.js"), IMMUTABLE);
        assert_eq!(cache_control("/style-e84f5d2d48a9945d.css"), IMMUTABLE);
        assert_eq!(cache_control("/app-5ad5aed0742d837_bg.wasm"), IMMUTABLE, "a leading zero");
        assert_eq!(cache_control("/"), REVALIDATE);
        assert_eq!(cache_control("/index.html"), REVALIDATE);
        assert_eq!(cache_control("/config.json"), REVALIDATE);
        // Not a hash: too short, or not hex.
        assert_eq!(cache_control("/app-5c47db8b.js"), REVALIDATE);
        assert_eq!(cache_control("/my-photo-from-holidays.png"), REVALIDATE);
        assert_eq!(cache_control("/api/status"), NEVER_STORE);
        assert_eq!(cache_control("/healthz"), NEVER_STORE);
    }

    #[test]
    fn dotfiles_and_dot_directories_are_hidden() {
        for path in ["/.env", "/.git/config", "/assets/.htpasswd", "/%2egit/HEAD", "/%2Eenv"] {
            assert!(is_hidden(path), "{path}");
        }
        for path in ["/", "/index.html", "/app-5c47db8b85c76edc.js", "/a.b/c"] {
            assert!(!is_hidden(path), "{path}");
        }
    }

    #[test]
    fn only_inline_scripts_are_hashed_exactly_as_written() {
        let html = "<head><script type=\"module\">\nimport x from './a.js';\n</script>\
                    <script src=\"./b.js\"></script><script>one()</script></head>";
        let expected: Vec<String> = ["\nimport x from './a.js';\n", "one()"]
            .iter()
            .map(|s| {
                let d = ring::digest::digest(&ring::digest::SHA256, s.as_bytes());
                base64::engine::general_purpose::STANDARD.encode(d.as_ref())
            })
            .collect();
        assert_eq!(inline_script_hashes(html), expected);
        assert!(inline_script_hashes("<script>never closed").is_empty());
    }

    #[test]
    fn the_policy_allows_only_the_apps_own_origin_and_its_loader() {
        let csp = policy(&["abc=".into()], Some("meet.example.org"));
        assert!(csp.contains("script-src 'self' 'wasm-unsafe-eval' 'sha256-abc='"), "{csp}");
        assert!(csp.contains("connect-src 'self' ws://meet.example.org wss://meet.example.org"));
        assert!(csp.contains("frame-ancestors 'none'"));
        assert!(csp.starts_with("default-src 'none'"));
        assert!(!csp.contains("unsafe-inline"));
        // A Host header cannot write into the policy.
        let forged = policy(&[], Some("x; script-src *"));
        assert!(!forged.contains("script-src *"), "{forged}");
    }
}
