//! Operations: what an operator sees and does to a running relay.
//!
//! Owns the shutdown drain ([`drain`]: no one new, meetings go on until they end or the time is
//! up) and the OpenMetrics registry ([`metrics`]: what `/metrics` renders, with no names and no
//! room names).
//!
//! May not: change a room. The drain asks the hub to refuse newcomers; the hub decides.

pub mod drain;
pub mod metrics;
