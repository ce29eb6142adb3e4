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
                .filter_map(|c| Combination::parse(c).ok())
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
    /// Allowed combinations, parsed once (stored and sent as Graph's flags strings).
    pub allowed_combinations: Vec<Combination>,
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

/// A factor a combination names, as Portcullis can meet it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Factor {
    /// A passkey.
    Fido2,
    /// A one-time Temporary Access Pass.
    TemporaryAccessPassOneTime,
    /// A multi-use Temporary Access Pass (a one-time pass is as strong).
    TemporaryAccessPassMultiUse,
    /// The account's password.
    Password,
    /// A code from an authenticator app (TOTP, RFC 6238).
    SoftwareOath,
    /// A Microsoft Authenticator push approval.
    MicrosoftAuthenticatorPush,
    /// A method Portcullis does not have (SMS, Windows Hello …): never met here.
    Unavailable,
}

impl Factor {
    fn parse(s: &str) -> Factor {
        match s {
            "fido2" => Factor::Fido2,
            "temporaryAccessPassOneTime" => Factor::TemporaryAccessPassOneTime,
            "temporaryAccessPassMultiUse" => Factor::TemporaryAccessPassMultiUse,
            "password" => Factor::Password,
            "softwareOath" => Factor::SoftwareOath,
            "microsoftAuthenticatorPush" => Factor::MicrosoftAuthenticatorPush,
            _ => Factor::Unavailable,
        }
    }
}

/// One allowed combination: Graph's canonical flags string (one of [`VALID_COMBINATIONS`]),
/// with its factors parsed once. Only [`Combination::parse`] makes one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Combination {
    text: &'static str,
    factors: Vec<Factor>,
}

impl Combination {
    /// Parses a flags string (`"password, sms"`: any order, spaces allowed) into the valid
    /// combination it names.
    pub fn parse(s: &str) -> Result<Combination, CombinationError> {
        let mut given: Vec<&str> = s.split(',').map(str::trim).collect();
        given.sort_unstable();
        let text = VALID_COMBINATIONS
            .iter()
            .find(|v| {
                let mut a: Vec<&str> = v.split(',').collect();
                a.sort_unstable();
                a == given
            })
            .ok_or_else(|| {
                CombinationError::Invalid(s.split(',').map(str::trim).collect::<Vec<_>>().join(","))
            })?;
        Ok(Combination {
            text,
            factors: text.split(',').map(Factor::parse).collect(),
        })
    }

    /// Graph's spelling.
    pub fn as_str(&self) -> &'static str {
        self.text
    }

    /// The factors, all of which a sign-in must show.
    pub fn factors(&self) -> &[Factor] {
        &self.factors
    }
}

impl std::fmt::Display for Combination {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.text)
    }
}

impl std::str::FromStr for Combination {
    type Err = CombinationError;
    fn from_str(s: &str) -> Result<Self, CombinationError> {
        Combination::parse(s)
    }
}

crate::serde_as_text!(Combination);

/// The kind of a method used in a sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A passkey.
    Fido2,
    /// A Temporary Access Pass.
    TemporaryAccessPass,
    /// The account's password.
    Password,
    /// An authenticator app's code.
    SoftwareOath,
    /// A Microsoft Authenticator push approval.
    AuthenticatorPush,
}

/// One method used in a sign-in, as a strength sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UsedMethod {
    /// Passkey or pass.
    pub mode: Mode,
    /// For a passkey, its AAGUID.
    pub aaguid: Option<Uuid>,
    /// Whether that AAGUID was attested at registration (R32); a self-reported one never
    /// satisfies an AAGUID restriction.
    pub aaguid_attested: bool,
}

impl UsedMethod {
    /// A Temporary Access Pass.
    pub const TAP: UsedMethod = UsedMethod {
        mode: Mode::TemporaryAccessPass,
        aaguid: None,
        aaguid_attested: false,
    };

    /// The account's password.
    pub const PASSWORD: UsedMethod = UsedMethod {
        mode: Mode::Password,
        aaguid: None,
        aaguid_attested: false,
    };

    /// An authenticator app's code.
    pub const SOFTWARE_OATH: UsedMethod = UsedMethod {
        mode: Mode::SoftwareOath,
        aaguid: None,
        aaguid_attested: false,
    };

    /// A Microsoft Authenticator push approval.
    pub const AUTHENTICATOR_PUSH: UsedMethod = UsedMethod {
        mode: Mode::AuthenticatorPush,
        aaguid: None,
        aaguid_attested: false,
    };

    /// Whether this is a Temporary Access Pass (one-time or multi-use).
    pub fn is_pass(&self) -> bool {
        self.mode == Mode::TemporaryAccessPass
    }

    /// A passkey of model `aaguid`, attested or self-reported.
    pub const fn passkey(aaguid: Option<Uuid>, attested: bool) -> UsedMethod {
        UsedMethod {
            mode: Mode::Fido2,
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
        let has = |factor: &Factor| {
            used.iter().any(|m| match (factor, m.mode) {
                (Factor::Fido2, Mode::Fido2) => {
                    self.fido2_allowed_aaguids.as_ref().is_none_or(|allowed| {
                        m.aaguid_attested && m.aaguid.is_some_and(|a| allowed.contains(&a))
                    })
                }
                (
                    Factor::TemporaryAccessPassOneTime | Factor::TemporaryAccessPassMultiUse,
                    Mode::TemporaryAccessPass,
                ) => true,
                (Factor::Password, Mode::Password)
                | (Factor::SoftwareOath, Mode::SoftwareOath)
                | (Factor::MicrosoftAuthenticatorPush, Mode::AuthenticatorPush) => true,
                _ => false,
            })
        };
        self.allowed_combinations
            .iter()
            .any(|c| c.factors().iter().all(has))
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
pub fn validate_combinations(combos: &[String]) -> Result<Vec<Combination>, CombinationError> {
    if combos.is_empty() {
        return Err(CombinationError::Empty);
    }
    let mut out: Vec<Combination> = vec![];
    for c in combos {
        let c = Combination::parse(c)?;
        if !out.contains(&c) {
            out.push(c);
        }
    }
    Ok(out)
}

/// A Graph `authenticationStrengthPolicy` document as an administrator writes one (to create
/// a strength, or to propose one for a dry run), read once into types. Read-only properties
/// (`policyType`, `requirementsSatisfied`, dates) are ignored.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StrengthDocument {
    /// Present when it names an existing strength.
    #[serde(default)]
    pub id: Option<String>,
    /// Name.
    pub display_name: String,
    /// Description.
    #[serde(default)]
    pub description: String,
    /// Combinations, as Graph's flags strings.
    pub allowed_combinations: Vec<String>,
    /// Combination configurations: only `fido2CombinationConfiguration`.
    #[serde(default)]
    pub combination_configurations: Vec<CombinationConfiguration>,
}

/// A `fido2CombinationConfiguration`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct CombinationConfiguration {
    /// Must be `#microsoft.graph.fido2CombinationConfiguration`.
    #[serde(rename = "@odata.type")]
    pub odata_type: String,
    /// The models a passkey must be of.
    #[serde(rename = "allowedAAGUIDs")]
    pub allowed_aaguids: Vec<Uuid>,
}

/// Why a strength document is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StrengthDocumentError {
    /// Not the shape of the document (the path says where).
    #[error("{path}: {message}")]
    Shape {
        /// Where.
        path: String,
        /// What.
        message: String,
    },
    /// A configuration of a kind Portcullis does not read.
    #[error("only #microsoft.graph.fido2CombinationConfiguration is supported, not '{0}'")]
    Configuration(String),
    /// A combination Graph does not know.
    #[error(transparent)]
    Combination(#[from] CombinationError),
    /// AAGUIDs given, and no `fido2` combination for them to restrict.
    #[error("allowed AAGUIDs apply to the fido2 combination, which this strength does not allow")]
    AaguidsWithoutFido2,
}

impl StrengthDocument {
    /// Reads a document.
    pub fn parse(v: Value) -> Result<StrengthDocument, StrengthDocumentError> {
        serde_path_to_error::deserialize(v).map_err(|e| StrengthDocumentError::Shape {
            path: e.path().to_string(),
            message: e.inner().to_string(),
        })
    }

    /// Its combinations, checked, and its AAGUID restriction, if any.
    pub fn checked(&self) -> Result<(Vec<Combination>, Option<Vec<Uuid>>), StrengthDocumentError> {
        let combos = validate_combinations(&self.allowed_combinations)?;
        let mut aaguids = None;
        for c in &self.combination_configurations {
            if c.odata_type != "#microsoft.graph.fido2CombinationConfiguration" {
                return Err(StrengthDocumentError::Configuration(c.odata_type.clone()));
            }
            aaguids = Some(c.allowed_aaguids.clone());
        }
        if aaguids.is_some() && !combos.iter().any(|c| c.factors() == [Factor::Fido2]) {
            return Err(StrengthDocumentError::AaguidsWithoutFido2);
        }
        Ok((combos, aaguids))
    }

    /// The custom strength it describes, checked, under the ids and dates the caller gives
    /// (`configuration_id` names its AAGUID restriction, if it has one). The display name is
    /// the caller's to validate.
    pub fn to_strength(
        &self,
        id: String,
        configuration_id: String,
        created: String,
        modified: String,
    ) -> Result<Strength, StrengthDocumentError> {
        let (combos, aaguids) = self.checked()?;
        Ok(Strength {
            id,
            display_name: self.display_name.clone(),
            description: self.description.clone(),
            built_in: false,
            allowed_combinations: combos,
            fido2_configuration_id: aaguids.as_ref().map(|_| configuration_id),
            fido2_allowed_aaguids: aaguids,
            created,
            modified,
        })
    }
}

/// The built-in strengths as [`Strength`]s, their combinations parsed once per process (a
/// token's `authentication_strengths` claim asks them every time: parsing their strings there
/// was 1.2% of a pinned server's CPU, issue 18).
pub fn built_in() -> &'static [Strength] {
    static PARSED: std::sync::LazyLock<[Strength; BUILT_IN.len()]> =
        std::sync::LazyLock::new(|| BUILT_IN.each_ref().map(BuiltInStrength::to_strength));
    PARSED.as_slice()
}

/// Every strength: the built-ins, then the custom ones.
pub fn all(custom: &[Strength]) -> Vec<Strength> {
    built_in().iter().chain(custom).cloned().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const AUTHENTICATOR: &str = "90a3ccdf-635c-4729-a248-9b709135078f";

    fn passkey(aaguid: &str) -> UsedMethod {
        UsedMethod::passkey(Uuid::parse_str(aaguid).ok(), true)
    }

    #[test]
    fn r31_password_and_an_app_code_meet_mfa_and_their_combination_nothing_stronger() {
        let [mfa, passwordless, phish] = BUILT_IN.map(|b| b.to_strength());
        let both = [UsedMethod::PASSWORD, UsedMethod::SOFTWARE_OATH];
        assert!(mfa.satisfied_by(&both));
        assert!(!passwordless.satisfied_by(&both) && !phish.satisfied_by(&both));
        assert!(!mfa.satisfied_by(&[UsedMethod::PASSWORD]));
        assert!(!mfa.satisfied_by(&[UsedMethod::SOFTWARE_OATH]));
        let custom = Strength {
            allowed_combinations: vec![Combination::parse("softwareOath, password").unwrap()],
            ..mfa.clone()
        };
        assert!(custom.satisfied_by(&both));
        assert!(!custom.satisfied_by(&[UsedMethod::PASSWORD, UsedMethod::TAP]));
        assert!(!custom.satisfied_by(&[passkey(AUTHENTICATOR)]));
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
            allowed_combinations: vec![crate::strength::Combination::parse("fido2").unwrap()],
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
                .unwrap()
                .iter()
                .map(Combination::as_str)
                .collect::<Vec<_>>(),
            vec!["password,sms", "fido2"]
        );
        assert!(validate_combinations(&[]).is_err());
        assert!(validate_combinations(&["fido2,sms".into()]).is_err());
    }

    /// Combinations are parsed once (issue 13, point 1): to the canonical flags string and
    /// their factors; an unknown one is refused on input and on load; a factor Portcullis
    /// has no method for is never met.
    #[test]
    fn combinations_are_parsed_once_into_factors() {
        let c = Combination::parse(" sms, password ").unwrap();
        assert_eq!(c.as_str(), "password,sms");
        assert_eq!(c.factors(), [Factor::Password, Factor::Unavailable]);
        assert_eq!(
            Combination::parse("temporaryAccessPassMultiUse")
                .unwrap()
                .factors(),
            [Factor::TemporaryAccessPassMultiUse]
        );
        assert_eq!(
            Combination::parse("fido2,sms"),
            Err(CombinationError::Invalid("fido2,sms".into()))
        );
        let json = serde_json::to_string(&c).unwrap();
        assert_eq!(json, "\"password,sms\"");
        assert_eq!(serde_json::from_str::<Combination>(&json).unwrap(), c);
        assert!(serde_json::from_str::<Combination>("\"fido2,sms\"").is_err());
        let strength = Strength {
            allowed_combinations: vec![c],
            ..BUILT_IN[0].to_strength()
        };
        assert!(!strength.satisfied_by(&[UsedMethod::TAP, UsedMethod::passkey(None, false)]));
        let multi = Strength {
            allowed_combinations: vec![Combination::parse("temporaryAccessPassMultiUse").unwrap()],
            ..BUILT_IN[0].to_strength()
        };
        assert!(
            multi.satisfied_by(&[UsedMethod::TAP]),
            "a one-time pass is as strong"
        );
    }

    /// A strength document is read once: its AAGUIDs are typed (a bad one is named by its
    /// path), a configuration of another kind is refused, and AAGUIDs need a fido2
    /// combination to restrict.
    #[test]
    fn a_strength_document_is_read_once_into_types() {
        let doc = |v: Value| StrengthDocument::parse(v).and_then(|d| d.checked());
        let (combos, aaguids) = doc(json!({"displayName": "Keys", "allowedCombinations": ["fido2"],
            "combinationConfigurations": [{"@odata.type": "#microsoft.graph.fido2CombinationConfiguration",
                "allowedAAGUIDs": ["cb69481e-8ff7-4039-93ec-0a2729a154a8"]}]}))
        .unwrap();
        assert_eq!(combos.len(), 1);
        assert_eq!(
            aaguids,
            Some(vec![uuid::uuid!("cb69481e-8ff7-4039-93ec-0a2729a154a8")])
        );
        let Err(StrengthDocumentError::Shape { path, .. }) = doc(json!({"displayName": "Keys",
            "allowedCombinations": ["fido2"],
            "combinationConfigurations": [{"@odata.type": "#microsoft.graph.fido2CombinationConfiguration",
                "allowedAAGUIDs": ["yubikey"]}]}))
        else {
            panic!("a bad AAGUID is refused");
        };
        assert_eq!(path, "combinationConfigurations[0].allowedAAGUIDs[0]");
        assert!(matches!(
            doc(json!({"displayName": "K", "allowedCombinations": ["fido2"],
                "combinationConfigurations": [{"@odata.type": "#microsoft.graph.x509CertificateCombinationConfiguration", "allowedAAGUIDs": []}]})),
            Err(StrengthDocumentError::Configuration(_))
        ));
        assert!(matches!(
            doc(
                json!({"displayName": "K", "allowedCombinations": ["temporaryAccessPassOneTime"],
                "combinationConfigurations": [{"@odata.type": "#microsoft.graph.fido2CombinationConfiguration", "allowedAAGUIDs": []}]})
            ),
            Err(StrengthDocumentError::AaguidsWithoutFido2)
        ));
        assert!(matches!(
            doc(json!({"displayName": "K", "allowedCombinations": []})),
            Err(StrengthDocumentError::Combination(CombinationError::Empty))
        ));
    }
}
