//! The relay's own STUN and TURN server, so that browsers behind home routers, carrier NAT and
//! school firewalls reach each other and the relay with nothing else to run.
//!
//! It shares the media port: STUN and ChannelData on UDP are told apart from server
//! forwarding's traffic by [`framing::is_for_turn`], and TURN over TCP listens on the same port
//! number. Relayed addresses are UDP sockets of their own. See docs/architecture.md.

pub mod credentials;
pub mod framing;
pub mod io;
pub mod peers;
pub mod server;
#[cfg(test)]
mod tests;

pub use credentials::Credentials;

/// The realm in TURN's long-term credentials.
pub const REALM: &str = "treffpunkt";
pub use server::{Client, Limits, Output, Transport, TurnServer};
