//! The TURN server against an independent client (webrtc-rs's `rtc-turn`), in memory and on a
//! simulated clock.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    net::SocketAddr,
    time::{Duration, Instant},
};

use bytes::BytesMut;
use protocol::ParticipantId;
use rtc::{
    sansio::Protocol,
    shared::{TaggedBytesMut, TransportContext, TransportProtocol},
    turn::client::{Client as TurnClient, ClientConfig, Event},
};

use super::{Client, Credentials, Limits, Output, Transport, TurnServer};

const SERVER: &str = "203.0.113.1:3478";
const UNIX: u64 = 1_800_000_000;

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn credentials() -> Credentials {
    Credentials::new(b"town secret".to_vec(), 3600, rtc::crypto::default_provider().unwrap())
}

/// A server, one client of it, and the clock.
struct Lab {
    server: TurnServer,
    client: TurnClient,
    me: SocketAddr,
    now: Instant,
    unix: u64,
    next_port: u16,
    /// What the server did besides answering the client.
    other: Vec<Output>,
    events: Vec<Event>,
}

impl Lab {
    fn new(me: &str, username: &str, password: &str, limits: Limits) -> Self {
        let provider = rtc::crypto::default_provider().unwrap();
        let server = TurnServer::new(
            "treffpunkt".into(),
            credentials(),
            provider.clone(),
            addr(SERVER).ip(),
            limits,
        );
        Self {
            server,
            client: client(me, username, password),
            me: addr(me),
            now: Instant::now(),
            unix: UNIX,
            next_port: 50_000,
            other: Vec::new(),
            events: Vec::new(),
        }
    }

    fn issued(me: &str, id: u64) -> Self {
        let (username, password) = credentials().issue(ParticipantId(id), UNIX).unwrap();
        Self::new(me, &username, &password, Limits::default())
    }

    /// Runs messages back and forth until both sides are quiet.
    fn pump(&mut self) {
        loop {
            let mut moved = false;
            while let Some(w) = self.client.poll_write() {
                moved = true;
                let from = Client { addr: self.me, transport: Transport::Udp };
                self.server.on_client(self.now, self.unix, from, &w.message);
            }
            while let Some(output) = self.server.poll_output() {
                moved = true;
                match output {
                    Output::ToClient { client, data } if client.addr == self.me => {
                        let _ = self.client.handle_read(TaggedBytesMut {
                            now: self.now,
                            transport: TransportContext {
                                local_addr: self.me,
                                peer_addr: addr(SERVER),
                                transport_protocol: TransportProtocol::UDP,
                                ecn: None,
                            },
                            message: BytesMut::from(&data[..]),
                        });
                    }
                    Output::Bind { client } => {
                        self.next_port += 1;
                        let local = SocketAddr::new(addr("0.0.0.0:0").ip(), self.next_port);
                        self.server.bound(self.now, client, Ok(local));
                    }
                    other => self.other.push(other),
                }
            }
            while let Some(event) = self.client.poll_event() {
                self.events.push(event);
            }
            if !moved {
                break;
            }
        }
    }

    fn allocate(&mut self) -> Result<SocketAddr, String> {
        self.client.allocate(self.now).unwrap();
        self.pump();
        match self.events.pop() {
            Some(Event::AllocateResponse(_, relayed)) => Ok(relayed),
            Some(Event::AllocateError(_, e)) => Err(e.to_string()),
            other => panic!("no answer to Allocate: {other:?}"),
        }
    }

    fn permit(&mut self, relayed: SocketAddr, peer: SocketAddr) -> bool {
        let sent = self.client.relay(relayed).unwrap().create_permission(self.now, peer).unwrap();
        assert!(sent.is_some());
        self.pump();
        match self.events.pop() {
            Some(Event::CreatePermissionResponse(..)) => true,
            Some(Event::CreatePermissionError(..)) => false,
            other => panic!("no answer to CreatePermission: {other:?}"),
        }
    }

    fn sent_to_peers(&mut self) -> Vec<(SocketAddr, Vec<u8>)> {
        self.other
            .drain(..)
            .filter_map(|o| match o {
                Output::ToPeer { peer, data, .. } => Some((peer, data)),
                _ => None,
            })
            .collect()
    }
}

fn client(me: &str, username: &str, password: &str) -> TurnClient {
    TurnClient::new(
        ClientConfig {
            stun_serv_addr: SERVER.into(),
            turn_serv_addr: SERVER.into(),
            local_addr: addr(me),
            transport_protocol: TransportProtocol::UDP,
            username: username.into(),
            password: password.into(),
            realm: String::new(),
            software: String::new(),
            rto_in_ms: 0,
            allocation_refresh_interval_cap: None,
        },
        rtc::crypto::default_provider().unwrap(),
    )
    .unwrap()
}

#[test]
fn a_binding_request_learns_the_public_address() {
    let mut lab = Lab::issued("198.51.100.7:40000", 1);
    lab.client.send_binding_request(lab.now).unwrap();
    lab.pump();
    match lab.events.pop() {
        Some(Event::BindingResponse(_, mapped)) => assert_eq!(mapped, addr("198.51.100.7:40000")),
        other => panic!("{other:?}"),
    }
}

#[test]
fn issued_credentials_get_a_relayed_address_on_the_announced_ip() {
    let mut lab = Lab::issued("198.51.100.7:40000", 1);
    let relayed = lab.allocate().unwrap();
    assert_eq!(relayed, addr("203.0.113.1:50001"));
    assert_eq!(lab.server.allocation_count(), 1);
}

#[test]
fn a_wrong_password_or_expired_credentials_get_nothing() {
    let (username, _) = credentials().issue(ParticipantId(1), UNIX).unwrap();
    let mut lab = Lab::new("198.51.100.7:40000", &username, "guessed", Limits::default());
    assert!(lab.allocate().is_err());
    let mut lab = Lab::issued("198.51.100.7:40000", 1);
    lab.unix = UNIX + 3600;
    assert!(lab.allocate().is_err());
    let forged = "9999999999:p1";
    let mut lab = Lab::new("198.51.100.7:40000", forged, "x", Limits::default());
    assert!(lab.allocate().is_err());
    assert_eq!(lab.server.allocation_count(), 0);
    assert!(lab.other.iter().all(|o| !matches!(o, Output::Bind { .. })));
}

#[test]
fn data_flows_both_ways_with_a_permitted_peer_only() {
    let mut lab = Lab::issued("198.51.100.7:40000", 1);
    let relayed = lab.allocate().unwrap();
    let local = SocketAddr::new(addr("0.0.0.0:0").ip(), relayed.port());
    let peer = addr("192.0.2.50:6000");
    let stranger = addr("192.0.2.99:6000");

    // Nothing goes anywhere before a permission.
    lab.client.relay(relayed).unwrap().send_to(lab.now, b"early", peer).ok();
    lab.pump();
    lab.server.on_peer(lab.now, local, stranger, b"spam");
    lab.pump();
    assert!(lab.sent_to_peers().iter().all(|(_, d)| d != b"early"));
    assert!(lab.events.is_empty(), "{:?}", lab.events);

    assert!(lab.permit(relayed, peer));
    lab.client.relay(relayed).unwrap().send_to(lab.now, b"hello peer", peer).unwrap();
    lab.pump();
    assert!(lab.sent_to_peers().contains(&(peer, b"hello peer".to_vec())));

    lab.server.on_peer(lab.now, local, peer, b"hello client");
    lab.server.on_peer(lab.now, local, stranger, b"spam");
    lab.pump();
    let got: Vec<_> = lab
        .events
        .drain(..)
        .filter_map(|e| match e {
            Event::DataIndicationOrChannelData(_, from, data) => Some((from, data.to_vec())),
            _ => None,
        })
        .collect();
    assert_eq!(got, vec![(peer, b"hello client".to_vec())]);
}

#[test]
fn peers_inside_the_relays_network_are_forbidden() {
    let mut lab = Lab::issued("198.51.100.7:40000", 1);
    let relayed = lab.allocate().unwrap();
    for inside in ["127.0.0.1:22", "10.0.0.1:80", "169.254.169.254:80", "192.168.1.1:53"] {
        assert!(!lab.permit(relayed, addr(inside)), "{inside}");
    }
    assert!(lab.permit(relayed, addr("192.0.2.50:6000")));
}

#[test]
fn allocations_end_when_their_lifetime_runs_out() {
    let mut lab = Lab::issued("198.51.100.7:40000", 1);
    lab.allocate().unwrap();
    lab.server.handle_timeout(lab.now + Duration::from_secs(599));
    assert_eq!(lab.server.allocation_count(), 1);
    lab.server.handle_timeout(lab.now + Duration::from_secs(601));
    assert_eq!(lab.server.allocation_count(), 0);
    lab.pump();
    assert!(lab.other.iter().any(|o| matches!(o, Output::Release { .. })));
}

#[test]
fn a_participant_holds_at_most_its_quota_of_allocations() {
    let (username, password) = credentials().issue(ParticipantId(1), UNIX).unwrap();
    let limits = Limits { per_user: 2, ..Limits::default() };
    let mut lab = Lab::new("198.51.100.7:40000", &username, &password, limits);
    lab.allocate().unwrap();
    for (i, port) in [40001, 40002].into_iter().enumerate() {
        let me = format!("198.51.100.7:{port}");
        lab.client = client(&me, &username, &password);
        lab.me = addr(&me);
        let result = lab.allocate();
        assert_eq!(result.is_ok(), i == 0, "allocation {}: {result:?}", i + 2);
    }
    assert_eq!(lab.server.allocation_count(), 2);
}

#[test]
fn a_full_server_refuses_new_allocations() {
    let (username, password) = credentials().issue(ParticipantId(1), UNIX).unwrap();
    let limits = Limits { allocations: 1, ..Limits::default() };
    let mut lab = Lab::new("198.51.100.7:40000", &username, &password, limits);
    lab.allocate().unwrap();
    let (other_user, other_password) = credentials().issue(ParticipantId(2), UNIX).unwrap();
    lab.client = client("198.51.100.8:40000", &other_user, &other_password);
    lab.me = addr("198.51.100.8:40000");
    assert!(lab.allocate().is_err());
}

#[test]
fn a_closed_tcp_connection_ends_its_allocation() {
    let mut lab = Lab::issued("198.51.100.7:40000", 1);
    lab.allocate().unwrap();
    lab.server.client_gone(Client { addr: lab.me, transport: Transport::Udp });
    assert_eq!(lab.server.allocation_count(), 0);
}

#[test]
fn random_and_truncated_input_never_panics_and_allocates_nothing() {
    let mut lab = Lab::issued("198.51.100.7:40000", 1);
    let from = Client { addr: lab.me, transport: Transport::Udp };
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    // Real requests, cut short and with bytes flipped, and plain noise.
    lab.client.allocate(lab.now).unwrap();
    let request = lab.client.poll_write().unwrap().message.to_vec();
    for _ in 0..20_000 {
        let mut data = request.clone();
        match next() % 3 {
            0 => data.truncate((next() as usize) % data.len()),
            1 => {
                let i = (next() as usize) % data.len();
                data[i] ^= (next() as u8) | 1;
            }
            _ => {
                data = (0..(next() % 64)).map(|_| next() as u8).collect();
                if let Some(first) = data.first_mut() {
                    *first &= if next() % 2 == 0 { 0x3f } else { 0x4f };
                }
            }
        }
        lab.server.on_client(lab.now, UNIX, from, &data);
        lab.server.on_peer(lab.now, addr("0.0.0.0:50001"), addr("192.0.2.1:1"), &data);
    }
    while let Some(output) = lab.server.poll_output() {
        assert!(!matches!(output, Output::Bind { .. } | Output::ToPeer { .. }), "{output:?}");
    }
}
