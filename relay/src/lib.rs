//! Treffpunkt's relay: one process that serves the web app, runs signalling for meeting rooms,
//! and (in a later version) forwards media.
//!
//! `main.rs` only parses the configuration; [`run`] does the work, so tests run the real relay on
//! a listener bound to port 0.

pub mod admission;
pub mod attempts;
pub mod config;
pub mod config_file;
pub mod http_server;
pub mod https;
mod hub;
pub mod ice;
pub mod invite;
pub mod links;
pub mod metrics;
pub mod outbox;
mod rate;
pub mod redirect;
pub mod rooms;
mod server;
pub mod session;
pub mod sfu;
pub mod tenants;
pub mod tls;
pub mod turn;
pub mod web;

pub use config::Config;
pub use server::run;
