//! "Perfect negotiation" between two browsers, as a state machine that does no I/O.
//!
//! Either side may start a negotiation at any time (tracks added, ICE restart). When both send an
//! offer at once ("glare"), the *polite* side gives way: it rolls its own offer back and answers
//! the other one; the *impolite* side ignores the colliding offer. Exactly one side of every pair
//! is polite. See <https://w3c.github.io/webrtc-pc/#perfect-negotiation-example>.
//!
//! The glue calls the `on_*` methods with what `RTCPeerConnection` reported and carries out the
//! returned [`Command`]s in order, one peer's events at a time.

use std::collections::VecDeque;

/// An offer of ours that waits this long for its answer is reported (once). Nothing is taken
/// back: a browser under load has been seen to answer after 12 s, and an answer that arrives
/// after its offer was withdrawn would be applied to the next one.
pub const SLOW_ANSWER_MS: f64 = 10_000.0;

use protocol::{IceCandidate, Signal};

/// `RTCPeerConnection.signalingState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignalingState {
    /// No negotiation under way.
    Stable,
    /// We sent an offer and wait for the answer.
    HaveLocalOffer,
    /// We received an offer and owe an answer.
    HaveRemoteOffer,
    /// Provisional answers; not used by Treffpunkt, treated as "busy".
    Other,
    /// The connection is closed.
    Closed,
}

impl SignalingState {
    /// Maps the browser's string value.
    pub fn from_js(value: &str) -> Self {
        match value {
            "stable" => Self::Stable,
            "have-local-offer" => Self::HaveLocalOffer,
            "have-remote-offer" => Self::HaveRemoteOffer,
            "closed" => Self::Closed,
            _ => Self::Other,
        }
    }
}

/// A session description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Description {
    /// `type: "offer"`.
    Offer(String),
    /// `type: "answer"`.
    Answer(String),
}

/// Something the glue must do to the `RTCPeerConnection`, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Call `setLocalDescription()` without arguments (it makes an offer or an answer, whichever
    /// the state needs), then report [`Negotiator::on_local_description_set`] or
    /// [`Negotiator::on_local_description_failed`].
    SetLocalDescription,
    /// Call `setRemoteDescription(..)` (which rolls back our own offer if there is one), then
    /// report [`Negotiator::on_remote_description_set`].
    SetRemoteDescription(Description),
    /// Call `addIceCandidate(..)`; failures of candidates are not fatal and only logged.
    AddCandidate(IceCandidate),
    /// Send this to the other participant through the relay.
    Send(Signal),
    /// Call `restartIce()`: the other side asked for it, or the connection failed (the browser
    /// then fires `negotiationneeded` and offers with new ICE credentials).
    RestartIce,
}

/// The negotiation state of one peer connection.
#[derive(Debug)]
pub struct Negotiator {
    /// Whether this side gives way on glare.
    polite: bool,
    /// Between deciding to offer and the offer being set locally.
    making_offer: bool,
    /// The last remote offer was ignored (impolite side, glare): its candidates are dropped too.
    ignore_offer: bool,
    /// A remote description has been applied, so candidates can be added.
    has_remote_description: bool,
    /// Candidates that arrived before the first remote description.
    early_candidates: VecDeque<IceCandidate>,
    /// How many offers this side rolled back to accept the other's (for tests and diagnostics).
    rollbacks: u32,
    /// When our offer that awaits an answer was set (ms, any clock the glue keeps using), and
    /// whether its long wait was reported.
    offered_at_ms: Option<(f64, bool)>,
    /// An ICE restart was asked for and no answer has been applied since: an offer carrying it
    /// that is rolled back must be made again.
    restart_pending: bool,
}

impl Negotiator {
    /// A negotiator for a fresh connection.
    pub fn new(polite: bool) -> Self {
        Self {
            polite,
            making_offer: false,
            ignore_offer: false,
            has_remote_description: false,
            early_candidates: VecDeque::new(),
            rollbacks: 0,
            offered_at_ms: None,
            restart_pending: false,
        }
    }

    /// A negotiator for a fresh connection on which this side makes the first offer. Until
    /// that offer is made it counts as being made: an offer that arrives first cannot be meant
    /// for this connection (it comes from the other side's connection that this one replaces,
    /// sent before they heard of the replacement), and the impolite side ignores it.
    pub fn offering(polite: bool) -> Self {
        Self { making_offer: true, ..Self::new(polite) }
    }

    /// Whether this side is the polite one.
    pub fn is_polite(&self) -> bool {
        self.polite
    }

    /// How often this side gave way in glare.
    pub fn rollbacks(&self) -> u32 {
        self.rollbacks
    }

    /// Restart ICE (the connection failed or the other side asked).
    pub fn restart_ice(&mut self) -> Vec<Command> {
        self.restart_pending = true;
        vec![Command::RestartIce]
    }

    /// The signalling connection broke and came back while this media connection stayed: our
    /// offer that still awaits its answer (`local`, the connection's pending local
    /// description) may have been lost with it, so it goes again. Sent twice, it is answered
    /// once: the other side applies an offer only when it has none of its own pending, and an
    /// answer only while it waits for one.
    pub fn resend_offer(
        &mut self,
        state: SignalingState,
        local: Option<Description>,
    ) -> Vec<Command> {
        match (state, local) {
            (SignalingState::HaveLocalOffer, Some(Description::Offer(sdp)))
                if !self.making_offer =>
            {
                vec![Command::Send(Signal::Offer { sdp })]
            }
            _ => Vec::new(),
        }
    }

    /// Time passed; `state` is the connection's signalling state now. Returns how long our
    /// offer has waited for its answer, once, when that passes [`SLOW_ANSWER_MS`].
    pub fn slow_answer(&mut self, now_ms: f64, state: SignalingState) -> Option<f64> {
        if state != SignalingState::HaveLocalOffer {
            return None;
        }
        match &mut self.offered_at_ms {
            Some((at, reported @ false)) if now_ms - *at >= SLOW_ANSWER_MS => {
                *reported = true;
                Some(now_ms - *at)
            }
            _ => None,
        }
    }

    /// The browser fired `negotiationneeded`.
    pub fn on_negotiation_needed(&mut self, state: SignalingState) -> Vec<Command> {
        if state == SignalingState::Closed {
            return Vec::new();
        }
        self.making_offer = true;
        vec![Command::SetLocalDescription]
    }

    /// `setLocalDescription()` completed with `description`.
    pub fn on_local_description_set(
        &mut self,
        description: Description,
        now_ms: f64,
    ) -> Vec<Command> {
        self.making_offer = false;
        let signal = match description {
            Description::Offer(sdp) => {
                self.offered_at_ms = Some((now_ms, false));
                Signal::Offer { sdp }
            }
            Description::Answer(sdp) => Signal::Answer { sdp },
        };
        vec![Command::Send(signal)]
    }

    /// `setLocalDescription()` failed (e.g. the connection closed meanwhile).
    pub fn on_local_description_failed(&mut self) {
        self.making_offer = false;
    }

    /// The browser produced a local ICE candidate.
    pub fn on_local_candidate(&mut self, candidate: IceCandidate) -> Vec<Command> {
        vec![Command::Send(Signal::Candidate { candidate })]
    }

    /// A signal arrived from the other participant; `state` is the connection's signalling state
    /// now.
    pub fn on_signal(&mut self, signal: Signal, state: SignalingState) -> Vec<Command> {
        if state == SignalingState::Closed {
            return Vec::new();
        }
        match signal {
            Signal::Offer { sdp } => {
                let collision = self.making_offer || state != SignalingState::Stable;
                self.ignore_offer = !self.polite && collision;
                if self.ignore_offer {
                    return Vec::new();
                }
                let mut commands = vec![Command::SetRemoteDescription(Description::Offer(sdp))];
                if collision {
                    self.rollbacks += 1;
                    self.offered_at_ms = None;
                    // Our rolled-back offer may have carried an ICE restart: ask again once
                    // the other side's offer is answered.
                    if self.restart_pending {
                        commands.push(Command::RestartIce);
                    }
                }
                commands
            }
            Signal::Answer { sdp } => {
                if state != SignalingState::HaveLocalOffer {
                    // An answer to an offer we rolled back, or a duplicate: nothing to apply.
                    return Vec::new();
                }
                self.offered_at_ms = None;
                self.restart_pending = false;
                // The answer to our offer: the other side gave way, and its candidates from now
                // on belong to this session, not to the offer we ignored.
                self.ignore_offer = false;
                vec![Command::SetRemoteDescription(Description::Answer(sdp))]
            }
            Signal::Candidate { candidate } => {
                if self.ignore_offer {
                    Vec::new()
                } else if self.has_remote_description {
                    vec![Command::AddCandidate(candidate)]
                } else {
                    self.early_candidates.push_back(candidate);
                    Vec::new()
                }
            }
            Signal::RestartIce => self.restart_ice(),
            // The meeting handles it: it replaces the whole connection.
            Signal::Rebuild => Vec::new(),
        }
    }

    /// `setRemoteDescription(..)` completed for a description of the given kind.
    pub fn on_remote_description_set(&mut self, was_offer: bool) -> Vec<Command> {
        self.has_remote_description = true;
        let mut commands = Vec::new();
        if was_offer {
            commands.push(Command::SetLocalDescription);
        }
        commands.extend(self.early_candidates.drain(..).map(Command::AddCandidate));
        commands
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    //! Two negotiators joined by an in-memory "network", each driving a model of the browser's
    //! signalling state machine (JSEP), with messages delivered in whatever interleaving the test
    //! chooses.

    use super::*;

    /// The parts of `RTCPeerConnection` negotiation depends on.
    #[derive(Debug)]
    struct ModelPc {
        state: SignalingState,
        local_offer_count: u32,
        /// The remote description last applied, to check both sides agree.
        remote: Option<Description>,
        candidates: Vec<IceCandidate>,
        /// `restartIce()` was called while not stable: `negotiationneeded` fires once stable.
        /// Like the most forgetful browser, rolling back the offer forgets it.
        restart_wanted: bool,
        /// ICE credentials generation: bumped by every offer made after `restartIce()`.
        ice_generation: u32,
        restart_in_offer: bool,
    }

    impl ModelPc {
        fn new() -> Self {
            Self {
                state: SignalingState::Stable,
                local_offer_count: 0,
                remote: None,
                candidates: vec![],
                restart_wanted: false,
                ice_generation: 0,
                restart_in_offer: false,
            }
        }
    }

    struct Side {
        name: &'static str,
        neg: Negotiator,
        pc: ModelPc,
        /// The glue's clock, ms.
        now_ms: f64,
    }

    impl Side {
        fn new(name: &'static str, polite: bool) -> Self {
            Self { name, neg: Negotiator::new(polite), pc: ModelPc::new(), now_ms: 0.0 }
        }

        /// Carries out commands like the glue does; returns signals to send.
        fn run(&mut self, mut commands: Vec<Command>) -> Vec<Signal> {
            let mut outbox = Vec::new();
            while !commands.is_empty() {
                let command = commands.remove(0);
                let more = match command {
                    Command::SetLocalDescription => match self.pc.state {
                        SignalingState::Stable => {
                            self.pc.state = SignalingState::HaveLocalOffer;
                            self.pc.local_offer_count += 1;
                            self.pc.restart_in_offer = std::mem::take(&mut self.pc.restart_wanted);
                            let sdp = format!("offer-{}-{}", self.name, self.pc.local_offer_count);
                            self.neg.on_local_description_set(Description::Offer(sdp), self.now_ms)
                        }
                        SignalingState::HaveRemoteOffer => {
                            self.pc.state = SignalingState::Stable;
                            self.neg.on_local_description_set(
                                Description::Answer(format!("answer-{}", self.name)),
                                self.now_ms,
                            )
                        }
                        // Already offering: the browser returns the pending offer again.
                        SignalingState::HaveLocalOffer => self.neg.on_local_description_set(
                            Description::Offer(format!(
                                "offer-{}-{}",
                                self.name, self.pc.local_offer_count
                            )),
                            self.now_ms,
                        ),
                        _ => {
                            self.neg.on_local_description_failed();
                            vec![]
                        }
                    },
                    Command::SetRemoteDescription(d) => {
                        let was_offer = matches!(d, Description::Offer(_));
                        match (&d, self.pc.state) {
                            // Implicit rollback of our own offer.
                            (
                                Description::Offer(_),
                                SignalingState::Stable | SignalingState::HaveLocalOffer,
                            ) => {
                                self.pc.state = SignalingState::HaveRemoteOffer;
                                self.pc.restart_in_offer = false;
                            }
                            (Description::Answer(_), SignalingState::HaveLocalOffer) => {
                                self.pc.state = SignalingState::Stable;
                                if std::mem::take(&mut self.pc.restart_in_offer) {
                                    self.pc.ice_generation += 1;
                                }
                            }
                            (d, s) => panic!(
                                "{}: invalid setRemoteDescription({d:?}) in {s:?}",
                                self.name
                            ),
                        }
                        self.pc.remote = Some(d);
                        self.neg.on_remote_description_set(was_offer)
                    }
                    Command::AddCandidate(c) => {
                        assert!(
                            self.pc.remote.is_some(),
                            "{}: candidate before remote description",
                            self.name
                        );
                        self.pc.candidates.push(c);
                        vec![]
                    }
                    Command::Send(signal) => {
                        outbox.push(signal);
                        vec![]
                    }
                    // `restartIce()` makes the browser fire `negotiationneeded` once stable.
                    Command::RestartIce => {
                        if self.pc.state == SignalingState::Stable {
                            self.pc.restart_wanted = true;
                            self.neg.on_negotiation_needed(self.pc.state)
                        } else {
                            self.pc.restart_wanted = true;
                            vec![]
                        }
                    }
                };
                // Follow-ups first, as the glue does.
                for (i, command) in more.into_iter().enumerate() {
                    commands.insert(i, command);
                }
                if commands.is_empty()
                    && self.pc.state == SignalingState::Stable
                    && std::mem::take(&mut self.pc.restart_wanted)
                {
                    self.pc.restart_wanted = true;
                    commands = self.neg.on_negotiation_needed(self.pc.state);
                }
            }
            outbox
        }

        fn negotiation_needed(&mut self) -> Vec<Signal> {
            let commands = self.neg.on_negotiation_needed(self.pc.state);
            self.run(commands)
        }

        fn receive(&mut self, signals: Vec<Signal>) -> Vec<Signal> {
            let mut out = Vec::new();
            for s in signals {
                let commands = self.neg.on_signal(s, self.pc.state);
                out.extend(self.run(commands));
            }
            out
        }
    }

    fn candidate(n: u16) -> Signal {
        Signal::Candidate {
            candidate: IceCandidate {
                candidate: format!("candidate:{n} 1 udp 1 127.0.0.1 {n} typ host"),
                sdp_mid: Some("0".into()),
                sdp_m_line_index: Some(0),
                username_fragment: None,
            },
        }
    }

    /// Delivers messages back and forth until both sides are quiet.
    fn settle(a: &mut Side, b: &mut Side, mut to_a: Vec<Signal>, mut to_b: Vec<Signal>) {
        for _ in 0..20 {
            if to_a.is_empty() && to_b.is_empty() {
                return;
            }
            let from_b = b.receive(std::mem::take(&mut to_b));
            let from_a = a.receive(std::mem::take(&mut to_a));
            to_a = from_b;
            to_b = from_a;
        }
        panic!("negotiation did not settle");
    }

    #[test]
    fn one_sided_offer_answer() {
        let mut a = Side::new("a", false);
        let mut b = Side::new("b", true);
        let offer = a.negotiation_needed();
        assert!(matches!(offer.as_slice(), [Signal::Offer { .. }]));
        settle(&mut a, &mut b, vec![], offer);
        assert_eq!((a.pc.state, b.pc.state), (SignalingState::Stable, SignalingState::Stable));
        assert_eq!(b.pc.remote, Some(Description::Offer("offer-a-1".into())));
        assert_eq!(a.pc.remote, Some(Description::Answer("answer-b".into())));
    }

    fn glare(first_to_receive_is_polite: bool) {
        let mut polite = Side::new("polite", true);
        let mut impolite = Side::new("impolite", false);
        // Both decide to offer before either offer arrives.
        let from_polite = polite.negotiation_needed();
        let from_impolite = impolite.negotiation_needed();
        assert_eq!(polite.pc.state, SignalingState::HaveLocalOffer);
        assert_eq!(impolite.pc.state, SignalingState::HaveLocalOffer);

        if first_to_receive_is_polite {
            let answer = polite.receive(from_impolite);
            let nothing = impolite.receive(from_polite);
            assert!(nothing.is_empty(), "impolite side ignores the colliding offer");
            settle(&mut polite, &mut impolite, vec![], answer);
        } else {
            let nothing = impolite.receive(from_polite);
            assert!(nothing.is_empty(), "impolite side ignores the colliding offer");
            let answer = polite.receive(from_impolite);
            settle(&mut polite, &mut impolite, vec![], answer);
        }

        assert_eq!(polite.pc.state, SignalingState::Stable);
        assert_eq!(impolite.pc.state, SignalingState::Stable);
        assert_eq!(polite.neg.rollbacks(), 1, "the polite side rolled back");
        assert_eq!(impolite.neg.rollbacks(), 0);
        // The impolite side's offer won and was answered.
        assert_eq!(polite.pc.remote, Some(Description::Offer("offer-impolite-1".into())));
        assert_eq!(impolite.pc.remote, Some(Description::Answer("answer-polite".into())));
    }

    #[test]
    fn glare_polite_side_receives_first() {
        glare(true);
    }

    #[test]
    fn glare_impolite_side_receives_first() {
        glare(false);
    }

    #[test]
    fn candidates_of_an_ignored_offer_are_dropped() {
        let mut polite = Side::new("polite", true);
        let mut impolite = Side::new("impolite", false);
        let mut from_polite = polite.negotiation_needed();
        from_polite.push(candidate(1));
        let _ = impolite.negotiation_needed();
        assert!(impolite.receive(from_polite).is_empty());
        assert!(impolite.pc.candidates.is_empty());
    }

    #[test]
    fn early_candidates_wait_for_the_remote_description() {
        let mut a = Side::new("a", false);
        let mut b = Side::new("b", true);
        let offer = a.negotiation_needed();
        // Candidates overtake the offer (they never do over one WebSocket, but the glue must not
        // depend on that).
        assert!(b.receive(vec![candidate(1), candidate(2)]).is_empty());
        assert!(b.pc.candidates.is_empty());
        let answer = b.receive(offer);
        assert_eq!(b.pc.candidates.len(), 2);
        settle(&mut a, &mut b, answer, vec![]);
        assert_eq!(a.pc.state, SignalingState::Stable);
        // Later candidates go straight in.
        b.receive(vec![candidate(3)]);
        assert_eq!(b.pc.candidates.len(), 3);
    }

    #[test]
    fn renegotiation_after_the_first_exchange() {
        let mut a = Side::new("a", true);
        let mut b = Side::new("b", false);
        let offer = a.negotiation_needed();
        settle(&mut a, &mut b, vec![], offer);
        // Now the other side (e.g. an ICE restart) offers.
        let offer = b.negotiation_needed();
        settle(&mut a, &mut b, offer, vec![]);
        assert_eq!(a.pc.remote, Some(Description::Offer("offer-b-1".into())));
        assert_eq!((a.pc.state, b.pc.state), (SignalingState::Stable, SignalingState::Stable));
    }

    #[test]
    fn a_request_to_restart_ice_leads_to_a_new_offer_from_the_one_asked() {
        // The relay (impolite) asks the browser (polite) to restart ICE; the browser offers.
        let mut browser = Side::new("browser", true);
        let mut relay = Side::new("relay", false);
        let offer = browser.negotiation_needed();
        settle(&mut browser, &mut relay, vec![], offer);
        let restart_offer = browser.receive(vec![Signal::RestartIce]);
        assert_eq!(restart_offer, vec![Signal::Offer { sdp: "offer-browser-2".into() }]);
        settle(&mut browser, &mut relay, vec![], restart_offer);
        assert_eq!(relay.pc.remote, Some(Description::Offer("offer-browser-2".into())));
        assert_eq!(
            (browser.pc.state, relay.pc.state),
            (SignalingState::Stable, SignalingState::Stable)
        );
    }

    #[test]
    fn an_ice_restart_rolled_back_in_glare_is_asked_for_again() {
        let mut browser = Side::new("browser", true);
        let mut relay = Side::new("relay", false);
        let offer = browser.negotiation_needed();
        settle(&mut browser, &mut relay, vec![], offer);
        // The browser's connection failed and it restarts ICE, while the relay offers new
        // forwarded tracks: the offers cross.
        let commands = browser.neg.restart_ice();
        let restart_offer = browser.run(commands);
        let relay_offer = relay.negotiation_needed();
        assert!(relay.receive(restart_offer).is_empty(), "the relay ignores the colliding offer");
        // The browser gives way (forgetting its restart, as a browser may) and answers; then it
        // offers the restart again.
        let answer_and_offer = browser.receive(relay_offer);
        assert!(matches!(
            answer_and_offer.as_slice(),
            [Signal::Answer { .. }, Signal::Offer { .. }]
        ));
        settle(&mut browser, &mut relay, vec![], answer_and_offer);
        assert_eq!(browser.pc.ice_generation, 1, "ICE was restarted");
        assert_eq!(
            (browser.pc.state, relay.pc.state),
            (SignalingState::Stable, SignalingState::Stable)
        );
    }

    /// What the glue hands [`Negotiator::resend_offer`]: the model's pending local offer.
    fn pending_offer(side: &Side) -> Option<Description> {
        (side.pc.state == SignalingState::HaveLocalOffer).then(|| {
            Description::Offer(format!("offer-{}-{}", side.name, side.pc.local_offer_count))
        })
    }

    #[test]
    fn offers_lost_with_a_broken_signalling_connection_are_sent_again_and_settle() {
        let mut browser = Side::new("browser", true);
        let mut other = Side::new("other", false);
        let offer = browser.negotiation_needed();
        settle(&mut browser, &mut other, vec![], offer);
        // During a dropout both restart ICE; both offers are lost with the signalling link.
        let lost = browser.neg.restart_ice();
        assert_eq!(browser.run(lost).len(), 1);
        let lost = other.neg.restart_ice();
        assert_eq!(other.run(lost).len(), 1);
        // Back: each sends its pending offer again. They collide; the polite side gives way.
        let state = browser.pc.state;
        let from_browser = browser.neg.resend_offer(state, pending_offer(&browser));
        let from_browser = browser.run(from_browser);
        let state = other.pc.state;
        let from_other = other.neg.resend_offer(state, pending_offer(&other));
        let from_other = other.run(from_other);
        assert_eq!(from_other, vec![Signal::Offer { sdp: "offer-other-1".into() }]);
        settle(&mut browser, &mut other, from_other, from_browser);
        assert_eq!(
            (browser.pc.state, other.pc.state),
            (SignalingState::Stable, SignalingState::Stable)
        );
        assert_eq!(other.pc.ice_generation, 1, "the impolite side's restart went through");
        assert_eq!(browser.pc.ice_generation, 1, "the polite side's was asked for again");
        // Nothing pending: nothing to send.
        let state = browser.pc.state;
        assert!(browser.neg.resend_offer(state, pending_offer(&browser)).is_empty());
    }

    #[test]
    fn a_new_connection_that_offers_first_ignores_an_offer_from_the_one_it_replaces() {
        let mut fresh = Side::new("fresh", false);
        fresh.neg = Negotiator::offering(false);
        // An offer from the other side's old connection arrives before ours is made.
        assert!(fresh.receive(vec![Signal::Offer { sdp: "offer-old-7".into() }]).is_empty());
        assert_eq!(fresh.pc.remote, None);
        let mut other = Side::new("other", true);
        let offer = fresh.negotiation_needed();
        settle(&mut fresh, &mut other, vec![], offer);
        assert_eq!(other.pc.remote, Some(Description::Offer("offer-fresh-1".into())));
        // The answer came: the other side's candidates count again.
        assert!(fresh.receive(vec![candidate(9)]).is_empty());
        assert_eq!(fresh.pc.candidates.len(), 1, "a candidate after the answer is added");
        assert_eq!(
            (fresh.pc.state, other.pc.state),
            (SignalingState::Stable, SignalingState::Stable)
        );
    }

    #[test]
    fn an_offer_that_waits_long_for_its_answer_is_reported_once() {
        let mut a = Side::new("a", true);
        let mut b = Side::new("b", false);
        let offer = a.negotiation_needed();
        settle(&mut a, &mut b, vec![], offer);
        a.now_ms = 1_000.0;
        let offer = a.negotiation_needed();
        for now_ms in [1_000.0, 5_000.0, 10_999.0] {
            assert_eq!(a.neg.slow_answer(now_ms, a.pc.state), None, "at {now_ms} ms");
        }
        assert_eq!(a.neg.slow_answer(11_000.0, a.pc.state), Some(10_000.0));
        assert_eq!(a.neg.slow_answer(12_000.0, a.pc.state), None, "reported once");
        // The answer still counts when it comes.
        settle(&mut a, &mut b, vec![], offer);
        assert_eq!((a.pc.state, b.pc.state), (SignalingState::Stable, SignalingState::Stable));
        assert_eq!(a.neg.slow_answer(60_000.0, a.pc.state), None);
    }

    #[test]
    fn stray_answers_and_closed_connections_are_ignored() {
        let mut a = Side::new("a", true);
        assert!(a.receive(vec![Signal::Answer { sdp: "late".into() }]).is_empty());
        assert_eq!(a.pc.state, SignalingState::Stable);
        assert!(
            a.neg.on_signal(Signal::Offer { sdp: "x".into() }, SignalingState::Closed).is_empty()
        );
        assert!(a.neg.on_negotiation_needed(SignalingState::Closed).is_empty());
    }
}
