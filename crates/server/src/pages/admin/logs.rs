//! Monitoring: the sign-in log (issue 6) — every attempt with the application, the
//! Conditional Access outcome, each policy's result and the passkey's model — and the audit
//! log (every change, who made it, before and after); both filtered, paged and exportable.

use std::collections::BTreeMap;

use maud::{html, Markup};
use portcullis_domain::time_fmt::rfc3339;
use portcullis_store::audit::AuditEntry;
use portcullis_store::signins::SignInEvent;
use serde_json::Value;
use uuid::Uuid;

use super::{field_error, frame, FieldErrors, Viewer};

/// The sign-in log's filters as typed.
#[derive(Debug, Clone, Default)]
pub struct SignInsQuery {
    /// User principal name.
    pub user: String,
    /// Application id.
    pub app: String,
    /// `success` or `failure`.
    pub status: String,
    /// From this day.
    pub from: String,
    /// To this day, included.
    pub to: String,
    /// Conditional Access result.
    pub ca: String,
}

/// What the sign-in log shows.
#[derive(Debug, Clone)]
pub struct SignInsView<'a> {
    /// This page of events, newest first.
    pub events: &'a [SignInEvent],
    /// Passkey models by AAGUID.
    pub models: &'a BTreeMap<Uuid, String>,
    /// Applications to filter by: (app id, name).
    pub apps: &'a [(String, String)],
    /// The filters.
    pub query: &'a SignInsQuery,
    /// Bad filters, by field.
    pub errors: &'a FieldErrors,
    /// Page number, from 0.
    pub page: i64,
    /// Whether a next page exists.
    pub more: bool,
}

fn query_string(pairs: &[(&str, &str)]) -> String {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs.iter().filter(|(_, v)| !v.is_empty()) {
        q.append_pair(k, v);
    }
    q.finish()
}

fn choice(
    id: &str,
    label: &str,
    current: &str,
    options: &[(&str, &str)],
    errors: &FieldErrors,
) -> Markup {
    html! {
        div.filter {
            label for=(id) { (label) }
            select id=(id) name=(id) aria-describedby=(format!("{id}-error")) {
                @for (value, text) in options {
                    option value=(value) selected[*value == current] { (text) }
                }
            }
            (field_error(errors, id))
        }
    }
}

fn date(id: &str, label: &str, value: &str, errors: &FieldErrors) -> Markup {
    html! {
        div.filter {
            label for=(id) { (label) }
            input type="date" id=(id) name=(id) value=(value) aria-describedby=(format!("{id}-error"));
            (field_error(errors, id))
        }
    }
}

fn pager(base: &str, query: &[(&str, &str)], page: i64, more: bool) -> Markup {
    let link = |p: i64| {
        let n = p.to_string();
        let mut pairs = query.to_vec();
        pairs.push(("page", &n));
        format!("{base}?{}", query_string(&pairs))
    };
    html! {
        nav.pager aria-label="Pages" {
            @if page > 0 { a id="previous-page" href=(link(page - 1)) { "Previous page" } " " }
            "Page " (page + 1)
            @if more { " " a id="next-page" href=(link(page + 1)) { "Next page" } }
        }
    }
}

/// The sign-in log.
pub fn sign_ins_page(viewer: &Viewer, v: &SignInsView<'_>) -> Markup {
    let q = v.query;
    let pairs = [
        ("user", q.user.as_str()),
        ("app", q.app.as_str()),
        ("status", q.status.as_str()),
        ("from", q.from.as_str()),
        ("to", q.to.as_str()),
        ("ca", q.ca.as_str()),
    ];
    let mut apps: Vec<(&str, &str)> = vec![("", "Any")];
    apps.extend(v.apps.iter().map(|(id, name)| (id.as_str(), name.as_str())));
    frame(
        viewer,
        "/admin/sign-ins",
        "Sign-in logs",
        html! {
            p.crumbs { "Monitoring › Sign-in logs" }
            h1 { "Sign-in logs" }
            form.filters method="get" action="/admin/sign-ins" id="filters" {
                div.filter {
                    label for="user" { "User (user principal name)" }
                    input type="text" id="user" name="user" value=(q.user);
                }
                (choice("app", "Application", &q.app, &apps, v.errors))
                (choice("status", "Status", &q.status, &[("", "Any"), ("success", "Success"), ("failure", "Failure")], v.errors))
                (date("from", "From", &q.from, v.errors))
                (date("to", "To (included)", &q.to, v.errors))
                (choice("ca", "Conditional Access", &q.ca, &[("", "Any"), ("success", "Success"), ("failure", "Failure"), ("notApplied", "Not applied")], v.errors))
                button type="submit" id="apply-filters" { "Apply" }
            }
            p {
                a id="export-csv" href=(format!("/admin/sign-ins?{}", query_string(&[pairs.as_slice(), &[("format", "csv")]].concat()))) { "Export CSV" }
                " (every entry matching the filters, at most 100,000 — narrow the dates for more)"
            }
            table id="sign-ins" {
                thead { tr { th scope="col" { "When (UTC)" } th scope="col" { "User" } th scope="col" { "Application" } th scope="col" { "Method" } th scope="col" { "IP" } th scope="col" { "Conditional Access" } th scope="col" { "Result" } th scope="col" { "Details" } } }
                tbody {
                    @for e in v.events {
                        tr.sign-in data-failure=(e.failure_code.as_deref().unwrap_or("")) {
                            td { (rfc3339(e.created_date_time)) }
                            td { (e.user_principal_name) }
                            td { (e.app_display_name.as_deref().unwrap_or("—")) }
                            td { (e.method) }
                            td { (e.ip_address) }
                            td {
                                (e.conditional_access_status.as_deref().unwrap_or("notApplied"))
                                @let applied = portcullis_service::render::logs::applied_policies(e);
                                @if !applied.is_empty() { br; span.muted { (applied) } }
                            }
                            td {
                                @match &e.failure_reason {
                                    None => { "Success" }
                                    Some(r) => { span.notice.error { (e.failure_code.as_deref().unwrap_or("")) ": " (r) } }
                                }
                            }
                            td { (sign_in_details(e, v.models)) }
                        }
                    }
                    @if v.events.is_empty() { tr { td colspan="8" { "No sign-in matches these filters." } } }
                }
            }
            (pager("/admin/sign-ins", &pairs, v.page, v.more))
        },
    )
}

fn sign_in_details(e: &SignInEvent, models: &BTreeMap<Uuid, String>) -> Markup {
    html! {
        details.sign-in-details {
            summary { "Details" }
            dl {
                dt { "Passkey model" }
                dd { @match e.passkey_aaguid {
                    Some(a) => { (models.get(&a).map_or("Unknown model", String::as_str)) " (" span.mono { (a) } ")" },
                    None => "—",
                } }
                @if let Some(attested) = e.passkey_attested {
                    dt { "AAGUID" } dd.aaguid-attested { @if attested { "Attested" } @else { "Self-reported (not attested)" } }
                }
                @if let Some(c) = &e.passkey_client {
                    dt { "Passkey reached" } dd.passkey-reach data-reach=(c.reach().code()) { (portcullis_service::render::passkey_reach(c)) }
                }
                dt { "User agent" } dd { (e.user_agent) }
                dt { "Error code" } dd { (e.error_code) }
            }
            @if let Some(Value::Array(ps)) = &e.applied_conditional_access_policies {
                table {
                    caption { "Every Conditional Access policy" }
                    thead { tr { th scope="col" { "Policy" } th scope="col" { "Result" } th scope="col" { "Grant controls" } } }
                    tbody {
                        @for p in ps {
                            tr.policy-result data-result=(p["result"].as_str().unwrap_or("")) {
                                td { (p["displayName"].as_str().unwrap_or("")) }
                                td { (p["result"].as_str().unwrap_or("")) }
                                td { (p["enforcedGrantControls"].as_array().map(|a| a.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(", ")).unwrap_or_default()) }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The audit log's filters as typed.
#[derive(Debug, Clone, Default)]
pub struct AuditsQuery {
    /// Activity, e.g. "Authentication Methods Policy Update".
    pub activity: String,
    /// Target object id.
    pub target: String,
    /// From this day.
    pub from: String,
    /// To this day, included.
    pub to: String,
}

/// What the audit log shows.
#[derive(Debug, Clone)]
pub struct AuditView<'a> {
    /// This page, newest first.
    pub entries: &'a [AuditEntry],
    /// The filters.
    pub query: &'a AuditsQuery,
    /// Bad filters, by field.
    pub errors: &'a FieldErrors,
    /// Page number, from 0.
    pub page: i64,
    /// Whether a next page exists.
    pub more: bool,
}

fn pretty(v: &Option<Value>) -> String {
    v.as_ref()
        .map(|v| serde_json::to_string_pretty(v).unwrap_or_default())
        .unwrap_or_else(|| "—".into())
}

/// The audit log.
pub fn audit_page(viewer: &Viewer, v: &AuditView<'_>) -> Markup {
    let q = v.query;
    let pairs = [
        ("activity", q.activity.as_str()),
        ("target", q.target.as_str()),
        ("from", q.from.as_str()),
        ("to", q.to.as_str()),
    ];
    frame(
        viewer,
        "/admin/audit",
        "Audit logs",
        html! {
            p.crumbs { "Monitoring › Audit logs" }
            h1 { "Audit logs" }
            form.filters method="get" action="/admin/audit" id="filters" {
                div.filter {
                    label for="activity" { "Activity" }
                    input type="text" id="activity" name="activity" value=(q.activity) placeholder="Authentication Methods Policy Update";
                }
                div.filter {
                    label for="target" { "Target object id" }
                    input type="text" id="target" name="target" value=(q.target);
                }
                (date("from", "From", &q.from, v.errors))
                (date("to", "To (included)", &q.to, v.errors))
                button type="submit" id="apply-filters" { "Apply" }
            }
            p {
                a id="export-csv" href=(format!("/admin/audit?{}", query_string(&[pairs.as_slice(), &[("format", "csv")]].concat()))) { "Export CSV" }
                " (every entry matching the filters with before and after, at most 100,000 — narrow the dates for more)"
            }
            table id="audit" {
                thead { tr { th scope="col" { "When (UTC)" } th scope="col" { "Activity" } th scope="col" { "Initiated by" } th scope="col" { "Target" } th scope="col" { "Changes" } } }
                tbody {
                    @for e in v.entries {
                        tr.audit-entry data-activity=(e.activity_display_name) {
                            td { (rfc3339(e.activity_date_time)) }
                            td { (e.activity_display_name) br; span.muted { (e.category) " · " (e.operation_type) } }
                            td { (e.actor_name) }
                            td { (e.target_name) br; span.muted.mono { (e.target_id) } }
                            td {
                                details {
                                    summary { "Before and after" }
                                    div.before-after {
                                        div { h3 { "Before" } pre { (pretty(&e.before)) } }
                                        div { h3 { "After" } pre { (pretty(&e.after)) } }
                                    }
                                }
                            }
                        }
                    }
                    @if v.entries.is_empty() { tr { td colspan="5" { "No entry matches these filters." } } }
                }
            }
            (pager("/admin/audit", &pairs, v.page, v.more))
        },
    )
}
