//! Which addresses a TURN allocation may send to.
//!
//! A TURN server sends datagrams wherever its clients ask, from inside the server's network. Left
//! open, anyone with credentials could reach the server's loopback services, its private network
//! or cloud metadata endpoints (server-side request forgery through TURN). Peers of a meeting are
//! browsers and the relay's own media port, all reachable from the internet, so the relay refuses
//! loopback, link-local, multicast, broadcast and unspecified addresses always, and private and
//! carrier-grade-NAT ranges unless the relay itself runs on a private address (a school's own
//! network, or the test lab), where the meeting's peers are private too. A relay announced on
//! loopback serves this machine only, and may reach its loopback.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Whether an allocation of a relay announced at `relay` may send to `peer`.
pub fn allowed(peer: IpAddr, relay: IpAddr) -> bool {
    if relay.is_loopback() {
        // A relay only this machine can reach (development, tests): its peers are here too.
        return peer.is_loopback() || !never(peer);
    }
    if never(peer) {
        return false;
    }
    !private(peer) || private(relay)
}

fn never(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            v4.is_loopback()
                || v4.is_link_local()
                || v4.is_multicast()
                || v4.is_broadcast()
                || v4.is_unspecified()
                || v4.octets()[0] == 0
        }
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => never(IpAddr::V4(v4)),
            None => {
                v6.is_loopback()
                    || v6.is_unspecified()
                    || v6.is_multicast()
                    || (v6.segments()[0] & 0xffc0) == 0xfe80
            }
        },
    }
}

fn private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_private() || carrier_nat(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => private(IpAddr::V4(v4)),
            None => unique_local(v6),
        },
    }
}

/// 100.64.0.0/10, shared address space of carrier-grade NAT.
fn carrier_nat(v4: Ipv4Addr) -> bool {
    let [a, b, ..] = v4.octets();
    a == 100 && (b & 0xc0) == 64
}

/// fc00::/7.
fn unique_local(v6: Ipv6Addr) -> bool {
    (v6.segments()[0] & 0xfe00) == 0xfc00
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn a_public_relay_reaches_public_peers_only() {
        let relay = ip("203.0.113.1");
        for ok in ["203.0.113.7", "198.51.100.20", "2001:db8::1", "203.0.113.1"] {
            assert!(allowed(ip(ok), relay), "{ok}");
        }
        for bad in [
            "127.0.0.1",
            "127.8.8.8",
            "10.0.0.5",
            "172.16.3.3",
            "192.168.1.10",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "0.1.2.3",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fe80::1",
            "fd00::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.1.1.1",
        ] {
            assert!(!allowed(ip(bad), relay), "{bad}");
        }
    }

    #[test]
    fn a_relay_on_a_private_network_reaches_that_network_but_never_its_own_loopback() {
        let relay = ip("10.77.0.1");
        assert!(allowed(ip("10.77.0.9"), relay));
        assert!(allowed(ip("192.168.1.10"), relay));
        assert!(!allowed(ip("127.0.0.1"), relay));
        assert!(!allowed(ip("169.254.169.254"), relay));
    }

    #[test]
    fn a_relay_on_loopback_serves_this_machine() {
        assert!(allowed(ip("127.0.0.1"), ip("127.0.0.1")));
        assert!(!allowed(ip("224.0.0.1"), ip("127.0.0.1")));
    }
}
