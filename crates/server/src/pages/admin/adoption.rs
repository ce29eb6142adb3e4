//! R53: the adoption page — the share of targeted users holding a usable passkey over time,
//! registrations and first sign-ins per day, sign-ins by method, the breakdown by group,
//! platform, model, attestation and sync, the campaign's progress, and "ready to enforce?".

use maud::{html, Markup};
use portcullis_domain::adoption::{percent, Dimension};
use portcullis_domain::strength::Strength;
use portcullis_service::adoption::{AdoptionReport, EnforcementImpact};
use portcullis_service::render::adoption::value;

use super::charts::{line_chart, share_bars, Series};
use super::{frame, Viewer};

/// What the page shows.
pub struct AdoptionView<'a> {
    /// The report.
    pub report: &'a AdoptionReport,
    /// The range as asked (query-string form, for the export links).
    pub query: String,
    /// Strengths to propose, when the viewer may run readiness.
    pub strengths: Option<&'a [Strength]>,
    /// The strength proposed, and what requiring it would do.
    pub impact: Option<(&'a str, &'a EnforcementImpact)>,
}

fn dimension_title(d: Dimension) -> &'static str {
    match d {
        Dimension::Group => "By group",
        Dimension::Platform => "By platform",
        Dimension::Model => "By model",
        Dimension::Attested => "By attestation",
        Dimension::Synced => "Synced or device-bound",
    }
}

/// The page.
pub fn adoption_page(viewer: &Viewer, v: &AdoptionView<'_>) -> Markup {
    let r = &v.report.report;
    let last = r.last();
    let first_day = r.range.from().to_string();
    let last_day = r.range.to().to_string();
    let csv = |which: &str| format!("/admin/adoption/{which}.csv?{}", v.query);
    let share: Vec<f64> = r.daily.iter().map(|d| d.share()).collect();
    #[allow(clippy::cast_precision_loss)]
    let counts = |f: fn(&portcullis_domain::adoption::Daily) -> u64| -> Vec<f64> {
        r.daily.iter().map(|d| f(d) as f64).collect()
    };
    frame(
        viewer,
        "/admin/adoption",
        "Passkey adoption",
        html! {
            h1 { "Passkey adoption" }
            form.filters method="get" action="/admin/adoption" {
                label for="from" { "From" }
                input type="date" id="from" name="from" value=(first_day);
                label for="to" { "To" }
                input type="date" id="to" name="to" value=(last_day);
                button type="submit" id="apply" { "Show" }
                " "
                a href="/admin/adoption" { "Since the tenant was created (" (v.report.tenant_created) ")" }
            }
            div.cards {
                section.card id="card-share" {
                    h2 { "Targeted users with a usable passkey" }
                    p.big id="share" { (format!("{:.1}", last.share())) " %" }
                    p { span id="holding" { (last.holding) } " of " span id="targeted" { (last.targeted) } " users the Passkey (FIDO2) policy targets, on " (last_day) " (UTC)." }
                }
                section.card id="card-tap-only" {
                    h2 { "Still signing in only with a pass" }
                    p.big id="tap-only" { (r.tap_only_users) }
                    p { "users signed in during these days with a Temporary Access Pass and never with a passkey." }
                }
                section.card id="card-campaign" {
                    h2 { "Registration campaign" }
                    @let c = v.report.campaign;
                    p.big id="campaign-asked" { (c.asked) }
                    p { "users asked so far; " (c.snoozers) " postponed at least once (" (c.snoozes) " times in all). "
                        @if c.running { "The campaign is running." } @else { "The campaign is off." }
                        " " a href="/admin/authentication-methods" { "Settings" } }
                }
            }
            h2 { "Share of targeted users with a usable passkey" }
            (line_chart("share-chart", "Share of targeted users holding a usable passkey, per day", (&first_day, &last_day),
                &[Series { name: "share", color: "#2456c7", values: share }], Some(100.0), "%"))
            p { a href=(csv("daily")) id="daily-csv" { "Download CSV" } }
            h2 { "Registrations and first passkey sign-ins per day" }
            (line_chart("registrations-chart", "Passkeys registered and first passkey sign-ins, per day", (&first_day, &last_day),
                &[Series { name: "registrations", color: "#2456c7", values: counts(|d| d.registrations) },
                  Series { name: "first sign-ins", color: "#1b7f3b", values: counts(|d| d.first_sign_ins) }], None, ""))
            p { a href=(csv("daily")) { "Download CSV" } }
            h2 { "Sign-ins per day by method" }
            (line_chart("signins-chart", "Successful sign-ins per day, with a passkey and with a Temporary Access Pass", (&first_day, &last_day),
                &[Series { name: "passkey", color: "#2456c7", values: counts(|d| d.passkey_sign_ins) },
                  Series { name: "Temporary Access Pass", color: "#b3261e", values: counts(|d| d.tap_sign_ins) }], None, ""))
            p { a href=(csv("daily")) { "Download CSV" } }
            h2 { "On " (last_day) }
            @for d in Dimension::ALL {
                @let rows: Vec<(String, f64, String)> = r.breakdown.iter().filter(|s| s.dimension == d)
                    .map(|s| (value(v.report, s), percent(s.holding, s.targeted), format!("{} of {} ({:.1} %)", s.holding, s.targeted, percent(s.holding, s.targeted))))
                    .collect();
                h3 { (dimension_title(d)) }
                @if rows.is_empty() {
                    p.muted { "Nothing to show." }
                } @else {
                    (share_bars(&format!("breakdown-{}", d.code()), dimension_title(d), &rows))
                }
            }
            p { a href=(csv("breakdown")) id="breakdown-csv" { "Download the breakdown as CSV" } " · "
                a href=(format!("/admin/adoption/report.json?{}", v.query)) id="report-json" { "Everything as JSON" } }
            @if let Some(strengths) = v.strengths {
                section.card id="ready" {
                    h2 { "Ready to enforce?" }
                    p { "What requiring a strength of everyone, on every application, would do today — the readiness engine's answer for each user." }
                    form method="get" action="/admin/adoption" {
                        input type="hidden" name="from" value=(first_day);
                        input type="hidden" name="to" value=(last_day);
                        label for="strength" { "Strength" }
                        select id="strength" name="strength" {
                            @for s in strengths {
                                option value=(s.id) selected[v.impact.is_some_and(|(id, _)| id == s.id)] { (s.display_name) }
                            }
                        }
                        button type="submit" id="check" { "Check" }
                    }
                    @if let Some((_, impact)) = v.impact {
                        p id="impact" data-must-register=(impact.must_register.len()) data-stranded=(impact.stranded.len()) {
                            "Requiring " strong { (impact.strength) } " of the " (impact.users) " users: "
                            span id="ready-now" { (impact.ready) } " already hold a passkey that meets it; "
                            span id="must-register" { (impact.must_register.len()) } " would be stopped at their next sign-in until they add one; "
                            span id="stranded" { (impact.stranded.len()) } " would have no way in at all, not even with a Temporary Access Pass."
                        }
                        @for (id, title, list) in [("must-register-users", "Must add a passkey first", &impact.must_register), ("stranded-users", "No way in", &impact.stranded)] {
                            @if !list.is_empty() {
                                h3 { (title) }
                                ul id=(id) { @for u in list.iter().take(50) { li { (u) } } }
                                @if list.len() > 50 { p.muted { "… and " (list.len() - 50) " more." } }
                            }
                        }
                        p { a href="/admin/readiness" { "Open the readiness report" } " for the reasons and remedies of what stops each user today." }
                    }
                }
            }
        },
    )
}
