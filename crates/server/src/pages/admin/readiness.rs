//! The readiness report (R50) and the impact of a proposed change (R51), as pages.

use maud::{html, Markup};
use portcullis_domain::readiness::{FindingCode, Severity, UserFinding};
use portcullis_domain::time_fmt::rfc3339;
use portcullis_service::readiness::Readiness;
use std::collections::{BTreeMap, BTreeSet};

use super::{frame, Viewer};

/// The readiness report (R50) in the admin center: the summary, then each trap with its
/// users (persona, application, failing step, severity), what it means and the documents'
/// remedies; exportable as CSV and JSON.
pub fn readiness_page(viewer: &Viewer, r: &Readiness) -> Markup {
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
    frame(
        viewer,
        "/admin/readiness",
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
            @if !r.deployment.is_empty() {
                section.finding id="deployment" data-severity="warning" {
                    h2 { "The deployment — warning" }
                    @for f in &r.deployment {
                        @let (explanation, remedy) = words::deployment_words(f);
                        p { strong { (f.code()) } ": " (explanation) }
                        p { "Fix: " (remedy) }
                    }
                }
            }
            @if by_code.is_empty() && r.deployment.is_empty() {
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

/// The impact of a proposed change (R51), shown before it is saved: the users it strands,
/// by finding, with where and why, and what it resolves.
pub fn impact(r: &Readiness) -> Markup {
    use portcullis_service::render::readiness as words;
    let upn = words::upns(r);
    let (new, resolved) = r
        .delta
        .as_ref()
        .map_or((&[][..], &[][..]), |d| (&d.new[..], &d.resolved[..]));
    let stranded = r.delta.as_ref().map(|d| d.stranded()).unwrap_or_default();
    let resolved_users: BTreeSet<_> = resolved.iter().map(|f| f.user).collect();
    let mut by_code: BTreeMap<FindingCode, Vec<&UserFinding>> = BTreeMap::new();
    for f in new {
        by_code.entry(f.code).or_default().push(f);
    }
    html! {
        section id="impact" aria-live="polite" data-stranded=(stranded.len()) {
            h2 { "Impact of this change" }
            p id="impact-summary" {
                "Analysed for " (r.users.len()) " users as every persona: this change strands "
                strong id="stranded-count" { (stranded.len()) } " user(s) and resolves findings for "
                strong id="resolved-count" { (resolved_users.len()) } "."
            }
            @for (code, list) in &by_code {
                section.finding id=(format!("new-{}", code.as_str())) {
                    h3 { (code.as_str()) }
                    p { (words::explanation(*code)) }
                    table {
                        caption { "Who this change affects" }
                        thead { tr { th scope="col" { "User" } th scope="col" { "Persona" } th scope="col" { "Application" } th scope="col" { "Step" } th scope="col" { "Severity" } } }
                        tbody {
                            @for f in list.iter().take(100) {
                                tr.stranded data-user=(upn.get(&f.user).map_or("?", String::as_str)) {
                                    td { (upn.get(&f.user).map_or("?", String::as_str)) }
                                    td { (f.persona.map_or("any persona", |p| p.code())) }
                                    td { (f.application.as_deref().unwrap_or("—")) }
                                    td { (words::step(f.step)) }
                                    td { (words::severity(f.severity)) }
                                }
                            }
                        }
                    }
                    @if list.len() > 100 {
                        p.muted { "The first 100 of " (list.len()) "; the readiness report lists them all once saved." }
                    }
                }
            }
        }
    }
}
