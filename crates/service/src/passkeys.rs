//! Passkeys: adding one (R14, R17, R4, R5, R9), signing in with one (R21, R22), listing
//! and deleting them (R25). Ceremony state lives in the store, so any node can finish a
//! ceremony another began.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use portcullis_domain::actor::Actor;
use portcullis_domain::audit::Operation;
use portcullis_domain::directory::{Upn, User};
use portcullis_domain::metadata::builtin_name;
use portcullis_domain::passkey::{self, Passkey, PasskeyRefusal, RegistrationFacts};
use portcullis_domain::policy::{Fido2Configuration, MethodConfiguration, MethodId};
use portcullis_domain::session::{AuthMethod, Session};
use portcullis_domain::Timestamp;
use portcullis_store::ceremonies::{self, Ceremony};
use portcullis_store::passkeys::{self as store_pk, StoredPasskey};
use portcullis_store::signins::SignInEvent;
use portcullis_store::{audit, commit, directory, sessions, signins, Conn};
use portcullis_webauthn::{AuthenticationState, CeremonyError, Credential, RegistrationState, RelyingParty};
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
const NAME_MAX: usize = 64;

/// Why a passkey operation did not happen, with a stable code for the JSON API.
#[derive(Debug, thiserror::Error)]
pub enum PasskeyError {
    /// Policy says no (with the rule's explanation).
    #[error(transparent)]
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
}

impl From<portcullis_store::StoreError> for PasskeyError {
    fn from(e: portcullis_store::StoreError) -> Self {
        PasskeyError::Failed(e.into())
    }
}

fn reject(code: &'static str, message: impl Into<String>) -> PasskeyError {
    PasskeyError::Rejected { code, message: message.into() }
}

impl PasskeyError {
    /// Stable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Refused(r) => r.code(),
            Self::Ceremony(c) => c.code,
            Self::Rejected { code, .. } => code,
            Self::Failed(_) => "internalError",
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

fn fido2(cfg: MethodConfiguration) -> Fido2Configuration {
    match cfg {
        MethodConfiguration::Fido2(c) => c,
        // `current` is asked for Fido2; defaults (disabled) fail closed.
        MethodConfiguration::TemporaryAccessPass(_) => Fido2Configuration::default(),
    }
}

async fn policy_for(c: &mut Conn, user: Uuid) -> Result<(Fido2Configuration, Vec<Uuid>), PasskeyError> {
    let cfg = fido2(current(c, MethodId::Fido2).await?);
    let member_of = directory::member_of(c, user).await?;
    Ok((cfg, member_of))
}

fn credential_of(p: &StoredPasskey) -> Result<Credential, PasskeyError> {
    serde_json::from_str(&p.credential_json).map_err(|e| PasskeyError::Failed(ServiceError::Internal(format!("stored credential {} is unreadable: {e}", p.passkey.id))))
}

/// The user acting on their own security info.
fn self_actor(user: &User) -> Actor {
    Actor::User { id: user.id, upn: user.user_principal_name.to_string(), roles: vec![] }
}

/// What the audit log keeps of a passkey.
fn passkey_json(p: &Passkey) -> Value {
    json!({"id": p.id, "aaGuid": p.aaguid, "displayName": p.display_name})
}

fn clean_text(s: Option<String>, max: usize) -> Option<String> {
    s.map(|s| s.trim().chars().filter(|c| !c.is_control()).take(max).collect::<String>()).filter(|s| !s.is_empty())
}

impl Service {
    async fn take_ceremony(&self, c: &mut Conn, id: Uuid, kind: &str, now: Timestamp) -> Result<Ceremony, PasskeyError> {
        let cer = ceremonies::take(c, id, kind, now).await?.ok_or_else(|| reject("challengeUnknown", "This sign-in or registration request was already used or never issued; start again."))?;
        if now >= cer.expires_at {
            return Err(reject("challengeExpired", "This request expired (after 5 minutes); start again."));
        }
        Ok(cer)
    }

    /// R14, R17: starts adding a passkey for the signed-in user.
    pub async fn begin_passkey_registration(&self, rp: &RelyingParty, session: &Session, user: &User) -> Result<CeremonyStart, PasskeyError> {
        let now = self.now();
        let mut c = self.store().conn().await?;
        let (cfg, member_of) = policy_for(&mut c, user.id).await?;
        let plan = passkey::may_start_registration(&cfg, &member_of, session, now)?;
        let exclude = store_pk::for_user(&mut c, user.id)
            .await?
            .iter()
            .filter_map(|p| URL_SAFE_NO_PAD.decode(&p.passkey.credential_id).ok())
            .collect();
        let (options, state) = rp.start_registration(user.id.as_bytes(), user.user_principal_name.as_str(), &user.display_name, exclude, plan.attestation_direct)?;
        let id = Uuid::new_v4();
        let state = serde_json::to_string(&state).map_err(|e| ServiceError::Internal(e.to_string()))?;
        ceremonies::insert(&mut c, id, &Ceremony { kind: "register".into(), user_id: Some(user.id), state, expires_at: now + CEREMONY_TTL }, now).await?;
        Ok(CeremonyStart { ceremony_id: id, options })
    }

    /// R4, R5, R9, R17, R20: verifies the response and stores the passkey — or stores nothing.
    pub async fn finish_passkey_registration(&self, rp: &RelyingParty, session: &Session, user: &User, req: RegistrationRequest<'_>) -> Result<Passkey, PasskeyError> {
        let RegistrationRequest { ceremony_id, response, name, device } = req;
        let now = self.now();
        let mut c = self.store().conn().await?;
        let cer = self.take_ceremony(&mut c, ceremony_id, "register", now).await?;
        if cer.user_id != Some(user.id) {
            return Err(reject("challengeMismatch", "This registration request belongs to another user."));
        }
        let (cfg, member_of) = policy_for(&mut c, user.id).await?;
        // The policy may have changed since the options were issued; it is checked again below.
        let state: RegistrationState = serde_json::from_str(&cer.state).map_err(|e| ServiceError::Internal(format!("ceremony state: {e}")))?;
        let plan = passkey::may_start_registration(&cfg, &member_of, session, now)?;
        drop(c);
        self.complete_registration(rp, user, &cfg, &member_of, plan.attestation_direct, &state, response, name, device, &self_actor(user), "User registered security info").await
    }

    /// Verifies a registration response against its state and the policy, and stores the
    /// passkey with its audit entry — or stores nothing. Shared by self-service and provisioning.
    #[allow(clippy::too_many_arguments)]
    async fn complete_registration(
        &self,
        rp: &RelyingParty,
        user: &User,
        cfg: &Fido2Configuration,
        member_of: &[Uuid],
        attestation_direct: bool,
        state: &RegistrationState,
        response: &Value,
        name: Option<String>,
        device: DeviceInfo,
        actor: &Actor,
        activity: &'static str,
    ) -> Result<Passkey, PasskeyError> {
        let now = self.now();
        let cred = rp.finish_registration(response, state)?;
        // Trust is only asked for when some ruleset enforces attestation, so an outage of
        // the app attestation service never blocks tenants that do not use it.
        let trusted = if attestation_direct && cred.attestation.has_chain() {
            match self.attestation_verdict(&cred).await? {
                Ok(portcullis_webauthn::TrustVerdict::Trusted) => true,
                Ok(portcullis_webauthn::TrustVerdict::Untrusted(why)) => {
                    tracing::info!(aaguid = %cred.aaguid, %why, "attestation not trusted");
                    false
                }
                Err(e) => return Err(reject("attestationServiceUnavailable", e.to_string())),
            }
        } else {
            false
        };
        let facts = RegistrationFacts {
            aaguid: cred.aaguid,
            has_chain: cred.attestation.has_chain(),
            trusted,
            self_attested: cred.attestation == portcullis_webauthn::AttestationKind::SelfAttestation,
            synced: cred.backup_eligible,
        };
        let ruleset = passkey::decide_registration(cfg, member_of, &facts).inspect_err(|r| {
            tracing::info!(user = %user.user_principal_name, aaguid = %cred.aaguid, code = r.code(), "passkey registration refused (AAGUID self-reported unless attested)");
        })?;
        let model = self.metadata_for(cred.aaguid).await?.map(|m| m.name);
        let credential_id = URL_SAFE_NO_PAD.encode(&cred.credential_id);
        let display_name = clean_text(name, NAME_MAX).or_else(|| model.clone()).unwrap_or_else(|| "Passkey".into());
        let stored = StoredPasskey {
            passkey: Passkey {
                id: Uuid::new_v4(),
                user_id: user.id,
                credential_id: credential_id.clone(),
                aaguid: cred.aaguid,
                display_name,
                fmt: cred.fmt.clone(),
                attested: facts.trusted,
                synced: cred.backup_eligible,
                created_at: now,
                last_used_at: None,
                sign_count: i64::from(cred.credential.counter),
                device: clean_text(device.device, 64),
                device_profile: clean_text(device.profile, 16),
                flagged_clone: false,
            },
            credential_json: serde_json::to_string(&cred.credential).map_err(|e| ServiceError::Internal(e.to_string()))?,
            x5c: cred.x5c.iter().map(|d| base64::engine::general_purpose::STANDARD.encode(d)).collect(),
            profile_id: ruleset.profile_id.clone(),
            deleted: None,
        };
        let mut tx = self.store().begin().await?;
        if let Some(existing) = store_pk::by_credential_id(&mut tx, &credential_id).await? {
            if existing.deleted.is_none() {
                return Err(reject("alreadyRegistered", "This passkey is already registered."));
            }
        }
        store_pk::insert(&mut tx, &stored).await?;
        let rec = security_info_record(
            activity,
            Operation::Add,
            actor,
            user,
            None,
            Some(json!({"id": stored.passkey.id, "aaGuid": cred.aaguid, "model": model, "fmt": cred.fmt, "attestation": cred.attestation, "profile": ruleset.name})),
            format!("User registered a passkey ({}); the AAGUID is self-reported unless attested", stored.passkey.display_name),
        );
        audit::append(&mut tx, &rec, now).await?;
        commit(tx).await?;
        Ok(stored.passkey)
    }

    /// R21: starts a sign-in. With a username, the options list that user's usable passkeys;
    /// without one, it is a discoverable-credential request.
    pub async fn begin_passkey_sign_in(&self, rp: &RelyingParty, username: Option<&str>) -> Result<CeremonyStart, PasskeyError> {
        let now = self.now();
        let mut c = self.store().conn().await?;
        let (user_id, allow) = match username.map(str::trim).filter(|u| !u.is_empty()) {
            None => (None, vec![]),
            Some(name) => {
                let upn = Upn::parse(name).map_err(|_| reject("malformedUsername", "Enter your username as name@domain."))?;
                let user = directory::user_by_upn(&mut c, &upn).await?.ok_or_else(|| reject("userNotFound", "We couldn't find an account with that username."))?;
                let (cfg, member_of) = policy_for(&mut c, user.id).await?;
                let all = store_pk::for_user(&mut c, user.id).await?;
                if all.is_empty() {
                    return Err(reject("noPasskey", "You have no passkey yet. Sign in with a Temporary Access Pass and add one on Security info."));
                }
                let mut usable = vec![];
                let mut first_refusal = None;
                for p in &all {
                    match passkey::sign_in_usability(&cfg, &member_of, &p.passkey) {
                        Ok(()) => usable.push(credential_of(p)?),
                        Err(r) => {
                            first_refusal.get_or_insert(r);
                        }
                    }
                }
                if usable.is_empty() {
                    return Err(first_refusal.map(PasskeyError::Refused).unwrap_or_else(|| reject("noPasskey", "You have no usable passkey.")));
                }
                (Some(user.id), usable)
            }
        };
        let (options, state) = rp.start_authentication(allow)?;
        let id = Uuid::new_v4();
        let state = serde_json::to_string(&state).map_err(|e| ServiceError::Internal(e.to_string()))?;
        ceremonies::insert(&mut c, id, &Ceremony { kind: "authenticate".into(), user_id, state, expires_at: now + CEREMONY_TTL }, now).await?;
        Ok(CeremonyStart { ceremony_id: id, options })
    }

    /// R1, R2, R5, R22, R25: finishes a sign-in and opens a session. Every outcome is logged.
    pub async fn finish_passkey_sign_in(&self, rp: &RelyingParty, ceremony_id: Uuid, response: &Value, ctx: &RequestContext) -> Result<SignedIn, PasskeyError> {
        let now = self.now();
        let result = self.try_passkey_sign_in(rp, ceremony_id, response, ctx, now).await;
        if let Err((user, e)) = &result {
            if !matches!(e, PasskeyError::Failed(_)) {
                let mut c = self.store().conn().await?;
                let upn = user.as_ref().map(|u| u.user_principal_name.to_string()).unwrap_or_default();
                signins::append(&mut c, &passkey_event(now, user.as_ref().map(|u| u.id), &upn, ctx, Some((e.code(), e.to_string())))).await?;
            }
        }
        result.map_err(|(_, e)| e)
    }

    async fn try_passkey_sign_in(&self, rp: &RelyingParty, ceremony_id: Uuid, response: &Value, ctx: &RequestContext, now: Timestamp) -> Result<SignedIn, (Option<User>, PasskeyError)> {
        let no_user = |e: PasskeyError| (None, e);
        let assertion = RelyingParty::parse_assertion(response).map_err(|e| no_user(e.into()))?;
        let mut c = self.store().conn().await.map_err(|e| no_user(e.into()))?;
        let cer = self.take_ceremony(&mut c, ceremony_id, "authenticate", now).await.map_err(no_user)?;
        let cred_id = URL_SAFE_NO_PAD.encode(&assertion.raw_id);
        let stored = store_pk::by_credential_id(&mut c, &cred_id).await.map_err(|e| no_user(e.into()))?.ok_or_else(|| no_user(reject("unknownCredential", "This passkey is not registered here. It may belong to another site or have been removed.")))?;
        let user = directory::user_by_id(&mut c, stored.passkey.user_id).await.map_err(|e| no_user(e.into()))?.ok_or_else(|| no_user(reject("unknownCredential", "This passkey's account no longer exists.")))?;
        let with_user = |e: PasskeyError| (Some(user.clone()), e);
        if let Some((_, by)) = &stored.deleted {
            let msg = if by == "admin" {
                "This passkey was removed by your administrator. Remove it from your device too, and ask for a Temporary Access Pass to add a new one."
            } else {
                "You removed this passkey from your account. Remove it from your device too, and sign in another way."
            };
            return Err(with_user(reject("passkeyDeleted", msg)));
        }
        match cer.user_id {
            Some(bound) if bound != user.id => return Err(with_user(reject("challengeMismatch", "This passkey belongs to a different account than the username you entered."))),
            None if assertion.response.user_handle.as_deref() != Some(user.id.as_bytes().as_slice()) => {
                return Err(with_user(reject("userHandleMismatch", "The passkey's user handle does not match its account.")))
            }
            _ => {}
        }
        if !user.account_enabled {
            return Err(with_user(reject("accountDisabled", "Your account has been disabled. Contact your administrator.")));
        }
        let (cfg, member_of) = policy_for(&mut c, user.id).await.map_err(with_user)?;
        passkey::sign_in_usability(&cfg, &member_of, &stored.passkey).map_err(|r| with_user(r.into()))?;
        let state: AuthenticationState = serde_json::from_str(&cer.state).map_err(|e| with_user(ServiceError::Internal(format!("ceremony state: {e}")).into()))?;
        let credential = credential_of(&stored).map_err(with_user)?;
        let old = stored.passkey.sign_count;
        let outcome = rp.finish_authentication(&assertion, &state, &credential, u32::try_from(old).unwrap_or(u32::MAX));
        let verified = match outcome {
            Ok(a) => a,
            Err(e) if e.code == "counterRegression" => {
                store_pk::flag_clone(&mut c, stored.passkey.id).await.map_err(|e| with_user(e.into()))?;
                tracing::warn!(user = %user.user_principal_name, passkey = %stored.passkey.id, "passkey counter went backwards: flagged as possibly cloned");
                return Err(with_user(e.into()));
            }
            Err(e) => return Err(with_user(e.into())),
        };
        drop(c);
        let mut tx = self.store().begin().await.map_err(|e| with_user(e.into()))?;
        if !store_pk::record_use(&mut tx, stored.passkey.id, old, i64::from(verified.counter), now).await.map_err(|e| with_user(e.into()))? {
            return Err(with_user(reject("counterReplay", "This passkey was just used for another sign-in with the same counter; the sign-in was refused.")));
        }
        let token = new_token();
        let session = Session { id: Uuid::new_v4(), user_id: user.id, auth_time: now, methods: vec![AuthMethod::Passkey], expires_at: now + PASSKEY_SESSION };
        sessions::insert(&mut tx, &token_key(&token), &session, now).await.map_err(|e| with_user(e.into()))?;
        signins::append(&mut tx, &passkey_event(now, Some(user.id), user.user_principal_name.as_str(), ctx, None)).await.map_err(|e| with_user(e.into()))?;
        // R23: after the first passkey sign-in, the passkey is the preferred method. Only a
        // passkey's first use can be a user's first passkey sign-in.
        if stored.passkey.last_used_at.is_none() {
            directory::prefer_if_unset(&mut tx, user.id, "passkey").await.map_err(|e| with_user(e.into()))?;
        }
        commit(tx).await.map_err(|e| with_user(e.into()))?;
        Ok(SignedIn { token, session, user })
    }

    /// A user's passkeys, each with its model name and whether it can sign in now (R5, R20).
    pub async fn passkeys_of(&self, user: &User) -> Result<Vec<PasskeyView>, PasskeyError> {
        let mut c = self.store().conn().await?;
        let (cfg, member_of) = policy_for(&mut c, user.id).await?;
        let mut out = vec![];
        for stored in store_pk::for_user(&mut c, user.id).await? {
            let model = match portcullis_store::metadata::get(&mut c, stored.passkey.aaguid).await? {
                Some(m) => Some(m.name),
                None => builtin_name(stored.passkey.aaguid).map(str::to_string),
            };
            out.push(PasskeyView { model, usable: passkey::sign_in_usability(&cfg, &member_of, &stored.passkey), stored });
        }
        Ok(out)
    }

    /// R25: the user removes one of their passkeys.
    pub async fn delete_own_passkey(&self, user: &User, id: Uuid) -> Result<(), PasskeyError> {
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let p = store_pk::by_id(&mut tx, id).await?.filter(|p| p.passkey.user_id == user.id).ok_or_else(|| reject("notFound", "You have no such passkey."))?;
        store_pk::delete(&mut tx, id, "user", now).await?;
        let rec = security_info_record("User deleted security info", Operation::Delete, &self_actor(user), user, Some(passkey_json(&p.passkey)), None, "User deleted a passkey".into());
        audit::append(&mut tx, &rec, now).await?;
        commit(tx).await?;
        Ok(())
    }
}

fn passkey_event(now: Timestamp, user_id: Option<Uuid>, upn: &str, ctx: &RequestContext, failure: Option<(&str, String)>) -> SignInEvent {
    SignInEvent {
        created_date_time: now,
        user_id,
        user_principal_name: upn.to_lowercase(),
        method: "passkey".into(),
        ip_address: ctx.source.clone(),
        user_agent: ctx.user_agent.chars().take(512).collect(),
        error_code: if failure.is_some() { 50126 } else { 0 },
        failure_code: failure.as_ref().map(|f| f.0.to_string()),
        failure_reason: failure.map(|f| f.1),
    }
}

/// What Security info offers a user now (R6, R14, R16).
#[derive(Debug, Clone)]
pub struct RegistrationOffer {
    /// `Ok` when the user may add a passkey now; otherwise why not (step-up, policy …).
    pub may_add: Result<(), PasskeyRefusal>,
    /// The guided "Passkey in Authenticator" option (R6).
    pub authenticator_option: bool,
    /// The legacy "Having trouble?" flow (hidden when attestation is enforced, R16).
    pub legacy_flow: bool,
}

impl Service {
    /// What Security info should offer this user right now.
    pub async fn registration_offer(&self, user: &User, session: &Session) -> Result<RegistrationOffer, ServiceError> {
        let mut c = self.store().conn().await?;
        let cfg = fido2(current(&mut c, MethodId::Fido2).await?);
        let member_of = directory::member_of(&mut c, user.id).await?;
        Ok(RegistrationOffer {
            may_add: passkey::may_start_registration(&cfg, &member_of, session, self.now()).map(|_| ()),
            authenticator_option: passkey::authenticator_option_offered(&cfg),
            legacy_flow: passkey::legacy_flow_offered(&cfg, &member_of),
        })
    }
}

impl Service {
    /// An administrator's view of a user's passkeys.
    pub async fn passkeys_for_admin(&self, actor: &Actor, user: &str) -> Result<(User, Vec<PasskeyView>), PasskeyError> {
        let mut c = self.store().conn().await?;
        let target = crate::directory::viewable_user(&mut c, actor, user).await?;
        drop(c);
        let views = self.passkeys_of(&target).await?;
        Ok((target, views))
    }

    /// R25: an administrator removes a user's passkey from the server. The device still
    /// holds it; a sign-in with it is refused with that explanation.
    pub async fn admin_delete_passkey(&self, actor: &Actor, user: &str, id: Uuid) -> Result<(), PasskeyError> {
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let target = managed_user(&mut tx, actor, user).await?;
        let p = store_pk::by_id(&mut tx, id).await?.filter(|p| p.passkey.user_id == target.id).ok_or_else(|| reject("notFound", format!("{} has no passkey {id}", target.user_principal_name)))?;
        store_pk::delete(&mut tx, id, "admin", now).await?;
        let rec = security_info_record(
            "Admin deleted security info",
            Operation::Delete,
            actor,
            &target,
            Some(passkey_json(&p.passkey)),
            None,
            "Admin deleted a passkey from the server; the user must also remove it from their device".into(),
        );
        audit::append(&mut tx, &rec, now).await?;
        commit(tx).await?;
        Ok(())
    }
}

impl Service {
    /// R23: whether the sign-in page should go straight to the passkey prompt for this name.
    /// Unknown or malformed names answer `false` (the page then offers every method).
    pub async fn prefers_passkey(&self, username: &str) -> Result<bool, ServiceError> {
        let Ok(upn) = Upn::parse(username) else { return Ok(false) };
        let mut c = self.store().conn().await?;
        let Some(user) = directory::user_by_upn(&mut c, &upn).await? else { return Ok(false) };
        Ok(directory::preferred_method(&mut c, user.id).await?.as_deref() == Some("passkey"))
    }
}

impl Service {
    /// `userRegistrationDetails` for a page of users (graph-api.md §7.3).
    pub async fn registration_details(&self, f: &portcullis_store::directory::UserFilter, after_upn: Option<&str>, limit: i64) -> Result<Vec<Value>, PasskeyError> {
        let now = self.now();
        let users = self.users_page(f, after_upn, limit).await?;
        let mut c = self.store().conn().await?;
        let tap_cfg = match current(&mut c, MethodId::TemporaryAccessPass).await? {
            MethodConfiguration::TemporaryAccessPass(t) => t,
            MethodConfiguration::Fido2(_) => portcullis_domain::policy::TapConfiguration::default(),
        };
        let mut out = vec![];
        for u in &users {
            let roles = directory::roles_of(&mut c, u.id).await?;
            let (cfg, member_of) = policy_for(&mut c, u.id).await?;
            let stored = store_pk::for_user(&mut c, u.id).await?;
            let passkeys = stored.iter().map(|p| (&p.passkey, passkey::sign_in_usability(&cfg, &member_of, &p.passkey).is_ok())).collect();
            let tap = portcullis_store::tap::for_user(&mut c, u.id).await?.map(|t| {
                let in_scope = tap_cfg.state == portcullis_domain::policy::MethodState::Enabled
                    && matches!(portcullis_domain::policy::targets::scope(&tap_cfg.include_targets, &tap_cfg.exclude_targets, &member_of), portcullis_domain::policy::Scope::Included(_));
                portcullis_domain::tap::usability(&t.pass, in_scope, now) == portcullis_domain::tap::UsabilityReason::EnabledByPolicy
            });
            out.push(portcullis_domain::report::registration_details(&portcullis_domain::report::Holdings { user: u, roles: &roles, passkeys, tap }, now));
        }
        Ok(out)
    }
}

impl Service {
    /// Graph `fido2Methods/creationOptions`: an administrator starts provisioning a passkey for
    /// a user (graph-api.md §3). Policy applies (R1, R2, R4, R5, R9; self-service must be
    /// allowed, as in Entra); the challenge lives `timeout` and is found again by its value.
    pub async fn begin_provisioning(&self, rp: &RelyingParty, actor: &Actor, user: &str, timeout: Duration) -> Result<(Value, Timestamp), PasskeyError> {
        let now = self.now();
        let mut c = self.store().conn().await?;
        let target = managed_user(&mut c, actor, user).await?;
        let (cfg, member_of) = policy_for(&mut c, target.id).await?;
        let rules = passkey::rulesets(&cfg, &member_of)?;
        if !cfg.is_self_service_registration_allowed {
            return Err(PasskeyRefusal::SelfServiceDisabled.into());
        }
        let exclude = store_pk::for_user(&mut c, target.id).await?.iter().filter_map(|p| URL_SAFE_NO_PAD.decode(&p.passkey.credential_id).ok()).collect();
        let direct = rules.iter().any(|r| r.attestation_required);
        let (options, state) = rp.start_registration(target.id.as_bytes(), target.user_principal_name.as_str(), &target.display_name, exclude, direct)?;
        let challenge = options["challenge"].as_str().unwrap_or_default().to_string();
        let expires_at = now + timeout;
        let state = serde_json::to_string(&state).map_err(|e| ServiceError::Internal(e.to_string()))?;
        ceremonies::insert_with_challenge(&mut c, Uuid::new_v4(), &Ceremony { kind: "provision".into(), user_id: Some(target.id), state, expires_at }, Some(&challenge), now).await?;
        Ok((options, expires_at))
    }

    /// Graph `POST fido2Methods`: verifies a provisioned credential (found by its challenge)
    /// and stores it for the user — or stores nothing.
    pub async fn finish_provisioning(&self, rp: &RelyingParty, actor: &Actor, user: &str, display_name: Option<String>, credential: &Value) -> Result<Passkey, PasskeyError> {
        let now = self.now();
        let mut c = self.store().conn().await?;
        let target = managed_user(&mut c, actor, user).await?;
        let client_data = credential["response"]["clientDataJSON"]
            .as_str()
            .and_then(|s| URL_SAFE_NO_PAD.decode(s.trim_end_matches('=')).ok())
            .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
            .ok_or_else(|| reject("malformedResponse", "publicKeyCredential.response.clientDataJSON is not base64url JSON."))?;
        let challenge = client_data["challenge"].as_str().ok_or_else(|| reject("malformedResponse", "clientDataJSON has no challenge."))?;
        let cer = ceremonies::take_by_challenge(&mut c, challenge, "provision", now)
            .await?
            .ok_or_else(|| reject("challengeUnknown", "This challenge was already used or never issued; request creationOptions again."))?;
        if now >= cer.expires_at {
            return Err(reject("challengeExpired", "The challenge expired; request creationOptions again."));
        }
        if cer.user_id != Some(target.id) {
            return Err(reject("challengeMismatch", "These creation options were issued for another user."));
        }
        let (cfg, member_of) = policy_for(&mut c, target.id).await?;
        let rules = passkey::rulesets(&cfg, &member_of)?;
        if !cfg.is_self_service_registration_allowed {
            return Err(PasskeyRefusal::SelfServiceDisabled.into());
        }
        let state: RegistrationState = serde_json::from_str(&cer.state).map_err(|e| ServiceError::Internal(format!("ceremony state: {e}")))?;
        // Graph's webauthnPublicKeyCredential carries no rawId or type; WebAuthn JSON does.
        let mut response = credential.clone();
        if let Value::Object(m) = &mut response {
            let id = m.get("id").cloned().unwrap_or(Value::Null);
            m.entry("rawId").or_insert(id);
            m.entry("type").or_insert(Value::String("public-key".into()));
        }
        drop(c);
        let direct = rules.iter().any(|r| r.attestation_required);
        self.complete_registration(rp, &target, &cfg, &member_of, direct, &state, &response, display_name, DeviceInfo::default(), actor, "Admin registered security info").await
    }
}
