//! What every request handler and connection task shares: the settings, the hub, the
//! connection table and the page origins. Built once by `startup`.

use std::sync::{Mutex, MutexGuard, atomic::AtomicU64};

use tokio::sync::{mpsc, watch};

use crate::{
    Config,
    config::tenants::{TenantId, TenantSettings, Tenants},
    signalling::hub::Hub,
    web::admission::{AllowedOrigins, Connections},
};

/// What every request handler shares.
pub(crate) struct Shared {
    /// Settings.
    pub(crate) config: Config,
    /// Rooms and outboxes.
    pub(crate) hub: Mutex<Hub>,
    /// Numbers connections.
    pub(crate) next_conn: AtomicU64,
    /// Turns `true` when the relay shuts down.
    pub(crate) shutdown: watch::Receiver<bool>,
    /// Held by every connection task; shutdown waits until all are dropped.
    pub(crate) alive: mpsc::Sender<()>,
    /// Pages whose WebSockets are accepted.
    pub(crate) origins: AllowedOrigins,
    /// Which host belongs to which tenant.
    pub(crate) tenants: Tenants,
    /// Open connections per address and in all.
    pub(crate) connections: Connections,
    /// Signalling messages the rate limit dropped, all connections together.
    pub(crate) rate_limited: AtomicU64,
}

impl Shared {
    /// The settings of `tenant`, if it is one of the configured tenants.
    pub(crate) fn tenant_settings(&self, tenant: Option<TenantId>) -> Option<&TenantSettings> {
        let TenantId(n) = tenant?;
        usize::from(n).checked_sub(1).and_then(|i| self.config.tenants.get(i))
    }

    pub(crate) fn hub(&self) -> MutexGuard<'_, Hub> {
        // A panic while holding the lock would be a bug in `Hub`; the state it guards is still
        // consistent at every await point, so keep serving rather than poisoning every request.
        self.hub.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
