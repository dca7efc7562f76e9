//! Treffpunkt's relay: one process that serves the web app, runs signalling for meeting rooms,
//! and (in a later version) forwards media.
//!
//! `main.rs` only parses the configuration; [`run`] does the work, so tests run the real relay on
//! a listener bound to port 0.

pub mod config;
mod media;
pub mod ops;
mod rate;
pub mod sfu;
pub mod signalling;
mod startup;
pub mod turn;
pub mod web;

pub use config::Config;
pub use startup::run;
