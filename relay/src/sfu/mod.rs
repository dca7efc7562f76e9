//! Server-side forwarding (SFU): the relay receives each participant's media once and forwards
//! it to the others in the room. `engine` is sans-IO and owns every WebRTC decision; `task` is
//! the I/O shell that owns the UDP socket and the clock; `routes` spreads rooms over one such
//! loop per core. Nothing outside this module touches the WebRTC stack.

pub(crate) mod demux;
mod engine;
mod fastpath;
mod feedback;
pub mod forward;
mod liveness;
mod path;
pub mod quality;
mod random;
mod report;
mod sent;

pub use demux::ADDRESSES_PER_PARTICIPANT;
pub use engine::{Output, Sfu, SfuError};
