//! Passkeys: adding one (R14, R17, R4, R5, R9), signing in with one (R21, R22), listing
//! and deleting them (R25). Ceremony state lives in the store, so any node can finish a
//! ceremony another began.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use portcullis_domain::actor::Actor;
use portcullis_domain::audit::Operation;
use portcullis_domain::directory::{Upn, User};
use portcullis_domain::metadata::builtin_name;
use portcullis_domain::passkey::{
    self, Attachment, ClientReport, Passkey, PasskeyRefusal, RegistrationFacts, Transports,
};
use portcullis_domain::policy::{Fido2Configuration, MethodConfiguration, MethodId};
use portcullis_domain::session::{AuthMethod, Session};
use portcullis_domain::Timestamp;
use portcullis_store::ceremonies::{self, Ceremony};
use portcullis_store::passkeys::{self as store_pk, StoredPasskey};
use portcullis_store::signins::SignInEvent;
use portcullis_store::{audit, commit, directory, sessions, signins, Conn};
use portcullis_webauthn::{
    AuthenticationState, CeremonyError, Credential, RegistrationState, RelyingParty, Reported,
};
use serde_json::{json, Value};
use time::Duration;
use uuid::Uuid;

use crate::directory::{managed_user, security_info_record};
use crate::policy::current;
use crate::secrets::{new_token, token_key};
use crate::tap::SignedIn;
use crate::{RequestContext, Service, ServiceError};

/// Ceremonies expire after five minutes (R17).
pub const CEREMONY_TTL: Duration = Duration::minutes(5);
/// Longest passkey session.
pub const PASSKEY_SESSION: Duration = Duration::hours(8);
/// Longest display name a user may give a passkey.
/// The longest name a passkey may have.
pub const NAME_MAX: usize = 64;

/// Why a passkey operation did not happen, with a stable code for the JSON API.
#[derive(Debug, thiserror::Error)]
pub enum PasskeyError {
    /// Policy says no (with the rule's explanation).
    #[error("{}", crate::render::passkey_refusal(.0))]
    Refused(#[from] PasskeyRefusal),
    /// The WebAuthn response failed a check.
    #[error(transparent)]
    Ceremony(#[from] CeremonyError),
    /// The request is wrong in a way the caller can fix.
    #[error("{message}")]
    Rejected {
        /// Stable code.
        code: &'static str,
        /// Sentence.
        message: String,
    },
    /// The server failed.
    #[error(transparent)]
    Failed(#[from] ServiceError),
    /// A credential this service does not hold, answered as its verification failed (a
    /// decoy id must answer like a real one); only the sign-in log says what it was.
    #[error(transparent)]
    Unrecognised(CeremonyError),
}

impl From<portcullis_store::StoreError> for PasskeyError {
    fn from(e: portcullis_store::StoreError) -> Self {
        PasskeyError::Failed(e.into())
    }
}

fn reject(code: &'static str, message: impl Into<String>) -> PasskeyError {
    PasskeyError::Rejected {
        code,
        message: message.into(),
    }
}

impl PasskeyError {
    /// Stable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Refused(r) => r.code(),
            Self::Ceremony(c) => c.code,
            Self::Rejected { code, .. } => code,
            Self::Failed(e) if e.is_server_fault() => "internalError",
            Self::Failed(ServiceError::NotFound(_)) => "notFound",
            Self::Failed(ServiceError::Forbidden(_) | ServiceError::AppPrivilege(_)) => "forbidden",
            Self::Failed(ServiceError::Conflict(_)) => "conflict",
            Self::Failed(_) => "badRequest",
            Self::Unrecognised(c) => c.code,
        }
    }

    /// What the caller is told: an unrecognised credential is told what a failed check is.
    pub fn answered(self) -> Self {
        match self {
            Self::Unrecognised(c) => Self::Ceremony(c),
            other => other,
        }
    }

    /// What the sign-in log records: the code and sentence, an unrecognised credential
    /// by name.
    pub fn logged(&self) -> (&'static str, String) {
        match self {
            Self::Unrecognised(_) => (
                "unknownCredential",
                "This passkey is not registered here. It may belong to another site or have been removed.".into(),
            ),
            other => (other.code(), other.to_string()),
        }
    }
}

/// A ceremony just begun: its id and the options for the browser.
#[derive(Debug, Clone)]
pub struct CeremonyStart {
    /// Id to send back with the response.
    pub ceremony_id: Uuid,
    /// `publicKey` options JSON.
    pub options: Value,
}

/// A sign-in just begun (issue 18): the sealed ceremony the client sends back, and the
/// options for the browser. Nothing was stored.
#[derive(Debug, Clone)]
pub struct SignInStart {
    /// The sealed ceremony: opaque to the client, sent back with the response.
    pub ceremony: String,
    /// `publicKey` options JSON.
    pub options: Value,
}

/// A passkey sign-in: the session opened, and which of the user's passkeys the server
/// accepts (R27: the list the Signal API hands the browser's credential manager).
#[derive(Debug, Clone)]
pub struct PasskeySignedIn {
    /// The session.
    pub signed_in: SignedIn,
    /// Credential ids (base64url) of every passkey of the user's that is not deleted —
    /// disabled ones included, since they can come back — read with the passkey that
    /// answered, in the same statement.
    pub accepted_credential_ids: Vec<String>,
    /// The application's redirect URI with its code, when the sign-in continued an
    /// authorization request and the access decision allowed it: committed with the
    /// sign-in, so the browser goes straight to the application.
    pub continued: Option<String>,
}

/// A passkey with whether it can sign in now, and why not.
#[derive(Debug, Clone)]
pub struct PasskeyView {
    /// Stored record.
    pub stored: StoredPasskey,
    /// Model name when known.
    pub model: Option<String>,
    /// `Ok` when usable; otherwise the reason.
    pub usable: Result<(), PasskeyRefusal>,
}

/// A registration response and what the client says with it.
#[derive(Debug, Clone)]
pub struct RegistrationRequest<'a> {
    /// The ceremony it answers.
    pub ceremony_id: Uuid,
    /// `PublicKeyCredential.toJSON()`.
    pub response: &'a Value,
    /// The name the user gives the passkey.
    pub name: Option<String>,
    /// Device facts (R20).
    pub device: DeviceInfo,
}

/// Optional device facts a client reports with a registration (R20).
#[derive(Debug, Clone, Default)]
pub struct DeviceInfo {
    /// Device name.
    pub device: Option<String>,
    /// `work` or `personal`.
    pub profile: Option<String>,
}

pub(crate) fn fido2(cfg: MethodConfiguration) -> Fido2Configuration {
    match cfg {
        MethodConfiguration::Fido2(c) => c,
        // `current` is asked for Fido2; defaults (disabled) fail closed.
        _ => Fido2Configuration::default(),
    }
}

pub(crate) async fn policy_for(
    c: &mut Conn,
    user: Uuid,
) -> Result<(Fido2Configuration, Vec<Uuid>), PasskeyError> {
    let cfg = fido2(current(c, MethodId::Fido2).await?);
    let member_of = directory::member_of(c, user).await?;
    Ok((cfg, member_of))
}

/// The passkey policy as stored, or Graph's default when it was never saved.
fn fido2_or_default(stored: Option<MethodConfiguration>) -> Fido2Configuration {
    fido2(crate::policy::or_default(stored, MethodId::Fido2))
}

fn credential_of(p: &StoredPasskey) -> Result<Credential, PasskeyError> {
    serde_json::from_str(&p.credential_json).map_err(|e| {
        PasskeyError::Failed(ServiceError::Internal(format!(
            "stored credential {} is unreadable: {e}",
            p.passkey.id
        )))
    })
}

/// What the client reported about the authenticator (R24), read into the domain's types;
/// names WebAuthn does not define are dropped.
fn client_report(r: &Reported) -> ClientReport {
    ClientReport {
        attachment: r.attachment.as_deref().and_then(Attachment::parse),
        transports: Transports::parse(r.transports.iter().map(String::as_str)),
    }
}

/// A ceremony that was used already, or never issued.
fn unknown_ceremony() -> PasskeyError {
    reject(
        "challengeUnknown",
        "This sign-in or registration request was already used or never issued; start again.",
    )
}

/// The user acting on their own security info.
pub(crate) fn self_actor(user: &User) -> Actor {
    Actor::User {
        id: user.id,
        upn: user.user_principal_name.to_string(),
        roles: vec![],
    }
}

/// What the audit log keeps of a passkey.
/// A passkey as an audit record shows it (R28): its AAGUID, model, and whether the AAGUID is
/// attested, with its name and state. Read on the caller's connection (a change holds one
/// connection, never two).
async fn passkey_json(c: &mut Conn, p: &Passkey) -> Result<Value, ServiceError> {
    let model = portcullis_store::metadata::get(c, p.aaguid)
        .await?
        .map(|m| m.name)
        .or_else(|| builtin_name(p.aaguid).map(str::to_string));
    Ok(
        json!({"id": p.id, "aaGuid": p.aaguid, "model": model, "aaGuidAttested": p.attested, "displayName": p.display_name, "state": portcullis_domain::inventory::State::of(p).code()}),
    )
}

fn clean_text(s: Option<String>, max: usize) -> Option<String> {
    s.map(|s| {
        s.trim()
            .chars()
            .filter(|c| !c.is_control() && !portcullis_domain::directory::is_bidi_control(*c))
            .take(max)
            .collect::<String>()
    })
    .filter(|s| !s.is_empty())
}

impl Service {
    /// Takes the ceremony for use, once; it must not have expired.
    async fn take_ceremony(
        &self,
        c: &mut Conn,
        id: Uuid,
        kind: &str,
        now: Timestamp,
    ) -> Result<Ceremony, PasskeyError> {
        unexpired(ceremonies::take(c, id, kind, now).await?, now)
    }
}

/// A found ceremony that is still within its 5 minutes (R17).
fn unexpired(found: Option<Ceremony>, now: Timestamp) -> Result<Ceremony, PasskeyError> {
    let cer = found.ok_or_else(unknown_ceremony)?;
    if now >= cer.expires_at {
        return Err(expired_ceremony());
    }
    Ok(cer)
}

/// A ceremony answered after its 5 minutes (R17).
fn expired_ceremony() -> PasskeyError {
    reject(
        "challengeExpired",
        "This request expired (after 5 minutes); start again.",
    )
}

mod lifecycle;
mod manage;
mod register;
mod same_device;
mod sealed;
mod signin;

pub use register::RegistrationOffer;
pub use same_device::{SameDeviceRequest, SameDeviceResult};
pub(crate) use sealed::SealingKey;
