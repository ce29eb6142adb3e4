//! The push step of a password sign-in: whether the Microsoft Authenticator request was
//! approved (the protocol with the app is `crate::push`).

use portcullis_domain::password::PasswordRefusal;
use portcullis_domain::session::AuthMethod;
use portcullis_domain::Timestamp;
use portcullis_store::directory;

use super::{refused, PasswordSignInError, PushProgress, Refused, PUSH_STEP};
use crate::{RequestContext, Result, Service, ServiceError};

impl Service {
    /// The push step: whether the Authenticator request was approved. `Waiting` until it is
    /// answered; an approval opens one session (or the next step), whatever the number of
    /// requests that ask.
    pub async fn sign_in_with_push(
        &self,
        pending: &str,
        ctx: &RequestContext,
    ) -> std::result::Result<PushProgress, PasswordSignInError> {
        let now = self.now();
        match self.try_push(pending, ctx, now).await {
            Ok(p) => Ok(p),
            // A token that does not open names nobody: nothing to log (and the form may be
            // posted by anyone).
            Err((None, e)) => Err(e),
            Err((uid, e)) => {
                let upn = match uid {
                    Some(id) => self.user_upn(id).await.unwrap_or_default(),
                    None => String::new(),
                };
                Err(self.log_refusal(uid, &upn, ctx, now, e).await)
            }
        }
    }

    /// Whether a push step's request still waits for the app (the page's script asks, and
    /// asking changes nothing: the page's form then takes the outcome).
    pub async fn push_waiting(&self, pending: &str) -> Result<bool> {
        let now = self.now();
        let Ok(p) = self.open_pending(PUSH_STEP, pending, now).await else {
            return Ok(false);
        };
        let Some(id) = p.approval else {
            return Ok(false);
        };
        Ok(self.approval(id).await?.is_some_and(|(a, _)| {
            a.user_id == p.user_id
                && portcullis_domain::push::outcome(&a, now)
                    == portcullis_domain::push::Outcome::Waiting
        }))
    }

    /// The number a push step's page shows (to show it again).
    pub async fn push_number(&self, pending: &str) -> Result<u8> {
        let now = self.now();
        let p = self
            .open_pending(PUSH_STEP, pending, now)
            .await
            .map_err(|(_, e)| ServiceError::Invalid(e.to_string()))?;
        let id = p
            .approval
            .ok_or_else(|| ServiceError::Invalid("not a push step".into()))?;
        self.approval(id)
            .await?
            .map(|(a, _)| a.number)
            .ok_or_else(|| ServiceError::NotFound("no such request".into()))
    }

    async fn try_push(
        &self,
        pending: &str,
        ctx: &RequestContext,
        now: Timestamp,
    ) -> std::result::Result<PushProgress, Refused> {
        let p = self.open_pending(PUSH_STEP, pending, now).await?;
        let uid = Some(p.user_id);
        let id = p
            .approval
            .ok_or_else(|| refused(uid, PasswordRefusal::SecondStepExpired))?;
        let (a, used) = self
            .approval(id)
            .await
            .map_err(|e| (uid, e.into()))?
            .filter(|(a, _)| a.user_id == p.user_id)
            .ok_or_else(|| refused(uid, PasswordRefusal::SecondStepExpired))?;
        match portcullis_domain::push::outcome(&a, now) {
            portcullis_domain::push::Outcome::Waiting => return Ok(PushProgress::Waiting),
            portcullis_domain::push::Outcome::TimedOut => {
                return Err(refused(uid, PasswordRefusal::PushTimedOut))
            }
            portcullis_domain::push::Outcome::Denied(
                portcullis_domain::push::DenyReason::WrongNumber,
            ) => return Err(refused(uid, PasswordRefusal::PushWrongNumber)),
            portcullis_domain::push::Outcome::Denied(_) => {
                return Err(refused(uid, PasswordRefusal::PushDenied))
            }
            portcullis_domain::push::Outcome::Approved => {}
        }
        if used || !self.use_approval(id).await.map_err(|e| (uid, e.into()))? {
            return Err(refused(uid, PasswordRefusal::SecondStepExpired));
        }
        let mut c = self.store().conn().await.map_err(|e| (uid, e.into()))?;
        // The phone removed or the policy changed since: the approval opens nothing.
        if !self
            .has_usable_push(&mut c, p.user_id)
            .await
            .map_err(|e| (uid, e.into()))?
        {
            return Err(refused(uid, PasswordRefusal::SecondStepExpired));
        }
        let user = directory::user_by_id(&mut c, p.user_id)
            .await
            .map_err(|e| (uid, e.into()))?
            .filter(|u| u.account_enabled)
            .ok_or_else(|| refused(uid, PasswordRefusal::AccountDisabled))?;
        drop(c);
        self.finish(
            &user,
            &[AuthMethod::Password, AuthMethod::AuthenticatorPush],
            ctx,
            now,
        )
        .await
        .map(PushProgress::Done)
        .map_err(|e| (uid, e))
    }
}
