//! The I/O shell: HTTP routes, static files, and one task per WebSocket connection.
//!
//! Each connection task selects over its socket, its outbox, a keepalive ticker and the shutdown
//! signal. All decisions are made by [`Session`] (per connection) and [`Hub`] (per relay).

use std::{
    net::SocketAddr,
    sync::{
        Arc, Mutex, MutexGuard,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use axum::{
    Router,
    extract::{
        ConnectInfo, State, WebSocketUpgrade,
        ws::{CloseFrame, Message, WebSocket, close_code},
    },
    response::IntoResponse,
    routing::get,
};
use futures_util::{SinkExt, StreamExt};
use protocol::{ErrorCode, ServerMessage};
use tokio::{
    net::TcpListener,
    sync::{mpsc, watch},
};
use tower_http::services::ServeDir;
use tracing::{debug, info, warn};

use crate::{
    Config,
    admission::{AllowedOrigins, Connections, Refused, client_address},
    http_server,
    hub::{After, Hub},
    ice::IceServers,
    rooms::{ConnId, RoomLimits, Rooms, TenantRules},
    session::{Frame, Session, SessionLimits, Step, Tick},
    sfu::MediaEvent,
    tenants::{TenantId, TenantSettings, Tenants},
    turn::{Credentials, TurnSettings},
};

/// How often a connection asks its session's keepalive what to do (ping, or close).
const KEEPALIVE_TICK: Duration = Duration::from_secs(1);
/// Read and write buffer of each WebSocket.
const SOCKET_BUFFER_BYTES: usize = 8 * 1024;
/// How long a closing connection waits for the client's close frame.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);
/// How long one message may take to go out before the client counts as not reading.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long shutdown waits for connections to say goodbye.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(3);

/// What every request handler shares.
struct Shared {
    /// Settings.
    config: Config,
    /// Rooms and outboxes.
    hub: Mutex<Hub>,
    /// Numbers connections.
    next_conn: AtomicU64,
    /// Turns `true` when the relay shuts down.
    shutdown: watch::Receiver<bool>,
    /// Held by every connection task; shutdown waits until all are dropped.
    alive: mpsc::Sender<()>,
    /// Pages whose WebSockets are accepted.
    origins: AllowedOrigins,
    /// Which host belongs to which tenant.
    tenants: Tenants,
    /// Open connections per address and in all.
    connections: Connections,
    /// Signalling messages the rate limit dropped, all connections together.
    rate_limited: AtomicU64,
}

impl Shared {
    /// The settings of `tenant`, if it is one of the configured tenants.
    fn tenant_settings(&self, tenant: Option<TenantId>) -> Option<&TenantSettings> {
        let TenantId(n) = tenant?;
        usize::from(n).checked_sub(1).and_then(|i| self.config.tenants.get(i))
    }

    fn hub(&self) -> MutexGuard<'_, Hub> {
        // A panic while holding the lock would be a bug in `Hub`; the state it guards is still
        // consistent at every await point, so keep serving rather than poisoning every request.
        self.hub.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// How long TURN credentials handed out in `welcome` stay valid: longer than any meeting.
const TURN_CREDENTIAL_TTL: u64 = 12 * 3600;

/// The signer of TURN credentials: the configured secret, or a random one.
fn turn_credentials(config: &Config) -> std::io::Result<Credentials> {
    let crypto = rtc::crypto::default_provider().map_err(std::io::Error::other)?;
    let secret = match &config.turn_secret {
        Some(secret) => secret.as_bytes().to_vec(),
        None => {
            let mut secret = vec![0u8; 32];
            crypto.random().fill(&mut secret).map_err(std::io::Error::other)?;
            secret
        }
    };
    Ok(Credentials::new(secret, TURN_CREDENTIAL_TTL, crypto))
}

/// Starts TURN over TLS on `listen` with the operator's certificate; returns the bound port.
async fn turn_over_tls(
    certificates: Option<&Arc<crate::tls::Certificates>>,
    listen: SocketAddr,
    clients: crate::turn::io::TurnClients,
) -> std::io::Result<u16> {
    let Some(certificates) = certificates else {
        return Err(std::io::Error::other("TURN over TLS needs --tls-cert and --tls-key"));
    };
    let tls = certificates.server_config(&[]).map_err(std::io::Error::other)?;
    let listener = TcpListener::bind(listen).await.map_err(|e| {
        std::io::Error::new(e.kind(), format!("cannot listen for TURN over TLS on {listen}: {e}"))
    })?;
    let bound = listener.local_addr()?;
    tracing::info!(%bound, "TURN over TLS ready");
    tokio::spawn(crate::turn::io::accept_tls(listener, tls.into(), clients));
    Ok(bound.port())
}

/// Runs the relay on `listener` until the first of `signals` (SIGTERM, Ctrl-C; or the stream's
/// end): then it drains (`--drain-secs`: no one new, meetings go on until they end, the time is
/// up or another signal comes), closes every connection with a "restarting" goodbye and returns.
pub async fn run(
    listener: TcpListener,
    config: Config,
    signals: impl futures_util::Stream<Item = ()> + Send + Unpin + 'static,
) -> std::io::Result<()> {
    config.check().map_err(std::io::Error::other)?;
    let (stop_tx, stop_rx) = watch::channel(false);
    let (alive_tx, mut alive_rx) = mpsc::channel::<()>(1);
    // One certificate for HTTPS and TURN over TLS, reloaded when its files change.
    let certificates = match (config.tls_cert.as_deref(), config.tls_key.as_deref()) {
        (Some(cert), Some(key)) => {
            Some(crate::tls::Certificates::load(cert, key).map_err(std::io::Error::other)?)
        }
        _ => None,
    };
    tokio::spawn(crate::https::watch_certificates(certificates.clone(), stop_rx.clone()));
    let https = certificates.clone().filter(|_| config.https);
    let turn = if config.no_turn || !config.sfu_enabled() {
        None
    } else {
        Some(TurnSettings {
            credentials: turn_credentials(&config)?,
            relay_ports: config.turn_relay_ports.clone(),
            listen: config.turn_bind(),
        })
    };
    let media = if !config.sfu_enabled() {
        None
    } else {
        Some(
            crate::sfu::spawn(
                config.media_bind(),
                config.media_announce_ip,
                turn.clone(),
                crate::sfu::loops(config.media_threads),
                stop_rx.clone(),
            )
            .await?,
        )
    };
    let mut ice = IceServers::configured(config.ice_server_list());
    if let (Some(turn), Some((address, tcp))) =
        (turn, media.as_ref().and_then(|(h, _)| Some((h.turn_address?, h.turn_tcp))))
    {
        ice = ice.with_own_turn(address, tcp, turn.credentials);
        let clients = media.as_ref().and_then(|(h, _)| h.turn_clients.clone());
        if let (Some(listen), Some(clients)) = (config.turn_tls_listen, clients) {
            let port = turn_over_tls(certificates.as_ref(), listen, clients).await?;
            if let Some(host) = config.turn_tls_host(port) {
                ice = ice.with_own_turns(&host);
            }
        }
    }
    let links = config.link_keys().map_err(std::io::Error::other)?;
    let rooms = Rooms::new(
        RoomLimits {
            capacity: config.room_capacity as usize,
            max_rooms: config.max_rooms,
            mesh_threshold: (config.mesh_threshold > 0).then_some(config.mesh_threshold as usize),
            sfu_rooms: config.sfu_rooms.clone(),
            resume_grace: config.resume_grace(),
        },
        ice,
    );
    let rooms = match links {
        Some(keys) => rooms.with_links(keys),
        None => rooms,
    };
    let rooms = rooms.with_tenants(config.tenants.iter().map(tenant_rules).collect());
    let tenants = Tenants::new(&config.tenants);
    let origins = AllowedOrigins::new(&config.allowed_origins, config.public_url.as_deref())
        .map_err(std::io::Error::other)?
        .with_hosts(config.tenants.iter().flat_map(|t| t.hosts.iter().cloned()));
    let connections = Connections::new(config.max_connections_per_address, config.max_connections);
    let static_dir = config.static_dir.clone();
    let front = crate::web::WebFront::new(static_dir.as_deref());
    let shared = Arc::new(Shared {
        config,
        hub: Mutex::new(Hub::new(rooms)),
        next_conn: AtomicU64::new(1),
        shutdown: stop_rx.clone(),
        alive: alive_tx,
        origins,
        tenants,
        connections,
        rate_limited: AtomicU64::new(0),
    });

    let mut app = Router::new()
        .route(protocol::WEBSOCKET_PATH, get(websocket))
        .route("/healthz", get(health))
        .route("/api/status", get(status))
        .route("/metrics", get(metrics))
        .route(
            "/api/invite",
            axum::routing::post(invite)
                .layer(axum::extract::DefaultBodyLimit::max(crate::invite::MAX_REQUEST_BYTES)),
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
    let app = app
        .layer(axum::middleware::from_fn_with_state(front, crate::web::WebFront::apply))
        .with_state(Arc::clone(&shared));

    // Answers and offers from the media loop travel to participants over signalling.
    if let Some((handle, mut signals)) = media {
        shared.hub().set_media(handle);
        let shared = Arc::clone(&shared);
        tokio::spawn(async move {
            while let Some(event) = signals.recv().await {
                match event {
                    MediaEvent::Signal { to, signal } => {
                        shared.hub().send_to_participant(to, ServerMessage::RelaySignal { signal })
                    }
                    MediaEvent::Restarted { lost } => shared.hub().media_lost(&lost),
                }
            }
        });
    }

    // Seats of broken connections run out.
    {
        let shared = Arc::clone(&shared);
        let mut stop = stop_rx.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_secs(1));
            loop {
                tokio::select! {
                    _ = every.tick() => shared.hub().tick(std::time::Instant::now()),
                    _ = stop.wait_for(|stop| *stop) => break,
                }
            }
        });
    }

    if let Some(plain) = shared.config.redirect_http_listen {
        let plain_listener = TcpListener::bind(plain).await?;
        let https_port = listener.local_addr()?.port();
        let redirect =
            crate::redirect::Redirect::new(shared.config.public_url.as_deref(), https_port);
        let plain_app = crate::redirect::router(redirect, shared.config.acme_webroot.as_deref());
        let places = http_server::places(shared.config.max_connections_per_address);
        tokio::spawn(http_server::serve(plain_listener, None, plain_app, places, stop_rx.clone()));
        info!(%plain, "plain HTTP is sent on to HTTPS");
    }

    tokio::spawn(drain_then_stop(signals, shared.clone(), stop_tx));
    let tls = match https {
        Some(certificates) => Some(tokio_rustls::TlsAcceptor::from(
            certificates.server_config(&[b"http/1.1"]).map_err(std::io::Error::other)?,
        )),
        None => None,
    };
    let places = http_server::places(shared.config.max_connections_per_address);
    http_server::serve(listener, tls, app, places, stop_rx).await;

    // Wait (briefly) for the WebSocket tasks, which run outside the HTTP server's bookkeeping.
    drop(shared);
    let _ = tokio::time::timeout(DRAIN_TIMEOUT, alive_rx.recv()).await;
    info!("relay stopped");
    Ok(())
}

/// Waits for the first signal, lets the meetings drain (see `run`), then tells every
/// connection to stop.
async fn drain_then_stop(
    mut signals: impl futures_util::Stream<Item = ()> + Unpin,
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
) {
    let _ = signals.next().await;
    let drain = shared.config.drain();
    let rooms = shared.hub().rooms().room_count();
    if !drain.is_zero() && rooms > 0 {
        shared.hub().drain();
        info!(
            rooms,
            "draining: no one new; stopping when the meetings end, in {drain:?} at most, or on another signal"
        );
        let deadline = tokio::time::sleep(drain);
        tokio::pin!(deadline);
        let mut every = tokio::time::interval(Duration::from_secs(1));
        let mut listening = true;
        loop {
            tokio::select! {
                () = &mut deadline => {
                    info!("drain time is up");
                    break;
                }
                signal = signals.next(), if listening => match signal {
                    Some(()) => {
                        info!("another signal: not waiting for the meetings to end");
                        break;
                    }
                    None => listening = false,
                },
                _ = every.tick() => {
                    if shared.hub().rooms().room_count() == 0 {
                        info!("every meeting has ended");
                        break;
                    }
                }
            }
        }
    }
    let _ = stop.send(true);
}

async fn health(State(shared): State<Arc<Shared>>) -> axum::response::Response {
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
async fn status(State(shared): State<Arc<Shared>>) -> impl IntoResponse {
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
async fn metrics(
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
        crate::metrics::Snapshot {
            census: hub.rooms().census(),
            tenants,
            tally: hub.tally().clone(),
            connections: open,
            addresses,
            rate_limited: shared.rate_limited.load(Ordering::Relaxed),
            media: hub.media_stats().map(|s| crate::metrics::MediaSnapshot {
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
        [(axum::http::header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE)],
        crate::metrics::render(&snapshot),
    )
        .into_response()
}

/// `POST /api/invite`: a signed link for an LMS or intranet that holds the operator key.
async fn invite(
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
        crate::invite::answer(&shared.config, tenant, authorization, &body, unix_now);
    let status = axum::http::StatusCode::from_u16(status)
        .unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR);
    (status, axum::Json(body))
}

/// What a tenant's settings change for its rooms.
fn tenant_rules(tenant: &TenantSettings) -> TenantRules {
    TenantRules {
        capacity: tenant.room_capacity.map(|c| c as usize),
        max_rooms: tenant.max_rooms,
        sfu_rooms: tenant.sfu_rooms.clone(),
        room_names: tenant.room_names.clone(),
        links: tenant.link_keys(),
    }
}

/// `GET /config.json` when tenants are configured: the app's settings file, with the look of
/// the tenant whose host was asked (title, logo, accent). Other hosts get the file as it is.
async fn tenant_config(
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

async fn no_app() -> &'static str {
    "Treffpunkt relay. This relay was started without --static-dir, so it serves signalling only.\n"
}

/// A header's value as text, if it has one.
fn header<'a>(headers: &'a axum::http::HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

async fn websocket(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: axum::http::HeaderMap,
    upgrade: WebSocketUpgrade,
) -> axum::response::Response {
    use axum::http::StatusCode;
    let addr = client_address(
        peer.ip(),
        header(&headers, "x-forwarded-for"),
        &shared.config.trusted_proxies,
    );
    let (origin, host) = (header(&headers, "origin"), header(&headers, "host"));
    if !shared.origins.allows(origin, host) {
        warn!(%addr, ?origin, ?host, "refused a WebSocket from a page of another origin (--allowed-origins; behind a proxy: proxy_set_header Host $host, or --public-url)");
        return (StatusCode::FORBIDDEN, "This page may not use this relay.\n").into_response();
    }
    let tenant = shared.tenants.of_connection(origin, host);
    let place = match shared.connections.admit(addr) {
        Ok(place) => place,
        Err(refused) => {
            debug!(%addr, "refused a connection: {refused}");
            let status = match refused {
                Refused::TooManyFromAddress => StatusCode::TOO_MANY_REQUESTS,
                Refused::Full => StatusCode::SERVICE_UNAVAILABLE,
            };
            return (status, format!("{refused}\n")).into_response();
        }
    };
    // Frames somewhat over the limit are read and answered with `message_too_large`; frames far
    // over it are not even buffered, and end the connection.
    let hard_limit = shared.config.max_message_bytes.saturating_mul(4).max(1 << 20);
    upgrade
        // Signalling is a trickle of small messages; tungstenite's 128 KiB default buffers would
        // cost far more memory per participant than everything else together.
        .read_buffer_size(SOCKET_BUFFER_BYTES)
        .write_buffer_size(SOCKET_BUFFER_BYTES)
        .max_message_size(hard_limit)
        .max_frame_size(hard_limit)
        .on_upgrade(move |socket| async move {
            connection(socket, shared, peer, addr, tenant).await;
            drop(place);
        })
        .into_response()
}

/// Runs one WebSocket connection from upgrade to close.
async fn connection(
    socket: WebSocket,
    shared: Arc<Shared>,
    peer: SocketAddr,
    addr: std::net::IpAddr,
    tenant: TenantId,
) {
    let _alive = shared.alive.clone();
    let conn = ConnId(shared.next_conn.fetch_add(1, Ordering::Relaxed));
    debug!(?conn, %peer, tenant = shared.tenants.label(tenant), "connected");
    let (outbox, mut inbox) = crate::outbox::outbox();
    let abandon = inbox.watch_abandon();
    shared.hub().connect(conn, outbox, Some(addr), tenant);

    let config = &shared.config;
    let mut session = Session::new(
        SessionLimits {
            max_message_bytes: config.max_message_bytes,
            messages_per_second: config.messages_per_second,
            message_burst: config.message_burst,
            idle_timeout: config.idle_timeout(),
        },
        Instant::now(),
    );
    let (mut sink, mut stream) = socket.split();
    let mut keepalive = tokio::time::interval(KEEPALIVE_TICK);
    keepalive.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut shutdown = shared.shutdown.clone();
    // A closing handshake from the browser (a closed tab) or a protocol violation ends the
    // participant's seat; a connection that just broke keeps it for the grace period.
    let mut gone_for_good = false;
    // The client stopped reading: closing politely would only wait for it again.
    let mut stuck = false;

    let close: Option<(u16, String)> = loop {
        tokio::select! {
            frame = stream.next() => {
                let now = Instant::now();
                session.heard(now);
                let step = match frame {
                    Some(Ok(Message::Text(text))) => session.on_frame(now, Frame::Text(text.as_str())),
                    Some(Ok(Message::Binary(bytes))) => session.on_frame(now, Frame::Binary(bytes.len())),
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                    Some(Ok(Message::Close(frame))) => {
                        // A client that replaces this connection says so; it keeps its seat.
                        gone_for_good = frame.is_none_or(|f| f.code != protocol::CLOSE_RECONNECTING);
                        break None;
                    }
                    None => break None,
                    Some(Err(e)) => {
                        debug!(?conn, "socket error: {e}");
                        break Some((close_code::SIZE, "message too large or malformed frame".into()));
                    }
                };
                let dropped = session.take_dropped();
                if dropped > 0 {
                    shared.rate_limited.fetch_add(dropped, Ordering::Relaxed);
                }
                match step {
                    Step::Handle(message) => {
                        let after = shared.hub().handle(conn, message);
                        if let After::WaitForMedia(command) = after {
                            // Back-pressure: this connection is read on once its signal is in
                            // the media loop's queue, or refused after a while, never lost.
                            let media = shared.hub().media();
                            if let Some(media) = media
                                && let Err(busy) = media.send_waiting(command, crate::sfu::SIGNAL_WAIT).await
                            {
                                warn!(?conn, "signal refused: the media loop stayed full");
                                shared.hub().media_refused(conn, &busy);
                            }
                        } else if after.restarts() {
                            // A join while the relay drains: the answer goes out, then the
                            // browser is sent to try again.
                            while let Some(queued) = inbox.try_recv() {
                                if send_within(&mut sink, Message::Text(queued.into())).await.is_err() {
                                    break;
                                }
                            }
                            gone_for_good = true;
                            break Some((close_code::RESTART, "relay restarting: no new joins".into()));
                        }
                    }
                    Step::Reply(reply) => { shared.hub().send(conn, reply); }
                    Step::Ignore => {}
                    Step::Close(farewell) => {
                        warn!(?conn, %peer, "closing connection: {farewell:?}");
                        // What was queued before the violation still goes out, in order.
                        while let Some(queued) = inbox.try_recv() {
                            if send_within(&mut sink, Message::Text(queued.into())).await.is_err() {
                                break;
                            }
                        }
                        let _ = send_within(&mut sink, text(&farewell)).await;
                        gone_for_good = true;
                        break Some((close_code::POLICY, "protocol violation".into()));
                    }
                }
            }
            queued = inbox.recv() => match queued {
                Some(message) => {
                    let began = Instant::now();
                    let sent = tokio::select! {
                        sent = send_within(&mut sink, Message::Text(message.into())) => sent,
                        () = abandon.abandoned() => Err(Unsent::TooSlow),
                    };
                    match sent {
                        Ok(()) => {}
                        Err(Unsent::Broken) => break None,
                        Err(Unsent::TooSlow) => {
                            // The socket takes nothing: no goodbye would get through either.
                            info!(?conn, %peer, "not reading; closing");
                            stuck = true;
                            break None;
                        }
                    }
                    // Nothing is read while a slow client makes us wait to write: that time
                    // must not count as the client's silence.
                    session.excuse(began.elapsed());
                }
                // The hub dropped our outbox: we fell too far behind, or the hub ended the
                // connection (removed by a host, whose message went out first; or lost by the
                // media loop, and the browser comes back into its seat).
                None if abandon.is_abandoned() => {
                    break Some((close_code::POLICY, "too slow to keep up with the room".into()))
                }
                None => break Some((close_code::NORMAL, "ended by the relay".into())),
            },
            () = abandon.abandoned() => {
                break Some((close_code::POLICY, "too slow to keep up with the room".into()));
            }
            _ = keepalive.tick() => match session.on_tick(Instant::now()) {
                Tick::Wait => {}
                Tick::Ping => {
                    let began = Instant::now();
                    if send_within(&mut sink, Message::Ping(Default::default())).await.is_err() {
                        break None;
                    }
                    session.excuse(began.elapsed());
                }
                Tick::HelloOverdue(farewell) => {
                    debug!(?conn, %peer, "no hello in time; closing");
                    let _ = send_within(&mut sink, text(&farewell)).await;
                    gone_for_good = true;
                    break Some((close_code::POLICY, "no hello".into()));
                }
                Tick::Silent { for_ } => {
                    info!(?conn, silent = ?for_, "silent for longer than {:?}; closing", config.idle_timeout());
                    break Some((close_code::AWAY, "idle timeout".into()));
                }
            },
            _ = stopped(&mut shutdown) => {
                let goodbye = ServerMessage::Error {
                    request_id: None,
                    code: ErrorCode::ShuttingDown,
                    message: "The relay is restarting. Please rejoin in a moment.".into(),
                };
                let _ = send_within(&mut sink, text(&goodbye)).await;
                break Some((close_code::RESTART, "relay shutting down".into()));
            }
        }
    };

    shared.hub().disconnect(conn, gone_for_good);
    if stuck {
        debug!(?conn, "disconnected (not reading)");
        return;
    }
    if let Some((code, reason)) = close {
        let close = Message::Close(Some(CloseFrame { code, reason: reason.into() }));
        let _ = send_within(&mut sink, close).await;
        // Complete the closing handshake: read (and discard) until the client's close arrives,
        // so unread input does not turn the close into a TCP reset that destroys the goodbye.
        let _ = tokio::time::timeout(CLOSE_TIMEOUT, async {
            while let Some(Ok(frame)) = stream.next().await {
                if matches!(frame, Message::Close(_)) {
                    break;
                }
            }
        })
        .await;
    }
    let _ = tokio::time::timeout(CLOSE_TIMEOUT, sink.close()).await;
    debug!(?conn, "disconnected");
}

/// Why a message did not go out.
enum Unsent {
    /// The connection is gone.
    Broken,
    /// The client did not take it within [`WRITE_TIMEOUT`]: it stopped reading.
    TooSlow,
}

/// Sends `message`, giving up after [`WRITE_TIMEOUT`] (a client that stops reading must not
/// hold its task, its memory and its socket forever).
async fn send_within(
    sink: &mut futures_util::stream::SplitSink<WebSocket, Message>,
    message: Message,
) -> Result<(), Unsent> {
    match tokio::time::timeout(WRITE_TIMEOUT, sink.send(message)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(_)) => Err(Unsent::Broken),
        Err(_) => Err(Unsent::TooSlow),
    }
}

/// Completes once the relay is shutting down.
async fn stopped(shutdown: &mut watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|stop| *stop).await;
}

fn text(message: &ServerMessage) -> Message {
    Message::Text(protocol::encode(message).into())
}
