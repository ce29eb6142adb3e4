//! Traps that lie in facts the sign-in engine does not read (R50): whether a model can be
//! attested at all (R4, R7), which Android profile passkeys live in (R20), and how old the
//! user's phones are (R19). Each reads the same settings through the same functions
//! registration uses ([`passkey::rulesets`], [`passkey::key_allowed`]).

use std::collections::BTreeSet;
use uuid::Uuid;

use super::finding::{Setting, Severity};
use super::{Subject, Tenant};
use crate::conditional_access::platform::Platform;
use crate::device::Ownership;
use crate::passkey::{self, AndroidProfile, Passkey};
use crate::policy::fido2::{EnforcementType, AUTHENTICATOR_AAGUIDS};

/// What can vouch for a registration's attestation (R4, R7): the models the metadata store
/// holds roots for (the nil AAGUID's roots vouch for every model), and whether the
/// Authenticator's app attestation service is configured.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AttestationTrust {
    /// Models with at least one attestation root.
    pub rooted: BTreeSet<Uuid>,
    /// Whether an app attestation service vouches for the Authenticator AAGUIDs.
    pub app_attestation: bool,
}

impl AttestationTrust {
    /// Whether a registration of this model could verify to a trusted root.
    pub fn verifiable(&self, model: Uuid) -> bool {
        if AUTHENTICATOR_AAGUIDS.contains(&model) {
            self.app_attestation
        } else {
            self.rooted.contains(&model) || self.rooted.contains(&Uuid::nil())
        }
    }

    /// Whether some model `allowed` lets through could be attested.
    fn some_model(&self, allowed: impl Fn(Uuid) -> bool) -> bool {
        self.rooted.contains(&Uuid::nil())
            || self.rooted.iter().any(|m| allowed(*m))
            || (self.app_attestation && AUTHENTICATOR_AAGUIDS.iter().any(|m| allowed(*m)))
    }
}

/// `attestationUnverifiable`: a ruleset of this user enforces attestation, and a model it
/// allows cannot be attested (or, with no allow list, no model can). A blocker for a user
/// who holds no passkey and could register none.
pub(super) fn attestation_unverifiable(
    t: &Tenant<'_>,
    groups: &[Uuid],
    holds_passkey: bool,
) -> Option<(Severity, Vec<Setting>)> {
    let fido2 = t.methods.fido2;
    if !fido2.is_self_service_registration_allowed {
        return None;
    }
    let rules = passkey::rulesets(fido2, groups).ok()?;
    let mut unverifiable = BTreeSet::new();
    let mut some_path = false;
    for r in &rules {
        if !r.attestation_required {
            some_path = true;
            continue;
        }
        let kr = &r.key_restrictions;
        if kr.is_enforced && kr.enforcement_type == EnforcementType::Allow {
            for m in &kr.aa_guids {
                if t.trust.verifiable(*m) {
                    some_path = true;
                } else {
                    unverifiable.insert(*m);
                }
            }
        } else if t.trust.some_model(|m| passkey::key_allowed(kr, m).is_ok()) {
            some_path = true;
        } else {
            // No list names a model, and no root vouches for any.
            unverifiable.insert(Uuid::nil());
        }
    }
    if unverifiable.is_empty() {
        return None;
    }
    let severity = if !holds_passkey && !some_path {
        Severity::Blocker
    } else {
        Severity::Warning
    };
    let mut settings = vec![];
    for m in unverifiable {
        settings.push(Setting::AttestationEnforced(m));
        if m.is_nil() {
            settings.push(Setting::MetadataRoots(m));
            settings.push(Setting::AppAttestationService);
        } else if AUTHENTICATOR_AAGUIDS.contains(&m) {
            settings.push(Setting::AppAttestationService);
        } else {
            settings.push(Setting::MetadataRoots(m));
        }
    }
    settings.sort();
    settings.dedup();
    Some((severity, settings))
}

/// `androidSingleProfile`: the user works in both Android profiles — a personally owned
/// Android device is enrolled, which is done through a work profile beside the personal one —
/// and every usable passkey made on Android is in one of them. Returns the profile without
/// one.
pub(super) fn single_android_profile(t: &Tenant<'_>, s: &Subject<'_>) -> Option<AndroidProfile> {
    let profiles = usable_profiles(t, s);
    let both_in_use = s.devices.iter().any(|d| {
        d.platform == Platform::Android
            && d.properties.device_ownership == Some(Ownership::Personal)
    });
    match (profiles.first(), profiles.len(), both_in_use) {
        (Some(only), 1, true) => Some(only.other()),
        _ => None,
    }
}

/// The Android profiles the user's usable passkeys were made in (R20).
pub(super) fn usable_profiles(t: &Tenant<'_>, s: &Subject<'_>) -> BTreeSet<AndroidProfile> {
    s.passkeys
        .iter()
        .filter(|p| passkey::sign_in_usability(t.methods.fido2, s.groups, p).is_ok())
        .filter_map(Passkey::android_profile)
        .collect()
}

/// R19: the user has phones whose system versions are known, and none of them can hold a
/// passkey in the Authenticator (below iOS 17 / Android 14).
pub(super) fn phones_too_old(s: &Subject<'_>) -> bool {
    let phones: Vec<Option<bool>> = s
        .devices
        .iter()
        .filter(|d| d.platform.is_mobile())
        .map(|d| d.runs_authenticator_passkeys())
        .collect();
    !phones.is_empty() && phones.iter().all(|p| *p == Some(false))
}
