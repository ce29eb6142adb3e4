//! The sign-in log (issue 6): every attempt with the application, the Conditional Access
//! outcome and each policy's result.

use maud::{html, Markup};
use portcullis_domain::time_fmt::rfc3339;
use portcullis_store::signins::SignInEvent;
use serde_json::Value;

use super::{frame, Viewer};

/// The sign-in log.
pub fn sign_ins_page(viewer: &Viewer, events: &[SignInEvent]) -> Markup {
    frame(
        viewer,
        "/admin/sign-ins",
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
