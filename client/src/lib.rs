//! The app's logic as plain Rust, free of web-sys so it compiles and is tested natively.
//!
//! The `app` crate wraps these types in Leptos views and web-sys calls: it feeds them what the
//! browser and the relay report and carries out what they return.

pub mod branding;
pub mod chat;
pub mod errors;
pub mod i18n;
pub mod keepalive;
pub mod layout;
pub mod meeting;
pub mod negotiation;
pub mod params;
pub mod quality;
pub mod reconnect;
pub mod speaker;
pub mod switchover;
