//! Conditional Access in the admin center: the policy list; a policy's form — Users,
//! Target resources (with the application filter's builder and the Register security info
//! user action), Conditions, Grant and state — with Preview impact and the lock-out guard's
//! refusal naming the administrators it would lock out; named locations.

use maud::{html, Markup};
use portcullis_domain::conditional_access::location::NamedLocation;
use portcullis_domain::conditional_access::{Policy, PolicyState};
use portcullis_domain::directory::DirectoryRole;
use portcullis_domain::strength::Strength;
use portcullis_service::readiness::Readiness;

use super::{field_error, frame, impact, FieldErrors, Viewer};

/// Where the section lives.
pub const CA: &str = "/admin/conditional-access";

/// A policy's state as the admin center shows it.
pub fn state_label(s: PolicyState) -> &'static str {
    match s {
        PolicyState::Enabled => "On",
        PolicyState::Disabled => "Off",
        PolicyState::EnabledForReportingButNotEnforced => "Report-only",
    }
}

/// One policy in the list, with what it targets in words.
#[derive(Debug, Clone)]
pub struct PolicyRow<'a> {
    /// The policy.
    pub policy: &'a Policy,
    /// Who, in words.
    pub users: String,
    /// What, in words.
    pub resources: String,
    /// The grant, in words.
    pub grant: String,
}

/// The policy list.
pub fn policies_page(
    viewer: &Viewer,
    rows: &[PolicyRow<'_>],
    can_write: bool,
    notice: Option<&str>,
) -> Markup {
    frame(
        viewer,
        CA,
        "Conditional Access policies",
        html! {
            p.crumbs { "Protection › Conditional Access › Policies" }
            h1 { "Conditional Access policies" }
            @if let Some(n) = notice { p.notice.ok id="notice" role="status" { (n) } }
            p {
                @if can_write { a.button-link id="new-policy" href=(format!("{CA}/new")) { "New policy" } " · " }
                a href=(format!("{CA}/what-if")) id="what-if-link" { "What If" } " · "
                a href=(format!("{CA}/named-locations")) { "Named locations" }
            }
            table id="policies" {
                thead { tr { th scope="col" { "Policy name" } th scope="col" { "State" } th scope="col" { "Users" } th scope="col" { "Target resources" } th scope="col" { "Grant" } } }
                tbody {
                    @for r in rows {
                        tr.policy data-name=(r.policy.display_name) {
                            td { a href=(format!("{CA}/{}", r.policy.id)) { (r.policy.display_name) } }
                            td { (state_label(r.policy.state)) }
                            td { (r.users) }
                            td { (r.resources) }
                            td { (r.grant) }
                        }
                    }
                    @if rows.is_empty() { tr { td colspan="5" { "No policies yet." } } }
                }
            }
        },
    )
}

/// The policy form's values, as saved or as posted.
#[derive(Debug, Clone, Default)]
pub struct CaInput {
    /// Policy name.
    pub name: String,
    /// `enabled`, `disabled` or `enabledForReportingButNotEnforced`.
    pub state: String,
    /// Include: `none`, `all` or `select`.
    pub include: String,
    /// Included users, one user principal name per line.
    pub include_users: String,
    /// Included groups, one name per line.
    pub include_groups: String,
    /// Included roles (template ids).
    pub include_roles: Vec<String>,
    /// Excluded users.
    pub exclude_users: String,
    /// Excluded groups.
    pub exclude_groups: String,
    /// Excluded roles.
    pub exclude_roles: Vec<String>,
    /// Time-bound exclusions: `user date` per line.
    pub temporary: String,
    /// Target: `all`, `select`, `filter` or `action`.
    pub target: String,
    /// Chosen applications (client ids).
    pub apps: Vec<String>,
    /// Excluded applications.
    pub exclude_apps: Vec<String>,
    /// Application filter mode.
    pub app_filter_mode: String,
    /// Application filter rule.
    pub app_filter_rule: String,
    /// Device platforms included.
    pub platforms: Vec<String>,
    /// Device platforms excluded.
    pub exclude_platforms: Vec<String>,
    /// Locations included (`All`, `AllTrusted`, ids).
    pub locations: Vec<String>,
    /// Locations excluded.
    pub exclude_locations: Vec<String>,
    /// Client apps.
    pub client_apps: Vec<String>,
    /// Device filter mode.
    pub device_filter_mode: String,
    /// Device filter rule.
    pub device_filter_rule: String,
    /// `block` or `grant`.
    pub grant: String,
    /// Grant controls chosen.
    pub controls: Vec<String>,
    /// Required strength id, if any.
    pub strength: String,
    /// `AND` or `OR`.
    pub operator: String,
    /// The version of the policy the form was opened on (empty for a new one).
    pub version: String,
}

/// What the policy form shows besides its values.
#[derive(Debug, Clone)]
pub struct CaForm<'a> {
    /// Who is looking.
    pub viewer: &'a Viewer,
    /// The policy's id when editing.
    pub id: Option<&'a str>,
    /// The values.
    pub input: &'a CaInput,
    /// Errors by field.
    pub errors: &'a FieldErrors,
    /// Applications to choose from: (client id, name).
    pub apps: &'a [(String, String)],
    /// Strengths to choose from.
    pub strengths: &'a [Strength],
    /// Named locations.
    pub locations: &'a [NamedLocation],
    /// After Preview impact: the dry run.
    pub impact: Option<&'a Readiness>,
    /// Whether Save anyway is needed.
    pub confirm: bool,
    /// A refusal of the last Save.
    pub not_saved: Option<&'a str>,
    /// The lock-out guard's refusal: the administrators it would lock out.
    pub lockout: Option<&'a [String]>,
    /// Whether the viewer may save.
    pub can_write: bool,
    /// Saved just now.
    pub saved: bool,
}

fn checks(name: &str, options: &[(String, String)], chosen: &[String]) -> Markup {
    html! {
        @for (value, label) in options {
            @let id = format!("{name}-{}", value.replace(|c: char| !c.is_ascii_alphanumeric(), "-"));
            div.check {
                input type="checkbox" id=(id) name=(name) value=(value) checked[chosen.iter().any(|c| c == value)];
                label for=(id) { (label) }
            }
        }
    }
}

fn radio(name: &str, value: &str, current: &str, label: &str) -> Markup {
    let id = format!("{name}-{value}");
    html! {
        div.check {
            input type="radio" id=(id) name=(name) value=(value) checked[current == value];
            label for=(id) { (label) }
        }
    }
}

fn textarea(id: &str, label: &str, value: &str, errors: &FieldErrors) -> Markup {
    html! {
        label for=(id) { (label) }
        textarea id=(id) name=(id) rows="2" aria-describedby=(format!("{id}-error")) { (value) }
        (field_error(errors, id))
    }
}

const PLATFORMS: [(&str, &str); 6] = [
    ("all", "Any device"),
    ("android", "Android"),
    ("iOS", "iOS"),
    ("windows", "Windows"),
    ("macOS", "macOS"),
    ("linux", "Linux"),
];

const CONTROLS: [(&str, &str); 5] = [
    ("mfa", "Require multifactor authentication"),
    (
        "compliantDevice",
        "Require device to be marked as compliant",
    ),
    (
        "domainJoinedDevice",
        "Require Microsoft Entra hybrid joined device",
    ),
    ("approvedApplication", "Require approved client app"),
    ("compliantApplication", "Require app protection policy"),
];

/// The filter builder's operators.
pub const FILTER_OPERATORS: [&str; 10] = [
    "-eq",
    "-ne",
    "-contains",
    "-notContains",
    "-startsWith",
    "-notStartsWith",
    "-endsWith",
    "-notEndsWith",
    "-in",
    "-notIn",
];

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

/// New policy, or edit one.
pub fn policy_form_page(p: &CaForm<'_>) -> Markup {
    let i = p.input;
    let e = p.errors;
    let action =
        p.id.map_or_else(|| format!("{CA}/new"), |id| format!("{CA}/{id}"));
    let title = if p.id.is_some() {
        "Edit Conditional Access policy"
    } else {
        "New Conditional Access policy"
    };
    let roles: Vec<(String, String)> = DirectoryRole::ALL
        .iter()
        .map(|r| (r.template_id().to_string(), r.display_name().to_string()))
        .collect();
    let mut locations = vec![
        ("All".to_string(), "Any location".to_string()),
        (
            "AllTrusted".to_string(),
            "All trusted locations".to_string(),
        ),
    ];
    locations.extend(
        p.locations
            .iter()
            .map(|l| (l.id.clone(), l.display_name.clone())),
    );
    frame(
        p.viewer,
        CA,
        title,
        html! {
            p.crumbs { a href=(CA) { "Conditional Access" } " › " (title) }
            h1 { (title) }
            @if p.saved { p.notice.ok id="saved" role="status" { "Saved." } }
            @if !p.can_write { p.notice.info id="read-only" { "Your role can read this policy but not change it." } }
            @if let Some(g) = e.get("form") { p.notice.error id="form-error" role="alert" { (g) } }
            @if let Some(n) = p.not_saved { p.notice.error id="not-saved" role="alert" { "Nothing was saved. " (n) } }
            @if let Some(admins) = p.lockout {
                section.notice.error id="lockout" role="alert" {
                    p { "Nothing was saved: this policy would block every enabled Global Administrator from signing in (R45). These administrators would be locked out:" }
                    ul { @for a in admins { li.locked-out { (a) } } }
                    p { "Exclude a break-glass account or the Global Administrator role, or tick “I understand” below and save again." }
                    div.check {
                        input type="checkbox" id="accept_lockout" name="accept_lockout" value="on" form="policy-form";
                        label for="accept_lockout" { "I understand that these administrators will be blocked. Save anyway." }
                    }
                }
            }
            @if let Some(r) = p.impact {
                (impact(r))
                @if p.confirm && p.can_write {
                    p { button.danger type="submit" form="policy-form" name="action" value="save-anyway" id="save-anyway" { "Save anyway" } " saves this policy although it strands the users above." }
                }
            }
            form method="post" action=(action) id="policy-form" novalidate {
                input type="hidden" name="version" value=(i.version);
                fieldset disabled[!p.can_write] {
                    legend { "Name" }
                    label for="name" { "Name" }
                    input type="text" id="name" name="name" value=(i.name) aria-describedby="name-error";
                    (field_error(e, "name"))
                }
                fieldset id="users" disabled[!p.can_write] {
                    legend { "Users" }
                    h2 { "Include" }
                    (radio("include", "none", &i.include, "None"))
                    (radio("include", "all", &i.include, "All users"))
                    (radio("include", "select", &i.include, "Select users and groups"))
                    (field_error(e, "include"))
                    (textarea("include_users", "Users (user principal names, one per line)", &i.include_users, e))
                    (textarea("include_groups", "Groups (names, one per line)", &i.include_groups, e))
                    details { summary { "Directory roles" } (checks("include_roles", &roles, &i.include_roles)) }
                    (field_error(e, "include_roles"))
                    h2 { "Exclude" }
                    (textarea("exclude_users", "Users", &i.exclude_users, e))
                    (textarea("exclude_groups", "Groups", &i.exclude_groups, e))
                    details { summary { "Directory roles" } (checks("exclude_roles", &roles, &i.exclude_roles)) }
                    (textarea("temporary", "Time-bound exclusions: a user principal name and the day the exclusion ends (YYYY-MM-DD), one per line", &i.temporary, e))
                }
                fieldset id="resources" disabled[!p.can_write] {
                    legend { "Target resources" }
                    (radio("target", "all", &i.target, "All resources"))
                    (radio("target", "select", &i.target, "Select resources"))
                    div.indent { (checks("apps", p.apps, &i.apps)) }
                    (radio("target", "filter", &i.target, "Select resources by an application filter (custom security attributes)"))
                    div.indent {
                        label for="app_filter_mode" { "Filter mode" }
                        select id="app_filter_mode" name="app_filter_mode" {
                            option value="include" selected[i.app_filter_mode != "exclude"] { "Include filtered resources" }
                            option value="exclude" selected[i.app_filter_mode == "exclude"] { "Exclude filtered resources" }
                        }
                        (textarea("app_filter_rule", "Rule", &i.app_filter_rule, e))
                        fieldset.inner id="filter-builder" {
                            legend { "Filter builder" }
                            div.inline {
                                label for="fb_attribute" { "Attribute (Set_Name)" }
                                input type="text" id="fb_attribute" name="fb_attribute" placeholder="Rollout_Tier";
                                label for="fb_operator" { "Operator" }
                                select id="fb_operator" name="fb_operator" { @for o in FILTER_OPERATORS { option value=(o) { (o) } } }
                                label for="fb_value" { "Value (for -in, comma-separated)" }
                                input type="text" id="fb_value" name="fb_value";
                                button type="submit" name="action" value="add-filter" id="add-filter" { "Add to rule" }
                            }
                            (field_error(e, "fb_attribute"))
                        }
                    }
                    (radio("target", "action", &i.target, "User action: Register security information"))
                    (field_error(e, "target"))
                    h2 { "Exclude" }
                    (checks("exclude_apps", p.apps, &i.exclude_apps))
                }
                fieldset id="conditions" disabled[!p.can_write] {
                    legend { "Conditions" }
                    h2 { "Device platforms" }
                    p.muted { "Include:" } (checks("platforms", &pairs(&PLATFORMS), &i.platforms))
                    p.muted { "Exclude:" } (checks("exclude_platforms", &pairs(&PLATFORMS[1..]), &i.exclude_platforms))
                    (field_error(e, "platforms"))
                    h2 { "Locations" }
                    p.muted { "Include:" } (checks("locations", &locations, &i.locations))
                    p.muted { "Exclude:" } (checks("exclude_locations", locations.get(1..).unwrap_or_default(), &i.exclude_locations))
                    (field_error(e, "locations"))
                    h2 { "Client apps" }
                    (checks("client_apps", &pairs(&[("browser", "Browser"), ("mobileAppsAndDesktopClients", "Mobile apps and desktop clients")]), &i.client_apps))
                    (field_error(e, "client_apps"))
                    h2 { "Filter for devices" }
                    label for="device_filter_mode" { "Mode" }
                    select id="device_filter_mode" name="device_filter_mode" {
                        option value="include" selected[i.device_filter_mode != "exclude"] { "Include filtered devices" }
                        option value="exclude" selected[i.device_filter_mode == "exclude"] { "Exclude filtered devices" }
                    }
                    (textarea("device_filter_rule", "Rule, e.g. device.trustType -eq \"AzureAD\"", &i.device_filter_rule, e))
                }
                fieldset id="grant" disabled[!p.can_write] {
                    legend { "Grant" }
                    (radio("grant", "block", &i.grant, "Block access"))
                    (radio("grant", "grant", &i.grant, "Grant access"))
                    div.indent {
                        (checks("controls", &pairs(&CONTROLS), &i.controls))
                        label for="strength" { "Require authentication strength" }
                        select id="strength" name="strength" aria-describedby="strength-error" {
                            option value="" { "None" }
                            @for s in p.strengths { option value=(s.id) selected[s.id == i.strength] { (s.display_name) } }
                        }
                        (field_error(e, "strength"))
                        h3 { "For multiple controls" }
                        (radio("operator", "AND", &i.operator, "Require all the selected controls"))
                        (radio("operator", "OR", &i.operator, "Require one of the selected controls"))
                    }
                    (field_error(e, "grant"))
                }
                fieldset id="enable" disabled[!p.can_write] {
                    legend { "Enable policy" }
                    (radio("state", "enabledForReportingButNotEnforced", &i.state, "Report-only"))
                    (radio("state", "enabled", &i.state, "On"))
                    (radio("state", "disabled", &i.state, "Off"))
                    (field_error(e, "state"))
                }
                fieldset.actions disabled[!p.can_write] {
                    legend.visually-hidden { "Save" }
                    button.secondary-action type="submit" name="action" value="preview" id="preview" { "Preview impact" }
                    button type="submit" name="action" value="save" id="save" { @if p.id.is_some() { "Save" } @else { "Create" } }
                }
            }
            @if let (Some(id), true) = (p.id, p.can_write) {
                form method="post" action=(format!("{CA}/{id}/delete")) {
                    button.secondary type="submit" id="delete-policy" { "Delete policy" }
                }
            }
        },
    )
}

/// Named locations: the list and New IP ranges location.
pub fn locations_page(
    viewer: &Viewer,
    locations: &[NamedLocation],
    can_write: bool,
    input: (&str, &str, bool),
    errors: &FieldErrors,
    notice: Option<&str>,
) -> Markup {
    frame(
        viewer,
        CA,
        "Named locations",
        html! {
            p.crumbs { a href=(CA) { "Conditional Access" } " › Named locations" }
            h1 { "Named locations" }
            @if let Some(n) = notice { p.notice.ok id="notice" role="status" { (n) } }
            table id="locations" {
                thead { tr { th scope="col" { "Name" } th scope="col" { "IP ranges" } th scope="col" { "Trusted" } } }
                tbody {
                    @for l in locations {
                        tr.location { td { (l.display_name) } td.mono { (l.cidrs.join(", ")) } td { @if l.is_trusted { "Yes" } @else { "No" } } }
                    }
                    @if locations.is_empty() { tr { td colspan="3" { "No named locations." } } }
                }
            }
            @if can_write {
                form method="post" action=(format!("{CA}/named-locations")) {
                    fieldset {
                        legend { "New IP ranges location" }
                        label for="name" { "Name" }
                        input type="text" id="name" name="name" value=(input.0) aria-describedby="name-error";
                        (field_error(errors, "name"))
                        label for="ranges" { "IP ranges (CIDR), one per line" }
                        textarea id="ranges" name="ranges" rows="3" aria-describedby="ranges-error" { (input.1) }
                        (field_error(errors, "ranges"))
                        div.check {
                            input type="checkbox" id="trusted" name="trusted" value="on" checked[input.2];
                            label for="trusted" { "Mark as trusted location" }
                        }
                        button type="submit" id="create-location" { "Create" }
                    }
                }
            }
        },
    )
}
