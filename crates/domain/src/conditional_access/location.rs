//! Named locations (graph-api.md §5.6): IP ranges in CIDR form, optionally trusted.

use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// An IP named location.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamedLocation {
    /// Id.
    pub id: String,
    /// Name.
    pub display_name: String,
    /// Marked trusted (matches `AllTrusted`).
    pub is_trusted: bool,
    /// CIDR ranges, e.g. `203.0.113.0/24`, `2001:db8::/32`.
    pub cidrs: Vec<String>,
    /// RFC 3339.
    pub created: String,
    /// RFC 3339.
    pub modified: String,
}

/// Parses `addr/len`.
pub fn parse_cidr(s: &str) -> Result<(IpAddr, u8), String> {
    let (a, l) = s
        .trim()
        .split_once('/')
        .ok_or_else(|| format!("'{s}' is not CIDR (address/prefix)"))?;
    let addr: IpAddr = a
        .parse()
        .map_err(|_| format!("'{a}' is not an IP address"))?;
    let len: u8 = l
        .parse()
        .map_err(|_| format!("'{l}' is not a prefix length"))?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    if len > max {
        return Err(format!("prefix /{len} is longer than {max}"));
    }
    Ok((addr, len))
}

/// Whether `ip` lies in `addr/len`.
pub fn cidr_contains(addr: IpAddr, len: u8, ip: IpAddr) -> bool {
    match (addr, ip) {
        (IpAddr::V4(n), IpAddr::V4(i)) => {
            let mask = if len == 0 {
                0
            } else {
                u32::MAX << (32 - u32::from(len))
            };
            (u32::from(n) & mask) == (u32::from(i) & mask)
        }
        (IpAddr::V6(n), IpAddr::V6(i)) => {
            let mask = if len == 0 {
                0
            } else {
                u128::MAX << (128 - u32::from(len))
            };
            (u128::from(n) & mask) == (u128::from(i) & mask)
        }
        // An IPv4-mapped IPv6 client address matches IPv4 ranges.
        (IpAddr::V4(_), IpAddr::V6(i)) => i
            .to_ipv4_mapped()
            .is_some_and(|v4| cidr_contains(addr, len, IpAddr::V4(v4))),
        _ => false,
    }
}

impl NamedLocation {
    /// Whether the address is inside one of the ranges.
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.cidrs
            .iter()
            .filter_map(|c| parse_cidr(c).ok())
            .any(|(a, l)| cidr_contains(a, l, ip))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_matching() {
        let loc = NamedLocation {
            id: "l".into(),
            display_name: "HQ".into(),
            is_trusted: true,
            cidrs: vec!["203.0.113.0/24".into(), "2001:db8::/32".into()],
            created: String::new(),
            modified: String::new(),
        };
        assert!(loc.contains("203.0.113.9".parse().unwrap()));
        assert!(!loc.contains("203.0.114.9".parse().unwrap()));
        assert!(loc.contains("2001:db8:1::5".parse().unwrap()));
        assert!(loc.contains("::ffff:203.0.113.7".parse().unwrap()));
        assert!(
            parse_cidr("10.0.0.0/33").is_err()
                && parse_cidr("10.0.0.0").is_err()
                && parse_cidr("x/8").is_err()
        );
    }
}

/// The client's address: the connection's peer, or — when the peer is a trusted proxy — the
/// nearest address in `X-Forwarded-For` (read right to left) that is not a trusted proxy.
/// Untrusted peers cannot claim an address: their header is ignored.
pub fn client_ip(peer: IpAddr, forwarded_for: &str, trusted: &[(IpAddr, u8)]) -> IpAddr {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|(a, l)| cidr_contains(*a, *l, ip));
    if !is_trusted(peer) {
        return peer;
    }
    let mut current = peer;
    for hop in forwarded_for
        .rsplit(',')
        .map(str::trim)
        .filter(|h| !h.is_empty())
    {
        let Ok(ip) = hop.parse::<IpAddr>() else { break };
        current = ip;
        if !is_trusted(ip) {
            break;
        }
    }
    current
}

#[cfg(test)]
mod proxy_tests {
    use super::*;

    #[test]
    fn forwarded_addresses_count_only_behind_trusted_proxies() {
        let proxies = [parse_cidr("10.0.0.0/8").unwrap()];
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(
            client_ip(ip("203.0.113.9"), "198.51.100.1", &proxies),
            ip("203.0.113.9"),
            "an untrusted peer cannot claim an address"
        );
        assert_eq!(
            client_ip(ip("10.0.0.2"), "198.51.100.1", &proxies),
            ip("198.51.100.1")
        );
        assert_eq!(
            client_ip(ip("10.0.0.2"), "6.6.6.6, 198.51.100.1, 10.0.0.5", &proxies),
            ip("198.51.100.1"),
            "the client may forge the left part"
        );
        assert_eq!(
            client_ip(ip("10.0.0.2"), "garbage", &proxies),
            ip("10.0.0.2")
        );
    }
}
