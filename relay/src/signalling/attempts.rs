//! Wrong room passwords, counted per connection and per address, so that nobody can try
//! passwords faster than a person types them. Told the time; no I/O.
//!
//! Each wrong password takes a token from the connection's bucket and from its address's (an
//! IPv6 address counts by its /64, which one household or phone usually has whole). While either
//! is empty, the relay does not even look at a password: the join is refused as too many
//! attempts. The address table is bounded; when full, addresses whose bucket has refilled are
//! forgotten first, then any.

use std::{
    collections::HashMap,
    net::IpAddr,
    time::{Duration, Instant},
};

use crate::{rate::TokenBucket, signalling::ConnId};

/// Wrong passwords one connection may send at once.
pub const PER_CONNECTION: u32 = 3;
/// Wrong passwords one address may send at once (a school's pupils share one address).
pub const PER_ADDRESS: u32 = 20;
/// One more try is allowed this often.
pub const REFILL: Duration = Duration::from_secs(10);
/// Addresses remembered at most.
pub const MAX_ADDRESSES: usize = 4096;

/// The buckets.
#[derive(Debug, Default)]
pub struct Attempts {
    by_conn: HashMap<ConnId, TokenBucket>,
    by_addr: HashMap<IpAddr, TokenBucket>,
}

use crate::web::admission::network_of as key;

impl Attempts {
    /// Whether `conn` (from `addr`) may try a password now.
    pub fn may_try(&mut self, conn: ConnId, addr: Option<IpAddr>, now: Instant) -> bool {
        let conn_ok = self.by_conn.get_mut(&conn).is_none_or(|b| b.has_token(now));
        let addr_ok =
            addr.and_then(|a| self.by_addr.get_mut(&key(a))).is_none_or(|b| b.has_token(now));
        conn_ok && addr_ok
    }

    /// `conn` (from `addr`) sent a wrong password.
    pub fn failed(&mut self, conn: ConnId, addr: Option<IpAddr>, now: Instant) {
        self.by_conn
            .entry(conn)
            .or_insert_with(|| TokenBucket::one_per(REFILL, PER_CONNECTION, now))
            .try_take(now);
        let Some(addr) = addr.map(key) else { return };
        if !self.by_addr.contains_key(&addr) && self.by_addr.len() >= MAX_ADDRESSES {
            self.by_addr.retain(|_, bucket| !bucket.is_full(now));
            if self.by_addr.len() >= MAX_ADDRESSES
                && let Some(any) = self.by_addr.keys().next().copied()
            {
                self.by_addr.remove(&any);
            }
        }
        self.by_addr
            .entry(addr)
            .or_insert_with(|| TokenBucket::one_per(REFILL, PER_ADDRESS, now))
            .try_take(now);
    }

    /// Forgets a connection that closed.
    pub fn forget(&mut self, conn: ConnId) {
        self.by_conn.remove(&conn);
    }

    #[cfg(test)]
    /// Addresses remembered now.
    pub fn addresses(&self) -> usize {
        self.by_addr.len()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn a_connection_gets_three_tries_then_one_every_ten_seconds() {
        let start = Instant::now();
        let mut a = Attempts::default();
        let (conn, addr) = (ConnId(1), Some("192.0.2.7".parse().unwrap()));
        for _ in 0..PER_CONNECTION {
            assert!(a.may_try(conn, addr, start));
            a.failed(conn, addr, start);
        }
        assert!(!a.may_try(conn, addr, start));
        assert!(!a.may_try(conn, addr, start + Duration::from_secs(9)));
        assert!(a.may_try(conn, addr, start + REFILL));
        // Another connection from the same address still may.
        assert!(a.may_try(ConnId(2), addr, start));
        a.forget(conn);
        assert!(a.may_try(conn, addr, start));
    }

    #[test]
    fn new_connections_do_not_reset_an_address_and_ipv6_counts_by_network() {
        let start = Instant::now();
        let mut a = Attempts::default();
        let base: std::net::Ipv6Addr = "2001:db8:1:2::".parse().unwrap();
        for i in 0..PER_ADDRESS {
            // A fresh connection and a fresh address in the same /64 each time.
            let addr = IpAddr::V6((u128::from(base) + u128::from(i) + 1).into());
            assert!(a.may_try(ConnId(u64::from(i)), Some(addr), start), "try {i}");
            a.failed(ConnId(u64::from(i)), Some(addr), start);
        }
        let same_network = Some("2001:db8:1:2:ffff::9".parse().unwrap());
        assert!(!a.may_try(ConnId(999), same_network, start));
        assert!(a.may_try(ConnId(999), Some("2001:db8:1:3::1".parse().unwrap()), start));
        assert_eq!(a.addresses(), 1);
    }

    #[test]
    fn the_address_table_stays_bounded() {
        let start = Instant::now();
        let mut a = Attempts::default();
        for i in 0..(MAX_ADDRESSES as u32 + 500) {
            let addr = IpAddr::V4(std::net::Ipv4Addr::from(0x0a00_0000 + i));
            a.failed(ConnId(1), Some(addr), start);
        }
        assert_eq!(a.addresses(), MAX_ADDRESSES);
    }
}
