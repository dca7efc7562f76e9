//! Startup: reads the configuration once and wires the parts together: the web front, the
//! signalling hub, the media loops, TURN, and the drain on shutdown. It decides nothing itself.

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex, atomic::AtomicU64},
    time::Duration,
};

use protocol::ServerMessage;
use tokio::{
    net::TcpListener,
    sync::{mpsc, watch},
};

use tracing::info;

use crate::{
    Config,
    config::tenants::{TenantSettings, Tenants},
    media::{MediaEvent, MediaHandle},
    signalling::hub::Hub,
    signalling::ice::IceServers,
    signalling::rooms::{RoomLimits, Rooms, TenantRules},
    turn::{Credentials, TurnSettings},
    web::admission::{AllowedOrigins, Connections},
    web::serve,
    web::state::Shared,
};

/// How long shutdown waits for connections to say goodbye.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(3);

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
    certificates: Option<&Arc<crate::web::tls::Certificates>>,
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
            Some(crate::web::tls::Certificates::load(cert, key).map_err(std::io::Error::other)?)
        }
        _ => None,
    };
    tokio::spawn(crate::web::cert_reload::watch_certificates(
        certificates.clone(),
        stop_rx.clone(),
    ));
    let https = certificates.clone().filter(|_| config.https);
    let (media, ice) = start_media(&config, certificates.as_ref(), &stop_rx).await?;
    let rooms = rooms(&config, ice)?;
    let tenants = Tenants::new(&config.tenants);
    let origins = AllowedOrigins::new(&config.allowed_origins, config.public_url.as_deref())
        .map_err(std::io::Error::other)?
        .with_hosts(config.tenants.iter().flat_map(|t| t.hosts.iter().cloned()));
    let connections = Connections::new(config.max_connections_per_address, config.max_connections);
    let static_dir = config.static_dir.clone();
    let front = crate::web::headers::WebFront::new(static_dir.as_deref());
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

    let app = crate::web::routes::router(Arc::clone(&shared), static_dir, front);

    if let Some((handle, signals)) = media {
        shared.hub().set_media(handle);
        tokio::spawn(carry_media_events(Arc::clone(&shared), signals));
    }
    tokio::spawn(expire_seats(Arc::clone(&shared), stop_rx.clone()));

    if let Some(plain) = shared.config.redirect_http_listen {
        let plain_listener = TcpListener::bind(plain).await?;
        let https_port = listener.local_addr()?.port();
        let redirect =
            crate::web::redirect::Redirect::new(shared.config.public_url.as_deref(), https_port);
        let plain_app =
            crate::web::redirect::router(redirect, shared.config.acme_webroot.as_deref());
        let places = serve::places(shared.config.max_connections_per_address);
        tokio::spawn(serve::serve(plain_listener, None, plain_app, places, stop_rx.clone()));
        info!(%plain, "plain HTTP is sent on to HTTPS");
    }

    tokio::spawn(crate::ops::drain::drain_then_stop(signals, shared.clone(), stop_tx));
    let tls = match https {
        Some(certificates) => Some(tokio_rustls::TlsAcceptor::from(
            certificates.server_config(&[b"http/1.1"]).map_err(std::io::Error::other)?,
        )),
        None => None,
    };
    let places = serve::places(shared.config.max_connections_per_address);
    serve::serve(listener, tls, app, places, stop_rx).await;

    // Wait (briefly) for the WebSocket tasks, which run outside the HTTP server's bookkeeping.
    drop(shared);
    let _ = tokio::time::timeout(DRAIN_TIMEOUT, alive_rx.recv()).await;
    info!("relay stopped");
    Ok(())
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

/// Starts the media loops (and TURN in them) when server forwarding is on, and returns their
/// handle with the ICE servers participants get: the configured ones, plus the relay's own
/// TURN (and TURN over TLS) when it runs.
async fn start_media(
    config: &Config,
    certificates: Option<&Arc<crate::web::tls::Certificates>>,
    stop_rx: &watch::Receiver<bool>,
) -> std::io::Result<(Option<(MediaHandle, mpsc::UnboundedReceiver<MediaEvent>)>, IceServers)> {
    let turn = if config.no_turn || !config.sfu_enabled() {
        None
    } else {
        Some(TurnSettings {
            credentials: turn_credentials(config)?,
            relay_ports: config.turn_relay_ports.clone(),
            listen: config.turn_bind(),
        })
    };
    let media = if !config.sfu_enabled() {
        None
    } else {
        Some(
            crate::media::spawn(
                config.media_bind(),
                config.media_announce_ip,
                turn.clone(),
                crate::media::loops(config.media_threads),
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
            let port = turn_over_tls(certificates, listen, clients).await?;
            if let Some(host) = config.turn_tls_host(port) {
                ice = ice.with_own_turns(&host);
            }
        }
    }
    Ok((media, ice))
}

/// The rooms, with the relay's limits, link keys and tenants.
fn rooms(config: &Config, ice: IceServers) -> std::io::Result<Rooms> {
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
    Ok(rooms.with_tenants(config.tenants.iter().map(tenant_rules).collect()))
}

/// Answers and offers from the media loop travel to participants over signalling.
async fn carry_media_events(shared: Arc<Shared>, mut signals: mpsc::UnboundedReceiver<MediaEvent>) {
    while let Some(event) = signals.recv().await {
        match event {
            MediaEvent::Signal { to, signal } => shared.hub().send_to_participant(
                to,
                ServerMessage::RelaySignal { signal },
                crate::signalling::Now::read(),
            ),
            MediaEvent::Restarted { lost } => shared.hub().media_lost(&lost),
        }
    }
}

/// Seats of broken connections run out: the hub is told the time every second.
async fn expire_seats(shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    let mut every = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            _ = every.tick() => shared.hub().tick(crate::signalling::Now::read()),
            _ = stop.wait_for(|stop| *stop) => break,
        }
    }
}
