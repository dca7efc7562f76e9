//! The relay's own STUN and TURN server, so that browsers behind home routers, carrier NAT and
//! school firewalls reach each other and the relay with nothing else to run.
//!
//! It has a port of its own beside the media port (UDP, and TCP on the same number), and runs in
//! the media loop's thread. Relayed addresses are UDP sockets of their own. See
//! docs/architecture.md.

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

/// What the media loop needs to run the TURN server.
#[derive(Debug, Clone)]
pub struct TurnSettings {
    /// Signs and checks credentials.
    pub credentials: Credentials,
    /// The UDP ports relayed addresses take (open them in the firewall).
    pub relay_ports: std::ops::RangeInclusive<u16>,
    /// Where the TURN port binds (UDP, and TCP on the same number).
    pub listen: std::net::SocketAddr,
}
