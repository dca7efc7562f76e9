//! Treffpunkt's browser app.
//!
//! Views live in [`components`]; the meeting's decisions live in the `client` crate (plain Rust,
//! tested natively); the modules here are the thin glue between the two and the browser:
//! [`relay_socket`] (signalling WebSocket), [`peer`] (one `RTCPeerConnection`), [`media`] (camera
//! and microphone) and [`call`], which wires them to a `client::meeting::Meeting`.

pub mod call;
pub mod components;
pub mod config;
pub mod fluent;
pub mod i18n;
pub mod js;
pub mod media;
pub mod peer;
pub mod prepared;
pub mod relay_socket;

pub use components::app::App;
