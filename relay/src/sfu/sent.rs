//! The packets recently forwarded on one outgoing video stream, to answer NACKs from. What
//! differs between packets of a stream (sequence number, timestamp, marker, payload) is kept per
//! slot; the rest of the header once. Payloads are shared with the publisher's packet (`Bytes`),
//! so a slot costs 40 bytes.

use bytes::Bytes;
use rtc::rtp::{header::Header, packet::Packet};

/// What one sent packet needs besides the stream's header.
struct Entry {
    sequence_number: u16,
    timestamp: u32,
    marker: bool,
    padding: bool,
    payload: Bytes,
}

/// A ring of the last `capacity` packets, indexed by sequence number.
pub struct SentPackets {
    /// The stream's header (SSRC, payload type, extensions), from its first packet.
    header: Option<Header>,
    slots: Vec<Option<Entry>>,
}

impl SentPackets {
    /// Room for `capacity` packets (rounded up to a power of two, so the ring wraps with the
    /// 16-bit sequence number).
    pub fn new(capacity: u16) -> Self {
        let capacity = usize::from(capacity.max(1)).next_power_of_two();
        Self { header: None, slots: (0..capacity).map(|_| None).collect() }
    }

    fn index(&self, seq: u16) -> usize {
        usize::from(seq) & (self.slots.len() - 1)
    }

    /// Remembers a packet as sent, replacing the one `capacity` sequence numbers before it.
    pub fn store(&mut self, packet: Packet) {
        let Packet { header, payload } = packet;
        let i = self.index(header.sequence_number);
        self.slots[i] = Some(Entry {
            sequence_number: header.sequence_number,
            timestamp: header.timestamp,
            marker: header.marker,
            padding: header.padding,
            payload,
        });
        if self.header.is_none() {
            self.header = Some(header);
        }
    }

    /// The packet sent with `seq`, if it is still remembered.
    pub fn get(&self, seq: u16) -> Option<Packet> {
        let entry = self.slots[self.index(seq)].as_ref().filter(|e| e.sequence_number == seq)?;
        let mut header = self.header.clone()?;
        header.sequence_number = entry.sequence_number;
        header.timestamp = entry.timestamp;
        header.marker = entry.marker;
        header.padding = entry.padding;
        Some(Packet { header, payload: entry.payload.clone() })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn packet(seq: u16) -> Packet {
        let mut p = Packet::default();
        p.header.ssrc = 42;
        p.header.payload_type = 96;
        p.header.sequence_number = seq;
        p.header.timestamp = u32::from(seq) * 3000;
        p.header.marker = seq.is_multiple_of(3);
        p.payload = Bytes::from(seq.to_be_bytes().to_vec());
        p
    }

    #[test]
    fn remembers_the_last_packets_across_the_wrap() {
        let mut sent = SentPackets::new(500); // rounds up to 512
        for seq in (65_000u16..=65_535).chain(0..=600) {
            sent.store(packet(seq));
        }
        assert_eq!(sent.get(600), Some(packet(600)), "given back exactly as sent");
        assert_eq!(sent.get(89), Some(packet(89)), "512 back from 600 is still there");
        assert!(sent.get(88).is_none(), "513 back is overwritten");
        assert!(sent.get(65_500).is_none(), "before the wrap, long gone");
        assert!(sent.get(601).is_none(), "never sent");
    }

    #[test]
    fn a_slot_is_small() {
        assert!(std::mem::size_of::<Option<Entry>>() <= 48);
    }
}
