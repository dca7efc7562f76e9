//! `loadgen`: starts synthetic participants against a Treffpunkt relay (or Janus VideoRoom),
//! prints progress every second and a summary at the end. Bounded: every participant leaves
//! after `--seconds`, and the whole run stops by itself.

use std::{
    net::IpAddr,
    sync::{Arc, atomic::Ordering},
    time::{Duration, Instant},
};

use clap::{Parser, ValueEnum};
use loadgen::{Kind, Options, Progress, Report};
use tokio::{
    signal::unix::{SignalKind, signal},
    sync::mpsc,
};

/// Which server the participants talk to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Target {
    /// A Treffpunkt relay (rooms must use server forwarding: `--sfu-rooms`).
    Treffpunkt,
    /// Janus' VideoRoom plugin over its WebSocket API.
    Janus,
}

/// Synthetic meeting participants sending real VP8 simulcast and Opus.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// The server's WebSocket URL.
    #[arg(long, default_value = "ws://127.0.0.1:8080/ws")]
    url: String,
    /// Which server speaks at that URL.
    #[arg(long, value_enum, default_value = "treffpunkt")]
    target: Target,
    /// Number of rooms.
    #[arg(long, default_value_t = 1)]
    rooms: usize,
    /// Participants per room who send audio and video (and receive everyone else's).
    #[arg(long, default_value_t = 1)]
    publishers: usize,
    /// Participants per room who only receive.
    #[arg(long, default_value_t = 10)]
    listeners: usize,
    /// How long each participant stays (the run ends after this plus the ramp).
    #[arg(long, default_value_t = 20)]
    seconds: u64,
    /// Pause between starting two participants, in milliseconds.
    #[arg(long, default_value_t = 20)]
    ramp_ms: u64,
    /// Each participant leaves this many milliseconds after its own start, instead of all
    /// together after the ramp and `--seconds`: people coming and going one after another, as
    /// in a long session (with `--ramp-ms`, how many are there at once).
    #[arg(long)]
    stay_ms: Option<u64>,
    /// Seconds after the last start before measuring begins.
    #[arg(long, default_value_t = 3)]
    warmup: u64,
    /// Room names are this prefix plus a number (pin them to server forwarding on the relay).
    #[arg(long, default_value = "bench")]
    room_prefix: String,
    /// A signed invitation every synthetic participant joins with (for a relay with a link
    /// secret; one room).
    #[arg(long)]
    link: Option<String>,
    /// Send one video layer instead of two.
    #[arg(long)]
    no_simulcast: bool,
    /// The local address for media sockets.
    #[arg(long, default_value = "127.0.0.1")]
    bind: IpAddr,
    /// The server's process id, to report its CPU time and memory.
    #[arg(long)]
    server_pid: Option<u32>,
    /// A label for the summary line (e.g. the scenario's name).
    #[arg(long, default_value = "")]
    label: String,
    /// Abusive clients beside the rooms: each joins a room of its own (`<prefix>-abuse-<n>`),
    /// sends an offer and leaves, on new connections, as fast as the relay lets it.
    #[arg(long, default_value_t = 0)]
    abusers: usize,
}

fn percentile(values: &mut [f64], p: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    let index = ((values.len() - 1) as f64 * p).round() as usize;
    values[index]
}

/// Where the measuring window started.
struct Window {
    from: Instant,
    received: u64,
    usage: Option<(f64, u64)>,
}

/// What the window measured: its length, received packets/s, and the server's CPU cores used,
/// RSS now and RSS before the run.
struct Measured {
    secs: f64,
    pps: f64,
    cpu: Option<(f64, u64, u64)>,
}

struct Spawned {
    handle: tokio::task::JoinHandle<Report>,
    control: mpsc::UnboundedSender<loadgen::Control>,
    listener: bool,
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    // Listening for Ctrl-C (or SIGINT from a test) starts now, before anyone is spawned, and
    // one listener lives for the whole run: `tokio::signal::ctrl_c()` registers only when
    // first polled, and a fresh one per round of the loop below missed a signal that came
    // between two rounds (the twelve-participant test once waited 214 s for a run it had
    // interrupted 30 s in).
    let mut interrupt = match signal(SignalKind::interrupt()) {
        Ok(interrupt) => Some(interrupt),
        Err(e) => {
            eprintln!("cannot listen for Ctrl-C ({e}); the run ends after --seconds");
            None
        }
    };
    let progress = Arc::new(Progress::default());
    let per_room_connections = match args.target {
        // Janus: publishers publish and subscribe on two connections; listeners subscribe.
        Target::Janus if args.publishers > 1 => args.publishers * 2 + args.listeners,
        Target::Janus | Target::Treffpunkt => args.publishers + args.listeners,
    };
    let total = args.rooms * per_room_connections;
    let ramp = Duration::from_millis(args.ramp_ms) * total as u32;
    let started = Instant::now();
    eprintln!(
        "starting {} participants ({} rooms x {} publishers + {} listeners) against {:?} at {}",
        args.rooms * (args.publishers + args.listeners),
        args.rooms,
        args.publishers,
        args.listeners,
        args.target,
        args.url
    );

    let mut spawned = Vec::new();
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    for room in 0..args.rooms {
        let room_name = format!("{}-{room}", args.room_prefix);
        let mut roles: Vec<(String, bool, bool)> = Vec::new(); // (name, publish, listener)
        for p in 0..args.publishers {
            roles.push((format!("P{room}x{p}"), true, false));
        }
        for l in 0..args.listeners {
            roles.push((format!("L{room}x{l}"), false, true));
        }
        // With one publisher there is nobody else for it to receive.
        if args.target == Target::Janus && args.publishers > 1 {
            for p in 0..args.publishers {
                roles.push((format!("P{room}x{p}"), false, false));
            }
        }
        for (name, publish, listener) in roles {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let elapsed = started.elapsed();
            let options = Options {
                url: args.url.clone(),
                room: room_name.clone(),
                name: name.clone(),
                publish,
                simulcast: !args.no_simulcast,
                bind_ip: args.bind,
                // Everyone leaves at the same moment, so the measured window is full, unless
                // they come and go.
                duration: match args.stay_ms {
                    Some(stay) => Duration::from_millis(stay),
                    None => (ramp + Duration::from_secs(args.seconds)).saturating_sub(elapsed),
                },
                seed,
                link: args.link.clone(),
                observer: None,
                progress: progress.clone(),
                drop_every: 0,
            };
            let (control, control_rx) = mpsc::unbounded_channel();
            let handle = match args.target {
                Target::Treffpunkt => tokio::spawn(loadgen::run(options, control_rx)),
                Target::Janus => {
                    let expected = if listener { args.publishers } else { args.publishers - 1 };
                    tokio::spawn(loadgen::janus::run(options, expected, control_rx))
                }
            };
            spawned.push(Spawned { handle, control, listener });
            tokio::time::sleep(Duration::from_millis(args.ramp_ms)).await;
        }
    }

    let abuse = Arc::new(loadgen::abuse::AbuseCounters::default());
    if args.target == Target::Treffpunkt {
        for n in 0..args.abusers {
            tokio::spawn(loadgen::abuse::run(
                args.url.clone(),
                format!("{}-abuse-{n}", args.room_prefix),
                args.bind,
                n as u64 + 1,
                started + ramp + Duration::from_secs(args.seconds),
                abuse.clone(),
            ));
        }
    }

    // Progress once a second; the measuring window starts after the warm-up.
    let measure_from = started + ramp + Duration::from_secs(args.warmup);
    let measure_to = started + ramp + Duration::from_secs(args.seconds.saturating_sub(1));
    let mut window: Option<Window> = None;
    let mut result: Option<Measured> = None;
    let mut last_received = 0;
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let usage = || args.server_pid.and_then(loadgen::process::usage);
    let rss_before = usage().map(|u| u.1);
    let mut interrupted = false;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            // Ctrl-C (or SIGINT from a test): everyone leaves now, and the summary follows.
            Some(()) = async { interrupt.as_mut()?.recv().await }, if !interrupted => {
                interrupted = true;
                eprintln!("interrupted: participants are leaving");
                for s in &spawned {
                    let _ = s.control.send(loadgen::Control::Stop);
                }
            }
        }
        let now = Instant::now();
        let received = progress.received.load(Ordering::Relaxed);
        eprintln!(
            "[{:>3}s] connected {:>4}/{total}  received {:>7} pkt/s{}",
            started.elapsed().as_secs(),
            progress.connected.load(Ordering::Relaxed),
            received - last_received,
            usage()
                .map(|(cpu, rss)| format!(
                    "  server cpu {cpu:.1} s, rss {:.1} MB",
                    rss as f64 / 1e6
                ))
                .unwrap_or_default()
        );
        last_received = received;
        if window.is_none() && now >= measure_from {
            window = Some(Window { from: now, received, usage: usage() });
        }
        if let Some(w) = &window
            && result.is_none()
            && now >= measure_to
        {
            let secs = now.duration_since(w.from).as_secs_f64();
            let pps = (received - w.received) as f64 / secs;
            let cpu = w
                .usage
                .zip(usage())
                .map(|((c0, _), (c1, rss))| ((c1 - c0) / secs, rss, rss_before.unwrap_or(0)));
            result = Some(Measured { secs, pps, cpu });
        }
        if spawned.iter().all(|s| s.handle.is_finished()) {
            break;
        }
    }

    let mut reports = Vec::new();
    for s in spawned {
        if let Ok(report) = s.handle.await {
            reports.push((s.listener, report));
        }
    }
    let errors: Vec<&String> = reports.iter().filter_map(|(_, r)| r.error.as_ref()).collect();
    let mut connect: Vec<f64> =
        reports.iter().filter_map(|(_, r)| r.connect_time.map(|d| d.as_secs_f64())).collect();
    let mut first: Vec<f64> =
        reports.iter().flat_map(|(_, r)| r.first_frames.iter().map(|d| d.as_secs_f64())).collect();
    let streams: Vec<(Kind, &loadgen::stats::StreamStats)> = reports
        .iter()
        .flat_map(|(_, r)| r.streams.iter().map(|((_, kind), s)| (*kind, s)))
        .collect();
    let (lost, expected) =
        streams.iter().fold((0, 0), |(l, e), (_, s)| (l + s.lost(), e + s.expected()));
    let mut jitter: Vec<f64> =
        streams.iter().filter(|(k, _)| *k == Kind::Video).map(|(_, s)| s.jitter_ms()).collect();
    let freezes: u64 = streams.iter().map(|(_, s)| s.freezes).sum();
    let video_streams = streams.iter().filter(|(k, _)| *k == Kind::Video).count();
    let listener_bytes: Vec<f64> = reports
        .iter()
        .filter(|(listener, _)| *listener)
        .map(|(_, r)| r.streams.values().map(|s| s.bytes).sum::<u64>() as f64)
        .collect();

    println!();
    println!("| {} | value |", if args.label.is_empty() { "result" } else { &args.label });
    println!("|---|---|");
    println!("| server | {:?} |", args.target);
    println!(
        "| participants | {} ({} rooms x {} publishers + {} listeners) |",
        args.rooms * (args.publishers + args.listeners),
        args.rooms,
        args.publishers,
        args.listeners
    );
    println!("| media connections up | {}/{} |", connect.len(), total);
    println!(
        "| connect time median / p95 | {:.2} s / {:.2} s |",
        percentile(&mut connect, 0.5),
        percentile(&mut connect, 0.95)
    );
    println!(
        "| first frame median / p95 | {:.2} s / {:.2} s ({} video streams) |",
        percentile(&mut first, 0.5),
        percentile(&mut first, 0.95),
        first.len()
    );
    if let Some(Measured { secs, pps, cpu }) = result {
        println!("| received packets/s (all participants, {secs:.0} s window) | {pps:.0} |");
        if let Some((cores, rss, rss_before)) = cpu {
            println!("| server CPU | {:.1} % of one core |", cores * 100.0);
            if cores > 0.0 {
                println!("| forwarded packets/s per core | {:.0} |", pps / cores);
            }
            let participants = (args.rooms * (args.publishers + args.listeners)).max(1);
            println!(
                "| server RSS | {:.1} MB ({:.0} KB per participant above idle) |",
                rss as f64 / 1e6,
                rss.saturating_sub(rss_before) as f64 / 1e3 / participants as f64
            );
        }
    }
    println!(
        "| loss (all streams) | {:.3} % ({lost} of {expected}) |",
        if expected > 0 { lost as f64 * 100.0 / expected as f64 } else { 0.0 }
    );
    println!(
        "| video jitter median / p95 | {:.1} ms / {:.1} ms |",
        percentile(&mut jitter, 0.5),
        percentile(&mut jitter, 0.95)
    );
    println!("| freezes > 500 ms | {freezes} in {video_streams} video streams |");
    if !listener_bytes.is_empty() {
        let avg = listener_bytes.iter().sum::<f64>() / listener_bytes.len() as f64;
        println!(
            "| received per listener | {:.0} kbit/s |",
            avg * 8.0 / 1e3 / args.seconds.max(1) as f64
        );
    }
    // Who received whom: tracks with a decodable picture (video) or a second of sound (audio).
    let fewest = |kind: Kind| {
        reports
            .iter()
            .map(|(_, r)| {
                r.streams
                    .iter()
                    .filter(|((_, k), s)| {
                        *k == kind
                            && if kind == Kind::Video { s.frames > 0 } else { s.packets >= 50 }
                    })
                    .count()
            })
            .min()
            .unwrap_or(0)
    };
    println!(
        "| fewest tracks received by one participant | video {}, audio {} |",
        fewest(Kind::Video),
        fewest(Kind::Audio)
    );
    if args.abusers > 0 {
        println!(
            "| abusers | {}: {} joins, offers and leaves; {} refusals |",
            args.abusers,
            abuse.joins.load(Ordering::Relaxed),
            abuse.refused.load(Ordering::Relaxed)
        );
    }
    println!("| participant errors | {} |", errors.len());
    for e in errors.iter().take(5) {
        eprintln!("error: {e}");
    }
}
