//! The admin center's pages: the sign-in log (issue 6) — every attempt with the application,
//! the Conditional Access outcome and each policy's result — and the readiness report (R50).

use maud::{html, Markup};
use portcullis_domain::readiness::{FindingCode, Severity, UserFinding};
use portcullis_domain::time_fmt::rfc3339;
use portcullis_service::readiness::Readiness;
use portcullis_store::signins::SignInEvent;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

use super::layout;

/// The sign-in log.
pub fn sign_ins_page(events: &[SignInEvent]) -> Markup {
    layout(
        "Sign-in logs",
        html! {
            h1 { "Sign-in logs" }
            p.muted { "Newest first. The same data is in Graph (auditLogs/signIns) and in `portcullis logs signins --json`." }
            table id="sign-ins" {
                thead { tr { th { "When" } th { "User" } th { "Application" } th { "Method" } th { "IP" } th { "Conditional Access" } th { "Result" } } }
                tbody {
                    @for e in events {
                        tr.sign-in data-failure=(e.failure_code.as_deref().unwrap_or("")) {
                            td { (rfc3339(e.created_date_time)) }
                            td { (e.user_principal_name) }
                            td { (e.app_display_name.as_deref().unwrap_or("—")) }
                            td { (e.method) }
                            td { (e.ip_address) }
                            td {
                                (e.conditional_access_status.as_deref().unwrap_or("notApplied"))
                                @if let Some(Value::Array(ps)) = &e.applied_conditional_access_policies {
                                    ul {
                                        @for p in ps.iter().filter(|p| p["result"] != "notApplied" && p["result"] != "notEnabled" && p["result"] != "reportOnlyNotApplied") {
                                            li { (p["displayName"].as_str().unwrap_or("")) ": " (p["result"].as_str().unwrap_or("")) }
                                        }
                                    }
                                }
                            }
                            td {
                                @match &e.failure_reason {
                                    None => { "Success" }
                                    Some(r) => { span.notice.error { (e.failure_code.as_deref().unwrap_or("")) ": " (r) } }
                                }
                            }
                        }
                    }
                }
            }
        },
    )
}

/// The readiness report (R50) in the admin center: the summary, then each trap with its
/// users (persona, application, failing step, severity), what it means and the documents'
/// remedies; exportable as CSV and JSON.
pub fn readiness_page(r: &Readiness) -> Markup {
    use portcullis_service::render::readiness as words;
    let upn = words::upns(r);
    let mut by_code: BTreeMap<FindingCode, Vec<&UserFinding>> = BTreeMap::new();
    for f in &r.findings {
        by_code.entry(f.code).or_default().push(f);
    }
    let with: BTreeSet<_> = r.findings.iter().map(|f| f.user).collect();
    let blockers: BTreeSet<_> = r
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Blocker)
        .map(|f| f.user)
        .collect();
    layout(
        "Readiness",
        html! {
            h1 { "Readiness" }
            p id="summary" {
                (r.users.len()) " users analysed, as every persona, on " (rfc3339(r.generated)) ": "
                strong { (with.len()) } " with findings, "
                strong id="blocked-users" { (blockers.len()) } " who cannot get in at all."
            }
            p {
                a id="export-csv" href="/admin/readiness?format=csv" download="readiness.csv" { "Export CSV" }
                " · "
                a id="export-json" href="/admin/readiness?format=json" download="readiness.json" { "Export JSON" }
            }
            @if by_code.is_empty() {
                p id="no-findings" { "No findings: every user can reach every application they are targeted for." }
            }
            @for (code, list) in &by_code {
                @let worst = list.iter().map(|f| f.severity).min().unwrap_or(Severity::Info);
                @let users: BTreeSet<_> = list.iter().map(|f| f.user).collect();
                section.finding id=(code.as_str()) data-severity=(words::severity(worst)) {
                    h2 { (code.as_str()) " — " (users.len()) " user(s), " (words::severity(worst)) }
                    p { (words::explanation(*code)) }
                    table {
                        caption { "Who, where and at which step" }
                        thead { tr { th scope="col" { "User" } th scope="col" { "Persona" } th scope="col" { "Application" } th scope="col" { "Step" } th scope="col" { "Severity" } } }
                        tbody {
                            @for f in list.iter().take(200) {
                                tr {
                                    td { (upn.get(&f.user).map_or("?", String::as_str)) }
                                    td { (f.persona.map_or("any persona", |p| p.code())) }
                                    td { (f.application.as_deref().unwrap_or("—")) }
                                    td { (words::step(f.step)) }
                                    td { (words::severity(f.severity)) }
                                }
                            }
                        }
                    }
                    @if list.len() > 200 {
                        p.muted { "The first 200 of " (list.len()) " rows; the export holds them all." }
                    }
                    h3 { "What to do" }
                    ul {
                        @for m in code.remedies() {
                            li data-remedy=(m.as_str()) { (words::remedy(*m)) }
                        }
                    }
                }
            }
        },
    )
}
