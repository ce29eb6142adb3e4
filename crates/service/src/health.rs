//! Tenant health at a glance, for the admin center's landing page: how many users can sign
//! in with a passkey, what readiness finds (R50) by severity, and why sign-ins failed
//! lately. The readiness summary is kept for a few minutes, so that opening the landing page
//! does not analyse every user each time; the readiness report itself always analyses.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use portcullis_domain::readiness::Severity;
use portcullis_domain::Timestamp;
use portcullis_store::{directory, passkeys, signins};
use time::Duration;

use crate::readiness::Readiness;
use crate::{Result, Service};

/// How long a readiness summary stands in for a new analysis on the landing page.
pub const SUMMARY_FRESH_FOR: Duration = Duration::minutes(5);

/// How far back the landing page counts failed sign-ins.
pub const FAILURES_OVER: Duration = Duration::hours(24);

/// What readiness found, counted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadinessSummary {
    /// When the analysis ran.
    pub generated: Timestamp,
    /// Users analysed.
    pub users: usize,
    /// Users with a blocker.
    pub blocked: usize,
    /// Users whose worst finding is a warning.
    pub warned: usize,
    /// Users with information only.
    pub informed: usize,
}

impl ReadinessSummary {
    /// Counts an analysis: each user under their worst finding.
    pub fn of(r: &Readiness) -> ReadinessSummary {
        let with = |s: Severity| -> BTreeSet<_> {
            r.findings
                .iter()
                .filter(|f| f.severity == s)
                .map(|f| f.user)
                .collect()
        };
        let blocked = with(Severity::Blocker);
        let warned: BTreeSet<_> = with(Severity::Warning)
            .difference(&blocked)
            .copied()
            .collect();
        let informed = with(Severity::Info)
            .iter()
            .filter(|u| !blocked.contains(u) && !warned.contains(u))
            .count();
        ReadinessSummary {
            generated: r.generated,
            users: r.users.len(),
            blocked: blocked.len(),
            warned: warned.len(),
            informed,
        }
    }
}

/// The last whole-tenant summary, shared by the clones of a service.
#[derive(Debug, Clone, Default)]
pub(crate) struct SummaryCache(Arc<Mutex<Option<ReadinessSummary>>>);

impl SummaryCache {
    pub(crate) fn put(&self, s: ReadinessSummary) {
        if let Ok(mut slot) = self.0.lock() {
            *slot = Some(s);
        }
    }

    fn fresh(&self, now: Timestamp) -> Option<ReadinessSummary> {
        self.0
            .lock()
            .ok()
            .and_then(|s| s.clone())
            .filter(|s| now - s.generated < SUMMARY_FRESH_FOR)
    }
}

/// The landing page's figures.
#[derive(Debug, Clone)]
pub struct Health {
    /// Users in the directory.
    pub users: i64,
    /// Users holding at least one passkey.
    pub with_passkey: i64,
    /// Readiness, counted (when asked for).
    pub readiness: Option<ReadinessSummary>,
    /// Failed sign-ins since [`Health::failures_since`], by failure code, most first.
    pub failures: Vec<(String, i64)>,
    /// The start of that window.
    pub failures_since: Timestamp,
}

impl Service {
    /// The tenant's health now; with `readiness`, the readiness summary too (from the last
    /// few minutes, if analysed then). Failures are counted from the start of the UTC day
    /// [`FAILURES_OVER`] ago, so that a day-granular link lists exactly what is counted.
    pub async fn tenant_health(&self, readiness: bool) -> Result<Health> {
        let now = self.now();
        let since = (now - FAILURES_OVER)
            .to_offset(time::UtcOffset::UTC)
            .replace_time(time::Time::MIDNIGHT);
        let (users, with_passkey, failures) = {
            let mut c = self.store().conn().await?;
            (
                directory::count_users(&mut c).await?,
                passkeys::users_with_passkeys(&mut c).await?,
                signins::failures_by_code(&mut c, since).await?,
            )
        };
        let readiness = match (readiness, self.summary_cache.fresh(now)) {
            (false, _) => None,
            (true, Some(s)) => Some(s),
            (true, None) => Some(ReadinessSummary::of(&self.readiness(&[], None).await?)),
        };
        Ok(Health {
            users,
            with_passkey,
            readiness,
            failures,
            failures_since: since,
        })
    }
}
