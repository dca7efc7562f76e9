//! The web front.

pub mod admission;
pub mod cert_reload;
pub mod headers;
pub mod redirect;
pub mod routes;
pub mod serve;
pub mod tls;
