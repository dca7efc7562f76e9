//! The relay's HTTP answers besides the WebSocket and the app's files: health, status,
//! metrics, invitations and each tenant's `config.json`.

use std::{
    net::SocketAddr,
    sync::{Arc, atomic::Ordering},
};

use axum::{
    Router,
    extract::{ConnectInfo, State},
    response::IntoResponse,
    routing::get,
};
use tower_http::services::ServeDir;

use crate::{
    config::tenants::TenantId,
    web::admission::{client_address, header},
    web::state::Shared,
};

/// The relay's HTTP routes: the WebSocket, the answers below, and the app's files from
/// `static_dir` (or a line saying there are none), all behind the web front's headers.
pub(crate) fn router(
    shared: Arc<Shared>,
    static_dir: Option<std::path::PathBuf>,
    front: crate::web::headers::WebFront,
) -> Router {
    let mut app = Router::new()
        .route(protocol::WEBSOCKET_PATH, get(crate::signalling::connection::websocket))
        .route("/healthz", get(health))
        .route("/api/status", get(status))
        .route("/metrics", get(metrics))
        .route(
            "/api/invite",
            axum::routing::post(invite).layer(axum::extract::DefaultBodyLimit::max(
                crate::config::invite::MAX_REQUEST_BYTES,
            )),
        );
    app = match static_dir {
        Some(dir) => {
            // Each tenant's host gets its own look in the app's settings.
            let app = if shared.config.tenants.is_empty() {
                app
            } else {
                app.route("/config.json", get(tenant_config))
            };
            // The build writes brotli and gzip copies of its hashed files
            // (scripts/precompress.mjs); they go to browsers that accept them.
            app.fallback_service(
                ServeDir::new(dir)
                    .append_index_html_on_directories(true)
                    .precompressed_br()
                    .precompressed_gzip(),
            )
        }
        None => app.route("/", get(no_app)),
    };
    app.layer(axum::middleware::from_fn_with_state(front, crate::web::headers::WebFront::apply))
        .with_state(shared)
}

pub(crate) async fn health(State(shared): State<Arc<Shared>>) -> axum::response::Response {
    let hub = shared.hub();
    if hub.is_draining() {
        return (
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "draining: shutting down, taking no one new; {} rooms still running\n",
                hub.rooms().room_count()
            ),
        )
            .into_response();
    }
    if hub.media_stats().is_some_and(|media| !media.running) {
        return (
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "down: the media loop for server forwarding has stopped; restart the relay\n",
        )
            .into_response();
    }
    format!(
        "ok: {} rooms, {} participants\n",
        hub.rooms().room_count(),
        hub.rooms().participant_count()
    )
    .into_response()
}

/// Counts for monitoring (and the load generator): no names, no room names.
pub(crate) async fn status(State(shared): State<Arc<Shared>>) -> impl IntoResponse {
    let hub = shared.hub();
    let (connections, forwarded) =
        hub.media_stats().map_or((0, 0), |s| (s.connections, s.forwarded_packets));
    let (open, addresses) = shared.connections.open();
    axum::Json(serde_json::json!({
        "connections": open,
        "addresses": addresses,
        "rooms": hub.rooms().room_count(),
        "participants": hub.rooms().participant_count(),
        "media_connections": connections,
        "forwarded_packets": forwarded,
    }))
}

/// `GET /metrics`: counts for Prometheus, to the addresses `--metrics-allow` names.
pub(crate) async fn metrics(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: axum::http::HeaderMap,
) -> axum::response::Response {
    let config = &shared.config;
    let addr =
        client_address(peer.ip(), header(&headers, "x-forwarded-for"), &config.trusted_proxies);
    let allowed = if config.metrics_allow.is_empty() {
        addr.is_loopback()
    } else {
        config.metrics_allow.contains(&addr)
    };
    if !allowed {
        return (
            axum::http::StatusCode::FORBIDDEN,
            "Metrics are for the addresses in --metrics-allow.\n",
        )
            .into_response();
    }
    let snapshot = {
        let hub = shared.hub();
        let (open, addresses) = shared.connections.open();
        let mut by_tenant = hub.rooms().census_by_tenant();
        let tenants = if shared.config.tenants.is_empty() {
            Vec::new()
        } else {
            (0..=shared.config.tenants.len())
                .filter_map(|n| u16::try_from(n).ok().map(TenantId))
                .map(|t| {
                    (shared.tenants.label(t).to_owned(), by_tenant.remove(&t).unwrap_or_default())
                })
                .collect()
        };
        crate::ops::metrics::Snapshot {
            census: hub.rooms().census(),
            tenants,
            tally: hub.tally().clone(),
            connections: open,
            addresses,
            rate_limited: shared.rate_limited.load(Ordering::Relaxed),
            media: hub.media_stats().map(|s| crate::ops::metrics::MediaSnapshot {
                connections: s.connections,
                forwarded_packets: s.forwarded_packets,
                forwarded_per_loop: s.forwarded_per_loop,
                forwarded_bytes: s.forwarded_bytes,
                queued_commands: s.queued_commands,
                restarts: s.restarts,
                turn_allocations: s.turn_allocations,
                running: s.running,
                quality: s.quality,
            }),
        }
    };
    (
        [(axum::http::header::CONTENT_TYPE, crate::ops::metrics::CONTENT_TYPE)],
        crate::ops::metrics::render(&snapshot),
    )
        .into_response()
}

/// `POST /api/invite`: a signed link for an LMS or intranet that holds the operator key.
pub(crate) async fn invite(
    State(shared): State<Arc<Shared>>,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> impl IntoResponse {
    let authorization = headers.get("authorization").and_then(|v| v.to_str().ok());
    let unix_now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let tenant = shared.tenant_settings(shared.tenants.by_host(header(&headers, "host")));
    let (status, body) =
        crate::config::invite::answer(&shared.config, tenant, authorization, &body, unix_now);
    let status = axum::http::StatusCode::from_u16(status)
        .unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR);
    (status, axum::Json(body))
}

/// `GET /config.json` when tenants are configured: the app's settings file, with the look of
/// the tenant whose host was asked (title, logo, accent). Other hosts get the file as it is.
pub(crate) async fn tenant_config(
    State(shared): State<Arc<Shared>>,
    request: axum::extract::Request,
) -> axum::response::Response {
    use tower::ServiceExt as _;
    let Some(dir) = shared.config.static_dir.as_deref() else {
        return axum::http::StatusCode::NOT_FOUND.into_response();
    };
    let tenant = shared.tenant_settings(shared.tenants.by_host(header(request.headers(), "host")));
    let Some(tenant) = tenant else {
        return match ServeDir::new(dir).oneshot(request).await {
            Ok(response) => response.into_response(),
            Err(e) => match e {},
        };
    };
    // The deployment's file carries the relay's address; a missing or broken one counts as empty.
    let mut settings = tokio::fs::read(dir.join("config.json"))
        .await
        .ok()
        .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
        .and_then(|value| match value {
            serde_json::Value::Object(map) => Some(map),
            _ => None,
        })
        .unwrap_or_default();
    settings.extend(tenant.branding());
    axum::Json(serde_json::Value::Object(settings)).into_response()
}

pub(crate) async fn no_app() -> &'static str {
    "Treffpunkt relay. This relay was started without --static-dir, so it serves signalling only.\n"
}
