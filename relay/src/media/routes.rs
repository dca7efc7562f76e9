//! Which media loop (shard) owns a room, a participant and a datagram.
//!
//! The relay runs one media loop per core and keeps one UDP port. A room is placed on a shard
//! when its first member joins: the shard with the fewest members. It stays there as long as
//! anyone is in it, because forwarding within a room never crosses loops. One receive loop reads
//! the port and hands each datagram to its shard:
//!
//! - from an address a shard has proved (a signed STUN check from it), to that shard;
//! - a STUN message from an unknown address, to the shard of the participant its USERNAME names.
//!   That shard checks the signature. Only when it learned the address does it report it back
//!   ([`Routes::learn`]).
//! - anything else is dropped here, before any loop spends time on it.
//!
//! Every table is bounded by the participants of SFU rooms: rooms and seats come only from the
//! relay's own joins, addresses only from checks a shard proved (at most
//! [`crate::sfu::ADDRESSES_PER_PARTICIPANT`] each).

use std::{collections::HashMap, net::SocketAddr};

use protocol::ParticipantId;

use crate::sfu::demux::Demuxer;

/// Where a datagram goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// From an address this shard proved.
    Known(usize),
    /// A STUN message naming a participant of this shard, from an address nobody proved yet.
    Claimed(usize),
}

impl Route {
    /// The shard.
    pub fn shard(self) -> usize {
        match self {
            Self::Known(shard) | Self::Claimed(shard) => shard,
        }
    }
}

/// A room's place.
#[derive(Debug)]
struct Placed {
    shard: usize,
    members: usize,
}

/// The routing table: rooms, participants and addresses to shards.
#[derive(Debug)]
pub struct Routes {
    /// Members per shard.
    load: Vec<usize>,
    /// Rooms with members, by the name signalling gives the media loop.
    rooms: HashMap<String, Placed>,
    /// Each participant's room.
    seats: HashMap<ParticipantId, String>,
    /// Proved addresses.
    addresses: Demuxer,
}

impl Routes {
    /// A table for `shards` media loops (at least one).
    pub fn new(shards: usize) -> Self {
        Self {
            load: vec![0; shards.max(1)],
            rooms: HashMap::new(),
            seats: HashMap::new(),
            addresses: Demuxer::default(),
        }
    }

    /// `id` joins `room`: its shard (the room's, or the least loaded for a new room). A
    /// participant placed before moves.
    pub fn place(&mut self, id: ParticipantId, room: &str) -> usize {
        self.leave(id);
        let shard = match self.rooms.get_mut(room) {
            Some(placed) => {
                placed.members += 1;
                placed.shard
            }
            None => {
                let shard = self.least_loaded();
                self.rooms.insert(room.to_owned(), Placed { shard, members: 1 });
                shard
            }
        };
        self.load[shard] += 1;
        self.seats.insert(id, room.to_owned());
        shard
    }

    fn least_loaded(&self) -> usize {
        (0..self.load.len()).min_by_key(|shard| self.load[*shard]).unwrap_or(0)
    }

    /// The shard of `id`'s room.
    pub fn shard_of(&self, id: ParticipantId) -> Option<usize> {
        self.rooms.get(self.seats.get(&id)?).map(|placed| placed.shard)
    }

    /// `id` left: the shard it was on. Its addresses are forgotten; an empty room is unplaced.
    pub fn leave(&mut self, id: ParticipantId) -> Option<usize> {
        let room = self.seats.remove(&id)?;
        self.addresses.forget(id);
        let placed = self.rooms.get_mut(&room)?;
        let shard = placed.shard;
        placed.members -= 1;
        if placed.members == 0 {
            self.rooms.remove(&room);
        }
        self.load[shard] = self.load[shard].saturating_sub(1);
        Some(shard)
    }

    /// The shard a datagram from `from` goes to, if any.
    pub fn route(&self, from: SocketAddr, datagram: &[u8]) -> Option<Route> {
        if let Some(id) = self.addresses.known(from) {
            return self.shard_of(id).map(Route::Known);
        }
        let claimed = Demuxer::claimed(datagram)?;
        self.shard_of(claimed).map(Route::Claimed)
    }

    /// A shard proved that `from` is `id`'s (ignored when `id` has left meanwhile).
    pub fn learn(&mut self, from: SocketAddr, id: ParticipantId) {
        if self.seats.contains_key(&id) {
            self.addresses.learn(from, id);
        }
    }

    /// Entries in all tables: what must shrink back when people leave.
    #[cfg(test)]
    pub fn entries(&self) -> usize {
        self.rooms.len() + self.seats.len() + self.addresses.len()
    }

    /// Members per shard.
    #[cfg(test)]
    pub fn load(&self) -> &[usize] {
        &self.load
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use rtc::stun::{
        message::{BINDING_REQUEST, Message, TransactionId},
        textattrs::Username,
    };

    use super::*;
    use crate::sfu::{ADDRESSES_PER_PARTICIPANT, demux::local_ufrag};

    fn check_naming(id: ParticipantId) -> Vec<u8> {
        let mut message = Message::new();
        let username = Username::new(
            rtc::stun::attributes::ATTR_USERNAME,
            format!("{}:theirs", local_ufrag(id, 7)),
        );
        message
            .build(&[Box::new(BINDING_REQUEST), Box::new(TransactionId::new()), Box::new(username)])
            .unwrap();
        message.raw
    }

    fn address(port: u16) -> SocketAddr {
        SocketAddr::from(([198, 51, 100, 7], port))
    }

    #[test]
    fn rooms_spread_over_shards_and_stay_together() {
        let mut routes = Routes::new(2);
        let a = routes.place(ParticipantId(1), "klasse-5a");
        let b = routes.place(ParticipantId(2), "klasse-5b");
        assert_ne!(a, b, "the second room goes to the idle shard");
        // Everyone of a room lands where its room is, whatever the load.
        for id in 3..10 {
            assert_eq!(routes.place(ParticipantId(id), "klasse-5a"), a);
        }
        assert_eq!(routes.load()[a], 8);
        // A third room goes to the lighter shard.
        assert_eq!(routes.place(ParticipantId(20), "rat"), b);
        assert_eq!(routes.shard_of(ParticipantId(5)), Some(a));
    }

    #[test]
    fn a_room_that_empties_is_placed_anew() {
        let mut routes = Routes::new(2);
        routes.place(ParticipantId(1), "big");
        routes.place(ParticipantId(2), "big");
        let small = routes.place(ParticipantId(3), "small");
        assert_eq!(routes.leave(ParticipantId(3)), Some(small));
        assert_eq!(routes.leave(ParticipantId(3)), None, "leaving twice is harmless");
        assert_eq!(routes.shard_of(ParticipantId(3)), None);
        // "big" still holds two on its shard; a new room goes to the other.
        let big = routes.shard_of(ParticipantId(1)).unwrap();
        assert_ne!(routes.place(ParticipantId(4), "new"), big);
        for id in [1, 2, 4] {
            routes.leave(ParticipantId(id));
        }
        assert_eq!(routes.entries(), 0);
        assert_eq!(routes.load(), &[0, 0]);
    }

    #[test]
    fn joining_again_moves_a_participant_without_counting_it_twice() {
        let mut routes = Routes::new(3);
        routes.place(ParticipantId(1), "a");
        routes.place(ParticipantId(1), "a");
        assert_eq!(routes.load().iter().sum::<usize>(), 1);
        routes.place(ParticipantId(1), "b");
        assert_eq!(routes.load().iter().sum::<usize>(), 1);
        assert_eq!(routes.entries(), 2, "room a is gone, b and the seat remain");
    }

    #[test]
    fn datagrams_go_by_proved_address_or_by_the_participant_a_check_names() {
        let mut routes = Routes::new(2);
        let anna = routes.place(ParticipantId(1), "a");
        let ben = routes.place(ParticipantId(2), "b");
        // A check from an unknown address goes to the shard of the participant it names.
        assert_eq!(
            routes.route(address(1), &check_naming(ParticipantId(2))),
            Some(Route::Claimed(ben))
        );
        // Media from an unknown address, and checks naming nobody here, go nowhere.
        assert_eq!(routes.route(address(1), b"\x80\x60media"), None);
        assert_eq!(routes.route(address(1), &check_naming(ParticipantId(99))), None);
        // Once Anna's shard proved the address, everything from it goes there.
        routes.learn(address(1), ParticipantId(1));
        assert_eq!(routes.route(address(1), b"\x80\x60media"), Some(Route::Known(anna)));
        assert_eq!(
            routes.route(address(1), &check_naming(ParticipantId(2))),
            Some(Route::Known(anna)),
            "as within one loop, a proved address stays with its participant"
        );
        // Leaving forgets the addresses; learning for someone who left is ignored.
        routes.leave(ParticipantId(1));
        assert_eq!(routes.route(address(1), b"\x80\x60media"), None);
        routes.learn(address(2), ParticipantId(1));
        assert_eq!(routes.entries(), 2, "Ben's seat and room only");
    }

    #[test]
    fn a_flood_of_checks_from_new_addresses_grows_no_table() {
        let mut routes = Routes::new(2);
        routes.place(ParticipantId(1), "a");
        let before = routes.entries();
        for port in 0..10_000 {
            // Routing alone never learns: only a shard's proof does.
            let _ = routes.route(address(port), &check_naming(ParticipantId(1)));
            let _ = routes.route(address(port), &check_naming(ParticipantId(port.into())));
        }
        assert_eq!(routes.entries(), before);
        // Even proofs keep to the per-participant bound.
        for port in 0..100 {
            routes.learn(address(port), ParticipantId(1));
        }
        assert_eq!(routes.entries(), before + ADDRESSES_PER_PARTICIPANT);
    }
}
