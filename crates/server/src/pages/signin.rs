//! The sign-in page (Temporary Access Pass for now) and the signed-in page.

use maud::{html, Markup};
use portcullis_domain::directory::User;
use portcullis_domain::session::{AuthMethod, Session};
use portcullis_domain::time_fmt::rfc3339;

use super::layout;

/// The sign-in form; `error` is the reason the last attempt was refused, `return_to` the
/// (already vetted, same-site) page to go to afterwards.
pub fn signin_page(username: &str, error: Option<&str>, return_to: Option<&str>) -> Markup {
    signin_page_for(username, error, false, return_to)
}

/// The sign-in form; with `passkey_first` the passkey prompt opens at once (R23).
pub fn signin_page_for(
    username: &str,
    error: Option<&str>,
    passkey_first: bool,
    return_to: Option<&str>,
) -> Markup {
    layout(
        "Sign in",
        html! {
            h1 { "Sign in" }
            p.notice.error role="alert" id="error" hidden[error.is_none()] { (error.unwrap_or_default()) }
            p.notice hidden id="status" role="status" aria-live="polite" {}
            form method="post" action="/signin/tap" {
                @if let Some(r) = return_to { input type="hidden" id="return_to" name="return_to" value=(r); }
                label for="username" { "Username" }
                input type="text" id="username" name="username" value=(username) autocomplete="username webauthn" required autofocus[username.is_empty()] placeholder="name@domain";
                p {
                    button type="button" id="passkey-signin" data-action="passkey-signin" data-autostart[passkey_first] { "Sign in with a passkey" }
                    " "
                    // Not a submit button: pressing Enter in the pass field submits the form's
                    // first submit button, which must be "Sign in" (a POST), never a GET that
                    // would put the pass in the URL, browser history and proxy logs.
                    button.link type="button" id="next" data-action="next" { "Next" }
                }
                label for="code" { "Temporary Access Pass" }
                input type="password" id="code" name="code" autocomplete="one-time-code" required autofocus[!username.is_empty()];
                button type="submit" id="signin" { "Sign in" }
            }
            p.muted { "A Temporary Access Pass is a time-limited code your administrator gives you to sign in and set up a passkey." }
            p { a href=(super::password::password_url(return_to)) id="use-password" { "Sign in with your password" } }
            details id="signin-options" {
                summary { "Sign-in options" }
                p { button type="button" id="passkey-usernameless" data-action="passkey-usernameless" { "Sign in with a passkey, without a username" } }
            }
            script src="/static/portcullis.js" {}
        },
    )
}

fn method_name(m: AuthMethod) -> &'static str {
    match m {
        AuthMethod::TemporaryAccessPass => "Temporary Access Pass",
        AuthMethod::Passkey => "Passkey",
        AuthMethod::Password => "Password",
        AuthMethod::SoftwareOath => "Authenticator app code",
        AuthMethod::AuthenticatorPush => "Microsoft Authenticator approval",
    }
}

/// The page a signed-in user lands on.
pub fn signed_in_page(user: &User, session: &Session) -> Markup {
    layout(
        "Signed in",
        html! {
            h1 id="signed-in" { "Signed in as " (user.display_name) }
            dl {
                dt { "Username" } dd id="upn" { (user.user_principal_name) }
                dt { "Signed in with" } dd { @for (i, m) in session.methods.iter().enumerate() { @if i > 0 { ", " } (method_name(*m)) } }
                dt { "Since" } dd { (rfc3339(session.auth_time)) }
                dt { "Session ends" } dd { (rfc3339(session.expires_at)) }
            }
            p { a href="/security-info" id="security-info" { "Security info" } }
            form method="post" action="/signout" {
                button type="submit" id="signout" { "Sign out" }
            }
        },
    )
}
