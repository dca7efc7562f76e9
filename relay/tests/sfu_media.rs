//! Media through the SFU over real UDP on loopback: synthetic participants (the load
//! generator's, speaking WebRTC with the `rtc` stack like a browser) publish real VP8 simulcast
//! and Opus, and subscribe; the tests look at the RTP that arrives.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::{
    collections::HashMap,
    net::{IpAddr, Ipv4Addr},
    sync::Arc,
    time::{Duration, Instant},
};

use common::{TestRelay, http_get};
use loadgen::{Control, Kind, Observed, Options, Progress, Report, assets::clip};
use protocol::{ParticipantId, ServerMessage, VideoQuality};
use tokio::{sync::mpsc, task::JoinHandle};

struct Synthetic {
    control: mpsc::UnboundedSender<Control>,
    observed: mpsc::UnboundedReceiver<Observed>,
    task: JoinHandle<Report>,
    progress: Arc<Progress>,
}

impl Synthetic {
    /// Waits until this participant's media connection to the relay is up (at most 20 s): the
    /// order a test needs (the publisher in the room and sending first) without guessing how
    /// long that takes on a loaded machine.
    async fn connected(&self) {
        let up = async {
            while self.progress.connected.load(std::sync::atomic::Ordering::Relaxed) == 0 {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        };
        tokio::time::timeout(Duration::from_secs(20), up)
            .await
            .expect("the media connection comes up within 20 s");
    }
}

fn options(relay: &TestRelay, room: &str, name: &str, publish: bool, seconds: u64) -> Options {
    Options {
        url: format!("ws://{}/ws", relay.addr),
        room: room.into(),
        name: name.into(),
        publish,
        simulcast: true,
        bind_ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
        duration: Duration::from_secs(seconds),
        seed: name.bytes().fold(0x9e37_79b9_7f4a_7c15, |h, b| h.rotate_left(5) ^ u64::from(b)),
        link: None,
        observer: None,
        progress: Arc::new(Progress::default()),
        drop_every: 0,
    }
}

fn start(mut options: Options) -> Synthetic {
    let (observer, observed) = mpsc::unbounded_channel();
    options.observer = Some(observer);
    let (control, control_rx) = mpsc::unbounded_channel();
    let progress = Arc::clone(&options.progress);
    let task = tokio::spawn(loadgen::run(options, control_rx));
    Synthetic { control, observed, task, progress }
}

async fn sfu_relay() -> TestRelay {
    sfu_relay_with(|_| {}).await
}

/// A relay with `sfu-*` rooms on a loopback media port, and `more` settings.
async fn sfu_relay_with(more: impl FnOnce(&mut relay::Config)) -> TestRelay {
    TestRelay::start(|c| {
        c.sfu_rooms = vec!["sfu-*".into()];
        c.media_listen = Some("127.0.0.1:0".parse().unwrap());
        more(c);
    })
    .await
}

/// Which clip frame a VP8 payload (without its 1-byte descriptor) belongs to, per layer.
fn layer_of(payload: &[u8]) -> Option<&'static str> {
    let body = payload.get(1..)?;
    let contains = |frames: &[bytes::Bytes]| {
        frames.iter().any(|f| f.windows(body.len().min(f.len())).any(|w| w == body))
    };
    if contains(&clip().high) {
        Some("high")
    } else if contains(&clip().low) {
        Some("low")
    } else {
        None
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn published_media_arrives_intact_and_in_order() {
    let relay = sfu_relay().await;
    let anna = start(options(&relay, "sfu-a", "Anna", true, 6));
    anna.connected().await;
    let mut bruno = start(options(&relay, "sfu-a", "Bruno", false, 5));

    let bruno_report = bruno.task.await.unwrap();
    let anna_report = anna.task.await.unwrap();
    assert_eq!(anna_report.error, None);
    assert_eq!(bruno_report.error, None);
    let anna_id = anna_report.id.unwrap();
    let stream = protocol::StreamId { source: anna_id, screen: false }.to_string();

    let mut packets: Vec<Observed> = Vec::new();
    while let Ok(p) = bruno.observed.try_recv() {
        packets.push(p);
    }
    let video: Vec<&Observed> =
        packets.iter().filter(|p| p.kind == Kind::Video && p.from == stream).collect();
    let audio: Vec<&Observed> =
        packets.iter().filter(|p| p.kind == Kind::Audio && p.from == stream).collect();
    assert!(video.len() > 100, "Bruno got {} video packets", video.len());
    assert!(audio.len() > 100, "Bruno got {} audio packets", audio.len());

    // Intact: every audio payload is one of the clip's Opus packets, byte for byte, and
    // every video payload is a piece of one of the clip's VP8 frames.
    for p in &audio {
        assert!(clip().audio.contains(&p.packet.payload), "audio payload altered");
    }
    for p in &video {
        assert!(layer_of(&p.packet.payload).is_some(), "video payload altered");
    }
    // In order: on loopback, sequence numbers rise by one from packet to packet.
    for stream in [&video, &audio] {
        let out_of_order = stream
            .windows(2)
            .filter(|w| {
                w[1].packet.header.sequence_number
                    != w[0].packet.header.sequence_number.wrapping_add(1)
            })
            .count();
        assert_eq!(out_of_order, 0, "sequence gaps or reordering");
    }
    // The first video packet starts a keyframe.
    assert!(forward_starts_with_keyframe(video[0]));
    let stats = bruno_report.streams.iter().find(|((_, kind), _)| *kind == Kind::Video).unwrap().1;
    assert_eq!(stats.lost(), 0);
    assert!(stats.frames > 60, "{} frames in ~4 s", stats.frames);
    relay.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_video_packets_are_resent_from_the_relays_cache() {
    let relay = sfu_relay().await;
    let anna = start(options(&relay, "sfu-e", "Anna", true, 6));
    anna.connected().await;
    // Bruno's downlink loses every 25th packet.
    let bruno = start(Options { drop_every: 25, ..options(&relay, "sfu-e", "Bruno", false, 5) });
    let report = bruno.task.await.unwrap();
    anna.task.await.unwrap();
    let stream = |kind| {
        report.streams.iter().find(|((_, k), _)| *k == kind).map(|(_, s)| s.clone()).unwrap()
    };
    let (video, audio) = (stream(Kind::Video), stream(Kind::Audio));
    // Audio is not retransmitted (Opus conceals loss): its gaps show the loss was real.
    assert!(audio.lost() >= 5, "audio lost {} of {}", audio.lost(), audio.expected());
    // Video asks again (NACK) and the relay answers from its per-stream cache. Packets lost at
    // the very end may still be missing.
    assert!(video.expected() > 150, "{}", video.expected());
    assert!(
        video.lost() <= 2,
        "video lost {} of {} despite retransmissions",
        video.lost(),
        video.expected()
    );
    eprintln!(
        "video: {} lost of {}; audio: {} lost of {}",
        video.lost(),
        video.expected(),
        audio.lost(),
        audio.expected()
    );
    relay.shutdown().await.unwrap();
}

fn forward_starts_with_keyframe(p: &Observed) -> bool {
    relay::sfu::forward::is_vp8_keyframe(&p.packet.payload)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_smaller_tile_switches_layers_on_a_keyframe_seamlessly() {
    let relay = sfu_relay().await;
    let anna = start(options(&relay, "sfu-b", "Anna", true, 9));
    anna.connected().await;
    let mut bruno = start(options(&relay, "sfu-b", "Bruno", false, 8));

    // Wait for Anna's high layer to reach Bruno, then make her tile small.
    let started = Instant::now();
    let mut before: Vec<Observed> = Vec::new();
    let anna_stream = loop {
        let p = tokio::time::timeout(Duration::from_secs(5), bruno.observed.recv())
            .await
            .expect("media within 5 s")
            .unwrap();
        let is_high = p.kind == Kind::Video && layer_of(&p.packet.payload) == Some("high");
        let from = p.from.clone();
        before.push(p);
        if is_high && started.elapsed() > Duration::from_secs(2) {
            break from;
        }
    };
    let anna_id = ParticipantId(anna_stream.trim_start_matches('p').parse().unwrap());
    let asked_at = before.iter().filter(|p| p.kind == Kind::Video).count();
    bruno.control.send(Control::Quality { from: anna_id, quality: VideoQuality::Low }).unwrap();

    let bruno_report = bruno.task.await.unwrap();
    anna.task.await.unwrap();
    assert_eq!(bruno_report.error, None);
    let mut video: Vec<Observed> = before.into_iter().filter(|p| p.kind == Kind::Video).collect();
    while let Ok(p) = bruno.observed.try_recv() {
        if p.kind == Kind::Video {
            video.push(p);
        }
    }
    let layers: Vec<&str> = video.iter().map(|p| layer_of(&p.packet.payload).unwrap()).collect();
    // Bruno gets the high layer (big tile, no bandwidth limit; he may start on the low one
    // until the relay has measured Anna's layers), and the low one after asking for less.
    let up = layers.iter().position(|l| *l == "high").expect("moved up to the high layer");
    assert!(up < asked_at, "on the high layer before asking for less");
    let down = up + layers[up..].iter().position(|l| *l == "low").expect("moved down again");
    assert!(down >= asked_at, "moved down only when asked");
    assert!(layers[down..].iter().all(|l| *l == "low"), "no going back without being asked");
    // Every switch happened on a keyframe, and the stream stayed continuous across it.
    for switch in [up, down].into_iter().filter(|i| *i > 0) {
        assert!(forward_starts_with_keyframe(&video[switch]), "switched on a keyframe");
        let (a, b) = (&video[switch - 1].packet.header, &video[switch].packet.header);
        assert_eq!(b.sequence_number, a.sequence_number.wrapping_add(1), "no sequence gap");
        assert_eq!(b.ssrc, a.ssrc, "same stream for the browser");
        let step = b.timestamp.wrapping_sub(a.timestamp);
        assert!((1..=90_000).contains(&step), "timestamps move on by less than a second: {step}");
    }
    relay.shutdown().await.unwrap();
}

/// Receives Bruno's video until `until` says stop, keeping everything; panics after 10 s.
async fn video_until(
    bruno: &mut Synthetic,
    kept: &mut Vec<Observed>,
    mut until: impl FnMut(&[Observed]) -> bool,
) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !until(kept) {
        let left = deadline.saturating_duration_since(Instant::now());
        let p = tokio::time::timeout(left, bruno.observed.recv())
            .await
            .expect("the expected layer within 10 s")
            .unwrap();
        if p.kind == Kind::Video {
            kept.push(p);
        }
    }
}

/// How many of the last `n` packets are of `layer`.
fn tail_of(video: &[Observed], n: usize, layer: &str) -> bool {
    video.len() >= n
        && video[video.len() - n..].iter().all(|p| layer_of(&p.packet.payload) == Some(layer))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bandwidth_a_subscriber_reports_picks_its_layer() {
    let relay = sfu_relay().await;
    let anna = start(options(&relay, "sfu-f", "Anna", true, 14));
    anna.connected().await;
    let mut bruno = start(options(&relay, "sfu-f", "Bruno", false, 13));
    let mut video = Vec::new();
    let estimate = |bruno: &Synthetic, bits| {
        for _ in 0..3 {
            bruno.control.send(Control::Bandwidth(bits)).unwrap();
        }
    };

    // No estimate yet and a big tile: the high layer (about 450 kbit/s).
    video_until(&mut bruno, &mut video, |v| tail_of(v, 30, "high")).await;
    // A browser on a thin line reports 300 kbit/s: too little for the high layer.
    let thin = video.len();
    estimate(&bruno, 300_000);
    video_until(&mut bruno, &mut video, |v| tail_of(v, 30, "low")).await;
    // The line recovers to 2 Mbit/s: back up.
    let thick = video.len();
    estimate(&bruno, 2_000_000);
    video_until(&mut bruno, &mut video, |v| tail_of(v, 30, "high")).await;

    let layers: Vec<&str> = video.iter().map(|p| layer_of(&p.packet.payload).unwrap()).collect();
    let down = thin + layers[thin..].iter().position(|l| *l == "low").expect("moved down");
    let up = thick + layers[thick..].iter().position(|l| *l == "high").expect("moved up");
    eprintln!("down after {} packets, up after {} packets", down - thin, up - thick);
    for switch in [down, up] {
        assert!(forward_starts_with_keyframe(&video[switch]), "switched on a keyframe");
        let (a, b) = (&video[switch - 1].packet.header, &video[switch].packet.header);
        assert_eq!(b.sequence_number, a.sequence_number.wrapping_add(1), "no sequence gap");
        assert_eq!(b.ssrc, a.ssrc, "same stream for the browser");
    }
    bruno.control.send(Control::Stop).unwrap();
    anna.task.abort();
    relay.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_keyframe_request_reaches_the_publisher() {
    let relay = sfu_relay().await;
    let anna = start(options(&relay, "sfu-c", "Anna", true, 5));
    anna.connected().await;
    // Bruno's arrival alone needs a keyframe from Anna (his first picture).
    let bruno = start(options(&relay, "sfu-c", "Bruno", false, 4));
    let bruno_report = bruno.task.await.unwrap();
    let anna_report = anna.task.await.unwrap();
    assert!(
        anna_report.keyframe_requests >= 1,
        "the relay asked Anna for a keyframe: {:?}",
        anna_report.keyframe_requests
    );
    // Throttled: however often it was needed, Anna was asked at most twice a second per layer.
    assert!(anna_report.keyframe_requests <= 2 * 2 * 5, "{}", anna_report.keyframe_requests);
    assert!(!bruno_report.first_frames.is_empty());
    relay.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vanished_participant_is_cleaned_up_within_ten_seconds() {
    // Shown as reconnecting within ~10 s, gone once its seat's grace period (here 2 s) is over.
    let relay = sfu_relay_with(|c| c.resume_grace_secs = 2).await;
    let (mut watcher, _, _) = relay.joined("sfu-d", "Wächter").await;
    let anna = start(options(&relay, "sfu-d", "Anna", true, 30));
    let anna_id = loop {
        if let ServerMessage::ParticipantJoined { participant } = watcher.recv().await {
            break participant.id;
        }
    };
    let status = |relay: &TestRelay| {
        let addr = relay.addr;
        async move {
            let body = http_get(addr, "/api/status").await;
            serde_json::from_str::<HashMap<String, serde_json::Value>>(&body).unwrap()
        }
    };
    // Wait for the media connection, then pull the plug without saying goodbye.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let s = status(&relay).await;
        // The watcher's (never negotiated) and Anna's.
        if s["media_connections"] == 2 {
            break;
        }
        assert!(Instant::now() < deadline, "Anna's media connection came up: {s:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await; // media flowing
    anna.control.send(Control::Freeze).unwrap();
    let frozen = Instant::now();
    let away = tokio::time::timeout(Duration::from_secs(12), async {
        loop {
            if let ServerMessage::ParticipantUpdated { participant } =
                watcher.recv_within(Duration::from_secs(13)).await
                && participant.away
            {
                return participant.id;
            }
        }
    })
    .await
    .expect("Anna is shown as reconnecting within ~10 s");
    assert_eq!(away, anna_id);
    let took = frozen.elapsed();
    eprintln!("Anna vanished; the others saw her reconnecting after {took:?}");
    assert!(took <= Duration::from_secs(11), "took {took:?}");
    let left = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            if let ServerMessage::ParticipantLeft { id } =
                watcher.recv_within(Duration::from_secs(6)).await
            {
                return id;
            }
        }
    })
    .await
    .expect("her seat ends after the grace period");
    assert_eq!(left, anna_id);
    let s = status(&relay).await;
    assert_eq!(s["participants"], 1, "{s:?}");
    // Signalling tells the media loop on its own thread; the loop frees the connection a moment
    // later (it failed CI once when read at once: 2 connections).
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let s = status(&relay).await;
        if s["media_connections"] == 1 {
            break;
        }
        assert!(Instant::now() < deadline, "the relay freed her media connection: {s:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    anna.task.abort();
    relay.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_relay_forwards_no_sound_from_a_microphone_a_host_locked() {
    use protocol::{ClientMessage, Moderation};
    let relay = sfu_relay().await;
    // The host opens the room; Anna keeps sending her sound whatever the host does, as a
    // modified browser would.
    let (mut host, _, _) = relay.joined("sfu-klasse", "Lehrerin").await;
    let anna = start(options(&relay, "sfu-klasse", "Anna", true, 9));
    let mut bruno = start(options(&relay, "sfu-klasse", "Bruno", false, 8));
    let anna_id = loop {
        if let ServerMessage::ParticipantJoined { participant } = host.recv().await
            && participant.name == "Anna"
        {
            break participant.id;
        }
    };
    let stream = protocol::StreamId { source: anna_id, screen: false }.to_string();
    let mut seen: Vec<Observed> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(6);
    while !seen.iter().any(|p| p.kind == Kind::Audio && p.from == stream) {
        assert!(Instant::now() < deadline, "Bruno never heard Anna");
        if let Ok(Some(p)) =
            tokio::time::timeout(Duration::from_millis(200), bruno.observed.recv()).await
        {
            seen.push(p);
        }
    }

    let lock = |locked| ClientMessage::Moderate {
        action: Moderation::LockMicrophone { id: anna_id, locked },
    };
    host.send(&lock(true)).await;
    let locked_at = Instant::now();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    host.send(&lock(false)).await;
    let allowed_at = Instant::now();

    let bruno_report = bruno.task.await.unwrap();
    let anna_report = anna.task.await.unwrap();
    assert_eq!((anna_report.error, bruno_report.error), (None, None));
    while let Ok(p) = bruno.observed.try_recv() {
        seen.push(p);
    }
    let from_anna = |kind: Kind, from: Instant, to: Instant| {
        seen.iter()
            .filter(|p| p.kind == kind && p.from == stream && p.at > from && p.at < to)
            .count()
    };
    // Packets on their way when the lock came may still arrive in its first half second.
    let (quiet_from, quiet_to) = (locked_at + Duration::from_millis(500), allowed_at);
    assert_eq!(from_anna(Kind::Audio, quiet_from, quiet_to), 0, "no sound while locked");
    assert!(from_anna(Kind::Video, quiet_from, quiet_to) > 20, "her picture still comes");
    let later = allowed_at + Duration::from_millis(500);
    let after = from_anna(Kind::Audio, later, later + Duration::from_secs(60));
    assert!(after > 20, "her sound comes again once allowed ({after} packets)");
    relay.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_a_class_pupils_cameras_reach_the_teachers_only() {
    use protocol::{ClientMessage, Moderation, Role};
    use relay::config::links::{Grant, LinkKeys};
    const SECRET: &str = "the school's link secret, 32 chr";
    let keys = LinkKeys::new(SECRET.as_bytes(), None);
    let expires =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() + 600;
    let link = |role| keys.sign(&Grant { room: "sfu-klasse".into(), role, expires, lobby: false });
    let relay = sfu_relay_with(|c| c.link_secret = Some(SECRET.into())).await;
    // The class's settings come from a host without media; the teacher's browser is a
    // synthetic host that receives; Anna publishes her camera and sound; Bruno receives.
    let mut admin = relay.greeted().await;
    admin.join_with_link("sfu-klasse", "Sekretariat", Some(&link(Role::Host))).await;
    let ServerMessage::Welcome { .. } = admin.recv().await else { panic!("no welcome") };
    admin.send(&ClientMessage::Moderate { action: Moderation::CamerasToHosts { on: true } }).await;
    let with_link = |name, publish, role| {
        let mut o = options(&relay, "sfu-klasse", name, publish, 7);
        o.link = Some(link(role));
        start(o)
    };
    let mut teacher = with_link("Lehrerin", false, Role::Host);
    let anna = with_link("Anna", true, Role::Participant);
    let mut bruno = with_link("Bruno", false, Role::Participant);
    let anna_id = loop {
        if let ServerMessage::ParticipantJoined { participant } = admin.recv().await
            && participant.name == "Anna"
        {
            break participant.id;
        }
    };
    let stream = protocol::StreamId { source: anna_id, screen: false }.to_string();
    let (mut at_teacher, mut at_bruno) = (Vec::new(), Vec::new());
    let reports = (teacher.task, anna.task, bruno.task);
    let (t, a, b) = (reports.0.await.unwrap(), reports.1.await.unwrap(), reports.2.await.unwrap());
    assert_eq!((t.error, a.error, b.error), (None, None, None));
    while let Ok(p) = teacher.observed.try_recv() {
        at_teacher.push(p);
    }
    while let Ok(p) = bruno.observed.try_recv() {
        at_bruno.push(p);
    }
    let count = |seen: &[Observed], kind: Kind| {
        seen.iter().filter(|p| p.kind == kind && p.from == stream).count()
    };
    assert!(count(&at_teacher, Kind::Video) > 50, "the teacher sees Anna");
    assert!(count(&at_bruno, Kind::Audio) > 50, "Bruno hears Anna");
    assert_eq!(count(&at_bruno, Kind::Video), 0, "Bruno never gets Anna's camera");
    relay.shutdown().await.unwrap();
}

/// The value of one sample in `/metrics`.
fn sample(metrics: &str, name: &str) -> f64 {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("no {name} in /metrics"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rooms_on_two_media_loops_forward_side_by_side() {
    let relay = sfu_relay_with(|c| c.media_threads = 2).await;
    let anna = start(options(&relay, "sfu-one", "Anna", true, 5));
    let clara = start(options(&relay, "sfu-two", "Clara", true, 5));
    anna.connected().await;
    clara.connected().await;
    let bruno = start(options(&relay, "sfu-one", "Bruno", false, 4));
    let dora = start(options(&relay, "sfu-two", "Dora", false, 4));
    let (bruno, dora) = (bruno.task.await.unwrap(), dora.task.await.unwrap());
    let (anna, clara) = (anna.task.await.unwrap(), clara.task.await.unwrap());
    for (watcher, publisher) in [(&bruno, &anna), (&dora, &clara)] {
        assert_eq!(watcher.error, None);
        let stream = protocol::StreamId { source: publisher.id.unwrap(), screen: false };
        // Tracks are named `<stream>-video` and `<stream>-audio`.
        let of_stream = |track: &str| track.split('-').next() == Some(&*stream.to_string());
        let video = watcher
            .streams
            .iter()
            .find(|((from, kind), _)| *kind == Kind::Video && of_stream(from))
            .map(|(_, stats)| stats)
            .unwrap_or_else(|| panic!("no video from {stream}: {:?}", watcher.streams.keys()));
        assert!(video.frames > 30, "{} frames in ~3.5 s", video.frames);
        assert_eq!(video.lost(), 0);
        // Nothing from the other room.
        assert!(watcher.streams.keys().all(|(from, _)| of_stream(from)), "{:?}", watcher.streams);
    }
    // Each room had a loop of its own: both forwarded.
    let metrics = http_get(relay.addr, "/metrics").await;
    for index in 0..2 {
        let name = format!("treffpunkt_media_loop_forwarded_packets_total{{loop=\"{index}\"}}");
        assert!(sample(&metrics, &name) > 100.0, "loop {index} forwarded too little:\n{metrics}");
    }
    relay.shutdown().await.unwrap();
}
