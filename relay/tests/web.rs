//! The web front over real HTTP: the app's files, the headers on every answer, caching, and
//! what is never served (dotfiles, files outside the static directory).

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::path::PathBuf;

use base64::Engine as _;
use common::TestRelay;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const LOADER: &str = "\nimport init from './app-0123456789abcdef.js';\nawait init();\n";

/// A static directory like trunk's `dist/` inside a folder that also holds a secret, so that a
/// path escaping the directory would find something.
fn site(name: &str) -> (PathBuf, PathBuf) {
    let root = std::env::temp_dir().join(format!("treffpunkt-web-{name}-{}", std::process::id()));
    let dist = root.join("dist");
    std::fs::create_dir_all(dist.join(".git")).unwrap();
    std::fs::write(root.join("secret.txt"), "outside-the-static-dir").unwrap();
    std::fs::write(
        dist.join("index.html"),
        format!("<title>Treffpunkt</title><script type=\"module\">{LOADER}</script>"),
    )
    .unwrap();
    std::fs::write(dist.join("config.json"), "{\"relay\":null}").unwrap();
    std::fs::write(dist.join("app-0123456789abcdef_bg.wasm"), b"\0asm\x01\0\0\0").unwrap();
    // What scripts/precompress.mjs writes beside a hashed file (contents stand in here).
    std::fs::write(dist.join("app-0123456789abcdef.js"), "export default 1; // identity").unwrap();
    std::fs::write(dist.join("app-0123456789abcdef.js.br"), "brotli-copy").unwrap();
    std::fs::write(dist.join("app-0123456789abcdef.js.gz"), "gzip-copy").unwrap();
    std::fs::write(dist.join(".env"), "OPERATOR_KEY=hidden-dotfile").unwrap();
    std::fs::write(dist.join(".git").join("config"), "hidden-dot-directory").unwrap();
    (root, dist)
}

/// The answer to `GET path`: status line, headers (lower-case names) and body.
async fn get(relay: &TestRelay, path: &str) -> (String, Vec<(String, String)>, String) {
    get_with(relay, path, "").await
}

/// The answer to `GET path` with `extra` header lines (each ending in CRLF).
async fn get_with(
    relay: &TestRelay,
    path: &str,
    extra: &str,
) -> (String, Vec<(String, String)>, String) {
    let mut stream = tokio::net::TcpStream::connect(relay.addr).await.unwrap();
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: meet.example.org\r\n{extra}Connection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let response = String::from_utf8_lossy(&response).into_owned();
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let mut lines = head.lines();
    let status = lines.next().unwrap_or_default().to_owned();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    (status, headers, body.to_owned())
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> &'a str {
    headers.iter().find(|(n, _)| n == name).map_or("", |(_, v)| v.as_str())
}

#[tokio::test]
async fn serves_the_app_and_a_health_check() {
    let (root, dist) = site("serves");
    let relay = TestRelay::start(|c| c.static_dir = Some(dist)).await;
    let (status, _, body) = get(&relay, "/?room=demo").await;
    assert!(status.starts_with("HTTP/1.1 200"), "{status}");
    assert!(body.contains("<title>Treffpunkt</title>"));
    assert!(get(&relay, "/config.json").await.2.contains("\"relay\":null"));
    assert!(get(&relay, "/healthz").await.2.contains("ok: 0 rooms"));
    relay.shutdown().await.unwrap();
    std::fs::remove_dir_all(root).unwrap();
}

#[tokio::test]
async fn every_answer_carries_a_strict_policy_and_the_safety_headers() {
    let (root, dist) = site("headers");
    let relay = TestRelay::start(|c| c.static_dir = Some(dist)).await;
    let loader_sum = base64::engine::general_purpose::STANDARD
        .encode(ring::digest::digest(&ring::digest::SHA256, LOADER.as_bytes()).as_ref());
    for path in ["/", "/app-0123456789abcdef_bg.wasm", "/config.json", "/api/status"] {
        let (status, headers, _) = get(&relay, path).await;
        assert!(status.starts_with("HTTP/1.1 200"), "{path}: {status}");
        let csp = header(&headers, "content-security-policy");
        assert!(csp.starts_with("default-src 'none'"), "{path}: {csp}");
        assert!(
            csp.contains(&format!("'sha256-{loader_sum}'")),
            "{path}: the loader is allowed: {csp}"
        );
        assert!(!csp.contains("unsafe-inline"), "{path}: {csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert_eq!(header(&headers, "x-content-type-options"), "nosniff", "{path}");
        assert_eq!(header(&headers, "referrer-policy"), "no-referrer", "{path}");
        assert_eq!(header(&headers, "x-frame-options"), "DENY", "{path}");
        assert!(header(&headers, "permissions-policy").contains("camera=(self)"), "{path}");
    }
    let cache = |path: &'static str| {
        let relay = &relay;
        async move { header(&get(relay, path).await.1, "cache-control").to_owned() }
    };
    assert_eq!(cache("/app-0123456789abcdef_bg.wasm").await, "public, max-age=31536000, immutable");
    assert_eq!(cache("/").await, "no-cache");
    assert_eq!(cache("/config.json").await, "no-cache");
    assert_eq!(cache("/api/status").await, "no-store");
    relay.shutdown().await.unwrap();
    std::fs::remove_dir_all(root).unwrap();
}

#[tokio::test]
async fn a_new_build_of_the_page_is_allowed_without_a_restart() {
    let (root, dist) = site("rebuild");
    let relay = TestRelay::start(|c| c.static_dir = Some(dist.clone())).await;
    let before = header(&get(&relay, "/").await.1, "content-security-policy").to_owned();
    let loader = "import init from './app-fedcba9876543210.js'; await init();";
    std::fs::write(dist.join("index.html"), format!("<script type=\"module\">{loader}</script>"))
        .unwrap();
    let sum = base64::engine::general_purpose::STANDARD
        .encode(ring::digest::digest(&ring::digest::SHA256, loader.as_bytes()).as_ref());
    let after = header(&get(&relay, "/").await.1, "content-security-policy").to_owned();
    assert!(after.contains(&sum), "{after}");
    assert_ne!(before, after);
    relay.shutdown().await.unwrap();
    std::fs::remove_dir_all(root).unwrap();
}

#[tokio::test]
async fn dotfiles_and_files_outside_the_static_directory_are_not_served() {
    let (root, dist) = site("hidden");
    let relay = TestRelay::start(|c| c.static_dir = Some(dist)).await;
    for path in [
        "/.env",
        "/.git/config",
        "/%2egit/config",
        "/../secret.txt",
        "/%2e%2e/secret.txt",
        "/..%2fsecret.txt",
        "/app-0123456789abcdef_bg.wasm/../../secret.txt",
    ] {
        let (status, _, body) = get(&relay, path).await;
        assert!(status.starts_with("HTTP/1.1 4"), "{path}: {status}");
        assert!(
            !body.contains("hidden") && !body.contains("outside-the-static-dir"),
            "{path}: {body}"
        );
    }
    relay.shutdown().await.unwrap();
    std::fs::remove_dir_all(root).unwrap();
}

#[tokio::test]
async fn compressed_copies_go_to_browsers_that_accept_them() {
    let (root, dist) = site("encodings");
    let relay = TestRelay::start(|c| c.static_dir = Some(dist)).await;
    let js = "/app-0123456789abcdef.js";
    for (accept, encoding, body) in [
        ("Accept-Encoding: gzip, deflate, br\r\n", "br", "brotli-copy"),
        ("Accept-Encoding: br\r\n", "br", "brotli-copy"),
        ("Accept-Encoding: gzip\r\n", "gzip", "gzip-copy"),
        ("Accept-Encoding: identity\r\n", "", "export default 1; // identity"),
        ("", "", "export default 1; // identity"),
    ] {
        let (status, headers, got) = get_with(&relay, js, accept).await;
        assert!(status.starts_with("HTTP/1.1 200"), "{accept}: {status}");
        assert_eq!(header(&headers, "content-encoding"), encoding, "{accept:?}");
        assert_eq!(got, body, "{accept:?}");
        // Whatever was chosen, it is the JavaScript file, kept for a year, and caches keep the
        // encodings apart.
        assert!(header(&headers, "content-type").starts_with("text/javascript"), "{headers:?}");
        assert_eq!(header(&headers, "cache-control"), "public, max-age=31536000, immutable");
        assert_eq!(header(&headers, "vary").to_ascii_lowercase(), "accept-encoding");
    }
    // The page and config.json have no compressed copies and are asked about on every use.
    for path in ["/", "/config.json"] {
        let (_, headers, _) = get_with(&relay, path, "Accept-Encoding: br\r\n").await;
        assert_eq!(header(&headers, "content-encoding"), "", "{path}");
        assert_eq!(header(&headers, "cache-control"), "no-cache", "{path}");
    }
    relay.shutdown().await.unwrap();
    std::fs::remove_dir_all(root).unwrap();
}
