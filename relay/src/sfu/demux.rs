//! Which participant a datagram on the shared media port belongs to.
//!
//! Every participant's ICE username fragment is issued by the relay and names the participant.
//! The first packets from a browser are STUN binding requests whose USERNAME starts with that
//! fragment; after that, packets are matched by their source address.

use std::{collections::HashMap, net::SocketAddr};

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

/// Maps source addresses to participants, learning them from STUN.
#[derive(Debug, Default)]
pub struct Demuxer {
    /// Addresses seen in a STUN request naming a participant's fragment.
    by_addr: HashMap<SocketAddr, ParticipantId>,
}

impl Demuxer {
    /// The participant a datagram from `from` belongs to, if any.
    pub fn demux(&mut self, from: SocketAddr, datagram: &[u8]) -> Option<ParticipantId> {
        if let Some(id) = self.by_addr.get(&from) {
            return Some(*id);
        }
        let id = stun_username_participant(datagram)?;
        self.by_addr.insert(from, id);
        Some(id)
    }

    /// Forgets every address of `id` (it left).
    pub fn forget(&mut self, id: ParticipantId) {
        self.by_addr.retain(|_, owner| *owner != id);
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
    fn unknown_non_stun_traffic_is_not_routed() {
        let mut d = Demuxer::default();
        let from: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        assert_eq!(d.demux(from, b"\x80\x60garbage rtp"), None);
        assert_eq!(d.demux(from, &[]), None);
    }
}
