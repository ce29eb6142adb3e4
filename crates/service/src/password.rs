//! The password as a method (issue 17): set by an administrator or changed by its user
//! (Argon2id, checked for length and guessability), and username-first sign-in with the
//! password, then the authenticator app's code when the user has one. Wrong passwords and
//! wrong codes count towards the same lock-out as Temporary Access Passes (R13).

use portcullis_domain::actor::Actor;
use portcullis_domain::audit::Operation;
use portcullis_domain::directory::{Upn, User};
use portcullis_domain::lockout::{assess, Gate};
use portcullis_domain::oath::OathRefusal;
use portcullis_domain::password::{self, NewPasswordRefusal, PasswordRefusal, MAX_CHARS};
use portcullis_domain::session::{AuthMethod, Session};
use portcullis_domain::time_fmt::{from_millis, to_millis};
use portcullis_domain::Timestamp;
use portcullis_store::signins::SignInEvent;
use portcullis_store::{audit, commit, directory, lockout, passwords, sessions, signins};
use serde::{Deserialize, Serialize};
use serde_json::json;
use time::Duration;
use uuid::Uuid;

use crate::directory::{managed_user, security_info_record};
use crate::oath::OathError;
use crate::passkeys::self_actor;
use crate::sealed;
use crate::secrets::{new_token, token_key};
use crate::tap::{SignedIn, MAX_SESSION};
use crate::{RequestContext, Result, Service, ServiceError};

/// How long the second step may come after the password.
pub const SECOND_STEP_LIFETIME: Duration = Duration::minutes(5);

const SECOND_STEP: &[u8] = b"portcullis password second step v1|";
/// A different purpose: a token for the code step never opens as one for the new-password
/// step (which would skip the code).
const NEW_PASSWORD: &[u8] = b"portcullis password must change v1|";
/// The push step's token: never opens as the code step's or the new password's.
const PUSH_STEP: &[u8] = b"portcullis password push step v1|";

/// Where a password sign-in stands after the password.
#[derive(Debug)]
pub enum PasswordStep {
    /// Signed in with the password alone: the user holds no second factor.
    SignedIn(Box<SignedIn>),
    /// The password was right and the user has an authenticator app: its code is next.
    SecondFactor {
        /// Sealed: who, and until when; sent back with the code.
        pending: String,
    },
    /// The password was right and the user has Microsoft Authenticator: a request was sent;
    /// the page shows `number`, which the user types in the app.
    Push {
        /// Sealed: who, the request, until when; sent back to ask whether it was approved.
        pending: String,
        /// The number to show.
        number: u8,
    },
    /// Proven, but an administrator requires a new password first
    /// (`forceChangePasswordNextSignIn`).
    MustChange {
        /// Sealed: who, with which methods, until when; sent back with the new password.
        pending: String,
    },
}

/// Why a password sign-in did not happen.
#[derive(Debug, thiserror::Error)]
pub enum PasswordSignInError {
    /// Refused, with a reason to show.
    #[error("{}", crate::render::password_refusal(.0))]
    Refused(PasswordRefusal),
    /// The new password chosen at sign-in is refused (the step may be tried again).
    #[error("{0}")]
    Weak(#[from] NewPasswordRefusal),
    /// The server failed.
    #[error(transparent)]
    Failed(#[from] ServiceError),
}

impl From<portcullis_store::StoreError> for PasswordSignInError {
    fn from(e: portcullis_store::StoreError) -> Self {
        PasswordSignInError::Failed(e.into())
    }
}

/// Why a new password was not set.
#[derive(Debug, thiserror::Error)]
pub enum SetPasswordError {
    /// The new password is refused.
    #[error("{0}")]
    Weak(#[from] NewPasswordRefusal),
    /// The current password given was wrong.
    #[error("your current password is not correct")]
    WrongCurrent,
    /// Too many wrong current passwords.
    #[error("too many wrong attempts; try again after {}", portcullis_domain::time_fmt::rfc3339(*.until))]
    LockedOut {
        /// When the lock-out ends.
        until: Timestamp,
    },
    /// The server failed, or the actor may not.
    #[error(transparent)]
    Failed(#[from] ServiceError),
}

impl From<portcullis_store::StoreError> for SetPasswordError {
    fn from(e: portcullis_store::StoreError) -> Self {
        SetPasswordError::Failed(e.into())
    }
}

#[derive(Serialize, Deserialize)]
struct Pending {
    #[serde(rename = "u")]
    user_id: Uuid,
    #[serde(rename = "e")]
    expires_ms: i64,
    /// What the user has proven so far.
    #[serde(rename = "m", default)]
    methods: Vec<AuthMethod>,
    /// The Authenticator request the push step waits for.
    #[serde(rename = "a", default, skip_serializing_if = "Option::is_none")]
    approval: Option<Uuid>,
}

/// Where a push step stands.
#[derive(Debug)]
pub enum PushProgress {
    /// Not answered yet.
    Waiting,
    /// Approved: the next step.
    Done(PasswordStep),
}

type Refused = (Option<Uuid>, PasswordSignInError);

fn refused(uid: Option<Uuid>, r: PasswordRefusal) -> Refused {
    (uid, PasswordSignInError::Refused(r))
}

impl Service {
    /// An administrator sets a user's password (Graph `passwordProfile`); audited.
    /// `must_change` is kept as Graph's `forceChangePasswordNextSignIn`.
    pub async fn set_password(
        &self,
        actor: &Actor,
        user: &str,
        new: &str,
        must_change: bool,
    ) -> std::result::Result<User, SetPasswordError> {
        let mut c = self.store().conn().await?;
        let target = managed_user(&mut c, actor, user).await?;
        drop(c);
        self.store_password(
            actor,
            &target,
            new,
            must_change,
            "Reset user password",
            None,
        )
        .await?;
        Ok(target)
    }

    /// A user changes their own password, giving the current one; audited.
    /// The user's other sessions end (and the grants made from them); `session` stays.
    /// A wrong current password counts towards the lock-out, as at sign-in (R13).
    pub async fn change_own_password(
        &self,
        user: &User,
        session: &Session,
        current: &str,
        new: &str,
        ctx: &RequestContext,
    ) -> std::result::Result<(), SetPasswordError> {
        let now = self.now();
        let mut c = self.store().conn().await?;
        if let Gate::Locked { until, .. } = self.gate(&mut c, Some(user.id), ctx, now).await? {
            return Err(SetPasswordError::LockedOut { until });
        }
        let stored = passwords::for_user(&mut c, user.id).await?;
        drop(c);
        let ok = match &stored {
            Some(p) if !current.is_empty() && current.chars().count() <= MAX_CHARS => {
                self.secrets.verify(current, &p.hash).await?
            }
            // A user without a password sets their first one (they signed in another way).
            None => true,
            Some(_) => false,
        };
        if !ok {
            let mut c = self.store().conn().await?;
            lockout::record_failure(&mut c, Some(user.id), &ctx.source_key(), now).await?;
            return Err(SetPasswordError::WrongCurrent);
        }
        self.store_password(
            &self_actor(user),
            user,
            new,
            false,
            "Change user password",
            Some(session.id),
        )
        .await
    }

    async fn store_password(
        &self,
        actor: &Actor,
        user: &User,
        new: &str,
        must_change: bool,
        activity: &'static str,
        keep: Option<Uuid>,
    ) -> std::result::Result<(), SetPasswordError> {
        let hash = self
            .hash_new_password(user.user_principal_name.as_str(), &user.display_name, new)
            .await?;
        let now = self.now();
        let mut tx = self.store().begin().await?;
        record_password(&mut tx, actor, user, &hash, must_change, activity, now).await?;
        crate::sessions::end_user_sessions(&mut tx, user.id, keep, "its password changed", now)
            .await?;
        commit(tx).await?;
        Ok(())
    }

    /// `POST users` with a `passwordProfile`: the user and their password in one
    /// transaction, the password checked before anything is written.
    pub async fn add_user_with_password(
        &self,
        actor: &Actor,
        upn: &str,
        display_name: &str,
        new: &str,
        must_change: bool,
    ) -> std::result::Result<User, SetPasswordError> {
        let hash = self.hash_new_password(upn, display_name, new).await?;
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let user = self.insert_user(&mut tx, actor, upn, display_name).await?;
        record_password(
            &mut tx,
            actor,
            &user,
            &hash,
            must_change,
            "Reset user password",
            now,
        )
        .await?;
        commit(tx).await?;
        Ok(user)
    }

    /// Checks a new password against the rules and the user's own names and the
    /// organisation's, and hashes it.
    async fn hash_new_password(
        &self,
        upn: &str,
        display_name: &str,
        new: &str,
    ) -> std::result::Result<String, SetPasswordError> {
        let local = upn.split('@').next().unwrap_or(upn);
        let mut c = self.store().conn().await?;
        let org = portcullis_store::tenant::get(&mut c)
            .await?
            .map(|t| t.display_name)
            .unwrap_or_default();
        drop(c);
        let mut inputs: Vec<&str> = vec![upn, local, org.as_str()];
        inputs.extend(display_name.split_whitespace());
        password::check_new(new, &inputs)?;
        Ok(self.secrets.hash(new).await?)
    }

    /// When an administrator's view of a user's password was last set, if they have one
    /// (Graph `passwordMethods`).
    pub async fn password_for(&self, actor: &Actor, user: &str) -> Result<Option<Timestamp>> {
        let mut c = self.store().conn().await?;
        let target = crate::directory::viewable_user(&mut c, actor, user).await?;
        Ok(passwords::for_user(&mut c, target.id)
            .await?
            .map(|p| p.changed_at))
    }

    /// Whether the user has a password.
    pub async fn has_password(&self, user: Uuid) -> Result<bool> {
        let mut c = self.store().conn().await?;
        Ok(passwords::for_user(&mut c, user).await?.is_some())
    }

    /// The first step of a password sign-in. Every refusal lands in the sign-in log.
    pub async fn sign_in_with_password(
        &self,
        username: &str,
        given: &str,
        ctx: &RequestContext,
    ) -> std::result::Result<PasswordStep, PasswordSignInError> {
        let now = self.now();
        let typed: String = username.trim().chars().take(200).collect();
        let shown: String = typed.chars().filter(|c| !c.is_control()).collect();
        match self.try_password(&typed, given, ctx, now).await {
            Ok(step) => Ok(step),
            Err((uid, e)) => Err(self.log_refusal(uid, &shown, ctx, now, e).await),
        }
    }

    async fn try_password(
        &self,
        typed: &str,
        given: &str,
        ctx: &RequestContext,
        now: Timestamp,
    ) -> std::result::Result<PasswordStep, Refused> {
        let db = |uid: Option<Uuid>| move |e: portcullis_store::StoreError| (uid, e.into());
        let mut c = self.store().conn().await.map_err(db(None))?;
        if let Gate::Locked { until, .. } =
            self.gate(&mut c, None, ctx, now).await.map_err(db(None))?
        {
            return Err(refused(None, PasswordRefusal::LockedOut { until }));
        }
        let Ok(upn) = Upn::parse(typed) else {
            return Err(refused(None, PasswordRefusal::MalformedUsername));
        };
        let user = directory::user_by_upn(&mut c, &upn)
            .await
            .map_err(db(None))?;
        let uid = user.as_ref().map(|u| u.id);
        let key = uid.unwrap_or_else(|| crate::tap::unknown_name_key(&upn));
        if let Gate::Locked { until, .. } = self
            .gate(&mut c, Some(key), ctx, now)
            .await
            .map_err(db(uid))?
        {
            return Err(refused(uid, PasswordRefusal::LockedOut { until }));
        }
        let stored = passwords::for_user(&mut c, key).await.map_err(db(uid))?;
        drop(c);
        // Always one Argon2 verification, against the password's hash or a decoy's, so that
        // neither the answer nor its time tells who has an account or a password.
        let hash = match &stored {
            Some(p) => p.hash.clone(),
            None => self.decoy_hash().await.map_err(|e| (uid, e.into()))?,
        };
        let ok = !given.is_empty()
            && given.chars().count() <= MAX_CHARS
            && self
                .secrets
                .verify(given, &hash)
                .await
                .map_err(|e| (uid, e.into()))?;
        let user = match (user, stored.is_some(), ok) {
            (Some(u), true, true) => u,
            (u, has, _) => {
                let why = match (u.is_some(), has) {
                    (false, _) => PasswordRefusal::UnknownUser,
                    (true, false) => PasswordRefusal::NoPassword,
                    (true, true) => PasswordRefusal::WrongPassword,
                };
                return Err((uid, self.wrong_attempt(key, why, ctx, now).await));
            }
        };
        if !user.account_enabled {
            return Err(refused(uid, PasswordRefusal::AccountDisabled));
        }
        let mut c = self.store().conn().await.map_err(db(uid))?;
        let has_push = self
            .has_usable_push(&mut c, user.id)
            .await
            .map_err(|e| (uid, e.into()))?;
        let has_app = self
            .has_usable_oath(&mut c, user.id)
            .await
            .map_err(|e| (uid, e.into()))?;
        let holds_more = crate::oath::holds_mfa_method(&mut c, user.id)
            .await
            .map_err(|e| (uid, e.into()))?;
        drop(c);
        if !has_app && !has_push && holds_more {
            return Err(refused(uid, PasswordRefusal::SecondFactorRequired));
        }
        // The Authenticator's push comes first when the user has it, as Entra's default
        // sign-in method would; the app's code otherwise.
        if has_push {
            let a = self
                .start_push(user.id, None, ctx, now)
                .await
                .map_err(|e| (uid, e.into()))?;
            let pending = self
                .seal_pending_for(PUSH_STEP, user.id, &[AuthMethod::Password], Some(a.id), now)
                .await
                .map_err(|e| (uid, e.into()))?;
            return Ok(PasswordStep::Push {
                pending,
                number: a.number,
            });
        }
        if has_app {
            let pending = self
                .seal_pending(SECOND_STEP, user.id, &[AuthMethod::Password], now)
                .await
                .map_err(|e| (uid, e.into()))?;
            return Ok(PasswordStep::SecondFactor { pending });
        }
        self.finish(&user, &[AuthMethod::Password], ctx, now)
            .await
            .map_err(|e| (uid, e))
    }

    async fn seal_pending(
        &self,
        purpose: &[u8],
        user: Uuid,
        methods: &[AuthMethod],
        now: Timestamp,
    ) -> Result<String> {
        self.seal_pending_for(purpose, user, methods, None, now)
            .await
    }

    async fn seal_pending_for(
        &self,
        purpose: &[u8],
        user: Uuid,
        methods: &[AuthMethod],
        approval: Option<Uuid>,
        now: Timestamp,
    ) -> Result<String> {
        let plain = serde_json::to_vec(&Pending {
            user_id: user,
            expires_ms: to_millis(now + SECOND_STEP_LIFETIME),
            methods: methods.to_vec(),
            approval,
        })
        .map_err(|e| ServiceError::Internal(format!("pending: {e}")))?;
        sealed::seal(self.oath_key_pub().await?, purpose, Uuid::new_v4(), plain)
    }

    /// The pending sign-in a token holds, if it opens for `purpose` and has not expired.
    async fn open_pending(
        &self,
        purpose: &[u8],
        token: &str,
        now: Timestamp,
    ) -> std::result::Result<Pending, Refused> {
        let key = self.oath_key_pub().await.map_err(|e| (None, e.into()))?;
        let p: Pending = sealed::open(key, purpose, token)
            .ok()
            .and_then(|(_, plain)| serde_json::from_slice(&plain).ok())
            .ok_or_else(|| refused(None, PasswordRefusal::SecondStepExpired))?;
        if now >= from_millis(p.expires_ms) {
            return Err(refused(Some(p.user_id), PasswordRefusal::SecondStepExpired));
        }
        Ok(p)
    }

    /// Every factor proven: a session — unless the administrator requires a new password
    /// first, which [`Service::sign_in_with_new_password`] then takes.
    async fn finish(
        &self,
        user: &User,
        methods: &[AuthMethod],
        ctx: &RequestContext,
        now: Timestamp,
    ) -> std::result::Result<PasswordStep, PasswordSignInError> {
        let mut c = self.store().conn().await?;
        let must_change = passwords::for_user(&mut c, user.id)
            .await?
            .is_some_and(|p| p.must_change);
        drop(c);
        if must_change {
            let pending = self
                .seal_pending(NEW_PASSWORD, user.id, methods, now)
                .await?;
            return Ok(PasswordStep::MustChange { pending });
        }
        let s = self.open_password_session(user, methods, ctx, now).await?;
        Ok(PasswordStep::SignedIn(Box::new(s)))
    }

    /// The step an administrator's `forceChangePasswordNextSignIn` adds: a new password,
    /// then the session the factors already proven open.
    pub async fn sign_in_with_new_password(
        &self,
        pending: &str,
        new: &str,
        ctx: &RequestContext,
    ) -> std::result::Result<SignedIn, PasswordSignInError> {
        let now = self.now();
        let p = match self.open_pending(NEW_PASSWORD, pending, now).await {
            Ok(p) => p,
            Err((uid, e)) => return Err(self.log_refusal(uid, "", ctx, now, e).await),
        };
        let mut c = self.store().conn().await?;
        let user = directory::user_by_id(&mut c, p.user_id)
            .await?
            .filter(|u| u.account_enabled)
            .ok_or(PasswordSignInError::Refused(
                PasswordRefusal::AccountDisabled,
            ))?;
        drop(c);
        let hash = match self
            .hash_new_password(user.user_principal_name.as_str(), &user.display_name, new)
            .await
        {
            Ok(h) => h,
            Err(SetPasswordError::Weak(w)) => return Err(w.into()),
            Err(SetPasswordError::Failed(e)) => return Err(e.into()),
            // Checking a new password neither compares a current one nor locks anyone out.
            Err(SetPasswordError::WrongCurrent | SetPasswordError::LockedOut { .. }) => {
                return Err(PasswordSignInError::Refused(
                    PasswordRefusal::SecondStepExpired,
                ))
            }
        };
        let mut tx = self.store().begin().await?;
        // Once: a second use of the step (a copied page, a second tab) finds the change done.
        if !passwords::replace_required(&mut tx, user.id, &hash, now).await? {
            return Err(PasswordSignInError::Refused(
                PasswordRefusal::SecondStepExpired,
            ));
        }
        audit::append(
            &mut tx,
            &password_audit(&self_actor(&user), &user, false, "Change user password"),
            now,
        )
        .await?;
        crate::sessions::end_user_sessions(&mut tx, user.id, None, "its password changed", now)
            .await?;
        commit(tx).await?;
        self.open_password_session(&user, &p.methods, ctx, now)
            .await
    }

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

    /// The second step: the authenticator app's code.
    pub async fn sign_in_with_code(
        &self,
        pending: &str,
        code: &str,
        ctx: &RequestContext,
    ) -> std::result::Result<PasswordStep, PasswordSignInError> {
        let now = self.now();
        match self.try_code(pending, code, ctx, now).await {
            Ok(s) => Ok(s),
            Err((uid, e)) => {
                let upn = match uid {
                    Some(id) => self.user_upn(id).await.unwrap_or_default(),
                    None => String::new(),
                };
                Err(self.log_refusal(uid, &upn, ctx, now, e).await)
            }
        }
    }

    async fn try_code(
        &self,
        pending: &str,
        code: &str,
        ctx: &RequestContext,
        now: Timestamp,
    ) -> std::result::Result<PasswordStep, Refused> {
        let p = self.open_pending(SECOND_STEP, pending, now).await?;
        let uid = Some(p.user_id);
        let db = move |e: portcullis_store::StoreError| (uid, e.into());
        let mut c = self.store().conn().await.map_err(db)?;
        if let Gate::Locked { until, .. } = self.gate(&mut c, uid, ctx, now).await.map_err(db)? {
            return Err(refused(uid, PasswordRefusal::LockedOut { until }));
        }
        let user = directory::user_by_id(&mut c, p.user_id)
            .await
            .map_err(db)?
            .filter(|u| u.account_enabled)
            .ok_or_else(|| refused(uid, PasswordRefusal::AccountDisabled))?;
        // The attempt is counted before the code is checked: a burst of guesses sent at once
        // all pass the gate above, but only as many as the lock-out allows get a check.
        lockout::record_failure(&mut c, Some(user.id), &ctx.source_key(), now)
            .await
            .map_err(db)?;
        let since = now - self.lockout.window();
        let limit = i64::from(self.lockout.max_failures_per_user).saturating_add(1);
        let tries = lockout::user_failures(&mut c, user.id, since, limit)
            .await
            .map_err(db)?;
        if tries.len() > self.lockout.max_failures_per_user as usize {
            return Err((
                uid,
                self.refusal_or_lockout(user.id, PasswordRefusal::WrongCode, ctx, now)
                    .await,
            ));
        }
        drop(c);
        let why = match self.take_oath_code(user.id, code, now).await {
            Ok(true) => None,
            // The app was removed or the policy changed since the password step.
            Ok(false) => Some(PasswordRefusal::SecondStepExpired),
            Err(OathError::Code(OathRefusal::AlreadyUsed)) => {
                Some(PasswordRefusal::CodeAlreadyUsed)
            }
            Err(OathError::Code(_)) => Some(PasswordRefusal::WrongCode),
            Err(OathError::Failed(e)) => return Err((uid, e.into())),
            Err(e) => return Err((uid, ServiceError::Internal(e.to_string()).into())),
        };
        // A checked code is answered for what it was; a lock-out it completed is said by the
        // next attempt (which the reservation above refuses before any check).
        if let Some(why) = why {
            return Err(refused(uid, why));
        }
        let mut c = self.store().conn().await.map_err(db)?;
        lockout::clear_user(&mut c, user.id).await.map_err(db)?;
        drop(c);
        self.finish(
            &user,
            &[AuthMethod::Password, AuthMethod::SoftwareOath],
            ctx,
            now,
        )
        .await
        .map_err(|e| (uid, e))
    }

    async fn user_upn(&self, id: Uuid) -> Result<String> {
        let mut c = self.store().conn().await?;
        Ok(directory::user_by_id(&mut c, id)
            .await?
            .map(|u| u.user_principal_name.to_string())
            .unwrap_or_default())
    }

    /// The lock-out gate for the source, and for `key` when given (R13).
    async fn gate(
        &self,
        c: &mut portcullis_store::Conn,
        key: Option<Uuid>,
        ctx: &RequestContext,
        now: Timestamp,
    ) -> portcullis_store::Result<Gate> {
        let since = now - self.lockout.window();
        let limit = i64::from(
            self.lockout
                .max_failures_per_user
                .max(self.lockout.max_failures_per_source),
        );
        let sf = lockout::source_failures(c, &ctx.source_key(), since, limit).await?;
        let uf = match key {
            Some(k) => lockout::user_failures(c, k, since, limit).await?,
            None => vec![],
        };
        Ok(assess(&self.lockout, &uf, &sf, now))
    }

    /// Records a wrong password or code against `key` and the source; refuses with `why`,
    /// or with the lock-out it completes.
    async fn wrong_attempt(
        &self,
        key: Uuid,
        why: PasswordRefusal,
        ctx: &RequestContext,
        now: Timestamp,
    ) -> PasswordSignInError {
        let run = async {
            let mut c = self.store().conn().await?;
            lockout::record_failure(&mut c, Some(key), &ctx.source_key(), now).await?;
            self.gate(&mut c, Some(key), ctx, now).await
        };
        match run.await {
            Ok(Gate::Locked { until, .. }) => {
                PasswordSignInError::Refused(PasswordRefusal::LockedOut { until })
            }
            Ok(Gate::Open) => PasswordSignInError::Refused(why),
            Err(e) => e.into(),
        }
    }

    /// `why`, or the lock-out the attempts already counted complete.
    async fn refusal_or_lockout(
        &self,
        key: Uuid,
        why: PasswordRefusal,
        ctx: &RequestContext,
        now: Timestamp,
    ) -> PasswordSignInError {
        let run = async {
            let mut c = self.store().conn().await?;
            self.gate(&mut c, Some(key), ctx, now).await
        };
        match run.await {
            Ok(Gate::Locked { until, .. }) => {
                PasswordSignInError::Refused(PasswordRefusal::LockedOut { until })
            }
            Ok(Gate::Open) => PasswordSignInError::Refused(why),
            Err(e) => e.into(),
        }
    }

    async fn log_refusal(
        &self,
        uid: Option<Uuid>,
        shown: &str,
        ctx: &RequestContext,
        now: Timestamp,
        e: PasswordSignInError,
    ) -> PasswordSignInError {
        let PasswordSignInError::Refused(r) = &e else {
            return e;
        };
        tracing::info!(user = %shown, source = %ctx.source_text(), code = r.code(), "password sign-in refused");
        let logged = async {
            let mut c = self.store().conn().await?;
            // A refused code names the factor it was for.
            let methods: &[AuthMethod] = match r {
                PasswordRefusal::WrongCode | PasswordRefusal::CodeAlreadyUsed => {
                    &[AuthMethod::Password, AuthMethod::SoftwareOath]
                }
                PasswordRefusal::PushDenied
                | PasswordRefusal::PushWrongNumber
                | PasswordRefusal::PushTimedOut => {
                    &[AuthMethod::Password, AuthMethod::AuthenticatorPush]
                }
                _ => &[AuthMethod::Password],
            };
            signins::append(&mut c, &event(now, uid, shown, ctx, Some(r), methods)).await
        };
        match logged.await {
            Ok(()) => e,
            Err(err) => err.into(),
        }
    }

    async fn open_password_session(
        &self,
        user: &User,
        methods: &[AuthMethod],
        ctx: &RequestContext,
        now: Timestamp,
    ) -> std::result::Result<SignedIn, PasswordSignInError> {
        let mut session = Session {
            id: Uuid::new_v4(),
            user_id: user.id,
            auth_time: now,
            methods: methods.to_vec(),
            expires_at: now + MAX_SESSION,
            passkey_aaguid: None,
            passkey_attested: false,
            credential_id: None,
            campaign_pending: false,
        };
        // R55, as for a pass: the registration campaign interrupts an MFA sign-in (a password
        // alone could not register a passkey there, R14), unless Conditional Access keeps
        // this sign-in out of Security info — that would be a loop.
        let campaign = crate::campaign::read(self).await?;
        let may_interrupt = campaign.is_running()
            && portcullis_domain::session::is_mfa(methods)
            && self
                .registration_decision(user, &session, ctx)
                .await
                .is_ok_and(|(d, _, _)| crate::render::registration_refusal(&d.verdict).is_none());
        let token = new_token();
        let mut tx = self.store().begin().await?;
        session.campaign_pending =
            may_interrupt && crate::campaign::at_sign_in(&mut tx, &campaign, user.id, now).await?;
        sessions::insert(&mut tx, &token_key(&token), &session, now).await?;
        lockout::clear_user(&mut tx, user.id).await?;
        signins::append(
            &mut tx,
            &event(
                now,
                Some(user.id),
                user.user_principal_name.as_str(),
                ctx,
                None,
                methods,
            ),
        )
        .await?;
        commit(tx).await?;
        tracing::info!(user = %user.user_principal_name, source = %ctx.source_text(), methods = ?methods, "signed in with a password");
        Ok(SignedIn {
            token,
            session,
            user: user.clone(),
        })
    }
}

/// Stores a password's hash with its audit record, in the caller's transaction.
async fn record_password(
    tx: &mut portcullis_store::Conn,
    actor: &Actor,
    user: &User,
    hash: &str,
    must_change: bool,
    activity: &'static str,
    now: Timestamp,
) -> portcullis_store::Result<()> {
    passwords::set(tx, user.id, hash, must_change, now).await?;
    audit::append(tx, &password_audit(actor, user, must_change, activity), now).await?;
    Ok(())
}

fn password_audit(
    actor: &Actor,
    user: &User,
    must_change: bool,
    activity: &'static str,
) -> portcullis_domain::audit::AuditRecord {
    security_info_record(
        activity,
        Operation::Update,
        actor,
        user,
        None,
        Some(json!({"method": "password", "forceChangePasswordNextSignIn": must_change})),
        format!("{activity} (the password itself is never recorded)"),
    )
}

fn event(
    now: Timestamp,
    user_id: Option<Uuid>,
    upn: &str,
    ctx: &RequestContext,
    refusal: Option<&PasswordRefusal>,
    methods: &[AuthMethod],
) -> SignInEvent {
    ctx.sign_in_event(
        now,
        user_id,
        upn,
        &portcullis_domain::session::methods_text(methods),
        refusal.map(|r| {
            (
                r.error_number(),
                r.code(),
                crate::render::password_refusal(r),
            )
        }),
    )
}
