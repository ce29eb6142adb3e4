//! A password sign-in, step by step: the password, then the second factor the user holds —
//! the authenticator app's code or a Microsoft Authenticator push (`push_step.rs`) — then the
//! new password an administrator requires, then the session. Every step's token is sealed
//! under a purpose of its own, so no step can be skipped with another's.

use portcullis_domain::directory::{Upn, User};
use portcullis_domain::lockout::{assess, Gate};
use portcullis_domain::oath::OathRefusal;
use portcullis_domain::password::{PasswordRefusal, MAX_CHARS};
use portcullis_domain::session::{AuthMethod, Session};
use portcullis_domain::time_fmt::{from_millis, to_millis};
use portcullis_domain::Timestamp;
use portcullis_store::signins::SignInEvent;
use portcullis_store::{audit, commit, directory, lockout, passwords, sessions, signins};
use uuid::Uuid;

use super::{
    password_audit, refused, PasswordSignInError, PasswordStep, Pending, Refused, SetPasswordError,
    NEW_PASSWORD, PUSH_STEP, SECOND_STEP, SECOND_STEP_LIFETIME,
};
use crate::oath::OathError;
use crate::passkeys::self_actor;
use crate::sealed;
use crate::secrets::{new_token, token_key};
use crate::tap::{SignedIn, MAX_SESSION};
use crate::{RequestContext, Result, Service, ServiceError};

impl Service {
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
        // Asked only where it decides: a user with a second step takes it.
        let holds_more = !has_app
            && !has_push
            && crate::oath::holds_mfa_method(&mut c, user.id, now)
                .await
                .map_err(|e| (uid, e.into()))?;
        drop(c);
        if holds_more {
            return Err(refused(uid, PasswordRefusal::SecondFactorRequired));
        }
        // The Authenticator's push comes first when the user has it, as Entra's default
        // sign-in method would; the app's code otherwise.
        let sent = if has_push {
            Some(
                self.start_push(user.id, None, ctx, now)
                    .await
                    .map_err(|e| (uid, e.into()))?,
            )
        } else {
            None
        };
        // A phone that has had its fill of requests gets none; the app's code is asked for
        // instead where the user has one.
        if let (Some(Err(until)), false) = (&sent, has_app) {
            return Err(refused(
                uid,
                PasswordRefusal::PushThrottled { until: *until },
            ));
        }
        if let Some(Ok(a)) = sent {
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
    pub(super) async fn open_pending(
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
    pub(super) async fn finish(
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
        // A password alone proven before the user added a stronger method opens nothing now
        // (nor changes the password): see `open_password_session`.
        if password_only(&p.methods) && crate::oath::holds_mfa_method(&mut c, user.id, now).await? {
            drop(c);
            let e = PasswordSignInError::Refused(PasswordRefusal::SecondFactorRequired);
            return Err(self.log_refusal(Some(user.id), "", ctx, now, e).await);
        }
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
                self.refusal_or_lockout(&mut c, user.id, PasswordRefusal::WrongCode, ctx, now)
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

    pub(super) async fn user_upn(&self, id: Uuid) -> Result<String> {
        let mut c = self.store().conn().await?;
        Ok(directory::user_by_id(&mut c, id)
            .await?
            .map(|u| u.user_principal_name.to_string())
            .unwrap_or_default())
    }

    /// The lock-out gate for the source, and for `key` when given (R13).
    pub(super) async fn gate(
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
    ///
    /// On the caller's connection: one taken here while the caller held its own deadlocked
    /// the pool (two on SQLite) when two guesses of a burst reached this point together —
    /// each held one and waited for the other's, and every request waited with them.
    async fn refusal_or_lockout(
        &self,
        c: &mut portcullis_store::Conn,
        key: Uuid,
        why: PasswordRefusal,
        ctx: &RequestContext,
        now: Timestamp,
    ) -> PasswordSignInError {
        match self.gate(c, Some(key), ctx, now).await {
            Ok(Gate::Locked { until, .. }) => {
                PasswordSignInError::Refused(PasswordRefusal::LockedOut { until })
            }
            Ok(Gate::Open) => PasswordSignInError::Refused(why),
            Err(e) => e.into(),
        }
    }

    pub(super) async fn log_refusal(
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
        // Asked again in the session's own transaction: a stronger method added since the
        // password was checked (or during a required password change) ended the password-only
        // sessions, and one opened after that sweep must not survive it.
        if password_only(methods) && crate::oath::holds_mfa_method(&mut tx, user.id, now).await? {
            return Err(PasswordSignInError::Refused(
                PasswordRefusal::SecondFactorRequired,
            ));
        }
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

/// Whether a sign-in proved the password and nothing else.
fn password_only(methods: &[AuthMethod]) -> bool {
    methods == [AuthMethod::Password]
}
