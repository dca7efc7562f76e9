//! The meeting as the app sees it: who is here, which peer connections to hold, what to announce.
//!
//! [`Meeting`] consumes the relay's messages and the peer connections' state changes and returns
//! [`Effect`]s for the glue: open or close a peer connection, hand it a signal, announce something
//! to screen readers, or show an error. It does no I/O.

use std::collections::BTreeMap;

use protocol::{
    ErrorCode, IceServer, MediaState, ParticipantId, ParticipantInfo, RoomMode, ServerMessage,
    Signal,
};

use crate::errors::UserError;

/// The state of the direct connection to one other participant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    /// Negotiating or establishing ICE.
    Connecting,
    /// Media can flow.
    Connected,
    /// ICE failed; a restart is under way.
    Failed,
}

impl Link {
    /// Maps `RTCPeerConnection.connectionState`; `None` for states that change nothing shown.
    pub fn from_connection_state(state: &str) -> Option<Self> {
        match state {
            "new" | "connecting" => Some(Self::Connecting),
            "connected" => Some(Self::Connected),
            "failed" | "disconnected" => Some(Self::Failed),
            _ => None,
        }
    }
}

/// Another participant, with the state of our connection to them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Remote {
    /// What the relay says about them.
    pub info: ParticipantInfo,
    /// Our connection to them.
    pub link: Link,
}

/// Something to tell screen-reader users through the live region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Announcement {
    /// The locale key, with a `{name}` placeholder.
    pub key: &'static str,
    /// Who it is about.
    pub name: String,
}

/// What the glue must do.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Create a peer connection to `id`. If `offer`, add our tracks now (which starts the
    /// negotiation); otherwise wait for their offer.
    OpenPeer {
        /// Who.
        id: ParticipantId,
        /// Whether this side gives way in glare.
        polite: bool,
        /// Whether this side makes the first offer.
        offer: bool,
    },
    /// Close and forget the peer connection to `id`.
    ClosePeer(ParticipantId),
    /// Hand a signal to the peer connection for `from`.
    PeerSignal {
        /// Who sent it.
        from: ParticipantId,
        /// The signal.
        signal: Signal,
    },
    /// Restart ICE on the connection to `id` (we are the side that offers).
    RestartIce(ParticipantId),
    /// Tell screen-reader users.
    Announce(Announcement),
    /// Show an error; `fatal` ends the meeting (back to the pre-join screen).
    ShowError {
        /// What happened.
        error: UserError,
        /// Whether the meeting cannot go on.
        fatal: bool,
    },
}

/// Where the meeting is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Phase {
    /// Waiting for `welcome`.
    Joining,
    /// In the room.
    Joined,
}

/// The meeting state of one browser tab.
#[derive(Debug)]
pub struct Meeting {
    /// Joining or joined.
    phase: Phase,
    /// Our own participant entry, once welcomed.
    me: Option<ParticipantInfo>,
    /// The room's normalised name.
    room: String,
    /// Mesh or SFU, as the relay decided.
    mode: RoomMode,
    /// The ICE servers the relay handed out.
    ice_servers: Vec<IceServer>,
    /// Everyone else, in join order.
    others: BTreeMap<ParticipantId, Remote>,
}

impl Meeting {
    /// A meeting about to join `room`.
    pub fn new(room: &str) -> Self {
        Self {
            phase: Phase::Joining,
            me: None,
            room: room.to_owned(),
            mode: RoomMode::Mesh,
            ice_servers: Vec::new(),
            others: BTreeMap::new(),
        }
    }

    /// Joining or joined.
    pub fn phase(&self) -> &Phase {
        &self.phase
    }

    /// Ourselves, once welcomed.
    pub fn me(&self) -> Option<&ParticipantInfo> {
        self.me.as_ref()
    }

    /// The room's name.
    pub fn room(&self) -> &str {
        &self.room
    }

    /// Mesh or SFU.
    pub fn mode(&self) -> RoomMode {
        self.mode
    }

    /// ICE servers for new peer connections.
    pub fn ice_servers(&self) -> &[IceServer] {
        &self.ice_servers
    }

    /// Everyone else, in join order.
    pub fn others(&self) -> impl Iterator<Item = &Remote> {
        self.others.values()
    }

    /// One other participant.
    pub fn other(&self, id: ParticipantId) -> Option<&Remote> {
        self.others.get(&id)
    }

    /// Who is polite between us and `other`: the later joiner (higher id).
    fn polite_towards(&self, other: ParticipantId) -> bool {
        self.me.as_ref().is_some_and(|me| me.id > other)
    }

    /// Applies a message from the relay.
    pub fn on_server_message(&mut self, message: ServerMessage) -> Vec<Effect> {
        match message {
            ServerMessage::Welcome {
                you,
                room,
                role,
                mode,
                participants,
                ice_servers,
                ..
            } => {
                self.phase = Phase::Joined;
                self.room = room;
                self.mode = mode;
                self.ice_servers = ice_servers;
                let media = self.me.as_ref().map(|m| m.media).unwrap_or_default();
                self.me = Some(ParticipantInfo {
                    id: you,
                    name: String::new(),
                    role,
                    media,
                });
                // The newcomer offers to everyone already there.
                let mut effects = Vec::new();
                for info in participants {
                    let id = info.id;
                    self.others.insert(
                        id,
                        Remote {
                            info,
                            link: Link::Connecting,
                        },
                    );
                    effects.push(Effect::OpenPeer {
                        id,
                        polite: self.polite_towards(id),
                        offer: true,
                    });
                }
                effects
            }
            ServerMessage::ParticipantJoined { participant } => {
                let id = participant.id;
                let name = participant.name.clone();
                let replaced = self.others.insert(
                    id,
                    Remote {
                        info: participant,
                        link: Link::Connecting,
                    },
                );
                let mut effects = Vec::new();
                if replaced.is_some() {
                    effects.push(Effect::ClosePeer(id));
                }
                effects.push(Effect::OpenPeer {
                    id,
                    polite: self.polite_towards(id),
                    offer: false,
                });
                effects.push(Effect::Announce(Announcement {
                    key: "announce.joined",
                    name,
                }));
                effects
            }
            ServerMessage::ParticipantUpdated { participant } => {
                let Some(remote) = self.others.get_mut(&participant.id) else {
                    return Vec::new();
                };
                let was = remote.info.media.audio;
                let now = participant.media.audio;
                let name = participant.name.clone();
                remote.info = participant;
                match (was, now) {
                    (true, false) => vec![Effect::Announce(Announcement {
                        key: "announce.muted",
                        name,
                    })],
                    (false, true) => vec![Effect::Announce(Announcement {
                        key: "announce.unmuted",
                        name,
                    })],
                    _ => Vec::new(),
                }
            }
            ServerMessage::ParticipantLeft { id } => match self.others.remove(&id) {
                Some(remote) => vec![
                    Effect::ClosePeer(id),
                    Effect::Announce(Announcement {
                        key: "announce.left",
                        name: remote.info.name,
                    }),
                ],
                None => Vec::new(),
            },
            ServerMessage::Signal { from, signal } => {
                if self.others.contains_key(&from) {
                    vec![Effect::PeerSignal { from, signal }]
                } else {
                    Vec::new()
                }
            }
            ServerMessage::Error { code, message, .. } => {
                // Refusals of `join` end the attempt; in the room, only a restarting relay does.
                let fatal = self.phase == Phase::Joining
                    && !matches!(code, ErrorCode::RateLimited | ErrorCode::UnknownParticipant)
                    || code.is_fatal();
                vec![Effect::ShowError {
                    error: UserError::Relay(code, message),
                    fatal,
                }]
            }
            ServerMessage::Hello { .. } | ServerMessage::Pong { .. } => Vec::new(),
        }
    }

    /// Records our own microphone / camera state (sent to the relay by the glue).
    pub fn set_own_media(&mut self, media: MediaState) {
        if let Some(me) = self.me.as_mut() {
            me.media = media;
        } else {
            self.me = Some(ParticipantInfo {
                id: ParticipantId(0),
                name: String::new(),
                role: Default::default(),
                media,
            });
        }
    }

    /// The peer connection to `id` changed its `connectionState`.
    pub fn on_link_state(&mut self, id: ParticipantId, link: Link) -> Vec<Effect> {
        let polite = self.polite_towards(id);
        let Some(remote) = self.others.get_mut(&id) else {
            return Vec::new();
        };
        if remote.link == link {
            return Vec::new();
        }
        let previous = remote.link;
        remote.link = link;
        if link == Link::Failed && previous != Link::Failed {
            let mut effects = vec![Effect::ShowError {
                error: UserError::PeerFailed(remote.info.name.clone()),
                fatal: false,
            }];
            // One side restarts ICE, so the two restarts don't collide: the impolite one.
            if !polite {
                effects.push(Effect::RestartIce(id));
            }
            return effects;
        }
        Vec::new()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use protocol::Role;

    fn info(id: u64, name: &str) -> ParticipantInfo {
        ParticipantInfo {
            id: ParticipantId(id),
            name: name.into(),
            role: Role::Participant,
            media: MediaState::default(),
        }
    }

    fn welcome(you: u64, others: Vec<ParticipantInfo>) -> ServerMessage {
        ServerMessage::Welcome {
            request_id: None,
            you: ParticipantId(you),
            room: "demo".into(),
            role: Role::Participant,
            mode: RoomMode::Mesh,
            participants: others,
            ice_servers: vec![],
        }
    }

    #[test]
    fn newcomer_offers_to_everyone_and_is_polite() {
        let mut m = Meeting::new("demo");
        let effects = m.on_server_message(welcome(5, vec![info(1, "Anna"), info(3, "Bob")]));
        assert_eq!(
            effects,
            vec![
                Effect::OpenPeer {
                    id: ParticipantId(1),
                    polite: true,
                    offer: true
                },
                Effect::OpenPeer {
                    id: ParticipantId(3),
                    polite: true,
                    offer: true
                },
            ]
        );
        assert_eq!(m.phase(), &Phase::Joined);
        assert_eq!(
            m.others().map(|r| r.info.name.as_str()).collect::<Vec<_>>(),
            ["Anna", "Bob"]
        );
    }

    #[test]
    fn members_wait_for_the_newcomers_offer_and_announce_it() {
        let mut m = Meeting::new("demo");
        m.on_server_message(welcome(1, vec![]));
        let effects = m.on_server_message(ServerMessage::ParticipantJoined {
            participant: info(2, "Cem"),
        });
        assert_eq!(
            effects,
            vec![
                Effect::OpenPeer {
                    id: ParticipantId(2),
                    polite: false,
                    offer: false
                },
                Effect::Announce(Announcement {
                    key: "announce.joined",
                    name: "Cem".into()
                }),
            ]
        );
    }

    #[test]
    fn leaving_closes_the_peer_and_mutes_are_announced() {
        let mut m = Meeting::new("demo");
        m.on_server_message(welcome(4, vec![info(2, "Dana")]));
        let mut muted = info(2, "Dana");
        muted.media.audio = false;
        let effects = m.on_server_message(ServerMessage::ParticipantUpdated { participant: muted });
        assert_eq!(
            effects,
            vec![Effect::Announce(Announcement {
                key: "announce.muted",
                name: "Dana".into()
            })]
        );
        assert!(!m.other(ParticipantId(2)).expect("present").info.media.audio);

        let effects = m.on_server_message(ServerMessage::ParticipantLeft {
            id: ParticipantId(2),
        });
        assert_eq!(effects[0], Effect::ClosePeer(ParticipantId(2)));
        assert_eq!(m.others().count(), 0);
        assert!(
            m.on_server_message(ServerMessage::ParticipantLeft {
                id: ParticipantId(2)
            })
            .is_empty()
        );
    }

    #[test]
    fn signals_from_strangers_are_dropped() {
        let mut m = Meeting::new("demo");
        m.on_server_message(welcome(4, vec![info(2, "Dana")]));
        let offer = Signal::Offer { sdp: "v=0".into() };
        assert_eq!(
            m.on_server_message(ServerMessage::Signal {
                from: ParticipantId(9),
                signal: offer.clone()
            }),
            vec![]
        );
        assert_eq!(
            m.on_server_message(ServerMessage::Signal {
                from: ParticipantId(2),
                signal: offer.clone()
            }),
            vec![Effect::PeerSignal {
                from: ParticipantId(2),
                signal: offer
            }]
        );
    }

    #[test]
    fn a_failed_link_is_reported_once_and_restarted_by_one_side() {
        let mut m = Meeting::new("demo");
        m.on_server_message(welcome(1, vec![]));
        m.on_server_message(ServerMessage::ParticipantJoined {
            participant: info(2, "Emil"),
        });
        assert!(
            m.on_link_state(ParticipantId(2), Link::Connected)
                .is_empty()
        );
        let effects = m.on_link_state(ParticipantId(2), Link::Failed);
        assert_eq!(
            effects,
            vec![
                Effect::ShowError {
                    error: UserError::PeerFailed("Emil".into()),
                    fatal: false
                },
                Effect::RestartIce(ParticipantId(2)),
            ]
        );
        assert!(m.on_link_state(ParticipantId(2), Link::Failed).is_empty());
        // The polite side reports but leaves the restart to the other.
        let mut other = Meeting::new("demo");
        other.on_server_message(welcome(2, vec![info(1, "Fritz")]));
        let effects = other.on_link_state(ParticipantId(1), Link::Failed);
        assert_eq!(effects.len(), 1);
    }

    #[test]
    fn join_refusals_are_fatal_but_in_room_notices_are_not() {
        let mut m = Meeting::new("demo");
        let full = ServerMessage::Error {
            request_id: None,
            code: ErrorCode::RoomFull,
            message: "full".into(),
        };
        assert!(matches!(
            m.on_server_message(full)[..],
            [Effect::ShowError { fatal: true, .. }]
        ));
        m.on_server_message(welcome(1, vec![]));
        let limited = ServerMessage::Error {
            request_id: None,
            code: ErrorCode::RateLimited,
            message: "slow".into(),
        };
        assert!(matches!(
            m.on_server_message(limited)[..],
            [Effect::ShowError { fatal: false, .. }]
        ));
        let bye = ServerMessage::Error {
            request_id: None,
            code: ErrorCode::ShuttingDown,
            message: "bye".into(),
        };
        assert!(matches!(
            m.on_server_message(bye)[..],
            [Effect::ShowError { fatal: true, .. }]
        ));
    }
}
