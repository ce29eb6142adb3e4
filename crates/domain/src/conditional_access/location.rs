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

/// Why a text is not an `address/prefix` range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CidrError {
    /// No `/`.
    #[error("'{0}' is not CIDR (address/prefix)")]
    NotCidr(String),
    /// The address part.
    #[error("'{0}' is not an IP address")]
    Address(String),
    /// The prefix part.
    #[error("'{0}' is not a prefix length")]
    PrefixLength(String),
    /// A prefix longer than the address.
    #[error("prefix /{len} is longer than {max}")]
    PrefixTooLong {
        /// Given.
        len: u8,
        /// The address family's length.
        max: u8,
    },
}

/// Parses `addr/len`.
pub fn parse_cidr(s: &str) -> Result<(IpAddr, u8), CidrError> {
    let (a, l) = s
        .trim()
        .split_once('/')
        .ok_or_else(|| CidrError::NotCidr(s.into()))?;
    let addr: IpAddr = a.parse().map_err(|_| CidrError::Address(a.into()))?;
    let len: u8 = l.parse().map_err(|_| CidrError::PrefixLength(l.into()))?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    if len > max {
        return Err(CidrError::PrefixTooLong { len, max });
    }
    Ok((addr, len))
}

/// Whether `ip` lies in `addr/len`.
pub fn cidr_contains(addr: IpAddr, len: u8, ip: IpAddr) -> bool {
    match (addr, ip) {
        (IpAddr::V4(n), IpAddr::V4(i)) => {
            // A prefix of 0..=32 bits (parse_cidr refuses longer): the mask's zero bits.
            let mask = u32::MAX
                .checked_shl(32u32.saturating_sub(u32::from(len)))
                .unwrap_or(0);
            (u32::from(n) & mask) == (u32::from(i) & mask)
        }
        (IpAddr::V6(n), IpAddr::V6(i)) => {
            let mask = u128::MAX
                .checked_shl(128u32.saturating_sub(u32::from(len)))
                .unwrap_or(0);
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

/// One `X-Forwarded-For` hop: an address, possibly with a port (`203.0.113.9:5000`,
/// `[2001:db8::1]:443`), as some proxies write it.
fn hop_address(hop: &[u8]) -> Option<IpAddr> {
    let text = std::str::from_utf8(hop).ok()?.trim();
    text.parse::<IpAddr>()
        .ok()
        .or_else(|| text.parse::<std::net::SocketAddr>().ok().map(|s| s.ip()))
}

/// The client's address. From an untrusted peer it is the peer: its header is ignored, so
/// it cannot claim an address. Behind a trusted proxy, `X-Forwarded-For` (`lines`: every
/// line of it, in order, as bytes — repeated lines are one list, RFC 9110 §5.3) is read
/// right to left, skipping trusted proxies, until the first address that is not one: the
/// client. Reading stops at the first hop that is not an address (a forgery or a broken
/// proxy; non-ASCII bytes included): nothing left of it is believed, and if no client was
/// found before it — or the list ends with proxies only — the source is unknown, never the
/// proxy itself (which would move lock-outs and location policies onto the proxy).
pub fn client_ip(peer: IpAddr, lines: &[&[u8]], trusted: &[(IpAddr, u8)]) -> Option<IpAddr> {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|(a, l)| cidr_contains(*a, *l, ip));
    if !is_trusted(peer) {
        return Some(peer);
    }
    let hops = lines
        .iter()
        .rev()
        .flat_map(|line| line.split(|b| *b == b',').rev())
        .filter(|h| !h.iter().all(u8::is_ascii_whitespace));
    for hop in hops {
        match hop_address(hop) {
            None => return None,
            Some(ip) if !is_trusted(ip) => return Some(ip),
            Some(_) => {}
        }
    }
    None
}

#[cfg(test)]
mod proxy_tests {
    use super::*;

    fn xff(peer: &str, lines: &[&[u8]]) -> Option<IpAddr> {
        let proxies = [parse_cidr("10.0.0.0/8").unwrap()];
        client_ip(peer.parse().unwrap(), lines, &proxies)
    }

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn forwarded_addresses_count_only_behind_trusted_proxies() {
        assert_eq!(
            xff("203.0.113.9", &[b"198.51.100.1"]),
            ip("203.0.113.9"),
            "an untrusted peer cannot claim an address"
        );
        assert_eq!(xff("10.0.0.2", &[b"198.51.100.1"]), ip("198.51.100.1"));
        assert_eq!(
            xff("10.0.0.2", &[b"6.6.6.6, 198.51.100.1, 10.0.0.5"]),
            ip("198.51.100.1"),
            "the client may forge the left part"
        );
        assert_eq!(
            xff("10.0.0.2", &[b"6.6.6.6", b"198.51.100.1"]),
            ip("198.51.100.1"),
            "repeated lines are one list: a proxy's own line is the rightmost"
        );
        assert_eq!(xff("10.0.0.2", &[b"198.51.100.1:5060"]), ip("198.51.100.1"));
        assert_eq!(xff("10.0.0.2", &[b"[2001:db8::7]:443"]), ip("2001:db8::7"));
    }

    #[test]
    fn r40_an_unreadable_hop_never_makes_the_proxy_the_client() {
        assert_eq!(
            xff("10.0.0.2", &[b"garbage"]),
            None,
            "the proxy is never the client"
        );
        assert_eq!(
            xff("10.0.0.2", &[b"198.51.100.1, caf\xc3\xa9"]),
            None,
            "a non-ASCII hop stops the reading before any client was found"
        );
        assert_eq!(
            xff("10.0.0.2", &[b"6.6.6.6, \xff", b"198.51.100.1"]),
            ip("198.51.100.1"),
            "a broken line left of the client does not matter"
        );
        assert_eq!(
            xff("10.0.0.2", &[b"6.6.6.6, \xff, 10.0.0.9"]),
            None,
            "a broken hop right of any client: unknown, not the forged address left of it"
        );
        assert_eq!(
            xff("10.0.0.2", &[b"10.0.0.7, 10.0.0.9"]),
            None,
            "only proxies: unknown"
        );
        assert_eq!(
            xff("10.0.0.2", &[]),
            None,
            "no header behind a proxy: unknown"
        );
    }
}
