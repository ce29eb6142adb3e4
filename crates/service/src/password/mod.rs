//! The password as a method (issue 17): set by an administrator or changed by its user
//! (Argon2id, checked for length and guessability), and username-first sign-in with the
//! password, then the authenticator app's code when the user has one. Wrong passwords and
//! wrong codes count towards the same lock-out as Temporary Access Passes (R13).

use portcullis_domain::actor::Actor;
use portcullis_domain::audit::Operation;
use portcullis_domain::directory::User;
use portcullis_domain::lockout::Gate;
use portcullis_domain::password::{self, NewPasswordRefusal, PasswordRefusal, MAX_CHARS};
use portcullis_domain::session::{AuthMethod, Session};
use portcullis_domain::Timestamp;
use portcullis_store::{audit, commit, lockout, passwords};
use serde::{Deserialize, Serialize};
use serde_json::json;
use time::Duration;
use uuid::Uuid;

use crate::directory::{managed_user, security_info_record};
use crate::passkeys::self_actor;
use crate::tap::SignedIn;
use crate::{RequestContext, Result, Service, ServiceError};

mod push_step;
mod signin;

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
