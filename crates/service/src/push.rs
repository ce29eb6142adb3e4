//! Microsoft Authenticator push with number matching (issue 17), through a documented
//! protocol between Portcullis and an app instance (docs/authenticator-protocol.md):
//!
//! 1. **Add account**: Security info shows a one-time activation link (10 minutes); the app
//!    sends it with a new P-256 public key, which becomes the user's device.
//! 2. **Fetch**: the app asks for its user's pending requests (a long poll: no third-party
//!    push service), proving the device key by signing `portcullis-poll|<device>|<unix time>`.
//! 3. **Answer**: the user types the number the sign-in page shows; the app sends it signed
//!    `portcullis-answer|<request>|<1 approve, 0 deny>|<number>`. A wrong number denies the
//!    request and is logged.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use p256::ecdsa::signature::Verifier;
use p256::ecdsa::{DerSignature, VerifyingKey};
use p256::pkcs8::DecodePublicKey;
use portcullis_domain::actor::Actor;
use portcullis_domain::audit::Operation;
use portcullis_domain::directory::User;
use portcullis_domain::oath::EnrolRefusal;
use portcullis_domain::policy::{
    AuthenticatorConfiguration, MethodConfiguration, MethodId, MethodState, ScopeMiss,
};
use portcullis_domain::push::{self, AnswerRefusal, Approval, ApprovalState, DenyReason};
use portcullis_domain::session::Session;
use portcullis_domain::time_fmt::{from_millis, rfc3339, to_millis};
use portcullis_domain::Timestamp;
use portcullis_store::push::{self as store_push, Device};
use portcullis_store::{audit, ceremonies, commit, directory, signins, Conn};
use rand::Rng;
use serde::{Deserialize, Serialize};
use serde_json::json;
use time::Duration;
use uuid::Uuid;

use crate::directory::{managed_user, security_info_record};
use crate::passkeys::self_actor;
use crate::sealed;
use crate::{RequestContext, Result, Service, ServiceError};

/// How long an activation link may wait for the app.
pub const ACTIVATION_LIFETIME: Duration = Duration::minutes(10);
/// How far a poll's signed time may be from the server's.
const POLL_SKEW: u64 = 300;
/// The longest a fetch waits for a request to arrive.
pub const MAX_WAIT: std::time::Duration = std::time::Duration::from_secs(25);

const ACTIVATION: &[u8] = b"portcullis authenticator activation v1|";

pub(crate) fn authenticator_config(cfg: MethodConfiguration) -> AuthenticatorConfiguration {
    match cfg {
        MethodConfiguration::MicrosoftAuthenticator(c) => c,
        // `current` is asked for the MicrosoftAuthenticator id: this arm is not reached.
        _ => AuthenticatorConfiguration::default(),
    }
}

/// An activation begun: what Security info shows.
#[derive(Debug, Clone)]
pub struct Activation {
    /// Sealed: the user and the expiry. Spent by the app's activation.
    pub code: String,
    /// The link the app follows (also the QR code's content).
    pub link: String,
}

/// A registered app instance, as users and administrators see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceView {
    /// Its id.
    pub id: Uuid,
    /// The phone's name.
    pub display_name: String,
    /// `android` or `iOS`.
    pub platform: String,
    /// When the account was added.
    pub created_at: Timestamp,
}

/// Why an Authenticator request was refused.
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    /// The policy or the session does not allow adding the app.
    #[error("{}", crate::render::oath_enrol_refusal(.0))]
    Enrol(EnrolRefusal),
    /// Conditional Access refuses registering security info from here.
    #[error("{0}")]
    ConditionalAccess(String),
    /// The activation link expired, was used, or was changed.
    #[error("this activation link has expired or was already used; add the account again from Security info")]
    Activation,
    /// The public key is not a P-256 key in SubjectPublicKeyInfo form.
    #[error("publicKey must be a P-256 public key (SubjectPublicKeyInfo, DER, base64url)")]
    BadKey,
    /// A field is missing or malformed.
    #[error("{0}")]
    Invalid(String),
    /// The device or request does not exist, or the signature does not verify.
    #[error("no such device or request, or the signature does not verify")]
    Unknown,
    /// The answer was not taken.
    #[error(transparent)]
    Answer(#[from] AnswerRefusal),
    /// The server failed.
    #[error(transparent)]
    Failed(#[from] ServiceError),
}

impl From<portcullis_store::StoreError> for PushError {
    fn from(e: portcullis_store::StoreError) -> Self {
        PushError::Failed(e.into())
    }
}

#[derive(Serialize, Deserialize)]
struct ActivationClaims {
    #[serde(rename = "u")]
    user_id: Uuid,
    /// The session that asked for it: the link works only while that session is live.
    #[serde(rename = "s")]
    session_id: Uuid,
    #[serde(rename = "e")]
    expires_ms: i64,
}

fn view(d: &Device) -> DeviceView {
    DeviceView {
        id: d.id,
        display_name: d.display_name.clone(),
        platform: d.platform.clone(),
        created_at: d.created_at,
    }
}

fn device_json(d: &DeviceView) -> serde_json::Value {
    json!({"id": d.id, "method": "microsoftAuthenticator", "displayName": d.display_name, "platform": d.platform, "createdDateTime": rfc3339(d.created_at)})
}

/// A device key must be a P-256 public key (SubjectPublicKeyInfo, DER, base64url).
pub(crate) fn check_device_key(public_key: &str) -> std::result::Result<(), PushError> {
    let der = URL_SAFE_NO_PAD
        .decode(public_key)
        .map_err(|_| PushError::BadKey)?;
    VerifyingKey::from_public_key_der(&der).map_err(|_| PushError::BadKey)?;
    Ok(())
}

/// Stores `device` as one of `user`'s app instances, with its audit entry.
async fn insert_device(
    c: &mut Conn,
    user: &User,
    device: &Device,
    now: Timestamp,
) -> Result<DeviceView> {
    store_push::add_device(c, device).await?;
    let v = view(device);
    let rec = security_info_record(
        "User registered security info",
        Operation::Add,
        &self_actor(user),
        user,
        None,
        Some(device_json(&v)),
        "User added Microsoft Authenticator (push with number matching)".into(),
    );
    audit::append(c, &rec, now).await?;
    Ok(v)
}

/// Verifies `signature` (DER, base64url) of `message` by the device's key.
fn verifies(d: &Device, message: &str, signature: &str) -> bool {
    let Ok(key_der) = URL_SAFE_NO_PAD.decode(&d.public_key) else {
        return false;
    };
    let Ok(key) = VerifyingKey::from_public_key_der(&key_der) else {
        return false;
    };
    let Ok(sig) = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| ())
        .and_then(|b| DerSignature::try_from(b.as_slice()).map_err(|_| ()))
    else {
        return false;
    };
    key.verify(message.as_bytes(), &sig).is_ok()
}

/// Whether push is enabled for a member of `member_of`, as an enrolment refusal if not.
fn push_scope(cfg: &AuthenticatorConfiguration, member_of: &[Uuid]) -> Result<(), EnrolRefusal> {
    if cfg.state == MethodState::Disabled {
        return Err(EnrolRefusal::MethodDisabled);
    }
    if !push::push_usable(cfg, member_of) {
        return Err(EnrolRefusal::NotInScope(ScopeMiss::NotIncluded));
    }
    Ok(())
}

impl Service {
    async fn authenticator_policy(&self, c: &mut Conn) -> Result<AuthenticatorConfiguration> {
        Ok(authenticator_config(
            crate::policy::current(c, MethodId::MicrosoftAuthenticator).await?,
        ))
    }

    /// Whether `session` may add the Authenticator's push for `user` now: the policy's
    /// state and targets, a second factor's step-up rule (R14), and Conditional Access on
    /// registering security info.
    async fn check_push_enrol(
        &self,
        user: &User,
        session: &Session,
        ctx: &RequestContext,
        now: Timestamp,
    ) -> std::result::Result<(), PushError> {
        let mut c = self.store().conn().await?;
        let cfg = self.authenticator_policy(&mut c).await?;
        let member_of = directory::member_of(&mut c, user.id).await?;
        let holds = crate::oath::holds_mfa_method(&mut c, user.id, now).await?;
        drop(c);
        push_scope(&cfg, &member_of).map_err(PushError::Enrol)?;
        portcullis_domain::oath::may_add_second_factor(session, holds, now)
            .map_err(PushError::Enrol)?;
        let (d, _, _) = self.registration_decision(user, session, ctx).await?;
        if let Some((_, why)) = crate::render::registration_refusal(&d.verdict) {
            return Err(PushError::ConditionalAccess(why));
        }
        Ok(())
    }

    /// R15: the app that has just added a passkey in `session` turns on push with its own
    /// key, under the same checks as an activation link. An app already added with this key
    /// is returned as it is, not added twice.
    pub async fn add_authenticator_in_app(
        &self,
        user: &User,
        session: &Session,
        ctx: &RequestContext,
        public_key: &str,
        phone: &portcullis_domain::phone::Phone,
    ) -> std::result::Result<DeviceView, PushError> {
        let now = self.now();
        check_device_key(public_key)?;
        self.check_push_enrol(user, session, ctx, now).await?;
        let mut tx = self.store().begin().await?;
        if let Some(d) = store_push::devices_of(&mut tx, user.id)
            .await?
            .into_iter()
            .find(|d| d.public_key == public_key)
        {
            return Ok(view(&d));
        }
        let device = Device {
            id: Uuid::new_v4(),
            user_id: user.id,
            public_key: public_key.to_string(),
            display_name: phone.name.clone(),
            platform: phone.platform.as_str().to_string(),
            created_at: now,
        };
        let v = insert_device(&mut tx, user, &device, now).await?;
        crate::sessions::end_password_only_sessions(&mut tx, user.id, Some(session.id), now)
            .await?;
        commit(tx).await?;
        Ok(v)
    }

    /// Begins adding the Authenticator: a one-time activation link for the app. Nothing is
    /// stored until the app activates it.
    pub async fn begin_authenticator(
        &self,
        user: &User,
        session: &Session,
        ctx: &RequestContext,
        origin: &str,
    ) -> std::result::Result<Activation, PushError> {
        let now = self.now();
        self.check_push_enrol(user, session, ctx, now).await?;
        let plain = serde_json::to_vec(&ActivationClaims {
            user_id: user.id,
            session_id: session.id,
            expires_ms: to_millis(now + ACTIVATION_LIFETIME),
        })
        .map_err(|e| ServiceError::Internal(format!("activation: {e}")))?;
        let code = sealed::seal(
            self.oath_key_pub().await?,
            ACTIVATION,
            Uuid::new_v4(),
            plain,
        )?;
        let link = format!(
            "{}/authenticator/activate?code={code}",
            origin.trim_end_matches('/')
        );
        Ok(Activation { code, link })
    }

    /// The app activates a link: its key becomes a device of the link's user. A link works
    /// once (its id is spent with the device), and only before it expires. Audited.
    pub async fn activate_authenticator(
        &self,
        code: &str,
        public_key: &str,
        display_name: &str,
        platform: &str,
    ) -> std::result::Result<(DeviceView, User), PushError> {
        let now = self.now();
        let platform = match platform {
            p if p.eq_ignore_ascii_case("android") => "android",
            p if p.eq_ignore_ascii_case("ios") => "iOS",
            _ => return Err(PushError::Invalid("platform must be android or iOS".into())),
        };
        let name = portcullis_domain::directory::validate_display_name(display_name)
            .map_err(|e| PushError::Invalid(format!("displayName: {e}")))?;
        check_device_key(public_key)?;
        let (id, plain) = sealed::open(self.oath_key_pub().await?, ACTIVATION, code)
            .map_err(|_| PushError::Activation)?;
        let claims: ActivationClaims =
            serde_json::from_slice(&plain).map_err(|_| PushError::Activation)?;
        let expires = from_millis(claims.expires_ms);
        if now >= expires {
            return Err(PushError::Activation);
        }
        let mut tx = self.store().begin().await?;
        let user = directory::user_by_id(&mut tx, claims.user_id)
            .await?
            .filter(|u| u.account_enabled)
            .ok_or(PushError::Activation)?;
        // Signed out, reset or revoked since: the link went with the session.
        let live = portcullis_store::sessions::by_id(&mut tx, claims.session_id)
            .await?
            .is_some_and(|(s, revoked)| {
                revoked.is_none() && s.is_live(now) && s.user_id == user.id
            });
        let cfg = self.authenticator_policy(&mut tx).await?;
        let member_of = directory::member_of(&mut tx, user.id).await?;
        if !live || !push::push_usable(&cfg, &member_of) {
            return Err(PushError::Activation);
        }
        if !ceremonies::spend(&mut tx, id, expires).await? {
            return Err(PushError::Activation);
        }
        let device = Device {
            id: Uuid::new_v4(),
            user_id: user.id,
            public_key: public_key.to_string(),
            display_name: name,
            platform: platform.to_string(),
            created_at: now,
        };
        let v = insert_device(&mut tx, &user, &device, now).await?;
        crate::sessions::end_password_only_sessions(&mut tx, user.id, Some(claims.session_id), now)
            .await?;
        commit(tx).await?;
        Ok((v, user))
    }

    /// The app fetches its user's pending requests, waiting up to `wait` for one to arrive.
    pub async fn pending_approvals(
        &self,
        device_id: Uuid,
        signed_at: i64,
        signature: &str,
        wait: std::time::Duration,
    ) -> std::result::Result<Vec<Approval>, PushError> {
        let now = self.now();
        let mut c = self.store().conn().await?;
        let device = store_push::device(&mut c, device_id)
            .await?
            .ok_or(PushError::Unknown)?;
        drop(c);
        let fresh = now
            .unix_timestamp()
            .checked_sub(signed_at)
            .is_some_and(|d| d.unsigned_abs() <= POLL_SKEW);
        if !fresh
            || !verifies(
                &device,
                &format!("portcullis-poll|{device_id}|{signed_at}"),
                signature,
            )
        {
            return Err(PushError::Unknown);
        }
        let until = std::time::Instant::now() + wait.min(MAX_WAIT);
        loop {
            let now = self.now();
            let mut c = self.store().conn().await?;
            let found: Vec<Approval> =
                store_push::pending_for(&mut c, device.user_id, now - push::APPROVAL_LIFETIME)
                    .await?
                    .into_iter()
                    .filter(|a| push::outcome(a, now) == push::Outcome::Waiting)
                    .collect();
            drop(c);
            if !found.is_empty() || std::time::Instant::now() >= until {
                return Ok(found);
            }
            tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        }
    }

    /// The app answers a request with the number its user typed, signed by the device.
    pub async fn answer_approval(
        &self,
        approval_id: Uuid,
        device_id: Uuid,
        approve: bool,
        number: u8,
        signature: &str,
        ctx: &RequestContext,
    ) -> std::result::Result<ApprovalState, PushError> {
        let now = self.now();
        let mut c = self.store().conn().await?;
        let device = store_push::device(&mut c, device_id).await?;
        let found = store_push::approval(&mut c, approval_id).await?;
        let (Some(device), Some((a, _))) = (device, found) else {
            return Err(PushError::Unknown);
        };
        let message = format!(
            "portcullis-answer|{approval_id}|{}|{number}",
            u8::from(approve)
        );
        let signed = device.user_id == a.user_id && verifies(&device, &message, signature);
        let to = push::answer(&a, signed, approve, number, now).map_err(|r| match r {
            AnswerRefusal::BadSignature => PushError::Unknown,
            other => PushError::Answer(other),
        })?;
        if !store_push::answer(&mut c, a.id, to, now).await? {
            return Err(AnswerRefusal::Answered.into());
        }
        if let ApprovalState::Denied(reason) = to {
            // The denial is the sign-in's failure: it counts where that sign-in came from,
            // not where the phone is (a request stored before its origin was kept: the phone).
            let sign_in = store_push::origin(&mut c, a.id)
                .await?
                .map(|o| RequestContext {
                    source: o.source,
                    user_agent: o.user_agent,
                    device_proof: None,
                });
            let ctx = sign_in.as_ref().unwrap_or(ctx);
            // A denial or a wrong number counts towards the lock-out (R13): someone pushing
            // with a stolen password is stopped after a few tries.
            portcullis_store::lockout::record_failure(
                &mut c,
                Some(a.user_id),
                &ctx.source_key(),
                now,
            )
            .await?;
            let upn = directory::user_by_id(&mut c, a.user_id)
                .await?
                .map(|u| u.user_principal_name.to_string())
                .unwrap_or_default();
            let (code, why) = match reason {
                DenyReason::WrongNumber => ("pushWrongNumber", "The number entered in Microsoft Authenticator was not the one shown: the request was denied."),
                DenyReason::UserDenied => ("pushDenied", "The user denied the request in Microsoft Authenticator."),
            };
            let e = ctx.sign_in_event(
                now,
                Some(a.user_id),
                &upn,
                "password,microsoftAuthenticatorPush",
                Some((500_121, code, why.to_string())),
            );
            signins::append(&mut c, &e).await?;
            tracing::warn!(user = %upn, %code, "Authenticator request denied");
        }
        Ok(to)
    }

    /// Starts a request for `user`'s sign-in: the number to show, and the context the
    /// policy says the app shows — or, when the phone has received as many as it may for now
    /// ([`push::may_send`]), none: `Err` with when the next may go.
    pub(crate) async fn start_push(
        &self,
        user: Uuid,
        app_name: Option<&str>,
        ctx: &RequestContext,
        now: Timestamp,
    ) -> Result<std::result::Result<Approval, Timestamp>> {
        let mut c = self.store().conn().await?;
        let cfg = self.authenticator_policy(&mut c).await?;
        let member_of = directory::member_of(&mut c, user).await?;
        // Given back before the transaction below takes the write gate and a connection:
        // held, two sign-ins at once stalled SQLite's two-connection pool until a timeout.
        drop(c);
        let (show_app, show_location) = push::context_shown(&cfg, &member_of);
        let a = Approval {
            id: Uuid::new_v4(),
            user_id: user,
            number: rand::thread_rng().gen_range(10..=99),
            created_at: now,
            state: ApprovalState::Pending,
            app_name: app_name.filter(|_| show_app).map(str::to_string),
            location: show_location.then(|| ctx.source_text()),
        };
        // One request at a time: a new sign-in's request replaces any still open.
        let mut tx = self.store().begin().await?;
        store_push::lock_requests_of(&mut tx, user).await?;
        let sent =
            store_push::sent_since(&mut tx, user, now.saturating_sub(push::FLOOD_WINDOW)).await?;
        if let Err(until) = push::may_send(&sent, now) {
            tracing::warn!(%user, "no Authenticator request sent: as many as allowed went to this user's phone lately (someone may hold the password)");
            return Ok(Err(until));
        }
        store_push::deny_open(&mut tx, user, now).await?;
        let origin = store_push::Origin {
            source: ctx.source,
            user_agent: ctx.user_agent.clone(),
        };
        store_push::add_approval(&mut tx, &a, &origin).await?;
        commit(tx).await?;
        Ok(Ok(a))
    }

    /// A request, and whether it already opened a session.
    pub(crate) async fn approval(&self, id: Uuid) -> Result<Option<(Approval, bool)>> {
        let mut c = self.store().conn().await?;
        Ok(store_push::approval(&mut c, id).await?)
    }

    /// Spends an approved request on one session.
    pub(crate) async fn use_approval(&self, id: Uuid) -> Result<bool> {
        let mut c = self.store().conn().await?;
        Ok(store_push::use_approved(&mut c, id).await?)
    }

    /// Whether the user has a device the policy lets them approve with.
    pub(crate) async fn has_usable_push(&self, c: &mut Conn, user: Uuid) -> Result<bool> {
        let cfg = self.authenticator_policy(c).await?;
        let member_of = directory::member_of(c, user).await?;
        Ok(push::push_usable(&cfg, &member_of)
            && !store_push::devices_of(c, user).await?.is_empty())
    }

    /// The user's devices.
    pub async fn authenticators_of(&self, user: Uuid) -> Result<Vec<DeviceView>> {
        let mut c = self.store().conn().await?;
        Ok(store_push::devices_of(&mut c, user)
            .await?
            .iter()
            .map(view)
            .collect())
    }

    /// An administrator's view of a user's devices (Graph `microsoftAuthenticatorMethods`).
    pub async fn authenticators_for(&self, actor: &Actor, user: &str) -> Result<Vec<DeviceView>> {
        let mut c = self.store().conn().await?;
        let target = crate::directory::viewable_user(&mut c, actor, user).await?;
        Ok(store_push::devices_of(&mut c, target.id)
            .await?
            .iter()
            .map(view)
            .collect())
    }

    /// The user removes a device from Security info; their other sessions end. Audited.
    pub async fn delete_own_authenticator(
        &self,
        user: &User,
        session: &Session,
        id: Uuid,
    ) -> Result<()> {
        self.delete_authenticator_as(
            &self_actor(user),
            user,
            id,
            "User deleted security info",
            Some(session.id),
        )
        .await
    }

    /// The app removes its own account (R25: deleting in the app removes the method from the
    /// server), proving its key by signing `portcullis-remove|<device>|<unix time>`. The
    /// user's sessions end, as for any removal. Audited as the user's own.
    pub async fn remove_authenticator_signed(
        &self,
        device_id: Uuid,
        signed_at: i64,
        signature: &str,
    ) -> std::result::Result<(), PushError> {
        let now = self.now();
        let mut c = self.store().conn().await?;
        let device = store_push::device(&mut c, device_id)
            .await?
            .ok_or(PushError::Unknown)?;
        let user = directory::user_by_id(&mut c, device.user_id)
            .await?
            .ok_or(PushError::Unknown)?;
        drop(c);
        let fresh = now
            .unix_timestamp()
            .checked_sub(signed_at)
            .is_some_and(|d| d.unsigned_abs() <= POLL_SKEW);
        let message = format!("portcullis-remove|{device_id}|{signed_at}");
        if !fresh || !verifies(&device, &message, signature) {
            return Err(PushError::Unknown);
        }
        self.delete_authenticator_as(
            &self_actor(&user),
            &user,
            device_id,
            "User deleted security info",
            None,
        )
        .await?;
        Ok(())
    }

    /// An administrator removes a user's device; the user's sessions end. Audited.
    pub async fn delete_authenticator(&self, actor: &Actor, user: &str, id: Uuid) -> Result<()> {
        let mut c = self.store().conn().await?;
        let target = managed_user(&mut c, actor, user).await?;
        drop(c);
        self.delete_authenticator_as(actor, &target, id, "Admin deleted security info", None)
            .await
    }

    async fn delete_authenticator_as(
        &self,
        actor: &Actor,
        user: &User,
        id: Uuid,
        activity: &'static str,
        keep: Option<Uuid>,
    ) -> Result<()> {
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let d = store_push::devices_of(&mut tx, user.id)
            .await?
            .into_iter()
            .find(|d| d.id == id)
            .ok_or_else(|| ServiceError::NotFound(format!("no Microsoft Authenticator '{id}'")))?;
        store_push::delete_device(&mut tx, user.id, id).await?;
        // What the removed phone approved, or could still, opens nothing.
        store_push::deny_open(&mut tx, user.id, now).await?;
        crate::sessions::end_user_sessions(
            &mut tx,
            user.id,
            keep,
            "its Authenticator was removed",
            now,
        )
        .await?;
        let rec = security_info_record(
            activity,
            Operation::Delete,
            actor,
            user,
            Some(device_json(&view(&d))),
            None,
            "Deleted Microsoft Authenticator (push)".into(),
        );
        audit::append(&mut tx, &rec, now).await?;
        commit(tx).await?;
        Ok(())
    }
}
