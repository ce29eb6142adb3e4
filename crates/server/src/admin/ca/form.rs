//! The policy form read and written: a saved policy's values for the form (ids shown as
//! names), the posted values, and the policy they describe — names resolved to ids once,
//! here, and every choice checked against the values the form offers.

use portcullis_domain::conditional_access::{
    Applications, CaPolicyError, Conditions, Devices, Filter, GrantControls, Locations, Platforms,
    Policy, PolicyState, TemporaryExclusion, Users, REGISTER_SECURITY_INFO,
};
use portcullis_service::ServiceError;
use serde_json::json;

use super::super::form::Fields;
use crate::error::PageError;
use crate::pages::admin::{CaInput, FieldErrors, FILTER_OPERATORS};
use crate::AppState;

/// The form's values for a saved policy: ids shown as names where the directory has them.
pub(super) async fn input_of(st: &AppState, p: &Policy) -> Result<CaInput, PageError> {
    let upns = |ids: &[String]| {
        let ids = ids.to_vec();
        async move {
            let mut out = vec![];
            for id in ids
                .iter()
                .filter(|i| !["All", "None"].contains(&i.as_str()))
            {
                out.push(match st.service.user(id).await {
                    Ok(u) => u.user_principal_name.to_string(),
                    Err(_) => id.clone(),
                });
            }
            out.join("\n")
        }
    };
    let groups = |ids: &[String]| {
        let ids = ids.to_vec();
        async move {
            let mut out = vec![];
            for id in &ids {
                out.push(match st.service.find_group(id).await {
                    Ok(g) => g.display_name,
                    Err(_) => id.clone(),
                });
            }
            out.join("\n")
        }
    };
    let u = &p.conditions.users;
    let a = &p.conditions.applications;
    let mut temporary = vec![];
    for t in &u.temporary_exclusions {
        let who = match st.service.user(&t.user_id).await {
            Ok(u) => u.user_principal_name.to_string(),
            Err(_) => t.user_id.clone(),
        };
        temporary.push(format!("{who} {}", t.until));
    }
    let g = p.grant_controls.clone().unwrap_or_default();
    let state = match p.state {
        PolicyState::Enabled => "enabled",
        PolicyState::Disabled => "disabled",
        PolicyState::EnabledForReportingButNotEnforced => "enabledForReportingButNotEnforced",
    };
    Ok(CaInput {
        version: super::super::version::of(p),
        name: p.display_name.clone(),
        state: state.into(),
        include: if u.include_users.iter().any(|x| x == "All") {
            "all".into()
        } else if u.include_users.iter().any(|x| x == "None") {
            "none".into()
        } else {
            "select".into()
        },
        include_users: upns(&u.include_users).await,
        include_groups: groups(&u.include_groups).await,
        include_roles: u.include_roles.clone(),
        exclude_users: upns(&u.exclude_users).await,
        exclude_groups: groups(&u.exclude_groups).await,
        exclude_roles: u.exclude_roles.clone(),
        temporary: temporary.join("\n"),
        target: if !a.include_user_actions.is_empty() {
            "action".into()
        } else if a.application_filter.is_some() {
            "filter".into()
        } else if a.include_applications.iter().any(|x| x == "All") {
            "all".into()
        } else {
            "select".into()
        },
        apps: a.include_applications.clone(),
        exclude_apps: a.exclude_applications.clone(),
        app_filter_mode: a
            .application_filter
            .as_ref()
            .map(|f| f.mode.clone())
            .unwrap_or_default(),
        app_filter_rule: a
            .application_filter
            .as_ref()
            .map(|f| f.rule.clone())
            .unwrap_or_default(),
        platforms: p
            .conditions
            .platforms
            .as_ref()
            .map(|x| x.include_platforms.clone())
            .unwrap_or_default(),
        exclude_platforms: p
            .conditions
            .platforms
            .as_ref()
            .map(|x| x.exclude_platforms.clone())
            .unwrap_or_default(),
        locations: p
            .conditions
            .locations
            .as_ref()
            .map(|x| x.include_locations.clone())
            .unwrap_or_default(),
        exclude_locations: p
            .conditions
            .locations
            .as_ref()
            .map(|x| x.exclude_locations.clone())
            .unwrap_or_default(),
        client_apps: p
            .conditions
            .client_app_types
            .iter()
            .filter(|c| *c != "all")
            .cloned()
            .collect(),
        device_filter_mode: p
            .conditions
            .devices
            .as_ref()
            .and_then(|d| d.device_filter.as_ref())
            .map(|f| f.mode.clone())
            .unwrap_or_default(),
        device_filter_rule: p
            .conditions
            .devices
            .as_ref()
            .and_then(|d| d.device_filter.as_ref())
            .map(|f| f.rule.clone())
            .unwrap_or_default(),
        grant: if g.built_in_controls.iter().any(|c| c == "block") {
            "block".into()
        } else {
            "grant".into()
        },
        controls: g
            .built_in_controls
            .iter()
            .filter(|c| *c != "block")
            .cloned()
            .collect(),
        strength: g.strength_id().unwrap_or_default().to_string(),
        operator: g.operator.clone(),
    })
}

/// The form's values as posted.
pub(super) fn input_from(f: &Fields) -> CaInput {
    let all = |n: &str| f.all(n).map(str::to_string).collect::<Vec<_>>();
    CaInput {
        version: f.get(super::super::version::FIELD).into(),
        name: f.get("name").into(),
        state: f.get("state").into(),
        include: f.get("include").into(),
        include_users: f.get("include_users").into(),
        include_groups: f.get("include_groups").into(),
        include_roles: all("include_roles"),
        exclude_users: f.get("exclude_users").into(),
        exclude_groups: f.get("exclude_groups").into(),
        exclude_roles: all("exclude_roles"),
        temporary: f.get("temporary").into(),
        target: f.get("target").into(),
        apps: all("apps"),
        exclude_apps: all("exclude_apps"),
        app_filter_mode: f.get("app_filter_mode").into(),
        app_filter_rule: f.get("app_filter_rule").into(),
        platforms: all("platforms"),
        exclude_platforms: all("exclude_platforms"),
        locations: all("locations"),
        exclude_locations: all("exclude_locations"),
        client_apps: all("client_apps"),
        device_filter_mode: f.get("device_filter_mode").into(),
        device_filter_rule: f.get("device_filter_rule").into(),
        grant: f.get("grant").into(),
        controls: all("controls"),
        strength: f.get("strength").into(),
        operator: f.get("operator").into(),
    }
}

pub(super) fn lines(s: &str) -> impl Iterator<Item = &str> {
    s.lines().map(str::trim).filter(|l| !l.is_empty())
}

/// Users named one per line, as ids; a name the directory does not hold is an error on
/// `field`.
async fn user_ids(
    st: &AppState,
    text: &str,
    field: &'static str,
    errors: &mut FieldErrors,
) -> Result<Vec<String>, PageError> {
    let (mut out, mut missing) = (vec![], vec![]);
    for l in lines(text) {
        match st.service.user(l).await {
            Ok(u) => out.push(u.id.to_string()),
            Err(ServiceError::NotFound(_) | ServiceError::Upn(_)) => missing.push(format!("'{l}'")),
            Err(e) => return Err(e.into()),
        }
    }
    if !missing.is_empty() {
        errors.insert(
            field,
            format!("No user {} exists in the directory.", missing.join(", ")),
        );
    }
    Ok(out)
}

/// Groups named one per line (by name or object id), as ids; see `targets::groups`.
async fn group_ids(
    st: &AppState,
    text: &str,
    field: &'static str,
    errors: &mut FieldErrors,
) -> Result<Vec<String>, PageError> {
    Ok(super::super::targets::groups(st, text, field, errors)
        .await?
        .iter()
        .map(ToString::to_string)
        .collect())
}

/// The policy the form describes (Graph's shape; the service validates it), with names
/// resolved to ids. Unknown names are errors on their fields.
pub(super) async fn policy_of(
    st: &AppState,
    id: Option<&str>,
    i: &CaInput,
    errors: &mut FieldErrors,
) -> Result<Policy, PageError> {
    // Each choice is one the form offers; anything else is refused, never widened.
    let offered = |field: &'static str, value: &str, allowed: &[&str], errors: &mut FieldErrors| {
        if !allowed.contains(&value) {
            errors.insert(
                field,
                format!("'{value}' is not one of the choices this form offers."),
            );
        }
    };
    offered("include", &i.include, &["none", "all", "select"], errors);
    offered(
        "target",
        &i.target,
        &["all", "select", "filter", "action"],
        errors,
    );
    offered("grant", &i.grant, &["block", "grant"], errors);
    if i.grant == "grant" {
        offered("grant", &i.operator, &["AND", "OR"], errors);
    }
    let mut include_users = match i.include.as_str() {
        "all" => vec!["All".to_string()],
        "none" => vec!["None".to_string()],
        _ => vec![],
    };
    let (include_groups, include_roles) = if i.include == "select" {
        include_users = user_ids(st, &i.include_users, "include_users", errors).await?;
        (
            group_ids(st, &i.include_groups, "include_groups", errors).await?,
            i.include_roles.clone(),
        )
    } else {
        (vec![], vec![])
    };
    let mut temporary_exclusions = vec![];
    for l in lines(&i.temporary) {
        let Some((who, day)) = l.rsplit_once(char::is_whitespace) else {
            errors.insert(
                "temporary",
                format!(
                    "'{l}': write a user principal name, a space and the day it ends (YYYY-MM-DD)."
                ),
            );
            continue;
        };
        let until = if day.len() == 10 {
            format!("{day}T00:00:00Z")
        } else {
            day.to_string()
        };
        match st.service.user(who.trim()).await {
            Ok(u) => temporary_exclusions.push(TemporaryExclusion {
                user_id: u.id.to_string(),
                until,
            }),
            Err(ServiceError::NotFound(_) | ServiceError::Upn(_)) => {
                errors.insert(
                    "temporary",
                    format!("No user '{}' exists in the directory.", who.trim()),
                );
            }
            Err(e) => return Err(e.into()),
        }
    }
    let users = Users {
        include_users,
        exclude_users: user_ids(st, &i.exclude_users, "exclude_users", errors).await?,
        include_groups,
        exclude_groups: group_ids(st, &i.exclude_groups, "exclude_groups", errors).await?,
        include_roles,
        exclude_roles: i.exclude_roles.clone(),
        temporary_exclusions,
    };
    let filter = |mode: &str, rule: &str| {
        (!rule.trim().is_empty()).then(|| Filter {
            mode: if mode.is_empty() {
                "include".into()
            } else {
                mode.to_string()
            },
            rule: rule.trim().to_string(),
        })
    };
    let applications = Applications {
        include_applications: match i.target.as_str() {
            "all" => vec!["All".to_string()],
            "select" => i.apps.clone(),
            _ => vec![],
        },
        exclude_applications: if i.target == "action" {
            vec![]
        } else {
            i.exclude_apps.clone()
        },
        include_user_actions: if i.target == "action" {
            vec![REGISTER_SECURITY_INFO.to_string()]
        } else {
            vec![]
        },
        application_filter: if i.target == "filter" {
            filter(&i.app_filter_mode, &i.app_filter_rule)
        } else {
            None
        },
    };
    let state = match i.state.as_str() {
        "enabled" => PolicyState::Enabled,
        "disabled" => PolicyState::Disabled,
        "enabledForReportingButNotEnforced" => PolicyState::EnabledForReportingButNotEnforced,
        other => {
            errors.insert("state", format!("'{other}' is not On, Off or Report-only."));
            PolicyState::Disabled
        }
    };
    let grant = if i.grant == "block" {
        GrantControls {
            operator: "OR".into(),
            built_in_controls: vec!["block".into()],
            ..GrantControls::default()
        }
    } else {
        GrantControls {
            operator: if i.operator == "AND" {
                "AND".into()
            } else {
                "OR".into()
            },
            built_in_controls: i.controls.clone(),
            authentication_strength: (!i.strength.is_empty()).then(|| json!({"id": i.strength})),
            ..GrantControls::default()
        }
    };
    let either = |inc: &[String], exc: &[String]| !inc.is_empty() || !exc.is_empty();
    Ok(Policy {
        id: id.unwrap_or_default().to_string(),
        display_name: i.name.trim().to_string(),
        description: None,
        state,
        conditions: Conditions {
            users,
            applications,
            platforms: either(&i.platforms, &i.exclude_platforms).then(|| Platforms {
                include_platforms: if i.platforms.is_empty() {
                    vec!["all".into()]
                } else {
                    i.platforms.clone()
                },
                exclude_platforms: i.exclude_platforms.clone(),
            }),
            locations: either(&i.locations, &i.exclude_locations).then(|| Locations {
                include_locations: if i.locations.is_empty() {
                    vec!["All".into()]
                } else {
                    i.locations.clone()
                },
                exclude_locations: i.exclude_locations.clone(),
            }),
            client_app_types: if i.client_apps.is_empty() {
                vec!["all".into()]
            } else {
                i.client_apps.clone()
            },
            devices: filter(&i.device_filter_mode, &i.device_filter_rule).map(|f| Devices {
                device_filter: Some(f),
            }),
        },
        grant_controls: Some(grant),
        session_controls: None,
        created_date_time: None,
        modified_date_time: None,
    })
}

/// Puts a refusal next to the field that caused it.
pub(super) fn place(e: &CaPolicyError) -> &'static str {
    use CaPolicyError as E;
    match e {
        E::DisplayName(_) => "name",
        E::NoUsers => "include",
        E::NotAnId { field, .. } => match *field {
            "excludeUsers" => "exclude_users",
            "includeGroups" => "include_groups",
            "excludeGroups" => "exclude_groups",
            _ => "include_users",
        },
        E::UnknownRole(_) => "include_roles",
        E::ExclusionEnd { .. } => "temporary",
        E::NoTarget | E::ResourcesAndAction | E::UnknownUserAction(_) => "target",
        E::ReportOnlyUserAction => "state",
        E::FilterMode { field, .. } | E::FilterRule { field, .. } => {
            if field.starts_with("devices") {
                "device_filter_rule"
            } else {
                "app_filter_rule"
            }
        }
        E::UnknownPlatform(_) => "platforms",
        E::UnknownLocation(_) => "locations",
        E::UnknownClientAppType(_) => "client_apps",
        E::UnknownStrength(_) | E::StrengthShape(_) | E::MfaAndStrength => "strength",
        _ => "grant",
    }
}

/// Appends the filter builder's clause to the rule: `CustomSecurityAttribute.Set_Name -op
/// "value"` (a list for `-in`/`-notIn`), joined with `-and`.
pub(super) fn add_filter_clause(f: &Fields, input: &mut CaInput, errors: &mut FieldErrors) {
    let attribute = f.get("fb_attribute");
    let op = f.get("fb_operator");
    let value = f.get("fb_value");
    let well_formed = !attribute.is_empty()
        && attribute
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
        && attribute.contains('_');
    if !well_formed {
        errors.insert(
            "fb_attribute",
            format!("'{attribute}' is not an attribute: write its set and name as Set_Name."),
        );
        return;
    }
    if !FILTER_OPERATORS.contains(&op) || value.contains('"') {
        errors.insert(
            "fb_attribute",
            "Choose an operator, and a value without quotation marks.".into(),
        );
        return;
    }
    let quoted = if op.ends_with("in") || op.ends_with("In") {
        format!(
            "[{}]",
            value
                .split(',')
                .map(|v| format!("\"{}\"", v.trim()))
                .collect::<Vec<_>>()
                .join(",")
        )
    } else {
        format!("\"{value}\"")
    };
    let clause = format!("CustomSecurityAttribute.{attribute} {op} {quoted}");
    input.app_filter_rule = if input.app_filter_rule.trim().is_empty() {
        clause
    } else {
        format!("{} -and {clause}", input.app_filter_rule.trim())
    };
    input.target = "filter".into();
}
