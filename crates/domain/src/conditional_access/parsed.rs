//! A Conditional Access policy parsed once (issue 13, point 1): the Graph shape
//! ([`super::Policy`]) stays the stored and wire form; evaluation reads only this typed value —
//! ids as [`Uuid`]s, roles as [`DirectoryRole`]s, filters as parsed [`Rule`]s, times as
//! [`Timestamp`]s, controls and platforms as enums. [`parse`] is the only way to get one, so
//! a policy that evaluation sees has passed every structural check; [`super::validate`] adds
//! the checks against what exists (strengths, named locations) when a policy is saved.

use uuid::Uuid;

use super::filter::{self, FilterError, Rule};
use super::platform::{ClientAppType, Platform};
use super::{Policy, PolicyState, REGISTER_SECURITY_INFO};
use crate::directory::{DirectoryRole, DisplayNameError};
use crate::time_fmt::parse_rfc3339;
use crate::Timestamp;

/// Whom a policy assigns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserAssignment {
    /// `includeUsers` has `All`.
    pub all: bool,
    /// `includeUsers` has `None`.
    pub none: bool,
    /// Included users.
    pub users: Vec<Uuid>,
    /// Included groups.
    pub groups: Vec<Uuid>,
    /// Included roles.
    pub roles: Vec<DirectoryRole>,
    /// Excluded users.
    pub exclude_users: Vec<Uuid>,
    /// Excluded groups.
    pub exclude_groups: Vec<Uuid>,
    /// Excluded roles.
    pub exclude_roles: Vec<DirectoryRole>,
    /// Users excluded until an instant (R40's temporary exemption).
    pub excluded_until: Vec<(Uuid, Timestamp)>,
}

/// Whether a filter's matches are included or excluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterMode {
    /// What matches is in.
    Include,
    /// What matches is out.
    Exclude,
}

/// A parsed `conditionalAccessFilter`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModeFilter {
    /// Include or exclude.
    pub mode: FilterMode,
    /// The rule.
    pub rule: Rule,
}

/// What a policy is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Tokens for applications.
    Resources {
        /// `includeApplications` has `All`.
        all: bool,
        /// Included client ids.
        include: Vec<String>,
        /// Excluded client ids.
        exclude: Vec<String>,
        /// The filter over custom security attributes.
        filter: Option<ModeFilter>,
    },
    /// The "register security info" user action.
    RegisterSecurityInfo,
}

/// A place a location condition names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LocationRef {
    /// Anywhere.
    All,
    /// Any named location marked trusted.
    AllTrusted,
    /// One named location, by id.
    Named(String),
}

/// The location condition.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LocationCondition {
    /// Included places (none: anywhere).
    pub include: Vec<LocationRef>,
    /// Excluded places.
    pub exclude: Vec<LocationRef>,
}

/// The platform condition.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlatformCondition {
    /// `all`, or no platform named: every platform is included.
    pub all: bool,
    /// Included platforms.
    pub include: Vec<Platform>,
    /// Excluded platforms.
    pub exclude: Vec<Platform>,
}

/// A built-in grant control.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// `block`.
    Block,
    /// `mfa`.
    Mfa,
    /// `compliantDevice`.
    CompliantDevice,
    /// `domainJoinedDevice`.
    DomainJoinedDevice,
    /// `approvedApplication`.
    ApprovedApplication,
    /// `compliantApplication`.
    CompliantApplication,
}

impl Control {
    /// Every control with Graph's spelling.
    pub const ALL: [(&'static str, Control); 6] = [
        ("block", Control::Block),
        ("mfa", Control::Mfa),
        ("compliantDevice", Control::CompliantDevice),
        ("domainJoinedDevice", Control::DomainJoinedDevice),
        ("approvedApplication", Control::ApprovedApplication),
        ("compliantApplication", Control::CompliantApplication),
    ];

    fn parse(s: &str) -> Option<Control> {
        Control::ALL.iter().find(|(n, _)| *n == s).map(|(_, c)| *c)
    }
}

/// The grant controls.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grant {
    /// `OR`: any one control will do; `AND`: all are required.
    pub any_of: bool,
    /// Built-in controls.
    pub controls: Vec<Control>,
    /// The required authentication strength, by id.
    pub strength: Option<String>,
}

/// A policy as evaluation reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedPolicy {
    /// State.
    pub state: PolicyState,
    /// Users.
    pub users: UserAssignment,
    /// Resources or the user action.
    pub target: Target,
    /// Platforms, if the policy names any.
    pub platforms: Option<PlatformCondition>,
    /// Locations, if the policy names any.
    pub locations: Option<LocationCondition>,
    /// Client app types; `None` for every type.
    pub client_apps: Option<Vec<ClientAppType>>,
    /// The device filter.
    pub device_filter: Option<ModeFilter>,
    /// Grant controls.
    pub grant: Grant,
}

/// Why a policy is refused; each names the field to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CaPolicyError {
    /// The display name.
    #[error(transparent)]
    DisplayName(#[from] DisplayNameError),
    /// Nobody is included.
    #[error("conditions.users must include someone (includeUsers: [\"All\"], users, groups or roles; [\"None\"] is allowed)")]
    NoUsers,
    /// A value that must be an object id.
    #[error("conditions.users.{field}: '{value}' is not an object id{}", if *field == "includeUsers" { " (or All, None)" } else { "" })]
    NotAnId {
        /// The field.
        field: &'static str,
        /// As written.
        value: String,
    },
    /// A role Portcullis does not know.
    #[error("'{0}' is not a directory role template id Portcullis knows")]
    UnknownRole(String),
    /// A temporary exclusion's end.
    #[error("temporary exclusion of {user}: '{until}' is not an RFC 3339 time")]
    ExclusionEnd {
        /// The excluded user.
        user: String,
        /// As written.
        until: String,
    },
    /// No resource and no user action.
    #[error("conditions.applications must target resources (includeApplications or an include applicationFilter) or a user action (includeUserActions)")]
    NoTarget,
    /// Both resources and a user action.
    #[error("a policy targets either resources or user actions, not both")]
    ResourcesAndAction,
    /// A user action other than registering security info.
    #[error("user action '{0}' is not supported; only {REGISTER_SECURITY_INFO}")]
    UnknownUserAction(String),
    /// A user action in report-only mode.
    #[error("policies that target user actions cannot run in report-only mode")]
    ReportOnlyUserAction,
    /// A filter mode.
    #[error("{field}.mode must be include or exclude, not '{mode}'")]
    FilterMode {
        /// `applicationFilter` or `devices.deviceFilter`.
        field: &'static str,
        /// As written.
        mode: String,
    },
    /// A filter rule.
    #[error("{field}.rule: {error}")]
    FilterRule {
        /// `applicationFilter` or `devices.deviceFilter`.
        field: &'static str,
        /// What is wrong.
        error: FilterError,
    },
    /// A platform.
    #[error("'{0}' is not a device platform (all, android, iOS, windows, macOS, linux)")]
    UnknownPlatform(String),
    /// A named location that does not exist.
    #[error("named location '{0}' does not exist")]
    UnknownLocation(String),
    /// A client app type.
    #[error("clientAppTypes '{0}' is not supported (all, browser, mobileAppsAndDesktopClients)")]
    UnknownClientAppType(String),
    /// A session control that is switched on.
    #[error("sessionControls.{0} is not enforced by Portcullis yet; remove it (only grant controls are enforced)")]
    SessionControl(String),
    /// No grant control.
    #[error("a policy needs a grant control (Portcullis does not enforce session controls)")]
    NoGrant,
    /// The grant operator.
    #[error("grantControls.operator must be AND or OR, not '{0}'")]
    Operator(String),
    /// A grant control.
    #[error("grant control '{0}' is not supported (block, mfa, compliantDevice, domainJoinedDevice, approvedApplication, compliantApplication)")]
    UnknownControl(String),
    /// Block with something else.
    #[error("block cannot be combined with other grant controls")]
    BlockCombined,
    /// Custom controls or terms of use.
    #[error("custom controls and terms of use are not supported")]
    CustomControls,
    /// A strength reference without an id.
    #[error("authenticationStrength must name a strength: {{\"id\": …}}, not {0}")]
    StrengthShape(String),
    /// `mfa` and a strength.
    #[error("mfa and an authentication strength cannot both be required in one policy (the built-in MFA strength equals mfa)")]
    MfaAndStrength,
    /// A strength that does not exist.
    #[error("authentication strength '{0}' does not exist")]
    UnknownStrength(String),
}

fn object_ids(field: &'static str, list: &[String]) -> Result<Vec<Uuid>, CaPolicyError> {
    list.iter()
        .map(|v| {
            Uuid::parse_str(v.trim()).map_err(|_| CaPolicyError::NotAnId {
                field,
                value: v.clone(),
            })
        })
        .collect()
}

fn roles(list: &[String]) -> Result<Vec<DirectoryRole>, CaPolicyError> {
    list.iter()
        .map(|r| DirectoryRole::parse(r).ok_or_else(|| CaPolicyError::UnknownRole(r.clone())))
        .collect()
}

fn users(u: &super::Users) -> Result<UserAssignment, CaPolicyError> {
    if u.include_users.is_empty() && u.include_groups.is_empty() && u.include_roles.is_empty() {
        return Err(CaPolicyError::NoUsers);
    }
    let mut out = UserAssignment::default();
    for v in &u.include_users {
        if v.eq_ignore_ascii_case("All") {
            out.all = true;
        } else if v.eq_ignore_ascii_case("None") {
            out.none = true;
        } else {
            out.users
                .extend(object_ids("includeUsers", std::slice::from_ref(v))?);
        }
    }
    out.groups = object_ids("includeGroups", &u.include_groups)?;
    out.roles = roles(&u.include_roles)?;
    out.exclude_users = object_ids("excludeUsers", &u.exclude_users)?;
    out.exclude_groups = object_ids("excludeGroups", &u.exclude_groups)?;
    out.exclude_roles = roles(&u.exclude_roles)?;
    for e in &u.temporary_exclusions {
        let user = object_ids(
            "portcullisTemporaryExclusions",
            std::slice::from_ref(&e.user_id),
        )?;
        let until = parse_rfc3339(&e.until).map_err(|_| CaPolicyError::ExclusionEnd {
            user: e.user_id.clone(),
            until: e.until.clone(),
        })?;
        out.excluded_until
            .extend(user.into_iter().map(|user| (user, until)));
    }
    Ok(out)
}

fn mode_filter(
    field: &'static str,
    f: &super::Filter,
    parse: fn(&str) -> Result<Rule, FilterError>,
) -> Result<ModeFilter, CaPolicyError> {
    let mode = match f.mode.as_str() {
        "include" => FilterMode::Include,
        "exclude" => FilterMode::Exclude,
        other => {
            return Err(CaPolicyError::FilterMode {
                field,
                mode: other.into(),
            })
        }
    };
    let rule = parse(&f.rule).map_err(|error| CaPolicyError::FilterRule { field, error })?;
    Ok(ModeFilter { mode, rule })
}

fn target(p: &Policy) -> Result<Target, CaPolicyError> {
    let a = &p.conditions.applications;
    let filter = a
        .application_filter
        .as_ref()
        .map(|f| mode_filter("applicationFilter", f, filter::parse))
        .transpose()?;
    let filter_includes = filter
        .as_ref()
        .is_some_and(|f| f.mode == FilterMode::Include);
    let actions = !a.include_user_actions.is_empty();
    if a.include_applications.is_empty() && !actions && !filter_includes {
        return Err(CaPolicyError::NoTarget);
    }
    if actions && !a.include_applications.is_empty() {
        return Err(CaPolicyError::ResourcesAndAction);
    }
    if let Some(bad) = a
        .include_user_actions
        .iter()
        .find(|x| !x.eq_ignore_ascii_case(REGISTER_SECURITY_INFO))
    {
        return Err(CaPolicyError::UnknownUserAction(bad.clone()));
    }
    if actions {
        if p.state == PolicyState::EnabledForReportingButNotEnforced {
            return Err(CaPolicyError::ReportOnlyUserAction);
        }
        return Ok(Target::RegisterSecurityInfo);
    }
    let is_all = |x: &String| x.eq_ignore_ascii_case("All");
    let is_none = |x: &String| x.eq_ignore_ascii_case("None");
    Ok(Target::Resources {
        all: a.include_applications.iter().any(is_all),
        include: a
            .include_applications
            .iter()
            .filter(|x| !is_all(x) && !is_none(x))
            .cloned()
            .collect(),
        exclude: a.exclude_applications.clone(),
        filter,
    })
}

fn platforms(pl: &super::Platforms) -> Result<PlatformCondition, CaPolicyError> {
    let mut out = PlatformCondition {
        all: pl.include_platforms.is_empty(),
        ..Default::default()
    };
    let one =
        |x: &String| Platform::parse(x).ok_or_else(|| CaPolicyError::UnknownPlatform(x.clone()));
    for x in &pl.include_platforms {
        if x.eq_ignore_ascii_case("all") {
            out.all = true;
        } else {
            out.include.push(one(x)?);
        }
    }
    for x in &pl.exclude_platforms {
        // Excluding `all` excludes nothing Portcullis can name, as before.
        if !x.eq_ignore_ascii_case("all") {
            out.exclude.push(one(x)?);
        }
    }
    Ok(out)
}

fn location_refs(list: &[String]) -> Vec<LocationRef> {
    list.iter()
        .map(|id| match id.as_str() {
            "All" => LocationRef::All,
            "AllTrusted" => LocationRef::AllTrusted,
            _ => LocationRef::Named(id.clone()),
        })
        .collect()
}

fn client_apps(types: &[String]) -> Result<Option<Vec<ClientAppType>>, CaPolicyError> {
    let mut out = vec![];
    for t in types {
        match t.as_str() {
            "all" => return Ok(None),
            "browser" => out.push(ClientAppType::Browser),
            "mobileAppsAndDesktopClients" => out.push(ClientAppType::MobileAppsAndDesktopClients),
            _ => return Err(CaPolicyError::UnknownClientAppType(t.clone())),
        }
    }
    // None named: every type, as Graph reads an empty list.
    Ok((!out.is_empty()).then_some(out))
}

fn grant(p: &Policy) -> Result<Grant, CaPolicyError> {
    let Some(g) = &p.grant_controls else {
        return Err(CaPolicyError::NoGrant);
    };
    if g.built_in_controls.is_empty() && g.authentication_strength.is_none() {
        return Err(CaPolicyError::NoGrant);
    }
    let any_of = match g.operator.as_str() {
        "OR" => true,
        "AND" => false,
        other => return Err(CaPolicyError::Operator(other.into())),
    };
    let controls = g
        .built_in_controls
        .iter()
        .map(|c| Control::parse(c).ok_or_else(|| CaPolicyError::UnknownControl(c.clone())))
        .collect::<Result<Vec<_>, _>>()?;
    if controls.contains(&Control::Block)
        && (controls.len() > 1 || g.authentication_strength.is_some())
    {
        return Err(CaPolicyError::BlockCombined);
    }
    if !g.custom_authentication_factors.is_empty() || !g.terms_of_use.is_empty() {
        return Err(CaPolicyError::CustomControls);
    }
    let strength = match &g.authentication_strength {
        None => None,
        Some(s) => {
            let id = g
                .strength_id()
                .ok_or_else(|| CaPolicyError::StrengthShape(s.to_string()))?;
            if controls.contains(&Control::Mfa) {
                return Err(CaPolicyError::MfaAndStrength);
            }
            Some(id.to_string())
        }
    };
    Ok(Grant {
        any_of,
        controls,
        strength,
    })
}

/// Parses a policy's structure: the typed value, or the first field that is wrong. What
/// exists (strengths, named locations) is checked by [`super::validate`] when saving.
pub fn parse(p: &Policy) -> Result<ParsedPolicy, CaPolicyError> {
    crate::directory::validate_display_name(&p.display_name)?;
    let users = users(&p.conditions.users)?;
    let target = target(p)?;
    let platforms = p.conditions.platforms.as_ref().map(platforms).transpose()?;
    let locations = p.conditions.locations.as_ref().map(|l| LocationCondition {
        include: location_refs(&l.include_locations),
        exclude: location_refs(&l.exclude_locations),
    });
    let client_apps = client_apps(&p.conditions.client_app_types)?;
    let device_filter = p
        .conditions
        .devices
        .as_ref()
        .and_then(|d| d.device_filter.as_ref())
        .map(|f| mode_filter("devices.deviceFilter", f, filter::parse_device))
        .transpose()?;
    // Session controls are not enforced yet: refuse one that is switched on rather than store
    // a policy that looks stricter than it is. Empty or switched-off ones (as SDKs send) pass.
    if let Some(name) = super::enabled_session_control(p.session_controls.as_ref()) {
        return Err(CaPolicyError::SessionControl(name));
    }
    let grant = grant(p)?;
    Ok(ParsedPolicy {
        state: p.state,
        users,
        target,
        platforms,
        locations,
        client_apps,
        device_filter,
        grant,
    })
}
