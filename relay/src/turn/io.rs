//! The TURN server's I/O shell, run by the media loop: relayed UDP sockets, TURN over TCP, and
//! the clock. Everything it reads goes to [`TurnServer`]; everything the server asks for is
//! carried out here.

use std::{
    collections::HashMap,
    net::{IpAddr, SocketAddr},
    ops::RangeInclusive,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use tokio::{
    io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt},
    net::{TcpListener, TcpStream, UdpSocket},
    sync::mpsc,
    task::JoinHandle,
};
use tokio_rustls::TlsAcceptor;
use tracing::{debug, warn};

use super::{
    Client, Output, Transport, TurnServer,
    framing::{Frame, next_frame},
};

/// TCP clients at once; more are turned away at accept.
pub const MAX_TCP_CLIENTS: usize = 1000;
/// Messages queued for one TCP client before further ones are dropped (as UDP would).
const TCP_QUEUE: usize = 256;
/// Bytes of an unfinished message a TCP client may leave buffered (a STUN message or
/// ChannelData is at most 64 KiB plus its header).
const TCP_BUFFER: usize = 70 * 1024;
/// Events from sockets waiting for the media loop; beyond this, peer datagrams are dropped.
const EVENT_QUEUE: usize = 4096;
/// Receive buffer of a relayed socket (one browser's media, both ways at most).
const RELAYED_BUFFER: usize = 1 << 20;
/// Ports tried for one relayed socket before the allocation fails (the range is full).
const BIND_ATTEMPTS: u32 = 64;
/// How long a TLS client may take to finish its handshake.
const TLS_HANDSHAKE: Duration = Duration::from_secs(10);
/// How often allocations, permissions and channels are checked for expiry.
const TICK: Duration = Duration::from_secs(1);

/// What the sockets report to the media loop.
#[derive(Debug)]
pub enum Event {
    /// A datagram from a client to the TURN port.
    FromClient {
        /// Who sent it.
        addr: SocketAddr,
        /// What.
        data: Vec<u8>,
    },
    /// A datagram from a peer to a relayed socket.
    FromPeer {
        /// The relayed socket's local address.
        relayed: SocketAddr,
        /// Who sent it.
        peer: SocketAddr,
        /// What.
        data: Vec<u8>,
    },
    /// A TCP client connected.
    TcpOpened {
        /// Its address.
        addr: SocketAddr,
        /// Where its outgoing messages go.
        writer: mpsc::Sender<Vec<u8>>,
    },
    /// A whole message from a TCP client.
    TcpMessage {
        /// Its address.
        addr: SocketAddr,
        /// The message.
        data: Vec<u8>,
    },
    /// A TCP client's connection ended.
    TcpClosed {
        /// Its address.
        addr: SocketAddr,
    },
}

struct Relayed {
    socket: Arc<UdpSocket>,
    reader: JoinHandle<()>,
}

/// The TURN server with its sockets.
pub struct TurnIo {
    server: TurnServer,
    /// The TURN port (UDP): STUN and TURN from clients.
    socket: Arc<UdpSocket>,
    relays: HashMap<SocketAddr, Relayed>,
    tcp: HashMap<SocketAddr, mpsc::Sender<Vec<u8>>>,
    events_tx: mpsc::Sender<Event>,
    /// TCP and TLS clients connected.
    open: Arc<AtomicUsize>,
    /// Events for the media loop to pass to [`TurnIo::handle`].
    pub events: mpsc::Receiver<Event>,
    /// Where relayed sockets bind.
    bind_ip: IpAddr,
    /// The ports they may take, and where the search for a free one goes on.
    ports: RangeInclusive<u16>,
    cursor: u32,
    next_tick: Instant,
}

impl TurnIo {
    /// A shell for `server` on the TURN port `socket`, whose relayed sockets bind on `bind_ip`
    /// to ports in `ports` (call from inside the media runtime).
    pub fn new(
        server: TurnServer,
        socket: UdpSocket,
        bind_ip: IpAddr,
        ports: RangeInclusive<u16>,
    ) -> Self {
        let (events_tx, events) = mpsc::channel(EVENT_QUEUE);
        let socket = Arc::new(socket);
        tokio::spawn(read_clients(socket.clone(), events_tx.clone()));
        Self {
            server,
            socket,
            relays: HashMap::new(),
            tcp: HashMap::new(),
            events_tx,
            open: Arc::new(AtomicUsize::new(0)),
            events,
            bind_ip,
            cursor: std::process::id(),
            ports,
            next_tick: Instant::now() + TICK,
        }
    }

    /// Accepts TURN-over-TCP clients on `listener` (call from inside the media runtime).
    pub fn listen_tcp(&self, listener: TcpListener) {
        tokio::spawn(accept(listener, self.clients()));
    }

    /// The way in for TCP and TLS clients (see [`accept_tls`]).
    pub fn clients(&self) -> TurnClients {
        TurnClients {
            events: self.events_tx.clone(),
            open: self.open.clone(),
            max: MAX_TCP_CLIENTS,
        }
    }

    /// An event from the sockets.
    pub fn handle(&mut self, now: Instant, event: Event) {
        match event {
            Event::FromClient { addr, data } => {
                let client = Client { addr, transport: Transport::Udp };
                self.server.on_client(now, unix_now(), client, &data);
            }
            Event::FromPeer { relayed, peer, data } => {
                self.server.on_peer(now, relayed, peer, &data)
            }
            Event::TcpOpened { addr, writer } => {
                self.tcp.insert(addr, writer);
            }
            Event::TcpMessage { addr, data } => {
                let client = Client { addr, transport: Transport::Tcp };
                self.server.on_client(now, unix_now(), client, &data);
            }
            Event::TcpClosed { addr } => {
                self.tcp.remove(&addr);
                self.server.client_gone(Client { addr, transport: Transport::Tcp });
            }
        }
    }

    /// TURN allocations held now.
    pub fn allocations(&self) -> usize {
        self.server.allocation_count()
    }

    /// When [`TurnIo::tick`] wants to run next.
    pub fn next_tick(&self) -> Instant {
        self.next_tick
    }

    /// Expires what is due.
    pub fn tick(&mut self, now: Instant) {
        if now >= self.next_tick {
            self.next_tick = now + TICK;
            self.server.handle_timeout(now);
        }
    }

    /// Carries out everything the server asked for.
    pub fn carry_out(&mut self, now: Instant) {
        while let Some(output) = self.server.poll_output() {
            match output {
                Output::ToClient { client, data } => match client.transport {
                    Transport::Udp => {
                        if let Err(e) = send_now(&self.socket, &data, client.addr) {
                            debug!(to = %client.addr, "TURN send failed: {e}");
                        }
                    }
                    Transport::Tcp => {
                        if let Some(writer) = self.tcp.get(&client.addr) {
                            let _ = writer.try_send(data);
                        }
                    }
                },
                Output::ToPeer { relayed, peer, data } => {
                    if let Some(r) = self.relays.get(&relayed)
                        && let Err(e) = send_now(&r.socket, &data, peer)
                    {
                        debug!(%peer, "TURN relay send failed: {e}");
                    }
                }
                Output::Bind { client } => {
                    let result = self.bind();
                    self.server.bound(now, client, result);
                }
                Output::Release { relayed } => {
                    if let Some(r) = self.relays.remove(&relayed) {
                        r.reader.abort();
                    }
                }
            }
        }
    }

    /// Binds a relayed socket on a free port of the range and starts reading it.
    fn bind(&mut self) -> std::io::Result<SocketAddr> {
        let (first, last) = (u32::from(*self.ports.start()), u32::from(*self.ports.end()));
        let count = last.saturating_sub(first) + 1;
        let mut bound = Err(std::io::Error::other("no port in the range"));
        for _ in 0..count.min(BIND_ATTEMPTS) {
            self.cursor = self.cursor.wrapping_add(1);
            let port = u16::try_from(first + self.cursor % count).unwrap_or(0);
            bound = std::net::UdpSocket::bind(SocketAddr::new(self.bind_ip, port));
            if bound.is_ok() {
                break;
            }
        }
        let socket = bound?;
        socket.set_nonblocking(true)?;
        // Media relayed for a browser arrives here in bursts, as on the media port.
        let _ = socket2::SockRef::from(&socket).set_recv_buffer_size(RELAYED_BUFFER);
        let socket = Arc::new(UdpSocket::from_std(socket)?);
        let local = socket.local_addr()?;
        let reader = tokio::spawn(read_relayed(socket.clone(), local, self.events_tx.clone()));
        self.relays.insert(local, Relayed { socket, reader });
        Ok(local)
    }
}

/// Sends a datagram straight away, as the system call does on a non-blocking socket (for the
/// TURN port and the relayed sockets).
///
/// Why not tokio's `try_send_to`: it sends only once the runtime has seen the socket become
/// writable, and a relayed socket bound a moment ago has not been seen yet. The first datagram
/// to a peer was then dropped with `WouldBlock` though the kernel had room for it (measured: the
/// TURN-over-TLS test lost its datagram about once in 50 runs on a busy machine). Nothing waits
/// for writability on these sockets; a full buffer still drops the datagram, as a network would.
fn send_now(socket: &UdpSocket, data: &[u8], to: SocketAddr) -> std::io::Result<usize> {
    socket2::SockRef::from(socket).send_to(data, &to.into())
}

fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// Passes what clients send to the TURN port on to the loop, dropping what does not fit.
async fn read_clients(socket: Arc<UdpSocket>, events: mpsc::Sender<Event>) {
    let mut buffer = vec![0u8; 2048];
    loop {
        match socket.recv_from(&mut buffer).await {
            Ok((n, addr)) => {
                let _ = events.try_send(Event::FromClient { addr, data: buffer[..n].to_vec() });
            }
            Err(e) => debug!("TURN port: {e}"),
        }
    }
}

/// Passes what peers send to a relayed socket on to the loop, dropping what does not fit.
async fn read_relayed(socket: Arc<UdpSocket>, local: SocketAddr, events: mpsc::Sender<Event>) {
    let mut buffer = vec![0u8; 2048];
    loop {
        match socket.recv_from(&mut buffer).await {
            Ok((n, peer)) => {
                let data = buffer[..n].to_vec();
                let _ = events.try_send(Event::FromPeer { relayed: local, peer, data });
            }
            Err(e) => {
                // ICMP errors from a peer that went away show up here; keep reading.
                debug!(%local, "relayed socket: {e}");
            }
        }
    }
}

/// The way in for TURN clients on TCP and TLS: where their messages go, and how many are
/// connected (one limit for both). Cheap to clone; usable from any runtime.
#[derive(Debug, Clone)]
pub struct TurnClients {
    events: mpsc::Sender<Event>,
    open: Arc<AtomicUsize>,
    /// At most this many at once ([`MAX_TCP_CLIENTS`]).
    max: usize,
}

/// A connected client's place under [`MAX_TCP_CLIENTS`], given back when dropped.
struct Admitted(Arc<AtomicUsize>);

impl Drop for Admitted {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl TurnClients {
    /// A place for one more client, unless [`MAX_TCP_CLIENTS`] are connected.
    fn admit(&self) -> Option<Admitted> {
        let admitted = self.open.fetch_add(1, Ordering::Relaxed) < self.max;
        let place = Admitted(self.open.clone());
        admitted.then_some(place)
    }

    #[cfg(test)]
    /// How many TCP and TLS clients are connected (or shaking hands).
    pub fn connected(&self) -> usize {
        self.open.load(Ordering::Relaxed)
    }
}

/// The next connection on `listener` (`what` names it in warnings); a failed accept (out of
/// file descriptors, say) is retried after a moment.
async fn next_connection(listener: &TcpListener, what: &str) -> (TcpStream, SocketAddr) {
    loop {
        match listener.accept().await {
            Ok(accepted) => return accepted,
            Err(e) => {
                warn!("{what}: accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

async fn accept(listener: TcpListener, clients: TurnClients) {
    loop {
        let (stream, addr) = next_connection(&listener, "TURN over TCP").await;
        let Some(place) = clients.admit() else {
            debug!(%addr, "TURN over TCP: too many clients, turned away");
            continue;
        };
        let events = clients.events.clone();
        tokio::spawn(async move {
            let _ = stream.set_nodelay(true);
            serve(stream, addr, &events).await;
            let _ = events.send(Event::TcpClosed { addr }).await;
            drop(place);
        });
    }
}

/// Accepts TURN-over-TLS clients (`turns:` URLs) on `listener`: the same protocol as TURN over
/// TCP, inside TLS. Runs on the signalling runtime, so that handshakes and decryption never take
/// time from the media loop; whole messages reach it through `clients`.
pub async fn accept_tls(listener: TcpListener, acceptor: TlsAcceptor, clients: TurnClients) {
    loop {
        let (stream, addr) = next_connection(&listener, "TURN over TLS").await;
        let Some(place) = clients.admit() else {
            debug!(%addr, "TURN over TLS: too many clients, turned away");
            continue;
        };
        let (acceptor, events) = (acceptor.clone(), clients.events.clone());
        tokio::spawn(async move {
            let _ = stream.set_nodelay(true);
            match tokio::time::timeout(TLS_HANDSHAKE, acceptor.accept(stream)).await {
                Ok(Ok(tls)) => {
                    serve(tls, addr, &events).await;
                    let _ = events.send(Event::TcpClosed { addr }).await;
                }
                Ok(Err(e)) => debug!(%addr, "TURN over TLS: handshake failed: {e}"),
                Err(_) => debug!(%addr, "TURN over TLS: no handshake within {TLS_HANDSHAKE:?}"),
            }
            drop(place);
        });
    }
}

/// One TURN-over-TCP (or TLS) client: cuts its stream into messages and writes what the server
/// answers.
async fn serve<S>(stream: S, addr: SocketAddr, events: &mpsc::Sender<Event>)
where
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    let (mut reader, mut writer) = tokio::io::split(stream);
    let (writer_tx, mut writer_rx) = mpsc::channel::<Vec<u8>>(TCP_QUEUE);
    if events.send(Event::TcpOpened { addr, writer: writer_tx }).await.is_err() {
        return;
    }
    let writing = tokio::spawn(async move {
        while let Some(data) = writer_rx.recv().await {
            if writer.write_all(&data).await.is_err() {
                break;
            }
        }
    });
    let mut buffer: Vec<u8> = Vec::with_capacity(4096);
    let mut chunk = vec![0u8; 16 * 1024];
    'reading: loop {
        let n = match reader.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        buffer.extend_from_slice(&chunk[..n]);
        loop {
            match next_frame(&buffer) {
                Frame::Complete(length) => {
                    let data: Vec<u8> = buffer.drain(..length).collect();
                    if events.send(Event::TcpMessage { addr, data }).await.is_err() {
                        break 'reading;
                    }
                }
                Frame::Partial if buffer.len() <= TCP_BUFFER => break,
                Frame::Partial | Frame::Garbage => {
                    debug!(%addr, "TURN over TCP: not TURN, closing");
                    break 'reading;
                }
            }
        }
    }
    writing.abort();
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn tcp_and_tls_clients_beyond_the_limit_are_turned_away_until_one_leaves() {
        let (events, _rx) = mpsc::channel(1);
        let clients = TurnClients { events, open: Arc::new(AtomicUsize::new(0)), max: 3 };
        let tls = clients.clone();
        let mut places: Vec<Admitted> = (0..3).map(|_| clients.admit().unwrap()).collect();
        assert!(clients.admit().is_none(), "a fourth over TCP");
        assert!(tls.admit().is_none(), "a fourth over TLS (one limit for both)");
        for _ in 0..1_000 {
            assert!(tls.admit().is_none());
        }
        assert_eq!(clients.connected(), 3, "refused clients hold no place");
        places.pop();
        assert_eq!(clients.connected(), 2);
        places.push(tls.admit().expect("a place again once one left"));
        assert_eq!(clients.connected(), 3);
    }
}
