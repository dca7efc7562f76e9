//! Signalling load: N clients join rooms of ROOM_SIZE, every client but the first of each room
//! sends signals to a room mate, and the tool reports join latency and delivery. Bounded: it
//! connects exactly N clients, sends a fixed number of messages and stops.
//!
//! Usage: `cargo run --release -p relay --example signalling_load -- ADDR CLIENTS ROOM_SIZE`
//! against a relay started with `--room-capacity` at least ROOM_SIZE.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use protocol::{ClientMessage, MediaState, ServerMessage, Signal};
use tokio_tungstenite::tungstenite::Message;

const SIGNALS_PER_CLIENT: u64 = 100;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let addr = args.get(1).cloned().unwrap_or_else(|| "127.0.0.1:8080".into());
    let clients: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(400);
    let room_size: usize = args.get(3).and_then(|a| a.parse().ok()).unwrap_or(4);

    let started = Instant::now();
    let mut sockets = Vec::new();
    let mut join_times = Vec::new();
    for i in 0..clients {
        let (mut ws, _) =
            tokio_tungstenite::connect_async(format!("ws://{addr}/ws")).await.expect("connect");
        let t = Instant::now();
        let hello = ClientMessage::Hello { version: protocol::PROTOCOL_VERSION };
        ws.send(Message::text(protocol::encode(&hello))).await.unwrap();
        let join = ClientMessage::Join {
            request_id: None,
            room: format!("load-{}", i / room_size),
            name: format!("Synthetic {i}"),
            media: MediaState::default(),
            resume: None,
            link: None,
            device: None,
            password: None,
            kept: vec![],
            kept_relay: false,
        };
        ws.send(Message::text(protocol::encode(&join))).await.unwrap();
        let mut you = None;
        while you.is_none() {
            let text = match ws.next().await {
                Some(Ok(Message::Text(text))) => text,
                Some(Ok(_)) => continue,
                other => panic!("connection ended: {other:?}"),
            };
            match protocol::decode_server(&text, usize::MAX).unwrap() {
                ServerMessage::Welcome { you: id, .. } => you = Some(id),
                ServerMessage::Error { message, .. } => panic!("{message}"),
                _ => {}
            }
        }
        join_times.push(t.elapsed());
        sockets.push((ws, you.unwrap()));
    }
    let joined = started.elapsed();
    join_times.sort();
    println!(
        "{clients} clients joined rooms of {room_size} in {:.2} s; join latency median {:.2} ms, p99 {:.2} ms",
        joined.as_secs_f64(),
        join_times[join_times.len() / 2].as_secs_f64() * 1e3,
        join_times[join_times.len() * 99 / 100].as_secs_f64() * 1e3
    );
    println!("holding all connections for 5 s (read the relay's RSS now)");
    tokio::time::sleep(Duration::from_secs(5)).await;

    let ids: Vec<_> = sockets.iter().map(|(_, id)| *id).collect();
    let (sinks, streams): (Vec<_>, Vec<_>) = sockets.into_iter().map(|(ws, _)| ws.split()).unzip();
    let mut expected = 0;
    let t = Instant::now();
    let mut senders = Vec::new();
    for (i, sink) in sinks.into_iter().enumerate() {
        if i % room_size == 0 {
            senders.push(tokio::spawn(async move { sink }));
            continue;
        }
        expected += SIGNALS_PER_CLIENT;
        let to = ids[i - 1];
        senders.push(tokio::spawn(async move {
            let mut sink = sink;
            for n in 0..SIGNALS_PER_CLIENT {
                let signal = Signal::Answer { sdp: format!("v=0 synthetic {n}") };
                let message = ClientMessage::Signal { to, signal };
                sink.send(Message::text(protocol::encode(&message))).await.unwrap();
                // Stay under the default rate limit of 50/s with bursts of 200.
                if n % 40 == 39 {
                    tokio::time::sleep(Duration::from_millis(800)).await;
                }
            }
            sink
        }));
    }
    let mut receivers = Vec::new();
    for stream in streams {
        receivers.push(tokio::spawn(async move {
            let mut stream = stream;
            let mut count = 0u64;
            while let Ok(Some(Ok(frame))) =
                tokio::time::timeout(Duration::from_secs(3), stream.next()).await
            {
                if let Message::Text(text) = frame
                    && text.contains("\"type\":\"signal\"")
                {
                    count += 1;
                }
            }
            count
        }));
    }
    let mut kept = Vec::new();
    for s in senders {
        kept.push(s.await.unwrap());
    }
    let mut received = 0;
    for r in receivers {
        received += r.await.unwrap();
    }
    let elapsed = t.elapsed().as_secs_f64() - 3.0;
    println!(
        "signals: sent {expected}, received {received} ({:.1} % delivered) in {:.2} s",
        received as f64 * 100.0 / expected as f64,
        elapsed
    );
    drop(kept);
}
