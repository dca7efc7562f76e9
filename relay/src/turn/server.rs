//! The TURN server (RFC 8656) as a state machine: datagrams and time in, datagrams and socket
//! requests out. The I/O shell (`sfu::task`) owns the sockets.
//!
//! What it does: answers STUN binding requests (browsers learn their public address); gives an
//! authenticated client a relayed UDP address (Allocate), keeps it while refreshed (Refresh),
//! lets it send to peers it named (CreatePermission, ChannelBind, Send indications and
//! ChannelData) and passes back what those peers send (Data indications and ChannelData). Every
//! table is bounded: allocations in all and per user, permissions and channels per allocation.
//! Peers must pass [`super::peers::allowed`].

use std::{
    collections::{HashMap, VecDeque},
    net::{IpAddr, SocketAddr},
    sync::Arc,
    time::{Duration, Instant},
};

use rtc::{
    crypto::{HmacAlgorithm, RTCCryptoProvider},
    stun::{
        attributes::{ATTR_MESSAGE_INTEGRITY, ATTR_NONCE, ATTR_USERNAME, ATTR_XOR_PEER_ADDRESS},
        error_code::{
            CODE_ALLOC_MISMATCH, CODE_ALLOC_QUOTA_REACHED, CODE_BAD_REQUEST, CODE_FORBIDDEN,
            CODE_INSUFFICIENT_CAPACITY, CODE_STALE_NONCE, CODE_UNAUTHORIZED,
            CODE_UNSUPPORTED_TRANS_PROTO, CODE_WRONG_CREDENTIALS, ErrorCode, ErrorCodeAttribute,
        },
        fingerprint::FINGERPRINT,
        integrity::MessageIntegrity,
        message::{
            CLASS_ERROR_RESPONSE, CLASS_INDICATION, CLASS_REQUEST, CLASS_SUCCESS_RESPONSE, Getter,
            METHOD_ALLOCATE, METHOD_BINDING, METHOD_CHANNEL_BIND, METHOD_CREATE_PERMISSION,
            METHOD_DATA, METHOD_REFRESH, METHOD_SEND, Message, MessageType, Setter, TransactionId,
        },
        textattrs::TextAttribute,
        xoraddr::XorMappedAddress,
    },
    turn::proto::{
        PROTO_UDP, channum::ChannelNumber, data::Data, lifetime::Lifetime, peeraddr::PeerAddress,
        relayaddr::RelayedAddress, reqtrans::RequestedTransport,
    },
};

use super::{credentials::Credentials, framing::is_channel_data, peers};

/// How a client reaches the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    /// Datagrams on the media port.
    Udp,
    /// A TCP connection to the media port's number.
    Tcp,
}

/// A client: its address and transport (with the server's fixed address, the 5-tuple).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Client {
    /// Where it sends from.
    pub addr: SocketAddr,
    /// Over what.
    pub transport: Transport,
}

/// Bounds on what clients may hold.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Allocations on the whole server.
    pub allocations: usize,
    /// Allocations per username (one participant: one per peer connection and transport).
    pub per_user: usize,
    /// Permissions per allocation.
    pub permissions: usize,
    /// Channels per allocation.
    pub channels: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self { allocations: 2000, per_user: 32, permissions: 32, channels: 32 }
    }
}

/// What the shell must do.
#[derive(Debug, PartialEq, Eq)]
pub enum Output {
    /// Send `data` to a client.
    ToClient {
        /// Whom.
        client: Client,
        /// The message.
        data: Vec<u8>,
    },
    /// Send `data` from the relayed socket bound at `relayed` to `peer`.
    ToPeer {
        /// The relayed socket's local address.
        relayed: SocketAddr,
        /// Where to.
        peer: SocketAddr,
        /// The payload.
        data: Vec<u8>,
    },
    /// Bind a relayed UDP socket for `client`, then call [`TurnServer::bound`].
    Bind {
        /// For whom.
        client: Client,
    },
    /// Close the relayed socket bound at this address.
    Release {
        /// Its local address.
        relayed: SocketAddr,
    },
}

/// Lifetime of an allocation that does not ask for another.
const DEFAULT_LIFETIME: Duration = Duration::from_secs(600);
/// The longest lifetime granted.
const MAX_LIFETIME: Duration = Duration::from_secs(3600);
/// How long a permission lasts (RFC 8656 §9).
const PERMISSION_LIFETIME: Duration = Duration::from_secs(300);
/// How long a channel binding lasts (RFC 8656 §12).
const CHANNEL_LIFETIME: Duration = Duration::from_secs(600);
/// How long a nonce is good for, in seconds.
const NONCE_LIFETIME: u64 = 3600;
/// Channel numbers clients may bind (RFC 8656 §12).
const CHANNELS: std::ops::RangeInclusive<u16> = 0x4000..=0x4fff;

struct Allocation {
    username: String,
    key: Vec<u8>,
    /// The relayed socket's local address (what the shell reports).
    relayed: SocketAddr,
    /// The same, as announced to clients.
    announced: SocketAddr,
    expires: Instant,
    permissions: HashMap<IpAddr, Instant>,
    channels: HashMap<u16, (SocketAddr, Instant)>,
    channel_of: HashMap<SocketAddr, u16>,
    /// The Allocate transaction, to answer its retransmissions alike.
    transaction: TransactionId,
}

impl Allocation {
    fn permitted(&self, now: Instant, peer: IpAddr) -> bool {
        self.permissions.get(&peer).is_some_and(|expires| *expires > now)
    }
}

struct Pending {
    username: String,
    key: Vec<u8>,
    lifetime: Duration,
    transaction: TransactionId,
}

/// An authenticated request's user.
struct Auth {
    username: String,
    key: Vec<u8>,
}

/// The TURN server.
pub struct TurnServer {
    realm: String,
    credentials: Credentials,
    crypto: Arc<dyn RTCCryptoProvider>,
    nonce_key: Vec<u8>,
    /// The relay's public IP, for relayed addresses and the peer policy.
    announce: IpAddr,
    limits: Limits,
    allocations: HashMap<Client, Allocation>,
    by_relayed: HashMap<SocketAddr, Client>,
    pending: HashMap<Client, Pending>,
    out: VecDeque<Output>,
}

impl TurnServer {
    /// A server for `realm` that checks `credentials` and announces relayed addresses on
    /// `announce`.
    pub fn new(
        realm: String,
        credentials: Credentials,
        crypto: Arc<dyn RTCCryptoProvider>,
        announce: IpAddr,
        limits: Limits,
    ) -> Self {
        let mut nonce_key = vec![0u8; 32];
        // Without randomness nonces are still unforgeable enough (they only guard replays of a
        // request that also carries a valid integrity tag); fall back rather than fail.
        let _ = crypto.random().fill(&mut nonce_key);
        Self {
            realm,
            credentials,
            crypto,
            nonce_key,
            announce,
            limits,
            allocations: HashMap::new(),
            by_relayed: HashMap::new(),
            pending: HashMap::new(),
            out: VecDeque::new(),
        }
    }

    /// The next thing to do, if any.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    /// Number of allocations.
    pub fn allocation_count(&self) -> usize {
        self.allocations.len()
    }

    /// A message from a client. `unix` is the wall clock in seconds (credentials carry an
    /// expiry in it).
    pub fn on_client(&mut self, now: Instant, unix: u64, client: Client, data: &[u8]) {
        if is_channel_data(data) {
            self.channel_data(now, client, data);
            return;
        }
        let mut m = Message::new();
        if m.unmarshal_binary(data).is_err() {
            return;
        }
        match (m.typ.class, m.typ.method) {
            (CLASS_REQUEST, METHOD_BINDING) => {
                let mapped = XorMappedAddress { ip: client.addr.ip(), port: client.addr.port() };
                self.respond(client, &m, CLASS_SUCCESS_RESPONSE, vec![Box::new(mapped)], None);
            }
            (CLASS_INDICATION, METHOD_SEND) => self.send_indication(now, client, &m),
            (CLASS_REQUEST, METHOD_ALLOCATE)
            | (CLASS_REQUEST, METHOD_REFRESH)
            | (CLASS_REQUEST, METHOD_CREATE_PERMISSION)
            | (CLASS_REQUEST, METHOD_CHANNEL_BIND) => {
                let Some(auth) = self.authenticate(unix, client, &mut m) else { return };
                match m.typ.method {
                    METHOD_ALLOCATE => self.allocate(client, &m, auth),
                    METHOD_REFRESH => self.refresh(now, client, &m, &auth),
                    METHOD_CREATE_PERMISSION => self.create_permission(now, client, &m, &auth),
                    _ => self.channel_bind(now, client, &m, &auth),
                }
            }
            (CLASS_REQUEST, _) => self.error(client, &m, CODE_BAD_REQUEST, None),
            _ => {}
        }
    }

    /// The shell bound (or failed to bind) the relayed socket a pending Allocate asked for.
    pub fn bound(&mut self, now: Instant, client: Client, result: std::io::Result<SocketAddr>) {
        let Some(pending) = self.pending.remove(&client) else {
            // The client went away meanwhile.
            if let Ok(relayed) = result {
                self.out.push_back(Output::Release { relayed });
            }
            return;
        };
        let request = Self::request_of(METHOD_ALLOCATE, pending.transaction);
        let relayed = match result {
            Ok(relayed) => relayed,
            Err(e) => {
                tracing::warn!(%client.addr, "cannot bind a TURN relayed socket: {e}");
                self.error(client, &request, CODE_INSUFFICIENT_CAPACITY, Some(&pending.key));
                return;
            }
        };
        let announced = SocketAddr::new(self.announce, relayed.port());
        let allocation = Allocation {
            username: pending.username,
            key: pending.key,
            relayed,
            announced,
            expires: now + pending.lifetime,
            permissions: HashMap::new(),
            channels: HashMap::new(),
            channel_of: HashMap::new(),
            transaction: pending.transaction,
        };
        let key = allocation.key.clone();
        self.by_relayed.insert(relayed, client);
        self.allocations.insert(client, allocation);
        tracing::debug!(%client.addr, ?client.transport, %announced, "TURN allocation");
        self.allocate_success(client, &request, announced, pending.lifetime, &key);
    }

    /// A datagram from `peer` to the relayed socket bound at `relayed`.
    pub fn on_peer(&mut self, now: Instant, relayed: SocketAddr, peer: SocketAddr, data: &[u8]) {
        let Some(client) = self.by_relayed.get(&relayed).copied() else { return };
        let Some(allocation) = self.allocations.get(&client) else { return };
        if !allocation.permitted(now, peer.ip()) {
            return;
        }
        let message = match allocation.channel_of.get(&peer) {
            Some(number) => channel_message(*number, data, client.transport == Transport::Tcp),
            None => {
                let mut m = Message::new();
                let built = m.build(&[
                    Box::new(TransactionId::new()),
                    Box::new(MessageType::new(METHOD_DATA, CLASS_INDICATION)),
                    Box::new(PeerAddress { ip: peer.ip(), port: peer.port() }),
                    Box::new(Data(data.to_vec())),
                ]);
                if built.is_err() {
                    return;
                }
                m.raw
            }
        };
        self.out.push_back(Output::ToClient { client, data: message });
    }

    /// A client's TCP connection closed: its allocation ends with it (RFC 8656 §3.1).
    pub fn client_gone(&mut self, client: Client) {
        self.pending.remove(&client);
        self.remove(client);
    }

    /// Ends allocations, permissions and channels whose time is up.
    pub fn handle_timeout(&mut self, now: Instant) {
        let expired: Vec<Client> =
            self.allocations.iter().filter(|(_, a)| a.expires <= now).map(|(c, _)| *c).collect();
        for client in expired {
            self.remove(client);
        }
        for allocation in self.allocations.values_mut() {
            allocation.permissions.retain(|_, expires| *expires > now);
            let stale: Vec<u16> = allocation
                .channels
                .iter()
                .filter(|(_, (_, expires))| *expires <= now)
                .map(|(n, _)| *n)
                .collect();
            for number in stale {
                if let Some((peer, _)) = allocation.channels.remove(&number) {
                    allocation.channel_of.remove(&peer);
                }
            }
        }
    }

    fn remove(&mut self, client: Client) {
        if let Some(allocation) = self.allocations.remove(&client) {
            self.by_relayed.remove(&allocation.relayed);
            self.out.push_back(Output::Release { relayed: allocation.relayed });
        }
    }

    /// Checks a request's long-term credentials; answers it with an error and returns `None`
    /// when they do not hold.
    fn authenticate(&mut self, unix: u64, client: Client, m: &mut Message) -> Option<Auth> {
        if !m.contains(ATTR_MESSAGE_INTEGRITY) {
            self.challenge(client, m, CODE_UNAUTHORIZED, unix);
            return None;
        }
        let (Ok(username), Ok(nonce)) = (
            TextAttribute::get_from_as(m, ATTR_USERNAME),
            TextAttribute::get_from_as(m, ATTR_NONCE),
        ) else {
            self.error(client, m, CODE_BAD_REQUEST, None);
            return None;
        };
        if !self.nonce_valid(&nonce.text, unix) {
            self.challenge(client, m, CODE_STALE_NONCE, unix);
            return None;
        }
        let key = self
            .credentials
            .password_for(&username.text, unix)
            .and_then(|password| self.credentials.key(&username.text, &self.realm, &password));
        let checked = key
            .as_ref()
            .ok()
            .map(|key| MessageIntegrity::check(m, key, self.crypto.crypto()).is_ok());
        match (key, checked) {
            (Ok(key), Some(true)) => Some(Auth { username: username.text, key }),
            _ => {
                tracing::debug!(%client.addr, username = %username.text, "TURN credentials refused");
                self.challenge(client, m, CODE_UNAUTHORIZED, unix);
                None
            }
        }
    }

    fn allocate(&mut self, client: Client, m: &Message, auth: Auth) {
        if let Some(existing) = self.allocations.get(&client) {
            if existing.transaction == m.transaction_id && existing.username == auth.username {
                // A retransmission whose answer got lost.
                let (announced, key) = (existing.announced, existing.key.clone());
                let left = DEFAULT_LIFETIME;
                self.allocate_success(client, m, announced, left, &key);
            } else {
                self.error(client, m, CODE_ALLOC_MISMATCH, Some(&auth.key));
            }
            return;
        }
        if self.pending.contains_key(&client) {
            return;
        }
        let mut transport = RequestedTransport::default();
        if transport.get_from(m).is_err() {
            self.error(client, m, CODE_BAD_REQUEST, Some(&auth.key));
            return;
        }
        if transport.protocol != PROTO_UDP {
            self.error(client, m, CODE_UNSUPPORTED_TRANS_PROTO, Some(&auth.key));
            return;
        }
        if self.allocations.len() + self.pending.len() >= self.limits.allocations {
            self.error(client, m, CODE_INSUFFICIENT_CAPACITY, Some(&auth.key));
            return;
        }
        let held = self.allocations.values().filter(|a| a.username == auth.username).count()
            + self.pending.values().filter(|p| p.username == auth.username).count();
        if held >= self.limits.per_user {
            self.error(client, m, CODE_ALLOC_QUOTA_REACHED, Some(&auth.key));
            return;
        }
        let lifetime =
            requested_lifetime(m).unwrap_or(DEFAULT_LIFETIME).clamp(DEFAULT_LIFETIME, MAX_LIFETIME);
        self.pending.insert(
            client,
            Pending {
                username: auth.username,
                key: auth.key,
                lifetime,
                transaction: m.transaction_id,
            },
        );
        self.out.push_back(Output::Bind { client });
    }

    fn allocate_success(
        &mut self,
        client: Client,
        request: &Message,
        announced: SocketAddr,
        lifetime: Duration,
        key: &[u8],
    ) {
        let setters: Vec<Box<dyn Setter>> = vec![
            Box::new(RelayedAddress { ip: announced.ip(), port: announced.port() }),
            Box::new(XorMappedAddress { ip: client.addr.ip(), port: client.addr.port() }),
            Box::new(Lifetime(lifetime)),
        ];
        self.respond(client, request, CLASS_SUCCESS_RESPONSE, setters, Some(key));
    }

    fn refresh(&mut self, now: Instant, client: Client, m: &Message, auth: &Auth) {
        let Some(allocation) = self.owned(client, m, auth) else { return };
        let lifetime = requested_lifetime(m).unwrap_or(DEFAULT_LIFETIME).min(MAX_LIFETIME);
        let key = allocation.key.clone();
        if lifetime.is_zero() {
            self.remove(client);
        } else {
            allocation.expires = now + lifetime;
        }
        self.respond(
            client,
            m,
            CLASS_SUCCESS_RESPONSE,
            vec![Box::new(Lifetime(lifetime))],
            Some(&key),
        );
    }

    fn create_permission(&mut self, now: Instant, client: Client, m: &Message, auth: &Auth) {
        let peers = peer_addresses(m);
        let announce = self.announce;
        let limit = self.limits.permissions;
        let Some(allocation) = self.owned(client, m, auth) else { return };
        let key = allocation.key.clone();
        let code = if peers.is_empty() {
            Some(CODE_BAD_REQUEST)
        } else if peers.iter().any(|p| !peers::allowed(p.ip(), announce)) {
            Some(CODE_FORBIDDEN)
        } else {
            let new =
                peers.iter().filter(|p| !allocation.permissions.contains_key(&p.ip())).count();
            if allocation.permissions.len() + new > limit {
                Some(CODE_INSUFFICIENT_CAPACITY)
            } else {
                for peer in &peers {
                    allocation.permissions.insert(peer.ip(), now + PERMISSION_LIFETIME);
                }
                None
            }
        };
        match code {
            Some(code) => self.error(client, m, code, Some(&key)),
            None => self.respond(client, m, CLASS_SUCCESS_RESPONSE, vec![], Some(&key)),
        }
    }

    fn channel_bind(&mut self, now: Instant, client: Client, m: &Message, auth: &Auth) {
        let mut number = ChannelNumber::default();
        let peer = peer_addresses(m).first().copied();
        let announce = self.announce;
        let (limit, permission_limit) = (self.limits.channels, self.limits.permissions);
        let Some(allocation) = self.owned(client, m, auth) else { return };
        let key = allocation.key.clone();
        let code = match (number.get_from(m), peer) {
            (Ok(()), Some(peer)) if CHANNELS.contains(&number.0) => {
                let bound_elsewhere =
                    allocation.channels.get(&number.0).is_some_and(|(p, _)| *p != peer)
                        || allocation.channel_of.get(&peer).is_some_and(|n| *n != number.0);
                let new_channel = !allocation.channels.contains_key(&number.0);
                let new_permission = !allocation.permissions.contains_key(&peer.ip());
                if !peers::allowed(peer.ip(), announce) {
                    Some(CODE_FORBIDDEN)
                } else if bound_elsewhere {
                    Some(CODE_BAD_REQUEST)
                } else if (new_channel && allocation.channels.len() >= limit)
                    || (new_permission && allocation.permissions.len() >= permission_limit)
                {
                    Some(CODE_INSUFFICIENT_CAPACITY)
                } else {
                    allocation.channels.insert(number.0, (peer, now + CHANNEL_LIFETIME));
                    allocation.channel_of.insert(peer, number.0);
                    allocation.permissions.insert(peer.ip(), now + PERMISSION_LIFETIME);
                    None
                }
            }
            _ => Some(CODE_BAD_REQUEST),
        };
        match code {
            Some(code) => self.error(client, m, code, Some(&key)),
            None => self.respond(client, m, CLASS_SUCCESS_RESPONSE, vec![], Some(&key)),
        }
    }

    /// The client's allocation, if it has one made with the same username; otherwise answers
    /// with the matching error.
    fn owned(&mut self, client: Client, m: &Message, auth: &Auth) -> Option<&mut Allocation> {
        match self.allocations.get(&client) {
            None => {
                self.error(client, m, CODE_ALLOC_MISMATCH, Some(&auth.key));
                None
            }
            Some(a) if a.username != auth.username => {
                self.error(client, m, CODE_WRONG_CREDENTIALS, Some(&auth.key));
                None
            }
            Some(_) => self.allocations.get_mut(&client),
        }
    }

    fn send_indication(&mut self, now: Instant, client: Client, m: &Message) {
        let Some(allocation) = self.allocations.get(&client) else { return };
        let (Some(peer), Ok(data)) = (peer_addresses(m).first().copied(), {
            let mut data = Data::default();
            data.get_from(m).map(|()| data)
        }) else {
            return;
        };
        if allocation.permitted(now, peer.ip()) {
            let relayed = allocation.relayed;
            self.out.push_back(Output::ToPeer { relayed, peer, data: data.0 });
        }
    }

    fn channel_data(&mut self, now: Instant, client: Client, data: &[u8]) {
        let Some(allocation) = self.allocations.get(&client) else { return };
        let number = u16::from_be_bytes([data[0], data[1]]);
        let length = usize::from(u16::from_be_bytes([data[2], data[3]]));
        let Some(payload) = data.get(4..4 + length) else { return };
        let Some((peer, expires)) = allocation.channels.get(&number) else { return };
        if *expires > now && allocation.permitted(now, peer.ip()) {
            let (relayed, peer) = (allocation.relayed, *peer);
            self.out.push_back(Output::ToPeer { relayed, peer, data: payload.to_vec() });
        }
    }

    /// A 401 or 438 with the realm and a fresh nonce.
    fn challenge(&mut self, client: Client, m: &Message, code: ErrorCode, unix: u64) {
        let nonce = self.nonce(unix);
        let setters: Vec<Box<dyn Setter>> = vec![
            Box::new(ErrorCodeAttribute { code, reason: vec![] }),
            Box::new(TextAttribute::new(rtc::stun::attributes::ATTR_REALM, self.realm.clone())),
            Box::new(TextAttribute::new(ATTR_NONCE, nonce)),
        ];
        self.respond(client, m, CLASS_ERROR_RESPONSE, setters, None);
    }

    fn error(&mut self, client: Client, m: &Message, code: ErrorCode, key: Option<&[u8]>) {
        let setters: Vec<Box<dyn Setter>> =
            vec![Box::new(ErrorCodeAttribute { code, reason: vec![] })];
        self.respond(client, m, CLASS_ERROR_RESPONSE, setters, key);
    }

    fn respond(
        &mut self,
        client: Client,
        request: &Message,
        class: rtc::stun::message::MessageClass,
        attributes: Vec<Box<dyn Setter>>,
        key: Option<&[u8]>,
    ) {
        let mut setters: Vec<Box<dyn Setter + '_>> = vec![
            Box::new(request.transaction_id),
            Box::new(MessageType::new(request.typ.method, class)),
        ];
        setters.extend(attributes);
        if let Some(key) = key {
            setters.push(Box::new(MessageIntegrity::new_raw_integrity_with_provider(
                key.to_vec(),
                self.crypto.crypto(),
            )));
        }
        setters.push(Box::new(FINGERPRINT));
        let mut response = Message::new();
        if response.build(&setters).is_ok() {
            self.out.push_back(Output::ToClient { client, data: response.raw });
        }
    }

    /// A stateless nonce: its expiry and a MAC over it.
    fn nonce(&self, unix: u64) -> String {
        let expiry = format!("{:x}", unix + NONCE_LIFETIME);
        format!("{expiry}-{}", self.nonce_mac(&expiry))
    }

    fn nonce_valid(&self, nonce: &str, unix: u64) -> bool {
        let Some((expiry, mac)) = nonce.split_once('-') else { return false };
        let fresh = u64::from_str_radix(expiry, 16).is_ok_and(|e| e > unix);
        fresh && self.nonce_mac(expiry) == mac
    }

    fn nonce_mac(&self, expiry: &str) -> String {
        let mut tag = [0u8; 20];
        let signed = self
            .crypto
            .crypto()
            .new_hmac(HmacAlgorithm::Sha1, &self.nonce_key)
            .and_then(|mut mac| mac.sign(&[expiry.as_bytes()], &mut tag));
        if signed.is_err() {
            return String::new();
        }
        tag[..8].iter().map(|b| format!("{b:02x}")).collect()
    }

    fn request_of(method: rtc::stun::message::Method, transaction: TransactionId) -> Message {
        let mut m = Message::new();
        m.typ = MessageType::new(method, CLASS_REQUEST);
        m.transaction_id = transaction;
        m
    }
}

/// The LIFETIME a request asks for, if it names one.
fn requested_lifetime(m: &Message) -> Option<Duration> {
    let mut lifetime = Lifetime::default();
    lifetime.get_from(m).ok().map(|()| lifetime.0)
}

/// Every XOR-PEER-ADDRESS of a request (CreatePermission may carry several).
fn peer_addresses(m: &Message) -> Vec<SocketAddr> {
    m.attributes
        .0
        .iter()
        .filter(|a| a.typ == ATTR_XOR_PEER_ADDRESS)
        .filter_map(|a| {
            let mut single = Message::new();
            single.transaction_id = m.transaction_id;
            single.write_header();
            single.add(ATTR_XOR_PEER_ADDRESS, &a.value);
            let mut peer = PeerAddress::default();
            peer.get_from(&single).ok().map(|()| SocketAddr::new(peer.ip, peer.port))
        })
        .collect()
}

/// A ChannelData message; padded to four bytes on TCP, where framing needs it.
fn channel_message(number: u16, data: &[u8], pad: bool) -> Vec<u8> {
    let length = u16::try_from(data.len()).unwrap_or(u16::MAX);
    let mut message = Vec::with_capacity(4 + data.len() + 3);
    message.extend_from_slice(&number.to_be_bytes());
    message.extend_from_slice(&length.to_be_bytes());
    message.extend_from_slice(&data[..usize::from(length)]);
    if pad {
        message.resize(message.len().next_multiple_of(4), 0);
    }
    message
}
