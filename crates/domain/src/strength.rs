//! Authentication strengths (R30, graph-api.md §4.3): the three built-ins with their fixed ids.

use serde_json::{json, Value};

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

/// Multifactor authentication, Passwordless MFA, Phishing-resistant MFA.
pub const BUILT_IN: [BuiltInStrength; 3] = [
    BuiltInStrength {
        id: "00000000-0000-0000-0000-000000000002",
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

impl BuiltInStrength {
    /// The Graph `authenticationStrengthPolicy` JSON.
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id, "displayName": self.display_name, "description": self.description,
            "policyType": "builtIn", "requirementsSatisfied": "mfa",
            "createdDateTime": "2021-12-01T00:00:00Z", "modifiedDateTime": "2021-12-01T00:00:00Z",
            "allowedCombinations": self.allowed_combinations, "combinationConfigurations": []
        })
    }
}
