//! Wrong-code rate limiting (R13): pure arithmetic over the recent failures the store returns.

use serde::{Deserialize, Serialize};
use time::Duration;

use crate::Timestamp;

/// Limits on wrong codes. Failures older than `window_seconds` are forgotten.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockoutPolicy {
    /// Wrong codes for one account within the window before it is locked.
    pub max_failures_per_user: u32,
    /// Wrong codes from one source address within the window before it is locked.
    pub max_failures_per_source: u32,
    /// Length of the sliding window, in seconds.
    pub window_seconds: u32,
}

impl Default for LockoutPolicy {
    fn default() -> Self {
        LockoutPolicy {
            max_failures_per_user: 5,
            max_failures_per_source: 20,
            window_seconds: 900,
        }
    }
}

impl LockoutPolicy {
    /// The window as a duration.
    pub fn window(&self) -> Duration {
        Duration::seconds(i64::from(self.window_seconds))
    }
}

/// The key per-source failures count under (R13): an IPv4 address itself; for IPv6 its /64,
/// since one subscriber commonly holds a whole /64 and would otherwise get 2⁶⁴ fresh counters
/// (an IPv4-mapped IPv6 address counts as its IPv4 address); `unknown` when a trusted proxy
/// forwarded no readable client address.
pub fn source_key(source: Option<std::net::IpAddr>) -> String {
    use std::net::IpAddr;
    match source {
        None => "unknown".into(),
        Some(IpAddr::V4(v4)) => v4.to_string(),
        Some(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let prefix = u128::from(v6) & (u128::MAX << 64);
                format!("{}/64", std::net::Ipv6Addr::from(prefix))
            }
        },
    }
}

/// Which counter locked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum LockScope {
    /// The account.
    User,
    /// The source address.
    Source,
}

/// The gate in front of a code check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    /// Go ahead and check the code.
    Open,
    /// Refuse without checking.
    Locked {
        /// Which counter.
        scope: LockScope,
        /// When the oldest counted failure leaves the window.
        until: Timestamp,
    },
}

/// When a counter with these failure times (newest first, within the window) unlocks, if it is locked.
fn locked_until(
    newest_first: &[Timestamp],
    max: u32,
    window: Duration,
    now: Timestamp,
) -> Option<Timestamp> {
    let max = usize::try_from(max).unwrap_or(usize::MAX).max(1);
    let since = now.saturating_sub(window);
    let recent: Vec<&Timestamp> = newest_first.iter().filter(|t| **t > since).collect();
    // Locked while at least `max` failures are in the window; it opens when the
    // max-th newest one ages out.
    recent
        .get(max.saturating_sub(1))
        .map(|t| t.saturating_add(window))
}

/// R13: decides whether a code may be checked now, given each counter's recent failures
/// (newest first; the store returns at least `max` of each when there are that many).
pub fn assess(
    policy: &LockoutPolicy,
    user_failures: &[Timestamp],
    source_failures: &[Timestamp],
    now: Timestamp,
) -> Gate {
    let w = policy.window();
    let user = locked_until(user_failures, policy.max_failures_per_user, w, now);
    let source = locked_until(source_failures, policy.max_failures_per_source, w, now);
    match (user, source) {
        (Some(u), Some(s)) if s > u => Gate::Locked {
            scope: LockScope::Source,
            until: s,
        },
        (Some(u), _) => Gate::Locked {
            scope: LockScope::User,
            until: u,
        },
        (None, Some(s)) => Gate::Locked {
            scope: LockScope::Source,
            until: s,
        },
        (None, None) => Gate::Open,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: Timestamp = datetime!(2026-06-01 12:00 UTC);

    fn ago(mins: &[i64]) -> Vec<Timestamp> {
        mins.iter().map(|m| NOW - Duration::minutes(*m)).collect()
    }

    #[test]
    fn r13_locks_after_max_failures_and_opens_when_they_age_out() {
        let p = LockoutPolicy {
            max_failures_per_user: 3,
            max_failures_per_source: 5,
            window_seconds: 600,
        };
        assert_eq!(assess(&p, &ago(&[1, 2]), &[], NOW), Gate::Open);
        assert_eq!(
            assess(&p, &ago(&[1, 2, 3]), &[], NOW),
            Gate::Locked {
                scope: LockScope::User,
                until: NOW + Duration::minutes(7)
            }
        );
        // A failure outside the window no longer counts.
        assert_eq!(assess(&p, &ago(&[1, 2, 11]), &[], NOW), Gate::Open);
        assert!(matches!(
            assess(&p, &[], &ago(&[1, 1, 1, 1, 1]), NOW),
            Gate::Locked {
                scope: LockScope::Source,
                ..
            }
        ));
        assert_eq!(assess(&p, &[], &ago(&[1, 1, 1, 1]), NOW), Gate::Open);
    }
}

#[cfg(test)]
mod source_key_tests {
    use super::source_key;

    #[test]
    fn r13_ipv6_sources_count_per_64_and_mapped_ipv4_as_ipv4() {
        let key = |s: &str| source_key(Some(s.parse().unwrap()));
        assert_eq!(key("203.0.113.9"), "203.0.113.9");
        assert_eq!(key("2001:db8:1:2::5"), "2001:db8:1:2::/64");
        assert_eq!(
            key("2001:db8:1:2:ffff:ffff:ffff:ffff"),
            key("2001:db8:1:2::1"),
            "one /64 is one source: rotating the interface id does not reset the counter"
        );
        assert_ne!(key("2001:db8:1:3::1"), key("2001:db8:1:2::1"));
        assert_eq!(key("::ffff:203.0.113.9"), "203.0.113.9");
        assert_eq!(source_key(None), "unknown");
    }
}
