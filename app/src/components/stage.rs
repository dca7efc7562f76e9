//! Which screen shows, and what the person asked to join with: the state the root, the
//! pre-join screen and the meeting share (held above all three, by the root).

use protocol::MediaState;

use crate::{media::MediaRequest, prepared::Prepared};

/// What the person asked to join with.
#[derive(Clone)]
pub struct JoinRequest {
    /// Display name.
    pub name: String,
    /// Camera and microphone.
    pub media: JoinMedia,
    /// Microphone and camera on or off at the start.
    pub wanted: MediaState,
    /// The signed invitation from the link, if any.
    pub link: Option<String>,
}

/// Where the meeting's camera and microphone come from.
#[derive(Clone)]
pub enum JoinMedia {
    /// The pre-join screen was skipped (`autojoin=1`): the meeting opens these itself.
    Open(MediaRequest),
    /// What the pre-join screen opened, or is still opening.
    Prepared(Prepared),
}

/// Which screen is showing.
#[derive(Clone)]
pub enum Stage {
    /// No room in the link: choose one.
    Start,
    /// The pre-join screen of the room.
    PreJoin,
    /// In the meeting.
    Meeting(JoinRequest),
}
