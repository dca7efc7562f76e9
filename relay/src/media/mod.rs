//! The media loops.

mod buffers;
mod loops;
mod routes;

pub use loops::{
    MediaBusy, MediaCommand, MediaEvent, MediaHandle, MediaTotals, SIGNAL_WAIT, loops, spawn,
};
