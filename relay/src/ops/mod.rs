//! Operations.

pub mod drain;
pub mod metrics;
