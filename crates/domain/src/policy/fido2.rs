//! The Passkey (FIDO2) method configuration (R1–R9, graph-api.md §1.4) — its shape and
//! validation. What it means at registration and sign-in is decided elsewhere.

use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use uuid::Uuid;

use super::{invalid, ExcludeTarget, IncludeTarget, MethodState, PolicyError};

/// At most this many passkey profiles, the default included (R9).
pub const MAX_PROFILES: usize = 3;

/// The Microsoft Authenticator passkey AAGUIDs (R6): Android, then iOS.
pub const AUTHENTICATOR_AAGUIDS: [Uuid; 2] = [
    uuid::uuid!("de1e552d-db1d-4423-a619-566b625cdc84"),
    uuid::uuid!("90a3ccdf-635c-4729-a248-9b709135078f"),
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
    pub aa_guids: Vec<Uuid>,
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
    /// The profile's id.
    pub id: Uuid,
    /// Required name.
    pub name: String,
    /// Flags: `deviceBound`, `synced` or `deviceBound,synced`.
    #[serde(default)]
    pub passkey_types: PasskeyTypes,
    /// Attestation at registration.
    #[serde(default)]
    pub attestation_enforcement: AttestationEnforcement,
    /// The profile's own key restrictions.
    #[serde(default)]
    pub key_restrictions: KeyRestrictions,
}

/// `passkeyTypes`: which kinds of passkey a profile accepts — at least one. On the wire a
/// flags string (`"deviceBound,synced"`), parsed once; written back in Graph's canonical order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasskeyTypes {
    device_bound: bool,
    synced: bool,
}

impl Default for PasskeyTypes {
    fn default() -> Self {
        PasskeyTypes::BOTH
    }
}

impl PasskeyTypes {
    /// Device-bound and synced passkeys.
    pub const BOTH: PasskeyTypes = PasskeyTypes {
        device_bound: true,
        synced: true,
    };
    /// Device-bound passkeys only.
    pub const DEVICE_BOUND: PasskeyTypes = PasskeyTypes {
        device_bound: true,
        synced: false,
    };
    /// Synced passkeys only.
    pub const SYNCED: PasskeyTypes = PasskeyTypes {
        device_bound: false,
        synced: true,
    };

    /// Whether a passkey of this kind (`synced` or device-bound) is accepted.
    pub fn accepts(self, synced: bool) -> bool {
        if synced {
            self.synced
        } else {
            self.device_bound
        }
    }

    /// Parses the flags, in any order and spacing (`"synced, deviceBound"`).
    pub fn parse(s: &str) -> Result<PasskeyTypes, PolicyError> {
        let bad = || {
            invalid(
                "passkeyTypes",
                format!("'{s}' is not one of 'deviceBound', 'synced', 'deviceBound,synced'"),
            )
        };
        let (mut device_bound, mut synced) = (false, false);
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            match part {
                "deviceBound" => device_bound = true,
                "synced" => synced = true,
                _ => return Err(bad()),
            }
        }
        if device_bound || synced {
            Ok(PasskeyTypes {
                device_bound,
                synced,
            })
        } else {
            Err(bad())
        }
    }
}

impl std::fmt::Display for PasskeyTypes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match (self.device_bound, self.synced) {
            (true, true) => "deviceBound,synced",
            (true, false) => "deviceBound",
            _ => "synced",
        })
    }
}

impl std::str::FromStr for PasskeyTypes {
    type Err = PolicyError;
    fn from_str(s: &str) -> Result<Self, PolicyError> {
        PasskeyTypes::parse(s)
    }
}

crate::serde_as_text!(PasskeyTypes);

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
    pub default_passkey_profile: Option<Uuid>,
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

fn check_aaguids(field: &'static str, list: &[Uuid]) -> Result<(), PolicyError> {
    let mut seen = HashSet::new();
    for a in list {
        if !seen.insert(a) {
            return Err(invalid(field, format!("AAGUID {a} is listed twice")));
        }
    }
    Ok(())
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
        if on {
            if !(kr.is_enforced && kr.enforcement_type == EnforcementType::Allow) {
                kr.aa_guids.clear();
            }
            kr.is_enforced = true;
            kr.enforcement_type = EnforcementType::Allow;
            for a in AUTHENTICATOR_AAGUIDS {
                if !kr.aa_guids.contains(&a) {
                    kr.aa_guids.push(a);
                }
            }
        } else {
            kr.aa_guids.retain(|a| !AUTHENTICATOR_AAGUIDS.contains(a));
            if kr.is_enforced
                && kr.enforcement_type == EnforcementType::Allow
                && kr.aa_guids.is_empty()
            {
                kr.is_enforced = false;
            }
        }
        c
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
            if !ids.insert(p.id) {
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
            check_aaguids(
                "passkeyProfiles.keyRestrictions.aaGuids",
                &p.key_restrictions.aa_guids,
            )?;
        }
        let known = |id: &Uuid| ids.contains(id);
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

    fn profile(id: &Uuid, name: &str) -> PasskeyProfile {
        PasskeyProfile {
            odata_type: None,
            id: *id,
            name: name.into(),
            passkey_types: PasskeyTypes::BOTH,
            attestation_enforcement: AttestationEnforcement::Disabled,
            key_restrictions: KeyRestrictions::default(),
        }
    }

    #[test]
    fn r9_at_most_three_profiles_and_references_must_exist() {
        let ids: Vec<Uuid> = (0..4).map(|_| Uuid::new_v4()).collect();
        let mut c = Fido2Configuration {
            passkey_profiles: ids
                .iter()
                .take(3)
                .enumerate()
                .map(|(i, id)| profile(id, &format!("p{i}")))
                .collect(),
            default_passkey_profile: Some(ids[0]),
            ..Default::default()
        };
        assert_eq!(c.validate(), Ok(()));
        c.passkey_profiles.push(profile(&ids[3], "p3"));
        assert!(c.validate().is_err());
        c.passkey_profiles.pop();
        c.default_passkey_profile = Some(ids[3]);
        assert!(c.validate().is_err());
        c.default_passkey_profile = Some(ids[0]);
        c.include_targets[0].allowed_passkey_profiles = Some(vec![ids[3]]);
        assert!(c.validate().is_err());
    }

    #[test]
    fn r6_the_shortcut_adds_and_removes_the_authenticator_aaguids() {
        let other = uuid::uuid!("cb69481e-8ff7-4039-93ec-0a2729a154a8");
        let base = Fido2Configuration {
            key_restrictions: KeyRestrictions {
                odata_type: None,
                is_enforced: true,
                enforcement_type: EnforcementType::Allow,
                aa_guids: vec![other],
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
                aa_guids: vec![uuid::uuid!("cb69481e-8ff7-4039-93ec-0a2729a154a8")],
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
    fn aaguids_and_passkey_types_are_parsed_on_the_way_in() {
        let parse = |v: serde_json::Value| {
            serde_json::from_value::<Fido2Configuration>(v).map_err(|e| e.to_string())
        };
        let bad = parse(serde_json::json!({"state": "enabled",
            "keyRestrictions": {"aaGuids": [AUTHENTICATOR_AAGUIDS[0], "not-a-guid"]}}));
        assert!(bad.is_err(), "an AAGUID that is not a GUID does not parse");
        let upper = AUTHENTICATOR_AAGUIDS[0].to_string().to_uppercase();
        let c = parse(serde_json::json!({"state": "enabled",
            "keyRestrictions": {"isEnforced": true, "enforcementType": "allow", "aaGuids": [upper]}}))
        .unwrap();
        assert_eq!(c.key_restrictions.aa_guids, vec![AUTHENTICATOR_AAGUIDS[0]]);
        let mut twice = c.clone();
        twice
            .key_restrictions
            .aa_guids
            .push(AUTHENTICATOR_AAGUIDS[0]);
        assert!(twice.validate().is_err(), "an AAGUID listed twice");
        assert_eq!(
            PasskeyTypes::parse("synced, deviceBound").map(|t| t.to_string()),
            Ok("deviceBound,synced".to_string())
        );
        assert!(PasskeyTypes::parse("cloud").is_err());
        assert!(PasskeyTypes::parse("deviceBound,cloud").is_err());
        assert!(PasskeyTypes::parse(" , ").is_err());
        assert!(
            PasskeyTypes::DEVICE_BOUND.accepts(false) && !PasskeyTypes::DEVICE_BOUND.accepts(true)
        );
        let p = profile(&Uuid::new_v4(), "p");
        let back: PasskeyProfile =
            serde_json::from_value(serde_json::to_value(&p).unwrap()).unwrap();
        assert_eq!(back, p, "a profile round-trips through its Graph JSON");
    }
}
