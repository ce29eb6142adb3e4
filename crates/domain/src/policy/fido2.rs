//! The Passkey (FIDO2) method configuration (R1–R9, graph-api.md §1.4) — its shape and
//! validation. What it means at registration and sign-in is decided elsewhere.

use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use uuid::Uuid;

use super::{invalid, ExcludeTarget, IncludeTarget, MethodState, PolicyError};

/// At most this many passkey profiles, the default included (R9).
pub const MAX_PROFILES: usize = 3;

/// The Microsoft Authenticator passkey AAGUIDs (R6): Android, then iOS.
pub const AUTHENTICATOR_AAGUIDS: [&str; 2] = [
    "de1e552d-db1d-4423-a619-566b625cdc84",
    "90a3ccdf-635c-4729-a248-9b709135078f",
];

/// `allow` or `block`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub enum EnforcementType {
    /// Only the listed AAGUIDs.
    Allow,
    /// Everything but the listed AAGUIDs.
    #[default]
    Block,
}

/// `fido2KeyRestrictions` (R5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KeyRestrictions {
    /// Accepted on input for SDK compatibility.
    #[serde(rename = "@odata.type", default, skip_serializing)]
    pub odata_type: Option<String>,
    /// Whether the list applies at all.
    #[serde(default)]
    pub is_enforced: bool,
    /// Allow list or block list.
    #[serde(default)]
    pub enforcement_type: EnforcementType,
    /// Authenticator model ids.
    #[serde(default)]
    pub aa_guids: Vec<String>,
}

/// `disabled` or `registrationOnly`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub enum AttestationEnforcement {
    /// No attestation required.
    #[default]
    Disabled,
    /// Attestation checked at registration only.
    RegistrationOnly,
}

/// `passkeyProfile` (R9).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PasskeyProfile {
    /// Accepted on input for SDK compatibility.
    #[serde(rename = "@odata.type", default, skip_serializing)]
    pub odata_type: Option<String>,
    /// GUID.
    pub id: String,
    /// Required name.
    pub name: String,
    /// Flags: `deviceBound`, `synced` or `deviceBound,synced`.
    #[serde(default = "both_types")]
    pub passkey_types: String,
    /// Attestation at registration.
    #[serde(default)]
    pub attestation_enforcement: AttestationEnforcement,
    /// The profile's own key restrictions.
    #[serde(default)]
    pub key_restrictions: KeyRestrictions,
}

fn both_types() -> String {
    "deviceBound,synced".into()
}

fn all_users() -> Vec<IncludeTarget> {
    vec![IncludeTarget::all_users()]
}

fn yes() -> bool {
    true
}

/// `fido2AuthenticationMethodConfiguration`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Fido2Configuration {
    /// R1.
    pub state: MethodState,
    /// R2 (Graph's default: all users).
    #[serde(default = "all_users")]
    pub include_targets: Vec<IncludeTarget>,
    /// R2; exclusion wins.
    #[serde(default)]
    pub exclude_targets: Vec<ExcludeTarget>,
    /// R3.
    #[serde(default = "yes")]
    pub is_self_service_registration_allowed: bool,
    /// R4.
    #[serde(default = "yes")]
    pub is_attestation_enforced: bool,
    /// R5.
    #[serde(default)]
    pub key_restrictions: KeyRestrictions,
    /// R9.
    #[serde(default)]
    pub passkey_profiles: Vec<PasskeyProfile>,
    /// Id of the baseline profile, once profiles are in use.
    #[serde(default)]
    pub default_passkey_profile: Option<String>,
}

impl Default for Fido2Configuration {
    /// Graph's defaults (graph-api.md §1.4).
    fn default() -> Self {
        Fido2Configuration {
            state: MethodState::Disabled,
            include_targets: vec![IncludeTarget::all_users()],
            exclude_targets: vec![],
            is_self_service_registration_allowed: true,
            is_attestation_enforced: true,
            key_restrictions: KeyRestrictions::default(),
            passkey_profiles: vec![],
            default_passkey_profile: None,
        }
    }
}

fn check_aaguids(field: &'static str, list: &[String]) -> Result<(), PolicyError> {
    let mut seen = HashSet::new();
    for a in list {
        let id = Uuid::parse_str(a)
            .map_err(|_| invalid(field, format!("'{a}' is not an AAGUID (expected a GUID)")))?;
        if !seen.insert(id) {
            return Err(invalid(field, format!("AAGUID {a} is listed twice")));
        }
    }
    Ok(())
}

/// Normalises a `passkeyTypes` flags string (`"deviceBound, synced"` → `"deviceBound,synced"`).
pub fn normalise_passkey_types(s: &str) -> Result<String, PolicyError> {
    let mut parts: Vec<&str> = s
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
    if parts.is_empty()
        || parts
            .iter()
            .any(|p| !matches!(*p, "deviceBound" | "synced"))
    {
        return Err(invalid(
            "passkeyTypes",
            format!("'{s}' is not one of 'deviceBound', 'synced', 'deviceBound,synced'"),
        ));
    }
    parts.sort_unstable();
    parts.dedup();
    Ok(parts.join(","))
}

impl Fido2Configuration {
    /// R6: the Authenticator shortcut. On: key restrictions become an enforced allow list
    /// that holds both Authenticator AAGUIDs (added to what is already allowed; a block
    /// list is replaced). Off: the two AAGUIDs leave the list and the rest stays as it is —
    /// unless nothing is left, and then enforcement goes off: an enforced empty allow list
    /// would refuse every passkey, which switching a shortcut off must never do.
    pub fn with_authenticator_shortcut(&self, on: bool) -> Fido2Configuration {
        let mut c = self.clone();
        let kr = &mut c.key_restrictions;
        let is_authenticator = |a: &String| {
            AUTHENTICATOR_AAGUIDS
                .iter()
                .any(|x| x.eq_ignore_ascii_case(a))
        };
        if on {
            if !(kr.is_enforced && kr.enforcement_type == EnforcementType::Allow) {
                kr.aa_guids.clear();
            }
            kr.is_enforced = true;
            kr.enforcement_type = EnforcementType::Allow;
            for a in AUTHENTICATOR_AAGUIDS {
                if !kr.aa_guids.iter().any(|g| g.eq_ignore_ascii_case(a)) {
                    kr.aa_guids.push(a.to_string());
                }
            }
        } else {
            kr.aa_guids.retain(|a| !is_authenticator(a));
            if kr.is_enforced
                && kr.enforcement_type == EnforcementType::Allow
                && kr.aa_guids.is_empty()
            {
                kr.is_enforced = false;
            }
        }
        c
    }

    /// Writes flags enums the way Graph emits them (`"deviceBound,synced"`, no spaces).
    pub fn normalise(&mut self) {
        for p in &mut self.passkey_profiles {
            if let Ok(n) = normalise_passkey_types(&p.passkey_types) {
                p.passkey_types = n;
            }
        }
    }

    /// Shape rules of the settings: AAGUIDs are GUIDs, profiles at most three with unique
    /// ids and names, targets name existing profiles, the default profile exists.
    pub fn validate(&self) -> Result<(), PolicyError> {
        check_aaguids("keyRestrictions.aaGuids", &self.key_restrictions.aa_guids)?;
        if self.passkey_profiles.len() > MAX_PROFILES {
            return Err(invalid(
                "passkeyProfiles",
                format!(
                    "{} profiles given; at most {MAX_PROFILES} are allowed, the default included",
                    self.passkey_profiles.len()
                ),
            ));
        }
        let mut ids = HashSet::new();
        let mut names = HashSet::new();
        for p in &self.passkey_profiles {
            let id = Uuid::parse_str(&p.id)
                .map_err(|_| invalid("passkeyProfiles.id", format!("'{}' is not a GUID", p.id)))?;
            if !ids.insert(id) {
                return Err(invalid(
                    "passkeyProfiles.id",
                    format!("profile id {} is used twice", p.id),
                ));
            }
            if p.name.trim().is_empty() {
                return Err(invalid(
                    "passkeyProfiles.name",
                    "every profile needs a name",
                ));
            }
            if !names.insert(p.name.trim().to_lowercase()) {
                return Err(invalid(
                    "passkeyProfiles.name",
                    format!("two profiles are named '{}'", p.name),
                ));
            }
            normalise_passkey_types(&p.passkey_types)?;
            check_aaguids(
                "passkeyProfiles.keyRestrictions.aaGuids",
                &p.key_restrictions.aa_guids,
            )?;
        }
        let known = |s: &str| {
            Uuid::parse_str(s)
                .map(|u| ids.contains(&u))
                .unwrap_or(false)
        };
        match &self.default_passkey_profile {
            Some(d) if !known(d) => {
                return Err(invalid(
                    "defaultPasskeyProfile",
                    format!("'{d}' is not one of the passkeyProfiles"),
                ))
            }
            None if !self.passkey_profiles.is_empty() => {
                return Err(invalid(
                    "defaultPasskeyProfile",
                    "must name one of the passkeyProfiles once profiles are in use",
                ))
            }
            _ => {}
        }
        for t in &self.include_targets {
            for p in t.allowed_passkey_profiles.iter().flatten() {
                if !known(p) {
                    return Err(invalid(
                        "includeTargets.allowedPasskeyProfiles",
                        format!(
                            "target '{}' names profile '{p}', which does not exist",
                            t.id
                        ),
                    ));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(id: &str, name: &str) -> PasskeyProfile {
        PasskeyProfile {
            odata_type: None,
            id: id.into(),
            name: name.into(),
            passkey_types: both_types(),
            attestation_enforcement: AttestationEnforcement::Disabled,
            key_restrictions: KeyRestrictions::default(),
        }
    }

    #[test]
    fn r9_at_most_three_profiles_and_references_must_exist() {
        let ids: Vec<String> = (0..4).map(|_| Uuid::new_v4().to_string()).collect();
        let mut c = Fido2Configuration {
            passkey_profiles: ids
                .iter()
                .take(3)
                .enumerate()
                .map(|(i, id)| profile(id, &format!("p{i}")))
                .collect(),
            default_passkey_profile: Some(ids[0].clone()),
            ..Default::default()
        };
        assert_eq!(c.validate(), Ok(()));
        c.passkey_profiles.push(profile(&ids[3], "p3"));
        assert!(c.validate().is_err());
        c.passkey_profiles.pop();
        c.default_passkey_profile = Some(ids[3].clone());
        assert!(c.validate().is_err());
        c.default_passkey_profile = Some(ids[0].clone());
        c.include_targets[0].allowed_passkey_profiles = Some(vec![ids[3].clone()]);
        assert!(c.validate().is_err());
    }

    #[test]
    fn r6_the_shortcut_adds_and_removes_the_authenticator_aaguids() {
        let other = "cb69481e-8ff7-4039-93ec-0a2729a154a8".to_string();
        let base = Fido2Configuration {
            key_restrictions: KeyRestrictions {
                odata_type: None,
                is_enforced: true,
                enforcement_type: EnforcementType::Allow,
                aa_guids: vec![other.clone()],
            },
            ..Default::default()
        };
        let on = base.with_authenticator_shortcut(true);
        assert_eq!(
            on.key_restrictions.aa_guids.len(),
            3,
            "added to what is already allowed"
        );
        let off = on.with_authenticator_shortcut(false);
        assert_eq!(off.key_restrictions.aa_guids, vec![other]);
        assert!(
            off.key_restrictions.is_enforced,
            "the administrator's own list stays enforced"
        );
        let from_default = Fido2Configuration::default()
            .with_authenticator_shortcut(true)
            .with_authenticator_shortcut(false);
        assert!(
            !from_default.key_restrictions.is_enforced
                && from_default.key_restrictions.aa_guids.is_empty(),
            "on then off from the default state never leaves an enforced empty allow list"
        );
        let from_block = Fido2Configuration {
            key_restrictions: KeyRestrictions {
                is_enforced: true,
                enforcement_type: EnforcementType::Block,
                aa_guids: vec!["cb69481e-8ff7-4039-93ec-0a2729a154a8".into()],
                odata_type: None,
            },
            ..Default::default()
        }
        .with_authenticator_shortcut(true);
        assert_eq!(
            (
                from_block.key_restrictions.enforcement_type,
                from_block.key_restrictions.aa_guids.len()
            ),
            (EnforcementType::Allow, 2),
            "a block list is replaced"
        );
    }

    #[test]
    fn aaguids_must_be_guids() {
        let mut c = Fido2Configuration::default();
        c.key_restrictions.aa_guids = vec![AUTHENTICATOR_AAGUIDS[0].into(), "not-a-guid".into()];
        assert!(c.validate().is_err());
        assert_eq!(
            normalise_passkey_types("synced, deviceBound").ok(),
            Some("deviceBound,synced".to_string())
        );
        assert!(normalise_passkey_types("cloud").is_err());
    }
}
