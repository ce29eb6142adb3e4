//! Method configurations as one polymorphic value, with Graph's ids, defaults and PATCH rule.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{
    authenticator_config::AuthenticatorConfiguration, campaign::RegistrationCampaign,
    fido2::Fido2Configuration, oath_config::SoftwareOathConfiguration,
    tap_config::TapConfiguration, targets, GroupLookup, PolicyError,
};

/// `enabled` or `disabled`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub enum MethodState {
    /// The method can be used by the targeted users.
    Enabled,
    /// Nobody can register or use the method.
    #[default]
    Disabled,
}

/// The method configuration ids Portcullis stores with behaviour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MethodId {
    /// Passkey (FIDO2).
    Fido2,
    /// Temporary Access Pass.
    TemporaryAccessPass,
    /// Software OATH: an authenticator app's codes.
    SoftwareOath,
    /// Microsoft Authenticator: push approvals with number matching.
    MicrosoftAuthenticator,
}

impl MethodId {
    /// Every configurable method.
    pub const ALL: [MethodId; 4] = [
        MethodId::Fido2,
        MethodId::TemporaryAccessPass,
        MethodId::SoftwareOath,
        MethodId::MicrosoftAuthenticator,
    ];

    /// Canonical Graph id (PascalCase, as Graph returns it).
    pub fn as_str(self) -> &'static str {
        match self {
            MethodId::Fido2 => "Fido2",
            MethodId::TemporaryAccessPass => "TemporaryAccessPass",
            MethodId::SoftwareOath => "SoftwareOath",
            MethodId::MicrosoftAuthenticator => "MicrosoftAuthenticator",
        }
    }

    /// The `@odata.type` of this configuration.
    pub fn odata_type(self) -> &'static str {
        match self {
            MethodId::Fido2 => "#microsoft.graph.fido2AuthenticationMethodConfiguration",
            MethodId::TemporaryAccessPass => {
                "#microsoft.graph.temporaryAccessPassAuthenticationMethodConfiguration"
            }
            MethodId::SoftwareOath => {
                "#microsoft.graph.softwareOathAuthenticationMethodConfiguration"
            }
            MethodId::MicrosoftAuthenticator => {
                "#microsoft.graph.microsoftAuthenticatorAuthenticationMethodConfiguration"
            }
        }
    }

    /// Matches an id case-insensitively (`fido2`, `FIDO2`, `Fido2` …).
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|m| m.as_str().eq_ignore_ascii_case(s.trim()))
    }
}

/// Methods Graph lists that Portcullis does not offer: enumerated, always disabled.
pub const OTHER_METHODS: [(&str, &str); 4] = [
    (
        "Sms",
        "#microsoft.graph.smsAuthenticationMethodConfiguration",
    ),
    (
        "Voice",
        "#microsoft.graph.voiceAuthenticationMethodConfiguration",
    ),
    (
        "Email",
        "#microsoft.graph.emailAuthenticationMethodConfiguration",
    ),
    (
        "X509Certificate",
        "#microsoft.graph.x509CertificateAuthenticationMethodConfiguration",
    ),
];

/// The Graph JSON of a method Portcullis does not offer (found case-insensitively).
pub fn other_method_json(id: &str) -> Option<Value> {
    OTHER_METHODS.iter().find(|(i, _)| i.eq_ignore_ascii_case(id)).map(|(i, t)| {
        serde_json::json!({"@odata.type": t, "id": i, "state": "disabled", "excludeTargets": []})
    })
}

/// `authenticationMode` is a Microsoft Authenticator target's: refused on any other method's.
fn only_authenticator_modes(
    include: &[super::IncludeTarget],
    allowed: bool,
) -> Result<(), PolicyError> {
    if !allowed && include.iter().any(|t| t.authentication_mode.is_some()) {
        return Err(super::invalid(
            "includeTargets",
            "authenticationMode applies to Microsoft Authenticator targets only",
        ));
    }
    Ok(())
}

/// Checks a PATCH of the policy's top-level settings and returns the merged document.
/// Only `registrationEnforcement` and `reconfirmationInDays` (0–365) can change.
pub fn patched_settings(current: &Value, patch: &Value) -> Result<Value, PolicyError> {
    let Value::Object(p) = patch else {
        return Err(PolicyError::Shape {
            kind: "authenticationMethodsPolicy",
            message: "expected a JSON object".into(),
        });
    };
    let mut merged = match current {
        Value::Object(m) => m.clone(),
        _ => serde_json::Map::new(),
    };
    for (k, v) in p {
        match k.as_str() {
            "@odata.type" => {}
            "reconfirmationInDays" => {
                let n = v
                    .as_i64()
                    .filter(|n| (0..=365).contains(n))
                    .ok_or_else(|| {
                        super::invalid("reconfirmationInDays", "must be an integer from 0 to 365")
                    })?;
                merged.insert("reconfirmationInDays".into(), Value::from(n));
            }
            "registrationEnforcement" => {
                let patch = v
                    .get("authenticationMethodsRegistrationCampaign")
                    .filter(|_| v.as_object().is_some_and(|o| o.keys().all(|k| k == "authenticationMethodsRegistrationCampaign" || k == "@odata.type")))
                    .ok_or_else(|| {
                        super::invalid(
                            "registrationEnforcement",
                            "must hold authenticationMethodsRegistrationCampaign (and nothing else)",
                        )
                    })?;
                // A stored campaign that no longer parses is replaced, never a reason to refuse.
                let campaign = RegistrationCampaign::from_settings(current)
                    .unwrap_or_default()
                    .patched(patch)?;
                merged.insert(
                    "registrationEnforcement".into(),
                    serde_json::json!({"authenticationMethodsRegistrationCampaign": campaign.to_json()}),
                );
            }
            other => {
                return Err(super::invalid(
                    "authenticationMethodsPolicy",
                    format!("property '{other}' cannot be changed"),
                ))
            }
        }
    }
    Ok(Value::Object(merged))
}

/// The policy's top-level settings before any change.
pub fn default_settings() -> Value {
    serde_json::json!({
        "reconfirmationInDays": 0,
        "registrationEnforcement": {"authenticationMethodsRegistrationCampaign": RegistrationCampaign::default().to_json()}
    })
}

/// One method configuration of the authentication methods policy.
#[derive(Debug, Clone, PartialEq)]
pub enum MethodConfiguration {
    /// The Passkey (FIDO2) settings.
    Fido2(Fido2Configuration),
    /// The Temporary Access Pass settings.
    TemporaryAccessPass(TapConfiguration),
    /// The authenticator app code (TOTP) settings.
    SoftwareOath(SoftwareOathConfiguration),
    /// The Microsoft Authenticator settings.
    MicrosoftAuthenticator(AuthenticatorConfiguration),
}

impl MethodConfiguration {
    /// Graph's defaults for a configuration (what DELETE resets to).
    pub fn graph_default(id: MethodId) -> Self {
        match id {
            MethodId::Fido2 => Self::Fido2(Fido2Configuration::default()),
            MethodId::TemporaryAccessPass => Self::TemporaryAccessPass(TapConfiguration::default()),
            MethodId::SoftwareOath => Self::SoftwareOath(SoftwareOathConfiguration::default()),
            MethodId::MicrosoftAuthenticator => {
                Self::MicrosoftAuthenticator(AuthenticatorConfiguration::default())
            }
        }
    }

    /// Which method this configures.
    pub fn id(&self) -> MethodId {
        match self {
            Self::Fido2(_) => MethodId::Fido2,
            Self::TemporaryAccessPass(_) => MethodId::TemporaryAccessPass,
            Self::SoftwareOath(_) => MethodId::SoftwareOath,
            Self::MicrosoftAuthenticator(_) => MethodId::MicrosoftAuthenticator,
        }
    }

    /// The Graph JSON of this configuration, `@odata.type` and canonical id included.
    pub fn to_json(&self) -> Value {
        let mut v = match self {
            Self::Fido2(c) => serde_json::to_value(c),
            Self::TemporaryAccessPass(c) => serde_json::to_value(c),
            Self::SoftwareOath(c) => serde_json::to_value(c),
            Self::MicrosoftAuthenticator(c) => serde_json::to_value(c),
        }
        .unwrap_or(Value::Null);
        if let Value::Object(m) = &mut v {
            m.insert(
                "@odata.type".into(),
                Value::String(self.id().odata_type().into()),
            );
            m.insert("id".into(), Value::String(self.id().as_str().into()));
        }
        v
    }

    /// Parses a complete configuration document. `@odata.type`, when present, must match the id.
    pub fn from_json(id: MethodId, mut v: Value) -> Result<Self, PolicyError> {
        let kind = id.odata_type().trim_start_matches("#microsoft.graph.");
        let Value::Object(m) = &mut v else {
            return Err(PolicyError::Shape {
                kind,
                message: "expected a JSON object".into(),
            });
        };
        if let Some(t) = m.remove("@odata.type") {
            let ok = t
                .as_str()
                .is_some_and(|t| t.eq_ignore_ascii_case(id.odata_type()));
            if !ok {
                return Err(super::invalid(
                    "@odata.type",
                    format!(
                        "must be '{}' for configuration '{}'",
                        id.odata_type(),
                        id.as_str()
                    ),
                ));
            }
        }
        if let Some(given) = m.remove("id") {
            let ok = given.as_str().and_then(MethodId::parse) == Some(id);
            if !ok {
                return Err(super::invalid("id", format!("must be '{}'", id.as_str())));
            }
        }
        // The path names the field that did not parse (`includeTargets[1].id: …`).
        let shape = |e: serde_path_to_error::Error<serde_json::Error>| PolicyError::Shape {
            kind,
            message: match e.path().to_string().as_str() {
                "." => e.inner().to_string(),
                path => format!("{path}: {}", e.inner()),
            },
        };
        Ok(match id {
            MethodId::Fido2 => Self::Fido2(serde_path_to_error::deserialize(v).map_err(shape)?),
            MethodId::TemporaryAccessPass => {
                Self::TemporaryAccessPass(serde_path_to_error::deserialize(v).map_err(shape)?)
            }
            MethodId::SoftwareOath => {
                Self::SoftwareOath(serde_path_to_error::deserialize(v).map_err(shape)?)
            }
            MethodId::MicrosoftAuthenticator => {
                Self::MicrosoftAuthenticator(serde_path_to_error::deserialize(v).map_err(shape)?)
            }
        })
    }

    /// The groups its include and exclude targets name (to load just those groups).
    pub fn target_groups(&self) -> Vec<uuid::Uuid> {
        let (include, exclude) = match self {
            Self::Fido2(c) => (&c.include_targets, &c.exclude_targets),
            Self::TemporaryAccessPass(c) => (&c.include_targets, &c.exclude_targets),
            Self::SoftwareOath(c) => (&c.include_targets, &c.exclude_targets),
            Self::MicrosoftAuthenticator(c) => (&c.include_targets, &c.exclude_targets),
        };
        include
            .iter()
            .map(|t| t.id)
            .chain(exclude.iter().map(|t| t.id))
            .filter_map(|id| match id {
                super::TargetId::Group(g) => Some(g),
                super::TargetId::AllUsers => None,
            })
            .collect()
    }

    /// Checks the whole configuration: its own fields and its targets (R2).
    pub fn validate(&self, groups: &(impl GroupLookup + ?Sized)) -> Result<(), PolicyError> {
        match self {
            Self::Fido2(c) => {
                only_authenticator_modes(&c.include_targets, false)?;
                c.validate()?;
                targets::validate(&c.include_targets, &c.exclude_targets, groups)?;
            }
            Self::TemporaryAccessPass(c) => {
                only_authenticator_modes(&c.include_targets, false)?;
                c.validate()?;
                targets::validate(&c.include_targets, &c.exclude_targets, groups)?;
            }
            Self::SoftwareOath(c) => {
                only_authenticator_modes(&c.include_targets, false)?;
                targets::validate(&c.include_targets, &c.exclude_targets, groups)?;
            }
            Self::MicrosoftAuthenticator(c) => {
                only_authenticator_modes(&c.include_targets, true)?;
                targets::validate(&c.include_targets, &c.exclude_targets, groups)?;
            }
        }
        Ok(())
    }

    /// Applies a Graph PATCH body: properties present replace the current ones
    /// (collections whole), absent ones keep their values. The result is parsed and
    /// must still be validated by the caller.
    pub fn patched(&self, patch: Value) -> Result<Self, PolicyError> {
        let Value::Object(patch) = patch else {
            let kind = self
                .id()
                .odata_type()
                .trim_start_matches("#microsoft.graph.");
            return Err(PolicyError::Shape {
                kind,
                message: "expected a JSON object".into(),
            });
        };
        let mut merged = self.to_json();
        if let Value::Object(m) = &mut merged {
            for (k, v) in patch {
                m.insert(k, v);
            }
        }
        Self::from_json(self.id(), merged)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use uuid::Uuid;

    #[test]
    fn ids_match_case_insensitively_and_print_canonically() {
        assert_eq!(MethodId::parse("fido2"), Some(MethodId::Fido2));
        assert_eq!(MethodId::parse("FIDO2"), Some(MethodId::Fido2));
        assert_eq!(
            MethodId::parse("temporaryaccesspass"),
            Some(MethodId::TemporaryAccessPass)
        );
        assert_eq!(MethodId::parse("Sms"), None);
    }

    #[test]
    fn patch_keeps_absent_properties_and_checks_odata_type() {
        let cfg = MethodConfiguration::graph_default(MethodId::TemporaryAccessPass);
        let p = cfg.patched(json!({"@odata.type": "#microsoft.graph.temporaryAccessPassAuthenticationMethodConfiguration", "defaultLifetimeInMinutes": 120})).expect("patch");
        let MethodConfiguration::TemporaryAccessPass(t) = &p else {
            panic!("kind changed")
        };
        assert_eq!(t.default_lifetime_in_minutes, 120);
        assert_eq!(t.maximum_lifetime_in_minutes, 480);
        assert!(cfg
            .patched(
                json!({"@odata.type": "#microsoft.graph.fido2AuthenticationMethodConfiguration"})
            )
            .is_err());
        assert!(matches!(
            cfg.patched(json!({"defaultLength": "eight"})),
            Err(PolicyError::Shape { .. })
        ));
        assert!(matches!(
            cfg.patched(json!({"noSuchField": 1})),
            Err(PolicyError::Shape { .. })
        ));
        let fido2 = MethodConfiguration::graph_default(MethodId::Fido2);
        let err = fido2
            .patched(json!({"includeTargets": [{"id": "all_users"}, {"id": "pilots"}]}))
            .unwrap_err()
            .to_string();
        assert!(err.contains("includeTargets[1].id: 'pilots'"), "{err}");
        let err = fido2
            .patched(json!({"passkeyProfiles": [{"id": Uuid::new_v4(), "name": "p", "passkeyTypes": "cloud"}]}))
            .unwrap_err()
            .to_string();
        assert!(err.contains("passkeyProfiles[0].passkeyTypes"), "{err}");
        let v = p.to_json();
        assert_eq!(
            v["@odata.type"],
            "#microsoft.graph.temporaryAccessPassAuthenticationMethodConfiguration"
        );
        assert_eq!(v["id"], "TemporaryAccessPass");
    }
}
