//! Treffpunkt's relay: one process that serves the web app, runs signalling for meeting rooms,
//! forwards the media of rooms that outgrow a mesh (SFU), and is its own STUN and TURN server.
//!
//! The tree is grouped by concern; each folder's `mod.rs` says what it owns and what it may not
//! do (docs/architecture.md walks through them):
//!
//! - [`config`]: flags, the settings file, tenants, invitation links. Reads; decides nothing.
//! - `web`: the HTTP port: its server loop, headers, who may open a WebSocket, TLS, routes.
//! - `signalling`: the sans-IO rooms and sessions, the hub that holds them, and the
//!   connection task that carries a WebSocket.
//! - `media`: the media loops: UDP sockets, the clock, one loop per core.
//! - [`sfu`]: the forwarding engine alone, sans-IO.
//! - `turn`: the STUN and TURN server, sans-IO with a thin shell.
//! - `ops`: the drain on shutdown and the metrics operators scrape.
//! - `startup`: [`run`] wires them together.
//!
//! `main.rs` only parses the configuration; [`run`] does the work, so tests run the real relay on
//! a listener bound to port 0. Only what another crate uses is `pub`.

pub mod config;
mod media;
mod ops;
mod rate;
pub mod sfu;
mod signalling;
mod startup;
mod turn;
mod web;

pub use config::Config;
pub use startup::run;

/// The limits the integration tests try to break, under the names they have in the code.
pub mod limits {
    pub use crate::signalling::{attempts::PER_ADDRESS, session::HELLO_DEADLINE};
    pub use crate::turn::framing::{Frame as TurnFrame, next_frame as next_turn_frame};
    pub use crate::web::{cert_reload::RELOAD_INTERVAL, serve::HEAD_TIMEOUT};
}
