//! Conditional Access (SPEC §4, graph-api.md §5–§6): policies in the Graph shape, their
//! validation, and their evaluation (see [`evaluate`]). Pure: the caller loads policies,
//! strengths, named locations and the signals, and passes the time.

pub mod evaluate;
pub mod filter;
pub mod guard;
pub mod index;
pub mod location;
pub mod platform;
pub mod remedy;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::directory::DirectoryRole;

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
    /// The user assignment with ids parsed once ([`Policy::compile`]); evaluation falls back
    /// to comparing strings when absent.
    #[serde(skip)]
    pub compiled: Option<CompiledUsers>,
}

/// A policy's user assignment with ids as 128-bit values, so matching a user is integer
/// comparison rather than case-insensitive string comparison.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CompiledUsers {
    /// `includeUsers` has `All`.
    pub all: bool,
    /// Included user ids.
    pub users: Vec<u128>,
    /// Included group ids.
    pub groups: Vec<u128>,
    /// Included role template ids.
    pub roles: Vec<u128>,
    /// Excluded user ids.
    pub exclude_users: Vec<u128>,
    /// Excluded group ids.
    pub exclude_groups: Vec<u128>,
    /// Excluded role template ids.
    pub exclude_roles: Vec<u128>,
}

pub(crate) fn ids(list: &[String]) -> Vec<u128> {
    list.iter()
        .filter_map(|s| uuid::Uuid::parse_str(s.trim()).ok())
        .map(|u| u.as_u128())
        .collect()
}

/// Role template ids, read as [`validate`] accepts roles: by template id or by name.
pub(crate) fn role_ids(list: &[String]) -> Vec<u128> {
    list.iter()
        .filter_map(|r| DirectoryRole::parse(r))
        .map(|r| r.template_id().as_u128())
        .collect()
}

impl Policy {
    /// Parses the user assignment's ids once, for fast evaluation of many sign-ins.
    pub fn compile(&mut self) {
        let u = &self.conditions.users;
        self.compiled = Some(CompiledUsers {
            all: u
                .include_users
                .iter()
                .any(|x| x.eq_ignore_ascii_case("All")),
            users: ids(&u.include_users),
            groups: ids(&u.include_groups),
            roles: role_ids(&u.include_roles),
            exclude_users: ids(&u.exclude_users),
            exclude_groups: ids(&u.exclude_groups),
            exclude_roles: role_ids(&u.exclude_roles),
        });
    }
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

/// Controls Portcullis can enforce.
pub const CONTROLS: [&str; 6] = [
    "block",
    "mfa",
    "compliantDevice",
    "domainJoinedDevice",
    "approvedApplication",
    "compliantApplication",
];
const PLATFORMS: [&str; 6] = ["all", "android", "iOS", "windows", "macOS", "linux"];
const CLIENT_APP_TYPES: [&str; 3] = ["all", "browser", "mobileAppsAndDesktopClients"];

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

/// Validates a policy as Graph would (graph-api.md §5.2–§5.4); the error says what to fix.
pub fn validate(p: &Policy, known: &Known<'_>) -> Result<(), String> {
    crate::directory::validate_display_name(&p.display_name).map_err(|e| e.to_string())?;
    let u = &p.conditions.users;
    if u.include_users.is_empty() && u.include_groups.is_empty() && u.include_roles.is_empty() {
        return Err("conditions.users must include someone (includeUsers: [\"All\"], users, groups or roles; [\"None\"] is allowed)".into());
    }
    for r in u.include_roles.iter().chain(&u.exclude_roles) {
        if DirectoryRole::parse(r).is_none() {
            return Err(format!(
                "'{r}' is not a directory role template id Portcullis knows"
            ));
        }
    }
    for e in &u.temporary_exclusions {
        if crate::time_fmt::parse_rfc3339(&e.until).is_err() {
            return Err(format!(
                "temporary exclusion of {}: '{}' is not an RFC 3339 time",
                e.user_id, e.until
            ));
        }
    }
    let a = &p.conditions.applications;
    let actions = !a.include_user_actions.is_empty();
    let filter_includes = a
        .application_filter
        .as_ref()
        .is_some_and(|f| f.mode == "include");
    if a.include_applications.is_empty() && !actions && !filter_includes {
        return Err("conditions.applications must target resources (includeApplications or an include applicationFilter) or a user action (includeUserActions)".into());
    }
    if actions && !a.include_applications.is_empty() {
        return Err("a policy targets either resources or user actions, not both".into());
    }
    if let Some(bad) = a
        .include_user_actions
        .iter()
        .find(|x| !x.eq_ignore_ascii_case(REGISTER_SECURITY_INFO))
    {
        return Err(format!(
            "user action '{bad}' is not supported; only {REGISTER_SECURITY_INFO}"
        ));
    }
    if actions && p.state == PolicyState::EnabledForReportingButNotEnforced {
        return Err("policies that target user actions cannot run in report-only mode".into());
    }
    if let Some(f) = &a.application_filter {
        if f.mode != "include" && f.mode != "exclude" {
            return Err(format!(
                "applicationFilter.mode must be include or exclude, not '{}'",
                f.mode
            ));
        }
        filter::parse(&f.rule).map_err(|e| format!("applicationFilter.rule: {e}"))?;
    }
    if let Some(pl) = &p.conditions.platforms {
        if let Some(bad) = pl
            .include_platforms
            .iter()
            .chain(&pl.exclude_platforms)
            .find(|x| !PLATFORMS.iter().any(|k| k.eq_ignore_ascii_case(x)))
        {
            return Err(format!(
                "'{bad}' is not a device platform ({})",
                PLATFORMS.join(", ")
            ));
        }
    }
    if let Some(l) = &p.conditions.locations {
        for id in l.include_locations.iter().chain(&l.exclude_locations) {
            if !["All", "AllTrusted"].contains(&id.as_str()) && !known.locations.contains(id) {
                return Err(format!("named location '{id}' does not exist"));
            }
        }
    }
    if let Some(bad) = p
        .conditions
        .client_app_types
        .iter()
        .find(|x| !CLIENT_APP_TYPES.contains(&x.as_str()))
    {
        return Err(format!(
            "clientAppTypes '{bad}' is not supported ({})",
            CLIENT_APP_TYPES.join(", ")
        ));
    }
    if let Some(f) = p
        .conditions
        .devices
        .as_ref()
        .and_then(|d| d.device_filter.as_ref())
    {
        if f.mode != "include" && f.mode != "exclude" {
            return Err(format!(
                "devices.deviceFilter.mode must be include or exclude, not '{}'",
                f.mode
            ));
        }
        filter::parse_device(&f.rule).map_err(|e| format!("devices.deviceFilter.rule: {e}"))?;
    }
    // Session controls are not enforced yet: refuse one that is switched on rather than store
    // a policy that looks stricter than it is. Empty or switched-off ones (as SDKs send) pass.
    if let Some(name) = enabled_session_control(p.session_controls.as_ref()) {
        return Err(format!("sessionControls.{name} is not enforced by Portcullis yet; remove it (only grant controls are enforced)"));
    }
    let g = p.grant_controls.as_ref();
    if g.is_none_or(|g| g.built_in_controls.is_empty() && g.authentication_strength.is_none()) {
        return Err(
            "a policy needs a grant control (Portcullis does not enforce session controls)".into(),
        );
    }
    if let Some(g) = g {
        if g.operator != "AND" && g.operator != "OR" {
            return Err(format!(
                "grantControls.operator must be AND or OR, not '{}'",
                g.operator
            ));
        }
        if let Some(bad) = g
            .built_in_controls
            .iter()
            .find(|c| !CONTROLS.contains(&c.as_str()))
        {
            return Err(format!(
                "grant control '{bad}' is not supported ({})",
                CONTROLS.join(", ")
            ));
        }
        if g.built_in_controls.iter().any(|c| c == "block")
            && (g.built_in_controls.len() > 1 || g.authentication_strength.is_some())
        {
            return Err("block cannot be combined with other grant controls".into());
        }
        if !g.custom_authentication_factors.is_empty() || !g.terms_of_use.is_empty() {
            return Err("custom controls and terms of use are not supported".into());
        }
        if let Some(s) = &g.authentication_strength {
            let Some(id) = g.strength_id() else {
                return Err(format!(
                    "authenticationStrength must name a strength: {{\"id\": …}}, not {s}"
                ));
            };
            if g.built_in_controls.iter().any(|c| c == "mfa") {
                return Err("mfa and an authentication strength cannot both be required in one policy (the built-in MFA strength equals mfa)".into());
            }
            if !known.strengths.iter().any(|k| k == id) {
                return Err(format!("authentication strength '{id}' does not exist"));
            }
        }
    }
    Ok(())
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
        assert!(validate(&p, &known)
            .unwrap_err()
            .contains("sessionControls.signInFrequency"));
        p.session_controls = None;
        assert!(validate(&p, &known).is_ok());
        p.grant_controls = None;
        assert!(validate(&p, &known).unwrap_err().contains("grant control"));
    }
}
