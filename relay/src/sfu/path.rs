//! Whether a browser and the relay use the same media path.
//!
//! The relay is ICE-lite: it answers the browser's checks and sends media on the candidate pair
//! the browser nominated. Firefox nominates *aggressively* towards ICE-lite peers (every check
//! carries USE-CANDIDATE) and then sends on the highest-priority pair that works, while `rtc`
//! keeps the first pair nominated, for good. With several candidates (two interfaces, a VPN,
//! the relay's own TURN) the two choices can differ when checks finish out of order, as they do
//! on a busy machine. The relay then sends to an address the browser has stopped using, hears
//! nothing more on it, and gives the connection up after 30 s.
//!
//! The browser sends its media only on the pair it chose, so the source address of its media is
//! its choice. When that differs from where the relay sends for a while, the relay asks the
//! browser for an ICE restart (`Signal::RestartIce`); the browser's new checks reset the choice.
//! The same happens when a browser's NAT gives it a new port mid-call.
//!
//! Only addresses that sent a connectivity check signed with the participant's ICE password
//! count: `rtc` accepts media from any address once connected, and a forged datagram must not
//! make the relay disturb a call.

use std::{
    collections::VecDeque,
    net::SocketAddr,
    time::{Duration, Instant},
};

use rtc::{
    crypto::RTCCrypto,
    stun::{
        fingerprint::FINGERPRINT,
        integrity::MessageIntegrity,
        message::{BINDING_REQUEST, MESSAGE_HEADER_SIZE, Message, is_stun_message},
    },
};

/// How long media must arrive from elsewhere before the relay asks for a restart: longer than
/// the browser's own switch-over when a path changes.
pub const MISMATCH: Duration = Duration::from_secs(2);
/// The least time between two requests for a restart to one browser (the restart's checks and
/// negotiation must have a chance to finish).
pub const ASK_EVERY: Duration = Duration::from_secs(10);
/// Addresses remembered per participant as proven by a signed check (a browser has a few
/// candidates; the oldest is forgotten first).
const PROVEN: usize = 8;

/// A STUN transaction id: which check a datagram is.
pub type CheckId = [u8; 12];

/// The transaction id of `datagram` if it is a connectivity check that proves itself: a STUN
/// binding request signed (MESSAGE-INTEGRITY) with `password`, the relay's ICE password for the
/// participant it names, with a valid FINGERPRINT (browsers always send one) and nothing after
/// its last attribute. Bytes appended to a real check, or a changed fingerprint, would otherwise
/// pass the signature and let a copy of someone's check pose as a new one.
pub fn signed_check(datagram: &[u8], password: &str, crypto: &dyn RTCCrypto) -> Option<CheckId> {
    if !is_stun_message(datagram) {
        return None;
    }
    let mut message = Message::new();
    if message.unmarshal_binary(datagram).is_err() || message.typ != BINDING_REQUEST {
        return None;
    }
    if datagram.len() != MESSAGE_HEADER_SIZE + message.length as usize {
        return None;
    }
    FINGERPRINT.check(&message).ok()?;
    MessageIntegrity::check(&mut message, password.as_bytes(), crypto).ok()?;
    Some(message.transaction_id.0)
}

/// Checks kept by [`RecentChecks`] per participant: a browser sends a few per candidate pair
/// while connecting and one every few seconds after; this covers well over a minute.
const RECENT_CHECKS: usize = 64;

/// Where a participant's recent checks came from. A browser sends a check again (a
/// retransmission) only from the address it first used; the same signed check from another
/// address is a copy someone who saw it replays, and must not teach the relay that address.
#[derive(Debug, Default)]
pub struct RecentChecks(VecDeque<(CheckId, SocketAddr)>);

impl RecentChecks {
    /// Whether check `id` from `from` is no copy of one that came from elsewhere; remembers it.
    pub fn first_from(&mut self, id: CheckId, from: SocketAddr) -> bool {
        if let Some((_, first)) = self.0.iter().find(|(seen, _)| *seen == id) {
            return *first == from;
        }
        if self.0.len() == RECENT_CHECKS {
            self.0.pop_front();
        }
        self.0.push_back((id, from));
        true
    }
}

/// Watches one participant's media path.
#[derive(Debug, Default)]
pub struct PathWatch {
    /// Addresses that sent a signed check, newest last.
    proven: VecDeque<SocketAddr>,
    /// Since when media has arrived from an address the relay does not send to.
    since: Option<Instant>,
    /// When the relay last asked for a restart.
    asked: Option<Instant>,
}

impl PathWatch {
    /// A check signed with the participant's password came from `from`.
    pub fn signed_check_from(&mut self, from: SocketAddr) {
        self.proven.retain(|a| *a != from);
        if self.proven.len() == PROVEN {
            self.proven.pop_front();
        }
        self.proven.push_back(from);
    }

    /// Media (RTP or RTCP) arrived from `from` while the relay sends to `sending_to`. Returns
    /// true when the browser should be asked to restart ICE now.
    pub fn media_from(
        &mut self,
        now: Instant,
        from: SocketAddr,
        sending_to: Option<SocketAddr>,
    ) -> bool {
        let Some(sending_to) = sending_to else { return false };
        if from == sending_to || !self.proven.contains(&from) {
            self.since = None;
            return false;
        }
        let since = *self.since.get_or_insert(now);
        if now.saturating_duration_since(since) < MISMATCH {
            return false;
        }
        if self.asked.is_some_and(|asked| now.saturating_duration_since(asked) < ASK_EVERY) {
            return false;
        }
        self.asked = Some(now);
        self.since = None;
        true
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([192, 0, 2, 1], port))
    }

    /// A watch for a browser whose checks came from ports 1 and 2.
    fn watch() -> PathWatch {
        let mut watch = PathWatch::default();
        watch.signed_check_from(addr(1));
        watch.signed_check_from(addr(2));
        watch
    }

    #[test]
    fn media_on_the_relays_path_never_asks() {
        let mut watch = watch();
        let start = Instant::now();
        for ms in (0..60_000).step_by(20) {
            let now = start + Duration::from_millis(ms);
            assert!(!watch.media_from(now, addr(1), Some(addr(1))));
        }
    }

    #[test]
    fn asks_once_media_has_come_from_elsewhere_for_two_seconds() {
        let mut watch = watch();
        let start = Instant::now();
        let asked: Vec<u64> = (0..5_000)
            .step_by(20)
            .filter(|ms| {
                watch.media_from(start + Duration::from_millis(*ms), addr(2), Some(addr(1)))
            })
            .collect();
        assert_eq!(asked, [2_000]);
    }

    #[test]
    fn a_moment_on_another_path_is_forgiven() {
        let mut watch = watch();
        let start = Instant::now();
        for ms in (0..10_000).step_by(20) {
            let now = start + Duration::from_millis(ms);
            // Every second, 1.5 s of media from elsewhere, then back.
            let from = if ms % 2_000 < 1_500 { addr(2) } else { addr(1) };
            assert!(!watch.media_from(now, from, Some(addr(1))), "asked at {ms} ms");
        }
    }

    #[test]
    fn asks_again_only_after_ten_seconds() {
        let mut watch = watch();
        let start = Instant::now();
        let asked: Vec<u64> = (0..25_000)
            .step_by(20)
            .filter(|ms| {
                watch.media_from(start + Duration::from_millis(*ms), addr(2), Some(addr(1)))
            })
            .collect();
        assert_eq!(asked, [2_000, 12_000, 22_000]);
    }

    #[test]
    fn nothing_to_compare_before_the_relay_sends() {
        let mut watch = watch();
        let start = Instant::now();
        assert!(!watch.media_from(start, addr(2), None));
        assert!(!watch.media_from(start + Duration::from_secs(5), addr(2), None));
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod proof {
    use std::time::{Duration, Instant};

    use rtc::stun::{
        attributes::ATTR_USERNAME,
        fingerprint::FINGERPRINT,
        integrity::MessageIntegrity,
        message::{BINDING_REQUEST, Message, TransactionId},
        textattrs::Username,
    };

    use super::*;

    fn check(password: &str) -> Vec<u8> {
        let provider = rtc::crypto::default_provider().unwrap();
        let mut message = Message::new();
        message
            .build(&[
                Box::new(BINDING_REQUEST),
                Box::new(TransactionId::new()),
                Box::new(Username::new(ATTR_USERNAME, "tp1xab:browser".into())),
                Box::new(MessageIntegrity::new_short_term_integrity_with_provider(
                    password.into(),
                    provider.crypto(),
                )),
                Box::new(FINGERPRINT),
            ])
            .unwrap();
        message.raw
    }

    #[test]
    fn only_checks_signed_with_the_participants_password_count() {
        let provider = rtc::crypto::default_provider().unwrap();
        let crypto = provider.crypto();
        assert!(signed_check(&check("secret"), "secret", crypto).is_some());
        assert!(signed_check(&check("guess"), "secret", crypto).is_none());
        assert!(signed_check(&[0x80, 0x60, 0, 1], "secret", crypto).is_none());
        // A real check with bytes after it, or with its fingerprint changed, proves nothing.
        let mut longer = check("secret");
        longer.extend_from_slice(&[0, 0, 0, 0]);
        assert!(signed_check(&longer, "secret", crypto).is_none());
        let mut refingered = check("secret");
        let last = refingered.len() - 1;
        refingered[last] ^= 1;
        assert!(signed_check(&refingered, "secret", crypto).is_none());
    }

    #[test]
    fn a_copy_of_a_check_from_another_address_is_a_replay() {
        let mut recent = RecentChecks::default();
        let (browser, copier) =
            (SocketAddr::from(([198, 51, 100, 7], 9)), SocketAddr::from(([203, 0, 113, 66], 9)));
        assert!(recent.first_from([1; 12], browser));
        assert!(recent.first_from([1; 12], browser), "a retransmission");
        assert!(!recent.first_from([1; 12], copier), "a copy from elsewhere");
        assert!(recent.first_from([2; 12], copier), "its own checks count");
        for i in 0..RECENT_CHECKS as u8 {
            recent.first_from([i + 3; 12], browser);
        }
        assert_eq!(recent.0.len(), RECENT_CHECKS, "bounded");
    }

    #[test]
    fn media_from_an_address_without_a_signed_check_never_asks() {
        let forged = SocketAddr::from(([198, 51, 100, 7], 9));
        let relay_sends_to = SocketAddr::from(([192, 0, 2, 1], 1));
        let mut watch = PathWatch::default();
        watch.signed_check_from(relay_sends_to);
        let start = Instant::now();
        for ms in (0..30_000).step_by(20) {
            let now = start + Duration::from_millis(ms);
            assert!(!watch.media_from(now, forged, Some(relay_sends_to)));
        }
    }

    #[test]
    fn remembers_a_bounded_number_of_addresses() {
        let mut watch = PathWatch::default();
        for port in 0..1_000 {
            watch.signed_check_from(SocketAddr::from(([192, 0, 2, 1], port)));
        }
        assert_eq!(watch.proven.len(), PROVEN);
        assert_eq!(watch.proven.back(), Some(&SocketAddr::from(([192, 0, 2, 1], 999))));
    }
}
