//! The media loops: the I/O shell around the forwarding engine.
//!
//! Owns the media port's UDP socket and its buffers ([`buffers`]), the clock, one loop per core
//! with the rooms spread over them ([`routes`]), and the commands and events that travel
//! between signalling and the loops (`loops`: bounded queues, back-pressure, restarts). The
//! TURN server runs in the same thread.
//!
//! May not: make a WebRTC decision. What to forward to whom, and every packet's fate, is the
//! engine's (`sfu`); this module feeds it datagrams and time and carries out its output.

mod buffers;
mod loops;
mod routes;

pub use loops::{
    MediaBusy, MediaCommand, MediaEvent, MediaHandle, MediaTotals, SIGNAL_WAIT, loops, spawn,
};
