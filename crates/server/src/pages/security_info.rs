//! Security info: the user's passkeys, whether each works and why not, and adding one.

use maud::{html, Markup};
use portcullis_domain::access::PasskeyNeed;
use portcullis_domain::directory::User;
use portcullis_domain::passkey::PasskeyRefusal;
use portcullis_domain::time_fmt::rfc3339;
use portcullis_service::passkeys::{PasskeyView, RegistrationOffer};
use portcullis_service::render::passkey_refusal;

use super::layout;
use uuid::Uuid;

/// What just happened, said at the top of the page.
#[derive(Debug, Clone, Copy)]
pub enum Notice {
    /// A passkey was deleted.
    Deleted,
    /// A passkey was renamed.
    Renamed,
    /// An authenticator app was set up.
    OathAdded,
    /// The authenticator app was deleted.
    OathDeleted,
    /// The password was changed.
    PasswordChanged,
    /// A Microsoft Authenticator device was removed.
    AuthenticatorDeleted,
}

/// What the Security info page shows.
#[derive(Debug, Clone)]
pub struct View<'a> {
    /// Whose.
    pub user: &'a User,
    /// Their passkeys.
    pub passkeys: &'a [PasskeyView],
    /// What they may add.
    pub offer: &'a RegistrationOffer,
    /// What just happened.
    pub notice: Option<Notice>,
    /// A refused rename: the passkey and why.
    pub rename_error: Option<(Uuid, String)>,
    /// The relying party's id, for the Signal API (R27).
    pub rp_id: &'a str,
    /// Whether the user has a password.
    pub has_password: bool,
    /// Their authenticator app, if any.
    pub oath: Option<&'a portcullis_service::oath::OathView>,
    /// Their Microsoft Authenticator devices.
    pub devices: &'a [portcullis_service::push::DeviceView],
    /// The link the Authenticator follows to add this account same-device (R15).
    pub same_device_link: &'a str,
}

/// A time, in UTC as text and machine-readable for the page script, which shows it in the
/// viewer's time zone.
fn when(t: portcullis_domain::Timestamp) -> Markup {
    let s = rfc3339(t);
    html! { time datetime=(s) data-local { (s) } }
}

/// The user handle passkeys carry (the id's 16 bytes), base64url as WebAuthn JSON has it.
pub fn user_handle(user: &User) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(user.id.as_bytes())
}

/// The Security info page.
pub fn page(view: &View<'_>) -> Markup {
    let (user, passkeys, offer) = (view.user, view.passkeys, view.offer);
    let step_up = format!(
        "/signin?username={}&return_to=%2Fsecurity-info",
        url::form_urlencoded::byte_serialize(user.user_principal_name.as_str().as_bytes())
            .collect::<String>()
    );
    layout(
        "Security info",
        html! {
            h1 { "Security info" }
            p.muted { "These are the methods you use to sign in as " strong { (user.user_principal_name) } "." }
            @match view.notice {
                Some(Notice::Deleted) => p.notice.ok id="notice" role="status" {
                    "Passkey deleted from your account. It is still on your device or in your password manager: remove it there too, or it will keep being offered and refused."
                },
                Some(Notice::Renamed) => p.notice.ok id="notice" role="status" { "Passkey renamed." },
                Some(Notice::OathAdded) => p.notice.ok id="notice" role="status" { "Authenticator app set up: you will be asked for its code after your password." },
                Some(Notice::OathDeleted) => p.notice.ok id="notice" role="status" { "Authenticator app deleted. Remove the account from the app too." },
                Some(Notice::PasswordChanged) => p.notice.ok id="notice" role="status" { "Password changed." },
                Some(Notice::AuthenticatorDeleted) => p.notice.ok id="notice" role="status" { "Microsoft Authenticator removed. Remove the account in the app too." },
                None => {},
            }
            p.notice hidden id="status" role="status" aria-live="polite" {}
            p.notice.error hidden id="error" role="alert" {}
            // R27: the passkeys this server still accepts for this user (a disabled one is
            // kept, so it stays), for the browser's credential manager to drop the others.
            div id="signal" hidden data-rp-id=(view.rp_id) data-user-id=(user_handle(user)) data-accepted=(passkeys.iter().map(|v| v.stored.passkey.credential_id.as_str()).collect::<Vec<_>>().join(",")) {}
            @if passkeys.is_empty() {
                p id="no-passkeys" { "You have no passkey yet." }
            }
            ul.methods id="passkeys" {
                @for v in passkeys {
                    @let p = &v.stored.passkey;
                    li.method data-passkey=(p.id) {
                        strong.passkey-name { (p.display_name) }
                        div.muted {
                            (v.model.as_deref().unwrap_or("Unknown model")) " · AAGUID " code { (p.aaguid) }
                            // R32: a model name is only a claim unless the attestation signed it.
                            @if p.attested { " (attested)" } @else { span.aaguid-self-reported { " (self-reported)" } }
                        }
                        div.muted {
                            "Added " (when(p.created_at))
                            " · last used "
                            @match p.last_used_at { Some(t) => (when(t)), None => "never" }
                            @if let Some(d) = &p.device { " · " (d) }
                            @if let Some(pr) = &p.device_profile { " (" (pr) " profile)" }
                        }
                        // R24: how it was made, as the browser reported it.
                        div.muted.passkey-reach data-reach=(v.stored.client.reach().code()) { "Added: " (portcullis_service::render::passkey_reach(&v.stored.client)) }
                        @match &v.usable {
                            Ok(()) => { div.usable { "Can be used to sign in" } }
                            Err(r) => { div.unusable.notice.error { "Cannot be used to sign in: " (passkey_refusal(r)) } }
                        }
                        form.rename method="post" action={ "/security-info/passkeys/" (p.id) "/rename" } {
                            label for=(format!("rename-{}", p.id)) { "Name" }
                            div.inline {
                                input type="text" id=(format!("rename-{}", p.id)) name="name" value=(p.display_name) maxlength="64" aria-describedby=(format!("rename-{}-error", p.id));
                                button.secondary-action type="submit" { "Rename" }
                            }
                            @if let Some((id, e)) = &view.rename_error {
                                @if *id == p.id { p.field-error id=(format!("rename-{}-error", p.id)) role="alert" { (e) } }
                            }
                        }
                        p { a.delete-link id=(format!("delete-{}", p.id)) href={ "/security-info/passkeys/" (p.id) "/delete" } { "Delete " (p.display_name) } }
                    }
                }
            }
            h2 { "Add sign-in method" }
            label for="passkey-name" { "Name for the new passkey (optional)" }
            input type="text" id="passkey-name" maxlength="64" placeholder="e.g. Work laptop";
            @match (&offer.may_add, &offer.conditional_access) {
                (Ok(()), Err(refused)) => { p.notice.error id="ca-refused" { (refused) } }
                (Ok(()), Ok(PasskeyNeed::NoneCan(_))) => {
                    p.notice.error id="no-passkey-would-do" { "Your organisation's sign-in policy needs a method that no passkey provides, so a passkey added here could not sign you in. Ask your administrator." }
                }
                (Ok(()), Ok(need)) => {
                    // R48: offer only what would meet the strength that governs sign-in.
                    @if offer.authenticator_only() {
                        p.muted id="strength-note" { "Your organisation requires a passkey in Microsoft Authenticator." }
                        p { button type="button" id="add-authenticator" data-action="add-passkey" data-kind="authenticator" { "Passkey in Microsoft Authenticator" } }
                        (super::factors::same_device_invite(view.same_device_link))
                    } @else {
                        @if offer.authenticator_option {
                            p { button type="button" id="add-authenticator" data-action="add-passkey" data-kind="authenticator" { "Passkey in Microsoft Authenticator" } }
                            (super::factors::same_device_invite(view.same_device_link))
                        }
                        @if let PasskeyNeed::Models(models) = need {
                            p.muted id="strength-note" {
                                "Your organisation requires a passkey of one of these models (AAGUID): "
                                @for (i, m) in models.iter().enumerate() { @if i > 0 { ", " } code { (m) } }
                            }
                        }
                        p { button type="button" id="add-passkey" data-action="add-passkey" data-kind="generic" { "Security key or passkey" } }
                        @if offer.legacy_flow && matches!(need, PasskeyNeed::Any) {
                            p.muted { "Having trouble? " button.link type="button" id="add-legacy" data-action="add-passkey" data-kind="legacy" { "Try the basic flow" } }
                        }
                    }
                }
                (Err(PasskeyRefusal::StepUpRequired), _) => {
                    p.notice.error id="step-up" { (passkey_refusal(&PasskeyRefusal::StepUpRequired)) }
                    p { a id="verify" href=(step_up) { "Verify your identity" } }
                }
                (Err(r), _) => { p.notice.error id="cannot-add" { (passkey_refusal(r)) } }
            }
            (super::factors::section(view.has_password, view.oath, view.devices))
            p { a href="/me" { "Back" } }
            script src="/static/portcullis.js" {}
        },
    )
}

/// Delete a passkey: asks first, and says what deleting does and does not do (002).
pub fn confirm_delete(v: &PasskeyView) -> Markup {
    let p = &v.stored.passkey;
    layout(
        "Delete passkey",
        html! {
            h1 { "Delete “" (p.display_name) "”?" }
            p { "You will no longer sign in with this passkey (" (v.model.as_deref().unwrap_or("unknown model")) ", added " (when(p.created_at)) ")." }
            p.notice id="device-note" { "Deleting it here does not remove it from your device or password manager: remove it there too, or it will keep being offered and refused." }
            form method="post" action={ "/security-info/passkeys/" (p.id) "/delete" } {
                button.danger type="submit" id="confirm-delete" { "Delete " (p.display_name) }
            }
            p { a href="/security-info" id="cancel" { "Cancel" } }
            script src="/static/portcullis.js" {}
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use portcullis_domain::directory::Upn;

    /// Issue 15, point 9: "Verify your identity" comes back to Security info, the user's
    /// name already filled in on the sign-in page.
    #[test]
    fn verify_your_identity_returns_here_with_the_username_filled_in() {
        let user = User {
            id: Uuid::nil(),
            user_principal_name: Upn::parse("dana.o'neil+x@contoso.com").unwrap(),
            display_name: "Dana".into(),
            account_enabled: true,
            created_date_time: portcullis_domain::Timestamp::UNIX_EPOCH,
        };
        let offer = RegistrationOffer {
            may_add: Err(PasskeyRefusal::StepUpRequired),
            authenticator_option: false,
            legacy_flow: false,
            conditional_access: Ok(PasskeyNeed::Any),
        };
        let html = page(&View {
            user: &user,
            passkeys: &[],
            offer: &offer,
            notice: None,
            rename_error: None,
            rp_id: "contoso.com",
            has_password: false,
            oath: None,
            devices: &[],
            same_device_link: "https://contoso.com/authenticator/add?upn=dana",
        })
        .into_string();
        assert!(
            html.contains(r#"id="verify" href="/signin?username=dana.o%27neil%2Bx%40contoso.com&amp;return_to=%2Fsecurity-info""#),
            "{html}"
        );
    }
}
