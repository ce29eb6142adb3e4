//! The admin center's landing page: tenant health at a glance, each number a link to the
//! list behind it; failed sign-ins by reason as a server-rendered SVG bar chart.

use maud::{html, Markup};
use portcullis_domain::time_fmt::rfc3339;
use portcullis_service::health::Health;

use super::{frame, Viewer};

/// Which cards the viewer's roles may follow.
#[derive(Debug, Clone, Copy)]
pub struct HomeAccess {
    /// Users.
    pub users: bool,
    /// Sign-in logs.
    pub logs: bool,
}

/// Horizontal bars, one per failure code, as SVG (no script, no external resource; maud
/// escapes every text as in the rest of the page).
fn failure_chart(failures: &[(String, i64)], href: &str) -> Markup {
    const ROW: i64 = 26;
    const LABEL: i64 = 220;
    const BAR: i64 = 360;
    let max = failures.iter().map(|(_, n)| *n).max().unwrap_or(1).max(1);
    let rows = i64::try_from(failures.len()).unwrap_or(0);
    html! {
        svg id="failure-chart" role="img" aria-label="Failed sign-ins by reason"
            viewBox=(format!("0 0 {} {}", LABEL + BAR + 60, ROW * rows + 8)) width="100%"
            xmlns="http://www.w3.org/2000/svg" {
            @for (i, (code, n)) in failures.iter().enumerate() {
                @let y = ROW * i64::try_from(i).unwrap_or(0) + 4;
                @let w = (BAR * n / max).max(2);
                @let label = if code.is_empty() { "unknown" } else { code.as_str() };
                a href=(href) {
                    text x="0" y=(y + 14) font-size="13" fill="currentColor" { (label) }
                    rect x=(LABEL) y=(y) width=(w) height="18" rx="3" fill="#b3261e" {
                        title { (label) ": " (n) }
                    }
                    text x=(LABEL + w + 6) y=(y + 14) font-size="13" fill="currentColor" { (n) }
                }
            }
        }
    }
}

/// The landing page.
pub fn home_page(viewer: &Viewer, h: &Health, can: HomeAccess) -> Markup {
    let since_day = rfc3339(h.failures_since)
        .get(..10)
        .unwrap_or_default()
        .to_string();
    let failures_href = format!("/admin/sign-ins?status=failure&from={since_day}");
    let percent = if h.users > 0 {
        h.with_passkey * 100 / h.users
    } else {
        0
    };
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
                        p { span id="with-passkey" { (h.with_passkey) } " hold a passkey (" (percent) " %); "
                            (h.users - h.with_passkey) " do not yet." }
                    }
                }
                @if let Some(r) = &h.readiness {
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
                        h2 { "Failed sign-ins since " (since_day) " (UTC)" }
                        @if h.failures.is_empty() {
                            p { "None." }
                        } @else {
                            p.big { a id="failures" href=(failures_href) { (h.failures.iter().map(|(_, n)| n).sum::<i64>()) } }
                            (failure_chart(&h.failures, &failures_href))
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
