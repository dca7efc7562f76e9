//! Telling ChannelData from STUN, and cutting a TCP byte stream into messages: over TCP
//! (RFC 8656 §12.5) STUN messages and ChannelData follow each other without separators; each
//! says its own length, and ChannelData is padded to four bytes.

/// STUN header: type, length, magic cookie, transaction id.
const STUN_HEADER: usize = 20;
/// ChannelData header: channel number and length.
const CHANNEL_HEADER: usize = 4;

/// Whether `buf` starts like ChannelData: a channel number 0x4000..=0x4FFF.
pub fn is_channel_data(buf: &[u8]) -> bool {
    buf.len() >= CHANNEL_HEADER && (0x40..=0x4f).contains(&buf[0])
}

/// What the start of a TCP stream holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frame {
    /// A whole message of this many bytes (padding included).
    Complete(usize),
    /// Not enough bytes yet.
    Partial,
    /// Neither STUN nor ChannelData: the stream is not TURN.
    Garbage,
}

/// The length of the message at the start of `buf`.
pub fn next_frame(buf: &[u8]) -> Frame {
    let Some(&first) = buf.first() else { return Frame::Partial };
    let length = |b: &[u8]| usize::from(u16::from_be_bytes([b[2], b[3]]));
    let total = if first & 0xc0 == 0 {
        if buf.len() < STUN_HEADER {
            return Frame::Partial;
        }
        if buf[4..8] != [0x21, 0x12, 0xa4, 0x42] {
            return Frame::Garbage;
        }
        STUN_HEADER + length(buf)
    } else if (0x40..=0x4f).contains(&first) {
        if buf.len() < CHANNEL_HEADER {
            return Frame::Partial;
        }
        (CHANNEL_HEADER + length(buf)).next_multiple_of(4)
    } else {
        return Frame::Garbage;
    };
    if buf.len() < total { Frame::Partial } else { Frame::Complete(total) }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use rtc::stun::{
        attributes::ATTR_USERNAME,
        message::{BINDING_REQUEST, Message, Setter},
        textattrs::TextAttribute,
    };

    fn binding(username: Option<&str>) -> Vec<u8> {
        let mut m = Message::new();
        m.typ = BINDING_REQUEST;
        m.new_transaction_id().unwrap();
        m.write_header();
        if let Some(u) = username {
            TextAttribute::new(ATTR_USERNAME, u.into()).add_to(&mut m).unwrap();
        }
        m.raw.clone()
    }

    #[test]
    fn a_tcp_stream_is_cut_at_each_message() {
        let stun = binding(None);
        let mut stream = stun.clone();
        stream.extend_from_slice(&[0x40, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5, 0, 0, 0]);
        assert_eq!(next_frame(&stream), Frame::Complete(stun.len()));
        assert_eq!(next_frame(&stream[stun.len()..]), Frame::Complete(12));
        assert_eq!(next_frame(&stream[..stun.len() - 1]), Frame::Partial);
        assert_eq!(next_frame(&stream[stun.len()..stun.len() + 9]), Frame::Partial);
        assert_eq!(next_frame(&[]), Frame::Partial);
        assert_eq!(next_frame(b"PUT / HTTP/1.1\r\n\r\n"), Frame::Garbage);
        assert_eq!(
            next_frame(&[0x16, 3, 1, 0, 0xa5, 1, 0, 0, 0xa1, 3, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
            Frame::Garbage
        );
        assert_eq!(
            next_frame(&[0, 1, 0, 0, 1, 2, 3, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
            Frame::Garbage
        );
    }
}
