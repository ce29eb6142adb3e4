//! Temporary Access Pass: issuing (R11), and signing in with one (R12, R13).

use portcullis_domain::actor::Actor;
use portcullis_domain::audit::Operation;
use portcullis_domain::directory::{Upn, User};
use portcullis_domain::lockout::{assess, Gate, LockScope};
use portcullis_domain::policy::{targets, MethodConfiguration, MethodId, TapConfiguration};
use portcullis_domain::session::{AuthMethod, Session};
use portcullis_domain::tap::{
    self, IssueRequest, TapRefusal, TemporaryAccessPass, UsabilityReason, MAX_CODE_INPUT,
};
use portcullis_domain::time_fmt::rfc3339;
use portcullis_domain::Timestamp;
use portcullis_store::signins::SignInEvent;
use portcullis_store::{
    audit, commit, directory, lockout, sessions, signins, tap as tap_store, Conn,
};
use serde_json::json;
use time::Duration;
use uuid::Uuid;

use crate::directory::{managed_user, security_info_record};
use crate::policy::current;
use crate::secrets::{new_token, token_key};
use crate::{RequestContext, Result, Service, ServiceError};

/// Longest browser session, even with a pass that lives longer.
pub const MAX_SESSION: Duration = Duration::hours(8);

/// A pass just created: the code is here and nowhere else.
#[derive(Debug, Clone)]
pub struct IssuedPass {
    /// The pass.
    pub pass: TemporaryAccessPass,
    /// The code, to show once.
    pub code: String,
    /// Its owner.
    pub user: User,
}

/// A pass as administrators see it (never the code).
#[derive(Debug, Clone)]
pub struct PassView {
    /// The pass.
    pub pass: TemporaryAccessPass,
    /// Usable now, or why not.
    pub usability: UsabilityReason,
}

/// What the code-free checks found.
struct Precheck {
    /// The key failures are counted under: the account's id, or an unknown name's own.
    key: Uuid,
    user: Option<User>,
    stored: Option<tap_store::StoredPass>,
    cfg: TapConfiguration,
    scope: targets::Scope,
}

/// The key an unknown name's failures are counted under, as an account's are under its id:
/// five wrong attempts lock a name out whether or not it exists.
pub(crate) fn unknown_name_key(upn: &Upn) -> Uuid {
    use sha2::{Digest, Sha256};
    let d = Sha256::digest(format!("portcullis-unknown-name|{upn}").as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(d.get(..16).unwrap_or(&[0; 16]));
    Uuid::from_bytes(b)
}

/// A successful sign-in.
#[derive(Debug, Clone)]
pub struct SignedIn {
    /// Cookie token (only its hash is stored).
    pub token: String,
    /// The session record.
    pub session: Session,
    /// Who signed in.
    pub user: User,
}

/// Why a sign-in did not happen.
#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    /// Refused, with a reason to show.
    #[error("{}", crate::render::tap_refusal(.0))]
    Refused(#[from] TapRefusal),
    /// The server failed.
    #[error(transparent)]
    Failed(#[from] ServiceError),
}

impl From<portcullis_store::StoreError> for SignInError {
    fn from(e: portcullis_store::StoreError) -> Self {
        SignInError::Failed(e.into())
    }
}

pub(crate) fn tap_config(cfg: MethodConfiguration) -> TapConfiguration {
    match cfg {
        MethodConfiguration::TemporaryAccessPass(c) => c,
        // `current` is asked for the TAP id, so this arm cannot be reached; defaults are safe.
        _ => TapConfiguration::default(),
    }
}

fn pass_json(p: &TemporaryAccessPass) -> serde_json::Value {
    json!({
        "id": p.id, "createdDateTime": rfc3339(p.created_at), "startDateTime": rfc3339(p.start_at),
        "lifetimeInMinutes": p.lifetime_minutes, "isUsableOnce": p.is_usable_once,
    })
}

async fn method_allows(c: &mut Conn, cfg: &TapConfiguration, user: Uuid) -> Result<targets::Scope> {
    let member_of = directory::member_of(c, user).await?;
    Ok(targets::scope(
        &cfg.include_targets,
        &cfg.exclude_targets,
        &member_of,
    ))
}

impl Service {
    /// R11: creates a pass for a user, replacing the one they had. The code is returned
    /// once; only its hash is stored. Administrators cannot create one for themselves.
    pub async fn create_tap(
        &self,
        actor: &Actor,
        user: &str,
        req: IssueRequest,
    ) -> Result<IssuedPass> {
        let now = self.now();
        // Plan and hash outside the transaction: hashing is slow and needs no lock.
        let (target, terms) = {
            let mut c = self.store().conn().await?;
            let target = managed_user(&mut c, actor, user).await?;
            let cfg = tap_config(current(&mut c, MethodId::TemporaryAccessPass).await?);
            (target, tap::plan_issue(&cfg, &req, now)?)
        };
        let code = tap::generate_code(terms.code_length, &mut rand::rngs::OsRng);
        let hash = self.secrets.hash(&code).await?;
        let pass = TemporaryAccessPass {
            id: Uuid::new_v4(),
            user_id: target.id,
            created_at: now,
            start_at: terms.start_at,
            lifetime_minutes: terms.lifetime_minutes,
            is_usable_once: terms.is_usable_once,
            consumed_at: None,
        };
        let mut tx = self.store().begin().await?;
        // Checked again here, where it holds: the user may have become an administrator
        // while the code was hashed (and then an Authentication Administrator may not).
        let target = managed_user(&mut tx, actor, &target.id.to_string()).await?;
        let before = tap_store::for_user(&mut tx, target.id).await?;
        if let Some(old) = &before {
            crate::sessions::end_what_it_opened(
                &mut tx,
                old.pass.user_id,
                old.pass.id,
                "its pass was replaced",
                now,
            )
            .await?;
        }
        tap_store::replace(&mut tx, &pass, &hash).await?;
        let rec = security_info_record(
            "Admin registered security info",
            Operation::Add,
            actor,
            &target,
            before.map(|b| pass_json(&b.pass)),
            Some(pass_json(&pass)),
            "Admin registered temporary access pass method for user".into(),
        );
        audit::append(&mut tx, &rec, now).await?;
        commit(tx).await?;
        Ok(IssuedPass {
            pass,
            code,
            user: target,
        })
    }

    /// The user's pass as an administrator sees it.
    pub async fn tap_for(&self, actor: &Actor, user: &str) -> Result<Option<PassView>> {
        let now = self.now();
        let mut c = self.store().conn().await?;
        let target = crate::directory::viewable_user(&mut c, actor, user).await?;
        let Some(stored) = tap_store::for_user(&mut c, target.id).await? else {
            return Ok(None);
        };
        let cfg = tap_config(current(&mut c, MethodId::TemporaryAccessPass).await?);
        let allowed = cfg.state == portcullis_domain::policy::MethodState::Enabled
            && matches!(
                method_allows(&mut c, &cfg, target.id).await?,
                targets::Scope::Included(_)
            );
        Ok(Some(PassView {
            usability: tap::usability(&stored.pass, allowed, now),
            pass: stored.pass,
        }))
    }

    /// Deletes the user's pass.
    pub async fn delete_tap(&self, actor: &Actor, user: &str) -> Result<()> {
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let target = managed_user(&mut tx, actor, user).await?;
        let stored = tap_store::for_user(&mut tx, target.id)
            .await?
            .ok_or_else(|| {
                ServiceError::NotFound(format!(
                    "{} has no Temporary Access Pass",
                    target.user_principal_name
                ))
            })?;
        crate::sessions::revoke_pass(&mut tx, &stored.pass, "its pass was deleted", now).await?;
        let rec = security_info_record(
            "Admin deleted security info",
            Operation::Delete,
            actor,
            &target,
            Some(pass_json(&stored.pass)),
            None,
            "Admin deleted temporary access pass method for user".into(),
        );
        audit::append(&mut tx, &rec, now).await?;
        commit(tx).await?;
        Ok(())
    }

    /// R12/R13: signs a user in with a pass. Every outcome lands in the sign-in log.
    pub async fn sign_in_with_tap(
        &self,
        username: &str,
        code: &str,
        ctx: &RequestContext,
    ) -> Result<SignedIn, SignInError> {
        let now = self.now();
        let typed = username.trim().chars().take(200).collect::<String>();
        match self.try_tap(&typed, code, ctx, now).await {
            Ok(s) => Ok(s),
            Err((uid, SignInError::Refused(r))) => {
                // As typed, for the log — without control characters, which no name has
                // (and PostgreSQL cannot keep NUL).
                let shown: String = typed.chars().filter(|c| !c.is_control()).collect();
                tracing::info!(user = %shown, source = %ctx.source_text(), code = r.code(), "TAP sign-in refused");
                let mut c = self.store().conn().await?;
                signins::append(&mut c, &event(now, uid, &shown, ctx, Some(&r))).await?;
                Err(r.into())
            }
            Err((_, e)) => Err(e),
        }
    }

    /// The checks that need no code: the source and account lock-outs, the account, its pass
    /// and the policy. No connection is held while the code is hashed afterwards, so a
    /// burst of sign-ins cannot starve the pool. An unknown name goes on like a known one —
    /// counted under a key of its own, its "code" checked against a decoy hash — so that
    /// neither the answer nor its time tells who has an account.
    async fn tap_precheck(
        &self,
        typed: &str,
        ctx: &RequestContext,
        now: Timestamp,
    ) -> Result<Precheck, (Option<Uuid>, SignInError)> {
        let db =
            |uid: Option<Uuid>| move |e: portcullis_store::StoreError| (uid, SignInError::from(e));
        let refuse = |uid: Option<Uuid>, r: TapRefusal| Err((uid, SignInError::Refused(r)));
        let mut c = self.store().conn().await.map_err(db(None))?;
        let since = now - self.lockout.window();
        let limit = i64::from(
            self.lockout
                .max_failures_per_user
                .max(self.lockout.max_failures_per_source),
        );
        let source_failures = lockout::source_failures(&mut c, &ctx.source_key(), since, limit)
            .await
            .map_err(db(None))?;
        if let Gate::Locked { until, .. } = assess(&self.lockout, &[], &source_failures, now) {
            return refuse(None, TapRefusal::LockedOut { until });
        }
        let Ok(upn) = Upn::parse(typed) else {
            return refuse(None, TapRefusal::MalformedUsername);
        };
        let user = directory::user_by_upn(&mut c, &upn)
            .await
            .map_err(db(None))?;
        let uid = user.as_ref().map(|u| u.id);
        let key = uid.unwrap_or_else(|| unknown_name_key(&upn));
        let user_failures = lockout::user_failures(&mut c, key, since, limit)
            .await
            .map_err(db(uid))?;
        if let Gate::Locked { until, .. } =
            assess(&self.lockout, &user_failures, &source_failures, now)
        {
            return refuse(uid, TapRefusal::LockedOut { until });
        }
        // The same reads for an unknown name (under its own key, which names nobody), so
        // that their time does not tell it apart either.
        let probe = uid.unwrap_or(key);
        let stored = tap_store::for_user(&mut c, probe).await.map_err(db(uid))?;
        let cfg = tap_config(
            current(&mut c, MethodId::TemporaryAccessPass)
                .await
                .map_err(|e| (uid, e.into()))?,
        );
        let scope = method_allows(&mut c, &cfg, probe)
            .await
            .map_err(|e| (uid, e.into()))?;
        Ok(Precheck {
            key,
            stored: stored.filter(|_| user.is_some()),
            user,
            cfg,
            scope,
        })
    }

    async fn try_tap(
        &self,
        typed: &str,
        code: &str,
        ctx: &RequestContext,
        now: Timestamp,
    ) -> Result<SignedIn, (Option<Uuid>, SignInError)> {
        let Precheck {
            key,
            user,
            stored,
            cfg,
            scope,
        } = self.tap_precheck(typed, ctx, now).await?;
        let uid = user.as_ref().map(|u| u.id);
        // Always one Argon2 verification, against the pass's hash or a decoy's; empty or
        // overlong input is wrong without hashing (bounding the work an attacker can cause).
        let code = code.trim();
        let hash = match &stored {
            Some(s) => s.code_hash.clone(),
            None => self.decoy_hash().await.map_err(|e| (uid, e.into()))?,
        };
        let code_ok = !code.is_empty()
            && code.len() <= MAX_CODE_INPUT
            && self
                .secrets
                .verify(code, &hash)
                .await
                .map_err(|e| (uid, e.into()))?;
        let (Some(user), Some(stored)) = (user, stored) else {
            let why = if uid.is_some() {
                TapRefusal::NoPass
            } else {
                TapRefusal::UnknownUser
            };
            return Err((uid, self.wrong_code(key, why, ctx, now).await));
        };
        if !code_ok {
            return Err((
                uid,
                self.wrong_code(key, TapRefusal::WrongCode, ctx, now).await,
            ));
        }
        // Only someone holding the account's pass learns that the account is disabled.
        if !user.account_enabled {
            return Err((uid, TapRefusal::AccountDisabled.into()));
        }
        if let Err(r) = tap::decide_redeem(&stored.pass, code_ok, &cfg, &scope, now) {
            return Err((uid, r.into()));
        }
        self.open_session(&user, &stored.pass, ctx, now)
            .await
            .map_err(|e| (uid, e))
    }

    /// An Argon2id hash of nothing anyone holds, made once: what a name without a pass is
    /// checked against, so that it costs the same time as a wrong code.
    pub(crate) async fn decoy_hash(&self) -> Result<String> {
        static DECOY: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
        DECOY
            .get_or_try_init(|| async {
                let nobody_holds = new_token();
                self.secrets.hash(&nobody_holds).await
            })
            .await
            .cloned()
    }

    /// Records a failed attempt against `key` (the account, or an unknown name's own key)
    /// and the source; refuses with `why`, or with the lock-out it completes.
    async fn wrong_code(
        &self,
        key: Uuid,
        why: TapRefusal,
        ctx: &RequestContext,
        now: Timestamp,
    ) -> SignInError {
        let run = async {
            let mut conn = self.store().conn().await?;
            let c = &mut *conn;
            lockout::record_failure(c, Some(key), &ctx.source_key(), now).await?;
            let since = now - self.lockout.window();
            let limit = i64::from(
                self.lockout
                    .max_failures_per_user
                    .max(self.lockout.max_failures_per_source),
            );
            let uf = lockout::user_failures(c, key, since, limit).await?;
            let sf = lockout::source_failures(c, &ctx.source_key(), since, limit).await?;
            Ok::<_, portcullis_store::StoreError>(assess(&self.lockout, &uf, &sf, now))
        };
        match run.await {
            Ok(Gate::Locked { scope, until }) => {
                let scope = if scope == LockScope::User {
                    "account"
                } else {
                    "source"
                };
                tracing::warn!(source = %ctx.source_text(), %scope, until = %rfc3339(until), "TAP sign-in locked out after repeated wrong attempts");
                TapRefusal::LockedOut { until }.into()
            }
            Ok(Gate::Open) => why.into(),
            Err(e) => SignInError::Failed(e.into()),
        }
    }

    /// Consumes a one-time pass (compare-and-set), opens the session and logs the
    /// sign-in — all in one transaction, so a pass is never spent without a session.
    async fn open_session(
        &self,
        user: &User,
        pass: &TemporaryAccessPass,
        ctx: &RequestContext,
        now: Timestamp,
    ) -> Result<SignedIn, SignInError> {
        let mut session = Session {
            id: Uuid::new_v4(),
            user_id: user.id,
            auth_time: now,
            methods: vec![AuthMethod::TemporaryAccessPass],
            expires_at: tap::session_expiry(pass, now, MAX_SESSION),
            passkey_aaguid: None,
            passkey_attested: false,
            credential_id: Some(pass.id),
            campaign_pending: false,
        };
        // R55: a user the registration campaign asks for a passkey is interrupted first —
        // unless Conditional Access keeps this very sign-in out of Security info, where the
        // interrupt sends them: that would be a loop.
        // The campaign is read once, and Conditional Access asked only when it runs.
        let campaign = crate::campaign::read(self).await?;
        let may_interrupt = campaign.is_running()
            && self
                .registration_decision(user, &session, ctx)
                .await
                .is_ok_and(|(d, _, _)| crate::render::registration_refusal(&d.verdict).is_none());
        let mut tx = self.store().begin().await?;
        if pass.is_usable_once && !tap_store::consume(&mut tx, pass.id, now).await? {
            return Err(TapRefusal::AlreadyUsed.into());
        }
        let token = new_token();
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
            ),
        )
        .await?;
        commit(tx).await?;
        tracing::info!(user = %user.user_principal_name, source = %ctx.source_text(), "signed in with a Temporary Access Pass");
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
    refusal: Option<&TapRefusal>,
) -> SignInEvent {
    ctx.sign_in_event(
        now,
        user_id,
        upn,
        "temporaryAccessPass",
        refusal.map(|r| (r.error_number(), r.code(), crate::render::tap_refusal(r))),
    )
}
