//! The web front: the relay's HTTP port and everything that answers on it before signalling
//! begins.
//!
//! Owns the HTTP server loop and its limits ([`serve`]), the headers and caching of the app's
//! files ([`headers`]), who may open a WebSocket at all ([`admission`]: origins, connections per
//! address), the certificate and its reloading ([`tls`], [`cert_reload`]), the plain-HTTP
//! redirect ([`redirect`]) and the small HTTP answers ([`routes`]: health, status, metrics,
//! invitations, a tenant's `config.json`).
//!
//! May not: decide anything about rooms or media. A WebSocket that is let in is handed to
//! `signalling::connection` and is none of this module's business after that.

pub mod admission;
pub mod cert_reload;
pub mod headers;
pub mod redirect;
pub mod routes;
pub mod serve;
pub mod state;
pub mod tls;
