//! The media loop: owns the UDP socket and the clock, feeds the engine, carries out its output.

use std::{
    collections::VecDeque,
    net::{IpAddr, SocketAddr},
    sync::{
        Arc, Mutex, MutexGuard, PoisonError,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use protocol::{ParticipantId, Signal, VideoQuality};
use tokio::{
    net::UdpSocket,
    sync::{mpsc, watch},
};
use tracing::{error, info, warn};

use super::routes::{Route, Routes};
use crate::sfu::{Output, Sfu, forward::Wanted};
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
    /// Their RTP payload bytes.
    pub forwarded_bytes: AtomicU64,
    /// Commands waiting in the bulk queue (at most [`BULK_COMMANDS`]).
    pub queued_commands: AtomicU64,
    /// TURN allocations held now.
    pub turn_allocations: AtomicU64,
    /// Times the loop failed (a panic) and started again with an empty engine.
    pub restarts: AtomicU64,
    /// Set when the loop has stopped for good other than at shutdown: `/healthz` fails.
    pub stopped: AtomicBool,
    /// Loss and round trips of the links to subscribers (since the loop last started).
    pub quality: std::sync::Mutex<crate::sfu::quality::LinkQuality>,
}

impl MediaStats {
    /// Whether the loop is running (or the relay is shutting down).
    pub fn running(&self) -> bool {
        !self.stopped.load(Ordering::Relaxed)
    }
}

/// Commands participants cause in bulk (offers, candidates, video sizes) wait in a queue of this
/// many; when it is full the loop is far behind, and the next one is refused, not queued.
pub const BULK_COMMANDS: usize = 4096;

/// Failures the loop survives within [`RESTART_WINDOW`]; one more and it stays down (and
/// `/healthz` says so) rather than fail in a loop.
const RESTARTS_ALLOWED: usize = 5;
/// See [`RESTARTS_ALLOWED`].
const RESTART_WINDOW: Duration = Duration::from_secs(60);

/// What the media loop tells signalling.
#[derive(Debug)]
pub enum MediaEvent {
    /// A negotiation message for a participant.
    Signal {
        /// For whom.
        to: ParticipantId,
        /// The offer, answer or candidate.
        signal: Signal,
    },
    /// The loop failed and started again empty: these participants lost their media connection
    /// and must build a new one.
    Restarted {
        /// Who had a media connection.
        lost: Vec<ParticipantId>,
    },
}

/// The loop is too far behind to take a command a participant sent; here it is back.
#[derive(Debug, thiserror::Error)]
#[error("server forwarding is overloaded; try again")]
pub struct MediaBusy(pub MediaCommand);

/// How long a participant's signal waits for room in a full queue before it is refused: the
/// connection it came on reads nothing meanwhile (back-pressure on the sender alone).
pub const SIGNAL_WAIT: Duration = Duration::from_secs(5);

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
    /// A participant came back on a new signalling connection and kept its media connection
    /// (see [`Sfu::resend_offer`]).
    Resumed {
        /// Who.
        id: ParticipantId,
    },
    /// A participant left or was disconnected.
    Leave {
        /// Who.
        id: ParticipantId,
    },
    /// Makes the loop fail, as a bug in the engine or `rtc` would (tests of the supervision).
    #[cfg(test)]
    Fail,
}

impl MediaCommand {
    /// Whom the command is about.
    fn participant(&self) -> Option<ParticipantId> {
        match self {
            Self::Join { id, .. }
            | Self::Signal { id, .. }
            | Self::ReceiveVideo { id, .. }
            | Self::Silence { id, .. }
            | Self::CameraRule { id, .. }
            | Self::ReceiveOnly { id }
            | Self::Resumed { id }
            | Self::Leave { id } => Some(*id),
            #[cfg(test)]
            Self::Fail => None,
        }
    }

    /// Whether participants can cause this command in bulk: those wait in a bounded queue.
    /// Everything else follows a decision of the relay's own (a join, a leave, a host's rule),
    /// is bounded by the rate of those, and is never dropped: a lost `Silence` or `CameraRule`
    /// would break a promise to people.
    fn bulk(&self) -> bool {
        matches!(self, Self::Signal { .. } | Self::ReceiveVideo { .. })
    }
}

/// How signalling talks to the media loops.
#[derive(Debug, Clone)]
pub struct MediaHandle {
    /// One per media loop.
    shards: Arc<[ShardHandle]>,
    /// Which loop owns which room, participant and address.
    routes: Arc<Mutex<Routes>>,
    /// The TURN port's address as announced to browsers, when TURN runs.
    pub turn_address: Option<SocketAddr>,
    /// Whether TURN over TCP listens on the same port number.
    pub turn_tcp: bool,
    /// The way in for TURN clients over TLS (accepted on the signalling runtime).
    pub turn_clients: Option<TurnClients>,
}

/// The way to one media loop.
#[derive(Debug)]
struct ShardHandle {
    /// The relay's own decisions for the loop (see [`MediaCommand::bulk`]).
    control: mpsc::UnboundedSender<MediaCommand>,
    /// What participants send in bulk, bounded; signalling never waits for media.
    bulk: mpsc::Sender<MediaCommand>,
    /// Counters, updated by the loop.
    stats: Arc<MediaStats>,
}

/// Locks the routing table; a loop that failed while holding it left it consistent (every
/// change is a few map operations), so a poisoned lock is used as it is.
fn lock(routes: &Mutex<Routes>) -> MutexGuard<'_, Routes> {
    routes.lock().unwrap_or_else(PoisonError::into_inner)
}

impl MediaHandle {
    /// A handle whose commands go nowhere but to the returned queues (tests of signalling).
    #[cfg(test)]
    pub(crate) fn detached()
    -> (Self, mpsc::UnboundedReceiver<MediaCommand>, mpsc::Receiver<MediaCommand>) {
        let (control, control_rx) = mpsc::unbounded_channel();
        let (bulk, bulk_rx) = mpsc::channel(BULK_COMMANDS);
        let handle = Self {
            shards: Arc::new([ShardHandle { control, bulk, stats: Arc::default() }]),
            routes: Arc::new(Mutex::new(Routes::new(1))),
            turn_address: None,
            turn_tcp: false,
            turn_clients: None,
        };
        (handle, control_rx, bulk_rx)
    }

    /// Sends one of the relay's own decisions (a bulk command, should one come this way, is
    /// dropped when its queue is full). If the loop has stopped (shutdown), it is dropped.
    pub fn send(&self, command: MediaCommand) {
        let _ = self.try_send(command);
    }

    /// Sends a command to the loop of the participant's room; a bulk command is refused when its
    /// queue is full (and handed back). A command for someone in no SFU room, or for a loop that
    /// has stopped (shutdown), is dropped.
    pub fn try_send(&self, command: MediaCommand) -> Result<(), MediaBusy> {
        let Some(shard) = self.shard_for(&command) else { return Ok(()) };
        if command.bulk() {
            match shard.bulk.try_send(command) {
                Err(mpsc::error::TrySendError::Full(command)) => Err(MediaBusy(command)),
                _ => Ok(()),
            }
        } else {
            let _ = shard.control.send(command);
            Ok(())
        }
    }

    /// Sends a command as `try_send` does, but waits up to `within` for room in a full queue;
    /// refused (and handed back) only when there is still none then.
    pub async fn send_waiting(
        &self,
        command: MediaCommand,
        within: Duration,
    ) -> Result<(), MediaBusy> {
        let Some(shard) = self.shard_for(&command) else { return Ok(()) };
        if !command.bulk() {
            let _ = shard.control.send(command);
            return Ok(());
        }
        let bulk = shard.bulk.clone();
        match tokio::time::timeout(within, bulk.reserve()).await {
            Ok(Ok(room)) => {
                room.send(command);
                Ok(())
            }
            // The loop has stopped (shutdown): dropped, as `try_send` does.
            Ok(Err(_)) => Ok(()),
            Err(_) => Err(MediaBusy(command)),
        }
    }

    /// The loop a command goes to (placing a joining participant).
    fn shard_for(&self, command: &MediaCommand) -> Option<&ShardHandle> {
        let shard = {
            let mut routes = lock(&self.routes);
            match command {
                MediaCommand::Join { id, room } => Some(routes.place(*id, room)),
                MediaCommand::Leave { id } => routes.leave(*id),
                #[cfg(test)]
                MediaCommand::Fail => Some(0),
                other => other.participant().and_then(|id| routes.shard_of(id)),
            }
        };
        shard.and_then(|shard| self.shards.get(shard))
    }

    /// The media loops' counters, added up.
    pub fn stats(&self) -> MediaTotals {
        let mut totals = MediaTotals { running: true, ..MediaTotals::default() };
        for shard in self.shards.iter() {
            let stats = &shard.stats;
            totals.connections += stats.connections.load(Ordering::Relaxed);
            let forwarded = stats.forwarded_packets.load(Ordering::Relaxed);
            totals.forwarded_packets += forwarded;
            totals.forwarded_per_loop.push(forwarded);
            totals.forwarded_bytes += stats.forwarded_bytes.load(Ordering::Relaxed);
            totals.queued_commands += stats.queued_commands.load(Ordering::Relaxed);
            totals.turn_allocations += stats.turn_allocations.load(Ordering::Relaxed);
            totals.restarts += stats.restarts.load(Ordering::Relaxed);
            totals.running &= stats.running();
            if let Ok(quality) = stats.quality.lock() {
                totals.quality.add(&quality);
            }
        }
        totals
    }

    /// Members of SFU rooms on each media loop.
    #[cfg(test)]
    pub fn load(&self) -> Vec<usize> {
        lock(&self.routes).load().to_vec()
    }
}

/// The media loops' counters at one moment, added up (see [`MediaStats`]).
#[derive(Debug, Default, Clone)]
pub struct MediaTotals {
    /// Participants with a media connection to the relay.
    pub connections: u64,
    /// RTP packets forwarded.
    pub forwarded_packets: u64,
    /// RTP packets forwarded by each loop (how evenly the rooms are spread).
    pub forwarded_per_loop: Vec<u64>,
    /// Their payload bytes.
    pub forwarded_bytes: u64,
    /// Commands waiting in the bulk queues.
    pub queued_commands: u64,
    /// TURN allocations held.
    pub turn_allocations: u64,
    /// Times a loop failed and started again.
    pub restarts: u64,
    /// Whether every loop runs.
    pub running: bool,
    /// Loss and round trips of the links to subscribers.
    pub quality: crate::sfu::quality::LinkQuality,
}

/// How many media loops run: `configured`, or one per core when it is 0.
pub fn loops(configured: usize) -> usize {
    if configured > 0 {
        configured
    } else {
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
    }
}

/// Binds the media port and starts `loops` media loops, each on a thread of its own, and with
/// more than one a receive loop that hands them their datagrams (see [`super::routes`]).
/// Signals for participants come out of the returned receiver. `announce` replaces the bound IP
/// in candidates (for `0.0.0.0` binds and NAT). TURN runs in the first loop.
///
/// Why threads of their own: a media loop is nearly always ready to run (a datagram is always
/// waiting under load). Sharing the signalling runtime's workers with it starved the WebSocket
/// tasks on a busy two-core machine: measured in the twelve-person browser test, one worker kept
/// running the media loop while the other stayed parked, no WebSocket task ran (no ping sent, no
/// frame read) for ten seconds, and the idle check then closed every connection at once. On its
/// own thread the loop can be as busy as it likes; signalling keeps the runtime to itself.
///
/// Why one receive loop rather than a socket per loop (`SO_REUSEPORT`): the kernel spreads
/// datagrams over such sockets by a hash of their addresses, but every datagram must reach the
/// loop that owns its sender's room, and which that is only the relay knows. Receiving is the
/// cheap part (a room's media is received once and sent to everyone in it); the receive loop
/// copies each datagram once and looks up two tables.
pub async fn spawn(
    bind: SocketAddr,
    announce: Option<IpAddr>,
    turn: Option<crate::turn::TurnSettings>,
    loops: usize,
    shutdown: watch::Receiver<bool>,
) -> std::io::Result<(MediaHandle, mpsc::UnboundedReceiver<MediaEvent>)> {
    let loops = loops.max(1);
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
    info!(%address, loops, receive_buffer = buffers.receive, send_buffer = buffers.send, "media port ready");
    let (signals, signal_rx) = mpsc::unbounded_channel();
    let turn = match turn {
        Some(settings) => Some(turn_ports(settings, announce)?),
        None => None,
    };
    let turn_address = turn.as_ref().map(|t| t.address);
    let turn_tcp = turn.as_ref().is_some_and(|t| t.tcp.is_some());
    let routes = Arc::new(Mutex::new(Routes::new(loops)));
    let mut turn = Some(turn);
    let mut turn_clients = None;
    let mut shards = Vec::with_capacity(loops);
    let mut routed = Vec::with_capacity(loops);
    for index in 0..loops {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        // The TURN shell's sockets and tasks belong to the first loop's runtime; they start
        // running with it.
        let turn = match turn.take().flatten() {
            Some(t) if index == 0 => {
                let _media_runtime = runtime.enter();
                turn_io(t)
            }
            _ => None,
        };
        if let Some(turn) = &turn {
            turn_clients = Some(turn.clients());
        }
        let inbox = if loops == 1 {
            let _media_runtime = runtime.enter();
            LoopInbox::Socket(UdpSocket::from_std(socket.try_clone()?)?)
        } else {
            let (datagrams, inbox) = mpsc::channel(ROUTED_DATAGRAMS);
            routed.push(datagrams);
            LoopInbox::Routed { datagrams: inbox, routes: routes.clone() }
        };
        let (control, control_rx) = mpsc::unbounded_channel();
        let (bulk, bulk_rx) = mpsc::channel(BULK_COMMANDS);
        let stats = Arc::new(MediaStats::default());
        let mut io = LoopIo {
            inbox,
            sender: socket.try_clone()?,
            turn,
            control: control_rx,
            bulk: bulk_rx,
            signals: signals.clone(),
            published: stats.clone(),
            shutdown: shutdown.clone(),
        };
        std::thread::Builder::new()
            .name(format!("media-{index}"))
            .spawn(move || supervise(&runtime, address, &mut io))?;
        shards.push(ShardHandle { control, bulk, stats });
    }
    if loops > 1 {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let socket = {
            let _receive_runtime = runtime.enter();
            UdpSocket::from_std(socket)?
        };
        let receiver = Receiver { socket, routes: routes.clone(), shards: routed, shutdown };
        std::thread::Builder::new()
            .name("media-receive".into())
            .spawn(move || receiver.run(&runtime))?;
    }
    let handle =
        MediaHandle { shards: shards.into(), routes, turn_address, turn_tcp, turn_clients };
    Ok((handle, signal_rx))
}

/// The TURN shell on the current runtime.
fn turn_io(t: TurnPorts) -> Option<TurnIo> {
    let socket =
        UdpSocket::from_std(t.udp).map_err(|e| warn!("the TURN port cannot be used: {e}")).ok()?;
    let io = TurnIo::new(t.server, socket, t.udp_bound.ip(), t.relay_ports);
    match t.tcp.map(tokio::net::TcpListener::from_std).transpose() {
        Ok(Some(listener)) => io.listen_tcp(listener),
        Ok(None) => {}
        Err(e) => warn!("TURN over TCP cannot be used: {e}"),
    }
    Some(io)
}

/// Datagrams waiting for one media loop when several run; more are dropped, as a full socket
/// buffer would.
const ROUTED_DATAGRAMS: usize = 4096;

/// A datagram the receive loop handed to a media loop.
#[derive(Debug)]
struct Datagram {
    from: SocketAddr,
    data: Vec<u8>,
    /// A STUN message from an address not yet proved: the loop reports the address if it proves
    /// itself.
    claimed: bool,
}

/// The receive loop in front of several media loops.
struct Receiver {
    socket: UdpSocket,
    routes: Arc<Mutex<Routes>>,
    shards: Vec<mpsc::Sender<Datagram>>,
    shutdown: watch::Receiver<bool>,
}

impl Receiver {
    /// Reads the media port until shutdown, and hands each datagram to its loop. It parses
    /// nothing but STUN headers and USERNAME; should that fail all the same, it starts again.
    fn run(self, runtime: &tokio::runtime::Runtime) {
        let Self { socket, routes, shards, mut shutdown } = self;
        let mut failures = Failures::default();
        loop {
            let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                runtime.block_on(receive(&socket, &routes, &shards, &mut shutdown))
            }));
            if run.is_ok() {
                return;
            }
            if !failures.one_more(Instant::now()) {
                // Without it no loop gets a datagram; dropping the queues shows each loop.
                return error!("the media receive loop keeps failing; server forwarding stops");
            }
            error!("the media receive loop failed; it starts again");
        }
    }
}

/// See [`Receiver::run`].
async fn receive(
    socket: &UdpSocket,
    routes: &Mutex<Routes>,
    shards: &[mpsc::Sender<Datagram>],
    shutdown: &mut watch::Receiver<bool>,
) {
    let mut buffer = vec![0u8; 2048];
    let mut batch: Vec<(SocketAddr, Vec<u8>)> = Vec::with_capacity(RECEIVE_BATCH);
    loop {
        tokio::select! {
            ready = socket.readable() => if let Err(e) = ready {
                warn!("media socket error: {e}");
                continue;
            },
            _ = shutdown.wait_for(|stop| *stop) => return,
        }
        while batch.len() < RECEIVE_BATCH {
            match socket.try_recv_from(&mut buffer) {
                Ok((n, from)) => batch.push((from, buffer[..n].to_vec())),
                Err(_) => break,
            }
        }
        // One look at the table for the whole batch.
        let routed: Vec<_> = {
            let routes = lock(routes);
            batch.drain(..).map(|(from, data)| (routes.route(from, &data), from, data)).collect()
        };
        for (route, from, data) in routed {
            let Some(route) = route else { continue };
            let claimed = matches!(route, Route::Claimed(_));
            if let Some(shard) = shards.get(route.shard()) {
                // A loop far behind loses datagrams, as on a full socket buffer.
                let _ = shard.try_send(Datagram { from, data, claimed });
            }
        }
    }
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

fn stats_stopped(published: &MediaStats) {
    published.stopped.store(true, Ordering::Relaxed);
}

/// What the loop works with and what outlives a failure of the engine: the sockets, the TURN
/// server, the queues.
struct LoopIo {
    inbox: LoopInbox,
    /// The media port, for sending (a non-blocking copy of the socket: sends never wait).
    sender: std::net::UdpSocket,
    turn: Option<TurnIo>,
    control: mpsc::UnboundedReceiver<MediaCommand>,
    bulk: mpsc::Receiver<MediaCommand>,
    signals: mpsc::UnboundedSender<MediaEvent>,
    published: Arc<MediaStats>,
    shutdown: watch::Receiver<bool>,
}

/// Where a media loop's datagrams come from.
enum LoopInbox {
    /// The only loop reads the port itself.
    Socket(UdpSocket),
    /// One of several: the receive loop hands it its datagrams, and it reports the addresses
    /// it proved to `routes`.
    Routed { datagrams: mpsc::Receiver<Datagram>, routes: Arc<Mutex<Routes>> },
}

impl LoopInbox {
    /// Waits for datagrams and gives the engine all that are waiting (up to a batch). `None`
    /// when the receive loop has ended.
    async fn feed(&mut self, sfu: &mut Sfu, buffer: &mut [u8]) -> Option<()> {
        match self {
            Self::Socket(socket) => {
                let (n, from) = match socket.recv_from(buffer).await {
                    Ok(received) => received,
                    Err(e) => {
                        warn!("media socket error: {e}");
                        return Some(());
                    }
                };
                let now = Instant::now();
                sfu.handle_datagram(now, from, &buffer[..n]);
                // Whatever else is waiting, without a trip through the scheduler.
                for _ in 0..RECEIVE_BATCH {
                    match socket.try_recv_from(buffer) {
                        Ok((n, from)) => sfu.handle_datagram(now, from, &buffer[..n]),
                        Err(_) => break,
                    }
                }
            }
            Self::Routed { datagrams, routes } => {
                let first = datagrams.recv().await?;
                let now = Instant::now();
                let mut next = Some(first);
                let mut count = 0;
                while let Some(datagram) = next.take() {
                    sfu.handle_datagram(now, datagram.from, &datagram.data);
                    if datagram.claimed
                        && let Some(id) = sfu.participant_at(datagram.from)
                    {
                        lock(routes).learn(datagram.from, id);
                    }
                    count += 1;
                    if count <= RECEIVE_BATCH {
                        next = datagrams.try_recv().ok();
                    }
                }
            }
        }
        Some(())
    }
}

/// Recent failures of a loop, to tell a bad moment from a loop that keeps failing.
#[derive(Debug, Default)]
struct Failures(VecDeque<Instant>);

impl Failures {
    /// Counts a failure at `now`; false when there were more than [`RESTARTS_ALLOWED`] within
    /// [`RESTART_WINDOW`] (stay down).
    fn one_more(&mut self, now: Instant) -> bool {
        self.0.retain(|at| now.duration_since(*at) < RESTART_WINDOW);
        self.0.push_back(now);
        self.0.len() <= RESTARTS_ALLOWED
    }
}

/// Runs the loop, and when it fails (a panic in the engine or in `rtc`), starts it again with
/// an empty engine and tells signalling who lost their media connection (they reconnect and
/// build a new one). More than [`RESTARTS_ALLOWED`] failures within [`RESTART_WINDOW`] and it
/// stays down, marked stopped, so that `/healthz` fails and the service manager restarts the
/// relay.
fn supervise(runtime: &tokio::runtime::Runtime, address: SocketAddr, io: &mut LoopIo) {
    let mut failures = Failures::default();
    loop {
        let mut sfu = Sfu::new(address);
        let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            runtime.block_on(media_loop(&mut sfu, io))
        }));
        if run.is_ok() {
            info!("media loop stopped");
            return;
        }
        io.published.restarts.fetch_add(1, Ordering::Relaxed);
        io.published.connections.store(0, Ordering::Relaxed);
        if !failures.one_more(Instant::now()) {
            error!("the media loop keeps failing; it stays down and /healthz reports it");
            stats_stopped(&io.published);
            return;
        }
        let lost = sfu.participants();
        error!(
            lost = lost.len(),
            "the media loop failed; it starts again empty, and everyone in a room with server forwarding reconnects"
        );
        let _ = io.signals.send(MediaEvent::Restarted { lost });
    }
}

/// Feeds the engine datagrams, commands and time, and carries out what it asks, until shutdown
/// or until signalling drops its handle.
async fn media_loop(sfu: &mut Sfu, io: &mut LoopIo) {
    let LoopIo { inbox, sender, turn, control, bulk, signals, published, shutdown } = io;
    let mut buffer = vec![0u8; 2048];
    // Report blocks counted when the figures were last published (none yet: publish at once,
    // which also clears the figures of a loop that failed).
    let mut reported = u64::MAX;
    let mut receiving = true;
    loop {
        // Carry out everything the engine wants done.
        while let Some(output) = sfu.poll_output() {
            match output {
                Output::Transmit { to, data } => {
                    if let Err(e) = sender.send_to(&data, to) {
                        // A full socket buffer drops the datagram, as a network would.
                        tracing::debug!(%to, "send failed: {e}");
                    }
                }
                Output::Signal { to, signal } => {
                    let _ = signals.send(MediaEvent::Signal { to, signal });
                }
            }
        }
        if let Some(turn) = turn.as_mut() {
            turn.carry_out(Instant::now());
            published.turn_allocations.store(turn.allocations() as u64, Ordering::Relaxed);
        }
        let (connections, forwarded) = sfu.stats();
        published.connections.store(connections as u64, Ordering::Relaxed);
        published.forwarded_packets.store(forwarded, Ordering::Relaxed);
        published.forwarded_bytes.store(sfu.forwarded_bytes(), Ordering::Relaxed);
        published.queued_commands.store(bulk.len() as u64, Ordering::Relaxed);
        // A report block came in since the last look (rarely: about one a second a stream).
        if sfu.quality().loss.count() != reported {
            reported = sfu.quality().loss.count();
            if let Ok(mut quality) = published.quality.lock() {
                *quality = *sfu.quality();
            }
        }
        let mut wake =
            sfu.poll_timeout().unwrap_or_else(|| Instant::now() + Duration::from_secs(1));
        if let Some(turn) = turn.as_ref() {
            wake = wake.min(turn.next_tick());
        }
        let sleep = tokio::time::sleep_until(wake.into());
        tokio::select! {
            command = control.recv() => match command {
                Some(command) => carry_out(sfu, command),
                None => break,
            },
            Some(command) = bulk.recv() => {
                // The relay's decisions sent before it first: a join before the offer after it.
                while let Ok(earlier) = control.try_recv() {
                    carry_out(sfu, earlier);
                }
                carry_out(sfu, command);
            }
            fed = inbox.feed(sfu, &mut buffer) => if fed.is_none() {
                // The receive loop ended: no datagram will come again.
                receiving = false;
                break;
            },
            Some(event) = next_turn_event(turn) => {
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
    if !receiving && !*shutdown.borrow() {
        error!("the media loop gets no more datagrams");
        stats_stopped(published);
    }
}

/// Carries out one command of signalling's.
fn carry_out(sfu: &mut Sfu, command: MediaCommand) {
    let now = Instant::now();
    match command {
        MediaCommand::Join { id, room } => {
            if let Err(e) = sfu.join(now, id, &room) {
                warn!(participant = %id, "cannot prepare media connection: {e}");
            }
        }
        MediaCommand::Signal { id, signal } => {
            if let Err(e) = sfu.signal(now, id, signal) {
                warn!(participant = %id, "media negotiation: {e}");
            }
        }
        MediaCommand::ReceiveVideo { id, from, quality } => {
            let wanted = match quality {
                VideoQuality::High => Wanted::High,
                VideoQuality::Low => Wanted::Low,
            };
            if let Err(e) = sfu.set_wanted(now, id, from, wanted) {
                tracing::debug!(participant = %id, "video quality: {e}");
            }
        }
        MediaCommand::Silence { id, silenced } => {
            if let Err(e) = sfu.set_silenced(id, silenced) {
                warn!(participant = %id, "cannot silence: {e}");
            }
        }
        MediaCommand::CameraRule { id, private, sees_all } => {
            if let Err(e) = sfu.set_camera_rule(id, private, sees_all) {
                warn!(participant = %id, "cannot set who sees the camera: {e}");
            }
        }
        MediaCommand::ReceiveOnly { id } => {
            if let Err(e) = sfu.set_receive_only(id) {
                warn!(participant = %id, "cannot make receive-only: {e}");
            }
        }
        MediaCommand::Resumed { id } => sfu.resend_offer(id),
        MediaCommand::Leave { id } => sfu.leave(now, id),
        #[cfg(test)]
        MediaCommand::Fail => panic!("the media loop was told to fail"),
    }
}

/// The next event from the TURN sockets; never, without TURN.
async fn next_turn_event(turn: &mut Option<TurnIo>) -> Option<TurnEvent> {
    match turn {
        Some(turn) => turn.events.recv().await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::time::Duration;

    use loadgen::peer::{PeerConfig, SyntheticPeer};

    use super::*;

    async fn start() -> (MediaHandle, mpsc::UnboundedReceiver<MediaEvent>, watch::Sender<bool>) {
        let (stop, shutdown) = watch::channel(false);
        let (handle, events) =
            spawn("127.0.0.1:0".parse().unwrap(), None, None, 1, shutdown).await.unwrap();
        (handle, events, stop)
    }

    async fn next(events: &mut mpsc::UnboundedReceiver<MediaEvent>) -> MediaEvent {
        tokio::time::timeout(Duration::from_secs(10), events.recv()).await.unwrap().unwrap()
    }

    /// The next event is the relay's answer to `id`'s offer.
    async fn expect_answer(events: &mut mpsc::UnboundedReceiver<MediaEvent>, id: ParticipantId) {
        match next(events).await {
            MediaEvent::Signal { to, signal: Signal::Answer { .. } } => assert_eq!(to, id),
            other => panic!("{other:?}"),
        }
    }

    fn offer(port: u16) -> Signal {
        let local_addr = SocketAddr::from(([127, 0, 0, 1], port));
        let config = PeerConfig { local_addr, publish: true, simulcast: true, seed: 7 };
        let mut peer = SyntheticPeer::new(Instant::now(), config).unwrap();
        Signal::Offer { sdp: peer.create_offer(Instant::now()).unwrap() }
    }

    #[tokio::test]
    async fn a_failed_loop_starts_again_empty_and_says_whom_it_lost() {
        let (media, mut events, _stop) = start().await;
        media.send(MediaCommand::Join { id: ParticipantId(1), room: "rat".into() });
        media.send(MediaCommand::Fail);
        match next(&mut events).await {
            MediaEvent::Restarted { lost } => assert_eq!(lost, vec![ParticipantId(1)]),
            other => panic!("{other:?}"),
        }
        assert_eq!(media.stats().restarts, 1);
        assert!(media.stats().running);
        // The new loop negotiates as before.
        media.send(MediaCommand::Join { id: ParticipantId(2), room: "rat".into() });
        media
            .try_send(MediaCommand::Signal { id: ParticipantId(2), signal: offer(40002) })
            .unwrap();
        expect_answer(&mut events, ParticipantId(2)).await;
    }

    #[tokio::test]
    async fn a_loop_that_keeps_failing_stays_down_and_says_so() {
        let (media, mut events, _stop) = start().await;
        for _ in 0..RESTARTS_ALLOWED {
            media.send(MediaCommand::Fail);
            assert!(matches!(next(&mut events).await, MediaEvent::Restarted { .. }));
            assert!(media.stats().running);
        }
        media.send(MediaCommand::Fail);
        for _ in 0..100 {
            if !media.stats().running {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(!media.stats().running, "the last failure must show");
        assert_eq!(media.stats().restarts, RESTARTS_ALLOWED as u64 + 1);
    }

    #[tokio::test]
    async fn bulk_commands_are_refused_when_the_loop_is_behind_and_decisions_never() {
        let (media, mut control_rx, mut bulk_rx) = MediaHandle::detached();
        media.send(MediaCommand::Join { id: ParticipantId(1), room: "rat".into() });
        assert!(matches!(control_rx.try_recv(), Ok(MediaCommand::Join { .. })));
        let size = || MediaCommand::ReceiveVideo {
            id: ParticipantId(1),
            from: ParticipantId(2),
            quality: VideoQuality::Low,
        };
        // A loop that has stopped taking commands.
        for _ in 0..BULK_COMMANDS {
            media.try_send(size()).unwrap();
        }
        assert!(matches!(
            media.try_send(size()),
            Err(MediaBusy(MediaCommand::ReceiveVideo { quality: VideoQuality::Low, .. }))
        ));
        let signal = Signal::RestartIce;
        // Refused, and handed back whole, so the caller may wait with it.
        assert!(matches!(
            media.try_send(MediaCommand::Signal { id: ParticipantId(1), signal }),
            Err(MediaBusy(MediaCommand::Signal { signal: Signal::RestartIce, .. }))
        ));
        // The relay's own decisions still go through, every one of them.
        for i in 0..10_000 {
            media.send(MediaCommand::Silence { id: ParticipantId(1), silenced: i % 2 == 0 });
        }
        let mut decisions = 0;
        while control_rx.try_recv().is_ok() {
            decisions += 1;
        }
        assert_eq!(decisions, 10_000);
        // Once the loop catches up, bulk commands are taken again.
        bulk_rx.recv().await.unwrap();
        media.try_send(size()).unwrap();
    }

    #[tokio::test]
    async fn commands_for_someone_in_no_sfu_room_go_nowhere() {
        let (media, mut control_rx, mut bulk_rx) = MediaHandle::detached();
        media.send(MediaCommand::Silence { id: ParticipantId(9), silenced: true });
        media
            .try_send(MediaCommand::Signal { id: ParticipantId(9), signal: Signal::RestartIce })
            .unwrap();
        media.send(MediaCommand::Leave { id: ParticipantId(9) });
        assert!(control_rx.try_recv().is_err());
        assert!(bulk_rx.try_recv().is_err());
    }

    #[tokio::test]
    async fn with_two_loops_a_failure_loses_only_the_rooms_of_its_loop() {
        let (stop, shutdown) = watch::channel(false);
        let (media, mut events) =
            spawn("127.0.0.1:0".parse().unwrap(), None, None, 2, shutdown).await.unwrap();
        media.send(MediaCommand::Join { id: ParticipantId(1), room: "a".into() });
        media.send(MediaCommand::Join { id: ParticipantId(2), room: "b".into() });
        assert_eq!(media.load(), [1, 1], "one room on each loop");
        // `Fail` goes to the first loop, which holds room "a".
        media.send(MediaCommand::Fail);
        match next(&mut events).await {
            MediaEvent::Restarted { lost } => assert_eq!(lost, vec![ParticipantId(1)]),
            other => panic!("{other:?}"),
        }
        assert!(media.stats().running);
        // The other loop never noticed: it negotiates for its participant as before.
        media
            .try_send(MediaCommand::Signal { id: ParticipantId(2), signal: offer(40003) })
            .unwrap();
        expect_answer(&mut events, ParticipantId(2)).await;
        assert_eq!(media.stats().restarts, 1);
        stop.send(true).unwrap();
    }
}
