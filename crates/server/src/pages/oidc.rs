//! Pages of the OpenID Connect flows: access refused, sign-out confirmation, signed out.

use maud::{html, Markup};

use super::layout;

/// What a refusal says when its remedy is blocked by the same requirement (R44).
pub const LOOP_NOTE: &str = "This is a loop: the only way to meet this requirement is itself blocked by it, so trying again will not help.";

/// What a refusal page says.
pub struct Refusal<'a> {
    /// The application.
    pub application: &'a str,
    /// Stable code.
    pub code: &'a str,
    /// The policy, when one refused.
    pub policy: &'a str,
    /// The unmet requirement.
    pub reason: &'a str,
    /// What would fix it.
    pub remedy: &'a str,
    /// The remedy is blocked by the same requirement (R44): say so instead of sending the
    /// user round in a circle.
    pub is_loop: bool,
    /// What the user can do from here (step up, or register in Security info first).
    pub actions: &'a [Action],
}

/// A link a refusal page offers.
pub struct Action {
    /// Element id (for tests and styling).
    pub id: &'static str,
    /// Its text.
    pub label: &'static str,
    /// Where it goes (a same-site path).
    pub href: String,
}

/// The access decision refused a sign-in to an application: which policy, why, and what
/// would fix it. Never a redirect.
pub fn access_denied_page(r: &Refusal<'_>) -> Markup {
    layout(
        "Access refused",
        html! {
            h1 { "You cannot sign in to " (r.application) " right now" }
            p.notice.error role="alert" id="error" data-code=(r.code) { (r.reason) }
            @if !r.policy.is_empty() { p id="policy" { "Policy: " strong { (r.policy) } } }
            @if r.is_loop {
                p id="loop" { (LOOP_NOTE) }
            }
            p id="remedy" { (r.remedy) }
            @for a in r.actions { p { a.button id=(a.id) href=(a.href) { (a.label) } } }
            p.muted { "Reference: " code { (r.code) } }
            p { a href="/me" { "Back to your account" } }
        },
    )
}

/// The same refusal as data, in the API's error shape, for a native app that asked for JSON.
pub fn access_denied_json(r: &Refusal<'_>) -> serde_json::Value {
    serde_json::json!({"error": {
        "code": r.code, "message": r.reason, "application": r.application,
        "policy": r.policy, "remedy": r.remedy, "loop": r.is_loop,
        "note": r.is_loop.then_some(LOOP_NOTE),
    }})
}

/// Whether a request asks for JSON rather than a page (`Accept: application/json`).
pub fn wants_json(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(axum::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("application/json") && !a.contains("text/html"))
}

/// Asks before signing out, when the request did not prove which application sent it.
pub fn confirm_sign_out_page(hidden: &[(String, String)]) -> Markup {
    layout(
        "Sign out",
        html! {
            h1 { "Sign out?" }
            p { "An application asked to sign you out of Portcullis and every application you signed in to with it." }
            form method="post" action="/oauth2/v2.0/logout" {
                @for (k, v) in hidden { input type="hidden" name=(k) value=(v); }
                button type="submit" id="confirm-signout" { "Sign out" }
            }
        },
    )
}

/// After a sign-out with nowhere (trusted) to go back to.
pub fn signed_out_page() -> Markup {
    layout(
        "Signed out",
        html! {
            h1 id="signed-out" { "You have signed out" }
            p { "Close the browser window, or " a href="/signin" { "sign in again" } "." }
        },
    )
}
