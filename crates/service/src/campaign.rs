//! R55: the registration campaign at sign-in, on its interrupt page and for "Not now". The
//! decision is the domain's [`campaign::decide`]; this module loads its facts and keeps
//! what the user did.

use portcullis_domain::policy::campaign::{
    self, CampaignFacts, Nudge, Progress, RegistrationCampaign, SnoozeRefusal,
};
use portcullis_domain::policy::MethodId;
use portcullis_domain::session::Session;
use portcullis_domain::Timestamp;
use portcullis_store::{campaign as store, commit, directory, passkeys, policy, Conn};
use uuid::Uuid;

use crate::passkeys::fido2;
use crate::policy::current;
use crate::{Result, Service, ServiceError};

/// The campaign as configured (Graph's default when never set). Settings an earlier
/// release stored without this parse (it kept the campaign almost unchecked) and that do not
/// parse now count as Graph's default — off — with a warning, rather than failing every
/// sign-in and registration; the next PATCH replaces them.
pub(crate) async fn configured(c: &mut Conn) -> Result<RegistrationCampaign> {
    let Some(s) = policy::settings(c).await? else {
        return Ok(RegistrationCampaign::default());
    };
    Ok(RegistrationCampaign::from_settings(&s).unwrap_or_else(|e| {
        tracing::warn!(error = %e, "the stored registration campaign does not parse; it is off until it is saved again");
        RegistrationCampaign::default()
    }))
}

/// The campaign as configured, read on a connection of its own (before a sign-in's
/// transaction, which then takes it as an argument).
pub(crate) async fn read(svc: &Service) -> Result<RegistrationCampaign> {
    let mut c = svc.store().conn().await?;
    configured(&mut c).await
}

/// What the campaign asks of `user` at `now`, from the stored facts.
pub(crate) async fn nudge(
    c: &mut Conn,
    campaign: &RegistrationCampaign,
    user: Uuid,
    now: Timestamp,
) -> Result<Nudge> {
    if !campaign.is_running() {
        return Ok(Nudge::Off);
    }
    let fido2 = fido2(current(c, MethodId::Fido2).await?);
    let member_of = directory::member_of(c, user).await?;
    let held: Vec<_> = passkeys::for_user(c, user)
        .await?
        .into_iter()
        .map(|s| s.passkey)
        .collect();
    let progress = store::progress(c, user).await?;
    let facts = CampaignFacts {
        user,
        member_of: &member_of,
        passkeys: &held,
        progress,
    };
    Ok(campaign::decide(campaign, &fido2, &facts, now))
}

/// At sign-in, in the sign-in's transaction: whether the new session is interrupted, and if
/// so the ask is recorded.
pub(crate) async fn at_sign_in(
    c: &mut Conn,
    campaign: &RegistrationCampaign,
    user: Uuid,
    now: Timestamp,
) -> Result<bool> {
    let n = nudge(c, campaign, user, now).await?;
    if n.interrupts() {
        store::asked(c, user, now).await?;
    }
    Ok(n.interrupts())
}

/// Why "Not now" did not happen.
#[derive(Debug, thiserror::Error)]
pub enum SnoozeError {
    /// The campaign refused it.
    #[error(transparent)]
    Refused(#[from] SnoozeRefusal),
    /// The store failed.
    #[error(transparent)]
    Failed(#[from] ServiceError),
}

impl From<portcullis_store::StoreError> for SnoozeError {
    fn from(e: portcullis_store::StoreError) -> Self {
        SnoozeError::Failed(e.into())
    }
}

impl Service {
    /// The interrupt page: what the campaign asks of this session's user now, and how many
    /// days "Not now" lasts. A session it no longer concerns (registered meanwhile,
    /// excluded, campaign off) is released.
    pub async fn campaign_interrupt(&self, session: &Session) -> Result<(Nudge, u8)> {
        let now = self.now();
        let mut c = self.store().conn().await?;
        let campaign = configured(&mut c).await?;
        let n = nudge(&mut c, &campaign, session.user_id, now).await?;
        if session.campaign_pending && !n.interrupts() {
            store::set_pending(&mut c, session.id, false).await?;
        }
        Ok((n, campaign.snooze_duration_in_days))
    }

    /// "Not now": records the snooze and releases the user's interrupted sessions, or says
    /// why it cannot (registration is required now, or nothing is asked).
    pub async fn snooze_campaign(
        &self,
        session: &Session,
    ) -> std::result::Result<Progress, SnoozeError> {
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let campaign = configured(&mut tx).await?;
        let n = nudge(&mut tx, &campaign, session.user_id, now).await?;
        let before = store::progress(&mut tx, session.user_id).await?;
        if matches!(n, Nudge::Snoozed { .. }) {
            // Already postponed (in another tab, a moment ago): that snooze stands.
            store::release_user(&mut tx, session.user_id).await?;
            commit(tx).await?;
            return Ok(before);
        }
        let after = campaign::snooze(&campaign, &n, before, now)?;
        if !store::snoozed(&mut tx, session.user_id, before, after, now).await? {
            // Another tab snoozed first: that snooze stands, this one adds nothing.
            return Ok(store::progress(&mut tx, session.user_id).await?);
        }
        store::release_user(&mut tx, session.user_id).await?;
        commit(tx).await?;
        tracing::info!(user = %session.user_id, snoozes = after.snoozes, "registration campaign snoozed");
        Ok(after)
    }
}
