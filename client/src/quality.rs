//! Connection quality to one participant, from successive `getStats()` samples.

/// Counters read from one `getStats()` report of a peer connection.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct StatsSample {
    /// When it was taken, in milliseconds.
    pub at_ms: f64,
    /// `candidate-pair.currentRoundTripTime` of the selected pair, in seconds.
    pub rtt_s: Option<f64>,
    /// Sum of `inbound-rtp.packetsReceived` (audio and video).
    pub packets_received: u64,
    /// Sum of `inbound-rtp.packetsLost`.
    pub packets_lost: i64,
    /// Sum of `inbound-rtp.bytesReceived`.
    pub bytes_received: u64,
    /// Sum of `outbound-rtp.bytesSent`.
    pub bytes_sent: u64,
    /// How the selected candidate pair carries media, from [`route_of`].
    pub route: Option<&'static str>,
}

/// How media travels, from the selected pair's local candidate: its `candidateType` and, for a
/// relay candidate, its `relayProtocol` (how the browser reaches the TURN server). A helpdesk
/// reads it in the connection details to tell what a school's firewall lets through.
pub fn route_of(candidate_type: &str, relay_protocol: Option<&str>) -> &'static str {
    match (candidate_type, relay_protocol) {
        ("host", _) => "direct",
        ("srflx" | "prflx", _) => "direct through NAT",
        ("relay", Some("udp")) => "via TURN over UDP",
        ("relay", Some("tcp")) => "via TURN over TCP",
        ("relay", Some("tls")) => "via TURN over TLS",
        ("relay", _) => "via TURN",
        _ => "other",
    }
}

/// How the connection is doing, for a small indicator on the tile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grade {
    /// Not enough data yet.
    Unknown,
    /// Low loss, low delay.
    Good,
    /// Noticeable loss or delay.
    Fair,
    /// Heavy loss or delay: expect frozen video and choppy sound.
    Poor,
}

impl Grade {
    /// Its name in the page (`data-quality`), which tests and styles read.
    pub fn name(self) -> &'static str {
        match self {
            Self::Unknown => "unknown",
            Self::Good => "good",
            Self::Fair => "fair",
            Self::Poor => "poor",
        }
    }

    /// The locale key of its label.
    pub fn key(self) -> &'static str {
        match self {
            Self::Unknown => "quality-unknown",
            Self::Good => "quality-good",
            Self::Fair => "quality-fair",
            Self::Poor => "quality-poor",
        }
    }
}

/// What the person (and their helpdesk) sees about one connection.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quality {
    /// Overall grade.
    pub grade: Grade,
    /// Round-trip time in milliseconds.
    pub rtt_ms: Option<f64>,
    /// Share of packets lost since the last sample, in percent.
    pub loss_percent: Option<f64>,
    /// Received bitrate in kbit/s.
    pub receive_kbps: Option<f64>,
    /// Sent bitrate in kbit/s.
    pub send_kbps: Option<f64>,
    /// How the media travels ([`route_of`]).
    pub route: Option<&'static str>,
}

impl Default for Quality {
    fn default() -> Self {
        Self {
            grade: Grade::Unknown,
            rtt_ms: None,
            loss_percent: None,
            receive_kbps: None,
            send_kbps: None,
            route: None,
        }
    }
}

/// Compares two samples of the same connection, `before` older than `after`.
pub fn assess(before: &StatsSample, after: &StatsSample) -> Quality {
    let seconds = (after.at_ms - before.at_ms) / 1000.0;
    if seconds <= 0.0 {
        return Quality::default();
    }
    let received = after.packets_received.saturating_sub(before.packets_received) as f64;
    let lost = (after.packets_lost - before.packets_lost).max(0) as f64;
    let loss_percent = (received + lost > 0.0).then(|| lost * 100.0 / (received + lost));
    let rate = |a: u64, b: u64| Some(a.saturating_sub(b) as f64 * 8.0 / 1000.0 / seconds);
    let rtt_ms = after.rtt_s.map(|s| s * 1000.0);
    let grade = match (rtt_ms, loss_percent) {
        (None, None) => Grade::Unknown,
        (rtt, loss) => {
            let rtt = rtt.unwrap_or(0.0);
            let loss = loss.unwrap_or(0.0);
            if loss >= 10.0 || rtt >= 500.0 {
                Grade::Poor
            } else if loss >= 3.0 || rtt >= 250.0 {
                Grade::Fair
            } else {
                Grade::Good
            }
        }
    };
    Quality {
        grade,
        rtt_ms,
        loss_percent,
        receive_kbps: rate(after.bytes_received, before.bytes_received),
        send_kbps: rate(after.bytes_sent, before.bytes_sent),
        route: after.route,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn sample(at_ms: f64, received: u64, lost: i64, rtt_ms: f64) -> StatsSample {
        StatsSample {
            at_ms,
            rtt_s: Some(rtt_ms / 1000.0),
            packets_received: received,
            packets_lost: lost,
            bytes_received: received * 1000,
            bytes_sent: received * 500,
            route: Some("host"),
        }
    }

    #[test]
    fn grades_follow_loss_and_delay() {
        let q = assess(&sample(0.0, 0, 0, 20.0), &sample(2000.0, 1000, 0, 20.0));
        assert_eq!(q.grade, Grade::Good);
        assert_eq!(q.loss_percent, Some(0.0));
        assert_eq!(q.receive_kbps, Some(4000.0));
        assert_eq!(q.send_kbps, Some(2000.0));
        assert_eq!(
            assess(&sample(0.0, 0, 0, 20.0), &sample(1000.0, 950, 50, 20.0)).grade,
            Grade::Fair
        );
        assert_eq!(
            assess(&sample(0.0, 0, 0, 20.0), &sample(1000.0, 800, 200, 20.0)).grade,
            Grade::Poor
        );
        assert_eq!(
            assess(&sample(0.0, 0, 0, 20.0), &sample(1000.0, 100, 0, 600.0)).grade,
            Grade::Poor
        );
    }

    #[test]
    fn no_traffic_and_no_time_are_unknown_not_errors() {
        let s = StatsSample { at_ms: 5.0, ..Default::default() };
        assert_eq!(assess(&s, &s).grade, Grade::Unknown);
        let later = StatsSample { at_ms: 1005.0, ..Default::default() };
        assert_eq!(assess(&s, &later).grade, Grade::Unknown);
        // Counters that went backwards (a renegotiation reset them) do not underflow.
        let q = assess(&sample(0.0, 500, 10, 20.0), &sample(1000.0, 100, 2, 20.0));
        assert_eq!(q.receive_kbps, Some(0.0));
    }

    #[test]
    fn the_route_says_whether_media_goes_direct_or_through_which_turn() {
        assert_eq!(route_of("host", None), "direct");
        assert_eq!(route_of("srflx", None), "direct through NAT");
        assert_eq!(route_of("prflx", None), "direct through NAT");
        assert_eq!(route_of("relay", Some("udp")), "via TURN over UDP");
        assert_eq!(route_of("relay", Some("tcp")), "via TURN over TCP");
        assert_eq!(route_of("relay", Some("tls")), "via TURN over TLS");
        assert_eq!(route_of("relay", None), "via TURN");
        assert_eq!(route_of("", None), "other");
    }
}
