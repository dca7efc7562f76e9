//! The views. Each file holds one component; they read reactive state and call into
//! [`crate::call::Call`], and hold no meeting logic of their own.

pub mod app;
pub mod chat_panel;
pub mod controls;
pub mod dialogs;
pub mod icons;
pub mod language;
pub mod meeting;
pub mod notice;
pub mod people_panel;
pub mod prejoin;
pub mod stage;
pub mod start;
pub mod tile;
pub mod video;
