//! Passkey (FIDO2) decisions (R1–R5, R9, R14, R17, R22, R25): who may register, which
//! registrations are accepted, which stored passkeys are usable — with the reason when not.
//!
//! Registration, sign-in, What If and readiness all call these same functions.

mod consequences;
mod reach;
mod refusal;

use serde::{Deserialize, Serialize};
use time::Duration;
use uuid::Uuid;

pub use consequences::{
    change_warnings, empty_allow_lists, standing_warnings, strength_needs_attestation,
    Fido2Warning, RulesetRef,
};
pub use reach::{Attachment, ClientReport, Reach, Transport, Transports};
pub use refusal::{PasskeyRefusal, ProfileMiss};

use crate::policy::fido2::{
    AttestationEnforcement, EnforcementType, PasskeyTypes, AUTHENTICATOR_AAGUIDS,
};
use crate::policy::{targets, Fido2Configuration, KeyRestrictions, MethodState, Scope, ScopeMiss};
use crate::session::Session;
use crate::strength::UsedMethod;
use crate::Timestamp;

/// How recent an MFA claim must be to add a passkey (R14).
pub const MFA_FRESHNESS: Duration = Duration::minutes(10);

/// A registered passkey as the policy engine sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Passkey {
    /// Method id.
    pub id: Uuid,
    /// Owner.
    pub user_id: Uuid,
    /// Credential id, base64url.
    pub credential_id: String,
    /// Authenticator model id.
    pub aaguid: Uuid,
    /// Name the user sees.
    pub display_name: String,
    /// Attestation statement format at registration.
    pub fmt: String,
    /// Whether the AAGUID is attested: signed by the attestation statement and vouched for
    /// by a trusted root (R32). Otherwise it is self-reported.
    pub attested: bool,
    /// Synced (backup eligible) rather than device-bound.
    pub synced: bool,
    /// When it was added.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: Timestamp,
    /// Last successful sign-in.
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_used_at: Option<Timestamp>,
    /// Signature counter last seen.
    pub sign_count: i64,
    /// Device, as reported at registration (R20).
    pub device: Option<String>,
    /// Device profile (`work`/`personal`), as reported at registration (R20).
    pub device_profile: Option<String>,
    /// Set when a counter regression suggested a clone (R22).
    pub flagged_clone: bool,
    /// Disabled by an administrator (R26): kept, and refused at sign-in until enabled again.
    #[serde(default)]
    pub disabled: bool,
}

/// An Android profile (R20): a passkey made in one is usable only from that one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AndroidProfile {
    /// The personal profile.
    Personal,
    /// The work profile.
    Work,
}

impl AndroidProfile {
    /// The other one.
    pub fn other(self) -> AndroidProfile {
        match self {
            AndroidProfile::Personal => AndroidProfile::Work,
            AndroidProfile::Work => AndroidProfile::Personal,
        }
    }
}

impl Passkey {
    /// The Android profile it was made in, as the client reported it (R20); `None` when it
    /// names none (a security key, a desktop, an iPhone).
    pub fn android_profile(&self) -> Option<AndroidProfile> {
        match self.device_profile.as_deref().map(str::trim) {
            Some(p) if p.eq_ignore_ascii_case("work") => Some(AndroidProfile::Work),
            Some(p) if p.eq_ignore_ascii_case("personal") => Some(AndroidProfile::Personal),
            _ => None,
        }
    }
}

/// What a verified registration response says about the authenticator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegistrationFacts {
    /// AAGUID from authenticatorData.
    pub aaguid: Uuid,
    /// The attestation had a certificate chain.
    pub has_chain: bool,
    /// That chain verified to a trusted root.
    pub trusted: bool,
    /// The AAGUID is attested: the statement signs it and the trusted root vouches for
    /// that model (R32). Otherwise it is only self-reported by the authenticator.
    pub aaguid_attested: bool,
    /// Self attestation.
    pub self_attested: bool,
    /// Backup-eligible (synced) key.
    pub synced: bool,
}

/// One set of rules a passkey must meet: a profile, or the method's own settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ruleset {
    /// Profile id, or `None` for the method's settings.
    pub profile_id: Option<Uuid>,
    /// Profile name (or "default settings").
    pub name: String,
    /// Attestation required at registration.
    pub attestation_required: bool,
    /// Key restrictions (registration and sign-in).
    pub key_restrictions: KeyRestrictions,
    /// The kinds of passkey allowed (device-bound, synced).
    pub types: PasskeyTypes,
}

fn scope_check(
    cfg: &Fido2Configuration,
    member_of: &[Uuid],
) -> Result<Vec<targets::IncludeTarget>, PasskeyRefusal> {
    if cfg.state == MethodState::Disabled {
        return Err(PasskeyRefusal::MethodDisabled);
    }
    match targets::scope(&cfg.include_targets, &cfg.exclude_targets, member_of) {
        Scope::Excluded(_) => Err(PasskeyRefusal::NotInScope(ScopeMiss::Excluded)),
        Scope::NotIncluded => Err(PasskeyRefusal::NotInScope(ScopeMiss::NotIncluded)),
        Scope::Included(_) => Ok(cfg
            .include_targets
            .iter()
            .filter(|t| t.id.covers(member_of))
            .cloned()
            .collect()),
    }
}

/// R9: the rulesets that apply to a user — the profiles their include targets allow,
/// or the method's own settings when no target names a profile.
pub fn rulesets(
    cfg: &Fido2Configuration,
    member_of: &[Uuid],
) -> Result<Vec<Ruleset>, PasskeyRefusal> {
    let matched = scope_check(cfg, member_of)?;
    let ids: Vec<Uuid> = matched
        .iter()
        .flat_map(|t| t.allowed_passkey_profiles.iter().flatten().copied())
        .collect();
    let profiles: Vec<Ruleset> = cfg
        .passkey_profiles
        .iter()
        .filter(|p| ids.contains(&p.id))
        .map(|p| Ruleset {
            profile_id: Some(p.id),
            name: p.name.clone(),
            attestation_required: p.attestation_enforcement
                == AttestationEnforcement::RegistrationOnly,
            key_restrictions: p.key_restrictions.clone(),
            types: p.passkey_types,
        })
        .collect();
    if !profiles.is_empty() {
        return Ok(profiles);
    }
    Ok(vec![Ruleset {
        profile_id: None,
        name: "default settings".into(),
        attestation_required: cfg.is_attestation_enforced,
        key_restrictions: cfg.key_restrictions.clone(),
        types: PasskeyTypes::BOTH,
    }])
}

/// R5: whether key restrictions let this model through.
pub fn key_allowed(kr: &KeyRestrictions, aaguid: Uuid) -> Result<(), PasskeyRefusal> {
    if !kr.is_enforced {
        return Ok(());
    }
    let listed = kr.aa_guids.contains(&aaguid);
    match (kr.enforcement_type, listed) {
        (EnforcementType::Allow, false) => Err(PasskeyRefusal::KeyRestricted {
            aaguid,
            allow_list: true,
        }),
        (EnforcementType::Block, true) => Err(PasskeyRefusal::KeyRestricted {
            aaguid,
            allow_list: false,
        }),
        _ => Ok(()),
    }
}

/// What the registration options must ask for (R17), once the user may register at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrationPlan {
    /// Ask for `direct` attestation (some applicable ruleset checks it).
    pub attestation_direct: bool,
}

/// R1–R3, R14: may this user start adding a passkey now?
pub fn may_start_registration(
    cfg: &Fido2Configuration,
    member_of: &[Uuid],
    session: &Session,
    now: Timestamp,
) -> Result<RegistrationPlan, PasskeyRefusal> {
    let rules = rulesets(cfg, member_of)?;
    if !cfg.is_self_service_registration_allowed {
        return Err(PasskeyRefusal::SelfServiceDisabled);
    }
    if !mfa_is_fresh(session, now) {
        return Err(PasskeyRefusal::StepUpRequired);
    }
    Ok(RegistrationPlan {
        attestation_direct: rules.iter().any(|r| r.attestation_required),
    })
}

/// R14: the session holds a strong claim from the last [`MFA_FRESHNESS`].
pub fn mfa_is_fresh(session: &Session, now: Timestamp) -> bool {
    let strong = crate::session::is_mfa(&session.methods);
    strong && session.auth_time >= now.saturating_sub(MFA_FRESHNESS) && session.is_live(now)
}

fn meets(r: &Ruleset, facts: &RegistrationFacts) -> Result<(), PasskeyRefusal> {
    if r.attestation_required {
        if !facts.has_chain {
            return Err(PasskeyRefusal::AttestationMissing {
                self_attested: facts.self_attested,
            });
        }
        if !facts.trusted {
            return Err(PasskeyRefusal::AttestationUntrusted(facts.aaguid));
        }
        // With attestation enforced, an allow list means "only these models, proven": a
        // trusted chain whose statement does not sign the AAGUID proves no model.
        let kr = &r.key_restrictions;
        if kr.is_enforced && kr.enforcement_type == EnforcementType::Allow && !facts.aaguid_attested
        {
            return Err(PasskeyRefusal::AaguidNotAttested(facts.aaguid));
        }
    }
    key_allowed(&r.key_restrictions, facts.aaguid)?;
    if !r.types.accepts(facts.synced) {
        return Err(PasskeyRefusal::NoProfileMatch(ProfileMiss::Kind {
            profile: r.name.clone(),
            synced: facts.synced,
        }));
    }
    Ok(())
}

fn first_fit(
    rules: &[Ruleset],
    check: impl Fn(&Ruleset) -> Result<(), PasskeyRefusal>,
) -> Result<&Ruleset, PasskeyRefusal> {
    let mut first_err = None;
    for r in rules {
        match check(r) {
            Ok(()) => return Ok(r),
            Err(e) => {
                first_err.get_or_insert(e);
            }
        }
    }
    // With one ruleset its own reason is the clearest; with several, say none fit.
    match (rules.len(), first_err) {
        (1, Some(e)) => Err(e),
        (checked, Some(e)) => Err(PasskeyRefusal::NoProfileMatch(ProfileMiss::NoneFits {
            checked,
            first: Box::new(e),
        })),
        (_, None) => Err(PasskeyRefusal::NoProfileMatch(ProfileMiss::NoneApplies)),
    }
}

/// R4, R5, R9: accepts a verified registration under the first ruleset it fully meets.
pub fn decide_registration(
    cfg: &Fido2Configuration,
    member_of: &[Uuid],
    facts: &RegistrationFacts,
) -> Result<Ruleset, PasskeyRefusal> {
    let rules = rulesets(cfg, member_of)?;
    first_fit(&rules, |r| meets(r, facts)).cloned()
}

/// R1, R2, R5, R9, R22, R26: whether a stored passkey can sign its owner in now, and why not.
/// Attestation is not re-checked: it applies at registration only.
pub fn sign_in_usability(
    cfg: &Fido2Configuration,
    member_of: &[Uuid],
    passkey: &Passkey,
) -> Result<(), PasskeyRefusal> {
    if passkey.disabled {
        return Err(PasskeyRefusal::Disabled);
    }
    if passkey.flagged_clone {
        return Err(PasskeyRefusal::FlaggedClone);
    }
    let rules = rulesets(cfg, member_of)?;
    let facts = RegistrationFacts {
        aaguid: passkey.aaguid,
        has_chain: true,
        trusted: true,
        aaguid_attested: passkey.attested,
        self_attested: false,
        synced: passkey.synced,
    };
    first_fit(&rules, |r| {
        let r = Ruleset {
            attestation_required: false,
            ..r.clone()
        };
        meets(&r, &facts)
    })
    .map(|_| ())
}

/// The passkeys this user could register under the policy (R1–R5, R9), as strengths would
/// see them: one per ruleset and model of `models` (or named by the ruleset's key
/// restrictions) that the key restrictions let through — its
/// AAGUID attested exactly when the ruleset enforces attestation (R17, R32: without it the
/// options ask for none and the AAGUID is only self-reported) — and a passkey of a model no
/// list names, when the restrictions let such a model through. Empty when the user may not
/// register a passkey at all (method off, out of scope, no self-service).
pub fn registrable(
    cfg: &Fido2Configuration,
    member_of: &[Uuid],
    models: &[Uuid],
) -> Vec<UsedMethod> {
    let Ok(rules) = rulesets(cfg, member_of) else {
        return vec![];
    };
    if !cfg.is_self_service_registration_allowed {
        return vec![];
    }
    let mut out = vec![];
    for r in &rules {
        let kr = &r.key_restrictions;
        // A model no list names: any, unless an enforced allow list leaves it out.
        if !(kr.is_enforced && kr.enforcement_type == EnforcementType::Allow) {
            out.push(UsedMethod::passkey(None, false));
        }
        // The models asked about, and the ones the restrictions themselves name.
        out.extend(
            models
                .iter()
                .chain(&kr.aa_guids)
                .filter(|m| key_allowed(kr, **m).is_ok())
                .map(|m| UsedMethod::passkey(Some(*m), r.attestation_required)),
        );
    }
    out.sort_by_key(|m| (m.aaguid, m.aaguid_attested));
    out.dedup();
    out
}

/// Whether the method or any of its passkey profiles enforces attestation at registration,
/// so that some passkey could carry an attested AAGUID (R4, R32).
pub fn some_ruleset_enforces_attestation(cfg: &Fido2Configuration) -> bool {
    cfg.is_attestation_enforced
        || cfg
            .passkey_profiles
            .iter()
            .any(|p| p.attestation_enforcement == AttestationEnforcement::RegistrationOnly)
}

/// R6: the guided "Passkey in Authenticator" option is offered only when key restrictions
/// are an enforced allow list holding both Authenticator AAGUIDs.
pub fn authenticator_option_offered(cfg: &Fido2Configuration) -> bool {
    let kr = &cfg.key_restrictions;
    kr.is_enforced
        && kr.enforcement_type == EnforcementType::Allow
        && AUTHENTICATOR_AAGUIDS
            .iter()
            .all(|a| kr.aa_guids.contains(a))
}

/// R16: the legacy registration flow (no attestation asked) is hidden whenever some
/// ruleset of the user enforces attestation — it could only create orphan credentials.
pub fn legacy_flow_offered(cfg: &Fido2Configuration, member_of: &[Uuid]) -> bool {
    rulesets(cfg, member_of)
        .map(|rs| rs.iter().all(|r| !r.attestation_required))
        .unwrap_or(false)
}

#[cfg(test)]
mod tests;
