//! Conditional Access (SPEC §4, graph-api.md §5–§6): policies in the Graph shape, their
//! validation, and their evaluation (see [`evaluate`]). Pure: the caller loads policies,
//! strengths, named locations and the signals, and passes the time.

pub mod evaluate;
pub mod filter;
pub mod guard;
pub mod index;
pub mod location;
pub mod parsed;
pub mod platform;
pub mod remedy;
pub mod set;
pub mod write;

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use parsed::{parse, CaPolicyError, ParsedPolicy};

/// The "register security info" user action.
pub const REGISTER_SECURITY_INFO: &str = "urn:user:registersecurityinfo";

/// `enabled`, `disabled` or report-only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum PolicyState {
    /// Enforced.
    Enabled,
    /// Ignored.
    Disabled,
    /// Evaluated and logged, never enforced.
    EnabledForReportingButNotEnforced,
}

/// A Conditional Access policy (graph-api.md §5.2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Policy {
    /// Id.
    #[serde(default)]
    pub id: String,
    /// Name.
    pub display_name: String,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// State.
    pub state: PolicyState,
    /// Assignments and conditions.
    pub conditions: Conditions,
    /// Grant controls.
    #[serde(default)]
    pub grant_controls: Option<GrantControls>,
    /// Session controls, kept as sent (Portcullis does not enforce them).
    #[serde(default)]
    pub session_controls: Option<Value>,
    /// RFC 3339.
    #[serde(default)]
    pub created_date_time: Option<String>,
    /// RFC 3339; null until the first change.
    #[serde(default)]
    pub modified_date_time: Option<String>,
}

/// The condition set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Conditions {
    /// Users.
    pub users: Users,
    /// Target resources.
    pub applications: Applications,
    /// Device platforms.
    #[serde(default)]
    pub platforms: Option<Platforms>,
    /// Named locations.
    #[serde(default)]
    pub locations: Option<Locations>,
    /// `all`, `browser`, `mobileAppsAndDesktopClients`, …
    #[serde(default)]
    pub client_app_types: Vec<String>,
    /// Device filter.
    #[serde(default)]
    pub devices: Option<Devices>,
}

/// Users.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Users {
    /// User ids, `All` or `None`.
    #[serde(default)]
    pub include_users: Vec<String>,
    /// User ids.
    #[serde(default)]
    pub exclude_users: Vec<String>,
    /// Group ids.
    #[serde(default)]
    pub include_groups: Vec<String>,
    /// Group ids.
    #[serde(default)]
    pub exclude_groups: Vec<String>,
    /// Role template ids.
    #[serde(default)]
    pub include_roles: Vec<String>,
    /// Role template ids.
    #[serde(default)]
    pub exclude_roles: Vec<String>,
    /// Portcullis' time-bound exclusions (R40, the "temporary exemption"): each user is
    /// excluded until the given instant, then the policy applies again by itself.
    #[serde(default, rename = "portcullisTemporaryExclusions")]
    pub temporary_exclusions: Vec<TemporaryExclusion>,
}

/// One time-bound exclusion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TemporaryExclusion {
    /// User id.
    pub user_id: String,
    /// RFC 3339 end.
    pub until: String,
}

/// Target resources.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Applications {
    /// App ids, `All` or `None`.
    #[serde(default)]
    pub include_applications: Vec<String>,
    /// App ids.
    #[serde(default)]
    pub exclude_applications: Vec<String>,
    /// `urn:user:registersecurityinfo`.
    #[serde(default)]
    pub include_user_actions: Vec<String>,
    /// Filter over custom security attributes.
    #[serde(default)]
    pub application_filter: Option<Filter>,
}

/// A `conditionalAccessFilter`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Filter {
    /// `include` or `exclude`.
    pub mode: String,
    /// The rule.
    pub rule: String,
}

/// Platforms.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Platforms {
    /// Included platforms or `all`.
    #[serde(default)]
    pub include_platforms: Vec<String>,
    /// Excluded platforms.
    #[serde(default)]
    pub exclude_platforms: Vec<String>,
}

/// Locations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Locations {
    /// Named location ids, `All` or `AllTrusted`.
    #[serde(default)]
    pub include_locations: Vec<String>,
    /// Named location ids or `AllTrusted`.
    #[serde(default)]
    pub exclude_locations: Vec<String>,
}

/// Devices.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Devices {
    /// Filter over device properties.
    #[serde(default)]
    pub device_filter: Option<Filter>,
}

/// Grant controls.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct GrantControls {
    /// `AND` or `OR`.
    #[serde(default = "default_operator")]
    pub operator: String,
    /// `block`, `mfa`, `compliantDevice`, `domainJoinedDevice`, `approvedApplication`,
    /// `compliantApplication`.
    #[serde(default)]
    pub built_in_controls: Vec<String>,
    /// The required strength (`{"id": …}` on write; expanded on read by the shell).
    #[serde(default)]
    pub authentication_strength: Option<Value>,
    /// Not supported (must be empty).
    #[serde(default)]
    pub custom_authentication_factors: Vec<String>,
    /// Not supported (must be empty).
    #[serde(default)]
    pub terms_of_use: Vec<String>,
}

fn default_operator() -> String {
    "OR".into()
}

impl GrantControls {
    /// The strength id this policy requires, if any.
    pub fn strength_id(&self) -> Option<&str> {
        self.authentication_strength
            .as_ref()
            .and_then(|s| s.get("id"))
            .and_then(Value::as_str)
    }
}

impl Policy {
    /// Whether the policy targets the "register security info" user action.
    pub fn targets_registration(&self) -> bool {
        self.conditions
            .applications
            .include_user_actions
            .iter()
            .any(|a| a.eq_ignore_ascii_case(REGISTER_SECURITY_INFO))
    }
}

/// What is known to exist, for validation.
pub struct Known<'a> {
    /// Strength ids.
    pub strengths: &'a [String],
    /// Named location ids.
    pub locations: &'a [String],
}

/// The first session control that is present and not switched off, if any.
fn enabled_session_control(controls: Option<&Value>) -> Option<String> {
    let obj = controls?.as_object()?;
    obj.iter()
        .filter(|(k, _)| !k.starts_with('@'))
        .find(|(_, v)| match v {
            Value::Null | Value::Bool(false) => false,
            Value::Object(o) => o.get("isEnabled").and_then(Value::as_bool) != Some(false),
            _ => true,
        })
        .map(|(k, _)| k.clone())
}

/// Validates a policy as Graph would (graph-api.md §5.2–§5.4): [`parse`] and, when saving,
/// that the strength and named locations it names exist. The error names the field to fix.
pub fn validate(p: &Policy, known: &Known<'_>) -> Result<ParsedPolicy, CaPolicyError> {
    let parsed = parse(p)?;
    if let Some(l) = &parsed.locations {
        for r in l.include.iter().chain(&l.exclude) {
            if let parsed::LocationRef::Named(id) = r {
                if !known.locations.contains(id) {
                    return Err(CaPolicyError::UnknownLocation(id.clone()));
                }
            }
        }
    }
    if let Some(id) = &parsed.grant.strength {
        if !known.strengths.contains(id) {
            return Err(CaPolicyError::UnknownStrength(id.clone()));
        }
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// R40: a session control that is switched on is refused (not stored unenforced); the
    /// shapes SDKs send for "none" pass.
    #[test]
    fn enabled_session_controls_are_refused_and_empty_ones_pass() {
        assert_eq!(enabled_session_control(None), None);
        assert_eq!(enabled_session_control(Some(&json!(null))), None);
        assert_eq!(
            enabled_session_control(Some(
                &json!({"signInFrequency": null, "persistentBrowser": {"isEnabled": false, "mode": "never"}, "disableResilienceDefaults": false})
            )),
            None
        );
        assert_eq!(
            enabled_session_control(Some(
                &json!({"signInFrequency": {"isEnabled": true, "frequencyInterval": "everyTime"}})
            ))
            .as_deref(),
            Some("signInFrequency")
        );
        assert_eq!(
            enabled_session_control(Some(&json!({"disableResilienceDefaults": true}))).as_deref(),
            Some("disableResilienceDefaults")
        );
        let mut p: Policy = serde_json::from_value(json!({
            "displayName": "Every time", "state": "enabled",
            "conditions": {"users": {"includeUsers": ["All"]}, "applications": {"includeApplications": ["All"]}, "clientAppTypes": ["all"]},
            "grantControls": {"operator": "OR", "builtInControls": ["mfa"]},
            "sessionControls": {"signInFrequency": {"isEnabled": true, "frequencyInterval": "everyTime", "authenticationType": "primaryAndSecondaryAuthentication"}}
        }))
        .unwrap();
        let known = Known {
            strengths: &[],
            locations: &[],
        };
        assert_eq!(
            validate(&p, &known),
            Err(CaPolicyError::SessionControl("signInFrequency".into()))
        );
        p.session_controls = None;
        assert!(validate(&p, &known).is_ok());
        p.grant_controls = None;
        assert_eq!(validate(&p, &known), Err(CaPolicyError::NoGrant));
    }
}
