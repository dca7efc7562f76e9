//! The media synthetic participants send: two VP8 simulcast layers and an Opus tone, decoded
//! once from the files in `assets/` (see the README there for how they were made).

use std::{io::Cursor, sync::OnceLock};

use bytes::Bytes;
use rtc::media::io::{ivf_reader::IVFReader, ogg_reader::OggReader};

/// Video frames per second of both layers.
pub const FRAME_RATE: u32 = 30;
/// Duration of one Opus packet, in milliseconds.
pub const AUDIO_PACKET_MS: u32 = 20;

/// The frames of every stream, in order; each loop of the clip starts with a keyframe.
#[derive(Debug)]
pub struct Clip {
    /// The small simulcast layer.
    pub low: Vec<Bytes>,
    /// The large simulcast layer.
    pub high: Vec<Bytes>,
    /// Opus packets.
    pub audio: Vec<Bytes>,
}

fn ivf_frames(data: &'static [u8]) -> Vec<Bytes> {
    let Ok((mut reader, _)) = IVFReader::new(Cursor::new(data)) else { return Vec::new() };
    let mut frames = Vec::new();
    while let Ok((frame, _)) = reader.parse_next_frame() {
        frames.push(frame.freeze());
    }
    frames
}

fn opus_packets(data: &'static [u8]) -> Vec<Bytes> {
    let Ok((mut reader, _)) = OggReader::new(Cursor::new(data), true) else { return Vec::new() };
    let mut packets = Vec::new();
    while let Ok((page, _)) = reader.parse_next_page() {
        if page.starts_with(b"OpusTags") {
            continue;
        }
        packets.push(page.freeze());
    }
    packets
}

/// The clip, decoded on first use.
pub fn clip() -> &'static Clip {
    static CLIP: OnceLock<Clip> = OnceLock::new();
    CLIP.get_or_init(|| Clip {
        low: ivf_frames(include_bytes!("../assets/low.ivf")),
        high: ivf_frames(include_bytes!("../assets/high.ivf")),
        audio: opus_packets(include_bytes!("../assets/tone.ogg")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clip_is_real_vp8_and_opus() {
        let clip = clip();
        assert_eq!(clip.high.len(), 60, "two seconds at 30 fps");
        assert_eq!(clip.low.len(), 60);
        assert!((95..=101).contains(&clip.audio.len()), "{} packets", clip.audio.len());
        // VP8 keyframes start with a clear P bit and the start code 9d 01 2a.
        for layer in [&clip.low, &clip.high] {
            assert_eq!(layer[0][0] & 1, 0, "the loop starts with a keyframe");
            assert_eq!(&layer[0][3..6], &[0x9d, 0x01, 0x2a]);
            assert_eq!(layer[1][0] & 1, 1, "then interframes");
        }
        // Opus: every packet has a TOC byte; CELT/hybrid/SILK 20 ms configs.
        assert!(clip.audio.iter().all(|p| !p.is_empty() && p.len() < 400));
        let high: usize = clip.high.iter().map(Bytes::len).sum();
        let low: usize = clip.low.iter().map(Bytes::len).sum();
        assert!(high > 2 * low, "the high layer carries more: {high} vs {low} bytes");
    }
}
