//! Security info's password and authenticator app (issue 17): the rows on the main page, the
//! authenticator app's set-up with its QR code, and changing the password.

use maud::{html, Markup, PreEscaped};
use portcullis_service::oath::{OathEnrolment, OathView};
use portcullis_service::push::{Activation, DeviceView};
use qrcode::render::svg;
use qrcode::{EcLevel, QrCode};

use super::layout;

/// The password and authenticator app rows of Security info.
pub fn section(has_password: bool, oath: Option<&OathView>, devices: &[DeviceView]) -> Markup {
    html! {
        h2 { "Password and authenticator app" }
        ul.methods id="factors" {
            li.factor id="password-row" {
                strong { "Password" }
                div.muted { @if has_password { "Set" } @else { "Not set" } }
                p { a id="change-password" href="/security-info/password" { @if has_password { "Change password" } @else { "Set a password" } } }
            }
            li.factor id="oath-row" {
                strong { "Authenticator app" }
                @match oath {
                    Some(m) => {
                        div.muted { "Time-based codes (TOTP) · added " (portcullis_domain::time_fmt::rfc3339(m.created_at)) }
                        form method="post" action={ "/security-info/authenticator-app/" (m.id) "/delete" } {
                            button.secondary-action type="submit" id="delete-oath" { "Delete authenticator app" }
                        }
                    }
                    None => {
                        div.muted { "Not set up" }
                        p { a id="add-oath" href="/security-info/authenticator-app" { "Set up an authenticator app" } }
                    }
                }
            }
            li.factor id="authenticator-row" {
                strong { "Microsoft Authenticator" }
                @if devices.is_empty() { div.muted { "Not set up: approve sign-ins with a number instead of typing a code." } }
                @for d in devices {
                    div.muted data-device=(d.id) { "Push with number matching · " (d.display_name) " (" (d.platform) ") · added " (portcullis_domain::time_fmt::rfc3339(d.created_at)) }
                    form method="post" action={ "/security-info/authenticator/" (d.id) "/delete" } {
                        button.secondary-action type="submit" id=(format!("delete-authenticator-{}", d.id)) { "Delete " (d.display_name) }
                    }
                }
                p { a id="add-push" href="/security-info/authenticator" { "Add Microsoft Authenticator" } }
            }
        }
    }
}

/// Adding Microsoft Authenticator: the one-time link the app follows, as a QR code too.
pub fn activation_page(a: &Activation) -> Markup {
    layout(
        "Add Microsoft Authenticator",
        html! {
            h1 { "Add Microsoft Authenticator" }
            p { "In Microsoft Authenticator, add a work or school account and scan this QR code, or open the link below on the phone. It works once, for 10 minutes." }
            figure id="activation-qr" {
                @if let Some(svg) = qr_svg(&a.link) { (PreEscaped(svg)) }
                figcaption { a id="activation-link" href=(a.link) { (a.link) } }
            }
            p.muted { "With the command-line app: " code { "portcullis authenticator add-account --link '" (a.link) "'" } }
            p { a href="/security-info" id="done" { "Done" } }
        },
    )
}

/// A link for Microsoft Authenticator opened in a browser rather than in the app:
/// `command` is the command-line app's way to follow it.
pub fn open_in_app_page(command: &str) -> Markup {
    layout(
        "Open in Microsoft Authenticator",
        html! {
            h1 { "Open this link in Microsoft Authenticator" }
            p { "This link adds your account to Microsoft Authenticator. Scan its QR code with the app, or pass it to " code { (command) } "." }
        },
    )
}

/// The guided "Passkey in Authenticator" flow on the phone itself (R15, R16): the link the
/// app follows to add the account — it then signs in, makes the passkey and turns on what
/// the organisation allows. The link holds only the server and the username.
pub fn same_device_invite(link: &str) -> Markup {
    html! {
        div id="authenticator-same-device" {
            p { "On your phone: in Microsoft Authenticator, add a work or school account and scan this QR code (or open the link on the phone). The app signs you in — with a Temporary Access Pass, or your password and code — makes the passkey, and turns on the app's other sign-in methods your organisation allows." }
            figure id="same-device-qr" {
                @if let Some(svg) = qr_svg(link) { (PreEscaped(svg)) }
                figcaption { a id="same-device-link" href=(link) { (link) } }
            }
            p.muted { "With the command-line app: " code { "portcullis authenticator add-passkey --link '" (link) "' --tap …" } }
        }
    }
}

/// The QR code of `data` as SVG (square modules, a quiet zone, no script).
fn qr_svg(data: &str) -> Option<String> {
    let code = QrCode::with_error_correction_level(data.as_bytes(), EcLevel::M).ok()?;
    Some(
        code.render::<svg::Color<'_>>()
            .min_dimensions(264, 264)
            .quiet_zone(true)
            .dark_color(svg::Color("#000000"))
            .light_color(svg::Color("#ffffff"))
            .build(),
    )
}

/// Setting up an authenticator app: scan, then type the first code.
pub fn enrol_page(e: &OathEnrolment, error: Option<&str>) -> Markup {
    layout(
        "Set up your authenticator app",
        html! {
            h1 { "Set up your authenticator app" }
            p { "Scan this QR code with Microsoft Authenticator or another authenticator app (add account, then “Other account” or “Scan a QR code”)." }
            figure id="oath-qr" {
                @if let Some(svg) = qr_svg(&e.key_uri) { (PreEscaped(svg)) }
                figcaption.muted { "Can't scan it? Enter this key in your app: " code id="oath-secret" { (e.secret_base32) } " (time-based, 6 digits, every 30 seconds)." }
            }
            p.notice.error role="alert" id="error" hidden[error.is_none()] { (error.unwrap_or_default()) }
            form method="post" action="/security-info/authenticator-app" {
                input type="hidden" name="token" value=(e.token);
                label for="otp" { "Enter the 6-digit code the app shows" }
                input type="text" id="otp" name="code" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9 ]{6,7}" maxlength="7" required autofocus;
                button type="submit" id="confirm-oath" { "Next" }
            }
            p { a href="/security-info" { "Cancel" } }
        },
    )
}

/// Why an authenticator app cannot be set up now.
pub fn cannot_enrol_page(why: &str) -> Markup {
    layout(
        "Authenticator app",
        html! {
            h1 { "Authenticator app" }
            p.notice.error role="alert" id="error" { (why) }
            p { a href="/security-info" { "Back to Security info" } }
        },
    )
}

/// Changing (or first setting) the password.
pub fn password_page(has_password: bool, error: Option<&str>) -> Markup {
    layout(
        "Change password",
        html! {
            h1 { @if has_password { "Change password" } @else { "Set a password" } }
            p.notice.error role="alert" id="error" hidden[error.is_none()] { (error.unwrap_or_default()) }
            form method="post" action="/security-info/password" {
                @if has_password {
                    label for="current" { "Current password" }
                    input type="password" id="current" name="current" autocomplete="current-password" required;
                }
                label for="new" { "New password" }
                input type="password" id="new" name="new" autocomplete="new-password" minlength=(portcullis_domain::password::MIN_CHARS) required;
                p.muted { "At least " (portcullis_domain::password::MIN_CHARS) " characters, and hard to guess: a few unrelated words work well. Not your name or the organisation's." }
                button type="submit" id="save-password" { "Save" }
            }
            p { a href="/security-info" { "Cancel" } }
        },
    )
}
