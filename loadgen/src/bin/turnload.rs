//! TURN relaying load: clients that each hold one allocation and send a steady stream of
//! datagrams through it to a peer socket, against any TURN server that accepts coturn's
//! `use-auth-secret` credentials (the Treffpunkt relay with `--turn-secret`, coturn with
//! `static-auth-secret`). Prints one Markdown row: packets/s delivered, loss, and the server's
//! CPU, so `scripts/bench-turn.sh` can put two servers side by side.

use std::{
    net::{IpAddr, SocketAddr},
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use base64::{Engine as _, engine::general_purpose::STANDARD};
use bytes::BytesMut;
use clap::Parser;
use rtc::{
    crypto::HmacAlgorithm,
    sansio::Protocol,
    shared::{TaggedBytesMut, TransportContext, TransportProtocol},
    turn::client::{Client, ClientConfig, Event},
};
use tokio::net::UdpSocket;

/// TURN load: allocations that relay a steady stream each.
#[derive(Debug, Parser)]
struct Args {
    /// The TURN server (UDP).
    #[arg(long)]
    server: SocketAddr,
    /// The shared secret (coturn's static-auth-secret, the relay's --turn-secret).
    #[arg(long)]
    secret: String,
    /// Clients, one allocation each.
    #[arg(long, default_value_t = 50)]
    clients: usize,
    /// Datagrams per second each client sends.
    #[arg(long, default_value_t = 200)]
    rate: u32,
    /// Payload bytes per datagram (a video packet is ~1100).
    #[arg(long, default_value_t = 1000)]
    size: usize,
    /// How long to send.
    #[arg(long, default_value_t = 20)]
    seconds: u64,
    /// Address to bind clients and peers to.
    #[arg(long, default_value = "127.0.0.1")]
    bind: IpAddr,
    /// The server's process id, for its CPU time.
    #[arg(long)]
    server_pid: Option<u32>,
    /// A label for the row.
    #[arg(long, default_value = "")]
    label: String,
}

/// Credentials in coturn's use-auth-secret scheme, valid for an hour.
fn credentials(secret: &str, name: &str) -> Result<(String, String), String> {
    let expiry = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|e| e.to_string())?
        .as_secs()
        + 3600;
    let username = format!("{expiry}:{name}");
    let provider = rtc::crypto::default_provider().map_err(|e| e.to_string())?;
    let mut tag = [0u8; 20];
    provider
        .crypto()
        .new_hmac(HmacAlgorithm::Sha1, secret.as_bytes())
        .and_then(|mut mac| mac.sign(&[username.as_bytes()], &mut tag))
        .map_err(|e| e.to_string())?;
    Ok((username, STANDARD.encode(tag)))
}

struct Counters {
    sent: AtomicU64,
    received: AtomicU64,
    allocated: AtomicU64,
}

/// Feeds what arrived and the time to the client, sends what it wants sent.
async fn pump(client: &mut Client, socket: &UdpSocket, server: SocketAddr, local: SocketAddr) {
    while let Some(w) = client.poll_write() {
        let _ = socket.send_to(&w.message, server).await;
    }
    let mut buffer = vec![0u8; 2048];
    while let Ok((n, from)) = socket.try_recv_from(&mut buffer) {
        let _ = client.handle_read(TaggedBytesMut {
            now: Instant::now(),
            transport: TransportContext {
                local_addr: local,
                peer_addr: from,
                transport_protocol: TransportProtocol::UDP,
                ecn: None,
            },
            message: BytesMut::from(&buffer[..n]),
        });
    }
    let _ = client.handle_timeout(Instant::now());
    while let Some(w) = client.poll_write() {
        let _ = socket.send_to(&w.message, server).await;
    }
}

async fn run_client(
    args: Arc<Args>,
    index: usize,
    counters: Arc<Counters>,
    until: Instant,
) -> Result<(), String> {
    let socket = UdpSocket::bind((args.bind, 0)).await.map_err(|e| e.to_string())?;
    let peer = UdpSocket::bind((args.bind, 0)).await.map_err(|e| e.to_string())?;
    let (local, peer_addr) = (
        socket.local_addr().map_err(|e| e.to_string())?,
        peer.local_addr().map_err(|e| e.to_string())?,
    );
    let (username, password) = credentials(&args.secret, &format!("load{index}"))?;
    let mut client = Client::new(
        ClientConfig {
            stun_serv_addr: args.server.to_string(),
            turn_serv_addr: args.server.to_string(),
            local_addr: local,
            transport_protocol: TransportProtocol::UDP,
            username,
            password,
            realm: String::new(),
            software: String::new(),
            rto_in_ms: 200,
            allocation_refresh_interval_cap: None,
        },
        rtc::crypto::default_provider().map_err(|e| e.to_string())?,
    )
    .map_err(|e| e.to_string())?;
    let received = counters.clone();
    tokio::spawn(async move {
        let mut buffer = vec![0u8; 2048];
        while peer.recv_from(&mut buffer).await.is_ok() {
            received.received.fetch_add(1, Ordering::Relaxed);
        }
    });

    client.allocate(Instant::now()).map_err(|e| e.to_string())?;
    let deadline = Instant::now() + Duration::from_secs(10);
    let relayed = loop {
        pump(&mut client, &socket, args.server, local).await;
        if let Some(event) = client.poll_event() {
            match event {
                Event::AllocateResponse(_, relayed) => break relayed,
                Event::AllocateError(_, e) => return Err(format!("allocate: {e}")),
                _ => {}
            }
        }
        if Instant::now() > deadline {
            return Err("no answer to Allocate".into());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    // The server relays from an address it announces; ours is the peer socket's.
    client
        .relay(relayed)
        .map_err(|e| e.to_string())?
        .create_permission(Instant::now(), peer_addr)
        .map_err(|e| e.to_string())?;
    loop {
        pump(&mut client, &socket, args.server, local).await;
        match client.poll_event() {
            Some(Event::CreatePermissionResponse(..)) => break,
            Some(Event::CreatePermissionError(_, e)) => return Err(format!("permission: {e}")),
            _ => {}
        }
        if Instant::now() > deadline {
            return Err("no answer to CreatePermission".into());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    counters.allocated.fetch_add(1, Ordering::Relaxed);

    let payload = vec![0x5au8; args.size];
    let mut tick = tokio::time::interval(Duration::from_secs(1) / args.rate.max(1));
    while Instant::now() < until {
        tick.tick().await;
        if client
            .relay(relayed)
            .and_then(|mut r| r.send_to(Instant::now(), &payload, peer_addr))
            .is_ok()
        {
            counters.sent.fetch_add(1, Ordering::Relaxed);
        }
        pump(&mut client, &socket, args.server, local).await;
    }
    Ok(())
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = Arc::new(Args::parse());
    let counters = Arc::new(Counters {
        sent: AtomicU64::new(0),
        received: AtomicU64::new(0),
        allocated: AtomicU64::new(0),
    });
    let ramp = Duration::from_secs(3);
    let until = Instant::now() + ramp + Duration::from_secs(args.seconds);
    let mut tasks = Vec::new();
    for index in 0..args.clients {
        tasks.push(tokio::spawn(run_client(args.clone(), index, counters.clone(), until)));
    }
    // Measure after every allocation is up, until shortly before the end.
    tokio::time::sleep(ramp).await;
    let usage = || args.server_pid.and_then(loadgen::process::usage);
    let (start, cpu0, sent0, received0) = (
        Instant::now(),
        usage(),
        counters.sent.load(Ordering::Relaxed),
        counters.received.load(Ordering::Relaxed),
    );
    tokio::time::sleep(Duration::from_secs(args.seconds.saturating_sub(2).max(1))).await;
    let (elapsed, cpu1, sent1, received1) = (
        start.elapsed().as_secs_f64(),
        usage(),
        counters.sent.load(Ordering::Relaxed),
        counters.received.load(Ordering::Relaxed),
    );
    let mut failed = 0;
    for task in tasks {
        match task.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                failed += 1;
                eprintln!("client: {e}");
            }
            Err(e) => {
                failed += 1;
                eprintln!("client task: {e}");
            }
        }
    }
    let delivered = (received1 - received0) as f64 / elapsed;
    let offered = (sent1 - sent0) as f64 / elapsed;
    let loss = 1.0 - delivered / offered.max(1.0);
    let (cpu, rss) = match (cpu0, cpu1) {
        (Some((a, _)), Some((b, rss))) => ((b - a) / elapsed, rss),
        _ => (f64::NAN, 0),
    };
    println!(
        "| label | allocations | offered packets/s | delivered packets/s | loss | server CPU | packets/s per core | server RSS |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    println!(
        "| {} | {}/{} | {:.0} | {:.0} | {:.2} % | {:.1} % | {:.0} | {:.1} MB |",
        args.label,
        counters.allocated.load(Ordering::Relaxed),
        args.clients,
        offered,
        delivered,
        loss.max(0.0) * 100.0,
        cpu * 100.0,
        delivered / cpu,
        rss as f64 / 1e6
    );
    if failed > 0 { std::process::ExitCode::FAILURE } else { std::process::ExitCode::SUCCESS }
}
