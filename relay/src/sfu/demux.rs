//! Which participant a datagram on the shared media port belongs to.
//!
//! Every participant's ICE username fragment is issued by the relay and names the participant.
//! The first packets from a browser are STUN binding requests whose USERNAME starts with that
//! fragment; after that, packets are matched by their source address.
//!
//! Anyone can send a STUN request that names a participant, so the fragment only says whose
//! request it claims to be. The engine learns an address ([`Demuxer::learn`]) only once the
//! request proves itself with MESSAGE-INTEGRITY under that participant's ICE password; until then
//! nothing from that address reaches any participant's ICE agent. Each participant keeps at most
//! [`ADDRESSES_PER_PARTICIPANT`] addresses (the oldest goes), so the table is bounded by the
//! members of the rooms, whatever arrives on the port.

use std::{
    collections::{HashMap, VecDeque},
    net::SocketAddr,
};

use protocol::ParticipantId;
use rtc::stun::{
    attributes::ATTR_USERNAME,
    message::{Message, is_stun_message},
    textattrs::Username,
};

/// The relay's ICE username fragment for `id`; `nonce` keeps fragments unguessable.
pub fn local_ufrag(id: ParticipantId, nonce: u64) -> String {
    format!("tp{}x{nonce:016x}", id.0)
}

/// The participant named by a fragment made by [`local_ufrag`].
pub fn participant_of_ufrag(ufrag: &str) -> Option<ParticipantId> {
    let digits = ufrag.strip_prefix("tp")?.split('x').next()?;
    digits.parse().ok().map(ParticipantId)
}

/// Addresses one participant may be known by at once: a browser checks from its host, reflexive
/// and relayed candidates, and a few more after a change of network.
pub const ADDRESSES_PER_PARTICIPANT: usize = 8;

/// Maps source addresses to participants, learning them from signed STUN checks.
#[derive(Debug, Default)]
pub struct Demuxer {
    /// Addresses that proved themselves for a participant.
    by_addr: HashMap<SocketAddr, ParticipantId>,
    /// Each participant's addresses, oldest first.
    of: HashMap<ParticipantId, VecDeque<SocketAddr>>,
}

impl Demuxer {
    /// The participant whose proven address `from` is.
    pub fn known(&self, from: SocketAddr) -> Option<ParticipantId> {
        self.by_addr.get(&from).copied()
    }

    /// The participant an unknown address's datagram claims to be for (a STUN request naming its
    /// fragment): unproven until its signature is checked.
    pub fn claimed(datagram: &[u8]) -> Option<ParticipantId> {
        stun_username_participant(datagram)
    }

    /// `from` proved itself for `id`; the participant's oldest address goes beyond
    /// [`ADDRESSES_PER_PARTICIPANT`].
    pub fn learn(&mut self, from: SocketAddr, id: ParticipantId) {
        if let Some(previous) = self.by_addr.insert(from, id)
            && previous != id
            && let Some(theirs) = self.of.get_mut(&previous)
        {
            theirs.retain(|a| *a != from);
        }
        let addresses = self.of.entry(id).or_default();
        addresses.retain(|a| *a != from);
        addresses.push_back(from);
        while addresses.len() > ADDRESSES_PER_PARTICIPANT {
            if let Some(oldest) = addresses.pop_front() {
                self.by_addr.remove(&oldest);
            }
        }
    }

    /// Forgets every address of `id` (it left).
    pub fn forget(&mut self, id: ParticipantId) {
        for address in self.of.remove(&id).unwrap_or_default() {
            self.by_addr.remove(&address);
        }
    }

    /// Addresses known, in all.
    pub fn len(&self) -> usize {
        self.by_addr.len()
    }
}

fn stun_username_participant(datagram: &[u8]) -> Option<ParticipantId> {
    if !is_stun_message(datagram) {
        return None;
    }
    let mut message = Message::new();
    message.unmarshal_binary(datagram).ok()?;
    let username = Username::get_from_as(&message, ATTR_USERNAME).ok()?;
    // USERNAME is "<our fragment>:<their fragment>".
    let ours = username.text.split_once(':')?.0;
    participant_of_ufrag(ours)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn fragments_name_their_participant() {
        let ufrag = local_ufrag(ParticipantId(42), 0xdead_beef);
        assert_eq!(participant_of_ufrag(&ufrag), Some(ParticipantId(42)));
        assert_eq!(participant_of_ufrag("abcd"), None);
        assert_eq!(participant_of_ufrag("tpxyz"), None);
    }

    #[test]
    fn unknown_non_stun_traffic_claims_no_one() {
        let d = Demuxer::default();
        let from: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        assert_eq!(d.known(from), None);
        assert_eq!(Demuxer::claimed(b"\x80\x60garbage rtp"), None);
        assert_eq!(Demuxer::claimed(&[]), None);
    }

    #[test]
    fn each_participant_keeps_a_bounded_set_of_addresses() {
        let mut d = Demuxer::default();
        let (anna, ben) = (ParticipantId(1), ParticipantId(2));
        let address = |port: u16| SocketAddr::from(([198, 51, 100, 1], port));
        for port in 0..100 {
            d.learn(address(port), anna);
        }
        assert_eq!(d.len(), ADDRESSES_PER_PARTICIPANT);
        assert_eq!(d.known(address(99)), Some(anna), "the newest stays");
        assert_eq!(d.known(address(0)), None, "the oldest went");
        // An address that proves itself for someone else moves over.
        d.learn(address(99), ben);
        assert_eq!(d.known(address(99)), Some(ben));
        d.forget(anna);
        assert_eq!(d.len(), 1);
        d.forget(ben);
        assert_eq!(d.len(), 0);
    }
}
