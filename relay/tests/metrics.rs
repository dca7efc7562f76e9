//! `/metrics` over real HTTP during real calls: the numbers an operator graphs move with what
//! happens (joins, leaves, refusals, floods, forwarded media), carry no names, and are shown only
//! to the addresses allowed to see them.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::{
    net::{IpAddr, Ipv4Addr},
    sync::Arc,
    time::{Duration, Instant},
};

use common::{TestRelay, error_code};
use protocol::{ClientMessage, ErrorCode, ServerMessage};

/// `GET /metrics` with these extra headers: the status code and the body.
async fn scrape_with(relay: &TestRelay, extra: &[(&str, &str)]) -> (u16, String) {
    let headers = [&[("host", "x")][..], extra].concat();
    common::http_request(relay.addr, "GET", "/metrics", &headers, "").await
}

async fn scrape(relay: &TestRelay) -> String {
    let (status, body) = scrape_with(relay, &[]).await;
    assert_eq!(status, 200, "{body}");
    body
}

/// The value of the sample named `sample` (with its labels), or 0 when it is not there.
fn value(text: &str, sample: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(sample)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or(0.0)
}

/// Scrapes until `sample` is above 0 (within 5 s); that scrape.
async fn scrape_once(relay: &TestRelay, sample: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let text = scrape(relay).await;
        if value(&text, sample) > 0.0 {
            return text;
        }
        assert!(Instant::now() < deadline, "{sample} stayed 0:\n{text}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn joins_leaves_refusals_and_floods_are_counted_without_names() {
    let relay = TestRelay::start(|c| {
        c.room_capacity = 2;
        c.mesh_threshold = 0;
    })
    .await;
    let before = scrape(&relay).await;
    assert_eq!(value(&before, "treffpunkt_joins_total"), 0.0, "{before}");

    let (anna, _, _) = relay.joined("ratssitzung-geheim", "Anna Amsel").await;
    let (bruno, _, _) = relay.joined("ratssitzung-geheim", "Bruno Bär").await;
    let mut carla = relay.greeted().await;
    carla.join("ratssitzung-geheim", "Carla Citronella").await;
    assert_eq!(error_code(&carla.recv().await), ErrorCode::RoomFull);

    let during = scrape(&relay).await;
    assert_eq!(value(&during, "treffpunkt_joins_total"), 2.0, "{during}");
    assert_eq!(value(&during, "treffpunkt_rooms{mode=\"mesh\"}"), 1.0, "{during}");
    assert_eq!(value(&during, "treffpunkt_participants{mode=\"mesh\"}"), 2.0, "{during}");
    assert_eq!(value(&during, "treffpunkt_join_refusals_total{reason=\"room_full\"}"), 1.0);
    assert_eq!(value(&during, "treffpunkt_connections"), 3.0, "{during}");
    // Who and where never appear: not the room, not a name.
    for secret in ["ratssitzung", "Anna", "Bruno", "Carla"] {
        assert!(!during.contains(secret), "{secret} in {during}");
    }

    // A flood from Carla, who has no seat: far more pings than the rate allows at once.
    for n in 0..400 {
        if !carla.try_send(&ClientMessage::Ping { nonce: n }).await {
            break;
        }
    }
    // Anna leaves by closing her tab.
    anna.close().await;
    let deadline = Instant::now() + Duration::from_secs(10);
    let after = loop {
        let text = scrape(&relay).await;
        if value(&text, "treffpunkt_leaves_total") >= 1.0
            && value(&text, "treffpunkt_rate_limited_messages_total") > 0.0
        {
            break text;
        }
        assert!(Instant::now() < deadline, "leave and flood not counted:\n{text}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(value(&after, "treffpunkt_leaves_total"), 1.0, "{after}");
    assert_eq!(value(&after, "treffpunkt_participants{mode=\"mesh\"}"), 1.0, "{after}");
    drop(carla);
    drop(bruno);
    relay.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarded_media_is_counted_during_a_call() {
    let relay = TestRelay::start(|c| {
        c.sfu_rooms = vec!["sfu-*".into()];
        c.media_listen = Some("127.0.0.1:0".parse().unwrap());
    })
    .await;
    let options = |name: &str, publish: bool| loadgen::Options {
        url: format!("ws://{}/ws", relay.addr),
        room: "sfu-metrics".into(),
        name: name.into(),
        publish,
        simulcast: true,
        bind_ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
        duration: Duration::from_secs(10),
        seed: name.len() as u64,
        link: None,
        observer: None,
        progress: Arc::new(loadgen::Progress::default()),
        drop_every: 0,
    };
    let (_anna_control, anna_rx) = tokio::sync::mpsc::unbounded_channel();
    let anna = tokio::spawn(loadgen::run(options("Anna", true), anna_rx));
    let (_bruno_control, bruno_rx) = tokio::sync::mpsc::unbounded_channel();
    let bruno = tokio::spawn(loadgen::run(options("Bruno", false), bruno_rx));

    // Wait until media flows, then watch it move between two scrapes.
    let first = scrape_once(&relay, "treffpunkt_forwarded_packets_total").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let second = scrape(&relay).await;
    assert_eq!(value(&first, "treffpunkt_participants{mode=\"sfu\"}"), 2.0, "{first}");
    assert_eq!(value(&first, "treffpunkt_media_connections"), 2.0, "{first}");
    assert_eq!(value(&second, "treffpunkt_media_loop_up"), 1.0, "{second}");
    let packets = |t: &str| value(t, "treffpunkt_forwarded_packets_total");
    let bytes = |t: &str| value(t, "treffpunkt_forwarded_payload_bytes_total");
    assert!(packets(&second) > packets(&first), "{first}\n{second}");
    assert!(bytes(&second) > bytes(&first), "{first}\n{second}");
    // Payloads are real audio and video: between 20 and 1,500 bytes a packet on average.
    let per_packet = bytes(&second) / packets(&second);
    assert!((20.0..1500.0).contains(&per_packet), "{per_packet} bytes a packet");

    // Bruno's reception reports (about once a second a stream, once he has had a sender report
    // of the relay) fill the loss and round-trip histograms: on loopback nothing is lost and the
    // round trip is far below a second.
    let reported = scrape_once(&relay, "treffpunkt_round_trip_seconds_count").await;
    let reports = value(&reported, "treffpunkt_downlink_loss_ratio_count");
    assert!(reports >= 1.0, "{reported}");
    assert_eq!(value(&reported, "treffpunkt_downlink_loss_ratio_bucket{le=\"+Inf\"}"), reports);
    assert!(value(&reported, "treffpunkt_downlink_loss_ratio_sum") / reports < 0.05, "{reported}");
    let round_trips = value(&reported, "treffpunkt_round_trip_seconds_count");
    let mean = value(&reported, "treffpunkt_round_trip_seconds_sum") / round_trips;
    assert!((0.0..1.0).contains(&mean), "mean round trip {mean} s:\n{reported}");
    println!("{reports} reception report blocks, {round_trips} round trips, mean {mean:.4} s");

    assert_eq!(anna.await.unwrap().error, None);
    assert_eq!(bruno.await.unwrap().error, None);
    relay.shutdown().await.unwrap();
}

#[tokio::test]
async fn metrics_are_shown_only_to_allowed_addresses() {
    // By default: this machine only. A browser's address forwarded by a local proxy is not.
    let relay = TestRelay::start(|_| {}).await;
    assert_eq!(scrape_with(&relay, &[]).await.0, 200);
    let (status, body) = scrape_with(&relay, &[("x-forwarded-for", "203.0.113.9")]).await;
    assert_eq!(status, 403, "{body}");
    assert!(!body.contains("treffpunkt_"), "{body}");
    relay.shutdown().await.unwrap();

    // A Prometheus elsewhere, named: it may; this machine now may not.
    let relay = TestRelay::start(|c| c.metrics_allow = vec!["192.0.2.7".parse().unwrap()]).await;
    assert_eq!(scrape_with(&relay, &[("x-forwarded-for", "192.0.2.7")]).await.0, 200);
    assert_eq!(scrape_with(&relay, &[]).await.0, 403);
    assert_eq!(scrape_with(&relay, &[("x-forwarded-for", "192.0.2.8")]).await.0, 403);
    relay.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_refused_join_is_counted_by_its_reason() {
    let relay = TestRelay::start(|c| c.mesh_threshold = 0).await;
    let mut client = relay.greeted().await;
    client.join("", "Dora").await;
    let refusal = client.recv().await;
    let ServerMessage::Error { code, .. } = refusal else { panic!("{refusal:?}") };
    let reason = protocol::encode(&code).trim_matches('"').to_owned();
    let text = scrape(&relay).await;
    assert_eq!(
        value(&text, &format!("treffpunkt_join_refusals_total{{reason=\"{reason}\"}}")),
        1.0,
        "{text}"
    );
    relay.shutdown().await.unwrap();
}
