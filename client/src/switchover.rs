//! Make before break, per participant: when a room moves from mesh to server forwarding, each
//! participant we see over a direct connection keeps being shown from it until the relay
//! delivers what that participant sends. Only then is the direct connection closed.
//!
//! The rule is here, as a pure function, so that it is tested natively; the app's glue gathers
//! the facts (which tracks the relay delivers, whether its picture decodes) and carries out the
//! decision.

use protocol::MediaState;

/// How long to wait for the relay before giving up on the direct connection anyway. The relay
/// path is then broken for this participant, and the other side will close its end of the
/// direct connection when its own wait ends, so keeping it longer only postpones the gap.
pub const GIVE_UP_AFTER_MS: f64 = 20_000.0;

/// How long a direct connection stays open after the relay took over showing that participant.
/// Both ends decide on their own when their relay picture of the other decodes; closing at once
/// would also end the other end's direct picture of us, which may still be waiting for its relay
/// picture: measured on a busy machine, that froze the other's picture for about a second at
/// every switch. Ten seconds covers the spread between the two ends.
pub const KEEP_DIRECT_MS: f64 = 10_000.0;

/// What the relay connection delivers of one participant so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RelayDelivery {
    /// Their sound has a track on the relay connection.
    pub audio: bool,
    /// Their picture has a track on the relay connection and has decoded at least one frame.
    pub video_decoding: bool,
}

/// The direct connection to one participant, as the browser sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direct {
    /// Connecting or connected: it may still carry their picture.
    Working,
    /// Failed or closed: it carries nothing any more (typically the other end finished its own
    /// switch first and closed its side).
    Gone,
}

/// What to do with one participant still shown over a direct connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Switchover {
    /// Keep the direct connection: the relay does not yet deliver what they send.
    Wait,
    /// Show them from the relay and close the direct connection.
    UseRelay,
}

/// Decides for one participant. `sends` is what the relay's roster says they send (a camera
/// that is off sends no picture to wait for), `direct` what is left of the direct connection,
/// `waited_ms` how long the relay connection has been up.
pub fn decide(
    sends: MediaState,
    relay: RelayDelivery,
    direct: Direct,
    waited_ms: f64,
) -> Switchover {
    let ready = if direct == Direct::Gone {
        // Nothing to lose: the direct picture stands still already.
        true
    } else if sends.video {
        relay.video_decoding
    } else if sends.audio {
        relay.audio
    } else {
        // Nothing to lose: the direct connection carries nothing either.
        true
    };
    if ready || waited_ms >= GIVE_UP_AFTER_MS { Switchover::UseRelay } else { Switchover::Wait }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CAMERA_AND_MIC: MediaState = MediaState { audio: true, video: true, screen: false };
    const MIC_ONLY: MediaState = MediaState { audio: true, video: false, screen: false };
    const NOTHING: MediaState = MediaState { audio: false, video: false, screen: false };

    #[test]
    fn a_camera_is_switched_only_once_the_relay_picture_decodes() {
        let sound_only = RelayDelivery { audio: true, video_decoding: false };
        // However long the relay takes to deliver the picture (on a busy machine: many seconds),
        // the direct picture stays until then: this is where a fixed grace time broke before it
        // made, and the picture stood still until the relay caught up.
        assert_eq!(
            decide(CAMERA_AND_MIC, RelayDelivery::default(), Direct::Working, 4_000.0),
            Switchover::Wait
        );
        assert_eq!(decide(CAMERA_AND_MIC, sound_only, Direct::Working, 12_000.0), Switchover::Wait);
        let both = RelayDelivery { audio: true, video_decoding: true };
        assert_eq!(decide(CAMERA_AND_MIC, both, Direct::Working, 300.0), Switchover::UseRelay);
    }

    #[test]
    fn without_a_camera_the_sound_is_enough() {
        assert_eq!(
            decide(MIC_ONLY, RelayDelivery::default(), Direct::Working, 1_000.0),
            Switchover::Wait
        );
        let sound = RelayDelivery { audio: true, video_decoding: false };
        assert_eq!(decide(MIC_ONLY, sound, Direct::Working, 1_000.0), Switchover::UseRelay);
    }

    #[test]
    fn someone_who_sends_nothing_is_switched_at_once() {
        assert_eq!(
            decide(NOTHING, RelayDelivery::default(), Direct::Working, 0.0),
            Switchover::UseRelay
        );
    }

    #[test]
    fn a_relay_that_never_delivers_is_given_up_on_eventually() {
        let nothing = RelayDelivery::default();
        assert_eq!(
            decide(CAMERA_AND_MIC, nothing, Direct::Working, GIVE_UP_AFTER_MS - 1.0),
            Switchover::Wait
        );
        assert_eq!(
            decide(CAMERA_AND_MIC, nothing, Direct::Working, GIVE_UP_AFTER_MS),
            Switchover::UseRelay
        );
    }

    #[test]
    fn a_direct_connection_that_is_gone_is_switched_at_once() {
        // The other end finished its switch first and closed its side: waiting for the relay's
        // picture would only keep a connection that shows a frozen picture.
        let nothing = RelayDelivery::default();
        assert_eq!(decide(CAMERA_AND_MIC, nothing, Direct::Gone, 0.0), Switchover::UseRelay);
        assert_eq!(decide(MIC_ONLY, nothing, Direct::Gone, 0.0), Switchover::UseRelay);
    }
}
