//! The media loop: owns the UDP socket and the clock, feeds the engine, carries out its output.

use std::{
    net::{IpAddr, SocketAddr},
    time::{Duration, Instant},
};

use std::sync::{
    Arc,
    atomic::{AtomicU64, Ordering},
};

use protocol::{ParticipantId, Signal, VideoQuality};
use tokio::{
    net::UdpSocket,
    sync::{mpsc, watch},
};
use tracing::{info, warn};

use super::{
    engine::{Output, Sfu},
    forward::Wanted,
};
use crate::turn::{
    Limits as TurnLimits, TurnServer,
    io::{Event as TurnEvent, TurnClients, TurnIo},
};

/// What the media loop reports about itself, readable from anywhere.
#[derive(Debug, Default)]
pub struct MediaStats {
    /// Participants with a media connection to the relay.
    pub connections: AtomicU64,
    /// RTP packets forwarded since start (all subscribers together).
    pub forwarded_packets: AtomicU64,
}

/// Datagrams taken from the socket in one go before the loop looks at its timers again.
const RECEIVE_BATCH: usize = 64;

/// What signalling asks of the media loop.
#[derive(Debug)]
pub enum MediaCommand {
    /// A participant entered an SFU room.
    Join {
        /// Who.
        id: ParticipantId,
        /// Which room.
        room: String,
    },
    /// A negotiation message from a participant to the relay.
    Signal {
        /// From whom.
        id: ParticipantId,
        /// The offer, answer or candidate.
        signal: Signal,
    },
    /// A participant says how big it shows another's video.
    ReceiveVideo {
        /// The subscriber.
        id: ParticipantId,
        /// The publisher.
        from: ParticipantId,
        /// The quality that fits the tile.
        quality: VideoQuality,
    },
    /// A host locked (or allowed again) a participant's microphone: none of their sound is
    /// forwarded while `silenced`.
    Silence {
        /// Whose.
        id: ParticipantId,
        /// Whether their audio is dropped.
        silenced: bool,
    },
    /// Whose camera goes to whom (see [`Sfu::set_camera_rule`]).
    CameraRule {
        /// Whose.
        id: ParticipantId,
        /// Their camera goes only to those who see every camera.
        private: bool,
        /// They see every camera.
        sees_all: bool,
    },
    /// A listener's media connection: nothing they send is forwarded.
    ReceiveOnly {
        /// Whose.
        id: ParticipantId,
    },
    /// A participant left or was disconnected.
    Leave {
        /// Who.
        id: ParticipantId,
    },
}

/// How signalling talks to the media loop.
#[derive(Debug, Clone)]
pub struct MediaHandle {
    /// Commands for the loop; unbounded because signalling must never wait for media.
    commands: mpsc::UnboundedSender<MediaCommand>,
    /// The media port's address as announced to browsers.
    pub address: SocketAddr,
    /// The TURN port's address as announced to browsers, when TURN runs.
    pub turn_address: Option<SocketAddr>,
    /// Whether TURN over TCP listens on the same port number.
    pub turn_tcp: bool,
    /// The way in for TURN clients over TLS (accepted on the signalling runtime).
    pub turn_clients: Option<TurnClients>,
    /// Counters, updated by the loop.
    pub stats: Arc<MediaStats>,
}

impl MediaHandle {
    /// Sends a command; if the loop has stopped (shutdown), the command is dropped.
    pub fn send(&self, command: MediaCommand) {
        let _ = self.commands.send(command);
    }
}

/// Binds the media port and starts the loop on a thread of its own. Signals for participants come
/// out of the returned receiver. `announce` replaces the bound IP in candidates (for `0.0.0.0`
/// binds and NAT).
///
/// Why a thread of its own: the media loop is nearly always ready to run (a datagram is always
/// waiting under load). Sharing the signalling runtime's workers with it starved the WebSocket
/// tasks on a busy two-core machine: measured in the twelve-person browser test, one worker kept
/// running the media loop while the other stayed parked, no WebSocket task ran (no ping sent, no
/// frame read) for ten seconds, and the idle check then closed every connection at once. On its
/// own thread the loop can be as busy as it likes; signalling keeps the runtime to itself.
pub async fn spawn(
    bind: SocketAddr,
    announce: Option<IpAddr>,
    turn: Option<crate::turn::TurnSettings>,
    shutdown: watch::Receiver<bool>,
) -> std::io::Result<(MediaHandle, mpsc::UnboundedReceiver<(ParticipantId, Signal)>)> {
    let socket = std::net::UdpSocket::bind(bind)?;
    socket.set_nonblocking(true)?;
    let buffers = super::buffers::enlarge(&socket)?;
    let bound = socket.local_addr()?;
    let address = SocketAddr::new(announce.unwrap_or(bound.ip()), bound.port());
    if address.ip().is_unspecified() {
        warn!(%bind, "the media port is bound to all interfaces but no --media-announce-ip is set: browsers cannot reach server forwarding or TURN until it is");
    } else if address.ip().is_loopback() {
        warn!(%address, "the media port (server forwarding) and TURN are reachable from this computer only: fine for trying Treffpunkt here; on a server bind them to its public address: --media-listen <ip>:50000 --turn-listen <ip>:3478 (docs/deploy.md)");
    }
    info!(%address, receive_buffer = buffers.receive, send_buffer = buffers.send, "media port ready");
    let (commands, command_rx) = mpsc::unbounded_channel();
    let (signals, signal_rx) = mpsc::unbounded_channel();
    let sfu = Sfu::new(address);
    let turn = match turn {
        Some(settings) => Some(turn_ports(settings, announce)?),
        None => None,
    };
    let turn_address = turn.as_ref().map(|t| t.address);
    let turn_tcp = turn.as_ref().is_some_and(|t| t.tcp.is_some());
    let stats = Arc::new(MediaStats::default());
    let published = stats.clone();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    // The TURN shell's sockets and tasks belong to the media runtime; they start running with it.
    let turn = {
        let _media_runtime = runtime.enter();
        turn.and_then(|t| {
            let socket = UdpSocket::from_std(t.udp)
                .map_err(|e| warn!("the TURN port cannot be used: {e}"))
                .ok()?;
            let io = TurnIo::new(t.server, socket, t.udp_bound.ip(), t.relay_ports);
            match t.tcp.map(tokio::net::TcpListener::from_std).transpose() {
                Ok(Some(listener)) => io.listen_tcp(listener),
                Ok(None) => {}
                Err(e) => warn!("TURN over TCP cannot be used: {e}"),
            }
            Some(io)
        })
    };
    let turn_clients = turn.as_ref().map(TurnIo::clients);
    std::thread::Builder::new().name("media".into()).spawn(move || {
        runtime.block_on(async move {
            match UdpSocket::from_std(socket) {
                Ok(socket) => {
                    media_loop(socket, sfu, turn, command_rx, signals, published, shutdown).await
                }
                Err(e) => warn!("the media port cannot be used: {e}"),
            }
        });
    })?;
    Ok((MediaHandle { commands, address, turn_address, turn_tcp, turn_clients, stats }, signal_rx))
}

/// The TURN server and its bound ports, ready for the media thread.
struct TurnPorts {
    server: TurnServer,
    udp: std::net::UdpSocket,
    udp_bound: SocketAddr,
    tcp: Option<std::net::TcpListener>,
    relay_ports: std::ops::RangeInclusive<u16>,
    /// As announced to browsers.
    address: SocketAddr,
}

/// How many ports to try when `--turn-listen` leaves the port to the system (port 0), looking for
/// one that is free for both UDP and TCP.
const ANY_PORT_ATTEMPTS: usize = 16;

/// Binds the TURN port (UDP, and TCP on the same number if free) and makes the server.
///
/// Why a port of its own rather than the media port: Chromium sends its host candidates and its
/// TURN allocations from one socket and takes everything that comes from the TURN server's
/// address for TURN. With TURN on the media port, forwarding's answers to Chromium's direct
/// checks were swallowed, and every Chromium in the twelve-person test sent all its media
/// through its own TURN allocation at the relay (measured: 3 of 3).
fn turn_ports(
    settings: crate::turn::TurnSettings,
    announce: Option<IpAddr>,
) -> std::io::Result<TurnPorts> {
    let (udp, tcp) = bind_udp_and_tcp(settings.listen)?;
    udp.set_nonblocking(true)?;
    let _ = socket2::SockRef::from(&udp).set_recv_buffer_size(super::buffers::MEDIA_SOCKET_BUFFER);
    let udp_bound = udp.local_addr()?;
    let address = SocketAddr::new(announce.unwrap_or(udp_bound.ip()), udp_bound.port());
    let crypto = rtc::crypto::default_provider().map_err(std::io::Error::other)?;
    let server = TurnServer::new(
        crate::turn::REALM.into(),
        settings.credentials,
        crypto,
        address.ip(),
        TurnLimits::default(),
    );
    let tcp = match tcp {
        Ok(listener) => {
            listener.set_nonblocking(true)?;
            Some(listener)
        }
        Err(e) => {
            warn!(%udp_bound, "TURN over TCP is off, the port is taken for TCP: {e}. Browsers behind firewalls that block UDP will not connect");
            None
        }
    };
    info!(%address, tcp = tcp.is_some(), "STUN and TURN ready");
    Ok(TurnPorts { server, udp, udp_bound, tcp, relay_ports: settings.relay_ports, address })
}

/// Binds `listen` for UDP, and the same port number for TCP. A fixed port is taken as it is (TCP
/// may fail: the caller says so). Port 0 lets the system pick, and a port it picks for UDP may be
/// in use for TCP (by any outgoing connection's local port), so a few are tried until one is free
/// for both.
fn bind_udp_and_tcp(
    listen: SocketAddr,
) -> std::io::Result<(std::net::UdpSocket, std::io::Result<std::net::TcpListener>)> {
    let mut last = None;
    for _ in 0..ANY_PORT_ATTEMPTS {
        let udp = std::net::UdpSocket::bind(listen)?;
        let tcp = std::net::TcpListener::bind(udp.local_addr()?);
        if tcp.is_ok() || listen.port() != 0 {
            return Ok((udp, tcp));
        }
        last = Some((udp, tcp));
    }
    last.ok_or_else(|| std::io::Error::other("no port tried"))
}

/// Feeds the engine datagrams, commands and time, and carries out what it asks, until shutdown
/// or until signalling drops its handle.
async fn media_loop(
    socket: UdpSocket,
    mut sfu: Sfu,
    mut turn: Option<TurnIo>,
    mut command_rx: mpsc::UnboundedReceiver<MediaCommand>,
    signals: mpsc::UnboundedSender<(ParticipantId, Signal)>,
    published: Arc<MediaStats>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut buffer = vec![0u8; 2048];
    loop {
        // Carry out everything the engine wants done.
        while let Some(output) = sfu.poll_output() {
            match output {
                Output::Transmit { to, data } => {
                    if let Err(e) = socket.try_send_to(&data, to) {
                        // A full socket buffer drops the datagram, as a network would.
                        tracing::debug!(%to, "send failed: {e}");
                    }
                }
                Output::Signal { to, signal } => {
                    let _ = signals.send((to, signal));
                }
            }
        }
        if let Some(turn) = turn.as_mut() {
            turn.carry_out(Instant::now());
        }
        let (connections, forwarded) = sfu.stats();
        published.connections.store(connections as u64, Ordering::Relaxed);
        published.forwarded_packets.store(forwarded, Ordering::Relaxed);
        let mut wake =
            sfu.poll_timeout().unwrap_or_else(|| Instant::now() + Duration::from_secs(1));
        if let Some(turn) = turn.as_ref() {
            wake = wake.min(turn.next_tick());
        }
        let sleep = tokio::time::sleep_until(wake.into());
        tokio::select! {
            received = socket.recv_from(&mut buffer) => match received {
                Ok((n, from)) => {
                    let now = Instant::now();
                    sfu.handle_datagram(now, from, &buffer[..n]);
                    // Whatever else is waiting, without a trip through the scheduler.
                    for _ in 0..RECEIVE_BATCH {
                        match socket.try_recv_from(&mut buffer) {
                            Ok((n, from)) => sfu.handle_datagram(now, from, &buffer[..n]),
                            Err(_) => break,
                        }
                    }
                }
                Err(e) => warn!("media socket error: {e}"),
            },
            command = command_rx.recv() => {
                let now = Instant::now();
                match command {
                    Some(MediaCommand::Join { id, room }) => {
                        if let Err(e) = sfu.join(now, id, &room) {
                            warn!(participant = %id, "cannot prepare media connection: {e}");
                        }
                    }
                    Some(MediaCommand::Signal { id, signal }) => {
                        if let Err(e) = sfu.signal(now, id, signal) {
                            warn!(participant = %id, "media negotiation: {e}");
                        }
                    }
                    Some(MediaCommand::ReceiveVideo { id, from, quality }) => {
                        let wanted = match quality {
                            VideoQuality::High => Wanted::High,
                            VideoQuality::Low => Wanted::Low,
                        };
                        if let Err(e) = sfu.set_wanted(now, id, from, wanted) {
                            tracing::debug!(participant = %id, "video quality: {e}");
                        }
                    }
                    Some(MediaCommand::Silence { id, silenced }) => {
                        if let Err(e) = sfu.set_silenced(id, silenced) {
                            warn!(participant = %id, "cannot silence: {e}");
                        }
                    }
                    Some(MediaCommand::CameraRule { id, private, sees_all }) => {
                        if let Err(e) = sfu.set_camera_rule(id, private, sees_all) {
                            warn!(participant = %id, "cannot set who sees the camera: {e}");
                        }
                    }
                    Some(MediaCommand::ReceiveOnly { id }) => {
                        if let Err(e) = sfu.set_receive_only(id) {
                            warn!(participant = %id, "cannot make receive-only: {e}");
                        }
                    }
                    Some(MediaCommand::Leave { id }) => sfu.leave(now, id),
                    None => break,
                }
            }
            Some(event) = next_turn_event(&mut turn) => {
                if let Some(turn) = turn.as_mut() {
                    turn.handle(Instant::now(), event);
                }
            }
            _ = sleep => {
                let now = Instant::now();
                sfu.handle_timeout(now);
                if let Some(turn) = turn.as_mut() {
                    turn.tick(now);
                }
            }
            _ = shutdown.wait_for(|stop| *stop) => break,
        }
    }
    info!("media loop stopped");
}

/// The next event from the TURN sockets; never, without TURN.
async fn next_turn_event(turn: &mut Option<TurnIo>) -> Option<TurnEvent> {
    match turn {
        Some(turn) => turn.events.recv().await,
        None => std::future::pending().await,
    }
}
