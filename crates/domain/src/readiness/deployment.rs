//! What readiness finds about the deployment rather than about a user (R50, R60): facts the
//! servers observed and recorded, judged here.

use std::net::IpAddr;

use crate::Timestamp;

/// How long a recorded sighting counts: a proxy not seen for a week is taken to be gone (or
/// listed, which clears its record at the next start).
pub const SIGHTING_WINDOW: time::Duration = time::Duration::days(7);

/// A peer that sent `X-Forwarded-For` while `trusted_proxies` did not list it, as a server
/// recorded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UntrustedForwarder {
    /// The peer's address.
    pub peer: IpAddr,
    /// When a server first saw it.
    pub first_seen: Timestamp,
    /// When a server last recorded it (at most hourly).
    pub last_seen: Timestamp,
}

/// A finding about the deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeploymentFinding {
    /// Requests come through a reverse proxy that `trusted_proxies` does not list: its
    /// address is every client's, so rate limits and lock-outs are shared — twenty wrong
    /// codes from one user lock everyone behind it out of the pass sign-in.
    SharedSourceBehindProxy(UntrustedForwarder),
}

impl DeploymentFinding {
    /// The stable code.
    pub fn code(&self) -> &'static str {
        match self {
            DeploymentFinding::SharedSourceBehindProxy(_) => "sharedSourceBehindProxy",
        }
    }
}

/// The deployment's findings at `now`, from what the servers recorded: each forwarder seen
/// within [`SIGHTING_WINDOW`].
pub fn deployment_findings(seen: &[UntrustedForwarder], now: Timestamp) -> Vec<DeploymentFinding> {
    let mut out: Vec<DeploymentFinding> = seen
        .iter()
        .filter(|f| {
            f.last_seen
                .checked_add(SIGHTING_WINDOW)
                .is_some_and(|until| now <= until)
        })
        .cloned()
        .map(DeploymentFinding::SharedSourceBehindProxy)
        .collect();
    out.sort_by(|a, b| match (a, b) {
        (
            DeploymentFinding::SharedSourceBehindProxy(a),
            DeploymentFinding::SharedSourceBehindProxy(b),
        ) => a.peer.cmp(&b.peer),
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(days: i64) -> Timestamp {
        time::macros::datetime!(2026-11-01 00:00 UTC) + time::Duration::days(days)
    }

    #[test]
    fn a_forwarder_counts_for_a_week_after_it_was_last_seen() {
        let seen = [UntrustedForwarder {
            peer: "10.0.0.5".parse().unwrap(),
            first_seen: at(0),
            last_seen: at(3),
        }];
        assert_eq!(deployment_findings(&seen, at(3)).len(), 1);
        assert_eq!(deployment_findings(&seen, at(10)).len(), 1, "seven days on");
        assert!(
            deployment_findings(&seen, at(11)).is_empty(),
            "not seen for more than a week"
        );
        assert_eq!(
            deployment_findings(&seen, at(3))[0].code(),
            "sharedSourceBehindProxy"
        );
    }
}
