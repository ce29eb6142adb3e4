//! Authenticator apps (software OATH, TOTP; issue 17): adding one from Security info with a
//! QR code, checking its codes at sign-in, and removing it.
//!
//! Nothing is stored until the user proves their app has the secret: the secret travels
//! sealed in the enrolment form, and the row is written when a code from it is confirmed.
//! At rest the secret is sealed too (the server computes the codes, so it cannot keep a
//! hash): under a key derived from a server secret of its own, bound to the method's id.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use portcullis_domain::actor::Actor;
use portcullis_domain::audit::Operation;
use portcullis_domain::directory::User;
use portcullis_domain::oath::{self, EnrolRefusal, OathRefusal, Step};
use portcullis_domain::policy::{MethodConfiguration, MethodId, SoftwareOathConfiguration};
use portcullis_domain::session::Session;
use portcullis_domain::time_fmt::{from_millis, rfc3339};
use portcullis_domain::Timestamp;
use portcullis_store::oath::StoredOath;
use portcullis_store::{audit, commit, directory, oath as store_oath, Conn};
use ring::rand::{SecureRandom, SystemRandom};
use serde::{Deserialize, Serialize};
use serde_json::json;
use time::Duration;
use uuid::Uuid;

use crate::directory::{managed_user, security_info_record};
use crate::passkeys::self_actor;
use crate::sealed::{self, SealingKey};
use crate::{RequestContext, Result, Service, ServiceError};

/// How long an enrolment (scan, then type a code) may take.
pub const ENROLMENT_LIFETIME: Duration = Duration::minutes(10);

const ENROLMENT: &[u8] = b"portcullis oath enrolment v1|";
const AT_REST: &[u8] = b"portcullis oath secret v1|";

pub(crate) fn oath_config(cfg: MethodConfiguration) -> SoftwareOathConfiguration {
    match cfg {
        MethodConfiguration::SoftwareOath(c) => c,
        // `current` is asked for the SoftwareOath id, so this arm cannot be reached.
        _ => SoftwareOathConfiguration::default(),
    }
}

/// An enrolment begun: what the page shows. Nothing is stored yet.
#[derive(Debug, Clone)]
pub struct OathEnrolment {
    /// Sealed: the secret, the user and the expiry; sent back with the first code.
    pub token: String,
    /// The `otpauth://` URI the QR code carries.
    pub key_uri: String,
    /// The secret in base32, for typing into an app that cannot scan.
    pub secret_base32: String,
}

/// An authenticator app, as its user and administrators see it (never its secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OathView {
    /// Its id.
    pub id: Uuid,
    /// When it was added.
    pub created_at: Timestamp,
}

/// Why adding or using an app was refused.
#[derive(Debug, thiserror::Error)]
pub enum OathError {
    /// The policy or the session does not allow adding one.
    #[error("{}", crate::render::oath_enrol_refusal(.0))]
    Enrol(EnrolRefusal),
    /// Conditional Access refuses registering security info from here.
    #[error("{0}")]
    ConditionalAccess(String),
    /// The code typed was refused.
    #[error("{0}")]
    Code(OathRefusal),
    /// The enrolment expired, belongs to someone else or was changed.
    #[error("this set-up has expired; start again to get a new QR code")]
    EnrolmentExpired,
    /// The server failed.
    #[error(transparent)]
    Failed(#[from] ServiceError),
}

impl From<portcullis_store::StoreError> for OathError {
    fn from(e: portcullis_store::StoreError) -> Self {
        OathError::Failed(e.into())
    }
}

/// What an enrolment token holds.
#[derive(Serialize, Deserialize)]
struct Pending {
    #[serde(rename = "u")]
    user_id: Uuid,
    #[serde(rename = "e")]
    expires_ms: i64,
    #[serde(rename = "s")]
    secret: String,
}

/// The six-digit code `secret` shows at `at`, as an app shows it (the command-line app's).
pub fn code_at(secret: &[u8], at: Timestamp) -> String {
    format!("{:06}", code_of(secret, Step::at(at)))
}

/// The code of `step` for `secret` (RFC 6238 with HMAC-SHA1, the algorithm every app reads).
pub(crate) fn code_of(secret: &[u8], step: Step) -> u32 {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, secret);
    let tag = ring::hmac::sign(&key, &oath::counter_bytes(step));
    let mut mac = [0u8; 20];
    mac.copy_from_slice(tag.as_ref().get(..20).unwrap_or(&[0; 20]));
    oath::truncate(&mac)
}

impl Service {
    /// The key authenticator app secrets, enrolments and a password sign-in's pending second
    /// step are sealed with (each under a purpose of its own).
    pub(crate) async fn oath_key_pub(&self) -> Result<&SealingKey> {
        self.oath_key().await
    }

    async fn oath_key(&self) -> Result<&SealingKey> {
        self.oath_key
            .get_or_try_init(|| async {
                let mut c = self.store().conn().await?;
                let secret = portcullis_store::tenant::server_secret(
                    &mut c,
                    "oath",
                    &crate::secrets::new_token(),
                )
                .await?;
                SealingKey::derive_for(b"portcullis-oath", secret.as_bytes())
            })
            .await
    }

    /// The app's configuration, whether the user already has an app, and whether they hold
    /// a method that is MFA on its own — what [`oath::may_enrol`] weighs.
    async fn enrol_facts(
        &self,
        c: &mut Conn,
        user: Uuid,
        now: Timestamp,
    ) -> Result<(SoftwareOathConfiguration, Vec<Uuid>, bool, bool)> {
        let cfg = oath_config(crate::policy::current(c, MethodId::SoftwareOath).await?);
        let member_of = directory::member_of(c, user).await?;
        let has_app = store_oath::for_user(c, user).await?.is_some();
        Ok((
            cfg,
            member_of,
            has_app,
            holds_mfa_method(c, user, now).await?,
        ))
    }

    /// Checks the policy, the session (R14) and Conditional Access's "register security
    /// info" action for adding an app.
    async fn check_enrol(
        &self,
        user: &User,
        session: &Session,
        ctx: &RequestContext,
        now: Timestamp,
    ) -> std::result::Result<(), OathError> {
        let mut c = self.store().conn().await?;
        let (cfg, member_of, has_app, holds_mfa) = self.enrol_facts(&mut c, user.id, now).await?;
        drop(c);
        oath::may_enrol(&cfg, &member_of, session, holds_mfa, has_app, now)
            .map_err(OathError::Enrol)?;
        let (d, _, _) = self.registration_decision(user, session, ctx).await?;
        if let Some((_, why)) = crate::render::registration_refusal(&d.verdict) {
            return Err(OathError::ConditionalAccess(why));
        }
        Ok(())
    }

    /// Begins adding an authenticator app: a new secret and its QR code's URI. Nothing is
    /// stored until [`Service::confirm_oath`].
    pub async fn begin_oath(
        &self,
        user: &User,
        session: &Session,
        ctx: &RequestContext,
    ) -> std::result::Result<OathEnrolment, OathError> {
        let now = self.now();
        self.check_enrol(user, session, ctx, now).await?;
        let mut secret = [0u8; oath::SECRET_BYTES];
        SystemRandom::new()
            .fill(&mut secret)
            .map_err(|_| ServiceError::Internal("no randomness for a secret".into()))?;
        let pending = Pending {
            user_id: user.id,
            expires_ms: portcullis_domain::time_fmt::to_millis(now + ENROLMENT_LIFETIME),
            secret: URL_SAFE_NO_PAD.encode(secret),
        };
        let plain = serde_json::to_vec(&pending)
            .map_err(|e| ServiceError::Internal(format!("enrolment: {e}")))?;
        let token = sealed::seal(self.oath_key().await?, ENROLMENT, Uuid::new_v4(), plain)?;
        let mut c = self.store().conn().await?;
        let issuer = issuer(&mut c).await?;
        Ok(OathEnrolment {
            token,
            key_uri: oath::key_uri(&issuer, user.user_principal_name.as_str(), &secret),
            secret_base32: oath::base32(&secret),
        })
    }

    /// The enrolment a token from [`Service::begin_oath`] holds, to show again (after a
    /// wrong code): only to its user, only before it expires.
    pub async fn oath_enrolment(
        &self,
        user: &User,
        token: &str,
    ) -> std::result::Result<OathEnrolment, OathError> {
        let (_, secret) = self.open_enrolment(user, token).await?;
        let mut c = self.store().conn().await?;
        let issuer = issuer(&mut c).await?;
        Ok(OathEnrolment {
            token: token.to_string(),
            key_uri: oath::key_uri(&issuer, user.user_principal_name.as_str(), &secret),
            secret_base32: oath::base32(&secret),
        })
    }

    async fn open_enrolment(
        &self,
        user: &User,
        token: &str,
    ) -> std::result::Result<(Pending, Vec<u8>), OathError> {
        let now = self.now();
        let (_, plain) = sealed::open(self.oath_key().await?, ENROLMENT, token)
            .map_err(|_| OathError::EnrolmentExpired)?;
        let pending: Pending =
            serde_json::from_slice(&plain).map_err(|_| OathError::EnrolmentExpired)?;
        if pending.user_id != user.id || now >= from_millis(pending.expires_ms) {
            return Err(OathError::EnrolmentExpired);
        }
        let secret = URL_SAFE_NO_PAD
            .decode(&pending.secret)
            .map_err(|_| OathError::EnrolmentExpired)?;
        Ok((pending, secret))
    }

    /// Finishes adding an app: the token from [`Service::begin_oath`] and a code the app
    /// shows. The code is taken (it cannot then sign in). Audited.
    pub async fn confirm_oath(
        &self,
        user: &User,
        session: &Session,
        token: &str,
        code: &str,
        ctx: &RequestContext,
    ) -> std::result::Result<OathView, OathError> {
        let now = self.now();
        let key = self.oath_key().await?;
        let (_, secret) = self.open_enrolment(user, token).await?;
        let step =
            oath::accept(code, now, None, |s| code_of(&secret, s)).map_err(OathError::Code)?;
        // Asked again: the policy or the session may have changed since the QR code was shown.
        self.check_enrol(user, session, ctx, now).await?;
        let id = Uuid::new_v4();
        let row = StoredOath {
            id,
            user_id: user.id,
            secret_sealed: sealed::seal(key, AT_REST, id, secret)?,
            created_at: now,
            last_step: Some(step),
        };
        let mut tx = self.store().begin().await?;
        if !store_oath::insert(&mut tx, &row).await? {
            return Err(OathError::Enrol(EnrolRefusal::AlreadyRegistered));
        }
        crate::sessions::end_password_only_sessions(&mut tx, user.id, Some(session.id), now)
            .await?;
        let view = OathView {
            id,
            created_at: now,
        };
        let rec = security_info_record(
            "User registered security info",
            Operation::Add,
            &self_actor(user),
            user,
            None,
            Some(oath_json(&view)),
            "User registered an authenticator app (software OATH)".into(),
        );
        audit::append(&mut tx, &rec, now).await?;
        commit(tx).await?;
        Ok(view)
    }

    /// The user's app, if any.
    pub async fn oath_of(&self, user: Uuid) -> Result<Option<OathView>> {
        let mut c = self.store().conn().await?;
        Ok(store_oath::for_user(&mut c, user).await?.map(|m| view(&m)))
    }

    /// Checks a code from `user`'s app and takes it: of concurrent uses of one code, on any
    /// node, one succeeds. `Ok(false)` when the user has no app the policy lets them use.
    pub(crate) async fn take_oath_code(
        &self,
        user: Uuid,
        code: &str,
        now: Timestamp,
    ) -> std::result::Result<bool, OathError> {
        // Loaded before a connection is taken: loading it the first time takes one.
        let key = self.oath_key().await?;
        let mut c = self.store().conn().await?;
        let cfg = oath_config(crate::policy::current(&mut c, MethodId::SoftwareOath).await?);
        let member_of = directory::member_of(&mut c, user).await?;
        let Some(m) = store_oath::for_user(&mut c, user).await? else {
            return Ok(false);
        };
        if !oath::usable(&cfg, &member_of) {
            return Ok(false);
        }
        let secret = match sealed::open(key, AT_REST, &m.secret_sealed) {
            // Sealed under this row's id: a secret copied into another row does not open.
            Ok((id, secret)) if id == m.id => secret,
            _ => {
                return Err(ServiceError::Internal(
                    "an authenticator app secret does not open under its row".into(),
                )
                .into())
            }
        };
        let step = oath::accept(code, now, m.last_step, |s| code_of(&secret, s))
            .map_err(OathError::Code)?;
        if !store_oath::take_step(&mut c, m.id, step).await? {
            return Err(OathError::Code(OathRefusal::AlreadyUsed));
        }
        Ok(true)
    }

    /// Whether the user has an app the policy lets them sign in with.
    pub(crate) async fn has_usable_oath(&self, c: &mut Conn, user: Uuid) -> Result<bool> {
        let cfg = oath_config(crate::policy::current(c, MethodId::SoftwareOath).await?);
        let member_of = directory::member_of(c, user).await?;
        Ok(oath::usable(&cfg, &member_of) && store_oath::for_user(c, user).await?.is_some())
    }

    /// Security info: a user removes their app; audited.
    /// The user's other sessions end: what the app proved no longer holds.
    pub async fn delete_own_oath(&self, user: &User, session: &Session, id: Uuid) -> Result<()> {
        self.delete_oath_as(
            &self_actor(user),
            user,
            id,
            "User deleted security info",
            Some(session.id),
        )
        .await
    }

    /// An administrator's view of a user's app (Graph `softwareOathMethods`).
    pub async fn oath_for(&self, actor: &Actor, user: &str) -> Result<(User, Option<OathView>)> {
        let mut c = self.store().conn().await?;
        let target = crate::directory::viewable_user(&mut c, actor, user).await?;
        let m = store_oath::for_user(&mut c, target.id)
            .await?
            .map(|m| view(&m));
        Ok((target, m))
    }

    /// An administrator removes a user's app; audited.
    pub async fn delete_oath(&self, actor: &Actor, user: &str, id: Uuid) -> Result<()> {
        let mut c = self.store().conn().await?;
        let target = managed_user(&mut c, actor, user).await?;
        drop(c);
        self.delete_oath_as(actor, &target, id, "Admin deleted security info", None)
            .await
    }

    async fn delete_oath_as(
        &self,
        actor: &Actor,
        user: &User,
        id: Uuid,
        activity: &'static str,
        keep: Option<Uuid>,
    ) -> Result<()> {
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let m = store_oath::for_user(&mut tx, user.id)
            .await?
            .filter(|m| m.id == id)
            .ok_or_else(|| ServiceError::NotFound(format!("no authenticator app '{id}'")))?;
        store_oath::delete(&mut tx, user.id, id).await?;
        crate::sessions::end_user_sessions(
            &mut tx,
            user.id,
            keep,
            "its authenticator app was deleted",
            now,
        )
        .await?;
        let rec = security_info_record(
            activity,
            Operation::Delete,
            actor,
            user,
            Some(oath_json(&view(&m))),
            None,
            "Deleted an authenticator app (software OATH)".into(),
        );
        audit::append(&mut tx, &rec, now).await?;
        commit(tx).await?;
        Ok(())
    }
}

/// Whether the user holds a method that is MFA on its own or completes the password: a
/// passkey (not deleted), a pass not yet used up or expired, an authenticator app or a phone
/// (usable or not).
pub(crate) async fn holds_mfa_method(c: &mut Conn, user: Uuid, now: Timestamp) -> Result<bool> {
    let passkeys = portcullis_store::passkeys::for_user(c, user)
        .await?
        .iter()
        .any(|p| p.deleted.is_none());
    let pass = portcullis_store::tap::for_user(c, user)
        .await?
        .is_some_and(|p| p.pass.consumed_at.is_none() && now < p.pass.expires_at());
    let app = store_oath::for_user(c, user).await?.is_some();
    let push = !portcullis_store::push::devices_of(c, user)
        .await?
        .is_empty();
    Ok(passkeys || pass || app || push)
}

/// The issuer apps show above the account: the organisation's name.
async fn issuer(c: &mut Conn) -> Result<String> {
    Ok(portcullis_store::tenant::get(c)
        .await?
        .map(|t| t.display_name)
        .unwrap_or_else(|| "Portcullis".into()))
}

fn view(m: &StoredOath) -> OathView {
    OathView {
        id: m.id,
        created_at: m.created_at,
    }
}

fn oath_json(v: &OathView) -> serde_json::Value {
    json!({"id": v.id, "method": "softwareOath", "createdDateTime": rfc3339(v.created_at)})
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238, appendix B, the SHA1 rows (their last six digits).
    #[test]
    fn codes_match_rfc_6238() {
        let secret = b"12345678901234567890";
        for (t, want) in [
            (59, "287082"),
            (1_111_111_109, "081804"),
            (1_111_111_111, "050471"),
            (1_234_567_890, "005924"),
            (2_000_000_000, "279037"),
            (20_000_000_000, "353130"),
        ] {
            let at = Timestamp::from_unix_timestamp(t).unwrap_or(Timestamp::UNIX_EPOCH);
            assert_eq!(code_at(secret, at), want, "T = {t}");
        }
    }
}
