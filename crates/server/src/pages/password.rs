//! The password sign-in pages (issue 17): username and password, then the authenticator
//! app's code when the user has one.

use maud::{html, Markup};

use super::layout;

/// Username and password; `error` is why the last attempt was refused.
pub fn password_page(username: &str, error: Option<&str>, return_to: Option<&str>) -> Markup {
    layout(
        "Sign in with your password",
        html! {
            h1 { "Sign in" }
            p.notice.error role="alert" id="error" hidden[error.is_none()] { (error.unwrap_or_default()) }
            form method="post" action="/signin/password" {
                @if let Some(r) = return_to { input type="hidden" name="return_to" value=(r); }
                label for="username" { "Username" }
                input type="text" id="username" name="username" value=(username) autocomplete="username" required autofocus[username.is_empty()] placeholder="name@domain";
                label for="password" { "Password" }
                input type="password" id="password" name="password" autocomplete="current-password" required autofocus[!username.is_empty()];
                button type="submit" id="signin-password" { "Sign in" }
            }
            p { a href=(other_ways(return_to)) id="other-ways" { "Other ways to sign in (passkey, Temporary Access Pass)" } }
        },
    )
}

/// The second step: the code the user's authenticator app shows.
pub fn code_page(pending: &str, error: Option<&str>, return_to: Option<&str>) -> Markup {
    layout(
        "Enter code",
        html! {
            h1 { "Enter code" }
            p { "Enter the code displayed in your authenticator app." }
            p.notice.error role="alert" id="error" hidden[error.is_none()] { (error.unwrap_or_default()) }
            form method="post" action="/signin/code" {
                input type="hidden" name="pending" value=(pending);
                @if let Some(r) = return_to { input type="hidden" name="return_to" value=(r); }
                label for="otp" { "Code" }
                input type="text" id="otp" name="code" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9 ]{6,7}" maxlength="7" required autofocus;
                button type="submit" id="verify" { "Verify" }
            }
            p { a href=(password_url(return_to)) { "Start again" } }
        },
    )
}

/// The push step: the number to type in Microsoft Authenticator. The page asks by itself
/// whether the request was answered (a small script); "Continue" does the same without it.
pub fn push_page(
    pending: &str,
    number: u8,
    error: Option<&str>,
    return_to: Option<&str>,
) -> Markup {
    layout(
        "Approve sign in request",
        html! {
            h1 { "Approve sign in request" }
            p { "Open your Microsoft Authenticator app, and enter the number shown to sign in." }
            p.push-number id="push-number" { (number) }
            p.muted { "No numbers in your app? Make sure to upgrade to the latest version." }
            p.notice.error role="alert" id="error" hidden[error.is_none()] { (error.unwrap_or_default()) }
            form method="post" action="/signin/push" id="push-form" {
                input type="hidden" name="pending" value=(pending);
                @if let Some(r) = return_to { input type="hidden" name="return_to" value=(r); }
                button type="submit" id="push-continue" { "Continue" }
            }
            p { a href=(password_url(return_to)) { "Start again" } }
            script src="/static/portcullis.js" {}
        },
    )
}

/// An administrator requires a new password before the session opens.
pub fn new_password_page(pending: &str, error: Option<&str>, return_to: Option<&str>) -> Markup {
    layout(
        "Update your password",
        html! {
            h1 { "Update your password" }
            p { "Your administrator requires you to choose a new password before you go on." }
            p.notice.error role="alert" id="error" hidden[error.is_none()] { (error.unwrap_or_default()) }
            form method="post" action="/signin/password/new" {
                input type="hidden" name="pending" value=(pending);
                @if let Some(r) = return_to { input type="hidden" name="return_to" value=(r); }
                label for="new" { "New password" }
                input type="password" id="new" name="new" autocomplete="new-password" minlength=(portcullis_domain::password::MIN_CHARS) required autofocus;
                p.muted { "At least " (portcullis_domain::password::MIN_CHARS) " characters, and hard to guess: a few unrelated words work well." }
                button type="submit" id="save-password" { "Sign in" }
            }
        },
    )
}

fn other_ways(return_to: Option<&str>) -> String {
    with_return("/signin", return_to)
}

/// The password page's address, keeping where to go afterwards.
pub fn password_url(return_to: Option<&str>) -> String {
    with_return("/signin/password", return_to)
}

fn with_return(path: &str, return_to: Option<&str>) -> String {
    match return_to {
        Some(r) => format!(
            "{path}?return_to={}",
            url::form_urlencoded::byte_serialize(r.as_bytes()).collect::<String>()
        ),
        None => path.to_string(),
    }
}
