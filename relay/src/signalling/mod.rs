//! Signalling.

pub mod attempts;
pub mod connection;
pub mod hub;
pub mod ice;
pub mod outbox;
pub mod rooms;
pub mod session;
