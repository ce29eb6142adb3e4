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
}

/// Why a password sign-in did not happen.
#[derive(Debug, thiserror::Error)]
pub enum PasswordSignInError {
    /// Refused, with a reason to show.
    #[error("{}", crate::render::password_refusal(.0))]
    Refused(PasswordRefusal),
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
        self.store_password(actor, &target, new, must_change, "Reset user password")
            .await?;
        Ok(target)
    }

    /// A user changes their own password, giving the current one; audited.
    pub async fn change_own_password(
        &self,
        user: &User,
        current: &str,
        new: &str,
    ) -> std::result::Result<(), SetPasswordError> {
        let mut c = self.store().conn().await?;
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
            return Err(SetPasswordError::WrongCurrent);
        }
        self.store_password(&self_actor(user), user, new, false, "Change user password")
            .await
    }

    async fn store_password(
        &self,
        actor: &Actor,
        user: &User,
        new: &str,
        must_change: bool,
        activity: &'static str,
    ) -> std::result::Result<(), SetPasswordError> {
        let upn = user.user_principal_name.as_str();
        let local = upn.split('@').next().unwrap_or(upn);
        let mut c = self.store().conn().await?;
        let org = portcullis_store::tenant::get(&mut c)
            .await?
            .map(|t| t.display_name)
            .unwrap_or_default();
        drop(c);
        let mut inputs: Vec<&str> = vec![upn, local, org.as_str()];
        inputs.extend(user.display_name.split_whitespace());
        password::check_new(new, &inputs)?;
        let hash = self.secrets.hash(new).await?;
        let now = self.now();
        let mut tx = self.store().begin().await?;
        passwords::set(&mut tx, user.id, &hash, must_change, now).await?;
        let rec = security_info_record(
            activity,
            Operation::Update,
            actor,
            user,
            None,
            Some(json!({"method": "password", "forceChangePasswordNextSignIn": must_change})),
            format!("{activity} (the password itself is never recorded)"),
        );
        audit::append(&mut tx, &rec, now).await?;
        commit(tx).await?;
        Ok(())
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
        let has_app = self
            .has_usable_oath(&mut c, user.id)
            .await
            .map_err(|e| (uid, e.into()))?;
        drop(c);
        if has_app {
            let plain = serde_json::to_vec(&Pending {
                user_id: user.id,
                expires_ms: to_millis(now + SECOND_STEP_LIFETIME),
            })
            .map_err(|e| (uid, ServiceError::Internal(format!("pending: {e}")).into()))?;
            let key = self.oath_key_pub().await.map_err(|e| (uid, e.into()))?;
            let pending = sealed::seal(key, SECOND_STEP, Uuid::new_v4(), plain)
                .map_err(|e| (uid, e.into()))?;
            return Ok(PasswordStep::SecondFactor { pending });
        }
        self.open_password_session(&user, &[AuthMethod::Password], ctx, now)
            .await
            .map(|s| PasswordStep::SignedIn(Box::new(s)))
            .map_err(|e| (uid, e))
    }

    /// The second step: the authenticator app's code.
    pub async fn sign_in_with_code(
        &self,
        pending: &str,
        code: &str,
        ctx: &RequestContext,
    ) -> std::result::Result<SignedIn, PasswordSignInError> {
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
    ) -> std::result::Result<SignedIn, Refused> {
        let key = self.oath_key_pub().await.map_err(|e| (None, e.into()))?;
        let p: Pending = sealed::open(key, SECOND_STEP, pending)
            .ok()
            .and_then(|(_, plain)| serde_json::from_slice(&plain).ok())
            .ok_or_else(|| refused(None, PasswordRefusal::SecondStepExpired))?;
        if now >= from_millis(p.expires_ms) {
            return Err(refused(Some(p.user_id), PasswordRefusal::SecondStepExpired));
        }
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
        drop(c);
        match self.take_oath_code(user.id, code, now).await {
            Ok(true) => {}
            // The app was removed or the policy changed since the password step.
            Ok(false) => return Err(refused(uid, PasswordRefusal::SecondStepExpired)),
            Err(OathError::Code(OathRefusal::AlreadyUsed)) => {
                let e = self
                    .wrong_attempt(user.id, PasswordRefusal::CodeAlreadyUsed, ctx, now)
                    .await;
                return Err((uid, e));
            }
            Err(OathError::Code(_)) => {
                let e = self
                    .wrong_attempt(user.id, PasswordRefusal::WrongCode, ctx, now)
                    .await;
                return Err((uid, e));
            }
            Err(OathError::Failed(e)) => return Err((uid, e.into())),
            Err(e) => return Err((uid, ServiceError::Internal(e.to_string()).into())),
        }
        self.open_password_session(
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
            signins::append(&mut c, &event(now, uid, shown, ctx, Some(r))).await
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
        let session = Session {
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
        let token = new_token();
        let mut tx = self.store().begin().await?;
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
) -> SignInEvent {
    ctx.sign_in_event(
        now,
        user_id,
        upn,
        "password",
        refusal.map(|r| {
            (
                r.error_number(),
                r.code(),
                crate::render::password_refusal(r),
            )
        }),
    )
}
