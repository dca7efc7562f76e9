//! Synthetic participants for load tests and integration tests: they join Treffpunkt rooms (or
//! Janus VideoRooms) without a browser, send real VP8 (optionally simulcast) and Opus over
//! WebRTC, answer keyframe requests, and measure what they receive.

pub mod abuse;
pub mod assets;
pub mod driver;
pub mod janus;
pub mod participant;
pub mod peer;
pub mod process;
pub mod stats;

pub use participant::{Control, LoadError, Observed, Options, Progress, Report, run};
pub use peer::Kind;
