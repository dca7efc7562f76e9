//! The packets recently forwarded on one outgoing video stream, to answer NACKs from. The
//! payloads are shared with the publisher's packet (`Bytes`), so a slot costs a header.

use rtc::rtp::packet::Packet;

/// A ring of the last `capacity` packets, indexed by sequence number.
pub struct SentPackets {
    slots: Vec<Option<Packet>>,
}

impl SentPackets {
    /// Room for `capacity` packets (rounded up to a power of two, so the ring wraps with the
    /// 16-bit sequence number).
    pub fn new(capacity: u16) -> Self {
        let capacity = usize::from(capacity.max(1)).next_power_of_two();
        Self { slots: vec![None; capacity] }
    }

    fn index(&self, seq: u16) -> usize {
        usize::from(seq) & (self.slots.len() - 1)
    }

    /// Remembers a packet as sent, replacing the one `capacity` sequence numbers before it.
    pub fn store(&mut self, packet: Packet) {
        let i = self.index(packet.header.sequence_number);
        self.slots[i] = Some(packet);
    }

    /// The packet sent with `seq`, if it is still remembered.
    pub fn get(&self, seq: u16) -> Option<&Packet> {
        self.slots[self.index(seq)].as_ref().filter(|p| p.header.sequence_number == seq)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn packet(seq: u16) -> Packet {
        let mut p = Packet::default();
        p.header.sequence_number = seq;
        p.payload = bytes::Bytes::from(seq.to_be_bytes().to_vec());
        p
    }

    #[test]
    fn remembers_the_last_packets_across_the_wrap() {
        let mut sent = SentPackets::new(500); // rounds up to 512
        for seq in (65_000u16..=65_535).chain(0..=600) {
            sent.store(packet(seq));
        }
        assert_eq!(sent.get(600).map(|p| p.payload.to_vec()), Some(600u16.to_be_bytes().to_vec()));
        assert!(sent.get(89).is_some(), "512 back from 600 is still there");
        assert!(sent.get(88).is_none(), "513 back is overwritten");
        assert!(sent.get(65_500).is_none(), "before the wrap, long gone");
        assert!(sent.get(601).is_none(), "never sent");
    }
}
