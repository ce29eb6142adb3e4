//! Bounded storage (R60): what anonymous requests write — ceremonies, wrong-code failures,
//! refused sign-ins in the log — is deleted once it can matter no more. The server runs this
//! on a schedule; every node may, since each delete is idempotent.

use portcullis_store::{ceremonies, lockout, signins};
use serde::{Deserialize, Serialize};
use time::Duration;

use crate::{Result, Service};

/// How long what is kept is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Retention {
    /// Days of sign-in log kept (Entra's free tier keeps 30).
    pub sign_in_log_days: u32,
    /// Minutes between rounds of housekeeping (each server runs one at start, then on this
    /// schedule).
    pub housekeeping_minutes: u32,
}

impl Default for Retention {
    fn default() -> Self {
        Retention {
            sign_in_log_days: 30,
            housekeeping_minutes: 5,
        }
    }
}

/// What one round of housekeeping deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pruned {
    /// Expired ceremonies.
    pub ceremonies: u64,
    /// Failures older than the lock-out window.
    pub failures: u64,
    /// Sign-in log entries older than the retention.
    pub sign_ins: u64,
    /// Untrusted proxies not seen for longer than readiness counts them.
    pub forwarders: u64,
    /// Authenticator requests older than a day (they expire after a minute).
    pub push_requests: u64,
}

impl Service {
    /// Deletes expired ceremonies, failures the lock-out window no longer counts, sign-in
    /// log entries older than `retention`, and untrusted proxies readiness no longer counts.
    pub async fn housekeeping(&self, retention: &Retention) -> Result<Pruned> {
        let now = self.now();
        let mut c = self.store().conn().await?;
        Ok(Pruned {
            ceremonies: ceremonies::prune(&mut c, now).await?,
            failures: lockout::prune(&mut c, now.saturating_sub(self.lockout.window())).await?,
            sign_ins: signins::prune(
                &mut c,
                now.saturating_sub(Duration::days(i64::from(retention.sign_in_log_days))),
            )
            .await?,
            forwarders: portcullis_store::forwarders::prune(
                &mut c,
                now.saturating_sub(portcullis_domain::readiness::SIGHTING_WINDOW),
            )
            .await?,
            push_requests: portcullis_store::push::prune(
                &mut c,
                now.saturating_sub(Duration::days(1)),
            )
            .await?,
        })
    }
}
