//! The rooms plus the outboxes of the connections in them: the one piece of shared state.

use std::collections::HashMap;

use protocol::{ClientMessage, ErrorCode, ParticipantId, RoomMode, ServerMessage};
use tracing::{debug, warn};

use crate::{
    config::tenants::TenantId,
    media::{MediaBusy, MediaCommand, MediaHandle},
    signalling::Now,
    signalling::outbox::Outbox,
    signalling::rooms::{ConnId, Effect, Event, Input, Kept, MediaAction, MediaRules, Pass, Rooms},
};

/// Rooms and where to deliver their messages. Lives behind one mutex, held only for the
/// non-blocking work of a single request.
#[derive(Debug)]
pub struct Hub {
    /// The signalling state machine.
    rooms: Rooms,
    /// Each open connection's queue of outgoing messages.
    outboxes: HashMap<ConnId, Outbox>,
    /// The media loop, when SFU rooms are configured.
    media: Option<MediaHandle>,
    /// Each open connection's address (for counting wrong passwords per address).
    addrs: HashMap<ConnId, std::net::IpAddr>,
    /// Each open connection's tenant, when not the relay's own.
    tenants: HashMap<ConnId, TenantId>,
    /// Joins, leaves and refusals since start, for `/metrics`.
    tally: Tally,
}

/// What becomes of a connection after one of its requests.
#[derive(Debug)]
pub enum After {
    /// It stays open.
    Stay,
    /// It closes as "relay restarting" once its answer is out: a join while the relay drains.
    /// The browser tries again by itself (the restarted relay, or another behind the same name).
    Restart,
    /// Its signal found the media loop's queue full: the shell waits for room before it reads
    /// on ([`MediaHandle::send_waiting`]), and tells the sender with [`Hub::media_refused`] if
    /// none comes within [`crate::media::SIGNAL_WAIT`].
    WaitForMedia(MediaCommand),
}

impl After {
    /// Whether the connection closes as "relay restarting".
    pub fn restarts(&self) -> bool {
        matches!(self, Self::Restart)
    }
}

/// What has happened since the relay started, for `/metrics`. Counts, never names.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Tally {
    /// People who came into a room (admitted from the lobby included; a resumed seat is not new).
    pub joins: u64,
    /// People who left a room: by leaving, by being removed, by a connection that did not come
    /// back in time, or by falling behind.
    pub leaves: u64,
    /// Joins refused, by the error code they were answered with.
    pub refused: HashMap<ErrorCode, u64>,
    /// Signals for the media loop refused because its queue was full.
    pub media_busy: u64,
}

impl Hub {
    /// A hub around `rooms`, with no connections.
    pub fn new(rooms: Rooms) -> Self {
        Self {
            rooms,
            outboxes: HashMap::new(),
            media: None,
            addrs: HashMap::new(),
            tenants: HashMap::new(),
            tally: Tally::default(),
        }
    }

    /// Takes no one new from now on (the relay is shutting down); rooms that run go on, and
    /// people whose connection broke may still take their seats back.
    pub fn drain(&mut self) {
        self.rooms.drain();
    }

    /// Whether the relay takes no one new.
    pub fn is_draining(&self) -> bool {
        self.rooms.is_draining()
    }

    /// Connects the media loop.
    pub fn set_media(&mut self, media: MediaHandle) {
        self.media = Some(media);
    }

    /// The participant `conn` is, if it sits in an SFU room.
    fn sfu_participant(&self, conn: ConnId) -> Option<ParticipantId> {
        self.rooms.seat(conn).filter(|(_, _, mode)| *mode == RoomMode::Sfu).map(|(id, _, _)| id)
    }

    /// Hands the media loop what the rooms decided for it. Without a media loop (no SFU rooms
    /// configured) no room forwards media and there is nothing to hand on.
    fn tell_media(&self, action: MediaAction) {
        let Some(media) = &self.media else { return };
        match action {
            MediaAction::Join { id, room, rules } => {
                media.send(MediaCommand::Join { id, room: room.to_string() });
                if rules.silenced {
                    media.send(MediaCommand::Silence { id, silenced: true });
                }
                if rules.receive_only {
                    media.send(MediaCommand::ReceiveOnly { id });
                }
                let MediaRules { private, sees_all, .. } = rules;
                media.send(MediaCommand::CameraRule { id, private, sees_all });
            }
            MediaAction::Leave { id } => media.send(MediaCommand::Leave { id }),
            MediaAction::Resumed { id } => media.send(MediaCommand::Resumed { id }),
            MediaAction::Silence { id, silenced } => {
                media.send(MediaCommand::Silence { id, silenced });
            }
            MediaAction::Cameras { id, private, sees_all } => {
                media.send(MediaCommand::CameraRule { id, private, sees_all });
            }
        }
    }

    /// Sends a message to participant `id`, wherever it is connected.
    pub fn send_to_participant(&mut self, id: ParticipantId, message: ServerMessage, now: Now) {
        if let Some(conn) = self.rooms.conn_of(id) {
            self.send(conn, message, now);
        }
    }

    /// The media loop failed and started again empty ([`crate::media::MediaEvent::Restarted`]):
    /// the connections of everyone it lost are closed as if the network had dropped them. Their
    /// seats stay; each browser reconnects at once, resumes its seat (same tile, chat and hand)
    /// and builds a new media connection, as after any resume.
    pub fn media_lost(&mut self, lost: &[ParticipantId]) {
        for id in lost {
            self.rooms.media_lost(*id);
            if let Some(conn) = self.rooms.conn_of(*id) {
                // Dropping its outbox ends the connection's task, without ending the seat.
                debug!(?conn, participant = %id, "the media loop lost this participant; its browser reconnects into its seat");
                self.outboxes.remove(&conn);
            }
        }
    }

    /// The media loops' counters, when SFU rooms are configured.
    pub fn media_stats(&self) -> Option<crate::media::MediaTotals> {
        self.media.as_ref().map(crate::media::MediaHandle::stats)
    }

    /// The rooms, for counting.
    pub fn rooms(&self) -> &Rooms {
        &self.rooms
    }

    /// Registers a new connection's outbox; it came from `addr`, to `tenant`'s host.
    pub fn connect(
        &mut self,
        conn: ConnId,
        outbox: Outbox,
        addr: Option<std::net::IpAddr>,
        tenant: TenantId,
    ) {
        self.outboxes.insert(conn, outbox);
        if let Some(addr) = addr {
            self.addrs.insert(conn, addr);
        }
        if tenant != TenantId::DEFAULT {
            self.tenants.insert(conn, tenant);
        }
    }

    /// The tenant `conn` belongs to.
    fn tenant_of(&self, conn: ConnId) -> TenantId {
        self.tenants.get(&conn).copied().unwrap_or_default()
    }

    /// Forgets a connection whose socket ended. With `for_good` (the browser closed it, or it
    /// broke the rules) its participant leaves; otherwise the participant keeps the seat for the
    /// grace period (and its media connection, in server forwarding) to come back to.
    pub fn disconnect(&mut self, conn: ConnId, for_good: bool, now: Now) {
        let seated = self.rooms.participant_count();
        self.outboxes.remove(&conn);
        self.addrs.remove(&conn);
        self.tenants.remove(&conn);
        let effects = self.rooms.apply(Input::Closed { conn, for_good }, now);
        self.carry_out(effects, now);
        self.count_seats(seated);
    }

    /// Ends seats whose grace period is over; the shell calls it every second.
    pub fn tick(&mut self, now: Now) {
        let seated = self.rooms.participant_count();
        let effects = self.rooms.apply(Input::Expire, now);
        self.carry_out(effects, now);
        self.count_seats(seated);
    }

    /// Carries out a request of `conn` that the session let through.
    pub fn handle(&mut self, conn: ConnId, message: ClientMessage, now: Now) -> After {
        let seated = self.rooms.participant_count();
        let mut after = After::Stay;
        // A page coming back asks for its seat first; without one it joins afresh.
        if let ClientMessage::Join {
            request_id, room, resume: Some(token), kept, kept_relay, ..
        } = &message
        {
            let input = Input::Resume {
                conn,
                request_id: *request_id,
                tenant: self.tenant_of(conn),
                room,
                token,
                kept: Kept { peers: kept, relay: *kept_relay },
            };
            let effects = self.rooms.apply(input, now);
            if !effects.is_empty() {
                self.carry_out(effects, now);
                self.count_seats(seated);
                return after;
            }
        }
        let effects = match message {
            ClientMessage::Join {
                request_id, room, name, media, link, device, password, ..
            } => {
                let pass = Pass {
                    link: link.as_deref(),
                    device: device.as_deref(),
                    password: password.as_deref(),
                    tenant: self.tenant_of(conn),
                };
                let addr = self.addrs.get(&conn).copied();
                let input =
                    Input::Join { conn, request_id, room: &room, name: &name, media, pass, addr };
                let effects = self.rooms.apply(input, now);
                for effect in &effects {
                    match effect {
                        Effect::Refused { error, .. } => {
                            *self.tally.refused.entry(error.code()).or_default() += 1;
                        }
                        Effect::Restart(c) if *c == conn => after = After::Restart,
                        _ => {}
                    }
                }
                effects
            }
            ClientMessage::RelaySignal { signal } => match (self.sfu_participant(conn), &self.media)
            {
                (Some(id), Some(media)) => {
                    // A full queue: the shell waits for room (`After::WaitForMedia`), so no
                    // offer or answer is lost; only this connection stops being read meanwhile.
                    if let Err(MediaBusy(command)) =
                        media.try_send(MediaCommand::Signal { id, signal })
                    {
                        after = After::WaitForMedia(command);
                    }
                    Vec::new()
                }
                _ => vec![Effect::Send(
                    conn,
                    ServerMessage::Error {
                        request_id: None,
                        code: ErrorCode::InvalidMessage,
                        message:
                            "This room does not use server forwarding; send signals to participants."
                                .into(),
                    },
                )],
            },
            ClientMessage::Signal { to, signal } => {
                self.rooms.apply(Input::Signal { conn, to, signal }, now)
            }
            ClientMessage::ReceiveVideo { from, quality } => {
                // Only meaningful with server forwarding; in a mesh each browser adapts itself.
                // A size that finds the loop busy is dropped: the next change of tile sends one.
                if let (Some(id), Some(media)) = (self.sfu_participant(conn), &self.media) {
                    let _ = media.try_send(MediaCommand::ReceiveVideo { id, from, quality });
                }
                Vec::new()
            }
            ClientMessage::Media { media } => self.rooms.apply(Input::Media { conn, media }, now),
            ClientMessage::Chat { text } => self.rooms.apply(Input::Chat { conn, text: &text }, now),
            ClientMessage::Hand { raised } => self.rooms.apply(Input::Hand { conn, raised }, now),
            ClientMessage::Moderate { action } => {
                self.rooms.apply(Input::Moderate { conn, action }, now)
            }
            ClientMessage::Leave => self.rooms.apply(Input::Leave { conn }, now),
            // The session answers these itself.
            ClientMessage::Hello { .. } | ClientMessage::Ping { .. } => Vec::new(),
        };
        self.carry_out(effects, now);
        self.count_seats(seated);
        after
    }

    /// Counts people who came in or left since there were `before` seats. Within one step of
    /// the hub people only come in (a join, an admission) or only leave, so the difference is
    /// the count.
    fn count_seats(&mut self, before: usize) {
        let now = self.rooms.participant_count();
        if now > before {
            self.tally.joins += (now - before) as u64;
        } else {
            self.tally.leaves += (before - now) as u64;
        }
    }

    /// The way to the media loops, for a shell that waits for room in their queues.
    pub fn media(&self) -> Option<MediaHandle> {
        self.media.clone()
    }

    /// A signal of `conn`'s waited in vain for room in the media loop's queue: it is dropped,
    /// and the sender told (its negotiation starts over when it sees the error).
    pub fn media_refused(&mut self, conn: ConnId, busy: &MediaBusy, now: Now) {
        self.tally.media_busy += 1;
        let refusal = ServerMessage::Error {
            request_id: None,
            code: ErrorCode::RateLimited,
            message: format!("{busy}."),
        };
        self.send(conn, refusal, now);
    }

    /// What has happened since start.
    pub fn tally(&self) -> &Tally {
        &self.tally
    }

    /// Queues a message; a connection whose outbox is full is dropped, and its room told.
    pub fn send(&mut self, conn: ConnId, message: ServerMessage, now: Now) {
        let seated = self.rooms.participant_count();
        self.carry_out(vec![Effect::Send(conn, message)], now);
        self.count_seats(seated);
    }

    /// Carries out what the rooms decided, in order. Dropping a connection that cannot keep up
    /// is a step of the rooms too (its seat waits, the others are told); work through what that
    /// brings until everything is done.
    fn carry_out(&mut self, mut pending: Vec<Effect>, now: Now) {
        while !pending.is_empty() {
            let mut overflowed = Vec::new();
            for effect in pending.drain(..) {
                match effect {
                    Effect::Media(action) => self.tell_media(action),
                    Effect::Send(conn, message) => self.queue(conn, &message, &mut overflowed),
                    Effect::Refused { conn, request_id, error } => {
                        self.queue(conn, &error.to_message(request_id), &mut overflowed);
                    }
                    // The connection task closes it, told by `handle`'s `After::Restart`.
                    Effect::Restart(_) => {}
                    // Dropping its outbox ends the connection's task once what is queued is out.
                    Effect::Close(conn) => {
                        self.outboxes.remove(&conn);
                    }
                    Effect::Log(Event::SeatResumed { id, conn, replaced, media_kept }) => {
                        tracing::info!(participant = %id, ?conn, ?replaced, media_kept, "seat resumed");
                    }
                }
            }
            for conn in overflowed {
                if let Some(outbox) = self.outboxes.remove(&conn) {
                    outbox.abandon();
                    warn!(?conn, "connection cannot keep up with its room; disconnecting it");
                    pending.extend(self.rooms.apply(Input::Disconnect { conn }, now));
                }
            }
        }
    }

    /// Puts `message` into `conn`'s outbox if its seat may see it; a full outbox is noted in
    /// `overflowed`.
    fn queue(&self, conn: ConnId, message: &ServerMessage, overflowed: &mut Vec<ConnId>) {
        if !self.rooms.may_see(conn, message) {
            return;
        }
        let Some(outbox) = self.outboxes.get(&conn) else {
            debug!(?conn, "message for a connection that is gone");
            return;
        };
        if outbox.push(message).is_err() {
            overflowed.push(conn);
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::time::Duration;

    use protocol::{MediaState, Signal};
    use tokio::sync::mpsc;

    use super::*;
    use crate::{
        signalling::ice::IceServers,
        signalling::outbox::{Inbox, outbox},
        signalling::rooms::RoomLimits,
    };

    /// The time of a test step: the clocks as they are, the calendar fixed.
    fn at() -> Now {
        Now { at: std::time::Instant::now(), unix_ms: 1_800_000_000_000 }
    }

    /// A hub with a media handle whose commands the test reads (control, then bulk).
    fn hub() -> (Hub, mpsc::UnboundedReceiver<MediaCommand>, mpsc::Receiver<MediaCommand>) {
        let rooms = Rooms::new(
            RoomLimits {
                capacity: 10,
                max_rooms: 10,
                mesh_threshold: None,
                sfu_rooms: vec!["rat".into()],
                resume_grace: Duration::from_secs(30),
            },
            IceServers::default(),
        );
        let mut hub = Hub::new(rooms);
        let (media, control, bulk) = MediaHandle::detached();
        hub.set_media(media);
        (hub, control, bulk)
    }

    /// Connects `conn` and joins room "rat" (resuming `token`'s seat if given, asking to keep
    /// its media connection); returns the connection's inbox, the participant and its resume
    /// token.
    fn join(
        hub: &mut Hub,
        conn: u64,
        name: &str,
        token: Option<String>,
    ) -> (Inbox, ParticipantId, String) {
        let (out, mut inbox) = outbox();
        hub.connect(ConnId(conn), out, None, TenantId::DEFAULT);
        hub.handle(
            ConnId(conn),
            ClientMessage::Join {
                request_id: None,
                room: "rat".into(),
                name: name.into(),
                media: MediaState::default(),
                kept_relay: token.is_some(),
                resume: token,
                link: None,
                device: None,
                password: None,
                kept: vec![],
            },
            at(),
        );
        while let Some(text) = inbox.try_recv() {
            if let Ok(ServerMessage::Welcome { you, resume_token, .. }) =
                protocol::decode_server(&text, 1 << 20)
            {
                return (inbox, you, resume_token.expect("a resume token"));
            }
        }
        panic!("no welcome for {name}");
    }

    fn commands(control: &mut mpsc::UnboundedReceiver<MediaCommand>) -> Vec<String> {
        let mut seen = Vec::new();
        while let Ok(command) = control.try_recv() {
            seen.push(match command {
                MediaCommand::Join { id, .. } => format!("join {id}"),
                MediaCommand::Leave { id } => format!("leave {id}"),
                MediaCommand::Resumed { id } => format!("resumed {id}"),
                _ => continue,
            });
        }
        seen
    }

    #[tokio::test]
    async fn whom_the_media_loop_lost_reconnects_into_its_seat_and_gets_new_media() {
        let (mut hub, mut control, _bulk) = hub();
        let (mut anna_inbox, anna, token) = join(&mut hub, 1, "Anna", None);
        let (mut bruno_inbox, bruno, _) = join(&mut hub, 2, "Bruno", None);
        assert_eq!(commands(&mut control), [format!("join {anna}"), format!("join {bruno}")]);

        hub.media_lost(&[anna]);
        // Anna's connection ends (her browser reconnects at once), her seat stays.
        // (What was queued before still goes out; then the queue ends.)
        let ended = tokio::time::timeout(Duration::from_secs(5), async {
            while anna_inbox.recv().await.is_some() {}
        });
        assert!(ended.await.is_ok(), "Anna's connection is closed");
        assert_eq!(hub.rooms().participant_count(), 2);
        // Her connection's task ends as after a dropout; the seat waits for her.
        hub.disconnect(ConnId(1), false, at());
        // Bruno's connection goes on.
        hub.send_to_participant(
            bruno,
            ServerMessage::RelaySignal { signal: Signal::RestartIce },
            at(),
        );
        assert!(bruno_inbox.try_recv().is_some(), "Bruno still connected");

        // Anna comes back with her token: the same participant, and a new media connection
        // (her page asks to keep the old one, which the loop no longer has).
        let (_inbox, again, _) = join(&mut hub, 3, "Anna", Some(token));
        assert_eq!(again, anna);
        assert_eq!(hub.rooms().participant_count(), 2);
        assert_eq!(commands(&mut control), [format!("leave {anna}"), format!("join {anna}")]);
    }

    #[tokio::test]
    async fn after_a_dropout_the_media_connection_stays_and_forwarding_goes_on() {
        let (mut hub, mut control, _bulk) = hub();
        let (_anna_inbox, anna, token) = join(&mut hub, 1, "Anna", None);
        let (_bruno_inbox, _bruno, _) = join(&mut hub, 2, "Bruno", None);
        commands(&mut control);
        hub.disconnect(ConnId(1), false, at());
        let (_inbox, again, _) = join(&mut hub, 3, "Anna", Some(token));
        assert_eq!(again, anna);
        // No leave, no join: the loop only sends again an offer that may have been lost.
        assert_eq!(commands(&mut control), [format!("resumed {anna}")]);
    }

    #[tokio::test]
    async fn a_draining_relay_takes_no_one_new_but_keeps_its_meetings_and_their_seats() {
        let (mut hub, _control, _bulk) = hub();
        let (_anna_inbox, anna, token) = join(&mut hub, 1, "Anna", None);
        let (mut bruno_inbox, _bruno, _) = join(&mut hub, 2, "Bruno", None);
        hub.drain();
        assert!(hub.is_draining());

        // Cleo, new, is answered "restarting" and her connection is to close.
        let (out, mut cleo_inbox) = outbox();
        hub.connect(ConnId(3), out, None, TenantId::DEFAULT);
        let cleo = ClientMessage::Join {
            request_id: Some(protocol::RequestId(7)),
            room: "rat".into(),
            name: "Cleo".into(),
            media: MediaState::default(),
            resume: None,
            link: None,
            device: None,
            password: None,
            kept: vec![],
            kept_relay: false,
        };
        assert!(hub.handle(ConnId(3), cleo, at()).restarts());
        let answer = cleo_inbox.try_recv().map(|t| protocol::decode_server(&t, 1 << 20));
        assert!(
            matches!(
                answer,
                Some(Ok(ServerMessage::Error {
                    request_id: Some(protocol::RequestId(7)),
                    code: ErrorCode::ShuttingDown,
                    ..
                }))
            ),
            "{answer:?}"
        );
        assert_eq!(hub.rooms().participant_count(), 2);
        assert_eq!(hub.tally().refused.get(&ErrorCode::ShuttingDown), Some(&1));

        // The meeting goes on: Bruno still hears from Anna.
        while bruno_inbox.try_recv().is_some() {}
        let said = hub.handle(ConnId(1), ClientMessage::Hand { raised: true }, at());
        assert!(matches!(said, After::Stay));
        assert!(bruno_inbox.try_recv().is_some(), "Bruno hears of Anna's hand");

        // Anna's connection breaks; she takes her seat back while the relay drains.
        hub.disconnect(ConnId(1), false, at());
        let (_inbox, again, _) = join(&mut hub, 4, "Anna", Some(token));
        assert_eq!(again, anna);
    }

    #[tokio::test]
    async fn a_signal_meeting_a_full_media_queue_waits_for_room_and_is_refused_only_after() {
        let (mut hub, _control, mut bulk) = hub();
        let (mut inbox, anna, _) = join(&mut hub, 1, "Anna", None);
        while inbox.try_recv().is_some() {}
        let media = hub.media().expect("a media handle");
        let candidate = || Signal::Candidate {
            candidate: protocol::IceCandidate {
                candidate: "candidate:1 1 udp 1 10.0.0.1 9 typ host".into(),
                sdp_mid: Some("0".into()),
                sdp_m_line_index: Some(0),
                username_fragment: None,
            },
        };
        // Fill the loop's queue as a flood of candidates would (it is bounded: this ends).
        let mut queued = 0;
        while media.try_send(MediaCommand::Signal { id: anna, signal: candidate() }).is_ok() {
            queued += 1;
            assert!(queued <= 1 << 20, "the media queue is bounded");
        }

        // Anna's answer now meets a full queue: the hub hands it to the shell to wait with,
        // instead of dropping it.
        let answer = Signal::Answer { sdp: "v=0".into() };
        let after =
            hub.handle(ConnId(1), ClientMessage::RelaySignal { signal: answer.clone() }, at());
        let After::WaitForMedia(command) = after else { panic!("expected a wait, got {after:?}") };
        assert!(
            matches!(&command, MediaCommand::Signal { id, signal } if *id == anna && *signal == answer)
        );

        // Room comes as soon as the loop takes one command: the answer goes in behind the rest.
        let waiting = tokio::spawn({
            let media = media.clone();
            async move { media.send_waiting(command, Duration::from_secs(30)).await }
        });
        tokio::task::yield_now().await;
        assert!(bulk.recv().await.is_some());
        assert!(waiting.await.expect("the wait ends").is_ok(), "the answer found room");
        let mut last = None;
        while let Ok(command) = bulk.try_recv() {
            last = Some(command);
        }
        assert!(matches!(last, Some(MediaCommand::Signal { signal, .. }) if signal == answer));
        assert_eq!(hub.tally().media_busy, 0);
        assert!(inbox.try_recv().is_none(), "no error while the answer got through");

        // With the loop taking nothing, the wait ends, and Anna is told; the relay goes on.
        while media.try_send(MediaCommand::Signal { id: anna, signal: candidate() }).is_ok() {}
        let After::WaitForMedia(command) =
            hub.handle(ConnId(1), ClientMessage::RelaySignal { signal: answer.clone() }, at())
        else {
            panic!("expected a wait");
        };
        let busy =
            media.send_waiting(command, Duration::from_millis(20)).await.expect_err("refused");
        hub.media_refused(ConnId(1), &busy, at());
        assert_eq!(hub.tally().media_busy, 1);
        let told = inbox.try_recv().and_then(|text| protocol::decode_server(&text, 1 << 20).ok());
        assert!(
            matches!(told, Some(ServerMessage::Error { code: ErrorCode::RateLimited, .. })),
            "Anna is told, got {told:?}"
        );
    }
}
