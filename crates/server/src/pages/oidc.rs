//! Pages of the OpenID Connect flows: access refused, sign-out confirmation, signed out.

use maud::{html, Markup};

use super::layout;

/// The access decision refused a sign-in to an application: say which, and why.
pub fn access_denied_page(application: &str, code: &str, reason: &str) -> Markup {
    layout(
        "Access refused",
        html! {
            h1 { "You cannot sign in to " (application) " right now" }
            p.notice.error role="alert" id="error" data-code=(code) { (reason) }
            p.muted { "Reference: " code { (code) } }
            p { a href="/me" { "Back to your account" } }
        },
    )
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
