//! Server-side forwarding (SFU): the relay receives each participant's media once and forwards
//! it to the others in the room. The engine ([`Sfu`]) is sans-IO and owns every WebRTC
//! decision: it takes datagrams, signals and the time, and returns [`Output`]s. The pure parts
//! it is made of sit beside it: layer choice and rewriting (`forward`), which layers flow
//! (`liveness`), the media path (`path`), link quality (`quality`), sender reports (`report`),
//! the NACK cache (`sent`), the fast path's encryption (`fastpath`).
//!
//! May not: own a socket, a thread or a clock (that is `media`), or know about rooms beyond
//! the membership and rules signalling hands it. Nothing outside this module touches the
//! WebRTC stack's peer connections.

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
