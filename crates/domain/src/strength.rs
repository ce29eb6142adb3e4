//! Authentication strengths (R30–R32, graph-api.md §4): the three built-ins with their fixed
//! ids, custom strengths with allowed combinations and an optional passkey AAGUID
//! restriction, and whether the methods of a sign-in satisfy one.

use serde_json::{json, Value};
use uuid::Uuid;

/// A built-in strength.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BuiltInStrength {
    /// Fixed id.
    pub id: &'static str,
    /// Name.
    pub display_name: &'static str,
    /// Description.
    pub description: &'static str,
    /// Allowed method combinations (flags strings).
    pub allowed_combinations: &'static [&'static str],
}

/// The built-in "Multifactor authentication" strength's id (equivalent to the `mfa` control).
pub const MFA_STRENGTH_ID: &str = "00000000-0000-0000-0000-000000000002";

/// Multifactor authentication, Passwordless MFA, Phishing-resistant MFA.
pub const BUILT_IN: [BuiltInStrength; 3] = [
    BuiltInStrength {
        id: MFA_STRENGTH_ID,
        display_name: "Multifactor authentication",
        description: "Combinations of methods that satisfy strong authentication, such as a password + SMS",
        allowed_combinations: &[
            "windowsHelloForBusiness", "fido2", "x509CertificateMultiFactor", "deviceBasedPush", "temporaryAccessPassOneTime", "temporaryAccessPassMultiUse",
            "password,microsoftAuthenticatorPush", "password,softwareOath", "password,hardwareOath", "password,x509CertificateSingleFactor",
            "password,x509CertificateMultiFactor", "password,sms", "password,voice", "federatedMultiFactor", "microsoftAuthenticatorPush,federatedSingleFactor",
            "softwareOath,federatedSingleFactor", "hardwareOath,federatedSingleFactor", "sms,federatedSingleFactor", "voice,federatedSingleFactor",
        ],
    },
    BuiltInStrength {
        id: "00000000-0000-0000-0000-000000000003",
        display_name: "Passwordless MFA",
        description: "Passwordless methods that satisfy strong authentication, such as Passwordless sign-in with the Microsoft Authenticator",
        allowed_combinations: &["windowsHelloForBusiness", "fido2", "x509CertificateMultiFactor", "deviceBasedPush"],
    },
    BuiltInStrength {
        id: "00000000-0000-0000-0000-000000000004",
        display_name: "Phishing resistant MFA",
        description: "Phishing resistant, Passwordless methods for the strongest authentication, such as a FIDO2 security key",
        allowed_combinations: &["windowsHelloForBusiness", "fido2", "x509CertificateMultiFactor"],
    },
];

/// Every valid combination a custom strength may allow (graph-api.md §4.2: the MFA
/// combinations plus the single-factor ones).
pub const VALID_COMBINATIONS: [&str; 24] = [
    "windowsHelloForBusiness",
    "fido2",
    "x509CertificateMultiFactor",
    "deviceBasedPush",
    "temporaryAccessPassOneTime",
    "temporaryAccessPassMultiUse",
    "password,microsoftAuthenticatorPush",
    "password,softwareOath",
    "password,hardwareOath",
    "password,x509CertificateSingleFactor",
    "password,x509CertificateMultiFactor",
    "password,sms",
    "password,voice",
    "federatedMultiFactor",
    "microsoftAuthenticatorPush,federatedSingleFactor",
    "softwareOath,federatedSingleFactor",
    "hardwareOath,federatedSingleFactor",
    "sms,federatedSingleFactor",
    "voice,federatedSingleFactor",
    "x509CertificateSingleFactor",
    "sms",
    "password",
    "federatedSingleFactor",
    "email",
];

impl BuiltInStrength {
    /// The Graph `authenticationStrengthPolicy` JSON.
    pub fn to_json(&self) -> Value {
        self.to_strength().to_json()
    }

    /// As a [`Strength`].
    pub fn to_strength(&self) -> Strength {
        Strength {
            id: self.id.to_string(),
            display_name: self.display_name.to_string(),
            description: self.description.to_string(),
            built_in: true,
            allowed_combinations: self
                .allowed_combinations
                .iter()
                .map(|c| c.to_string())
                .collect(),
            fido2_allowed_aaguids: None,
            fido2_configuration_id: None,
            created: "2021-12-01T00:00:00Z".into(),
            modified: "2021-12-01T00:00:00Z".into(),
        }
    }
}

/// A strength, built-in or custom.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Strength {
    /// Id.
    pub id: String,
    /// Name.
    pub display_name: String,
    /// Description.
    pub description: String,
    /// Built in (fixed)?
    pub built_in: bool,
    /// Allowed combinations.
    pub allowed_combinations: Vec<String>,
    /// `fido2CombinationConfiguration.allowedAAGUIDs`: when set, a passkey counts only if
    /// its AAGUID is listed (R31).
    pub fido2_allowed_aaguids: Option<Vec<Uuid>>,
    /// The id of that combination configuration.
    pub fido2_configuration_id: Option<String>,
    /// RFC 3339.
    pub created: String,
    /// RFC 3339.
    pub modified: String,
}

/// One method used in a sign-in, as a strength sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UsedMethod {
    /// The authentication method mode, e.g. `fido2`, `temporaryAccessPassOneTime`.
    pub mode: &'static str,
    /// For a passkey, its AAGUID.
    pub aaguid: Option<Uuid>,
    /// Whether that AAGUID was attested at registration (R32); a self-reported one never
    /// satisfies an AAGUID restriction.
    pub aaguid_attested: bool,
}

impl UsedMethod {
    /// A Temporary Access Pass.
    pub const TAP: UsedMethod = UsedMethod {
        mode: "temporaryAccessPassOneTime",
        aaguid: None,
        aaguid_attested: false,
    };

    /// Whether this is a Temporary Access Pass (one-time or multi-use).
    pub fn is_pass(&self) -> bool {
        self.mode.starts_with("temporaryAccessPass")
    }

    /// A passkey of model `aaguid`, attested or self-reported.
    pub const fn passkey(aaguid: Option<Uuid>, attested: bool) -> UsedMethod {
        UsedMethod {
            mode: "fido2",
            aaguid,
            aaguid_attested: attested && aaguid.is_some(),
        }
    }
}

impl Strength {
    /// Whether the methods used satisfy this strength (R32): some allowed combination has
    /// every member among them, and a passkey member passes the AAGUID restriction with an
    /// AAGUID that was attested — a self-reported one is whatever the client chose to say.
    pub fn satisfied_by(&self, used: &[UsedMethod]) -> bool {
        let has = |member: &str| {
            used.iter().any(|m| {
                let mode_ok = m.mode == member
                    || (member == "temporaryAccessPassMultiUse"
                        && m.mode == "temporaryAccessPassOneTime");
                let aaguid_ok = member != "fido2"
                    || self.fido2_allowed_aaguids.as_ref().is_none_or(|allowed| {
                        m.aaguid_attested && m.aaguid.is_some_and(|a| allowed.contains(&a))
                    });
                mode_ok && aaguid_ok
            })
        };
        self.allowed_combinations
            .iter()
            .any(|c| c.split(',').map(str::trim).all(has))
    }

    /// Whether a method of this mode (and AAGUID) would count on its own.
    pub fn allows_alone(&self, m: UsedMethod) -> bool {
        self.satisfied_by(&[m])
    }

    /// Every combination counts as MFA unless a single-factor one is allowed.
    pub fn requirements_satisfied(&self) -> &'static str {
        let single = [
            "x509CertificateSingleFactor",
            "sms",
            "password",
            "federatedSingleFactor",
            "email",
        ];
        if self
            .allowed_combinations
            .iter()
            .any(|c| single.contains(&c.as_str()))
        {
            "none"
        } else {
            "mfa"
        }
    }

    /// The Graph `authenticationStrengthPolicy` JSON.
    pub fn to_json(&self) -> Value {
        let configs: Vec<Value> = match (&self.fido2_allowed_aaguids, &self.fido2_configuration_id)
        {
            (Some(a), Some(id)) => vec![
                json!({"@odata.type": "#microsoft.graph.fido2CombinationConfiguration", "id": id, "allowedAAGUIDs": a, "appliesToCombinations": ["fido2"]}),
            ],
            _ => vec![],
        };
        json!({
            "id": self.id, "displayName": self.display_name, "description": self.description,
            "policyType": if self.built_in { "builtIn" } else { "custom" }, "requirementsSatisfied": self.requirements_satisfied(),
            "createdDateTime": self.created, "modifiedDateTime": self.modified,
            "allowedCombinations": self.allowed_combinations, "combinationConfigurations": configs
        })
    }
}

/// Why a strength's combinations are refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CombinationError {
    /// None given.
    #[error("allowedCombinations must name at least one combination")]
    Empty,
    /// Not one Graph knows.
    #[error("'{0}' is not a valid authentication method combination")]
    Invalid(String),
}

/// Checks a custom strength's combinations: not empty, each one valid, no repeats.
pub fn validate_combinations(combos: &[String]) -> Result<Vec<String>, CombinationError> {
    if combos.is_empty() {
        return Err(CombinationError::Empty);
    }
    let mut out: Vec<String> = vec![];
    for c in combos {
        let canonical: Vec<&str> = c.split(',').map(str::trim).collect();
        let joined = canonical.join(",");
        let valid = VALID_COMBINATIONS.iter().find(|v| {
            let mut a: Vec<&str> = v.split(',').collect();
            let mut b = canonical.clone();
            a.sort_unstable();
            b.sort_unstable();
            a == b
        });
        match valid {
            Some(v) if !out.iter().any(|o| o == v) => out.push(v.to_string()),
            Some(_) => {}
            None => return Err(CombinationError::Invalid(joined)),
        }
    }
    Ok(out)
}

/// Every strength: the built-ins, then the custom ones.
pub fn all(custom: &[Strength]) -> Vec<Strength> {
    BUILT_IN
        .iter()
        .map(BuiltInStrength::to_strength)
        .chain(custom.iter().cloned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const AUTHENTICATOR: &str = "90a3ccdf-635c-4729-a248-9b709135078f";

    fn passkey(aaguid: &str) -> UsedMethod {
        UsedMethod::passkey(Uuid::parse_str(aaguid).ok(), true)
    }

    #[test]
    fn r32_a_passkey_satisfies_phishing_resistance_a_tap_only_mfa() {
        let [mfa, passwordless, phish] = BUILT_IN.map(|b| b.to_strength());
        let tap = UsedMethod::TAP;
        assert!(
            phish.satisfied_by(&[passkey(AUTHENTICATOR)])
                && passwordless.satisfied_by(&[passkey(AUTHENTICATOR)])
        );
        assert!(
            mfa.satisfied_by(&[tap])
                && !phish.satisfied_by(&[tap])
                && !passwordless.satisfied_by(&[tap])
        );
    }

    #[test]
    fn r31_allowed_aaguids_restrict_which_passkeys_count() {
        let custom = Strength {
            id: "c".into(),
            display_name: "Passkey in Authenticator".into(),
            description: String::new(),
            built_in: false,
            allowed_combinations: vec!["fido2".into()],
            fido2_allowed_aaguids: Some(vec![Uuid::parse_str(AUTHENTICATOR).unwrap()]),
            fido2_configuration_id: Some("cc".into()),
            created: String::new(),
            modified: String::new(),
        };
        assert!(custom.satisfied_by(&[passkey(AUTHENTICATOR)]));
        assert!(
            !custom.satisfied_by(&[passkey("01020304-0506-0708-0102-030405060708")]),
            "another model's passkey does not count"
        );
        assert!(!custom.satisfied_by(&[UsedMethod::passkey(None, true)]));
        assert!(
            !custom.satisfied_by(&[UsedMethod::passkey(
                Uuid::parse_str(AUTHENTICATOR).ok(),
                false
            )]),
            "R32: a self-reported Authenticator AAGUID does not count"
        );
        let [_, _, phish] = BUILT_IN.map(|b| b.to_strength());
        assert!(
            phish.satisfied_by(&[UsedMethod::passkey(
                Uuid::parse_str(AUTHENTICATOR).ok(),
                false
            )]),
            "a strength without an AAGUID restriction does not ask for attestation"
        );
        assert_eq!(custom.requirements_satisfied(), "mfa");
    }

    #[test]
    fn combinations_are_validated_and_normalised() {
        assert_eq!(
            validate_combinations(&["sms, password".into(), "fido2".into(), "fido2".into()])
                .unwrap(),
            vec!["password,sms", "fido2"]
        );
        assert!(validate_combinations(&[]).is_err());
        assert!(validate_combinations(&["fido2,sms".into()]).is_err());
    }
}
