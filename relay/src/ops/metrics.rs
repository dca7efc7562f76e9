//! `GET /metrics`: what an operator watches, in the OpenMetrics text format Prometheus scrapes,
//! written by the `prometheus-client` crate.
//!
//! The shell gathers a [`Snapshot`] of counts the hub, the connection table and the media loop
//! keep anyway; [`render`] turns it into text. Nothing here names a room or a person: the only
//! labels are the room mode, the refusal's error code and the build.

use std::fmt::Write as _;

use prometheus_client::{
    encoding::{EncodeMetric, MetricEncoder, NoLabelSet, text::encode},
    metrics::{
        counter::{ConstCounter, Counter},
        family::Family,
        gauge::{ConstGauge, Gauge},
        info::Info,
    },
    registry::{Registry, Unit},
};

use crate::{
    sfu::quality::{Buckets, LinkQuality},
    signalling::hub::Tally,
    signalling::rooms::Census,
};

/// The media type of [`render`]'s text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The relay's version and the git revision it was built from.
pub const VERSION: &str =
    concat!(env!("CARGO_PKG_VERSION"), " (", env!("TREFFPUNKT_REVISION"), ")");

/// The media loop's counts (rooms with server forwarding).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct MediaSnapshot {
    /// Loss and round trips of the relay's links to subscribers.
    pub quality: LinkQuality,
    /// Participants with a media connection to the relay.
    pub connections: u64,
    /// RTP packets forwarded by each media loop (one per core unless configured).
    pub forwarded_per_loop: Vec<u64>,
    /// RTP packets forwarded since the loop (re)started.
    pub forwarded_packets: u64,
    /// Their payload bytes.
    pub forwarded_bytes: u64,
    /// Commands waiting in the loop's bulk queue.
    pub queued_commands: u64,
    /// Times the loop failed and started again.
    pub restarts: u64,
    /// TURN allocations held.
    pub turn_allocations: u64,
    /// Whether the loop runs.
    pub running: bool,
}

/// Everything `/metrics` reports, read at one moment.
#[derive(Debug, Default, Clone)]
pub struct Snapshot {
    /// Rooms and people now.
    pub census: Census,
    /// The same for each tenant, by its label (every tenant, when tenants are configured).
    pub tenants: Vec<(String, Census)>,
    /// Joins, leaves and refusals since start.
    pub tally: Tally,
    /// Open WebSocket connections.
    pub connections: usize,
    /// Addresses (IPv6 by /64) they come from.
    pub addresses: usize,
    /// Signalling messages dropped by the per-connection rate limit since start.
    pub rate_limited: u64,
    /// The media loop, when server forwarding is on.
    pub media: Option<MediaSnapshot>,
}

fn gauge(registry: &mut Registry, name: &str, help: &str, value: u64) {
    registry.register(name, help, ConstGauge::new(i64::try_from(value).unwrap_or(i64::MAX)));
}

fn counter(registry: &mut Registry, name: &str, help: &str, value: u64) {
    registry.register(name, help, ConstCounter::new(value));
}

/// A histogram read from fixed buckets the media loop keeps.
#[derive(Debug)]
struct ConstHistogram {
    sum: f64,
    count: u64,
    /// Upper bound and the observations in that bucket alone (the encoder sums them up).
    buckets: Vec<(f64, u64)>,
}

impl<const N: usize> From<&Buckets<N>> for ConstHistogram {
    fn from(b: &Buckets<N>) -> Self {
        Self { sum: b.sum(), count: b.count(), buckets: b.buckets() }
    }
}

impl prometheus_client::metrics::TypedMetric for ConstHistogram {
    const TYPE: prometheus_client::metrics::MetricType =
        prometheus_client::metrics::MetricType::Histogram;
}

impl EncodeMetric for ConstHistogram {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        encoder.encode_histogram::<NoLabelSet>(self.sum, self.count, &self.buckets, None)
    }

    fn metric_type(&self) -> prometheus_client::metrics::MetricType {
        prometheus_client::metrics::MetricType::Histogram
    }
}

/// The snapshot as OpenMetrics text (metric names start with `treffpunkt_`).
pub fn render(snapshot: &Snapshot) -> String {
    let mut registry = Registry::with_prefix("treffpunkt");
    registry.register(
        "build",
        "The relay's version and git revision",
        Info::new(vec![("version", VERSION)]),
    );

    let by_mode = |mesh: usize, sfu: usize| {
        let family = Family::<Vec<(&'static str, &'static str)>, Gauge>::default();
        family.get_or_create(&vec![("mode", "mesh")]).set(mesh as i64);
        family.get_or_create(&vec![("mode", "sfu")]).set(sfu as i64);
        family
    };
    let census = &snapshot.census;
    registry.register(
        "rooms",
        "Open rooms, by how media flows",
        by_mode(census.mesh_rooms, census.sfu_rooms),
    );
    registry.register(
        "participants",
        "People in rooms (those reconnecting included), by how media flows",
        by_mode(census.mesh_participants, census.sfu_participants),
    );
    gauge(&mut registry, "lobby_waiting", "People waiting in lobbies", census.waiting as u64);
    if !snapshot.tenants.is_empty() {
        let by_tenant = |pick: fn(&Census) -> (usize, usize)| {
            let family = Family::<Vec<(&'static str, String)>, Gauge>::default();
            for (tenant, census) in &snapshot.tenants {
                let (mesh, sfu) = pick(census);
                for (mode, n) in [("mesh", mesh), ("sfu", sfu)] {
                    let labels = vec![("tenant", tenant.clone()), ("mode", mode.to_owned())];
                    family.get_or_create(&labels).set(n as i64);
                }
            }
            family
        };
        registry.register(
            "tenant_rooms",
            "Open rooms of each tenant, by how media flows",
            by_tenant(|c| (c.mesh_rooms, c.sfu_rooms)),
        );
        registry.register(
            "tenant_participants",
            "People in each tenant's rooms, by how media flows",
            by_tenant(|c| (c.mesh_participants, c.sfu_participants)),
        );
    }
    gauge(&mut registry, "connections", "Open WebSocket connections", snapshot.connections as u64);
    gauge(
        &mut registry,
        "connection_addresses",
        "Addresses the connections come from (IPv6 by /64)",
        snapshot.addresses as u64,
    );

    let tally = &snapshot.tally;
    counter(&mut registry, "joins", "People who came into a room", tally.joins);
    counter(&mut registry, "leaves", "People who left a room, for any reason", tally.leaves);
    let refused = Family::<Vec<(&'static str, String)>, Counter>::default();
    // The wire name of each code (`room_full`), in a stable order.
    let mut reasons: Vec<(String, u64)> = tally
        .refused
        .iter()
        .map(|(code, count)| (protocol::encode(code).trim_matches('"').to_owned(), *count))
        .collect();
    reasons.sort();
    for (reason, count) in reasons {
        refused.get_or_create(&vec![("reason", reason)]).inc_by(count);
    }
    registry.register("join_refusals", "Joins refused, by the error code sent", refused);
    counter(
        &mut registry,
        "rate_limited_messages",
        "Signalling messages dropped by the per-connection rate limit",
        snapshot.rate_limited,
    );
    counter(
        &mut registry,
        "media_queue_refusals",
        "Signals for the media loop refused because its queue was full",
        tally.media_busy,
    );

    if let Some(media) = &snapshot.media {
        gauge(
            &mut registry,
            "media_connections",
            "Participants with a media connection to the relay",
            media.connections,
        );
        counter(
            &mut registry,
            "forwarded_packets",
            "RTP packets forwarded (all subscribers; restarts with the media loop)",
            media.forwarded_packets,
        );
        counter(
            &mut registry,
            "forwarded_payload_bytes",
            "RTP payload bytes forwarded (all subscribers; restarts with the media loop)",
            media.forwarded_bytes,
        );
        gauge(
            &mut registry,
            "media_queue_depth",
            "Commands waiting in the media loop's queue",
            media.queued_commands,
        );
        counter(
            &mut registry,
            "media_loop_restarts",
            "Times a media loop failed and started again",
            media.restarts,
        );
        gauge(
            &mut registry,
            "media_loop_up",
            "1 while every media loop runs",
            u64::from(media.running),
        );
        let per_loop = Family::<Vec<(&'static str, String)>, Counter>::default();
        for (index, forwarded) in media.forwarded_per_loop.iter().enumerate() {
            per_loop.get_or_create(&vec![("loop", index.to_string())]).inc_by(*forwarded);
        }
        registry.register(
            "media_loop_forwarded_packets",
            "RTP packets forwarded by each media loop (one loop per core; a room stays in one)",
            per_loop,
        );
        gauge(&mut registry, "turn_allocations", "TURN allocations held", media.turn_allocations);
        registry.register(
            "downlink_loss_ratio",
            "Share of packets lost between relay and subscriber, per reception report",
            ConstHistogram::from(&media.quality.loss),
        );
        registry.register_with_unit(
            "round_trip",
            "Round trip relay-subscriber-relay, per reception report",
            Unit::Seconds,
            ConstHistogram::from(&media.quality.rtt),
        );
    }

    let mut text = String::new();
    if encode(&mut text, &registry).is_err() {
        // Writing into a String does not fail; say so plainly if it ever did.
        text.clear();
        let _ = writeln!(text, "# metrics could not be written\n# EOF");
    }
    text
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use protocol::ErrorCode;

    use super::*;

    /// The value of the sample `line_start` (name and labels), if present.
    fn value(text: &str, line_start: &str) -> Option<f64> {
        text.lines().find_map(|l| l.strip_prefix(line_start)?.strip_prefix(' ')?.parse().ok())
    }

    #[test]
    fn every_count_appears_under_its_name_and_labels() {
        let mut tally = Tally { joins: 7, leaves: 3, media_busy: 2, ..Tally::default() };
        // Two reports: one clean with a 30 ms round trip, one with a tenth lost and no echo.
        let mut quality = LinkQuality::default();
        let now: u64 = 1000 << 32;
        quality.on_report_block(now, 0, ((now >> 16) as u32).wrapping_sub(1966), 0);
        quality.on_report_block(now, 26, 0, 0);
        tally.refused.insert(ErrorCode::RoomFull, 4);
        tally.refused.insert(ErrorCode::WrongPassword, 1);
        let snapshot = Snapshot {
            census: Census {
                mesh_rooms: 2,
                mesh_participants: 5,
                sfu_rooms: 1,
                sfu_participants: 30,
                waiting: 2,
            },
            tenants: vec![
                (
                    "default".into(),
                    Census { mesh_rooms: 2, mesh_participants: 5, ..Census::default() },
                ),
                (
                    "musterhausen".into(),
                    Census { sfu_rooms: 1, sfu_participants: 30, ..Census::default() },
                ),
            ],
            tally,
            connections: 36,
            addresses: 9,
            rate_limited: 11,
            media: Some(MediaSnapshot {
                forwarded_per_loop: vec![600, 400],
                connections: 30,
                forwarded_packets: 1000,
                forwarded_bytes: 900_000,
                queued_commands: 3,
                restarts: 0,
                turn_allocations: 4,
                running: true,
                quality,
            }),
        };
        let text = render(&snapshot);
        for (sample, expected) in [
            ("treffpunkt_rooms{mode=\"mesh\"}", 2.0),
            ("treffpunkt_rooms{mode=\"sfu\"}", 1.0),
            ("treffpunkt_participants{mode=\"sfu\"}", 30.0),
            ("treffpunkt_tenant_rooms{tenant=\"default\",mode=\"mesh\"}", 2.0),
            ("treffpunkt_tenant_rooms{tenant=\"musterhausen\",mode=\"mesh\"}", 0.0),
            ("treffpunkt_tenant_participants{tenant=\"musterhausen\",mode=\"sfu\"}", 30.0),
            ("treffpunkt_lobby_waiting", 2.0),
            ("treffpunkt_connections", 36.0),
            ("treffpunkt_joins_total", 7.0),
            ("treffpunkt_leaves_total", 3.0),
            ("treffpunkt_join_refusals_total{reason=\"room_full\"}", 4.0),
            ("treffpunkt_join_refusals_total{reason=\"wrong_password\"}", 1.0),
            ("treffpunkt_rate_limited_messages_total", 11.0),
            ("treffpunkt_media_queue_refusals_total", 2.0),
            ("treffpunkt_forwarded_packets_total", 1000.0),
            ("treffpunkt_forwarded_payload_bytes_total", 900_000.0),
            ("treffpunkt_media_queue_depth", 3.0),
            ("treffpunkt_media_loop_up", 1.0),
            ("treffpunkt_media_loop_forwarded_packets_total{loop=\"0\"}", 600.0),
            ("treffpunkt_media_loop_forwarded_packets_total{loop=\"1\"}", 400.0),
            ("treffpunkt_turn_allocations", 4.0),
            ("treffpunkt_downlink_loss_ratio_count", 2.0),
            ("treffpunkt_downlink_loss_ratio_bucket{le=\"0.0\"}", 1.0),
            ("treffpunkt_downlink_loss_ratio_bucket{le=\"0.05\"}", 1.0),
            ("treffpunkt_downlink_loss_ratio_bucket{le=\"0.1\"}", 1.0),
            ("treffpunkt_downlink_loss_ratio_bucket{le=\"0.2\"}", 2.0),
            ("treffpunkt_downlink_loss_ratio_bucket{le=\"+Inf\"}", 2.0),
            ("treffpunkt_round_trip_seconds_count", 1.0),
            ("treffpunkt_round_trip_seconds_bucket{le=\"0.025\"}", 0.0),
            ("treffpunkt_round_trip_seconds_bucket{le=\"0.05\"}", 1.0),
        ] {
            assert_eq!(value(&text, sample), Some(expected), "{sample} in\n{text}");
        }
        assert!(text.contains("treffpunkt_build_info{version=\""), "{text}");
        assert!(text.trim_end().ends_with("# EOF"), "{text}");
    }

    #[test]
    fn the_grafana_dashboard_asks_only_for_metrics_the_relay_writes() {
        let dashboard = include_str!("../../../docs/grafana-dashboard.json");
        // A family without samples is left out, so one refusal puts `join_refusals` in.
        let mut tally = Tally::default();
        tally.refused.insert(ErrorCode::RoomFull, 1);
        let text = render(&Snapshot {
            tally,
            media: Some(MediaSnapshot::default()),
            ..Snapshot::default()
        });
        // Every metric's samples, by its TYPE line.
        let written: Vec<String> = text
            .lines()
            .filter_map(|l| l.strip_prefix("# TYPE ")?.split_once(' '))
            .flat_map(|(name, kind)| match kind {
                "counter" => vec![format!("{name}_total")],
                "info" => vec![format!("{name}_info")],
                "histogram" => ["bucket", "sum", "count"].map(|s| format!("{name}_{s}")).to_vec(),
                _ => vec![name.to_owned()],
            })
            .collect();
        let mut asked = 0;
        for (start, _) in dashboard.match_indices("treffpunkt_") {
            let name: String = dashboard[start..]
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                .collect();
            if name == "treffpunkt_" {
                continue; // the dashboard's uid and tag
            }
            asked += 1;
            assert!(
                written.contains(&name),
                "the dashboard asks for {name}; the relay writes {written:?}"
            );
        }
        assert!(asked >= 10, "{asked} queries");
    }

    #[test]
    fn without_server_forwarding_there_are_no_media_metrics() {
        let text = render(&Snapshot::default());
        assert_eq!(value(&text, "treffpunkt_joins_total"), Some(0.0));
        assert!(!text.contains("forwarded"), "{text}");
    }
}
