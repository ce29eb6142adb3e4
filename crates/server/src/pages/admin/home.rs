//! The admin center's landing page: tenant health at a glance, each number a link to the
//! list behind it; failed sign-ins by reason as a server-rendered SVG bar chart.

use maud::{html, Markup, PreEscaped};
use portcullis_domain::time_fmt::rfc3339;
use portcullis_service::health::Health;

use super::{frame, Viewer};

/// Which cards the viewer's roles may follow.
#[derive(Debug, Clone, Copy)]
pub struct HomeAccess {
    /// Users.
    pub users: bool,
    /// Readiness.
    pub readiness: bool,
    /// Sign-in logs.
    pub logs: bool,
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Horizontal bars, one per failure code, as SVG (no script, no external resource).
fn failure_chart(failures: &[(String, i64)], since_day: &str) -> String {
    let max = failures.iter().map(|(_, n)| *n).max().unwrap_or(1).max(1);
    let (row, label_w, bar_w) = (26_i64, 220_i64, 360_i64);
    let height = row * i64::try_from(failures.len()).unwrap_or(0) + 8;
    let mut svg = format!(
        r#"<svg id="failure-chart" role="img" aria-label="Failed sign-ins by reason" viewBox="0 0 {w} {height}" width="100%" xmlns="http://www.w3.org/2000/svg">"#,
        w = label_w + bar_w + 60
    );
    for (i, (code, n)) in failures.iter().enumerate() {
        let y = row * i64::try_from(i).unwrap_or(0) + 4;
        let w = (bar_w * n / max).max(2);
        let code = if code.is_empty() { "unknown" } else { code };
        let href = format!("/admin/sign-ins?status=failure&amp;from={since_day}&amp;user=");
        svg.push_str(&format!(
            r##"<a href="{href}"><text x="0" y="{ty}" font-size="13" fill="currentColor">{label}</text><rect x="{label_w}" y="{y}" width="{w}" height="18" rx="3" fill="#b3261e"><title>{label}: {n}</title></rect><text x="{tx}" y="{ty}" font-size="13" fill="currentColor">{n}</text></a>"##,
            ty = y + 14,
            label = escape(code),
            tx = label_w + w + 6,
        ));
    }
    svg.push_str("</svg>");
    svg
}

/// The landing page.
pub fn home_page(viewer: &Viewer, h: &Health, can: HomeAccess) -> Markup {
    let since_day = rfc3339(h.failures_since)
        .get(..10)
        .unwrap_or_default()
        .to_string();
    let percent = if h.users > 0 {
        h.with_passkey * 100 / h.users
    } else {
        0
    };
    let r = &h.readiness;
    frame(
        viewer,
        "/admin",
        "Home",
        html! {
            h1 { "Tenant health" }
            div.cards {
                @if can.users {
                    section.card id="card-users" {
                        h2 { "Users" }
                        p.big { a href="/admin/users" { (h.users) } }
                        p { a id="with-passkey" href="/admin/users" { (h.with_passkey) } " hold a passkey (" (percent) " %); "
                            (h.users - h.with_passkey) " do not yet." }
                    }
                }
                @if can.readiness {
                    section.card id="card-readiness" {
                        h2 { "Readiness" }
                        p.big { a id="blocked" href="/admin/readiness" { (r.blocked) } }
                        p { "users cannot get in at all; "
                            a id="warned" href="/admin/readiness" { (r.warned) } " are stopped on some device or application; "
                            a id="informed" href="/admin/readiness" { (r.informed) } " have information to read." }
                        p.muted { (r.users) " users analysed at " (rfc3339(r.generated)) "." }
                    }
                }
                @if can.logs {
                    section.card id="card-failures" {
                        h2 { "Failed sign-ins, last 24 hours" }
                        @if h.failures.is_empty() {
                            p { "None." }
                        } @else {
                            p.big { a id="failures" href=(format!("/admin/sign-ins?status=failure&from={since_day}")) { (h.failures.iter().map(|(_, n)| n).sum::<i64>()) } }
                            (PreEscaped(failure_chart(&h.failures, &since_day)))
                            table.visually-hidden {
                                caption { "Failed sign-ins by reason" }
                                @for (code, n) in &h.failures { tr { td { (code) } td { (n) } } }
                            }
                        }
                    }
                }
            }
        },
    )
}
